//! tun0: where the script's inbound packets are injected and the kernel's
//! outbound packets are sniffed (docs/engine/network.md, "tun0").
//!
//! As packetdrill's local netdev: an L3 TUN device named `tun0` with no
//! packet-info header and with a virtio-net header on every read and write;
//! checksum and TSO offloads on, so the kernel hands over unsegmented GSO
//! super-packets with partial checksums; the MTU from `--mtu` when it is not
//! 1500; the link up; the local address on it (unless `--is_anyip`); a route to
//! the remote prefix via the gateway; and a packet socket sniffing what the
//! kernel sends. Addresses and routes go through rtnetlink ([`super::netlink`]),
//! not `ip`.
//!
//! Every packet the kernel transmits on tun0 also sits in the tun queue until
//! read; as packetdrill does, [`NetDev::next_outbound`] reads one (a few bytes of
//! it) from the tun device for every frame it sniffs, so the kernel sees normal
//! transmit completions (TCP small queues and friends depend on them).
//!
//! Differences from packetdrill, all on purpose:
//! * tun0 is asked for by name, so a persistent tun0 left in the namespace by an
//!   earlier run of this process is taken over instead of the kernel handing out
//!   `tun1` (packetdrill then retries for a second and dies). `EBUSY` (another
//!   process holds tun0) is retried like packetdrill: 10 tries, 100 ms apart.
//! * Failures to set the MTU, the speed or the address are errors; packetdrill
//!   ignores the exit status of `ifconfig`, `ethtool` and `ip addr add`.
//! * `--speed` is set through the ethtool ioctl without packetdrill's
//!   down/sleep 1/up/sleep 1 (which served a special tun driver): the device is
//!   still down at that point.
//! * IPv6 addresses get `nodad` (tun0 is NOARP, so DAD is skipped either way).
//! * The sniffer takes a 2 MB receive buffer even above `net.core.rmem_max`.
//! * Setting up tun0 in the host's initial network namespace is refused unless
//!   [`RunOptions::allow_initial_namespace`] is set.

use super::netlink::{io_text, InterfaceAddress, Link, Netlink, NetlinkError, Route};
use super::options::RunOptions;
use super::sniffer::{SniffedFrame, Sniffer, SnifferError};
use crate::plan::config::{Addresses, Config};
use netlink_packet_route::route::RouteType;
use std::ffi::CString;
use std::fs::OpenOptions;
use std::io::{self, IoSlice};
use std::net::IpAddr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::time::Duration;

/// tun0 could not be set up, written to or read from.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    #[error(
        "refusing to set up {TUN_NAME} in the host's initial network namespace \
         (run in a network namespace of its own)"
    )]
    InitialNamespace,
    #[error("error: live_remote_ip {0} is not remote")]
    RemoteIsLocal(IpAddr),
    #[error("error: live_local_ip {0} is not remote for anyip")]
    LocalIsLocalForAnyIp(IpAddr),
    /// A call on the device failed: what was being done, and the system's text.
    #[error("{what}: {cause}")]
    System { what: String, cause: String },
    #[error("bad interface name {0:?}")]
    BadName(String),
    #[error("Linux tun write(): wrote {written} of {len} bytes")]
    ShortWrite { written: usize, len: usize },
    #[error(transparent)]
    Netlink(#[from] NetlinkError),
    /// The route to the remote prefix (packetdrill's route command).
    #[error("error executing route command: {0}")]
    Route(NetlinkError),
    #[error("address {address} on {TUN_NAME} did not become usable within {secs} s")]
    AddressNotUsable { address: IpAddr, secs: u64 },
    #[error(transparent)]
    Sniffer(#[from] SnifferError),
}

/// An error reads as its text (what packetdrill or `ip` would print).
impl PartialEq<&str> for DeviceError {
    fn eq(&self, text: &&str) -> bool {
        self.to_string().as_str() == *text
    }
}

fn system(what: impl Into<String>, cause: impl Into<String>) -> DeviceError {
    DeviceError::System {
        what: what.into(),
        cause: cause.into(),
    }
}

/// The device name every script may rely on (`tc ... dev tun0`).
pub const TUN_NAME: &str = "tun0";

/// The TUN driver's default MTU; packetdrill only sets the MTU when it differs.
pub const TUN_DEFAULT_MTU: u32 = 1500;

const TUN_PATH: &str = "/dev/net/tun";

/// packetdrill tries this often, 100 ms apart, to get `tun0`.
const TUN_TRIES: u32 = 10;
const TUN_RETRY_DELAY: Duration = Duration::from_millis(100);

/// `struct virtio_net_hdr`, which precedes every packet read from or written to
/// a TUN device opened with `IFF_VNET_HDR` (10 bytes, host byte order).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VirtioNetHdr {
    pub flags: u8,
    pub gso_type: u8,
    pub hdr_len: u16,
    pub gso_size: u16,
    pub csum_start: u16,
    pub csum_offset: u16,
}

