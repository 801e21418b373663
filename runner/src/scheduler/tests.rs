//! The scheduler's decisions, with no process: events in, actions out.

use super::*;
use crate::model::{FailureKind, JobId, KernelSplat};
use crate::record::ExitStatus;
use netdrill_engine::outcome::{Failure, FailureKind as EngineFailureKind, Outcome};
use std::path::PathBuf;

fn job(script: &str) -> Job {
    Job {
        id: JobId {
            suite: "s".into(),
            script: script.into(),
            ip_version: "ipv4".into(),
        },
        path: PathBuf::from(script),
        dir: PathBuf::from("/s"),
        file_name: script.into(),
        args: vec![],
        timeout: Some(Duration::from_secs(10)),
        sysctls: vec![],
        limits: crate::model::Limits::default(),
        xfail: None,
        skip_reason: None,
        problem: None,
        unsupported: None,
    }
}

fn policy() -> Policy {
    Policy {
        jobs_at_once: 4,
        retries: 0,
        start_interval: Duration::ZERO,
        grace: Duration::from_secs(2),
        slow_period: Duration::from_secs(15),
        artifacts: false,
        quiet: QuietRule::for_cpus(2),
        timeout_per: TimeoutPer::Job,
    }
}

fn exit(outcome: Option<Outcome>) -> Box<JobExit> {
    Box::new(JobExit {
        start_unix: 100.0,
        duration_secs: 0.5,
        status: ExitStatus::Code(if outcome.as_ref().is_some_and(Outcome::passed) {
            0
        } else {
            1
        }),
        cpu_secs: Some(0.1),
        max_rss_kib: Some(1000),
        last_line: Some(3),
        outcome,
        sandbox_failed: None,
        limits_reached: Vec::new(),
        protocol_error: None,
        log: String::new(),
        packets: Packets::default(),
    })
}

fn passed() -> Box<JobExit> {
    exit(Some(Outcome::Pass {
        warnings: vec![],
        timing_slack: None,
    }))
}

fn failed() -> Box<JobExit> {
    exit(Some(Outcome::Fail(Failure {
        kind: EngineFailureKind::Timing,
        line: Some(3),
        message: "a.pkt:3: timing error".into(),
        mismatch: None,
        timing_slack: None,
    })))
}

/// A scheduler and the clock of a test: time is `t0 + ms`.
struct Run<'a> {
    s: Scheduler<'a>,
    t0: Instant,
}

impl<'a> Run<'a> {
    fn new(jobs: &'a [Job], policy: Policy) -> Run<'a> {
        Run::with_past(jobs, policy, &Durations::default())
    }

    fn with_past(jobs: &'a [Job], policy: Policy, past: &Durations) -> Run<'a> {
        Run {
            s: Scheduler::new(jobs, policy, past),
            t0: Instant::now(),
        }
    }

    fn at(&self, ms: u64) -> Instant {
        self.t0 + Duration::from_millis(ms)
    }

    fn event(&mut self, ms: u64, event: SchedulerEvent) -> Vec<Action> {
        let now = self.at(ms);
        self.s.handle(event, now)
    }

    fn begin(&mut self) -> Vec<Action> {
        self.event(0, SchedulerEvent::Begin { start_unix: 100.0 })
    }

    /// The job exits and is collected at `ms`.
    fn ends(&mut self, ms: u64, job: usize, exit: Box<JobExit>) -> Vec<Action> {
        let mut out = self.event(ms, SchedulerEvent::Exited { job });
        out.extend(self.event(ms, SchedulerEvent::Collected { job, exit }));
        out
    }
}

/// What the actions tell the reporters.
fn emitted(actions: &[Action]) -> Vec<&RunnerEvent> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Emit(event) => Some(&**event),
            _ => None,
        })
        .collect()
}

fn starts(actions: &[Action]) -> Vec<(usize, u32)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Start { job, attempt } => Some((*job, *attempt)),
            _ => None,
        })
        .collect()
}

fn kills(actions: &[Action]) -> Vec<(usize, KillSignal)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Kill { job, signal } => Some((*job, *signal)),
            _ => None,
        })
        .collect()
}

fn finished(actions: &[Action]) -> Vec<JobRecord> {
    emitted(actions)
        .into_iter()
        .filter_map(|e| match e {
            RunnerEvent::JobFinished { record } => Some(record.clone()),
            _ => None,
        })
        .collect()
}

