//! `netdrill run` with its report flags, through the real binary: the reports
//! land where asked (`-` is stdout, and the progress display moves to stderr),
//! expected failures from `suite.toml` become XFAIL / XPASS, and failed attempts
//! leave artifacts.
//!
//! The scripts need no network: a `--dry_run` option line makes a script pass
//! after parsing, a syntax error makes it fail at a known line.

mod common;

use common::*;
use netdrill::report::json;
use std::path::{Path, PathBuf};

const PASS: &str = "--dry_run\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n";
const BAD: &str = "0 socket(..., SOCK_STREAM IPPROTO_TCP = 3\n";

/// `sbx/` with a passing and a failing script.
fn suite(root: &Path) -> PathBuf {
    let dir = root.join("sbx");
    write(&dir, "bad.pkt", BAD);
    write(&dir, "pass.pkt", PASS);
    dir
}

fn run(args: &[&str], state: &Path) -> (Option<i32>, String, String) {
    let mut all = vec!["run", "--no-progress"];
    all.extend_from_slice(args);
    let out = netdrill(&all, &new_tag("wiring"), state).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn reports_go_to_files_and_stdout() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = suite(tmp.path());
    // netdrill makes no folder for a report.
    std::fs::create_dir(tmp.path().join("out")).unwrap();
    let junit = tmp.path().join("out/junit.xml");
    let json_path = tmp.path().join("out/results.json");
    let (code, stdout, stderr) = run(
        &[
            dir.to_str().unwrap(),
            "--ktap",
            "-",
            "--junit",
            junit.to_str().unwrap(),
            "--json",
            json_path.to_str().unwrap(),
            "--json-full",
        ],
        tmp.path(),
    );
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    // stdout is the KTAP alone; the display went to stderr.
    assert!(
        stdout.starts_with("TAP version 13\n1..2\n# timeout set to 45\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\nnot ok 1 selftests: net/sbx: bad.pkt # exit=1\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\nok 2 selftests: net/sbx: pass.pkt\n"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("\n# Totals: pass:1 fail:1 xfail:0 xpass:0 skip:0 error:0\n"),
        "{stdout}"
    );
    assert!(!stdout.contains("running 4 jobs"), "{stdout}");
    assert!(stderr.contains("running 4 jobs"), "{stderr}");
    assert!(
        stderr.ends_with("2 passed, 2 failed, 0 skipped\n"),
        "{stderr}"
    );

    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<testcase ").count(), 4, "{xml}");
    assert_eq!(xml.matches("<failure ").count(), 2, "{xml}");
    assert!(
        xml.contains("bad.pkt:1: parse error at &apos;IPPROTO_TCP&apos;: syntax error"),
        "{xml}"
    );

    let doc = json::parse(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    assert_eq!(doc.results.len(), 2);
    assert_eq!(doc.results[0].test, "bad-pkt");
    assert_eq!(doc.results[0].result, json::NipaResult::Fail);
    assert_eq!(doc.results[1].result, json::NipaResult::Pass);
    assert!(doc.netdrill.is_some(), "--json-full adds the run's details");
}

#[test]
fn nested_ktap_and_plain_json() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = suite(tmp.path());
    let ktap = tmp.path().join("ktap.txt");
    let (code, stdout, stderr) = run(
        &[
            dir.to_str().unwrap(),
            "--filter",
            "pass.pkt",
            "--ktap",
            ktap.to_str().unwrap(),
            "--ktap-nested",
            "--json",
            "-",
        ],
        tmp.path(),
    );
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let text = std::fs::read_to_string(&ktap).unwrap();
    assert!(text.starts_with("KTAP version 1\n1..1\n"), "{text}");
    assert!(
        text.contains("\n  KTAP version 1\n  1..2\n  ok 1 ipv4\n"),
        "{text}"
    );
    let doc = json::parse(&stdout).unwrap();
    assert_eq!(doc.results.len(), 1);
    assert!(doc.netdrill.is_none(), "no --json-full");
    assert!(
        stderr.contains("1 passed") || stderr.contains("2 passed"),
        "{stderr}"
    );
}

#[test]
fn report_flags_are_checked_before_running() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = suite(tmp.path());
    let d = dir.to_str().unwrap();
    let (code, _, stderr) = run(&[d, "--ktap", "-", "--json", "-"], tmp.path());
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("--ktap, --json all write to stdout (`-`); at most one report can"),
        "{stderr}"
    );
    assert!(!stderr.contains("running"), "{stderr}");
    let (code, _, stderr) = run(&[d, "--ktap-nested"], tmp.path());
    assert_eq!(code, Some(2));
    assert!(stderr.contains("--ktap <FILE>"), "{stderr}");
    let (code, _, stderr) = run(&[d, "--json-full"], tmp.path());
    assert_eq!(code, Some(2));
    assert!(stderr.contains("--json <FILE>"), "{stderr}");
    let blocker = tmp.path().join("file");
    std::fs::write(&blocker, "").unwrap();
    let (code, _, stderr) = run(
        &[d, "--artifacts", blocker.join("art").to_str().unwrap()],
        tmp.path(),
    );
    // A folder that cannot be made: a setup error, said before anything runs.
    assert_eq!(code, Some(96));
    assert!(stderr.contains("netdrill: --artifacts "), "{stderr}");
    assert!(!stderr.contains("running"), "{stderr}");
}

