//! The boosted trees on their own: known answers for a stump, where missing values go,
//! contributions that add up, the same bits at any thread count, early stopping.

use crate::common::Lcg;
use leadscore_learn::encode::Dense;
use leadscore_learn::gbm::{Explain, Gbm, GbmParams};

fn dense(cols: &[Vec<f64>]) -> Dense {
    Dense {
        rows: cols[0].len(),
        cols: cols.len(),
        data: cols.concat(),
    }
}

fn stump() -> GbmParams {
    GbmParams {
        max_leaves: 2,
        learning_rate: 1.0,
        l2: 1.0,
        min_leaf_rows: 1,
        ..GbmParams::default()
    }
}

#[test]
fn a_stump_on_a_separable_set_has_the_newton_leaf_values() {
    // 40 rows: x = 1, 2, 3, 4 ten times each; converted exactly when x > 2.
    let x: Vec<f64> = (0..40).map(|i| (i % 4 + 1) as f64).collect();
    let y: Vec<f64> = x.iter().map(|&v| f64::from(v > 2.0)).collect();
    let g = Gbm::fit(&dense(&[x]), &y, 1, &stump()).unwrap();
    assert_eq!(g.base, 0.0, "half converted: even odds");
    let t = &g.trees[0];
    assert_eq!(t.nodes.len(), 3);
    let (root, l, r) = (t.nodes[0], t.nodes[1], t.nodes[2]);
    assert_eq!((root.feature, root.threshold, root.left), (0, 2.5, 1));
    // At p = 1/2 each row has gradient p - y = ±1/2 and hessian 1/4: a side of 20 rows has
    // G = ±10 and H = 5, so its value is -G / (H + l2) = ∓10/6.
    assert_eq!(l.value, -10.0 / 6.0);
    assert_eq!(r.value, 10.0 / 6.0);
    // Equal covers: the root's expected value is their mean.
    assert_eq!(root.value, 0.0);
    assert_eq!(
        g.logits(&dense(&[vec![0.0, 2.4, 2.6, 99.0]])),
        vec![-10.0 / 6.0, -10.0 / 6.0, 10.0 / 6.0, 10.0 / 6.0]
    );
}

#[test]
fn a_split_learns_where_missing_values_go() {
    // Missing x converts like high x; without learning a direction the stump would put them
    // with the low values.
    let mut x = Vec::new();
    let mut y = Vec::new();
    for i in 0..60 {
        let (v, won) = match i % 3 {
            0 => (1.0, 0.0),
            1 => (5.0, 1.0),
            _ => (f64::NAN, 1.0),
        };
        x.push(v);
        y.push(won);
    }
    let g = Gbm::fit(&dense(&[x]), &y, 1, &stump()).unwrap();
    let root = g.trees[0].nodes[0];
    assert_eq!(root.threshold, 3.0);
    assert!(!root.missing_left, "missing goes with the converting side");
    let z = g.logits(&dense(&[vec![f64::NAN, 1.0, 5.0]]));
    assert_eq!(z[0], z[2]);
    assert!(z[0] > 0.0 && z[1] < 0.0, "{z:?}");
}

/// `n` rows of three columns (one with missing values) and a noisy label.
fn noisy(n: usize, seed: u64) -> (Dense, Vec<f64>) {
    let mut r = Lcg(seed);
    let (mut a, mut b, mut c, mut y) = (vec![], vec![], vec![], vec![]);
    for _ in 0..n {
        let (u, v, w) = (r.next(), (r.next() * 7.0).floor(), r.next());
        let z = 3.0 * (u - 0.5) + if v > 3.0 { 1.0 } else { -0.5 } + (w * 6.0).sin();
        a.push(u);
        b.push(v);
        c.push(if r.next() < 0.1 { f64::NAN } else { w });
        y.push(f64::from(r.next() < 1.0 / (1.0 + (-z).exp())));
    }
    (dense(&[a, b, c]), y)
}

#[test]
fn contributions_add_up_to_the_log_odds() {
    let (x, y) = noisy(3000, 3);
    let g = Gbm::fit(&x, &y, 25, &GbmParams::default()).unwrap();
    let z = g.logits(&x);
    let c = g.contributions(&x);
    for r in 0..x.rows {
        let row = &c[r * 4..(r + 1) * 4];
        let sum: f64 = row.iter().sum();
        assert!((sum - z[r]).abs() < 1e-9, "row {r}: {sum} vs {}", z[r]);
    }
    // The base slot is the same for every row: the base plus every root's expected value.
    let base = g.base + g.trees.iter().map(|t| t.nodes[0].value).sum::<f64>();
    assert!((c[3] - base).abs() < 1e-12 && (c[7] - base).abs() < 1e-12);
}

