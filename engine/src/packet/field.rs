//! Big-endian fields of a byte buffer of any length: how every header view
//! reads and writes its bytes.
//!
//! A view may wrap any bytes (`new_unchecked`), so no accessor may index past
//! the end: here a byte past the end reads as zero and a write to it is
//! dropped (byte by byte, so a field cut short by the end keeps its bytes
//! inside the buffer). A view that passed its checks (`new_checked`) holds
//! every byte its fixed fields use, and these are plain reads and writes.

use std::ops::{BitAnd, BitOr, Not, Range};

/// Field access over `[u8]`; see the module docs.
pub(super) trait Fields {
    /// The `N` bytes from `at`; those past the end read as zero.
    fn array_at<const N: usize>(&self, at: usize) -> [u8; N];

    /// Write `bytes` from `at`; those that would land past the end are dropped.
    fn set_bytes_at(&mut self, at: usize, bytes: &[u8]);

    /// The part of `r` inside the buffer (empty when none is, or when `r`
    /// ends before it starts).
    fn range(&self, r: Range<usize>) -> &[u8];

    fn range_mut(&mut self, r: Range<usize>) -> &mut [u8];

    fn u8_at(&self, at: usize) -> u8 {
        u8::from_be_bytes(self.array_at(at))
    }

    fn u16_at(&self, at: usize) -> u16 {
        u16::from_be_bytes(self.array_at(at))
    }

    fn u32_at(&self, at: usize) -> u32 {
        u32::from_be_bytes(self.array_at(at))
    }

    fn set_u8_at(&mut self, at: usize, v: u8) {
        self.set_bytes_at(at, &v.to_be_bytes());
    }

    fn set_u16_at(&mut self, at: usize, v: u16) {
        self.set_bytes_at(at, &v.to_be_bytes());
    }

    fn set_u32_at(&mut self, at: usize, v: u32) {
        self.set_bytes_at(at, &v.to_be_bytes());
    }

    /// Replace the bits of the byte at `at` that `mask` selects with those of `bits`.
    fn set_bits_u8(&mut self, at: usize, mask: u8, bits: u8) {
        let v = with_bits(self.u8_at(at), mask, bits);
        self.set_u8_at(at, v);
    }

    /// [`Fields::set_bits_u8`] for a 16-bit field.
    fn set_bits_u16(&mut self, at: usize, mask: u16, bits: u16) {
        let v = with_bits(self.u16_at(at), mask, bits);
        self.set_u16_at(at, v);
    }

    /// [`Fields::set_bits_u8`] for a 32-bit field.
    fn set_bits_u32(&mut self, at: usize, mask: u32, bits: u32) {
        let v = with_bits(self.u32_at(at), mask, bits);
        self.set_u32_at(at, v);
    }
}

/// `old` with the bits `mask` selects taken from `bits`.
pub(super) fn with_bits<T>(old: T, mask: T, bits: T) -> T
where
    T: Copy + BitAnd<Output = T> + BitOr<Output = T> + Not<Output = T>,
{
    (old & !mask) | (bits & mask)
}

/// `r` cut to a buffer of `len` bytes.
fn clamp(r: Range<usize>, len: usize) -> Range<usize> {
    let end = r.end.min(len);
    r.start.min(end)..end
}

impl Fields for [u8] {
    fn array_at<const N: usize>(&self, at: usize) -> [u8; N] {
        let mut out = [0u8; N];
        let have = self.range(at..at.saturating_add(N));
        out[..have.len()].copy_from_slice(have);
        out
    }

    fn set_bytes_at(&mut self, at: usize, bytes: &[u8]) {
        let room = self.range_mut(at..at.saturating_add(bytes.len()));
        let n = room.len();
        room.copy_from_slice(&bytes[..n]);
    }

    fn range(&self, r: Range<usize>) -> &[u8] {
        &self[clamp(r, self.len())]
    }

    fn range_mut(&mut self, r: Range<usize>) -> &mut [u8] {
        let r = clamp(r, self.len());
        &mut self[r]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_past_the_end_are_zero() {
        let b = [0x12u8, 0x34, 0x56];
        assert_eq!(b.u16_at(0), 0x1234);
        assert_eq!(b.u32_at(1), 0x3456_0000);
        assert_eq!(b.u16_at(3), 0);
        assert_eq!(b.u32_at(usize::MAX), 0);
        assert_eq!(b.array_at::<4>(2), [0x56, 0, 0, 0]);
        assert_eq!(b.range(1..9), &[0x34, 0x56]);
        // A range that ends before it starts (a header length below the
        // fixed header's, say) is empty.
        let (start, end) = (2, 1);
        assert!(b.range(start..end).is_empty());
        assert!(b.range(7..9).is_empty());
    }

    #[test]
    fn writes_past_the_end_are_dropped() {
        let mut b = [0u8; 3];
        b.set_u32_at(1, 0xaabb_ccdd);
        assert_eq!(b, [0, 0xaa, 0xbb]);
        b.set_u16_at(usize::MAX, 0xffff);
        let (start, end) = (5, 2);
        b.range_mut(start..end).fill(1);
        assert_eq!(b, [0, 0xaa, 0xbb]);
    }

    #[test]
    fn bit_writes_keep_the_other_bits() {
        let mut b = [0x45u8, 0xff, 0xff, 0xff, 0xff];
        b.set_bits_u8(0, 0x0f, 6);
        b.set_bits_u16(1, 0x01ff, 0);
        b.set_bits_u32(1, 0x000f_0000, 0x0003_0000);
        assert_eq!(b, [0x46, 0xfe, 0x03, 0xff, 0xff]);
    }
}
