#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Benchmark of `netdrill run` on a suite (issue 5), run by hand, not by CI:
#
#   ci/bench.sh [--rounds N] [--suite DIR] [--high-jobs N] [--netdrill BIN]
#               [--keep DIR] [-- EXTRA NETDRILL RUN ARGUMENTS]
#
# With `netdrill run --json-full` it does
#   (a) one run at -j 1: every job's duration, their sum and the longest job (its
#       longest attempt: a retry is another run of the script);
#   (b) the wall time of a run at the default -j, against the longest job and the sum;
#   (c) N runs at the default -j and N at -j 16 (--high-jobs), counting the jobs that
#       failed, those of them that passed at -j 1, and those whose verdict differs
#       from the -j 1 run;
#   (d) CPU seconds per job, the peak memory of one job and of the runner;
#   (e) with the suite's EXPECTED.tsv: per default -j run, the rows it says pass whose
#       first attempt failed (the first-attempt turn rate) and those that ended
#       failed (after netdrill's quiet retry), and the flaky rows;
#   (f) the jobs whose verdict differs between -j 1 and the default -j;
# prints the figures as tables, then the targets (0 failures at the default -j over
# the rounds, counting the jobs that passed at -j 1: a script that fails alone fails
# on this kernel, wall time at most 2x the longest job, CPU time well under the job's
# duration, no verdict differing from -j 1).
#
# --suite defaults to ../shared/corpus/kselftest beside the repository; --rounds to 10
# (--rounds 1 is a quick try); --netdrill to target/release/netdrill (under
# CARGO_TARGET_DIR when set) when it is built, else netdrill on PATH (NETDRILL in the
# environment works too). --keep DIR keeps every run's JSON report in DIR. Needs root (or the capabilities `netdrill run` needs),
# python3, and an otherwise idle machine.
#
# Exit status: 0 when every target is met, 1 when one is missed, 2 when a run could
# not be made (usage error, preflight refused, interrupted).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
export BENCH_REPO="$repo"

exec python3 - "$@" <<'PY'
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

repo = os.environ["BENCH_REPO"]


def default_netdrill():
    if os.environ.get("NETDRILL"):
        return os.environ["NETDRILL"]
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(repo, "target")
    built = os.path.join(target, "release", "netdrill")
    if os.access(built, os.X_OK):
        return built
    return shutil.which("netdrill") or "netdrill"


parser = argparse.ArgumentParser(
    prog="ci/bench.sh",
    description="Benchmark netdrill run on a suite: durations, wall time, "
    "failures over rounds, CPU and memory.",
)
parser.add_argument("--rounds", type=int, default=10,
                    help="runs at the default -j and at --high-jobs (default 10)")
parser.add_argument("--suite", default=os.path.join(repo, "..", "shared", "corpus", "kselftest"),
                    help="the suite folder (default ../shared/corpus/kselftest)")
parser.add_argument("--high-jobs", type=int, default=16, help="the high -j (default 16)")
parser.add_argument("--netdrill", default=default_netdrill(), help="the netdrill binary")
parser.add_argument("--keep", help="keep every run's JSON report in this folder")
parser.add_argument("extra", nargs="*", help="after --: more `netdrill run` arguments")
args = parser.parse_args()
if args.rounds < 1 or args.high_jobs < 1:
    parser.error("--rounds and --high-jobs must be at least 1")
suite = os.path.abspath(args.suite)
if not os.path.isdir(suite):
    parser.error(f"--suite {suite}: no such folder")

work = args.keep or tempfile.mkdtemp(prefix="netdrill-bench-")
os.makedirs(work, exist_ok=True)
# Past durations (longest-first ordering) are learnt within the bench, from its
# own -j 1 run on, and never touch the user's state.
env = dict(os.environ, XDG_STATE_HOME=os.path.join(work, "state"))

SUCCESS = {"pass", "flaky", "skip", "xfail"}


def die(message):
    print(f"ci/bench.sh: {message}", file=sys.stderr)
    print(f"ci/bench.sh: the runs so far are in {work}", file=sys.stderr)
    sys.exit(2)


