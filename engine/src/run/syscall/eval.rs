//! Evaluating system call arguments (docs/engine/syscalls.md, "Arguments"): symbols become
//! integers, strings are unescaped, and the typed accessors packetdrill's
//! system call handlers use report type errors in its words.

use super::error::{bad_type, invalid, SyscallError};
use super::symbols;
use crate::script::{EpollData, Expr, ExprKind, GreHeader, MplsEntry};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// A fully evaluated expression (packetdrill's expression after `evaluate()`).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Ellipsis,
    Int(i64),
    /// A string's bytes, escapes decoded and adjacent parts joined.
    Bytes(Vec<u8>),
    In6Addr([u8; 16]),
    /// A `{sa_family=..., ...}` literal (no system call consumes one).
    SockAddr {
        ipv6: bool,
    },
    Linger {
        onoff: i32,
        linger: i32,
    },
    /// `NAME = value`, with `NAME` resolved to its number.
    Assign {
        key: i64,
        value: Box<Value>,
    },
    List(Vec<Value>),
    /// `{..., N}`
    Iovec {
        len: i64,
    },
    Msghdr {
        iov_len: i64,
        iov: Box<Value>,
        flags: Box<Value>,
        /// An empty list when the script wrote no `msg_control`.
        control: Box<Value>,
    },
    Cmsg {
        level: Box<Value>,
        ty: Box<Value>,
        data: Box<Value>,
    },
    Pollfd {
        fd: Box<Value>,
        events: Box<Value>,
        revents: Box<Value>,
    },
    ScmTimestamping {
        sec: i64,
        nsec: i64,
    },
    SockExtendedErr(Box<ExtendedErrValue>),
    MplsStack(Vec<MplsEntry>),
    Gre(GreHeader),
    EpollEv {
        events: Box<Value>,
        data: EpollData,
        value: Box<Value>,
    },
}

/// The six fields of a `sock_extended_err` literal.
#[derive(Clone, Debug, PartialEq)]
pub struct ExtendedErrValue {
    pub ee_errno: Value,
    pub ee_origin: Value,
    pub ee_type: Value,
    pub ee_code: Value,
    pub ee_info: Value,
    pub ee_data: Value,
}

impl Value {
    /// packetdrill's name for the expression type, as used in "Bad type" errors.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Ellipsis => "ellipsis",
            Value::Int(_) => "integer",
            Value::Bytes(_) => "string",
            Value::Gre(_) => "gre",
            Value::In6Addr(_) => "in6_addr",
            Value::SockAddr { ipv6: false } => "sockaddr_in",
            Value::SockAddr { ipv6: true } => "sockaddr_in6",
            Value::Linger { .. } => "linger",
            Value::Assign { .. } => "binary_expression",
            Value::List(_) => "list",
            Value::Iovec { .. } => "iovec",
            Value::Msghdr { .. } => "msghdr",
            Value::Cmsg { .. } => "cmsg",
            Value::Pollfd { .. } => "pollfd",
            Value::MplsStack(_) => "mpls_stack",
            Value::ScmTimestamping { .. } => "scm_timestamping",
            Value::SockExtendedErr(_) => "sock_extended_err",
            Value::EpollEv { .. } => "epollev",
        }
    }
}

/// What a `-D NAME=VALUE` definition turns a word into (packetdrill's lexer rules).
#[derive(Clone, Debug, PartialEq)]
pub enum Definition {
    /// `"..."`: a string, contents as written.
    Str(String),
    /// `` `...` ``: a command (not an expression).
    Command(String),
    /// A C integer in any base.
    Int(i64),
    /// Anything else: another word.
    Word(String),
}

