//! What a history says, as plain functions of its runs (oldest first):
//!
//! - each test's result in each run, a [`Cell`];
//! - **regressions**: tests that fail in the latest run and passed before: the
//!   failing streak that ends with the latest run (runs where the test has no
//!   result, was skipped or failed as expected do not break it) comes after a
//!   pass. The first run of the streak is when it broke. A test that never
//!   passed in the history is a known failure, not a regression;
//! - **fixed**: tests that pass in the latest run and failed the last time
//!   they had a result;
//! - **flaky**: per test over the window (the last N runs), the share of runs
//!   that flaked: failed and then passed on a retry (verdict flaky), or
//!   failed alone between two passes. Worst first, with the closest call with
//!   a timing failure its attempts recorded;
//! - **durations**: the run's wall time and each test's seconds over the
//!   window, and whether the latest moved from the median of the runs before
//!   it by more than a threshold;
//! - **comparisons** of two runs ([`compare`]): which tests changed verdict,
//!   telling failures of tests known to flake in the history from new ones.

use super::run::{JobRun, Run, TimingSlack};
use crate::model::Verdict;
use std::collections::BTreeSet;
use std::ops::Range;

/// How far back the history looks, and what counts as a moved duration.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    /// Runs in the window: the matrix, flake rates and durations.
    pub window: usize,
    /// A duration moved when it differs from the median before it by more
    /// than this share of it (0.5: 50%)...
    pub duration_threshold: f64,
    /// ...and by more than this many seconds.
    pub duration_floor_secs: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            window: 30,
            duration_threshold: 0.5,
            duration_floor_secs: 0.1,
        }
    }
}

/// A test's result in one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cell {
    Pass,
    Fail,
    Flaky,
    Skip,
    Xfail,
    Xpass,
    Timeout,
    Error,
    NotRun,
    /// The run has no such test.
    Absent,
}

impl Cell {
    pub const ALL: [Cell; 10] = [
        Cell::Pass,
        Cell::Fail,
        Cell::Flaky,
        Cell::Skip,
        Cell::Xfail,
        Cell::Xpass,
        Cell::Timeout,
        Cell::Error,
        Cell::NotRun,
        Cell::Absent,
    ];

    pub fn of(job: Option<&JobRun>) -> Cell {
        match job.map(|j| j.verdict) {
            None => Cell::Absent,
            Some(Verdict::Pass) => Cell::Pass,
            Some(Verdict::Fail) => Cell::Fail,
            Some(Verdict::Flaky) => Cell::Flaky,
            Some(Verdict::Skip) => Cell::Skip,
            Some(Verdict::Xfail) => Cell::Xfail,
            Some(Verdict::Xpass) => Cell::Xpass,
            Some(Verdict::Timeout) => Cell::Timeout,
            Some(Verdict::Error) => Cell::Error,
            Some(Verdict::NotRun) => Cell::NotRun,
        }
    }

    /// The word reports use (the verdict's, `absent` for no such test).
    pub fn word(self) -> &'static str {
        match self {
            Cell::Pass => "pass",
            Cell::Fail => "fail",
            Cell::Flaky => "flaky",
            Cell::Skip => "skip",
            Cell::Xfail => "xfail",
            Cell::Xpass => "xpass",
            Cell::Timeout => "timeout",
            Cell::Error => "error",
            Cell::NotRun => "not-run",
            Cell::Absent => "absent",
        }
    }

    /// One character that tells the result without its colour.
    pub fn mark(self) -> &'static str {
        match self {
            Cell::Pass => "P",
            Cell::Fail => "F",
            Cell::Flaky => "~",
            Cell::Skip => "S",
            Cell::Xfail => "x",
            Cell::Xpass => "!",
            Cell::Timeout => "T",
            Cell::Error => "E",
            Cell::NotRun => "-",
            Cell::Absent => ".",
        }
    }

    /// An unexpected failure: the run is not green with it.
    pub fn is_failure(self) -> bool {
        matches!(self, Cell::Fail | Cell::Xpass | Cell::Timeout | Cell::Error)
    }

    /// It ran and passed (on a retry, for flaky).
    pub fn is_pass(self) -> bool {
        matches!(self, Cell::Pass | Cell::Flaky)
    }

    /// A pass or a failure: what regressions and fixes are read from.
    pub fn is_signal(self) -> bool {
        self.is_pass() || self.is_failure()
    }
}

/// A test that fails in the latest run and passed before.
#[derive(Clone, Debug, PartialEq)]
pub struct Regression<'a> {
    pub test: &'a str,
    /// The first run of the failing streak (index into the runs).
    pub since: usize,
    /// The last run it passed in.
    pub last_pass: usize,
    /// Runs it failed in since then.
    pub failing_runs: usize,
    /// The job in the first failing run (its diagnostic, its artifacts).
    pub first: &'a JobRun,
    /// The job in the latest run.
    pub latest: &'a JobRun,
}

