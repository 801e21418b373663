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
//! A job's stderr (its log and diagnostic) comes before its subtest line, as
//! packetdrill's stderr does under kselftest. Our own notes (retries) are written
//! as diagnostics of the script's TAP (`# # ...`) and avoid the words NIPA's text
//! checks take for results (`[FAIL]`, ` FAIL:`, `SKIP:`, ` # SKIP`).

use super::{headline, script_groups, Options, ScriptGroup, ScriptOutcome};
use crate::model::{Attempt, AttemptResult, JobRecord, RunRecord, Verdict};

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
    Writer {
        out: String::new(),
        opts,
        nested: false,
    }
    .run(run)
}

/// KTAP v1 with each script's subtests indented by two spaces.
pub fn render_nested_with(run: &RunRecord, opts: &Options) -> String {
    Writer {
        out: String::new(),
        opts,
        nested: true,
    }
    .run(run)
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

    /// Counts over scripts, as the kselftest runner counts programs.
    pub fn of_scripts(run: &RunRecord) -> Totals {
        let mut t = Totals::default();
        for g in script_groups(run) {
            match g.outcome() {
                ScriptOutcome::Pass => t.pass += 1,
                ScriptOutcome::Fail | ScriptOutcome::Timeout => t.fail += 1,
                ScriptOutcome::Error => t.error += 1,
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
                Verdict::Error => t.error += 1,
                Verdict::Xfail => t.xfail += 1,
                Verdict::Xpass => t.xpass += 1,
                Verdict::Skip => t.skip += 1,
            }
        }
        t
    }
}

struct Writer<'a> {
    out: String,
    opts: &'a Options,
    /// KTAP v1 with indentation instead of kselftest's `# ` prefix.
    nested: bool,
}

impl Writer<'_> {
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
        self.line(if self.nested {
            "KTAP version 1"
        } else {
            "TAP version 13"
        });
        self.line(&format!("1..{}", groups.len()));
        for (i, g) in groups.iter().enumerate() {
            self.script(i + 1, g);
        }
        self.line(&Totals::of_scripts(run).line());
        if run.interrupted.is_some() {
            self.line("Bail out! run interrupted: scripts that did not start are missing");
        }
        self.out
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
            },
            start_unix: 0.0,
            end_unix: 1.0,
            jobs_at_once: 1,
            tolerance_usecs: 4000,
            interrupted: None,
            jobs,
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
        r.interrupted = Some(crate::model::StopSignal::Interrupt);
        assert!(render(&r)
            .ends_with("Bail out! run interrupted: scripts that did not start are missing\n"));
    }
}
