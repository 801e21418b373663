//! What a suite folder says about how to run its scripts.
//!
//! Two optional files in the folder that holds the scripts:
//!
//! * `settings`, kselftest's per-directory file: `key=value` lines, `#` comments;
//!   only `timeout=N` is used (seconds, `0` = no limit), as kselftest's `runner.sh`.
//! * `suite.toml`, ours (every key optional; documented for users in `ci/README.md`):
//!
//! ```toml
//! timeout = 60                      # seconds; 0 = no limit; wins over `settings`
//! ip_versions = ["ipv4", "ipv6"]    # the default set for scripts that pin none
//!
//! [sysctls]                         # set inside every job's namespace, before the script
//! "net.ipv4.tcp_congestion_control" = "cubic"   # net.* only: the rest is the host's
//!
//! [limits]                          # per-job caps (see crate::model::Limits)
//! memory_mib = 512
//! tmp_mib = 64
//! processes = 512
//!
//! [[xfail]]                         # an expected failure; as many entries as needed
//! script = "tcp_accecn_*.pkt"       # file name, a glob: `*`, `?`, `[...]`
//! reason = "AccECN is not in this kernel"
//! kernel = "<6.20"                  # optional: only on these kernel releases
//! ip_version = "ipv6"               # optional: only this IP version
//! when_slow = true                  # optional: only when KSFT_MACHINE_SLOW is set
//! flaky = true                      # optional: the failure is possible, not certain
//! ```
//!
//! The `[[xfail]]` entries are checked and matched by [`expect`].

pub mod expect;

use crate::model::{JobId, Limits};
use expect::{Expectations, XfailEntry};
use netdrill_engine::IpVersion;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// The file a suite's settings live in.
pub const SUITE_FILE: &str = "suite.toml";

/// kselftest's default per-test timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(45);

/// The longest timeout accepted, wherever it is set (a week; `0` means no
/// limit).
pub const MAX_TIMEOUT_SECS: u64 = 7 * 24 * 3600;

/// A timeout of `secs` seconds as given by `what` (`--timeout `, `timeout = `...):
/// `None` for 0 (no limit), an error naming `what` past [`MAX_TIMEOUT_SECS`].
pub fn timeout_from_secs(what: &str, secs: u64) -> Result<Option<Duration>, String> {
    if secs > MAX_TIMEOUT_SECS {
        return Err(format!(
            "{what}{secs}: at most {MAX_TIMEOUT_SECS} seconds (a week); 0 means no limit"
        ));
    }
    Ok(seconds(secs))
}

/// The configuration of one suite folder.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SuiteConfig {
    /// `Some(None)` means "no limit"; `None` means the folder does not say.
    pub timeout: Option<Option<Duration>>,
    pub ip_versions: Option<Vec<IpVersion>>,
    pub sysctls: Vec<(String, String)>,
    /// `[limits]`: each key it sets, over the defaults.
    pub limits: LimitsToml,
    /// The `[[xfail]]` entries.
    pub expectations: Expectations,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SuiteToml {
    timeout: Option<u64>,
    ip_versions: Option<Vec<String>>,
    #[serde(default)]
    sysctls: BTreeMap<String, toml::Value>,
    #[serde(default)]
    xfail: Vec<XfailEntry>,
    #[serde(default)]
    limits: LimitsToml,
}

/// `suite.toml`'s `[limits]`, and the command line's limit flags: each cap
/// that is set replaces the default's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsToml {
    pub memory_mib: Option<u64>,
    pub tmp_mib: Option<u64>,
    pub processes: Option<u64>,
}

impl LimitsToml {
    /// `other`'s caps where it sets them, else these.
    pub fn or(self, other: LimitsToml) -> LimitsToml {
        LimitsToml {
            memory_mib: other.memory_mib.or(self.memory_mib),
            tmp_mib: other.tmp_mib.or(self.tmp_mib),
            processes: other.processes.or(self.processes),
        }
    }

    /// The caps, each checked against [`Limits::MIN`] and [`Limits::MAX`];
    /// `what` names where they were set in an error.
    pub fn resolve(self, what: &str) -> Result<Limits, String> {
        let d = Limits::default();
        let check = |key: &str, v: Option<u64>, default: u64, min: u64, max: u64| match v {
            None => Ok(default),
            Some(v) if (min..=max).contains(&v) => Ok(v),
            Some(v) => Err(format!("{what}{key} = {v}: expected {min} to {max}")),
        };
        Ok(Limits {
            memory_mib: check(
                "memory_mib",
                self.memory_mib,
                d.memory_mib,
                Limits::MIN.memory_mib,
                Limits::MAX.memory_mib,
            )?,
            tmp_mib: check(
                "tmp_mib",
                self.tmp_mib,
                d.tmp_mib,
                Limits::MIN.tmp_mib,
                Limits::MAX.tmp_mib,
            )?,
            processes: check(
                "processes",
                self.processes,
                d.processes,
                Limits::MIN.processes,
                Limits::MAX.processes,
            )?,
        })
    }
}

