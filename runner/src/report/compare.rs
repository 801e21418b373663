//! `netdrill report --compare BASE.json NEW.json [--history DIR]`: the
//! question netdev CI asks of a patch. Which tests changed verdict between a
//! baseline run (the base kernel) and a new run (the patched kernel)? A test
//! that fails in the new run and flaked in the history's window is a known
//! flake, told apart from a new failure. Markdown that reads as plain text.

use super::digest::run_name;
use crate::history::analysis::{Change, Changed};
use crate::history::run::Run;
use std::fmt::Write;

/// What the comparison knows of the history, when it was given one.
#[derive(Clone, Debug, PartialEq)]
pub struct HistoryContext {
    /// Runs the flakes were counted over.
    pub runs: usize,
    /// Tests that flaked in them, with how often: `(test, flakes, runs)`.
    pub flaky: Vec<(String, usize, usize)>,
}

/// The comparison's text.
pub fn render(
    base: &Run,
    new: &Run,
    changes: &[Changed<'_>],
    history: Option<&HistoryContext>,
) -> String {
    let mut out = String::new();
    let new_failures = changes
        .iter()
        .filter(|c| c.change == Change::NewFailure)
        .count();
    let _ = writeln!(
        out,
        "# netdrill compare: {} changed, {} new {}\n",
        changes.len(),
        new_failures,
        if new_failures == 1 {
            "failure"
        } else {
            "failures"
        }
    );
    let _ = writeln!(out, "- base: {}", run_name(base));
    let _ = writeln!(out, "- new:  {}", run_name(new));
    match history {
        Some(h) => {
            let _ = writeln!(
                out,
                "- history: {} runs, {} tests flaked in them",
                h.runs,
                h.flaky.len()
            );
        }
        None => {
            let _ = writeln!(
                out,
                "- history: none given (--history DIR tells known flakes from new failures)"
            );
        }
    }
    let mut kinds: Vec<Change> = changes.iter().map(|c| c.change).collect();
    kinds.dedup();
    for kind in kinds {
        let of_kind: Vec<&Changed<'_>> = changes.iter().filter(|c| c.change == kind).collect();
        let _ = writeln!(out, "\n## {} ({})\n", kind.title(), of_kind.len());
        for c in of_kind {
            change_line(&mut out, c, history);
        }
    }
    let unchanged = base
        .jobs
        .iter()
        .filter(|j| !changes.iter().any(|c| c.test == j.key))
        .count();
    let _ = writeln!(out, "\nUnchanged: {unchanged} tests.");
    out
}

fn change_line(out: &mut String, c: &Changed<'_>, history: Option<&HistoryContext>) {
    let _ = write!(out, "- `{}`: {} -> {}", c.test, c.base.word(), c.new.word());
    if let Some((_, flakes, runs)) = history.and_then(|h| h.flaky.iter().find(|f| f.0 == c.test)) {
        let _ = write!(out, " (flaked in {flakes} of {runs} runs)");
    }
    out.push('\n');
    if !(c.new.is_failure() || c.new == crate::history::analysis::Cell::Flaky) {
        return;
    }
    if let Some(attempt) = c.job.first_failure() {
        let head = attempt.headline();
        if !head.is_empty() {
            let _ = writeln!(out, "  {head}");
        }
        if let Some(eva) = attempt.expected_vs_actual() {
            let _ = writeln!(out, "  {eva}");
        }
        if let Some(dir) = &attempt.artifacts {
            let _ = writeln!(out, "  artifacts: {}", dir.display());
        }
    }
}
