//! ICMP and ICMPv6 messages: one view for both, as both start with the same
//! 8 bytes (type, code, checksum, four bytes that depend on the type), then
//! data (for errors: the echoed packet). What differs lives beside it: the
//! checksum (ICMPv6 covers a pseudo-header) and the type and code names, in
//! [`super::icmpv4`] and [`super::icmpv6`].
//!
//! Like every view, its accessors never panic: on a buffer shorter than the
//! header, missing bytes read as zero and writes to them are dropped
//! ([`Packet::new_checked`] refuses such a buffer in the first place).

use super::field::Fields;
use super::view::View;
use super::{checksum, Error, Result};

pub const HEADER_LEN: usize = 8;

mod field {
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: usize = 2;
    /// The four bytes after the checksum ("rest of header").
    pub const REST: usize = 4;
    /// Echo messages: identifier then sequence number.
    pub const ECHO_IDENT: usize = 4;
    /// ICMPv4 "fragmentation needed": the next-hop MTU (16 bits, RFC 1191).
    pub const NEXT_HOP_MTU: usize = 6;
    /// ICMPv6 "packet too big": the MTU (32 bits).
    pub const MTU: usize = 4;
}

/// ICMP and ICMPv6 messages, for [`View`]. Their check names the version
/// (`Truncated ICMPv4 header`), so the view has its own
/// [`Packet::new_checked`] rather than a [`super::view::Checks`] impl.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Icmp;

/// A read/write view of an ICMP or ICMPv6 message; see the module docs.
pub type Packet<T> = View<Icmp, T>;

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap `buffer` if it holds at least the header; `what` names the
    /// protocol in the error (`Truncated ICMPv4 header`).
    pub fn new_checked(buffer: T, what: &str) -> Result<Packet<T>> {
        let p = Packet::new_unchecked(buffer);
        p.check_len(what)?;
        Ok(p)
    }

    /// The buffer holds the header; `what` names the protocol in the error.
    pub fn check_len(&self, what: &str) -> Result<()> {
        if self.b().len() < HEADER_LEN {
            return Err(Error(format!("Truncated {what} header")));
        }
        Ok(())
    }

    pub fn msg_type(&self) -> u8 {
        self.b().u8_at(field::TYPE)
    }

    pub fn msg_code(&self) -> u8 {
        self.b().u8_at(field::CODE)
    }

    pub fn checksum(&self) -> u16 {
        self.b().u16_at(field::CHECKSUM)
    }

    /// The four bytes after the checksum.
    pub fn rest_of_header(&self) -> [u8; 4] {
        self.b().array_at(field::REST)
    }

    /// The identifier of an echo request or reply.
    pub fn echo_ident(&self) -> u16 {
        self.b().u16_at(field::ECHO_IDENT)
    }

    /// The next-hop MTU of an ICMPv4 "fragmentation needed" message.
    pub fn next_hop_mtu(&self) -> u16 {
        self.b().u16_at(field::NEXT_HOP_MTU)
    }

    /// The MTU of an ICMPv6 "packet too big" message.
    pub fn mtu(&self) -> u32 {
        self.b().u32_at(field::MTU)
    }

    /// The bytes after the header.
    pub fn data(&self) -> &[u8] {
        self.b().range(HEADER_LEN..self.b().len())
    }

    /// The Internet checksum of the message with `pseudo_header`'s sum
    /// folded in (0 for ICMPv4); a right checksum gives `0xffff`.
    pub(crate) fn sum(&self, pseudo_header: u16) -> u16 {
        checksum::combine(&[pseudo_header, checksum::data(self.b())])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    pub fn set_msg_type(&mut self, v: u8) {
        self.bm().set_u8_at(field::TYPE, v);
    }

    pub fn set_msg_code(&mut self, v: u8) {
        self.bm().set_u8_at(field::CODE, v);
    }

    pub fn set_checksum(&mut self, v: u16) {
        self.bm().set_u16_at(field::CHECKSUM, v);
    }

    pub fn set_rest_of_header(&mut self, v: [u8; 4]) {
        self.bm().set_bytes_at(field::REST, &v);
    }

    pub fn set_echo_ident(&mut self, v: u16) {
        self.bm().set_u16_at(field::ECHO_IDENT, v);
    }

    pub fn set_next_hop_mtu(&mut self, v: u16) {
        self.bm().set_u16_at(field::NEXT_HOP_MTU, v);
    }

    pub fn set_mtu(&mut self, v: u32) {
        self.bm().set_u32_at(field::MTU, v);
    }

    /// Store the checksum over the message with `pseudo_header`'s sum
    /// folded in (0 for ICMPv4).
    pub(crate) fn fill_sum(&mut self, pseudo_header: u16) {
        self.set_checksum(0);
        let sum = !self.sum(pseudo_header);
        self.set_checksum(sum);
    }
}

