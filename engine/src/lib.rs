//! netdrill's engine: the packetdrill script language and runtime.
//!
//! The pipeline, one module per stage:
//!
//! ```text
//! .pkt ──► script (lex, parse: AST with spans) ──► plan (options, defines, symbols,
//!          packet templates for the IP version, static checks) ──► run (one clock,
//!          tun0 inject + kernel-timestamped sniff, verify, syscalls, commands, code)
//!          ──► Outcome (pass | fail { kind, line, message, mismatch })
//! ```
//!
//! [`packet`] is the wire layer (checked views over bytes and validated
//! representations, parse and emit) used by both `plan` and `run`.

pub mod outcome;
pub mod packet;
pub mod plan;
pub mod run;
pub mod script;

pub use config::{Addresses, CliFlag, Config, IpVersion};
pub use outcome::{Failure, FailureKind, Mismatch, NoObserver, Observer, Outcome};
pub use plan::config;
