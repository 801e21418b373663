//! Tests that make real calls. Anything touching the network runs in a child
//! process inside its own network namespace (see [`netns`]); pipes, files
//! and epoll run in-process.

use super::*;
use crate::plan::config::{Addresses, Config, IpVersion};
use crate::run::state::{RunState, SocketPhase};
use crate::script::{EpollData, ErrnoSpec, Expr, ExprKind, Span, Spanned, SyscallSpec};

fn e(kind: ExprKind) -> Expr {
    Expr::new(kind, Span::default())
}
fn int(v: i64) -> Expr {
    e(ExprKind::Int {
        value: v,
        hex: false,
    })
}
fn w(s: &str) -> Expr {
    e(ExprKind::Word(s.into()))
}
fn ell() -> Expr {
    e(ExprKind::Ellipsis)
}
fn arr(items: Vec<Expr>) -> Expr {
    e(ExprKind::Array(items))
}
fn or(a: Expr, b: Expr) -> Expr {
    e(ExprKind::BitOr(Box::new(a), Box::new(b)))
}
fn string(s: &str) -> Expr {
    e(ExprKind::String {
        parts: vec![s.into()],
        ellipsis: false,
    })
}

/// `name(args) = result [ERRNO (note)]`
fn call(name: &str, args: Vec<Expr>, result: Expr, errno: Option<&str>) -> SyscallSpec {
    SyscallSpec {
        end_time: None,
        name: Spanned::new(name.into(), Span::default()),
        args,
        result,
        errno: errno.map(|n| ErrnoSpec {
            name: Spanned::new(n.into(), Span::default()),
            note: "note".into(),
        }),
        note: None,
    }
}

struct Harness {
    state: RunState,
    config: Config,
    addrs: Addresses,
}

impl Harness {
    /// Local and remote are both loopback, so sockets can talk to each other.
    fn new(ip: IpVersion) -> Harness {
        let mut config = Config {
            ip_version: Some(ip),
            ..Config::default()
        };
        let (local, remote) = match ip {
            IpVersion::Ipv6 => ("::1", "::1"),
            _ => ("127.0.0.1", "127.0.0.1"),
        };
        config.local_ip = Some(local.into());
        config.remote_ip = Some(remote.into());
        let addrs = config.finalize().expect("loopback addresses");
        Harness {
            state: RunState::default(),
            config,
            addrs,
        }
    }

    fn env(&mut self) -> SyscallEnv<'_> {
        SyscallEnv {
            state: &mut self.state,
            config: &self.config,
            addrs: &self.addrs,
        }
    }

    fn run(&mut self, spec: &SyscallSpec) -> Result<(), SyscallError> {
        let prepared = prepare(spec, &mut self.env())?;
        let done = prepared.execute();
        complete(spec, done, &mut self.env())
    }

    /// Run a call that must pass.
    fn ok(&mut self, spec: SyscallSpec) {
        if let Err(err) = self.run(&spec) {
            panic!("{} call failed: {err}", spec.name.value);
        }
    }

    fn live(&self, script_fd: i32) -> i32 {
        self.state.live_fd(script_fd).expect("tracked fd")
    }
}

fn socket_call(ty: &str, proto: &str, fd: i64) -> SyscallSpec {
    call("socket", vec![ell(), w(ty), w(proto)], int(fd), None)
}

fn setsockopt_int(fd: i64, level: &str, name: &str, v: i64) -> SyscallSpec {
    call(
        "setsockopt",
        vec![int(fd), w(level), w(name), arr(vec![int(v)]), int(4)],
        int(0),
        None,
    )
}

fn getsockopt_int(fd: i64, level: &str, name: &str, v: i64) -> SyscallSpec {
    call(
        "getsockopt",
        vec![
            int(fd),
            w(level),
            w(name),
            arr(vec![int(v)]),
            arr(vec![int(4)]),
        ],
        int(0),
        None,
    )
}

fn nonblocking(fd: i64) -> SyscallSpec {
    call(
        "fcntl",
        vec![int(fd), w("F_SETFL"), or(w("O_RDWR"), w("O_NONBLOCK"))],
        int(0),
        None,
    )
}

fn bind_listen(h: &mut Harness, fd: i64) {
    h.ok(setsockopt_int(fd, "SOL_SOCKET", "SO_REUSEADDR", 1));
    h.ok(call("bind", vec![int(fd), ell(), ell()], int(0), None));
    h.ok(call("listen", vec![int(fd), int(1)], int(0), None));
}

