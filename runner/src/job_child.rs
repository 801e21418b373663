//! The job child: what runs inside each job process. The runner re-executes its
//! own binary as `netdrill __job --result-fd N --spec JSON`; the child builds its
//! sandbox and runs the engine; results go back as [`JobMessage`]s (see
//! [`crate::protocol`]) on the pipe whose write end is fd N.
//!
//! Process shape (all in the job's own process group, which the runner kills
//! as a whole on timeout or Ctrl-C):
//!
//! ```text
//! runner ── netdrill __job (outer: unshares net+mount+pid+uts+ipc namespaces, /tmp,
//!              │               /dev/shm, /sys, lo, sysctls: sandbox::enter)
//!              └── engine process (PID 1 of the new PID namespace, in the script's
//!                   folder: its /proc, read-only /proc/sys but net, rlimits, fewer
//!                   capabilities: sandbox::seal; then run_file, report; the
//!                   script's commands are its children)
//! ```
//!
//! The outer process dies with the runner (`PR_SET_PDEATHSIG`, set before exec),
//! the engine process dies with the outer (same), and when the engine process,
//! being PID 1, dies, the kernel kills every process left in its PID namespace.
//! So even a SIGKILLed runner leaves no process and therefore no namespace behind.

use crate::protocol::{hex_encode, JobMessage, JobSpec, EXIT_SANDBOX, PACKET_CAPTURE_LIMIT};
use crate::sandbox;
use netdrill_engine::config::split_command_line;
use netdrill_engine::outcome::{Observer, PacketDirection};
use netdrill_engine::run::{run_file, RunOptions};
use std::io::Write;
use std::os::fd::{AsFd, FromRawFd, OwnedFd, RawFd};

/// Writes [`JobMessage`]s to the result pipe, one line each, at once.
struct ResultPipe {
    file: std::fs::File,
}

impl ResultPipe {
    fn send(&mut self, msg: &JobMessage) {
        // The runner may be gone (then this process is about to be killed too).
        if let Ok(mut line) = serde_json::to_vec(msg) {
            line.push(b'\n');
            let _ = self.file.write_all(&line);
        }
    }
}

/// Forwards engine progress (and packets, when asked) to the runner.
struct Forwarder<'a> {
    pipe: &'a mut ResultPipe,
    last_line: Option<u32>,
    capture_packets: bool,
    captured_bytes: usize,
    dropped_packets: u64,
    dropped_bytes: u64,
}

impl Observer for Forwarder<'_> {
    fn event_started(&mut self, line: u32) {
        if self.last_line != Some(line) {
            self.last_line = Some(line);
            self.pipe.send(&JobMessage::Line { line });
        }
    }

    fn packet(&mut self, direction: PacketDirection, unix_nanos: i128, bytes: &[u8]) {
        if !self.capture_packets {
            return;
        }
        if self.captured_bytes + bytes.len() > PACKET_CAPTURE_LIMIT {
            self.dropped_packets += 1;
            self.dropped_bytes += bytes.len() as u64;
            return;
        }
        self.captured_bytes += bytes.len();
        self.pipe.send(&JobMessage::Packet {
            direction,
            unix_nanos: unix_nanos.clamp(i64::MIN.into(), i64::MAX.into()) as i64,
            hex: hex_encode(bytes),
        });
    }

    fn verbose(&mut self, line: &str) {
        self.pipe.send(&JobMessage::Verbose {
            text: line.to_string(),
        });
    }
}

fn set_cloexec(fd: RawFd, on: bool) -> std::io::Result<()> {
    use nix::fcntl::{fcntl, FcntlArg, FdFlag};
    // SAFETY: fd is open for the duration of the call (checked by fcntl itself).
    let borrowed = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    let flags = if on {
        FdFlag::FD_CLOEXEC
    } else {
        FdFlag::empty()
    };
    fcntl(borrowed, FcntlArg::F_SETFD(flags))?;
    Ok(())
}

