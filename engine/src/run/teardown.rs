//! The end of a run (docs/engine/lifecycle.md, "Teardown"): wait for an outstanding
//! blocking call, close the script's fds, and reset the TCP connections the
//! script left open so no kernel state outlives the run.

use super::failure::{RunError, RunFailure};
use super::runtime::Runtime;
use std::time::Duration;

impl Runtime<'_> {
    /// The success path.
    pub fn teardown(&mut self) -> Result<(), Box<RunFailure>> {
        if let Some(pending) = &mut self.blocking {
            if !pending.inflight.wait_done_for(Duration::from_secs(1)) {
                let line = pending.line;
                self.abandon();
                return Err(RunError::BlockingCallAtExit.at(line));
            }
            self.finish_blocking()?;
        }
        self.close_fds();
        for id in 0..self.state.sockets.len() {
            self.inject_reset(id)?;
        }
        Ok(())
    }

    /// A failed run: make an outstanding blocking call return (shut its
    /// sockets down) and close every fd. No resets are sent.
    pub fn abandon(&mut self) {
        if let Some(pending) = self.blocking.take() {
            for f in self.state.fds.iter().filter(|f| !f.closed) {
                // SAFETY: shutting down an fd we opened; errors are irrelevant here.
                unsafe { libc::shutdown(f.live_fd, libc::SHUT_RDWR) };
            }
            let mut inflight = pending.inflight;
            inflight.wait_done_for(Duration::from_millis(200));
            // A call that still does not return is left to end with the process.
            drop(inflight);
        }
        self.close_fds();
    }

    fn close_fds(&mut self) {
        for f in self.state.fds.iter_mut().filter(|f| !f.closed) {
            // SAFETY: the live fd was returned to us by the kernel for this entry
            // and is closed exactly once (the entry is marked closed).
            unsafe { libc::close(f.live_fd) };
            f.closed = true;
        }
    }
}
