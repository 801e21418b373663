//! Discovery: which jobs `netdrill run` makes from folders, files and globs, with
//! the kernel runner's IP versions, and what `--list` prints.

mod common;

use common::*;
use std::path::Path;

/// A small tree of suites:
/// alpha/ (settings timeout=100; suite.toml xfails b), alpha/nested/beta/, gamma/.
fn tree(root: &Path) {
    let body = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n";
    write(root, "alpha/settings", "timeout=100\n");
    write(
        root,
        "alpha/suite.toml",
        "[[xfail]]\nscript = \"b_*.pkt\"\nreason = \"known to fail here\"\n",
    );
    write(root, "alpha/a_plain.pkt", body);
    write(
        root,
        "alpha/b_pinned6.pkt",
        &format!("--ip_version=ipv6\n{body}"),
    );
    write(
        root,
        "alpha/c_two_pins.pkt",
        &format!("--ip_version=ipv4\n--ip_version=ipv6\n{body}"),
    );
    write(root, "alpha/notes.txt", "not a script\n");
    write(root, "alpha/nested/beta/d.pkt", body);
    write(
        root,
        "gamma/suite.toml",
        "ip_versions = [\"ipv4-mapped-ipv6\"]\n",
    );
    write(root, "gamma/e.pkt", body);
}

fn list(args: &[&str]) -> (i32, String, String) {
    let state = tempfile::tempdir().unwrap();
    let mut full = vec!["run", "--list"];
    full.extend_from_slice(args);
    let out = netdrill(&full, &new_tag("list"), state.path())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn list_whole_tree() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let (code, stdout, stderr) = list(&[dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    insta::assert_snapshot!("list_whole_tree", stdout);
}

#[test]
fn list_with_ip_versions_and_filters() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let root = dir.path().to_str().unwrap();
    let (code, stdout, stderr) = list(&[root, "--ip-versions", "ipv4,ipv4-mapped-ipv6"]);
    assert_eq!(code, 0, "{stderr}");
    insta::assert_snapshot!("list_ip_versions", stdout);

    let (_, stdout, _) = list(&[root, "--filter", "ipv6"]);
    insta::assert_snapshot!("list_filter_substring", stdout);

    let (_, stdout, _) = list(&[
        root,
        "--filter",
        "/^alpha/[ab]_.* ipv4$/",
        "--filter",
        "d.pkt",
    ]);
    insta::assert_snapshot!("list_filter_regex", stdout);
}

#[test]
fn list_files_and_globs() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let root = dir.path().to_str().unwrap();
    let glob = format!("{root}/alpha/[ab]*.pkt");
    let file = format!("{root}/gamma/e.pkt");
    // The same script twice (by glob and by folder) is listed once.
    let again = format!("{root}/alpha/a_plain.pkt");
    let (code, stdout, stderr) = list(&[&glob, &file, &again]);
    assert_eq!(code, 0, "{stderr}");
    insta::assert_snapshot!("list_files_and_globs", stdout);
}

