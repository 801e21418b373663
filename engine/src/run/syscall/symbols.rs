//! The symbolic constants a script may use in system call arguments
//! (packetdrill's cross-platform and Linux tables, docs/engine/syscalls.md,
//! "Symbols"),
//! and the names used when printing flags and errno values back.
//!
//! Values come from the `libc` crate where it has them; the few it lacks are
//! written out from the Linux and glibc headers named beside them.

/// Every name packetdrill resolves, with its value on this platform.
///
/// The order is packetdrill's (its first match wins; a few names appear twice
/// in its table with the same value).
const SYMBOLS: &[(&str, i64)] = &[
    ("AF_INET", libc::AF_INET as i64),
    ("AF_INET6", libc::AF_INET6 as i64),
    ("AF_PACKET", libc::AF_PACKET as i64),
    ("PF_INET", libc::PF_INET as i64),
    ("PF_INET6", libc::PF_INET6 as i64),
    ("SOCK_RAW", libc::SOCK_RAW as i64),
    ("SOCK_STREAM", libc::SOCK_STREAM as i64),
    ("SOCK_DGRAM", libc::SOCK_DGRAM as i64),
    ("SOCK_NONBLOCK", libc::SOCK_NONBLOCK as i64),
    ("IPPROTO_RAW", libc::IPPROTO_RAW as i64),
    ("IPPROTO_IP", libc::IPPROTO_IP as i64),
    ("IPPROTO_IPV6", libc::IPPROTO_IPV6 as i64),
    ("IPPROTO_ICMP", libc::IPPROTO_ICMP as i64),
    ("IPPROTO_ICMPV6", libc::IPPROTO_ICMPV6 as i64),
    ("IPPROTO_TCP", libc::IPPROTO_TCP as i64),
    ("IPPROTO_UDP", libc::IPPROTO_UDP as i64),
    ("SHUT_RD", libc::SHUT_RD as i64),
    ("SHUT_WR", libc::SHUT_WR as i64),
    ("SHUT_RDWR", libc::SHUT_RDWR as i64),
    ("SOL_SOCKET", libc::SOL_SOCKET as i64),
    ("NULL", 0),
    ("SOL_IP", libc::SOL_IP as i64),
    ("SOL_IPV6", libc::SOL_IPV6 as i64),
    ("SOL_TCP", libc::SOL_TCP as i64),
    ("SOL_UDP", libc::SOL_UDP as i64),
    ("SO_ACCEPTCONN", libc::SO_ACCEPTCONN as i64),
    ("SO_ATTACH_FILTER", libc::SO_ATTACH_FILTER as i64),
    ("SO_BINDTODEVICE", libc::SO_BINDTODEVICE as i64),
    ("SO_BROADCAST", libc::SO_BROADCAST as i64),
    ("SO_BSDCOMPAT", libc::SO_BSDCOMPAT as i64),
    ("SO_DEBUG", libc::SO_DEBUG as i64),
    ("SO_DETACH_FILTER", libc::SO_DETACH_FILTER as i64),
    ("SO_DONTROUTE", libc::SO_DONTROUTE as i64),
    ("SO_ERROR", libc::SO_ERROR as i64),
    ("SO_KEEPALIVE", libc::SO_KEEPALIVE as i64),
    ("SO_LINGER", libc::SO_LINGER as i64),
    ("SO_MARK", libc::SO_MARK as i64),
    ("SO_NO_CHECK", libc::SO_NO_CHECK as i64),
    ("SO_OOBINLINE", libc::SO_OOBINLINE as i64),
    ("SO_PASSCRED", libc::SO_PASSCRED as i64),
    ("SO_PEERCRED", libc::SO_PEERCRED as i64),
    ("SO_PEERNAME", libc::SO_PEERNAME as i64),
    ("SO_PEERSEC", libc::SO_PEERSEC as i64),
    ("SO_PRIORITY", libc::SO_PRIORITY as i64),
    ("SO_RCVBUF", libc::SO_RCVBUF as i64),
    ("SO_RCVLOWAT", libc::SO_RCVLOWAT as i64),
    ("SO_RCVTIMEO", libc::SO_RCVTIMEO as i64),
    ("SO_REUSEADDR", libc::SO_REUSEADDR as i64),
    ("SO_REUSEPORT", libc::SO_REUSEPORT as i64),
    (
        "SO_SECURITY_AUTHENTICATION",
        libc::SO_SECURITY_AUTHENTICATION as i64,
    ),
    (
        "SO_SECURITY_ENCRYPTION_NETWORK",
        libc::SO_SECURITY_ENCRYPTION_NETWORK as i64,
    ),
    (
        "SO_SECURITY_ENCRYPTION_TRANSPORT",
        libc::SO_SECURITY_ENCRYPTION_TRANSPORT as i64,
    ),
    ("SO_SNDBUF", libc::SO_SNDBUF as i64),
    ("SO_SNDLOWAT", libc::SO_SNDLOWAT as i64),
    ("SO_SNDTIMEO", libc::SO_SNDTIMEO as i64),
    ("SO_TIMESTAMP", libc::SO_TIMESTAMP as i64),
    ("SO_TIMESTAMPING", libc::SO_TIMESTAMPING as i64),
    ("SO_TYPE", libc::SO_TYPE as i64),
    ("SO_MAX_PACING_RATE", libc::SO_MAX_PACING_RATE as i64),
    ("SO_ZEROCOPY", libc::SO_ZEROCOPY as i64),
    (
        "SO_EE_ORIGIN_TIMESTAMPING",
        libc::SO_EE_ORIGIN_TIMESTAMPING as i64,
    ),
    // <linux/errqueue.h>
    ("SO_EE_ORIGIN_ZEROCOPY", 5),
    // <linux/errqueue.h>
    ("SO_EE_CODE_ZEROCOPY_COPIED", 1),
    (
        "SOF_TIMESTAMPING_TX_HARDWARE",
        libc::SOF_TIMESTAMPING_TX_HARDWARE as i64,
    ),
    (
        "SOF_TIMESTAMPING_TX_SOFTWARE",
        libc::SOF_TIMESTAMPING_TX_SOFTWARE as i64,
    ),
    (
        "SOF_TIMESTAMPING_RX_HARDWARE",
        libc::SOF_TIMESTAMPING_RX_HARDWARE as i64,
    ),
    (
        "SOF_TIMESTAMPING_RX_SOFTWARE",
        libc::SOF_TIMESTAMPING_RX_SOFTWARE as i64,
    ),
    (
        "SOF_TIMESTAMPING_SOFTWARE",
        libc::SOF_TIMESTAMPING_SOFTWARE as i64,
    ),
    (
        "SOF_TIMESTAMPING_SYS_HARDWARE",
        libc::SOF_TIMESTAMPING_SYS_HARDWARE as i64,
    ),
    (
        "SOF_TIMESTAMPING_RAW_HARDWARE",
        libc::SOF_TIMESTAMPING_RAW_HARDWARE as i64,
    ),
    (
        "SOF_TIMESTAMPING_OPT_ID",
        libc::SOF_TIMESTAMPING_OPT_ID as i64,
    ),
    (
        "SOF_TIMESTAMPING_TX_SCHED",
        libc::SOF_TIMESTAMPING_TX_SCHED as i64,
    ),
    (
        "SOF_TIMESTAMPING_TX_ACK",
        libc::SOF_TIMESTAMPING_TX_ACK as i64,
    ),
    (
        "SOF_TIMESTAMPING_OPT_CMSG",
        libc::SOF_TIMESTAMPING_OPT_CMSG as i64,
    ),
    (
        "SOF_TIMESTAMPING_OPT_TSONLY",
        libc::SOF_TIMESTAMPING_OPT_TSONLY as i64,
    ),
    (
        "SOF_TIMESTAMPING_OPT_STATS",
        libc::SOF_TIMESTAMPING_OPT_STATS as i64,
    ),
    (
        "SOF_TIMESTAMPING_OPT_ID_TCP",
        libc::SOF_TIMESTAMPING_OPT_ID_TCP as i64,
    ),
    ("SCM_TIMESTAMPING", libc::SCM_TIMESTAMPING as i64),
    // <linux/errqueue.h> (also SCHED, ACK)
    ("SCM_TSTAMP_SND", 0),
    ("SCM_TSTAMP_SCHED", 1),
    ("SCM_TSTAMP_ACK", 2),
    (
        "SCM_TIMESTAMPING_OPT_STATS",
        libc::SCM_TIMESTAMPING_OPT_STATS as i64,
    ),
    // packetdrill's copy of <linux/tcp.h>'s enum (TCP_NLA_PAD = 0)
    ("TCP_NLA_BUSY", 1),
    ("TCP_NLA_RWND_LIMITED", 2),
    ("TCP_NLA_SNDBUF_LIMITED", 3),
    ("TCP_NLA_DATA_SEGS_OUT", 4),
    ("TCP_NLA_TOTAL_RETRANS", 5),
    ("TCP_NLA_PACING_RATE", 6),
    ("TCP_NLA_DELIVERY_RATE", 7),
    ("TCP_NLA_SND_CWND", 8),
    ("TCP_NLA_REORDERING", 9),
    ("TCP_NLA_MIN_RTT", 10),
    ("TCP_NLA_RECUR_RETRANS", 11),
    ("TCP_NLA_DELIVERY_RATE_APP_LMT", 12),
    ("TCP_NLA_SNDQ_SIZE", 13),
    ("TCP_NLA_CA_STATE", 14),
    ("TCP_NLA_SND_SSTHRESH", 15),
    ("TCP_NLA_DELIVERED", 16),
    ("TCP_NLA_DELIVERED_CE", 17),
    ("TCP_NLA_BYTES_SENT", 18),
    ("TCP_NLA_BYTES_RETRANS", 19),
    ("TCP_NLA_DSACK_DUPS", 20),
    ("TCP_NLA_REORD_SEEN", 21),
    ("TCP_NLA_SRTT", 22),
    // enum tcp_ca_state in <linux/tcp.h>
    ("TCP_CA_OPEN", 0),
    ("TCP_CA_DISORDER", 1),
    ("TCP_CA_CWR", 2),
    ("TCP_CA_RECOVERY", 3),
    ("TCP_CA_LOSS", 4),
    // <net/tcp.h>
    ("TCP_INFINITE_SSTHRESH", 0x7fff_ffff),
    ("IP_TOS", libc::IP_TOS as i64),
    ("IP_MTU_DISCOVER", libc::IP_MTU_DISCOVER as i64),
    ("IPV6_MTU_DISCOVER", libc::IPV6_MTU_DISCOVER as i64),
    ("IP_PMTUDISC_WANT", libc::IP_PMTUDISC_WANT as i64),
    ("IP_PMTUDISC_DONT", libc::IP_PMTUDISC_DONT as i64),
    ("IP_PMTUDISC_DO", libc::IP_PMTUDISC_DO as i64),
    ("IP_PMTUDISC_PROBE", libc::IP_PMTUDISC_PROBE as i64),
    ("IP_RECVERR", libc::IP_RECVERR as i64),
    ("IPV6_RECVERR", libc::IPV6_RECVERR as i64),
    ("IP_FREEBIND", libc::IP_FREEBIND as i64),
    ("IP_TTL", libc::IP_TTL as i64),
    ("IP_MTU", libc::IP_MTU as i64),
    ("IPV6_MTU", libc::IPV6_MTU as i64),
    ("IPV6_TCLASS", libc::IPV6_TCLASS as i64),
    ("IPV6_HOPLIMIT", libc::IPV6_HOPLIMIT as i64),
    ("TCP_NODELAY", libc::TCP_NODELAY as i64),
    ("TCP_MAXSEG", libc::TCP_MAXSEG as i64),
    ("TCP_CORK", libc::TCP_CORK as i64),
    ("TCP_KEEPIDLE", libc::TCP_KEEPIDLE as i64),
    ("TCP_KEEPINTVL", libc::TCP_KEEPINTVL as i64),
    ("TCP_KEEPCNT", libc::TCP_KEEPCNT as i64),
    ("TCP_SYNCNT", libc::TCP_SYNCNT as i64),
    ("TCP_LINGER2", libc::TCP_LINGER2 as i64),
    ("TCP_DEFER_ACCEPT", libc::TCP_DEFER_ACCEPT as i64),
    ("TCP_INFO", libc::TCP_INFO as i64),
    ("TCP_QUICKACK", libc::TCP_QUICKACK as i64),
    ("TCP_CONGESTION", libc::TCP_CONGESTION as i64),
    ("TCP_MD5SIG", libc::TCP_MD5SIG as i64),
    (
        "TCP_COOKIE_TRANSACTIONS",
        libc::TCP_COOKIE_TRANSACTIONS as i64,
    ),
    (
        "TCP_THIN_LINEAR_TIMEOUTS",
        libc::TCP_THIN_LINEAR_TIMEOUTS as i64,
    ),
    ("TCP_THIN_DUPACK", libc::TCP_THIN_DUPACK as i64),
    ("TCP_USER_TIMEOUT", libc::TCP_USER_TIMEOUT as i64),
    ("TCP_FASTOPEN", libc::TCP_FASTOPEN as i64),
    ("TCP_FASTOPEN_CONNECT", libc::TCP_FASTOPEN_CONNECT as i64),
    ("TCP_FASTOPEN_KEY", libc::TCP_FASTOPEN_KEY as i64),
    (
        "TCP_FASTOPEN_NO_COOKIE",
        libc::TCP_FASTOPEN_NO_COOKIE as i64,
    ),
    ("TCP_TIMESTAMP", libc::TCP_TIMESTAMP as i64),
    ("TCP_NOTSENT_LOWAT", libc::TCP_NOTSENT_LOWAT as i64),
    ("TCP_INQ", libc::TCP_INQ as i64),
    ("TCP_CM_INQ", libc::TCP_CM_INQ as i64),
    // <linux/tcp.h>
    ("TCP_TX_DELAY", 37),
    ("O_RDONLY", libc::O_RDONLY as i64),
    ("O_WRONLY", libc::O_WRONLY as i64),
    ("O_RDWR", libc::O_RDWR as i64),
    ("O_ACCMODE", libc::O_ACCMODE as i64),
    ("O_CREAT", libc::O_CREAT as i64),
    ("O_EXCL", libc::O_EXCL as i64),
    ("O_NOCTTY", libc::O_NOCTTY as i64),
    ("O_TRUNC", libc::O_TRUNC as i64),
    ("O_APPEND", libc::O_APPEND as i64),
    ("O_NONBLOCK", libc::O_NONBLOCK as i64),
    ("F_DUPFD", libc::F_DUPFD as i64),
    ("F_GETFD", libc::F_GETFD as i64),
    ("F_SETFD", libc::F_SETFD as i64),
    ("F_GETFL", libc::F_GETFL as i64),
    ("F_SETFL", libc::F_SETFL as i64),
    ("F_GETLK", libc::F_GETLK as i64),
    ("F_SETLK", libc::F_SETLK as i64),
    ("F_SETLKW", libc::F_SETLKW as i64),
    ("F_GETOWN", libc::F_GETOWN as i64),
    ("F_SETOWN", libc::F_SETOWN as i64),
    // <asm-generic/fcntl.h> (also F_GETSIG)
    ("F_SETSIG", 10),
    ("F_GETSIG", 11),
    ("F_SETLK64", 6),
    ("F_SETLKW64", 7),
    // glibc on 64-bit: the same commands as F_GETLK etc.
    ("F_GETLK64", 5),
    ("F_SETLEASE", libc::F_SETLEASE as i64),
    ("F_GETLEASE", libc::F_GETLEASE as i64),
    ("F_NOTIFY", libc::F_NOTIFY as i64),
    ("F_DUPFD_CLOEXEC", libc::F_DUPFD_CLOEXEC as i64),
    ("FD_CLOEXEC", libc::FD_CLOEXEC as i64),
    ("LOCK_SH", libc::LOCK_SH as i64),
    ("LOCK_EX", libc::LOCK_EX as i64),
    ("LOCK_NB", libc::LOCK_NB as i64),
    ("LOCK_UN", libc::LOCK_UN as i64),
    ("F_RDLCK", libc::F_RDLCK as i64),
    ("F_WRLCK", libc::F_WRLCK as i64),
    ("F_UNLCK", libc::F_UNLCK as i64),
    // <asm-generic/fcntl.h> (also F_SHLCK)
    ("F_EXLCK", 4),
    ("F_SHLCK", 8),
    ("SEEK_SET", libc::SEEK_SET as i64),
    ("SEEK_CUR", libc::SEEK_CUR as i64),
    ("SEEK_END", libc::SEEK_END as i64),
    ("MSG_OOB", libc::MSG_OOB as i64),
    ("MSG_DONTROUTE", libc::MSG_DONTROUTE as i64),
    ("MSG_PEEK", libc::MSG_PEEK as i64),
    ("MSG_CTRUNC", libc::MSG_CTRUNC as i64),
    // <bits/socket.h>
    ("MSG_PROXY", 0x10),
    ("MSG_EOR", libc::MSG_EOR as i64),
    ("MSG_WAITALL", libc::MSG_WAITALL as i64),
    ("MSG_TRUNC", libc::MSG_TRUNC as i64),
    ("MSG_ERRQUEUE", libc::MSG_ERRQUEUE as i64),
    ("MSG_DONTWAIT", libc::MSG_DONTWAIT as i64),
    ("MSG_CONFIRM", libc::MSG_CONFIRM as i64),
    ("MSG_FIN", libc::MSG_FIN as i64),
    ("MSG_SYN", libc::MSG_SYN as i64),
    ("MSG_RST", libc::MSG_RST as i64),
    ("MSG_NOSIGNAL", libc::MSG_NOSIGNAL as i64),
    ("MSG_MORE", libc::MSG_MORE as i64),
    ("MSG_CMSG_CLOEXEC", libc::MSG_CMSG_CLOEXEC as i64),
    ("MSG_FASTOPEN", libc::MSG_FASTOPEN as i64),
    ("MSG_ZEROCOPY", libc::MSG_ZEROCOPY as i64),
    // <linux/sockios.h>
    ("SIOCINQ", libc::FIONREAD as i64),
    ("FIONREAD", libc::FIONREAD as i64),
    ("POLLIN", libc::POLLIN as i64),
    ("POLLPRI", libc::POLLPRI as i64),
    ("POLLOUT", libc::POLLOUT as i64),
    ("POLLRDNORM", libc::POLLRDNORM as i64),
    ("POLLRDBAND", libc::POLLRDBAND as i64),
    ("POLLWRNORM", libc::POLLWRNORM as i64),
    ("POLLWRBAND", libc::POLLWRBAND as i64),
    // <bits/poll.h> (also POLLREMOVE)
    ("POLLMSG", 0x400),
    ("POLLREMOVE", 0x1000),
    ("POLLRDHUP", libc::POLLRDHUP as i64),
    ("POLLERR", libc::POLLERR as i64),
    ("POLLHUP", libc::POLLHUP as i64),
    ("POLLNVAL", libc::POLLNVAL as i64),
    ("EPERM", libc::EPERM as i64),
    ("ENOENT", libc::ENOENT as i64),
    ("ESRCH", libc::ESRCH as i64),
    ("EINTR", libc::EINTR as i64),
    ("EIO", libc::EIO as i64),
    ("ENXIO", libc::ENXIO as i64),
    ("E2BIG", libc::E2BIG as i64),
    ("ENOEXEC", libc::ENOEXEC as i64),
    ("EBADF", libc::EBADF as i64),
    ("ECHILD", libc::ECHILD as i64),
    ("EAGAIN", libc::EAGAIN as i64),
    ("ENOMEM", libc::ENOMEM as i64),
    ("EACCES", libc::EACCES as i64),
    ("EFAULT", libc::EFAULT as i64),
    ("ENOTBLK", libc::ENOTBLK as i64),
    ("EBUSY", libc::EBUSY as i64),
    ("EEXIST", libc::EEXIST as i64),
    ("EXDEV", libc::EXDEV as i64),
    ("ENODEV", libc::ENODEV as i64),
    ("ENOTDIR", libc::ENOTDIR as i64),
    ("EISDIR", libc::EISDIR as i64),
    ("EINVAL", libc::EINVAL as i64),
    ("ENFILE", libc::ENFILE as i64),
    ("EMFILE", libc::EMFILE as i64),
    ("ENOTTY", libc::ENOTTY as i64),
    ("ETXTBSY", libc::ETXTBSY as i64),
    ("EFBIG", libc::EFBIG as i64),
    ("ENOSPC", libc::ENOSPC as i64),
    ("ESPIPE", libc::ESPIPE as i64),
    ("EROFS", libc::EROFS as i64),
    ("EMLINK", libc::EMLINK as i64),
    ("EPIPE", libc::EPIPE as i64),
    ("EDOM", libc::EDOM as i64),
    ("ERANGE", libc::ERANGE as i64),
    ("EDEADLK", libc::EDEADLK as i64),
    ("ENAMETOOLONG", libc::ENAMETOOLONG as i64),
    ("ENOLCK", libc::ENOLCK as i64),
    ("ENOSYS", libc::ENOSYS as i64),
    ("ENOTEMPTY", libc::ENOTEMPTY as i64),
    ("ELOOP", libc::ELOOP as i64),
    ("EWOULDBLOCK", libc::EWOULDBLOCK as i64),
    ("ENOMSG", libc::ENOMSG as i64),
    ("EIDRM", libc::EIDRM as i64),
    ("ECHRNG", libc::ECHRNG as i64),
    ("EL2NSYNC", libc::EL2NSYNC as i64),
    ("EL3HLT", libc::EL3HLT as i64),
    ("EL3RST", libc::EL3RST as i64),
    ("ELNRNG", libc::ELNRNG as i64),
    ("EUNATCH", libc::EUNATCH as i64),
    ("ENOCSI", libc::ENOCSI as i64),
    ("EL2HLT", libc::EL2HLT as i64),
    ("EBADE", libc::EBADE as i64),
    ("EBADR", libc::EBADR as i64),
    ("EXFULL", libc::EXFULL as i64),
    ("ENOANO", libc::ENOANO as i64),
    ("EBADRQC", libc::EBADRQC as i64),
    ("EBADSLT", libc::EBADSLT as i64),
    ("EDEADLOCK", libc::EDEADLOCK as i64),
    ("EBFONT", libc::EBFONT as i64),
    ("ENOSTR", libc::ENOSTR as i64),
    ("ENODATA", libc::ENODATA as i64),
    ("ETIME", libc::ETIME as i64),
    ("ENOSR", libc::ENOSR as i64),
    ("ENONET", libc::ENONET as i64),
    ("ENOPKG", libc::ENOPKG as i64),
    ("EREMOTE", libc::EREMOTE as i64),
    ("ENOLINK", libc::ENOLINK as i64),
    ("EADV", libc::EADV as i64),
    ("ESRMNT", libc::ESRMNT as i64),
    ("ECOMM", libc::ECOMM as i64),
    ("EPROTO", libc::EPROTO as i64),
    ("EMULTIHOP", libc::EMULTIHOP as i64),
    ("EDOTDOT", libc::EDOTDOT as i64),
    ("EBADMSG", libc::EBADMSG as i64),
    ("EOVERFLOW", libc::EOVERFLOW as i64),
    ("ENOTUNIQ", libc::ENOTUNIQ as i64),
    ("EBADFD", libc::EBADFD as i64),
    ("EREMCHG", libc::EREMCHG as i64),
    ("ELIBACC", libc::ELIBACC as i64),
    ("ELIBBAD", libc::ELIBBAD as i64),
    ("ELIBSCN", libc::ELIBSCN as i64),
    ("ELIBMAX", libc::ELIBMAX as i64),
    ("ELIBEXEC", libc::ELIBEXEC as i64),
    ("EILSEQ", libc::EILSEQ as i64),
    ("ERESTART", libc::ERESTART as i64),
    ("ESTRPIPE", libc::ESTRPIPE as i64),
    ("EUSERS", libc::EUSERS as i64),
    ("ENOTSOCK", libc::ENOTSOCK as i64),
    ("EDESTADDRREQ", libc::EDESTADDRREQ as i64),
    ("EMSGSIZE", libc::EMSGSIZE as i64),
    ("EPROTOTYPE", libc::EPROTOTYPE as i64),
    ("ENOPROTOOPT", libc::ENOPROTOOPT as i64),
    ("EPROTONOSUPPORT", libc::EPROTONOSUPPORT as i64),
    ("ESOCKTNOSUPPORT", libc::ESOCKTNOSUPPORT as i64),
    ("EOPNOTSUPP", libc::EOPNOTSUPP as i64),
    ("EPFNOSUPPORT", libc::EPFNOSUPPORT as i64),
    ("EAFNOSUPPORT", libc::EAFNOSUPPORT as i64),
    ("EADDRINUSE", libc::EADDRINUSE as i64),
    ("EADDRNOTAVAIL", libc::EADDRNOTAVAIL as i64),
    ("ENETDOWN", libc::ENETDOWN as i64),
    ("ENETUNREACH", libc::ENETUNREACH as i64),
    ("ENETRESET", libc::ENETRESET as i64),
    ("ECONNABORTED", libc::ECONNABORTED as i64),
    ("ECONNRESET", libc::ECONNRESET as i64),
    ("ENOBUFS", libc::ENOBUFS as i64),
    ("EISCONN", libc::EISCONN as i64),
    ("ENOTCONN", libc::ENOTCONN as i64),
    ("ESHUTDOWN", libc::ESHUTDOWN as i64),
    ("ETOOMANYREFS", libc::ETOOMANYREFS as i64),
    ("ETIMEDOUT", libc::ETIMEDOUT as i64),
    ("ECONNREFUSED", libc::ECONNREFUSED as i64),
    ("EHOSTDOWN", libc::EHOSTDOWN as i64),
    ("EHOSTUNREACH", libc::EHOSTUNREACH as i64),
    ("EALREADY", libc::EALREADY as i64),
    ("EINPROGRESS", libc::EINPROGRESS as i64),
    ("ESTALE", libc::ESTALE as i64),
    ("EUCLEAN", libc::EUCLEAN as i64),
    ("ENOTNAM", libc::ENOTNAM as i64),
    ("ENAVAIL", libc::ENAVAIL as i64),
    ("EISNAM", libc::EISNAM as i64),
    ("EREMOTEIO", libc::EREMOTEIO as i64),
    ("EDQUOT", libc::EDQUOT as i64),
    ("ENOMEDIUM", libc::ENOMEDIUM as i64),
    ("EMEDIUMTYPE", libc::EMEDIUMTYPE as i64),
    ("ECANCELED", libc::ECANCELED as i64),
    ("ENOKEY", libc::ENOKEY as i64),
    ("EKEYEXPIRED", libc::EKEYEXPIRED as i64),
    ("EKEYREVOKED", libc::EKEYREVOKED as i64),
    ("EKEYREJECTED", libc::EKEYREJECTED as i64),
    ("EOWNERDEAD", libc::EOWNERDEAD as i64),
    ("ENOTRECOVERABLE", libc::ENOTRECOVERABLE as i64),
    ("ERFKILL", libc::ERFKILL as i64),
    // libcap cap_flag_t (also PERMITTED, INHERITABLE)
    ("CAP_EFFECTIVE", 0),
    ("CAP_PERMITTED", 1),
    ("CAP_INHERITABLE", 2),
    // libcap cap_flag_value_t (also CLEAR)
    ("CAP_SET", 1),
    ("CAP_CLEAR", 0),
    // <linux/capability.h> numbers
    ("CAP_CHOWN", 0),
    ("CAP_DAC_OVERRIDE", 1),
    ("CAP_DAC_READ_SEARCH", 2),
    ("CAP_FOWNER", 3),
    ("CAP_FSETID", 4),
    ("CAP_KILL", 5),
    ("CAP_SETGID", 6),
    ("CAP_SETUID", 7),
    ("CAP_SETPCAP", 8),
    ("CAP_LINUX_IMMUTABLE", 9),
    ("CAP_NET_BIND_SERVICE", 10),
    ("CAP_NET_BROADCAST", 11),
    ("CAP_NET_ADMIN", 12),
    ("CAP_NET_RAW", 13),
    ("CAP_IPC_LOCK", 14),
    ("CAP_IPC_OWNER", 15),
    ("CAP_SYS_MODULE", 16),
    ("CAP_SYS_RAWIO", 17),
    ("CAP_SYS_CHROOT", 18),
    ("CAP_SYS_PTRACE", 19),
    ("CAP_SYS_PACCT", 20),
    ("CAP_SYS_ADMIN", 21),
    ("CAP_SYS_BOOT", 22),
    ("CAP_SYS_NICE", 23),
    ("CAP_SYS_RESOURCE", 24),
    ("CAP_SYS_TIME", 25),
    ("CAP_SYS_TTY_CONFIG", 26),
    ("CAP_MKNOD", 27),
    ("CAP_LEASE", 28),
    ("CAP_AUDIT_WRITE", 29),
    ("CAP_AUDIT_CONTROL", 30),
    ("CAP_SETFCAP", 31),
    ("CAP_MAC_OVERRIDE", 32),
    ("CAP_MAC_ADMIN", 33),
    ("CAP_SYSLOG", 34),
    ("CAP_WAKE_ALARM", 35),
    ("CAP_BLOCK_SUSPEND", 36),
    ("EPOLLIN", libc::EPOLLIN as i64),
    ("EPOLLPRI", libc::EPOLLPRI as i64),
    ("EPOLLOUT", libc::EPOLLOUT as i64),
    ("EPOLLRDNORM", libc::EPOLLRDNORM as i64),
    ("EPOLLRDBAND", libc::EPOLLRDBAND as i64),
    ("EPOLLWRNORM", libc::EPOLLWRNORM as i64),
    ("EPOLLWRBAND", libc::EPOLLWRBAND as i64),
    ("EPOLLMSG", libc::EPOLLMSG as i64),
    ("EPOLLERR", libc::EPOLLERR as i64),
    ("EPOLLHUP", libc::EPOLLHUP as i64),
    ("EPOLLRDHUP", libc::EPOLLRDHUP as i64),
    ("EPOLLONESHOT", libc::EPOLLONESHOT as i64),
    // 1u << 31: positive, as in C
    ("EPOLLET", 0x8000_0000),
    ("EPOLLEXCLUSIVE", libc::EPOLLEXCLUSIVE as i64),
    ("EPOLL_CTL_ADD", libc::EPOLL_CTL_ADD as i64),
    ("EPOLL_CTL_MOD", libc::EPOLL_CTL_MOD as i64),
    ("EPOLL_CTL_DEL", libc::EPOLL_CTL_DEL as i64),
    ("SPLICE_F_MOVE", libc::SPLICE_F_MOVE as i64),
    ("SPLICE_F_NONBLOCK", libc::SPLICE_F_NONBLOCK as i64),
    ("SPLICE_F_MORE", libc::SPLICE_F_MORE as i64),
    ("SPLICE_F_GIFT", libc::SPLICE_F_GIFT as i64),
    ("AF_UNSPEC", libc::AF_UNSPEC as i64),
];

