//! UDP headers (RFC 768). (packetdrill has no UDP-Lite: its sniffer skips
//! such packets, and so does the engine's.)

use super::field::Fields;
use super::ports::Ports;
use super::view::{Checks, View};
use super::{checksum, proto, Error, Result};
use std::net::IpAddr;

pub const HEADER_LEN: usize = 8;

mod field {
    // The ports come first (`packet/ports.rs`).
    pub const LENGTH: usize = 4;
    pub const CHECKSUM: usize = 6;
}

/// UDP headers, for [`View`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Udp;

/// A read/write view of a UDP datagram. The buffer is the IP payload; its
/// length must equal the length field.
pub type Packet<T> = View<Udp, T>;

/// Its ports: [`View::src_port`] and the others.
impl Ports for Udp {}

impl Checks for Udp {
    /// A UDP datagram whose length field matches the buffer (packetdrill's checks).
    fn check_len<T: AsRef<[u8]>>(p: &Packet<T>) -> Result<()> {
        let buf_len = p.b().len();
        if buf_len < HEADER_LEN {
            return Err(Error::new("Truncated UDP header"));
        }
        let len = usize::from(p.length());
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
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// The length field: the datagram's length.
    pub fn length(&self) -> u16 {
        self.b().u16_at(field::LENGTH)
    }

    pub fn checksum(&self) -> u16 {
        self.b().u16_at(field::CHECKSUM)
    }

    /// The bytes after the header, to the end of the buffer.
    pub fn payload(&self) -> &[u8] {
        self.b().range(HEADER_LEN..self.b().len())
    }

    /// Whether the UDP checksum is right (0 means "none" and passes).
    pub fn verify_checksum(&self, src: &IpAddr, dst: &IpAddr) -> bool {
        self.checksum() == 0 || checksum::transport(src, dst, proto::UDP, self.b()) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    pub fn set_length(&mut self, v: u16) {
        self.bm().set_u16_at(field::LENGTH, v);
    }

    pub fn set_checksum(&mut self, v: u16) {
        self.bm().set_u16_at(field::CHECKSUM, v);
    }

    /// The bytes after the header, to the end of the buffer.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let len = self.b().len();
        self.bm().range_mut(HEADER_LEN..len)
    }

    /// Compute and store the UDP checksum over the whole datagram.
    pub fn fill_checksum(&mut self, src: &IpAddr, dst: &IpAddr) {
        self.set_checksum(0);
        let sum = !checksum::transport(src, dst, proto::UDP, self.b());
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
