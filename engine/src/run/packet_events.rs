//! Packet events (docs/engine/packets.md): inject inbound script packets into
//! tun0 with live addresses, ports and sequence numbers; sniff the kernel's
//! outbound packets, map them back into script space, and check them against
//! the script, field by field and in time.

use super::failure::{PacketError, RunError, RunFailure, ShownPacket};
use super::runtime::Runtime;
use super::state::{SocketId, SocketPhase, TcpMemo};
use super::timing::{self, secs9, EventTime, Timed};
use crate::outcome::PacketDirection;
use crate::packet;
use crate::packet::dump::short_dump;
use crate::packet::ip_packet::IpPacket;
use crate::packet::sniffed::{parse_sniffed, Sniffed};
use crate::plan::PacketTemplate;
use crate::script::{Direction, Event, Micros};
use std::net::IpAddr;

impl Runtime<'_> {
    pub(crate) fn run_packet(
        &mut self,
        index: usize,
        event: &Event,
        time: &EventTime,
    ) -> Result<(), Box<RunFailure>> {
        let plan = self.plan;
        let Some(template) = plan.packet(index) else {
            return Err(RunError::NoTemplate.at(event.line));
        };
        let facts = template.facts();
        let found = self.state.socket_for_script_packet(
            template.direction,
            &facts,
            self.addrs,
            &mut self.ports,
        );
        let result = match found {
            Err(e) => Err(PacketError::Socket(e)),
            Ok(id) => match template.direction {
                Direction::Outbound => {
                    let began = self.now();
                    self.frame_times.clear();
                    let checked = self.outbound(event.line, time, template, id)?;
                    self.reaction.outbound_done(began, &self.frame_times);
                    checked
                }
                Direction::Inbound => {
                    self.wait_for(event, time, Timed::InboundPacket)?;
                    self.inbound(template, id)
                }
            },
        };
        match result {
            Ok(()) => Ok(()),
            Err(e) if e.recoverable() && self.config.non_fatal_packet => {
                self.warnings.push(format!(
                    "{}:{}: warning handling packet: {e}",
                    self.path, event.line
                ));
                Ok(())
            }
            Err(e) => Err(RunError::from(e).at(event.line)),
        }
    }

    /// The live address of one end of a socket, with the run's addresses as
    /// the fallback for an end not learned yet.
    fn live_end(&self, id: SocketId, local: bool) -> (IpAddr, u16) {
        let s = &self.state.sockets[id];
        if local {
            (
                s.live.local.ip.unwrap_or(self.addrs.local_ip),
                s.live.local.port,
            )
        } else {
            (
                s.live.remote.ip.unwrap_or(self.addrs.remote_ip),
                s.live.remote.port,
            )
        }
    }

    fn inbound(&mut self, template: &PacketTemplate, id: SocketId) -> Result<(), PacketError> {
        let tcp = template
            .packet
            .tcp()
            .map(|t| (t.syn(), t.ack(), t.seq_number()));
        {
            let s = &mut self.state.sockets[id];
            match tcp {
                Some((_, true, _)) if s.phase == SocketPhase::PassiveSynAckSent => {
                    s.phase = SocketPhase::PassiveSynAckAcked;
                }
                Some((true, true, seq)) if s.phase == SocketPhase::ActiveSynSent => {
                    s.phase = SocketPhase::ActiveSynAcked;
                    s.script.remote_isn = seq;
                    s.live.remote_isn = seq;
                }
                _ => {}
            }
            if self.config.is_anyip && tcp.is_none() {
                if s.live.remote.ip.is_none() {
                    s.live.remote.ip = Some(self.addrs.remote_ip);
                }
                if s.live.local.ip.is_none() {
                    s.live.local.ip = Some(self.addrs.local_ip);
                }
                if s.live.remote.port == 0 {
                    s.live.remote.port = self.addrs.connect_port;
                }
                if s.live.local.port == 0 {
                    s.live.local.port = self.addrs.bind_port;
                }
            }
        }

        let mut packet = template.packet.clone();
        let (script_src_port, script_dst_port) = packet.ports().unwrap_or((0, 0));
        let (remote_ip, remote_port) = self.live_end(id, false);
        let (local_ip, local_port) = self.live_end(id, true);
        let src = (
            remote_ip,
            if script_src_port != 0 {
                script_src_port
            } else {
                remote_port
            },
        );
        let dst = (
            local_ip,
            if script_dst_port != 0 {
                script_dst_port
            } else {
                local_port
            },
        );
        packet.set_tuple(src, dst).map_err(PacketError::Mapping)?;

        let s = &self.state.sockets[id];
        if let Some(echoed) = packet.echoed_tcp_seq() {
            packet.set_echoed_tcp_seq(echoed.wrapping_add(s.local_seq_script_to_live(false)));
        }
        if let Some((syn, ack, _)) = tcp {
            let seq_offset = s.remote_seq_script_to_live(syn);
            let ack_offset = s.local_seq_script_to_live(syn);
            packet
                .shift_tcp_sequence_space(seq_offset, ack_offset)
                .map_err(PacketError::Mapping)?;
            if ack {
                if let Some((_, script_ecr)) =
                    packet.tcp_timestamp().map_err(PacketError::Mapping)?
                {
                    let live_ecr = if let Some(live) = s.ts_val_map.get(&script_ecr) {
                        *live
                    } else if let (true, Some(b)) = (self.config.tcp_ts_ecr_scaled, s.ts_baseline) {
                        script_ecr
                            .wrapping_sub(b.script_val)
                            .wrapping_add(b.live_val)
                    } else {
                        return Err(PacketError::UnknownTsEcr(script_ecr));
                    };
                    packet
                        .set_tcp_ts_ecr(live_ecr)
                        .map_err(PacketError::Mapping)?;
                }
            }
        }
        packet.fill_checksums();

        if self.config.verbose {
            println!(
                "inbound injected packet: {} {}",
                secs9(self.now()),
                short_dump(&packet)
            );
        }
        if let Some(memo) = tcp_memo(&packet) {
            self.state.sockets[id].last_injected_tcp = Some(memo);
        }
        // The packet's time is when its write starts: the kernel handles it
        // (and may answer, with a later kernel timestamp) before the write
        // returns, so a reply never seems to precede its cause.
        let injected_at = super::clock::now_usecs();
        self.netdev.inject(packet.bytes())?;
        self.observer.packet(
            PacketDirection::Injected,
            injected_at as i128 * 1000,
            packet.bytes(),
        );
        Ok(())
    }

    /// Wait for the next sniffed packet of the socket under test, completing
    /// a blocking call that returns meanwhile. `timeout_secs` restarts with
    /// every packet that is not ours; `None` waits forever.
    fn sniff_for(
        &mut self,
        expected: SocketId,
        timeout_secs: Option<i64>,
    ) -> Result<Result<(IpPacket, Micros), PacketError>, Box<RunFailure>> {
        loop {
            let deadline = timeout_secs.map(|t| super::clock::now_usecs() + t * 1_000_000);
            let frame = loop {
                // With a blocking call in flight, its return wakes the wait
                // too, so that it completes at once.
                let wake = self.blocking.as_ref().map(|b| b.inflight.wake());
                let got = match self.netdev.next_outbound(deadline, wake) {
                    Ok(got) => got,
                    Err(e) => return Ok(Err(PacketError::Device(e))),
                };
                if let Some(pending) = &mut self.blocking {
                    if pending.inflight.is_done() {
                        self.finish_blocking()?;
                    }
                }
                match got {
                    Some(frame) => break frame,
                    None => {
                        if deadline.is_some_and(|d| super::clock::now_usecs() >= d) {
                            return Ok(Err(PacketError::TimedOut));
                        }
                    }
                }
            };
            self.observer.packet(
                PacketDirection::Sniffed,
                frame.unix_usecs as i128 * 1000,
                &frame.bytes,
            );
            let packet = match parse_sniffed(&frame.bytes) {
                Ok(Sniffed::Packet(p)) => p,
                Ok(Sniffed::Skipped(_)) => continue,
                Err(e) => return Ok(Err(PacketError::Malformed(e))),
            };
            let facts = packet.facts();
            match self.state.socket_for_live_packet(&facts) {
                Some(id) if id == expected => return Ok(Ok((packet, frame.unix_usecs))),
                Some(_) => return Ok(Err(PacketError::OtherSocket)),
                None => continue,
            }
        }
    }

    /// The next outbound packet against the script's; `Err` when a blocking
    /// call completed meanwhile failed.
    fn outbound(
        &mut self,
        line: u32,
        time: &EventTime,
        template: &PacketTemplate,
        id: SocketId,
    ) -> Result<Result<(), PacketError>, Box<RunFailure>> {
        let script_tcp = template
            .packet
            .tcp()
            .map(|t| (t.syn(), t.ack(), t.seq_number()));
        let synack = matches!(script_tcp, Some((true, true, _)));
        if synack && self.state.sockets[id].phase == SocketPhase::PassivePacketReceived {
            self.state.sockets[id].script.local_isn = script_tcp.map_or(0, |t| t.2);
        }
        let expected_payload = template.packet.payload_len();
        let timeout = timing::sniff_timeout_secs(time, self.prev_time.unwrap_or(0));

        let mut fragments: Vec<IpPacket> = Vec::new();
        let mut last_time: Micros;
        let mut total = 0usize;
        loop {
            let (mut live, ts) = match self.sniff_for(id, timeout)? {
                Ok(sniffed) => sniffed,
                Err(e) => return Ok(Err(e)),
            };
            let s = &mut self.state.sockets[id];
            if synack && s.phase == SocketPhase::PassivePacketReceived {
                s.phase = SocketPhase::PassiveSynAckSent;
                s.live.local_isn = live.tcp().map_or(0, |t| t.seq_number());
            }
            if self.config.verbose {
                println!(
                    "outbound sniffed packet: {} {}",
                    secs9(self.clock.to_script(ts)),
                    short_dump(&live)
                );
            }
            if let Some(memo) = tcp_memo(&live) {
                let syn = memo.syn;
                let s = &mut self.state.sockets[id];
                s.last_outbound_tcp = Some(memo);
                let seq_offset = s.local_seq_script_to_live(syn).wrapping_neg();
                let ack_offset = s.remote_seq_script_to_live(syn).wrapping_neg();
                if let Err(e) = live.shift_tcp_sequence_space(seq_offset, ack_offset) {
                    return Ok(Err(PacketError::Mapping(e)));
                }
            }
            let live_payload = live.payload_len();
            if let Some(previous) = fragments.last() {
                if previous.tuple() != live.tuple() {
                    fragments.clear();
                    total = 0;
                } else if let Err(difference) =
                    super::verify::check_fragment(&live, previous, total, expected_payload)
                {
                    return Ok(Err(PacketError::Fragment {
                        difference: Box::new(difference),
                        script: Box::new(ShownPacket {
                            time: time.start,
                            dump: template.short_dump(),
                        }),
                        actual: fragments
                            .iter()
                            .chain(std::iter::once(&live))
                            .map(short_dump)
                            .collect(),
                    }));
                }
            }
            // The merged packet takes its time from the last segment.
            last_time = ts;
            self.frame_times.push(self.clock.to_script(ts));
            fragments.push(live);
            total += live_payload;
            if total >= expected_payload || self.config.strict_segments {
                break;
            }
        }
        if total != expected_payload {
            return Ok(Err(PacketError::PayloadLength {
                expected: expected_payload,
                actual: total,
            }));
        }
        let live = if fragments.len() == 1 {
            fragments.pop().unwrap_or_else(|| unreachable!())
        } else {
            match IpPacket::aggregate(&fragments) {
                Ok(merged) => merged,
                Err(e) => return Ok(Err(PacketError::Mapping(e))),
            }
        };
        Ok(self.verify_outbound(line, time, template, id, live, last_time))
    }

    fn verify_outbound(
        &mut self,
        line: u32,
        time: &EventTime,
        template: &PacketTemplate,
        id: SocketId,
        live: IpPacket,
        live_time: Micros,
    ) -> Result<(), PacketError> {
        let actual_time = self.clock.to_script(live_time);
        let mut actual = live.clone();
        let result = (|| -> Result<(), PacketError> {
            if !live.ipv4_checksums_ok() {
                return Err(PacketError::BadChecksum);
            }
            // Into script space: the script's TS val, then its tuple.
            if let (Ok(Some((script_val, script_ecr))), Ok(Some((live_val, live_ecr)))) =
                (template.packet.tcp_timestamp(), live.tcp_timestamp())
            {
                let s = &mut self.state.sockets[id];
                s.ts_val_map.insert(script_val, live_val);
                let baseline = *s.ts_baseline.get_or_insert(super::state::TsBaseline {
                    script_val,
                    live_val,
                    script_ecr,
                    live_ecr,
                });
                let mapped = baseline
                    .script_val
                    .wrapping_add(live_val.wrapping_sub(baseline.live_val));
                actual
                    .set_tcp_ts_val(mapped)
                    .map_err(PacketError::Mapping)?;
            }
            let (sp, dp) = template.packet.ports().unwrap_or((0, 0));
            let (script_src, script_dst) = (template.packet.src_addr(), template.packet.dst_addr());
            actual
                .set_tuple((script_src, sp), (script_dst, dp))
                .map_err(PacketError::Mapping)?;

            let ts_tolerance_usecs = super::verify::ts_tolerance_usecs(
                self.config.tolerance_usecs,
                self.config.tolerance_percent,
                time.start,
            );
            let s = &mut self.state.sockets[id];
            let mut opts = super::verify::VerifyOptions {
                ts_tick_usecs: self.config.tcp_ts_tick_usecs,
                ts_tolerance_usecs,
                flowlabel: &mut s.flowlabel_map,
            };
            super::verify::verify(template, &actual, &mut opts)
                .map_err(|d| PacketError::Differs(Box::new(d)))?;
            // The packet is the script's: its time counts.
            self.note_slack(line, time, actual_time, self.prev_time);
            timing::verify(
                time,
                actual_time,
                self.prev_time,
                self.tolerance,
                Timed::OutboundPacket,
            )
            .map_err(PacketError::Timing)
        })();
        result.map_err(|error| PacketError::Outbound {
            error: Box::new(error),
            script: Box::new(ShownPacket {
                time: time.start,
                dump: template.short_dump(),
            }),
            actual: Box::new(ShownPacket {
                time: actual_time,
                dump: short_dump(&actual),
            }),
        })
    }

    /// At the end of a successful run: a RST for a TCP connection left open
    /// (docs/engine/packets.md, "End-of-run resets").
    pub(crate) fn inject_reset(&mut self, id: SocketId) -> Result<(), Box<RunFailure>> {
        let s = &self.state.sockets[id];
        let Some((seq, ack, window)) = super::tracking::reset_segment(s) else {
            return Ok(());
        };
        let src = self.live_end(id, false);
        let dst = self.live_end(id, true);
        let packet =
            reset_packet(src, dst, seq, ack, window).map_err(|e| RunError::Reset(e).unlocated())?;
        let injected_at = super::clock::now_usecs();
        self.netdev
            .inject(packet.bytes())
            .map_err(|e| RunError::Device(e).unlocated())?;
        self.observer.packet(
            PacketDirection::Injected,
            injected_at as i128 * 1000,
            packet.bytes(),
        );
        Ok(())
    }
}