impl VirtioNetHdr {
    pub const LEN: usize = 10;
    pub const GSO_NONE: u8 = 0;
    pub const GSO_TCPV4: u8 = 1;
    pub const GSO_TCPV6: u8 = 4;

    /// A header asking the kernel to treat the packet as a TCP GSO packet of
    /// `gso_size`-byte segments (what packetdrill writes with `--mss`).
    pub fn tcp_gso(ipv6: bool, gso_size: u16) -> VirtioNetHdr {
        VirtioNetHdr {
            gso_type: if ipv6 {
                Self::GSO_TCPV6
            } else {
                Self::GSO_TCPV4
            },
            gso_size,
            ..VirtioNetHdr::default()
        }
    }

    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut b = [0u8; Self::LEN];
        b[0] = self.flags;
        b[1] = self.gso_type;
        b[2..4].copy_from_slice(&self.hdr_len.to_ne_bytes());
        b[4..6].copy_from_slice(&self.gso_size.to_ne_bytes());
        b[6..8].copy_from_slice(&self.csum_start.to_ne_bytes());
        b[8..10].copy_from_slice(&self.csum_offset.to_ne_bytes());
        b
    }
}

/// If `ip_packet` is a plain IPv4 or IPv6 packet carrying TCP, whether it is IPv6.
/// IPv6 extension headers are skipped; encapsulated packets are not TCP here.
fn tcp_over_ip(ip_packet: &[u8]) -> Option<bool> {
    const TCP: u8 = 6;
    let first = *ip_packet.first()?;
    match first >> 4 {
        4 => (*ip_packet.get(9)? == TCP).then_some(false),
        6 => {
            let mut next = *ip_packet.get(6)?;
            let mut offset = 40usize;
            loop {
                match next {
                    TCP => return Some(true),
                    // Hop-by-hop, routing, destination options.
                    0 | 43 | 60 => {
                        next = *ip_packet.get(offset)?;
                        let len = *ip_packet.get(offset + 1)? as usize;
                        offset += (len + 1) * 8;
                    }
                    // Fragment header: fixed 8 bytes.
                    44 => {
                        next = *ip_packet.get(offset)?;
                        offset += 8;
                    }
                    _ => return None,
                }
            }
        }
        _ => None,
    }
}

/// TUNSETIFF on `fd` for `tun0` with packetdrill's flags; the errno on failure.
fn attach_tun0(fd: &OwnedFd) -> Result<(), i32> {
    // SAFETY: ifreq is plain old data; all-zero is a valid value.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in ifr.ifr_name.iter_mut().zip(TUN_NAME.bytes()) {
        *dst = src as libc::c_char;
    }
    ifr.ifr_ifru.ifru_flags =
        (libc::IFF_TUN | libc::IFF_NO_PI | libc::IFF_VNET_HDR) as libc::c_short;
    // SAFETY: TUNSETIFF reads and writes a struct ifreq, which `ifr` is.
    let r = unsafe {
        libc::ioctl(
            fd.as_raw_fd(),
            libc::TUNSETIFF,
            &mut ifr as *mut libc::ifreq,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error().raw_os_error().unwrap_or(0));
    }
    Ok(())
}

