//! The signals that stop a run (SIGINT, SIGTERM, SIGHUP), for the run's poll
//! loop: a [`SignalSource`] has a file descriptor to poll and says which
//! signals came, in order. [`SignalPipe`] is the real one (a self-pipe written
//! by the signal handlers); [`NoSignals`] never has any, for runs driven by
//! tests or embedders that handle signals themselves.

use crate::model::StopSignal;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::net::UnixStream;

/// Where the run learns that it should stop.
pub trait SignalSource {
    /// A descriptor that becomes readable when a signal comes, if any.
    fn fd(&self) -> Option<BorrowedFd<'_>>;
    /// The signals that came since the last call, oldest first.
    fn take(&mut self) -> Vec<StopSignal>;
}

/// The signal a raw signal number stands for, if it is one that stops a run.
pub fn stop_signal(signo: i32) -> Option<StopSignal> {
    match signo {
        SIGINT => Some(StopSignal::Interrupt),
        SIGTERM => Some(StopSignal::Terminate),
        SIGHUP => Some(StopSignal::Hangup),
        _ => None,
    }
}

/// SIGINT, SIGTERM and SIGHUP, each written as its number on a pipe by the
/// handler, for as long as this lives.
pub struct SignalPipe {
    read: UnixStream,
    ids: Vec<signal_hook::SigId>,
}

impl SignalPipe {
    pub fn new() -> std::io::Result<SignalPipe> {
        let (read, write) = UnixStream::pair()?;
        read.set_nonblocking(true)?;
        write.set_nonblocking(true)?;
        let mut ids = Vec::new();
        for signo in [SIGINT, SIGTERM, SIGHUP] {
            let end = write.try_clone()?;
            let byte = signo as u8;
            // SAFETY: the handler only calls write(2), which is async-signal-safe,
            // on a descriptor it owns; a full pipe just drops the byte.
            let id = unsafe {
                signal_hook::low_level::register(signo, move || {
                    libc::write(end.as_raw_fd(), (&byte as *const u8).cast(), 1);
                })
            }?;
            ids.push(id);
        }
        Ok(SignalPipe { read, ids })
    }
}

impl SignalSource for SignalPipe {
    fn fd(&self) -> Option<BorrowedFd<'_>> {
        Some(self.read.as_fd())
    }

    fn take(&mut self) -> Vec<StopSignal> {
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        while let Ok(n) = self.read.read(&mut buf) {
            if n == 0 {
                break;
            }
            got.extend(buf[..n].iter().filter_map(|&b| stop_signal(i32::from(b))));
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

/// A source that never has a signal.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoSignals;

impl SignalSource for NoSignals {
    fn fd(&self) -> Option<BorrowedFd<'_>> {
        None
    }

    fn take(&mut self) -> Vec<StopSignal> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pipe_says_which_signals_came_in_order() {
        let mut pipe = SignalPipe::new().unwrap();
        assert_eq!(pipe.take(), vec![]);
        nix::sys::signal::raise(nix::sys::signal::Signal::SIGHUP).unwrap();
        nix::sys::signal::raise(nix::sys::signal::Signal::SIGTERM).unwrap();
        assert_eq!(pipe.take(), vec![StopSignal::Hangup, StopSignal::Terminate]);
        assert_eq!(pipe.take(), vec![]);
        assert!(pipe.fd().is_some());
        assert_eq!(NoSignals.take(), vec![]);
        assert!(NoSignals.fd().is_none());
        assert_eq!(stop_signal(SIGINT), Some(StopSignal::Interrupt));
        assert_eq!(stop_signal(libc::SIGUSR1), None);
    }
}
