//! Reports of real runs that end badly or oddly, through the real binary:
//! `KSFT_MACHINE_SLOW` as the kernel's `ksft_runner.sh` means it, a run killed
//! by SIGKILL halfway (the reports on disk are whole and list what did not
//! run), a run stopped by SIGTERM (incomplete in every format, exit 143), the
//! exit statuses, and the command line's small things (`1 job`, colour,
//! completions, the man page, install-as-packetdrill).
//!
//! Scripts with `--dry_run` pass after parsing; a syntax error fails at line 1;
//! the slow scripts hold a socket open for a while in the job's namespace.

mod common;

use common::*;
use netdrill::report::json;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const PASS: &str = "--dry_run\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n";
const BAD: &str = "0 socket(..., SOCK_STREAM IPPROTO_TCP = 3\n";

/// A script that keeps its job busy for `secs` seconds, then passes (with a
/// tolerance no busy machine misses).
fn slow(secs: f64) -> String {
    format!(
        "--tolerance_usecs=500000\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+{secs} close(3) = 0\n"
    )
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Perl's TAP::Parser on a TAP text: `planned run passed failed bailed` and
/// the parse errors, one a line.
fn tap_parser(tap: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("run.tap");
    std::fs::write(&file, tap).unwrap();
    let script = r#"
use TAP::Parser;
open(my $fh, '<', $ARGV[0]) or die;
my $tap = do { local $/; <$fh> };
my $p = TAP::Parser->new({ tap => $tap });
my $bailed = 0;
while (my $r = $p->next) { $bailed = 1 if $r->is_bailout; }
printf "planned=%d run=%d passed=%d failed=%d bailed=%d\n",
    $p->tests_planned, $p->tests_run, scalar($p->passed), scalar($p->failed), $bailed;
print "$_\n" for $p->parse_errors;
"#;
    let out = Command::new("perl")
        .arg("-e")
        .arg(script)
        .arg(&file)
        .output()
        .expect("perl runs");
    assert!(out.status.success(), "{}", text(&out).1);
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn ksft_machine_slow_keeps_passes_ok_and_makes_failures_xfail() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("slow");
    write(&dir, "bad.pkt", BAD);
    write(&dir, "pass.pkt", PASS);
    let json_path = tmp.path().join("r.json");
    let args = [
        "run",
        "--no-progress",
        dir.to_str().unwrap(),
        "--ktap",
        "-",
        "--json",
        json_path.to_str().unwrap(),
        "--json-full",
    ];
    let out = netdrill(&args, &new_tag("slow"), tmp.path())
        .env("KSFT_MACHINE_SLOW", "yes")
        .output()
        .unwrap();
    let (ktap, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{ktap}\n{stderr}");
    // A failure is an expected failure; a pass stays a plain pass.
    assert!(
        ktap.contains("\nok 1 selftests: net/slow: bad.pkt # XFAIL\n"),
        "{ktap}"
    );
    assert!(
        ktap.contains(
            "\n# ok 1 ipv4 # XFAIL KSFT_MACHINE_SLOW: failures are expected on a slow machine\n"
        ),
        "{ktap}"
    );
    assert!(
        ktap.contains("\n# ok 1 ipv4\n# ok 2 ipv6\n# # Totals: pass:2 fail:0 xfail:0 xpass:0 skip:0 error:0\nok 2 selftests: net/slow: pass.pkt\n"),
        "{ktap}"
    );
    assert!(!ktap.contains("XPASS"), "{ktap}");
    assert!(
        ktap.ends_with("# Totals: pass:1 fail:0 xfail:1 xpass:0 skip:0 error:0\n"),
        "{ktap}"
    );
    // ... with the kernel runner's tolerance.
    let doc = json::parse(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    let args = &doc.results[1].results[0].netdrill.as_ref().unwrap().args;
    assert!(
        args.contains(&"--tolerance_usecs=14000".to_string()),
        "{args:?}"
    );

    // Without the variable the failure is a failure.
    let out = netdrill(&args_of(&dir), &new_tag("fast"), tmp.path())
        .output()
        .unwrap();
    let (ktap, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{ktap}\n{stderr}");
    assert!(
        ktap.contains("\nnot ok 1 selftests: net/slow: bad.pkt # exit=1\n"),
        "{ktap}"
    );
}

fn args_of(dir: &Path) -> Vec<&str> {
    vec!["run", "--no-progress", dir.to_str().unwrap(), "--ktap", "-"]
}

#[test]
fn suite_xfails_turn_a_pass_into_xpass_only_when_certain() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("expect");
    write(&dir, "certain.pkt", PASS);
    write(&dir, "racy.pkt", PASS);
    write(&dir, "flaky.pkt", BAD);
    write(
        &dir,
        "suite.toml",
        "[[xfail]]\nscript = \"certain.pkt\"\nreason = \"the kernel lacks it\"\n\n\
         [[xfail]]\nscript = \"racy.pkt\"\nreason = \"late timers on debug kernels\"\nwhen_slow = true\n\n\
         [[xfail]]\nscript = \"flaky.pkt\"\nreason = \"races\"\nflaky = true\n",
    );
    let out = netdrill(&args_of(&dir), &new_tag("expect"), tmp.path())
        .env("KSFT_MACHINE_SLOW", "1")
        .output()
        .unwrap();
    let (ktap, stderr) = text(&out);
    // The certain expectation that passed fails the run.
    assert_eq!(out.status.code(), Some(1), "{ktap}\n{stderr}");
    assert!(
        ktap.contains("\nnot ok 1 selftests: net/expect: certain.pkt # exit=3\n"),
        "{ktap}"
    );
    assert!(
        ktap.contains("# not ok 1 ipv4 # XPASS expected to fail: the kernel lacks it\n"),
        "{ktap}"
    );
    // A possible failure that passed is a pass; one that failed is XFAIL.
    assert!(
        ktap.contains("\nok 2 selftests: net/expect: flaky.pkt # XFAIL\n"),
        "{ktap}"
    );
    assert!(
        ktap.contains("\nok 3 selftests: net/expect: racy.pkt\n"),
        "{ktap}"
    );
}

/// A suite of `n` slow scripts, `s0.pkt`...
fn slow_suite(root: &Path, name: &str, n: usize, secs: f64) -> PathBuf {
    let dir = root.join(name);
    for i in 0..n {
        write(&dir, &format!("s{i}.pkt"), &slow(secs));
    }
    dir
}

/// How many jobs the full JSON at `path` says finished (and how many it lists).
fn finished_jobs(path: &Path) -> Option<(usize, usize)> {
    let doc = json::parse(&std::fs::read_to_string(path).ok()?).ok()?;
    let jobs: Vec<_> = doc.results.iter().flat_map(|t| t.results.iter()).collect();
    let done = jobs
        .iter()
        .filter(|j| {
            j.netdrill
                .as_ref()
                .is_some_and(|d| d.verdict != netdrill::model::Verdict::NotRun)
        })
        .count();
    Some((done, jobs.len()))
}

/// JUnit read by Python: `cases errors not_run`.
fn junit_counts(path: &Path) -> String {
    let script = r#"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
cases = root.findall('.//testcase')
not_run = [c for c in cases if c.find('error') is not None and c.find('error').get('type') == 'not-run']
print(len(cases), root.get('errors'), len(not_run))
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out).1);
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn a_run_killed_halfway_leaves_whole_reports_of_what_finished() {
    let before = HostSnapshot::take();
    let tmp = tempfile::tempdir().unwrap();
    let dir = slow_suite(tmp.path(), "kill", 6, 1.0);
    let out_dir = tmp.path().join("out");
    // netdrill makes no folder for a report.
    std::fs::create_dir(&out_dir).unwrap();
    let (ktap, junit, json_path) = (
        out_dir.join("ktap.txt"),
        out_dir.join("junit.xml"),
        out_dir.join("results.json"),
    );
    let tag = new_tag("sigkill");
    let mut runner = netdrill(
        &[
            "run",
            "--no-progress",
            "-j",
            "2",
            dir.to_str().unwrap(),
            "--ktap",
            ktap.to_str().unwrap(),
            "--junit",
            junit.to_str().unwrap(),
            "--json",
            json_path.to_str().unwrap(),
            "--json-full",
        ],
        &tag,
        tmp.path(),
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    // Halfway: some jobs finished (the JSON on disk says so), some did not.
    let halfway = wait_for(Duration::from_secs(60), || {
        finished_jobs(&json_path).is_some_and(|(done, _)| done >= 4)
    });
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(runner.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    runner.wait().unwrap();
    assert!(halfway, "four jobs never finished");
    let (done, listed) = finished_jobs(&json_path).unwrap();
    assert_eq!(listed, 12, "every job is listed");
    assert!(done < 12, "killed halfway, not at the end ({done} done)");

    let doc = json::parse(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    assert!(doc.incomplete, "the JSON says the run did not finish");
    assert!(doc.results.iter().any(|t| t.not_run));
    assert_eq!(doc.results.len(), 6);
    // Scripts whose every job finished, by the JSON.
    let complete: Vec<String> = doc
        .results
        .iter()
        .filter(|t| !t.not_run)
        .map(|t| t.test.clone())
        .collect();

    // The KTAP on disk is a valid TAP prefix: the plan of every script, then
    // whole script blocks, each finished script among them.
    let tap = std::fs::read_to_string(&ktap).unwrap();
    assert!(tap.starts_with("TAP version 13\n1..6\n"), "{tap}");
    let counts = tap_parser(&tap);
    let first = counts.lines().next().unwrap();
    assert!(first.starts_with("planned=6 run="), "{counts}");
    assert!(first.ends_with(" bailed=0"), "{counts}");
    let run: usize = first.split(' ').nth(1).unwrap()[4..].parse().unwrap();
    assert!(run >= complete.len(), "{counts}\n{tap}");
    // The only complaint: fewer tests than planned.
    assert_eq!(
        counts.lines().skip(1).collect::<Vec<_>>(),
        [format!("Bad plan.  You planned 6 tests but ran {run}.")],
        "{tap}"
    );
    // (A script may fail on a busy machine: it finished all the same.)
    let results: Vec<&str> = tap
        .lines()
        .filter(|l| l.starts_with("ok ") || l.starts_with("not ok "))
        .collect();
    for t in &complete {
        let name = format!(" selftests: net/kill: {}.pkt", t.trim_end_matches("-pkt"));
        assert!(
            results
                .iter()
                .any(|l| l.ends_with(&name) || l.contains(&format!("{name} #"))),
            "{name} finished but is not in the KTAP:\n{tap}"
        );
    }

    // The JUnit on disk: every job, those that did not finish as not-run errors.
    assert_eq!(
        junit_counts(&junit),
        format!("12 {} {}", 12 - done, 12 - done)
    );
    assert_nothing_left(&tag, &before);
}

#[test]
fn a_run_stopped_by_sigterm_reads_as_incomplete_everywhere() {
    let before = HostSnapshot::take();
    let tmp = tempfile::tempdir().unwrap();
    let dir = slow_suite(tmp.path(), "term", 5, 1.0);
    let junit = tmp.path().join("junit.xml");
    let json_path = tmp.path().join("results.json");
    let tag = new_tag("sigterm");
    let runner = netdrill(
        &[
            "run",
            "--no-progress",
            "-j",
            "2",
            dir.to_str().unwrap(),
            "--ktap",
            "-",
            "--junit",
            junit.to_str().unwrap(),
            "--json",
            json_path.to_str().unwrap(),
            "--json-full",
        ],
        &tag,
        tmp.path(),
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let halfway = wait_for(Duration::from_secs(60), || {
        finished_jobs(&json_path).is_some_and(|(done, _)| done >= 2)
    });
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(runner.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let out = runner.wait_with_output().unwrap();
    assert!(halfway);
    let (ktap, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(143), "{ktap}\n{stderr}");

    // KTAP: the plan keeps every script, each has a result line, those that
    // did not finish say so, and the run bails out.
    assert!(ktap.starts_with("TAP version 13\n1..5\n"), "{ktap}");
    assert_eq!(
        ktap.matches("\nok ").count() + ktap.matches("\nnot ok ").count(),
        5,
        "{ktap}"
    );
    assert!(
        ktap.contains(" # ERROR not run: the run was stopped by SIGTERM\n"),
        "{ktap}"
    );
    assert!(
        ktap.ends_with(
            "Bail out! run stopped by SIGTERM: scripts that did not finish are reported as not run\n"
        ),
        "{ktap}"
    );
    let counts = tap_parser(&ktap);
    assert!(counts.starts_with("planned=5 run=5 "), "{counts}");
    assert!(counts.contains(" bailed=1"), "{counts}");
    assert!(
        !counts.contains(" failed=0 "),
        "an incomplete run is not green: {counts}"
    );

    // JSON: marked, and the jobs that did not run are listed as such.
    let doc = json::parse(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    assert!(doc.incomplete);
    assert_eq!(doc.interrupted.as_deref(), Some("SIGTERM"));
    assert_eq!(doc.results.len(), 5);
    let (done, listed) = finished_jobs(&json_path).unwrap();
    assert_eq!(listed, 10);
    assert!(done < 10);
    // JUnit: an error for each job that did not run.
    assert_eq!(
        junit_counts(&junit),
        format!("10 {} {}", 10 - done, 10 - done)
    );
    assert!(stderr.contains("Interrupted by SIGTERM"), "{stderr}");
    assert_nothing_left(&tag, &before);
}

#[test]
fn exit_statuses_for_skips_empty_selections_and_usage() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("skip");
    write(&dir, "v6.pkt", &format!("--ip_version=ipv6\n{PASS}"));
    let d = dir.to_str().unwrap();
    let status = |args: &[&str]| {
        let mut all = vec!["run", "--no-progress"];
        all.extend_from_slice(args);
        let out = netdrill(&all, &new_tag("codes"), tmp.path())
            .output()
            .unwrap();
        (out.status.code(), text(&out).1)
    };
    // Every job skipped: kselftest's skip.
    let (code, stderr) = status(&[d, "--ip-versions", "ipv4"]);
    assert_eq!(code, Some(4), "{stderr}");
    // No job selected: nextest's "no tests run", the same 4.
    let (code, stderr) = status(&[d, "--filter", "no-such-script"]);
    assert_eq!(code, Some(4), "{stderr}");
    assert!(stderr.contains("no jobs"), "{stderr}");
    // Usage errors: 2.
    let (code, _) = status(&[d, "--color", "sometimes"]);
    assert_eq!(code, Some(2));
    let (code, _) = status(&[d, "--link", "https://x"]);
    assert_eq!(code, Some(2), "--link needs --json");
    let (code, _) = status(&["/no/such/dir"]);
    assert_eq!(code, Some(2));
}

#[test]
fn one_job_colour_and_no_color() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("one");
    write(&dir, "a.pkt", &format!("--ip_version=ipv4\n{PASS}"));
    let run = |extra: &[&str], no_color: Option<&str>| {
        let mut args = vec!["run", "--no-progress", dir.to_str().unwrap()];
        args.extend_from_slice(extra);
        let mut c = netdrill(&args, &new_tag("colour"), tmp.path());
        match no_color {
            Some(v) => c.env("NO_COLOR", v),
            None => c.env_remove("NO_COLOR"),
        };
        let out = c.output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        text(&out).0
    };
    let plain = run(&[], None);
    assert!(plain.starts_with("running 1 job, "), "{plain}");
    assert!(plain.contains("\nok a.pkt ipv4 ("), "{plain}");
    assert!(plain.contains("\nran 1 job in "), "{plain}");
    assert!(!plain.contains('\u{1b}'), "not a terminal: no colour");
    let coloured = run(&["--color", "always"], Some("1"));
    assert!(
        coloured.contains("\n\u{1b}[32mok\u{1b}[0m a.pkt ipv4 ("),
        "{coloured:?}"
    );
    let never = run(&["--color", "never"], None);
    assert!(!never.contains('\u{1b}'));
    let quiet = run(&["-q"], None);
    assert!(!quiet.contains("ok a.pkt"), "{quiet}");
    assert!(
        quiet.ends_with("1 passed, 0 failed, 0 skipped\n"),
        "{quiet}"
    );
}

#[test]
fn completions_man_page_and_install_as_packetdrill() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let bash = text(&out).0;
    assert!(
        bash.contains("install-as-packetdrill") && bash.contains("--junit-schema"),
        "{bash}"
    );
    let out = Command::new(BIN)
        .args(["completions", "zsh"])
        .output()
        .unwrap();
    assert!(out.status.success() && text(&out).0.contains("#compdef netdrill"));
    let out = Command::new(BIN).arg("man").output().unwrap();
    assert!(out.status.success());
    let man = text(&out).0;
    assert!(man.contains(".TH netdrill"), "{man}");
    assert!(
        man.contains("KSFT_MACHINE_SLOW"),
        "the man page names the environment"
    );
    assert!(man.contains("143"), "the man page names the exit statuses");

    let bin = tmp.path().join("bin");
    let out = Command::new(BIN)
        .args(["install-as-packetdrill", bin.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let link = bin.join("packetdrill");
    assert_eq!(
        std::fs::canonicalize(&link).unwrap(),
        std::fs::canonicalize(BIN).unwrap()
    );
    // What ksft_runner.sh then finds on PATH is packetdrill.
    let out = Command::new(&link).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).1.starts_with("error: missing script path\n"));
}
