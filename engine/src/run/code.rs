//! `%{ ... }%` code blocks (docs/engine/commands-and-code.md, "Code blocks").
//!
//! At each block's time the engine snapshots `TCP_INFO`, `TCP_CC_INFO` and
//! `SO_MEMINFO` of the socket under test. After the whole script (and its
//! cleanup command) every snapshot and block is written, in order, into one
//! Python file that is run with `python3` (or `--code_command`): variables
//! from one block are visible in later ones, and a failed assertion fails the
//! run, late but with the block's line.

use std::io::Write;
use std::os::fd::RawFd;

/// One field of packetdrill's `struct tcp_info` layout: name, byte offset,
/// size in bytes, and for bit fields the bit range within that size.
struct TcpInfoField {
    name: &'static str,
    offset: usize,
    size: usize,
    bits: Option<(u32, u32)>,
}

const fn f(name: &'static str, offset: usize, size: usize) -> TcpInfoField {
    TcpInfoField {
        name,
        offset,
        size,
        bits: None,
    }
}

const fn b(name: &'static str, offset: usize, size: usize, lo: u32, width: u32) -> TcpInfoField {
    TcpInfoField {
        name,
        offset,
        size,
        bits: Some((lo, width)),
    }
}

/// `struct tcp_info` as Linux lays it out on little-endian machines, up to the
/// AccECN counters; fields past what the running kernel returns read as 0.
/// Printed in this order (packetdrill's order).
const TCP_INFO_FIELDS: &[TcpInfoField] = &[
    f("tcpi_state", 0, 1),
    f("tcpi_ca_state", 1, 1),
    f("tcpi_retransmits", 2, 1),
    f("tcpi_probes", 3, 1),
    f("tcpi_backoff", 4, 1),
    f("tcpi_options", 5, 1),
    b("tcpi_snd_wscale", 6, 1, 0, 4),
    b("tcpi_rcv_wscale", 6, 1, 4, 4),
    b("tcpi_delivery_rate_app_limited", 7, 1, 0, 1),
    f("tcpi_rto", 8, 4),
    f("tcpi_ato", 12, 4),
    f("tcpi_snd_mss", 16, 4),
    f("tcpi_rcv_mss", 20, 4),
    f("tcpi_unacked", 24, 4),
    f("tcpi_sacked", 28, 4),
    f("tcpi_lost", 32, 4),
    f("tcpi_retrans", 36, 4),
    f("tcpi_fackets", 40, 4),
    f("tcpi_last_data_sent", 44, 4),
    f("tcpi_last_ack_sent", 48, 4),
    f("tcpi_last_data_recv", 52, 4),
    f("tcpi_last_ack_recv", 56, 4),
    f("tcpi_pmtu", 60, 4),
    f("tcpi_rcv_ssthresh", 64, 4),
    f("tcpi_rtt", 68, 4),
    f("tcpi_rttvar", 72, 4),
    f("tcpi_snd_ssthresh", 76, 4),
    f("tcpi_snd_cwnd", 80, 4),
    f("tcpi_advmss", 84, 4),
    f("tcpi_reordering", 88, 4),
    f("tcpi_total_retrans", 100, 4),
    f("tcpi_pacing_rate", 104, 8),
    f("tcpi_max_pacing_rate", 112, 8),
    f("tcpi_rcv_rtt", 92, 4),
    f("tcpi_rcv_space", 96, 4),
    f("tcpi_bytes_acked", 120, 8),
    f("tcpi_bytes_received", 128, 8),
    f("tcpi_segs_out", 136, 4),
    f("tcpi_segs_in", 140, 4),
    f("tcpi_notsent_bytes", 144, 4),
    f("tcpi_min_rtt", 148, 4),
    f("tcpi_data_segs_in", 152, 4),
    f("tcpi_data_segs_out", 156, 4),
    f("tcpi_delivery_rate", 160, 8),
    f("tcpi_busy_time", 168, 8),
    f("tcpi_rwnd_limited", 176, 8),
    f("tcpi_sndbuf_limited", 184, 8),
    f("tcpi_delivered", 192, 4),
    f("tcpi_delivered_ce", 196, 4),
    f("tcpi_bytes_sent", 200, 8),
    f("tcpi_bytes_retrans", 208, 8),
    f("tcpi_dsack_dups", 216, 4),
    f("tcpi_reord_seen", 220, 4),
    f("tcpi_rcv_ooopack", 224, 4),
    f("tcpi_snd_wnd", 228, 4),
    f("tcpi_rcv_wnd", 232, 4),
    f("tcpi_rehash", 236, 4),
    f("tcpi_total_rto", 240, 2),
    f("tcpi_total_rto_recoveries", 242, 2),
    f("tcpi_total_rto_time", 244, 4),
    b("tcpi_ecn_mode", 276, 4, 0, 2),
    b("tcpi_accecn_opt_seen", 276, 4, 2, 2),
    b("tcpi_accecn_fail_mode", 276, 4, 4, 4),
    b("tcpi_options2", 276, 4, 8, 24),
    f("tcpi_received_ce", 248, 4),
    f("tcpi_delivered_e1_bytes", 252, 4),
    f("tcpi_delivered_e0_bytes", 256, 4),
    f("tcpi_delivered_ce_bytes", 260, 4),
    f("tcpi_received_e1_bytes", 264, 4),
    f("tcpi_received_e0_bytes", 268, 4),
    f("tcpi_received_ce_bytes", 272, 4),
];

