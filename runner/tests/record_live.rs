//! `netdrill run --record DIR` on the smoke suite, twice: two read-only
//! records of every job with the suite's git revision, which `netdrill report`
//! reads back (a page, a digest without regressions, and a comparison of the
//! two runs). Live: the jobs run against the kernel.

mod common;

use common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

#[test]
fn recorded_runs_make_a_history_report_reads() {
    let before = HostSnapshot::take();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let history = tmp.path().join("history");
    let tag = new_tag("record");
    for _ in 0..2 {
        let out = netdrill(
            &[
                "run",
                "--no-progress",
                "-q",
                "suites/smoke",
                "--record",
                history.to_str().unwrap(),
            ],
            &tag,
            tmp.path(),
        )
        .current_dir(repo)
        .output()
        .unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
    }
    assert_nothing_left(&tag, &before);
    let mut records: Vec<_> = std::fs::read_dir(&history)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    records.sort();
    assert_eq!(records.len(), 2, "{records:?}");
    let scripts = std::fs::read_dir(repo.join("suites/smoke"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "pkt"))
        })
        .count();
    for r in &records {
        let mode = std::fs::metadata(r).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o444, "{r:?} is read-only");
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(r).unwrap()).unwrap();
        assert_eq!(doc["format"], "netdrill-run-record");
        assert_eq!(doc["run"]["jobs"].as_array().unwrap().len(), 2 * scripts);
        let release = nix::sys::utsname::uname().unwrap();
        assert_eq!(
            doc["kernel_release"],
            release.release().to_string_lossy().as_ref()
        );
        assert!(doc["run"]["start_unix"].as_f64().unwrap() > 0.0);
        // The suite is in this repository's work tree: its revision is git's.
        let git = Command::new("git")
            .args(["describe", "--always", "--tags", "--dirty"])
            .current_dir(repo.join("suites/smoke"))
            .output();
        if let Some(git) = git.ok().filter(|o| o.status.success()) {
            assert_eq!(
                doc["suites"][0]["revision"],
                String::from_utf8_lossy(&git.stdout).trim()
            );
        }
    }
    let page = tmp.path().join("page.html");
    let out = Command::new(env!("CARGO_BIN_EXE_netdrill"))
        .arg("report")
        .arg(&history)
        .arg("--html")
        .arg(&page)
        .arg("--summary")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let digest = String::from_utf8_lossy(&out.stdout);
    assert!(digest.starts_with("# netdrill: no regressions"), "{digest}");
    // The counts end with the total: every job of the latest run.
    assert!(
        digest.contains(&format!(" | {} |\n", 2 * scripts)),
        "{digest}"
    );
    let html = std::fs::read_to_string(&page).unwrap();
    assert_eq!(
        html.matches("<td class=\"c-pass\"><a").count(),
        2 * 2 * scripts
    );
    let out = Command::new(env!("CARGO_BIN_EXE_netdrill"))
        .arg("report")
        .arg("--compare")
        .args(&records)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("# netdrill compare: 0 changed"));
}
