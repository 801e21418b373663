//! Why a run stops, typed from where it happens to the [`Failure`] the
//! caller gets: [`RunError`] (one variant per kind of trouble, each carrying
//! the typed error of the module that found it), [`PacketError`] for packet
//! events, and [`RunFailure`], a `RunError` with the script line it is about.
//!
//! `Display` gives packetdrill's text; [`RunError::kind`] picks the
//! [`FailureKind`] by variant, never by reading the text.

use super::blocking::ThreadError;
use super::code::{CodeError, CollectError};
use super::command::CommandError;
use super::netdev::DeviceError;
use super::ports::PortError;
use super::state::TrackingError;
use super::syscall::SyscallError;
use super::timing::{secs9, ScriptTimeError, TimingError};
use super::verify::Difference;
use crate::outcome::{Failure, FailureKind, Mismatch};
use crate::packet;
use crate::script::Micros;
use std::fmt;

/// What ended a run, without the script line (see [`RunFailure`]).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Timing(#[from] TimingError),
    /// The script's times are impossible (packetdrill's semantic errors at
    /// run time).
    #[error(transparent)]
    ScriptTime(#[from] ScriptTimeError),
    #[error("runtime error in {name} call: {error}")]
    Syscall { name: String, error: SyscallError },
    #[error("runtime error in {name} call: {error}")]
    SyscallThread { name: String, error: ThreadError },
    #[error("runtime error: exiting while a blocking system call is in progress")]
    BlockingCallAtExit,
    #[error("error handling packet: {0}")]
    Packet(Box<PacketError>),
    #[error("error executing `{command}` command: {error}")]
    Command {
        command: String,
        error: CommandError,
    },
    #[error("error executing init script '{command}': {error}")]
    InitScript {
        command: String,
        error: CommandError,
    },
    #[error("error executing init command: {0}")]
    InitCommand(CommandError),
    #[error("error executing cleanup command: {0}")]
    CleanupCommand(CommandError),
    /// The socket under test could not be snapshot for a `%{ }%` block.
    #[error(transparent)]
    CodeCollection(#[from] CollectError),
    #[error("error executing code: {0}")]
    Code(#[from] CodeError),
    #[error("error reading script: {0}")]
    ReadScript(std::io::Error),
    #[error(
        "refusing to run in the host's network namespace (it would get tun0, \
         addresses and routes); run it in a namespace of its own, e.g. \
         `unshare -n netdrill exec ...` or `netdrill run {script}`"
    )]
    HostNamespace { script: String },
    /// tun0 could not be set up, or the end-of-run reset not injected.
    #[error(transparent)]
    Device(#[from] DeviceError),
    #[error(transparent)]
    Ports(#[from] PortError),
    #[error("packet event without a packet template")]
    NoTemplate,
    /// The end-of-run reset could not be built.
    #[error("{0}")]
    Reset(packet::Error),
}

impl RunError {
    /// The kind of failure, by what failed.
    pub fn kind(&self) -> FailureKind {
        match self {
            RunError::Timing(_) => FailureKind::Timing,
            RunError::ScriptTime(_) => FailureKind::Semantic,
            RunError::Syscall { .. }
            | RunError::SyscallThread { .. }
            | RunError::BlockingCallAtExit => FailureKind::Syscall,
            RunError::Packet(e) => e.kind(),
            RunError::Command { .. }
            | RunError::InitScript { .. }
            | RunError::InitCommand(_)
            | RunError::CleanupCommand(_) => FailureKind::Command,
            RunError::CodeCollection(_) | RunError::Code(_) => FailureKind::Code,
            RunError::ReadScript(_)
            | RunError::HostNamespace { .. }
            | RunError::Device(_)
            | RunError::Ports(_) => FailureKind::Setup,
            RunError::NoTemplate | RunError::Reset(_) => FailureKind::Internal,
        }
    }

    /// This error, about script line `line`.
    pub fn at(self, line: u32) -> Box<RunFailure> {
        Box::new(RunFailure {
            line: Some(line),
            error: self,
        })
    }

    /// This error, about the run as a whole (no line).
    pub fn unlocated(self) -> Box<RunFailure> {
        Box::new(RunFailure {
            line: None,
            error: self,
        })
    }
}

impl From<PacketError> for RunError {
    fn from(e: PacketError) -> Self {
        RunError::Packet(Box::new(e))
    }
}

/// A [`RunError`] and the script line it is about.
#[derive(Debug)]
pub struct RunFailure {
    pub line: Option<u32>,
    pub error: RunError,
}

impl RunFailure {
    /// What the caller gets: the message as packetdrill prints it
    /// (`path:LINE: ...`, or `path: ...` without a line).
    pub fn into_failure(self, path: &str) -> Failure {
        let message = match self.line {
            Some(line) => format!("{path}:{line}: {}", self.error),
            None => format!("{path}: {}", self.error),
        };
        let mismatch = match &self.error {
            RunError::Packet(p) => p.mismatch(),
            _ => None,
        };
        Failure {
            kind: self.error.kind(),
            line: self.line,
            message,
            mismatch,
            timing_slack: None,
        }
    }
}

/// A packet as a message shows it: its script time and its short dump.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShownPacket {
    pub time: Micros,
    pub dump: String,
}

impl fmt::Display for ShownPacket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", secs9(self.time), self.dump)
    }
}

