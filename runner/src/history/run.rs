//! A run as a history keeps it: what the dashboard, the digest and the
//! comparison need of a [`crate::model::RunRecord`], read from whichever
//! record shape a netdrill wrote ([`super::read`]).

use crate::model::{AttemptResult, Verdict};
use serde::Deserialize;
use std::path::PathBuf;

/// One run of the history.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    /// The record's file name (`20261201T030000Z-ci-7.json`).
    pub file: String,
    pub start_unix: f64,
    pub end_unix: f64,
    pub hostname: String,
    pub kernel_release: String,
    pub netdrill_version: String,
    /// The suites' revisions (`git describe`), when the record has them.
    pub suite_revision: Option<String>,
    pub tolerance_usecs: u64,
    /// The signal that stopped the run (`SIGINT`...), when one did.
    pub interrupted: Option<String>,
    /// Every job, by [`JobRun::key`].
    pub jobs: Vec<JobRun>,
}

impl Run {
    /// Seconds from the run's start to its end.
    pub fn wall_secs(&self) -> f64 {
        (self.end_unix - self.start_unix).max(0.0)
    }

    /// The job named `key`, if the run has it.
    pub fn job(&self, key: &str) -> Option<&JobRun> {
        self.jobs
            .binary_search_by(|j| j.key.as_str().cmp(key))
            .ok()
            .map(|i| &self.jobs[i])
    }

    /// How many jobs ended with `verdict`.
    pub fn count(&self, verdict: Verdict) -> usize {
        self.jobs.iter().filter(|j| j.verdict == verdict).count()
    }
}

/// One job (script x IP version) of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct JobRun {
    /// `suite/script.pkt ipv4`: how the history names a test.
    pub key: String,
    pub suite: String,
    pub script: String,
    pub ip_version: String,
    pub verdict: Verdict,
    pub skip_reason: Option<String>,
    pub xfail_reason: Option<String>,
    pub replay_command: String,
    pub attempts: Vec<AttemptRun>,
}

impl JobRun {
    /// The attempt that decided the verdict (the last).
    pub fn last_attempt(&self) -> Option<&AttemptRun> {
        self.attempts.last()
    }

    /// The first attempt that did not pass (the diagnostic a report shows).
    pub fn first_failure(&self) -> Option<&AttemptRun> {
        self.attempts
            .iter()
            .find(|a| a.result != AttemptResult::Pass)
    }

    /// Seconds over every attempt, when it ran.
    pub fn secs(&self) -> Option<f64> {
        (!self.attempts.is_empty()).then(|| self.attempts.iter().map(|a| a.duration_secs).sum())
    }

    /// The attempt's closest call with a timing failure, over every attempt.
    pub fn tightest_slack(&self) -> Option<TimingSlack> {
        self.attempts
            .iter()
            .filter_map(|a| a.timing_slack)
            .reduce(TimingSlack::tighter)
    }
}

/// One attempt of a job.
#[derive(Clone, Debug, PartialEq)]
pub struct AttemptRun {
    pub number: u32,
    pub result: AttemptResult,
    pub start_unix: f64,
    pub duration_secs: f64,
    /// The script line the failure is about.
    pub line: Option<u32>,
    /// The failure's kind, as its word (`timing-error`, `timeout`...; a newer
    /// netdrill's word is kept as it is).
    pub kind: Option<String>,
    /// The diagnostic (empty on pass).
    pub message: String,
    /// The script packet against the packet the kernel sent.
    pub mismatch: Option<PacketMismatch>,
    /// Where this attempt's artifacts are (log, pcap, replay).
    pub artifacts: Option<PathBuf>,
    pub timing_slack: Option<TimingSlack>,
    /// Why this failure is a skip (a kernel feature is missing), when it is.
    pub unsupported: Option<String>,
}

impl AttemptRun {
    /// The diagnostic's first line.
    pub fn headline(&self) -> &str {
        crate::report::headline(&self.message)
    }

    /// `expected 1.123623, actual 1.163846 (time)`, from the typed mismatch.
    pub fn expected_vs_actual(&self) -> Option<String> {
        self.mismatch
            .as_ref()
            .map(|m| format!("expected {}, actual {} ({})", m.expected, m.actual, m.field))
    }
}

/// A Unix time as `2026-12-01 03:00 UTC`.
pub fn utc_minute(unix: f64) -> String {
    let secs = if unix.is_finite() {
        unix.floor() as i64
    } else {
        0
    };
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .format("%Y-%m-%d %H:%M UTC")
        .to_string()
}

/// A packet that was not what the script said, as a record holds it (the
/// engine's [`netdrill_engine::outcome::Mismatch`], every field optional).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct PacketMismatch {
    pub field: String,
    pub expected: String,
    pub actual: String,
    pub script_packet: String,
    pub actual_packet: Option<String>,
}

/// How close an attempt came to a timing failure (the runner's `timing_slack`
/// of an attempt: `{ line, margin_usecs, tolerance_usecs }`): the engine's
/// own type, read back from the record.
pub use netdrill_engine::outcome::TimingSlack;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tighter_slack_is_the_smaller_share_of_its_tolerance() {
        let s = |line, margin_usecs, tolerance_usecs| TimingSlack {
            line,
            margin_usecs,
            tolerance_usecs,
        };
        assert_eq!(s(1, 1000, 4000).tighter(s(2, 20_000, 100_000)).line, 2);
        assert_eq!(s(1, -5, 4000).tighter(s(2, 0, 4000)).line, 1);
        assert_eq!(s(1, 700, 4000).tighter(s(2, 700, 4000)).line, 1);
        assert_eq!(
            s(12, 300, 4000).describe(),
            "line 12: 0.300 ms of 4.000 ms left (8%)"
        );
        assert_eq!(
            s(26, -3439, 4000).describe(),
            "line 26: missed by 3.439 ms (tolerance 4.000 ms)"
        );
    }
}
