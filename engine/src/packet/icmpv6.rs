//! ICMPv6 (RFC 4443), with the type and code names packetdrill scripts use
//! (`unreachable port_unreachable`, `packet_too_big mtu 1280`, ...).

use super::icmpv4::{code_name_of, name_of, resolve_in, CodeName, TypeName};
use super::{checksum, proto, Error, Result};
use std::net::Ipv6Addr;

pub const HEADER_LEN: usize = 8;

/// Type numbers.
pub mod ty {
    pub const DEST_UNREACH: u8 = 1;
    pub const PACKET_TOO_BIG: u8 = 2;
    pub const TIME_EXCEEDED: u8 = 3;
    pub const PARAMETER_PROBLEM: u8 = 4;
    pub const ECHO_REQUEST: u8 = 128;
    pub const ECHO_REPLY: u8 = 129;
    pub const MLD_QUERY: u8 = 130;
    pub const MLD_REPORT: u8 = 131;
    pub const MLD_DONE: u8 = 132;
    pub const ROUTER_SOLICIT: u8 = 133;
    pub const ROUTER_ADVERT: u8 = 134;
    pub const NEIGHBOR_SOLICIT: u8 = 135;
    pub const NEIGHBOR_ADVERT: u8 = 136;
    pub const REDIRECT: u8 = 137;
    pub const MLD2_REPORT: u8 = 143;
}

/// Whether a type is neighbour discovery or multicast listener traffic the
/// kernel sends on its own (never a script's packet).
pub fn is_link_housekeeping(msg_type: u8) -> bool {
    matches!(msg_type, ty::MLD_QUERY..=ty::REDIRECT | ty::MLD2_REPORT)
}

const fn c(code: u8, name: &'static str) -> CodeName {
    CodeName { code, name }
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

const fn t(ty: u8, name: &'static str, codes: &'static [CodeName]) -> TypeName {
    TypeName { ty, name, codes }
}

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

pub fn type_name(ty: u8) -> Option<&'static str> {
    name_of(TYPES, ty)
}

/// The first script name of a code (code 0 of `unreachable` has two).
pub fn code_name(ty: u8, code: u8) -> Option<&'static str> {
    code_name_of(TYPES, ty, code)
}

/// Resolve script type/code words as packetdrill does (see
/// [`super::icmpv4::resolve`]).
pub fn resolve(type_word: &str, code_word: Option<&str>) -> std::result::Result<(u8, u8), String> {
    resolve_in(TYPES, type_word, code_word)
}

/// A read/write view of an ICMPv6 message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let p = Packet::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            return Err(Error::new("Truncated ICMPv6 header"));
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    fn u16_at(&self, at: usize) -> u16 {
        u16::from_be_bytes([self.b()[at], self.b()[at + 1]])
    }

    pub fn msg_type(&self) -> u8 {
        self.b()[0]
    }

    pub fn msg_code(&self) -> u8 {
        self.b()[1]
    }

    pub fn checksum(&self) -> u16 {
        self.u16_at(2)
    }

    pub fn rest_of_header(&self) -> [u8; 4] {
        let d = &self.b()[4..8];
        [d[0], d[1], d[2], d[3]]
    }

    /// The MTU of a packet-too-big message.
    pub fn mtu(&self) -> u32 {
        u32::from_be_bytes(self.rest_of_header())
    }

    pub fn echo_ident(&self) -> u16 {
        self.u16_at(4)
    }

    pub fn echo_seq_no(&self) -> u16 {
        self.u16_at(6)
    }

    pub fn data(&self) -> &[u8] {
        &self.b()[HEADER_LEN..]
    }

    fn sum(&self, src: &Ipv6Addr, dst: &Ipv6Addr) -> u16 {
        checksum::combine(&[
            checksum::pseudo_header_v6(src, dst, proto::ICMPV6, self.b().len() as u32),
            checksum::data(self.b()),
        ])
    }

    pub fn verify_checksum(&self, src: &Ipv6Addr, dst: &Ipv6Addr) -> bool {
        self.sum(src, dst) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn set_u16_at(&mut self, at: usize, v: u16) {
        self.buffer.as_mut()[at..at + 2].copy_from_slice(&v.to_be_bytes());
    }

    pub fn set_msg_type(&mut self, v: u8) {
        self.buffer.as_mut()[0] = v;
    }

    pub fn set_msg_code(&mut self, v: u8) {
        self.buffer.as_mut()[1] = v;
    }

    pub fn set_checksum(&mut self, v: u16) {
        self.set_u16_at(2, v);
    }

    pub fn set_rest_of_header(&mut self, v: [u8; 4]) {
        self.buffer.as_mut()[4..8].copy_from_slice(&v);
    }

    pub fn set_mtu(&mut self, v: u32) {
        self.set_rest_of_header(v.to_be_bytes());
    }

    pub fn set_echo_ident(&mut self, v: u16) {
        self.set_u16_at(4, v);
    }

    pub fn set_echo_seq_no(&mut self, v: u16) {
        self.set_u16_at(6, v);
    }

    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[HEADER_LEN..]
    }

    /// Compute and store the checksum (pseudo-header included).
    pub fn fill_checksum(&mut self, src: &Ipv6Addr, dst: &Ipv6Addr) {
        self.set_checksum(0);
        let sum = !self.sum(src, dst);
        self.set_checksum(sum);
    }
}

/// An ICMPv6 message header; the data is not kept, only its length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Repr {
    pub msg_type: u8,
    pub msg_code: u8,
    pub rest_of_header: [u8; 4],
    pub data_len: usize,
}

impl Repr {
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr> {
        packet.check_len()?;
        Ok(Repr {
            msg_type: packet.msg_type(),
            msg_code: packet.msg_code(),
            rest_of_header: packet.rest_of_header(),
            data_len: packet.data().len(),
        })
    }

    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.data_len
    }

    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_msg_type(self.msg_type);
        packet.set_msg_code(self.msg_code);
        packet.set_checksum(0);
        packet.set_rest_of_header(self.rest_of_header);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            resolve("unreachable", Some("frag_needed")),
            Err("bad ICMP code frag_needed".to_string())
        );
        assert_eq!(
            resolve("source_quench", None),
            Err("bad ICMP type source_quench".to_string())
        );
        assert_eq!(code_name(1, 0), Some("net_unreachable"));
        assert_eq!(type_name(2), Some("packet_too_big"));
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
        let (s, d): (Ipv6Addr, Ipv6Addr) = ("fe80::1".parse().unwrap(), "ff02::2".parse().unwrap());
        p.fill_checksum(&s, &d);
        let p = Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(p.mtu(), 1280);
        assert!(p.verify_checksum(&s, &d));
        assert_eq!(Repr::parse(&p).unwrap(), r);
    }
}