fn pollfd(fd: i64, events: &str, revents: &str) -> Expr {
    e(ExprKind::Pollfd {
        fd: Box::new(int(fd)),
        events: Box::new(w(events)),
        revents: Some(Box::new(w(revents))),
    })
}

/// `{fd=N, events=0, revents=POLLERR}`: wait for an error-queue entry.
fn pollfd_err(fd: i64) -> Expr {
    e(ExprKind::Pollfd {
        fd: Box::new(int(fd)),
        events: Box::new(int(0)),
        revents: Some(Box::new(w("POLLERR"))),
    })
}

/// Running a test body in a child process that has its own network namespace.
mod netns {
    use std::os::unix::process::CommandExt;
    use std::process::Command;

    const VAR: &str = "NETDRILL_SYSCALL_TEST_NETNS";
    const PARENT_NS: &str = "NETDRILL_SYSCALL_TEST_PARENT_NETNS";

    /// Bring `lo` up in the current (private) namespace.
    fn loopback_up() {
        // SAFETY: plain ioctls on a socket we own with a zeroed, NUL-terminated ifreq.
        unsafe {
            let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM, 0);
            assert!(fd >= 0, "socket for SIOCSIFFLAGS");
            let mut ifr: libc::ifreq = std::mem::zeroed();
            for (dst, src) in ifr.ifr_name.iter_mut().zip(b"lo\0") {
                *dst = *src as libc::c_char;
            }
            assert_eq!(libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut ifr), 0);
            ifr.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            assert_eq!(libc::ioctl(fd, libc::SIOCSIFFLAGS, &ifr), 0);
            libc::close(fd);
        }
    }

    /// In the parent: re-run test `name` (path inside this crate) in a child
    /// process that first enters a new network namespace, and require it to
    /// pass. In that child: bring up `lo` and run `body`.
    pub fn run(name: &str, body: impl FnOnce()) {
        if std::env::var(VAR).as_deref() == Ok(name) {
            // Only ever in the namespace the parent made for us.
            let own = std::fs::read_link("/proc/self/ns/net").expect("own netns");
            let parent = std::env::var_os(PARENT_NS).expect("parent's netns");
            assert_ne!(
                own.as_os_str(),
                parent,
                "refusing to run {name} in its parent's network namespace"
            );
            loopback_up();
            body();
            return;
        }
        let exe = std::env::current_exe().expect("test binary path");
        let mut cmd = Command::new(exe);
        cmd.args([name, "--exact", "--test-threads=1", "--nocapture"])
            .env(VAR, name)
            .env(
                PARENT_NS,
                std::fs::read_link("/proc/self/ns/net").expect("own netns"),
            );
        // SAFETY: unshare is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::unshare(libc::CLONE_NEWNET) == 0
                    || libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) == 0
                {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
        let out = cmd.output().expect("run the test in a network namespace");
        assert!(
            out.status.success(),
            "{name} failed in its network namespace:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("1 passed"),
            "{name} did not run in the child:\n{stdout}"
        );
    }
}

fn test_name(short: &str) -> String {
    let module = module_path!();
    let local = module.split_once("::").map_or(module, |(_, rest)| rest);
    format!("{local}::{short}")
}

// ------------------------------------------------------------------------------------------
// No network needed
// ------------------------------------------------------------------------------------------

#[test]
fn prepared_and_executed_calls_can_move_to_another_thread() {
    fn assert_send<T: Send>() {}
    assert_send::<PreparedCall>();
    assert_send::<Executed>();
}

