//! packetdrill's configuration: its command-line flags, the same flags written
//! as `--name=value` lines at the top of a script, and the final addresses
//! derived from them (docs/engine/flags-and-addresses.md).
//!
//! Precedence is packetdrill's: defaults, then the script's option lines, then
//! the command line again (the command line wins), then [`Config::finalize`].

use crate::script::options::FLAGS;
use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// `--ip_version`
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum IpVersion {
    #[serde(rename = "ipv4")]
    Ipv4,
    #[serde(rename = "ipv4-mapped-ipv6")]
    Ipv4MappedIpv6,
    #[serde(rename = "ipv6")]
    Ipv6,
}

impl IpVersion {
    pub const ALL: [IpVersion; 3] = [IpVersion::Ipv4, IpVersion::Ipv4MappedIpv6, IpVersion::Ipv6];

    pub fn as_str(self) -> &'static str {
        match self {
            IpVersion::Ipv4 => "ipv4",
            IpVersion::Ipv4MappedIpv6 => "ipv4-mapped-ipv6",
            IpVersion::Ipv6 => "ipv6",
        }
    }

    pub fn parse(s: &str) -> Option<IpVersion> {
        IpVersion::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Whether packets on the wire are IPv6.
    pub fn wire_is_ipv6(self) -> bool {
        self == IpVersion::Ipv6
    }

    /// Whether sockets are AF_INET6.
    pub fn socket_is_ipv6(self) -> bool {
        self != IpVersion::Ipv4
    }
}

impl fmt::Display for IpVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A bad flag value. `Display` gives packetdrill's text after the `where: ` prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlagError {
    pub message: String,
}

impl fmt::Display for FlagError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FlagError {}

fn bad(flag: &str, value: &str) -> FlagError {
    FlagError {
        message: format!("bad --{flag}: {value}"),
    }
}

/// The configuration of one packetdrill run.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Config {
    /// `None` until finalized: then packetdrill's default (ipv4 here).
    pub ip_version: Option<IpVersion>,
    pub bind_port: u16,
    pub connect_port: u16,
    pub local_ip: Option<String>,
    /// As given, possibly with `/prefix`.
    pub remote_ip: Option<String>,
    pub gateway_ip: Option<String>,
    pub netmask_ip: Option<String>,
    pub speed: Option<u32>,
    /// `--mss`: gso_size of injected TCP packets (0 = off).
    pub mss: u32,
    pub mtu: u32,
    pub init_scripts: Option<String>,
    pub tolerance_usecs: i64,
    pub tolerance_percent: f64,
    pub tcp_ts_ecr_scaled: bool,
    pub tcp_ts_tick_usecs: i64,
    pub strict_segments: bool,
    pub non_fatal_packet: bool,
    pub non_fatal_syscall: bool,
    pub dry_run: bool,
    pub is_anyip: bool,
    pub send_omit_free: bool,
    pub verbose: bool,
    pub debug: bool,
    pub code_command: String,
    pub code_format: String,
    pub code_sockopt: String,
    /// `-D NAME=VALUE`, value as given (`"str"`, `` `cmd` ``, a number or a word).
    pub defines: BTreeMap<String, String>,
    /// Flags accepted for compatibility but without effect in local mode.
    pub ignored: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            ip_version: None,
            bind_port: 8080,
            connect_port: 8080,
            local_ip: None,
            remote_ip: None,
            gateway_ip: None,
            netmask_ip: None,
            speed: None,
            mss: 0,
            mtu: 1500,
            init_scripts: None,
            tolerance_usecs: 4000,
            tolerance_percent: 12.5,
            tcp_ts_ecr_scaled: false,
            tcp_ts_tick_usecs: 0,
            strict_segments: false,
            non_fatal_packet: false,
            non_fatal_syscall: false,
            dry_run: false,
            is_anyip: false,
            send_omit_free: false,
            verbose: false,
            debug: false,
            code_command: "python3".into(),
            code_format: "python".into(),
            code_sockopt: String::new(),
            defines: BTreeMap::new(),
            ignored: Vec::new(),
        }
    }
}

