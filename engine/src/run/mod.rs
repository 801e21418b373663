//! Replaying a plan against the live kernel.

pub mod code;
pub mod command;
pub mod state;
pub mod syscall;
pub mod timing;
pub mod tracking;

use crate::config::CliFlag;
use crate::outcome::{Failure, FailureKind, Observer, Outcome};
use std::path::Path;

/// How the caller wants a run to behave beyond packetdrill's own flags.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct RunOptions {
    /// The caller created this network namespace for this run alone and will
    /// destroy it: the engine may skip slow teardown (e.g. leave tun0 to die with
    /// the namespace instead of waiting for its close).
    pub namespace_is_ours: bool,
    /// Refuse to run in the host's initial network namespace unless set.
    pub allow_initial_namespace: bool,
}

/// Run one script file with packetdrill's command-line flags `cli` (script
/// option lines apply first, then `cli` again, as packetdrill does).
///
/// The current directory is where backquoted commands run (packetdrill runs
/// them in its own working directory; runners `cd` into the script's folder).
pub fn run_file(
    path: &Path,
    cli: &[CliFlag],
    opts: &RunOptions,
    observer: &mut dyn Observer,
) -> Outcome {
    let _ = (cli, opts, observer);
    Outcome::Fail(Failure {
        kind: FailureKind::Internal,
        line: None,
        message: format!("{}: the runtime is not built yet", path.display()),
        mismatch: None,
    })
}
