//! From the paths on the command line to the list of jobs (script x IP version).
//!
//! Paths may be folders (searched recursively for `*.pkt`, in sorted order),
//! files (taken whatever their name), or glob patterns the shell left alone.
//! IP versions are picked as the kernel's `ksft_runner.sh` picks them: the
//! version a script pins with an `--ip_version=` line, else ipv4 and ipv6; each
//! version runs with the kernel runner's arguments for it.

use crate::model::{host_info, Expectation, ExpectedFailure, Job, JobId};
use crate::suite::{SuiteConfig, DEFAULT_TIMEOUT};
use netdrill_engine::config::kselftest_args;
use netdrill_engine::IpVersion;
use regex::Regex;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `--tolerance_usecs` that `ksft_runner.sh` adds on slow machines.
pub const SLOW_MACHINE_TOLERANCE_USECS: u64 = 14000;

/// `--filter`: a substring, or `/regex/`.
#[derive(Clone, Debug)]
pub enum Filter {
    Substring(String),
    Regex(Regex),
}

impl Filter {
    pub fn parse(s: &str) -> Result<Filter, String> {
        if s.len() >= 2 && s.starts_with('/') && s.ends_with('/') {
            let re = &s[1..s.len() - 1];
            Regex::new(re)
                .map(Filter::Regex)
                .map_err(|e| format!("--filter {s}: bad regular expression: {e}"))
        } else {
            Ok(Filter::Substring(s.to_string()))
        }
    }

    pub fn matches(&self, name: &str) -> bool {
        match self {
            Filter::Substring(s) => name.contains(s.as_str()),
            Filter::Regex(re) => re.is_match(name),
        }
    }
}

/// What discovery needs from the command line.
#[derive(Clone, Debug, Default)]
pub struct DiscoverOptions {
    /// A job is kept when any filter matches its [`Job::full_name`] (all are kept
    /// when there is none).
    pub filters: Vec<Filter>,
    /// `--ip-versions`: replaces the default ipv4 + ipv6 of scripts that pin none;
    /// a script pinning a version outside this list is listed as skipped.
    pub ip_versions: Option<Vec<IpVersion>>,
    /// `--timeout` (or kselftest's override): wins over the suite's files.
    /// `Some(None)` = no limit.
    pub timeout_override: Option<Option<Duration>>,
    /// `KSFT_MACHINE_SLOW`: `--tolerance_usecs=14000` and every failure
    /// tolerated (XFAIL), while a pass stays a pass, as `ksft_runner.sh` does.
    pub machine_slow: bool,
    /// The kernel release `suite.toml`'s `kernel = ...` expectations are matched
    /// against; `None`: the running kernel's.
    pub kernel_release: Option<String>,
    /// The command line's per-job caps: each one set wins over `suite.toml`'s.
    pub limits: crate::suite::LimitsToml,
}

/// The values of a script's `--ip_version=` lines, as `ksft_runner.sh` finds
/// them (`grep -E '^--ip_version=' | cut -d= -f2`).
pub fn pinned_ip_versions(script_text: &str) -> Vec<String> {
    script_text
        .lines()
        .filter_map(|l| l.strip_prefix("--ip_version="))
        .map(|v| v.split('=').next().unwrap_or("").trim().to_string())
        .collect()
}

/// Which IP versions a script runs under, or why it cannot run.
fn versions_for(
    pinned: &[String],
    default: &[IpVersion],
    requested: Option<&[IpVersion]>,
) -> Result<Vec<(IpVersion, Option<String>)>, String> {
    match pinned {
        [] => Ok(requested
            .unwrap_or(default)
            .iter()
            .map(|&v| (v, None))
            .collect()),
        [one] => {
            let v = IpVersion::parse(one)
                .ok_or_else(|| format!("Too many or unsupported --ip_version: {one}"))?;
            let skip = match requested {
                Some(list) if !list.contains(&v) => Some(format!(
                    "the script pins --ip_version={v}, not among --ip-versions"
                )),
                _ => None,
            };
            Ok(vec![(v, skip)])
        }
        many => Err(format!(
            "Too many or unsupported --ip_version: {}",
            many.join(" ")
        )),
    }
}

fn has_glob_chars(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// The folders a walk has entered, by (device, inode): a folder reached again
/// through a symbolic link (`up -> ..`, `self -> .`) is not walked twice, so
/// a loop ends and a script is found once.
#[derive(Debug, Default)]
pub struct Visited(HashSet<(u64, u64)>);

impl Visited {
    /// Whether `dir` is new (and now visited); an error when it cannot be
    /// looked at.
    pub fn enter(&mut self, dir: &Path) -> Result<bool, String> {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(dir).map_err(|e| path_error(dir, &e))?;
        Ok(self.0.insert((meta.dev(), meta.ino())))
    }
}

/// `PATH: what went wrong`, with a path that is not UTF-8 shown escaped (a
/// lossy display could name another file).
pub fn path_error(path: &Path, e: &std::io::Error) -> String {
    format!("{}: {e}", show_path(path))
}

/// A path for messages: as it is when it is UTF-8 without control
/// characters, else escaped ([`crate::report::escape`]).
pub fn show_path(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    crate::escape::escape_bytes(path.as_os_str().as_bytes())
}

/// Every `*.pkt` under `dir`, sorted, recursively; each folder once.
fn walk(dir: &Path, visited: &mut Visited, out: &mut Vec<PathBuf>) -> Result<(), String> {
    if !visited.enter(dir)? {
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| path_error(dir, &e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, visited, out)?;
        } else if path.extension().is_some_and(|e| e == "pkt") {
            out.push(path);
        }
    }
    Ok(())
}

