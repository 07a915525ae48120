//! Gradient-boosted trees on the encoded columns, by forust-ml (pure Rust, log-loss, native
//! missing values, per-row contributions). Categories arrive as codes ordered by
//! conversion rate, so a split on a code is a split between better and worse values.

use crate::LearnError;
use crate::encode::Dense;
use forust_ml::gradientbooster::{ContributionsMethod, GrowPolicy, MissingNodeTreatment};
use forust_ml::metric::Metric;
use forust_ml::objective::ObjectiveType;
use forust_ml::sampler::SampleMethod;
use forust_ml::{GradientBooster, Matrix};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// Settings of the boosted trees (defaults follow LightGBM's).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GbmParams {
    /// Most trees; early stopping usually stops sooner.
    pub iterations: usize,
    /// Shrinkage per tree.
    pub learning_rate: f32,
    /// Leaves per tree (trees grow best-first).
    pub max_leaves: usize,
    /// Depth limit.
    pub max_depth: usize,
    /// L2 penalty on leaf weights.
    pub l2: f32,
    /// Least hessian (≈ rows × p(1-p)) in a leaf.
    pub min_leaf_weight: f32,
    /// Histogram bins per column.
    pub bins: u16,
    /// Stop when the validation log-loss has not improved for this many trees.
    pub early_stopping: usize,
    /// Threads (not stored: a model file does not depend on the machine that trained it).
    #[serde(skip)]
    pub threads: usize,
    /// Seed (only used if sampling is ever turned on; kept for the record).
    pub seed: u64,
}

impl Default for GbmParams {
    fn default() -> Self {
        GbmParams {
            iterations: 1000,
            learning_rate: 0.1,
            max_leaves: 31,
            max_depth: 12,
            l2: 1.0,
            min_leaf_weight: 2.0,
            bins: 255,
            early_stopping: 30,
            threads: 1,
            seed: 0,
        }
    }
}

/// A fitted booster.
#[derive(Serialize, Deserialize)]
#[serde(transparent)]
pub struct Gbm(GradientBooster);

impl std::fmt::Debug for Gbm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Gbm({} trees)", self.0.get_prediction_trees_len())
    }
}

trait TreeCount {
    fn get_prediction_trees_len(&self) -> usize;
}

impl TreeCount for GradientBooster {
    fn get_prediction_trees_len(&self) -> usize {
        self.prediction_iteration.unwrap_or(self.trees.len())
    }
}

fn booster(p: &GbmParams, iterations: usize, early: bool) -> Result<GradientBooster, LearnError> {
    GradientBooster::new(
        ObjectiveType::LogLoss,
        iterations,
        p.learning_rate,
        p.max_depth,
        p.max_leaves,
        0.0,
        p.l2,
        0.0,
        0.0,
        p.min_leaf_weight,
        0.5,
        p.bins,
        p.threads > 1,
        true,
        None,
        1.0,
        0.2,
        0.1,
        1.0,
        p.seed,
        f64::NAN,
        false,
        SampleMethod::None,
        GrowPolicy::LossGuide,
        early.then_some(Metric::LogLoss),
        early.then_some(p.early_stopping),
        true,
        HashSet::new(),
        MissingNodeTreatment::AssignToParent,
        0,
        false,
    )
    .map(|b| b.set_num_threads(Some(p.threads.max(1))))
    .map_err(|e| LearnError::Data(format!("boosted trees: {e}")))
}

impl Gbm {
    /// Fits with early stopping on `valid`; returns the booster and the trees it kept.
    pub fn fit_early(
        train: &Dense,
        y: &[f64],
        valid: &Dense,
        yv: &[f64],
        p: &GbmParams,
    ) -> Result<(Gbm, usize), LearnError> {
        let mut b = booster(p, p.iterations, true)?;
        let m = Matrix::new(&train.data, train.rows, train.cols);
        let mv = Matrix::new(&valid.data, valid.rows, valid.cols);
        let wv = vec![1.0; valid.rows];
        let w = vec![1.0; train.rows];
        b.fit(&m, y, &w, Some(vec![(mv, yv, &wv)]))
            .map_err(|e| LearnError::Data(format!("boosted trees: {e}")))?;
        // Drop what early stopping measured: it is not part of the model.
        b.evaluation_history = None;
        let n = b.get_prediction_trees_len();
        Ok((Gbm(b), n))
    }

    /// Fits exactly `iterations` trees.
    pub fn fit(
        train: &Dense,
        y: &[f64],
        iterations: usize,
        p: &GbmParams,
    ) -> Result<Gbm, LearnError> {
        let mut b = booster(p, iterations.max(1), false)?;
        let m = Matrix::new(&train.data, train.rows, train.cols);
        let w = vec![1.0; train.rows];
        b.fit(&m, y, &w, None)
            .map_err(|e| LearnError::Data(format!("boosted trees: {e}")))?;
        Ok(Gbm(b))
    }

    /// Trees used for prediction.
    pub fn trees(&self) -> usize {
        self.0.get_prediction_trees_len()
    }

    /// Log-odds per row.
    pub fn logits(&self, x: &Dense) -> Vec<f64> {
        let m = Matrix::new(&x.data, x.rows, x.cols);
        self.0.predict(&m, self.0.parallel)
    }

    /// Contributions per row: `cols + 1` values (the last is the base value), summing to the
    /// row's log-odds. They follow each row's path through every tree and credit each split's
    /// change of the (cover-weighted) node value to its column (Saabas; XGBoost's
    /// `approx_contribs`): exact Shapley values (TreeSHAP) were 1.5 ms per row here, this is
    /// linear in the depth.
    pub fn contributions(&self, x: &Dense) -> Vec<f64> {
        let m = Matrix::new(&x.data, x.rows, x.cols);
        self.0
            .predict_contributions(&m, ContributionsMethod::Average, self.0.parallel)
    }

    /// Threads to predict with (the trained value is not carried across machines).
    pub fn set_threads(&mut self, threads: usize) {
        self.0.parallel = threads > 1;
        self.0.num_threads = Some(threads.max(1));
    }
}
