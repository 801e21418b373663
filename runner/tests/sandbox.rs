//! The job sandbox and the runner's process handling: isolation, timeouts,
//! crashes, Ctrl-C, a killed runner, floods of output, and that the host is
//! left as it was.
//!
//! Hangs are real scripts whose command sleeps (`exec sleep 100`, so that the
//! sleeping process is the command itself). A script cannot crash its job
//! process (the engine is PID 1 of the job's PID namespace, which no process
//! inside may kill), so crashes and floods come from a job executable the test
//! writes: a shell script given as `job_exe` that stands in for the job child
//! of some jobs and hands the others to the real one.

mod common;

use common::*;
use netdrill::discover::{discover, DiscoverOptions};
use netdrill::driver::{self, ScheduleSettings};
use netdrill::model::{FailureKind, JobRecord, RunRecord, StopSignal, Verdict};
use netdrill::signals::{NoSignals, SignalSource};
use netdrill_engine::IpVersion;
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

/// A script that hangs at its line 1 (plus `before` lines in front).
fn hanging(before: &str) -> String {
    format!("{before}`exec sleep 100`\n{BODY}")
}

/// The tagged `sleep` processes: the hanging commands.
fn sleeping(tag: &str) -> Vec<u32> {
    tagged_with_cmdline(tag, "sleep 100")
        .into_iter()
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c.starts_with(b"sleep\0"))
        })
        .collect()
}

fn spawn_run(dir: &Path, extra: &[&str], tag: &str, state: &Path) -> Child {
    let mut args = vec!["run", dir.to_str().unwrap(), "--no-progress"];
    args.extend_from_slice(extra);
    let mut cmd = netdrill(&args, tag, state);
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
    let dir = tmp.path().join("sbx");
    write(&dir, "iso.pkt", &hanging(""));
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
        &tag,
        tmp.path(),
    );
    assert!(
        wait_for(Duration::from_secs(20), || !sleeping(&tag).is_empty()),
        "the hanging command never started"
    );
    let pid = sleeping(&tag)[0];
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
    let dir = scripts(tmp.path(), &["a.pkt", "z.pkt"]);
    // Pinned to ipv4, reaching line 3, where it hangs.
    write(
        &dir,
        "hang.pkt",
        "--ip_version=ipv4\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 `exec sleep 100`\n",
    );
    let before = HostSnapshot::take();
    let tag = new_tag("hang");
    let started = Instant::now();
    let runner = spawn_run(&dir, &["--timeout", "2", "-j", "2"], &tag, tmp.path());
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
    for job in ["a.pkt ipv4", "a.pkt ipv6", "z.pkt ipv4", "z.pkt ipv6"] {
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

/// A job executable for `job_exe`: for the jobs whose `--spec` matches a
/// shell `case` pattern of `arms`, it runs that arm's commands instead of the
/// job child (the result pipe is fd `$3`); every other job goes to the real
/// job child. Everything it starts carries the test's tag.
fn job_exe(dir: &Path, tag: &str, arms: &[(&str, &str)]) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let mut text = format!("#!/bin/sh\nexport {TAG_VAR}='{tag}'\ncase \"$5\" in\n");
    for (pattern, commands) in arms {
        text.push_str(&format!("{pattern})\n{commands}\n;;\n"));
    }
    text.push_str(&format!("esac\nexec '{BIN}' \"$@\"\n"));
    let path = write(dir, "job-exe.sh", &text);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// Run the ipv4 jobs under `dir` (all of them when `ipv4_only` is false) in
/// this process, with `exe` as the job child and `timeout` for each.
fn run_with_exe(
    dir: &Path,
    ipv4_only: bool,
    timeout: Duration,
    settings: ScheduleSettings,
    signals: &mut dyn SignalSource,
) -> RunRecord {
    let options = DiscoverOptions {
        ip_versions: ipv4_only.then(|| vec![IpVersion::Ipv4]),
        timeout_override: Some(Some(timeout)),
        ..DiscoverOptions::default()
    };
    let jobs = discover(&[dir.to_path_buf()], &options).unwrap();
    let settings = ScheduleSettings {
        durations: None,
        ..settings
    };
    driver::run_with_signals(&jobs, &settings, signals, &mut |_| {}).unwrap()
}

fn job<'a>(record: &'a RunRecord, name: &str) -> &'a JobRecord {
    record
        .jobs
        .iter()
        .find(|j| j.id.display_name() == name)
        .unwrap_or_else(|| panic!("no {name} in {:?}", record.jobs))
}

