//! IPv6 fixed headers (RFC 8200). Extension headers are not parsed: like
//! packetdrill, the engine treats a packet whose next header is not a
//! protocol it knows as someone else's.

use super::{Error, Result};
use std::net::Ipv6Addr;

pub const HEADER_LEN: usize = 40;

mod field {
    pub const VER_TC_FLOW: std::ops::Range<usize> = 0..4;
    pub const LENGTH: std::ops::Range<usize> = 4..6;
    pub const NXT_HDR: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC: std::ops::Range<usize> = 8..24;
    pub const DST: std::ops::Range<usize> = 24..40;
}

/// A read/write view of an IPv6 header and its payload (see
/// [`super::ipv4::Packet`] for the checked/unchecked contract).
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

    /// The buffer holds the header and the payload length it claims.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::new("IPv6 header overflows packet"));
        }
        if HEADER_LEN + usize::from(self.payload_len()) > len {
            return Err(Error::new("IPv6 payload overflows packet"));
        }
        Ok(())
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    fn word0(&self) -> u32 {
        let d = &self.b()[field::VER_TC_FLOW];
        u32::from_be_bytes([d[0], d[1], d[2], d[3]])
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
        self.word0() & 0x000f_ffff
    }

    pub fn payload_len(&self) -> u16 {
        let d = &self.b()[field::LENGTH];
        u16::from_be_bytes([d[0], d[1]])
    }

    pub fn next_header(&self) -> u8 {
        self.b()[field::NXT_HDR]
    }

    pub fn hop_limit(&self) -> u8 {
        self.b()[field::HOP_LIMIT]
    }

    pub fn src_addr(&self) -> Ipv6Addr {
        addr(&self.b()[field::SRC])
    }

    pub fn dst_addr(&self) -> Ipv6Addr {
        addr(&self.b()[field::DST])
    }
}

fn addr(d: &[u8]) -> Ipv6Addr {
    let mut o = [0u8; 16];
    o.copy_from_slice(d);
    Ipv6Addr::from(o)
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn bm(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    fn set_word0(&mut self, w: u32) {
        self.bm()[field::VER_TC_FLOW].copy_from_slice(&w.to_be_bytes());
    }

    pub fn set_version(&mut self, v: u8) {
        let w = (self.word0() & 0x0fff_ffff) | (u32::from(v & 0x0f) << 28);
        self.set_word0(w);
    }

    pub fn set_traffic_class(&mut self, tc: u8) {
        let w = (self.word0() & 0xf00f_ffff) | (u32::from(tc) << 20);
        self.set_word0(w);
    }

    /// Set the two ECN bits of the traffic class.
    pub fn set_ecn(&mut self, ecn: u8) {
        let tc = (self.traffic_class() & !0x03) | (ecn & 0x03);
        self.set_traffic_class(tc);
    }

    /// Set the flow label (only its low 20 bits are used).
    pub fn set_flow_label(&mut self, label: u32) {
        let w = (self.word0() & 0xfff0_0000) | (label & 0x000f_ffff);
        self.set_word0(w);
    }

    pub fn set_payload_len(&mut self, len: u16) {
        self.bm()[field::LENGTH].copy_from_slice(&len.to_be_bytes());
    }

    pub fn set_next_header(&mut self, v: u8) {
        self.bm()[field::NXT_HDR] = v;
    }

    pub fn set_hop_limit(&mut self, v: u8) {
        self.bm()[field::HOP_LIMIT] = v;
    }

    pub fn set_src_addr(&mut self, a: Ipv6Addr) {
        self.bm()[field::SRC].copy_from_slice(&a.octets());
    }

    pub fn set_dst_addr(&mut self, a: Ipv6Addr) {
        self.bm()[field::DST].copy_from_slice(&a.octets());
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
        packet.set_word0(0);
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