/// The value of a symbolic constant.
pub fn lookup(name: &str) -> Option<i64> {
    SYMBOLS.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

/// glibc's `strerror(errnum)` text ("Unknown error N" for numbers it does not know).
pub fn strerror(errnum: i32) -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its whole length; the XSI strerror_r
    // writes a NUL-terminated string of at most buf.len() bytes.
    let rc = unsafe { libc::strerror_r(errnum, buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return format!("Unknown error {errnum}");
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// The names packetdrill prints for poll(2) event bits.
const POLL_FLAGS: &[(i64, &str)] = &[
    (libc::POLLIN as i64, "POLLIN"),
    (libc::POLLPRI as i64, "POLLPRI"),
    (libc::POLLOUT as i64, "POLLOUT"),
    (libc::POLLRDNORM as i64, "POLLRDNORM"),
    (libc::POLLRDBAND as i64, "POLLRDBAND"),
    (libc::POLLWRNORM as i64, "POLLWRNORM"),
    (libc::POLLWRBAND as i64, "POLLWRBAND"),
    (0x400, "POLLMSG"),
    (0x1000, "POLLREMOVE"),
    (libc::POLLRDHUP as i64, "POLLRDHUP"),
    (libc::POLLERR as i64, "POLLERR"),
    (libc::POLLHUP as i64, "POLLHUP"),
    (libc::POLLNVAL as i64, "POLLNVAL"),
];

/// poll event bits as `POLLIN|POLLOUT` (unknown bits print as `???`, no bits as "").
pub fn poll_flags_to_string(flags: i64) -> String {
    (0..64)
        .map(|bit| 1i64 << bit)
        .filter(|mask| flags & mask != 0)
        .map(|mask| {
            POLL_FLAGS
                .iter()
                .find(|(v, _)| *v == mask)
                .map_or("???", |(_, n)| n)
        })
        .collect::<Vec<_>>()
        .join("|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_names_packetdrill_knows() {
        assert_eq!(lookup("SOCK_STREAM"), Some(1));
        assert_eq!(lookup("NULL"), Some(0));
        assert_eq!(lookup("SO_REUSEADDR"), Some(2));
        assert_eq!(lookup("TCP_FASTOPEN_CONNECT"), Some(30));
        assert_eq!(lookup("MSG_ZEROCOPY"), Some(0x400_0000));
        assert_eq!(lookup("SO_EE_ORIGIN_ZEROCOPY"), Some(5));
        assert_eq!(lookup("SCM_TSTAMP_ACK"), Some(2));
        assert_eq!(lookup("TCP_NLA_SRTT"), Some(22));
        assert_eq!(lookup("SIOCINQ"), Some(0x541b));
        assert_eq!(lookup("EPOLLET"), Some(0x8000_0000));
        assert_eq!(lookup("EWOULDBLOCK"), lookup("EAGAIN"));
        assert_eq!(lookup("CAP_NET_ADMIN"), Some(12));
        assert_eq!(lookup("CAP_BLOCK_SUSPEND"), Some(36));
        assert_eq!(lookup("AF_UNSPEC"), Some(0));
    }

    #[test]
    fn unknown_names_get_packetdrills_message() {
        assert_eq!(lookup("TCP_BOGUS"), None);
        assert_eq!(
            super::super::eval::symbol("TCP_BOGUS").map_err(|e| e.to_string()),
            Err("unknown symbol: 'TCP_BOGUS'".into())
        );
        // Names packetdrill's table lacks stay unknown, even where Linux has them.
        assert!(lookup("SIOCOUTQ").is_none());
        assert!(lookup("TCP_ZEROCOPY_RECEIVE").is_none());
    }

    #[test]
    fn table_has_no_conflicting_duplicates() {
        for (i, (name, value)) in SYMBOLS.iter().enumerate() {
            for (other, v) in &SYMBOLS[i + 1..] {
                if other == name {
                    assert_eq!(value, v, "{name}");
                }
            }
        }
        assert!(SYMBOLS.len() > 400);
    }

    #[test]
    fn strerror_is_glibcs() {
        assert_eq!(strerror(11), "Resource temporarily unavailable");
        assert_eq!(strerror(22), "Invalid argument");
        assert_eq!(strerror(0), "Success");
        assert_eq!(strerror(9999), "Unknown error 9999");
    }

    #[test]
    fn poll_flags_print_symbolically() {
        assert_eq!(poll_flags_to_string(0), "");
        assert_eq!(poll_flags_to_string(1 | 4), "POLLIN|POLLOUT");
        assert_eq!(poll_flags_to_string(0x8 | 0x10), "POLLERR|POLLHUP");
        assert_eq!(poll_flags_to_string(1 << 40), "???");
    }
}
