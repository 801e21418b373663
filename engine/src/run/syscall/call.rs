//! A system call as the preparers leave it: the live operation to make,
//! how its result is compared, and what is checked and tracked after it.

use super::live_op::LiveOp;
use super::msg::RecvCheck;
use super::poll::{EpollEvent, PollCheck};
use super::sockopt::GetCheck;
use crate::plan::config::{Addresses, Config};
use crate::run::state::{FdKind, RunState};

/// What a system call needs from the run.
pub struct SyscallEnv<'a> {
    pub state: &'a mut RunState,
    pub config: &'a Config,
    pub addrs: &'a Addresses,
}

/// How the result is compared (packetdrill's `CHECK_EXACT` / `CHECK_FD`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    Exact,
    /// fd-creating calls: a non-negative expected value only needs a
    /// non-negative result (script fds are labels).
    Fd,
}

/// What [`super::complete`] does after the result check.
#[derive(Debug)]
pub enum Post {
    None,
    Socket {
        domain: i32,
        ty: i32,
        protocol: i32,
    },
    Listen {
        script_fd: i32,
    },
    Accept,
    Close {
        script_fd: i32,
    },
    /// open() / epoll_create(): a new fd of this kind.
    NewFd(FdKind),
    Pipe {
        script_fds: [i32; 2],
    },
    GetSockOpt(GetCheck),
    RecvMsg(RecvCheck),
    Poll(PollCheck),
    EpollWait(EpollEvent),
    Ioctl {
        expected: i32,
    },
}

/// A call ready to run: what the preparers return.
#[derive(Debug)]
pub struct Call {
    pub op: LiveOp,
    pub post: Post,
    pub check: Check,
}
