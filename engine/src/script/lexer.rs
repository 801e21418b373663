//! The tokens of the packetdrill script language.
//!
//! A hand-written scanner with the semantics of packetdrill's flex lexer:
//! at every position each token rule is tried, the **longest** match wins and a
//! tie goes to the rule listed first (keywords, then `...`, `--option`, floats,
//! integers, hex integers, words, strings, commands, single characters,
//! whitespace, comments, code blocks, IPv4 and IPv6 addresses). This is what
//! makes `1.2.3.4` an address, `1234` an integer, `3021b9d8` a word,
//! `fe80::1` an address and `1:1001` three tokens.
//!
//! Quirks kept on purpose, because scripts depend on what packetdrill accepts:
//! - `//` comments must end with a newline (one on the last line without a
//!   newline is an error);
//! - `/* ... **/` (an odd run of `*` before `/`) does not close a comment, and
//!   `}}%` does not close a code block, as in packetdrill's regular expressions;
//! - `\r`, `\f`, `\v` are not whitespace;
//! - `-D` defines replace *words* (never keywords) while scanning: a value
//!   starting with `"` becomes a string, one starting with a backquote a
//!   command, one that C's `strtol(value, &end, 0)` reads completely an
//!   integer, anything else a word.
//!
//! Errors the grammar would report at a token that can never be valid
//! (a stray `#`, an unterminated string, ...) are reported here, with a
//! precise message, at the same place. Bytes that are not UTF-8 are an error
//! outside comments. The lexer never panics and is linear in the input size.

use super::diag::Diagnostic;
use super::span::Span;
use std::collections::HashMap;

/// Reserved words of the language. They can never be used as plain words
/// (not as symbols, not in errno notes) and cannot be redefined with `-D`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Keyword {
    SaFamily,
    SinPort,
    SinAddr,
    MsgName,
    MsgIov,
    MsgFlags,
    MsgControl,
    CmsgData,
    CmsgLevel,
    CmsgType,
    EeErrno,
    EeOrigin,
    EeType,
    EeCode,
    EeInfo,
    EeData,
    ScmSec,
    ScmNsec,
    Fd,
    U32,
    U64,
    Ptr,
    Events,
    Revents,
    Onoff,
    Linger,
    Htons,
    Ipv4,
    Ipv6,
    Icmp,
    Udp,
    /// `gre` or `GREv0`
    Gre,
    Raw,
    Sum,
    Off,
    Key,
    Seq,
    None,
    Checksum,
    /// `sequence#`
    Sequence,
    Present,
    Encap,
    Psp,
    Spi,
    Mpls,
    Label,
    Tc,
    Ttl,
    InetAddr,
    Inet6Addr,
    Ack,
    Eol,
    Ecr,
    Mss,
    Mtu,
    Nop,
    Sack,
    SackOk,
    Md5,
    /// `TS`
    Timestamp,
    /// `FO`
    FastOpen,
    /// `FOEXP`
    FastOpenExp,
    /// `ECN`
    AccEcn,
    E0b,
    E1b,
    Ceb,
    Tos,
    FlowLabel,
    /// `flags` or `Flags`
    Flags,
    Val,
    Win,
    Urg,
    Wscale,
    Ect01,
    Ect0,
    Ect1,
    NoEcn,
    Ce,
    Id,
}

impl Keyword {
    /// The keyword spelled `s`, if any (case-sensitive, as in packetdrill).
    pub fn lookup(s: &str) -> Option<Keyword> {
        use Keyword::*;
        Some(match s {
            "sa_family" => SaFamily,
            "sin_port" => SinPort,
            "sin_addr" => SinAddr,
            "msg_name" => MsgName,
            "msg_iov" => MsgIov,
            "msg_flags" => MsgFlags,
            "msg_control" => MsgControl,
            "cmsg_data" => CmsgData,
            "cmsg_level" => CmsgLevel,
            "cmsg_type" => CmsgType,
            "ee_errno" => EeErrno,
            "ee_origin" => EeOrigin,
            "ee_type" => EeType,
            "ee_code" => EeCode,
            "ee_info" => EeInfo,
            "ee_data" => EeData,
            "scm_sec" => ScmSec,
            "scm_nsec" => ScmNsec,
            "fd" => Fd,
            "u32" => U32,
            "u64" => U64,
            "ptr" => Ptr,
            "events" => Events,
            "revents" => Revents,
            "onoff" => Onoff,
            "linger" => Linger,
            "htons" => Htons,
            "ipv4" => Ipv4,
            "ipv6" => Ipv6,
            "icmp" => Icmp,
            "udp" => Udp,
            "GREv0" | "gre" => Gre,
            "raw" => Raw,
            "sum" => Sum,
            "off" => Off,
            "key" => Key,
            "seq" => Seq,
            "none" => None,
            "checksum" => Checksum,
            "sequence#" => Sequence,
            "present" => Present,
            "encap" => Encap,
            "psp" => Psp,
            "spi" => Spi,
            "mpls" => Mpls,
            "label" => Label,
            "tc" => Tc,
            "ttl" => Ttl,
            "inet_addr" => InetAddr,
            "inet6_addr" => Inet6Addr,
            "ack" => Ack,
            "eol" => Eol,
            "ecr" => Ecr,
            "mss" => Mss,
            "mtu" => Mtu,
            "nop" => Nop,
            "sack" => Sack,
            "sackOK" => SackOk,
            "md5" => Md5,
            "TS" => Timestamp,
            "FO" => FastOpen,
            "FOEXP" => FastOpenExp,
            "ECN" => AccEcn,
            "e0b" => E0b,
            "e1b" => E1b,
            "ceb" => Ceb,
            "tos" => Tos,
            "flowlabel" => FlowLabel,
            "flags" | "Flags" => Flags,
            "val" => Val,
            "win" => Win,
            "urg" => Urg,
            "wscale" => Wscale,
            "ect01" => Ect01,
            "ect0" => Ect0,
            "ect1" => Ect1,
            "noecn" => NoEcn,
            "ce" => Ce,
            "id" => Id,
            _ => return Option::None,
        })
    }

