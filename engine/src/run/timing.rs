//! Script times and packetdrill's tolerance rules
//! (docs/engine/time-and-tolerance.md).
//!
//! All times here are microseconds of script time (0 = the script start).

use crate::outcome::TimingSlack;
use crate::script::{Micros, TimeSpec};
use std::fmt;

/// An event's time once relative times are anchored
/// (docs/engine/time-and-tolerance.md, "Anchoring of relative times").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventTime {
    pub spec: TimeSpec,
    /// Expected time (start of the window for ranges).
    pub start: Micros,
    /// End of the window for ranges.
    pub end: Option<Micros>,
    /// What was added to the written time (0 for absolute times).
    pub offset: Micros,
}

impl EventTime {
    /// Anchor `spec` at `offset` (ignored for absolute times).
    pub fn anchor(spec: TimeSpec, offset: Micros) -> EventTime {
        match spec {
            TimeSpec::Absolute(t) => EventTime {
                spec,
                start: t,
                end: None,
                offset: 0,
            },
            TimeSpec::AbsoluteRange(a, b) => EventTime {
                spec,
                start: a,
                end: Some(b),
                offset: 0,
            },
            TimeSpec::Relative(t) => EventTime {
                spec,
                start: t + offset,
                end: None,
                offset,
            },
            TimeSpec::RelativeRange(a, b) => EventTime {
                spec,
                start: a + offset,
                end: Some(b + offset),
                offset,
            },
            // `*` gets the current time, like a relative 0 (it is never checked).
            TimeSpec::Any => EventTime {
                spec,
                start: offset,
                end: None,
                offset,
            },
        }
    }

    pub fn is_absolute(&self) -> bool {
        matches!(
            self.spec,
            TimeSpec::Absolute(_) | TimeSpec::AbsoluteRange(..)
        )
    }
}

/// Absolute and relative tolerance (`--tolerance_usecs`, `--tolerance_percent`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance {
    pub usecs: i64,
    pub percent: f64,
}

impl Tolerance {
    /// The tolerance for an event expected at `expected` whose previous event was
    /// expected at `previous`: the larger of the absolute tolerance and
    /// `percent` of the gap (truncated to whole microseconds, as C's `long` cast).
    pub fn for_gap(&self, expected: Micros, previous: Option<Micros>) -> i64 {
        match previous {
            Some(p) => {
                let dynamic = (self.percent / 100.0 * (expected - p) as f64) as i64;
                dynamic.max(self.usecs)
            }
            None => self.usecs,
        }
    }
}

/// Seconds with six decimals, as packetdrill prints times.
pub fn secs(usecs: i64) -> String {
    format!("{:.6}", usecs as f64 / 1e6)
}

/// `%9.6f` of script microseconds, as packetdrill prints packet times.
pub fn secs9(usecs: Micros) -> String {
    format!("{:9.6}", usecs as f64 / 1e6)
}

fn signed_secs(usecs: i64) -> String {
    format!("{:+.6}", usecs as f64 / 1e6)
}

/// What happened at a checked time, in packetdrill's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timed {
    InboundPacket,
    OutboundPacket,
    SyscallStart,
    SyscallReturn,
    Command,
    CodeCollection,
}

impl fmt::Display for Timed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Timed::InboundPacket => "inbound packet",
            Timed::OutboundPacket => "outbound packet",
            Timed::SyscallStart => "system call start",
            Timed::SyscallReturn => "system call return",
            Timed::Command => "command",
            Timed::CodeCollection => "data collection for code",
        })
    }
}

/// Something happened outside its tolerance. `Display` is packetdrill's
/// text; times are script microseconds.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TimingError {
    #[error(
        "timing error: expected {what} at {} sec but happened at {} sec; tolerance {} sec",
        secs(*expected),
        secs(*actual),
        secs(*tolerance)
    )]
    Outside {
        what: Timed,
        expected: Micros,
        actual: Micros,
        tolerance: Micros,
    },
    /// An absolute range `A~B`.
    #[error(
        "timing error: expected {what} in time range {}~{} sec but happened at {} sec",
        secs(*start),
        secs(*end),
        secs(*actual)
    )]
    OutsideRange {
        what: Timed,
        start: Micros,
        end: Micros,
        actual: Micros,
    },
    /// A relative range `+A~+B`: the times are relative to the anchor.
    #[error(
        "timing error: expected {what} in relative time range +{}~+{} sec but happened at {} sec",
        secs(*start),
        secs(*end),
        signed_secs(*actual)
    )]
    OutsideRelativeRange {
        what: Timed,
        start: Micros,
        end: Micros,
        actual: Micros,
    },
}

