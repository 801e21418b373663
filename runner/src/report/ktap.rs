//! TAP as kselftest prints it for the kernel's packetdrill target, and indented KTAP v1.
//!
//! The default shape ([`render`]) is what `run_kselftest.sh` prints when
//! `ksft_runner.sh` runs each script with `packetdrill` once per IP version: one
//! flat level, the script's own TAP prefixed with `# ` (never indented), then the
//! runner's result line for the script:
//!
//! ```text
//! TAP version 13
//! 1..1
//! # timeout set to 45
//! # selftests: net/packetdrill: tcp_inq_client.pkt
//! # TAP version 13
//! # 1..2
//! # ok 1 ipv4
//! # ok 2 ipv6
//! # # Totals: pass:2 fail:0 xfail:0 xpass:0 skip:0 error:0
//! ok 1 selftests: net/packetdrill: tcp_inq_client.pkt
//! # Totals: pass:1 fail:0 xfail:0 xpass:0 skip:0 error:0
//! ```
//!
//! That is the only nesting NIPA's parser understands. [`render_nested`] gives the
//! KTAP spec's form (subtests indented by two spaces) for tools that want it.
//!
//! Every script the run found is in the plan and has a result line: a script
//! whose jobs did not all finish (a stop signal) is `not ok N ... # ERROR not
//! run: ...` and counts as an `error` in `# Totals:`, and `Bail out!` ends a
//! stopped run. [`KtapStream`] writes the same text a script at a time as the
//! run goes on (see [`super::stream`]).
//!
//! A job's stderr (its log and diagnostic) comes before its subtest line, as
//! packetdrill's stderr does under kselftest. Our own notes (retries) are written
//! as diagnostics of the script's TAP (`# # ...`) and avoid the words NIPA's text
//! checks take for results (`[FAIL]`, ` FAIL:`, `SKIP:`, ` # SKIP`).

use super::{
    headline, not_run_reason, script_groups, stop_of, Options, ScriptGroup, ScriptOutcome, Stop,
};
use crate::model::{Attempt, AttemptResult, JobId, JobRecord, RunRecord, RunnerEvent, Verdict};

/// kselftest-shaped TAP with the default [`Options`].
pub fn render(run: &RunRecord) -> String {
    render_with(run, &Options::default())
}

/// Indented KTAP v1 with the default [`Options`].
pub fn render_nested(run: &RunRecord) -> String {
    render_nested_with(run, &Options::default())
}

/// kselftest-shaped TAP (`TAP version 13`, subtests behind `# `).
pub fn render_with(run: &RunRecord, opts: &Options) -> String {
    Writer::new(opts, false, stop_of(run)).run(run)
}

/// KTAP v1 with each script's subtests indented by two spaces.
pub fn render_nested_with(run: &RunRecord, opts: &Options) -> String {
    Writer::new(opts, true, stop_of(run)).run(run)
}

/// Counters of a `# Totals:` line.
#[derive(Default, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub pass: usize,
    pub fail: usize,
    pub xfail: usize,
    pub xpass: usize,
    pub skip: usize,
    pub error: usize,
}

impl Totals {
    fn line(&self) -> String {
        format!(
            "# Totals: pass:{} fail:{} xfail:{} xpass:{} skip:{} error:{}",
            self.pass, self.fail, self.xfail, self.xpass, self.skip, self.error
        )
    }

    /// Counts over scripts, as the kselftest runner counts programs (a script
    /// that did not run to its end counts as an error).
    pub fn of_scripts(run: &RunRecord) -> Totals {
        let mut t = Totals::default();
        for g in script_groups(run) {
            match g.outcome() {
                ScriptOutcome::Pass => t.pass += 1,
                ScriptOutcome::Fail | ScriptOutcome::Timeout => t.fail += 1,
                ScriptOutcome::Error | ScriptOutcome::NotRun => t.error += 1,
                ScriptOutcome::Xfail => t.xfail += 1,
                ScriptOutcome::Xpass => t.xpass += 1,
                ScriptOutcome::Skip => t.skip += 1,
            }
        }
        t
    }