#[test]
fn threads_do_not_change_a_single_bit() {
    // More rows than one histogram block, so the blocks are summed in parallel.
    let (x, y) = noisy(70_000, 11);
    let p = GbmParams {
        threads: 1,
        ..GbmParams::default()
    };
    let one = Gbm::fit(&x, &y, 8, &p).unwrap();
    let two = Gbm::fit(&x, &y, 8, &GbmParams { threads: 2, ..p }).unwrap();
    assert!(one == two, "two threads grew different trees");
    assert_eq!(one.trees.len(), 8);
    assert!(one.trees.iter().all(|t| t.nodes.len() == 2 * 31 - 1));
}

#[test]
fn early_stopping_keeps_the_best_validation_round() {
    // A label with no relation to the inputs: validation loss stops improving almost at once.
    let (x, _) = noisy(4000, 5);
    let mut r = Lcg(99);
    let y: Vec<f64> = (0..4000).map(|_| f64::from(r.next() < 0.3)).collect();
    let (xt, xv) = (
        x.select(&(0..3000).collect::<Vec<_>>()),
        x.select(&(3000..4000).collect::<Vec<_>>()),
    );
    let p = GbmParams {
        early_stopping: 10,
        ..GbmParams::default()
    };
    let (g, kept, _) = Gbm::fit_early(&xt, &y[..3000], &xv, &y[3000..], &p).unwrap();
    assert_eq!(kept, g.trees());
    assert!(kept < 15, "kept {kept} trees on noise");
    // And on a real signal it keeps going.
    let (x, y) = noisy(4000, 6);
    let (xt, xv) = (
        x.select(&(0..3000).collect::<Vec<_>>()),
        x.select(&(3000..4000).collect::<Vec<_>>()),
    );
    let (g, kept, zv) = Gbm::fit_early(&xt, &y[..3000], &xv, &y[3000..], &p).unwrap();
    assert!(kept >= 15, "kept only {kept} trees on a signal");
    // The validation log-odds it returns are those of the kept trees, to the bit (the walk on
    // bins during training and the walk on values after it take the same paths).
    let z = g.logits(&xv);
    assert_eq!(zv.len(), 1000);
    assert!(zv.iter().zip(&z).all(|(a, b)| a.to_bits() == b.to_bits()));
}

#[test]
fn an_averaged_booster_gives_the_mean_log_odds_and_contributions() {
    let (x, y) = noisy(3000, 21);
    let (x2, y2) = noisy(3000, 22);
    let a = Gbm::fit(&x, &y, 12, &GbmParams::default()).unwrap();
    let b = Gbm::fit(&x2, &y2, 7, &GbmParams::default()).unwrap();
    let (za, zb) = (a.logits(&x), b.logits(&x));
    let (ca, cb) = (a.contributions(&x), b.contributions(&x));
    let mean = Gbm::average(vec![a.clone(), b]);
    assert_eq!(
        mean.trees.len(),
        19,
        "both boosters' trees, one after another"
    );
    assert!(za.iter().zip(&zb).any(|(p, q)| (p - q).abs() > 0.1));
    for (r, z) in mean.logits(&x).iter().enumerate() {
        let want = (za[r] + zb[r]) / 2.0;
        assert!((z - want).abs() < 1e-12, "row {r}: {z} vs {want}");
    }
    for (i, c) in mean.contributions(&x).iter().enumerate() {
        let want = (ca[i] + cb[i]) / 2.0;
        assert!((c - want).abs() < 1e-12, "cell {i}: {c} vs {want}");
    }
    assert!(
        Gbm::average(vec![a.clone()]) == a,
        "one booster is its own mean"
    );
}

#[test]
fn shapley_contributions_add_up_and_differ_from_path_credits() {
    let (x, y) = noisy(2000, 8);
    let mut g = Gbm::fit(&x, &y, 20, &GbmParams::default()).unwrap();
    let z = g.logits(&x);
    let path = g.contributions(&x);
    g.set_explain(Explain::Shap);
    let shap = g.contributions(&x);
    let base = g.base + g.trees.iter().map(|t| t.nodes[0].value).sum::<f64>();
    for r in 0..x.rows {
        let row = &shap[r * 4..(r + 1) * 4];
        let sum: f64 = row.iter().sum();
        assert!((sum - z[r]).abs() < 1e-9, "row {r}: {sum} vs {}", z[r]);
        assert!((row[3] - base).abs() < 1e-12);
    }
    let moved = (0..x.rows * 4)
        .filter(|&i| (shap[i] - path[i]).abs() > 1e-6)
        .count();
    assert!(
        moved > x.rows,
        "only {moved} values differ from path credits"
    );
    // Row by row (the prediction path's blocks) gives the same values.
    let values: Vec<f64> = (0..x.rows)
        .flat_map(|r| (0..3).map(move |c| (r, c)))
        .map(|(r, c)| x.data[c * x.rows + r])
        .collect();
    let mut block = vec![0.0; x.rows * 4];
    g.block_contributions(&values, 3, &mut block);
    assert_eq!(block, shap);
}
