//! The job's sandbox: fresh network, mount, PID, UTS and IPC namespaces, made
//! by the job process itself (no `unshare(1)`, no `ip netns`), so that nothing
//! it does can reach the host and everything it leaves dies with it.
//!
//! Two steps, in the two processes of a job (see [`crate::job_child`]):
//!
//! - [`enter`], in the job process while it is still single-threaded
//!   (`unshare(CLONE_NEWNS)` refuses a process whose threads share its
//!   filesystem context): the namespaces, every mount private, the script's
//!   folder as working directory, size-capped tmpfs on `/tmp` and `/dev/shm`,
//!   a read-only sysfs of the job's own network namespace, `lo` up, the
//!   suite's `net.*` sysctls, System V shared memory capped.
//! - [`seal`], in the engine process, PID 1 of the new PID namespace, before
//!   the script runs: a procfs of that PID namespace on `/proc` (so no host
//!   process, the runner included, is visible: `nsenter --net=/proc/PID/ns/net`
//!   finds nothing to enter), its process cap, `/proc/sys` read-only except
//!   `/proc/sys/net` (and `/proc/sysrq-trigger`, `/proc/irq`, `/proc/bus`,
//!   `/proc/fs` read-only), the memory rlimit, and the capabilities that
//!   reach past namespaces dropped for good ([`DROPPED_CAPABILITIES`]): with
//!   no `CAP_SYS_ADMIN`, nothing in the job can unmount these, mount another
//!   procfs, or `setns` anywhere.
//!
//! The host's namespaces are only read, never changed.

use crate::model::Limits;
use crate::suite::check_sysctl_name;
use caps::Capability;
use nix::mount::{mount, MsFlags};
use nix::sched::{unshare, CloneFlags};
use std::os::fd::AsRawFd;
use std::path::Path;

/// What went wrong while building the sandbox, with the step that failed.
#[derive(Debug)]
pub struct SandboxError(pub String);

impl std::fmt::Display for SandboxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn step<T, E: std::fmt::Display>(what: &str, r: Result<T, E>) -> Result<T, SandboxError> {
    r.map_err(|e| SandboxError(format!("sandbox: {what}: {e}")))
}

/// The namespaces every job gets.
pub const NAMESPACES: CloneFlags = CloneFlags::CLONE_NEWNET
    .union(CloneFlags::CLONE_NEWNS)
    .union(CloneFlags::CLONE_NEWPID)
    .union(CloneFlags::CLONE_NEWUTS)
    .union(CloneFlags::CLONE_NEWIPC);

/// Capabilities the script and everything it starts never have: each reaches
/// past the job's namespaces (mounts, `setns`, the host's clock, kernel
/// modules, raw devices and I/O ports, rebooting into a new kernel, the
/// kernel log, process accounting, BPF and perf, security modules) or past
/// its caps (`CAP_SYS_RESOURCE` lifts rlimits). What scripts need stays:
/// `CAP_NET_ADMIN` and `CAP_NET_RAW` (tun0, `tc`, `ip`, `ethtool`, net
/// sysctls), `CAP_SYS_NICE` (the real-time event loop), `CAP_DAC_OVERRIDE`
/// and the other file and process capabilities.
pub const DROPPED_CAPABILITIES: &[Capability] = &[
    Capability::CAP_SYS_ADMIN,
    Capability::CAP_SYS_MODULE,
    Capability::CAP_SYS_TIME,
    Capability::CAP_SYS_BOOT,
    Capability::CAP_SYS_RAWIO,
    Capability::CAP_SYS_RESOURCE,
    Capability::CAP_SYS_PACCT,
    Capability::CAP_SYS_PTRACE,
    Capability::CAP_SYSLOG,
    Capability::CAP_MKNOD,
    Capability::CAP_MAC_ADMIN,
    Capability::CAP_MAC_OVERRIDE,
    Capability::CAP_AUDIT_CONTROL,
    Capability::CAP_WAKE_ALARM,
    Capability::CAP_BLOCK_SUSPEND,
    Capability::CAP_BPF,
    Capability::CAP_PERFMON,
    Capability::CAP_CHECKPOINT_RESTORE,
];

/// Files and folders of `/proc` bound read-only over themselves in the job:
/// writing any of them changes the whole machine (`/proc/sys/net` is made
/// writable again: it is the job's own network namespace).
const READ_ONLY_PROC: &[&str] = &[
    "/proc/sys",
    "/proc/sysrq-trigger",
    "/proc/irq",
    "/proc/bus",
    "/proc/fs",
];

