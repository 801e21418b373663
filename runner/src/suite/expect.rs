//! A suite's expected failures: the `[[xfail]]` entries of its `suite.toml`
//! (the file as a whole is read by [`super::SuiteConfig::load`], which hands
//! the entries here):
//!
//! ```toml
//! [[xfail]]
//! script = "tcp_accecn_*.pkt"   # a file name, a glob: `*` any text, `?` one character, `[...]` one of
//! reason = "AccECN is not in this kernel"
//! kernel = "<6.20"              # optional: only on these kernel releases
//! ip_version = "ipv6"           # optional: only this IP version
//! when_slow = true              # optional: only when KSFT_MACHINE_SLOW is set
//! flaky = true                  # optional: the failure is possible, not certain
//! ```
//!
//! `kernel` is a comma-separated list of comparisons that must all hold, each
//! `<`, `<=`, `>`, `>=` or `=` followed by a version (`6`, `6.13`, `6.13.2`); a bare
//! version means `=`. `=6.13` matches every 6.13.x release. The release's leading
//! numbers are compared (`6.18.0-rc3-debug` is 6.18.0).
//!
//! Discovery applies them to each job ([`crate::model::Job::xfail`]); the
//! scheduler then does not retry an expected failure and turns the verdict into
//! XFAIL. A pass is XPASS (a failure of the run) only when the entry says the
//! failure is certain, as kselftest's `KSFT_XPASS` means; an entry with
//! `when_slow` or `flaky` only says the job may fail (timing on a slow machine,
//! as `ksft_runner.sh` treats every failure under `KSFT_MACHINE_SLOW`), so a
//! pass stays a plain pass ([`Expectation`]).

use crate::model::{Expectation, ExpectedFailure, JobId};
use netdrill_engine::IpVersion;
use serde::Deserialize;
use std::cmp::Ordering;
use std::fmt;
use std::path::{Path, PathBuf};

/// Why the `[[xfail]]` entries of `suite.toml` could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ExpectError {
    #[error("{path}: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error(
        "{path}: [[xfail]] number {index} (script = {script:?}): bad kernel range {range:?}: {why}"
    )]
    KernelRange {
        path: PathBuf,
        index: usize,
        script: String,
        range: String,
        why: String,
    },
    #[error(
        "{path}: [[xfail]] number {index} (script = {script:?}): unknown ip_version {ip_version:?} (expected ipv4, ipv6 or ipv4-mapped-ipv6)"
    )]
    IpVersion {
        path: PathBuf,
        index: usize,
        script: String,
        ip_version: String,
    },
    #[error("{path}: [[xfail]] number {index}: empty script pattern")]
    EmptyScript { path: PathBuf, index: usize },
    #[error("{path}: [[xfail]] number {index}: bad script pattern {script:?}: {why}")]
    ScriptPattern {
        path: PathBuf,
        index: usize,
        script: String,
        why: String,
    },
}

/// Just the `[[xfail]]` entries of a `suite.toml`, for [`Expectations::parse`].
#[derive(Deserialize)]
struct XfailOnly {
    #[serde(default)]
    xfail: Vec<XfailEntry>,
}

/// One `[[xfail]]` entry as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XfailEntry {
    script: String,
    reason: String,
    #[serde(default)]
    kernel: Option<String>,
    #[serde(default)]
    ip_version: Option<String>,
    #[serde(default)]
    when_slow: bool,
    #[serde(default)]
    flaky: bool,
}

/// One expected failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Xfail {
    /// Which script file names it is about.
    pub script: glob::Pattern,
    pub reason: String,
    pub kernel: Option<KernelRange>,
    pub ip_version: Option<String>,
    pub when_slow: bool,
    /// The failure is possible, not certain (`flaky = true`, or `when_slow`):
    /// a pass is a plain pass, not XPASS.
    pub flaky: bool,
}

impl Xfail {
    /// How surely the failure comes.
    pub fn expectation(&self) -> Expectation {
        if self.flaky || self.when_slow {
            Expectation::MayFail
        } else {
            Expectation::Fails
        }
    }
}

/// A suite's expected failures.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expectations {
    pub xfails: Vec<Xfail>,
}