/// Size of the `tcp_info` buffer we ask for (the layout above).
const TCP_INFO_LEN: usize = 280;
/// Size of the `tcp_cc_info` union (the BBR member is the largest).
const TCP_CC_INFO_LEN: usize = 20;
/// `SK_MEMINFO_VARS` u32 counters.
const MEMINFO_NAMES: &[&str] = &[
    "SK_MEMINFO_RMEM_ALLOC",
    "SK_MEMINFO_RCVBUF",
    "SK_MEMINFO_WMEM_ALLOC",
    "SK_MEMINFO_SNDBUF",
    "SK_MEMINFO_FWD_ALLOC",
    "SK_MEMINFO_WMEM_QUEUED",
    "SK_MEMINFO_OPTMEM",
    "SK_MEMINFO_BACKLOG",
    "SK_MEMINFO_DROPS",
];

/// Names defined before each tcp_info snapshot, with their Linux values.
const SYMBOLS: &[(&str, u64)] = &[
    ("TCP_ESTABLISHED", 1),
    ("TCP_SYN_SENT", 2),
    ("TCP_SYN_RECV", 3),
    ("TCP_FIN_WAIT1", 4),
    ("TCP_FIN_WAIT2", 5),
    ("TCP_TIME_WAIT", 6),
    ("TCP_CLOSE", 7),
    ("TCP_CLOSE_WAIT", 8),
    ("TCP_LAST_ACK", 9),
    ("TCP_LISTEN", 10),
    ("TCP_CLOSING", 11),
    ("TCP_CA_Open", 0),
    ("TCP_CA_Disorder", 1),
    ("TCP_CA_CWR", 2),
    ("TCP_CA_Recovery", 3),
    ("TCP_CA_Loss", 4),
    ("TCPI_OPT_TIMESTAMPS", 1),
    ("TCPI_OPT_SACK", 2),
    ("TCPI_OPT_WSCALE", 4),
    ("TCPI_OPT_ECN", 8),
    ("TCPI_OPT_ECN_SEEN", 16),
    ("TCPI_OPT_SYN_DATA", 32),
    ("TCPI_OPT_USEC_TS", 64),
    ("TCPI_OPT_TFO_CHILD", 128),
];

const PREAMBLE: &str = "import sys\n\
import traceback\n\
def excepthook(etype, value, tb):\n  \
sys.stderr.write(\"%s:%d: error in Python code\\n\" %\n                   \
(_file, _line))\n  \
traceback.print_exception(etype, value, tb)\n\
\n\
sys.excepthook = excepthook\n\
\n";

/// The socket state captured at one block's time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub tcp_info: Vec<u8>,
    pub cc_info: Vec<u8>,
    pub meminfo: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Fragment {
    Data(Snapshot),
    Text {
        file: String,
        line: u32,
        text: String,
    },
}

/// All the code blocks of a run, with their snapshots, in script order.
#[derive(Clone, Debug, Default)]
pub struct CodeRecorder {
    fragments: Vec<Fragment>,
}

fn getsockopt_bytes(fd: RawFd, level: i32, name: i32, len: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    let mut optlen = len as libc::socklen_t;
    // SAFETY: buf has `len` writable bytes and optlen says so.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            level,
            name,
            buf.as_mut_ptr().cast(),
            &mut optlen as *mut libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    buf.truncate((optlen as usize).min(len));
    Ok(buf)
}

/// Why the socket under test could not be snapshot for a code block.
/// `Display` is packetdrill's text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CollectError {
    #[error("no socket to use for code")]
    NoSocket,
    /// The socket has no live fd yet (a passive child before `accept()`), or
    /// `TCP_INFO` failed.
    #[error("can't find getsockopt to get TCP info")]
    TcpInfo,
    #[error("can't find getsockopt to get TCP_CC_INFO")]
    CcInfo,
    #[error("can't find getsockopt to get sk_meminfo")]
    MemInfo,
}

