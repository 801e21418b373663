//! A cgroup v2 leaf per job, where the host delegates a cgroup to the runner:
//! the kernel then holds the whole job to its memory cap (`memory.max`, no
//! swap, the whole job killed at an out-of-memory: `memory.oom.group`) and
//! its process cap (`pids.max`), and says when it did (`memory.events`,
//! `pids.events`). Without one, the job is held by rlimits, its PID
//! namespace and the job process's watch ([`crate::job_limits`]).
//!
//! Delegated means: the runner's own cgroup v2 folder offers the `memory`
//! and `pids` controllers and holds no other process (a cgroup that gives
//! controllers to its children may hold no process itself, so the runner
//! moves into a leaf of its own, `netdrill-runner-PID`, and back at the end).
//! A systemd unit or scope with `Delegate=yes` is such a cgroup. Hosts that
//! mount the memory and pids controllers as cgroup v1 (as the machines
//! netdrill is built on do) have none.

use crate::model::{LimitKind, Limits};
use std::fs::{File, OpenOptions};
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The cgroup v2 folder of the calling process: the `cgroup2` mount point
/// (from `/proc/self/mountinfo`) joined with its path (the `0::` line of
/// `/proc/self/cgroup`).
pub fn own_cgroup(mountinfo: &str, self_cgroup: &str) -> Option<PathBuf> {
    let mount = mountinfo.lines().find_map(|l| {
        let (left, right) = l.split_once(" - ")?;
        (right.split(' ').next()? == "cgroup2")
            .then(|| left.split(' ').nth(4).map(PathBuf::from))?
    })?;
    let path = self_cgroup.lines().find_map(|l| l.strip_prefix("0::"))?;
    Some(mount.join(path.trim_start_matches('/')))
}

/// Why a cgroup whose `cgroup.controllers` and `cgroup.procs` read so
/// cannot be given to jobs by the process `own_pid`, if it cannot.
pub fn refusal(controllers: &str, procs: &str, own_pid: u32) -> Option<String> {
    let offered: Vec<&str> = controllers.split_whitespace().collect();
    let missing: Vec<&str> = ["memory", "pids"]
        .into_iter()
        .filter(|c| !offered.contains(c))
        .collect();
    if !missing.is_empty() {
        return Some(format!(
            "no cgroup v2 {} controller is offered to the runner's cgroup",
            missing.join(" or ")
        ));
    }
    let others = procs
        .split_whitespace()
        .filter(|p| p.parse::<u32>().ok() != Some(own_pid))
        .count();
    (others > 0).then(|| {
        format!(
            "the runner's cgroup holds {others} other processes: it is not delegated to the runner"
        )
    })
}