/// C's `atoi`/`atol`: optional spaces and sign, then leading digits; anything else ignored.
fn atol(s: &str) -> i64 {
    let s = s.trim_start();
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut v: i64 = 0;
    for b in digits.bytes() {
        if !b.is_ascii_digit() {
            break;
        }
        v = v.saturating_mul(10).saturating_add((b - b'0') as i64);
    }
    if neg {
        -v
    } else {
        v
    }
}

/// C's `atoi`: `atol` truncated to 32 bits.
fn atoi(s: &str) -> i64 {
    atol(s) as i32 as i64
}

/// C's `atof` for the forms a flag value may take.
fn atof(s: &str) -> f64 {
    let s = s.trim_start();
    let end = s
        .char_indices()
        .take_while(|(i, c)| {
            c.is_ascii_digit() || *c == '.' || ((*c == '-' || *c == '+') && *i == 0)
        })
        .last()
        .map(|(i, c)| i + c.len_utf8())
        .unwrap_or(0);
    s[..end].parse().unwrap_or(0.0)
}

impl Config {
    /// Apply one flag (`name` without `--`). `value` is `None` for flags without one.
    pub fn apply_flag(&mut self, name: &str, value: Option<&str>) -> Result<(), FlagError> {
        let v = value.unwrap_or("");
        let port = |flag: &str| -> Result<u16, FlagError> {
            let p = atoi(v);
            if p <= 0 || p > 0xffff {
                Err(bad(flag, v))
            } else {
                Ok(p as u16)
            }
        };
        match name {
            "ip_version" => {
                self.ip_version = Some(IpVersion::parse(v).ok_or_else(|| bad(name, v))?)
            }
            "bind_port" => self.bind_port = port(name)?,
            "connect_port" => self.connect_port = port(name)?,
            "code_command" => self.code_command = v.into(),
            "code_format" => self.code_format = v.into(),
            "code_sockopt" => self.code_sockopt = v.into(),
            "remote_ip" => self.remote_ip = Some(v.into()),
            "local_ip" => self.local_ip = Some(v.into()),
            "gateway_ip" => self.gateway_ip = Some(v.into()),
            "netmask_ip" => self.netmask_ip = Some(v.into()),
            "mss" => {
                let m = atoi(v);
                if m <= 0 {
                    return Err(bad(name, v));
                }
                self.mss = m as u32;
            }
            "mtu" => {
                let m = atoi(v);
                if m < 0 {
                    return Err(bad(name, v));
                }
                self.mtu = m as u32;
            }
            "init_scripts" => self.init_scripts = Some(v.into()),
            "non_fatal" => {
                for token in v.split([',', ' ']).filter(|t| !t.is_empty()) {
                    match token {
                        "packet" => self.non_fatal_packet = true,
                        "syscall" => self.non_fatal_syscall = true,
                        _ => {}
                    }
                }
            }
            "speed" => {
                let speed: u32 = v.parse().map_err(|_| bad(name, v))?;
                self.speed = Some(speed);
            }
            "tolerance_usecs" => {
                let t = atol(v);
                if t <= 0 {
                    return Err(bad(name, v));
                }
                self.tolerance_usecs = t;
            }
            "tolerance_percent" => {
                let p = atof(v);
                if !(0.0..=100.0).contains(&p) {
                    return Err(bad(name, v));
                }
                self.tolerance_percent = p;
            }
            "tcp_ts_ecr_scaled" => self.tcp_ts_ecr_scaled = true,
            "tcp_ts_tick_usecs" => {
                let t = atoi(v);
                if !(0..=1_000_000).contains(&t) {
                    return Err(bad(name, v));
                }
                self.tcp_ts_tick_usecs = t;
            }
            "strict_segments" => self.strict_segments = true,
            "dry_run" => self.dry_run = true,
            "is_anyip" => self.is_anyip = true,
            "send_omit_free" => self.send_omit_free = true,
            "debug" => self.debug = true,
            "verbose" => self.verbose = true,
            "define" => {
                let (sym, val) = match v.find('=') {
                    Some(i) if i > 0 => (&v[..i], &v[i + 1..]),
                    _ => {
                        return Err(FlagError {
                            message: format!("bad definition: {v}"),
                        })
                    }
                };
                self.defines.insert(sym.into(), val.into());
            }
            "psp_udp_port" => {
                port(name)?;
                return Err(FlagError {
                    message: "PSP requires wireserver mode (use --wire_client or --wire_server)"
                        .into(),
                });
            }
            "wire_client" | "wire_server" | "wire_server_ip" | "wire_server_at" | "so_filename" => {
                return Err(FlagError {
                    message: format!("--{name} is not supported by netdrill (local mode only)"),
                })
            }
            "wire_server_port" => {
                port(name)?;
                self.ignored.push(name.into());
            }
            "wire_client_dev" | "wire_server_dev" | "so_flags" => self.ignored.push(name.into()),
            _ => {
                return Err(FlagError {
                    message: format!("option '{name}' unknown"),
                })
            }
        }
        Ok(())
    }

