//! Reports of a finished run, each a pure function of a [`RunRecord`]:
//!
//! - [`ktap`]: TAP as kselftest prints it for `net/packetdrill` (the default), or
//!   indented KTAP v1;
//! - [`junit`]: JUnit XML (one testsuite per suite, one testcase per script x IP
//!   version, flaky retries as `flakyFailure`, expected failures as typed `skipped`);
//! - [`json`]: NIPA's contest result JSON, optionally with every attempt;
//! - [`artifacts`]: a folder per failed attempt (log, pcap, expected vs actual, replay).
//!
//! Reports of a history of runs ([`crate::history`]), for `netdrill report`:
//!
//! - [`dashboard`]: one static HTML page;
//! - [`digest`]: regressions, fixes, flakes and counts as Markdown;
//! - [`compare`]: which tests changed verdict between two runs.
//!
//! Jobs are one script x IP version; kselftest and NIPA count scripts, so the
//! reporters group a run's jobs by script ([`ScriptGroup`]), keeping discovery order.

pub mod artifacts;
pub mod compare;
pub mod dashboard;
pub mod digest;
pub mod json;
pub mod junit;
pub mod ktap;
pub mod stream;

use crate::model::{JobRecord, RunRecord, StopSignal, Verdict};

/// Settings shared by the reporters. `Default` gives what kselftest and NIPA expect
/// for the kernel's packetdrill suite.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// Put in front of a suite's name to make its kselftest collection:
    /// `net/` turns suite `packetdrill` into `net/packetdrill`.
    pub collection_prefix: String,
    /// The per-script timeout in seconds, when the caller knows it: KTAP then prints
    /// kselftest's `# timeout set to N` line and `# TIMEOUT N seconds`. Without it a
    /// timeout is reported with the seconds the timed-out attempt ran.
    pub timeout_secs: Option<u64>,
    /// NIPA executor name (`executor` in the result JSON).
    pub executor: String,
    /// NIPA branch name, when the run tests one.
    pub branch: Option<String>,
    /// URL at which the folder holding the JSON report is served, for NIPA's
    /// `link` (the run's, and each test's: its artifacts when it has some).
    pub link: Option<String>,
    /// The folder links are relative to: the JSON report's.
    pub link_root: Option<std::path::PathBuf>,
    /// JUnit in the form Jenkins' `junit-10.xsd` accepts, without the
    /// elements and attributes it does not know.
    pub junit_strict: bool,
    /// `--partition`: this run is one shard; its `--json-full` document says
    /// which, and lists the whole run's jobs (for `netdrill merge`).
    pub shard: Option<crate::partition::ShardPlan>,
    /// `netdrill merge`: the shards the run was put together from.
    pub shards: Vec<crate::partition::ShardFacts>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            collection_prefix: "net/".into(),
            timeout_secs: None,
            executor: "netdrill".into(),
            branch: None,
            link: None,
            link_root: None,
            junit_strict: false,
            shard: None,
            shards: Vec::new(),
        }
    }
}

impl Options {
    /// The kselftest collection of a suite, e.g. `net/packetdrill`.
    pub fn collection(&self, suite: &str) -> String {
        format!("{}{}", self.collection_prefix, suite)
    }
}

/// The jobs of one script (one per IP version), in run order.
#[derive(Debug)]
pub struct ScriptGroup<'a> {
    pub suite: &'a str,
    pub script: &'a str,
    pub jobs: Vec<&'a JobRecord>,
}

impl ScriptGroup<'_> {
    /// The script's result as kselftest would report the program: worst first.
    pub fn outcome(&self) -> ScriptOutcome {
        let has = |v: Verdict| self.jobs.iter().any(|j| j.verdict == v);
        if has(Verdict::Timeout) {
            ScriptOutcome::Timeout
        } else if has(Verdict::Fail) {
            ScriptOutcome::Fail
        } else if has(Verdict::Error) {
            ScriptOutcome::Error
        } else if has(Verdict::Xpass) {
            ScriptOutcome::Xpass
        } else if has(Verdict::NotRun) {
            ScriptOutcome::NotRun
        } else if self.jobs.iter().all(|j| j.verdict == Verdict::Skip) {
            ScriptOutcome::Skip
        } else if has(Verdict::Xfail) {
            ScriptOutcome::Xfail
        } else {
            ScriptOutcome::Pass
        }
    }

    /// Seconds over every attempt of every job.
    pub fn total_secs(&self) -> f64 {
        self.jobs.iter().map(|j| j.total_secs()).sum()
    }
}

