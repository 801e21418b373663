#!/bin/sh
# NIPA-style fan-out: `nipa-fanout.sh OUT VM...` runs shard K of N of the suite on
# the K-th of N machines (VMs booted with the kernel under test, each with a netdrill
# checkout), all at once over ssh, copies each shard's reports back and merges them
# into OUT: ktap.txt, junit.xml and results.json, the NIPA result file of the whole
# run (executor, branch and link as NETDRILL_ARGS gave the shards). A VM that fails
# or does not answer leaves its shard missing: the merged report says which, its
# jobs are not run, and the status is 1.
#
# Environment: SSH (default ssh) and SCP (default scp); REMOTE_DIR (the netdrill
# checkout on the VMs, default /srv/netdrill); REMOTE_OUT (where shards write on
# the VMs, default /tmp/netdrill-shards); SUITE (on the VMs, default the kernel
# tree's tools/testing/selftests/net/packetdrill under REMOTE_DIR/linux);
# PARTITION, NETDRILL_ARGS (see shard.sh); NETDRILL (netdrill on the VMs) and
# NETDRILL_LOCAL (netdrill here, for the merge), both default `netdrill`.
# ci/matrix/play.sh plays the same shards as local processes.
set -u

if [ $# -lt 2 ]; then
	echo "usage: $0 OUT VM..." >&2
	exit 2
fi
out=$1
shift
n=$#
here=$(dirname "$0")
ssh=${SSH:-ssh}
scp=${SCP:-scp}
remote_dir=${REMOTE_DIR:-/srv/netdrill}
remote_out=${REMOTE_OUT:-/tmp/netdrill-shards}
suite=${SUITE:-$remote_dir/linux/tools/testing/selftests/net/packetdrill}
mkdir -p "$out" || exit 2

k=1
pids=
for vm in "$@"; do
	(
		$ssh "$vm" "cd '$remote_dir' && NETDRILL='${NETDRILL:-netdrill}' PARTITION='${PARTITION:-hash}' NETDRILL_ARGS='${NETDRILL_ARGS:-}' ci/matrix/shard.sh $k $n '$remote_out' '$suite'" \
			>"$out/vm-$k.log" 2>&1
		echo "$vm: shard $k of $n exited $?" >>"$out/vm-$k.log"
		$scp -r "$vm:$remote_out/shard-$k" "$out/" >>"$out/vm-$k.log" 2>&1 ||
			echo "$vm: shard $k of $n: no reports copied back" >&2
	) &
	pids="$pids $!"
	k=$((k + 1))
done
for pid in $pids; do
	wait "$pid"
done
NETDRILL=${NETDRILL_LOCAL:-netdrill} "$here/merge.sh" "$out"
