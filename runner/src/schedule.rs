//! Running the jobs: a pool of job processes, a few new ones a second, each with
//! its timeout, retries, and Ctrl-C handling; events for reporters as things happen
//! and a [`RunRecord`] at the end.
//!
//! One thread does it all with `poll(2)`: the result and output pipes of every
//! running job, a pidfd per job process, and a self-pipe for SIGINT/SIGTERM/SIGHUP.
//! A job's process group is killed (SIGTERM, then SIGKILL after a grace period)
//! on timeout and on interruption, and always SIGKILLed once its first process
//! has exited, while that process is still an unreaped zombie (so the group id
//! cannot have been reused).

use crate::durations::Durations;
use crate::job_child::Simulate;
use crate::model::{
    host_info, Attempt, AttemptResult, FailureKind, Job, JobId, JobRecord, RunRecord, RunnerEvent,
    Verdict,
};
use crate::protocol::{hex_decode, JobMessage, JobSpec, PACKET_CAPTURE_LIMIT};
use netdrill_engine::outcome::{FailureKind as EngineFailureKind, Outcome, PacketDirection};
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::collections::VecDeque;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How much of a job's output is kept.
const LOG_LIMIT: usize = 1 << 20;
/// Longest result line accepted from a job.
const RESULT_LINE_LIMIT: usize = 16 << 20;
/// How long to wait for a job's pipes to close once its process has exited.
const DRAIN_LIMIT: Duration = Duration::from_secs(2);

/// How to run the jobs.
#[derive(Clone, Debug)]
pub struct ScheduleSettings {
    pub jobs_at_once: usize,
    /// Extra attempts for a job that did not pass.
    pub retries: u32,
    /// Least time between two job starts (sandbox creation at full rate disturbs the
    /// timing of the jobs already running).
    pub start_interval: Duration,
    /// Between SIGTERM and SIGKILL.
    pub grace: Duration,
    /// A [`RunnerEvent::JobSlow`] after each period a job keeps running.
    pub slow_period: Duration,
    /// The program to run as the job child (`netdrill`, which knows `__job`).
    pub job_exe: PathBuf,
    /// `--tolerance_usecs` in effect, for the record.
    pub tolerance_usecs: u64,
    /// Where past durations are read from and written to.
    pub durations: Option<PathBuf>,
    /// `--artifacts`: each failed attempt's log, packets, expected vs actual
    /// packet and replay command go under this folder (see
    /// [`crate::report::artifacts`]); jobs then forward their packets.
    pub artifacts: Option<PathBuf>,
}

/// New jobs per second at most, by default (`--start-rate`).
pub const DEFAULT_START_RATE: f64 = 60.0;

impl ScheduleSettings {
    /// The default number of jobs at once: twelve per CPU, at most 64.
    ///
    /// A job mostly sleeps (about 0.06 s of CPU over 0.35 s on the kernel
    /// suite). Measured on a 2-vCPU VM (HZ=250), kernel suite, 306 rows
    /// compared with packetdrill run alone: -j 4 to -j 24 all turned one or two
    /// rows per run on average, always the same kernel-timer-bound scripts (see
    /// ci/README.md, "Parallel runs and flakes"), while the wall time fell from
    /// 34 s to 9 s; -j 32 turned two a run. Parallelism at all, not its degree,
    /// is what exposes them, so the default takes the speed.
    pub fn default_jobs_at_once() -> usize {
        (12 * std::thread::available_parallelism().map_or(1, |n| n.get())).min(64)
    }
}

