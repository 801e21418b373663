//! Shared pieces of the table-driven tests that run real scripts: each job is
//! `unshare -n netdrill exec <kselftest args> SCRIPT` in the script's folder,
//! as the kernel's `ksft_runner.sh` runs packetdrill (plus a private /tmp), so
//! every job has a network namespace of its own and the host's is never touched.
#![allow(dead_code)]

use netdrill_engine::config::{kselftest_args, IpVersion};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

pub fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared")
}

pub fn corpus(name: &str) -> PathBuf {
    shared().join("corpus").join(name)
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// The tests that need the network refuse to pass silently without root.
pub fn require_root() {
    assert!(
        is_root(),
        "this test runs scripts against the kernel and needs root (CI runs it as root)"
    );
}

/// Rows of the kernel suite's EXPECTED.tsv that cannot match on this
/// machine for a reason outside netdrill (packetdrill's own verdict is a coin
/// flip), with that reason: parity.rs skips them, unsupported.rs does not
/// count them. At most five.
pub const KERNEL_COIN_FLIPS: &[(&str, &str, &str)] = &[(
    "tcp_sack_sack-shift-sacked-7-3-4-8-9-fack.pkt",
    "ipv4",
    "a coin flip for packetdrill itself: the RACK retransmission leaves on a tick \
     edge about 0.1 ms from the end of its window, and which side of it depends on \
     the engine's reaction after the first burst; EXPECTED.tsv records packetdrill \
     failing at line 25 (SACK injected at 0.200651 s), while on 2026-12-02 the same \
     packetdrill passed 10 of 10 alone on this machine (SACK at 0.2009-0.2012 s); \
     the IPv6 row is flaky in EXPECTED.tsv",
)];

#[derive(Clone, Debug)]
pub struct JobResult {
    pub script: String,
    pub ip: &'static str,
    pub exit: i32,
    pub stderr: String,
}

impl JobResult {
    /// The first line of the diagnostic: the first stderr line that starts
    /// with the script's name (commands the script runs may print before it,
    /// e.g. a `sysctl` the kernel refuses), else the first line.
    pub fn first_line(&self) -> &str {
        self.stderr
            .lines()
            .find(|l| l.starts_with(&format!("{}:", self.script)))
            .or_else(|| self.stderr.lines().next())
            .unwrap_or("")
    }

    /// The script line the diagnostic names (`script.pkt:LINE: ...`).
    pub fn line(&self) -> Option<u32> {
        line_of(&self.script, self.first_line())
    }
}

/// `NAME:LINE: ...` -> LINE.
pub fn line_of(script: &str, message: &str) -> Option<u32> {
    let rest = message.strip_prefix(script)?.strip_prefix(':')?;
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

pub fn ip_name(ip: IpVersion) -> &'static str {
    ip.as_str()
}

/// Run one script x IP version, from the script's folder.
pub fn run_job(dir: &Path, script: &str, ip: IpVersion) -> JobResult {
    // A network namespace of its own and a private /tmp (scripts keep files
    // there, and the two IP versions of a script may run at once).
    let out = Command::new("unshare")
        .args(["-n", "-m", "--propagation", "private", "sh", "-c"])
        .arg("mount -t tmpfs tmpfs /tmp && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_netdrill"))
        .arg("exec")
        .args(kselftest_args(ip))
        .arg(script)
        .current_dir(dir)
        .output()
        .expect("running unshare -n netdrill exec");
    JobResult {
        script: script.to_string(),
        ip: ip.as_str(),
        exit: out.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Run jobs on `workers` threads; results in input order.
pub fn run_all(dir: &Path, jobs: &[(String, IpVersion)], workers: usize) -> Vec<JobResult> {
    let queue = Arc::new(Mutex::new((0..jobs.len()).collect::<Vec<_>>()));
    let results = Arc::new(Mutex::new(vec![None; jobs.len()]));
    std::thread::scope(|s| {
        for _ in 0..workers.max(1) {
            let queue = Arc::clone(&queue);
            let results = Arc::clone(&results);
            s.spawn(move || loop {
                let Some(i) = queue.lock().unwrap().pop() else {
                    return;
                };
                let (script, ip) = &jobs[i];
                let r = run_job(dir, script, *ip);
                results.lock().unwrap()[i] = Some(r);
            });
        }
    });
    Arc::try_unwrap(results)
        .unwrap()
        .into_inner()
        .unwrap()
        .into_iter()
        .map(|r| r.expect("every job ran"))
        .collect()
}

/// Timing figures and temporary names vary between runs: replace numbers
/// with `*` so messages can be compared.
pub fn normalize(message: &str) -> String {
    let mut out = String::new();
    let mut in_number = false;
    for c in message.chars() {
        if c.is_ascii_digit() || (in_number && c == '.') {
            if !in_number {
                out.push('*');
                in_number = true;
            }
        } else {
            in_number = false;
            out.push(c);
        }
    }
    out
}

/// The IP versions the kernel runner picks for a script: its own
/// `--ip_version=` line, else ipv4 and ipv6.
pub fn ip_versions(path: &Path) -> Vec<IpVersion> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let pinned: Vec<IpVersion> = netdrill::discover::pinned_ip_versions(&text)
        .iter()
        .filter_map(|v| IpVersion::parse(v))
        .collect();
    if pinned.is_empty() {
        vec![IpVersion::Ipv4, IpVersion::Ipv6]
    } else {
        pinned
    }
}
