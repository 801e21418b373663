//! netdrill's JSON as NIPA's per-test result file, end to end: `ci/nipa/`'s
//! executor step runs the real netdrill on a kernel tree's packetdrill folder
//! with a kernel log that reports a warning while a job runs (a pipe given to
//! the hidden `--kernel-log`; the host's log is only ever read), and the run
//! file it leaves is checked against what NIPA's result collector and UI read:
//! per-script rows with nested per-IP-version rows, retries, crashes, links,
//! the executor and the branch, times in microseconds.
//!
//! With `NIPA_DIR` set to a checkout of NIPA (linux-netdev/nipa), the same run
//! also goes through NIPA's own code: its `Fetcher` (contest/remote/lib/
//! fetcher.py) runs `ci/nipa/netdrill_executor.py`'s callback and writes the
//! manifest and run file as a NIPA executor does, then the result collector's
//! functions (contest/results-collector.py: manifest checks, `result_flatten`,
//! `apply_stability`, the JSON split it stores) read them. Its database and
//! network calls are left out (their modules are stubbed). Without `NIPA_DIR`
//! that part says so and checks nothing more.

mod common;

use common::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const PASS: &str = "--dry_run\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n";
const BAD: &str = "0 socket(..., SOCK_STREAM IPPROTO_TCP = 3\n";
/// Busy for three seconds: the kernel warning comes while it runs, two seconds
/// in (the other jobs ended more than a second before).
const HOLD: &str =
    "--tolerance_usecs=500000\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+3 close(3) = 0\n";

const BRANCH: &str = "net-next-2025-08-01--00-00";
const LINK: &str = "https://runner.example/nipa/results/29243";
const FINGERPRINT: &str = "tcp_write_xmit:__tcp_push_pending_frames:tcp_sendmsg_locked";

/// A kernel warning as `/dev/kmsg` records.
fn warning_records() -> String {
    [
        "------------[ cut here ]------------",
        "WARNING: CPU: 1 PID: 3163 at net/ipv4/tcp_output.c:1234 tcp_write_xmit+0x90a/0xb10",
        "RIP: 0010:tcp_write_xmit+0x90a/0xb10",
        "Call Trace:",
        " <TASK>",
        " ? __warn+0x80/0x120",
        " __tcp_push_pending_frames+0x2c/0x40",
        " tcp_sendmsg_locked+0x221/0x2a0",
        " </TASK>",
        "---[ end trace 0000000000000000 ]---",
    ]
    .iter()
    .enumerate()
    .map(|(i, l)| format!("4,{},{},-;{l}\n", 900 + i, 81_000_000 + i))
    .collect()
}

/// A kernel tree whose packetdrill folder has a passing, a failing and a slow
/// script.
fn tree(root: &Path) -> PathBuf {
    let tree = root.join("linux");
    let suite = tree.join("tools/testing/selftests/net/packetdrill");
    write(&suite, "pass.pkt", PASS);
    write(&suite, "bad.pkt", BAD);
    write(&suite, "hold.pkt", HOLD);
    tree
}

/// A pipe standing in for `/dev/kmsg`, held open for writing (so netdrill never
/// sees it end), that gets a warning two seconds from now.
fn kernel_log(root: &Path) -> (PathBuf, std::thread::JoinHandle<()>) {
    let fifo = root.join("kmsg");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let mut writer = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&fifo)
        .unwrap();
    let handle = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(2000));
        writer.write_all(warning_records().as_bytes()).unwrap();
        // Held open until the run is surely over.
        std::thread::sleep(Duration::from_secs(8));
    });
    (fifo, handle)
}

/// `ci/nipa/netdrill-exec.sh` as NIPA runs it, with the real netdrill.
fn exec_step(tmp: &Path, tag: &str) -> PathBuf {
    let tree = tree(tmp);
    let (fifo, writer) = kernel_log(tmp);
    let results = tmp.join("results/29243");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let out = Command::new(repo.join("ci/nipa/netdrill-exec.sh"))
        .current_dir(&tree)
        .env("NETDRILL", BIN)
        .env("RESULTS_DIR", &results)
        .env("BRANCH", BRANCH)
        .env("BASE", "/srv/nipa/base")
        .env("NETDRILL_LINK", LINK)
        .env(
            "NETDRILL_ARGS",
            format!(
                "--retries 1 -j 4 --no-progress --kernel-log {}",
                fifo.display()
            ),
        )
        .env(TAG_VAR, tag)
        .env("XDG_STATE_HOME", tmp)
        .env_remove("KSFT_MACHINE_SLOW")
        .output()
        .unwrap();
    writer.join().unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    results
}

