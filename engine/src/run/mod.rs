//! Replaying a plan against the live kernel.
//!
//! [`run_file`] follows packetdrill's lifecycle (docs/engine/lifecycle.md):
//! parse with the command line's defines, apply the script's option lines
//! then the command line again, build the plan, set up tun0, the sniffer and
//! an ephemeral port, run the init command, align the start to the kernel's
//! tick, run the events, run the cleanup command, run the recorded Python,
//! and tear down (reset the connections left open).
//!
//! The top layer: it imports `plan`, `packet`, `script` and `outcome`. Its
//! own files build on each other one way too, from the bottom: the clock,
//! timing rules, socket and fd state, tun0 (netdev, netlink, sniffer),
//! commands and code; system calls (`syscall/`) and the verification of live
//! packets (`verify.rs`); the typed failures (`failure.rs`); the
//! `Runtime` (`runtime.rs`) and its waiting; the handlers of system call and
//! packet events; the event loop; the teardown; and this file.

mod blocking;
pub mod clock;
mod code;
mod command;
pub mod netdev;
pub mod netlink;
pub mod sniffer;
mod state;
mod syscall;
mod timing;
mod tracking;

mod event_loop;
mod failure;
mod options;
mod packet_events;
mod ports;
mod priority;
pub mod reaction;
mod runtime;
mod syscall_events;
mod teardown;
#[cfg(test)]
mod testns;
mod verify;

use crate::outcome::{Failure, FailureKind, Observer, Outcome, TimingSlack};
use crate::plan::config::{Addresses, CliFlag, Config};
use crate::plan::Plan;
use crate::script::{self, DiagnosticKind};
use failure::{RunError, RunFailure};
use runtime::Runtime;
use std::path::Path;

pub use netdev::in_initial_netns;
pub use options::RunOptions;

/// Run one script file with packetdrill's command-line flags `cli` (script
/// option lines apply first, then `cli` again, as packetdrill does).
///
/// The current directory is where backquoted commands run (packetdrill runs
/// them in its own working directory; runners `cd` into the script's folder).
pub fn run_file(
    path: &Path,
    cli: &[CliFlag],
    opts: &RunOptions,
    observer: &mut dyn Observer,
) -> Outcome {
    let display = path.display().to_string();
    let saved = if opts.no_realtime {
        None
    } else {
        priority::enter_realtime()
    };
    let mut timing_slack = None;
    let result = run_path(&display, path, cli, opts, observer, &mut timing_slack);
    priority::leave_realtime(saved);
    match result {
        Ok(warnings) => Outcome::Pass {
            warnings,
            timing_slack,
        },
        Err(failure) => Outcome::Fail(Failure {
            timing_slack,
            ..*failure
        }),
    }
}

/// A failure found before the events run: a bad option or a script that
/// does not parse, with packetdrill's message.
fn failure(kind: FailureKind, line: Option<u32>, message: String) -> Box<Failure> {
    Box::new(Failure {
        kind,
        line,
        message,
        mismatch: None,
        timing_slack: None,
    })
}

/// Parse a script and resolve its configuration without touching the
/// network: what `--dry_run` and `netdrill check` do.
pub fn prepare(
    display: &str,
    source: &[u8],
    cli: &[CliFlag],
) -> Result<(script::Script, Config, Addresses, Plan), Box<Failure>> {
    let option_error = |line, e: &dyn std::fmt::Display| {
        failure(FailureKind::Option, line, format!("{display}: {e}"))
    };
    // The command line's defines are known while lexing.
    let mut cli_config = Config::default();
    cli_config
        .apply_cli(cli)
        .map_err(|e| option_error(None, &e))?;
    let defines: Vec<(String, String)> = cli_config
        .defines
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let script = script::parse(source, &defines).map_err(|f| {
        let d = &f.diagnostic;
        let kind = failure_kind(d.kind);
        let line = (d.kind != DiagnosticKind::Option || d.has_line).then_some(d.span.line);
        failure(kind, line, d.packetdrill_line(display))
    })?;
    let mut config = Config::default();
    for option in &script.options {
        let value = option.value.as_ref().map(|v| v.to_flag_value());
        config
            .apply_flag(&option.name, value.as_deref())
            .map_err(|e| option_error(Some(option.span.line), &e))?;
    }
    config.apply_cli(cli).map_err(|e| option_error(None, &e))?;
    let addrs = config.finalize().map_err(|e| option_error(None, &e))?;
    let plan = Plan::build(&script, &config).map_err(|d| {
        failure(
            failure_kind(d.kind),
            Some(d.span.line),
            d.packetdrill_line(display),
        )
    })?;
    Ok((script, config, addrs, plan))
}

