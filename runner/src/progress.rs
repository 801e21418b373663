//! What a person sees while a run goes on: a progress bar with counts and the jobs
//! running now when its stream is a terminal, plain lines otherwise; a summary of
//! the failures and a closing count line at the end. The display goes to stdout,
//! or to stderr when a report is written to stdout (`--ktap -`).

use crate::model::{JobId, JobRecord, RunRecord, RunnerEvent, Verdict};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::Write;

/// Counts shown while running.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Counts {
    passed: usize,
    failed: usize,
    flaky: usize,
    skipped: usize,
}

impl Counts {
    fn add(&mut self, v: Verdict) {
        match v {
            Verdict::Pass | Verdict::Xfail => self.passed += 1,
            Verdict::Flaky => self.flaky += 1,
            Verdict::Skip => self.skipped += 1,
            Verdict::Fail | Verdict::Xpass | Verdict::Timeout | Verdict::Error => self.failed += 1,
        }
    }
}

/// One job's result as a plain line: `ok tcp_x.pkt ipv4 (1.23s)`,
/// `FAIL tcp_x.pkt ipv4 (0.10s): tcp_x.pkt:12: ...`.
pub fn result_line(rec: &JobRecord) -> String {
    let name = rec.id.display_name();
    let secs = rec.total_secs();
    let headline = rec
        .last_attempt()
        .map(|a| a.message.lines().next().unwrap_or("").to_string())
        .unwrap_or_default();
    let tries = rec.attempts.len();
    match rec.verdict {
        Verdict::Pass => format!("ok {name} ({secs:.2}s)"),
        Verdict::Flaky => {
            let first = rec
                .attempts
                .first()
                .map(|a| a.message.lines().next().unwrap_or("").to_string())
                .unwrap_or_default();
            format!("FLAKY {name} ({secs:.2}s, passed on try {tries}): {first}")
        }
        Verdict::Skip => format!(
            "skip {name}: {}",
            rec.skip_reason.as_deref().unwrap_or("skipped")
        ),
        Verdict::Xfail => format!(
            "xfail {name} ({secs:.2}s): {}",
            rec.xfail_reason.as_deref().unwrap_or("")
        ),
        Verdict::Xpass => format!(
            "XPASS {name} ({secs:.2}s): passed but expected to fail: {}",
            rec.xfail_reason.as_deref().unwrap_or("")
        ),
        Verdict::Fail => format!("FAIL {name} ({secs:.2}s): {headline}"),
        Verdict::Timeout => format!("TIMEOUT {name} ({secs:.2}s): {headline}"),
        Verdict::Error => format!("ERROR {name} ({secs:.2}s): {headline}"),
    }
}