#[test]
fn an_unwritable_report_is_an_error_after_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = suite(tmp.path());
    // A folder where the file should go: found only when it is written.
    let bad = tmp.path().join("junit.xml");
    std::fs::create_dir(&bad).unwrap();
    let ktap = tmp.path().join("ktap.txt");
    let (code, stdout, stderr) = run(
        &[
            dir.to_str().unwrap(),
            "--filter",
            "pass.pkt",
            "--junit",
            bad.to_str().unwrap(),
            "--ktap",
            ktap.to_str().unwrap(),
        ],
        tmp.path(),
    );
    // Not a test failure's status: nextest's "writing output failed".
    assert_eq!(code, Some(110), "{stdout}\n{stderr}");
    assert!(
        stderr.contains(&format!("netdrill: --junit {}", bad.display())),
        "{stderr}"
    );
    // The other report is still written.
    assert!(std::fs::read_to_string(&ktap)
        .unwrap()
        .starts_with("TAP version 13\n"));
}

/// A handshake, then a data segment with the wrong window: line 10 fails.
const HANDSHAKE_THEN_MISMATCH: &str = "\
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 < S 0:0(0) win 20000 <mss 1000,sackOK,nop,nop>
+0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK>
+.01 < . 1:1(0) ack 1 win 20000
+0 accept(3, ..., ...) = 4
+0 write(4, ..., 10) = 10
+0 > P. 1:11(10) ack 1 win 999
";

#[test]
fn failed_attempts_leave_artifacts_with_a_pcap_of_the_handshake() {
    support_root();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("art");
    write(&dir, "mismatch.pkt", HANDSHAKE_THEN_MISMATCH);
    write(&dir, "pass.pkt", PASS);
    let artifacts = tmp.path().join("artifacts");
    let json_path = tmp.path().join("full.json");
    let (code, stdout, stderr) = run(
        &[
            dir.to_str().unwrap(),
            "--ip-versions",
            "ipv4",
            "--artifacts",
            artifacts.to_str().unwrap(),
            "--json",
            json_path.to_str().unwrap(),
            "--json-full",
        ],
        tmp.path(),
    );
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    let folder = artifacts.join("art/mismatch.pkt/ipv4/attempt-1");
    for f in ["log.txt", "packets.pcap", "packets.txt", "replay.sh"] {
        assert!(
            folder.join(f).is_file(),
            "{f} missing in {}",
            folder.display()
        );
    }
    // Only failed attempts have artifacts.
    assert!(!artifacts.join("art/pass.pkt").exists());
    let log = std::fs::read_to_string(folder.join("log.txt")).unwrap();
    assert!(log.contains("mismatch.pkt:10: "), "{log}");
    let side = std::fs::read_to_string(folder.join("expected-vs-actual.txt")).unwrap();
    assert!(side.contains("\nwin 999       ! win "), "{side}");
    let replay = std::fs::read_to_string(folder.join("replay.sh")).unwrap();
    assert!(replay.contains("--ip-versions ipv4"), "{replay}");

    let dump = std::process::Command::new("tcpdump")
        .args(["-n", "-r"])
        .arg(folder.join("packets.pcap"))
        .output()
        .expect("tcpdump runs");
    assert!(dump.status.success(), "{dump:?}");
    let dump = String::from_utf8_lossy(&dump.stdout);
    let tcp: Vec<&str> = dump.lines().filter(|l| l.contains(".8080")).collect();
    let has = |from: &str, flags: &str| {
        tcp.iter()
            .any(|l| l.contains(&format!("IP {from}.")) && l.contains(&format!("Flags [{flags}],")))
    };
    assert!(has("192.0.2.1", "S"), "no SYN in:\n{dump}");
    assert!(has("192.168.0.1", "S."), "no SYN-ACK in:\n{dump}");
    assert!(has("192.0.2.1", "."), "no ACK in:\n{dump}");
    assert!(has("192.168.0.1", "P."), "no data segment in:\n{dump}");
    // One clock, microseconds as declared, time order: the SYN-ACK (the kernel's
    // timestamp) never comes before the SYN that caused it (its injection).
    let pcap = std::fs::read(folder.join("packets.pcap")).unwrap();
    assert_eq!(
        &pcap[..4],
        &0xa1b2_c3d4u32.to_le_bytes(),
        "a microsecond pcap"
    );
    let mut times = Vec::new();
    let mut at = 24;
    while at + 16 <= pcap.len() {
        let word = |i: usize| u32::from_le_bytes(pcap[at + i..at + i + 4].try_into().unwrap());
        assert!(word(4) < 1_000_000, "microseconds: {}", word(4));
        times.push(u64::from(word(0)) * 1_000_000 + u64::from(word(4)));
        at += 16 + word(8) as usize;
    }
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}\n{dump}");
    let syn = tcp
        .iter()
        .position(|l| l.contains("IP 192.0.2.1.") && l.contains("Flags [S],"))
        .unwrap();
    let syn_ack = tcp
        .iter()
        .position(|l| l.contains("IP 192.168.0.1.") && l.contains("Flags [S.],"))
        .unwrap();
    assert!(syn < syn_ack, "{dump}");

    // The record names the folder.
    let doc = json::parse(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    let job = doc
        .results
        .iter()
        .find(|t| t.test == "mismatch-pkt")
        .unwrap();
    let attempt = &job.results[0].netdrill.as_ref().unwrap().attempts[0];
    assert_eq!(attempt.artifacts.as_deref(), Some(folder.as_path()));
}

