//! [`IpPacket`]: an owned IP packet (bytes plus the position of each header)
//! with the accessors the runtime needs to turn a script packet into a live
//! one and a live one into script space.
//!
//! Headers are listed outermost first, as packetdrill keeps them: optional
//! encapsulation (IPv4/IPv6/GRE/MPLS), the innermost IP header, then exactly
//! one transport header (TCP, UDP, ICMPv4 or ICMPv6), which is always last.
//! Everything after the transport header is payload (for ICMP: the echoed
//! packet).

use super::ethertype;
use super::field::{with_bits, Fields};
use super::flow::{Endpoint, PacketFacts, Transport, Tuple};
use super::tcp_option::{kind, sack_blocks, RawOptions};
use super::{gre, icmp, icmpv4, icmpv6, ipv4, ipv6, mpls, proto, tcp, udp, Error, Result};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The most headers a packet may have (packetdrill's `PACKET_MAX_HEADERS`).
pub const MAX_HEADERS: usize = 6;

/// What a header is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HeaderKind {
    Ipv4,
    Ipv6,
    Gre,
    Mpls,
    Tcp,
    Udp,
    Icmpv4,
    Icmpv6,
}

impl HeaderKind {
    /// packetdrill's name for the header type, used in its messages
    /// (`expected: TCP header vs actual: UDP header`).
    pub fn name(self) -> &'static str {
        match self {
            HeaderKind::Ipv4 => "IPV4",
            HeaderKind::Ipv6 => "IPV6",
            HeaderKind::Gre => "GRE",
            HeaderKind::Mpls => "MPLS",
            HeaderKind::Tcp => "TCP",
            HeaderKind::Udp => "UDP",
            HeaderKind::Icmpv4 => "ICMPV4",
            HeaderKind::Icmpv6 => "ICMPV6",
        }
    }

    /// The IP protocol number announcing this header (MPLS has none in
    /// packetdrill: 0).
    pub fn ip_protocol(self) -> u8 {
        match self {
            HeaderKind::Ipv4 => proto::IPIP,
            HeaderKind::Ipv6 => proto::IPV6,
            HeaderKind::Gre => proto::GRE,
            HeaderKind::Mpls => 0,
            HeaderKind::Tcp => proto::TCP,
            HeaderKind::Udp => proto::UDP,
            HeaderKind::Icmpv4 => proto::ICMP,
            HeaderKind::Icmpv6 => proto::ICMPV6,
        }
    }

    /// The EtherType announcing this header inside GRE (0 for none).
    pub fn ethertype(self) -> u16 {
        match self {
            HeaderKind::Ipv4 => ethertype::IPV4,
            HeaderKind::Ipv6 => ethertype::IPV6,
            HeaderKind::Mpls => ethertype::MPLS_UNICAST,
            _ => 0,
        }
    }

    pub fn is_ip(self) -> bool {
        matches!(self, HeaderKind::Ipv4 | HeaderKind::Ipv6)
    }

    pub fn is_transport(self) -> bool {
        matches!(
            self,
            HeaderKind::Tcp | HeaderKind::Udp | HeaderKind::Icmpv4 | HeaderKind::Icmpv6
        )
    }

    fn parse_name(self) -> &'static str {
        match self {
            HeaderKind::Ipv4 => "IPv4",
            HeaderKind::Ipv6 => "IPv6",
            HeaderKind::Gre => "GRE",
            HeaderKind::Mpls => "MPLS",
            HeaderKind::Tcp => "TCP",
            HeaderKind::Udp => "UDP",
            HeaderKind::Icmpv4 | HeaderKind::Icmpv6 => "ICMP",
        }
    }
}

/// Where one header is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub kind: HeaderKind,
    /// Offset of the header from the start of the packet.
    pub offset: usize,
    /// Bytes of the header itself (TCP: options included).
    pub header_len: usize,
    /// Bytes of the header and everything it carries.
    pub total_len: usize,
}

/// The packet an ICMP error carries, as a script packet describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Echoed {
    /// Protocol of the echoed packet (`IPPROTO_TCP` or `IPPROTO_UDP`).
    pub protocol: u8,
}

/// An owned IP packet; see the module docs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpPacket {
    bytes: Vec<u8>,
    headers: Vec<Header>,
    /// Index of the innermost IP header.
    ip: usize,
    echoed: Option<Echoed>,
}

/// The outcome of parsing bytes as an IP packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Parsed {
    Packet(IpPacket),
    /// A well-formed packet whose innermost protocol is not TCP, UDP or
    /// ICMP (e.g. an IPv6 hop-by-hop header): not something packetdrill sees.
    UnknownProtocol(String),
}

struct Parser<'a> {
    buf: &'a [u8],
    headers: Vec<Header>,
    /// The outermost IP header's total length.
    ip_bytes: usize,
}

enum Step {
    Done,
    Unknown(String),
}

impl<'a> Parser<'a> {
    fn push(
        &mut self,
        kind: HeaderKind,
        offset: usize,
        header_len: usize,
        total_len: usize,
    ) -> Result<()> {
        if self.headers.len() >= MAX_HEADERS {
            return Err(Error(format!(
                "Too many nested headers at {} header",
                kind.parse_name()
            )));
        }
        self.headers.push(Header {
            kind,
            offset,
            header_len,
            total_len,
        });
        Ok(())
    }

