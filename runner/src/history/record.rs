//! The record `netdrill run --record HISTORY_DIR` adds to a history: one JSON
//! file per run, `HISTORY_DIR/<start, UTC>-<host>.json` (for example
//! `20261201T030000Z-ci-7.json`), holding
//!
//! - `format` (`netdrill-run-record`) and `format_version` ([`FORMAT_VERSION`]):
//!   what reads it back ([`super::read`]) knows which netdrill wrote it;
//! - `start` (UTC, readable), `kernel_release` and `hostname`: the facts a
//!   reader of the file looks for first;
//! - `suites`: each path the run was given, with the suite's revision (`git
//!   describe --always --tags --dirty` of its folder, when it is in a git work
//!   tree);
//! - `run`: the whole [`RunRecord`] (host facts, every job, every attempt with
//!   its typed failure, its [`netdrill_engine::outcome::Mismatch`], its
//!   artifacts folder, and whatever the runner adds to an attempt later, such
//!   as its timing slack).
//!
//! A record is written once and never changed: through a temporary file that
//! is synced, made read-only (mode 0444) and then linked to its name, which
//! fails rather than replace a record already there (the next free name,
//! `-2`, `-3`..., is taken instead). Artifact folders are kept as absolute
//! paths, so the page that links to them does not depend on where the run was
//! started from.

use crate::model::RunRecord;
use crate::report::namify;
use chrono::DateTime;
use serde::{Deserialize, Serialize};
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The `format` of a history record.
pub const FORMAT: &str = "netdrill-run-record";

/// The version of the record's shape this netdrill writes (and the newest it
/// knows): raised when a field changes meaning or a required one is added.
pub const FORMAT_VERSION: u32 = 1;

/// A suite path given to the run, with its revision.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SuiteRevision {
    pub path: PathBuf,
    /// `git describe --always --tags --dirty` in the suite's folder, when it
    /// is in a git work tree.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
}

/// A history record as written.
#[derive(Serialize)]
struct RecordFile<'a> {
    format: &'static str,
    format_version: u32,
    start: String,
    kernel_release: &'a str,
    hostname: &'a str,
    suites: &'a [SuiteRevision],
    run: &'a RunRecord,
}

/// The revision of each suite path (a file's folder for a script; a path that
/// is not there, such as a glob pattern, has none).
pub fn suite_revisions(paths: &[PathBuf]) -> Vec<SuiteRevision> {
    paths
        .iter()
        .map(|path| {
            let dir = if path.is_dir() {
                Some(path.as_path())
            } else {
                path.parent()
                    .map(|p| {
                        if p.as_os_str().is_empty() {
                            Path::new(".")
                        } else {
                            p
                        }
                    })
                    .filter(|p| p.is_dir())
            };
            SuiteRevision {
                path: absolute(path),
                revision: dir.and_then(git_describe),
            }
        })
        .collect()
}

/// `git describe --always --tags --dirty` in `dir`, when git is there and
/// `dir` is in a work tree.
fn git_describe(dir: &Path) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["describe", "--always", "--tags", "--dirty"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        return path.to_path_buf();
    }
    std::env::current_dir()
        .map(|cwd| cwd.join(path))
        .unwrap_or_else(|_| path.to_path_buf())
}

/// The record's text: `run` with absolute artifact folders, pretty-printed.
pub fn render(run: &RunRecord, suites: &[SuiteRevision]) -> String {
    let mut run = run.clone();
    for attempt in run.jobs.iter_mut().flat_map(|j| j.attempts.iter_mut()) {
        if let Some(dir) = &attempt.artifacts {
            attempt.artifacts = Some(absolute(dir));
        }
    }
    let file = RecordFile {
        format: FORMAT,
        format_version: FORMAT_VERSION,
        start: utc(run.start_unix, "%Y-%m-%d %H:%M:%S UTC"),
        kernel_release: &run.host.kernel_release,
        hostname: &run.host.hostname,
        suites,
        run: &run,
    };
    // Plain structs of strings and numbers; non-finite floats become `null`.
    let mut text = serde_json::to_string_pretty(&file).unwrap_or_default();
    text.push('\n');
    text
}

/// A Unix time in UTC with a chrono format.
fn utc(unix: f64, format: &str) -> String {
    let secs = if unix.is_finite() {
        unix.floor() as i64
    } else {
        0
    };
    DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .format(format)
        .to_string()
}

