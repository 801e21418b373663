//! Argument checking and preparation for each system call packetdrill knows,
//! in its argument order and with its error texts (docs/engine/syscalls.md,
//! "Calls").

use super::call::{Call, Check, Post, SyscallEnv};
use super::error::{bad_type, invalid, SyscallError};
use super::eval::{get_s32, Args, Value};
use super::live_op::{Buffer, IoVecs, LiveOp};
use super::msg::{iovec_new, msghdr_new, RecvCheck};
use super::poll::{epoll_event_new, pollfds_new};
use super::sockaddr;
use super::sockopt::{getsockopt_len, setsockopt_value, GetCheck};
use crate::packet::flow::Endpoint;
use crate::run::state::FdKind;
use std::ffi::CString;
use std::os::fd::RawFd;

/// Which preparer handles a call name.
pub type Preparer = fn(&Args, &mut SyscallEnv) -> Result<Call, SyscallError>;

/// packetdrill's system call table, in its order.
pub const TABLE: &[(&str, Preparer)] = &[
    ("socket", socket),
    ("bind", bind),
    ("listen", listen),
    ("accept", accept),
    ("connect", connect),
    ("read", read),
    ("readv", readv),
    ("recv", recv),
    ("recvfrom", recvfrom),
    ("recvmsg", recvmsg),
    ("write", write),
    ("writev", writev),
    ("send", send),
    ("sendto", sendto),
    ("sendmsg", sendmsg),
    ("fcntl", fcntl),
    ("ioctl", ioctl),
    ("close", close),
    ("shutdown", shutdown),
    ("getsockopt", getsockopt),
    ("setsockopt", setsockopt),
    ("poll", poll),
    ("cap_set", cap_set),
    ("open", open),
    ("sendfile", sendfile),
    ("epoll_create", epoll_create),
    ("epoll_ctl", epoll_ctl),
    ("epoll_wait", epoll_wait),
    ("pipe", pipe),
    ("splice", splice),
    ("psp_rx_assoc", psp_rx_assoc),
    ("psp_tx_assoc", psp_tx_assoc),
];

fn exact(op: LiveOp) -> Result<Call, SyscallError> {
    Ok(Call {
        op,
        post: Post::None,
        check: Check::Exact,
    })
}

/// Argument `i` as a script fd, and its live fd.
fn fd_arg(a: &Args, i: usize, env: &SyscallEnv) -> Result<(i32, RawFd), SyscallError> {
    let script_fd = a.s32(i)?;
    Ok((script_fd, env.state.live_fd(script_fd)?))
}

fn remote(env: &SyscallEnv) -> Endpoint {
    Endpoint {
        ip: Some(env.addrs.remote_ip),
        port: env.addrs.connect_port,
    }
}

/// packetdrill's `run_syscall_connect`: the live destination for a connect,
/// sendto or sendmsg (`family` given instead of `...` means a zeroed address
/// of that family), and the socket's tracking update.
fn connect_target(
    env: &mut SyscallEnv,
    script_fd: i32,
    family: Option<i32>,
) -> Result<Vec<u8>, SyscallError> {
    let addr = match family {
        Some(f) => sockaddr::family_only(f),
        None => sockaddr::encode(env.addrs.connect_ip, env.addrs.connect_port),
    };
    let unspec = family.is_some_and(|f| f as u16 as i32 == libc::AF_UNSPEC);
    let peer = remote(env);
    env.state.on_connect(script_fd, peer, unspec, false)?;
    Ok(addr)
}

/// `...` or an integer address family.
fn family_or_ellipsis(a: &Args, i: usize) -> Result<Option<i32>, SyscallError> {
    if a.is_ellipsis(i) {
        Ok(None)
    } else {
        a.s32(i).map(Some)
    }
}

fn socket(a: &Args, env: &mut SyscallEnv) -> Result<Call, SyscallError> {
    a.check_count(3)?;
    let domain = if a.is_ellipsis(0) {
        if env.addrs.ip_version.socket_is_ipv6() {
            libc::AF_INET6
        } else {
            libc::AF_INET
        }
    } else {
        a.s32(0)?
    };
    let ty = a.s32(1)?;
    let protocol = a.s32(2)?;
    Ok(Call {
        op: LiveOp::Socket {
            domain,
            ty,
            protocol,
        },
        post: Post::Socket {
            domain,
            ty,
            protocol,
        },
        check: Check::Fd,
    })
}

