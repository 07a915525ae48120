//! The batch crate's one integration test binary. Where new tests go:
//! - `common`: fixture files in temp dirs, models, jobs and runs shared by the others.
//! - `golden`: the shipped example models on small fixtures, exact output text and columns.
//! - `formats`: CSV and NDJSON inputs and outputs, account roll-ups, `Loaded::score_one`.
//! - `streaming`: thread counts, block sizes, event order, quoting across blocks, CRLF, BOM.
//! - `errors`: bad input files and the file, line and column their errors point at.
//! - `robustness`: property tests: random and mangled contacts and events files, tiny blocks,
//!   1–4 threads; never a panic, and every error names the file at fault.
//! - `real_data`: the X Education leads export (9240 real rows), checked against a plain
//!   re-implementation of the same rules.

mod common;
mod errors;
mod formats;
mod golden;
mod real_data;
mod robustness;
mod streaming;