    /// The IP version after finalization (packetdrill's default is ipv4 here).
    pub fn ip(&self) -> IpVersion {
        self.ip_version.unwrap_or(IpVersion::Ipv4)
    }

    /// Fill in defaults and compute the addresses of the run.
    pub fn finalize(&self) -> Result<Addresses, FlagError> {
        Addresses::from_config(self)
    }
}

/// The live addresses of a run (docs/engine/flags-and-addresses.md,
/// "IP versions" and "Addresses").
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Addresses {
    pub ip_version: IpVersion,
    /// Put on tun0.
    pub local_ip: IpAddr,
    /// Prefix length of `local_ip` on tun0.
    pub local_prefix_len: u8,
    /// The peer.
    pub remote_ip: IpAddr,
    /// The route to the peer: `remote_prefix/remote_prefix_len` via `gateway_ip` on tun0.
    pub remote_prefix: IpAddr,
    pub remote_prefix_len: u8,
    pub gateway_ip: IpAddr,
    /// What sockets bind to / connect to (`::ffff:a.b.c.d` for ipv4-mapped-ipv6).
    pub bind_ip: IpAddr,
    pub connect_ip: IpAddr,
    pub bind_port: u16,
    pub connect_port: u16,
}

fn parse_v4(what: &str, s: &str) -> Result<Ipv4Addr, FlagError> {
    s.parse().map_err(|_| FlagError {
        message: format!("bad IPv4 address for --{what}: {s}"),
    })
}

fn parse_v6(what: &str, s: &str) -> Result<Ipv6Addr, FlagError> {
    s.parse().map_err(|_| FlagError {
        message: format!("bad IPv6 address for --{what}: {s}"),
    })
}

fn split_prefix(s: &str) -> (&str, Option<&str>) {
    match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    }
}

fn netmask_to_prefix(mask: Ipv4Addr) -> u8 {
    u32::from(mask).leading_ones() as u8
}