/// Move the calling (single-threaded) process into new network, mount, UTS
/// and IPC namespaces, and make its future children start a new PID
/// namespace. Then: every mount private (so nothing propagates back to the
/// host), `workdir` as the current directory, a fresh tmpfs of
/// `limits.tmp_mib` on `/tmp` and on `/dev/shm`, a read-only sysfs, `lo` up,
/// `sysctls` (each `net.*`) written under `/proc/sys` of the new network
/// namespace, and the new IPC namespace's System V shared memory held to the
/// `/tmp` cap.
///
/// A suite folder or a runner's current directory under `/tmp` (or
/// `/dev/shm`), which the tmpfs would hide, is bound back at its own path
/// inside the job's tmpfs ([`folders_to_keep`]): a suite in a `mktemp -d`
/// folder, or a checkout under `/tmp`, runs as anywhere else, and a command
/// that changes to its working directory by name (a pyenv shim) finds it.
pub fn enter(
    workdir: &Path,
    sysctls: &[(String, String)],
    limits: &Limits,
) -> Result<(), SandboxError> {
    // Checked before anything is changed: a name outside net.* would be
    // written to the host's value.
    for (name, _) in sysctls {
        check_job_sysctl(name)?;
    }
    step(
        "unshare(CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC)",
        unshare(NAMESPACES),
    )?;
    step(
        "making / private (MS_REC | MS_PRIVATE)",
        mount(
            None::<&str>,
            "/",
            None::<&str>,
            MsFlags::MS_REC | MsFlags::MS_PRIVATE,
            None::<&str>,
        ),
    )?;
    // The folders the job must still reach at their own paths once a tmpfs
    // covers /tmp: the suite's (the script's folder) and the runner's current
    // directory (the job process's, inherited), held open across the mount.
    let runner_dir = std::env::current_dir().ok();
    let kept: Vec<_> = folders_to_keep(
        [Some(workdir.to_path_buf()), runner_dir]
            .into_iter()
            .flatten(),
        &PRIVATE_POINTS,
    )
    .into_iter()
    .map(|path| {
        let fd = step(
            &format!("opening {}", path.display()),
            nix::fcntl::open(
                &path,
                nix::fcntl::OFlag::O_PATH
                    | nix::fcntl::OFlag::O_DIRECTORY
                    | nix::fcntl::OFlag::O_CLOEXEC,
                nix::sys::stat::Mode::empty(),
            ),
        )?;
        Ok((path, fd))
    })
    .collect::<Result<_, SandboxError>>()?;
    step(
        &format!("cd {}", workdir.display()),
        std::env::set_current_dir(workdir),
    )?;
    let tmpfs_options = format!("mode=1777,size={}", limits.tmp_bytes());
    for point in PRIVATE_POINTS {
        if point == "/dev/shm" && !Path::new(point).is_dir() {
            continue;
        }
        step(
            &format!("mounting a tmpfs of {} MiB on {point}", limits.tmp_mib),
            mount(
                Some("tmpfs"),
                point,
                Some("tmpfs"),
                MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
                Some(tmpfs_options.as_str()),
            ),
        )?;
    }
    for (path, fd) in &kept {
        bind_back(path, fd)?;
    }
    if !kept.is_empty() {
        // On the bound folder now, not on the one the tmpfs hides.
        step(
            &format!("cd {}", workdir.display()),
            std::env::set_current_dir(workdir),
        )?;
    }
    // sysfs shows the network devices of the namespace that mounts it.
    step(
        "mounting a read-only sysfs on /sys",
        mount(
            Some("sysfs"),
            "/sys",
            Some("sysfs"),
            MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            None::<&str>,
        ),
    )?;
    step("bringing lo up", bring_up("lo"))?;
    for (name, value) in sysctls {
        write_sysctl(name, value)?;
    }
    // The IPC sysctls are those of the writer's IPC namespace: the new one.
    let shm_bytes = limits.tmp_bytes().to_string();
    let shm_pages = (limits.tmp_bytes() / page_size()).to_string();
    write_proc_sys("kernel.shmmax", &shm_bytes)?;
    write_proc_sys("kernel.shmall", &shm_pages)?;
    Ok(())
}

/// The second step, in the engine process, which must be PID 1 of the PID
/// namespace [`enter`] made: see the module documentation. `in_cgroup`: a
/// cgroup holds the job to its memory cap, so no process needs the rlimit.
pub fn seal(limits: &Limits, in_cgroup: bool) -> Result<(), SandboxError> {
    if nix::unistd::getpid().as_raw() != 1 {
        return Err(SandboxError(
            "sandbox: the engine process is not PID 1 of a new PID namespace".into(),
        ));
    }
    step(
        "mounting the PID namespace's procfs on /proc",
        mount(
            Some("proc"),
            "/proc",
            Some("proc"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            None::<&str>,
        ),
    )?;
    if pid_max_is_per_namespace(&nix::sys::utsname::uname().map_or_else(
        |_| String::new(),
        |u| u.release().to_string_lossy().into_owned(),
    )) {
        // PIDs 1..pid_max-1: at most that many tasks, whatever the host.
        write_proc_sys("kernel.pid_max", &pid_max_for(limits).to_string())?;
    }
    for path in READ_ONLY_PROC {
        if Path::new(path).exists() {
            bind_read_only(path)?;
        }
    }
    bind_writable("/proc/sys/net")?;
    if !in_cgroup {
        let data = libc::rlim_t::from(limits.memory_bytes());
        step(
            &format!("setrlimit(RLIMIT_DATA, {} MiB)", limits.memory_mib),
            nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_DATA, data, data),
        )?;
    }
    drop_capabilities()
}

