#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# The reaction of a packetdrill-compatible engine, seen on the wire (run by
# hand, as root, on an otherwise idle machine; figures in
# docs/engine/time-and-tolerance.md, "Reaction time"):
#
#   ci/reaction/measure.sh ENGINE [RUNS] [EXTRA ENGINE FLAGS]
#
# ENGINE is run as packetdrill is run by the kernel's ksft_runner.sh (IPv4
# arguments), on ci/reaction/burst.pkt, in a network namespace of its own
# (`unshare -n`), RUNS times (6). Each run prints the gaps, in microseconds,
# between a frame the kernel sent and the packet the engine injected "+0"
# after it: the first is the handshake's 100 ms, then the four cases of
# burst.pkt. For netdrill, ENGINE is a link to it named packetdrill; for its
# own reaction, a wrapper script that runs
# `exec netdrill exec --reaction=immediate "$@"`.
set -eu
engine=$1
runs=${2:-6}
shift $(( $# >= 2 ? 2 : 1 ))
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
i=0
while [ "$i" -lt "$runs" ]; do
	i=$((i + 1))
	REACTION_PCAP=$work/run.pcap unshare -n sh -c 'ip link set lo up; cd "$1"; shift; exec "$@"' _ "$here" \
		"$engine" --ip_version=ipv4 --local_ip=192.168.0.1 --gateway_ip=192.168.0.1 \
		--netmask_ip=255.255.0.0 --remote_ip=192.0.2.1 "$@" burst.pkt >/dev/null 2>&1 ||
		echo "run $i: the engine failed the script" >&2
	python3 "$here/gaps.py" "$work/run.pcap"
done
