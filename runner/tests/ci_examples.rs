//! The examples in `ci/` are exercised here: each script runs against a stand-in
//! `netdrill` (a shell script that records its arguments and writes reports our own
//! renderers made from the fixed run), so their own logic (arguments, paths, exit
//! statuses, NIPA naming) is checked without a kernel under test. The tests at the
//! end check the same command lines against the real binary's CLI.

mod fixture;

use netdrill::model::RunRecord;
use netdrill::report::{json, junit, ktap};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("runner/ is inside the repository")
        .to_path_buf()
}

fn ci(path: &str) -> PathBuf {
    repo().join("ci").join(path)
}

/// A stand-in netdrill in `dir`: records its arguments one per line in `args.txt`,
/// copies reports rendered from `run` where it is asked to write them, exits `rc`.
fn stub(dir: &Path, run: &RunRecord, rc: i32) -> PathBuf {
    fs::write(dir.join("stub.ktap"), ktap::render(run)).unwrap();
    fs::write(dir.join("stub.junit"), junit::render(run)).unwrap();
    fs::write(dir.join("stub.json"), json::render(run, true)).unwrap();
    let script = format!(
        r#"#!/bin/sh
if [ "$1" = report ]; then
	printf '%s\n' "$@" > '{d}/report-args.txt'
	while [ $# -gt 0 ]; do
		case "$1" in
		--html) echo '<!DOCTYPE html>' > "$2"; shift ;;
		--summary=*) echo '# netdrill: no regressions' > "${{1#--summary=}}" ;;
		esac
		shift
	done
	exit 0
fi
printf '%s\n' "$@" > '{d}/args.txt'
while [ $# -gt 0 ]; do
	case "$1" in
	--ktap) cp '{d}/stub.ktap' "$2"; shift ;;
	--junit) cp '{d}/stub.junit' "$2"; shift ;;
	--json) cp '{d}/stub.json' "$2"; shift ;;
	--artifacts) mkdir -p "$2"; shift ;;
	esac
	shift
