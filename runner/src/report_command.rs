//! `netdrill report`: a history of runs (a folder of run records) into the
//! dashboard page (`--html`), the digest (`--summary`), or the comparison of
//! two runs (`--compare BASE NEW`). The reading is in [`crate::history`], the
//! pages in [`crate::report`]; here are the command line and the files.

use crate::history::analysis::{self, Settings};
use crate::history::read::{self, History};
use crate::report::compare::HistoryContext;
use crate::report::stream::{is_stdout, write_atomically};
use crate::report::{compare, dashboard, digest};
use clap::Args;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Exit statuses of `netdrill report`.
pub mod exit {
    /// Written; no regression (no new failure).
    pub const SUCCESS: i32 = 0;
    /// The latest run has a regression (`--compare`: the new run has a new failure).
    pub const REGRESSION: i32 = 1;
    /// Usage error: the command line, a history folder that is not one, a
    /// compared run that cannot be read.
    pub const USAGE: i32 = 2;
    /// The page or the digest could not be written.
    pub const WRITE: i32 = 110;
}

/// What `netdrill report --help` says after the options.
pub const AFTER_HELP: &str = "\
Exit status: 0 written, no regression; 1 the latest run has a regression (--compare: the new run
has a new failure, not a known flake); 2 usage error (a history that is not a folder, a compared
run that cannot be read); 110 the page or the digest could not be written.
Records that cannot be read (truncated, malformed, from an unknown netdrill) are named on stderr
and left out; they never stop the report.";

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// The history: a folder of run records (`netdrill run --record DIR` adds
    /// one per run; documents of `netdrill run --json FILE --json-full` count too).
    #[arg(value_name = "HISTORY_DIR", required_unless_present = "compare")]
    pub history_dir: Option<PathBuf>,
    /// Write the dashboard, one self-contained HTML page, to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Print the digest (Markdown: regressions, fixed, flaky, counts), or
    /// write it to FILE with --summary=FILE. The default when neither --html
    /// nor --summary is given.
    #[arg(long, value_name = "FILE", num_args = 0..=1, require_equals = true, default_missing_value = "-")]
    pub summary: Option<PathBuf>,
    /// Which tests changed verdict between two runs (each a record or a
    /// --json-full document), e.g. the base kernel's and the patched one's.
    #[arg(long, num_args = 2, value_names = ["BASE", "NEW"], conflicts_with_all = ["html", "summary", "history_dir"])]
    pub compare: Option<Vec<PathBuf>>,
    /// With --compare: the history whose flakes are known, told apart from new failures.
    #[arg(long, value_name = "DIR", requires = "compare")]
    pub history: Option<PathBuf>,
    /// Runs in the window: the matrix, flake rates and durations.
    #[arg(long, value_name = "N", default_value_t = Settings::default().window)]
    pub window: usize,
    /// A duration moved when it differs from the median before it by more than
    /// PERCENT of it...
    #[arg(long, value_name = "PERCENT", default_value_t = 100.0 * Settings::default().duration_threshold)]
    pub duration_threshold: f64,
    /// ...and by more than SECS seconds.
    #[arg(long, value_name = "SECS", default_value_t = Settings::default().duration_floor_secs)]
    pub duration_floor: f64,
}

impl ReportArgs {
    fn settings(&self) -> Result<Settings, String> {
        if self.window == 0 {
            return Err("--window 0: at least one run".into());
        }
        for (flag, v) in [
            ("--duration-threshold", self.duration_threshold),
            ("--duration-floor", self.duration_floor),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(format!("{flag} {v}: must be a number, 0 or more"));
            }
        }
        Ok(Settings {
            window: self.window,
            duration_threshold: self.duration_threshold / 100.0,
            duration_floor_secs: self.duration_floor,
        })
    }
}

/// `netdrill report ...`; returns the exit status.
pub fn cmd_report(a: ReportArgs) -> i32 {
    let settings = match a.settings() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("netdrill report: {e}");
            return exit::USAGE;
        }
    };
    match (&a.compare, &a.history_dir) {
        (Some(pair), _) => cmd_compare(&pair[0], &pair[1], a.history.as_deref(), settings),
        (None, Some(dir)) => cmd_history(dir, &a, settings),
        (None, None) => {
            eprintln!("netdrill report: name a history folder, or --compare BASE NEW");
            exit::USAGE
        }
    }
}

