//! Calibration: turning a model's raw log-odds into probabilities that match observed rates.
//! Platt scaling fits `p = σ(a·z + b)`; isotonic regression fits a non-decreasing step
//! function (pool-adjacent-violators), interpolated between steps. Both are fitted on
//! out-of-fold predictions, and [`choose`] keeps the one with the lower cross-fitted log-loss.

use crate::cv::{split, stratified_folds};
use crate::metrics::{Log1pSum, log_loss};
use serde::{Deserialize, Serialize};

/// A map from raw log-odds to probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Calibrator {
    /// `p = σ(a·z + b)`.
    Platt {
        /// Slope.
        a: f64,
        /// Offset.
        b: f64,
    },
    /// Piecewise-linear through `(z[i], p[i])`, flat outside.
    Isotonic {
        /// Block centres in log-odds, increasing.
        z: Vec<f64>,
        /// Probabilities, non-decreasing.
        p: Vec<f64>,
    },
}

/// How calibration was chosen: out-of-fold log-loss of each option.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    /// The model's own probabilities, σ(z).
    pub uncalibrated: f64,
    /// After Platt scaling (cross-fitted).
    pub platt: f64,
    /// After isotonic regression (cross-fitted).
    pub isotonic: f64,
    /// The one kept: `platt` or `isotonic`.
    pub chosen: String,
}

pub(crate) fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

const FLOOR: f64 = 1e-4;

impl Calibrator {
    /// The probability for log-odds `z`.
    pub fn apply(&self, z: f64) -> f64 {
        match self {
            Calibrator::Platt { a, b } => sigmoid(a * z + b),
            Calibrator::Isotonic { z: xs, p } => {
                let i = xs.partition_point(|&x| x <= z);
                let v = if i == 0 {
                    p[0]
                } else if i == xs.len() {
                    p[p.len() - 1]
                } else {
                    let (x0, x1) = (xs[i - 1], xs[i]);
                    let t = (z - x0) / (x1 - x0);
                    p[i - 1] + t * (p[i] - p[i - 1])
                };
                v.clamp(FLOOR, 1.0 - FLOOR)
            }
        }
    }
}

/// Platt scaling by Newton's method, with Platt's smoothed targets
/// (`(N₊ + 1) / (N₊ + 2)` and `1 / (N₋ + 2)`) so separable scores do not blow up.
pub fn platt(z: &[f64], y: &[f64]) -> Calibrator {
    let npos = y.iter().filter(|&&v| v > 0.5).count() as f64;
    let nneg = y.len() as f64 - npos;
    let hi = (npos + 1.0) / (npos + 2.0);
    let lo = 1.0 / (nneg + 2.0);
    let t: Vec<f64> = y.iter().map(|&v| if v > 0.5 { hi } else { lo }).collect();
    // Loss, gradient and Hessian at (a, b) in one pass, one exponential per score.
    let eval = |a: f64, b: f64| {
        let (mut loss, mut ga, mut gb, mut haa, mut hab, mut hbb) =
            (-0.0, 0.0, 0.0, 1e-9, 0.0, 1e-9);
        // log(1 + e^u) - t u = max(u, 0) + log(1 + e^-|u|) - t u, without overflow.
        let mut logs = Log1pSum::new();
        for (&z, &t) in z.iter().zip(&t) {
            let u = a * z + b;
            let e = (-u.abs()).exp();
            loss += u.max(0.0) - t * u;
            if let Some(group) = logs.add(e) {
                loss += group;
            }
            let p = if u >= 0.0 {
                1.0 / (1.0 + e)
            } else {
                e / (1.0 + e)
            };
            let d = p - t;
            let w = p * (1.0 - p);
            ga += d * z;
            gb += d;
            haa += w * z * z;
            hab += w * z;
            hbb += w;
        }
        (loss + logs.rest(), [ga, gb, haa, hab, hbb])
    };
    let (mut a, mut b) = (1.0, 0.0);
    let mut at = eval(a, b);
    for _ in 0..100 {
        let (f0, [ga, gb, haa, hab, hbb]) = at;
        let det = haa * hbb - hab * hab;
        if det.abs() < 1e-300 {
            break;
        }
        let da = (hbb * ga - hab * gb) / det;
        let db = (haa * gb - hab * ga) / det;
        // Close to the optimum (the Newton decrement, twice the loss still to gain, is a
        // trillionth of a row's loss) the full step is taken and the fit ends: there a trial's
        // loss differs from `f0` by rounding alone, and comparing them only halves the step.
        if ga * da + gb * db <= 1e-12 * z.len() as f64 {
            a -= da;
            b -= db;
            break;
        }
        // Newton's step, halved until the loss goes down (plain Newton can overshoot).
        let mut step = 1.0;
        let mut trial = Some(eval(a - step * da, b - step * db));
        while step > 1e-6 && trial.is_some_and(|t| t.0 > f0) {
            step *= 0.5;
            trial = (step > 1e-6).then(|| eval(a - step * da, b - step * db));
        }
        a -= step * da;
        b -= step * db;
        if (step * da).abs() < 1e-10 && (step * db).abs() < 1e-10 {
            break;
        }
        at = trial.unwrap_or_else(|| eval(a, b));
    }
    Calibrator::Platt { a, b }
}

