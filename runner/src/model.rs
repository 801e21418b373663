//! The runner's data: the jobs discovery makes ([`Job`]), the facts about the
//! host ([`HostInfo`]), and what a suite run produces: the runner fills those in,
//! the reporters (progress, KTAP, JUnit, JSON, artifacts) only read them.
//!
//! The scheduler emits [`RunnerEvent`]s as things happen; a run ends with a
//! [`RunRecord`] holding every job and every attempt.

use netdrill_engine::outcome::{FailureKind as EngineFailureKind, Mismatch, TimingSlack};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// One script x IP version.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct JobId {
    /// The suite: the name of the folder the script was found in (e.g. `packetdrill`,
    /// `seed`), used as the KTAP collection and JUnit testsuite name.
    pub suite: String,
    /// The script's file name, e.g. `tcp_close_no_rst.pkt`.
    pub script: String,
    /// `ipv4`, `ipv6` or `ipv4-mapped-ipv6`.
    pub ip_version: String,
}

impl JobId {
    /// `tcp_close_no_rst.pkt ipv4`: how jobs are named in plain output.
    pub fn display_name(&self) -> String {
        format!("{} {}", self.script, self.ip_version)
    }
}

/// One script x IP version, ready to run.
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    pub id: JobId,
    /// The script's path as given or discovered.
    pub path: PathBuf,
    /// The script's folder, absolute: the job's working directory.
    pub dir: PathBuf,
    /// The script's file name, what packetdrill is given (relative to `dir`).
    pub file_name: String,
    /// packetdrill arguments (without the script).
    pub args: Vec<String>,
    /// `None`: no limit.
    pub timeout: Option<Duration>,
    /// Set inside the job's namespace before the script runs.
    pub sysctls: Vec<(String, String)>,
    /// The job's caps on memory, `/tmp` and processes.
    pub limits: Limits,
    /// Set when the suite expects the job may fail, and how sure it is.
    pub xfail: Option<ExpectedFailure>,
    /// Set when the job is listed but will not run.
    pub skip_reason: Option<String>,
    /// Set when the script needs a kernel feature that the kernel probe found
    /// missing ([`crate::kernel_features::unsupported_reason`]): a failure of
    /// the job that the feature explains is then a skip, with its reason (a
    /// pass stays a pass; see [`crate::record::unsupported_verdict`]).
    pub unsupported: Option<crate::kernel_features::Unsupported>,
    /// Set when the script cannot be run at all (e.g. two `--ip_version=` lines,
    /// which `ksft_runner.sh` rejects): the job fails with this message.
    pub problem: Option<String>,
}

impl Job {
    /// `suite/script.pkt ipv4`: what `--list` prints and `--filter` matches.
    pub fn full_name(&self) -> String {
        format!(
            "{}/{} {}",
            self.id.suite, self.id.script, self.id.ip_version
        )
    }
}

/// How sure a suite is that a job fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Expectation {
    /// It fails, for a known reason (a feature the kernel lacks, a known bug): a
    /// failure is XFAIL, and a pass is XPASS, which fails the run (the reason is
    /// stale), as kselftest's `KSFT_XPASS`.
    Fails,
    /// It may fail (timing on a slow machine, `KSFT_MACHINE_SLOW`): a failure is
    /// XFAIL, a pass stays a plain pass, as the kernel's `ksft_runner.sh` does.
    MayFail,
}

/// Why and how surely a job is expected to fail (`suite.toml`'s `[[xfail]]`
/// entries, or `KSFT_MACHINE_SLOW`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ExpectedFailure {
    pub reason: String,
    pub expectation: Expectation,
}

/// What one job may use: its caps on memory, on its private `/tmp` (and
/// `/dev/shm`), and on its processes. Set by `suite.toml`'s `[limits]` and
/// `netdrill run`'s `--memory-limit`, `--tmp-limit`, `--process-limit`; how
/// each is enforced (a cgroup v2 leaf where the host delegates one, rlimits,
/// tmpfs sizes and the PID namespace's `pid_max` otherwise):
/// [`crate::sandbox`] and [`crate::process::cgroup`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Memory of all the job's processes together, in MiB (with rlimits:
    /// each process's data at most this, and the sum watched).
    pub memory_mib: u64,
    /// Size of the job's `/tmp` and of its `/dev/shm` (each), in MiB; System V
    /// shared memory is held to it too.
    pub tmp_mib: u64,
    /// Processes and threads in the job at once.
    pub processes: u64,
}

