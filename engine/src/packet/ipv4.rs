//! IPv4 headers (RFC 791).

use super::{checksum, Error, Result};
use std::net::Ipv4Addr;

/// The length of a header without options.
pub const HEADER_LEN: usize = 20;

mod field {
    pub const VER_IHL: usize = 0;
    pub const TOS: usize = 1;
    pub const LENGTH: std::ops::Range<usize> = 2..4;
    pub const IDENT: std::ops::Range<usize> = 4..6;
    pub const FLG_OFF: std::ops::Range<usize> = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: std::ops::Range<usize> = 10..12;
    pub const SRC: std::ops::Range<usize> = 12..16;
    pub const DST: std::ops::Range<usize> = 16..20;
}

const FLAG_MF: u16 = 0x2000;
const OFFSET_MASK: u16 = 0x1fff;

/// A read/write view of an IPv4 header and its payload.
///
/// Build it with [`Packet::new_checked`]: the field accessors then never
/// panic. (With [`Packet::new_unchecked`] they may, on a short buffer.)
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wrap `buffer` after [`Packet::check_len`].
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let p = Packet::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// The buffer holds the fixed header, the header with options, and the
    /// whole datagram the total length claims (packetdrill's parser checks,
    /// in its order and wording).
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::new("IP header overflows packet"));
        }
        let header_len = self.header_len();
        if header_len < HEADER_LEN {
            return Err(Error::new("IP header too short"));
        }
        if header_len > len {
            return Err(Error::new("Full IP header overflows packet"));
        }
        let total = usize::from(self.total_len());
        if total > len {
            return Err(Error::new("IP payload overflows packet"));
        }
        if header_len > total {
            return Err(Error::new("IP header bigger than datagram"));
        }
        Ok(())
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    fn u16_at(&self, r: std::ops::Range<usize>) -> u16 {
        let d = &self.b()[r];
        u16::from_be_bytes([d[0], d[1]])
    }

    pub fn version(&self) -> u8 {
        self.b()[field::VER_IHL] >> 4
    }

    /// Header length in bytes (IHL × 4).
    pub fn header_len(&self) -> usize {
        usize::from(self.b()[field::VER_IHL] & 0x0f) * 4
    }

    /// The whole TOS byte (DSCP and ECN).
    pub fn tos(&self) -> u8 {
        self.b()[field::TOS]
    }

    /// The two ECN bits.
    pub fn ecn(&self) -> u8 {
        self.tos() & 0x03
    }

    pub fn total_len(&self) -> u16 {
        self.u16_at(field::LENGTH)
    }

    pub fn more_frags(&self) -> bool {
        self.u16_at(field::FLG_OFF) & FLAG_MF != 0
    }

    /// Fragment offset in 8-byte units.
    pub fn frag_offset(&self) -> u16 {
        self.u16_at(field::FLG_OFF) & OFFSET_MASK
    }

    pub fn ttl(&self) -> u8 {
        self.b()[field::TTL]
    }

    pub fn protocol(&self) -> u8 {
        self.b()[field::PROTOCOL]
    }

    pub fn src_addr(&self) -> Ipv4Addr {
        let d = &self.b()[field::SRC];
        Ipv4Addr::new(d[0], d[1], d[2], d[3])
    }

    pub fn dst_addr(&self) -> Ipv4Addr {
        let d = &self.b()[field::DST];
        Ipv4Addr::new(d[0], d[1], d[2], d[3])
    }

    /// Whether the header checksum is right.
    pub fn verify_checksum(&self) -> bool {
        checksum::data(&self.b()[..self.header_len()]) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn bm(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    fn set_u16_at(&mut self, r: std::ops::Range<usize>, v: u16) {
        self.bm()[r].copy_from_slice(&v.to_be_bytes());
    }

    pub fn set_version(&mut self, v: u8) {
        let b = &mut self.bm()[field::VER_IHL];
        *b = (*b & 0x0f) | (v << 4);
    }

    /// Set the header length in bytes (rounded down to 4-byte words).
    pub fn set_header_len(&mut self, len: usize) {
        let words = ((len / 4) & 0x0f) as u8;
        let b = &mut self.bm()[field::VER_IHL];
        *b = (*b & 0xf0) | words;
    }

    pub fn set_tos(&mut self, tos: u8) {
        self.bm()[field::TOS] = tos;
    }

    /// Set the two ECN bits, keeping the DSCP.
    pub fn set_ecn(&mut self, ecn: u8) {
        let b = &mut self.bm()[field::TOS];
        *b = (*b & !0x03) | (ecn & 0x03);
    }

    pub fn set_total_len(&mut self, len: u16) {
        self.set_u16_at(field::LENGTH, len);
    }

    pub fn set_ident(&mut self, v: u16) {
        self.set_u16_at(field::IDENT, v);
    }

    /// Set the DF/MF flags and fragment offset word.
    pub fn set_flags_and_offset(&mut self, v: u16) {
        self.set_u16_at(field::FLG_OFF, v);
    }

    pub fn set_ttl(&mut self, v: u8) {
        self.bm()[field::TTL] = v;
    }

    pub fn set_protocol(&mut self, v: u8) {
        self.bm()[field::PROTOCOL] = v;
    }

    pub fn set_checksum(&mut self, v: u16) {
        self.set_u16_at(field::CHECKSUM, v);
    }

    pub fn set_src_addr(&mut self, a: Ipv4Addr) {
        self.bm()[field::SRC].copy_from_slice(&a.octets());
    }

    pub fn set_dst_addr(&mut self, a: Ipv4Addr) {
        self.bm()[field::DST].copy_from_slice(&a.octets());
    }

    /// Compute and store the header checksum.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let sum = !checksum::data(&self.b()[..self.header_len()]);
        self.set_checksum(sum);
    }
}

