//! `netdrill report HISTORY_DIR --summary`: the history's news as Markdown
//! that reads as plain text too, for mail and chat: regressions first (since
//! when, the diagnostic, where the artifacts are), then fixes, then flakes
//! over the window, then the latest run's counts, then the files left out.

use crate::history::analysis::{Analysis, Cell};
use crate::history::read::Note;
use crate::history::run::{utc_minute, JobRun, Run};
use std::fmt::Write;

/// The digest of an analysed history (`notes`: the files left out or read in part).
pub fn render(a: &Analysis<'_>, notes: &[Note]) -> String {
    let mut out = String::new();
    let Some(latest) = a.latest() else {
        out.push_str("# netdrill: no runs\n\nThe history holds no run record that can be read.\n");
        notes_section(&mut out, notes);
        return out;
    };
    let headline = match a.regressions.len() {
        0 => "no regressions".to_string(),
        1 => "1 regression".to_string(),
        n => format!("{n} regressions"),
    };
    let _ = writeln!(out, "# netdrill: {headline}\n");
    let _ = writeln!(out, "Latest run: {}.", describe_run(latest));
    if a.runs.len() > 1 {
        let _ = writeln!(
            out,
            "History: {} runs since {}; flakes and durations over the last {}.",
            a.runs.len(),
            utc_minute(a.runs[0].start_unix),
            a.window.len()
        );
    }
    regressions(&mut out, a);
    fixed(&mut out, a);
    flaky(&mut out, a);
    counts(&mut out, a, latest);
    notes_section(&mut out, notes);
    out
}

/// `20261201T030000Z-ci-7.json (2026-12-01 03:00 UTC, kernel 6.18.0 on ci-7)`.
pub fn run_name(run: &Run) -> String {
    format!(
        "{} ({}, kernel {})",
        run.file,
        utc_minute(run.start_unix),
        or_unknown(&run.kernel_release)
    )
}

fn or_unknown(s: &str) -> &str {
    if s.is_empty() {
        "unknown"
    } else {
        s
    }
}

/// One line on a run: where, when, what, how long.
pub fn describe_run(run: &Run) -> String {
    let mut s = format!(
        "{}, {}, kernel {} on {}",
        run.file,
        utc_minute(run.start_unix),
        or_unknown(&run.kernel_release),
        or_unknown(&run.hostname)
    );
    if let Some(rev) = &run.suite_revision {
        let _ = write!(s, ", suite {rev}");
    }
    let _ = write!(s, "; {} jobs in {:.1} s", run.jobs.len(), run.wall_secs());
    if let Some(sig) = &run.interrupted {
        let _ = write!(s, " (stopped by {sig})");
    }
    s
}

/// The diagnostic of a job's first failed attempt, indented under its bullet.
fn diagnostic(out: &mut String, job: &JobRun) {
    let Some(attempt) = job.first_failure() else {
        return;
    };
    let head = attempt.headline();
    if !head.is_empty() {
        let _ = writeln!(out, "  {head}");
    }
    if let Some(eva) = attempt.expected_vs_actual() {
        let _ = writeln!(out, "  {eva}");
    }
    if let Some(why) = &attempt.unsupported {
        let _ = writeln!(out, "  (a skip: {why})");
    }
    if let Some(dir) = &attempt.artifacts {
        let _ = writeln!(
            out,
            "  artifacts: {} (log.txt, packets.pcap, replay.sh)",
            dir.display()
        );
    }
}

fn regressions(out: &mut String, a: &Analysis<'_>) {
    if a.regressions.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n## Regressions ({})\n", a.regressions.len());
    for r in &a.regressions {
        let since = &a.runs[r.since];
        let runs = match r.failing_runs {
            1 => "1 run".to_string(),
            n => format!("{n} runs"),
        };
        let _ = writeln!(
            out,
            "- `{}`: {} since {}, {runs}; last passed {}",
            r.test,
            Cell::of(Some(r.latest)).word(),
            run_name(since),
            utc_minute(a.runs[r.last_pass].start_unix)
        );
        diagnostic(out, r.first);
    }
}

fn fixed(out: &mut String, a: &Analysis<'_>) {
    if a.fixed.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n## Fixed ({})\n", a.fixed.len());
    for f in &a.fixed {
        let _ = writeln!(
            out,
            "- `{}`: {} again; it failed {} runs since {}",
            f.test,
            Cell::of(Some(f.latest)).word(),
            f.failed_runs,
            run_name(&a.runs[f.failing_since])
        );
    }
}

fn flaky(out: &mut String, a: &Analysis<'_>) {
    if a.flaky.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n## Flaky ({} over the last {} runs, worst first)\n",
        a.flaky.len(),
        a.window.len()
    );
    for f in &a.flaky {
        let mut how = Vec::new();
        if f.flaky_verdicts > 0 {
            how.push(format!("{} passed on a retry", f.flaky_verdicts));
        }
        if f.lone_failures > 0 {
            how.push(format!("{} failed alone between passes", f.lone_failures));
        }
        let _ = write!(
            out,
            "- `{}`: {} of {} runs ({:.0}%): {}",
            f.test,
            f.events(),
            f.runs,
            100.0 * f.rate(),
            how.join(", ")
        );
        if let Some((slack, _)) = f.closest {
            let _ = write!(out, "; closest call {}", slack.describe());
        }
        out.push('\n');
    }
}

fn counts(out: &mut String, a: &Analysis<'_>, latest: &Run) {
    let _ = writeln!(out, "\n## Counts (latest run)\n");
    let cells: Vec<(Cell, usize)> = Cell::ALL
        .iter()
        .filter(|&&c| c != Cell::Absent)
        .map(|&c| {
            (
                c,
                latest
                    .jobs
                    .iter()
                    .filter(|j| Cell::of(Some(j)) == c)
                    .count(),
            )
        })
        .collect();
    let _ = writeln!(
        out,
        "| {} | total |",
        cells
            .iter()
            .map(|(c, _)| c.word())
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(out, "|{}---|", "---|".repeat(cells.len()));
    let _ = writeln!(
        out,
        "| {} | {} |",
        cells
            .iter()
            .map(|(_, n)| n.to_string())
            .collect::<Vec<_>>()
            .join(" | "),
        latest.jobs.len()
    );
    if !a.known_failures.is_empty() {
        let _ = writeln!(
            out,
            "\n{} tests fail and never passed in the history (known failures, not regressions).",
            a.known_failures.len()
        );
    }
}

fn notes_section(out: &mut String, notes: &[Note]) {
    if notes.is_empty() {
        return;
    }
    let skipped = notes.iter().filter(|n| n.skipped).count();
    let _ = writeln!(
        out,
        "\n## Notes ({} files left out, {} other notes)\n",
        skipped,
        notes.len() - skipped
    );
    for n in notes {
        let _ = writeln!(out, "- {n}");
    }
}
