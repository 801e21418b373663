//! System call events (engine spec sections 6 and 7): non-blocking calls run
//! on the event loop's thread; `T...E` calls run on their own thread and are
//! completed when they return.

use super::blocking::{InFlight, PendingCall};
use super::runtime::{fatal, Fatal, Runtime};
use super::syscall::{self, SyscallEnv};
use super::timing::{EventTime, Timed};
use crate::outcome::FailureKind;
use crate::script::{Event, SyscallSpec, TimeSpec};
use std::time::Duration;

impl Runtime<'_> {
    fn syscall_error(&self, line: u32, name: &str, detail: &str) -> Fatal {
        fatal(
            FailureKind::Syscall,
            Some(line),
            self.at_line(line, format!("runtime error in {name} call: {detail}")),
        )
    }

    pub(crate) fn run_syscall(
        &mut self,
        event: &Event,
        spec: &SyscallSpec,
        time: &EventTime,
    ) -> Result<(), Fatal> {
        let name = spec.name.value.clone();
        if let Some(end_written) = spec.end_time {
            // Only one blocking call at a time: wait up to 1 s for the previous one.
            if let Some(pending) = &mut self.blocking {
                if !pending.inflight.wait_done_for(Duration::from_secs(1)) {
                    return Err(self.syscall_error(
                        event.line,
                        &name,
                        "blocking system call while another blocking system call is already in progress",
                    ));
                }
                self.finish_blocking()?;
            }
            let prepared = {
                let mut env = self.syscall_env();
                syscall::prepare(spec, &mut env)
            }
            .map_err(|d| self.syscall_error(event.line, &name, &d.to_string()))?;
            let start_at = self.live_time(time.start);
            let inflight = InFlight::spawn(event.line, &name, start_at, move || prepared.execute())
                .map_err(|d| self.syscall_error(event.line, &name, &d.to_string()))?;
            if self.config.verbose {
                println!("{name} syscall: {}", super::timing::secs(inflight.started));
            }
            if self.num_events > 0 {
                self.check_time(
                    event,
                    time,
                    inflight.started - self.start,
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
        .map_err(|d| self.syscall_error(event.line, &name, &d.to_string()))?;
        if self.config.verbose {
            println!(
                "{name} syscall: {}",
                super::timing::secs(super::clock::now_usecs())
            );
        }
        let done = prepared.execute();
        let mut env = self.syscall_env();
        syscall::complete(spec, done, &mut env)
            .map_err(|d| self.syscall_error(event.line, &name, &d.to_string()))
    }

    pub(crate) fn syscall_env(&mut self) -> SyscallEnv<'_> {
        SyscallEnv {
            state: &mut self.state,
            config: self.config,
            addrs: self.addrs,
            script_path: self.path,
        }
    }

    /// The blocking call has returned: check its result, then its return time.
    pub(crate) fn finish_blocking(&mut self) -> Result<(), Fatal> {
        let Some(pending) = self.blocking.take() else {
            return Ok(());
        };
        let PendingCall {
            inflight,
            spec,
            line,
            start,
            end,
            time_spec,
        } = pending;
        let name = spec.name.value.clone();
        let Some(returned) = inflight.take() else {
            return Err(self.syscall_error(line, &name, "the system call thread died"));
        };
        {
            let mut env = self.syscall_env();
            syscall::complete(&spec, returned.value, &mut env)
        }
        .map_err(|d| self.syscall_error(line, &name, &d.to_string()))?;
        let expected = EventTime::anchor(
            match time_spec {
                TimeSpec::Relative(_) | TimeSpec::RelativeRange(..) => TimeSpec::Relative(end),
                _ => TimeSpec::Absolute(end),
            },
            0,
        );
        super::timing::verify(
            &expected,
            returned.returned - self.start,
            Some(start),
            self.tolerance,
            Timed::SyscallReturn,
        )
        .map_err(|e| {
            fatal(
                FailureKind::Timing,
                Some(line),
                self.at_line(line, e.to_string()),
            )
        })
    }
}
