//! The job sandbox and the runner's process handling: isolation, timeouts,
//! crashes, Ctrl-C, a killed runner, and that the host is left as it was.
//!
//! Hangs and crashes use the job child's testing hook (`NETDRILL_TESTING_SIMULATE`,
//! documented in `runner/src/job.rs`) until the engine can run a script whose
//! command hangs; `real_hang_is_killed_at_its_timeout` is that real case.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const BODY: &str = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n";

fn scripts(root: &Path, names: &[&str]) -> PathBuf {
    let dir = root.join("sbx");
    for n in names {
        write(&dir, n, BODY);
    }
    dir
}

fn spawn_run(dir: &Path, extra: &[&str], simulate: Option<&str>, tag: &str, state: &Path) -> Child {
    let mut args = vec!["run", dir.to_str().unwrap(), "--no-progress"];
    args.extend_from_slice(extra);
    let mut cmd = netdrill(&args, tag, state);
    if let Some(s) = simulate {
        cmd.env("NETDRILL_TESTING_SIMULATE", s);
    }
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(child: Child) -> (Option<i32>, String, String) {
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn signal(child: &Child, sig: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), sig).unwrap();
}

fn read(path: impl AsRef<Path>) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn job_sandbox_is_isolated() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = scripts(tmp.path(), &["iso.pkt"]);
    let host_ecn: u32 = read("/proc/sys/net/ipv4/tcp_ecn").trim().parse().unwrap();
    let job_ecn = if host_ecn == 1 { 0 } else { 1 };
    write(
        &dir,
        "suite.toml",
        &format!("[sysctls]\n\"net.ipv4.tcp_ecn\" = {job_ecn}\n"),
    );
    let before = HostSnapshot::take();
    let tag = new_tag("iso");
    let runner = spawn_run(
        &dir,
        &["--ip-versions", "ipv4", "--timeout", "60"],
        Some("hang:iso.pkt"),
        &tag,
        tmp.path(),
    );
    assert!(
        wait_for(Duration::from_secs(20), || !tagged_with_cmdline(
            &tag, "sleep"
        )
        .is_empty()),
        "the simulated hang never started"
    );
    let pid = tagged_with_cmdline(&tag, "sleep")[0];
    let ns = |p: &str, kind: &str| std::fs::read_link(format!("/proc/{p}/ns/{kind}")).unwrap();
    for kind in ["net", "mnt", "pid"] {
        assert_ne!(
            ns(&pid.to_string(), kind),
            ns("self", kind),
            "{kind} namespace shared with the host"
        );
    }
    // PID 3 or so inside, another PID outside.
    let status = read(format!("/proc/{pid}/status"));
    let nspid = status.lines().find(|l| l.starts_with("NSpid:")).unwrap();
    assert_eq!(nspid.split_whitespace().count(), 3, "{nspid}");
    // The suite's sysctl inside, the host's untouched.
    let netns = format!("--net=/proc/{pid}/ns/net");
    let inside = std::process::Command::new("nsenter")
        .args([netns.as_str(), "cat", "/proc/sys/net/ipv4/tcp_ecn"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&inside.stdout).trim(),
        job_ecn.to_string()
    );
    assert_eq!(
        read("/proc/sys/net/ipv4/tcp_ecn").trim(),
        host_ecn.to_string()
    );
    // lo is up inside.
    let lo = std::process::Command::new("nsenter")
        .args([netns.as_str(), "ip", "-o", "link", "show", "lo"])
        .output()
        .unwrap();
    let lo = String::from_utf8_lossy(&lo.stdout);
    assert!(lo.contains(",UP"), "lo inside the job: {lo}");
    // A private tmpfs on /tmp inside; the script's folder as working directory.
    let mounts = read(format!("/proc/{pid}/mountinfo"));
    assert!(
        mounts
            .lines()
            .any(|l| l.split(' ').nth(4) == Some("/tmp") && l.contains(" - tmpfs ")),
        "{mounts}"
    );
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/cwd")).unwrap(),
        std::fs::canonicalize(&dir).unwrap()
    );
    signal(&runner, nix::sys::signal::Signal::SIGINT);
    let (code, _, _) = finish(runner);
    assert_eq!(code, Some(130));
    assert_nothing_left(&tag, &before);
}

#[test]
fn hanging_job_is_killed_at_its_timeout() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = scripts(tmp.path(), &["a.pkt", "hang.pkt", "z.pkt"]);
    let before = HostSnapshot::take();
    let tag = new_tag("hang");
    let started = Instant::now();
    let runner = spawn_run(
        &dir,
        &["--timeout", "2", "-j", "2"],
        Some("hang:hang.pkt ipv4"),
        &tag,
        tmp.path(),
    );
    let (code, stdout, stderr) = finish(runner);
    let took = started.elapsed();
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    // Timed out after 2 s (plus at most the grace before SIGKILL), naming the last line.
    let line = stdout
        .lines()
        .find(|l| l.starts_with("TIMEOUT hang.pkt ipv4 ("))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        line.ends_with("hang.pkt:3: timed out after 2 seconds (the last event started on line 3)"),
        "{line}"
    );
    assert!(took < Duration::from_secs(20), "took {took:?}");
    // The rest of the suite finished, and passed.
    for job in [
        "a.pkt ipv4",
        "a.pkt ipv6",
        "hang.pkt ipv6",
        "z.pkt ipv4",
        "z.pkt ipv6",
    ] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(&format!("ok {job} ("))),
            "{job} missing:\n{stdout}"
        );
    }
    assert!(stdout.contains("hang.pkt:3 (ipv4, timeout)"), "{stdout}");
    assert_nothing_left(&tag, &before);
}