#[test]
fn unknown_calls_and_symbols_use_packetdrills_words() {
    let mut h = Harness::new(IpVersion::Ipv4);
    let err = h
        .run(&call("foo", vec![int(1)], int(0), None))
        .unwrap_err()
        .to_string();
    assert_eq!(err, "Unknown system call: 'foo'");
    // Arguments are evaluated before fds are looked up.
    let err = h
        .run(&setsockopt_int(4, "SOL_TCP", "TCP_BOGUS", 1))
        .unwrap_err()
        .to_string();
    assert_eq!(err, "unknown symbol: 'TCP_BOGUS'");
    let err = h
        .run(&call("close", vec![int(3), int(4)], int(0), None))
        .unwrap_err()
        .to_string();
    assert_eq!(err, "Expected 1 args but got 2");
    let err = h
        .run(&call("close", vec![int(3)], int(0), None))
        .unwrap_err()
        .to_string();
    assert_eq!(err, "unable to find fd with script fd 3");
    let err = h
        .run(&call("close", vec![ell()], int(0), None))
        .unwrap_err()
        .to_string();
    assert_eq!(err, "Bad type; actual: ellipsis expected: integer");
    let err = h
        .run(&call("fcntl", vec![int(3)], int(0), None))
        .unwrap_err()
        .to_string();
    assert_eq!(err, "fcntl expected 2-3 args but got 1");
    let err = h
        .run(&call("psp_tx_assoc", vec![int(3), int(1)], int(0), None))
        .unwrap_err()
        .to_string();
    assert_eq!(err, "unable to find fd with script fd 3");
    // libcap refuses an unknown capability set before any call is made.
    let err = h
        .run(&call(
            "cap_set",
            vec![int(7), w("CAP_NET_ADMIN"), w("CAP_SET")],
            int(0),
            None,
        ))
        .unwrap_err()
        .to_string();
    assert_eq!(err, "Error in cap_set_flag()");
}

#[test]
fn pipes_read_write_poll_splice_and_close() {
    let mut h = Harness::new(IpVersion::Ipv4);
    h.ok(call("pipe", vec![arr(vec![int(5), int(6)])], int(0), None));
    assert_ne!(h.live(5), h.live(6));
    h.ok(call("write", vec![int(6), ell(), int(10)], int(10), None));
    h.ok(call(
        "poll",
        vec![arr(vec![pollfd(5, "POLLIN", "POLLIN")]), int(1), int(0)],
        int(1),
        None,
    ));
    let err = h
        .run(&call(
            "poll",
            vec![arr(vec![pollfd(5, "POLLIN", "POLLOUT")]), int(1), int(0)],
            int(1),
            None,
        ))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "Expected revents of POLLOUT but got POLLIN for pollfd 0"
    );
    let err = h
        .run(&call(
            "poll",
            vec![arr(vec![pollfd(5, "POLLIN", "POLLIN")]), int(2), int(0)],
            int(1),
            None,
        ))
        .unwrap_err()
        .to_string();
    assert_eq!(err, "nfds 2 does not match 1-element pollfd array");
    // A second pipe to splice into.
    h.ok(call("pipe", vec![arr(vec![int(7), int(8)])], int(0), None));
    h.ok(call(
        "splice",
        vec![int(5), w("NULL"), int(8), w("NULL"), int(4), int(0)],
        int(4),
        None,
    ));
    h.ok(call(
        "readv",
        vec![
            int(7),
            arr(vec![
                e(ExprKind::Iovec { len: 1 }),
                e(ExprKind::Iovec { len: 3 }),
            ]),
            int(2),
        ],
        int(4),
        None,
    ));
    h.ok(call("read", vec![int(5), ell(), int(100)], int(6), None));
    h.ok(nonblocking(5));
    let err = h
        .run(&call(
            "read",
            vec![int(5), ell(), int(10)],
            int(-1),
            Some("EINVAL"),
        ))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "Expected errno 22 (Invalid argument) but got 11 (Resource temporarily unavailable)"
    );
    let err = h
        .run(&call("read", vec![int(5), ell(), int(10)], int(10), None))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "Expected result 10 but got -1 with errno 11 (Resource temporarily unavailable)"
    );
    h.ok(call(
        "read",
        vec![int(5), ell(), int(10)],
        int(-1),
        Some("EAGAIN"),
    ));
    h.ok(call(
        "fcntl",
        vec![int(5), w("F_GETFL")],
        int(libc::O_RDONLY as i64 | libc::O_NONBLOCK as i64),
        None,
    ));
    for fd in 5..=8 {
        h.ok(call("close", vec![int(fd)], int(0), None));
    }
    assert!(h.state.live_fd(5).is_err());
    // Script fd numbers may be reused once closed.
    h.ok(call("pipe", vec![arr(vec![int(5), int(6)])], int(0), None));
    let err = h
        .run(&call("pipe", vec![arr(vec![int(5), int(9)])], int(0), None))
        .unwrap_err()
        .to_string();
    assert_eq!(err, "duplicate fd 5 in script");
    let err = h
        .run(&call("pipe", vec![arr(vec![int(5)])], int(0), None))
        .unwrap_err()
        .to_string();
    assert_eq!(err, "1 pipe file descriptors instead of 2");
}

