//! The job's sandbox: fresh network, mount and PID namespaces, made by the job
//! process itself (no `unshare(1)`, no `ip netns`), so that nothing it does can
//! reach the host and everything it leaves dies with it.
//!
//! Called by the job child ([`crate::job_child`]) while it is still single-threaded
//! (`unshare(CLONE_NEWNS)` refuses a process whose threads share its
//! filesystem context). The host's namespaces are only read, never changed.

use crate::suite::check_sysctl_name;
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

/// Move the calling (single-threaded) process into new network and mount
/// namespaces, and make its future children start a new PID namespace. Then:
/// every mount private (so nothing propagates back to the host), `workdir` as the
/// current directory, a fresh tmpfs on `/tmp`, `lo` up, and `sysctls` written
/// under `/proc/sys` of the new namespace.
///
/// The directory change comes before the `/tmp` mount so that a script folder
/// under `/tmp` stays reachable through the current directory.
pub fn enter(workdir: &Path, sysctls: &[(String, String)]) -> Result<(), SandboxError> {
    step(
        "unshare(CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWPID)",
        unshare(CloneFlags::CLONE_NEWNET | CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWPID),
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
    step(
        &format!("cd {}", workdir.display()),
        std::env::set_current_dir(workdir),
    )?;
    step(
        "mounting a tmpfs on /tmp",
        mount(
            Some("tmpfs"),
            "/tmp",
            Some("tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            Some("mode=1777"),
        ),
    )?;
    step("bringing lo up", bring_up("lo"))?;
    for (name, value) in sysctls {
        write_sysctl(name, value)?;
    }
    Ok(())
}

/// `sysctl -w name=value` in the current network namespace.
pub fn write_sysctl(name: &str, value: &str) -> Result<(), SandboxError> {
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
