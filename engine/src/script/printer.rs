//! Turning an AST back into script text.
//!
//! The output parses back to an equal AST (`parse(print(ast)) == ast`, spans
//! aside) for every AST the parser produces, with no defines. Two choices make
//! that hold:
//! - each event is put on the line it came from (also when several share a
//!   line) as far as the text printed before it allows, because
//!   [`Event::line`] is part of the AST; error messages about the printed
//!   script then name the same lines. Options and commands follow the lines
//!   of their spans the same way;
//! - times are printed in a decimal form that converts back to exactly the
//!   same microseconds with packetdrill's `(s64)(seconds * 1e6)`.
//!
//! Comments and the original spacing are not kept. Hex strings (md5, FO
//! cookies) are printed in upper case so that none can read back as a
//! keyword (`ce`, `fd`, `e0b`, ...).

use super::ast::*;
use std::fmt::Write as _;

/// The script as text.
pub fn print(script: &Script) -> String {
    let mut p = Printer {
        out: String::new(),
        line: 1,
    };
    for opt in &script.options {
        p.place(opt.span.line);
        p.push(&option_line(opt));
    }
    if let Some(cmd) = &script.init_command {
        p.place(cmd.span.line);
        p.push(&command(cmd));
    }
    for event in &script.events {
        p.place(event.line);
        p.push(&time(&event.time));
        p.push(" ");
        p.push(&action(&event.action));
    }
    if let Some(cmd) = &script.cleanup_command {
        p.place(cmd.span.line);
        p.push(&command(cmd));
    }
    if !p.out.is_empty() {
        p.push("\n");
    }
    p.out
}

/// At most this many empty lines are added to put an item on its line.
const MAX_PADDING_LINES: u32 = 1_000_000;

struct Printer {
    out: String,
    /// The 1-based line the next character goes on.
    line: u32,
}

impl Printer {
    fn push(&mut self, s: &str) {
        let newlines = s.bytes().filter(|&b| b == b'\n').count();
        self.line = self
            .line
            .saturating_add(u32::try_from(newlines).unwrap_or(u32::MAX));
        self.out.push_str(s);
    }

    /// Start the next item on `line` when possible (0: no preference), else on
    /// the next line.
    fn place(&mut self, line: u32) {
        let at_line_start = self.out.is_empty() || self.out.ends_with('\n');
        // Lines come from a parsed source, so the padding is bounded by its size;
        // an AST built by hand with absurd lines gets one newline instead.
        if line > self.line && line - self.line <= MAX_PADDING_LINES {
            while self.line < line {
                self.push("\n");
            }
        } else if line == self.line && !at_line_start {
            self.push(" ");
        } else if !at_line_start {
            self.push("\n");
        }
    }
}

fn option_line(opt: &OptionLine) -> String {
    match &opt.value {
        None => format!("--{}", opt.name),
        Some(v) => {
            let value = match v {
                OptionValue::Integer(s)
                | OptionValue::Word(s)
                | OptionValue::Ipv4(s)
                | OptionValue::Ipv6(s) => s.clone(),
                OptionValue::String(s) => format!("\"{s}\""),
                OptionValue::Define { .. } => v.to_flag_value(),
            };
            format!("--{}={value}", opt.name)
        }
    }
}

fn command(cmd: &Command) -> String {
    format!("`{}`", cmd.text)
}

/// Microseconds as seconds that packetdrill converts back to the same value.
pub fn seconds(us: Micros) -> String {
    let converts_back = |s: &str| s.parse::<f64>().is_ok_and(|f| (f * 1.0e6) as i64 == us);
    let (whole, frac) = (us / 1_000_000, (us % 1_000_000).abs());
    if frac == 0 {
        return whole.to_string();
    }
    let sign = if us < 0 && whole == 0 { "-" } else { "" };
    let mut plain = format!("{sign}{whole}.{frac:06}");
    while plain.ends_with('0') {
        plain.pop();
    }
    if converts_back(&plain) {
        return plain;
    }
    // A product that lands just below the integer: aim half a microsecond higher.
    let nudged = format!("{sign}{whole}.{frac:06}5");
    if converts_back(&nudged) {
        return nudged;
    }
    plain
}

fn time(t: &TimeSpec) -> String {
    match *t {
        TimeSpec::Absolute(a) => seconds(a),
        TimeSpec::Relative(a) => format!("+{}", seconds(a)),
        TimeSpec::Any => "*".to_string(),
        TimeSpec::AbsoluteRange(a, b) => format!("{}~{}", seconds(a), seconds(b)),
        TimeSpec::RelativeRange(a, b) => format!("+{}~+{}", seconds(a), seconds(b)),
    }
}

