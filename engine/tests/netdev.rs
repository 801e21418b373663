//! tun0, netlink, the sniffer and the clock against the live kernel.
//!
//! Every test that touches the network runs in a network namespace of its own:
//! the visible test re-executes this test binary for one `#[ignore]`d `child_*`
//! test, with `unshare(CLONE_NEWNET)` between fork and exec, and checks that the
//! child ran and passed. The child refuses to run unless its parent started it in
//! a namespace other than the parent's, so nothing here touches the host's
//! namespace. Without root the tests print why they skip and pass.

use netdrill_engine::config::{Addresses, Config};
use netdrill_engine::run::clock;
use netdrill_engine::run::netdev::{self, NetDev, TUN_NAME};
use netdrill_engine::run::netlink::{Link, Netlink};
use netdrill_engine::run::sniffer::SniffedFrame;
use netdrill_engine::run::RunOptions;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::os::unix::process::CommandExt;
use std::process::Command;

const PARENT_NETNS_ENV: &str = "NETDRILL_TEST_PARENT_NETNS";
const CHILD_DONE: &str = "netdrill-test-child-finished";

fn netns_id() -> String {
    std::fs::read_link("/proc/self/ns/net")
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Run the ignored test `child` of this binary in a new network namespace.
fn in_own_netns(child: &str) {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipping {child}: needs root (its own network namespace and a tun device)");
        return;
    }
    let exe = std::env::current_exe().expect("test binary path");
    let mut cmd = Command::new(exe);
    cmd.args([
        child,
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(PARENT_NETNS_ENV, netns_id());
    // SAFETY: only an async-signal-safe syscall runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::unshare(libc::CLONE_NEWNET) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = match cmd.output() {
        Ok(out) => out,
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
            eprintln!("skipping {child}: no permission for a network namespace ({e})");
            return;
        }
        Err(e) => panic!("cannot start {child} in a new network namespace: {e}"),
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains(CHILD_DONE),
        "{child} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
}

/// In a child: whether it runs in a namespace its parent test made for it.
fn in_child_netns() -> bool {
    match std::env::var(PARENT_NETNS_ENV) {
        Ok(parent) => {
            assert_ne!(parent, netns_id(), "child still in its parent's namespace");
            true
        }
        Err(_) => {
            eprintln!(
                "not run: this test runs only under its parent test, in a namespace of its own"
            );
            false
        }
    }
}

fn child_done() {
    println!("{CHILD_DONE}");
}

fn ksft_config(ip_version: &str) -> Config {
    let mut c = Config::default();
    let flags: &[(&str, &str)] = if ip_version == "ipv6" {
        &[
            ("ip_version", "ipv6"),
            ("local_ip", "fd3d:0a0b:17d6::1"),
            ("gateway_ip", "fd3d:0a0b:17d6:8888::1"),
            ("remote_ip", "fd3d:fa7b:d17d::1"),
            ("mtu", "1520"),
        ]
    } else {
        &[
            ("ip_version", ip_version),
            ("local_ip", "192.168.0.1"),
            ("gateway_ip", "192.168.0.1"),
            ("remote_ip", "192.0.2.1"),
        ]
    };
    for (k, v) in flags {
        c.apply_flag(k, Some(v)).expect("ksft flag");
    }
    c
}

fn ours() -> RunOptions {
    RunOptions {
        namespace_is_ours: true,
        allow_initial_namespace: false,
        no_realtime: false,
        ..RunOptions::default()
    }
}

// ---- a minimal TCP/IP packet builder for the tests ----

fn checksum(chunks: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    let mut odd: Option<u8> = None;
    for chunk in chunks {
        for &b in chunk.iter() {
            match odd.take() {
                Some(hi) => sum += u32::from(u16::from_be_bytes([hi, b])),
                None => odd = Some(b),
            }
        }
    }
    if let Some(hi) = odd {
        sum += u32::from(u16::from_be_bytes([hi, 0]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

struct Tcp {
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    options: Vec<u8>,
    payload: Vec<u8>,
}

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const PSH: u8 = 0x08;

fn ip_tcp(src: IpAddr, dst: IpAddr, t: &Tcp) -> Vec<u8> {
    let hlen = 20 + t.options.len();
    let mut tcp = vec![0u8; hlen];
    tcp[0..2].copy_from_slice(&t.sport.to_be_bytes());
    tcp[2..4].copy_from_slice(&t.dport.to_be_bytes());
    tcp[4..8].copy_from_slice(&t.seq.to_be_bytes());
    tcp[8..12].copy_from_slice(&t.ack.to_be_bytes());
    tcp[12] = ((hlen / 4) as u8) << 4;
    tcp[13] = t.flags;
    tcp[14..16].copy_from_slice(&65535u16.to_be_bytes());
    tcp[20..].copy_from_slice(&t.options);
    tcp.extend_from_slice(&t.payload);
    let tcp_len = (tcp.len() as u32).to_be_bytes();
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let pseudo = [&s.octets()[..], &d.octets()[..], &[0, 6], &tcp_len[2..]].concat();
            let c = checksum(&[&pseudo, &tcp]);
            tcp[16..18].copy_from_slice(&c.to_be_bytes());
            let mut ip = vec![0u8; 20];
            ip[0] = 0x45;
            ip[2..4].copy_from_slice(&((20 + tcp.len()) as u16).to_be_bytes());
            ip[6] = 0x40;
            ip[8] = 64;
            ip[9] = 6;
            ip[12..16].copy_from_slice(&s.octets());
            ip[16..20].copy_from_slice(&d.octets());
            let c = checksum(&[&ip]);
            ip[10..12].copy_from_slice(&c.to_be_bytes());
            ip.extend_from_slice(&tcp);
            ip
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let pseudo = [&s.octets()[..], &d.octets()[..], &tcp_len, &[0, 0, 0, 6]].concat();
            let c = checksum(&[&pseudo, &tcp]);
            tcp[16..18].copy_from_slice(&c.to_be_bytes());
            let mut ip = vec![0u8; 40];
            ip[0] = 0x60;
            ip[4..6].copy_from_slice(&(tcp.len() as u16).to_be_bytes());
            ip[6] = 6;
            ip[7] = 64;
            ip[8..24].copy_from_slice(&s.octets());
            ip[24..40].copy_from_slice(&d.octets());
            ip.extend_from_slice(&tcp);
            ip
        }
        _ => panic!("mixed address families"),
    }
}

/// (flags, seq, ack, payload length) of a sniffed TCP packet from `sport` to `dport`.
fn tcp_fields(frame: &SniffedFrame, sport: u16, dport: u16) -> Option<(u8, u32, u32, usize)> {
    let b = &frame.bytes;
    let (l4, proto, total) = match b.first()? >> 4 {
        4 => (
            usize::from(b[0] & 0x0f) * 4,
            *b.get(9)?,
            usize::from(u16::from_be_bytes([*b.get(2)?, *b.get(3)?])),
        ),
        6 => (
            40,
            *b.get(6)?,
            40 + usize::from(u16::from_be_bytes([*b.get(4)?, *b.get(5)?])),
        ),
        _ => return None,
    };
    let t = b.get(l4..)?;
    if proto != 6 || t.len() < 20 {
        return None;
    }
    let be16 = |i: usize| u16::from_be_bytes([t[i], t[i + 1]]);
    let be32 = |i: usize| u32::from_be_bytes([t[i], t[i + 1], t[i + 2], t[i + 3]]);
    if be16(0) != sport || be16(2) != dport {
        return None;
    }
    let doff = usize::from(t[12] >> 4) * 4;
    let payload = total.saturating_sub(l4 + doff);
    Some((t[13], be32(4), be32(8), payload))
}

/// Sniff until a TCP packet from `sport` to `dport` shows up (other traffic, like
/// IPv6 router solicitations, is skipped); fails after two seconds.
fn sniff_tcp(dev: &mut NetDev, sport: u16, dport: u16) -> (SniffedFrame, (u8, u32, u32, usize)) {
    let deadline = clock::now_usecs() + 2_000_000;
    loop {
        let frame = dev
            .next_outbound(Some(deadline), None)
            .expect("sniff")
            .unwrap_or_else(|| panic!("no TCP packet {sport} > {dport} within 2 s"));
        if let Some(fields) = tcp_fields(&frame, sport, dport) {
            return (frame, fields);
        }
    }
}

const MSS_OPTION: [u8; 4] = [2, 4, 0x05, 0xb4];

/// Listen on the bind address, inject a SYN, sniff the SYN-ACK and check its
/// kernel timestamp; returns the device, the listener and the SYN-ACK's seq.
fn handshake(addrs: &Addresses, dev: &mut NetDev, rport: u16) -> (TcpListener, u32) {
    let listener =
        TcpListener::bind(SocketAddr::new(addrs.bind_ip, addrs.bind_port)).expect("listen");
    let syn = ip_tcp(
        addrs.remote_ip,
        addrs.local_ip,
        &Tcp {
            sport: rport,
            dport: addrs.bind_port,
            seq: 1000,
            ack: 0,
            flags: SYN,
            options: MSS_OPTION.to_vec(),
            payload: vec![],
        },
    );
    let before = clock::now_usecs();
    dev.inject(&syn).expect("inject SYN");
    let (frame, (flags, seq, ack, _)) = sniff_tcp(dev, addrs.bind_port, rport);
    let after = clock::now_usecs();
    assert_eq!(flags & (SYN | ACK), SYN | ACK, "not a SYN-ACK: {flags:#x}");
    assert_eq!(ack, 1001);
    assert!(
        before <= frame.unix_usecs && frame.unix_usecs <= after,
        "SYN-ACK stamped at {} outside [{before}, {after}]",
        frame.unix_usecs
    );
    (listener, seq)
}

fn syn_gets_syn_ack(ip_version: &str) {
    let config = ksft_config(ip_version);
    let addrs = config.finalize().expect("addresses");
    let mut dev = NetDev::create(&config, &addrs, &ours()).expect("create tun0");
    assert_eq!(dev.name(), TUN_NAME);
    let (_listener, _) = handshake(&addrs, &mut dev, 40_000);
}

#[test]
fn tun0_ipv4_syn_gets_syn_ack() {
    in_own_netns("child_tun0_ipv4_syn_gets_syn_ack");
}

#[test]
#[ignore = "runs inside tun0_ipv4_syn_gets_syn_ack"]
fn child_tun0_ipv4_syn_gets_syn_ack() {
    if in_child_netns() {
        syn_gets_syn_ack("ipv4");
        child_done();
    }
}

#[test]
fn tun0_ipv6_syn_gets_syn_ack() {
    in_own_netns("child_tun0_ipv6_syn_gets_syn_ack");
}

#[test]
#[ignore = "runs inside tun0_ipv6_syn_gets_syn_ack"]
fn child_tun0_ipv6_syn_gets_syn_ack() {
    if in_child_netns() {
        syn_gets_syn_ack("ipv6");
        child_done();
    }
}

#[test]
fn tun0_ipv4_mapped_ipv6_syn_gets_syn_ack() {
    in_own_netns("child_tun0_ipv4_mapped_ipv6_syn_gets_syn_ack");
}

#[test]
#[ignore = "runs inside tun0_ipv4_mapped_ipv6_syn_gets_syn_ack"]
fn child_tun0_ipv4_mapped_ipv6_syn_gets_syn_ack() {
    if in_child_netns() {
        let config = ksft_config("ipv4-mapped-ipv6");
        let addrs = config.finalize().expect("addresses");
        assert!(addrs.bind_ip.is_ipv6() && addrs.local_ip.is_ipv4());
        let mut dev = NetDev::create(&config, &addrs, &ours()).expect("create tun0");
        let (_listener, _) = handshake(&addrs, &mut dev, 40_001);
        child_done();
    }
}

#[test]
fn tun0_device_setup_is_visible_through_netlink() {
    in_own_netns("child_tun0_device_setup_is_visible_through_netlink");
}

#[test]
#[ignore = "runs inside tun0_device_setup_is_visible_through_netlink"]
fn child_tun0_device_setup_is_visible_through_netlink() {
    if !in_child_netns() {
        return;
    }
    assert!(
        !netdev::in_initial_netns(),
        "the child thinks it is in the host's namespace"
    );
    let mut config = ksft_config("ipv6");
    config.apply_flag("speed", Some("1000")).expect("speed");
    let addrs = config.finalize().expect("addresses");
    let dev = NetDev::create(&config, &addrs, &ours()).expect("create tun0");
    assert_eq!(netdev::speed(TUN_NAME), Ok(1000));
    let mut nl = Netlink::open().expect("netlink");
    let on_tun0: Vec<_> = nl
        .addresses()
        .expect("list addresses")
        .into_iter()
        .filter(|a| a.index == dev.index())
        .collect();
    assert!(
        on_tun0
            .iter()
            .any(|a| a.address == addrs.local_ip && a.prefix_len == 48),
        "{on_tun0:?}"
    );
    // (/sys shows the namespace it was mounted in: ask the kernel directly.)
    let ifr = if_ioctl(libc::SIOCGIFMTU);
    // SAFETY: SIOCGIFMTU filled in the mtu member.
    assert_eq!(unsafe { ifr.ifr_ifru.ifru_mtu }, 1520);
    let ifr = if_ioctl(libc::SIOCGIFFLAGS);
    // SAFETY: SIOCGIFFLAGS filled in the flags member.
    let flags = i32::from(unsafe { ifr.ifr_ifru.ifru_flags });
    assert_ne!(flags & libc::IFF_UP, 0, "tun0 is not up");
    assert_ne!(flags & libc::IFF_NOARP, 0, "tun0 is not NOARP");

    // Errors read like `ip`'s.
    let link = Link {
        index: dev.index(),
        name: TUN_NAME,
    };
    let err = nl
        .add_address(link, addrs.local_ip, 48)
        .expect_err("adding an address twice");
    assert_eq!(
        err,
        "netlink: adding address fd3d:a0b:17d6::1/48 to tun0: File exists"
    );
    let err = nl
        .set_mtu(
            Link {
                index: 9999,
                name: "nosuch0",
            },
            1500,
        )
        .expect_err("no such device");
    assert_eq!(err, "netlink: setting mtu 1500 on nosuch0: No such device");

    // Creating a second tun0 while this one is attached fails after packetdrill's
    // retries (about a second).
    let started = std::time::Instant::now();
    let err = NetDev::create(&config, &addrs, &ours())
        .err()
        .expect("second tun0");
    assert_eq!(err, "TUNSETIFF tun0: Device or resource busy");
    assert!(started.elapsed() >= std::time::Duration::from_millis(800));
    child_done();
}

#[test]
fn tun0_drop_keeps_or_removes_the_device() {
    in_own_netns("child_tun0_drop_keeps_or_removes_the_device");
}

#[test]
#[ignore = "runs inside tun0_drop_keeps_or_removes_the_device"]
fn child_tun0_drop_keeps_or_removes_the_device() {
    if !in_child_netns() {
        return;
    }
    let exists = || nix::net::if_::if_nametoindex(TUN_NAME).is_ok();
    let config = ksft_config("ipv4");
    let addrs = config.finalize().expect("addresses");

    // Our namespace: tun0 is left persistent for the namespace to remove, and a
    // later run in the same namespace takes it over as it is.
    let dev = NetDev::create(&config, &addrs, &ours()).expect("create tun0");
    drop(dev);
    assert!(exists(), "persistent tun0 vanished");
    let mut dev = NetDev::create(&config, &addrs, &ours()).expect("re-create tun0");
    let (_listener, _) = handshake(&addrs, &mut dev, 40_002);
    dev.close_in_background().join().expect("closing thread");
    assert!(
        exists(),
        "persistent tun0 vanished after a background close"
    );

    // Not our namespace: closing removes tun0.
    let shared = RunOptions::default();
    let dev = NetDev::create(&config, &addrs, &shared).expect("create tun0 again");
    drop(dev);
    assert!(!exists(), "tun0 outlived its close");
    child_done();
}

#[test]
fn tun0_mss_injects_gso_super_packets() {
    in_own_netns("child_tun0_mss_injects_gso_super_packets");
}

#[test]
#[ignore = "runs inside tun0_mss_injects_gso_super_packets"]
fn child_tun0_mss_injects_gso_super_packets() {
    if !in_child_netns() {
        return;
    }
    let mut config = ksft_config("ipv4");
    config.apply_flag("mss", Some("1000")).expect("mss");
    let addrs = config.finalize().expect("addresses");
    let mut dev = NetDev::create(&config, &addrs, &ours()).expect("create tun0");
    let rport = 40_003;
    let (listener, isn) = handshake(&addrs, &mut dev, rport);
    let tcp = |seq: u32, flags: u8, payload: Vec<u8>| {
        ip_tcp(
            addrs.remote_ip,
            addrs.local_ip,
            &Tcp {
                sport: rport,
                dport: addrs.bind_port,
                seq,
                ack: isn.wrapping_add(1),
                flags,
                options: vec![],
                payload,
            },
        )
    };
    dev.inject(&tcp(1001, ACK, vec![])).expect("inject ACK");
    let (mut conn, _) = listener.accept().expect("accept");

    // 3000 bytes in one packet; the GSO header (gso_size 1000 from --mss) makes
    // the kernel treat it as three 1000-byte segments, which TCP shows in its
    // receive-side MSS estimate (1460, the advertised MSS, without it).
    let data: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
    dev.inject(&tcp(1001, ACK | PSH, data.clone()))
        .expect("inject a GSO super-packet");
    let mut got = vec![0u8; data.len()];
    conn.set_read_timeout(Some(std::time::Duration::from_secs(2)))
        .expect("timeout");
    conn.read_exact(&mut got).expect("read the injected data");
    assert_eq!(got, data);
    assert_eq!(rcv_mss(&conn), 1000);

    // The kernel's answer to data is sniffed too, and its send is a GSO
    // super-packet on tun0 (TSO on): 4000 bytes in one frame.
    conn.write_all(&vec![0u8; 4000]).expect("write");
    let deadline = clock::now_usecs() + 2_000_000;
    let mut largest = 0;
    while largest < 4000 {
        let Some(frame) = dev.next_outbound(Some(deadline), None).expect("sniff") else {
            break;
        };
        if let Some((_, _, _, len)) = tcp_fields(&frame, addrs.bind_port, rport) {
            largest = largest.max(len);
        }
    }
    assert_eq!(largest, 4000, "the kernel's 4000 bytes were not one frame");
    child_done();
}

/// An interface ioctl on tun0 through a throwaway UDP socket.
fn if_ioctl(request: libc::Ioctl) -> libc::ifreq {
    let sock = std::net::UdpSocket::bind("0.0.0.0:0").expect("udp socket");
    // SAFETY: ifreq is plain old data; all-zero is a valid value.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in ifr.ifr_name.iter_mut().zip(TUN_NAME.bytes()) {
        *d = s as libc::c_char;
    }
    use std::os::fd::AsRawFd;
    // SAFETY: the interface ioctls used here read and write one struct ifreq.
    let r = unsafe { libc::ioctl(sock.as_raw_fd(), request, &mut ifr as *mut libc::ifreq) };
    assert_eq!(r, 0, "ioctl on tun0: {}", std::io::Error::last_os_error());
    ifr
}

fn rcv_mss(conn: &std::net::TcpStream) -> u32 {
    use std::os::fd::AsRawFd;
    // SAFETY: tcp_info is plain old data; getsockopt writes at most `len` bytes.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    let r = unsafe {
        libc::getsockopt(
            conn.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&mut info as *mut libc::tcp_info).cast(),
            &mut len,
        )
    };
    assert_eq!(r, 0, "TCP_INFO: {}", std::io::Error::last_os_error());
    info.tcpi_rcv_mss
}

