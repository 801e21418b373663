//! Every script of the shared corpus (and of the repository's own suites, when
//! present) through the parser and the printer.
//!
//! - Scripts packetdrill rejects while parsing (the probes whose recorded
//!   first diagnostic in `probes/PROBES.tsv` is a parse, semantic or option
//!   error) must be rejected with packetdrill's exact one-line message.
//! - Every other script must parse, and `parse(print(ast)) == ast`.
//!
//! The corpus is found at `$NETDRILL_CORPUS`, else `shared/corpus` beside the
//! repository (or beside the folder holding a worktree).

use netdrill_engine::script::{parse, print, Script};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The `-D` symbols the kernel's runner (and our probes) pass to packetdrill.
fn defines() -> Vec<(String, String)> {
    [
        ("TFO_COOKIE", "3021b9d889017eeb"),
        ("TFO_COOKIE_ZERO", "b7c12350a90dc8f5"),
        ("CMSG_LEVEL_IP", "SOL_IP"),
        ("CMSG_TYPE_RECVERR", "IP_RECVERR"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn corpus_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("NETDRILL_CORPUS") {
        return PathBuf::from(dir);
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let candidates = [
        manifest.join("../../shared/corpus"),
        manifest.join("../../../shared/corpus"),
    ];
    for c in &candidates {
        if c.is_dir() {
            return c.clone();
        }
    }
    panic!(
        "corpus not found (tried {candidates:?}); set NETDRILL_CORPUS to the shared/corpus folder"
    );
}

fn pkt_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            pkt_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "pkt") {
            out.push(p);
        }
    }
}

/// `probes/PROBES.tsv`: script name -> packetdrill's first diagnostic line, for
/// the probes packetdrill rejects before running anything.
fn expected_parse_failures(corpus: &Path) -> BTreeMap<String, String> {
    let tsv = std::fs::read_to_string(corpus.join("probes/PROBES.tsv"))
        .expect("probes/PROBES.tsv in the corpus");
    let mut out = BTreeMap::new();
    for line in tsv.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (Some(name), Some(first)) = (cols.first(), cols.get(2)) else {
            continue;
        };
        let rejected_while_parsing = first.contains(": parse error at ")
            || first.contains(": semantic error: ")
            || first.contains(": option '")
            // packetdrill dies on an internal assertion here; we report a semantic error.
            || first.starts_with("assertion current_script_line");
        if rejected_while_parsing {
            out.insert(name.to_string(), first.to_string());
        }
    }
    out
}

fn all_scripts() -> (PathBuf, Vec<PathBuf>) {
    let corpus = corpus_dir();
    let mut files = Vec::new();
    pkt_files(&corpus, &mut files);
    let suites = Path::new(env!("CARGO_MANIFEST_DIR")).join("../suites");
    pkt_files(&suites, &mut files);
    assert!(
        files.len() > 100,
        "only {} scripts found under {}",
        files.len(),
        corpus.display()
    );
    (corpus, files)
}

#[test]
fn corpus_parses_and_rejects_like_packetdrill() {
    let (corpus, files) = all_scripts();
    let expected = expected_parse_failures(&corpus);
    assert!(
        expected.len() >= 15,
        "expected failures not found in PROBES.tsv"
    );
    let defines = defines();
    let mut failures = Vec::new();
    let mut rejected = 0;
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let src = std::fs::read(path).unwrap();
        let in_probes = path.parent().is_some_and(|p| p.ends_with("probes"));
        let want = if in_probes { expected.get(&name) } else { None };
        match (parse(&src, &defines), want) {
            (Ok(_), None) => {}
            (Ok(_), Some(w)) => failures.push(format!("{name}: parsed, packetdrill says: {w}")),
            (Err(e), None) => failures.push(e.diagnostic.render(&path.display().to_string(), &src)),
            (Err(e), Some(w)) => {
                rejected += 1;
                let ours = e.diagnostic.packetdrill_line(&name);
                let same = if w.starts_with("assertion") {
                    e.diagnostic.span.line == 1
                } else {
                    ours == *w
                };
                if !same {
                    failures.push(format!("{name}: ours: {ours}\n  packetdrill: {w}"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} scripts differ:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
    assert_eq!(
        rejected,
        expected.len(),
        "every expected rejection was seen"
    );
    eprintln!(
        "{} scripts: {} parsed, {} rejected as packetdrill rejects them",
        files.len(),
        files.len() - rejected,
        rejected
    );
}

fn round_trip(path: &Path, ast: &Script) -> Result<(), String> {
    let text = print(ast);
    let again = parse(text.as_bytes(), &[]).map_err(|e| {
        format!(
            "{}: printed text does not parse:\n{}\n{text}",
            path.display(),
            e.diagnostic.render("printed", text.as_bytes())
        )
    })?;
    if &again != ast {
        let want = format!("{ast:#?}");
        let got = format!("{again:#?}");
        let first_diff = want
            .lines()
            .zip(got.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        return Err(format!(
            "{}: AST differs after print -> parse near line {first_diff} of the dump:\n  want: {}\n  got:  {}",
            path.display(),
            want.lines().nth(first_diff).unwrap_or(""),
            got.lines().nth(first_diff).unwrap_or("")
        ));
    }
    if print(&again) != text {
        return Err(format!("{}: printing is not stable", path.display()));
    }
    Ok(())
}

#[test]
fn corpus_round_trips_through_the_printer() {
    let (_, files) = all_scripts();
    let defines = defines();
    let mut failures = Vec::new();
    let mut checked = 0;
    for path in &files {
        let src = std::fs::read(path).unwrap();
        let Ok(ast) = parse(&src, &defines) else {
            continue; // the rejection test covers these
        };
        checked += 1;
        if let Err(e) = round_trip(path, &ast) {
            failures.push(e);
        }
    }
    assert!(checked > 100, "only {checked} scripts round-tripped");
    assert!(
        failures.is_empty(),
        "{} of {checked} scripts do not round-trip:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
