//! What a suite folder says about how to run its scripts.
//!
//! Two optional files in the folder that holds the scripts:
//!
//! * `settings`, kselftest's per-directory file: `key=value` lines, `#` comments;
//!   only `timeout=N` is used (seconds, `0` = no limit), as kselftest's `runner.sh`.
//! * `suite.toml`, ours:
//!
//! ```toml
//! timeout = 60                      # seconds; 0 = no limit; wins over `settings`
//! ip_versions = ["ipv4", "ipv6"]    # the default set for scripts that pin none
//!
//! [sysctls]                         # set inside every job's namespace, before the script
//! "net.ipv4.tcp_congestion_control" = "cubic"
//!
//! [xfail]                           # expected failures: script, or "script ipvX", = reason
//! "tcp_accecn_2nd_data_as_first.pkt" = "this kernel lacks AccECN"
//! "tcp_foo.pkt ipv6" = "only ipv6 is known to fail"
//! ```

use netdrill_engine::IpVersion;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// kselftest's default per-test timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(45);

/// The configuration of one suite folder.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SuiteConfig {
    /// `Some(None)` means "no limit"; `None` means the folder does not say.
    pub timeout: Option<Option<Duration>>,
    pub ip_versions: Option<Vec<IpVersion>>,
    pub sysctls: Vec<(String, String)>,
    /// Keys: `script.pkt` or `script.pkt ipv6`.
    pub xfail: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SuiteToml {
    timeout: Option<u64>,
    ip_versions: Option<Vec<String>>,
    #[serde(default)]
    sysctls: BTreeMap<String, toml::Value>,
    #[serde(default)]
    xfail: BTreeMap<String, String>,
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
        let toml_path = dir.join("suite.toml");
        let text = match std::fs::read_to_string(&toml_path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(config),
            Err(e) => return Err(format!("{}: {e}", toml_path.display())),
        };
        let parsed: SuiteToml =
            toml::from_str(&text).map_err(|e| format!("{}: {e}", toml_path.display()))?;
        if let Some(t) = parsed.timeout {
            config.timeout = Some(seconds(t));
        }
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
            check_sysctl_name(&key).map_err(|e| format!("{}: {e}", toml_path.display()))?;
            config.sysctls.push((key, value));
        }
        config.xfail = parsed.xfail;
        Ok(config)
    }

    /// Why `script` under `ip_version` is expected to fail, if it is.
    pub fn xfail_reason(&self, script: &str, ip_version: &str) -> Option<&str> {
        self.xfail
            .get(&format!("{script} {ip_version}"))
            .or_else(|| self.xfail.get(script))
            .map(String::as_str)
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
            timeout = Some(seconds(n));
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
            "timeout = 7\nip_versions = [\"ipv4-mapped-ipv6\"]\n[sysctls]\n\"net.ipv4.tcp_ecn\" = 1\n[xfail]\n\"a.pkt\" = \"why\"\n\"b.pkt ipv6\" = \"v6 only\"\n",
        )
        .unwrap();
        let c = SuiteConfig::load(dir.path()).unwrap();
        assert_eq!(c.timeout, Some(seconds(7)));
        assert_eq!(c.ip_versions, Some(vec![IpVersion::Ipv4MappedIpv6]));
        assert_eq!(c.sysctls, vec![("net.ipv4.tcp_ecn".into(), "1".into())]);
        assert_eq!(c.xfail_reason("a.pkt", "ipv4"), Some("why"));
        assert_eq!(c.xfail_reason("b.pkt", "ipv4"), None);
        assert_eq!(c.xfail_reason("b.pkt", "ipv6"), Some("v6 only"));
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
    }

    #[test]
    fn sysctl_names() {
        assert!(check_sysctl_name("net.ipv4.tcp_rmem").is_ok());
        assert!(check_sysctl_name("net.ipv4.conf.tun-0.forwarding").is_ok());
        assert!(check_sysctl_name("net/../../etc").is_err());
        assert!(check_sysctl_name("").is_err());
    }
}
