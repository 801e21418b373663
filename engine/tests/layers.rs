//! The engine's layers point one way, and no files import each other.
//!
//! Layers, lowest first; each may import only the layers listed with it
//! (see `engine/src/lib.rs` and `docs/engine/README.md`):
//!
//! ```text
//! outcome   what a run produces
//! script    lexer, parser, AST, printer, diagnostics          imports outcome
//! packet    the wire: checked views, reprs, flow identity     imports outcome only
//! plan      AST -> packet templates, flags and addresses      imports outcome, script, packet
//! run       clock, tun0, sniffer, verification, system calls  imports everything below
//! ```
//!
//! Every file under `engine/src` is read as text. Its imports are the paths
//! it names: `use` declarations and paths written inline (`crate::x::y`,
//! `super::x`, `self::x`, or a child module's name), outside comments and
//! string literals. Each path is resolved to the file that defines the item
//! (following `use` re-exports, so `crate::script::Span` is `script/span.rs`,
//! not `script/mod.rs`). The test fails on an import from a higher layer (or,
//! for `packet`, from anything but `outcome`), on a file that belongs to no
//! layer, and on any loop of file imports (two files importing each other,
//! or longer loops), `mod.rs` files included. Test code (`#[cfg(test)]`
//! modules) must keep to the layers too; as nothing imports a test module,
//! it takes no part in loops.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each layer, lowest first, with the layers it may import besides itself.
const LAYERS: &[(&str, &[&str])] = &[
    ("outcome", &[]),
    ("script", &["outcome"]),
    ("packet", &["outcome"]),
    ("plan", &["outcome", "script", "packet"]),
    ("run", &["outcome", "script", "packet", "plan"]),
];

/// The crate root: it declares the layers and re-exports from them.
const ROOT: &str = "lib.rs";

#[test]
fn engine_layers_point_one_way_and_files_do_not_import_each_other() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = BTreeMap::new();
    read_tree(&src, &src, &mut files);
    assert!(
        files.len() > 40 && files.contains_key(ROOT),
        "engine/src not found or nearly empty: {:?}",
        files.keys().collect::<Vec<_>>()
    );
    // The resolver must see the imports that are known to be there.
    let edges = Tree::new(&files).edges();
    for (from, to) in [
        ("run/verify.rs", "plan/template.rs"),
        ("plan/template.rs", "packet/ip_packet.rs"),
        ("run/state.rs", "packet/flow.rs"),
        ("script/parser.rs", "script/span.rs"),
    ] {
        assert!(
            edges.iter().any(|e| e.from == from && e.to == to),
            "no import of {to} found in {from}"
        );
    }
    let findings = check(&files);
    assert!(
        findings.is_empty(),
        "{} layering problem(s):\n{}",
        findings.len(),
        findings.join("\n")
    );
}

fn read_tree(root: &Path, dir: &Path, files: &mut BTreeMap<String, String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            read_tree(root, &path, files);
        } else if path.extension().is_some_and(|x| x == "rs") {
            let rel = path
                .strip_prefix(root)
                .expect("under src")
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            files.insert(rel, text);
        }
    }
}

/// Every layering problem of a source tree (paths relative to `src`).
fn check(files: &BTreeMap<String, String>) -> Vec<String> {
    let tree = Tree::new(files);
    let mut findings = Vec::new();
    let edges = tree.edges();
    for file in files.keys() {
        if file != ROOT && layer_of(file).is_none() {
            findings.push(format!("{file}: belongs to no layer ({})", layer_names()));
        }
    }
    for e in &edges {
        let (Some(from), Some(to)) = (layer_of(&e.from), layer_of(&e.to)) else {
            continue;
        };
        if from == to {
            continue;
        }
        let allowed = LAYERS
            .iter()
            .find(|(name, _)| *name == from)
            .map_or(&[][..], |(_, allowed)| *allowed);
        if !allowed.contains(&to) {
            findings.push(format!(
                "{}:{}: `{}` is {} ({to}): {from} may import {}",
                e.from,
                e.line,
                e.path,
                e.to,
                if allowed.is_empty() {
                    "nothing".to_string()
                } else {
                    allowed.join(", ")
                }
            ));
        }
    }
    let production: Vec<Edge> = edges.iter().filter(|e| !e.test).cloned().collect();
    for cycle in cycles(&production) {
        let mut text = format!("import loop between {}:", cycle.join(", "));
        // The first import of each pair of files in the loop, and how many more.
        let mut pairs: BTreeMap<(&str, &str), (&Edge, usize)> = BTreeMap::new();
        for e in production
            .iter()
            .filter(|e| cycle.contains(&e.from) && cycle.contains(&e.to))
        {
            pairs
                .entry((e.from.as_str(), e.to.as_str()))
                .and_modify(|(_, n)| *n += 1)
                .or_insert((e, 0));
        }
        for ((from, to), (e, more)) in pairs {
            text.push_str(&format!("\n    {from}:{} `{}` -> {to}", e.line, e.path));
            if more > 0 {
                text.push_str(&format!(" (and {more} more)"));
            }
        }
        findings.push(text);
    }
    findings
}