/// The caps a job's cgroup says it went over: an out-of-memory kill in
/// `memory.events`, a refused fork in `pids.events`.
pub fn reached_from_events(memory_events: &str, pids_events: &str) -> Vec<LimitKind> {
    let count = |text: &str, key: &str| {
        text.lines()
            .find_map(|l| {
                l.strip_prefix(key)?
                    .strip_prefix(' ')?
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .unwrap_or(0)
    };
    let mut reached = Vec::new();
    if count(memory_events, "oom_kill") + count(memory_events, "oom_group_kill") > 0 {
        reached.push(LimitKind::Memory);
    }
    if count(pids_events, "max") > 0 {
        reached.push(LimitKind::Processes);
    }
    reached
}

/// A cgroup delegated to the runner, with the runner moved into its leaf.
#[derive(Debug)]
pub struct Delegation {
    base: PathBuf,
    runner_leaf: PathBuf,
    /// The runner's PID, moved into `runner_leaf`.
    pid: u32,
    next_job: u64,
}

fn io_context(what: &str, path: &Path) -> impl FnOnce(std::io::Error) -> String {
    let (what, path) = (what.to_string(), path.display().to_string());
    move |e| format!("{what} {path}: {e}")
}

impl Delegation {
    /// The runner's cgroup, if the host delegates it (see the module
    /// documentation); else why not.
    pub fn find() -> Result<Delegation, String> {
        let mountinfo =
            std::fs::read_to_string("/proc/self/mountinfo").map_err(|e| e.to_string())?;
        let own = std::fs::read_to_string("/proc/self/cgroup").map_err(|e| e.to_string())?;
        let base = own_cgroup(&mountinfo, &own).ok_or("no cgroup v2 hierarchy is mounted")?;
        Delegation::take(&base, std::process::id())
    }

    /// Take the cgroup folder `base` for jobs: move the process `pid` into
    /// a leaf of its own and give `memory` and `pids` to the children.
    pub fn take(base: &Path, pid: u32) -> Result<Delegation, String> {
        let read = |name: &str| {
            let path = base.join(name);
            std::fs::read_to_string(&path).map_err(io_context("reading", &path))
        };
        if let Some(why) = refusal(&read("cgroup.controllers")?, &read("cgroup.procs")?, pid) {
            return Err(why);
        }
        // Leaves a killed runner left: empty ones go (a cgroup that still
        // holds a process cannot be removed).
        if let Ok(entries) = std::fs::read_dir(base) {
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().starts_with("netdrill-") {
                    let _ = std::fs::remove_dir(e.path());
                }
            }
        }
        let runner_leaf = base.join(format!("netdrill-runner-{pid}"));
        std::fs::create_dir(&runner_leaf).map_err(io_context("making", &runner_leaf))?;
        let delegation = Delegation {
            base: base.to_path_buf(),
            runner_leaf,
            pid,
            next_job: 0,
        };
        write(
            &delegation.runner_leaf.join("cgroup.procs"),
            &pid.to_string(),
        )?;
        // On failure, dropping the delegation moves the runner back.
        write(&base.join("cgroup.subtree_control"), "+memory +pids")?;
        Ok(delegation)
    }

    /// A new leaf for a job, set to `limits`: the job process joins it
    /// through [`JobCgroup::procs_fd`] before it executes.
    pub fn job_leaf(&mut self, limits: &Limits) -> Result<JobCgroup, String> {
        self.next_job += 1;
        let dir = self
            .base
            .join(format!("netdrill-job-{}-{}", self.pid, self.next_job));
        std::fs::create_dir(&dir).map_err(io_context("making", &dir))?;
        // Removed again if it cannot be set up.
        let mut leaf = JobCgroup {
            procs: None,
            dir: dir.clone(),
        };
        write(&dir.join("memory.max"), &limits.memory_bytes().to_string())?;
        write(&dir.join("memory.oom.group"), "1")?;
        write(&dir.join("pids.max"), &limits.processes.to_string())?;
        // No swap controller file where the kernel has no swap accounting.
        let swap = dir.join("memory.swap.max");
        if swap.exists() {
            write(&swap, "0")?;
        }
        let procs_path = dir.join("cgroup.procs");
        // The kernel made it with the folder (`create` only serves folders
        // that stand in for a cgroup, in tests).
        let procs = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&procs_path)
            .map_err(io_context("opening", &procs_path))?;
        leaf.procs = Some(procs);
        Ok(leaf)
    }
}

impl Drop for Delegation {
    /// Give the controllers back and move the runner back to its cgroup.
    fn drop(&mut self) {
        let _ = write(&self.base.join("cgroup.subtree_control"), "-memory -pids");
        let _ = write(&self.base.join("cgroup.procs"), &self.pid.to_string());
        let _ = std::fs::remove_dir(&self.runner_leaf);
    }
}

/// One job's leaf cgroup.
#[derive(Debug)]
pub struct JobCgroup {
    dir: PathBuf,
    procs: Option<File>,
}

impl JobCgroup {
    /// The leaf's `cgroup.procs`, open for writing: the job process writes
    /// `0` to it (itself) between fork and exec.
    pub fn procs_fd(&self) -> Option<RawFd> {
        self.procs.as_ref().map(|f| f.as_raw_fd())
    }

    /// The caps the job went over, as the kernel counted.
    pub fn reached(&self) -> Vec<LimitKind> {
        let read = |name: &str| std::fs::read_to_string(self.dir.join(name)).unwrap_or_default();
        reached_from_events(&read("memory.events"), &read("pids.events"))
    }
}

