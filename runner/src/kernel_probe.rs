//! The kernel probe: once, before the jobs run, `netdrill run` looks at the
//! features its scripts need ([`crate::kernel_features`]) in a scratch network
//! namespace of its own, never the host's. The runner re-executes its own
//! binary as `netdrill __probe --request JSON`; that process unshares a new
//! network namespace, tries each feature there, prints its
//! [`KernelFeatures`] as JSON and exits, and the namespace goes with it.
//!
//! What it tries, in the scratch namespace, for the features some job needs:
//! - AccECN: writing `3` to `net.ipv4.tcp_ecn` (a kernel without AccECN
//!   refuses it with `EINVAL`);
//! - a qdisc: putting one of that kind at the root of `lo` over rtnetlink (a
//!   kernel without it refuses with `ENOENT`, after trying to load its module;
//!   any other answer means the kind exists);
//! - a congestion control: `setsockopt(TCP_CONGESTION)` on a fresh TCP
//!   socket (`ENOENT`: not there, even as a module);
//! - a sysctl: whether it is under `/proc/sys/net` there.

use crate::kernel_features::{Feature, Finding, KernelFeatures, ProbeRequest, TCP_ECN};
use netdrill_engine::run::netlink::{Link, Netlink, NetlinkCause};
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The probe process gets this long; past it, it is killed and nothing is
/// known (so nothing is skipped).
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(20);

/// Run the probe for `request` as `exe __probe` and read what it found. A
/// probe that could not run says why in [`KernelFeatures::probe_error`].
pub fn probe(exe: &Path, request: &ProbeRequest) -> KernelFeatures {
    if request.is_empty() {
        return KernelFeatures::default();
    }
    match run_probe(exe, request) {
        Ok(k) => k,
        Err(e) => KernelFeatures {
            findings: Vec::new(),
            probe_error: Some(e),
        },
    }
}

fn run_probe(exe: &Path, request: &ProbeRequest) -> Result<KernelFeatures, String> {
    let json = serde_json::to_string(request).map_err(|e| e.to_string())?;
    let mut child = Command::new(exe)
        .args(["__probe", "--request", &json])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting {} __probe: {e}", exe.display()))?;
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < PROBE_TIMEOUT => {
                std::thread::sleep(Duration::from_millis(5))
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "the probe did not finish within {} s",
                    PROBE_TIMEOUT.as_secs()
                ));
            }
            Err(e) => return Err(format!("waiting for the probe: {e}")),
        }
    };
    let mut out = String::new();
    let mut err = String::new();
    if let Some(mut s) = child.stdout.take() {
        let _ = s.read_to_string(&mut out);
    }
    if let Some(mut s) = child.stderr.take() {
        let _ = s.read_to_string(&mut err);
    }
    if !status.success() {
        return Err(format!("the probe failed ({status}): {}", err.trim()));
    }
    serde_json::from_str(&out).map_err(|e| format!("the probe's answer: {e}"))
}

/// `netdrill __probe`: probe `request_json` in a new network namespace,
/// print the findings, exit. Never returns.
pub fn child_main(request_json: &str) -> ! {
    let request: ProbeRequest = match serde_json::from_str(request_json) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("netdrill __probe: bad request: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET) {
        eprintln!("netdrill __probe: unshare(CLONE_NEWNET): {e}");
        std::process::exit(1);
    }
    let findings = find(&request);
    let out = KernelFeatures {
        findings,
        probe_error: None,
    };
    match serde_json::to_string(&out) {
        Ok(json) => {
            println!("{json}");
            std::process::exit(0)
        }
        Err(e) => {
            eprintln!("netdrill __probe: {e}");
            std::process::exit(1)
        }
    }
}

/// Every finding for `request`, in this (scratch) network namespace.
fn find(request: &ProbeRequest) -> Vec<Finding> {
    let mut findings: Vec<Finding> = request.accecn.then(accecn).into_iter().collect();
    let mut netlink = (!request.qdiscs.is_empty()).then(Netlink::open);
    for kind in &request.qdiscs {
        let finding = match &mut netlink {
            Some(Ok(nl)) => qdisc(nl, kind),
            Some(Err(e)) => Err(e.to_string()),
            None => Err("no netlink socket".into()),
        };
        findings.extend(finding.ok());
    }
    for name in &request.congestion_controls {
        findings.extend(congestion_control(name));
    }
    for name in &request.sysctls {
        findings.push(sysctl(name));
    }
    findings
}

fn finding(feature: Feature, present: bool, evidence: String) -> Finding {
    Finding {
        feature,
        present,
        evidence,
    }
}

fn proc_sys(name: &str) -> String {
    format!("/proc/sys/{}", name.replace('.', "/"))
}

fn accecn() -> Finding {
    match std::fs::write(proc_sys(TCP_ECN), "3") {
        Ok(()) => finding(Feature::Accecn, true, format!("{TCP_ECN}=3 accepted")),
        Err(e) => finding(
            Feature::Accecn,
            false,
            format!("{TCP_ECN}=3 refused: {}", errno_text(&e)),
        ),
    }
}

fn errno_text(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => nix::errno::Errno::from_raw(n).desc().to_string(),
        None => e.to_string(),
    }
}

/// `Err`: the probe could not tell.
fn qdisc(netlink: &mut Netlink, kind: &str) -> Result<Finding, String> {
    let feature = Feature::Qdisc(kind.to_string());
    let lo = Link {
        index: 1,
        name: "lo",
    };
    match netlink.replace_root_qdisc(lo, kind) {
        Ok(()) => Ok(finding(
            feature,
            true,
            format!("tc qdisc replace dev lo root {kind}: accepted"),
        )),
        Err(e) => match &e.cause {
            NetlinkCause::Refused { errno, .. } if *errno == libc::ENOENT => Ok(finding(
                feature,
                false,
                format!("tc qdisc replace dev lo root {kind}: {}", e.cause),
            )),
            NetlinkCause::Refused { .. } => Ok(finding(
                feature,
                true,
                format!(
                    "tc qdisc replace dev lo root {kind}: the kind exists ({})",
                    e.cause
                ),
            )),
            _ => Err(e.to_string()),
        },
    }
}

/// `None`: the probe could not tell.
fn congestion_control(name: &str) -> Option<Finding> {
    use nix::sys::socket::{setsockopt, socket, sockopt, AddressFamily, SockFlag, SockType};
    let feature = Feature::CongestionControl(name.to_string());
    let sock = socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .ok()?;
    match setsockopt(
        &sock,
        sockopt::TcpCongestion,
        &std::ffi::OsString::from(name),
    ) {
        Ok(()) => Some(finding(
            feature,
            true,
            format!("TCP_CONGESTION \"{name}\" accepted"),
        )),
        Err(nix::errno::Errno::ENOENT) => Some(finding(
            feature,
            false,
            format!(
                "TCP_CONGESTION \"{name}\" refused: {}",
                nix::errno::Errno::ENOENT.desc()
            ),
        )),
        // There, but refused for another reason (not allowed): a job meets
        // the same answer, and it is no missing feature.
        Err(e) => Some(finding(
            feature,
            true,
            format!("TCP_CONGESTION \"{name}\": there, but {}", e.desc()),
        )),
    }
}

fn sysctl(name: &str) -> Finding {
    let feature = Feature::Sysctl(name.to_string());
    if Path::new(&proc_sys(name)).exists() {
        finding(feature, true, "in /proc/sys/net".into())
    } else {
        finding(feature, false, "not in /proc/sys/net".into())
    }
}
