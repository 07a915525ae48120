//! Proposing points for a rule model from history: a regularised logistic regression of the
//! outcome on what each rule added (1 when a plain rule fired), its coefficients scaled to
//! integer points, a standard error per coefficient from the Hessian, flags for rules that do
//! not predict, and tier thresholds that reach a sales share or a precision.
//!
//! The rule scores come in as numbers (which rule fired for which lead); this module knows
//! nothing of model files or of scoring.

use crate::LearnError;
use crate::encode::Sparse;
use crate::logistic::{self, LogisticParams};
use serde::Serialize;

/// Settings of [`suggest_points`].
#[derive(Debug, Clone, Copy)]
pub struct SuggestParams {
    /// L2 strength of the regression (scikit-learn's `1 / C`).
    pub lambda: f64,
    /// Coefficients with |z| below this are flagged as not distinguishable from 0.
    pub min_z: f64,
    /// The points the largest absolute coefficient maps to (the others scale with it).
    pub max_points: i64,
}

impl Default for SuggestParams {
    fn default() -> Self {
        SuggestParams {
            lambda: 1.0,
            min_z: 2.0,
            max_points: 10,
        }
    }
}

/// Why a rule's points are not to be trusted as they stand.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "flag")]
pub enum Flag {
    /// No lead of the history fired it: there is nothing to learn from, its points are kept.
    NeverFires,
    /// Every lead fired it: it moves every score alike and ranks nobody; its points are kept.
    FiresForAll,
    /// Its coefficient is within `min_z` standard errors of 0.
    NotSignificant {
        /// Coefficient over its standard error.
        z: f64,
    },
    /// Its leads convert no better than the base rate (no worse, for a negative rule).
    NoBetterThanBase,
}

impl std::fmt::Display for Flag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Flag::NeverFires => f.write_str("never fires"),
            Flag::FiresForAll => f.write_str("fires for every lead"),
            Flag::NotSignificant { z } => write!(f, "not significant (|z| = {:.1})", z.abs()),
            Flag::NoBetterThanBase => f.write_str("converts no better than the base rate"),
        }
    }
}

/// What the history says about one rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleEvidence {
    /// Points now.
    pub points: i64,
    /// Points proposed.
    pub proposed: i64,
    /// Log-odds per unit of the rule's feature (per firing for a plain rule).
    pub coefficient: f64,
    /// Its standard error (from the inverse Hessian of the penalised log-likelihood).
    pub std_error: f64,
    /// `coefficient / std_error`.
    pub z: f64,
    /// Leads that fired the rule.
    pub fired: usize,
    /// Conversion rate of those (`None` when none fired).
    pub rate_fired: Option<f64>,
    /// Conversion rate of the others (`None` when all fired).
    pub rate_not_fired: Option<f64>,
    /// Reasons to doubt the rule; empty when it predicts.
    pub flags: Vec<Flag>,
}

/// The regression and the points it proposes, one entry per rule (column of the features).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggestion {
    /// Leads.
    pub rows: usize,
    /// Conversion rate of all leads.
    pub base_rate: f64,
    /// The regression's intercept.
    pub intercept: f64,
    /// Log-odds per point of the proposed points (`max |coefficient| / max_points`).
    pub log_odds_per_point: f64,
    /// Per rule, in column order.
    pub rules: Vec<RuleEvidence>,
}

