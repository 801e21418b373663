//! The machine's CPU idle time, from `/proc/stat`, for the scheduler's
//! decision to start a held retry ([`crate::scheduler::quiet`]).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The CPU time counters of all CPUs together (the `cpu` line of
/// `/proc/stat`, in clock ticks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuTimes {
    /// idle + iowait.
    pub idle: u64,
    /// Every counter but guest time (already counted in user time).
    pub total: u64,
}

/// The `cpu` line of a `/proc/stat` text, if it has one that reads.
pub fn parse_stat(text: &str) -> Option<CpuTimes> {
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    // user nice system idle iowait irq softirq steal [guest guest_nice]
    if fields.len() < 4 {
        return None;
    }
    let idle = fields[3] + fields.get(4).copied().unwrap_or(0);
    let total = fields.iter().take(8).sum();
    Some(CpuTimes { idle, total })
}

/// The idle share between two readings, in percent; `None` when no tick
/// passed between them.
pub fn idle_percent(before: CpuTimes, after: CpuTimes) -> Option<f64> {
    let total = after.total.checked_sub(before.total)?;
    let idle = after.idle.checked_sub(before.idle)?;
    (total > 0).then(|| 100.0 * idle.min(total) as f64 / total as f64)
}

/// Reads `/proc/stat` now and then and says how idle the CPUs were since
/// the previous reading.
pub struct CpuMeter {
    path: PathBuf,
    /// Least time between two readings.
    period: Duration,
    last: Option<(Instant, CpuTimes)>,
}

impl CpuMeter {
    pub fn new(path: &Path, period: Duration) -> CpuMeter {
        CpuMeter {
            path: path.to_path_buf(),
            period,
            last: None,
        }
    }

    /// The least time between two readings.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Forget the last reading: the next one starts a new period (the load
    /// before it no longer matters, e.g. a job started since).
    pub fn restart(&mut self) {
        self.last = None;
    }

    /// The idle share since the previous reading, if a period has passed
    /// since it (the first call only reads). A file that cannot be read
    /// gives nothing, and the scheduler decides by the jobs running alone.
    pub fn sample(&mut self, now: Instant) -> Option<f64> {
        if let Some((at, _)) = self.last {
            if now.saturating_duration_since(at) < self.period {
                return None;
            }
        }
        let times = parse_stat(&std::fs::read_to_string(&self.path).ok()?)?;
        let before = self.last.replace((now, times));
        idle_percent(before?.1, times)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_read_and_idle_shares_compute() {
        let a =
            parse_stat("cpu  100 5 50 800 20 1 2 3 7 0\ncpu0 50 2 25 400 10 0 1 1 0 0\nintr 1 2\n")
                .unwrap();
        assert_eq!(
            a,
            CpuTimes {
                idle: 820,
                total: 981
            }
        );
        let b = CpuTimes {
            idle: 820 + 30,
            total: 981 + 40,
        };
        assert_eq!(idle_percent(a, b), Some(75.0));
        assert_eq!(idle_percent(a, a), None);
        assert_eq!(idle_percent(b, a), None);
        assert_eq!(parse_stat("cpu  1 2\n"), None);
        assert_eq!(parse_stat("cpu  1 2 x 4\n"), None);
        assert_eq!(parse_stat("intr 1\n"), None);
    }

    #[test]
    fn the_meter_reads_once_a_period() {
        let dir = std::env::temp_dir().join(format!("netdrill-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let stat = dir.join("stat");
        std::fs::write(&stat, "cpu  10 0 10 80 0 0 0 0\n").unwrap();
        let mut m = CpuMeter::new(&stat, Duration::from_millis(100));
        let t0 = Instant::now();
        assert_eq!(m.sample(t0), None);
        std::fs::write(&stat, "cpu  20 0 20 140 0 0 0 0\n").unwrap();
        assert_eq!(m.sample(t0 + Duration::from_millis(50)), None);
        assert_eq!(m.sample(t0 + Duration::from_millis(100)), Some(75.0));
        m.restart();
        assert_eq!(m.sample(t0 + Duration::from_millis(120)), None);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(m.sample(t0 + Duration::from_secs(9)), None);
    }
}
