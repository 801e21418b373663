#!/bin/bash
#
# Re-measure EXPECTED.tsv for the broken-variant suite with a given packetdrill.
#
# usage: regenerate.sh PACKETDRILL [ROUNDS] [OUTPUT]
#
#   PACKETDRILL  path of an already built packetdrill binary (this script never
#                builds one)
#   ROUNDS       how many sequential rounds over every script x IP version
#                (default 3; at least 2 are needed to judge determinism)
#   OUTPUT       where to write the table (default: EXPECTED.tsv beside this
#                script)
#
# Every script is run as the kernel's ksft_runner.sh runs it: from this folder,
# `unshare -n PACKETDRILL <ipv4 or ipv6 arguments> SCRIPT > /dev/null`, for the
# family pinned by a `--ip_version=` line in the script, else for ipv4 and ipv6.
# Runs are strictly sequential (parallel runs on a small machine cause timing
# flakes in packetdrill itself). Needs root (unshare -n, tun) and, on the host,
# `cubic` in net.ipv4.tcp_allowed_congestion_control (defaults.sh selects it).
#
# A variant is recorded when every round gave the same exit status, the same
# script line and the same message once decimal numbers (timing values) are
# replaced by `*`. The exit status is 1 when some variant passed (exit 0) or
# differed between rounds: such variants are listed on stderr and written with
# `flaky` (or `pass`) in the exit column so that they cannot be mistaken for a
# valid expectation; fix or drop them.

set -u

if [ $# -lt 1 ] || [ $# -gt 3 ]; then
	echo "usage: $0 PACKETDRILL [ROUNDS] [OUTPUT]" >&2
	exit 2
fi

pd=$1
rounds=${2:-3}
here=$(cd "$(dirname "$0")" && pwd)
out=${3:-$here/EXPECTED.tsv}

case $pd in
/*) ;;
*) pd=$(pwd)/$pd ;;
esac
case $out in
/*) ;;
*) out=$(pwd)/$out ;;
esac

if [ ! -x "$pd" ]; then
	echo "$0: $pd is not an executable file" >&2
	exit 2
fi
if ! [[ $rounds =~ ^[0-9]+$ ]] || [ "$rounds" -lt 2 ]; then
	echo "$0: ROUNDS must be an integer >= 2" >&2
	exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "$0: must run as root (unshare -n, tun device)" >&2
	exit 2
fi
allowed=$(cat /proc/sys/net/ipv4/tcp_allowed_congestion_control 2>/dev/null)
case " $allowed " in
*" cubic "*) ;;
*)
	echo "$0: cubic is not in net.ipv4.tcp_allowed_congestion_control" \
		"($allowed): defaults.sh cannot select it in a child namespace" >&2
	exit 2
	;;
esac

# The kernel's tools/testing/selftests/net/packetdrill/ksft_runner.sh arguments.
ipv4_args=(--ip_version=ipv4 --local_ip=192.168.0.1 --gateway_ip=192.168.0.1
	--netmask_ip=255.255.0.0 --remote_ip=192.0.2.1
	-D TFO_COOKIE=3021b9d889017eeb -D TFO_COOKIE_ZERO=b7c12350a90dc8f5
	-D CMSG_LEVEL_IP=SOL_IP -D CMSG_TYPE_RECVERR=IP_RECVERR)
ipv6_args=(--ip_version=ipv6 --mtu=1520 --local_ip=fd3d:0a0b:17d6::1
	--gateway_ip=fd3d:0a0b:17d6:8888::1 --remote_ip=fd3d:fa7b:d17d::1
	-D TFO_COOKIE=c1d1e9742a47a9bc -D TFO_COOKIE_ZERO=82af1a8f9a205c34
	-D CMSG_LEVEL_IP=SOL_IPV6 -D CMSG_TYPE_RECVERR=IPV6_RECVERR)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$here" || exit 2
scripts=(*.pkt)
if [ ! -e "${scripts[0]}" ]; then
	echo "$0: no .pkt scripts in $here" >&2
	exit 2
fi

# Families per script, as ksft_runner.sh picks them.
declare -A families
for s in "${scripts[@]}"; do
	pinned=$(grep -E '^--ip_version=' "$s" | cut -d= -f2)
	if [ -z "$pinned" ]; then
		families[$s]="ipv4 ipv6"
	else
		families[$s]=$pinned
	fi
done

# One run: prints "exit<TAB>line<TAB>message<TAB>seconds".
measure() {
	local script=$1 family=$2 err=$work/stderr
	local -a args
	if [ "$family" = ipv4 ]; then
		args=("${ipv4_args[@]}")
	else
		args=("${ipv6_args[@]}")
	fi
	local t0 t1 rc first line msg
	touch "$work/marker"
	t0=$(date +%s%N)
	timeout 120 unshare -n "$pd" "${args[@]}" "$script" >/dev/null 2>"$err"
	rc=$?
	t1=$(date +%s%N)
	# set_sysctls.py leaves /tmp/sysctl_restore_<packetdrill pid>.sh behind
	# (the scripts that run it only at their end fail before that, and it
	# never deletes itself): remove the ones this run made.
	find /tmp -maxdepth 1 -name 'sysctl_restore_*.sh' -newer "$work/marker" \
		-delete 2>/dev/null
	# The diagnostic is the first stderr line naming this script and a line.
	first=$(grep -m1 -E "^${script//./\\.}:[0-9]+: " "$err")
	if [ -n "$first" ]; then
		line=${first#"$script":}
		line=${line%%:*}
		msg=${first#"$script":"$line": }
	else
		line=
		msg=$(grep -v '^[[:space:]]*$' "$err" | tail -n1)
	fi
	msg=$(printf '%s' "$msg" | tr '\t' ' ' |
		sed -E 's/[+-]?[0-9]+\.[0-9]+/*/g; s/[[:space:]]+$//')
	printf '%s\t%s\t%s\t%d.%03d\n' "$rc" "$line" "$msg" \
		$(((t1 - t0) / 1000000000)) $((((t1 - t0) / 1000000) % 1000))
}