/// Fits the outcome `y` (1/0) on the rule features `x` (one column per rule: what the rule
/// added over its points as written, so 1 when a plain rule fired and 0 when it did not) and
/// proposes integer points: each coefficient times `max_points / max |coefficient|`, rounded,
/// sign kept. Rules that never fire or fire for every lead keep `current` points.
pub fn suggest_points(
    x: &Sparse,
    y: &[f64],
    current: &[i64],
    params: &SuggestParams,
) -> Result<Suggestion, LearnError> {
    let (n, d) = (x.rows(), x.terms);
    if n != y.len() || current.len() != d {
        return Err(LearnError::Data(format!(
            "{n} rows of rule features for {} outcomes, {d} rules for {} points",
            y.len(),
            current.len()
        )));
    }
    let positives = y.iter().filter(|&&v| v > 0.5).count();
    if positives == 0 || positives == n {
        return Err(LearnError::Data(
            "the history has one outcome only: nothing to learn points from".into(),
        ));
    }
    if params.lambda.is_nan() || params.lambda <= 0.0 {
        return Err(LearnError::Data(
            "the regularisation strength must be above 0".into(),
        ));
    }
    let lp = LogisticParams {
        lambda: params.lambda,
        max_iter: 1000,
        tol: 1e-9,
        threads: 1,
    };
    let (fit, _) = logistic::fit(x, y, lp, None);
    let se = std_errors(x, &fit.logits(x), params.lambda);
    let base_rate = positives as f64 / n as f64;

    let mut fired = vec![0usize; d];
    let mut conv = vec![0.0f64; d];
    for (r, &yr) in y.iter().enumerate() {
        for (j, v) in x.row(r) {
            if v != 0.0 {
                fired[j] += 1;
                conv[j] += yr;
            }
        }
    }
    let total_conv = positives as f64;
    let usable = |j: usize| fired[j] > 0 && fired[j] < n;
    let largest = (0..d)
        .filter(|&j| usable(j))
        .map(|j| fit.weights[j].abs())
        .fold(0.0f64, f64::max);
    let scale = if largest > 0.0 {
        params.max_points as f64 / largest
    } else {
        0.0
    };
    let rules = (0..d)
        .map(|j| {
            let w = fit.weights[j];
            let z = w / se[j];
            let rate_fired = (fired[j] > 0).then(|| conv[j] / fired[j] as f64);
            let rate_not_fired =
                (fired[j] < n).then(|| (total_conv - conv[j]) / (n - fired[j]) as f64);
            let mut flags = Vec::new();
            if fired[j] == 0 {
                flags.push(Flag::NeverFires);
            } else if fired[j] == n {
                flags.push(Flag::FiresForAll);
            } else {
                // A NaN z (no standard error) is not significant either.
                if z.is_nan() || z.abs() < params.min_z {
                    flags.push(Flag::NotSignificant { z });
                }
                let sign = if current[j] != 0 {
                    current[j].signum()
                } else if w >= 0.0 {
                    1
                } else {
                    -1
                };
                let r = rate_fired.unwrap_or(base_rate);
                if (sign > 0 && r <= base_rate) || (sign < 0 && r >= base_rate) {
                    flags.push(Flag::NoBetterThanBase);
                }
            }
            let proposed = if usable(j) && scale > 0.0 {
                (w * scale).round() as i64
            } else {
                current[j]
            };
            RuleEvidence {
                points: current[j],
                proposed,
                coefficient: w,
                std_error: se[j],
                z,
                fired: fired[j],
                rate_fired,
                rate_not_fired,
                flags,
            }
        })
        .collect();
    Ok(Suggestion {
        rows: n,
        base_rate,
        intercept: fit.intercept,
        log_odds_per_point: if scale > 0.0 { 1.0 / scale } else { 0.0 },
        rules,
    })
}

/// Standard errors of the weights: the square roots of the diagonal of the inverse of the
/// penalised log-likelihood's Hessian `Σ p(1−p) x xᵀ + λ I` (intercept unpenalised).
fn std_errors(x: &Sparse, logits: &[f64], lambda: f64) -> Vec<f64> {
    let d = x.terms + 1;
    let mut h = vec![vec![0.0f64; d]; d];
    for (r, &z) in logits.iter().enumerate() {
        let p = 1.0 / (1.0 + (-z).exp());
        let w = p * (1.0 - p);
        let row: Vec<(usize, f64)> = std::iter::once((0, 1.0))
            .chain(x.row(r).map(|(j, v)| (j + 1, v)))
            .collect();
        for &(a, va) in &row {
            for &(b, vb) in &row {
                h[a][b] += w * va * vb;
            }
        }
    }
    for (j, hj) in h.iter_mut().enumerate().skip(1) {
        hj[j] += lambda;
    }
    match invert(h) {
        Some(inv) => (1..d).map(|j| inv[j][j].max(0.0).sqrt()).collect(),
        None => vec![f64::NAN; d - 1],
    }
}

