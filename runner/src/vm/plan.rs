//! The decisions of a `--kernel` run, as plain functions over data (the
//! effects that follow them are in [`super::boot`] and [`super::host`]).

use crate::kernel_log::{Record, Scanner};
use crate::model::{KernelSplat, VmOutcomeKind};
use crate::record::shell_quote;
use std::time::Duration;

/// `--vm-accel`: how the VM runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AccelChoice {
    /// KVM when `/dev/kvm` opens and a probe boot comes up; emulation otherwise.
    Auto,
    /// KVM, no probe.
    Kvm,
    /// Emulation (QEMU's TCG), no probe.
    Tcg,
}

/// The accelerator a VM runs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accel {
    Kvm,
    /// QEMU's emulation: slow, so kselftest's `KSFT_MACHINE_SLOW` applies inside.
    Tcg,
}

impl Accel {
    /// `kvm` or `tcg`, as reports write it.
    pub fn name(self) -> &'static str {
        match self {
            Accel::Kvm => "kvm",
            Accel::Tcg => "tcg",
        }
    }
}

/// What to do about the accelerator before the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccelPlan {
    /// Use this one; the note says why, when it is emulation not asked for.
    Use { accel: Accel, note: Option<String> },
    /// Boot once with KVM under [`PROBE_DEADLINE`], then [`after_probe`].
    Probe,
}

/// The longest a probe boot with KVM may take to reach user space. A
/// distribution kernel does it in a few seconds under KVM, even on a loaded
/// 2-CPU machine; one that hangs early in boot never does.
pub const PROBE_DEADLINE: Duration = Duration::from_secs(20);

/// The accelerator for `choice`, given whether `/dev/kvm` opens (its error).
pub fn plan_accel(choice: AccelChoice, kvm_device: Result<(), String>) -> AccelPlan {
    match (choice, kvm_device) {
        (AccelChoice::Tcg, _) => AccelPlan::Use {
            accel: Accel::Tcg,
            note: None,
        },
        (AccelChoice::Kvm, _) => AccelPlan::Use {
            accel: Accel::Kvm,
            note: None,
        },
        (AccelChoice::Auto, Err(why)) => AccelPlan::Use {
            accel: Accel::Tcg,
            note: Some(format!("no KVM ({why})")),
        },
        (AccelChoice::Auto, Ok(())) => AccelPlan::Probe,
    }
}

/// How a probe boot with KVM went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeResult {
    /// User space ran the probe's command.
    Booted,
    /// Nothing came back before the deadline: the watchdog killed the VM.
    Hung { after: Duration },
    /// The VM ended without running the command.
    Failed { why: String },
    /// A stop signal came during the probe: the run stops there.
    Stopped(crate::model::StopSignal),
}

/// The accelerator after a probe boot, and why emulation when it is.
pub fn after_probe(result: &ProbeResult) -> (Accel, Option<String>) {
    match result {
        ProbeResult::Booted => (Accel::Kvm, None),
        ProbeResult::Hung { after } => (
            Accel::Tcg,
            Some(format!(
                "KVM does not boot this kernel: a probe boot did not reach user space \
                 within {} s",
                after.as_secs()
            )),
        ),
        ProbeResult::Failed { why } => (
            Accel::Tcg,
            Some(format!("KVM does not boot this kernel: a probe boot {why}")),
        ),
        ProbeResult::Stopped(signal) => (
            Accel::Kvm,
            Some(format!("stopped by {} during the KVM probe", signal.name())),
        ),
    }
}

/// The one line that says how the VM runs.
pub fn accel_message(kernel: &str, accel: Accel, note: Option<&str>) -> String {
    match (accel, note) {
        (Accel::Kvm, _) => format!("booting {kernel} under KVM"),
        (Accel::Tcg, Some(why)) => format!(
            "{why}; booting {kernel} under emulation (TCG), slow: KSFT_MACHINE_SLOW=yes \
             inside the VM"
        ),
        (Accel::Tcg, None) => format!(
            "booting {kernel} under emulation (TCG, as asked), slow: KSFT_MACHINE_SLOW=yes \
             inside the VM"
        ),
    }
}

/// The `--tolerance_usecs` of the run inside: kselftest's slow-machine one
/// under emulation, else the host's.
pub fn tolerance_inside(accel: Accel, host_usecs: u64) -> u64 {
    match accel {
        Accel::Tcg => crate::discover::SLOW_MACHINE_TOLERANCE_USECS,
        Accel::Kvm => host_usecs,
    }
}