/// The `__job` child: never returns.
pub fn child_main(result_fd: RawFd, spec_json: &str) -> ! {
    // The pipe must not leak into the script's commands.
    if let Err(e) = set_cloexec(result_fd, true) {
        eprintln!("netdrill __job: result fd {result_fd}: {e}");
        std::process::exit(EXIT_SANDBOX);
    }
    // SAFETY: the runner passed this fd to us and nothing else owns it.
    let owned = unsafe { OwnedFd::from_raw_fd(result_fd) };
    let mut pipe = ResultPipe {
        file: std::fs::File::from(owned),
    };
    let spec: JobSpec = match serde_json::from_str(spec_json) {
        Ok(s) => s,
        Err(e) => {
            pipe.send(&JobMessage::SandboxFailed {
                message: format!("netdrill __job: bad job spec: {e}"),
            });
            std::process::exit(EXIT_SANDBOX);
        }
    };
    if let Err(e) = sandbox::enter(&spec.dir, &spec.sysctls, &spec.limits) {
        pipe.send(&JobMessage::SandboxFailed {
            message: e.to_string(),
        });
        std::process::exit(EXIT_SANDBOX);
    }
    // A lifeline: the engine process sees EOF on it once this process is gone.
    let (lifeline_r, lifeline_w) = match nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC) {
        Ok(p) => p,
        Err(e) => {
            pipe.send(&JobMessage::SandboxFailed {
                message: format!("sandbox: pipe: {e}"),
            });
            std::process::exit(EXIT_SANDBOX);
        }
    };
    let proc_device = proc_device();
    // SAFETY: this process is single-threaded here (nothing above starts threads).
    match unsafe { nix::unistd::fork() } {
        Err(e) => {
            pipe.send(&JobMessage::SandboxFailed {
                message: format!("sandbox: fork into the new PID namespace: {e}"),
            });
            std::process::exit(EXIT_SANDBOX);
        }
        Ok(nix::unistd::ForkResult::Child) => {
            drop(lifeline_w);
            engine_main(pipe, lifeline_r, &spec)
        }
        Ok(nix::unistd::ForkResult::Parent { child }) => {
            drop(lifeline_r);
            // With a cgroup, the kernel holds the job and counts; else the watch.
            let host_proc = (!spec.in_cgroup).then_some(proc_device);
            let (code, reached) = watch_engine(child, &spec.limits, host_proc);
            for limit in reached {
                pipe.send(&JobMessage::LimitReached { limit });
            }
            drop(pipe);
            drop(lifeline_w);
            std::process::exit(code)
        }
    }
}

/// The device of the `/proc` mounted now.
fn proc_device() -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc").map_or(0, |m| m.dev())
}

/// Wait for the engine process `child`, watching the job's caps (see
/// [`crate::job_limits`]): its exit status and the caps it reached.
/// `host_proc` is the device of the host's procfs (the job is only looked at
/// once the engine has mounted its own); `None`: no watch (a cgroup holds the
/// job), only the end's look at its tmpfs.
fn watch_engine(
    child: nix::unistd::Pid,
    limits: &crate::model::Limits,
    host_proc: Option<u64>,
) -> (i32, Vec<crate::model::LimitKind>) {
    use crate::job_limits::{judge, near_memory_cap, sample, tmpfs_full, WATCH_PERIOD};
    use crate::model::LimitKind;
    use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
    let pidfd = pidfd_open(child);
    let mut reached: Vec<LimitKind> = Vec::new();
    let mut largest = 0;
    let code = loop {
        match waitpid(child, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(_, code)) => break code,
            Ok(WaitStatus::Signaled(_, sig, _)) => break 128 + sig as i32,
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(_) => break EXIT_SANDBOX,
        }
        if host_proc.is_some_and(|host| proc_device() != host) {
            let usage = sample(
                std::path::Path::new("/proc"),
                &[
                    std::path::Path::new("/tmp"),
                    std::path::Path::new("/dev/shm"),
                ],
            );
            largest = largest.max(usage.largest_process_bytes);
            let j = judge(&usage, limits);
            for limit in j.reached {
                if !reached.contains(&limit) {
                    reached.push(limit);
                }
            }
            if j.kill {
                // PID 1 of the job's PID namespace: every process in it dies.
                let _ = nix::sys::signal::kill(child, nix::sys::signal::Signal::SIGKILL);
            }
        }
        // Until the engine exits, or the next look.
        match &pidfd {
            Some(fd) => {
                let mut fds = [nix::poll::PollFd::new(
                    fd.as_fd(),
                    nix::poll::PollFlags::POLLIN,
                )];
                let ms = u16::try_from(WATCH_PERIOD.as_millis()).unwrap_or(u16::MAX);
                let _ = nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(ms));
            }
            None => std::thread::sleep(WATCH_PERIOD),
        }
    };
    // The peak of every process of the job that was waited for, in KiB.
    let peak = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
        .map_or(0, |u| u64::try_from(u.max_rss()).unwrap_or(0) * 1024);
    if code != 0
        && host_proc.is_some()
        && !reached.contains(&LimitKind::Memory)
        && near_memory_cap(largest.max(peak), limits)
    {
        reached.push(LimitKind::Memory);
    }
    if ["/tmp", "/dev/shm"]
        .iter()
        .any(|p| tmpfs_full(std::path::Path::new(p)))
    {
        reached.push(LimitKind::Tmp);
    }
    (code, reached)
}

