//! A recursive-descent parser for packetdrill scripts.
//!
//! It accepts what packetdrill's bison grammar accepts (same precedence: `|` is
//! right-associative and binds looser than `NAME = value`) and makes the checks
//! packetdrill makes while parsing, with its messages (`Invalid TCP flag: 'X'`,
//! `TCP options are not padded correctly ...`, `window must be specified for
//! inbound packets`, ...). Checks that need the IP version (ICMP type names,
//! segment sizes, header counts) belong to the planner.
//!
//! Defines: packetdrill applies the script's `--define` lines and the command
//! line's `-D` symbols once it has read the first token after the option lines;
//! that token and the option lines themselves are never substituted. The
//! parser does the same.
//!
//! Nesting of expressions is limited to [`MAX_DEPTH`] levels so that hostile
//! input cannot exhaust the stack.

use super::ast::*;
use super::diag::Diagnostic;
use super::lexer::{Keyword, Lexer, Token, TokenKind};
use super::span::{Span, Spanned};
use std::collections::VecDeque;
use std::net::{Ipv4Addr, Ipv6Addr};

/// How deeply expressions may nest (brackets, braces, `NAME =` and `|` chains).
pub const MAX_DEPTH: usize = 100;

/// Stack that must be left when entering a nested expression, else a new
/// segment of `STACK_SEGMENT` bytes is used (see the `stacker` crate).
const STACK_RED_ZONE: usize = 256 * 1024;
const STACK_SEGMENT: usize = 4 * 1024 * 1024;

/// Bytes of TCP options that fit in a TCP header.
const MAX_TCP_OPTION_BYTES: usize = 40;
/// Labels in one MPLS stack.
const MPLS_STACK_MAX_ENTRIES: usize = 6;

type PResult<T> = Result<T, Diagnostic>;

pub(crate) struct Parser<'a> {
    lx: Lexer<'a>,
    ahead: VecDeque<Token>,
    prev_end: usize,
    depth: usize,
}

fn describe(kind: &TokenKind, text: &str) -> String {
    match kind {
        TokenKind::Eof => "end of file".to_string(),
        _ => {
            let first = text.lines().next().unwrap_or("");
            let short: String = first.chars().take(40).collect();
            let cut = short.len() < text.len();
            format!("'{short}{}'", if cut { "..." } else { "" })
        }
    }
}

impl<'a> Parser<'a> {
    pub(crate) fn new(source: &'a [u8]) -> Self {
        Parser {
            lx: Lexer::new(source),
            ahead: VecDeque::new(),
            prev_end: 0,
            depth: 0,
        }
    }

    // --------------------------------------------------------------------------------------
    // Token plumbing
    // --------------------------------------------------------------------------------------

    fn fill(&mut self, n: usize) -> PResult<()> {
        while self.ahead.len() <= n {
            let t = self.lx.next_token()?;
            self.ahead.push_back(t);
        }
        Ok(())
    }

    fn peek(&mut self) -> PResult<&Token> {
        self.fill(0)?;
        // `fill(0)` guarantees one token.
        self.ahead
            .front()
            .ok_or_else(|| Diagnostic::parse("internal: no token", Span::default(), ""))
    }

    fn peek_kind(&mut self) -> PResult<&TokenKind> {
        Ok(&self.peek()?.kind)
    }

    fn peek_nth(&mut self, n: usize) -> PResult<&TokenKind> {
        self.fill(n)?;
        self.ahead
            .get(n)
            .map(|t| &t.kind)
            .ok_or_else(|| Diagnostic::parse("internal: no token", Span::default(), ""))
    }

    fn at_punct(&mut self, c: u8) -> PResult<bool> {
        Ok(self.peek_kind()?.is_punct(c))
    }

    fn at_kw(&mut self, k: Keyword) -> PResult<bool> {
        Ok(self.peek_kind()?.is_keyword(k))
    }

    fn bump(&mut self) -> PResult<Token> {
        self.fill(0)?;
        match self.ahead.pop_front() {
            Some(t) => {
                if t.kind != TokenKind::Eof {
                    self.prev_end = t.span.end;
                }
                Ok(t)
            }
            None => Err(Diagnostic::parse("internal: no token", Span::default(), "")),
        }
    }

    /// The span from `start` to the end of the last consumed token.
    fn span_from(&self, start: Span) -> Span {
        Span::new(
            start.start,
            self.prev_end.max(start.start),
            start.line,
            start.col,
        )
    }

    /// `syntax error: unexpected X, expected WHAT` at the next token.
    fn unexpected(&mut self, expected: &str) -> Diagnostic {
        let tok = match self.peek() {
            Ok(t) => t.clone(),
            Err(e) => return e,
        };
        let text = if tok.kind == TokenKind::Eof {
            String::new()
        } else {
            self.lx.text(tok.span)
        };
        Diagnostic::parse(
            format!(
                "syntax error: unexpected {}, expected {expected}",
                describe(&tok.kind, &text)
            ),
            tok.span,
            text,
        )
    }

    fn expect_punct(&mut self, c: u8) -> PResult<Token> {
        if self.at_punct(c)? {
            self.bump()
        } else {
            Err(self.unexpected(&format!("'{}'", c as char)))
        }
    }

    fn expect_kw(&mut self, k: Keyword) -> PResult<Token> {
        if self.at_kw(k)? {
            self.bump()
        } else {
            Err(self.unexpected(&format!("'{}'", k.as_str())))
        }
    }

    /// `KEYWORD =`
    fn field(&mut self, k: Keyword) -> PResult<()> {
        self.expect_kw(k)?;
        self.expect_punct(b'=')?;
        Ok(())
    }