/// The artifacts test runs real scripts: it needs root, and says so.
fn support_root() {
    // SAFETY: geteuid has no preconditions.
    assert!(
        unsafe { libc::geteuid() } == 0,
        "this test runs scripts in network namespaces: run it as root"
    );
}

#[test]
fn suite_toml_expectations_give_xfail_and_xpass_without_retrying_expected_failures() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = suite(tmp.path());
    write(
        &dir,
        "suite.toml",
        r#"
[[xfail]]
script = "bad.pkt"
reason = "known parse error"

[[xfail]]
script = "pass.pkt"
reason = "fails on ipv6"
ip_version = "ipv6"

[[xfail]]
script = "*"
reason = "only on ancient kernels"
kernel = "<2"
"#,
    );
    let json_path = tmp.path().join("full.json");
    let (code, stdout, stderr) = run(
        &[
            dir.to_str().unwrap(),
            "--retries",
            "2",
            "--ktap",
            "-",
            "--json",
            json_path.to_str().unwrap(),
            "--json-full",
        ],
        tmp.path(),
    );
    // An unexpected pass fails the run.
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("\n# ok 1 ipv4 # XFAIL known parse error\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\nok 1 selftests: net/sbx: bad.pkt # XFAIL\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\n# not ok 2 ipv6 # XPASS expected to fail: fails on ipv6\n"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("\n# Totals: pass:0 fail:0 xfail:1 xpass:1 skip:0 error:0\n"),
        "{stdout}"
    );
    let doc = json::parse(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    let mut seen = Vec::new();
    for t in &doc.results {
        for s in &t.results {
            let d = s.netdrill.as_ref().unwrap();
            seen.push(format!(
                "{} {} {:?} attempts={} {}",
                t.test,
                s.test,
                d.verdict,
                d.attempts.len(),
                d.xfail_reason.as_deref().unwrap_or("-")
            ));
        }
    }
    assert_eq!(
        seen,
        [
            "bad-pkt ipv4 Xfail attempts=1 known parse error",
            "bad-pkt ipv6 Xfail attempts=1 known parse error",
            "pass-pkt ipv4 Pass attempts=1 -",
            "pass-pkt ipv6 Xpass attempts=1 fails on ipv6",
        ]
    );
}