/// A test that passes in the latest run and failed the time before.
#[derive(Clone, Debug, PartialEq)]
pub struct Fix<'a> {
    pub test: &'a str,
    /// The first run of the failing streak that ended.
    pub failing_since: usize,
    pub failed_runs: usize,
    pub latest: &'a JobRun,
}

/// A test that flaked in the window.
#[derive(Clone, Debug, PartialEq)]
pub struct Flake<'a> {
    pub test: &'a str,
    /// Runs with a pass or a failure, in the window.
    pub runs: usize,
    /// Runs where it failed, then passed on a retry.
    pub flaky_verdicts: usize,
    /// Runs where it failed alone, between two passes.
    pub lone_failures: usize,
    /// Its closest call with a timing failure in the window, and the run.
    pub closest: Option<(TimingSlack, usize)>,
}

impl Flake<'_> {
    pub fn events(&self) -> usize {
        self.flaky_verdicts + self.lone_failures
    }

    /// Flakes per run with a result, 0 to 1.
    pub fn rate(&self) -> f64 {
        self.events() as f64 / self.runs.max(1) as f64
    }
}

/// A test's seconds over the window.
#[derive(Clone, Debug, PartialEq)]
pub struct DurationTrend<'a> {
    pub test: &'a str,
    /// One per window run (none: it did not run there).
    pub series: Vec<Option<f64>>,
    /// The median of the runs before the latest, when there are at least 3.
    pub median_before: Option<f64>,
    pub latest: Option<f64>,
    /// The latest's change against the median (0.6: 60% slower), when it
    /// moved past the threshold.
    pub moved: Option<f64>,
}

/// A run's wall time, and whether it moved from the runs before it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WallTime {
    pub run: usize,
    pub secs: f64,
    pub moved: Option<f64>,
}

/// Everything the reports show of a history.
#[derive(Clone, Debug)]
pub struct Analysis<'a> {
    pub runs: &'a [Run],
    pub settings: Settings,
    /// Every test of every run, by name.
    pub tests: Vec<&'a str>,
    /// `cells[test][run]`.
    pub cells: Vec<Vec<Cell>>,
    /// The last runs, at most `settings.window`.
    pub window: Range<usize>,
    /// Tests of the window runs, in matrix order: regressions, then tests with
    /// anything but passes and skips in the window, then the rest, by name.
    pub window_tests: Vec<usize>,
    pub regressions: Vec<Regression<'a>>,
    pub fixed: Vec<Fix<'a>>,
    pub flaky: Vec<Flake<'a>>,
    /// Tests failing in the latest run that never passed in the history.
    pub known_failures: Vec<&'a str>,
    pub wall: Vec<WallTime>,
    /// Tests of the window, those whose duration moved first (largest move
    /// first), then by name.
    pub durations: Vec<DurationTrend<'a>>,
}

impl<'a> Analysis<'a> {
    pub fn latest(&self) -> Option<&'a Run> {
        self.runs.last()
    }

    /// The index of a test's row.
    pub fn test_index(&self, test: &str) -> Option<usize> {
        self.tests.binary_search(&test).ok()
    }

    pub fn is_regression(&self, test: &str) -> bool {
        self.regressions.iter().any(|r| r.test == test)
    }
}

