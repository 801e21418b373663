//! How a system call event fails: [`SyscallError`], whose `Display` is
//! packetdrill's detail text (what follows `runtime error in <name> call: `).

use super::symbols::strerror;
use crate::run::state::TrackingError;

/// A system call that could not be made as written, or that did not return
/// what the script says.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SyscallError {
    #[error("Unknown system call: '{0}'")]
    UnknownCall(String),
    #[error("Expected {expected} args but got {got}")]
    ArgumentCount { expected: usize, got: usize },
    /// `fcntl` and `ioctl` take two or three.
    #[error("{call} expected 2-3 args but got {got}")]
    ArgumentCountRange { call: &'static str, got: usize },
    #[error("Argument list too short")]
    ArgumentListTooShort,
    /// packetdrill's type names: `integer`, `list`, `ellipsis`, `pollfd`...
    #[error("Bad type; actual: {actual} expected: {expected}")]
    BadType {
        actual: &'static str,
        expected: &'static str,
    },
    #[error("Value out of range for {bits}-bit integer: {value}")]
    OutOfRange { bits: u8, value: i64 },
    #[error("unknown symbol: '{0}'")]
    UnknownSymbol(String),
    #[error("unsupported escape code: '{0}'")]
    UnsupportedEscape(char),
    #[error("invalid hex escape (\\xhh): '\\x{0}'")]
    InvalidHexEscape(String),
    /// An argument the call cannot use, in packetdrill's words
    /// (`Expected ... or NULL for buffer`, `bad iovec length -1`, ...).
    #[error("{0}")]
    InvalidArgument(String),
    /// A script fd the run does not know, a duplicate fd, a socket that is
    /// not in the state the call needs.
    #[error(transparent)]
    Tracking(#[from] TrackingError),
    #[error("Error in cap_set_flag()")]
    CapSetFlag,
    /// PSP needs packetdrill's wire-server mode.
    #[error("PSP not initialized")]
    PspNotInitialized,
    #[error("Expected result {expected} but got {actual} with errno {errno} ({})", strerror(*errno))]
    Result {
        expected: i32,
        actual: i32,
        errno: i32,
    },
    /// An fd-creating call returned a negative value.
    #[error("Expected non-negative result but got {actual} with errno {errno} ({})", strerror(*errno))]
    NegativeResult { actual: i32, errno: i32 },
    #[error("Expected errno {expected} ({}) but got {actual} ({})", strerror(*expected), strerror(*actual))]
    Errno { expected: i32, actual: i32 },
    /// What the call wrote back differs from the script (getsockopt's value
    /// and length, poll's revents, epoll's event, recvmsg's flags and control
    /// messages, ioctl's integer), in packetdrill's words.
    #[error("{0}")]
    Output(String),
    /// The call's outcome and its check do not belong together (a bug).
    #[error("internal error: {0}")]
    Internal(String),
}

/// `Bad type; actual: X expected: Y`
pub fn bad_type(actual: &'static str, expected: &'static str) -> SyscallError {
    SyscallError::BadType { actual, expected }
}

/// An argument the call cannot use.
pub fn invalid(detail: impl Into<String>) -> SyscallError {
    SyscallError::InvalidArgument(detail.into())
}

/// An out-parameter that differs from the script.
pub fn output(detail: impl Into<String>) -> SyscallError {
    SyscallError::Output(detail.into())
}
