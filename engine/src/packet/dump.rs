//! Packets printed the way packetdrill prints them in its error messages
//! (`script packet:` / `actual packet:` lines) and in `-v` output.
//!
//! The short form is script syntax: encapsulation headers first
//! (`ipv4 A > B: gre flags 0x0 proto 0x0800: mpls (label L, tc T, [S], ttl X): `),
//! then for TCP `FLAGS seq:end(len) ack N win N <options>` (flags in
//! tcpdump order `F S R P . U`, then `E W A` or the ACE digit; `ack` only
//! with the ACK flag; `win` unless the script left it unchecked; note the
//! space after each part, so a packet without options ends in a space),
//! for UDP `udp (N)`, for ICMP just `icmpv4` / `icmpv6`.

use super::ip_packet::{Header, HeaderKind, IpPacket};
use super::tcp_option::options_script_syntax;
use std::fmt::Write as _;
use std::net::Ipv6Addr;

/// What the short form shows beyond the bytes (packetdrill keeps these as
/// packet flags: a script packet's, or none for a live one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DumpStyle {
    /// Print `win N` (packetdrill omits it when the script did not give one).
    pub show_window: bool,
    /// Print the ECN flags as the ACE digit (the script used one).
    pub ace: bool,
}

impl Default for DumpStyle {
    /// How packetdrill prints a live packet: window shown, ECN flags as letters.
    fn default() -> Self {
        DumpStyle {
            show_window: true,
            ace: false,
        }
    }
}

/// A live packet in packetdrill's short form.
pub fn short_dump(packet: &IpPacket) -> String {
    short_dump_with(packet, DumpStyle::default())
}

/// packetdrill's short form with the given style. When the TCP options
/// cannot be printed, the text stops before them and the reason follows on
/// a new line, as packetdrill prints it.
pub fn short_dump_with(packet: &IpPacket, style: DumpStyle) -> String {
    let mut s = String::new();
    for (i, h) in packet.encapsulation().iter().enumerate() {
        encap_header(&mut s, packet, i, h);
    }
    if let Some(t) = packet.tcp() {
        for (bit, ch) in [
            (t.fin(), 'F'),
            (t.syn(), 'S'),
            (t.rst(), 'R'),
            (t.psh(), 'P'),
            (t.ack(), '.'),
            (t.urg(), 'U'),
        ] {
            if bit {
                s.push(ch);
            }
        }
        if style.ace {
            s.push(char::from(b'0' + t.ace()));
        } else {
            for (bit, ch) in [(t.ece(), 'E'), (t.cwr(), 'W'), (t.ae(), 'A')] {
                if bit {
                    s.push(ch);
                }
            }
        }
        let len = packet.payload_len() as u32;
        let seq = t.seq_number();
        let _ = write!(s, " {seq}:{}({len}) ", seq.wrapping_add(len));
        if t.ack() {
            let _ = write!(s, "ack {} ", t.ack_number());
        }
        if style.show_window {
            let _ = write!(s, "win {} ", t.window_len());
        }
        if !t.options().is_empty() {
            match options_script_syntax(t.options()) {
                Ok(opts) => {
                    let _ = write!(s, "<{opts}>");
                }
                Err(e) => {
                    let _ = write!(s, "\n{e}");
                }
            }
        }
    } else if packet.udp().is_some() {
        let _ = write!(s, "udp ({})", packet.payload_len());
    } else if packet.icmpv4().is_some() {
        s.push_str("icmpv4");
    } else if packet.icmpv6().is_some() {
        s.push_str("icmpv6");
    }
    s
}

fn encap_header(s: &mut String, packet: &IpPacket, index: usize, h: &Header) {
    match h.kind {
        HeaderKind::Ipv4 => {
            if let Some(p) = packet.ipv4_at(index) {
                let _ = write!(s, "ipv4 {} > {}: ", p.src_addr(), p.dst_addr());
            }
        }
        HeaderKind::Ipv6 => {
            if let Some(p) = packet.ipv6_at(index) {
                let _ = write!(
                    s,
                    "ipv6 {} > {}: ",
                    ntop6(&p.src_addr()),
                    ntop6(&p.dst_addr())
                );
            }
        }
        HeaderKind::Gre => {
            if let Some(g) = packet.gre_at(index) {
                let _ = write!(
                    s,
                    "gre flags 0x{:x} proto 0x{:04x}",
                    g.flags(),
                    g.protocol()
                );
                let mut i = 0;
                if let Some((sum, off)) = g.checksum_and_offset() {
                    let _ = write!(s, " sum 0x{sum:x} off 0x{off:x}");
                    i += 1;
                }
                if g.has_key() {
                    let _ = write!(s, " key 0x{:x}", g.optional_word(i).unwrap_or(0));
                    i += 1;
                }
                if g.has_seq() {
                    let _ = write!(s, " seq 0x{:x}", g.optional_word(i).unwrap_or(0));
                }
                s.push_str(": ");
            }
        }
        HeaderKind::Mpls => {
            if let Some(entries) = packet.mpls_at(index) {
                s.push_str("mpls");
                for e in entries {
                    let _ = write!(
                        s,
                        " (label {}, tc {},{} ttl {})",
                        e.label(),
                        e.tc(),
                        if e.bottom_of_stack() { " [S]," } else { "" },
                        e.ttl()
                    );
                }
                s.push_str(": ");
            }
        }
        _ => {}
    }
}

