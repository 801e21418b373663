//! `netdrill merge`: the `--json-full` documents of a run's shards (`netdrill
//! run --partition KIND:K/N`) back into the one run they are parts of, for
//! the same reporters a single run uses.
//!
//! Each shard's document lists every job of the whole run in list order with
//! the shard that runs it (its [`ShardPlan`]). So merge knows N, which shards
//! it was given and which are missing, and puts the jobs back in the order a
//! single run has them: the KTAP numbering, the counts and the JUnit and JSON
//! order are a single run's. A shard whose document is missing or cannot be
//! read leaves its jobs [`Verdict::NotRun`]: the merged run is incomplete,
//! and [`Merged::problems`] says which shard and why.
//!
//! The run's host facts are each shard's (in [`Options::shards`]); the merged
//! record's host fields list the distinct values (`host-a, host-b`), its
//! start and end are the earliest start and the latest end, its jobs at once
//! the most of one shard. The kernel splats are every shard's, a splat that
//! shards on one host both read kept once; a splat is put with the jobs that
//! ran when it was read, as in a single run, so with shards on several
//! machines it is also put with another machine's jobs that ran then.

use crate::model::{
    Attempt, HostInfo, JobId, JobRecord, KernelSplat, RunRecord, StopSignal, Verdict,
};
use crate::partition::{ShardFacts, ShardPlan};
use crate::report::json::{NipaRun, NipaSubtest, RunDetails};
use crate::report::Options;
use std::collections::BTreeMap;

/// One file named to `netdrill merge`.
#[derive(Clone, Debug)]
pub enum ShardInput {
    Read {
        file: String,
        doc: Box<NipaRun>,
    },
    /// Missing, unreadable, or not JSON: why.
    Unreadable {
        file: String,
        why: String,
    },
}

/// The run put back together.
#[derive(Clone, Debug)]
pub struct Merged {
    pub record: RunRecord,
    /// Executor, branch and link as the shards had them, the per-script
    /// timeout, and each shard's facts.
    pub opts: Options,
    /// What makes the merged run incomplete, each naming its shard or file.
    pub problems: Vec<String>,
}

/// A shard document that can be merged.
struct Shard<'a> {
    file: &'a str,
    doc: &'a NipaRun,
    details: &'a RunDetails,
    plan: &'a ShardPlan,
}

/// Check that a document is a shard's full document.
fn shard_of<'a>(file: &'a str, doc: &'a NipaRun) -> Result<Shard<'a>, String> {
    let details = doc.netdrill.as_ref().ok_or_else(|| {
        format!("{file}: has no netdrill details (write shards with --json FILE --json-full)")
    })?;
    let plan = details
        .partition
        .as_ref()
        .ok_or_else(|| format!("{file}: not a shard (its run had no --partition KIND:K/N)"))?;
    Ok(Shard {
        file,
        doc,
        details,
        plan,
    })
}

/// The shards, checked to be parts of one run: one per K at most.
fn shards<'a>(
    inputs: &'a [ShardInput],
    problems: &mut Vec<String>,
) -> Result<Vec<Shard<'a>>, String> {
    let mut out: Vec<Shard<'a>> = Vec::new();
    for input in inputs {
        let shard = match input {
            ShardInput::Unreadable { file, why } => {
                problems.push(format!("{file}: {why}"));
                continue;
            }
            ShardInput::Read { file, doc } => shard_of(file, doc)?,
        };
        if let Some(first) = out.first() {
            let (a, b) = (&first.plan, &shard.plan);
            if a.partition.kind != b.partition.kind
                || a.partition.count != b.partition.count
                || a.jobs
                    .iter()
                    .map(|j| (&j.id, j.shard))
                    .ne(b.jobs.iter().map(|j| (&j.id, j.shard)))
            {
                return Err(format!(
                    "{} ({}) and {} ({}) are not shards of the same run: their job lists or \
                     partitions differ (did the shards see the same scripts and, for duration, \
                     the same --durations file?)",
                    first.file, a.partition, shard.file, b.partition
                ));
            }
        }
        if let Some(same) = out
            .iter()
            .find(|s| s.plan.partition.index == shard.plan.partition.index)
        {
            return Err(format!(
                "{} and {} are both shard {}",
                same.file, shard.file, shard.plan.partition
            ));
        }
        out.push(shard);
    }
    Ok(out)
}