fn retried(actions: &[Action]) -> Vec<u32> {
    emitted(actions)
        .into_iter()
        .filter_map(|e| match e {
            RunnerEvent::AttemptFailed { attempt, .. } => Some(attempt.number),
            _ => None,
        })
        .collect()
}

fn is_finish(actions: &[Action]) -> bool {
    actions.last() == Some(&Action::Finish)
}

#[test]
fn a_run_starts_everything_it_may_and_ends_when_all_are_recorded() {
    let jobs = [job("a.pkt"), job("b.pkt")];
    let mut run = Run::new(&jobs, policy());
    let out = run.begin();
    let events = emitted(&out);
    assert!(matches!(
        events[0],
        RunnerEvent::RunStarted {
            total_jobs: 2,
            jobs_at_once: 4,
            ..
        }
    ));
    assert!(matches!(
        events[1],
        RunnerEvent::JobStarted { id, attempt: 1 } if id.script == "a.pkt"
    ));
    assert_eq!(starts(&out), vec![(0, 1), (1, 1)]);
    assert!(!is_finish(&run.ends(500, 0, passed())));
    let out = run.ends(600, 1, failed());
    let recs = finished(&out);
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].verdict, Verdict::Fail);
    let a = &recs[0].attempts[0];
    assert_eq!(a.kind, Some(FailureKind::Engine(EngineFailureKind::Timing)));
    assert_eq!(
        (a.line, a.message.as_str()),
        (Some(3), "a.pkt:3: timing error")
    );
    assert!(is_finish(&out));
    assert_eq!(run.s.next_wake(), None);
    let records = run.s.into_records();
    assert_eq!(
        records.iter().map(|r| r.verdict).collect::<Vec<_>>(),
        [Verdict::Pass, Verdict::Fail]
    );
}

#[test]
fn a_failed_attempt_is_retried_first_and_a_later_pass_is_flaky() {
    let jobs = [job("a.pkt"), job("b.pkt")];
    let mut run = Run::new(
        &jobs,
        Policy {
            jobs_at_once: 1,
            retries: 2,
            ..policy()
        },
    );
    assert_eq!(starts(&run.begin()), vec![(0, 1)]);
    let out = run.ends(100, 0, failed());
    assert_eq!(retried(&out), vec![1]);
    assert!(finished(&out).is_empty());
    // The retry goes before the jobs still waiting.
    assert_eq!(starts(&out), vec![(0, 2)]);
    let out = run.ends(200, 0, passed());
    let recs = finished(&out);
    assert_eq!(recs[0].verdict, Verdict::Flaky);
    assert_eq!(recs[0].attempts.len(), 2);
    assert_eq!(starts(&out), vec![(1, 1)]);
    // Retries run out: the last failure is the verdict.
    let out = run.ends(300, 1, failed());
    assert_eq!(starts(&out), vec![(1, 2)]);
    let out = run.ends(400, 1, failed());
    assert_eq!(starts(&out), vec![(1, 3)]);
    let out = run.ends(500, 1, failed());
    assert!(retried(&out).is_empty());
    assert_eq!(finished(&out)[0].verdict, Verdict::Fail);
    assert_eq!(finished(&out)[0].attempts.len(), 3);
    assert!(is_finish(&out));
}

#[test]
fn an_expected_failure_is_not_retried_but_its_timeout_is() {
    let mut expected = job("x.pkt");
    expected.xfail = Some(crate::model::ExpectedFailure {
        reason: "known".into(),
        expectation: crate::model::Expectation::Fails,
    });
    let jobs = [expected];
    let mut run = Run::new(
        &jobs,
        Policy {
            retries: 2,
            ..policy()
        },
    );
    run.begin();
    let out = run.event(10_000, SchedulerEvent::Tick);
    assert_eq!(kills(&out), vec![(0, KillSignal::Term)]);
    let out = run.ends(10_100, 0, exit(None));
    assert_eq!(retried(&out), vec![1]);
    assert_eq!(starts(&out), vec![(0, 2)]);
    let out = run.ends(10_200, 0, failed());
    assert!(retried(&out).is_empty());
    let recs = finished(&out);
    assert_eq!(recs[0].verdict, Verdict::Xfail);
    assert_eq!(recs[0].attempts[0].result, AttemptResult::Timeout);
}

