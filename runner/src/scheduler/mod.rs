//! The decisions of a suite run, as a plain state machine: which job starts
//! next (longest known first, never more than the jobs at once, never two
//! starts closer than the start interval), when an attempt is retried, when a
//! job is stopped (its timeout: SIGTERM, then SIGKILL after the grace period),
//! when a slow job is reported, what Ctrl-C does (the first signal: nothing new
//! starts and running jobs get SIGTERM; a second: SIGKILL), and when the run is
//! over. Every decision goes through one function, [`Scheduler::handle`]: a
//! [`SchedulerEvent`] and the time in, [`Action`]s out. It starts, reads and
//! kills nothing itself; the driver ([`crate::driver`]) does what the actions
//! say and reports back what happened, so every decision is tested without a
//! process.
//!
//! Each decision has one place: whether a failed attempt is retried
//! (`should_retry`); when a retry starts (it is held until the machine is
//! quiet, [`quiet::is_quiet`], judged from the jobs running and the CPU idle
//! time the driver measures and reports as [`SchedulerEvent::Load`]; at the
//! latest when nothing else runs); how long an attempt may run (`due`: its
//! job's timeout, or under `--timeout-per script` a budget the IP versions of
//! a script share, [`quiet::script_deadline`]); and what reporters hear
//! ([`Action::Emit`], in order, so a streaming reporter consumes them as they
//! come).

pub mod quiet;

use crate::durations::Durations;
use crate::model::{
    Attempt, AttemptResult, Expectation, Job, JobRecord, KernelSplat, RunnerEvent, StopSignal,
    TimeoutPer, Verdict,
};
use crate::record::{self, JobExit, Packets};
use quiet::{Load, QuietRule};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How the scheduler decides.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    /// Job processes at once, at most.
    pub jobs_at_once: usize,
    /// Extra attempts for a job that did not pass.
    pub retries: u32,
    /// Least time between two job starts.
    pub start_interval: Duration,
    /// Between SIGTERM and SIGKILL.
    pub grace: Duration,
    /// A [`RunnerEvent::JobSlow`] after each such period a job keeps running.
    pub slow_period: Duration,
    /// Whether failed attempts get artifacts ([`Action::WriteArtifacts`]).
    pub artifacts: bool,
    /// When a held retry may start.
    pub quiet: QuietRule,
    /// What a job's timeout covers: each job, or the IP versions of a script
    /// together.
    pub timeout_per: TimeoutPer,
}

/// What happened, as the driver tells it.
#[derive(Clone, Debug, PartialEq)]
pub enum SchedulerEvent {
    /// The run begins (wall-clock time, for the records of jobs that do not run).
    Begin { start_unix: f64 },
    /// Time passed.
    Tick,
    /// A stop signal came.
    Signal(StopSignal),
    /// The job process of `job` could not be started (`error` says why).
    SpawnFailed {
        job: usize,
        start_unix: f64,
        error: String,
    },
    /// The job process of `job` exited; its pipes may still be draining.
    Exited { job: usize },
    /// The job process of `job` is reaped and everything it left is read.
    Collected { job: usize, exit: Box<JobExit> },
    /// The artifacts asked for by [`Action::WriteArtifacts`] are written (the
    /// attempt now says where, or in its log why not).
    ArtifactsWritten { job: usize, attempt: Box<Attempt> },
    /// The kernel logged a splat (see [`crate::kernel_log`]).
    KernelSplat(Box<KernelSplat>),
    /// The share of CPU time that was idle since the previous measure, in
    /// percent (from `/proc/stat`).
    Load { idle_percent: f64 },
}

/// A signal for a job's process group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KillSignal {
    /// SIGTERM: stop, gracefully.
    Term,
    /// SIGKILL.
    Kill,
}

/// What the driver is to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Start the job process of attempt `attempt` of `job`.
    Start { job: usize, attempt: u32 },
    /// Signal the process group of `job`.
    Kill { job: usize, signal: KillSignal },
    /// Tell the reporters.
    Emit(Box<RunnerEvent>),
    /// Write the artifacts of this failed attempt, then report back with
    /// [`SchedulerEvent::ArtifactsWritten`].
    WriteArtifacts {
        job: usize,
        attempt: Box<Attempt>,
        packets: Packets,
    },
    /// The run is over: every job has its record, or the run was interrupted
    /// and nothing runs any more.
    Finish,
}

