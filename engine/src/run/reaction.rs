//! The reaction model (docs/engine/time-and-tolerance.md, "Reaction time"):
//! when packetdrill would be done with a step, so that the next relative
//! time is anchored where packetdrill would anchor it.
//!
//! A relative time counts from the moment the previous event finished. The
//! engine finishes an outbound step sooner than packetdrill does, and scripts
//! are tuned against packetdrill's moment. So after each outbound step the
//! model computes, from the kernel timestamps of the frames the step sniffed,
//! when packetdrill would have finished it; the next relative event is
//! anchored at the later of that moment and now. This moves the anchor only:
//! the engine never spins or sleeps longer than the script asks.

use crate::script::Micros;

/// Which reaction relative times count from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reaction {
    /// packetdrill's, as modelled from its measured costs: the default
    /// wherever packetdrill's verdict is the contract.
    #[default]
    Packetdrill,
    /// The engine's own: the next event counts from when the engine was done.
    Immediate,
}

impl Reaction {
    pub fn parse(text: &str) -> Option<Reaction> {
        match text {
            "packetdrill" => Some(Reaction::Packetdrill),
            "immediate" => Some(Reaction::Immediate),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Reaction::Packetdrill => "packetdrill",
            Reaction::Immediate => "immediate",
        }
    }
}

/// packetdrill's cost for the first outbound step after any other step, from
/// the kernel timestamp of a frame that was already waiting (or from the
/// start of the step, whichever is later) to when it is done with it.
pub const FIRST_FRAME_USECS: Micros = 45;
/// Its cost for each further frame already waiting, in the same step or in
/// the outbound steps that follow one another.
pub const NEXT_FRAME_USECS: Micros = 25;
/// Its cost for a frame it had to wait for: the wake-up of its sniffing
/// thread, then the same work.
pub const WAKE_UP_USECS: Micros = 100;

/// Its cost, on top of the frame's, when a step takes more frames than any
/// step before it in the script, and at least two: packetdrill keeps every
/// frame of a step in its own 64 kB buffer until the step is done, so such a
/// step grows its heap (memory it locks page by page) to a new high-water
/// mark; steps that fit under the mark reuse the memory.
pub const HEAP_GROWTH_USECS: Micros = 140;

/// How long before an event's time the engine stops sleeping. packetdrill
/// stops sleeping 20 µs before and spins the rest; the engine does not spin,
/// and its wake-up latency on a small VM is about as long, so the event
/// starts near its time instead of a wake-up late.
pub const WAKE_EARLY_USECS: Micros = 10;

/// When packetdrill would be done with the steps so far.
#[derive(Clone, Debug)]
pub struct ReactionModel {
    kind: Reaction,
    /// packetdrill's modelled end of the last step, when that step was an
    /// outbound packet (script microseconds).
    ready: Option<Micros>,
    /// The most frames one outbound step took so far in the script: the
    /// heap's high-water mark, in frames.
    most_frames: usize,
}

impl ReactionModel {
    pub fn new(kind: Reaction) -> Self {
        ReactionModel {
            kind,
            ready: None,
            most_frames: 1,
        }
    }

    /// An outbound step is done. `began`: when the step began sniffing;
    /// `frames`: the kernel timestamps of the frames it took, in order (all
    /// script microseconds).
    pub fn outbound_done(&mut self, began: Micros, frames: &[Micros]) {
        if self.kind == Reaction::Immediate {
            return;
        }
        // packetdrill begins this step when it is done with the previous one.
        let mut first = self.ready.is_none();
        let mut t = self.ready.map_or(began, |r| r.max(began));
        for (i, &frame) in frames.iter().enumerate() {
            t = if frame > t {
                frame + WAKE_UP_USECS
            } else if first {
                t + FIRST_FRAME_USECS
            } else {
                t + NEXT_FRAME_USECS
            };
            if i == self.most_frames {
                t += HEAP_GROWTH_USECS;
            }
            first = false;
        }
        self.ready = Some(t);
        self.most_frames = self.most_frames.max(frames.len());
    }

    /// Any other step (inbound packet, system call, command, code) is done:
    /// packetdrill's cost for those is the engine's, within a few µs.
    pub fn other_done(&mut self) {
        self.ready = None;
    }

