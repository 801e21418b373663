//! Two decisions of the scheduler, as plain functions over numbers: when a
//! held retry may start (the machine is quiet), and when the attempts of one
//! script are out of time under `--timeout-per script`.

use std::time::{Duration, Instant};

/// When a failed attempt's retry may start. A job that failed among many
/// others is retried in other conditions: alone or with one other, or with
/// few others while the CPUs are mostly idle, or with few others at the end
/// of the run, when no first attempt is left to start.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QuietRule {
    /// A retry starts whenever at most this many jobs run.
    pub alone_with: usize,
    /// ... or whenever fewer than this many run, if the CPUs were idle at
    /// least `min_idle_percent` of the time since the last job started, or
    /// no first attempt is left to start.
    pub few: usize,
    pub min_idle_percent: f64,
}

impl QuietRule {
    /// Alone or with one other; with fewer than two jobs per CPU while the
    /// CPUs are idle at least half of the time, or at the end of the run.
    pub fn for_cpus(cpus: usize) -> QuietRule {
        QuietRule {
            alone_with: 1,
            few: (2 * cpus).max(2),
            min_idle_percent: 50.0,
        }
    }
}

/// What the scheduler knows of the machine's load.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Load {
    /// Job processes running (started and not yet collected).
    pub running: usize,
    /// Share of CPU time idle, in percent, measured over a period that began
    /// after the last job started; `None` when there is no such measure.
    pub idle_percent: Option<f64>,
    /// No first attempt is left to start: the run is ending.
    pub ending: bool,
}

/// Whether a held retry may start under `load`.
pub fn is_quiet(load: Load, rule: QuietRule) -> bool {
    load.running <= rule.alone_with
        || (load.running < rule.few
            && (load.ending
                || load
                    .idle_percent
                    .is_some_and(|idle| idle >= rule.min_idle_percent)))
}

/// When the running attempts of one script must stop under `--timeout-per
/// script`: the script's attempts of one number (its first attempts of every
/// IP version, or its second...) share `budget` of run time, counted as
/// kselftest counts its timeout for a script that runs its IP versions one
/// after the other. `spent` is the time of those that ended; `started`, when
/// each running one began. With `k` running, the budget drains `k` times as
/// fast; the deadline is when it is empty, if they all keep running. `None`
/// when none runs.
pub fn script_deadline(budget: Duration, spent: Duration, started: &[Instant]) -> Option<Instant> {
    let first = *started.iter().min()?;
    let k = u32::try_from(started.len()).ok()?;
    // Solve budget = spent + sum(t - s_i) for t, measured from the first start.
    let behind: Duration = started.iter().map(|s| s.duration_since(first)).sum();
    let left = (budget + behind).saturating_sub(spent);
    first.checked_add(left / k)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: QuietRule = QuietRule {
        alone_with: 1,
        few: 4,
        min_idle_percent: 50.0,
    };

    fn load(running: usize, idle_percent: Option<f64>) -> Load {
        Load {
            running,
            idle_percent,
            ending: false,
        }
    }

    #[test]
    fn a_retry_waits_while_many_run_and_starts_when_quiet() {
        // Held while 5 jobs run, however idle the CPUs.
        assert!(!is_quiet(load(5, None), RULE));
        assert!(!is_quiet(load(5, Some(99.0)), RULE));
        // A few, but busy CPUs or no measure: held.
        assert!(!is_quiet(load(3, Some(49.9)), RULE));
        assert!(!is_quiet(load(3, None), RULE));
        // A few and idle CPUs: released.
        assert!(is_quiet(load(3, Some(50.0)), RULE));
        assert!(!is_quiet(load(4, Some(80.0)), RULE));
        // Alone or with one other: released, whatever the measure says.
        assert!(is_quiet(load(1, Some(0.0)), RULE));
        assert!(is_quiet(load(0, None), RULE));
        assert!(!is_quiet(load(2, Some(0.0)), RULE));
        // No first attempt left: with a few, whatever the CPUs; not with many.
        let ending = |running| Load {
            ending: true,
            ..load(running, Some(0.0))
        };
        assert!(is_quiet(ending(3), RULE));
        assert!(!is_quiet(ending(4), RULE));
        assert_eq!(QuietRule::for_cpus(2), RULE);
        assert_eq!(QuietRule::for_cpus(0).few, 2);
    }

    #[test]
    fn a_scripts_budget_drains_with_each_running_attempt() {
        let t0 = Instant::now();
        let s = |ms| t0 + Duration::from_millis(ms);
        let b = Duration::from_secs(45);
        // Alone: the whole budget.
        assert_eq!(script_deadline(b, Duration::ZERO, &[s(0)]), Some(s(45_000)));
        // The other IP version used 30 s before: 15 s left.
        assert_eq!(
            script_deadline(b, Duration::from_secs(30), &[s(40_000)]),
            Some(s(55_000))
        );
        // Both at once from 0: they use 45 s together at 22.5 s.
        assert_eq!(
            script_deadline(b, Duration::ZERO, &[s(0), s(0)]),
            Some(s(22_500))
        );
        // One from 0, the other from 10 s: 10 + 2 * (t - 10) = 45 at 27.5 s.
        assert_eq!(
            script_deadline(b, Duration::ZERO, &[s(10_000), s(0)]),
            Some(s(27_500))
        );
        // Spent already: due at once.
        assert_eq!(
            script_deadline(b, Duration::from_secs(50), &[s(7)]),
            Some(s(7))
        );
        assert_eq!(script_deadline(b, Duration::ZERO, &[]), None);
    }
}
