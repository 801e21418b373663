//! Links, addresses and routes through rtnetlink (docs/engine/network.md,
//! "Addresses and routes").
//!
//! packetdrill shells out to `ip addr add`, `ip route del/add` and `ifconfig`; we
//! send the same requests as rtnetlink messages over one plain, blocking
//! `NETLINK_ROUTE` socket (message types from `netlink-packet-route`, the socket
//! from `netlink-sys`, no async runtime). A netlink socket acts on the network
//! namespace of the thread that opened it, so open it inside the run's namespace.
//!
//! Every request asks for an acknowledgement and waits for it, so an error comes
//! back where it was caused, worded like `ip` would word it:
//! `netlink: adding address 192.168.0.1/16 to tun0: File exists`. When the
//! kernel adds an extended-ack text it follows in parentheses.

use netlink_packet_core::{
    NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload, NlasIterator, NLMSG_DONE,
    NLMSG_ERROR, NLM_F_ACK, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL,
    NLM_F_MULTIPART, NLM_F_REPLACE, NLM_F_REQUEST,
};
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressScope,
};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::tc::{TcAttribute, TcHandle, TcMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use std::fmt;
use std::io;
use std::net::IpAddr;
use std::os::fd::AsRawFd;

/// `NLMSGERR_ATTR_MSG` in an extended acknowledgement: the kernel's text.
const NLMSGERR_ATTR_MSG: u16 = 1;

/// How long to wait for the kernel's answer to a request.
const REPLY_TIMEOUT_SECS: libc::time_t = 5;

/// Size of the receive buffer: the kernel's dump messages stay well below it.
const RECV_BUFFER_BYTES: usize = 64 * 1024;

/// A network interface: its index, and its name for messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link<'a> {
    pub index: u32,
    pub name: &'a str,
}

/// An address configured on an interface, as listed by [`Netlink::addresses`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InterfaceAddress {
    /// Interface index.
    pub index: u32,
    pub address: IpAddr,
    pub prefix_len: u8,
}

/// A route request: `prefix/prefix_len [via gateway] dev link`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route<'a> {
    pub prefix: IpAddr,
    pub prefix_len: u8,
    /// `None`: the prefix is on-link (packetdrill's `--is_anyip`).
    pub gateway: Option<IpAddr>,
    pub link: Link<'a>,
}

impl fmt::Display for Route<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.prefix, self.prefix_len)?;
        if let Some(gw) = self.gateway {
            write!(f, " via {gw}")?;
        }
        write!(f, " dev {}", self.link.name)
    }
}

/// The text of an errno, without Rust's ` (os error N)` suffix.
pub(crate) fn errno_text(errno: i32) -> &'static str {
    nix::errno::Errno::from_raw(errno).desc()
}

/// The text of an I/O error, like `strerror`.
pub(crate) fn io_text(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(errno) => errno_text(errno).to_string(),
        None => e.to_string(),
    }
}

fn family_of(ip: IpAddr) -> AddressFamily {
    match ip {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    }
}

/// A netlink request that failed: what was being done, worded like `ip`,
/// and why (`netlink: adding address 192.168.0.1/16 to tun0: File exists`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("netlink: {action}: {cause}")]
pub struct NetlinkError {
    pub action: String,
    pub cause: NetlinkCause,
}

/// An error reads as its text (so it compares with what `ip` would print).
impl PartialEq<&str> for NetlinkError {
    fn eq(&self, text: &&str) -> bool {
        self.to_string().as_str() == *text
    }
}

