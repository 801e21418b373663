//! Packet events (engine spec section 10): inject inbound script packets into
//! tun0 with live addresses, ports and sequence numbers; sniff the kernel's
//! outbound packets, map them back into script space, and check them against
//! the script, field by field and in time.

use super::runtime::{fatal, Fatal, Runtime};
use super::state::{SocketId, SocketPhase, TcpMemo};
use super::timing::{self, EventTime, Timed};
use crate::outcome::{FailureKind, Mismatch, PacketDirection};
use crate::packet::dump::short_dump;
use crate::packet::ip_packet::IpPacket;
use crate::packet::sniffed::{parse_sniffed, Sniffed};
use crate::plan::PacketTemplate;
use crate::script::{Direction, Event, Micros};
use std::net::IpAddr;

/// How a packet event went wrong.
struct PacketError {
    detail: String,
    /// Whether `--non_fatal=packet` turns it into a warning.
    non_fatal: bool,
    mismatch: Option<Box<Mismatch>>,
}

impl PacketError {
    fn fatal(detail: impl Into<String>) -> Self {
        PacketError {
            detail: detail.into(),
            non_fatal: false,
            mismatch: None,
        }
    }
}

/// `%9.6f` of script microseconds, as packetdrill prints packet times.
fn secs9(usecs: Micros) -> String {
    format!("{:9.6}", usecs as f64 / 1e6)
}

