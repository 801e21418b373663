//! Outbound verification: a sniffed packet, mapped to script space, against
//! its [`PacketTemplate`] (docs/engine/packets.md, "Outbound verification"; packetdrill's
//! `verify_outbound_live_packet`), with packetdrill's field names and
//! messages.
//!
//! Order of the checks, as packetdrill makes them: payload size, header
//! layers (count and kinds, then per header: IPv4 version, protocol, header
//! length, total length, TOS/ECN, TTL; IPv6 version, payload length, next
//! header, traffic class, hop limit; TCP data offset, flags, reserved bits,
//! seq, ack, window, urgent pointer; UDP length; ICMP type and code; GRE and
//! MPLS fields), the IPv6 flow label, TCP options, payload bytes.

use crate::outcome::Mismatch;
use crate::packet::ip_packet::{HeaderKind, IpPacket};
use crate::packet::tcp_option::{
    self, kind, option_script_syntax, options_script_syntax, RawOptions,
};
use crate::packet::{ipv4, ipv6, tcp, udp};
use crate::plan::template::{Checks, PacketTemplate, TosCheck, TTL_UNCHECKED};
use std::fmt;

/// How a live packet differs from the script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    /// What differs: a packetdrill field name (`tcp_seq`, `ipv4_total_length`,
    /// `ip_ecn`...) or a property (`tcp_options`, `payload`, `payload_len`...).
    pub field: String,
    pub expected: String,
    pub actual: String,
    /// packetdrill's text for it, e.g.
    /// `live packet field tcp_seq: expected: 1 (0x1) vs actual: 2 (0x2)`.
    pub message: String,
    /// Whether `--non_fatal=packet` turns it into a warning (header, flow
    /// label, option and payload differences); payload-size, checksum and
    /// fragment problems always end the run.
    pub recoverable: bool,
}

impl Difference {
    /// packetdrill's `check_field` failure.
    pub fn field(name: &str, expected: u32, actual: u32) -> Difference {
        Difference {
            field: name.to_string(),
            expected: expected.to_string(),
            actual: actual.to_string(),
            message: format!(
                "live packet field {name}: expected: {expected} (0x{expected:x}) vs actual: {actual} (0x{actual:x})"
            ),
            recoverable: true,
        }
    }

    fn new(
        field: &str,
        expected: impl Into<String>,
        actual: impl Into<String>,
        message: impl Into<String>,
    ) -> Difference {
        Difference {
            field: field.to_string(),
            expected: expected.into(),
            actual: actual.into(),
            message: message.into(),
            recoverable: true,
        }
    }

    fn fatal(mut self) -> Difference {
        self.recoverable = false;
        self
    }

    /// The [`Mismatch`] of a failed run, with both packets in script syntax
    /// (see [`PacketTemplate::short_dump`] and [`crate::packet::dump::short_dump`]).
    pub fn into_mismatch(self, script_packet: String, actual_packet: Option<String>) -> Mismatch {
        Mismatch {
            field: self.field,
            expected: self.expected,
            actual: self.actual,
            script_packet,
            actual_packet,
        }
    }
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Difference {}

/// Run state the comparison reads or updates.
#[derive(Debug)]
pub struct VerifyOptions<'a> {
    /// `--tcp_ts_tick_usecs`: 0 means TS val is not checked.
    pub ts_tick_usecs: i64,
    /// Allowed TS val deviation in microseconds (see [`ts_tolerance_usecs`]).
    pub ts_tolerance_usecs: i64,
    /// The socket's IPv6 flow label binding: (script label, live label) of
    /// the last checked packet with a non-zero script label.
    pub flowlabel: &'a mut Option<(u32, u32)>,
}

/// The TS val tolerance packetdrill uses for an outbound packet at script
/// time `event_usecs`: the larger of `--tolerance_usecs` and
/// `--tolerance_percent` of the time since the script start.
pub fn ts_tolerance_usecs(tolerance_usecs: i64, tolerance_percent: f64, event_usecs: i64) -> i64 {
    let dynamic = tolerance_percent / 100.0 * event_usecs as f64;
    if dynamic > tolerance_usecs as f64 {
        dynamic as i64
    } else {
        tolerance_usecs
    }
}

/// The sniffed payload must be as long as the script's (checked after
/// aggregation, before anything else): "live packet payload: expected N
/// bytes vs actual M bytes".
pub fn check_payload_len(template: &PacketTemplate, live: &IpPacket) -> Result<(), Difference> {
    let (e, a) = (template.payload_len(), live.payload_len());
    if e != a {
        return Err(Difference::new(
            "payload_len",
            e.to_string(),
            a.to_string(),
            format!("live packet payload: expected {e} bytes vs actual {a} bytes"),
        )
        .fatal());
    }
    Ok(())
}

/// Compare a live packet already mapped to script space (seq/ack/SACK, TS
/// val, tuple) with the script packet.
pub fn verify(
    template: &PacketTemplate,
    actual: &IpPacket,
    opts: &mut VerifyOptions<'_>,
) -> Result<(), Difference> {
    check_payload_len(template, actual)?;
    let script = &template.packet;
    verify_headers(actual, script, &template.checks, true)?;
    if script.is_ipv6() {
        verify_flowlabel(actual, script, opts.flowlabel)?;
    }
    if script.transport() == HeaderKind::Tcp && template.checks.options {
        verify_tcp_options(actual, script, opts)?;
    }
    if !matches!(actual.transport(), HeaderKind::Icmpv4 | HeaderKind::Icmpv6) {
        verify_payload(actual, script)?;
    }
    Ok(())
}

