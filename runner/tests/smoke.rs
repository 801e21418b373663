//! README's first command: `netdrill run suites/smoke` passes every script of the
//! smoke suite, in IPv4 and IPv6, from the repository alone (no `../shared`).

mod common;

use common::*;
use std::path::Path;

#[test]
fn the_smoke_suite_passes_in_ipv4_and_ipv6() {
    let before = HostSnapshot::take();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let tag = new_tag("smoke");
    let out = netdrill(
        &["run", "--no-progress", "suites/smoke", "--ktap", "-"],
        &tag,
        tmp.path(),
    )
    .current_dir(repo)
    .output()
    .unwrap();
    let ktap = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{ktap}\n{stderr}");
    let scripts = std::fs::read_dir(repo.join("suites/smoke"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "pkt"))
        .count();
    assert!(scripts >= 4, "the smoke suite has its scripts");
    assert!(
        ktap.ends_with(&format!(
            "# Totals: pass:{scripts} fail:0 xfail:0 xpass:0 skip:0 error:0\n"
        )),
        "{ktap}"
    );
    assert_eq!(
        ktap.matches("\n# ok 1 ipv4\n# ok 2 ipv6\n").count(),
        scripts,
        "{ktap}"
    );
    assert_nothing_left(&tag, &before);
}