#[test]
fn netdrills_json_is_nipas_per_test_result_file() {
    let before = HostSnapshot::take();
    let tmp = tempfile::tempdir().unwrap();
    let tag = new_tag("nipa");
    let results = exec_step(tmp.path(), &tag);
    let text = std::fs::read_to_string(results.join("results.json")).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["executor"], "netdrill-packetdrill");
    assert_eq!(doc["branch"], BRANCH);
    assert_eq!(doc["link"], LINK);
    assert!(doc.get("incomplete").is_none(), "{text}");
    let rows = doc["results"].as_array().unwrap();
    let row = |test: &str| rows.iter().find(|r| r["test"] == test).unwrap().clone();
    assert_eq!(rows.len(), 3);
    for r in rows {
        assert_eq!(r["group"], "selftests-net-packetdrill");
        let subtests: Vec<&str> = r["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["test"].as_str().unwrap())
            .collect();
        assert_eq!(subtests, ["ipv4", "ipv6"], "{r}");
    }
    // The failure and its retry, per script and per IP version, linked to its
    // artifacts folder.
    let bad = row("bad-pkt");
    assert_eq!(
        (&bad["result"], &bad["retry"]),
        (&"fail".into(), &"fail".into())
    );
    assert_eq!(bad["results"][1]["retry"], "fail");
    assert_eq!(
        bad["link"],
        format!("{LINK}/artifacts/packetdrill/bad.pkt/")
    );
    assert!(results
        .join("artifacts/packetdrill/bad.pkt/ipv4/attempt-2")
        .is_dir());
    // The kernel warning came while hold.pkt's jobs ran: a crash, a failure.
    let hold = row("hold-pkt");
    assert_eq!(hold["crashes"], serde_json::json!([FINGERPRINT]), "{hold}");
    assert_eq!(hold["result"], "fail");
    assert!(hold.get("retry").is_none(), "{hold}");
    let pass = row("pass-pkt");
    assert_eq!(pass["result"], "pass");
    assert!(pass.get("crashes").is_none());
    assert_eq!(pass["link"], LINK);
    // Times in microseconds.
    for r in rows {
        let t = r["time"].as_f64().unwrap();
        assert_eq!((t * 1e6).round() / 1e6, t, "{r}");
        for s in r["results"].as_array().unwrap() {
            let t = s["time"].as_f64().unwrap();
            assert_eq!((t * 1e6).round() / 1e6, t, "{s}");
        }
    }
    assert_nothing_left(&tag, &before);
}

/// NIPA's own code, from `NIPA_DIR`, on a run made by its own Fetcher.
const HARNESS: &str = r#"
import configparser, datetime, importlib.util, json, os, sys, types

nipa, repo, work = sys.argv[1:4]
# NIPA's network and database modules are not used here: stand-ins.
sys.modules['requests'] = types.ModuleType('requests')
pg = types.ModuleType('psycopg2')
pg.errors = types.SimpleNamespace(UniqueViolation=Exception)
sys.modules['psycopg2'] = pg

def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod

fetcher = load('nipa_fetcher', os.path.join(nipa, 'contest/remote/lib/fetcher.py'))
executor = load('netdrill_executor', os.path.join(repo, 'ci/nipa/netdrill_executor.py'))
collector = load('nipa_collector', os.path.join(nipa, 'contest/results-collector.py'))

config = configparser.ConfigParser()
config.read_dict({
    'executor': {'name': 'netdrill-packetdrill', 'group': 'selftests-net-packetdrill'},
    'bin': {'exec': os.path.join(repo, 'ci/nipa/netdrill-exec.sh')},
    'local': {'base_path': work, 'json_path': 'jsons', 'results_path': 'results',
              'tree_path': os.path.join(work, 'linux')},
    'www': {'url': 'https://runner.example/nipa'},
})
os.makedirs(os.path.join(work, 'jsons'))
f = fetcher.Fetcher(executor.netdrill_rows, config, name='netdrill-packetdrill',
                    branches_url=None, results_path=os.path.join(work, 'jsons'),
                    url_path='https://runner.example/nipa/jsons',
                    tree_path=os.path.join(work, 'linux'), patches_path=None,
                    life=None, first_run='force')