/// Whether a further sniffed segment may be merged with the previous one
/// (packetdrill's aggregation, docs/engine/packets.md, "Aggregation"): same header layout
/// and fields except FIN, PSH, CWR and lengths, seq right after the previous
/// payload, and (unless it completes the script's payload) the same size.
/// `sniffed_payload` is the payload gathered before `current`.
pub fn check_fragment(
    current: &IpPacket,
    previous: &IpPacket,
    sniffed_payload: usize,
    expected_total: usize,
) -> Result<(), Difference> {
    let live_checks = Checks {
        window: true,
        options: true,
        tos: TosCheck::None,
        ttl: None,
        ace: false,
    };
    verify_headers(current, previous, &live_checks, false).map_err(Difference::fatal)?;
    let cur = current.payload_len();
    let remaining = expected_total as i64 - sniffed_payload as i64;
    if (cur as i64) < remaining && cur != previous.payload_len() {
        return Err(Difference::new(
            "fragment_payload_len",
            previous.payload_len().to_string(),
            cur.to_string(),
            format!(
                "fragment payload: expected {} bytes vs actual {cur} bytes; total payload: expected {expected_total} bytes vs actual {} bytes",
                previous.payload_len(),
                cur + sniffed_payload
            ),
        )
        .fatal());
    }
    Ok(())
}

fn check(name: &str, expected: u32, actual: u32) -> Result<(), Difference> {
    if expected == actual {
        Ok(())
    } else {
        Err(Difference::field(name, expected, actual))
    }
}

/// Header by header; `strict` is false when comparing aggregation candidates.
fn verify_headers(
    actual: &IpPacket,
    script: &IpPacket,
    checks: &Checks,
    strict: bool,
) -> Result<(), Difference> {
    let (a, s) = (actual.headers(), script.headers());
    if a.len() != s.len() {
        let who = if strict {
            "live"
        } else {
            "aggregate candidate"
        };
        return Err(Difference::new(
            "header_layers",
            s.len().to_string(),
            a.len().to_string(),
            format!(
                "{who} packet header layers: expected: {} headers vs actual: {} headers",
                s.len(),
                a.len()
            ),
        ));
    }
    let allowance = if checks.options {
        0
    } else {
        actual.tcp_options_len()
    };
    for (i, (ah, sh)) in a.iter().zip(s).enumerate() {
        if ah.kind != sh.kind {
            return Err(Difference::new(
                "header_layer",
                sh.kind.name(),
                ah.kind.name(),
                format!(
                    "live packet header layer {i}: expected: {} header vs actual: {} header",
                    sh.kind.name(),
                    ah.kind.name()
                ),
            ));
        }
        match sh.kind {
            HeaderKind::Ipv4 => {
                if let (Some(ap), Some(sp)) = (actual.ipv4_at(i), script.ipv4_at(i)) {
                    verify_ipv4(&ap, &sp, checks, allowance, strict)?;
                }
            }
            HeaderKind::Ipv6 => {
                if let (Some(ap), Some(sp)) = (actual.ipv6_at(i), script.ipv6_at(i)) {
                    verify_ipv6(&ap, &sp, checks, allowance, strict)?;
                }
            }
            HeaderKind::Gre => verify_gre(actual, script, i)?,
            HeaderKind::Mpls => verify_mpls(actual, script, i)?,
            HeaderKind::Tcp => {
                if let (Some(at), Some(st)) = (actual.tcp(), script.tcp()) {
                    verify_tcp(&at, &st, checks, allowance, strict, script.payload_len())?;
                }
            }
            HeaderKind::Udp => {
                if let (Some(au), Some(su)) = (actual.udp(), script.udp()) {
                    verify_udp(&au, &su, strict)?;
                }
            }
            HeaderKind::Icmpv4 | HeaderKind::Icmpv6 => {
                if let (Some((at, ac)), Some((st, sc))) =
                    (actual.icmp_type_code(), script.icmp_type_code())
                {
                    check("icmp_type", st.into(), at.into())?;
                    check("icmp_code", sc.into(), ac.into())?;
                }
            }
        }
    }
    Ok(())
}

/// The TOS byte check of one IP layer (the script's check kind with that
/// layer's TOS byte, as packetdrill does).
fn verify_tos(check_kind: TosCheck, actual_tos: u8, script_tos: u8) -> Result<(), Difference> {
    let actual_ecn = actual_tos & 0x03;
    match check_kind {
        TosCheck::None => Ok(()),
        TosCheck::Ect01 => {
            if actual_ecn == 1 || actual_ecn == 2 {
                Ok(())
            } else {
                Err(Difference::new(
                    "ip_ecn",
                    "0x1 or 0x2",
                    format!("0x{actual_ecn:x}"),
                    format!("live packet field ip_ecn: expected: 0x1 or 0x2 vs actual: 0x{actual_ecn:x}"),
                ))
            }
        }
        TosCheck::Ecn(_) => check("ip_ecn", script_tos.into(), actual_ecn.into()),
        TosCheck::Tos(_) => check("tos", script_tos.into(), actual_tos.into()),
    }
}

