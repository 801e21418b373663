//! What the runtime knows about the script's file descriptors and sockets
//! (packetdrill's `fd_state` list and `struct socket`; docs/engine/syscalls.md,
//! "File descriptors", and docs/engine/packets.md, "Socket tracking").
//!
//! Script fd numbers are labels: each maps to the live fd the kernel gave.
//! Sockets are also tracked for packet mapping: the "socket under test" is the
//! one the next script packet belongs to.

use super::ports::PortError;
use crate::packet::flow::Endpoint;
use std::collections::HashMap;
use std::os::fd::RawFd;

/// A script fd or socket the run cannot account for. `Display` is
/// packetdrill's text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TrackingError {
    #[error("unable to find fd with script fd {0}")]
    UnknownFd(i32),
    #[error("unable to find socket with script fd {0}")]
    UnknownSocket(i32),
    #[error("invalid fd {0} in script")]
    InvalidFd(i32),
    #[error("invalid socket fd {0} in script")]
    InvalidSocketFd(i32),
    #[error("invalid live socket fd {0}")]
    InvalidLiveSocketFd(RawFd),
    #[error("duplicate fd {0} in script")]
    DuplicateFd(i32),
    #[error("duplicate live fd {0}")]
    DuplicateLiveFd(RawFd),
    #[error("unable to find socket matching accept() call")]
    NothingToAccept,
    #[error(
        "accept() returned a connection from {:?}:{} but the script's connection is from {:?}:{}",
        peer.ip, peer.port, expected.ip, expected.port
    )]
    AcceptedOtherPeer { peer: Endpoint, expected: Endpoint },
    #[error("socket is not new")]
    SocketNotNew,
    #[error("no matching socket for script packet")]
    NoSocketForPacket,
    /// No live port for a passive child.
    #[error(transparent)]
    Ports(#[from] PortError),
}

/// Index of a socket in [`RunState::sockets`].
pub type SocketId = usize;

/// The connection-tracking state of a socket (packetdrill's `socket_state_t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketPhase {
    /// After `socket()`.
    New,
    /// After `listen()`.
    Listening,
    /// A passive child created by an inbound packet.
    PassivePacketReceived,
    PassiveSynAckSent,
    PassiveSynAckAcked,
    /// After `connect()` (or a connecting `sendto`/`sendmsg`).
    ActiveConnecting,
    ActiveSynSent,
    ActiveSynAcked,
}

/// One side's view of a connection: the script's or the live one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConnectionView {
    pub local: Endpoint,
    pub local_isn: u32,
    pub remote: Endpoint,
    pub remote_isn: u32,
}

/// The first TCP timestamp seen on a socket: the baseline that maps live TS
/// values to script space (docs/engine/packets.md, "TCP timestamps").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TsBaseline {
    pub script_val: u32,
    pub live_val: u32,
    pub script_ecr: u32,
    pub live_ecr: u32,
}

/// The fields of a TCP header remembered for the end-of-test RST
/// (docs/engine/packets.md, "End-of-run resets").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpMemo {
    pub seq: u32,
    pub ack: u32,
    pub window: u16,
    pub syn: bool,
    pub fin: bool,
    pub ack_flag: bool,
    pub payload_len: u32,
}

/// A socket the runtime tracks.
#[derive(Clone, Debug)]
pub struct TrackedSocket {
    pub phase: SocketPhase,
    /// `AF_INET` / `AF_INET6` (of the socket, or of the packet that created a child).
    pub family: i32,
    /// `SOCK_STREAM`, `SOCK_DGRAM`, ... (0 when unknown, e.g. a passive child).
    pub ty: i32,
    /// `IPPROTO_TCP`, `IPPROTO_UDP`, ...
    pub protocol: i32,
    /// The script's canned values (ports and ISNs as written).
    pub script: ConnectionView,
    /// The live values.
    pub live: ConnectionView,
    /// `None` for a passive child not yet returned by `accept()`.
    pub script_fd: Option<i32>,
    pub live_fd: Option<RawFd>,
    pub closed: bool,
    /// Outbound TS val in script space -> live value, for mapping inbound ecr.
    pub ts_val_map: HashMap<u32, u32>,
    pub ts_baseline: Option<TsBaseline>,
    pub last_outbound_tcp: Option<TcpMemo>,
    pub last_injected_tcp: Option<TcpMemo>,
    /// IPv6 flow label: (script value, live value) of the first non-zero script label.
    pub flowlabel_map: Option<(u32, u32)>,
}

