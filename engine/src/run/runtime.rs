//! The event loop: one clock, events in script order, each at its time
//! (engine spec sections 1 and 5).
//!
//! [`Runtime`] owns everything a run touches: the network device and sniffer,
//! fd/socket state, the code recorder and an in-flight blocking call. The
//! packet, system call, command and code handlers live in their own files
//! (`packet_events.rs`, `syscall_events.rs`) as further `impl Runtime` blocks.

use super::blocking::PendingCall;
use super::clock;
use super::code::{CodeRecorder, CollectError};
use super::netdev::NetDev;
use super::ports::PortPool;
use super::state::RunState;
use super::timing::{self, EventTime, Timed, Tolerance};
use crate::outcome::{Failure, FailureKind, Observer};
use crate::plan::config::{Addresses, Config};
use crate::plan::Plan;
use crate::script::{Action, Direction, Event, Micros, Script};

/// An error that ends the run.
pub(crate) type Fatal = Box<Failure>;

pub(crate) fn fatal(kind: FailureKind, line: Option<u32>, message: String) -> Fatal {
    Box::new(Failure {
        kind,
        line,
        message,
        mismatch: None,
    })
}

pub(crate) struct Runtime<'a> {
    pub path: &'a str,
    pub script: &'a Script,
    pub plan: &'a Plan,
    pub config: &'a Config,
    pub addrs: &'a Addresses,
    pub observer: &'a mut dyn Observer,
    pub state: RunState,
    pub netdev: NetDev,
    pub ports: PortPool,
    /// Live (unix) microseconds of script time 0.
    pub start: Micros,
    pub tolerance: Tolerance,
    pub code: CodeRecorder,
    pub blocking: Option<PendingCall>,
    /// Non-fatal packet mismatches (`--non_fatal=packet`), in packetdrill's wording.
    pub warnings: Vec<String>,
    /// The previous event's adjusted script time (`last_event->time_usecs`).
    pub prev_time: Option<Micros>,
    prev_inbound: bool,
    /// Events processed so far (`num_events`): timing is checked from the second on.
    pub num_events: usize,
    /// The line of the event being processed.
    pub line: u32,
}

