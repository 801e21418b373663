//! Flow identity: the ends of a packet (address and port), its 4-tuple, and
//! the few facts about its transport that decide which socket it belongs to.
//!
//! These are plain values read off a packet (script or live); deciding what
//! they mean for the run's sockets is the runtime's business.

use std::net::IpAddr;

/// An IP address and port (port in host order; 0 and `None` mean unknown).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Endpoint {
    pub ip: Option<IpAddr>,
    pub port: u16,
}

/// The addresses and ports of a packet (ports 0 for ICMP).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tuple {
    pub src: Endpoint,
    pub dst: Endpoint,
}

impl Tuple {
    pub fn reversed(self) -> Tuple {
        Tuple {
            src: self.dst,
            dst: self.src,
        }
    }
}

/// The transport of a packet, with what socket tracking needs to know of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Tcp {
        syn: bool,
        ack: bool,
        seq: u32,
    },
    Udp,
    /// ICMP or ICMPv6; `echoed` is the protocol of the echoed header, if any.
    Icmp {
        v6: bool,
        echoed: Option<i32>,
    },
}

/// What socket tracking needs from a packet (script or live).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketFacts {
    /// `AF_INET` or `AF_INET6`: the family of the (innermost) IP header.
    pub family: i32,
    pub transport: Transport,
    pub tuple: Tuple,
}

impl PacketFacts {
    pub fn is_icmp(&self) -> bool {
        matches!(self.transport, Transport::Icmp { .. })
    }
}
