//! Backquoted shell commands (engine spec, section 12).
//!
//! Commands run with `/bin/sh -c` in the engine's working directory, with
//! the engine as their parent (`$PPID` = the engine's pid, which
//! `set_sysctls.py` and scripts rely on) and `PACKETDRILL_PID` in their
//! environment. Their exit status is judged as packetdrill judges what
//! `system(3)` returns.

use std::os::unix::process::ExitStatusExt;
use std::process::Command;

/// How a shell command ended, as packetdrill distinguishes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShellStatus {
    /// Exited with this status. As with `system(3)`'s `WEXITSTATUS`, a command
    /// killed by a signal other than SIGINT/SIGQUIT counts as status 0.
    Exited(i32),
    /// Killed by SIGINT or SIGQUIT: (signal number, its description).
    Interrupted(i32, &'static str),
}

/// Run `command` with `/bin/sh -c`, inheriting stdio, and wait for it.
pub fn system(command: &str) -> std::io::Result<ShellStatus> {
    let status = Command::new("/bin/sh")
        .arg("-c")
        .arg(command)
        .env("PACKETDRILL_PID", std::process::id().to_string())
        .status()?;
    Ok(match status.signal() {
        Some(libc::SIGINT) => ShellStatus::Interrupted(libc::SIGINT, "Interrupt"),
        Some(libc::SIGQUIT) => ShellStatus::Interrupted(libc::SIGQUIT, "Quit"),
        Some(_) => ShellStatus::Exited(0),
        None => ShellStatus::Exited(status.code().unwrap_or(0)),
    })
}

/// Run a script command; `Err` carries packetdrill's detail text
/// (`non-zero status N`, `got signal 2 (Interrupt)`, or the spawn error).
pub fn run(command: &str) -> Result<(), String> {
    match system(command) {
        Err(e) => Err(e.to_string()),
        Ok(ShellStatus::Exited(0)) => Ok(()),
        Ok(ShellStatus::Exited(n)) => Err(format!("non-zero status {n}")),
        Ok(ShellStatus::Interrupted(sig, name)) => Err(format!("got signal {sig} ({name})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_as_packetdrill_reads_them() {
        assert_eq!(run("true"), Ok(()));
        assert_eq!(run("exit 3"), Err("non-zero status 3".into()));
        assert_eq!(run("kill -INT $$"), Err("got signal 2 (Interrupt)".into()));
        // Killed by another signal: system(3)'s WEXITSTATUS reads 0.
        assert_eq!(run("kill -TERM $$"), Ok(()));
    }

    #[test]
    fn commands_see_the_engine_as_parent_and_packetdrill_pid() {
        let me = std::process::id();
        assert_eq!(
            run(&format!(
                "test \"$PPID\" = {me} && test \"$PACKETDRILL_PID\" = {me}"
            )),
            Ok(())
        );
    }
}
