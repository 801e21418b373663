//! The job-matrix examples of `ci/matrix/` (issue 13): the GitHub Actions and
//! GitLab CI files parse as YAML with the keys their CI reads and run the
//! shared shard and merge scripts with the matrix's K and N; `play.sh` plays
//! the matrix as N processes and merges, and the NIPA fan-out does the same
//! over "VMs" reached by a stand-in ssh, both with the real netdrill.

mod common;
mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::{corpus, require_root};

fn matrix(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../ci/matrix")
        .join(name)
}

/// A YAML file as JSON, read by PyYAML (`python3-yaml`; `.ci/run` installs it).
fn yaml(name: &str) -> Value {
    let out = Command::new("python3")
        .arg("-c")
        .arg(
            "import json, sys, yaml\n\
             doc = yaml.safe_load(open(sys.argv[1]))\n\
             # YAML 1.1 reads GitHub's `on:` key as true\n\
             if isinstance(doc, dict) and True in doc: doc['on'] = doc.pop(True)\n\
             json.dump(doc, sys.stdout)",
        )
        .arg(matrix(name))
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{name} does not parse as YAML: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The `run:` or `script:` lines of a job, joined.
fn commands(job: &Value) -> String {
    let steps = job["steps"].as_array().cloned().unwrap_or_default();
    let mut lines: Vec<String> = steps
        .iter()
        .filter_map(|s| s["run"].as_str().map(String::from))
        .collect();
    for key in ["before_script", "script"] {
        if let Some(list) = job[key].as_array() {
            lines.extend(list.iter().filter_map(|l| l.as_str().map(String::from)));
        }
    }
    lines.join("\n")
}

/// Every `ci/matrix/NAME` a text runs exists and is executable.
fn scripts_exist(text: &str) {
    use std::os::unix::fs::PermissionsExt;
    let re = regex::Regex::new(r"ci/matrix/([a-z-]+\.sh)").unwrap();
    let mut found = 0;
    for c in re.captures_iter(text) {
        let meta = std::fs::metadata(matrix(&c[1])).unwrap();
        assert!(
            meta.permissions().mode() & 0o111 != 0,
            "{} is not executable",
            &c[1]
        );
        found += 1;
    }
    assert!(found >= 2, "no shard and merge scripts in:\n{text}");
}

#[test]
fn github_actions_has_a_matrix_of_shards_and_a_merge_job() {
    let doc = yaml("github-actions.yml");
    assert!(doc["on"].is_object(), "{doc}");
    let shard = &doc["jobs"]["shard"];
    let ks: Vec<u64> = shard["strategy"]["matrix"]["shard"]
        .as_array()
        .expect("a matrix of shards")
        .iter()
        .map(|k| k.as_u64().unwrap())
        .collect();
    assert!(ks.len() >= 2);
    assert_eq!(ks, (1..=ks.len() as u64).collect::<Vec<_>>(), "K is 1..N");
    assert_eq!(shard["strategy"]["fail-fast"], false);
    let run = commands(shard);
    assert!(
        run.contains("ci/matrix/shard.sh ${{ matrix.shard }} ${{ strategy.job-total }} out"),
        "{run}"
    );
    let uploads: Vec<&Value> = shard["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/upload-artifact"))
        })
        .collect();
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0]["if"], "always()");
    assert_eq!(uploads[0]["with"]["name"], "shard-${{ matrix.shard }}");
    assert_eq!(uploads[0]["with"]["path"], "out/shard-${{ matrix.shard }}");
    let merge = &doc["jobs"]["merge"];
    assert_eq!(merge["needs"], "shard");
    assert_eq!(
        merge["if"], "always()",
        "the merge runs when a shard failed"
    );
    let download = merge["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/download-artifact"))
        })
        .expect("a download step");
    assert_eq!(download["with"]["pattern"], "shard-*");
    assert_eq!(download["with"]["path"], "out");
    let run = commands(merge);
    assert!(run.contains("ci/matrix/merge.sh out"), "{run}");
    scripts_exist(&(commands(shard) + &run));
}

