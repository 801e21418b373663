//! `netdrill report` on histories made from a real run record
//! (`history_gen`): the analysis finds exactly what was planted, bad records
//! are named and left out, the same records give the same page, the digest
//! and the comparison (snapshots), and the command's exit statuses.

mod history_gen;

use netdrill::history::analysis::{self, Cell, Settings};
use netdrill::history::read;
use netdrill::report::{compare, dashboard, digest};
use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::{Command, Output};

fn netdrill() -> Command {
    Command::new(env!("CARGO_BIN_EXE_netdrill"))
}

fn report(args: &[&str]) -> Output {
    netdrill().arg("report").args(args).output().unwrap()
}

#[test]
fn the_analysis_finds_what_the_history_holds() {
    let dir = tempfile::tempdir().unwrap();
    let planted = history_gen::generate(dir.path(), 40, 7);
    let history = read::load_dir(dir.path()).unwrap();
    assert!(history.notes.is_empty(), "{:?}", history.notes);
    assert_eq!(history.runs.len(), 40);
    let a = analysis::analyse(&history.runs, Settings::default());
    let found: Vec<(String, usize)> = a
        .regressions
        .iter()
        .map(|r| (r.test.to_string(), r.since))
        .collect();
    let mut expected = planted.regressions.clone();
    expected.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
    assert_eq!(found, expected);
    // The one that timed out and the one that crashed keep their verdicts.
    let verdicts: BTreeSet<Cell> = a
        .regressions
        .iter()
        .map(|r| Cell::of(Some(r.latest)))
        .collect();
    assert_eq!(
        verdicts,
        BTreeSet::from([Cell::Fail, Cell::Timeout, Cell::Error])
    );
    // A real failure's typed mismatch is the diagnostic of a plain failure.
    assert!(a
        .regressions
        .iter()
        .filter(|r| Cell::of(Some(r.latest)) == Cell::Fail)
        .all(|r| r.first.first_failure().unwrap().mismatch.is_some()));
    let fixed: BTreeSet<String> = a.fixed.iter().map(|f| f.test.to_string()).collect();
    assert_eq!(fixed, planted.fixed);
    assert!(a.fixed.iter().all(|f| f.failed_runs == 5), "{:?}", a.fixed);
    let flaky: BTreeSet<String> = a.flaky.iter().map(|f| f.test.to_string()).collect();
    assert!(
        !flaky.is_empty() && flaky.is_subset(&planted.flaky),
        "{flaky:?}"
    );
    assert!(a.flaky.iter().all(|f| f.closest.is_some()));
    assert!(a
        .flaky
        .windows(2)
        .all(|w| w[0].events() * w[1].runs >= w[1].events() * w[0].runs));
    let moved: BTreeSet<String> = a
        .durations
        .iter()
        .filter(|d| d.moved.is_some())
        .map(|d| d.test.to_string())
        .collect();
    assert!(planted.slower.is_subset(&moved), "{moved:?}");
    assert_eq!(a.window.len(), 30);
    assert_eq!(a.window_tests.len(), planted.tests);
}