/// Why a netlink request failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NetlinkCause {
    /// The kernel refused the request: its errno, and its extended-ack text.
    #[error(
        "{}{}",
        errno_text(*errno),
        extack.as_deref().map(|t| format!(" ({t})")).unwrap_or_default()
    )]
    Refused { errno: i32, extack: Option<String> },
    /// The socket itself failed, with the system's text.
    #[error("{0}")]
    Socket(String),
    #[error("no answer from the kernel within {REPLY_TIMEOUT_SECS} s")]
    NoAnswer,
    #[error("a reply of {len} bytes exceeds the {capacity} byte buffer")]
    ReplyTooLong { len: usize, capacity: usize },
    #[error("short send ({sent} of {len} bytes)")]
    ShortSend { sent: usize, len: usize },
    #[error("truncated netlink acknowledgement")]
    TruncatedAck,
    #[error("malformed netlink reply: {0}")]
    Malformed(String),
    /// A route lookup's reply that cannot be read.
    #[error("malformed reply: {0}")]
    MalformedRoute(String),
    #[error("no route in the reply")]
    NoRoute,
}

fn failed(action: impl Into<String>) -> impl FnOnce(NetlinkCause) -> NetlinkError {
    let action = action.into();
    move |cause| NetlinkError { action, cause }
}

/// A blocking rtnetlink connection to the kernel of the current network namespace.
pub struct Netlink {
    socket: Socket,
    sequence: u32,
    buffer: Vec<u8>,
}