fn bind(a: &Args, env: &mut SyscallEnv) -> Result<Call, SyscallError> {
    a.check_count(3)?;
    let (_, fd) = fd_arg(a, 0, env)?;
    a.ellipsis(1)?;
    a.ellipsis(2)?;
    let addr = sockaddr::encode(env.addrs.bind_ip, env.addrs.bind_port);
    exact(LiveOp::Bind { fd, addr })
}

fn listen(a: &Args, env: &mut SyscallEnv) -> Result<Call, SyscallError> {
    a.check_count(2)?;
    let (script_fd, fd) = fd_arg(a, 0, env)?;
    let backlog = a.s32(1)?;
    Ok(Call {
        op: LiveOp::Listen { fd, backlog },
        post: Post::Listen { script_fd },
        check: Check::Exact,
    })
}

fn accept(a: &Args, env: &mut SyscallEnv) -> Result<Call, SyscallError> {
    a.check_count(3)?;
    let (_, fd) = fd_arg(a, 0, env)?;
    a.ellipsis(1)?;
    a.ellipsis(2)?;
    Ok(Call {
        op: LiveOp::Accept { fd },
        post: Post::Accept,
        check: Check::Fd,
    })
}

fn connect(a: &Args, env: &mut SyscallEnv) -> Result<Call, SyscallError> {
    a.check_count(3)?;
    let (script_fd, fd) = fd_arg(a, 0, env)?;
    let family = family_or_ellipsis(a, 1)?;
    a.ellipsis(2)?;
    let addr = connect_target(env, script_fd, family)?;
    exact(LiveOp::Connect { fd, addr })
}

fn read(a: &Args, env: &mut SyscallEnv) -> Result<Call, SyscallError> {
    a.check_count(3)?;
    let (_, fd) = fd_arg(a, 0, env)?;
    let is_null = a.buffer_is_null(1)?;
    let count = a.s32(2)?;
    exact(LiveOp::Read {
        fd,
        buf: Buffer::new(is_null, count)?,
    })
}

/// The iovec array and count of readv/writev.
fn iov_args(a: &Args) -> Result<IoVecs, SyscallError> {
    let iov = iovec_new(a.get(1)?)?;
    let count = a.s32(2)?;
    if count as i64 != iov.len() as i64 {
        return Err(invalid(format!(
            "iov_count {count} does not match {}-element iovec array",
            iov.len()
        )));
    }
    Ok(IoVecs(iov))
}

fn readv(a: &Args, env: &mut SyscallEnv) -> Result<Call, SyscallError> {
    a.check_count(3)?;
    let (_, fd) = fd_arg(a, 0, env)?;
    let iov = iov_args(a)?;
    exact(LiveOp::Readv { fd, iov })
}

fn recv(a: &Args, env: &mut SyscallEnv) -> Result<Call, SyscallError> {
    a.check_count(4)?;
    let (_, fd) = fd_arg(a, 0, env)?;
    let is_null = a.buffer_is_null(1)?;
    let count = a.s32(2)?;
    let flags = a.s32(3)?;
    exact(LiveOp::Recv {
        fd,
        buf: Buffer::new(is_null, count)?,
        flags,
    })
}

fn recvfrom(a: &Args, env: &mut SyscallEnv) -> Result<Call, SyscallError> {
    a.check_count(6)?;
    let (_, fd) = fd_arg(a, 0, env)?;
    let is_null = a.buffer_is_null(1)?;
    let count = a.s32(2)?;
    let flags = a.s32(3)?;
    a.ellipsis(4)?;
    a.ellipsis(5)?;
    exact(LiveOp::RecvFrom {
        fd,
        buf: Buffer::new(is_null, count)?,
        flags,
    })
}

fn recvmsg(a: &Args, env: &mut SyscallEnv) -> Result<Call, SyscallError> {
    a.check_count(3)?;
    let (_, fd) = fd_arg(a, 0, env)?;
    let msg = msghdr_new(a.get(1)?)?;
    let flags = a.s32(2)?;
    let want = RecvCheck {
        flags: msg.flags,
        control: msg.control.clone(),
    };
    Ok(Call {
        op: LiveOp::RecvMsg { fd, msg, flags },
        post: Post::RecvMsg(want),
        check: Check::Exact,
    })
}