impl TrackedSocket {
    pub fn new(phase: SocketPhase) -> Self {
        TrackedSocket {
            phase,
            family: 0,
            ty: 0,
            protocol: 0,
            script: ConnectionView::default(),
            live: ConnectionView::default(),
            script_fd: None,
            live_fd: None,
            closed: false,
            ts_val_map: HashMap::new(),
            ts_baseline: None,
            last_outbound_tcp: None,
            last_injected_tcp: None,
            flowlabel_map: None,
        }
    }

    /// Offset added to a local (kernel-side) sequence number to go from script to live space.
    pub fn local_seq_script_to_live(&self, is_syn: bool) -> u32 {
        if is_syn {
            self.live.local_isn.wrapping_sub(self.script.local_isn)
        } else {
            self.live.local_isn
        }
    }

    /// Offset added to a remote (script-side) sequence number to go from script to live space.
    pub fn remote_seq_script_to_live(&self, is_syn: bool) -> u32 {
        if is_syn {
            0
        } else {
            self.live.remote_isn
        }
    }
}

/// What kind of object a script fd stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FdKind {
    Socket(SocketId),
    File,
    Pipe,
    Epoll,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FdEntry {
    pub script_fd: i32,
    pub live_fd: RawFd,
    pub kind: FdKind,
    pub closed: bool,
}

/// All fds and sockets of a run.
#[derive(Debug, Default)]
pub struct RunState {
    /// Newest first, as packetdrill keeps its list.
    pub fds: Vec<FdEntry>,
    pub sockets: Vec<TrackedSocket>,
    pub socket_under_test: Option<SocketId>,
    /// Wall-clock (CLOCK_REALTIME) microseconds at script time 0, set by the
    /// run loop; kernel timestamps (SCM_TIMESTAMPING) are checked against it.
    pub live_start_realtime_usecs: Option<i64>,
    /// Send buffers the kernel may still read (zero-copy): alive and
    /// unchanged until the run state is dropped at the end of the run
    /// (docs/engine/syscalls.md, "Send buffers the kernel keeps reading").
    pub kept_buffers: Vec<Box<dyn std::any::Any + Send>>,
}

impl RunState {
    /// The open entry for a script fd.
    pub fn find_script_fd(&self, script_fd: i32) -> Option<&FdEntry> {
        self.fds
            .iter()
            .find(|f| !f.closed && f.script_fd == script_fd)
    }

    /// Script fd -> live fd, with packetdrill's error text.
    pub fn live_fd(&self, script_fd: i32) -> Result<RawFd, TrackingError> {
        self.find_script_fd(script_fd)
            .map(|f| f.live_fd)
            .ok_or(TrackingError::UnknownFd(script_fd))
    }

    fn check_duplicate(&self, script_fd: i32, live_fd: RawFd) -> Result<(), TrackingError> {
        if self.find_script_fd(script_fd).is_some() {
            return Err(TrackingError::DuplicateFd(script_fd));
        }
        if self.fds.iter().any(|f| !f.closed && f.live_fd == live_fd) {
            return Err(TrackingError::DuplicateLiveFd(live_fd));
        }
        Ok(())
    }