impl Limits {
    /// The smallest caps accepted: below them the engine and a shell cannot
    /// start.
    pub const MIN: Limits = Limits {
        memory_mib: 64,
        tmp_mib: 1,
        processes: 16,
    };
    /// The largest caps accepted (1 TiB, 1 TiB, and the kernel's `PID_MAX_LIMIT`).
    pub const MAX: Limits = Limits {
        memory_mib: 1 << 20,
        tmp_mib: 1 << 20,
        processes: 1 << 22,
    };

    pub fn memory_bytes(&self) -> u64 {
        self.memory_mib << 20
    }

    pub fn tmp_bytes(&self) -> u64 {
        self.tmp_mib << 20
    }
}

impl Default for Limits {
    /// 512 MiB, 64 MiB of `/tmp`, 512 processes: a kernel job uses about
    /// 20 MiB and 5 processes; at the default `-j` on a 2-CPU, 24 GiB machine
    /// the memory caps add up to half its memory.
    fn default() -> Self {
        Limits {
            memory_mib: 512,
            tmp_mib: 64,
            processes: 512,
        }
    }
}

/// A cap a job went over (see [`Limits`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LimitKind {
    Memory,
    Tmp,
    Processes,
}

impl LimitKind {
    /// What went over, with its cap, for messages: `its memory cap (512 MiB)`.
    pub fn describe(self, limits: &Limits) -> String {
        match self {
            LimitKind::Memory => format!("its memory cap ({} MiB)", limits.memory_mib),
            LimitKind::Tmp => format!("the size cap of its /tmp ({} MiB)", limits.tmp_mib),
            LimitKind::Processes => {
                format!(
                    "its process cap ({} processes and threads)",
                    limits.processes
                )
            }
        }
    }
}

/// What a job's timeout covers (`netdrill run --timeout-per`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimeoutPer {
    /// Each job (script x IP version) has the whole timeout.
    #[default]
    Job,
    /// The attempts of one number of a script's IP versions share it, as
    /// kselftest's timeout covers one script with its IP versions run one
    /// after the other.
    Script,
}

/// How one attempt of a job ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttemptResult {
    Pass,
    /// The engine reported a failure (exit status 1 in packetdrill terms).
    Fail,
    /// Killed at its timeout.
    Timeout,
    /// The job process died without reporting (signal, panic, protocol error).
    Crash,
}

/// Why an attempt did not pass: the engine's verdict on the script, or what the
/// runner saw happen to the job process. Reports write it as one kebab-case
/// word ([`FailureKind::as_str`]: `timing-error`, `timeout`, `spawn-error`...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// The engine judged the script failed (or, for a job with a problem found
    /// before it ran, would have: `option-error`).
    Engine(EngineFailureKind),
    /// Killed at its timeout.
    Timeout,
    /// The job process died without a result.
    Crash,
    /// The job's sandbox could not be built.
    SandboxError,
    /// The job process said something the runner could not read.
    ProtocolError,
    /// The job process could not be started.
    SpawnError,
    /// The job went over one of its caps ([`Limits`]).
    OverLimit(LimitKind),
    /// The job was running in the VM of `--kernel` when that VM was lost (the
    /// kernel under test panicked or hung): [`VmRun`] says which.
    VmLost,
}

/// Every kind the engine has, for reading a kind back from its word.
const ENGINE_KINDS: [EngineFailureKind; 10] = [
    EngineFailureKind::Parse,
    EngineFailureKind::Semantic,
    EngineFailureKind::Option,
    EngineFailureKind::Timing,
    EngineFailureKind::Packet,
    EngineFailureKind::Syscall,
    EngineFailureKind::Command,
    EngineFailureKind::Code,
    EngineFailureKind::Setup,
    EngineFailureKind::Internal,
];

