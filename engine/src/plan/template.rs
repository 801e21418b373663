//! Script packets turned into bytes: [`PacketTemplate`].
//!
//! packetdrill builds every packet line while it parses the script, for the
//! final IP version: a template holds that packet in *script space*
//! (script seq/ack/SACK, script ports, TS val/ecr as written, zero
//! addresses to be filled at run time, zero payload) plus what an outbound
//! check looks at beyond the bytes (window only when written, options
//! unless `<...>`, the TOS/ECN check, TTL, AccECN's ACE digit). The static
//! errors packetdrill reports while building packets ("window must be
//! specified for inbound packets", "TCP options are not padded
//! correctly...", "bad ICMP type ...") are [`Diagnostic`]s here.

use crate::packet::dump::{short_dump_with, DumpStyle};
use crate::packet::flow::{Endpoint, PacketFacts, Tuple};
use crate::packet::icmp::{self, NameError};
use crate::packet::ip_packet::{Echoed, Header, HeaderKind, IpPacket, MAX_HEADERS};
use crate::packet::tcp_option::{self, TcpOption};
use crate::packet::{gre, icmpv4, icmpv6, ipv4, ipv6, mpls, proto, tcp, udp};
use crate::plan::config::IpVersion;
use crate::script::ast::{
    AccEcnOrder, Direction, Ecn, IcmpEchoed, IcmpSpec, IpInfo, OuterHeader, PacketBody, PacketSpec,
    SeqSpec, TcpFlags, TcpOptionSpec, TcpOptionsSpec, TcpSpec, TosSpec, UdpSpec,
};
use crate::script::{Diagnostic, Span};
use std::net::{Ipv4Addr, Ipv6Addr};

/// TTL / hop limit meaning "not checked" (packetdrill's `TTL_CHECK_NONE`),
/// also the default of injected packets.
pub const TTL_UNCHECKED: u8 = 255;

/// The largest IP datagram packetdrill builds (its sanity limit, 64 KiB).
const MAX_DATAGRAM: usize = 64 * 1024;

/// How the TOS / traffic-class byte of an outbound packet is checked
/// (packetdrill's `tos_chk`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TosCheck {
    /// Nothing written: not checked.
    #[default]
    None,
    /// `[noecn]`, `[ect0]`, `[ect1]`, `[ce]`: the ECN bits must be this.
    Ecn(u8),
    /// `[ect01]`: ECT(0) or ECT(1).
    Ect01,
    /// `[tos 0xNN]`: the whole byte.
    Tos(u8),
}

/// What the outbound check compares besides the header fields it always
/// compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checks {
    /// The script wrote `win N`.
    pub window: bool,
    /// The script did not write `<...>`: options are compared.
    pub options: bool,
    pub tos: TosCheck,
    /// `[ttl N]` with N other than 0 and 255.
    pub ttl: Option<u8>,
    /// The flags had an ACE digit 1-7: compare the 3-bit ACE field as a whole.
    pub ace: bool,
}

/// A script packet as bytes plus what to check; see the module docs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PacketTemplate {
    pub direction: Direction,
    /// The packet in script space, addresses zero (or the literal outer ones).
    pub packet: IpPacket,
    pub checks: Checks,
    /// Where the packet was written.
    pub span: Span,
}

fn semantic(msg: impl Into<String>, span: Span) -> Diagnostic {
    Diagnostic::semantic(msg, span)
}

/// The TOS byte an `ip_info` asks for and how to check it.
fn tos_of(info: &IpInfo) -> (u8, TosCheck) {
    match info.tos {
        TosSpec::Unspecified => (0, TosCheck::None),
        TosSpec::Ecn(e) => (ecn_bits(e), TosCheck::Ecn(ecn_bits(e))),
        TosSpec::Ect01 => (0, TosCheck::Ect01),
        TosSpec::Tos(v) => (v, TosCheck::Tos(v)),
    }
}

fn ecn_bits(e: Ecn) -> u8 {
    e as u8
}

/// The TTL byte: 0 or nothing written means 255.
fn ttl_of(info: &IpInfo) -> u8 {
    match info.ttl {
        Some(t) if t != 0 => t,
        _ => TTL_UNCHECKED,
    }
}

fn check_flow_label(info: &IpInfo, span: Span) -> Result<u32, Diagnostic> {
    let label = info.flow_label.unwrap_or(0);
    if label > 0x000f_ffff {
        return Err(semantic("flowlabel out of range for 20 bits", span));
    }
    Ok(label)
}

/// One layer being assembled: its kind and bytes (for the transport layer,
/// header and payload).
struct Layer {
    kind: HeaderKind,
    bytes: Vec<u8>,
    /// Bytes of the header itself.
    header_len: usize,
}

impl Layer {
    fn header(kind: HeaderKind, bytes: Vec<u8>) -> Layer {
        let header_len = bytes.len();
        Layer {
            kind,
            bytes,
            header_len,
        }
    }
}

/// The wire option of a script option (no range checks; see `build_options`).
pub fn tcp_option_from_spec(spec: &TcpOptionSpec) -> TcpOption {
    match spec {
        TcpOptionSpec::Nop => TcpOption::Nop,
        TcpOptionSpec::Eol => TcpOption::Eol,
        TcpOptionSpec::Mss(v) => TcpOption::Mss(*v),
        TcpOptionSpec::Wscale(v) => TcpOption::WindowScale(*v),
        TcpOptionSpec::SackOk => TcpOption::SackPermitted,
        TcpOptionSpec::Sack(blocks) => TcpOption::Sack(blocks.clone()),
        TcpOptionSpec::Md5(d) => TcpOption::Md5(d.clone()),
        TcpOptionSpec::Timestamp { val, ecr } => TcpOption::Timestamp {
            val: *val,
            ecr: *ecr,
        },
        TcpOptionSpec::FastOpen(c) => TcpOption::FastOpen(c.clone()),
        TcpOptionSpec::FastOpenExp(c) => TcpOption::FastOpenExp(c.clone()),
        TcpOptionSpec::AccEcn { order, fields } => TcpOption::AccEcn {
            order: match order {
                AccEcnOrder::E0bFirst => tcp_option::AccEcnOrder::E0bFirst,
                AccEcnOrder::E1bFirst => tcp_option::AccEcnOrder::E1bFirst,
            },
            fields: fields.clone(),
        },
    }
}

