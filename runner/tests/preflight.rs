//! Preflight: the run stops before any job when the host cannot run the suite,
//! with the fix in the message; `--list` needs no preflight.

mod common;

use common::*;

#[test]
fn unknown_congestion_control_stops_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cc");
    write(
        &dir,
        "a.pkt",
        "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n",
    );
    write(
        &dir,
        "defaults.sh",
        "sysctl -q -w net.ipv4.tcp_congestion_control=no_such_cc\n",
    );
    let before = HostSnapshot::take();
    let tag = new_tag("preflight");
    let out = netdrill(
        &["run", dir.to_str().unwrap(), "--no-progress"],
        &tag,
        tmp.path(),
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // nextest's setup error: the machine cannot run these jobs.
    assert_eq!(out.status.code(), Some(96), "{stderr}");
    assert!(
        stderr.contains("congestion control no_such_cc which this kernel does not have"),
        "{stderr}"
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).is_empty(),
        "no job ran"
    );
    // Listing needs no preflight.
    let out = netdrill(&["run", dir.to_str().unwrap(), "--list"], &tag, tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_nothing_left(&tag, &before);
}

#[test]
fn prepare_host_changes_nothing_when_nothing_is_missing() {
    let allowed =
        std::fs::read_to_string("/proc/sys/net/ipv4/tcp_allowed_congestion_control").unwrap();
    let Some(cc) = allowed.split_whitespace().next() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cc_ok");
    write(
        &dir,
        "a.pkt",
        "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n",
    );
    write(
        &dir,
        "suite.toml",
        &format!("[sysctls]\n\"net.ipv4.tcp_congestion_control\" = \"{cc}\"\n"),
    );
    let before = HostSnapshot::take();
    let tag = new_tag("prepare");
    let out = netdrill(
        &[
            "run",
            dir.to_str().unwrap(),
            "--no-progress",
            "--prepare-host",
        ],
        &tag,
        tmp.path(),
    )
    .output()
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The jobs ran (they fail or pass on the engine's word, not on preflight's).
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("a.pkt ipv4"), "{stdout}");
    assert!(
        !stdout.contains("sandbox"),
        "the sysctl applied inside the job: {stdout}"
    );
    assert_nothing_left(&tag, &before);
}