/// Isotonic regression of `y` on `z` by pool-adjacent-violators.
pub fn isotonic(z: &[f64], y: &[f64]) -> Calibrator {
    let order = ascending(z);
    pava(order.iter().map(|&i| (z[i], y[i])))
}

/// The indices of `z` by increasing value (ties by index).
fn ascending(z: &[f64]) -> Vec<usize> {
    // Sorted as (value, index) pairs: no indirection in the comparisons.
    let mut pairs: Vec<(f64, usize)> = z.iter().copied().zip(0..).collect();
    pairs.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    pairs.into_iter().map(|(_, i)| i).collect()
}

/// Pool-adjacent-violators over `(z, y)` pairs given by increasing `z`.
fn pava(sorted: impl Iterator<Item = (f64, f64)>) -> Calibrator {
    // Blocks: (sum z, sum y, count).
    let mut blocks: Vec<(f64, f64, f64)> = Vec::new();
    let mut sorted = sorted.peekable();
    while let Some((z0, y0)) = sorted.next() {
        // Equal scores form one block to begin with.
        let (mut sz, mut sy, mut n) = (0.0, 0.0, 0.0);
        let mut next = Some((z0, y0));
        while let Some((z, y)) = next {
            sz += z;
            sy += y;
            n += 1.0;
            next = sorted.next_if(|&(z, _)| z == z0);
        }
        blocks.push((sz, sy, n));
        while blocks.len() > 1 {
            let k = blocks.len();
            let (a, b) = (blocks[k - 2], blocks[k - 1]);
            if a.1 / a.2 >= b.1 / b.2 {
                blocks.pop();
                blocks[k - 2] = (a.0 + b.0, a.1 + b.1, a.2 + b.2);
            } else {
                break;
            }
        }
    }
    Calibrator::Isotonic {
        z: blocks.iter().map(|b| b.0 / b.2).collect(),
        p: blocks
            .iter()
            .map(|b| (b.1 / b.2).clamp(FLOOR, 1.0 - FLOOR))
            .collect(),
    }
}

/// Fits both calibrators on all of `z`, `y` and keeps the one whose 5-fold cross-fitted
/// log-loss is lower. Returns it, the choice, and its cross-fitted probabilities (honest
/// out-of-fold estimates for reporting).
pub fn choose(z: &[f64], y: &[f64], seed: u64) -> (Calibrator, Choice, Vec<f64>) {
    choose_with(z, y, seed, 1)
}

