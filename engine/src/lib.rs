//! netdrill's engine: the packetdrill script language and runtime.
//!
//! A pipeline, one layer per stage; each layer imports only the layers
//! above it in this list, and no two files import each other
//! (`engine/tests/layers.rs` checks both):
//!
//! ```text
//! outcome   what a run produces: Outcome (pass | fail { kind, line, message,
//!           mismatch }), FailureKind, the Observer of a run
//! script    .pkt bytes -> tokens -> AST with spans (lexer, parser, printer,
//!           diagnostics, the names of packetdrill's flags)
//! packet    the wire: checked views over bytes and validated reprs (IPv4,
//!           IPv6, TCP and its options, UDP, ICMP, GRE, MPLS), flow identity
//!           (endpoints, tuples), packet dumps; imports nothing but outcome
//! plan      AST -> what runs: packetdrill's flags, defines, IP version and
//!           addresses (plan::config), packet templates, static checks
//! run       one clock, tun0 and the sniffer, socket tracking, verification
//!           of live packets, system calls, commands, code, teardown
//!           -> Outcome
//! ```
//!
//! The semantics each layer implements are described in `docs/engine/`.

pub mod outcome;
pub mod packet;
pub mod plan;
pub mod run;
pub mod script;

pub use config::{Addresses, CliFlag, Config, IpVersion};
pub use outcome::{Failure, FailureKind, Mismatch, NoObserver, Observer, Outcome};
pub use plan::config;
