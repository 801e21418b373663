//! netdrill: run packetdrill suites, each script x IP version in its own network
//! namespace, many at once, with KTAP, JUnit and JSON reports.

pub mod check;
pub mod cli;
pub mod model;
