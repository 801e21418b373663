//! `netdrill report HISTORY_DIR --html OUT.html`: the history as one
//! self-contained static page that works from `file://` and any static host
//! (no server, no CDN, nothing fetched): the latest run, regressions and since
//! when, fixes, flakes, a matrix of every test in the last runs, durations,
//! every run, and the details of each run in the window that the matrix's
//! cells link to.
//!
//! The page is built with `maud`: its templates are Rust code, checked by the
//! compiler with the data they show, they escape what they print, and they
//! write straight into one string (365 runs of a 314-job suite render in a
//! fraction of a second; there are no template files to find at run time).
//! The charts are inline SVG drawn here ([`svg`]): a polyline and a few marks
//! each, far smaller than a plotting library's output, and as deterministic
//! as the rest. The same records give the same page, byte for byte: nothing
//! in it depends on the clock or on the order files were listed in.
//!
//! Every table is plain HTML, so the page reads in full without JavaScript;
//! a small script ([`FILTER_JS`]) only adds the filter by test name, result
//! and kernel. Results carry a mark as well as a colour (Okabe-Ito's palette,
//! told apart by colour-blind readers).

pub mod svg;

use crate::history::analysis::{Analysis, Cell};
use crate::history::read::Note;
use crate::history::run::{utc_minute, AttemptRun, JobRun, Run};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

/// The page's style sheet, inlined.
pub const STYLE_CSS: &str = include_str!("style.css");
/// The page's only script: the filter.
pub const FILTER_JS: &str = include_str!("filter.js");

/// Where the page goes, for links to artifacts.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PageOptions {
    /// The folder the page is written to (absolute): links to artifact
    /// folders are relative to it, so the tree can move to a static host.
    /// Without it they are `file://` URLs.
    pub page_dir: Option<PathBuf>,
}

/// The page.
pub fn render(a: &Analysis<'_>, notes: &[Note], opts: &PageOptions) -> String {
    let page = Page::new(a, opts);
    let title = match a.latest() {
        Some(latest) => format!(
            "netdrill: {} — {}, kernel {}",
            plural(a.regressions.len(), "regression", "regressions"),
            utc_minute(latest.start_unix),
            latest.kernel_release
        ),
        None => "netdrill: no runs".to_string(),
    };
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(STYLE_CSS)) }
            }
            body {
                header {
                    h1 { (title) }
                    nav {
                        a href="#latest" { "Latest run" }
                        a href="#regressions" { "Regressions" }
                        a href="#fixed" { "Fixed" }
                        a href="#flaky" { "Flaky" }
                        a href="#matrix" { "Matrix" }
                        a href="#durations" { "Durations" }
                        a href="#runs" { "Runs" }
                        a href="#details" { "Run details" }
                        @if !notes.is_empty() { a href="#notes" { "Notes" } }
                    }
                }
                (page.filter_form())
                @if a.runs.is_empty() {
                    p.empty #latest { "The history holds no run record that can be read." }
                } @else {
                    (page.latest())
                    (page.regressions())
                    (page.fixed())
                    (page.flaky())
                    (page.matrix())
                    (page.durations())
                    (page.runs())
                    (page.details())
                }
                (notes_section(notes))
                script { (PreEscaped(FILTER_JS)) }
            }
        }
    };
    markup.into_string()
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// An HTML id made of a name: letters, digits, `_` and `-`.
fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// The analysis, and what the sections share: each run's id.
struct Page<'p, 'a> {
    a: &'p Analysis<'a>,
    opts: &'p PageOptions,
    /// `run-<file stem>`, unique.
    ids: Vec<String>,
    kernels: Vec<String>,
}

impl<'p, 'a> Page<'p, 'a> {
    fn new(a: &'p Analysis<'a>, opts: &'p PageOptions) -> Self {
        let mut seen = BTreeSet::new();
        let ids = a
            .runs
            .iter()
            .map(|r| {
                let base = format!("run-{}", slug(r.file.trim_end_matches(".json")));
                let mut id = base.clone();
                let mut n = 2;
                while !seen.insert(id.clone()) {
                    id = format!("{base}-{n}");
                    n += 1;
                }
                id
            })
            .collect();
        let kernels: BTreeSet<String> = a.runs.iter().map(|r| r.kernel_release.clone()).collect();
        Page {
            a,
            opts,
            ids,
            kernels: kernels.into_iter().collect(),
        }
    }

