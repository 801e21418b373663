//! Property tests for the wire layer: every header view wrapped with
//! `new_unchecked` over short or hostile bytes, every accessor and setter
//! called, every `Repr::parse` and option walk tried, and none may panic.
//!
//! The bytes are random, or real packets cut short and with bytes changed,
//! viewed from every offset. What the views promise beyond not panicking
//! (`engine/src/packet/field.rs`) is checked too: a field read from a short
//! buffer is the field of that buffer padded with zeros, and setters on a
//! short buffer write what they write on the padded one, up to its end.
//!
//! Longer runs: `PROPTEST_CASES=20000 cargo test --release -p netdrill-engine --test packet_views`.

use netdrill_engine::packet::dump::{hex_dump, short_dump};
use netdrill_engine::packet::ip_packet::IpPacket;
use netdrill_engine::packet::sniffed::parse_sniffed;
use netdrill_engine::packet::tcp_option::{
    self, option_script_syntax, options_script_syntax, parse_options, RawOptions, TcpOption,
};
use netdrill_engine::packet::{gre, icmp, icmpv4, icmpv6, ipv4, ipv6, mpls, proto, tcp, udp};
use proptest::prelude::*;
use proptest::sample::select;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Zero bytes appended to a buffer to stand for "past its end".
const PAD: usize = 96;

/// Values for the setters.
#[derive(Clone, Copy, Debug)]
struct Values {
    byte: u8,
    word: u16,
    long: u32,
    len: usize,
    on: bool,
}

fn values() -> impl Strategy<Value = Values> {
    (
        any::<u8>(),
        any::<u16>(),
        any::<u32>(),
        0usize..80,
        any::<bool>(),
    )
        .prop_map(|(byte, word, long, len, on)| Values {
            byte,
            word,
            long,
            len,
            on,
        })
}

fn addrs(v: &Values) -> (IpAddr, IpAddr) {
    (
        IpAddr::V4(Ipv4Addr::from(v.long)),
        IpAddr::V6(Ipv6Addr::from((u128::from(v.long) << 64) | 1)),
    )
}

// --- every fixed field of each view, read ---

fn ipv4_fields(b: &[u8]) -> impl PartialEq + std::fmt::Debug {
    let p = ipv4::Packet::new_unchecked(b);
    (
        (p.version(), p.header_len(), p.tos(), p.ecn(), p.total_len()),
        (p.more_frags(), p.frag_offset(), p.ttl(), p.protocol()),
        (p.src_addr(), p.dst_addr()),
    )
}

fn ipv6_fields(b: &[u8]) -> impl PartialEq + std::fmt::Debug {
    let p = ipv6::Packet::new_unchecked(b);
    (
        (p.version(), p.traffic_class(), p.ecn(), p.flow_label()),
        (p.payload_len(), p.next_header(), p.hop_limit()),
        (p.src_addr(), p.dst_addr()),
    )
}

fn tcp_fields(b: &[u8]) -> impl PartialEq + std::fmt::Debug {
    let p = tcp::Packet::new_unchecked(b);
    (
        (p.src_port(), p.dst_port(), p.seq_number(), p.ack_number()),
        (p.header_len(), p.data_offset(), p.flags(), p.reserved()),
        (p.fin(), p.syn(), p.rst(), p.psh(), p.ack(), p.urg()),
        (p.ece(), p.cwr(), p.ae(), p.ace()),
        (p.window_len(), p.urgent_at()),
    )
}

fn udp_fields(b: &[u8]) -> impl PartialEq + std::fmt::Debug {
    let p = udp::Packet::new_unchecked(b);
    (p.src_port(), p.dst_port(), p.length(), p.checksum())
}

fn gre_fields(b: &[u8]) -> impl PartialEq + std::fmt::Debug {
    let p = gre::Packet::new_unchecked(b);
    (
        (p.flags(), p.version(), p.has_key(), p.has_seq()),
        (p.protocol(), p.header_len()),
    )
}

fn icmp_fields(b: &[u8]) -> impl PartialEq + std::fmt::Debug {
    let p = icmp::Packet::new_unchecked(b);
    (
        (p.msg_type(), p.msg_code(), p.checksum(), p.rest_of_header()),
        (p.echo_ident(), p.next_hop_mtu(), p.mtu()),
    )
}

// --- what depends on the buffer's length: only called, never compared ---

