//! GRE version 0 headers (RFC 2784/2890), as packetdrill handles them.

use super::field::Fields;
use super::view::{Checks, View};
use super::{Error, Result};

/// The smallest header.
pub const MIN_HEADER_LEN: usize = 4;

pub const FLAG_CHECKSUM: u16 = 0x8000;
pub const FLAG_ROUTING: u16 = 0x4000;
pub const FLAG_KEY: u16 = 0x2000;
pub const FLAG_SEQ: u16 = 0x1000;
const VERSION_MASK: u16 = 0x0007;

/// The header length the flags call for (packetdrill's `gre_len`).
pub fn header_len_for(flags: u16) -> usize {
    let mut len = MIN_HEADER_LEN;
    if flags & (FLAG_CHECKSUM | FLAG_ROUTING) != 0 {
        len += 4;
    }
    if flags & FLAG_KEY != 0 {
        len += 4;
    }
    if flags & FLAG_SEQ != 0 {
        len += 4;
    }
    len
}

/// The header bytes packetdrill builds for `gre flags F, sum S, off O, key K,
/// seq Q:`. Its quirk is kept: the values sit at fixed offsets (sum and off
/// in the first optional word, key in the second, seq in the third) and only
/// as many bytes as the flags call for are used, so with only the key flag
/// set the key position holds sum/off.
pub fn script_header(flags: u16, protocol: u16, sum: u16, off: u16, key: u32, seq: u32) -> Vec<u8> {
    let mut full = Vec::with_capacity(16);
    full.extend_from_slice(&flags.to_be_bytes());
    full.extend_from_slice(&protocol.to_be_bytes());
    full.extend_from_slice(&sum.to_be_bytes());
    full.extend_from_slice(&off.to_be_bytes());
    full.extend_from_slice(&key.to_be_bytes());
    full.extend_from_slice(&seq.to_be_bytes());
    full.truncate(header_len_for(flags));
    full
}

mod field {
    pub const FLAGS: usize = 0;
    pub const PROTOCOL: usize = 2;
}

/// GRE headers, for [`View`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gre;

/// A read/write view of a GRE header and what follows it.
pub type Packet<T> = View<Gre, T>;

impl Checks for Gre {
    /// packetdrill's checks: version 0, no routing, header within the buffer.
    fn check_len<T: AsRef<[u8]>>(p: &Packet<T>) -> Result<()> {
        if p.b().len() < MIN_HEADER_LEN {
            return Err(Error::new("Truncated GRE header"));
        }
        if p.version() != 0 {
            return Err(Error::new("GRE header has unsupported version number"));
        }
        if p.flags() & FLAG_ROUTING != 0 {
            return Err(Error::new("GRE header has unsupported routing info"));
        }
        if p.header_len() > p.b().len() {
            return Err(Error::new("GRE header length too big"));
        }
        Ok(())
    }
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// The whole first 16-bit word (flag bits, reserved bits, version).
    pub fn flags(&self) -> u16 {
        self.b().u16_at(field::FLAGS)
    }

    pub fn version(&self) -> u8 {
        (self.flags() & VERSION_MASK) as u8
    }

    pub fn has_key(&self) -> bool {
        self.flags() & FLAG_KEY != 0
    }

    pub fn has_seq(&self) -> bool {
        self.flags() & FLAG_SEQ != 0
    }

    /// The EtherType of the payload.
    pub fn protocol(&self) -> u16 {
        self.b().u16_at(field::PROTOCOL)
    }

    pub fn header_len(&self) -> usize {
        header_len_for(self.flags())
    }

    /// The `i`-th optional 32-bit word (0-based, after the first 4 bytes),
    /// when the flags call for it and the buffer holds it.
    pub fn optional_word(&self, i: usize) -> Option<u32> {
        let at = MIN_HEADER_LEN.saturating_add(i.saturating_mul(4));
        let end = at.saturating_add(4);
        (end <= self.header_len() && end <= self.b().len()).then(|| self.b().u32_at(at))
    }

    /// (checksum, reserved/offset) when the C or R flag is set.
    pub fn checksum_and_offset(&self) -> Option<(u16, u16)> {
        if self.flags() & (FLAG_CHECKSUM | FLAG_ROUTING) == 0 {
            return None;
        }
        self.optional_word(0).map(|w| ((w >> 16) as u16, w as u16))
    }

    fn index_after_checksum(&self) -> usize {
        usize::from(self.flags() & (FLAG_CHECKSUM | FLAG_ROUTING) != 0)
    }