/// The options' wire bytes, with packetdrill's per-option errors in the
/// order its parser meets them (an option's own error, then the list length).
fn build_options(list: &[crate::script::Spanned<TcpOptionSpec>]) -> Result<Vec<u8>, Diagnostic> {
    let mut bytes = Vec::new();
    for opt in list {
        let span = opt.span;
        match &opt.value {
            TcpOptionSpec::Md5(d) if d.len() > tcp_option::MD5_DIGEST_LEN => {
                return Err(semantic("TCP MD5 digest longer than 16 bytes", span));
            }
            TcpOptionSpec::FastOpen(c) | TcpOptionSpec::FastOpenExp(c) => {
                let exp = matches!(opt.value, TcpOptionSpec::FastOpenExp(_));
                let max = tcp_option::MAX_OPTIONS_LEN - if exp { 4 } else { 2 };
                if c.len() > max {
                    return Err(semantic(
                        format!(
                            "TCP fast open cookie of {} bytes exceeds maximum cookie length of {max} bytes",
                            c.len()
                        ),
                        span,
                    ));
                }
            }
            TcpOptionSpec::AccEcn { fields, .. } => {
                if fields.iter().any(|&f| f > tcp_option::ACCECN_FIELD_MAX) {
                    return Err(semantic("TCP AccECN field value out of range", span));
                }
                if fields.is_empty() || fields.len() > tcp_option::ACCECN_MAX_FIELDS {
                    return Err(semantic("TCP AccECN option takes 1 to 3 fields", span));
                }
            }
            _ => {}
        }
        let o = tcp_option_from_spec(&opt.value);
        if bytes.len() + o.wire_len() > tcp_option::MAX_OPTIONS_LEN {
            return Err(semantic("TCP option list too long", span));
        }
        o.emit(&mut bytes);
    }
    Ok(bytes)
}

/// The nine TCP flag bits of a script's flags, and whether they give ACE.
fn flag_bits(f: &TcpFlags) -> (u16, bool) {
    use tcp::flag;
    let mut bits = 0;
    for (on, b) in [
        (f.fin, flag::FIN),
        (f.syn, flag::SYN),
        (f.rst, flag::RST),
        (f.psh, flag::PSH),
        (f.ack, flag::ACK),
        (f.urg, flag::URG),
    ] {
        if on {
            bits |= b;
        }
    }
    match f.ace {
        // Digit 0 means "no ACE": the ECN flags stay clear.
        Some(n) if n != 0 => {
            for (mask, b) in [(1, flag::ECE), (2, flag::CWR), (4, flag::AE)] {
                if n & mask != 0 {
                    bits |= b;
                }
            }
            (bits, true)
        }
        _ => {
            for (on, b) in [(f.ece, flag::ECE), (f.cwr, flag::CWR), (f.ae, flag::AE)] {
                if on {
                    bits |= b;
                }
            }
            (bits, false)
        }
    }
}

/// The fixed IP header of a script packet (zero addresses).
fn inner_ip_header(
    v6: bool,
    info: &IpInfo,
    protocol: u8,
    payload_len: usize,
    flow_label: u32,
) -> Layer {
    let (tos, _) = tos_of(info);
    if v6 {
        let mut b = vec![0u8; ipv6::HEADER_LEN];
        ipv6::Repr {
            src_addr: Ipv6Addr::UNSPECIFIED,
            dst_addr: Ipv6Addr::UNSPECIFIED,
            next_header: protocol,
            payload_len,
            hop_limit: ttl_of(info),
            traffic_class: tos,
            flow_label,
        }
        .emit(&mut ipv6::Packet::new_unchecked(&mut b[..]));
        Layer::header(HeaderKind::Ipv6, b)
    } else {
        let mut b = vec![0u8; ipv4::HEADER_LEN];
        ipv4::Repr {
            src_addr: Ipv4Addr::UNSPECIFIED,
            dst_addr: Ipv4Addr::UNSPECIFIED,
            protocol,
            payload_len,
            ttl: ttl_of(info),
            tos,
        }
        .emit(&mut ipv4::Packet::new_unchecked(&mut b[..]));
        Layer::header(HeaderKind::Ipv4, b)
    }
}

fn ip_header_len(v6: bool) -> usize {
    if v6 {
        ipv6::HEADER_LEN
    } else {
        ipv4::HEADER_LEN
    }
}

/// The explicit outer headers, checked in the order packetdrill parses them.
fn outer_layers(spec: &PacketSpec) -> Result<Vec<Layer>, Diagnostic> {
    let span = spec.span;
    let mut layers = Vec::new();
    for h in &spec.outer {
        let layer = match h {
            OuterHeader::Ipv4 { info, src, dst } => {
                check_flow_label(info, span)?;
                let mut b = vec![0u8; ipv4::HEADER_LEN];
                ipv4::Repr {
                    src_addr: *src,
                    dst_addr: *dst,
                    protocol: 0,
                    payload_len: 0,
                    ttl: ttl_of(info),
                    tos: tos_of(info).0,
                }
                .emit(&mut ipv4::Packet::new_unchecked(&mut b[..]));
                Layer::header(HeaderKind::Ipv4, b)
            }
            OuterHeader::Ipv6 { info, src, dst } => {
                check_flow_label(info, span)?;
                let mut b = vec![0u8; ipv6::HEADER_LEN];
                // packetdrill gives explicit IPv6 headers no flow label.
                ipv6::Repr {
                    src_addr: *src,
                    dst_addr: *dst,
                    next_header: 0,
                    payload_len: 0,
                    hop_limit: ttl_of(info),
                    traffic_class: tos_of(info).0,
                    flow_label: 0,
                }
                .emit(&mut ipv6::Packet::new_unchecked(&mut b[..]));
                Layer::header(HeaderKind::Ipv6, b)
            }
            OuterHeader::Gre(None) => Layer::header(HeaderKind::Gre, vec![0; gre::MIN_HEADER_LEN]),
            OuterHeader::Gre(Some(g)) => {
                if g.flags & 0x0007 != 0 {
                    return Err(semantic("GRE header has unsupported version number", span));
                }
                if g.flags & gre::FLAG_ROUTING != 0 {
                    return Err(semantic("GRE header has unsupported routing info", span));
                }
                Layer::header(
                    HeaderKind::Gre,
                    gre::script_header(g.flags, 0, g.sum, g.off, g.key, g.seq),
                )
            }
            OuterHeader::Mpls(entries) => {
                let mut b = Vec::with_capacity(entries.len() * mpls::ENTRY_LEN);
                for (i, e) in entries.iter().enumerate() {
                    let entry = mpls::Entry::new(e.label, e.tc, e.bottom_of_stack, e.ttl)
                        .map_err(|err| semantic(err.0, span))?;
                    if i >= mpls::MAX_SCRIPT_ENTRIES {
                        return Err(semantic("too many MPLS labels", span));
                    }
                    b.extend_from_slice(&entry.to_bytes());
                }
                Layer::header(HeaderKind::Mpls, b)
            }
        };
        if layers.len() >= MAX_HEADERS {
            return Err(semantic("too many headers", span));
        }
        layers.push(layer);
    }
    Ok(layers)
}

