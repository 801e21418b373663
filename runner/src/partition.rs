//! `netdrill run --partition KIND:K/N`: which jobs shard K of N runs, so that
//! a CI's job matrix can split one run over N machines (and `netdrill merge`
//! put their reports back together).
//!
//! A partition is a plain function of the job list in discovery order (the
//! order of `--list`): every shard computes the same assignment and keeps its
//! own part, so the shards never overlap and together hold every job.
//!
//! - `count`: round robin over the list: job `i` goes to shard `i mod N`;
//! - `hash`: by a stable hash (64-bit FNV-1a) of the job's name
//!   (`suite/script.pkt ipvX`): a job stays in its shard when scripts are added
//!   or removed;
//! - `duration`: balanced by the durations of past runs (the history
//!   `netdrill run` keeps, see [`crate::durations`]): longest job first, each
//!   to the shard with the least predicted time so far. A job never seen takes
//!   the mean of those seen (one second when none was). The shards' predicted
//!   times then differ by at most the longest job's. Every shard must read the
//!   same history (`--durations FILE`), or they would not agree.

use crate::model::{HostInfo, JobId};
use serde::{Deserialize, Serialize};
use std::fmt;

/// How jobs are shared out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PartitionKind {
    Count,
    Hash,
    Duration,
}

impl PartitionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PartitionKind::Count => "count",
            PartitionKind::Hash => "hash",
            PartitionKind::Duration => "duration",
        }
    }
}

/// Shard `index` (1-based) of `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Partition {
    pub kind: PartitionKind,
    /// K: 1 ..= `count`.
    pub index: usize,
    /// N.
    pub count: usize,
}

/// The most shards `--partition` accepts.
pub const MAX_SHARDS: usize = 1024;

impl Partition {
    /// `count:2/4`, `hash:1/3`, `duration:3/3`.
    pub fn parse(text: &str) -> Result<Partition, String> {
        let bad = |why: &str| {
            format!("--partition {text}: {why} (expected KIND:K/N, KIND one of count, hash, duration, 1 <= K <= N)")
        };
        let (kind, shard) = text.split_once(':').ok_or_else(|| bad("no `:`"))?;
        let kind = match kind {
            "count" => PartitionKind::Count,
            "hash" => PartitionKind::Hash,
            "duration" => PartitionKind::Duration,
            other => return Err(bad(&format!("unknown kind `{other}`"))),
        };
        let (k, n) = shard.split_once('/').ok_or_else(|| bad("no `/`"))?;
        let number = |s: &str| s.trim().parse::<usize>().ok();
        let (Some(index), Some(count)) = (number(k), number(n)) else {
            return Err(bad("K and N are whole numbers"));
        };
        if count == 0 || index == 0 || index > count {
            return Err(bad(&format!("shard {index} of {count}")));
        }
        if count > MAX_SHARDS {
            return Err(bad(&format!("at most {MAX_SHARDS} shards")));
        }
        Ok(Partition { kind, index, count })
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}/{}", self.kind.as_str(), self.index, self.count)
    }
}

/// 64-bit FNV-1a: a hash that is the same on every machine and every
/// version of netdrill (the standard library's is neither).
pub fn stable_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// One job as the partition sees it: its name, and how long it took last
/// time (`None`: never seen).
#[derive(Clone, Debug, PartialEq)]
pub struct JobWeight {
    pub name: String,
    pub secs: Option<f64>,
}

/// The predicted time of each job, in whole microseconds (exact sums).
pub fn predicted_micros(jobs: &[JobWeight]) -> Vec<u64> {
    let to_micros = |s: f64| {
        if s.is_finite() && s > 0.0 {
            (s * 1e6).min(1e15) as u64
        } else {
            0
        }
    };
    let seen: Vec<u64> = jobs.iter().filter_map(|j| j.secs.map(to_micros)).collect();
    let unseen = if seen.is_empty() {
        1_000_000
    } else {
        seen.iter().sum::<u64>() / seen.len() as u64
    };
    jobs.iter()
        .map(|j| j.secs.map_or(unseen, to_micros))
        .collect()
}

