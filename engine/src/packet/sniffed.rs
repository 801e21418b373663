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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::ip_packet::tests::tcp_packet;
    use crate::packet::{ipv6, proto, tcp};

    fn icmpv6_packet(msg_type: u8) -> Vec<u8> {
        let mut bytes = vec![0u8; 48];
        ipv6::Repr {
            src_addr: "fe80::1".parse().unwrap(),
            dst_addr: "ff02::2".parse().unwrap(),
            next_header: proto::ICMPV6,
            payload_len: 8,
            hop_limit: 255,
            traffic_class: 0,
            flow_label: 0,
        }
        .emit(&mut ipv6::Packet::new_unchecked(&mut bytes[..]));
        bytes[40] = msg_type;
        bytes
    }

    #[test]
    fn router_solicitations_and_hop_by_hop_are_skipped() {
        assert!(matches!(
            parse_sniffed(&icmpv6_packet(133)),
            Ok(Sniffed::Skipped(_))
        ));
        let mut mld = icmpv6_packet(143);
        mld[6] = proto::HOPOPT;
        assert!(matches!(parse_sniffed(&mld), Ok(Sniffed::Skipped(_))));
        assert!(matches!(
            parse_sniffed(&icmpv6_packet(1)),
            Ok(Sniffed::Packet(_))
        ));
    }

    #[test]
    fn tcp_packets_are_ours() {
        let p = tcp_packet(false, tcp::flag::SYN, 7, 0, vec![], 0);
        assert_eq!(parse_sniffed(p.bytes()), Ok(Sniffed::Packet(p)));
    }

    #[test]
    fn malformed_packets_carry_a_hex_dump() {
        let p = tcp_packet(false, tcp::flag::SYN, 7, 0, vec![], 0);
        let mut bytes = p.into_bytes();
        bytes[10] ^= 0xff;
        let err = parse_sniffed(&bytes).unwrap_err().to_string();
        assert!(
            err.starts_with("Bad IP checksum: packet of 40 bytes:\n0x0000: 45 00 00 28 "),
            "{err}"
        );
        let last = err.lines().last().unwrap();
        assert!(last.starts_with("0x0020: 50 02 01 01 "), "{err}");
        assert_eq!(err.lines().count(), 4);
    }
}
