//! The script clock (docs/engine/time-and-tolerance.md, "The clock", "The
//! start of a script" and "Waiting").
//!
//! One clock for everything: microseconds of `CLOCK_REALTIME` since the Unix
//! epoch. Kernel packet timestamps (`SO_TIMESTAMPNS` on the sniffer) are realtime
//! too, so a sniffed packet's time and the time of an injection or a system call
//! compare directly, as in packetdrill (which uses `gettimeofday`).
//!
//! Waiting is an absolute `clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME)`: it
//! never returns early, does not accumulate error over a loop, and burns no CPU.
//! packetdrill sleeps to 20 µs before an event and then spins; we do not spin
//! (a sandboxed runner has many jobs on two cores), so events are late by the
//! thread's wake-up latency (tens to a few hundred µs, far below the 4 ms default
//! tolerance).
//!
//! # The start of a script
//!
//! packetdrill starts a script a quarter of a millisecond into a kernel jiffy:
//! it busy-spins on `times()` until the clock-tick count has changed ten times
//! and takes the last change + 250 µs as script time 0, so that events written
//! on millisecond boundaries do not sit on the edge of a jiffy (where kernel
//! timers would fire a jiffy early or late). That costs ~100 ms of CPU per run.
//!
//! [`aligned_start`] gets the same alignment without spinning:
//!
//! * The jiffy length is the resolution of `CLOCK_MONOTONIC_COARSE` (the kernel
//!   reports `TICK_NSEC` there: 4 ms with HZ=250).
//! * Current kernels put jiffy edges on multiples of `TICK_NSEC` of
//!   `CLOCK_MONOTONIC` (the tick is aligned when the tick device is set up).
//!   Once per process we check that: we watch `times()` with short sleeps (200 µs)
//!   until it changes, which brackets one jiffy edge between two monotonic
//!   readings, and accept the kernel's grid if a grid point lies in the bracket.
//!   Otherwise (older kernels, `skew_tick=1`) the phase of the observed change is
//!   used, as packetdrill would. This waits for one clock-tick change (at most
//!   ~12 ms, a few dozen wake-ups, no spinning).
//! * The start is the next jiffy edge after now, + 250 µs, converted from
//!   monotonic to realtime. It lies at most one jiffy + 250 µs in the future.
//!
//! # Settling before the start
//!
//! packetdrill's spin also lasts ten `times()` ticks (~100 ms) after the init
//! command, and what the kernel does in those 100 ms matters: the work the
//! init command left behind (RCU callbacks, workqueues) drains, the idle CPU
//! stops its tick and gives up the jiffies update, and the busy CPU (the one
//! the packets are injected from) takes it over. A timer armed "for the next
//! jiffy" from that CPU (a delayed ACK with `ato` 0, for one) then fires on
//! the very next tick; when the other CPU still updates jiffies, this CPU's
//! tick can run first, see the old jiffies, and fire the timer a tick later
//! (seen as an ACK 4 ms late). [`settled_start`] gives the kernel the same
//! 100 ms without spinning: it sleeps in slices short enough (200 µs) that
//! its CPU never stops its tick, until `times()` has changed ten times.
//!
//! # The kernel's moment of a jiffy
//!
//! packetdrill's start is 250 µs after the moment its spin saw `times()`
//! change, that is after the kernel's timer interrupt advanced `jiffies`,
//! which comes after the nominal edge by the interrupt's latency (60 to 70 µs
//! on a 2-vCPU VM). Kernel timers fire from that interrupt, so a start 250 µs
//! after the nominal edge puts every timer-driven packet that latency later in
//! script time than under packetdrill. So [`settled_start`] watches the next
//! edge itself: it sleeps (in slices) to 100 µs before it, then reads
//! `CLOCK_MONOTONIC_COARSE`, which the kernel moves in the same handler as
//! `jiffies`, until it changes, and starts 250 µs after that moment. That
//! spin, about 150 µs once per script, is the engine's only one.
//!
//! The coarse clocks' values cannot give the phase: they advance in whole
//! ticks from a phase fixed when timekeeping started, unrelated to jiffy
//! edges, and lag the real time by up to two ticks on an idle system. Only
//! the moment they change, watched from a CPU that keeps its tick, does.