/// The end-of-run summary: each failure with its script line and message, then
/// `N passed, N failed, N skipped` (and the other kinds when there are any).
pub fn summary(record: &RunRecord) -> String {
    let mut out = String::new();
    let failures: Vec<&JobRecord> = record
        .jobs
        .iter()
        .filter(|j| !j.verdict.is_success())
        .collect();
    if !failures.is_empty() {
        out.push_str("\nFailures:\n");
        for j in &failures {
            let (line, message) = j
                .last_attempt()
                .map(|a| (a.line, a.message.as_str()))
                .unwrap_or((None, ""));
            let place = match line {
                Some(l) => format!("{}:{l}", j.id.script),
                None => j.id.script.clone(),
            };
            let kind = match j.verdict {
                Verdict::Timeout => "timeout",
                Verdict::Error => "error",
                Verdict::Xpass => "unexpected pass",
                _ => "fail",
            };
            out.push_str(&format!("  {place} ({}, {kind})\n", j.id.ip_version));
            for l in message.lines().take(12) {
                out.push_str(&format!("      {l}\n"));
            }
            if j.verdict == Verdict::Xpass {
                out.push_str(&format!(
                    "      expected to fail: {}\n",
                    j.xfail_reason.as_deref().unwrap_or("")
                ));
            }
            out.push_str(&format!("      replay: {}\n", j.replay_command));
        }
    }
    let c = |v| record.count(v);
    let passed = c(Verdict::Pass) + c(Verdict::Flaky) + c(Verdict::Xfail);
    let failed = c(Verdict::Fail) + c(Verdict::Timeout) + c(Verdict::Error) + c(Verdict::Xpass);
    let mut extra = Vec::new();
    for (v, what) in [
        (Verdict::Flaky, "flaky"),
        (Verdict::Xfail, "expected failures"),
        (Verdict::Xpass, "unexpected passes"),
        (Verdict::Timeout, "timed out"),
        (Verdict::Error, "errors"),
    ] {
        if c(v) > 0 {
            extra.push(format!("{} {what}", c(v)));
        }
    }
    if record.interrupted.is_some() {
        out.push_str("\nInterrupted: jobs that did not finish are not counted.\n");
    }
    out.push_str(&format!(
        "\nran {} jobs in {:.2}s",
        record.jobs.len(),
        (record.end_unix - record.start_unix).max(0.0)
    ));
    if !extra.is_empty() {
        out.push_str(&format!(" ({})", extra.join(", ")));
    }
    out.push_str(&format!(
        "\n{passed} passed, {failed} failed, {} skipped\n",
        c(Verdict::Skip)
    ));
    out
}

/// Where the display goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    /// Whether this stream is a terminal (then the bar is the default).
    pub fn is_terminal(self) -> bool {
        use std::io::IsTerminal;
        match self {
            Stream::Stdout => std::io::stdout().is_terminal(),
            Stream::Stderr => std::io::stderr().is_terminal(),
        }
    }
}

/// The human display of a run.
pub struct Progress {
    bar: Option<ProgressBar>,
    counts: Counts,
    running: Vec<JobId>,
    out: Box<dyn Write + Send>,
}

impl Progress {
    /// A progress bar on stdout when `bar` is set, plain lines on `out` otherwise.
    pub fn new(bar: bool, out: Box<dyn Write + Send>) -> Progress {
        Progress::with_target(bar, out, ProgressDrawTarget::stdout())
    }

    /// The display on `stream`: a bar when `bar` is set, plain lines otherwise.
    pub fn on(stream: Stream, bar: bool) -> Progress {
        match stream {
            Stream::Stdout => Progress::new(bar, Box::new(std::io::stdout())),
            Stream::Stderr => Progress::with_target(
                bar,
                Box::new(std::io::stderr()),
                ProgressDrawTarget::stderr(),
            ),
        }
    }

