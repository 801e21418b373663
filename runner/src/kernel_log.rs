//! The kernel's log during a run: warnings, BUGs, oopses and sanitizer reports
//! (KASAN, UBSAN, lockdep, kmemleak, refcount trackers), each a
//! [`KernelSplat`], for NIPA's `crashes` (`docs` of the report: `ci/README.md`,
//! "netdev CI").
//!
//! [`KernelLog`] reads `/dev/kmsg` from the moment it is opened (older records
//! are skipped), without blocking, for the run's poll loop; it only reads.
//! [`Scanner`] is the pure part: kernel log lines in, splats out. A splat starts
//! at a line that opens a report (`WARNING:`, `BUG:`, `Oops:`, `UBSAN:`...)
//! and ends at its end marker (`---[ end trace`, `</TASK>`, a line of `=`),
//! at the next report, or after [`MAX_SPLAT_LINES`] lines. Its fingerprint is
//! what NIPA records for a crash: the first five function names of its stack
//! frames (`name+0x1a/0x40`, `RIP: 0010:name+...`, `[<addr>] name+...`; frames
//! marked `?` are unreliable and skipped), joined by `:`.

use crate::model::KernelSplat;
use regex::Regex;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::sync::OnceLock;

/// The kernel's log device.
pub const KMSG: &str = "/dev/kmsg";

/// A splat longer than this is cut (its fingerprint comes from its start).
pub const MAX_SPLAT_LINES: usize = 200;

/// How many function names make a fingerprint (as NIPA's).
const FINGERPRINT_FRAMES: usize = 5;

/// One record of `/dev/kmsg`: `PRIO,SEQ,USECS,FLAGS;MESSAGE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Microseconds since boot (the kernel's log clock).
    pub usecs: u64,
    pub message: String,
}

/// Read one line of `/dev/kmsg` (continuation lines, which start with a space,
/// are the record's dictionary: `None`).
pub fn parse_record(line: &str) -> Option<Record> {
    if line.starts_with(' ') {
        return None;
    }
    let (prefix, message) = line.split_once(';')?;
    let mut fields = prefix.split(',');
    let _prio = fields.next()?;
    let _seq = fields.next()?;
    let usecs = fields.next()?.parse().ok()?;
    Some(Record {
        usecs,
        message: message.to_string(),
    })
}

/// The line as `dmesg` prints it.
fn dmesg_line(r: &Record) -> String {
    format!(
        "[{:5}.{:06}] {}",
        r.usecs / 1_000_000,
        r.usecs % 1_000_000,
        r.message
    )
}

/// Whether a message opens a report.
fn opens_report(message: &str) -> bool {
    let m = message.trim_start();
    const STARTS: &[&str] = &[
        "WARNING:",
        "BUG:",
        "kernel BUG at",
        "Oops:",
        "general protection fault",
        "UBSAN:",
        "Kernel panic - not syncing",
        "ref_tracker: ",
        "unreferenced object 0x",
    ];
    STARTS.iter().any(|s| m.starts_with(s))
        || (m.starts_with("INFO: task ") && m.contains(" blocked for more than "))
        || m.contains("] Oops: ")
}

/// `------------[ cut here ]------------`: the next line is the title.
fn is_cut_here(message: &str) -> bool {
    message.trim() == "------------[ cut here ]------------"
}

/// Whether a message ends the open report.
fn closes_report(message: &str) -> bool {
    let m = message.trim();
    m.starts_with("---[ end trace")
        || m.starts_with("---[ end Kernel panic")
        || m == "</TASK>"
        || (m.len() >= 10 && m.chars().all(|c| c == '='))
}

/// The function name of a reliable stack frame in a message, if it is one.
fn frame_name(message: &str) -> Option<&str> {
    static FRAME: OnceLock<Regex> = OnceLock::new();
    let re = FRAME.get_or_init(|| {
        Regex::new(
            r"^(?:\s+|.*RIP: [0-9a-f]{4}:|.*\[<[0-9a-f]+>\] )([a-z0-9_]+)\+0x[0-9a-f]+/0x[0-9a-f]+",
        )
        .expect("a valid pattern")
    });
    re.captures(message)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str())
}

/// A report being read.
#[derive(Debug)]
struct Open {
    at_unix: f64,
    title: Option<String>,
    lines: Vec<String>,
    frames: Vec<String>,
}

impl Open {
    fn close(self) -> Option<KernelSplat> {
        let title = self.title?;
        let mut text = self.lines.join("\n");
        text.push('\n');
        Some(KernelSplat {
            at_unix: self.at_unix,
            title,
            fingerprint: self.frames.join(":"),
            text,
        })
    }
}

/// Kernel log lines in, splats out (see the module documentation).
#[derive(Debug, Default)]
pub struct Scanner {
    open: Option<Open>,
}

