//! The command line: `netdrill run`, `netdrill exec`, and the hidden `__job`
//! the runner starts for each job.

use crate::discover::{self, DiscoverOptions, Filter};
use crate::driver::{self, ScheduleSettings};
use crate::job_child;
use crate::model::{Job, Limits, RunRecord, TimeoutPer};
use crate::partition::{JobWeight, Partition, ShardPlan};
use crate::progress::{ColorChoice, Progress, Stream, Verbosity};
use crate::report;
use crate::report::stream::{is_stdout, ReportStream, Targets};
use clap::{Args, CommandFactory, Parser, Subcommand};
use netdrill_engine::IpVersion;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What `netdrill --help` and the man page say after the commands: the exit
/// statuses of `netdrill run` and the environment netdrill reads.
pub const AFTER_HELP: &str = "\
Exit status of `netdrill run` (kselftest's meanings, and nextest's where kselftest has none):
  0    every job passed (or failed as expected, or passed on a retry)
  1    a job failed, timed out, crashed or passed against a certain expectation (XPASS)
  2    usage error: command line, paths, suite.toml or settings
  4    every job was skipped, or no job was selected
  96   setup error: this machine cannot run the jobs (root, /dev/net/tun, --artifacts or
       --record folder)
  110  a report (--ktap, --junit, --json, --record) could not be written
  129, 130, 143  stopped by SIGHUP, SIGINT (Ctrl-C), SIGTERM (128 + the signal)

Environment:
  KSFT_MACHINE_SLOW           non-empty: --tolerance_usecs=14000, and a failure is XFAIL while a
                              pass stays a pass (the kernel's ksft_runner.sh)
  kselftest_override_timeout  seconds per job, as kselftest's run_kselftest.sh -o (--timeout wins)
  NO_COLOR                    non-empty: no colour with --color auto
  XDG_STATE_HOME              where the durations of past jobs are kept (netdrill/durations.json)
  NETDRILL_PYTHON             the Python for scripts' %{ }% blocks (default: python3)
  TMPDIR                      where scripts' temporary files go outside a job's private /tmp";

#[derive(Parser, Debug)]
#[command(
    name = "netdrill",
    version,
    about = "Run packetdrill scripts: one at a time like packetdrill, or whole suites in \
             parallel, each script x IP version in its own network namespace",
    after_help = AFTER_HELP
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per process: the size of its largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run suites: every script x IP version in its own network, mount and PID
    /// namespace, many at once.
    #[command(after_help = AFTER_HELP)]
    Run(Box<RunArgs>),
    /// Run one script in the current network namespace, like packetdrill
    /// (same flags, same messages, exit status 0 or 1).
    Exec(ExecArgs),
    /// Parse and check scripts without running them (no network, no root).
    Check(CheckArgs),
    /// Be packetdrill: its command line, messages and exit status (also what
    /// netdrill does when it is invoked under the name `packetdrill`).
    ///
    /// It refuses the host's network namespace (run it as `unshare -n
    /// packetdrill ...`, as the kernel's ksft_runner.sh does), unless
    /// NETDRILL_ALLOW_HOST_NETNS=1 is set.
    Packetdrill(PacketdrillArgs),
    /// Turn a history of runs (`netdrill run --record DIR`) into a dashboard
    /// page (--html), a digest (--summary), or compare two runs (--compare).
    #[command(after_help = crate::report_command::AFTER_HELP)]
    Report(crate::report_command::ReportArgs),
    /// Put the reports of a run's shards (`netdrill run --partition KIND:K/N
    /// --json FILE --json-full`) back together: the same KTAP, JUnit and JSON
    /// as one run's. A missing or unreadable shard makes the merged run
    /// incomplete, named on stderr, and the exit status non-zero.
    #[command(after_help = MERGE_AFTER_HELP)]
    Merge(MergeArgs),
    /// Print a shell completion script (e.g. `netdrill completions bash >
    /// /etc/bash_completion.d/netdrill`).
    Completions(CompletionsArgs),
    /// Print netdrill's man page (roff; `netdrill man | man -l -`).
    Man,
    /// Link DIR/packetdrill to this netdrill, so that the kernel's
    /// ksft_runner.sh (which runs `packetdrill` from PATH) uses it.
    InstallAsPacketdrill(InstallArgs),
    /// (internal) One job, started by `netdrill run`.
    #[command(name = "__job", hide = true)]
    Job(JobArgs),
    /// (internal) The kernel probe, started by `netdrill run`.
    #[command(name = "__probe", hide = true)]
    Probe(ProbeArgs),
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Folders (searched recursively for *.pkt), script files or glob patterns.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Jobs at once [default: twelve per CPU, at most 64].
    #[arg(short = 'j', long = "jobs", value_name = "N")]
    pub jobs: Option<usize>,
    /// Only jobs whose `suite/script.pkt ipvX` name contains S, or matches /REGEX/
    /// (repeatable: any may match).
    #[arg(long, value_name = "S")]
    pub filter: Vec<String>,
    /// Print the jobs, run nothing.
    #[arg(long)]
    pub list: bool,
    /// Run only shard K of N of the jobs (KIND: `count`, round robin over the
    /// list; `hash`, by name, stable when scripts come and go; `duration`,
    /// balanced by the durations of past runs). With --json --json-full the
    /// document says which shard it is, for `netdrill merge`.
    #[arg(long, value_name = "KIND:K/N")]
    pub partition: Option<String>,
    /// The durations of past jobs, read to order the run (and to balance
    /// `--partition duration:K/N`) and updated after it [default:
    /// $XDG_STATE_HOME/netdrill/durations.json]. Every shard must read the same.
    #[arg(long, value_name = "FILE")]
    pub durations: Option<PathBuf>,
    /// IP versions for scripts that pin none (comma-separated: ipv4, ipv6,
    /// ipv4-mapped-ipv6) [default: ipv4,ipv6, as the kernel's runner].
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub ip_versions: Option<Vec<String>>,
    /// Per-job timeout in seconds, 0 for none [default: the suite's `settings`
    /// or suite.toml, else 45].
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
    /// What the timeout covers: `job`, each script x IP version on its own;
    /// `script`, the IP versions of a script together (their run times add
    /// up), as kselftest's timeout covers one script run for each IP version
    /// in turn.
    #[arg(long, value_enum, value_name = "WHAT", default_value_t = TimeoutPerArg::Job)]
    pub timeout_per: TimeoutPerArg,
    /// Run a job that did not pass up to N more times (a later pass is reported
    /// as flaky). A retry waits until the machine is quiet: alone or with one
    /// other job, or with fewer than two per CPU while the CPUs are at least
    /// half idle or once no first attempt is left to start. 0: no retry.
    #[arg(long, value_name = "N", default_value_t = crate::driver::DEFAULT_RETRIES)]
    pub retries: u32,
    /// Which reaction relative script times count from: `packetdrill` (its
    /// reaction, as modelled from its measured costs, so the verdicts are
    /// packetdrill's) or `immediate` (the engine's own, quicker one). See
    /// docs/engine/time-and-tolerance.md, "Reaction time".
    #[arg(long, value_enum, value_name = "WHICH", default_value_t = ReactionChoice::Packetdrill)]
    pub reaction: ReactionChoice,
    /// Report packetdrill's verdicts as they are. By default, before the jobs
    /// run, netdrill probes the kernel (in a scratch network namespace) for
    /// the features the scripts need and kernels differ in (AccECN, qdiscs,
    /// congestion controls, sysctls), and a job that fails while its script
    /// needs a feature the probe found missing is SKIP, with the reason.
    #[arg(long)]
    pub no_skip_unsupported: bool,
    /// Let child namespaces select the congestion controls the suite needs
    /// (the one host setting netdrill changes).
    #[arg(long)]
    pub prepare_host: bool,
    /// Write TAP as kselftest prints it to FILE (`-`: stdout, and the progress
    /// display goes to stderr).
    #[arg(long, value_name = "FILE")]
    pub ktap: Option<PathBuf>,
    /// With --ktap: indented KTAP v1 (the KTAP spec's form) instead.
    #[arg(long, requires = "ktap")]
    pub ktap_nested: bool,
    /// Write a JUnit XML report to FILE (`-`: stdout).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write NIPA's result JSON to FILE (`-`: stdout).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// With --json: add every attempt, its timing and diagnostic, and the host facts.
    #[arg(long, requires = "json")]
    pub json_full: bool,
    /// For each failed attempt, write its log, a pcap of tun0, the expected and
    /// actual packet side by side and a replay command under
    /// DIR/SUITE/SCRIPT/IPVERSION/attempt-N/.
    #[arg(long, value_name = "DIR")]
    pub artifacts: Option<PathBuf>,
    /// Add this run's record (every job and attempt, the host facts, the
    /// suites' git revision) to the history folder DIR, for `netdrill report`.
    #[arg(long, value_name = "DIR")]
    pub record: Option<PathBuf>,
    /// Plain lines even on a terminal.
    #[arg(long)]
    pub no_progress: bool,
    /// Colour the verdicts: auto (on a terminal, unless NO_COLOR is set),
    /// always, never.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Say less: only the jobs that did not pass, the failures and the counts.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Say more: each job as it starts, and retried failures in full.
    #[arg(short, long)]
    pub verbose: bool,
    /// With --junit: `jenkins` writes the form Jenkins' junit-10.xsd
    /// validates (no flaky timestamps, no testcase properties).
    #[arg(long, value_enum, value_name = "SCHEMA", requires = "junit")]
    pub junit_schema: Option<JunitSchema>,
    /// With --json: NIPA's executor name [default: netdrill].
    #[arg(long, value_name = "NAME", requires = "json")]
    pub executor: Option<String>,
    /// With --json: the branch under test (NIPA's `branch`).
    #[arg(long, value_name = "NAME", requires = "json")]
    pub branch: Option<String>,
    /// With --json: the URL at which the JSON report's folder is served; the
    /// run's `link`, and each test's (its artifacts folder when it has one
    /// under that folder).
    #[arg(long, value_name = "URL", requires = "json")]
    pub link: Option<String>,
    /// Read kernel splats from FILE instead of /dev/kmsg (`none`: do not read).
    #[arg(long, value_name = "FILE", hide = true)]
    pub kernel_log: Option<PathBuf>,
    /// New jobs per second at most (creating sandboxes at full rate disturbs the
    /// timing of running jobs).
    #[arg(long, value_name = "N", default_value_t = crate::driver::DEFAULT_START_RATE)]
    pub start_rate: f64,
    /// Memory cap of each job, in MiB [default: suite.toml's `[limits]`, else 512].
    #[arg(long, value_name = "MIB", value_parser = clap::value_parser!(u64)
        .range(Limits::MIN.memory_mib..=Limits::MAX.memory_mib))]
    pub memory_limit: Option<u64>,
    /// Size cap of each job's private /tmp (and /dev/shm), in MiB [default:
    /// suite.toml's `[limits]`, else 64].
    #[arg(long, value_name = "MIB", value_parser = clap::value_parser!(u64)
        .range(Limits::MIN.tmp_mib..=Limits::MAX.tmp_mib))]
    pub tmp_limit: Option<u64>,
    /// Processes and threads each job may have at once [default: suite.toml's
    /// `[limits]`, else 512].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64)
        .range(Limits::MIN.processes..=Limits::MAX.processes))]
    pub process_limit: Option<u64>,
    /// Boot this kernel image (a bzImage or vmlinuz) in a VM with virtme-ng
    /// (`vng`; the host's root file system shared read-only) and run there,
    /// with the same options: KTAP, reports and artifacts come back to the
    /// host as from a local run, and the kernel's console log is kept
    /// (`--artifacts`/kernel-console.log). A kernel that panics or hangs
    /// fails the run (a watchdog kills the VM).
    #[arg(long, value_name = "BZIMAGE")]
    pub kernel: Option<PathBuf>,
    /// With --kernel: auto (KVM when /dev/kvm opens and a probe boot comes
    /// up, else emulation), kvm, or tcg (emulation). Under emulation the run
    /// inside gets KSFT_MACHINE_SLOW=yes.
    #[arg(long, value_enum, value_name = "ACCEL", requires = "kernel",
        default_value_t = crate::vm::plan::AccelChoice::Auto)]
    pub vm_accel: crate::vm::plan::AccelChoice,
    /// With --kernel: seconds the VM may take to boot and start the run
    /// before the watchdog kills it [default: 120 under KVM, 600 under
    /// emulation].
    #[arg(long, value_name = "SECS", requires = "kernel",
        value_parser = clap::value_parser!(u64).range(1..=crate::suite::MAX_TIMEOUT_SECS))]
    pub vm_boot_timeout: Option<u64>,
    /// With --kernel: more kernel command-line arguments for the VM (e.g.
    /// `panic_on_warn=1`; repeatable).
    #[arg(long, value_name = "ARGS", requires = "kernel")]
    pub vm_append: Vec<String>,
    /// With --kernel: the VM's memory, as QEMU's -m takes it.
    #[arg(long, value_name = "SIZE", requires = "kernel", default_value = "2G")]
    pub vm_memory: String,
    /// (internal) Write the run's events to FILE as JSON lines (the run in
    /// the VM of --kernel tells the host this way).
    #[arg(long, value_name = "FILE", hide = true)]
    pub events: Option<PathBuf>,
}

