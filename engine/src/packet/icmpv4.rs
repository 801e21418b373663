//! ICMP for IPv4 (RFC 792), with the type and code names packetdrill scripts
//! use (`unreachable frag_needed`, `time_exceeded`, `type_3 code_4`, ...).

use super::{checksum, Error, Result};

pub const HEADER_LEN: usize = 8;

/// Type numbers.
pub mod ty {
    pub const ECHO_REPLY: u8 = 0;
    pub const DEST_UNREACH: u8 = 3;
    pub const SOURCE_QUENCH: u8 = 4;
    pub const REDIRECT: u8 = 5;
    pub const ECHO_REQUEST: u8 = 8;
    pub const TIME_EXCEEDED: u8 = 11;
    pub const PARAMETER_PROBLEM: u8 = 12;
    pub const TIMESTAMP: u8 = 13;
    pub const TIMESTAMP_REPLY: u8 = 14;
    pub const INFO_REQUEST: u8 = 15;
    pub const INFO_REPLY: u8 = 16;
    pub const ADDRESS_MASK: u8 = 17;
    pub const ADDRESS_MASK_REPLY: u8 = 18;
}

/// Destination-unreachable code for "fragmentation needed" (RFC 1191).
pub const CODE_FRAG_NEEDED: u8 = 4;

/// A code name of one ICMP type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodeName {
    pub code: u8,
    pub name: &'static str,
}

/// A type name and the names of its codes (empty when it has none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TypeName {
    pub ty: u8,
    pub name: &'static str,
    pub codes: &'static [CodeName],
}

const fn c(code: u8, name: &'static str) -> CodeName {
    CodeName { code, name }
}

const UNREACHABLE_CODES: &[CodeName] = &[
    c(0, "net_unreachable"),
    c(1, "host_unreachable"),
    c(2, "protocol_unreachable"),
    c(3, "port_unreachable"),
    c(4, "frag_needed"),
    c(5, "source_route_failed"),
    c(6, "net_unknown"),
    c(7, "host_unknown"),
    c(8, "source_host_isolated"),
    c(9, "net_prohibited"),
    c(10, "host_prohibited"),
    c(11, "net_unreachable_for_tos"),
    c(12, "host_unreachable_for_tos"),
    c(13, "packet_filtered"),
    c(14, "precedence_violation"),
    c(15, "precedence_cutoff"),
];

const fn t(ty: u8, name: &'static str, codes: &'static [CodeName]) -> TypeName {
    TypeName { ty, name, codes }
}

/// packetdrill's ICMPv4 type table.
pub const TYPES: &[TypeName] = &[
    t(ty::ECHO_REPLY, "echo_reply", &[]),
    t(ty::DEST_UNREACH, "unreachable", UNREACHABLE_CODES),
    t(ty::SOURCE_QUENCH, "source_quench", &[]),
    t(ty::REDIRECT, "redirect", &[]),
    t(ty::ECHO_REQUEST, "echo_request", &[]),
    t(ty::TIME_EXCEEDED, "time_exceeded", &[]),
    t(ty::PARAMETER_PROBLEM, "parameter_problem", &[]),
    t(ty::TIMESTAMP, "timestamp_request", &[]),
    t(ty::TIMESTAMP_REPLY, "timestamp_reply", &[]),
    t(ty::INFO_REQUEST, "information_request", &[]),
    t(ty::INFO_REPLY, "information_reply", &[]),
    t(ty::ADDRESS_MASK, "address_mask_request", &[]),
    t(ty::ADDRESS_MASK_REPLY, "address_mask_reply", &[]),
];

/// The script name of a type (`None` for types with no name).
pub fn type_name(ty: u8) -> Option<&'static str> {
    name_of(TYPES, ty)
}

/// The script name of a code of a type.
pub fn code_name(ty: u8, code: u8) -> Option<&'static str> {
    code_name_of(TYPES, ty, code)
}

/// Resolve a script's type and code words the way packetdrill does:
/// `type_N`/`code_N` give numbers directly; names are looked up in the
/// table (codes only in the table of a named type); a missing code is 0.
/// Errors: "bad ICMP type X", "bad ICMP code X".
pub fn resolve(type_word: &str, code_word: Option<&str>) -> std::result::Result<(u8, u8), String> {
    resolve_in(TYPES, type_word, code_word)
}