impl Scanner {
    /// One record, read at `now_unix`; the splats it completes (a record that
    /// opens a report closes the one before).
    pub fn record(&mut self, r: &Record, now_unix: f64) -> Vec<KernelSplat> {
        let mut done = Vec::new();
        let starts = opens_report(&r.message);
        let cut = is_cut_here(&r.message);
        if let Some(open) = &self.open {
            // A report's own title after its `cut here` line does not start another.
            if (starts && open.title.is_some()) || cut {
                done.extend(self.finish());
            }
        }
        if self.open.is_none() && (starts || cut) {
            self.open = Some(Open {
                at_unix: now_unix,
                title: None,
                lines: Vec::new(),
                frames: Vec::new(),
            });
        }
        let Some(open) = self.open.as_mut() else {
            return done;
        };
        if open.title.is_none() && !cut {
            open.title = Some(r.message.trim().to_string());
        }
        open.lines.push(dmesg_line(r));
        if open.frames.len() < FINGERPRINT_FRAMES {
            if let Some(name) = frame_name(&r.message) {
                open.frames.push(name.to_string());
            }
        }
        let closes = open.title.is_some() && !starts && closes_report(&r.message);
        if closes || open.lines.len() >= MAX_SPLAT_LINES {
            done.extend(self.finish());
        }
        done
    }

    /// Close the report being read, if any (at the end of the run).
    pub fn finish(&mut self) -> Option<KernelSplat> {
        self.open.take().and_then(Open::close)
    }
}

/// `/dev/kmsg` (or another file of its records), read without blocking from
/// the moment it was opened.
pub struct KernelLog {
    fd: Option<OwnedFd>,
    /// A line not yet ended.
    partial: Vec<u8>,
    scanner: Scanner,
}

impl KernelLog {
    /// Open `path` and skip what it already holds.
    pub fn open(path: &Path) -> io::Result<KernelLog> {
        use nix::fcntl::{open, OFlag};
        use nix::sys::stat::Mode;
        let fd = open(
            path,
            OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        // `/dev/kmsg` starts at the oldest record; the end is where this run
        // begins. (A pipe cannot seek and has no past.)
        let _ = nix::unistd::lseek(&fd, 0, nix::unistd::Whence::SeekEnd);
        Ok(KernelLog {
            fd: Some(fd),
            partial: Vec::new(),
            scanner: Scanner::default(),
        })
    }

    /// The descriptor to poll while the log can still say something.
    pub fn fd(&self) -> Option<BorrowedFd<'_>> {
        self.fd.as_ref().map(|f| f.as_fd())
    }

    /// Read what is there now (`now_unix`: the time of reading); the splats
    /// it completes.
    pub fn read(&mut self, now_unix: f64) -> Vec<KernelSplat> {
        let mut splats = Vec::new();
        let mut buf = [0u8; 8192];
        while let Some(fd) = &self.fd {
            match nix::unistd::read(fd, &mut buf) {
                Ok(0) => {
                    // The writer of a pipe went away; `/dev/kmsg` never ends.
                    self.fd = None;
                }
                Ok(n) => {
                    self.partial.extend_from_slice(&buf[..n]);
                    while let Some(end) = self.partial.iter().position(|&b| b == b'\n') {
                        let line: Vec<u8> = self.partial.drain(..=end).collect();
                        let line = String::from_utf8_lossy(&line[..line.len() - 1]).into_owned();
                        if let Some(r) = parse_record(&line) {
                            splats.extend(self.scanner.record(&r, now_unix));
                        }
                    }
                }
                // Records were overwritten before they were read: go on.
                Err(nix::errno::Errno::EPIPE) | Err(nix::errno::Errno::EINTR) => {}
                Err(_) => break,
            }
        }
        splats
    }