/// The script files the command-line paths name, in order, without duplicates.
pub fn script_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut found = Vec::new();
    let mut visited = Visited::default();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut visited, &mut found)?;
        } else if p.is_file() {
            found.push(p.clone());
        } else if let Some(pattern) = p.to_str().filter(|s| has_glob_chars(s)) {
            let mut matched: Vec<PathBuf> = glob::glob(pattern)
                .map_err(|e| format!("{pattern}: bad pattern: {e}"))?
                .filter_map(Result::ok)
                .collect();
            matched.sort();
            if matched.is_empty() {
                return Err(format!("{pattern}: no file matches"));
            }
            for m in matched {
                if m.is_dir() {
                    walk(&m, &mut visited, &mut found)?;
                } else {
                    found.push(m);
                }
            }
        } else {
            // Say what the system says (a dangling link, no permission...),
            // naming the path exactly.
            return Err(match std::fs::metadata(p) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    format!("{}: no such file or directory", show_path(p))
                }
                Err(e) => path_error(p, &e),
                Ok(_) => format!("{}: not a file or folder", show_path(p)),
            });
        }
    }
    let mut seen = HashSet::new();
    found.retain(|p| seen.insert(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())));
    Ok(found)
}

/// The suite name of a folder: its own name.
fn suite_name(dir: &Path) -> String {
    dir.file_name()
        .map(|n| show_path(Path::new(n)))
        .unwrap_or_else(|| show_path(dir))
}

/// The jobs for `paths`, in discovery order (scripts in order, then IP versions).
pub fn discover(paths: &[PathBuf], opts: &DiscoverOptions) -> Result<Vec<Job>, String> {
    let scripts = script_paths(paths)?;
    let kernel_release = opts
        .kernel_release
        .clone()
        .unwrap_or_else(|| host_info().kernel_release);
    let mut suites: BTreeMap<PathBuf, SuiteConfig> = BTreeMap::new();
    let mut jobs = Vec::new();
    for path in scripts {
        let abs = std::fs::canonicalize(&path).map_err(|e| path_error(&path, &e))?;
        let dir = abs.parent().map(Path::to_path_buf).unwrap_or_default();
        let file_name = abs
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // How the job is named in reports: control characters written out.
        let shown_name = abs
            .file_name()
            .map(|n| show_path(Path::new(n)))
            .unwrap_or_default();
        if !suites.contains_key(&dir) {
            suites.insert(dir.clone(), SuiteConfig::load(&dir)?);
        }
        let suite = &suites[&dir];
        let text = std::fs::read(&abs).map_err(|e| path_error(&path, &e))?;
        // The job child is told its script's path as text: a name that is not
        // UTF-8 cannot be passed on exactly, and a lossy one names no file.
        let not_utf8 = abs.to_str().is_none().then(|| {
            format!(
                "the path {} is not UTF-8, which netdrill cannot pass to a job: rename it",
                show_path(&abs)
            )
        });
        let text = String::from_utf8_lossy(&text);
        let limits = suite
            .limits
            .or(opts.limits)
            .resolve("[limits] ")
            .map_err(|e| format!("{}: {e}", show_path(&dir.join(crate::suite::SUITE_FILE))))?;
        let default_versions = suite
            .ip_versions
            .clone()
            .unwrap_or_else(|| vec![IpVersion::Ipv4, IpVersion::Ipv6]);
        let base = |ip_version: String| Job {
            id: JobId {
                suite: suite_name(&dir),
                script: shown_name.clone(),
                ip_version,
            },
            path: path.clone(),
            dir: dir.clone(),
            file_name: file_name.clone(),
            args: Vec::new(),
            timeout: opts
                .timeout_override
                .or(suite.timeout)
                .unwrap_or(Some(DEFAULT_TIMEOUT)),
            sysctls: suite.sysctls.clone(),
            limits,
            xfail: None,
            skip_reason: None,
            unsupported: None,
            problem: not_utf8.clone(),
        };
        let versions = match versions_for(
            &pinned_ip_versions(&text),
            &default_versions,
            opts.ip_versions.as_deref(),
        ) {
            Ok(v) => v,
            Err(problem) => {
                let job = Job {
                    problem: Some(problem),
                    ..base("-".into())
                };
                if opts.filters.is_empty()
                    || opts.filters.iter().any(|f| f.matches(&job.full_name()))
                {
                    jobs.push(job);
                }
                continue;
            }
        };
        for (version, skip_reason) in versions {
            let mut args = kselftest_args(version);
            if opts.machine_slow {
                args.push(format!("--tolerance_usecs={SLOW_MACHINE_TOLERANCE_USECS}"));
            }
            let mut job = Job {
                args,
                skip_reason,
                ..base(version.as_str().into())
            };
            // The suite's own entries first; then the kernel runner's rule that
            // on a slow machine any failure may come (XFAIL) and a pass stays ok.
            job.xfail = suite
                .expected_failure(&job.id, &kernel_release, opts.machine_slow)
                .or_else(|| {
                    opts.machine_slow.then(|| ExpectedFailure {
                        reason: "KSFT_MACHINE_SLOW: failures are expected on a slow machine"
                            .to_string(),
                        expectation: Expectation::MayFail,
                    })
                });
            if opts.filters.is_empty() || opts.filters.iter().any(|f| f.matches(&job.full_name())) {
                jobs.push(job);
            }
        }
    }
    Ok(jobs)
}