fn layer_names() -> String {
    LAYERS
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The layer of a file: its top directory, or its name for a top-level file.
fn layer_of(file: &str) -> Option<&'static str> {
    let top = file.split('/').next()?;
    let top = top.strip_suffix(".rs").unwrap_or(top);
    LAYERS.iter().map(|(n, _)| *n).find(|n| *n == top)
}

/// One import: `from` names `path` on `line`, which resolves into `to`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Edge {
    from: String,
    to: String,
    line: usize,
    path: String,
    /// Written in test-only code: checked for layers, but a test module is
    /// imported by nobody, so it closes no loop.
    test: bool,
}

/// Loops of file imports (strongly connected components of more than one
/// file), each sorted, by Tarjan's algorithm.
fn cycles(edges: &[Edge]) -> Vec<Vec<String>> {
    let mut graph: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for e in edges {
        graph.entry(&e.from).or_default().insert(&e.to);
        graph.entry(&e.to).or_default();
    }
    struct Tarjan<'a> {
        graph: &'a BTreeMap<&'a str, BTreeSet<&'a str>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<Vec<String>>,
    }
    impl<'a> Tarjan<'a> {
        fn visit(&mut self, v: &'a str) {
            let i = self.index.len();
            self.index.insert(v, i);
            self.low.insert(v, i);
            self.stack.push(v);
            self.on_stack.insert(v);
            for &w in &self.graph[v] {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let lw = self.low[w];
                    let lv = self.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(lw);
                } else if self.on_stack.contains(w) {
                    let iw = self.index[w];
                    let lv = self.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(iw);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    component.push(w.to_string());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut t = Tarjan {
        graph: &graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for &v in graph.keys() {
        if !t.index.contains_key(v) {
            t.visit(v);
        }
    }
    t.found.sort();
    t.found
}

// ---------------------------------------------------------------------------
// Reading Rust source well enough to find and resolve paths.

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Ident(String),
    /// `::`
    Path,
    Punct(char),
}

/// The tokens of a file with their lines; comments, string, byte-string,
/// raw-string and char literals are dropped, lifetimes are kept apart from
/// char literals.
fn tokens(text: &str) -> Vec<(Tok, usize)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut line = 1;
    let count_lines = |from: usize, to: usize| b[from..to].iter().filter(|&&c| c == b'\n').count();
    while i < b.len() {
        let c = b[i];
        if c == b'\n' {
            line += 1;
            i += 1;
        } else if c.is_ascii_whitespace() {
            i += 1;
        } else if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let start = i;
            let mut depth = 0;
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            line += count_lines(start, i.min(b.len()));
        } else if let Some(end) = raw_string_end(b, i) {
            line += count_lines(i, end);
            i = end;
        } else if c == b'"' || (c == b'b' && b.get(i + 1) == Some(&b'"')) {
            let start = i;
            i += if c == b'b' { 2 } else { 1 };
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i = (i + 1).min(b.len());
            line += count_lines(start, i);
        } else if c == b'\'' || (c == b'b' && b.get(i + 1) == Some(&b'\'')) {
            let q = if c == b'b' { i + 1 } else { i };
            // A char literal: 'x', '\n', '\u{..}'; otherwise a lifetime.
            if b.get(q + 1) == Some(&b'\\') {
                let mut j = q + 2;
                while j < b.len() && b[j] != b'\'' {
                    j += 1;
                }
                i = j + 1;
            } else if let Some(len) = std::str::from_utf8(&b[q + 1..])
                .ok()
                .or_else(|| text.get(q + 1..))
                .and_then(|s| s.chars().next())
                .map(char::len_utf8)
                .filter(|len| b.get(q + 1 + len) == Some(&b'\''))
            {
                i = q + 2 + len;
            } else {
                i = q + 1;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
            }
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push((Tok::Ident(text[start..i].to_string()), line));
        } else if c.is_ascii_digit() {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'.') {
                i += 1;
            }
        } else if b[i..].starts_with(b"::") {
            out.push((Tok::Path, line));
            i += 2;
        } else {
            let ch = text[i..].chars().next().unwrap_or(' ');
            out.push((Tok::Punct(ch), line));
            i += ch.len_utf8();
        }
    }
    out
}

