#!/usr/bin/env bash
# The test command (README.md gives it; .ci/run runs it): the whole test suite,
# between two snapshots of the host (ci/host-state.sh), which must be the same.
# Arguments go to cargo nextest (e.g. -E 'test(name)').
set -uo pipefail

cd "$(dirname "$0")/.."
state=$(mktemp -d -t netdrill-host-state.XXXXXX)
tag="test-$$-$(date +%s)"
ci/host-state.sh snapshot "$state/before" || exit 2

NETDRILL_HOST_CHECK=$tag cargo nextest run --workspace --release --no-fail-fast "$@"
tests=$?

# What the run started is given a moment to go (killed jobs are reaped).
for _ in 1 2 3 4 5 6 7 8 9 10; do
	ci/host-state.sh snapshot "$state/after" "$tag"
	[ -s "$state/after/processes" ] || break
	sleep 1
done
ci/host-state.sh compare "$state/before" "$state/after"
host=$?
if [ "$host" -eq 0 ]; then
	rm -rf "$state"
else
	echo "host-state check: both snapshots and the differences are in $state"
fi
if [ "$tests" -ne 0 ]; then exit "$tests"; fi
exit "$host"
