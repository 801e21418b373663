//! Test support: move the calling test thread into a fresh network namespace,
//! so that nothing a test does touches the host's.

/// Unshare the network namespace of the calling thread (each test runs on its
/// own thread, or in its own process under nextest) and bring `lo` up. Returns
/// false, after saying why, when that is not possible (not root): the caller
/// then skips.
pub fn enter_private_netns() -> bool {
    if let Err(e) = nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET) {
        eprintln!("skipped: cannot create a network namespace ({e}); run the tests as root");
        return false;
    }
    true
}
