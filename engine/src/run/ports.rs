//! Remote ports for connections the script opens from the remote side.
//!
//! An inbound packet that creates a passive child needs a live remote port
//! that the kernel will not hand to one of its own sockets. As packetdrill
//! does, we take one by binding a listening TCP socket to port 0 and keep that
//! socket open for the whole run. One port is taken before the script starts
//! (so the common single-connection case costs nothing at event time); later
//! connections take a fresh one each.

use nix::sys::socket::{
    bind, getsockname, listen, socket, AddressFamily, Backlog, SockFlag, SockType, SockaddrIn,
    SockaddrIn6, SockaddrLike, SockaddrStorage,
};
use std::os::fd::{AsRawFd, OwnedFd};

/// Hands out remote ports for passive children: the pre-allocated one first,
/// then a fresh one each time (packetdrill's `next_ephemeral_port`).
pub trait EphemeralPorts {
    fn next_port(&mut self) -> Result<u16, PortError>;
}

/// A port could not be taken.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    /// A socket call failed: which one, and why.
    #[error("{call}: {errno}")]
    Socket {
        call: &'static str,
        errno: nix::errno::Errno,
    },
    #[error("ephemeral port socket has an unexpected family {0:?}")]
    UnexpectedFamily(Option<AddressFamily>),
}

fn failed(call: &'static str) -> impl Fn(nix::errno::Errno) -> PortError {
    move |errno| PortError::Socket { call, errno }
}

pub struct PortPool {
    ipv6: bool,
    next: Option<u16>,
    /// The sockets that hold the ports, open until the run ends.
    holders: Vec<OwnedFd>,
}

impl PortPool {
    /// Pre-allocate the first port. `ipv6` is the socket family of the run.
    pub fn new(ipv6: bool) -> Result<PortPool, PortError> {
        let mut pool = PortPool {
            ipv6,
            next: None,
            holders: Vec::new(),
        };
        pool.next = Some(pool.take()?);
        Ok(pool)
    }

    fn take(&mut self) -> Result<u16, PortError> {
        let family = if self.ipv6 {
            AddressFamily::Inet6
        } else {
            AddressFamily::Inet
        };
        let fd = socket(family, SockType::Stream, SockFlag::SOCK_CLOEXEC, None)
            .map_err(failed("socket for an ephemeral port"))?;
        let bound = if self.ipv6 {
            bind(
                fd.as_raw_fd(),
                &SockaddrIn6::from(std::net::SocketAddrV6::new(
                    std::net::Ipv6Addr::UNSPECIFIED,
                    0,
                    0,
                    0,
                )),
            )
        } else {
            bind(fd.as_raw_fd(), &SockaddrIn::new(0, 0, 0, 0, 0))
        };
        bound.map_err(failed("bind for an ephemeral port"))?;
        listen(&fd, Backlog::new(1).unwrap_or(Backlog::MAXCONN))
            .map_err(failed("listen for an ephemeral port"))?;
        let addr: SockaddrStorage = getsockname(fd.as_raw_fd()).map_err(failed("getsockname"))?;
        let port = if let Some(a) = addr.as_sockaddr_in() {
            a.port()
        } else if let Some(a) = addr.as_sockaddr_in6() {
            a.port()
        } else {
            return Err(PortError::UnexpectedFamily(addr.family()));
        };
        self.holders.push(fd);
        Ok(port)
    }
}

impl EphemeralPorts for PortPool {
    fn next_port(&mut self) -> Result<u16, PortError> {
        match self.next.take() {
            Some(port) => Ok(port),
            None => self.take(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_distinct_and_held() {
        if !crate::run::testns::enter_private_netns() {
            return;
        }
        let mut pool = PortPool::new(false).unwrap();
        let a = pool.next_port().unwrap();
        let b = pool.next_port().unwrap();
        assert_ne!(a, 0);
        assert_ne!(a, b);
        assert_eq!(pool.holders.len(), 2);
    }
}
