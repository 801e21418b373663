//! From an AST to a runnable plan: packetdrill's flags, defines, IP version
//! and addresses ([`config`]: script option lines, then the command line),
//! and one packet template per packet event, built for the IP version with
//! the static checks packetdrill makes while parsing ("semantic error:
//! ..."; [`template`]).
//!
//! Imports `script` (the AST it reads), `packet` (the wire format it writes)
//! and `outcome`; `run` builds on it.

pub mod config;
pub mod template;

use crate::script::{Action, Diagnostic, Script};
use config::Config;
pub use template::{Checks, PacketTemplate, TosCheck};

/// What the runtime needs beyond the AST: one template per packet event.
#[derive(Debug)]
pub struct Plan {
    /// Indexed like `Script::events`; `None` for events that are not packets.
    templates: Vec<Option<PacketTemplate>>,
}

impl Plan {
    /// Build every packet of the script for the configured IP version. The
    /// first error is returned, as packetdrill stops at the first.
    pub fn build(script: &Script, config: &Config) -> Result<Plan, Diagnostic> {
        let ip = config.ip();
        let templates = script
            .events
            .iter()
            .map(|event| match &event.action {
                Action::Packet(spec) => PacketTemplate::build(spec, ip).map(Some),
                _ => Ok(None),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Plan { templates })
    }

    /// The template of the packet event at `index`.
    pub fn packet(&self, index: usize) -> Option<&PacketTemplate> {
        self.templates.get(index).and_then(|t| t.as_ref())
    }
}