    fn rest(&self, at: usize) -> &'a [u8] {
        self.buf.get(at..).unwrap_or(&[])
    }

    /// An IP header of either version, told apart by its first nibble.
    fn layer3(&mut self, at: usize) -> Result<Step> {
        let rest = self.rest(at);
        if rest.len() < ipv4::HEADER_LEN {
            return Err(Error::new("IP header overflows packet"));
        }
        match rest[0] >> 4 {
            4 => self.ipv4(at),
            6 => self.ipv6(at),
            _ => Err(Error::new("Unsupported IP version")),
        }
    }

    /// The header a GRE EtherType announces.
    fn layer3_by_ethertype(&mut self, at: usize, ethertype: u16) -> Result<Step> {
        let rest = self.rest(at);
        match ethertype {
            ethertype::IPV4 => {
                if rest.len() < ipv4::HEADER_LEN {
                    return Err(Error::new("IPv4 header overflows packet"));
                }
                let v = rest[0] >> 4;
                if v != 4 {
                    return Err(Error(format!("Bad IP version ({v}) for ETHERTYPE_IP")));
                }
                self.ipv4(at)
            }
            ethertype::IPV6 => {
                if rest.len() < ipv6::HEADER_LEN {
                    return Err(Error::new("IPv6 header overflows packet"));
                }
                if rest[0] >> 4 != 6 {
                    return Err(Error::new("Bad IP version for ETHERTYPE_IPV6"));
                }
                self.ipv6(at)
            }
            ethertype::MPLS_UNICAST | ethertype::MPLS_MULTICAST => self.mpls(at),
            other => Ok(Step::Unknown(format!("EtherType 0x{other:04x}"))),
        }
    }

    fn ipv4(&mut self, at: usize) -> Result<Step> {
        let p = ipv4::Packet::new_checked(self.rest(at))?;
        p.check_whole_datagram()?;
        let (hl, total) = (p.header_len(), usize::from(p.total_len()));
        if self.headers.is_empty() {
            self.ip_bytes = total;
        }
        self.push(HeaderKind::Ipv4, at, hl, total)?;
        self.layer4(at + hl, p.protocol(), total - hl)
    }

    fn ipv6(&mut self, at: usize) -> Result<Step> {
        let p = ipv6::Packet::new_checked(self.rest(at))?;
        let total = ipv6::HEADER_LEN + usize::from(p.payload_len());
        if self.headers.is_empty() {
            self.ip_bytes = total;
        }
        self.push(HeaderKind::Ipv6, at, ipv6::HEADER_LEN, total)?;
        self.layer4(
            at + ipv6::HEADER_LEN,
            p.next_header(),
            usize::from(p.payload_len()),
        )
    }

    fn mpls(&mut self, at: usize) -> Result<Step> {
        let stack = mpls::Stack::parse(self.rest(at))?;
        let total = self.rest(at).len();
        self.push(HeaderKind::Mpls, at, stack.header_len(), total)?;
        self.layer3(at + stack.header_len())
    }

    fn layer4(&mut self, at: usize, protocol: u8, l4_bytes: usize) -> Result<Step> {
        // The IP header checks guarantee `at + l4_bytes <= buf.len()`.
        let seg = self.buf.get(at..at + l4_bytes).unwrap_or(&[]);
        let kind = match protocol {
            proto::TCP => HeaderKind::Tcp,
            proto::UDP => HeaderKind::Udp,
            proto::ICMP => HeaderKind::Icmpv4,
            proto::ICMPV6 => HeaderKind::Icmpv6,
            proto::GRE => {
                let p = gre::Packet::new_checked(seg)?;
                self.push(HeaderKind::Gre, at, p.header_len(), l4_bytes)?;
                return self.layer3_by_ethertype(at + p.header_len(), p.protocol());
            }
            proto::IPIP => return self.ipv4(at),
            proto::IPV6 => return self.ipv6(at),
            other => return Ok(Step::Unknown(format!("IP protocol {other}"))),
        };
        let header_len = transport_header_len(kind, seg)?;
        self.push(kind, at, header_len, l4_bytes)?;
        Ok(Step::Done)
    }
}

/// Check a transport segment (header to the end of what the IP header
/// claims) as packetdrill's parser does; the length of its header.
fn transport_header_len(kind: HeaderKind, seg: &[u8]) -> Result<usize> {
    match kind {
        HeaderKind::Tcp => Ok(tcp::Packet::new_checked(seg)?.header_len()),
        HeaderKind::Udp => udp::Packet::new_checked(seg).map(|_| udp::HEADER_LEN),
        HeaderKind::Icmpv4 => icmp::Packet::new_checked(seg, "ICMPv4").map(|_| icmp::HEADER_LEN),
        HeaderKind::Icmpv6 => icmp::Packet::new_checked(seg, "ICMPv6").map(|_| icmp::HEADER_LEN),
        other => Err(Error(format!(
            "{} is not a transport header",
            other.parse_name()
        ))),
    }
}

/// Parse `bytes` as packetdrill's sniffer parses a packet from tun0.
pub(crate) fn parse(mut bytes: Vec<u8>) -> Result<Parsed> {
    let mut parser = Parser {
        buf: &bytes,
        headers: Vec::new(),
        ip_bytes: 0,
    };
    match parser.layer3(0)? {
        Step::Unknown(what) => return Ok(Parsed::UnknownProtocol(what)),
        Step::Done => {}
    }
    let (mut headers, ip_bytes) = (parser.headers, parser.ip_bytes);
    bytes.truncate(ip_bytes);
    for h in &mut headers {
        h.total_len = h.total_len.min(ip_bytes.saturating_sub(h.offset));
    }
    IpPacket::from_layout(bytes, headers, None).map(Parsed::Packet)
}

fn v4_of(a: IpAddr) -> Result<Ipv4Addr> {
    match a {
        IpAddr::V4(v4) => Ok(v4),
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .ok_or_else(|| Error(format!("cannot put IPv6 address {v6} in an IPv4 header"))),
    }
}