impl Expectations {
    /// The `[[xfail]]` entries of a `suite.toml` text (`path` is for messages);
    /// its other keys are not looked at.
    pub fn parse(text: &str, path: &Path) -> Result<Expectations, ExpectError> {
        let file: XfailOnly = toml::from_str(text).map_err(|source| ExpectError::Parse {
            path: path.to_path_buf(),
            source: Box::new(source),
        })?;
        Expectations::from_entries(file.xfail, path)
    }

    /// Check entries as read from `path` (for messages).
    pub fn from_entries(
        entries: Vec<XfailEntry>,
        path: &Path,
    ) -> Result<Expectations, ExpectError> {
        let mut xfails = Vec::with_capacity(entries.len());
        for (i, x) in entries.into_iter().enumerate() {
            if x.script.is_empty() {
                return Err(ExpectError::EmptyScript {
                    path: path.to_path_buf(),
                    index: i + 1,
                });
            }
            let script = glob::Pattern::new(&x.script).map_err(|e| ExpectError::ScriptPattern {
                path: path.to_path_buf(),
                index: i + 1,
                script: x.script.clone(),
                why: e.msg.to_string(),
            })?;
            let kernel = match &x.kernel {
                None => None,
                Some(k) => Some(
                    KernelRange::parse(k).map_err(|why| ExpectError::KernelRange {
                        path: path.to_path_buf(),
                        index: i + 1,
                        script: x.script.clone(),
                        range: k.clone(),
                        why,
                    })?,
                ),
            };
            if let Some(v) = &x.ip_version {
                if IpVersion::parse(v).is_none() {
                    return Err(ExpectError::IpVersion {
                        path: path.to_path_buf(),
                        index: i + 1,
                        script: x.script.clone(),
                        ip_version: v.clone(),
                    });
                }
            }
            xfails.push(Xfail {
                script,
                reason: x.reason,
                kernel,
                ip_version: x.ip_version,
                when_slow: x.when_slow,
                flaky: x.flaky,
            });
        }
        Ok(Expectations { xfails })
    }

    /// The reason `job` is expected to fail on `kernel_release`, if it is (the first
    /// matching entry wins). `machine_slow`: whether `KSFT_MACHINE_SLOW` is set,
    /// which `when_slow` entries need.
    pub fn applies(&self, job: &JobId, kernel_release: &str, machine_slow: bool) -> Option<&str> {
        self.entry_for(job, kernel_release, machine_slow)
            .map(|x| x.reason.as_str())
    }

    /// The expected failure of `job` (reason and how sure), if an entry applies.
    pub fn expected(
        &self,
        job: &JobId,
        kernel_release: &str,
        machine_slow: bool,
    ) -> Option<ExpectedFailure> {
        self.entry_for(job, kernel_release, machine_slow)
            .map(|x| ExpectedFailure {
                reason: x.reason.clone(),
                expectation: x.expectation(),
            })
    }