fn write(a: &Args, env: &mut SyscallEnv) -> Result<Call, SyscallError> {
    a.check_count(3)?;
    let (_, fd) = fd_arg(a, 0, env)?;
    let is_null = a.buffer_is_null(1)?;
    let count = a.s32(2)?;
    exact(LiveOp::Write {
        fd,
        buf: Buffer::new(is_null, count)?,
    })
}

fn writev(a: &Args, env: &mut SyscallEnv) -> Result<Call, SyscallError> {
    a.check_count(3)?;
    let (_, fd) = fd_arg(a, 0, env)?;
    let iov = iov_args(a)?;
    exact(LiveOp::Writev { fd, iov })
}

/// Whether the kernel may read a send's buffers after the call returns:
/// `MSG_ZEROCOPY` (until its completion) or `--send_omit_free`
/// (docs/engine/syscalls.md, "Send buffers the kernel keeps reading").
fn keeps_buffers(env: &SyscallEnv, flags: i32) -> bool {
    env.config.send_omit_free || flags & libc::MSG_ZEROCOPY != 0
}

fn send(a: &Args, env: &mut SyscallEnv) -> Result<Call, SyscallError> {
    a.check_count(4)?;
    let (_, fd) = fd_arg(a, 0, env)?;
    let is_null = a.buffer_is_null(1)?;
    let count = a.s32(2)?;
    let flags = a.s32(3)?;
    exact(LiveOp::Send {
        fd,
        buf: Buffer::new(is_null, count)?,
        flags,
        keep: keeps_buffers(env, flags),
    })
}

/// Whether a tracked socket is a ping (ICMP datagram) socket.
fn is_icmp_socket(env: &SyscallEnv, script_fd: i32) -> bool {
    env.state.socket_of_fd(script_fd).is_some_and(|id| {
        let s = &env.state.sockets[id];
        s.ty == libc::SOCK_DGRAM
            && ((s.family == libc::AF_INET && s.protocol == libc::IPPROTO_ICMP)
                || (s.family == libc::AF_INET6 && s.protocol == libc::IPPROTO_ICMPV6))
    })
}

fn sendto(a: &Args, env: &mut SyscallEnv) -> Result<Call, SyscallError> {
    a.check_count(6)?;
    let (script_fd, fd) = fd_arg(a, 0, env)?;
    let is_null = a.buffer_is_null(1)?;
    let count = a.s32(2)?;
    let flags = a.s32(3)?;
    let family = family_or_ellipsis(a, 4)?;
    a.ellipsis(5)?;
    let mut buf = Buffer::new(is_null, count)?;
    let addr = if is_icmp_socket(env, script_fd) {
        // Ping sockets send an echo request: the buffer starts with its type.
        a.ellipsis(4)?;
        let addr = connect_target(env, script_fd, None)?;
        if count >= 8 {
            let echo = if env.addrs.ip_version.wire_is_ipv6() {
                128
            } else {
                8
            };
            buf.set_first_byte(echo);
        }
        addr
    } else {
        connect_target(env, script_fd, family)?
    };
    exact(LiveOp::SendTo {
        fd,
        buf,
        flags,
        addr,
        keep: keeps_buffers(env, flags),
    })
}

fn sendmsg(a: &Args, env: &mut SyscallEnv) -> Result<Call, SyscallError> {
    a.check_count(3)?;
    let (script_fd, fd) = fd_arg(a, 0, env)?;
    let mut msg = msghdr_new(a.get(1)?)?;
    let flags = a.s32(2)?;
    msg.name = Some(connect_target(env, script_fd, None)?);
    if msg.flags != 0 {
        return Err(invalid("sendmsg ignores msg_flags field in msghdr"));
    }
    exact(LiveOp::SendMsg {
        fd,
        msg,
        flags,
        keep: keeps_buffers(env, flags),
    })
}

fn fcntl(a: &Args, env: &mut SyscallEnv) -> Result<Call, SyscallError> {
    if a.len() != 2 && a.len() != 3 {
        return Err(SyscallError::ArgumentCountRange {
            call: "fcntl",
            got: a.len(),
        });
    }
    let (_, fd) = fd_arg(a, 0, env)?;
    let cmd = a.s32(1)?;
    let arg = if a.len() == 3 { Some(a.s32(2)?) } else { None };
    exact(LiveOp::Fcntl { fd, cmd, arg })
}