    /// The anchor of the next relative time, given the engine's now.
    pub fn anchor(&self, now: Micros) -> Micros {
        self.ready.map_or(now, |ready| ready.max(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn immediate_anchors_at_now() {
        let mut m = ReactionModel::new(Reaction::Immediate);
        m.outbound_done(1000, &[990]);
        assert_eq!(m.anchor(1010), 1010);
    }

    #[test]
    fn a_waiting_frame_costs_the_first_frame_cost() {
        let mut m = ReactionModel::new(Reaction::Packetdrill);
        // The frame left during the write, before the step began sniffing.
        m.outbound_done(1000, &[995]);
        assert_eq!(m.anchor(1010), 1000 + FIRST_FRAME_USECS);
        // A later now wins: the model never pulls the anchor back.
        assert_eq!(m.anchor(5000), 5000);
    }

    #[test]
    fn a_burst_of_waiting_frames_adds_up_over_consecutive_steps() {
        let mut m = ReactionModel::new(Reaction::Packetdrill);
        for _ in 0..5 {
            m.outbound_done(1000, &[990]);
        }
        assert_eq!(
            m.anchor(1000),
            1000 + FIRST_FRAME_USECS + 4 * NEXT_FRAME_USECS
        );
        // Fragments of one step cost the same, and the heap growth for
        // holding them all at once (the script's first step of five).
        let mut one = ReactionModel::new(Reaction::Packetdrill);
        one.outbound_done(1000, &[990, 991, 992, 993, 994]);
        assert_eq!(one.anchor(1000), m.anchor(1000) + HEAP_GROWTH_USECS);
    }

    #[test]
    fn a_second_frame_in_one_step_grows_the_heap_once() {
        let mut two = ReactionModel::new(Reaction::Packetdrill);
        two.outbound_done(1000, &[990, 995]);
        assert_eq!(
            two.anchor(1000),
            1000 + FIRST_FRAME_USECS + NEXT_FRAME_USECS + HEAP_GROWTH_USECS
        );
        // A second frame that comes later: the growth follows its wake-up.
        let mut late = ReactionModel::new(Reaction::Packetdrill);
        late.outbound_done(1000, &[990, 5000]);
        assert_eq!(late.anchor(1000), 5000 + WAKE_UP_USECS + HEAP_GROWTH_USECS);
        // A third frame that comes after all that: only its wake-up.
        let mut three = ReactionModel::new(Reaction::Packetdrill);
        three.outbound_done(1000, &[990, 995, 9000]);
        assert_eq!(three.anchor(1000), 9000 + WAKE_UP_USECS);
    }

    #[test]
    fn the_heap_grows_only_past_its_high_water_mark() {
        let mut m = ReactionModel::new(Reaction::Packetdrill);
        let two_frames = FIRST_FRAME_USECS + NEXT_FRAME_USECS;
        m.outbound_done(1000, &[990, 995]);
        assert_eq!(m.anchor(1000), 1000 + two_frames + HEAP_GROWTH_USECS);
        m.other_done();
        // Two frames again: the memory is there.
        m.outbound_done(50_000, &[49_990, 49_995]);
        assert_eq!(m.anchor(50_000), 50_000 + two_frames);
        m.other_done();
        // Four: it grows again, at the third frame.
        m.outbound_done(90_000, &[89_990, 89_991, 89_992, 89_993]);
        assert_eq!(
            m.anchor(90_000),
            90_000 + two_frames + 2 * NEXT_FRAME_USECS + HEAP_GROWTH_USECS
        );
        m.other_done();
        // One frame never grows it.
        m.outbound_done(120_000, &[119_990]);
        assert_eq!(m.anchor(120_000), 120_000 + FIRST_FRAME_USECS);
    }

    #[test]
    fn a_frame_waited_for_costs_a_wake_up() {
        let mut m = ReactionModel::new(Reaction::Packetdrill);
        m.outbound_done(1000, &[200_000]);
        assert_eq!(m.anchor(200_030), 200_000 + WAKE_UP_USECS);
    }

    #[test]
    fn other_steps_reset_the_model() {
        let mut m = ReactionModel::new(Reaction::Packetdrill);
        m.outbound_done(1000, &[990]);
        m.other_done();
        assert_eq!(m.anchor(1001), 1001);
        // The next outbound step is a first frame again.
        m.outbound_done(2000, &[1990]);
        assert_eq!(m.anchor(2000), 2000 + FIRST_FRAME_USECS);
    }

    #[test]
    fn names_round_trip() {
        for r in [Reaction::Packetdrill, Reaction::Immediate] {
            assert_eq!(Reaction::parse(r.as_str()), Some(r));
        }
        assert_eq!(Reaction::parse("fast"), None);
        assert_eq!(Reaction::default(), Reaction::Packetdrill);
    }
}