/// A job of a shard's document, back as the record it was rendered from.
fn job_of(sub: &NipaSubtest) -> Option<JobRecord> {
    let d = sub.netdrill.as_ref()?;
    Some(JobRecord {
        id: JobId {
            suite: d.suite.clone(),
            script: d.script.clone(),
            ip_version: sub.test.clone(),
        },
        path: d.path.clone(),
        args: d.args.clone(),
        verdict: d.verdict,
        skip_reason: d.skip_reason.clone(),
        xfail_reason: d.xfail_reason.clone(),
        attempts: d
            .attempts
            .iter()
            .map(|a| Attempt {
                number: a.number,
                result: a.result,
                start_unix: a.start_unix,
                duration_secs: a.duration_secs,
                cpu_secs: a.cpu_secs,
                max_rss_kib: a.max_rss_kib,
                line: a.line,
                kind: a.kind,
                message: a.message.clone(),
                mismatch: None,
                log: a.log.clone(),
                artifacts: a.artifacts.clone(),
                timing_slack: a.timing_slack,
            })
            .collect(),
        replay_command: d.replay_command.clone(),
    })
}

/// A job whose shard did not report it.
fn not_run(id: &JobId) -> JobRecord {
    JobRecord {
        id: id.clone(),
        path: format!("{}/{}", id.suite, id.script).into(),
        args: Vec::new(),
        verdict: Verdict::NotRun,
        skip_reason: None,
        xfail_reason: None,
        attempts: Vec::new(),
        replay_command: String::new(),
    }
}

fn signal_named(name: &str) -> Option<StopSignal> {
    [
        StopSignal::Interrupt,
        StopSignal::Terminate,
        StopSignal::Hangup,
    ]
    .into_iter()
    .find(|s| s.name() == name)
}

/// The distinct values, in shard order, joined by `, `.
fn distinct<'a>(values: impl Iterator<Item = &'a str>) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for v in values {
        if !seen.contains(&v) {
            seen.push(v);
        }
    }
    seen.join(", ")
}