/// Analyse `runs` (oldest first).
pub fn analyse(runs: &[Run], settings: Settings) -> Analysis<'_> {
    let tests: Vec<&str> = runs
        .iter()
        .flat_map(|r| r.jobs.iter().map(|j| j.key.as_str()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let cells: Vec<Vec<Cell>> = tests
        .iter()
        .map(|t| runs.iter().map(|r| Cell::of(r.job(t))).collect())
        .collect();
    let window = runs.len().saturating_sub(settings.window.max(1))..runs.len();
    let mut analysis = Analysis {
        runs,
        settings,
        tests,
        cells,
        window,
        window_tests: Vec::new(),
        regressions: Vec::new(),
        fixed: Vec::new(),
        flaky: Vec::new(),
        known_failures: Vec::new(),
        wall: wall_times(runs, settings),
        durations: Vec::new(),
    };
    streaks(&mut analysis);
    analysis.flaky = flakes(&analysis);
    analysis.window_tests = matrix_order(&analysis);
    analysis.durations = duration_trends(&analysis);
    analysis
}

/// Regressions, fixes and known failures: each test's latest result and the
/// streak behind it.
fn streaks(a: &mut Analysis<'_>) {
    let Some(last) = a.runs.len().checked_sub(1) else {
        return;
    };
    for (t, row) in a.cells.iter().enumerate() {
        let now = row[last];
        // The signals before the latest run, newest first.
        let mut before = (0..last).rev().filter(|&i| row[i].is_signal());
        if now.is_failure() {
            let mut since = last;
            let mut last_pass = None;
            for i in before {
                if row[i].is_pass() {
                    last_pass = Some(i);
                    break;
                }
                since = i;
            }
            let failing_runs = (since..=last).filter(|&i| row[i].is_failure()).count();
            match last_pass {
                Some(last_pass) => a.regressions.push(Regression {
                    test: a.tests[t],
                    since,
                    last_pass,
                    failing_runs,
                    first: job_in(a.runs, since, a.tests[t]),
                    latest: job_in(a.runs, last, a.tests[t]),
                }),
                None => a.known_failures.push(a.tests[t]),
            }
        } else if now.is_pass() {
            let Some(prev) = before.next().filter(|&i| row[i].is_failure()) else {
                continue;
            };
            let mut failing_since = prev;
            for i in (0..prev).rev().filter(|&i| row[i].is_signal()) {
                if row[i].is_pass() {
                    break;
                }
                failing_since = i;
            }
            a.fixed.push(Fix {
                test: a.tests[t],
                failing_since,
                failed_runs: (failing_since..=prev)
                    .filter(|&i| row[i].is_failure())
                    .count(),
                latest: job_in(a.runs, last, a.tests[t]),
            });
        }
    }
    // Newest breakage first, then by name.
    a.regressions
        .sort_by(|x, y| y.since.cmp(&x.since).then(x.test.cmp(y.test)));
}

/// The job of a test in a run where its cell says it has one.
fn job_in<'a>(runs: &'a [Run], run: usize, test: &str) -> &'a JobRun {
    runs[run]
        .job(test)
        .unwrap_or_else(|| unreachable!("the cell of {test} in run {run} names a job"))
}

fn flakes<'a>(a: &Analysis<'a>) -> Vec<Flake<'a>> {
    let mut out = Vec::new();
    for (t, row) in a.cells.iter().enumerate() {
        let signals: Vec<usize> = a.window.clone().filter(|&i| row[i].is_signal()).collect();
        let flaky_verdicts = signals.iter().filter(|&&i| row[i] == Cell::Flaky).count();
        let lone_failures = signals
            .windows(3)
            .filter(|w| row[w[0]].is_pass() && row[w[1]].is_failure() && row[w[2]].is_pass())
            .count();
        if flaky_verdicts + lone_failures == 0 {
            continue;
        }
        let closest = a
            .window
            .clone()
            .filter_map(|i| {
                a.runs[i]
                    .job(a.tests[t])
                    .and_then(JobRun::tightest_slack)
                    .map(|s| (s, i))
            })
            .reduce(|x, y| if x.0.tighter(y.0) == x.0 { x } else { y });
        out.push(Flake {
            test: a.tests[t],
            runs: signals.len(),
            flaky_verdicts,
            lone_failures,
            closest,
        });
    }
    // Worst first: the higher rate (compared exactly), more flakes, the name.
    out.sort_by(|x, y| {
        let xr = x.events() * y.runs.max(1);
        let yr = y.events() * x.runs.max(1);
        yr.cmp(&xr)
            .then(y.events().cmp(&x.events()))
            .then(x.test.cmp(y.test))
    });
    out
}

/// The matrix's rows: regressions first, then tests with anything but passes
/// and skips in the window, then the rest; by name within each.
fn matrix_order(a: &Analysis<'_>) -> Vec<usize> {
    let mut rows: Vec<(u8, usize)> = (0..a.tests.len())
        .filter(|&t| a.window.clone().any(|i| a.cells[t][i] != Cell::Absent))
        .map(|t| {
            let cells = &a.cells[t][a.window.clone()];
            let rank = if a.is_regression(a.tests[t]) {
                0
            } else if cells
                .iter()
                .any(|c| !matches!(c, Cell::Pass | Cell::Skip | Cell::Absent))
            {
                1
            } else {
                2
            };
            (rank, t)
        })
        .collect();
    rows.sort();
    rows.into_iter().map(|(_, t)| t).collect()
}

/// The median of some values (none when there are none).
fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    })
}

/// How far `latest` moved from `median`, when past both thresholds.
fn moved(latest: f64, median: f64, settings: Settings) -> Option<f64> {
    let delta = latest - median;
    (delta.abs() > settings.duration_floor_secs
        && delta.abs() > settings.duration_threshold * median)
        .then(|| {
            if median > 0.0 {
                delta / median
            } else {
                f64::INFINITY
            }
        })
}

