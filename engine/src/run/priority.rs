//! The event loop's scheduling priority.
//!
//! On machines with more than one CPU the loop runs at the lowest real-time
//! priority (as packetdrill does), so that a busy machine does not delay its
//! wake-ups. SCHED_RESET_ON_FORK keeps the commands and Python it starts at
//! normal priority; the kernel applies that flag to every clone, threads
//! included, so the loop's blocking-call threads take the policy back
//! themselves ([`ThreadSched`]).

/// A thread's scheduling policy and parameters.
#[derive(Clone, Copy)]
pub(crate) struct ThreadSched {
    policy: i32,
    param: libc::sched_param,
}

impl ThreadSched {
    /// The calling thread's policy (SCHED_RESET_ON_FORK included).
    pub(crate) fn current() -> Option<ThreadSched> {
        let mut param = libc::sched_param { sched_priority: 0 };
        // SAFETY: both act on the calling thread with a valid pointer.
        unsafe {
            let policy = libc::sched_getscheduler(0);
            (policy >= 0 && libc::sched_getparam(0, &mut param) == 0)
                .then_some(ThreadSched { policy, param })
        }
    }

    /// Give the calling thread this policy; false when the kernel refuses.
    pub(crate) fn apply(&self) -> bool {
        // SAFETY: acts on the calling thread with a valid pointer.
        unsafe { libc::sched_setscheduler(0, self.policy, &self.param) == 0 }
    }

    /// Give another thread of this process this policy.
    pub(crate) fn apply_to<T>(&self, thread: &std::thread::JoinHandle<T>) -> bool {
        use std::os::unix::thread::JoinHandleExt;
        // SAFETY: the handle keeps the thread joinable, so its pthread_t is
        // valid; the parameter pointer is valid.
        unsafe { libc::pthread_setschedparam(thread.as_pthread_t(), self.policy, &self.param) == 0 }
    }

    #[cfg(test)]
    pub(crate) fn is_realtime(&self) -> bool {
        let policy = self.policy & !libc::SCHED_RESET_ON_FORK;
        policy == libc::SCHED_RR || policy == libc::SCHED_FIFO
    }
}

/// Put the calling thread at the lowest real-time priority, children reset
/// to normal on fork. Returns the policy to restore, or None when nothing
/// changed (one CPU, or no permission).
pub(crate) fn enter_realtime() -> Option<ThreadSched> {
    // SAFETY: sysconf has no preconditions.
    if unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) } <= 1 {
        return None;
    }
    let old = ThreadSched::current()?;
    let rt = ThreadSched {
        policy: libc::SCHED_RR | libc::SCHED_RESET_ON_FORK,
        param: libc::sched_param {
            // SAFETY: no preconditions.
            sched_priority: unsafe { libc::sched_get_priority_min(libc::SCHED_RR) },
        },
    };
    rt.apply().then_some(old)
}

pub(crate) fn leave_realtime(saved: Option<ThreadSched>) {
    if let Some(old) = saved {
        old.apply();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_take_the_loops_real_time_policy_back() {
        std::thread::spawn(|| {
            let Some(saved) = enter_realtime() else {
                return; // one CPU or no permission: nothing to check
            };
            let loop_sched = ThreadSched::current().unwrap();
            assert!(loop_sched.is_realtime());
            let (reset, taken_back) = std::thread::spawn(move || {
                let reset = ThreadSched::current().unwrap().is_realtime();
                loop_sched.apply();
                (reset, ThreadSched::current().unwrap().is_realtime())
            })
            .join()
            .unwrap();
            // The kernel resets a new thread (SCHED_RESET_ON_FORK)...
            assert!(!reset);
            // ...and the thread can take the policy back.
            assert!(taken_back);
            // Or its parent gives it, before it runs.
            let (go, wait) = std::sync::mpsc::channel::<()>();
            let child = std::thread::spawn(move || {
                wait.recv().unwrap();
                ThreadSched::current().unwrap().is_realtime()
            });
            assert!(loop_sched.apply_to(&child));
            go.send(()).unwrap();
            assert!(child.join().unwrap());
            leave_realtime(Some(saved));
            assert!(!ThreadSched::current().unwrap().is_realtime());
        })
        .join()
        .unwrap();
    }
}
