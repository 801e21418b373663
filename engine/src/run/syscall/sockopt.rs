//! setsockopt/getsockopt values: `[int]`, strings, `{onoff=, linger=}`,
//! `inet6_addr(...)`, GRE headers and MPLS label stacks
//! (docs/engine/syscalls.md, "Socket options").

use super::error::{invalid, output, SyscallError};
use super::eval::{bracketed, get_s32, Value};
use super::msg::printable;
use crate::script::{GreHeader, MplsEntry};
use std::net::Ipv6Addr;

/// The most option bytes we hand the kernel or read back (far above any real option).
const MAX_OPTLEN: usize = 1 << 20;

/// GRE header bytes as packetdrill's `struct gre` holds them:
/// flags, protocol 0, checksum, offset, key, sequence (network order).
fn gre_bytes(h: &GreHeader) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[0..2].copy_from_slice(&h.flags.to_be_bytes());
    b[4..6].copy_from_slice(&h.sum.to_be_bytes());
    b[6..8].copy_from_slice(&h.off.to_be_bytes());
    b[8..12].copy_from_slice(&h.key.to_be_bytes());
    b[12..16].copy_from_slice(&h.seq.to_be_bytes());
    b
}

/// packetdrill's `struct mpls_stack`: six entries (network order) and a count.
fn mpls_bytes(entries: &[MplsEntry]) -> Vec<u8> {
    let mut b = vec![0u8; 6 * 4 + 4];
    for (i, e) in entries.iter().take(6).enumerate() {
        let word = (e.label << 12)
            | ((e.tc as u32 & 7) << 9)
            | ((e.bottom_of_stack as u32) << 8)
            | e.ttl as u32;
        b[i * 4..i * 4 + 4].copy_from_slice(&word.to_be_bytes());
    }
    b[24..28].copy_from_slice(&(entries.len().min(6) as i32).to_ne_bytes());
    b
}

/// The bytes setsockopt passes for `value`, padded with zeros to `optlen`
/// (packetdrill passes its value's address and the script's length as given).
pub fn setsockopt_value(value: &Value, optlen: i32) -> Result<Vec<u8>, SyscallError> {
    let mut bytes = match value {
        Value::Linger { onoff, linger } => {
            let mut b = onoff.to_ne_bytes().to_vec();
            b.extend_from_slice(&linger.to_ne_bytes());
            b
        }
        Value::Gre(h) => gre_bytes(h).to_vec(),
        Value::In6Addr(a) => a.to_vec(),
        Value::MplsStack(entries) => mpls_bytes(entries),
        Value::Bytes(s) => {
            // The string as C holds it, NUL-terminated.
            let mut b = s.clone();
            b.push(0);
            b
        }
        Value::List(_) => get_s32(bracketed(value)?)?.to_ne_bytes().to_vec(),
        other => {
            return Err(invalid(format!(
                "unsupported setsockopt value type: {}",
                other.type_name()
            )))
        }
    };
    let want = usize::try_from(optlen).unwrap_or(0).min(MAX_OPTLEN);
    if bytes.len() < want {
        bytes.resize(want, 0);
    }
    Ok(bytes)
}

/// The `[len]` of a getsockopt as the length of the buffer to read into.
pub fn getsockopt_len(optlen: i32) -> Result<u32, SyscallError> {
    match usize::try_from(optlen) {
        Ok(n) if n <= MAX_OPTLEN => Ok(optlen as u32),
        _ => Err(invalid(format!("Unsupported getsockopt optlen: {optlen}"))),
    }
}

/// What getsockopt must have returned.
#[derive(Clone, Debug, PartialEq)]
pub struct GetCheck {
    pub value: Value,
    pub optlen: i32,
}