/// What `netdrill merge --help` says after the options.
pub const MERGE_AFTER_HELP: &str = "\
Exit status of `netdrill merge`: as `netdrill run`'s for the merged run (0, 1, 4, 129-143), and
  1    a shard's document is missing or unreadable (the merged reports are incomplete: its jobs
       are reported as not run)
  2    usage error, or the documents are not shards of one run
  110  a report could not be written";

#[derive(Args, Debug)]
pub struct MergeArgs {
    /// The shards' `--json FILE --json-full` documents (one per shard).
    #[arg(required = true, value_name = "RUN.json")]
    pub files: Vec<PathBuf>,
    /// Write TAP as kselftest prints it to FILE (`-`: stdout).
    #[arg(long, value_name = "FILE")]
    pub ktap: Option<PathBuf>,
    /// With --ktap: indented KTAP v1 instead.
    #[arg(long, requires = "ktap")]
    pub ktap_nested: bool,
    /// Write a JUnit XML report to FILE (`-`: stdout).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// With --junit: `jenkins` writes the form Jenkins' junit-10.xsd validates.
    #[arg(long, value_enum, value_name = "SCHEMA", requires = "junit")]
    pub junit_schema: Option<JunitSchema>,
    /// Write NIPA's result JSON to FILE (`-`: stdout).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// With --json: every attempt, the host facts of each shard (what
    /// `netdrill report` reads).
    #[arg(long, requires = "json")]
    pub json_full: bool,
}

/// `--timeout-per`'s values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TimeoutPerArg {
    Job,
    Script,
}

#[derive(Args, Debug)]
pub struct ExecArgs {
    /// Run even in the host's initial network namespace (it adds tun0, addresses
    /// and routes there, and the script may change sysctls).
    #[arg(long)]
    pub allow_host_netns: bool,
    /// Which reaction relative script times count from (as `netdrill run
    /// --reaction`; also accepted as `--reaction=WHICH` among the packetdrill
    /// flags).
    #[arg(long, value_enum, value_name = "WHICH", default_value_t = ReactionChoice::Packetdrill)]
    pub reaction: ReactionChoice,
    /// packetdrill flags, then the script.
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    pub args: Vec<String>,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Define a symbol for the scripts, as packetdrill's `-D` (repeatable).
    /// Without any, scripts are read with the kernel runner's defines
    /// (`TFO_COOKIE`, `CMSG_LEVEL_IP`...), as `netdrill run` runs them.
    #[arg(short = 'D', long = "define", value_name = "NAME=VALUE")]
    pub defines: Vec<String>,
    /// Script files, or folders searched recursively for *.pkt.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

#[derive(Args, Debug)]
#[command(disable_help_flag = true)]
pub struct PacketdrillArgs {
    /// packetdrill's flags, then the scripts.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    pub args: Vec<String>,
}

/// `--reaction`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ReactionChoice {
    /// packetdrill's reaction, as modelled from its measured costs.
    Packetdrill,
    /// The engine's own.
    Immediate,
}

impl From<ReactionChoice> for netdrill_engine::run::reaction::Reaction {
    fn from(c: ReactionChoice) -> Self {
        use netdrill_engine::run::reaction::Reaction;
        match c {
            ReactionChoice::Packetdrill => Reaction::Packetdrill,
            ReactionChoice::Immediate => Reaction::Immediate,
        }
    }
}

