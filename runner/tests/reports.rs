//! Every report format on one fixed run: snapshots, and real consumers (Perl's
//! TAP::Parser, Python's XML parser, serde, tcpdump) reading them back.

mod fixture;

use netdrill::report::{self, artifacts, json, junit, ktap, Options};
use netdrill_engine::outcome::PacketDirection;
use std::process::Command;

fn opts45() -> Options {
    Options {
        timeout_secs: Some(45),
        ..Options::default()
    }
}

#[test]
fn ktap_snapshot() {
    insta::assert_snapshot!("ktap", ktap::render_with(&fixture::run(), &opts45()));
}

#[test]
fn ktap_without_known_timeout_snapshot() {
    insta::assert_snapshot!("ktap_default", ktap::render(&fixture::run()));
}

#[test]
fn ktap_nested_snapshot() {
    insta::assert_snapshot!("ktap_nested", ktap::render_nested(&fixture::run()));
}

#[test]
fn junit_snapshot() {
    insta::assert_snapshot!("junit", junit::render(&fixture::run()));
}

#[test]
fn json_snapshot() {
    insta::assert_snapshot!("json", json::render(&fixture::run(), false));
}

#[test]
fn json_full_snapshot() {
    insta::assert_snapshot!("json_full", json::render(&fixture::run(), true));
}

