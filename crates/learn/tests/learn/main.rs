//! The learn crate's one integration test binary. Where new tests go:
//! - `common`: synthetic data sets with a known answer.
//! - `train`: training both learners, `auto`, thin data, determinism, model files.
//! - `predict`: predictions, factors, unseen values, row order.

mod common;
mod predict;
mod train;
