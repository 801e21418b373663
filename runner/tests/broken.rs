//! Our broken variants of the founding scripts (suites/broken) each fail, at
//! the line and with the message packetdrill gives (issue 3). EXPECTED.tsv
//! there was measured with the reference packetdrill; `*` stands for the
//! timing figures that vary between runs.

mod support;

use netdrill_engine::config::IpVersion;
use std::path::Path;
use support::*;

#[test]
fn every_broken_variant_fails_where_packetdrill_fails() {
    require_root();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../suites/broken");
    let text = std::fs::read_to_string(dir.join("EXPECTED.tsv")).unwrap();
    let rows: Vec<Vec<String>> = text
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect();
    assert!(rows.len() >= 9 * 9 * 2, "81 variants x 2 IP versions");
    let jobs: Vec<_> = rows
        .iter()
        .map(|r| (r[0].clone(), IpVersion::parse(&r[1]).expect("ip version")))
        .collect();
    let results = run_all(&dir, &jobs, 2);
    let mut wrong = Vec::new();
    for (row, r) in rows.iter().zip(&results) {
        let (exit, line, pattern) = (&row[2], &row[3], &row[4]);
        let first = r.first_line();
        let ours = first
            .strip_prefix(&format!("{}:{}: ", r.script, line))
            .unwrap_or("");
        // `*` stands for any text (and `?` for one character).
        let matches = glob::Pattern::new(pattern).is_ok_and(|p| p.matches(ours));
        let ok = r.exit.to_string() == *exit && matches;
        println!(
            "{} {:<62} {:<4} line {:<3} {}",
            if ok { "ok  " } else { "FAIL" },
            r.script,
            r.ip,
            line,
            first
        );
        if !ok {
            wrong.push(format!(
                "{} {}: expected exit {exit} at line {line}: {pattern}\n  got exit {}: {}",
                r.script,
                r.ip,
                r.exit,
                r.stderr.trim_end()
            ));
        }
    }
    println!(
        "{} as expected, {} not",
        rows.len() - wrong.len(),
        wrong.len()
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
