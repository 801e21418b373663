//! Parse time of the whole shared corpus: `cargo bench -p netdrill-engine --bench parse`.
//!
//! The corpus is found at `$NETDRILL_CORPUS`, else `shared/corpus` beside the
//! repository (or beside the folder holding a worktree).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use netdrill_engine::script::{parse, print};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn corpus() -> Vec<(PathBuf, Vec<u8>)> {
    let dir = std::env::var_os("NETDRILL_CORPUS")
        .map(PathBuf::from)
        .or_else(|| {
            let m = Path::new(env!("CARGO_MANIFEST_DIR"));
            [
                m.join("../../shared/corpus"),
                m.join("../../../shared/corpus"),
            ]
            .into_iter()
            .find(|p| p.is_dir())
        })
        .expect("corpus not found: set NETDRILL_CORPUS to shared/corpus");
    let mut files = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("corpus folder").flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "pkt") {
                let text = std::fs::read(&p).expect("corpus script");
                files.push((p, text));
            }
        }
    }
    files.sort();
    files
}

fn parse_all(files: &[(PathBuf, Vec<u8>)]) -> usize {
    files
        .iter()
        .filter(|(_, src)| parse(black_box(src), &[]).is_ok())
        .count()
}

fn bench(c: &mut Criterion) {
    let files = corpus();
    let bytes: usize = files.iter().map(|(_, s)| s.len()).sum();
    let start = Instant::now();
    let parsed = parse_all(&files);
    println!(
        "corpus: {} scripts, {} bytes, {parsed} parse; one pass: {:?}",
        files.len(),
        bytes,
        start.elapsed()
    );

    let mut group = c.benchmark_group("corpus");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("parse", |b| b.iter(|| parse_all(&files)));
    let asts: Vec<_> = files
        .iter()
        .filter_map(|(_, s)| parse(s, &[]).ok())
        .collect();
    group.bench_function("print", |b| {
        b.iter(|| {
            asts.iter()
                .map(|a| print(black_box(a)).len())
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
