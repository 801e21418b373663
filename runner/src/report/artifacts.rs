//! Failure artifacts: one folder per failed attempt,
//! `DIR/<suite>/<script>/<ip version>/attempt-<N>/`, holding
//!
//! - `log.txt`: what the job printed, then the diagnostic;
//! - `packets.pcap`: every packet on tun0 (classic pcap, microsecond
//!   timestamps, `LINKTYPE_RAW`: each record is a bare IPv4 or IPv6 packet),
//!   readable by tcpdump and Wireshark; `packets.txt` lists them with their
//!   direction, which pcap cannot carry. Both are in time order on one clock
//!   (`CLOCK_REALTIME` at the engine's microsecond resolution: a sniffed
//!   packet's kernel timestamp, an injected packet's moment of injection), so
//!   an answer never comes before the packet that caused it;
//! - `expected-vs-actual.txt`: the script packet and the actual packet of a
//!   mismatch side by side, one field a row (when the engine reported a
//!   [`Mismatch`]); when the kernel sent several segments the script packet
//!   could not be merged from, one table per segment;
//! - `replay.sh`: the one command that replays this job alone.

use super::headline;
use crate::model::{Attempt, AttemptResult, JobRecord};
use crate::record::shell_quote;
use netdrill_engine::outcome::{Mismatch, PacketDirection};
use similar::{capture_diff_slices, Algorithm, DiffTag};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// pcap's magic for microsecond timestamps (the resolution of the engine's
/// packet times).
const PCAP_MAGIC_MICROS: u32 = 0xa1b2_c3d4;
/// LINKTYPE_RAW: the packet starts with an IPv4 or IPv6 header.
const LINKTYPE_RAW: u32 = 101;
const SNAPLEN: u32 = 262_144;

/// Write the artifacts of one failed attempt of `job` under `dir`; returns the
/// attempt's folder. `packets` are `(direction, unix nanoseconds, IP packet)`.
pub fn write<B: AsRef<[u8]>>(
    dir: &Path,
    job: &JobRecord,
    attempt: &Attempt,
    packets: &[(PacketDirection, i128, B)],
) -> io::Result<PathBuf> {
    let folder = dir
        .join(path_component(&job.id.suite))
        .join(path_component(&job.id.script))
        .join(path_component(&job.id.ip_version))
        .join(format!("attempt-{}", attempt.number));
    fs::create_dir_all(&folder)?;

    let mut log = attempt.log.clone();
    let message = attempt.message.trim_end();
    if !message.is_empty() && !log.trim_end().ends_with(message) {
        if !log.is_empty() && !log.ends_with('\n') {
            log.push('\n');
        }
        log.push_str(message);
        log.push('\n');
    }
    fs::write(folder.join("log.txt"), log)?;

    // In time order: a packet sniffed before an injection may be read after it.
    let mut in_order: Vec<&(PacketDirection, i128, B)> = packets.iter().collect();
    in_order.sort_by_key(|p| p.1);
    let mut pcap = Vec::new();
    write_pcap(&mut pcap, &in_order)?;
    fs::write(folder.join("packets.pcap"), pcap)?;
    fs::write(folder.join("packets.txt"), packet_list(&in_order))?;

    if let Some(mismatch) = &attempt.mismatch {
        let side_by_side = expected_vs_actual(headline(&attempt.message), mismatch);
        fs::write(folder.join("expected-vs-actual.txt"), side_by_side)?;
    }

    let replay = folder.join("replay.sh");
    fs::write(&replay, replay_script(job, attempt))?;
    set_executable(&replay)?;
    Ok(folder)
}

#[cfg(unix)]
fn set_executable(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))
}

#[cfg(not(unix))]
fn set_executable(_path: &Path) -> io::Result<()> {
    Ok(())
}

/// A name usable as one path component.
fn path_component(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| if c == '/' || c == '\0' { '_' } else { c })
        .collect();
    match cleaned.as_str() {
        "" => "_".into(),
        "." | ".." => cleaned.replace('.', "_"),
        _ => cleaned,
    }
}

