//! Reading a job process's two pipes: the result pipe, whose lines are
//! [`JobMessage`]s (see [`crate::protocol`]) folded into what the attempt needs
//! ([`Messages`]), and the output pipe, whose bytes are kept up to a limit
//! ([`Output`]).
//!
//! Both are read a bounded number of bytes per call ([`READ_BUDGET`]), so a job
//! that prints without end cannot hold the run's loop away from its timeouts
//! and signals; the poll loop comes back for the rest. Lines are cut from the
//! buffer through a cursor: each byte is looked at once and moved at most once
//! more, however many lines a read brings.

use crate::protocol::{hex_decode, JobMessage};
use crate::record::Packets;
use netdrill_engine::outcome::Outcome;
use std::fs::File;
use std::io::{ErrorKind, Read};

/// At most this many bytes are read from one pipe per call.
pub const READ_BUDGET: usize = 64 << 10;
/// How much of a job's output is kept.
pub const LOG_LIMIT: usize = 1 << 20;
/// Longest result line accepted from a job.
pub const RESULT_LINE_LIMIT: usize = 16 << 20;
/// At most this many `-v` lines are kept.
const VERBOSE_LIMIT: usize = 100_000;

/// What became of a pipe after a read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PipeState {
    /// Still open (it may have more to read now, or later).
    Open,
    /// The writers are gone and everything was read.
    Closed,
    /// Reading failed.
    Failed(String),
}