/// How long the watchdog lets each phase of the VM go without a sign of life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadlines {
    /// From starting the VM to the run's first event inside it.
    pub boot: Duration,
    /// Between two events of the run inside. While a job runs, the runner
    /// inside tells at least every 15 s that it is still running (`JobSlow`),
    /// so a long silence is a kernel that stopped, whatever the job timeouts.
    pub silence: Duration,
    /// From the run's last event to the VM's power-off.
    pub shutdown: Duration,
}

/// The deadlines for `accel`; `boot` overrides the boot deadline
/// (`--vm-boot-timeout`). Emulation is about ten times slower than KVM and
/// shares the CPUs with whatever else the machine runs.
pub fn deadlines(accel: Accel, boot: Option<Duration>) -> Deadlines {
    let d = match accel {
        Accel::Kvm => Deadlines {
            boot: Duration::from_secs(120),
            silence: Duration::from_secs(90),
            shutdown: Duration::from_secs(60),
        },
        Accel::Tcg => Deadlines {
            boot: Duration::from_secs(600),
            silence: Duration::from_secs(300),
            shutdown: Duration::from_secs(180),
        },
    };
    Deadlines {
        boot: boot.unwrap_or(d.boot),
        ..d
    }
}

/// Where the VM is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Started; the run inside has not said anything yet.
    Boot,
    /// The run inside is going.
    Run,
    /// The run inside is over; the VM should power off.
    Shutdown,
}

/// The watchdog fired: in which phase, after how long without a sign.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Watchdog {
    pub phase: Phase,
    pub after: Duration,
}

/// Whether the watchdog fires now: `quiet` is the time since the phase began
/// (boot, shutdown) or since the last event (run).
pub fn watchdog_due(phase: Phase, quiet: Duration, d: &Deadlines) -> Option<Watchdog> {
    let limit = match phase {
        Phase::Boot => d.boot,
        Phase::Run => d.silence,
        Phase::Shutdown => d.shutdown,
    };
    (quiet >= limit).then_some(Watchdog {
        phase,
        after: limit,
    })
}

/// What is known when the VM has ended (or been killed).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VmEnd {
    /// The run inside sent its last event (`RunFinished`).
    pub run_finished: bool,
    /// The exit status of `netdrill run` inside, when it wrote one.
    pub status: Option<i32>,
    /// The watchdog killed the VM.
    pub watchdog: Option<Watchdog>,
    /// The first kernel panic in the console.
    pub panic: Option<KernelSplat>,
}

/// What a VM's end means.
#[derive(Clone, Debug, PartialEq)]
pub enum VmOutcome {
    /// The run inside finished and came back whole (a VM that then did not
    /// power off in time was killed: the run stands).
    Completed,
    /// `netdrill run` inside ended before its run (a usage or setup error):
    /// its status and stderr are the host's.
    InnerExited(i32),
    /// The kernel under test panicked.
    Panicked { title: String },
    /// The watchdog killed a VM that stopped answering.
    Hung(Watchdog),
    /// The VM ended with nothing to say why.
    Lost,
}

/// Interpret the end of a VM: a panic in the console first (even after the
/// run, the kernel under test crashed), then a run that came back, then
/// `netdrill run` inside stopping early, then the watchdog.
pub fn interpret(end: &VmEnd) -> VmOutcome {
    if let Some(p) = &end.panic {
        return VmOutcome::Panicked {
            title: p.title.clone(),
        };
    }
    if end.run_finished {
        return VmOutcome::Completed;
    }
    if let Some(status) = end.status {
        return VmOutcome::InnerExited(status);
    }
    match end.watchdog {
        Some(w) => VmOutcome::Hung(w),
        None => VmOutcome::Lost,
    }
}

/// The report's word and sentence for an outcome (`console` is the console
/// log's path, as it is shown).
pub fn describe(outcome: &VmOutcome, console: &str) -> (VmOutcomeKind, String) {
    match outcome {
        VmOutcome::Completed => (VmOutcomeKind::Completed, String::new()),
        VmOutcome::InnerExited(status) => (
            VmOutcomeKind::Lost,
            format!("netdrill run in the VM exited with status {status} before its run finished"),
        ),
        VmOutcome::Panicked { title } => (
            VmOutcomeKind::Panicked,
            format!("the kernel under test panicked: {title} (console log: {console})"),
        ),
        VmOutcome::Hung(w) => {
            let what = match w.phase {
                Phase::Boot => "did not boot and start the run",
                Phase::Run => "stopped answering: the run in it said nothing",
                Phase::Shutdown => "did not power off after the run",
            };
            (
                VmOutcomeKind::Hung,
                format!(
                    "the VM {what} within {} s; the watchdog killed it (console log: {console})",
                    w.after.as_secs()
                ),
            )
        }
        VmOutcome::Lost => (
            VmOutcomeKind::Lost,
            format!(
                "the VM ended without the run's result and without a panic in its console \
                 (console log: {console})"
            ),
        ),
    }
}