/// Why a job's processes are being stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StopReason {
    Timeout,
    Interrupt,
}

/// How far the stopping of a job has gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kill {
    None,
    Termed { at: Instant },
    Killed,
}

/// An attempt whose process is running (or exited and not yet collected).
#[derive(Clone, Debug)]
struct Running {
    attempt: u32,
    started: Instant,
    deadline: Option<Instant>,
    next_slow: Instant,
    kill: Kill,
    stop: Option<StopReason>,
    exited: bool,
}

/// Every decision of a run over `jobs`; see the module documentation.
pub struct Scheduler<'a> {
    jobs: &'a [Job],
    policy: Policy,
    /// (job, attempt number) to start, first first.
    queue: VecDeque<(usize, u32)>,
    /// Retries waiting for a quiet machine, the longest failed attempt first.
    held: VecDeque<(usize, u32)>,
    /// The CPUs' idle share measured since the last start, if measured.
    idle_percent: Option<f64>,
    /// Run time of the ended attempts of each script, by attempt number
    /// (`--timeout-per script`).
    spent: BTreeMap<(PathBuf, u32), Duration>,
    running: BTreeMap<usize, Running>,
    /// Jobs whose failed attempt is having its artifacts written.
    writing_artifacts: BTreeSet<usize>,
    /// The attempts of each job that has no record yet.
    attempts: Vec<Vec<Attempt>>,
    records: Vec<Option<JobRecord>>,
    next_start: Option<Instant>,
    interrupted: Option<StopSignal>,
    kernel_splats: Vec<KernelSplat>,
    begun: bool,
    finished: bool,
}

