#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# A netdev CI (NIPA) executor step. It runs from the kernel tree NIPA checked out,
# with BRANCH, BASE and RESULTS_DIR in the environment, either under NIPA's generic
# contest/remote/exec.py (which keeps stdout and stderr and turns the exit status
# into one result: 0 pass, 4 skip, 5 warn, anything else fail), or under
# netdrill_executor.py beside this file, which publishes the per-test rows netdrill
# writes into results.json as they are.
#
# It runs the tree's packetdrill selftests with netdrill and leaves in RESULTS_DIR:
#   ktap.txt      kselftest-shaped TAP (also printed on stdout)
#   junit.xml     JUnit XML
#   results.json  a NIPA run file written by netdrill itself: executor, branch,
#                 link, and per script a result row with its nested per-IP-version
#                 rows, retries, kernel crashes and links (see ci/README.md)
#   artifacts/    per failed attempt: log, pcap, expected vs actual, replay command
# The reports are written while the run goes on, so a run that dies leaves them.
#
# Environment (all optional but RESULTS_DIR):
#   NETDRILL            the netdrill binary (default: netdrill on PATH)
#   NETDRILL_SUITE      the suite folder (default: tools/testing/selftests/net/packetdrill)
#   NETDRILL_EXECUTOR   the executor name written into results.json
#                       (default: netdrill-packetdrill)
#   NETDRILL_LINK       the URL at which RESULTS_DIR is published (results.json's links)
#   NETDRILL_ARGS       extra `netdrill run` arguments (e.g. "--retries 1")
#   KSFT_MACHINE_SLOW   as in kselftest: slow machine, timing failures are expected
set -u

netdrill=${NETDRILL:-netdrill}
suite=${NETDRILL_SUITE:-tools/testing/selftests/net/packetdrill}
executor=${NETDRILL_EXECUTOR:-netdrill-packetdrill}
out=${RESULTS_DIR:?RESULTS_DIR must be set (NIPA exec.py sets it)}

mkdir -p "$out"
set -- run "$suite" \
	--ktap "$out/ktap.txt" \
	--junit "$out/junit.xml" \
	--json "$out/results.json" \
	--artifacts "$out/artifacts" \
	--executor "$executor"
if [ -n "${BRANCH:-}" ]; then
	set -- "$@" --branch "$BRANCH"
fi
if [ -n "${NETDRILL_LINK:-}" ]; then
	set -- "$@" --link "$NETDRILL_LINK"
fi
# NETDRILL_ARGS is split into words on purpose.
# shellcheck disable=SC2086
"$netdrill" "$@" ${NETDRILL_ARGS:-}
rc=$?

if [ -f "$out/ktap.txt" ]; then
	cat "$out/ktap.txt"
fi

# netdrill's status is kselftest's: 0 pass, 4 every script skipped (or none found);
# anything else (1 a failure, 2 usage, 96 setup, 110 a report not written, 128+N a
# signal) is a failure for NIPA.
case "$rc" in
0 | 4) exit "$rc" ;;
*) exit 1 ;;
esac