pub(crate) fn name_of(table: &[TypeName], ty: u8) -> Option<&'static str> {
    table.iter().find(|t| t.ty == ty).map(|t| t.name)
}

pub(crate) fn code_name_of(table: &[TypeName], ty: u8, code: u8) -> Option<&'static str> {
    table
        .iter()
        .find(|t| t.ty == ty)?
        .codes
        .iter()
        .find(|c| c.code == code)
        .map(|c| c.name)
}

/// `sscanf(word, "PREFIX%d")`: the prefix, optional spaces and sign, then
/// digits; anything after the digits is ignored.
fn scan_numbered(word: &str, prefix: &str) -> Option<i64> {
    let rest = word.strip_prefix(prefix)?.trim_start();
    let (neg, digits) = match rest.as_bytes().first() {
        Some(b'-') => (true, &rest[1..]),
        Some(b'+') => (false, &rest[1..]),
        _ => (false, rest),
    };
    let end = digits
        .find(|ch: char| !ch.is_ascii_digit())
        .unwrap_or(digits.len());
    if end == 0 {
        return None;
    }
    // Out-of-range numbers are invalid either way; saturate instead of wrapping.
    let v = digits[..end].parse::<i64>().unwrap_or(i64::MAX);
    Some(if neg { -v } else { v })
}

pub(crate) fn resolve_in(
    table: &[TypeName],
    type_word: &str,
    code_word: Option<&str>,
) -> std::result::Result<(u8, u8), String> {
    let mut codes: &[CodeName] = &[];
    let ty = match scan_numbered(type_word, "type_") {
        Some(n) => n,
        None => match table.iter().rev().find(|t| t.name == type_word) {
            Some(t) => {
                codes = t.codes;
                i64::from(t.ty)
            }
            None => -1,
        },
    };
    let ty = u8::try_from(ty).map_err(|_| format!("bad ICMP type {type_word}"))?;
    let code = match code_word {
        None => 0,
        Some(w) => match scan_numbered(w, "code_") {
            Some(n) => n,
            None => codes
                .iter()
                .rev()
                .find(|c| c.name == w)
                .map_or(-1, |c| i64::from(c.code)),
        },
    };
    let code = u8::try_from(code)
        .map_err(|_| format!("bad ICMP code {}", code_word.unwrap_or("(null)")))?;
    Ok((ty, code))
}

mod field {
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: std::ops::Range<usize> = 2..4;
    pub const REST: std::ops::Range<usize> = 4..8;
}

/// A read/write view of an ICMPv4 message: 8-byte header, then data (for
/// errors: the echoed IP header and the first bytes after it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let p = Packet::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            return Err(Error::new("Truncated ICMPv4 header"));
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    fn u16_at(&self, at: usize) -> u16 {
        u16::from_be_bytes([self.b()[at], self.b()[at + 1]])
    }

    pub fn msg_type(&self) -> u8 {
        self.b()[field::TYPE]
    }

    pub fn msg_code(&self) -> u8 {
        self.b()[field::CODE]
    }

    pub fn checksum(&self) -> u16 {
        self.u16_at(field::CHECKSUM.start)
    }

    /// The four bytes after the checksum.
    pub fn rest_of_header(&self) -> [u8; 4] {
        let d = &self.b()[field::REST];
        [d[0], d[1], d[2], d[3]]
    }

    /// Echo identifier.
    pub fn echo_ident(&self) -> u16 {
        self.u16_at(4)
    }

    pub fn echo_seq_no(&self) -> u16 {
        self.u16_at(6)
    }

    /// Next-hop MTU of a "fragmentation needed" message.
    pub fn next_hop_mtu(&self) -> u16 {
        self.u16_at(6)
    }

    pub fn data(&self) -> &[u8] {
        &self.b()[HEADER_LEN..]
    }

    pub fn verify_checksum(&self) -> bool {
        checksum::data(self.b()) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn set_u16_at(&mut self, at: usize, v: u16) {
        self.buffer.as_mut()[at..at + 2].copy_from_slice(&v.to_be_bytes());
    }

    pub fn set_msg_type(&mut self, v: u8) {
        self.buffer.as_mut()[field::TYPE] = v;
    }

    pub fn set_msg_code(&mut self, v: u8) {
        self.buffer.as_mut()[field::CODE] = v;
    }

    pub fn set_checksum(&mut self, v: u16) {
        self.set_u16_at(field::CHECKSUM.start, v);
    }

    pub fn set_rest_of_header(&mut self, v: [u8; 4]) {
        self.buffer.as_mut()[field::REST].copy_from_slice(&v);
    }

    pub fn set_echo_ident(&mut self, v: u16) {
        self.set_u16_at(4, v);
    }

    pub fn set_echo_seq_no(&mut self, v: u16) {
        self.set_u16_at(6, v);
    }

    pub fn set_next_hop_mtu(&mut self, v: u16) {
        self.set_u16_at(6, v);
    }

    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[HEADER_LEN..]
    }

    /// Compute and store the checksum over the whole message.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let sum = !checksum::data(self.b());
        self.set_checksum(sum);
    }
}