/// The TCP header fields remembered for the end-of-run reset.
fn tcp_memo(packet: &IpPacket) -> Option<TcpMemo> {
    let t = packet.tcp()?;
    Some(TcpMemo {
        seq: t.seq_number(),
        ack: t.ack_number(),
        window: t.window_len(),
        syn: t.syn(),
        fin: t.fin(),
        ack_flag: t.ack(),
        payload_len: packet.payload_len() as u32,
    })
}

/// A `R.` segment with the given live tuple, seq, ack and window, checksummed.
fn reset_packet(
    src: (IpAddr, u16),
    dst: (IpAddr, u16),
    seq: u32,
    ack: u32,
    window: u16,
) -> Result<IpPacket, packet::Error> {
    use crate::packet::{ipv4, ipv6, proto, tcp};
    let segment = tcp::Repr {
        src_port: src.1,
        dst_port: dst.1,
        seq,
        ack,
        flags: tcp::flag::RST | tcp::flag::ACK,
        window,
        urgent: 0,
        options: Vec::new(),
        payload_len: 0,
    };
    let tcp_len = segment.buffer_len();
    let (mut bytes, ip_len) = match (src.0, dst.0) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let mut bytes = vec![0u8; ipv4::HEADER_LEN + tcp_len];
            ipv4::Repr {
                src_addr: s,
                dst_addr: d,
                protocol: proto::TCP,
                payload_len: tcp_len,
                ttl: 255,
                tos: 0,
            }
            .emit(&mut ipv4::Packet::new_unchecked(&mut bytes[..]));
            (bytes, ipv4::HEADER_LEN)
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let mut bytes = vec![0u8; ipv6::HEADER_LEN + tcp_len];
            ipv6::Repr {
                src_addr: s,
                dst_addr: d,
                next_header: proto::TCP,
                payload_len: tcp_len,
                hop_limit: 255,
                traffic_class: 0,
                flow_label: 0,
            }
            .emit(&mut ipv6::Packet::new_unchecked(&mut bytes[..]));
            (bytes, ipv6::HEADER_LEN)
        }
        _ => return Err(packet::Error::new("reset: mixed address families")),
    };
    segment.emit(&mut tcp::Packet::new_unchecked(&mut bytes[ip_len..]))?;
    let mut packet = IpPacket::parse(bytes)?;
    packet.fill_checksums();
    Ok(packet)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resets_are_well_formed_in_both_families() {
        for (a, b) in [
            ("192.0.2.1", "192.168.0.1"),
            ("fd3d:fa7b:d17d::1", "fd3d:a0b:17d6::1"),
        ] {
            let p = reset_packet(
                (a.parse().unwrap(), 40000),
                (b.parse().unwrap(), 8080),
                5,
                7,
                257,
            )
            .unwrap();
            let t = p.tcp().unwrap();
            assert!(t.rst() && t.ack());
            assert_eq!(
                (t.seq_number(), t.ack_number(), t.window_len()),
                (5, 7, 257)
            );
            assert!(t.verify_checksum(&p.src_addr(), &p.dst_addr()));
            assert!(p.ipv4_checksums_ok());
        }
    }
}
