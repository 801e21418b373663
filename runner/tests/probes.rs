//! One rule each: netdrill gives packetdrill's exit status on every probe of
//! `../shared/corpus/probes`, and where packetdrill failed, a diagnostic that
//! names the same script line and the same fact (PROBES.tsv).

mod support;

use netdrill_engine::config::IpVersion;
use support::*;

struct Probe {
    script: String,
    exit: i32,
    first_line: String,
}

fn probes() -> Vec<Probe> {
    let text = std::fs::read_to_string(corpus("probes").join("PROBES.tsv")).unwrap();
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut f = l.split('\t');
            Probe {
                script: f.next().unwrap_or("").to_string(),
                exit: f.next().unwrap_or("").parse().unwrap_or(-1),
                first_line: f.next().unwrap_or("").to_string(),
            }
        })
        .collect()
}

/// The part of a diagnostic that names the fact: timing figures aside, and
/// for a call that succeeded with another result than scripted, the errno
/// packetdrill prints after it (whatever an earlier call left in `errno`;
/// we clear errno before each call and print 0).
fn fact(script: &str, line: &str) -> String {
    let body = line.strip_prefix(script).unwrap_or(line);
    let body = match body.find(" with errno ") {
        Some(at) if body.contains("Expected result") => &body[..at],
        _ => body,
    };
    normalize(body)
}

#[test]
fn probes_match_packetdrill() {
    require_root();
    let dir = corpus("probes");
    let probes = probes();
    assert!(probes.len() >= 60, "PROBES.tsv lists the probes");
    let jobs: Vec<_> = probes
        .iter()
        .map(|p| (p.script.clone(), IpVersion::Ipv4))
        .collect();
    let results = run_all(&dir, &jobs, 2);
    let mut differences = Vec::new();
    for (p, r) in probes.iter().zip(&results) {
        let mut verdict = "same";
        if r.exit != p.exit {
            verdict = "DIFFERENT exit";
        } else if p.exit != 0 {
            let expected_line = line_of(&p.script, &p.first_line);
            if p.script == "negtime.pkt" {
                // packetdrill dies on an internal assertion; we give a clear error.
                if r.stderr.contains("assertion") || r.first_line().is_empty() {
                    verdict = "DIFFERENT message (no clear error)";
                }
            } else if expected_line != r.line() {
                verdict = "DIFFERENT line";
            } else if fact(&p.script, &p.first_line) != fact(&r.script, r.first_line()) {
                verdict = "DIFFERENT message";
            }
        }
        println!(
            "{verdict:<16} {:<22} exit {} (packetdrill {})  {}",
            p.script,
            r.exit,
            p.exit,
            r.first_line()
        );
        if verdict != "same" {
            differences.push(format!(
                "{}: {verdict}\n  packetdrill: exit {} {}\n  netdrill:    exit {} {}",
                p.script,
                p.exit,
                p.first_line,
                r.exit,
                r.stderr.trim_end().replace('\n', "\n               ")
            ));
        }
    }
    println!(
        "{} same, {} different",
        probes.len() - differences.len(),
        differences.len()
    );
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}