/// The fields of an IPv4 header packetdrill builds: no options, no ID, no
/// fragmentation bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Repr {
    pub src_addr: Ipv4Addr,
    pub dst_addr: Ipv4Addr,
    pub protocol: u8,
    pub payload_len: usize,
    pub ttl: u8,
    pub tos: u8,
}

impl Repr {
    /// Parse a checked header; its options, ID and DF bit are ignored,
    /// fragments and bad checksums are refused.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr> {
        packet.check_len()?;
        if packet.version() != 4 {
            return Err(Error::new("Unsupported IP version"));
        }
        if packet.more_frags() {
            return Err(Error::new("More fragments remaining"));
        }
        if packet.frag_offset() != 0 {
            return Err(Error::new("Non-zero fragment offset"));
        }
        if !packet.verify_checksum() {
            return Err(Error::new("Bad IP checksum"));
        }
        Ok(Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            protocol: packet.protocol(),
            payload_len: usize::from(packet.total_len()) - packet.header_len(),
            ttl: packet.ttl(),
            tos: packet.tos(),
        })
    }

    /// Write the header (with its checksum) into the first 20 bytes of `packet`.
    /// The buffer must hold at least those 20 bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_version(4);
        packet.set_header_len(HEADER_LEN);
        packet.set_tos(self.tos);
        packet.set_total_len((HEADER_LEN + self.payload_len).min(usize::from(u16::MAX)) as u16);
        packet.set_ident(0);
        packet.set_flags_and_offset(0);
        packet.set_ttl(self.ttl);
        packet.set_protocol(self.protocol);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
        packet.fill_checksum();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repr() -> Repr {
        Repr {
            src_addr: Ipv4Addr::new(192, 0, 2, 1),
            dst_addr: Ipv4Addr::new(192, 168, 0, 1),
            protocol: 6,
            payload_len: 20,
            ttl: 64,
            tos: 0x02,
        }
    }

    #[test]
    fn emit_then_parse_round_trips() {
        let mut buf = [0u8; 40];
        let mut p = Packet::new_unchecked(&mut buf[..]);
        repr().emit(&mut p);
        let p = Packet::new_checked(&buf[..]).unwrap();
        assert!(p.verify_checksum());
        assert_eq!(p.total_len(), 40);
        assert_eq!(p.ecn(), 2);
        assert_eq!(Repr::parse(&p).unwrap(), repr());
    }

    #[test]
    fn checks_follow_packetdrill_wording() {
        assert_eq!(
            Packet::new_checked(&[0x45u8; 10][..])
                .unwrap_err()
                .to_string(),
            "IP header overflows packet"
        );
        let mut buf = [0u8; 40];
        repr().emit(&mut Packet::new_unchecked(&mut buf[..]));
        buf[0] = 0x44;
        assert_eq!(
            Packet::new_checked(&buf[..]).unwrap_err().to_string(),
            "IP header too short"
        );
        buf[0] = 0x4f;
        assert_eq!(
            Packet::new_checked(&buf[..]).unwrap_err().to_string(),
            "Full IP header overflows packet"
        );
        buf[0] = 0x45;
        buf[3] = 41;
        assert_eq!(
            Packet::new_checked(&buf[..]).unwrap_err().to_string(),
            "IP payload overflows packet"
        );
        buf[3] = 19;
        assert_eq!(
            Packet::new_checked(&buf[..]).unwrap_err().to_string(),
            "IP header bigger than datagram"
        );
    }

    #[test]
    fn fragments_and_bad_checksums_are_refused() {
        let mut buf = vec![0u8; 40];
        repr().emit(&mut Packet::new_unchecked(&mut buf[..]));
        let mut frag = buf.clone();
        Packet::new_unchecked(&mut frag[..]).set_flags_and_offset(0x2000);
        let err = Repr::parse(&Packet::new_unchecked(&frag[..])).unwrap_err();
        assert_eq!(err.to_string(), "More fragments remaining");
        buf[8] = 1;
        let err = Repr::parse(&Packet::new_unchecked(&buf[..])).unwrap_err();
        assert_eq!(err.to_string(), "Bad IP checksum");
    }

    #[test]
    fn setters_touch_only_their_bits() {
        let mut buf = [0u8; 40];
        repr().emit(&mut Packet::new_unchecked(&mut buf[..]));
        let mut p = Packet::new_unchecked(&mut buf[..]);
        p.set_tos(0xb8);
        p.set_ecn(1);
        assert_eq!(p.tos(), 0xb9);
        p.set_header_len(24);
        assert_eq!((p.version(), p.header_len()), (4, 24));
    }
}
