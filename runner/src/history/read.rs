//! Reading a history: every `*.json` file of a folder (or one file) into a
//! [`Run`], whichever netdrill wrote it.
//!
//! Two shapes are read: the history record of [`super::record`] (`format`
//! `netdrill-run-record`, the whole run under `run`), and the NIPA document
//! `netdrill run --json FILE --json-full` writes (jobs under each test's
//! `results[].netdrill`, the run's facts under `netdrill`). Reading is
//! defensive, so that records of older and newer netdrills still count:
//!
//! - a field a record lacks takes a default (an attempt without `mismatch`,
//!   `timing_slack` or `artifacts` simply has none), and a field this netdrill
//!   does not know is ignored;
//! - an optional part that has an unexpected shape (`mismatch`,
//!   `timing_slack`, `unsupported`) is dropped, not the record;
//! - a job whose verdict or attempt result is a word this netdrill does not
//!   know is left out, with a note naming it;
//! - a file that cannot be read at all (truncated, not JSON, not a run, a NIPA
//!   document without netdrill's details) is left out with a note naming it
//!   and saying why; a record of a newer format that cannot be read says so.
//!
//! Nothing here is fatal: a folder that cannot be listed is the caller's
//! usage error; everything in it is a run or a note.

use super::record::{SuiteRevision, FORMAT, FORMAT_VERSION};
use super::run::{AttemptRun, JobRun, PacketMismatch, Run, TimingSlack};
use crate::model::{AttemptResult, Verdict};
use serde::de::{DeserializeOwned, IntoDeserializer};
use serde::{Deserialize, Deserializer};
use std::path::{Path, PathBuf};

/// What a folder of records held.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// Oldest first (by start time, then file name).
    pub runs: Vec<Run>,
    /// Files left out, and parts of files left out, each naming its file.
    pub notes: Vec<Note>,
}

/// Something a reader of the history should know about one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub file: String,
    /// Whether the whole file was left out.
    pub skipped: bool,
    pub message: String,
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.skipped {
            write!(f, "{}: left out: {}", self.file, self.message)
        } else {
            write!(f, "{}: {}", self.file, self.message)
        }
    }
}

/// Read every `*.json` file in `dir` (not hidden files, not sub-folders).
/// Errors only when the folder itself cannot be listed.
pub fn load_dir(dir: &Path) -> std::io::Result<History> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            name.is_some_and(|n| n.ends_with(".json") && !n.starts_with('.')) && !p.is_dir()
        })
        .collect();
    files.sort();
    let read = read_all(&files);
    let mut history = History::default();
    for (path, result) in files.iter().zip(read) {
        let file = file_name(path);
        match result {
            Ok((run, warnings)) => {
                history
                    .notes
                    .extend(warnings.into_iter().map(|message| Note {
                        file: file.clone(),
                        skipped: false,
                        message,
                    }));
                history.runs.push(run);
            }
            Err(message) => history.notes.push(Note {
                file,
                skipped: true,
                message,
            }),
        }
    }
    history.runs.sort_by(|a, b| {
        a.start_unix
            .total_cmp(&b.start_unix)
            .then_with(|| a.file.cmp(&b.file))
    });
    drop_duplicates(&mut history);
    Ok(history)
}

/// The same run twice (its record and its `--json-full` document): the first
/// by file name stays.
fn drop_duplicates(history: &mut History) {
    let mut kept: Vec<Run> = Vec::with_capacity(history.runs.len());
    for run in std::mem::take(&mut history.runs) {
        let same = kept.iter().find(|k| {
            // A --json-full document keeps times to the microsecond.
            (k.start_unix - run.start_unix).abs() < 1e-3
                && k.hostname == run.hostname
                && k.jobs.len() == run.jobs.len()
        });
        match same {
            Some(k) => history.notes.push(Note {
                file: run.file.clone(),
                skipped: true,
                message: format!("the same run as {} (same start and host)", k.file),
            }),
            None => kept.push(run),
        }
    }
    history.runs = kept;
}