impl Drop for JobCgroup {
    /// Remove the leaf once its processes are gone (the kernel may take a
    /// moment to let go of killed ones).
    fn drop(&mut self) {
        self.procs = None;
        for _ in 0..50 {
            match std::fs::remove_dir(&self.dir) {
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                _ => return,
            }
        }
    }
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(io_context("writing", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_own_cgroup_is_found_from_mountinfo_and_proc_self_cgroup() {
        let hybrid = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n\
                      35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n\
                      41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
        assert_eq!(
            own_cgroup(hybrid, "4:memory:/x\n0::/user.slice/run-1.scope\n"),
            Some(PathBuf::from(
                "/sys/fs/cgroup/unified/user.slice/run-1.scope"
            ))
        );
        assert_eq!(
            own_cgroup(
                "30 1 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
                "0::/\n"
            ),
            Some(PathBuf::from("/sys/fs/cgroup"))
        );
        assert_eq!(own_cgroup(hybrid, "4:memory:/x\n"), None);
        assert_eq!(own_cgroup("", "0::/\n"), None);
    }

    #[test]
    fn only_a_cgroup_with_memory_and_pids_and_no_other_process_is_taken() {
        assert_eq!(refusal("cpu memory pids io", "42\n", 42), None);
        assert_eq!(
            refusal("hugetlb", "42\n", 42).unwrap(),
            "no cgroup v2 memory or pids controller is offered to the runner's cgroup"
        );
        assert!(refusal("memory", "", 42).unwrap().contains("pids"));
        assert!(refusal("memory pids", "42\n7\n", 42)
            .unwrap()
            .contains("1 other processes"));
    }

    #[test]
    fn the_kernel_counts_say_which_cap_was_reached() {
        let mem = "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n";
        assert_eq!(reached_from_events(mem, "max 0\n"), vec![LimitKind::Memory]);
        // Reclaim at the cap (max) without a kill is no failure.
        assert_eq!(
            reached_from_events("max 5\noom_kill 0\n", "max 3\n"),
            vec![LimitKind::Processes]
        );
        assert_eq!(reached_from_events("", ""), vec![]);
    }

    /// The files a delegation writes, on a folder that stands in for a
    /// cgroup (plain files: the kernel's rules are not checked here).
    #[test]
    fn a_delegation_writes_the_caps_into_each_leaf() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        std::fs::write(base.join("cgroup.controllers"), "cpu memory pids\n").unwrap();
        std::fs::write(base.join("cgroup.procs"), "1234\n").unwrap();
        assert!(Delegation::take(base, 99).unwrap_err().contains("1 other"));
        let mut d = Delegation::take(base, 1234).unwrap();
        assert_eq!(
            std::fs::read_to_string(base.join("netdrill-runner-1234/cgroup.procs")).unwrap(),
            "1234"
        );
        assert_eq!(
            std::fs::read_to_string(base.join("cgroup.subtree_control")).unwrap(),
            "+memory +pids"
        );
        let limits = Limits {
            memory_mib: 100,
            tmp_mib: 8,
            processes: 64,
        };
        let leaf = d.job_leaf(&limits).unwrap();
        assert_eq!(leaf.dir, base.join("netdrill-job-1234-1"));
        let read = |f: &str| std::fs::read_to_string(leaf.dir.join(f)).unwrap();
        assert_eq!(read("memory.max"), (100u64 << 20).to_string());
        assert_eq!(read("memory.oom.group"), "1");
        assert_eq!(read("pids.max"), "64");
        assert!(leaf.procs_fd().is_some());
        std::fs::write(leaf.dir.join("memory.events"), "oom_group_kill 1\n").unwrap();
        assert_eq!(leaf.reached(), vec![LimitKind::Memory]);
        drop(leaf);
        drop(d);
        assert_eq!(
            std::fs::read_to_string(base.join("cgroup.subtree_control")).unwrap(),
            "-memory -pids"
        );
        assert_eq!(
            std::fs::read_to_string(base.join("cgroup.procs")).unwrap(),
            "1234"
        );
    }
}
