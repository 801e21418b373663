//! System call events: non-blocking calls run on the event loop's thread;
//! `T...E` calls run on their own thread and are completed when they return
//! (docs/engine/syscalls.md, "Blocking calls").

use super::blocking::{InFlight, PendingCall, ThreadError};
use super::failure::{RunError, RunFailure};
use super::runtime::Runtime;
use super::syscall;
use super::timing::{EventTime, Timed};
use crate::script::{Event, SyscallSpec, TimeSpec};
use std::time::Duration;

impl Runtime<'_> {
    pub(crate) fn run_syscall(
        &mut self,
        event: &Event,
        spec: &SyscallSpec,
        time: &EventTime,
    ) -> Result<(), Box<RunFailure>> {
        let name = spec.name.value.clone();
        let failed = |error| {
            RunError::Syscall {
                name: name.clone(),
                error,
            }
            .at(event.line)
        };
        if let Some(end_written) = spec.end_time {
            // Only one blocking call at a time: wait up to 1 s for the previous one.
            if let Some(pending) = &mut self.blocking {
                if !pending.inflight.wait_done_for(Duration::from_secs(1)) {
                    return Err(RunError::SyscallThread {
                        name: name.clone(),
                        error: ThreadError::AnotherInProgress,
                    }
                    .at(event.line));
                }
                self.finish_blocking()?;
            }
            let prepared = {
                let mut env = self.syscall_env();
                syscall::prepare(spec, &mut env)
            }
            .map_err(failed)?;
            let start_at = self.live_time(time.start);
            let inflight =
                InFlight::spawn(start_at, move || prepared.execute()).map_err(|error| {
                    RunError::SyscallThread {
                        name: name.clone(),
                        error,
                    }
                    .at(event.line)
                })?;
            if self.config.verbose {
                println!("{name} syscall: {}", super::timing::secs(inflight.started));
            }
            if self.num_events > 0 {
                self.check_time(
                    event,
                    time,
                    self.clock.to_script(inflight.started),
                    Timed::SyscallStart,
                )?;
            }
            let end = match event.time {
                TimeSpec::Relative(_) => end_written + time.offset,
                _ => end_written,
            };
            self.blocking = Some(PendingCall {
                inflight,
                spec: spec.clone(),
                line: event.line,
                start: time.start,
                end,
                time_spec: event.time,
            });
            return Ok(());
        }

        // A non-blocking call waits up to 1 s for the blocking one to finish,
        // then goes ahead anyway.
        if let Some(pending) = &mut self.blocking {
            if pending.inflight.wait_done_for(Duration::from_secs(1)) {
                self.finish_blocking()?;
            }
        }
        self.wait_for(event, time, Timed::SyscallStart)?;
        let prepared = {
            let mut env = self.syscall_env();
            syscall::prepare(spec, &mut env)
        }
        .map_err(failed)?;
        if self.config.verbose {
            println!(
                "{name} syscall: {}",
                super::timing::secs(super::clock::now_usecs())
            );
        }
        let done = prepared.execute();
        let mut env = self.syscall_env();
        syscall::complete(spec, done, &mut env).map_err(failed)
    }
}
