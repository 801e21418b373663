//! A `--kernel` run on the host: choose the accelerator, boot the VM, follow
//! the events of the run inside and hand them to the same reports and
//! display a local run feeds, keep the watchdog, and end with the record of
//! the run and how the VM went.

use super::boot::{kvm_device, probe_kvm, Follower, Vm, VmCommand, POLL};
use super::plan::{self, Accel, AccelChoice, AccelPlan, Phase, VmEnd, VmOutcome};
use super::tracker::Tracker;
use crate::model::{HostInfo, JobRecord, RunRecord, RunnerEvent, StopSignal, VmRun};
use crate::process::unix_now;
use crate::signals::{SignalPipe, SignalSource};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What a `--kernel` run needs from the command line.
#[derive(Clone, Debug)]
pub struct VmRequest {
    pub kernel: PathBuf,
    pub accel: AccelChoice,
    /// `--vm-boot-timeout`.
    pub boot_timeout: Option<Duration>,
    /// `--vm-memory`.
    pub memory: String,
    /// `--vm-append`: more kernel command-line arguments.
    pub append: Vec<String>,
    /// The run's arguments for the run inside ([`plan::inner_args`]).
    pub inner_args: Vec<String>,
    /// `--artifacts`, made already: shared read-write, and where the console
    /// log is kept.
    pub artifacts: Option<PathBuf>,
    /// The jobs the host found, each not run (the record of a VM lost before
    /// its run started).
    pub planned: Vec<JobRecord>,
    pub host: HostInfo,
    pub jobs_at_once: usize,
    pub tolerance_usecs: u64,
}

/// How a `--kernel` run ended (one per run: its size does not matter).
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum VmRunEnd {
    /// The record (also sent to the sink as `RunFinished`).
    Record(RunRecord),
    /// `netdrill run` inside ended before its run: its status and stderr.
    InnerExited { status: i32, stderr: String },
}

/// The console log's name in `--artifacts` (or the exchange folder).
pub const CONSOLE_LOG: &str = "kernel-console.log";
/// The KVM probe boot's console log, beside it.
pub const PROBE_CONSOLE_LOG: &str = "kernel-console-kvm-probe.log";

/// Run `req`: `say` gets the lines for the user (which accelerator, and
/// why), `tolerance` the run's `--tolerance_usecs` once the accelerator is
/// known (for the reports written while it runs), `sink` the run's events as
/// a local run's. An error is a setup error (no `vng`, no exchange folder).
pub fn run(
    req: &VmRequest,
    say: &mut dyn FnMut(&str),
    tolerance: &mut dyn FnMut(u64),
    sink: &mut dyn FnMut(&RunnerEvent),
) -> Result<VmRunEnd, String> {
    let exchange = make_exchange()?;
    let keep_dir = req.artifacts.clone().unwrap_or_else(|| exchange.clone());
    let console = keep_dir.join(CONSOLE_LOG);
    let kernel_shown = req.kernel.display().to_string();
    // Signals first: a Ctrl-C from now on kills the VM, never leaves it.
    let mut signals = SignalPipe::new().ok();
    let (accel, note) = match plan::plan_accel(req.accel, kvm_device()) {
        AccelPlan::Use { accel, note } => (accel, note),
        AccelPlan::Probe => {
            say(&format!(
                "probing KVM: booting {kernel_shown} once (at most {} s)",
                plan::PROBE_DEADLINE.as_secs()
            ));
            let probe_console = keep_dir.join(PROBE_CONSOLE_LOG);
            let source = signals.as_mut().map(|s| s as &mut dyn SignalSource);
            let result = probe_kvm(&req.kernel, &exchange, &probe_console, source);
            if let plan::ProbeResult::Stopped(signal) = result {
                let outcome = stopped_before_the_run(req, signal, &probe_console);
                cleanup(&exchange, &keep_dir, &outcome, say);
                if let VmRunEnd::Record(record) = &outcome {
                    sink(&RunnerEvent::RunFinished {
                        record: record.clone(),
                    });
                }
                return Ok(outcome);
            }
            plan::after_probe(&result)
        }
    };
    say(&plan::accel_message(&kernel_shown, accel, note.as_deref()));
    let req = &VmRequest {
        tolerance_usecs: plan::tolerance_inside(accel, req.tolerance_usecs),
        ..req.clone()
    };
    tolerance(req.tolerance_usecs);
    let mut session = Session::start(req, accel, &exchange, &console, signals)?;
    let end = session.follow(sink);
    let outcome = session.finish(req, accel, note, &console, end);
    cleanup(&exchange, &keep_dir, &outcome, say);
    if let VmRunEnd::Record(record) = &outcome {
        sink(&RunnerEvent::RunFinished {
            record: record.clone(),
        });
    }
    Ok(outcome)
}

