//! The core's one integration test binary. Where new tests go:
//! - `examples`: golden tests of the shipped example models on fixed inputs, exact scores.
//! - `rules`: every rule kind, decay, caps, windows, segments, disqualification, matrix,
//!   percentile routing, account roll-up, named scores.
//! - `errors`: model-file errors and the line/column they point at.
//! - `robustness`: property tests: random and mutated model files, attribute values and
//!   events never panic, and errors point at the file, line or field at fault.

mod common;
mod errors;
mod examples;
mod robustness;
mod rules;