impl<'a> Scheduler<'a> {
    /// A scheduler for `jobs`; `past` orders them (longest known first).
    pub fn new(jobs: &'a [Job], policy: Policy, past: &Durations) -> Scheduler<'a> {
        let policy = Policy {
            jobs_at_once: policy.jobs_at_once.max(1),
            ..policy
        };
        let runnable = (0..jobs.len())
            .filter(|&i| jobs[i].skip_reason.is_none() && jobs[i].problem.is_none())
            .collect();
        Scheduler {
            jobs,
            policy,
            queue: start_order(jobs, runnable, past)
                .into_iter()
                .map(|i| (i, 1))
                .collect(),
            held: VecDeque::new(),
            idle_percent: None,
            spent: BTreeMap::new(),
            running: BTreeMap::new(),
            writing_artifacts: BTreeSet::new(),
            attempts: vec![Vec::new(); jobs.len()],
            records: vec![None; jobs.len()],
            next_start: None,
            interrupted: None,
            kernel_splats: Vec::new(),
            begun: false,
            finished: false,
        }
    }

    /// Decide what to do about `event`, which happened at `now`.
    pub fn handle(&mut self, event: SchedulerEvent, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        match event {
            SchedulerEvent::Begin { start_unix } => self.begin(start_unix, &mut out),
            SchedulerEvent::Tick => {}
            SchedulerEvent::Signal(signal) => self.on_signal(signal, now, &mut out),
            SchedulerEvent::SpawnFailed {
                job,
                start_unix,
                error,
            } => {
                if let Some(r) = self.running.remove(&job) {
                    let attempt = record::spawn_failed_attempt(
                        &self.jobs[job],
                        r.attempt,
                        start_unix,
                        &error,
                    );
                    self.attempt_ended(job, attempt, Packets::default(), &mut out);
                }
            }
            SchedulerEvent::Exited { job } => {
                if let Some(r) = self.running.get_mut(&job) {
                    r.exited = true;
                }
            }
            SchedulerEvent::Collected { job, exit } => {
                self.collected(job, *exit, now, &mut out);
            }
            SchedulerEvent::ArtifactsWritten { job, attempt } => {
                if self.writing_artifacts.remove(&job) {
                    self.settle(job, *attempt, &mut out);
                }
            }
            SchedulerEvent::KernelSplat(splat) => {
                self.kernel_splats.push((*splat).clone());
                out.push(emit(RunnerEvent::KernelSplat { splat: *splat }));
            }
            SchedulerEvent::Load { idle_percent } => self.idle_percent = Some(idle_percent),
        }
        if self.begun && !self.finished {
            self.watch(now, &mut out);
            self.start_jobs(now, &mut out);
            if self.is_over() {
                self.finished = true;
                out.push(Action::Finish);
            }
        }
        out
    }

    /// The next time something is due (a start, a timeout, the end of a grace
    /// period, a slow-job notice), if anything is.
    pub fn next_wake(&self) -> Option<Instant> {
        // A held retry that may not start yet waits for an event (a job
        // ends, a load measure), not for a time.
        let can_start = self.interrupted.is_none()
            && self.running.len() < self.policy.jobs_at_once
            && (!self.queue.is_empty() || (!self.held.is_empty() && self.is_quiet()));
        let start = self.next_start.filter(|_| can_start);
        let running = self
            .running
            .iter()
            .filter(|(_, r)| !r.exited)
            .flat_map(|(&job, r)| {
                let deadline = self.due(job, r).filter(|_| r.stop.is_none());
                let kill = match r.kill {
                    Kill::Termed { at } => Some(at + self.policy.grace),
                    _ => None,
                };
                [deadline, kill, Some(r.next_slow)]
            });
        start.into_iter().chain(running.flatten()).min()
    }

    /// Whether a retry waits for the machine to be quiet: the driver then
    /// measures the CPUs' idle time ([`SchedulerEvent::Load`]).
    pub fn wants_load(&self) -> bool {
        !self.held.is_empty() && self.interrupted.is_none()
    }

    /// The signal that interrupted the run, if one did.
    pub fn interrupted(&self) -> Option<StopSignal> {
        self.interrupted
    }

    /// The kernel splats seen so far, in order.
    pub fn kernel_splats(&self) -> &[KernelSplat] {
        &self.kernel_splats
    }

    /// The record of every job, in the jobs' order: a job with no result (the
    /// run was stopped first) is [`Verdict::NotRun`].
    pub fn into_records(self) -> Vec<JobRecord> {
        let jobs = self.jobs;
        self.records
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                r.unwrap_or_else(|| record::job_record(&jobs[i], Verdict::NotRun, Vec::new()))
            })
            .collect()
    }

    /// The run begins: jobs that will not run are recorded now.
    fn begin(&mut self, start_unix: f64, out: &mut Vec<Action>) {
        if self.begun {
            return;
        }
        self.begun = true;
        out.push(emit(RunnerEvent::RunStarted {
            total_jobs: self.jobs.len(),
            jobs_at_once: self.policy.jobs_at_once,
            start_unix,
            planned: self
                .jobs
                .iter()
                .map(|j| record::job_record(j, Verdict::NotRun, Vec::new()))
                .collect(),
        }));
        for (i, job) in self.jobs.iter().enumerate() {
            if job.skip_reason.is_some() {
                self.record(i, Verdict::Skip, Vec::new(), out);
            } else if let Some(problem) = &job.problem {
                let attempt = record::problem_attempt(job, problem, start_unix);
                self.attempt_ended(i, attempt, Packets::default(), out);
            }
        }
    }

    /// The first signal stops new starts and asks running jobs to stop; a
    /// second kills them. A job whose process already exited keeps its result.
    fn on_signal(&mut self, signal: StopSignal, now: Instant, out: &mut Vec<Action>) {
        if self.interrupted.is_none() {
            self.interrupted = Some(signal);
            out.push(emit(RunnerEvent::Interrupted));
            // A held retry will not run: the job has its earlier attempts.
            while let Some((job, _)) = self.held.pop_front() {
                let attempts = std::mem::take(&mut self.attempts[job]);
                let verdict = record::verdict_of(&attempts, expectation(&self.jobs[job]));
                self.record(job, verdict, attempts, out);
            }
            for (&job, r) in self.running.iter_mut().filter(|(_, r)| !r.exited) {
                r.stop.get_or_insert(StopReason::Interrupt);
                if r.kill == Kill::None {
                    r.kill = Kill::Termed { at: now };
                    out.push(kill(job, KillSignal::Term));
                }
            }
        } else {
            for (&job, r) in self.running.iter_mut().filter(|(_, r)| !r.exited) {
                r.kill = Kill::Killed;
                out.push(kill(job, KillSignal::Kill));
            }
        }
    }

    /// Timeouts, the ends of grace periods, and slow-job notices.
    fn watch(&mut self, now: Instant, out: &mut Vec<Action>) {
        let due: Vec<(usize, Instant)> = self
            .running
            .iter()
            .filter(|(_, r)| !r.exited && r.stop.is_none())
            .filter_map(|(&job, r)| Some((job, self.due(job, r)?)))
            .filter(|&(_, deadline)| now >= deadline)
            .collect();
        for (job, _) in due {
            if let Some(r) = self.running.get_mut(&job) {
                r.stop = Some(StopReason::Timeout);
                r.kill = Kill::Termed { at: now };
                out.push(kill(job, KillSignal::Term));
            }
        }
        for (&job, r) in self.running.iter_mut().filter(|(_, r)| !r.exited) {
            if let Kill::Termed { at } = r.kill {
                if now >= at + self.policy.grace {
                    r.kill = Kill::Killed;
                    out.push(kill(job, KillSignal::Kill));
                }
            }
            if r.stop.is_none() && now >= r.next_slow {
                r.next_slow = now + self.policy.slow_period;
                out.push(emit(RunnerEvent::JobSlow {
                    id: self.jobs[job].id.clone(),
                    elapsed_secs: now.duration_since(r.started).as_secs_f64(),
                }));
            }
        }
    }

    /// Start what may start now.
    fn start_jobs(&mut self, now: Instant, out: &mut Vec<Action>) {
        // A failed attempt whose artifacts are being written may be retried
        // first: wait for it.
        if self.interrupted.is_some() || !self.writing_artifacts.is_empty() {
            return;
        }
        while self.running.len() < self.policy.jobs_at_once
            && self.next_start.is_none_or(|t| now >= t)
        {
            let held = self.held.front().filter(|_| self.is_quiet());
            let next = match held {
                Some(_) => self.held.pop_front(),
                None => self.queue.pop_front(),
            };
            let Some((job, attempt)) = next else {
                return;
            };
            // Idle time measured before this start says nothing of after it.
            self.idle_percent = None;
            self.running.insert(
                job,
                Running {
                    attempt,
                    started: now,
                    deadline: self.deadline(job, now),
                    next_slow: now + self.policy.slow_period,
                    kill: Kill::None,
                    stop: None,
                    exited: false,
                },
            );
            self.next_start = Some(now + self.policy.start_interval);
            out.push(emit(RunnerEvent::JobStarted {
                id: self.jobs[job].id.clone(),
                attempt,
            }));
            out.push(Action::Start { job, attempt });
        }
    }

    /// Whether a held retry may start now.
    fn is_quiet(&self) -> bool {
        let load = Load {
            running: self.running.len(),
            idle_percent: self.idle_percent,
            ending: self.queue.is_empty(),
        };
        quiet::is_quiet(load, self.policy.quiet)
    }

    fn is_over(&self) -> bool {
        self.running.is_empty()
            && self.writing_artifacts.is_empty()
            && (self.interrupted.is_some() || (self.queue.is_empty() && self.held.is_empty()))
    }

    /// A job process is gone: its attempt, unless Ctrl-C stopped it.
    fn collected(&mut self, job: usize, exit: JobExit, now: Instant, out: &mut Vec<Action>) {
        let Some(r) = self.running.remove(&job) else {
            return;
        };
        *self
            .spent
            .entry((self.jobs[job].path.clone(), r.attempt))
            .or_default() += now.saturating_duration_since(r.started);
        if r.stop == Some(StopReason::Interrupt) {
            // Stopped by Ctrl-C: this attempt has no result. A job with earlier
            // attempts (a retry) is recorded with those.
            if !self.attempts[job].is_empty() {
                let attempts = std::mem::take(&mut self.attempts[job]);
                let verdict = record::verdict_of(&attempts, expectation(&self.jobs[job]));
                self.record(job, verdict, attempts, out);
            }
            return;
        }
        let timed_out = (r.stop == Some(StopReason::Timeout)).then_some(self.policy.timeout_per);
        let (attempt, packets) = record::attempt_of(&self.jobs[job], r.attempt, exit, timed_out);
        self.attempt_ended(job, attempt, packets, out);
    }

    /// An attempt ended: its artifacts first when it failed and they are
    /// wanted, then [`Scheduler::settle`].
    fn attempt_ended(
        &mut self,
        job: usize,
        attempt: Attempt,
        packets: Packets,
        out: &mut Vec<Action>,
    ) {
        if self.policy.artifacts && attempt.result != AttemptResult::Pass {
            self.writing_artifacts.insert(job);
            out.push(Action::WriteArtifacts {
                job,
                attempt: Box::new(attempt),
                packets,
            });
        } else {
            self.settle(job, attempt, out);
        }
    }

    /// When an attempt of `job` that starts at `now` is stopped: at the job's
    /// timeout, if it has one (one too far to be a time is none).
    fn deadline(&self, job: usize, now: Instant) -> Option<Instant> {
        self.jobs[job].timeout.and_then(|t| now.checked_add(t))
    }

    /// When the running attempt `r` of `job` is stopped: at its own deadline,
    /// or under `--timeout-per script` when the attempts of the same number
    /// of its script's IP versions have used the timeout together.
    fn due(&self, job: usize, r: &Running) -> Option<Instant> {
        match self.policy.timeout_per {
            TimeoutPer::Job => r.deadline,
            TimeoutPer::Script => {
                let budget = self.jobs[job].timeout?;
                let path = &self.jobs[job].path;
                let key = (path.clone(), r.attempt);
                let spent = self.spent.get(&key).copied().unwrap_or_default();
                let started: Vec<Instant> = self
                    .running
                    .iter()
                    // An attempt counts until it is collected.
                    .filter(|(&j, o)| o.attempt == r.attempt && &self.jobs[j].path == path)
                    .map(|(_, o)| o.started)
                    .collect();
                quiet::script_deadline(budget, spent, &started)
            }
        }
    }

    /// Whether `job` gets another attempt after `attempt`.
    fn should_retry(&self, job: &Job, attempt: &Attempt) -> bool {
        // A failure the suite expects is the answer, not a flake: no retry. (A
        // timeout or a crash is not what an expected failure means, and is
        // retried.) Nor is a job that cannot run retried, nor an init command
        // that fails on a kernel feature this kernel lacks (it is a skip), nor
        // anything after a stop signal.
        let expected = job.xfail.is_some() && attempt.result == AttemptResult::Fail;
        attempt.result != AttemptResult::Pass
            && !expected
            && !record::skips_without_retry(job, attempt)
            && job.problem.is_none()
            && attempt.number <= self.policy.retries
            && self.interrupted.is_none()
    }

    /// Retry the job (held until the machine is quiet), or decide its verdict.
    fn settle(&mut self, job: usize, attempt: Attempt, out: &mut Vec<Action>) {
        let j = &self.jobs[job];
        if self.should_retry(j, &attempt) {
            out.push(emit(RunnerEvent::AttemptFailed {
                id: j.id.clone(),
                attempt: attempt.clone(),
            }));
            // Longest first, as the first attempts: a long retry started
            // last would end the run last.
            let took = |a: &Attempt| a.duration_secs;
            let at = self
                .held
                .iter()
                .position(|&(h, _)| self.attempts[h].last().map_or(0.0, took) < took(&attempt))
                .unwrap_or(self.held.len());
            self.held.insert(at, (job, attempt.number + 1));
            self.attempts[job].push(attempt);
            return;
        }
        self.attempts[job].push(attempt);
        let attempts = std::mem::take(&mut self.attempts[job]);
        let verdict = record::verdict_of(&attempts, expectation(j));
        self.record(job, verdict, attempts, out);
    }

    fn record(
        &mut self,
        job: usize,
        verdict: Verdict,
        attempts: Vec<Attempt>,
        out: &mut Vec<Action>,
    ) {
        let rec = record::job_record(&self.jobs[job], verdict, attempts);
        out.push(emit(RunnerEvent::JobFinished {
            record: rec.clone(),
        }));
        self.records[job] = Some(rec);
    }
}

/// How surely `job` is expected to fail, if it is.
fn expectation(job: &Job) -> Option<Expectation> {
    job.xfail.as_ref().map(|x| x.expectation)
}

fn emit(event: RunnerEvent) -> Action {
    Action::Emit(Box::new(event))
}

fn kill(job: usize, signal: KillSignal) -> Action {
    Action::Kill { job, signal }
}

/// The order to start `runnable` jobs in: the longest last time first; jobs
/// never seen before go first (they may be long), in discovery order.
fn start_order(jobs: &[Job], mut runnable: Vec<usize>, past: &Durations) -> Vec<usize> {
    runnable.sort_by(
        |&a, &b| match (past.of(&jobs[a].id), past.of(&jobs[b].id)) {
            (None, None) => a.cmp(&b),
            (None, Some(_)) => std::cmp::Ordering::Less,
            (Some(_), None) => std::cmp::Ordering::Greater,
            (Some(x), Some(y)) => y.total_cmp(&x).then(a.cmp(&b)),
        },
    );
    runnable
}

#[cfg(test)]
mod tests;
