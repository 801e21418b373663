//! netdrill as `packetdrill` under the kernel's runner: this reproduces what
//! `tools/testing/selftests/net/packetdrill/ksft_runner.sh` does for each script —
//! from the script's folder, once per IP version (the one a `--ip_version=` line
//! pins, else ipv4 and ipv6), `unshare -n packetdrill <the family's arguments>
//! [--tolerance_usecs=14000 under KSFT_MACHINE_SLOW] SCRIPT > /dev/null` — with
//! `packetdrill` a link to netdrill.

use netdrill::packetdrill::{parse_invocation, Invocation};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const IPV4_ARGS: &[&str] = &[
    "--ip_version=ipv4",
    "--local_ip=192.168.0.1",
    "--gateway_ip=192.168.0.1",
    "--netmask_ip=255.255.0.0",
    "--remote_ip=192.0.2.1",
    "-D",
    "TFO_COOKIE=3021b9d889017eeb",
    "-D",
    "CMSG_LEVEL_IP=SOL_IP",
    "-D",
    "CMSG_TYPE_RECVERR=IP_RECVERR",
];

const IPV6_ARGS: &[&str] = &[
    "--ip_version=ipv6",
    "--mtu=1520",
    "--local_ip=fd3d:0a0b:17d6::1",
    "--gateway_ip=fd3d:0a0b:17d6:8888::1",
    "--remote_ip=fd3d:fa7b:d17d::1",
    "-D",
    "TFO_COOKIE=c1d1e9742a47a9bc",
    "-D",
    "CMSG_LEVEL_IP=SOL_IPV6",
    "-D",
    "CMSG_TYPE_RECVERR=IPV6_RECVERR",
];

/// `shared/corpus/<name>`, found beside the checkout or one of its parents.
fn corpus(name: &str) -> PathBuf {
    let start = Path::new(env!("CARGO_MANIFEST_DIR"));
    start
        .ancestors()
        .map(|a| a.join("shared/corpus").join(name))
        .find(|p| p.is_dir())
        .unwrap_or_else(|| panic!("no shared/corpus/{name} beside {}", start.display()))
}

fn scripts(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pkt"))
        .collect();
    v.sort();
    v
}

/// The IP versions ksft_runner.sh runs a script with.
fn ip_versions(script: &Path) -> Vec<&'static str> {
    let text = std::fs::read_to_string(script).unwrap();
    let pinned: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("--ip_version="))
        .collect();
    match pinned.as_slice() {
        [] => vec!["ipv4", "ipv6"],
        ["ipv4"] => vec!["ipv4"],
        ["ipv6"] => vec!["ipv6"],
        other => panic!("{}: ksft_runner.sh refuses {other:?}", script.display()),
    }
}

fn runner_args(ip: &str) -> Vec<String> {
    let mut args: Vec<String> = if ip == "ipv4" { IPV4_ARGS } else { IPV6_ARGS }
        .iter()
        .map(|s| s.to_string())
        .collect();
    if std::env::var_os("KSFT_MACHINE_SLOW").is_some_and(|v| !v.is_empty()) {
        args.push("--tolerance_usecs=14000".into());
    }
    args
}

/// The command line of every kernel script, as the kernel's runner builds it, is
/// one packetdrill accepts: flags known, exactly the script as path.
#[test]
fn every_kernel_runner_command_line_is_accepted() {
    for dir in [corpus("kselftest"), corpus("seed")] {
        for script in scripts(&dir) {
            let name = script.file_name().unwrap().to_string_lossy().into_owned();
            for ip in ip_versions(&script) {
                let mut argv = vec!["packetdrill".to_string()];
                argv.extend(runner_args(ip));
                argv.push(name.clone());
                match parse_invocation(&argv) {
                    Invocation::Run { scripts, .. } => assert_eq!(scripts, vec![name.clone()]),
                    Invocation::Refuse(why) => panic!("{name} {ip}: {why}"),
                }
            }
        }
    }
}

/// Every founding script passes for each of its IP versions, run exactly as the
/// kernel's runner runs packetdrill.
#[test]
fn founding_scripts_pass_under_the_kernel_runner_invocation() {
    let seed = corpus("seed");
    let shim = tempfile::tempdir().unwrap();
    let packetdrill = shim.path().join("packetdrill");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_netdrill"), &packetdrill).unwrap();
    let path = format!(
        "{}:{}",
        shim.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut failures = Vec::new();
    let mut n = 0;
    for script in scripts(&seed) {
        let name = script.file_name().unwrap().to_string_lossy().into_owned();
        for ip in ip_versions(&script) {
            n += 1;
            let out = Command::new("unshare")
                .arg("-n")
                .arg("packetdrill")
                .args(runner_args(ip))
                .arg(&name)
                .current_dir(&seed)
                .env("PATH", &path)
                .stdout(Stdio::null())
                .output()
                .unwrap();
            if !out.status.success() {
                failures.push(format!(
                    "not ok {n} {name} {ip} (exit {:?})\n{}",
                    out.status.code(),
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
    }
    assert_eq!(n, 18, "the founding scripts are 9 scripts x 2 IP versions");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The host's network interfaces.
fn host_interfaces() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir("/sys/class/net")
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The drop-in refuses the host's network namespace before anything touches
/// the network. The script given does not even parse, so that a drop-in that
/// failed to refuse would stop at the parse error, still touching nothing.
#[test]
fn the_drop_in_refuses_the_host_namespace() {
    assert!(
        netdrill_engine::run::in_initial_netns(),
        "this test runs in the host's network namespace"
    );
    let tmp = tempfile::tempdir().unwrap();
    let script = tmp.path().join("bad.pkt");
    std::fs::write(&script, "this is not a script\n").unwrap();
    let packetdrill = tmp.path().join("packetdrill");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_netdrill"), &packetdrill).unwrap();
    let before = host_interfaces();
    let as_netdrill = [
        env!("CARGO_BIN_EXE_netdrill"),
        "packetdrill",
        "--ip_version=ipv4",
    ];
    let as_packetdrill = [packetdrill.to_str().unwrap(), "--ip_version=ipv4"];
    for (argv, allow) in [
        (&as_netdrill[..], None),
        (&as_packetdrill[..], None),
        (&as_packetdrill[..], Some("0")),
    ] {
        let mut cmd = Command::new(argv[0]);
        cmd.args(&argv[1..]).arg(&script);
        cmd.env_remove("NETDRILL_ALLOW_HOST_NETNS");
        if let Some(v) = allow {
            cmd.env("NETDRILL_ALLOW_HOST_NETNS", v);
        }
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{argv:?}: {stderr}");
        assert!(
            stderr.contains("refusing to run in the host's network namespace")
                && stderr.contains("`unshare -n packetdrill ...`")
                && stderr.contains("NETDRILL_ALLOW_HOST_NETNS=1"),
            "{argv:?}: {stderr}"
        );
    }
    assert_eq!(host_interfaces(), before);
    // The variable is honoured, in a namespace of the test's own (the script
    // passes there with or without it).
    let good = tmp.path().join("good.pkt");
    std::fs::write(&good, "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n").unwrap();
    let out = Command::new("unshare")
        .arg("-n")
        .arg(&packetdrill)
        .arg("--ip_version=ipv4")
        .arg(&good)
        .env("NETDRILL_ALLOW_HOST_NETNS", "1")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