/// Classic pcap with microsecond timestamps and raw IP link type, the
/// packets in the order given. `packets` are `(direction, unix nanoseconds,
/// IP packet)`.
pub fn write_pcap<P: std::borrow::Borrow<(PacketDirection, i128, B)>, B: AsRef<[u8]>>(
    out: &mut impl Write,
    packets: &[P],
) -> io::Result<()> {
    out.write_all(&PCAP_MAGIC_MICROS.to_le_bytes())?;
    out.write_all(&2u16.to_le_bytes())?;
    out.write_all(&4u16.to_le_bytes())?;
    out.write_all(&0i32.to_le_bytes())?; // thiszone
    out.write_all(&0u32.to_le_bytes())?; // sigfigs
    out.write_all(&SNAPLEN.to_le_bytes())?;
    out.write_all(&LINKTYPE_RAW.to_le_bytes())?;
    for p in packets {
        let (_, nanos, bytes) = p.borrow();
        let bytes = bytes.as_ref();
        let micros = (*nanos / 1000).clamp(0, i128::from(u32::MAX) * 1_000_000 + 999_999);
        let secs = (micros / 1_000_000) as u32;
        let frac = (micros % 1_000_000) as u32;
        let orig = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        let kept = &bytes[..bytes.len().min(SNAPLEN as usize)];
        out.write_all(&secs.to_le_bytes())?;
        out.write_all(&frac.to_le_bytes())?;
        out.write_all(&(kept.len() as u32).to_le_bytes())?;
        out.write_all(&orig.to_le_bytes())?;
        out.write_all(kept)?;
    }
    Ok(())
}

/// One line per packet: number, seconds since the first packet, direction, length.
fn packet_list<B: AsRef<[u8]>>(packets: &[&(PacketDirection, i128, B)]) -> String {
    let first = packets.first().map(|p| p.1).unwrap_or(0);
    let mut s = String::from(
        "# packets.pcap's packets, in time order: seconds since the first (a sniffed packet's kernel\n\
         # timestamp, an injected packet's moment of injection; one clock, microseconds)\n\
         # n  seconds  direction  bytes\n",
    );
    for (i, (dir, nanos, bytes)) in packets.iter().copied().enumerate() {
        let rel = nanos - first;
        let dir = match dir {
            PacketDirection::Injected => "injected (script -> kernel)",
            PacketDirection::Sniffed => "sniffed (kernel -> script)",
        };
        s.push_str(&format!(
            "{}  {}.{:06}  {}  {}\n",
            i + 1,
            rel / 1_000_000_000,
            (rel % 1_000_000_000).abs() / 1000,
            dir,
            bytes.as_ref().len()
        ));
    }
    s
}

/// The packets of a mismatch side by side, under the failure's headline: one row
/// per field (TCP options one row each), `|` where both agree, `!` where they
/// differ, `<` / `>` where only the script / only the kernel has the field. When
/// the kernel sent several segments the script packet could not be merged from
/// (one a line in [`Mismatch::actual_packet`]), the script packet is set
/// against each in turn.
pub fn expected_vs_actual(headline: &str, mismatch: &Mismatch) -> String {
    let script = mismatch.script_packet.trim();
    let segments: Vec<&str> = mismatch
        .actual_packet
        .as_deref()
        .map(|a| a.lines().map(str::trim).filter(|l| !l.is_empty()).collect())
        .unwrap_or_default();
    let mut out = String::new();
    out.push_str(headline);
    out.push_str("\n\n");
    if segments.is_empty() {
        side_by_side(&mut out, script, None, "actual packet (none)");
    }
    for (i, segment) in segments.iter().enumerate() {
        let title = if segments.len() == 1 {
            "actual packet".to_string()
        } else {
            format!("actual segment {} of {}", i + 1, segments.len())
        };
        if i > 0 {
            out.push('\n');
        }
        side_by_side(&mut out, script, Some(segment), &title);
    }
    out.push('\n');
    out.push_str("script packet: ");
    out.push_str(script);
    out.push('\n');
    match segments.as_slice() {
        [] => {}
        [one] => {
            out.push_str("actual packet: ");
            out.push_str(one);
            out.push('\n');
        }
        many => {
            out.push_str(&format!(
                "actual packets ({} segments the script packet could not be merged from):\n",
                many.len()
            ));
            for segment in many {
                out.push_str("  ");
                out.push_str(segment);
                out.push('\n');
            }
        }
    }
    out
}