/// The file name of a run's record, before a suffix that makes it unique:
/// `20261201T030000Z-ci-7`.
pub fn base_name(run: &RunRecord) -> String {
    format!(
        "{}-{}",
        utc(run.start_unix, "%Y%m%dT%H%M%SZ"),
        namify(&run.host.hostname)
    )
}

/// Add the record of `run` to the history in `dir` (made when missing);
/// returns the record's path.
pub fn add(dir: &Path, run: &RunRecord, suites: &[SuiteRevision]) -> io::Result<PathBuf> {
    fs::create_dir_all(dir)?;
    let base = base_name(run);
    let tmp = dir.join(format!(".{base}.{}.netdrill-tmp", std::process::id()));
    let result = write_new(dir, &tmp, &base, render(run, suites).as_bytes());
    let _ = fs::remove_file(&tmp);
    result
}

/// Write `bytes` to `tmp`, read-only, then link it to the first free name.
fn write_new(dir: &Path, tmp: &Path, base: &str, bytes: &[u8]) -> io::Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let mut f = File::create(tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    fs::set_permissions(tmp, fs::Permissions::from_mode(0o444))?;
    for n in 1..10_000 {
        let name = if n == 1 {
            format!("{base}.json")
        } else {
            format!("{base}-{n}.json")
        };
        let path = dir.join(name);
        match fs::hard_link(tmp, &path) {
            Ok(()) => {
                // The new name, on disk: best effort (some file systems
                // cannot sync a folder).
                let _ = File::open(dir).and_then(|d| d.sync_all());
                return Ok(path);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("{base}.json and 9998 more names are taken"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{host_info, RunRecord};
    use std::os::unix::fs::PermissionsExt;

    fn run() -> RunRecord {
        // From this machine's facts, so that facts added later need no change here.
        let mut host = host_info();
        host.hostname = "ci 7".into();
        host.kernel_release = "6.18.0".into();
        RunRecord {
            host,
            start_unix: 1_796_094_000.5,
            end_unix: 1_796_094_012.0,
            jobs_at_once: 2,
            tolerance_usecs: 4000,
            interrupted: None,
            jobs: vec![],
            kernel_splats: vec![],
            vm: None,
        }
    }

    #[test]
    fn records_are_read_only_and_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let first = add(dir.path(), &run(), &[]).unwrap();
        assert_eq!(
            first.file_name().unwrap(),
            "20261201T030000Z-ci-7.json",
            "{first:?}"
        );
        let mode = fs::metadata(&first).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o444);
        let second = add(dir.path(), &run(), &[]).unwrap();
        assert_eq!(second.file_name().unwrap(), "20261201T030000Z-ci-7-2.json");
        // Only the two records: no temporary file is left.
        let mut names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(names.len(), 2, "{names:?}");
        let text = fs::read_to_string(&first).unwrap();
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["format"], FORMAT);
        assert_eq!(doc["format_version"], FORMAT_VERSION);
        assert_eq!(doc["start"], "2026-12-01 03:00:00 UTC");
        assert_eq!(doc["kernel_release"], "6.18.0");
        assert_eq!(doc["run"]["tolerance_usecs"], 4000);
    }

    #[test]
    fn suite_revisions_come_from_git_when_there_is_a_work_tree() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain");
        fs::create_dir(&plain).unwrap();
        let revs = suite_revisions(&[plain.clone(), dir.path().join("missing/*.pkt")]);
        assert_eq!(revs[0].revision, None);
        assert_eq!(revs[1].revision, None);
        let git = |args: &[&str]| {
            Command::new("git")
                .arg("-C")
                .arg(&plain)
                .args(args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        if !git(&["init", "-q"]) {
            return; // no git on this machine: nothing more to check
        }
        fs::write(
            plain.join("a.pkt"),
            "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n",
        )
        .unwrap();
        assert!(git(&["add", "a.pkt"]));
        assert!(git(&[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.invalid",
            "commit",
            "-qm",
            "a"
        ]));
        assert!(git(&["tag", "v1"]));
        let revs = suite_revisions(&[plain.clone(), plain.join("a.pkt")]);
        assert_eq!(revs[0].revision.as_deref(), Some("v1"));
        assert_eq!(revs[1].revision.as_deref(), Some("v1"));
        fs::write(plain.join("a.pkt"), "changed\n").unwrap();
        assert_eq!(
            suite_revisions(&[plain])[0].revision.as_deref(),
            Some("v1-dirty")
        );
    }
}
