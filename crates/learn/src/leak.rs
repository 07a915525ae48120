//! Columns that tell the outcome on their own. A column filled in once the outcome is known (a
//! deal stage, a sales note such as X Education's `Tags`) ranks past leads almost perfectly and
//! new leads not at all: a model trained with it looks excellent and fails in use. Each feature
//! is scored alone, out of fold: its rows grouped by value (a category's bucket, a number's bin,
//! missing), each group scored by the smoothed conversion rate of the same group in the other
//! folds; a column whose ROC-AUC alone reaches [`LEAK_AUC`] is named in a warning. Legitimate
//! single columns rarely come near it (on X Education the strongest, `Last Activity`, reaches
//! 0.72; `Tags` 0.92). Weaker leaks pass: X Education's `Lead Quality` (0.80) and UCI Bank
//! Marketing's call `duration` (0.82) are not named, as honest columns reach 0.75 there.

use crate::encode::{Cells, Encoder, Encoding, bin_of};
use crate::metrics::roc_auc_grouped;
use rayon::prelude::*;

/// A single column reaching this out-of-fold ROC-AUC is suspected of leaking the outcome.
pub const LEAK_AUC: f64 = 0.9;

/// Prior rows added to every group's rate (as the trees' category codes).
const SMOOTHING: f64 = 10.0;

/// Each feature's out-of-fold ROC-AUC alone, in feature order. `fold` gives each row's fold;
/// with `holdout`, only fold 0 is scored (from the other folds), else every fold is. Columns
/// are scored on `threads` threads (the result does not depend on it).
pub fn single_column_auc(
    encoder: &Encoder,
    cells: &[Cells],
    y: &[f64],
    fold: &[usize],
    holdout: bool,
    threads: usize,
) -> Vec<f64> {
    let folds = fold.iter().max().map_or(1, |&f| f + 1);
    let prior = y.iter().sum::<f64>() / y.len().max(1) as f64;
    let features: Vec<_> = encoder.features.iter().zip(cells).collect();
    crate::gbm::with_pool(threads, || {
        features
            .par_iter()
            .map(|&(f, c)| {
                // Every row's group (bucket, bin, or above/below the mean; missing and "no
                // bucket" last), counted per fold and group.
                let (groups, per) = match (&f.encoding, c) {
                    (Encoding::Levels { buckets, .. }, Cells::Buckets(b)) => {
                        let g = buckets.len();
                        (
                            g + 1,
                            count(y, fold, folds, g + 1, |r| (b[r] as usize).min(g)),
                        )
                    }
                    (Encoding::Number { cuts, mean, .. }, Cells::Numbers(v)) => {
                        let g = if cuts.is_empty() { 2 } else { cuts.len() + 1 };
                        let group = |r: usize| {
                            let x = v[r];
                            if x.is_nan() {
                                g
                            } else if cuts.is_empty() {
                                usize::from(x > *mean)
                            } else {
                                bin_of(cuts, x)
                            }
                        };
                        (g + 1, count(y, fold, folds, g + 1, group))
                    }
                    _ => unreachable!("cells come from this encoder"),
                };
                // And per group over all folds.
                let mut all = vec![(0.0, 0.0); groups];
                for (i, &(p, n)) in per.iter().enumerate() {
                    all[i % groups].0 += p;
                    all[i % groups].1 += n;
                }
                // Each scored fold's groups: the rate from the other folds, positives, negatives.
                let mut scored: Vec<(f64, f64, f64)> = per
                    .iter()
                    .enumerate()
                    .filter(|&(i, &(_, n))| n > 0.0 && (!holdout || i < groups))
                    .map(|(i, &(p, n))| {
                        let (tp, tn) = all[i % groups];
                        let rate = (tp - p + SMOOTHING * prior) / (tn - n + SMOOTHING);
                        (rate, p, n - p)
                    })
                    .collect();
                roc_auc_grouped(&mut scored)
            })
            .collect()
    })
}

/// Positives and rows per fold and group (`fold * groups + group`), each row's group from
/// `group`.
fn count(
    y: &[f64],
    fold: &[usize],
    folds: usize,
    groups: usize,
    group: impl Fn(usize) -> usize,
) -> Vec<(f64, f64)> {
    let mut per = vec![(0.0, 0.0); folds * groups];
    for (r, (&yr, &fr)) in y.iter().zip(fold).enumerate() {
        let e = &mut per[fr * groups + group(r)];
        e.0 += yr;
        e.1 += 1.0;
    }
    per
}

/// The features whose AUC alone (from [`single_column_auc`]) reaches [`LEAK_AUC`], with it.
pub fn suspects(encoder: &Encoder, auc: &[f64]) -> Vec<(String, f64)> {
    encoder
        .features
        .iter()
        .zip(auc)
        .filter(|(_, a)| **a >= LEAK_AUC)
        .map(|(f, a)| (f.name.clone(), *a))
        .collect()
}

/// The warning naming a suspect.
pub fn warning(name: &str, auc: f64) -> String {
    format!(
        "column `{name}` alone ranks converted leads with an out-of-fold ROC-AUC of {auc:.2}: \
         if it is filled in once the outcome is known (a stage, a status, a sales note), \
         it leaks the outcome and the model will fail on new leads; leave it out of training if so"
    )
}
