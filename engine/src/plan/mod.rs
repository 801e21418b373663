//! From an AST to a runnable plan: script options merged with the command
//! line, packet templates built for the IP version, static checks that
//! packetdrill makes while parsing ("semantic error: ...").

pub mod template;

pub use template::{Checks, PacketTemplate, TosCheck};
