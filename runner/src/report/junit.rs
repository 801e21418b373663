//! JUnit XML, written with quick-junit.
//!
//! One `<testsuite>` per suite, named after its kselftest collection
//! (`net/packetdrill`); one `<testcase>` per job with `classname` = the script
//! (GitLab shows it as the suite) and `name` = the IP version. The mapping:
//!
//! | verdict | JUnit |
//! |---|---|
//! | pass | no child |
//! | flaky | pass with a `<flakyFailure>` per failed attempt |
//! | fail | `<failure type="timing-error" message="first line">full diagnostic</failure>`, a `<rerunFailure>` per later attempt |
//! | timeout | `<failure type="timeout">` |
//! | crash | `<error type="crash">` |
//! | skip | `<skipped message="reason"/>` |
//! | xfail | `<skipped type="xfail" message="expected failure: reason">` |
//! | xpass | `<failure type="xpass">` |
//!
//! `system-out` holds the job's log (and a GitLab `[[ATTACHMENT|...]]` line per
//! attempt with artifacts, naming its pcap); properties carry the kernel release, the
//! netdrill version, the tolerance and the IP version.

use super::{headline, Options};
use crate::model::{Attempt, AttemptResult, FailureKind, JobRecord, RunRecord, Verdict};
use chrono::{DateTime, FixedOffset};
use quick_junit::{
    FlakyOrRerun, NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestRerun, TestSuite,
};
use std::time::Duration;

/// The JUnit report with the default [`Options`].
pub fn render(run: &RunRecord) -> String {
    render_with(run, &Options::default())
}

/// The JUnit report as XML text.
pub fn render_with(run: &RunRecord, opts: &Options) -> String {
    // quick-junit writes into a String buffer: only an I/O error could fail it.
    build(run, opts).to_string().unwrap_or_default()
}

/// The typed report (quick-junit can also read a report back, for merging shards).
pub fn build(run: &RunRecord, opts: &Options) -> Report {
    let mut report = Report::new("netdrill");
    if let Some(t) = timestamp(run.start_unix) {
        report.set_timestamp(t);
    }
    report.set_time(duration(run.end_unix - run.start_unix));

    let mut suites: Vec<TestSuite> = Vec::new();
    let mut suite_time: Vec<f64> = Vec::new();
    for job in &run.jobs {
        let name = opts.collection(&job.id.suite);
        let index = match suites.iter().position(|s| s.name.as_str() == name) {
            Some(i) => i,
            None => {
                let mut s = TestSuite::new(name);
                if let Some(t) = timestamp(run.start_unix) {
                    s.set_timestamp(t);
                }
                s.add_properties([
                    Property::new("kernel_release", &run.host.kernel_release),
                    Property::new("netdrill_version", &run.host.netdrill_version),
                    Property::new("hostname", &run.host.hostname),
                    Property::new("tolerance_usecs", run.tolerance_usecs.to_string()),
                    Property::new("jobs_at_once", run.jobs_at_once.to_string()),
                ]);
                suites.push(s);
                suite_time.push(0.0);
                suites.len() - 1
            }
        };
        suite_time[index] += job.total_secs();
        suites[index].add_test_case(test_case(run, job));
    }
    for (s, secs) in suites.iter_mut().zip(suite_time) {
        s.set_time(duration(secs));
    }
    report.add_test_suites(suites);
    report
}

fn test_case(run: &RunRecord, job: &JobRecord) -> TestCase {
    let mut case = TestCase::new(job.id.ip_version.as_str(), status(job));
    case.set_classname(job.id.script.as_str());
    case.extra
        .insert("file".into(), job.path.to_string_lossy().as_ref().into());
    // The attempt the testcase stands for: the first one of a failure (later ones
    // are its reruns), the deciding one otherwise.
    let primary = match job.verdict {
        Verdict::Fail | Verdict::Timeout | Verdict::Error => job.attempts.first(),
        _ => job.last_attempt(),
    };
    if let Some(a) = primary {
        case.set_time(duration(a.duration_secs));
        if let Some(t) = timestamp(a.start_unix) {
            case.set_timestamp(t);
        }
        let mut out = a.log.trim_end().to_string();
        // GitLab links files named this way from the test's page.
        for dir in job.attempts.iter().filter_map(|a| a.artifacts.as_ref()) {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&format!(
                "[[ATTACHMENT|{}]]",
                dir.join("packets.pcap").display()
            ));
        }
        if !out.is_empty() {
            case.set_system_out(out);
        }
    }
    case.add_property(Property::new("ip_version", &job.id.ip_version));
    case.add_property(Property::new(
        "tolerance_usecs",
        run.tolerance_usecs.to_string(),
    ));
    case.add_property(Property::new("attempts", job.attempts.len().to_string()));
    if let Some(r) = &job.xfail_reason {
        case.add_property(Property::new("xfail_reason", r));
    }
    if !job.replay_command.is_empty() {
        case.add_property(Property::new("replay", &job.replay_command));
    }
    case
}

