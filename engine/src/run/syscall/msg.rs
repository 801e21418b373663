//! `struct msghdr`, iovecs and control messages: building them from script
//! literals for sendmsg/recvmsg/readv/writev, and comparing what recvmsg
//! returned with what the script expects (docs/engine/syscalls.md, "recvmsg
//! and control messages").

use super::error::{bad_type, invalid, output, SyscallError};
use super::eval::{get_s32, get_s8, Value};
use super::live_op::MsgSpec;
use super::sockaddr;

/// `sizeof(struct cmsghdr)` = `CMSG_ALIGN(sizeof(struct cmsghdr))` on Linux/64-bit.
const CMSG_HDR: usize = std::mem::size_of::<libc::cmsghdr>();
/// `sizeof(struct sock_extended_err)`
const EE_LEN: usize = 16;
/// `sizeof(struct scm_timestamping)`: three timespecs.
const SCM_TS_LEN: usize = 48;
const NLA_HDRLEN: usize = 4;

fn cmsg_align(len: usize) -> usize {
    let w = std::mem::size_of::<usize>();
    len.saturating_add(w - 1) & !(w - 1)
}

fn nla_align(len: usize) -> usize {
    (len + 3) & !3
}

/// Buffers for an iovec array literal `[{..., N}, ...]`.
pub fn iovec_new(v: &Value) -> Result<Vec<Vec<u8>>, SyscallError> {
    let Value::List(items) = v else {
        return Err(bad_type(v.type_name(), "list"));
    };
    items
        .iter()
        .map(|item| match item {
            Value::Iovec { len } => usize::try_from(*len)
                .map(|n| vec![0u8; n])
                .map_err(|_| invalid(format!("bad iovec length {len}"))),
            other => Err(bad_type(other.type_name(), "iovec")),
        })
        .collect()
}

/// The size in bytes of each TCP_NLA_* attribute's value, by type number
/// (packetdrill's `tcp_nla` table).
const NLA_SIZES: [usize; 23] = [
    4, // PAD
    8, 8, 8, 8, 8, 8, 8, // BUSY .. DELIVERY_RATE
    4, 4, 4, // SND_CWND, REORDERING, MIN_RTT
    1, 1, // RECUR_RETRANS, DELIVERY_RATE_APP_LMT
    4, // SNDQ_SIZE
    1, // CA_STATE
    4, 4, 4, // SND_SSTHRESH, DELIVERED, DELIVERED_CE
    8, 8, // BYTES_SENT, BYTES_RETRANS
    4, 4, 4, // DSACK_DUPS, REORD_SEEN, SRTT
];

const NLA_NAMES: [&str; 23] = [
    "TCP_NLA_PAD",
    "TCP_NLA_BUSY",
    "TCP_NLA_RWND_LIMITED",
    "TCP_NLA_SNDBUF_LIMITED",
    "TCP_NLA_DATA_SEGS_OUT",
    "TCP_NLA_TOTAL_RETRANS",
    "TCP_NLA_PACING_RATE",
    "TCP_NLA_DELIVERY_RATE",
    "TCP_NLA_SND_CWND",
    "TCP_NLA_REORDERING",
    "TCP_NLA_MIN_RTT",
    "TCP_NLA_RECUR_RETRANS",
    "TCP_NLA_DELIVERY_RATE_APP_LMT",
    "TCP_NLA_SNDQ_SIZE",
    "TCP_NLA_CA_STATE",
    "TCP_NLA_SND_SSTHRESH",
    "TCP_NLA_DELIVERED",
    "TCP_NLA_DELIVERED_CE",
    "TCP_NLA_BYTES_SENT",
    "TCP_NLA_BYTES_RETRANS",
    "TCP_NLA_DSACK_DUPS",
    "TCP_NLA_REORD_SEEN",
    "TCP_NLA_SRTT",
];

/// The value packetdrill stores for `TCP_NLA_X=...` ("don't compare"): `~0U`
/// widened to 64 bits, so 0xffffffff for 4- and 8-byte values and 0xff for one byte.
const NLA_IGNORE: u64 = 0xffff_ffff;

