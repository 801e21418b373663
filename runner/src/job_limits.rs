//! The job process's watch over its job's caps ([`Limits`]), while the engine
//! process runs: what the kernel does not hold the job to as a whole without
//! a cgroup.
//!
//! Without a cgroup ([`crate::process::cgroup`]) the kernel holds each
//! process to the memory cap (`RLIMIT_DATA`), the job to its process cap
//! (its PID namespace's `pid_max`, at least 300) and its `/tmp` and
//! `/dev/shm` to their size (tmpfs). This watch adds the rest: every
//! [`WATCH_PERIOD`] it sums the anonymous memory of the job's processes and
//! what its tmpfs hold, and counts its tasks ([`sample`]); a job over its
//! memory cap, or over a process cap below 300, is killed ([`judge`]). At the
//! end, a full `/tmp`, a process whose peak was near the memory cap, or (as
//! the engine process sees when the script is over) as many tasks left as
//! the process cap, is a cap reached. Each cap reached is told to the runner, which makes it the
//! reason the attempt failed.

use crate::model::{LimitKind, Limits};
use std::path::Path;
use std::time::Duration;

/// How often the job's memory and tasks are looked at.
pub const WATCH_PERIOD: Duration = Duration::from_millis(100);

/// What the job uses at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Anonymous memory of all its processes, plus what its tmpfs hold.
    pub memory_bytes: u64,
    /// The anonymous memory of its largest process.
    pub largest_process_bytes: u64,
    /// Its processes and threads.
    pub tasks: u64,
}

/// What to do after a look at the job.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Judgement {
    /// Kill the job now.
    pub kill: bool,
    /// The caps it is over or at.
    pub reached: Vec<LimitKind>,
}

/// The decision on one [`Usage`]: over the memory cap, killed; over the
/// process cap, killed (the kernel keeps it at 300 and up; below, this
/// watch does); at the process cap, the kernel refuses more, which is noted.
pub fn judge(usage: &Usage, limits: &Limits) -> Judgement {
    let mut j = Judgement::default();
    if usage.memory_bytes > limits.memory_bytes() {
        j.kill = true;
        j.reached.push(LimitKind::Memory);
    }
    if usage.tasks >= limits.processes {
        j.kill |= usage.tasks > limits.processes;
        j.reached.push(LimitKind::Processes);
    }
    j
}

/// Whether a process whose peak was `peak_bytes` likely met the per-process
/// memory cap (`RLIMIT_DATA`): within an eighth of it.
pub fn near_memory_cap(peak_bytes: u64, limits: &Limits) -> bool {
    peak_bytes >= limits.memory_bytes() - limits.memory_bytes() / 8
}

/// Whether `tasks` left at the end of a run say the job met its process cap:
/// a fork refused at the cap fails the command that asked, which exits, so
/// the job ends a few tasks short of it.
pub fn near_process_cap(tasks: u64, limits: &Limits) -> bool {
    tasks + 4 >= limits.processes
}

/// The job's usage, from its procfs at `proc_root` (the job's own, which
/// lists only its processes) and its tmpfs at `tmpfs`.
pub fn sample(proc_root: &Path, tmpfs: &[&Path]) -> Usage {
    let mut usage = Usage::default();
    let Ok(entries) = std::fs::read_dir(proc_root) else {
        return usage;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name
            .to_str()
            .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        {
            continue;
        }
        // A process that is gone by now counts for nothing.
        let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else {
            continue;
        };
        let (anon, threads) = anon_and_threads(&status);
        usage.memory_bytes += anon;
        usage.largest_process_bytes = usage.largest_process_bytes.max(anon);
        usage.tasks += threads;
    }
    for path in tmpfs {
        usage.memory_bytes += tmpfs_usage(path).map_or(0, |(used, _)| used);
    }
    usage
}

/// `RssAnon` (bytes) and `Threads` of a `/proc/PID/status`.
fn anon_and_threads(status: &str) -> (u64, u64) {
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
    };
    (
        field("RssAnon:").unwrap_or(0) * 1024,
        field("Threads:").unwrap_or(1),
    )
}

/// What a tmpfs holds and its size, in bytes.
pub fn tmpfs_usage(path: &Path) -> Option<(u64, u64)> {
    let s = nix::sys::statvfs::statvfs(path).ok()?;
    let block = s.fragment_size();
    let size = s.blocks() * block;
    Some((size - s.blocks_free() * block, size))
}

/// Whether a tmpfs is full: less than one page left.
pub fn tmpfs_full(path: &Path) -> bool {
    tmpfs_usage(path).is_some_and(|(used, size)| size > 0 && size - used < 4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            memory_mib: 100,
            tmp_mib: 10,
            processes: 50,
        }
    }

    #[test]
    fn over_memory_is_killed_at_processes_is_noted() {
        let l = limits();
        let ok = Usage {
            memory_bytes: 100 << 20,
            largest_process_bytes: 10,
            tasks: 49,
        };
        assert_eq!(judge(&ok, &l), Judgement::default());
        let fat = Usage {
            memory_bytes: (100 << 20) + 1,
            ..ok
        };
        assert_eq!(
            judge(&fat, &l),
            Judgement {
                kill: true,
                reached: vec![LimitKind::Memory]
            }
        );
        let at_cap = Usage { tasks: 50, ..ok };
        assert_eq!(
            judge(&at_cap, &l),
            Judgement {
                kill: false,
                reached: vec![LimitKind::Processes]
            }
        );
        let over = Usage { tasks: 51, ..fat };
        assert_eq!(
            judge(&over, &l),
            Judgement {
                kill: true,
                reached: vec![LimitKind::Memory, LimitKind::Processes]
            }
        );
        assert!(near_process_cap(46, &l));
        assert!(!near_process_cap(45, &l));
        assert!(near_memory_cap(90 << 20, &l));
        assert!(!near_memory_cap(80 << 20, &l));
    }

    #[test]
    fn usage_is_read_from_a_procfs() {
        let dir = tempfile::tempdir().unwrap();
        let proc_dir = dir.path();
        for (pid, anon_kib, threads) in [(1, 1000, 3), (7, 5000, 1)] {
            std::fs::create_dir_all(proc_dir.join(pid.to_string())).unwrap();
            std::fs::write(
                proc_dir.join(format!("{pid}/status")),
                format!(
                    "Name:\tx\nRssAnon:\t {anon_kib} kB\nRssFile:\t 99 kB\nThreads:\t{threads}\n"
                ),
            )
            .unwrap();
        }
        std::fs::create_dir_all(proc_dir.join("sys")).unwrap();
        std::fs::create_dir_all(proc_dir.join("9")).unwrap(); // gone: no status
        let u = sample(proc_dir, &[]);
        assert_eq!(
            u,
            Usage {
                memory_bytes: 6000 * 1024,
                largest_process_bytes: 5000 * 1024,
                tasks: 4
            }
        );
        // A tmpfs adds what it holds.
        let with_tmp = sample(proc_dir, &[Path::new("/dev/shm")]);
        assert!(with_tmp.memory_bytes >= u.memory_bytes);
        assert_eq!(sample(Path::new("/nonexistent"), &[]), Usage::default());
    }
}
