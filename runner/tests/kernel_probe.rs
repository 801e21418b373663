//! The kernel probe (`netdrill __probe`), each of its probes against an
//! independent look at the same kernel (a shell in a namespace `unshare -n`
//! makes), and the host left as it was: `net.ipv4.tcp_ecn` and the qdisc of
//! the host's `lo` are not touched.

mod support;

use serde_json::Value;
use std::process::Command;
use support::*;

fn probe(request: &str) -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_netdrill"))
        .args(["__probe", "--request", request])
        .output()
        .expect("running netdrill __probe");
    assert!(out.status.success(), "{out:?}");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("the probe's JSON");
    doc["findings"].as_array().unwrap().clone()
}

fn present(findings: &[Value], kind: &str, name: Option<&str>) -> Option<bool> {
    findings
        .iter()
        .find(|f| f["kind"] == kind && name.is_none_or(|n| f["name"] == n))
        .map(|f| f["present"].as_bool().unwrap())
}

/// Whether `script` succeeds in a fresh network namespace.
fn in_scratch_netns(script: &str) -> bool {
    Command::new("unshare")
        .args(["-n", "sh", "-c", script])
        .output()
        .expect("unshare -n")
        .status
        .success()
}

fn host(cmd: &str) -> String {
    let out = Command::new("sh").args(["-c", cmd]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn each_probe_agrees_with_the_kernel_and_the_host_is_untouched() {
    require_root();
    let ecn_before = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_ecn").unwrap();
    let lo_before = host("tc qdisc show dev lo");
    let findings = probe(
        r#"{"accecn":true,"qdiscs":["fq","pfifo","tbf"],
            "congestion_controls":["cubic","reno"],
            "sysctls":["net.ipv4.tcp_ecn","net.ipv4.tcp_ecnn"]}"#,
    );
    assert_eq!(
        present(&findings, "accecn", None),
        Some(in_scratch_netns("echo 3 > /proc/sys/net/ipv4/tcp_ecn")),
        "{findings:?}"
    );
    let tc = Command::new("tc").arg("-V").output().is_ok();
    for kind in ["fq", "pfifo"] {
        let found = present(&findings, "qdisc", Some(kind));
        if tc {
            assert_eq!(
                found,
                Some(in_scratch_netns(&format!(
                    "tc qdisc replace dev lo root {kind}"
                ))),
                "{kind}: {findings:?}"
            );
        }
    }
    // A kind that needs parameters is there, though it refuses none.
    assert_eq!(present(&findings, "qdisc", Some("tbf")), Some(true));
    let available =
        std::fs::read_to_string("/proc/sys/net/ipv4/tcp_available_congestion_control").unwrap();
    for cc in available
        .split_whitespace()
        .filter(|c| ["cubic", "reno"].contains(c))
    {
        assert_eq!(
            present(&findings, "congestion-control", Some(cc)),
            Some(true)
        );
    }
    assert_eq!(
        present(&findings, "sysctl", Some("net.ipv4.tcp_ecn")),
        Some(true)
    );
    assert_eq!(
        present(&findings, "sysctl", Some("net.ipv4.tcp_ecnn")),
        Some(false)
    );
    // Every finding says how the probe knows.
    assert!(findings
        .iter()
        .all(|f| !f["evidence"].as_str().unwrap().is_empty()));
    assert_eq!(
        std::fs::read_to_string("/proc/sys/net/ipv4/tcp_ecn").unwrap(),
        ecn_before
    );
    assert_eq!(host("tc qdisc show dev lo"), lo_before);
}

#[test]
fn a_request_for_nothing_probes_only_that() {
    require_root();
    let findings = probe(r#"{"accecn":false,"qdiscs":[],"congestion_controls":[],"sysctls":[]}"#);
    assert!(findings.is_empty(), "{findings:?}");
    let out = Command::new(env!("CARGO_BIN_EXE_netdrill"))
        .args(["__probe", "--request", "{not json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad request"));
}
