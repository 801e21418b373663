//! The wire layer: checked views over packet bytes and validated high-level
//! representations (smoltcp `wire` style) for IPv4, IPv6, TCP and its
//! options, UDP, ICMP and ICMPv6 ([`icmp`], with [`icmpv4`] and [`icmpv6`]
//! beside it), GRE and MPLS; [`ip_packet::IpPacket`], an owned packet with
//! its header layout; flow identity ([`flow`]: endpoints, tuples and what
//! socket tracking reads off a packet); parsing what tun0 sends
//! ([`sniffed`]); packets printed as packetdrill prints them ([`dump`]).
//! Every header view is a [`view::View`]: its accessors never panic, whatever
//! the buffer.
//!
//! Pure wire: this layer imports nothing from the engine but `outcome`. It
//! does not know scripts (building packets from the AST is `plan`'s job) nor
//! what a live packet is checked against (that is `run::verify`).

pub mod checksum;
pub mod dump;
mod field;
pub mod flow;
pub mod gre;
pub mod icmp;
pub mod icmpv4;
pub mod icmpv6;
pub mod ip_packet;
pub mod ipv4;
pub mod ipv6;
pub mod mpls;
pub mod ports;
pub mod sniffed;
pub mod tcp;
pub mod tcp_option;
pub mod udp;
pub mod view;

/// A malformed packet or a field that cannot be read, in packetdrill's words
/// where it has some ("TCP data offset too big", "unexpected TCP option kind: 30").
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Error(pub String);

impl Error {
    pub fn new(msg: impl Into<String>) -> Self {
        Error(msg.into())
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// IP protocol numbers.
pub mod proto {
    pub const HOPOPT: u8 = 0;
    pub const ICMP: u8 = 1;
    pub const IPIP: u8 = 4;
    pub const TCP: u8 = 6;
    pub const UDP: u8 = 17;
    pub const IPV6: u8 = 41;
    pub const GRE: u8 = 47;
    pub const ICMPV6: u8 = 58;
}

/// EtherTypes (GRE payload types).
pub mod ethertype {
    pub const IPV4: u16 = 0x0800;
    pub const IPV6: u16 = 0x86dd;
    pub const MPLS_UNICAST: u16 = 0x8847;
    pub const MPLS_MULTICAST: u16 = 0x8848;
}