fn ioctl(a: &Args, env: &mut SyscallEnv) -> Result<Call, SyscallError> {
    if a.len() != 2 && a.len() != 3 {
        return Err(SyscallError::ArgumentCountRange {
            call: "ioctl",
            got: a.len(),
        });
    }
    let (_, fd) = fd_arg(a, 0, env)?;
    let request = a.s32(1)?;
    if a.len() == 2 {
        return exact(LiveOp::Ioctl {
            fd,
            request,
            with_int: false,
        });
    }
    let expected = a.s32_bracketed(2)?;
    Ok(Call {
        op: LiveOp::Ioctl {
            fd,
            request,
            with_int: true,
        },
        post: Post::Ioctl { expected },
        check: Check::Exact,
    })
}

fn close(a: &Args, env: &mut SyscallEnv) -> Result<Call, SyscallError> {
    a.check_count(1)?;
    let (script_fd, fd) = fd_arg(a, 0, env)?;
    Ok(Call {
        op: LiveOp::Close { fd },
        post: Post::Close { script_fd },
        check: Check::Exact,
    })
}

fn shutdown(a: &Args, env: &mut SyscallEnv) -> Result<Call, SyscallError> {
    a.check_count(2)?;
    let (_, fd) = fd_arg(a, 0, env)?;
    let how = a.s32(1)?;
    exact(LiveOp::Shutdown { fd, how })
}

fn getsockopt(a: &Args, env: &mut SyscallEnv) -> Result<Call, SyscallError> {
    a.check_count(5)?;
    let (_, fd) = fd_arg(a, 0, env)?;
    let level = a.s32(1)?;
    let name = a.s32(2)?;
    let value = a.get(3)?.clone();
    let optlen = a.s32_bracketed(4)?;
    Ok(Call {
        op: LiveOp::GetSockOpt {
            fd,
            level,
            name,
            optlen: getsockopt_len(optlen)?,
        },
        post: Post::GetSockOpt(GetCheck { value, optlen }),
        check: Check::Exact,
    })
}

fn setsockopt(a: &Args, env: &mut SyscallEnv) -> Result<Call, SyscallError> {
    a.check_count(5)?;
    let (_, fd) = fd_arg(a, 0, env)?;
    let level = a.s32(1)?;
    let name = a.s32(2)?;
    let optlen = a.s32(4)?;
    let optval = setsockopt_value(a.get(3)?, optlen)?;
    exact(LiveOp::SetSockOpt {
        fd,
        level,
        name,
        optval,
        optlen,
    })
}

fn poll(a: &Args, env: &mut SyscallEnv) -> Result<Call, SyscallError> {
    a.check_count(3)?;
    let (fds, want) = pollfds_new(a.get(0)?, env.state)?;
    let nfds = a.s32(1)?;
    let timeout = a.s32(2)?;
    if nfds as i64 != fds.len() as i64 {
        return Err(invalid(format!(
            "nfds {nfds} does not match {}-element pollfd array",
            fds.len()
        )));
    }
    Ok(Call {
        op: LiveOp::Poll { fds, timeout },
        post: Post::Poll(want),
        check: Check::Exact,
    })
}

fn cap_set(a: &Args, _env: &mut SyscallEnv) -> Result<Call, SyscallError> {
    a.check_count(3)?;
    let flag = a.s32(0)?;
    let value = a.s32(1)?;
    let op = a.s32(2)?;
    // libcap's cap_set_flag refuses these; packetdrill then dies with this text.
    if !(0..=2).contains(&flag) || !(0..64).contains(&value) || !(0..=1).contains(&op) {
        return Err(SyscallError::CapSetFlag);
    }
    Ok(Call {
        op: LiveOp::CapSet { flag, value, op },
        post: Post::None,
        check: Check::Fd,
    })
}

fn open(a: &Args, _env: &mut SyscallEnv) -> Result<Call, SyscallError> {
    a.check_count(2)?;
    let path = match a.get(0)? {
        Value::Bytes(b) => {
            // C reads the name up to its first NUL.
            let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
            CString::new(&b[..end]).map_err(|_| invalid("bad path"))?
        }
        other => return Err(bad_type(other.type_name(), "string")),
    };
    let flags = a.s32(1)?;
    Ok(Call {
        op: LiveOp::Open { path, flags },
        post: Post::NewFd(FdKind::File),
        check: Check::Fd,
    })
}

