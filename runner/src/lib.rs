//! netdrill: run packetdrill suites, each script x IP version in its own network
//! namespace, many at once, with KTAP, JUnit and JSON reports.

pub mod check;
pub mod cli;
pub mod discover;
pub mod driver;
pub mod durations;
pub mod job_child;
pub mod model;
pub mod packetdrill;
pub mod preflight;
pub mod process;
pub mod progress;
pub mod protocol;
pub mod record;
pub mod report;
pub mod sandbox;
pub mod scheduler;
pub mod signals;
pub mod suite;