/// Gauss–Jordan inversion with partial pivoting; `None` when the matrix is singular.
fn invert(mut a: Vec<Vec<f64>>) -> Option<Vec<Vec<f64>>> {
    let n = a.len();
    let mut inv: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..n).map(|j| f64::from(u8::from(i == j))).collect())
        .collect();
    for c in 0..n {
        let p = (c..n).max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))?;
        if a[p][c].abs() < 1e-12 {
            return None;
        }
        a.swap(c, p);
        inv.swap(c, p);
        let d = a[c][c];
        for j in 0..n {
            a[c][j] /= d;
            inv[c][j] /= d;
        }
        for i in 0..n {
            if i != c {
                let f = a[i][c];
                if f != 0.0 {
                    for j in 0..n {
                        a[i][j] -= f * a[c][j];
                        inv[i][j] -= f * inv[c][j];
                    }
                }
            }
        }
    }
    Some(inv)
}

/// A threshold among the scores and what it does on history.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Threshold {
    /// Leads with `score ≥ value` (and eligible) pass.
    pub value: f64,
    /// How many pass.
    pub passing: usize,
    /// Their share of all leads.
    pub share: f64,
    /// Their conversion rate.
    pub precision: f64,
}

/// Every distinct score from the highest down, with the eligible leads at or above it.
fn cuts(score: &[f64], eligible: &[bool], y: &[f64]) -> Vec<Threshold> {
    let mut order: Vec<usize> = (0..score.len()).filter(|&i| eligible[i]).collect();
    order.sort_by(|&a, &b| score[b].total_cmp(&score[a]));
    let n = score.len().max(1) as f64;
    let (mut count, mut conv) = (0usize, 0.0);
    let mut out: Vec<Threshold> = Vec::new();
    for (k, &i) in order.iter().enumerate() {
        count += 1;
        conv += y[i];
        if order.get(k + 1).is_none_or(|&next| score[next] != score[i]) {
            out.push(Threshold {
                value: score[i],
                passing: count,
                share: count as f64 / n,
                precision: conv / count as f64,
            });
        }
    }
    out
}

/// The threshold (one of the scores) that lets the share of leads nearest `share` pass: the
/// top `share` of leads by score become sales-ready. `eligible` leaves out leads that cannot
/// qualify whatever their score (disqualified ones); they still count in the share's
/// denominator. At equal distance, the higher threshold.
pub fn threshold_for_share(
    score: &[f64],
    eligible: &[bool],
    y: &[f64],
    share: f64,
) -> Option<Threshold> {
    let mut best: Option<Threshold> = None;
    for t in cuts(score, eligible, y) {
        if best.is_none_or(|b| (t.share - share).abs() < (b.share - share).abs()) {
            best = Some(t);
        }
    }
    best
}

/// The lowest threshold (one of the scores) at which the leads passing convert at `precision`
/// or more; `None` when no threshold does.
pub fn threshold_for_precision(
    score: &[f64],
    eligible: &[bool],
    y: &[f64],
    precision: f64,
) -> Option<Threshold> {
    cuts(score, eligible, y)
        .into_iter()
        .rfind(|t| t.precision >= precision)
}

/// The share of all leads that are eligible and score `value` or more: what a tier holds now,
/// to keep that share when the scores change.
pub fn share_at(score: &[f64], eligible: &[bool], value: f64) -> f64 {
    let n = score.len().max(1) as f64;
    score
        .iter()
        .zip(eligible)
        .filter(|(s, e)| **e && **s >= value)
        .count() as f64
        / n
}
