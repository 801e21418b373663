//! The founding scripts pass, in IPv4 and IPv6, run as the kernel runner runs
//! them (issue 3). Two at a time: the machine has two cores.

mod support;

use support::*;

#[test]
fn every_founding_script_passes_in_ipv4_and_ipv6() {
    require_root();
    let dir = corpus("seed");
    let mut scripts: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".pkt"))
        .collect();
    scripts.sort();
    assert_eq!(scripts.len(), 9, "the founding spec has 9 scripts");
    let jobs: Vec<_> = scripts
        .iter()
        .flat_map(|s| {
            ip_versions(&dir.join(s))
                .into_iter()
                .map(move |ip| (s.clone(), ip))
        })
        .collect();
    let results = run_all(&dir, &jobs, 2);
    let failed: Vec<_> = results.iter().filter(|r| r.exit != 0).collect();
    for r in &results {
        println!(
            "{:<4} {:<55} {}  {}",
            if r.exit == 0 { "ok" } else { "FAIL" },
            r.script,
            r.ip,
            r.first_line()
        );
    }
    assert!(
        failed.is_empty(),
        "{} of {} founding jobs failed:\n{}",
        failed.len(),
        results.len(),
        failed
            .iter()
            .map(|r| format!("{} {}: {}", r.script, r.ip, r.stderr.trim_end()))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