    /// The report still open at the end of the run, if any.
    pub fn finish(&mut self) -> Option<KernelSplat> {
        self.scanner.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `dmesg`-like text into records (one per line, 1 µs apart).
    fn records(text: &str) -> Vec<Record> {
        text.lines()
            .enumerate()
            .map(|(i, l)| Record {
                usecs: 81_000_000 + i as u64,
                message: l.to_string(),
            })
            .collect()
    }

    fn scan(text: &str) -> Vec<KernelSplat> {
        let mut s = Scanner::default();
        let mut out = Vec::new();
        for (i, r) in records(text).iter().enumerate() {
            out.extend(s.record(r, 1000.0 + i as f64));
        }
        out.extend(s.finish());
        out
    }

    const WARN: &str = "\
tun0: link up
------------[ cut here ]------------
WARNING: CPU: 1 PID: 3163 at net/ipv4/tcp_output.c:1234 tcp_write_xmit+0x90a/0xb10
Modules linked in:
CPU: 1 UID: 0 PID: 3163 Comm: netdrill Not tainted 6.18.0 #1
RIP: 0010:tcp_write_xmit+0x90a/0xb10
Call Trace:
 <TASK>
 ? __warn+0x80/0x120
 __tcp_push_pending_frames+0x2c/0x40
 tcp_sendmsg_locked+0x221/0x2a0
 tcp_sendmsg.constprop.0+0x60/0x90
 tcp_sendmsg+0x24/0xf0
 inet_sendmsg+0x8a/0x180
 __sys_sendto+0x10f/0x160
 </TASK>
---[ end trace 0000000000000000 ]---
after";

    #[test]
    fn a_warning_is_one_splat_with_nipas_fingerprint() {
        let splats = scan(WARN);
        assert_eq!(splats.len(), 1, "{splats:?}");
        let s = &splats[0];
        assert_eq!(
            s.title,
            "WARNING: CPU: 1 PID: 3163 at net/ipv4/tcp_output.c:1234 tcp_write_xmit+0x90a/0xb10"
        );
        // The RIP frame, then the reliable frames; `?` frames and names with a
        // suffix (`.constprop.0`) are left out, as NIPA leaves them out.
        assert_eq!(
            s.fingerprint,
            "tcp_write_xmit:__tcp_push_pending_frames:tcp_sendmsg_locked:tcp_sendmsg:inet_sendmsg"
        );
        // Read at the time of the `cut here` line.
        assert_eq!(s.at_unix, 1001.0);
        assert!(
            s.text
                .starts_with("[   81.000001] ------------[ cut here ]"),
            "{}",
            s.text
        );
        assert!(s.text.ends_with("[   81.000015]  </TASK>\n"), "{}", s.text);
    }

    #[test]
    fn kasan_ubsan_lockdep_and_bug_reports_are_found() {
        let text = "\
==================================================================
BUG: KASAN: slab-use-after-free in tcp_ack+0x1a/0x40
Read of size 4 at addr ffff888003692380 by task netdrill/762
Call Trace:
 <TASK>
 dump_stack_lvl+0x82/0xd0
 print_report+0x1/0x2
 </TASK>
==================================================================
UBSAN: shift-out-of-bounds in net/ipv4/tcp_input.c:99:7
shift exponent 32 is too large
---[ end trace ]---
======================================================
WARNING: possible circular locking dependency detected
6.18.0 #1 Not tainted
------------------------------------------------------
BUG: kernel NULL pointer dereference, address: 0000000000000008
Oops: Oops: 0000 [#1] SMP
plain line";
        let titles: Vec<String> = scan(text).into_iter().map(|s| s.title).collect();
        assert_eq!(
            titles,
            [
                "BUG: KASAN: slab-use-after-free in tcp_ack+0x1a/0x40",
                "UBSAN: shift-out-of-bounds in net/ipv4/tcp_input.c:99:7",
                "WARNING: possible circular locking dependency detected",
                "BUG: kernel NULL pointer dereference, address: 0000000000000008",
                "Oops: Oops: 0000 [#1] SMP",
            ]
        );
        let kasan = &scan(text)[0];
        assert_eq!(kasan.fingerprint, "dump_stack_lvl:print_report");
    }

    #[test]
    fn ordinary_lines_make_no_splat() {
        assert!(scan(
            "tun0: link up\nIPv6: ADDRCONF(NETDEV_CHANGE): tun0: link becomes ready\n==="
        )
        .is_empty());
    }

    #[test]
    fn a_splat_that_never_ends_is_cut() {
        let mut text = String::from("BUG: soft lockup - CPU#0 stuck for 22s!\n");
        for i in 0..(MAX_SPLAT_LINES + 10) {
            text.push_str(&format!(" f{i}+0x1/0x2\n"));
        }
        let splats = scan(&text);
        assert_eq!(splats.len(), 1);
        assert_eq!(splats[0].text.lines().count(), MAX_SPLAT_LINES);
        assert_eq!(splats[0].fingerprint, "f0:f1:f2:f3:f4");
    }

    #[test]
    fn records_parse_and_dictionary_lines_do_not() {
        assert_eq!(
            parse_record("4,1234,81109586,-;WARNING: x"),
            Some(Record {
                usecs: 81_109_586,
                message: "WARNING: x".into()
            })
        );
        assert_eq!(
            parse_record("6,17,5,c,caller=T1;a;b"),
            Some(Record {
                usecs: 5,
                message: "a;b".into()
            })
        );
        assert_eq!(parse_record(" SUBSYSTEM=pci"), None);
        assert_eq!(parse_record("garbage"), None);
        assert_eq!(
            dmesg_line(&parse_record("4,1,81109586,-;x").unwrap()),
            "[   81.109586] x"
        );
    }

    #[test]
    fn the_log_reads_records_from_a_pipe_as_they_come() {
        let (read, write) = nix::unistd::pipe().unwrap();
        // A pipe by its /proc path, as a test would hand one to `netdrill run`.
        let path = std::path::PathBuf::from(format!(
            "/proc/self/fd/{}",
            std::os::fd::AsRawFd::as_raw_fd(&read)
        ));
        let mut log = KernelLog::open(&path).unwrap();
        assert!(log.read(1.0).is_empty());
        let text: String = WARN
            .lines()
            .enumerate()
            .map(|(i, l)| format!("4,{i},{},-;{l}\n SUBSYSTEM=net\n", 81_000_000 + i))
            .collect();
        nix::unistd::write(&write, text.as_bytes()).unwrap();
        let splats = log.read(2.0);
        assert_eq!(splats.len(), 1);
        assert_eq!(splats[0].at_unix, 2.0);
        drop(write);
        assert!(log.read(3.0).is_empty());
        assert!(log.fd().is_none(), "the pipe ended");
        assert!(log.finish().is_none());
    }
}