/// The shard (0-based) of every job of the list, for `count` shards of `kind`.
pub fn assign(kind: PartitionKind, count: usize, jobs: &[JobWeight]) -> Vec<usize> {
    let count = count.max(1);
    match kind {
        PartitionKind::Count => (0..jobs.len()).map(|i| i % count).collect(),
        PartitionKind::Hash => jobs
            .iter()
            .map(|j| (stable_hash(&j.name) % count as u64) as usize)
            .collect(),
        PartitionKind::Duration => {
            let micros = predicted_micros(jobs);
            // Longest first; equal times in list order, so every shard sorts alike.
            let mut order: Vec<usize> = (0..jobs.len()).collect();
            order.sort_by(|&a, &b| micros[b].cmp(&micros[a]).then(a.cmp(&b)));
            let mut load = vec![0u64; count];
            let mut shard = vec![0; jobs.len()];
            for i in order {
                let least = (0..count).min_by_key(|&s| (load[s], s)).unwrap_or(0);
                load[least] += micros[i];
                shard[i] = least;
            }
            shard
        }
    }
}

/// The positions (in the list) of the jobs shard `p` runs, in list order.
pub fn select(p: &Partition, jobs: &[JobWeight]) -> Vec<usize> {
    assign(p.kind, p.count, jobs)
        .into_iter()
        .enumerate()
        .filter(|&(_, s)| s + 1 == p.index)
        .map(|(i, _)| i)
        .collect()
}

/// A shard's place in the whole run, written in its `--json-full` document
/// for `netdrill merge`: the partition, and every job of the whole run in
/// list order with the shard (1-based) that runs it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardPlan {
    #[serde(flatten)]
    pub partition: Partition,
    pub jobs: Vec<PlannedJob>,
}

/// One job of the whole run, and its shard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlannedJob {
    #[serde(flatten)]
    pub id: JobId,
    pub shard: usize,
    /// Its timeout in seconds (0: none), when it is not skipped: what the
    /// merged KTAP's `# timeout set to N` is made of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
}

impl ShardPlan {
    /// The plan of shard `p` over the whole list: each job's id, timeout
    /// (see [`PlannedJob::timeout_secs`]) and weight.
    pub fn new(p: Partition, ids: &[(JobId, Option<u64>)], jobs: &[JobWeight]) -> ShardPlan {
        let shards = assign(p.kind, p.count, jobs);
        ShardPlan {
            partition: p,
            jobs: ids
                .iter()
                .zip(shards)
                .map(|((id, timeout_secs), s)| PlannedJob {
                    id: id.clone(),
                    shard: s + 1,
                    timeout_secs: *timeout_secs,
                })
                .collect(),
        }
    }

    /// kselftest's per-script timeout over the whole run, as a single run
    /// reports it: the one every job that is not skipped has, if they agree.
    pub fn timeout_secs(&self) -> Option<u64> {
        let mut all = self.jobs.iter().filter_map(|j| j.timeout_secs);
        let first = all.next()?;
        all.all(|t| t == first).then_some(first)
    }
}

