//! Running a suite: the effects around the [`Scheduler`]. One thread waits in
//! `poll(2)` on the result and output pipes of every running job, a pidfd per
//! job process, and the stop signals ([`crate::signals`]); what it sees becomes
//! [`SchedulerEvent`]s, and it does what the scheduler's [`Action`]s say: start
//! a job process ([`crate::process`]), signal a process group, write artifacts,
//! tell the reporters. It decides nothing itself. A run ends with a
//! [`RunRecord`], and the jobs' durations saved for the next run's order.

use crate::durations::Durations;
use crate::kernel_log::KernelLog;
use crate::load::CpuMeter;
use crate::model::{
    host_info, Attempt, AttemptResult, HostInfo, Job, RunRecord, RunnerEvent, TimeoutPer, Verdict,
};
use crate::process::cgroup::Delegation;
use crate::process::{unix_now, JobProcess};
use crate::record::{self, Packets};
use crate::scheduler::quiet::QuietRule;
use crate::scheduler::{Action, KillSignal, Policy, Scheduler, SchedulerEvent};
use crate::signals::{SignalPipe, SignalSource};
use netdrill_engine::run::reaction::Reaction;
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The longest the loop sleeps without looking around.
const MAX_SLEEP: Duration = Duration::from_millis(500);

/// How to run the jobs.
#[derive(Clone, Debug)]
pub struct ScheduleSettings {
    pub jobs_at_once: usize,
    /// Extra attempts for a job that did not pass, each held until the
    /// machine is quiet ([`crate::scheduler::quiet`]).
    pub retries: u32,
    /// What a job's timeout covers (`--timeout-per`).
    pub timeout_per: TimeoutPer,
    /// Least time between two job starts (sandbox creation at full rate disturbs the
    /// timing of the jobs already running).
    pub start_interval: Duration,
    /// Between SIGTERM and SIGKILL.
    pub grace: Duration,
    /// A [`RunnerEvent::JobSlow`] after each period a job keeps running.
    pub slow_period: Duration,
    /// The program to run as the job child (`netdrill`, which knows `__job`).
    pub job_exe: PathBuf,
    /// `--tolerance_usecs` in effect, for the record.
    pub tolerance_usecs: u64,
    /// Where past durations are read from and written to.
    pub durations: Option<PathBuf>,
    /// `--artifacts`: each failed attempt's log, packets, expected vs actual
    /// packet and replay command go under this folder (see
    /// [`crate::report::artifacts`]); jobs then forward their packets.
    pub artifacts: Option<PathBuf>,
    /// Where the kernel's log is read from for splats ([`crate::kernel_log`]);
    /// `None`: not read.
    pub kernel_log: Option<PathBuf>,
    /// `--reaction`: which reaction the jobs' relative times count from.
    pub reaction: Reaction,
    /// What the kernel probe found, for the record's host facts.
    pub kernel_features: Option<crate::kernel_features::KernelFeatures>,
}

/// New jobs per second at most, by default (`--start-rate`).
pub const DEFAULT_START_RATE: f64 = 60.0;

/// Extra attempts of `netdrill run` by default (`--retries`): one quiet
/// retry, as NIPA retries once.
pub const DEFAULT_RETRIES: u32 = 1;

/// How often the CPUs' idle time is read while a retry waits.
const LOAD_PERIOD: Duration = Duration::from_millis(100);

impl ScheduleSettings {
    /// The default number of jobs at once: twelve per CPU, at most 64.
    ///
    /// A job mostly sleeps (about 0.06 s of CPU over 0.35 s on the kernel
    /// suite). Measured on a 2-vCPU VM (HZ=250), kernel suite, 306 rows
    /// compared with packetdrill run alone: -j 4 to -j 24 all turned one or two
    /// rows per run on average, always the same kernel-timer-bound scripts (see
    /// ci/README.md, "Parallel runs and flakes"), while the wall time fell from
    /// 34 s to 9 s; -j 32 turned two a run. Parallelism at all, not its degree,
    /// is what exposes them, so the default takes the speed.
    pub fn default_jobs_at_once() -> usize {
        (12 * std::thread::available_parallelism().map_or(1, |n| n.get())).min(64)
    }

    /// What the scheduler decides by.
    pub fn policy(&self) -> Policy {
        Policy {
            jobs_at_once: self.jobs_at_once,
            retries: self.retries,
            start_interval: self.start_interval,
            grace: self.grace,
            slow_period: self.slow_period,
            artifacts: self.artifacts.is_some(),
            quiet: QuietRule::for_cpus(std::thread::available_parallelism().map_or(1, |n| n.get())),
            timeout_per: self.timeout_per,
        }
    }
}

impl Default for ScheduleSettings {
    fn default() -> Self {
        ScheduleSettings {
            jobs_at_once: Self::default_jobs_at_once(),
            retries: 0,
            timeout_per: TimeoutPer::Job,
            start_interval: Duration::from_secs_f64(1.0 / DEFAULT_START_RATE),
            grace: Duration::from_secs(2),
            slow_period: Duration::from_secs(15),
            job_exe: PathBuf::from("/proc/self/exe"),
            tolerance_usecs: 4000,
            durations: None,
            artifacts: None,
            kernel_log: None,
            reaction: Reaction::Packetdrill,
            kernel_features: None,
        }
    }
}

