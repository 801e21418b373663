#!/usr/bin/env bash
# What the host looks like, to prove a test run left it as it was. Read-only:
# it changes nothing.
#
#   ci/host-state.sh snapshot DIR [TAG]   write the host's state under DIR
#   ci/host-state.sh compare BEFORE AFTER print every difference; exit 1 if any
#
# The state: every sysctl (`sysctl -a`) but the counters and the values the
# kernel changes by itself, the host's interfaces (`ip -o link`), its named
# network namespaces (`ip netns`), its mount table (mount point, type, source,
# options), and the processes left behind: with TAG, those whose environment
# holds NETDRILL_HOST_CHECK=TAG (everything the checked run started inherits
# it; other processes of a shared machine come and go on their own).
set -euo pipefail

# Counters and values that change by themselves.
volatile='^(fs\.(dentry-state|file-nr|inode-nr|inode-state|aio-nr|quota\.)|kernel\.(ns_last_pid|random\.(uuid|entropy_avail)|pty\.nr|perf_event_max_sample_rate)|net\.netfilter\.nf_conntrack_count) '

snapshot() {
	local dir=$1 tag=${2:-}
	mkdir -p "$dir"
	sysctl -a 2>/dev/null | grep -Ev "$volatile" | LC_ALL=C sort >"$dir/sysctl"
	ip -o link | sed -E 's/^[0-9]+: //' | LC_ALL=C sort >"$dir/links"
	ip netns list 2>/dev/null | LC_ALL=C sort >"$dir/netns"
	# mountinfo: point (5), options (6), then after " - ": type, source, super options.
	awk '{ split($0, a, " - "); split(a[1], l, " "); print l[5], l[6], a[2] }' \
		/proc/self/mountinfo | LC_ALL=C sort >"$dir/mounts"
	: >"$dir/processes"
	if [ -n "$tag" ]; then
		for env in /proc/[0-9]*/environ; do
			# A process may be gone by the time it is read.
			if { tr '\0' '\n' <"$env"; } 2>/dev/null | grep -qx "NETDRILL_HOST_CHECK=$tag"; then
				pid=${env#/proc/}
				pid=${pid%/environ}
				[ "$pid" = "$$" ] && continue
				echo "$pid $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" >>"$dir/processes"
			fi
		done
	fi
}

compare() {
	local before=$1 after=$2 differ=0
	for part in sysctl links netns mounts processes; do
		if ! diff -u --label "before/$part" --label "after/$part" \
			"$before/$part" "$after/$part" >"$after/$part.diff"; then
			differ=1
			echo "host-state check: $part changed:"
			grep '^[-+][^-+]' "$after/$part.diff" | head -n 40
		fi
	done
	if [ "$differ" = 0 ]; then
		echo "host-state check: the host is as it was (sysctls, links, network namespaces, mounts, processes)"
	fi
	return "$differ"
}

case "${1:-}" in
snapshot) snapshot "${2:?DIR}" "${3:-}" ;;
compare) compare "${2:?BEFORE}" "${3:?AFTER}" ;;
*)
	echo "usage: $0 snapshot DIR [TAG] | compare BEFORE AFTER" >&2
	exit 2
	;;
esac
