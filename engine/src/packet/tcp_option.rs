//! TCP options: a raw iterator with packetdrill's length rules, and a typed
//! [`TcpOption`] for every kind packetdrill knows.
//!
//! packetdrill's option iterator knows the kinds EOL, NOP, MSS, WS,
//! SACK-permitted, SACK, TS, MD5, FastOpen (34), AccECN (172/174) and the
//! experimental kind 254; any other kind in a live packet is an error
//! ("unexpected TCP option kind: N"), even where options are not checked.
//! [`RawOptions::new`] follows that rule; [`RawOptions::any_kind`] accepts
//! every kind (for displaying foreign traffic). Like packetdrill, EOL does not
//! end the walk: bytes after it are read as options too.

use super::field::Fields;
use super::{Error, Result};
use std::fmt::Write as _;

/// Which counter an AccECN option carries first: the option kind says it
/// (172: `e0b, ceb, e1b`; 174: `e1b, ceb, e0b`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccEcnOrder {
    /// Kind 172.
    E0bFirst,
    /// Kind 174.
    E1bFirst,
}

/// Option kinds.
pub mod kind {
    pub const EOL: u8 = 0;
    pub const NOP: u8 = 1;
    pub const MSS: u8 = 2;
    pub const WINDOW_SCALE: u8 = 3;
    pub const SACK_PERMITTED: u8 = 4;
    pub const SACK: u8 = 5;
    pub const TIMESTAMP: u8 = 8;
    pub const MD5: u8 = 19;
    pub const FAST_OPEN: u8 = 34;
    pub const ACCECN0: u8 = 172;
    pub const ACCECN1: u8 = 174;
    /// RFC 6994 experimental option; packetdrill uses it for `FOEXP`.
    pub const EXPERIMENTAL: u8 = 254;
}

/// The magic number of the experimental TCP Fast Open option.
pub const FASTOPEN_MAGIC: u16 = 0xF989;
/// Room for options in a TCP header (60 − 20 bytes).
pub const MAX_OPTIONS_LEN: usize = 40;
/// The longest MD5 digest packetdrill accepts in a script.
pub const MD5_DIGEST_LEN: usize = 16;
/// The most 24-bit counters an AccECN option carries.
pub const ACCECN_MAX_FIELDS: usize = 3;
/// The largest value of an AccECN counter.
pub const ACCECN_FIELD_MAX: u32 = 0x00ff_ffff;

/// The length packetdrill requires for a kind: `Some(Some(n))` fixed,
/// `Some(None)` variable, `None` unknown kind.
fn expected_len(k: u8) -> Option<Option<u8>> {
    match k {
        kind::EOL | kind::NOP => Some(Some(1)),
        kind::MSS => Some(Some(4)),
        kind::WINDOW_SCALE => Some(Some(3)),
        kind::SACK_PERMITTED => Some(Some(2)),
        kind::TIMESTAMP => Some(Some(10)),
        kind::SACK
        | kind::MD5
        | kind::FAST_OPEN
        | kind::ACCECN0
        | kind::ACCECN1
        | kind::EXPERIMENTAL => Some(None),
        _ => None,
    }
}

/// One option as it is on the wire, with its position in the options area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawOption<'a> {
    /// Offset of the kind byte from the start of the options area.
    pub offset: usize,
    /// The whole option: kind, length byte (except EOL/NOP) and data.
    pub bytes: &'a [u8],
}

impl<'a> RawOption<'a> {
    pub fn kind(&self) -> u8 {
        self.bytes.first().copied().unwrap_or(kind::EOL)
    }

    /// Bytes on the wire, kind and length byte included.
    pub fn wire_len(&self) -> usize {
        self.bytes.len()
    }

    /// The data after the kind and length bytes.
    pub fn data(&self) -> &'a [u8] {
        self.bytes.get(2..).unwrap_or(&[])
    }
}