#[test]
fn crashing_job_is_an_error_and_nothing_else_is_affected() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = scripts(tmp.path(), &["a.pkt", "boom.pkt"]);
    let before = HostSnapshot::take();
    let tag = new_tag("crash");
    // boom.pkt ipv6's job process reaches line 1, then dies as a panicking
    // job child does.
    let crash = "echo '{\"event\":\"line\",\"line\":1}' >/dev/fd/\"$3\"\n\
                 echo \"thread 'main' panicked at runner/src/job_child.rs:1:1:\" >&2\n\
                 echo 'a crash' >&2\n\
                 echo 'note: run with `RUST_BACKTRACE=1`' >&2\n\
                 exit 101";
    let exe = job_exe(
        tmp.path(),
        &tag,
        &[(r#"*'"script":"boom.pkt"'*'--ip_version=ipv6'*"#, crash)],
    );
    let settings = ScheduleSettings {
        jobs_at_once: 4,
        job_exe: exe,
        ..ScheduleSettings::default()
    };
    let record = run_with_exe(
        &dir,
        false,
        Duration::from_secs(45),
        settings,
        &mut NoSignals,
    );
    assert!(!record.success());
    let boom = job(&record, "boom.pkt ipv6");
    let line = netdrill::progress::result_line(boom);
    assert!(line.starts_with("ERROR boom.pkt ipv6 ("), "{line}");
    assert!(
        line.ends_with(
            "boom.pkt: the job process died without a result after starting line 1 \
             (exit status 101): thread 'main' panicked at runner/src/job_child.rs:1:1: a crash"
        ),
        "{line}"
    );
    assert_eq!(boom.attempts[0].kind, Some(FailureKind::Crash));
    for name in ["a.pkt ipv4", "a.pkt ipv6", "boom.pkt ipv4"] {
        assert_eq!(
            job(&record, name).verdict,
            Verdict::Pass,
            "{name}: {record:?}"
        );
    }
    assert_nothing_left(&tag, &before);
}

/// Job processes that print without end: one result lines (hundreds of
/// thousands a second), one output.
fn flooding_jobs(tmp: &Path, tag: &str) -> (PathBuf, PathBuf) {
    let dir = scripts(tmp, &["results.pkt", "output.pkt"]);
    let exe = job_exe(
        tmp,
        tag,
        &[
            (
                "*results.pkt*",
                "exec yes '{\"event\":\"line\",\"line\":7}' >/dev/fd/\"$3\"",
            ),
            ("*output.pkt*", "exec yes 'all work and no play'"),
        ],
    );
    (dir, exe)
}

/// The run's loop reads a bounded amount from each job per round, so however
/// much jobs print, their timeouts and the run's signals are acted on. (The
/// bounds below only tell a run that ends from one that does not.)
#[test]
fn jobs_flooding_their_pipes_still_time_out() {
    let tmp = tempfile::tempdir().unwrap();
    let before = HostSnapshot::take();
    let tag = new_tag("flood");
    let (dir, exe) = flooding_jobs(tmp.path(), &tag);
    let settings = ScheduleSettings {
        grace: Duration::from_millis(500),
        job_exe: exe,
        ..ScheduleSettings::default()
    };
    let started = Instant::now();
    let record = run_with_exe(&dir, true, Duration::from_secs(1), settings, &mut NoSignals);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    let results = job(&record, "results.pkt ipv4");
    assert_eq!(results.verdict, Verdict::Timeout);
    assert_eq!(
        results.attempts[0].message,
        "results.pkt:7: timed out after 1 seconds (the last event started on line 7)"
    );
    let output = job(&record, "output.pkt ipv4");
    assert_eq!(output.verdict, Verdict::Timeout);
    let log = &output.attempts[0].log;
    assert!(log.starts_with("all work and no play\n"));
    assert!(log.ends_with("\n[netdrill: output truncated at 1 MiB]\n"));
    assert_eq!(
        log.len(),
        (1 << 20) + "\n[netdrill: output truncated at 1 MiB]\n".len()
    );
    assert_nothing_left(&tag, &before);
}

/// A signal source whose Ctrl-C comes at a given time.
struct CtrlCAt(Instant, bool);

impl SignalSource for CtrlCAt {
    fn fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        None
    }

    fn take(&mut self) -> Vec<StopSignal> {
        if self.1 || Instant::now() < self.0 {
            return vec![];
        }
        self.1 = true;
        vec![StopSignal::Interrupt]
    }
}

#[test]
fn jobs_flooding_their_pipes_still_stop_at_ctrl_c() {
    let tmp = tempfile::tempdir().unwrap();
    let before = HostSnapshot::take();
    let tag = new_tag("flood-int");
    let (dir, exe) = flooding_jobs(tmp.path(), &tag);
    let settings = ScheduleSettings {
        job_exe: exe,
        ..ScheduleSettings::default()
    };
    let started = Instant::now();
    let mut ctrl_c = CtrlCAt(started + Duration::from_secs(1), false);
    let record = run_with_exe(&dir, true, Duration::from_secs(60), settings, &mut ctrl_c);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(record.interrupted, Some(StopSignal::Interrupt));
    // Stopped before any result: every job is in the record, as not run.
    assert!(
        !record.jobs.is_empty()
            && record
                .jobs
                .iter()
                .all(|j| j.verdict == netdrill::model::Verdict::NotRun),
        "{:?}",
        record.jobs
    );
    assert_nothing_left(&tag, &before);
}

/// Start a run whose jobs all hang, and wait until two are running.
fn hanging_run(tag: &str, tmp: &Path) -> Child {
    let dir = tmp.join("sbx");
    for name in ["h1.pkt", "h2.pkt", "h3.pkt"] {
        write(&dir, name, &hanging(""));
    }
    let runner = spawn_run(&dir, &["-j", "2", "--timeout", "60"], tag, tmp);
    assert!(
        wait_for(Duration::from_secs(20), || sleeping(tag).len() == 2),
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
