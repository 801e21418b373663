//! Comments cite the repository's own documentation, and the citations hold.
//!
//! A comment in `engine/src` that cites `docs/engine/<page>.md` (optionally
//! followed by `, "Heading"`, `, "A" and "B"`...) must name a page that
//! exists and headings that exist on it; the pages' links to each other
//! (`[page.md](page.md), "Heading"`) likewise. No comment may cite an
//! outside document by section number ("engine spec section 5", "spec 10.3").

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn engine_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn docs_dir() -> PathBuf {
    engine_dir().join("../docs/engine")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable source directory") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// The text of a file's comments, joined into one line per comment block
/// (so that a citation wrapped over two comment lines reads as one).
fn comment_text(source: &str) -> Vec<(usize, String)> {
    let mut blocks: Vec<(usize, String)> = Vec::new();
    let mut previous_was_comment = false;
    for (i, line) in source.lines().enumerate() {
        let trimmed = line.trim_start();
        let text = ["//!", "///", "//"]
            .iter()
            .find_map(|p| trimmed.strip_prefix(p))
            .or_else(|| line.split_once(" // ").map(|(_, c)| c));
        match text {
            Some(t) if previous_was_comment && trimmed.starts_with("//") => {
                let last = blocks.last_mut().expect("a block");
                last.1.push(' ');
                last.1.push_str(t.trim());
            }
            Some(t) => {
                blocks.push((i + 1, t.trim().to_string()));
            }
            None => {}
        }
        previous_was_comment = text.is_some() && trimmed.starts_with("//");
    }
    blocks
}

/// Every citation in `text`: (page, headings) for each `<prefix><page>.md`.
fn citations(text: &str, prefix: &str, suffix: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(prefix) {
        let after = &rest[at + prefix.len()..];
        let Some(end) = after.find(".md") else {
            break;
        };
        let page = &after[..end];
        if page.is_empty()
            || !page
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '-' || c == '_')
        {
            rest = &after[end..];
            continue;
        }
        let mut tail = &after[end + 3..];
        if let Some(t) = tail.strip_prefix(suffix) {
            tail = t;
        }
        let mut headings = Vec::new();
        loop {
            let t = tail
                .strip_prefix(", ")
                .or_else(|| tail.strip_prefix(" and "))
                .or_else(|| tail.strip_prefix(","));
            let Some(t) = t.map(str::trim_start) else {
                break;
            };
            let Some(quoted) = t.strip_prefix('"') else {
                break;
            };
            let Some(close) = quoted.find('"') else {
                break;
            };
            headings.push(quoted[..close].to_string());
            tail = &quoted[close + 1..];
        }
        out.push((format!("{page}.md"), headings));
        rest = tail;
    }
    out
}

/// Whether a comment cites an outside document by section number
/// ("engine spec section 5", "spec 10.3", "(engine spec, 9.2)").
fn cites_outside_spec(text: &str) -> bool {
    let lower = text.to_lowercase();
    lower.contains("engine spec")
        || lower.split("spec").skip(1).any(|after| {
            let after = after.trim_start_matches([',', ' ']);
            let after = after.strip_prefix("section").unwrap_or(after).trim_start();
            after.starts_with(|c: char| c.is_ascii_digit())
        })
}

/// The headings of a markdown page.
fn headings(page: &str) -> Vec<String> {
    page.lines()
        .filter(|l| l.starts_with('#'))
        .map(|l| l.trim_start_matches('#').trim().to_string())
        .collect()
}

fn check_citations(
    place: &str,
    found: Vec<(String, Vec<String>)>,
    pages: &BTreeMap<String, Vec<String>>,
    problems: &mut Vec<String>,
) -> usize {
    let mut n = 0;
    for (page, wanted) in found {
        n += 1;
        let Some(have) = pages.get(&page) else {
            problems.push(format!(
                "{place}: cites docs/engine/{page}, which does not exist"
            ));
            continue;
        };
        for h in wanted {
            if !have.contains(&h) {
                problems.push(format!(
                    "{place}: cites docs/engine/{page}, \"{h}\", which has no such heading"
                ));
            }
        }
    }
    n
}