impl<'a> Runtime<'a> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        path: &'a str,
        script: &'a Script,
        plan: &'a Plan,
        config: &'a Config,
        addrs: &'a Addresses,
        observer: &'a mut dyn Observer,
        netdev: NetDev,
        ports: PortPool,
    ) -> Self {
        Runtime {
            path,
            script,
            plan,
            config,
            addrs,
            observer,
            state: RunState::default(),
            netdev,
            ports,
            start: 0,
            tolerance: Tolerance {
                usecs: config.tolerance_usecs,
                percent: config.tolerance_percent,
            },
            code: CodeRecorder::default(),
            blocking: None,
            warnings: Vec::new(),
            prev_time: None,
            prev_inbound: false,
            num_events: 0,
            line: 0,
        }
    }

    /// Script-relative microseconds now.
    pub fn now(&self) -> Micros {
        clock::now_usecs() - self.start
    }

    /// Live (unix) microseconds of a script time.
    pub fn live_time(&self, script_time: Micros) -> Micros {
        self.start + script_time
    }

    /// `path:line: ` prefixed message for the current event.
    pub fn at_line(&self, line: u32, message: impl std::fmt::Display) -> String {
        format!("{}:{}: {}", self.path, line, message)
    }

    /// Run every event in order. The caller has already run the init command
    /// and set [`Runtime::start`].
    pub fn run_events(&mut self) -> Result<(), Fatal> {
        let events = &self.script.events;
        for (index, event) in events.iter().enumerate() {
            self.line = event.line;
            self.observer.event_started(event.line);
            if index == 0 && event.time != crate::script::TimeSpec::Absolute(0) {
                let unadjusted = match event.time {
                    crate::script::TimeSpec::Absolute(t)
                    | crate::script::TimeSpec::Relative(t)
                    | crate::script::TimeSpec::AbsoluteRange(t, _)
                    | crate::script::TimeSpec::RelativeRange(t, _) => t,
                    crate::script::TimeSpec::Any => 0,
                };
                if unadjusted != 0 {
                    return Err(fatal(
                        FailureKind::Semantic,
                        Some(event.line),
                        self.at_line(event.line, "first event should be at time 0"),
                    ));
                }
            }
            if index > 0 {
                let prev = &events[index - 1];
                if let (Some(prev_time), true, true) =
                    (self.prev_time, is_absolute(prev), is_absolute(event))
                {
                    let this = match event.time {
                        crate::script::TimeSpec::Absolute(t)
                        | crate::script::TimeSpec::AbsoluteRange(t, _) => t,
                        _ => prev_time,
                    };
                    if this < prev_time {
                        return Err(fatal(
                            FailureKind::Semantic,
                            Some(event.line),
                            self.at_line(
                                event.line,
                                format!(
                                    "time goes backward in script from {prev_time} usec to {this} usec"
                                ),
                            ),
                        ));
                    }
                }
            }
            let inbound = is_inbound(event);
            let offset = if self.prev_inbound && inbound {
                self.prev_time.unwrap_or(0)
            } else {
                self.now()
            };
            let time = EventTime::anchor(event.time, offset);
            self.dispatch(index, event, &time)?;
            self.prev_time = Some(time.start);
            self.prev_inbound = inbound;
            self.num_events += 1;
        }
        Ok(())
    }

    fn dispatch(&mut self, index: usize, event: &Event, time: &EventTime) -> Result<(), Fatal> {
        match &event.action {
            Action::Packet(_) => self.run_packet(index, event, time),
            Action::Syscall(spec) => self.run_syscall(event, spec, time),
            Action::Command(command) => {
                self.wait_for(event, time, Timed::Command)?;
                super::command::run(&command.text).map_err(|detail| {
                    fatal(
                        FailureKind::Command,
                        Some(event.line),
                        self.at_line(
                            event.line,
                            format!("error executing `{}` command: {detail}", command.text),
                        ),
                    )
                })
            }
            Action::Code(code) => {
                self.wait_for(event, time, Timed::CodeCollection)?;
                self.collect_code(event, &code.text)
            }
        }
    }

    /// Sleep until the event's time, then check when we woke against it
    /// (`wait_for_event`; not for the first event).
    pub fn wait_for(&mut self, event: &Event, time: &EventTime, what: Timed) -> Result<(), Fatal> {
        let deadline = self.live_time(time.start);
        self.sleep_until(deadline)?;
        if self.num_events > 0 {
            let actual = self.now();
            self.check_time(event, time, actual, what)?;
        }
        Ok(())
    }

    /// Sleep until a live deadline; a blocking call that ends meanwhile is
    /// completed (and may fail the run) as soon as it returns.
    pub fn sleep_until(&mut self, deadline: Micros) -> Result<(), Fatal> {
        loop {
            if let Some(pending) = &mut self.blocking {
                match pending.inflight.wait_done_until(deadline) {
                    true => self.finish_blocking()?,
                    false => return Ok(()),
                }
            } else {
                clock::sleep_until(deadline);
                return Ok(());
            }
        }
    }

    /// Compare an actual script-relative time with the event's.
    pub fn check_time(
        &self,
        event: &Event,
        time: &EventTime,
        actual: Micros,
        what: Timed,
    ) -> Result<(), Fatal> {
        timing::verify(time, actual, self.prev_time, self.tolerance, what).map_err(|detail| {
            fatal(
                FailureKind::Timing,
                Some(event.line),
                self.at_line(event.line, detail.to_string()),
            )
        })
    }

    /// `%{ }%`: snapshot the socket under test now; the code runs at the end.
    fn collect_code(&mut self, event: &Event, text: &str) -> Result<(), Fatal> {
        let snapshot = self.snapshot_socket_under_test().map_err(|e| {
            fatal(
                FailureKind::Code,
                Some(event.line),
                self.at_line(event.line, e),
            )
        })?;
        self.code.record(snapshot, self.path, event.line, text);
        Ok(())
    }

    fn snapshot_socket_under_test(&self) -> Result<super::code::Snapshot, CollectError> {
        let id = self.state.socket_under_test.ok_or(CollectError::NoSocket)?;
        let fd = self.state.sockets[id]
            .live_fd
            .ok_or(CollectError::TcpInfo)?;
        super::code::snapshot(fd)
    }
}

fn is_inbound(event: &Event) -> bool {
    matches!(&event.action, Action::Packet(p) if p.direction == Direction::Inbound)
}

fn is_absolute(event: &Event) -> bool {
    matches!(
        event.time,
        crate::script::TimeSpec::Absolute(_) | crate::script::TimeSpec::AbsoluteRange(..)
    )
}