/// Read up to `budget` bytes from a non-blocking pipe, giving them to `take` as
/// they come.
pub fn read_some(file: &mut File, budget: usize, mut take: impl FnMut(&[u8])) -> PipeState {
    let mut chunk = [0u8; 16384];
    let mut left = budget;
    while left > 0 {
        let want = left.min(chunk.len());
        match file.read(&mut chunk[..want]) {
            Ok(0) => return PipeState::Closed,
            Ok(n) => {
                take(&chunk[..n]);
                left -= n;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return PipeState::Failed(e.to_string()),
        }
    }
    PipeState::Open
}

/// Bytes with complete lines taken off the front through a cursor.
#[derive(Debug, Default)]
pub struct LineBuffer {
    buf: Vec<u8>,
    /// Where the first line not yet taken starts.
    start: usize,
    /// Where to look for the next newline: `start..scan` has none.
    scan: usize,
}

impl LineBuffer {
    /// Add bytes at the end.
    pub fn push(&mut self, bytes: &[u8]) {
        // Move the unread tail to the front once it is at most half the buffer:
        // each byte moves at most once.
        if self.start > 0 && self.start * 2 >= self.buf.len() {
            self.buf.drain(..self.start);
            self.scan -= self.start;
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete line, without its newline.
    pub fn next_line(&mut self) -> Option<&[u8]> {
        match self.buf[self.scan..].iter().position(|&b| b == b'\n') {
            Some(i) => {
                let (from, to) = (self.start, self.scan + i);
                self.start = to + 1;
                self.scan = self.start;
                Some(&self.buf[from..to])
            }
            None => {
                self.scan = self.buf.len();
                None
            }
        }
    }

    /// Bytes after the last complete line.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.start
    }

    /// The bytes after the last complete line, taken out.
    pub fn take_rest(&mut self) -> Vec<u8> {
        let rest = self.buf.split_off(self.start);
        self.clear();
        rest
    }

    pub fn clear(&mut self) {
        self.buf.clear();
        self.start = 0;
        self.scan = 0;
    }
}

/// What the job said over the result pipe so far.
#[derive(Debug, Default)]
pub struct Messages {
    lines: LineBuffer,
    pub said: Said,
}

/// The job's messages, folded.
#[derive(Debug, Default)]
pub struct Said {
    pub last_line: Option<u32>,
    pub outcome: Option<Outcome>,
    pub sandbox_failed: Option<String>,
    pub protocol_error: Option<String>,
    pub verbose: Vec<String>,
    pub packets: Packets,
    /// The caps the job went over.
    pub limits_reached: Vec<crate::model::LimitKind>,
}

impl Messages {
    /// Take bytes from the pipe: every complete line is read as a message.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.lines.push(bytes);
        while let Some(line) = self.lines.next_line() {
            self.said.read(line);
        }
        if self.lines.pending() > RESULT_LINE_LIMIT {
            self.said.protocol_error = Some("a result line longer than 16 MiB".into());
            self.lines.clear();
        }
    }

    /// The pipe closed: a last line without a newline is a message too.
    pub fn end(&mut self) {
        let rest = self.lines.take_rest();
        self.said.read(&rest);
    }

    /// Reading the pipe failed.
    pub fn failed(&mut self, why: &str) {
        self.said.protocol_error = Some(format!("reading the result pipe: {why}"));
    }
}

impl Said {
    fn read(&mut self, line: &[u8]) {
        if line.is_empty() {
            return;
        }
        match serde_json::from_slice::<JobMessage>(line) {
            Ok(JobMessage::Line { line }) => self.last_line = Some(line),
            Ok(JobMessage::Verbose { text }) => {
                if self.verbose.len() < VERBOSE_LIMIT {
                    self.verbose.push(text)
                }
            }
            Ok(JobMessage::Packet {
                direction,
                unix_nanos,
                hex,
            }) => match hex_decode(&hex) {
                Some(bytes) => self.packets.add(direction, unix_nanos, bytes),
                None => {
                    self.protocol_error
                        .get_or_insert_with(|| "a packet that is not hex".into());
                }
            },
            Ok(JobMessage::PacketsDropped { packets, bytes }) => {
                self.packets.dropped_packets += packets;
                self.packets.dropped_bytes += bytes;
            }
            Ok(JobMessage::SandboxFailed { message }) => self.sandbox_failed = Some(message),
            Ok(JobMessage::LimitReached { limit }) => {
                if !self.limits_reached.contains(&limit) {
                    self.limits_reached.push(limit);
                }
            }
            Ok(JobMessage::Finished { outcome }) => self.outcome = Some(outcome),
            Err(e) => {
                self.protocol_error.get_or_insert_with(|| {
                    format!(
                        "unreadable result line ({e}): {}",
                        String::from_utf8_lossy(&line[..line.len().min(200)])
                    )
                });
            }
        }
    }
}

/// What the job printed (stdout and stderr), up to [`LOG_LIMIT`].
#[derive(Debug, Default)]
pub struct Output {
    kept: Vec<u8>,
    truncated: bool,
}

impl Output {
    pub fn feed(&mut self, bytes: &[u8]) {
        let room = LOG_LIMIT.saturating_sub(self.kept.len());
        if bytes.len() > room {
            self.truncated = true;
        }
        self.kept.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    /// The log of the attempt: the output, a note if it was cut, then the `-v`
    /// lines.
    pub fn into_log(self, verbose: &[String]) -> String {
        let mut log = String::from_utf8_lossy(&self.kept).into_owned();
        if self.truncated {
            log.push_str("\n[netdrill: output truncated at 1 MiB]\n");
        }
        if !verbose.is_empty() {
            if !log.is_empty() && !log.ends_with('\n') {
                log.push('\n');
            }
            for v in verbose {
                log.push_str(v);
                log.push('\n');
            }
        }
        log
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::hex_encode;
    use netdrill_engine::outcome::PacketDirection;

    #[test]
    fn lines_come_out_whole_however_the_bytes_are_cut() {
        let mut b = LineBuffer::default();
        b.push(b"ab");
        assert_eq!(b.next_line(), None);
        b.push(b"c\nde\n\nf");
        assert_eq!(b.next_line(), Some(&b"abc"[..]));
        assert_eq!(b.next_line(), Some(&b"de"[..]));
        assert_eq!(b.next_line(), Some(&b""[..]));
        assert_eq!(b.next_line(), None);
        assert_eq!(b.pending(), 1);
        b.push(b"g\nh");
        assert_eq!(b.next_line(), Some(&b"fg"[..]));
        assert_eq!(b.take_rest(), b"h");
        assert_eq!(b.pending(), 0);
        assert_eq!(b.next_line(), None);
    }

    #[test]
    fn the_buffer_stays_small_while_lines_stream_through() {
        let mut b = LineBuffer::default();
        let mut taken = 0;
        for _ in 0..10_000 {
            b.push(b"0123456789\n0123");
            while b.next_line().is_some() {
                taken += 1;
            }
            b.push(b"456789\n");
            while b.next_line().is_some() {
                taken += 1;
            }
            assert!(b.buf.len() <= 64, "{}", b.buf.len());
        }
        assert_eq!(taken, 20_000);
    }

    #[test]
    fn messages_fold_into_what_the_attempt_needs() {
        let mut m = Messages::default();
        let packet = JobMessage::Packet {
            direction: PacketDirection::Sniffed,
            unix_nanos: 7,
            hex: hex_encode(&[0x45, 0]),
        };
        let mut bytes = serde_json::to_vec(&packet).unwrap();
        bytes.extend_from_slice(
            b"\n{\"event\":\"line\",\"line\":3}\n{\"event\":\"verbose\",\"text\":\"v\"}\n",
        );
        // Cut anywhere, even inside a message.
        let (a, b) = bytes.split_at(5);
        m.feed(a);
        m.feed(b);
        m.feed(b"{\"event\":\"line\",\"line\":4}");
        assert_eq!(m.said.last_line, Some(3));
        m.end();
        assert_eq!(m.said.last_line, Some(4));
        assert_eq!(m.said.verbose, vec!["v".to_string()]);
        assert_eq!(
            m.said.packets.kept,
            vec![(PacketDirection::Sniffed, 7, vec![0x45, 0])]
        );
        assert_eq!(m.said.protocol_error, None);
        m.feed(b"not json\n{\"event\":\"line\",\"line\":5}\n");
        assert!(m
            .said
            .protocol_error
            .as_deref()
            .unwrap()
            .starts_with("unreadable result line"));
        assert_eq!(m.said.last_line, Some(5));
    }

    #[test]
    fn output_is_kept_to_its_limit() {
        let mut o = Output::default();
        o.feed(&vec![b'a'; LOG_LIMIT - 1]);
        o.feed(b"bc");
        let log = o.into_log(&["verbose".into()]);
        assert!(log.ends_with("ab\n[netdrill: output truncated at 1 MiB]\nverbose\n"));
        assert_eq!(Output::default().into_log(&[]), "");
    }

    #[test]
    fn reads_stop_at_the_budget() {
        let (r, mut w) = std::os::unix::net::UnixStream::pair().unwrap();
        r.set_nonblocking(true).unwrap();
        let mut r = File::from(std::os::fd::OwnedFd::from(r));
        use std::io::Write;
        w.write_all(&[1u8; 3000]).unwrap();
        let mut got = 0;
        assert_eq!(read_some(&mut r, 1000, |b| got += b.len()), PipeState::Open);
        assert_eq!(got, 1000);
        assert_eq!(
            read_some(&mut r, 10_000, |b| got += b.len()),
            PipeState::Open
        );
        assert_eq!(got, 3000);
        drop(w);
        assert_eq!(read_some(&mut r, 10_000, |_| ()), PipeState::Closed);
    }
}
