//! Checks before the first job: can this process make namespaces and tun
//! devices, and will the host let the jobs' namespaces select the congestion
//! controls the suite sets? Each problem says the exact fix. `--prepare-host`
//! applies the one host change netdrill ever makes: adding the missing
//! algorithms to `net.ipv4.tcp_allowed_congestion_control`.

use crate::model::Job;
use regex::Regex;
use std::collections::BTreeSet;
use std::path::Path;

const CAP_NET_ADMIN: u32 = 12;
const CAP_SYS_ADMIN: u32 = 21;
const ALLOWED_CC: &str = "/proc/sys/net/ipv4/tcp_allowed_congestion_control";
const AVAILABLE_CC: &str = "/proc/sys/net/ipv4/tcp_available_congestion_control";

/// The effective capability set of this process, from `/proc/self/status`.
fn effective_caps() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let hex = status.lines().find_map(|l| l.strip_prefix("CapEff:"))?;
    u64::from_str_radix(hex.trim(), 16).ok()
}

/// Whether this process may create namespaces and network devices.
pub fn check_privileges() -> Result<(), String> {
    let caps = effective_caps().unwrap_or(0);
    let missing: Vec<&str> = [
        (CAP_NET_ADMIN, "CAP_NET_ADMIN"),
        (CAP_SYS_ADMIN, "CAP_SYS_ADMIN"),
    ]
    .into_iter()
    .filter(|(bit, _)| caps & (1u64 << bit) == 0)
    .map(|(_, name)| name)
    .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "netdrill run needs root (or {}) to create each job's network and mount namespaces; \
             missing: {}. Run it with sudo.",
            "CAP_NET_ADMIN and CAP_SYS_ADMIN",
            missing.join(", ")
        ))
    }
}

/// Whether `/dev/net/tun` is there.
pub fn check_tun() -> Result<(), String> {
    use std::os::unix::fs::FileTypeExt;
    match std::fs::metadata("/dev/net/tun") {
        Ok(m) if m.file_type().is_char_device() => Ok(()),
        Ok(_) => Err("/dev/net/tun is not a character device; the engine needs it for tun0".into()),
        Err(e) => Err(format!(
            "/dev/net/tun: {e}; the engine needs it for tun0 \
             (load the tun module: `modprobe tun`, or create it: \
             `mkdir -p /dev/net && mknod /dev/net/tun c 10 200`)"
        )),
    }
}

/// The congestion controls a text selects with `tcp_congestion_control=NAME`
/// (`sysctl -w net.ipv4.tcp_congestion_control=cubic`, a `[sysctls]` entry...).
pub fn congestion_controls_in(text: &str) -> BTreeSet<String> {
    // A static pattern: compiling it cannot fail.
    let re = Regex::new(r#"tcp_congestion_control"?\s*=\s*"?([A-Za-z0-9_]+)"#)
        .unwrap_or_else(|_| unreachable!());
    re.captures_iter(text)
        .filter_map(|c| c.get(1).map(|m| m.as_str().to_string()))
        .collect()
}

/// The congestion controls the jobs' scripts, their folders' `defaults.sh` and
/// `suite.toml` select.
pub fn needed_congestion_controls(jobs: &[Job]) -> BTreeSet<String> {
    let mut needed = BTreeSet::new();
    let mut seen_dirs = BTreeSet::new();
    let mut seen_scripts = BTreeSet::new();
    let read = |p: &Path| std::fs::read(p).map(|b| String::from_utf8_lossy(&b).into_owned());
    for job in jobs {
        if seen_dirs.insert(job.dir.clone()) {
            for f in ["defaults.sh", crate::suite::SUITE_FILE] {
                if let Ok(text) = read(&job.dir.join(f)) {
                    needed.extend(congestion_controls_in(&text));
                }
            }
        }
        let script = job.dir.join(&job.file_name);
        if seen_scripts.insert(script.clone()) {
            if let Ok(text) = read(&script) {
                needed.extend(congestion_controls_in(&text));
            }
        }
        for (k, v) in &job.sysctls {
            if k == "net.ipv4.tcp_congestion_control" {
                needed.insert(v.clone());
            }
        }
    }
    needed
}

fn words(path: &str) -> Result<Vec<String>, String> {
    std::fs::read_to_string(path)
        .map(|s| s.split_whitespace().map(String::from).collect())
        .map_err(|e| format!("{path}: {e}"))
}

/// Which of `needed` the host does not allow child namespaces to select, and the
/// allowed list that would fix it.
pub fn missing_congestion_controls(
    needed: &BTreeSet<String>,
) -> Result<Option<(Vec<String>, String)>, String> {
    let allowed = words(ALLOWED_CC)?;
    let missing: Vec<String> = needed
        .iter()
        .filter(|cc| !allowed.contains(cc))
        .cloned()
        .collect();
    if missing.is_empty() {
        return Ok(None);
    }
    let mut fixed = allowed;
    fixed.extend(missing.iter().cloned());
    Ok(Some((missing, fixed.join(" "))))
}

/// Check the congestion controls; with `prepare`, fix the host's allowed list.
pub fn check_congestion_controls(jobs: &[Job], prepare: bool) -> Result<(), String> {
    let needed = needed_congestion_controls(jobs);
    let Some((missing, fixed)) = missing_congestion_controls(&needed)? else {
        return Ok(());
    };
    let available = words(AVAILABLE_CC).unwrap_or_default();
    let unavailable: Vec<&String> = missing.iter().filter(|m| !available.contains(m)).collect();
    if !unavailable.is_empty() {
        let names: Vec<&str> = unavailable.iter().map(|s| s.as_str()).collect();
        return Err(format!(
            "the suite selects congestion control {} which this kernel does not have \
             (available: {}); load it first, e.g. `modprobe tcp_{}`",
            names.join(", "),
            available.join(" "),
            names[0]
        ));
    }
    if prepare {
        std::fs::write(ALLOWED_CC, &fixed)
            .map_err(|e| format!("--prepare-host: writing {ALLOWED_CC}: {e}"))?;
        eprintln!("netdrill: --prepare-host: net.ipv4.tcp_allowed_congestion_control=\"{fixed}\"");
        return Ok(());
    }
    Err(format!(
        "the suite selects congestion control {} inside its namespaces, but the host only \
         allows child namespaces to select \"{}\". Fix: \
         sysctl -w net.ipv4.tcp_allowed_congestion_control=\"{fixed}\" \
         (or run with --prepare-host, which does exactly that)",
        missing.join(", "),
        words(ALLOWED_CC).unwrap_or_default().join(" ")
    ))
}

/// Does any job's script start Python (a `%{ }%` block, or a `.py` helper
/// such as `set_sysctls.py`)?
fn jobs_start_python(jobs: &[Job]) -> bool {
    let mut seen = BTreeSet::new();
    jobs.iter().any(|job| {
        let script = job.dir.join(&job.file_name);
        seen.insert(script.clone())
            && std::fs::read(&script).is_ok_and(|b| {
                let text = String::from_utf8_lossy(&b);
                text.contains("%{") || text.contains(".py")
            })
    })
}

/// The first `python3` on `path_var`, when it is a script (`#!`) rather than
/// the interpreter, e.g. a pyenv shim.
pub fn python3_shim(path_var: Option<&std::ffi::OsStr>) -> Option<std::path::PathBuf> {
    use std::io::Read;
    use std::os::unix::fs::PermissionsExt;
    let found = std::env::split_paths(path_var?)
        .map(|dir| dir.join("python3"))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })?;
    let mut magic = [0u8; 2];
    std::fs::File::open(&found)
        .and_then(|mut f| f.read_exact(&mut magic))
        .ok()?;
    (&magic == b"#!").then_some(found)
}