/// The record of a run stopped by `signal` during the KVM probe: every job
/// not run.
fn stopped_before_the_run(req: &VmRequest, signal: StopSignal, console: &Path) -> VmRunEnd {
    let vm = VmRun {
        kernel: req.kernel.clone(),
        accelerator: Accel::Kvm.name().into(),
        accelerator_note: None,
        boot_secs: None,
        outcome: crate::model::VmOutcomeKind::Lost,
        message: format!(
            "the run was stopped by {} during the KVM probe",
            signal.name()
        ),
        console_log: console.to_path_buf(),
    };
    let tracker = Tracker::new(
        req.planned.clone(),
        req.host.clone(),
        req.jobs_at_once,
        req.tolerance_usecs,
    );
    let mut record = tracker.close(vm, Vec::new(), None, unix_now());
    record.interrupted = Some(signal);
    VmRunEnd::Record(record)
}

/// A fresh folder for what the run inside sends back.
fn make_exchange() -> Result<PathBuf, String> {
    let template = std::env::temp_dir().join("netdrill-vm-XXXXXX");
    nix::unistd::mkdtemp(&template).map_err(|e| {
        format!(
            "--kernel: cannot make a folder in {}: {e}",
            template.display()
        )
    })
}

/// Remove what the run inside sent back and vng's temporary files; the
/// exchange folder itself goes unless the console log is in it and the VM
/// did not complete.
fn cleanup(exchange: &Path, keep_dir: &Path, outcome: &VmRunEnd, say: &mut dyn FnMut(&str)) {
    let completed =
        matches!(outcome, VmRunEnd::Record(r) if r.vm.as_ref().is_some_and(VmRun::completed));
    let keep_console = keep_dir == exchange && !completed;
    if let Ok(entries) = std::fs::read_dir(exchange) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let console = name == CONSOLE_LOG || name == PROBE_CONSOLE_LOG;
            if !(keep_console && console) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    if keep_console {
        say(&format!(
            "the VM's console log is kept in {}/",
            exchange.display()
        ));
    } else {
        let _ = std::fs::remove_dir(exchange);
    }
}

/// One VM and the run inside it.
struct Session {
    vm: Vm,
    events: Follower,
    tracker: Tracker,
    signals: Option<SignalPipe>,
    exchange: PathBuf,
    deadlines: plan::Deadlines,
    boot_secs: Option<f64>,
    last_event: Instant,
    finished_at: Option<Instant>,
}

/// How following the VM ended.
struct FollowEnd {
    watchdog: Option<plan::Watchdog>,
    stopped: Option<StopSignal>,
}