done
exit {rc}
"#,
        d = dir.display()
    );
    let path = dir.join("netdrill");
    fs::write(&path, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn recorded_args(dir: &Path) -> Vec<String> {
    fs::read_to_string(dir.join("args.txt"))
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

/// A kernel tree with just the packetdrill selftests folder.
fn fake_tree(dir: &Path) -> PathBuf {
    let tree = dir.join("linux");
    fs::create_dir_all(tree.join("tools/testing/selftests/net/packetdrill")).unwrap();
    tree
}

fn nipa_exec(dir: &Path, run: &RunRecord, rc: i32) -> (Output, PathBuf) {
    let netdrill = stub(dir, run, rc);
    let tree = fake_tree(dir);
    let results = dir.join("results/29243");
    let out = Command::new(ci("nipa/netdrill-exec.sh"))
        .current_dir(&tree)
        .env("NETDRILL", &netdrill)
        .env("RESULTS_DIR", &results)
        .env("BRANCH", "net-next-2025-08-01--00-00")
        .env("BASE", "/srv/nipa/base")
        .env("NETDRILL_LINK", "https://runner.example/nipa/results/29243")
        .env_remove("NETDRILL_ARGS")
        .output()
        .unwrap();
    (out, results)
}

#[test]
fn nipa_executor_runs_the_tree_suite_and_names_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let run = fixture::run();
    let (out, results) = nipa_exec(dir.path(), &run, 1);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let r = results.display();
    // netdrill itself names the executor and the branch in the run file, and
    // links it: no post-processing.
    assert_eq!(
        recorded_args(dir.path()),
        [
            "run".to_string(),
            "tools/testing/selftests/net/packetdrill".into(),
            "--ktap".into(),
            format!("{r}/ktap.txt"),
            "--junit".into(),
            format!("{r}/junit.xml"),
            "--json".into(),
            format!("{r}/results.json"),
            "--artifacts".into(),
            format!("{r}/artifacts"),
            "--executor".into(),
            "netdrill-packetdrill".into(),
            "--branch".into(),
            "net-next-2025-08-01--00-00".into(),
            "--link".into(),
            "https://runner.example/nipa/results/29243".into(),
        ]
    );
    // NIPA keeps stdout: the kselftest-shaped TAP is in it.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("TAP version 13\n1..7\n"), "{stdout}");
    let doc = json::parse(&fs::read_to_string(results.join("results.json")).unwrap()).unwrap();
    assert_eq!(doc.results.len(), 7);
    assert!(results.join("junit.xml").is_file());
    assert!(results.join("artifacts").is_dir());
}

#[test]
fn nipa_executor_maps_netdrills_status() {
    let run = fixture::run();
    for (netdrill, nipa) in [
        (0, 0),
        (4, 4),
        (1, 1),
        (130, 1),
        (143, 1),
        (110, 1),
        (96, 1),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (out, _) = nipa_exec(dir.path(), &run, netdrill);
        assert_eq!(
            out.status.code(),
            Some(nipa),
            "netdrill {netdrill}: {out:?}"
        );
    }
}

#[test]
fn nipa_config_has_what_exec_py_reads() {
    let script = r#"
import configparser, sys
c = configparser.ConfigParser()
assert c.read(sys.argv[1]), "unreadable"
for section, key in [("executor", "name"), ("executor", "group"), ("executor", "test"),
                     ("bin", "exec"), ("remote", "branches"), ("local", "base_path"),
                     ("local", "json_path"), ("local", "results_path"), ("local", "tree_path"),
                     ("www", "url")]:
    c.get(section, key)
print(c.get("executor", "group"), c.get("bin", "exec").split("/")[-1], c.getint("life", "poll_ival"))
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(ci("nipa/remote.config"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let fields: Vec<&str> = text.split_whitespace().collect();
    // The group is what NIPA's kselftest executors call this target.
    assert_eq!(fields[0], "selftests-net-packetdrill");
    assert!(ci("nipa").join(fields[1]).is_file(), "{text}");
    assert_eq!(fields[2], "60");
}

#[test]
fn nightly_keeps_every_report_and_netdrills_status() {
    let dir = tempfile::tempdir().unwrap();
    let run = fixture::run();
    let netdrill = stub(dir.path(), &run, 1);
    let out_dir = dir.path().join("nightly/2025-08-01");
    let suite = fake_tree(dir.path()).join("tools/testing/selftests/net/packetdrill");
    let out = Command::new(ci("nightly/nightly.sh"))
        .arg(&suite)
        .env("NETDRILL", &netdrill)
        .env("OUT", &out_dir)
        .env("NIGHTLY_ARGS", "-j 2")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let o = out_dir.display();
    let h = dir.path().join("nightly").display().to_string();
    assert_eq!(
        recorded_args(dir.path()),
        [
            "run".to_string(),
            suite.display().to_string(),
            "--retries".into(),
            "1".into(),
            "--ktap".into(),
            format!("{o}/ktap.txt"),
            "--junit".into(),
            format!("{o}/junit.xml"),
            "--json".into(),
            format!("{o}/results.json"),
            "--json-full".into(),
            "--artifacts".into(),
            format!("{o}/artifacts"),
            "--record".into(),
            format!("{h}/history"),
            "-j".into(),
            "2".into(),
        ]
    );
    // Then the history's page and digest, this run's included.
    assert_eq!(
        fs::read_to_string(dir.path().join("report-args.txt"))
            .unwrap()
            .lines()
            .collect::<Vec<_>>(),
        [
            "report".to_string(),
            format!("{h}/history"),
            "--html".into(),
            format!("{h}/index.html"),
            format!("--summary={o}/digest.md"),
        ]
    );
    assert!(dir.path().join("nightly/index.html").is_file());
    assert!(String::from_utf8_lossy(&out.stdout).contains("# netdrill: no regressions"));
    assert_eq!(
        fs::read_to_string(out_dir.join("exit-status")).unwrap(),
        "1\n"
    );
    for f in ["ktap.txt", "junit.xml", "results.json"] {
        assert!(out_dir.join(f).is_file(), "{f}");
    }
    let doc = json::parse(&fs::read_to_string(out_dir.join("results.json")).unwrap()).unwrap();
    assert!(doc.netdrill.is_some(), "the nightly JSON is the full one");
}

#[test]
fn nightly_without_a_suite_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let netdrill = stub(dir.path(), &fixture::run(), 0);
    // Copy the script where no suites/ folder is beside it.
    let lone = dir.path().join("x/ci/nightly");
    fs::create_dir_all(&lone).unwrap();
    fs::copy(ci("nightly/nightly.sh"), lone.join("nightly.sh")).unwrap();
    let out = Command::new("sh")
        .arg(lone.join("nightly.sh"))
        .env("NETDRILL", &netdrill)
        .env("KERNEL_TREE", dir.path().join("no-such-tree"))
        .env("OUT", dir.path().join("out"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no suite found"));
}

#[test]
fn install_as_packetdrill_links_netdrill() {
    let dir = tempfile::tempdir().unwrap();
    let netdrill = stub(dir.path(), &fixture::run(), 0);
    let bin = dir.path().join("bin");
    let out = Command::new(ci("kselftest/install-as-packetdrill.sh"))
        .arg(&bin)
        .env("NETDRILL", &netdrill)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(fs::read_link(bin.join("packetdrill")).unwrap(), netdrill);

    let out = Command::new(ci("kselftest/install-as-packetdrill.sh"))
        .arg(dir.path().join("other"))
        .env("NETDRILL", dir.path().join("missing"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(!dir.path().join("other").exists());

    // A real packetdrill there is left alone, as `netdrill install-as-packetdrill` does.
    let real = dir.path().join("real");
    fs::create_dir_all(&real).unwrap();
    fs::write(real.join("packetdrill"), "binary").unwrap();
    let out = Command::new(ci("kselftest/install-as-packetdrill.sh"))
        .arg(&real)
        .env("NETDRILL", &netdrill)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        fs::read_to_string(real.join("packetdrill")).unwrap(),
        "binary"
    );
}

#[test]
fn run_kselftest_uses_the_tree_and_a_private_shim() {
    let dir = tempfile::tempdir().unwrap();
    let netdrill = stub(dir.path(), &fixture::run(), 0);
    let tree = fake_tree(dir.path());
    let out = Command::new(ci("kselftest/run-kselftest.sh"))
        .arg(&tree)
        .arg("-j2")
        .env("NETDRILL", &netdrill)
        .env("DRY_RUN", "1")
        .env("TMPDIR", dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "make -C {}/tools/testing/selftests TARGETS=net/packetdrill -j2 run_tests\n",
            tree.display()
        )
    );
    // The shim folder is gone afterwards.
    let left: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("netdrill-shim"))
        .collect();
    assert!(left.is_empty());

    let out = Command::new(ci("kselftest/run-kselftest.sh"))
        .arg(dir.path().join("not-a-tree"))
        .env("NETDRILL", &netdrill)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn shell_examples_parse() {
    for s in [
        "kselftest/install-as-packetdrill.sh",
        "kselftest/run-kselftest.sh",
        "nipa/netdrill-exec.sh",
        "nipa/netdrill_executor.py",
        "nightly/nightly.sh",
    ] {
        let status = if s.ends_with(".py") {
            let code = format!("import ast; ast.parse(open({:?}).read())", ci(s));
            Command::new("python3")
                .arg("-c")
                .arg(code)
                .status()
                .unwrap()
        } else {
            Command::new("sh").arg("-n").arg(ci(s)).status().unwrap()
        };
        assert!(status.success(), "{s}");
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(ci(s)).unwrap().permissions().mode();
        assert_eq!(mode & 0o111, 0o111, "{s} is executable");
    }
}

/// Every `netdrill run` flag the examples use, against the real binary's help.
#[test]
fn example_flags_exist_in_the_real_cli() {
    let out = Command::new(env!("CARGO_BIN_EXE_netdrill"))
        .args(["run", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--ktap",
        "--ktap-nested",
        "--junit",
        "--json",
        "--json-full",
        "--artifacts",
        "--record",
        "--retries",
        "--executor",
        "--branch",
        "--link",
    ] {
        assert!(
            help.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .any(|w| w == flag),
            "`netdrill run --help` lacks {flag}:\n{help}"
        );
    }
}

/// Invoked as `packetdrill` (the name install-as-packetdrill.sh gives it) or as
/// `netdrill packetdrill`, netdrill answers as packetdrill does.
#[test]
fn the_real_binary_answers_as_packetdrill() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("packetdrill");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_netdrill"), &link).unwrap();
    for mut cmd in [Command::new(&link), {
        let mut c = Command::new(env!("CARGO_BIN_EXE_netdrill"));
        c.arg("packetdrill");
        c
    }] {
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.starts_with("error: missing script path\nUsage: packetdrill\n"),
            "{err}"
        );
    }
    let out = Command::new(&link)
        .arg("--mss=x")
        .arg("a.pkt")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Command Line: bad --mss: x\n"
    );
}

/// The nightly example end to end with the real binary: a passing founding
/// script and one broken on purpose, every report written, a pcap for the
/// failure, netdrill's exit status kept.
#[test]
fn nightly_with_the_real_netdrill() {
    // SAFETY: geteuid has no preconditions.
    assert!(
        unsafe { libc::geteuid() } == 0,
        "runs scripts against the kernel: needs root (CI runs tests as root)"
    );
    let dir = tempfile::tempdir().unwrap();
    let suite = dir.path().join("nightly-suite");
    fs::create_dir_all(&suite).unwrap();
    let seed = repo().join("../shared/corpus/seed");
    let broken = repo().join("suites/broken");
    for (from, name) in [
        (&seed, "defaults.sh"),
        (&seed, "set_sysctls.py"),
        (&seed, "tcp_sendfile_sendfile-simple.pkt"),
        (&broken, "tcp_sendfile_sendfile-simple__wrong-flag.pkt"),
    ] {
        fs::copy(from.join(name), suite.join(name)).unwrap();
    }
    let out_dir = dir.path().join("out");
    let out = Command::new(ci("nightly/nightly.sh"))
        .arg(&suite)
        .env("NETDRILL", env!("CARGO_BIN_EXE_netdrill"))
        .env("OUT", &out_dir)
        .env("NIGHTLY_ARGS", "-j 2 --ip-versions ipv4")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        fs::read_to_string(out_dir.join("exit-status")).unwrap(),
        "1\n"
    );
    let ktap = fs::read_to_string(out_dir.join("ktap.txt")).unwrap();
    assert!(ktap.starts_with("TAP version 13\n1..2\n"), "{ktap}");
    assert!(ktap.contains("\nok "), "{ktap}");
    assert!(ktap.contains("\nnot ok "), "{ktap}");
    let junit = fs::read_to_string(out_dir.join("junit.xml")).unwrap();
    assert!(junit.contains("live packet field tcp_"), "{junit}");
    let doc = json::parse(&fs::read_to_string(out_dir.join("results.json")).unwrap()).unwrap();
    assert_eq!(doc.results.len(), 2);
    let pcaps: Vec<_> = walk(&out_dir.join("artifacts"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "pcap"))
        .collect();
    assert_eq!(
        pcaps.len(),
        2,
        "one failed attempt and its retry: {pcaps:?}"
    );
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}
