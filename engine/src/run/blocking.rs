//! Blocking system calls (`T...E name(...)`, docs/engine/syscalls.md,
//! "Blocking calls").
//!
//! The call runs on its own thread: the thread sleeps until the call's start
//! time, makes the call and reports back. The event loop waits until the
//! thread is really blocked in the kernel (its `/proc` state is `S`) or has
//! already returned, then goes on with the events that unblock it. When the
//! call returns, the thread signals an eventfd so the loop, whether it is
//! sleeping or sniffing, completes the call at once: its result and return
//! time are checked then, as packetdrill's syscall thread checks them.

use super::clock;
use super::syscall::Executed;
use crate::script::{Micros, SyscallSpec, TimeSpec};
use nix::sys::eventfd::{EfdFlags, EventFd};
use std::os::fd::{AsFd, AsRawFd};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

/// The thread of a blocking call could not be started, or died, or a second
/// blocking call came while one was in progress. `Display` is the detail of
/// `runtime error in <name> call: <detail>`.
#[derive(Debug, thiserror::Error)]
pub enum ThreadError {
    #[error("eventfd: {0}")]
    EventFd(nix::errno::Errno),
    #[error("{0}")]
    Dup(std::io::Error),
    #[error("unable to start the system call thread: {0}")]
    Spawn(std::io::Error),
    #[error("the system call thread died before starting")]
    DiedBeforeStarting,
    #[error("the system call thread died")]
    Died,
    #[error("blocking system call while another blocking system call is already in progress")]
    AnotherInProgress,
}

/// What the call's thread reports when the call returns.
pub struct Returned<T> {
    pub value: T,
    /// Live (unix) microseconds at which the call returned.
    pub returned: Micros,
}

/// A blocking call in progress and what its return is checked against.
pub struct PendingCall {
    pub inflight: InFlight<Executed>,
    pub spec: SyscallSpec,
    pub line: u32,
    /// The call's anchored script start time and expected return time.
    pub start: Micros,
    pub end: Micros,
    pub time_spec: TimeSpec,
}

enum Message<T> {
    /// `stat` is the thread's own `/proc/thread-self/stat`, opened by the
    /// thread itself (a tid from gettid() would be wrong where /proc belongs
    /// to another PID namespace, as in the runner's jobs).
    Started {
        stat: Option<std::fs::File>,
        at: Micros,
    },
    Returned(Returned<T>),
}

/// A blocking call in progress.
pub struct InFlight<T> {
    /// Live microseconds at which the call actually started.
    pub started: Micros,
    rx: mpsc::Receiver<Message<T>>,
    done: Option<Returned<T>>,
    wake: EventFd,
    handle: Option<JoinHandle<()>>,
}