#[test]
fn sniffer_waits_until_its_deadline() {
    in_own_netns("child_sniffer_waits_until_its_deadline");
}

#[test]
#[ignore = "runs inside sniffer_waits_until_its_deadline"]
fn child_sniffer_waits_until_its_deadline() {
    if !in_child_netns() {
        return;
    }
    let config = ksft_config("ipv4");
    let addrs = config.finalize().expect("addresses");
    let mut dev = NetDev::create(&config, &addrs, &ours()).expect("create tun0");
    let start = clock::now_usecs();
    let deadline = start + 30_000;
    // tun0 may still send an IPv6 router solicitation of its own: skip those.
    while dev.sniffer().next(Some(deadline)).expect("sniff").is_some() {}
    let end = clock::now_usecs();
    assert!(end >= deadline, "returned {} µs early", deadline - end);
    // Generous: other tests share the two cores.
    assert!(
        end - deadline < 250_000,
        "returned {} µs late",
        end - deadline
    );
    // A deadline in the past returns at once.
    assert!(dev
        .sniffer()
        .next(Some(start - 1))
        .expect("sniff")
        .is_none());
    child_done();
}

#[test]
fn sniffer_wakes_for_a_returned_call() {
    in_own_netns("child_sniffer_wakes_for_a_returned_call");
}

