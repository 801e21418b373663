//! Histories for the report's tests and benchmark, made from a real run
//! record: `kernel-suite-run.json` is what `netdrill run --record` wrote for
//! the kernel's packetdrill suite (314 jobs, `--retries 1`) on the 2-vCPU
//! test machine (kernel 6.18, no AccECN). [`generate`] turns it into a
//! history of N nightly records with varied verdicts, and returns what it
//! planted, so a test can check that the reports find exactly that:
//!
//! - every job the real run failed stays failing every night (known
//!   failures), except the AccECN ones, which are skipped with the reason a
//!   kernel without AccECN gives (as the runner does for missing features);
//! - a dozen jobs the real run passed flake: some nights they fail and pass
//!   on the retry (verdict flaky, with the timing slack of both attempts),
//!   and now and then they fail alone between passes; never on the last
//!   night, so they are no regression;
//! - [`Planted::regressions`]: jobs that pass until a night among the last
//!   ten, then fail (one times out, one crashes) with a real failure of the
//!   suite (its line, its typed mismatch) through the last night; one of
//!   them is not run on a night in the middle of its streak;
//! - [`Planted::fixed`]: jobs that failed for some nights and pass on the last;
//! - two jobs fail as expected (xfail) every night;
//! - one night is stopped by SIGINT, its last jobs not run;
//! - the kernel release changes every 73 nights; durations vary by a few
//!   percent, and [`Planted::slower`] jobs take three times as long on the
//!   last night.
//!
//! The same arguments give the same files, byte for byte.
#![allow(dead_code)]

use netdrill::history::record::{self, SuiteRevision};
use netdrill::model::{AttemptResult, JobRecord, RunRecord, StopSignal, Verdict};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The real record the histories are made from.
pub fn real_record_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/history_gen/kernel-suite-run.json")
}

/// The real run.
pub fn real_run() -> RunRecord {
    let text = std::fs::read_to_string(real_record_path()).expect("the real record is there");
    let doc: Value = serde_json::from_str(&text).expect("the real record is JSON");
    serde_json::from_value(doc["run"].clone()).expect("the real record holds a RunRecord")
}

/// What a generated history holds, by test name (`suite/script ipvX`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Planted {
    pub runs: usize,
    /// Tests in each run.
    pub tests: usize,
    /// Tests that regressed, with the night their failing streak began.
    pub regressions: Vec<(String, usize)>,
    pub fixed: BTreeSet<String>,
    pub flaky: BTreeSet<String>,
    pub slower: BTreeSet<String>,
    /// The record files, oldest first.
    pub files: Vec<PathBuf>,
}

impl Planted {
    pub fn regression_names(&self) -> BTreeSet<String> {
        self.regressions.iter().map(|(t, _)| t.clone()).collect()
    }
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// True with probability `p`.
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    /// A factor in `1 ± spread`.
    fn jitter(&mut self, spread: f64) -> f64 {
        1.0 + spread * (2.0 * ((self.next() >> 11) as f64 / (1u64 << 53) as f64) - 1.0)
    }
}

fn key(j: &JobRecord) -> String {
    format!("{}/{} {}", j.id.suite, j.id.script, j.id.ip_version)
}

/// What a job does on one night.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Plan {
    Pass,
    Fail,
    Timeout,
    Crash,
    Flaky,
    Skip,
    Xfail,
    NotRun,
}

