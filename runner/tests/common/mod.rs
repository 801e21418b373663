//! Shared test helpers: the netdrill binary, script folders, and what the host
//! looks like (for leak checks).
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_netdrill");

/// The environment variable that marks every process a test starts (inherited
/// by the runner, its job processes and their children).
pub const TAG_VAR: &str = "NETDRILL_TEST_TAG";

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, text).unwrap();
    p
}

/// A unique tag for this test's processes.
pub fn new_tag(name: &str) -> String {
    format!("{name}-{}-{:?}", std::process::id(), Instant::now())
}

/// `netdrill ARGS` with the tag, a private state folder and plain output.
pub fn netdrill(args: &[&str], tag: &str, state: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.args(args)
        .env(TAG_VAR, tag)
        .env("XDG_STATE_HOME", state)
        .env_remove("KSFT_MACHINE_SLOW")
        .env_remove("kselftest_override_timeout")
        .env("RUST_BACKTRACE", "0");
    c
}

/// Every process whose environment carries `TAG_VAR=tag`.
pub fn tagged_processes(tag: &str) -> Vec<u32> {
    let needle = format!("{TAG_VAR}={tag}");
    let mut pids = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return pids;
    };
    for e in entries.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if let Ok(env) = std::fs::read(format!("/proc/{pid}/environ")) {
            if env.split(|&b| b == 0).any(|v| v == needle.as_bytes()) {
                pids.push(pid);
            }
        }
    }
    pids
}

/// The tagged processes whose command line contains `what`.
pub fn tagged_with_cmdline(tag: &str, what: &str) -> Vec<u32> {
    tagged_processes(tag)
        .into_iter()
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| {
                    String::from_utf8_lossy(&c)
                        .replace('\0', " ")
                        .contains(what)
                })
                .unwrap_or(false)
        })
        .collect()
}

/// Wait until `f` holds, up to `limit`.
pub fn wait_for(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    f()
}

/// What the host looks like, for before/after comparisons.
#[derive(Debug, PartialEq)]
pub struct HostSnapshot {
    pub interfaces: BTreeSet<String>,
    /// (mount point, filesystem type, source) of this process's mount namespace.
    pub mounts: BTreeSet<(String, String, String)>,
    pub sysctls: BTreeMap<String, String>,
}

pub const WATCHED_SYSCTLS: &[&str] = &[
    "net.ipv4.tcp_allowed_congestion_control",
    "net.ipv4.tcp_congestion_control",
    "net.ipv4.tcp_ecn",
    "net.ipv4.tcp_rmem",
    "net.ipv4.tcp_wmem",
    "net.ipv4.tcp_timestamps",
    "net.ipv4.tcp_sack",
    "net.ipv4.tcp_fastopen",
    "net.ipv4.tcp_syncookies",
    "net.core.default_qdisc",
];

impl HostSnapshot {
    pub fn take() -> HostSnapshot {
        let interfaces = std::fs::read_dir("/sys/class/net")
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        let mounts = std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .lines()
            .filter_map(|l| {
                let (left, right) = l.split_once(" - ")?;
                let point = left.split(' ').nth(4)?.to_string();
                let mut r = right.split(' ');
                let fstype = r.next()?.to_string();
                let source = r.next().unwrap_or("").to_string();
                Some((point, fstype, source))
            })
            .collect();
        let sysctls = WATCHED_SYSCTLS
            .iter()
            .map(|name| {
                let path = format!("/proc/sys/{}", name.replace('.', "/"));
                let v = std::fs::read_to_string(path).unwrap_or_default();
                (name.to_string(), v.trim().to_string())
            })
            .collect();
        HostSnapshot {
            interfaces,
            mounts,
            sysctls,
        }
    }
}

/// Assert that nothing the tagged processes made is left: no process (hence no
/// network namespace held by one), no new interface, mount or sysctl value.
pub fn assert_nothing_left(tag: &str, before: &HostSnapshot) {
    let gone = wait_for(Duration::from_secs(5), || tagged_processes(tag).is_empty());
    assert!(
        gone,
        "processes left behind: {:?}",
        tagged_processes(tag)
            .iter()
            .map(|p| std::fs::read(format!("/proc/{p}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
                .unwrap_or_default())
            .collect::<Vec<_>>()
    );
    let after = HostSnapshot::take();
    let new_ifaces: Vec<_> = after.interfaces.difference(&before.interfaces).collect();
    assert!(new_ifaces.is_empty(), "new host interfaces: {new_ifaces:?}");
    let new_mounts: Vec<_> = after.mounts.difference(&before.mounts).collect();
    assert!(new_mounts.is_empty(), "new host mounts: {new_mounts:?}");
    assert_eq!(after.sysctls, before.sysctls, "host sysctls changed");
}