#[test]
fn a_timeout_sends_sigterm_then_sigkill_after_the_grace() {
    let jobs = [job("hang.pkt")];
    let mut run = Run::new(&jobs, policy());
    run.begin();
    assert_eq!(run.s.next_wake(), Some(run.at(10_000)));
    assert!(kills(&run.event(9_999, SchedulerEvent::Tick)).is_empty());
    assert_eq!(
        kills(&run.event(10_000, SchedulerEvent::Tick)),
        vec![(0, KillSignal::Term)]
    );
    // Nothing more until the grace is over, then SIGKILL once.
    assert_eq!(run.s.next_wake(), Some(run.at(12_000)));
    assert!(kills(&run.event(11_999, SchedulerEvent::Tick)).is_empty());
    assert_eq!(
        kills(&run.event(12_000, SchedulerEvent::Tick)),
        vec![(0, KillSignal::Kill)]
    );
    assert!(kills(&run.event(13_000, SchedulerEvent::Tick)).is_empty());
    // Whatever it said, it timed out, at the last line it reached.
    let out = run.ends(13_100, 0, failed());
    let rec = &finished(&out)[0];
    assert_eq!(rec.verdict, Verdict::Timeout);
    let a = &rec.attempts[0];
    assert_eq!(a.result, AttemptResult::Timeout);
    assert_eq!(a.kind, Some(FailureKind::Timeout));
    assert_eq!(
        a.message,
        "hang.pkt:3: timed out after 10 seconds (the last event started on line 3)"
    );
    assert!(is_finish(&out));
}

#[test]
fn a_job_without_a_timeout_is_never_stopped_and_an_exited_one_not_either() {
    let mut forever = job("f.pkt");
    forever.timeout = None;
    let jobs = [forever, job("a.pkt")];
    let mut run = Run::new(&jobs, policy());
    run.begin();
    run.event(9_000, SchedulerEvent::Exited { job: 1 });
    let out = run.event(100_000, SchedulerEvent::Tick);
    assert!(kills(&out).is_empty());
}

