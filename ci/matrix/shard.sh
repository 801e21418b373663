#!/bin/sh
# One shard of a CI job matrix: `shard.sh K N OUT [SUITE...]` runs shard K of N of the
# suites (default: the kernel tree's tools/testing/selftests/net/packetdrill) with
# `netdrill run --partition KIND:K/N` and leaves its reports in OUT/shard-K/:
# ktap.txt, junit.xml, results.json (--json-full, what `netdrill merge` reads) and
# artifacts/. Exits with netdrill's status: a shard with failures still leaves its
# reports, and the merge job (merge.sh) runs whatever the shards' statuses.
#
# Environment: NETDRILL (default: netdrill on PATH); PARTITION (default: hash; count
# or duration); NETDRILL_DURATIONS (the durations file every shard balances by, for
# `duration`: copied to OUT/shard-K/durations.json, which the run updates); NETDRILL_ARGS (more `netdrill run` flags, split on spaces).
# The GitHub Actions, GitLab CI and NIPA fan-out examples beside it all call this,
# and play.sh plays their matrix on one machine.
set -u

if [ $# -lt 3 ]; then
	echo "usage: $0 K N OUT [SUITE...]" >&2
	exit 2
fi
k=$1 n=$2 out=$3
shift 3
[ $# -gt 0 ] || set -- tools/testing/selftests/net/packetdrill
netdrill=${NETDRILL:-netdrill}
dir=$out/shard-$k
mkdir -p "$dir" || exit 2

set -- --partition "${PARTITION:-hash}:$k/$n" --no-progress \
	--ktap "$dir/ktap.txt" --junit "$dir/junit.xml" \
	--json "$dir/results.json" --json-full --artifacts "$dir/artifacts" "$@"
# Every shard balances by the same durations: each reads (and then updates) its own
# copy of the shared file, so no shard sees another's update before it splits the list.
if [ -n "${NETDRILL_DURATIONS:-}" ]; then
	cp "$NETDRILL_DURATIONS" "$dir/durations.json" 2>/dev/null || : >"$dir/durations.json"
	set -- --durations "$dir/durations.json" "$@"
fi
# shellcheck disable=SC2086 # NETDRILL_ARGS is a list of flags
exec "$netdrill" run ${NETDRILL_ARGS:-} "$@"