/// C's `strtol(s, &end, 0)` accepting only when the whole text is consumed
/// and the value did not saturate (as packetdrill's lexer checks).
pub fn c_integer(s: &str) -> Option<i64> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (radix, digits) = if (t.starts_with("0x") || t.starts_with("0X"))
        && t[2..].starts_with(|c: char| c.is_ascii_hexdigit())
    {
        (16, &t[2..])
    } else if t.starts_with('0') && t.len() > 1 {
        (8, &t[1..])
    } else {
        (10, t)
    };
    if digits.is_empty() {
        // Nothing converted: strtol returns 0 with end at the start of `s`,
        // which is the end of the text only when `s` is empty.
        return s.is_empty().then_some(0);
    }
    let magnitude = i128::from_str_radix(digits, radix).ok()?;
    let v = if neg { -magnitude } else { magnitude };
    if v >= i64::MAX as i128 || v <= i64::MIN as i128 {
        return None;
    }
    Some(v as i64)
}

/// The definition of `word`, if `-D` gave one.
pub fn definition(defines: &BTreeMap<String, String>, word: &str) -> Option<Definition> {
    let value = defines.get(word)?;
    Some(if let Some(rest) = value.strip_prefix('"') {
        Definition::Str(rest.strip_suffix('"').unwrap_or(rest).to_string())
    } else if let Some(rest) = value.strip_prefix('`') {
        Definition::Command(rest.strip_suffix('`').unwrap_or(rest).to_string())
    } else if let Some(n) = c_integer(value) {
        Definition::Int(n)
    } else {
        Definition::Word(value.clone())
    })
}

/// The value of a symbolic constant, or packetdrill's "unknown symbol" error.
pub fn symbol(name: &str) -> Result<i64, SyscallError> {
    symbols::lookup(name).ok_or_else(|| SyscallError::UnknownSymbol(name.to_string()))
}

/// Resolve a word to a number: a `-D` definition first (as packetdrill's lexer
/// substitutes them), then the symbol table.
pub fn resolve_word(defines: &BTreeMap<String, String>, word: &str) -> Result<Value, SyscallError> {
    match definition(defines, word) {
        Some(Definition::Int(n)) => Ok(Value::Int(n)),
        Some(Definition::Str(s)) => Ok(Value::Bytes(unescape(&s)?)),
        Some(Definition::Word(w)) => symbol(&w).map(Value::Int),
        Some(Definition::Command(_)) => Err(bad_type("command", "integer")),
        None => symbol(word).map(Value::Int),
    }
}

/// Decode a string literal's escapes as packetdrill does, including its
/// quirk that `\\` and `\"` both decode to a form feed.
pub fn unescape(s: &str) -> Result<Vec<u8>, SyscallError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        i += 1;
        let Some(&c) = bytes.get(i) else {
            // A trailing backslash: C reads the terminating NUL here.
            return Err(SyscallError::UnsupportedEscape('0'));
        };
        match c {
            b'\\' | b'"' | b'f' => out.push(0x0c),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(0x0b),
            b'x' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .filter(|h| h.iter().all(u8::is_ascii_hexdigit));
                match hex {
                    Some(h) => {
                        let text = std::str::from_utf8(h).unwrap_or("0");
                        out.push(u8::from_str_radix(text, 16).unwrap_or(0));
                        i += 2;
                    }
                    None => {
                        let rest = String::from_utf8_lossy(&bytes[i + 1..]);
                        return Err(SyscallError::InvalidHexEscape(rest.into_owned()));
                    }
                }
            }
            other => {
                return Err(SyscallError::UnsupportedEscape(other as char));
            }
        }
        i += 1;
    }
    Ok(out)
}

