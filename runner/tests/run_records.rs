//! A run over scripts whose verdict needs no network (they do not parse): the
//! records, events, retries, ordering and the plain output.

mod common;

use common::*;
use netdrill::discover::{discover, DiscoverOptions};
use netdrill::driver::{self, ScheduleSettings};
use netdrill::model::{AttemptResult, FailureKind, RunnerEvent, Verdict};
use netdrill_engine::outcome::FailureKind as EngineFailureKind;
use std::path::Path;
use std::time::Duration;

/// Scripts that fail before any packet: (file, line of the error).
const BROKEN: &[(&str, &str, u32)] = &[
    (
        "cmd_no_time.pkt",
        "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n`echo hi`\n+0 close(3) = 0\n",
        3,
    ),
    (
        "flags_bad.pkt",
        "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 < X 0:0(0) win 32792\n",
        2,
    ),
    ("noeol.pkt", "// no newline at the end", 1),
];

fn suite(root: &Path) -> std::path::PathBuf {
    let dir = root.join("broken");
    for (name, text, _) in BROKEN {
        write(&dir, name, text);
    }
    dir
}

fn settings(state: &Path) -> ScheduleSettings {
    ScheduleSettings {
        jobs_at_once: 3,
        start_interval: Duration::from_millis(5),
        job_exe: BIN.into(),
        durations: Some(state.join("durations.json")),
        ..ScheduleSettings::default()
    }
}

#[test]
fn failing_scripts_give_fail_records() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = suite(tmp.path());
    let jobs = discover(&[dir], &DiscoverOptions::default()).unwrap();
    assert_eq!(jobs.len(), 6);
    let mut events = Vec::new();
    let record = driver::run(&jobs, &settings(tmp.path()), &mut |e| {
        events.push(e.clone())
    })
    .unwrap();

    assert_eq!(record.interrupted, None);
    assert!(!record.success());
    assert_eq!(record.jobs.len(), 6);
    assert_eq!(
        record.count(Verdict::Fail),
        6,
        "{:#?}",
        record
            .jobs
            .iter()
            .map(|j| (j.verdict, &j.attempts[0].message, &j.attempts[0].log))
            .collect::<Vec<_>>()
    );
    // In discovery order, whatever order they finished in.
    let names: Vec<String> = record.jobs.iter().map(|j| j.id.display_name()).collect();
    assert_eq!(
        names,
        [
            "cmd_no_time.pkt ipv4",
            "cmd_no_time.pkt ipv6",
            "flags_bad.pkt ipv4",
            "flags_bad.pkt ipv6",
            "noeol.pkt ipv4",
            "noeol.pkt ipv6"
        ]
    );
    for j in &record.jobs {
        assert_eq!(j.id.suite, "broken");
        assert_eq!(j.attempts.len(), 1);
        let a = &j.attempts[0];
        assert_eq!(a.result, AttemptResult::Fail, "{a:?}");
        assert!(a.kind.is_some());
        // packetdrill names the script as the kernel runner passes it: by file name.
        assert!(a.message.starts_with(&j.id.script), "{}", a.message);
        assert!(a.cpu_secs.is_some() && a.max_rss_kib.is_some());
        assert_eq!(
            j.args[0],
            format!("--ip_version={}", j.id.ip_version),
            "kernel runner arguments"
        );
        assert!(j
            .replay_command
            .contains(&format!("--ip-versions {}", j.id.ip_version)));
    }
    // Events: one start, one finish per job, between RunStarted and RunFinished.
    assert!(matches!(
        events.first(),
        Some(RunnerEvent::RunStarted {
            total_jobs: 6,
            jobs_at_once: 3,
            ..
        })
    ));
    assert!(matches!(
        events.last(),
        Some(RunnerEvent::RunFinished { .. })
    ));
    let started = events
        .iter()
        .filter(|e| matches!(e, RunnerEvent::JobStarted { .. }))
        .count();
    let finished = events
        .iter()
        .filter(|e| matches!(e, RunnerEvent::JobFinished { .. }))
        .count();
    assert_eq!((started, finished), (6, 6));
    // The durations of this run are kept for the next one.
    let saved = std::fs::read_to_string(tmp.path().join("durations.json")).unwrap();
    assert!(saved.contains("broken/noeol.pkt ipv6"), "{saved}");
}

