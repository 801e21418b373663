//! The event loop's scheduling priority.
//!
//! On machines with more than one CPU the loop runs at the lowest real-time
//! priority (as packetdrill does), so that a busy machine does not delay its
//! wake-ups. SCHED_RESET_ON_FORK keeps the threads and Python it starts at
//! normal priority; the kernel applies that flag to every clone, threads
//! included, so the loop's blocking-call threads take the policy back
//! themselves ([`ThreadSched`]). Shell commands are born with the loop's
//! policy instead, as packetdrill's are ([`ChildrenInherit`];
//! docs/engine/commands-and-code.md, "Commands").

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

/// While alive, children the calling thread starts are born with its
/// real-time policy, as packetdrill's commands are: the thread drops
/// SCHED_RESET_ON_FORK until [`Drop`]. A child that had to wait for a CPU at
/// normal priority before its exec could start milliseconds late on a busy
/// machine, where packetdrill's does not. Nothing when the thread is not
/// real-time.
pub(crate) struct ChildrenInherit(Option<ThreadSched>);

impl ChildrenInherit {
    pub(crate) fn new() -> ChildrenInherit {
        let Some(current) = ThreadSched::current() else {
            return ChildrenInherit(None);
        };
        let policy = current.policy & !libc::SCHED_RESET_ON_FORK;
        let inherit = ThreadSched {
            policy,
            param: current.param,
        };
        let realtime = policy == libc::SCHED_RR || policy == libc::SCHED_FIFO;
        let changed = realtime && current.policy != policy && inherit.apply();
        ChildrenInherit(changed.then_some(current))
    }
}

impl Drop for ChildrenInherit {
    fn drop(&mut self) {
        if let Some(saved) = self.0 {
            saved.apply();
        }
    }
}

/// Pull the engine's pages into memory and pin them (`mlockall(MCL_CURRENT)`),
/// as packetdrill does before its clock starts, so that no page fault of
/// the engine's own lands inside a timed event. Failure (no permission, a
/// small RLIMIT_MEMLOCK) changes nothing else.
pub(crate) fn lock_memory() -> bool {
    // SAFETY: no pointers; affects only this process's memory residency.
    unsafe { libc::mlockall(libc::MCL_CURRENT) == 0 }
}

/// Undo [`lock_memory`].
pub(crate) fn unlock_memory() {
    // SAFETY: as above.
    unsafe {
        libc::munlockall();
    }
}

pub(crate) fn leave_realtime(saved: Option<ThreadSched>) {
    if let Some(old) = saved {
        old.apply();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scheduling policy of a process started by `sh -c` (field 41 of
    /// `/proc/PID/stat`, read by a grandchild of the caller).
    fn grandchild_policy() -> String {
        let out = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg("awk '{print $41}' /proc/self/stat")
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    #[test]
    fn commands_are_born_with_the_loops_real_time_policy() {
        std::thread::spawn(|| {
            let Some(saved) = enter_realtime() else {
                return; // one CPU or no permission: nothing to check
            };
            assert_eq!(grandchild_policy(), "0", "reset on fork by default");
            {
                let _inherit = ChildrenInherit::new();
                assert_eq!(grandchild_policy(), libc::SCHED_RR.to_string());
            }
            // The loop is back to resetting its children.
            assert!(ThreadSched::current().unwrap().is_realtime());
            assert_eq!(grandchild_policy(), "0");
            leave_realtime(Some(saved));
        })
        .join()
        .unwrap();
    }

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