/// Evaluate one expression: symbols to numbers, strings decoded.
pub fn evaluate(expr: &Expr, defines: &BTreeMap<String, String>) -> Result<Value, SyscallError> {
    let ev = |e: &Expr| evaluate(e, defines);
    let evb = |e: &Expr| evaluate(e, defines).map(Box::new);
    Ok(match &expr.kind {
        ExprKind::Ellipsis => Value::Ellipsis,
        ExprKind::Int { value, .. } => Value::Int(*value),
        ExprKind::Word(w) => resolve_word(defines, w)?,
        ExprKind::String { parts, .. } => {
            let mut bytes = Vec::new();
            for p in parts {
                bytes.extend(unescape(p)?);
            }
            Value::Bytes(bytes)
        }
        ExprKind::BitOr(a, b) => {
            let lhs = ev(a)?;
            let rhs = ev(b)?;
            match (lhs, rhs) {
                (Value::Int(x), Value::Int(y)) => Value::Int(x | y),
                (Value::Int(_), _) => return Err(invalid("right hand side of | not an integer")),
                _ => return Err(invalid("left hand side of | not an integer")),
            }
        }
        ExprKind::Assign { name, value } => {
            let key = match resolve_word(defines, name)? {
                Value::Int(k) => k,
                other => return Err(bad_type(other.type_name(), "integer")),
            };
            Value::Assign {
                key,
                value: evb(value)?,
            }
        }
        ExprKind::Array(items) | ExprKind::List(items) => {
            Value::List(items.iter().map(ev).collect::<Result<_, _>>()?)
        }
        ExprKind::InetAddr(text) => {
            // inet_addr(): the address in network order, read as a host integer;
            // INADDR_NONE for text it cannot parse.
            let n = text
                .parse::<Ipv4Addr>()
                .map(|a| u32::from_ne_bytes(a.octets()))
                .unwrap_or(u32::MAX);
            Value::Int(n as i64)
        }
        ExprKind::Inet6Addr(text) => {
            let a: std::net::Ipv6Addr =
                text.parse().map_err(|_| invalid("cannot parse in6_addr"))?;
            Value::In6Addr(a.octets())
        }
        ExprKind::SockAddr { family, .. } => Value::SockAddr {
            ipv6: family == "AF_INET6",
        },
        ExprKind::Msghdr {
            iov_len,
            iov,
            flags,
            control,
        } => Value::Msghdr {
            iov_len: *iov_len,
            iov: evb(iov)?,
            flags: evb(flags)?,
            control: match control {
                Some(c) => evb(c)?,
                None => Box::new(Value::List(Vec::new())),
            },
        },
        ExprKind::Iovec { len } => Value::Iovec { len: *len },
        ExprKind::Pollfd {
            fd,
            events,
            revents,
        } => Value::Pollfd {
            fd: evb(fd)?,
            events: evb(events)?,
            revents: match revents {
                Some(r) => evb(r)?,
                None => Box::new(Value::Int(0)),
            },
        },
        ExprKind::EpollEvent {
            events,
            data,
            value,
        } => Value::EpollEv {
            events: evb(events)?,
            data: *data,
            value: evb(value)?,
        },
        ExprKind::Linger { onoff, linger } => Value::Linger {
            onoff: *onoff as i32,
            linger: *linger as i32,
        },
        ExprKind::Cmsg { level, ty, data } => Value::Cmsg {
            level: evb(level)?,
            ty: evb(ty)?,
            data: evb(data)?,
        },
        ExprKind::ScmTimestamping { sec, nsec } => Value::ScmTimestamping {
            sec: *sec,
            nsec: *nsec,
        },
        ExprKind::SockExtendedErr {
            ee_errno,
            ee_origin,
            ee_type,
            ee_code,
            ee_info,
            ee_data,
        } => Value::SockExtendedErr(Box::new(ExtendedErrValue {
            ee_errno: ev(ee_errno)?,
            ee_origin: ev(ee_origin)?,
            ee_type: ev(ee_type)?,
            ee_code: ev(ee_code)?,
            ee_info: ev(ee_info)?,
            ee_data: ev(ee_data)?,
        })),
        ExprKind::MplsStack(entries) => Value::MplsStack(entries.clone()),
        ExprKind::Gre(h) => Value::Gre(*h),
    })
}

/// An integer that must fit in 32 bits (signed or unsigned), as `get_s32`.
pub fn get_s32(v: &Value) -> Result<i32, SyscallError> {
    match v {
        Value::Int(n) => {
            if *n > u32::MAX as i64 || *n < i32::MIN as i64 {
                Err(SyscallError::OutOfRange {
                    bits: 32,
                    value: *n,
                })
            } else {
                Ok(*n as i32)
            }
        }
        other => Err(bad_type(other.type_name(), "integer")),
    }
}