/// An ICMPv4 message header; the data is not kept, only its length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Repr {
    pub msg_type: u8,
    pub msg_code: u8,
    pub rest_of_header: [u8; 4],
    pub data_len: usize,
}

impl Repr {
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr> {
        packet.check_len()?;
        Ok(Repr {
            msg_type: packet.msg_type(),
            msg_code: packet.msg_code(),
            rest_of_header: packet.rest_of_header(),
            data_len: packet.data().len(),
        })
    }

    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.data_len
    }

    /// Write the header (checksum zero) into the first 8 bytes of `packet`.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_msg_type(self.msg_type);
        packet.set_msg_code(self.msg_code);
        packet.set_checksum(0);
        packet.set_rest_of_header(self.rest_of_header);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_like_packetdrill() {
        assert_eq!(resolve("unreachable", Some("frag_needed")), Ok((3, 4)));
        assert_eq!(resolve("time_exceeded", None), Ok((11, 0)));
        assert_eq!(resolve("echo_request", None), Ok((8, 0)));
        assert_eq!(resolve("type_3", Some("code_13")), Ok((3, 13)));
        assert_eq!(resolve("type_7x", Some("code_2y")), Ok((7, 2)));
        assert_eq!(
            resolve("unreachable", Some("precedence_cutoff")),
            Ok((3, 15))
        );
        assert_eq!(
            resolve("bogus", None),
            Err("bad ICMP type bogus".to_string())
        );
        assert_eq!(
            resolve("type_256", None),
            Err("bad ICMP type type_256".to_string())
        );
        // Codes are only looked up in the table of a named type.
        assert_eq!(
            resolve("type_3", Some("frag_needed")),
            Err("bad ICMP code frag_needed".to_string())
        );
        assert_eq!(
            resolve("time_exceeded", Some("frag_needed")),
            Err("bad ICMP code frag_needed".to_string())
        );
        assert_eq!(
            resolve("unreachable", Some("code_-1")),
            Err("bad ICMP code code_-1".to_string())
        );
    }

    #[test]
    fn names_of_numbers() {
        assert_eq!(type_name(3), Some("unreachable"));
        assert_eq!(code_name(3, 4), Some("frag_needed"));
        assert_eq!(code_name(11, 0), None);
        assert_eq!(type_name(99), None);
        for t in TYPES {
            assert_eq!(resolve(t.name, None), Ok((t.ty, 0)));
            for c in t.codes {
                assert_eq!(resolve(t.name, Some(c.name)), Ok((t.ty, c.code)));
            }
        }
    }

    #[test]
    fn frag_needed_round_trip() {
        let r = Repr {
            msg_type: ty::DEST_UNREACH,
            msg_code: CODE_FRAG_NEEDED,
            rest_of_header: [0, 0, 0x04, 0xb0],
            data_len: 28,
        };
        let mut buf = vec![0u8; r.buffer_len()];
        let mut p = Packet::new_unchecked(&mut buf[..]);
        r.emit(&mut p);
        p.fill_checksum();
        let p = Packet::new_checked(&buf[..]).unwrap();
        assert!(p.verify_checksum());
        assert_eq!(p.next_hop_mtu(), 1200);
        assert_eq!(Repr::parse(&p).unwrap(), r);
        assert!(Packet::new_checked(&buf[..7]).is_err());
    }
}
