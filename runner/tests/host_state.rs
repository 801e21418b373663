//! The host-state check that wraps the test command (`ci/test.sh`, with
//! `ci/host-state.sh`): two snapshots of an unchanged host compare equal; a
//! difference in any part, and a process the checked run left, is found and
//! named. The host itself is only read: the differences are made in a copy.

use std::path::{Path, PathBuf};
use std::process::Command;

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ci/host-state.sh")
}

fn snapshot(dir: &Path, tag: Option<&str>) {
    let mut cmd = Command::new(script());
    cmd.arg("snapshot").arg(dir);
    if let Some(t) = tag {
        cmd.arg(t);
    }
    assert!(cmd.status().unwrap().success());
}

fn compare(a: &Path, b: &Path) -> (i32, String) {
    let out = Command::new(script())
        .arg("compare")
        .arg(a)
        .arg(b)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for part in ["sysctl", "links", "netns", "mounts", "processes"] {
        std::fs::copy(from.join(part), to.join(part)).unwrap();
    }
}

#[test]
fn the_host_state_check_finds_every_kind_of_change() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    snapshot(&a, None);
    snapshot(&b, None);
    let (code, out) = compare(&a, &b);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("the host is as it was"), "{out}");
    let sysctls = std::fs::read_to_string(a.join("sysctl")).unwrap();
    assert!(sysctls.contains("net.ipv4.tcp_ecn = "), "{sysctls}");
    assert!(sysctls.contains("vm.swappiness = "));
    assert!(
        !sysctls.contains("kernel.ns_last_pid"),
        "counters are left out"
    );
    for (part, line) in [
        ("sysctl", "vm.swappiness = 1"),
        ("links", "tun0: <POINTOPOINT,NOARP,UP,LOWER_UP> mtu 1500"),
        ("netns", "leftover"),
        ("mounts", "/tmp/x rw tmpfs tmpfs rw"),
        ("processes", "4242 sleep 100"),
    ] {
        let changed = tmp.path().join(format!("changed-{part}"));
        copy(&a, &changed);
        let path = changed.join(part);
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str(line);
        text.push('\n');
        std::fs::write(&path, text).unwrap();
        let (code, out) = compare(&a, &changed);
        assert_eq!(code, 1, "{part}: {out}");
        assert!(
            out.contains(&format!("host-state check: {part} changed:")),
            "{out}"
        );
        assert!(out.contains(&format!("+{line}")), "{out}");
    }
}

#[test]
fn processes_the_checked_run_left_are_found() {
    let tmp = tempfile::tempdir().unwrap();
    let tag = format!("host-state-{}", std::process::id());
    let mut left = Command::new("sleep")
        .arg("30")
        .env("NETDRILL_HOST_CHECK", &tag)
        .spawn()
        .unwrap();
    snapshot(&tmp.path().join("with"), Some(&tag));
    left.kill().unwrap();
    left.wait().unwrap();
    snapshot(&tmp.path().join("without"), Some(&tag));
    let with = std::fs::read_to_string(tmp.path().join("with/processes")).unwrap();
    assert_eq!(with, format!("{} sleep 30 \n", left.id()));
    let without = std::fs::read_to_string(tmp.path().join("without/processes")).unwrap();
    assert_eq!(without, "");
}
