//! UDP headers (RFC 768). (packetdrill has no UDP-Lite: its sniffer skips
//! such packets, and so does the engine's.)

use super::{checksum, proto, Error, Result};
use std::net::IpAddr;

pub const HEADER_LEN: usize = 8;

mod field {
    pub const SRC_PORT: std::ops::Range<usize> = 0..2;
    pub const DST_PORT: std::ops::Range<usize> = 2..4;
    pub const LENGTH: std::ops::Range<usize> = 4..6;
    pub const CHECKSUM: std::ops::Range<usize> = 6..8;
}

/// A read/write view of a UDP datagram. The buffer is the IP payload; its
/// length must equal the length field.
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

    pub fn check_len(&self) -> Result<()> {
        let buf_len = self.buffer.as_ref().len();
        if buf_len < HEADER_LEN {
            return Err(Error::new("Truncated UDP header"));
        }
        let len = usize::from(self.length());
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

    /// The length field: the datagram's length.
    pub fn length(&self) -> u16 {
        self.u16_at(field::LENGTH)
    }

    pub fn checksum(&self) -> u16 {
        self.u16_at(field::CHECKSUM)
    }

    /// The bytes after the header, to the end of the buffer.
    pub fn payload(&self) -> &[u8] {
        &self.b()[HEADER_LEN..]
    }

    fn sum(&self, src: &IpAddr, dst: &IpAddr) -> u16 {
        checksum::combine(&[
            checksum::pseudo_header(src, dst, proto::UDP, self.b().len() as u32),
            checksum::data(self.b()),
        ])
    }

    /// Whether the UDP checksum is right (0 means "none" and passes).
    pub fn verify_checksum(&self, src: &IpAddr, dst: &IpAddr) -> bool {
        self.checksum() == 0 || self.sum(src, dst) == 0xffff
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

    pub fn set_length(&mut self, v: u16) {
        self.set_u16_at(field::LENGTH, v);
    }

    pub fn set_checksum(&mut self, v: u16) {
        self.set_u16_at(field::CHECKSUM, v);
    }

    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[HEADER_LEN..]
    }

    /// Compute and store the UDP checksum over the whole datagram.
    pub fn fill_checksum(&mut self, src: &IpAddr, dst: &IpAddr) {
        self.set_checksum(0);
        let sum = !self.sum(src, dst);
        // A computed zero goes on the wire as all ones (0 means "no checksum").
        self.set_checksum(if sum == 0 { 0xffff } else { sum });
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
        packet.set_length(self.buffer_len().min(usize::from(u16::MAX)) as u16);
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
}
