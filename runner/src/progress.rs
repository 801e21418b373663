//! What a person sees while a run goes on: a progress bar with counts and the jobs
//! running now when its stream is a terminal, plain lines otherwise; a summary of
//! the failures and a closing count line at the end. The display goes to stdout,
//! or to stderr when a report is written to stdout (`--ktap -`).
//!
//! How much it says ([`Verbosity`]: `-q` only what did not pass and the count
//! line, `-v` also each job as it starts), and whether verdicts are coloured
//! ([`ColorChoice`]: `--color`, `NO_COLOR`), are the caller's choice.

use crate::model::{
    close_calls, JobId, JobRecord, RunRecord, RunnerEvent, Verdict, CLOSE_CALL_FRACTION,
};
use console::Style;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::Write;

/// How much the display says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Verbosity {
    /// `-q`: the jobs that did not pass, the failures and the count line.
    Quiet,
    /// A line per job (or a bar on a terminal), the failures, the counts.
    #[default]
    Normal,
    /// `-v`: also each job as it starts and the retries' reasons in full.
    Verbose,
}

/// `--color`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour when the display is a terminal and `NO_COLOR` is not set.
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether to colour a display on a stream that is (or not) a terminal,
    /// given the value of `NO_COLOR` (any non-empty value turns colour off in
    /// `auto`, as no-color.org asks).
    pub fn enabled(self, terminal: bool, no_color: Option<&str>) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => terminal && no_color.is_none_or(str::is_empty),
        }
    }
}

/// The style of a verdict word.
fn verdict_style(v: Verdict) -> Style {
    match v {
        Verdict::Pass | Verdict::Xfail => Style::new().green(),
        Verdict::Flaky => Style::new().yellow().bold(),
        Verdict::Skip | Verdict::NotRun => Style::new().cyan(),
        Verdict::Fail | Verdict::Xpass | Verdict::Timeout | Verdict::Error => {
            Style::new().red().bold()
        }
    }
}

/// `N job` or `N jobs`.
pub fn jobs(n: usize) -> String {
    if n == 1 {
        "1 job".into()
    } else {
        format!("{n} jobs")
    }
}

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
            Verdict::NotRun => {}
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
        Verdict::NotRun => format!("not run {name}"),
    }
}

/// [`result_line`] with its verdict word coloured.
pub fn colored_result_line(rec: &JobRecord) -> String {
    let line = result_line(rec);
    let word_end = if rec.verdict == Verdict::NotRun {
        "not run".len()
    } else {
        line.find(' ').unwrap_or(line.len())
    };
    let (word, rest) = line.split_at(word_end);
    format!(
        "{}{rest}",
        verdict_style(rec.verdict)
            .force_styling(true)
            .apply_to(word)
    )
}

