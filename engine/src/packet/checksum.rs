//! The Internet checksum (RFC 1071) and the TCP/UDP/ICMPv6 pseudo-headers.
//!
//! Sums are kept folded to 16 bits and *not* complemented; a header stores
//! `!combine(&[...])`. A buffer whose checksum field is right sums to
//! `0xffff`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Fold a 32-bit (or wider) one's-complement accumulator to 16 bits.
fn fold(mut sum: u64) -> u16 {
    while sum > 0xffff {
        sum = (sum >> 16) + (sum & 0xffff);
    }
    sum as u16
}

/// The one's-complement sum of `data` read as big-endian 16-bit words (an odd
/// last byte is padded with a zero byte), folded, not complemented.
pub fn data(data: &[u8]) -> u16 {
    let mut sum: u64 = 0;
    let mut words = data.chunks_exact(2);
    for w in &mut words {
        sum += u64::from(u16::from_be_bytes([w[0], w[1]]));
    }
    if let [last] = words.remainder() {
        sum += u64::from(*last) << 8;
    }
    fold(sum)
}

/// Combine several partial sums.
pub fn combine(sums: &[u16]) -> u16 {
    fold(sums.iter().map(|&s| u64::from(s)).sum())
}

/// The sum of the IPv4 pseudo-header (RFC 793 3.1) for `len` bytes of `protocol`.
pub fn pseudo_header_v4(src: &Ipv4Addr, dst: &Ipv4Addr, protocol: u8, len: u32) -> u16 {
    let mut buf = [0u8; 12];
    buf[0..4].copy_from_slice(&src.octets());
    buf[4..8].copy_from_slice(&dst.octets());
    buf[9] = protocol;
    // The IPv4 pseudo-header carries a 16-bit length.
    buf[10..12].copy_from_slice(&(len as u16).to_be_bytes());
    data(&buf)
}

/// The sum of the IPv6 pseudo-header (RFC 8200 8.1) for `len` bytes of `next_header`.
pub fn pseudo_header_v6(src: &Ipv6Addr, dst: &Ipv6Addr, next_header: u8, len: u32) -> u16 {
    let mut buf = [0u8; 40];
    buf[0..16].copy_from_slice(&src.octets());
    buf[16..32].copy_from_slice(&dst.octets());
    buf[32..36].copy_from_slice(&len.to_be_bytes());
    buf[39] = next_header;
    data(&buf)
}

/// The pseudo-header sum for either family. Addresses of different families
/// (which no single IP header can carry) are both taken as IPv6, an IPv4
/// address in its `::ffff:a.b.c.d` form.
pub fn pseudo_header(src: &IpAddr, dst: &IpAddr, protocol: u8, len: u32) -> u16 {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => pseudo_header_v4(s, d, protocol, len),
        _ => pseudo_header_v6(&as_v6(src), &as_v6(dst), protocol, len),
    }
}

/// The sum of a TCP, UDP or ICMPv6 message (all its bytes) with its
/// pseudo-header's sum folded in; a right checksum gives `0xffff`.
pub fn transport(src: &IpAddr, dst: &IpAddr, protocol: u8, message: &[u8]) -> u16 {
    combine(&[
        pseudo_header(src, dst, protocol, message.len() as u32),
        data(message),
    ])
}

fn as_v6(a: &IpAddr) -> Ipv6Addr {
    match a {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => *v6,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3: 0001 f203 f4f5 f6f7 sums to ddf2.
        let bytes = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(data(&bytes), 0xddf2);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(data(&[0x12]), 0x1200);
        assert_eq!(data(&[0x12, 0x34, 0x56]), 0x1234 + 0x5600);
    }

    #[test]
    fn known_ipv4_header_checksum() {
        // A header from packetdrill's own packet_to_string test: checksum 0xb575.
        let mut h = [
            0x45, 0x00, 0x00, 0x54, 0x00, 0x00, 0x00, 0x00, 0xff, 0x2f, 0x00, 0x00, 0x02, 0x02,
            0x02, 0x02, 0x01, 0x01, 0x01, 0x01,
        ];
        assert_eq!(!data(&h), 0xb575);
        h[10..12].copy_from_slice(&0xb575u16.to_be_bytes());
        assert_eq!(data(&h), 0xffff);
    }

    #[test]
    fn mixed_families_use_mapped_addresses() {
        let v4 = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        let v6 = IpAddr::V6(Ipv4Addr::new(192, 0, 2, 1).to_ipv6_mapped());
        assert_eq!(
            pseudo_header(&v4, &v6, 6, 20),
            pseudo_header(&v6, &v6, 6, 20)
        );
    }
}