/// The `kernel.pid_max` that holds a PID namespace to `limits.processes`
/// tasks (the kernel accepts no less than 301).
pub fn pid_max_for(limits: &Limits) -> u64 {
    (limits.processes + 1).max(301)
}

/// Whether `kernel.pid_max` belongs to each PID namespace on this kernel
/// release (Linux 6.14 and later); before, it is the host's, and the job
/// must not write it.
pub fn pid_max_is_per_namespace(release: &str) -> bool {
    let mut parts = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(major), Some(minor)) => (major, minor) >= (6, 14),
        _ => false,
    }
}

fn page_size() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .and_then(|n| u64::try_from(n).ok())
        .filter(|&n| n > 0)
        .unwrap_or(4096)
}

/// The mount points that get a private tmpfs in each job.
pub const PRIVATE_POINTS: [&str; 2] = ["/tmp", "/dev/shm"];

/// Of `folders` (absolute), those that a tmpfs on one of `points` would hide,
/// each once, a folder inside another one left out (binding the outer one
/// brings it back too), outer ones first.
pub fn folders_to_keep(
    folders: impl IntoIterator<Item = std::path::PathBuf>,
    points: &[&str],
) -> Vec<std::path::PathBuf> {
    let mut hidden: Vec<_> = folders
        .into_iter()
        .filter(|f| f.is_absolute())
        .filter(|f| points.iter().any(|p| f.starts_with(p) && f != Path::new(p)))
        .collect();
    hidden.sort();
    hidden.dedup();
    let mut kept: Vec<std::path::PathBuf> = Vec::new();
    for f in hidden {
        if !kept.iter().any(|k| f.starts_with(k)) {
            kept.push(f);
        }
    }
    kept
}

/// Bind the folder open as `fd` (opened before a tmpfs covered it) back at
/// `path`, a mount point made for it in that tmpfs.
fn bind_back(path: &Path, fd: &std::os::fd::OwnedFd) -> Result<(), SandboxError> {
    step(
        &format!("making {} in the job's tmpfs", path.display()),
        std::fs::create_dir_all(path),
    )?;
    let source = format!("/proc/self/fd/{}", fd.as_raw_fd());
    step(
        &format!("binding {} back over the job's tmpfs", path.display()),
        mount(
            Some(source.as_str()),
            path,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        ),
    )
}

/// Bind `path` over itself, read-only.
fn bind_read_only(path: &str) -> Result<(), SandboxError> {
    step(
        &format!("binding {path} over itself"),
        mount(
            Some(path),
            path,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        ),
    )?;
    step(
        &format!("making {path} read-only"),
        mount(
            None::<&str>,
            path,
            None::<&str>,
            MsFlags::MS_BIND
                | MsFlags::MS_REMOUNT
                | MsFlags::MS_RDONLY
                | MsFlags::MS_NOSUID
                | MsFlags::MS_NODEV
                | MsFlags::MS_NOEXEC,
            None::<&str>,
        ),
    )
}

/// Bind `path` over itself, writable (under a read-only parent).
fn bind_writable(path: &str) -> Result<(), SandboxError> {
    step(
        &format!("binding {path} over itself"),
        mount(
            Some(path),
            path,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        ),
    )?;
    step(
        &format!("making {path} writable"),
        mount(
            None::<&str>,
            path,
            None::<&str>,
            MsFlags::MS_BIND
                | MsFlags::MS_REMOUNT
                | MsFlags::MS_NOSUID
                | MsFlags::MS_NODEV
                | MsFlags::MS_NOEXEC,
            None::<&str>,
        ),
    )
}

/// Drop [`DROPPED_CAPABILITIES`] from this thread's bounding, inheritable,
/// ambient, permitted and effective sets, so that neither it nor anything
/// it executes (root or set-user-ID) has them again.
fn drop_capabilities() -> Result<(), SandboxError> {
    use caps::CapSet;
    for &cap in DROPPED_CAPABILITIES {
        // A capability this kernel does not know is not there to drop.
        if !caps::runtime::thread_all_supported().contains(&cap) {
            continue;
        }
        for set in [
            CapSet::Bounding,
            CapSet::Ambient,
            CapSet::Inheritable,
            CapSet::Effective,
            CapSet::Permitted,
        ] {
            step(
                &format!("dropping {cap} ({set:?})"),
                caps::drop(None, set, cap),
            )?;
        }
    }
    Ok(())
}

