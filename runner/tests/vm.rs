//! `netdrill run --kernel`: a Debian kernel booted with virtme-ng runs the
//! founding scripts that do not depend on timing (the `syscall_bad_arg` ones)
//! and they pass; a broken copy fails with the same report as on the host; a
//! kernel that panics, or a VM that does not boot in time, fails the run with
//! the console log kept, and never hangs it.
//!
//! The kernel is `$NETDRILL_TEST_KERNEL`, else the one `.ci/run` unpacks in
//! `/opt/netdrill-test-kernel`, else the newest `/boot/vmlinuz-*`. Without
//! `vng`, QEMU or a kernel the tests say so and skip (`.ci/run` installs them).

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;
use support::*;

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}

fn newest(pattern: &str) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = glob::glob(pattern).ok()?.filter_map(Result::ok).collect();
    found.sort();
    found.pop()
}

/// The kernel to boot, or why the test cannot run here.
fn kernel() -> Result<PathBuf, String> {
    for program in ["vng", "qemu-system-x86_64"] {
        if !on_path(program) {
            return Err(format!(
                "{program} is not installed (.ci/run installs qemu-system-x86 and virtme-ng)"
            ));
        }
    }
    if let Some(k) = std::env::var_os("NETDRILL_TEST_KERNEL") {
        return Ok(PathBuf::from(k));
    }
    newest("/opt/netdrill-test-kernel/boot/vmlinuz-*")
        .or_else(|| newest("/boot/vmlinuz-*"))
        .ok_or_else(|| "no kernel image (.ci/run unpacks one in /opt/netdrill-test-kernel)".into())
}

macro_rules! kernel_or_skip {
    () => {
        match kernel() {
            Ok(k) => {
                require_root();
                k
            }
            Err(why) => {
                eprintln!("SKIP: the VM tests need a kernel to boot: {why}");
                return;
            }
        }
    };
}

fn netdrill(args: &[&str], env: &[(&str, &str)]) -> (Output, f64) {
    let t = Instant::now();
    let mut c = Command::new(env!("CARGO_BIN_EXE_netdrill"));
    c.args(args).env_remove("KSFT_MACHINE_SLOW");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    (out, t.elapsed().as_secs_f64())
}

fn text(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The founding `syscall_bad_arg` scripts, their helpers, and a copy of one
/// with a wrong expected return value.
fn suite(dir: &Path) -> Vec<String> {
    let seed = corpus("seed");
    let mut scripts = Vec::new();
    for entry in std::fs::read_dir(&seed).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let helper = name == "defaults.sh" || name == "set_sysctls.py";
        if helper || name.contains("syscall_bad_arg") {
            std::fs::copy(seed.join(&name), dir.join(&name)).unwrap();
        }
        if name.contains("syscall_bad_arg") {
            scripts.push(name);
        }
    }
    assert_eq!(
        scripts.len(),
        3,
        "the founding spec has 3 syscall_bad_arg scripts"
    );
    let good = text(&seed.join("tcp_syscall_bad_arg_syscall-invalid-buf-ptr.pkt"));
    let wrong = "write(4, NULL, 1000) = -1 EFAULT (Bad address)";
    assert!(good.contains(wrong));
    let broken = good.replace(wrong, "write(4, NULL, 1000) = 1000");
    std::fs::write(dir.join(BROKEN), broken).unwrap();
    scripts
}

/// A folder for a test's suite and reports: not under /tmp, which each job
/// of a local run sees as a private tmpfs of its own.
fn scratch() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap()
}

const BROKEN: &str = "tcp_syscall_bad_arg_broken-write.pkt";

/// The KTAP lines of one script, from its `# selftests:` line to its result.
fn ktap_block(ktap: &str, script: &str) -> Vec<String> {
    let lines: Vec<&str> = ktap.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with("# selftests:") && l.ends_with(script))
        .unwrap_or_else(|| panic!("{script} not in\n{ktap}"));
    let end = start
        + lines[start..]
            .iter()
            .position(|l| l.starts_with("ok ") || l.starts_with("not ok "))
            .unwrap();
    lines[start..=end].iter().map(|l| l.to_string()).collect()
}

/// `script ipvX` -> (verdict, [(kind, line, message)] of each attempt).
/// A job's name, verdict, and each attempt's (kind, line, message).
type JobReport = (String, String, Vec<(Value, Value, Value)>);