/// `--junit-schema`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum JunitSchema {
    /// Jenkins' junit-10.xsd.
    Jenkins,
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Args, Debug)]
pub struct InstallArgs {
    /// The folder to put the `packetdrill` link in (put it on PATH).
    #[arg(default_value = "/usr/local/bin")]
    pub dir: PathBuf,
}

#[derive(Args, Debug)]
pub struct ProbeArgs {
    #[arg(long)]
    pub request: String,
}

#[derive(Args, Debug)]
pub struct JobArgs {
    #[arg(long)]
    pub result_fd: i32,
    #[arg(long)]
    pub spec: String,
}

/// Where reports go: filled from `run`'s flags. A path of `-` is stdout.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReportSettings {
    pub ktap: Option<PathBuf>,
    /// Indented KTAP v1 instead of kselftest's shape.
    pub ktap_nested: bool,
    pub junit: Option<PathBuf>,
    pub json: Option<PathBuf>,
    /// Every attempt in the JSON.
    pub json_full: bool,
    /// Written by the run as attempts fail (see [`ScheduleSettings::artifacts`]).
    pub artifacts: Option<PathBuf>,
    /// JUnit in Jenkins' strict form.
    pub junit_strict: bool,
    /// NIPA's `executor`, `branch` and `link` for the JSON.
    pub executor: Option<String>,
    pub branch: Option<String>,
    pub link: Option<String>,
    /// The history folder the run's record is added to (`--record`).
    pub record: Option<PathBuf>,
}

impl ReportSettings {
    /// Which reports go where, for the writer.
    pub fn targets(&self) -> Targets {
        Targets {
            ktap: self.ktap.clone(),
            ktap_nested: self.ktap_nested,
            junit: self.junit.clone(),
            json: self.json.clone(),
            json_full: self.json_full,
        }
    }

    /// The flags whose report goes to stdout.
    fn on_stdout(&self) -> Vec<&'static str> {
        [
            ("--ktap", &self.ktap),
            ("--junit", &self.junit),
            ("--json", &self.json),
        ]
        .into_iter()
        .filter(|(_, p)| p.as_deref().is_some_and(is_stdout))
        .map(|(flag, _)| flag)
        .collect()
    }

    /// Whether a report is written to stdout (then the display goes to stderr).
    pub fn uses_stdout(&self) -> bool {
        !self.on_stdout().is_empty()
    }

    /// The folders the reports go to, checked before the run: a report file's
    /// folder must exist (netdrill makes no folder for a report); the
    /// `--artifacts` folder is made if it is missing, but not its parent.
    /// Either way nothing is created that was not named.
    pub fn prepare_folders(&self) -> Result<(), FolderError> {
        use crate::discover::show_path;
        let folder_of = |p: &Path| {
            p.parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
                .to_path_buf()
        };
        for (flag, path) in [
            ("--ktap", &self.ktap),
            ("--junit", &self.junit),
            ("--json", &self.json),
        ] {
            let Some(path) = path.as_deref().filter(|p| !is_stdout(p)) else {
                continue;
            };
            let folder = folder_of(path);
            if !folder.is_dir() {
                return Err(FolderError::NoReportFolder(format!(
                    "{flag} {}: no folder {} (netdrill makes no folder for a report)",
                    show_path(path),
                    show_path(&folder)
                )));
            }
        }
        if let Some(dir) = self.artifacts.as_deref().filter(|d| !d.is_dir()) {
            let parent = folder_of(dir);
            if !parent.exists() {
                return Err(FolderError::NoReportFolder(format!(
                    "--artifacts {}: no folder {} to make it in",
                    show_path(dir),
                    show_path(&parent)
                )));
            }
            std::fs::create_dir(dir).map_err(|e| {
                FolderError::Artifacts(format!("--artifacts {}: {e}", show_path(dir)))
            })?;
        }
        Ok(())
    }

    /// At most one report on stdout; artifacts need a real folder.
    fn check(&self) -> Result<(), String> {
        let stdout = self.on_stdout();
        if stdout.len() > 1 {
            return Err(format!(
                "{} all write to stdout (`-`); at most one report can",
                stdout.join(", ")
            ));
        }
        if self.artifacts.as_deref().is_some_and(is_stdout) {
            return Err("--artifacts -: artifacts are a folder of files; name a folder".into());
        }
        if self.record.as_deref().is_some_and(is_stdout) {
            return Err("--record -: a history is a folder of records; name a folder".into());
        }
        Ok(())
    }
}

/// Everything `netdrill run` was asked for.
#[derive(Clone, Debug)]
pub struct RunSettings {
    pub paths: Vec<PathBuf>,
    pub discover: DiscoverOptions,
    pub schedule: ScheduleSettings,
    pub list: bool,
    /// `--partition`: the shard of the jobs to run.
    pub partition: Option<Partition>,
    pub prepare_host: bool,
    /// Where the progress display goes: stderr when a report takes stdout.
    pub progress_stream: Stream,
    pub progress_bar: bool,
    pub verbosity: Verbosity,
    pub color: bool,
    pub reports: ReportSettings,
    /// Probe the kernel, and make a failure of a job whose script needs a
    /// feature it lacks a skip (not `--no-skip-unsupported`).
    pub skip_unsupported: bool,
    /// `--kernel`: the run goes in a VM.
    pub vm: Option<VmSettings>,
    /// `--events`: where the run's events go, as JSON lines.
    pub events: Option<PathBuf>,
}

/// `--kernel` and its options.
#[derive(Clone, Debug)]
pub struct VmSettings {
    pub kernel: PathBuf,
    pub accel: crate::vm::plan::AccelChoice,
    pub boot_timeout: Option<Duration>,
    pub memory: String,
    /// `--vm-append`.
    pub append: Vec<String>,
    /// The arguments of the run inside (filled from the command line by
    /// [`main`]: see [`crate::vm::plan::inner_args`]).
    pub inner_args: Vec<String>,
}

impl VmSettings {
    /// `--kernel` and its options, when given.
    fn of(a: &RunArgs) -> Option<VmSettings> {
        a.kernel.as_ref().map(|kernel| VmSettings {
            kernel: kernel.clone(),
            accel: a.vm_accel,
            boot_timeout: a.vm_boot_timeout.map(Duration::from_secs),
            memory: a.vm_memory.clone(),
            append: a.vm_append.clone(),
            inner_args: Vec::new(),
        })
    }
}

/// kselftest's `KSFT_MACHINE_SLOW`: set and non-empty.
fn machine_slow() -> bool {
    std::env::var_os("KSFT_MACHINE_SLOW").is_some_and(|v| !v.is_empty())
}

impl RunSettings {
    pub fn from_args(a: RunArgs) -> Result<RunSettings, String> {
        let filters = a
            .filter
            .iter()
            .map(|f| Filter::parse(f))
            .collect::<Result<Vec<_>, _>>()?;
        let ip_versions = a
            .ip_versions
            .as_deref()
            .map(parse_ip_versions)
            .transpose()?;
        // --timeout wins, then kselftest's override variable.
        let timeout_override = match a.timeout {
            Some(secs) => Some(crate::suite::timeout_from_secs("--timeout ", secs)?),
            None => env_timeout(std::env::var("kselftest_override_timeout").ok().as_deref())?,
        };
        if a.jobs == Some(0) {
            return Err("-j 0: at least one job at once".into());
        }
        if let Some(n) = a.jobs.filter(|&n| n > MAX_JOBS) {
            return Err(format!("-j {n}: at most {MAX_JOBS} jobs at once"));
        }
        let start_interval = start_interval(a.start_rate)?;
        let vm = VmSettings::of(&a);
        let reports = ReportSettings {
            ktap: a.ktap,
            ktap_nested: a.ktap_nested,
            junit: a.junit,
            json: a.json,
            json_full: a.json_full,
            artifacts: a.artifacts,
            junit_strict: a.junit_schema == Some(JunitSchema::Jenkins),
            executor: a.executor,
            branch: a.branch,
            link: a.link,
            record: a.record,
        };
        reports.check()?;
        let progress_stream = if reports.uses_stdout() {
            Stream::Stderr
        } else {
            Stream::Stdout
        };
        let slow = machine_slow();
        let schedule = ScheduleSettings {
            jobs_at_once: a
                .jobs
                .unwrap_or_else(ScheduleSettings::default_jobs_at_once),
            retries: a.retries,
            reaction: a.reaction.into(),
            timeout_per: match a.timeout_per {
                TimeoutPerArg::Job => TimeoutPer::Job,
                TimeoutPerArg::Script => TimeoutPer::Script,
            },
            start_interval,
            tolerance_usecs: if slow {
                discover::SLOW_MACHINE_TOLERANCE_USECS
            } else {
                4000
            },
            durations: a.durations.or_else(crate::durations::default_path),
            artifacts: reports.artifacts.clone(),
            kernel_log: match a.kernel_log {
                Some(p) if p == Path::new("none") => None,
                Some(p) => Some(p),
                None => Some(PathBuf::from(crate::kernel_log::KMSG)),
            },
            ..ScheduleSettings::default()
        };
        let verbosity = if a.quiet {
            Verbosity::Quiet
        } else if a.verbose {
            Verbosity::Verbose
        } else {
            Verbosity::Normal
        };
        let no_color = std::env::var("NO_COLOR").ok();
        let color = a
            .color
            .enabled(progress_stream.is_terminal(), no_color.as_deref());
        Ok(RunSettings {
            paths: a.paths,
            discover: DiscoverOptions {
                filters,
                ip_versions,
                timeout_override,
                machine_slow: slow,
                kernel_release: None,
                limits: crate::suite::LimitsToml {
                    memory_mib: a.memory_limit,
                    tmp_mib: a.tmp_limit,
                    processes: a.process_limit,
                },
            },
            schedule,
            list: a.list,
            partition: a.partition.as_deref().map(Partition::parse).transpose()?,
            prepare_host: a.prepare_host,
            progress_stream,
            progress_bar: !a.no_progress && !a.quiet && progress_stream.is_terminal(),
            verbosity,
            color,
            reports,
            skip_unsupported: !a.no_skip_unsupported,
            vm,
            events: a.events,
        })
    }
}