/// A pseudo-random u32 for packetdrill's randomized default local address.
fn random_u32() -> u32 {
    let mut buf = [0u8; 4];
    // SAFETY: getrandom writes at most buf.len() bytes into buf.
    let n = unsafe { libc::getrandom(buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n == 4 {
        u32::from_ne_bytes(buf)
    } else {
        std::process::id().wrapping_mul(2_654_435_761)
    }
}

impl Addresses {
    fn from_config(c: &Config) -> Result<Addresses, FlagError> {
        let ip_version = c.ip();
        match ip_version {
            IpVersion::Ipv4 | IpVersion::Ipv4MappedIpv6 => {
                let netmask = parse_v4(
                    "netmask_ip",
                    c.netmask_ip.as_deref().unwrap_or("255.255.0.0"),
                )?;
                let prefix_len = netmask_to_prefix(netmask);
                let local = match &c.local_ip {
                    Some(s) => parse_v4("local_ip", s)?,
                    None => {
                        // 192.168.0.0/netmask, avoiding .0, the gateway .1 and broadcast.
                        let host_bits = 32 - prefix_len as u32;
                        let span = if host_bits >= 32 {
                            u32::MAX
                        } else {
                            (1u32 << host_bits) - 1
                        };
                        let base = u32::from(Ipv4Addr::new(192, 168, 0, 0)) & u32::from(netmask);
                        let host = if span > 3 {
                            2 + random_u32() % (span - 2)
                        } else {
                            2
                        };
                        Ipv4Addr::from(base | (host & span))
                    }
                };
                let (remote_s, remote_len) =
                    split_prefix(c.remote_ip.as_deref().unwrap_or("192.0.2.1/24"));
                let remote = parse_v4("remote_ip", remote_s)?;
                let remote_len: u8 = match remote_len {
                    Some(p) => p
                        .parse()
                        .ok()
                        .filter(|&l| l <= 32)
                        .ok_or_else(|| bad("remote_ip", remote_s))?,
                    None => 32,
                };
                let mask = if remote_len == 0 {
                    0
                } else {
                    u32::MAX << (32 - remote_len as u32)
                };
                let remote_prefix = Ipv4Addr::from(u32::from(remote) & mask);
                let gateway = parse_v4(
                    "gateway_ip",
                    c.gateway_ip.as_deref().unwrap_or("192.168.0.1"),
                )?;
                let (bind_ip, connect_ip) = if ip_version == IpVersion::Ipv4 {
                    (IpAddr::V4(local), IpAddr::V4(remote))
                } else {
                    (
                        IpAddr::V6(local.to_ipv6_mapped()),
                        IpAddr::V6(remote.to_ipv6_mapped()),
                    )
                };
                Ok(Addresses {
                    ip_version,
                    local_ip: IpAddr::V4(local),
                    local_prefix_len: prefix_len,
                    remote_ip: IpAddr::V4(remote),
                    remote_prefix: IpAddr::V4(remote_prefix),
                    remote_prefix_len: remote_len,
                    gateway_ip: IpAddr::V4(gateway),
                    bind_ip,
                    connect_ip,
                    bind_port: c.bind_port,
                    connect_port: c.connect_port,
                })
            }
            IpVersion::Ipv6 => {
                let local = match &c.local_ip {
                    Some(s) => parse_v6("local_ip", s)?,
                    None => {
                        let base = u128::from("fd3d:fa7b:d17d::".parse::<Ipv6Addr>().unwrap());
                        Ipv6Addr::from(base | random_u32() as u128)
                    }
                };
                let (remote_s, remote_len) =
                    split_prefix(c.remote_ip.as_deref().unwrap_or("2001:DB8::1/32"));
                let remote = parse_v6("remote_ip", remote_s)?;
                let remote_len: u8 = match remote_len {
                    Some(p) => p
                        .parse()
                        .ok()
                        .filter(|&l| l <= 128)
                        .ok_or_else(|| bad("remote_ip", remote_s))?,
                    None => 128,
                };
                let mask = if remote_len == 0 {
                    0
                } else {
                    u128::MAX << (128 - remote_len as u32)
                };
                let remote_prefix = Ipv6Addr::from(u128::from(remote) & mask);
                let gateway = parse_v6(
                    "gateway_ip",
                    c.gateway_ip.as_deref().unwrap_or("fd3d:fa7b:d17d:8888::"),
                )?;
                Ok(Addresses {
                    ip_version,
                    local_ip: IpAddr::V6(local),
                    local_prefix_len: 48,
                    remote_ip: IpAddr::V6(remote),
                    remote_prefix: IpAddr::V6(remote_prefix),
                    remote_prefix_len: remote_len,
                    gateway_ip: IpAddr::V6(gateway),
                    bind_ip: IpAddr::V6(local),
                    connect_ip: IpAddr::V6(remote),
                    bind_port: c.bind_port,
                    connect_port: c.connect_port,
                })
            }
        }
    }
}

/// What went wrong on a packetdrill-style command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CliError {
    /// A flag packetdrill does not know, or a value missing / forbidden.
    Usage(String),
    /// A known flag with a bad value (packetdrill: `Command Line: bad --x: v`).
    Flag(FlagError),
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Usage(m) => f.write_str(m),
            CliError::Flag(e) => write!(f, "Command Line: {e}"),
        }
    }
}

impl std::error::Error for CliError {}

/// One flag as it appeared on the command line.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CliFlag {
    pub name: String,
    pub value: Option<String>,
}

