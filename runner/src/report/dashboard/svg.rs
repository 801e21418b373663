//! The dashboard's charts, as inline SVG drawn here: a line of the runs'
//! wall times and one small line (a sparkline) per test. Plain polylines and
//! marks, a few hundred bytes each, with a `<title>` a browser shows on
//! hover; a point that moved past the threshold is a diamond, not only a
//! colour.

use maud::{html, Markup};
use std::fmt::Write;

/// One point of the wall-time chart.
pub struct WallPoint<'a> {
    pub secs: f64,
    /// What its `<title>` says.
    pub label: String,
    /// Where it links (the run's details), when it has details.
    pub href: Option<String>,
    pub moved: bool,
    pub date: &'a str,
}

const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 180.0;
const LEFT: f64 = 48.0;
const BOTTOM: f64 = 22.0;
const TOP: f64 = 8.0;

/// `x` rounded to one decimal, for coordinates that print the same every time.
fn c(x: f64) -> String {
    format!("{:.1}", if x.is_finite() { x } else { 0.0 })
}

/// The runs' wall times, oldest left.
pub fn wall_chart(points: &[WallPoint<'_>]) -> Markup {
    let max = points
        .iter()
        .map(|p| p.secs)
        .fold(0.0_f64, f64::max)
        .max(1.0);
    let n = points.len().max(2) - 1;
    let x = |i: usize| LEFT + (WIDTH - LEFT - 8.0) * i as f64 / n as f64;
    let y = |s: f64| TOP + (HEIGHT - TOP - BOTTOM) * (1.0 - s / max);
    let mut line = String::new();
    for (i, p) in points.iter().enumerate() {
        let _ = write!(line, "{},{} ", c(x(i)), c(y(p.secs)));
    }
    let first = points.first().map_or("", |p| p.date);
    let last = points.last().map_or("", |p| p.date);
    html! {
        svg.chart xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {WIDTH} {HEIGHT}"))
            role="img" aria-label="Wall time of each run, in seconds" {
            line x1=(LEFT) y1=(c(y(0.0))) x2=(WIDTH) y2=(c(y(0.0))) stroke="#888" {}
            line x1=(LEFT) y1=(TOP) x2=(LEFT) y2=(c(y(0.0))) stroke="#888" {}
            text x=(LEFT - 4.0) y=(TOP + 10.0) text-anchor="end" { (format!("{max:.0} s")) }
            text x=(LEFT - 4.0) y=(c(y(0.0))) text-anchor="end" { "0" }
            text x=(LEFT) y=(HEIGHT - 4.0) { (first) }
            text x=(WIDTH) y=(HEIGHT - 4.0) text-anchor="end" { (last) }
            polyline points=(line.trim_end()) fill="none" stroke="#0072B2" stroke-width="1.5" {}
            @for (i, p) in points.iter().enumerate() {
                @let (px, py) = (x(i), y(p.secs));
                @let mark = if p.moved {
                    html! { path.moved d=(format!("M{} {}l5 5l-5 5l-5-5z", c(px), c(py - 5.0))) { title { (p.label) } } }
                } else {
                    html! { circle cx=(c(px)) cy=(c(py)) r="2.5" fill="#0072B2" { title { (p.label) } } }
                };
                @match &p.href {
                    Some(href) => a href=(href) { (mark) },
                    None => (mark),
                }
            }
        }
    }
}

/// A test's seconds over the window, scaled to its own largest; breaks where
/// it did not run; the last point a dot, a diamond when it moved.
pub fn sparkline(series: &[Option<f64>], moved: bool, label: &str) -> Markup {
    const W: f64 = 120.0;
    const H: f64 = 22.0;
    let max = series.iter().flatten().fold(0.0_f64, |m, &v| m.max(v));
    let max = if max > 0.0 { max } else { 1.0 };
    let n = series.len().max(2) - 1;
    let x = |i: usize| 2.0 + (W - 4.0) * i as f64 / n as f64;
    let y = |s: f64| 2.0 + (H - 4.0) * (1.0 - s / max);
    let mut segments: Vec<String> = Vec::new();
    let mut current = String::new();
    for (i, v) in series.iter().enumerate() {
        match v {
            Some(s) => {
                let _ = write!(current, "{},{} ", c(x(i)), c(y(*s)));
            }
            None if !current.is_empty() => segments.push(std::mem::take(&mut current)),
            None => {}
        }
    }
    if !current.is_empty() {
        segments.push(current);
    }
    let last = series
        .iter()
        .enumerate()
        .rev()
        .find_map(|(i, v)| v.map(|s| (x(i), y(s))));
    html! {
        svg.spark xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {W} {H}")) width=(W) height=(H)
            role="img" aria-label=(label) {
            title { (label) }
            @for seg in &segments {
                polyline points=(seg.trim_end()) fill="none" stroke="#0072B2" {}
            }
            @if let Some((px, py)) = last {
                @if moved {
                    path.moved d=(format!("M{} {}l4 4l-4 4l-4-4z", c(px), c(py - 4.0))) {}
                } @else {
                    circle cx=(c(px)) cy=(c(py)) r="2" fill="#0072B2" {}
                }
            }
        }
    }
}
