//! IPv6 fixed headers (RFC 8200). Extension headers are not parsed: like
//! packetdrill, the engine treats a packet whose next header is not a
//! protocol it knows as someone else's.

use super::field::Fields;
use super::view::{Checks, View};
use super::{Error, Result};
use std::net::Ipv6Addr;

pub const HEADER_LEN: usize = 40;

mod field {
    pub const VER_TC_FLOW: usize = 0;
    pub const LENGTH: usize = 4;
    pub const NXT_HDR: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC: usize = 8;
    pub const DST: usize = 24;
}

const VERSION_MASK: u32 = 0xf000_0000;
const TRAFFIC_CLASS_MASK: u32 = 0x0ff0_0000;
const FLOW_LABEL_MASK: u32 = 0x000f_ffff;

/// IPv6 fixed headers, for [`View`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv6;

/// A read/write view of an IPv6 header and its payload (see
/// [`super::ipv4::Packet`] for the checked/unchecked contract).
pub type Packet<T> = View<Ipv6, T>;

impl Checks for Ipv6 {
    /// The buffer holds the header and the payload length it claims.
    fn check_len<T: AsRef<[u8]>>(p: &Packet<T>) -> Result<()> {
        let len = p.b().len();
        if len < HEADER_LEN {
            return Err(Error::new("IPv6 header overflows packet"));
        }
        if HEADER_LEN + usize::from(p.payload_len()) > len {
            return Err(Error::new("IPv6 payload overflows packet"));
        }
        Ok(())
    }
}

impl<T: AsRef<[u8]>> Packet<T> {
    fn word0(&self) -> u32 {
        self.b().u32_at(field::VER_TC_FLOW)
    }

    pub fn version(&self) -> u8 {
        (self.word0() >> 28) as u8
    }

    /// The traffic class byte (DSCP and ECN), packetdrill's "tos".
    pub fn traffic_class(&self) -> u8 {
        (self.word0() >> 20) as u8
    }

    pub fn ecn(&self) -> u8 {
        self.traffic_class() & 0x03
    }

    /// The 20-bit flow label.
    pub fn flow_label(&self) -> u32 {
        self.word0() & FLOW_LABEL_MASK
    }

    pub fn payload_len(&self) -> u16 {
        self.b().u16_at(field::LENGTH)
    }

    pub fn next_header(&self) -> u8 {
        self.b().u8_at(field::NXT_HDR)
    }

    pub fn hop_limit(&self) -> u8 {
        self.b().u8_at(field::HOP_LIMIT)
    }

    pub fn src_addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(self.b().array_at(field::SRC))
    }

    pub fn dst_addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(self.b().array_at(field::DST))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    pub fn set_version(&mut self, v: u8) {
        let bits = u32::from(v & 0x0f) << 28;
        self.bm()
            .set_bits_u32(field::VER_TC_FLOW, VERSION_MASK, bits);
    }

    pub fn set_traffic_class(&mut self, tc: u8) {
        let bits = u32::from(tc) << 20;
        self.bm()
            .set_bits_u32(field::VER_TC_FLOW, TRAFFIC_CLASS_MASK, bits);
    }

    /// Set the two ECN bits of the traffic class.
    pub fn set_ecn(&mut self, ecn: u8) {
        let bits = u32::from(ecn) << 20;
        self.bm().set_bits_u32(field::VER_TC_FLOW, 0x03 << 20, bits);
    }

    /// Set the flow label (only its low 20 bits are used).
    pub fn set_flow_label(&mut self, label: u32) {
        self.bm()
            .set_bits_u32(field::VER_TC_FLOW, FLOW_LABEL_MASK, label);
    }

    pub fn set_payload_len(&mut self, len: u16) {
        self.bm().set_u16_at(field::LENGTH, len);
    }

    pub fn set_next_header(&mut self, v: u8) {
        self.bm().set_u8_at(field::NXT_HDR, v);
    }

    pub fn set_hop_limit(&mut self, v: u8) {
        self.bm().set_u8_at(field::HOP_LIMIT, v);
    }

    pub fn set_src_addr(&mut self, a: Ipv6Addr) {
        self.bm().set_bytes_at(field::SRC, &a.octets());
    }

    pub fn set_dst_addr(&mut self, a: Ipv6Addr) {
        self.bm().set_bytes_at(field::DST, &a.octets());
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Repr {
    pub src_addr: Ipv6Addr,
    pub dst_addr: Ipv6Addr,
    pub next_header: u8,
    pub payload_len: usize,
    pub hop_limit: u8,
    pub traffic_class: u8,
    pub flow_label: u32,
}

impl Repr {
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr> {
        packet.check_len()?;
        if packet.version() != 6 {
            return Err(Error::new("Unsupported IP version"));
        }
        Ok(Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            next_header: packet.next_header(),
            payload_len: usize::from(packet.payload_len()),
            hop_limit: packet.hop_limit(),
            traffic_class: packet.traffic_class(),
            flow_label: packet.flow_label(),
        })
    }

    /// Write the fixed header into the first 40 bytes of `packet`.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_version(6);
        packet.set_traffic_class(self.traffic_class);
        packet.set_flow_label(self.flow_label);
        packet.set_payload_len(self.payload_len.min(usize::from(u16::MAX)) as u16);
        packet.set_next_header(self.next_header);
        packet.set_hop_limit(self.hop_limit);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repr() -> Repr {
        Repr {
            src_addr: "fd3d:fa7b:d17d::1".parse().unwrap(),
            dst_addr: "fd3d:a0b:17d6::1".parse().unwrap(),
            next_header: 6,
            payload_len: 20,
            hop_limit: 64,
            traffic_class: 0xb9,
            flow_label: 0xabcde,
        }
    }

    #[test]
    fn emit_then_parse_round_trips() {
        let mut buf = [0u8; 60];
        repr().emit(&mut Packet::new_unchecked(&mut buf[..]));
        assert_eq!(&buf[..4], &[0x6b, 0x9a, 0xbc, 0xde]);
        let p = Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(p.ecn(), 1);
        assert_eq!(Repr::parse(&p).unwrap(), repr());
    }

    #[test]
    fn setters_keep_neighbouring_bits() {
        let mut buf = [0u8; 40];
        repr().emit(&mut Packet::new_unchecked(&mut buf[..]));
        buf[5] = 0;
        let mut p = Packet::new_unchecked(&mut buf[..]);
        p.set_ecn(2);
        assert_eq!(p.traffic_class(), 0xba);
        assert_eq!(p.flow_label(), 0xabcde);
        p.set_flow_label(0x0012_3456);
        assert_eq!(p.flow_label(), 0x23456);
        assert_eq!((p.version(), p.traffic_class()), (6, 0xba));
    }

    #[test]
    fn short_buffers_are_refused() {
        assert_eq!(
            Packet::new_checked(&[0x60u8; 39][..])
                .unwrap_err()
                .to_string(),
            "IPv6 header overflows packet"
        );
        let mut buf = [0u8; 40];
        repr().emit(&mut Packet::new_unchecked(&mut buf[..]));
        assert_eq!(
            Packet::new_checked(&buf[..]).unwrap_err().to_string(),
            "IPv6 payload overflows packet"
        );
    }
}