#[test]
fn comments_cite_existing_pages_and_headings_and_no_outside_spec() {
    let mut pages = BTreeMap::new();
    for entry in std::fs::read_dir(docs_dir()).expect("docs/engine exists") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|x| x == "md") {
            let text = std::fs::read_to_string(&path).expect("readable page");
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            pages.insert(name, headings(&text));
        }
    }
    assert!(pages.len() >= 5, "docs/engine is nearly empty: {pages:?}");

    let mut problems = Vec::new();
    let mut cited = 0;
    let mut files = Vec::new();
    rust_files(&engine_dir().join("src"), &mut files);
    files.sort();
    for file in &files {
        let source = std::fs::read_to_string(file).expect("readable source");
        let rel = file
            .strip_prefix(engine_dir())
            .unwrap()
            .display()
            .to_string();
        for (line, text) in comment_text(&source) {
            let place = format!("{rel}:{line}");
            cited += check_citations(
                &place,
                citations(&text, "docs/engine/", ""),
                &pages,
                &mut problems,
            );
            let outside = cites_outside_spec(&text);
            if outside {
                problems.push(format!("{place}: cites an outside spec: {text}"));
            }
        }
    }
    for (name, _) in pages.clone() {
        let text = std::fs::read_to_string(docs_dir().join(&name)).expect("readable page");
        let joined = text.replace('\n', " ");
        check_citations(
            &format!("docs/engine/{name}"),
            citations(&joined, "](", ")"),
            &pages,
            &mut problems,
        );
    }
    assert!(cited >= 20, "only {cited} citations of docs/engine found");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn citations_are_read_across_wrapped_lines_and_lists() {
    let blocks = comment_text(
        "//! The clock (docs/engine/time-and-tolerance.md, \"The clock\", \"The\n//! start of a script\" and \"Waiting\").\nfn f() {}\n/// docs/engine/packets.md\nconst X: u8 = 1; // see docs/engine/x.md, \"Y\"\n",
    );
    assert_eq!(blocks.len(), 3, "{blocks:?}");
    assert_eq!(
        citations(&blocks[0].1, "docs/engine/", ""),
        vec![(
            "time-and-tolerance.md".to_string(),
            vec![
                "The clock".to_string(),
                "The start of a script".to_string(),
                "Waiting".to_string()
            ]
        )]
    );
    assert_eq!(
        citations(&blocks[1].1, "docs/engine/", ""),
        vec![("packets.md".to_string(), vec![])]
    );
    let mut pages = BTreeMap::new();
    pages.insert(
        "packets.md".to_string(),
        vec!["Sequence numbers".to_string()],
    );
    let mut problems = Vec::new();
    check_citations(
        "a.rs:1",
        citations(&blocks[2].1, "docs/engine/", ""),
        &pages,
        &mut problems,
    );
    check_citations(
        "b.rs:1",
        vec![("packets.md".into(), vec!["Sequence number".into()])],
        &pages,
        &mut problems,
    );
    assert_eq!(
        problems,
        vec![
            "a.rs:1: cites docs/engine/x.md, which does not exist".to_string(),
            "b.rs:1: cites docs/engine/packets.md, \"Sequence number\", which has no such heading"
                .to_string()
        ]
    );
}

#[test]
fn outside_spec_citations_are_recognised() {
    for text in [
        "(engine spec section 10)",
        "values to script space (spec 10.3, step 5)",
        "(Spec, 9.2)",
        "see spec section 4",
    ] {
        assert!(cites_outside_spec(text), "{text}");
    }
    for text in [
        "RFC 1071 section 3: 0001 f203 sums to ddf2",
        "fn prepare(spec: &SyscallSpec)",
        "docs/engine/packets.md, \"Sequence numbers\"",
    ] {
        assert!(!cites_outside_spec(text), "{text}");
    }
}