/// One table: the script packet's fields against one actual packet's.
fn side_by_side(out: &mut String, script: &str, actual: Option<&str>, right_title: &str) {
    let rows = field_rows(
        &packet_fields(script),
        &actual.map(packet_fields).unwrap_or_default(),
    );
    let left_title = "script packet";
    let width = rows
        .iter()
        .map(|(a, _, _)| a.chars().count())
        .chain([left_title.len()])
        .max()
        .unwrap_or(0);
    out.push_str(&format!("{left_title:<width$} | {right_title}\n"));
    out.push_str(&format!(
        "{}-+-{}\n",
        "-".repeat(width),
        "-".repeat(right_title.len())
    ));
    for (a, mark, b) in rows {
        let line = format!("{a:<width$} {mark} {b}");
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

/// The rows of the side by side: the fields of both packets, aligned by a diff.
fn field_rows(left: &[String], right: &[String]) -> Vec<(String, char, String)> {
    let mut rows: Vec<(String, char, String)> = Vec::new();
    for op in capture_diff_slices(Algorithm::Myers, left, right) {
        let (tag, l, r) = op.as_tag_tuple();
        match tag {
            DiffTag::Equal => {
                for (a, b) in left[l].iter().zip(&right[r]) {
                    rows.push((a.clone(), '|', b.clone()));
                }
            }
            DiffTag::Delete => rows.extend(left[l].iter().map(|a| (a.clone(), '<', String::new()))),
            DiffTag::Insert => {
                rows.extend(right[r].iter().map(|b| (String::new(), '>', b.clone())))
            }
            DiffTag::Replace => {
                let (ls, rs) = (&left[l], &right[r]);
                for i in 0..ls.len().max(rs.len()) {
                    match (ls.get(i), rs.get(i)) {
                        (Some(a), Some(b)) => rows.push((a.clone(), '!', b.clone())),
                        (Some(a), None) => rows.push((a.clone(), '<', String::new())),
                        (None, Some(b)) => rows.push((String::new(), '>', b.clone())),
                        (None, None) => {}
                    }
                }
            }
        }
    }
    rows
}

/// Split a packet in script syntax into fields: words, with `ack N` / `win N` /
/// `urg N` kept together, and each TCP option of `<...>` its own field.
fn packet_fields(packet: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut rest = packet.trim();
    while !rest.is_empty() {
        if let Some(inner) = rest.strip_prefix('<') {
            let end = inner.find('>').unwrap_or(inner.len());
            for opt in inner[..end].split(',') {
                let opt = opt.trim();
                if !opt.is_empty() {
                    fields.push(format!("<{opt}>"));
                }
            }
            rest = inner.get(end + 1..).unwrap_or("").trim_start();
            continue;
        }
        let end = rest
            .find(|c: char| c.is_whitespace() || c == '<')
            .unwrap_or(rest.len());
        let word = &rest[..end];
        rest = rest[end..].trim_start();
        if matches!(word, "ack" | "win" | "urg") && !rest.is_empty() && !rest.starts_with('<') {
            let vend = rest
                .find(|c: char| c.is_whitespace() || c == '<')
                .unwrap_or(rest.len());
            fields.push(format!("{word} {}", &rest[..vend]));
            rest = rest[vend..].trim_start();
        } else {
            fields.push(word.to_string());
        }
    }
    fields
}

fn replay_script(job: &JobRecord, attempt: &Attempt) -> String {
    let command = if job.replay_command.trim().is_empty() {
        let mut words = vec![
            "unshare".to_string(),
            "-n".into(),
            "netdrill".into(),
            "packetdrill".into(),
        ];
        words.extend(job.args.iter().cloned());
        words.push(job.path.to_string_lossy().into_owned());
        words
            .iter()
            .map(|w| shell_quote(w))
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        job.replay_command.trim().to_string()
    };
    let why = headline(&attempt.message);
    let mut s = String::from("#!/bin/sh\n");
    s.push_str(&format!(
        "# Replays {}/{} ({}) alone; attempt {} {}{}{}\n",
        job.id.suite,
        job.id.script,
        job.id.ip_version,
        attempt.number,
        match attempt.result {
            AttemptResult::Pass => "passed",
            AttemptResult::Fail => "failed",
            AttemptResult::Timeout => "timed out",
            AttemptResult::Crash => "crashed",
        },
        if why.is_empty() { "" } else { ": " },
        why.replace(['\n', '\r'], " ")
    ));
    s.push_str(&command);
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_group_options_and_keyword_values() {
        assert_eq!(
            packet_fields("1.100000 S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 200,nop,wscale 8>"),
            vec![
                "1.100000", "S.", "0:0(0)", "ack 1", "win 65535", "<mss 1460>", "<sackOK>",
                "<TS val 100 ecr 200>", "<nop>", "<wscale 8>"
            ]
        );
        assert_eq!(
            packet_fields("0.2 . 1:1(0) ack"),
            vec!["0.2", ".", "1:1(0)", "ack"]
        );
        assert_eq!(packet_fields("0.2 <mss 1"), vec!["0.2", "<mss 1>"]);
    }

    fn mismatch(script: &str, actual: Option<&str>) -> Mismatch {
        Mismatch {
            field: "tcp_ack".into(),
            expected: "1".into(),
            actual: "2".into(),
            script_packet: script.into(),
            actual_packet: actual.map(String::from),
        }
    }

    #[test]
    fn side_by_side_marks_differences() {
        let headline = "a.pkt:12: error handling packet: live packet field tcp_ack: expected: 1 (0x1) vs actual: 2 (0x2)";
        let m = mismatch(
            "0.100000 . 1:1(0) ack 1 <nop,nop,TS val 100 ecr 200>",
            Some("0.100123 . 1:1(0) ack 2 win 257 <nop,nop,TS val 100 ecr 200> "),
        );
        let out = expected_vs_actual(headline, &m);
        assert_eq!(
            out,
            "a.pkt:12: error handling packet: live packet field tcp_ack: expected: 1 (0x1) vs actual: 2 (0x2)\n\
             \n\
             script packet        | actual packet\n\
             ---------------------+--------------\n\
             0.100000             ! 0.100123\n\
             .                    | .\n\
             1:1(0)               | 1:1(0)\n\
             ack 1                ! ack 2\n\
             \x20                    > win 257\n\
             <nop>                | <nop>\n\
             <nop>                | <nop>\n\
             <TS val 100 ecr 200> | <TS val 100 ecr 200>\n\
             \n\
             script packet: 0.100000 . 1:1(0) ack 1 <nop,nop,TS val 100 ecr 200>\n\
             actual packet: 0.100123 . 1:1(0) ack 2 win 257 <nop,nop,TS val 100 ecr 200>\n"
        );
        let only_script = expected_vs_actual(
            "x.pkt:5: error handling packet: Timed out waiting for packet",
            &mismatch("0.2 S 0:0(0)", None),
        );
        assert!(
            only_script.contains("script packet | actual packet (none)\n"),
            "{only_script}"
        );
        assert!(only_script.contains("S             <\n"), "{only_script}");
    }

    #[test]
    fn artifacts_compare_packets_only_for_a_mismatch() {
        let dir = tempfile::tempdir().unwrap();
        let job = JobRecord {
            id: crate::model::JobId {
                suite: "s".into(),
                script: "a.pkt".into(),
                ip_version: "ipv4".into(),
            },
            path: "a.pkt".into(),
            args: vec![],
            verdict: crate::model::Verdict::Fail,
            skip_reason: None,
            xfail_reason: None,
            attempts: vec![],
            replay_command: String::new(),
        };
        let mut attempt = Attempt {
            number: 1,
            result: AttemptResult::Fail,
            start_unix: 0.0,
            duration_secs: 0.0,
            cpu_secs: None,
            max_rss_kib: None,
            line: Some(3),
            kind: None,
            // Packet lines in the text alone do not make a comparison.
            message: "a.pkt:3: error\nscript packet:  0.1 S 0:0(0)\n".into(),
            mismatch: None,
            timing_slack: None,
            log: String::new(),
            artifacts: None,
        };
        let none: &[(PacketDirection, i128, Vec<u8>)] = &[];
        let folder = write(dir.path(), &job, &attempt, none).unwrap();
        assert!(!folder.join("expected-vs-actual.txt").exists());
        attempt.number = 2;
        attempt.mismatch = Some(mismatch("0.1 S 0:0(0)", Some("0.1 S. 0:0(0)")));
        let folder = write(dir.path(), &job, &attempt, none).unwrap();
        let side = fs::read_to_string(folder.join("expected-vs-actual.txt")).unwrap();
        assert!(side.starts_with("a.pkt:3: error\n\n"), "{side}");
        assert!(side.contains("\nS             ! S.\n"), "{side}");
    }

    #[test]
    fn several_segments_are_each_set_against_the_script_packet() {
        let m = mismatch(
            "0.100000 P. 1:2001(2000) ack 1",
            Some("0.100050 . 1:1001(1000) ack 1\n0.100060 P. 1001:2001(1000) ack 1\n"),
        );
        let out = expected_vs_actual("a.pkt:9: error handling packet", &m);
        assert!(!out.contains("(none)"), "{out}");
        assert!(
            out.contains("script packet | actual segment 1 of 2\n"),
            "{out}"
        );
        assert!(out.contains("1:2001(2000)  ! 1:1001(1000)\n"), "{out}");
        assert!(
            out.contains("script packet | actual segment 2 of 2\n"),
            "{out}"
        );
        assert!(out.contains("1:2001(2000)  ! 1001:2001(1000)\n"), "{out}");
        assert!(out.ends_with(
            "actual packets (2 segments the script packet could not be merged from):\n\
             \x20 0.100050 . 1:1001(1000) ack 1\n\
             \x20 0.100060 P. 1001:2001(1000) ack 1\n"
        ));
    }

    #[test]
    fn packets_are_written_in_time_order_in_microseconds() {
        let dir = tempfile::tempdir().unwrap();
        let job = JobRecord {
            id: crate::model::JobId {
                suite: "s".into(),
                script: "a.pkt".into(),
                ip_version: "ipv4".into(),
            },
            path: "a.pkt".into(),
            args: vec![],
            verdict: crate::model::Verdict::Fail,
            skip_reason: None,
            xfail_reason: None,
            attempts: vec![],
            replay_command: String::new(),
        };
        let attempt = Attempt {
            number: 1,
            result: AttemptResult::Fail,
            start_unix: 0.0,
            duration_secs: 0.0,
            cpu_secs: None,
            max_rss_kib: None,
            line: None,
            kind: None,
            message: String::new(),
            mismatch: None,
            timing_slack: None,
            log: String::new(),
            artifacts: None,
        };
        // Read in this order; the sniffed one is older.
        let packets = vec![
            (
                PacketDirection::Injected,
                2_000_000_005_000i128,
                vec![0x45u8; 20],
            ),
            (
                PacketDirection::Sniffed,
                2_000_000_001_000i128,
                vec![0x45u8; 40],
            ),
        ];
        let folder = write(dir.path(), &job, &attempt, &packets).unwrap();
        let pcap = fs::read(folder.join("packets.pcap")).unwrap();
        assert_eq!(&pcap[..4], &0xa1b2_c3d4u32.to_le_bytes());
        let first = &pcap[24..40];
        assert_eq!(u32::from_le_bytes(first[0..4].try_into().unwrap()), 2000);
        assert_eq!(u32::from_le_bytes(first[4..8].try_into().unwrap()), 1);
        assert_eq!(u32::from_le_bytes(first[8..12].try_into().unwrap()), 40);
        let list = fs::read_to_string(folder.join("packets.txt")).unwrap();
        assert!(
            list.ends_with(
                "1  0.000000  sniffed (kernel -> script)  40\n2  0.000004  injected (script -> kernel)  20\n"
            ),
            "{list}"
        );
    }

    #[test]
    fn path_components_stay_inside() {
        assert_eq!(path_component("../x"), ".._x");
        assert_eq!(path_component(".."), "__");
        assert_eq!(path_component(""), "_");
    }
}