fn sendfile(a: &Args, env: &mut SyscallEnv) -> Result<Call, SyscallError> {
    a.check_count(4)?;
    let (_, out_fd) = fd_arg(a, 0, env)?;
    let (_, in_fd) = fd_arg(a, 1, env)?;
    let offset = a.s64_bracketed(2)?;
    let count = a.s32(3)?;
    exact(LiveOp::SendFile {
        out_fd,
        in_fd,
        offset,
        count,
    })
}

fn epoll_create(a: &Args, _env: &mut SyscallEnv) -> Result<Call, SyscallError> {
    a.check_count(1)?;
    let size = a.s32(0)?;
    Ok(Call {
        op: LiveOp::EpollCreate { size },
        post: Post::NewFd(FdKind::Epoll),
        check: Check::Fd,
    })
}

fn epoll_ctl(a: &Args, env: &mut SyscallEnv) -> Result<Call, SyscallError> {
    a.check_count(4)?;
    let (_, epfd) = fd_arg(a, 0, env)?;
    let op = a.s32(1)?;
    let (script_fd, fd) = fd_arg(a, 2, env)?;
    let ev = epoll_event_new(a.get(3)?, Some((script_fd, fd)), env.state)?;
    exact(LiveOp::EpollCtl {
        epfd,
        op,
        fd,
        events: ev.events,
        data: ev.data,
    })
}

fn epoll_wait(a: &Args, env: &mut SyscallEnv) -> Result<Call, SyscallError> {
    a.check_count(4)?;
    let (_, epfd) = fd_arg(a, 0, env)?;
    let want = epoll_event_new(a.get(1)?, None, env.state)?;
    let maxevents = a.s32(2)?;
    let timeout = a.s32(3)?;
    Ok(Call {
        op: LiveOp::EpollWait {
            epfd,
            maxevents,
            timeout,
        },
        post: Post::EpollWait(want),
        check: Check::Exact,
    })
}

fn pipe(a: &Args, _env: &mut SyscallEnv) -> Result<Call, SyscallError> {
    a.check_count(1)?;
    let items = match a.get(0)? {
        Value::List(items) => items,
        other => return Err(bad_type(other.type_name(), "list")),
    };
    if items.len() != 2 {
        return Err(invalid(format!(
            "{} pipe file descriptors instead of 2",
            items.len()
        )));
    }
    let mut script_fds = [0i32; 2];
    for (slot, item) in script_fds.iter_mut().zip(items) {
        *slot = match item {
            Value::Int(n) => *n as i32,
            other => return Err(bad_type(other.type_name(), "integer")),
        };
    }
    Ok(Call {
        op: LiveOp::Pipe,
        post: Post::Pipe { script_fds },
        check: Check::Exact,
    })
}

fn splice(a: &Args, env: &mut SyscallEnv) -> Result<Call, SyscallError> {
    a.check_count(6)?;
    let (_, fd_in) = fd_arg(a, 0, env)?;
    let off_in = a.s64(1)?;
    let (_, fd_out) = fd_arg(a, 2, env)?;
    let off_out = a.s64(3)?;
    let len = a.s32(4)?;
    let flags = a.s32(5)?;
    exact(LiveOp::Splice {
        fd_in,
        off_in,
        fd_out,
        off_out,
        len,
        flags,
    })
}

/// PSP needs packetdrill's wire-server mode; like a build without it set up,
/// the calls are known but refused after their arguments are checked.
fn psp_rx_assoc(a: &Args, env: &mut SyscallEnv) -> Result<Call, SyscallError> {
    a.check_count(2)?;
    fd_arg(a, 0, env)?;
    a.s32_bracketed(1)?;
    Err(SyscallError::PspNotInitialized)
}

fn psp_tx_assoc(a: &Args, env: &mut SyscallEnv) -> Result<Call, SyscallError> {
    a.check_count(2)?;
    fd_arg(a, 0, env)?;
    get_s32(a.get(1)?)?;
    Err(SyscallError::PspNotInitialized)
}
