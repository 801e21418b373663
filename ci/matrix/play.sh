#!/bin/sh
# Play a CI job matrix on this machine: `play.sh N OUT [SUITE...]` starts the N
# shards (shard.sh 1..N) as N processes at once, as the matrix's N machines would,
# waits for all of them, then runs the merge job (merge.sh OUT). These are the
# commands the examples run (github-actions.yml, gitlab-ci.yml, nipa-fanout.sh).
# Exits with the merge's status; each shard's is in OUT/shard-K/status.
# Environment: as shard.sh's (NETDRILL, PARTITION, NETDRILL_DURATIONS, NETDRILL_ARGS).
set -u

if [ $# -lt 2 ]; then
	echo "usage: $0 N OUT [SUITE...]" >&2
	exit 2
fi
n=$1 out=$2
shift 2
here=$(dirname "$0")
mkdir -p "$out" || exit 2

pids=
k=1
while [ "$k" -le "$n" ]; do
	mkdir -p "$out/shard-$k"
	(
		"$here/shard.sh" "$k" "$n" "$out" "$@" >"$out/shard-$k/output.txt" 2>&1
		echo $? >"$out/shard-$k/status"
	) &
	pids="$pids $!"
	k=$((k + 1))
done
for pid in $pids; do
	wait "$pid"
done
"$here/merge.sh" "$out"
