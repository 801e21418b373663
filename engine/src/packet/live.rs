//! Packets sniffed on tun0: parse what is ours, skip what is not.
//!
//! packetdrill's sniffer parses every outgoing packet on tun0. A packet
//! whose innermost protocol it does not know (an IPv6 hop-by-hop header, as
//! in MLD reports) is skipped; a malformed one (bad IPv4 checksum,
//! truncated header, IP fragment, bad TCP data offset, bad UDP length...)
//! ends the run with the parser's message and a hex dump. netdrill also
//! skips the neighbour-discovery and multicast-listener ICMPv6 messages a
//! fresh tun0 sends by itself (router solicitations and the like), which
//! packetdrill would parse and then drop for not matching any socket.

use super::dump::hex_dump;
use super::icmpv6;
use super::ip_packet::{parse, IpPacket, Parsed};
use super::{Error, Result};

/// What a sniffed frame turned out to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sniffed {
    /// A TCP, UDP or ICMP packet to look at.
    Packet(IpPacket),
    /// Not a script's packet; the reason, for debugging.
    Skipped(String),
}

/// Parse the IP packet read from tun0 (no link-layer or virtio header).
/// Errors carry packetdrill's text: `<reason>: packet of N bytes:` and a hex
/// dump.
pub fn parse_sniffed(bytes: &[u8]) -> Result<Sniffed> {
    match parse(bytes.to_vec()) {
        Err(e) => Err(Error(format!(
            "{e}: packet of {} bytes:\n{}",
            bytes.len(),
            hex_dump(bytes)
        ))),
        Ok(Parsed::UnknownProtocol(what)) => {
            Ok(Sniffed::Skipped(format!("unknown protocol: {what}")))
        }
        Ok(Parsed::Packet(p)) => match p.icmpv6() {
            Some(icmp) if icmpv6::is_link_housekeeping(icmp.msg_type()) => {
                Ok(Sniffed::Skipped(format!(
                    "ICMPv6 type {} (neighbour discovery / multicast listener)",
                    icmp.msg_type()
                )))
            }
            _ => Ok(Sniffed::Packet(p)),
        },
    }
}
