//! The event loop: events in script order, each at its time, each handled by
//! its kind (docs/engine/lifecycle.md, "Events"; relative times are anchored
//! as docs/engine/time-and-tolerance.md, "Anchoring of relative times", says).

use super::failure::{RunError, RunFailure};
use super::runtime::Runtime;
use super::timing::{EventTime, ScriptTimeError, Timed};
use crate::script::{Action, Direction, Event, TimeSpec};

impl Runtime<'_> {
    /// Run every event in order. The caller has already run the init command
    /// and set [`Runtime::clock`].
    pub fn run_events(&mut self) -> Result<(), Box<RunFailure>> {
        let events = &self.script.events;
        for (index, event) in events.iter().enumerate() {
            self.observer.event_started(event.line);
            if index == 0 && event.time != TimeSpec::Absolute(0) {
                let unadjusted = match event.time {
                    TimeSpec::Absolute(t)
                    | TimeSpec::Relative(t)
                    | TimeSpec::AbsoluteRange(t, _)
                    | TimeSpec::RelativeRange(t, _) => t,
                    TimeSpec::Any => 0,
                };
                if unadjusted != 0 {
                    return Err(RunError::from(ScriptTimeError::FirstEventNotAtZero).at(event.line));
                }
            }
            if index > 0 {
                let prev = &events[index - 1];
                if let (Some(prev_time), true, true) =
                    (self.prev_time, is_absolute(prev), is_absolute(event))
                {
                    let this = match event.time {
                        TimeSpec::Absolute(t) | TimeSpec::AbsoluteRange(t, _) => t,
                        _ => prev_time,
                    };
                    if this < prev_time {
                        return Err(RunError::from(ScriptTimeError::Backward {
                            from: prev_time,
                            to: this,
                        })
                        .at(event.line));
                    }
                }
            }
            let inbound = is_inbound(event);
            let offset = if self.prev_inbound && inbound {
                self.prev_time.unwrap_or(0)
            } else {
                // docs/engine/time-and-tolerance.md, "Reaction time".
                self.reaction.anchor(self.now())
            };
            let time = EventTime::anchor(event.time, offset);
            self.dispatch(index, event, &time)?;
            self.prev_time = Some(time.start);
            self.prev_inbound = inbound;
            self.num_events += 1;
        }
        Ok(())
    }

    fn dispatch(
        &mut self,
        index: usize,
        event: &Event,
        time: &EventTime,
    ) -> Result<(), Box<RunFailure>> {
        if !matches!(&event.action, Action::Packet(p) if p.direction == Direction::Outbound) {
            // The outbound step tells the model itself, with its frames.
            self.reaction.other_done();
        }
        match &event.action {
            Action::Packet(_) => self.run_packet(index, event, time),
            Action::Syscall(spec) => self.run_syscall(event, spec, time),
            Action::Command(command) => {
                self.wait_for(event, time, Timed::Command)?;
                super::command::run(&command.text).map_err(|error| {
                    RunError::Command {
                        command: command.text.clone(),
                        error,
                    }
                    .at(event.line)
                })
            }
            Action::Code(code) => {
                self.wait_for(event, time, Timed::CodeCollection)?;
                self.collect_code(event, &code.text)
            }
        }
    }

    /// `%{ }%`: snapshot the socket under test now; the code runs at the end.
    fn collect_code(&mut self, event: &Event, text: &str) -> Result<(), Box<RunFailure>> {
        let snapshot = self
            .snapshot_socket_under_test()
            .map_err(|e| RunError::from(e).at(event.line))?;
        self.code.record(snapshot, self.path, event.line, text);
        Ok(())
    }

    fn snapshot_socket_under_test(
        &self,
    ) -> Result<super::code::Snapshot, super::code::CollectError> {
        use super::code::CollectError;
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
        TimeSpec::Absolute(_) | TimeSpec::AbsoluteRange(..)
    )
}