/// How a packet event went wrong. `Display` is packetdrill's text after
/// `error handling packet: ` (or `warning handling packet: `).
#[derive(Debug, thiserror::Error)]
pub enum PacketError {
    /// No socket for the script packet, or no port for a new passive child.
    #[error(transparent)]
    Socket(#[from] TrackingError),
    #[error("Timed out waiting for packet")]
    TimedOut,
    #[error("packet is not for expected socket")]
    OtherSocket,
    /// A sniffed packet that does not parse: the parser's reason and a hex dump.
    #[error("{0}")]
    Malformed(packet::Error),
    /// A packet that could not be mapped between script and live space.
    #[error("{0}")]
    Mapping(packet::Error),
    #[error(transparent)]
    Device(#[from] DeviceError),
    #[error(
        "unable to infer live TS ecr for script TS ecr {0};  no matching or preceding outbound TS val"
    )]
    UnknownTsEcr(u32),
    #[error("live packet payload: expected {expected} bytes vs actual {actual} bytes")]
    PayloadLength { expected: usize, actual: usize },
    /// Sniffed segments that cannot be merged into the script's packet.
    #[error(
        "{difference}\nscript packet: {script}{}",
        actual.iter().enumerate().map(|(i, dump)| format!("\nactual #{i} packet: {dump}")).collect::<String>()
    )]
    Fragment {
        difference: Box<Difference>,
        script: Box<ShownPacket>,
        /// Short dumps of the segments, in order.
        actual: Vec<String>,
    },
    #[error("bad outbound IP checksum")]
    BadChecksum,
    /// The live packet differs from the script packet.
    #[error("{0}")]
    Differs(Box<Difference>),
    /// The live packet came outside its tolerance.
    #[error(transparent)]
    Timing(#[from] TimingError),
    /// An outbound check failed: the reason, then both packets.
    #[error("{error}\nscript packet: {script}\nactual packet: {actual}")]
    Outbound {
        error: Box<PacketError>,
        script: Box<ShownPacket>,
        actual: Box<ShownPacket>,
    },
}

impl PacketError {
    pub fn kind(&self) -> FailureKind {
        match self {
            PacketError::Timing(_) => FailureKind::Timing,
            PacketError::Outbound { error, .. } => error.kind(),
            _ => FailureKind::Packet,
        }
    }

    /// Whether `--non_fatal=packet` turns it into a warning: header, flow
    /// label, option and payload differences, and timing; never a missing,
    /// malformed or unmergeable packet.
    pub fn recoverable(&self) -> bool {
        match self {
            PacketError::Differs(d) => d.recoverable,
            PacketError::Timing(_) => true,
            PacketError::Outbound { error, .. } => error.recoverable(),
            _ => false,
        }
    }

