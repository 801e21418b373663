#!/usr/bin/env bash
# Fuzz the engine with cargo fuzz (engine/fuzz): the script parser
# (script_parse) and the packet layer's parse of the bytes the sniffer reads
# from tun0 (sniffed_packet).
#
#   ci/fuzz.sh SECONDS [TARGET...]   each target for SECONDS (default: both)
#
# Seeds: every .pkt of ../shared/corpus and suites/, and a few packets made
# here (IPv4 and IPv6 TCP with options, UDP, ICMP and ICMPv6 errors quoting a
# packet, GRE). Corpus and crashes stay under engine/fuzz/ (not committed).
# Only a stable toolchain is needed: cargo fuzz's unstable flags are let
# through with RUSTC_BOOTSTRAP=1, and the targets are built without a
# sanitizer (-s none: the fuzzed code has no unsafe blocks).
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
seconds=${1:?usage: ci/fuzz.sh SECONDS [TARGET...]}
shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(script_parse sniffed_packet)

command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
export RUSTC_BOOTSTRAP=1

fuzz=$root/engine/fuzz
mkdir -p "$fuzz/corpus/script_parse" "$fuzz/corpus/sniffed_packet"
for dir in "$root/../shared/corpus" "$root/suites"; do
	[ -d "$dir" ] || continue
	find "$dir" -name '*.pkt' -size -64k | while read -r f; do
		cp "$f" "$fuzz/corpus/script_parse/seed-$(sha1sum <"$f" | cut -c1-16)"
	done
done
python3 - "$fuzz/corpus/sniffed_packet" <<'EOF'
import struct, sys, os

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF

def ipv4(proto, payload, src=b"\xc0\x00\x02\x01", dst=b"\xc0\xa8\x00\x01", tos=0):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, tos, 20 + len(payload), 1, 0x4000, 64, proto, 0, src, dst)
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload

def ipv6(nh, payload, src=b"\xfd\x3d" + b"\0" * 13 + b"\x01", dst=b"\xfd\x3d" + b"\0" * 13 + b"\x02"):
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), nh, 64, src, dst) + payload

def tcp(flags, opts=b"", data=b"", seq=1, ack=0):
    off = (20 + len(opts)) // 4
    return struct.pack("!HHIIBBHHH", 8080, 40000, seq, ack, off << 4, flags, 65535, 0, 0) + opts + data

def udp(data):
    return struct.pack("!HHHH", 8080, 40000, 8 + len(data), 0) + data

syn_opts = b"\x02\x04\x05\xb4\x04\x02\x08\x0a\x00\x00\x00\x01\x00\x00\x00\x00\x01\x03\x03\x07"
sack = b"\x01\x01\x05\x0a\x00\x00\x00\x01\x00\x00\x00\x02"
packets = {
    "v4-syn": ipv4(6, tcp(0x02, syn_opts)),
    "v4-data-sack": ipv4(6, tcp(0x18, sack, b"hello", ack=1)),
    "v4-udp": ipv4(17, udp(b"datagram")),
    "v4-icmp-echo": ipv4(1, b"\x08\x00\x00\x00\x00\x01\x00\x01abcd"),
    "v4-icmp-unreach": ipv4(1, b"\x03\x04\x00\x00\x00\x00\x05\xdc" + ipv4(6, tcp(0x10))[:28]),
    "v4-gre": ipv4(47, b"\x00\x00\x08\x00" + ipv4(6, tcp(0x02, syn_opts))),
    "v6-syn": ipv6(6, tcp(0x02, syn_opts)),
    "v6-udp": ipv6(17, udp(b"x" * 20)),
    "v6-icmp-toobig": ipv6(58, b"\x02\x00\x00\x00\x00\x00\x05\x00" + ipv6(6, tcp(0x10))[:48]),
    "v6-hop-by-hop": ipv6(0, b"\x3a\x00\x05\x02\x00\x00\x01\x00" + b"\x8f\x00\x00\x00\x00\x00\x00\x00"),
    "v4-bad-checksum": ipv4(6, tcp(0x02))[:10] + b"\x00\x00" + ipv4(6, tcp(0x02))[12:],
}
for name, p in packets.items():
    with open(os.path.join(sys.argv[1], "seed-" + name), "wb") as f:
        f.write(p)
EOF

cd "$fuzz"
for t in "${targets[@]}"; do
	echo "::: fuzzing $t for ${seconds}s"
	nice -n 19 cargo fuzz run -s none -O "$t" "corpus/$t" -- \
		-max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
done