/// `--ip-versions`: each version once, in the order given.
fn parse_ip_versions(list: &[String]) -> Result<Vec<IpVersion>, String> {
    let mut out = Vec::new();
    for v in list.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        let parsed = IpVersion::parse(v).ok_or_else(|| {
            format!(
                "--ip-versions: unknown IP version `{v}` (expected ipv4, ipv6 or ipv4-mapped-ipv6)"
            )
        })?;
        if !out.contains(&parsed) {
            out.push(parsed);
        }
    }
    if out.is_empty() {
        return Err("--ip-versions: empty list".into());
    }
    Ok(out)
}

/// The reporters' settings for a run of `jobs` with these report flags (see
/// [`report_options`]).
pub fn report_options_for(jobs: &[Job], reports: &ReportSettings) -> report::Options {
    let mut opts = report_options(jobs);
    opts.junit_strict = reports.junit_strict;
    if let Some(e) = &reports.executor {
        opts.executor = e.clone();
    }
    opts.branch = reports.branch.clone();
    opts.link = reports.link.clone();
    opts.link_root = reports.json.as_deref().filter(|p| !is_stdout(p)).map(|p| {
        match p.parent().filter(|d| !d.as_os_str().is_empty()) {
            Some(d) => d.to_path_buf(),
            None => PathBuf::from("."),
        }
    });
    opts
}

/// The most jobs at once `-j` accepts.
pub const MAX_JOBS: usize = 1024;

/// Descriptors the runner holds for each running job (its result and output
/// pipes, its pidfd).
pub const FDS_PER_JOB: u64 = 3;
/// Descriptors the runner keeps for everything else (standard streams, the
/// signal pipe, report and artifact files, a job being started).
pub const FDS_RESERVED: u64 = 32;

/// How many jobs fit at once under an open-file limit of `fd_limit`.
pub fn jobs_within_fd_limit(requested: usize, fd_limit: u64) -> usize {
    let room = fd_limit.saturating_sub(FDS_RESERVED) / FDS_PER_JOB;
    requested
        .min(usize::try_from(room).unwrap_or(usize::MAX))
        .max(1)
}

/// Raise the soft open-file limit as far as `jobs` at once need (never past
/// the hard limit), and say how many jobs fit: `(jobs, the limit)`.
pub fn fit_jobs_to_fd_limit(jobs: usize) -> (usize, u64) {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return (jobs, u64::MAX);
    };
    let want = FDS_RESERVED.saturating_add(FDS_PER_JOB.saturating_mul(jobs as u64));
    let mut limit = soft;
    if soft < want {
        let raised = want.min(hard);
        if setrlimit(Resource::RLIMIT_NOFILE, raised, hard).is_ok() {
            limit = raised;
        }
    }
    (jobs_within_fd_limit(jobs, limit), limit)
}

/// The least `--start-rate` (a job every 100 seconds).
pub const MIN_START_RATE: f64 = 0.01;

/// The time between two job starts at `rate` jobs a second.
pub fn start_interval(rate: f64) -> Result<Duration, String> {
    if rate.is_finite() && rate >= MIN_START_RATE {
        return Ok(Duration::from_secs_f64(1.0 / rate));
    }
    // 1e-300 as it was written, not as 300 zeros.
    let shown = if rate != 0.0 && rate.is_finite() && !(1e-4..1e15).contains(&rate.abs()) {
        format!("{rate:e}")
    } else {
        rate.to_string()
    };
    Err(format!(
        "--start-rate {shown}: expected a number of jobs a second, at least {MIN_START_RATE}"
    ))
}

/// kselftest's `kselftest_override_timeout` (seconds), when set: a number
/// up to a week, as `--timeout`.
pub fn env_timeout(value: Option<&str>) -> Result<Option<Option<Duration>>, String> {
    let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let secs: u64 = v.parse().map_err(|_| {
        format!("kselftest_override_timeout={v}: expected a number of seconds (0: no limit)")
    })?;
    crate::suite::timeout_from_secs("kselftest_override_timeout=", secs).map(Some)
}

/// The reporters' settings for a run of `jobs`: the per-script timeout is
/// kselftest's `# timeout set to N` when every job has the same one (0 when none
/// has a limit); with mixed timeouts each timeout reports the time it ran.
pub fn report_options(jobs: &[Job]) -> report::Options {
    let mut timeouts = jobs
        .iter()
        .filter(|j| j.skip_reason.is_none())
        .map(|j| j.timeout);
    let first = timeouts.next();
    let timeout_secs = match first {
        Some(t) if timeouts.all(|u| u == t) => Some(t.map_or(0, |d| d.as_secs())),
        _ => None,
    };
    report::Options {
        timeout_secs,
        ..report::Options::default()
    }
}

/// Exit statuses of `netdrill run` (the table is [`AFTER_HELP`]).
/// Write `text` to `path`, or to stdout for `-`.
fn emit(flag: &str, path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    if is_stdout(path) {
        let mut out = std::io::stdout().lock();
        return out
            .write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| format!("{flag} -: writing to stdout: {e}"));
    }
    std::fs::write(path, text).map_err(|e| format!("{flag} {}: {e}", path.display()))
}

/// Write the reports `--ktap`, `--junit` and `--json` ask for, once the run is
/// over (also after Ctrl-C, with what finished). Every report is attempted; the
/// errors are returned together. (`--artifacts` are written by the run as
/// attempts fail.)
pub fn write_reports(
    record: &RunRecord,
    reports: &ReportSettings,
    opts: &report::Options,
) -> Result<(), String> {
    let mut errors = Vec::new();
    if let Some(path) = &reports.ktap {
        let text = if reports.ktap_nested {
            report::ktap::render_nested_with(record, opts)
        } else {
            report::ktap::render_with(record, opts)
        };
        errors.extend(emit("--ktap", path, &text).err());
    }
    if let Some(path) = &reports.junit {
        let text = report::junit::render_with(record, opts);
        errors.extend(emit("--junit", path, &text).err());
    }
    if let Some(path) = &reports.json {
        let text = report::json::render_with(record, reports.json_full, opts);
        errors.extend(emit("--json", path, &text).err());
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("\nnetdrill: "))
    }
}

/// A report's folder that is not there ([`ReportSettings::prepare_folders`]).
#[derive(Debug)]
pub enum FolderError {
    /// A report file's folder, or the folder to make `--artifacts` in, is
    /// missing: the command line names a path that is not there (a usage
    /// error).
    NoReportFolder(String),
    /// The `--artifacts` folder cannot be made where it should be (a file is
    /// in the way, no permission): the machine cannot keep what the run
    /// produces (a setup error).
    Artifacts(String),
}