impl FailureKind {
    /// The word reports use: the engine's (`timing-error`...), or `timeout`,
    /// `crash`, `sandbox-error`, `protocol-error`, `spawn-error`,
    /// `over-memory-cap`, `over-tmp-cap`, `over-process-cap`, `vm-lost`.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Engine(kind) => kind.as_str(),
            FailureKind::Timeout => "timeout",
            FailureKind::Crash => "crash",
            FailureKind::SandboxError => "sandbox-error",
            FailureKind::ProtocolError => "protocol-error",
            FailureKind::SpawnError => "spawn-error",
            FailureKind::OverLimit(LimitKind::Memory) => "over-memory-cap",
            FailureKind::OverLimit(LimitKind::Tmp) => "over-tmp-cap",
            FailureKind::OverLimit(LimitKind::Processes) => "over-process-cap",
            FailureKind::VmLost => "vm-lost",
        }
    }

    /// The kind a word names (the inverse of [`FailureKind::as_str`]).
    pub fn from_word(word: &str) -> Option<FailureKind> {
        let runner = [
            FailureKind::Timeout,
            FailureKind::Crash,
            FailureKind::SandboxError,
            FailureKind::ProtocolError,
            FailureKind::SpawnError,
            FailureKind::OverLimit(LimitKind::Memory),
            FailureKind::OverLimit(LimitKind::Tmp),
            FailureKind::OverLimit(LimitKind::Processes),
            FailureKind::VmLost,
        ];
        ENGINE_KINDS
            .into_iter()
            .map(FailureKind::Engine)
            .chain(runner)
            .find(|k| k.as_str() == word)
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for FailureKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for FailureKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<FailureKind, D::Error> {
        let word = String::deserialize(d)?;
        FailureKind::from_word(&word)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown failure kind `{word}`")))
    }
}

/// One attempt of one job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    /// 1 for the first try, 2 for the first retry...
    pub number: u32,
    pub result: AttemptResult,
    /// Wall-clock start, seconds since the Unix epoch.
    pub start_unix: f64,
    /// Seconds from start to end.
    pub duration_secs: f64,
    /// CPU seconds (user + system) the job's processes used, when known.
    pub cpu_secs: Option<f64>,
    /// Peak resident memory of the job process in KiB, when known.
    pub max_rss_kib: Option<u64>,
    /// The script line the failure is about, or for a timeout the last line
    /// reached.
    pub line: Option<u32>,
    /// What kind of failure, when the attempt did not pass: the engine's
    /// (`timing-error`, `packet-mismatch`...) or the runner's (`timeout`, `crash`...).
    pub kind: Option<FailureKind>,
    /// The full diagnostic as packetdrill would print it (empty on pass).
    pub message: String,
    /// For a packet that was not what the script said: the two packets, as the
    /// engine reported them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mismatch: Option<Mismatch>,
    /// How close the attempt came to a timing failure: its checked event with
    /// the least margin for its tolerance (negative: it missed), when the
    /// engine checked a time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timing_slack: Option<TimingSlack>,
    /// Everything the job printed (stderr of commands, verbose output...).
    pub log: String,
    /// Where the failure artifacts of this attempt were written.
    pub artifacts: Option<PathBuf>,
}

/// The final verdict of a job, after retries and expectations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Pass,
    Fail,
    /// Failed, then passed on a retry.
    Flaky,
    /// Not run (reason in [`JobRecord::skip_reason`]).
    Skip,
    /// Expected to fail, and failed.
    Xfail,
    /// Expected to fail, but passed.
    Xpass,
    Timeout,
    /// The job process crashed.
    Error,
    /// The run stopped (a signal) or had not come this far (a report written
    /// while it runs) before this job had a result.
    NotRun,
}

impl Verdict {
    /// Whether the run as a whole can still be called green with this job in it.
    pub fn is_success(self) -> bool {
        matches!(
            self,
            Verdict::Pass | Verdict::Flaky | Verdict::Skip | Verdict::Xfail
        )
    }
}

/// Everything about one job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    pub id: JobId,
    /// The script's path as given or discovered.
    pub path: PathBuf,
    /// The packetdrill arguments the job ran with (the kernel runner's, per IP version).
    pub args: Vec<String>,
    pub verdict: Verdict,
    pub skip_reason: Option<String>,
    /// Why the job was expected to fail, when it was.
    pub xfail_reason: Option<String>,
    pub attempts: Vec<Attempt>,
    /// One line that replays this job alone.
    pub replay_command: String,
}

impl JobRecord {
    /// The attempt that decided the verdict (the last one).
    pub fn last_attempt(&self) -> Option<&Attempt> {
        self.attempts.last()
    }

    /// Total seconds over every attempt.
    pub fn total_secs(&self) -> f64 {
        self.attempts.iter().map(|a| a.duration_secs).sum()
    }

    /// The closest call of its attempts: the checked event with the least
    /// margin for its tolerance.
    pub fn tightest_slack(&self) -> Option<TimingSlack> {
        self.attempts
            .iter()
            .filter_map(|a| a.timing_slack)
            .reduce(TimingSlack::tighter)
    }
}

/// The share of its tolerance under which a margin is a close call.
pub const CLOSE_CALL_FRACTION: f64 = 0.25;

