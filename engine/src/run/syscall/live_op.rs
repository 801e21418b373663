//! The live system calls: owned arguments in, result, errno and out-parameters
//! back. All the `unsafe` of this module lives here; everything a call points
//! the kernel at is owned by the operation and outlives the call.

use super::error::{invalid, SyscallError};
use super::sockaddr;
use std::ffi::CString;
use std::fmt;
use std::os::fd::RawFd;
use std::ptr;

/// A data buffer argument: `NULL` (no data) or `count` zero bytes.
pub struct Buffer {
    data: Option<Vec<u8>>,
    count: i32,
}

impl fmt::Debug for Buffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.data {
            None => write!(f, "NULL, {}", self.count),
            Some(_) => write!(f, "<{} bytes>", self.count),
        }
    }
}

impl Buffer {
    /// packetdrill passes `count` through as given; a real buffer has that many bytes.
    pub fn new(is_null: bool, count: i32) -> Result<Buffer, SyscallError> {
        if is_null {
            return Ok(Buffer { data: None, count });
        }
        let len =
            usize::try_from(count).map_err(|_| invalid(format!("bad buffer size {count}")))?;
        Ok(Buffer {
            data: Some(vec![0; len]),
            count,
        })
    }

    /// Set the first byte of a real buffer (ping sockets' echo request type).
    pub fn set_first_byte(&mut self, byte: u8) {
        if let Some(first) = self.data.as_mut().and_then(|d| d.first_mut()) {
            *first = byte;
        }
    }

    fn ptr(&mut self) -> *mut libc::c_void {
        self.data
            .as_mut()
            .map_or(ptr::null_mut(), |d| d.as_mut_ptr().cast())
    }

    /// C converts the script's `int` to `size_t` (negative values wrap).
    fn len(&self) -> usize {
        self.count as isize as usize
    }
}

/// A `struct msghdr` to build at call time.
pub struct MsgSpec {
    /// `msg_name` and its length (`None` for a null name).
    pub name: Option<Vec<u8>>,
    pub iov: Vec<Vec<u8>>,
    /// `msg_control`; its length is `msg_controllen`.
    pub control: Vec<u8>,
    pub flags: i32,
}

impl fmt::Debug for MsgSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let iov: Vec<usize> = self.iov.iter().map(Vec::len).collect();
        f.debug_struct("MsgSpec")
            .field("name", &self.name.as_ref().map(Vec::len))
            .field("iov", &iov)
            .field("controllen", &self.control.len())
            .field("flags", &self.flags)
            .finish()
    }
}

/// The buffers of a readv/writev.
pub struct IoVecs(pub Vec<Vec<u8>>);

impl fmt::Debug for IoVecs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.iter().map(Vec::len)).finish()
    }
}

/// One live call with everything it needs.
#[derive(Debug)]
pub enum LiveOp {
    Socket {
        domain: i32,
        ty: i32,
        protocol: i32,
    },
    Bind {
        fd: RawFd,
        addr: Vec<u8>,
    },
    Listen {
        fd: RawFd,
        backlog: i32,
    },
    Accept {
        fd: RawFd,
    },
    Connect {
        fd: RawFd,
        addr: Vec<u8>,
    },
    Read {
        fd: RawFd,
        buf: Buffer,
    },
    Readv {
        fd: RawFd,
        iov: IoVecs,
    },
    Recv {
        fd: RawFd,
        buf: Buffer,
        flags: i32,
    },
    RecvFrom {
        fd: RawFd,
        buf: Buffer,
        flags: i32,
    },
    RecvMsg {
        fd: RawFd,
        msg: MsgSpec,
        flags: i32,
    },
    Write {
        fd: RawFd,
        buf: Buffer,
    },
    Writev {
        fd: RawFd,
        iov: IoVecs,
    },
    /// `keep`: the kernel may read the buffer after the call returns
    /// (`MSG_ZEROCOPY`, or `--send_omit_free`): it stays alive, unchanged,
    /// until the run ends (docs/engine/syscalls.md, "Send buffers the kernel
    /// keeps reading").
    Send {
        fd: RawFd,
        buf: Buffer,
        flags: i32,
        keep: bool,
    },
    SendTo {
        fd: RawFd,
        buf: Buffer,
        flags: i32,
        addr: Vec<u8>,
        keep: bool,
    },
    SendMsg {
        fd: RawFd,
        msg: MsgSpec,
        flags: i32,
        keep: bool,
    },
    Fcntl {
        fd: RawFd,
        cmd: i32,
        arg: Option<i32>,
    },
    /// `with_int`: the three-argument form with an `int` out-parameter.
    Ioctl {
        fd: RawFd,
        request: i32,
        with_int: bool,
    },
    Close {
        fd: RawFd,
    },
    Shutdown {
        fd: RawFd,
        how: i32,
    },
    GetSockOpt {
        fd: RawFd,
        level: i32,
        name: i32,
        optlen: u32,
    },
    SetSockOpt {
        fd: RawFd,
        level: i32,
        name: i32,
        optval: Vec<u8>,
        optlen: i32,
    },
    Poll {
        fds: Vec<(RawFd, i16)>,
        timeout: i32,
    },
    /// Set (`op` 1) or clear (`op` 0) capability `value` in set `flag`
    /// (0 effective, 1 permitted, 2 inheritable) of this thread.
    CapSet {
        flag: i32,
        value: i32,
        op: i32,
    },
    Open {
        path: CString,
        flags: i32,
    },
    SendFile {
        out_fd: RawFd,
        in_fd: RawFd,
        offset: i64,
        count: i32,
    },
    EpollCreate {
        size: i32,
    },
    EpollCtl {
        epfd: RawFd,
        op: i32,
        fd: RawFd,
        events: u32,
        data: u64,
    },
    EpollWait {
        epfd: RawFd,
        maxevents: i32,
        timeout: i32,
    },
    Pipe,
    /// Offsets are passed as raw pointer values, as packetdrill does (0 = NULL).
    Splice {
        fd_in: RawFd,
        off_in: i64,
        fd_out: RawFd,
        off_out: i64,
        len: i32,
        flags: i32,
    },
}

