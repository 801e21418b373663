//! The abstract syntax tree of a packetdrill script.
//!
//! The tree says what the script *wrote*, checked only as far as packetdrill's
//! own grammar checks it (ranges of header fields, `end = start + len`, ...).
//! Turning it into something runnable (symbols, addresses, packet bytes for
//! an IP version) is the job of [`crate::plan`].
//!
//! Every node carries a [`Span`]; spans never take part in equality (see
//! [`Span`]), so `parse(print(ast)) == ast` is a meaningful test.

use super::span::{Span, Spanned};

/// Script times are integer microseconds, as packetdrill converts them
/// (`int seconds * 1e6`, or `(i64)(float seconds * 1e6)`, truncating).
pub type Micros = i64;

/// A whole script: `option* init_command? event+ cleanup_command?`.
#[derive(Clone, Debug, PartialEq)]
pub struct Script {
    pub options: Vec<OptionLine>,
    pub init_command: Option<Command>,
    pub events: Vec<Event>,
    pub cleanup_command: Option<Command>,
}

/// `--name` or `--name=value` at the top of a script.
#[derive(Clone, Debug, PartialEq)]
pub struct OptionLine {
    /// The name without the leading `--`.
    pub name: String,
    pub value: Option<OptionValue>,
    pub span: Span,
}

/// The value forms packetdrill's grammar accepts on an option line.
#[derive(Clone, Debug, PartialEq)]
pub enum OptionValue {
    /// An integer, kept as written (`10000`, `-1`).
    Integer(String),
    /// A word (`ipv4` and `ipv6` are keywords but end up here too).
    Word(String),
    /// A double-quoted string, contents as written (escapes not decoded).
    String(String),
    Ipv4(String),
    Ipv6(String),
    /// `NAME=WORD`, `NAME="string"` or ``NAME=`command` `` (for `--define`).
    Define {
        name: String,
        value: DefineValue,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum DefineValue {
    Word(String),
    String(String),
    Command(String),
}

impl OptionValue {
    /// The value as packetdrill hands it to its option handler: `NAME=VALUE`,
    /// `NAME="VALUE"` or ``NAME=`VALUE` `` for defines, else the text itself.
    pub fn to_flag_value(&self) -> String {
        match self {
            OptionValue::Integer(s)
            | OptionValue::Word(s)
            | OptionValue::String(s)
            | OptionValue::Ipv4(s)
            | OptionValue::Ipv6(s) => s.clone(),
            OptionValue::Define { name, value } => match value {
                DefineValue::Word(v) => format!("{name}={v}"),
                DefineValue::String(v) => format!("{name}=\"{v}\""),
                DefineValue::Command(v) => format!("{name}=`{v}`"),
            },
        }
    }
}

/// A backquoted shell command (its text without the backquotes).
#[derive(Clone, Debug, PartialEq)]
pub struct Command {
    pub text: String,
    pub span: Span,
}

/// One timed line of the script.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub time: TimeSpec,
    pub action: Action,
    /// The line packetdrill reports for this event: the line of its timestamp.
    pub line: u32,
    pub span: Span,
}

/// When an event happens (docs/engine/time-and-tolerance.md, "Time
/// specifications").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeSpec {
    /// `T`
    Absolute(Micros),
    /// `+T`
    Relative(Micros),
    /// `*` (outbound packets only)
    Any,
    /// `A~B` (outbound packets only)
    AbsoluteRange(Micros, Micros),
    /// `+A~+B` (outbound packets only)
    RelativeRange(Micros, Micros),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Packet(PacketSpec),
    Syscall(SyscallSpec),
    Command(Command),
    Code(CodeSnippet),
}

/// A `%{ ... }%` block; `text` has spaces and tabs (not newlines) stripped at both ends.
#[derive(Clone, Debug, PartialEq)]
pub struct CodeSnippet {
    pub text: String,
    pub span: Span,
}

// ------------------------------------------------------------------------------------------
// Packets
// ------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `<`: injected into tun0.
    Inbound,
    /// `>`: sent by the kernel, sniffed and checked.
    Outbound,
}

/// `< ...` or `> ...`
#[derive(Clone, Debug, PartialEq)]
pub struct PacketSpec {
    pub direction: Direction,
    /// Explicit outer headers, outermost first (`ipv4 A > B:`, `gre:`, `mpls ...:`).
    pub outer: Vec<OuterHeader>,
    /// The `[...]`/`(...)` info of the innermost IP header.
    pub ip_info: IpInfo,
    pub body: PacketBody,
    pub span: Span,
}