#[test]
fn check_parses_without_running_and_takes_defines() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = suite(tmp.path());
    let check = |args: &[&str]| {
        let mut all = vec!["check"];
        all.extend_from_slice(args);
        let out = netdrill(&all, &new_tag("check"), tmp.path())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stdout, stderr) = check(&[dir.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert_eq!(stdout, "2 scripts checked: 1 ok, 1 failed\n");
    assert!(stderr.contains("bad.pkt:1:"), "{stderr}");
    let (code, stdout, _) = check(&[dir.join("pass.pkt").to_str().unwrap()]);
    assert_eq!(
        (code, stdout.as_str()),
        (Some(0), "1 script checked: 1 ok, 0 failed\n")
    );
    // A symbol the script needs, given with -D as packetdrill takes it.
    write(
        &dir,
        "tfo.pkt",
        "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 < S 0:0(0) win 100 <FO TFO_COOKIE,nop,nop>\n",
    );
    let tfo = dir.join("tfo.pkt");
    // Without -D, the kernel runner's defines apply (TFO_COOKIE among them).
    let (code, _, stderr) = check(&[tfo.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{stderr}");
    // With -D, only what is given: a bad cookie fails, a good one passes.
    let (code, _, stderr) = check(&["-D", "TFO_COOKIE=xyz", tfo.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{stderr}");
    let (code, _, stderr) = check(&["-D", "TFO_COOKIE=3021b9d889017eeb", tfo.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{stderr}");
    let (code, _, stderr) = check(&["-D", "TFO_COOKIE", tfo.to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert_eq!(
        stderr,
        "netdrill check: -D TFO_COOKIE: expected NAME=VALUE\n"
    );
}

/// `ci/bench.sh` (run by hand on the kernel suite) runs and prints its tables; a
/// quick round on scripts whose verdicts are fixed.
#[test]
fn bench_script_prints_its_figures() {
    support_root();
    let tmp = tempfile::tempdir().unwrap();
    let dir = suite(tmp.path());
    let bench = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ci/bench.sh");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&bench).unwrap().permissions().mode();
    assert_eq!(mode & 0o111, 0o111, "ci/bench.sh is executable");
    let keep = tmp.path().join("runs");
    let out = std::process::Command::new(&bench)
        .args([
            "--rounds",
            "1",
            "--high-jobs",
            "3",
            "--netdrill",
            BIN,
            "--suite",
        ])
        .arg(&dir)
        .arg("--keep")
        .arg(&keep)
        .env_remove("KSFT_MACHINE_SLOW")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // No job runs a second or more: the CPU target cannot be judged, so it is
    // missed.
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    for needle in [
        "\n(a) one job at a time (-j 1)\n",
        "\n  jobs                       4\n",
        "\n  verdicts                   2 fail, 2 pass\n",
        "\n(b) wall time at the default -j (",
        "\n(c) failures over the rounds (a job failing at -j 1 too",
        "\n(d) CPU and memory\n",
        "\n  peak memory of one job (-j 1) ",
        "\n  runner's own peak (default -j) ",
        "\n(f) jobs whose verdict differs between -j 1 and the default -j: none\n",
        // bad.pkt fails alone too: not a failure that parallelism caused.
        "\n  0 failures over the default -j rounds (jobs passing at -j 1)  yes  0 in 1 rounds\n",
        "\n  no verdict differs between -j 1 and the default -j            yes  0 jobs\n",
    ] {
        assert!(stdout.contains(needle), "{needle:?} missing in:\n{stdout}");
    }
    // -j 3: 3 at once, 1 round, bad.pkt's 2 jobs failed (as at -j 1), none
    // differs from -j 1.
    let row: Vec<&str> = stdout
        .lines()
        .find(|l| l.starts_with("  -j 3 "))
        .unwrap_or_else(|| panic!("no -j 3 row in:\n{stdout}"))
        .split_whitespace()
        .collect();
    assert_eq!(
        row[..14],
        ["-j", "3", "3", "1", "2", "(2..2", "a", "run)", "0", "(0..0", "a", "run)", "0", "0"]
    );
    for run in ["j1", "default-1", "j3-1"] {
        let doc = std::fs::read_to_string(keep.join(format!("{run}.json"))).unwrap();
        assert_eq!(json::parse(&doc).unwrap().results.len(), 2);
    }
    // A binary that is not there is a usage error, not a traceback.
    let out = std::process::Command::new(&bench)
        .args([
            "--rounds",
            "1",
            "--netdrill",
            "/nonexistent/netdrill",
            "--suite",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("ci/bench.sh: /nonexistent/netdrill: No such file or directory"),
        "{stderr}"
    );
}