    /// Record a new fd that is not a socket (`open`, `pipe`, `epoll_create`).
    pub fn add_fd(
        &mut self,
        script_fd: i32,
        live_fd: RawFd,
        kind: FdKind,
    ) -> Result<(), TrackingError> {
        if script_fd < 0 {
            return Err(TrackingError::InvalidFd(script_fd));
        }
        self.check_duplicate(script_fd, live_fd)?;
        self.fds.insert(
            0,
            FdEntry {
                script_fd,
                live_fd,
                kind,
                closed: false,
            },
        );
        Ok(())
    }

    /// `socket()` returned `live_fd` for `script_fd`: track it and make it the socket under test.
    pub fn add_socket(
        &mut self,
        script_fd: i32,
        live_fd: RawFd,
        family: i32,
        ty: i32,
        protocol: i32,
    ) -> Result<SocketId, TrackingError> {
        if script_fd < 0 {
            return Err(TrackingError::InvalidSocketFd(script_fd));
        }
        if live_fd < 0 {
            return Err(TrackingError::InvalidLiveSocketFd(live_fd));
        }
        self.check_duplicate(script_fd, live_fd)?;
        let mut s = TrackedSocket::new(SocketPhase::New);
        s.family = family;
        s.ty = ty;
        s.protocol = protocol;
        s.script_fd = Some(script_fd);
        s.live_fd = Some(live_fd);
        let id = self.push_socket(s);
        self.fds.insert(
            0,
            FdEntry {
                script_fd,
                live_fd,
                kind: FdKind::Socket(id),
                closed: false,
            },
        );
        self.socket_under_test = Some(id);
        Ok(id)
    }

    /// Track a socket that has no fd yet (a passive child, or a socket the
    /// script only knows from packets). It becomes the socket under test.
    pub fn push_socket(&mut self, socket: TrackedSocket) -> SocketId {
        self.sockets.push(socket);
        let id = self.sockets.len() - 1;
        self.socket_under_test = Some(id);
        id
    }

    /// The tracked socket behind a script fd, if that fd is a socket.
    pub fn socket_of_fd(&self, script_fd: i32) -> Option<SocketId> {
        match self.find_script_fd(script_fd)?.kind {
            FdKind::Socket(id) => Some(id),
            _ => None,
        }
    }

    /// `listen()` succeeded.
    pub fn on_listen(&mut self, script_fd: i32) -> Result<(), TrackingError> {
        let id = self
            .socket_of_fd(script_fd)
            .ok_or(TrackingError::UnknownSocket(script_fd))?;
        self.sockets[id].phase = SocketPhase::Listening;
        Ok(())
    }

    /// `accept()` returned `live_fd` with peer `peer`: bind the script fd to the
    /// passive child that completed (or, with TFO, answered) the handshake.
    pub fn on_accept(
        &mut self,
        script_fd: i32,
        live_fd: RawFd,
        peer: Endpoint,
    ) -> Result<SocketId, TrackingError> {
        // Newest first, as packetdrill walks its fd list.
        let found = (0..self.sockets.len()).rev().find(|&id| {
            let s = &self.sockets[id];
            !s.closed
                && s.script_fd.is_none()
                && matches!(
                    s.phase,
                    SocketPhase::PassiveSynAckSent | SocketPhase::PassiveSynAckAcked
                )
        });
        let Some(id) = found else {
            return Err(TrackingError::NothingToAccept);
        };
        let s = &self.sockets[id];
        if s.live.remote.port != peer.port || s.live.remote.ip != peer.ip {
            return Err(TrackingError::AcceptedOtherPeer {
                peer,
                expected: s.live.remote,
            });
        }
        // packetdrill does not check accept()'s fd for duplicates: a script
        // may accept into a number it still holds (lookups find the newest).
        let s = &mut self.sockets[id];
        s.script_fd = Some(script_fd);
        s.live_fd = Some(live_fd);
        self.fds.insert(
            0,
            FdEntry {
                script_fd,
                live_fd,
                kind: FdKind::Socket(id),
                closed: false,
            },
        );
        Ok(id)
    }