    fn with_target(bar: bool, out: Box<dyn Write + Send>, target: ProgressDrawTarget) -> Progress {
        Progress {
            bar: bar.then(|| {
                let pb = ProgressBar::with_draw_target(Some(0), target);
                pb.set_style(
                    ProgressStyle::with_template(
                        "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {wide_msg}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                pb.enable_steady_tick(std::time::Duration::from_millis(200));
                pb
            }),
            counts: Counts::default(),
            running: Vec::new(),
            out,
        }
    }

    fn say(&mut self, line: &str) {
        match &self.bar {
            Some(pb) => pb.println(line),
            None => {
                let _ = writeln!(self.out, "{line}");
                let _ = self.out.flush();
            }
        }
    }

    fn refresh(&self) {
        if let Some(pb) = &self.bar {
            let c = self.counts;
            let names: Vec<String> = self.running.iter().map(|id| id.display_name()).collect();
            let mut running = names.iter().take(3).cloned().collect::<Vec<_>>().join(", ");
            if names.len() > 3 {
                running.push_str(&format!(" +{}", names.len() - 3));
            }
            pb.set_message(format!(
                "{} passed, {} failed, {} flaky, {} skipped | running: {running}",
                c.passed, c.failed, c.flaky, c.skipped
            ));
        }
    }

    /// Show one event.
    pub fn event(&mut self, ev: &RunnerEvent) {
        match ev {
            RunnerEvent::RunStarted {
                total_jobs,
                jobs_at_once,
            } => {
                if let Some(pb) = &self.bar {
                    pb.set_length(*total_jobs as u64);
                } else {
                    self.say(&format!(
                        "running {total_jobs} jobs, {jobs_at_once} at once"
                    ));
                }
            }
            RunnerEvent::JobStarted { id, .. } => {
                self.running.push(id.clone());
                self.refresh();
            }
            RunnerEvent::JobSlow { id, elapsed_secs } => {
                self.say(&format!(
                    "SLOW {} still running after {elapsed_secs:.0}s",
                    id.display_name()
                ));
            }
            RunnerEvent::AttemptFailed { id, attempt } => {
                self.running.retain(|r| r != id);
                let headline = attempt.message.lines().next().unwrap_or("");
                self.say(&format!(
                    "RETRY {} (try {} failed: {headline})",
                    id.display_name(),
                    attempt.number
                ));
                self.refresh();
            }
            RunnerEvent::JobFinished { record } => {
                self.running.retain(|r| r != &record.id);
                self.counts.add(record.verdict);
                if let Some(pb) = &self.bar {
                    pb.inc(1);
                    if record.verdict != Verdict::Pass {
                        pb.println(result_line(record));
                    }
                } else {
                    self.say(&result_line(record));
                }
                self.refresh();
            }
            RunnerEvent::Interrupted => {
                self.say("interrupted: no new jobs; stopping the running ones");
            }
            RunnerEvent::RunFinished { record } => {
                if let Some(pb) = self.bar.take() {
                    pb.finish_and_clear();
                }
                let _ = write!(self.out, "{}", summary(record));
                let _ = self.out.flush();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Attempt, AttemptResult, HostInfo};

    fn rec(script: &str, verdict: Verdict, line: Option<u32>, message: &str) -> JobRecord {
        JobRecord {
            id: JobId {
                suite: "s".into(),
                script: script.into(),
                ip_version: "ipv4".into(),
            },
            path: script.into(),
            args: vec![],
            verdict,
            skip_reason: (verdict == Verdict::Skip).then(|| "why".to_string()),
            xfail_reason: None,
            attempts: if verdict == Verdict::Skip {
                vec![]
            } else {
                vec![Attempt {
                    number: 1,
                    result: AttemptResult::Fail,
                    start_unix: 0.0,
                    duration_secs: 1.234,
                    cpu_secs: None,
                    max_rss_kib: None,
                    line,
                    kind: None,
                    message: message.into(),
                    mismatch: None,
                    log: String::new(),
                    artifacts: None,
                }]
            },
            replay_command: format!("netdrill run {script} --ip-versions ipv4"),
        }
    }

    #[test]
    fn lines_and_summary() {
        let ok = rec("a.pkt", Verdict::Pass, None, "");
        let bad = rec("b.pkt", Verdict::Fail, Some(7), "b.pkt:7: error\nmore");
        let skip = rec("c.pkt", Verdict::Skip, None, "");
        assert_eq!(result_line(&ok), "ok a.pkt ipv4 (1.23s)");
        assert_eq!(result_line(&bad), "FAIL b.pkt ipv4 (1.23s): b.pkt:7: error");
        assert_eq!(result_line(&skip), "skip c.pkt ipv4: why");
        let record = RunRecord {
            host: HostInfo {
                hostname: "h".into(),
                kernel_release: "k".into(),
                netdrill_version: "v".into(),
            },
            start_unix: 10.0,
            end_unix: 12.5,
            jobs_at_once: 1,
            tolerance_usecs: 4000,
            interrupted: None,
            jobs: vec![ok, bad, skip],
        };
        let s = summary(&record);
        assert!(
            s.contains("  b.pkt:7 (ipv4, fail)\n      b.pkt:7: error\n      more\n"),
            "{s}"
        );
        assert!(
            s.ends_with("\nran 3 jobs in 2.50s\n1 passed, 1 failed, 1 skipped\n"),
            "{s}"
        );
    }
}