    /// Counts over one script's jobs, as `ktap_helpers.sh` counts subtests.
    fn of_jobs(jobs: &[&JobRecord]) -> Totals {
        let mut t = Totals::default();
        for j in jobs {
            match j.verdict {
                Verdict::Pass | Verdict::Flaky => t.pass += 1,
                Verdict::Fail | Verdict::Timeout => t.fail += 1,
                Verdict::Error | Verdict::NotRun => t.error += 1,
                Verdict::Xfail => t.xfail += 1,
                Verdict::Xpass => t.xpass += 1,
                Verdict::Skip => t.skip += 1,
            }
        }
        t
    }
}

/// In which order a [`KtapStream`] writes scripts as they finish.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamOrder {
    /// kselftest's order and numbers: a script is written once it and every
    /// script discovered before it have finished (what stdout gets: it cannot
    /// be rewritten).
    Discovery,
    /// Each script as soon as it finishes, numbered in that order; at the end
    /// the whole text is replaced by the discovery-ordered report (what a file
    /// gets: a killed run leaves every finished script in it).
    Completion,
}

/// What a [`KtapStream`] gives for an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Chunk {
    /// Append this text.
    Append(String),
    /// Replace everything written with this text (the final report).
    Replace(String),
}

/// One script of a streamed run: its jobs as planned, each replaced by its
/// record when it finishes.
#[derive(Debug)]
struct Slot {
    suite: String,
    script: String,
    jobs: Vec<JobRecord>,
    done: Vec<bool>,
}

impl Slot {
    fn complete(&self) -> bool {
        self.done.iter().all(|&d| d)
    }

    fn group(&self) -> ScriptGroup<'_> {
        ScriptGroup {
            suite: &self.suite,
            script: &self.script,
            jobs: self.jobs.iter().collect(),
        }
    }
}

/// The KTAP report written as the run goes on, a consumer of the
/// [`RunnerEvent`]s: the header when the run starts, each script's block when
/// its last job finishes (in [`StreamOrder`]), the scripts that did not run,
/// the totals and `Bail out!` (after a stop signal) at the end. Whatever part
/// of it is on disk when the run is killed is a valid TAP prefix.
pub struct KtapStream {
    opts: Options,
    nested: bool,
    order: StreamOrder,
    slots: Vec<Slot>,
    /// Where each job is: (slot, index in the slot).
    places: std::collections::HashMap<JobId, (usize, usize)>,
    /// Discovery order: the first script not written yet.
    next: usize,
    /// Completion order: scripts written so far.
    written: usize,
}

impl KtapStream {
    pub fn new(opts: Options, nested: bool, order: StreamOrder) -> KtapStream {
        KtapStream {
            opts,
            nested,
            order,
            slots: Vec::new(),
            places: std::collections::HashMap::new(),
            next: 0,
            written: 0,
        }
    }

