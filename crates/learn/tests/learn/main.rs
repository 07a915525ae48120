//! The learn crate's one integration test binary. Where new tests go:
//! - `common`: synthetic data sets with a known answer.
//! - `gbm`: the boosted trees alone: known answers, missing values, contributions, threads.
//! - `train`: training both learners, `auto`, thin data, determinism, model files.
//! - `predict`: predictions, factors, unseen values, row order.
//! - `suggest`: points and flags from which rules fired, thresholds, back-tests.

mod common;
mod gbm;
mod predict;
mod suggest;
mod train;