/// Netlink attributes for a `[TCP_NLA_X=v, ...]` list.
fn nla_list(items: &[Value]) -> Result<Vec<u8>, SyscallError> {
    let mut out = Vec::new();
    for item in items {
        let Value::Assign { key, value } = item else {
            return Err(bad_type(item.type_name(), "binary_expression"));
        };
        let size = usize::try_from(*key)
            .ok()
            .and_then(|k| NLA_SIZES.get(k))
            .copied()
            .ok_or_else(|| invalid(format!("bad NLA type {key}")))?;
        let v: u64 = match value.as_ref() {
            Value::Int(n) => {
                let fits = match size {
                    1 => (0..=u8::MAX as i64).contains(n),
                    4 => (0..=u32::MAX as i64).contains(n),
                    _ => true,
                };
                if !fits {
                    let bits = if size == 1 { "u8" } else { "u32" };
                    return Err(invalid(format!("out of bound {bits} value specified")));
                }
                *n as u64
            }
            Value::Ellipsis => NLA_IGNORE,
            _ => return Err(invalid("values must be numeric or ellipsis")),
        };
        let attr_len = NLA_HDRLEN + size;
        out.extend_from_slice(&(attr_len as u16).to_ne_bytes());
        out.extend_from_slice(&(*key as u16).to_ne_bytes());
        out.extend_from_slice(&v.to_le_bytes()[..size]);
        out.resize(out.len() + nla_align(attr_len) - attr_len, 0);
    }
    Ok(out)
}

/// The control buffer for a `msg_control=[{cmsg_level=..., ...}, ...]` list:
/// each cmsg at its aligned place, `msg_controllen` the sum of their spaces.
pub fn cmsg_new(v: &Value) -> Result<Vec<u8>, SyscallError> {
    let Value::List(items) = v else {
        return Err(bad_type(v.type_name(), "list"));
    };
    let mut out = Vec::new();
    for item in items {
        let Value::Cmsg { level, ty, data } = item else {
            return Err(bad_type(item.type_name(), "cmsg"));
        };
        let level = get_s32(level)?;
        let ty = get_s32(ty)?;
        let payload: Vec<u8> = match data.as_ref() {
            Value::Int(_) => get_s32(data)?.to_ne_bytes().to_vec(),
            Value::ScmTimestamping { sec, nsec } => {
                let mut b = vec![0u8; SCM_TS_LEN];
                b[0..8].copy_from_slice(&sec.to_ne_bytes());
                b[8..16].copy_from_slice(&nsec.to_ne_bytes());
                b
            }
            Value::List(stats) => nla_list(stats)?,
            Value::SockExtendedErr(ee) => {
                // ip(v6)_recv_error appends the offender's address to the struct.
                let addr_len = if level == libc::SOL_IP {
                    std::mem::size_of::<libc::sockaddr_in>()
                } else {
                    std::mem::size_of::<libc::sockaddr_in6>()
                };
                let mut b = vec![0u8; EE_LEN + addr_len];
                b[0..4].copy_from_slice(&get_s32(&ee.ee_errno)?.to_ne_bytes());
                b[4] = get_s8(&ee.ee_origin)?;
                b[5] = get_s8(&ee.ee_type)?;
                b[6] = get_s8(&ee.ee_code)?;
                b[8..12].copy_from_slice(&get_s32(&ee.ee_info)?.to_ne_bytes());
                b[12..16].copy_from_slice(&get_s32(&ee.ee_data)?.to_ne_bytes());
                b
            }
            _ => return Err(invalid("Unrecognized type for cmsg_data")),
        };
        let cmsg_len = CMSG_HDR + payload.len();
        out.extend_from_slice(&cmsg_len.to_ne_bytes());
        out.extend_from_slice(&level.to_ne_bytes());
        out.extend_from_slice(&ty.to_ne_bytes());
        out.extend_from_slice(&payload);
        out.resize(out.len() + cmsg_align(cmsg_len) - cmsg_len, 0);
    }
    Ok(out)
}

/// Build the live msghdr for a `{msg_name(...)=..., msg_iov(N)=[...], ...}` literal.
/// `msg_name` is a zeroed `sockaddr_storage` (sendmsg replaces it with the peer).
pub fn msghdr_new(v: &Value) -> Result<MsgSpec, SyscallError> {
    let Value::Msghdr {
        iov_len,
        iov,
        flags,
        control,
    } = v
    else {
        return Err(bad_type(v.type_name(), "msghdr"));
    };
    let iov = iovec_new(iov)?;
    let iovlen = get_s32(&Value::Int(*iov_len))?;
    if iovlen as i64 != iov.len() as i64 {
        return Err(invalid(format!(
            "msg_iovlen {iovlen} does not match {}-element iovec array",
            iov.len()
        )));
    }
    let control = cmsg_new(control)?;
    let flags = get_s32(flags)?;
    Ok(MsgSpec {
        name: Some(vec![0u8; sockaddr::STORAGE_LEN]),
        iov,
        control,
        flags,
    })
}

