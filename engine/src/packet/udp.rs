//! UDP (RFC 768) and UDP-Lite (RFC 3828) headers.
//!
//! Both share the 8-byte header; in UDP-Lite the length field is the
//! checksum coverage (0 = the whole datagram) and the datagram's length comes
//! from the IP header. packetdrill itself has no UDP-Lite (its sniffer skips
//! such packets), so the engine only needs the wire format.

use super::{checksum, proto, Error, Result};
use std::net::IpAddr;

pub const HEADER_LEN: usize = 8;

mod field {
    pub const SRC_PORT: std::ops::Range<usize> = 0..2;
    pub const DST_PORT: std::ops::Range<usize> = 2..4;
    pub const LENGTH: std::ops::Range<usize> = 4..6;
    pub const CHECKSUM: std::ops::Range<usize> = 6..8;
}

/// A read/write view of a UDP or UDP-Lite datagram. The buffer is the IP
/// payload: for UDP its length must equal the length field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// A UDP datagram whose length field matches the buffer (packetdrill's checks).
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let p = Packet::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// A UDP-Lite datagram with a coverage within the buffer.
    pub fn new_checked_lite(buffer: T) -> Result<Packet<T>> {
        let p = Packet::new_unchecked(buffer);
        p.check_len_lite()?;
        Ok(p)
    }

    pub fn check_len(&self) -> Result<()> {
        let buf_len = self.buffer.as_ref().len();
        if buf_len < HEADER_LEN {
            return Err(Error::new("Truncated UDP header"));
        }
        let len = usize::from(self.len());
        if len < HEADER_LEN {
            return Err(Error::new("UDP datagram length too small for UDP header"));
        }
        if len < buf_len {
            return Err(Error::new("UDP datagram length too small"));
        }
        if len > buf_len {
            return Err(Error::new("UDP datagram length too big"));
        }
        Ok(())
    }

    pub fn check_len_lite(&self) -> Result<()> {
        let buf_len = self.buffer.as_ref().len();
        if buf_len < HEADER_LEN {
            return Err(Error::new("Truncated UDP-Lite header"));
        }
        let cov = usize::from(self.len());
        if cov != 0 && (cov < HEADER_LEN || cov > buf_len) {
            return Err(Error::new("bad UDP-Lite checksum coverage"));
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    fn u16_at(&self, r: std::ops::Range<usize>) -> u16 {
        let d = &self.b()[r];
        u16::from_be_bytes([d[0], d[1]])
    }

    pub fn src_port(&self) -> u16 {
        self.u16_at(field::SRC_PORT)
    }

    pub fn dst_port(&self) -> u16 {
        self.u16_at(field::DST_PORT)
    }

    /// The length field (UDP: datagram length; UDP-Lite: checksum coverage).
    pub fn len(&self) -> u16 {
        self.u16_at(field::LENGTH)
    }

    pub fn is_empty(&self) -> bool {
        self.b().len() <= HEADER_LEN
    }

    /// UDP-Lite: how many bytes the checksum covers.
    pub fn checksum_coverage(&self) -> usize {
        match usize::from(self.len()) {
            0 => self.b().len(),
            n => n.min(self.b().len()),
        }
    }

    pub fn checksum(&self) -> u16 {
        self.u16_at(field::CHECKSUM)
    }

    /// The bytes after the header, to the end of the buffer.
    pub fn payload(&self) -> &[u8] {
        &self.b()[HEADER_LEN..]
    }

    fn sum(&self, src: &IpAddr, dst: &IpAddr, protocol: u8, covered: usize) -> u16 {
        checksum::combine(&[
            checksum::pseudo_header(src, dst, protocol, self.b().len() as u32),
            checksum::data(&self.b()[..covered]),
        ])
    }

    /// Whether the UDP checksum is right (0 means "none" and passes).
    pub fn verify_checksum(&self, src: &IpAddr, dst: &IpAddr) -> bool {
        self.checksum() == 0 || self.sum(src, dst, proto::UDP, self.b().len()) == 0xffff
    }

    /// Whether the UDP-Lite checksum over its coverage is right.
    pub fn verify_checksum_lite(&self, src: &IpAddr, dst: &IpAddr) -> bool {
        self.sum(src, dst, proto::UDPLITE, self.checksum_coverage()) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn set_u16_at(&mut self, r: std::ops::Range<usize>, v: u16) {
        self.buffer.as_mut()[r].copy_from_slice(&v.to_be_bytes());
    }

    pub fn set_src_port(&mut self, v: u16) {
        self.set_u16_at(field::SRC_PORT, v);
    }

    pub fn set_dst_port(&mut self, v: u16) {
        self.set_u16_at(field::DST_PORT, v);
    }

    pub fn set_len(&mut self, v: u16) {
        self.set_u16_at(field::LENGTH, v);
    }

    pub fn set_checksum(&mut self, v: u16) {
        self.set_u16_at(field::CHECKSUM, v);
    }

    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[HEADER_LEN..]
    }

    fn fill(&mut self, src: &IpAddr, dst: &IpAddr, protocol: u8, covered: usize) {
        self.set_checksum(0);
        let sum = !self.sum(src, dst, protocol, covered);
        // A computed zero goes on the wire as all ones (0 means "no checksum").
        self.set_checksum(if sum == 0 { 0xffff } else { sum });
    }

    /// Compute and store the UDP checksum over the whole datagram.
    pub fn fill_checksum(&mut self, src: &IpAddr, dst: &IpAddr) {
        let len = self.b().len();
        self.fill(src, dst, proto::UDP, len);
    }

    /// Compute and store the UDP-Lite checksum over its coverage.
    pub fn fill_checksum_lite(&mut self, src: &IpAddr, dst: &IpAddr) {
        let covered = self.checksum_coverage();
        self.fill(src, dst, proto::UDPLITE, covered);
    }
}

/// A UDP datagram's header fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Repr {
    pub src_port: u16,
    pub dst_port: u16,
    pub payload_len: usize,
}