    /// The canonical spelling.
    pub fn as_str(self) -> &'static str {
        use Keyword::*;
        match self {
            SaFamily => "sa_family",
            SinPort => "sin_port",
            SinAddr => "sin_addr",
            MsgName => "msg_name",
            MsgIov => "msg_iov",
            MsgFlags => "msg_flags",
            MsgControl => "msg_control",
            CmsgData => "cmsg_data",
            CmsgLevel => "cmsg_level",
            CmsgType => "cmsg_type",
            EeErrno => "ee_errno",
            EeOrigin => "ee_origin",
            EeType => "ee_type",
            EeCode => "ee_code",
            EeInfo => "ee_info",
            EeData => "ee_data",
            ScmSec => "scm_sec",
            ScmNsec => "scm_nsec",
            Fd => "fd",
            U32 => "u32",
            U64 => "u64",
            Ptr => "ptr",
            Events => "events",
            Revents => "revents",
            Onoff => "onoff",
            Linger => "linger",
            Htons => "htons",
            Ipv4 => "ipv4",
            Ipv6 => "ipv6",
            Icmp => "icmp",
            Udp => "udp",
            Gre => "gre",
            Raw => "raw",
            Sum => "sum",
            Off => "off",
            Key => "key",
            Seq => "seq",
            None => "none",
            Checksum => "checksum",
            Sequence => "sequence#",
            Present => "present",
            Encap => "encap",
            Psp => "psp",
            Spi => "spi",
            Mpls => "mpls",
            Label => "label",
            Tc => "tc",
            Ttl => "ttl",
            InetAddr => "inet_addr",
            Inet6Addr => "inet6_addr",
            Ack => "ack",
            Eol => "eol",
            Ecr => "ecr",
            Mss => "mss",
            Mtu => "mtu",
            Nop => "nop",
            Sack => "sack",
            SackOk => "sackOK",
            Md5 => "md5",
            Timestamp => "TS",
            FastOpen => "FO",
            FastOpenExp => "FOEXP",
            AccEcn => "ECN",
            E0b => "e0b",
            E1b => "e1b",
            Ceb => "ceb",
            Tos => "tos",
            FlowLabel => "flowlabel",
            Flags => "flags",
            Val => "val",
            Win => "win",
            Urg => "urg",
            Wscale => "wscale",
            Ect01 => "ect01",
            Ect0 => "ect0",
            Ect1 => "ect1",
            NoEcn => "noecn",
            Ce => "ce",
            Id => "id",
        }
    }
}

/// What a token is. Payloads are already converted (numbers) or stripped of
/// their delimiters (strings, commands, code, option names).
#[derive(Clone, Debug, PartialEq)]
pub enum TokenKind {
    Keyword(Keyword),
    /// `[A-Za-z0-9_]+` that is neither a keyword nor a number (or a define's word value).
    Word(String),
    /// Decimal, optionally negative.
    Integer(i64),
    /// A decimal literal beyond 64 bits (its text is in the source span).
    HugeInteger,
    /// `0x...`
    HexInteger(i64),
    /// `-?[0-9]*.[0-9]+`
    Float(f64),
    /// Contents between the double quotes, escapes kept as written.
    String(String),
    /// Contents between the backquotes.
    Command(String),
    /// Contents of `%{ ... }%`, spaces and tabs stripped at both ends.
    Code(String),
    Ipv4Addr(String),
    Ipv6Addr(String),
    /// `--name`: the name without the dashes.
    OptionName(String),
    /// `...`
    Ellipsis,
    /// One of `< > : ( ) [ ] { } , . + * ~ = | -`.
    Punct(u8),
    Eof,
}

impl TokenKind {
    pub fn is_punct(&self, c: u8) -> bool {
        matches!(self, TokenKind::Punct(p) if *p == c)
    }