/// Failure `type`: the engine's kind, `timeout` or `crash`.
fn failure_type(a: &Attempt) -> String {
    match a.result {
        AttemptResult::Timeout => "timeout".into(),
        AttemptResult::Crash => "crash".into(),
        _ => a.kind.map_or("failure", FailureKind::as_str).into(),
    }
}

/// Failure `message`: the diagnostic's first line, or what happened.
fn failure_message(a: &Attempt) -> String {
    let h = headline(&a.message);
    match a.result {
        AttemptResult::Timeout if h.is_empty() => format!(
            "timed out after {:.0} s",
            if a.duration_secs.is_finite() {
                a.duration_secs
            } else {
                0.0
            }
        ),
        AttemptResult::Timeout => format!("timed out after {:.0} s: {h}", a.duration_secs),
        AttemptResult::Crash if h.is_empty() => "the job process crashed".into(),
        _ => h.to_string(),
    }
}

fn kind_of(a: &Attempt) -> NonSuccessKind {
    if a.result == AttemptResult::Crash {
        NonSuccessKind::Error
    } else {
        NonSuccessKind::Failure
    }
}

/// A failed attempt as a `flakyFailure`/`rerunFailure` element.
fn rerun(a: &Attempt) -> TestRerun {
    let mut r = TestRerun::new(kind_of(a));
    r.set_type(failure_type(a))
        .set_message(failure_message(a))
        .set_time(duration(a.duration_secs));
    if let Some(t) = timestamp(a.start_unix) {
        r.set_timestamp(t);
    }
    let (message, log) = (a.message.trim_end(), a.log.trim_end());
    if !message.is_empty() {
        r.set_stack_trace(message);
    }
    if !log.is_empty() {
        r.set_system_out(log);
    }
    r
}

fn status(job: &JobRecord) -> TestCaseStatus {
    let failed = |a: &&Attempt| a.result != AttemptResult::Pass;
    match job.verdict {
        Verdict::Pass => TestCaseStatus::success(),
        Verdict::Flaky => TestCaseStatus::Success {
            flaky_runs: job.attempts.iter().filter(failed).map(rerun).collect(),
        },
        Verdict::Skip => {
            let mut s = TestCaseStatus::skipped();
            if let Some(r) = &job.skip_reason {
                s.set_message(r.as_str());
            }
            s
        }
        Verdict::Xfail => {
            let mut s = TestCaseStatus::skipped();
            s.set_type("xfail");
            s.set_message(match &job.xfail_reason {
                Some(r) => format!("expected failure: {r}"),
                None => "expected failure".into(),
            });
            if let Some(a) = job.attempts.iter().rfind(failed) {
                let message = a.message.trim_end();
                if !message.is_empty() {
                    s.set_description(message);
                }
            }
            s
        }
        Verdict::Xpass => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_type("xpass");
            s.set_message(match &job.xfail_reason {
                Some(r) => format!("unexpected pass: expected to fail: {r}"),
                None => "unexpected pass".into(),
            });
            s
        }
        Verdict::Fail | Verdict::Timeout | Verdict::Error => {
            let mut tries = job.attempts.iter();
            let first = tries.next();
            let kind = match (job.verdict, first) {
                (Verdict::Error, _) => NonSuccessKind::Error,
                (_, Some(a)) => kind_of(a),
                (_, None) => NonSuccessKind::Failure,
            };
            let mut s = TestCaseStatus::non_success(kind);
            match first {
                Some(a) => {
                    s.set_type(failure_type(a)).set_message(failure_message(a));
                    let message = a.message.trim_end();
                    if !message.is_empty() {
                        s.set_description(message);
                    }
                }
                None => {
                    s.set_type(match job.verdict {
                        Verdict::Timeout => "timeout",
                        Verdict::Error => "crash",
                        _ => "failure",
                    });
                }
            }
            s.add_reruns(tries.map(rerun));
            s.set_rerun_kind(FlakyOrRerun::Rerun);
            s
        }
    }
}

fn duration(secs: f64) -> Duration {
    Duration::try_from_secs_f64(secs).unwrap_or_default()
}

fn timestamp(unix: f64) -> Option<DateTime<FixedOffset>> {
    if !unix.is_finite() {
        return None;
    }
    DateTime::from_timestamp_micros((unix * 1e6).round() as i64).map(|t| t.fixed_offset())
}