/// Take the three getsockopt snapshots packetdrill takes for a code block.
pub fn snapshot(fd: RawFd) -> Result<Snapshot, CollectError> {
    let tcp_info = getsockopt_bytes(fd, libc::SOL_TCP, libc::TCP_INFO, TCP_INFO_LEN)
        .map_err(|_| CollectError::TcpInfo)?;
    let cc_info = getsockopt_bytes(fd, libc::SOL_TCP, libc::TCP_CC_INFO, TCP_CC_INFO_LEN)
        .map_err(|_| CollectError::CcInfo)?;
    let meminfo = getsockopt_bytes(
        fd,
        libc::SOL_SOCKET,
        libc::SO_MEMINFO,
        MEMINFO_NAMES.len() * 4,
    )
    .map_err(|_| CollectError::MemInfo)?;
    Ok(Snapshot {
        tcp_info,
        cc_info,
        meminfo,
    })
}

/// Little-endian unsigned read of `size` bytes at `offset`; bytes past the end read as 0.
fn read_le(buf: &[u8], offset: usize, size: usize) -> u64 {
    (0..size).fold(0u64, |acc, i| {
        let byte = buf.get(offset + i).copied().unwrap_or(0) as u64;
        acc | (byte << (8 * i))
    })
}

fn emit(out: &mut String, name: &str, value: u64) {
    out.push_str(name);
    out.push_str(" = ");
    out.push_str(&value.to_string());
    out.push('\n');
}

fn render_snapshot(out: &mut String, s: &Snapshot) {
    for (name, value) in SYMBOLS {
        emit(out, name, *value);
    }
    for field in TCP_INFO_FIELDS {
        let raw = read_le(&s.tcp_info, field.offset, field.size);
        let value = match field.bits {
            Some((lo, width)) => (raw >> lo) & ((1u64 << width) - 1),
            None => raw,
        };
        emit(out, field.name, value);
    }
    out.push('\n');

    // The CC info is a union: each interpretation is written when the kernel
    // returned enough bytes for it (nothing with cubic, which returns none).
    let cc = &s.cc_info;
    if cc.len() >= 20 {
        let lo = read_le(cc, 0, 4);
        let hi = read_le(cc, 4, 4);
        emit(out, "bbr_bw_lo", lo);
        emit(out, "bbr_bw_hi", hi);
        emit(out, "bbr_bw", (hi << 32) + lo);
        emit(out, "bbr_min_rtt", read_le(cc, 8, 4));
        emit(out, "bbr_pacing_gain", read_le(cc, 12, 4));
        emit(out, "bbr_cwnd_gain", read_le(cc, 16, 4));
    }
    if cc.len() >= 16 {
        emit(out, "dctcp_enabled", read_le(cc, 0, 2));
        emit(out, "dctcp_ce_state", read_le(cc, 2, 2));
        emit(out, "dctcp_alpha", read_le(cc, 4, 4));
        emit(out, "dctcp_ab_ecn", read_le(cc, 8, 4));
        emit(out, "dctcp_ab_tot", read_le(cc, 12, 4));
        emit(out, "tcpv_enabled", read_le(cc, 0, 4));
        emit(out, "tcpv_rttcnt", read_le(cc, 4, 4));
        emit(out, "tcp_rtt", read_le(cc, 8, 4));
        emit(out, "tcp_minrtt", read_le(cc, 12, 4));
    }
    out.push('\n');

    for (i, name) in MEMINFO_NAMES.iter().enumerate() {
        emit(out, name, read_le(&s.meminfo, i * 4, 4));
    }
    out.push('\n');
}

/// How running the code ended badly. `Display` is packetdrill's text after
/// `<path>: error executing code: `.
#[derive(Debug, thiserror::Error)]
pub enum CodeError {
    #[error("error making temp output file for code: {0}")]
    TempFile(std::io::Error),
    #[error("error writing temp output file for code: {0}")]
    WriteFile(std::io::Error),
    #[error("error running '{command}' with system(3): {error}")]
    Spawn {
        command: String,
        error: std::io::Error,
    },
    #[error("'{command}' returned non-zero status {status}")]
    Status { command: String, status: i32 },
    #[error("'{command}' got signal {signal} ({name})")]
    Signal {
        command: String,
        signal: i32,
        name: &'static str,
    },
}

