//! Socket addresses as the bytes the kernel takes and returns.

use crate::packet::flow::Endpoint;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// `sizeof(struct sockaddr_storage)`
pub const STORAGE_LEN: usize = std::mem::size_of::<libc::sockaddr_storage>();
const IN_LEN: usize = std::mem::size_of::<libc::sockaddr_in>();
const IN6_LEN: usize = std::mem::size_of::<libc::sockaddr_in6>();

/// A `sockaddr_in` or `sockaddr_in6` for `ip:port` (its length is the address's).
pub fn encode(ip: IpAddr, port: u16) -> Vec<u8> {
    match ip {
        IpAddr::V4(a) => {
            let mut b = vec![0u8; IN_LEN];
            b[0..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
            b[2..4].copy_from_slice(&port.to_be_bytes());
            b[4..8].copy_from_slice(&a.octets());
            b
        }
        IpAddr::V6(a) => {
            let mut b = vec![0u8; IN6_LEN];
            b[0..2].copy_from_slice(&(libc::AF_INET6 as u16).to_ne_bytes());
            b[2..4].copy_from_slice(&port.to_be_bytes());
            b[8..24].copy_from_slice(&a.octets());
            b
        }
    }
}

/// A zeroed `sockaddr_storage` whose only content is the family (packetdrill's
/// `connect(fd, AF_UNSPEC, ...)` form); its length is the whole storage.
pub fn family_only(family: i32) -> Vec<u8> {
    let mut b = vec![0u8; STORAGE_LEN];
    b[0..2].copy_from_slice(&(family as u16).to_ne_bytes());
    b
}

/// The address and port in a returned sockaddr; IPv4-mapped IPv6 addresses
/// come back as IPv4 (as packetdrill compares them with wire addresses).
pub fn decode(bytes: &[u8]) -> Option<Endpoint> {
    let family = u16::from_ne_bytes(bytes.get(0..2)?.try_into().ok()?) as i32;
    let port = u16::from_be_bytes(bytes.get(2..4)?.try_into().ok()?);
    let ip = match family {
        libc::AF_INET => {
            let o: [u8; 4] = bytes.get(4..8)?.try_into().ok()?;
            IpAddr::V4(Ipv4Addr::from(o))
        }
        libc::AF_INET6 => {
            let o: [u8; 16] = bytes.get(8..24)?.try_into().ok()?;
            let a = Ipv6Addr::from(o);
            match a.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6(a),
            }
        }
        _ => return None,
    };
    Some(Endpoint { ip: Some(ip), port })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_unmaps() {
        let v4: IpAddr = "192.168.0.1".parse().unwrap();
        let b = encode(v4, 8080);
        assert_eq!(b.len(), 16);
        assert_eq!(
            decode(&b),
            Some(Endpoint {
                ip: Some(v4),
                port: 8080
            })
        );
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        let b = encode(mapped, 40000);
        assert_eq!(b.len(), 28);
        assert_eq!(
            decode(&b),
            Some(Endpoint {
                ip: Some("192.0.2.1".parse().unwrap()),
                port: 40000
            })
        );
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(decode(&encode(v6, 1)).and_then(|e| e.ip), Some(v6));
        assert_eq!(decode(&family_only(libc::AF_UNSPEC)), None);
        assert_eq!(family_only(libc::AF_UNSPEC).len(), STORAGE_LEN);
        assert_eq!(decode(&[2, 0]), None);
    }
}