/// Split a packetdrill command line (without `argv[0]`) into flags and script paths,
/// with `getopt_long` rules: `--name=value`, `--name value`, unique prefixes of
/// long names, `-v`, `-D X=Y`/`-DX=Y`, `--` ends the flags, and flags may follow paths.
pub fn split_command_line(args: &[String]) -> Result<(Vec<CliFlag>, Vec<String>), CliError> {
    let mut flags = Vec::new();
    let mut paths = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if arg == "--" {
            paths.extend(args[i..].iter().cloned());
            break;
        }
        if let Some(long) = arg.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let exact = FLAGS.iter().find(|(n, _)| *n == name);
            let candidates: Vec<_> = FLAGS.iter().filter(|(n, _)| n.starts_with(name)).collect();
            let (full, takes) = match (exact, candidates.as_slice()) {
                (Some(f), _) => *f,
                (None, [one]) => **one,
                (None, []) => {
                    return Err(CliError::Usage(format!("unrecognized option '--{name}'")))
                }
                (None, _) => {
                    return Err(CliError::Usage(format!("option '--{name}' is ambiguous")))
                }
            };
            let value = if takes {
                match inline {
                    Some(v) => Some(v),
                    None if i < args.len() => {
                        i += 1;
                        Some(args[i - 1].clone())
                    }
                    None => {
                        return Err(CliError::Usage(format!(
                            "option '--{full}' requires an argument"
                        )))
                    }
                }
            } else {
                if inline.is_some() {
                    return Err(CliError::Usage(format!(
                        "option '--{full}' doesn't allow an argument"
                    )));
                }
                None
            };
            flags.push(CliFlag {
                name: full.into(),
                value,
            });
        } else if arg.len() > 1 && arg.starts_with('-') {
            let mut chars = arg[1..].char_indices();
            for (pos, c) in chars.by_ref() {
                match c {
                    'v' => flags.push(CliFlag {
                        name: "verbose".into(),
                        value: None,
                    }),
                    'D' => {
                        let rest = &arg[1 + pos + 1..];
                        let value = if !rest.is_empty() {
                            rest.to_string()
                        } else if i < args.len() {
                            i += 1;
                            args[i - 1].clone()
                        } else {
                            return Err(CliError::Usage(
                                "option requires an argument -- 'D'".into(),
                            ));
                        };
                        flags.push(CliFlag {
                            name: "define".into(),
                            value: Some(value),
                        });
                        break;
                    }
                    other => return Err(CliError::Usage(format!("invalid option -- '{other}'"))),
                }
            }
        } else {
            paths.push(arg.clone());
        }
    }
    Ok((flags, paths))
}

impl Config {
    /// Apply command-line flags in order.
    pub fn apply_cli(&mut self, flags: &[CliFlag]) -> Result<(), CliError> {
        for f in flags {
            self.apply_flag(&f.name, f.value.as_deref())
                .map_err(CliError::Flag)?;
        }
        Ok(())
    }
}