/// How a whole script (all its IP versions) ended, in kselftest terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScriptOutcome {
    Pass,
    /// Some job failed (exit status 1).
    Fail,
    /// Some job's process crashed (counted as `error`).
    Error,
    /// Expected failures only, no unexpected one (exit status 2).
    Xfail,
    /// An expected failure passed (exit status 3).
    Xpass,
    /// Every job was skipped (exit status 4).
    Skip,
    /// Some job was killed at its timeout (exit status 124).
    Timeout,
    /// Some job had no result: the run stopped before (counted as `error`).
    NotRun,
}

impl ScriptOutcome {
    /// The exit status a kselftest program reports for this outcome.
    pub fn exit_status(self) -> i32 {
        match self {
            ScriptOutcome::Pass => 0,
            ScriptOutcome::Fail | ScriptOutcome::Error | ScriptOutcome::NotRun => 1,
            ScriptOutcome::Xfail => 2,
            ScriptOutcome::Xpass => 3,
            ScriptOutcome::Skip => 4,
            ScriptOutcome::Timeout => 124,
        }
    }
}

/// Group a run's jobs by (suite, script), in order of first appearance.
pub fn script_groups(run: &RunRecord) -> Vec<ScriptGroup<'_>> {
    let mut groups: Vec<ScriptGroup<'_>> = Vec::new();
    for job in &run.jobs {
        match groups
            .iter_mut()
            .find(|g| g.suite == job.id.suite && g.script == job.id.script)
        {
            Some(g) => g.jobs.push(job),
            None => groups.push(ScriptGroup {
                suite: &job.id.suite,
                script: &job.id.script,
                jobs: vec![job],
            }),
        }
    }
    groups
}

/// Why a job has no result, for the reports: the signal that stopped the run,
/// a shard missing from a merged run (`netdrill merge`), or (a report written
/// while the run goes on) that it has not come yet.
pub fn not_run_reason(stopped_by: Option<Stop<'_>>, opts: &Options) -> String {
    let missing: Vec<String> = opts
        .shards
        .iter()
        .filter(|s| s.missing.is_some())
        .map(|s| s.partition.to_string())
        .collect();
    match stopped_by {
        Some(Stop::Signal(signal)) => format!("not run: the run was stopped by {}", signal.name()),
        Some(Stop::VmLost(_)) => "not run: the VM of --kernel was lost before it ran".into(),
        None if !missing.is_empty() => format!(
            "not run: the report of shard {} was missing when the shards were merged",
            missing.join(", ")
        ),
        None => "not run: the run had not finished it when this report was written".into(),
    }
}

/// What stopped a run before every job had a result.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Stop<'a> {
    /// A stop signal.
    Signal(StopSignal),
    /// The VM of `--kernel` was lost (a panic, a hang): its record says how.
    VmLost(&'a crate::model::VmRun),
}

/// What stopped `run`, if something did.
pub fn stop_of(run: &RunRecord) -> Option<Stop<'_>> {
    match (run.interrupted, &run.vm) {
        (Some(signal), _) => Some(Stop::Signal(signal)),
        (None, Some(vm)) if !vm.completed() => Some(Stop::VmLost(vm)),
        _ => None,
    }
}

/// NIPA's `namify`: runs of characters other than ASCII letters and digits become
/// `-`, one trailing `-` is dropped; an empty name is `no-name`.
pub fn namify(what: &str) -> String {
    if what.is_empty() {
        return "no-name".into();
    }
    let mut out = String::with_capacity(what.len());
    let mut in_run = false;
    for c in what.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
            in_run = false;
        } else if !in_run {
            out.push('-');
            in_run = true;
        }
    }
    if out.ends_with('-') {
        out.pop();
    }
    out
}

/// The first line of a diagnostic.
pub fn headline(message: &str) -> &str {
    message.lines().next().unwrap_or("").trim_end()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namify_matches_nipa() {
        assert_eq!(namify("tcp_inq_client.pkt"), "tcp-inq-client-pkt");
        assert_eq!(namify("net/packetdrill"), "net-packetdrill");
        assert_eq!(namify("ipv4"), "ipv4");
        assert_eq!(namify("ipv4-mapped-ipv6"), "ipv4-mapped-ipv6");
        assert_eq!(namify("a..b__"), "a-b");
        assert_eq!(namify("_x"), "-x");
        assert_eq!(namify(""), "no-name");
    }

    #[test]
    fn collection_uses_prefix() {
        let mut o = Options::default();
        assert_eq!(o.collection("packetdrill"), "net/packetdrill");
        o.collection_prefix = "netfilter/".into();
        assert_eq!(o.collection("conntrack"), "netfilter/conntrack");
    }
}
