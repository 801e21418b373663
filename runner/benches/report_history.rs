//! `netdrill report`'s acceptance figures: a history of 365 nightly records
//! of the kernel suite (314 jobs each), generated from a real run record
//! with varied verdicts (`tests/history_gen`), turned into the dashboard page.
//! Prints the time to read the records, analyse them and render the page
//! (the median of five rounds, and the whole `netdrill report --html` command
//! once), the page's size, and whether the targets hold: under 2 s and under
//! 5 MB. Exit status 1 when one does not.
//!
//! `cargo bench -p netdrill --bench report_history` (`NETDRILL_BENCH_RUNS`
//! changes the number of records; `NETDRILL_BENCH_PAGE=FILE` keeps a copy of
//! the page).

#[path = "../tests/history_gen/mod.rs"]
mod history_gen;

use netdrill::history::analysis::{self, Settings};
use netdrill::history::read;
use netdrill::report::{dashboard, digest};
use std::time::{Duration, Instant};

const TARGET_SECS: f64 = 2.0;
const TARGET_BYTES: usize = 5 * 1024 * 1024;
const ROUNDS: usize = 5;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let runs: usize = std::env::var("NETDRILL_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(365);
    let dir = tempfile::tempdir().expect("a temporary folder");
    let t = Instant::now();
    let planted = history_gen::generate(dir.path(), runs, 2026);
    let bytes: u64 = planted
        .files
        .iter()
        .map(|f| std::fs::metadata(f).map_or(0, |m| m.len()))
        .sum();
    println!(
        "history: {runs} records x {} jobs, {:.0} MB of JSON (generated in {:.1} s)",
        planted.tests,
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let page_dir = dir.path().join("out");
    let opts = dashboard::PageOptions {
        page_dir: Some(page_dir.clone()),
    };
    let (mut load, mut analyse, mut render, mut total) = (vec![], vec![], vec![], vec![]);
    let mut page = String::new();
    let mut summary = String::new();
    let mut regressions = 0;
    for _ in 0..ROUNDS {
        let t0 = Instant::now();
        let history = read::load_dir(dir.path()).expect("the history folder");
        let t1 = Instant::now();
        let a = analysis::analyse(&history.runs, Settings::default());
        let t2 = Instant::now();
        page = dashboard::render(&a, &history.notes, &opts);
        summary = digest::render(&a, &history.notes);
        let t3 = Instant::now();
        regressions = a.regressions.len();
        load.push(t1 - t0);
        analyse.push(t2 - t1);
        render.push(t3 - t2);
        total.push(t3 - t0);
    }
    let secs = |d: Duration| d.as_secs_f64();
    println!(
        "read {:.3} s, analyse {:.3} s, render page and digest {:.3} s: {:.3} s in all (median of {ROUNDS})",
        secs(median(load)),
        secs(median(analyse)),
        secs(median(render)),
        secs(median(total.clone()))
    );
    // The whole command, as the nightly job runs it.
    std::fs::create_dir_all(&page_dir).unwrap();
    let out = page_dir.join("index.html");
    let t = Instant::now();
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_netdrill"))
        .arg("report")
        .arg(dir.path())
        .arg("--html")
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("netdrill runs");
    let command = t.elapsed().as_secs_f64();
    let written = std::fs::read(&out).map(|b| b.len()).unwrap_or(0);
    println!(
        "netdrill report --html: {command:.3} s (exit status {}), page {:.2} MB",
        status.code().unwrap_or(-1),
        written as f64 / 1e6
    );
    println!(
        "page: {:.2} MB ({} bytes), digest {} bytes, {regressions} regressions (planted {})",
        page.len() as f64 / 1e6,
        page.len(),
        summary.len(),
        planted.regressions.len()
    );
    if let Some(keep) = std::env::var_os("NETDRILL_BENCH_PAGE") {
        std::fs::write(&keep, &page).expect("NETDRILL_BENCH_PAGE is writable");
    }
    let worst = secs(median(total)).max(command);
    let time_ok = worst < TARGET_SECS;
    let size_ok = page.len() < TARGET_BYTES && written < TARGET_BYTES;
    println!(
        "targets: render under {TARGET_SECS} s: {} ({worst:.3} s); page under 5 MB: {}",
        if time_ok { "met" } else { "NOT met" },
        if size_ok { "met" } else { "NOT met" }
    );
    if !(time_ok && size_ok) {
        std::process::exit(1);
    }
}
