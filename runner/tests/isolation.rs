//! A job cannot reach the host outside its own network namespace: a script
//! tries each write and escape a hostile or buggy suite might, and the host's
//! values are compared before and after.
//!
//! Every write a script attempts here writes the value the host already has,
//! so that even a sandbox that let it through would change nothing; the test
//! fails on whether the write was let through.

mod common;

use common::*;
use netdrill::discover::{discover, DiscoverOptions};
use netdrill::driver::{self, ScheduleSettings};
use netdrill::model::Verdict;
use netdrill::signals::NoSignals;
use netdrill_engine::IpVersion;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The attempts, one a line in `attempts.log`: `NAME done` or `NAME refused`.
const ESCAPES: &str = r#"#!/bin/sh
try() {
	name=$1
	shift
	if "$@" >/dev/null 2>&1; then echo "$name done"; else echo "$name refused"; fi
}
same() { echo "$(cat "$1")" > "$1"; }
{
try sysctl-vm.swappiness sysctl -q -w "vm.swappiness=$(cat /proc/sys/vm/swappiness)"
try write-vm.swappiness same /proc/sys/vm/swappiness
try write-kernel.domainname same /proc/sys/kernel/domainname
try write-kernel.pid_max same /proc/sys/kernel/pid_max
try sethostname sh -c 'hostname "$(hostname)"'
try see-runner test -e /proc/@RUNNER@/ns/net
try nsenter-runner nsenter --net=/proc/@RUNNER@/ns/net true
try nsenter-pid1 nsenter --net=/proc/1/ns/net --mount=/proc/1/ns/mnt true
try mount-procfs sh -c 'mkdir -p p && mount -t proc proc p'
try remount-proc-sys mount -o remount,bind,rw /proc/sys
try umount-proc sh -c 'umount -l /proc/sys/net && umount -l /proc/sys'
try net-sysctl sysctl -q -w net.ipv4.tcp_ecn=2
try shm-file sh -c 'echo x > /dev/shm/@SHM@'
try sysv-shm ipcmk -M 4096 -p 0600
echo "pid1 $(tr '\0' ' ' < /proc/1/cmdline | cut -c1-14)"
echo "sysv $(tail -n +2 /proc/sysvipc/shm | awk '{print $2}' | tr '\n' ' ')"
} > attempts.log 2>&1
"#;

const SCRIPT: &str = "`./escapes.sh`\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n";

fn read(path: impl AsRef<Path>) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// The host's values a job could reach through a shared procfs, UTS or IPC
/// namespace.
fn host_values() -> BTreeMap<&'static str, String> {
    let mut v = BTreeMap::new();
    for (name, path) in [
        ("vm.swappiness", "/proc/sys/vm/swappiness"),
        ("kernel.domainname", "/proc/sys/kernel/domainname"),
        ("kernel.hostname", "/proc/sys/kernel/hostname"),
        ("kernel.pid_max", "/proc/sys/kernel/pid_max"),
        ("net.ipv4.tcp_ecn", "/proc/sys/net/ipv4/tcp_ecn"),
        ("sysvipc.shm", "/proc/sysvipc/shm"),
    ] {
        v.insert(name, read(path));
    }
    v
}

fn run_escapes(dir: &Path) -> netdrill::model::RunRecord {
    let options = DiscoverOptions {
        ip_versions: Some(vec![IpVersion::Ipv4]),
        timeout_override: Some(Some(Duration::from_secs(60))),
        ..DiscoverOptions::default()
    };
    let jobs = discover(&[dir.to_path_buf()], &options).unwrap();
    let settings = ScheduleSettings {
        job_exe: PathBuf::from(BIN),
        durations: None,
        ..ScheduleSettings::default()
    };
    driver::run_with_signals(&jobs, &settings, &mut NoSignals, &mut |_| {}).unwrap()
}

