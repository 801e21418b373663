//! ICMPv6 (RFC 4443): the checksum (which covers an IPv6 pseudo-header) and
//! the type and code names packetdrill scripts use (`unreachable
//! port_unreachable`, `packet_too_big mtu 1280`, ...). The message view is
//! [`super::icmp::Packet`].

use super::icmp::{self, code as c, ty as t, CodeName, NameError, Packet, TypeName};
use super::{checksum, proto};
use std::net::IpAddr;

/// Type numbers.
pub mod ty {
    pub const DEST_UNREACH: u8 = 1;
    pub const PACKET_TOO_BIG: u8 = 2;
    pub const TIME_EXCEEDED: u8 = 3;
    pub const PARAMETER_PROBLEM: u8 = 4;
    pub const ECHO_REQUEST: u8 = 128;
    pub const ECHO_REPLY: u8 = 129;
    /// Multicast listener query: the first of the neighbour-discovery and
    /// multicast-listener types (130 to 137).
    pub const MLD_QUERY: u8 = 130;
    /// Redirect: the last of them.
    pub const REDIRECT: u8 = 137;
    pub const MLD2_REPORT: u8 = 143;
}

/// Whether a type is neighbour discovery or multicast listener traffic the
/// kernel sends on its own (never a script's packet).
pub fn is_link_housekeeping(msg_type: u8) -> bool {
    matches!(msg_type, ty::MLD_QUERY..=ty::REDIRECT | ty::MLD2_REPORT)
}

const UNREACHABLE_CODES: &[CodeName] = &[
    c(0, "net_unreachable"),
    c(0, "no_route"),
    c(1, "admin_prohibited"),
    c(2, "not_neighbour"),
    c(3, "address_unreachable"),
    c(4, "port_unreachable"),
];

const TIME_EXCEEDED_CODES: &[CodeName] = &[c(0, "exceeded_hop_limit"), c(1, "exceeded_frag_time")];

const PARAMETER_PROBLEM_CODES: &[CodeName] = &[
    c(0, "header_field"),
    c(1, "unknown_next_header"),
    c(2, "unknown_option"),
];

/// packetdrill's ICMPv6 type table.
pub const TYPES: &[TypeName] = &[
    t(ty::DEST_UNREACH, "unreachable", UNREACHABLE_CODES),
    t(ty::PACKET_TOO_BIG, "packet_too_big", &[]),
    t(ty::TIME_EXCEEDED, "time_exceeded", TIME_EXCEEDED_CODES),
    t(
        ty::PARAMETER_PROBLEM,
        "parameter_problem",
        PARAMETER_PROBLEM_CODES,
    ),
    t(ty::ECHO_REQUEST, "echo_request", &[]),
    t(ty::ECHO_REPLY, "echo_reply", &[]),
];

/// Resolve a script's type and code words as packetdrill does: `type_N` and
/// `code_N` give numbers, names are looked up in [`TYPES`], a missing code is 0.
pub fn resolve(type_word: &str, code_word: Option<&str>) -> Result<(u8, u8), NameError> {
    icmp::resolve_in(TYPES, type_word, code_word)
}

/// The pseudo-header's sum (addresses of the innermost IP header).
fn pseudo_header<T: AsRef<[u8]>>(packet: &Packet<T>, src: &IpAddr, dst: &IpAddr) -> u16 {
    let len = (packet.data().len() + icmp::HEADER_LEN) as u32;
    checksum::pseudo_header(src, dst, proto::ICMPV6, len)
}

/// Whether the message's checksum (pseudo-header included) is right.
pub fn verify_checksum<T: AsRef<[u8]>>(packet: &Packet<T>, src: &IpAddr, dst: &IpAddr) -> bool {
    packet.sum(pseudo_header(packet, src, dst)) == 0xffff
}

/// Compute and store the checksum (pseudo-header included).
pub fn fill_checksum<T: AsRef<[u8]> + AsMut<[u8]>>(
    packet: &mut Packet<T>,
    src: &IpAddr,
    dst: &IpAddr,
) {
    let pseudo = pseudo_header(packet, src, dst);
    packet.fill_sum(pseudo);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::icmp::Repr;
    use std::net::Ipv6Addr;

    #[test]
    fn names_resolve_like_packetdrill() {
        assert_eq!(resolve("packet_too_big", None), Ok((2, 0)));
        assert_eq!(resolve("unreachable", Some("port_unreachable")), Ok((1, 4)));
        assert_eq!(resolve("unreachable", Some("no_route")), Ok((1, 0)));
        assert_eq!(
            resolve("time_exceeded", Some("exceeded_frag_time")),
            Ok((3, 1))
        );
        assert_eq!(
            resolve("parameter_problem", Some("unknown_option")),
            Ok((4, 2))
        );
        assert_eq!(resolve("echo_reply", None), Ok((129, 0)));
        assert_eq!(
            resolve("unreachable", Some("frag_needed")).map_err(|e| e.to_string()),
            Err("bad ICMP code frag_needed".to_string())
        );
        assert_eq!(
            resolve("source_quench", None),
            Err(NameError::Type("source_quench".to_string()))
        );
    }

    #[test]
    fn housekeeping_types() {
        for t in [130, 131, 132, 133, 134, 135, 136, 137, 143] {
            assert!(is_link_housekeeping(t), "{t}");
        }
        for t in [1, 2, 3, 4, 128, 129, 138, 142] {
            assert!(!is_link_housekeeping(t), "{t}");
        }
    }

    #[test]
    fn packet_too_big_round_trip_with_checksum() {
        let r = Repr {
            msg_type: ty::PACKET_TOO_BIG,
            msg_code: 0,
            rest_of_header: 1280u32.to_be_bytes(),
            data_len: 48,
        };
        let mut buf = vec![0u8; r.buffer_len()];
        let mut p = Packet::new_unchecked(&mut buf[..]);
        r.emit(&mut p);
        let (s, d): (IpAddr, IpAddr) = ("fe80::1".parse().unwrap(), "ff02::2".parse().unwrap());
        fill_checksum(&mut p, &s, &d);
        let p = Packet::new_checked(&buf[..], "ICMPv6").unwrap();
        assert_eq!(p.mtu(), 1280);
        assert!(verify_checksum(&p, &s, &d));
        let other: Ipv6Addr = "fe80::2".parse().unwrap();
        assert!(!verify_checksum(&p, &other.into(), &d));
        assert_eq!(Repr::parse(&p).unwrap(), r);
    }
}
