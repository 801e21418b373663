//! TCP headers (RFC 9293), with the AccECN AE bit (RFC 9768).

use super::field::Fields;
use super::ports::Ports;
use super::tcp_option::{self, RawOptions, TcpOption};
use super::view::{Checks, View};
use super::{checksum, proto, Error, Result};
use std::net::IpAddr;

pub const HEADER_LEN: usize = 20;

/// Flag bits as in the 16-bit word at offset 12 (data offset excluded).
pub mod flag {
    pub const FIN: u16 = 0x001;
    pub const SYN: u16 = 0x002;
    pub const RST: u16 = 0x004;
    pub const PSH: u16 = 0x008;
    pub const ACK: u16 = 0x010;
    pub const URG: u16 = 0x020;
    pub const ECE: u16 = 0x040;
    pub const CWR: u16 = 0x080;
    /// AccECN "AE" (formerly NS).
    pub const AE: u16 = 0x100;
    /// Every flag bit.
    pub const ALL: u16 = 0x1ff;
}

const RESERVED_MASK: u16 = 0x0e00;

mod field {
    // The ports come first (`packet/ports.rs`).
    pub const SEQ: usize = 4;
    pub const ACK: usize = 8;
    /// The data offset (high nibble), then the reserved and flag bits.
    pub const DATA_OFFSET: usize = 12;
    pub const FLAGS: usize = 12;
    pub const WINDOW: usize = 14;
    pub const CHECKSUM: usize = 16;
    pub const URGENT: usize = 18;
}

/// TCP headers, for [`View`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tcp;

/// A read/write view of a TCP segment (header, options, payload). The
/// buffer is the whole segment: the payload runs to its end.
pub type Packet<T> = View<Tcp, T>;

/// Its ports: [`View::src_port`] and the others.
impl Ports for Tcp {}

impl Checks for Tcp {
    /// packetdrill's checks: a whole fixed header, a data offset of at least
    /// 5 words, and no further than the segment.
    fn check_len<T: AsRef<[u8]>>(p: &Packet<T>) -> Result<()> {
        let len = p.b().len();
        if len < HEADER_LEN {
            return Err(Error::new("Truncated TCP header"));
        }
        let hl = p.header_len();
        if hl < HEADER_LEN {
            return Err(Error::new("TCP data offset too small"));
        }
        if hl > len {
            return Err(Error::new("TCP data offset too big"));
        }
        Ok(())
    }
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub fn seq_number(&self) -> u32 {
        self.b().u32_at(field::SEQ)
    }

    pub fn ack_number(&self) -> u32 {
        self.b().u32_at(field::ACK)
    }

    /// Header length in bytes (data offset × 4).
    pub fn header_len(&self) -> usize {
        usize::from(self.data_offset()) * 4
    }

    /// The data offset field (header length in 32-bit words).
    pub fn data_offset(&self) -> u8 {
        self.b().u8_at(field::DATA_OFFSET) >> 4
    }

    /// The nine flag bits (see [`flag`]).
    pub fn flags(&self) -> u16 {
        self.b().u16_at(field::FLAGS) & flag::ALL
    }

    fn has(&self, f: u16) -> bool {
        self.flags() & f != 0
    }

    pub fn fin(&self) -> bool {
        self.has(flag::FIN)
    }
    pub fn syn(&self) -> bool {
        self.has(flag::SYN)
    }
    pub fn rst(&self) -> bool {
        self.has(flag::RST)
    }
    pub fn psh(&self) -> bool {
        self.has(flag::PSH)
    }
    pub fn ack(&self) -> bool {
        self.has(flag::ACK)
    }
    pub fn urg(&self) -> bool {
        self.has(flag::URG)
    }
    pub fn ece(&self) -> bool {
        self.has(flag::ECE)
    }
    pub fn cwr(&self) -> bool {
        self.has(flag::CWR)
    }
    pub fn ae(&self) -> bool {
        self.has(flag::AE)
    }

    /// The AccECN ACE counter: AE·4 + CWR·2 + ECE.
    pub fn ace(&self) -> u8 {
        (u8::from(self.ae()) << 2) | (u8::from(self.cwr()) << 1) | u8::from(self.ece())
    }

    /// The three reserved bits between the data offset and AE.
    pub fn reserved(&self) -> u8 {
        ((self.b().u16_at(field::FLAGS) & RESERVED_MASK) >> 9) as u8
    }