#[test]
fn a_script_cannot_reach_the_host_outside_its_network_namespace() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("escape");
    let tag = new_tag("escape");
    let shm_name = format!("netdrill-escape-{}", std::process::id());
    let text = ESCAPES
        // This test process is the runner: its PID is the host's.
        .replace("@RUNNER@", &std::process::id().to_string())
        .replace("@SHM@", &shm_name);
    let exe = write(&dir, "escapes.sh", &text);
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    write(&dir, "escape.pkt", SCRIPT);
    let before = HostSnapshot::take();
    let host_before = host_values();
    std::env::set_var(TAG_VAR, &tag);
    let record = run_escapes(&dir);
    std::env::remove_var(TAG_VAR);
    let host_after = host_values();
    let log = read(dir.join("attempts.log"));
    // Undo what a sandbox that failed would have left, then judge.
    let shm_left = Path::new("/dev/shm").join(&shm_name);
    let shm_file_left = shm_left.exists();
    let _ = std::fs::remove_file(&shm_left);
    let outcome: BTreeMap<&str, &str> = log.lines().filter_map(|l| l.split_once(' ')).collect();
    let sysv_in_job: Vec<&str> = outcome
        .get("sysv")
        .map(|ids| ids.split_whitespace().collect())
        .unwrap_or_default();
    let host_ids: Vec<String> = read("/proc/sysvipc/shm")
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(1).map(String::from))
        .collect();
    let leaked: Vec<&&str> = sysv_in_job
        .iter()
        .filter(|id| {
            host_ids.iter().any(|h| h == **id) && !host_before["sysvipc.shm"].contains(**id)
        })
        .collect();
    for id in &leaked {
        let _ = std::process::Command::new("ipcrm")
            .args(["-m", id])
            .status();
    }

    assert_eq!(
        record.jobs[0].verdict,
        Verdict::Pass,
        "{:?}\n{log}",
        record.jobs[0].attempts
    );
    for name in [
        "sysctl-vm.swappiness",
        "write-vm.swappiness",
        "write-kernel.domainname",
        "write-kernel.pid_max",
        "sethostname",
        "see-runner",
        "nsenter-runner",
        "nsenter-pid1",
        "mount-procfs",
        "remount-proc-sys",
        "umount-proc",
        "shm-file",
    ] {
        let expected = if name == "shm-file" {
            "done"
        } else {
            "refused"
        };
        assert_eq!(outcome.get(name).copied(), Some(expected), "{name}:\n{log}");
    }
    // What the job may do, it does, in its own namespaces.
    assert_eq!(outcome.get("net-sysctl").copied(), Some("done"), "{log}");
    assert_eq!(outcome.get("sysv-shm").copied(), Some("done"), "{log}");
    assert!(!sysv_in_job.is_empty(), "{log}");
    // PID 1 inside is the job's own engine, not the host's init.
    assert_eq!(
        outcome.get("pid1").copied(),
        Some("netdrill __job"),
        "{log}"
    );
    assert!(!shm_file_left, "the job wrote the host's /dev/shm");
    assert!(
        leaked.is_empty(),
        "System V shared memory leaked to the host: {leaked:?}"
    );
    assert_eq!(host_after, host_before, "the host's values changed");
    assert_nothing_left(&tag, &before);
}

#[test]
fn suite_sysctls_outside_net_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("s");
    write(&dir, "a.pkt", SCRIPT);
    write(
        &dir,
        "suite.toml",
        "[sysctls]\n\"kernel.domainname\" = \"x\"\n",
    );
    let err = discover(std::slice::from_ref(&dir), &DiscoverOptions::default()).unwrap_err();
    assert!(
        err.contains("suite.toml: [sysctls] `kernel.domainname`: only net.* sysctls"),
        "{err}"
    );
    let out = netdrill(
        &["run", dir.to_str().unwrap()],
        &new_tag("sysctl"),
        tmp.path(),
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("would change the host"));
}