#[test]
fn epoll_reports_the_first_event() {
    let mut h = Harness::new(IpVersion::Ipv4);
    h.ok(call("pipe", vec![arr(vec![int(3), int(4)])], int(0), None));
    h.ok(call("epoll_create", vec![int(1)], int(5), None));
    let ev = |events: Expr, data: EpollData, v: i64| {
        e(ExprKind::EpollEvent {
            events: Box::new(events),
            data,
            value: Box::new(int(v)),
        })
    };
    h.ok(call(
        "epoll_ctl",
        vec![
            int(5),
            w("EPOLL_CTL_ADD"),
            int(4),
            ev(or(w("EPOLLOUT"), w("EPOLLET")), EpollData::Fd, 4),
        ],
        int(0),
        None,
    ));
    let err = h
        .run(&call(
            "epoll_ctl",
            vec![
                int(5),
                w("EPOLL_CTL_MOD"),
                int(4),
                ev(w("EPOLLOUT"), EpollData::Fd, 3),
            ],
            int(0),
            None,
        ))
        .unwrap_err()
        .to_string();
    assert_eq!(err, "wrong fd specified in epoll_event");
    h.ok(call(
        "epoll_wait",
        vec![int(5), ev(w("EPOLLOUT"), EpollData::Fd, 4), int(1), int(0)],
        int(1),
        None,
    ));
    // Edge-triggered: nothing new to report, and the script's zeros match.
    h.ok(call(
        "epoll_wait",
        vec![int(5), ev(int(0), EpollData::Ptr, 0), int(1), int(0)],
        int(0),
        None,
    ));
    h.ok(call(
        "epoll_ctl",
        vec![
            int(5),
            w("EPOLL_CTL_MOD"),
            int(4),
            ev(w("EPOLLOUT"), EpollData::Fd, 4),
        ],
        int(0),
        None,
    ));
    let err = h
        .run(&call(
            "epoll_wait",
            vec![int(5), ev(w("EPOLLIN"), EpollData::Fd, 4), int(1), int(0)],
            int(1),
            None,
        ))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "epoll_event->events does not match script: expected: 0x1 actual: 0x4"
    );
}

#[test]
fn open_and_sendfile_copy_a_file() {
    let mut h = Harness::new(IpVersion::Ipv4);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("testfile");
    std::fs::write(&path, [0u8; 5]).expect("write test file");
    let path = path.to_str().expect("utf-8 temp path").to_string();
    h.ok(call(
        "open",
        vec![string(&path), w("O_RDONLY")],
        int(5),
        None,
    ));
    h.ok(call("pipe", vec![arr(vec![int(6), int(7)])], int(0), None));
    h.ok(call(
        "sendfile",
        vec![int(7), int(5), arr(vec![int(0)]), int(5)],
        int(5),
        None,
    ));
    h.ok(call("read", vec![int(6), ell(), int(10)], int(5), None));
    let err = h
        .run(&call(
            "open",
            vec![string("/nonexistent/x"), w("O_RDONLY")],
            int(8),
            None,
        ))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "Expected non-negative result but got -1 with errno 2 (No such file or directory)"
    );
    h.ok(call(
        "open",
        vec![string("/nonexistent/x"), w("O_RDONLY")],
        int(-1),
        Some("ENOENT"),
    ));
}

#[test]
fn result_must_be_an_integer() {
    let mut h = Harness::new(IpVersion::Ipv4);
    let err = h
        .run(&call(
            "pipe",
            vec![arr(vec![int(3), int(4)])],
            w("FOO"),
            None,
        ))
        .unwrap_err()
        .to_string();
    assert_eq!(err, "Bad type; actual: word expected: integer");
    h.config.defines.insert("FOO".into(), "0".into());
    h.ok(call(
        "pipe",
        vec![arr(vec![int(3), int(4)])],
        w("FOO"),
        None,
    ));
}

// ------------------------------------------------------------------------------------------
// Inside a private network namespace
// ------------------------------------------------------------------------------------------

