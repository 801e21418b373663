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
#
# SUITE defaults to the kernel's packetdrill selftests of KERNEL_TREE (default
# /usr/src/linux) and this repository's suites/.
# Environment: NETDRILL (the binary, default netdrill on PATH), OUT (default
# nightly/<UTC date>), NIGHTLY_ARGS (extra `netdrill run` arguments).
# Exit status: netdrill's (0 when everything passed or was expected to fail).
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
netdrill=${NETDRILL:-netdrill}
out=${OUT:-nightly/$(date -u +%Y-%m-%dT%H%M%SZ)}

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
	${NIGHTLY_ARGS:-}
rc=$?
echo "$rc" >"$out/exit-status"

echo "nightly: reports in $out (netdrill exit status $rc)"
exit "$rc"
