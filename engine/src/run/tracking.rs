//! Which socket a packet belongs to (docs/engine/packets.md, "Socket tracking").
//!
//! packetdrill tracks one "socket under test" at a time. A script packet is
//! mapped to it (creating a passive child when an inbound packet reaches a
//! listener, or learning a connecting socket's script ISN from its scripted
//! SYN); a sniffed packet is accepted only when it matches that socket's live
//! 4-tuple, or is the first SYN/datagram of a connecting socket.

use super::ports::EphemeralPorts;
use super::state::{RunState, SocketId, SocketPhase, TrackedSocket, TrackingError};
use crate::packet::flow::{Endpoint, PacketFacts, Transport, Tuple};
use crate::plan::config::Addresses;
use crate::script::Direction;

/// The outbound 4-tuple of a socket's view (local -> remote).
pub fn outbound(view: &super::state::ConnectionView) -> Tuple {
    Tuple {
        src: view.local,
        dst: view.remote,
    }
}

/// The inbound 4-tuple of a socket's view (remote -> local).
pub fn inbound(view: &super::state::ConnectionView) -> Tuple {
    outbound(view).reversed()
}

impl RunState {
    /// Find the socket a script packet is for, creating a passive child for an
    /// inbound packet reaching a listener (or when there is no socket at all),
    /// and noting a connecting socket's scripted SYN. Error text is packetdrill's.
    pub fn socket_for_script_packet(
        &mut self,
        direction: Direction,
        facts: &PacketFacts,
        addrs: &Addresses,
        ports: &mut dyn EphemeralPorts,
    ) -> Result<SocketId, TrackingError> {
        let under_test = self.socket_under_test;
        if let Transport::Tcp { syn, ack, seq } = facts.transport {
            // An inbound packet while a listener (or nothing) is under test: a new child.
            let listening =
                under_test.is_none_or(|id| self.sockets[id].phase == SocketPhase::Listening);
            if direction == Direction::Inbound && listening {
                let mut child = TrackedSocket::new(SocketPhase::PassivePacketReceived);
                child.family = facts.family;
                child.protocol = libc::IPPROTO_TCP;
                child.script.remote = facts.tuple.src;
                child.script.local = facts.tuple.dst;
                child.script.remote_isn = seq;
                child.live.remote = Endpoint {
                    ip: Some(addrs.remote_ip),
                    port: ports.next_port()?,
                };
                child.live.local = Endpoint {
                    ip: Some(addrs.local_ip),
                    port: addrs.bind_port,
                };
                child.live.remote_isn = seq;
                return Ok(self.push_socket(child));
            }
            // The scripted SYN of a connecting socket.
            if direction == Direction::Outbound && syn && !ack {
                if let Some(id) = under_test {
                    let s = &mut self.sockets[id];
                    if s.phase == SocketPhase::ActiveConnecting {
                        s.phase = SocketPhase::ActiveSynSent;
                        s.script.remote = facts.tuple.dst;
                        s.script.local = facts.tuple.src;
                        s.script.local_isn = seq;
                        return Ok(id);
                    }
                }
            }
        }
        if let Some(id) = under_test {
            let protocol = self.sockets[id].protocol;
            let fits = match facts.transport {
                Transport::Tcp { .. } => protocol == libc::IPPROTO_TCP,
                Transport::Udp => protocol == libc::IPPROTO_UDP,
                Transport::Icmp { v6, .. } => {
                    protocol == libc::IPPROTO_TCP
                        || protocol == libc::IPPROTO_UDP
                        || (!v6 && protocol == libc::IPPROTO_ICMP)
                        || (v6 && protocol == libc::IPPROTO_ICMPV6)
                }
            };
            // Packets with explicit ports go to the socket under test whatever its protocol.
            let explicit_ports =
                !facts.is_icmp() && (facts.tuple.src.port != 0 || facts.tuple.dst.port != 0);
            if fits || explicit_ports {
                return Ok(id);
            }
        }
        Err(TrackingError::NoSocketForPacket)
    }