fn verify_ttl(actual: u8, script: u8) -> Result<(), Difference> {
    if script == TTL_UNCHECKED {
        return Ok(());
    }
    check("ttl", script.into(), actual.into())
}

fn verify_ipv4(
    a: &ipv4::Packet<&[u8]>,
    s: &ipv4::Packet<&[u8]>,
    checks: &Checks,
    allowance: usize,
    strict: bool,
) -> Result<(), Difference> {
    check("ipv4_version", s.version().into(), a.version().into())?;
    check("ipv4_protocol", s.protocol().into(), a.protocol().into())?;
    check(
        "ipv4_header_length",
        (s.header_len() / 4) as u32,
        (a.header_len() / 4) as u32,
    )?;
    if strict {
        check(
            "ipv4_total_length",
            u32::from(s.total_len()) + allowance as u32,
            a.total_len().into(),
        )?;
    }
    verify_tos(checks.tos, a.tos(), s.tos())?;
    verify_ttl(a.ttl(), s.ttl())
}

fn verify_ipv6(
    a: &ipv6::Packet<&[u8]>,
    s: &ipv6::Packet<&[u8]>,
    checks: &Checks,
    allowance: usize,
    strict: bool,
) -> Result<(), Difference> {
    check("ipv6_version", s.version().into(), a.version().into())?;
    if strict {
        check(
            "ipv6_payload_len",
            u32::from(s.payload_len()) + allowance as u32,
            a.payload_len().into(),
        )?;
    }
    check(
        "ipv6_next_header",
        s.next_header().into(),
        a.next_header().into(),
    )?;
    verify_tos(checks.tos, a.traffic_class(), s.traffic_class())?;
    verify_ttl(a.hop_limit(), s.hop_limit())
}

fn verify_tcp(
    a: &tcp::Packet<&[u8]>,
    s: &tcp::Packet<&[u8]>,
    checks: &Checks,
    allowance: usize,
    strict: bool,
    script_payload: usize,
) -> Result<(), Difference> {
    let b = |v: bool| u32::from(v);
    check(
        "tcp_data_offset",
        u32::from(s.data_offset()) + (allowance / 4) as u32,
        a.data_offset().into(),
    )?;
    if strict {
        check("tcp_fin", b(s.fin()), b(a.fin()))?;
    }
    check("tcp_syn", b(s.syn()), b(a.syn()))?;
    check("tcp_rst", b(s.rst()), b(a.rst()))?;
    if strict {
        check("tcp_psh", b(s.psh()), b(a.psh()))?;
    }
    check("tcp_ack", b(s.ack()), b(a.ack()))?;
    check("tcp_urg", b(s.urg()), b(a.urg()))?;
    if checks.ace {
        check("tcp_ace", s.ace().into(), a.ace().into())?;
    } else {
        check("tcp_ece", b(s.ece()), b(a.ece()))?;
        if strict {
            check("tcp_cwr", b(s.cwr()), b(a.cwr()))?;
        }
        check("tcp_ae", b(s.ae()), b(a.ae()))?;
    }
    check(
        "tcp_reserved_bits",
        s.reserved().into(),
        a.reserved().into(),
    )?;
    if strict {
        check("tcp_seq", s.seq_number(), a.seq_number())?;
    } else {
        check(
            "tcp_seq",
            s.seq_number().wrapping_add(script_payload as u32),
            a.seq_number(),
        )?;
    }
    check("tcp_ack_seq", s.ack_number(), a.ack_number())?;
    if checks.window {
        check("tcp_window", s.window_len().into(), a.window_len().into())?;
    }
    check("tcp_urg_ptr", s.urgent_at().into(), a.urgent_at().into())
}

fn verify_udp(
    a: &udp::Packet<&[u8]>,
    s: &udp::Packet<&[u8]>,
    strict: bool,
) -> Result<(), Difference> {
    if strict {
        check("udp_len", s.length().into(), a.length().into())?;
    }
    Ok(())
}

fn mismatch(what: &str) -> Difference {
    Difference::new(
        what,
        "script value",
        "other value",
        format!("mismatch in {what}"),
    )
}

fn verify_gre(actual: &IpPacket, script: &IpPacket, i: usize) -> Result<(), Difference> {
    let (Some(a), Some(s)) = (actual.gre_at(i), script.gre_at(i)) else {
        return Ok(());
    };
    check("gre_len", s.header_len() as u32, a.header_len() as u32)?;
    if s.flags() != a.flags() {
        return Err(mismatch("GRE flags"));
    }
    if s.protocol() != a.protocol() {
        return Err(mismatch("GRE proto"));
    }
    let mut word = 0;
    if let (Some((ssum, soff)), Some((asum, aoff))) =
        (s.checksum_and_offset(), a.checksum_and_offset())
    {
        if ssum != asum {
            return Err(mismatch("GRE sum"));
        }
        if soff != aoff {
            return Err(mismatch("GRE off"));
        }
        word += 1;
    }
    if s.has_key() {
        if s.optional_word(word) != a.optional_word(word) {
            return Err(mismatch("GRE key"));
        }
        word += 1;
    }
    if s.has_seq() && s.optional_word(word) != a.optional_word(word) {
        return Err(mismatch("GRE seq"));
    }
    Ok(())
}