/// Counts from Perl's TAP::Parser: planned, run, passed, failed, skipped, parse errors.
fn tap_parser_counts(tap: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("run.tap");
    std::fs::write(&file, tap).unwrap();
    let script = r#"
use TAP::Parser;
open(my $fh, '<', $ARGV[0]) or die;
my $tap = do { local $/; <$fh> };
my $p = TAP::Parser->new({ tap => $tap });
while (my $r = $p->next) {}
printf "planned=%d run=%d passed=%d failed=%d skipped=%d errors=%d\n",
    $p->tests_planned, $p->tests_run, scalar($p->passed), scalar($p->failed),
    scalar($p->skipped), scalar($p->parse_errors);
print "$_\n" for $p->parse_errors;
"#;
    let out = Command::new("perl")
        .arg("-e")
        .arg(script)
        .arg(&file)
        .output()
        .expect("perl runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn ktap_is_read_by_perl_tap_parser_with_the_right_counts() {
    // Scripts: inq (pass), rcv_big_endseq (fail), timestamping (flaky: ok),
    // md5 (skip), accecn_2nd (xfail + xpass: not ok), accecn_3rd (xfail: ok),
    // user_timeout (timeout + crash: not ok).
    let expected = "planned=7 run=7 passed=4 failed=3 skipped=1 errors=0\n";
    assert_eq!(
        tap_parser_counts(&ktap::render_with(&fixture::run(), &opts45())),
        expected
    );
    assert_eq!(
        tap_parser_counts(&ktap::render_nested(&fixture::run())),
        expected
    );
}

#[test]
fn ktap_through_prove_fails_the_run_and_names_the_failures() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("run.tap");
    std::fs::write(&file, ktap::render(&fixture::run())).unwrap();
    let out = Command::new("prove")
        .args(["--exec", "cat"])
        .arg(&file)
        .output()
        .expect("prove runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("Failed 3/7 subtests"), "{text}");
    assert!(text.contains("Failed tests:  2, 5, 7"), "{text}");

    // A run with only passes and skips is green for prove.
    let mut green = fixture::run();
    green.jobs.retain(|j| j.verdict.is_success());
    std::fs::write(&file, ktap::render(&green)).unwrap();
    let out = Command::new("prove")
        .args(["--exec", "cat"])
        .arg(&file)
        .output()
        .expect("prove runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("Result: PASS"), "{text}");
}

#[test]
fn ktap_passes_nipa_text_checks_as_intended() {
    // NIPA's indicators (contest/remote/lib/results.py), applied to one script's
    // kselftest output: only real failures may carry fail markers, and a clean
    // pass must carry a pass marker.
    let out = ktap::render(&fixture::run());
    let blocks: Vec<&str> = out.split("\n# selftests: ").skip(1).collect();
    assert_eq!(blocks.len(), 7);
    for block in blocks {
        let block = format!("\n# selftests: {block}");
        let fail = block.contains("[FAIL]")
            || block.contains(" FAIL:")
            || block.contains("\n# not ok 1")
            || block
                .lines()
                .any(|l| l.starts_with("not ok ") && l.contains(" selftests: "));
        let skip = block.contains(" # SKIP") || block.contains("SKIP:");
        let pass = block
            .lines()
            .any(|l| l.starts_with("ok ") && l.contains(" selftests: "));
        let name = block.lines().nth(1).unwrap_or("");
        match name {
            n if n.contains("tcp_inq_client") || n.contains("tcp_timestamping_partial") => {
                assert!(pass && !fail && !skip, "{block}")
            }
            n if n.contains("tcp_accecn_3rd_dups") => assert!(pass && !fail && !skip, "{block}"),
            n if n.contains("tcp_md5") => assert!(skip && !fail, "{block}"),
            _ => assert!(fail && !pass, "{block}"),
        }
    }
}

#[test]
fn junit_is_read_by_python_with_the_right_counts() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("junit.xml");
    std::fs::write(&file, junit::render(&fixture::run())).unwrap();
    let script = r#"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "testsuites", root.tag
cases = root.findall("./testsuite/testcase")
def n(tag): return sum(1 for c in cases if c.find(tag) is not None)
xfail = sum(1 for c in cases if (c.find("skipped") is not None and c.find("skipped").get("type") == "xfail"))
suite = root.find("testsuite")
print(f"suites={len(root.findall('testsuite'))} name={suite.get('name')} cases={len(cases)} "
      f"failures={n('failure')} errors={n('error')} skipped={n('skipped')} xfail={xfail} "
      f"flaky={n('flakyFailure')} rerun={n('rerunFailure')}")
print(f"suite tests={suite.get('tests')} failures={suite.get('failures')} errors={suite.get('errors')} skipped={suite.get('skipped')}")
props = {p.get("name"): p.get("value") for p in suite.findall("./properties/property")}
print(f"kernel={props['kernel_release']} version={props['netdrill_version']} tolerance={props['tolerance_usecs']}")
fail = [c for c in cases if c.find("failure") is not None and c.find("failure").get("type") == "timing-error"][0]
print(f"failure={fail.get('classname')}/{fail.get('name')} message={fail.find('failure').get('message')[:40]}")
print("body has script packet:", "script packet:" in fail.find("failure").text)
timeout = [c for c in cases if c.find("failure") is not None and c.find("failure").get("type") == "timeout"]
print(f"timeouts={len(timeout)}")
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&file)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "suites=1 name=net/packetdrill cases=14 failures=3 errors=1 skipped=5 xfail=3 flaky=1 rerun=1\n\
         suite tests=14 failures=3 errors=1 skipped=5\n\
         kernel=6.18.0-netdrill version=0.1.0 tolerance=4000\n\
         failure=packetdrill.tcp_rcv_big_endseq/ipv4 message=tcp_rcv_big_endseq.pkt:41: error handlin\n\
         body has script packet: True\n\
         timeouts=1\n"
    );
}

#[test]
fn junit_reads_back_with_quick_junit() {
    let xml = junit::render(&fixture::run());
    let back = quick_junit::Report::deserialize_from_str(&xml).unwrap();
    assert_eq!(back, junit::build(&fixture::run(), &Options::default()));
}

#[test]
fn json_round_trips_through_serde() {
    for full in [false, true] {
        let run = fixture::run();
        let text = json::render(&run, full);
        let doc = json::parse(&text).unwrap();
        assert_eq!(doc, json::build(&run, full, &Options::default()));
        let again = serde_json::to_string_pretty(&doc).unwrap() + "\n";
        assert_eq!(again, text);
    }
}

