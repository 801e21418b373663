//! Parity with packetdrill on the kernel's packetdrill suite (issue 4): every
//! row of `../shared/corpus/kselftest/EXPECTED.tsv` that is not flaky under
//! packetdrill itself must get the same verdict from netdrill, and where both
//! fail, netdrill's diagnostic must name the same line.
//!
//! Prints a table and a closing line `N passed, N failed` (passed = same
//! verdict as packetdrill); fails on any difference.
//!
//! EXPECTED.tsv holds packetdrill's verdicts with each job run alone, so the
//! jobs run one at a time here too (`NETDRILL_PARITY_JOBS` to change it).
//! At several at once on a 2-core machine, a few timing-sensitive scripts
//! turn (for packetdrill as well); that is measured by `ci/bench.sh`.

mod support;

use netdrill_engine::config::IpVersion;
use support::*;

/// Rows that cannot match on this machine for a reason outside netdrill,
/// with that reason. At most five.
const SKIPPED: &[(&str, &str, &str)] = &[];

struct Row {
    script: String,
    ip: IpVersion,
    verdict: String,
    line: Option<u32>,
    message: String,
}

fn rows() -> Vec<Row> {
    let text = std::fs::read_to_string(corpus("kselftest").join("EXPECTED.tsv")).unwrap();
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            Row {
                script: f[0].to_string(),
                ip: IpVersion::parse(f[1]).expect("ip version"),
                verdict: f[2].to_string(),
                line: f.get(3).and_then(|s| s.parse().ok()),
                message: f.get(4).unwrap_or(&"").to_string(),
            }
        })
        .collect()
}

#[test]
fn same_verdict_as_packetdrill_on_the_kernel_suite() {
    require_root();
    assert!(SKIPPED.len() <= 5);
    let dir = corpus("kselftest");
    let all = rows();
    assert!(all.len() >= 300, "EXPECTED.tsv has the whole suite");
    let (flaky, rows): (Vec<_>, Vec<_>) = all.into_iter().partition(|r| r.verdict == "flaky");
    let jobs: Vec<_> = rows.iter().map(|r| (r.script.clone(), r.ip)).collect();
    let workers = std::env::var("NETDRILL_PARITY_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let results = run_all(&dir, &jobs, workers);

    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    let mut differences = Vec::new();
    for (row, r) in rows.iter().zip(&results) {
        let ours = if r.exit == 0 { "pass" } else { "fail" };
        let skip = SKIPPED
            .iter()
            .find(|(s, ip, _)| *s == row.script && *ip == row.ip.as_str());
        let same = ours == row.verdict && (ours == "pass" || r.line() == row.line);
        let status = match (skip, same) {
            (Some(_), _) => {
                skipped += 1;
                "skip"
            }
            (None, true) => {
                passed += 1;
                "same"
            }
            (None, false) => {
                failed += 1;
                "DIFF"
            }
        };
        println!(
            "{status:<4} {:<52} {:<4} packetdrill {:<4} line {:<4} | netdrill {:<4} {}",
            row.script,
            r.ip,
            row.verdict,
            row.line.map(|l| l.to_string()).unwrap_or_default(),
            ours,
            r.first_line()
        );
        if status == "DIFF" {
            differences.push(format!(
                "{} {}: packetdrill {} {:?} {} | netdrill: {}",
                row.script,
                r.ip,
                row.verdict,
                row.line,
                row.message,
                r.first_line()
            ));
        }
    }
    for (s, ip, reason) in SKIPPED {
        println!("skipped: {s} {ip}: {reason}");
    }
    println!("not compared (flaky under packetdrill): {}", flaky.len());
    println!("{passed} passed, {failed} failed, {skipped} skipped");
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}