fn failure_kind(kind: DiagnosticKind) -> FailureKind {
    match kind {
        DiagnosticKind::Parse => FailureKind::Parse,
        DiagnosticKind::Semantic => FailureKind::Semantic,
        DiagnosticKind::Option => FailureKind::Option,
    }
}

fn run_path(
    display: &str,
    path: &Path,
    cli: &[CliFlag],
    opts: &RunOptions,
    observer: &mut dyn Observer,
    timing_slack: &mut Option<TimingSlack>,
) -> Result<Vec<String>, Box<Failure>> {
    let located = |f: Box<RunFailure>| Box::new(f.into_failure(display));
    let source = std::fs::read(path).map_err(|e| located(RunError::ReadScript(e).unlocated()))?;
    let (script, config, addrs, plan) = prepare(display, &source, cli)?;
    if config.dry_run {
        return Ok(Vec::new());
    }
    let setup = Setup {
        display,
        script: &script,
        config: &config,
        addrs: &addrs,
        plan: &plan,
        opts,
    };
    replay(&setup, observer, timing_slack).map_err(located)
}

/// What a replay works from: the prepared script and how to run it.
struct Setup<'a> {
    display: &'a str,
    script: &'a script::Script,
    config: &'a Config,
    addrs: &'a Addresses,
    plan: &'a Plan,
    opts: &'a RunOptions,
}

/// Everything after the script is prepared: packetdrill's lifecycle
/// (docs/engine/lifecycle.md).
/// `timing_slack` gets the tightest checked time, whether the run passes or
/// fails.
fn replay(
    setup: &Setup,
    observer: &mut dyn Observer,
    timing_slack: &mut Option<TimingSlack>,
) -> Result<Vec<String>, Box<RunFailure>> {
    let Setup {
        display,
        script,
        config,
        addrs,
        plan,
        opts,
    } = *setup;
    if !opts.allow_initial_namespace && in_initial_netns() {
        return Err(RunError::HostNamespace {
            script: display.to_string(),
        }
        .unlocated());
    }
    if let Some(scripts) = &config.init_scripts {
        for command in scripts.split(',').filter(|c| !c.is_empty()) {
            command::run(command).map_err(|error| {
                RunError::InitScript {
                    command: command.to_string(),
                    error,
                }
                .unlocated()
            })?;
        }
    }
    let netdev =
        netdev::NetDev::create(config, addrs, opts).map_err(|e| RunError::from(e).unlocated())?;
    let ports = ports::PortPool::new(config.ip().socket_is_ipv6())
        .map_err(|e| RunError::from(e).unlocated())?;

    let mut rt = Runtime::new(
        display, script, plan, config, addrs, observer, netdev, ports,
    );
    rt.reaction = reaction::ReactionModel::new(opts.reaction);
    let result = lifecycle(&mut rt, script, config, opts);
    *timing_slack = rt.timing_slack;
    result
}

/// From the init command to the teardown (docs/engine/lifecycle.md).
fn lifecycle(
    rt: &mut Runtime,
    script: &script::Script,
    config: &Config,
    opts: &RunOptions,
) -> Result<Vec<String>, Box<RunFailure>> {
    let mut init_ran = false;
    if let Some(init) = &script.init_command {
        rt.observer.event_started(init.span.line);
        command::run(&init.text).map_err(|e| RunError::InitCommand(e).unlocated())?;
        init_ran = true;
    }
    // SAFETY: setting SIGPIPE to ignored has no preconditions.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };

    // docs/engine/time-and-tolerance.md, "The start of a script": everything
    // is set up and resident before the clock starts.
    let locked = !opts.no_realtime && priority::lock_memory();
    rt.clock = clock::ScriptClock::settled();
    rt.state.live_start_realtime_usecs = Some(rt.clock.start_unix_usecs());
    let result = rt.run_events();
    if locked {
        priority::unlock_memory();
    }

    let cleanup = || -> Result<(), Box<RunFailure>> {
        if let (true, Some(cleanup)) = (init_ran, &script.cleanup_command) {
            command::run(&cleanup.text).map_err(|e| RunError::CleanupCommand(e).unlocated())?;
        }
        Ok(())
    };
    if let Err(failure) = result {
        // packetdrill's die() runs the cleanup command too; its own failure
        // is reported after the first one.
        let _ = cleanup();
        rt.abandon();
        return Err(failure);
    }
    cleanup()?;
    if let Err(e) = rt.code.execute(&config.code_command, config.verbose) {
        let _ = cleanup();
        rt.abandon();
        return Err(RunError::Code(e).unlocated());
    }
    rt.teardown()?;
    Ok(std::mem::take(&mut rt.warnings))
}