/// The end-of-run summary: each failure with its script line and message, then
/// `N passed, N failed, N skipped` (and the other kinds when there are any).
pub fn summary(record: &RunRecord) -> String {
    let mut out = String::new();
    let failures: Vec<&JobRecord> = record
        .jobs
        .iter()
        .filter(|j| !j.verdict.is_success() && j.verdict != Verdict::NotRun)
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
    out.push_str(&close_calls_text(&record.jobs));
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
    let not_run = c(Verdict::NotRun);
    if let Some(signal) = record.interrupted {
        out.push_str(&format!(
            "\nInterrupted by {}: {} not run.\n",
            signal.name(),
            jobs(not_run)
        ));
    }
    out.push_str(&format!(
        "\nran {} in {:.2}s",
        jobs(record.jobs.len() - not_run),
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

/// The jobs printed as close calls at most.
const CLOSE_CALLS_SHOWN: usize = 8;

/// The jobs that passed but came within a quarter of a timing tolerance
/// ([`close_calls`]), one a line with the line of their closest call, or
/// nothing.
fn close_calls_text(jobs: &[JobRecord]) -> String {
    let close = close_calls(jobs, CLOSE_CALL_FRACTION, usize::MAX);
    if close.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "\nClose calls (a timed event within {:.0}% of its tolerance's edge):\n",
        CLOSE_CALL_FRACTION * 100.0
    );
    for (j, slack) in close.iter().take(CLOSE_CALLS_SHOWN) {
        let ms = |us: i64| us as f64 / 1000.0;
        let how = if slack.margin_usecs < 0 {
            format!(
                "missed by {:.3} ms of {:.3} ms on an attempt",
                ms(-slack.margin_usecs),
                ms(slack.tolerance_usecs)
            )
        } else {
            format!(
                "{:.3} ms of {:.3} ms left",
                ms(slack.margin_usecs),
                ms(slack.tolerance_usecs)
            )
        };
        out.push_str(&format!(
            "  {}:{} ({}): {how}\n",
            j.id.script, slack.line, j.id.ip_version
        ));
    }
    if close.len() > CLOSE_CALLS_SHOWN {
        out.push_str(&format!(
            "  and {} more (--json-full: each attempt's timing_slack)\n",
            close.len() - CLOSE_CALLS_SHOWN
        ));
    }
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
    verbosity: Verbosity,
    color: bool,
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
            verbosity: Verbosity::Normal,
            color: false,
        }
    }

    /// Say this much, in colour or not.
    pub fn with(mut self, verbosity: Verbosity, color: bool) -> Progress {
        self.verbosity = verbosity;
        self.color = color;
        self
    }

    fn line_of(&self, rec: &JobRecord) -> String {
        if self.color {
            colored_result_line(rec)
        } else {
            result_line(rec)
        }
    }

    fn word(&self, word: &str, style: Style) -> String {
        if self.color {
            style.force_styling(true).apply_to(word).to_string()
        } else {
            word.to_string()
        }
    }

    /// A line of the run's header, before the jobs (not with `--quiet`).
    pub fn header(&mut self, line: &str) {
        if self.verbosity != Verbosity::Quiet {
            self.say(line);
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
                ..
            } => {
                if let Some(pb) = &self.bar {
                    pb.set_length(*total_jobs as u64);
                } else if self.verbosity != Verbosity::Quiet {
                    self.say(&format!(
                        "running {}, {jobs_at_once} at once",
                        jobs(*total_jobs)
                    ));
                }
            }
            RunnerEvent::JobStarted { id, attempt } => {
                self.running.push(id.clone());
                if self.verbosity == Verbosity::Verbose && self.bar.is_none() {
                    self.say(&format!("start {} (try {attempt})", id.display_name()));
                }
                self.refresh();
            }
            RunnerEvent::JobSlow { id, elapsed_secs } => {
                let word = self.word("SLOW", Style::new().yellow());
                self.say(&format!(
                    "{word} {} still running after {elapsed_secs:.0}s",
                    id.display_name()
                ));
            }
            RunnerEvent::AttemptFailed { id, attempt } => {
                self.running.retain(|r| r != id);
                if self.verbosity != Verbosity::Quiet {
                    let word = self.word("RETRY", Style::new().yellow());
                    let why = if self.verbosity == Verbosity::Verbose {
                        attempt.message.trim_end()
                    } else {
                        attempt.message.lines().next().unwrap_or("")
                    };
                    self.say(&format!(
                        "{word} {} (try {} failed: {why})",
                        id.display_name(),
                        attempt.number
                    ));
                }
                self.refresh();
            }
            RunnerEvent::JobFinished { record } => {
                self.running.retain(|r| r != &record.id);
                self.counts.add(record.verdict);
                let quiet_pass = self.verbosity == Verbosity::Quiet
                    && matches!(
                        record.verdict,
                        Verdict::Pass | Verdict::Xfail | Verdict::Skip
                    );
                let line = self.line_of(record);
                if let Some(pb) = &self.bar {
                    pb.inc(1);
                    if record.verdict != Verdict::Pass && !quiet_pass {
                        pb.println(line);
                    }
                } else if !quiet_pass {
                    self.say(&line);
                }
                self.refresh();
            }
            RunnerEvent::Interrupted => {
                self.say("interrupted: no new jobs; stopping the running ones");
            }
            RunnerEvent::KernelSplat { splat } => {
                let word = self.word("KERNEL", Style::new().red().bold());
                self.say(&format!("{word} {}", splat.title));
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
    use netdrill_engine::outcome::TimingSlack;

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
                    timing_slack: None,
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
                kernel_features: None,
            },
            start_unix: 10.0,
            end_unix: 12.5,
            jobs_at_once: 1,
            tolerance_usecs: 4000,
            interrupted: None,
            jobs: vec![ok, bad, skip],
            kernel_splats: vec![],
            vm: None,
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
        assert_eq!(jobs(1), "1 job");
        assert_eq!(jobs(0), "0 jobs");
    }

    #[test]
    fn close_calls_are_the_passing_jobs_within_a_quarter_of_their_tolerance() {
        let slack = |line, margin_usecs, tolerance_usecs| TimingSlack {
            line,
            margin_usecs,
            tolerance_usecs,
        };
        let with = |script: &str, verdict, slacks: &[TimingSlack]| {
            let mut r = rec(script, verdict, None, "");
            let first = r.attempts[0].clone();
            r.attempts = slacks
                .iter()
                .enumerate()
                .map(|(i, s)| Attempt {
                    number: i as u32 + 1,
                    timing_slack: Some(*s),
                    ..first.clone()
                })
                .collect();
            r
        };
        let jobs = vec![
            // 30% left: not close.
            with("roomy.pkt", Verdict::Pass, &[slack(3, 1_200, 4_000)]),
            // 24% of 25 ms: close, though 6 ms is a lot of microseconds.
            with("wide.pkt", Verdict::Pass, &[slack(9, 6_000, 25_000)]),
            // 5%: the closest of the passes.
            with("edge.pkt", Verdict::Pass, &[slack(12, 200, 4_000)]),
            // Exactly 25%: not within.
            with("quarter.pkt", Verdict::Pass, &[slack(4, 1_000, 4_000)]),
            // Flaky: its failed attempt missed, the tightest of all.
            with(
                "flaky.pkt",
                Verdict::Flaky,
                &[slack(7, -1_500, 4_000), slack(7, 3_000, 4_000)],
            ),
            // A failure is in the failures already; no slack is no call.
            with("failed.pkt", Verdict::Fail, &[slack(5, -10, 4_000)]),
            rec("untimed.pkt", Verdict::Pass, None, ""),
        ];
        let close = close_calls(&jobs, CLOSE_CALL_FRACTION, 10);
        let names: Vec<&str> = close.iter().map(|(j, _)| j.id.script.as_str()).collect();
        assert_eq!(names, ["flaky.pkt", "edge.pkt", "wide.pkt"]);
        assert_eq!(close_calls(&jobs, CLOSE_CALL_FRACTION, 1).len(), 1);
        let text = close_calls_text(&jobs);
        assert_eq!(
            text,
            "\nClose calls (a timed event within 25% of its tolerance's edge):\n\
             \x20 flaky.pkt:7 (ipv4): missed by 1.500 ms of 4.000 ms on an attempt\n\
             \x20 edge.pkt:12 (ipv4): 0.200 ms of 4.000 ms left\n\
             \x20 wide.pkt:9 (ipv4): 6.000 ms of 25.000 ms left\n"
        );
        assert_eq!(close_calls_text(&jobs[..1]), "");
    }

    #[test]
    fn colour_follows_the_choice_the_terminal_and_no_color() {
        assert!(ColorChoice::Auto.enabled(true, None));
        assert!(ColorChoice::Auto.enabled(true, Some("")));
        assert!(!ColorChoice::Auto.enabled(true, Some("1")));
        assert!(!ColorChoice::Auto.enabled(false, None));
        assert!(ColorChoice::Always.enabled(false, Some("1")));
        assert!(!ColorChoice::Never.enabled(true, None));
        let bad = rec("b.pkt", Verdict::Fail, Some(7), "b.pkt:7: error");
        assert_eq!(
            colored_result_line(&bad),
            "\u{1b}[31m\u{1b}[1mFAIL\u{1b}[0m b.pkt ipv4 (1.23s): b.pkt:7: error"
        );
    }

    #[test]
    fn quiet_shows_only_what_did_not_pass() {
        use std::sync::{Arc, Mutex};
        #[derive(Clone, Default)]
        struct Buf(Arc<Mutex<Vec<u8>>>);
        impl Write for Buf {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buf = Buf::default();
        let mut p = Progress::new(false, Box::new(buf.clone())).with(Verbosity::Quiet, false);
        p.event(&RunnerEvent::RunStarted {
            total_jobs: 1,
            jobs_at_once: 1,
            start_unix: 0.0,
            planned: vec![],
        });
        p.event(&RunnerEvent::JobFinished {
            record: rec("a.pkt", Verdict::Pass, None, ""),
        });
        p.event(&RunnerEvent::JobFinished {
            record: rec("b.pkt", Verdict::Fail, Some(7), "b.pkt:7: error"),
        });
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text, "FAIL b.pkt ipv4 (1.23s): b.pkt:7: error\n");
        let buf = Buf::default();
        let mut p = Progress::new(false, Box::new(buf.clone())).with(Verbosity::Verbose, false);
        p.event(&RunnerEvent::RunStarted {
            total_jobs: 1,
            jobs_at_once: 1,
            start_unix: 0.0,
            planned: vec![],
        });
        p.event(&RunnerEvent::JobStarted {
            id: rec("a.pkt", Verdict::Pass, None, "").id,
            attempt: 1,
        });
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text, "running 1 job, 1 at once\nstart a.pkt ipv4 (try 1)\n");
    }
}
