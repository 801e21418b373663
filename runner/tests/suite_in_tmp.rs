//! Suites anywhere (issue 14, item 4): a suite under `/tmp`, which each job
//! covers with a private tmpfs, still runs: its folder and the runner's
//! current directory are bound back at their own paths in the job. The seed
//! suite copied into a fresh `mktemp -d` passes whole, also with `python3` on
//! PATH being a shell-script shim that, as pyenv's does, changes to its
//! working directory by name before it runs the real python.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use support::*;

/// A fresh `mktemp -d` folder under `/tmp`, removed when dropped.
struct TempSuite(PathBuf);

impl TempSuite {
    fn new() -> TempSuite {
        let out = Command::new("mktemp")
            .args(["-d", "/tmp/netdrill-suite.XXXXXX"])
            .output()
            .expect("mktemp -d");
        assert!(out.status.success(), "mktemp -d failed");
        let dir = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
        let copied = Command::new("cp")
            .arg("-r")
            .arg(corpus("seed"))
            .arg(dir.join("seed"))
            .status()
            .expect("cp -r");
        assert!(copied.success(), "copying the seed suite");
        TempSuite(dir)
    }
}

impl Drop for TempSuite {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(suite: &Path, cwd: &Path, path: Option<&str>) -> (i32, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_netdrill"));
    cmd.args(["run", "-j", "2"]).arg(suite).current_dir(cwd);
    // As a shell would have it: PWD names the current directory.
    cmd.env("PWD", cwd);
    if let Some(path) = path {
        cmd.env("PATH", path);
    }
    let out = cmd.output().expect("running netdrill");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

fn assert_all_passed(code: i32, text: &str) {
    assert!(
        code == 0 && text.contains("18 passed, 0 failed, 0 skipped"),
        "exit {code}:\n{text}"
    );
}

#[test]
fn a_suite_in_a_mktemp_folder_passes() {
    require_root();
    let tmp = TempSuite::new();
    let (code, text) = run(&tmp.0.join("seed"), Path::new("/"), None);
    assert_all_passed(code, &text);
}

#[test]
fn a_suite_in_a_mktemp_folder_passes_with_a_python3_shim() {
    require_root();
    let tmp = TempSuite::new();
    let real = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3 on PATH");
    let real = String::from_utf8(real.stdout).unwrap().trim().to_string();
    assert!(Path::new(&real).is_file(), "the real python: {real:?}");
    // The shim lives beside the suite, in the runner's current directory.
    let bin = tmp.0.join("bin");
    std::fs::create_dir(&bin).unwrap();
    let shim = bin.join("python3");
    std::fs::write(
        &shim,
        format!(
            "#!/bin/sh\ncd \"$PWD\" || exit 1\necho used >> {}\nexec {real} \"$@\"\n",
            bin.join("used").display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let (code, text) = run(Path::new("seed"), &tmp.0, Some(&path));
    assert_all_passed(code, &text);
    // The jobs ran the shim (and reached its folder to say so).
    let used = std::fs::read_to_string(bin.join("used")).unwrap_or_default();
    assert!(used.lines().count() >= 2, "the shim ran {:?}", used);
}