impl Repr {
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr> {
        packet.check_len()?;
        Ok(Repr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            payload_len: packet.payload().len(),
        })
    }

    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload_len
    }

    /// Write the header (checksum zero) into the first 8 bytes of `packet`.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_len(self.buffer_len().min(usize::from(u16::MAX)) as u16);
        packet.set_checksum(0);
    }
}

/// A UDP-Lite datagram's header fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LiteRepr {
    pub src_port: u16,
    pub dst_port: u16,
    /// Checksum coverage in bytes (0 = whole datagram).
    pub checksum_coverage: u16,
    pub payload_len: usize,
}

impl LiteRepr {
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<LiteRepr> {
        packet.check_len_lite()?;
        Ok(LiteRepr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            checksum_coverage: packet.len(),
            payload_len: packet.payload().len(),
        })
    }

    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload_len
    }

    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_len(self.checksum_coverage);
        packet.set_checksum(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs() -> (IpAddr, IpAddr) {
        (
            "fd3d:fa7b:d17d::1".parse().unwrap(),
            "fd3d:a0b:17d6::1".parse().unwrap(),
        )
    }

    #[test]
    fn udp_round_trips_and_checksums() {
        let r = Repr {
            src_port: 53,
            dst_port: 4000,
            payload_len: 5,
        };
        let mut buf = vec![0u8; r.buffer_len()];
        let mut p = Packet::new_unchecked(&mut buf[..]);
        r.emit(&mut p);
        p.payload_mut().copy_from_slice(b"hello");
        let (s, d) = addrs();
        p.fill_checksum(&s, &d);
        let p = Packet::new_checked(&buf[..]).unwrap();
        assert!(p.verify_checksum(&s, &d));
        assert_eq!(Repr::parse(&p).unwrap(), r);
    }

    #[test]
    fn udp_length_checks_follow_packetdrill() {
        let mut buf = [0u8; 12];
        buf[5] = 4;
        assert_eq!(
            Packet::new_checked(&buf[..]).unwrap_err().to_string(),
            "UDP datagram length too small for UDP header"
        );
        buf[5] = 10;
        assert_eq!(
            Packet::new_checked(&buf[..]).unwrap_err().to_string(),
            "UDP datagram length too small"
        );
        buf[5] = 13;
        assert_eq!(
            Packet::new_checked(&buf[..]).unwrap_err().to_string(),
            "UDP datagram length too big"
        );
        assert_eq!(
            Packet::new_checked(&buf[..7]).unwrap_err().to_string(),
            "Truncated UDP header"
        );
    }

    #[test]
    fn udplite_checksum_covers_only_its_coverage() {
        let r = LiteRepr {
            src_port: 1,
            dst_port: 2,
            checksum_coverage: 8,
            payload_len: 4,
        };
        let mut buf = vec![0u8; r.buffer_len()];
        let mut p = Packet::new_unchecked(&mut buf[..]);
        r.emit(&mut p);
        let (s, d) = addrs();
        p.fill_checksum_lite(&s, &d);
        // Bytes outside the coverage may change freely.
        p.payload_mut()[3] = 0x55;
        let p = Packet::new_checked_lite(&buf[..]).unwrap();
        assert!(p.verify_checksum_lite(&s, &d));
        assert_eq!(LiteRepr::parse(&p).unwrap(), r);
        let mut bad = buf.clone();
        bad[5] = 13;
        assert!(Packet::new_checked_lite(&bad[..]).is_err());
    }
}
