#!/usr/bin/env python3
# gaps.py PCAP: for each packet the engine injected right after one the kernel
# sent, the gap in microseconds between the two (tun0's kernel timestamps).
# Outbound = from the script's local address (192.168.0.1 or fd3d:0a0b::/32).
import struct
import sys

def packets(path):
    data = open(path, 'rb').read()
    off = 24
    while off + 16 <= len(data):
        secs, usecs, caplen, _ = struct.unpack('<IIII', data[off:off + 16])
        yield secs + usecs / 1e6, data[off + 16:off + 16 + caplen]
        off += 16 + caplen

def outbound(pkt):
    if pkt[0] >> 4 == 4:
        return pkt[12:15] == bytes([192, 168, 0])
    return pkt[8:12] == bytes.fromhex('fd3d0a0b')

gaps, prev = [], None
for t, pkt in packets(sys.argv[1]):
    out = outbound(pkt)
    if prev is not None and prev[1] and not out:
        gaps.append(round((t - prev[0]) * 1e6))
    prev = (t, out)
print(' '.join(map(str, gaps)))
