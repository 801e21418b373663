//! The run inside the VM as its events come back, and the record of a run
//! whose VM was lost: pure, a [`RunnerEvent`] at a time.

use crate::model::{
    Attempt, AttemptResult, FailureKind, HostInfo, JobId, JobRecord, KernelSplat, RunRecord,
    RunnerEvent, Verdict, VmRun,
};
use std::collections::HashMap;

/// What the host knows of the run inside.
#[derive(Debug)]
pub struct Tracker {
    /// Facts for a record the run inside never sent (a lost VM).
    host: HostInfo,
    jobs_at_once: usize,
    tolerance_usecs: u64,
    start_unix: Option<f64>,
    /// Every job, as planned and then as finished.
    jobs: Vec<JobRecord>,
    index: HashMap<JobId, usize>,
    /// Jobs started and not finished: their attempt number and its start.
    running: HashMap<JobId, (u32, f64)>,
    splats: Vec<KernelSplat>,
    finished: Option<RunRecord>,
}

impl Tracker {
    /// Before the first event: the jobs the host found (each not run), and
    /// the facts of a record the run inside may never send.
    pub fn new(
        planned: Vec<JobRecord>,
        host: HostInfo,
        jobs_at_once: usize,
        tolerance_usecs: u64,
    ) -> Tracker {
        let mut t = Tracker {
            host,
            jobs_at_once,
            tolerance_usecs,
            start_unix: None,
            jobs: Vec::new(),
            index: HashMap::new(),
            running: HashMap::new(),
            splats: Vec::new(),
            finished: None,
        };
        t.plan(planned);
        t
    }

    fn plan(&mut self, planned: Vec<JobRecord>) {
        self.index = planned
            .iter()
            .enumerate()
            .map(|(i, j)| (j.id.clone(), i))
            .collect();
        self.jobs = planned;
    }

    /// Take one event of the run inside, received at `now_unix`.
    pub fn event(&mut self, ev: &RunnerEvent, now_unix: f64) {
        match ev {
            RunnerEvent::RunStarted {
                start_unix,
                planned,
                jobs_at_once,
                ..
            } => {
                self.start_unix = Some(*start_unix);
                self.jobs_at_once = *jobs_at_once;
                self.plan(planned.clone());
            }
            RunnerEvent::JobStarted { id, attempt } => {
                self.running.insert(id.clone(), (*attempt, now_unix));
            }
            RunnerEvent::JobFinished { record } => {
                self.running.remove(&record.id);
                if let Some(&i) = self.index.get(&record.id) {
                    self.jobs[i] = record.clone();
                }
            }
            RunnerEvent::KernelSplat { splat } => self.splats.push(splat.clone()),
            RunnerEvent::RunFinished { record } => self.finished = Some(record.clone()),
            RunnerEvent::JobSlow { .. }
            | RunnerEvent::AttemptFailed { .. }
            | RunnerEvent::Interrupted => {}
        }
    }

    /// Whether the run inside has started (its first event came).
    pub fn started(&self) -> bool {
        self.start_unix.is_some()
    }

    /// Whether the run inside sent its record.
    pub fn finished(&self) -> bool {
        self.finished.is_some()
    }

    /// The record of the run, with how the VM went. A run that came back is
    /// its own record; otherwise the jobs that were running when the VM was
    /// lost fail as `vm-lost` (the VM's message, at `now_unix`), the others
    /// keep their result or are not run, and the console's splats (`console`)
    /// are added. `kernel_release` is the kernel under test's, when known.
    pub fn close(
        self,
        vm: VmRun,
        console: Vec<KernelSplat>,
        kernel_release: Option<String>,
        now_unix: f64,
    ) -> RunRecord {
        let completed = vm.completed();
        if let Some(mut record) = self.finished {
            if !completed {
                record.kernel_splats.extend(console);
            }
            record.vm = Some(vm);
            return record;
        }
        let mut jobs = self.jobs;
        for (id, (number, start)) in &self.running {
            let Some(&i) = self.index.get(id) else {
                continue;
            };
            let job = &mut jobs[i];
            job.verdict = Verdict::Error;
            job.attempts
                .push(lost_attempt(*number, *start, now_unix, &vm));
        }
        let mut host = self.host;
        if let Some(release) = kernel_release {
            host.kernel_release = release;
        }
        let mut kernel_splats = self.splats;
        // The console holds the splats the run inside already sent too.
        for s in console {
            if !kernel_splats
                .iter()
                .any(|k| k.title == s.title && k.text == s.text)
            {
                kernel_splats.push(s);
            }
        }
        RunRecord {
            host,
            start_unix: self.start_unix.unwrap_or(now_unix),
            end_unix: now_unix,
            jobs_at_once: self.jobs_at_once.max(1),
            tolerance_usecs: self.tolerance_usecs,
            interrupted: None,
            jobs,
            kernel_splats,
            vm: Some(vm),
        }
    }
}

