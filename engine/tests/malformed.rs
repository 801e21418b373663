//! Malformed scripts: each must be rejected (never panic) with the expected
//! message at the expected line and column.
//!
//! `tests/malformed/EXPECTED.tsv` lists, for every `tests/malformed/*.pkt`:
//! name, line, column, and a substring of the message. Further cases that are
//! too big to keep as files (100 000 nested braces, ...) are generated below.

use netdrill_engine::script::{parse, print, Diagnostic};
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/malformed")
}

struct Expectation {
    name: String,
    line: u32,
    col: u32,
    message: String,
}

fn expectations() -> Vec<Expectation> {
    let text = std::fs::read_to_string(dir().join("EXPECTED.tsv")).expect("EXPECTED.tsv");
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.splitn(4, '\t').collect();
            assert_eq!(cols.len(), 4, "bad EXPECTED.tsv row: {l}");
            Expectation {
                name: cols[0].to_string(),
                line: cols[1].parse().expect("line"),
                col: cols[2].parse().expect("col"),
                message: cols[3].to_string(),
            }
        })
        .collect()
}

/// Parse in a way that turns a panic into an error message.
fn parse_no_panic(src: &[u8]) -> Result<Result<(), Diagnostic>, String> {
    std::panic::catch_unwind(|| parse(src, &[]).map(|_| ()).map_err(|f| f.diagnostic)).map_err(
        |p| {
            p.downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".to_string())
        },
    )
}

#[test]
fn every_malformed_script_fails_where_expected() {
    let expected = expectations();
    assert!(expected.len() >= 30, "at least 30 cases");
    let mut files: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter_map(|n| n.strip_suffix(".pkt").map(str::to_string))
        .collect();
    files.sort();
    let mut listed: Vec<String> = expected.iter().map(|e| e.name.clone()).collect();
    listed.sort();
    assert_eq!(
        files, listed,
        "every .pkt has exactly one row in EXPECTED.tsv"
    );

    let mut problems = Vec::new();
    for e in &expected {
        let path = dir().join(format!("{}.pkt", e.name));
        let src = std::fs::read(&path).unwrap();
        match parse_no_panic(&src) {
            Err(panic) => problems.push(format!("{}: PANIC: {panic}", e.name)),
            Ok(Ok(())) => problems.push(format!("{}: parsed, but must fail", e.name)),
            Ok(Err(d)) => {
                let rendered = d.render(&format!("{}.pkt", e.name), &src);
                let head = format!("{}.pkt:{}:{}: error: ", e.name, e.line, e.col);
                if !rendered.starts_with(&head) || !d.message.contains(&e.message) {
                    problems.push(format!(
                        "{}: want {}:{} containing {:?}\n  got {}:{} {:?}",
                        e.name, e.line, e.col, e.message, d.span.line, d.span.col, d.message
                    ));
                }
                // The one-line packetdrill form names the same line.
                let one_line = d.packetdrill_line("x.pkt");
                if d.has_line && !one_line.starts_with(&format!("x.pkt:{}: ", e.line)) {
                    problems.push(format!("{}: packetdrill line: {one_line}", e.name));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

const SOCKET: &str = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n";

fn must_fail_with(src: &[u8], message: &str) {
    match parse_no_panic(src) {
        Err(p) => panic!("panicked: {p}"),
        Ok(Ok(())) => panic!("parsed, but must fail with {message:?}"),
        Ok(Err(d)) => assert!(d.message.contains(message), "{:?}", d.message),
    }
}

#[test]
fn very_deep_nesting_is_an_error_not_a_stack_overflow() {
    let n = 100_000;
    for (open, close) in [("{", "}"), ("[", "]"), ("{x, ", "}")] {
        let src = format!("{SOCKET}+0 f({}{}) = 0\n", open.repeat(n), close.repeat(n));
        must_fail_with(src.as_bytes(), "nested too deeply");
    }
    let chain = format!("{SOCKET}+0 f({}1) = 0\n", "A=".repeat(n));
    must_fail_with(chain.as_bytes(), "nested too deeply");
    let ors = format!("{SOCKET}+0 f({}B) = 0\n", "A|".repeat(n));
    must_fail_with(ors.as_bytes(), "nested too deeply");
    let unclosed = format!("{SOCKET}+0 f({}", "[".repeat(n));
    must_fail_with(unclosed.as_bytes(), "nested too deeply");
}

#[test]
fn nesting_within_the_limit_parses_and_prints() {
    let src = format!("{SOCKET}+0 f({}1{}) = 0\n", "[".repeat(90), "]".repeat(90));
    let ast = parse(src.as_bytes(), &[]).unwrap();
    assert_eq!(parse(print(&ast).as_bytes(), &[]).unwrap(), ast);
    let ors = format!("{SOCKET}+0 f({}B) = 0\n", "A|".repeat(90));
    let ast = parse(ors.as_bytes(), &[]).unwrap();
    assert_eq!(parse(print(&ast).as_bytes(), &[]).unwrap(), ast);
}

#[test]
fn long_inputs_are_handled_in_linear_time() {
    let start = std::time::Instant::now();
    // 100 000 events.
    let many = format!("{SOCKET}{}", "+0 close(3) = 0\n".repeat(100_000));
    assert_eq!(parse(many.as_bytes(), &[]).unwrap().events.len(), 100_001);
    // A megabyte of one word, of one number, of quotes, of comment openers.
    let word = format!("0 {}(1) = 0\n", "a".repeat(1 << 20));
    assert!(parse(word.as_bytes(), &[]).is_ok());
    must_fail_with(
        format!("0 f({}) = 0\n", "9".repeat(1 << 20)).as_bytes(),
        "out of range",
    );
    must_fail_with(
        format!("\"{}", "a".repeat(1 << 20)).as_bytes(),
        "unterminated string",
    );
    // `"\"\"\"...`: one long string (escaped quotes), then a stray backslash.
    must_fail_with("\"\\".repeat(1 << 19).as_bytes(), "expected a time");
    must_fail_with(
        format!("/*{}", "*a".repeat(1 << 19)).as_bytes(),
        "unterminated comment",
    );
    must_fail_with("%{".repeat(1 << 19).as_bytes(), "unterminated code");
    must_fail_with(":".repeat(1 << 20).as_bytes(), "expected a time");
    assert!(start.elapsed().as_secs() < 60, "took {:?}", start.elapsed());
}