fn seconds(n: u64) -> Option<Duration> {
    (n > 0).then(|| Duration::from_secs(n))
}

impl SuiteConfig {
    /// Read `settings` and `suite.toml` from `dir` (both optional).
    pub fn load(dir: &Path) -> Result<SuiteConfig, String> {
        let mut config = SuiteConfig::default();
        let settings = dir.join("settings");
        if let Ok(text) = std::fs::read_to_string(&settings) {
            config.timeout = parse_settings_timeout(&text)
                .map_err(|e| format!("{}: {e}", settings.display()))?;
        }
        let toml_path = dir.join(SUITE_FILE);
        let text = match std::fs::read_to_string(&toml_path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(config),
            Err(e) => return Err(format!("{}: {e}", toml_path.display())),
        };
        let parsed: SuiteToml = toml::from_str(&text).map_err(|e| {
            // The one mistake worth a hint: a `[xfail]` table (name = reason)
            // instead of `[[xfail]]` entries.
            let table = text
                .parse::<toml::Table>()
                .is_ok_and(|t| t.get("xfail").is_some_and(toml::Value::is_table));
            if table {
                format!(
                    "{}: `[xfail]` must be a list of `[[xfail]]` entries, each with `script` \
                     and `reason` (and optionally `kernel`, `ip_version`, `when_slow`, `flaky`)",
                    toml_path.display()
                )
            } else {
                format!("{}: {e}", toml_path.display())
            }
        })?;
        if let Some(t) = parsed.timeout {
            config.timeout = Some(
                timeout_from_secs("timeout = ", t)
                    .map_err(|e| format!("{}: {e}", toml_path.display()))?,
            );
        }
        parsed
            .limits
            .resolve("[limits] ")
            .map_err(|e| format!("{}: {e}", toml_path.display()))?;
        config.limits = parsed.limits;
        if let Some(list) = parsed.ip_versions {
            let mut versions = Vec::new();
            for v in list {
                versions.push(IpVersion::parse(&v).ok_or_else(|| {
                    format!(
                        "{}: ip_versions: unknown IP version `{v}` (expected ipv4, ipv6 or ipv4-mapped-ipv6)",
                        toml_path.display()
                    )
                })?);
            }
            config.ip_versions = Some(versions);
        }
        for (key, value) in parsed.sysctls {
            let value = match value {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Boolean(b) => u8::from(b).to_string(),
                other => {
                    return Err(format!(
                        "{}: sysctls.{key}: expected a string or an integer, found {}",
                        toml_path.display(),
                        other.type_str()
                    ))
                }
            };
            check_suite_sysctl(&key)
                .map_err(|e| format!("{}: [sysctls] {e}", toml_path.display()))?;
            config.sysctls.push((key, value));
        }
        config.expectations =
            Expectations::from_entries(parsed.xfail, &toml_path).map_err(|e| e.to_string())?;
        Ok(config)
    }

    /// Why the job `id` is expected to fail on `kernel_release`, if it is
    /// (`machine_slow`: `KSFT_MACHINE_SLOW` is set).
    pub fn xfail_reason(
        &self,
        id: &JobId,
        kernel_release: &str,
        machine_slow: bool,
    ) -> Option<&str> {
        self.expectations.applies(id, kernel_release, machine_slow)
    }

    /// The expected failure of the job `id` on `kernel_release` (reason and how
    /// sure), if one of the `[[xfail]]` entries applies.
    pub fn expected_failure(
        &self,
        id: &JobId,
        kernel_release: &str,
        machine_slow: bool,
    ) -> Option<crate::model::ExpectedFailure> {
        self.expectations.expected(id, kernel_release, machine_slow)
    }
}

/// A sysctl name as `sysctl -w` takes it: dotted words, nothing that could
/// leave `/proc/sys`.
pub fn check_sysctl_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.split('.').all(|part| {
            !part.is_empty()
                && part != ".."
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
        });
    if ok {
        Ok(())
    } else {
        Err(format!("`{name}` is not a sysctl name"))
    }
}