    /// The text this event adds, if any.
    pub fn event(&mut self, ev: &RunnerEvent) -> Option<Chunk> {
        match ev {
            RunnerEvent::RunStarted { planned, .. } => {
                for job in planned {
                    let slot = match self
                        .slots
                        .iter()
                        .position(|s| s.suite == job.id.suite && s.script == job.id.script)
                    {
                        Some(i) => i,
                        None => {
                            self.slots.push(Slot {
                                suite: job.id.suite.clone(),
                                script: job.id.script.clone(),
                                jobs: Vec::new(),
                                done: Vec::new(),
                            });
                            self.slots.len() - 1
                        }
                    };
                    let s = &mut self.slots[slot];
                    self.places.insert(job.id.clone(), (slot, s.jobs.len()));
                    s.jobs.push(job.clone());
                    s.done.push(false);
                }
                let mut w = Writer::new(&self.opts, self.nested, None);
                w.header(self.slots.len());
                Some(Chunk::Append(w.out))
            }
            RunnerEvent::JobFinished { record } => {
                let &(slot, index) = self.places.get(&record.id)?;
                let s = &mut self.slots[slot];
                s.jobs[index] = record.clone();
                s.done[index] = true;
                let mut w = Writer::new(&self.opts, self.nested, None);
                match self.order {
                    StreamOrder::Completion => {
                        if !self.slots[slot].complete() {
                            return None;
                        }
                        self.written += 1;
                        w.script(self.written, &self.slots[slot].group());
                    }
                    StreamOrder::Discovery => {
                        while self.slots.get(self.next).is_some_and(Slot::complete) {
                            w.script(self.next + 1, &self.slots[self.next].group());
                            self.next += 1;
                        }
                    }
                }
                (!w.out.is_empty()).then_some(Chunk::Append(w.out))
            }
            RunnerEvent::RunFinished { record } => {
                let mut w = Writer::new(&self.opts, self.nested, stop_of(record));
                match self.order {
                    StreamOrder::Completion => Some(Chunk::Replace(w.run(record))),
                    StreamOrder::Discovery => {
                        for (i, g) in script_groups(record).iter().enumerate().skip(self.next) {
                            w.script(i + 1, g);
                        }
                        self.next = self.slots.len();
                        w.footer(record);
                        Some(Chunk::Append(w.out))
                    }
                }
            }
            _ => None,
        }
    }
}

struct Writer<'a> {
    out: String,
    opts: &'a Options,
    /// KTAP v1 with indentation instead of kselftest's `# ` prefix.
    nested: bool,
    /// What stopped the run, for the jobs that did not run.
    stopped_by: Option<Stop<'a>>,
}