#[test]
fn tcp_socket_lifecycle_in_netns() {
    netns::run(&test_name("tcp_socket_lifecycle_in_netns"), || {
        let mut h = Harness::new(IpVersion::Ipv4);
        h.ok(socket_call("SOCK_STREAM", "IPPROTO_TCP", 3));
        let id = h.state.socket_of_fd(3).expect("tracked socket");
        assert_eq!(h.state.socket_under_test, Some(id));
        assert_eq!(h.state.sockets[id].family, libc::AF_INET);
        bind_listen(&mut h, 3);
        assert_eq!(h.state.sockets[id].phase, SocketPhase::Listening);
        h.ok(getsockopt_int(3, "SOL_SOCKET", "SO_REUSEADDR", 1));
        let err = h
            .run(&getsockopt_int(3, "SOL_SOCKET", "SO_REUSEADDR", 0))
            .unwrap_err()
            .to_string();
        assert_eq!(err, "Bad getsockopt optval: expected: 0 actual: 1");
        h.ok(call(
            "setsockopt",
            vec![
                int(3),
                w("SOL_TCP"),
                w("TCP_CONGESTION"),
                e(ExprKind::String {
                    parts: vec!["re".into(), "no".into()],
                    ellipsis: false,
                }),
                int(4),
            ],
            int(0),
            None,
        ));
        h.ok(call(
            "getsockopt",
            vec![
                int(3),
                w("SOL_TCP"),
                w("TCP_CONGESTION"),
                string("reno"),
                arr(vec![int(4)]),
            ],
            int(0),
            None,
        ));
        h.ok(call("fcntl", vec![int(3), w("F_GETFL")], int(2), None));
        h.ok(nonblocking(3));
        h.ok(call(
            "accept",
            vec![int(3), ell(), ell()],
            int(-1),
            Some("EAGAIN"),
        ));

        // A client connecting to the listener over loopback.
        h.ok(socket_call("SOCK_STREAM", "IPPROTO_TCP", 4));
        h.ok(nonblocking(4));
        h.ok(call(
            "connect",
            vec![int(4), ell(), ell()],
            int(-1),
            Some("EINPROGRESS"),
        ));
        let client = h.state.socket_of_fd(4).expect("client socket");
        assert_eq!(h.state.sockets[client].phase, SocketPhase::ActiveConnecting);
        assert_eq!(
            h.state.sockets[client].live.remote.ip,
            Some("127.0.0.1".parse().unwrap())
        );
        assert_eq!(h.state.sockets[client].live.remote.port, 8080);
        h.ok(call(
            "poll",
            vec![
                arr(vec![pollfd(4, "POLLOUT", "POLLOUT")]),
                int(1),
                int(1000),
            ],
            int(1),
            None,
        ));
        h.ok(getsockopt_int(4, "SOL_SOCKET", "SO_ERROR", 0));
        h.ok(call("write", vec![int(4), ell(), int(100)], int(100), None));
        h.ok(call("shutdown", vec![int(4), w("SHUT_WR")], int(0), None));
        // The connection is real, but no script packet created a passive child for it.
        let err = h
            .run(&call("accept", vec![int(3), ell(), ell()], int(5), None))
            .unwrap_err()
            .to_string();
        assert_eq!(err, "unable to find socket matching accept() call");
        h.ok(call("close", vec![int(4)], int(0), None));
        let err = h
            .run(&call("close", vec![int(4)], int(0), None))
            .unwrap_err()
            .to_string();
        assert_eq!(err, "unable to find fd with script fd 4");
        h.ok(call("close", vec![int(3)], int(0), None));
        assert!(h.state.sockets[id].closed);
    });
}

#[test]
fn udp_errno_and_result_mismatches_in_netns() {
    netns::run(
        &test_name("udp_errno_and_result_mismatches_in_netns"),
        || {
            let mut h = Harness::new(IpVersion::Ipv4);
            h.ok(socket_call("SOCK_DGRAM", "IPPROTO_UDP", 3));
            h.ok(call("bind", vec![int(3), ell(), ell()], int(0), None));
            h.ok(nonblocking(3));
            let err = h
                .run(&call(
                    "read",
                    vec![int(3), ell(), int(10)],
                    int(-1),
                    Some("EINVAL"),
                ))
                .unwrap_err()
                .to_string();
            assert_eq!(
            err,
            "Expected errno 22 (Invalid argument) but got 11 (Resource temporarily unavailable)"
        );
            h.ok(call(
                "recv",
                vec![int(3), w("NULL"), int(10), w("MSG_DONTWAIT")],
                int(-1),
                Some("EAGAIN"),
            ));
            h.ok(call(
                "ioctl",
                vec![int(3), w("SIOCINQ"), arr(vec![int(0)])],
                int(0),
                None,
            ));
            // sendto goes to the connect address: this very socket.
            h.ok(call(
                "sendto",
                vec![int(3), ell(), int(20), int(0), ell(), ell()],
                int(20),
                None,
            ));
            h.ok(call(
                "poll",
                vec![arr(vec![pollfd(3, "POLLIN", "POLLIN")]), int(1), int(1000)],
                int(1),
                None,
            ));
            let err = h
                .run(&call(
                    "ioctl",
                    vec![int(3), w("SIOCINQ"), arr(vec![int(21)])],
                    int(0),
                    None,
                ))
                .unwrap_err()
                .to_string();
            assert_eq!(err, "Bad ioctl optval: expected: 21 actual: 20");
            h.ok(call(
                "recvfrom",
                vec![int(3), ell(), int(100), int(0), ell(), ell()],
                int(20),
                None,
            ));
            let err = h
                .run(&call(
                    "sendto",
                    vec![int(3), w("NULL"), int(10), int(0), ell(), ell()],
                    int(10),
                    None,
                ))
                .unwrap_err()
                .to_string();
            assert_eq!(
                err,
                "Expected result 10 but got -1 with errno 14 (Bad address)"
            );
        },
    );
}

