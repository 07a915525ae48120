//! How sure an ROC-AUC is: DeLong's variance of the AUC (DeLong, DeLong & Clarke-Pearson,
//! 1988), from each lead's share of the pairs it wins (its "placement"), computed from
//! mid-ranks in one sort per score (Sun & Xu, 2014). It gives a 95% confidence interval for one
//! scorer's AUC, and, for two scorers of the same leads, for the difference of their AUCs
//! (paired: the two AUCs move together, so their difference is surer than either).

use serde::{Deserialize, Serialize};

/// The normal quantile of a two-sided 95% interval.
const Z95: f64 = 1.959_963_984_540_054;

/// An ROC-AUC with its 95% confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AucInterval {
    /// The AUC.
    pub auc: f64,
    /// DeLong's standard error.
    pub std_error: f64,
    /// 95% interval, clipped to [0, 1].
    pub low: f64,
    /// Upper end.
    pub high: f64,
}

/// The difference of two scorers' ROC-AUCs on the same leads (`b − a`), with its 95%
/// confidence interval and the two-sided p-value of "no difference".
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AucDifference {
    /// `auc(b) − auc(a)`.
    pub difference: f64,
    /// Its standard error (paired).
    pub std_error: f64,
    /// 95% interval.
    pub low: f64,
    /// Upper end.
    pub high: f64,
    /// Two-sided p-value (1 when both scorers rank every pair alike).
    pub p_value: f64,
}

/// Mid-ranks (1-based, ties share their mean rank) of `v`.
fn midranks(v: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut rank = vec![0.0; v.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i + 1;
        while j < order.len() && v[order[j]] == v[order[i]] {
            j += 1;
        }
        // Ranks i+1 ..= j share their mean.
        let mid = (i + j + 1) as f64 / 2.0;
        for &k in &order[i..j] {
            rank[k] = mid;
        }
        i = j;
    }
    rank
}

/// Each positive's share of negatives it outscores (ties half), and each negative's share of
/// positives that outscore it: their means are the AUC.
struct Placements {
    pos: Vec<f64>,
    neg: Vec<f64>,
}

fn placements(y: &[f64], score: &[f64]) -> Option<Placements> {
    let (p, n): (Vec<f64>, Vec<f64>) = {
        let p = y
            .iter()
            .zip(score)
            .filter(|(y, _)| **y > 0.5)
            .map(|(_, s)| *s)
            .collect();
        let n = y
            .iter()
            .zip(score)
            .filter(|(y, _)| **y <= 0.5)
            .map(|(_, s)| *s)
            .collect();
        (p, n)
    };
    let (m, k) = (p.len(), n.len());
    if m < 2 || k < 2 {
        return None;
    }
    let all: Vec<f64> = p.iter().chain(&n).copied().collect();
    let r_all = midranks(&all);
    let (r_pos, r_neg) = (midranks(&p), midranks(&n));
    Some(Placements {
        // Below a positive in all leads, less the positives below it: the negatives it beats.
        pos: (0..m).map(|i| (r_all[i] - r_pos[i]) / k as f64).collect(),
        neg: (0..k)
            .map(|j| 1.0 - (r_all[m + j] - r_neg[j]) / m as f64)
            .collect(),
    })
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// Sample covariance of `a` and `b` (equal lengths, at least two).
fn cov(a: &[f64], b: &[f64]) -> f64 {
    let (ma, mb) = (mean(a), mean(b));
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - ma) * (y - mb))
        .sum::<f64>()
        / (a.len() - 1) as f64
}

/// The AUC of `score` for outcomes `y` (1/0) with its 95% interval; `None` with fewer than
/// two leads of either outcome.
pub fn auc_interval(y: &[f64], score: &[f64]) -> Option<AucInterval> {
    let pl = placements(y, score)?;
    let auc = mean(&pl.pos);
    let var =
        cov(&pl.pos, &pl.pos) / pl.pos.len() as f64 + cov(&pl.neg, &pl.neg) / pl.neg.len() as f64;
    let se = var.max(0.0).sqrt();
    Some(AucInterval {
        auc,
        std_error: se,
        low: (auc - Z95 * se).max(0.0),
        high: (auc + Z95 * se).min(1.0),
    })
}