/// Compare getsockopt's output with the script (after the result matched).
pub fn check_getsockopt(want: &GetCheck, optval: &[u8], live_len: u32) -> Result<(), SyscallError> {
    let script_len = want.optlen;
    if live_len as i32 != script_len {
        return Err(output(format!(
            "Bad getsockopt optlen: expected: {script_len} actual: {}",
            live_len as i32
        )));
    }
    let n = script_len.max(0) as usize;
    let live = |k: usize| -> Vec<u8> {
        let mut b = optval.get(..k.min(optval.len())).unwrap_or(&[]).to_vec();
        b.resize(k, 0);
        b
    };
    match &want.value {
        Value::Bytes(s) => {
            let script_pretty = printable(s);
            if n != s.len() {
                return Err(output(format!(
                    "Bad getsockopt optval: expected optlen ({script_len} bytes) does not match \
                     length of expected optval string '{script_pretty}' ({} bytes)",
                    s.len()
                )));
            }
            let actual = live(n);
            if actual != *s {
                return Err(output(format!(
                    "Bad getsockopt optval: expected: '{script_pretty}' actual: '{}'",
                    printable(&actual)
                )));
            }
        }
        Value::List(_) => {
            if script_len != 4 {
                return Err(invalid(format!(
                    "Unsupported getsockopt optlen: {script_len}"
                )));
            }
            let expected = get_s32(bracketed(&want.value)?)?;
            let b = live(4);
            let actual = i32::from_ne_bytes([b[0], b[1], b[2], b[3]]);
            if actual != expected {
                return Err(output(format!(
                    "Bad getsockopt optval: expected: {expected} actual: {actual}"
                )));
            }
        }
        Value::Gre(h) => {
            if script_len != 16 {
                return Err(invalid(format!(
                    "Unsupported getsockopt optlen: {script_len}"
                )));
            }
            let expected = gre_bytes(h);
            let actual = live(16);
            // Everything but the protocol field.
            if actual[0..2] != expected[0..2] || actual[4..16] != expected[4..16] {
                return Err(output("Bad getsockopt optval."));
            }
        }
        Value::In6Addr(a) => {
            if script_len != 16 {
                return Err(invalid(format!(
                    "Unsupported getsockopt optlen: {script_len}"
                )));
            }
            let actual = live(16);
            if actual != a.as_slice() {
                let mut octets = [0u8; 16];
                octets.copy_from_slice(&actual);
                return Err(output(format!(
                    "Bad getsockopt optval: expected: {} actual: {} ",
                    Ipv6Addr::from(*a),
                    Ipv6Addr::from(octets)
                )));
            }
        }
        other => {
            return Err(invalid(format!(
                "unsupported getsockopt value type: {}",
                other.type_name()
            )))
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int_list(v: i64) -> Value {
        Value::List(vec![Value::Int(v)])
    }

    #[test]
    fn setsockopt_values_are_c_layouts() {
        assert_eq!(setsockopt_value(&int_list(1), 4), Ok(vec![1, 0, 0, 0]));
        // IP_TOS with a one-byte length still passes an int.
        assert_eq!(setsockopt_value(&int_list(4), 1), Ok(vec![4, 0, 0, 0]));
        assert_eq!(
            setsockopt_value(&Value::Bytes(b"reno".to_vec()), 4),
            Ok(b"reno\0".to_vec())
        );
        // A length beyond the value reads zeros, never foreign memory.
        assert_eq!(
            setsockopt_value(&Value::Bytes(vec![]), 3),
            Ok(vec![0, 0, 0])
        );
        assert_eq!(
            setsockopt_value(
                &Value::Linger {
                    onoff: 1,
                    linger: 0
                },
                8
            ),
            Ok(vec![1, 0, 0, 0, 0, 0, 0, 0])
        );
        assert_eq!(
            setsockopt_value(&Value::Ellipsis, 4).map_err(|e| e.to_string()),
            Err("unsupported setsockopt value type: ellipsis".into())
        );
        let gre = GreHeader {
            flags: 0x2000,
            sum: 0,
            off: 0,
            key: 7,
            seq: 0,
        };
        assert_eq!(
            setsockopt_value(&Value::Gre(gre), 16).unwrap(),
            vec![0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0]
        );
        let mpls = [MplsEntry {
            label: 1,
            tc: 2,
            bottom_of_stack: true,
            ttl: 64,
        }];
        let b = setsockopt_value(&Value::MplsStack(mpls.to_vec()), 28).unwrap();
        assert_eq!(&b[0..4], &[0x00, 0x00, 0x15, 0x40]);
        assert_eq!(&b[24..28], &1i32.to_ne_bytes());
    }

    #[test]
    fn getsockopt_checks_length_then_value() {
        let want = GetCheck {
            value: int_list(20000),
            optlen: 4,
        };
        let live = 20000i32.to_ne_bytes();
        assert_eq!(check_getsockopt(&want, &live, 4), Ok(()));
        assert_eq!(
            check_getsockopt(&want, &42000i32.to_ne_bytes(), 4).map_err(|e| e.to_string()),
            Err("Bad getsockopt optval: expected: 20000 actual: 42000".into())
        );
        assert_eq!(
            check_getsockopt(&want, &live, 2).map_err(|e| e.to_string()),
            Err("Bad getsockopt optlen: expected: 4 actual: 2".into())
        );
        let s = GetCheck {
            value: Value::Bytes(b"cubic".to_vec()),
            optlen: 5,
        };
        assert_eq!(check_getsockopt(&s, b"cubic\0", 5), Ok(()));
        assert_eq!(
            check_getsockopt(&s, b"reno\0\0", 5).map_err(|e| e.to_string()),
            Err("Bad getsockopt optval: expected: 'cubic' actual: 'reno'".into())
        );
        let e = GetCheck {
            value: Value::Ellipsis,
            optlen: 4,
        };
        assert_eq!(
            check_getsockopt(&e, &live, 4).map_err(|e| e.to_string()),
            Err("unsupported getsockopt value type: ellipsis".into())
        );
        assert!(getsockopt_len(-1).is_err());
    }
}