/// An iterator over the options area of a TCP header. It stops after the
/// first error.
#[derive(Clone, Debug)]
pub struct RawOptions<'a> {
    data: &'a [u8],
    pos: usize,
    any_kind: bool,
    done: bool,
}

impl<'a> RawOptions<'a> {
    /// packetdrill's walk: unknown kinds are errors.
    pub fn new(data: &'a [u8]) -> Self {
        RawOptions {
            data,
            pos: 0,
            any_kind: false,
            done: false,
        }
    }

    /// Accept every kind (unknown ones are taken as kind-length-data).
    pub fn any_kind(data: &'a [u8]) -> Self {
        RawOptions {
            any_kind: true,
            ..RawOptions::new(data)
        }
    }

    fn fail(&mut self, msg: String) -> Option<Result<RawOption<'a>>> {
        self.done = true;
        Some(Err(Error(msg)))
    }
}

impl<'a> Iterator for RawOptions<'a> {
    type Item = Result<RawOption<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.pos >= self.data.len() {
            return None;
        }
        let start = self.pos;
        let k = self.data[start];
        let expected = match expected_len(k) {
            Some(e) => e,
            None if self.any_kind => None,
            None => return self.fail(format!("unexpected TCP option kind: {k}")),
        };
        let len = if expected == Some(1) {
            1
        } else {
            let Some(&len) = self.data.get(start + 1) else {
                return self.fail("TCP option length byte extends too far".into());
            };
            if len < 2 {
                return self.fail("TCP option with length byte is too short".into());
            }
            if start + usize::from(len) > self.data.len() {
                return self.fail("TCP option data extends too far".into());
            }
            if let Some(e) = expected {
                if len != e {
                    return self.fail(format!("bad TCP option length: was {len} but expected {e}"));
                }
            }
            usize::from(len)
        };
        self.pos = start + len;
        Some(Ok(RawOption {
            offset: start,
            bytes: &self.data[start..start + len],
        }))
    }
}

/// A decoded TCP option.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TcpOption {
    Eol,
    Nop,
    Mss(u16),
    WindowScale(u8),
    SackPermitted,
    /// SACK blocks `(left, right)`.
    Sack(Vec<(u32, u32)>),
    Timestamp {
        val: u32,
        ecr: u32,
    },
    /// The digest bytes (packetdrill scripts may give fewer than 16).
    Md5(Vec<u8>),
    /// RFC 7413 Fast Open (kind 34) with its cookie.
    FastOpen(Vec<u8>),
    /// Experimental Fast Open (kind 254, magic 0xF989) with its cookie.
    FastOpenExp(Vec<u8>),
    /// AccECN option: kind 172 (order 0: e0b, ceb, e1b) or 174 (order 1:
    /// e1b, ceb, e0b), 24-bit counters in wire order.
    AccEcn {
        order: AccEcnOrder,
        fields: Vec<u32>,
    },
    /// Any other kind, or kind 254 without the Fast Open magic.
    Unknown {
        kind: u8,
        data: Vec<u8>,
    },
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