/// An IPv6 address as glibc's `inet_ntop` writes it (Rust's form, except
/// that IPv4-compatible addresses keep their dotted tail).
pub fn ntop6(a: &Ipv6Addr) -> String {
    let w = a.segments();
    if w[..6].iter().all(|&x| x == 0) && w[6] != 0 {
        let o = a.octets();
        return format!("::{}.{}.{}.{}", o[12], o[13], o[14], o[15]);
    }
    a.to_string()
}

/// packetdrill's hex dump: 16 bytes a line, each line starting with its
/// offset (`0x0010: `), each byte followed by a space, a final newline.
pub fn hex_dump(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3 + bytes.len() / 16 * 8 + 8);
    for (i, b) in bytes.iter().enumerate() {
        if i % 16 == 0 {
            if i > 0 {
                s.push('\n');
            }
            let _ = write!(s, "0x{i:04x}: ");
        }
        let _ = write!(s, "{b:02x} ");
    }
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> IpPacket {
        IpPacket::parse(bytes.to_vec()).unwrap()
    }

    // Packets and expected text from packetdrill's own packet_to_string tests.
    const IPV4_GRE_IPV4_TCP: &[u8] = &[
        0x45, 0x00, 0x00, 0x54, 0x00, 0x00, 0x00, 0x00, 0xff, 0x2f, 0xb5, 0x75, 0x02, 0x02, 0x02,
        0x02, 0x01, 0x01, 0x01, 0x01, 0x00, 0x00, 0x08, 0x00, 0x45, 0x00, 0x00, 0x3c, 0x00, 0x00,
        0x00, 0x00, 0xff, 0x06, 0x39, 0x11, 0xc0, 0x00, 0x02, 0x01, 0xc0, 0xa8, 0x00, 0x01, 0xcf,
        0x3f, 0x1f, 0x90, 0x00, 0x00, 0x00, 0x01, 0x83, 0x4d, 0xa5, 0x5b, 0xa0, 0x10, 0x01, 0x01,
        0xdb, 0x2d, 0x00, 0x00, 0x05, 0x0a, 0x83, 0x4d, 0xab, 0x03, 0x83, 0x4d, 0xb0, 0xab, 0x08,
        0x0a, 0x00, 0x00, 0x01, 0x2c, 0x60, 0xc2, 0x18, 0x20,
    ];

    const IPV6_GRE_IPV6_TCP: &[u8] = &[
        0x60, 0x00, 0x00, 0x00, 0x00, 0x4c, 0x2f, 0xff, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x22, 0x22, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x11, 0x11, 0x00, 0x00, 0x86, 0xdd, 0x60,
        0x00, 0x00, 0x00, 0x00, 0x20, 0x06, 0xff, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xfd, 0x3d, 0xfa, 0x7b, 0xd1, 0x7d, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xd3, 0xe2, 0x1f, 0x90, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x02, 0x80, 0x18, 0x06, 0x60, 0x00, 0x00, 0x02,
        0x04, 0x03, 0xe8, 0x04, 0x02, 0x01, 0x01, 0x01, 0x03, 0x03, 0x07,
    ];

    const IPV4_GRE_MPLS_IPV4_TCP: &[u8] = &[
        0x45, 0x00, 0x00, 0x54, 0x00, 0x00, 0x40, 0x00, 0x40, 0x2f, 0xb7, 0xcf, 0xc0, 0xa8, 0x00,
        0x01, 0xc0, 0x00, 0x02, 0x02, 0x00, 0x00, 0x88, 0x47, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff,
        0xff, 0xff, 0x45, 0x00, 0x00, 0x34, 0x86, 0x99, 0x40, 0x00, 0x40, 0x06, 0x31, 0x80, 0xc0,
        0xa8, 0x00, 0x01, 0xc0, 0x00, 0x02, 0x01, 0x1f, 0x90, 0xdb, 0xcc, 0x7b, 0x81, 0xc5, 0x7c,
        0x00, 0x00, 0x00, 0x01, 0x80, 0x11, 0x01, 0xc5, 0xa6, 0xa6, 0x00, 0x00, 0x01, 0x01, 0x08,
        0x0a, 0x07, 0x02, 0x08, 0x43, 0x00, 0x00, 0x00, 0x05,
    ];

    const IPV4_TCP_MD5: &[u8] = &[
        0x45, 0x00, 0x00, 0x3c, 0x00, 0x00, 0x00, 0x00, 0xff, 0x06, 0x89, 0x56, 0xc0, 0x00, 0x02,
        0x01, 0xc0, 0xa8, 0xaf, 0xbb, 0x8a, 0x6f, 0x1f, 0x90, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
        0x00, 0x01, 0xa0, 0x02, 0x01, 0x00, 0x36, 0x14, 0x00, 0x00, 0x13, 0x12, 0x00, 0x01, 0x02,
        0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x01, 0x01,
    ];

    #[test]
    fn gre_encapsulated_ipv4() {
        let p = parse(IPV4_GRE_IPV4_TCP);
        assert_eq!(
            short_dump(&p),
            "ipv4 2.2.2.2 > 1.1.1.1: gre flags 0x0 proto 0x0800: \
             . 1:1(0) ack 2202903899 win 257 \
             <sack 2202905347:2202906795,TS val 300 ecr 1623332896>"
        );
        assert_eq!(
            hex_dump(IPV4_GRE_IPV4_TCP),
            "0x0000: 45 00 00 54 00 00 00 00 ff 2f b5 75 02 02 02 02 \n\
             0x0010: 01 01 01 01 00 00 08 00 45 00 00 3c 00 00 00 00 \n\
             0x0020: ff 06 39 11 c0 00 02 01 c0 a8 00 01 cf 3f 1f 90 \n\
             0x0030: 00 00 00 01 83 4d a5 5b a0 10 01 01 db 2d 00 00 \n\
             0x0040: 05 0a 83 4d ab 03 83 4d b0 ab 08 0a 00 00 01 2c \n\
             0x0050: 60 c2 18 20 \n"
        );
    }

    #[test]
    fn gre_encapsulated_ipv6() {
        let p = parse(IPV6_GRE_IPV6_TCP);
        assert_eq!(
            short_dump(&p),
            "ipv6 2::2222 > 1::1111: gre flags 0x0 proto 0x86dd: \
             S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>"
        );
    }

    #[test]
    fn gre_mpls_stack() {
        let p = parse(IPV4_GRE_MPLS_IPV4_TCP);
        assert_eq!(
            short_dump(&p),
            "ipv4 192.168.0.1 > 192.0.2.2: gre flags 0x0 proto 0x8847: \
             mpls (label 0, tc 0, ttl 0) (label 1048575, tc 7, [S], ttl 255): \
             F. 2072102268:2072102268(0) ack 1 win 453 <nop,nop,TS val 117573699 ecr 5>"
        );
    }

    #[test]
    fn md5_option() {
        let p = parse(IPV4_TCP_MD5);
        assert_eq!(
            short_dump(&p),
            "S 1:1(0) win 256 <md5 000102030405060708090a0b0c0d0e0f,nop,nop>"
        );
    }

    #[test]
    fn styles_and_trailing_space() {
        let mut bytes = IPV4_TCP_MD5.to_vec();
        // No options (data offset 5), flags . E W A, a 3-byte payload.
        bytes.truncate(40);
        bytes.extend_from_slice(&[0, 0, 0]);
        bytes[3] = 43;
        bytes[32] = 0x51;
        bytes[33] = 0xd0;
        let mut ip = ipv4_fix(bytes);
        assert_eq!(short_dump(&ip), ".EWA 1:4(3) ack 1 win 256 ");
        let style = DumpStyle {
            show_window: false,
            ace: true,
        };
        assert_eq!(short_dump_with(&ip, style), ".7 1:4(3) ack 1 ");
        ip.tcp_mut().unwrap().set_flags(0);
        assert_eq!(short_dump(&ip), " 1:4(3) win 256 ");
    }

    fn ipv4_fix(mut bytes: Vec<u8>) -> IpPacket {
        crate::packet::ipv4::Packet::new_unchecked(&mut bytes[..]).fill_checksum();
        IpPacket::parse(bytes).unwrap()
    }

    #[test]
    fn unprintable_options_end_the_line_with_the_reason() {
        let mut bytes = IPV4_TCP_MD5.to_vec();
        bytes[40] = 30; // MPTCP
        let p = parse(&bytes);
        assert_eq!(
            short_dump(&p),
            "S 1:1(0) win 256 \nunexpected TCP option kind: 30"
        );
    }

    #[test]
    fn ipv6_text_like_inet_ntop() {
        assert_eq!(ntop6(&"::1.2.3.4".parse().unwrap()), "::1.2.3.4");
        assert_eq!(ntop6(&"::ffff:1.2.3.4".parse().unwrap()), "::ffff:1.2.3.4");
        assert_eq!(ntop6(&"::1".parse().unwrap()), "::1");
        assert_eq!(ntop6(&"::".parse().unwrap()), "::");
        assert_eq!(
            ntop6(&"fd3d:fa7b:d17d::1".parse().unwrap()),
            "fd3d:fa7b:d17d::1"
        );
    }
}