/// Run `jobs`, telling `sink` what happens; SIGINT, SIGTERM and SIGHUP stop
/// the run. Returns the record of the run. Jobs with a skip reason or a
/// problem are recorded without running.
pub fn run(
    jobs: &[Job],
    settings: &ScheduleSettings,
    sink: &mut dyn FnMut(&RunnerEvent),
) -> std::io::Result<RunRecord> {
    let mut signals = SignalPipe::new()?;
    run_with_signals(jobs, settings, &mut signals, sink)
}

/// [`run`], stopped by what `signals` says instead of the process's signals.
pub fn run_with_signals(
    jobs: &[Job],
    settings: &ScheduleSettings,
    signals: &mut dyn SignalSource,
    sink: &mut dyn FnMut(&RunnerEvent),
) -> std::io::Result<RunRecord> {
    let start_unix = unix_now();
    let mut durations = settings
        .durations
        .as_deref()
        .map(Durations::load)
        .unwrap_or_default();
    let mut scheduler = Scheduler::new(jobs, settings.policy(), &durations);
    // The log is read from now on; a log that cannot be opened (no root, no
    // /dev/kmsg in a container) only means no splats are reported.
    let kernel_log = match &settings.kernel_log {
        Some(path) => match KernelLog::open(path) {
            Ok(log) => Some(log),
            Err(e) => {
                eprintln!(
                    "netdrill: note: {}: {e}: kernel warnings and oopses are not reported",
                    path.display()
                );
                None
            }
        },
        None => None,
    };
    let mut driver = Driver {
        jobs,
        settings,
        // Where the host delegates none, the jobs are held without.
        cgroups: Delegation::find().ok(),
        processes: (0..jobs.len()).map(|_| None).collect(),
        events: VecDeque::from([SchedulerEvent::Begin { start_unix }]),
        kernel_log,
        meter: CpuMeter::new(Path::new("/proc/stat"), LOAD_PERIOD),
        sink,
    };
    while !driver.decide(&mut scheduler) {
        let mut due = scheduler.next_wake();
        if scheduler.wants_load() {
            let next_reading = Instant::now() + driver.meter.period();
            due = Some(due.map_or(next_reading, |d| d.min(next_reading)));
        }
        driver.wait(&*signals, due)?;
        driver.look(signals, scheduler.wants_load());
    }
    // What the kernel said up to the end, and a report still open.
    driver.read_kernel_log(true);
    driver.decide(&mut scheduler);
    let interrupted = scheduler.interrupted();
    let kernel_splats = scheduler.kernel_splats().to_vec();
    let jobs = scheduler.into_records();
    for rec in &jobs {
        if let Some(last) = rec.last_attempt() {
            durations.set(&rec.id, last.duration_secs);
        }
    }
    if let Some(path) = &settings.durations {
        // Best effort: the durations only order the next run.
        let _ = durations.save(path);
    }
    let record = RunRecord {
        host: HostInfo {
            kernel_features: settings.kernel_features.clone(),
            ..host_info()
        },
        start_unix,
        end_unix: unix_now(),
        jobs_at_once: settings.jobs_at_once.max(1),
        tolerance_usecs: settings.tolerance_usecs,
        interrupted,
        jobs,
        kernel_splats,
        vm: None,
    };
    (driver.sink)(&RunnerEvent::RunFinished {
        record: record.clone(),
    });
    Ok(record)
}

/// The effects of one run.
struct Driver<'a, 's> {
    jobs: &'a [Job],
    settings: &'a ScheduleSettings,
    /// The running job process of each job, by job.
    processes: Vec<Option<JobProcess>>,
    /// The cgroup delegated to the run, if the host delegates one.
    cgroups: Option<Delegation>,
    /// What happened, for the scheduler.
    events: VecDeque<SchedulerEvent>,
    kernel_log: Option<KernelLog>,
    /// The CPUs' idle time, read while a retry waits for a quiet machine.
    meter: CpuMeter,
    sink: &'s mut dyn FnMut(&RunnerEvent),
}

impl Driver<'_, '_> {
    /// Hand every pending event to the scheduler and do what it says; whether
    /// the run is over.
    fn decide(&mut self, scheduler: &mut Scheduler) -> bool {
        let mut over = false;
        while let Some(event) = self.events.pop_front() {
            for action in scheduler.handle(event, Instant::now()) {
                over |= matches!(action, Action::Finish);
                self.perform(action);
            }
        }
        over
    }

