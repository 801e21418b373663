//! The effects of a `--kernel` run: `vng` started in a process group of its
//! own (so the watchdog's SIGKILL reaches QEMU too) with its console going to
//! a file, the events file of the run inside followed as it grows, and the
//! probe boot with KVM. What to do is decided in [`super::plan`].

use super::plan::{Accel, ProbeResult, PROBE_DEADLINE};
use crate::signals::SignalSource;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How often the host looks at the VM, its events and the watchdog.
pub const POLL: Duration = Duration::from_millis(100);

/// The program that boots kernels (virtme-ng).
pub const VNG: &str = "vng";

/// One VM to start.
#[derive(Clone, Debug)]
pub struct VmCommand {
    pub kernel: PathBuf,
    pub accel: Accel,
    /// Guest memory, as QEMU's `-m` takes it (`2G`).
    pub memory: String,
    /// More kernel command-line arguments.
    pub append: Vec<String>,
    /// Host folders the guest writes to, at the same paths.
    pub rwdirs: Vec<PathBuf>,
    /// The shell command the guest runs, then powers off.
    pub script: String,
    /// Where the guest's console (and vng's own messages) go.
    pub console: PathBuf,
    /// vng's `TMPDIR`: a folder the host removes, as vng killed by the
    /// watchdog leaves its temporary files behind.
    pub tmpdir: PathBuf,
}

/// Whether `/dev/kvm` opens for reading and writing (its error otherwise).
pub fn kvm_device() -> Result<(), String> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .map(drop)
        .map_err(|e| format!("/dev/kvm: {e}"))
}

/// A running VM.
pub struct Vm {
    child: Child,
    pub started: Instant,
}

impl Vm {
    /// Start `vng` for `cmd`: the host's root file system read-only, the
    /// guest's console on `cmd.console`, no standard input.
    pub fn start(cmd: &VmCommand) -> io::Result<Vm> {
        let console = File::create(&cmd.console)?;
        let mut c = Command::new(VNG);
        c.arg("--run").arg(&cmd.kernel);
        if cmd.accel == Accel::Tcg {
            c.arg("--disable-kvm");
        }
        c.args(["--verbose", "--memory", &cmd.memory]);
        for a in &cmd.append {
            c.arg(format!("--append={a}"));
        }
        for d in &cmd.rwdirs {
            let mut arg = std::ffi::OsString::from("--rwdir=");
            arg.push(d);
            c.arg(arg);
        }
        c.arg("--exec").arg(&cmd.script);
        c.env("TMPDIR", &cmd.tmpdir)
            .stdin(Stdio::null())
            .stdout(console.try_clone()?)
            .stderr(console)
            .process_group(0);
        let child = c.spawn().map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                io::Error::new(
                    e.kind(),
                    format!(
                        "{VNG} not found on PATH: --kernel boots the kernel with virtme-ng \
                         (`pip install virtme-ng`, and QEMU: `apt-get install qemu-system-x86 \
                         busybox-static`)"
                    ),
                )
            } else {
                io::Error::new(e.kind(), format!("{VNG}: {e}"))
            }
        })?;
        Ok(Vm {
            child,
            started: Instant::now(),
        })
    }

    /// Its exit status, once it has ended.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.child.try_wait()
    }

    /// Kill `vng` and QEMU (their whole process group) and reap `vng`.
    pub fn kill(&mut self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            let group = nix::unistd::Pid::from_raw(pid);
            let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

impl Drop for Vm {
    /// A VM never outlives its run.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.kill();
        }
    }
}

/// A file another system writes lines to, read as it grows.
pub struct Follower {
    path: PathBuf,
    offset: u64,
    partial: Vec<u8>,
}

impl Follower {
    pub fn new(path: &Path) -> Follower {
        Follower {
            path: path.to_path_buf(),
            offset: 0,
            partial: Vec::new(),
        }
    }

    /// The whole lines written since the last call (none while the file does
    /// not exist).
    pub fn lines(&mut self) -> io::Result<Vec<String>> {
        let mut file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        file.seek(SeekFrom::Start(self.offset))?;
        let mut fresh = Vec::new();
        let n = file.read_to_end(&mut fresh)?;
        self.offset += n as u64;
        self.partial.extend_from_slice(&fresh);
        let Some(end) = self.partial.iter().rposition(|&b| b == b'\n') else {
            return Ok(Vec::new());
        };
        let rest = self.partial.split_off(end + 1);
        let done = std::mem::replace(&mut self.partial, rest);
        Ok(String::from_utf8_lossy(&done)
            .lines()
            .map(str::to_string)
            .collect())
    }
}

/// Boot `kernel` once with KVM, only to see whether user space comes up
/// within [`PROBE_DEADLINE`] (the guest writes a file in `exchange`); the VM
/// is killed as soon as it has, or at the deadline. Its console goes to
/// `console`.
/// A stop signal from `signals` kills the probe VM and ends the probe
/// ([`ProbeResult::Stopped`]).
pub fn probe_kvm(
    kernel: &Path,
    exchange: &Path,
    console: &Path,
    signals: Option<&mut dyn SignalSource>,
) -> ProbeResult {
    let mark = exchange.join("kvm-probe");
    let cmd = VmCommand {
        kernel: kernel.to_path_buf(),
        accel: Accel::Kvm,
        memory: "512M".into(),
        append: Vec::new(),
        rwdirs: vec![exchange.to_path_buf()],
        script: format!(
            "echo up > {}",
            crate::record::shell_quote(&mark.to_string_lossy())
        ),
        console: console.to_path_buf(),
        tmpdir: exchange.to_path_buf(),
    };
    let mut vm = match Vm::start(&cmd) {
        Ok(vm) => vm,
        Err(e) => return ProbeResult::Failed { why: e.to_string() },
    };
    let up = || std::fs::read_to_string(&mark).is_ok_and(|t| t.trim() == "up");
    let mut signals = signals;
    loop {
        if let Some(signal) = signals.as_mut().and_then(|s| s.take().into_iter().next()) {
            vm.kill();
            return ProbeResult::Stopped(signal);
        }
        if up() {
            vm.kill();
            return ProbeResult::Booted;
        }
        match vm.try_wait() {
            Ok(Some(status)) => {
                return if up() {
                    ProbeResult::Booted
                } else {
                    ProbeResult::Failed {
                        why: format!("ended ({status}) without reaching user space"),
                    }
                };
            }
            Ok(None) => {}
            Err(e) => return ProbeResult::Failed { why: e.to_string() },
        }
        if vm.started.elapsed() >= PROBE_DEADLINE {
            vm.kill();
            return ProbeResult::Hung {
                after: PROBE_DEADLINE,
            };
        }
        std::thread::sleep(POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_follower_gives_whole_lines_as_they_come() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events");
        let mut f = Follower::new(&path);
        assert!(f.lines().unwrap().is_empty());
        let mut w = File::create(&path).unwrap();
        w.write_all(b"one\ntw").unwrap();
        assert_eq!(f.lines().unwrap(), ["one"]);
        assert!(f.lines().unwrap().is_empty());
        w.write_all(b"o\nthree\n").unwrap();
        assert_eq!(f.lines().unwrap(), ["two", "three"]);
    }
}
