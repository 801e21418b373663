//! The packets the kernel sends out of tun0, with the kernel's timestamps
//! (docs/engine/network.md, "The sniffer"; docs/engine/time-and-tolerance.md,
//! "The clock").
//!
//! Like packetdrill's packet socket: an `AF_PACKET` raw socket bound to one
//! interface, all protocols, a 2 MB receive buffer, timestamps on. Only frames
//! of packet type `PACKET_OUTGOING` on that interface are returned; a small
//! classic-BPF filter drops everything else in the kernel already (injected
//! packets show up on tun0 as `PACKET_HOST`), and the same checks are made
//! again on each frame read.
//!
//! A frame's time is its kernel timestamp (`SO_TIMESTAMPNS`, realtime: taken
//! when the packet passed tun0's transmit tap), not when we read it — what
//! packetdrill gets from `SIOCGSTAMP`. Open the sniffer before injecting
//! anything, or the kernel's answers to the first injections are missed.

use super::clock;
use super::netlink::io_text;
use nix::poll::{ppoll, PollFd, PollFlags};
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, SockaddrStorage};
use nix::sys::time::TimeSpec;
use std::io::{self, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// packetdrill's receive buffer for the sniffing socket.
const RECEIVE_BUFFER_BYTES: libc::c_int = 2 * 1024 * 1024;

/// Large enough for any GSO super-packet tun0 hands over (at most 64 KB of IP).
const FRAME_BUFFER_BYTES: usize = 128 * 1024;

/// One packet the kernel sent out of the interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SniffedFrame {
    /// The IP packet (tun0 has no link-layer header).
    pub bytes: Vec<u8>,
    /// Kernel transmit timestamp, realtime microseconds since the Unix epoch.
    pub unix_usecs: i64,
}

/// A sniffing socket on one interface.
pub struct Sniffer {
    fd: OwnedFd,
    ifindex: u32,
    buffer: Vec<u8>,
    control: Vec<u8>,
}

/// The packet socket failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SnifferError {
    /// A call on the socket failed: which one, and the system's text.
    #[error("{call}: {cause}")]
    Socket { call: &'static str, cause: String },
    #[error("sniffed packet of {len} bytes exceeds the {buffer}-byte buffer")]
    FrameTooLong { len: usize, buffer: usize },
}

fn last_error(call: &'static str) -> SnifferError {
    SnifferError::Socket {
        call,
        cause: io_text(&io::Error::last_os_error()),
    }
}

fn set_int_option(fd: RawFd, level: libc::c_int, name: libc::c_int, value: libc::c_int) -> bool {
    // SAFETY: `value` is a live c_int and its size is passed along.
    unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        ) == 0
    }
}

/// The classic-BPF program: accept whole frames whose packet type is
/// `PACKET_OUTGOING`, drop the rest.
fn outgoing_only_filter() -> [libc::sock_filter; 4] {
    let pkttype = (libc::SKF_AD_OFF + libc::SKF_AD_PKTTYPE) as u32;
    let stmt = |code: u32, k: u32| libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    };
    [
        // ld [pkttype]
        stmt(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, pkttype),
        // jeq #PACKET_OUTGOING, next, skip one
        libc::sock_filter {
            code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
            jt: 0,
            jf: 1,
            k: u32::from(libc::PACKET_OUTGOING),
        },
        // ret #all
        stmt(libc::BPF_RET | libc::BPF_K, u32::MAX),
        // ret #0
        stmt(libc::BPF_RET | libc::BPF_K, 0),
    ]
}

impl Sniffer {
    /// Open a sniffer on the interface with index `ifindex` (in the calling
    /// thread's network namespace).
    pub fn open(ifindex: u32) -> Result<Sniffer, SnifferError> {
        // Protocol 0: the socket receives nothing until it is bound, so frames of
        // other interfaces never reach its queue.
        // SAFETY: plain socket(2) call; the result is checked.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            return Err(last_error("socket(PF_PACKET, SOCK_RAW, htons(ETH_P_ALL))"));
        }
        // SAFETY: `raw` is a freshly created descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };

        let filter = outgoing_only_filter();
        let program = libc::sock_fprog {
            len: filter.len() as libc::c_ushort,
            filter: filter.as_ptr() as *mut libc::sock_filter,
        };
        // SAFETY: `program` points at `filter`, which outlives the call; the kernel
        // copies the program.
        let r = unsafe {
            libc::setsockopt(
                raw,
                libc::SOL_SOCKET,
                libc::SO_ATTACH_FILTER,
                (&program as *const libc::sock_fprog).cast(),
                std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
            )
        };
        if r != 0 {
            return Err(last_error("setsockopt SOL_SOCKET, SO_ATTACH_FILTER"));
        }

        // packetdrill asks for 2 MB with SO_RCVBUF (capped by net.core.rmem_max,
        // which a namespace cannot raise). GSO super-packets are up to 64 KB each,
        // so take the full 2 MB where we may (root) and fall back to the cap.
        if !set_int_option(
            raw,
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            RECEIVE_BUFFER_BYTES,
        ) && !set_int_option(raw, libc::SOL_SOCKET, libc::SO_RCVBUF, RECEIVE_BUFFER_BYTES)
        {
            return Err(last_error("setsockopt SOL_SOCKET SO_RCVBUF"));
        }

        // Turn timestamps on now: the first enabling in the system is deferred to a
        // workqueue, so doing it before the test starts keeps that off the clock.
        if !set_int_option(raw, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, 1) {
            return Err(last_error("setsockopt SOL_SOCKET SO_TIMESTAMPNS"));
        }

        // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as libc::c_ushort;
        sll.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
        sll.sll_ifindex = ifindex as libc::c_int;
        // SAFETY: `sll` is a valid sockaddr_ll and its size is passed along.
        let r = unsafe {
            libc::bind(
                raw,
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if r != 0 {
            return Err(last_error("bind packet socket"));
        }

        Ok(Sniffer {
            fd,
            ifindex,
            buffer: vec![0; FRAME_BUFFER_BYTES],
            control: nix::cmsg_space!(libc::timespec, libc::timespec),
        })
    }

    /// The interface this sniffer listens on.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// The next outgoing frame, waiting until `deadline_unix_usecs` (realtime µs;
    /// `None`: forever). `Ok(None)` when the deadline passes with nothing sent.
    /// Frames already queued are returned even if the deadline is past.
    pub fn next(
        &mut self,
        deadline_unix_usecs: Option<i64>,
    ) -> Result<Option<SniffedFrame>, SnifferError> {
        self.next_or_woken(deadline_unix_usecs, None)
    }

    /// As [`Sniffer::next`], but also `Ok(None)` as soon as `wake` (e.g. a
    /// blocking call's eventfd) is readable.
    pub fn next_or_woken(
        &mut self,
        deadline_unix_usecs: Option<i64>,
        wake: Option<BorrowedFd<'_>>,
    ) -> Result<Option<SniffedFrame>, SnifferError> {
        loop {
            if let Some(frame) = self.try_next()? {
                return Ok(Some(frame));
            }
            let timeout = match deadline_unix_usecs {
                None => None,
                Some(deadline) => {
                    let left = deadline - clock::now_usecs();
                    if left <= 0 {
                        return Ok(None);
                    }
                    Some(TimeSpec::new(left / 1_000_000, (left % 1_000_000) * 1000))
                }
            };
            // The second slot is polled only with a wake fd (no allocation
            // per wait).
            let mut fds = [
                PollFd::new(self.fd.as_fd(), PollFlags::POLLIN),
                PollFd::new(wake.unwrap_or(self.fd.as_fd()), PollFlags::POLLIN),
            ];
            let polled = if wake.is_some() { 2 } else { 1 };
            match ppoll(&mut fds[..polled], timeout, None) {
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(e) => {
                    return Err(SnifferError::Socket {
                        call: "poll on the packet socket",
                        cause: e.desc().to_string(),
                    })
                }
            }
            let woken = wake.is_some() && fds[1].revents().is_some_and(|r| !r.is_empty());
            if woken {
                return self.try_next();
            }
        }
    }

    /// One queued outgoing frame, if any (without waiting).
    fn try_next(&mut self) -> Result<Option<SniffedFrame>, SnifferError> {
        loop {
            let Some((len, pkttype, ifindex, stamp)) = self.receive()? else {
                return Ok(None);
            };
            // The BPF filter already keeps only outgoing frames of this interface;
            // check again as packetdrill does.
            if pkttype != libc::PACKET_OUTGOING || ifindex != self.ifindex as usize {
                continue;
            }
            if len > self.buffer.len() {
                return Err(SnifferError::FrameTooLong {
                    len,
                    buffer: self.buffer.len(),
                });
            }
            return Ok(Some(SniffedFrame {
                bytes: self.buffer[..len].to_vec(),
                unix_usecs: stamp.unwrap_or_else(clock::now_usecs),
            }));
        }
    }

    /// recvmsg one frame without waiting: (full length, packet type, ifindex,
    /// kernel timestamp in realtime µs).
    #[allow(clippy::type_complexity)]
    fn receive(&mut self) -> Result<Option<(usize, u8, usize, Option<i64>)>, SnifferError> {
        loop {
            let mut iov = [IoSliceMut::new(&mut self.buffer)];
            let flags = MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_TRUNC;
            let msg = match recvmsg::<SockaddrStorage>(
                self.fd.as_raw_fd(),
                &mut iov,
                Some(&mut self.control),
                flags,
            ) {
                Ok(msg) => msg,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(nix::errno::Errno::EAGAIN) => return Ok(None),
                Err(e) => {
                    return Err(SnifferError::Socket {
                        call: "packet socket recvfrom()",
                        cause: e.desc().to_string(),
                    })
                }
            };
            let (pkttype, ifindex) = match msg.address.as_ref().and_then(|a| a.as_link_addr()) {
                Some(ll) => (ll.pkttype(), ll.ifindex()),
                None => continue,
            };
            let mut stamp = None;
            if let Ok(cmsgs) = msg.cmsgs() {
                for cmsg in cmsgs {
                    if let ControlMessageOwned::ScmTimestampns(ts) = cmsg {
                        stamp = Some(ts.tv_sec() * 1_000_000 + ts.tv_nsec() / 1000);
                    }
                }
            }
            return Ok(Some((msg.bytes, pkttype, ifindex, stamp)));
        }
    }
}

impl AsRawFd for Sniffer {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_program_accepts_outgoing_only() {
        let f = outgoing_only_filter();
        assert_eq!(f[0].k as i32, libc::SKF_AD_OFF + libc::SKF_AD_PKTTYPE);
        assert_eq!(f[1].k, u32::from(libc::PACKET_OUTGOING));
        // Equal: fall through to "accept all"; else jump over it to "drop".
        assert_eq!((f[1].jt, f[1].jf), (0, 1));
        assert_eq!(f[2].k, u32::MAX);
        assert_eq!(f[3].k, 0);
    }
}