def vm_hwm_kib(pid):
    """The process's own peak resident memory so far (VmHWM), or None."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def run(label, jobs):
    """One `netdrill run`; returns its figures and per-job results."""
    out = os.path.join(work, f"{label}.json")
    cmd = [args.netdrill, "run", suite, "--no-progress", "--json", out, "--json-full"]
    if jobs is not None:
        cmd += ["-j", str(jobs)]
    cmd += args.extra
    print(f"  {label}: {' '.join(cmd[1:])}", file=sys.stderr, flush=True)
    log_path = os.path.join(work, f"{label}.log")
    with open(log_path, "w") as log:
        start = time.monotonic()
        try:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        except OSError as e:
            die(f"{args.netdrill}: {e.strerror} (build it with `cargo build --release`, or "
                "name it with --netdrill)")
        hwm = 0
        # Poll the runner's own peak memory until it exits; reap it with wait4
        # for its resource usage.
        while True:
            h = vm_hwm_kib(proc.pid)
            if h is not None:
                hwm = max(hwm, h)
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid != 0:
                break
            time.sleep(0.05)
        wall = time.monotonic() - start
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code
    if code not in (0, 1):
        with open(log_path) as f:
            tail = f.read()[-2000:]
        die(f"`{' '.join(cmd)}` exited with {code}:\n{tail}")
    try:
        with open(out) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        die(f"{out}: {e}")
    details = doc.get("netdrill")
    if details is None:
        die(f"{out} has no `netdrill` details (is --json-full supported?)")
    jobs_out = {}
    for test in doc["results"]:
        for sub in test.get("results", []):
            d = sub.get("netdrill")
            if d is None:
                continue
            key = f"{d['suite']}/{d['script']} {sub['test']}"
            attempts = d.get("attempts", [])
            jobs_out[key] = {
                "verdict": d["verdict"],
                "duration": sum(a["duration_secs"] for a in attempts),
                # One run of the script: its longest attempt (a retry is another run).
                "attempt": max((a["duration_secs"] for a in attempts), default=0.0),
                "cpu": sum(a.get("cpu_secs") or 0.0 for a in attempts) if attempts else None,
                "rss": max((a.get("max_rss_kib") or 0 for a in attempts), default=None),
                "line": attempts[-1].get("line") if attempts else None,
                "first": attempts[0].get("result") if attempts else None,
            }
    return {
        "label": label,
        "jobs_at_once": details["jobs_at_once"],
        "wall": wall,
        "runner_hwm_kib": hwm,
        # wait4's peak: the largest of the runner and every job it reaped.
        "tree_maxrss_kib": usage.ru_maxrss,
        "jobs": jobs_out,
        "exit": code,
    }


def numeric(text):
    """A figure: a number with at most a unit, or `-`."""
    return text == "-" or re.fullmatch(r"-?\d+(\.\d+)?( ?(s|x|%|MiB))?", text) is not None


def table(title, header, rows):
    """Columns of figures right-aligned, the others left-aligned."""
    print(f"\n{title}")
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    right = [i > 0 and all(numeric(str(r[i])) for r in rows) for i in range(len(header))]
    fmt = "  ".join("{:>%d}" % w if r else "{:<%d}" % w for w, r in zip(widths, right))
    print(("  " + fmt.format(*header)).rstrip())
    print("  " + "  ".join("-" * w for w in widths))
    for r in rows:
        print(("  " + fmt.format(*r)).rstrip())


def secs(x):
    return "-" if x is None else f"{x:.2f}"


def mib(kib):
    return "-" if not kib else f"{kib / 1024:.1f} MiB"


shim = None
for d in os.environ.get("PATH", "").split(os.pathsep):
    p = os.path.join(d or ".", "python3")
    if os.path.isfile(p) and os.access(p, os.X_OK):
        with open(p, "rb") as f:
            shim = p if f.read(2) == b"#!" else None
        break
print(f"host: {os.cpu_count()} CPUs, kernel {os.uname().release}"
      + (f"; python3 on PATH is a script ({shim}): every Python start pays for it"
         if shim else ""), file=sys.stderr)
print(f"netdrill bench: {suite}, {args.rounds} round(s); reports in {work}"
      + ("" if args.keep else " (removed at the end; --keep DIR keeps them)"), file=sys.stderr)
try:
    base = run("j1", 1)
    default_runs = [run(f"default-{i + 1}", None) for i in range(args.rounds)]
    high_runs = [run(f"j{args.high_jobs}-{i + 1}", args.high_jobs) for i in range(args.rounds)]
except KeyboardInterrupt:
    die("interrupted")
default_j = default_runs[0]["jobs_at_once"]

# (a) one at a time
jobs = base["jobs"]
ran = {k: v for k, v in jobs.items() if v["verdict"] != "skip"}
total = sum(v["duration"] for v in ran.values())
longest_key = max(ran, key=lambda k: ran[k]["attempt"]) if ran else None
longest = ran[longest_key]["attempt"] if longest_key else 0.0
counts = {}
for v in jobs.values():
    counts[v["verdict"]] = counts.get(v["verdict"], 0) + 1
table(
    "(a) one job at a time (-j 1)",
    ["figure", "value"],
    [
        ["jobs", str(len(jobs))],
        ["verdicts", ", ".join(f"{n} {v}" for v, n in sorted(counts.items()))],
        ["sum of job durations", f"{total:.2f} s"],
        ["longest job (one attempt)", f"{longest:.2f} s ({longest_key})"],
        ["wall time of the -j 1 run", f"{base['wall']:.2f} s"],
    ],
)
slowest = sorted(ran, key=lambda k: -ran[k]["duration"])[:5]
table("    the 5 longest jobs", ["job", "seconds", "verdict"],
      [[k, f"{ran[k]['duration']:.2f}", ran[k]["verdict"]] for k in slowest])

# (b) wall time at the default -j
walls = [r["wall"] for r in default_runs]
med = statistics.median(walls)
table(
    f"(b) wall time at the default -j ({default_j} at once)",
    ["figure", "value"],
    [
        ["wall time (median of rounds)", f"{med:.2f} s"],
        ["wall time (min .. max)", f"{min(walls):.2f} .. {max(walls):.2f} s"],
        ["/ longest job", f"{med / longest:.2f}x" if longest else "-"],
        ["/ sum of jobs", f"{med / total:.2f}x" if total else "-"],
    ],
)


# (c) failures over rounds
def failures(runs):
    """Per run: jobs that failed, of those the ones that passed at -j 1 (the
    failures parallelism caused), and jobs whose verdict differs from -j 1."""
    failed, new, differ = [], [], []
    for r in runs:
        f = [k for k, v in r["jobs"].items() if v["verdict"] not in SUCCESS]
        n = [k for k in f if k in jobs and jobs[k]["verdict"] in SUCCESS]
        d = [k for k, v in r["jobs"].items()
             if k in jobs and v["verdict"] != jobs[k]["verdict"]]
        failed.append(len(f))
        new.append(len(n))
        differ.append(len(d))
    return failed, new, differ


base_failed = sum(1 for v in jobs.values() if v["verdict"] not in SUCCESS)
rows = [["-j 1", "1", "1", str(base_failed), "-", "-", "-", f"{base['wall']:.2f}"]]
for name, runs in ((f"default (-j {default_j})", default_runs),
                   (f"-j {args.high_jobs}", high_runs)):
    failed, new, differ = failures(runs)
    rows.append([
        name, str(runs[0]["jobs_at_once"]), str(len(runs)),
        f"{sum(failed)} ({min(failed)}..{max(failed)} a run)",
        f"{sum(new)} ({min(new)}..{max(new)} a run)",
        str(sum(differ)), str(sum(1 for d in differ if d)),
        f"{statistics.median(r['wall'] for r in runs):.2f}",
    ])
table(
    "(c) failures over the rounds (a job failing at -j 1 too fails on this kernel, "
    "not because of parallelism)",
    ["runs", "-j", "rounds", "failed jobs", "of which passed at -j 1", "differ from -j 1",
     "rounds with a difference", "median wall s"],
    rows,
)

# (d) CPU and memory
cpu = [(k, v["cpu"], v["duration"]) for k, v in ran.items() if v["cpu"] is not None]
rss = [(k, v["rss"]) for k, v in ran.items() if v["rss"]]
all_rss = [v["rss"] for r in [base] + default_runs + high_runs
           for v in r["jobs"].values() if v["rss"]]
# A job's CPU time against its duration says whether the engine sleeps or spins
# where the script's own timing dominates, i.e. in jobs of a second or more; in
# shorter ones, starting the process and its namespaces weighs most.
long_ratios = [(k, c / d) for k, c, d in cpu if d >= 1.0]
rows = []
if cpu:
    ratios = [c / d for _, c, d in cpu if d > 0]
    worst = max(cpu, key=lambda x: x[1])
    rows += [
        ["CPU s per job (mean)", f"{statistics.mean(c for _, c, _ in cpu):.3f}"],
        ["CPU s per job (max)", f"{worst[1]:.3f} ({worst[0]})"],
        ["CPU s, all jobs (-j 1)", f"{sum(c for _, c, _ in cpu):.2f}"],
        ["CPU / duration, all jobs", f"{sum(c for _, c, _ in cpu) / total:.1%}" if total else "-"],
        ["CPU / duration (max, any job)", f"{max(ratios):.1%}" if ratios else "-"],
    ]
    if long_ratios:
        k, r = max(long_ratios, key=lambda x: x[1])
        rows.append([f"CPU / duration (max, jobs >= 1 s: {len(long_ratios)})", f"{r:.1%} ({k})"])
if rss:
    big = max(rss, key=lambda x: x[1])
    rows.append(["peak memory of one job (-j 1)", f"{mib(big[1])} ({big[0]})"])
if all_rss:
    rows.append(["peak memory of one job (all runs)", mib(max(all_rss))])
for name, runs in (("default -j", default_runs), (f"-j {args.high_jobs}", high_runs)):
    rows.append([f"runner's own peak ({name})",
                 mib(max(r["runner_hwm_kib"] for r in runs))])
    tree = [r["tree_maxrss_kib"] for r in runs if r["tree_maxrss_kib"]]
    rows.append([f"runner or any job, wait4 ({name})", mib(max(tree)) if tree else "-"])
table("(d) CPU and memory", ["figure", "value"], rows)

# The suite's EXPECTED.tsv, when it has one (the reference packetdrill's
# verdicts, each job run alone over several rounds: pass, fail or flaky).
expected = {}
try:
    with open(os.path.join(suite, "EXPECTED.tsv")) as f:
        for line in f.read().splitlines()[1:]:
            cols = line.split("\t")
            if len(cols) >= 3:
                expected[(cols[0], cols[1])] = cols[2]
except OSError:
    pass


def alone(key):
    script, ip = key.rsplit(" ", 1)
    return expected.get((script.split("/", 1)[-1], ip), "-")


# (e) against EXPECTED.tsv: rows packetdrill passes alone that end failed, rows
# whose first attempt failed (the first-attempt turn rate), and flaky rows.
expected_failed = []
if expected:
    rows, flaky_rows = [], {}
    for r in default_runs:
        passing = [k for k in r["jobs"] if alone(k) == "pass"]
        ended = [k for k in passing if r["jobs"][k]["verdict"] not in SUCCESS]
        turned = [k for k in passing if r["jobs"][k]["first"] not in (None, "pass")]
        for k, v in r["jobs"].items():
            if v["verdict"] == "flaky":
                flaky_rows.setdefault(k, 0)
                flaky_rows[k] += 1
        expected_failed.append(ended)
        rows.append([r["label"], str(len(passing)), str(len(turned)),
                     f"{len(turned) / len(passing):.1%}" if passing else "-",
                     str(len(ended)), ", ".join(sorted(ended)) or "-"])
    table("(e) rows EXPECTED.tsv says pass, at the default -j",
          ["run", "rows", "first attempt failed", "turn rate", "ended failed", "which"],
          rows)
    if flaky_rows:
        table("    flaky rows (failed, then passed on the retry)",
              ["job", "runs", "EXPECTED.tsv"],
              [[k, str(n), alone(k)] for k, n in sorted(flaky_rows.items())])
    else:
        print("    flaky rows: none")

# (f) verdicts that differ between -j 1 and the default -j
diffs = {}
for r in default_runs:
    for k, v in r["jobs"].items():
        if k in jobs and v["verdict"] != jobs[k]["verdict"]:
            diffs.setdefault(k, []).append(v["verdict"])
if diffs:
    table(
        f"(f) jobs whose verdict differs between -j 1 and the default -j ({len(diffs)})",
        ["job", "-j 1", f"default -j (rounds: {len(default_runs)})"]
        + (["packetdrill alone (EXPECTED.tsv)"] if expected else []),
        [[k, jobs[k]["verdict"],
          ", ".join(f"{v} x{vs.count(v)}" for v in sorted(set(vs)))]
         + ([alone(k)] if expected else [])
         for k, vs in sorted(diffs.items())],
    )
else:
    print("\n(f) jobs whose verdict differs between -j 1 and the default -j: none")

# Targets (issue 5)
d_failed, d_new, d_differ = failures(default_runs)
max_ratio = max((r for _, r in long_ratios), default=None)
targets = [
    ("0 failures over the default -j rounds (jobs passing at -j 1)", sum(d_new) == 0,
     f"{sum(d_new)} in {len(default_runs)} rounds"),
    ("wall time at the default -j <= 2x the longest job",
     longest > 0 and med <= 2 * longest, f"{med:.2f} s vs 2 x {longest:.2f} s"),
    ("no verdict differs between -j 1 and the default -j", not diffs, f"{len(diffs)} jobs"),
] + ([
    ("0 rows EXPECTED.tsv says pass end failed, in every default -j round",
     all(not e for e in expected_failed),
     f"{sum(len(e) for e in expected_failed)} in {len(default_runs)} rounds"),
] if expected else []) + [
    ("CPU time well under the duration (< 25%, jobs >= 1 s)",
     max_ratio is not None and max_ratio < 0.25,
     "-" if max_ratio is None else f"max {max_ratio:.1%}"),
]
table("targets", ["target", "met", "seen"],
      [[t, "yes" if ok else "NO", seen] for t, ok, seen in targets])
if not args.keep:
    shutil.rmtree(work, ignore_errors=True)
sys.exit(0 if all(ok for _, ok, _ in targets) else 1)
PY