impl TcpOption {
    /// Decode one raw option. Fixed-length kinds must have their length;
    /// SACK must hold whole blocks; AccECN at most three counters (a partial
    /// trailing counter is dropped, as packetdrill prints it).
    pub fn parse(raw: &RawOption<'_>) -> Result<TcpOption> {
        let k = raw.kind();
        let d = raw.data();
        let fixed = |n: usize| -> Result<()> {
            if raw.wire_len() == n {
                Ok(())
            } else {
                Err(Error(format!(
                    "bad TCP option length: was {} but expected {n}",
                    raw.wire_len()
                )))
            }
        };
        Ok(match k {
            kind::EOL => TcpOption::Eol,
            kind::NOP => TcpOption::Nop,
            kind::MSS => {
                fixed(4)?;
                TcpOption::Mss(d.u16_at(0))
            }
            kind::WINDOW_SCALE => {
                fixed(3)?;
                TcpOption::WindowScale(d.u8_at(0))
            }
            kind::SACK_PERMITTED => {
                fixed(2)?;
                TcpOption::SackPermitted
            }
            kind::TIMESTAMP => {
                fixed(10)?;
                TcpOption::Timestamp {
                    val: d.u32_at(0),
                    ecr: d.u32_at(4),
                }
            }
            kind::SACK => TcpOption::Sack(sack_blocks(raw.wire_len(), d)?),
            kind::MD5 => TcpOption::Md5(d.to_vec()),
            kind::FAST_OPEN => TcpOption::FastOpen(d.to_vec()),
            kind::EXPERIMENTAL if d.len() >= 2 && d.u16_at(0) == FASTOPEN_MAGIC => {
                TcpOption::FastOpenExp(d[2..].to_vec())
            }
            kind::ACCECN0 | kind::ACCECN1 => {
                if d.len() > ACCECN_MAX_FIELDS * 3 {
                    return Err(Error::new("invalid ECN option"));
                }
                TcpOption::AccEcn {
                    order: if k == kind::ACCECN0 {
                        AccEcnOrder::E0bFirst
                    } else {
                        AccEcnOrder::E1bFirst
                    },
                    fields: d
                        .chunks_exact(3)
                        .map(|c| u32::from_be_bytes([0, c[0], c[1], c[2]]))
                        .collect(),
                }
            }
            _ => TcpOption::Unknown {
                kind: k,
                data: d.to_vec(),
            },
        })
    }

    pub fn kind(&self) -> u8 {
        match self {
            TcpOption::Eol => kind::EOL,
            TcpOption::Nop => kind::NOP,
            TcpOption::Mss(_) => kind::MSS,
            TcpOption::WindowScale(_) => kind::WINDOW_SCALE,
            TcpOption::SackPermitted => kind::SACK_PERMITTED,
            TcpOption::Sack(_) => kind::SACK,
            TcpOption::Timestamp { .. } => kind::TIMESTAMP,
            TcpOption::Md5(_) => kind::MD5,
            TcpOption::FastOpen(_) => kind::FAST_OPEN,
            TcpOption::FastOpenExp(_) => kind::EXPERIMENTAL,
            TcpOption::AccEcn {
                order: AccEcnOrder::E0bFirst,
                ..
            } => kind::ACCECN0,
            TcpOption::AccEcn {
                order: AccEcnOrder::E1bFirst,
                ..
            } => kind::ACCECN1,
            TcpOption::Unknown { kind, .. } => *kind,
        }
    }

    /// Bytes this option takes on the wire.
    pub fn wire_len(&self) -> usize {
        match self {
            TcpOption::Eol | TcpOption::Nop => 1,
            TcpOption::Mss(_) => 4,
            TcpOption::WindowScale(_) => 3,
            TcpOption::SackPermitted => 2,
            TcpOption::Sack(blocks) => 2 + 8 * blocks.len(),
            TcpOption::Timestamp { .. } => 10,
            TcpOption::Md5(d) | TcpOption::FastOpen(d) => 2 + d.len(),
            TcpOption::FastOpenExp(c) => 4 + c.len(),
            TcpOption::AccEcn { fields, .. } => 2 + 3 * fields.len(),
            TcpOption::Unknown { data, .. } => 2 + data.len(),
        }
    }