#[test]
fn json_follows_nipa_result_rules() {
    let doc = json::build(&fixture::run(), false, &Options::default());
    let by = |t: &str| doc.results.iter().find(|r| r.test == t).unwrap();
    use json::NipaResult::*;
    assert_eq!(by("tcp-inq-client-pkt").result, Pass);
    assert_eq!(by("tcp-inq-client-pkt").group, "selftests-net-packetdrill");
    let flaky = by("tcp-timestamping-partial-pkt");
    assert_eq!((flaky.result, flaky.retry), (Fail, Some(Pass)));
    assert_eq!(
        (
            flaky.results[1].test.as_str(),
            flaky.results[1].result,
            flaky.results[1].retry
        ),
        ("ipv6", Fail, Some(Pass))
    );
    let fail = by("tcp-rcv-big-endseq-pkt");
    assert_eq!((fail.result, fail.retry), (Fail, Some(Fail)));
    assert_eq!(by("tcp-md5-md5-only-on-client-ack-pkt").result, Skip);
    assert_eq!(by("tcp-accecn-3rd-dups-pkt").result, Pass);
    assert_eq!(by("tcp-accecn-2nd-data-as-first-pkt").result, Fail);
    assert_eq!(by("tcp-user-timeout-user-timeout-probe-pkt").result, Fail);
    assert_eq!(doc.start, "2025-08-01 00:10:03+00:00");
    assert_eq!(doc.end, "2025-08-01 00:10:57.500000+00:00");
}

/// An IPv4 TCP segment with valid checksums.
fn ipv4_tcp(
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
) -> Vec<u8> {
    let mut tcp = vec![0u8; 24];
    tcp[0..2].copy_from_slice(&sport.to_be_bytes());
    tcp[2..4].copy_from_slice(&dport.to_be_bytes());
    tcp[4..8].copy_from_slice(&seq.to_be_bytes());
    tcp[8..12].copy_from_slice(&ack.to_be_bytes());
    tcp[12] = 6 << 4;
    tcp[13] = flags;
    tcp[14..16].copy_from_slice(&65535u16.to_be_bytes());
    tcp[20..24].copy_from_slice(&[2, 4, 0x05, 0xb4]); // mss 1460
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&src);
    pseudo.extend_from_slice(&dst);
    pseudo.extend_from_slice(&[0, 6]);
    pseudo.extend_from_slice(&(tcp.len() as u16).to_be_bytes());
    pseudo.extend_from_slice(&tcp);
    let c = checksum(&pseudo);
    tcp[16..18].copy_from_slice(&c.to_be_bytes());

    let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 6, 0, 0];
    let total = (20 + tcp.len()) as u16;
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&src);
    ip.extend_from_slice(&dst);
    let c = checksum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    ip.extend_from_slice(&tcp);
    ip
}

