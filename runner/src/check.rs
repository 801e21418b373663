//! `netdrill check`: parse scripts without running them (no network, no root).
//!
//! Every failing script gets a compiler-style diagnostic on stderr
//! (`script.pkt:LINE:COL: error: what is wrong`, the source line and a caret
//! under the spot), then one count line goes to stdout. The exit status is 1
//! when any script fails (or none is found), else 0.
//!
//! Besides the grammar and packetdrill's parse-time checks, the script's
//! option lines are applied to a default configuration, so a bad option value
//! (`--tolerance_usecs=0`) is reported too.

use crate::discover::Visited;
use netdrill_engine::config::Config;
use netdrill_engine::script::{self, Diagnostic, OptionLine};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Check `paths` (files, or folders searched recursively for `*.pkt`, in sorted
/// order) with the command line's `-D NAME=VALUE` symbols (scripts such as the
/// kernel's TFO tests only parse with the symbols their runner defines), and
/// return the exit status.
pub fn run_with_defines(paths: &[PathBuf], defines: &[(String, String)]) -> i32 {
    let stderr = std::io::stderr();
    let stdout = std::io::stdout();
    run_to(paths, defines, &mut stderr.lock(), &mut stdout.lock())
}

/// What [`run_to`] found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub checked: usize,
    pub failed: usize,
}

/// [`run_with_defines`] writing diagnostics to `diag` and the count line to `out`.
pub fn run_to(
    paths: &[PathBuf],
    defines: &[(String, String)],
    diag: &mut dyn Write,
    out: &mut dyn Write,
) -> i32 {
    let summary = check_paths(paths, defines, diag);
    let line = match summary {
        Summary { checked: 0, .. } => "no scripts found".to_string(),
        Summary { checked, failed } => format!(
            "{checked} script{} checked: {} ok, {failed} failed",
            if checked == 1 { "" } else { "s" },
            checked - failed
        ),
    };
    // Nothing sensible to do when stdout is gone; the exit status still tells.
    let _ = writeln!(out, "{line}");
    if summary.failed > 0 || summary.checked == 0 {
        1
    } else {
        0
    }
}

/// Check every script under `paths`, writing one diagnostic per failing script.
pub fn check_paths(
    paths: &[PathBuf],
    defines: &[(String, String)],
    diag: &mut dyn Write,
) -> Summary {
    let mut summary = Summary::default();
    let mut visited = Visited::default();
    for path in paths {
        let mut files = Vec::new();
        if path.is_dir() {
            collect_scripts(path, &mut visited, &mut files, diag, &mut summary);
        } else {
            files.push(path.clone());
        }
        for file in files {
            summary.checked += 1;
            if let Err(message) = check_file(&file, defines) {
                summary.failed += 1;
                let _ = write!(diag, "{message}");
            }
        }
    }
    summary
}

/// `*.pkt` files under `dir`, recursively, sorted by path, each folder once
/// (see [`Visited`]). Unreadable folders count as failures.
fn collect_scripts(
    dir: &Path,
    visited: &mut Visited,
    files: &mut Vec<PathBuf>,
    diag: &mut dyn Write,
    s: &mut Summary,
) {
    match visited.enter(dir) {
        Ok(true) => {}
        Ok(false) => return,
        Err(e) => {
            s.checked += 1;
            s.failed += 1;
            let _ = writeln!(diag, "{e}");
            return;
        }
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            s.checked += 1;
            s.failed += 1;
            let _ = writeln!(diag, "{}: error: cannot read folder: {e}", dir.display());
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            collect_scripts(&p, visited, files, diag, s);
        } else if p.extension().is_some_and(|e| e == "pkt") {
            files.push(p);
        }
    }
}

