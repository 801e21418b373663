//! poll() and epoll: pollfd arrays and epoll_event literals, and the checks
//! of what the kernel reported (docs/engine/syscalls.md, "poll and epoll").

use super::error::{bad_type, invalid, output, SyscallError};
use super::eval::Value;
use super::symbols::poll_flags_to_string;
use crate::run::state::RunState;
use crate::script::EpollData;
use std::os::fd::RawFd;

fn integer(v: &Value) -> Result<i64, SyscallError> {
    match v {
        Value::Int(n) => Ok(*n),
        other => Err(bad_type(other.type_name(), "integer")),
    }
}

/// The live pollfds (live fd, events) and the revents the script expects.
pub fn pollfds_new(
    v: &Value,
    state: &RunState,
) -> Result<(Vec<(RawFd, i16)>, PollCheck), SyscallError> {
    let Value::List(items) = v else {
        return Err(bad_type(v.type_name(), "list"));
    };
    let mut fds = Vec::new();
    let mut revents = Vec::new();
    for item in items {
        let Value::Pollfd {
            fd,
            events,
            revents: want,
        } = item
        else {
            return Err(bad_type(item.type_name(), "pollfd"));
        };
        let fd = integer(fd)?;
        let events = integer(events)?;
        let want = integer(want)?;
        fds.push((state.live_fd(fd as i32)?, events as i16));
        revents.push(want as i32);
    }
    Ok((fds, PollCheck { revents }))
}

/// The revents each pollfd must come back with.
#[derive(Clone, Debug, PartialEq)]
pub struct PollCheck {
    pub revents: Vec<i32>,
}

pub fn check_poll(want: &PollCheck, revents: &[i16]) -> Result<(), SyscallError> {
    for (i, (&expected, &actual)) in want.revents.iter().zip(revents).enumerate() {
        let actual = actual as i32;
        if actual != expected {
            return Err(output(format!(
                "Expected revents of {} but got {} for pollfd {i}",
                poll_flags_to_string(expected as i64),
                poll_flags_to_string(actual as i64)
            )));
        }
    }
    Ok(())
}

/// An epoll_event literal resolved for the live call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpollEvent {
    pub events: u32,
    pub kind: EpollData,
    /// The data union as a u64 (`fd=` holds the live fd).
    pub data: u64,
}

/// Resolve `{events=E, fd=N|ptr=P|u32=U|u64=V}`. With `fd_arg` (epoll_ctl's
/// fd argument as script and live fd) an `fd=` must name that same fd;
/// without it (epoll_wait) the `fd=` is looked up.
pub fn epoll_event_new(
    v: &Value,
    fd_arg: Option<(i32, RawFd)>,
    state: &RunState,
) -> Result<EpollEvent, SyscallError> {
    let Value::EpollEv {
        events,
        data,
        value,
    } = v
    else {
        return Err(bad_type(v.type_name(), "epollev"));
    };
    let events = integer(events)? as u32;
    let n = integer(value)?;
    let data_value = match data {
        EpollData::Ptr | EpollData::U64 => n as u64,
        EpollData::U32 => n as u32 as u64,
        EpollData::Fd => {
            let live = match fd_arg {
                None => state.live_fd(n as i32)?,
                Some((script_fd, live_fd)) => {
                    if n != script_fd as i64 {
                        return Err(invalid("wrong fd specified in epoll_event"));
                    }
                    live_fd
                }
            };
            live as u32 as u64
        }
    };
    Ok(EpollEvent {
        events,
        kind: *data,
        data: data_value,
    })
}

/// Compare the first event epoll_wait returned with the script's.
pub fn check_epoll_wait(want: &EpollEvent, events: u32, data: u64) -> Result<(), SyscallError> {
    if want.events != events {
        return Err(output(format!(
            "epoll_event->events does not match script: expected: 0x{:x} actual: 0x{events:x}",
            want.events
        )));
    }
    let pointer = |p: u64| {
        if p == 0 {
            "(nil)".to_string()
        } else {
            format!("0x{p:x}")
        }
    };
    let mismatch = |e: String, a: String| {
        Err(output(format!(
            "epoll_event->data does not match script: expected: {e} actual: {a}"
        )))
    };
    match want.kind {
        EpollData::Ptr if want.data != data => mismatch(pointer(want.data), pointer(data)),
        EpollData::Fd if want.data as i32 != data as i32 => {
            mismatch((want.data as i32).to_string(), (data as i32).to_string())
        }
        EpollData::U32 if want.data as u32 != data as u32 => {
            mismatch((want.data as u32).to_string(), (data as u32).to_string())
        }
        EpollData::U64 if want.data != data => mismatch(want.data.to_string(), data.to_string()),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::state::FdKind;

    #[test]
    fn pollfds_map_fds_and_check_revents() {
        let mut st = RunState::default();
        st.add_fd(4, 40, FdKind::Pipe).unwrap();
        let list = Value::List(vec![Value::Pollfd {
            fd: Box::new(Value::Int(4)),
            events: Box::new(Value::Int(1)),
            revents: Box::new(Value::Int(1)),
        }]);
        let (fds, want) = pollfds_new(&list, &st).unwrap();
        assert_eq!(fds, vec![(40, 1)]);
        assert_eq!(check_poll(&want, &[1]), Ok(()));
        assert_eq!(
            check_poll(&want, &[1 | 4]).map_err(|e| e.to_string()),
            Err("Expected revents of POLLIN but got POLLIN|POLLOUT for pollfd 0".into())
        );
        let unknown = Value::List(vec![Value::Pollfd {
            fd: Box::new(Value::Int(9)),
            events: Box::new(Value::Int(1)),
            revents: Box::new(Value::Int(0)),
        }]);
        assert_eq!(
            pollfds_new(&unknown, &st).unwrap_err().to_string(),
            "unable to find fd with script fd 9"
        );
    }

    #[test]
    fn epoll_events_resolve_and_compare() {
        let mut st = RunState::default();
        st.add_fd(4, 40, FdKind::Pipe).unwrap();
        let ev = |kind, n| Value::EpollEv {
            events: Box::new(Value::Int(4)),
            data: kind,
            value: Box::new(Value::Int(n)),
        };
        let e = epoll_event_new(&ev(EpollData::Fd, 4), Some((4, 40)), &st).unwrap();
        assert_eq!(e.data, 40);
        assert_eq!(
            epoll_event_new(&ev(EpollData::Fd, 5), Some((4, 40)), &st)
                .unwrap_err()
                .to_string(),
            "wrong fd specified in epoll_event"
        );
        let w = epoll_event_new(&ev(EpollData::Fd, 4), None, &st).unwrap();
        assert_eq!(check_epoll_wait(&w, 4, 40), Ok(()));
        assert_eq!(
            check_epoll_wait(&w, 5, 40).map_err(|e| e.to_string()),
            Err("epoll_event->events does not match script: expected: 0x4 actual: 0x5".into())
        );
        assert_eq!(
            check_epoll_wait(&w, 4, 41).map_err(|e| e.to_string()),
            Err("epoll_event->data does not match script: expected: 40 actual: 41".into())
        );
        let p = epoll_event_new(&ev(EpollData::Ptr, 0), None, &st).unwrap();
        assert_eq!(
            check_epoll_wait(&p, 4, 16).map_err(|e| e.to_string()),
            Err("epoll_event->data does not match script: expected: (nil) actual: 0x10".into())
        );
    }
}