#[test]
fn crashing_job_is_an_error_and_nothing_else_is_affected() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = scripts(tmp.path(), &["a.pkt", "boom.pkt"]);
    let before = HostSnapshot::take();
    let tag = new_tag("crash");
    let runner = spawn_run(
        &dir,
        &["-j", "4"],
        Some("crash:boom.pkt ipv6"),
        &tag,
        tmp.path(),
    );
    let (code, stdout, stderr) = finish(runner);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("ERROR boom.pkt ipv6 ("))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        line.contains(
            "the job process died without a result after starting line 1 (exit status 101)"
        ) && line.contains("simulated crash"),
        "{line}"
    );
    for job in ["a.pkt ipv4", "a.pkt ipv6", "boom.pkt ipv4"] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(&format!("ok {job} ("))),
            "{job}:\n{stdout}"
        );
    }
    assert_nothing_left(&tag, &before);
}

/// Start a run whose jobs all hang, and wait until two are running.
fn hanging_run(tag: &str, tmp: &Path) -> Child {
    let dir = scripts(tmp, &["h1.pkt", "h2.pkt", "h3.pkt"]);
    let runner = spawn_run(
        &dir,
        &["-j", "2", "--timeout", "60"],
        Some("hang:"),
        tag,
        tmp,
    );
    assert!(
        wait_for(Duration::from_secs(20), || tagged_with_cmdline(
            tag, "sleep"
        )
        .len()
            == 2),
        "the hanging jobs never started"
    );
    runner
}

#[test]
fn sigint_stops_the_run_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let before = HostSnapshot::take();
    let tag = new_tag("sigint");
    let runner = hanging_run(&tag, tmp.path());
    let t = Instant::now();
    signal(&runner, nix::sys::signal::Signal::SIGINT);
    let (code, stdout, _) = finish(runner);
    assert_eq!(code, Some(130), "{stdout}");
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "took {:?}",
        t.elapsed()
    );
    assert!(stdout.contains("interrupted"), "{stdout}");
    assert!(
        stdout.ends_with("\n0 passed, 0 failed, 0 skipped\n"),
        "{stdout}"
    );
    assert_nothing_left(&tag, &before);
}

#[test]
fn sigkill_of_the_runner_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let before = HostSnapshot::take();
    let tag = new_tag("sigkill");
    let runner = hanging_run(&tag, tmp.path());
    signal(&runner, nix::sys::signal::Signal::SIGKILL);
    let (code, _, _) = finish(runner);
    assert_eq!(code, None, "killed by a signal");
    assert_nothing_left(&tag, &before);
}

#[test]
fn real_hang_is_killed_at_its_timeout() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("real");
    write(&dir, "sleepy.pkt", &format!("`sleep 100`\n{BODY}"));
    write(&dir, "other.pkt", BODY);
    let before = HostSnapshot::take();
    let tag = new_tag("real-hang");
    let runner = spawn_run(
        &dir,
        &["--timeout", "2", "--ip-versions", "ipv4"],
        None,
        &tag,
        tmp.path(),
    );
    let (code, stdout, stderr) = finish(runner);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("TIMEOUT sleepy.pkt ipv4 (")
                && l.contains("sleepy.pkt:1: timed out after 2 seconds")),
        "{stdout}"
    );
    assert!(stdout.lines().any(|l| l.starts_with("FAIL other.pkt ipv4 (") || l.starts_with("ok other.pkt ipv4 (")), "{stdout}");
    assert_nothing_left(&tag, &before);
}

#[test]
fn exec_refuses_the_host_namespace() {
    let tmp = tempfile::tempdir().unwrap();
    let script = write(tmp.path(), "x.pkt", BODY);
    let tag = new_tag("exec");
    let out = netdrill(
        &["exec", "--ip_version=ipv4", script.to_str().unwrap()],
        &tag,
        tmp.path(),
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    if netdrill_engine::run::in_initial_netns() {
        assert!(
            stderr.contains("refusing to run in the host's network namespace"),
            "{stderr}"
        );
        assert!(stderr.contains("unshare -n netdrill exec"), "{stderr}");
    }
    // In a namespace of its own it runs the script, which passes.
    let out = std::process::Command::new("unshare")
        .args([
            "-n",
            common::BIN,
            "exec",
            "--ip_version=ipv4",
            script.to_str().unwrap(),
        ])
        .env(TAG_VAR, &tag)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("refusing"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    // Bad flags are reported as packetdrill would.
    let out = netdrill(&["exec", "--no_such_flag", "x.pkt"], &tag, tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unrecognized option '--no_such_flag'"));
}