/// The end of a raw (byte) string literal starting at `i`, if one does.
fn raw_string_end(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i;
    if b.get(j) == Some(&b'b') {
        j += 1;
    }
    if b.get(j) != Some(&b'r') {
        return None;
    }
    if i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_') {
        return None;
    }
    j += 1;
    let hashes = b[j..].iter().take_while(|&&c| c == b'#').count();
    j += hashes;
    if b.get(j) != Some(&b'"') {
        return None;
    }
    j += 1;
    while j < b.len() {
        if b[j] == b'"'
            && b[j + 1..]
                .iter()
                .take(hashes)
                .filter(|&&c| c == b'#')
                .count()
                == hashes
        {
            return Some(j + 1 + hashes);
        }
        j += 1;
    }
    Some(b.len())
}

/// One `use` leaf: the path it imports (`*` last for a glob), the name it
/// binds, and the module it is written in.
#[derive(Clone, Debug)]
struct UseItem {
    module: Vec<String>,
    /// Written in test-only code (`#[cfg(test)]`).
    test: bool,
    path: Vec<String>,
    binding: Option<String>,
    line: usize,
}

/// A path written inline, with the module it is written in.
#[derive(Clone, Debug)]
struct InlinePath {
    module: Vec<String>,
    test: bool,
    path: Vec<String>,
    line: usize,
}

struct FileInfo {
    module: Vec<String>,
    /// Child module files declared test-only (`#[cfg(test)] mod tests;`).
    test_children: BTreeSet<String>,
    uses: Vec<UseItem>,
    inline: Vec<InlinePath>,
    /// Names of the items the file defines (any nesting).
    defines: BTreeSet<String>,
}

const ITEM_KEYWORDS: &[&str] = &[
    "fn", "struct", "enum", "trait", "type", "const", "static", "mod", "union",
];

fn module_of(file: &str) -> Vec<String> {
    let mut parts: Vec<String> = file.split('/').map(str::to_string).collect();
    let last = parts.pop().unwrap_or_default();
    match last.as_str() {
        "lib.rs" | "mod.rs" => {}
        other => parts.push(other.trim_end_matches(".rs").to_string()),
    }
    parts
}

