//! The command line: `netdrill run`, `netdrill exec`, and the hidden `__job`
//! the runner starts for each job.

use crate::discover::{self, DiscoverOptions, Filter};
use crate::job::{self, Simulate};
use crate::model::RunRecord;
use crate::progress::Progress;
use crate::schedule::{self, ScheduleSettings};
use clap::{Args, Parser, Subcommand};
use netdrill_engine::IpVersion;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "netdrill",
    version,
    about = "Run packetdrill scripts: one at a time like packetdrill, or whole suites in \
             parallel, each script x IP version in its own network namespace"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run suites: every script x IP version in its own network, mount and PID
    /// namespace, many at once.
    Run(RunArgs),
    /// Run one script in the current network namespace, like packetdrill
    /// (same flags, same messages, exit status 0 or 1).
    Exec(ExecArgs),
    /// (internal) One job, started by `netdrill run`.
    #[command(name = "__job", hide = true)]
    Job(JobArgs),
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Folders (searched recursively for *.pkt), script files or glob patterns.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Jobs at once [default: twice the number of CPUs].
    #[arg(short = 'j', long = "jobs", value_name = "N")]
    pub jobs: Option<usize>,
    /// Only jobs whose `suite/script.pkt ipvX` name contains S, or matches /REGEX/
    /// (repeatable: any may match).
    #[arg(long, value_name = "S")]
    pub filter: Vec<String>,
    /// Print the jobs, run nothing.
    #[arg(long)]
    pub list: bool,
    /// IP versions for scripts that pin none (comma-separated: ipv4, ipv6,
    /// ipv4-mapped-ipv6) [default: ipv4,ipv6, as the kernel's runner].
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub ip_versions: Option<Vec<String>>,
    /// Per-job timeout in seconds, 0 for none [default: the suite's `settings`
    /// or suite.toml, else 45].
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
    /// Run a job that did not pass up to N more times (a later pass is reported
    /// as flaky).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub retries: u32,
    /// Let child namespaces select the congestion controls the suite needs
    /// (the one host setting netdrill changes).
    #[arg(long)]
    pub prepare_host: bool,
    /// Write a KTAP (kselftest-shaped TAP) report.
    #[arg(long, value_name = "FILE")]
    pub ktap: Option<PathBuf>,
    /// Write a JUnit XML report.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write a JSON report.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write failure artifacts (logs, ...) under DIR.
    #[arg(long, value_name = "DIR")]
    pub artifacts: Option<PathBuf>,
    /// Plain lines even on a terminal.
    #[arg(long)]
    pub no_progress: bool,
    /// New jobs per second at most (creating sandboxes at full rate disturbs the
    /// timing of running jobs).
    #[arg(long, value_name = "N", default_value_t = 30.0)]
    pub start_rate: f64,
}

#[derive(Args, Debug)]
pub struct ExecArgs {
    /// Run even in the host's initial network namespace (it adds tun0, addresses
    /// and routes there, and the script may change sysctls).
    #[arg(long)]
    pub allow_host_netns: bool,
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
pub struct JobArgs {
    #[arg(long)]
    pub result_fd: i32,
    #[arg(long)]
    pub spec: String,
    /// Testing hook (see `job.rs`).
    #[arg(long)]
    pub simulate: Option<Simulate>,
}

/// Where reports go: filled from `run`'s flags.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReportSettings {
    pub ktap: Option<PathBuf>,
    pub junit: Option<PathBuf>,
    pub json: Option<PathBuf>,
    pub artifacts: Option<PathBuf>,
}

impl ReportSettings {
    pub fn any(&self) -> bool {
        self.ktap.is_some()
            || self.junit.is_some()
            || self.json.is_some()
            || self.artifacts.is_some()
    }
}

