//! The run stays responsive whatever its jobs print: a job's timeout and a
//! Ctrl-C are acted on within a second, while jobs flood the result pipe
//! with lines, flood their output, or replay a script of a million events
//! (each a result line). This is a correctness bound (the run's loop reads a
//! bounded amount per round and parses with a cursor), not a speed target.

mod common;

use common::*;
use netdrill::discover::{discover, DiscoverOptions};
use netdrill::driver::{self, ScheduleSettings};
use netdrill::model::{RunnerEvent, StopSignal, Verdict};
use netdrill::signals::{NoSignals, SignalSource};
use netdrill_engine::IpVersion;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How late the run may act on a timeout or a signal.
const BOUND: Duration = Duration::from_secs(1);

/// The flooding jobs: a job executable that stands in for the job child of
/// `results.pkt` (result lines without end) and `output.pkt` (output without
/// end), and the real job child for `million.pkt`, a script of a million
/// events.
fn flooding_suite(tmp: &Path, tag: &str) -> (PathBuf, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tmp.join("flood");
    let body = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n";
    write(&dir, "results.pkt", body);
    write(&dir, "output.pkt", body);
    let line = "+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0\n";
    write(
        &dir,
        "million.pkt",
        &format!("{body}{}+0 close(3) = 0\n", line.repeat(1_000_000)),
    );
    let exe = write(
        tmp,
        "job-exe.sh",
        &format!(
            "#!/bin/bash\nexport {TAG_VAR}='{tag}'\ncase \"$5\" in\n\
             *results.pkt*) exec yes '{{\"event\":\"line\",\"line\":7}}' >/dev/fd/\"$3\" ;;\n\
             *output.pkt*) exec yes 'all work and no play' ;;\n\
             esac\nexec '{BIN}' \"$@\"\n"
        ),
    );
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    (dir, exe)
}

/// Run the suite with `timeout` per job, noting when each job started and
/// finished and when the run saw a stop signal.
fn run(
    dir: &Path,
    exe: &Path,
    timeout: Duration,
    signals: &mut dyn SignalSource,
) -> (netdrill::model::RunRecord, Vec<(String, Instant)>) {
    let options = DiscoverOptions {
        ip_versions: Some(vec![IpVersion::Ipv4]),
        timeout_override: Some(Some(timeout)),
        // A million events take more than the default memory cap.
        limits: netdrill::suite::LimitsToml {
            memory_mib: Some(8192),
            ..Default::default()
        },
        ..DiscoverOptions::default()
    };
    let jobs = discover(&[dir.to_path_buf()], &options).unwrap();
    let settings = ScheduleSettings {
        jobs_at_once: 3,
        // SIGTERM is enough for these jobs; the grace only bounds the rest.
        grace: Duration::from_millis(500),
        job_exe: exe.to_path_buf(),
        durations: None,
        ..ScheduleSettings::default()
    };
    let mut seen = Vec::new();
    let record = driver::run_with_signals(&jobs, &settings, signals, &mut |ev| {
        let what = match ev {
            RunnerEvent::JobStarted { id, .. } => format!("start {}", id.script),
            RunnerEvent::JobFinished { record } => format!("end {}", record.id.script),
            RunnerEvent::Interrupted => "interrupted".to_string(),
            _ => return,
        };
        seen.push((what, Instant::now()));
    })
    .unwrap();
    (record, seen)
}

fn at(seen: &[(String, Instant)], what: &str) -> Instant {
    seen.iter()
        .find(|(w, _)| w == what)
        .unwrap_or_else(|| panic!("no {what} in {seen:?}"))
        .1
}

#[test]
fn timeouts_act_within_a_second_whatever_jobs_print() {
    let tmp = tempfile::tempdir().unwrap();
    let tag = new_tag("resp-timeout");
    let before = HostSnapshot::take();
    let (dir, exe) = flooding_suite(tmp.path(), &tag);
    let timeout = Duration::from_secs(2);
    let (record, seen) = run(&dir, &exe, timeout, &mut NoSignals);
    for script in ["results.pkt", "output.pkt", "million.pkt"] {
        let job = record.jobs.iter().find(|j| j.id.script == script).unwrap();
        let took = at(&seen, &format!("end {script}")) - at(&seen, &format!("start {script}"));
        if script != "million.pkt" || job.verdict == Verdict::Timeout {
            assert_eq!(
                job.verdict,
                Verdict::Timeout,
                "{script}: {:?}",
                job.attempts
            );
            assert!(
                took <= timeout + BOUND,
                "{script}: stopped {took:?} after its start, timeout {timeout:?}"
            );
        }
    }
    assert_nothing_left(&tag, &before);
}

/// Ctrl-C at a set time.
struct CtrlCAt(Instant, bool);

impl SignalSource for CtrlCAt {
    fn fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        None
    }

    fn take(&mut self) -> Vec<StopSignal> {
        if self.1 || Instant::now() < self.0 {
            return vec![];
        }
        self.1 = true;
        vec![StopSignal::Interrupt]
    }
}

#[test]
fn ctrl_c_acts_within_a_second_whatever_jobs_print() {
    let tmp = tempfile::tempdir().unwrap();
    let tag = new_tag("resp-ctrl-c");
    let before = HostSnapshot::take();
    let (dir, exe) = flooding_suite(tmp.path(), &tag);
    let started = Instant::now();
    let ctrl_c = started + Duration::from_millis(1500);
    let mut signals = CtrlCAt(ctrl_c, false);
    let (record, seen) = run(&dir, &exe, Duration::from_secs(60), &mut signals);
    let ended = Instant::now();
    assert_eq!(record.interrupted, Some(StopSignal::Interrupt));
    let acted = at(&seen, "interrupted");
    assert!(
        acted.saturating_duration_since(ctrl_c) <= BOUND,
        "Ctrl-C seen {:?} late",
        acted - ctrl_c
    );
    // Stopped: SIGTERM, which these jobs die of, then the reports.
    assert!(
        ended - ctrl_c <= BOUND + Duration::from_millis(500),
        "the run ended {:?} after Ctrl-C",
        ended - ctrl_c
    );
    assert_nothing_left(&tag, &before);
}