fn analyse(file: &str, text: &str) -> FileInfo {
    let toks = tokens(text);
    let module = module_of(file);
    let mut info = FileInfo {
        module: module.clone(),
        test_children: BTreeSet::new(),
        uses: Vec::new(),
        inline: Vec::new(),
        defines: BTreeSet::new(),
    };
    // Inline modules: (name, brace depth inside it, test-only).
    let mut inline_mods: Vec<(String, usize, bool)> = Vec::new();
    // An item after `#[cfg(test)]`.
    let mut cfg_test = false;
    let mut depth = 0usize;
    let current = |inline_mods: &Vec<(String, usize, bool)>| {
        let mut m = module.clone();
        m.extend(inline_mods.iter().map(|(n, _, _)| n.clone()));
        m
    };
    let in_test = |inline_mods: &Vec<(String, usize, bool)>| inline_mods.iter().any(|m| m.2);
    let ident = |k: usize| match toks.get(k) {
        Some((Tok::Ident(s), _)) => Some(s.as_str()),
        _ => None,
    };
    let mut k = 0;
    while k < toks.len() {
        let (tok, line) = &toks[k];
        match tok {
            Tok::Punct('{') => {
                depth += 1;
                k += 1;
            }
            Tok::Punct('#')
                if toks.get(k + 1).map(|t| &t.0) == Some(&Tok::Punct('['))
                    && ident(k + 2) == Some("cfg")
                    && toks.get(k + 3).map(|t| &t.0) == Some(&Tok::Punct('('))
                    && ident(k + 4) == Some("test")
                    && toks.get(k + 5).map(|t| &t.0) == Some(&Tok::Punct(')')) =>
            {
                cfg_test = true;
                k += 6;
            }
            Tok::Punct('}') => {
                if inline_mods.last().is_some_and(|(_, d, _)| *d == depth) {
                    inline_mods.pop();
                }
                depth = depth.saturating_sub(1);
                k += 1;
            }
            Tok::Ident(w) if w == "use" => {
                let end = (k + 1..toks.len())
                    .find(|&j| toks[j].0 == Tok::Punct(';'))
                    .unwrap_or(toks.len());
                let mut leaves = Vec::new();
                use_tree(&toks[k + 1..end], &[], &mut leaves);
                let here = current(&inline_mods);
                let test = cfg_test || in_test(&inline_mods);
                cfg_test = false;
                for (path, binding) in leaves {
                    info.uses.push(UseItem {
                        module: here.clone(),
                        test,
                        path,
                        binding,
                        line: *line,
                    });
                }
                k = end + 1;
            }
            Tok::Ident(w) if ITEM_KEYWORDS.contains(&w.as_str()) => {
                if let Some(name) = ident(k + 1) {
                    info.defines.insert(name.to_string());
                    let test = cfg_test || in_test(&inline_mods);
                    match toks.get(k + 2).map(|t| &t.0) {
                        Some(Tok::Punct('{')) if w == "mod" => {
                            inline_mods.push((name.to_string(), depth + 1, test));
                        }
                        Some(Tok::Punct(';')) if w == "mod" && test => {
                            info.test_children.insert(name.to_string());
                        }
                        _ => {}
                    }
                }
                cfg_test = false;
                k += 1;
            }
            Tok::Ident(w) if w == "macro_rules" => {
                if let Some(name) = ident(k + 2) {
                    info.defines.insert(name.to_string());
                }
                k += 1;
            }
            Tok::Ident(first) if toks.get(k + 1).map(|t| &t.0) == Some(&Tok::Path) => {
                // A path: idents joined by `::`; generics and the like end it.
                let preceded_by_path = k > 0 && toks[k - 1].0 == Tok::Path;
                let mut path = vec![first.clone()];
                let mut j = k + 1;
                while toks.get(j).map(|t| &t.0) == Some(&Tok::Path) {
                    match ident(j + 1) {
                        Some(s) => {
                            path.push(s.to_string());
                            j += 2;
                        }
                        None => break,
                    }
                }
                if !preceded_by_path {
                    info.inline.push(InlinePath {
                        module: current(&inline_mods),
                        test: in_test(&inline_mods),
                        path,
                        line: *line,
                    });
                }
                k = j;
            }
            _ => k += 1,
        }
    }
    info
}

/// Expand a use tree into its leaves: (full path, bound name).
fn use_tree(
    toks: &[(Tok, usize)],
    prefix: &[String],
    out: &mut Vec<(Vec<String>, Option<String>)>,
) {
    let mut path = prefix.to_vec();
    let mut k = 0;
    while k < toks.len() {
        match &toks[k].0 {
            Tok::Ident(s) if s == "as" => {
                let alias = match toks.get(k + 1) {
                    Some((Tok::Ident(a), _)) => Some(a.clone()),
                    _ => None,
                };
                out.push((path.clone(), alias));
                return;
            }
            Tok::Ident(s) => {
                path.push(s.clone());
                k += 1;
            }
            Tok::Path => k += 1,
            Tok::Punct('*') => {
                path.push("*".to_string());
                out.push((path, None));
                return;
            }
            Tok::Punct('{') => {
                // Split the group at top-level commas.
                let mut depth = 0;
                let mut start = k + 1;
                for j in k..toks.len() {
                    match toks[j].0 {
                        Tok::Punct('{') => depth += 1,
                        Tok::Punct('}') => {
                            depth -= 1;
                            if depth == 0 {
                                if start < j {
                                    use_tree(&toks[start..j], &path, out);
                                }
                                return;
                            }
                        }
                        Tok::Punct(',') if depth == 1 => {
                            if start < j {
                                use_tree(&toks[start..j], &path, out);
                            }
                            start = j + 1;
                        }
                        _ => {}
                    }
                }
                return;
            }
            _ => k += 1,
        }
    }
    if !path.is_empty() {
        let binding = path.last().cloned();
        out.push((path, binding));
    }
}