use std::sync::OnceLock;

/// packetdrill's offset of the script start into a jiffy.
pub const JIFFY_OFFSET_USECS: i64 = 250;

/// How often [`tick_grid`] looks at `times()` while waiting for it to change.
const TICK_POLL_NSECS: i64 = 200_000;

/// How long [`tick_grid`] waits for `times()` to change before giving up.
const TICK_WAIT_LIMIT_NSECS: i64 = 100_000_000;

/// How many changes of `times()` [`settled_start`] waits for: packetdrill's
/// count (about 100 ms with `USER_HZ` = 100).
pub const SETTLE_CLOCK_TICKS: libc::clock_t = 10;

/// The longest sleep slice while settling: short enough that the CPU keeps
/// its tick (the kernel stops it only when nothing is due within a jiffy).
const SETTLE_SLICE_NSECS: i64 = 200_000;

/// [`settled_start`] gives up waiting for `times()` after this long (a
/// kernel whose clock ticks do not advance) and starts anyway.
const SETTLE_LIMIT_NSECS: i64 = 300_000_000;

/// How long before a jiffy edge [`settled_start`] begins watching for the
/// kernel's update of it.
const EDGE_WATCH_LEAD_NSECS: i64 = 100_000;

/// How late the sleep up to that watch may wake and still begin it before
/// the edge.
const EDGE_WATCH_MARGIN_NSECS: i64 = 100_000;

/// How many edges [`settled_start`] tries to watch before it takes an edge
/// as it is on the grid.
const EDGE_WATCH_TRIES: usize = 3;

/// How far after a jiffy edge the kernel may update `jiffies` (timer interrupt
/// latency; about 30-70 µs measured on a 2-vCPU VM).
const TICK_UPDATE_SLACK_NSECS: i64 = 200_000;

// `time_t` and `c_long` are i64 on 64-bit targets but not everywhere.
#[allow(clippy::useless_conversion)]
fn timespec_ns(ts: &libc::timespec) -> i64 {
    i64::from(ts.tv_sec) * 1_000_000_000 + i64::from(ts.tv_nsec)
}

fn clock_ns(clock: libc::clockid_t) -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write into; the clocks used here exist
    // on every Linux kernel, so the call cannot fail.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    timespec_ns(&ts)
}

/// Now, in microseconds of `CLOCK_REALTIME` since the Unix epoch.
pub fn now_usecs() -> i64 {
    clock_ns(libc::CLOCK_REALTIME).div_euclid(1000)
}

fn nanosleep(clock: libc::clockid_t, flags: libc::c_int, ns: i64) {
    let ts = libc::timespec {
        tv_sec: ns.div_euclid(1_000_000_000) as libc::time_t,
        tv_nsec: ns.rem_euclid(1_000_000_000) as libc::c_long,
    };
    let mut rem = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    loop {
        // SAFETY: both pointers refer to valid timespecs for the duration of the call.
        let r = unsafe { libc::clock_nanosleep(clock, flags, &ts, &mut rem) };
        // Absolute sleeps restart with the same target after a signal; relative
        // ones here are short polls, and a shortened poll does no harm.
        if r == libc::EINTR && flags == libc::TIMER_ABSTIME {
            continue;
        }
        return;
    }
}

/// Sleep until `unix_usecs` (realtime microseconds); returns at once if it is past.
/// Never returns early (unless the system clock is set back meanwhile).
pub fn sleep_until(unix_usecs: i64) {
    // A deadline already past costs no system call (most `+0` events).
    if clock_ns(libc::CLOCK_REALTIME) >= unix_usecs.saturating_mul(1000) {
        return;
    }
    nanosleep(
        libc::CLOCK_REALTIME,
        libc::TIMER_ABSTIME,
        unix_usecs.saturating_mul(1000),
    );
}

/// Where the kernel's jiffy edges fall on `CLOCK_MONOTONIC`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TickGrid {
    /// Length of a jiffy in nanoseconds (`TICK_NSEC`).
    pub period_ns: i64,
    /// Edges are at monotonic times `t` with `t ≡ phase_ns (mod period_ns)`.
    pub phase_ns: i64,
    /// Whether an observed edge confirmed the kernel's aligned grid (phase 0);
    /// false when the phase comes from the observed change itself, or when no
    /// change could be observed and the kernel's grid was assumed.
    pub confirmed: bool,
}