#[test]
#[ignore = "runs inside sniffer_wakes_for_a_returned_call"]
fn child_sniffer_wakes_for_a_returned_call() {
    use std::os::fd::AsFd;
    if !in_child_netns() {
        return;
    }
    let config = ksft_config("ipv4");
    let addrs = config.finalize().expect("addresses");
    let mut dev = NetDev::create(&config, &addrs, &ours()).expect("create tun0");
    let wake = nix::sys::eventfd::EventFd::from_value_and_flags(
        0,
        nix::sys::eventfd::EfdFlags::EFD_NONBLOCK,
    )
    .expect("eventfd");
    let start = clock::now_usecs();
    let deadline = start + 5_000_000;
    // Not yet readable: waits until the (short) deadline.
    while dev
        .next_outbound(Some(start + 20_000), Some(wake.as_fd()))
        .expect("sniff")
        .is_some()
    {}
    assert!(clock::now_usecs() >= start + 20_000, "returned early");
    // A call returning (its eventfd readable) ends the wait at once, long
    // before the deadline.
    wake.write(1).expect("eventfd write");
    let before = clock::now_usecs();
    while dev
        .next_outbound(Some(deadline), Some(wake.as_fd()))
        .expect("sniff")
        .is_some()
    {}
    let waited = clock::now_usecs() - before;
    assert!(
        waited < 1_000_000,
        "waited {waited} µs for a readable eventfd"
    );
    child_done();
}