    /// Append the wire form to `out`. The length byte is the low 8 bits of
    /// [`TcpOption::wire_len`]; callers keep options within
    /// [`MAX_OPTIONS_LEN`] (the template builder refuses longer lists).
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.kind());
        if matches!(self, TcpOption::Eol | TcpOption::Nop) {
            return;
        }
        out.push(self.wire_len() as u8);
        match self {
            TcpOption::Eol | TcpOption::Nop | TcpOption::SackPermitted => {}
            TcpOption::Mss(v) => out.extend_from_slice(&v.to_be_bytes()),
            TcpOption::WindowScale(v) => out.push(*v),
            TcpOption::Sack(blocks) => {
                for (l, r) in blocks {
                    out.extend_from_slice(&l.to_be_bytes());
                    out.extend_from_slice(&r.to_be_bytes());
                }
            }
            TcpOption::Timestamp { val, ecr } => {
                out.extend_from_slice(&val.to_be_bytes());
                out.extend_from_slice(&ecr.to_be_bytes());
            }
            TcpOption::Md5(d) | TcpOption::FastOpen(d) => out.extend_from_slice(d),
            TcpOption::FastOpenExp(c) => {
                out.extend_from_slice(&FASTOPEN_MAGIC.to_be_bytes());
                out.extend_from_slice(c);
            }
            TcpOption::AccEcn { fields, .. } => {
                for f in fields {
                    out.extend_from_slice(&f.to_be_bytes()[1..]);
                }
            }
            TcpOption::Unknown { data, .. } => out.extend_from_slice(data),
        }
    }

    /// The option in script syntax, as packetdrill prints it (`mss 1460`,
    /// `TS val 1 ecr 0`, `sack 1:2 3:4`, `FO 0102`, `ECN e0b 1 ceb 0`...).
    /// Kinds packetdrill cannot print are errors with its wording.
    pub fn script_syntax(&self) -> Result<String> {
        Ok(match self {
            TcpOption::Eol => "eol".into(),
            TcpOption::Nop => "nop".into(),
            TcpOption::Mss(v) => format!("mss {v}"),
            TcpOption::WindowScale(v) => format!("wscale {v}"),
            TcpOption::SackPermitted => "sackOK".into(),
            TcpOption::Sack(blocks) => {
                let b: Vec<String> = blocks.iter().map(|(l, r)| format!("{l}:{r}")).collect();
                format!("sack {}", b.join(" "))
            }
            TcpOption::Timestamp { val, ecr } => format!("TS val {val} ecr {ecr}"),
            // packetdrill prints nothing for a digest longer than 16 bytes.
            TcpOption::Md5(d) if d.len() > MD5_DIGEST_LEN => String::new(),
            TcpOption::Md5(d) => with_hex("md5", d),
            TcpOption::FastOpen(c) => with_hex("FO", c),
            TcpOption::FastOpenExp(c) => with_hex("FOEXP", c),
            TcpOption::AccEcn { order, fields } => {
                let labels = match order {
                    AccEcnOrder::E0bFirst => ["e0b", "ceb", "e1b"],
                    AccEcnOrder::E1bFirst => ["e1b", "ceb", "e0b"],
                };
                let mut s = String::from("ECN");
                for (label, v) in labels.iter().zip(fields) {
                    let _ = write!(s, " {label} {v}");
                }
                s
            }
            TcpOption::Unknown {
                kind: kind::EXPERIMENTAL,
                ..
            } => return Err(Error::new("unknown experimental option")),
            TcpOption::Unknown { kind, .. } => {
                return Err(Error(format!("unexpected TCP option kind: {kind}")))
            }
        })
    }
}

fn with_hex(word: &str, bytes: &[u8]) -> String {
    if bytes.is_empty() {
        word.to_string()
    } else {
        format!("{word} {}", hex(bytes))
    }
}

/// SACK blocks of an option `opt_len` bytes long whose data is `d`.
pub(super) fn sack_blocks(opt_len: usize, d: &[u8]) -> Result<Vec<(u32, u32)>> {
    if opt_len <= 2 {
        return Err(Error::new("TCP SACK option too short"));
    }
    if d.len() % 8 != 0 {
        return Err(Error::new(
            "TCP SACK option not a multiple of SACK block size",
        ));
    }
    Ok(d.chunks_exact(8)
        .map(|c| (c.u32_at(0), c.u32_at(4)))
        .collect())
}

