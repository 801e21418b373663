//! The reports written while a run goes on, so that a run killed by SIGKILL, a
//! kernel panic or a hung host leaves a report of every job that finished: a
//! consumer of the [`RunnerEvent`]s, like the progress display.
//!
//! - KTAP (`--ktap`) is written a script at a time ([`KtapStream`]): to a file
//!   in the order scripts finish, each numbered as it comes, then replaced at
//!   the end by the report in discovery order (kselftest's numbers); to stdout,
//!   which cannot be rewritten, in discovery order, each script as soon as it
//!   and every script before it have finished.
//! - JSON and JUnit files are rewritten whole at checkpoints: when the run
//!   starts (every job not run yet), then after a job finishes, at most once per
//!   [`CHECKPOINT_INTERVAL`], and at the end. Each write goes to a temporary
//!   file beside the report, is synced, then renamed over it, so the report on
//!   disk is always a whole, valid one: the jobs that finished, the others as
//!   not run, and the run marked incomplete. To stdout they are written once,
//!   at the end.

use super::ktap::{Chunk, KtapStream, StreamOrder};
use super::{json, junit, Options};
use crate::model::{JobId, RunRecord, RunnerEvent};
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The least time between two checkpoints of the JSON and JUnit reports.
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);

/// Which reports to write where (`-` is stdout).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Targets {
    pub ktap: Option<PathBuf>,
    /// Indented KTAP v1 instead of kselftest's shape.
    pub ktap_nested: bool,
    pub junit: Option<PathBuf>,
    pub json: Option<PathBuf>,
    /// Every attempt in the JSON.
    pub json_full: bool,
}

/// Whether a report path means stdout.
pub fn is_stdout(path: &Path) -> bool {
    path == Path::new("-")
}

/// Where the KTAP goes.
enum KtapOut {
    Stdout,
    /// The file, once opened (`None` until the run starts, or after an error).
    File {
        path: PathBuf,
        file: Option<File>,
    },
}

/// The reports of one run, written as its events come.
pub struct ReportStream {
    targets: Targets,
    opts: Options,
    ktap: Option<(KtapStream, KtapOut)>,
    /// The run as far as it went: every job, those without a result as not run.
    snapshot: RunRecord,
    /// Where each job is in the snapshot.
    index: HashMap<JobId, usize>,
    last_checkpoint: Option<Instant>,
    /// A job finished since the last checkpoint.
    pending: bool,
    /// The latest error of each report (`--junit PATH: why`).
    errors: Vec<(&'static str, String)>,
}

impl ReportStream {
    /// The reports `targets` asks for; `template` gives the host facts, the
    /// jobs at once and the tolerance of the record written before the end.
    pub fn new(targets: Targets, opts: Options, template: RunRecord) -> ReportStream {
        let ktap = targets.ktap.as_ref().map(|path| {
            if is_stdout(path) {
                (
                    KtapStream::new(opts.clone(), targets.ktap_nested, StreamOrder::Discovery),
                    KtapOut::Stdout,
                )
            } else {
                (
                    KtapStream::new(opts.clone(), targets.ktap_nested, StreamOrder::Completion),
                    KtapOut::File {
                        path: path.clone(),
                        file: None,
                    },
                )
            }
        });
        ReportStream {
            targets,
            opts,
            ktap,
            snapshot: template,
            index: HashMap::new(),
            last_checkpoint: None,
            pending: false,
            errors: Vec::new(),
        }
    }

    /// The `--tolerance_usecs` the reports written before the end give (a
    /// `--kernel` run knows it once its VM's accelerator is chosen).
    pub fn set_tolerance(&mut self, usecs: u64) {
        self.snapshot.tolerance_usecs = usecs;
    }