    /// The first entry that applies to `job`.
    fn entry_for(&self, job: &JobId, kernel_release: &str, machine_slow: bool) -> Option<&Xfail> {
        self.xfails.iter().find(|x| {
            x.script.matches(&job.script)
                && x.ip_version.as_deref().is_none_or(|v| v == job.ip_version)
                && (!x.when_slow || machine_slow)
                && x.kernel.as_ref().is_none_or(|k| k.contains(kernel_release))
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
}

/// A set of kernel releases: comparisons that must all hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelRange {
    bounds: Vec<(Op, Vec<u64>)>,
    text: String,
}

impl fmt::Display for KernelRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl KernelRange {
    /// Parse `<6.20`, `>=6.12, <6.14`, `6.13`...
    pub fn parse(text: &str) -> Result<KernelRange, String> {
        let mut bounds = Vec::new();
        for part in text.split(',') {
            let part = part.trim();
            if part.is_empty() {
                return Err("empty comparison".into());
            }
            let (op, rest) = if let Some(r) = part.strip_prefix("<=") {
                (Op::Le, r)
            } else if let Some(r) = part.strip_prefix(">=") {
                (Op::Ge, r)
            } else if let Some(r) = part.strip_prefix("==") {
                (Op::Eq, r)
            } else if let Some(r) = part.strip_prefix('<') {
                (Op::Lt, r)
            } else if let Some(r) = part.strip_prefix('>') {
                (Op::Gt, r)
            } else if let Some(r) = part.strip_prefix('=') {
                (Op::Eq, r)
            } else {
                (Op::Eq, part)
            };
            let rest = rest.trim();
            let mut version = Vec::new();
            for n in rest.split('.') {
                let v = n
                    .parse::<u64>()
                    .map_err(|_| format!("expected a version like 6.13, found {rest:?}"))?;
                version.push(v);
            }
            if version.len() > 3 {
                return Err(format!("expected at most three numbers, found {rest:?}"));
            }
            bounds.push((op, version));
        }
        Ok(KernelRange {
            bounds,
            text: text.to_string(),
        })
    }

    /// Whether a release (`uname -r`) is in the range. A release without a leading
    /// number is in no range.
    pub fn contains(&self, release: &str) -> bool {
        let Some(have) = release_numbers(release) else {
            return false;
        };
        self.bounds.iter().all(|(op, want)| {
            // `=6.13` compares only the numbers given; the others pad with zeros.
            let cmp = if *op == Op::Eq {
                compare(&have[..want.len().min(have.len())], want)
            } else {
                compare(&have, want)
            };
            match op {
                Op::Lt => cmp == Ordering::Less,
                Op::Le => cmp != Ordering::Greater,
                Op::Gt => cmp == Ordering::Greater,
                Op::Ge => cmp != Ordering::Less,
                Op::Eq => cmp == Ordering::Equal,
            }
        })
    }
}

/// `6.18.0-rc3-debug` → [6, 18, 0].
fn release_numbers(release: &str) -> Option<Vec<u64>> {
    let mut out = Vec::new();
    for part in release.split('.').take(3) {
        let digits: String = part.chars().take_while(|c| c.is_ascii_digit()).collect();
        if digits.is_empty() {
            break;
        }
        out.push(digits.parse().ok()?);
        if digits.len() != part.len() {
            break;
        }
    }
    (!out.is_empty()).then_some(out)
}

fn compare(a: &[u64], b: &[u64]) -> Ordering {
    let n = a.len().max(b.len());
    for i in 0..n {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        match x.cmp(&y) {
            Ordering::Equal => continue,
            o => return o,
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(script: &str, ip: &str) -> JobId {
        JobId {
            suite: "packetdrill".into(),
            script: script.into(),
            ip_version: ip.into(),
        }
    }

    const FILE: &str = r#"
timeout = 45

[[xfail]]
script = "tcp_accecn_*.pkt"
reason = "no AccECN"
kernel = "<6.20"

[[xfail]]
script = "tcp_slow_?.pkt"
reason = "timing on debug kernels"
when_slow = true

[[xfail]]
script = "tcp_v6only.pkt"
reason = "v6 route"
ip_version = "ipv6"
kernel = ">=6.12, <6.14"
"#;

    #[test]
    fn entries_apply_by_script_kernel_ip_version_and_slowness() {
        let e = Expectations::parse(FILE, Path::new("suite.toml")).unwrap();
        assert_eq!(
            e.applies(&id("tcp_accecn_x.pkt", "ipv4"), "6.18.0-rc3", false),
            Some("no AccECN")
        );
        assert_eq!(
            e.applies(&id("tcp_accecn_x.pkt", "ipv4"), "6.20.1", false),
            None
        );
        assert_eq!(
            e.applies(&id("tcp_slow_1.pkt", "ipv4"), "6.18.0", false),
            None
        );
        assert_eq!(
            e.applies(&id("tcp_slow_1.pkt", "ipv4"), "6.18.0", true),
            Some("timing on debug kernels")
        );
        assert_eq!(
            e.applies(&id("tcp_slow_12.pkt", "ipv4"), "6.18.0", true),
            None
        );
        assert_eq!(
            e.applies(&id("tcp_v6only.pkt", "ipv4"), "6.13.2", false),
            None
        );
        assert_eq!(
            e.applies(&id("tcp_v6only.pkt", "ipv6"), "6.13.2", false),
            Some("v6 route")
        );
        assert_eq!(
            e.applies(&id("tcp_v6only.pkt", "ipv6"), "6.14", false),
            None
        );
        assert_eq!(e.applies(&id("other.pkt", "ipv4"), "6.18.0", false), None);
    }

    #[test]
    fn only_certain_failures_turn_a_pass_into_xpass() {
        let e = Expectations::parse(
            &format!(
                "{FILE}\n[[xfail]]\nscript = \"tcp_racy.pkt\"\nreason = \"races\"\nflaky = true\n"
            ),
            Path::new("suite.toml"),
        )
        .unwrap();
        let how = |script: &str, slow: bool| {
            e.expected(&id(script, "ipv4"), "6.18.0", slow)
                .map(|x| x.expectation)
        };
        assert_eq!(how("tcp_accecn_x.pkt", false), Some(Expectation::Fails));
        assert_eq!(how("tcp_slow_1.pkt", true), Some(Expectation::MayFail));
        assert_eq!(how("tcp_racy.pkt", false), Some(Expectation::MayFail));
        assert_eq!(how("other.pkt", true), None);
        assert_eq!(
            e.expected(&id("tcp_racy.pkt", "ipv6"), "6.18.0", false)
                .unwrap()
                .reason,
            "races"
        );
    }

    #[test]
    fn kernel_ranges() {
        let r = KernelRange::parse("=6.13").unwrap();
        assert!(r.contains("6.13.7-arch1"));
        assert!(!r.contains("6.14.0"));
        assert!(KernelRange::parse("6").unwrap().contains("6.1.0"));
        assert!(KernelRange::parse("<=6.13").unwrap().contains("6.13.0"));
        assert!(!KernelRange::parse("<=6.13").unwrap().contains("6.13.1"));
        assert!(KernelRange::parse(">6.13").unwrap().contains("6.13.1"));
        assert!(!KernelRange::parse(">6").unwrap().contains("garbage"));
        assert!(KernelRange::parse("<six").is_err());
        assert!(KernelRange::parse("<6.1,").is_err());
        assert!(KernelRange::parse("1.2.3.4").is_err());
    }

    #[test]
    fn bad_files_say_where() {
        let e = Expectations::parse(
            "[[xfail]]\nscript = \"a.pkt\"\nreason = \"r\"\nkernel = \"<6.x\"\n",
            Path::new("s/suite.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with(
                "s/suite.toml: [[xfail]] number 1 (script = \"a.pkt\"): bad kernel range \"<6.x\""
            ),
            "{e}"
        );
        let e = Expectations::parse("[[xfail]]\nscript = \"a.pkt\"\n", Path::new("suite.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("reason"), "{e}");
        let e = Expectations::parse(
            "[[xfail]]\nscript = \"a.pkt\"\nreason = \"r\"\nkernal = \"6\"\n",
            Path::new("suite.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("kernal"), "{e}");
        let e = Expectations::parse(
            "[[xfail]]\nscript = \"a.pkt\"\nreason = \"r\"\nip_version = \"ipv5\"\n",
            Path::new("suite.toml"),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "suite.toml: [[xfail]] number 1 (script = \"a.pkt\"): unknown ip_version \"ipv5\" \
             (expected ipv4, ipv6 or ipv4-mapped-ipv6)"
        );
    }

    #[test]
    fn no_entries_means_nothing_expected() {
        let e = Expectations::parse("timeout = 3\n", Path::new("suite.toml")).unwrap();
        assert!(e.xfails.is_empty());
        let e = Expectations::parse(
            "[[xfail]]\nscript = \"*\"\nreason = \"all\"\n",
            Path::new("suite.toml"),
        )
        .unwrap();
        assert_eq!(e.applies(&id("x.pkt", "ipv4"), "6.18", false), Some("all"));
    }

    #[test]
    fn script_patterns_are_globs() {
        let e = Expectations::parse(
            "[[xfail]]\nscript = \"tcp_?_[ab]*.pkt\"\nreason = \"r\"\n",
            Path::new("suite.toml"),
        )
        .unwrap();
        assert_eq!(
            e.applies(&id("tcp_1_a.pkt", "ipv4"), "6.18", false),
            Some("r")
        );
        assert_eq!(
            e.applies(&id("tcp_1_bxx.pkt", "ipv4"), "6.18", false),
            Some("r")
        );
        assert_eq!(e.applies(&id("tcp__a.pkt", "ipv4"), "6.18", false), None);
        assert_eq!(e.applies(&id("tcp_1_c.pkt", "ipv4"), "6.18", false), None);
        let e = Expectations::parse(
            "[[xfail]]\nscript = \"tcp_[a.pkt\"\nreason = \"r\"\n",
            Path::new("suite.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("suite.toml: [[xfail]] number 1: bad script pattern \"tcp_[a.pkt\": "),
            "{e}"
        );
    }
}