struct Tree<'a> {
    files: &'a BTreeMap<String, String>,
    info: BTreeMap<String, FileInfo>,
    /// Module path -> file.
    modules: BTreeMap<Vec<String>, String>,
}

impl<'a> Tree<'a> {
    fn new(files: &'a BTreeMap<String, String>) -> Tree<'a> {
        let info: BTreeMap<String, FileInfo> = files
            .iter()
            .map(|(f, t)| (f.clone(), analyse(f, t)))
            .collect();
        let modules = info
            .iter()
            .map(|(f, i)| (i.module.clone(), f.clone()))
            .collect();
        Tree {
            files,
            info,
            modules,
        }
    }

    /// Every resolved import of every file, to another file: one per
    /// (file, line, target), with the first path naming it.
    fn edges(&self) -> Vec<Edge> {
        let test_files: BTreeSet<&String> = self
            .info
            .values()
            .flat_map(|i| {
                i.test_children.iter().filter_map(|c| {
                    let mut m = i.module.clone();
                    m.push(c.clone());
                    self.modules.get(&m)
                })
            })
            .collect();
        let mut edges: BTreeMap<(String, usize, String), Edge> = BTreeMap::new();
        for file in self.files.keys() {
            let info = &self.info[file];
            let test_file = test_files.contains(file);
            let mut names: Vec<(&Vec<String>, &Vec<String>, usize, bool)> = Vec::new();
            for u in &info.uses {
                names.push((&u.module, &u.path, u.line, u.test || test_file));
            }
            for p in &info.inline {
                names.push((&p.module, &p.path, p.line, p.test || test_file));
            }
            names.sort_by_key(|n| n.2);
            for (module, path, line, test) in names {
                let Some(target) = self.resolve(module, path, 0) else {
                    continue;
                };
                if &target != file {
                    edges
                        .entry((file.clone(), line, target.clone()))
                        .or_insert(Edge {
                            from: file.clone(),
                            to: target,
                            line,
                            path: path.join("::"),
                            test,
                        });
                }
            }
        }
        edges.into_values().collect()
    }

    /// The absolute module-relative segments a path written in `module`
    /// stands for, or `None` for an outside crate (std, libc, ...).
    fn absolute(&self, module: &[String], path: &[String], depth: usize) -> Option<Vec<String>> {
        let first = path.first()?;
        match first.as_str() {
            "crate" => Some(path[1..].to_vec()),
            "self" => Some(module.iter().chain(&path[1..]).cloned().collect()),
            "super" => {
                let supers = path.iter().take_while(|s| *s == "super").count();
                let base = module.get(..module.len().checked_sub(supers)?)?;
                Some(base.iter().chain(&path[supers..]).cloned().collect())
            }
            _ => {
                let mut child = module.to_vec();
                child.push(first.clone());
                if self.modules.contains_key(&child) {
                    return Some(module.iter().chain(path).cloned().collect());
                }
                // A name a `use` of this module binds (e.g. a re-exported module).
                if depth < 8 {
                    let file = self.module_file(module)?;
                    for u in &self.info[&file].uses {
                        if u.module == module && u.binding.as_deref() == Some(first.as_str()) {
                            let mut whole = self.absolute(module, &u.path, depth + 1)?;
                            whole.extend(path[1..].iter().cloned());
                            return Some(whole);
                        }
                    }
                }
                None
            }
        }
    }

    /// The file of a module, or of the file whose inline module it is.
    fn module_file(&self, module: &[String]) -> Option<String> {
        (0..=module.len())
            .rev()
            .find_map(|n| self.modules.get(&module[..n]).cloned())
    }

    /// The file defining what `path`, written in `module`, names.
    fn resolve(&self, module: &[String], path: &[String], depth: usize) -> Option<String> {
        let segs = self.absolute(module, path, depth)?;
        self.resolve_absolute(&segs, depth)
    }

    fn resolve_absolute(&self, segs: &[String], depth: usize) -> Option<String> {
        // The longest prefix that is a module with a file of its own.
        let n = (0..=segs.len())
            .rev()
            .find(|&n| self.modules.contains_key(&segs[..n]))?;
        let file = self.modules[&segs[..n]].clone();
        let Some(item) = segs.get(n) else {
            return Some(file);
        };
        if item == "*" || depth >= 8 {
            return Some(file);
        }
        let info = &self.info[&file];
        if info.defines.contains(item) {
            return Some(file);
        }
        let here = &segs[..n];
        // Re-exports and imports of that module binding the name.
        for u in &info.uses {
            if u.module == here && u.binding.as_deref() == Some(item.as_str()) {
                if let Some(mut target) = self.absolute(here, &u.path, depth + 1) {
                    if target.last().is_some_and(|s| s == "self") {
                        target.pop();
                    }
                    target.extend(segs[n + 1..].iter().cloned());
                    return self.resolve_absolute(&target, depth + 1);
                }
            }
        }
        // Glob imports of that module.
        for u in &info.uses {
            if u.module == here && u.path.last().is_some_and(|s| s == "*") {
                let glob = &u.path[..u.path.len() - 1];
                if let Some(mut target) = self.absolute(here, glob, depth + 1) {
                    if let Some(f) = self.modules.get(&target) {
                        if self.info[f].defines.contains(item) {
                            target.extend(segs[n..].iter().cloned());
                            return self.resolve_absolute(&target, depth + 1);
                        }
                    }
                }
            }
        }
        Some(file)
    }
}

// ---------------------------------------------------------------------------
// The checker on small made-up trees, so that it is known to catch what it
// must catch.

fn tree(files: &[(&str, &str)]) -> BTreeMap<String, String> {
    files
        .iter()
        .map(|(p, t)| (p.to_string(), t.to_string()))
        .collect()
}

const ROOT_TEXT: &str =
    "pub mod outcome; pub mod script; pub mod packet; pub mod plan; pub mod run;";

#[test]
fn checker_accepts_downward_imports() {
    let t = tree(&[
        ("lib.rs", ROOT_TEXT),
        ("outcome.rs", "pub struct Outcome;"),
        ("packet/mod.rs", "pub mod tcp;\npub mod flow;"),
        (
            "packet/tcp.rs",
            "use super::flow::Tuple;\npub struct Packet;",
        ),
        ("packet/flow.rs", "pub struct Tuple;"),
        (
            "plan/mod.rs",
            "pub mod template;\npub use template::Template;",
        ),
        (
            "plan/template.rs",
            "use crate::packet::{tcp, flow::Tuple};\npub struct Template;",
        ),
        ("run/mod.rs", "mod verify;\nuse crate::plan::Template;"),
        (
            "run/verify.rs",
            "fn f() -> crate::outcome::Outcome { let _ = crate::packet::tcp::Packet; todo!() }",
        ),
    ]);
    assert_eq!(check(&t), Vec::<String>::new());
    let edges = Tree::new(&t).edges();
    // A re-export is followed to the file that defines the item.
    assert!(edges
        .iter()
        .any(|e| e.from == "run/mod.rs" && e.to == "plan/template.rs"));
    assert!(edges
        .iter()
        .any(|e| e.from == "run/verify.rs" && e.to == "outcome.rs"));
}

#[test]
fn checker_rejects_an_upward_use() {
    let t = tree(&[
        ("lib.rs", ROOT_TEXT),
        ("packet/mod.rs", "pub mod ip;"),
        ("packet/ip.rs", "use crate::run::state::{Endpoint, Tuple};"),
        ("run/mod.rs", "pub mod state;"),
        ("run/state.rs", "pub struct Endpoint; pub struct Tuple;"),
    ]);
    let findings = check(&t);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(
        findings[0].starts_with("packet/ip.rs:1: `crate::run::state::Endpoint` is run/state.rs (run): packet may import outcome"),
        "{findings:?}"
    );
}

#[test]
fn checker_rejects_an_upward_inline_path_and_packet_importing_script() {
    let t = tree(&[
        ("lib.rs", ROOT_TEXT),
        ("script/mod.rs", "pub mod ast;"),
        ("script/ast.rs", "pub enum AccEcnOrder { A }"),
        ("packet/mod.rs", "pub mod opt;"),
        (
            "packet/opt.rs",
            "fn f() {\n    let _ = crate::script::ast::AccEcnOrder::A;\n}",
        ),
        ("plan/mod.rs", "fn g() { crate::run::go() }"),
        ("run/mod.rs", "pub fn go() {}"),
    ]);
    let findings = check(&t);
    assert_eq!(findings.len(), 2, "{findings:?}");
    assert!(findings[0].starts_with(
        "packet/opt.rs:2: `crate::script::ast::AccEcnOrder::A` is script/ast.rs (script)"
    ));
    assert!(findings[1].starts_with("plan/mod.rs:1: `crate::run::go` is run/mod.rs (run)"));
}

#[test]
fn checker_ignores_comments_and_strings() {
    let t = tree(&[
        ("lib.rs", ROOT_TEXT),
        ("run/mod.rs", "pub fn go() {}"),
        (
            "packet/mod.rs",
            "//! Not [`crate::run`].\n/* crate::run::go() */\nfn f() -> &'static str { let _c = '\"'; \"crate::run::go\" }\nconst R: &str = r#\"crate::run::go\"#;",
        ),
    ]);
    assert_eq!(check(&t), Vec::<String>::new());
}

#[test]
fn checker_rejects_two_files_importing_each_other() {
    let t = tree(&[
        ("lib.rs", ROOT_TEXT),
        ("run/mod.rs", "mod calls;\nmod runtime;"),
        (
            "run/calls.rs",
            "use super::runtime::Runtime;\npub struct PendingCall;",
        ),
        (
            "run/runtime.rs",
            "use super::calls::PendingCall;\npub struct Runtime;",
        ),
    ]);
    let findings = check(&t);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(
        findings[0].starts_with("import loop between run/calls.rs, run/runtime.rs:"),
        "{findings:?}"
    );
}

#[test]
fn checker_rejects_longer_loops_and_loops_through_mod_rs() {
    let t = tree(&[
        ("lib.rs", ROOT_TEXT),
        ("plan/mod.rs", "mod a;\nmod b;\nmod c;"),
        ("plan/a.rs", "pub struct A(super::b::B);"),
        ("plan/b.rs", "pub struct B(super::c::C);"),
        ("plan/c.rs", "pub struct C(Box<crate::plan::a::A>);"),
        (
            "run/mod.rs",
            "mod netdev;\npub struct RunOptions;\nfn f() { netdev::create() }",
        ),
        (
            "run/netdev.rs",
            "use super::RunOptions;\npub fn create() {}",
        ),
    ]);
    let findings = check(&t);
    assert_eq!(findings.len(), 2, "{findings:?}");
    assert!(findings[0].starts_with("import loop between plan/a.rs, plan/b.rs, plan/c.rs:"));
    assert!(findings[1].starts_with("import loop between run/mod.rs, run/netdev.rs:"));
}

#[test]
fn checker_rejects_a_file_outside_the_layers() {
    let t = tree(&[("lib.rs", ROOT_TEXT), ("utils.rs", "pub fn f() {}")]);
    assert_eq!(
        check(&t),
        vec!["utils.rs: belongs to no layer (outcome, script, packet, plan, run)".to_string()]
    );
}

#[test]
fn checker_holds_tests_to_the_layers_but_not_to_loops() {
    let t = tree(&[
        ("lib.rs", ROOT_TEXT),
        ("script/mod.rs", "mod parser;\nmod printer;\npub use parser::parse;"),
        (
            "script/parser.rs",
            "pub fn parse() {}\n#[cfg(test)]\nmod tests {\n    use super::super::printer::print;\n}",
        ),
        (
            "script/printer.rs",
            "pub fn print() {}\n#[cfg(test)]\nmod tests {\n    fn t() { crate::script::parse() }\n    fn u() { crate::plan::x() }\n}",
        ),
        ("plan/mod.rs", "pub fn x() {}"),
    ]);
    let findings = check(&t);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(
        findings[0].starts_with("script/printer.rs:5: `crate::plan::x` is plan/mod.rs (plan)"),
        "{findings:?}"
    );
}