    /// Take one event.
    pub fn event(&mut self, ev: &RunnerEvent) {
        if let Some((stream, out)) = &mut self.ktap {
            if let Some(chunk) = stream.event(ev) {
                if let Err(e) = write_ktap(out, chunk) {
                    let path = self.targets.ktap.as_deref().unwrap_or(Path::new("-"));
                    set_error(&mut self.errors, "--ktap", path, &e);
                }
            }
        }
        match ev {
            RunnerEvent::RunStarted {
                start_unix,
                planned,
                ..
            } => {
                self.snapshot.start_unix = *start_unix;
                self.snapshot.jobs = planned.clone();
                self.index = planned
                    .iter()
                    .enumerate()
                    .map(|(i, j)| (j.id.clone(), i))
                    .collect();
                self.checkpoint();
            }
            RunnerEvent::JobFinished { record } => {
                if let Some(&i) = self.index.get(&record.id) {
                    self.snapshot.jobs[i] = record.clone();
                }
                self.pending = true;
            }
            RunnerEvent::KernelSplat { splat } => {
                self.snapshot.kernel_splats.push(splat.clone());
                self.pending = true;
            }
            RunnerEvent::RunFinished { record } => {
                self.snapshot = record.clone();
                self.write_files();
                self.write_stdout();
                return;
            }
            _ => {}
        }
        let due = self
            .last_checkpoint
            .is_none_or(|t| t.elapsed() >= CHECKPOINT_INTERVAL);
        if self.pending && due {
            self.checkpoint();
        }
    }

    /// Errors writing the reports, one line per report (empty: all written).
    pub fn errors(&self) -> Vec<String> {
        self.errors.iter().map(|(_, e)| e.clone()).collect()
    }

    fn checkpoint(&mut self) {
        self.snapshot.end_unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        self.write_files();
        self.last_checkpoint = Some(Instant::now());
        self.pending = false;
    }

    /// The JSON and JUnit reports that go to files, as the snapshot says.
    fn write_files(&mut self) {
        let reports = [
            ("--junit", self.targets.junit.clone()),
            ("--json", self.targets.json.clone()),
        ];
        for (flag, path) in reports {
            let Some(path) = path.filter(|p| !is_stdout(p)) else {
                continue;
            };
            let text = self.render(flag);
            match write_atomically(&path, text.as_bytes()) {
                Ok(()) => self.errors.retain(|(f, _)| *f != flag),
                Err(e) => set_error(&mut self.errors, flag, &path, &e),
            }
        }
    }

    /// The JSON or JUnit report that goes to stdout, at the end.
    fn write_stdout(&mut self) {
        for (flag, path) in [
            ("--junit", self.targets.junit.clone()),
            ("--json", self.targets.json.clone()),
        ] {
            if path.as_deref().is_some_and(is_stdout) {
                let text = self.render(flag);
                let mut out = io::stdout().lock();
                if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
                    set_error(&mut self.errors, flag, Path::new("-"), &e);
                }
            }
        }
    }

    fn render(&self, flag: &str) -> String {
        if flag == "--junit" {
            junit::render_with(&self.snapshot, &self.opts)
        } else {
            json::render_with(&self.snapshot, self.targets.json_full, &self.opts)
        }
    }
}

/// Note the error of a report, replacing its earlier one.
fn set_error(
    errors: &mut Vec<(&'static str, String)>,
    flag: &'static str,
    path: &Path,
    e: &io::Error,
) {
    errors.retain(|(f, _)| *f != flag);
    errors.push((flag, format!("{flag} {}: {e}", path.display())));
}

fn write_ktap(out: &mut KtapOut, chunk: Chunk) -> io::Result<()> {
    match (out, chunk) {
        (KtapOut::Stdout, Chunk::Append(text) | Chunk::Replace(text)) => {
            let mut o = io::stdout().lock();
            o.write_all(text.as_bytes())?;
            o.flush()
        }
        (KtapOut::File { path, file }, Chunk::Append(text)) => {
            if file.is_none() {
                create_parent(path)?;
                *file = Some(File::create(&*path)?);
            }
            match file {
                Some(f) => {
                    f.write_all(text.as_bytes())?;
                    f.sync_data()
                }
                None => Ok(()),
            }
        }
        (KtapOut::File { path, file }, Chunk::Replace(text)) => {
            *file = None;
            write_atomically(path, text.as_bytes())
        }
    }
}

fn create_parent(path: &Path) -> io::Result<()> {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => std::fs::create_dir_all(parent),
        None => Ok(()),
    }
}