#[test]
fn bad_paths_and_flags_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let root = dir.path().to_str().unwrap();
    let missing = format!("{root}/nope");
    let (code, _, stderr) = list(&[&missing]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("nope: no such file or directory"),
        "{stderr}"
    );

    let (code, _, stderr) = list(&[&format!("{root}/*.nothing")]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no file matches"), "{stderr}");

    let (code, _, stderr) = list(&[root, "--ip-versions", "ipv5"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("unknown IP version `ipv5`"), "{stderr}");

    let (code, _, stderr) = list(&[root, "--filter", "/(/"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("bad regular expression"), "{stderr}");

    write(dir.path(), "alpha/suite.toml", "timeout = \"soon\"\n");
    let (code, _, stderr) = list(&[root]);
    assert_eq!(code, 2);
    assert!(stderr.contains("suite.toml"), "{stderr}");
}

#[test]
fn kernel_suite_jobs() {
    // The kernel's suite: 159 scripts, four pin one IP version: 314 jobs.
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/kselftest");
    if !corpus.is_dir() {
        eprintln!("skipped: {} is absent", corpus.display());
        return;
    }
    let (code, stdout, stderr) = list(&[corpus.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 314);
    assert!(lines.contains(&"kselftest/tcp_advmss_pmtu_ipv6.pkt ipv6"));
    assert!(!lines.contains(&"kselftest/tcp_advmss_pmtu_ipv6.pkt ipv4"));
    assert!(lines.iter().all(|l| !l.contains("(error")));
}

#[test]
fn timeouts_sysctls_and_args_per_job() {
    use netdrill::discover::{discover, DiscoverOptions};
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    write(dir.path(), "gamma/settings", "timeout=0\n");
    write(
        dir.path(),
        "gamma/suite.toml",
        "[sysctls]\n\"net.ipv4.tcp_ecn\" = 1\n",
    );
    let jobs = discover(&[dir.path().to_path_buf()], &DiscoverOptions::default()).unwrap();
    let find = |name: &str| jobs.iter().find(|j| j.full_name() == name).unwrap();
    // alpha/settings: timeout=100; beta has none: kselftest's 45; gamma: 0 = none.
    assert_eq!(
        find("alpha/a_plain.pkt ipv4").timeout,
        Some(Duration::from_secs(100))
    );
    assert_eq!(
        find("beta/d.pkt ipv6").timeout,
        Some(Duration::from_secs(45))
    );
    let e = find("gamma/e.pkt ipv4");
    assert_eq!(e.timeout, None);
    assert_eq!(
        e.sysctls,
        [("net.ipv4.tcp_ecn".to_string(), "1".to_string())]
    );
    assert!(find("beta/d.pkt ipv6")
        .args
        .contains(&"--mtu=1520".to_string()));
    assert_eq!(find("beta/d.pkt ipv6").file_name, "d.pkt");
    // --timeout wins over the suite's files.
    let opts = DiscoverOptions {
        timeout_override: Some(Some(Duration::from_secs(7))),
        machine_slow: true,
        ..DiscoverOptions::default()
    };
    let jobs = discover(&[dir.path().join("gamma")], &opts).unwrap();
    assert_eq!(jobs[0].timeout, Some(Duration::from_secs(7)));
    // KSFT_MACHINE_SLOW: the kernel runner's tolerance, and failures tolerated
    // (a pass stays a pass).
    assert_eq!(jobs[0].args.last().unwrap(), "--tolerance_usecs=14000");
    assert_eq!(
        jobs[0].xfail.as_ref().map(|x| x.expectation),
        Some(netdrill::model::Expectation::MayFail)
    );
    // A suite entry without `when_slow`/`flaky` says the failure is certain.
    let jobs = discover(&[dir.path().join("alpha")], &DiscoverOptions::default()).unwrap();
    let b = jobs.iter().find(|j| j.id.script.starts_with("b_")).unwrap();
    assert_eq!(
        b.xfail.as_ref().map(|x| x.expectation),
        Some(netdrill::model::Expectation::Fails)
    );
}

/// Run `netdrill ARGS`, killed after `limit`: (exit status, stdout), or `None`
/// when it was still running.
fn bounded(args: &[&str], limit: std::time::Duration) -> Option<(i32, String)> {
    use std::io::Read;
    let mut child = netdrill(args, &new_tag("loop"), Path::new("/nonexistent"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let end = std::time::Instant::now() + limit;
    while std::time::Instant::now() < end {
        if let Some(status) = child.try_wait().unwrap() {
            let mut out = String::new();
            child
                .stdout
                .take()
                .unwrap()
                .read_to_string(&mut out)
                .unwrap();
            return Some((status.code().unwrap_or(-1), out));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// Symbolic links that loop (`up -> ..`, `here -> .`) end the walk: each
/// folder is walked once, so each script is found once.
#[test]
fn symlink_loops_end_and_count_each_script_once() {
    let tmp = tempfile::tempdir().unwrap();
    let l = tmp.path().join("L");
    write(
        &l,
        "ok.pkt",
        "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n",
    );
    std::fs::create_dir_all(l.join("a")).unwrap();
    std::os::unix::fs::symlink("..", l.join("a/up")).unwrap();
    std::os::unix::fs::symlink(".", l.join("a/here")).unwrap();
    let s = tmp.path().join("S");
    write(
        &s,
        "one.pkt",
        "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n",
    );
    std::os::unix::fs::symlink(".", s.join("self")).unwrap();
    let limit = std::time::Duration::from_secs(20);
    let (code, out) = bounded(&["run", l.to_str().unwrap(), "--list"], limit)
        .expect("`netdrill run L --list` never ended");
    assert_eq!(code, 0);
    assert_eq!(out, "L/ok.pkt ipv4\nL/ok.pkt ipv6\n");
    let (code, out) =
        bounded(&["check", l.to_str().unwrap()], limit).expect("`netdrill check L` never ended");
    assert_eq!(
        (code, out.as_str()),
        (0, "1 script checked: 1 ok, 0 failed\n")
    );
    let (code, out) = bounded(&["run", s.to_str().unwrap(), "--list"], limit).unwrap();
    assert_eq!(
        (code, out.as_str()),
        (0, "S/one.pkt ipv4\nS/one.pkt ipv6\n")
    );
}