impl TimingError {
    /// When the event was expected, in seconds of script time.
    pub fn expected_text(&self) -> String {
        match self {
            TimingError::Outside {
                expected,
                tolerance,
                ..
            } => format!(
                "{} sec (tolerance {} sec)",
                secs(*expected),
                secs(*tolerance)
            ),
            TimingError::OutsideRange { start, end, .. } => {
                format!("{}~{} sec", secs(*start), secs(*end))
            }
            TimingError::OutsideRelativeRange { start, end, .. } => {
                format!("+{}~+{} sec", secs(*start), secs(*end))
            }
        }
    }

    /// When it happened, as the message says it.
    pub fn actual_text(&self) -> String {
        match self {
            TimingError::Outside { actual, .. } | TimingError::OutsideRange { actual, .. } => {
                format!("{} sec", secs(*actual))
            }
            TimingError::OutsideRelativeRange { actual, .. } => {
                format!("{} sec", signed_secs(*actual))
            }
        }
    }
}

/// Check that `what`, which happened at `actual`, fits `time`. `previous`
/// is the previous event's expected time (`None` for none).
pub fn verify(
    time: &EventTime,
    actual: Micros,
    previous: Option<Micros>,
    tolerance: Tolerance,
    what: Timed,
) -> Result<(), TimingError> {
    if time.spec == TimeSpec::Any {
        return Ok(());
    }
    let tol = tolerance.for_gap(time.start, previous);
    if let Some(end) = time.end {
        if actual < time.start - tol || actual > end + tol {
            return Err(if time.is_absolute() {
                TimingError::OutsideRange {
                    what,
                    start: time.start,
                    end,
                    actual,
                }
            } else {
                TimingError::OutsideRelativeRange {
                    what,
                    start: time.start - time.offset,
                    end: end - time.offset,
                    actual: actual - time.offset,
                }
            });
        }
        return Ok(());
    }
    if actual < time.start - tol || actual > time.start + tol {
        return Err(TimingError::Outside {
            what,
            expected: time.start,
            actual,
            tolerance: tol,
        });
    }
    Ok(())
}

/// How far `actual` lies inside the window that passes for `time` (the
/// window [`verify`] checks), for the event on `line`: the distance to the
/// nearer edge, negative when outside (docs/engine/time-and-tolerance.md,
/// "Timing margin"). `None` for `*`, which is never checked.
pub fn slack(
    line: u32,
    time: &EventTime,
    actual: Micros,
    previous: Option<Micros>,
    tolerance: Tolerance,
) -> Option<TimingSlack> {
    if time.spec == TimeSpec::Any {
        return None;
    }
    let tol = tolerance.for_gap(time.start, previous);
    let earliest = time.start - tol;
    let latest = time.end.unwrap_or(time.start) + tol;
    Some(TimingSlack {
        line,
        margin_usecs: (actual - earliest).min(latest - actual),
        tolerance_usecs: tol,
    })
}

/// The script's own times are impossible (packetdrill's checks when an event
/// becomes current).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScriptTimeError {
    #[error("first event should be at time 0")]
    FirstEventNotAtZero,
    #[error("time goes backward in script from {from} usec to {to} usec")]
    Backward { from: Micros, to: Micros },
}