fn action(a: &Action) -> String {
    match a {
        Action::Packet(p) => packet(p),
        Action::Syscall(s) => syscall(s),
        Action::Command(c) => command(c),
        Action::Code(c) => {
            if c.text.is_empty() {
                "%{}%".to_string()
            } else {
                format!("%{{ {} }}%", c.text)
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// Packets
// ------------------------------------------------------------------------------------------

fn packet(p: &PacketSpec) -> String {
    let mut s = String::from(match p.direction {
        Direction::Inbound => "<",
        Direction::Outbound => ">",
    });
    for h in &p.outer {
        s.push(' ');
        s.push_str(&outer(h));
    }
    let info = ip_info(&p.ip_info);
    if !info.is_empty() {
        s.push(' ');
        s.push_str(&info);
    }
    s.push(' ');
    match &p.body {
        PacketBody::Tcp(t) => s.push_str(&tcp(t)),
        PacketBody::Udp(u) => {
            s.push_str("udp ");
            if let Some(ports) = u.ports {
                let _ = write!(s, "{}>{} ", ports.src, ports.dst);
            }
            let _ = write!(s, "({})", u.len);
        }
        PacketBody::Icmp(i) => s.push_str(&icmp(i)),
    }
    s
}

fn ip_info(info: &IpInfo) -> String {
    let tos = match info.tos {
        TosSpec::Unspecified => None,
        TosSpec::Ecn(Ecn::NotEct) => Some("noecn".to_string()),
        TosSpec::Ecn(Ecn::Ect0) => Some("ect0".to_string()),
        TosSpec::Ecn(Ecn::Ect1) => Some("ect1".to_string()),
        TosSpec::Ecn(Ecn::Ce) => Some("ce".to_string()),
        TosSpec::Ect01 => Some("ect01".to_string()),
        TosSpec::Tos(v) => Some(format!("tos {v:#x}")),
    };
    let flow = info.flow_label.map(|f| format!("flowlabel {f:#x}"));
    // The grammar has: tos | flowlabel | ttl | tos, flowlabel.
    let body = match (tos, flow, info.ttl) {
        (Some(t), Some(f), _) => format!("{t}, {f}"),
        (Some(t), None, _) => t,
        (None, Some(f), _) => f,
        (None, None, Some(ttl)) => format!("ttl {ttl}"),
        (None, None, None) => return String::new(),
    };
    format!("[{body}]")
}

fn outer(h: &OuterHeader) -> String {
    let with_info = |name: &str, info: &IpInfo, src: String, dst: String| {
        let info = ip_info(info);
        let sep = if info.is_empty() { "" } else { " " };
        format!("{name}{sep}{info} {src} > {dst} :")
    };
    match h {
        OuterHeader::Ipv4 { info, src, dst } => {
            with_info("ipv4", info, src.to_string(), dst.to_string())
        }
        OuterHeader::Ipv6 { info, src, dst } => {
            with_info("ipv6", info, src.to_string(), dst.to_string())
        }
        OuterHeader::Gre(None) => "gre :".to_string(),
        OuterHeader::Gre(Some(g)) => format!("gre {} :", gre(g)),
        OuterHeader::Mpls(entries) => {
            let mut s = String::from("mpls");
            for e in entries {
                s.push(' ');
                s.push_str(&mpls_entry(e));
            }
            s.push_str(" :");
            s
        }
    }
}

fn gre(g: &GreHeader) -> String {
    format!(
        "flags {:#x}, sum {}, off {}, key {}, seq {}",
        g.flags, g.sum, g.off, g.key, g.seq
    )
}

fn mpls_entry(e: &MplsEntry) -> String {
    format!(
        "(label {}, tc {}, {}ttl {})",
        e.label,
        e.tc,
        if e.bottom_of_stack { "[S], " } else { "" },
        e.ttl
    )
}

fn seq(s: &SeqSpec) -> String {
    format!("{}:{}({})", s.start, s.end, s.len)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02X}");
        s
    })
}

fn tcp(t: &TcpSpec) -> String {
    let mut s = String::new();
    if let Some(spi) = t.psp_spi {
        let _ = write!(s, "encap psp spi {spi} ");
    }
    if let Some(p) = t.ports {
        let _ = write!(s, "{}>{} ", p.src, p.dst);
    }
    // A space after the flags: `S.` followed by `0:...` would read as `S` `.0`.
    let _ = write!(s, "{} {}", t.flags.value.to_script(), seq(&t.seq));
    if let Some(a) = t.ack {
        let _ = write!(s, " ack {a}");
    }
    if let Some(w) = t.win {
        let _ = write!(s, " win {w}");
    }
    if let Some(u) = t.urg {
        let _ = write!(s, " urg {u}");
    }
    match &t.options {
        TcpOptionsSpec::Absent => {}
        TcpOptionsSpec::Ellipsis(_) => s.push_str(" <...>"),
        TcpOptionsSpec::List(list) => {
            let opts: Vec<String> = list.iter().map(|o| tcp_option(&o.value)).collect();
            let _ = write!(s, " <{}>", opts.join(","));
        }
    }
    s
}

fn tcp_option(o: &TcpOptionSpec) -> String {
    match o {
        TcpOptionSpec::Nop => "nop".to_string(),
        TcpOptionSpec::Eol => "eol".to_string(),
        TcpOptionSpec::Mss(v) => format!("mss {v}"),
        TcpOptionSpec::Wscale(v) => format!("wscale {v}"),
        TcpOptionSpec::SackOk => "sackOK".to_string(),
        TcpOptionSpec::Sack(blocks) => {
            let b: Vec<String> = blocks.iter().map(|(l, r)| format!("{l}:{r}")).collect();
            format!("sack {}", b.join(" "))
        }
        TcpOptionSpec::Md5(d) => format!("md5 {}", hex(d)),
        TcpOptionSpec::Timestamp { val, ecr } => format!("TS val {val} ecr {ecr}"),
        TcpOptionSpec::FastOpen(c) if c.is_empty() => "FO".to_string(),
        TcpOptionSpec::FastOpen(c) => format!("FO {}", hex(c)),
        TcpOptionSpec::FastOpenExp(c) if c.is_empty() => "FOEXP".to_string(),
        TcpOptionSpec::FastOpenExp(c) => format!("FOEXP {}", hex(c)),
        TcpOptionSpec::AccEcn { order, fields } => {
            let names = match order {
                AccEcnOrder::E0bFirst => ["e0b", "ceb", "e1b"],
                AccEcnOrder::E1bFirst => ["e1b", "ceb", "e0b"],
            };
            let mut s = String::from("ECN");
            for (name, v) in names.iter().zip(fields) {
                let _ = write!(s, " {name} {v}");
            }
            s
        }
    }
}

fn icmp(i: &IcmpSpec) -> String {
    let mut s = format!("icmp {}", i.type_name.value);
    if let Some(code) = &i.code_name {
        let _ = write!(s, " {}", code.value);
    }
    if let Some(mtu) = i.mtu {
        let _ = write!(s, " mtu {mtu}");
    }
    if let Some(id) = i.id {
        let _ = write!(s, " id {id}");
    }
    match i.echoed {
        IcmpEchoed::Default => {}
        IcmpEchoed::Tcp(sq) => {
            let _ = write!(s, " [{}]", seq(&sq));
        }
        IcmpEchoed::Udp(len) => {
            let _ = write!(s, " [udp ({len})]");
        }
        IcmpEchoed::Raw(len) => {
            let _ = write!(s, " [raw ({len})]");
        }
    }
    s
}

// ------------------------------------------------------------------------------------------
// System calls
// ------------------------------------------------------------------------------------------

fn syscall(s: &SyscallSpec) -> String {
    let mut out = String::new();
    if let Some(end) = s.end_time {
        let _ = write!(out, "...{} ", seconds(end));
    }
    let args: Vec<String> = s.args.iter().map(expr).collect();
    let _ = write!(
        out,
        "{}({}) = {}",
        s.name.value,
        args.join(", "),
        expr(&s.result)
    );
    if let Some(e) = &s.errno {
        let _ = write!(out, " {} ({})", e.name.value, e.note);
    }
    if let Some(n) = &s.note {
        let _ = write!(out, " ({n})");
    }
    out
}

/// An expression as script text.
pub fn expr(e: &Expr) -> String {
    let mut s = String::new();
    write_expr(&mut s, e);
    s
}

fn write_list(s: &mut String, items: &[Expr]) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        write_expr(s, item);
    }
}