binfo = {'branch': 'net-next-2025-08-01--00-00', 'base': 'abc', 'date': '2025-08-01T00:00:00+00:00'}
f._run_test(binfo, 'net-next-2025-08-01--00-00')

manifest = json.load(open(os.path.join(work, 'jsons/results.json')))
collector.validate_manifest_result_basenames(manifest)
entry = manifest[0]
run = json.load(open(os.path.join(work, 'jsons', os.path.basename(entry['url']))))
assert collector.result_matches_manifest_entry(run, entry), (run, entry)
datetime.datetime.fromisoformat(run['start']); datetime.datetime.fromisoformat(run['end'])
datetime.datetime.strptime(run['branch'][-17:], '%Y-%m-%d--%H-%M')
run['remote'] = 'test-remote'
flat = collector.result_flatten(run)
print('flat', len(flat), sum(1 for r in flat if r['result']))
for r in flat:
    print('row', r['group'], r['test'], r['subtest'], r['result'])

class Stub:
    def __init__(self, unstable):
        self.unstable = unstable
    def psql_get_unstable(self, data):
        return self.unstable

# Nothing unstable: the run is stored as it is.
normal, full = collector.FetcherState.psql_json_split(Stub({}), json.loads(json.dumps(run)))
print('split', full is not None, len(json.loads(normal)['results']))
# An unstable failing subtest filtered away: NIPA flips the row as it does for HW runners.
data = json.loads(json.dumps(run))
key = ('selftests-net-packetdrill', 'bad-pkt', 'ipv6')
collector.apply_stability(Stub({key: {}}), data, {})
bad = [t for t in data['results'] if t['test'] == 'bad-pkt'][0]
print('filtered', [c['test'] for c in bad['results']], bad['result'])
crash = [t for t in run['results'] if t['test'] == 'hold-pkt'][0]
print('crashes', crash.get('crashes'))
flake = [t for t in run['results'] if t.get('result') == 'fail' and t.get('retry') == 'pass' and not t.get('crashes')]
print('flakes', len(flake))
"#;

#[test]
fn nipas_own_fetcher_and_collector_take_the_run() {
    let Some(nipa) = std::env::var_os("NIPA_DIR") else {
        println!("NIPA_DIR is not set: NIPA's own code is not run (the contract test still is)");
        return;
    };
    let before = HostSnapshot::take();
    let tag = new_tag("nipa-own");
    let tmp = tempfile::tempdir().unwrap();
    tree(tmp.path());
    let (fifo, writer) = kernel_log(tmp.path());
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let out = Command::new("python3")
        .arg("-c")
        .arg(HARNESS)
        .arg(&nipa)
        .arg(repo)
        .arg(tmp.path())
        .env("NETDRILL", BIN)
        .env(
            "NETDRILL_ARGS",
            format!(
                "--retries 1 -j 4 --no-progress --kernel-log {}",
                fifo.display()
            ),
        )
        .env(TAG_VAR, &tag)
        .env("XDG_STATE_HOME", tmp.path())
        .env_remove("KSFT_MACHINE_SLOW")
        .output()
        .unwrap();
    writer.join().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    // 3 scripts + 6 IP versions; passing: pass.pkt and its 2 versions, and
    // hold.pkt's 2 versions (the script itself failed: a kernel crash).
    assert_eq!(lines[0], "flat 9 5", "{stdout}");
    assert!(
        lines.contains(&"row selftests-net-packetdrill bad-pkt ipv6 False"),
        "{stdout}"
    );
    assert!(
        lines.contains(&"row selftests-net-packetdrill hold-pkt None False"),
        "{stdout}"
    );
    // Stored as the collector stores a run: a normal form (no nested rows) and
    // the full one.
    assert!(lines.contains(&"split True 3"), "{stdout}");
    assert!(lines.contains(&"filtered ['ipv4'] fail"), "{stdout}");
    assert!(
        lines.contains(&format!("crashes ['{FINGERPRINT}']").as_str()),
        "{stdout}"
    );
    assert!(lines.contains(&"flakes 0"), "{stdout}");
    assert_nothing_left(&tag, &before);
}