/// How long to wait for an outbound packet before giving up
/// (docs/engine/time-and-tolerance.md, "Sniff timeout"): whole
/// seconds `trunc(max(start, end) - previous) + 2`; `None` = forever (`*`).
pub fn sniff_timeout_secs(time: &EventTime, previous: Micros) -> Option<i64> {
    if time.spec == TimeSpec::Any {
        return None;
    }
    let latest = time.end.unwrap_or(time.start).max(time.start);
    Some((latest - previous) / 1_000_000 + 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOL: Tolerance = Tolerance {
        usecs: 4000,
        percent: 12.5,
    };

    #[test]
    fn tolerance_is_the_larger_of_absolute_and_percent_of_gap() {
        assert_eq!(TOL.for_gap(200_000, Some(0)), 25_000);
        assert_eq!(TOL.for_gap(10_000, Some(0)), 4_000);
        assert_eq!(TOL.for_gap(10_000, None), 4_000);
        // Truncation, not rounding.
        assert_eq!(TOL.for_gap(200_007, Some(0)), 25_000);
    }

    #[test]
    fn messages_match_packetdrill() {
        let t = EventTime::anchor(TimeSpec::Relative(100_000), 200_437);
        assert_eq!(
            verify(&t, 401_145, Some(200_437), TOL, Timed::SyscallReturn)
                .unwrap_err()
                .to_string(),
            "timing error: expected system call return at 0.300437 sec but happened at 0.401145 sec; tolerance 0.012500 sec"
        );
        assert!(verify(&t, 300_437 + 12_500, Some(200_437), TOL, Timed::Command).is_ok());
        assert!(verify(&t, 300_437 - 12_501, Some(200_437), TOL, Timed::Command).is_err());

        let r = EventTime::anchor(TimeSpec::AbsoluteRange(100_000, 200_000), 0);
        assert_eq!(
            verify(&r, 300_000, Some(0), TOL, Timed::OutboundPacket)
                .unwrap_err()
                .to_string(),
            "timing error: expected outbound packet in time range 0.100000~0.200000 sec but happened at 0.300000 sec"
        );
        let rr = EventTime::anchor(TimeSpec::RelativeRange(100_000, 200_000), 1_000_000);
        assert_eq!(
            verify(&rr, 1_050_000, Some(1_000_000), TOL, Timed::OutboundPacket)
                .unwrap_err()
                .to_string(),
            "timing error: expected outbound packet in relative time range +0.100000~+0.200000 sec but happened at +0.050000 sec"
        );
        let any = EventTime::anchor(TimeSpec::Any, 5);
        assert!(verify(&any, 99_000_000, Some(0), TOL, Timed::Command).is_ok());
    }

    #[test]
    fn margin_is_the_distance_to_the_nearer_edge() {
        let m = |time: &EventTime, actual, previous| {
            slack(7, time, actual, previous, TOL).map(|s| (s.margin_usecs, s.tolerance_usecs))
        };
        // Expected at 300.437 ms, previous at 200.437: 12.5 ms either way.
        let t = EventTime::anchor(TimeSpec::Relative(100_000), 200_437);
        assert_eq!(m(&t, 300_437, Some(200_437)), Some((12_500, 12_500)));
        assert_eq!(m(&t, 310_437, Some(200_437)), Some((2_500, 12_500)));
        assert_eq!(m(&t, 290_437, Some(200_437)), Some((2_500, 12_500)));
        // On the edge: 0, and it passes; a microsecond past: -1, and it fails.
        assert_eq!(m(&t, 312_937, Some(200_437)), Some((0, 12_500)));
        assert!(verify(&t, 312_937, Some(200_437), TOL, Timed::Command).is_ok());
        assert_eq!(m(&t, 312_938, Some(200_437)), Some((-1, 12_500)));
        assert!(verify(&t, 312_938, Some(200_437), TOL, Timed::Command).is_err());
        assert_eq!(m(&t, 401_145, Some(200_437)), Some((-88_208, 12_500)));
        // No previous event: the absolute tolerance.
        let first = EventTime::anchor(TimeSpec::Absolute(0), 0);
        assert_eq!(m(&first, 1_000, None), Some((3_000, 4_000)));
        // A window: from its start minus the tolerance to its end plus it.
        let r = EventTime::anchor(TimeSpec::AbsoluteRange(100_000, 200_000), 0);
        assert_eq!(m(&r, 150_000, Some(90_000)), Some((54_000, 4_000)));
        assert_eq!(m(&r, 203_000, Some(90_000)), Some((1_000, 4_000)));
        assert_eq!(m(&r, 95_000, Some(90_000)), Some((-1_000, 4_000)));
        assert_eq!(m(&EventTime::anchor(TimeSpec::Any, 5), 9, Some(0)), None);
        let s = slack(7, &t, 310_437, Some(200_437), TOL).unwrap();
        assert_eq!(s.line, 7);
        assert!(s.within(0.25) && !s.within(0.2));
    }

    #[test]
    fn the_tighter_margin_is_the_smaller_share_of_its_tolerance() {
        let s = |line, margin_usecs, tolerance_usecs| TimingSlack {
            line,
            margin_usecs,
            tolerance_usecs,
        };
        // 1 ms of 4 ms (25%) is tighter than 5 ms of 12.5 ms (40%).
        assert_eq!(s(1, 5_000, 12_500).tighter(s(2, 1_000, 4_000)).line, 2);
        assert_eq!(s(2, 1_000, 4_000).tighter(s(1, 5_000, 12_500)).line, 2);
        // A miss is tighter than any pass; on a tie the first stays.
        assert_eq!(s(1, 0, 4_000).tighter(s(2, -1, 25_000)).line, 2);
        assert_eq!(s(1, 1_000, 4_000).tighter(s(2, 2_000, 8_000)).line, 1);
    }

    #[test]
    fn packet_times_print_like_printf() {
        assert_eq!(secs9(100_000), " 0.100000");
        assert_eq!(secs9(12_345_678), "12.345678");
    }

    #[test]
    fn script_time_errors_read_as_packetdrill_words_them() {
        assert_eq!(
            ScriptTimeError::Backward {
                from: 200_000,
                to: 100_000
            }
            .to_string(),
            "time goes backward in script from 200000 usec to 100000 usec"
        );
        assert_eq!(
            ScriptTimeError::FirstEventNotAtZero.to_string(),
            "first event should be at time 0"
        );
    }

    #[test]
    fn sniff_timeouts() {
        let t = EventTime::anchor(TimeSpec::Absolute(3_500_000), 0);
        assert_eq!(sniff_timeout_secs(&t, 1_000_000), Some(4));
        assert_eq!(
            sniff_timeout_secs(&EventTime::anchor(TimeSpec::Any, 0), 0),
            None
        );
    }
}