fn verify_mpls(actual: &IpPacket, script: &IpPacket, i: usize) -> Result<(), Difference> {
    let (Some(a), Some(s)) = (actual.mpls_at(i), script.mpls_at(i)) else {
        return Ok(());
    };
    if a.len() != s.len() {
        return Err(Difference::new(
            "mpls_depth",
            s.len().to_string(),
            a.len().to_string(),
            "mismatch in MPLS label stack depth",
        ));
    }
    for (n, (ae, se)) in a.iter().zip(&s).enumerate() {
        if ae != se {
            return Err(Difference::new(
                "mpls_label",
                format!("0x{:08x}", se.0),
                format!("0x{:08x}", ae.0),
                format!("mismatch in MPLS label {n}"),
            ));
        }
    }
    Ok(())
}

/// packetdrill's flow label rule: a non-zero script label binds to the
/// first live label seen with it; the same script label later must see the
/// same live label, a different one a different live label.
fn verify_flowlabel(
    actual: &IpPacket,
    script: &IpPacket,
    map: &mut Option<(u32, u32)>,
) -> Result<(), Difference> {
    let s = script.flow_label().unwrap_or(0);
    let a = actual.flow_label().unwrap_or(0);
    if s == 0 {
        return Ok(());
    }
    if a == 0 {
        return Err(Difference::new(
            "ipv6_flowlabel",
            "non-zero",
            "0",
            "flowlabel unmarked in the live packet",
        ));
    }
    match *map {
        None => {
            *map = Some((s, a));
            Ok(())
        }
        Some((ms, ml)) if s != ms => {
            if a != ml {
                *map = Some((s, a));
                Ok(())
            } else {
                Err(Difference::new(
                    "ipv6_flowlabel",
                    format!("not 0x{ml:x}"),
                    format!("0x{a:x}"),
                    "expected a different flowlabel but got the same",
                ))
            }
        }
        Some((_, ml)) => {
            if a == ml {
                Ok(())
            } else {
                Err(Difference::new(
                    "ipv6_flowlabel",
                    format!("0x{ml:x}"),
                    format!("0x{a:x}"),
                    format!("inconsistent flowlabels for this packet: expected: 0x{ml:x} vs actual: 0x{a:x}"),
                ))
            }
        }
    }
}

fn tcp_options(p: &IpPacket) -> &[u8] {
    let h = p.transport_header();
    let start = h.offset + tcp::HEADER_LEN;
    &p.bytes()[start..h.offset + h.header_len]
}

/// Options in order, kind by kind (docs/engine/packets.md, "TCP options").
fn verify_tcp_options(
    actual: &IpPacket,
    script: &IpPacket,
    opts: &VerifyOptions<'_>,
) -> Result<(), Difference> {
    let (a_area, s_area) = (tcp_options(actual), tcp_options(script));
    // A walk error ends that side's list, as packetdrill's iterator does.
    let mut a_iter = RawOptions::new(a_area).map_while(Result::ok);
    let mut s_iter = RawOptions::new(s_area).map_while(Result::ok);
    let mut index = 0;
    loop {
        let (a, s) = (a_iter.next(), s_iter.next());
        let (a, s) = match (a, s) {
            (None, None) => return Ok(()),
            (Some(a), Some(s)) if a.kind() == s.kind() => (a, s),
            _ => {
                let text = |area: &[u8]| options_script_syntax(area).unwrap_or_else(|e| e.0);
                return Err(Difference::new(
                    "tcp_options",
                    text(s_area),
                    text(a_area),
                    "bad outbound TCP options",
                ));
            }
        };
        match s.kind() {
            kind::EOL | kind::NOP => {}
            kind::TIMESTAMP => {
                let val = |p: &IpPacket| p.tcp_timestamp().ok().flatten().map_or(0, |(v, _)| v);
                let (sv, av) = (val(script), val(actual));
                let deviation = i64::from(av.wrapping_sub(sv) as i32).abs();
                if opts.ts_tick_usecs != 0
                    && deviation * opts.ts_tick_usecs > opts.ts_tolerance_usecs
                {
                    return Err(Difference::new(
                        "tcp_ts_val",
                        sv.to_string(),
                        av.to_string(),
                        format!(
                            "bad outbound TCP timestamp value, tolerance {}",
                            opts.ts_tolerance_usecs
                        ),
                    ));
                }
            }
            k => {
                let mut err_type = None;
                if s.wire_len() != a.wire_len() {
                    err_type = Some("bad length");
                }
                if s.wire_len() > 2 {
                    // packetdrill compares as many bytes as the live option has.
                    let want = a.wire_len() - 2;
                    let from = s.offset + 2;
                    let script_bytes = s_area
                        .get(from..(from + want).min(s_area.len()))
                        .unwrap_or(&[]);
                    if script_bytes.len() != want || script_bytes != a.data() {
                        err_type = Some("bad value");
                    }
                }
                if let Some(err_type) = err_type {
                    let expected = option_script_syntax(s_area, index)
                        .map_err(|e| option_error(e, s_area, a_area))?;
                    let got = option_script_syntax(a_area, index)
                        .map_err(|e| option_error(e, s_area, a_area))?;
                    return Err(Difference::new(
                        "tcp_option",
                        expected.clone(),
                        got.clone(),
                        format!("{err_type} in outbound TCP option (kind={k}): expected: {expected} actual: {got}"),
                    ));
                }
            }
        }
        index += 1;
    }
}

