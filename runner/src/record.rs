//! Building the record of a run: an [`Attempt`] from what its job process left
//! ([`JobExit`]), or for a job that could not run; a job's verdict from its
//! attempts ([`verdict_of`]); its [`JobRecord`] with the one command that
//! replays it ([`replay_command`], quoted by [`shell_quote`]); the packets an
//! attempt forwarded ([`Packets`]). Plain functions over data: the scheduler
//! calls them, nothing here starts or watches a process.

use crate::escape::clean_text;
use crate::kernel_features::Scope;
use crate::model::{
    Attempt, AttemptResult, Expectation, FailureKind, Job, JobRecord, LimitKind, TimeoutPer,
    Verdict,
};
use crate::protocol::PACKET_CAPTURE_LIMIT;
use netdrill_engine::outcome::{FailureKind as EngineFailureKind, Outcome, PacketDirection};
use std::fmt;

/// The packets an attempt forwarded (only with `--artifacts`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Packets {
    /// `(direction, unix nanoseconds, IP packet)`, in the order they came.
    pub kept: Vec<(PacketDirection, i128, Vec<u8>)>,
    kept_bytes: usize,
    pub dropped_packets: u64,
    pub dropped_bytes: u64,
}

impl Packets {
    /// Keep a packet, or count it as dropped past [`PACKET_CAPTURE_LIMIT`].
    pub fn add(&mut self, direction: PacketDirection, unix_nanos: i64, bytes: Vec<u8>) {
        // The job keeps to the limit; this holds even if it does not.
        if self.kept_bytes + bytes.len() > PACKET_CAPTURE_LIMIT {
            self.dropped_packets += 1;
            self.dropped_bytes += bytes.len() as u64;
            return;
        }
        self.kept_bytes += bytes.len();
        self.kept.push((direction, i128::from(unix_nanos), bytes));
    }

    /// The note for the log when packets were left out, if any were.
    pub fn dropped_note(&self) -> Option<String> {
        (self.dropped_packets > 0).then(|| {
            format!(
                "[netdrill: {} packets ({} bytes) past the {} MiB capture limit are not in packets.pcap]",
                self.dropped_packets,
                self.dropped_bytes,
                PACKET_CAPTURE_LIMIT >> 20
            )
        })
    }
}

/// How a reaped job process ended, as `wait4(2)` told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// It exited with this status.
    Code(i32),
    /// A signal (this number) killed it.
    Signal(i32),
    /// Another wait status (raw).
    Other(i32),
    /// `wait4` itself failed (why).
    Unknown(String),
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitStatus::Code(code) => write!(f, "exit status {code}"),
            ExitStatus::Signal(sig) => match nix::sys::signal::Signal::try_from(*sig) {
                Ok(s) => write!(f, "killed by {}", s.as_str()),
                Err(_) => write!(f, "killed by signal {sig}"),
            },
            ExitStatus::Other(status) => write!(f, "wait status {status:#x}"),
            ExitStatus::Unknown(why) => write!(f, "unknown status ({why})"),
        }
    }
}

/// Everything a finished job process left: what it said over the result pipe,
/// what it printed, and how it ended.
#[derive(Clone, Debug, PartialEq)]
pub struct JobExit {
    /// Wall-clock start, seconds since the Unix epoch.
    pub start_unix: f64,
    /// From its start to its exit.
    pub duration_secs: f64,
    pub status: ExitStatus,
    pub cpu_secs: Option<f64>,
    pub max_rss_kib: Option<u64>,
    /// The script line of the last event the engine started.
    pub last_line: Option<u32>,
    /// The engine's verdict, when it gave one.
    pub outcome: Option<Outcome>,
    /// Why the sandbox could not be built, when it could not.
    pub sandbox_failed: Option<String>,
    /// The caps the job went over, as its job process or cgroup told.
    pub limits_reached: Vec<LimitKind>,
    /// The first thing the job said that could not be read.
    pub protocol_error: Option<String>,
    /// Everything it printed, then its `-v` lines.
    pub log: String,
    pub packets: Packets,
}

/// The attempt number `number` of `job` from what its process left;
/// `timed_out` when the scheduler stopped it at its timeout. The packets go
/// apart (they are written as artifacts, not kept in the record). Its
/// message and log are safe to show ([`clean_text`]).
pub fn attempt_of(
    job: &Job,
    number: u32,
    exit: JobExit,
    timed_out: Option<TimeoutPer>,
) -> (Attempt, Packets) {
    let reached = exit.limits_reached.clone();
    let (attempt, packets) = raw_attempt_of(job, number, exit, timed_out);
    (cleaned(over_limit(job, attempt, &reached)), packets)
}

