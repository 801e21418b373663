#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Install netdrill as `packetdrill`, so the kernel's packetdrill selftests
# (tools/testing/selftests/net/packetdrill, run by ksft_runner.sh) use it unchanged.
#
#   ci/kselftest/install-as-packetdrill.sh [BINDIR]
#
# BINDIR defaults to /usr/local/bin. NETDRILL names the netdrill binary to link to
# (default: `netdrill` found on PATH). The link is `BINDIR/packetdrill -> netdrill`;
# netdrill behaves as packetdrill when invoked under that name. An older link there
# is replaced; a file that is not a link (a real packetdrill) is left alone.
# `netdrill install-as-packetdrill BINDIR` does the same from the binary itself.
# DRY_RUN=1 prints the commands instead of running them.
set -eu

bindir=${1:-/usr/local/bin}
netdrill=${NETDRILL:-$(command -v netdrill || true)}
if [ -z "$netdrill" ]; then
	echo "install-as-packetdrill: netdrill is not on PATH; set NETDRILL=/path/to/netdrill" >&2
	exit 1
fi
case "$netdrill" in
/*) ;;
*) netdrill="$(cd "$(dirname "$netdrill")" && pwd)/$(basename "$netdrill")" ;;
esac
if [ ! -x "$netdrill" ]; then
	echo "install-as-packetdrill: $netdrill is not an executable file" >&2
	exit 1
fi

run() {
	if [ -n "${DRY_RUN:-}" ]; then
		echo "$*"
	else
		"$@"
	fi
}

if [ -e "$bindir/packetdrill" ] && [ ! -L "$bindir/packetdrill" ]; then
	echo "install-as-packetdrill: $bindir/packetdrill is a file, not a link; remove it first" >&2
	exit 1
fi
run mkdir -p "$bindir"
run ln -sfn "$netdrill" "$bindir/packetdrill"
if [ -z "${DRY_RUN:-}" ]; then
	echo "packetdrill -> $(readlink "$bindir/packetdrill")"
fi