#[test]
fn failures_name_the_script_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = suite(tmp.path());
    let jobs = discover(&[dir], &DiscoverOptions::default()).unwrap();
    let record = driver::run(&jobs, &settings(tmp.path()), &mut |_| {}).unwrap();
    for j in &record.jobs {
        let (_, _, line) = BROKEN.iter().find(|(n, _, _)| *n == j.id.script).unwrap();
        let a = j.last_attempt().unwrap();
        assert_eq!(
            a.line,
            Some(*line),
            "{}: {}",
            j.id.display_name(),
            a.message
        );
        assert!(
            a.message.starts_with(&format!("{}:{line}: ", j.id.script)),
            "{}",
            a.message
        );
        assert!(
            matches!(
                a.kind,
                Some(FailureKind::Engine(
                    EngineFailureKind::Parse | EngineFailureKind::Semantic
                ))
            ),
            "{:?}",
            a.kind
        );
    }
}

#[test]
fn retries_keep_every_attempt() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = suite(tmp.path());
    let opts = DiscoverOptions {
        filters: vec![netdrill::discover::Filter::parse("noeol.pkt ipv4").unwrap()],
        ..DiscoverOptions::default()
    };
    let jobs = discover(&[dir], &opts).unwrap();
    assert_eq!(jobs.len(), 1);
    let mut s = settings(tmp.path());
    s.retries = 2;
    let mut retried = Vec::new();
    let record = driver::run(&jobs, &s, &mut |e| {
        if let RunnerEvent::AttemptFailed { attempt, .. } = e {
            retried.push(attempt.number);
        }
    })
    .unwrap();
    assert_eq!(retried, [1, 2]);
    let j = &record.jobs[0];
    assert_eq!(j.verdict, Verdict::Fail);
    let numbers: Vec<u32> = j.attempts.iter().map(|a| a.number).collect();
    assert_eq!(numbers, [1, 2, 3]);
}

#[test]
fn longest_known_job_starts_first() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = suite(tmp.path());
    let opts = DiscoverOptions {
        filters: vec![netdrill::discover::Filter::parse("ipv4").unwrap()],
        ..DiscoverOptions::default()
    };
    let jobs = discover(&[dir], &opts).unwrap();
    std::fs::write(
        tmp.path().join("durations.json"),
        r#"{"jobs": {"broken/cmd_no_time.pkt ipv4": 1.0, "broken/noeol.pkt ipv4": 9.0}}"#,
    )
    .unwrap();
    let mut order = Vec::new();
    let mut s = settings(tmp.path());
    s.jobs_at_once = 1;
    driver::run(&jobs, &s, &mut |e| {
        if let RunnerEvent::JobStarted { id, .. } = e {
            order.push(id.script.clone());
        }
    })
    .unwrap();
    // Never seen before first, then longest first.
    assert_eq!(order, ["flags_bad.pkt", "noeol.pkt", "cmd_no_time.pkt"]);
}

#[test]
fn plain_output_and_exit_status() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = suite(tmp.path());
    let out = netdrill(
        &["run", dir.to_str().unwrap(), "--no-progress", "-j", "2"],
        &new_tag("plain"),
        tmp.path(),
    )
    .output()
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (name, _, _) in BROKEN {
        for v in ["ipv4", "ipv6"] {
            assert!(
                stdout
                    .lines()
                    .any(|l| l.starts_with(&format!("FAIL {name} {v} ("))),
                "{stdout}"
            );
        }
    }
    assert!(stdout.contains("\nFailures:\n"), "{stdout}");
    assert!(
        stdout.ends_with("\n0 passed, 6 failed, 0 skipped\n"),
        "{stdout}"
    );
}