/// An attempt of a job that went over `reached` caps: one that did not pass
/// failed for that reason (the first cap), whatever else it says; one that
/// passed notes it in its log.
fn over_limit(job: &Job, mut attempt: Attempt, reached: &[LimitKind]) -> Attempt {
    let Some(&first) = reached.first() else {
        return attempt;
    };
    let said: Vec<String> = reached.iter().map(|k| k.describe(&job.limits)).collect();
    let reason = format!("the job went over {}", said.join(" and "));
    if attempt.result == AttemptResult::Pass {
        attempt.log.push_str(&format!("[netdrill: {reason}]\n"));
        return attempt;
    }
    if attempt.result != AttemptResult::Timeout {
        attempt.result = AttemptResult::Fail;
    }
    attempt.kind = Some(FailureKind::OverLimit(first));
    let before = std::mem::take(&mut attempt.message);
    attempt.message = if before.is_empty() {
        format!("{}: {reason}", job.file_name)
    } else {
        format!("{}: {reason}; {before}", job.file_name)
    };
    attempt
}

/// An attempt whose message and log went through [`clean_text`].
fn cleaned(mut attempt: Attempt) -> Attempt {
    attempt.message = clean_text(&attempt.message);
    attempt.log = clean_text(&attempt.log);
    attempt
}

fn raw_attempt_of(
    job: &Job,
    number: u32,
    exit: JobExit,
    timed_out: Option<TimeoutPer>,
) -> (Attempt, Packets) {
    let mut attempt = Attempt {
        number,
        result: AttemptResult::Crash,
        start_unix: exit.start_unix,
        duration_secs: exit.duration_secs,
        cpu_secs: exit.cpu_secs,
        max_rss_kib: exit.max_rss_kib,
        line: exit.last_line,
        kind: None,
        message: String::new(),
        mismatch: None,
        timing_slack: None,
        log: exit.log,
        artifacts: None,
    };
    let script = &job.file_name;
    if let Some(per) = timed_out {
        let secs = job.timeout.map_or(0, |t| t.as_secs());
        attempt.result = AttemptResult::Timeout;
        attempt.kind = Some(FailureKind::Timeout);
        let what = match per {
            TimeoutPer::Job => format!("timed out after {secs} seconds"),
            TimeoutPer::Script => format!(
                "timed out: with its other IP versions it ran for the script's {secs} seconds (--timeout-per script)"
            ),
        };
        attempt.message = match exit.last_line {
            Some(line) => {
                format!("{script}:{line}: {what} (the last event started on line {line})")
            }
            None => format!("{script}: {what} before its first event"),
        };
        return (attempt, exit.packets);
    }
    attempt.timing_slack = exit.outcome.as_ref().and_then(Outcome::timing_slack);
    match (exit.outcome, exit.sandbox_failed, exit.protocol_error) {
        (Some(Outcome::Pass { warnings, .. }), None, None) => {
            attempt.result = AttemptResult::Pass;
            attempt.line = None;
            if !warnings.is_empty() {
                let mut w = warnings.join("\n");
                w.push('\n');
                attempt.log.insert_str(0, &w);
            }
        }
        (Some(Outcome::Fail(f)), None, None) => {
            attempt.result = AttemptResult::Fail;
            attempt.kind = Some(FailureKind::Engine(f.kind));
            attempt.line = f.line;
            attempt.message = f.message;
            attempt.mismatch = f.mismatch;
        }
        (_, Some(sandbox), _) => {
            attempt.kind = Some(FailureKind::SandboxError);
            attempt.message = format!("{script}: {sandbox} ({})", exit.status);
        }
        (_, None, Some(protocol)) => {
            attempt.kind = Some(FailureKind::ProtocolError);
            attempt.message = format!("{script}: job process: {protocol} ({})", exit.status);
        }
        (None, None, None) => {
            attempt.kind = Some(FailureKind::Crash);
            let at = exit
                .last_line
                .map(|l| format!(" after starting line {l}"))
                .unwrap_or_default();
            attempt.message = format!(
                "{script}: the job process died without a result{at} ({})",
                exit.status
            );
            if let Some(last) = last_words(&attempt.log) {
                attempt.message.push_str(&format!(": {last}"));
            }
        }
    }
    (attempt, exit.packets)
}

/// The failed attempt of a job whose problem was found before it ran (see
/// [`Job::problem`]).
pub fn problem_attempt(job: &Job, problem: &str, start_unix: f64) -> Attempt {
    cleaned(Attempt {
        number: 1,
        result: AttemptResult::Fail,
        start_unix,
        duration_secs: 0.0,
        cpu_secs: None,
        max_rss_kib: None,
        line: None,
        kind: Some(FailureKind::Engine(EngineFailureKind::Option)),
        message: format!("{}: {problem}", job.file_name),
        mismatch: None,
        timing_slack: None,
        log: String::new(),
        artifacts: None,
    })
}