impl FolderError {
    pub fn exit_status(&self) -> i32 {
        match self {
            FolderError::NoReportFolder(_) => exit::USAGE,
            FolderError::Artifacts(_) => exit::SETUP,
        }
    }
}

impl std::fmt::Display for FolderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FolderError::NoReportFolder(m) | FolderError::Artifacts(m) => f.write_str(m),
        }
    }
}

/// Exit statuses of `netdrill run`.
pub mod exit {
    use crate::model::{RunRecord, Verdict};

    pub const SUCCESS: i32 = 0;
    /// kselftest's `KSFT_FAIL`.
    pub const FAILURES: i32 = 1;
    pub const USAGE: i32 = 2;
    /// kselftest's `KSFT_SKIP`; nextest's "no tests run".
    pub const SKIPPED: i32 = 4;
    /// nextest's setup error: the machine cannot run the jobs.
    pub const SETUP: i32 = 96;
    /// nextest's "writing output failed".
    pub const REPORT_WRITE: i32 = 110;

    /// The status a finished run exits with: a report that could not be
    /// written first (the run's outcome cannot be trusted to anyone), then a
    /// stop signal (128 + its number, as a shell reports it), then failures,
    /// then "every job skipped".
    pub fn of_run(record: &RunRecord, reports_written: bool) -> i32 {
        if !reports_written {
            REPORT_WRITE
        } else if let Some(signal) = record.interrupted {
            128 + signal.number()
        } else if !record.success() {
            FAILURES
        } else if record.jobs.iter().all(|j| j.verdict == Verdict::Skip) {
            SKIPPED
        } else {
            SUCCESS
        }
    }
}

/// Probe the kernel for what `jobs` need ([`crate::kernel_probe`], as
/// `exe __probe`) and mark each job whose script needs a feature it found
/// missing ([`Job::unsupported`]). Returns the findings.
pub fn probe_kernel(jobs: &mut [Job], exe: &Path) -> crate::kernel_features::KernelFeatures {
    use crate::kernel_features::{defines_of, needs_of_source, unsupported_reason, ProbeRequest};
    let needs: Vec<_> = jobs
        .iter()
        .map(|job| match std::fs::read(job.dir.join(&job.file_name)) {
            Ok(source) => needs_of_source(&source, &defines_of(&job.args)),
            Err(_) => Vec::new(),
        })
        .collect();
    let kernel = crate::kernel_probe::probe(exe, &ProbeRequest::of(needs.iter().flatten()));
    for (job, needs) in jobs.iter_mut().zip(&needs) {
        job.unsupported = unsupported_reason(needs, &kernel);
    }
    kernel
}

pub fn cmd_run(settings: RunSettings) -> i32 {
    let jobs = match discover::discover(&settings.paths, &settings.discover) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("netdrill: {e}");
            return exit::USAGE;
        }
    };
    let (mut jobs, shard) = match settings.partition {
        Some(p) => {
            let (jobs, plan) = shard_of(jobs, p, settings.schedule.durations.as_deref());
            (jobs, Some(plan))
        }
        None => (jobs, None),
    };
    if settings.list {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        for line in discover::list_lines(&jobs) {
            if writeln!(out, "{line}").is_err() {
                break; // stdout closed (e.g. `| head`)
            }
        }
        return exit::SUCCESS;
    }
    // A shard with none of the jobs still reports; no job at all is no job.
    if let Some(plan) = shard
        .as_ref()
        .filter(|p| jobs.is_empty() && !p.jobs.is_empty())
    {
        return empty_shard(&settings, plan);
    }
    if jobs.is_empty() {
        eprintln!("netdrill: no jobs (no *.pkt under the given paths, or none matches --filter)");
        return exit::SKIPPED;
    }
    if let Some(vm) = &settings.vm {
        return cmd_run_in_vm(&settings, vm, &jobs);
    }
    if let Err(e) = crate::preflight::run(&jobs, settings.prepare_host) {
        eprintln!("netdrill: {e}");
        return exit::SETUP;
    }
    for note in crate::preflight::notes(&jobs) {
        eprintln!("netdrill: note: {note}");
    }
    // A folder that is missing or cannot be made is better said now than
    // after the run.
    if let Err(e) = settings.reports.prepare_folders() {
        eprintln!("netdrill: {e}");
        return e.exit_status();
    }
    let mut schedule = settings.schedule.clone();
    if settings.skip_unsupported {
        // Findings when the probe ran (some script needs a feature it looks at).
        let kernel = probe_kernel(&mut jobs, &schedule.job_exe);
        schedule.kernel_features = kernel.summary().is_some().then_some(kernel);
    }
    let (fit, fd_limit) = fit_jobs_to_fd_limit(schedule.jobs_at_once);
    if fit < schedule.jobs_at_once {
        eprintln!(
            "netdrill: note: -j {}: the open-file limit ({fd_limit}, `ulimit -n`) leaves room \
             for {fit} jobs at once; running {fit}",
            schedule.jobs_at_once
        );
        schedule.jobs_at_once = fit;
    }
    if let Some(dir) = &settings.reports.record {
        if let Err(e) = std::fs::create_dir_all(dir) {
            eprintln!("netdrill: --record {}: {e}", dir.display());
            return exit::SETUP;
        }
    }
    let mut progress = Progress::on(settings.progress_stream, settings.progress_bar)
        .with(settings.verbosity, settings.color);
    if let Some(line) = schedule.kernel_features.as_ref().and_then(|k| k.summary()) {
        progress.header(&line);
    }
    let mut template = record_template(&settings);
    template.host.kernel_features = schedule.kernel_features.clone();
    let mut opts = report_options_for(&jobs, &settings.reports);
    opts.shard = shard;
    let mut reports = ReportStream::new(settings.reports.targets(), opts, template);
    let mut events = match EventsFile::create(settings.events.as_deref()) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("netdrill: {e}");
            return exit::SETUP;
        }
    };
    let record = match driver::run(&jobs, &schedule, &mut |ev| {
        // The reports first: a line on the display may be the last thing a
        // dying run does.
        events.event(ev);
        reports.event(ev);
        progress.event(ev);
    }) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("netdrill: {e}");
            return exit::SETUP;
        }
    };
    let mut errors = reports.errors();
    errors.extend(events.error);
    finish_run(&settings, &record, errors)
}

/// After a run: add it to `--record`'s history, say what went wrong with
/// the reports, and the exit status.
fn finish_run(settings: &RunSettings, record: &RunRecord, mut errors: Vec<String>) -> i32 {
    if let Some(dir) = &settings.reports.record {
        let suites = crate::history::record::suite_revisions(&settings.paths);
        if let Err(e) = crate::history::record::add(dir, record, &suites) {
            errors.push(format!("--record {}: {e}", dir.display()));
        }
    }
    for e in &errors {
        eprintln!("netdrill: {e}");
    }
    exit::of_run(record, errors.is_empty())
}

/// `--events`: the run's events as JSON lines, each written whole as it
/// comes (the host of a `--kernel` run reads them while the run goes on).
struct EventsFile {
    file: Option<std::fs::File>,
    error: Option<String>,
    path: PathBuf,
}

impl EventsFile {
    fn create(path: Option<&Path>) -> Result<EventsFile, String> {
        let file = path
            .map(std::fs::File::create)
            .transpose()
            .map_err(|e| format!("--events {}: {e}", path.unwrap_or(Path::new("")).display()))?;
        Ok(EventsFile {
            file,
            error: None,
            path: path.map(Path::to_path_buf).unwrap_or_default(),
        })
    }

    fn event(&mut self, ev: &crate::model::RunnerEvent) {
        use std::io::Write;
        let Some(file) = &mut self.file else {
            return;
        };
        let mut line = serde_json::to_string(ev).unwrap_or_default();
        line.push('\n');
        if let Err(e) = file.write_all(line.as_bytes()) {
            self.error = Some(format!("--events {}: {e}", self.path.display()));
            self.file = None;
        }
    }
}

