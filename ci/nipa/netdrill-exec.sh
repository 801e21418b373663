#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# A netdev CI (NIPA) executor step: NIPA's contest/remote/exec.py runs this from the
# kernel tree it checked out, with BRANCH, BASE and RESULTS_DIR in the environment,
# keeps its stdout and stderr, and turns the exit status into the test's result
# (0 pass, 4 skip, 5 warn, anything else fail). See remote.config beside this file.
#
# It runs the tree's packetdrill selftests with netdrill and leaves in RESULTS_DIR:
#   ktap.txt      kselftest-shaped TAP (also printed on stdout)
#   junit.xml     JUnit XML
#   results.json  a NIPA run file (executor, branch, start, end, results with nested
#                 per-IP-version results and retries), for executors that ingest it
#   artifacts/    per failed attempt: log, pcap, expected vs actual, replay command
#
# Environment (all optional but RESULTS_DIR):
#   NETDRILL            the netdrill binary (default: netdrill on PATH)
#   NETDRILL_SUITE      the suite folder (default: tools/testing/selftests/net/packetdrill)
#   NETDRILL_EXECUTOR   the executor name written into results.json
#                       (default: netdrill-packetdrill)
#   NETDRILL_ARGS       extra `netdrill run` arguments (e.g. "--retries 1")
#   KSFT_MACHINE_SLOW   as in kselftest: slow machine, timing failures are expected
set -u

netdrill=${NETDRILL:-netdrill}
suite=${NETDRILL_SUITE:-tools/testing/selftests/net/packetdrill}
executor=${NETDRILL_EXECUTOR:-netdrill-packetdrill}
out=${RESULTS_DIR:?RESULTS_DIR must be set (NIPA exec.py sets it)}

mkdir -p "$out"
# NETDRILL_ARGS is split into words on purpose.
# shellcheck disable=SC2086
"$netdrill" run "$suite" \
	--ktap "$out/ktap.txt" \
	--junit "$out/junit.xml" \
	--json "$out/results.json" \
	--artifacts "$out/artifacts" \
	${NETDRILL_ARGS:-}
rc=$?

if [ -f "$out/ktap.txt" ]; then
	cat "$out/ktap.txt"
fi

# Name the executor and the branch in the run file, as NIPA's collector expects.
if [ -f "$out/results.json" ]; then
	NIPA_EXECUTOR="$executor" python3 - "$out/results.json" <<'EOF' || rc=1
import json, os, sys
path = sys.argv[1]
with open(path) as f:
    doc = json.load(f)
doc["executor"] = os.environ["NIPA_EXECUTOR"]
if os.environ.get("BRANCH"):
    doc["branch"] = os.environ["BRANCH"]
with open(path, "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")
EOF
fi

# A run in which every script was skipped is a skip for NIPA (exit status 4), as
# kselftest reports it; otherwise netdrill's status decides: 0 pass, else fail.
if [ -f "$out/ktap.txt" ]; then
	totals=$(grep '^# Totals: ' "$out/ktap.txt" | tail -n 1)
	case "$totals" in
	"# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:"[1-9]*" error:0") exit 4 ;;
	esac
fi
if [ "$rc" -eq 0 ]; then
	exit 0
fi
exit 1