/// The attempt whose job process could not be started (`error` says why).
pub fn spawn_failed_attempt(job: &Job, number: u32, start_unix: f64, error: &str) -> Attempt {
    cleaned(Attempt {
        number,
        result: AttemptResult::Crash,
        start_unix,
        duration_secs: 0.0,
        cpu_secs: None,
        max_rss_kib: None,
        line: None,
        kind: Some(FailureKind::SpawnError),
        message: format!("{}: {error}", job.file_name),
        mismatch: None,
        timing_slack: None,
        log: String::new(),
        artifacts: None,
    })
}

/// What a dead job process said last that explains its death: a Rust panic's
/// message (the line after `panicked at`), else its last non-empty line that is
/// not a `note:`.
pub fn last_words(log: &str) -> Option<String> {
    let lines: Vec<&str> = log.lines().collect();
    if let Some(i) = lines.iter().rposition(|l| l.contains("panicked at")) {
        let detail = lines.get(i + 1).filter(|l| !l.trim().is_empty());
        return Some(match detail {
            Some(d) => format!("{} {}", lines[i].trim(), d.trim()),
            None => lines[i].trim().to_string(),
        });
    }
    lines
        .iter()
        .rev()
        .map(|l| l.trim())
        .find(|l| !l.is_empty() && !l.starts_with("note:"))
        .map(String::from)
}

/// The verdict of a job from its attempts and what its suite expects of it: an
/// expected failure is XFAIL; a pass is XPASS only when the failure was
/// certain ([`Expectation::Fails`]), a plain pass when it was only possible
/// ([`Expectation::MayFail`], as `ksft_runner.sh` under `KSFT_MACHINE_SLOW`).
pub fn verdict_of(attempts: &[Attempt], expected: Option<Expectation>) -> Verdict {
    let Some(last) = attempts.last() else {
        return Verdict::Error;
    };
    match (last.result, expected) {
        (AttemptResult::Pass, Some(Expectation::Fails)) => Verdict::Xpass,
        (AttemptResult::Pass, _) if attempts.len() > 1 => Verdict::Flaky,
        (AttemptResult::Pass, _) => Verdict::Pass,
        (AttemptResult::Fail, Some(_)) => Verdict::Xfail,
        (AttemptResult::Fail, None) => Verdict::Fail,
        (AttemptResult::Timeout, _) => Verdict::Timeout,
        (AttemptResult::Crash, _) => Verdict::Error,
    }
}

/// The record of `job` with this verdict and these attempts.
pub fn job_record(job: &Job, verdict: Verdict, attempts: Vec<Attempt>) -> JobRecord {
    let (verdict, skip_reason) = unsupported_verdict(job, verdict, attempts.last());
    JobRecord {
        id: job.id.clone(),
        path: job.path.clone(),
        args: job.args.clone(),
        verdict,
        skip_reason,
        xfail_reason: job.xfail.as_ref().map(|x| x.reason.clone()),
        attempts,
        replay_command: replay_command(job),
    }
}

/// The verdict and skip reason of `job` given its verdict from its attempts
/// and the last of them: a plain failure ([`Verdict::Fail`]) that a kernel
/// feature the probe found missing explains ([`is_unsupported_failure`]) is
/// a skip with its reason (kselftest's convention for missing support).
/// Every other verdict stands: a pass, a timeout, a crash, a failure the
/// suite expects, and a failure the missing feature does not explain.
pub fn unsupported_verdict(
    job: &Job,
    verdict: Verdict,
    last: Option<&Attempt>,
) -> (Verdict, Option<String>) {
    match (&job.unsupported, verdict, last) {
        (Some(why), Verdict::Fail, Some(last)) if is_unsupported_failure(job, last) => {
            (Verdict::Skip, Some(why.reason.clone()))
        }
        _ => (verdict, job.skip_reason.clone()),
    }
}

/// Whether a failed `attempt` of `job` is explained by a kernel feature the
/// probe found missing: a failure of the script (not a timeout or a crash),
/// and for a feature that only the init command meets (a sysctl), a failure
/// of the init command (a command's failure with no script line: the init
/// command's, before the first timed event, or the cleanup command's, which
/// puts such sysctls back; a timed command has its line). See
/// [`skips_without_retry`] for which of them are retried.
pub fn is_unsupported_failure(job: &Job, attempt: &Attempt) -> bool {
    let Some(unsupported) = &job.unsupported else {
        return false;
    };
    attempt.result == AttemptResult::Fail
        && (unsupported.scope == Scope::AnyFailure || is_untimed_command_failure(attempt))
}

/// A command's failure with no script line: the init command's or the
/// cleanup command's (a timed command has its line).
fn is_untimed_command_failure(attempt: &Attempt) -> bool {
    attempt.kind == Some(FailureKind::Engine(EngineFailureKind::Command)) && attempt.line.is_none()
}

