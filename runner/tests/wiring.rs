//! `netdrill run` with its report flags, through the real binary: the reports
//! land where asked (`-` is stdout, and the progress display moves to stderr),
//! expected failures from `suite.toml` become XFAIL / XPASS, and failed attempts
//! leave artifacts.
//!
//! The scripts need no network: a `--dry_run` option line makes a script pass
//! after parsing, a syntax error makes it fail at a known line.

mod common;

use common::*;
use netdrill::report::json;
use std::path::{Path, PathBuf};

const PASS: &str = "--dry_run\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n";
const BAD: &str = "0 socket(..., SOCK_STREAM IPPROTO_TCP = 3\n";

/// `sbx/` with a passing and a failing script.
fn suite(root: &Path) -> PathBuf {
    let dir = root.join("sbx");
    write(&dir, "bad.pkt", BAD);
    write(&dir, "pass.pkt", PASS);
    dir
}

fn run(args: &[&str], state: &Path) -> (Option<i32>, String, String) {
    let mut all = vec!["run", "--no-progress"];
    all.extend_from_slice(args);
    let out = netdrill(&all, &new_tag("wiring"), state).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn reports_go_to_files_and_stdout() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = suite(tmp.path());
    let junit = tmp.path().join("out/junit.xml");
    let json_path = tmp.path().join("out/results.json");
    let (code, stdout, stderr) = run(
        &[
            dir.to_str().unwrap(),
            "--ktap",
            "-",
            "--junit",
            junit.to_str().unwrap(),
            "--json",
            json_path.to_str().unwrap(),
            "--json-full",
        ],
        tmp.path(),
    );
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    // stdout is the KTAP alone; the display went to stderr.
    assert!(
        stdout.starts_with("TAP version 13\n1..2\n# timeout set to 45\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\nnot ok 1 selftests: net/sbx: bad.pkt # exit=1\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\nok 2 selftests: net/sbx: pass.pkt\n"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("\n# Totals: pass:1 fail:1 xfail:0 xpass:0 skip:0 error:0\n"),
        "{stdout}"
    );
    assert!(!stdout.contains("running 4 jobs"), "{stdout}");
    assert!(stderr.contains("running 4 jobs"), "{stderr}");
    assert!(
        stderr.ends_with("2 passed, 2 failed, 0 skipped\n"),
        "{stderr}"
    );

    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<testcase ").count(), 4, "{xml}");
    assert_eq!(xml.matches("<failure ").count(), 2, "{xml}");
    assert!(
        xml.contains("bad.pkt:1: parse error at &apos;IPPROTO_TCP&apos;: syntax error"),
        "{xml}"
    );

    let doc = json::parse(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    assert_eq!(doc.results.len(), 2);
    assert_eq!(doc.results[0].test, "bad-pkt");
    assert_eq!(doc.results[0].result, json::NipaResult::Fail);
    assert_eq!(doc.results[1].result, json::NipaResult::Pass);
    assert!(doc.netdrill.is_some(), "--json-full adds the run's details");
}

#[test]
fn nested_ktap_and_plain_json() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = suite(tmp.path());
    let ktap = tmp.path().join("ktap.txt");
    let (code, stdout, stderr) = run(
        &[
            dir.to_str().unwrap(),
            "--filter",
            "pass.pkt",
            "--ktap",
            ktap.to_str().unwrap(),
            "--ktap-nested",
            "--json",
            "-",
        ],
        tmp.path(),
    );
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let text = std::fs::read_to_string(&ktap).unwrap();
    assert!(text.starts_with("KTAP version 1\n1..1\n"), "{text}");
    assert!(
        text.contains("\n  KTAP version 1\n  1..2\n  ok 1 ipv4\n"),
        "{text}"
    );
    let doc = json::parse(&stdout).unwrap();
    assert_eq!(doc.results.len(), 1);
    assert!(doc.netdrill.is_none(), "no --json-full");
    assert!(
        stderr.contains("1 passed") || stderr.contains("2 passed"),
        "{stderr}"
    );
}

#[test]
fn report_flags_are_checked_before_running() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = suite(tmp.path());
    let d = dir.to_str().unwrap();
    let (code, _, stderr) = run(&[d, "--ktap", "-", "--json", "-"], tmp.path());
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("--ktap, --json all write to stdout (`-`); at most one report can"),
        "{stderr}"
    );
    assert!(!stderr.contains("running"), "{stderr}");
    let (code, _, stderr) = run(&[d, "--ktap-nested"], tmp.path());
    assert_eq!(code, Some(2));
    assert!(stderr.contains("--ktap <FILE>"), "{stderr}");
    let (code, _, stderr) = run(&[d, "--json-full"], tmp.path());
    assert_eq!(code, Some(2));
    assert!(stderr.contains("--json <FILE>"), "{stderr}");
}

#[test]
fn an_unwritable_report_is_an_error_after_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = suite(tmp.path());
    let blocker = tmp.path().join("file");
    std::fs::write(&blocker, "").unwrap();
    let bad = blocker.join("junit.xml");
    let ktap = tmp.path().join("ktap.txt");
    let (code, stdout, stderr) = run(
        &[
            dir.to_str().unwrap(),
            "--filter",
            "pass.pkt",
            "--junit",
            bad.to_str().unwrap(),
            "--ktap",
            ktap.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains(&format!("netdrill: --junit {}", bad.display())),
        "{stderr}"
    );
    // The other report is still written.
    assert!(std::fs::read_to_string(&ktap)
        .unwrap()
        .starts_with("TAP version 13\n"));
}
