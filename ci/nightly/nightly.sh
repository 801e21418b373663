#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Nightly regression run: every given suite with netdrill, one retry for failures
# (a failure that passes on retry is reported as flaky, never hidden), and every
# report kept in one dated folder:
#
#   ci/nightly/nightly.sh [SUITE...]
#
#   OUT/ktap.txt            kselftest-shaped TAP
#   OUT/junit.xml           JUnit XML (flaky retries as flakyFailure, xfail as typed skipped)
#   OUT/results.json        NIPA run file with every attempt, its timing and diagnostic
#   OUT/artifacts/          per failed attempt: log.txt, packets.pcap,
#                           expected-vs-actual.txt, replay.sh
#   OUT/exit-status         netdrill's exit status
#   OUT/digest.md           the history's digest after this run: regressions, fixed,
#                           flaky, counts (also printed)
#   HISTORY/                one read-only record per run (`netdrill run --record`)
#   DASHBOARD               the history's page, regenerated after each run
#
# SUITE defaults to the kernel's packetdrill selftests of KERNEL_TREE (default
# /usr/src/linux) and this repository's suites/.
# Environment: NETDRILL (the binary, default netdrill on PATH), OUT (default
# nightly/<UTC date>), HISTORY (default: history/ beside OUT), DASHBOARD (default:
# index.html beside OUT), NIGHTLY_ARGS (extra `netdrill run` arguments).
# Exit status: netdrill's (0 when everything passed or was expected to fail).
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
netdrill=${NETDRILL:-netdrill}
out=${OUT:-nightly/$(date -u +%Y-%m-%dT%H%M%SZ)}
history=${HISTORY:-$(dirname "$out")/history}
dashboard=${DASHBOARD:-$(dirname "$out")/index.html}

if [ $# -eq 0 ]; then
	kernel_suite=${KERNEL_TREE:-/usr/src/linux}/tools/testing/selftests/net/packetdrill
	if [ -d "$kernel_suite" ]; then
		set -- "$kernel_suite"
	fi
	if [ -d "$repo/suites" ]; then
		set -- "$@" "$repo/suites"
	fi
	if [ $# -eq 0 ]; then
		echo "nightly: no suite found; name one (e.g. tools/testing/selftests/net/packetdrill)" >&2
		exit 2
	fi
fi

mkdir -p "$out"
# NIGHTLY_ARGS is split into words on purpose.
# shellcheck disable=SC2086
"$netdrill" run "$@" \
	--retries 1 \
	--ktap "$out/ktap.txt" \
	--junit "$out/junit.xml" \
	--json "$out/results.json" --json-full \
	--artifacts "$out/artifacts" \
	--record "$history" \
	${NIGHTLY_ARGS:-}
rc=$?
echo "$rc" >"$out/exit-status"

# The page and the digest of the whole history, this run included. A record
# that cannot be read is named on stderr and left out; the report's own status
# (1 when the latest run has a regression) does not change the night's.
"$netdrill" report "$history" --html "$dashboard" --summary="$out/digest.md"
cat "$out/digest.md" 2>/dev/null

echo "nightly: reports in $out, history in $history, dashboard $dashboard (netdrill exit status $rc)"
exit "$rc"