/// `netdrill run --kernel`: the run in a VM ([`crate::vm`]), its events into
/// the same reports and display as a local run's.
fn cmd_run_in_vm(settings: &RunSettings, vm: &VmSettings, jobs: &[Job]) -> i32 {
    let kernel = match std::fs::canonicalize(&vm.kernel) {
        Ok(k) if k.is_file() => k,
        Ok(k) => {
            eprintln!("netdrill: --kernel {}: not a file", k.display());
            return exit::USAGE;
        }
        Err(e) => {
            eprintln!("netdrill: --kernel {}: {e}", vm.kernel.display());
            return exit::USAGE;
        }
    };
    if let Err(e) = settings.reports.prepare_folders() {
        eprintln!("netdrill: {e}");
        return exit::USAGE;
    }
    if let Some(dir) = &settings.reports.record {
        if let Err(e) = std::fs::create_dir_all(dir) {
            eprintln!("netdrill: --record {}: {e}", dir.display());
            return exit::SETUP;
        }
    }
    let artifacts = settings
        .reports
        .artifacts
        .as_deref()
        .map(std::fs::canonicalize);
    let artifacts = match artifacts.transpose() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("netdrill: --artifacts: {e}");
            return exit::SETUP;
        }
    };
    let template = record_template(settings);
    let request = crate::vm::host::VmRequest {
        kernel,
        accel: vm.accel,
        boot_timeout: vm.boot_timeout,
        memory: vm.memory.clone(),
        append: vm.append.clone(),
        inner_args: vm.inner_args.clone(),
        artifacts,
        planned: jobs
            .iter()
            .map(|j| crate::record::job_record(j, crate::model::Verdict::NotRun, Vec::new()))
            .collect(),
        host: template.host.clone(),
        jobs_at_once: template.jobs_at_once,
        tolerance_usecs: template.tolerance_usecs,
    };
    let mut progress = Progress::on(settings.progress_stream, settings.progress_bar)
        .with(settings.verbosity, settings.color);
    let reports = std::cell::RefCell::new(ReportStream::new(
        settings.reports.targets(),
        report_options_for(jobs, &settings.reports),
        template,
    ));
    let ended = crate::vm::host::run(
        &request,
        &mut |line| eprintln!("netdrill: {line}"),
        &mut |usecs| reports.borrow_mut().set_tolerance(usecs),
        &mut |ev| {
            reports.borrow_mut().event(ev);
            progress.event(ev);
        },
    );
    let reports = reports.into_inner();
    match ended {
        Ok(crate::vm::host::VmRunEnd::Record(record)) => {
            if let Some(vm) = record.vm.as_ref().filter(|v| !v.completed()) {
                eprintln!("netdrill: {}", vm.message);
            }
            finish_run(settings, &record, reports.errors())
        }
        Ok(crate::vm::host::VmRunEnd::InnerExited { status, stderr }) => {
            eprint!("{stderr}");
            status
        }
        Err(e) => {
            eprintln!("netdrill: {e}");
            exit::SETUP
        }
    }
}

/// The jobs of shard `p` (in list order), and the plan of the whole run,
/// balanced by the durations in `durations` for `duration`.
fn shard_of(jobs: Vec<Job>, p: Partition, durations: Option<&Path>) -> (Vec<Job>, ShardPlan) {
    let history = durations
        .map(crate::durations::Durations::load)
        .unwrap_or_default();
    let weights: Vec<JobWeight> = jobs
        .iter()
        .map(|j| JobWeight {
            name: j.full_name(),
            secs: history.of(&j.id),
        })
        .collect();
    let ids: Vec<_> = jobs
        .iter()
        .map(|j| {
            let timeout = j
                .skip_reason
                .is_none()
                .then(|| j.timeout.map_or(0, |d| d.as_secs()));
            (j.id.clone(), timeout)
        })
        .collect();
    let plan = ShardPlan::new(p, &ids, &weights);
    let mine = jobs
        .into_iter()
        .zip(&plan.jobs)
        .filter(|(_, planned)| planned.shard == p.index)
        .map(|(j, _)| j)
        .collect();
    (mine, plan)
}

/// A shard with no job (more shards than jobs): its reports are still
/// written, saying which shard it is, so that `netdrill merge` finds it.
fn empty_shard(settings: &RunSettings, plan: &ShardPlan) -> i32 {
    eprintln!(
        "netdrill: note: --partition {}: this shard has none of the {} jobs",
        plan.partition,
        plan.jobs.len()
    );
    if let Err(e) = settings.reports.prepare_folders() {
        eprintln!("netdrill: {e}");
        return exit::USAGE;
    }
    let mut opts = report_options_for(&[], &settings.reports);
    opts.shard = Some(plan.clone());
    let mut record = record_template(settings);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    (record.start_unix, record.end_unix) = (now, now);
    match write_reports(&record, &settings.reports, &opts) {
        Ok(()) => exit::SUCCESS,
        Err(e) => {
            eprintln!("netdrill: {e}");
            exit::REPORT_WRITE
        }
    }
}

/// What a report written before the end says of the run: the host, the jobs
/// at once and the tolerance (the jobs and times come with the events).
fn record_template(settings: &RunSettings) -> RunRecord {
    RunRecord {
        host: crate::model::host_info(),
        start_unix: 0.0,
        end_unix: 0.0,
        jobs_at_once: settings.schedule.jobs_at_once.max(1),
        tolerance_usecs: settings.schedule.tolerance_usecs,
        interrupted: None,
        jobs: Vec::new(),
        kernel_splats: Vec::new(),
        vm: None,
    }
}

/// Read the shards' documents for `netdrill merge`: each one, or why not.
fn read_shards(files: &[PathBuf]) -> Vec<crate::merge::ShardInput> {
    use crate::merge::ShardInput;
    files
        .iter()
        .map(|path| {
            let file = path.display().to_string();
            match std::fs::read_to_string(path) {
                Err(e) => ShardInput::Unreadable {
                    file,
                    why: e.to_string(),
                },
                Ok(text) => match report::json::parse(&text) {
                    Ok(doc) => ShardInput::Read {
                        file,
                        doc: Box::new(doc),
                    },
                    Err(e) => ShardInput::Unreadable {
                        file,
                        why: format!("not a netdrill JSON document: {e}"),
                    },
                },
            }
        })
        .collect()
}

/// `netdrill merge`.
pub fn cmd_merge(a: MergeArgs) -> i32 {
    let reports = ReportSettings {
        ktap: a.ktap,
        ktap_nested: a.ktap_nested,
        junit: a.junit,
        json: a.json,
        json_full: a.json_full,
        junit_strict: a.junit_schema == Some(JunitSchema::Jenkins),
        ..ReportSettings::default()
    };
    if let Err(e) = reports.check() {
        eprintln!("netdrill merge: {e}");
        return exit::USAGE;
    }
    if let Err(e) = reports.prepare_folders() {
        eprintln!("netdrill merge: {e}");
        return e.exit_status();
    }
    let merged = match crate::merge::merge(&read_shards(&a.files)) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("netdrill merge: {e}");
            return exit::USAGE;
        }
    };
    let mut opts = merged.opts;
    opts.junit_strict = reports.junit_strict;
    opts.link_root = report_options_for(&[], &reports).link_root;
    let written = write_reports(&merged.record, &reports, &opts);
    if let Err(e) = &written {
        eprintln!("netdrill merge: {e}");
    }
    for p in &merged.problems {
        eprintln!("netdrill merge: incomplete: {p}");
    }
    let status = exit::of_run(&merged.record, written.is_ok());
    // An incomplete merge is never a success, even when what it has passed.
    if (status == exit::SUCCESS || status == exit::SKIPPED) && !merged.problems.is_empty() {
        return exit::FAILURES;
    }
    status
}

/// `netdrill completions SHELL`.
pub fn cmd_completions(a: CompletionsArgs) -> i32 {
    let mut cmd = Cli::command();
    clap_complete::generate(a.shell, &mut cmd, "netdrill", &mut std::io::stdout());
    exit::SUCCESS
}

/// `netdrill man`: the man page, from the same definitions as `--help`.
pub fn cmd_man() -> i32 {
    use std::io::Write;
    let mut page = Vec::new();
    if let Err(e) = clap_mangen::Man::new(Cli::command()).render(&mut page) {
        eprintln!("netdrill man: {e}");
        return 1;
    }
    let mut out = std::io::stdout().lock();
    match out.write_all(&page).and_then(|()| out.flush()) {
        Ok(()) => exit::SUCCESS,
        Err(e) => {
            eprintln!("netdrill man: writing to stdout: {e}");
            exit::REPORT_WRITE
        }
    }
}