    pub fn is_keyword(&self, k: Keyword) -> bool {
        matches!(self, TokenKind::Keyword(x) if *x == k)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    pub kind: TokenKind,
    pub span: Span,
}

/// The single characters that are tokens of the grammar. Any other character
/// outside strings, commands, code and comments is an error.
const PUNCTUATION: &[u8] = b"<>:()[]{},.+*~=|-";

/// How a defined symbol's value is turned into a token (packetdrill's `word()`).
#[derive(Clone, Debug, PartialEq)]
enum DefineToken {
    String(String),
    Command(String),
    Integer(i64),
    Word(String),
}

fn classify_define(value: &str) -> DefineToken {
    let quoted = |v: &str| -> String {
        // strndup(v + 1, strlen(v) - 2): drop the first and the last character.
        let mut chars = v.chars();
        chars.next();
        chars.next_back();
        chars.as_str().to_string()
    };
    if value.starts_with('"') {
        return DefineToken::String(quoted(value));
    }
    if value.starts_with('`') {
        return DefineToken::Command(quoted(value));
    }
    match c_strtol(value) {
        Some(v) => DefineToken::Integer(v),
        None => DefineToken::Word(value.to_string()),
    }
}

/// C's `strtol(s, &end, 0)` accepted only when it reads the whole string and
/// does not saturate (packetdrill's test: not LONG_MIN/LONG_MAX, `*end == 0`).
pub(crate) fn c_strtol(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
        i += 1;
    }
    let mut negative = false;
    if let Some(&c) = b.get(i) {
        if c == b'+' || c == b'-' {
            negative = c == b'-';
            i += 1;
        }
    }
    let (base, start) = if b.get(i) == Some(&b'0')
        && matches!(b.get(i + 1), Some(b'x' | b'X'))
        && b.get(i + 2).is_some_and(|c| c.is_ascii_hexdigit())
    {
        (16u32, i + 2)
    } else if b.get(i) == Some(&b'0') {
        (8, i)
    } else {
        (10, i)
    };
    let mut j = start;
    let mut value: i128 = 0;
    let mut saturated = false;
    while let Some(d) = b.get(j).and_then(|&c| (c as char).to_digit(base)) {
        value = value * base as i128 + d as i128;
        if value > i64::MAX as i128 + 1 {
            saturated = true;
            value = i64::MAX as i128 + 1;
        }
        j += 1;
    }
    if j == start {
        // No digits: end = s, so the whole string is "read" only if it is empty.
        return if s.is_empty() { Some(0) } else { None };
    }
    if j != b.len() || saturated {
        return None;
    }
    let v = if negative { -value } else { value };
    if v >= i64::MAX as i128 || v <= i64::MIN as i128 {
        return None;
    }
    Some(v as i64)
}

/// The scanner. Pull tokens with [`Lexer::next_token`].
pub struct Lexer<'a> {
    src: &'a [u8],
    pos: usize,
    line: u32,
    col: u32,
    defines: HashMap<String, DefineToken>,
}

impl<'a> Lexer<'a> {
    pub fn new(src: &'a [u8]) -> Self {
        Lexer {
            src,
            pos: 0,
            line: 1,
            col: 1,
            defines: HashMap::new(),
        }
    }

