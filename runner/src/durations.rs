//! How long jobs took last time, so the next run can start the longest first.
//!
//! Kept in `$XDG_STATE_HOME/netdrill/durations.json` (default
//! `~/.local/state/netdrill/durations.json`), keyed by `suite/script ipvX`.

use crate::model::JobId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Durations {
    /// Seconds of the last finished attempt.
    pub jobs: BTreeMap<String, f64>,
}

/// The default state file, when a home or state folder is known.
pub fn default_path() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME").filter(|v| !v.is_empty())?)
            .join(".local")
            .join("state"),
    };
    Some(base.join("netdrill").join("durations.json"))
}

impl Durations {
    /// The file's contents; an absent or unreadable file is an empty history
    /// (ordering is an optimisation, never a reason to fail a run).
    pub fn load(path: &Path) -> Durations {
        std::fs::read(path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    /// The key of a job in the file: `suite/script ipvX`.
    fn key(id: &JobId) -> String {
        format!("{}/{} {}", id.suite, id.script, id.ip_version)
    }

    fn get(&self, key: &str) -> Option<f64> {
        self.jobs.get(key).copied()
    }

    /// The seconds `id` took last time, if it ran before.
    pub fn of(&self, id: &JobId) -> Option<f64> {
        self.get(&Self::key(id))
    }

    /// Note the seconds `id` took.
    pub fn set(&mut self, id: &JobId, secs: f64) {
        self.jobs.insert(Self::key(id), secs);
    }

    /// Write atomically (temporary file, then rename).
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension(format!("json.{}.tmp", std::process::id()));
        let bytes = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/durations.json");
        assert_eq!(Durations::load(&path), Durations::default());
        let mut d = Durations::default();
        d.jobs.insert("s/x.pkt ipv4".into(), 1.5);
        d.save(&path).unwrap();
        assert_eq!(Durations::load(&path).get("s/x.pkt ipv4"), Some(1.5));
        std::fs::write(&path, "garbage").unwrap();
        assert_eq!(Durations::load(&path), Durations::default());
    }
}