/// Each shard's facts, K = 1 ..= N, saying which are missing.
fn facts(plan: &ShardPlan, found: &[Shard<'_>], problems: &mut Vec<String>) -> Vec<ShardFacts> {
    let mut partition = plan.partition;
    (1..=partition.count)
        .map(|k| {
            partition.index = k;
            match found.iter().find(|s| s.plan.partition.index == k) {
                Some(s) => ShardFacts {
                    partition,
                    file: Some(s.file.to_string()),
                    missing: None,
                    host: Some(HostInfo {
                        hostname: s.details.hostname.clone(),
                        kernel_release: s.details.kernel_release.clone(),
                        netdrill_version: s.details.netdrill_version.clone(),
                        kernel_features: s.details.kernel_features.clone(),
                    }),
                    jobs_at_once: Some(s.details.jobs_at_once),
                    start_unix: s.details.start_unix,
                    end_unix: s.details.end_unix,
                    interrupted: s.doc.interrupted.clone(),
                },
                None => {
                    let jobs = plan.jobs.iter().filter(|j| j.shard == k).count();
                    let why = format!("no readable JSON document of shard {partition} was given");
                    let jobs = if jobs == 1 {
                        "1 job".to_string()
                    } else {
                        format!("{jobs} jobs")
                    };
                    problems.push(format!("shard {partition} ({jobs}): {why}"));
                    ShardFacts {
                        partition,
                        file: None,
                        missing: Some(why),
                        host: None,
                        jobs_at_once: None,
                        start_unix: 0.0,
                        end_unix: 0.0,
                        interrupted: None,
                    }
                }
            }
        })
        .collect()
}

/// Shards on one machine read the same kernel log: a splat they both read
/// (the same text, read within [`SAME_SPLAT_SECS`]) is kept once.
const SAME_SPLAT_SECS: f64 = 2.0;

/// The shards' kernel splats in the order they came, each once.
fn kernel_splats(found: &[Shard<'_>]) -> Vec<KernelSplat> {
    let mut all: Vec<(&str, &KernelSplat)> = found
        .iter()
        .flat_map(|s| {
            let host = s.details.hostname.as_str();
            s.details.kernel_splats.iter().map(move |k| (host, k))
        })
        .collect();
    all.sort_by(|a, b| a.1.at_unix.total_cmp(&b.1.at_unix));
    let mut kept: Vec<(&str, &KernelSplat)> = Vec::new();
    for (host, splat) in all {
        let seen = kept.iter().any(|(h, k)| {
            *h == host && k.text == splat.text && splat.at_unix - k.at_unix <= SAME_SPLAT_SECS
        });
        if !seen {
            kept.push((host, splat));
        }
    }
    kept.into_iter().map(|(_, k)| k.clone()).collect()
}

/// Merge the shards' documents. An error when there is nothing to merge (no
/// shard document could be read) or the documents are not shards of one run.
pub fn merge(inputs: &[ShardInput]) -> Result<Merged, String> {
    let mut problems = Vec::new();
    let found = shards(inputs, &mut problems)?;
    let Some(first) = found.first() else {
        return Err(format!(
            "no shard document could be read: {}",
            problems.join("; ")
        ));
    };
    let plan = first.plan.clone();
    let mut jobs: BTreeMap<JobId, JobRecord> = BTreeMap::new();
    for s in &found {
        for sub in s.doc.results.iter().flat_map(|t| t.results.iter()) {
            let job = job_of(sub).ok_or_else(|| {
                format!(
                    "{}: a job without netdrill details (write shards with --json-full)",
                    s.file
                )
            })?;
            let planned = plan.jobs.iter().find(|p| p.id == job.id);
            if planned.map(|p| p.shard) != Some(s.plan.partition.index) {
                return Err(format!(
                    "{}: job {}/{} {} is not one of shard {}'s jobs in its own plan",
                    s.file, job.id.suite, job.id.script, job.id.ip_version, s.plan.partition
                ));
            }
            jobs.insert(job.id.clone(), job);
        }
    }
    let shards = facts(&plan, &found, &mut problems);
    let mut records = Vec::with_capacity(plan.jobs.len());
    for p in &plan.jobs {
        match jobs.remove(&p.id) {
            Some(job) => records.push(job),
            None => {
                if found.iter().any(|s| s.plan.partition.index == p.shard) {
                    problems.push(format!(
                        "shard {}: its document lacks job {}/{} {}",
                        p.shard, p.id.suite, p.id.script, p.id.ip_version
                    ));
                }
                records.push(not_run(&p.id));
            }
        }
    }
    let splats = kernel_splats(&found);
    let record = RunRecord {
        host: HostInfo {
            hostname: distinct(found.iter().map(|s| s.details.hostname.as_str())),
            kernel_release: distinct(found.iter().map(|s| s.details.kernel_release.as_str())),
            netdrill_version: distinct(found.iter().map(|s| s.details.netdrill_version.as_str())),
            // The first shard's findings (shards of one run probe one kernel
            // each; each shard's own are in its facts).
            kernel_features: found.iter().find_map(|s| s.details.kernel_features.clone()),
        },
        start_unix: found
            .iter()
            .map(|s| s.details.start_unix)
            .fold(f64::INFINITY, f64::min),
        end_unix: found
            .iter()
            .map(|s| s.details.end_unix)
            .fold(f64::NEG_INFINITY, f64::max),
        jobs_at_once: found
            .iter()
            .map(|s| s.details.jobs_at_once)
            .max()
            .unwrap_or(1),
        tolerance_usecs: found
            .iter()
            .map(|s| s.details.tolerance_usecs)
            .max()
            .unwrap_or(4000),
        interrupted: found
            .iter()
            .find_map(|s| s.doc.interrupted.as_deref().and_then(signal_named)),
        jobs: records,
        kernel_splats: splats,
        // A shard run in a VM (`--kernel`) says so; the first one's is kept.
        vm: found.iter().find_map(|s| s.details.vm.clone()),
    };
    let opts = Options {
        timeout_secs: plan.timeout_secs(),
        executor: first.doc.executor.clone(),
        branch: first.doc.branch.clone(),
        link: first.doc.link.clone(),
        shards,
        ..Options::default()
    };
    Ok(Merged {
        record,
        opts,
        problems,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AttemptResult;
    use crate::partition::{JobWeight, Partition, PartitionKind};
    use crate::report::{json, junit, ktap};

    fn job(script: &str, ip: &str, verdict: Verdict, results: &[AttemptResult]) -> JobRecord {
        JobRecord {
            id: JobId {
                suite: "s".into(),
                script: script.into(),
                ip_version: ip.into(),
            },
            path: format!("/x/s/{script}").into(),
            args: vec!["--ip_version=4".into()],
            verdict,
            skip_reason: (verdict == Verdict::Skip).then(|| "not here".into()),
            xfail_reason: None,
            attempts: results
                .iter()
                .enumerate()
                .map(|(i, &result)| Attempt {
                    number: i as u32 + 1,
                    result,
                    start_unix: 1000.0 + i as f64,
                    duration_secs: 0.5,
                    cpu_secs: Some(0.25),
                    max_rss_kib: Some(5000),
                    line: (result != AttemptResult::Pass).then_some(3),
                    kind: None,
                    message: if result == AttemptResult::Pass {
                        String::new()
                    } else {
                        "s.pkt:3: error\n".into()
                    },
                    timing_slack: None,
                    mismatch: None,
                    log: "a log line\n".into(),
                    artifacts: (result != AttemptResult::Pass)
                        .then(|| format!("/art/{script}/{ip}/attempt-{}", i + 1).into()),
                })
                .collect(),
            replay_command: format!("netdrill run /x/s/{script}"),
        }
    }

    /// A whole run of five jobs: a pass, a flaky, a failure, a skip.
    fn whole() -> RunRecord {
        use AttemptResult::*;
        RunRecord {
            host: HostInfo {
                hostname: "h".into(),
                kernel_release: "6.1".into(),
                netdrill_version: "0.1.0".into(),
                kernel_features: None,
            },
            start_unix: 1000.0,
            end_unix: 1010.0,
            jobs_at_once: 4,
            tolerance_usecs: 4000,
            vm: None,
            interrupted: None,
            jobs: vec![
                job("a.pkt", "ipv4", Verdict::Pass, &[Pass]),
                job("a.pkt", "ipv6", Verdict::Flaky, &[Fail, Pass]),
                job("b.pkt", "ipv4", Verdict::Fail, &[Fail, Fail]),
                job("b.pkt", "ipv6", Verdict::Pass, &[Pass]),
                job("c.pkt", "ipv4", Verdict::Skip, &[]),
            ],
            kernel_splats: vec![],
        }
    }

    /// The shards' full documents of `whole()` split `kind:K/n`.
    fn shard_docs(kind: PartitionKind, n: usize) -> Vec<ShardInput> {
        let run = whole();
        let ids: Vec<(JobId, Option<u64>)> = run
            .jobs
            .iter()
            .map(|j| (j.id.clone(), j.skip_reason.is_none().then_some(45)))
            .collect();
        let weights: Vec<JobWeight> = run
            .jobs
            .iter()
            .map(|j| JobWeight {
                name: format!("s/{} {}", j.id.script, j.id.ip_version),
                secs: Some(j.total_secs()),
            })
            .collect();
        (1..=n)
            .map(|index| {
                let p = Partition {
                    kind,
                    index,
                    count: n,
                };
                let plan = ShardPlan::new(p, &ids, &weights);
                let mut shard = run.clone();
                shard.jobs.retain(|j| {
                    plan.jobs
                        .iter()
                        .any(|pj| pj.id == j.id && pj.shard == index)
                });
                let opts = Options {
                    timeout_secs: Some(45),
                    shard: Some(plan),
                    ..Options::default()
                };
                let text = json::render_with(&shard, true, &opts);
                ShardInput::Read {
                    file: format!("shard{index}.json"),
                    doc: Box::new(json::parse(&text).unwrap()),
                }
            })
            .collect()
    }

    #[test]
    fn shards_merge_into_the_single_runs_reports() {
        let single = Options {
            timeout_secs: Some(45),
            ..Options::default()
        };
        for kind in [
            PartitionKind::Count,
            PartitionKind::Hash,
            PartitionKind::Duration,
        ] {
            for n in 1..=6 {
                let mut docs = shard_docs(kind, n);
                docs.reverse(); // the order files are named in does not matter
                let m = merge(&docs).unwrap();
                assert!(m.problems.is_empty(), "{:?}", m.problems);
                assert_eq!(m.opts.shards.len(), n);
                assert_eq!(
                    ktap::render_with(&m.record, &m.opts),
                    ktap::render_with(&whole(), &single)
                );
                assert_eq!(
                    junit::render_with(&m.record, &m.opts),
                    junit::render_with(&whole(), &single)
                );
                let mut doc = json::build(&m.record, true, &m.opts);
                doc.netdrill.as_mut().unwrap().shards.clear();
                assert_eq!(doc, json::build(&whole(), true, &single), "{kind:?} {n}");
            }
        }
    }

    #[test]
    fn a_missing_shard_leaves_its_jobs_not_run_and_says_so() {
        let mut docs = shard_docs(PartitionKind::Count, 2);
        docs[1] = ShardInput::Unreadable {
            file: "shard2.json".into(),
            why: "No such file or directory (os error 2)".into(),
        };
        let m = merge(&docs).unwrap();
        assert_eq!(
            m.problems,
            vec![
                "shard2.json: No such file or directory (os error 2)".to_string(),
                "shard count:2/2 (2 jobs): no readable JSON document of shard count:2/2 was given"
                    .to_string(),
            ]
        );
        let verdicts: Vec<Verdict> = m.record.jobs.iter().map(|j| j.verdict).collect();
        use Verdict::*;
        assert_eq!(verdicts, vec![Pass, NotRun, Fail, NotRun, Skip]);
        assert!(!m.record.complete());
        let doc = json::build(&m.record, true, &m.opts);
        assert!(doc.incomplete);
        let shards = &doc.netdrill.unwrap().shards;
        assert_eq!(
            shards[1]
                .missing
                .as_deref()
                .map(|m| m.contains("count:2/2")),
            Some(true)
        );
        let tap = ktap::render_with(&m.record, &m.opts);
        assert!(
            tap.contains(
                "not ok 1 selftests: net/s: a.pkt # ERROR not run: the report of shard \
                 count:2/2 was missing when the shards were merged"
            ),
            "{tap}"
        );
    }

    #[test]
    fn documents_of_different_runs_or_the_same_shard_twice_are_refused() {
        let mut docs = shard_docs(PartitionKind::Count, 2);
        docs.push(shard_docs(PartitionKind::Count, 2).remove(0));
        let e = merge(&docs).unwrap_err();
        assert_eq!(e, "shard1.json and shard1.json are both shard count:1/2");
        let mut docs = shard_docs(PartitionKind::Count, 2);
        docs.push(shard_docs(PartitionKind::Count, 3).remove(2));
        assert!(merge(&docs)
            .unwrap_err()
            .contains("are not shards of the same run"));
        let e = merge(&[ShardInput::Unreadable {
            file: "x.json".into(),
            why: "gone".into(),
        }])
        .unwrap_err();
        assert_eq!(e, "no shard document could be read: x.json: gone");
    }
    #[test]
    fn a_splat_two_shards_on_one_host_read_is_kept_once() {
        let splat = |at: f64, text: &str| KernelSplat {
            at_unix: at,
            title: "WARNING: x".into(),
            fingerprint: "a:b".into(),
            text: text.into(),
        };
        let mut docs = shard_docs(PartitionKind::Count, 2);
        for (i, d) in docs.iter_mut().enumerate() {
            let ShardInput::Read { doc, .. } = d else {
                unreachable!()
            };
            let details = doc.netdrill.as_mut().unwrap();
            details.kernel_splats =
                vec![splat(1000.2 + i as f64 * 0.5, "one"), splat(1001.0, "two")];
            if i == 1 {
                details.hostname = "other".into();
                details.kernel_splats.push(splat(1003.0, "three"));
            }
        }
        // Both shards on host h: each splat once.
        let mut same = docs.clone();
        if let ShardInput::Read { doc, .. } = &mut same[1] {
            doc.netdrill.as_mut().unwrap().hostname = "h".into();
        }
        let texts = |inputs: &[ShardInput]| -> Vec<String> {
            merge(inputs)
                .unwrap()
                .record
                .kernel_splats
                .iter()
                .map(|k| k.text.clone())
                .collect()
        };
        assert_eq!(texts(&same), ["one", "two", "three"]);
        // On two hosts, the same text is two splats.
        assert_eq!(texts(&docs), ["one", "one", "two", "two", "three"]);
    }
}
