#!/bin/sh
# The merge job of a CI job matrix: `merge.sh OUT` puts the shards' reports
# (OUT/shard-*/results.json, written by shard.sh) back together into OUT/ktap.txt,
# OUT/junit.xml and OUT/results.json, the reports one run would have written.
# A shard whose results.json is missing does not go unnoticed: every shard's
# document names the number of shards and the whole run's jobs, so `netdrill
# merge` reports the missing shard's jobs as not run and exits 1.
# Environment: NETDRILL (default: netdrill on PATH).
set -u

if [ $# -ne 1 ]; then
	echo "usage: $0 OUT" >&2
	exit 2
fi
out=$1
netdrill=${NETDRILL:-netdrill}
# No shard at all: the pattern stays as it is, and netdrill says it cannot read it.
exec "$netdrill" merge "$out"/shard-*/results.json \
	--ktap "$out/ktap.txt" --junit "$out/junit.xml" \
	--json "$out/results.json" --json-full