    /// A `connect()` (or a connecting `sendto`/`sendmsg`) is about to be made on
    /// `script_fd` to the run's remote address. `af_unspec` disconnects instead.
    /// With `must_be_new`, a socket that is not new is an error ("socket is not new").
    pub fn on_connect(
        &mut self,
        script_fd: i32,
        remote: Endpoint,
        af_unspec: bool,
        must_be_new: bool,
    ) -> Result<(), TrackingError> {
        let id = self
            .socket_of_fd(script_fd)
            .ok_or(TrackingError::UnknownSocket(script_fd))?;
        let s = &mut self.sockets[id];
        if af_unspec {
            s.phase = SocketPhase::New;
            return Ok(());
        }
        if s.phase != SocketPhase::New {
            return if must_be_new {
                Err(TrackingError::SocketNotNew)
            } else {
                Ok(())
            };
        }
        s.phase = SocketPhase::ActiveConnecting;
        s.script.remote = Endpoint::default();
        s.script.local = Endpoint::default();
        s.live.remote = remote;
        Ok(())
    }

    /// `close()` succeeded on `script_fd`.
    pub fn on_close(&mut self, script_fd: i32) -> Result<(), TrackingError> {
        let pos = self
            .fds
            .iter()
            .position(|f| !f.closed && f.script_fd == script_fd)
            .ok_or(TrackingError::UnknownFd(script_fd))?;
        self.fds[pos].closed = true;
        if let FdKind::Socket(id) = self.fds[pos].kind {
            self.sockets[id].closed = true;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fd_labels_map_to_live_fds_and_reject_duplicates() {
        let mut st = RunState::default();
        let id = st
            .add_socket(3, 17, libc::AF_INET, libc::SOCK_STREAM, 6)
            .unwrap();
        assert_eq!(st.socket_under_test, Some(id));
        assert_eq!(st.live_fd(3), Ok(17));
        assert_eq!(
            st.add_socket(3, 18, libc::AF_INET, libc::SOCK_STREAM, 6),
            Err(TrackingError::DuplicateFd(3))
        );
        st.on_close(3).unwrap();
        assert!(st.live_fd(3).is_err());
        // A closed script fd number may be reused.
        st.add_fd(3, 18, FdKind::File).unwrap();
    }

    #[test]
    fn accept_binds_the_passive_child() {
        let mut st = RunState::default();
        st.add_socket(3, 10, libc::AF_INET, libc::SOCK_STREAM, 6)
            .unwrap();
        st.on_listen(3).unwrap();
        let mut child = TrackedSocket::new(SocketPhase::PassiveSynAckAcked);
        let peer = Endpoint {
            ip: Some("192.0.2.1".parse().unwrap()),
            port: 40000,
        };
        child.live.remote = peer;
        let cid = st.push_socket(child);
        assert_eq!(st.on_accept(4, 11, peer), Ok(cid));
        assert_eq!(st.socket_of_fd(4), Some(cid));
        // The child is taken: a second accept finds none.
        assert!(st.on_accept(5, 12, peer).is_err());
        // A script may accept into a number it still holds.
        let mut again = TrackedSocket::new(SocketPhase::PassiveSynAckAcked);
        again.live.remote = peer;
        let second = st.push_socket(again);
        assert_eq!(st.on_accept(4, 13, peer), Ok(second));
        assert_eq!(st.live_fd(4), Ok(13));
    }

    #[test]
    fn seq_offsets_follow_packetdrill() {
        let mut s = TrackedSocket::new(SocketPhase::ActiveSynAcked);
        s.script.local_isn = 0;
        s.live.local_isn = 1000;
        s.live.remote_isn = 5;
        assert_eq!(s.local_seq_script_to_live(true), 1000);
        assert_eq!(s.local_seq_script_to_live(false), 1000);
        s.script.local_isn = 100;
        assert_eq!(s.local_seq_script_to_live(true), 900);
        assert_eq!(s.remote_seq_script_to_live(true), 0);
        assert_eq!(s.remote_seq_script_to_live(false), 5);
    }
}
