//! NIPA's contest result JSON (one run file, `results-<cookie>.json`), and the same
//! document with every attempt (`--json-full`).
//!
//! A NIPA test case is one kselftest program, so one script here: `test` is the
//! namified script name (`tcp-inq-client-pkt`), `group` is `selftests-` plus the
//! namified collection (`selftests-net-packetdrill`), and the nested `results` hold
//! one entry per IP version. `result` is the first attempt's outcome and `retry`
//! the retry's, as NIPA records them; expected failures count as `pass` (NIPA reads
//! `ok ... # XFAIL` as a pass), unexpected passes as `fail`.
//!
//! A test with kernel splats ([`crate::kernel_log`]) logged while one of its jobs
//! ran has `crashes` (their fingerprints) and counts as `fail`, as NIPA's
//! `vmksft-p.py` counts a test that crashed the kernel. `link` (with
//! [`Options::link`]) is the run's URL, and for a test the URL of its newest
//! artifacts folder when it has one inside the report's folder, else the run's.
//! Times are seconds rounded to the microsecond.
//!
//! A run that did not finish says so: `incomplete: true` (and `interrupted`:
//! the signal's name, when one stopped it), and its tests that did not run are
//! `fail` with `not_run: true`, never left out. NIPA ignores fields it does not
//! know.
//!
//! With `full`, each nested entry also carries netdrill's own verdict, reasons, the
//! replay command and every attempt with its timing and diagnostic; the run carries
//! the host facts and the kernel splats; a shard's (`--partition`) says which
//! shard it is and lists the whole run's jobs, and a merged run's (`netdrill
//! merge`) has each shard's host facts.

use super::{namify, script_groups, Options, ScriptGroup};
use crate::model::{
    Attempt, AttemptResult, FailureKind, JobRecord, KernelSplat, RunRecord, Verdict,
};
use crate::partition::{ShardFacts, ShardPlan};
use chrono::{DateTime, Timelike, Utc};
use netdrill_engine::outcome::TimingSlack;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// A NIPA result: `pass`, `fail`, `skip` (and `warn`, which NIPA's UI accepts).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NipaResult {
    Pass,
    Fail,
    Skip,
    Warn,
}

impl NipaResult {
    fn rank(self) -> u8 {
        match self {
            NipaResult::Pass => 0,
            NipaResult::Skip => 1,
            NipaResult::Warn => 2,
            NipaResult::Fail => 3,
        }
    }
}

/// One run file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NipaRun {
    pub executor: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// UTC, as Python's `str(datetime)` prints it: `2025-08-01 00:10:03.123456+00:00`.
    pub start: String,
    pub end: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// Some tests did not run: the run was stopped, or this file was written
    /// while it went on (and the run may have died since).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub incomplete: bool,
    /// The signal that stopped the run (`SIGINT`, `SIGTERM`, `SIGHUP`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<String>,
    pub results: Vec<NipaTest>,
    /// `--json-full` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netdrill: Option<RunDetails>,
}

/// One test case: a script.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NipaTest {
    pub test: String,
    pub group: String,
    pub result: NipaResult,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// Seconds of the first attempts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<NipaResult>,
    /// Fingerprints of the kernel splats logged while its jobs ran.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub crashes: Vec<String>,
    /// A job of it did not run.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not_run: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub results: Vec<NipaSubtest>,
}

/// One IP version of a script.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NipaSubtest {
    pub test: String,
    pub result: NipaResult,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<NipaResult>,
    /// `--json-full` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netdrill: Option<JobDetails>,
}

/// Run facts (`--json-full`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunDetails {
    pub hostname: String,
    pub kernel_release: String,
    pub netdrill_version: String,
    /// What the kernel probe found (the host facts' `kernel_features`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_features: Option<crate::kernel_features::KernelFeatures>,
    pub jobs_at_once: usize,
    pub tolerance_usecs: u64,
    pub interrupted: bool,
    pub start_unix: f64,
    pub end_unix: f64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kernel_splats: Vec<KernelSplat>,
    /// `--partition`: which shard this run is, and the whole run's jobs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<ShardPlan>,
    /// `netdrill merge`: each shard's facts (or why it is missing).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shards: Vec<ShardFacts>,
    /// The VM of `--kernel`, when the run went in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vm: Option<crate::model::VmRun>,
}

/// One job in full (`--json-full`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobDetails {
    pub verdict: Verdict,
    pub script: String,
    pub suite: String,
    pub path: PathBuf,
    pub args: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xfail_reason: Option<String>,
    pub replay_command: String,
    pub attempts: Vec<AttemptDetails>,
}