    /// Is this sniffed packet outbound from the socket under test? Learns a
    /// connecting socket's live local address, port and ISN from its first
    /// packet. `None` means the packet is not ours and must be ignored.
    pub fn socket_for_live_packet(&mut self, facts: &PacketFacts) -> Option<SocketId> {
        let id = self.socket_under_test?;
        let s = &mut self.sockets[id];
        let icmp_socket = match facts.transport {
            Transport::Icmp { v6: false, .. } => s.protocol == libc::IPPROTO_ICMP,
            Transport::Icmp { v6: true, .. } => s.protocol == libc::IPPROTO_ICMPV6,
            _ => false,
        };
        let same_ips = |a: &Tuple, b: &Tuple| a.src.ip == b.src.ip && a.dst.ip == b.dst.ip;

        let live_in = inbound(&s.live);
        if facts.tuple == live_in || (icmp_socket && same_ips(&facts.tuple, &live_in)) {
            // Inbound to our socket: not something we sniff for.
            return None;
        }
        let live_out = outbound(&s.live);
        if facts.tuple == live_out || (icmp_socket && same_ips(&facts.tuple, &live_out)) {
            return Some(id);
        }

        // The first packet of a connecting socket teaches us its live local side.
        let udp_match = facts.transport == Transport::Udp
            && s.protocol == libc::IPPROTO_UDP
            && s.phase == SocketPhase::ActiveConnecting;
        let icmp_match = icmp_socket && s.phase == SocketPhase::ActiveConnecting;
        let tcp_match = matches!(
            facts.transport,
            Transport::Tcp {
                syn: true,
                ack: false,
                ..
            }
        ) && s.protocol == libc::IPPROTO_TCP
            && s.phase == SocketPhase::ActiveSynSent;
        if !(udp_match || icmp_match || tcp_match) {
            return None;
        }
        if facts.tuple.dst.ip != s.live.remote.ip
            || (!icmp_match && facts.tuple.dst.port != s.live.remote.port)
        {
            return None;
        }
        s.live.local = facts.tuple.src;
        if let Transport::Tcp { seq, .. } = facts.transport {
            s.live.local_isn = seq;
        }
        Some(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    use crate::run::ports::PortError;

    struct Ports(u16);
    impl EphemeralPorts for Ports {
        fn next_port(&mut self) -> Result<u16, PortError> {
            self.0 += 1;
            Ok(self.0)
        }
    }

    fn addrs() -> Addresses {
        let mut c = crate::plan::config::Config::default();
        c.apply_flag("local_ip", Some("192.168.0.1")).unwrap();
        c.apply_flag("remote_ip", Some("192.0.2.1")).unwrap();
        c.finalize().unwrap()
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    fn tcp(syn: bool, ack: bool, seq: u32, tuple: Tuple) -> PacketFacts {
        PacketFacts {
            family: libc::AF_INET,
            transport: Transport::Tcp { syn, ack, seq },
            tuple,
        }
    }

    #[test]
    fn inbound_syn_to_a_listener_creates_the_child_under_test() {
        let a = addrs();
        let mut st = RunState::default();
        st.add_socket(3, 10, libc::AF_INET, libc::SOCK_STREAM, 6)
            .unwrap();
        st.on_listen(3).unwrap();
        let mut ports = Ports(40000);
        let id = st
            .socket_for_script_packet(
                Direction::Inbound,
                &tcp(true, false, 0, Tuple::default()),
                &a,
                &mut ports,
            )
            .unwrap();
        let child = st.sockets[id].clone();
        assert_eq!(st.socket_under_test, Some(id));
        assert_eq!(child.phase, SocketPhase::PassivePacketReceived);
        assert_eq!(
            child.live.remote,
            Endpoint {
                ip: ip("192.0.2.1"),
                port: 40001
            }
        );
        assert_eq!(
            child.live.local,
            Endpoint {
                ip: ip("192.168.0.1"),
                port: 8080
            }
        );

        // The kernel's SYN-ACK from the child is ours; a packet from elsewhere is not.
        let synack = Tuple {
            src: child.live.local,
            dst: child.live.remote,
        };
        assert_eq!(
            st.socket_for_live_packet(&tcp(true, true, 7, synack)),
            Some(id)
        );
        let stray = Tuple {
            src: Endpoint {
                ip: ip("192.168.0.1"),
                port: 9,
            },
            dst: child.live.remote,
        };
        assert_eq!(st.socket_for_live_packet(&tcp(false, true, 7, stray)), None);
    }

    #[test]
    fn a_connecting_socket_learns_its_live_side_from_its_first_syn() {
        let a = addrs();
        let mut st = RunState::default();
        st.add_socket(3, 10, libc::AF_INET, libc::SOCK_STREAM, 6)
            .unwrap();
        let remote = Endpoint {
            ip: Some(a.remote_ip),
            port: 8080,
        };
        st.on_connect(3, remote, false, false).unwrap();
        let mut ports = Ports(0);
        let id = st
            .socket_for_script_packet(
                Direction::Outbound,
                &tcp(true, false, 0, Tuple::default()),
                &a,
                &mut ports,
            )
            .unwrap();
        assert_eq!(st.sockets[id].phase, SocketPhase::ActiveSynSent);
        let live = Tuple {
            src: Endpoint {
                ip: Some(a.local_ip),
                port: 51000,
            },
            dst: remote,
        };
        assert_eq!(
            st.socket_for_live_packet(&tcp(true, false, 12345, live)),
            Some(id)
        );
        assert_eq!(st.sockets[id].live.local_isn, 12345);
        assert_eq!(st.sockets[id].live.local.port, 51000);
    }

    #[test]
    fn udp_packets_need_a_udp_socket() {
        let a = addrs();
        let mut st = RunState::default();
        st.add_socket(3, 10, libc::AF_INET, libc::SOCK_STREAM, 6)
            .unwrap();
        let facts = PacketFacts {
            family: libc::AF_INET,
            transport: Transport::Udp,
            tuple: Tuple::default(),
        };
        assert_eq!(
            st.socket_for_script_packet(Direction::Outbound, &facts, &a, &mut Ports(0)),
            Err(TrackingError::NoSocketForPacket)
        );
    }
}

/// The seq, ack and window of the `R.` packetdrill injects at the end of a
/// passing run to free a connection's kernel state (docs/engine/packets.md,
/// "End-of-run resets"), in live
/// space, or `None` when the socket is not a TCP connection with both live
/// ports known.
pub fn reset_segment(s: &TrackedSocket) -> Option<(u32, u32, u16)> {
    if s.protocol != libc::IPPROTO_TCP || s.live.local.port == 0 || s.live.remote.port == 0 {
        return None;
    }
    let injected = s.last_injected_tcp.filter(|t| t.ack_flag);
    let sent = s.last_outbound_tcp.unwrap_or_default();
    Some(if let Some(t) = injected {
        let seq = t
            .seq
            .wrapping_add(t.syn as u32)
            .wrapping_add(t.fin as u32)
            .wrapping_add(t.payload_len);
        (seq, t.ack, t.window)
    } else if sent.ack_flag {
        (sent.ack, sent.seq, 0)
    } else {
        (0, sent.seq.wrapping_add(1), 0)
    })
}

#[cfg(test)]
mod reset_tests {
    use super::*;
    use crate::run::state::TcpMemo;

    fn connected() -> TrackedSocket {
        let mut s = TrackedSocket::new(SocketPhase::PassiveSynAckAcked);
        s.protocol = libc::IPPROTO_TCP;
        s.live.local.port = 8080;
        s.live.remote.port = 40000;
        s
    }

    #[test]
    fn reset_follows_the_last_injected_ack() {
        let mut s = connected();
        s.last_injected_tcp = Some(TcpMemo {
            seq: 100,
            ack: 5000,
            window: 257,
            syn: false,
            fin: true,
            ack_flag: true,
            payload_len: 10,
        });
        assert_eq!(reset_segment(&s), Some((111, 5000, 257)));
    }

    #[test]
    fn reset_without_injected_ack_uses_what_the_kernel_sent() {
        let mut s = connected();
        s.last_outbound_tcp = Some(TcpMemo {
            seq: 7,
            ack: 9,
            ack_flag: true,
            ..TcpMemo::default()
        });
        assert_eq!(reset_segment(&s), Some((9, 7, 0)));
        s.last_outbound_tcp = Some(TcpMemo {
            seq: 7,
            syn: true,
            ..TcpMemo::default()
        });
        assert_eq!(reset_segment(&s), Some((0, 8, 0)));
        s.live.remote.port = 0;
        assert_eq!(reset_segment(&s), None);
    }
}
