#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Run a kernel tree's packetdrill selftests through kselftest, with netdrill standing
# in for packetdrill:
#
#   ci/kselftest/run-kselftest.sh /path/to/linux [extra make arguments...]
#
# netdrill is linked as `packetdrill` into a private folder put first on PATH (the
# host's PATH and /usr/local/bin are left alone), then kselftest runs as usual:
# `make -C tools/testing/selftests TARGETS=net/packetdrill run_tests`. Every script
# runs through the kernel's own ksft_runner.sh (`unshare -n packetdrill ...` per IP
# version); the output is kselftest's TAP. KSFT_MACHINE_SLOW and
# kselftest_override_timeout work as with packetdrill.
#
# NETDRILL names the netdrill binary (default: `netdrill` on PATH).
# DRY_RUN=1 prints the commands instead of running them.
set -eu

if [ $# -lt 1 ]; then
	echo "usage: $0 KERNEL_TREE [make arguments...]" >&2
	exit 2
fi
tree=$1
shift
if [ ! -d "$tree/tools/testing/selftests/net/packetdrill" ]; then
	echo "run-kselftest: $tree has no tools/testing/selftests/net/packetdrill" >&2
	exit 2
fi

here=$(cd "$(dirname "$0")" && pwd)
shim=$(mktemp -d "${TMPDIR:-/tmp}/netdrill-shim.XXXXXX")
trap 'rm -rf "$shim"' EXIT INT TERM

"$here/install-as-packetdrill.sh" "$shim" >/dev/null
PATH="$shim:$PATH"
export PATH

if [ -n "${DRY_RUN:-}" ]; then
	echo "make -C $tree/tools/testing/selftests TARGETS=net/packetdrill $* run_tests"
	exit 0
fi
make -C "$tree/tools/testing/selftests" TARGETS=net/packetdrill "$@" run_tests