fn zerocopy_cmsg(level: &str, ty: &str) -> Expr {
    let field = |v: Expr| Box::new(v);
    e(ExprKind::Cmsg {
        level: Box::new(w(level)),
        ty: Box::new(w(ty)),
        data: Box::new(e(ExprKind::SockExtendedErr {
            ee_errno: field(int(0)),
            ee_origin: field(w("SO_EE_ORIGIN_ZEROCOPY")),
            ee_type: field(int(0)),
            ee_code: field(w("SO_EE_CODE_ZEROCOPY_COPIED")),
            ee_info: field(int(0)),
            ee_data: field(int(0)),
        })),
    })
}

fn errqueue_msghdr(control: Option<Expr>) -> Expr {
    e(ExprKind::Msghdr {
        iov_len: 1,
        iov: Box::new(arr(vec![e(ExprKind::Iovec { len: 0 })])),
        flags: Box::new(w("MSG_ERRQUEUE")),
        control: control.map(Box::new),
    })
}

fn zerocopy_notification(ip: IpVersion, level: &str, ty: &str) {
    let mut h = Harness::new(ip);
    h.ok(socket_call("SOCK_STREAM", "IPPROTO_TCP", 3));
    bind_listen(&mut h, 3);
    h.ok(socket_call("SOCK_STREAM", "IPPROTO_TCP", 4));
    h.ok(call("connect", vec![int(4), ell(), ell()], int(0), None));
    h.ok(setsockopt_int(4, "SOL_SOCKET", "SO_ZEROCOPY", 1));
    h.ok(call(
        "sendmsg",
        vec![
            int(4),
            e(ExprKind::Msghdr {
                iov_len: 2,
                iov: Box::new(arr(vec![
                    e(ExprKind::Iovec { len: 1000 }),
                    e(ExprKind::Iovec { len: 1000 }),
                ])),
                flags: Box::new(int(0)),
                control: None,
            }),
            w("MSG_ZEROCOPY"),
        ],
        int(2000),
        None,
    ));
    // The kernel may read a zero-copy send's buffers after the call returns:
    // the run keeps them (docs/engine/syscalls.md, "Send buffers the kernel
    // keeps reading").
    assert_eq!(h.state.kept_buffers.len(), 1);
    // The notification comes when loopback has delivered (and copied) the data.
    h.ok(call(
        "poll",
        vec![arr(vec![pollfd_err(4)]), int(1), int(1000)],
        int(1),
        None,
    ));
    let recvmsg = |control| {
        call(
            "recvmsg",
            vec![int(4), errqueue_msghdr(control), w("MSG_ERRQUEUE")],
            int(0),
            None,
        )
    };
    // Without room for the cmsg the kernel truncates it.
    let err = h.run(&recvmsg(None)).unwrap_err().to_string();
    assert_eq!(err, "Expected msg_flags 0x00002000 but got 0x00002008");
    h.ok(call(
        "send",
        vec![int(4), ell(), int(100), w("MSG_ZEROCOPY")],
        int(100),
        None,
    ));
    assert_eq!(h.state.kept_buffers.len(), 2);
    // A copying send's buffer is the caller's again when the call returns.
    h.ok(call(
        "send",
        vec![int(4), ell(), int(10), int(0)],
        int(10),
        None,
    ));
    assert_eq!(h.state.kept_buffers.len(), 2);
    h.ok(call(
        "poll",
        vec![arr(vec![pollfd_err(4)]), int(1), int(1000)],
        int(1),
        None,
    ));
    // The second notification is for send #1: ee_data (the range end) is 1, not 0.
    let err = h
        .run(&recvmsg(Some(arr(vec![zerocopy_cmsg(level, ty)]))))
        .unwrap_err()
        .to_string();
    assert_eq!(err, "Bad info in extended err 0: expected=0 actual=1");
}