/// What a merged report says of one shard: where it ran, or why it is missing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardFacts {
    #[serde(flatten)]
    pub partition: Partition,
    /// The JSON document it was read from, as named to `netdrill merge`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<HostInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jobs_at_once: Option<usize>,
    #[serde(default)]
    pub start_unix: f64,
    #[serde(default)]
    pub end_unix: f64,
    /// The signal that stopped it (`SIGINT`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn weights(names: &[&str], secs: &[Option<f64>]) -> Vec<JobWeight> {
        names
            .iter()
            .zip(secs)
            .map(|(n, s)| JobWeight {
                name: n.to_string(),
                secs: *s,
            })
            .collect()
    }

    #[test]
    fn parses_and_prints() {
        let p = Partition::parse("duration:2/3").unwrap();
        assert_eq!(
            p,
            Partition {
                kind: PartitionKind::Duration,
                index: 2,
                count: 3
            }
        );
        assert_eq!(p.to_string(), "duration:2/3");
        for bad in [
            "count",
            "count:1",
            "count:0/2",
            "count:3/2",
            "size:1/2",
            "hash:a/b",
        ] {
            let e = Partition::parse(bad).unwrap_err();
            assert!(e.starts_with(&format!("--partition {bad}: ")), "{e}");
        }
    }

    #[test]
    fn count_is_round_robin() {
        let jobs = weights(&["a", "b", "c", "d", "e"], &[None; 5]);
        assert_eq!(assign(PartitionKind::Count, 2, &jobs), vec![0, 1, 0, 1, 0]);
        let p = Partition::parse("count:2/2").unwrap();
        assert_eq!(select(&p, &jobs), vec![1, 3]);
    }

    #[test]
    fn the_hash_is_fnv1a() {
        // The published FNV-1a test vectors.
        assert_eq!(stable_hash(""), 0xcbf29ce484222325);
        assert_eq!(stable_hash("a"), 0xaf63dc4c8601ec8c);
        assert_eq!(stable_hash("foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn duration_puts_the_long_job_alone() {
        let jobs = weights(
            &["a", "b", "c", "d"],
            &[Some(1.0), Some(10.0), Some(1.0), None],
        );
        // d is unseen: the mean, 4 s.
        assert_eq!(predicted_micros(&jobs)[3], 4_000_000);
        assert_eq!(assign(PartitionKind::Duration, 2, &jobs), vec![1, 0, 1, 1]);
    }

    fn job_lists() -> impl Strategy<Value = Vec<JobWeight>> {
        proptest::collection::btree_map(
            "[a-z]{1,8}\\.pkt ipv[46]",
            proptest::option::weighted(0.8, 0.0f64..100.0),
            0..60,
        )
        .prop_map(|m| {
            m.into_iter()
                .map(|(name, secs)| JobWeight { name, secs })
                .collect()
        })
    }

    proptest! {
        /// Every kind: for 1 <= K <= N <= 16 the shards are disjoint and hold
        /// every job, and `duration`'s predicted times differ by at most the
        /// longest job.
        #[test]
        fn shards_are_disjoint_cover_and_balance(jobs in job_lists(), n in 1usize..=16) {
            let micros = predicted_micros(&jobs);
            for kind in [PartitionKind::Count, PartitionKind::Hash, PartitionKind::Duration] {
                let mut seen = vec![0u32; jobs.len()];
                let mut loads = Vec::new();
                for k in 1..=n {
                    let shard = select(&Partition { kind, index: k, count: n }, &jobs);
                    prop_assert!(shard.windows(2).all(|w| w[0] < w[1]));
                    for &i in &shard {
                        seen[i] += 1;
                    }
                    loads.push(shard.iter().map(|&i| micros[i]).sum::<u64>());
                }
                prop_assert!(seen.iter().all(|&c| c == 1), "{kind:?} {n}: {seen:?}");
                if kind == PartitionKind::Duration {
                    let longest = micros.iter().copied().max().unwrap_or(0);
                    let (max, min) = (loads.iter().max().unwrap(), loads.iter().min().unwrap());
                    prop_assert!(max - min <= longest, "{loads:?} longest {longest}");
                }
            }
        }

        /// `hash`: adding or removing scripts moves no other job.
        #[test]
        fn hash_shards_are_stable(jobs in job_lists(), keep in proptest::collection::vec(any::<bool>(), 60), n in 1usize..=16) {
            let fewer: Vec<JobWeight> = jobs
                .iter()
                .zip(&keep)
                .filter(|(_, k)| **k)
                .map(|(j, _)| j.clone())
                .collect();
            let all = assign(PartitionKind::Hash, n, &jobs);
            let some = assign(PartitionKind::Hash, n, &fewer);
            for (j, s) in fewer.iter().zip(some) {
                let at = jobs.iter().position(|x| x.name == j.name).unwrap();
                prop_assert_eq!(all[at], s);
            }
        }
    }
}