impl<'a> Writer<'a> {
    fn new(opts: &'a Options, nested: bool, stopped_by: Option<Stop<'a>>) -> Writer<'a> {
        Writer {
            out: String::new(),
            opts,
            nested,
            stopped_by,
        }
    }

    fn line(&mut self, text: &str) {
        self.out.push_str(text);
        self.out.push('\n');
    }

    /// A line of a script's own output: behind `# ` (kselftest) or two spaces (KTAP).
    fn inner(&mut self, text: &str) {
        let prefix = if self.nested { "  " } else { "# " };
        // Keep kselftest's prefixer's output exact: an empty line becomes "# ".
        self.out.push_str(prefix);
        self.out.push_str(text);
        self.out.push('\n');
    }

    /// A line the job printed. Under kselftest it appears as is behind `# `, unless
    /// it would read as a line of the script's TAP (a result, a plan, a version,
    /// a bail-out), which would miscount the subtests: that one becomes a diagnostic.
    /// In KTAP every such line is a diagnostic, as the spec recommends.
    fn output_line(&mut self, text: &str) {
        if self.nested || looks_like_tap(text) {
            self.inner_diag(text);
        } else {
            self.inner(text);
        }
    }

    /// A diagnostic inside a script's TAP.
    fn inner_diag(&mut self, text: &str) {
        self.inner(&format!("# {text}"));
    }

    fn run(mut self, run: &RunRecord) -> String {
        let groups = script_groups(run);
        self.header(groups.len());
        for (i, g) in groups.iter().enumerate() {
            self.script(i + 1, g);
        }
        self.footer(run);
        self.out
    }

    /// The version line and the plan: every script, run or not.
    fn header(&mut self, scripts: usize) {
        self.line(if self.nested {
            "KTAP version 1"
        } else {
            "TAP version 13"
        });
        self.line(&format!("1..{scripts}"));
    }

    /// The totals, and `Bail out!` when a signal stopped the run.
    fn footer(&mut self, run: &RunRecord) {
        self.line(&Totals::of_scripts(run).line());
        match stop_of(run) {
            Some(Stop::Signal(signal)) => self.line(&format!(
                "Bail out! run stopped by {}: scripts that did not finish are reported as not run",
                signal.name()
            )),
            Some(Stop::VmLost(vm)) => self.line(&format!(
                "Bail out! {}: scripts that did not finish are reported as not run",
                vm.message
            )),
            None => {}
        }
    }

    fn script(&mut self, number: usize, g: &ScriptGroup<'_>) {
        let description = format!(
            "selftests: {}: {}",
            description_safe(&self.opts.collection(g.suite)),
            description_safe(g.script)
        );
        if !self.nested {
            if let Some(t) = self.opts.timeout_secs {
                self.line(&format!("# timeout set to {t}"));
            }
            self.line(&format!("# {description}"));
        }
        self.inner(if self.nested {
            "KTAP version 1"
        } else {
            "TAP version 13"
        });
        self.inner(&format!("1..{}", g.jobs.len()));
        for (j, job) in g.jobs.iter().enumerate() {
            self.job(j + 1, job);
        }
        if !self.nested {
            let totals = Totals::of_jobs(&g.jobs);
            if totals.skip > 0 {
                // ktap_helpers.sh's echo of two words joins them with a space.
                self.inner(&format!(
                    "# {} skipped test(s) detected.  Consider enabling relevant config options to improve coverage.",
                    totals.skip
                ));
            }
            self.inner(&totals.line());
        }
        let outcome = g.outcome();
        let result = match outcome {
            ScriptOutcome::Pass => format!("ok {number} {description}"),
            ScriptOutcome::Skip => format!("ok {number} {description} # SKIP"),
            ScriptOutcome::Xfail => format!("ok {number} {description} # XFAIL"),
            ScriptOutcome::Timeout => {
                let secs = self
                    .opts
                    .timeout_secs
                    .unwrap_or_else(|| observed_timeout(&g.jobs));
                // runner.sh prints a lone "#" before a timeout's result line.
                self.line("#");
                format!("not ok {number} {description} # TIMEOUT {secs} seconds")
            }
            ScriptOutcome::NotRun => format!(
                "not ok {number} {description} # ERROR {}",
                not_run_reason(self.stopped_by, self.opts)
            ),
            ScriptOutcome::Fail | ScriptOutcome::Error | ScriptOutcome::Xpass => format!(
                "not ok {number} {description} # exit={}",
                outcome.exit_status()
            ),
        };
        self.line(&result);
    }

    fn job(&mut self, number: usize, job: &JobRecord) {
        let name = description_safe(&job.id.ip_version);
        let count = job.attempts.len();
        for (k, attempt) in job.attempts.iter().enumerate() {
            for l in stderr_lines(attempt) {
                self.output_line(l);
            }
            if k + 1 < count {
                let how = match attempt.result {
                    AttemptResult::Pass => "passed".to_string(),
                    AttemptResult::Fail => match attempt.kind {
                        Some(kind) => format!("failed ({kind})"),
                        None => "failed".to_string(),
                    },
                    AttemptResult::Timeout => {
                        format!("timed out after {} seconds", secs(attempt.duration_secs))
                    }
                    AttemptResult::Crash => "crashed".to_string(),
                };
                self.inner_diag(&format!(
                    "{name}: attempt {} {how}, retrying",
                    attempt.number
                ));
            }
        }
        if job.verdict == Verdict::Flaky {
            if let Some(last) = job.last_attempt() {
                self.inner_diag(&format!(
                    "{name}: flaky, passed on attempt {} of {count}",
                    last.number
                ));
            }
        }
        let line = match job.verdict {
            Verdict::Pass | Verdict::Flaky => format!("ok {number} {name}"),
            Verdict::Fail => format!("not ok {number} {name}"),
            Verdict::Skip => match job.skip_reason.as_deref() {
                Some(r) => format!("ok {number} {name} # SKIP {}", directive_text(r)),
                None => format!("ok {number} {name} # SKIP"),
            },
            Verdict::Xfail => match job.xfail_reason.as_deref() {
                Some(r) => format!("ok {number} {name} # XFAIL {}", directive_text(r)),
                None => format!("ok {number} {name} # XFAIL"),
            },
            Verdict::Xpass => match job.xfail_reason.as_deref() {
                Some(r) => format!(
                    "not ok {number} {name} # XPASS expected to fail: {}",
                    directive_text(r)
                ),
                None => format!("not ok {number} {name} # XPASS"),
            },
            Verdict::Timeout => {
                let s = self.opts.timeout_secs.unwrap_or_else(|| {
                    job.last_attempt()
                        .map(|a| secs(a.duration_secs))
                        .unwrap_or(0)
                });
                format!("not ok {number} {name} # TIMEOUT {s} seconds")
            }
            Verdict::Error => {
                let why = job
                    .last_attempt()
                    .map(|a| headline(&a.message))
                    .filter(|h| !h.is_empty())
                    .map(directive_text)
                    .unwrap_or_else(|| "the job process crashed".into());
                format!("not ok {number} {name} # ERROR {why}")
            }
            Verdict::NotRun => {
                format!(
                    "not ok {number} {name} # ERROR {}",
                    not_run_reason(self.stopped_by, self.opts)
                )
            }
        };
        self.inner(&line);
    }
}

