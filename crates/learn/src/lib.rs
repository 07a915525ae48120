//! Predictive lead scoring: learn a model of conversion from any CSV of past leads, predict
//! calibrated probabilities with the top factors per lead, and evaluate any scorer (learned or
//! rule-based) on historical outcomes.
//!
//! This crate is sync and does no file I/O: data comes in through [`std::io::Read`] values and
//! models go out through [`std::io::Write`] values that the caller opened. Nothing here reads a
//! clock or the environment, and every random choice comes from the seed in [`TrainParams`], so
//! training the same data with the same seed gives the same model, byte for byte.
//!
//! Module map:
//! - `table`: CSV into typed columns; type inference (numeric, boolean, date, categorical,
//!   free text); missing-value tokens (`Select`, `NA`, `null`, empty…); the binary target.
//! - `encode`: the feature encoder fitted on training data (imputation, missing indicators,
//!   rare categories, one-hot and decile bins of numbers for the linear model, target-ordered
//!   codes for trees).
//! - `metrics`: ROC-AUC (rank statistic), PR-AUC, log-loss, Brier, ECE, reliability bins,
//!   deciles, per-group and per-segment reports.
//! - `logistic`: L2-regularised logistic regression fitted by Newton's method (L-BFGS for
//!   very wide designs).
//! - `gbm`: gradient-boosted trees (our histogram learner) with per-lead contributions.
//! - `shap`: exact per-lead Shapley values of a tree (TreeSHAP), for `predict --explain shap`.
//! - `delong`: DeLong's variance of the ROC-AUC: its 95% interval, and the paired test of
//!   two scorers' AUCs on the same leads.
//! - `calibrate`: Platt scaling and isotonic regression on out-of-fold predictions.
//! - `cv`: stratified, seeded folds.
//! - `leak`: columns that rank the outcome almost perfectly alone (filled in after it?).
//! - `overlap`: a sample of the training leads' ids in the model file, so an evaluation on
//!   leads the model was trained on says so.
//! - `evaluate`: a learned model or a rule model's scores against known outcomes.
//! - `suggest`: points for a rule model's rules from a regression on which rules fired, flags
//!   for rules that do not predict, tier thresholds for a sales share or a precision.
//! - `backtest`: two rule models on the same history: tier transitions, precision, recall,
//!   lift, and a warning when many more qualify but few convert.
//! - `report`: an evaluation as data, rendered as text or a self-contained HTML page.
//! - `model`: the versioned model file (schema, encoder, learner, calibrator, metrics, hash),
//!   training (`train`, with `auto` picking by cross-validated log-loss) and prediction.
//! - `decimal`: fixed-point number text, the standard formatter's bytes without its slow paths.
//! - `fast`: the parallel, allocation-free CSV-to-CSV prediction path behind [`predict_csv`].
//!
//! ```
//! use leadscore_learn::{Algo, TrainParams, read_table, train, TableOptions};
//! let mut csv = String::from("visits,source,won\n");
//! for i in 0..200 {
//!     let won = if i % 3 == 0 { "yes" } else { "no" };
//!     let source = if i % 3 == 0 { "ads" } else { "organic" };
//!     csv.push_str(&format!("{},{source},{won}\n", (i % 7) + if i % 3 == 0 { 5 } else { 0 }));
//! }
//! let opts = TableOptions { target: Some("won".into()), ..TableOptions::default() };
//! let table = read_table(csv.as_bytes(), "leads.csv", &opts).unwrap();
//! let params = TrainParams { algo: Algo::Logistic, ..TrainParams::default() };
//! let trained = train(&table, &params).unwrap();
//! let p = trained.model.predict_table(&table).unwrap();
//! assert!(p.probability[0] > 0.5 && p.probability[1] < 0.5);
//! ```

pub mod backtest;
pub mod calibrate;
pub mod cv;
mod decimal;
pub mod delong;
pub mod encode;
mod error;
pub mod evaluate;
mod fast;
pub mod gbm;
pub mod leak;
pub mod logistic;
pub mod metrics;
pub mod model;
pub mod overlap;
pub mod report;
pub mod shap;
pub mod suggest;
pub mod table;

pub use error::LearnError;
pub use model::{
    Algo, LearnedModel, Prediction, Step, TrainParams, Trained, predict_csv, train, train_with,
};
pub use table::{ColumnType, Table, TableOptions, read_table};