total=0
for s in "${scripts[@]}"; do
	for f in ${families[$s]}; do
		total=$((total + 1))
	done
done
echo "measuring ${#scripts[@]} scripts, $total jobs, $rounds rounds with $pd" >&2

for ((r = 1; r <= rounds; r++)); do
	for s in "${scripts[@]}"; do
		for f in ${families[$s]}; do
			printf '%s\t%s\t%s\n' "$s" "$f" "$(measure "$s" "$f")" \
				>>"$work/round$r"
		done
	done
	echo "round $r/$rounds done" >&2
done

status=0
{
	printf 'script\tip_version\texit\tline\tmessage-pattern\n'
	n=0
	for s in "${scripts[@]}"; do
		for f in ${families[$s]}; do
			n=$((n + 1))
			ref=$(sed -n "${n}p" "$work/round1" | cut -f3-5)
			same=1
			for ((r = 2; r <= rounds; r++)); do
				got=$(sed -n "${n}p" "$work/round$r" | cut -f3-5)
				[ "$got" = "$ref" ] || same=0
			done
			rc=${ref%%$'\t'*}
			rest=${ref#*$'\t'}
			if [ $same -eq 0 ]; then
				echo "NOT DETERMINISTIC: $s $f" >&2
				for ((r = 1; r <= rounds; r++)); do
					sed -n "${n}p" "$work/round$r" | cut -f3-6 |
						sed "s/^/  round $r: /" >&2
				done
				rc=flaky
				status=1
			elif [ "$rc" = 0 ]; then
				echo "PASSED (a broken variant must fail): $s $f" >&2
				rc=pass
				status=1
			fi
			printf '%s\t%s\t%s\t%s\n' "$s" "$f" "$rc" "$rest"
		done
	done
} >"$out.tmp" && mv "$out.tmp" "$out"

# Wall time per job (median over the rounds), for the README.
sum_ms=0
max_ms=0
slowest=
n=0
for s in "${scripts[@]}"; do
	for f in ${families[$s]}; do
		n=$((n + 1))
		med=$(for ((r = 1; r <= rounds; r++)); do
			sed -n "${n}p" "$work/round$r" | cut -f6
		done | sort -n | sed -n "$(((rounds + 1) / 2))p")
		ms=$((10#${med%.*} * 1000 + 10#${med#*.}))
		sum_ms=$((sum_ms + ms))
		if [ $ms -gt $max_ms ]; then
			max_ms=$ms
			slowest="$s $f"
		fi
	done
done
printf 'sum of median wall times: %d.%03d s; slowest job: %s (%d.%03d s)\n' \
	$((sum_ms / 1000)) $((sum_ms % 1000)) "$slowest" \
	$((max_ms / 1000)) $((max_ms % 1000)) >&2

echo "wrote $out" >&2
exit $status