/// A sysctl a suite may set: a [`check_sysctl_name`] under `net.`, which
/// belongs to the job's network namespace. Every other sysctl is the host's
/// (a job's namespaces do not cover it), and is refused.
pub fn check_suite_sysctl(name: &str) -> Result<(), String> {
    check_sysctl_name(name)?;
    if name.starts_with("net.") {
        Ok(())
    } else {
        Err(format!(
            "`{name}`: only net.* sysctls can be set in a job (they belong to its own \
             network namespace); `{name}` would change the host"
        ))
    }
}

/// kselftest's `settings`: the last `timeout=` line wins.
fn parse_settings_timeout(text: &str) -> Result<Option<Option<Duration>>, String> {
    let mut timeout = None;
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if key.trim() == "timeout" {
            let n: u64 = value.trim().parse().map_err(|_| {
                format!(
                    "line {}: timeout={} is not a number of seconds",
                    i + 1,
                    value.trim()
                )
            })?;
            timeout =
                Some(timeout_from_secs("timeout=", n).map_err(|e| format!("line {}: {e}", i + 1))?);
        }
    }
    Ok(timeout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_timeout() {
        assert_eq!(
            parse_settings_timeout("# c\ntimeout=3600\n"),
            Ok(Some(seconds(3600)))
        );
        assert_eq!(parse_settings_timeout("timeout=0"), Ok(Some(None)));
        assert_eq!(parse_settings_timeout("other=1"), Ok(None));
        assert!(parse_settings_timeout("timeout=x").is_err());
    }

    #[test]
    fn suite_toml() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("settings"), "timeout=100\n").unwrap();
        std::fs::write(
            dir.path().join("suite.toml"),
            "timeout = 7\nip_versions = [\"ipv4-mapped-ipv6\"]\n[sysctls]\n\"net.ipv4.tcp_ecn\" = 1\n\
             [[xfail]]\nscript = \"a.pkt\"\nreason = \"why\"\n\
             [[xfail]]\nscript = \"b*.pkt\"\nreason = \"v6 only\"\nip_version = \"ipv6\"\n\
             [[xfail]]\nscript = \"c.pkt\"\nreason = \"old kernels\"\nkernel = \"<6.1\"\n",
        )
        .unwrap();
        let c = SuiteConfig::load(dir.path()).unwrap();
        assert_eq!(c.timeout, Some(seconds(7)));
        assert_eq!(c.ip_versions, Some(vec![IpVersion::Ipv4MappedIpv6]));
        assert_eq!(c.sysctls, vec![("net.ipv4.tcp_ecn".into(), "1".into())]);
        let id = |script: &str, ip: &str| JobId {
            suite: "s".into(),
            script: script.into(),
            ip_version: ip.into(),
        };
        assert_eq!(
            c.xfail_reason(&id("a.pkt", "ipv4"), "6.18.0", false),
            Some("why")
        );
        assert_eq!(c.xfail_reason(&id("b.pkt", "ipv4"), "6.18.0", false), None);
        assert_eq!(
            c.xfail_reason(&id("b2.pkt", "ipv6"), "6.18.0", false),
            Some("v6 only")
        );
        assert_eq!(c.xfail_reason(&id("c.pkt", "ipv4"), "6.18.0", false), None);
        assert_eq!(
            c.xfail_reason(&id("c.pkt", "ipv4"), "5.15.3", false),
            Some("old kernels")
        );
    }

    #[test]
    fn bad_suite_toml_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("suite.toml"), "timeuot = 7\n").unwrap();
        let e = SuiteConfig::load(dir.path()).unwrap_err();
        assert!(e.contains("suite.toml") && e.contains("timeuot"), "{e}");
        std::fs::write(
            dir.path().join("suite.toml"),
            "[sysctls]\n\"../x\" = \"1\"\n",
        )
        .unwrap();
        assert!(SuiteConfig::load(dir.path()).is_err());
        // The entries are checked, naming the file.
        std::fs::write(
            dir.path().join("suite.toml"),
            "[[xfail]]\nscript = \"a.pkt\"\nreason = \"r\"\nkernel = \"<6.x\"\n",
        )
        .unwrap();
        let e = SuiteConfig::load(dir.path()).unwrap_err();
        assert!(e.contains("suite.toml: [[xfail]] number 1"), "{e}");
        std::fs::write(
            dir.path().join("suite.toml"),
            "[[xfail]]\nscript = \"a.pkt\"\n",
        )
        .unwrap();
        let e = SuiteConfig::load(dir.path()).unwrap_err();
        assert!(e.contains("suite.toml") && e.contains("reason"), "{e}");
        // The `[xfail]` table some may write gets a hint.
        std::fs::write(
            dir.path().join("suite.toml"),
            "[xfail]\n\"a.pkt\" = \"why\"\n",
        )
        .unwrap();
        let e = SuiteConfig::load(dir.path()).unwrap_err();
        assert!(
            e.contains("`[xfail]` must be a list of `[[xfail]]` entries"),
            "{e}"
        );
    }

    #[test]
    fn huge_timeouts_and_caps_are_refused_clearly() {
        assert_eq!(
            parse_settings_timeout("timeout=18446744073709551615\n").unwrap_err(),
            "line 1: timeout=18446744073709551615: at most 604800 seconds (a week); 0 means no limit"
        );
        assert!(parse_settings_timeout("timeout=99999999999999999999999").is_err());
        assert_eq!(
            parse_settings_timeout("timeout=604800"),
            Ok(Some(seconds(604800)))
        );
        let dir = tempfile::tempdir().unwrap();
        let load = |text: &str| {
            std::fs::write(dir.path().join("suite.toml"), text).unwrap();
            SuiteConfig::load(dir.path())
        };
        let e = load("timeout = 18446744073709551615\n").unwrap_err();
        assert!(e.contains("suite.toml"), "{e}");
        let e = load("timeout = 9223372036854775807\n").unwrap_err();
        assert!(
            e.ends_with("suite.toml: timeout = 9223372036854775807: at most 604800 seconds (a week); 0 means no limit"),
            "{e}"
        );
        let e = load("[limits]\nmemory_mib = 18446744073709551615\n").unwrap_err();
        assert!(e.contains("[limits] memory_mib"), "{e}");
        let e = load("[limits]\nprocesses = 2\n").unwrap_err();
        assert!(
            e.ends_with("[limits] processes = 2: expected 16 to 4194304"),
            "{e}"
        );
        assert!(load("[limits]\nswap = 1\n").is_err());
        let c = load("[limits]\nmemory_mib = 100\n").unwrap();
        assert_eq!(
            c.limits.resolve("").unwrap(),
            Limits {
                memory_mib: 100,
                ..Limits::default()
            }
        );
    }

    #[test]
    fn suite_sysctls_are_net_only() {
        assert!(check_suite_sysctl("net.ipv4.tcp_ecn").is_ok());
        let e = check_suite_sysctl("kernel.domainname").unwrap_err();
        assert!(
            e.starts_with("`kernel.domainname`: only net.* sysctls can be set in a job"),
            "{e}"
        );
        assert!(check_suite_sysctl("vm.swappiness").is_err());
        assert!(check_suite_sysctl("network.x").is_err());
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("suite.toml"),
            "[sysctls]\n\"kernel.domainname\" = \"x\"\n",
        )
        .unwrap();
        let e = SuiteConfig::load(dir.path()).unwrap_err();
        assert!(
            e.contains("suite.toml: [sysctls] `kernel.domainname`"),
            "{e}"
        );
    }

    proptest::proptest! {
        /// Any `timeout=` line, any `timeout =` and `[limits]` number: a
        /// setting a run can use, or an error; never a panic.
        #[test]
        fn timeouts_and_caps_never_panic(
            n in proptest::prelude::any::<u64>(),
            m in proptest::prelude::any::<i64>(),
            text in "[ -~]{0,40}",
        ) {
            let now = std::time::Instant::now();
            for line in [format!("timeout={n}"), format!("timeout={text}"), text.clone()] {
                if let Ok(Some(Some(t))) = parse_settings_timeout(&line) {
                    proptest::prop_assert!(now.checked_add(t * 2).is_some());
                }
            }
            let dir = tempfile::tempdir().unwrap();
            for toml in [
                format!("timeout = {n}\n"),
                format!("timeout = {m}\n"),
                format!("[limits]\nmemory_mib = {n}\ntmp_mib = {m}\nprocesses = {n}\n"),
            ] {
                std::fs::write(dir.path().join("suite.toml"), toml).unwrap();
                if let Ok(c) = SuiteConfig::load(dir.path()) {
                    if let Some(Some(t)) = c.timeout {
                        proptest::prop_assert!(now.checked_add(t * 2).is_some());
                    }
                    let l = c.limits.resolve("").unwrap();
                    proptest::prop_assert!(l.memory_bytes() <= Limits::MAX.memory_bytes());
                }
            }
        }
    }

    #[test]
    fn sysctl_names() {
        assert!(check_sysctl_name("net.ipv4.tcp_rmem").is_ok());
        assert!(check_sysctl_name("net.ipv4.conf.tun-0.forwarding").is_ok());
        assert!(check_sysctl_name("net/../../etc").is_err());
        assert!(check_sysctl_name("").is_err());
    }
}