/// Everything `netdrill run` was asked for.
#[derive(Clone, Debug)]
pub struct RunSettings {
    pub paths: Vec<PathBuf>,
    pub discover: DiscoverOptions,
    pub schedule: ScheduleSettings,
    pub list: bool,
    pub prepare_host: bool,
    pub progress_bar: bool,
    pub reports: ReportSettings,
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
        let ip_versions = match &a.ip_versions {
            None => None,
            Some(list) => {
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
                Some(out)
            }
        };
        // --timeout wins, then kselftest's override variable.
        let env_override = std::env::var("kselftest_override_timeout")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok());
        let timeout_override = a
            .timeout
            .or(env_override)
            .map(|s| (s > 0).then(|| Duration::from_secs(s)));
        if a.jobs == Some(0) {
            return Err("-j 0: at least one job at once".into());
        }
        if !(a.start_rate > 0.0 && a.start_rate.is_finite()) {
            return Err(format!("--start-rate {}: must be above 0", a.start_rate));
        }
        let slow = machine_slow();
        let schedule = ScheduleSettings {
            jobs_at_once: a
                .jobs
                .unwrap_or_else(ScheduleSettings::default_jobs_at_once),
            retries: a.retries,
            start_interval: Duration::from_secs_f64(1.0 / a.start_rate),
            tolerance_usecs: if slow {
                discover::SLOW_MACHINE_TOLERANCE_USECS
            } else {
                4000
            },
            durations: crate::durations::default_path(),
            ..ScheduleSettings::default()
        };
        Ok(RunSettings {
            paths: a.paths,
            discover: DiscoverOptions {
                filters,
                ip_versions,
                timeout_override,
                machine_slow: slow,
            },
            schedule,
            list: a.list,
            prepare_host: a.prepare_host,
            progress_bar: !a.no_progress && Progress::stdout_is_terminal(),
            reports: ReportSettings {
                ktap: a.ktap,
                junit: a.junit,
                json: a.json,
                artifacts: a.artifacts,
            },
        })
    }
}

/// The report hook: writes the reports `--ktap`, `--junit`, `--json` and
/// `--artifacts` ask for, once the run is over (also after Ctrl-C).
///
/// TODO(lead): call the writers in `crate::report` here. Until they are wired,
/// [`cmd_run`] refuses report flags before running anything, so no report is
/// silently lost.
pub fn write_reports(_record: &RunRecord, _reports: &ReportSettings) -> Result<(), String> {
    Ok(())
}

/// Exit statuses of `netdrill run`.
pub mod exit {
    pub const SUCCESS: i32 = 0;
    pub const FAILURES: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const INTERRUPTED: i32 = 130;
}

pub fn cmd_run(settings: RunSettings) -> i32 {
    let jobs = match discover::discover(&settings.paths, &settings.discover) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("netdrill: {e}");
            return exit::USAGE;
        }
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
    if jobs.is_empty() {
        eprintln!("netdrill: no jobs (no *.pkt under the given paths, or none matches --filter)");
        return exit::USAGE;
    }
    if settings.reports.any() {
        eprintln!(
            "netdrill: --ktap, --junit, --json and --artifacts are not wired to their writers \
             in this build yet; run without them"
        );
        return exit::USAGE;
    }
    if let Err(e) = crate::preflight::run(&jobs, settings.prepare_host) {
        eprintln!("netdrill: {e}");
        return exit::USAGE;
    }
    let mut progress = Progress::new(settings.progress_bar, Box::new(std::io::stdout()));
    let record = match schedule::run(&jobs, &settings.schedule, &mut |ev| progress.event(ev)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("netdrill: {e}");
            return exit::USAGE;
        }
    };
    if let Err(e) = write_reports(&record, &settings.reports) {
        eprintln!("netdrill: {e}");
        return exit::FAILURES;
    }
    if record.interrupted {
        exit::INTERRUPTED
    } else if record.success() {
        exit::SUCCESS
    } else {
        exit::FAILURES
    }
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
    let args: Vec<String> = a
        .args
        .into_iter()
        .filter(|x| {
            let ours = x == "--allow-host-netns";
            allow |= ours;
            !ours
        })
        .collect();
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
    if !allow && crate::sandbox::in_initial_netns() == Some(true) {
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
    };
    let outcome = netdrill_engine::run::run_file(&script, &flags, &opts, &mut ExecObserver);
    match &outcome {
        netdrill_engine::Outcome::Pass { warnings } => {
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

pub fn main() -> i32 {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(a) => match RunSettings::from_args(a) {
            Ok(s) => cmd_run(s),
            Err(e) => {
                eprintln!("netdrill: {e}");
                exit::USAGE
            }
        },
        Command::Exec(a) => cmd_exec(a),
        Command::Job(a) => job::child_main(a.result_fd, &a.spec, a.simulate),
    }
}