/// Read the files, on as many threads as there are CPUs (parsing is most of
/// the time a page of a long history takes).
fn read_all(files: &[PathBuf]) -> Vec<Result<(Run, Vec<String>), String>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8);
    let chunk = files.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(|p| load_file(p)).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|_| vec![Err("reading it failed".to_string())])
            })
            .collect()
    })
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Read one record: the run and notes on what was left out of it, or why it
/// cannot be read.
pub fn load_file(path: &Path) -> Result<(Run, Vec<String>), String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    parse(&file_name(path), &bytes)
}

/// A record's bytes, named `file`, into a run and notes.
pub fn parse(file: &str, bytes: &[u8]) -> Result<(Run, Vec<String>), String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err("empty file".into());
    }
    let doc: Document = match serde_json::from_slice(bytes) {
        Ok(doc) => doc,
        Err(e) => return Err(unreadable(bytes, &e)),
    };
    let mut warnings = Vec::new();
    let run = if let Some(run) = doc.run {
        if doc.format.as_deref().is_some_and(|f| f != FORMAT) {
            return Err(format!(
                "its format is `{}`, not `{FORMAT}`",
                doc.format.unwrap_or_default()
            ));
        }
        if let Some(v) = doc
            .format_version
            .filter(|v| *v > u64::from(FORMAT_VERSION))
        {
            warnings.push(format!(
                "record format {v} is newer than this netdrill's ({FORMAT_VERSION}): read what this netdrill knows of it"
            ));
        }
        let revision = revision_of(&doc.suites);
        from_record(file, run, revision, &mut warnings)
    } else if let Some(tests) = doc.results {
        from_nipa(file, tests, doc.netdrill, doc.interrupted, &mut warnings)?
    } else {
        return Err("not a netdrill run record (it has neither `run` nor `results`)".into());
    };
    Ok((run, warnings))
}

/// Why a file is not JSON of a run: a newer format's, truncated, or malformed.
fn unreadable(bytes: &[u8], e: &serde_json::Error) -> String {
    if let Ok(probe) = serde_json::from_slice::<VersionProbe>(bytes) {
        if probe.format.as_deref() == Some(FORMAT) {
            if let Some(v) = probe
                .format_version
                .as_ref()
                .and_then(serde_json::Value::as_u64)
                .filter(|v| *v > u64::from(FORMAT_VERSION))
            {
                return format!(
                    "written by a newer netdrill (record format {v}; this netdrill reads up to {FORMAT_VERSION}) and not readable by this one: {e}"
                );
            }
        }
    }
    match e.classify() {
        serde_json::error::Category::Eof => format!("truncated: {e}"),
        serde_json::error::Category::Syntax | serde_json::error::Category::Io => {
            format!("not valid JSON: {e}")
        }
        serde_json::error::Category::Data => format!("not a run record netdrill can read: {e}"),
    }
}

fn revision_of(suites: &[SuiteRevision]) -> Option<String> {
    let mut revs: Vec<&str> = suites
        .iter()
        .filter_map(|s| s.revision.as_deref())
        .collect();
    revs.dedup();
    (!revs.is_empty()).then(|| revs.join(", "))
}

/// The top of any document: which shape it is, and its parts.
#[derive(Deserialize)]
struct Document {
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    format_version: Option<u64>,
    #[serde(default, deserialize_with = "lenient_vec")]
    suites: Vec<SuiteRevision>,
    #[serde(default)]
    run: Option<RunIn>,
    #[serde(default)]
    results: Option<Vec<NipaTestIn>>,
    #[serde(default)]
    netdrill: Option<NipaRunIn>,
    /// NIPA's: the stopping signal's name.
    #[serde(default, deserialize_with = "lenient")]
    interrupted: Option<String>,
}

/// Only what tells a newer record apart, when the rest cannot be read.
#[derive(Deserialize)]
struct VersionProbe {
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    format_version: Option<serde_json::Value>,
}