/// Observations that do not stop the run but cost it time, one line each.
pub fn notes(jobs: &[Job]) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(shim) = python3_shim(std::env::var_os("PATH").as_deref()) {
        if jobs_start_python(jobs) {
            notes.push(format!(
                "python3 on PATH is a script ({}), not the interpreter; each Python start \
                 in the scripts (`%{{ }}%` blocks, set_sysctls.py) runs it first (a pyenv \
                 shim costs about 0.1 s of CPU, some 10 s over the kernel suite, enough to \
                 disturb the timing of parallel jobs); put the interpreter's folder first \
                 in PATH to avoid it",
                shim.display()
            ));
        }
    }
    notes
}

/// Every check, in order; the first problem stops the run.
pub fn run(jobs: &[Job], prepare_host: bool) -> Result<(), String> {
    check_privileges()?;
    check_tun()?;
    check_congestion_controls(jobs, prepare_host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_python3_script_on_path_is_a_shim() {
        use std::os::unix::fs::PermissionsExt;
        let make = |dir: &Path, body: &[u8]| {
            let p = dir.join("python3");
            std::fs::write(&p, body).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
            p
        };
        let shims = tempfile::tempdir().unwrap();
        let real = tempfile::tempdir().unwrap();
        let empty = tempfile::tempdir().unwrap();
        let shim = make(
            shims.path(),
            b"#!/usr/bin/env bash\nexec pyenv exec python3 \"$@\"\n",
        );
        make(real.path(), b"\x7fELF\x02\x01\x01");
        let path = |dirs: &[&Path]| std::env::join_paths(dirs).unwrap();
        // The first python3 on PATH decides; folders without one are skipped.
        assert_eq!(
            python3_shim(Some(&path(&[empty.path(), shims.path(), real.path()]))),
            Some(shim)
        );
        assert_eq!(
            python3_shim(Some(&path(&[real.path(), shims.path()]))),
            None
        );
        assert_eq!(python3_shim(Some(&path(&[empty.path()]))), None);
        assert_eq!(python3_shim(None), None);
    }

    #[test]
    fn finds_congestion_controls() {
        let defaults = "set_all \\\n\tnet.ipv4.tcp_congestion_control=cubic \\\n";
        assert_eq!(
            congestion_controls_in(defaults)
                .into_iter()
                .collect::<Vec<_>>(),
            ["cubic"]
        );
        let toml = "[sysctls]\n\"net.ipv4.tcp_congestion_control\" = \"bbr\"\n";
        assert_eq!(
            congestion_controls_in(toml).into_iter().collect::<Vec<_>>(),
            ["bbr"]
        );
        assert!(
            congestion_controls_in("0 setsockopt(3, SOL_TCP, TCP_CONGESTION, \"x\", 1)").is_empty()
        );
    }

    #[test]
    fn fix_lists_what_is_missing() {
        let allowed = words(ALLOWED_CC).unwrap();
        let mut needed: BTreeSet<String> = allowed.iter().cloned().collect();
        assert_eq!(missing_congestion_controls(&needed).unwrap(), None);
        needed.insert("no_such_cc".into());
        let (missing, fixed) = missing_congestion_controls(&needed).unwrap().unwrap();
        assert_eq!(missing, ["no_such_cc"]);
        assert!(fixed.ends_with(" no_such_cc"));
    }
}