/// An ICMP or ICMPv6 message header; the data is not kept, only its length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Repr {
    pub msg_type: u8,
    pub msg_code: u8,
    pub rest_of_header: [u8; 4],
    pub data_len: usize,
}

impl Repr {
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr> {
        packet.check_len("ICMP")?;
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

pub(crate) const fn code(code: u8, name: &'static str) -> CodeName {
    CodeName { code, name }
}

pub(crate) const fn ty(ty: u8, name: &'static str, codes: &'static [CodeName]) -> TypeName {
    TypeName { ty, name, codes }
}

/// A script's ICMP type or code word that names nothing. `Display` is
/// packetdrill's text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("bad ICMP type {0}")]
    Type(String),
    /// The code word (`(null)` when the type is a number with no code word).
    #[error("bad ICMP code {0}")]
    Code(String),
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

/// Resolve a script's type and code words in `table` the way packetdrill
/// does: `type_N`/`code_N` give numbers directly; names are looked up in the
/// table (codes only in the table of a named type); a missing code is 0.
pub(crate) fn resolve_in(
    table: &[TypeName],
    type_word: &str,
    code_word: Option<&str>,
) -> std::result::Result<(u8, u8), NameError> {
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
    let ty = u8::try_from(ty).map_err(|_| NameError::Type(type_word.to_string()))?;
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
        .map_err(|_| NameError::Code(code_word.unwrap_or("(null)").to_string()))?;
    Ok((ty, code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_fields_round_trip() {
        let r = Repr {
            msg_type: 3,
            msg_code: 4,
            rest_of_header: [0, 0, 0x04, 0xb0],
            data_len: 28,
        };
        let mut buf = vec![0u8; r.buffer_len()];
        r.emit(&mut Packet::new_unchecked(&mut buf[..]));
        let p = Packet::new_checked(&buf[..], "ICMPv4").unwrap();
        assert_eq!(p.next_hop_mtu(), 1200);
        assert_eq!(Repr::parse(&p).unwrap(), r);
        let mut p = Packet::new_unchecked(&mut buf[..]);
        p.set_mtu(1280);
        assert_eq!(p.mtu(), 1280);
        p.set_echo_ident(7);
        assert_eq!((p.echo_ident(), p.mtu()), (7, 0x0007_0500));
        assert_eq!(
            Packet::new_checked(&buf[..7], "ICMPv6")
                .unwrap_err()
                .to_string(),
            "Truncated ICMPv6 header"
        );
    }

    #[test]
    fn short_buffers_read_zero_and_ignore_writes() {
        let mut buf = [9u8; 3];
        let mut p = Packet::new_unchecked(&mut buf[..]);
        p.set_mtu(0xffff_ffff);
        p.set_checksum(0xabcd);
        assert_eq!(p.msg_type(), 9);
        assert_eq!(p.checksum(), 0xab00);
        assert_eq!((p.mtu(), p.next_hop_mtu(), p.echo_ident()), (0, 0, 0));
        assert!(p.data().is_empty());
        assert!(Repr::parse(&p).is_err());
        assert_eq!(buf, [9, 9, 0xab]);
    }

    #[test]
    fn numbered_words_read_like_sscanf() {
        assert_eq!(scan_numbered("type_7x", "type_"), Some(7));
        assert_eq!(scan_numbered("code_ -2", "code_"), Some(-2));
        assert_eq!(scan_numbered("type_", "type_"), None);
        assert_eq!(scan_numbered("frag_needed", "code_"), None);
    }
}