#[test]
fn zerocopy_errqueue_ipv4_in_netns() {
    netns::run(&test_name("zerocopy_errqueue_ipv4_in_netns"), || {
        zerocopy_notification(IpVersion::Ipv4, "SOL_IP", "IP_RECVERR");
    });
}

#[test]
fn zerocopy_errqueue_ipv6_in_netns() {
    netns::run(&test_name("zerocopy_errqueue_ipv6_in_netns"), || {
        zerocopy_notification(IpVersion::Ipv6, "SOL_IPV6", "IPV6_RECVERR");
    });
}

#[test]
fn ipv4_mapped_ipv6_sockets_in_netns() {
    netns::run(&test_name("ipv4_mapped_ipv6_sockets_in_netns"), || {
        let mut h = Harness::new(IpVersion::Ipv4MappedIpv6);
        h.ok(socket_call("SOCK_STREAM", "IPPROTO_TCP", 3));
        let id = h.state.socket_of_fd(3).expect("tracked socket");
        assert_eq!(h.state.sockets[id].family, libc::AF_INET6);
        bind_listen(&mut h, 3);
        h.ok(socket_call("SOCK_STREAM", "IPPROTO_TCP", 4));
        h.ok(call("connect", vec![int(4), ell(), ell()], int(0), None));
        let client = h.state.socket_of_fd(4).expect("client");
        // Tracking keeps the wire (IPv4) address of the peer.
        assert_eq!(
            h.state.sockets[client].live.remote.ip,
            Some("127.0.0.1".parse().unwrap())
        );
        // connect(fd, AF_UNSPEC, ...) disconnects and resets tracking.
        h.ok(call(
            "connect",
            vec![int(4), w("AF_UNSPEC"), ell()],
            int(0),
            None,
        ));
        assert_eq!(h.state.sockets[client].phase, SocketPhase::New);
        h.ok(call(
            "setsockopt",
            vec![
                int(4),
                w("SOL_SOCKET"),
                w("SO_LINGER"),
                e(ExprKind::Linger {
                    onoff: 1,
                    linger: 0,
                }),
                int(8),
            ],
            int(0),
            None,
        ));
        h.ok(call("close", vec![int(4)], int(0), None));
    });
}

fn cmsg(level: &str, ty: &str, data: Expr) -> Expr {
    e(ExprKind::Cmsg {
        level: Box::new(w(level)),
        ty: Box::new(w(ty)),
        data: Box::new(data),
    })
}

fn msghdr(iov: Vec<i64>, flags: Expr, control: Vec<Expr>) -> Expr {
    e(ExprKind::Msghdr {
        iov_len: iov.len() as i64,
        iov: Box::new(arr(iov
            .into_iter()
            .map(|len| e(ExprKind::Iovec { len }))
            .collect())),
        flags: Box::new(flags),
        control: Some(Box::new(arr(control))),
    })
}

/// A listener on 3 and a connected client on 4; returns the live fd of the
/// server side of the connection (accepted behind the script's back).
fn connected_pair(h: &mut Harness) -> i32 {
    h.ok(socket_call("SOCK_STREAM", "IPPROTO_TCP", 3));
    bind_listen(h, 3);
    h.ok(socket_call("SOCK_STREAM", "IPPROTO_TCP", 4));
    h.ok(call("connect", vec![int(4), ell(), ell()], int(0), None));
    // SAFETY: accept on our own listening socket, without an address buffer.
    let server = unsafe { libc::accept(h.live(3), std::ptr::null_mut(), std::ptr::null_mut()) };
    assert!(server >= 0, "accept");
    server
}