impl Netlink {
    /// Open a `NETLINK_ROUTE` socket in the calling thread's network namespace.
    pub fn open() -> Result<Netlink, NetlinkError> {
        let fail = |what: &str, e: io::Error| NetlinkError {
            action: what.to_string(),
            cause: NetlinkCause::Socket(io_text(&e)),
        };
        let mut socket =
            Socket::new(NETLINK_ROUTE).map_err(|e| fail("opening a NETLINK_ROUTE socket", e))?;
        socket
            .bind_auto()
            .map_err(|e| fail("binding the netlink socket", e))?;
        socket
            .connect(&SocketAddr::new(0, 0))
            .map_err(|e| fail("connecting the netlink socket to the kernel", e))?;
        // Both only improve error reports; kernels without them still work.
        let _ = socket.set_ext_ack(true);
        let _ = socket.set_cap_ack(true);
        // The kernel answers at once; a missing answer is an error, not a hang.
        let timeout = libc::timeval {
            tv_sec: REPLY_TIMEOUT_SECS,
            tv_usec: 0,
        };
        // SAFETY: `timeout` is a valid timeval and its size is passed along.
        let r = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&timeout as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            )
        };
        if r != 0 {
            return Err(fail(
                "setting a receive timeout on the netlink socket",
                io::Error::last_os_error(),
            ));
        }
        Ok(Netlink {
            socket,
            sequence: 0,
            buffer: Vec::with_capacity(RECV_BUFFER_BYTES),
        })
    }

    /// Set the link up (`ip link set dev NAME up`), and its MTU when `mtu` is given.
    pub fn set_link_up(&mut self, link: Link<'_>, mtu: Option<u32>) -> Result<(), NetlinkError> {
        let mut msg = LinkMessage::default();
        msg.header.index = link.index;
        msg.header.flags = LinkFlags::Up;
        msg.header.change_mask = LinkFlags::Up;
        if let Some(mtu) = mtu {
            msg.attributes.push(LinkAttribute::Mtu(mtu));
        }
        let what = match mtu {
            Some(mtu) => format!("setting {} up with mtu {mtu}", link.name),
            None => format!("setting {} up", link.name),
        };
        self.request(RouteNetlinkMessage::SetLink(msg), 0)
            .map_err(failed(what))
    }

    /// Put a qdisc of `kind`, with its default settings, at the root of the
    /// link (`tc qdisc replace dev NAME root KIND`). The kernel refuses a kind
    /// it does not have with `ENOENT` (after trying to load its module).
    pub fn replace_root_qdisc(&mut self, link: Link<'_>, kind: &str) -> Result<(), NetlinkError> {
        let mut msg = TcMessage::with_index(i32::try_from(link.index).unwrap_or(i32::MAX));
        msg.header.parent = TcHandle::ROOT;
        msg.attributes.push(TcAttribute::Kind(kind.to_string()));
        self.request(
            RouteNetlinkMessage::NewQueueDiscipline(msg),
            NLM_F_CREATE | NLM_F_REPLACE,
        )
        .map_err(failed(format!(
            "replacing the root qdisc of {} by {kind}",
            link.name
        )))
    }

    /// Set the link's MTU (`ip link set dev NAME mtu N`).
    pub fn set_mtu(&mut self, link: Link<'_>, mtu: u32) -> Result<(), NetlinkError> {
        let mut msg = LinkMessage::default();
        msg.header.index = link.index;
        msg.attributes.push(LinkAttribute::Mtu(mtu));
        self.request(RouteNetlinkMessage::SetLink(msg), 0)
            .map_err(failed(format!("setting mtu {mtu} on {}", link.name)))
    }

    fn address_message(link: Link<'_>, address: IpAddr, prefix_len: u8) -> AddressMessage {
        let mut msg = AddressMessage::default();
        msg.header.family = family_of(address);
        msg.header.prefix_len = prefix_len;
        msg.header.index = link.index;
        msg.header.scope = AddressScope::Universe;
        msg.attributes.push(AddressAttribute::Local(address));
        msg.attributes.push(AddressAttribute::Address(address));
        msg
    }

    /// Add `address/prefix_len` to the link (`ip addr add`). IPv6 addresses are
    /// added with `nodad`, so they are usable at once whatever the device.
    /// Fails with `File exists` when the address is already there.
    pub fn add_address(
        &mut self,
        link: Link<'_>,
        address: IpAddr,
        prefix_len: u8,
    ) -> Result<(), NetlinkError> {
        let mut msg = Self::address_message(link, address, prefix_len);
        if address.is_ipv6() {
            msg.header.flags = AddressHeaderFlags::Nodad;
            msg.attributes
                .push(AddressAttribute::Flags(AddressFlags::Nodad));
        }
        self.request(
            RouteNetlinkMessage::NewAddress(msg),
            NLM_F_CREATE | NLM_F_EXCL,
        )
        .map_err(failed(format!(
            "adding address {address}/{prefix_len} to {}",
            link.name
        )))
    }

    /// Remove `address/prefix_len` from the link (`ip addr del`).
    pub fn delete_address(
        &mut self,
        link: Link<'_>,
        address: IpAddr,
        prefix_len: u8,
    ) -> Result<(), NetlinkError> {
        let msg = Self::address_message(link, address, prefix_len);
        self.request(RouteNetlinkMessage::DelAddress(msg), 0)
            .map_err(failed(format!(
                "removing address {address}/{prefix_len} from {}",
                link.name
            )))
    }

    /// Every IPv4 and IPv6 address of the namespace (`ip addr show`).
    pub fn addresses(&mut self) -> Result<Vec<InterfaceAddress>, NetlinkError> {
        let msg = AddressMessage::default();
        let replies = self
            .dump(RouteNetlinkMessage::GetAddress(msg))
            .map_err(failed("listing addresses"))?;
        let mut out = Vec::new();
        for reply in replies {
            let RouteNetlinkMessage::NewAddress(a) = reply else {
                continue;
            };
            // IFA_LOCAL is the interface's own address (IFA_ADDRESS is the peer on
            // point-to-point IPv4 links); IPv6 only sends IFA_ADDRESS.
            let local = a.attributes.iter().find_map(|attr| match attr {
                AddressAttribute::Local(ip) => Some(*ip),
                _ => None,
            });
            let address = local.or_else(|| {
                a.attributes.iter().find_map(|attr| match attr {
                    AddressAttribute::Address(ip) => Some(*ip),
                    _ => None,
                })
            });
            if let Some(address) = address {
                out.push(InterfaceAddress {
                    index: a.header.index,
                    address,
                    prefix_len: a.header.prefix_len,
                });
            }
        }
        Ok(out)
    }

    fn route_message(route: &Route<'_>) -> RouteMessage {
        let mut msg = RouteMessage::default();
        msg.header.address_family = family_of(route.prefix);
        msg.header.destination_prefix_length = route.prefix_len;
        msg.header.table = RouteHeader::RT_TABLE_MAIN;
        msg.header.protocol = RouteProtocol::Boot;
        msg.header.kind = RouteType::Unicast;
        // As `ip route add` does: a route without gateway is on-link.
        msg.header.scope = if route.gateway.is_none() && route.prefix.is_ipv4() {
            RouteScope::Link
        } else {
            RouteScope::Universe
        };
        if route.prefix_len > 0 {
            msg.attributes
                .push(RouteAttribute::Destination(RouteAddress::from(
                    route.prefix,
                )));
        }
        if let Some(gw) = route.gateway {
            msg.attributes
                .push(RouteAttribute::Gateway(RouteAddress::from(gw)));
        }
        msg.attributes.push(RouteAttribute::Oif(route.link.index));
        msg
    }

    /// Add the route or replace the one to the same prefix (`ip route replace`;
    /// packetdrill's `ip route del` + `ip route add` in one request).
    pub fn replace_route(&mut self, route: &Route<'_>) -> Result<(), NetlinkError> {
        let msg = Self::route_message(route);
        self.request(
            RouteNetlinkMessage::NewRoute(msg),
            NLM_F_CREATE | NLM_F_REPLACE,
        )
        .map_err(failed(format!("replacing route {route}")))
    }

    /// The kernel's route to `destination` (`ip route get`): its type
    /// (`Local` once an address of this host is usable as a destination).
    pub fn route_type_to(&mut self, destination: IpAddr) -> Result<RouteType, NetlinkError> {
        let mut msg = RouteMessage::default();
        msg.header.address_family = family_of(destination);
        msg.header.destination_prefix_length = if destination.is_ipv4() { 32 } else { 128 };
        msg.attributes
            .push(RouteAttribute::Destination(RouteAddress::from(destination)));
        let what = || failed(format!("looking up the route to {destination}"));
        let seq = self
            .send(RouteNetlinkMessage::GetRoute(msg), 0)
            .map_err(what())?;
        loop {
            self.receive().map_err(what())?;
            let mut offset = 0;
            while offset < self.buffer.len() {
                let frame = NetlinkBuffer::new_checked(&self.buffer[offset..])
                    .map_err(|e| what()(NetlinkCause::MalformedRoute(e.to_string())))?;
                let len = frame.length() as usize;
                if frame.sequence_number() == seq {
                    if frame.message_type() == NLMSG_ERROR {
                        ack_result(frame.flags(), frame.payload()).map_err(what())?;
                        return Err(what()(NetlinkCause::NoRoute));
                    }
                    let bytes = &self.buffer[offset..offset + len];
                    let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(bytes)
                        .map_err(|e| what()(NetlinkCause::MalformedRoute(e.to_string())))?;
                    if let NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewRoute(r)) =
                        msg.payload
                    {
                        return Ok(r.header.kind);
                    }
                }
                offset += align4(len).max(16);
            }
        }
    }

    /// Send one message with `NLM_F_REQUEST | extra_flags`; returns its sequence number.
    fn send(&mut self, inner: RouteNetlinkMessage, extra_flags: u16) -> Result<u32, NetlinkCause> {
        self.sequence = self.sequence.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | extra_flags;
        header.sequence_number = self.sequence;
        let mut msg = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(inner));
        msg.finalize();
        let mut bytes = vec![0u8; msg.buffer_len()];
        msg.serialize(&mut bytes);
        let sent = self
            .socket
            .send(&bytes, 0)
            .map_err(|e| NetlinkCause::Socket(io_text(&e)))?;
        if sent != bytes.len() {
            return Err(NetlinkCause::ShortSend {
                sent,
                len: bytes.len(),
            });
        }
        Ok(self.sequence)
    }

    /// Receive one datagram into `self.buffer`.
    fn receive(&mut self) -> Result<(), NetlinkCause> {
        self.buffer.clear();
        let n = loop {
            match self.socket.recv(&mut self.buffer, libc::MSG_TRUNC) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Err(NetlinkCause::NoAnswer)
                }
                Err(e) => return Err(NetlinkCause::Socket(io_text(&e))),
            }
        };
        if n > self.buffer.len() {
            return Err(NetlinkCause::ReplyTooLong {
                len: n,
                capacity: self.buffer.capacity(),
            });
        }
        Ok(())
    }

    /// Send a request that changes something and wait for the kernel's answer.
    fn request(&mut self, inner: RouteNetlinkMessage, flags: u16) -> Result<(), NetlinkCause> {
        let seq = self.send(inner, NLM_F_ACK | flags)?;
        loop {
            self.receive()?;
            let mut offset = 0;
            while offset < self.buffer.len() {
                let frame = NetlinkBuffer::new_checked(&self.buffer[offset..])
                    .map_err(|e| NetlinkCause::Malformed(e.to_string()))?;
                let len = frame.length() as usize;
                if frame.sequence_number() == seq && frame.message_type() == NLMSG_ERROR {
                    return ack_result(frame.flags(), frame.payload());
                }
                offset += align4(len).max(16);
            }
        }
    }

    /// Send a dump request and collect every reply up to `NLMSG_DONE`.
    fn dump(
        &mut self,
        inner: RouteNetlinkMessage,
    ) -> Result<Vec<RouteNetlinkMessage>, NetlinkCause> {
        let seq = self.send(inner, NLM_F_DUMP)?;
        let mut out = Vec::new();
        loop {
            self.receive()?;
            let mut offset = 0;
            while offset < self.buffer.len() {
                let frame = NetlinkBuffer::new_checked(&self.buffer[offset..])
                    .map_err(|e| NetlinkCause::Malformed(e.to_string()))?;
                let len = frame.length() as usize;
                let next = offset + align4(len).max(16);
                if frame.sequence_number() != seq {
                    offset = next;
                    continue;
                }
                match frame.message_type() {
                    NLMSG_DONE => return Ok(out),
                    NLMSG_ERROR => {
                        ack_result(frame.flags(), frame.payload())?;
                        return Ok(out);
                    }
                    _ => {
                        let bytes = &self.buffer[offset..offset + len];
                        // Messages of kinds this crate cannot decode are skipped.
                        if let Ok(msg) = NetlinkMessage::<RouteNetlinkMessage>::deserialize(bytes) {
                            if let NetlinkPayload::InnerMessage(m) = msg.payload {
                                out.push(m);
                            }
                        }
                        if frame.flags() & NLM_F_MULTIPART == 0 {
                            return Ok(out);
                        }
                    }
                }
                offset = next;
            }
        }
    }
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Turn the payload of an `NLMSG_ERROR` message into the request's result.
fn ack_result(flags: u16, payload: &[u8]) -> Result<(), NetlinkCause> {
    let Some(code) = payload.get(..4) else {
        return Err(NetlinkCause::TruncatedAck);
    };
    let code = i32::from_ne_bytes([code[0], code[1], code[2], code[3]]);
    if code == 0 {
        return Ok(());
    }
    Err(NetlinkCause::Refused {
        errno: code.saturating_abs(),
        extack: extack_message(flags, &payload[4..]),
    })
}