impl Default for ScheduleSettings {
    fn default() -> Self {
        ScheduleSettings {
            jobs_at_once: Self::default_jobs_at_once(),
            retries: 0,
            start_interval: Duration::from_secs_f64(1.0 / DEFAULT_START_RATE),
            grace: Duration::from_secs(2),
            slow_period: Duration::from_secs(15),
            job_exe: PathBuf::from("/proc/self/exe"),
            tolerance_usecs: 4000,
            durations: None,
            artifacts: None,
        }
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// `'...'` quoting for a shell, when needed.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
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

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kill {
    None,
    Termed { at: Instant },
    Killed,
}

/// Why a job's processes are being stopped.
#[derive(Clone, Copy, Debug, PartialEq)]
enum StopReason {
    Timeout,
    Interrupt,
}

/// The packets an attempt forwarded (only with `--artifacts`).
#[derive(Default)]
struct Packets {
    kept: Vec<(PacketDirection, i128, Vec<u8>)>,
    kept_bytes: usize,
    dropped_packets: u64,
    dropped_bytes: u64,
}

impl Packets {
    fn add(&mut self, direction: PacketDirection, unix_nanos: i64, bytes: Vec<u8>) {
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
    fn dropped_note(&self) -> Option<String> {
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

/// A job process being watched.
struct Running {
    index: usize,
    attempt: u32,
    pid: Pid,
    pidfd: Option<OwnedFd>,
    results: Option<std::fs::File>,
    result_buf: Vec<u8>,
    log: Option<std::fs::File>,
    log_buf: Vec<u8>,
    log_truncated: bool,
    last_line: Option<u32>,
    outcome: Option<Outcome>,
    sandbox_failed: Option<String>,
    protocol_error: Option<String>,
    verbose: Vec<String>,
    packets: Packets,
    started: Instant,
    start_unix: f64,
    deadline: Option<Instant>,
    next_slow: Instant,
    kill: Kill,
    stop: Option<StopReason>,
    exited_at: Option<Instant>,
}

impl Running {
    fn pipes_open(&self) -> bool {
        self.results.is_some() || self.log.is_some()
    }

    fn signal(&mut self, sig: Signal) {
        // The group leader is not reaped before we are done with it, so the group
        // id still names this job's group.
        let _ = killpg(self.pid, sig);
    }

    fn read_results(&mut self) {
        let Some(file) = self.results.as_mut() else {
            return;
        };
        let mut chunk = [0u8; 16384];
        loop {
            match file.read(&mut chunk) {
                Ok(0) => {
                    self.results = None;
                    break;
                }
                Ok(n) => self.result_buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.protocol_error = Some(format!("reading the result pipe: {e}"));
                    self.results = None;
                    break;
                }
            }
        }
        while let Some(pos) = self.result_buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.result_buf.drain(..=pos).collect();
            self.handle_message(&line[..line.len() - 1]);
        }
        if self.result_buf.len() > RESULT_LINE_LIMIT {
            self.protocol_error = Some("a result line longer than 16 MiB".into());
            self.result_buf.clear();
        }
        if self.results.is_none() && !self.result_buf.is_empty() {
            let rest = std::mem::take(&mut self.result_buf);
            self.handle_message(&rest);
        }
    }

    fn handle_message(&mut self, line: &[u8]) {
        if line.is_empty() {
            return;
        }
        match serde_json::from_slice::<JobMessage>(line) {
            Ok(JobMessage::Line { line }) => self.last_line = Some(line),
            Ok(JobMessage::Verbose { text }) => {
                if self.verbose.len() < 100_000 {
                    self.verbose.push(text)
                }
            }
            Ok(JobMessage::Packet {
                direction,
                unix_nanos,
                hex,
            }) => match hex_decode(&hex) {
                Some(bytes) => self.packets.add(direction, unix_nanos, bytes),
                None => {
                    self.protocol_error
                        .get_or_insert_with(|| "a packet that is not hex".into());
                }
            },
            Ok(JobMessage::PacketsDropped { packets, bytes }) => {
                self.packets.dropped_packets += packets;
                self.packets.dropped_bytes += bytes;
            }
            Ok(JobMessage::SandboxFailed { message }) => self.sandbox_failed = Some(message),
            Ok(JobMessage::Finished { outcome }) => self.outcome = Some(outcome),
            Err(e) => {
                self.protocol_error.get_or_insert_with(|| {
                    format!(
                        "unreadable result line ({e}): {}",
                        String::from_utf8_lossy(&line[..line.len().min(200)])
                    )
                });
            }
        }
    }

    fn read_log(&mut self) {
        let Some(file) = self.log.as_mut() else {
            return;
        };
        let mut chunk = [0u8; 16384];
        loop {
            match file.read(&mut chunk) {
                Ok(0) => {
                    self.log = None;
                    break;
                }
                Ok(n) => {
                    let room = LOG_LIMIT.saturating_sub(self.log_buf.len());
                    if n > room {
                        self.log_truncated = true;
                    }
                    self.log_buf.extend_from_slice(&chunk[..n.min(room)]);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    self.log = None;
                    break;
                }
            }
        }
    }

    /// Whether the job process has exited (without reaping it).
    fn check_exited(&mut self) {
        use nix::sys::wait::{waitid, Id, WaitPidFlag, WaitStatus};
        if self.exited_at.is_some() {
            return;
        }
        let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
        match waitid(Id::Pid(self.pid), flags) {
            Ok(WaitStatus::StillAlive) => {}
            Ok(_) | Err(_) => {
                self.exited_at = Some(Instant::now());
                // Whatever the job left in its group goes now.
                self.signal(Signal::SIGKILL);
                self.kill = Kill::Killed;
            }
        }
    }
}

/// What the reaped process said about itself.
struct Reaped {
    status: String,
    cpu_secs: Option<f64>,
    max_rss_kib: Option<u64>,
}

fn reap(pid: Pid) -> Reaped {
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data; wait4 fills it and status.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = loop {
        // SAFETY: valid pointers to locals.
        let r = unsafe { libc::wait4(pid.as_raw(), &mut status, 0, &mut usage) };
        if r < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
            continue;
        }
        break r;
    };
    if r < 0 {
        return Reaped {
            status: format!("unknown status ({})", std::io::Error::last_os_error()),
            cpu_secs: None,
            max_rss_kib: None,
        };
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let status = if libc::WIFEXITED(status) {
        format!("exit status {}", libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        let sig = libc::WTERMSIG(status);
        match Signal::try_from(sig) {
            Ok(s) => format!("killed by {}", s.as_str()),
            Err(_) => format!("killed by signal {sig}"),
        }
    } else {
        format!("wait status {status:#x}")
    };
    Reaped {
        status,
        cpu_secs: Some(tv(usage.ru_utime) + tv(usage.ru_stime)),
        max_rss_kib: u64::try_from(usage.ru_maxrss).ok(),
    }
}

fn pidfd_open(pid: Pid) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: the kernel just gave us this fd.
    Some(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

fn set_nonblocking(fd: &OwnedFd) -> nix::Result<()> {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    let flags = OFlag::from_bits_truncate(fcntl(fd, FcntlArg::F_GETFL)?);
    fcntl(fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
    Ok(())
}

/// survive exec in the child (called from `pre_exec`, async-signal-safe).
pub(crate) fn keep_across_exec(fd: RawFd) -> std::io::Result<()> {
    // SAFETY: fcntl on an fd number is async-signal-safe.
    if unsafe { libc::fcntl(fd, libc::F_SETFD, 0) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Start the job process for one attempt.
fn spawn(job: &Job, settings: &ScheduleSettings) -> std::io::Result<(Pid, OwnedFd, OwnedFd)> {
    let spec = JobSpec {
        dir: job.dir.clone(),
        script: job.file_name.clone(),
        args: job.args.clone(),
        sysctls: job.sysctls.clone(),
        capture_packets: settings.artifacts.is_some(),
    };
    let spec_json = serde_json::to_string(&spec).map_err(std::io::Error::other)?;
    let (results_r, results_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
    let (log_r, log_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
    let result_fd = results_w.as_raw_fd();
    let mut cmd = Command::new(&settings.job_exe);
    cmd.arg0("netdrill")
        .arg("__job")
        .arg("--result-fd")
        .arg(result_fd.to_string())
        .arg("--spec")
        .arg(spec_json);
    let name = format!("{}/{} {}", job.id.suite, job.id.script, job.id.ip_version);
    if let Some(sim) = Simulate::from_env(&name) {
        cmd.arg("--simulate").arg(sim.as_str());
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::from(log_w.try_clone()?))
        .stderr(Stdio::from(log_w))
        .process_group(0);
    let parent = nix::unistd::getpid().as_raw();
    // SAFETY: only async-signal-safe calls (fcntl, prctl, getppid) in the child.
    unsafe {
        cmd.pre_exec(move || {
            keep_across_exec(result_fd)?;
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::getppid() != parent {
                return Err(std::io::Error::other("the runner exited"));
            }
            Ok(())
        });
    }
    let child = cmd.spawn()?;
    drop(cmd);
    drop(results_w);
    let pid = Pid::from_raw(child.id() as i32);
    // The Child handle is dropped without waiting: this module reaps with wait4.
    drop(child);
    set_nonblocking(&results_r)?;
    set_nonblocking(&log_r)?;
    Ok((pid, results_r, log_r))
}

/// Turn what a finished job process left into an attempt.
fn attempt_of(r: Running, job: &Job, reaped: Reaped, timeout: Option<Duration>) -> Attempt {
    let duration = r
        .exited_at
        .unwrap_or_else(Instant::now)
        .duration_since(r.started)
        .as_secs_f64();
    let mut log = String::from_utf8_lossy(&r.log_buf).into_owned();
    if r.log_truncated {
        log.push_str("\n[netdrill: output truncated at 1 MiB]\n");
    }
    if !r.verbose.is_empty() {
        if !log.is_empty() && !log.ends_with('\n') {
            log.push('\n');
        }
        for v in &r.verbose {
            log.push_str(v);
            log.push('\n');
        }
    }
    let mut attempt = Attempt {
        number: r.attempt,
        result: AttemptResult::Crash,
        start_unix: r.start_unix,
        duration_secs: duration,
        cpu_secs: reaped.cpu_secs,
        max_rss_kib: reaped.max_rss_kib,
        line: r.last_line,
        kind: None,
        message: String::new(),
        mismatch: None,
        log,
        artifacts: None,
    };
    let script = &job.file_name;
    if r.stop == Some(StopReason::Timeout) {
        let secs = timeout.map_or(0, |t| t.as_secs());
        attempt.result = AttemptResult::Timeout;
        attempt.kind = Some(FailureKind::Timeout);
        attempt.message = match r.last_line {
            Some(line) => format!(
                "{script}:{line}: timed out after {secs} seconds (the last event started on line {line})"
            ),
            None => format!("{script}: timed out after {secs} seconds before its first event"),
        };
        return attempt;
    }
    match (r.outcome, r.sandbox_failed, r.protocol_error) {
        (Some(Outcome::Pass { warnings }), None, None) => {
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
            attempt.mismatch = f.mismatch;
            attempt.line = f.line;
            attempt.message = f.message;
        }
        (_, Some(sandbox), _) => {
            attempt.kind = Some(FailureKind::SandboxError);
            attempt.message = format!("{script}: {sandbox} ({})", reaped.status);
        }
        (_, None, Some(protocol)) => {
            attempt.kind = Some(FailureKind::ProtocolError);
            attempt.message = format!("{script}: job process: {protocol} ({})", reaped.status);
        }
        (None, None, None) => {
            attempt.kind = Some(FailureKind::Crash);
            let at = r
                .last_line
                .map(|l| format!(" after starting line {l}"))
                .unwrap_or_default();
            attempt.message = format!(
                "{script}: the job process died without a result{at} ({})",
                reaped.status
            );
            if let Some(last) = last_words(&attempt.log) {
                attempt.message.push_str(&format!(": {last}"));
            }
        }
    }
    attempt
}

/// What a dead job process said last that explains its death: a Rust panic's
/// message (the line after `panicked at`), else its last non-empty line that is
/// not a `note:`.
fn last_words(log: &str) -> Option<String> {
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

/// The verdict of a job from its attempts.
pub fn verdict_of(attempts: &[Attempt], xfail: bool) -> Verdict {
    let Some(last) = attempts.last() else {
        return Verdict::Error;
    };
    match (last.result, xfail) {
        (AttemptResult::Pass, true) => Verdict::Xpass,
        (AttemptResult::Pass, false) if attempts.len() > 1 => Verdict::Flaky,
        (AttemptResult::Pass, false) => Verdict::Pass,
        (AttemptResult::Fail, true) => Verdict::Xfail,
        (AttemptResult::Fail, false) => Verdict::Fail,
        (AttemptResult::Timeout, _) => Verdict::Timeout,
        (AttemptResult::Crash, _) => Verdict::Error,
    }
}

fn record_of(job: &Job, verdict: Verdict, attempts: Vec<Attempt>) -> JobRecord {
    JobRecord {
        id: job.id.clone(),
        path: job.path.clone(),
        args: job.args.clone(),
        verdict,
        skip_reason: job.skip_reason.clone(),
        xfail_reason: job.xfail_reason.clone(),
        attempts,
        replay_command: replay_command(job),
    }
}

/// The key of a job in the durations file.
fn duration_key(id: &JobId) -> String {
    format!("{}/{} {}", id.suite, id.script, id.ip_version)
}

/// SIGINT, SIGTERM and SIGHUP, as bytes on a pipe, for as long as this lives.
struct SignalPipe {
    read: std::os::unix::net::UnixStream,
    ids: Vec<signal_hook::SigId>,
}

impl SignalPipe {
    fn new() -> std::io::Result<SignalPipe> {
        let (read, write) = std::os::unix::net::UnixStream::pair()?;
        read.set_nonblocking(true)?;
        write.set_nonblocking(true)?;
        let mut ids = Vec::new();
        for sig in [
            signal_hook::consts::SIGINT,
            signal_hook::consts::SIGTERM,
            signal_hook::consts::SIGHUP,
        ] {
            ids.push(signal_hook::low_level::pipe::register(
                sig,
                write.try_clone()?,
            )?);
        }
        Ok(SignalPipe { read, ids })
    }

    /// Whether a signal came since the last call.
    fn take(&mut self) -> bool {
        let mut buf = [0u8; 64];
        let mut got = false;
        while let Ok(n) = self.read.read(&mut buf) {
            if n == 0 {
                break;
            }
            got = true;
        }
        got
    }
}

impl Drop for SignalPipe {
    fn drop(&mut self) {
        for id in self.ids.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}

/// Run `jobs`, telling `sink` what happens; returns the record of the run.
/// Jobs with a skip reason or a problem are recorded without running.
pub fn run(
    jobs: &[Job],
    settings: &ScheduleSettings,
    sink: &mut dyn FnMut(&RunnerEvent),
) -> std::io::Result<RunRecord> {
    let mut signals = SignalPipe::new()?;
    let start_unix = unix_now();
    let jobs_at_once = settings.jobs_at_once.max(1);
    sink(&RunnerEvent::RunStarted {
        total_jobs: jobs.len(),
        jobs_at_once,
    });

    let mut durations = settings
        .durations
        .as_deref()
        .map(Durations::load)
        .unwrap_or_default();
    let mut records: Vec<Option<JobRecord>> = vec![None; jobs.len()];
    let mut attempts: Vec<Vec<Attempt>> = vec![Vec::new(); jobs.len()];
    let mut queue: VecDeque<(usize, u32)> = VecDeque::new();

    for (i, job) in jobs.iter().enumerate() {
        if job.skip_reason.is_some() {
            let rec = record_of(job, Verdict::Skip, Vec::new());
            sink(&RunnerEvent::JobFinished {
                record: rec.clone(),
            });
            records[i] = Some(rec);
        } else if let Some(problem) = &job.problem {
            let attempt = Attempt {
                number: 1,
                result: AttemptResult::Fail,
                start_unix: unix_now(),
                duration_secs: 0.0,
                cpu_secs: None,
                max_rss_kib: None,
                line: None,
                kind: Some(FailureKind::Engine(EngineFailureKind::Option)),
                mismatch: None,
                message: format!("{}: {problem}", job.file_name),
                log: String::new(),
                artifacts: None,
            };
            let attempt = with_artifacts(attempt, job, Packets::default(), settings);
            let rec = record_of(job, Verdict::Fail, vec![attempt]);
            sink(&RunnerEvent::JobFinished {
                record: rec.clone(),
            });
            records[i] = Some(rec);
        } else {
            queue.push_back((i, 1));
        }
    }
    // Longest first when the past is known; jobs never seen before go first (they
    // may be long), in discovery order.
    let mut order: Vec<(usize, u32)> = queue.drain(..).collect();
    order.sort_by(|a, b| {
        let da = durations.get(&duration_key(&jobs[a.0].id));
        let db = durations.get(&duration_key(&jobs[b.0].id));
        match (da, db) {
            (None, None) => a.0.cmp(&b.0),
            (None, Some(_)) => std::cmp::Ordering::Less,
            (Some(_), None) => std::cmp::Ordering::Greater,
            (Some(x), Some(y)) => y.total_cmp(&x).then(a.0.cmp(&b.0)),
        }
    });
    queue.extend(order);

    let mut running: Vec<Running> = Vec::new();
    let mut interrupted = false;
    let mut next_start = Instant::now();

    loop {
        let now = Instant::now();
        if !interrupted && running.len() < jobs_at_once && now >= next_start {
            if let Some((index, attempt)) = queue.pop_front() {
                let job = &jobs[index];
                sink(&RunnerEvent::JobStarted {
                    id: job.id.clone(),
                    attempt,
                });
                next_start = now + settings.start_interval;
                match spawn(job, settings) {
                    Ok((pid, results, log)) => {
                        running.push(Running {
                            index,
                            attempt,
                            pidfd: pidfd_open(pid),
                            pid,
                            results: Some(std::fs::File::from(results)),
                            result_buf: Vec::new(),
                            log: Some(std::fs::File::from(log)),
                            log_buf: Vec::new(),
                            log_truncated: false,
                            last_line: None,
                            outcome: None,
                            sandbox_failed: None,
                            protocol_error: None,
                            verbose: Vec::new(),
                            packets: Packets::default(),
                            started: now,
                            start_unix: unix_now(),
                            deadline: job.timeout.map(|t| now + t),
                            next_slow: now + settings.slow_period,
                            kill: Kill::None,
                            stop: None,
                            exited_at: None,
                        });
                    }
                    Err(e) => {
                        let a = Attempt {
                            number: attempt,
                            result: AttemptResult::Crash,
                            start_unix: unix_now(),
                            duration_secs: 0.0,
                            cpu_secs: None,
                            max_rss_kib: None,
                            line: None,
                            kind: Some(FailureKind::SpawnError),
                            mismatch: None,
                            message: format!(
                                "{}: could not start the job process {}: {e}",
                                job.file_name,
                                settings.job_exe.display()
                            ),
                            log: String::new(),
                            artifacts: None,
                        };
                        let a = with_artifacts(a, job, Packets::default(), settings);
                        finish_attempt(
                            index,
                            a,
                            jobs,
                            settings,
                            &mut attempts,
                            &mut records,
                            &mut queue,
                            interrupted,
                            sink,
                        );
                    }
                }
                continue;
            }
        }
        if running.is_empty() && (interrupted || queue.is_empty()) {
            break;
        }

        // Sleep until something happens or a deadline comes.
        let mut wake = now + Duration::from_millis(500);
        if !interrupted && running.len() < jobs_at_once && !queue.is_empty() {
            wake = wake.min(next_start);
        }
        for r in &running {
            if let (Some(d), None) = (r.deadline, r.stop) {
                wake = wake.min(d);
            }
            if let Kill::Termed { at } = r.kill {
                wake = wake.min(at + settings.grace);
            }
            if r.exited_at.is_none() {
                wake = wake.min(r.next_slow);
            }
            if let Some(at) = r.exited_at {
                wake = wake.min(at + DRAIN_LIMIT);
            }
            if r.pidfd.is_none() && r.exited_at.is_none() {
                wake = wake.min(now + Duration::from_millis(50));
            }
        }
        let timeout = wake.saturating_duration_since(now);
        {
            let mut fds = vec![PollFd::new(signals.read.as_fd(), PollFlags::POLLIN)];
            for r in &running {
                if let Some(f) = &r.results {
                    fds.push(PollFd::new(f.as_fd(), PollFlags::POLLIN));
                }
                if let Some(f) = &r.log {
                    fds.push(PollFd::new(f.as_fd(), PollFlags::POLLIN));
                }
                if let (Some(p), None) = (&r.pidfd, r.exited_at) {
                    fds.push(PollFd::new(p.as_fd(), PollFlags::POLLIN));
                }
            }
            let ms = u16::try_from(timeout.as_millis().max(1)).unwrap_or(u16::MAX);
            match nix::poll::poll(&mut fds, PollTimeout::from(ms)) {
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(e.into()),
            }
        }

        if signals.take() {
            let now = Instant::now();
            if !interrupted {
                interrupted = true;
                sink(&RunnerEvent::Interrupted);
                for r in &mut running {
                    r.stop.get_or_insert(StopReason::Interrupt);
                    if r.kill == Kill::None {
                        r.signal(Signal::SIGTERM);
                        r.kill = Kill::Termed { at: now };
                    }
                }
            } else {
                // A second signal: no more grace.
                for r in &mut running {
                    r.signal(Signal::SIGKILL);
                    r.kill = Kill::Killed;
                }
            }
        }

        let now = Instant::now();
        for r in &mut running {
            r.read_results();
            r.read_log();
            r.check_exited();
            if r.exited_at.is_some() {
                continue;
            }
            if let (Some(d), None) = (r.deadline, r.stop) {
                if now >= d {
                    r.stop = Some(StopReason::Timeout);
                    r.signal(Signal::SIGTERM);
                    r.kill = Kill::Termed { at: now };
                }
            }
            if let Kill::Termed { at } = r.kill {
                if now >= at + settings.grace {
                    r.signal(Signal::SIGKILL);
                    r.kill = Kill::Killed;
                }
            }
            if r.stop.is_none() && now >= r.next_slow {
                r.next_slow = now + settings.slow_period;
                sink(&RunnerEvent::JobSlow {
                    id: jobs[r.index].id.clone(),
                    elapsed_secs: now.duration_since(r.started).as_secs_f64(),
                });
            }
        }

        // Collect the jobs whose process exited and whose pipes are drained.
        let mut i = 0;
        while i < running.len() {
            let done = match running[i].exited_at {
                Some(at) => !running[i].pipes_open() || now >= at + DRAIN_LIMIT,
                None => false,
            };
            if !done {
                i += 1;
                continue;
            }
            let mut r = running.swap_remove(i);
            let reaped = reap(r.pid);
            let index = r.index;
            if r.stop == Some(StopReason::Interrupt) {
                // Stopped by Ctrl-C: this attempt has no result. A job with
                // earlier attempts (a retry) is recorded with those.
                if !attempts[index].is_empty() {
                    let job = &jobs[index];
                    let all = std::mem::take(&mut attempts[index]);
                    let rec = record_of(job, verdict_of(&all, job.xfail_reason.is_some()), all);
                    sink(&RunnerEvent::JobFinished {
                        record: rec.clone(),
                    });
                    records[index] = Some(rec);
                }
                continue;
            }
            let job = &jobs[index];
            let packets = std::mem::take(&mut r.packets);
            let attempt = attempt_of(r, job, reaped, job.timeout);
            let attempt = with_artifacts(attempt, job, packets, settings);
            finish_attempt(
                index,
                attempt,
                jobs,
                settings,
                &mut attempts,
                &mut records,
                &mut queue,
                interrupted,
                sink,
            );
        }
    }

    for (i, rec) in records.iter().enumerate() {
        if let Some(rec) = rec {
            if let Some(last) = rec.last_attempt() {
                durations
                    .jobs
                    .insert(duration_key(&jobs[i].id), last.duration_secs);
            }
        }
    }
    if let Some(path) = &settings.durations {
        // Best effort: the durations only order the next run.
        let _ = durations.save(path);
    }
    drop(signals);

    let record = RunRecord {
        host: host_info(),
        start_unix,
        end_unix: unix_now(),
        jobs_at_once,
        tolerance_usecs: settings.tolerance_usecs,
        interrupted,
        jobs: records.into_iter().flatten().collect(),
    };
    sink(&RunnerEvent::RunFinished {
        record: record.clone(),
    });
    Ok(record)
}

/// Write the failure artifacts of an attempt that did not pass, when
/// `--artifacts` asks for them, and note where in the attempt. A folder that
/// cannot be written is noted in the attempt's log.
fn with_artifacts(
    mut attempt: Attempt,
    job: &Job,
    packets: Packets,
    settings: &ScheduleSettings,
) -> Attempt {
    let Some(dir) = &settings.artifacts else {
        return attempt;
    };
    if attempt.result == AttemptResult::Pass {
        return attempt;
    }
    if let Some(note) = packets.dropped_note() {
        if !attempt.log.is_empty() && !attempt.log.ends_with('\n') {
            attempt.log.push('\n');
        }
        attempt.log.push_str(&note);
        attempt.log.push('\n');
    }
    // The writer reads the job's name, arguments and replay command.
    let job_record = record_of(job, Verdict::Fail, Vec::new());
    match crate::report::artifacts::write(dir, &job_record, &attempt, &packets.kept) {
        Ok(folder) => attempt.artifacts = Some(folder),
        Err(e) => {
            if !attempt.log.is_empty() && !attempt.log.ends_with('\n') {
                attempt.log.push('\n');
            }
            attempt.log.push_str(&format!(
                "[netdrill: could not write the artifacts under {}: {e}]\n",
                dir.display()
            ));
        }
    }
    attempt
}

/// Record an attempt: retry the job, or decide its verdict.
#[allow(clippy::too_many_arguments)]
fn finish_attempt(
    index: usize,
    attempt: Attempt,
    jobs: &[Job],
    settings: &ScheduleSettings,
    attempts: &mut [Vec<Attempt>],
    records: &mut [Option<JobRecord>],
    queue: &mut VecDeque<(usize, u32)>,
    interrupted: bool,
    sink: &mut dyn FnMut(&RunnerEvent),
) {
    let job = &jobs[index];
    let number = attempt.number;
    let passed = attempt.result == AttemptResult::Pass;
    // A failure the suite expects is the answer, not a flake: no retry. (A
    // timeout or a crash is not what an expected failure means, and is retried.)
    let expected = job.xfail_reason.is_some() && attempt.result == AttemptResult::Fail;
    if !passed && !expected && number <= settings.retries && !interrupted {
        sink(&RunnerEvent::AttemptFailed {
            id: job.id.clone(),
            attempt: attempt.clone(),
        });
        attempts[index].push(attempt);
        queue.push_front((index, number + 1));
        return;
    }
    attempts[index].push(attempt);
    let all = std::mem::take(&mut attempts[index]);
    let verdict = verdict_of(&all, job.xfail_reason.is_some());
    let rec = record_of(job, verdict, all);
    sink(&RunnerEvent::JobFinished {
        record: rec.clone(),
    });
    records[index] = Some(rec);
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
            log: String::new(),
            artifacts: None,
        }
    }

    #[test]
    fn verdicts() {
        use AttemptResult::*;
        assert_eq!(verdict_of(&[attempt(Pass)], false), Verdict::Pass);
        assert_eq!(
            verdict_of(&[attempt(Fail), attempt(Pass)], false),
            Verdict::Flaky
        );
        assert_eq!(
            verdict_of(&[attempt(Fail), attempt(Fail)], false),
            Verdict::Fail
        );
        assert_eq!(verdict_of(&[attempt(Fail)], true), Verdict::Xfail);
        assert_eq!(verdict_of(&[attempt(Pass)], true), Verdict::Xpass);
        assert_eq!(verdict_of(&[attempt(Timeout)], true), Verdict::Timeout);
        assert_eq!(verdict_of(&[attempt(Crash)], false), Verdict::Error);
        assert_eq!(verdict_of(&[], false), Verdict::Error);
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
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