    fn run(&self, i: usize) -> &'a Run {
        &self.a.runs[i]
    }

    /// Where a run is shown in full: its details in the window, else its row
    /// in the list of runs.
    fn run_href(&self, i: usize) -> String {
        if self.a.window.contains(&i) {
            format!("#{}", self.ids[i])
        } else {
            format!("#list-{}", self.ids[i])
        }
    }

    /// A job's row in its run's details (every job that did not pass has one).
    fn job_href(&self, i: usize, job: &JobRun) -> String {
        if self.a.window.contains(&i) && job.verdict != crate::model::Verdict::Pass {
            format!("#{}", self.job_anchor(i, &job.key))
        } else {
            self.run_href(i)
        }
    }

    fn job_anchor(&self, i: usize, test: &str) -> String {
        format!("{}--{}", self.ids[i], slug(test))
    }

    /// A link to a run: its date, and its kernel.
    fn run_link(&self, i: usize) -> Markup {
        let r = self.run(i);
        html! {
            a href=(self.run_href(i)) title=(r.file) { (utc_minute(r.start_unix)) }
            " (" (r.kernel_release) ")"
        }
    }

    fn filter_form(&self) -> Markup {
        html! {
            form #filter hidden {
                label { "Test " input #f-test type="search" placeholder="name contains..."; }
                label { "Result "
                    select #f-result {
                        option value="" { "any" }
                        @for c in Cell::ALL.iter().filter(|c| **c != Cell::Absent) {
                            option value=(c.word()) { (c.word()) }
                        }
                    }
                }
                label { "Kernel "
                    select #f-kernel {
                        option value="" { "any" }
                        @for k in &self.kernels { option value=(k) { (k) } }
                    }
                }
                output #f-count {}
            }
            noscript { p.empty { "Filtering needs JavaScript; every table below is complete without it." } }
        }
    }

    fn latest(&self) -> Markup {
        let last = self.a.runs.len() - 1;
        let r = self.run(last);
        let counts: Vec<(Cell, usize)> = Cell::ALL
            .iter()
            .filter(|&&c| c != Cell::Absent)
            .map(|&c| (c, r.jobs.iter().filter(|j| Cell::of(Some(j)) == c).count()))
            .collect();
        html! {
            section #latest data-run-kernel=(r.kernel_release) {
                h2 { "Latest run" }
                table.facts {
                    tr { th { "Run" } td { a href=(self.run_href(last)) { (r.file) } } }
                    tr { th { "Started" } td { (utc_minute(r.start_unix)) } }
                    tr { th { "Wall time" } td { (format!("{:.1} s", r.wall_secs())) } }
                    tr { th { "Kernel" } td { (r.kernel_release) } }
                    tr { th { "Host" } td { (r.hostname) } }
                    tr { th { "netdrill" } td { (r.netdrill_version) } }
                    @if let Some(rev) = &r.suite_revision { tr { th { "Suite revision" } td { (rev) } } }
                    tr { th { "Tolerance" } td { (format!("{} µs", r.tolerance_usecs)) } }
                    @if let Some(sig) = &r.interrupted { tr { th { "Stopped by" } td { (sig) } } }
                    tr { th { "Previous run" } td {
                        @if last > 0 { (self.run_link(last - 1)) } @else { "none: this is the first" }
                    } }
                }
                table.counts {
                    thead { tr { @for (c, _) in &counts { th class=(format!("c-{}", c.word())) { (c.mark()) " " (c.word()) } } th { "jobs" } } }
                    tbody { tr { @for (_, n) in &counts { td.num { (n) } } td.num { (r.jobs.len()) } } }
                }
            }
        }
    }

    fn regressions(&self) -> Markup {
        let a = self.a;
        html! {
            section #regressions {
                h2 { "Regressions (" (a.regressions.len()) ")" }
                p { "Tests that fail in the latest run and passed before it, newest breakage first. "
                    "The diagnostic and artifacts are those of the first failing run." }
                @if a.regressions.is_empty() {
                    p.empty { "None: every test that passed before still passes." }
                } @else {
                    table #regressions-table {
                        thead { tr { th { "Test" } th { "Now" } th { "Failing since" } th.num { "Runs failing" }
                            th { "Last pass" } th { "Diagnostic" } th { "Artifacts" } } }
                        tbody {
                            @for r in &a.regressions {
                                @let now = Cell::of(Some(r.latest));
                                tr data-test=(r.test) data-results=(now.word()) {
                                    td { code { (r.test) } }
                                    (self.cell(a.runs.len() - 1, r.latest))
                                    td { (self.run_link(r.since)) }
                                    td.num { (r.failing_runs) }
                                    td { (self.run_link(r.last_pass)) }
                                    td { (diagnostic(r.first.first_failure())) }
                                    td { (self.artifacts(r.first.first_failure())) }
                                }
                            }
                        }
                    }
                }
                @if !a.known_failures.is_empty() {
                    p { (plural(a.known_failures.len(), "test fails", "tests fail"))
                        " in the latest run and never passed in the history: known failures, not regressions "
                        "(they are in the matrix)." }
                }
            }
        }
    }

    /// A result cell linking to the job's row in its run's details.
    fn cell(&self, i: usize, job: &JobRun) -> Markup {
        let c = Cell::of(Some(job));
        html! {
            td class=(format!("c-{}", c.word())) {
                a href=(self.job_href(i, job)) { (c.mark()) " " (c.word()) }
            }
        }
    }

    fn fixed(&self) -> Markup {
        let a = self.a;
        html! {
            section #fixed {
                h2 { "Fixed (" (a.fixed.len()) ")" }
                @if a.fixed.is_empty() {
                    p.empty { "None: no test that failed last time passes now." }
                } @else {
                    table #fixed-table {
                        thead { tr { th { "Test" } th { "Now" } th { "Failed since" } th.num { "Runs failed" } } }
                        tbody {
                            @for f in &a.fixed {
                                tr data-test=(f.test) data-results=(Cell::of(Some(f.latest)).word()) {
                                    td { code { (f.test) } }
                                    (self.cell(a.runs.len() - 1, f.latest))
                                    td { (self.run_link(f.failing_since)) }
                                    td.num { (f.failed_runs) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    fn flaky(&self) -> Markup {
        let a = self.a;
        html! {
            section #flaky {
                h2 { "Flaky (" (a.flaky.len()) ", last " (a.window.len()) " runs)" }
                p { "A flake is a run where the test failed and then passed on a retry, or failed alone between two passes. "
                    "Worst first. The closest call is the least margin an attempt left to the edge of its timing tolerance, where the runner recorded it." }
                @if a.flaky.is_empty() {
                    p.empty { "None in the window." }
                } @else {
                    table #flaky-table {
                        thead { tr { th { "Test" } th.num { "Flake rate" } th.num { "Passed on retry" }
                            th.num { "Failed alone" } th.num { "Runs" } th { "Closest call" } } }
                        tbody {
                            @for f in &a.flaky {
                                tr data-test=(f.test) data-results="flaky" {
                                    td { code { (f.test) } }
                                    td.num { (format!("{:.0}%", 100.0 * f.rate())) }
                                    td.num { (f.flaky_verdicts) }
                                    td.num { (f.lone_failures) }
                                    td.num { (f.runs) }
                                    td { @match f.closest {
                                        Some((slack, run)) => { (slack.describe()) ", " (self.run_link(run)) },
                                        None => span.empty { "not recorded" },
                                    } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    fn matrix(&self) -> Markup {
        let a = self.a;
        let window: Vec<usize> = a.window.clone().collect();
        html! {
            section #matrix {
                h2 { "Results: " (a.window_tests.len()) " tests × last " (window.len()) " runs" }
                p.legend {
                    @for c in Cell::ALL {
                        span { b class=(format!("c-{}", c.word())) { (c.mark()) } " " (c.word()) }
                    }
                }
                p { "Each cell links to that run's details; the newest run is on the right." }
                div.scroll {
                    table.matrix #matrix-table {
                        thead { tr {
                            th.test { "Test" }
                            @for &i in &window {
                                @let r = self.run(i);
                                th.run data-kernel=(r.kernel_release) {
                                    a href=(self.run_href(i)) title=(format!("{} {} kernel {}", r.file, utc_minute(r.start_unix), r.kernel_release)) {
                                        (utc_minute(r.start_unix).get(5..16).unwrap_or(""))
                                    }
                                }
                            }
                        } }
                        tbody {
                            @for &t in &a.window_tests {
                                @let row = &a.cells[t];
                                @let words: BTreeSet<&str> = window.iter().map(|&i| row[i].word()).collect();
                                tr data-test=(a.tests[t]) data-results=(words.into_iter().collect::<Vec<_>>().join(" ")) {
                                    th.test { (a.tests[t]) }
                                    @for &i in &window {
                                        @let c = row[i];
                                        @let href = match self.run(i).job(a.tests[t]) {
                                            Some(job) => self.job_href(i, job),
                                            None => self.run_href(i),
                                        };
                                        td class=(format!("c-{}", c.word())) { a href=(href) { (c.mark()) } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    fn durations(&self) -> Markup {
        let a = self.a;
        let dates: Vec<String> = a.runs.iter().map(|r| utc_minute(r.start_unix)).collect();
        let points: Vec<svg::WallPoint<'_>> = a
            .wall
            .iter()
            .map(|w| svg::WallPoint {
                secs: w.secs,
                label: format!(
                    "{}: {:.1} s{}",
                    dates[w.run],
                    w.secs,
                    w.moved
                        .map(|m| format!(" ({})", change(m)))
                        .unwrap_or_default()
                ),
                href: Some(self.run_href(w.run)),
                moved: w.moved.is_some(),
                date: &dates[w.run],
            })
            .collect();
        let moved_runs: Vec<_> = a.wall.iter().filter(|w| w.moved.is_some()).collect();
        let moved_tests = a.durations.iter().filter(|d| d.moved.is_some()).count();
        let s = a.settings;
        html! {
            section #durations {
                h2 { "Durations" }
                p { "A duration moved when it differs from the median of the runs before it (in the last "
                    (s.window) ") by more than " (format!("{:.0}%", 100.0 * s.duration_threshold))
                    " and " (format!("{:.2}", s.duration_floor_secs)) " s; moved points are diamonds." }
                h3 { "Wall time of each run" }
                (svg::wall_chart(&points))
                @if !moved_runs.is_empty() {
                    p { "Runs whose wall time moved: "
                        @for (n, w) in moved_runs.iter().enumerate() {
                            @if n > 0 { ", " }
                            (self.run_link(w.run)) " " (format!("{:.1} s, {}", w.secs, change(w.moved.unwrap_or(0.0))))
                        }
                    }
                }
                h3 { "Each test, last " (a.window.len()) " runs (" (moved_tests) " moved)" }
                table #durations-table {
                    thead { tr { th { "Test" } th.num { "Median before" } th.num { "Latest" } th { "Change" } th { "Over the window" } } }
                    tbody {
                        @for d in &a.durations {
                            tr.moved[d.moved.is_some()] data-test=(d.test) data-results=(if d.moved.is_some() { "moved" } else { "" }) {
                                td { code { (d.test) } }
                                td.num { (secs(d.median_before)) }
                                td.num { (secs(d.latest)) }
                                td { @if let Some(m) = d.moved { span class=(if m > 0.0 { "up" } else { "down" }) { (change(m)) } } }
                                td { (svg::sparkline(&d.series, d.moved.is_some(), &format!("{}: seconds over the last {} runs", d.test, d.series.len()))) }
                            }
                        }
                    }
                }
            }
        }
    }

    fn runs(&self) -> Markup {
        let a = self.a;
        html! {
            section #runs {
                h2 { "Runs (" (a.runs.len()) ", newest first)" }
                table #runs-table {
                    thead { tr { th { "Started" } th { "Record" } th { "Kernel" } th { "Host" } th { "Suite" }
                        th.num.c-pass { "P pass" } th.num.c-fail { "F fail" } th.num.c-flaky { "~ flaky" } th.num.c-skip { "S skip" }
                        th.num { "other" } th.num { "wall s" } } }
                    tbody {
                        @for i in (0..a.runs.len()).rev() {
                            @let r = self.run(i);
                            @let (p, f, k, s) = (r.count(crate::model::Verdict::Pass), r.count(crate::model::Verdict::Fail),
                                r.count(crate::model::Verdict::Flaky), r.count(crate::model::Verdict::Skip));
                            tr id=(format!("list-{}", self.ids[i])) data-run-kernel=(r.kernel_release) {
                                td { a href=(self.run_href(i)) { (utc_minute(r.start_unix)) } }
                                td { (r.file) }
                                td { (r.kernel_release) }
                                td { (r.hostname) }
                                td { (r.suite_revision.as_deref().unwrap_or("")) }
                                td.num { (p) } td.num { (f) } td.num { (k) } td.num { (s) }
                                td.num { (r.jobs.len() - p - f - k - s) }
                                td.num { (format!("{:.1}", r.wall_secs())) (if r.interrupted.is_some() { " (stopped)" } else { "" }) }
                            }
                        }
                    }
                }
            }
        }
    }

    fn details(&self) -> Markup {
        html! {
            section #details {
                h2 { "Run details (last " (self.a.window.len()) " runs, newest first)" }
                @for i in self.a.window.clone().rev() { (self.run_details(i)) }
            }
        }
    }

    fn run_details(&self, i: usize) -> Markup {
        let r = self.run(i);
        let not_passed: Vec<&JobRun> = r
            .jobs
            .iter()
            .filter(|j| {
                !matches!(
                    j.verdict,
                    crate::model::Verdict::Pass | crate::model::Verdict::Skip
                )
            })
            .collect();
        let skipped: Vec<&JobRun> = r
            .jobs
            .iter()
            .filter(|j| j.verdict == crate::model::Verdict::Skip)
            .collect();
        html! {
            section id=(self.ids[i]) data-run-kernel=(r.kernel_release) {
                h3 { (utc_minute(r.start_unix)) ": " (r.file) }
                p { "Kernel " (r.kernel_release) " on " (r.hostname)
                    @if let Some(rev) = &r.suite_revision { ", suite " (rev) }
                    "; " (r.jobs.len()) " jobs, " (r.count(crate::model::Verdict::Pass)) " passed, in "
                    (format!("{:.1} s", r.wall_secs()))
                    @if let Some(sig) = &r.interrupted { "; stopped by " (sig) }
                    @if i > 0 { ". Previous: " (self.run_link(i - 1)) }
                    @if i + 1 < self.a.runs.len() { ". Next: " (self.run_link(i + 1)) }
                    "." }
                @if not_passed.is_empty() {
                    p.empty { "Every job that ran passed." }
                } @else {
                    table.jobs {
                        thead { tr { th { "Test" } th { "Result" } th.num { "Attempts" } th { "Diagnostic" } th { "Artifacts" } } }
                        tbody {
                            @for j in &not_passed {
                                @let c = Cell::of(Some(j));
                                tr id=(self.job_anchor(i, &j.key)) data-test=(j.key) data-results=(c.word()) {
                                    td { code { (j.key) } }
                                    td class=(format!("c-{}", c.word())) { (c.mark()) " " (c.word()) }
                                    td.num { (j.attempts.len()) }
                                    td {
                                        (diagnostic(j.first_failure()))
                                        @if let Some(slack) = j.tightest_slack() { div { "closest call: " (slack.describe()) } }
                                        @if let Some(why) = &j.xfail_reason { div { "expected to fail: " (why) } }
                                        @if !j.replay_command.is_empty() && c != Cell::NotRun { div { "replay: " code { (j.replay_command) } } }
                                    }
                                    td { (self.artifacts(j.first_failure())) }
                                }
                            }
                        }
                    }
                }
                @if !skipped.is_empty() {
                    details {
                        summary { (skipped.len()) " skipped" }
                        ul {
                            @for j in &skipped {
                                li id=(self.job_anchor(i, &j.key)) { code { (j.key) } ": "
                                    (j.skip_reason.as_deref().or(j.last_attempt().and_then(|a| a.unsupported.as_deref())).unwrap_or("no reason given")) }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Links to an attempt's artifacts: its log, pcap, replay script, and the
    /// packets side by side when it had a mismatch.
    fn artifacts(&self, attempt: Option<&AttemptRun>) -> Markup {
        let Some((attempt, dir)) = attempt.and_then(|a| a.artifacts.as_deref().map(|d| (a, d)))
        else {
            return html! { span.empty { "none" } };
        };
        let mut files = vec![
            ("log", "log.txt"),
            ("pcap", "packets.pcap"),
            ("replay", "replay.sh"),
        ];
        if attempt.mismatch.is_some() {
            files.push(("expected vs actual", "expected-vs-actual.txt"));
        }
        html! {
            @for (n, (what, file)) in files.iter().enumerate() {
                @if n > 0 { " · " }
                a href=(self.href_to(&dir.join(file))) { (what) }
            }
        }
    }

    /// A link to a file: relative to the page's folder when both are known
    /// absolute paths, else a `file://` URL (or the relative path as recorded).
    fn href_to(&self, target: &Path) -> String {
        match &self.opts.page_dir {
            Some(base) if target.is_absolute() && base.is_absolute() => relative_href(base, target),
            _ if target.is_absolute() => format!("file://{}", encode_path(target)),
            _ => encode_path(target),
        }
    }
}

/// `+62%` or `-40%`.
fn change(m: f64) -> String {
    if m.is_infinite() {
        "from 0 s".to_string()
    } else {
        format!("{:+.0}%", 100.0 * m)
    }
}

fn secs(v: Option<f64>) -> String {
    v.map(|s| format!("{s:.2} s")).unwrap_or_default()
}

/// An attempt's diagnostic: the line and kind, the message's first line, and
/// expected vs actual from its typed mismatch.
fn diagnostic(attempt: Option<&AttemptRun>) -> Markup {
    let Some(at) = attempt else {
        return html! {};
    };
    html! {
        div.diag {
            @if let Some(kind) = &at.kind { b { (kind) } }
            @if let Some(line) = at.line { " at line " (line) }
            @if at.kind.is_some() || at.line.is_some() { ": " }
            code { (at.headline()) }
            @if let Some(m) = &at.mismatch {
                br;
                "expected " code { (m.expected) } ", actual " code { (m.actual) } " (" (m.field) ")"
            }
            @if let Some(why) = &at.unsupported { br; "skipped: " (why) }
        }
    }
}

fn notes_section(notes: &[Note]) -> Markup {
    if notes.is_empty() {
        return html! {};
    }
    let by_file: BTreeMap<&str, Vec<&Note>> = notes.iter().fold(BTreeMap::new(), |mut m, n| {
        m.entry(n.file.as_str()).or_insert_with(Vec::new).push(n);
        m
    });
    html! {
        section #notes {
            h2 { "Notes on the records (" (notes.iter().filter(|n| n.skipped).count()) " left out)" }
            ul {
                @for (file, notes) in &by_file {
                    @for n in notes {
                        li { code { (file) } ": " @if n.skipped { b { "left out: " } } (n.message) }
                    }
                }
            }
        }
    }
}

/// A path as a URL path: each component percent-encoded.
fn encode_path(path: &Path) -> String {
    let mut out = String::new();
    for (n, comp) in path.components().enumerate() {
        match comp {
            Component::RootDir => out.push('/'),
            other => {
                if n > 0 && !out.ends_with('/') {
                    out.push('/');
                }
                for b in other.as_os_str().to_string_lossy().bytes() {
                    if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                        out.push(b as char);
                    } else {
                        out.push_str(&format!("%{b:02X}"));
                    }
                }
            }
        }
    }
    out
}

/// The relative URL from folder `base` to `target` (both absolute).
fn relative_href(base: &Path, target: &Path) -> String {
    let b: Vec<Component<'_>> = base.components().collect();
    let t: Vec<Component<'_>> = target.components().collect();
    let common = b.iter().zip(&t).take_while(|(x, y)| x == y).count();
    let mut rel = PathBuf::new();
    for _ in common..b.len() {
        rel.push("..");
    }
    for c in &t[common..] {
        rel.push(c.as_os_str());
    }
    encode_path(&rel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_to_artifacts_are_relative_to_the_page() {
        assert_eq!(
            relative_href(
                Path::new("/srv/nightly"),
                Path::new("/srv/nightly/2026-12-01/artifacts/p/a b.pkt/ipv4/attempt-1/log.txt")
            ),
            "2026-12-01/artifacts/p/a%20b.pkt/ipv4/attempt-1/log.txt"
        );
        assert_eq!(
            relative_href(
                Path::new("/srv/www/dash"),
                Path::new("/srv/nightly/x/log.txt")
            ),
            "../../nightly/x/log.txt"
        );
        assert_eq!(encode_path(Path::new("/a/b c")), "/a/b%20c");
    }

    #[test]
    fn ids_are_plain() {
        assert_eq!(
            slug("packetdrill/tcp_a.pkt ipv4"),
            "packetdrill-tcp_a-pkt-ipv4"
        );
    }
}
