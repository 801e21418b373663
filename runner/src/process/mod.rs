//! Job processes, from the runner's side: start one ([`JobProcess::spawn`]: the
//! runner re-executes its own binary as the job child, see
//! [`crate::job_child`]), read its result and output pipes ([`output`]), watch
//! it through a pidfd, signal its process group, and reap it into a
//! [`JobExit`].
//!
//! A job's process group is always SIGKILLed once its first process has
//! exited, while that process is still an unreaped zombie (so the group id
//! cannot have been reused); the group id names the job until it is reaped.

pub mod cgroup;
pub mod output;

use crate::model::Job;
use crate::protocol::JobSpec;
use crate::record::{ExitStatus, JobExit};
use cgroup::JobCgroup;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use output::{read_some, Messages, Output, PipeState, READ_BUDGET};
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long to wait for a job's pipes to close once its process has exited.
const DRAIN_LIMIT: Duration = Duration::from_secs(2);
/// How often to look for the exit of a process without a pidfd.
const EXIT_CHECK_WITHOUT_PIDFD: Duration = Duration::from_millis(50);

/// Now, in seconds since the Unix epoch.
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// One running job process and its pipes.
pub struct JobProcess {
    pid: Pid,
    pidfd: Option<OwnedFd>,
    results: Option<File>,
    log: Option<File>,
    messages: Messages,
    output: Output,
    started: Instant,
    start_unix: f64,
    exited_at: Option<Instant>,
    /// Its cgroup leaf, when the host delegates cgroups.
    cgroup: Option<JobCgroup>,
}