/// One console line as a kernel log record: `[   12.345678] message`.
fn console_record(line: &str) -> Option<Record> {
    let rest = line.trim_end_matches('\r').strip_prefix('[')?;
    let (stamp, message) = rest.split_once("] ")?;
    let (secs, frac) = stamp.trim().split_once('.')?;
    let secs: u64 = secs.parse().ok()?;
    let frac: u64 = frac.get(..6)?.parse().ok()?;
    Some(Record {
        usecs: secs.saturating_mul(1_000_000).saturating_add(frac),
        message: message.to_string(),
    })
}

/// The kernel splats (warnings, BUGs, oopses, panics) in a guest's console,
/// read at `now_unix`.
pub fn console_splats(console: &str, now_unix: f64) -> Vec<KernelSplat> {
    let mut scanner = Scanner::default();
    let mut splats: Vec<KernelSplat> = console
        .lines()
        .filter_map(console_record)
        .flat_map(|r| scanner.record(&r, now_unix))
        .collect();
    splats.extend(scanner.finish());
    splats
}

/// The first panic among `splats`.
pub fn first_panic(splats: &[KernelSplat]) -> Option<&KernelSplat> {
    splats
        .iter()
        .find(|s| s.title.starts_with("Kernel panic - not syncing"))
}

/// `netdrill run` options the host handles itself and the run inside must not
/// get: the VM's own, the reports (written on the host from the events), the
/// display. Each takes a value.
const HOST_ONLY_WITH_VALUE: &[&str] = &[
    "--kernel",
    "--vm-accel",
    "--vm-boot-timeout",
    "--vm-memory",
    "--vm-append",
    "--ktap",
    "--junit",
    "--json",
    "--record",
    "--junit-schema",
    "--executor",
    "--branch",
    "--link",
    "--color",
    "--events",
];

/// The same, without a value.
/// (`--prepare-host` and `--no-progress` the run inside always gets.)
const HOST_ONLY_FLAGS: &[&str] = &[
    "--ktap-nested",
    "--json-full",
    "--no-progress",
    "--prepare-host",
];

/// The arguments of the run inside: the host's `netdrill run` arguments (those
/// after `run`) without the options the host handles ([`HOST_ONLY_WITH_VALUE`],
/// [`HOST_ONLY_FLAGS`]); everything after `--` is kept.
pub fn inner_args(args: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--" {
            out.push(a.clone());
            out.extend(it.by_ref().cloned());
            break;
        }
        let name = a.split_once('=').map_or(a.as_str(), |(n, _)| n);
        if HOST_ONLY_WITH_VALUE.contains(&name) {
            if !a.contains('=') {
                it.next();
            }
            continue;
        }
        if HOST_ONLY_FLAGS.contains(&a.as_str()) {
            continue;
        }
        out.push(a.clone());
    }
    out
}

/// The environment variables of the host that the run inside reads too.
pub const PASSED_ENV: &[&str] = &[
    "KSFT_MACHINE_SLOW",
    "kselftest_override_timeout",
    "NETDRILL_PYTHON",
];

/// Files of the exchange folder.
pub const EVENTS_FILE: &str = "events.jsonl";
pub const STATUS_FILE: &str = "status";
pub const STDERR_FILE: &str = "stderr";
pub const RELEASE_FILE: &str = "release";

/// What the VM runs: load the tun module (the guest has no udev), then the
/// run with the host's arguments, its events, stderr, exit status and kernel
/// release going to the exchange folder `exchange`. `env` is what the run
/// inside gets set (`KSFT_MACHINE_SLOW` under emulation...).
pub fn guest_script(
    exe: &str,
    args: &[String],
    exchange: &str,
    env: &[(String, String)],
) -> String {
    let x = |file: &str| shell_quote(&format!("{exchange}/{file}"));
    let mut cmd = String::from("modprobe -q tun 2>/dev/null; ");
    cmd.push_str(&format!("uname -r > {}; ", x(RELEASE_FILE)));
    for (k, v) in env {
        cmd.push_str(&format!("export {k}={}; ", shell_quote(v)));
    }
    cmd.push_str(&shell_quote(exe));
    cmd.push_str(" run --prepare-host --no-progress --events ");
    cmd.push_str(&x(EVENTS_FILE));
    for a in args {
        cmd.push(' ');
        cmd.push_str(&shell_quote(a));
    }
    cmd.push_str(&format!(
        " </dev/null >/dev/null 2>{}; echo $? > {}",
        x(STDERR_FILE),
        x(STATUS_FILE)
    ));
    cmd
}