/// Write a history of `runs` nights into `dir` (made when missing).
pub fn generate(dir: &Path, runs: usize, seed: u64) -> Planted {
    std::fs::create_dir_all(dir).unwrap();
    let base = real_run();
    let mut rng = Rng(seed | 1);
    let passing: Vec<String> = base
        .jobs
        .iter()
        .filter(|j| matches!(j.verdict, Verdict::Pass | Verdict::Flaky))
        .map(key)
        .collect();
    // Real failed attempts with a typed mismatch, the failures planted ones take.
    let failures: Vec<&JobRecord> = base
        .jobs
        .iter()
        .filter(|j| j.attempts.first().is_some_and(|a| a.mismatch.is_some()))
        .collect();
    let pick = |from: usize, n: usize| -> Vec<String> {
        passing
            .iter()
            .skip(from)
            .step_by(7)
            .take(n)
            .cloned()
            .collect()
    };
    let flaky: BTreeSet<String> = pick(0, 12).into_iter().collect();
    let regressions: Vec<String> = pick(3, 5);
    let fixed: BTreeSet<String> = pick(5, 3).into_iter().collect();
    let xfail: BTreeSet<String> = pick(6, 2).into_iter().collect();
    let slower: BTreeSet<String> = pick(2, 3).into_iter().collect();
    let last = runs - 1;
    let regressed_at: Vec<(String, usize)> = regressions
        .iter()
        .enumerate()
        .map(|(n, t)| (t.clone(), last.saturating_sub(n * 2).max(1)))
        .collect();
    let interrupted_night = runs / 2;
    let start0 = 1_764_558_000.0; // 2025-12-01 03:00 UTC
    let mut files = Vec::new();
    for night in 0..runs {
        let mut run = base.clone();
        run.host.kernel_release = format!("6.18.{}-nightly", night / 73);
        run.start_unix = start0 + night as f64 * 86_400.0;
        let stopped = night == interrupted_night && runs > 4;
        let n_jobs = run.jobs.len();
        for (i, job) in run.jobs.iter_mut().enumerate() {
            let k = key(job);
            let plan = if stopped && i >= n_jobs * 4 / 5 {
                Plan::NotRun
            } else if let Some((n, (_, at))) =
                regressed_at.iter().enumerate().find(|(_, (t, _))| *t == k)
            {
                match (night >= *at, n) {
                    (false, _) => Plan::Pass,
                    // One of them is not run in the middle of its streak.
                    (true, 4) if night == at + 1 && night < last => Plan::NotRun,
                    (true, 0) => Plan::Timeout,
                    (true, 1) => Plan::Crash,
                    (true, _) => Plan::Fail,
                }
            } else if fixed.contains(&k) {
                if night + 1 == runs || night + 6 < runs {
                    Plan::Pass
                } else {
                    Plan::Fail
                }
            } else if xfail.contains(&k) {
                Plan::Xfail
            } else if flaky.contains(&k) {
                if rng.chance(0.12) {
                    Plan::Flaky
                } else if night + 2 < runs && night > 0 && rng.chance(0.04) {
                    Plan::Fail
                } else {
                    Plan::Pass
                }
            } else {
                match job.verdict {
                    Verdict::Pass | Verdict::Flaky => Plan::Pass,
                    _ if job.id.script.starts_with("tcp_accecn") => Plan::Skip,
                    _ => Plan::Fail,
                }
            };
            // A real failure of the same IP version.
            let same_ip: Vec<&&JobRecord> = failures
                .iter()
                .filter(|f| f.id.ip_version == job.id.ip_version)
                .collect();
            let failure = match same_ip.as_slice() {
                [] => failures[i % failures.len()],
                some => some[i % some.len()],
            };
            shape(job, plan, failure, &mut rng);
            let speed = if slower.contains(&k) && night == last {
                3.0
            } else {
                rng.jitter(0.05)
            };
            for a in &mut job.attempts {
                a.duration_secs *= speed;
            }
        }
        if stopped {
            run.interrupted = Some(StopSignal::Interrupt);
        }
        run.end_unix = run.start_unix + 26.0 * rng.jitter(0.1);
        files.push(write(dir, &run, &flaky));
    }
    let tests = base.jobs.len();
    Planted {
        runs,
        tests,
        regressions: regressed_at,
        fixed,
        flaky,
        slower,
        files,
    }
}