/// The jobs that passed (or were flaky) whose closest call came within
/// `fraction` of its tolerance (`margin < fraction * tolerance`), the
/// closest first, at most `max` of them: the scripts most likely to flake
/// next.
pub fn close_calls(
    jobs: &[JobRecord],
    fraction: f64,
    max: usize,
) -> Vec<(&JobRecord, TimingSlack)> {
    let mut close: Vec<(&JobRecord, TimingSlack)> = jobs
        .iter()
        .filter(|j| matches!(j.verdict, Verdict::Pass | Verdict::Flaky))
        .filter_map(|j| Some((j, j.tightest_slack()?)))
        .filter(|(_, s)| s.within(fraction))
        .collect();
    // Stable: ties keep the jobs' order.
    let share = |s: &TimingSlack| s.margin_usecs as f64 / s.tolerance_usecs.max(1) as f64;
    close.sort_by(|(_, a), (_, b)| share(a).total_cmp(&share(b)));
    close.truncate(max);
    close
}

/// Facts about where the run happened, for reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HostInfo {
    pub hostname: String,
    pub kernel_release: String,
    pub netdrill_version: String,
    /// What the kernel probe found about the features the run's scripts
    /// need (`netdrill run`; none with `--no-skip-unsupported`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_features: Option<crate::kernel_features::KernelFeatures>,
}

/// Facts about this machine for the record.
pub fn host_info() -> HostInfo {
    let hostname = nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default();
    let kernel_release = nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default();
    HostInfo {
        hostname,
        kernel_release,
        netdrill_version: env!("CARGO_PKG_VERSION").to_string(),
        kernel_features: None,
    }
}

/// A signal that stops a run: the first lets running jobs stop gracefully, a
/// second kills them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StopSignal {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM.
    Terminate,
    /// SIGHUP (the terminal went away).
    Hangup,
}

impl StopSignal {
    /// The signal's number.
    pub fn number(self) -> i32 {
        match self {
            StopSignal::Interrupt => libc::SIGINT,
            StopSignal::Terminate => libc::SIGTERM,
            StopSignal::Hangup => libc::SIGHUP,
        }
    }

    /// `SIGINT`, `SIGTERM`, `SIGHUP`.
    pub fn name(self) -> &'static str {
        match self {
            StopSignal::Interrupt => "SIGINT",
            StopSignal::Terminate => "SIGTERM",
            StopSignal::Hangup => "SIGHUP",
        }
    }
}

/// A warning, BUG, oops or sanitizer report the kernel logged while the run went
/// on (see [`crate::kernel_log`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KernelSplat {
    /// When netdrill read its first line, seconds since the Unix epoch.
    pub at_unix: f64,
    /// Its first line, e.g. `WARNING: CPU: 1 PID: 42 at net/ipv4/tcp.c:123 ...`.
    pub title: String,
    /// The first five function names of its stack (NIPA's crash fingerprint,
    /// `fn1:fn2:...`); empty when no frame was logged.
    pub fingerprint: String,
    /// Its lines as `dmesg` prints them.
    pub text: String,
}

/// A whole run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub host: HostInfo,
    pub start_unix: f64,
    pub end_unix: f64,
    /// Jobs at once.
    pub jobs_at_once: usize,
    /// `--tolerance_usecs` in effect (packetdrill's default 4000 unless overridden).
    pub tolerance_usecs: u64,
    /// The signal that interrupted the run (Ctrl-C is SIGINT), if one did: jobs
    /// that had no result then are [`Verdict::NotRun`].
    pub interrupted: Option<StopSignal>,
    /// Every job, in discovery order (suite, script, IP version).
    pub jobs: Vec<JobRecord>,
    /// What the kernel logged that looks like a bug, in the order it came.
    #[serde(default)]
    pub kernel_splats: Vec<KernelSplat>,
    /// The VM the run went in, with `--kernel` (see [`crate::vm`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vm: Option<VmRun>,
}

/// How the VM of a `--kernel` run went: the kernel, the accelerator, and
/// whether the run inside came back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VmRun {
    /// The kernel image booted.
    pub kernel: PathBuf,
    /// `kvm`, or `tcg` (emulation).
    pub accelerator: String,
    /// Why the run went under emulation when KVM was not asked against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accelerator_note: Option<String>,
    /// From starting the VM to the run's first event inside it, when it came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_secs: Option<f64>,
    /// `completed`, `panicked`, `hung`, `lost`.
    pub outcome: VmOutcomeKind,
    /// What happened, for a VM that did not complete (the panic's first line,
    /// the deadline the watchdog enforced...).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// The guest's console (kernel log and all), kept as an artifact.
    pub console_log: PathBuf,
}

