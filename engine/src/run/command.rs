//! Backquoted shell commands (docs/engine/commands-and-code.md, "Commands").
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

/// Run `command` with `/bin/sh -c`, inheriting stdio, and wait for it. It
/// runs at the event loop's scheduling policy, as packetdrill's commands do
/// (docs/engine/commands-and-code.md, "Commands"): on a busy machine a
/// command takes the time it takes under packetdrill.
pub fn system(command: &str) -> std::io::Result<ShellStatus> {
    let inherit = super::priority::ChildrenInherit::new();
    let child = Command::new("/bin/sh")
        .arg("-c")
        .arg(command)
        .env("PACKETDRILL_PID", std::process::id().to_string())
        .spawn();
    drop(inherit);
    let status = child?.wait()?;
    Ok(match status.signal() {
        Some(libc::SIGINT) => ShellStatus::Interrupted(libc::SIGINT, "Interrupt"),
        Some(libc::SIGQUIT) => ShellStatus::Interrupted(libc::SIGQUIT, "Quit"),
        Some(_) => ShellStatus::Exited(0),
        None => ShellStatus::Exited(status.code().unwrap_or(0)),
    })
}

/// A backquoted command that failed. `Display` is packetdrill's detail
/// text (what follows `error executing ... command: `).
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// `/bin/sh` could not be started.
    #[error("{0}")]
    Spawn(#[from] std::io::Error),
    #[error("non-zero status {0}")]
    Status(i32),
    #[error("got signal {signal} ({name})")]
    Signal { signal: i32, name: &'static str },
}

/// Run a script command as packetdrill judges it.
pub fn run(command: &str) -> Result<(), CommandError> {
    match system(command)? {
        ShellStatus::Exited(0) => Ok(()),
        ShellStatus::Exited(n) => Err(CommandError::Status(n)),
        ShellStatus::Interrupted(signal, name) => Err(CommandError::Signal { signal, name }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_as_packetdrill_reads_them() {
        let text = |c: &str| run(c).map_err(|e| e.to_string());
        assert_eq!(text("true"), Ok(()));
        assert!(matches!(run("exit 3"), Err(CommandError::Status(3))));
        assert_eq!(text("exit 3"), Err("non-zero status 3".into()));
        assert_eq!(text("kill -INT $$"), Err("got signal 2 (Interrupt)".into()));
        // Killed by another signal: system(3)'s WEXITSTATUS reads 0.
        assert_eq!(text("kill -TERM $$"), Ok(()));
    }

    #[test]
    fn commands_see_the_engine_as_parent_and_packetdrill_pid() {
        let me = std::process::id();
        assert!(run(&format!(
            "test \"$PPID\" = {me} && test \"$PACKETDRILL_PID\" = {me}"
        ))
        .is_ok());
    }
}