/// `times()`: the clock-tick count (USER_HZ) derived from jiffies.
fn clock_ticks() -> libc::clock_t {
    // SAFETY: a null buffer is allowed; only the return value is used.
    unsafe { libc::times(std::ptr::null_mut()) }
}

/// The resolution of `CLOCK_MONOTONIC_COARSE`, which is the jiffy length.
fn jiffy_ns() -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write into.
    let r = unsafe { libc::clock_getres(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
    let ns = timespec_ns(&ts);
    // HZ is between 100 and 1000 on Linux; anything else is not a jiffy.
    if r == 0 && (1_000_000..=10_000_000).contains(&ns) {
        ns
    } else {
        4_000_000
    }
}

/// Watch `times()` with short sleeps until it changes; returns monotonic bounds
/// `(lo, hi)` with the jiffies update that changed it inside `(lo, hi]`.
pub fn observe_tick_edge() -> Option<(i64, i64)> {
    let start = clock_ns(libc::CLOCK_MONOTONIC);
    let first = clock_ticks();
    let mut lo = start;
    loop {
        let before = clock_ns(libc::CLOCK_MONOTONIC);
        let ticks = clock_ticks();
        let after = clock_ns(libc::CLOCK_MONOTONIC);
        if ticks != first {
            return Some((lo, after));
        }
        lo = before;
        if after - start > TICK_WAIT_LIMIT_NSECS {
            return None;
        }
        nanosleep(libc::CLOCK_MONOTONIC, 0, TICK_POLL_NSECS);
    }
}

/// Whether a grid point `≡ phase (mod period)` lies within `[lo - slack, hi]`.
fn bracket_holds_edge(lo: i64, hi: i64, period: i64, phase: i64) -> bool {
    let from = lo - TICK_UPDATE_SLACK_NSECS;
    // The first grid point at or after `from`.
    let first = from + (phase - from).rem_euclid(period);
    first <= hi
}

fn measure_tick_grid() -> TickGrid {
    let period_ns = jiffy_ns();
    match observe_tick_edge() {
        Some((lo, hi)) if bracket_holds_edge(lo, hi, period_ns, 0) => TickGrid {
            period_ns,
            phase_ns: 0,
            confirmed: true,
        },
        Some((_, hi)) => TickGrid {
            period_ns,
            phase_ns: hi.rem_euclid(period_ns),
            confirmed: false,
        },
        None => TickGrid {
            period_ns,
            phase_ns: 0,
            confirmed: false,
        },
    }
}

/// The jiffy grid of this machine, measured on first use and cached for the
/// life of the process.
pub fn tick_grid() -> TickGrid {
    static GRID: OnceLock<TickGrid> = OnceLock::new();
    *GRID.get_or_init(measure_tick_grid)
}

/// A script start time (realtime µs) 250 µs after the next jiffy edge, as
/// packetdrill aligns its start; it lies at most a jiffy + 250 µs ahead. The
/// first call in a process also measures the tick grid (see the module docs).
pub fn aligned_start() -> i64 {
    let grid = tick_grid();
    let (mono, real) = clock_pair();
    let next_edge = mono + grid.period_ns - (mono - grid.phase_ns).rem_euclid(grid.period_ns);
    let start_mono = next_edge + JIFFY_OFFSET_USECS * 1000;
    (start_mono + (real - mono)).div_euclid(1000)
}

/// `CLOCK_MONOTONIC` and `CLOCK_REALTIME` (ns) read at the same instant: the
/// realtime reading and the midpoint of two monotonic readings around it.
fn clock_pair() -> (i64, i64) {
    let mono_before = clock_ns(libc::CLOCK_MONOTONIC);
    let real = clock_ns(libc::CLOCK_REALTIME);
    let mono_after = clock_ns(libc::CLOCK_MONOTONIC);
    (mono_before + (mono_after - mono_before) / 2, real)
}

/// The jiffy edge of `grid` whose update [`settled_start`] watches for: the
/// first one at least [`EDGE_WATCH_LEAD_NSECS`] + [`EDGE_WATCH_MARGIN_NSECS`]
/// after `now_mono`, so that the sleep up to the watch can wake late by the
/// margin and still begin it before the edge.
pub fn edge_to_watch(now_mono: i64, grid: TickGrid) -> i64 {
    let earliest = now_mono + EDGE_WATCH_LEAD_NSECS + EDGE_WATCH_MARGIN_NSECS;
    earliest + (grid.phase_ns - earliest).rem_euclid(grid.period_ns)
}

/// Watch `CLOCK_MONOTONIC_COARSE` from just before `edge` until its value
/// changes: the kernel moves it in the same tick handler that advances
/// `jiffies`, so the change is the moment this jiffy began for the kernel's
/// timers (the edge plus the timer interrupt's latency). Returns the
/// monotonic time the change was seen; None when the watch began too late
/// (after the edge: the change may already be past) or no change came within
/// a jiffy of the edge.
///
/// This is the one place the engine spins: from [`EDGE_WATCH_LEAD_NSECS`]
/// before the edge to the update, about 150 µs on a VM, once per script.
fn watch_tick_update(edge: i64, period: i64) -> Option<i64> {
    let before = clock_ns(libc::CLOCK_MONOTONIC_COARSE);
    if clock_ns(libc::CLOCK_MONOTONIC) >= edge {
        return None;
    }
    loop {
        let coarse = clock_ns(libc::CLOCK_MONOTONIC_COARSE);
        let now = clock_ns(libc::CLOCK_MONOTONIC);
        if coarse != before {
            return Some(now);
        }
        if now > edge + period {
            return None;
        }
        std::hint::spin_loop();
    }
}

/// The monotonic start for a jiffy whose update was seen at `seen_mono`:
/// packetdrill's offset after it.
pub fn start_after_update(seen_mono: i64) -> i64 {
    seen_mono + JIFFY_OFFSET_USECS * 1000
}

/// Sleep on `CLOCK_MONOTONIC` until `until_ns`, in slices of at most
/// [`SETTLE_SLICE_NSECS`] (see "Settling before the start").
fn sleep_in_slices_until(until_ns: i64) {
    loop {
        let now = clock_ns(libc::CLOCK_MONOTONIC);
        if now >= until_ns {
            return;
        }
        let to = until_ns.min(now + SETTLE_SLICE_NSECS);
        nanosleep(libc::CLOCK_MONOTONIC, libc::TIMER_ABSTIME, to);
    }
}

/// A script start time (realtime µs) after packetdrill's settling time: wait,
/// in short sleeps, until `times()` has changed [`SETTLE_CLOCK_TICKS`] times,
/// then watch the kernel update the next jiffy and start 250 µs after that
/// update (module docs, "Settling before the start" and "The start of a
/// script"). Returns about 250 µs before the start.
pub fn settled_start() -> i64 {
    let began = clock_ns(libc::CLOCK_MONOTONIC);
    let first = clock_ticks();
    // The first call in a process measures the grid with short sleeps of its
    // own; they count towards the pause.
    let grid = tick_grid();
    loop {
        let now = clock_ns(libc::CLOCK_MONOTONIC);
        if clock_ticks().wrapping_sub(first) >= SETTLE_CLOCK_TICKS
            || now - began > SETTLE_LIMIT_NSECS
        {
            break;
        }
        nanosleep(libc::CLOCK_MONOTONIC, 0, SETTLE_SLICE_NSECS);
    }
    let mut seen = None;
    let mut edge = 0;
    for _ in 0..EDGE_WATCH_TRIES {
        edge = edge_to_watch(clock_ns(libc::CLOCK_MONOTONIC), grid);
        sleep_in_slices_until(edge - EDGE_WATCH_LEAD_NSECS);
        seen = watch_tick_update(edge, grid.period_ns);
        if seen.is_some() {
            break;
        }
    }
    // No update seen (a kernel whose coarse clock does not follow the tick,
    // or a machine too busy to wake before the edge): the edge itself.
    let start_mono = start_after_update(seen.unwrap_or(edge));
    let (mono, real) = clock_pair();
    (start_mono + (real - mono)).div_euclid(1000)
}

/// Script time on the realtime clock: script time 0 is `start_unix_usecs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScriptClock {
    start_unix_usecs: i64,
}

