//! netdrill as a drop-in `packetdrill`: the same command line, the same stderr
//! text, the same exit status, so the kernel's `ksft_runner.sh` runs unchanged
//! with netdrill installed as `packetdrill` (a symlink or a copy), or as
//! `netdrill packetdrill ARGS...`.
//!
//! Like packetdrill, it runs each script named on the command line in turn, in the
//! current network namespace, and stops at the first failure with exit status 1.
//!
//! Unlike packetdrill, it refuses the host's network namespace, before anything
//! touches the network: a script there would add tun0, addresses and routes to
//! the host and change its sysctls (which every namespace made afterwards
//! inherits). `unshare -n packetdrill ...` (what `ksft_runner.sh` does) gives it
//! a namespace of its own; [`ALLOW_HOST_NETNS_VAR`]`=1` runs it in the host's
//! anyway, with packetdrill's command line unchanged.

use netdrill_engine::config::{split_command_line, CliError, Config};
use netdrill_engine::outcome::{NoObserver, Outcome};
use netdrill_engine::run::{run_file, RunOptions};
use std::path::Path;

/// packetdrill's usage text, as it prints it on stderr.
pub const USAGE: &str = "Usage: packetdrill
\t[--ip_version=[ipv4,ipv4-mapped-ipv6,ipv6]]
\t[--bind_port=bind_port]
\t[--code_command=code_command]
\t[--code_format=code_format]
\t[--code_sockopt=TCP_INFO]
\t[--connect_port=connect_port]
\t[--remote_ip=remote_ip]
\t[--local_ip=local_ip]
\t[--gateway_ip=gateway_ip]
\t[--netmask_ip=netmask_ip]
\t[--init_scripts=<comma separated filenames>
\t[--speed=<speed in Mbps>
\t[--mss=<MSS in bytes>
\t[--mtu=<MTU in bytes>
\t[--tolerance_usecs=tolerance_usecs]
\t[--tolerance_percent=percentage]
\t[--tcp_ts_ecr_scaled]
\t[--tcp_ts_tick_usecs=<microseconds per TCP TS val tick>]
\t[--strict_segments]
\t[--non_fatal=<comma separated types: packet,syscall>]
\t[--wire_client]
\t[--wire_server]
\t[--wire_server_ip=<server_name_or_ip_address>]
\t[--wire_server_at=<server_name_or_ip_address>]
\t[--wire_server_port=<server_port>]
\t[--wire_client_dev=<eth_dev_name>]
\t[--wire_server_dev=<eth_dev_name>]
\t[--so_filename=<filename>]
\t[--so_flags=<flags passed to SO init function>]
\t[--dry_run]
\t[--is_anyip]
\t[--send_omit_free]
\t[--psp_udp_port=<UDP destination port for parsing/building PSP packets>]
\t[--debug]
\t[--define symbol1=val1 --define symbol2=val2 ...]
\t[--verbose|-v]
\tscript_path ...
";

/// The environment variable that lets the drop-in run in the host's network
/// namespace: `NETDRILL_ALLOW_HOST_NETNS=1`.
pub const ALLOW_HOST_NETNS_VAR: &str = "NETDRILL_ALLOW_HOST_NETNS";

/// Why the drop-in must not run here, if it must not: `in_host_netns` says
/// whether this is the host's network namespace, `allow` is the value of
/// [`ALLOW_HOST_NETNS_VAR`] (only `1` allows), `dry_run` whether the command
/// line only parses (which touches nothing).
pub fn host_netns_refusal(
    in_host_netns: bool,
    allow: Option<&str>,
    dry_run: bool,
) -> Option<String> {
    if !in_host_netns || dry_run || allow == Some("1") {
        return None;
    }
    Some(format!(
        "netdrill (as packetdrill): refusing to run in the host's network namespace: the \
         script would add tun0, addresses and routes there and change its sysctls. Run it \
         in a namespace of its own, `unshare -n packetdrill ...` (as the kernel's \
         ksft_runner.sh does), or set {ALLOW_HOST_NETNS_VAR}=1 to run it here anyway.\n"
    ))
}

/// What the command line asks for, or what packetdrill would print and exit with.
#[derive(Debug, PartialEq, Eq)]
pub enum Invocation {
    Run {
        flags: Vec<netdrill_engine::config::CliFlag>,
        scripts: Vec<String>,
    },
    /// Print this on stderr and exit with status 1.
    Refuse(String),
}

/// Interpret packetdrill's command line. `argv[0]` is the program name as invoked
/// (getopt prints it in front of its complaints).
pub fn parse_invocation(argv: &[String]) -> Invocation {
    let program = argv.first().map(String::as_str).unwrap_or("packetdrill");
    let args = argv.get(1..).unwrap_or(&[]);
    match split_command_line(args) {
        Ok((flags, scripts)) => {
            if flags.iter().any(|f| f.name == "wire_server") {
                if !scripts.is_empty() {
                    return Invocation::Refuse(format!(
                        "error: do not pass script paths to the wire server on command line\n{USAGE}"
                    ));
                }
                return Invocation::Refuse(
                    "error: netdrill does not implement packetdrill's --wire_server mode\n".into(),
                );
            }
            // packetdrill applies the command line once before anything else and
            // dies on the first bad value.
            if let Err(e) = Config::default().apply_cli(&flags) {
                return Invocation::Refuse(format!("{e}\n"));
            }
            if scripts.is_empty() {
                return Invocation::Refuse(format!("error: missing script path\n{USAGE}"));
            }
            Invocation::Run { flags, scripts }
        }
        // getopt's own complaint, then the usage text, as packetdrill does.
        Err(CliError::Usage(m)) => Invocation::Refuse(format!("{program}: {m}\n{USAGE}")),
        // A bad value: packetdrill dies with "Command Line: bad --x: v".
        Err(e @ CliError::Flag(_)) => Invocation::Refuse(format!("{e}\n")),
    }
}

/// Run as packetdrill with `argv` (program name first); returns the exit status.
pub fn packetdrill_main(argv: Vec<String>) -> i32 {
    let (flags, scripts) = match parse_invocation(&argv) {
        Invocation::Run { flags, scripts } => (flags, scripts),
        Invocation::Refuse(text) => {
            eprint!("{text}");
            return 1;
        }
    };
    // Before anything touches the network.
    let allow = std::env::var(ALLOW_HOST_NETNS_VAR).ok();
    let dry_run = flags.iter().any(|f| f.name == "dry_run");
    if let Some(text) = host_netns_refusal(
        netdrill_engine::run::in_initial_netns(),
        allow.as_deref(),
        dry_run,
    ) {
        eprint!("{text}");
        return 1;
    }
    // packetdrill exports its pid for helpers such as set_sysctls.py, which name
    // their restore files after it. Nothing else runs yet: no thread reads the
    // environment concurrently.
    std::env::set_var("PACKETDRILL_PID", std::process::id().to_string());
    let opts = RunOptions {
        namespace_is_ours: false,
        allow_initial_namespace: allow.as_deref() == Some("1"),
        no_realtime: false,
        // The drop-in gives packetdrill's verdicts: its reaction, always.
        reaction: netdrill_engine::run::reaction::Reaction::Packetdrill,
    };
    for script in &scripts {
        let outcome = run_file(Path::new(script), &flags, &opts, &mut NoObserver);
        match &outcome {
            Outcome::Pass { warnings, .. } => {
                for w in warnings {
                    eprintln!("{}", w.trim_end());
                }
            }
            Outcome::Fail(failure) => {
                eprintln!("{}", failure.message.trim_end());
            }
        }
        let status = outcome.exit_status();
        if status != 0 {
            return status;
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn ksft_runner_command_line_runs_the_script() {
        let inv = parse_invocation(&argv(&[
            "packetdrill",
            "--ip_version=ipv6",
            "--mtu=1520",
            "--local_ip=fd3d:0a0b:17d6::1",
            "--gateway_ip=fd3d:0a0b:17d6:8888::1",
            "--remote_ip=fd3d:fa7b:d17d::1",
            "-D",
            "CMSG_LEVEL_IP=SOL_IPV6",
            "-D",
            "CMSG_TYPE_RECVERR=IPV6_RECVERR",
            "tcp_x.pkt",
        ]));
        match inv {
            Invocation::Run { flags, scripts } => {
                assert_eq!(scripts, vec!["tcp_x.pkt"]);
                assert_eq!(flags.len(), 7);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn usage_errors_read_as_packetdrill_prints_them() {
        let Invocation::Refuse(t) = parse_invocation(&argv(&["packetdrill"])) else {
            panic!()
        };
        assert!(t.starts_with("error: missing script path\nUsage: packetdrill\n"));
        assert!(t.ends_with("\tscript_path ...\n"));

        let Invocation::Refuse(t) =
            parse_invocation(&argv(&["/usr/bin/packetdrill", "--bogus", "x.pkt"]))
        else {
            panic!()
        };
        assert!(
            t.starts_with(
                "/usr/bin/packetdrill: unrecognized option '--bogus'\nUsage: packetdrill\n"
            ),
            "{t}"
        );

        let Invocation::Refuse(t) = parse_invocation(&argv(&["packetdrill", "--mss=x", "a.pkt"]))
        else {
            panic!()
        };
        assert_eq!(t, "Command Line: bad --mss: x\n");
    }

    #[test]
    fn the_host_namespace_is_refused_unless_allowed() {
        let refused = host_netns_refusal(true, None, false).unwrap();
        assert!(refused.contains("unshare -n packetdrill"), "{refused}");
        assert!(refused.contains("NETDRILL_ALLOW_HOST_NETNS=1"), "{refused}");
        assert!(host_netns_refusal(true, Some("0"), false).is_some());
        assert!(host_netns_refusal(true, Some(""), false).is_some());
        assert!(host_netns_refusal(true, Some("yes"), false).is_some());
        // Explicitly allowed; or a namespace of its own; or nothing to run.
        assert_eq!(host_netns_refusal(true, Some("1"), false), None);
        assert_eq!(host_netns_refusal(false, None, false), None);
        assert_eq!(host_netns_refusal(true, None, true), None);
    }

    #[test]
    fn wire_server_is_refused_plainly() {
        let Invocation::Refuse(t) = parse_invocation(&argv(&["packetdrill", "--wire_server"]))
        else {
            panic!()
        };
        assert!(t.contains("--wire_server"));
    }
}
