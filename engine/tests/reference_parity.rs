//! Parity with a reference packetdrill binary in `--dry_run` mode (parse and
//! parse-time checks only): same verdict, and for rejected scripts the same
//! first diagnostic line. Needs the binary, so it is ignored by default:
//!
//! ```text
//! NETDRILL_REF_PACKETDRILL=/work/ref/gtests/net/packetdrill/packetdrill \
//!   cargo test -p netdrill-engine --test reference_parity -- --ignored
//! ```
//!
//! packetdrill runs under `unshare -n` (a dry run touches no network, but it
//! must never see the host's). Covered: the shared corpus and
//! `tests/malformed/`. Known, deliberate differences are listed below.

use netdrill_engine::script::parse;
use std::path::{Path, PathBuf};
use std::process::Command;

const DEFINES: &[(&str, &str)] = &[
    ("TFO_COOKIE", "3021b9d889017eeb"),
    ("TFO_COOKIE_ZERO", "b7c12350a90dc8f5"),
    ("CMSG_LEVEL_IP", "SOL_IP"),
    ("CMSG_TYPE_RECVERR", "IP_RECVERR"),
];

/// Scripts packetdrill accepts (or handles differently) on purpose.
const DEVIATIONS: &[(&str, &str)] = &[
    (
        "huge_number.pkt",
        "packetdrill saturates out-of-range literals silently",
    ),
    (
        "huge_hex_number.pkt",
        "packetdrill saturates out-of-range literals silently",
    ),
    (
        "huge_time.pkt",
        "packetdrill overflows the microsecond conversion",
    ),
    ("deep_nesting.pkt", "netdrill limits nesting to 100 levels"),
    (
        "bad_sa_family.pkt",
        "packetdrill leaves the expression uninitialized",
    ),
    (
        "non_ascii_character.pkt",
        "packetdrill reads a byte >= 0x80 as the end of the script",
    ),
    ("non_utf8_in_string.pkt", "netdrill strings are UTF-8"),
    (
        "negative_time.pkt",
        "packetdrill names the previous statement's line",
    ),
];

/// packetdrill errors that are not about parsing (configuration, IP-version
/// dependent names): netdrill's planner reports them, its parser accepts.
const NOT_PARSE_ERRORS: &[&str] = &[
    "bad ICMP",
    "PSP requires",
    "bad IPv4 address",
    "bad IPv6 address",
    ": bad --",
];

fn files() -> Vec<PathBuf> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = std::env::var_os("NETDRILL_CORPUS")
        .map(PathBuf::from)
        .or_else(|| {
            [
                manifest.join("../../shared/corpus"),
                manifest.join("../../../shared/corpus"),
            ]
            .into_iter()
            .find(|p| p.is_dir())
        })
        .expect("corpus: set NETDRILL_CORPUS");
    let mut out = Vec::new();
    for dir in [corpus, manifest.join("tests/malformed")] {
        let mut stack = vec![dir];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "pkt") {
                    out.push(p);
                }
            }
        }
    }
    out.sort();
    out
}

#[test]
#[ignore = "needs a reference packetdrill binary (NETDRILL_REF_PACKETDRILL)"]
fn dry_run_verdicts_match_packetdrill() {
    let reference = std::env::var_os("NETDRILL_REF_PACKETDRILL")
        .expect("set NETDRILL_REF_PACKETDRILL to a packetdrill binary");
    let defines: Vec<(String, String)> = DEFINES
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut problems = Vec::new();
    let files = files();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if DEVIATIONS.iter().any(|(n, _)| *n == name) {
            continue;
        }
        let dir = path.parent().unwrap();
        let mut cmd = Command::new("unshare");
        cmd.arg("-n").arg(&reference).arg("--dry_run");
        for (k, v) in DEFINES {
            cmd.arg("-D").arg(format!("{k}={v}"));
        }
        let out = cmd
            .arg(&name)
            .current_dir(dir)
            .output()
            .expect("run packetdrill");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let theirs = stderr.lines().next().unwrap_or("").to_string();
        let src = std::fs::read(path).unwrap();
        let ours = parse(&src, &defines).map_err(|f| f.diagnostic);
        let same = match (&ours, out.status.success()) {
            (Ok(_), true) => true,
            (Ok(_), false) => NOT_PARSE_ERRORS.iter().any(|k| theirs.contains(k)),
            (Err(_), true) => false,
            (Err(d), false) => {
                theirs.starts_with("assertion ") || d.packetdrill_line(&name) == theirs
            }
        };
        if !same {
            let ours = match ours {
                Ok(_) => "accepted".to_string(),
                Err(d) => d.packetdrill_line(&name),
            };
            problems.push(format!(
                "{}\n  packetdrill: {theirs}\n  netdrill:    {ours}",
                path.display()
            ));
        }
    }
    assert!(files.len() > 200, "only {} files", files.len());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