fn read_the_rest(b: &[u8], v: &Values) {
    let (a4, a6) = addrs(v);

    let p = ipv4::Packet::new_unchecked(b);
    let _ = (p.verify_checksum(), p.check_len(), p.check_whole_datagram());
    let _ = ipv4::Repr::parse(&p);

    let p = ipv6::Packet::new_unchecked(b);
    let _ = (p.check_len(), ipv6::Repr::parse(&p));

    let p = tcp::Packet::new_unchecked(b);
    let _ = (p.options(), p.payload(), p.check_len());
    let _ = (p.verify_checksum(&a4, &a4), p.verify_checksum(&a4, &a6));
    let _ = tcp::Repr::parse(&p);

    let p = udp::Packet::new_unchecked(b);
    let _ = (p.payload(), p.check_len(), p.verify_checksum(&a6, &a6));
    let _ = udp::Repr::parse(&p);

    let p = gre::Packet::new_unchecked(b);
    for i in [0, 1, 2, 3, v.len, usize::MAX / 4, usize::MAX] {
        let _ = p.optional_word(i);
    }
    let _ = (p.checksum_and_offset(), p.key(), p.seq(), p.check_len());
    let _ = gre::Repr::parse(&p);

    let p = icmp::Packet::new_unchecked(b);
    let _ = (p.data(), p.check_len("ICMPv4"), icmp::Repr::parse(&p));
    let _ = icmpv4::verify_checksum(&p);
    let _ = icmpv6::verify_checksum(&p, &a6, &a4);

    if let Ok(stack) = mpls::Stack::parse(b) {
        assert!(stack.header_len() <= b.len());
        let _ = stack.to_bytes();
    }

    for raw in RawOptions::any_kind(b).chain(RawOptions::new(b)).flatten() {
        let _ = (raw.kind(), raw.data(), raw.wire_len());
        if let Ok(o) = TcpOption::parse(&raw) {
            let _ = o.script_syntax();
        }
    }
    let _ = (parse_options(b), options_script_syntax(b));
    let _ = option_script_syntax(b, v.len);
}

// --- every setter, in the order a builder would call them ---

fn write_ipv4(b: &mut [u8], v: &Values) {
    let mut p = ipv4::Packet::new_unchecked(b);
    p.set_version(v.byte);
    p.set_header_len(v.len);
    p.set_tos(v.byte);
    p.set_ecn(v.byte >> 1);
    p.set_total_len(v.word);
    p.set_ident(v.word.rotate_left(3));
    p.set_flags_and_offset(v.word ^ 0x2000);
    p.set_ttl(v.byte.wrapping_add(1));
    p.set_protocol(v.byte.wrapping_add(2));
    p.set_src_addr(Ipv4Addr::from(v.long));
    p.set_dst_addr(Ipv4Addr::from(!v.long));
}

fn write_ipv6(b: &mut [u8], v: &Values) {
    let mut p = ipv6::Packet::new_unchecked(b);
    p.set_version(v.byte);
    p.set_traffic_class(v.byte.rotate_left(2));
    p.set_ecn(v.byte);
    p.set_flow_label(v.long);
    p.set_payload_len(v.word);
    p.set_next_header(v.byte.wrapping_add(1));
    p.set_hop_limit(v.byte.wrapping_add(2));
    p.set_src_addr(Ipv6Addr::from(u128::from(v.long)));
    p.set_dst_addr(Ipv6Addr::from(!u128::from(v.long)));
}

fn write_tcp(b: &mut [u8], v: &Values) {
    let mut p = tcp::Packet::new_unchecked(b);
    p.set_src_port(v.word);
    p.set_dst_port(!v.word);
    p.set_seq_number(v.long);
    p.set_ack_number(v.long.rotate_left(7));
    p.set_header_len(v.len);
    p.set_flags(v.word);
    p.set_flag(tcp::flag::CWR | tcp::flag::AE, v.on);
    p.set_window_len(v.word.rotate_left(5));
    p.set_checksum(v.word.rotate_left(9));
    p.set_urgent_at(v.word.rotate_left(11));
    p.options_mut().fill(v.byte);
}

fn write_udp(b: &mut [u8], v: &Values) {
    let mut p = udp::Packet::new_unchecked(b);
    p.set_src_port(v.word);
    p.set_dst_port(!v.word);
    p.set_length(v.word.rotate_left(3));
    p.set_checksum(v.word.rotate_left(6));
}

fn write_gre(b: &mut [u8], v: &Values) {
    gre::Packet::new_unchecked(b).set_protocol(v.word);
}

fn write_icmp(b: &mut [u8], v: &Values) {
    let mut p = icmp::Packet::new_unchecked(b);
    p.set_msg_type(v.byte);
    p.set_msg_code(!v.byte);
    p.set_checksum(v.word);
    p.set_rest_of_header(v.long.to_be_bytes());
    p.set_echo_ident(v.word.rotate_left(4));
    p.set_next_hop_mtu(v.word.rotate_left(8));
    p.set_mtu(if v.on { v.long } else { !v.long });
}