impl CodeRecorder {
    /// Record a block: the snapshot taken at its time, then its text.
    pub fn record(&mut self, snapshot: Snapshot, file: &str, line: u32, text: &str) {
        self.fragments.push(Fragment::Data(snapshot));
        self.fragments.push(Fragment::Text {
            file: file.to_string(),
            line,
            text: text.to_string(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.fragments.is_empty()
    }

    /// The whole Python program.
    pub fn render(&self) -> String {
        let mut out = String::from(PREAMBLE);
        out.push('\n');
        for fragment in &self.fragments {
            match fragment {
                Fragment::Data(s) => render_snapshot(&mut out, s),
                Fragment::Text { file, line, text } => {
                    out.push_str(&format!("_file = '{file}'\n_line = {line}\n{text}\n\n"));
                }
            }
        }
        out
    }

    /// Write the program to a temporary file in `/tmp`, run `command FILE`
    /// through `/bin/sh`, and delete the file. With `verbose`, print the
    /// program and the command line on stdout first, as packetdrill does.
    pub fn execute(&self, command: &str, verbose: bool) -> Result<(), CodeError> {
        if self.is_empty() {
            return Ok(());
        }
        let mut file = tempfile::Builder::new()
            .prefix("code_")
            .tempfile_in("/tmp")
            .map_err(CodeError::TempFile)?;
        file.write_all(self.render().as_bytes())
            .and_then(|_| file.flush())
            .map_err(CodeError::WriteFile)?;
        let path = file.path().display().to_string();
        let command_line = format!("{command} {path}");
        if verbose {
            print!("{}", self.render());
            println!("running: '{command_line}'");
        }
        let status = super::command::system(&command_line).map_err(|error| CodeError::Spawn {
            command: command.to_string(),
            error,
        })?;
        match status {
            super::command::ShellStatus::Exited(0) => Ok(()),
            super::command::ShellStatus::Exited(status) => Err(CodeError::Status {
                command: command.to_string(),
                status,
            }),
            super::command::ShellStatus::Interrupted(signal, name) => Err(CodeError::Signal {
                command: command.to_string(),
                signal,
                name,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot_with(fill: impl Fn(&mut Vec<u8>)) -> Snapshot {
        let mut tcp_info = vec![0u8; 248];
        fill(&mut tcp_info);
        Snapshot {
            tcp_info,
            cc_info: vec![],
            meminfo: vec![0; 36],
        }
    }

    #[test]
    fn renders_fields_at_their_offsets() {
        let s = snapshot_with(|t| {
            t[0] = 1; // state
            t[3] = 6; // probes
            t[6] = 0x78; // snd_wscale 8, rcv_wscale 7
            t[8..12].copy_from_slice(&304000u32.to_le_bytes()); // rto
            t[80..84].copy_from_slice(&10u32.to_le_bytes()); // snd_cwnd
            t[104..112].copy_from_slice(&(1u64 << 40).to_le_bytes()); // pacing rate
            t[240..242].copy_from_slice(&3u16.to_le_bytes()); // total_rto
        });
        let mut rec = CodeRecorder::default();
        rec.record(s, "x.pkt", 13, "assert tcpi_snd_cwnd == 10");
        let py = rec.render();
        for line in [
            "tcpi_state = 1\n",
            "tcpi_probes = 6\n",
            "tcpi_snd_wscale = 8\n",
            "tcpi_rcv_wscale = 7\n",
            "tcpi_rto = 304000\n",
            "tcpi_snd_cwnd = 10\n",
            "tcpi_pacing_rate = 1099511627776\n",
            "tcpi_total_rto = 3\n",
            "tcpi_received_ce = 0\n",
            "TCP_ESTABLISHED = 1\n",
            "_file = 'x.pkt'\n_line = 13\nassert tcpi_snd_cwnd == 10\n",
        ] {
            assert!(py.contains(line), "missing {line:?} in\n{py}");
        }
        // Cubic returns no CC info: no CC variables.
        assert!(!py.contains("bbr_bw"));
    }

    #[test]
    fn bbr_cc_info_sets_every_interpretation() {
        let mut s = snapshot_with(|_| {});
        s.cc_info = vec![0; 20];
        s.cc_info[8..12].copy_from_slice(&777u32.to_le_bytes());
        let mut rec = CodeRecorder::default();
        rec.record(s, "x.pkt", 1, "pass");
        let py = rec.render();
        assert!(py.contains("bbr_min_rtt = 777\n"));
        assert!(py.contains("tcp_rtt = 777\n"));
        assert!(py.contains("dctcp_ab_ecn = 777\n"));
    }

    #[test]
    fn a_failed_assertion_names_the_block_line() {
        let mut rec = CodeRecorder::default();
        rec.record(
            snapshot_with(|t| t[80] = 10),
            "x.pkt",
            7,
            "x = tcpi_snd_cwnd",
        );
        rec.record(
            snapshot_with(|_| {}),
            "x.pkt",
            9,
            "assert x == 99, 'cwnd=%d' % x",
        );
        let err = rec.execute("python3", false).unwrap_err();
        assert_eq!(err.to_string(), "'python3' returned non-zero status 1");
        let mut ok = CodeRecorder::default();
        ok.record(
            snapshot_with(|t| t[80] = 10),
            "x.pkt",
            7,
            "assert tcpi_snd_cwnd == 10",
        );
        ok.execute("python3", false).unwrap();
    }
}
