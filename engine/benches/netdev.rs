//! Figures for the engine's network plumbing and clock:
//!
//! * tun0 setup (`NetDev::create`) and teardown (drop, persistent or not), each in
//!   a fresh network namespace, plus the `unshare(CLONE_NEWNET)` itself;
//! * kernel round trip: inject an ICMP echo request, sniff the reply (kernel
//!   timestamp minus injection time, and how late the sniffer woke after it);
//! * lateness of `clock::sleep_until` and the cost of `clock::aligned_start`.
//!
//! `cargo bench -p netdrill-engine --bench netdev` (root; the bench moves itself
//! into a new network namespace first and never touches the host's).

use netdrill_engine::config::Config;
use netdrill_engine::run::clock;
use netdrill_engine::run::netdev::NetDev;
use netdrill_engine::run::sniffer::Sniffer;
use netdrill_engine::run::RunOptions;
use std::error::Error;
use std::net::IpAddr;
use std::time::Instant;

fn new_netns() -> Result<(), String> {
    // SAFETY: plain syscall; this process is single-threaded.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        return Err(std::io::Error::last_os_error().to_string());
    }
    Ok(())
}

fn summary(name: &str, unit: &str, mut v: Vec<f64>) {
    if v.is_empty() {
        return;
    }
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    println!(
        "{name:<44} n={:<5} p50={:>9.1}{unit} p90={:>9.1}{unit} p99={:>9.1}{unit} max={:>9.1}{unit}",
        v.len(),
        at(0.5),
        at(0.9),
        at(0.99),
        v[v.len() - 1]
    );
}

fn micros(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1e6
}

fn config(ip_version: &str) -> Config {
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
            ("ip_version", "ipv4"),
            ("local_ip", "192.168.0.1"),
            ("gateway_ip", "192.168.0.1"),
            ("remote_ip", "192.0.2.1"),
        ]
    };
    for (k, v) in flags {
        if let Err(e) = c.apply_flag(k, Some(v)) {
            panic!("--{k}={v}: {e}");
        }
    }
    c
}

fn setup_costs(ip_version: &str, persist: bool, rounds: usize) -> Result<(), Box<dyn Error>> {
    let cfg = config(ip_version);
    let addrs = cfg.finalize().map_err(|e| e.to_string())?;
    let opts = RunOptions {
        namespace_is_ours: persist,
        allow_initial_namespace: false,
        no_realtime: false,
        ..RunOptions::default()
    };
    let (mut unshare, mut create, mut drop_, mut sniffer) = (vec![], vec![], vec![], vec![]);
    for _ in 0..rounds {
        let t = Instant::now();
        new_netns()?;
        unshare.push(micros(t));
        let t = Instant::now();
        let dev = NetDev::create(&cfg, &addrs, &opts)?;
        create.push(micros(t));
        // A second sniffer, to see what closing one costs on its own.
        let extra = Sniffer::open(dev.index())?;
        let t = Instant::now();
        drop(extra);
        sniffer.push(micros(t));
        let t = Instant::now();
        drop(dev);
        drop_.push(micros(t));
    }
    let mode = if persist { "persistent" } else { "plain close" };
    summary("unshare(CLONE_NEWNET)", "µs", unshare);
    summary(&format!("NetDev::create {ip_version}"), "µs", create);
    summary(&format!("drop NetDev ({mode})"), "µs", drop_);
    summary("  of which: close an AF_PACKET socket", "µs", sniffer);
    Ok(())
}

fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn echo_request(src: IpAddr, dst: IpAddr, seq: u16) -> Option<Vec<u8>> {
    let (IpAddr::V4(s), IpAddr::V4(d)) = (src, dst) else {
        return None;
    };
    let mut icmp = vec![8, 0, 0, 0, 0x12, 0x34];
    icmp.extend_from_slice(&seq.to_be_bytes());
    icmp.extend_from_slice(&[0u8; 32]);
    let c = checksum(&icmp);
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 1, 0, 0];
    ip[2..4].copy_from_slice(&((20 + icmp.len()) as u16).to_be_bytes());
    ip.extend_from_slice(&s.octets());
    ip.extend_from_slice(&d.octets());
    let c = checksum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    ip.extend_from_slice(&icmp);
    Some(ip)
}

fn round_trips(rounds: usize) -> Result<(), Box<dyn Error>> {
    new_netns()?;
    let cfg = config("ipv4");
    let addrs = cfg.finalize().map_err(|e| e.to_string())?;
    let opts = RunOptions {
        namespace_is_ours: true,
        allow_initial_namespace: false,
        no_realtime: false,
        ..RunOptions::default()
    };
    let mut dev = NetDev::create(&cfg, &addrs, &opts)?;
    let (mut stamp, mut wake) = (vec![], vec![]);
    for seq in 0..rounds {
        let pkt = echo_request(addrs.remote_ip, addrs.local_ip, seq as u16)
            .ok_or("echo request needs IPv4")?;
        let injected = clock::now_usecs();
        dev.inject(&pkt)?;
        let deadline = injected + 1_000_000;
        loop {
            let Some(frame) = dev.next_outbound(Some(deadline), None)? else {
                return Err("no echo reply within 1 s".into());
            };
            // ICMP echo reply (type 0) to the remote address.
            if frame.bytes.get(9) == Some(&1) && frame.bytes.get(20) == Some(&0) {
                let now = clock::now_usecs();
                stamp.push((frame.unix_usecs - injected) as f64);
                wake.push((now - frame.unix_usecs) as f64);
                break;
            }
        }
        clock::sleep_until(clock::now_usecs() + 2_000);
    }
    summary("echo reply kernel stamp - injection", "µs", stamp);
    summary("sniffer wake-up after kernel stamp", "µs", wake);
    Ok(())
}

fn clock_figures(rounds: usize) {
    let t = Instant::now();
    let grid = clock::tick_grid();
    summary("tick grid measurement (first use)", "µs", vec![micros(t)]);
    println!("  {grid:?}");
    let mut cost = vec![];
    for _ in 0..rounds {
        let t = Instant::now();
        let _ = clock::aligned_start();
        cost.push(micros(t));
    }
    summary("aligned_start (grid cached)", "µs", cost);

    for gap in [100, 1_000, 4_000] {
        let mut late = vec![];
        for i in 0..rounds {
            let target = clock::now_usecs() + gap + (i as i64 % 13) * 7;
            clock::sleep_until(target);
            late.push((clock::now_usecs() - target) as f64);
        }
        summary(&format!("sleep_until lateness, {gap} µs ahead"), "µs", late);
    }
}

fn main() {
    // `cargo nextest` and `cargo test --benches` list targets this way; nothing to list.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    clock_figures(300);
    if !nix::unistd::geteuid().is_root() {
        println!("tun0 figures skipped: they need root (a network namespace and a tun device)");
        return;
    }
    let run = || -> Result<(), Box<dyn Error>> {
        setup_costs("ipv4", true, 100)?;
        setup_costs("ipv6", true, 100)?;
        setup_costs("ipv4", false, 20)?;
        round_trips(200)
    };
    if let Err(e) = run() {
        eprintln!("bench failed: {e}");
        std::process::exit(1);
    }
}