    /// Replace the symbol table used for words from now on (`NAME`, `VALUE` pairs;
    /// a later pair for the same name wins).
    pub fn set_defines<'d>(&mut self, defines: impl IntoIterator<Item = (&'d str, &'d str)>) {
        self.defines = defines
            .into_iter()
            .map(|(k, v)| (k.to_string(), classify_define(v)))
            .collect();
    }

    /// The source text of a span (lossy for bytes that are not UTF-8).
    pub fn text(&self, span: Span) -> String {
        self.src
            .get(span.start..span.end)
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default()
    }

    pub fn source(&self) -> &'a [u8] {
        self.src
    }

    fn byte(&self, i: usize) -> Option<u8> {
        self.src.get(i).copied()
    }

    /// Move the cursor to `to`, keeping line and column (in characters) up to date.
    fn advance_to(&mut self, to: usize) {
        let to = to.min(self.src.len());
        for &b in &self.src[self.pos..to] {
            if b == b'\n' {
                self.line += 1;
                self.col = 1;
            } else if b & 0xC0 != 0x80 {
                self.col += 1;
            }
        }
        self.pos = to;
    }

    /// The span from the cursor to `end` (the cursor is the start).
    fn span_to(&self, end: usize) -> Span {
        Span::new(self.pos, end, self.line, self.col)
    }

    /// Line and column of an offset at or after the cursor.
    fn position_of(&self, offset: usize) -> (u32, u32) {
        let mut line = self.line;
        let mut col = self.col;
        let end = offset.min(self.src.len());
        for &b in &self.src[self.pos.min(end)..end] {
            if b == b'\n' {
                line += 1;
                col = 1;
            } else if b & 0xC0 != 0x80 {
                col += 1;
            }
        }
        (line, col)
    }

    fn error_at(&self, start: usize, end: usize, message: String, token: String) -> Diagnostic {
        let (line, col) = self.position_of(start);
        Diagnostic::parse(message, Span::new(start, end, line, col), token)
    }

    /// The next token; `Eof` (repeatedly) at the end.
    pub fn next_token(&mut self) -> Result<Token, Diagnostic> {
        loop {
            let p = self.pos;
            let Some(c) = self.byte(p) else {
                return Ok(Token {
                    kind: TokenKind::Eof,
                    span: self.span_to(p),
                });
            };
            match c {
                b' ' | b'\t' | b'\n' => {
                    let mut e = p;
                    while matches!(self.byte(e), Some(b' ' | b'\t' | b'\n')) {
                        e += 1;
                    }
                    self.advance_to(e);
                    continue;
                }
                b'/' if self.byte(p + 1) == Some(b'/') => {
                    match self.src[p..].iter().position(|&b| b == b'\n') {
                        Some(nl) => {
                            self.advance_to(p + nl + 1);
                            continue;
                        }
                        None => {
                            return Err(self.error_at(
                                p,
                                p + 1,
                                "'//' comment at the end of the file must end with a newline \
                                 (packetdrill rejects it)"
                                    .into(),
                                "/".into(),
                            ))
                        }
                    }
                }
                b'/' if self.byte(p + 1) == Some(b'*') => match self.c_comment_end(p) {
                    Some(end) => {
                        self.advance_to(end);
                        continue;
                    }
                    None => {
                        let hint = if self.src[p + 2..].windows(2).any(|w| w == b"*/") {
                            " (packetdrill's lexer does not end a comment at '*/' preceded by \
                             an odd run of '*')"
                        } else {
                            ""
                        };
                        return Err(self.error_at(
                            p,
                            p + 2,
                            format!("unterminated comment: no closing '*/'{hint}"),
                            "/".into(),
                        ));
                    }
                },
                _ => return self.scan_token(p, c),
            }
        }
    }

    /// End (exclusive) of the `/* ... */` comment starting at `p`, with flex's regex
    /// `/\*(([^*])|(\*[^/]))*\*/`, longest match.
    fn c_comment_end(&self, p: usize) -> Option<usize> {
        self.delimited_end(p + 2, b'*', b'/')
    }

    /// Longest match of `(([^a])|(a[^b]))*ab` starting at `from` (the body), used for
    /// C comments (`*`, `/`) and code blocks (`}`, `%`).
    fn delimited_end(&self, from: usize, a: u8, b: u8) -> Option<usize> {
        // Reachable body positions form a window of two: `here` (i) and `next` (i + 1).
        let mut best = None;
        let mut here = true;
        let mut next = false;
        let mut i = from;
        while (here || next) && i < self.src.len() {
            let mut after_next = false;
            if here {
                let c = self.src[i];
                if c != a {
                    next = true;
                } else {
                    match self.byte(i + 1) {
                        Some(d) if d == b => best = Some(i + 2),
                        Some(_) => after_next = true,
                        None => {}
                    }
                }
            }
            here = next;
            next = after_next;
            i += 1;
        }
        best
    }

    /// Longest match of `"(\\.|[^"])*"` (or with backquotes) starting at `p`.
    fn quoted_end(&self, p: usize, quote: u8) -> Option<usize> {
        let mut best = None;
        let mut here = true;
        let mut next = false;
        let mut i = p + 1;
        while (here || next) && i < self.src.len() {
            let mut after_next = false;
            if here {
                let c = self.src[i];
                if c == quote {
                    best = Some(i + 1);
                } else {
                    next = true;
                    if c == b'\\' && matches!(self.byte(i + 1), Some(d) if d != b'\n') {
                        after_next = true;
                    }
                }
            }
            here = next;
            next = after_next;
            i += 1;
        }
        best
    }

    fn run_len(&self, p: usize, pred: impl Fn(u8) -> bool) -> usize {
        self.src[p.min(self.src.len())..]
            .iter()
            .take_while(|&&b| pred(b))
            .count()
    }

    /// Validate that `start..end` is UTF-8 and return it as a string.
    fn utf8(&self, start: usize, end: usize) -> Result<String, Diagnostic> {
        let bytes = &self.src[start..end];
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(s.to_string()),
            Err(e) => {
                let at = start + e.valid_up_to();
                let bad = self.src[at];
                Err(self.error_at(
                    at,
                    at + 1,
                    format!("invalid UTF-8 byte 0x{bad:02x}"),
                    char::REPLACEMENT_CHARACTER.to_string(),
                ))
            }
        }
    }

    fn scan_token(&mut self, p: usize, c: u8) -> Result<Token, Diagnostic> {
        #[derive(Clone, Copy, PartialEq, Eq, Debug)]
        enum Rule {
            Keyword,
            Ellipsis,
            Option,
            Float,
            Integer,
            Hex,
            Word,
            String,
            Command,
            Single,
            Code,
            Ipv4,
            Ipv6,
        }
        let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        let is_digit = |b: u8| b.is_ascii_digit();
        let word_len = self.run_len(p, is_word);

        // Candidates in flex rule order; the longest wins, the first on a tie.
        let mut candidates: Vec<(usize, Rule)> = Vec::with_capacity(6);

        if word_len > 0 {
            let w = &self.src[p..p + word_len];
            if w == b"sequence" && self.byte(p + word_len) == Some(b'#') {
                candidates.push((word_len + 1, Rule::Keyword));
            } else if std::str::from_utf8(w)
                .ok()
                .and_then(Keyword::lookup)
                .is_some()
            {
                candidates.push((word_len, Rule::Keyword));
            }
        }
        if self.src[p..].starts_with(b"...") {
            candidates.push((3, Rule::Ellipsis));
        }
        if self.src[p..].starts_with(b"--") {
            let n = self.run_len(p + 2, is_word);
            if n > 0 {
                candidates.push((2 + n, Rule::Option));
            }
        }
        {
            // -?[0-9]*\.[0-9]+   and   -?[0-9]+
            let sign = usize::from(c == b'-');
            let int_digits = self.run_len(p + sign, is_digit);
            if self.byte(p + sign + int_digits) == Some(b'.') {
                let frac = self.run_len(p + sign + int_digits + 1, is_digit);
                if frac > 0 {
                    candidates.push((sign + int_digits + 1 + frac, Rule::Float));
                }
            }
            if int_digits > 0 {
                candidates.push((sign + int_digits, Rule::Integer));
            }
        }
        if c == b'0' && self.byte(p + 1) == Some(b'x') {
            let n = self.run_len(p + 2, |b| b.is_ascii_hexdigit());
            if n > 0 {
                candidates.push((2 + n, Rule::Hex));
            }
        }
        if word_len > 0 {
            candidates.push((word_len, Rule::Word));
        }
        if c == b'"' {
            if let Some(end) = self.quoted_end(p, b'"') {
                candidates.push((end - p, Rule::String));
            }
        }
        if c == b'`' {
            if let Some(end) = self.quoted_end(p, b'`') {
                candidates.push((end - p, Rule::Command));
            }
        }
        candidates.push((1, Rule::Single));
        if c == b'%' && self.byte(p + 1) == Some(b'{') {
            if let Some(end) = self.delimited_end(p + 2, b'}', b'%') {
                candidates.push((end - p, Rule::Code));
            }
        }
        // Addresses need a '.' right after the first digits / a ':' within the first
        // five characters: cheap tests that spare most words and numbers the search.
        let digits_then_dot = self.byte(p + self.run_len(p, is_digit)) == Some(b'.');
        let colon_near = self.src[p..self.src.len().min(p + 5)].contains(&b':');
        if c.is_ascii_digit() && digits_then_dot {
            if let Some(end) = ipv4_match(self.src, p) {
                candidates.push((end - p, Rule::Ipv4));
            }
        }
        if (c.is_ascii_hexdigit() || c == b':') && colon_near {
            if let Some(end) = ipv6_match(self.src, p) {
                candidates.push((end - p, Rule::Ipv6));
            }
        }

        let mut best = candidates[0];
        for &cand in &candidates[1..] {
            if cand.0 > best.0 {
                best = cand;
            }
        }
        let (len, rule) = best;
        let end = p + len;
        // Every rule but `Single` matches ASCII only at its delimiters; check payloads.
        let text = |lx: &Self| -> Result<String, Diagnostic> { lx.utf8(p, end) };
        let kind = match rule {
            Rule::Keyword => {
                let t = text(self)?;
                match Keyword::lookup(&t) {
                    Some(k) => TokenKind::Keyword(k),
                    None => TokenKind::Word(t),
                }
            }
            Rule::Ellipsis => TokenKind::Ellipsis,
            Rule::Option => TokenKind::OptionName(text(self)?[2..].to_string()),
            Rule::Float => {
                let t = text(self)?;
                match t.parse::<f64>() {
                    Ok(v) => TokenKind::Float(v),
                    Err(_) => {
                        return Err(self.error_at(p, end, format!("bad number '{t}'"), t.clone()))
                    }
                }
            }
            Rule::Integer => {
                let t = text(self)?;
                match t.parse::<i64>() {
                    Ok(v) => TokenKind::Integer(v),
                    // Fine where packetdrill only uses the text (hex strings, option
                    // values); the parser rejects it where a number is needed.
                    Err(_) => TokenKind::HugeInteger,
                }
            }
            Rule::Hex => {
                let t = text(self)?;
                match i64::from_str_radix(&t[2..], 16) {
                    Ok(v) => TokenKind::HexInteger(v),
                    Err(_) => {
                        return Err(self.error_at(
                            p,
                            end,
                            format!("hex integer '{t}' is out of range for 64 bits"),
                            t.clone(),
                        ))
                    }
                }
            }
            Rule::Word => {
                let t = text(self)?;
                match self.defines.get(&t) {
                    Some(d) => match d {
                        DefineToken::String(s) => TokenKind::String(s.clone()),
                        DefineToken::Command(s) => TokenKind::Command(s.clone()),
                        DefineToken::Integer(v) => TokenKind::Integer(*v),
                        DefineToken::Word(w) => TokenKind::Word(w.clone()),
                    },
                    None => TokenKind::Word(t),
                }
            }
            Rule::String => TokenKind::String(self.utf8(p + 1, end - 1)?),
            Rule::Command => TokenKind::Command(self.utf8(p + 1, end - 1)?),
            Rule::Code => {
                let body = self.utf8(p + 2, end - 2)?;
                TokenKind::Code(body.trim_matches([' ', '\t']).to_string())
            }
            Rule::Ipv4 => TokenKind::Ipv4Addr(text(self)?),
            Rule::Ipv6 => TokenKind::Ipv6Addr(text(self)?),
            Rule::Single => return self.single(p, c),
        };
        let span = self.span_to(end);
        self.advance_to(end);
        Ok(Token { kind, span })
    }

    /// A one-character token, or the error for a character the grammar never accepts.
    fn single(&mut self, p: usize, c: u8) -> Result<Token, Diagnostic> {
        if PUNCTUATION.contains(&c) {
            let span = self.span_to(p + 1);
            self.advance_to(p + 1);
            return Ok(Token {
                kind: TokenKind::Punct(c),
                span,
            });
        }
        match c {
            b'"' => Err(self.error_at(
                p,
                p + 1,
                "unterminated string: no closing '\"'".into(),
                "\"".into(),
            )),
            b'`' => Err(self.error_at(
                p,
                p + 1,
                "unterminated command: no closing '`'".into(),
                "`".into(),
            )),
            b'%' if self.byte(p + 1) == Some(b'{') => {
                let hint = if self.src[p + 2..].windows(2).any(|w| w == b"}%") {
                    " (packetdrill's lexer does not end a code block at '}%' preceded by \
                     an odd run of '}')"
                } else {
                    ""
                };
                Err(self.error_at(
                    p,
                    p + 2,
                    format!("unterminated code block: no closing '}}%'{hint}"),
                    "%".into(),
                ))
            }
            _ if c >= 0x80 => {
                let rest = &self.src[p..self.src.len().min(p + 4)];
                let ch = match std::str::from_utf8(rest) {
                    Ok(s) => s.chars().next(),
                    Err(e) if e.valid_up_to() > 0 => std::str::from_utf8(&rest[..e.valid_up_to()])
                        .ok()
                        .and_then(|s| s.chars().next()),
                    Err(_) => None,
                };
                match ch {
                    Some(ch) => Err(self.error_at(
                        p,
                        p + ch.len_utf8(),
                        format!("syntax error: unexpected character '{ch}'"),
                        ch.to_string(),
                    )),
                    None => Err(self.error_at(
                        p,
                        p + 1,
                        format!("invalid UTF-8 byte 0x{c:02x}"),
                        char::REPLACEMENT_CHARACTER.to_string(),
                    )),
                }
            }
            _ => {
                let shown = if c.is_ascii_graphic() {
                    (c as char).to_string()
                } else {
                    format!("\\x{c:02x}")
                };
                let what = match c {
                    b'\r' => {
                        " (carriage return: packetdrill does not accept CRLF line ends)".to_string()
                    }
                    _ => String::new(),
                };
                // The token is the character itself, as packetdrill quotes it.
                Err(self.error_at(
                    p,
                    p + 1,
                    format!("syntax error: unexpected character '{shown}'{what}"),
                    char::from(c).to_string(),
                ))
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// Address patterns: sets of reachable end positions (a tiny NFA, longest match).
// ------------------------------------------------------------------------------------------

type Ends = Vec<usize>;

fn dedup(mut v: Ends) -> Ends {
    v.sort_unstable();
    v.dedup();
    v
}

/// `[0-9a-fA-F]{1,4}`
fn seg(src: &[u8], from: &Ends) -> Ends {
    let mut out = Vec::new();
    for &p in from {
        for k in 1..=4 {
            match src.get(p + k - 1) {
                Some(b) if b.is_ascii_hexdigit() => out.push(p + k),
                _ => break,
            }
        }
    }
    dedup(out)
}

fn lit(src: &[u8], from: &Ends, s: &[u8]) -> Ends {
    from.iter()
        .filter(|&&p| src.get(p..p + s.len()) == Some(s))
        .map(|&p| p + s.len())
        .collect()
}

fn colon(src: &[u8], from: &Ends) -> Ends {
    lit(src, from, b":")
}

fn repeat(
    src: &[u8],
    from: &Ends,
    min: usize,
    max: usize,
    f: impl Fn(&[u8], &Ends) -> Ends,
) -> Ends {
    let mut out = if min == 0 { from.clone() } else { Vec::new() };
    let mut cur = from.clone();
    for i in 1..=max {
        cur = f(src, &cur);
        if cur.is_empty() {
            break;
        }
        if i >= min {
            out.extend_from_slice(&cur);
        }
    }
    dedup(out)
}

/// `[0-9]+`, every possible length.
fn digits(src: &[u8], from: &Ends) -> Ends {
    let mut out = Vec::new();
    for &p in from {
        let mut k = p;
        while src.get(k).is_some_and(|b| b.is_ascii_digit()) {
            k += 1;
            out.push(k);
        }
    }
    dedup(out)
}

/// `[0-9]+[.][0-9]+[.][0-9]+[.][0-9]+`
fn ipv4_ends(src: &[u8], from: &Ends) -> Ends {
    let mut cur = from.clone();
    for i in 0..4 {
        cur = digits(src, &cur);
        if i < 3 {
            cur = lit(src, &cur, b".");
        }
    }
    cur
}

fn ipv4_match(src: &[u8], p: usize) -> Option<usize> {
    ipv4_end_max(ipv4_ends(src, &vec![p]))
}

fn ipv4_end_max(v: Ends) -> Option<usize> {
    v.into_iter().max()
}

/// `seg ":"`
fn seg_colon(src: &[u8], from: &Ends) -> Ends {
    colon(src, &seg(src, from))
}

/// `":" seg`
fn colon_seg(src: &[u8], from: &Ends) -> Ends {
    seg(src, &colon(src, from))
}

/// The longest match of packetdrill's IPv6 address pattern (v0 ... v12) at `p`.
fn ipv6_match(src: &[u8], p: usize) -> Option<usize> {
    let start = vec![p];
    let mut ends: Ends = Vec::new();
    // v0  ::
    ends.extend(lit(src, &start, b"::"));
    // v1  (seg:){7}seg
    ends.extend(seg(src, &repeat(src, &start, 7, 7, seg_colon)));
    // v2  (seg:){1,7}:
    ends.extend(colon(src, &repeat(src, &start, 1, 7, seg_colon)));
    // v3  (seg:){1,6}:seg
    ends.extend(colon_seg(src, &repeat(src, &start, 1, 6, seg_colon)));
    // v4..v7  (seg:){1,n}(:seg){1,m}
    for (n, m) in [(5, 2), (4, 3), (3, 4), (2, 5)] {
        let left = repeat(src, &start, 1, n, seg_colon);
        ends.extend(repeat(src, &left, 1, m, colon_seg));
    }
    // v8  seg:((:seg){1,6})
    ends.extend(repeat(src, &seg_colon(src, &start), 1, 6, colon_seg));
    // v9  :(:seg){1,7}
    ends.extend(repeat(src, &colon(src, &start), 1, 7, colon_seg));
    // v10 ::ffff:ipv4
    let ffff = lit(src, &start, b"::ffff:");
    ends.extend(ipv4_ends(src, &ffff));
    // v11 ::ffff:0{1,4}:ipv4
    let zeros = repeat(src, &ffff, 1, 4, |s, f| lit(s, f, b"0"));
    ends.extend(ipv4_ends(src, &colon(src, &zeros)));
    // v12 (seg:){1,4}:ipv4
    ends.extend(ipv4_ends(
        src,
        &colon(src, &repeat(src, &start, 1, 4, seg_colon)),
    ));
    ends.into_iter().max()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Scan a whole source (no defines) into tokens, ending with `Eof` (the
    /// parser pulls tokens one at a time instead).
    fn tokenize(src: &[u8]) -> Result<Vec<Token>, Diagnostic> {
        let mut lexer = Lexer::new(src);
        let mut out = Vec::new();
        loop {
            let t = lexer.next_token()?;
            let eof = t.kind == TokenKind::Eof;
            out.push(t);
            if eof {
                return Ok(out);
            }
        }
    }

    fn kinds(s: &str) -> Vec<TokenKind> {
        tokenize(s.as_bytes())
            .unwrap()
            .into_iter()
            .map(|t| t.kind)
            .filter(|k| *k != TokenKind::Eof)
            .collect()
    }

    fn err(s: &[u8]) -> Diagnostic {
        tokenize(s).unwrap_err()
    }

    use TokenKind::*;

    fn w(s: &str) -> TokenKind {
        Word(s.into())
    }

    #[test]
    fn numbers_words_and_longest_match() {
        assert_eq!(kinds("1234"), vec![Integer(1234)]);
        assert_eq!(kinds("-1"), vec![Integer(-1)]);
        assert_eq!(kinds("3021b9d889017eeb"), vec![w("3021b9d889017eeb")]);
        assert_eq!(kinds("0x1f"), vec![HexInteger(31)]);
        assert_eq!(kinds("0x1g"), vec![w("0x1g")]);
        assert_eq!(kinds(".5"), vec![Float(0.5)]);
        assert_eq!(kinds("1.25"), vec![Float(1.25)]);
        assert_eq!(kinds("-.5"), vec![Float(-0.5)]);
        assert_eq!(kinds("1."), vec![Integer(1), Punct(b'.')]);
        assert_eq!(kinds("1.2.3.4"), vec![Ipv4Addr("1.2.3.4".into())]);
        assert_eq!(kinds("1.2.3"), vec![Float(1.2), Float(0.3)]);
        assert_eq!(kinds("- 1"), vec![Punct(b'-'), Integer(1)]);
        assert_eq!(kinds("S.5"), vec![w("S"), Float(0.5)]);
        assert_eq!(kinds("S."), vec![w("S"), Punct(b'.')]);
        assert_eq!(kinds("0...0.2"), vec![Integer(0), Ellipsis, Float(0.2)]);
    }

    #[test]
    fn keywords_only_whole_words() {
        assert_eq!(kinds("ack"), vec![Keyword(super::Keyword::Ack)]);
        assert_eq!(kinds("ackx"), vec![w("ackx")]);
        assert_eq!(kinds("ect01"), vec![Keyword(super::Keyword::Ect01)]);
        assert_eq!(kinds("GREv0"), vec![Keyword(super::Keyword::Gre)]);
        assert_eq!(
            kinds("sequence# present"),
            vec![
                Keyword(super::Keyword::Sequence),
                Keyword(super::Keyword::Present)
            ]
        );
        assert_eq!(kinds("sequence"), vec![w("sequence")]);
    }

    #[test]
    fn addresses() {
        assert_eq!(kinds("fe80::1"), vec![Ipv6Addr("fe80::1".into())]);
        assert_eq!(kinds("::"), vec![Ipv6Addr("::".into())]);
        assert_eq!(
            kinds("::ffff:192.0.2.1"),
            vec![Ipv6Addr("::ffff:192.0.2.1".into())]
        );
        assert_eq!(
            kinds("1:1001(1000)"),
            vec![
                Integer(1),
                Punct(b':'),
                Integer(1001),
                Punct(b'('),
                Integer(1000),
                Punct(b')')
            ]
        );
        assert_eq!(
            kinds("2001:db8::1 > 2001:db8::2:"),
            vec![
                Ipv6Addr("2001:db8::1".into()),
                Punct(b'>'),
                Ipv6Addr("2001:db8::2".into()),
                Punct(b':')
            ]
        );
        assert_eq!(
            kinds("1:2:3:4:5:6:7:8"),
            vec![Ipv6Addr("1:2:3:4:5:6:7:8".into())]
        );
        assert_eq!(kinds("fd::1"), vec![Ipv6Addr("fd::1".into())]);
    }

    #[test]
    fn strings_commands_code_comments() {
        assert_eq!(kinds(r#""a\"b""#), vec![String(r#"a\"b"#.into())]);
        assert_eq!(kinds("\"a\nb\""), vec![String("a\nb".into())]);
        assert_eq!(
            kinds("\"x\" \"y\""),
            vec![String("x".into()), String("y".into())]
        );
        assert_eq!(kinds("`echo hi`"), vec![Command("echo hi".into())]);
        assert_eq!(kinds("%{ x = 1 \t}%"), vec![Code("x = 1".into())]);
        assert_eq!(kinds("%{x}} }%"), vec![Code("x}}".into())]);
        assert_eq!(
            kinds("1 // c\n2 /* c\n */ 3"),
            vec![Integer(1), Integer(2), Integer(3)]
        );
        assert_eq!(kinds("/** x **/ 1 */ 2"), vec![Integer(2)]);
        assert_eq!(
            kinds("--ip_version=ipv4"),
            vec![
                OptionName("ip_version".into()),
                Punct(b'='),
                Keyword(super::Keyword::Ipv4)
            ]
        );
    }

    #[test]
    fn errors_have_positions() {
        let e = err(b"0 x // no newline");
        assert_eq!((e.span.line, e.span.col), (1, 5));
        assert_eq!(e.token.as_deref(), Some("/"));
        let e = err(b"0\n  \"abc");
        assert_eq!((e.span.line, e.span.col), (2, 3));
        assert!(e.message.contains("unterminated string"));
        let e = err(b"a\n\xc3\xa9 \xff");
        assert_eq!((e.span.line, e.span.col), (2, 1));
        assert!(e.message.contains("unexpected character"));
        let e = err(b"a\n\"\xc3\xa9\xff\"");
        assert_eq!((e.span.line, e.span.col), (2, 3));
        assert!(
            e.message.contains("invalid UTF-8 byte 0xff"),
            "{}",
            e.message
        );
        let e = err(b"x\r\n");
        assert!(e.message.contains("carriage return"));
        assert_eq!(kinds("99999999999999999999"), vec![HugeInteger]);
        let e = err(b"/* open");
        assert!(e.message.contains("unterminated comment"));
        let e = err(b"/* x **/");
        assert!(e.message.contains("odd run"));
        let e = err(b"%{ x");
        assert!(e.message.contains("unterminated code"));
        let e = err(b"`x");
        assert!(e.message.contains("unterminated command"));
        let e = err(b"#");
        assert!(e.message.contains("'#'"));
    }

    #[test]
    fn comments_may_hold_any_bytes() {
        assert_eq!(
            kinds_bytes(b"1 // \xff\xfe\n2"),
            vec![Integer(1), Integer(2)]
        );
    }

    fn kinds_bytes(s: &[u8]) -> Vec<TokenKind> {
        tokenize(s)
            .unwrap()
            .into_iter()
            .map(|t| t.kind)
            .filter(|k| *k != TokenKind::Eof)
            .collect()
    }

    #[test]
    fn defines_replace_words_only() {
        let mut lx = Lexer::new(b"A B C D E F ack");
        lx.set_defines([
            ("A", "\"str\""),
            ("B", "`cmd`"),
            ("C", "0x10"),
            ("D", "IPPROTO_TCP"),
            ("E", "3021b9d8"),
            ("ack", "1"),
        ]);
        let mut got = Vec::new();
        loop {
            let t = lx.next_token().unwrap();
            if t.kind == Eof {
                break;
            }
            got.push(t.kind);
        }
        assert_eq!(
            got,
            vec![
                String("str".into()),
                Command("cmd".into()),
                Integer(16),
                w("IPPROTO_TCP"),
                w("3021b9d8"),
                w("F"),
                Keyword(super::Keyword::Ack)
            ]
        );
    }

    #[test]
    fn strtol_like_c() {
        assert_eq!(c_strtol("10"), Some(10));
        assert_eq!(c_strtol("0x10"), Some(16));
        assert_eq!(c_strtol("010"), Some(8));
        assert_eq!(c_strtol(" -5"), Some(-5));
        assert_eq!(c_strtol(""), Some(0));
        assert_eq!(c_strtol("08"), None);
        assert_eq!(c_strtol("5 "), None);
        assert_eq!(c_strtol("0x"), None);
        assert_eq!(c_strtol("99999999999999999999"), None);
        assert_eq!(c_strtol("9223372036854775807"), None);
    }

    #[test]
    fn columns_count_characters() {
        let toks = tokenize("\"é\" x".as_bytes()).unwrap();
        assert_eq!((toks[1].span.line, toks[1].span.col), (1, 5));
    }
}