/// An option that differs and cannot even be printed: packetdrill reports
/// the printing error.
fn option_error(e: crate::packet::Error, s_area: &[u8], a_area: &[u8]) -> Difference {
    let text = |area: &[u8]| tcp_option::options_script_syntax(area).unwrap_or_else(|e| e.0);
    Difference::new("tcp_option", text(s_area), text(a_area), e.0)
}

fn verify_payload(actual: &IpPacket, script: &IpPacket) -> Result<(), Difference> {
    let (a, s) = (actual.payload(), script.payload());
    if let Some(i) = a.iter().zip(s).position(|(x, y)| x != y) {
        return Err(Difference::new(
            "payload",
            format!("byte {i}: 0x{:02x}", s[i]),
            format!("byte {i}: 0x{:02x}", a[i]),
            "incorrect outbound data payload",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::config::IpVersion;
    use crate::plan::template::tests::{
        flags, opts, syn_ack_options, tcp as tcp_spec, udp as udp_spec,
    };
    use crate::script::ast::{
        AccEcnOrder, Direction::Outbound, Ecn, IpInfo, PacketBody, PacketSpec, TcpOptionSpec as O,
        TcpOptionsSpec, TosSpec,
    };
    use crate::script::Spanned;

    fn template(spec: &PacketSpec, ip: IpVersion) -> PacketTemplate {
        PacketTemplate::build(spec, ip).unwrap()
    }

    /// A "live" packet: a script packet with a kernel's TTL and addresses.
    fn live(spec: &PacketSpec, ip: IpVersion) -> IpPacket {
        let mut p = template(spec, ip).packet;
        p.set_ttl(64);
        let (a, b) = if p.is_ipv6() {
            (
                "fd3d:a0b:17d6::1".parse().unwrap(),
                "fd3d:fa7b:d17d::1".parse().unwrap(),
            )
        } else {
            ("192.168.0.1".parse().unwrap(), "192.0.2.1".parse().unwrap())
        };
        p.set_tuple((a, 8080), (b, 40000)).unwrap();
        p.fill_checksums();
        p
    }

    fn run(t: &PacketTemplate, actual: &IpPacket) -> Result<(), Difference> {
        let mut map = None;
        verify(
            t,
            actual,
            &mut VerifyOptions {
                ts_tick_usecs: 0,
                ts_tolerance_usecs: 0,
                flowlabel: &mut map,
            },
        )
    }

    fn msg(t: &PacketTemplate, actual: &IpPacket) -> String {
        run(t, actual).unwrap_err().message
    }

    const V4: IpVersion = IpVersion::Ipv4;
    const V6: IpVersion = IpVersion::Ipv6;

    fn data(start: u32, len: u16, win: Option<u16>) -> PacketSpec {
        tcp_spec(
            Outbound,
            "P.",
            start,
            len,
            Some(1),
            win,
            TcpOptionsSpec::Absent,
        )
    }

    #[test]
    fn identical_packets_pass() {
        for ip in [V4, V6, IpVersion::Ipv4MappedIpv6] {
            let spec = tcp_spec(
                Outbound,
                "S.",
                0,
                0,
                Some(1),
                Some(65535),
                syn_ack_options(),
            );
            assert_eq!(run(&template(&spec, ip), &live(&spec, ip)), Ok(()));
        }
    }

    #[test]
    fn seq_and_window_messages() {
        let t = template(&data(11, 10, None), V4);
        let a = live(&data(1, 10, Some(1050)), V4);
        let d = run(&t, &a).unwrap_err();
        assert_eq!(
            d.message,
            "live packet field tcp_seq: expected: 11 (0xb) vs actual: 1 (0x1)"
        );
        assert_eq!(
            (d.field.as_str(), d.expected.as_str(), d.actual.as_str()),
            ("tcp_seq", "11", "1")
        );
        assert!(d.recoverable);
        // Without `win` in the script the window is not compared.
        assert_eq!(run(&t, &live(&data(11, 10, Some(1050)), V4)), Ok(()));
        let t = template(&data(1, 0, Some(1234)), V4);
        assert_eq!(
            msg(&t, &live(&data(1, 0, Some(65535)), V4)),
            "live packet field tcp_window: expected: 1234 (0x4d2) vs actual: 65535 (0xffff)"
        );
    }

    #[test]
    fn ack_is_always_compared() {
        let t = template(
            &tcp_spec(Outbound, ".", 1, 0, None, None, TcpOptionsSpec::Absent),
            V4,
        );
        let a = live(
            &tcp_spec(
                Outbound,
                ".",
                1,
                0,
                Some(25361),
                None,
                TcpOptionsSpec::Absent,
            ),
            V4,
        );
        assert_eq!(
            msg(&t, &a),
            "live packet field tcp_ack_seq: expected: 0 (0x0) vs actual: 25361 (0x6311)"
        );
    }

    #[test]
    fn payload_size_then_bytes() {
        let t = template(&data(1, 1000, None), V4);
        let d = run(&t, &live(&data(1, 500, None), V4)).unwrap_err();
        assert_eq!(
            d.message,
            "live packet payload: expected 1000 bytes vs actual 500 bytes"
        );
        assert!(!d.recoverable);
        let mut a = live(&data(1, 1000, None), V4);
        a.payload_mut()[7] = 1;
        let d = run(&t, &a).unwrap_err();
        assert_eq!(d.message, "incorrect outbound data payload");
        assert_eq!(d.actual, "byte 7: 0x01");
    }

    #[test]
    fn option_value_and_missing_option() {
        let mss = |v| {
            tcp_spec(
                Outbound,
                "S",
                0,
                0,
                None,
                None,
                opts(vec![O::Mss(v), O::Nop, O::Nop, O::SackOk]),
            )
        };
        let t = template(&mss(1400), V4);
        let d = run(&t, &live(&mss(1460), V4)).unwrap_err();
        assert_eq!(
            d.message,
            "bad value in outbound TCP option (kind=2): expected: mss 1400 actual: mss 1460"
        );
        assert_eq!(
            (d.expected.as_str(), d.actual.as_str()),
            ("mss 1400", "mss 1460")
        );
        // One option more: the lengths differ first.
        let more = tcp_spec(
            Outbound,
            "S",
            0,
            0,
            None,
            None,
            opts(vec![
                O::Mss(1400),
                O::Nop,
                O::Nop,
                O::SackOk,
                O::Nop,
                O::Wscale(7),
            ]),
        );
        assert_eq!(
            msg(&t, &live(&more, V4)),
            "live packet field ipv4_total_length: expected: 48 (0x30) vs actual: 52 (0x34)"
        );
        assert_eq!(
            msg(&template(&mss(1400), V6), &live(&more, V6)),
            "live packet field ipv6_payload_len: expected: 28 (0x1c) vs actual: 32 (0x20)"
        );
        // Same length, other order.
        let reordered = tcp_spec(
            Outbound,
            "S",
            0,
            0,
            None,
            None,
            opts(vec![O::Mss(1400), O::SackOk, O::Nop, O::Nop]),
        );
        let d = run(&t, &live(&reordered, V4)).unwrap_err();
        assert_eq!(d.message, "bad outbound TCP options");
        assert_eq!(d.expected, "mss 1400,nop,nop,sackOK");
        assert_eq!(d.actual, "mss 1400,sackOK,nop,nop");
    }

    #[test]
    fn option_length() {
        let md5 = |n: usize| {
            let mut list = vec![O::Md5((0..n as u8).collect())];
            list.extend(std::iter::repeat_n(O::Nop, 18 - n));
            tcp_spec(Outbound, "S", 0, 0, None, None, opts(list))
        };
        let t = template(&md5(16), V4);
        assert_eq!(
            msg(&t, &live(&md5(14), V4)),
            "bad length in outbound TCP option (kind=19): expected: md5 000102030405060708090a0b0c0d0e0f \
             actual: md5 000102030405060708090a0b0c0d"
        );
    }

    #[test]
    fn ellipsis_skips_options_but_allows_their_length() {
        let t = template(
            &tcp_spec(
                Outbound,
                "S.",
                0,
                0,
                Some(1),
                None,
                TcpOptionsSpec::Ellipsis(crate::plan::template::tests::span()),
            ),
            V4,
        );
        let a = live(
            &tcp_spec(
                Outbound,
                "S.",
                0,
                0,
                Some(1),
                Some(65535),
                syn_ack_options(),
            ),
            V4,
        );
        assert_eq!(run(&t, &a), Ok(()));
        // An option kind packetdrill does not know still fails the timestamp
        // walk the run loop makes before verifying.
        let mut mptcp = a.clone();
        let at = mptcp.transport_header().offset + 20;
        let mut bytes = mptcp.clone().into_bytes();
        bytes[at] = 30;
        mptcp = IpPacket::from_layout(bytes, mptcp.headers().to_vec(), None).unwrap();
        assert_eq!(
            mptcp.tcp_timestamp().unwrap_err().to_string(),
            "unexpected TCP option kind: 30"
        );
    }

    #[test]
    fn timestamps_val_with_tolerance_ecr_never() {
        let ts = |val, ecr| {
            tcp_spec(
                Outbound,
                ".",
                1,
                0,
                Some(1),
                None,
                opts(vec![O::Nop, O::Nop, O::Timestamp { val, ecr }]),
            )
        };
        let t = template(&ts(100, 5), V4);
        let a = live(&ts(110, 9999), V4);
        assert_eq!(run(&t, &a), Ok(()));
        let mut map = None;
        let mut o = VerifyOptions {
            ts_tick_usecs: 1000,
            ts_tolerance_usecs: 4000,
            flowlabel: &mut map,
        };
        let d = verify(&t, &a, &mut o).unwrap_err();
        assert_eq!(
            d.message,
            "bad outbound TCP timestamp value, tolerance 4000"
        );
        o.ts_tolerance_usecs = 10_000;
        assert_eq!(verify(&t, &a, &mut o), Ok(()));
        assert_eq!(ts_tolerance_usecs(4000, 12.5, 100_000), 12_500);
        assert_eq!(ts_tolerance_usecs(4000, 12.5, 1_000), 4000);
    }

    #[test]
    fn ecn_tos_and_ttl() {
        let with = |info: IpInfo| {
            let mut s = data(1, 0, None);
            s.ip_info = info;
            s
        };
        let ect0 = with(IpInfo {
            tos: TosSpec::Ecn(Ecn::Ect0),
            ..IpInfo::default()
        });
        assert_eq!(
            msg(&template(&ect0, V4), &live(&data(1, 0, None), V4)),
            "live packet field ip_ecn: expected: 2 (0x2) vs actual: 0 (0x0)"
        );
        assert_eq!(run(&template(&ect0, V6), &live(&ect0, V6)), Ok(()));
        let tos = with(IpInfo {
            tos: TosSpec::Tos(0x10),
            ..IpInfo::default()
        });
        assert_eq!(
            msg(&template(&tos, V4), &live(&data(1, 0, None), V4)),
            "live packet field tos: expected: 16 (0x10) vs actual: 0 (0x0)"
        );
        let ect01 = with(IpInfo {
            tos: TosSpec::Ect01,
            ..IpInfo::default()
        });
        let t = template(&ect01, V4);
        assert_eq!(
            msg(&t, &live(&data(1, 0, None), V4)),
            "live packet field ip_ecn: expected: 0x1 or 0x2 vs actual: 0x0"
        );
        for e in [Ecn::Ect0, Ecn::Ect1] {
            let mut a = live(&data(1, 0, None), V4);
            a.set_ecn(e as u8);
            a.fill_checksums();
            assert_eq!(run(&t, &a), Ok(()));
        }
        let ttl = with(IpInfo {
            ttl: Some(64),
            ..IpInfo::default()
        });
        let mut a = live(&data(1, 0, None), V6);
        assert_eq!(run(&template(&ttl, V6), &a), Ok(()));
        a.set_ttl(63);
        assert_eq!(
            msg(&template(&ttl, V6), &a),
            "live packet field ttl: expected: 64 (0x40) vs actual: 63 (0x3f)"
        );
    }

    #[test]
    fn ecn_flags_and_ace() {
        let f = |fl: &str| tcp_spec(Outbound, fl, 0, 0, Some(1), None, TcpOptionsSpec::Absent);
        assert_eq!(
            msg(&template(&f("S.E"), V4), &live(&f("S."), V4)),
            "live packet field tcp_ece: expected: 1 (0x1) vs actual: 0 (0x0)"
        );
        assert_eq!(
            msg(&template(&f("S.EW"), V4), &live(&f("S.E"), V4)),
            "live packet field tcp_cwr: expected: 1 (0x1) vs actual: 0 (0x0)"
        );
        assert_eq!(
            msg(&template(&f("S.A"), V4), &live(&f("S."), V4)),
            "live packet field tcp_ae: expected: 1 (0x1) vs actual: 0 (0x0)"
        );
        assert_eq!(
            msg(&template(&f("S.5"), V4), &live(&f("S.W"), V4)),
            "live packet field tcp_ace: expected: 5 (0x5) vs actual: 2 (0x2)"
        );
        assert_eq!(run(&template(&f("S.5"), V4), &live(&f("S.EA"), V4)), Ok(()));
        assert_eq!(flags("S.5").ace, Some(5));
    }

    #[test]
    fn accecn_option_values() {
        let ecn = |e0b| {
            tcp_spec(
                Outbound,
                ".",
                1,
                0,
                Some(1),
                None,
                opts(vec![
                    O::AccEcn {
                        order: AccEcnOrder::E0bFirst,
                        fields: vec![e0b, 0, 0],
                    },
                    O::Nop,
                ]),
            )
        };
        assert_eq!(
            msg(&template(&ecn(1), V4), &live(&ecn(2), V4)),
            "bad value in outbound TCP option (kind=172): expected: ECN e0b 1 ceb 0 e1b 0 actual: ECN e0b 2 ceb 0 e1b 0"
        );
        assert_eq!(run(&template(&ecn(7), V6), &live(&ecn(7), V6)), Ok(()));
    }

    #[test]
    fn header_layers() {
        // The IP header's protocol is checked before the next layer's kind.
        let t = template(&data(1, 0, None), V4);
        assert_eq!(
            msg(&t, &live(&udp_spec(Outbound, 0), V4)),
            "live packet field ipv4_protocol: expected: 6 (0x6) vs actual: 17 (0x11)"
        );
        let t = template(&udp_spec(Outbound, 10), V4);
        assert_eq!(run(&t, &live(&udp_spec(Outbound, 10), V4)), Ok(()));
        let mut gre = data(1, 0, None);
        gre.outer = vec![
            crate::script::ast::OuterHeader::Ipv4 {
                info: IpInfo::default(),
                src: "1.1.1.1".parse().unwrap(),
                dst: "2.2.2.2".parse().unwrap(),
            },
            crate::script::ast::OuterHeader::Gre(None),
        ];
        let t = template(&gre, V4);
        assert_eq!(
            msg(&t, &live(&data(1, 0, None), V4)),
            "live packet header layers: expected: 4 headers vs actual: 2 headers"
        );
        let a = t.packet.clone();
        assert_eq!(run(&t, &a), Ok(()));
    }

    #[test]
    fn icmp_type_and_code_only() {
        use crate::plan::template::tests::icmp;
        use crate::script::ast::IcmpEchoed;
        let spec = |c| icmp(Outbound, "unreachable", Some(c), None, IcmpEchoed::Default);
        let t = template(&spec("port_unreachable"), V4);
        let mut a = live(&spec("port_unreachable"), V4);
        // Whatever the echoed bytes hold, they are not compared.
        a.payload_mut()[0] = 0x99;
        assert_eq!(run(&t, &a), Ok(()));
        assert_eq!(
            msg(&t, &live(&spec("host_unreachable"), V4)),
            "live packet field icmp_code: expected: 3 (0x3) vs actual: 1 (0x1)"
        );
    }

    #[test]
    fn flow_labels_bind_then_must_stay_consistent() {
        let labelled = |l| {
            let mut s = data(1, 0, None);
            s.ip_info.flow_label = Some(l);
            s
        };
        let live_with = |l| {
            let mut p = live(&data(1, 0, None), V6);
            p.set_flow_label(l).unwrap();
            p
        };
        let mut map = None;
        let mut go = |script: u32, actual: u32| {
            verify(
                &template(&labelled(script), V6),
                &live_with(actual),
                &mut VerifyOptions {
                    ts_tick_usecs: 0,
                    ts_tolerance_usecs: 0,
                    flowlabel: &mut map,
                },
            )
            .map_err(|d| d.message)
        };
        assert_eq!(go(0, 0), Ok(()));
        assert_eq!(
            go(1, 0),
            Err("flowlabel unmarked in the live packet".into())
        );
        assert_eq!(go(1, 0x111), Ok(()));
        assert_eq!(go(1, 0x111), Ok(()));
        assert_eq!(
            go(1, 0x222),
            Err("inconsistent flowlabels for this packet: expected: 0x111 vs actual: 0x222".into())
        );
        assert_eq!(
            go(2, 0x111),
            Err("expected a different flowlabel but got the same".into())
        );
        assert_eq!(go(2, 0x333), Ok(()));
        assert_eq!(map, Some((2, 0x333)));
    }

    #[test]
    fn checksum_of_the_live_packet() {
        // (TCP/UDP checksums are left to the offload: only IPv4 headers count.)
        let mut a = live(&data(1, 0, None), V4);
        assert!(a.ipv4_checksums_ok());
        a.set_ttl(1);
        assert!(!a.ipv4_checksums_ok());
        assert!(live(&data(1, 0, None), V6).ipv4_checksums_ok());
    }

    #[test]
    fn fragments_for_aggregation() {
        let seg = |start, len, ack, f: &str| {
            let mut s = tcp_spec(
                Outbound,
                f,
                start,
                len,
                Some(ack),
                Some(100),
                TcpOptionsSpec::Absent,
            );
            if let PacketBody::Tcp(t) = &mut s.body {
                t.flags = Spanned::new(flags(f), crate::plan::template::tests::span());
            }
            live(&s, V4)
        };
        let first = seg(1, 1000, 1, ".");
        // FIN/PSH/CWR and the total length may differ between fragments.
        assert_eq!(
            check_fragment(&seg(1001, 1000, 1, "FP.W"), &first, 1000, 3000),
            Ok(())
        );
        assert_eq!(
            check_fragment(&seg(1001, 500, 1, "."), &first, 1000, 1500),
            Ok(())
        );
        let d = check_fragment(&seg(1001, 1000, 2, "."), &first, 1000, 3000).unwrap_err();
        assert_eq!(
            d.message,
            "live packet field tcp_ack_seq: expected: 1 (0x1) vs actual: 2 (0x2)"
        );
        assert!(!d.recoverable);
        assert_eq!(
            check_fragment(&seg(1002, 1000, 1, "."), &first, 1000, 3000)
                .unwrap_err()
                .message,
            "live packet field tcp_seq: expected: 1001 (0x3e9) vs actual: 1002 (0x3ea)"
        );
        assert_eq!(
            check_fragment(&seg(1001, 500, 1, "."), &first, 1000, 3000).unwrap_err().message,
            "fragment payload: expected 1000 bytes vs actual 500 bytes; total payload: expected 3000 bytes vs actual 1500 bytes"
        );
        let merged = IpPacket::aggregate(&[first, seg(1001, 1000, 1, "P.")]).unwrap();
        let t = template(
            &tcp_spec(
                Outbound,
                "P.",
                1,
                2000,
                Some(1),
                Some(100),
                TcpOptionsSpec::Absent,
            ),
            V4,
        );
        assert_eq!(run(&t, &merged), Ok(()));
    }

    #[test]
    fn difference_becomes_a_mismatch() {
        let t = template(&data(11, 0, None), V4);
        let a = live(&data(1, 0, None), V4);
        let m = run(&t, &a)
            .unwrap_err()
            .into_mismatch(t.short_dump(), Some(crate::packet::dump::short_dump(&a)));
        assert_eq!(m.field, "tcp_seq");
        assert_eq!((m.expected.as_str(), m.actual.as_str()), ("11", "1"));
        assert_eq!(m.script_packet, "P. 11:11(0) ack 1 ");
        assert_eq!(m.actual_packet.as_deref(), Some("P. 1:1(0) ack 1 win 0 "));
    }
}
