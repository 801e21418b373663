//! A history of runs: a folder of run records, one per run, that `netdrill
//! report` turns into a dashboard page, a digest and comparisons.
//!
//! - [`record`]: the record `netdrill run --record DIR` adds to a history (the
//!   whole [`crate::model::RunRecord`], with the suite's revision), written
//!   once, atomically, read-only;
//! - [`read`]: a folder (or one file) of records into [`run::Run`]s, reading
//!   defensively: fields a record lacks take defaults, fields it has that this
//!   netdrill does not know are ignored, and a file that cannot be read is
//!   reported by name and left out (never fatal). It reads the records of
//!   [`record`] and the documents `netdrill run --json --json-full` writes;
//! - [`run`]: a run as the history keeps it;
//! - [`analysis`]: what a history says, as plain functions of its runs:
//!   regressions and since when, fixes, flakes, the matrix of results and the
//!   durations that moved.
//!
//! The pages built on these are in [`crate::report`] (`dashboard`, `digest`,
//! `compare`).

pub mod analysis;
pub mod read;
pub mod record;
pub mod run;
