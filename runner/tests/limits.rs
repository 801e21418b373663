//! Per-job caps (suite.toml's `[limits]`): a job over its memory cap, its
//! `/tmp` cap or its process cap fails with that reason, and the jobs beside
//! it run on and pass.

mod common;

use common::*;
use netdrill::discover::{discover, DiscoverOptions};
use netdrill::driver::{self, ScheduleSettings};
use netdrill::model::{FailureKind, LimitKind, Verdict};
use netdrill::signals::NoSignals;
use netdrill_engine::IpVersion;
use std::time::Duration;

const BODY: &str = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n";

/// A Python that does not change directory on start (a pyenv shim does,
/// and the script's folder may be under the job's own `/tmp`).
fn python() -> &'static str {
    if std::path::Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

#[test]
fn a_job_over_a_cap_fails_with_that_reason_and_its_neighbours_run_on() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("caps");
    let py = python();
    let hog = format!("{py} -c 'import time; x = bytearray(40 << 20); time.sleep(10)'");
    // Two processes of 40 MiB each: under the per-process cap, over the
    // job's 64 MiB together.
    write(&root, "memory/suite.toml", "[limits]\nmemory_mib = 64\n");
    write(
        &root,
        "memory/hog.pkt",
        &format!("{BODY}+0 `{hog} & {hog}`\n"),
    );
    write(&root, "tmp/suite.toml", "[limits]\ntmp_mib = 1\n");
    write(
        &root,
        "tmp/fill.pkt",
        &format!("{BODY}+0 `dd if=/dev/zero of=/tmp/fill bs=64k count=64 2>/dev/null`\n"),
    );
    // Below 300 the watch holds the cap; from 300 the kernel does.
    write(&root, "fork/suite.toml", "[limits]\nprocesses = 20\n");
    write(
        &root,
        "fork/many.pkt",
        &format!("{BODY}+0 `for i in $(seq 60); do sleep 10 & done; wait`\n"),
    );
    write(&root, "pidmax/suite.toml", "[limits]\nprocesses = 300\n");
    write(
        &root,
        "pidmax/many.pkt",
        &format!("{BODY}+0 `for i in $(seq 400); do sleep 10 & done; wait`\n"),
    );
    write(&root, "fine/a.pkt", BODY);
    write(
        &root,
        "fine/b.pkt",
        &format!("{BODY}+0 `echo x > /tmp/x && {py} -c 'pass'`\n"),
    );
    let before = HostSnapshot::take();
    let tag = new_tag("limits");
    std::env::set_var(TAG_VAR, &tag);
    let options = DiscoverOptions {
        ip_versions: Some(vec![IpVersion::Ipv4]),
        timeout_override: Some(Some(Duration::from_secs(30))),
        ..DiscoverOptions::default()
    };
    let jobs = discover(std::slice::from_ref(&root), &options).unwrap();
    let settings = ScheduleSettings {
        job_exe: std::path::PathBuf::from(BIN),
        durations: None,
        ..ScheduleSettings::default()
    };
    let record = driver::run_with_signals(&jobs, &settings, &mut NoSignals, &mut |_| {}).unwrap();
    std::env::remove_var(TAG_VAR);
    let stdout = format!("{:#?}", record.jobs);
    let job = |suite: &str| {
        record
            .jobs
            .iter()
            .find(|j| j.id.suite == suite)
            .unwrap_or_else(|| panic!("no {suite}: {stdout}"))
    };
    for (suite, limit, words) in [
        (
            "memory",
            LimitKind::Memory,
            "went over its memory cap (64 MiB)",
        ),
        (
            "tmp",
            LimitKind::Tmp,
            "went over the size cap of its /tmp (1 MiB)",
        ),
        (
            "fork",
            LimitKind::Processes,
            "went over its process cap (20 processes",
        ),
        (
            "pidmax",
            LimitKind::Processes,
            "went over its process cap (300 processes",
        ),
    ] {
        let attempt = &job(suite).attempts[0];
        assert_eq!(job(suite).verdict, Verdict::Fail, "{suite}: {attempt:?}");
        assert_eq!(
            attempt.kind,
            Some(FailureKind::OverLimit(limit)),
            "{suite}: {attempt:?}"
        );
        assert!(
            attempt.message.contains(words),
            "{suite}: {}",
            attempt.message
        );
        assert!(
            attempt.duration_secs < 9.0,
            "{suite} was not stopped: {}",
            attempt.duration_secs
        );
    }
    let fine: Vec<_> = record
        .jobs
        .iter()
        .filter(|j| j.id.suite == "fine")
        .collect();
    assert_eq!(fine.len(), 2);
    assert!(fine.iter().all(|j| j.verdict == Verdict::Pass), "{stdout}");
    assert_nothing_left(&tag, &before);
}
