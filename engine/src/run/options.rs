//! What the caller of a run asks for beyond packetdrill's own flags.

/// How the caller wants a run to behave beyond packetdrill's own flags.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct RunOptions {
    /// The caller created this network namespace for this run alone and will
    /// destroy it: the engine may skip slow teardown (e.g. leave tun0 to die with
    /// the namespace instead of waiting for its close).
    pub namespace_is_ours: bool,
    /// Refuse to run in the host's initial network namespace unless set.
    pub allow_initial_namespace: bool,
    /// Keep the event loop at normal priority. By default, on machines with
    /// more than one CPU, the loop's threads run at the lowest real-time
    /// priority (as packetdrill does) so that a busy machine does not delay
    /// their wake-ups; its shell commands inherit it, as packetdrill's do,
    /// and its Python code does not (docs/engine/commands-and-code.md).
    #[serde(default)]
    pub no_realtime: bool,
    /// Which reaction relative times count from (docs/engine/time-and-tolerance.md,
    /// "Reaction time").
    #[serde(default)]
    pub reaction: super::reaction::Reaction,
}