/// One attempt in full (`--json-full`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttemptDetails {
    pub number: u32,
    pub result: AttemptResult,
    pub start: String,
    pub start_unix: f64,
    pub duration_secs: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_secs: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rss_kib: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<FailureKind>,
    /// The checked event with the least margin for its tolerance:
    /// `{"line", "margin_usecs", "tolerance_usecs"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timing_slack: Option<TimingSlack>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub log: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifacts: Option<PathBuf>,
}

/// The NIPA document with the default [`Options`], pretty-printed.
pub fn render(run: &RunRecord, full: bool) -> String {
    render_with(run, full, &Options::default())
}

/// The NIPA document, pretty-printed, ending with a newline.
pub fn render_with(run: &RunRecord, full: bool, opts: &Options) -> String {
    let doc = build(run, full, opts);
    // Serialising plain structs of strings and numbers cannot fail; non-finite
    // floats become `null`.
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

/// Read a document back.
pub fn parse(text: &str) -> Result<NipaRun, serde_json::Error> {
    serde_json::from_str(text)
}

/// The typed document.
pub fn build(run: &RunRecord, full: bool, opts: &Options) -> NipaRun {
    NipaRun {
        executor: opts.executor.clone(),
        branch: opts.branch.clone(),
        start: python_utc(run.start_unix),
        end: python_utc(run.end_unix),
        link: opts.link.clone(),
        incomplete: !run.complete(),
        interrupted: run.interrupted.map(|s| s.name().to_string()),
        results: script_groups(run)
            .iter()
            .map(|g| test_case(run, g, full, opts))
            .collect(),
        netdrill: full.then(|| RunDetails {
            hostname: run.host.hostname.clone(),
            kernel_release: run.host.kernel_release.clone(),
            netdrill_version: run.host.netdrill_version.clone(),
            kernel_features: run.host.kernel_features.clone(),
            jobs_at_once: run.jobs_at_once,
            tolerance_usecs: run.tolerance_usecs,
            interrupted: run.interrupted.is_some(),
            start_unix: micros(run.start_unix),
            end_unix: micros(run.end_unix),
            kernel_splats: run.kernel_splats.clone(),
            partition: opts.shard.clone(),
            shards: opts.shards.clone(),
            vm: run.vm.clone(),
        }),
    }
}

/// Seconds rounded to the microsecond (what NIPA and Python's datetime keep).
pub fn micros(secs: f64) -> f64 {
    if secs.is_finite() {
        (secs * 1e6).round() / 1e6
    } else {
        0.0
    }
}

/// The URL of a test: its newest artifacts folder, when it lies inside the
/// folder links start from, else the run's.
fn test_link(g: &ScriptGroup<'_>, opts: &Options) -> Option<String> {
    let base = opts.link.as_deref()?.trim_end_matches('/');
    let folder = g
        .jobs
        .iter()
        .flat_map(|j| j.attempts.iter())
        .filter_map(|a| a.artifacts.as_deref())
        .next_back()
        .and_then(|dir| {
            let root = opts.link_root.as_deref()?;
            let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
            let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
            // The script's folder: its IP versions and attempts are below it.
            let script_dir = dir.parent()?.parent()?.to_path_buf();
            script_dir.strip_prefix(&root).ok().map(|p| p.to_path_buf())
        });
    Some(match folder {
        Some(rel) => {
            let parts: Vec<String> = rel
                .components()
                .map(|c| percent_encode(&c.as_os_str().to_string_lossy()))
                .collect();
            format!("{base}/{}/", parts.join("/"))
        }
        None => base.to_string(),
    })
}

/// A path component for a URL: unreserved characters as they are, others as
/// `%XX`.
fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn test_case(run: &RunRecord, g: &ScriptGroup<'_>, full: bool, opts: &Options) -> NipaTest {
    let subtests: Vec<NipaSubtest> = g.jobs.iter().map(|j| subtest(j, full)).collect();
    let worst = |it: &mut dyn Iterator<Item = NipaResult>| it.max_by_key(|r| r.rank());
    let all_skip = subtests.iter().all(|s| s.result == NipaResult::Skip);
    let result = if all_skip {
        NipaResult::Skip
    } else {
        // A skipped subtest does not turn a script that ran into a skip.
        worst(
            &mut subtests
                .iter()
                .map(|s| s.result)
                .filter(|r| *r != NipaResult::Skip),
        )
        .unwrap_or(NipaResult::Skip)
    };
    // NIPA retries the whole program: what each subtest ended with on its retry, or
    // its first result when it needed none.
    let retry = if subtests.iter().any(|s| s.retry.is_some()) {
        worst(
            &mut subtests
                .iter()
                .map(|s| s.retry.unwrap_or(s.result))
                .filter(|r| *r != NipaResult::Skip),
        )
    } else {
        None
    };
    let first_secs: f64 = g
        .jobs
        .iter()
        .filter_map(|j| j.attempts.first())
        .map(|a| a.duration_secs)
        .sum();
    let mut crashes: Vec<String> = Vec::new();
    for job in &g.jobs {
        for splat in run.splats_during(job) {
            let print = if splat.fingerprint.is_empty() {
                // NIPA's word for a crash whose stack it could not read.
                "crash-extract-fail".to_string()
            } else {
                splat.fingerprint.clone()
            };
            if !crashes.contains(&print) {
                crashes.push(print);
            }
        }
    }
    let not_run = g.jobs.iter().any(|j| j.verdict == Verdict::NotRun);
    // A kernel splat fails the test, as NIPA's executors fail a test that
    // crashed the kernel.
    let result = if crashes.is_empty() {
        result
    } else {
        NipaResult::Fail
    };
    NipaTest {
        test: namify(g.script),
        group: format!("selftests-{}", namify(&opts.collection(g.suite))),
        result,
        link: test_link(g, opts),
        time: g
            .jobs
            .iter()
            .any(|j| !j.attempts.is_empty())
            .then_some(micros(first_secs)),
        retry,
        crashes,
        not_run,
        results: subtests,
    }
}

fn attempt_result(a: &Attempt) -> NipaResult {
    match a.result {
        AttemptResult::Pass => NipaResult::Pass,
        AttemptResult::Fail | AttemptResult::Timeout | AttemptResult::Crash => NipaResult::Fail,
    }
}

fn subtest(job: &JobRecord, full: bool) -> NipaSubtest {
    let first = job.attempts.first();
    let (result, retry) = match job.verdict {
        Verdict::Skip => (NipaResult::Skip, None),
        Verdict::NotRun => (NipaResult::Fail, None),
        Verdict::Xfail => (NipaResult::Pass, None),
        Verdict::Xpass => (NipaResult::Fail, None),
        _ => {
            let result = first.map(attempt_result).unwrap_or(match job.verdict {
                Verdict::Pass | Verdict::Flaky => NipaResult::Pass,
                _ => NipaResult::Fail,
            });
            // NIPA has one retry: report the attempt that decided the verdict.
            let retry = (job.attempts.len() > 1)
                .then(|| job.last_attempt().map(attempt_result))
                .flatten();
            (result, retry)
        }
    };
    NipaSubtest {
        test: namify(&job.id.ip_version),
        result,
        time: first.map(|a| micros(a.duration_secs)),
        retry,
        netdrill: full.then(|| JobDetails {
            verdict: job.verdict,
            script: job.id.script.clone(),
            suite: job.id.suite.clone(),
            path: job.path.clone(),
            args: job.args.clone(),
            skip_reason: job.skip_reason.clone(),
            xfail_reason: job.xfail_reason.clone(),
            replay_command: job.replay_command.clone(),
            attempts: job
                .attempts
                .iter()
                .map(|a| AttemptDetails {
                    number: a.number,
                    result: a.result,
                    start: python_utc(a.start_unix),
                    start_unix: micros(a.start_unix),
                    duration_secs: micros(a.duration_secs),
                    cpu_secs: a.cpu_secs.map(micros),
                    max_rss_kib: a.max_rss_kib,
                    line: a.line,
                    kind: a.kind,
                    timing_slack: a.timing_slack,
                    message: a.message.clone(),
                    log: a.log.clone(),
                    artifacts: a.artifacts.clone(),
                })
                .collect(),
        }),
    }
}

/// A UTC time as Python's `str()` prints an aware `datetime`: microseconds only
/// when not zero.
pub fn python_utc(unix: f64) -> String {
    let micros = if unix.is_finite() {
        (unix * 1e6).round() as i64
    } else {
        0
    };
    let t: DateTime<Utc> = DateTime::from_timestamp_micros(micros).unwrap_or_default();
    if t.nanosecond() == 0 {
        t.format("%Y-%m-%d %H:%M:%S+00:00").to_string()
    } else {
        t.format("%Y-%m-%d %H:%M:%S%.6f+00:00").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_print_as_python_does() {
        assert_eq!(python_utc(1754007003.0), "2025-08-01 00:10:03+00:00");
        assert_eq!(
            python_utc(1754007003.123456),
            "2025-08-01 00:10:03.123456+00:00"
        );
        assert_eq!(python_utc(f64::NAN), "1970-01-01 00:00:00+00:00");
    }

    #[test]
    fn times_keep_microseconds() {
        assert_eq!(micros(1.234_567_89), 1.234568);
        assert_eq!(micros(0.000_000_4), 0.0);
        assert_eq!(micros(f64::INFINITY), 0.0);
        assert_eq!(
            serde_json::to_string(&micros(2.000_000_9)).unwrap(),
            "2.000001"
        );
    }

    #[test]
    fn urls_escape_path_components() {
        assert_eq!(percent_encode("tcp_a b.pkt"), "tcp_a%20b.pkt");
        assert_eq!(percent_encode("ipv4-x~y"), "ipv4-x~y");
    }
}