impl PacketTemplate {
    /// Build a script packet for `ip` (ipv4-mapped-ipv6 uses IPv4 on the
    /// wire), with packetdrill's static checks.
    pub fn build(spec: &PacketSpec, ip: IpVersion) -> Result<PacketTemplate, Diagnostic> {
        let v6 = ip.wire_is_ipv6();
        let outer = outer_layers(spec)?;
        let flow_label = check_flow_label(&spec.ip_info, spec.span)?;
        let (_, tos_check) = tos_of(&spec.ip_info);
        let ttl = ttl_of(&spec.ip_info);
        let mut checks = Checks {
            window: true,
            options: true,
            tos: tos_check,
            ttl: (ttl != TTL_UNCHECKED).then_some(ttl),
            ace: false,
        };
        let (mut inner, echoed) = match &spec.body {
            PacketBody::Tcp(t) => (tcp_layers(spec, t, v6, flow_label, &mut checks)?, None),
            PacketBody::Udp(u) => (udp_layers(spec, u, v6, flow_label)?, None),
            PacketBody::Icmp(i) => {
                let (layers, echoed) = icmp_layers(spec, i, v6, flow_label)?;
                (layers, echoed)
            }
        };
        let mut layers = outer;
        if layers.len() + inner.len() > MAX_HEADERS {
            return Err(semantic("too many headers", spec.span));
        }
        layers.append(&mut inner);
        let packet = assemble(layers, echoed).map_err(|e| semantic(e, spec.span))?;
        Ok(PacketTemplate {
            direction: spec.direction,
            packet,
            checks,
            span: spec.span,
        })
    }

    /// How packetdrill prints this packet (window only when written, the ACE
    /// digit when the script used one); also for the `-v` dump of the
    /// injected copy.
    pub fn dump_style(&self) -> DumpStyle {
        DumpStyle {
            show_window: self.checks.window,
            ace: self.checks.ace,
        }
    }

    /// The `script packet:` text.
    pub fn short_dump(&self) -> String {
        short_dump_with(&self.packet, self.dump_style())
    }

    /// What socket tracking needs of the script packet: script packets carry
    /// no addresses, only the ports the script wrote (0 otherwise).
    pub fn facts(&self) -> PacketFacts {
        let (sp, dp) = self.packet.ports().unwrap_or((0, 0));
        PacketFacts {
            family: if self.packet.is_ipv6() {
                libc::AF_INET6
            } else {
                libc::AF_INET
            },
            transport: self.packet.transport_facts(),
            tuple: Tuple {
                src: Endpoint { ip: None, port: sp },
                dst: Endpoint { ip: None, port: dp },
            },
        }
    }

    /// The script's payload length.
    pub fn payload_len(&self) -> usize {
        self.packet.payload_len()
    }
}

fn tcp_layers(
    spec: &PacketSpec,
    t: &TcpSpec,
    v6: bool,
    flow_label: u32,
    checks: &mut Checks,
) -> Result<Vec<Layer>, Diagnostic> {
    let inbound = spec.direction == Direction::Inbound;
    let options = match &t.options {
        TcpOptionsSpec::List(list) => Some(build_options(list)?),
        TcpOptionsSpec::Absent => Some(Vec::new()),
        TcpOptionsSpec::Ellipsis(_) => None,
    };
    if inbound && spec.ip_info.tos == TosSpec::Ect01 {
        return Err(semantic(
            "[ect01] can only be used with outbound packets",
            spec.span,
        ));
    }
    if let (TcpOptionsSpec::Ellipsis(span), true) = (&t.options, inbound) {
        return Err(semantic(
            "<...> for TCP options can only be used with outbound packets",
            *span,
        ));
    }
    let opts = options.clone().unwrap_or_default();
    if opts.len() % 4 != 0 {
        return Err(semantic(
            format!(
                "TCP options are not padded correctly to ensure TCP header is a multiple of 4 bytes: {} excess bytes",
                opts.len() % 4
            ),
            spec.span,
        ));
    }
    let SeqSpec { start, len, .. } = t.seq;
    let tcp_len = tcp::HEADER_LEN + opts.len() + usize::from(len);
    if ip_header_len(v6) + tcp_len > MAX_DATAGRAM {
        return Err(semantic("TCP segment too large", spec.span));
    }
    if t.psp_spi.is_some() {
        return Err(semantic(
            "attempting to use PSP without specifying its UDP port",
            spec.span,
        ));
    }
    if t.win.is_none() && inbound {
        return Err(semantic(
            "window must be specified for inbound packets",
            spec.span,
        ));
    }
    let (flags, ace) = flag_bits(&t.flags.value);
    checks.window = t.win.is_some();
    checks.options = options.is_some();
    checks.ace = ace;
    let ports = t.ports.map_or((0, 0), |p| (p.src, p.dst));
    let mut seg = vec![0u8; tcp::HEADER_LEN + opts.len() + usize::from(len)];
    {
        let mut p = tcp::Packet::new_unchecked(&mut seg[..]);
        p.set_src_port(ports.0);
        p.set_dst_port(ports.1);
        p.set_seq_number(start);
        p.set_ack_number(t.ack.unwrap_or(0));
        p.set_header_len(tcp::HEADER_LEN + opts.len());
        p.set_flags(flags);
        p.set_window_len(t.win.unwrap_or(0));
        p.set_urgent_at(t.urg.unwrap_or(0));
        p.options_mut().copy_from_slice(&opts);
    }
    let ip = inner_ip_header(v6, &spec.ip_info, proto::TCP, seg.len(), flow_label);
    let header_len = tcp::HEADER_LEN + opts.len();
    Ok(vec![
        ip,
        Layer {
            kind: HeaderKind::Tcp,
            bytes: seg,
            header_len,
        },
    ])
}