/// `auc(b) − auc(a)` on the same leads with its 95% interval and p-value; `None` with fewer
/// than two leads of either outcome.
pub fn auc_difference(y: &[f64], a: &[f64], b: &[f64]) -> Option<AucDifference> {
    let (pa, pb) = (placements(y, a)?, placements(y, b)?);
    let (m, k) = (pa.pos.len() as f64, pa.neg.len() as f64);
    let difference = mean(&pb.pos) - mean(&pa.pos);
    let var_of = |x: &Placements, z: &Placements| cov(&x.pos, &z.pos) / m + cov(&x.neg, &z.neg) / k;
    let var = var_of(&pa, &pa) + var_of(&pb, &pb) - 2.0 * var_of(&pa, &pb);
    let se = var.max(0.0).sqrt();
    let p_value = if se > 0.0 {
        libm::erfc((difference / se).abs() / std::f64::consts::SQRT_2)
    } else if difference == 0.0 {
        1.0
    } else {
        0.0
    };
    Some(AucDifference {
        difference,
        std_error: se,
        low: difference - Z95 * se,
        high: difference + Z95 * se,
        p_value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::roc_auc;

    #[test]
    fn midranks_share_ties() {
        assert_eq!(midranks(&[3.0, 1.0, 3.0, 2.0]), [3.5, 1.0, 3.5, 2.0]);
    }

    /// Hand-computed: positives scored 0.9, 0.6, 0.4; negatives 0.5, 0.3, 0.3, 0.1.
    /// Positive placements (negatives beaten): 4/4, 4/4, 3/4; negative placements (share of
    /// positives above): 2/3, 1, 1, 1. AUC = 11/12. Variances of the placements: positives
    /// s² = 1/48 (mean 11/12: deviations 1/12, 1/12, -2/12 → (1+1+4)/144 / 2), negatives
    /// s² = 1/36 (mean 11/12: -3/12, 1/12 ×3 → (9+3)/144 / 3); var = (1/48)/3 + (1/36)/4.
    #[test]
    fn a_small_case_matches_the_hand_computation() {
        let y = [1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0];
        let s = [0.9, 0.6, 0.4, 0.5, 0.3, 0.3, 0.1];
        let ci = auc_interval(&y, &s).unwrap();
        assert!((ci.auc - 11.0 / 12.0).abs() < 1e-15);
        assert_eq!(ci.auc, roc_auc(&y, &s));
        let var = (1.0 / 48.0) / 3.0 + (1.0 / 36.0) / 4.0;
        assert!((ci.std_error - f64::sqrt(var)).abs() < 1e-15, "{ci:?}");
        assert!((ci.low - (11.0 / 12.0 - Z95 * var.sqrt())).abs() < 1e-15);
        assert_eq!(ci.high, 1.0);
    }

    #[test]
    fn the_same_scores_differ_by_nothing_and_a_better_scorer_is_told_apart() {
        // 400 leads: `a` ranks by a noisy signal, `b` by a cleaner one sharing half of its
        // noise (two scorers of the same leads err alike).
        let n = 400;
        let mut state = 7u64;
        let mut noise = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 11) as f64 / (1u64 << 53) as f64) - 0.5
        };
        let y: Vec<f64> = (0..n).map(|i| f64::from(i % 3 == 0)).collect();
        let e: Vec<[f64; 2]> = (0..n).map(|_| [noise(), noise()]).collect();
        let a: Vec<f64> = y.iter().zip(&e).map(|(&v, e)| v * 0.3 + e[0]).collect();
        let b: Vec<f64> = y
            .iter()
            .zip(&e)
            .map(|(&v, e)| v * 0.45 + 0.5 * e[0] + 0.2 * e[1])
            .collect();
        let same = auc_difference(&y, &a, &a).unwrap();
        assert_eq!(
            (same.difference, same.std_error, same.p_value),
            (0.0, 0.0, 1.0)
        );
        let d = auc_difference(&y, &a, &b).unwrap();
        let (ia, ib) = (auc_interval(&y, &a).unwrap(), auc_interval(&y, &b).unwrap());
        assert!((d.difference - (ib.auc - ia.auc)).abs() < 1e-12);
        assert!(d.low > 0.0 && d.p_value < 1e-6, "{d:?}");
        // Reversed, the same test the other way.
        let r = auc_difference(&y, &b, &a).unwrap();
        assert!(
            (r.difference + d.difference).abs() < 1e-15 && (r.p_value - d.p_value).abs() < 1e-15
        );
        // Paired, the difference is surer than the two AUCs taken apart (their placements
        // move together).
        assert!(
            d.std_error < (ia.std_error.powi(2) + ib.std_error.powi(2)).sqrt(),
            "{d:?} {ia:?} {ib:?}"
        );
    }

    #[test]
    fn one_outcome_alone_has_no_interval() {
        assert_eq!(auc_interval(&[1.0, 1.0, 0.0], &[0.1, 0.2, 0.3]), None);
        assert_eq!(auc_difference(&[1.0, 0.0], &[0.1, 0.2], &[0.2, 0.1]), None);
    }
}