/// `netdrill install-as-packetdrill [DIR]`: `DIR/packetdrill` becomes a link
/// to this very binary (replacing a link that is there; a file that is not a
/// link is left alone).
pub fn cmd_install_as_packetdrill(a: InstallArgs) -> i32 {
    let exe = match std::env::current_exe().and_then(std::fs::canonicalize) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("netdrill install-as-packetdrill: where is this netdrill? {e}");
            return exit::SETUP;
        }
    };
    let link = a.dir.join("packetdrill");
    match install_link(&exe, &link) {
        Ok(()) => {
            println!("{} -> {}", link.display(), exe.display());
            exit::SUCCESS
        }
        Err(e) => {
            eprintln!("netdrill install-as-packetdrill: {}: {e}", link.display());
            exit::SETUP
        }
    }
}

/// Make `link` a symbolic link to `target`, replacing an older link.
fn install_link(target: &Path, link: &Path) -> std::io::Result<()> {
    if let Some(dir) = link.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    match std::fs::symlink_metadata(link) {
        Ok(m) if m.file_type().is_symlink() => std::fs::remove_file(link)?,
        Ok(_) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "a file that is not a link is there; remove it first",
            ))
        }
        Err(_) => {}
    }
    std::os::unix::fs::symlink(target, link)
}

/// Prints `-v` output as packetdrill does (stdout).
struct ExecObserver;

impl netdrill_engine::Observer for ExecObserver {
    fn verbose(&mut self, line: &str) {
        println!("{line}");
    }
}

pub fn cmd_exec(a: ExecArgs) -> i32 {
    // `--allow-host-netns` may come after packetdrill flags too.
    let mut allow = a.allow_host_netns;
    let mut reaction = netdrill_engine::run::reaction::Reaction::from(a.reaction);
    let mut bad_reaction = None;
    let args: Vec<String> = a
        .args
        .into_iter()
        .filter(|x| {
            if let Some(which) = x.strip_prefix("--reaction=") {
                match netdrill_engine::run::reaction::Reaction::parse(which) {
                    Some(r) => reaction = r,
                    None => bad_reaction = Some(which.to_string()),
                }
                return false;
            }
            let ours = x == "--allow-host-netns";
            allow |= ours;
            !ours
        })
        .collect();
    if let Some(which) = bad_reaction {
        eprintln!("netdrill exec: --reaction={which}: expected packetdrill or immediate");
        return 2;
    }
    let (flags, paths) = match netdrill_engine::config::split_command_line(&args) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("netdrill exec: {e}");
            return 1;
        }
    };
    let script = match paths.as_slice() {
        [one] => PathBuf::from(one),
        [] => {
            eprintln!(
                "netdrill exec: no script given (usage: netdrill exec [packetdrill flags] SCRIPT)"
            );
            return 1;
        }
        many => {
            eprintln!(
                "netdrill exec: one script at a time (got {}); use `netdrill run` for several",
                many.join(" ")
            );
            return 1;
        }
    };
    if !allow && netdrill_engine::run::in_initial_netns() {
        eprintln!(
            "netdrill exec: refusing to run in the host's network namespace: the script would \
             create tun0, addresses and routes and may change sysctls there. Run it in a \
             namespace of its own: `unshare -n netdrill exec ...`, or let `netdrill run {}` \
             make one; --allow-host-netns overrides.",
            script.display()
        );
        return 1;
    }
    let opts = netdrill_engine::run::RunOptions {
        namespace_is_ours: false,
        allow_initial_namespace: allow,
        no_realtime: false,
        reaction,
    };
    let outcome = netdrill_engine::run::run_file(&script, &flags, &opts, &mut ExecObserver);
    match &outcome {
        netdrill_engine::Outcome::Pass { warnings, .. } => {
            for w in warnings {
                eprintln!("{w}");
            }
        }
        netdrill_engine::Outcome::Fail(f) => {
            eprint!("{}", f.message);
            if !f.message.ends_with('\n') {
                eprintln!();
            }
        }
    }
    outcome.exit_status()
}

/// `netdrill check`.
pub fn cmd_check(a: CheckArgs) -> i32 {
    let mut defines = Vec::new();
    let given = if a.defines.is_empty() {
        // The values that follow each `-D` of the kernel runner's ipv4 arguments.
        let ksft = netdrill_engine::config::kselftest_args(netdrill_engine::IpVersion::Ipv4);
        ksft.iter()
            .zip(ksft.iter().skip(1))
            .filter(|(flag, _)| *flag == "-D")
            .map(|(_, value)| value.clone())
            .collect()
    } else {
        a.defines.clone()
    };
    for d in &given {
        match d.split_once('=') {
            Some((name, value)) if !name.is_empty() => {
                defines.push((name.to_string(), value.to_string()))
            }
            _ => {
                eprintln!("netdrill check: -D {d}: expected NAME=VALUE");
                return exit::USAGE;
            }
        }
    }
    crate::check::run_with_defines(&a.paths, &defines)
}

/// The arguments of the run inside a `--kernel` VM: this command line's
/// after `run`, less the host's own options ([`crate::vm::plan::inner_args`]).
fn vm_inner_args(argv: &[std::ffi::OsString]) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    for a in argv.iter().skip_while(|a| *a != "run").skip(1) {
        match a.to_str() {
            Some(w) => words.push(w.to_string()),
            None => {
                use std::os::unix::ffi::OsStrExt;
                return Err(format!(
                    "--kernel: argument {} is not UTF-8: the run in the VM takes its \
                     arguments as text",
                    crate::escape::escape_bytes(a.as_bytes())
                ));
            }
        }
    }
    Ok(crate::vm::plan::inner_args(&words))
}

/// What to do for a command line, before clap sees it: netdrill invoked as
/// `packetdrill` (a symlink or a copy under that name), or `netdrill packetdrill
/// ...`, takes packetdrill's command line (which clap must not parse). Returns
/// the arguments for [`crate::packetdrill::packetdrill_main`], program name
/// first, or `None` for netdrill's own commands.
pub fn packetdrill_argv(argv: &[String]) -> Option<Vec<String>> {
    let program = argv.first().map(Path::new)?;
    if program.file_name().is_some_and(|n| n == "packetdrill") {
        return Some(argv.to_vec());
    }
    match argv.get(1) {
        Some(sub) if sub == "packetdrill" => Some(argv[1..].to_vec()),
        _ => None,
    }
}

