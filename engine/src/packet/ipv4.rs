//! IPv4 headers (RFC 791).

use super::field::Fields;
use super::view::{Checks, View};
use super::{checksum, Error, Result};
use std::net::Ipv4Addr;

/// The length of a header without options.
pub const HEADER_LEN: usize = 20;

mod field {
    pub const VER_IHL: usize = 0;
    pub const TOS: usize = 1;
    pub const LENGTH: usize = 2;
    pub const IDENT: usize = 4;
    pub const FLG_OFF: usize = 6;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: usize = 10;
    pub const SRC: usize = 12;
    pub const DST: usize = 16;
}

const FLAG_MF: u16 = 0x2000;
const OFFSET_MASK: u16 = 0x1fff;

/// IPv4 headers, for [`View`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4;

/// A read/write view of an IPv4 header and its payload.
///
/// Its accessors never panic; on a buffer that has not passed
/// [`View::new_checked`] their values are only as good as the bytes.
pub type Packet<T> = View<Ipv4, T>;

impl Checks for Ipv4 {
    /// The buffer holds the fixed header, the header with options, and the
    /// whole datagram the total length claims (packetdrill's parser checks,
    /// in its order and wording).
    fn check_len<T: AsRef<[u8]>>(p: &Packet<T>) -> Result<()> {
        let len = p.b().len();
        if len < HEADER_LEN {
            return Err(Error::new("IP header overflows packet"));
        }
        let header_len = p.header_len();
        if header_len < HEADER_LEN {
            return Err(Error::new("IP header too short"));
        }
        if header_len > len {
            return Err(Error::new("Full IP header overflows packet"));
        }
        let total = usize::from(p.total_len());
        if total > len {
            return Err(Error::new("IP payload overflows packet"));
        }
        if header_len > total {
            return Err(Error::new("IP header bigger than datagram"));
        }
        Ok(())
    }
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub fn version(&self) -> u8 {
        self.b().u8_at(field::VER_IHL) >> 4
    }

    /// Header length in bytes (IHL × 4).
    pub fn header_len(&self) -> usize {
        usize::from(self.b().u8_at(field::VER_IHL) & 0x0f) * 4
    }

    /// The whole TOS byte (DSCP and ECN).
    pub fn tos(&self) -> u8 {
        self.b().u8_at(field::TOS)
    }

    /// The two ECN bits.
    pub fn ecn(&self) -> u8 {
        self.tos() & 0x03
    }

    pub fn total_len(&self) -> u16 {
        self.b().u16_at(field::LENGTH)
    }

    pub fn more_frags(&self) -> bool {
        self.b().u16_at(field::FLG_OFF) & FLAG_MF != 0
    }

    /// Fragment offset in 8-byte units.
    pub fn frag_offset(&self) -> u16 {
        self.b().u16_at(field::FLG_OFF) & OFFSET_MASK
    }

    pub fn ttl(&self) -> u8 {
        self.b().u8_at(field::TTL)
    }

    pub fn protocol(&self) -> u8 {
        self.b().u8_at(field::PROTOCOL)
    }

    pub fn src_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.b().array_at(field::SRC))
    }

    pub fn dst_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.b().array_at(field::DST))
    }

    /// Whether the header checksum is right.
    pub fn verify_checksum(&self) -> bool {
        checksum::data(self.b().range(0..self.header_len())) == 0xffff
    }

    /// What packetdrill refuses in a well-formed header (after
    /// [`View::check_len`]): a fragment, or a wrong checksum.
    pub fn check_whole_datagram(&self) -> Result<()> {
        if self.more_frags() {
            return Err(Error::new("More fragments remaining"));
        }
        if self.frag_offset() != 0 {
            return Err(Error::new("Non-zero fragment offset"));
        }
        if !self.verify_checksum() {
            return Err(Error::new("Bad IP checksum"));
        }
        Ok(())
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    pub fn set_version(&mut self, v: u8) {
        self.bm().set_bits_u8(field::VER_IHL, 0xf0, v << 4);
    }

    /// Set the header length in bytes (rounded down to 4-byte words).
    pub fn set_header_len(&mut self, len: usize) {
        let words = ((len / 4) & 0x0f) as u8;
        self.bm().set_bits_u8(field::VER_IHL, 0x0f, words);
    }

    pub fn set_tos(&mut self, tos: u8) {
        self.bm().set_u8_at(field::TOS, tos);
    }

    /// Set the two ECN bits, keeping the DSCP.
    pub fn set_ecn(&mut self, ecn: u8) {
        self.bm().set_bits_u8(field::TOS, 0x03, ecn);
    }

    pub fn set_total_len(&mut self, len: u16) {
        self.bm().set_u16_at(field::LENGTH, len);
    }

    pub fn set_ident(&mut self, v: u16) {
        self.bm().set_u16_at(field::IDENT, v);
    }

    /// Set the DF/MF flags and fragment offset word.
    pub fn set_flags_and_offset(&mut self, v: u16) {
        self.bm().set_u16_at(field::FLG_OFF, v);
    }

    pub fn set_ttl(&mut self, v: u8) {
        self.bm().set_u8_at(field::TTL, v);
    }

    pub fn set_protocol(&mut self, v: u8) {
        self.bm().set_u8_at(field::PROTOCOL, v);
    }

    pub fn set_checksum(&mut self, v: u16) {
        self.bm().set_u16_at(field::CHECKSUM, v);
    }

    pub fn set_src_addr(&mut self, a: Ipv4Addr) {
        self.bm().set_bytes_at(field::SRC, &a.octets());
    }

    pub fn set_dst_addr(&mut self, a: Ipv4Addr) {
        self.bm().set_bytes_at(field::DST, &a.octets());
    }

    /// Compute and store the header checksum.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let sum = !checksum::data(self.b().range(0..self.header_len()));
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
        packet.check_whole_datagram()?;
        Ok(Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            protocol: packet.protocol(),
            payload_len: usize::from(packet.total_len()) - packet.header_len(),
            ttl: packet.ttl(),
            tos: packet.tos(),
        })
    }

    /// Write the header (with its checksum) into the first 20 bytes of `packet`
    /// (those of them past the end of a shorter buffer are dropped).
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