impl Runtime<'_> {
    pub(crate) fn run_packet(
        &mut self,
        index: usize,
        event: &Event,
        time: &EventTime,
    ) -> Result<(), Fatal> {
        let plan = self.plan;
        let Some(template) = plan.packet(index) else {
            return Err(fatal(
                FailureKind::Internal,
                Some(event.line),
                self.at_line(event.line, "packet event without a packet template"),
            ));
        };
        let facts = template.facts();
        let found = self.state.socket_for_script_packet(
            template.direction,
            &facts,
            self.addrs,
            &mut self.ports,
        );
        let result = match found {
            Err(e) => Err(PacketError::fatal(e.to_string())),
            Ok(id) => match template.direction {
                Direction::Outbound => self.outbound(time, template, id),
                Direction::Inbound => {
                    self.wait_for(event, time, Timed::InboundPacket)?;
                    self.inbound(template, id)
                }
            },
        };
        match result {
            Ok(()) => Ok(()),
            Err(e) if e.non_fatal && self.config.non_fatal_packet => {
                let warning =
                    self.at_line(event.line, format!("warning handling packet: {}", e.detail));
                self.warnings.push(warning);
                Ok(())
            }
            Err(e) => {
                let kind = if e.detail.starts_with("timing error") {
                    FailureKind::Timing
                } else {
                    FailureKind::Packet
                };
                let mut f = fatal(
                    kind,
                    Some(event.line),
                    self.at_line(event.line, format!("error handling packet: {}", e.detail)),
                );
                f.mismatch = e.mismatch.map(|m| *m);
                Err(f)
            }
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
        packet
            .set_tuple(src, dst)
            .map_err(|e| PacketError::fatal(e.to_string()))?;

        let s = &self.state.sockets[id];
        if let Some(echoed) = packet.echoed_tcp_seq() {
            packet.set_echoed_tcp_seq(echoed.wrapping_add(s.local_seq_script_to_live(false)));
        }
        if let Some((syn, ack, _)) = tcp {
            let seq_offset = s.remote_seq_script_to_live(syn);
            let ack_offset = s.local_seq_script_to_live(syn);
            packet
                .shift_tcp_sequence_space(seq_offset, ack_offset)
                .map_err(|e| PacketError::fatal(e.to_string()))?;
            if ack {
                if let Some((_, script_ecr)) = packet
                    .tcp_timestamp()
                    .map_err(|e| PacketError::fatal(e.to_string()))?
                {
                    let live_ecr = if let Some(live) = s.ts_val_map.get(&script_ecr) {
                        *live
                    } else if let (true, Some(b)) = (self.config.tcp_ts_ecr_scaled, s.ts_baseline) {
                        script_ecr
                            .wrapping_sub(b.script_val)
                            .wrapping_add(b.live_val)
                    } else {
                        return Err(PacketError::fatal(format!(
                            "unable to infer live TS ecr for script TS ecr {script_ecr};  \
                             no matching or preceding outbound TS val"
                        )));
                    };
                    packet
                        .set_tcp_ts_ecr(live_ecr)
                        .map_err(|e| PacketError::fatal(e.to_string()))?;
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
        self.netdev
            .inject(packet.bytes())
            .map_err(|e| PacketError::fatal(e.to_string()))?;
        self.observer.packet(
            PacketDirection::Injected,
            super::clock::now_usecs() as i128 * 1000,
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
    ) -> Result<Result<(IpPacket, Micros), PacketError>, Fatal> {
        loop {
            let deadline = timeout_secs.map(|t| super::clock::now_usecs() + t * 1_000_000);
            let frame = loop {
                // With a blocking call in flight, its return wakes the wait
                // too, so that it completes at once.
                let wake = self.blocking.as_ref().map(|b| b.inflight.wake());
                let got = match self.netdev.next_outbound(deadline, wake) {
                    Ok(got) => got,
                    Err(e) => return Ok(Err(PacketError::fatal(e.to_string()))),
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
                            return Ok(Err(PacketError::fatal("Timed out waiting for packet")));
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
                Err(e) => return Ok(Err(PacketError::fatal(e.to_string()))),
            };
            let facts = packet.facts();
            match self.state.socket_for_live_packet(&facts) {
                Some(id) if id == expected => return Ok(Ok((packet, frame.unix_usecs))),
                Some(_) => return Ok(Err(PacketError::fatal("packet is not for expected socket"))),
                None => continue,
            }
        }
    }

    fn outbound(
        &mut self,
        time: &EventTime,
        template: &PacketTemplate,
        id: SocketId,
    ) -> Result<(), PacketError> {
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
            let (mut live, ts) = match self.sniff_for(id, timeout) {
                Ok(r) => r?,
                Err(fatal_error) => {
                    return Err(PacketError {
                        detail: fatal_error.message.clone(),
                        non_fatal: false,
                        mismatch: None,
                    })
                }
            };
            let s = &mut self.state.sockets[id];
            if synack && s.phase == SocketPhase::PassivePacketReceived {
                s.phase = SocketPhase::PassiveSynAckSent;
                s.live.local_isn = live.tcp().map_or(0, |t| t.seq_number());
            }
            if self.config.verbose {
                println!(
                    "outbound sniffed packet: {} {}",
                    secs9(ts - self.start),
                    short_dump(&live)
                );
            }
            if let Some(memo) = tcp_memo(&live) {
                let syn = memo.syn;
                let s = &mut self.state.sockets[id];
                s.last_outbound_tcp = Some(memo);
                let seq_offset = s.local_seq_script_to_live(syn).wrapping_neg();
                let ack_offset = s.remote_seq_script_to_live(syn).wrapping_neg();
                live.shift_tcp_sequence_space(seq_offset, ack_offset)
                    .map_err(|e| PacketError::fatal(e.to_string()))?;
            }
            let live_payload = live.payload_len();
            if let Some(previous) = fragments.last() {
                if previous.tuple() != live.tuple() {
                    fragments.clear();
                    total = 0;
                } else if let Err(detail) =
                    super::verify::check_fragment(&live, previous, total, expected_payload)
                {
                    let mut message = detail.to_string();
                    message.push_str(&format!(
                        "\nscript packet: {} {}",
                        secs9(time.start),
                        template.short_dump()
                    ));
                    for (i, f) in fragments.iter().chain(std::iter::once(&live)).enumerate() {
                        message.push_str(&format!("\nactual #{i} packet: {}", short_dump(f)));
                    }
                    return Err(PacketError::fatal(message));
                }
            }
            // The merged packet takes its time from the last segment.
            last_time = ts;
            fragments.push(live);
            total += live_payload;
            if total >= expected_payload || self.config.strict_segments {
                break;
            }
        }
        if total != expected_payload {
            return Err(PacketError::fatal(format!(
                "live packet payload: expected {expected_payload} bytes vs actual {total} bytes"
            )));
        }
        let live = if fragments.len() == 1 {
            fragments.pop().unwrap_or_else(|| unreachable!())
        } else {
            IpPacket::aggregate(&fragments).map_err(|e| PacketError::fatal(e.to_string()))?
        };
        self.verify_outbound(time, template, id, live, last_time)
    }

    fn verify_outbound(
        &mut self,
        time: &EventTime,
        template: &PacketTemplate,
        id: SocketId,
        live: IpPacket,
        live_time: Micros,
    ) -> Result<(), PacketError> {
        let actual_time = live_time - self.start;
        let mut actual = live.clone();
        let result = (|| -> Result<(), PacketError> {
            if !live.ipv4_checksums_ok() {
                return Err(PacketError::fatal("bad outbound IP checksum"));
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
                    .map_err(|e| PacketError::fatal(e.to_string()))?;
            }
            let (sp, dp) = template.packet.ports().unwrap_or((0, 0));
            let (script_src, script_dst) = (template.packet.src_addr(), template.packet.dst_addr());
            actual
                .set_tuple((script_src, sp), (script_dst, dp))
                .map_err(|e| PacketError::fatal(e.to_string()))?;

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
            super::verify::verify(template, &actual, &mut opts).map_err(|d| {
                let script_dump = template.short_dump();
                let actual_dump = short_dump(&actual);
                PacketError {
                    detail: d.message.clone(),
                    non_fatal: d.recoverable,
                    mismatch: Some(Box::new(d.into_mismatch(script_dump, Some(actual_dump)))),
                }
            })?;
            timing::verify(
                time,
                actual_time,
                self.prev_time,
                self.tolerance,
                Timed::OutboundPacket,
            )
            .map_err(|e| PacketError {
                detail: e.to_string(),
                non_fatal: true,
                mismatch: None,
            })
        })();
        result.map_err(|mut e| {
            e.detail.push_str(&format!(
                "\nscript packet: {} {}\nactual packet: {} {}",
                secs9(time.start),
                template.short_dump(),
                secs9(actual_time),
                short_dump(&actual)
            ));
            e
        })
    }

    /// At the end of a successful run: a RST for a TCP connection left open
    /// (engine spec section 11).
    pub(crate) fn inject_reset(&mut self, id: SocketId) -> Result<(), Fatal> {
        let s = &self.state.sockets[id];
        let Some((seq, ack, window)) = super::tracking::reset_segment(s) else {
            return Ok(());
        };
        let src = self.live_end(id, false);
        let dst = self.live_end(id, true);
        let packet = reset_packet(src, dst, seq, ack, window)
            .map_err(|e| fatal(FailureKind::Internal, None, format!("{}: {e}", self.path)))?;
        self.netdev
            .inject(packet.bytes())
            .map_err(|e| fatal(FailureKind::Setup, None, format!("{}: {e}", self.path)))?;
        self.observer.packet(
            PacketDirection::Injected,
            super::clock::now_usecs() as i128 * 1000,
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
) -> Result<IpPacket, String> {
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
        _ => return Err("reset: mixed address families".into()),
    };
    segment
        .emit(&mut tcp::Packet::new_unchecked(&mut bytes[ip_len..]))
        .map_err(|e| e.to_string())?;
    let mut packet = IpPacket::parse(bytes).map_err(|e| e.to_string())?;
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