/// [`choose`] with the five folds' fits spread over `threads` (the result does not change).
pub fn choose_with(
    z: &[f64],
    y: &[f64],
    seed: u64,
    threads: usize,
) -> (Calibrator, Choice, Vec<f64>) {
    let folds = stratified_folds(y, 5, seed ^ 0x5ca1ab1e);
    // One sort serves every isotonic fit: a fold's training rows in score order are these
    // with the fold's own left out.
    let order = ascending(z);
    let mut pp = vec![0.0; z.len()];
    let mut pi = vec![0.0; z.len()];
    let fit = |f: usize| {
        let (train, valid) = split(&folds, f);
        if train.is_empty() || valid.is_empty() {
            return None;
        }
        let zt: Vec<f64> = train.iter().map(|&i| z[i]).collect();
        let yt: Vec<f64> = train.iter().map(|&i| y[i]).collect();
        let iso = pava(
            order
                .iter()
                .filter(|&&i| folds[i] != f)
                .map(|&i| (z[i], y[i])),
        );
        Some((platt(&zt, &yt), iso, valid))
    };
    // Six Platt fits of about the same cost: the five folds' and the one on every row (kept
    // if Platt wins), so two threads take three each.
    const JOBS: usize = 6;
    let job = |j: usize| {
        if j == 5 {
            Job::Whole(platt(z, y))
        } else {
            Job::Fold(fit(j))
        }
    };
    let jobs: Vec<Job> = if threads <= 1 {
        (0..JOBS).map(job).collect()
    } else {
        std::thread::scope(|s| {
            let per = JOBS.div_ceil(threads.min(JOBS));
            let handles: Vec<_> = (0..JOBS)
                .step_by(per)
                .map(|first| {
                    s.spawn(move || {
                        (first..(first + per).min(JOBS))
                            .map(job)
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("a calibration worker panicked"))
                .collect()
        })
    };
    let mut whole = None;
    for j in jobs {
        match j {
            Job::Fold(Some((cp, ci, valid))) => {
                for &i in &valid {
                    pp[i] = cp.apply(z[i]);
                    pi[i] = ci.apply(z[i]);
                }
            }
            Job::Fold(None) => {}
            Job::Whole(c) => whole = Some(c),
        }
    }
    let raw: Vec<f64> = z.iter().map(|&v| sigmoid(v)).collect();
    let (lp, li) = (log_loss(y, &pp), log_loss(y, &pi));
    let choice = Choice {
        uncalibrated: log_loss(y, &raw),
        platt: lp,
        isotonic: li,
        chosen: if li < lp { "isotonic" } else { "platt" }.into(),
    };
    if li < lp {
        (pava(order.iter().map(|&i| (z[i], y[i]))), choice, pi)
    } else {
        (whole.expect("the whole-data fit is a job"), choice, pp)
    }
}

/// A calibration job's result: a fold's Platt and isotonic fits and its validation rows (none
/// when the fold is empty), or the Platt fit on every row.
enum Job {
    Fold(Option<(Calibrator, Calibrator, Vec<usize>)>),
    Whole(Calibrator),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Skewed scores: the true probability is σ(z/3 - 2), the model claims σ(z).
    fn skewed() -> (Vec<f64>, Vec<f64>) {
        let mut x: u64 = 99;
        let mut u = || {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 11) as f64 / (1u64 << 53) as f64
        };
        let z: Vec<f64> = (0..4000).map(|_| u() * 12.0 - 6.0).collect();
        let y: Vec<f64> = z
            .iter()
            .map(|&z| (u() < sigmoid(z / 3.0 - 2.0)) as u8 as f64)
            .collect();
        (z, y)
    }

    #[test]
    fn calibration_improves_log_loss_on_a_skewed_set() {
        let (z, y) = skewed();
        let (cal, choice, oof) = choose(&z, &y, 1);
        assert!(choice.platt < choice.uncalibrated * 0.9, "{choice:?}");
        assert!(choice.isotonic < choice.uncalibrated * 0.9, "{choice:?}");
        assert!(log_loss(&y, &oof) < choice.uncalibrated);
        // The true map is itself a Platt map: a ≈ 1/3, b ≈ -2; Platt should win or tie.
        if let Calibrator::Platt { a, b } = cal {
            assert!(
                (a - 1.0 / 3.0).abs() < 0.06 && (b + 2.0).abs() < 0.2,
                "{a} {b}"
            );
        }
    }

    #[test]
    fn platt_ends_at_the_optimum_of_its_smoothed_targets() {
        let (z, y) = skewed();
        let Calibrator::Platt { a, b } = platt(&z, &y) else {
            panic!()
        };
        let npos = y.iter().sum::<f64>();
        let nneg = y.len() as f64 - npos;
        let (hi, lo) = ((npos + 1.0) / (npos + 2.0), 1.0 / (nneg + 2.0));
        let (mut ga, mut gb) = (0.0, 0.0);
        for (&z, &y) in z.iter().zip(&y) {
            let d = sigmoid(a * z + b) - if y > 0.5 { hi } else { lo };
            ga += d * z;
            gb += d;
        }
        let n = z.len() as f64;
        assert!(
            (ga / n).abs() < 1e-9 && (gb / n).abs() < 1e-9,
            "gradient ({ga}, {gb}) at a = {a}, b = {b}"
        );
    }

    #[test]
    fn isotonic_from_one_sort_matches_a_sort_per_fit() {
        // Ties (scores rounded to a tenth) and a fold's rows picked from the one order.
        let (z, y) = skewed();
        let z: Vec<f64> = z.iter().map(|v| (v * 10.0).round() / 10.0).collect();
        let order = ascending(&z);
        let keep = |i: usize| i % 5 != 2;
        let rows: Vec<usize> = (0..z.len()).filter(|&i| keep(i)).collect();
        let (zt, yt): (Vec<f64>, Vec<f64>) = rows.iter().map(|&i| (z[i], y[i])).unzip();
        let picked = pava(order.iter().filter(|&&i| keep(i)).map(|&i| (z[i], y[i])));
        assert_eq!(picked, isotonic(&zt, &yt));
        let Calibrator::Isotonic { z: bz, .. } = &picked else {
            panic!()
        };
        assert!(bz.windows(2).all(|w| w[0] < w[1]) && bz.len() > 3);
    }

    #[test]
    fn isotonic_is_monotone_and_pools_violators() {
        let z = [1.0, 2.0, 3.0, 4.0];
        let y = [0.0, 1.0, 0.0, 1.0];
        let Calibrator::Isotonic { z: bz, p } = isotonic(&z, &y) else {
            panic!()
        };
        // (2, 3) violate and pool to 0.5 at z = 2.5.
        assert_eq!(bz, [1.0, 2.5, 4.0]);
        assert_eq!(p, [FLOOR, 0.5, 1.0 - FLOOR]);
        let c = Calibrator::Isotonic { z: bz, p };
        assert_eq!(c.apply(3.25), 0.5 + 0.5 * (1.0 - FLOOR - 0.5));
        assert!(c.apply(-10.0) <= c.apply(2.0) && c.apply(2.0) <= c.apply(10.0));
    }

    #[test]
    fn threads_do_not_change_the_choice() {
        let (z, y) = skewed();
        assert_eq!(choose(&z, &y, 3), choose_with(&z, &y, 3, 2));
        assert_eq!(choose(&z, &y, 3), choose_with(&z, &y, 3, 5));
    }
}
