//! The shape of the runner's source (`runner/src`): no file loops (two files
//! that import each other, through `crate::`, `super::` or a child module's
//! name, or a longer cycle), and no function longer than 120 lines. Both read
//! the source with comments and string literals blanked out, so a doc link or
//! a message naming a module is not an import.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Longest function allowed, in lines from its `fn` to its closing brace.
const LONGEST_FUNCTION: usize = 120;

/// Every `.rs` file under `dir`, as (path relative to `dir`, text).
fn sources(dir: &Path) -> Vec<(String, String)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.push((rel, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn runner_sources() -> Vec<(String, String)> {
    sources(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src"))
}

/// `text` with comments, string literals and character literals replaced by
/// spaces (line breaks kept, so line numbers hold).
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = b.to_vec();
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for c in &mut out[from..to.min(b.len())] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    };
    let mut i = 0;
    while i < b.len() {
        let rest = &b[i..];
        if rest.starts_with(b"//") {
            let end = rest
                .iter()
                .position(|&c| c == b'\n')
                .map_or(b.len(), |n| i + n);
            blank(&mut out, i, end);
            i = end;
        } else if rest.starts_with(b"/*") {
            let (mut depth, mut j) = (0, i);
            while j < b.len() {
                if b[j..].starts_with(b"/*") {
                    depth += 1;
                    j += 2;
                } else if b[j..].starts_with(b"*/") {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            blank(&mut out, i, j);
            i = j;
        } else if let Some(end) = raw_string_end(b, i).filter(|_| i == 0 || !is_word(b[i - 1])) {
            blank(&mut out, i, end);
            i = end;
        } else if b[i] == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            blank(&mut out, i, j + 1);
            i = j + 1;
        } else if b[i] == b'\'' {
            // A character literal, or else a lifetime (left as it is).
            let close = if rest.get(1) == Some(&b'\\') {
                // An escape: `\` and one character, or `\u{...}`, `\x..`.
                rest.iter().skip(3).position(|&c| c == b'\'').map(|n| n + 3)
            } else {
                let len = std::str::from_utf8(&rest[1..])
                    .ok()
                    .and_then(|s| s.chars().next())
                    .map_or(1, char::len_utf8);
                (rest.get(1 + len) == Some(&b'\'')).then_some(1 + len)
            };
            match close {
                Some(n) => {
                    blank(&mut out, i, i + n + 1);
                    i += n + 1;
                }
                None => i += 1,
            }
        } else {
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Where a raw string (`r"..."`, `r#"..."#`, `br"..."`) that starts at `i` ends.
fn raw_string_end(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i;
    if b.get(j) == Some(&b'b') {
        j += 1;
    }
    if b.get(j) != Some(&b'r') {
        return None;
    }
    j += 1;
    let hashes = b[j..].iter().take_while(|&&c| c == b'#').count();
    j += hashes;
    if b.get(j) != Some(&b'"') {
        return None;
    }
    let mut close = vec![b'"'];
    close.extend(std::iter::repeat_n(b'#', hashes));
    let body = j + 1;
    let n = b[body..].windows(close.len()).position(|w| w == close)?;
    Some(body + n + close.len())
}

/// The module path of a source file: `a/b.rs` and `a/b/mod.rs` are `a::b`;
/// `lib.rs` and `main.rs` are the crate root.
fn module_of(file: &str) -> Vec<String> {
    let file = file.strip_suffix(".rs").unwrap_or(file);
    let mut parts: Vec<String> = file.split('/').map(String::from).collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The paths a `use` tree or a path expression names, from just after
/// `prefix::` in `text`: `a::b`, `{a, b::{c, d}}`...
fn path_tree(text: &str, prefix: Vec<String>, out: &mut Vec<Vec<String>>) -> usize {
    let b = text.as_bytes();
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while *i < b.len() && b[*i].is_ascii_whitespace() {
            *i += 1;
        }
    };
    let mut path = prefix;
    loop {
        skip_ws(&mut i);
        if b.get(i) == Some(&b'{') {
            i += 1;
            loop {
                skip_ws(&mut i);
                match b.get(i) {
                    Some(b'}') | None => return i + 1,
                    Some(b',') => i += 1,
                    _ => i += path_tree(&text[i..], path.clone(), out),
                }
            }
        }
        let start = i;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
            i += 1;
        }
        if i == start {
            out.push(path);
            return i;
        }
        path.push(text[start..i].to_string());
        let mut j = i;
        skip_ws(&mut j);
        if text[j..].starts_with("::") {
            i = j + 2;
        } else {
            out.push(path);
            return i;
        }
    }
}

/// The `mod NAME;` declarations of a file's code (its child module files).
fn child_modules(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (at, _) in code.match_indices("mod ") {
        if at > 0 && is_word(code.as_bytes()[at - 1]) {
            continue;
        }
        let rest = code[at + 4..].trim_start();
        let name: String = rest.chars().take_while(|&c| is_word(c as u8)).collect();
        if !name.is_empty() && rest[name.len()..].trim_start().starts_with(';') {
            out.push(name);
        }
    }
    out
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// The inline modules (`mod NAME { ... }`) of a file's code: (name, where
/// the body starts, where it ends).
fn inline_modules(code: &str) -> Vec<(String, usize, usize)> {
    let b = code.as_bytes();
    let mut out = Vec::new();
    for (at, _) in code.match_indices("mod ") {
        if at > 0 && is_word(b[at - 1]) {
            continue;
        }
        let rest = code[at + 4..].trim_start();
        let name: String = rest.chars().take_while(|&c| is_word(c as u8)).collect();
        let after = &rest[name.len()..];
        if name.is_empty() || !after.trim_start().starts_with('{') {
            continue;
        }
        let open = code.len() - after.trim_start().len();
        let mut depth = 0;
        for (k, &c) in b.iter().enumerate().skip(open) {
            match c {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        out.push((name.clone(), open, k));
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// Every module path a file's code names (whether or not it is a module):
/// paths from `crate::`, `self::`, `super::`, or a child module's name.
fn named_paths(file: &str, code: &str) -> Vec<Vec<String>> {
    let children = child_modules(code);
    let inline = inline_modules(code);
    let mut out = Vec::new();
    for (i, _) in code.match_indices("::") {
        // The first segment of a path: preceded by neither `::` nor a word.
        let start = code[..i]
            .rfind(|c: char| !is_word(c as u8))
            .map_or(0, |n| n + 1);
        if start == i || code[..start].trim_end().ends_with("::") {
            continue;
        }
        // The module the path is written in: the file's, or an inline one in it.
        let mut here = module_of(file);
        here.extend(
            inline
                .iter()
                .filter(|(_, from, to)| (*from..*to).contains(&i))
                .map(|(name, _, _)| name.clone()),
        );
        let root = &code[start..i];
        let mut rest = &code[i + 2..];
        let prefix = match root {
            "crate" => Vec::new(),
            "self" => here,
            "super" => {
                here.pop();
                // `super::super::...`
                while let Some(more) = rest.trim_start().strip_prefix("super::") {
                    here.pop();
                    rest = more;
                }
                here
            }
            name if children.iter().any(|c| c == name) => {
                let mut m = module_of(file);
                m.push(name.to_string());
                m
            }
            _ => continue,
        };
        path_tree(rest, prefix, &mut out);
    }
    out
}

/// The file imports between `files`: file -> the files it names.
fn imports(files: &[(String, String)]) -> BTreeMap<String, BTreeSet<String>> {
    let modules: BTreeMap<Vec<String>, String> = files
        .iter()
        .map(|(f, _)| (module_of(f), f.clone()))
        .collect();
    let mut graph = BTreeMap::new();
    for (file, text) in files {
        let mut targets = BTreeSet::new();
        for path in named_paths(file, &code_only(text)) {
            // The longest prefix of the path that is a file's module.
            let target = (0..=path.len()).rev().find_map(|n| modules.get(&path[..n]));
            if let Some(t) = target.filter(|t| *t != file) {
                targets.insert(t.clone());
            }
        }
        graph.insert(file.clone(), targets);
    }
    graph
}

/// The file loops among `files`, each as the files around it.
fn file_loops(files: &[(String, String)]) -> Vec<Vec<String>> {
    let graph = imports(files);
    let mut loops: Vec<Vec<String>> = Vec::new();
    // A loop through `start`: a path from one of its imports back to it.
    for start in graph.keys() {
        let mut stack = vec![vec![start.clone()]];
        let mut seen = BTreeSet::new();
        while let Some(path) = stack.pop() {
            let last = path.last().unwrap();
            for next in &graph[last] {
                if next == start {
                    let mut cycle = path.clone();
                    let min = cycle.iter().enumerate().min_by_key(|(_, f)| *f).unwrap().0;
                    cycle.rotate_left(min);
                    if !loops.contains(&cycle) {
                        loops.push(cycle);
                    }
                } else if seen.insert(next.clone()) {
                    let mut longer = path.clone();
                    longer.push(next.clone());
                    stack.push(longer);
                }
            }
        }
    }
    loops
}

/// Every function in `text`: (name, first line, lines from `fn` to its end).
fn functions(text: &str) -> Vec<(String, usize, usize)> {
    let code = code_only(text);
    let b = code.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(n) = code[from..].find("fn ") {
        let at = from + n;
        from = at + 3;
        if at > 0 && is_word(b[at - 1]) {
            continue;
        }
        let name: String = code[at + 3..]
            .trim_start()
            .chars()
            .take_while(|&c| is_word(c as u8))
            .collect();
        // The body: the first `{` before any `;` (a declaration has none).
        let Some(open) = code[at..].find(['{', ';']).map(|n| at + n) else {
            continue;
        };
        if b[open] == b';' || name.is_empty() {
            continue;
        }
        let mut depth = 0;
        let mut close = open;
        for (k, &c) in b.iter().enumerate().skip(open) {
            match c {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        close = k;
                        break;
                    }
                }
                _ => {}
            }
        }
        let first = code[..at].matches('\n').count() + 1;
        let last = code[..close].matches('\n').count() + 1;
        out.push((name, first, last - first + 1));
    }
    out
}

fn files(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(f, t)| (f.to_string(), t.to_string()))
        .collect()
}

#[test]
fn no_file_loops_in_the_runner() {
    let sources = runner_sources();
    assert!(sources.len() > 10, "read {} files", sources.len());
    let graph = imports(&sources);
    // The reading finds the imports it should.
    assert!(
        graph["driver.rs"].contains("scheduler/mod.rs"),
        "{graph:#?}"
    );
    assert!(graph["report/ktap.rs"].contains("report/mod.rs"));
    assert!(graph["process/mod.rs"].contains("process/output.rs"));
    let loops = file_loops(&sources);
    assert!(loops.is_empty(), "file loops: {loops:#?}");
}

#[test]
fn the_loop_finder_finds_loops_and_only_loops() {
    let two = files(&[
        ("a.rs", "use crate::b::B;\npub struct A;"),
        ("b.rs", "pub struct B;\nfn f() { let _ = crate::a::A; }"),
    ]);
    assert_eq!(file_loops(&two), vec![vec!["a.rs", "b.rs"]]);
    let three = files(&[
        ("x/mod.rs", "mod y;\nuse y::{Y, Z};"),
        ("x/y.rs", "use crate::{c::C, d};"),
        ("c.rs", "pub fn c() -> crate::x::X { todo!() }"),
        ("d.rs", ""),
    ]);
    assert_eq!(file_loops(&three), vec![vec!["c.rs", "x/mod.rs", "x/y.rs"]]);
    let parent_child = files(&[
        ("r/mod.rs", "pub mod k;\npub fn h() { k::f() }"),
        ("r/k.rs", "use super::h;\npub fn f() {}"),
    ]);
    assert_eq!(file_loops(&parent_child), vec![vec!["r/k.rs", "r/mod.rs"]]);
    // An inline module's `super::` is its own file.
    let inline = files(&[
        (
            "r/mod.rs",
            "#[cfg(test)]\nmod tests;\npub mod k;\npub fn h() { k::f() }",
        ),
        (
            "r/k.rs",
            "pub fn f() {}\n#[cfg(test)]\nmod tests {\n    use super::*;\n}",
        ),
        ("r/tests.rs", "use super::*;"),
    ]);
    assert_eq!(file_loops(&inline), Vec::<Vec<String>>::new());
    assert_eq!(
        imports(&inline)["r/tests.rs"],
        BTreeSet::from(["r/mod.rs".to_string()])
    );
    // Comments, strings and characters name no module; a one-way import is fine.
    let none = files(&[
        ("a.rs", "use crate::b::B; // crate::c\nconst Q: char = '\"';"),
        (
            "b.rs",
            "/// [`crate::a`]\n/* crate::a */ const S: &str = \"crate::a::A\";\nconst R: &str = r#\"crate::a\"#; fn f<'a>(x: &'a u8) {}",
        ),
        ("c.rs", "use super::super::a;"),
    ]);
    assert_eq!(file_loops(&none), Vec::<Vec<String>>::new());
    assert_eq!(imports(&none)["a.rs"], BTreeSet::from(["b.rs".to_string()]));
}

#[test]
fn no_function_in_the_runner_is_too_long() {
    let mut too_long = Vec::new();
    let mut longest = (String::new(), 0);
    for (file, text) in runner_sources() {
        for (name, line, len) in functions(&text) {
            if len > longest.1 {
                longest = (format!("{file}:{line} {name}"), len);
            }
            if len > LONGEST_FUNCTION {
                too_long.push(format!("{file}:{line}: {name} is {len} lines"));
            }
        }
    }
    println!("longest function: {} ({} lines)", longest.0, longest.1);
    assert!(too_long.is_empty(), "{}", too_long.join("\n"));
}

#[test]
fn functions_are_measured_from_fn_to_their_closing_brace() {
    let text = "fn a() {\n    let s = \"}\";\n    if x { '}' } else { y }\n}\n\ntrait T { fn b(&self); }\npub(crate) fn c<'a>(x: &'a str) -> &'a str { x }\n";
    assert_eq!(
        functions(text),
        vec![("a".to_string(), 1, 4), ("c".to_string(), 7, 1)]
    );
}