impl JobProcess {
    /// Start the job child for `job`: `exe __job --result-fd N --spec JSON` in a
    /// process group of its own, killed with the runner, in `cgroup` if there
    /// is one. `capture_packets`: have it forward every packet (for artifacts);
    /// `reaction`: the one its relative times count from.
    pub fn spawn(
        job: &Job,
        exe: &Path,
        capture_packets: bool,
        reaction: netdrill_engine::run::reaction::Reaction,
        cgroup: Option<JobCgroup>,
    ) -> std::io::Result<JobProcess> {
        let spec = JobSpec {
            dir: job.dir.clone(),
            script: job.file_name.clone(),
            args: job.args.clone(),
            sysctls: job.sysctls.clone(),
            limits: job.limits,
            in_cgroup: cgroup.is_some(),
            capture_packets,
            reaction,
        };
        let spec_json = serde_json::to_string(&spec).map_err(std::io::Error::other)?;
        let (results_r, results_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
        let (log_r, log_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
        let result_fd = results_w.as_raw_fd();
        let mut cmd = Command::new(exe);
        cmd.arg0("netdrill")
            .arg("__job")
            .arg("--result-fd")
            .arg(result_fd.to_string())
            .arg("--spec")
            .arg(spec_json);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::from(log_w.try_clone()?))
            .stderr(Stdio::from(log_w))
            .process_group(0);
        let parent = nix::unistd::getpid().as_raw();
        let cgroup_procs = cgroup.as_ref().and_then(JobCgroup::procs_fd);
        // SAFETY: only async-signal-safe calls (fcntl, write, prctl, getppid) in
        // the child.
        unsafe {
            cmd.pre_exec(move || {
                keep_across_exec(result_fd)?;
                if let Some(fd) = cgroup_procs {
                    // `0`: the writer itself joins the job's leaf.
                    if libc::write(fd, b"0".as_ptr().cast(), 1) != 1 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::getppid() != parent {
                    return Err(std::io::Error::other("the runner exited"));
                }
                Ok(())
            });
        }
        let start_unix = unix_now();
        let started = Instant::now();
        let child = cmd.spawn()?;
        drop(cmd);
        drop(results_w);
        let pid = Pid::from_raw(child.id() as i32);
        // The Child handle is dropped without waiting: this module reaps with wait4.
        drop(child);
        set_nonblocking(&results_r)?;
        set_nonblocking(&log_r)?;
        Ok(JobProcess {
            pid,
            pidfd: pidfd_open(pid),
            results: Some(File::from(results_r)),
            log: Some(File::from(log_r)),
            messages: Messages::default(),
            output: Output::default(),
            started,
            start_unix,
            exited_at: None,
            cgroup,
        })
    }

    /// The descriptors to poll: the open pipes, and the pidfd until the exit.
    pub fn poll_fds(&self) -> impl Iterator<Item = BorrowedFd<'_>> {
        let pidfd = self.pidfd.as_ref().filter(|_| self.exited_at.is_none());
        self.results
            .as_ref()
            .map(|f| f.as_fd())
            .into_iter()
            .chain(self.log.as_ref().map(|f| f.as_fd()))
            .chain(pidfd.map(|p| p.as_fd()))
    }

    /// When this process needs a look even if none of its descriptors wakes the
    /// loop: the end of the drain after its exit, or the next exit check when
    /// there is no pidfd.
    pub fn wake(&self, now: Instant) -> Option<Instant> {
        match (self.exited_at, &self.pidfd) {
            (Some(at), _) => Some(at + DRAIN_LIMIT),
            (None, None) => Some(now + EXIT_CHECK_WITHOUT_PIDFD),
            (None, Some(_)) => None,
        }
    }

    /// Read what the pipes have, at most [`READ_BUDGET`] bytes from each.
    pub fn pump(&mut self) {
        if let Some(file) = self.results.as_mut() {
            let messages = &mut self.messages;
            match read_some(file, READ_BUDGET, |b| messages.feed(b)) {
                PipeState::Open => {}
                PipeState::Closed => {
                    self.messages.end();
                    self.results = None;
                }
                PipeState::Failed(why) => {
                    self.messages.failed(&why);
                    self.results = None;
                }
            }
        }
        if let Some(file) = self.log.as_mut() {
            let output = &mut self.output;
            if read_some(file, READ_BUDGET, |b| output.feed(b)) != PipeState::Open {
                self.log = None;
            }
        }
    }

    /// Whether the process exited just now (it is not reaped: see the module
    /// documentation); whatever it left in its group is killed then.
    pub fn check_exited(&mut self, now: Instant) -> bool {
        use nix::sys::wait::{waitid, Id, WaitPidFlag, WaitStatus};
        if self.exited_at.is_some() {
            return false;
        }
        let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
        match waitid(Id::Pid(self.pid), flags) {
            Ok(WaitStatus::StillAlive) => false,
            Ok(_) | Err(_) => {
                self.exited_at = Some(now);
                self.signal(Signal::SIGKILL);
                true
            }
        }
    }

    /// Whether the process has exited and its pipes are read to their end (or
    /// have been given long enough).
    pub fn finished(&self, now: Instant) -> bool {
        let pipes_open = self.results.is_some() || self.log.is_some();
        self.exited_at
            .is_some_and(|at| !pipes_open || now >= at + DRAIN_LIMIT)
    }

    /// Signal the job's whole process group.
    pub fn signal(&self, sig: Signal) {
        // The group leader is not reaped before we are done with it, so the group
        // id still names this job's group.
        let _ = killpg(self.pid, sig);
    }

    /// Reap the process (waiting for it if it is still running) and hand over
    /// everything it left.
    pub fn reap(self) -> JobExit {
        let (status, cpu_secs, max_rss_kib) = wait4(self.pid);
        let duration_secs = self
            .exited_at
            .unwrap_or_else(Instant::now)
            .duration_since(self.started)
            .as_secs_f64();
        let mut said = self.messages.said;
        if let Some(cgroup) = &self.cgroup {
            for limit in cgroup.reached() {
                if !said.limits_reached.contains(&limit) {
                    said.limits_reached.push(limit);
                }
            }
        }
        JobExit {
            start_unix: self.start_unix,
            duration_secs,
            status,
            cpu_secs,
            max_rss_kib,
            last_line: said.last_line,
            outcome: said.outcome,
            sandbox_failed: said.sandbox_failed,
            limits_reached: said.limits_reached,
            protocol_error: said.protocol_error,
            log: self.output.into_log(&said.verbose),
            packets: said.packets,
        }
    }
}

/// Reap `pid`: its status, CPU seconds and peak memory in KiB.
fn wait4(pid: Pid) -> (ExitStatus, Option<f64>, Option<u64>) {
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
        let why = std::io::Error::last_os_error().to_string();
        return (ExitStatus::Unknown(why), None, None);
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let status = if libc::WIFEXITED(status) {
        ExitStatus::Code(libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        ExitStatus::Signal(libc::WTERMSIG(status))
    } else {
        ExitStatus::Other(status)
    };
    (
        status,
        Some(tv(usage.ru_utime) + tv(usage.ru_stime)),
        u64::try_from(usage.ru_maxrss).ok(),
    )
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

/// In the child between fork and exec: let the result pipe's write end `fd`
/// survive the exec (async-signal-safe).
fn keep_across_exec(fd: RawFd) -> std::io::Result<()> {
    // SAFETY: fcntl on an fd number is async-signal-safe.
    if unsafe { libc::fcntl(fd, libc::F_SETFD, 0) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