/// An integer that must fit in 8 bits (signed or unsigned), as `get_s8`.
pub fn get_s8(v: &Value) -> Result<u8, SyscallError> {
    match v {
        Value::Int(n) => {
            if *n > u8::MAX as i64 || *n < i8::MIN as i64 {
                Err(SyscallError::OutOfRange { bits: 8, value: *n })
            } else {
                Ok(*n as u8)
            }
        }
        other => Err(bad_type(other.type_name(), "integer")),
    }
}

/// Any integer, as `get_s64`.
pub fn get_s64(v: &Value) -> Result<i64, SyscallError> {
    match v {
        Value::Int(n) => Ok(*n),
        other => Err(bad_type(other.type_name(), "integer")),
    }
}

/// The evaluated arguments of one call, with packetdrill's accessors.
#[derive(Clone, Debug)]
pub struct Args(pub Vec<Value>);

impl Args {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// "Expected N args but got M"
    pub fn check_count(&self, expected: usize) -> Result<(), SyscallError> {
        if self.0.len() != expected {
            return Err(SyscallError::ArgumentCount {
                expected,
                got: self.0.len(),
            });
        }
        Ok(())
    }

    pub fn get(&self, index: usize) -> Result<&Value, SyscallError> {
        self.0.get(index).ok_or(SyscallError::ArgumentListTooShort)
    }

    pub fn s32(&self, index: usize) -> Result<i32, SyscallError> {
        get_s32(self.get(index)?)
    }

    pub fn s64(&self, index: usize) -> Result<i64, SyscallError> {
        get_s64(self.get(index)?)
    }

    pub fn ellipsis(&self, index: usize) -> Result<(), SyscallError> {
        match self.get(index)? {
            Value::Ellipsis => Ok(()),
            other => Err(bad_type(other.type_name(), "ellipsis")),
        }
    }

    pub fn is_ellipsis(&self, index: usize) -> bool {
        matches!(self.0.get(index), Some(Value::Ellipsis))
    }

    /// The single element of a `[x]` argument.
    pub fn bracketed(&self, index: usize) -> Result<&Value, SyscallError> {
        bracketed(self.get(index)?)
    }

    pub fn s32_bracketed(&self, index: usize) -> Result<i32, SyscallError> {
        get_s32(self.bracketed(index)?)
    }

    pub fn s64_bracketed(&self, index: usize) -> Result<i64, SyscallError> {
        get_s64(self.bracketed(index)?)
    }

    /// A buffer argument: `...` (a real buffer) or `NULL`/0 (a null pointer).
    /// Returns whether it is NULL.
    pub fn buffer_is_null(&self, index: usize) -> Result<bool, SyscallError> {
        match self.0.get(index) {
            Some(Value::Ellipsis) => Ok(false),
            Some(Value::Int(0)) => Ok(true),
            _ => Err(invalid("Expected ... or NULL for buffer")),
        }
    }
}

/// The single element of a `[x]` value.
pub fn bracketed(v: &Value) -> Result<&Value, SyscallError> {
    match v {
        Value::List(items) if items.len() == 1 => Ok(&items[0]),
        Value::List(_) => Err(invalid("Expected [<element>] but got multiple elements")),
        other => Err(bad_type(other.type_name(), "list")),
    }
}

/// The expected result of a call: an integer literal (or a `-D` name that
/// expands to one); anything else is packetdrill's type error. Unlike
/// arguments, the result is not evaluated, so a symbol is not resolved.
pub fn expected_result(
    expr: &Expr,
    defines: &BTreeMap<String, String>,
) -> Result<i32, SyscallError> {
    let v = match &expr.kind {
        ExprKind::Int { value, .. } => Value::Int(*value),
        // inet_addr("...") is an integer literal to packetdrill's parser.
        ExprKind::InetAddr(_) => evaluate(expr, defines)?,
        ExprKind::Word(w) => match definition(defines, w) {
            Some(Definition::Int(n)) => Value::Int(n),
            Some(Definition::Str(_)) => return Err(bad_type("string", "integer")),
            _ => return Err(bad_type("word", "integer")),
        },
        other => return Err(bad_type(unevaluated_type_name(other), "integer")),
    };
    get_s32(&v)
}

