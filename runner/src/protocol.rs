//! The job pipe protocol: what the runner tells the job child ([`JobSpec`], as
//! `netdrill __job --result-fd N --spec JSON`) and what the job child tells the
//! runner ([`JobMessage`], one JSON object a line on the pipe whose write end is
//! fd N). Both sides ([`crate::job_child`] writes, [`crate::process`] reads)
//! use these types; nothing is scraped from text.

use netdrill_engine::outcome::{Outcome, PacketDirection};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Exit status of the job process when its sandbox could not be built.
pub const EXIT_SANDBOX: i32 = 3;

/// At most this many bytes of packets are forwarded per job (when they are
/// captured at all); later packets are only counted.
pub const PACKET_CAPTURE_LIMIT: usize = 4 << 20;

/// What the runner tells the job child.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobSpec {
    /// The script's folder: the working directory.
    pub dir: PathBuf,
    /// The script, relative to `dir`.
    pub script: String,
    /// packetdrill arguments.
    pub args: Vec<String>,
    pub sysctls: Vec<(String, String)>,
    /// The job's caps.
    #[serde(default)]
    pub limits: crate::model::Limits,
    /// The job process is in a cgroup leaf that holds the job to its memory
    /// and process caps ([`crate::process::cgroup`]).
    #[serde(default)]
    pub in_cgroup: bool,
    /// Forward every packet on tun0 ([`JobMessage::Packet`]), for failure
    /// artifacts.
    #[serde(default)]
    pub capture_packets: bool,
    /// Which reaction the run's relative times count from.
    #[serde(default)]
    pub reaction: netdrill_engine::run::reaction::Reaction,
}

/// What the job child tells the runner, one JSON object a line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum JobMessage {
    /// The engine started the event on this script line.
    Line { line: u32 },
    /// A line of packetdrill's `-v` output.
    Verbose { text: String },
    /// A packet on tun0 (only when [`JobSpec::capture_packets`] is set): the
    /// whole IP packet in lowercase hex, with its wall-clock time.
    Packet {
        direction: PacketDirection,
        unix_nanos: i64,
        hex: String,
    },
    /// Packets past [`PACKET_CAPTURE_LIMIT`] that were not forwarded.
    PacketsDropped { packets: u64, bytes: u64 },
    /// The sandbox could not be built; the script did not run.
    SandboxFailed { message: String },
    /// The job went over one of its caps (or reached one that the kernel
    /// holds it to), as the job process saw; sent once per cap.
    LimitReached { limit: crate::model::LimitKind },
    /// The run ended.
    Finished { outcome: Outcome },
}

/// Bytes as lowercase hex.
pub fn hex_encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

/// The bytes of a hex string (either case); `None` if it is not one.
pub fn hex_decode(hex: &str) -> Option<Vec<u8>> {
    let digits = hex.as_bytes();
    if digits.len() % 2 != 0 {
        return None;
    }
    let nibble = |c: u8| {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    digits
        .chunks_exact(2)
        .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        let bytes: Vec<u8> = (0..=255).collect();
        let hex = hex_encode(&bytes);
        assert!(hex.starts_with("000102") && hex.ends_with("fdfeff"));
        assert_eq!(hex_decode(&hex), Some(bytes));
        assert_eq!(hex_decode("ABcd"), Some(vec![0xab, 0xcd]));
        assert_eq!(hex_decode(""), Some(vec![]));
        assert_eq!(hex_decode("abc"), None);
        assert_eq!(hex_decode("zz"), None);
        assert_eq!(hex_decode("+1"), None);
    }

    #[test]
    fn packet_messages_are_one_json_line() {
        let msg = JobMessage::Packet {
            direction: PacketDirection::Sniffed,
            unix_nanos: 1_700_000_000_123_456_789,
            hex: hex_encode(&[0x45, 0, 0, 20]),
        };
        let line = serde_json::to_string(&msg).unwrap();
        assert_eq!(
            line,
            r#"{"event":"packet","direction":"Sniffed","unix_nanos":1700000000123456789,"hex":"45000014"}"#
        );
        assert_eq!(serde_json::from_str::<JobMessage>(&line).unwrap(), msg);
        // A spec from an older runner has no capture flag.
        let spec: JobSpec =
            serde_json::from_str(r#"{"dir":"/d","script":"a.pkt","args":[],"sysctls":[]}"#)
                .unwrap();
        assert!(!spec.capture_packets);
    }
}