fn checksum(bytes: &[u8]) -> u16 {
    let mut sum = 0u32;
    for chunk in bytes.chunks(2) {
        let word = u16::from_be_bytes([chunk[0], *chunk.get(1).unwrap_or(&0)]);
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[test]
fn artifacts_of_a_failed_attempt_open_in_tcpdump() {
    let run = fixture::run();
    let job = run
        .jobs
        .iter()
        .find(|j| j.verdict == netdrill::model::Verdict::Fail)
        .unwrap();
    let attempt = &job.attempts[0];
    let remote = [192, 0, 2, 1];
    let local = [192, 168, 0, 1];
    let t0: i128 = 1_754_007_003_000_000_000;
    let packets = vec![
        (
            PacketDirection::Injected,
            t0,
            ipv4_tcp(remote, local, 48123, 8080, 0, 0, 0x02),
        ),
        (
            PacketDirection::Sniffed,
            t0 + 105_000,
            ipv4_tcp(local, remote, 8080, 48123, 1_234_567, 1, 0x12),
        ),
        (
            PacketDirection::Injected,
            t0 + 100_000_000,
            ipv4_tcp(remote, local, 48123, 8080, 1, 1_234_568, 0x10),
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let folder = artifacts::write(dir.path(), job, attempt, &packets).unwrap();
    assert_eq!(
        folder,
        dir.path()
            .join("packetdrill/tcp_rcv_big_endseq.pkt/ipv4/attempt-1")
    );
    let out = Command::new("tcpdump")
        .args(["-nn", "-S", "-tt", "-r"])
        .arg(folder.join("packets.pcap"))
        .output()
        .expect("tcpdump runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("1754007003.000000 IP 192.0.2.1.48123 > 192.168.0.1.8080: Flags [S], seq 0, win 65535, options [mss 1460], length 0"), "{text}");
    assert!(lines[1].starts_with("1754007003.000105 IP 192.168.0.1.8080 > 192.0.2.1.48123: Flags [S.], seq 1234567, ack 1,"), "{text}");
    assert!(
        lines[2].starts_with(
            "1754007003.100000 IP 192.0.2.1.48123 > 192.168.0.1.8080: Flags [.], ack 1234568,"
        ),
        "{text}"
    );

    let log = std::fs::read_to_string(folder.join("log.txt")).unwrap();
    assert!(log.starts_with("tcp_rcv_big_endseq.pkt:41: error handling packet: timing error"));
    let side = std::fs::read_to_string(folder.join("expected-vs-actual.txt")).unwrap();
    assert!(side.contains("1.123623             ! 1.163846\n"), "{side}");
    assert!(
        side.contains("<TS val 200 ecr 100> ! <TS val 210 ecr 100>\n"),
        "{side}"
    );
    let list = std::fs::read_to_string(folder.join("packets.txt")).unwrap();
    assert!(
        list.contains("2  0.000105  sniffed (kernel -> script)  44\n"),
        "{list}"
    );
    let replay = std::fs::read_to_string(folder.join("replay.sh")).unwrap();
    assert!(replay.starts_with(
        "#!/bin/sh\n# Replays packetdrill/tcp_rcv_big_endseq.pkt (ipv4) alone; attempt 1 failed: "
    ));
    assert!(replay.ends_with(
        "\nnetdrill run tools/testing/selftests/net/packetdrill/tcp_rcv_big_endseq.pkt --ip-version ipv4\n"
    ));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(folder.join("replay.sh"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111);
    // A dry syntax check of the replay script.
    let sh = Command::new("sh")
        .arg("-n")
        .arg(folder.join("replay.sh"))
        .status()
        .unwrap();
    assert!(sh.success());
}

#[test]
fn groups_keep_discovery_order() {
    let run = fixture::run();
    let names: Vec<&str> = report::script_groups(&run)
        .iter()
        .map(|g| g.script)
        .collect();
    assert_eq!(
        names,
        [
            "tcp_inq_client.pkt",
            "tcp_rcv_big_endseq.pkt",
            "tcp_timestamping_partial.pkt",
            "tcp_md5_md5-only-on-client-ack.pkt",
            "tcp_accecn_2nd_data_as_first.pkt",
            "tcp_accecn_3rd_dups.pkt",
            "tcp_user_timeout_user-timeout-probe.pkt",
        ]
    );
}

/// NIPA's nested-result reading of kselftest output (conventions §2.4): after a line
/// `# TAP version `, lines keep their `# ` prefix removed until one lacks it; `ok` /
/// `not ok` lines give (namified description, pass/fail/skip by directive).
fn nipa_nested_results(output: &str) -> Vec<Vec<(String, &'static str)>> {
    let mut scripts = Vec::new();
    let mut current: Option<Vec<(String, &'static str)>> = None;
    for line in output.lines() {
        let inner = match (&mut current, line.strip_prefix("# ")) {
            (Some(_), Some(rest)) => rest,
            (Some(_), None) => {
                scripts.extend(current.take());
                continue;
            }
            (None, _) => {
                if line.starts_with("# TAP version ") {
                    current = Some(Vec::new());
                }
                continue;
            }
        };
        let (mut result, rest) = if let Some(r) = inner.strip_prefix("ok ") {
            ("pass", r)
        } else if let Some(r) = inner.strip_prefix("not ok ") {
            ("fail", r)
        } else {
            continue;
        };
        let rest = rest
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .trim_start();
        let (description, directive) = match rest.split_once('#') {
            Some((d, dir)) => (d.trim_end(), dir.trim_start()),
            None => (rest.trim_end(), ""),
        };
        if directive.to_lowercase().starts_with("skip") {
            result = "skip";
        }
        if let Some(v) = current.as_mut() {
            v.push((report::namify(description), result));
        }
    }
    scripts.extend(current);
    scripts
}

#[test]
fn nipa_reads_the_same_subtests_from_ktap_as_the_json_says() {
    let run = fixture::run();
    let from_text = nipa_nested_results(&ktap::render(&run));
    let doc = json::build(&run, false, &Options::default());
    let from_json: Vec<Vec<(String, &'static str)>> = doc
        .results
        .iter()
        .map(|t| {
            t.results
                .iter()
                .map(|s| {
                    // The text shows how a job ended: a retry's result when there was one.
                    let r = match s.retry.unwrap_or(s.result) {
                        json::NipaResult::Pass => "pass",
                        json::NipaResult::Fail => "fail",
                        json::NipaResult::Skip => "skip",
                        json::NipaResult::Warn => "warn",
                    };
                    (s.test.clone(), r)
                })
                .collect()
        })
        .collect();
    assert_eq!(from_text, from_json);
    assert_eq!(from_text.len(), 7);
}

/// `xmllint --schema` on a JUnit text: whether it validates, and what it said.
fn xmllint_jenkins(xml: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("junit.xml");
    std::fs::write(&file, xml).unwrap();
    let xsd = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ci/junit/junit-10.xsd");
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&xsd)
        .arg(&file)
        .output()
        .expect("xmllint runs (package libxml2-utils; .ci/run installs it)");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn strict_junit_validates_against_jenkins_junit_10_xsd() {
    let strict = Options {
        junit_strict: true,
        ..Options::default()
    };
    let mut run = fixture::run();
    let (ok, why) = xmllint_jenkins(&junit::render_with(&run, &strict));
    assert!(ok, "{why}");
    // A stopped run too: its jobs that did not run are errors.
    run.interrupted = Some(netdrill::model::StopSignal::Terminate);
    run.jobs[13].verdict = netdrill::model::Verdict::NotRun;
    run.jobs[13].attempts.clear();
    let xml = junit::render_with(&run, &strict);
    assert!(xml.contains("type=\"not-run\""), "{xml}");
    let (ok, why) = xmllint_jenkins(&xml);
    assert!(ok, "{why}");
    // The default form carries what the schema does not know (flaky timestamps,
    // testcase properties): the check can fail.
    let (ok, why) = xmllint_jenkins(&junit::render(&run));
    assert!(!ok, "the default form is not Jenkins' strict one");
    assert!(
        why.contains("not allowed") || why.contains("not expected"),
        "{why}"
    );
}

#[test]
fn junit_classnames_split_as_jenkins_splits_them() {
    assert_eq!(
        junit::classname("packetdrill", "tcp_inq_client.pkt"),
        "packetdrill.tcp_inq_client"
    );
    assert_eq!(junit::classname("v1.2", "a.b.pkt"), "v1_2.a_b");
    let xml = junit::render(&fixture::run());
    assert!(!xml.contains(".pkt\" "), "no classname ends in .pkt");
    // Every testcase has a time, a skipped one too.
    for case in xml.split("<testcase ").skip(1) {
        let head = case.split('>').next().unwrap();
        assert!(head.contains(" time=\""), "{head}");
    }
}