/// ECN / TOS / flow label / TTL written in `[...]` or `(...)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IpInfo {
    pub tos: TosSpec,
    /// 20-bit IPv6 flow label (`flowlabel 0x...`).
    pub flow_label: Option<u32>,
    /// `ttl N`: IPv4 TTL / IPv6 hop limit.
    pub ttl: Option<u8>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TosSpec {
    /// Nothing written: the TOS byte is not checked.
    #[default]
    Unspecified,
    /// `noecn`, `ect0`, `ect1` or `ce`: only the two ECN bits.
    Ecn(Ecn),
    /// `ect01`: ECT(0) or ECT(1) (outbound only).
    Ect01,
    /// `tos 0xNN`: the whole byte.
    Tos(u8),
}

/// The two-bit ECN field of the IP header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ecn {
    /// `noecn`, 00
    NotEct = 0,
    /// `ect1`, 01
    Ect1 = 1,
    /// `ect0`, 10
    Ect0 = 2,
    /// `ce`, 11
    Ce = 3,
}

#[derive(Clone, Debug, PartialEq)]
pub enum OuterHeader {
    Ipv4 {
        info: IpInfo,
        src: std::net::Ipv4Addr,
        dst: std::net::Ipv4Addr,
    },
    Ipv6 {
        info: IpInfo,
        src: std::net::Ipv6Addr,
        dst: std::net::Ipv6Addr,
    },
    /// `gre:` (no header spec) or `gre flags ... sum N off N key N seq N:`.
    Gre(Option<GreHeader>),
    Mpls(Vec<MplsEntry>),
}

/// GRE v0 header fields as packetdrill stores them (docs/engine/packets.md,
/// "Encapsulation").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GreHeader {
    /// Flag bits (C = 0x8000, K = 0x2000, S = 0x1000) or a raw number.
    pub flags: u16,
    pub sum: u16,
    pub off: u16,
    pub key: u32,
    pub seq: u32,
}

/// `(label L, tc T, [S], ttl X)`
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MplsEntry {
    pub label: u32,
    pub tc: u8,
    pub bottom_of_stack: bool,
    pub ttl: u8,
}

#[derive(Clone, Debug, PartialEq)]
pub enum PacketBody {
    Tcp(TcpSpec),
    Udp(UdpSpec),
    Icmp(IcmpSpec),
}

/// `[encap psp spi N] [sport>dport] FLAGS start:end(len) [ack N] [win N] [urg N] [<options>]`
#[derive(Clone, Debug, PartialEq)]
pub struct TcpSpec {
    /// `encap psp spi N`.
    pub psp_spi: Option<u32>,
    pub ports: Option<Ports>,
    /// The flags (`S.`, `P.`, `.`, `SEW`, `S.5`, `-` for none), validated as
    /// packetdrill validates them while parsing.
    pub flags: Spanned<TcpFlags>,
    pub seq: SeqSpec,
    pub ack: Option<u32>,
    /// Raw (unscaled) header value; mandatory inbound, optional outbound.
    pub win: Option<u16>,
    pub urg: Option<u16>,
    pub options: TcpOptionsSpec,
}

/// TCP flags as a script writes them: letters `F S R P . U E W A` (`.` = ACK,
/// `E` = ECE, `W` = CWR, `A` = AE) or, instead of `E W A`, one digit 0-7 giving
/// the AccECN ACE field (AE·4 + CWR·2 + ECE·1) as a whole.
///
/// When a digit is written, `ace` holds it and `ece`/`cwr`/`ae` are the bits
/// it stands for (the header bits packetdrill sets), so header builders can use
/// the booleans alone. Digit 0 sets no bit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpFlags {
    pub fin: bool,
    pub syn: bool,
    pub rst: bool,
    pub psh: bool,
    pub ack: bool,
    pub urg: bool,
    pub ece: bool,
    pub cwr: bool,
    pub ae: bool,
    /// `Some(n)` when a digit was written: verification compares the 3-bit ACE field.
    pub ace: Option<u8>,
}

