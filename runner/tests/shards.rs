//! `netdrill run --partition KIND:K/N` and `netdrill merge` (issue 13): the
//! kernel suite's list in 4 shards is the whole list; a suite run in 3 shards
//! and merged gives the reports of a single run, timings apart; a shard whose
//! document is gone makes the merge incomplete, with a non-zero exit.
//!
//! The merged suite is ours and has one verdict whatever the machine's load
//! (half-second tolerances, one failure that is not about time): a test that
//! compares two real runs line by line must not depend on whether a job
//! happened to need its retry in one of them.

mod common;
mod support;

use common::{netdrill, new_tag, write};
use regex::Regex;
use std::path::{Path, PathBuf};
use support::{corpus, require_root};

fn list(args: &[&str], state: &Path) -> Vec<String> {
    let mut full = vec!["run", "--list"];
    full.extend_from_slice(args);
    let out = netdrill(&full, &new_tag("shards-list"), state)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{full:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn the_kernel_suites_list_in_4_shards_merges_to_the_whole_list() {
    let state = tempfile::tempdir().unwrap();
    let suite = corpus("kselftest");
    let suite = suite.to_str().unwrap();
    let whole = list(&[suite], state.path());
    assert!(whole.len() > 100, "{} jobs", whole.len());
    for kind in ["count", "hash", "duration"] {
        let mut merged: Vec<(usize, String)> = Vec::new();
        for k in 1..=4 {
            let shard = list(
                &[suite, "--partition", &format!("{kind}:{k}/4")],
                state.path(),
            );
            assert!(!shard.is_empty(), "{kind}:{k}/4 is empty");
            let mut last = None;
            for line in shard {
                let at = whole
                    .iter()
                    .position(|w| *w == line)
                    .unwrap_or_else(|| panic!("{kind}:{k}/4 lists {line}, not in the whole list"));
                // A shard lists its jobs in the whole list's order.
                assert!(last < Some(at), "{kind}:{k}/4: {line} out of order");
                last = Some(at);
                merged.push((at, line));
            }
        }
        merged.sort();
        let merged: Vec<String> = merged.into_iter().map(|(_, l)| l).collect();
        assert_eq!(merged, whole, "{kind}: the 4 shards are not the whole list");
    }
}

/// A report with its timings (the timing slack too), hosts' starts and the
/// corpus' folder written as placeholders.
fn normalized(text: &str, corpus_dir: &str) -> String {
    let text = text.replace(corpus_dir, "[corpus]");
    let rules = [
        (r#"(timestamp|time)="[^"]*""#, r#"$1="[t]""#),
        (
            r#""(start|end|time|start_unix|end_unix|duration_secs|cpu_secs|max_rss_kib)": [^,\n]+"#,
            r#""$1": [t]"#,
        ),
        (
            r#""(hostname|kernel_release|netdrill_version)": "[^"]*""#,
            r#""$1": "[host]""#,
        ),
        (
            r#"name="(hostname|kernel_release|netdrill_version)" value="[^"]*""#,
            r#"name="$1" value="[host]""#,
        ),
        (
            r#"name="jobs_at_once" value="[^"]*""#,
            r#"name="jobs_at_once" value="[j]""#,
        ),
        (r#""jobs_at_once": \d+"#, r#""jobs_at_once": [j]"#),
        // Each run's closest call: which event and by how much is timing.
        (
            r#"name="timing_slack_(line|margin_usecs|tolerance_usecs)" value="[^"]*""#,
            r#"name="timing_slack_$1" value="[slack]""#,
        ),
        (r#""timing_slack": \{[^}]*\}"#, r#""timing_slack": [slack]"#),
    ];
    rules.iter().fold(text, |t, (re, to)| {
        Regex::new(re).unwrap().replace_all(&t, *to).into_owned()
    })
}

/// The merged JSON without its `shards` (a single run has none), normalized.
fn without_shards(json: &str) -> (String, serde_json::Value) {
    let mut doc: serde_json::Value = serde_json::from_str(json).unwrap();
    let shards = doc["netdrill"]
        .as_object_mut()
        .unwrap()
        .remove("shards")
        .unwrap_or_default();
    (serde_json::to_string_pretty(&doc).unwrap() + "\n", shards)
}

/// A passive open: the kernel's SYN-ACK and the accept, with room for any load.
const ACCEPT: &str = "--tolerance_usecs=500000
0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0  setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0  bind(3, ..., ...) = 0
+0  listen(3, 1) = 0
+0  < S 0:0(0) win 32792 <mss 1000,nop,wscale 7>
+0  > S. 0:0(0) ack 1 <...>
+.05 < . 1:1(0) ack 1 win 257
+0  accept(3, ..., ...) = 4
+0  write(4, ..., 100) = 100
+0  > P. 1:101(100) ack 1
+.05 < . 1:1(0) ack 101 win 257
+0  close(4) = 0
+0  > F. 101:101(0) ack 1
";
/// System calls and a command, no packets.
const CALLS: &str = "--tolerance_usecs=500000
0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0  `true`
+.05 close(3) = 0
";
/// Fails at line 3 on every attempt: closing an open socket succeeds.
const FAILS: &str = "--tolerance_usecs=500000
0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0  close(3) = -1 EBADF (Bad file descriptor)
";

/// Nine scripts in `dir/shards/`: ACCEPT and CALLS in turn, FAILS second
/// (so round-robin shard 2, which holds one IP version of scripts 1, 3, 4,
/// 6, 7 and 9, holds none of its jobs).
fn merge_suite(dir: &Path) -> PathBuf {
    let suite = dir.join("shards");
    for k in 1..=9 {
        let (name, text) = match k {
            2 => ("fails".to_string(), FAILS),
            k if k % 2 == 1 => (format!("accept-{k}"), ACCEPT),
            k => (format!("calls-{k}"), CALLS),
        };
        write(&suite, &format!("s{k}-{name}.pkt"), text);
    }
    suite
}

#[test]
fn a_suite_in_3_shards_merges_to_a_single_runs_reports() {
    require_root();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let d = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let suite = merge_suite(dir.path());
    let suite = suite.to_str().unwrap();
    let canonical = std::fs::canonicalize(suite).unwrap();
    // `fails.pkt` ipv4 is job 3 of the list (shard 3), ipv6 job 4 (shard 1).
    let run = |extra: &[&str], prefix: &str, code: i32| {
        let mut args = vec!["run", suite, "--no-progress", "-q", "-j", "4"];
        args.extend_from_slice(extra);
        let (ktap, junit, json) = (
            d(&format!("{prefix}.ktap")),
            d(&format!("{prefix}.xml")),
            d(&format!("{prefix}.json")),
        );
        args.extend_from_slice(&[
            "--ktap",
            &ktap,
            "--junit",
            &junit,
            "--json",
            &json,
            "--json-full",
        ]);
        let out = netdrill(&args, &new_tag("shards-run"), &state)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[], "single", 1);
    for (k, code) in [(1, 1), (2, 0), (3, 1)] {
        run(
            &["--partition", &format!("count:{k}/3")],
            &format!("shard{k}"),
            code,
        );
    }
    let shards: Vec<String> = (1..=3).map(|k| d(&format!("shard{k}.json"))).collect();
    let merge = |files: &[String]| {
        let (ktap, junit, json) = (d("merged.ktap"), d("merged.xml"), d("merged.json"));
        let mut args = vec!["merge"];
        args.extend(files.iter().map(String::as_str));
        args.extend_from_slice(&[
            "--ktap",
            &ktap,
            "--junit",
            &junit,
            "--json",
            &json,
            "--json-full",
        ]);
        netdrill(&args, &new_tag("shards-merge"), &state)
            .output()
            .unwrap()
    };
    let out = merge(&shards);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |name: &str| std::fs::read_to_string(d(name)).unwrap();
    let norm = |text: &str| normalized(&normalized(text, suite), canonical.to_str().unwrap());
    let ktap = norm(&read("merged.ktap"));
    assert_eq!(ktap, norm(&read("single.ktap")));
    let junit = norm(&read("merged.xml"));
    assert_eq!(junit, norm(&read("single.xml")));
    let (json, facts) = without_shards(&read("merged.json"));
    let (single, _) = without_shards(&read("single.json"));
    let json = norm(&json);
    assert_eq!(json, norm(&single));
    // Each shard's host facts and file are kept.
    let facts = facts.as_array().unwrap();
    assert_eq!(facts.len(), 3);
    for (k, f) in facts.iter().enumerate() {
        assert_eq!(f["index"], k + 1);
        assert_eq!(f["file"], shards[k].as_str());
        assert!(f["host"]["hostname"].is_string(), "{f}");
    }
    insta::assert_snapshot!("merged_ktap", ktap);
    insta::assert_snapshot!("merged_junit", junit);
    insta::assert_snapshot!("merged_json", json);

    // The merged document is a run for `netdrill report`: the single run's.
    let out = netdrill(
        &["report", "--compare", &d("single.json"), &d("merged.json")],
        &new_tag("shards-report"),
        &state,
    )
    .output()
    .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(
        said.contains("0 changed, 0 new failures") && said.contains("Unchanged: 18 tests."),
        "{said}"
    );

    // Shard 2's document gone: the merge says so, reports the rest and its
    // jobs as not run, and fails.
    std::fs::remove_file(&shards[1]).unwrap();
    let out = merge(&shards);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("incomplete: {}: No such file", shards[1])),
        "{stderr}"
    );
    assert!(
        stderr.contains("incomplete: shard count:2/3 (6 jobs)"),
        "{stderr}"
    );
    let doc: serde_json::Value = serde_json::from_str(&read("merged.json")).unwrap();
    assert_eq!(doc["incomplete"], true);
    assert!(doc["netdrill"]["shards"][1]["missing"].is_string(), "{doc}");
    let ktap = read("merged.ktap");
    // count:2/3 holds one IP version of 6 of the 9 scripts.
    let not_run = |prefix: &str| {
        ktap.lines()
            .filter(|l| {
                l.starts_with(prefix)
                    && l.ends_with(
                        "# ERROR not run: the report of shard count:2/3 was missing when the \
                     shards were merged",
                    )
            })
            .count()
    };
    assert_eq!((not_run("not ok "), not_run("# not ok ")), (6, 6), "{ktap}");
    assert!(
        ktap.ends_with("# Totals: pass:2 fail:1 xfail:0 xpass:0 skip:0 error:6\n"),
        "{ktap}"
    );
}

#[test]
fn a_shard_without_jobs_still_reports_and_bad_partitions_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let seed = corpus("seed");
    let json = dir.path().join("shard7.json");
    let args = [
        "run",
        seed.to_str().unwrap(),
        "--filter",
        "syscall_bad_arg",
        "--partition",
        "count:7/7",
        "--json",
        json.to_str().unwrap(),
        "--json-full",
    ];
    let out = netdrill(&args, &new_tag("shards-empty"), dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("count:7/7: this shard has none of the 6 jobs"),
        "{stderr}"
    );
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(doc["results"], serde_json::json!([]));
    let plan = &doc["netdrill"]["partition"];
    assert_eq!(
        (
            plan["kind"].as_str(),
            plan["index"].as_u64(),
            plan["count"].as_u64()
        ),
        (Some("count"), Some(7), Some(7))
    );
    assert_eq!(plan["jobs"].as_array().unwrap().len(), 6);

    // Alone, it is one shard of seven: the other six are missing.
    let merged = dir.path().join("merged.ktap");
    let out = netdrill(
        &[
            "merge",
            json.to_str().unwrap(),
            "--ktap",
            merged.to_str().unwrap(),
        ],
        &new_tag("shards-empty"),
        dir.path(),
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for k in 1..=6 {
        assert!(
            stderr.contains(&format!("incomplete: shard count:{k}/7 (1 job)")),
            "{stderr}"
        );
    }

    for bad in ["count:0/3", "count:4/3", "random:1/2", "hash:1"] {
        let out = netdrill(
            &["run", "--list", seed.to_str().unwrap(), "--partition", bad],
            &new_tag("shards-bad"),
            dir.path(),
        )
        .output()
        .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {stderr}");
        assert!(
            stderr.starts_with(&format!("netdrill: --partition {bad}: ")),
            "{stderr}"
        );
    }
}
