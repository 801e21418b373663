//! [`Runtime`]: everything a run touches (tun0 and its sniffer, fd and socket
//! state, the code recorder, a blocking call in flight) and the waiting every
//! event shares: sleeping until an event's time, checking when it happened,
//! and completing a blocking call that returns meanwhile.
//!
//! The handlers of the events build on it, each in its own file:
//! `syscall_events.rs`, `packet_events.rs`, then `event_loop.rs`, which runs
//! the events in order, and `teardown.rs`. Timing: docs/engine/time-and-tolerance.md.

use super::blocking::{PendingCall, ThreadError};
use super::clock::ScriptClock;
use super::code::CodeRecorder;
use super::failure::{RunError, RunFailure};
use super::netdev::NetDev;
use super::ports::PortPool;
use super::reaction::{Reaction, ReactionModel};
use super::state::RunState;
use super::syscall::{self, SyscallEnv};
use super::timing::{self, EventTime, Timed, Tolerance};
use crate::outcome::{Observer, TimingSlack};
use crate::plan::config::{Addresses, Config};
use crate::plan::Plan;
use crate::script::{Event, Micros, Script, TimeSpec};

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
    /// Script time 0 on the realtime clock (set once the init command ran).
    pub clock: ScriptClock,
    pub tolerance: Tolerance,
    pub code: CodeRecorder,
    pub blocking: Option<PendingCall>,
    /// Non-fatal packet mismatches (`--non_fatal=packet`), in packetdrill's wording.
    pub warnings: Vec<String>,
    /// The previous event's adjusted script time (`last_event->time_usecs`).
    pub prev_time: Option<Micros>,
    /// Whether the previous event was an inbound packet.
    pub prev_inbound: bool,
    /// Events processed so far (`num_events`): timing is checked from the second on.
    pub num_events: usize,
    /// When packetdrill would be done with the steps so far: relative times
    /// count from it (docs/engine/time-and-tolerance.md, "Reaction time").
    pub reaction: ReactionModel,
    /// Kernel timestamps (script µs) of the frames the current outbound step took.
    pub frame_times: Vec<Micros>,
    /// The checked time with the least margin so far
    /// (docs/engine/time-and-tolerance.md, "Timing margin").
    pub timing_slack: Option<TimingSlack>,
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
            clock: ScriptClock::starting_at(0),
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
            reaction: ReactionModel::new(Reaction::Packetdrill),
            frame_times: Vec::new(),
            timing_slack: None,
        }
    }

    /// Script-relative microseconds now.
    pub fn now(&self) -> Micros {
        self.clock.now()
    }

    /// Live (unix) microseconds of a script time.
    pub fn live_time(&self, script_time: Micros) -> Micros {
        self.clock.to_unix(script_time)
    }

    /// Sleep until the event's time, then check when we woke against it
    /// (`wait_for_event`; not for the first event).
    pub fn wait_for(
        &mut self,
        event: &Event,
        time: &EventTime,
        what: Timed,
    ) -> Result<(), Box<RunFailure>> {
        // docs/engine/time-and-tolerance.md, "Waiting": wake a little early,
        // so that the wake-up latency lands the event at its time.
        let deadline = self.live_time(time.start) - super::reaction::WAKE_EARLY_USECS;
        self.sleep_until(deadline)?;
        if self.num_events > 0 {
            let actual = self.now();
            self.check_time(event, time, actual, what)?;
        }
        Ok(())
    }

    /// Sleep until a live deadline; a blocking call that ends meanwhile is
    /// completed (and may fail the run) as soon as it returns.
    pub fn sleep_until(&mut self, deadline: Micros) -> Result<(), Box<RunFailure>> {
        loop {
            if let Some(pending) = &mut self.blocking {
                match pending.inflight.wait_done_until(deadline) {
                    true => self.finish_blocking()?,
                    false => return Ok(()),
                }
            } else {
                super::clock::sleep_until(deadline);
                return Ok(());
            }
        }
    }

    /// Compare an actual script-relative time with the event's.
    pub fn check_time(
        &mut self,
        event: &Event,
        time: &EventTime,
        actual: Micros,
        what: Timed,
    ) -> Result<(), Box<RunFailure>> {
        self.note_slack(event.line, time, actual, self.prev_time);
        timing::verify(time, actual, self.prev_time, self.tolerance, what)
            .map_err(|e| RunError::Timing(e).at(event.line))
    }

    /// Keep the margin of a checked time if it is the tightest so far.
    pub fn note_slack(
        &mut self,
        line: u32,
        time: &EventTime,
        actual: Micros,
        previous: Option<Micros>,
    ) {
        self.timing_slack = tighter(
            self.timing_slack,
            timing::slack(line, time, actual, previous, self.tolerance),
        );
    }

    pub fn syscall_env(&mut self) -> SyscallEnv<'_> {
        SyscallEnv {
            state: &mut self.state,
            config: self.config,
            addrs: self.addrs,
        }
    }

    /// The blocking call has returned: check its result, then its return time.
    pub fn finish_blocking(&mut self) -> Result<(), Box<RunFailure>> {
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
            return Err(RunError::SyscallThread {
                name,
                error: ThreadError::Died,
            }
            .at(line));
        };
        {
            let mut env = self.syscall_env();
            syscall::complete(&spec, returned.value, &mut env)
        }
        .map_err(|error| RunError::Syscall { name, error }.at(line))?;
        let expected = EventTime::anchor(
            match time_spec {
                TimeSpec::Relative(_) | TimeSpec::RelativeRange(..) => TimeSpec::Relative(end),
                _ => TimeSpec::Absolute(end),
            },
            0,
        );
        let actual = self.clock.to_script(returned.returned);
        self.note_slack(line, &expected, actual, Some(start));
        timing::verify(
            &expected,
            actual,
            Some(start),
            self.tolerance,
            Timed::SyscallReturn,
        )
        .map_err(|e| RunError::Timing(e).at(line))
    }
}

/// The tighter of two margins, either of which may be missing.
pub(crate) fn tighter(a: Option<TimingSlack>, b: Option<TimingSlack>) -> Option<TimingSlack> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.tighter(b)),
        (a, b) => a.or(b),
    }
}