    pub fn window_len(&self) -> u16 {
        self.b().u16_at(field::WINDOW)
    }

    pub fn urgent_at(&self) -> u16 {
        self.b().u16_at(field::URGENT)
    }

    /// The options area (the part of it inside the buffer).
    pub fn options(&self) -> &[u8] {
        self.b().range(HEADER_LEN..self.header_len())
    }

    /// The bytes after the header (and its options), to the end of the buffer.
    pub fn payload(&self) -> &[u8] {
        self.b().range(self.header_len()..self.b().len())
    }

    /// Whether the checksum is right for these addresses.
    pub fn verify_checksum(&self, src: &IpAddr, dst: &IpAddr) -> bool {
        checksum::transport(src, dst, proto::TCP, self.b()) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    pub fn set_seq_number(&mut self, v: u32) {
        self.bm().set_u32_at(field::SEQ, v);
    }

    pub fn set_ack_number(&mut self, v: u32) {
        self.bm().set_u32_at(field::ACK, v);
    }

    /// Set the header length in bytes (rounded down to 32-bit words).
    pub fn set_header_len(&mut self, len: usize) {
        let words = ((len / 4) & 0x0f) as u8;
        self.bm().set_bits_u8(field::DATA_OFFSET, 0xf0, words << 4);
    }

    /// Replace the nine flag bits, keeping the data offset and reserved bits.
    pub fn set_flags(&mut self, flags: u16) {
        self.bm().set_bits_u16(field::FLAGS, flag::ALL, flags);
    }

    /// Set or clear some flag bits.
    pub fn set_flag(&mut self, f: u16, on: bool) {
        self.bm()
            .set_bits_u16(field::FLAGS, f & flag::ALL, if on { flag::ALL } else { 0 });
    }

    pub fn set_window_len(&mut self, v: u16) {
        self.bm().set_u16_at(field::WINDOW, v);
    }

    pub fn set_checksum(&mut self, v: u16) {
        self.bm().set_u16_at(field::CHECKSUM, v);
    }

    pub fn set_urgent_at(&mut self, v: u16) {
        self.bm().set_u16_at(field::URGENT, v);
    }

    /// The options area (the part of it inside the buffer).
    pub fn options_mut(&mut self) -> &mut [u8] {
        let hl = self.header_len();
        self.bm().range_mut(HEADER_LEN..hl)
    }

    /// Compute and store the checksum over the pseudo-header and the segment.
    pub fn fill_checksum(&mut self, src: &IpAddr, dst: &IpAddr) {
        self.set_checksum(0);
        let sum = checksum::transport(src, dst, proto::TCP, self.b());
        self.set_checksum(!sum);
    }
}

/// A TCP segment's fields; the payload is not kept, only its length.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repr {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    /// The nine flag bits (see [`flag`]).
    pub flags: u16,
    pub window: u16,
    pub urgent: u16,
    pub options: Vec<TcpOption>,
    pub payload_len: usize,
}