/// Parse one file; the rendered diagnostic when it fails.
pub fn check_file(path: &Path, defines: &[(String, String)]) -> Result<(), String> {
    let shown = crate::discover::show_path(path);
    let source = std::fs::read(path).map_err(|e| format!("{shown}: error: cannot read: {e}\n"))?;
    let ast = script::parse(&source, defines).map_err(|f| f.diagnostic.render(&shown, &source))?;
    let mut config = Config::default();
    for opt in &ast.options {
        apply_option(&mut config, opt).map_err(|d| d.render(&shown, &source))?;
    }
    Ok(())
}

fn apply_option(config: &mut Config, opt: &OptionLine) -> Result<(), Diagnostic> {
    let value = opt.value.as_ref().map(|v| v.to_flag_value());
    config
        .apply_flag(&opt.name, value.as_deref())
        .map_err(|e| Diagnostic::option(e.message, opt.span))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &[u8]) -> PathBuf {
        let p = dir.join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, text).unwrap();
        p
    }

    fn run_capture(paths: &[PathBuf]) -> (i32, String, String) {
        let mut diag = Vec::new();
        let mut out = Vec::new();
        let code = run_to(paths, &[], &mut diag, &mut out);
        (
            code,
            String::from_utf8(diag).unwrap(),
            String::from_utf8(out).unwrap(),
        )
    }

    #[test]
    fn folders_are_searched_recursively_in_order() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "b/ok.pkt",
            b"0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n",
        );
        write(
            dir.path(),
            "a/bad.pkt",
            b"0 close(3) = 0\n+0 < SX 0:0(0) win 1\n",
        );
        write(dir.path(), "a/z_bad.pkt", b"0 close(3 = 0\n");
        write(dir.path(), "notes.txt", b"not a script");
        let (code, diag, out) = run_capture(&[dir.path().to_path_buf()]);
        assert_eq!(code, 1);
        assert_eq!(out, "3 scripts checked: 1 ok, 2 failed\n");
        let bad = diag
            .find("bad.pkt:2:6: error: Invalid TCP flag: 'X'")
            .unwrap();
        let z = diag.find("z_bad.pkt:1:11: error: syntax error").unwrap();
        assert!(bad < z, "sorted order:\n{diag}");
        assert!(diag.contains("2 | +0 < SX 0:0(0) win 1\n"), "{diag}");
        assert!(diag.contains("  |      ^^\n"), "{diag}");
    }

    #[test]
    fn all_good_is_exit_zero() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(
            dir.path(),
            "x.pkt",
            b"--tolerance_usecs=10000\n0 close(3) = 0\n",
        );
        let (code, diag, out) = run_capture(&[f]);
        assert_eq!((code, diag.as_str()), (0, ""));
        assert_eq!(out, "1 script checked: 1 ok, 0 failed\n");
    }

    #[test]
    fn bad_option_values_and_missing_files_fail() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(dir.path(), "x.pkt", b"--bind_port=0\n0 close(3) = 0\n");
        let missing = dir.path().join("missing.pkt");
        let (code, diag, out) = run_capture(&[f, missing]);
        assert_eq!(code, 1);
        assert!(
            diag.contains("x.pkt:1:1: error: bad --bind_port: 0"),
            "{diag}"
        );
        assert!(diag.contains("missing.pkt: error: cannot read"), "{diag}");
        assert_eq!(out, "2 scripts checked: 0 ok, 2 failed\n");
    }

    #[test]
    fn nothing_found_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let (code, _, out) = run_capture(&[dir.path().to_path_buf()]);
        assert_eq!((code, out.as_str()), (1, "no scripts found\n"));
    }

    #[test]
    fn defines_are_used() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(
            dir.path(),
            "tfo.pkt",
            b"0 < S 0:0(0) win 1 <FO TFO_COOKIE,nop,nop>\n",
        );
        let mut diag = Vec::new();
        let mut out = Vec::new();
        assert_eq!(
            run_to(std::slice::from_ref(&f), &[], &mut diag, &mut out),
            1
        );
        let defines = vec![("TFO_COOKIE".to_string(), "3021b9d889017eeb".to_string())];
        assert_eq!(run_to(&[f], &defines, &mut diag, &mut out), 0);
    }
}