/// Setters whose result depends on the buffer's length (checksums over it,
/// areas that run to its end, emitters that refuse a short buffer): only
/// called.
fn write_the_rest(b: &mut [u8], v: &Values) {
    let (a4, a6) = addrs(v);
    ipv4::Packet::new_unchecked(&mut *b).fill_checksum();
    let mut p = tcp::Packet::new_unchecked(&mut *b);
    p.fill_checksum(&a4, &a4);
    p.fill_checksum(&a4, &a6);
    let mut p = udp::Packet::new_unchecked(&mut *b);
    p.payload_mut().fill(v.byte);
    p.fill_checksum(&a6, &a6);
    let mut p = icmp::Packet::new_unchecked(&mut *b);
    icmpv4::fill_checksum(&mut p);
    icmpv6::fill_checksum(&mut p, &a6, &a6);
    icmp::Repr {
        msg_type: v.byte,
        msg_code: 0,
        rest_of_header: [1, 2, 3, 4],
        data_len: v.len,
    }
    .emit(&mut p);
    udp::Repr {
        src_port: v.word,
        dst_port: 7,
        payload_len: v.len,
    }
    .emit(&mut udp::Packet::new_unchecked(&mut *b));
    ipv4::Repr {
        src_addr: Ipv4Addr::from(v.long),
        dst_addr: Ipv4Addr::LOCALHOST,
        protocol: proto::TCP,
        payload_len: v.len,
        ttl: v.byte,
        tos: 0,
    }
    .emit(&mut ipv4::Packet::new_unchecked(&mut *b));
    ipv6::Repr {
        src_addr: Ipv6Addr::LOCALHOST,
        dst_addr: Ipv6Addr::from(u128::from(v.long)),
        next_header: proto::UDP,
        payload_len: v.len,
        hop_limit: v.byte,
        traffic_class: 0,
        flow_label: v.long,
    }
    .emit(&mut ipv6::Packet::new_unchecked(&mut *b));
    let _ = tcp::Repr {
        src_port: 1,
        dst_port: v.word,
        seq: v.long,
        ack: 0,
        flags: v.word,
        window: 0,
        urgent: 0,
        options: vec![TcpOption::Mss(v.word), TcpOption::WindowScale(v.byte)],
        payload_len: v.len,
    }
    .emit(&mut tcp::Packet::new_unchecked(&mut *b));
}

/// A whole packet parsed with packetdrill's checks: everything the runtime
/// asks of it.
fn use_parsed(bytes: &[u8], v: &Values) {
    let _ = parse_sniffed(bytes);
    let Ok(mut p) = IpPacket::parse(bytes.to_vec()) else {
        return;
    };
    let _ = (short_dump(&p), hex_dump(p.bytes()), p.facts(), p.tuple());
    let _ = (p.tcp_timestamp(), p.echoed_tcp_seq(), p.icmp_type_code());
    let _ = (p.tos(), p.ttl(), p.flow_label(), p.payload_len());
    for i in 0..p.headers().len() {
        let _ = (p.ipv4_at(i), p.ipv6_at(i), p.gre_at(i), p.mpls_at(i));
    }
    let _ = IpPacket::aggregate(&[p.clone(), p.clone()]);
    let (a4, a6) = addrs(v);
    let _ = p.set_tuple((a4, v.word), (a6, !v.word));
    let _ = p.shift_tcp_sequence_space(v.long, v.long.rotate_left(9));
    let _ = (p.set_tcp_ts_val(v.long), p.set_tcp_ts_ecr(!v.long));
    let _ = p.set_echoed_tcp_seq(v.long);
    p.set_ecn(v.byte);
    p.fill_checksums();
}