/// netdrill's own commands, from the whole command line (program name first);
/// returns the exit status. `main.rs` hands packetdrill's command lines (see
/// [`packetdrill_argv`]) to the drop-in before this.
pub fn main(argv: Vec<std::ffi::OsString>) -> i32 {
    let argv_text = argv.clone();
    let cli = Cli::parse_from(argv);
    match cli.command {
        Command::Run(a) => match RunSettings::from_args(*a) {
            Ok(mut s) => {
                if let Some(vm) = &mut s.vm {
                    match vm_inner_args(&argv_text) {
                        Ok(args) => vm.inner_args = args,
                        Err(e) => {
                            eprintln!("netdrill: {e}");
                            return exit::USAGE;
                        }
                    }
                }
                cmd_run(s)
            }
            Err(e) => {
                eprintln!("netdrill: {e}");
                exit::USAGE
            }
        },
        Command::Exec(a) => cmd_exec(a),
        Command::Check(a) => cmd_check(a),
        Command::Report(a) => crate::report_command::cmd_report(a),
        Command::Merge(a) => cmd_merge(a),
        Command::Completions(a) => cmd_completions(a),
        Command::Man => cmd_man(),
        Command::InstallAsPacketdrill(a) => cmd_install_as_packetdrill(a),
        // `main.rs` dispatches this before clap; here for callers of `main` alone.
        Command::Packetdrill(a) => {
            let mut args = vec!["packetdrill".to_string()];
            args.extend(a.args);
            crate::packetdrill::packetdrill_main(args)
        }
        Command::Job(a) => job_child::child_main(a.result_fd, &a.spec),
        Command::Probe(a) => crate::kernel_probe::child_main(&a.request),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn packetdrill_personality() {
        assert_eq!(
            packetdrill_argv(&argv(&["/usr/local/bin/packetdrill", "-v", "a.pkt"])),
            Some(argv(&["/usr/local/bin/packetdrill", "-v", "a.pkt"]))
        );
        assert_eq!(
            packetdrill_argv(&argv(&["netdrill", "packetdrill", "--mss=x", "a.pkt"])),
            Some(argv(&["packetdrill", "--mss=x", "a.pkt"]))
        );
        assert_eq!(
            packetdrill_argv(&argv(&["packetdrill"])),
            Some(argv(&["packetdrill"]))
        );
        assert_eq!(
            packetdrill_argv(&argv(&["netdrill", "run", "packetdrill"])),
            None
        );
        assert_eq!(
            packetdrill_argv(&argv(&["/opt/packetdrill/netdrill", "run"])),
            None
        );
        assert_eq!(packetdrill_argv(&argv(&["netdrill"])), None);
        assert_eq!(packetdrill_argv(&[]), None);
    }

    fn run_args(extra: &[&str]) -> Result<RunSettings, String> {
        let mut words = vec!["netdrill", "run", "--list"];
        words.extend_from_slice(extra);
        match Cli::try_parse_from(words) {
            Ok(Cli {
                command: Command::Run(a),
            }) => RunSettings::from_args(*a),
            Ok(other) => panic!("{other:?}"),
            Err(e) => Err(e.to_string()),
        }
    }

    #[test]
    fn one_quiet_retry_and_per_job_timeouts_by_default() {
        let s = run_args(&[]).unwrap();
        assert_eq!(
            (s.schedule.retries, s.schedule.timeout_per),
            (1, TimeoutPer::Job)
        );
        let s = run_args(&["--retries", "0", "--timeout-per", "script"]).unwrap();
        assert_eq!(
            (s.schedule.retries, s.schedule.timeout_per),
            (0, TimeoutPer::Script)
        );
        assert!(run_args(&["--timeout-per", "suite"])
            .unwrap_err()
            .contains("possible values: job, script"));
    }

    #[test]
    fn huge_values_are_refused_clearly() {
        let e = run_args(&["--timeout", "9223372036854775807"]).unwrap_err();
        assert_eq!(
            e,
            "--timeout 9223372036854775807: at most 604800 seconds (a week); 0 means no limit"
        );
        assert_eq!(
            run_args(&["--start-rate", "1e-300"]).unwrap_err(),
            "--start-rate 1e-300: expected a number of jobs a second, at least 0.01"
        );
        assert!(run_args(&["--start-rate", "0.005"])
            .unwrap_err()
            .starts_with("--start-rate 0.005:"));
        assert!(run_args(&["--start-rate", "inf"]).is_err());
        assert!(run_args(&["--start-rate", "NaN"]).is_err());
        assert_eq!(
            run_args(&["-j", "100000"]).unwrap_err(),
            "-j 100000: at most 1024 jobs at once"
        );
        let e = env_timeout(Some("18446744073709551615")).unwrap_err();
        assert!(e.starts_with("kselftest_override_timeout=18446744073709551615: at most"));
        assert!(env_timeout(Some("99999999999999999999999")).is_err());
        assert_eq!(env_timeout(Some(" 0 ")), Ok(Some(None)));
        assert_eq!(env_timeout(Some("")), Ok(None));
        assert_eq!(env_timeout(None), Ok(None));
        assert_eq!(
            env_timeout(Some("60")),
            Ok(Some(Some(Duration::from_secs(60))))
        );
        let s = run_args(&["--timeout", "604800", "--start-rate", "0.01"]).unwrap();
        assert_eq!(
            s.discover.timeout_override,
            Some(Some(Duration::from_secs(604800)))
        );
        assert_eq!(s.schedule.start_interval, Duration::from_secs(100));
        assert!(run_args(&["--memory-limit", "1"]).is_err());
        assert!(run_args(&["--process-limit", "99999999999"]).is_err());
    }

    #[test]
    fn jobs_fit_the_open_file_limit() {
        assert_eq!(jobs_within_fd_limit(64, 64), 10);
        assert_eq!(jobs_within_fd_limit(64, 1024), 64);
        assert_eq!(jobs_within_fd_limit(5, 20), 1);
        assert_eq!(jobs_within_fd_limit(24, u64::MAX), 24);
        let (fit, limit) = fit_jobs_to_fd_limit(8);
        assert_eq!(fit, 8);
        assert!(limit >= FDS_RESERVED + 8 * FDS_PER_JOB);
    }

    proptest::proptest! {
        /// Whatever numbers the option parsers get, they give settings a run
        /// can use (times that fit an `Instant`) or an error; never a panic.
        #[test]
        fn run_options_never_panic(
            timeout in proptest::prelude::any::<u64>(),
            rate in proptest::prelude::any::<f64>(),
            jobs in proptest::prelude::any::<usize>(),
            memory in proptest::prelude::any::<u64>(),
            env in proptest::prelude::any::<String>(),
        ) {
            let (timeout, rate, jobs, memory) =
                (timeout.to_string(), format!("{rate:e}"), jobs.to_string(), memory.to_string());
            let now = std::time::Instant::now();
            if let Ok(s) = run_args(&[
                "--timeout", &timeout, "--start-rate", &rate, "-j", &jobs,
                "--memory-limit", &memory,
            ]) {
                if let Some(Some(t)) = s.discover.timeout_override {
                    proptest::prop_assert!(now.checked_add(t * 2).is_some());
                }
                proptest::prop_assert!(now.checked_add(s.schedule.start_interval * 2).is_some());
                proptest::prop_assert!((1..=MAX_JOBS).contains(&s.schedule.jobs_at_once));
            }
            if let Ok(Some(Some(t))) = env_timeout(Some(&env)) {
                proptest::prop_assert!(t.as_secs() <= crate::suite::MAX_TIMEOUT_SECS);
            }
        }
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn exit_statuses_follow_kselftest_then_nextest() {
        use crate::model::{HostInfo, JobId, JobRecord, StopSignal, Verdict};
        let job = |verdict| JobRecord {
            id: JobId {
                suite: "s".into(),
                script: "a.pkt".into(),
                ip_version: "ipv4".into(),
            },
            path: "a.pkt".into(),
            args: vec![],
            verdict,
            skip_reason: None,
            xfail_reason: None,
            attempts: vec![],
            replay_command: String::new(),
        };
        let run = |verdicts: &[Verdict], interrupted| RunRecord {
            host: HostInfo {
                hostname: String::new(),
                kernel_release: String::new(),
                netdrill_version: String::new(),
                kernel_features: None,
            },
            start_unix: 0.0,
            end_unix: 0.0,
            jobs_at_once: 1,
            tolerance_usecs: 4000,
            interrupted,
            jobs: verdicts.iter().map(|&v| job(v)).collect(),
            kernel_splats: vec![],
            vm: None,
        };
        use Verdict::*;
        assert_eq!(exit::of_run(&run(&[Pass, Skip], None), true), 0);
        assert_eq!(exit::of_run(&run(&[Xfail, Flaky], None), true), 0);
        assert_eq!(exit::of_run(&run(&[Pass, Fail], None), true), 1);
        assert_eq!(exit::of_run(&run(&[Xpass], None), true), 1);
        assert_eq!(exit::of_run(&run(&[Skip, Skip], None), true), 4);
        let stopped = |s| exit::of_run(&run(&[Pass, NotRun], Some(s)), true);
        assert_eq!(stopped(StopSignal::Interrupt), 130);
        assert_eq!(stopped(StopSignal::Terminate), 143);
        assert_eq!(stopped(StopSignal::Hangup), 129);
        assert_eq!(exit::of_run(&run(&[Fail], None), false), 110);
    }

    #[test]
    fn help_names_the_exit_statuses_and_the_environment() {
        let mut cli = Cli::command();
        let run_help = cli
            .find_subcommand_mut("run")
            .expect("a run command")
            .render_long_help()
            .to_string();
        let help = Cli::command().render_long_help().to_string() + &run_help;
        assert!(run_help.contains("KSFT_MACHINE_SLOW"), "{run_help}");
        for word in [
            "KSFT_MACHINE_SLOW",
            "kselftest_override_timeout",
            "NO_COLOR",
            "130",
            "143",
            "110",
        ] {
            assert!(help.contains(word), "{word} missing from --help:\n{help}");
        }
    }

    #[test]
    fn install_as_packetdrill_links_and_replaces_only_links() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("bin/packetdrill");
        install_link(Path::new("/bin/true"), &link).unwrap();
        assert_eq!(std::fs::read_link(&link).unwrap(), Path::new("/bin/true"));
        install_link(Path::new("/bin/false"), &link).unwrap();
        assert_eq!(std::fs::read_link(&link).unwrap(), Path::new("/bin/false"));
        let file = dir.path().join("packetdrill");
        std::fs::write(&file, "").unwrap();
        assert!(install_link(Path::new("/bin/true"), &file).is_err());
    }
}