#[test]
fn tx_timestamps_from_the_error_queue_in_netns() {
    netns::run(
        &test_name("tx_timestamps_from_the_error_queue_in_netns"),
        || {
            let mut h = Harness::new(IpVersion::Ipv4);
            connected_pair(&mut h);
            let flags = [
                "SOF_TIMESTAMPING_TX_SCHED",
                "SOF_TIMESTAMPING_TX_SOFTWARE",
                "SOF_TIMESTAMPING_TX_ACK",
                "SOF_TIMESTAMPING_SOFTWARE",
                "SOF_TIMESTAMPING_OPT_ID",
            ]
            .into_iter()
            .map(w)
            .reduce(or)
            .expect("flags");
            h.ok(call(
                "setsockopt",
                vec![
                    int(4),
                    w("SOL_SOCKET"),
                    w("SO_TIMESTAMPING"),
                    arr(vec![flags]),
                    int(4),
                ],
                int(0),
                None,
            ));
            h.state.live_start_realtime_usecs = Some(crate::run::clock::now_usecs());
            h.ok(call("write", vec![int(4), ell(), int(10)], int(10), None));
            let ts = |sec: i64, nsec: i64| e(ExprKind::ScmTimestamping { sec, nsec });
            let recverr = |info: &str| {
                let f = |x: Expr| Box::new(x);
                cmsg(
                    "SOL_IP",
                    "IP_RECVERR",
                    e(ExprKind::SockExtendedErr {
                        ee_errno: f(w("ENOMSG")),
                        ee_origin: f(w("SO_EE_ORIGIN_TIMESTAMPING")),
                        ee_type: f(int(0)),
                        ee_code: f(int(0)),
                        ee_info: f(w(info)),
                        ee_data: f(int(9)),
                    }),
                )
            };
            let errqueue = |sec: i64, nsec: i64, info: &str| {
                call(
                    "recvmsg",
                    vec![
                        int(4),
                        msghdr(
                            vec![0],
                            or(w("MSG_ERRQUEUE"), w("MSG_TRUNC")),
                            vec![
                                cmsg("SOL_SOCKET", "SCM_TIMESTAMPING", ts(sec, nsec)),
                                recverr(info),
                            ],
                        ),
                        w("MSG_ERRQUEUE"),
                    ],
                    int(0),
                    None,
                )
            };
            // Wait until all three timestamps (sched, send, ack) are queued.
            h.ok(call(
                "poll",
                vec![arr(vec![pollfd_err(4)]), int(1), int(1000)],
                int(1),
                None,
            ));
            std::thread::sleep(std::time::Duration::from_millis(20));
            // 1 usec after the start: within the 4 ms tolerance of the real stamp.
            h.ok(errqueue(0, 1000, "SCM_TSTAMP_SCHED"));
            let err = h
                .run(&errqueue(5, 0, "SCM_TSTAMP_SND"))
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with("Bad timestamp 0 in scm_timestamping 0: expected="),
                "{err}"
            );
            // A zero time is not compared; the extended error still is.
            let err = h
                .run(&errqueue(0, 0, "SCM_TSTAMP_SND"))
                .unwrap_err()
                .to_string();
            assert_eq!(err, "Bad info in extended err 1: expected=0 actual=2");
        },
    );
}

#[test]
fn tcp_inq_cmsg_in_netns() {
    netns::run(&test_name("tcp_inq_cmsg_in_netns"), || {
        let mut h = Harness::new(IpVersion::Ipv4);
        let server = connected_pair(&mut h);
        h.ok(setsockopt_int(4, "SOL_TCP", "TCP_INQ", 1));
        let data = [0u8; 10000];
        // SAFETY: writing our own buffer to our own socket.
        let n = unsafe { libc::write(server, data.as_ptr().cast(), data.len()) };
        assert_eq!(n, 10000);
        // Wait for all of it to be queued on the client.
        for _ in 0..100 {
            let mut inq: libc::c_int = 0;
            // SAFETY: FIONREAD writes one int.
            unsafe { libc::ioctl(h.live(4), libc::FIONREAD, &mut inq) };
            if inq == 10000 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let inq = |iov: i64, left: i64| {
            call(
                "recvmsg",
                vec![
                    int(4),
                    msghdr(
                        vec![iov],
                        int(0),
                        vec![cmsg("SOL_TCP", "TCP_CM_INQ", int(left))],
                    ),
                    int(0),
                ],
                int(iov),
                None,
            )
        };
        h.ok(inq(1000, 9000));
        let err = h.run(&inq(1000, 9000)).unwrap_err().to_string();
        assert_eq!(
            err,
            "Bad data in cmsg 0: expected=(#\\x00 actual=@\\x1f\\x00"
        );
        h.ok(inq(8000, 0));
        // SAFETY: closing the fd accepted above.
        unsafe { libc::close(server) };
    });
}