/// The attempt of a job that was running when the VM was lost.
fn lost_attempt(number: u32, start_unix: f64, now_unix: f64, vm: &VmRun) -> Attempt {
    Attempt {
        number,
        result: AttemptResult::Crash,
        start_unix,
        duration_secs: (now_unix - start_unix).max(0.0),
        cpu_secs: None,
        max_rss_kib: None,
        line: None,
        kind: Some(FailureKind::VmLost),
        message: format!("the job was running when the VM was lost: {}", vm.message),
        mismatch: None,
        log: String::new(),
        artifacts: vm.console_log.parent().map(|p| p.to_path_buf()),
        timing_slack: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::VmOutcomeKind;
    use std::path::PathBuf;

    fn job(script: &str, verdict: Verdict) -> JobRecord {
        JobRecord {
            id: JobId {
                suite: "s".into(),
                script: script.into(),
                ip_version: "ipv4".into(),
            },
            path: script.into(),
            args: vec![],
            verdict,
            skip_reason: None,
            xfail_reason: None,
            attempts: vec![],
            replay_command: String::new(),
        }
    }

    fn host() -> HostInfo {
        HostInfo {
            hostname: "h".into(),
            kernel_release: "host-release".into(),
            netdrill_version: "0".into(),
            kernel_features: None,
        }
    }

    fn vm(outcome: VmOutcomeKind, message: &str) -> VmRun {
        VmRun {
            kernel: "bzImage".into(),
            accelerator: "tcg".into(),
            accelerator_note: None,
            boot_secs: None,
            outcome,
            message: message.into(),
            console_log: PathBuf::from("art/kernel-console.log"),
        }
    }

    #[test]
    fn a_lost_vm_fails_the_running_jobs_and_leaves_the_rest_not_run() {
        let planned = vec![
            job("a.pkt", Verdict::NotRun),
            job("b.pkt", Verdict::NotRun),
            job("c.pkt", Verdict::NotRun),
        ];
        let mut t = Tracker::new(vec![], host(), 2, 4000);
        assert!(!t.started());
        t.event(
            &RunnerEvent::RunStarted {
                total_jobs: 3,
                jobs_at_once: 2,
                start_unix: 100.0,
                planned: planned.clone(),
            },
            100.0,
        );
        let a = planned[0].id.clone();
        let b = planned[1].id.clone();
        t.event(&RunnerEvent::JobStarted { id: a, attempt: 1 }, 101.0);
        t.event(
            &RunnerEvent::JobFinished {
                record: job("a.pkt", Verdict::Pass),
            },
            102.0,
        );
        t.event(&RunnerEvent::JobStarted { id: b, attempt: 1 }, 103.0);
        assert!(t.started() && !t.finished());
        let panic = KernelSplat {
            at_unix: 110.0,
            title: "Kernel panic - not syncing: boom".into(),
            fingerprint: String::new(),
            text: String::new(),
        };
        let r = t.close(
            vm(
                VmOutcomeKind::Panicked,
                "the kernel under test panicked: boom",
            ),
            vec![panic.clone()],
            Some("6.1.0-test".into()),
            110.0,
        );
        let verdicts: Vec<_> = r.jobs.iter().map(|j| j.verdict).collect();
        assert_eq!(verdicts, [Verdict::Pass, Verdict::Error, Verdict::NotRun]);
        let lost = &r.jobs[1].attempts[0];
        assert_eq!(lost.kind, Some(FailureKind::VmLost));
        assert_eq!(lost.result, AttemptResult::Crash);
        assert_eq!(lost.duration_secs, 7.0);
        assert_eq!(
            lost.message,
            "the job was running when the VM was lost: the kernel under test panicked: boom"
        );
        assert_eq!(lost.artifacts, Some(PathBuf::from("art")));
        assert_eq!(r.kernel_splats, vec![panic]);
        assert_eq!(r.host.kernel_release, "6.1.0-test");
        assert_eq!((r.start_unix, r.end_unix), (100.0, 110.0));
        assert!(!r.success() && !r.complete());
    }

    #[test]
    fn a_run_that_came_back_is_its_own_record() {
        let mut t = Tracker::new(vec![job("a.pkt", Verdict::NotRun)], host(), 2, 4000);
        let mut inside = RunRecord {
            host: host(),
            start_unix: 1.0,
            end_unix: 2.0,
            jobs_at_once: 2,
            tolerance_usecs: 14000,
            interrupted: None,
            jobs: vec![job("a.pkt", Verdict::Pass)],
            kernel_splats: vec![],
            vm: None,
        };
        t.event(
            &RunnerEvent::RunFinished {
                record: inside.clone(),
            },
            2.0,
        );
        assert!(t.finished());
        let done = vm(VmOutcomeKind::Completed, "");
        let r = t.close(done.clone(), vec![], None, 3.0);
        inside.vm = Some(done);
        assert_eq!(r, inside);
        assert!(r.success());
        // Before any event, every job the host found is not run.
        let t = Tracker::new(vec![job("a.pkt", Verdict::NotRun)], host(), 2, 4000);
        let r = t.close(vm(VmOutcomeKind::Hung, "hung"), vec![], None, 5.0);
        assert_eq!(r.jobs[0].verdict, Verdict::NotRun);
        assert_eq!(r.host.kernel_release, "host-release");
        assert!(!r.success());
    }
}