/// What a call wrote back that the script may check.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    None,
    /// The peer address accept() returned (its returned length).
    Accept {
        peer: Vec<u8>,
    },
    /// The whole option buffer (`optlen + 1` bytes) and the returned length.
    GetSockOpt {
        optval: Vec<u8>,
        optlen: u32,
    },
    /// `msg_flags` and the first `msg_controllen` bytes of the control buffer.
    RecvMsg {
        flags: i32,
        control: Vec<u8>,
    },
    Poll {
        revents: Vec<i16>,
    },
    /// The first returned event (zeros when none).
    EpollWait {
        events: u32,
        data: u64,
    },
    Ioctl {
        value: i32,
    },
    Pipe {
        fds: [RawFd; 2],
    },
}

fn clear_errno() {
    // SAFETY: __errno_location returns this thread's errno slot.
    unsafe { *libc::__errno_location() = 0 };
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn socklen(len: usize) -> libc::socklen_t {
    libc::socklen_t::try_from(len).unwrap_or(libc::socklen_t::MAX)
}

fn iovecs(bufs: &mut [Vec<u8>]) -> Vec<libc::iovec> {
    bufs.iter_mut()
        .map(|b| libc::iovec {
            iov_base: b.as_mut_ptr().cast(),
            iov_len: b.len(),
        })
        .collect()
}

/// A `struct msghdr` pointing into `msg` and `iov` (both must outlive its use).
fn msghdr(msg: &mut MsgSpec, iov: &mut [libc::iovec]) -> libc::msghdr {
    // SAFETY: an all-zero msghdr is a valid value (null pointers, zero lengths).
    let mut h: libc::msghdr = unsafe { std::mem::zeroed() };
    if let Some(name) = msg.name.as_mut() {
        h.msg_name = name.as_mut_ptr().cast();
        h.msg_namelen = socklen(name.len());
    }
    h.msg_iov = iov.as_mut_ptr();
    h.msg_iovlen = iov.len();
    h.msg_control = msg.control.as_mut_ptr().cast();
    h.msg_controllen = msg.control.len();
    h.msg_flags = msg.flags;
    h
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

fn cap_set(flag: i32, value: i32, op: i32) -> isize {
    let mut header = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: header and data are valid for capget's version-3 layout (two data words).
    let rc = unsafe {
        libc::syscall(
            libc::SYS_capget,
            &mut header as *mut CapHeader,
            data.as_mut_ptr(),
        )
    };
    if rc != 0 {
        return rc as isize;
    }
    let (word, bit) = ((value / 32) as usize, 1u32 << (value % 32));
    let Some(d) = data.get_mut(word) else {
        return -1;
    };
    let set = match flag {
        0 => &mut d.effective,
        1 => &mut d.permitted,
        _ => &mut d.inheritable,
    };
    if op != 0 {
        *set |= bit;
    } else {
        *set &= !bit;
    }
    clear_errno();
    // SAFETY: as above; capset only reads them.
    unsafe {
        libc::syscall(
            libc::SYS_capset,
            &mut header as *mut CapHeader,
            data.as_ptr(),
        ) as isize
    }
}

impl LiveOp {
    /// Make the call. Returns the raw result (as the C call returns it), the
    /// errno right after it (0 if the call left errno alone), the
    /// out-parameters, and the buffers the kernel may still read (a
    /// zero-copy send's), which the caller keeps until the run ends.
    pub fn execute(self) -> (i64, i32, Output, Option<KeptBuffers>) {
        let mut op = self;
        clear_errno();
        let mut output = Output::None;
        // SAFETY (whole block): every pointer handed to the kernel points into a
        // buffer owned by `op` (or a local) that lives until after the call, with
        // the length passed beside it; null pointers are passed only where the
        // script asked for NULL, and raw splice offsets are only ever read by the
        // kernel, which checks them.
        let result: i64 = unsafe {
            match &mut op {
                LiveOp::Socket {
                    domain,
                    ty,
                    protocol,
                } => libc::socket(*domain, *ty, *protocol) as i64,
                LiveOp::Bind { fd, addr } => {
                    libc::bind(*fd, addr.as_ptr().cast(), socklen(addr.len())) as i64
                }
                LiveOp::Listen { fd, backlog } => libc::listen(*fd, *backlog) as i64,
                LiveOp::Accept { fd } => {
                    let mut storage = vec![0u8; sockaddr::STORAGE_LEN];
                    let mut len = socklen(storage.len());
                    let r = libc::accept(*fd, storage.as_mut_ptr().cast(), &mut len);
                    let e = errno();
                    storage.truncate(len as usize);
                    output = Output::Accept { peer: storage };
                    *libc::__errno_location() = e;
                    r as i64
                }
                LiveOp::Connect { fd, addr } => {
                    libc::connect(*fd, addr.as_ptr().cast(), socklen(addr.len())) as i64
                }
                LiveOp::Read { fd, buf } => libc::read(*fd, buf.ptr(), buf.len()) as i64,
                LiveOp::Readv { fd, iov } => {
                    let v = iovecs(&mut iov.0);
                    libc::readv(*fd, v.as_ptr(), v.len() as libc::c_int) as i64
                }
                LiveOp::Recv { fd, buf, flags } => {
                    libc::recv(*fd, buf.ptr(), buf.len(), *flags) as i64
                }
                LiveOp::RecvFrom { fd, buf, flags } => {
                    let mut storage = vec![0u8; sockaddr::STORAGE_LEN];
                    let mut len = socklen(storage.len());
                    libc::recvfrom(
                        *fd,
                        buf.ptr(),
                        buf.len(),
                        *flags,
                        storage.as_mut_ptr().cast(),
                        &mut len,
                    ) as i64
                }
                LiveOp::RecvMsg { fd, msg, flags } => {
                    let mut v = iovecs(&mut msg.iov);
                    let mut h = msghdr(msg, &mut v);
                    let r = libc::recvmsg(*fd, &mut h, *flags);
                    let e = errno();
                    let n = h.msg_controllen.min(msg.control.len());
                    output = Output::RecvMsg {
                        flags: h.msg_flags,
                        control: msg.control[..n].to_vec(),
                    };
                    *libc::__errno_location() = e;
                    r as i64
                }
                LiveOp::Write { fd, buf } => libc::write(*fd, buf.ptr(), buf.len()) as i64,
                LiveOp::Writev { fd, iov } => {
                    let v = iovecs(&mut iov.0);
                    libc::writev(*fd, v.as_ptr(), v.len() as libc::c_int) as i64
                }
                LiveOp::Send { fd, buf, flags, .. } => {
                    libc::send(*fd, buf.ptr(), buf.len(), *flags) as i64
                }
                LiveOp::SendTo {
                    fd,
                    buf,
                    flags,
                    addr,
                    ..
                } => libc::sendto(
                    *fd,
                    buf.ptr(),
                    buf.len(),
                    *flags,
                    addr.as_ptr().cast(),
                    socklen(addr.len()),
                ) as i64,
                LiveOp::SendMsg { fd, msg, flags, .. } => {
                    let mut v = iovecs(&mut msg.iov);
                    let h = msghdr(msg, &mut v);
                    libc::sendmsg(*fd, &h, *flags) as i64
                }
                LiveOp::Fcntl { fd, cmd, arg } => match arg {
                    Some(a) => libc::fcntl(*fd, *cmd, *a) as i64,
                    None => libc::fcntl(*fd, *cmd) as i64,
                },
                LiveOp::Ioctl {
                    fd,
                    request,
                    with_int,
                } => {
                    let req = *request as libc::Ioctl;
                    if *with_int {
                        let mut v: libc::c_int = 0;
                        let r = libc::ioctl(*fd, req, &mut v as *mut libc::c_int);
                        output = Output::Ioctl { value: v };
                        r as i64
                    } else {
                        libc::ioctl(*fd, req) as i64
                    }
                }
                LiveOp::Close { fd } => libc::close(*fd) as i64,
                LiveOp::Shutdown { fd, how } => libc::shutdown(*fd, *how) as i64,
                LiveOp::GetSockOpt {
                    fd,
                    level,
                    name,
                    optlen,
                } => {
                    let mut optval = vec![0u8; *optlen as usize + 1];
                    let mut len: libc::socklen_t = *optlen;
                    let r =
                        libc::getsockopt(*fd, *level, *name, optval.as_mut_ptr().cast(), &mut len);
                    output = Output::GetSockOpt {
                        optval,
                        optlen: len,
                    };
                    r as i64
                }
                LiveOp::SetSockOpt {
                    fd,
                    level,
                    name,
                    optval,
                    optlen,
                } => libc::setsockopt(
                    *fd,
                    *level,
                    *name,
                    optval.as_ptr().cast(),
                    *optlen as libc::socklen_t,
                ) as i64,
                LiveOp::Poll { fds, timeout } => {
                    let mut pfds: Vec<libc::pollfd> = fds
                        .iter()
                        .map(|&(fd, events)| libc::pollfd {
                            fd,
                            events,
                            revents: 0,
                        })
                        .collect();
                    let r = libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, *timeout);
                    let e = errno();
                    output = Output::Poll {
                        revents: pfds.iter().map(|p| p.revents).collect(),
                    };
                    *libc::__errno_location() = e;
                    r as i64
                }
                LiveOp::CapSet { flag, value, op } => cap_set(*flag, *value, *op) as i64,
                LiveOp::Open { path, flags } => {
                    libc::open(path.as_ptr(), *flags, 0o666 as libc::c_uint) as i64
                }
                LiveOp::SendFile {
                    out_fd,
                    in_fd,
                    offset,
                    count,
                } => {
                    let mut off: libc::off_t = *offset;
                    libc::sendfile(*out_fd, *in_fd, &mut off, *count as isize as usize) as i64
                }
                LiveOp::EpollCreate { size } => libc::epoll_create(*size) as i64,
                LiveOp::EpollCtl {
                    epfd,
                    op,
                    fd,
                    events,
                    data,
                } => {
                    let mut ev = libc::epoll_event {
                        events: *events,
                        u64: *data,
                    };
                    libc::epoll_ctl(*epfd, *op, *fd, &mut ev) as i64
                }
                LiveOp::EpollWait {
                    epfd,
                    maxevents,
                    timeout,
                } => {
                    let n = usize::try_from(*maxevents).unwrap_or(0).clamp(1, 1 << 16);
                    let mut evs = vec![libc::epoll_event { events: 0, u64: 0 }; n];
                    let r = libc::epoll_wait(*epfd, evs.as_mut_ptr(), *maxevents, *timeout);
                    let first = evs[0];
                    output = Output::EpollWait {
                        events: first.events,
                        data: first.u64,
                    };
                    r as i64
                }
                LiveOp::Pipe => {
                    let mut fds: [libc::c_int; 2] = [-1, -1];
                    let r = libc::pipe(fds.as_mut_ptr());
                    output = Output::Pipe { fds };
                    r as i64
                }
                LiveOp::Splice {
                    fd_in,
                    off_in,
                    fd_out,
                    off_out,
                    len,
                    flags,
                } => libc::splice(
                    *fd_in,
                    *off_in as usize as *mut libc::loff_t,
                    *fd_out,
                    *off_out as usize as *mut libc::loff_t,
                    *len as isize as usize,
                    *flags as libc::c_uint,
                ) as i64,
            }
        };
        let e = errno();
        let keep = matches!(
            op,
            LiveOp::Send { keep: true, .. }
                | LiveOp::SendTo { keep: true, .. }
                | LiveOp::SendMsg { keep: true, .. }
        );
        let kept = keep.then(|| KeptBuffers(Box::new(op)));
        (result, e, output, kept)
    }
}

/// The buffers of a send the kernel may still read after the call returned
/// (docs/engine/syscalls.md, "Send buffers the kernel keeps reading"):
/// owned here, never written, dropped only when the run ends.
pub struct KeptBuffers(#[allow(dead_code)] Box<LiveOp>);

impl std::fmt::Debug for KeptBuffers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeptBuffers")
    }
}

impl KeptBuffers {
    /// Type-erased, so that the run state can hold it without knowing calls.
    pub fn into_any(self) -> Box<dyn std::any::Any + Send> {
        self.0
    }
}