impl<T: Send + 'static> InFlight<T> {
    /// Start `call` on a new thread at live time `start_at`. Returns once the
    /// thread has started the call (the start time is then known); use
    /// [`InFlight::wait_blocked`] to wait until it is blocked.
    pub fn spawn(
        start_at: Micros,
        call: impl FnOnce() -> T + Send + 'static,
    ) -> Result<InFlight<T>, ThreadError> {
        let wake = EventFd::from_value_and_flags(0, EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK)
            .map_err(ThreadError::EventFd)?;
        let signal = wake
            .as_fd()
            .try_clone_to_owned()
            .map_err(ThreadError::Dup)?;
        let (tx, rx) = mpsc::channel();
        let sched = super::priority::ThreadSched::current();
        let handle = std::thread::Builder::new()
            .name("syscall".into())
            .spawn(move || {
                clock::sleep_until(start_at);
                let started = clock::now_usecs();
                let stat = std::fs::File::open("/proc/thread-self/stat").ok();
                if tx.send(Message::Started { stat, at: started }).is_err() {
                    return;
                }
                let value = call();
                let returned = clock::now_usecs();
                let _ = tx.send(Message::Returned(Returned { value, returned }));
                let one: u64 = 1;
                // SAFETY: writes 8 bytes from a valid u64 to an eventfd we own.
                unsafe {
                    libc::write(signal.as_raw_fd(), (&one as *const u64).cast(), 8);
                }
            })
            .map_err(ThreadError::Spawn)?;
        // The kernel starts the thread at normal priority (the loop's
        // SCHED_RESET_ON_FORK); give it the loop's before it first runs, so
        // that a busy CPU does not delay the call.
        if let Some(sched) = sched {
            sched.apply_to(&handle);
        }
        let (stat, started) = match rx.recv() {
            Ok(Message::Started { stat, at }) => (stat, at),
            _ => return Err(ThreadError::DiedBeforeStarting),
        };
        let mut inflight = InFlight {
            started,
            rx,
            done: None,
            wake,
            handle: Some(handle),
        };
        inflight.blocked_or_done(stat);
        Ok(inflight)
    }

    /// Wait until the thread sleeps in the kernel or the call has returned.
    fn blocked_or_done(&mut self, stat: Option<std::fs::File>) {
        use std::os::unix::fs::FileExt;
        let Some(stat) = stat else {
            return;
        };
        let mut buf = [0u8; 512];
        loop {
            if self.poll_done() {
                return;
            }
            match stat.read_at(&mut buf, 0) {
                Ok(n) => {
                    let text = String::from_utf8_lossy(&buf[..n]);
                    // The state follows the parenthesised command name.
                    let state = text
                        .rsplit_once(')')
                        .and_then(|(_, rest)| rest.trim_start().chars().next());
                    if state == Some('S') || state == Some('D') {
                        return;
                    }
                }
                Err(_) => return,
            }
            std::thread::sleep(Duration::from_micros(20));
        }
    }

    fn poll_done(&mut self) -> bool {
        if self.done.is_some() {
            return true;
        }
        while let Ok(message) = self.rx.try_recv() {
            if let Message::Returned(r) = message {
                self.done = Some(r);
                return true;
            }
        }
        false
    }

    /// The fd that becomes readable when the call returns (to poll beside a sniffer).
    pub fn wake(&self) -> std::os::fd::BorrowedFd<'_> {
        self.wake.as_fd()
    }

    /// Has the call returned?
    pub fn is_done(&mut self) -> bool {
        self.poll_done()
    }

    /// Sleep until live time `deadline` or until the call returns, whichever
    /// is first. True if the call has returned.
    pub fn wait_done_until(&mut self, deadline: Micros) -> bool {
        loop {
            if self.poll_done() {
                return true;
            }
            let left = deadline - clock::now_usecs();
            if left <= 0 {
                return false;
            }
            let mut fds = [libc::pollfd {
                fd: self.wake.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            }];
            let ts = libc::timespec {
                tv_sec: (left / 1_000_000) as libc::time_t,
                tv_nsec: ((left % 1_000_000) * 1000) as libc::c_long,
            };
            // SAFETY: one valid pollfd, a valid timespec, no signal mask.
            unsafe { libc::ppoll(fds.as_mut_ptr(), 1, &ts, std::ptr::null()) };
        }
    }

    /// Wait at most `max` for the call to return.
    pub fn wait_done_for(&mut self, max: Duration) -> bool {
        let deadline = clock::now_usecs() + max.as_micros() as Micros;
        self.wait_done_until(deadline)
    }

    /// Take the result of a returned call.
    pub fn take(mut self) -> Option<Returned<T>> {
        self.poll_done();
        let done = self.done.take();
        if done.is_some() {
            if let Some(h) = self.handle.take() {
                let _ = h.join();
            }
        }
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_that_blocks_is_seen_blocked_then_returned() {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let start = clock::now_usecs() + 2_000;
        let mut call = InFlight::spawn(start, move || {
            let _ = rx.recv();
            42
        })
        .unwrap();
        let started = call.started;
        assert!(started >= start);
        assert!(!call.is_done());
        tx.send(()).unwrap();
        assert!(call.wait_done_for(Duration::from_secs(5)));
        let r = call.take().unwrap();
        assert_eq!(r.value, 42);
        assert!(r.returned >= started);
    }

    #[test]
    fn waiting_ends_at_the_deadline_when_the_call_does_not_return() {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let mut call = InFlight::spawn(clock::now_usecs(), move || {
            let _ = rx.recv();
        })
        .unwrap();
        let deadline = clock::now_usecs() + 10_000;
        assert!(!call.wait_done_until(deadline));
        assert!(clock::now_usecs() >= deadline);
        drop(tx);
        assert!(call.wait_done_for(Duration::from_secs(5)));
    }
}
