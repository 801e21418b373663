//! netdrill: run packetdrill suites, each script x IP version in its own network
//! namespace, many at once, with KTAP, JUnit and JSON reports.
//!
//! `netdrill run`, from the command line down (no file imports one that
//! imports it back, directly or around a longer loop: `tests/layers.rs` checks):
//!
//! - [`cli`]: the command line; [`check`], [`packetdrill`], [`report_command`]:
//!   the other commands;
//! - [`discover`]: paths to jobs, with [`suite`] (`suite.toml`) and [`preflight`];
//! - [`kernel_features`]: what each script needs of the kernel, and whether a
//!   failure is a SKIP because the [`kernel_probe`] found it missing;
//!   [`partition`]: which of them a shard runs (`--partition KIND:K/N`, pure);
//! - [`driver`]: the run's poll loop, which feeds the [`scheduler`] (every
//!   decision, pure) and does what it says with [`process`] (job processes and
//!   their pipes, [`protocol`]) and [`signals`]; each job process runs
//!   [`job_child`] in its [`sandbox`], watching its caps ([`job_limits`]);
//! - [`kernel_log`]: kernel splats read while the run goes on; [`load`]: the
//!   CPUs' idle time, by which a held retry starts;
//! - [`record`]: attempts and verdicts into one record; [`durations`]: the order
//!   of the next run;
//! - [`report`] and [`progress`]: pure functions of the record or its events;
//!   [`merge`]: the shards' documents back into one record (`netdrill merge`);
//! - [`history`]: run records kept over time (`--record`), read back for
//!   `netdrill report` (its pages are in [`report`]);
//! - [`model`]: the data they share; [`escape`]: script and job text made
//!   safe to show.

pub mod check;
pub mod cli;
pub mod discover;
pub mod driver;
pub mod durations;
pub mod escape;
pub mod history;
pub mod job_child;
pub mod job_limits;
pub mod kernel_features;
pub mod kernel_log;
pub mod kernel_probe;
pub mod load;
pub mod merge;
pub mod model;
pub mod packetdrill;
pub mod partition;
pub mod preflight;
pub mod process;
pub mod progress;
pub mod protocol;
pub mod record;
pub mod report;
pub mod report_command;
pub mod sandbox;
pub mod scheduler;
pub mod signals;
pub mod suite;
pub mod vm;