    fn perform(&mut self, action: Action) {
        match action {
            Action::Start { job, attempt: _ } => {
                // The idle time before a start says nothing of after it.
                self.meter.restart();
                self.start(job);
            }
            Action::Kill { job, signal } => {
                let signal = match signal {
                    KillSignal::Term => Signal::SIGTERM,
                    KillSignal::Kill => Signal::SIGKILL,
                };
                if let Some(p) = &self.processes[job] {
                    p.signal(signal);
                }
            }
            Action::Emit(event) => (self.sink)(&event),
            Action::WriteArtifacts {
                job,
                attempt,
                packets,
            } => {
                let attempt = match &self.settings.artifacts {
                    Some(dir) => with_artifacts(*attempt, &self.jobs[job], packets, dir),
                    None => *attempt,
                };
                self.events.push_back(SchedulerEvent::ArtifactsWritten {
                    job,
                    attempt: Box::new(attempt),
                });
            }
            Action::Finish => {}
        }
    }

    fn start(&mut self, job: usize) {
        let exe = &self.settings.job_exe;
        let capture_packets = self.settings.artifacts.is_some();
        let cgroup = self
            .cgroups
            .as_mut()
            .and_then(|d| d.job_leaf(&self.jobs[job].limits).ok());
        let reaction = self.settings.reaction;
        match JobProcess::spawn(&self.jobs[job], exe, capture_packets, reaction, cgroup) {
            Ok(p) => self.processes[job] = Some(p),
            Err(e) => self.events.push_back(SchedulerEvent::SpawnFailed {
                job,
                start_unix: unix_now(),
                error: format!("could not start the job process {}: {e}", exe.display()),
            }),
        }
    }

    /// Sleep until a descriptor is ready or something is due.
    fn wait(&self, signals: &dyn SignalSource, due: Option<Instant>) -> std::io::Result<()> {
        let now = Instant::now();
        let processes = self.processes.iter().flatten();
        let wake = processes
            .clone()
            .filter_map(|p| p.wake(now))
            .chain(due)
            .fold(now + MAX_SLEEP, Instant::min);
        let mut fds: Vec<PollFd> = signals
            .fd()
            .into_iter()
            .chain(self.kernel_log.as_ref().and_then(KernelLog::fd))
            .chain(processes.flat_map(|p| p.poll_fds()))
            .map(|fd| PollFd::new(fd, PollFlags::POLLIN))
            .collect();
        let timeout = wake.saturating_duration_since(now);
        let ms = u16::try_from(timeout.as_millis().max(1)).unwrap_or(u16::MAX);
        match nix::poll::poll(&mut fds, PollTimeout::from(ms)) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// What happened while the loop slept: signals, output, exits, and the
    /// CPUs' idle time when it is `wanted`.
    fn look(&mut self, signals: &mut dyn SignalSource, wanted: bool) {
        self.events
            .extend(signals.take().into_iter().map(SchedulerEvent::Signal));
        self.read_kernel_log(false);
        let now = Instant::now();
        for job in 0..self.processes.len() {
            let Some(p) = self.processes[job].as_mut() else {
                continue;
            };
            p.pump();
            if p.check_exited(now) {
                self.events.push_back(SchedulerEvent::Exited { job });
            }
            if p.finished(now) {
                if let Some(p) = self.processes[job].take() {
                    let exit = Box::new(p.reap());
                    self.events
                        .push_back(SchedulerEvent::Collected { job, exit });
                }
            }
        }
        if wanted {
            if let Some(idle_percent) = self.meter.sample(now) {
                self.events.push_back(SchedulerEvent::Load { idle_percent });
            }
        }
        self.events.push_back(SchedulerEvent::Tick);
    }
}

impl Driver<'_, '_> {
    /// The splats the kernel's log completed since the last look (and, at the
    /// `end`, the one still open).
    fn read_kernel_log(&mut self, end: bool) {
        let Some(log) = self.kernel_log.as_mut() else {
            return;
        };
        let mut splats = log.read(unix_now());
        if end {
            splats.extend(log.finish());
        }
        self.events.extend(
            splats
                .into_iter()
                .map(|s| SchedulerEvent::KernelSplat(Box::new(s))),
        );
    }
}

/// Write the failure artifacts of an attempt under `dir`, and note where in the
/// attempt. A folder that cannot be written is noted in the attempt's log.
fn with_artifacts(mut attempt: Attempt, job: &Job, packets: Packets, dir: &Path) -> Attempt {
    if attempt.result == AttemptResult::Pass {
        return attempt;
    }
    if let Some(note) = packets.dropped_note() {
        push_log_line(&mut attempt.log, &note);
    }
    // The writer reads the job's name, arguments and replay command.
    let job_record = record::job_record(job, Verdict::Fail, Vec::new());
    match crate::report::artifacts::write(dir, &job_record, &attempt, &packets.kept) {
        Ok(folder) => attempt.artifacts = Some(folder),
        Err(e) => push_log_line(
            &mut attempt.log,
            &format!(
                "[netdrill: could not write the artifacts under {}: {e}]",
                dir.display()
            ),
        ),
    }
    attempt
}

/// Add a line to a log, on a line of its own.
fn push_log_line(log: &mut String, line: &str) {
    if !log.is_empty() && !log.ends_with('\n') {
        log.push('\n');
    }
    log.push_str(line);
    log.push('\n');
}