    /// The two packets side by side, in script syntax with their script
    /// times (as the message's `script packet:` / `actual packet:` lines show
    /// them), for every failure that names a script packet: a field that
    /// differs, a packet outside its time, and segments that cannot be merged
    /// (their dumps one after the other). The field says what differed:
    /// the header field, `time`, or the failure's own words.
    pub fn mismatch(&self) -> Option<Mismatch> {
        match self {
            PacketError::Outbound {
                error,
                script,
                actual,
            } => {
                let script_packet = script.to_string().trim().to_string();
                let actual_packet = Some(actual.to_string().trim().to_string());
                Some(match error.as_ref() {
                    PacketError::Differs(d) => {
                        (**d).clone().into_mismatch(script_packet, actual_packet)
                    }
                    PacketError::Timing(t) => Mismatch {
                        field: "time".to_string(),
                        expected: t.expected_text(),
                        actual: t.actual_text(),
                        script_packet,
                        actual_packet,
                    },
                    other => Mismatch {
                        field: "packet".to_string(),
                        expected: String::new(),
                        actual: other.to_string(),
                        script_packet,
                        actual_packet,
                    },
                })
            }
            PacketError::Fragment {
                difference,
                script,
                actual,
            } => Some((**difference).clone().into_mismatch(
                script.to_string().trim().to_string(),
                Some(actual.join("\n")).filter(|a| !a.is_empty()),
            )),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::timing::Timed;

    fn late() -> TimingError {
        TimingError::Outside {
            what: Timed::OutboundPacket,
            expected: 100_000,
            actual: 150_000,
            tolerance: 12_500,
        }
    }

    fn shown(time: Micros, dump: &str) -> ShownPacket {
        ShownPacket {
            time,
            dump: dump.to_string(),
        }
    }

    #[test]
    fn kinds_follow_the_variant_not_the_text() {
        let timing = RunError::from(PacketError::Outbound {
            error: Box::new(PacketError::Timing(late())),
            script: Box::new(shown(100_000, ". 1:1(0) ack 1 ")),
            actual: Box::new(shown(150_000, ". 1:1(0) ack 1 ")),
        });
        assert_eq!(timing.kind(), FailureKind::Timing);
        let f = timing.at(7).into_failure("x.pkt");
        assert_eq!(
            f.message,
            "x.pkt:7: error handling packet: timing error: expected outbound packet at 0.100000 \
             sec but happened at 0.150000 sec; tolerance 0.012500 sec\n\
             script packet:  0.100000 . 1:1(0) ack 1 \n\
             actual packet:  0.150000 . 1:1(0) ack 1 "
        );
        assert_eq!(f.line, Some(7));
        assert_eq!(f.mismatch.map(|m| m.field).as_deref(), Some("time"));
        // A packet error whose text starts like a timing error is still a packet error.
        let packet = RunError::from(PacketError::Malformed(packet::Error::new(
            "timing error: not really",
        )));
        assert_eq!(packet.kind(), FailureKind::Packet);
        assert_eq!(
            RunError::ScriptTime(ScriptTimeError::FirstEventNotAtZero).kind(),
            FailureKind::Semantic
        );
        assert_eq!(
            RunError::Syscall {
                name: "read".into(),
                error: SyscallError::ArgumentListTooShort
            }
            .kind(),
            FailureKind::Syscall
        );
    }

    #[test]
    fn messages_without_a_line_name_only_the_script() {
        let f = RunError::InitCommand(CommandError::Status(2))
            .unlocated()
            .into_failure("x.pkt");
        assert_eq!(
            (f.kind, f.line, f.message.as_str()),
            (
                FailureKind::Command,
                None,
                "x.pkt: error executing init command: non-zero status 2"
            )
        );
    }

    #[test]
    fn fragments_list_every_segment() {
        let e = PacketError::Fragment {
            difference: Box::new(Difference::field("tcp_seq", 1, 2)),
            script: Box::new(shown(0, "P. 1:2001(2000) ack 1 ")),
            actual: vec![
                "P. 1:1001(1000) ack 1 ".into(),
                ". 2:1002(1000) ack 1 ".into(),
            ],
        };
        assert_eq!(
            e.to_string(),
            "live packet field tcp_seq: expected: 1 (0x1) vs actual: 2 (0x2)\n\
             script packet:  0.000000 P. 1:2001(2000) ack 1 \n\
             actual #0 packet: P. 1:1001(1000) ack 1 \n\
             actual #1 packet: . 2:1002(1000) ack 1 "
        );
        assert!(!e.recoverable());
    }

    #[test]
    fn field_differences_carry_both_packets() {
        let e = PacketError::Outbound {
            error: Box::new(PacketError::Differs(Box::new(Difference::field(
                "tcp_seq", 1, 2,
            )))),
            script: Box::new(shown(0, "a")),
            actual: Box::new(shown(1, "b")),
        };
        assert!(e.recoverable());
        let m = e.mismatch().expect("a mismatch");
        assert_eq!(
            (
                m.field.as_str(),
                m.script_packet.as_str(),
                m.actual_packet.as_deref()
            ),
            ("tcp_seq", "0.000000 a", Some("0.000001 b"))
        );
    }

    #[test]
    fn a_late_packet_carries_both_packets_and_the_times() {
        let e = PacketError::Outbound {
            error: Box::new(PacketError::Timing(late())),
            script: Box::new(shown(100_000, ". 1:1(0) ack 1")),
            actual: Box::new(shown(150_000, ". 1:1(0) ack 1")),
        };
        let m = e.mismatch().expect("a mismatch");
        assert_eq!(m.field, "time");
        assert_eq!(m.expected, "0.100000 sec (tolerance 0.012500 sec)");
        assert_eq!(m.actual, "0.150000 sec");
        assert_eq!(m.script_packet, "0.100000 . 1:1(0) ack 1");
        assert_eq!(m.actual_packet.as_deref(), Some("0.150000 . 1:1(0) ack 1"));
        assert!(PacketError::TimedOut.mismatch().is_none());
    }
}
