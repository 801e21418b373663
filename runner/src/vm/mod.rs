//! `netdrill run --kernel BZIMAGE`: the same run, inside a VM booting the
//! kernel under test with virtme-ng (`vng`), the host's root file system shared
//! read-only.
//!
//! - [`plan`]: every decision, pure: the accelerator (KVM, or emulation when
//!   `/dev/kvm` is missing or a short probe boot under a watchdog shows that KVM
//!   does not boot), the watchdog's deadlines, the arguments and the script of
//!   the run inside, the kernel's console read for a panic, and what the VM's
//!   end means;
//! - [`tracker`]: the run inside as its events come back, and the record of a
//!   run whose VM was lost (the jobs that were running fail as `vm-lost`, the
//!   others are not run);
//! - [`boot`]: the effects: `vng` started in a process group of its own with
//!   its console to a file, the events file followed, the watchdog's kill;
//! - [`host`]: the run on the host: the events of the run inside go to the same
//!   reports and display as a local run's.
//!
//! The run inside writes its events (JSON lines, `--events`), its exit status
//! and its stderr to an exchange folder shared read-write with the VM;
//! `--artifacts` is shared read-write too, so artifacts land on the host at the
//! paths the reports give.

pub mod boot;
pub mod host;
pub mod plan;
pub mod tracker;