fn udp_layers(
    spec: &PacketSpec,
    u: &UdpSpec,
    v6: bool,
    flow_label: u32,
) -> Result<Vec<Layer>, Diagnostic> {
    if matches!(spec.ip_info.tos, TosSpec::Ecn(_)) {
        return Err(semantic("ECN can only be used with TCP packets", spec.span));
    }
    let len = udp::HEADER_LEN + usize::from(u.len);
    if ip_header_len(v6) + len > MAX_DATAGRAM {
        return Err(semantic("UDP datagram too large", spec.span));
    }
    let mut seg = vec![0u8; len];
    let ports = u.ports.map_or((0, 0), |p| (p.src, p.dst));
    udp::Repr {
        src_port: ports.0,
        dst_port: ports.1,
        payload_len: usize::from(u.len),
    }
    .emit(&mut udp::Packet::new_unchecked(&mut seg[..]));
    let ip = inner_ip_header(v6, &spec.ip_info, proto::UDP, seg.len(), flow_label);
    Ok(vec![
        ip,
        Layer {
            kind: HeaderKind::Udp,
            bytes: seg,
            header_len: udp::HEADER_LEN,
        },
    ])
}

fn icmp_layers(
    spec: &PacketSpec,
    i: &IcmpSpec,
    v6: bool,
    flow_label: u32,
) -> Result<(Vec<Layer>, Option<Echoed>), Diagnostic> {
    if spec.direction == Direction::Inbound && spec.ip_info.tos == TosSpec::Ect01 {
        return Err(semantic(
            "[ect01] can only be used with outbound packets",
            spec.span,
        ));
    }
    let ip_fixed = ip_header_len(v6);
    let (echoed_proto, seq, payload) = match i.echoed {
        IcmpEchoed::Default => (Some(proto::TCP), 0, 0),
        IcmpEchoed::Tcp(s) => (Some(proto::TCP), s.start, s.len),
        IcmpEchoed::Udp(len) => (Some(proto::UDP), 0, len),
        IcmpEchoed::Raw(len) => (None, 0, len),
    };
    let echo_id = i.id.unwrap_or(0);
    if !(0..=65535).contains(&echo_id) {
        return Err(semantic(
            "invalid echo_id, must be between 0 and 65535",
            spec.span,
        ));
    }
    let icmp_bytes = match echoed_proto {
        Some(_) => icmp::HEADER_LEN + ip_fixed + 8,
        None => usize::from(payload),
    };
    if icmp_bytes < icmp::HEADER_LEN {
        return Err(semantic(
            format!(
                "icmp_bytes {icmp_bytes} smaller than icmp header length {}",
                icmp::HEADER_LEN
            ),
            spec.span,
        ));
    }
    let room = usize::from(u16::MAX) - if v6 { 0 } else { ip_fixed };
    if icmp_bytes > room {
        return Err(semantic("ICMP packet too large", spec.span));
    }
    let code_word = i.code_name.as_ref().map(|c| c.value.as_str());
    let resolved = if v6 {
        icmpv6::resolve(&i.type_name.value, code_word)
    } else {
        icmpv4::resolve(&i.type_name.value, code_word)
    };
    let (ty, code) = resolved.map_err(|e| {
        let span = match e {
            NameError::Code(_) => i.code_name.as_ref().map_or(i.type_name.span, |c| c.span),
            NameError::Type(_) => i.type_name.span,
        };
        semantic(e.to_string(), span)
    })?;
    let mut msg = vec![0u8; icmp_bytes];
    let mut view = icmp::Packet::new_unchecked(&mut msg[..]);
    view.set_msg_type(ty);
    view.set_msg_code(code);
    if let Some(mtu) = i.mtu.filter(|&m| m >= 0) {
        if v6 {
            if (ty, code) != (icmpv6::ty::PACKET_TOO_BIG, 0) {
                return Err(semantic(
                    "ICMPv6 MTU is only valid for packet_too_big-0",
                    spec.span,
                ));
            }
            let mtu = u32::try_from(mtu)
                .map_err(|_| semantic("ICMPv6 MTU out of 32-bit range", spec.span))?;
            view.set_mtu(mtu);
        } else {
            if (ty, code) != (icmpv4::ty::DEST_UNREACH, icmpv4::CODE_FRAG_NEEDED) {
                return Err(semantic(
                    "ICMPv4 MTU is only valid for unreachable-frag_needed",
                    spec.span,
                ));
            }
            let mtu = u16::try_from(mtu)
                .map_err(|_| semantic("ICMPv4 MTU out of 16-bit range", spec.span))?;
            view.set_next_hop_mtu(mtu);
        }
    }
    if echo_id > 0 {
        view.set_echo_ident(echo_id as u16);
    }
    if let Some(p) = echoed_proto {
        // An IP header and the first 8 bytes of the L4 header; lengths as if
        // the whole original packet followed (packetdrill truncates to 16 bits).
        let l4_header = if p == proto::TCP {
            tcp::HEADER_LEN
        } else {
            udp::HEADER_LEN
        };
        let echoed_ip_bytes = (ip_fixed + l4_header + usize::from(payload)) as u16;
        let e = &mut msg[icmp::HEADER_LEN..];
        if v6 {
            let mut h = ipv6::Packet::new_unchecked(&mut e[..]);
            h.set_version(6);
            h.set_payload_len(echoed_ip_bytes.wrapping_sub(ipv6::HEADER_LEN as u16));
            h.set_next_header(p);
            h.set_hop_limit(TTL_UNCHECKED);
        } else {
            let mut h = ipv4::Packet::new_unchecked(&mut e[..]);
            h.set_version(4);
            h.set_header_len(ipv4::HEADER_LEN);
            h.set_total_len(echoed_ip_bytes);
            h.set_ttl(TTL_UNCHECKED);
            h.set_protocol(p);
        }
        if p == proto::TCP {
            e[ip_fixed + 4..ip_fixed + 8].copy_from_slice(&seq.to_be_bytes());
        }
    }
    let (kind, protocol) = if v6 {
        (HeaderKind::Icmpv6, proto::ICMPV6)
    } else {
        (HeaderKind::Icmpv4, proto::ICMP)
    };
    let ip = inner_ip_header(v6, &spec.ip_info, protocol, msg.len(), flow_label);
    Ok((
        vec![
            ip,
            Layer {
                kind,
                bytes: msg,
                header_len: icmp::HEADER_LEN,
            },
        ],
        echoed_proto.map(|protocol| Echoed { protocol }),
    ))
}