#[test]
fn bad_records_are_named_and_left_out_never_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let planted = history_gen::generate(dir.path(), 3, 1);
    let good = fs::read_to_string(&planted.files[2]).unwrap();
    let d = dir.path();
    // A night whose machine crashed mid-write.
    fs::write(d.join("truncated.json"), &good[..good.len() / 2]).unwrap();
    fs::write(d.join("malformed.json"), "{\"run\": {\"jobs\": [}]}}").unwrap();
    fs::write(d.join("empty.json"), "").unwrap();
    fs::write(d.join("not-a-run.json"), "{\"hello\": 1}").unwrap();
    // A newer netdrill: a field this one does not know, and a newer version
    // number: read, with a note.
    let mut newer: serde_json::Value = serde_json::from_str(&good).unwrap();
    newer["format_version"] = 2.into();
    newer["run"]["start_unix"] = 1_900_000_000.0.into();
    newer["run"]["something_new"] = serde_json::json!({"a": 1});
    let with_attempts = newer["run"]["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .position(|j| !j["attempts"].as_array().unwrap().is_empty())
        .unwrap();
    newer["run"]["jobs"][with_attempts]["attempts"][0]["timing_slack"] = "a new shape".into();
    fs::write(d.join("newer-readable.json"), newer.to_string()).unwrap();
    // A newer netdrill whose record this one cannot read.
    fs::write(
        d.join("newer-unreadable.json"),
        "{\"format\": \"netdrill-run-record\", \"format_version\": 9, \"run\": \"elsewhere\"}",
    )
    .unwrap();
    // A job whose verdict a newer netdrill added.
    let mut unknown: serde_json::Value = serde_json::from_str(&good).unwrap();
    unknown["run"]["start_unix"] = 1_900_100_000.0.into();
    unknown["run"]["jobs"][1]["verdict"] = "quarantined".into();
    fs::write(d.join("unknown-verdict.json"), unknown.to_string()).unwrap();
    // NIPA's plain document names tests only by NIPA's names.
    fs::write(
        d.join("nipa-plain.json"),
        "{\"executor\": \"netdrill\", \"start\": \"x\", \"end\": \"y\", \"results\": []}",
    )
    .unwrap();
    // Not records: ignored.
    fs::write(d.join("README.txt"), "not a record").unwrap();
    fs::write(d.join(".20261201T000000Z-x.123.netdrill-tmp"), "{").unwrap();

    let history = read::load_dir(d).unwrap();
    assert_eq!(
        history.runs.len(),
        5,
        "3 good, the newer readable, the unknown verdict"
    );
    let skipped: BTreeSet<&str> = history
        .notes
        .iter()
        .filter(|n| n.skipped)
        .map(|n| n.file.as_str())
        .collect();
    assert_eq!(
        skipped,
        BTreeSet::from([
            "empty.json",
            "malformed.json",
            "newer-unreadable.json",
            "nipa-plain.json",
            "not-a-run.json",
            "truncated.json"
        ])
    );
    let note = |file: &str| {
        history
            .notes
            .iter()
            .filter(|n| n.file == file)
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(
        note("truncated.json").contains("truncated: EOF while parsing"),
        "{}",
        note("truncated.json")
    );
    assert!(
        note("malformed.json").contains("not valid JSON"),
        "{}",
        note("malformed.json")
    );
    assert!(note("newer-unreadable.json").contains("written by a newer netdrill (record format 9"));
    assert!(note("nipa-plain.json").contains("without netdrill's details"));
    assert!(note("newer-readable.json").contains("record format 2 is newer"));
    assert!(note("unknown-verdict.json").contains("verdict `quarantined` is unknown"));
    let newer_run = history
        .runs
        .iter()
        .find(|r| r.file == "newer-readable.json")
        .unwrap();
    assert_eq!(newer_run.jobs.len(), planted.tests);
    let id = &newer["run"]["jobs"][with_attempts]["id"];
    let key = format!(
        "{}/{} {}",
        id["suite"].as_str().unwrap(),
        id["script"].as_str().unwrap(),
        id["ip_version"].as_str().unwrap()
    );
    let job = newer_run.job(&key).unwrap();
    assert_eq!(
        job.attempts[0].timing_slack, None,
        "the part of a new shape is dropped"
    );
    assert!(!job.attempts.is_empty());
    let unknown_run = history
        .runs
        .iter()
        .find(|r| r.file == "unknown-verdict.json")
        .unwrap();
    assert_eq!(unknown_run.jobs.len(), planted.tests - 1);

    // The command names each on stderr, and still writes the page and digest.
    let page = d.join("out/page.html");
    let out = report(&[
        d.to_str().unwrap(),
        "--html",
        page.to_str().unwrap(),
        "--summary",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for file in &skipped {
        assert!(
            stderr.contains(&format!("{file}: left out: ")),
            "{file}: {stderr}"
        );
    }
    assert!(page.is_file());
    let html = fs::read_to_string(&page).unwrap();
    assert!(html.contains("id=\"notes\""));
    for file in &skipped {
        assert!(html.contains(file), "{file} named on the page");
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("## Notes (6 files left out"), "{stdout}");
}

#[test]
fn an_empty_or_missing_history() {
    let dir = tempfile::tempdir().unwrap();
    let out = report(&[dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no run record that can be read"));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("# netdrill: no runs"));
    let page = dir.path().join("page.html");
    let out = report(&[
        dir.path().to_str().unwrap(),
        "--html",
        page.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(fs::read_to_string(&page)
        .unwrap()
        .contains("no run record that can be read"));
    let missing = dir.path().join("no-such-folder");
    let out = report(&[missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a folder of run records"));
}

#[test]
fn the_same_records_give_the_same_page() {
    let one = tempfile::tempdir().unwrap();
    let planted = history_gen::generate(one.path(), 12, 3);
    // The same files, written in the opposite order.
    let two = tempfile::tempdir().unwrap();
    for f in planted.files.iter().rev() {
        fs::copy(f, two.path().join(f.file_name().unwrap())).unwrap();
    }
    let render = |dir: &Path| {
        let h = read::load_dir(dir).unwrap();
        let a = analysis::analyse(&h.runs, Settings::default());
        let opts = dashboard::PageOptions {
            page_dir: Some("/srv/dash".into()),
        };
        (
            dashboard::render(&a, &h.notes, &opts),
            digest::render(&a, &h.notes),
        )
    };
    let (page1, digest1) = render(one.path());
    let (page2, digest2) = render(two.path());
    assert!(page1 == page2, "the pages differ");
    assert_eq!(digest1, digest2);
    // And through the command, twice.
    let a = one.path().join("a.html");
    let b = one.path().join("b.html");
    for p in [&a, &b] {
        let out = report(&[one.path().to_str().unwrap(), "--html", p.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "it has regressions: {out:?}");
    }
    assert!(fs::read(&a).unwrap() == fs::read(&b).unwrap());
}

fn small_history() -> (tempfile::TempDir, history_gen::Planted) {
    let dir = tempfile::tempdir().unwrap();
    let planted = history_gen::generate(dir.path(), 12, 11);
    (dir, planted)
}

#[test]
fn digest_snapshot() {
    let (dir, planted) = small_history();
    let h = read::load_dir(dir.path()).unwrap();
    let a = analysis::analyse(&h.runs, Settings::default());
    let text = digest::render(&a, &h.notes);
    for (test, _) in &planted.regressions {
        assert!(text.contains(&format!("- `{test}`")), "{test}");
    }
    let regressions = text.find("## Regressions").unwrap();
    let fixed = text.find("## Fixed").unwrap();
    let flaky = text.find("## Flaky").unwrap();
    let counts = text.find("## Counts").unwrap();
    assert!(regressions < fixed && fixed < flaky && flaky < counts);
    insta::assert_snapshot!("digest", text);
    // The command: the same text, exit status 1 for the regressions.
    let out = report(&[dir.path().to_str().unwrap(), "--summary"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout), text);
}

#[test]
fn digest_without_regressions_exits_0() {
    let (dir, planted) = small_history();
    // Only the first night: nothing has broken yet.
    for f in &planted.files[1..] {
        fs::remove_file(f).unwrap();
    }
    let out = report(&[dir.path().to_str().unwrap(), "--summary"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("# netdrill: no regressions"));
}

#[test]
fn compare_snapshot() {
    let (dir, planted) = small_history();
    let first = &planted.files[0];
    let last = &planted.files[planted.files.len() - 1];
    let (base, _) = read::load_file(first).unwrap();
    let (new, _) = read::load_file(last).unwrap();
    let h = read::load_dir(dir.path()).unwrap();
    let a = analysis::analyse(&h.runs, Settings::default());
    let known: BTreeSet<&str> = a.flaky.iter().map(|f| f.test).collect();
    let changes = analysis::compare(&base, &new, &known);
    let context = compare::HistoryContext {
        runs: a.window.len(),
        flaky: a
            .flaky
            .iter()
            .map(|f| (f.test.to_string(), f.events(), f.runs))
            .collect(),
    };
    let text = compare::render(&base, &new, &changes, Some(&context));
    insta::assert_snapshot!("compare_with_history", text);
    let new_failures: BTreeSet<String> = changes
        .iter()
        .filter(|c| c.change == analysis::Change::NewFailure)
        .map(|c| c.test.to_string())
        .collect();
    assert_eq!(new_failures, planted.regression_names());
    // The command, with and without the history.
    let out = report(&[
        "--compare",
        first.to_str().unwrap(),
        last.to_str().unwrap(),
        "--history",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout), text);
    let out = report(&["--compare", first.to_str().unwrap(), last.to_str().unwrap()]);
    insta::assert_snapshot!(
        "compare_without_history",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn a_flake_known_in_the_history_is_no_new_failure() {
    let (dir, planted) = small_history();
    let (base, _) = read::load_file(&planted.files[0]).unwrap();
    let (mut new, _) = read::load_file(&planted.files[0]).unwrap();
    let h = read::load_dir(dir.path()).unwrap();
    let a = analysis::analyse(&h.runs, Settings::default());
    let flake = a.flaky[0].test.to_string();
    let fresh = new
        .jobs
        .iter()
        .find(|j| j.verdict == netdrill::model::Verdict::Pass && !planted.flaky.contains(&j.key))
        .unwrap()
        .key
        .clone();
    for j in new
        .jobs
        .iter_mut()
        .filter(|j| j.key == flake || j.key == fresh)
    {
        j.verdict = netdrill::model::Verdict::Fail;
    }
    let known: BTreeSet<&str> = a.flaky.iter().map(|f| f.test).collect();
    let changes = analysis::compare(&base, &new, &known);
    let kinds: Vec<(&str, analysis::Change)> = changes.iter().map(|c| (c.test, c.change)).collect();
    let mut expected = vec![
        (flake.as_str(), analysis::Change::KnownFlake),
        (fresh.as_str(), analysis::Change::NewFailure),
    ];
    expected.sort_by_key(|e| e.1);
    assert_eq!(kinds, expected);
    // Without the history both are new failures.
    let changes = analysis::compare(&base, &new, &BTreeSet::new());
    assert!(changes
        .iter()
        .all(|c| c.change == analysis::Change::NewFailure));
}

#[test]
fn compare_of_a_run_that_cannot_be_read_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    fs::write(&bad, "{").unwrap();
    let out = report(&["--compare", bad.to_str().unwrap(), bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.json: truncated"), "{stderr}");
}

#[test]
fn a_run_recorded_twice_counts_once() {
    let dir = tempfile::tempdir().unwrap();
    let planted = history_gen::generate(dir.path(), 2, 5);
    // The last night's --json-full document beside its record.
    let (run, _) = read::load_file(&planted.files[1]).unwrap();
    let mut record = history_gen::real_run();
    record.start_unix = run.start_unix;
    record.end_unix = run.end_unix;
    record.host.hostname = run.hostname.clone();
    fs::write(
        dir.path().join("zz-results.json"),
        netdrill::report::json::render(&record, true),
    )
    .unwrap();
    let history = read::load_dir(dir.path()).unwrap();
    assert_eq!(history.runs.len(), 2);
    let note = history
        .notes
        .iter()
        .find(|n| n.file == "zz-results.json")
        .unwrap();
    assert!(
        note.skipped && note.message.contains("the same run as"),
        "{note}"
    );
}

#[test]
fn json_full_documents_count_as_records() {
    // What `netdrill run --json FILE --json-full` writes, for the real run.
    let run = history_gen::real_run();
    let doc = netdrill::report::json::render(&run, true);
    let (read_back, warnings) = read::parse("results.json", doc.as_bytes()).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(read_back.jobs.len(), run.jobs.len());
    assert_eq!(read_back.kernel_release, run.host.kernel_release);
    for (a, b) in read_back.jobs.iter().zip({
        let mut jobs = run.jobs.clone();
        jobs.sort_by_key(|j| format!("{}/{} {}", j.id.suite, j.id.script, j.id.ip_version));
        jobs
    }) {
        assert_eq!(a.verdict, b.verdict, "{}", a.key);
        assert_eq!(a.attempts.len(), b.attempts.len(), "{}", a.key);
    }
}