/// The exit status the inner run wrote (`status` file), if it is one.
pub fn parse_status(text: &str) -> Option<i32> {
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_accelerator_is_kvm_only_when_it_boots() {
        assert_eq!(plan_accel(AccelChoice::Auto, Ok(())), AccelPlan::Probe);
        assert_eq!(
            plan_accel(AccelChoice::Auto, Err("/dev/kvm: No such file".into())),
            AccelPlan::Use {
                accel: Accel::Tcg,
                note: Some("no KVM (/dev/kvm: No such file)".into())
            }
        );
        assert_eq!(
            plan_accel(AccelChoice::Tcg, Ok(())),
            AccelPlan::Use {
                accel: Accel::Tcg,
                note: None
            }
        );
        assert_eq!(
            plan_accel(AccelChoice::Kvm, Err("x".into())),
            AccelPlan::Use {
                accel: Accel::Kvm,
                note: None
            }
        );
        assert_eq!(after_probe(&ProbeResult::Booted), (Accel::Kvm, None));
        let (accel, note) = after_probe(&ProbeResult::Hung {
            after: PROBE_DEADLINE,
        });
        assert_eq!(accel, Accel::Tcg);
        assert_eq!(
            note.unwrap(),
            "KVM does not boot this kernel: a probe boot did not reach user space within 20 s"
        );
        let (accel, _) = after_probe(&ProbeResult::Failed {
            why: "ended with status 1".into(),
        });
        assert_eq!(accel, Accel::Tcg);
        assert_eq!(tolerance_inside(Accel::Tcg, 4000), 14000);
        assert_eq!(tolerance_inside(Accel::Kvm, 4000), 4000);
        let m = accel_message("bzImage", Accel::Tcg, Some("no KVM (x)"));
        assert!(
            m.contains("emulation (TCG)") && m.contains("KSFT_MACHINE_SLOW"),
            "{m}"
        );
    }

    #[test]
    fn the_watchdog_fires_at_each_phase_deadline() {
        let d = deadlines(Accel::Tcg, Some(Duration::from_secs(5)));
        assert_eq!(d.boot, Duration::from_secs(5));
        assert!(deadlines(Accel::Tcg, None).boot > deadlines(Accel::Kvm, None).boot);
        assert!(deadlines(Accel::Tcg, None).silence > deadlines(Accel::Kvm, None).silence);
        assert_eq!(watchdog_due(Phase::Boot, Duration::from_secs(4), &d), None);
        assert_eq!(
            watchdog_due(Phase::Boot, Duration::from_secs(5), &d),
            Some(Watchdog {
                phase: Phase::Boot,
                after: Duration::from_secs(5)
            })
        );
        // A run that keeps talking is never killed; a silent one is.
        assert_eq!(watchdog_due(Phase::Run, d.silence / 2, &d), None);
        assert_eq!(
            watchdog_due(Phase::Run, d.silence, &d).map(|w| w.phase),
            Some(Phase::Run)
        );
        assert!(watchdog_due(Phase::Shutdown, d.shutdown, &d).is_some());
        // Every job reports at least every 15 s while it runs (`JobSlow`).
        let kvm = deadlines(Accel::Kvm, None);
        assert!(kvm.silence >= Duration::from_secs(4 * 15));
    }

    fn splat(title: &str) -> KernelSplat {
        KernelSplat {
            at_unix: 0.0,
            title: title.into(),
            fingerprint: String::new(),
            text: String::new(),
        }
    }

    #[test]
    fn a_vm_end_means_what_came_back() {
        let panic = splat("Kernel panic - not syncing: VFS: Unable to mount root fs");
        let hung = Watchdog {
            phase: Phase::Run,
            after: Duration::from_secs(90),
        };
        let end = |run_finished, status, watchdog, panic: Option<&KernelSplat>| VmEnd {
            run_finished,
            status,
            watchdog,
            panic: panic.cloned(),
        };
        assert_eq!(
            interpret(&end(true, Some(1), None, None)),
            VmOutcome::Completed
        );
        // Killed while powering off after a whole run: the run stands.
        let late = Watchdog {
            phase: Phase::Shutdown,
            after: Duration::from_secs(60),
        };
        assert_eq!(
            interpret(&end(true, None, Some(late), None)),
            VmOutcome::Completed
        );
        assert_eq!(
            interpret(&end(false, Some(96), None, None)),
            VmOutcome::InnerExited(96)
        );
        assert_eq!(
            interpret(&end(false, None, Some(hung), None)),
            VmOutcome::Hung(hung)
        );
        assert_eq!(interpret(&end(false, None, None, None)), VmOutcome::Lost);
        // A panic wins, even after the run.
        for finished in [false, true] {
            assert_eq!(
                interpret(&end(finished, None, None, Some(&panic))),
                VmOutcome::Panicked {
                    title: panic.title.clone()
                }
            );
        }
        let (kind, msg) = describe(&VmOutcome::Hung(hung), "a/console.log");
        assert_eq!(kind, VmOutcomeKind::Hung);
        assert_eq!(
            msg,
            "the VM stopped answering: the run in it said nothing within 90 s; the watchdog \
             killed it (console log: a/console.log)"
        );
        assert_eq!(
            describe(&VmOutcome::Completed, "x"),
            (VmOutcomeKind::Completed, String::new())
        );
    }

    #[test]
    fn a_panic_is_read_from_the_console() {
        let console = "\
Probing EDD (edd=off to disable)... ok
[    0.000000] Linux version 6.1.0-57-amd64
[    1.523456] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)
[    1.523999] CPU: 0 PID: 1 Comm: swapper/0 Not tainted 6.1.0-57-amd64 #1
[    1.524001] Call Trace:
[    1.524002]  <TASK>
[    1.524003]  dump_stack_lvl+0x44/0x5c
[    1.524004]  panic+0x118/0x2ed
[    1.524005]  mount_block_root+0x1d3/0x1e6
[    1.524010]  </TASK>
[    1.524500] ---[ end Kernel panic - not syncing: VFS: Unable to mount root fs ]---
some user output
";
        let splats = console_splats(console, 10.0);
        assert_eq!(splats.len(), 1, "{splats:?}");
        let p = first_panic(&splats).unwrap();
        assert_eq!(
            p.title,
            "Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)"
        );
        assert_eq!(p.fingerprint, "dump_stack_lvl:panic:mount_block_root");
        assert!(p.text.contains("[    1.523456] Kernel panic"), "{}", p.text);
        let warning = "[    5.000000] WARNING: CPU: 0 PID: 9 at net/core/dev.c:1 f+0x1/0x2\n";
        let splats = console_splats(warning, 1.0);
        assert_eq!(splats.len(), 1);
        assert_eq!(first_panic(&splats), None);
        assert!(console_splats("no timestamps\n[bad] x\n", 0.0).is_empty());
    }

    #[test]
    fn the_run_inside_gets_the_host_arguments_less_the_host_only_ones() {
        let args = words(&[
            "--kernel",
            "/boot/vmlinuz",
            "-j",
            "4",
            "--ktap=-",
            "--json",
            "out.json",
            "--json-full",
            "--artifacts",
            "/tmp/a",
            "--vm-accel=tcg",
            "--filter",
            "bad_arg",
            "--no-progress",
            "--prepare-host",
            "suite",
            "--",
            "--json",
        ]);
        assert_eq!(
            inner_args(&args),
            words(&[
                "-j",
                "4",
                "--artifacts",
                "/tmp/a",
                "--filter",
                "bad_arg",
                "suite",
                "--",
                "--json"
            ])
        );
        assert!(inner_args(&words(&["--kernel"])).is_empty());
    }

    #[test]
    fn the_guest_script_quotes_and_collects() {
        let s = guest_script(
            "/x/netdrill",
            &words(&["--filter", "a b", "suite's"]),
            "/tmp/ex",
            &[("KSFT_MACHINE_SLOW".into(), "yes".into())],
        );
        assert_eq!(
            s,
            "modprobe -q tun 2>/dev/null; uname -r > /tmp/ex/release; \
             export KSFT_MACHINE_SLOW=yes; /x/netdrill run --prepare-host --no-progress \
             --events /tmp/ex/events.jsonl --filter 'a b' 'suite'\\''s' </dev/null >/dev/null \
             2>/tmp/ex/stderr; echo $? > /tmp/ex/status"
        );
        assert_eq!(parse_status("96\n"), Some(96));
        assert_eq!(parse_status(""), None);
    }
}