/// What an attempt printed on stderr: its log, then its diagnostic unless the log
/// already ends with it.
fn stderr_lines(a: &Attempt) -> impl Iterator<Item = &str> {
    let message = a.message.trim_end();
    let log = a.log.trim_end();
    let show_message = !message.is_empty() && !log.ends_with(message);
    log.lines()
        .chain(if show_message { message } else { "" }.lines())
}

/// Whether a line would be taken for TAP structure rather than output.
fn looks_like_tap(line: &str) -> bool {
    let l = line.trim_start();
    let numbered = |rest: &str| rest.starts_with(|c: char| c.is_ascii_digit());
    l.strip_prefix("ok ").is_some_and(numbered)
        || l.strip_prefix("not ok ").is_some_and(numbered)
        || l.starts_with("TAP version")
        || l.starts_with("KTAP version")
        || l.starts_with("Bail out!")
        || (l.starts_with("1..") && numbered(&l[3..]))
}

/// Whole seconds, rounded.
fn secs(s: f64) -> u64 {
    if s.is_finite() && s > 0.0 {
        s.round() as u64
    } else {
        0
    }
}

/// For a timeout with no configured limit: the longest timed-out attempt.
fn observed_timeout(jobs: &[&JobRecord]) -> u64 {
    jobs.iter()
        .flat_map(|j| j.attempts.iter())
        .filter(|a| a.result == AttemptResult::Timeout)
        .map(|a| secs(a.duration_secs))
        .max()
        .unwrap_or(0)
}

/// A test description may not contain `#` (it would start a directive) nor a line
/// break.
fn description_safe(s: &str) -> String {
    s.chars()
        .map(|c| if c == '#' || c.is_control() { '_' } else { c })
        .collect()
}