fn tun_ioctl_value(fd: &OwnedFd, request: libc::Ioctl, value: libc::c_ulong) -> io::Result<()> {
    // SAFETY: these tun ioctls take their argument by value, not as a pointer.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), request, value) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Open `/dev/net/tun` and get `tun0`, retrying like packetdrill while another
/// process in this namespace holds it.
fn open_tun0() -> Result<OwnedFd, DeviceError> {
    let mut tries = 0;
    loop {
        tries += 1;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(TUN_PATH)
            .map_err(|e| system("open tun device", io_text(&e)))?;
        let fd = OwnedFd::from(file);
        match attach_tun0(&fd) {
            Ok(()) => return Ok(fd),
            Err(libc::EBUSY) if tries < TUN_TRIES => {
                drop(fd);
                std::thread::sleep(TUN_RETRY_DELAY);
            }
            Err(errno) => {
                return Err(system(
                    format!("TUNSETIFF {TUN_NAME}"),
                    super::netlink::errno_text(errno),
                ))
            }
        }
    }
}

/// The inode number of the initial network namespace's `/proc/*/ns/net`
/// (`PROC_NET_INIT_INO`, fixed by current kernels).
const PROC_NET_INIT_INO: u64 = 0xEFFF_FFF9;

fn netns_inode(path: &str) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| m.ino())
}

/// Whether the calling thread is in the host's initial network namespace, or in
/// the namespace of PID 1 (what a container calls the host's); unknown counts as
/// yes. A process that is PID 1 itself (the engine of a `netdrill run` job, in
/// the PID namespace its job made) is only compared with the initial namespace:
/// `/proc/1` is then itself.
pub fn in_initial_netns() -> bool {
    let Some(own) = netns_inode("/proc/thread-self/ns/net") else {
        return true;
    };
    let pid_one_is_us = std::process::id() == 1;
    own == PROC_NET_INIT_INO || (!pid_one_is_us && netns_inode("/proc/1/ns/net") == Some(own))
}

/// `struct ethtool_cmd` of <linux/ethtool.h> (the legacy, still supported form).
#[repr(C)]
#[derive(Default)]
struct EthtoolCmd {
    cmd: u32,
    supported: u32,
    advertising: u32,
    speed: u16,
    duplex: u8,
    port: u8,
    phy_address: u8,
    transceiver: u8,
    autoneg: u8,
    mdio_support: u8,
    maxtxpkt: u32,
    maxrxpkt: u32,
    speed_hi: u16,
    eth_tp_mdix: u8,
    eth_tp_mdix_ctrl: u8,
    lp_advertising: u32,
    reserved: [u32; 2],
}

const ETHTOOL_GSET: u32 = 1;
const ETHTOOL_SSET: u32 = 2;
const SIOCETHTOOL: libc::c_ulong = 0x8946;