impl Session {
    fn start(
        req: &VmRequest,
        accel: Accel,
        exchange: &Path,
        console: &Path,
        signals: Option<SignalPipe>,
    ) -> Result<Session, String> {
        let exe = std::env::current_exe()
            .and_then(std::fs::canonicalize)
            .map_err(|e| format!("where is this netdrill? {e}"))?;
        let mut env: Vec<(String, String)> = plan::PASSED_ENV
            .iter()
            .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)))
            .collect();
        if accel == Accel::Tcg
            && !env
                .iter()
                .any(|(k, v)| k == "KSFT_MACHINE_SLOW" && !v.is_empty())
        {
            env.retain(|(k, _)| k != "KSFT_MACHINE_SLOW");
            env.push(("KSFT_MACHINE_SLOW".into(), "yes".into()));
        }
        let script = plan::guest_script(
            &exe.to_string_lossy(),
            &req.inner_args,
            &exchange.to_string_lossy(),
            &env,
        );
        let mut rwdirs = vec![exchange.to_path_buf()];
        rwdirs.extend(req.artifacts.iter().cloned());
        let cmd = VmCommand {
            kernel: req.kernel.clone(),
            accel,
            memory: req.memory.clone(),
            append: req.append.clone(),
            rwdirs,
            script,
            console: console.to_path_buf(),
            tmpdir: exchange.to_path_buf(),
        };
        let vm = Vm::start(&cmd).map_err(|e| format!("--kernel: {e}"))?;
        Ok(Session {
            vm,
            events: Follower::new(&exchange.join(plan::EVENTS_FILE)),
            tracker: Tracker::new(
                req.planned.clone(),
                req.host.clone(),
                req.jobs_at_once,
                req.tolerance_usecs,
            ),
            signals,
            exchange: exchange.to_path_buf(),
            deadlines: plan::deadlines(accel, req.boot_timeout),
            boot_secs: None,
            last_event: Instant::now(),
            finished_at: None,
        })
    }

    /// Pass on the events of the run inside until the VM ends, the watchdog
    /// kills it, or a stop signal comes.
    fn follow(&mut self, sink: &mut dyn FnMut(&RunnerEvent)) -> FollowEnd {
        loop {
            let stopped = self
                .signals
                .as_mut()
                .and_then(|s| s.take().into_iter().next());
            if stopped.is_some() {
                self.vm.kill();
                self.drain(sink);
                return FollowEnd {
                    watchdog: None,
                    stopped,
                };
            }
            self.drain(sink);
            if !matches!(self.vm.try_wait(), Ok(None)) {
                self.drain(sink);
                return FollowEnd {
                    watchdog: None,
                    stopped: None,
                };
            }
            let (phase, quiet) = if let Some(t) = self.finished_at {
                (Phase::Shutdown, t.elapsed())
            } else if self.tracker.started() {
                (Phase::Run, self.last_event.elapsed())
            } else {
                (Phase::Boot, self.vm.started.elapsed())
            };
            if let Some(w) = plan::watchdog_due(phase, quiet, &self.deadlines) {
                self.vm.kill();
                self.drain(sink);
                return FollowEnd {
                    watchdog: Some(w),
                    stopped: None,
                };
            }
            std::thread::sleep(POLL);
        }
    }

    /// Read the events written since the last look and pass them on (the
    /// run's own end is held back: the host's comes with the VM's outcome).
    fn drain(&mut self, sink: &mut dyn FnMut(&RunnerEvent)) {
        let Ok(lines) = self.events.lines() else {
            return;
        };
        for line in lines.iter().filter(|l| !l.trim().is_empty()) {
            let ev: RunnerEvent = match serde_json::from_str(line) {
                Ok(ev) => ev,
                Err(e) => {
                    eprintln!("netdrill: an event of the run in the VM could not be read: {e}");
                    continue;
                }
            };
            if self.boot_secs.is_none() {
                self.boot_secs = Some(self.vm.started.elapsed().as_secs_f64());
            }
            self.last_event = Instant::now();
            self.tracker.event(&ev, unix_now());
            if let RunnerEvent::RunFinished { .. } = ev {
                self.finished_at = Some(Instant::now());
            } else {
                sink(&ev);
            }
        }
    }

    /// What the VM's end means, as the run's record.
    fn finish(
        self,
        req: &VmRequest,
        accel: Accel,
        note: Option<String>,
        console: &Path,
        end: FollowEnd,
    ) -> VmRunEnd {
        let read = |f: &str| std::fs::read_to_string(self.exchange.join(f)).ok();
        let status = read(plan::STATUS_FILE)
            .as_deref()
            .and_then(plan::parse_status);
        let console_text = std::fs::read(console)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let now = unix_now();
        let splats = plan::console_splats(&console_text, now);
        let vm_end = VmEnd {
            run_finished: self.tracker.finished(),
            status,
            watchdog: end.watchdog,
            panic: plan::first_panic(&splats).cloned(),
        };
        let outcome = plan::interpret(&vm_end);
        if let (VmOutcome::InnerExited(status), false) = (&outcome, self.tracker.started()) {
            return VmRunEnd::InnerExited {
                status: *status,
                stderr: read(plan::STDERR_FILE).unwrap_or_default(),
            };
        }
        let shown = console.display().to_string();
        let (kind, mut message) = plan::describe(&outcome, &shown);
        if let Some(signal) = end.stopped {
            message = format!(
                "the run was stopped by {}: the VM was killed",
                signal.name()
            );
        }
        let vm = VmRun {
            kernel: req.kernel.clone(),
            accelerator: accel.name().into(),
            accelerator_note: note,
            boot_secs: self.boot_secs,
            outcome: if end.stopped.is_some() {
                crate::model::VmOutcomeKind::Lost
            } else {
                kind
            },
            message,
            console_log: console.to_path_buf(),
        };
        let release = read(plan::RELEASE_FILE).map(|r| r.trim().to_string());
        let mut record = self.tracker.close(vm, splats, release, now);
        if end.stopped.is_some() {
            record.interrupted = end.stopped;
        }
        for line in read(plan::STDERR_FILE).unwrap_or_default().lines() {
            eprintln!("{line}");
        }
        VmRunEnd::Record(record)
    }
}