/// Make `job` end as `plan` says, from its own attempts and a real failure.
fn shape(job: &mut JobRecord, plan: Plan, failure: &JobRecord, rng: &mut Rng) {
    let mut pass = job
        .attempts
        .iter()
        .find(|a| a.result == AttemptResult::Pass)
        .cloned()
        .unwrap_or_else(|| job.attempts[0].clone());
    pass.result = AttemptResult::Pass;
    pass.kind = None;
    pass.line = None;
    pass.message.clear();
    pass.mismatch = None;
    pass.artifacts = None;
    pass.number = 1;
    let mut failed = failure.attempts[0].clone();
    failed.message = failed.message.replace(&failure.id.script, &job.id.script);
    failed.start_unix = pass.start_unix;
    failed.duration_secs = pass.duration_secs * rng.jitter(0.2);
    failed.number = 1;
    failed.artifacts = Some(PathBuf::from(format!(
        "/var/lib/netdrill/artifacts/{}/{}/{}/attempt-1",
        job.id.suite, job.id.script, job.id.ip_version
    )));
    job.skip_reason = None;
    job.xfail_reason = None;
    let (verdict, attempts) = match plan {
        Plan::Pass => (Verdict::Pass, vec![pass]),
        Plan::Fail => {
            let mut again = failed.clone();
            again.number = 2;
            (Verdict::Fail, vec![failed, again])
        }
        Plan::Timeout => {
            failed.result = AttemptResult::Timeout;
            failed.kind = Some(netdrill::model::FailureKind::Timeout);
            failed.mismatch = None;
            failed.duration_secs = 45.0;
            failed.message = format!(
                "{}:{}: timed out after 45 seconds (the last event started on line {})",
                job.id.script,
                failed.line.unwrap_or(1),
                failed.line.unwrap_or(1)
            );
            (Verdict::Timeout, vec![failed])
        }
        Plan::Crash => {
            failed.result = AttemptResult::Crash;
            failed.kind = Some(netdrill::model::FailureKind::Crash);
            failed.mismatch = None;
            failed.message = format!(
                "{}: the job process died without a result (killed by SIGSEGV)",
                job.id.script
            );
            (Verdict::Error, vec![failed])
        }
        Plan::Flaky => {
            pass.number = 2;
            (Verdict::Flaky, vec![failed, pass])
        }
        Plan::Skip => {
            job.skip_reason = Some("kernel lacks AccECN (net.ipv4.tcp_ecn=3 refused)".into());
            (Verdict::Skip, vec![])
        }
        Plan::Xfail => {
            job.xfail_reason = Some("known kernel behaviour (suite.toml)".into());
            (Verdict::Xfail, vec![failed])
        }
        Plan::NotRun => (Verdict::NotRun, vec![]),
    };
    job.verdict = verdict;
    job.attempts = attempts;
}

/// Write one night's record; flaky tests' attempts carry a timing slack (the
/// runner's `timing_slack`, `{ line, margin_usecs, tolerance_usecs }`).
fn write(dir: &Path, run: &RunRecord, flaky: &BTreeSet<String>) -> PathBuf {
    let suites = [SuiteRevision {
        path: PathBuf::from("/usr/src/linux/tools/testing/selftests/net/packetdrill"),
        revision: Some(format!(
            "v6.18-{}-g{:07x}",
            (run.start_unix as u64 / 86_400) % 1000,
            run.start_unix as u64 % 0xfff_ffff
        )),
    }];
    let text = record::render(run, &suites);
    let mut doc: Value = serde_json::from_str(&text).unwrap();
    for job in doc["run"]["jobs"].as_array_mut().unwrap() {
        let k = format!(
            "{}/{} {}",
            job["id"]["suite"].as_str().unwrap(),
            job["id"]["script"].as_str().unwrap(),
            job["id"]["ip_version"].as_str().unwrap()
        );
        if !flaky.contains(&k) {
            continue;
        }
        for a in job["attempts"].as_array_mut().unwrap() {
            let failed = a["result"] != "pass";
            let line = a["line"].as_u64().unwrap_or(21);
            let start = a["start_unix"].as_f64().unwrap_or(0.0);
            // Deterministic per attempt: from its start time.
            let margin = if failed {
                -((start * 1000.0) as i64 % 3000) - 100
            } else {
                (start * 1000.0) as i64 % 3900 + 50
            };
            a["timing_slack"] =
                json!({ "line": line, "margin_usecs": margin, "tolerance_usecs": 4000 });
        }
    }
    let name = format!("{}.json", record::base_name(run));
    let path = dir.join(name);
    let mut text = serde_json::to_string_pretty(&doc).unwrap();
    text.push('\n');
    std::fs::write(&path, text).unwrap();
    path
}