/// A [`crate::model::RunRecord`], as much of it as is there.
#[derive(Deserialize)]
struct RunIn {
    #[serde(default)]
    host: HostIn,
    #[serde(default)]
    start_unix: f64,
    #[serde(default)]
    end_unix: f64,
    #[serde(default)]
    tolerance_usecs: u64,
    #[serde(default, deserialize_with = "lenient")]
    interrupted: Option<String>,
    jobs: Vec<JobIn>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct HostIn {
    hostname: String,
    kernel_release: String,
    netdrill_version: String,
}

#[derive(Deserialize)]
struct JobIn {
    id: JobIdIn,
    verdict: String,
    #[serde(default)]
    skip_reason: Option<String>,
    #[serde(default)]
    xfail_reason: Option<String>,
    #[serde(default)]
    attempts: Vec<AttemptIn>,
    #[serde(default)]
    replay_command: String,
}

#[derive(Deserialize)]
struct JobIdIn {
    suite: String,
    script: String,
    ip_version: String,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct AttemptIn {
    number: u32,
    result: String,
    start_unix: f64,
    duration_secs: f64,
    line: Option<u32>,
    kind: Option<String>,
    message: String,
    #[serde(deserialize_with = "lenient")]
    mismatch: Option<PacketMismatch>,
    artifacts: Option<PathBuf>,
    #[serde(deserialize_with = "lenient")]
    timing_slack: Option<TimingSlack>,
    #[serde(deserialize_with = "lenient")]
    unsupported: Option<String>,
}

/// A NIPA test case of `--json-full`.
#[derive(Deserialize)]
struct NipaTestIn {
    #[serde(default)]
    test: String,
    #[serde(default)]
    results: Vec<NipaSubtestIn>,
}

#[derive(Deserialize)]
struct NipaSubtestIn {
    #[serde(default)]
    test: String,
    #[serde(default)]
    netdrill: Option<NipaJobIn>,
}

#[derive(Deserialize)]
struct NipaJobIn {
    verdict: String,
    script: String,
    #[serde(default)]
    suite: String,
    #[serde(default)]
    skip_reason: Option<String>,
    #[serde(default)]
    xfail_reason: Option<String>,
    #[serde(default)]
    replay_command: String,
    #[serde(default)]
    attempts: Vec<AttemptIn>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct NipaRunIn {
    hostname: String,
    kernel_release: String,
    netdrill_version: String,
    tolerance_usecs: u64,
    start_unix: f64,
    end_unix: f64,
}

/// An optional part read if it has the shape this netdrill knows, else none.
fn lenient<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    let value = serde_json::Value::deserialize(d)?;
    Ok(serde_json::from_value(value).ok())
}

/// A list whose items of an unknown shape are dropped.
fn lenient_vec<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Vec<T>, D::Error> {
    let value = serde_json::Value::deserialize(d)?;
    Ok(match value {
        serde_json::Value::Array(items) => items
            .into_iter()
            .filter_map(|v| serde_json::from_value(v).ok())
            .collect(),
        _ => Vec::new(),
    })
}

/// A kebab-case word as one of this netdrill's enums.
fn word<T: DeserializeOwned>(w: &str) -> Option<T> {
    let d: serde::de::value::StrDeserializer<'_, serde::de::value::Error> = w.into_deserializer();
    T::deserialize(d).ok()
}

/// `interrupt` (a [`crate::model::StopSignal`]) or `SIGINT` (NIPA's) as the
/// signal's name.
fn signal_name(word: &str) -> String {
    match word {
        "interrupt" => "SIGINT".into(),
        "terminate" => "SIGTERM".into(),
        "hangup" => "SIGHUP".into(),
        other => other.to_string(),
    }
}

fn from_record(file: &str, r: RunIn, revision: Option<String>, warnings: &mut Vec<String>) -> Run {
    let jobs = r
        .jobs
        .into_iter()
        .filter_map(|j| {
            job(
                j.id.suite,
                j.id.script,
                j.id.ip_version,
                &j.verdict,
                JobParts {
                    skip_reason: j.skip_reason,
                    xfail_reason: j.xfail_reason,
                    replay_command: j.replay_command,
                    attempts: j.attempts,
                },
                warnings,
            )
        })
        .collect();
    finish(Run {
        file: file.to_string(),
        start_unix: r.start_unix,
        end_unix: r.end_unix,
        hostname: r.host.hostname,
        kernel_release: r.host.kernel_release,
        netdrill_version: r.host.netdrill_version,
        suite_revision: revision,
        tolerance_usecs: r.tolerance_usecs,
        interrupted: r.interrupted.as_deref().map(signal_name),
        jobs,
    })
}

fn from_nipa(
    file: &str,
    tests: Vec<NipaTestIn>,
    facts: Option<NipaRunIn>,
    interrupted: Option<String>,
    warnings: &mut Vec<String>,
) -> Result<Run, String> {
    let Some(facts) = facts else {
        return Err(
            "a NIPA result file without netdrill's details (written without --json-full): it \
             names tests only by NIPA's names; record runs with `netdrill run --record DIR` or \
             `--json FILE --json-full`"
                .into(),
        );
    };
    let mut jobs = Vec::new();
    for test in tests {
        for sub in test.results {
            let Some(j) = sub.netdrill else {
                warnings.push(format!(
                    "{} {}: no netdrill details; left out",
                    test.test, sub.test
                ));
                continue;
            };
            let parts = JobParts {
                skip_reason: j.skip_reason,
                xfail_reason: j.xfail_reason,
                replay_command: j.replay_command,
                attempts: j.attempts,
            };
            jobs.extend(job(
                j.suite, j.script, sub.test, &j.verdict, parts, warnings,
            ));
        }
    }
    Ok(finish(Run {
        file: file.to_string(),
        start_unix: facts.start_unix,
        end_unix: facts.end_unix,
        hostname: facts.hostname,
        kernel_release: facts.kernel_release,
        netdrill_version: facts.netdrill_version,
        suite_revision: None,
        tolerance_usecs: facts.tolerance_usecs,
        interrupted: interrupted.as_deref().map(signal_name),
        jobs,
    }))
}

/// Jobs in key order, one per key (a second job of the same name is dropped).
fn finish(mut run: Run) -> Run {
    run.jobs.sort_by(|a, b| a.key.cmp(&b.key));
    run.jobs.dedup_by(|b, a| a.key == b.key);
    run
}

struct JobParts {
    skip_reason: Option<String>,
    xfail_reason: Option<String>,
    replay_command: String,
    attempts: Vec<AttemptIn>,
}

fn job(
    suite: String,
    script: String,
    ip_version: String,
    verdict: &str,
    parts: JobParts,
    warnings: &mut Vec<String>,
) -> Option<JobRun> {
    let key = format!("{suite}/{script} {ip_version}");
    let Some(verdict) = word::<Verdict>(verdict) else {
        warnings.push(format!(
            "{key}: verdict `{verdict}` is unknown to this netdrill; left out"
        ));
        return None;
    };
    let mut attempts = Vec::with_capacity(parts.attempts.len());
    for a in parts.attempts {
        let Some(result) = word::<AttemptResult>(&a.result) else {
            warnings.push(format!(
                "{key}: attempt result `{}` is unknown to this netdrill; left out",
                a.result
            ));
            return None;
        };
        attempts.push(AttemptRun {
            number: a.number,
            result,
            start_unix: a.start_unix,
            duration_secs: a.duration_secs,
            line: a.line,
            kind: a.kind,
            message: a.message,
            mismatch: a.mismatch,
            artifacts: a.artifacts,
            timing_slack: a.timing_slack,
            unsupported: a.unsupported,
        });
    }
    Some(JobRun {
        key,
        suite,
        script,
        ip_version,
        verdict,
        skip_reason: parts.skip_reason,
        xfail_reason: parts.xfail_reason,
        replay_command: parts.replay_command,
        attempts,
    })
}