#[test]
fn gitlab_ci_has_a_parallel_job_and_a_merge_stage() {
    let doc = yaml("gitlab-ci.yml");
    assert_eq!(doc["stages"], serde_json::json!(["test", "merge"]));
    let shard = &doc["packetdrill-shard"];
    assert_eq!(shard["stage"], "test");
    assert!(
        shard["parallel"].as_u64().is_some_and(|n| n >= 2),
        "{shard}"
    );
    let script = commands(shard);
    assert!(
        script.contains(r#"ci/matrix/shard.sh "$CI_NODE_INDEX" "$CI_NODE_TOTAL" out"#),
        "{script}"
    );
    assert_eq!(shard["artifacts"]["when"], "always");
    assert_eq!(shard["artifacts"]["paths"], serde_json::json!(["out/"]));
    let merge = &doc["packetdrill-merge"];
    assert_eq!(merge["stage"], "merge");
    assert_eq!(merge["when"], "always");
    assert_eq!(merge["needs"][0]["job"], "packetdrill-shard");
    assert_eq!(merge["needs"][0]["artifacts"], true);
    let script = commands(merge);
    assert!(script.contains("ci/matrix/merge.sh out"), "{script}");
    assert_eq!(merge["artifacts"]["reports"]["junit"], "out/junit.xml");
    scripts_exist(&(commands(shard) + &script));
}

#[test]
fn the_matrix_scripts_parse() {
    for name in ["shard.sh", "merge.sh", "play.sh", "nipa-fanout.sh"] {
        let out = Command::new("sh")
            .arg("-n")
            .arg(matrix(name))
            .output()
            .unwrap();
        assert!(out.status.success(), "{name}: {out:?}");
        let usage = Command::new(matrix(name)).output().unwrap();
        assert_eq!(
            usage.status.code(),
            Some(2),
            "{name} without arguments: {usage:?}"
        );
    }
}

/// A command with the test's tag and a private state folder.
fn command(program: &Path, state: &Path) -> Command {
    let mut c = Command::new(program);
    c.env(common::TAG_VAR, common::new_tag("ci-matrix"))
        .env("XDG_STATE_HOME", state)
        .env("NETDRILL", common::BIN)
        .env("NETDRILL_ARGS", "--filter syscall_bad_arg")
        .env_remove("KSFT_MACHINE_SLOW")
        .env_remove("PARTITION");
    c
}

/// The KTAP of one run of the same jobs.
fn single_ktap(state: &Path) -> String {
    let seed = corpus("seed");
    let out = common::netdrill(
        &[
            "run",
            seed.to_str().unwrap(),
            "--filter",
            "syscall_bad_arg",
            "--no-progress",
            "--ktap",
            "-",
        ],
        &common::new_tag("ci-matrix"),
        state,
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// A KTAP document's plans, results and totals, without the diagnostics of
/// failed attempts: a job that flakes under load in one run and not in the
/// other has the same result, and that is what the matrix must keep.
fn results_only(ktap: &str) -> String {
    ktap.lines()
        .filter(|l| {
            let l = l.trim_start_matches("# ");
            [
                "TAP version",
                "1..",
                "ok ",
                "not ok ",
                "selftests:",
                "timeout set",
                "# Totals",
                "Totals",
            ]
            .iter()
            .any(|p| l.starts_with(p))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn says(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn play_runs_the_matrix_as_processes_and_merges() {
    require_root();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let out_dir = dir.path().join("out");
    let seed = corpus("seed");
    let out = command(&matrix("play.sh"), &state)
        .arg("3")
        .arg(&out_dir)
        .arg(&seed)
        .env("PARTITION", "count")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", says(&out));
    for k in 1..=3 {
        let status = std::fs::read_to_string(out_dir.join(format!("shard-{k}/status"))).unwrap();
        assert_eq!(status.trim(), "0", "shard {k}");
        let doc = std::fs::read_to_string(out_dir.join(format!("shard-{k}/results.json"))).unwrap();
        assert!(doc.contains(&format!("\"index\": {k}")), "{doc}");
    }
    let merged = std::fs::read_to_string(out_dir.join("ktap.txt")).unwrap();
    assert_eq!(results_only(&merged), results_only(&single_ktap(&state)));
    assert!(out_dir.join("junit.xml").is_file());

    // The merge job after a shard whose upload was lost.
    std::fs::remove_file(out_dir.join("shard-3/results.json")).unwrap();
    let out = command(&matrix("merge.sh"), &state)
        .arg(&out_dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", says(&out));
    assert!(
        says(&out).contains("incomplete: shard count:3/3"),
        "{}",
        says(&out)
    );
}

#[test]
fn nipa_fanout_runs_a_shard_per_vm_and_merges() {
    require_root();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    // `ssh VM COMMAND` and `scp -r VM:PATH DEST`, with every VM this machine.
    let ssh = common::write(&bin, "ssh", "#!/bin/sh\nshift\nexec sh -c \"$*\"\n");
    let scp = common::write(
        &bin,
        "scp",
        "#!/bin/sh\n[ \"$1\" = -r ] && shift\nexec cp -r \"${1#*:}\" \"$2\"\n",
    );
    for f in [&ssh, &scp] {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let out_dir = dir.path().join("results");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = command(&matrix("nipa-fanout.sh"), &state)
        .arg(&out_dir)
        .args(["vm1", "vm2"])
        .env("SSH", &ssh)
        .env("SCP", &scp)
        .env("REMOTE_DIR", &repo)
        .env("REMOTE_OUT", dir.path().join("on-the-vms"))
        .env("SUITE", corpus("seed"))
        .env("NETDRILL_LOCAL", common::BIN)
        .env(
            "NETDRILL_ARGS",
            "--filter syscall_bad_arg --executor netdrill-packetdrill",
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", says(&out));
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("results.json")).unwrap())
            .unwrap();
    assert_eq!(doc["executor"], "netdrill-packetdrill");
    let shards = doc["netdrill"]["shards"].as_array().unwrap();
    assert_eq!(shards.len(), 2);
    assert!(shards
        .iter()
        .all(|s| s["kind"] == "hash" && s["count"] == 2));
    let merged = std::fs::read_to_string(out_dir.join("ktap.txt")).unwrap();
    assert_eq!(results_only(&merged), results_only(&single_ktap(&state)));
}