/// packetdrill's type name of an expression as parsed (before evaluation).
fn unevaluated_type_name(kind: &ExprKind) -> &'static str {
    match kind {
        ExprKind::Ellipsis => "ellipsis",
        ExprKind::Int { .. } | ExprKind::InetAddr(_) => "integer",
        ExprKind::Word(_) => "word",
        // Adjacent strings are a concatenation expression.
        ExprKind::String { parts, .. } if parts.len() > 1 => "binary_expression",
        ExprKind::String { .. } => "string",
        ExprKind::BitOr(..) | ExprKind::Assign { .. } => "binary_expression",
        ExprKind::Array(_) | ExprKind::List(_) => "list",
        ExprKind::Inet6Addr(_) => "in6_addr",
        ExprKind::SockAddr { family, .. } if family == "AF_INET6" => "sockaddr_in6",
        ExprKind::SockAddr { .. } => "sockaddr_in",
        ExprKind::Msghdr { .. } => "msghdr",
        ExprKind::Iovec { .. } => "iovec",
        ExprKind::Pollfd { .. } => "pollfd",
        ExprKind::EpollEvent { .. } => "epollev",
        ExprKind::Linger { .. } => "linger",
        ExprKind::Cmsg { .. } => "cmsg",
        ExprKind::ScmTimestamping { .. } => "scm_timestamping",
        ExprKind::SockExtendedErr { .. } => "sock_extended_err",
        ExprKind::MplsStack(_) => "mpls_stack",
        ExprKind::Gre(_) => "gre",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::Span;

    fn e(kind: ExprKind) -> Expr {
        Expr::new(kind, Span::default())
    }
    fn int(v: i64) -> Expr {
        e(ExprKind::Int {
            value: v,
            hex: false,
        })
    }
    fn word(w: &str) -> Expr {
        e(ExprKind::Word(w.into()))
    }
    fn no_defines() -> BTreeMap<String, String> {
        BTreeMap::new()
    }

    #[test]
    fn words_and_bit_or() {
        let d = no_defines();
        let x = e(ExprKind::BitOr(
            Box::new(word("O_RDWR")),
            Box::new(word("O_NONBLOCK")),
        ));
        assert_eq!(evaluate(&x, &d), Ok(Value::Int(2 | 0x800)));
        assert_eq!(
            evaluate(&word("TCP_BOGUS"), &d).map_err(|e| e.to_string()),
            Err("unknown symbol: 'TCP_BOGUS'".into())
        );
        let bad = e(ExprKind::BitOr(
            Box::new(e(ExprKind::Ellipsis)),
            Box::new(int(1)),
        ));
        assert_eq!(
            evaluate(&bad, &d).map_err(|e| e.to_string()),
            Err("left hand side of | not an integer".into())
        );
    }

    #[test]
    fn defines_substitute_before_symbols() {
        let mut d = no_defines();
        d.insert("CMSG_LEVEL_IP".into(), "SOL_IP".into());
        d.insert("N".into(), "0x10".into());
        d.insert("S".into(), "\"ab\"".into());
        d.insert("SOL_TCP".into(), "99".into());
        assert_eq!(evaluate(&word("CMSG_LEVEL_IP"), &d), Ok(Value::Int(0)));
        assert_eq!(evaluate(&word("N"), &d), Ok(Value::Int(16)));
        assert_eq!(evaluate(&word("S"), &d), Ok(Value::Bytes(b"ab".to_vec())));
        assert_eq!(evaluate(&word("SOL_TCP"), &d), Ok(Value::Int(99)));
    }

    #[test]
    fn c_integers_follow_strtol() {
        assert_eq!(c_integer("12"), Some(12));
        assert_eq!(c_integer("-5"), Some(-5));
        assert_eq!(c_integer("0x1f"), Some(31));
        assert_eq!(c_integer("010"), Some(8));
        assert_eq!(c_integer("0"), Some(0));
        assert_eq!(c_integer(""), Some(0));
        assert_eq!(c_integer("3021b9d889017eeb"), None);
        assert_eq!(c_integer("SOL_IP"), None);
        assert_eq!(c_integer("99999999999999999999"), None);
    }

    #[test]
    fn strings_unescape_with_packetdrills_quirks() {
        assert_eq!(unescape(r"a\n\t\x41"), Ok(b"a\n\tA".to_vec()));
        assert_eq!(unescape(r"\\"), Ok(vec![0x0c]));
        assert_eq!(unescape(r#"\""#), Ok(vec![0x0c]));
        assert_eq!(
            unescape(r"\q").map_err(|e| e.to_string()),
            Err("unsupported escape code: 'q'".into())
        );
        assert_eq!(
            unescape(r"\xZ1").map_err(|e| e.to_string()),
            Err("invalid hex escape (\\xhh): '\\xZ1'".into())
        );
        let s = e(ExprKind::String {
            parts: vec!["re".into(), "no".into()],
            ellipsis: false,
        });
        assert_eq!(
            evaluate(&s, &no_defines()),
            Ok(Value::Bytes(b"reno".to_vec()))
        );
    }

    #[test]
    fn inet_addr_is_network_order_integer() {
        let v = evaluate(&e(ExprKind::InetAddr("1.2.3.4".into())), &no_defines());
        assert_eq!(v, Ok(Value::Int(u32::from_ne_bytes([1, 2, 3, 4]) as i64)));
    }

    #[test]
    fn typed_accessors_report_packetdrills_errors() {
        let args = Args(vec![
            Value::Int(3),
            Value::Ellipsis,
            Value::List(vec![Value::Int(1)]),
            Value::List(vec![Value::Int(1), Value::Int(2)]),
            Value::Int(1 << 33),
        ]);
        assert_eq!(
            args.check_count(3).map_err(|e| e.to_string()),
            Err("Expected 3 args but got 5".into())
        );
        assert_eq!(args.s32(0), Ok(3));
        assert_eq!(
            args.s32(1).map_err(|e| e.to_string()),
            Err("Bad type; actual: ellipsis expected: integer".into())
        );
        assert_eq!(
            args.ellipsis(0).map_err(|e| e.to_string()),
            Err("Bad type; actual: integer expected: ellipsis".into())
        );
        assert_eq!(args.s32_bracketed(2), Ok(1));
        assert_eq!(
            args.s32_bracketed(3).map_err(|e| e.to_string()),
            Err("Expected [<element>] but got multiple elements".into())
        );
        assert_eq!(
            args.s32(4).map_err(|e| e.to_string()),
            Err("Value out of range for 32-bit integer: 8589934592".into())
        );
        assert_eq!(
            args.get(9).map_err(|e| e.to_string()),
            Err("Argument list too short".into())
        );
        assert_eq!(args.buffer_is_null(1), Ok(false));
        assert!(args.buffer_is_null(0).is_err());
        assert_eq!(get_s32(&Value::Int(0xffff_ffff)), Ok(-1));
    }

    #[test]
    fn result_is_not_evaluated() {
        let d = no_defines();
        assert_eq!(expected_result(&int(3), &d), Ok(3));
        assert_eq!(
            expected_result(&word("FOO"), &d).map_err(|e| e.to_string()),
            Err("Bad type; actual: word expected: integer".into())
        );
        assert_eq!(
            expected_result(&e(ExprKind::Ellipsis), &d).map_err(|e| e.to_string()),
            Err("Bad type; actual: ellipsis expected: integer".into())
        );
        let or = e(ExprKind::BitOr(Box::new(int(1)), Box::new(int(2))));
        assert_eq!(
            expected_result(&or, &d).map_err(|e| e.to_string()),
            Err("Bad type; actual: binary_expression expected: integer".into())
        );
        assert_eq!(
            expected_result(&int(1 << 40), &d).map_err(|e| e.to_string()),
            Err("Value out of range for 32-bit integer: 1099511627776".into())
        );
        let mut d = no_defines();
        d.insert("FOO".into(), "7".into());
        assert_eq!(expected_result(&word("FOO"), &d), Ok(7));
    }
}