/// Replace `path` with `bytes` so that a reader (or a crash) sees the old file
/// or the new one, never a part: a temporary file beside it, synced, renamed.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    create_parent(path)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report".into());
    let tmp = path.with_file_name(format!(".{name}.netdrill-tmp"));
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_data()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Attempt, AttemptResult, HostInfo, JobRecord, Verdict};

    fn template() -> RunRecord {
        RunRecord {
            host: HostInfo {
                hostname: "h".into(),
                kernel_release: "6.18.0".into(),
                netdrill_version: "0.1.0".into(),
                kernel_features: None,
            },
            start_unix: 0.0,
            end_unix: 0.0,
            jobs_at_once: 2,
            tolerance_usecs: 4000,
            interrupted: None,
            jobs: vec![],
            kernel_splats: vec![],
            vm: None,
        }
    }

    fn job(script: &str, verdict: Verdict) -> JobRecord {
        JobRecord {
            id: JobId {
                suite: "s".into(),
                script: script.into(),
                ip_version: "ipv4".into(),
            },
            path: script.into(),
            args: vec![],
            verdict,
            skip_reason: None,
            xfail_reason: None,
            attempts: if verdict == Verdict::NotRun {
                vec![]
            } else {
                vec![Attempt {
                    number: 1,
                    result: AttemptResult::Pass,
                    start_unix: 10.0,
                    duration_secs: 1.0,
                    cpu_secs: None,
                    max_rss_kib: None,
                    line: None,
                    kind: None,
                    message: String::new(),
                    mismatch: None,
                    timing_slack: None,
                    log: String::new(),
                    artifacts: None,
                }]
            },
            replay_command: String::new(),
        }
    }

    #[test]
    fn reports_on_disk_are_whole_at_every_step() {
        let dir = tempfile::tempdir().unwrap();
        let targets = Targets {
            ktap: Some(dir.path().join("k/ktap.txt")),
            junit: Some(dir.path().join("junit.xml")),
            json: Some(dir.path().join("results.json")),
            ..Targets::default()
        };
        let mut s = ReportStream::new(targets, Options::default(), template());
        s.event(&RunnerEvent::RunStarted {
            total_jobs: 2,
            jobs_at_once: 2,
            start_unix: 5.0,
            planned: vec![job("a.pkt", Verdict::NotRun), job("b.pkt", Verdict::NotRun)],
        });
        let doc = json::parse(&std::fs::read_to_string(dir.path().join("results.json")).unwrap())
            .unwrap();
        assert!(doc.incomplete);
        assert!(doc.results.iter().all(|t| t.not_run));
        let xml = std::fs::read_to_string(dir.path().join("junit.xml")).unwrap();
        assert_eq!(xml.matches("type=\"not-run\"").count(), 2, "{xml}");
        s.event(&RunnerEvent::JobFinished {
            record: job("b.pkt", Verdict::Pass),
        });
        let ktap = std::fs::read_to_string(dir.path().join("k/ktap.txt")).unwrap();
        assert!(
            ktap.ends_with("\nok 1 selftests: net/s: b.pkt\n"),
            "b finished first and is written as number 1: {ktap}"
        );
        let mut done = template();
        done.start_unix = 5.0;
        done.end_unix = 12.0;
        done.jobs = vec![job("a.pkt", Verdict::Pass), job("b.pkt", Verdict::Pass)];
        s.event(&RunnerEvent::RunFinished {
            record: done.clone(),
        });
        assert!(s.errors().is_empty(), "{:?}", s.errors());
        let ktap = std::fs::read_to_string(dir.path().join("k/ktap.txt")).unwrap();
        assert_eq!(ktap, super::super::ktap::render(&done));
        let doc = json::parse(&std::fs::read_to_string(dir.path().join("results.json")).unwrap())
            .unwrap();
        assert!(!doc.incomplete);
        assert!(!dir.path().join(".results.json.netdrill-tmp").exists());
    }

    #[test]
    fn an_unwritable_report_is_an_error_that_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "").unwrap();
        let targets = Targets {
            junit: Some(blocker.join("junit.xml")),
            ..Targets::default()
        };
        let mut s = ReportStream::new(targets, Options::default(), template());
        s.event(&RunnerEvent::RunFinished { record: template() });
        let errors = s.errors();
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].starts_with(&format!(
                "--junit {}: ",
                blocker.join("junit.xml").display()
            )),
            "{errors:?}"
        );
    }
}