/// What recvmsg must have returned besides its result.
#[derive(Clone, Debug, PartialEq)]
pub struct RecvCheck {
    pub flags: i32,
    /// The expected control messages, laid out as the kernel would write them.
    pub control: Vec<u8>,
}

/// What scm_timestamping comparison needs from the run.
#[derive(Clone, Copy, Debug)]
pub struct TimeBase {
    /// Wall-clock (CLOCK_REALTIME) microseconds of script time 0.
    pub live_start_usecs: Option<i64>,
    pub tolerance_usecs: i64,
}

/// A cmsghdr read from a control buffer (missing bytes read as zero).
#[derive(Clone, Copy, Debug)]
struct Hdr {
    off: usize,
    len: usize,
    level: i32,
    ty: i32,
}

fn bytes_at(buf: &[u8], off: usize, n: usize) -> Vec<u8> {
    let mut out = vec![0u8; n];
    if off < buf.len() {
        let avail = (buf.len() - off).min(n);
        out[..avail].copy_from_slice(&buf[off..off + avail]);
    }
    out
}

fn u16_at(buf: &[u8], off: usize) -> u16 {
    let b = bytes_at(buf, off, 2);
    u16::from_ne_bytes([b[0], b[1]])
}

fn u32_at(buf: &[u8], off: usize) -> u32 {
    let b = bytes_at(buf, off, 4);
    u32::from_ne_bytes([b[0], b[1], b[2], b[3]])
}

fn u64_at(buf: &[u8], off: usize) -> u64 {
    let b = bytes_at(buf, off, 8);
    let mut a = [0u8; 8];
    a.copy_from_slice(&b);
    u64::from_ne_bytes(a)
}

fn hdr_at(buf: &[u8], off: usize) -> Hdr {
    Hdr {
        off,
        len: u64_at(buf, off) as usize,
        level: u32_at(buf, off + 8) as i32,
        ty: u32_at(buf, off + 12) as i32,
    }
}

/// `CMSG_FIRSTHDR`
fn first_hdr(buf: &[u8]) -> Option<Hdr> {
    (buf.len() >= CMSG_HDR).then(|| hdr_at(buf, 0))
}

/// glibc's `CMSG_NXTHDR`
fn next_hdr(buf: &[u8], h: Hdr) -> Option<Hdr> {
    if h.len < CMSG_HDR {
        return None;
    }
    let next = h.off.checked_add(cmsg_align(h.len))?;
    if next.checked_add(CMSG_HDR)? > buf.len() {
        return None;
    }
    let n = hdr_at(buf, next);
    if next.checked_add(cmsg_align(n.len))? > buf.len() {
        return None;
    }
    Some(n)
}

