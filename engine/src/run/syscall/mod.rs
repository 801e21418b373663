//! The script's system calls (docs/engine/syscalls.md): evaluate the
//! arguments, map script fds to live fds, make the live call, then compare
//! result, errno and out-parameters with the script and update fd/socket
//! tracking.
//!
//! A call goes through three steps so that the run loop can make blocking
//! calls (`T...E name(...)`) on a helper thread:
//!
//! 1. [`prepare`] (run loop thread, with the state): evaluate, check and
//!    resolve everything, and apply what packetdrill does *before* the call
//!    (a connect moves the socket to "connecting").
//! 2. [`PreparedCall::execute`] (any thread, no state): the live call only.
//! 3. [`complete`] (run loop thread, with the state): packetdrill's checks in
//!    its order, then the tracking that follows a successful call.
//!
//! Errors are [`SyscallError`]s: their text is the detail of
//! `runtime error in <name> call: <detail>`.

mod call;
mod error;
pub mod eval;
mod live_op;
mod msg;
mod poll;
mod preparers;
mod sockaddr;
mod sockopt;
pub mod symbols;

use crate::run::state::FdKind;
use crate::script::SyscallSpec;
pub use call::SyscallEnv;
use call::{Call, Check, Post};
pub use error::SyscallError;
use eval::{evaluate, expected_result, Args, Definition, Value};

/// A system call with its arguments evaluated and its fds resolved.
/// It owns everything the live call points at, so it can move to another thread.
#[derive(Debug)]
pub struct PreparedCall {
    call: Call,
}

/// The outcome of a live call, to be checked by [`complete`].
#[derive(Debug)]
pub struct Executed {
    result: i64,
    errno: i32,
    output: live_op::Output,
    post: Post,
    check: Check,
    kept: Option<live_op::KeptBuffers>,
}

impl PreparedCall {
    /// Make the live call (on whatever thread; needs no run state).
    pub fn execute(self) -> Executed {
        let (result, errno, output, kept) = self.call.op.execute();
        Executed {
            result,
            errno,
            output,
            post: self.call.post,
            check: self.call.check,
            kept,
        }
    }
}

/// Evaluate the arguments of `spec` and resolve its fds. Fails with
/// packetdrill's detail text (unknown call, unknown symbol, bad type,
/// unknown fd...). A connect-like call updates socket tracking here, as
/// packetdrill does before making it.
pub fn prepare(spec: &SyscallSpec, env: &mut SyscallEnv) -> Result<PreparedCall, SyscallError> {
    let name = spec.name.value.as_str();
    let preparer = preparers::TABLE
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, p)| *p)
        .ok_or_else(|| SyscallError::UnknownCall(name.to_string()))?;
    let args = spec
        .args
        .iter()
        .map(|e| evaluate(e, &env.config.defines))
        .collect::<Result<Vec<Value>, SyscallError>>()?;
    let call = preparer(&Args(args), env)?;
    Ok(PreparedCall { call })
}

/// The errno a script names, resolved like any word.
fn errno_value(name: &str, env: &SyscallEnv) -> Result<i32, SyscallError> {
    let resolved = match eval::definition(&env.config.defines, name) {
        Some(Definition::Word(w)) => eval::symbol(&w)?,
        Some(Definition::Int(n)) => n,
        _ => eval::symbol(name)?,
    };
    Ok(resolved as i32)
}

/// Compare the call's result and errno with the script, check its
/// out-parameters, and update fd/socket tracking, in packetdrill's order.
pub fn complete(
    spec: &SyscallSpec,
    done: Executed,
    env: &mut SyscallEnv,
) -> Result<(), SyscallError> {
    if let Some(kept) = done.kept {
        env.state.kept_buffers.push(kept.into_any());
    }
    let expected = expected_result(&spec.result, &env.config.defines)?;
    // C stores every result in an int.
    let actual = done.result as i32;
    let errno = done.errno;
    if done.check == Check::Fd && expected >= 0 {
        if actual < 0 {
            return Err(SyscallError::NegativeResult { actual, errno });
        }
    } else if actual != expected {
        return Err(SyscallError::Result {
            expected,
            actual,
            errno,
        });
    }
    if let Some(e) = &spec.errno {
        let want = errno_value(&e.name.value, env)?;
        if errno != want {
            return Err(SyscallError::Errno {
                expected: want,
                actual: errno,
            });
        }
    }
    post(done.post, &done.output, expected, actual, env)
}

fn post(
    post: Post,
    output: &live_op::Output,
    expected: i32,
    actual: i32,
    env: &mut SyscallEnv,
) -> Result<(), SyscallError> {
    use live_op::Output as O;
    let state = &mut *env.state;
    match (post, output) {
        (Post::None, _) => Ok(()),
        (
            Post::Socket {
                domain,
                ty,
                protocol,
            },
            _,
        ) => {
            if actual >= 0 {
                state.add_socket(expected, actual, domain, ty, protocol)?;
            }
            Ok(())
        }
        (Post::Listen { script_fd }, _) => Ok(state.on_listen(script_fd)?),
        (Post::Accept, O::Accept { peer }) => {
            if actual >= 0 {
                let peer = sockaddr::decode(peer).unwrap_or_default();
                state.on_accept(expected, actual, peer)?;
            }
            Ok(())
        }
        (Post::Close { script_fd }, _) => Ok(state.on_close(script_fd)?),
        (Post::NewFd(kind), _) => {
            if actual >= 0 {
                state.add_fd(expected, actual, kind)?;
            }
            Ok(())
        }
        (Post::Pipe { script_fds }, O::Pipe { fds }) => {
            if actual >= 0 {
                for (script_fd, live_fd) in script_fds.into_iter().zip(*fds) {
                    state.add_fd(script_fd, live_fd, FdKind::Pipe)?;
                }
            }
            Ok(())
        }
        (Post::GetSockOpt(want), O::GetSockOpt { optval, optlen }) => {
            sockopt::check_getsockopt(&want, optval, *optlen)
        }
        (Post::RecvMsg(want), O::RecvMsg { flags, control }) => {
            let time = msg::TimeBase {
                live_start_usecs: state.live_start_realtime_usecs,
                tolerance_usecs: env.config.tolerance_usecs,
            };
            msg::check_recv(&want, *flags, control, time)
        }
        (Post::Poll(want), O::Poll { revents }) => poll::check_poll(&want, revents),
        (Post::EpollWait(want), O::EpollWait { events, data }) => {
            poll::check_epoll_wait(&want, *events, *data)
        }
        (Post::Ioctl { expected }, O::Ioctl { value }) => {
            if *value != expected {
                return Err(error::output(format!(
                    "Bad ioctl optval: expected: {expected} actual: {value}"
                )));
            }
            Ok(())
        }
        (post, output) => Err(SyscallError::Internal(format!(
            "no {output:?} output for the {post:?} check"
        ))),
    }
}

#[cfg(test)]
mod tests;