/// How a VM of `--kernel` ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VmOutcomeKind {
    /// The run inside finished and came back whole.
    Completed,
    /// The kernel under test panicked.
    Panicked,
    /// The VM stopped answering: the watchdog killed it.
    Hung,
    /// The VM ended without a result or a panic in its console.
    Lost,
}

impl VmRun {
    /// Whether the run inside the VM came back whole.
    pub fn completed(&self) -> bool {
        self.outcome == VmOutcomeKind::Completed
    }
}

/// A splat counts for a job whose attempt ended at most this long before it:
/// a network namespace is torn down after its last process is gone.
pub const SPLAT_AFTER_JOB_SECS: f64 = 1.0;

impl RunRecord {
    pub fn count(&self, verdict: Verdict) -> usize {
        self.jobs.iter().filter(|j| j.verdict == verdict).count()
    }

    /// Whether every job ended well.
    pub fn success(&self) -> bool {
        self.interrupted.is_none()
            && self.vm.as_ref().is_none_or(VmRun::completed)
            && self.jobs.iter().all(|j| j.verdict.is_success())
    }

    /// Whether every job has a result (the run was not stopped, and the
    /// record is not a snapshot taken while it ran).
    pub fn complete(&self) -> bool {
        self.interrupted.is_none()
            && self.vm.as_ref().is_none_or(VmRun::completed)
            && self.jobs.iter().all(|j| j.verdict != Verdict::NotRun)
    }

    /// The kernel splats logged while one of the job's attempts ran (or within
    /// [`SPLAT_AFTER_JOB_SECS`] after it ended, while its namespace went away).
    pub fn splats_during<'a>(
        &'a self,
        job: &'a JobRecord,
    ) -> impl Iterator<Item = &'a KernelSplat> {
        self.kernel_splats.iter().filter(move |s| {
            job.attempts.iter().any(|a| {
                let end = a.start_unix + a.duration_secs.max(0.0) + SPLAT_AFTER_JOB_SECS;
                s.at_unix >= a.start_unix && s.at_unix <= end
            })
        })
    }
}

/// What the scheduler tells reporters while a run goes on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum RunnerEvent {
    RunStarted {
        total_jobs: usize,
        jobs_at_once: usize,
        /// Wall-clock start, seconds since the Unix epoch.
        start_unix: f64,
        /// Every job in discovery order, each as [`Verdict::NotRun`] (what a
        /// report written while the run goes on says of the jobs to come).
        planned: Vec<JobRecord>,
    },
    JobStarted {
        id: JobId,
        attempt: u32,
    },
    /// The job is still running after this many seconds (slow-job notice).
    JobSlow {
        id: JobId,
        elapsed_secs: f64,
    },
    /// An attempt ended and will be retried.
    AttemptFailed {
        id: JobId,
        attempt: Attempt,
    },
    JobFinished {
        record: JobRecord,
    },
    /// Ctrl-C: no new jobs start.
    Interrupted,
    /// The kernel logged a splat.
    KernelSplat {
        splat: KernelSplat,
    },
    RunFinished {
        record: RunRecord,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_engine_kind_is_listed() {
        // Fails to compile when the engine gains a kind: list it in ENGINE_KINDS.
        fn listed(kind: EngineFailureKind) -> bool {
            use EngineFailureKind::*;
            match kind {
                Parse | Semantic | Option | Timing | Packet | Syscall | Command | Code | Setup
                | Internal => ENGINE_KINDS.contains(&kind),
            }
        }
        assert!(ENGINE_KINDS.into_iter().all(listed));
        assert!(listed(EngineFailureKind::Internal));
    }

    #[test]
    fn failure_kinds_read_back_from_their_words() {
        for kind in ENGINE_KINDS.into_iter().map(FailureKind::Engine).chain([
            FailureKind::Timeout,
            FailureKind::SpawnError,
            FailureKind::OverLimit(LimitKind::Tmp),
            FailureKind::VmLost,
        ]) {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(serde_json::from_str::<FailureKind>(&json).unwrap(), kind);
        }
        assert_eq!(
            FailureKind::Engine(EngineFailureKind::Timing).as_str(),
            "timing-error"
        );
        assert_eq!(FailureKind::from_word("no-such-kind"), None);
        assert!(serde_json::from_str::<FailureKind>("\"no-such-kind\"").is_err());
    }
}