/// Real packets, to be cut short and changed.
fn seeds() -> Vec<Vec<u8>> {
    let tcp_segment = |options: Vec<TcpOption>, payload_len: usize| {
        let r = tcp::Repr {
            src_port: 8080,
            dst_port: 40000,
            seq: 1,
            ack: 2,
            flags: tcp::flag::ACK | tcp::flag::PSH,
            window: 257,
            urgent: 0,
            options,
            payload_len,
        };
        let mut seg = vec![0xaa; r.buffer_len()];
        r.emit(&mut tcp::Packet::new_unchecked(&mut seg[..]))
            .expect("a TCP header that fits");
        seg
    };
    let ipv4 = |protocol: u8, payload: &[u8]| {
        let mut b = vec![0u8; ipv4::HEADER_LEN];
        ipv4::Repr {
            src_addr: Ipv4Addr::new(192, 0, 2, 1),
            dst_addr: Ipv4Addr::new(192, 168, 0, 1),
            protocol,
            payload_len: payload.len(),
            ttl: 64,
            tos: 2,
        }
        .emit(&mut ipv4::Packet::new_unchecked(&mut b[..]));
        b.extend_from_slice(payload);
        b
    };
    let ipv6 = |next_header: u8, payload: &[u8]| {
        let mut b = vec![0u8; ipv6::HEADER_LEN];
        ipv6::Repr {
            src_addr: "fd3d:a0b:17d6::1".parse().expect("an address"),
            dst_addr: "fd3d:fa7b:d17d::1".parse().expect("an address"),
            next_header,
            payload_len: payload.len(),
            hop_limit: 64,
            traffic_class: 0xb9,
            flow_label: 0x12345,
        }
        .emit(&mut ipv6::Packet::new_unchecked(&mut b[..]));
        b.extend_from_slice(payload);
        b
    };
    let options = vec![
        TcpOption::Nop,
        TcpOption::Nop,
        TcpOption::Timestamp { val: 5, ecr: 6 },
        TcpOption::Sack(vec![(100, 200), (300, 400)]),
        TcpOption::AccEcn {
            order: tcp_option::AccEcnOrder::E0bFirst,
            fields: vec![1, 2],
        },
    ];
    let v4_tcp = ipv4(proto::TCP, &tcp_segment(options, 5));
    let mut udp_dgram = vec![0x55u8; udp::HEADER_LEN + 4];
    udp::Repr {
        src_port: 53,
        dst_port: 4000,
        payload_len: 4,
    }
    .emit(&mut udp::Packet::new_unchecked(&mut udp_dgram[..]));
    let v6_udp = ipv6(proto::UDP, &udp_dgram);
    let mut frag_needed = vec![3, 4, 0, 0, 0, 0, 0x05, 0xdc];
    frag_needed.extend_from_slice(&v4_tcp[..ipv4::HEADER_LEN + 8]);
    let v4_icmp = ipv4(proto::ICMP, &frag_needed);
    let mut too_big = vec![2, 0, 0, 0, 0, 0, 0x05, 0x00];
    too_big.extend_from_slice(&v6_udp);
    let v6_icmp = ipv6(proto::ICMPV6, &too_big);
    let gre_header = gre::Repr {
        reserved_flags: 0,
        protocol: 0x8847,
        checksum: Some((0, 0)),
        key: Some(7),
        seq: Some(9),
    }
    .to_bytes();
    let mpls_stack = mpls::Stack {
        entries: vec![
            mpls::Entry::new(16, 1, false, 64).expect("an MPLS entry"),
            mpls::Entry::new(17, 0, true, 63).expect("an MPLS entry"),
        ],
    }
    .to_bytes();
    let inner = ipv6(proto::TCP, &tcp_segment(vec![TcpOption::Mss(1460)], 0));
    let tunnelled = ipv4(proto::GRE, &[gre_header, mpls_stack, inner].concat());
    vec![v4_tcp, v6_udp, v4_icmp, v6_icmp, tunnelled]
}

/// Random bytes, or a seed cut short with a few bytes changed.
fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
    let changed_seed = (
        select(seeds()),
        any::<prop::sample::Index>(),
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
    )
        .prop_map(|(mut b, cut, edits)| {
            for (at, byte) in edits {
                let i = at.index(b.len());
                b[i] = byte;
            }
            b.truncate(cut.index(b.len() + 1));
            b
        });
    prop_oneof![prop::collection::vec(any::<u8>(), 0..80), changed_seed]
}

proptest! {
    #[test]
    fn views_never_panic_and_read_past_the_end_as_zero(bytes in hostile_bytes(), v in values()) {
        for at in 0..=bytes.len() {
            let short = &bytes[at..];
            let mut padded = short.to_vec();
            padded.resize(short.len() + PAD, 0);
            prop_assert_eq!(ipv4_fields(short), ipv4_fields(&padded));
            prop_assert_eq!(ipv6_fields(short), ipv6_fields(&padded));
            prop_assert_eq!(tcp_fields(short), tcp_fields(&padded));
            prop_assert_eq!(udp_fields(short), udp_fields(&padded));
            prop_assert_eq!(gre_fields(short), gre_fields(&padded));
            prop_assert_eq!(icmp_fields(short), icmp_fields(&padded));
            read_the_rest(short, &v);

            let writers: [fn(&mut [u8], &Values); 6] =
                [write_ipv4, write_ipv6, write_tcp, write_udp, write_gre, write_icmp];
            for write in writers {
                let (mut s, mut p) = (short.to_vec(), padded.clone());
                write(&mut s, &v);
                write(&mut p, &v);
                prop_assert_eq!(&s[..], &p[..short.len()]);
            }
            write_the_rest(&mut short.to_vec(), &v);
        }
        use_parsed(&bytes, &v);
    }
}

#[test]
fn every_seed_parses() {
    // The seeds are real packets: the changed ones start from valid bytes.
    for seed in seeds() {
        let p = IpPacket::parse(seed.clone()).unwrap_or_else(|e| panic!("{e}: {seed:02x?}"));
        assert_eq!(p.bytes(), &seed[..]);
    }
}
