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
use std::net::{IpAddr, Ipv6Addr};

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

/// An address as packetdrill prints it.
pub fn ntop(a: &IpAddr) -> String {
    match a {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => ntop6(v6),
    }
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