impl TcpFlags {
    /// Validate flag text as packetdrill does (`S.`, `P.5`, `SEW`, `""` for `-`):
    /// the error is packetdrill's message (`Invalid TCP flag: 'X'`,
    /// `Conflicting TCP flag: 'X'`).
    pub fn from_script(text: &str) -> Result<TcpFlags, String> {
        let mut flags = TcpFlags::default();
        let mut has_ecn = false;
        for ch in text.chars() {
            match ch {
                'F' => flags.fin = true,
                'S' => flags.syn = true,
                'R' => flags.rst = true,
                'P' => flags.psh = true,
                '.' => flags.ack = true,
                'U' => flags.urg = true,
                'E' | 'W' | 'A' => {
                    if flags.ace.is_some() {
                        return Err(format!("Conflicting TCP flag: '{ch}'"));
                    }
                    has_ecn = true;
                    match ch {
                        'E' => flags.ece = true,
                        'W' => flags.cwr = true,
                        _ => flags.ae = true,
                    }
                }
                '0'..='7' => {
                    if has_ecn || flags.ace.is_some() {
                        return Err(format!("Conflicting TCP flag: '{ch}'"));
                    }
                    let ace = ch as u8 - b'0';
                    flags.ace = Some(ace);
                    flags.ece = ace & 1 != 0;
                    flags.cwr = ace & 2 != 0;
                    flags.ae = ace & 4 != 0;
                }
                _ => return Err(format!("Invalid TCP flag: '{ch}'")),
            }
        }
        Ok(flags)
    }

