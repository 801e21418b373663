//! MPLS label stack entries (RFC 3032).

use super::field::Fields;
use super::{Error, Result};

pub const ENTRY_LEN: usize = 4;
/// The deepest stack a script may write.
pub const MAX_SCRIPT_ENTRIES: usize = 6;

/// One 32-bit label stack entry: label (20 bits), traffic class (3),
/// bottom-of-stack (1), TTL (8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Entry(pub u32);

impl Entry {
    /// An entry from its fields; out-of-range values are errors with
    /// packetdrill's wording.
    pub fn new(label: u32, tc: u8, bottom_of_stack: bool, ttl: u8) -> Result<Entry> {
        if label >= 1 << 20 {
            return Err(Error::new("MPLS label out of range for 20 bits"));
        }
        if tc >= 1 << 3 {
            return Err(Error::new("MPLS traffic_class out of range for 3 bits"));
        }
        Ok(Entry(
            (label << 12)
                | (u32::from(tc) << 9)
                | (u32::from(bottom_of_stack) << 8)
                | u32::from(ttl),
        ))
    }

    pub fn from_bytes(b: [u8; 4]) -> Entry {
        Entry(u32::from_be_bytes(b))
    }

    pub fn to_bytes(self) -> [u8; 4] {
        self.0.to_be_bytes()
    }

    pub fn label(self) -> u32 {
        self.0 >> 12
    }

    pub fn tc(self) -> u8 {
        ((self.0 >> 9) & 0x7) as u8
    }

    pub fn bottom_of_stack(self) -> bool {
        self.0 & 0x100 != 0
    }

    pub fn ttl(self) -> u8 {
        self.0 as u8
    }
}

/// A label stack at the start of a buffer: entries up to and including the
/// first with the bottom-of-stack bit, or up to the end of the buffer
/// (packetdrill's reading).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stack {
    pub entries: Vec<Entry>,
}

impl Stack {
    pub fn parse(buffer: &[u8]) -> Result<Stack> {
        let mut entries = Vec::new();
        let mut at = 0;
        loop {
            if at + ENTRY_LEN > buffer.len() {
                return Err(Error::new("MPLS stack entry overflows packet"));
            }
            let e = Entry::from_bytes(buffer.array_at(at));
            entries.push(e);
            at += ENTRY_LEN;
            if e.bottom_of_stack() || at >= buffer.len() {
                break;
            }
        }
        Ok(Stack { entries })
    }

    pub fn header_len(&self) -> usize {
        self.entries.len() * ENTRY_LEN
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.entries.iter().flat_map(|e| e.to_bytes()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_fields() {
        let e = Entry::new(0xfffff, 7, true, 255).unwrap();
        assert_eq!(e.to_bytes(), [0xff; 4]);
        assert_eq!(
            (e.label(), e.tc(), e.bottom_of_stack(), e.ttl()),
            (0xfffff, 7, true, 255)
        );
        assert_eq!(
            Entry::new(1 << 20, 0, false, 0).unwrap_err().to_string(),
            "MPLS label out of range for 20 bits"
        );
        assert_eq!(
            Entry::new(0, 8, false, 0).unwrap_err().to_string(),
            "MPLS traffic_class out of range for 3 bits"
        );
    }

    #[test]
    fn stack_ends_at_bottom_or_buffer_end() {
        let bytes = [0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x45, 0, 0, 0];
        let s = Stack::parse(&bytes).unwrap();
        assert_eq!(s.entries.len(), 2);
        assert_eq!(s.header_len(), 8);
        assert_eq!(s.to_bytes(), bytes[..8]);
        assert_eq!(Stack::parse(&[0u8; 8]).unwrap().entries.len(), 2);
        assert_eq!(
            Stack::parse(&[0u8; 6]).unwrap_err().to_string(),
            "MPLS stack entry overflows packet"
        );
    }
}
