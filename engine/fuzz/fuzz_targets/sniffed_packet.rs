//! The packet layer on live bytes: what the sniffer reads from tun0 and hands
//! to the engine. Any bytes must give a packet, a skip or a parse error, never
//! a panic; a packet that parses can be dumped as the engine prints it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netdrill_engine::packet::dump::short_dump;
use netdrill_engine::packet::sniffed::{parse_sniffed, Sniffed};

fuzz_target!(|data: &[u8]| {
    if let Ok(Sniffed::Packet(packet)) = parse_sniffed(data) {
        let _ = short_dump(&packet);
        let _ = packet.echoed();
        let _ = (packet.src_addr(), packet.dst_addr(), packet.tos());
    }
});
