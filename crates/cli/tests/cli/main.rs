//! The CLI's one integration test binary: each test runs the real `leadscore` binary. Where new
//! tests go:
//! - `common`: running the binary, temp dirs, fixtures shared by the others.
//! - `generate`: `leadscore generate` (determinism, summary).
//! - `score`: `leadscore score` (outputs, formats, flags, summary line, `--as-of`).
//! - `explain`: `leadscore explain` (text and JSON breakdowns, unknown ids).
//! - `check`: `leadscore check` on the shipped examples and on broken models.
//! - `errors`: bad input files and flags: exit 1, `error: <path>:<line>:`, never a panic.
//! - `demo`: `leadscore demo` end to end.
//! - `learn`: `train`, `predict`, `evaluate` on the real X Education leads and on bad input.
//! - `service`: `leadscore serve` over HTTP on both stores (its `mod.rs` lists its parts).
//! - `suggest`: `suggest` and `backtest` on a hand-made history and on the X Education leads.

mod check;
mod common;
mod demo;
mod errors;
mod explain;
mod generate;
mod learn;
mod score;
mod service;
mod suggest;