impl Repr {
    /// Parse a segment. Option kinds packetdrill does not know are kept as
    /// [`TcpOption::Unknown`]; malformed option lengths are errors.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr> {
        packet.check_len()?;
        let options = RawOptions::any_kind(packet.options())
            .map(|raw| TcpOption::parse(&raw?))
            .collect::<Result<Vec<_>>>()?;
        Ok(Repr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            seq: packet.seq_number(),
            ack: packet.ack_number(),
            flags: packet.flags(),
            window: packet.window_len(),
            urgent: packet.urgent_at(),
            options,
            payload_len: packet.payload().len(),
        })
    }

    /// The options' wire length, padded with EOL bytes to 32-bit words.
    fn padded_options_len(&self) -> usize {
        let len: usize = self.options.iter().map(TcpOption::wire_len).sum();
        len.div_ceil(4) * 4
    }

    /// Header length including (padded) options.
    pub fn header_len(&self) -> usize {
        HEADER_LEN + self.padded_options_len()
    }

    /// Bytes of the whole segment.
    pub fn buffer_len(&self) -> usize {
        self.header_len() + self.payload_len
    }

    /// Write the header and options into `packet`, whose buffer must be
    /// [`Repr::buffer_len`] bytes long; options longer than
    /// [`tcp_option::MAX_OPTIONS_LEN`] are an error. The checksum is left zero.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) -> Result<()> {
        let mut opts = tcp_option::emit_options(&self.options);
        if opts.len() > tcp_option::MAX_OPTIONS_LEN {
            return Err(Error::new("TCP header too large"));
        }
        opts.resize(self.padded_options_len(), tcp_option::kind::EOL);
        if packet.b().len() < HEADER_LEN + opts.len() {
            return Err(Error::new("Truncated TCP header"));
        }
        packet.bm().range_mut(0..HEADER_LEN).fill(0);
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_seq_number(self.seq);
        packet.set_ack_number(self.ack);
        packet.set_header_len(HEADER_LEN + opts.len());
        packet.set_flags(self.flags);
        packet.set_window_len(self.window);
        packet.set_urgent_at(self.urgent);
        packet.bm().set_bytes_at(HEADER_LEN, &opts);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn syn_ack() -> Repr {
        Repr {
            src_port: 8080,
            dst_port: 40000,
            seq: 0,
            ack: 1,
            flags: flag::SYN | flag::ACK | flag::AE,
            window: 65535,
            urgent: 0,
            options: vec![
                TcpOption::Mss(1460),
                TcpOption::SackPermitted,
                TcpOption::Timestamp { val: 100, ecr: 0 },
                TcpOption::Nop,
                TcpOption::WindowScale(8),
            ],
            payload_len: 3,
        }
    }

    #[test]
    fn emit_then_parse_round_trips() {
        let r = syn_ack();
        let mut buf = vec![0u8; r.buffer_len()];
        r.emit(&mut Packet::new_unchecked(&mut buf[..])).unwrap();
        let p = Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(p.header_len(), 40);
        assert_eq!(p.ace(), 4);
        assert!(p.syn() && p.ack() && p.ae() && !p.fin());
        assert_eq!(Repr::parse(&p).unwrap(), r);
    }

    #[test]
    fn options_are_padded_with_eol() {
        let mut r = syn_ack();
        r.options = vec![TcpOption::WindowScale(7)];
        assert_eq!(r.header_len(), 24);
        let mut buf = vec![0u8; r.buffer_len()];
        r.emit(&mut Packet::new_unchecked(&mut buf[..])).unwrap();
        assert_eq!(&buf[20..24], &[3, 3, 7, 0]);
    }

    #[test]
    fn flags_reserved_bits_and_offset_are_independent() {
        let mut buf = [0u8; 20];
        // Reserved bits 0b101, as a hostile sender could set them.
        buf[12] = 0b101 << 1;
        let mut p = Packet::new_unchecked(&mut buf[..]);
        p.set_header_len(20);
        p.set_flags(flag::ALL);
        assert_eq!(p.data_offset(), 5);
        assert_eq!(p.flags(), flag::ALL);
        assert_eq!(p.reserved(), 0b101);
        p.set_flag(flag::CWR, false);
        assert_eq!(p.flags(), flag::ALL & !flag::CWR);
        assert_eq!(p.reserved(), 0b101);
        assert_eq!(buf[12], 0x5b);
    }

    #[test]
    fn checksum_verifies_after_fill() {
        let r = syn_ack();
        let mut buf = vec![0u8; r.buffer_len()];
        let mut p = Packet::new_unchecked(&mut buf[..]);
        r.emit(&mut p).unwrap();
        let (s, d): (IpAddr, IpAddr) =
            ("192.0.2.1".parse().unwrap(), "192.168.0.1".parse().unwrap());
        p.fill_checksum(&s, &d);
        assert!(p.verify_checksum(&s, &d));
        assert!(!p.verify_checksum(&d, &"10.0.0.1".parse().unwrap()));
    }

    #[test]
    fn bad_data_offsets_are_refused() {
        let mut buf = [0u8; 24];
        buf[12] = 0x40;
        assert_eq!(
            Packet::new_checked(&buf[..]).unwrap_err().to_string(),
            "TCP data offset too small"
        );
        buf[12] = 0x70;
        assert_eq!(
            Packet::new_checked(&buf[..]).unwrap_err().to_string(),
            "TCP data offset too big"
        );
        assert_eq!(
            Packet::new_checked(&buf[..19]).unwrap_err().to_string(),
            "Truncated TCP header"
        );
    }

    #[test]
    fn too_many_options_are_refused() {
        let mut r = syn_ack();
        r.options = vec![TcpOption::Md5(vec![0; 16]); 3];
        let mut buf = [0u8; 200];
        assert!(r.emit(&mut Packet::new_unchecked(&mut buf[..])).is_err());
    }
}