fn ethtool(name: &str, cmd: &mut EthtoolCmd) -> io::Result<()> {
    let sock = std::net::UdpSocket::bind((std::net::Ipv4Addr::UNSPECIFIED, 0))?;
    // SAFETY: ifreq is plain old data; all-zero is a valid value.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in ifr.ifr_name.iter_mut().zip(name.bytes()) {
        *dst = src as libc::c_char;
    }
    ifr.ifr_ifru.ifru_data = (cmd as *mut EthtoolCmd).cast();
    // SAFETY: SIOCETHTOOL reads the command from, and writes the result to,
    // the ethtool_cmd that ifr_data points at, which outlives the call.
    let r = unsafe { libc::ioctl(sock.as_raw_fd(), SIOCETHTOOL as _, &mut ifr) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `ethtool -s NAME speed MBPS autoneg off` (packetdrill's `--speed`).
pub fn set_speed(name: &str, mbps: u32) -> Result<(), DeviceError> {
    let fail = |e: io::Error| {
        system(
            format!("ethtool -s {name} speed {mbps} autoneg off"),
            io_text(&e),
        )
    };
    let mut cmd = EthtoolCmd {
        cmd: ETHTOOL_GSET,
        ..EthtoolCmd::default()
    };
    ethtool(name, &mut cmd).map_err(fail)?;
    cmd.cmd = ETHTOOL_SSET;
    cmd.speed = (mbps & 0xffff) as u16;
    cmd.speed_hi = (mbps >> 16) as u16;
    cmd.autoneg = 0;
    ethtool(name, &mut cmd).map_err(fail)
}

/// The link speed in Mb/s as `ethtool NAME` shows it.
pub fn speed(name: &str) -> Result<u32, DeviceError> {
    let mut cmd = EthtoolCmd {
        cmd: ETHTOOL_GSET,
        ..EthtoolCmd::default()
    };
    ethtool(name, &mut cmd).map_err(|e| system(format!("ethtool {name}"), io_text(&e)))?;
    Ok(u32::from(cmd.speed) | (u32::from(cmd.speed_hi) << 16))
}

fn if_index(name: &str) -> Result<u32, DeviceError> {
    let c =
        CString::new(name).map_err(|_| system(format!("if_nametoindex {name:?}"), "bad name"))?;
    // SAFETY: `c` is a valid NUL-terminated string.
    let index = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if index == 0 {
        return Err(system(
            format!("if_nametoindex {name}"),
            io_text(&io::Error::last_os_error()),
        ));
    }
    Ok(index)
}

/// The run's tun0, its sniffer and its `--mss` injection rule.
pub struct NetDev {
    tun: OwnedFd,
    index: u32,
    sniffer: Sniffer,
    /// `--mss`: GSO segment size for injected TCP packets (0: off).
    mss: u16,
    persist_on_drop: bool,
}

impl NetDev {
    /// Create and configure tun0 for a run, in the calling thread's network
    /// namespace, and open its sniffer. In order, as packetdrill: the remote
    /// address must not be local (nor the local one, with `--is_anyip`); tun0
    /// with `IFF_TUN | IFF_NO_PI | IFF_VNET_HDR`; `--speed`; offloads
    /// (`TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN`); MTU and up;
    /// the local address (`local_ip/local_prefix_len`, IPv4 for
    /// ipv4-mapped-ipv6); the route `remote_prefix/len via gateway dev tun0`
    /// (replacing any route to that prefix); the sniffer. Takes about 0.4 ms.
    pub fn create(
        config: &Config,
        addrs: &Addresses,
        opts: &RunOptions,
    ) -> Result<NetDev, DeviceError> {
        if !opts.allow_initial_namespace && in_initial_netns() {
            return Err(DeviceError::InitialNamespace);
        }
        let mut nl = Netlink::open()?;
        let existing = nl.addresses()?;
        let is_local = |ip: IpAddr| existing.iter().any(|a| a.address == ip);
        if is_local(addrs.remote_ip) {
            return Err(DeviceError::RemoteIsLocal(addrs.remote_ip));
        }
        if config.is_anyip && is_local(addrs.local_ip) {
            return Err(DeviceError::LocalIsLocalForAnyIp(addrs.local_ip));
        }

        let tun = open_tun0()?;
        let index = if_index(TUN_NAME)?;
        let link = Link {
            index,
            name: TUN_NAME,
        };

        if let Some(mbps) = config.speed {
            set_speed(TUN_NAME, mbps)?;
        }

        let offload = libc::TUN_F_CSUM | libc::TUN_F_TSO4 | libc::TUN_F_TSO6 | libc::TUN_F_TSO_ECN;
        tun_ioctl_value(&tun, libc::TUNSETOFFLOAD, libc::c_ulong::from(offload))
            .map_err(|e| system("TUNSETOFFLOAD", io_text(&e)))?;

        let mtu = (config.mtu != TUN_DEFAULT_MTU).then_some(config.mtu);
        nl.set_link_up(link, mtu)?;

        if !config.is_anyip {
            setup_address(
                &mut nl,
                link,
                &existing,
                addrs.local_ip,
                addrs.local_prefix_len,
            )?;
        }

        let route = Route {
            prefix: addrs.remote_prefix,
            prefix_len: addrs.remote_prefix_len,
            gateway: (!config.is_anyip).then_some(addrs.gateway_ip),
            link,
        };
        nl.replace_route(&route).map_err(DeviceError::Route)?;

        // Last, as packetdrill does (a packet socket bound to a device that is
        // still down reports ENETDOWN on its first read).
        let sniffer = Sniffer::open(index)?;
        let dev = NetDev {
            tun,
            index,
            sniffer,
            mss: u16::try_from(config.mss).unwrap_or(u16::MAX),
            persist_on_drop: opts.namespace_is_ours,
        };
        // What the kernel sent while the device came up (IPv6 router
        // solicitations, MLD reports) was not sniffed; don't leave it queued.
        dev.drain(usize::MAX)?;
        Ok(dev)
    }

    pub fn name(&self) -> &str {
        TUN_NAME
    }

    pub fn index(&self) -> u32 {
        self.index
    }

    /// The packet socket sniffing tun0.
    pub fn sniffer(&mut self) -> &mut Sniffer {
        &mut self.sniffer
    }

    /// Inject an IP packet as if it arrived from the remote side. With `--mss`,
    /// TCP packets carry a GSO header of that segment size (packetdrill's rule;
    /// the kernel ignores it for packets that fit in one segment); all others a
    /// zeroed virtio-net header.
    pub fn inject(&self, ip_packet: &[u8]) -> Result<(), DeviceError> {
        let header = match tcp_over_ip(ip_packet) {
            Some(ipv6) if self.mss != 0 => VirtioNetHdr::tcp_gso(ipv6, self.mss),
            _ => VirtioNetHdr::default(),
        };
        self.inject_with_header(&header, ip_packet)
    }

    /// Inject an IP packet behind an explicit virtio-net header.
    pub fn inject_with_header(
        &self,
        header: &VirtioNetHdr,
        ip_packet: &[u8],
    ) -> Result<(), DeviceError> {
        let hdr = header.to_bytes();
        let iov = [IoSlice::new(&hdr), IoSlice::new(ip_packet)];
        loop {
            match nix::sys::uio::writev(&self.tun, &iov) {
                Ok(n) if n == hdr.len() + ip_packet.len() => return Ok(()),
                Ok(written) => {
                    return Err(DeviceError::ShortWrite {
                        written,
                        len: hdr.len() + ip_packet.len(),
                    })
                }
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(system("Linux tun write()", e.desc())),
            }
        }
    }

    /// Read (and discard) up to `max` packets queued on tun0 by the kernel,
    /// without waiting; returns how many there were.
    pub fn drain(&self, max: usize) -> Result<usize, DeviceError> {
        // The virtio-net header plus one byte: enough to consume a packet.
        let mut buf = [0u8; VirtioNetHdr::LEN + 1];
        let mut n = 0;
        while n < max {
            match nix::unistd::read(&self.tun, &mut buf) {
                Ok(_) => n += 1,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(nix::errno::Errno::EAGAIN) => break,
                Err(e) => return Err(system("tun read()", e.desc())),
            }
        }
        Ok(n)
    }

    /// The next packet the kernel sends out of tun0, waiting until
    /// `deadline_unix_usecs` (`None`: forever) or until `wake` is readable;
    /// consumes its copy in the tun queue as packetdrill does.
    pub fn next_outbound(
        &mut self,
        deadline_unix_usecs: Option<i64>,
        wake: Option<std::os::fd::BorrowedFd<'_>>,
    ) -> Result<Option<SniffedFrame>, DeviceError> {
        let frame = self.sniffer.next_or_woken(deadline_unix_usecs, wake)?;
        if frame.is_some() {
            self.drain(1)?;
        }
        Ok(frame)
    }
}

impl NetDev {
    /// Close the device on a helper thread and return at once. The close of the
    /// sniffing socket waits for an RCU grace period (10-15 ms on an idle 2-vCPU
    /// VM; a non-persistent tun0 adds 20-30 ms more): a caller with work left
    /// (reporting a result, running a cleanup command) can overlap it. A process
    /// cannot finish exiting before the thread is done, so this only helps when
    /// there is such work; join the handle to be sure the device is gone.
    pub fn close_in_background(self) -> std::thread::JoinHandle<()> {
        std::thread::spawn(move || drop(self))
    }
}

/// packetdrill's `net_setup_dev_address`: nothing to do if the address is on
/// tun0 already; moved if another interface has it; added otherwise.
fn setup_address(
    nl: &mut Netlink,
    link: Link<'_>,
    existing: &[InterfaceAddress],
    address: IpAddr,
    prefix_len: u8,
) -> Result<(), DeviceError> {
    if let Some(found) = existing.iter().find(|a| a.address == address) {
        if found.index == link.index {
            return Ok(());
        }
        let name = interface_name(found.index);
        let other = Link {
            index: found.index,
            name: &name,
        };
        nl.delete_address(other, address, found.prefix_len)?;
    }
    nl.add_address(link, address, prefix_len)?;
    if address.is_ipv6() {
        wait_until_local(nl, address)?;
    }
    Ok(())
}

/// How long an IPv6 address may take to become usable after it was added.
const ADDRESS_READY_LIMIT: Duration = Duration::from_secs(2);
const ADDRESS_READY_POLL: Duration = Duration::from_micros(50);

/// Wait until packets to `address` are delivered locally. An IPv6 address is
/// listed at once, but its local route is installed only when the kernel's
/// address-configuration work has run (even with `nodad` on a NOARP device);
/// until then packets to it are dropped (`Ip6InAddrErrors`). packetdrill's
/// shell commands are slow enough to hide this; we are not.
fn wait_until_local(nl: &mut Netlink, address: IpAddr) -> Result<(), DeviceError> {
    let started = std::time::Instant::now();
    loop {
        if nl.route_type_to(address)? == RouteType::Local {
            return Ok(());
        }
        if started.elapsed() > ADDRESS_READY_LIMIT {
            return Err(DeviceError::AddressNotUsable {
                address,
                secs: ADDRESS_READY_LIMIT.as_secs(),
            });
        }
        std::thread::sleep(ADDRESS_READY_POLL);
    }
}

fn interface_name(index: u32) -> String {
    let mut buf = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: `buf` has the IF_NAMESIZE bytes if_indextoname may write.
    let p = unsafe { libc::if_indextoname(index, buf.as_mut_ptr()) };
    if p.is_null() {
        return format!("interface {index}");
    }
    // SAFETY: on success if_indextoname wrote a NUL-terminated name into `buf`.
    unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

impl Drop for NetDev {
    fn drop(&mut self) {
        // Closing a non-persistent tun device unregisters it and waits for the
        // network stack to let go (25-30 ms). In a namespace that dies with the
        // run, make it persistent first: the close is then immediate and the
        // namespace's death removes the device. Otherwise clear the flag (it may
        // be set from an earlier run in this namespace) so the close removes it.
        let persist = libc::c_ulong::from(self.persist_on_drop);
        let _ = tun_ioctl_value(&self.tun, libc::TUNSETPERSIST, persist);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipv4_tcp() -> Vec<u8> {
        let mut p = vec![0u8; 40];
        p[0] = 0x45;
        p[9] = 6;
        p
    }

    #[test]
    fn virtio_header_layout() {
        assert_eq!(VirtioNetHdr::default().to_bytes(), [0u8; 10]);
        let h = VirtioNetHdr::tcp_gso(true, 1000);
        let b = h.to_bytes();
        assert_eq!(b[1], VirtioNetHdr::GSO_TCPV6);
        assert_eq!(u16::from_ne_bytes([b[4], b[5]]), 1000);
        assert_eq!(VirtioNetHdr::tcp_gso(false, 1).gso_type, 1);
    }

    #[test]
    fn recognises_tcp_packets_for_gso() {
        assert_eq!(tcp_over_ip(&ipv4_tcp()), Some(false));
        let mut udp = ipv4_tcp();
        udp[9] = 17;
        assert_eq!(tcp_over_ip(&udp), None);

        let mut v6 = vec![0u8; 60];
        v6[0] = 0x60;
        v6[6] = 6;
        assert_eq!(tcp_over_ip(&v6), Some(true));
        // Hop-by-hop options (8 bytes) then TCP.
        v6[6] = 0;
        v6[40] = 6;
        v6[41] = 0;
        assert_eq!(tcp_over_ip(&v6), Some(true));
        // Truncated extension header chains are not TCP.
        assert_eq!(tcp_over_ip(&v6[..41]), None);
        assert_eq!(tcp_over_ip(&[]), None);
        assert_eq!(tcp_over_ip(&[0x45]), None);
    }
}