impl ScriptClock {
    /// A clock whose script time 0 is `start_unix_usecs`.
    pub fn starting_at(start_unix_usecs: i64) -> ScriptClock {
        ScriptClock { start_unix_usecs }
    }

    /// A clock starting at [`settled_start`].
    pub fn settled() -> ScriptClock {
        ScriptClock::starting_at(settled_start())
    }

    pub fn start_unix_usecs(&self) -> i64 {
        self.start_unix_usecs
    }

    /// Script time (µs since the start) of a realtime instant.
    pub fn to_script(&self, unix_usecs: i64) -> i64 {
        unix_usecs - self.start_unix_usecs
    }

    /// Realtime instant of a script time.
    pub fn to_unix(&self, script_usecs: i64) -> i64 {
        self.start_unix_usecs.saturating_add(script_usecs)
    }

    /// Script time now.
    pub fn now(&self) -> i64 {
        self.to_script(now_usecs())
    }

    /// Sleep until script time `script_usecs`.
    pub fn sleep_until(&self, script_usecs: i64) {
        sleep_until(self.to_unix(script_usecs));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_is_realtime_microseconds() {
        let sys = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_micros() as i64;
        let ours = now_usecs();
        assert!((ours - sys).abs() < 100_000, "{ours} vs {sys}");
    }

    #[test]
    fn sleep_until_is_never_early_and_rarely_late() {
        let mut late = Vec::new();
        for i in 0..40 {
            let target = now_usecs() + 1_000 + (i % 7) * 137;
            sleep_until(target);
            let woke = now_usecs();
            assert!(woke >= target, "woke {} µs early", target - woke);
            late.push(woke - target);
        }
        late.sort_unstable();
        // Generous bound: the test shares two cores with the rest of the suite.
        assert!(late[late.len() / 2] < 5_000, "median lateness {late:?}");
        // A target in the past returns at once.
        let before = now_usecs();
        sleep_until(before - 1_000_000);
        assert!(now_usecs() - before < 50_000);
    }

    #[test]
    fn bracket_check_finds_grid_points() {
        let p = 4_000_000;
        // Edge at 8 ms observed between 7.9 ms and 8.1 ms.
        assert!(bracket_holds_edge(7_900_000, 8_100_000, p, 0));
        // jiffies updated 60 µs late: the bracket starts after the grid point.
        assert!(bracket_holds_edge(8_030_000, 8_300_000, p, 0));
        // Nothing near a grid point.
        assert!(!bracket_holds_edge(9_000_000, 9_400_000, p, 0));
        assert!(bracket_holds_edge(9_000_000, 9_400_000, p, 1_300_000));
    }

    #[test]
    fn tick_grid_matches_observed_edges() {
        let grid = tick_grid();
        eprintln!("tick grid: {grid:?}");
        assert!(
            (1_000_000..=10_000_000).contains(&grid.period_ns),
            "{grid:?}"
        );
        // Each further change of times() must happen on the grid.
        for _ in 0..3 {
            let (lo, hi) = observe_tick_edge().expect("times() never changed in 100 ms");
            assert!(
                bracket_holds_edge(lo, hi, grid.period_ns, grid.phase_ns),
                "edge in ({lo}, {hi}] is off the grid {grid:?}"
            );
        }
    }

    #[test]
    fn aligned_start_is_a_quarter_millisecond_into_a_coming_jiffy() {
        let grid = tick_grid();
        let before = now_usecs();
        let start = aligned_start();
        let after = now_usecs();
        // Computed at some instant in [before, after]: a quarter millisecond to a
        // jiffy and a quarter ahead of it.
        assert!(
            start >= before + JIFFY_OFFSET_USECS - 50
                && start <= after + grid.period_ns / 1000 + JIFFY_OFFSET_USECS + 50,
            "start {} µs after the call began, {} µs after it ended",
            start - before,
            start - after
        );
        assert_a_quarter_millisecond_into_a_jiffy(start, grid);
    }

    /// A realtime start, converted back to monotonic time, lies 250 µs into
    /// a jiffy of `grid`.
    fn assert_a_quarter_millisecond_into_a_jiffy(start: i64, grid: TickGrid) {
        let offset_ns = clock_ns(libc::CLOCK_REALTIME) - clock_ns(libc::CLOCK_MONOTONIC);
        let start_mono = start * 1000 - offset_ns;
        let into_jiffy = (start_mono - grid.phase_ns).rem_euclid(grid.period_ns);
        assert!(
            (into_jiffy - JIFFY_OFFSET_USECS * 1000).abs() < 20_000,
            "start is {into_jiffy} ns into its jiffy"
        );
    }

    #[test]
    fn the_edge_watched_leaves_room_to_wake_late() {
        let grid = TickGrid {
            period_ns: 4_000_000,
            phase_ns: 0,
            confirmed: true,
        };
        // 7 ms: the edge at 8 ms is a millisecond away, room enough.
        assert_eq!(edge_to_watch(7_000_000, grid), 8_000_000);
        // Just after an edge: the next one.
        assert_eq!(edge_to_watch(8_030_000, grid), 12_000_000);
        // Less than the lead and the margin before an edge: the one after.
        assert_eq!(edge_to_watch(7_850_000, grid), 12_000_000);
        assert_eq!(edge_to_watch(7_800_000, grid), 8_000_000);
        // Another phase.
        let shifted = TickGrid {
            phase_ns: 1_000_000,
            ..grid
        };
        assert_eq!(edge_to_watch(9_100_000, shifted), 13_000_000);
        assert_eq!(edge_to_watch(8_100_000, shifted), 9_000_000);
    }

    #[test]
    fn a_start_is_a_quarter_millisecond_after_the_update_seen() {
        // The kernel updated the jiffy of 8 ms 60 µs late: start at 8.31 ms,
        // where packetdrill, spinning, would.
        assert_eq!(start_after_update(8_060_000), 8_310_000);
        assert_eq!(start_after_update(8_000_000), 8_250_000);
    }

    #[test]
    fn the_update_of_a_coming_edge_is_seen_after_it() {
        let grid = tick_grid();
        let edge = edge_to_watch(clock_ns(libc::CLOCK_MONOTONIC), grid);
        sleep_in_slices_until(edge - EDGE_WATCH_LEAD_NSECS);
        // None when woken after the edge (the test shares two cores with the
        // rest of the suite). The kernel's timer fires at the edge or later,
        // never before; how much later depends on the machine and its load.
        if let Some(seen) = watch_tick_update(edge, grid.period_ns) {
            assert!(
                seen >= edge,
                "update seen {} ns before the edge",
                edge - seen
            );
        }
    }

    #[test]
    fn settling_waits_for_ten_clock_ticks_and_starts_a_quarter_millisecond_ahead() {
        let ticks_before = clock_ticks();
        let before = now_usecs();
        let start = settled_start();
        let after = now_usecs();
        assert!(
            clock_ticks().wrapping_sub(ticks_before) >= SETTLE_CLOCK_TICKS,
            "returned after {} µs, before ten clock ticks",
            after - before
        );
        // The start is packetdrill's offset after an update the engine saw
        // before it returned (or after an edge it took instead, which is
        // behind it too); 1 ms of slack for the monotonic-to-realtime
        // conversion, should the test be descheduled while reading the clocks.
        assert!(
            start <= after + JIFFY_OFFSET_USECS + 1_000,
            "start {} µs after return",
            start - after
        );
        assert!(
            start > before,
            "start {} µs before the call",
            before - start
        );
    }

    #[test]
    fn script_clock_converts_both_ways() {
        let c = ScriptClock::starting_at(1_000_000);
        assert_eq!(c.to_unix(250), 1_000_250);
        assert_eq!(c.to_script(1_000_250), 250);
        let c = ScriptClock::settled();
        c.sleep_until(0);
        let t = c.now();
        // Loose: a loaded machine may deschedule the test for a while.
        assert!((0..1_000_000).contains(&t), "{t}");
    }
}
