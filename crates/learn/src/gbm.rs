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

    /// The prediction trees flattened for the fast path, or `None` if missing values are not
    /// `NaN` (never, as trained here).
    pub(crate) fn compiled(&self) -> Option<Compiled> {
        if !self.0.missing.is_nan() {
            return None;
        }
        let n = self.0.get_prediction_trees_len();
        let trees = self.0.trees[..n]
            .iter()
            .map(|t| Flat {
                weights: t.distribute_leaf_weights(),
                nodes: t
                    .nodes
                    .iter()
                    .map(|n| FlatNode {
                        split: n.split_value,
                        feature: if n.is_leaf {
                            LEAF
                        } else {
                            n.split_feature as u32
                        },
                        left: n.left_child as u32,
                        right: n.right_child as u32,
                        missing: n.missing_node as u32,
                    })
                    .collect(),
            })
            .collect();
        Some(Compiled {
            base: self.0.base_score,
            trees,
        })
    }
}

const LEAF: u32 = u32::MAX;

#[derive(Clone, Copy)]
struct FlatNode {
    split: f64,
    feature: u32,
    left: u32,
    right: u32,
    missing: u32,
}

struct Flat {
    nodes: Vec<FlatNode>,
    /// forust's cover-weighted node values (`distribute_leaf_weights`).
    weights: Vec<f64>,
}

/// The booster's prediction trees in a compact form: 24-byte nodes and the cover-weighted
/// value of every node, for the contributions of one row at a time without allocation.
pub(crate) struct Compiled {
    base: f64,
    trees: Vec<Flat>,
}

impl Compiled {
    /// Contributions of one row (`row.len()` features; `contrib` has one more slot, the base
    /// value): the same sums in the same order as forust's `predict_contributions` with
    /// [`ContributionsMethod::Average`], so the same bits.
    pub(crate) fn contributions(&self, row: &[f64], contrib: &mut [f64]) {
        let nf = row.len();
        contrib.fill(0.0);
        contrib[nf] += self.base;
        for t in &self.trees {
            contrib[nf] += t.weights[0];
            let mut i = 0usize;
            loop {
                let n = t.nodes[i];
                if n.feature == LEAF {
                    break;
                }
                let f = n.feature as usize;
                let v = row[f];
                let child = if v.is_nan() {
                    n.missing
                } else if v < n.split {
                    n.left
                } else {
                    n.right
                } as usize;
                contrib[f] += t.weights[child] - t.weights[i];
                i = child;
            }
        }
    }
}