/// Decode a whole options area with packetdrill's rules.
pub fn parse_options(data: &[u8]) -> Result<Vec<TcpOption>> {
    RawOptions::new(data)
        .map(|raw| TcpOption::parse(&raw?))
        .collect()
}

/// The wire form of a list of options (no padding added).
pub fn emit_options(options: &[TcpOption]) -> Vec<u8> {
    let mut out = Vec::new();
    for o in options {
        o.emit(&mut out);
    }
    out
}

/// All options in script syntax, comma separated (packetdrill's
/// `tcp_options_to_string`).
pub fn options_script_syntax(data: &[u8]) -> Result<String> {
    let mut parts = Vec::new();
    for raw in RawOptions::new(data) {
        parts.push(TcpOption::parse(&raw?)?.script_syntax()?);
    }
    Ok(parts.join(","))
}

/// The `index`-th option in script syntax (the whole area is still walked,
/// so a malformed later option is an error too, as in packetdrill).
pub fn option_script_syntax(data: &[u8], index: usize) -> Result<String> {
    let raws: Vec<RawOption<'_>> = RawOptions::new(data).collect::<Result<_>>()?;
    match raws.get(index) {
        Some(raw) => TcpOption::parse(raw)?.script_syntax(),
        None => Ok(String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(o: TcpOption) {
        let bytes = emit_options(std::slice::from_ref(&o));
        assert_eq!(bytes.len(), o.wire_len(), "{o:?}");
        assert_eq!(parse_options(&bytes).unwrap(), vec![o]);
    }

    #[test]
    fn every_known_kind_round_trips() {
        round_trip(TcpOption::Eol);
        round_trip(TcpOption::Nop);
        round_trip(TcpOption::Mss(1460));
        round_trip(TcpOption::WindowScale(8));
        round_trip(TcpOption::SackPermitted);
        round_trip(TcpOption::Sack(vec![(1, 2), (3, 4), (5, 6), (7, 8)]));
        round_trip(TcpOption::Timestamp { val: 100, ecr: 7 });
        round_trip(TcpOption::Md5((0..16).collect()));
        round_trip(TcpOption::Md5(vec![]));
        round_trip(TcpOption::FastOpen(vec![0x30, 0x21, 0xb9, 0xd8]));
        round_trip(TcpOption::FastOpen(vec![]));
        round_trip(TcpOption::FastOpenExp(vec![0xaa; 8]));
        round_trip(TcpOption::AccEcn {
            order: AccEcnOrder::E0bFirst,
            fields: vec![1, 0x00ff_ffff, 3],
        });
        round_trip(TcpOption::AccEcn {
            order: AccEcnOrder::E1bFirst,
            fields: vec![],
        });
    }

    #[test]
    fn wire_bytes_of_linux_syn_options() {
        let opts = [
            TcpOption::Mss(1460),
            TcpOption::SackPermitted,
            TcpOption::Timestamp { val: 1, ecr: 0 },
            TcpOption::Nop,
            TcpOption::WindowScale(7),
        ];
        assert_eq!(
            emit_options(&opts),
            [2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7]
        );
        let accecn = TcpOption::AccEcn {
            order: AccEcnOrder::E1bFirst,
            fields: vec![1, 2],
        };
        assert_eq!(emit_options(&[accecn]), [174, 8, 0, 0, 1, 0, 0, 2]);
        assert_eq!(
            emit_options(&[TcpOption::FastOpenExp(vec![1, 2])]),
            [254, 6, 0xf9, 0x89, 1, 2]
        );
    }

    #[test]
    fn script_syntax_is_packetdrills() {
        let bytes = emit_options(&[
            TcpOption::Mss(1460),
            TcpOption::SackPermitted,
            TcpOption::Timestamp { val: 100, ecr: 0 },
            TcpOption::Nop,
            TcpOption::WindowScale(8),
        ]);
        assert_eq!(
            options_script_syntax(&bytes).unwrap(),
            "mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 8"
        );
        let more = emit_options(&[
            TcpOption::Sack(vec![(1, 2), (3, 4)]),
            TcpOption::Md5(vec![0, 1, 0xfe]),
            TcpOption::FastOpen(vec![0x30, 0x21]),
            TcpOption::FastOpenExp(vec![]),
            TcpOption::AccEcn {
                order: AccEcnOrder::E0bFirst,
                fields: vec![5, 0, 7],
            },
            TcpOption::AccEcn {
                order: AccEcnOrder::E1bFirst,
                fields: vec![9],
            },
            TcpOption::Eol,
        ]);
        assert_eq!(
            options_script_syntax(&more).unwrap(),
            "sack 1:2 3:4,md5 0001fe,FO 3021,FOEXP,ECN e0b 5 ceb 0 e1b 7,ECN e1b 9,eol"
        );
        assert_eq!(option_script_syntax(&more, 2).unwrap(), "FO 3021");
    }

    #[test]
    fn unknown_kinds_are_errors_unless_asked_for() {
        // MPTCP (30) and TCP-AO (29) are not known to packetdrill.
        let bytes = [1, 1, 30, 4, 0x10, 0x00];
        let err = parse_options(&bytes).unwrap_err();
        assert_eq!(err.to_string(), "unexpected TCP option kind: 30");
        let any: Vec<_> = RawOptions::any_kind(&bytes)
            .map(|r| TcpOption::parse(&r.unwrap()).unwrap())
            .collect();
        assert_eq!(
            any[2],
            TcpOption::Unknown {
                kind: 30,
                data: vec![0x10, 0]
            }
        );
        assert_eq!(
            any[2].script_syntax().unwrap_err().to_string(),
            "unexpected TCP option kind: 30"
        );
        // Kind 254 without the Fast Open magic.
        let exp = [254, 4, 0x12, 0x34];
        let o = TcpOption::parse(&RawOptions::new(&exp).next().unwrap().unwrap()).unwrap();
        assert_eq!(
            o.script_syntax().unwrap_err().to_string(),
            "unknown experimental option"
        );
    }

    #[test]
    fn malformed_lengths_are_errors() {
        let cases: &[(&[u8], &str)] = &[
            (&[2], "TCP option length byte extends too far"),
            (&[2, 1, 0, 0], "TCP option with length byte is too short"),
            (&[5, 10, 0, 0], "TCP option data extends too far"),
            (&[2, 3, 0], "bad TCP option length: was 3 but expected 4"),
            (
                &[8, 8, 0, 0, 0, 0, 0, 0],
                "bad TCP option length: was 8 but expected 10",
            ),
            (&[5, 2], "TCP SACK option too short"),
            (
                &[5, 6, 0, 0, 0, 0],
                "TCP SACK option not a multiple of SACK block size",
            ),
            (
                &[172, 14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                "invalid ECN option",
            ),
        ];
        for (bytes, msg) in cases {
            assert_eq!(
                parse_options(bytes).unwrap_err().to_string(),
                *msg,
                "{bytes:?}"
            );
        }
    }

    #[test]
    fn eol_does_not_stop_the_walk() {
        let bytes = [0, 2, 4, 0x05, 0xb4];
        assert_eq!(
            parse_options(&bytes).unwrap(),
            vec![TcpOption::Eol, TcpOption::Mss(1460)]
        );
    }

    #[test]
    fn raw_offsets_point_at_kind_bytes() {
        let bytes = emit_options(&[
            TcpOption::Nop,
            TcpOption::Nop,
            TcpOption::Timestamp { val: 1, ecr: 2 },
        ]);
        let offs: Vec<usize> = RawOptions::new(&bytes).map(|r| r.unwrap().offset).collect();
        assert_eq!(offs, vec![0, 1, 2]);
    }

    #[test]
    fn long_md5_prints_nothing_like_packetdrill() {
        assert_eq!(TcpOption::Md5(vec![0; 17]).script_syntax().unwrap(), "");
    }
}