    /// The flags in a canonical script spelling that [`TcpFlags::from_script`]
    /// reads back: letters `FSRPUEWA`, then `.`, then the ACE digit; `-` for none.
    pub fn to_script(&self) -> String {
        let mut s = String::new();
        let mut letter = |on: bool, c: char| {
            if on {
                s.push(c)
            }
        };
        letter(self.fin, 'F');
        letter(self.syn, 'S');
        letter(self.rst, 'R');
        letter(self.psh, 'P');
        letter(self.urg, 'U');
        if self.ace.is_none() {
            letter(self.ece, 'E');
            letter(self.cwr, 'W');
            letter(self.ae, 'A');
        }
        letter(self.ack, '.');
        if let Some(d) = self.ace {
            s.push(char::from(b'0' + d.min(7)));
        }
        if s.is_empty() {
            s.push('-');
        }
        s
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ports {
    pub src: u16,
    pub dst: u16,
}

/// `start:end(len)` with `end == start + len` already checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeqSpec {
    pub start: u32,
    pub end: u32,
    pub len: u16,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TcpOptionsSpec {
    /// Nothing written: the packet has no options (and outbound must have none).
    Absent,
    /// `<...>`: outbound options are not checked.
    Ellipsis(Span),
    /// `<opt, opt, ...>`
    List(Vec<Spanned<TcpOptionSpec>>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TcpOptionSpec {
    Nop,
    Eol,
    Mss(u16),
    Wscale(u8),
    SackOk,
    /// `sack a:b c:d ...` (at least one block).
    Sack(Vec<(u32, u32)>),
    /// `md5 HEX`: the digest bytes (at most 16).
    Md5(Vec<u8>),
    Timestamp {
        val: u32,
        ecr: u32,
    },
    /// `FO [HEX]` (kind 34).
    FastOpen(Vec<u8>),
    /// `FOEXP [HEX]` (kind 254, magic 0xF989).
    FastOpenExp(Vec<u8>),
    /// `ECN e0b N [ceb N [e1b N]]` (kind 172) or `ECN e1b N [ceb N [e0b N]]` (kind 174).
    AccEcn {
        order: AccEcnOrder,
        fields: Vec<u32>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccEcnOrder {
    /// Starts with `e0b` (kind 172).
    E0bFirst,
    /// Starts with `e1b` (kind 174).
    E1bFirst,
}

/// `udp [sport>dport] (len)`
#[derive(Clone, Debug, PartialEq)]
pub struct UdpSpec {
    pub ports: Option<Ports>,
    pub len: u16,
}

/// `icmp TYPE [CODE] [mtu N] [id N] [echoed]`
#[derive(Clone, Debug, PartialEq)]
pub struct IcmpSpec {
    /// The type name as written (`unreachable`, `type_3`, ...); resolved by the planner.
    pub type_name: Spanned<String>,
    pub code_name: Option<Spanned<String>>,
    pub mtu: Option<i64>,
    pub id: Option<i64>,
    pub echoed: IcmpEchoed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IcmpEchoed {
    /// Nothing written: an echoed TCP header with seq 0.
    Default,
    /// `[start:end(len)]`
    Tcp(SeqSpec),
    /// `[udp (len)]`
    Udp(u16),
    /// `[raw (len)]`
    Raw(u16),
}

// ------------------------------------------------------------------------------------------
// System calls
// ------------------------------------------------------------------------------------------

/// `[...END] name(args) = result [ERRNO (note)] [(note)]`
#[derive(Clone, Debug, PartialEq)]
pub struct SyscallSpec {
    /// For blocking calls `T...E`: the return time `E`, as written (not yet anchored).
    pub end_time: Option<Micros>,
    pub name: Spanned<String>,
    pub args: Vec<Expr>,
    pub result: Expr,
    /// `ERRNO (note words)`; the note is mandatory after an errno.
    pub errno: Option<ErrnoSpec>,
    /// A note with no errno before it, e.g. `= 3 (just a note)` or `= 0x2 (flags O_RDWR)`.
    pub note: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ErrnoSpec {
    pub name: Spanned<String>,
    /// The words of the note joined by single spaces (never compared).
    pub note: String,
}

/// An expression in a system call.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

impl Expr {
    pub fn new(kind: ExprKind, span: Span) -> Self {
        Expr { kind, span }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// `...`
    Ellipsis,
    /// A decimal or `0x` integer. `hex` records how it was written (packetdrill
    /// prints it back the same way and some places accept only one form).
    Int { value: i64, hex: bool },
    /// A symbolic name resolved at run time (`SOCK_STREAM`, `NULL`, ...).
    Word(String),
    /// One or more adjacent double-quoted strings (contents as written,
    /// escapes not decoded), optionally followed by `...`.
    String { parts: Vec<String>, ellipsis: bool },
    /// `a | b`
    BitOr(Box<Expr>, Box<Expr>),
    /// `NAME = expr` (e.g. `TCP_NLA_BUSY=...` in OPT_STATS cmsgs).
    Assign { name: String, value: Box<Expr> },
    /// `[a, b, ...]`
    Array(Vec<Expr>),
    /// `{a, b, ...}` (a brace list that is none of the structs below).
    List(Vec<Expr>),
    /// `inet_addr("a.b.c.d")`
    InetAddr(String),
    /// `inet6_addr("...")`
    Inet6Addr(String),
    /// `{sa_family=AF_INET, sin_port=htons(P), sin_addr=inet_addr("A")}`
    SockAddr {
        family: String,
        port: i64,
        addr: String,
    },
    /// `{msg_name(...)=..., msg_iov(N)=[...], msg_flags=F [, msg_control=[...]]}`
    Msghdr {
        iov_len: i64,
        iov: Box<Expr>,
        flags: Box<Expr>,
        control: Option<Box<Expr>>,
    },
    /// `{..., N}`
    Iovec { len: i64 },
    /// `{fd=N, events=E [, revents=R]}`
    Pollfd {
        fd: Box<Expr>,
        events: Box<Expr>,
        revents: Option<Box<Expr>>,
    },
    /// `{events=E, fd=N}` / `ptr=` / `u32=` / `u64=`
    EpollEvent {
        events: Box<Expr>,
        data: EpollData,
        value: Box<Expr>,
    },
    /// `{onoff=N, linger=N}`
    Linger { onoff: i64, linger: i64 },
    /// `{cmsg_level=L, cmsg_type=T, cmsg_data=D}`
    Cmsg {
        level: Box<Expr>,
        ty: Box<Expr>,
        data: Box<Expr>,
    },
    /// `{scm_sec=S, scm_nsec=N}`
    ScmTimestamping { sec: i64, nsec: i64 },
    /// `{ee_errno=..., ee_origin=..., ee_type=..., ee_code=..., ee_info=..., ee_data=...}`
    SockExtendedErr {
        ee_errno: Box<Expr>,
        ee_origin: Box<Expr>,
        ee_type: Box<Expr>,
        ee_code: Box<Expr>,
        ee_info: Box<Expr>,
        ee_data: Box<Expr>,
    },
    /// `{(label L, tc T, [S], ttl X) ...}`
    MplsStack(Vec<MplsEntry>),
    /// `{flags ... sum N off N key N seq N}`
    Gre(GreHeader),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EpollData {
    Fd,
    Ptr,
    U32,
    U64,
}