fn v6_of(a: IpAddr) -> Ipv6Addr {
    match a {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

impl IpPacket {
    /// Parse a whole IP packet (IPv4 or IPv6, possibly encapsulated in
    /// IPv4/IPv6/GRE/MPLS) with packetdrill's checks. Bytes after the
    /// outermost IP datagram are dropped. A packet whose innermost protocol is
    /// not TCP, UDP or ICMP is an error here; [`super::sniffed::parse_sniffed`]
    /// skips such packets instead.
    pub fn parse(bytes: Vec<u8>) -> Result<IpPacket> {
        match parse(bytes)? {
            Parsed::Packet(p) => Ok(p),
            Parsed::UnknownProtocol(what) => {
                Err(Error(format!("no TCP, UDP or ICMP header ({what})")))
            }
        }
    }

    /// A packet from bytes and a header list (outermost first, transport
    /// last), as the template builder makes them. The layout is checked: every
    /// header lies within the bytes, there is an IP header before the
    /// transport header, and the transport header is well-formed.
    pub fn from_layout(
        bytes: Vec<u8>,
        headers: Vec<Header>,
        echoed: Option<Echoed>,
    ) -> Result<IpPacket> {
        let Some(last) = headers.last() else {
            return Err(Error::new("packet has no headers"));
        };
        if headers.len() > MAX_HEADERS {
            return Err(Error::new("too many headers"));
        }
        if !last.kind.is_transport()
            || headers[..headers.len() - 1]
                .iter()
                .any(|h| h.kind.is_transport())
        {
            return Err(Error::new("the transport header must be the last header"));
        }
        for h in &headers {
            if h.offset + h.header_len > bytes.len() || h.offset + h.total_len > bytes.len() {
                return Err(Error(format!(
                    "{} header overflows packet",
                    h.kind.parse_name()
                )));
            }
        }
        let Some(ip) = headers.iter().rposition(|h| h.kind.is_ip()) else {
            return Err(Error::new("packet has no IP header"));
        };
        let seg = bytes.range(last.offset..last.offset + last.total_len);
        let header_len = transport_header_len(last.kind, seg)?;
        if header_len != last.header_len {
            return Err(Error(format!(
                "{} header length is {} but the layout says {}",
                last.kind.parse_name(),
                header_len,
                last.header_len
            )));
        }
        Ok(IpPacket {
            bytes,
            headers,
            ip,
            echoed,
        })
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// All headers, outermost first.
    pub fn headers(&self) -> &[Header] {
        &self.headers
    }

    /// The innermost IP header.
    pub fn ip_header(&self) -> &Header {
        &self.headers[self.ip]
    }

    /// The transport header (always the last).
    pub fn transport_header(&self) -> &Header {
        &self.headers[self.headers.len() - 1]
    }

    /// The kind of the transport header.
    pub fn transport(&self) -> HeaderKind {
        self.transport_header().kind
    }

    /// Headers before the innermost IP header.
    pub fn encapsulation(&self) -> &[Header] {
        &self.headers[..self.ip]
    }

    /// The echoed packet of a script ICMP packet (`None` for live packets,
    /// as packetdrill's parser does not look inside ICMP).
    pub fn echoed(&self) -> Option<Echoed> {
        self.echoed
    }

    /// Whether the innermost IP header is IPv6.
    pub fn is_ipv6(&self) -> bool {
        self.ip_header().kind == HeaderKind::Ipv6
    }

    /// Header `index` if it is a `kind` header.
    fn header_at(&self, index: usize, kind: HeaderKind) -> Option<Header> {
        self.headers.get(index).filter(|h| h.kind == kind).copied()
    }

    /// The bytes from header `index` to the end, if it is a `kind` header.
    fn header_to_end(&self, index: usize, kind: HeaderKind) -> Option<&[u8]> {
        let h = self.header_at(index, kind)?;
        Some(self.bytes.range(h.offset..self.bytes.len()))
    }

    fn header_to_end_mut(&mut self, index: usize, kind: HeaderKind) -> Option<&mut [u8]> {
        let h = self.header_at(index, kind)?;
        let end = self.bytes.len();
        Some(self.bytes.range_mut(h.offset..end))
    }

    /// The bytes of header `index` itself, if it is a `kind` header.
    fn header_bytes(&self, index: usize, kind: HeaderKind) -> Option<&[u8]> {
        let h = self.header_at(index, kind)?;
        Some(self.bytes.range(h.offset..h.offset + h.header_len))
    }

    /// A view of header `index` (any IPv4 header, e.g. an outer one).
    pub fn ipv4_at(&self, index: usize) -> Option<ipv4::Packet<&[u8]>> {
        self.header_to_end(index, HeaderKind::Ipv4)
            .map(ipv4::Packet::new_unchecked)
    }

    pub fn ipv6_at(&self, index: usize) -> Option<ipv6::Packet<&[u8]>> {
        self.header_to_end(index, HeaderKind::Ipv6)
            .map(ipv6::Packet::new_unchecked)
    }

    /// The innermost IP header if it is IPv4.
    pub fn ipv4(&self) -> Option<ipv4::Packet<&[u8]>> {
        self.ipv4_at(self.ip)
    }

    pub fn ipv4_mut(&mut self) -> Option<ipv4::Packet<&mut [u8]>> {
        self.header_to_end_mut(self.ip, HeaderKind::Ipv4)
            .map(ipv4::Packet::new_unchecked)
    }

    /// The innermost IP header if it is IPv6.
    pub fn ipv6(&self) -> Option<ipv6::Packet<&[u8]>> {
        self.ipv6_at(self.ip)
    }

    pub fn ipv6_mut(&mut self) -> Option<ipv6::Packet<&mut [u8]>> {
        self.header_to_end_mut(self.ip, HeaderKind::Ipv6)
            .map(ipv6::Packet::new_unchecked)
    }

    /// A GRE header view.
    pub fn gre_at(&self, index: usize) -> Option<gre::Packet<&[u8]>> {
        self.header_bytes(index, HeaderKind::Gre)
            .map(gre::Packet::new_unchecked)
    }

    /// The entries of an MPLS header.
    pub fn mpls_at(&self, index: usize) -> Option<Vec<mpls::Entry>> {
        let d = self.header_bytes(index, HeaderKind::Mpls)?;
        Some(
            d.chunks_exact(mpls::ENTRY_LEN)
                .map(|c| mpls::Entry::from_bytes(c.array_at(0)))
                .collect(),
        )
    }

    pub fn src_addr(&self) -> IpAddr {
        match (self.ipv4(), self.ipv6()) {
            (Some(p), _) => IpAddr::V4(p.src_addr()),
            (_, Some(p)) => IpAddr::V6(p.src_addr()),
            _ => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        }
    }

    pub fn dst_addr(&self) -> IpAddr {
        match (self.ipv4(), self.ipv6()) {
            (Some(p), _) => IpAddr::V4(p.dst_addr()),
            (_, Some(p)) => IpAddr::V6(p.dst_addr()),
            _ => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        }
    }

    /// Set the innermost IP addresses. On an IPv4 packet, IPv6 addresses must
    /// be IPv4-mapped (`::ffff:a.b.c.d`); on IPv6, IPv4 addresses are mapped.
    pub fn set_addrs(&mut self, src: IpAddr, dst: IpAddr) -> Result<()> {
        if let Some(mut p) = self.ipv4_mut() {
            let (s, d) = (v4_of(src)?, v4_of(dst)?);
            p.set_src_addr(s);
            p.set_dst_addr(d);
        } else if let Some(mut p) = self.ipv6_mut() {
            p.set_src_addr(v6_of(src));
            p.set_dst_addr(v6_of(dst));
        }
        Ok(())
    }

    /// The TOS byte (IPv4) or traffic class (IPv6) of the innermost IP header.
    pub fn tos(&self) -> u8 {
        match (self.ipv4(), self.ipv6()) {
            (Some(p), _) => p.tos(),
            (_, Some(p)) => p.traffic_class(),
            _ => 0,
        }
    }

    pub fn set_tos(&mut self, tos: u8) {
        if let Some(mut p) = self.ipv4_mut() {
            p.set_tos(tos);
        } else if let Some(mut p) = self.ipv6_mut() {
            p.set_traffic_class(tos);
        }
    }

    /// The two ECN bits of the innermost IP header.
    pub fn ecn(&self) -> u8 {
        self.tos() & 0x03
    }

    pub fn set_ecn(&mut self, ecn: u8) {
        self.set_tos(with_bits(self.tos(), 0x03, ecn));
    }

    /// IPv4 TTL or IPv6 hop limit of the innermost IP header.
    pub fn ttl(&self) -> u8 {
        match (self.ipv4(), self.ipv6()) {
            (Some(p), _) => p.ttl(),
            (_, Some(p)) => p.hop_limit(),
            _ => 0,
        }
    }

    pub fn set_ttl(&mut self, ttl: u8) {
        if let Some(mut p) = self.ipv4_mut() {
            p.set_ttl(ttl);
        } else if let Some(mut p) = self.ipv6_mut() {
            p.set_hop_limit(ttl);
        }
    }

    /// The IPv6 flow label (`None` on IPv4).
    pub fn flow_label(&self) -> Option<u32> {
        self.ipv6().map(|p| p.flow_label())
    }

    /// Set the IPv6 flow label; an error on IPv4.
    pub fn set_flow_label(&mut self, label: u32) -> Result<()> {
        match self.ipv6_mut() {
            Some(mut p) => {
                p.set_flow_label(label);
                Ok(())
            }
            None => Err(Error::new("an IPv4 packet has no flow label")),
        }
    }

    /// The transport segment (header to the end), if it is a `kind` header.
    fn l4(&self, kind: HeaderKind) -> Option<&[u8]> {
        self.header_to_end(self.headers.len() - 1, kind)
    }

    fn l4_mut(&mut self, kind: HeaderKind) -> Option<&mut [u8]> {
        self.header_to_end_mut(self.headers.len() - 1, kind)
    }

    /// The TCP segment (header, options, payload).
    pub fn tcp(&self) -> Option<tcp::Packet<&[u8]>> {
        self.l4(HeaderKind::Tcp).map(tcp::Packet::new_unchecked)
    }

    pub fn tcp_mut(&mut self) -> Option<tcp::Packet<&mut [u8]>> {
        self.l4_mut(HeaderKind::Tcp).map(tcp::Packet::new_unchecked)
    }

    pub fn udp(&self) -> Option<udp::Packet<&[u8]>> {
        self.l4(HeaderKind::Udp).map(udp::Packet::new_unchecked)
    }

    pub fn udp_mut(&mut self) -> Option<udp::Packet<&mut [u8]>> {
        self.l4_mut(HeaderKind::Udp).map(udp::Packet::new_unchecked)
    }

    pub fn icmpv4(&self) -> Option<icmp::Packet<&[u8]>> {
        self.l4(HeaderKind::Icmpv4).map(icmp::Packet::new_unchecked)
    }

    pub fn icmpv6(&self) -> Option<icmp::Packet<&[u8]>> {
        self.l4(HeaderKind::Icmpv6).map(icmp::Packet::new_unchecked)
    }

    /// ICMP type and code (either version).
    pub fn icmp_type_code(&self) -> Option<(u8, u8)> {
        match (self.icmpv4(), self.icmpv6()) {
            (Some(p), _) => Some((p.msg_type(), p.msg_code())),
            (_, Some(p)) => Some((p.msg_type(), p.msg_code())),
            _ => None,
        }
    }

    /// TCP or UDP ports.
    pub fn ports(&self) -> Option<(u16, u16)> {
        if let Some(t) = self.tcp() {
            return Some((t.src_port(), t.dst_port()));
        }
        self.udp().map(|u| (u.src_port(), u.dst_port()))
    }

    /// Set TCP or UDP ports (nothing for ICMP).
    pub fn set_ports(&mut self, src: u16, dst: u16) {
        if let Some(mut t) = self.tcp_mut() {
            t.set_src_port(src);
            t.set_dst_port(dst);
        } else if let Some(mut u) = self.udp_mut() {
            u.set_src_port(src);
            u.set_dst_port(dst);
        }
    }

    /// Addresses and ports (ports 0 for ICMP): packetdrill's `get_packet_tuple`.
    pub fn tuple(&self) -> (IpAddr, u16, IpAddr, u16) {
        let (sp, dp) = self.ports().unwrap_or((0, 0));
        (self.src_addr(), sp, self.dst_addr(), dp)
    }

    /// Set addresses and ports, packetdrill's `set_packet_tuple`: for an ICMP
    /// packet also the echoed packet inside it, in the reverse direction (its
    /// addresses when an IP header fits, its ports when its protocol is TCP or
    /// UDP).
    pub fn set_tuple(&mut self, src: (IpAddr, u16), dst: (IpAddr, u16)) -> Result<()> {
        self.set_addrs(src.0, dst.0)?;
        self.set_ports(src.1, dst.1);
        if matches!(self.transport(), HeaderKind::Icmpv4 | HeaderKind::Icmpv6) {
            self.set_echoed_tuple(dst, src)?;
        }
        Ok(())
    }

    /// Offset and family of the IP header inside an ICMP message's data.
    fn echoed_ip(&self) -> Option<(usize, bool)> {
        let h = self.transport_header();
        let v6 = match h.kind {
            HeaderKind::Icmpv4 => false,
            HeaderKind::Icmpv6 => true,
            _ => return None,
        };
        Some((h.offset + h.header_len, v6))
    }

    /// Protocol byte of the echoed IP header and the offset of its L4 header.
    fn echoed_l4(&self) -> Option<(u8, usize)> {
        let (at, v6) = self.echoed_ip()?;
        let (proto_at, hl) = if v6 {
            (at + 6, ipv6::HEADER_LEN)
        } else {
            (at + 9, ipv4::HEADER_LEN)
        };
        let p = *self.bytes.get(proto_at)?;
        Some((p, at + hl))
    }

    fn set_echoed_tuple(&mut self, src: (IpAddr, u16), dst: (IpAddr, u16)) -> Result<()> {
        let Some((at, v6)) = self.echoed_ip() else {
            return Ok(());
        };
        if v6 {
            if let Some(hdr) = self.bytes.get_mut(at..at + ipv6::HEADER_LEN) {
                let mut p = ipv6::Packet::new_unchecked(hdr);
                p.set_src_addr(v6_of(src.0));
                p.set_dst_addr(v6_of(dst.0));
            }
        } else if let Some(hdr) = self.bytes.get_mut(at..at + ipv4::HEADER_LEN) {
            let (s, d) = (v4_of(src.0)?, v4_of(dst.0)?);
            let mut p = ipv4::Packet::new_unchecked(hdr);
            p.set_src_addr(s);
            p.set_dst_addr(d);
        }
        if let Some((p, l4)) = self.echoed_l4() {
            if p == proto::TCP || p == proto::UDP {
                if let Some(ports) = self.bytes.get_mut(l4..l4 + 4) {
                    // TCP's ports sit where UDP's do.
                    let mut p = udp::Packet::new_unchecked(ports);
                    p.set_src_port(src.1);
                    p.set_dst_port(dst.1);
                }
            }
        }
        Ok(())
    }

    /// The sequence number in the TCP header echoed by an ICMP message.
    pub fn echoed_tcp_seq(&self) -> Option<u32> {
        let (p, l4) = self.echoed_l4()?;
        if p != proto::TCP {
            return None;
        }
        let d = self.bytes.get(l4 + 4..l4 + 8)?;
        Some(d.u32_at(0))
    }

    /// Set the echoed TCP sequence number; false when there is none.
    pub fn set_echoed_tcp_seq(&mut self, seq: u32) -> bool {
        match self.echoed_l4() {
            Some((proto::TCP, l4)) => match self.bytes.get_mut(l4 + 4..l4 + 8) {
                Some(d) => {
                    d.set_u32_at(0, seq);
                    true
                }
                None => false,
            },
            _ => false,
        }
    }

    /// Start of the payload (after the transport header).
    fn payload_start(&self) -> usize {
        let h = self.transport_header();
        h.offset + h.header_len
    }

    /// The transport payload (TCP/UDP data, ICMP echoed packet).
    pub fn payload(&self) -> &[u8] {
        &self.bytes[self.payload_start()..]
    }

    pub fn payload_mut(&mut self) -> &mut [u8] {
        let s = self.payload_start();
        &mut self.bytes[s..]
    }

    pub fn payload_len(&self) -> usize {
        self.bytes.len() - self.payload_start()
    }

    /// Bytes of TCP options (0 if not TCP).
    pub fn tcp_options_len(&self) -> usize {
        match self.transport() {
            HeaderKind::Tcp => self.transport_header().header_len - tcp::HEADER_LEN,
            _ => 0,
        }
    }

    /// Offset of the TCP options area from the start of the packet.
    fn tcp_options_start(&self) -> Option<usize> {
        (self.transport() == HeaderKind::Tcp)
            .then(|| self.transport_header().offset + tcp::HEADER_LEN)
    }

    /// Absolute offset of the last TS option's kind byte (packetdrill uses the
    /// last one when there are several). Walking the options may fail.
    fn timestamp_at(&self) -> Result<Option<usize>> {
        let Some(start) = self.tcp_options_start() else {
            return Ok(None);
        };
        let opts = &self.bytes[start..start + self.tcp_options_len()];
        let mut found = None;
        for raw in RawOptions::new(opts) {
            let raw = raw?;
            if raw.kind() == kind::TIMESTAMP {
                found = Some(start + raw.offset);
            }
        }
        Ok(found)
    }

    /// The TCP timestamp option's (val, ecr), if there is one. An error when
    /// the options cannot be walked (e.g. "unexpected TCP option kind: 30").
    pub fn tcp_timestamp(&self) -> Result<Option<(u32, u32)>> {
        Ok(self
            .timestamp_at()?
            .map(|at| (self.bytes.u32_at(at + 2), self.bytes.u32_at(at + 6))))
    }

    /// Rewrite the TS val; `Ok(false)` when there is no TS option.
    pub fn set_tcp_ts_val(&mut self, val: u32) -> Result<bool> {
        Ok(match self.timestamp_at()? {
            Some(at) => {
                self.bytes.set_u32_at(at + 2, val);
                true
            }
            None => false,
        })
    }

    /// Rewrite the TS ecr; `Ok(false)` when there is no TS option.
    pub fn set_tcp_ts_ecr(&mut self, ecr: u32) -> Result<bool> {
        Ok(match self.timestamp_at()? {
            Some(at) => {
                self.bytes.set_u32_at(at + 6, ecr);
                true
            }
            None => false,
        })
    }

    /// Add `delta` (mod 2^32) to both edges of every SACK block
    /// (packetdrill's `offset_sack_blocks`).
    pub fn offset_sack_blocks(&mut self, delta: u32) -> Result<()> {
        let Some(start) = self.tcp_options_start() else {
            return Ok(());
        };
        let end = start + self.tcp_options_len();
        let mut sacks = Vec::new();
        for raw in RawOptions::new(&self.bytes[start..end]) {
            let raw = raw?;
            if raw.kind() == kind::SACK {
                let blocks = sack_blocks(raw.wire_len(), raw.data())?;
                sacks.push((start + raw.offset + 2, blocks));
            }
        }
        for (at, blocks) in sacks {
            for (i, (left, right)) in blocks.into_iter().enumerate() {
                let edge = at + 8 * i;
                self.bytes.set_u32_at(edge, left.wrapping_add(delta));
                self.bytes.set_u32_at(edge + 4, right.wrapping_add(delta));
            }
        }
        Ok(())
    }

    /// Move a TCP packet between sequence spaces (packetdrill's
    /// `tcp_convert_seq_number` / inbound mapping): seq += `seq_offset`;
    /// when the ACK flag is set, ack += `ack_offset`; every SACK block +=
    /// `ack_offset`. Nothing happens to non-TCP packets.
    pub fn shift_tcp_sequence_space(&mut self, seq_offset: u32, ack_offset: u32) -> Result<()> {
        let Some(mut t) = self.tcp_mut() else {
            return Ok(());
        };
        t.set_seq_number(t.seq_number().wrapping_add(seq_offset));
        if t.ack() {
            t.set_ack_number(t.ack_number().wrapping_add(ack_offset));
        }
        self.offset_sack_blocks(ack_offset)
    }

    /// Whether every IPv4 header checksum is right.
    pub fn ipv4_checksums_ok(&self) -> bool {
        (0..self.headers.len())
            .filter_map(|i| self.ipv4_at(i))
            .all(|p| p.verify_checksum())
    }

    /// Bytes of the transport segment according to the innermost IP header.
    fn l4_len(&self) -> usize {
        let ip = self.ip_header();
        let claimed = match (self.ipv4(), self.ipv6()) {
            (Some(p), _) => usize::from(p.total_len()).saturating_sub(p.header_len()),
            (_, Some(p)) => usize::from(p.payload_len()),
            _ => 0,
        };
        let l4 = self.transport_header().offset;
        let encap = l4 - (ip.offset + ip.header_len);
        claimed.saturating_sub(encap).min(self.bytes.len() - l4)
    }

    /// Fill in every IPv4 header checksum and the transport checksum
    /// (TCP/UDP/ICMPv6 with the innermost IP pseudo-header, ICMPv4 over the
    /// message), as packetdrill does before injecting a packet.
    pub fn fill_checksums(&mut self) {
        for i in 0..self.headers.len() {
            let h = self.headers[i];
            if h.kind == HeaderKind::Ipv4 {
                ipv4::Packet::new_unchecked(&mut self.bytes[h.offset..]).fill_checksum();
            }
        }
        let (src, dst) = (self.src_addr(), self.dst_addr());
        let (l4, l4_len, kind) = (
            self.transport_header().offset,
            self.l4_len(),
            self.transport(),
        );
        let seg = &mut self.bytes[l4..l4 + l4_len];
        match kind {
            HeaderKind::Tcp if seg.len() >= tcp::HEADER_LEN => {
                tcp::Packet::new_unchecked(seg).fill_checksum(&src, &dst)
            }
            HeaderKind::Udp if seg.len() >= udp::HEADER_LEN => {
                udp::Packet::new_unchecked(seg).fill_checksum(&src, &dst)
            }
            HeaderKind::Icmpv4 if seg.len() >= icmp::HEADER_LEN => {
                icmpv4::fill_checksum(&mut icmp::Packet::new_unchecked(seg))
            }
            HeaderKind::Icmpv6 if seg.len() >= icmp::HEADER_LEN => {
                icmpv6::fill_checksum(&mut icmp::Packet::new_unchecked(seg), &src, &dst)
            }
            _ => {}
        }
    }

    /// What socket tracking needs to know of this packet (addresses and
    /// ports as they are in the bytes).
    pub fn facts(&self) -> PacketFacts {
        let (s, sp, d, dp) = self.tuple();
        PacketFacts {
            family: if self.is_ipv6() {
                libc::AF_INET6
            } else {
                libc::AF_INET
            },
            transport: self.transport_facts(),
            tuple: Tuple {
                src: Endpoint {
                    ip: Some(s),
                    port: sp,
                },
                dst: Endpoint {
                    ip: Some(d),
                    port: dp,
                },
            },
        }
    }

    pub(crate) fn transport_facts(&self) -> Transport {
        if let Some(t) = self.tcp() {
            return Transport::Tcp {
                syn: t.syn(),
                ack: t.ack(),
                seq: t.seq_number(),
            };
        }
        let echoed = self.echoed.map(|e| i32::from(e.protocol));
        match self.transport() {
            HeaderKind::Udp => Transport::Udp,
            HeaderKind::Icmpv6 => Transport::Icmp { v6: true, echoed },
            _ => Transport::Icmp { v6: false, echoed },
        }
    }

    /// Merge segments the kernel sent for one script packet (packetdrill's
    /// `aggregate_packets`): the headers of the last one, the payloads of all
    /// in order, the sequence number and CWR bit of the first; lengths and IPv4
    /// checksums are updated.
    pub fn aggregate(fragments: &[IpPacket]) -> Result<IpPacket> {
        let (Some(first), Some(last)) = (fragments.first(), fragments.last()) else {
            return Err(Error::new("no packets to aggregate"));
        };
        let total_payload: usize = fragments.iter().map(IpPacket::payload_len).sum();
        let extra = total_payload - last.payload_len();
        let mut bytes = last.bytes[..last.payload_start()].to_vec();
        for f in fragments {
            bytes.extend_from_slice(f.payload());
        }
        let mut headers = last.headers.clone();
        for h in &mut headers {
            h.total_len += extra;
        }
        for h in &headers {
            match h.kind {
                HeaderKind::Ipv4 => {
                    let total = u16::try_from(h.total_len)
                        .map_err(|_| Error::new("aggregated packet exceeds 64 KB"))?;
                    let mut p = ipv4::Packet::new_unchecked(&mut bytes[h.offset..]);
                    p.set_total_len(total);
                    p.fill_checksum();
                }
                HeaderKind::Ipv6 => {
                    let len = u16::try_from(h.total_len - ipv6::HEADER_LEN)
                        .map_err(|_| Error::new("aggregated packet exceeds 64 KB"))?;
                    ipv6::Packet::new_unchecked(&mut bytes[h.offset..]).set_payload_len(len);
                }
                HeaderKind::Udp => {
                    let len = u16::try_from(h.total_len)
                        .map_err(|_| Error::new("aggregated packet exceeds 64 KB"))?;
                    udp::Packet::new_unchecked(&mut bytes[h.offset..]).set_length(len);
                }
                _ => {}
            }
        }
        let mut merged = IpPacket::from_layout(bytes, headers, last.echoed)?;
        if let (Some(f), Some(mut m)) = (first.tcp(), merged.tcp_mut()) {
            m.set_seq_number(f.seq_number());
            m.set_flag(tcp::flag::CWR, f.cwr());
        }
        Ok(merged)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::packet::tcp_option::TcpOption;

    /// An IPv4 or IPv6 TCP packet built from reprs, checksums filled.
    pub(crate) fn tcp_packet(
        v6: bool,
        flags: u16,
        seq: u32,
        ack: u32,
        options: Vec<TcpOption>,
        payload: usize,
    ) -> IpPacket {
        let t = tcp::Repr {
            src_port: 8080,
            dst_port: 40000,
            seq,
            ack,
            flags,
            window: 257,
            urgent: 0,
            options,
            payload_len: payload,
        };
        let ip_len = if v6 {
            ipv6::HEADER_LEN
        } else {
            ipv4::HEADER_LEN
        };
        let mut bytes = vec![0u8; ip_len + t.buffer_len()];
        if v6 {
            ipv6::Repr {
                src_addr: "fd3d:a0b:17d6::1".parse().unwrap(),
                dst_addr: "fd3d:fa7b:d17d::1".parse().unwrap(),
                next_header: proto::TCP,
                payload_len: t.buffer_len(),
                hop_limit: 64,
                traffic_class: 0,
                flow_label: 0x12345,
            }
            .emit(&mut ipv6::Packet::new_unchecked(&mut bytes[..]));
        } else {
            ipv4::Repr {
                src_addr: Ipv4Addr::new(192, 168, 0, 1),
                dst_addr: Ipv4Addr::new(192, 0, 2, 1),
                protocol: proto::TCP,
                payload_len: t.buffer_len(),
                ttl: 64,
                tos: 0,
            }
            .emit(&mut ipv4::Packet::new_unchecked(&mut bytes[..]));
        }
        t.emit(&mut tcp::Packet::new_unchecked(&mut bytes[ip_len..]))
            .unwrap();
        let mut p = IpPacket::parse(bytes).unwrap();
        p.fill_checksums();
        p
    }

    fn ts_sack_options() -> Vec<TcpOption> {
        vec![
            TcpOption::Nop,
            TcpOption::Nop,
            TcpOption::Timestamp { val: 1000, ecr: 77 },
            TcpOption::Nop,
            TcpOption::Nop,
            TcpOption::Sack(vec![(100, 200), (300, 400)]),
        ]
    }

    #[test]
    fn layout_of_a_plain_tcp_packet() {
        let p = tcp_packet(false, tcp::flag::ACK, 1, 1, ts_sack_options(), 10);
        assert_eq!(p.headers().len(), 2);
        assert_eq!(p.ip_header().kind, HeaderKind::Ipv4);
        assert_eq!(p.transport(), HeaderKind::Tcp);
        assert_eq!(p.tcp_options_len(), 32);
        assert_eq!(p.payload_len(), 10);
        assert!(p.encapsulation().is_empty());
        assert!(p.ipv4_checksums_ok());
        let t = p.tcp().unwrap();
        assert!(t.verify_checksum(&p.src_addr(), &p.dst_addr()));
    }

    #[test]
    fn timestamps_and_sack_blocks_move() {
        let mut p = tcp_packet(false, tcp::flag::ACK, 1, 1, ts_sack_options(), 0);
        assert_eq!(p.tcp_timestamp(), Ok(Some((1000, 77))));
        assert_eq!(p.set_tcp_ts_val(5), Ok(true));
        assert_eq!(p.set_tcp_ts_ecr(6), Ok(true));
        assert_eq!(p.tcp_timestamp(), Ok(Some((5, 6))));
        p.offset_sack_blocks(u32::MAX - 99).unwrap();
        let opts = crate::packet::tcp_option::parse_options(p.tcp().unwrap().options()).unwrap();
        assert_eq!(opts[5], TcpOption::Sack(vec![(0, 100), (200, 300)]));
        let mut plain = tcp_packet(false, tcp::flag::ACK, 1, 1, vec![], 0);
        assert_eq!(plain.tcp_timestamp(), Ok(None));
        assert_eq!(plain.set_tcp_ts_ecr(1), Ok(false));
    }

    #[test]
    fn sequence_space_shift_follows_the_ack_flag() {
        let mut p = tcp_packet(false, tcp::flag::SYN, 10, 20, vec![], 0);
        p.shift_tcp_sequence_space(5, 1000).unwrap();
        let t = p.tcp().unwrap();
        assert_eq!((t.seq_number(), t.ack_number()), (15, 20));
        let mut p = tcp_packet(false, tcp::flag::ACK, 10, 20, ts_sack_options(), 0);
        p.shift_tcp_sequence_space(u32::MAX, 1000).unwrap();
        let t = p.tcp().unwrap();
        assert_eq!((t.seq_number(), t.ack_number()), (9, 1020));
        let opts = crate::packet::tcp_option::parse_options(p.tcp().unwrap().options()).unwrap();
        assert_eq!(opts[5], TcpOption::Sack(vec![(1100, 1200), (1300, 1400)]));
    }

    #[test]
    fn unknown_option_kinds_fail_the_timestamp_walk() {
        let mut p = tcp_packet(false, tcp::flag::ACK, 1, 1, ts_sack_options(), 0);
        let at = p.transport_header().offset + tcp::HEADER_LEN;
        p.bytes[at] = 30;
        p.bytes[at + 1] = 2;
        assert_eq!(
            p.tcp_timestamp().unwrap_err().to_string(),
            "unexpected TCP option kind: 30"
        );
        assert!(p.offset_sack_blocks(1).is_err());
    }

    #[test]
    fn tuple_and_ip_fields() {
        let mut p = tcp_packet(true, tcp::flag::ACK, 1, 1, vec![], 0);
        let src: IpAddr = "fd3d:fa7b:d17d::1".parse().unwrap();
        let dst: IpAddr = "fd3d:a0b:17d6::1".parse().unwrap();
        p.set_tuple((src, 40001), (dst, 8080)).unwrap();
        assert_eq!(p.tuple(), (src, 40001, dst, 8080));
        assert_eq!(p.flow_label(), Some(0x12345));
        p.set_flow_label(0xfffff).unwrap();
        p.set_tos(0xb8);
        p.set_ecn(1);
        p.set_ttl(255);
        assert_eq!(
            (p.tos(), p.ecn(), p.ttl(), p.flow_label()),
            (0xb9, 1, 255, Some(0xfffff))
        );
        p.fill_checksums();
        assert!(p.tcp().unwrap().verify_checksum(&src, &dst));
        let facts = p.facts();
        assert_eq!(facts.family, libc::AF_INET6);
        assert_eq!(
            facts.transport,
            Transport::Tcp {
                syn: false,
                ack: true,
                seq: 1
            }
        );
        assert_eq!(
            facts.tuple.src,
            Endpoint {
                ip: Some(src),
                port: 40001
            }
        );

        let mut v4 = tcp_packet(false, tcp::flag::ACK, 1, 1, vec![], 0);
        assert!(v4.set_flow_label(1).is_err());
        // IPv4-mapped addresses fit an IPv4 header; others do not.
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        v4.set_addrs(mapped, mapped).unwrap();
        assert_eq!(v4.src_addr(), "192.0.2.1".parse::<IpAddr>().unwrap());
        assert!(v4.set_addrs(src, dst).is_err());
    }

    #[test]
    fn parse_errors_are_packetdrills() {
        let p = tcp_packet(false, tcp::flag::ACK, 1, 1, vec![], 0);
        let mut bad = p.bytes().to_vec();
        bad[10] ^= 1;
        assert_eq!(
            IpPacket::parse(bad).unwrap_err().to_string(),
            "Bad IP checksum"
        );
        let mut frag = p.bytes().to_vec();
        frag[6] = 0x20;
        ipv4::Packet::new_unchecked(&mut frag[..]).fill_checksum();
        assert_eq!(
            IpPacket::parse(frag).unwrap_err().to_string(),
            "More fragments remaining"
        );
        let mut doff = p.bytes().to_vec();
        doff[32] = 0x60;
        assert_eq!(
            IpPacket::parse(doff).unwrap_err().to_string(),
            "TCP data offset too big"
        );
        assert_eq!(
            IpPacket::parse(vec![0x70; 20]).unwrap_err().to_string(),
            "Unsupported IP version"
        );
    }

    #[test]
    fn trailing_bytes_after_the_datagram_are_dropped() {
        let p = tcp_packet(false, tcp::flag::ACK, 1, 1, vec![], 4);
        let mut bytes = p.bytes().to_vec();
        bytes.extend_from_slice(&[0xee; 6]);
        let q = IpPacket::parse(bytes).unwrap();
        assert_eq!(q, p);
    }

    #[test]
    fn aggregation_keeps_first_seq_and_cwr_and_last_headers() {
        let a = tcp_packet(false, tcp::flag::ACK | tcp::flag::CWR, 1, 7, vec![], 1000);
        let b = tcp_packet(false, tcp::flag::ACK | tcp::flag::PSH, 1001, 9, vec![], 500);
        let m = IpPacket::aggregate(&[a, b]).unwrap();
        let t = m.tcp().unwrap();
        assert_eq!(t.seq_number(), 1);
        assert_eq!(t.ack_number(), 9);
        assert!(t.cwr() && t.psh());
        assert_eq!(m.payload_len(), 1500);
        assert_eq!(m.ipv4().unwrap().total_len(), 1540);
        assert!(m.ipv4_checksums_ok());
        let v6 = IpPacket::aggregate(&[
            tcp_packet(true, tcp::flag::ACK, 1, 1, vec![], 10),
            tcp_packet(true, tcp::flag::ACK, 11, 1, vec![], 10),
        ])
        .unwrap();
        assert_eq!(v6.ipv6().unwrap().payload_len(), 40);
        assert!(IpPacket::aggregate(&[]).is_err());
    }

    fn icmp_unreachable_v4(echoed_proto: u8) -> IpPacket {
        let mut bytes = vec![0u8; 20 + 8 + 20 + 8];
        ipv4::Repr {
            src_addr: Ipv4Addr::UNSPECIFIED,
            dst_addr: Ipv4Addr::UNSPECIFIED,
            protocol: proto::ICMP,
            payload_len: 36,
            ttl: 255,
            tos: 0,
        }
        .emit(&mut ipv4::Packet::new_unchecked(&mut bytes[..]));
        bytes[20] = 3;
        bytes[21] = 4;
        bytes[28] = 0x45;
        bytes[28 + 9] = echoed_proto;
        bytes[48 + 4..48 + 8].copy_from_slice(&5u32.to_be_bytes());
        let headers = vec![
            Header {
                kind: HeaderKind::Ipv4,
                offset: 0,
                header_len: 20,
                total_len: 56,
            },
            Header {
                kind: HeaderKind::Icmpv4,
                offset: 20,
                header_len: 8,
                total_len: 36,
            },
        ];
        IpPacket::from_layout(
            bytes,
            headers,
            Some(Echoed {
                protocol: echoed_proto,
            }),
        )
        .unwrap()
    }

    #[test]
    fn icmp_echoed_packet_gets_the_reverse_tuple() {
        let mut p = icmp_unreachable_v4(proto::TCP);
        let remote: IpAddr = "192.0.2.1".parse().unwrap();
        let local: IpAddr = "192.168.0.1".parse().unwrap();
        p.set_tuple((remote, 40000), (local, 8080)).unwrap();
        assert_eq!(p.tuple(), (remote, 0, local, 0));
        let echoed = ipv4::Packet::new_unchecked(&p.bytes()[28..]);
        assert_eq!(
            (echoed.src_addr(), echoed.dst_addr()),
            (Ipv4Addr::new(192, 168, 0, 1), Ipv4Addr::new(192, 0, 2, 1))
        );
        assert_eq!(&p.bytes()[48..52], &[0x1f, 0x90, 0x9c, 0x40]);
        assert_eq!(p.echoed_tcp_seq(), Some(5));
        assert!(p.set_echoed_tcp_seq(1_000_005));
        assert_eq!(p.echoed_tcp_seq(), Some(1_000_005));
        assert_eq!(
            p.facts().transport,
            Transport::Icmp {
                v6: false,
                echoed: Some(6)
            }
        );
        p.fill_checksums();
        assert!(icmpv4::verify_checksum(&p.icmpv4().unwrap()));
        assert_eq!(p.icmp_type_code(), Some((3, 4)));

        let mut udp = icmp_unreachable_v4(proto::UDP);
        assert!(!udp.set_echoed_tcp_seq(1));
        udp.set_tuple((remote, 1), (local, 2)).unwrap();
        assert_eq!(&udp.bytes()[48..52], &[0, 2, 0, 1]);
    }

    #[test]
    fn layouts_are_checked() {
        let p = tcp_packet(false, tcp::flag::ACK, 1, 1, vec![], 0);
        let mut headers = p.headers().to_vec();
        headers.reverse();
        assert!(IpPacket::from_layout(p.bytes().to_vec(), headers, None).is_err());
        let mut headers = p.headers().to_vec();
        headers[1].header_len = 24;
        assert!(IpPacket::from_layout(p.bytes().to_vec(), headers, None).is_err());
        assert!(IpPacket::from_layout(p.bytes().to_vec(), vec![], None).is_err());
        let mut headers = p.headers().to_vec();
        headers[0].total_len = 1000;
        assert!(IpPacket::from_layout(p.bytes().to_vec(), headers, None).is_err());
    }
}