/// Fewest earlier values a median is taken from.
const MEDIAN_FROM: usize = 3;

fn wall_times(runs: &[Run], settings: Settings) -> Vec<WallTime> {
    (0..runs.len())
        .map(|i| {
            let secs = runs[i].wall_secs();
            let from = i.saturating_sub(settings.window.max(1));
            let mut before: Vec<f64> = runs[from..i]
                .iter()
                .filter(|r| r.interrupted.is_none())
                .map(Run::wall_secs)
                .collect();
            let moved = (before.len() >= MEDIAN_FROM && runs[i].interrupted.is_none())
                .then(|| median(&mut before))
                .flatten()
                .and_then(|m| moved(secs, m, settings));
            WallTime {
                run: i,
                secs,
                moved,
            }
        })
        .collect()
}

fn duration_trends<'a>(a: &Analysis<'a>) -> Vec<DurationTrend<'a>> {
    let mut out: Vec<DurationTrend<'a>> = a
        .window_tests
        .iter()
        .map(|&t| {
            let series: Vec<Option<f64>> = a
                .window
                .clone()
                .map(|i| {
                    a.runs[i]
                        .job(a.tests[t])
                        .filter(|j| !matches!(j.verdict, Verdict::Skip | Verdict::NotRun))
                        .and_then(JobRun::secs)
                })
                .collect();
            let latest = series.last().copied().flatten();
            let mut before: Vec<f64> = series[..series.len().saturating_sub(1)]
                .iter()
                .flatten()
                .copied()
                .collect();
            let median_before = (before.len() >= MEDIAN_FROM)
                .then(|| median(&mut before))
                .flatten();
            let moved = latest
                .zip(median_before)
                .and_then(|(l, m)| moved(l, m, a.settings));
            DurationTrend {
                test: a.tests[t],
                series,
                median_before,
                latest,
                moved,
            }
        })
        .collect();
    out.sort_by(|x, y| match (x.moved, y.moved) {
        (Some(mx), Some(my)) => my.abs().total_cmp(&mx.abs()).then(x.test.cmp(y.test)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => x.test.cmp(y.test),
    });
    out
}

/// How a test's verdict changed between a base run and a new one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Change {
    /// It fails in the new run, did not in the base, and is not known to flake.
    NewFailure,
    /// It passes in the new run only on a retry, and is not known to flake.
    NewFlake,
    /// It fails or flakes in the new run, and the history knows it flakes.
    KnownFlake,
    /// It failed in the base run and passes in the new one.
    Fixed,
    /// Any other change (a skip, an expected failure, another kind of failure).
    Other,
    /// Only one of the runs has it.
    Missing,
}

impl Change {
    pub fn title(self) -> &'static str {
        match self {
            Change::NewFailure => "New failures",
            Change::NewFlake => "Newly flaky",
            Change::KnownFlake => "Known flakes (flaky in the history)",
            Change::Fixed => "Fixed",
            Change::Other => "Other changes",
            Change::Missing => "In one run only",
        }
    }
}

/// One test whose verdict differs between the two runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Changed<'a> {
    pub test: &'a str,
    pub change: Change,
    pub base: Cell,
    pub new: Cell,
    /// The job in the new run (else the base's).
    pub job: &'a JobRun,
}

/// The tests whose verdict differs between `base` and `new`, by kind of
/// change then name; `flaky` names the tests the history knows flake.
pub fn compare<'a>(base: &'a Run, new: &'a Run, flaky: &BTreeSet<&str>) -> Vec<Changed<'a>> {
    let names: BTreeSet<&str> = base
        .jobs
        .iter()
        .chain(&new.jobs)
        .map(|j| j.key.as_str())
        .collect();
    let mut out = Vec::new();
    for test in names {
        let (b, n) = (base.job(test), new.job(test));
        let (bc, nc) = (Cell::of(b), Cell::of(n));
        if bc == nc {
            continue;
        }
        let known = flaky.contains(test);
        let change = if b.is_none() || n.is_none() {
            Change::Missing
        } else if (nc.is_failure() || nc == Cell::Flaky) && !bc.is_failure() && known {
            Change::KnownFlake
        } else if nc.is_failure() && !bc.is_failure() {
            Change::NewFailure
        } else if nc == Cell::Flaky && bc == Cell::Pass {
            Change::NewFlake
        } else if bc.is_failure() && nc.is_pass() {
            Change::Fixed
        } else {
            Change::Other
        };
        let Some(job) = n.or(b) else { continue };
        out.push(Changed {
            test: job.key.as_str(),
            change,
            base: bc,
            new: nc,
            job,
        });
    }
    out.sort_by(|x, y| x.change.cmp(&y.change).then(x.test.cmp(y.test)));
    out
}