/// A sysctl a suite may set in its jobs: a `net.*` name, which belongs to
/// the job's own network namespace.
pub fn check_job_sysctl(name: &str) -> Result<(), SandboxError> {
    crate::suite::check_suite_sysctl(name).map_err(|e| SandboxError(format!("sandbox: sysctl {e}")))
}

/// `sysctl -w name=value` for a `net.*` name, in the current network
/// namespace.
pub fn write_sysctl(name: &str, value: &str) -> Result<(), SandboxError> {
    check_job_sysctl(name)?;
    write_proc_sys(name, value)
}

/// Write `/proc/sys/NAME` (dots as slashes). Only for names that belong to a
/// namespace of the job.
fn write_proc_sys(name: &str, value: &str) -> Result<(), SandboxError> {
    check_sysctl_name(name).map_err(|e| SandboxError(format!("sandbox: sysctl {e}")))?;
    let path = format!("/proc/sys/{}", name.replace('.', "/"));
    step(
        &format!("setting {name}={value} ({path})"),
        std::fs::write(&path, value),
    )
}

/// Set IFF_UP on an interface of the current network namespace (SIOCSIFFLAGS).
fn bring_up(ifname: &str) -> std::io::Result<()> {
    use nix::sys::socket::{socket, AddressFamily, SockFlag, SockType};
    let sock = socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    // SAFETY: ifreq is plain old data; all-zero is a valid value.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    let name = ifname.as_bytes();
    if name.len() >= ifr.ifr_name.len() {
        return Err(std::io::Error::from_raw_os_error(libc::ENAMETOOLONG));
    }
    for (dst, &src) in ifr.ifr_name.iter_mut().zip(name) {
        *dst = src as libc::c_char;
    }
    // SAFETY: the fd is a socket we own and ifr is a valid ifreq for these requests.
    unsafe {
        if libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut ifr) < 0 {
            return Err(std::io::Error::last_os_error());
        }
        ifr.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        if libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &ifr) < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_max_is_written_only_where_each_pid_namespace_has_its_own() {
        assert!(pid_max_is_per_namespace("6.18.44-fc-v1045"));
        assert!(pid_max_is_per_namespace("6.14.0"));
        assert!(pid_max_is_per_namespace("7.0"));
        assert!(!pid_max_is_per_namespace("6.13.12-arch1"));
        assert!(!pid_max_is_per_namespace("5.15.0-91-generic"));
        assert!(!pid_max_is_per_namespace("garbage"));
        assert!(!pid_max_is_per_namespace(""));
    }

    #[test]
    fn pid_max_holds_the_process_cap() {
        let limits = |processes| Limits {
            processes,
            ..Limits::default()
        };
        assert_eq!(pid_max_for(&limits(512)), 513);
        assert_eq!(pid_max_for(&limits(16)), 301);
    }

    #[test]
    fn folders_under_a_private_tmp_are_kept_once_outer_first() {
        let keep = |folders: &[&str]| {
            folders_to_keep(
                folders.iter().map(std::path::PathBuf::from),
                &PRIVATE_POINTS,
            )
        };
        assert_eq!(
            keep(&["/tmp/tmp.x/seed", "/tmp/tmp.x"]),
            vec![std::path::PathBuf::from("/tmp/tmp.x")]
        );
        assert_eq!(
            keep(&["/tmp/a/seed", "/tmp/a/seed", "/dev/shm/b"]),
            vec![
                std::path::PathBuf::from("/dev/shm/b"),
                std::path::PathBuf::from("/tmp/a/seed")
            ]
        );
        // Outside the private mounts, or the mount point itself: nothing to do.
        assert!(keep(&["/work/suite", "/tmp", "/tmpx/a", "tmp/rel"]).is_empty());
        // A sibling is not inside: both kept.
        assert_eq!(keep(&["/tmp/ab", "/tmp/a"]).len(), 2);
    }

    #[test]
    fn only_net_sysctls_reach_a_job() {
        assert!(check_job_sysctl("net.ipv4.tcp_ecn").is_ok());
        for bad in [
            "kernel.domainname",
            "vm.swappiness",
            "netfoo.x",
            "net",
            "net..x",
        ] {
            assert!(check_job_sysctl(bad).is_err(), "{bad}");
        }
        // Refused before anything is written or unshared.
        let e = enter(
            Path::new("/nonexistent"),
            &[("vm.swappiness".into(), "59".into())],
            &Limits::default(),
        )
        .unwrap_err();
        assert!(e.0.contains("vm.swappiness"), "{e}");
    }
}
