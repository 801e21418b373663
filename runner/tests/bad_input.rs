//! Input that is huge, hostile or odd gets a clear error or is shown safely,
//! never a panic or a hang: huge timeouts and rates, names that are not UTF-8,
//! control bytes and megabyte lines from scripts, report paths in folders
//! that do not exist, and an open-file limit smaller than `-j` needs.

mod common;

use common::*;
use std::os::unix::ffi::OsStrExt;

const BODY: &str = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n";

fn output(cmd: &mut std::process::Command) -> (Option<i32>, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn huge_timeouts_and_rates_are_usage_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("s");
    write(&dir, "a.pkt", BODY);
    let d = dir.to_str().unwrap();
    let tag = new_tag("huge");
    let usage = |args: &[&str], env: Option<&str>, expected: &str| {
        let mut cmd = netdrill(args, &tag, tmp.path());
        if let Some(v) = env {
            cmd.env("kselftest_override_timeout", v);
        }
        let (code, stdout, stderr) = output(&mut cmd);
        assert_eq!(code, Some(2), "{args:?}: {stdout}{stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    };
    usage(
        &["run", d, "--timeout", "9223372036854775807"],
        None,
        "netdrill: --timeout 9223372036854775807: at most 604800 seconds",
    );
    usage(
        &["run", d],
        Some("18446744073709551615"),
        "netdrill: kselftest_override_timeout=18446744073709551615: at most 604800 seconds",
    );
    usage(&["run", d, "--start-rate", "1e-300"], None, "at least 0.01");
    write(&dir, "suite.toml", "timeout = 18446744073709551615\n");
    usage(
        &["run", d],
        None,
        "suite.toml: timeout = 18446744073709551615: at most 604800 seconds",
    );
    std::fs::remove_file(dir.join("suite.toml")).unwrap();
    write(&dir, "settings", "timeout=18446744073709551615\n");
    usage(
        &["run", d],
        None,
        "settings: line 1: timeout=18446744073709551615: at most 604800 seconds",
    );
}

#[test]
fn names_that_are_not_utf8_are_named_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("s");
    std::fs::create_dir_all(&dir).unwrap();
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9.pkt");
    let script = dir.join(name);
    std::fs::write(&script, BODY).unwrap();
    let tag = new_tag("utf8");
    let mut cmd = netdrill(&[], &tag, tmp.path());
    cmd.args([
        std::ffi::OsStr::new("run"),
        script.as_os_str(),
        std::ffi::OsStr::new("--list"),
    ]);
    let (code, stdout, stderr) = output(&mut cmd);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("No such file"), "{stderr}");
    assert!(
        stdout.starts_with("s/caf\\xe9.pkt ipv4 (error: the path "),
        "{stdout}"
    );
    assert!(stdout.contains("caf\\xe9.pkt is not UTF-8"), "{stdout}");
    // `check` reads it: the name reaches the file.
    let mut cmd = netdrill(&[], &tag, tmp.path());
    cmd.arg("check").arg(&script);
    let (code, stdout, stderr) = output(&mut cmd);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert_eq!(stdout, "1 script checked: 1 ok, 0 failed\n");
    // A missing one is said missing, named exactly.
    let mut cmd = netdrill(&[], &tag, tmp.path());
    cmd.arg("run")
        .arg(dir.join(std::ffi::OsStr::from_bytes(b"n\xffpe.pkt")));
    let (code, _, stderr) = output(&mut cmd);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("n\\xffpe.pkt: no such file or directory"),
        "{stderr}"
    );
}

#[test]
fn report_folders_are_made_only_when_asked() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("s");
    write(&dir, "a.pkt", BODY);
    let d = dir.to_str().unwrap();
    let tag = new_tag("json-dir");
    let missing = tmp.path().join("nonexistent");
    for flag in ["--json", "--junit", "--ktap"] {
        let report = missing.join("dir/r.json");
        let (code, _, stderr) = output(&mut netdrill(
            &["run", d, flag, report.to_str().unwrap()],
            &tag,
            tmp.path(),
        ));
        assert_eq!(code, Some(2), "{stderr}");
        assert!(
            stderr.contains(&format!("{flag} {}: no folder", report.display())),
            "{stderr}"
        );
        assert!(!missing.exists(), "{flag} made {}", missing.display());
    }
    let (code, _, stderr) = output(&mut netdrill(
        &[
            "run",
            d,
            "--artifacts",
            missing.join("art").to_str().unwrap(),
        ],
        &tag,
        tmp.path(),
    ));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("to make it in"), "{stderr}");
    assert!(!missing.exists());
}

/// Control bytes a script carries into its failure message, and a line of
/// 100,000 characters, reach neither the terminal nor the KTAP as they are.
#[test]
fn control_bytes_and_huge_lines_are_escaped_and_cut() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("s");
    write(
        &dir,
        "esc.pkt",
        &format!("{BODY}+0 `exit 1 # \x1b[2J\x1b]0;owned\x07`\n"),
    );
    // As long as a command line may be (128 KiB).
    let long = "y".repeat(100_000);
    write(&dir, "long.pkt", &format!("{BODY}+0 `exit 1 # {long}`\n"));
    let tag = new_tag("ctrl");
    let d = dir.to_str().unwrap();
    let ktap = tmp.path().join("out.ktap");
    let (code, stdout, stderr) = output(&mut netdrill(
        &[
            "run",
            d,
            "--no-progress",
            "--ip-versions",
            "ipv4",
            "--ktap",
            ktap.to_str().unwrap(),
        ],
        &tag,
        tmp.path(),
    ));
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    let ktap = std::fs::read_to_string(ktap).unwrap();
    for (what, text) in [("stdout", &stdout), ("stderr", &stderr), ("ktap", &ktap)] {
        assert!(
            !text
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t'),
            "{what} has control characters"
        );
        let longest = text.lines().map(str::len).max().unwrap_or(0);
        assert!(longest < 2000, "{what} has a line of {longest} bytes");
    }
    assert!(stdout.contains("\\x1b[2J\\x1b]0;owned\\x07"), "{stdout}");
    assert!(stdout.contains("more characters]"), "{stdout}");
}

/// With an open-file limit of 64 and `-j 64`, every job still runs: `-j` is
/// fitted to the limit. (Each job lasts a second, so that many would run at
/// once.)
#[test]
fn jobs_fit_a_small_open_file_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("many");
    for i in 0..40 {
        write(
            &dir,
            &format!("s{i:02}.pkt"),
            &format!("{BODY}+0 `sleep 1`\n"),
        );
    }
    let tag = new_tag("nofile");
    let before = HostSnapshot::take();
    let script = format!(
        "ulimit -n 64 && exec '{BIN}' run '{}' -j 64 --ip-versions ipv4 --no-progress",
        dir.display()
    );
    let mut cmd = std::process::Command::new("sh");
    cmd.args(["-c", &script])
        .env(TAG_VAR, &tag)
        .env("XDG_STATE_HOME", tmp.path())
        .env_remove("kselftest_override_timeout")
        .env_remove("KSFT_MACHINE_SLOW");
    let (code, stdout, stderr) = output(&mut cmd);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.ends_with("\n40 passed, 0 failed, 0 skipped\n"),
        "{stdout}"
    );
    assert!(
        stderr.contains("the open-file limit (64, `ulimit -n`) leaves room for 10 jobs at once"),
        "{stderr}"
    );
    assert_nothing_left(&tag, &before);
}