#[test]
fn slow_jobs_are_reported_each_period() {
    let jobs = [job("slow.pkt")];
    let mut run = Run::new(
        &jobs,
        Policy {
            slow_period: Duration::from_secs(3),
            ..policy()
        },
    );
    run.begin();
    let slow = |out: &[Action]| {
        emitted(out)
            .into_iter()
            .filter_map(|e| match e {
                RunnerEvent::JobSlow { elapsed_secs, .. } => Some(*elapsed_secs),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    assert!(slow(&run.event(2_999, SchedulerEvent::Tick)).is_empty());
    assert_eq!(slow(&run.event(3_000, SchedulerEvent::Tick)), vec![3.0]);
    assert!(slow(&run.event(5_000, SchedulerEvent::Tick)).is_empty());
    assert_eq!(slow(&run.event(6_500, SchedulerEvent::Tick)), vec![6.5]);
    assert_eq!(run.s.next_wake(), Some(run.at(9_500)));
}

#[test]
fn the_first_signal_stops_starts_and_terms_the_second_kills() {
    let jobs = [job("a.pkt"), job("b.pkt"), job("c.pkt")];
    let mut run = Run::new(
        &jobs,
        Policy {
            jobs_at_once: 2,
            ..policy()
        },
    );
    assert_eq!(starts(&run.begin()), vec![(0, 1), (1, 1)]);
    let out = run.event(100, SchedulerEvent::Signal(StopSignal::Terminate));
    assert_eq!(emitted(&out), vec![&RunnerEvent::Interrupted]);
    assert_eq!(
        kills(&out),
        vec![(0, KillSignal::Term), (1, KillSignal::Term)]
    );
    assert!(starts(&out).is_empty());
    assert_eq!(run.s.interrupted(), Some(StopSignal::Terminate));
    let out = run.event(200, SchedulerEvent::Signal(StopSignal::Interrupt));
    assert_eq!(
        kills(&out),
        vec![(0, KillSignal::Kill), (1, KillSignal::Kill)]
    );
    assert!(emitted(&out).is_empty());
    // The first signal is the one that counts.
    assert_eq!(run.s.interrupted(), Some(StopSignal::Terminate));
    // Stopped attempts have no result; a freed slot starts nothing.
    let out = run.ends(300, 0, passed());
    assert!(finished(&out).is_empty());
    assert!(starts(&out).is_empty());
    let out = run.ends(400, 1, failed());
    assert!(finished(&out).is_empty());
    assert!(is_finish(&out));
    // Every job is in the records; those without a result as not run.
    assert_eq!(
        run.s
            .into_records()
            .iter()
            .map(|r| (r.id.script.as_str(), r.verdict, r.attempts.len()))
            .collect::<Vec<_>>(),
        [
            ("a.pkt", Verdict::NotRun, 0),
            ("b.pkt", Verdict::NotRun, 0),
            ("c.pkt", Verdict::NotRun, 0)
        ]
    );
}

#[test]
fn the_run_starts_with_every_job_planned_and_passes_kernel_splats_on() {
    let jobs = [job("a.pkt"), job("b.pkt")];
    let mut run = Run::new(&jobs, policy());
    let out = run.begin();
    match emitted(&out)[0] {
        RunnerEvent::RunStarted { planned, .. } => {
            assert_eq!(planned.len(), 2);
            assert!(planned.iter().all(|r| r.verdict == Verdict::NotRun));
            assert_eq!(planned[1].id.script, "b.pkt");
        }
        other => panic!("{other:?}"),
    }
    let splat = KernelSplat {
        at_unix: 100.2,
        title: "WARNING: CPU: 0 PID: 1 at x.c:1 f+0x1/0x2".into(),
        fingerprint: "f".into(),
        text: String::new(),
    };
    let out = run.event(200, SchedulerEvent::KernelSplat(Box::new(splat.clone())));
    assert_eq!(
        emitted(&out),
        vec![&RunnerEvent::KernelSplat {
            splat: splat.clone()
        }]
    );
    assert_eq!(run.s.kernel_splats(), &[splat]);
}

#[test]
fn an_interrupted_retry_is_recorded_with_its_earlier_attempts() {
    let jobs = [job("a.pkt")];
    let mut run = Run::new(
        &jobs,
        Policy {
            retries: 1,
            ..policy()
        },
    );
    run.begin();
    assert_eq!(starts(&run.ends(100, 0, failed())), vec![(0, 2)]);
    run.event(200, SchedulerEvent::Signal(StopSignal::Interrupt));
    let out = run.ends(300, 0, passed());
    let recs = finished(&out);
    assert_eq!(recs[0].verdict, Verdict::Fail);
    assert_eq!(recs[0].attempts.len(), 1);
    assert!(is_finish(&out));
}

#[test]
fn a_job_that_exited_before_the_signal_keeps_its_result() {
    let jobs = [job("a.pkt"), job("b.pkt")];
    let mut run = Run::new(&jobs, policy());
    run.begin();
    run.event(100, SchedulerEvent::Exited { job: 0 });
    let out = run.event(150, SchedulerEvent::Signal(StopSignal::Interrupt));
    assert_eq!(kills(&out), vec![(1, KillSignal::Term)]);
    let out = run.event(
        200,
        SchedulerEvent::Collected {
            job: 0,
            exit: passed(),
        },
    );
    assert_eq!(finished(&out)[0].verdict, Verdict::Pass);
    // No retry after a signal.
    let out = run.ends(300, 1, exit(None));
    assert!(finished(&out).is_empty());
    assert!(is_finish(&out));
}

#[test]
fn jobs_at_once_and_the_start_interval_hold() {
    let jobs: Vec<Job> = (0..5).map(|i| job(&format!("{i}.pkt"))).collect();
    let mut run = Run::new(
        &jobs,
        Policy {
            jobs_at_once: 2,
            start_interval: Duration::from_millis(100),
            ..policy()
        },
    );
    assert_eq!(starts(&run.begin()), vec![(0, 1)]);
    assert_eq!(run.s.next_wake(), Some(run.at(100)));
    assert!(starts(&run.event(99, SchedulerEvent::Tick)).is_empty());
    assert_eq!(starts(&run.event(100, SchedulerEvent::Tick)), vec![(1, 1)]);
    // Two running: nothing starts, however long it has been.
    assert!(starts(&run.event(1_000, SchedulerEvent::Tick)).is_empty());
    assert_ne!(run.s.next_wake(), Some(run.at(200)));
    assert_eq!(starts(&run.ends(1_050, 0, passed())), vec![(2, 1)]);
    // A slot frees up, but the last start was too recent.
    assert!(starts(&run.ends(1_100, 1, passed())).is_empty());
    assert_eq!(run.s.next_wake(), Some(run.at(1_150)));
    assert_eq!(
        starts(&run.event(1_150, SchedulerEvent::Tick)),
        vec![(3, 1)]
    );
}

#[test]
fn skipped_jobs_and_jobs_with_a_problem_are_recorded_without_running() {
    let mut skipped = job("skip.pkt");
    skipped.skip_reason = Some("not among --ip-versions".into());
    let mut broken = job("two.pkt");
    broken.problem = Some("Too many or unsupported --ip_version: ipv4 ipv6".into());
    let jobs = [skipped, broken, job("ok.pkt")];
    let mut run = Run::new(
        &jobs,
        Policy {
            retries: 3,
            ..policy()
        },
    );
    let out = run.begin();
    assert_eq!(starts(&out), vec![(2, 1)]);
    let recs = finished(&out);
    assert_eq!(recs[0].verdict, Verdict::Skip);
    assert!(recs[0].attempts.is_empty());
    assert_eq!(recs[1].verdict, Verdict::Fail);
    let a = &recs[1].attempts[0];
    assert_eq!(a.kind, Some(FailureKind::Engine(EngineFailureKind::Option)));
    assert_eq!(
        a.message,
        "two.pkt: Too many or unsupported --ip_version: ipv4 ipv6"
    );
    assert_eq!((a.start_unix, a.duration_secs), (100.0, 0.0));
    assert!(retried(&out).is_empty());
}

#[test]
fn failed_attempts_get_artifacts_before_anything_else_is_decided() {
    let mut broken = job("two.pkt");
    broken.problem = Some("bad".into());
    let jobs = [broken, job("a.pkt"), job("b.pkt")];
    let mut run = Run::new(
        &jobs,
        Policy {
            jobs_at_once: 1,
            retries: 1,
            artifacts: true,
            ..policy()
        },
    );
    let out = run.begin();
    let Some(Action::WriteArtifacts {
        job: 0, attempt, ..
    }) = out.last().cloned()
    else {
        panic!("{out:?}");
    };
    assert!(starts(&out).is_empty(), "waits for the artifacts");
    let mut attempt = *attempt;
    attempt.artifacts = Some(PathBuf::from("/art/two"));
    let out = run.event(
        0,
        SchedulerEvent::ArtifactsWritten {
            job: 0,
            attempt: Box::new(attempt),
        },
    );
    assert_eq!(
        finished(&out)[0].attempts[0].artifacts.as_deref(),
        Some(std::path::Path::new("/art/two"))
    );
    assert_eq!(starts(&out), vec![(1, 1)]);
    // A failure: artifacts, then the retry before job b.
    let out = run.ends(100, 1, failed());
    assert!(matches!(out[..], [Action::WriteArtifacts { job: 1, .. }]));
    let Action::WriteArtifacts { attempt, .. } = out[0].clone() else {
        unreachable!()
    };
    let out = run.event(100, SchedulerEvent::ArtifactsWritten { job: 1, attempt });
    assert_eq!(retried(&out), vec![1]);
    assert_eq!(starts(&out), vec![(1, 2)]);
    // A pass needs none.
    let out = run.ends(200, 1, passed());
    assert_eq!(finished(&out)[0].verdict, Verdict::Flaky);
    assert_eq!(starts(&out), vec![(2, 1)]);
}

#[test]
fn a_job_that_cannot_start_is_an_error_and_is_retried() {
    let jobs = [job("a.pkt")];
    let mut run = Run::new(
        &jobs,
        Policy {
            retries: 1,
            ..policy()
        },
    );
    run.begin();
    let failed_start = |run: &mut Run, ms| {
        run.event(
            ms,
            SchedulerEvent::SpawnFailed {
                job: 0,
                start_unix: 5.0,
                error: "could not start the job process /x: No such file".into(),
            },
        )
    };
    let out = failed_start(&mut run, 10);
    assert_eq!(retried(&out), vec![1]);
    assert_eq!(starts(&out), vec![(0, 2)]);
    let out = failed_start(&mut run, 20);
    let rec = &finished(&out)[0];
    assert_eq!(rec.verdict, Verdict::Error);
    let a = &rec.attempts[1];
    assert_eq!(a.kind, Some(FailureKind::SpawnError));
    assert_eq!(
        a.message,
        "a.pkt: could not start the job process /x: No such file"
    );
    assert!(is_finish(&out));
}

#[test]
fn the_longest_known_job_starts_first_and_new_ones_before_them() {
    let jobs = [
        job("short.pkt"),
        job("long.pkt"),
        job("new.pkt"),
        job("mid.pkt"),
    ];
    let mut past = Durations::default();
    past.set(&jobs[0].id, 0.5);
    past.set(&jobs[1].id, 9.0);
    past.set(&jobs[3].id, 2.0);
    let mut run = Run::with_past(&jobs, policy(), &past);
    assert_eq!(starts(&run.begin()), vec![(2, 1), (1, 1), (3, 1), (0, 1)]);
}

#[test]
fn a_crash_says_how_the_process_ended() {
    let jobs = [job("boom.pkt")];
    let mut run = Run::new(&jobs, policy());
    run.begin();
    let mut crash = exit(None);
    crash.status = ExitStatus::Code(101);
    crash.log = "thread 'main' panicked at src/x.rs:1:1:\nboom\n".into();
    let out = run.ends(100, 0, crash);
    let a = &finished(&out)[0].attempts[0];
    assert_eq!(a.result, AttemptResult::Crash);
    assert_eq!(a.kind, Some(FailureKind::Crash));
    assert_eq!(
        a.message,
        "boom.pkt: the job process died without a result after starting line 3 \
         (exit status 101): thread 'main' panicked at src/x.rs:1:1: boom"
    );
}

#[test]
fn nothing_is_decided_before_the_run_begins_or_after_it_ends() {
    let jobs = [job("a.pkt")];
    let mut run = Run::new(&jobs, policy());
    assert!(run.event(0, SchedulerEvent::Tick).is_empty());
    run.begin();
    assert!(is_finish(&run.ends(10, 0, passed())));
    assert!(run.event(20, SchedulerEvent::Tick).is_empty());
    assert!(run.begin().is_empty());
}

fn load(idle_percent: f64) -> SchedulerEvent {
    SchedulerEvent::Load { idle_percent }
}

fn ip(mut j: Job, version: &str) -> Job {
    j.id.ip_version = version.into();
    j
}

#[test]
fn timeout_per_script_shares_the_timeout_between_the_ip_versions() {
    let jobs = [
        ip(job("a.pkt"), "ipv4"),
        ip(job("a.pkt"), "ipv6"),
        job("b.pkt"),
    ];
    let script = Policy {
        timeout_per: TimeoutPer::Script,
        ..policy()
    };
    // Both IP versions at once: they use a's 10 s together at 5 s; b keeps
    // its own 10 s.
    let mut run = Run::new(&jobs, script.clone());
    run.begin();
    assert!(kills(&run.event(4_999, SchedulerEvent::Tick)).is_empty());
    assert_eq!(
        kills(&run.event(5_000, SchedulerEvent::Tick)),
        vec![(0, KillSignal::Term), (1, KillSignal::Term)]
    );
    run.ends(5_100, 1, passed());
    let out = run.ends(5_100, 0, passed());
    let a = &finished(&out)[0].attempts[0];
    assert_eq!(a.result, AttemptResult::Timeout);
    assert!(
        a.message
            .contains("the script's 10 seconds (--timeout-per script)"),
        "{}",
        a.message
    );
    assert!(kills(&run.event(9_999, SchedulerEvent::Tick)).is_empty());
    assert_eq!(
        kills(&run.event(10_000, SchedulerEvent::Tick)),
        vec![(2, KillSignal::Term)]
    );
    // One after the other, as kselftest runs them: ipv4 took 6 s, ipv6 has 4.
    let mut run = Run::new(
        &jobs[..2],
        Policy {
            jobs_at_once: 1,
            ..script
        },
    );
    run.begin();
    assert!(kills(&run.event(5_900, SchedulerEvent::Tick)).is_empty());
    assert_eq!(starts(&run.ends(6_000, 0, passed())), vec![(1, 1)]);
    assert_eq!(run.s.next_wake(), Some(run.at(10_000)));
    assert_eq!(
        kills(&run.event(10_000, SchedulerEvent::Tick)),
        vec![(1, KillSignal::Term)]
    );
    // Per job (the default), each has its own 10 s.
    let mut run = Run::new(&jobs[..2], policy());
    run.begin();
    assert!(kills(&run.event(9_999, SchedulerEvent::Tick)).is_empty());
    assert_eq!(kills(&run.event(10_000, SchedulerEvent::Tick)).len(), 2);
}

fn took(secs: f64, exit: Box<JobExit>) -> Box<JobExit> {
    Box::new(JobExit {
        duration_secs: secs,
        ..*exit
    })
}

fn jobs_named(names: &[&str]) -> Vec<Job> {
    names.iter().map(|n| job(&format!("{n}.pkt"))).collect()
}

#[test]
fn mid_run_a_retry_waits_for_idle_cpus_and_then_goes_before_new_jobs() {
    let jobs = jobs_named(&["a", "b", "c", "d", "e", "f"]);
    let mut run = Run::new(
        &jobs,
        Policy {
            jobs_at_once: 3,
            retries: 1,
            ..policy()
        },
    );
    assert_eq!(starts(&run.begin()), vec![(0, 1), (1, 1), (2, 1)]);
    assert!(!run.s.wants_load());
    // a fails with two others running and no measure: held; d starts.
    let out = run.ends(100, 0, failed());
    assert_eq!(retried(&out), vec![1]);
    assert_eq!(starts(&out), vec![(3, 1)]);
    assert!(run.s.wants_load());
    // Nothing is due for it: the next wake is a job's timeout.
    assert_eq!(run.s.next_wake(), Some(run.at(10_000)));
    // Busy CPUs: e goes first.
    run.event(150, load(40.0));
    assert_eq!(starts(&run.ends(200, 1, passed())), vec![(4, 1)]);
    // Mostly idle since e started: the retry goes before f.
    run.event(250, load(60.0));
    assert_eq!(starts(&run.ends(300, 2, passed())), vec![(0, 2)]);
    assert!(!run.s.wants_load());
    assert_eq!(starts(&run.ends(400, 3, passed())), vec![(5, 1)]);
    assert_eq!(
        finished(&run.ends(500, 0, passed()))[0].verdict,
        Verdict::Flaky
    );
    run.ends(600, 4, passed());
    assert!(is_finish(&run.ends(700, 5, passed())));
}

#[test]
fn alone_or_with_one_other_a_retry_starts_at_once() {
    let jobs = jobs_named(&["a", "b", "c"]);
    let mut run = Run::new(
        &jobs,
        Policy {
            jobs_at_once: 2,
            retries: 1,
            ..policy()
        },
    );
    run.begin();
    // One other runs: the retry goes before c.
    assert_eq!(starts(&run.ends(100, 0, failed())), vec![(0, 2)]);
    assert_eq!(starts(&run.ends(200, 1, passed())), vec![(2, 1)]);
}

#[test]
fn a_retry_waits_while_many_jobs_run_and_starts_with_a_few_at_the_end() {
    let jobs = jobs_named(&["a", "b", "c", "d", "e", "f"]);
    let mut run = Run::new(
        &jobs,
        Policy {
            jobs_at_once: 8,
            retries: 1,
            ..policy()
        },
    );
    assert_eq!(starts(&run.begin()).len(), 6);
    // a fails while 5 others run: held, however idle the CPUs look.
    assert!(starts(&run.ends(100, 0, failed())).is_empty());
    assert!(starts(&run.event(150, load(95.0))).is_empty());
    assert!(starts(&run.ends(200, 1, passed())).is_empty());
    // Three run and no first attempt is left: the end of the run.
    assert_eq!(starts(&run.ends(210, 2, passed())), vec![(0, 2)]);
    let out = run.ends(300, 0, failed());
    assert_eq!(finished(&out)[0].verdict, Verdict::Fail);
    assert_eq!(finished(&out)[0].attempts.len(), 2);
    for (ms, j) in [(400, 3), (410, 4)] {
        run.ends(ms, j, passed());
    }
    assert!(is_finish(&run.ends(420, 5, passed())));
}

#[test]
fn a_held_retry_is_recorded_with_its_first_attempt_when_the_run_is_stopped() {
    let jobs = jobs_named(&["a", "b", "c", "d", "e", "f"]);
    let mut run = Run::new(
        &jobs,
        Policy {
            jobs_at_once: 8,
            retries: 1,
            ..policy()
        },
    );
    run.begin();
    assert!(starts(&run.ends(100, 0, failed())).is_empty());
    let out = run.event(200, SchedulerEvent::Signal(StopSignal::Interrupt));
    let recs = finished(&out);
    assert_eq!(recs.len(), 1);
    assert_eq!(
        (recs[0].verdict, recs[0].attempts.len()),
        (Verdict::Fail, 1)
    );
    assert!(!run.s.wants_load());
    for j in 1..5 {
        run.ends(300, j, passed());
    }
    assert!(is_finish(&run.ends(300, 5, passed())));
}

#[test]
fn the_longest_held_retry_starts_first() {
    let jobs = jobs_named(&["a", "b", "c", "d", "e", "f", "g"]);
    let mut run = Run::new(
        &jobs,
        Policy {
            jobs_at_once: 8,
            retries: 1,
            ..policy()
        },
    );
    run.begin();
    assert!(starts(&run.ends(100, 0, took(0.1, failed()))).is_empty());
    assert!(starts(&run.ends(200, 1, took(3.0, failed()))).is_empty());
    assert!(starts(&run.ends(300, 2, passed())).is_empty());
    // Three left: b's retry (3 s) before a's (0.1 s), then a's when a
    // place is free again.
    assert_eq!(starts(&run.ends(400, 3, passed())), vec![(1, 2)]);
    assert_eq!(starts(&run.ends(500, 4, passed())), vec![(0, 2)]);
}

fn unsupported_job(script: &str, scope: crate::kernel_features::Scope) -> Job {
    Job {
        unsupported: Some(crate::kernel_features::Unsupported {
            reason: "kernel lacks AccECN (net.ipv4.tcp_ecn=3 refused: Invalid argument)".into(),
            scope,
        }),
        ..job(script)
    }
}

fn init_command_failed() -> Box<JobExit> {
    let mut e = exit(Some(Outcome::Fail(Failure {
        kind: EngineFailureKind::Command,
        line: None,
        message: "a.pkt: error executing init command: non-zero status 1".into(),
        mismatch: None,
        timing_slack: None,
    })));
    e.last_line = None;
    e
}

/// The verdicts and skip reasons of `jobs`, each ending with its exit, at
/// one retry.
fn settled(
    jobs: &[Job],
    exits: Vec<fn() -> Box<JobExit>>,
) -> Vec<(Verdict, Option<String>, usize)> {
    let mut run = Run::new(
        jobs,
        Policy {
            retries: 1,
            ..policy()
        },
    );
    run.begin();
    for (i, e) in exits.into_iter().enumerate() {
        let mut ms = 10;
        // Its retry, when there is one, ends the same way.
        while run
            .ends(ms, i, e())
            .iter()
            .any(|a| matches!(a, Action::Start { job, .. } if *job == i))
        {
            ms += 10;
        }
    }
    run.s
        .into_records()
        .into_iter()
        .map(|r| (r.verdict, r.skip_reason, r.attempts.len()))
        .collect()
}

#[test]
fn a_failure_a_missing_kernel_feature_explains_is_a_skip() {
    use crate::kernel_features::Scope::{AnyFailure, InitCommand};
    let why = Some("kernel lacks AccECN (net.ipv4.tcp_ecn=3 refused: Invalid argument)".into());
    let jobs = [
        unsupported_job("init.pkt", AnyFailure),
        unsupported_job("later.pkt", AnyFailure),
        unsupported_job("passes.pkt", AnyFailure),
        unsupported_job("sysctl_init.pkt", InitCommand),
    ];
    let got = settled(
        &jobs,
        vec![init_command_failed, failed, passed, init_command_failed],
    );
    assert_eq!(
        got,
        vec![
            // The init command refused: a skip at once.
            (Verdict::Skip, why.clone(), 1),
            // A later failure is retried first (it may be a flake).
            (Verdict::Skip, why.clone(), 2),
            // A pass stays a pass.
            (Verdict::Pass, None, 1),
            (Verdict::Skip, why.clone(), 1),
        ]
    );
}

#[test]
fn a_failure_no_missing_feature_explains_stays_a_failure() {
    use crate::kernel_features::Scope::{AnyFailure, InitCommand};
    let jobs = [
        // A missing sysctl explains the init command, not a later failure.
        unsupported_job("sysctl_later.pkt", InitCommand),
        // No feature missing for this script (a typo is no need).
        job("typo.pkt"),
        // A timeout is no missing feature's doing.
        unsupported_job("hangs.pkt", AnyFailure),
    ];
    let got = settled(&jobs, vec![failed, init_command_failed, || exit(None)]);
    // Each failed twice (one retry), and stays what it was.
    assert_eq!(got[0], (Verdict::Fail, None, 2));
    assert_eq!(got[1], (Verdict::Fail, None, 2));
    assert_eq!(got[2].0, Verdict::Error);
    assert_eq!(got[2].1, None);
}