/// Concatenate the layers and finish the headers from the inside out:
/// lengths, next-protocol fields, GRE EtherTypes, IPv4 checksums.
fn assemble(layers: Vec<Layer>, echoed: Option<Echoed>) -> Result<IpPacket, String> {
    let mut bytes = Vec::new();
    let mut headers: Vec<Header> = Vec::with_capacity(layers.len());
    for l in &layers {
        headers.push(Header {
            kind: l.kind,
            offset: bytes.len(),
            header_len: l.header_len,
            total_len: l.bytes.len(),
        });
        bytes.extend_from_slice(&l.bytes);
    }
    let n = headers.len();
    // The transport layer's total is its bytes; everything else wraps the next.
    for i in (0..n.saturating_sub(1)).rev() {
        let next = headers[i + 1];
        let h = &mut headers[i];
        h.total_len = h.header_len + next.total_len;
        let at = h.offset;
        match h.kind {
            HeaderKind::Ipv4 => {
                let total = u16::try_from(h.total_len)
                    .map_err(|_| "packet too large for its IP header".to_string())?;
                let mut p = ipv4::Packet::new_unchecked(&mut bytes[at..]);
                p.set_total_len(total);
                p.set_protocol(next.kind.ip_protocol());
                p.fill_checksum();
            }
            HeaderKind::Ipv6 => {
                let len = u16::try_from(next.total_len)
                    .map_err(|_| "packet too large for its IP header".to_string())?;
                let mut p = ipv6::Packet::new_unchecked(&mut bytes[at..]);
                p.set_payload_len(len);
                p.set_next_header(next.kind.ip_protocol());
            }
            HeaderKind::Gre => {
                gre::Packet::new_unchecked(&mut bytes[at..]).set_protocol(next.kind.ethertype());
            }
            _ => {}
        }
    }
    IpPacket::from_layout(bytes, headers, echoed).map_err(|e| e.0)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::script::ast::{GreHeader, MplsEntry, Ports};
    use crate::script::Spanned;

    pub(crate) fn span() -> Span {
        Span::new(0, 1, 3, 1)
    }

    /// Script flags from their letters (`S.`, `P.`, `SEW`, `S.5`, `-`).
    pub(crate) fn flags(s: &str) -> TcpFlags {
        let mut f = TcpFlags::default();
        for c in s.chars() {
            match c {
                'F' => f.fin = true,
                'S' => f.syn = true,
                'R' => f.rst = true,
                'P' => f.psh = true,
                '.' => f.ack = true,
                'U' => f.urg = true,
                'E' => f.ece = true,
                'W' => f.cwr = true,
                'A' => f.ae = true,
                '0'..='7' => f.ace = Some(c as u8 - b'0'),
                '-' => {}
                _ => panic!("bad flag {c}"),
            }
        }
        f
    }

    pub(crate) fn opts(list: Vec<TcpOptionSpec>) -> TcpOptionsSpec {
        TcpOptionsSpec::List(list.into_iter().map(|o| Spanned::new(o, span())).collect())
    }

    pub(crate) fn tcp(
        direction: Direction,
        f: &str,
        start: u32,
        len: u16,
        ack: Option<u32>,
        win: Option<u16>,
        options: TcpOptionsSpec,
    ) -> PacketSpec {
        PacketSpec {
            direction,
            outer: vec![],
            ip_info: IpInfo::default(),
            body: PacketBody::Tcp(TcpSpec {
                psp_spi: None,
                ports: None,
                flags: Spanned::new(flags(f), span()),
                seq: SeqSpec {
                    start,
                    end: start.wrapping_add(u32::from(len)),
                    len,
                },
                ack,
                win,
                urg: None,
                options,
            }),
            span: span(),
        }
    }

    pub(crate) fn udp(direction: Direction, len: u16) -> PacketSpec {
        PacketSpec {
            direction,
            outer: vec![],
            ip_info: IpInfo::default(),
            body: PacketBody::Udp(UdpSpec { ports: None, len }),
            span: span(),
        }
    }

    pub(crate) fn icmp(
        direction: Direction,
        ty: &str,
        code: Option<&str>,
        mtu: Option<i64>,
        echoed: IcmpEchoed,
    ) -> PacketSpec {
        PacketSpec {
            direction,
            outer: vec![],
            ip_info: IpInfo::default(),
            body: PacketBody::Icmp(IcmpSpec {
                type_name: Spanned::new(ty.to_string(), span()),
                code_name: code.map(|c| Spanned::new(c.to_string(), span())),
                mtu,
                id: None,
                echoed,
            }),
            span: span(),
        }
    }

    pub(crate) fn syn_ack_options() -> TcpOptionsSpec {
        opts(vec![
            TcpOptionSpec::Mss(1460),
            TcpOptionSpec::SackOk,
            TcpOptionSpec::Timestamp { val: 100, ecr: 0 },
            TcpOptionSpec::Nop,
            TcpOptionSpec::Wscale(8),
        ])
    }

    fn build(spec: &PacketSpec) -> PacketTemplate {
        PacketTemplate::build(spec, IpVersion::Ipv4).unwrap()
    }

    fn error(spec: &PacketSpec, ip: IpVersion) -> String {
        PacketTemplate::build(spec, ip).unwrap_err().message
    }

    use Direction::{Inbound, Outbound};

    #[test]
    fn outbound_syn_ack() {
        let t = build(&tcp(
            Outbound,
            "S.",
            0,
            0,
            Some(1),
            Some(65535),
            syn_ack_options(),
        ));
        assert_eq!(
            t.short_dump(),
            "S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 8>"
        );
        let ip = t.packet.ipv4().unwrap();
        assert_eq!(
            (ip.total_len(), ip.protocol(), ip.ttl(), ip.tos()),
            (60, 6, 255, 0)
        );
        assert_eq!(ip.src_addr(), Ipv4Addr::UNSPECIFIED);
        assert_eq!(t.packet.tcp().unwrap().header_len(), 40);
        assert_eq!(
            t.checks,
            Checks {
                window: true,
                options: true,
                tos: TosCheck::None,
                ttl: None,
                ace: false
            }
        );
    }

    #[test]
    fn window_and_options_checks_follow_the_script() {
        let t = build(&tcp(
            Outbound,
            "P.",
            1,
            1000,
            Some(1),
            None,
            TcpOptionsSpec::Ellipsis(span()),
        ));
        assert!(!t.checks.window && !t.checks.options);
        assert_eq!(t.short_dump(), "P. 1:1001(1000) ack 1 ");
        assert_eq!(t.payload_len(), 1000);
        assert!(t.packet.payload().iter().all(|&b| b == 0));
        assert_eq!(t.packet.tcp().unwrap().window_len(), 0);
    }

    #[test]
    fn inbound_errors() {
        let v4 = IpVersion::Ipv4;
        assert_eq!(
            error(
                &tcp(Inbound, "S", 0, 0, None, None, TcpOptionsSpec::Absent),
                v4
            ),
            "window must be specified for inbound packets"
        );
        let ell_span = Span::new(40, 45, 4, 30);
        let d = PacketTemplate::build(
            &tcp(
                Inbound,
                ".",
                1,
                0,
                Some(1),
                Some(10),
                TcpOptionsSpec::Ellipsis(ell_span),
            ),
            v4,
        )
        .unwrap_err();
        assert_eq!(
            d.message,
            "<...> for TCP options can only be used with outbound packets"
        );
        assert_eq!(d.span.line, 4);
        assert_eq!(
            d.packetdrill_line("x.pkt"),
            "x.pkt:4: semantic error: <...> for TCP options can only be used with outbound packets"
        );
        let mut ect01 = tcp(
            Inbound,
            ".",
            1,
            0,
            Some(1),
            Some(10),
            TcpOptionsSpec::Absent,
        );
        ect01.ip_info.tos = TosSpec::Ect01;
        assert_eq!(
            error(&ect01, v4),
            "[ect01] can only be used with outbound packets"
        );
        ect01.direction = Outbound;
        assert_eq!(build(&ect01).checks.tos, TosCheck::Ect01);
    }

    #[test]
    fn option_list_errors() {
        let v4 = IpVersion::Ipv4;
        let pad = tcp(
            Outbound,
            "S",
            0,
            0,
            None,
            None,
            opts(vec![TcpOptionSpec::Wscale(7)]),
        );
        assert_eq!(
            error(&pad, v4),
            "TCP options are not padded correctly to ensure TCP header is a multiple of 4 bytes: 3 excess bytes"
        );
        let long = tcp(
            Outbound,
            "S",
            0,
            0,
            None,
            None,
            opts(vec![
                TcpOptionSpec::Sack(vec![(1, 2), (3, 4), (5, 6), (7, 8)]),
                TcpOptionSpec::Timestamp { val: 1, ecr: 2 },
            ]),
        );
        assert_eq!(error(&long, v4), "TCP option list too long");
        let md5 = tcp(
            Outbound,
            "S",
            0,
            0,
            None,
            None,
            opts(vec![TcpOptionSpec::Md5(vec![0; 17])]),
        );
        assert_eq!(error(&md5, v4), "TCP MD5 digest longer than 16 bytes");
        let fo = tcp(
            Outbound,
            "S",
            0,
            0,
            None,
            None,
            opts(vec![TcpOptionSpec::FastOpen(vec![0; 39])]),
        );
        assert_eq!(
            error(&fo, v4),
            "TCP fast open cookie of 39 bytes exceeds maximum cookie length of 38 bytes"
        );
        let foexp = tcp(
            Outbound,
            "S",
            0,
            0,
            None,
            None,
            opts(vec![TcpOptionSpec::FastOpenExp(vec![0; 37])]),
        );
        assert_eq!(
            error(&foexp, v4),
            "TCP fast open cookie of 37 bytes exceeds maximum cookie length of 36 bytes"
        );
        let ecn = tcp(
            Outbound,
            "S",
            0,
            0,
            None,
            None,
            opts(vec![TcpOptionSpec::AccEcn {
                order: AccEcnOrder::E0bFirst,
                fields: vec![1 << 24],
            }]),
        );
        assert_eq!(error(&ecn, v4), "TCP AccECN field value out of range");
    }

    #[test]
    fn accecn_flags_and_options() {
        let spec = tcp(
            Outbound,
            "S.5",
            0,
            0,
            Some(1),
            Some(65535),
            opts(vec![
                TcpOptionSpec::AccEcn {
                    order: AccEcnOrder::E0bFirst,
                    fields: vec![1, 0, 0x00ff_ffff],
                },
                TcpOptionSpec::Nop,
                TcpOptionSpec::AccEcn {
                    order: AccEcnOrder::E1bFirst,
                    fields: vec![2],
                },
                TcpOptionSpec::Nop,
                TcpOptionSpec::Nop,
                TcpOptionSpec::Nop,
            ]),
        );
        let t = build(&spec);
        assert!(t.checks.ace);
        let tcp = t.packet.tcp().unwrap();
        assert_eq!(
            (tcp.ace(), tcp.ece(), tcp.cwr(), tcp.ae()),
            (5, true, false, true)
        );
        assert_eq!(
            tcp.options(),
            &[172, 11, 0, 0, 1, 0, 0, 0, 0xff, 0xff, 0xff, 1, 174, 5, 0, 0, 2, 1, 1, 1]
        );
        assert_eq!(
            t.short_dump(),
            "S.5 0:0(0) ack 1 win 65535 <ECN e0b 1 ceb 0 e1b 16777215,nop,ECN e1b 2,nop,nop,nop>"
        );
        // A 0 digit means no ACE: all ECN flags clear, compared one by one.
        let t = build(&tcp_spec_flags("S.0"));
        assert!(!t.checks.ace);
        assert_eq!(t.packet.tcp().unwrap().ace(), 0);
        let t = build(&tcp_spec_flags("SEWA"));
        assert!(!t.checks.ace);
        assert_eq!(t.packet.tcp().unwrap().ace(), 7);
        assert_eq!(t.short_dump(), "SEWA 0:0(0) win 1 ");
    }

    fn tcp_spec_flags(f: &str) -> PacketSpec {
        tcp(Outbound, f, 0, 0, None, Some(1), TcpOptionsSpec::Absent)
    }

    #[test]
    fn ip_info_on_both_families() {
        let mut spec = tcp(Outbound, ".", 1, 0, Some(1), None, TcpOptionsSpec::Absent);
        spec.ip_info = IpInfo {
            tos: TosSpec::Ecn(Ecn::Ect0),
            flow_label: Some(0xabcde),
            ttl: None,
        };
        let v6 = PacketTemplate::build(&spec, IpVersion::Ipv6).unwrap();
        let ip = v6.packet.ipv6().unwrap();
        assert_eq!(
            (
                ip.traffic_class(),
                ip.flow_label(),
                ip.hop_limit(),
                ip.payload_len(),
                ip.next_header()
            ),
            (2, 0xabcde, 255, 20, 6)
        );
        assert_eq!(v6.checks.tos, TosCheck::Ecn(2));
        let mapped = PacketTemplate::build(&spec, IpVersion::Ipv4MappedIpv6).unwrap();
        assert!(!mapped.packet.is_ipv6());
        assert_eq!(mapped.packet.ipv4().unwrap().tos(), 2);

        spec.ip_info = IpInfo {
            tos: TosSpec::Tos(0x10),
            flow_label: None,
            ttl: Some(64),
        };
        let t = build(&spec);
        assert_eq!((t.packet.tos(), t.packet.ttl()), (0x10, 64));
        assert_eq!(t.checks.tos, TosCheck::Tos(0x10));
        assert_eq!(t.checks.ttl, Some(64));
        spec.ip_info.ttl = Some(0);
        let t = build(&spec);
        assert_eq!((t.packet.ttl(), t.checks.ttl), (255, None));
        spec.ip_info.flow_label = Some(0x100000);
        assert_eq!(
            error(&spec, IpVersion::Ipv6),
            "flowlabel out of range for 20 bits"
        );
    }

    #[test]
    fn udp_packets() {
        let t = PacketTemplate::build(&udp(Outbound, 10), IpVersion::Ipv6).unwrap();
        assert_eq!(t.short_dump(), "udp (10)");
        assert_eq!(t.packet.udp().unwrap().length(), 18);
        assert_eq!(t.packet.ipv6().unwrap().payload_len(), 18);
        let mut ecn = udp(Inbound, 1);
        ecn.ip_info.tos = TosSpec::Ecn(Ecn::Ce);
        assert_eq!(
            error(&ecn, IpVersion::Ipv4),
            "ECN can only be used with TCP packets"
        );
        // [ect01] on UDP is accepted in both directions, as in packetdrill.
        ecn.ip_info.tos = TosSpec::Ect01;
        assert!(PacketTemplate::build(&ecn, IpVersion::Ipv4).is_ok());
        assert_eq!(
            error(&udp(Outbound, 65535), IpVersion::Ipv4),
            "UDP datagram too large"
        );
        let mut ports = udp(Inbound, 4);
        ports.body = PacketBody::Udp(UdpSpec {
            ports: Some(Ports { src: 53, dst: 4000 }),
            len: 4,
        });
        let t = build(&ports);
        assert_eq!(t.facts().tuple.src, Endpoint { ip: None, port: 53 });
        assert_eq!(t.facts().transport, crate::packet::flow::Transport::Udp);
    }

    #[test]
    fn tcp_segment_too_large_and_psp() {
        assert_eq!(
            error(
                &tcp(
                    Outbound,
                    ".",
                    1,
                    65535,
                    Some(1),
                    None,
                    TcpOptionsSpec::Absent
                ),
                IpVersion::Ipv4
            ),
            "TCP segment too large"
        );
        let mut psp = tcp(Outbound, ".", 1, 0, Some(1), None, TcpOptionsSpec::Absent);
        if let PacketBody::Tcp(t) = &mut psp.body {
            t.psp_spi = Some(1);
        }
        assert_eq!(
            error(&psp, IpVersion::Ipv4),
            "attempting to use PSP without specifying its UDP port"
        );
    }

    #[test]
    fn icmp_frag_needed_with_echoed_tcp() {
        let seq = SeqSpec {
            start: 1,
            end: 1461,
            len: 1460,
        };
        let spec = icmp(
            Inbound,
            "unreachable",
            Some("frag_needed"),
            Some(1200),
            IcmpEchoed::Tcp(seq),
        );
        let t = build(&spec);
        let icmp = t.packet.icmpv4().unwrap();
        assert_eq!(
            (icmp.msg_type(), icmp.msg_code(), icmp.next_hop_mtu()),
            (3, 4, 1200)
        );
        assert_eq!(t.packet.ipv4().unwrap().total_len(), 20 + 8 + 28);
        let echoed = ipv4::Packet::new_unchecked(icmp.data());
        assert_eq!(
            (echoed.total_len(), echoed.protocol(), echoed.ttl()),
            (1500, 6, 255)
        );
        assert_eq!(t.packet.echoed_tcp_seq(), Some(1));
        assert_eq!(t.short_dump(), "icmpv4");
        assert_eq!(
            t.facts().transport,
            crate::packet::flow::Transport::Icmp {
                v6: false,
                echoed: Some(6)
            }
        );
    }

    #[test]
    fn icmpv6_packet_too_big() {
        let spec = icmp(
            Inbound,
            "packet_too_big",
            None,
            Some(1280),
            IcmpEchoed::Default,
        );
        let t = PacketTemplate::build(&spec, IpVersion::Ipv6).unwrap();
        let icmp = t.packet.icmpv6().unwrap();
        assert_eq!((icmp.msg_type(), icmp.mtu()), (2, 1280));
        let echoed = ipv6::Packet::new_unchecked(icmp.data());
        assert_eq!((echoed.payload_len(), echoed.next_header()), (20, 6));
        assert_eq!(t.packet.ipv6().unwrap().payload_len(), 8 + 48);
        assert_eq!(t.short_dump(), "icmpv6");
    }

    #[test]
    fn icmp_errors() {
        let v4 = IpVersion::Ipv4;
        assert_eq!(
            error(&icmp(Inbound, "bogus", None, None, IcmpEchoed::Default), v4),
            "bad ICMP type bogus"
        );
        assert_eq!(
            error(
                &icmp(
                    Inbound,
                    "unreachable",
                    Some("nope"),
                    None,
                    IcmpEchoed::Default
                ),
                v4
            ),
            "bad ICMP code nope"
        );
        assert_eq!(
            error(
                &icmp(Inbound, "time_exceeded", None, Some(1), IcmpEchoed::Default),
                v4
            ),
            "ICMPv4 MTU is only valid for unreachable-frag_needed"
        );
        assert_eq!(
            error(
                &icmp(
                    Inbound,
                    "unreachable",
                    Some("frag_needed"),
                    Some(70000),
                    IcmpEchoed::Default
                ),
                v4
            ),
            "ICMPv4 MTU out of 16-bit range"
        );
        assert_eq!(
            error(
                &icmp(Inbound, "unreachable", None, Some(1), IcmpEchoed::Default),
                IpVersion::Ipv6
            ),
            "ICMPv6 MTU is only valid for packet_too_big-0"
        );
        assert_eq!(
            error(
                &icmp(Inbound, "echo_request", None, None, IcmpEchoed::Raw(4)),
                v4
            ),
            "icmp_bytes 4 smaller than icmp header length 8"
        );
        let mut id = icmp(Inbound, "echo_request", None, None, IcmpEchoed::Raw(16));
        if let PacketBody::Icmp(i) = &mut id.body {
            i.id = Some(70000);
        }
        assert_eq!(
            error(&id, v4),
            "invalid echo_id, must be between 0 and 65535"
        );
        if let PacketBody::Icmp(i) = &mut id.body {
            i.id = Some(7);
        }
        let t = build(&id);
        assert_eq!(t.packet.icmpv4().unwrap().echo_ident(), 7);
        assert_eq!(t.packet.ipv4().unwrap().total_len(), 36);
        assert_eq!(t.packet.echoed(), None);
        let mut ect01 = icmp(Inbound, "echo_request", None, None, IcmpEchoed::Raw(8));
        ect01.ip_info.tos = TosSpec::Ect01;
        assert_eq!(
            error(&ect01, v4),
            "[ect01] can only be used with outbound packets"
        );
    }

    #[test]
    fn icmp_echoed_udp() {
        let t = build(&icmp(
            Inbound,
            "unreachable",
            Some("port_unreachable"),
            None,
            IcmpEchoed::Udp(10),
        ));
        let icmp = t.packet.icmpv4().unwrap();
        let echoed = ipv4::Packet::new_unchecked(icmp.data());
        assert_eq!((echoed.total_len(), echoed.protocol()), (38, 17));
        assert_eq!(t.packet.echoed(), Some(Echoed { protocol: 17 }));
        assert_eq!(t.packet.echoed_tcp_seq(), None);
    }

    #[test]
    fn encapsulation_headers() {
        let mut spec = tcp(
            Outbound,
            "S",
            0,
            0,
            None,
            Some(32792),
            TcpOptionsSpec::Absent,
        );
        spec.outer = vec![
            OuterHeader::Ipv4 {
                info: IpInfo::default(),
                src: Ipv4Addr::new(192, 168, 0, 1),
                dst: Ipv4Addr::new(192, 0, 2, 2),
            },
            OuterHeader::Gre(None),
            OuterHeader::Mpls(vec![
                MplsEntry {
                    label: 0,
                    tc: 0,
                    bottom_of_stack: false,
                    ttl: 0,
                },
                MplsEntry {
                    label: 1048575,
                    tc: 7,
                    bottom_of_stack: true,
                    ttl: 255,
                },
            ]),
        ];
        let t = build(&spec);
        assert_eq!(
            t.short_dump(),
            "ipv4 192.168.0.1 > 192.0.2.2: gre flags 0x0 proto 0x8847: \
             mpls (label 0, tc 0, ttl 0) (label 1048575, tc 7, [S], ttl 255): S 0:0(0) win 32792 "
        );
        let outer = t.packet.ipv4_at(0).unwrap();
        assert_eq!((outer.total_len(), outer.protocol()), (20 + 4 + 8 + 40, 47));
        assert!(outer.verify_checksum());
        assert_eq!(t.packet.headers().len(), 5);
        assert_eq!(t.packet.ip_header().offset, 32);
        // MPLS straight after an IP header gets protocol 0, as in packetdrill.
        spec.outer.remove(1);
        let t = build(&spec);
        assert_eq!(t.packet.ipv4_at(0).unwrap().protocol(), 0);
    }

    #[test]
    fn gre_with_key_keeps_packetdrills_layout() {
        let mut spec = tcp(Outbound, "S", 0, 0, None, Some(1), TcpOptionsSpec::Absent);
        spec.outer = vec![OuterHeader::Gre(Some(GreHeader {
            flags: gre::FLAG_KEY,
            sum: 1,
            off: 2,
            key: 3,
            seq: 4,
        }))];
        let t = build(&spec);
        assert_eq!(&t.packet.bytes()[..8], &[0x20, 0, 0x08, 0, 0, 1, 0, 2]);
        assert!(t
            .short_dump()
            .starts_with("gre flags 0x2000 proto 0x0800 key 0x10002: "));
        spec.outer = vec![OuterHeader::Gre(Some(GreHeader {
            flags: gre::FLAG_ROUTING,
            sum: 0,
            off: 0,
            key: 0,
            seq: 0,
        }))];
        assert_eq!(
            error(&spec, IpVersion::Ipv4),
            "GRE header has unsupported routing info"
        );
    }

    #[test]
    fn mpls_and_header_count_errors() {
        let entry = MplsEntry {
            label: 1,
            tc: 0,
            bottom_of_stack: false,
            ttl: 1,
        };
        let mut spec = tcp(Outbound, "S", 0, 0, None, Some(1), TcpOptionsSpec::Absent);
        spec.outer = vec![OuterHeader::Mpls(vec![entry; 7])];
        assert_eq!(error(&spec, IpVersion::Ipv4), "too many MPLS labels");
        spec.outer = vec![OuterHeader::Mpls(vec![MplsEntry {
            label: 1 << 20,
            ..entry
        }])];
        assert_eq!(
            error(&spec, IpVersion::Ipv4),
            "MPLS label out of range for 20 bits"
        );
        spec.outer = vec![OuterHeader::Gre(None); 5];
        assert_eq!(error(&spec, IpVersion::Ipv4), "too many headers");
        spec.outer = vec![OuterHeader::Gre(None); 4];
        assert!(PacketTemplate::build(&spec, IpVersion::Ipv4).is_ok());
    }

    #[test]
    fn facts_carry_script_ports_and_no_addresses() {
        let mut spec = tcp(Inbound, "S", 7, 0, None, Some(1000), TcpOptionsSpec::Absent);
        if let PacketBody::Tcp(t) = &mut spec.body {
            t.ports = Some(Ports {
                src: 1234,
                dst: 8081,
            });
        }
        let f = build(&spec).facts();
        assert_eq!(f.family, libc::AF_INET);
        assert_eq!(
            f.transport,
            crate::packet::flow::Transport::Tcp {
                syn: true,
                ack: false,
                seq: 7
            }
        );
        assert_eq!(
            f.tuple.src,
            Endpoint {
                ip: None,
                port: 1234
            }
        );
        assert_eq!(
            f.tuple.dst,
            Endpoint {
                ip: None,
                port: 8081
            }
        );
    }
}
