//! What a run of one script ends with, and what it reports while it runs.
//!
//! The bottom layer of the engine: it imports nothing from the other layers,
//! and all of them may use it.

use serde::{Deserialize, Serialize};

/// The verdict of one run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Outcome {
    /// Every event happened as scripted. `warnings` holds non-fatal packet
    /// mismatches (`--non_fatal=packet`), in packetdrill's wording;
    /// `timing_slack`, how close a timed event came to failing.
    Pass {
        warnings: Vec<String>,
        #[serde(default)]
        timing_slack: Option<TimingSlack>,
    },
    /// The script failed (a packetdrill exit status of 1).
    Fail(Failure),
}

impl Outcome {
    pub fn passed(&self) -> bool {
        matches!(self, Outcome::Pass { .. })
    }

    /// The event that came closest to the edge of its tolerance window, if a
    /// timed event was checked (for a timing failure: the one that missed).
    pub fn timing_slack(&self) -> Option<TimingSlack> {
        match self {
            Outcome::Pass { timing_slack, .. } => *timing_slack,
            Outcome::Fail(f) => f.timing_slack,
        }
    }

    /// packetdrill's exit status for this outcome.
    pub fn exit_status(&self) -> i32 {
        if self.passed() {
            0
        } else {
            1
        }
    }
}

/// Why a run failed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    pub kind: FailureKind,
    /// The script line the failure is about, when there is one.
    pub line: Option<u32>,
    /// Everything packetdrill would print on stderr for this failure, first line
    /// `path:LINE: ...`, possibly followed by `script packet:`/`actual packet:` lines,
    /// a Python traceback or a hex dump.
    pub message: String,
    /// For packet mismatches: the two packets side by side.
    pub mismatch: Option<Mismatch>,
    /// The tightest timed event before (or at) the failure.
    #[serde(default)]
    pub timing_slack: Option<TimingSlack>,
}

impl Failure {
    /// The first line of the message.
    pub fn headline(&self) -> &str {
        self.message.lines().next().unwrap_or("")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FailureKind {
    /// The script does not parse.
    Parse,
    /// The script parses but is meaningless (packetdrill's "semantic error").
    Semantic,
    /// A bad `--option` (script line or command line).
    Option,
    /// An event happened outside its tolerance.
    Timing,
    /// An outbound packet differed from the script, or never came.
    Packet,
    /// A system call returned something else than scripted, or could not be made.
    Syscall,
    /// A backquoted command failed (timed, init or cleanup).
    Command,
    /// A `%{ }%` block failed.
    Code,
    /// The environment could not be set up (tun0, addresses, routes...).
    Setup,
    /// A condition packetdrill reports as an internal assertion.
    Internal,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Parse => "parse-error",
            FailureKind::Semantic => "semantic-error",
            FailureKind::Option => "option-error",
            FailureKind::Timing => "timing-error",
            FailureKind::Packet => "packet-mismatch",
            FailureKind::Syscall => "syscall-error",
            FailureKind::Command => "command-error",
            FailureKind::Code => "code-error",
            FailureKind::Setup => "setup-error",
            FailureKind::Internal => "internal-error",
        }
    }
}

/// A packet that was not what the script said.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mismatch {
    /// The header field or property that differed (`tcp_seq`, `ipv4_total_length`,
    /// `tcp options`, `payload length`, `time`...).
    pub field: String,
    pub expected: String,
    pub actual: String,
    /// The script packet, in script syntax.
    pub script_packet: String,
    /// The live packet mapped to script space, in script syntax (absent on a timeout).
    pub actual_packet: Option<String>,
}

/// How close a run came to a timing failure: of the events whose time was
/// checked, the one with the least margin for its tolerance
/// (docs/engine/time-and-tolerance.md, "Timing margin").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimingSlack {
    /// The event's script line.
    pub line: u32,
    /// Microseconds from the actual time to the nearer edge of the window
    /// that passes (negative: outside it, the event failed).
    pub margin_usecs: i64,
    /// The event's tolerance, in microseconds.
    pub tolerance_usecs: i64,
}

impl TimingSlack {
    /// The tighter of two: the smaller margin as a share of its tolerance
    /// (the first on a tie).
    pub fn tighter(self, other: TimingSlack) -> TimingSlack {
        let mine = i128::from(self.margin_usecs) * i128::from(other.tolerance_usecs.max(1));
        let theirs = i128::from(other.margin_usecs) * i128::from(self.tolerance_usecs.max(1));
        if theirs < mine {
            other
        } else {
            self
        }
    }

    /// `line 12: 0.300 ms of 4.000 ms left (8%)`, or for a miss `line 12:
    /// missed by 1.500 ms (tolerance 4.000 ms)`.
    pub fn describe(&self) -> String {
        let ms = |us: i64| us as f64 / 1000.0;
        if self.margin_usecs < 0 {
            return format!(
                "line {}: missed by {:.3} ms (tolerance {:.3} ms)",
                self.line,
                ms(-self.margin_usecs),
                ms(self.tolerance_usecs)
            );
        }
        let pct = 100.0 * self.margin_usecs as f64 / self.tolerance_usecs.max(1) as f64;
        format!(
            "line {}: {:.3} ms of {:.3} ms left ({pct:.0}%)",
            self.line,
            ms(self.margin_usecs),
            ms(self.tolerance_usecs)
        )
    }

    /// Whether the margin is less than `fraction` of the tolerance.
    pub fn within(&self, fraction: f64) -> bool {
        (self.margin_usecs as f64) < fraction * self.tolerance_usecs as f64
    }
}

/// Direction of a packet seen on tun0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PacketDirection {
    Injected,
    Sniffed,
}

/// Receives what happens during a run, as it happens. Every method has a
/// do-nothing default; the runner forwards these to its parent over a pipe.
pub trait Observer {
    /// The event on `line` is about to be processed.
    fn event_started(&mut self, _line: u32) {}
    /// A packet went through tun0 (full IP packet, no virtio header), with the
    /// wall-clock time in nanoseconds since the Unix epoch, on one clock
    /// (`CLOCK_REALTIME`, microsecond resolution): a sniffed packet's kernel
    /// timestamp, an injected packet's moment of injection (taken before the
    /// write, so an answer to it is never earlier).
    fn packet(&mut self, _direction: PacketDirection, _unix_nanos: i128, _bytes: &[u8]) {}
    /// A line of packetdrill's `-v` output.
    fn verbose(&mut self, _line: &str) {}
}

/// An [`Observer`] that ignores everything.
pub struct NoObserver;

impl Observer for NoObserver {}