fn pidfd_open(pid: nix::unistd::Pid) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
    // SAFETY: the kernel just gave us this fd.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// PID 1 of the job's PID namespace: runs the script.
fn engine_main(mut pipe: ResultPipe, lifeline: OwnedFd, spec: &JobSpec) -> ! {
    // SAFETY: prctl with these arguments has no memory effects.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
    }
    // If the outer process died before the line above, nobody will kill us: check.
    let mut fds = [nix::poll::PollFd::new(
        lifeline.as_fd(),
        nix::poll::PollFlags::POLLIN,
    )];
    if nix::poll::poll(&mut fds, nix::poll::PollTimeout::ZERO).unwrap_or(0) > 0 {
        std::process::exit(EXIT_SANDBOX);
    }
    if let Err(e) = sandbox::seal(&spec.limits, spec.in_cgroup) {
        pipe.send(&JobMessage::SandboxFailed {
            message: e.to_string(),
        });
        std::process::exit(EXIT_SANDBOX);
    }
    let (flags, extra) = match split_command_line(&spec.args) {
        Ok(v) => v,
        Err(e) => {
            pipe.send(&JobMessage::SandboxFailed {
                message: format!("netdrill __job: packetdrill arguments: {e}"),
            });
            std::process::exit(EXIT_SANDBOX);
        }
    };
    if !extra.is_empty() {
        pipe.send(&JobMessage::SandboxFailed {
            message: format!(
                "netdrill __job: unexpected paths among the arguments: {}",
                extra.join(" ")
            ),
        });
        std::process::exit(EXIT_SANDBOX);
    }
    let opts = RunOptions {
        namespace_is_ours: true,
        allow_initial_namespace: false,
        no_realtime: false,
        reaction: spec.reaction,
    };
    let outcome = {
        let mut observer = Forwarder {
            pipe: &mut pipe,
            last_line: None,
            capture_packets: spec.capture_packets,
            captured_bytes: 0,
            dropped_packets: 0,
            dropped_bytes: 0,
        };
        let outcome = run_file(
            std::path::Path::new(&spec.script),
            &flags,
            &opts,
            &mut observer,
        );
        if observer.dropped_packets > 0 {
            let msg = JobMessage::PacketsDropped {
                packets: observer.dropped_packets,
                bytes: observer.dropped_bytes,
            };
            observer.pipe.send(&msg);
        }
        outcome
    };
    // A fork refused at the process cap leaves the processes that took it.
    let left = crate::job_limits::sample(std::path::Path::new("/proc"), &[]);
    if crate::job_limits::near_process_cap(left.tasks, &spec.limits) {
        pipe.send(&JobMessage::LimitReached {
            limit: crate::model::LimitKind::Processes,
        });
    }
    let code = outcome.exit_status();
    pipe.send(&JobMessage::Finished { outcome });
    let _ = std::io::stdout().flush();
    std::process::exit(code)
}

/// Parent side: the raw fd the child should write results to is `fd`; make it
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarder_sends_packets_up_to_the_limit_when_asked() {
        let file = tempfile::tempfile().unwrap();
        let mut pipe = ResultPipe {
            file: file.try_clone().unwrap(),
        };
        let mut f = Forwarder {
            pipe: &mut pipe,
            last_line: None,
            capture_packets: true,
            captured_bytes: 0,
            dropped_packets: 0,
            dropped_bytes: 0,
        };
        f.packet(PacketDirection::Injected, 5, &[1, 2]);
        f.packet(PacketDirection::Sniffed, 6, &vec![0; PACKET_CAPTURE_LIMIT]);
        f.packet(PacketDirection::Sniffed, -7, &[3]);
        assert_eq!(
            (f.dropped_packets, f.dropped_bytes),
            (1, PACKET_CAPTURE_LIMIT as u64)
        );
        f.capture_packets = false;
        f.packet(PacketDirection::Sniffed, 8, &[4]);
        let mut text = String::new();
        use std::io::{Read, Seek};
        let mut file = file;
        file.rewind().unwrap();
        file.read_to_string(&mut text).unwrap();
        let msgs: Vec<JobMessage> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            msgs,
            vec![
                JobMessage::Packet {
                    direction: PacketDirection::Injected,
                    unix_nanos: 5,
                    hex: "0102".into()
                },
                JobMessage::Packet {
                    direction: PacketDirection::Sniffed,
                    unix_nanos: -7,
                    hex: "03".into()
                },
            ]
        );
    }
}