/// What `--list` prints: one job a line.
pub fn list_lines(jobs: &[Job]) -> Vec<String> {
    jobs.iter()
        .map(|j| {
            let mut line = j.full_name();
            if let Some(reason) = &j.skip_reason {
                line.push_str(&format!(" (skip: {reason})"));
            }
            if let Some(problem) = &j.problem {
                line.push_str(&format!(" (error: {problem})"));
            }
            if let Some(x) = &j.xfail {
                let how = match x.expectation {
                    Expectation::Fails => "xfail",
                    Expectation::MayFail => "may fail",
                };
                line.push_str(&format!(" ({how}: {})", x.reason));
            }
            line
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_versions_like_ksft_runner() {
        assert_eq!(
            pinned_ip_versions("// x\n--ip_version=ipv6\n0 socket"),
            vec!["ipv6"]
        );
        assert!(pinned_ip_versions(" --ip_version=ipv6\n").is_empty());
        assert_eq!(
            pinned_ip_versions("--ip_version=ipv4\n--ip_version=ipv6\n"),
            vec!["ipv4", "ipv6"]
        );
        let d = [IpVersion::Ipv4, IpVersion::Ipv6];
        assert_eq!(versions_for(&[], &d, None).unwrap().len(), 2);
        assert!(versions_for(&["ipv4".into(), "ipv6".into()], &d, None).is_err());
        assert!(versions_for(&["ipv5".into()], &d, None).is_err());
        let only_v4 = [IpVersion::Ipv4];
        let v = versions_for(&["ipv6".into()], &d, Some(&only_v4)).unwrap();
        assert_eq!(v[0].0, IpVersion::Ipv6);
        assert!(v[0].1.is_some());
    }

    #[test]
    fn args_per_version() {
        let v4 = kselftest_args(IpVersion::Ipv4).join(" ");
        assert_eq!(
            v4,
            "--ip_version=ipv4 --local_ip=192.168.0.1 --gateway_ip=192.168.0.1 \
             --netmask_ip=255.255.0.0 --remote_ip=192.0.2.1 -D TFO_COOKIE=3021b9d889017eeb \
             -D TFO_COOKIE_ZERO=b7c12350a90dc8f5 -D CMSG_LEVEL_IP=SOL_IP \
             -D CMSG_TYPE_RECVERR=IP_RECVERR"
        );
        let v6 = kselftest_args(IpVersion::Ipv6).join(" ");
        assert_eq!(
            v6,
            "--ip_version=ipv6 --mtu=1520 --local_ip=fd3d:0a0b:17d6::1 \
             --gateway_ip=fd3d:0a0b:17d6:8888::1 --remote_ip=fd3d:fa7b:d17d::1 \
             -D TFO_COOKIE=c1d1e9742a47a9bc -D TFO_COOKIE_ZERO=82af1a8f9a205c34 \
             -D CMSG_LEVEL_IP=SOL_IPV6 -D CMSG_TYPE_RECVERR=IPV6_RECVERR"
        );
        let mapped = kselftest_args(IpVersion::Ipv4MappedIpv6).join(" ");
        assert!(mapped.starts_with("--ip_version=ipv4-mapped-ipv6 --local_ip=192.168.0.1"));
        assert!(mapped.ends_with("CMSG_TYPE_RECVERR=IPV6_RECVERR"));
        for v in IpVersion::ALL {
            let (flags, paths) =
                netdrill_engine::config::split_command_line(&kselftest_args(v)).unwrap();
            assert!(paths.is_empty());
            let mut c = netdrill_engine::Config::default();
            c.apply_cli(&flags).unwrap();
            assert_eq!(c.ip(), v);
            c.finalize().unwrap();
        }
    }

    #[test]
    fn filters() {
        assert!(Filter::parse("ipv6").unwrap().matches("s/a.pkt ipv6"));
        assert!(!Filter::parse("ipv6").unwrap().matches("s/a.pkt ipv4"));
        assert!(Filter::parse("/^s/a.*v4$/")
            .unwrap()
            .matches("s/a.pkt ipv4"));
        assert!(!Filter::parse("/^a/").unwrap().matches("s/a.pkt ipv4"));
        assert!(Filter::parse("/(/").is_err());
    }
}