    fn eat_punct(&mut self, c: u8) -> PResult<bool> {
        if self.at_punct(c)? {
            self.bump()?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    /// A decimal `INTEGER` token.
    fn integer(&mut self, what: &str) -> PResult<(i64, Span)> {
        match *self.peek_kind()? {
            TokenKind::Integer(v) => {
                let t = self.bump()?;
                Ok((v, t.span))
            }
            TokenKind::HugeInteger => Err(self.huge_integer()),
            _ => Err(self.unexpected(what)),
        }
    }

    /// `INTEGER` or `HEX_INTEGER` (packetdrill's `any_int`).
    fn any_int(&mut self, what: &str) -> PResult<(i64, Span)> {
        match *self.peek_kind()? {
            TokenKind::Integer(v) | TokenKind::HexInteger(v) => {
                let t = self.bump()?;
                Ok((v, t.span))
            }
            TokenKind::HugeInteger => Err(self.huge_integer()),
            _ => Err(self.unexpected(what)),
        }
    }

    /// The error for a decimal literal that does not fit in 64 bits, at the next token.
    fn huge_integer(&mut self) -> Diagnostic {
        match self.peek() {
            Ok(t) => {
                let span = t.span;
                let text = self.lx.text(span);
                Diagnostic::parse(
                    format!("integer '{text}' is out of range for 64 bits"),
                    span,
                    text,
                )
            }
            Err(e) => e,
        }
    }

    fn hex_integer(&mut self, what: &str) -> PResult<(i64, Span)> {
        if let TokenKind::HexInteger(v) = *self.peek_kind()? {
            let t = self.bump()?;
            Ok((v, t.span))
        } else {
            Err(self.unexpected(what))
        }
    }

    fn word(&mut self, what: &str) -> PResult<Spanned<String>> {
        if let TokenKind::Word(w) = self.peek_kind()? {
            let w = w.clone();
            let t = self.bump()?;
            Ok(Spanned::new(w, t.span))
        } else {
            Err(self.unexpected(what))
        }
    }

    fn string(&mut self, what: &str) -> PResult<(String, Span)> {
        if let TokenKind::String(s) = self.peek_kind()? {
            let s = s.clone();
            let t = self.bump()?;
            Ok((s, t.span))
        } else {
            Err(self.unexpected(what))
        }
    }

    // --------------------------------------------------------------------------------------
    // Script, options, events
    // --------------------------------------------------------------------------------------

    pub(crate) fn script(&mut self, cli_defines: &[(String, String)]) -> PResult<Script> {
        let mut options = Vec::new();
        while let TokenKind::OptionName(_) = self.peek_kind()? {
            options.push(self.option_line()?);
        }
        // packetdrill applies the options once the token after them has been read.
        self.peek()?;
        let mut defines: Vec<(String, String)> = Vec::new();
        for opt in &options {
            if let Some(def) = check_option(opt)? {
                defines.push(def);
            }
        }
        defines.extend(cli_defines.iter().cloned());
        self.lx
            .set_defines(defines.iter().map(|(k, v)| (k.as_str(), v.as_str())));

        let init_command = match self.peek_kind()? {
            TokenKind::Command(_) => Some(self.command()?),
            _ => None,
        };
        let mut events = Vec::new();
        let mut cleanup_command = None;
        loop {
            match self.peek_kind()? {
                TokenKind::Eof if !events.is_empty() => break,
                TokenKind::Eof => {
                    return Err(self.unexpected("an event (a time, then an action)"));
                }
                TokenKind::Command(_) if !events.is_empty() => {
                    cleanup_command = Some(self.command()?);
                    if *self.peek_kind()? != TokenKind::Eof {
                        return Err(self.unexpected(
                            "end of file: a command without a time may only come before \
                             the first event or after the last one",
                        ));
                    }
                    break;
                }
                _ => events.push(self.event()?),
            }
        }
        Ok(Script {
            options,
            init_command,
            events,
            cleanup_command,
        })
    }

    fn option_line(&mut self) -> PResult<OptionLine> {
        let tok = self.bump()?;
        let TokenKind::OptionName(name) = tok.kind else {
            return Err(Diagnostic::parse(
                "internal: expected an option",
                tok.span,
                "",
            ));
        };
        let value = if self.eat_punct(b'=')? {
            Some(self.option_value()?)
        } else {
            None
        };
        Ok(OptionLine {
            name,
            value,
            span: self.span_from(tok.span),
        })
    }

    fn option_value(&mut self) -> PResult<OptionValue> {
        let expected = "an option value (integer, word, \"string\" or address)";
        let tok = self.peek()?.clone();
        let value = match &tok.kind {
            TokenKind::Integer(_) | TokenKind::HugeInteger => {
                OptionValue::Integer(self.lx.text(tok.span))
            }
            TokenKind::String(s) => OptionValue::String(s.clone()),
            TokenKind::Ipv4Addr(s) => OptionValue::Ipv4(s.clone()),
            TokenKind::Ipv6Addr(s) => OptionValue::Ipv6(s.clone()),
            TokenKind::Keyword(Keyword::Ipv4) => OptionValue::Word("ipv4".into()),
            TokenKind::Keyword(Keyword::Ipv6) => OptionValue::Word("ipv6".into()),
            TokenKind::Word(w) => {
                let name = w.clone();
                self.bump()?;
                if !self.eat_punct(b'=')? {
                    return Ok(OptionValue::Word(name));
                }
                let v = match self.peek_kind()? {
                    TokenKind::Word(v) => DefineValue::Word(v.clone()),
                    TokenKind::String(v) => DefineValue::String(v.clone()),
                    TokenKind::Command(v) => DefineValue::Command(v.clone()),
                    _ => {
                        return Err(self.unexpected("a word, \"string\" or `command` after 'NAME='"))
                    }
                };
                self.bump()?;
                return Ok(OptionValue::Define { name, value: v });
            }
            _ => return Err(self.unexpected(expected)),
        };
        self.bump()?;
        Ok(value)
    }

    fn command(&mut self) -> PResult<Command> {
        let tok = self.bump()?;
        match tok.kind {
            TokenKind::Command(text) => Ok(Command {
                text,
                span: tok.span,
            }),
            _ => Err(Diagnostic::parse(
                "internal: expected a command",
                tok.span,
                "",
            )),
        }
    }

    fn event(&mut self) -> PResult<Event> {
        let start = self.peek()?.span;
        let (time, line, time_span) = self.event_time()?;
        let action = self.action()?;
        if let TimeSpec::AbsoluteRange(a, b) | TimeSpec::RelativeRange(a, b) = time {
            if b < a {
                return Err(Diagnostic::semantic("time range is backwards", time_span));
            }
        }
        let outbound_packet =
            matches!(&action, Action::Packet(p) if p.direction == Direction::Outbound);
        match time {
            TimeSpec::Any if !outbound_packet => {
                return Err(Diagnostic::semantic(
                    "event time <star> can only be used with outbound packets",
                    time_span,
                ))
            }
            TimeSpec::AbsoluteRange(..) | TimeSpec::RelativeRange(..) if !outbound_packet => {
                return Err(Diagnostic::semantic(
                    "event time range can only be used with outbound packets",
                    time_span,
                ))
            }
            _ => {}
        }
        Ok(Event {
            time,
            action,
            line,
            span: self.span_from(start),
        })
    }

    /// The time of an event, the line packetdrill reports for it, and its span.
    fn event_time(&mut self) -> PResult<(TimeSpec, u32, Span)> {
        let tok = self.peek()?.clone();
        match tok.kind {
            TokenKind::Punct(b'*') => {
                self.bump()?;
                Ok((TimeSpec::Any, tok.span.line, tok.span))
            }
            TokenKind::Punct(b'+') => {
                self.bump()?;
                let (t, t_span) = self.time_value()?;
                if self.eat_punct(b'~')? {
                    if !self.at_punct(b'+')? {
                        return Err(self.unexpected(
                            "'+' (both ends of a relative range are relative: +A~+B)",
                        ));
                    }
                    self.bump()?;
                    let (e, _) = self.time_value()?;
                    Ok((
                        TimeSpec::RelativeRange(t, e),
                        tok.span.line,
                        self.span_from(tok.span),
                    ))
                } else {
                    Ok((TimeSpec::Relative(t), t_span.line, self.span_from(tok.span)))
                }
            }
            TokenKind::Integer(_) | TokenKind::HugeInteger | TokenKind::Float(_) => {
                let (t, t_span) = self.time_value()?;
                if self.eat_punct(b'~')? {
                    let (e, _) = self.time_value()?;
                    Ok((
                        TimeSpec::AbsoluteRange(t, e),
                        t_span.line,
                        self.span_from(t_span),
                    ))
                } else {
                    Ok((TimeSpec::Absolute(t), t_span.line, t_span))
                }
            }
            _ => Err(self.unexpected("a time (like 0, +0.1, 1.5~2, +0~+0.2 or *)")),
        }
    }

    /// `INTEGER` or `FLOAT` seconds, converted to microseconds as packetdrill does.
    fn time_value(&mut self) -> PResult<(Micros, Span)> {
        match *self.peek_kind()? {
            TokenKind::Integer(v) => {
                let t = self.bump()?;
                if v < 0 {
                    return Err(Diagnostic::semantic("negative time", t.span));
                }
                let us = v
                    .checked_mul(1_000_000)
                    .ok_or_else(|| Diagnostic::semantic("time out of range", t.span))?;
                Ok((us, t.span))
            }
            TokenKind::Float(v) => {
                let t = self.bump()?;
                if v < 0.0 {
                    return Err(Diagnostic::semantic("negative time", t.span));
                }
                let us = v * 1.0e6;
                if !us.is_finite() || us >= i64::MAX as f64 {
                    return Err(Diagnostic::semantic("time out of range", t.span));
                }
                Ok((us as i64, t.span))
            }
            TokenKind::HugeInteger => Err(self.huge_integer()),
            _ => Err(self.unexpected("a time in seconds (like 0, 0.1 or .25)")),
        }
    }

    fn action(&mut self) -> PResult<Action> {
        match self.peek_kind()? {
            TokenKind::Punct(b'<') | TokenKind::Punct(b'>') => Ok(Action::Packet(self.packet()?)),
            TokenKind::Word(_) | TokenKind::Ellipsis => Ok(Action::Syscall(self.syscall()?)),
            TokenKind::Command(_) => Ok(Action::Command(self.command()?)),
            TokenKind::Code(_) => {
                let tok = self.bump()?;
                match tok.kind {
                    TokenKind::Code(text) => Ok(Action::Code(CodeSnippet {
                        text,
                        span: tok.span,
                    })),
                    _ => Err(Diagnostic::parse("internal: expected code", tok.span, "")),
                }
            }
            _ => Err(self.unexpected(
                "a packet ('<' or '>'), a system call, a `command` or a %{ code }% block",
            )),
        }
    }

    // --------------------------------------------------------------------------------------
    // Packets
    // --------------------------------------------------------------------------------------

    fn packet(&mut self) -> PResult<PacketSpec> {
        let dir_tok = self.bump()?;
        let direction = if dir_tok.kind.is_punct(b'<') {
            Direction::Inbound
        } else {
            Direction::Outbound
        };
        let mut outer = Vec::new();
        loop {
            match self.peek_kind()? {
                TokenKind::Keyword(Keyword::Ipv4) => outer.push(self.outer_ipv4()?),
                TokenKind::Keyword(Keyword::Ipv6) => outer.push(self.outer_ipv6()?),
                TokenKind::Keyword(Keyword::Gre) => outer.push(self.outer_gre()?),
                TokenKind::Keyword(Keyword::Mpls) => {
                    self.bump()?;
                    let entries = self.mpls_stack()?;
                    self.expect_punct(b':')?;
                    outer.push(OuterHeader::Mpls(entries));
                }
                _ => break,
            }
        }
        let (ip_info, info_span) = self.opt_ip_info()?;
        let body = match self.peek_kind()? {
            TokenKind::Keyword(Keyword::Udp) => PacketBody::Udp(self.udp(ip_info, info_span)?),
            TokenKind::Keyword(Keyword::Icmp) => {
                PacketBody::Icmp(self.icmp(direction, ip_info, info_span)?)
            }
            _ => PacketBody::Tcp(self.tcp(direction, ip_info, info_span)?),
        };
        Ok(PacketSpec {
            direction,
            outer,
            ip_info,
            body,
            span: self.span_from(dir_tok.span),
        })
    }

    fn outer_addresses(&mut self, v6: bool) -> PResult<((String, Span), (String, Span))> {
        let addr = |p: &mut Self| -> PResult<(String, Span)> {
            let tok = p.peek()?.clone();
            match (&tok.kind, v6) {
                (TokenKind::Ipv4Addr(a), false) | (TokenKind::Ipv6Addr(a), true) => {
                    let a = a.clone();
                    p.bump()?;
                    Ok((a, tok.span))
                }
                _ => Err(p.unexpected(if v6 {
                    "an IPv6 address"
                } else {
                    "an IPv4 address"
                })),
            }
        };
        let src = addr(self)?;
        self.expect_punct(b'>')?;
        let dst = addr(self)?;
        self.expect_punct(b':')?;
        Ok((src, dst))
    }

    fn outer_ipv4(&mut self) -> PResult<OuterHeader> {
        self.bump()?;
        let (info, _) = self.opt_ip_info()?;
        let ((src, src_span), (dst, dst_span)) = self.outer_addresses(false)?;
        let src: Ipv4Addr = src.parse().map_err(|_| {
            Diagnostic::semantic(format!("bad IPv4 src address: '{src}'"), src_span)
        })?;
        let dst: Ipv4Addr = dst.parse().map_err(|_| {
            Diagnostic::semantic(format!("bad IPv4 dst address: '{dst}'"), dst_span)
        })?;
        Ok(OuterHeader::Ipv4 { info, src, dst })
    }

    fn outer_ipv6(&mut self) -> PResult<OuterHeader> {
        self.bump()?;
        let (info, _) = self.opt_ip_info()?;
        let ((src, src_span), (dst, dst_span)) = self.outer_addresses(true)?;
        let src: Ipv6Addr = src.parse().map_err(|_| {
            Diagnostic::semantic(format!("bad IPv6 src address: '{src}'"), src_span)
        })?;
        let dst: Ipv6Addr = dst.parse().map_err(|_| {
            Diagnostic::semantic(format!("bad IPv6 dst address: '{dst}'"), dst_span)
        })?;
        Ok(OuterHeader::Ipv6 { info, src, dst })
    }

    fn outer_gre(&mut self) -> PResult<OuterHeader> {
        self.bump()?;
        if self.eat_punct(b':')? {
            return Ok(OuterHeader::Gre(None));
        }
        self.eat_punct(b',')?;
        let start = self.peek()?.span;
        let gre = self.gre_header()?;
        if gre.flags & 0x4000 != 0 {
            return Err(Diagnostic::semantic(
                "GRE routing (flag 0x4000) is not supported",
                self.span_from(start),
            ));
        }
        self.expect_punct(b':')?;
        Ok(OuterHeader::Gre(Some(gre)))
    }

    /// `flags [..] | flags N, sum N, off N, key [=] N, seq N` (commas optional).
    fn gre_header(&mut self) -> PResult<GreHeader> {
        self.expect_kw(Keyword::Flags)?;
        let flags = if self.eat_punct(b'[')? {
            let mut flags = 0i64;
            loop {
                flags |= self.gre_flag()?;
                if !self.eat_punct(b',')? {
                    break;
                }
            }
            self.expect_punct(b']')?;
            flags
        } else {
            let (v, span) =
                self.any_int("GRE flags: [none], [checksum present, ...] or a number")?;
            range(v, 0xffff, "GRE flags out of range for 16 bits", span)?
        };
        self.eat_punct(b',')?;
        self.expect_kw(Keyword::Sum)?;
        let (sum, span) = self.any_int("a number")?;
        let sum = range(sum, 0xffff, "GRE sum out of range for 16 bits", span)?;
        self.eat_punct(b',')?;
        self.expect_kw(Keyword::Off)?;
        let (off, span) = self.any_int("a number")?;
        let off = range(off, 0xffff, "GRE off out of range for 16 bits", span)?;
        self.eat_punct(b',')?;
        self.expect_kw(Keyword::Key)?;
        self.eat_punct(b'=')?;
        let (key, span) = self.any_int("a number")?;
        let key = range(key, 0xffff_ffff, "GRE key out of range for 32 bits", span)?;
        self.eat_punct(b',')?;
        self.expect_kw(Keyword::Seq)?;
        let (seq, span) = self.any_int("a number")?;
        let seq = range(seq, 0xffff_ffff, "GRE seq out of range for 32 bits", span)?;
        Ok(GreHeader {
            flags: flags as u16,
            sum: sum as u16,
            off: off as u16,
            key: key as u32,
            seq: seq as u32,
        })
    }

    fn gre_flag(&mut self) -> PResult<i64> {
        let bit = match self.peek_kind()? {
            TokenKind::Keyword(Keyword::None) => {
                self.bump()?;
                return Ok(0);
            }
            TokenKind::Keyword(Keyword::Checksum) => 0x8000,
            TokenKind::Keyword(Keyword::Key) => 0x2000,
            TokenKind::Keyword(Keyword::Sequence) => 0x1000,
            _ => {
                return Err(self.unexpected(
                    "a GRE flag: none, checksum present, key present or sequence# present",
                ))
            }
        };
        self.bump()?;
        self.expect_kw(Keyword::Present)?;
        Ok(bit)
    }

    /// `(label L, tc T, [S], ttl X) ...` (possibly none).
    fn mpls_stack(&mut self) -> PResult<Vec<MplsEntry>> {
        let mut entries = Vec::new();
        while self.at_punct(b'(')? {
            let start = self.peek()?.span;
            let entry = self.mpls_entry()?;
            if entries.len() >= MPLS_STACK_MAX_ENTRIES {
                return Err(Diagnostic::semantic(
                    "too many MPLS labels",
                    self.span_from(start),
                ));
            }
            entries.push(entry);
        }
        Ok(entries)
    }

    fn mpls_entry(&mut self) -> PResult<MplsEntry> {
        self.expect_punct(b'(')?;
        self.expect_kw(Keyword::Label)?;
        let (label, label_span) = self.integer("an MPLS label")?;
        self.expect_punct(b',')?;
        self.expect_kw(Keyword::Tc)?;
        let (tc, tc_span) = self.integer("an MPLS traffic class")?;
        self.expect_punct(b',')?;
        let bottom = if self.eat_punct(b'[')? {
            let w = self.word("S")?;
            self.expect_punct(b']')?;
            if w.value != "S" {
                return Err(Diagnostic::semantic(
                    "expected [S] for MPLS label stack bottom",
                    w.span,
                ));
            }
            self.expect_punct(b',')?;
            true
        } else {
            false
        };
        self.expect_kw(Keyword::Ttl)?;
        let (ttl, ttl_span) = self.integer("an MPLS ttl")?;
        self.expect_punct(b')')?;
        let label = range(
            label,
            (1 << 20) - 1,
            "MPLS label out of range for 20 bits",
            label_span,
        )?;
        let tc = range(tc, 7, "MPLS traffic_class out of range for 3 bits", tc_span)?;
        let ttl = range(ttl, 255, "MPLS ttl out of range for 8 bits", ttl_span)?;
        Ok(MplsEntry {
            label: label as u32,
            tc: tc as u8,
            bottom_of_stack: bottom,
            ttl: ttl as u8,
        })
    }

    /// `(...)` or `[...]` with ECN / TOS / flow label / TTL, if present.
    fn opt_ip_info(&mut self) -> PResult<(IpInfo, Option<Span>)> {
        let close = match self.peek_kind()? {
            TokenKind::Punct(b'(') => b')',
            TokenKind::Punct(b'[') => b']',
            _ => return Ok((IpInfo::default(), None)),
        };
        let open = self.bump()?;
        let mut info = IpInfo::default();
        match self.peek_kind()? {
            TokenKind::Keyword(Keyword::Ttl) => {
                self.bump()?;
                let (ttl, span) = self.integer("a TTL")?;
                info.ttl = Some(range(ttl, 255, "ttl out of range for 8 bits", span)? as u8);
            }
            TokenKind::Keyword(Keyword::FlowLabel) => {
                info.flow_label = Some(self.flow_label()?);
            }
            TokenKind::Keyword(
                Keyword::NoEcn
                | Keyword::Ect0
                | Keyword::Ect1
                | Keyword::Ce
                | Keyword::Ect01
                | Keyword::Tos,
            ) => {
                info.tos = self.tos_spec()?;
                if self.eat_punct(b',')? {
                    info.flow_label = Some(self.flow_label()?);
                }
            }
            _ => {
                return Err(self.unexpected(
                    "noecn, ect0, ect1, ce, ect01, 'tos 0xNN', 'flowlabel 0xNNNNN' or 'ttl N'",
                ))
            }
        }
        self.expect_punct(close)?;
        Ok((info, Some(self.span_from(open.span))))
    }

    fn tos_spec(&mut self) -> PResult<TosSpec> {
        let tok = self.bump()?;
        Ok(match tok.kind {
            TokenKind::Keyword(Keyword::NoEcn) => TosSpec::Ecn(Ecn::NotEct),
            TokenKind::Keyword(Keyword::Ect0) => TosSpec::Ecn(Ecn::Ect0),
            TokenKind::Keyword(Keyword::Ect1) => TosSpec::Ecn(Ecn::Ect1),
            TokenKind::Keyword(Keyword::Ce) => TosSpec::Ecn(Ecn::Ce),
            TokenKind::Keyword(Keyword::Ect01) => TosSpec::Ect01,
            _ => {
                let (tos, span) = self.hex_integer("a hex TOS value like 0x10")?;
                TosSpec::Tos(range(tos, 0xff, "tos out of range for 8 bits", span)? as u8)
            }
        })
    }

    fn flow_label(&mut self) -> PResult<u32> {
        self.expect_kw(Keyword::FlowLabel)?;
        let (v, span) = self.hex_integer("a hex flow label like 0x12345")?;
        Ok(range(v, 0xf_ffff, "flowlabel out of range for 20 bits", span)? as u32)
    }

    /// `sport>dport`, if the next token is an integer.
    fn opt_ports(&mut self) -> PResult<Option<Ports>> {
        if !matches!(
            self.peek_kind()?,
            TokenKind::Integer(_) | TokenKind::HugeInteger
        ) {
            return Ok(None);
        }
        let (src, src_span) = self.integer("a source port")?;
        self.expect_punct(b'>')?;
        let (dst, dst_span) = self.integer("a destination port")?;
        let src = range(src, 0xffff, "src port out of range", src_span)?;
        let dst = range(dst, 0xffff, "dst port out of range", dst_span)?;
        Ok(Some(Ports {
            src: src as u16,
            dst: dst as u16,
        }))
    }

    /// `start:end(len)`
    fn seq_spec(&mut self) -> PResult<SeqSpec> {
        let (start, start_span) =
            self.integer("a sequence range 'start:end(length)', like 1:1001(1000)")?;
        self.expect_punct(b':')?;
        let (end, end_span) = self.integer("the end sequence number")?;
        self.expect_punct(b'(')?;
        let (len, len_span) = self.integer("the payload length")?;
        self.expect_punct(b')')?;
        let start = range(
            start,
            0xffff_ffff,
            "TCP start sequence number out of range",
            start_span,
        )?;
        let end = range(
            end,
            0xffff_ffff,
            "TCP end sequence number out of range",
            end_span,
        )?;
        let len = range(len, 0xffff, "TCP payload size out of range", len_span)?;
        if end != start + len {
            return Err(Diagnostic::semantic(
                "inconsistent TCP sequence numbers and payload size",
                self.span_from(start_span),
            ));
        }
        Ok(SeqSpec {
            start: start as u32,
            end: end as u32,
            len: len as u16,
        })
    }

    fn tcp_flags(&mut self) -> PResult<Spanned<String>> {
        let tok = self.peek()?.clone();
        let text = match &tok.kind {
            TokenKind::Word(w) => {
                let mut text = w.clone();
                self.bump()?;
                let next = self.peek()?.clone();
                match next.kind {
                    TokenKind::Punct(b'.') => {
                        self.bump()?;
                        text.push('.');
                    }
                    TokenKind::Float(_) => {
                        self.bump()?;
                        text.push_str(&self.lx.text(next.span));
                    }
                    _ => {}
                }
                text
            }
            TokenKind::Float(_) => {
                self.bump()?;
                self.lx.text(tok.span)
            }
            TokenKind::Punct(b'.') => {
                self.bump()?;
                ".".to_string()
            }
            TokenKind::Punct(b'-') => {
                self.bump()?;
                String::new()
            }
            _ => {
                return Err(
                    self.unexpected("TCP flags (like S, S., P., F., R, ., - for none) or udp/icmp")
                )
            }
        };
        Ok(Spanned::new(text, self.span_from(tok.span)))
    }

    fn tcp(
        &mut self,
        direction: Direction,
        ip_info: IpInfo,
        info_span: Option<Span>,
    ) -> PResult<TcpSpec> {
        let psp_spi = if self.at_kw(Keyword::Encap)? {
            self.bump()?;
            self.expect_kw(Keyword::Psp)?;
            self.expect_kw(Keyword::Spi)?;
            let (spi, span) = self.any_int("a PSP SPI number")?;
            Some(range(spi, 0xffff_ffff, "PSP spi out of range for 32 bits", span)? as u32)
        } else {
            None
        };
        let ports = self.opt_ports()?;
        let flags_text = self.tcp_flags()?;
        let seq = self.seq_spec()?;
        let ack = if self.at_kw(Keyword::Ack)? {
            self.bump()?;
            let (v, span) = self.integer("an ack number")?;
            Some(range(v, 0xffff_ffff, "TCP ack sequence number out of range", span)? as u32)
        } else {
            None
        };
        let win = if self.at_kw(Keyword::Win)? {
            self.bump()?;
            let (v, span) = self.integer("a window value")?;
            Some(range(v, 0xffff, "TCP window value out of range", span)? as u16)
        } else {
            None
        };
        let urg = if self.at_kw(Keyword::Urg)? {
            self.bump()?;
            let (v, span) = self.integer("an urgent pointer value")?;
            Some(range(v, 0xffff, "urg_ptr value out of range", span)? as u16)
        } else {
            None
        };
        let (options, option_bytes) = if self.at_punct(b'<')? {
            self.tcp_options()?
        } else {
            (TcpOptionsSpec::Absent, 0)
        };

        // The checks packetdrill makes once the whole TCP line is read, in its order.
        let info_span = info_span.unwrap_or(flags_text.span);
        if ip_info.tos == TosSpec::Ect01 && direction != Direction::Outbound {
            return Err(Diagnostic::semantic(
                "[ect01] can only be used with outbound packets",
                info_span,
            ));
        }
        if let TcpOptionsSpec::Ellipsis(span) = options {
            if direction != Direction::Outbound {
                return Err(Diagnostic::semantic(
                    "<...> for TCP options can only be used with outbound packets",
                    span,
                ));
            }
        }
        if option_bytes % 4 != 0 {
            let span = match &options {
                TcpOptionsSpec::List(list) => list
                    .first()
                    .map(|o| o.span)
                    .unwrap_or(flags_text.span)
                    .to(list.last().map(|o| o.span).unwrap_or(flags_text.span)),
                _ => flags_text.span,
            };
            return Err(Diagnostic::semantic(
                format!(
                    "TCP options are not padded correctly to ensure TCP header is a multiple \
                     of 4 bytes: {} excess bytes",
                    option_bytes % 4
                ),
                span,
            ));
        }
        let flags = TcpFlags::from_script(&flags_text.value)
            .map_err(|msg| Diagnostic::semantic(msg, flags_text.span))?;
        if win.is_none() && direction == Direction::Inbound {
            return Err(Diagnostic::semantic(
                "window must be specified for inbound packets",
                self.span_from(flags_text.span),
            ));
        }
        Ok(TcpSpec {
            psp_spi,
            ports,
            flags: Spanned::new(flags, flags_text.span),
            seq,
            ack,
            win,
            urg,
            options,
        })
    }

    /// `<...>` or `<opt, opt, ...>`, with the total option length in bytes.
    fn tcp_options(&mut self) -> PResult<(TcpOptionsSpec, usize)> {
        let open = self.bump()?;
        if self.at(&TokenKind::Ellipsis)? {
            self.bump()?;
            self.expect_punct(b'>')?;
            return Ok((TcpOptionsSpec::Ellipsis(self.span_from(open.span)), 0));
        }
        let mut list = Vec::new();
        let mut total = 0usize;
        loop {
            let start = self.peek()?.span;
            let (opt, len) = self.tcp_option()?;
            let span = self.span_from(start);
            total += len;
            if total > MAX_TCP_OPTION_BYTES {
                return Err(Diagnostic::semantic("TCP option list too long", span));
            }
            list.push(Spanned::new(opt, span));
            if self.eat_punct(b',')? {
                continue;
            }
            if self.at_punct(b'>')? {
                self.bump()?;
                break;
            }
            return Err(self.unexpected("',' or '>' after a TCP option"));
        }
        Ok((TcpOptionsSpec::List(list), total))
    }

    fn at(&mut self, kind: &TokenKind) -> PResult<bool> {
        Ok(self.peek_kind()? == kind)
    }

    /// A hex string for md5 / FO / FOEXP: a word, or an integer's text.
    fn hex_blob(&mut self, what: &str) -> PResult<(String, Span)> {
        let tok = self.peek()?.clone();
        match &tok.kind {
            TokenKind::Word(w) => {
                let w = w.clone();
                self.bump()?;
                Ok((w, tok.span))
            }
            TokenKind::Integer(_) | TokenKind::HugeInteger => {
                self.bump()?;
                Ok((self.lx.text(tok.span), tok.span))
            }
            _ => Err(self.unexpected(what)),
        }
    }

    fn tcp_option(&mut self) -> PResult<(TcpOptionSpec, usize)> {
        let tok = self.peek()?.clone();
        let TokenKind::Keyword(kw) = tok.kind else {
            return Err(self.unexpected(
                "a TCP option: nop, eol, mss N, wscale N, sackOK, sack A:B, TS val N ecr N, \
                 md5 HEX, FO [HEX], FOEXP [HEX], ECN e0b|e1b N ... or '...'",
            ));
        };
        let opt =
            match kw {
                Keyword::Nop => {
                    self.bump()?;
                    (TcpOptionSpec::Nop, 1)
                }
                Keyword::Eol => {
                    self.bump()?;
                    (TcpOptionSpec::Eol, 1)
                }
                Keyword::Mss => {
                    self.bump()?;
                    let (v, span) = self.integer("an MSS value")?;
                    let v = range(v, 0xffff, "mss value out of range", span)?;
                    (TcpOptionSpec::Mss(v as u16), 4)
                }
                Keyword::Wscale => {
                    self.bump()?;
                    let (v, span) = self.integer("a window scale shift count")?;
                    let v = range(v, 0xff, "window scale shift count out of range", span)?;
                    (TcpOptionSpec::Wscale(v as u8), 3)
                }
                Keyword::SackOk => {
                    self.bump()?;
                    (TcpOptionSpec::SackOk, 2)
                }
                Keyword::Sack => {
                    self.bump()?;
                    let mut blocks = Vec::new();
                    loop {
                        let (l, l_span) = self.integer("a SACK block 'left:right'")?;
                        self.expect_punct(b':')?;
                        let (r, r_span) = self.integer("the right edge of the SACK block")?;
                        let l = range(
                            l,
                            0xffff_ffff,
                            "TCP SACK left sequence number out of range",
                            l_span,
                        )?;
                        let r = range(
                            r,
                            0xffff_ffff,
                            "TCP SACK right sequence number out of range",
                            r_span,
                        )?;
                        blocks.push((l as u32, r as u32));
                        if !matches!(
                            self.peek_kind()?,
                            TokenKind::Integer(_) | TokenKind::HugeInteger
                        ) {
                            break;
                        }
                        if 2 + 8 * blocks.len() > MAX_TCP_OPTION_BYTES {
                            let span = self.peek()?.span;
                            return Err(Diagnostic::semantic("TCP option list too long", span));
                        }
                    }
                    let len = 2 + 8 * blocks.len();
                    (TcpOptionSpec::Sack(blocks), len)
                }
                Keyword::Md5 => {
                    self.bump()?;
                    let (hex, span) = self.hex_blob("an MD5 digest in hex")?;
                    if hex.len() / 2 > 16 {
                        return Err(Diagnostic::semantic(
                            "TCP MD5 digest longer than 16 bytes",
                            span,
                        ));
                    }
                    let bytes = parse_hex(&hex).ok_or_else(|| {
                        Diagnostic::semantic("TCP MD5 digest is not a valid hex string", span)
                    })?;
                    let len = 2 + bytes.len();
                    (TcpOptionSpec::Md5(bytes), len)
                }
                Keyword::Timestamp => {
                    self.bump()?;
                    self.expect_kw(Keyword::Val)?;
                    let (val, val_span) = self.integer("a TS val")?;
                    self.expect_kw(Keyword::Ecr)?;
                    let (ecr, ecr_span) = self.integer("a TS ecr")?;
                    let val = range(val, 0xffff_ffff, "ts val out of range", val_span)?;
                    let ecr = range(ecr, 0xffff_ffff, "ecr val out of range", ecr_span)?;
                    (
                        TcpOptionSpec::Timestamp {
                            val: val as u32,
                            ecr: ecr as u32,
                        },
                        10,
                    )
                }
                Keyword::FastOpen | Keyword::FastOpenExp => {
                    self.bump()?;
                    let exp = kw == Keyword::FastOpenExp;
                    let (cookie, span) = match self.peek_kind()? {
                        TokenKind::Word(_) | TokenKind::Integer(_) | TokenKind::HugeInteger => {
                            self.hex_blob("a cookie in hex")?
                        }
                        _ => (String::new(), tok.span),
                    };
                    if cookie.len() % 2 == 1 {
                        return Err(Diagnostic::semantic(
                            "TCP fast open cookie has an odd number of digits",
                            span,
                        ));
                    }
                    let base = if exp { 4 } else { 2 };
                    let max = MAX_TCP_OPTION_BYTES - base;
                    if cookie.len() / 2 > max {
                        return Err(Diagnostic::semantic(
                            format!(
                                "TCP fast open cookie of {} bytes exceeds maximum cookie length \
                             of {max} bytes",
                                cookie.len() / 2
                            ),
                            span,
                        ));
                    }
                    let bytes = parse_hex(&cookie).ok_or_else(|| {
                        Diagnostic::semantic(
                            format!("TCP fast open cookie '{cookie}' is not a valid hex string"),
                            span,
                        )
                    })?;
                    let len = base + bytes.len();
                    if exp {
                        (TcpOptionSpec::FastOpenExp(bytes), len)
                    } else {
                        (TcpOptionSpec::FastOpen(bytes), len)
                    }
                }
                Keyword::AccEcn => {
                    self.bump()?;
                    let (order, last) = match self.peek_kind()? {
                        TokenKind::Keyword(Keyword::E0b) => (AccEcnOrder::E0bFirst, Keyword::E1b),
                        TokenKind::Keyword(Keyword::E1b) => (AccEcnOrder::E1bFirst, Keyword::E0b),
                        _ => return Err(self.unexpected("e0b or e1b")),
                    };
                    self.bump()?;
                    let mut fields = vec![self.accecn_val()?];
                    if self.at_kw(Keyword::Ceb)? {
                        self.bump()?;
                        fields.push(self.accecn_val()?);
                        if self.at_kw(last)? {
                            self.bump()?;
                            fields.push(self.accecn_val()?);
                        }
                    }
                    let len = 2 + 3 * fields.len();
                    (TcpOptionSpec::AccEcn { order, fields }, len)
                }
                _ => return Err(self.unexpected(
                    "a TCP option: nop, eol, mss N, wscale N, sackOK, sack A:B, TS val N ecr N, \
                     md5 HEX, FO [HEX], FOEXP [HEX], ECN e0b|e1b N ... or '...'",
                )),
            };
        Ok(opt)
    }

    fn accecn_val(&mut self) -> PResult<u32> {
        let (v, span) = self.integer("an AccECN counter value")?;
        Ok(range(v, 0xff_ffff, "TCP AccECN field value out of range", span)? as u32)
    }

    fn udp(&mut self, ip_info: IpInfo, info_span: Option<Span>) -> PResult<UdpSpec> {
        let kw = self.bump()?;
        let ports = self.opt_ports()?;
        self.expect_punct(b'(')?;
        let (len, len_span) = self.integer("the UDP payload length")?;
        self.expect_punct(b')')?;
        if let TosSpec::Ecn(_) = ip_info.tos {
            return Err(Diagnostic::semantic(
                "ECN can only be used with TCP packets",
                info_span.unwrap_or(kw.span),
            ));
        }
        let len = range(len, 0xffff, "UDP payload size out of range", len_span)?;
        Ok(UdpSpec {
            ports,
            len: len as u16,
        })
    }

    fn icmp(
        &mut self,
        direction: Direction,
        ip_info: IpInfo,
        info_span: Option<Span>,
    ) -> PResult<IcmpSpec> {
        let kw = self.bump()?;
        let type_name = self.word("an ICMP type (like unreachable, echo_request, type_3)")?;
        let code_name = match self.peek_kind()? {
            TokenKind::Word(_) => Some(self.word("an ICMP code")?),
            _ => None,
        };
        let mtu = if self.at_kw(Keyword::Mtu)? {
            self.bump()?;
            Some(self.integer("an MTU value")?.0)
        } else {
            None
        };
        let id = if self.at_kw(Keyword::Id)? {
            self.bump()?;
            Some(self.integer("an ICMP echo id")?.0)
        } else {
            None
        };
        let echoed = if self.eat_punct(b'[')? {
            let echoed = match self.peek_kind()? {
                TokenKind::Keyword(k @ (Keyword::Udp | Keyword::Raw)) => {
                    let udp = *k == Keyword::Udp;
                    self.bump()?;
                    self.expect_punct(b'(')?;
                    let (len, span) = self.integer("a payload length")?;
                    self.expect_punct(b')')?;
                    let len =
                        range(len, 0xffff, "ICMP echoed payload size out of range", span)? as u16;
                    if udp {
                        IcmpEchoed::Udp(len)
                    } else {
                        IcmpEchoed::Raw(len)
                    }
                }
                _ => IcmpEchoed::Tcp(self.seq_spec()?),
            };
            self.expect_punct(b']')?;
            echoed
        } else {
            IcmpEchoed::Default
        };
        if ip_info.tos == TosSpec::Ect01 && direction != Direction::Outbound {
            return Err(Diagnostic::semantic(
                "[ect01] can only be used with outbound packets",
                info_span.unwrap_or(kw.span),
            ));
        }
        Ok(IcmpSpec {
            type_name,
            code_name,
            mtu,
            id,
            echoed,
        })
    }

    // --------------------------------------------------------------------------------------
    // System calls and expressions
    // --------------------------------------------------------------------------------------

    fn syscall(&mut self) -> PResult<SyscallSpec> {
        let end_time = if self.at(&TokenKind::Ellipsis)? {
            self.bump()?;
            Some(self.time_value()?.0)
        } else {
            None
        };
        let name = self.word("a system call name")?;
        self.expect_punct(b'(')?;
        let mut args = Vec::new();
        if !self.at_punct(b')')? {
            loop {
                args.push(self.expr()?);
                if !self.eat_punct(b',')? {
                    break;
                }
            }
        }
        if !self.at_punct(b')')? {
            return Err(self.unexpected("',' or ')' in the argument list"));
        }
        self.bump()?;
        if !self.at_punct(b'=')? {
            return Err(self.unexpected("'=' and the expected result"));
        }
        self.bump()?;
        let result = self.expr()?;
        let errno = match self.peek_kind()? {
            TokenKind::Word(_) => {
                let name = self.word("an errno name")?;
                if !self.at_punct(b'(')? {
                    return Err(self.unexpected(
                        "'(' and a note after the errno name, e.g. EAGAIN (Resource temporarily \
                         unavailable)",
                    ));
                }
                let note = self.note()?;
                Some(ErrnoSpec { name, note })
            }
            _ => None,
        };
        let note = if self.at_punct(b'(')? {
            Some(self.note()?)
        } else {
            None
        };
        Ok(SyscallSpec {
            end_time,
            name,
            args,
            result,
            errno,
            note,
        })
    }

    /// `( WORD... )`: plain words (the first may be `flags`), joined by single spaces.
    fn note(&mut self) -> PResult<String> {
        self.expect_punct(b'(')?;
        let mut words = Vec::new();
        match self.peek_kind()? {
            TokenKind::Word(w) => words.push(w.clone()),
            TokenKind::Keyword(Keyword::Flags) => words.push("flags".to_string()),
            _ => {
                return Err(self.unexpected(
                    "a word in the note (notes hold plain words: no keywords, numbers or \
                     punctuation)",
                ))
            }
        }
        self.bump()?;
        while let TokenKind::Word(w) = self.peek_kind()? {
            words.push(w.clone());
            self.bump()?;
        }
        if !self.at_punct(b')')? {
            return Err(self.unexpected(
                "a word or ')' (notes hold plain words: no keywords, numbers or punctuation)",
            ));
        }
        self.bump()?;
        Ok(words.join(" "))
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let span = self.peek()?.span;
            return Err(Diagnostic::parse(
                format!("expression nested too deeply (more than {MAX_DEPTH} levels)"),
                span,
                self.lx.text(span),
            ));
        }
        Ok(())
    }

    /// `operand ('|' operand)*`, right-associative like packetdrill's grammar.
    fn expr(&mut self) -> PResult<Expr> {
        let saved = self.depth;
        // Frames on this recursion are large in unoptimized builds: make sure each
        // level has room, whatever stack the caller runs on.
        let result = stacker::maybe_grow(STACK_RED_ZONE, STACK_SEGMENT, || self.expr_inner());
        self.depth = saved;
        result
    }

    fn expr_inner(&mut self) -> PResult<Expr> {
        self.enter()?;
        let mut operands = vec![self.operand()?];
        while self.eat_punct(b'|')? {
            self.enter()?;
            operands.push(self.operand()?);
        }
        let mut acc = operands
            .pop()
            .ok_or_else(|| Diagnostic::parse("internal: empty expression", Span::default(), ""))?;
        while let Some(lhs) = operands.pop() {
            let span = lhs.span.to(acc.span);
            acc = Expr::new(ExprKind::BitOr(Box::new(lhs), Box::new(acc)), span);
        }
        Ok(acc)
    }

    fn expr_list(&mut self, close: u8) -> PResult<Vec<Expr>> {
        let mut items = vec![self.expr()?];
        while self.eat_punct(b',')? {
            items.push(self.expr()?);
        }
        if !self.at_punct(close)? {
            return Err(self.unexpected(&format!("',' or '{}'", close as char)));
        }
        self.bump()?;
        Ok(items)
    }

    fn operand(&mut self) -> PResult<Expr> {
        let tok = self.peek()?.clone();
        let kind = match tok.kind {
            TokenKind::Ellipsis => {
                self.bump()?;
                ExprKind::Ellipsis
            }
            TokenKind::Integer(value) => {
                self.bump()?;
                ExprKind::Int { value, hex: false }
            }
            TokenKind::HugeInteger => return Err(self.huge_integer()),
            TokenKind::HexInteger(value) => {
                self.bump()?;
                ExprKind::Int { value, hex: true }
            }
            TokenKind::Word(name) => {
                self.bump()?;
                if self.eat_punct(b'=')? {
                    let value = self.expr()?;
                    ExprKind::Assign {
                        name,
                        value: Box::new(value),
                    }
                } else {
                    ExprKind::Word(name)
                }
            }
            TokenKind::String(first) => {
                self.bump()?;
                let mut parts = vec![first];
                let mut ellipsis = false;
                if self.at(&TokenKind::Ellipsis)? {
                    self.bump()?;
                    ellipsis = true;
                } else {
                    while let TokenKind::String(s) = self.peek_kind()? {
                        parts.push(s.clone());
                        self.bump()?;
                    }
                }
                ExprKind::String { parts, ellipsis }
            }
            TokenKind::Punct(b'[') => {
                self.bump()?;
                if self.eat_punct(b']')? {
                    ExprKind::Array(Vec::new())
                } else {
                    ExprKind::Array(self.expr_list(b']')?)
                }
            }
            TokenKind::Punct(b'{') => self.brace()?,
            TokenKind::Keyword(Keyword::InetAddr) => {
                self.bump()?;
                self.expect_punct(b'(')?;
                let (s, _) = self.string("an IPv4 address in a string")?;
                self.expect_punct(b')')?;
                ExprKind::InetAddr(s)
            }
            TokenKind::Keyword(Keyword::Inet6Addr) => {
                self.bump()?;
                self.expect_punct(b'(')?;
                let (s, span) = self.string("an IPv6 address in a string")?;
                self.expect_punct(b')')?;
                if s.parse::<Ipv6Addr>().is_err() {
                    return Err(Diagnostic::semantic("cannot parse in6_addr", span));
                }
                ExprKind::Inet6Addr(s)
            }
            _ => return Err(self.unexpected("an expression")),
        };
        Ok(Expr::new(kind, self.span_from(tok.span)))
    }

    /// Everything that starts with `{`.
    fn brace(&mut self) -> PResult<ExprKind> {
        self.bump()?;
        let kind = match self.peek_kind()?.clone() {
            TokenKind::Punct(b'}') | TokenKind::Punct(b'(') => {
                let stack = self.mpls_stack()?;
                self.expect_punct(b'}')?;
                ExprKind::MplsStack(stack)
            }
            TokenKind::Keyword(Keyword::SaFamily) => self.sockaddr()?,
            TokenKind::Keyword(Keyword::MsgName) => self.msghdr()?,
            TokenKind::Keyword(Keyword::CmsgLevel) => {
                self.field(Keyword::CmsgLevel)?;
                let level = self.expr()?;
                self.expect_punct(b',')?;
                self.field(Keyword::CmsgType)?;
                let ty = self.expr()?;
                self.expect_punct(b',')?;
                self.field(Keyword::CmsgData)?;
                let data = self.expr()?;
                self.expect_punct(b'}')?;
                ExprKind::Cmsg {
                    level: Box::new(level),
                    ty: Box::new(ty),
                    data: Box::new(data),
                }
            }
            TokenKind::Keyword(Keyword::ScmSec) => {
                self.field(Keyword::ScmSec)?;
                let (sec, _) = self.integer("seconds")?;
                self.expect_punct(b',')?;
                self.field(Keyword::ScmNsec)?;
                let (nsec, _) = self.integer("nanoseconds")?;
                self.expect_punct(b'}')?;
                ExprKind::ScmTimestamping { sec, nsec }
            }
            TokenKind::Keyword(Keyword::EeErrno) => {
                let ee_errno = self.struct_field(Keyword::EeErrno, false)?;
                let ee_origin = self.struct_field(Keyword::EeOrigin, true)?;
                let ee_type = self.struct_field(Keyword::EeType, true)?;
                let ee_code = self.struct_field(Keyword::EeCode, true)?;
                let ee_info = self.struct_field(Keyword::EeInfo, true)?;
                let ee_data = self.struct_field(Keyword::EeData, true)?;
                self.expect_punct(b'}')?;
                ExprKind::SockExtendedErr {
                    ee_errno,
                    ee_origin,
                    ee_type,
                    ee_code,
                    ee_info,
                    ee_data,
                }
            }
            TokenKind::Keyword(Keyword::Flags) => {
                let gre = self.gre_header()?;
                self.expect_punct(b'}')?;
                ExprKind::Gre(gre)
            }
            TokenKind::Keyword(Keyword::Fd) => {
                self.field(Keyword::Fd)?;
                let fd = self.expr()?;
                self.expect_punct(b',')?;
                self.field(Keyword::Events)?;
                let events = self.expr()?;
                let revents = if self.eat_punct(b',')? {
                    self.field(Keyword::Revents)?;
                    Some(Box::new(self.expr()?))
                } else {
                    None
                };
                self.expect_punct(b'}')?;
                ExprKind::Pollfd {
                    fd: Box::new(fd),
                    events: Box::new(events),
                    revents,
                }
            }
            TokenKind::Keyword(Keyword::Events) => {
                self.field(Keyword::Events)?;
                let events = self.expr()?;
                self.expect_punct(b',')?;
                let data = match self.peek_kind()? {
                    TokenKind::Keyword(Keyword::Fd) => EpollData::Fd,
                    TokenKind::Keyword(Keyword::Ptr) => EpollData::Ptr,
                    TokenKind::Keyword(Keyword::U32) => EpollData::U32,
                    TokenKind::Keyword(Keyword::U64) => EpollData::U64,
                    _ => return Err(self.unexpected("fd, ptr, u32 or u64")),
                };
                self.bump()?;
                self.expect_punct(b'=')?;
                let value = self.expr()?;
                self.expect_punct(b'}')?;
                ExprKind::EpollEvent {
                    events: Box::new(events),
                    data,
                    value: Box::new(value),
                }
            }
            TokenKind::Keyword(Keyword::Onoff) => {
                self.field(Keyword::Onoff)?;
                let (onoff, _) = self.integer("an integer")?;
                self.expect_punct(b',')?;
                self.field(Keyword::Linger)?;
                let (linger, _) = self.integer("an integer")?;
                self.expect_punct(b'}')?;
                ExprKind::Linger { onoff, linger }
            }
            TokenKind::Ellipsis if self.peek_nth(1)?.is_punct(b',') => {
                self.bump()?;
                self.bump()?;
                let (len, _) = self.integer("the iovec length (a decimal integer)")?;
                self.expect_punct(b'}')?;
                ExprKind::Iovec { len }
            }
            _ => ExprKind::List(self.expr_list(b'}')?),
        };
        Ok(kind)
    }

    /// `[,] KEYWORD = expr`
    fn struct_field(&mut self, k: Keyword, comma: bool) -> PResult<Box<Expr>> {
        if comma {
            self.expect_punct(b',')?;
        }
        self.field(k)?;
        Ok(Box::new(self.expr()?))
    }

    fn sockaddr(&mut self) -> PResult<ExprKind> {
        self.field(Keyword::SaFamily)?;
        let family = self.word("AF_INET or AF_INET6")?;
        self.expect_punct(b',')?;
        self.field(Keyword::SinPort)?;
        self.expect_kw(Keyword::Htons)?;
        self.expect_punct(b'(')?;
        let (port, _) = self.integer("a port number")?;
        self.expect_punct(b')')?;
        self.expect_punct(b',')?;
        self.field(Keyword::SinAddr)?;
        self.expect_kw(Keyword::InetAddr)?;
        self.expect_punct(b'(')?;
        let (addr, addr_span) = self.string("an address in a string")?;
        self.expect_punct(b')')?;
        self.expect_punct(b'}')?;
        match family.value.as_str() {
            "AF_INET" => {
                if addr.parse::<Ipv4Addr>().is_err() {
                    return Err(Diagnostic::semantic("invalid IPv4 address", addr_span));
                }
            }
            "AF_INET6" => {
                if addr.parse::<Ipv6Addr>().is_err() {
                    return Err(Diagnostic::semantic("invalid IPv6 address", addr_span));
                }
            }
            other => {
                return Err(Diagnostic::semantic(
                    format!("unsupported sa_family '{other}' (expected AF_INET or AF_INET6)"),
                    family.span,
                ))
            }
        }
        Ok(ExprKind::SockAddr {
            family: family.value,
            port,
            addr,
        })
    }

    fn msghdr(&mut self) -> PResult<ExprKind> {
        self.expect_kw(Keyword::MsgName)?;
        self.expect_punct(b'(')?;
        self.expect_ellipsis()?;
        self.expect_punct(b')')?;
        self.expect_punct(b'=')?;
        self.expect_ellipsis()?;
        self.expect_punct(b',')?;
        self.expect_kw(Keyword::MsgIov)?;
        self.expect_punct(b'(')?;
        let (iov_len, _) = self.integer("the iovec count (a decimal integer)")?;
        self.expect_punct(b')')?;
        self.expect_punct(b'=')?;
        let iov = self.array()?;
        self.expect_punct(b',')?;
        self.field(Keyword::MsgFlags)?;
        let flags = self.expr()?;
        let control = if self.eat_punct(b',')? {
            self.field(Keyword::MsgControl)?;
            Some(Box::new(self.array()?))
        } else {
            None
        };
        self.expect_punct(b'}')?;
        Ok(ExprKind::Msghdr {
            iov_len,
            iov: Box::new(iov),
            flags: Box::new(flags),
            control,
        })
    }

    fn expect_ellipsis(&mut self) -> PResult<()> {
        if self.at(&TokenKind::Ellipsis)? {
            self.bump()?;
            Ok(())
        } else {
            Err(self.unexpected("'...'"))
        }
    }

    /// `[ ... ]` where the grammar wants an array (nesting is counted).
    fn array(&mut self) -> PResult<Expr> {
        if !self.at_punct(b'[')? {
            return Err(self.unexpected("'[' (an array)"));
        }
        let saved = self.depth;
        let result = self.enter().and_then(|()| self.operand());
        self.depth = saved;
        result
    }
}

/// `v` if `0 <= v <= max`, else the semantic error `msg` at `span`.
fn range(v: i64, max: i64, msg: &str, span: Span) -> PResult<i64> {
    if (0..=max).contains(&v) {
        Ok(v)
    } else {
        Err(Diagnostic::semantic(msg, span))
    }
}

/// Two hex digits per byte, as packetdrill's `parse_hex_string` reads them.
fn parse_hex(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if b.len() % 2 != 0 {
        return None;
    }
    b.chunks(2)
        .map(|pair| {
            let hi = (pair[0] as char).to_digit(16)?;
            let lo = (pair[1] as char).to_digit(16)?;
            Some((hi * 16 + lo) as u8)
        })
        .collect()
}

/// The checks packetdrill makes on a script's option lines before applying
/// them (`option 'x' unknown`, `... forbids an argument`, `... requires an
/// argument`, `bad definition: ...`). Returns the define of a `--define` line.
fn check_option(opt: &OptionLine) -> PResult<Option<(String, String)>> {
    let name = &opt.name;
    let Some(takes_value) = super::options::flag_takes_value(name) else {
        return Err(Diagnostic::option(
            format!("option '{name}' unknown"),
            opt.span,
        ));
    };
    match (&opt.value, takes_value) {
        (Some(_), false) => Err(Diagnostic::option(
            format!("option '{name}' forbids an argument"),
            opt.span,
        )),
        (None, true) => Err(Diagnostic::option(
            format!("option '{name}' requires an argument"),
            opt.span,
        )),
        (Some(value), true) if name == "define" => {
            let v = value.to_flag_value();
            match v.find('=') {
                Some(i) if i > 0 => Ok(Some((v[..i].to_string(), v[i + 1..].to_string()))),
                _ => Err(Diagnostic::option(format!("bad definition: {v}"), opt.span)),
            }
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{parse, print};
    use super::*;

    const SOCKET: &str = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n";

    fn script(text: &str) -> Script {
        let s = parse(text.as_bytes(), &[]).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let again = parse(print(&s).as_bytes(), &[]).expect("printed script parses");
        assert_eq!(again, s, "round trip of:\n{}", print(&s));
        s
    }

    fn last_event(text: &str) -> Event {
        script(&format!("{SOCKET}{text}\n"))
            .events
            .pop()
            .expect("an event")
    }

    fn packet(text: &str) -> PacketSpec {
        match last_event(text).action {
            Action::Packet(p) => p,
            other => panic!("not a packet: {other:?}"),
        }
    }

    fn tcp(text: &str) -> TcpSpec {
        match packet(text).body {
            PacketBody::Tcp(t) => t,
            other => panic!("not TCP: {other:?}"),
        }
    }

    fn syscall(text: &str) -> SyscallSpec {
        match last_event(text).action {
            Action::Syscall(s) => s,
            other => panic!("not a syscall: {other:?}"),
        }
    }

    fn arg(text: &str) -> ExprKind {
        syscall(&format!("+0 f({text}) = 0")).args.remove(0).kind
    }

    fn error(text: &str) -> Diagnostic {
        parse(text.as_bytes(), &[]).unwrap_err().diagnostic
    }

    fn int(value: i64) -> Box<Expr> {
        Box::new(Expr::new(
            ExprKind::Int { value, hex: false },
            Span::default(),
        ))
    }

    fn word(w: &str) -> Box<Expr> {
        Box::new(Expr::new(ExprKind::Word(w.into()), Span::default()))
    }

    #[test]
    fn time_forms() {
        let s = script(
            "0 a() = 0\n+.25 b() = 0\n1.000001 c() = 0\n* > S 0:0(0) <...>\n\
             1~2 > . 1:1(0)\n+0.1~+0.2 > . 1:1(0)\n+0.1...0.2 accept(3, ..., ...) = 4\n",
        );
        let times: Vec<TimeSpec> = s.events.iter().map(|e| e.time).collect();
        assert_eq!(
            times,
            vec![
                TimeSpec::Absolute(0),
                TimeSpec::Relative(250_000),
                // (s64)(1.000001 * 1e6) truncates, as in packetdrill.
                TimeSpec::Absolute(1_000_000),
                TimeSpec::Any,
                TimeSpec::AbsoluteRange(1_000_000, 2_000_000),
                TimeSpec::RelativeRange(100_000, 200_000),
                TimeSpec::Relative(100_000),
            ]
        );
        let lines: Vec<u32> = s.events.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![1, 2, 3, 4, 5, 6, 7]);
        match &s.events[6].action {
            Action::Syscall(sc) => assert_eq!(sc.end_time, Some(200_000)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn event_line_is_the_timestamp_line() {
        let s = script("0 f(1,\n 2) = 0\n+0\nclose(3) = 0\n");
        assert_eq!(s.events[0].line, 1);
        assert_eq!(s.events[1].line, 3);
    }

    #[test]
    fn tcp_packet_fields() {
        let t = tcp("+0 < 8080>9090 S.5 1:1001(1000) ack 7 win 100 urg 3 <mss 1460,sackOK,TS val 1 ecr 2,nop,wscale 7,sack 1:2 3:4,eol,eol>");
        assert_eq!(
            t.ports,
            Some(Ports {
                src: 8080,
                dst: 9090
            })
        );
        assert_eq!(
            t.flags.value,
            TcpFlags {
                syn: true,
                ack: true,
                ece: true,
                ae: true,
                ace: Some(5),
                ..TcpFlags::default()
            }
        );
        assert_eq!(
            t.seq,
            SeqSpec {
                start: 1,
                end: 1001,
                len: 1000
            }
        );
        assert_eq!((t.ack, t.win, t.urg), (Some(7), Some(100), Some(3)));
        let TcpOptionsSpec::List(opts) = t.options else {
            panic!("options")
        };
        let opts: Vec<TcpOptionSpec> = opts.into_iter().map(|o| o.value).collect();
        assert_eq!(
            opts,
            vec![
                TcpOptionSpec::Mss(1460),
                TcpOptionSpec::SackOk,
                TcpOptionSpec::Timestamp { val: 1, ecr: 2 },
                TcpOptionSpec::Nop,
                TcpOptionSpec::Wscale(7),
                TcpOptionSpec::Sack(vec![(1, 2), (3, 4)]),
                TcpOptionSpec::Eol,
                TcpOptionSpec::Eol,
            ]
        );
        assert_eq!(tcp("+0 > - 0:0(0)").flags.value, TcpFlags::default());
        assert!(tcp("+0 > .5 0:0(0)").flags.value.ack);
        assert_eq!(tcp("+0 > SEW 0:0(0)").flags.value.to_script(), "SEW");
        assert_eq!(tcp("+0 > F. 0:0(0)").flags.value.to_script(), "F.");
    }

    #[test]
    fn tcp_option_hex_blobs_and_accecn() {
        let TcpOptionsSpec::List(opts) = tcp(
            "+0 > S. 0:0(0) <FO 3021b9d889017eeb,FOEXP,md5 000102,ECN e1b 1 ceb 2 e0b 3,nop,nop>",
        )
        .options
        else {
            panic!("options")
        };
        let opts: Vec<TcpOptionSpec> = opts.into_iter().map(|o| o.value).collect();
        assert_eq!(
            opts,
            vec![
                TcpOptionSpec::FastOpen(vec![0x30, 0x21, 0xb9, 0xd8, 0x89, 0x01, 0x7e, 0xeb]),
                TcpOptionSpec::FastOpenExp(vec![]),
                TcpOptionSpec::Md5(vec![0, 1, 2]),
                TcpOptionSpec::AccEcn {
                    order: AccEcnOrder::E1bFirst,
                    fields: vec![1, 2, 3]
                },
                TcpOptionSpec::Nop,
                TcpOptionSpec::Nop,
            ]
        );
        // An all-digit cookie is an integer token; its text is the hex string.
        let TcpOptionsSpec::List(opts) = tcp("+0 > S 0:0(0) <FO 12345678901234567890>").options
        else {
            panic!("options")
        };
        assert_eq!(
            opts[0].value,
            TcpOptionSpec::FastOpen(vec![
                0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34, 0x56, 0x78, 0x90
            ])
        );
    }

    #[test]
    fn ip_info_udp_icmp() {
        let p = packet("+0 < [ect0, flowlabel 0x12345] S 0:0(0) win 1");
        assert_eq!(
            p.ip_info,
            IpInfo {
                tos: TosSpec::Ecn(Ecn::Ect0),
                flow_label: Some(0x12345),
                ttl: None
            }
        );
        assert_eq!(
            packet("+0 > (tos 0x10) udp (3)").ip_info.tos,
            TosSpec::Tos(0x10)
        );
        assert_eq!(packet("+0 > [ttl 7] . 1:1(0)").ip_info.ttl, Some(7));
        match packet("+0 < udp 1>2 (10)").body {
            PacketBody::Udp(u) => {
                assert_eq!((u.ports, u.len), (Some(Ports { src: 1, dst: 2 }), 10))
            }
            other => panic!("{other:?}"),
        }
        match packet("+0 < icmp unreachable frag_needed mtu 1200 id 4 [1:1461(1460)]").body {
            PacketBody::Icmp(i) => {
                assert_eq!(i.type_name.value, "unreachable");
                assert_eq!(i.code_name.map(|c| c.value).as_deref(), Some("frag_needed"));
                assert_eq!((i.mtu, i.id), (Some(1200), Some(4)));
                assert_eq!(
                    i.echoed,
                    IcmpEchoed::Tcp(SeqSpec {
                        start: 1,
                        end: 1461,
                        len: 1460
                    })
                );
            }
            other => panic!("{other:?}"),
        }
        match packet("+0 < icmp echo_reply [raw (8)]").body {
            PacketBody::Icmp(i) => assert_eq!(i.echoed, IcmpEchoed::Raw(8)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn encapsulations() {
        let p = packet(
            "+0 < ipv4 [tos 0x4] 192.0.2.1 > 192.0.2.2: gre flags [checksum present, key present] \
             sum 1, off 2, key=3, seq 4: mpls (label 10, tc 1, ttl 9) (label 11, tc 2, [S], ttl 8): \
             ipv6 2001:db8::1 > 2001:db8::2: GREv0: encap psp spi 0x10 S 0:0(0) win 1",
        );
        assert_eq!(
            p.outer,
            vec![
                OuterHeader::Ipv4 {
                    info: IpInfo {
                        tos: TosSpec::Tos(4),
                        ..IpInfo::default()
                    },
                    src: "192.0.2.1".parse().unwrap(),
                    dst: "192.0.2.2".parse().unwrap()
                },
                OuterHeader::Gre(Some(GreHeader {
                    flags: 0xa000,
                    sum: 1,
                    off: 2,
                    key: 3,
                    seq: 4
                })),
                OuterHeader::Mpls(vec![
                    MplsEntry {
                        label: 10,
                        tc: 1,
                        bottom_of_stack: false,
                        ttl: 9
                    },
                    MplsEntry {
                        label: 11,
                        tc: 2,
                        bottom_of_stack: true,
                        ttl: 8
                    }
                ]),
                OuterHeader::Ipv6 {
                    info: IpInfo::default(),
                    src: "2001:db8::1".parse().unwrap(),
                    dst: "2001:db8::2".parse().unwrap()
                },
                OuterHeader::Gre(None),
            ]
        );
        match p.body {
            PacketBody::Tcp(t) => assert_eq!(t.psp_spi, Some(16)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn expressions() {
        // `|` is right-associative and looser than `NAME =`.
        assert_eq!(
            arg("A|B|C"),
            ExprKind::BitOr(
                word("A"),
                Box::new(Expr::new(
                    ExprKind::BitOr(word("B"), word("C")),
                    Span::default()
                ))
            )
        );
        assert_eq!(
            arg("X=1|2"),
            ExprKind::Assign {
                name: "X".into(),
                value: Box::new(Expr::new(ExprKind::BitOr(int(1), int(2)), Span::default()))
            }
        );
        assert_eq!(
            arg("0x10"),
            ExprKind::Int {
                value: 16,
                hex: true
            }
        );
        assert_eq!(
            arg("-1"),
            ExprKind::Int {
                value: -1,
                hex: false
            }
        );
        assert_eq!(arg("NULL"), ExprKind::Word("NULL".into()));
        assert_eq!(
            arg("\"a\" \"b\""),
            ExprKind::String {
                parts: vec!["a".into(), "b".into()],
                ellipsis: false
            }
        );
        assert_eq!(
            arg("\"a\\\"\"..."),
            ExprKind::String {
                parts: vec!["a\\\"".into()],
                ellipsis: true
            }
        );
        assert_eq!(arg("[]"), ExprKind::Array(vec![]));
        assert_eq!(arg("{..., 100}"), ExprKind::Iovec { len: 100 });
        assert_eq!(
            arg("{...}"),
            ExprKind::List(vec![Expr::new(ExprKind::Ellipsis, Span::default())])
        );
        assert_eq!(arg("{}"), ExprKind::MplsStack(vec![]));
        assert_eq!(
            arg("{onoff=1, linger=0}"),
            ExprKind::Linger {
                onoff: 1,
                linger: 0
            }
        );
        assert_eq!(
            arg("{scm_sec=1, scm_nsec=2}"),
            ExprKind::ScmTimestamping { sec: 1, nsec: 2 }
        );
        assert_eq!(
            arg("inet_addr(\"1.2.3.4\")"),
            ExprKind::InetAddr("1.2.3.4".into())
        );
        assert_eq!(
            arg("inet6_addr(\"::1\")"),
            ExprKind::Inet6Addr("::1".into())
        );
        assert_eq!(
            arg("{sa_family=AF_INET6, sin_port=htons(80), sin_addr=inet_addr(\"::1\")}"),
            ExprKind::SockAddr {
                family: "AF_INET6".into(),
                port: 80,
                addr: "::1".into()
            }
        );
        assert_eq!(
            arg("{fd=3, events=POLLIN}"),
            ExprKind::Pollfd {
                fd: int(3),
                events: word("POLLIN"),
                revents: None
            }
        );
        assert_eq!(
            arg("{events=EPOLLIN, u64=7}"),
            ExprKind::EpollEvent {
                events: word("EPOLLIN"),
                data: EpollData::U64,
                value: int(7)
            }
        );
        assert_eq!(
            arg("{flags 0x2000 sum 0 off 0 key 1 seq 2}"),
            ExprKind::Gre(GreHeader {
                flags: 0x2000,
                sum: 0,
                off: 0,
                key: 1,
                seq: 2
            })
        );
        assert!(matches!(
            arg("{msg_name(...)=..., msg_iov(1)=[{..., 10}], msg_flags=0, msg_control=[{cmsg_level=SOL_TCP, cmsg_type=X, cmsg_data=[TCP_NLA_BUSY=1]}]}"),
            ExprKind::Msghdr { iov_len: 1, control: Some(_), .. }
        ));
    }

    #[test]
    fn results_errno_and_notes() {
        let s = syscall("+0 read(3, ..., 10) = -1 EAGAIN (Resource temporarily unavailable)");
        assert_eq!(
            s.result.kind,
            ExprKind::Int {
                value: -1,
                hex: false
            }
        );
        let e = s.errno.expect("errno");
        assert_eq!(
            (e.name.value.as_str(), e.note.as_str()),
            ("EAGAIN", "Resource temporarily unavailable")
        );
        let s = syscall("+0 fcntl(3, F_GETFL) = 0x2 (flags O_RDWR)");
        assert_eq!(s.note.as_deref(), Some("flags O_RDWR"));
        assert!(s.errno.is_none());
        let s = syscall("+0 f() = ...");
        assert_eq!(s.result.kind, ExprKind::Ellipsis);
        assert!(s.args.is_empty());
    }

    #[test]
    fn commands_code_and_options() {
        let s = script(
            "--tolerance_usecs=10000 // trailing comment\n--define=CC=\"reno\"\n--ip_version=ipv6\n\
             --local_ip=192.168.0.2\n--remote_ip=fd::1\n--dry_run\n`init`\n0 `echo timed`\n\
             +0 %{ print(1) }%\n`cleanup`\n",
        );
        let values: Vec<Option<String>> = s
            .options
            .iter()
            .map(|o| o.value.as_ref().map(OptionValue::to_flag_value))
            .collect();
        assert_eq!(
            values,
            vec![
                Some("10000".into()),
                Some("CC=\"reno\"".into()),
                Some("ipv6".into()),
                Some("192.168.0.2".into()),
                Some("fd::1".into()),
                None
            ]
        );
        assert_eq!(s.init_command.map(|c| c.text).as_deref(), Some("init"));
        assert_eq!(
            s.cleanup_command.map(|c| c.text).as_deref(),
            Some("cleanup")
        );
        assert!(matches!(&s.events[0].action, Action::Command(c) if c.text == "echo timed"));
        assert!(matches!(&s.events[1].action, Action::Code(c) if c.text == "print(1)"));
    }

    #[test]
    fn defines_apply_after_the_first_token_following_the_options() {
        let src = "--define=A=IPPROTO_UDP\n0 socket(..., SOCK_STREAM, A) = 3\n+0 f(B, C, D) = 0\n";
        let defines = [
            ("B".to_string(), "\"str\"".to_string()),
            ("C".to_string(), "0x10".to_string()),
            ("A".to_string(), "IPPROTO_TCP".to_string()),
        ];
        let s = parse(src.as_bytes(), &defines).unwrap();
        let Action::Syscall(sc) = &s.events[0].action else {
            panic!()
        };
        // The command line wins over the script's --define.
        assert_eq!(sc.args[2].kind, ExprKind::Word("IPPROTO_TCP".into()));
        let Action::Syscall(sc) = &s.events[1].action else {
            panic!()
        };
        assert_eq!(
            sc.args[0].kind,
            ExprKind::String {
                parts: vec!["str".into()],
                ellipsis: false
            }
        );
        assert_eq!(
            sc.args[1].kind,
            ExprKind::Int {
                value: 16,
                hex: false
            }
        );
        assert_eq!(sc.args[2].kind, ExprKind::Word("D".into()));
        // The token right after the options was read before the defines applied.
        let src = "--define=T=`echo`\nT\n0 f() = 0\n";
        let d = parse(src.as_bytes(), &[]).unwrap_err().diagnostic;
        assert_eq!((d.span.line, d.token.as_deref()), (2, Some("T")));
    }

    #[test]
    fn packetdrill_one_line_messages() {
        let d = error("0 close(3) = 0\n+0 < SX 0:0(0) win 1\n");
        assert_eq!(
            d.packetdrill_line("t.pkt"),
            "t.pkt:2: semantic error: Invalid TCP flag: 'X'"
        );
        let d = error("0 f() = -1 EFAULT\n");
        assert_eq!(
            d.packetdrill_line("t.pkt"),
            "t.pkt:2: parse error at '': syntax error"
        );
        let d = error("--foo\n0 f() = 0\n");
        assert_eq!(d.packetdrill_line("t.pkt"), "t.pkt: option 'foo' unknown");
        let d = error("0 f() = 0\n+0 < S 0:0(0) win 1 <sack 1:2 3:4 5:6 7:8 9:10>\n");
        assert_eq!(d.message, "TCP option list too long");
    }
}