/// Bytes as packetdrill's `to_printable_string` shows them.
pub fn printable(bytes: &[u8]) -> String {
    let mut s = String::new();
    for (i, &b) in bytes.iter().enumerate() {
        if (0x20..0x7f).contains(&b) || (i + 1 == bytes.len() && b == 0) {
            if b != 0 {
                s.push(b as char);
            }
        } else {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    s
}

fn compare_extended_err(e: &[u8], a: &[u8], i: usize) -> Result<(), SyscallError> {
    let fields: [(&str, usize, usize); 6] = [
        ("errno", 0, 4),
        ("origin", 4, 1),
        ("type", 5, 1),
        ("code", 6, 1),
        ("info", 8, 4),
        ("data", 12, 4),
    ];
    for (name, off, size) in fields {
        let (ev, av) = if size == 1 {
            (bytes_at(e, off, 1)[0] as u32, bytes_at(a, off, 1)[0] as u32)
        } else {
            (u32_at(e, off), u32_at(a, off))
        };
        if ev != av {
            return Err(output(format!(
                "Bad {name} in extended err {i}: expected={ev} actual={av}"
            )));
        }
    }
    Ok(())
}

fn compare_timestamping(e: &[u8], a: &[u8], i: usize, time: TimeBase) -> Result<(), SyscallError> {
    for k in 0..3 {
        let (es, ens) = (u64_at(e, k * 16) as i64, u64_at(e, k * 16 + 8) as i64);
        if es == 0 && ens == 0 {
            continue;
        }
        let (as_, ans) = (u64_at(a, k * 16) as i64, u64_at(a, k * 16 + 8) as i64);
        let start = time.live_start_usecs.ok_or_else(|| {
            output(format!(
                "cannot check scm_timestamping {i}: the script start time is unknown"
            ))
        })?;
        let usecs = |sec: i64, nsec: i64| sec.saturating_mul(1_000_000).saturating_add(nsec / 1000);
        let exp = start.saturating_add(usecs(es, ens));
        let act = usecs(as_, ans);
        if exp.abs_diff(act) > time.tolerance_usecs.max(0) as u64 {
            return Err(output(format!(
                "Bad timestamp {k} in scm_timestamping {i}: expected={exp} ({}) actual={act} ({}) start={start}",
                exp.saturating_sub(start),
                act.saturating_sub(start)
            )));
        }
    }
    Ok(())
}

fn compare_opt_stats(e: &[u8], a: &[u8], i: usize, tolerance: i64) -> Result<(), SyscallError> {
    let mut off = 0;
    while off < a.len() {
        let (elen, etype) = (u16_at(e, off) as usize, u16_at(e, off + 2) as usize);
        let (alen, atype) = (u16_at(a, off) as usize, u16_at(a, off + 2) as usize);
        if etype != atype {
            return Err(output(format!(
                "Bad nla_type {i}: expected={etype} actual={atype}"
            )));
        }
        if elen != alen {
            return Err(output(format!(
                "Bad nla_len {i}: expected={elen} actual={alen}"
            )));
        }
        let name = NLA_NAMES.get(etype).copied().unwrap_or("TCP_NLA_?");
        let data = off + NLA_HDRLEN;
        match etype {
            // Times: within tolerance, exactly zero when zero is expected.
            1..=3 => {
                let (ev, av) = (u64_at(e, data), u64_at(a, data));
                let ok = ev == NLA_IGNORE
                    || if ev != 0 {
                        (ev.wrapping_sub(av) as i64).unsigned_abs() <= tolerance.max(0) as u64
                    } else {
                        av == 0
                    };
                if !ok {
                    return Err(output(format!("Bad {name}: expected={ev} actual={av}")));
                }
            }
            4..=7 | 18 | 19 => {
                let (ev, av) = (u64_at(e, data), u64_at(a, data));
                if ev != av && ev != NLA_IGNORE {
                    return Err(output(format!("Bad {name}: expected={ev} actual={av}")));
                }
            }
            8..=10 | 13 | 15..=17 | 20..=22 => {
                let (ev, av) = (u32_at(e, data), u32_at(a, data));
                if ev != av && ev != u32::MAX {
                    return Err(output(format!("Bad {name}: expected={ev} actual={av}")));
                }
            }
            11 | 12 | 14 => {
                let (ev, av) = (bytes_at(e, data, 1)[0], bytes_at(a, data, 1)[0]);
                if ev != av && ev != u8::MAX {
                    return Err(output(format!("Bad {name}: expected={ev} actual={av}")));
                }
            }
            other => {
                return Err(output(format!("Bad nla_type {i}: unexpected type {other}")));
            }
        }
        if elen < NLA_HDRLEN {
            return Err(output(format!(
                "Bad nla_len {i}: expected={elen} actual={alen}"
            )));
        }
        off += nla_align(elen);
    }
    Ok(())
}

/// Compare received control messages with the expected ones, in order
/// (packetdrill's `cmsg_expect_eq`).
pub fn compare_cmsgs(expected: &[u8], actual: &[u8], time: TimeBase) -> Result<(), SyscallError> {
    let mut e = first_hdr(expected);
    let mut a = first_hdr(actual);
    let mut i = 0;
    while let (Some(eh), Some(ah)) = (e, a) {
        if eh.len == 0 || ah.len == 0 {
            break;
        }
        if ah.level != eh.level {
            return Err(output(format!(
                "Bad level in cmsg {i}: expected={} actual={}",
                eh.level, ah.level
            )));
        }
        if ah.ty != eh.ty {
            return Err(output(format!(
                "Bad type in cmsg {i}: expected={} actual={}",
                eh.ty, ah.ty
            )));
        }
        if ah.len != eh.len {
            return Err(output(format!(
                "Bad len in cmsg {i}: expected={} actual={}",
                eh.len, ah.len
            )));
        }
        let n = ah.len.saturating_sub(CMSG_HDR);
        let ed = bytes_at(expected, eh.off + CMSG_HDR, n);
        let ad = bytes_at(actual, ah.off + CMSG_HDR, n);
        let recverr = (ah.level == libc::SOL_IP && ah.ty == libc::IP_RECVERR)
            || (ah.level == libc::SOL_IPV6 && ah.ty == libc::IPV6_RECVERR);
        if recverr {
            compare_extended_err(&ed, &ad, i)?;
        } else if ah.level == libc::SOL_SOCKET && ah.ty == libc::SCM_TIMESTAMPING {
            compare_timestamping(&ed, &ad, i, time)?;
        } else if ah.level == libc::SOL_SOCKET && ah.ty == libc::SCM_TIMESTAMPING_OPT_STATS {
            compare_opt_stats(&ed, &ad, i, time.tolerance_usecs)?;
        } else if ed != ad {
            return Err(output(format!(
                "Bad data in cmsg {i}: expected={} actual={}",
                printable(&ed),
                printable(&ad)
            )));
        }
        e = next_hdr(expected, eh);
        a = next_hdr(actual, ah);
        i += 1;
    }
    match (a, e) {
        (None, None) => Ok(()),
        (Some(_), None) => Err(output(format!("received more than {i} cmsgs"))),
        (None, Some(_)) => Err(output(format!("received only {i} cmsgs"))),
        (Some(_), Some(_)) => Err(output("cmsgs do not match")),
    }
}

/// The checks after recvmsg: `msg_flags`, then the control messages.
pub fn check_recv(
    want: &RecvCheck,
    flags: i32,
    control: &[u8],
    time: TimeBase,
) -> Result<(), SyscallError> {
    if flags != want.flags {
        return Err(output(format!(
            "Expected msg_flags 0x{:08X} but got 0x{:08X}",
            want.flags, flags
        )));
    }
    compare_cmsgs(&want.control, control, time)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::EpollData;

    fn ee(errno: i64, origin: i64, info: i64, data: i64) -> Value {
        Value::SockExtendedErr(Box::new(super::super::eval::ExtendedErrValue {
            ee_errno: Value::Int(errno),
            ee_origin: Value::Int(origin),
            ee_type: Value::Int(0),
            ee_code: Value::Int(1),
            ee_info: Value::Int(info),
            ee_data: Value::Int(data),
        }))
    }

    fn cmsg(level: i32, ty: i32, data: Value) -> Value {
        Value::Cmsg {
            level: Box::new(Value::Int(level as i64)),
            ty: Box::new(Value::Int(ty as i64)),
            data: Box::new(data),
        }
    }

    const TIME: TimeBase = TimeBase {
        live_start_usecs: Some(1_000_000_000),
        tolerance_usecs: 4000,
    };

    #[test]
    fn builds_cmsgs_at_aligned_places() {
        let list = Value::List(vec![
            cmsg(
                libc::SOL_SOCKET,
                37,
                Value::ScmTimestamping { sec: 0, nsec: 1 },
            ),
            cmsg(libc::SOL_IP, libc::IP_RECVERR, ee(0, 4, 5, 6)),
            cmsg(libc::SOL_IPV6, libc::IPV6_RECVERR, ee(0, 4, 5, 6)),
            cmsg(libc::SOL_SOCKET, 1, Value::Int(7)),
        ]);
        let b = cmsg_new(&list).unwrap();
        let h0 = first_hdr(&b).unwrap();
        assert_eq!(h0.len, 16 + 48);
        let h1 = next_hdr(&b, h0).unwrap();
        assert_eq!((h1.off, h1.len, h1.level), (64, 16 + 16 + 16, libc::SOL_IP));
        let h2 = next_hdr(&b, h1).unwrap();
        assert_eq!((h2.off, h2.len), (112, 16 + 16 + 28));
        let h3 = next_hdr(&b, h2).unwrap();
        assert_eq!((h3.off, h3.len), (112 + 64, 20));
        assert!(next_hdr(&b, h3).is_none());
        assert_eq!(b.len(), 112 + 64 + 24);
        assert_eq!(cmsg_new(&Value::List(vec![])).unwrap(), Vec::<u8>::new());
        assert_eq!(
            cmsg_new(&Value::List(vec![cmsg(0, 0, Value::Ellipsis)])).map_err(|e| e.to_string()),
            Err("Unrecognized type for cmsg_data".into())
        );
    }

    #[test]
    fn compares_extended_errors_field_by_field() {
        let want = cmsg_new(&Value::List(vec![cmsg(
            libc::SOL_IP,
            libc::IP_RECVERR,
            ee(0, 5, 0, 3),
        )]))
        .unwrap();
        assert_eq!(compare_cmsgs(&want, &want, TIME), Ok(()));
        let got = cmsg_new(&Value::List(vec![cmsg(
            libc::SOL_IP,
            libc::IP_RECVERR,
            ee(0, 5, 0, 4),
        )]))
        .unwrap();
        assert_eq!(
            compare_cmsgs(&want, &got, TIME).map_err(|e| e.to_string()),
            Err("Bad data in extended err 0: expected=3 actual=4".into())
        );
        assert_eq!(
            compare_cmsgs(&want, &[], TIME).map_err(|e| e.to_string()),
            Err("received only 0 cmsgs".into())
        );
        assert_eq!(
            compare_cmsgs(&[], &want, TIME).map_err(|e| e.to_string()),
            Err("received more than 0 cmsgs".into())
        );
    }

    #[test]
    fn timestamps_compare_within_tolerance_from_the_script_start() {
        let want = cmsg_new(&Value::List(vec![cmsg(
            libc::SOL_SOCKET,
            libc::SCM_TIMESTAMPING,
            Value::ScmTimestamping {
                sec: 0,
                nsec: 20_000_000,
            },
        )]))
        .unwrap();
        let live = |usecs: i64| {
            let mut b = want.clone();
            b[16..24].copy_from_slice(&(usecs / 1_000_000).to_ne_bytes());
            b[24..32].copy_from_slice(&((usecs % 1_000_000) * 1000).to_ne_bytes());
            b
        };
        assert_eq!(compare_cmsgs(&want, &live(1_000_021_000), TIME), Ok(()));
        let err = compare_cmsgs(&want, &live(1_000_030_000), TIME).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Bad timestamp 0 in scm_timestamping 0: expected=1000020000 (20000) \
             actual=1000030000 (30000) start=1000000000"
        );
    }

    #[test]
    fn opt_stats_honour_ellipsis_and_tolerance() {
        let stats = |busy: Value, cwnd: Value| {
            cmsg_new(&Value::List(vec![cmsg(
                libc::SOL_SOCKET,
                libc::SCM_TIMESTAMPING_OPT_STATS,
                Value::List(vec![
                    Value::Assign {
                        key: 1,
                        value: Box::new(busy),
                    },
                    Value::Assign {
                        key: 8,
                        value: Box::new(cwnd),
                    },
                ]),
            )]))
            .unwrap()
        };
        let live = stats(Value::Int(10_000), Value::Int(10));
        assert_eq!(
            compare_cmsgs(&stats(Value::Int(12_000), Value::Ellipsis), &live, TIME),
            Ok(())
        );
        assert_eq!(
            compare_cmsgs(&stats(Value::Int(20_000), Value::Int(10)), &live, TIME)
                .map_err(|e| e.to_string()),
            Err("Bad TCP_NLA_BUSY: expected=20000 actual=10000".into())
        );
        assert_eq!(
            compare_cmsgs(&stats(Value::Ellipsis, Value::Int(11)), &live, TIME)
                .map_err(|e| e.to_string()),
            Err("Bad TCP_NLA_SND_CWND: expected=11 actual=10".into())
        );
    }

    #[test]
    fn msghdr_checks_iov_count() {
        let m = Value::Msghdr {
            iov_len: 2,
            iov: Box::new(Value::List(vec![Value::Iovec { len: 10 }])),
            flags: Box::new(Value::Int(0)),
            control: Box::new(Value::List(vec![])),
        };
        assert_eq!(
            msghdr_new(&m).unwrap_err().to_string(),
            "msg_iovlen 2 does not match 1-element iovec array"
        );
        let bad = Value::EpollEv {
            events: Box::new(Value::Int(0)),
            data: EpollData::Fd,
            value: Box::new(Value::Int(0)),
        };
        assert_eq!(
            msghdr_new(&bad).unwrap_err().to_string(),
            "Bad type; actual: epollev expected: msghdr"
        );
    }

    #[test]
    fn recv_check_reports_flags_in_hex() {
        let want = RecvCheck {
            flags: libc::MSG_ERRQUEUE,
            control: vec![],
        };
        assert_eq!(
            check_recv(&want, libc::MSG_ERRQUEUE | libc::MSG_TRUNC, &[], TIME)
                .map_err(|e| e.to_string()),
            Err("Expected msg_flags 0x00002000 but got 0x00002020".into())
        );
    }

    #[test]
    fn printable_escapes_like_packetdrill() {
        assert_eq!(printable(b"reno\0"), "reno");
        assert_eq!(printable(b"a\x01b"), "a\\x01b");
    }
}