/// The arguments the kernel's `ksft_runner.sh` passes to packetdrill for an IP
/// version (docs/engine/flags-and-addresses.md, "The kernel runner's
/// arguments"; ipv4-mapped-ipv6, which the kernel runner does
/// not use, gets the IPv4 addresses with IPv6 control-message levels as
/// packetdrill's own `run_all.py` gives it).
pub fn kselftest_args(ip: IpVersion) -> Vec<String> {
    let v: &[&str] = match ip {
        IpVersion::Ipv4 => &[
            "--ip_version=ipv4",
            "--local_ip=192.168.0.1",
            "--gateway_ip=192.168.0.1",
            "--netmask_ip=255.255.0.0",
            "--remote_ip=192.0.2.1",
            "-D",
            "TFO_COOKIE=3021b9d889017eeb",
            "-D",
            "TFO_COOKIE_ZERO=b7c12350a90dc8f5",
            "-D",
            "CMSG_LEVEL_IP=SOL_IP",
            "-D",
            "CMSG_TYPE_RECVERR=IP_RECVERR",
        ],
        IpVersion::Ipv4MappedIpv6 => &[
            "--ip_version=ipv4-mapped-ipv6",
            "--local_ip=192.168.0.1",
            "--gateway_ip=192.168.0.1",
            "--netmask_ip=255.255.0.0",
            "--remote_ip=192.0.2.1",
            "-D",
            "TFO_COOKIE=3021b9d889017eeb",
            "-D",
            "TFO_COOKIE_ZERO=b7c12350a90dc8f5",
            "-D",
            "CMSG_LEVEL_IP=SOL_IPV6",
            "-D",
            "CMSG_TYPE_RECVERR=IPV6_RECVERR",
        ],
        IpVersion::Ipv6 => &[
            "--ip_version=ipv6",
            "--mtu=1520",
            "--local_ip=fd3d:0a0b:17d6::1",
            "--gateway_ip=fd3d:0a0b:17d6:8888::1",
            "--remote_ip=fd3d:fa7b:d17d::1",
            "-D",
            "TFO_COOKIE=c1d1e9742a47a9bc",
            "-D",
            "TFO_COOKIE_ZERO=82af1a8f9a205c34",
            "-D",
            "CMSG_LEVEL_IP=SOL_IPV6",
            "-D",
            "CMSG_TYPE_RECVERR=IPV6_RECVERR",
        ],
    };
    v.iter().map(|s| s.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn splits_ksft_command_line() {
        let (flags, paths) = split_command_line(&args(&[
            "--ip_version=ipv4",
            "--local_ip=192.168.0.1",
            "-D",
            "TFO_COOKIE=3021b9d889017eeb",
            "-DCMSG_LEVEL_IP=SOL_IP",
            "x.pkt",
            "-v",
        ]))
        .unwrap();
        assert_eq!(paths, vec!["x.pkt"]);
        let names: Vec<_> = flags.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            ["ip_version", "local_ip", "define", "define", "verbose"]
        );
        let mut c = Config::default();
        c.apply_cli(&flags).unwrap();
        assert_eq!(c.defines["CMSG_LEVEL_IP"], "SOL_IP");
        assert_eq!(c.ip(), IpVersion::Ipv4);
    }

    #[test]
    fn long_option_prefixes_and_separate_values() {
        let (flags, _) = split_command_line(&args(&["--tolerance_u", "9000", "--verb"])).unwrap();
        assert_eq!(flags[0].name, "tolerance_usecs");
        assert_eq!(flags[0].value.as_deref(), Some("9000"));
        assert_eq!(flags[1].name, "verbose");
        assert!(split_command_line(&args(&["--wire_s"])).is_err());
        assert!(split_command_line(&args(&["--nonsense"])).is_err());
    }

    #[test]
    fn bad_values_use_packetdrill_wording() {
        let mut c = Config::default();
        assert_eq!(
            c.apply_flag("ip_version", Some("ipv5"))
                .unwrap_err()
                .message,
            "bad --ip_version: ipv5"
        );
        assert_eq!(
            c.apply_flag("define", Some("=x")).unwrap_err().message,
            "bad definition: =x"
        );
        assert_eq!(
            c.apply_flag("foo", None).unwrap_err().message,
            "option 'foo' unknown"
        );
        assert!(c.apply_flag("tolerance_usecs", Some("0")).is_err());
    }

    #[test]
    fn ksft_addresses() {
        let mut c = Config::default();
        for (k, v) in [
            ("ip_version", "ipv6"),
            ("local_ip", "fd3d:0a0b:17d6::1"),
            ("gateway_ip", "fd3d:0a0b:17d6:8888::1"),
            ("remote_ip", "fd3d:fa7b:d17d::1"),
        ] {
            c.apply_flag(k, Some(v)).unwrap();
        }
        let a = c.finalize().unwrap();
        assert_eq!(a.remote_prefix_len, 128);
        assert_eq!(a.local_prefix_len, 48);
        assert_eq!(a.bind_ip, "fd3d:a0b:17d6::1".parse::<IpAddr>().unwrap());

        let mut c = Config::default();
        c.apply_flag("ip_version", Some("ipv4-mapped-ipv6"))
            .unwrap();
        c.apply_flag("local_ip", Some("192.168.0.1")).unwrap();
        let a = c.finalize().unwrap();
        assert_eq!(a.remote_prefix_len, 24);
        assert_eq!(a.remote_prefix, "192.0.2.0".parse::<IpAddr>().unwrap());
        assert_eq!(a.bind_ip, "::ffff:192.168.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(a.local_prefix_len, 16);
    }

    #[test]
    fn default_local_v4_avoids_network_gateway_and_broadcast() {
        for _ in 0..200 {
            let a = Config::default().finalize().unwrap();
            let IpAddr::V4(v4) = a.local_ip else { panic!() };
            let host = u32::from(v4) & 0xffff;
            assert!((2..0xffff).contains(&host), "{v4}");
        }
    }
}