/// Read a history folder, naming on stderr each file left out.
fn load_history(dir: &Path) -> Result<History, String> {
    if !dir.is_dir() {
        return Err(format!("{}: not a folder of run records", dir.display()));
    }
    let history = read::load_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for note in &history.notes {
        eprintln!("netdrill report: {}: {note}", dir.display());
    }
    if history.runs.is_empty() {
        eprintln!(
            "netdrill report: {}: no run record that can be read",
            dir.display()
        );
    }
    Ok(history)
}

fn cmd_history(dir: &Path, a: &ReportArgs, settings: Settings) -> i32 {
    let history = match load_history(dir) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("netdrill report: {e}");
            return exit::USAGE;
        }
    };
    let analysis = analysis::analyse(&history.runs, settings);
    let mut status = exit::SUCCESS;
    if let Some(out) = &a.html {
        let page_dir = page_dir(out);
        let page = dashboard::render(
            &analysis,
            &history.notes,
            &dashboard::PageOptions { page_dir },
        );
        if let Err(e) = write_out(out, &page) {
            eprintln!("netdrill report: --html {}: {e}", out.display());
            status = exit::WRITE;
        }
    }
    let summary = a
        .summary
        .clone()
        .or_else(|| a.html.is_none().then(|| PathBuf::from("-")));
    if let Some(out) = summary {
        let text = digest::render(&analysis, &history.notes);
        if let Err(e) = write_out(&out, &text) {
            eprintln!("netdrill report: --summary {}: {e}", out.display());
            status = exit::WRITE;
        }
    }
    if status == exit::SUCCESS && !analysis.regressions.is_empty() {
        status = exit::REGRESSION;
    }
    status
}

/// The folder the page goes to, absolute, made when missing.
fn page_dir(out: &Path) -> Option<PathBuf> {
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).ok()?;
    std::fs::canonicalize(parent).ok()
}

/// Write to a file (atomically) or, for `-`, to stdout.
fn write_out(out: &Path, text: &str) -> std::io::Result<()> {
    if is_stdout(out) {
        let mut o = std::io::stdout().lock();
        o.write_all(text.as_bytes())?;
        o.flush()
    } else {
        write_atomically(out, text.as_bytes())
    }
}

fn cmd_compare(base: &Path, new: &Path, history: Option<&Path>, settings: Settings) -> i32 {
    let load = |path: &Path| {
        read::load_file(path).map(|(run, warnings)| {
            for w in warnings {
                eprintln!("netdrill report: {}: {w}", path.display());
            }
            run
        })
    };
    let (base_run, new_run) = match (load(base), load(new)) {
        (Ok(b), Ok(n)) => (b, n),
        (Err(e), _) => {
            eprintln!("netdrill report: --compare {}: {e}", base.display());
            return exit::USAGE;
        }
        (_, Err(e)) => {
            eprintln!("netdrill report: --compare {}: {e}", new.display());
            return exit::USAGE;
        }
    };
    let history = match history.map(load_history).transpose() {
        Ok(h) => h,
        Err(e) => {
            eprintln!("netdrill report: --history {e}");
            return exit::USAGE;
        }
    };
    let analysis = history
        .as_ref()
        .map(|h| analysis::analyse(&h.runs, settings));
    let context = analysis.as_ref().map(|a| HistoryContext {
        runs: a.window.len(),
        flaky: a
            .flaky
            .iter()
            .map(|f| (f.test.to_string(), f.events(), f.runs))
            .collect(),
    });
    let known: BTreeSet<&str> = context
        .iter()
        .flat_map(|c| c.flaky.iter().map(|f| f.0.as_str()))
        .collect();
    let changes = analysis::compare(&base_run, &new_run, &known);
    let text = compare::render(&base_run, &new_run, &changes, context.as_ref());
    if let Err(e) = write_out(Path::new("-"), &text) {
        eprintln!("netdrill report: writing to stdout: {e}");
        return exit::WRITE;
    }
    if changes
        .iter()
        .any(|c| c.change == analysis::Change::NewFailure)
    {
        exit::REGRESSION
    } else {
        exit::SUCCESS
    }
}