/// The kernel's extended-ack text, if the acknowledgement carries one.
fn extack_message(flags: u16, rest: &[u8]) -> Option<String> {
    if flags & NLM_F_ACK_TLVS == 0 {
        return None;
    }
    // `rest` starts with the request's header (only the header when capped).
    let request = NetlinkBuffer::new_checked(rest).ok()?;
    let skip = if flags & NLM_F_CAPPED != 0 {
        16
    } else {
        align4(request.length() as usize)
    };
    let tlvs = rest.get(skip..)?;
    for nla in NlasIterator::new(tlvs) {
        let nla = nla.ok()?;
        if nla.kind() == NLMSGERR_ATTR_MSG {
            let value = nla.value();
            let end = value.iter().position(|&b| b == 0).unwrap_or(value.len());
            let text = String::from_utf8_lossy(&value[..end]).trim().to_string();
            return (!text.is_empty()).then_some(text);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_display_reads_like_ip() {
        let route = Route {
            prefix: "192.0.2.1".parse().unwrap(),
            prefix_len: 32,
            gateway: Some("192.168.0.1".parse().unwrap()),
            link: Link {
                index: 2,
                name: "tun0",
            },
        };
        assert_eq!(route.to_string(), "192.0.2.1/32 via 192.168.0.1 dev tun0");
    }

    #[test]
    fn route_message_carries_destination_gateway_and_device() {
        let route = Route {
            prefix: "fd3d:fa7b:d17d::1".parse().unwrap(),
            prefix_len: 128,
            gateway: Some("fd3d:fa7b:d17d:8888::".parse().unwrap()),
            link: Link {
                index: 7,
                name: "tun0",
            },
        };
        let msg = Netlink::route_message(&route);
        assert_eq!(msg.header.address_family, AddressFamily::Inet6);
        assert_eq!(msg.header.destination_prefix_length, 128);
        assert_eq!(msg.header.scope, RouteScope::Universe);
        assert!(msg.attributes.contains(&RouteAttribute::Oif(7)));
        assert!(msg
            .attributes
            .contains(&RouteAttribute::Gateway(RouteAddress::Inet6(
                "fd3d:fa7b:d17d:8888::".parse().unwrap()
            ))));
        let onlink = Route {
            prefix: "192.0.2.0".parse().unwrap(),
            prefix_len: 24,
            gateway: None,
            link: route.link,
        };
        let msg = Netlink::route_message(&onlink);
        assert_eq!(msg.header.scope, RouteScope::Link);
        assert!(!msg
            .attributes
            .iter()
            .any(|a| matches!(a, RouteAttribute::Gateway(_))));
    }

    fn error_payload(code: i32, flags: u16, extack: Option<&str>) -> (u16, Vec<u8>) {
        let mut p = code.to_ne_bytes().to_vec();
        // The request's header, capped: length 40 claimed, only 16 bytes present.
        p.extend_from_slice(&40u32.to_ne_bytes());
        p.extend_from_slice(&[0u8; 12]);
        if let Some(text) = extack {
            let mut value = text.as_bytes().to_vec();
            value.push(0);
            let len = (4 + value.len()) as u16;
            p.extend_from_slice(&len.to_ne_bytes());
            p.extend_from_slice(&NLMSGERR_ATTR_MSG.to_ne_bytes());
            p.extend_from_slice(&value);
            while p.len() % 4 != 0 {
                p.push(0);
            }
        }
        (flags, p)
    }

    #[test]
    fn acknowledgements_become_results_with_errno_text() {
        let (flags, p) = error_payload(0, NLM_F_CAPPED, None);
        assert_eq!(ack_result(flags, &p), Ok(()));
        let (flags, p) = error_payload(-libc::EEXIST, NLM_F_CAPPED, None);
        let text = |flags, p: &[u8]| ack_result(flags, p).map_err(|e| e.to_string());
        assert_eq!(text(flags, &p), Err("File exists".into()));
        let (flags, p) = error_payload(
            -libc::EINVAL,
            NLM_F_CAPPED | NLM_F_ACK_TLVS,
            Some("Nexthop has invalid gateway"),
        );
        assert_eq!(
            text(flags, &p),
            Err("Invalid argument (Nexthop has invalid gateway)".into())
        );
        assert!(ack_result(0, &[1, 2]).is_err());
        // A hostile TLV area is ignored, not trusted.
        let (flags, mut p) = error_payload(-libc::EPERM, NLM_F_CAPPED | NLM_F_ACK_TLVS, None);
        p.extend_from_slice(&[0xff, 0xff, 1, 0]);
        assert_eq!(text(flags, &p), Err("Operation not permitted".into()));
    }
}