fn jobs(json: &Value) -> Vec<JobReport> {
    let mut out = Vec::new();
    for test in json["results"].as_array().unwrap() {
        for sub in test["results"].as_array().unwrap() {
            let d = &sub["netdrill"];
            out.push((
                format!(
                    "{} {}",
                    d["script"].as_str().unwrap(),
                    sub["test"].as_str().unwrap()
                ),
                d["verdict"].as_str().unwrap().to_string(),
                d["attempts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| (a["kind"].clone(), a["line"].clone(), a["message"].clone()))
                    .collect(),
            ));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn founding_scripts_pass_in_the_vm_and_a_broken_one_fails_as_on_the_host() {
    let kernel = kernel_or_skip!();
    let tmp = scratch();
    let dir = tmp.path().join("bad_arg");
    std::fs::create_dir(&dir).unwrap();
    let scripts = suite(&dir);
    let out = |name: &str| tmp.path().join(name).to_string_lossy().into_owned();
    let d = dir.to_string_lossy().into_owned();
    let k = kernel.to_string_lossy().into_owned();
    // The accelerator is netdrill's choice (auto): on a machine whose KVM
    // does not boot, the probe falls back to emulation and says so.
    let (vm, vm_secs) = netdrill(
        &[
            "run",
            "--kernel",
            &k,
            "-j",
            "1",
            "--ktap",
            &out("vm.ktap"),
            "--json",
            &out("vm.json"),
            "--json-full",
            "--artifacts",
            &out("vm-art"),
            "--no-progress",
            &d,
        ],
        &[],
    );
    let stderr = String::from_utf8_lossy(&vm.stderr);
    println!(
        "VM run: {vm_secs:.1} s, exit {:?}\n{stderr}",
        vm.status.code()
    );
    let vm_json: Value = serde_json::from_str(&text(Path::new(&out("vm.json")))).unwrap();
    let facts = &vm_json["netdrill"]["vm"];
    println!("VM facts: {facts}");
    assert_eq!(facts["outcome"], "completed", "{stderr}");
    let tcg = facts["accelerator"] == "tcg";
    if tcg {
        assert!(stderr.contains("under emulation (TCG)"), "{stderr}");
        assert!(stderr.contains("KSFT_MACHINE_SLOW"), "{stderr}");
    } else {
        assert!(stderr.contains("under KVM"), "{stderr}");
    }
    assert!(Path::new(&out("vm-art"))
        .join("kernel-console.log")
        .is_file());
    let console = text(&Path::new(&out("vm-art")).join("kernel-console.log"));
    assert!(console.contains("Linux version"), "{console}");
    // kselftest's slow-machine policy: under emulation a failure is XFAIL.
    let failed = if tcg { 0 } else { 1 };
    assert_eq!(
        vm.status.code(),
        Some(failed),
        "the broken script's failure"
    );

    // The same suite on the host, under the same slow-machine policy.
    let slow: &[(&str, &str)] = if tcg {
        &[("KSFT_MACHINE_SLOW", "yes")]
    } else {
        &[]
    };
    // A timing error in the host's run is the host machine stalling (the
    // broken script fails at its write either way): that run is made again,
    // up to twice, so that the reports compared below are of the same failure.
    let mut host_runs = 0;
    let (host, host_json) = loop {
        host_runs += 1;
        let (host, _) = netdrill(
            &[
                "run",
                "-j",
                "2",
                "--ktap",
                &out("host.ktap"),
                "--json",
                &out("host.json"),
                "--json-full",
                "--no-progress",
                &d,
            ],
            slow,
        );
        let host_json: Value = serde_json::from_str(&text(Path::new(&out("host.json")))).unwrap();
        let stalled = jobs(&host_json)
            .iter()
            .any(|(_, _, attempts)| attempts.iter().any(|a| a.0 == "timing-error"));
        if !stalled || host_runs == 3 {
            break (host, host_json);
        }
    };
    assert_eq!(
        host.status.code(),
        Some(failed),
        "{}",
        String::from_utf8_lossy(&host.stderr)
    );

    let (vm_jobs, host_jobs) = (jobs(&vm_json), jobs(&host_json));
    assert_eq!(vm_jobs.len(), 8);
    // Every good job passes; under emulation kselftest's slow-machine policy
    // may turn a missed packet time (and only that) into XFAIL: counted, shown.
    let mut timing_xfails = 0;
    for (name, verdict, attempts) in &vm_jobs {
        if name.starts_with(BROKEN) {
            continue;
        }
        let slow_timing =
            tcg && verdict == "xfail" && attempts.iter().all(|a| a.0 == "timing-error");
        timing_xfails += usize::from(slow_timing);
        assert!(
            verdict == "pass" || slow_timing,
            "{name} in the VM: {verdict} {attempts:?}"
        );
    }
    println!(
        "good jobs in the VM: {} passed, {timing_xfails} timing errors as XFAIL",
        6 - timing_xfails
    );
    for s in &scripts {
        assert!(vm_jobs
            .iter()
            .any(|(n, v, _)| n.starts_with(s.as_str()) && v == "pass"));
    }
    let broken = |jobs: &[JobReport]| {
        jobs.iter()
            .filter(|(n, _, _)| n.starts_with(BROKEN))
            .cloned()
            .collect::<Vec<_>>()
    };
    let (vm_broken, host_broken) = (broken(&vm_jobs), broken(&host_jobs));
    assert_eq!(vm_broken.len(), 2);
    for (name, verdict, attempts) in &vm_broken {
        let expected = if tcg { "xfail" } else { "fail" };
        assert_eq!(verdict, expected, "{name}");
        assert_eq!(attempts[0].0, "syscall-error", "{name}: {attempts:?}");
        assert_eq!(attempts[0].1, 18, "{name}: the write line");
    }
    assert_eq!(
        vm_broken, host_broken,
        "the broken script's report in the VM and on the host"
    );
    assert_eq!(
        ktap_block(&text(Path::new(&out("vm.ktap"))), BROKEN),
        ktap_block(&text(Path::new(&out("host.ktap"))), BROKEN)
    );
}

#[test]
fn a_kernel_that_panics_fails_the_run_with_its_console_log() {
    let kernel = kernel_or_skip!();
    let tmp = scratch();
    let dir = tmp.path().join("bad_arg");
    std::fs::create_dir(&dir).unwrap();
    suite(&dir);
    let out = |name: &str| tmp.path().join(name).to_string_lossy().into_owned();
    // No init in the initramfs: the kernel panics as it boots.
    let (run, secs) = netdrill(
        &[
            "run",
            "--kernel",
            &kernel.to_string_lossy(),
            "--vm-accel",
            "tcg",
            "--vm-append",
            "rdinit=/nonexistent",
            "--ktap",
            &out("k.ktap"),
            "--json",
            &out("k.json"),
            "--json-full",
            "--junit",
            &out("k.xml"),
            "--artifacts",
            &out("art"),
            "--no-progress",
            &dir.to_string_lossy(),
        ],
        &[],
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    println!(
        "panicking kernel: {secs:.1} s, exit {:?}\n{stderr}",
        run.status.code()
    );
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the kernel under test panicked: Kernel panic - not syncing"),
        "{stderr}"
    );
    let ktap = text(Path::new(&out("k.ktap")));
    let last = ktap.lines().last().unwrap();
    assert!(
        last.starts_with("Bail out! the kernel under test panicked: Kernel panic - not syncing"),
        "{ktap}"
    );
    let json: Value = serde_json::from_str(&text(Path::new(&out("k.json")))).unwrap();
    assert_eq!(json["incomplete"], true);
    let vm = &json["netdrill"]["vm"];
    assert_eq!(vm["outcome"], "panicked");
    let console = PathBuf::from(vm["console_log"].as_str().unwrap());
    assert_eq!(console, tmp.path().join("art/kernel-console.log"));
    assert!(text(&console).contains("Kernel panic - not syncing"));
    let splats = json["netdrill"]["kernel_splats"].as_array().unwrap();
    assert!(splats[0]["title"]
        .as_str()
        .unwrap()
        .starts_with("Kernel panic - not syncing"));
    let junit = text(Path::new(&out("k.xml")));
    assert!(junit.contains("the VM of --kernel was lost"), "{junit}");
}

#[test]
fn a_vm_that_does_not_boot_in_time_is_killed_by_the_watchdog() {
    let kernel = kernel_or_skip!();
    let tmp = scratch();
    let dir = tmp.path().join("bad_arg");
    std::fs::create_dir(&dir).unwrap();
    suite(&dir);
    let json = tmp.path().join("h.json");
    let (run, secs) = netdrill(
        &[
            "run",
            "--kernel",
            &kernel.to_string_lossy(),
            "--vm-accel",
            "tcg",
            "--vm-boot-timeout",
            "2",
            "--json",
            &json.to_string_lossy(),
            "--json-full",
            "--no-progress",
            &dir.to_string_lossy(),
        ],
        &[],
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    println!(
        "boot deadline 2 s: {secs:.1} s, exit {:?}\n{stderr}",
        run.status.code()
    );
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(
        secs < 30.0,
        "the watchdog acts at its deadline ({secs:.1} s)"
    );
    assert!(
        stderr.contains("the VM did not boot and start the run within 2 s; the watchdog killed it"),
        "{stderr}"
    );
    let doc: Value = serde_json::from_str(&text(&json)).unwrap();
    assert_eq!(doc["netdrill"]["vm"]["outcome"], "hung");
    // Without --artifacts the console log is kept in a folder it names.
    let console = PathBuf::from(doc["netdrill"]["vm"]["console_log"].as_str().unwrap());
    assert!(console.is_file(), "{}", console.display());
    assert!(
        stderr.contains(&console.parent().unwrap().display().to_string()),
        "{stderr}"
    );
    std::fs::remove_dir_all(console.parent().unwrap()).unwrap();
}
