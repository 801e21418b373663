//! Replaying a plan against the live kernel.

pub mod state;