fn write_expr(s: &mut String, e: &Expr) {
    match &e.kind {
        ExprKind::Ellipsis => s.push_str("..."),
        ExprKind::Int { value, hex } => {
            if *hex && *value >= 0 {
                let _ = write!(s, "{value:#x}");
            } else {
                let _ = write!(s, "{value}");
            }
        }
        ExprKind::Word(w) => s.push_str(w),
        ExprKind::String { parts, ellipsis } => {
            for (i, p) in parts.iter().enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                let _ = write!(s, "\"{p}\"");
            }
            if *ellipsis {
                s.push_str("...");
            }
        }
        ExprKind::BitOr(a, b) => {
            write_expr(s, a);
            s.push('|');
            write_expr(s, b);
        }
        ExprKind::Assign { name, value } => {
            let _ = write!(s, "{name}=");
            write_expr(s, value);
        }
        ExprKind::Array(items) => {
            s.push('[');
            write_list(s, items);
            s.push(']');
        }
        ExprKind::List(items) => {
            s.push('{');
            write_list(s, items);
            s.push('}');
        }
        ExprKind::InetAddr(a) => {
            let _ = write!(s, "inet_addr(\"{a}\")");
        }
        ExprKind::Inet6Addr(a) => {
            let _ = write!(s, "inet6_addr(\"{a}\")");
        }
        ExprKind::SockAddr { family, port, addr } => {
            let _ = write!(
                s,
                "{{sa_family={family}, sin_port=htons({port}), sin_addr=inet_addr(\"{addr}\")}}"
            );
        }
        ExprKind::Msghdr {
            iov_len,
            iov,
            flags,
            control,
        } => {
            let _ = write!(s, "{{msg_name(...)=..., msg_iov({iov_len})=");
            write_expr(s, iov);
            s.push_str(", msg_flags=");
            write_expr(s, flags);
            if let Some(c) = control {
                s.push_str(", msg_control=");
                write_expr(s, c);
            }
            s.push('}');
        }
        ExprKind::Iovec { len } => {
            let _ = write!(s, "{{..., {len}}}");
        }
        ExprKind::Pollfd {
            fd,
            events,
            revents,
        } => {
            s.push_str("{fd=");
            write_expr(s, fd);
            s.push_str(", events=");
            write_expr(s, events);
            if let Some(r) = revents {
                s.push_str(", revents=");
                write_expr(s, r);
            }
            s.push('}');
        }
        ExprKind::EpollEvent {
            events,
            data,
            value,
        } => {
            s.push_str("{events=");
            write_expr(s, events);
            let field = match data {
                EpollData::Fd => "fd",
                EpollData::Ptr => "ptr",
                EpollData::U32 => "u32",
                EpollData::U64 => "u64",
            };
            let _ = write!(s, ", {field}=");
            write_expr(s, value);
            s.push('}');
        }
        ExprKind::Linger { onoff, linger } => {
            let _ = write!(s, "{{onoff={onoff}, linger={linger}}}");
        }
        ExprKind::Cmsg { level, ty, data } => {
            s.push_str("{cmsg_level=");
            write_expr(s, level);
            s.push_str(", cmsg_type=");
            write_expr(s, ty);
            s.push_str(", cmsg_data=");
            write_expr(s, data);
            s.push('}');
        }
        ExprKind::ScmTimestamping { sec, nsec } => {
            let _ = write!(s, "{{scm_sec={sec}, scm_nsec={nsec}}}");
        }
        ExprKind::SockExtendedErr {
            ee_errno,
            ee_origin,
            ee_type,
            ee_code,
            ee_info,
            ee_data,
        } => {
            let fields = [
                ("ee_errno", ee_errno),
                ("ee_origin", ee_origin),
                ("ee_type", ee_type),
                ("ee_code", ee_code),
                ("ee_info", ee_info),
                ("ee_data", ee_data),
            ];
            s.push('{');
            for (i, (name, value)) in fields.into_iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                let _ = write!(s, "{name}=");
                write_expr(s, value);
            }
            s.push('}');
        }
        ExprKind::MplsStack(entries) => {
            s.push('{');
            for (i, e) in entries.iter().enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                s.push_str(&mpls_entry(e));
            }
            s.push('}');
        }
        ExprKind::Gre(g) => {
            let _ = write!(s, "{{{}}}", gre(g));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_convert_back_exactly() {
        for us in [
            0,
            1,
            7,
            10,
            100_000,
            250_000,
            300_000,
            1_000_003,
            1_100_000,
            2_000_000,
            123_456_789,
            999_999,
            4_503_599_627,
        ] {
            let s = seconds(us);
            let back = (s.parse::<f64>().unwrap() * 1.0e6) as i64;
            assert_eq!(back, us, "{us} printed as {s}");
        }
        assert_eq!(seconds(2_000_000), "2");
        assert_eq!(seconds(100_000), "0.1");
        assert_eq!(seconds(1_250_000), "1.25");
    }

    #[test]
    fn items_go_on_their_lines() {
        let src = "--dry_run\n\n`init`\n0 a() = 0 +0 b() = 0\n\n\n+0 c() = 0\n";
        let ast = crate::script::parse(src.as_bytes(), &[]).unwrap();
        assert_eq!(
            print(&ast),
            "--dry_run\n\n`init`\n0 a() = 0 +0 b() = 0\n\n\n+0 c() = 0\n"
        );
        let mut far = ast.clone();
        far.events[2].line = u32::MAX;
        assert!(print(&far).len() < 200);
    }
}