/// An unsupported failure of the init command (the kernel refused what it
/// asked, the same way every time) is a skip at once. A later failure of such
/// a script is retried like any other: a script that needs the feature may
/// still pass on this kernel (it may only try the feature), and a failure
/// under load is a flake, not a skip; it is a skip only if the retry fails too.
pub fn skips_without_retry(job: &Job, attempt: &Attempt) -> bool {
    is_untimed_command_failure(attempt) && is_unsupported_failure(job, attempt)
}

/// One line that reruns this job alone, in a sandbox.
pub fn replay_command(job: &Job) -> String {
    let path = job.dir.join(&job.file_name);
    let mut cmd = format!(
        "netdrill run {} --ip-versions {}",
        shell_quote(&path.to_string_lossy()),
        job.id.ip_version
    );
    match job.timeout {
        Some(t) if t != crate::suite::DEFAULT_TIMEOUT => {
            cmd.push_str(&format!(" --timeout {}", t.as_secs()))
        }
        None => cmd.push_str(" --timeout 0"),
        _ => {}
    }
    cmd
}

/// A word for `sh`: as it is when it needs no quoting, else in `'...'`.
pub fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(result: AttemptResult) -> Attempt {
        Attempt {
            number: 1,
            result,
            start_unix: 0.0,
            duration_secs: 0.0,
            cpu_secs: None,
            max_rss_kib: None,
            line: None,
            kind: None,
            message: String::new(),
            mismatch: None,
            timing_slack: None,
            log: String::new(),
            artifacts: None,
        }
    }

    #[test]
    fn verdicts() {
        use AttemptResult::*;
        let fails = Some(Expectation::Fails);
        let may_fail = Some(Expectation::MayFail);
        assert_eq!(verdict_of(&[attempt(Pass)], None), Verdict::Pass);
        assert_eq!(
            verdict_of(&[attempt(Fail), attempt(Pass)], None),
            Verdict::Flaky
        );
        assert_eq!(
            verdict_of(&[attempt(Fail), attempt(Fail)], None),
            Verdict::Fail
        );
        assert_eq!(verdict_of(&[attempt(Fail)], fails), Verdict::Xfail);
        assert_eq!(verdict_of(&[attempt(Pass)], fails), Verdict::Xpass);
        assert_eq!(verdict_of(&[attempt(Timeout)], fails), Verdict::Timeout);
        assert_eq!(verdict_of(&[attempt(Crash)], None), Verdict::Error);
        assert_eq!(verdict_of(&[], None), Verdict::Error);
        // A failure that is only possible: failing is XFAIL, passing a pass.
        assert_eq!(verdict_of(&[attempt(Fail)], may_fail), Verdict::Xfail);
        assert_eq!(verdict_of(&[attempt(Pass)], may_fail), Verdict::Pass);
        assert_eq!(verdict_of(&[attempt(Timeout)], may_fail), Verdict::Timeout);
    }

    #[test]
    fn last_words_of_a_crash() {
        let panic =
            "thread 'main' panicked at src/x.rs:1:2:\nboom\nnote: run with RUST_BACKTRACE=1\n";
        assert_eq!(
            last_words(panic).unwrap(),
            "thread 'main' panicked at src/x.rs:1:2: boom"
        );
        assert_eq!(last_words("a\nb\n\n").unwrap(), "b");
        assert_eq!(last_words(""), None);
    }

    #[test]
    fn packet_capture_keeps_to_its_limit() {
        let mut p = Packets::default();
        p.add(
            PacketDirection::Injected,
            1,
            vec![0; PACKET_CAPTURE_LIMIT - 10],
        );
        p.add(PacketDirection::Sniffed, 2, vec![0; 11]);
        p.add(PacketDirection::Sniffed, 3, vec![0; 10]);
        assert_eq!(p.kept.len(), 2);
        assert_eq!(p.kept[1].1, 3);
        assert_eq!((p.dropped_packets, p.dropped_bytes), (1, 11));
        assert_eq!(
            p.dropped_note().unwrap(),
            "[netdrill: 1 packets (11 bytes) past the 4 MiB capture limit are not in packets.pcap]"
        );
        assert_eq!(Packets::default().dropped_note(), None);
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("/a/b.pkt"), "/a/b.pkt");
        assert_eq!(
            shell_quote("--local_ip=192.168.0.1"),
            "--local_ip=192.168.0.1"
        );
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn exit_statuses_read_as_before() {
        assert_eq!(ExitStatus::Code(101).to_string(), "exit status 101");
        assert_eq!(ExitStatus::Signal(9).to_string(), "killed by SIGKILL");
        assert_eq!(ExitStatus::Signal(99).to_string(), "killed by signal 99");
        assert_eq!(ExitStatus::Other(0x57f).to_string(), "wait status 0x57f");
    }
}
