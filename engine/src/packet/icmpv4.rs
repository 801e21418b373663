//! ICMP for IPv4 (RFC 792): the checksum (over the message alone) and the
//! type and code names packetdrill scripts use (`unreachable frag_needed`,
//! `time_exceeded`, `type_3 code_4`, ...). The message view is
//! [`super::icmp::Packet`].

use super::icmp::{self, code as c, ty as t, CodeName, NameError, Packet, TypeName};

/// Type numbers.
pub mod ty {
    pub const ECHO_REPLY: u8 = 0;
    pub const DEST_UNREACH: u8 = 3;
    pub const SOURCE_QUENCH: u8 = 4;
    pub const REDIRECT: u8 = 5;
    pub const ECHO_REQUEST: u8 = 8;
    pub const TIME_EXCEEDED: u8 = 11;
    pub const PARAMETER_PROBLEM: u8 = 12;
    pub const TIMESTAMP: u8 = 13;
    pub const TIMESTAMP_REPLY: u8 = 14;
    pub const INFO_REQUEST: u8 = 15;
    pub const INFO_REPLY: u8 = 16;
    pub const ADDRESS_MASK: u8 = 17;
    pub const ADDRESS_MASK_REPLY: u8 = 18;
}

/// Destination-unreachable code for "fragmentation needed" (RFC 1191).
pub const CODE_FRAG_NEEDED: u8 = 4;

const UNREACHABLE_CODES: &[CodeName] = &[
    c(0, "net_unreachable"),
    c(1, "host_unreachable"),
    c(2, "protocol_unreachable"),
    c(3, "port_unreachable"),
    c(CODE_FRAG_NEEDED, "frag_needed"),
    c(5, "source_route_failed"),
    c(6, "net_unknown"),
    c(7, "host_unknown"),
    c(8, "source_host_isolated"),
    c(9, "net_prohibited"),
    c(10, "host_prohibited"),
    c(11, "net_unreachable_for_tos"),
    c(12, "host_unreachable_for_tos"),
    c(13, "packet_filtered"),
    c(14, "precedence_violation"),
    c(15, "precedence_cutoff"),
];

/// packetdrill's ICMPv4 type table.
pub const TYPES: &[TypeName] = &[
    t(ty::ECHO_REPLY, "echo_reply", &[]),
    t(ty::DEST_UNREACH, "unreachable", UNREACHABLE_CODES),
    t(ty::SOURCE_QUENCH, "source_quench", &[]),
    t(ty::REDIRECT, "redirect", &[]),
    t(ty::ECHO_REQUEST, "echo_request", &[]),
    t(ty::TIME_EXCEEDED, "time_exceeded", &[]),
    t(ty::PARAMETER_PROBLEM, "parameter_problem", &[]),
    t(ty::TIMESTAMP, "timestamp_request", &[]),
    t(ty::TIMESTAMP_REPLY, "timestamp_reply", &[]),
    t(ty::INFO_REQUEST, "information_request", &[]),
    t(ty::INFO_REPLY, "information_reply", &[]),
    t(ty::ADDRESS_MASK, "address_mask_request", &[]),
    t(ty::ADDRESS_MASK_REPLY, "address_mask_reply", &[]),
];

/// Resolve a script's type and code words as packetdrill does: `type_N` and
/// `code_N` give numbers, names are looked up in [`TYPES`], a missing code is 0.
pub fn resolve(type_word: &str, code_word: Option<&str>) -> Result<(u8, u8), NameError> {
    icmp::resolve_in(TYPES, type_word, code_word)
}

/// Whether the message's checksum is right.
pub fn verify_checksum<T: AsRef<[u8]>>(packet: &Packet<T>) -> bool {
    packet.sum(0) == 0xffff
}

/// Compute and store the checksum over the whole message.
pub fn fill_checksum<T: AsRef<[u8]> + AsMut<[u8]>>(packet: &mut Packet<T>) {
    packet.fill_sum(0);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::icmp::Repr;

    #[test]
    fn names_resolve_like_packetdrill() {
        let text = |t, c| resolve(t, c).map_err(|e| e.to_string());
        assert_eq!(resolve("unreachable", Some("frag_needed")), Ok((3, 4)));
        assert_eq!(resolve("time_exceeded", None), Ok((11, 0)));
        assert_eq!(resolve("echo_request", None), Ok((8, 0)));
        assert_eq!(resolve("type_3", Some("code_13")), Ok((3, 13)));
        assert_eq!(resolve("type_7x", Some("code_2y")), Ok((7, 2)));
        assert_eq!(
            resolve("unreachable", Some("precedence_cutoff")),
            Ok((3, 15))
        );
        assert_eq!(text("bogus", None), Err("bad ICMP type bogus".to_string()));
        assert_eq!(
            text("type_256", None),
            Err("bad ICMP type type_256".to_string())
        );
        // Codes are only looked up in the table of a named type.
        assert_eq!(
            resolve("type_3", Some("frag_needed")),
            Err(NameError::Code("frag_needed".to_string()))
        );
        assert_eq!(
            text("time_exceeded", Some("frag_needed")),
            Err("bad ICMP code frag_needed".to_string())
        );
        assert_eq!(
            text("unreachable", Some("code_-1")),
            Err("bad ICMP code code_-1".to_string())
        );
    }

    #[test]
    fn every_name_in_the_table_resolves() {
        for t in TYPES {
            assert_eq!(resolve(t.name, None), Ok((t.ty, 0)));
            for c in t.codes {
                assert_eq!(resolve(t.name, Some(c.name)), Ok((t.ty, c.code)));
            }
        }
    }

    #[test]
    fn frag_needed_round_trip() {
        let r = Repr {
            msg_type: ty::DEST_UNREACH,
            msg_code: CODE_FRAG_NEEDED,
            rest_of_header: [0, 0, 0x04, 0xb0],
            data_len: 28,
        };
        let mut buf = vec![0u8; r.buffer_len()];
        let mut p = Packet::new_unchecked(&mut buf[..]);
        r.emit(&mut p);
        fill_checksum(&mut p);
        let p = Packet::new_checked(&buf[..], "ICMPv4").unwrap();
        assert!(verify_checksum(&p));
        assert_eq!(p.next_hop_mtu(), 1200);
        assert_eq!(Repr::parse(&p).unwrap(), r);
        assert!(Packet::new_checked(&buf[..7], "ICMPv4").is_err());
    }
}