    pub fn key(&self) -> Option<u32> {
        if !self.has_key() {
            return None;
        }
        self.optional_word(self.index_after_checksum())
    }

    pub fn seq(&self) -> Option<u32> {
        if !self.has_seq() {
            return None;
        }
        self.optional_word(self.index_after_checksum() + usize::from(self.has_key()))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    pub fn set_protocol(&mut self, v: u16) {
        self.bm().set_u16_at(field::PROTOCOL, v);
    }
}

/// A GRE v0 header with its optional fields at their RFC positions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Repr {
    /// Flag bits other than C, K and S (reserved bits); usually 0.
    pub reserved_flags: u16,
    pub protocol: u16,
    /// (checksum, reserved) when present.
    pub checksum: Option<(u16, u16)>,
    pub key: Option<u32>,
    pub seq: Option<u32>,
}

impl Repr {
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr> {
        packet.check_len()?;
        Ok(Repr {
            reserved_flags: packet.flags() & !(FLAG_CHECKSUM | FLAG_KEY | FLAG_SEQ),
            protocol: packet.protocol(),
            checksum: packet.checksum_and_offset(),
            key: packet.key(),
            seq: packet.seq(),
        })
    }

    pub fn flags(&self) -> u16 {
        let mut f = self.reserved_flags & !(FLAG_CHECKSUM | FLAG_KEY | FLAG_SEQ | VERSION_MASK);
        if self.checksum.is_some() {
            f |= FLAG_CHECKSUM;
        }
        if self.key.is_some() {
            f |= FLAG_KEY;
        }
        if self.seq.is_some() {
            f |= FLAG_SEQ;
        }
        f & !FLAG_ROUTING
    }

    pub fn header_len(&self) -> usize {
        header_len_for(self.flags())
    }

    /// The header bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16);
        out.extend_from_slice(&self.flags().to_be_bytes());
        out.extend_from_slice(&self.protocol.to_be_bytes());
        if let Some((sum, off)) = self.checksum {
            out.extend_from_slice(&sum.to_be_bytes());
            out.extend_from_slice(&off.to_be_bytes());
        }
        if let Some(k) = self.key {
            out.extend_from_slice(&k.to_be_bytes());
        }
        if let Some(s) = self.seq {
            out.extend_from_slice(&s.to_be_bytes());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repr_round_trips() {
        let r = Repr {
            reserved_flags: 0,
            protocol: 0x0800,
            checksum: Some((0x1234, 0)),
            key: Some(7),
            seq: Some(9),
        };
        let bytes = r.to_bytes();
        assert_eq!(bytes.len(), 16);
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.flags(), 0xb000);
        assert_eq!(Repr::parse(&p).unwrap(), r);
        let plain = Repr {
            checksum: None,
            key: Some(5),
            seq: None,
            ..r
        };
        let bytes = plain.to_bytes();
        assert_eq!(bytes, [0x20, 0, 0x08, 0, 0, 0, 0, 5]);
        assert_eq!(Packet::new_checked(&bytes[..]).unwrap().key(), Some(5));
    }

    #[test]
    fn script_layout_keeps_packetdrills_fixed_offsets() {
        // Key flag only: 8 bytes, and the second word is sum/off, not the key.
        let h = script_header(FLAG_KEY, 0x86dd, 1, 2, 3, 4);
        assert_eq!(h, [0x20, 0, 0x86, 0xdd, 0, 1, 0, 2]);
        let all = script_header(FLAG_CHECKSUM | FLAG_KEY | FLAG_SEQ, 0x0800, 1, 2, 3, 4);
        assert_eq!(all, [0xb0, 0, 8, 0, 0, 1, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4]);
        assert_eq!(script_header(0, 0x0800, 1, 2, 3, 4), [0, 0, 8, 0]);
    }

    #[test]
    fn checks_follow_packetdrill() {
        let cases: &[(&[u8], &str)] = &[
            (&[0, 0, 8], "Truncated GRE header"),
            (&[0, 1, 8, 0], "GRE header has unsupported version number"),
            (
                &[0x40, 0, 8, 0, 0, 0, 0, 0],
                "GRE header has unsupported routing info",
            ),
            (&[0x10, 0, 8, 0, 0, 0], "GRE header length too big"),
        ];
        for (b, msg) in cases {
            assert_eq!(Packet::new_checked(*b).unwrap_err().to_string(), *msg);
        }
    }
}