/// Directive text: one line.
fn directive_text(s: &str) -> String {
    headline(s).chars().filter(|c| !c.is_control()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{HostInfo, JobId};
    use std::path::PathBuf;

    fn job(script: &str, ip: &str, verdict: Verdict, results: &[AttemptResult]) -> JobRecord {
        JobRecord {
            id: JobId {
                suite: "packetdrill".into(),
                script: script.into(),
                ip_version: ip.into(),
            },
            path: PathBuf::from(script),
            args: vec![],
            verdict,
            skip_reason: None,
            xfail_reason: None,
            attempts: results
                .iter()
                .enumerate()
                .map(|(i, r)| Attempt {
                    number: i as u32 + 1,
                    result: *r,
                    start_unix: 0.0,
                    duration_secs: 1.0,
                    cpu_secs: None,
                    max_rss_kib: None,
                    line: None,
                    kind: None,
                    message: String::new(),
                    mismatch: None,
                    timing_slack: None,
                    log: String::new(),
                    artifacts: None,
                })
                .collect(),
            replay_command: String::new(),
        }
    }

    fn run(jobs: Vec<JobRecord>) -> RunRecord {
        RunRecord {
            host: HostInfo {
                hostname: "h".into(),
                kernel_release: "6.18.0".into(),
                netdrill_version: "0.1.0".into(),
                kernel_features: None,
            },
            start_unix: 0.0,
            end_unix: 1.0,
            jobs_at_once: 1,
            tolerance_usecs: 4000,
            interrupted: None,
            jobs,
            kernel_splats: vec![],
            vm: None,
        }
    }

    #[test]
    fn the_kselftest_example_shape() {
        use AttemptResult::Pass;
        let r = run(vec![
            job("tcp_inq_client.pkt", "ipv4", Verdict::Pass, &[Pass]),
            job("tcp_inq_client.pkt", "ipv6", Verdict::Pass, &[Pass]),
        ]);
        let opts = Options {
            timeout_secs: Some(45),
            ..Options::default()
        };
        assert_eq!(
            render_with(&r, &opts),
            "TAP version 13\n1..1\n# timeout set to 45\n\
             # selftests: net/packetdrill: tcp_inq_client.pkt\n\
             # TAP version 13\n# 1..2\n# ok 1 ipv4\n# ok 2 ipv6\n\
             # # Totals: pass:2 fail:0 xfail:0 xpass:0 skip:0 error:0\n\
             ok 1 selftests: net/packetdrill: tcp_inq_client.pkt\n\
             # Totals: pass:1 fail:0 xfail:0 xpass:0 skip:0 error:0\n"
        );
    }

    #[test]
    fn a_failed_version_fails_the_script_with_exit_1() {
        use AttemptResult::{Fail, Pass};
        let r = run(vec![
            job("a.pkt", "ipv4", Verdict::Pass, &[Pass]),
            job("a.pkt", "ipv6", Verdict::Fail, &[Fail]),
        ]);
        let out = render(&r);
        assert!(out.contains("# ok 1 ipv4\n# not ok 2 ipv6\n"), "{out}");
        assert!(out.contains("\nnot ok 1 selftests: net/packetdrill: a.pkt # exit=1\n"));
        assert!(out.ends_with("# Totals: pass:0 fail:1 xfail:0 xpass:0 skip:0 error:0\n"));
    }

    #[test]
    fn job_output_cannot_pose_as_results() {
        let mut j = job("a.pkt", "ipv4", Verdict::Pass, &[AttemptResult::Pass]);
        j.attempts[0].log = "ok 7 fake\n1..9\nplain\n".into();
        let out = render(&run(vec![j]));
        assert!(
            out.contains("\n# # ok 7 fake\n# # 1..9\n# plain\n# ok 1 ipv4\n"),
            "{out}"
        );
        assert!(looks_like_tap("not ok 1 x"));
        assert!(!looks_like_tap("ok fine"));
        assert!(!looks_like_tap("1..x"));
    }

    #[test]
    fn descriptions_never_carry_a_hash() {
        assert_eq!(description_safe("a#b\nc.pkt"), "a_b_c.pkt");
    }

    #[test]
    fn interrupted_runs_bail_out() {
        let mut r = run(vec![job(
            "a.pkt",
            "ipv4",
            Verdict::Pass,
            &[AttemptResult::Pass],
        )]);
        r.jobs.push(job("b.pkt", "ipv4", Verdict::NotRun, &[]));
        r.interrupted = Some(crate::model::StopSignal::Terminate);
        let out = render(&r);
        // The plan counts every script; the one that did not run is listed,
        // counted as an error, and the run bails out.
        assert!(out.starts_with("TAP version 13\n1..2\n"), "{out}");
        assert!(
            out.contains("\n# not ok 1 ipv4 # ERROR not run: the run was stopped by SIGTERM\n"),
            "{out}"
        );
        assert!(
            out.contains(
                "\nnot ok 2 selftests: net/packetdrill: b.pkt # ERROR not run: the run was stopped by SIGTERM\n"
            ),
            "{out}"
        );
        assert!(out.ends_with(
            "# Totals: pass:1 fail:0 xfail:0 xpass:0 skip:0 error:1\n\
             Bail out! run stopped by SIGTERM: scripts that did not finish are reported as not run\n"
        ));
    }

    /// The text a stream gives for these events, as a file would hold it.
    fn streamed(order: StreamOrder, events: &[RunnerEvent]) -> Vec<String> {
        let mut s = KtapStream::new(Options::default(), false, order);
        let mut file = String::new();
        let mut states = Vec::new();
        for ev in events {
            match s.event(ev) {
                Some(Chunk::Append(t)) => file.push_str(&t),
                Some(Chunk::Replace(t)) => file = t,
                None => {}
            }
            states.push(file.clone());
        }
        states
    }

    fn events(r: &RunRecord, finish_order: &[usize]) -> Vec<RunnerEvent> {
        let mut evs = vec![RunnerEvent::RunStarted {
            total_jobs: r.jobs.len(),
            jobs_at_once: 2,
            start_unix: 0.0,
            planned: r
                .jobs
                .iter()
                .map(|j| JobRecord {
                    verdict: Verdict::NotRun,
                    attempts: vec![],
                    ..j.clone()
                })
                .collect(),
        }];
        for &i in finish_order {
            evs.push(RunnerEvent::JobFinished {
                record: r.jobs[i].clone(),
            });
        }
        evs.push(RunnerEvent::RunFinished { record: r.clone() });
        evs
    }

    #[test]
    fn a_stream_ends_as_the_report_in_either_order() {
        use AttemptResult::{Fail, Pass};
        let r = run(vec![
            job("a.pkt", "ipv4", Verdict::Pass, &[Pass]),
            job("a.pkt", "ipv6", Verdict::Pass, &[Pass]),
            job("b.pkt", "ipv4", Verdict::Fail, &[Fail]),
            job("b.pkt", "ipv6", Verdict::Pass, &[Pass]),
        ]);
        // b finishes first, a last.
        let evs = events(&r, &[2, 3, 0, 1]);
        let disc = streamed(StreamOrder::Discovery, &evs);
        let comp = streamed(StreamOrder::Completion, &evs);
        assert_eq!(disc.last().unwrap(), &render(&r));
        assert_eq!(comp.last().unwrap(), &render(&r));
        // In discovery order nothing past the header is written until a is done.
        assert_eq!(disc[3], "TAP version 13\n1..2\n");
        assert!(disc[4].contains(
            "\nok 1 selftests: net/packetdrill: a.pkt\n# selftests: net/packetdrill: b.pkt\n"
        ));
        assert!(disc[4].ends_with("\nnot ok 2 selftests: net/packetdrill: b.pkt # exit=1\n"));
        // In completion order b is written, as number 1, when it finishes.
        assert_eq!(comp[1], "TAP version 13\n1..2\n");
        assert!(
            comp[2].ends_with("\nnot ok 1 selftests: net/packetdrill: b.pkt # exit=1\n"),
            "{}",
            comp[2]
        );
        assert!(comp[4].ends_with("\nok 2 selftests: net/packetdrill: a.pkt\n"));
    }

    #[test]
    fn a_stopped_stream_lists_what_did_not_run() {
        use AttemptResult::Pass;
        let mut r = run(vec![
            job("a.pkt", "ipv4", Verdict::Pass, &[Pass]),
            job("b.pkt", "ipv4", Verdict::NotRun, &[]),
        ]);
        r.interrupted = Some(crate::model::StopSignal::Interrupt);
        let evs = events(&r, &[0]);
        let disc = streamed(StreamOrder::Discovery, &evs);
        assert_eq!(disc.last().unwrap(), &render(&r));
        assert!(disc
            .last()
            .unwrap()
            .contains("# ERROR not run: the run was stopped by SIGINT"));
    }
}
