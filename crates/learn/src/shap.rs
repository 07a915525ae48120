//! Exact per-row Shapley values of a tree's output (path-dependent TreeSHAP, after Lundberg,
//! Erion and Lee, "Consistent individualized feature attribution for tree ensembles", 2018,
//! algorithm 2).
//!
//! A set `S` of known columns gives the tree's expected output `v(S)`: at a split on a column
//! in `S` the row goes its own way; at any other split both ways count, weighted by the
//! training cover of each side. A column's Shapley value is its marginal change of `v`
//! averaged over every order of the columns. The algorithm gets all of them in one walk of
//! the tree, keeping for the path to each node the share of the orders (and covers) under
//! which that path is followed, in O(leaves × depth²) per row.
//!
//! The cover share of a split's left side is read off the node values: a split's value is the
//! hessian-weighted mean of its children's (see [`crate::gbm::Node`]), so the left side's share
//! of the hessian is `(v − v_right) / (v_left − v_right)`. Where both children have the same
//! value the share cannot be told, and half is used.

use crate::gbm::Tree;

/// A split column that `Tree` nodes use for a leaf.
const LEAF: u32 = u32::MAX;

/// One step of the path to the current node.
#[derive(Debug, Clone, Copy)]
struct Step {
    /// The split column (`LEAF` for the path's empty first step).
    feature: u32,
    /// The share of the training cover that follows this step when its column is unknown.
    zero: f64,
    /// Whether the row follows this step when its column is known (1 or 0).
    one: f64,
    /// The share of column orders (permutation weight) of the subsets of this length.
    weight: f64,
}

/// The share of a split's training cover (hessian) on its left side.
pub(crate) fn left_share(t: &Tree, i: usize) -> f64 {
    let n = &t.nodes[i];
    let (l, r) = (&t.nodes[n.left as usize], &t.nodes[n.left as usize + 1]);
    let d = l.value - r.value;
    if d == 0.0 {
        0.5
    } else {
        ((n.value - r.value) / d).clamp(0.0, 1.0)
    }
}

/// Whether a row with `value` at a split goes left.
fn goes_left(threshold: f64, missing_left: bool, value: f64) -> bool {
    if value.is_nan() {
        missing_left
    } else {
        value <= threshold
    }
}

/// Buffers for [`add_tree_with`], reused from tree to tree and row to row.
pub struct Scratch {
    /// Each level of the walk works on its own copy of the path, laid out one after another:
    /// a path at depth d holds at most d + 1 steps.
    paths: Vec<Step>,
    /// `1 / k` for the counts the permutation weights are scaled by (`depth + 3` of them).
    inv: Vec<f64>,
}

impl Scratch {
    /// Buffers for trees up to `depth` deep.
    pub fn new(depth: usize) -> Scratch {
        Scratch {
            paths: vec![
                Step {
                    feature: LEAF,
                    zero: 0.0,
                    one: 0.0,
                    weight: 0.0,
                };
                (depth + 2) * (depth + 3) / 2
            ],
            inv: (0..depth + 3).map(|k| 1.0 / k.max(1) as f64).collect(),
        }
    }
}

/// Adds the Shapley values of tree `t`'s output for the row whose column `c` is `value(c)`
/// to `phi` (one entry per column). Their sum is the row's output minus the tree's expected
/// output (its root's value).
pub fn add_tree(t: &Tree, value: &impl Fn(usize) -> f64, phi: &mut [f64]) {
    add_tree_with(t, value, phi, &mut Scratch::new(t.depth(0)));
}

/// [`add_tree`] with buffers made for trees at least as deep as `t` (a deeper tree panics).
pub fn add_tree_with(t: &Tree, value: &impl Fn(usize) -> f64, phi: &mut [f64], s: &mut Scratch) {
    debug_assert!(
        t.depth(0) + 3 <= s.inv.len(),
        "buffers for a shallower tree"
    );
    recurse(t, 0, value, phi, &mut s.paths, &s.inv, 0, 1.0, 1.0, LEAF);
}

/// Walks node `i`: `paths[..len]` is the path to its parent, and this node's path is built
/// after it (the parent's stays as it was, for the parent's other child).
#[allow(clippy::too_many_arguments)]
fn recurse(
    t: &Tree,
    i: usize,
    value: &impl Fn(usize) -> f64,
    phi: &mut [f64],
    paths: &mut [Step],
    inv: &[f64],
    len: usize,
    zero: f64,
    one: f64,
    feature: u32,
) {
    let (parent, rest) = paths.split_at_mut(len);
    rest[..len].copy_from_slice(parent);
    let mut len = extend(rest, len, zero, one, feature, inv);
    let n = &t.nodes[i];
    if n.feature == LEAF {
        let path = &rest[..len];
        for k in 1..len {
            let w = unwound_sum(path, k, inv);
            let s = path[k];
            phi[s.feature as usize] += w * (s.one - s.zero) * n.value;
        }
        return;
    }
    let q = left_share(t, i);
    let left = goes_left(n.threshold, n.missing_left, value(n.feature as usize));
    let (hot, cold) = if left {
        (n.left as usize, n.left as usize + 1)
    } else {
        (n.left as usize + 1, n.left as usize)
    };
    let (hot_share, cold_share) = if left { (q, 1.0 - q) } else { (1.0 - q, q) };
    // A column split on again up the path: its earlier step is taken out and its shares
    // carried into this one.
    let (mut iz, mut io) = (1.0, 1.0);
    if let Some(k) = (1..len).find(|&k| rest[k].feature == n.feature) {
        iz = rest[k].zero;
        io = rest[k].one;
        len = unwind(rest, len, k, inv);
    }
    recurse(
        t,
        hot,
        value,
        phi,
        rest,
        inv,
        len,
        iz * hot_share,
        io,
        n.feature,
    );
    recurse(
        t,
        cold,
        value,
        phi,
        rest,
        inv,
        len,
        iz * cold_share,
        0.0,
        n.feature,
    );
}

/// Adds a step to the path `path[..len]`, updating the permutation weights of every subset
/// length; returns the new length.
fn extend(path: &mut [Step], len: usize, zero: f64, one: f64, feature: u32, inv: &[f64]) -> usize {
    let l = len;
    path[l] = Step {
        feature,
        zero,
        one,
        weight: if l == 0 { 1.0 } else { 0.0 },
    };
    let il = inv[l + 1];
    for i in (0..l).rev() {
        path[i + 1].weight += one * path[i].weight * (i + 1) as f64 * il;
        path[i].weight = zero * path[i].weight * (l - i) as f64 * il;
    }
    l + 1
}

/// Takes step `k` out of the path `path[..len]`, undoing its [`extend`]; returns the new
/// length.
fn unwind(path: &mut [Step], len: usize, k: usize, inv: &[f64]) -> usize {
    let l = len - 1;
    let (one, zero) = (path[k].one, path[k].zero);
    let lf = (l + 1) as f64;
    let il = inv[l + 1];
    let mut next = path[l].weight;
    // `one` is 1 (the row takes this step) or 0 (it does not).
    if one != 0.0 {
        for j in (0..l).rev() {
            let tmp = path[j].weight;
            path[j].weight = next * lf * inv[j + 1];
            next = tmp - path[j].weight * zero * (l - j) as f64 * il;
        }
    } else {
        let over = lf / zero;
        for j in (0..l).rev() {
            path[j].weight *= over * inv[l - j];
        }
    }
    for j in k..l {
        path[j].feature = path[j + 1].feature;
        path[j].zero = path[j + 1].zero;
        path[j].one = path[j + 1].one;
    }
    l
}

/// The total permutation weight the path would have with step `k` taken out.
fn unwound_sum(path: &[Step], k: usize, inv: &[f64]) -> f64 {
    let l = path.len() - 1;
    let (one, zero) = (path[k].one, path[k].zero);
    let lf = (l + 1) as f64;
    let il = inv[l + 1];
    let mut total = 0.0;
    if one != 0.0 {
        let mut next = path[l].weight;
        for j in (0..l).rev() {
            let w = next * lf * inv[j + 1];
            total += w;
            next = path[j].weight - w * zero * (l - j) as f64 * il;
        }
    } else {
        let over = lf / zero;
        for j in (0..l).rev() {
            total += path[j].weight * over * inv[l - j];
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gbm::tests::{leaf, split};

    /// The tree's expected output when the columns in `known` (a bit set) follow the row and
    /// the others split by cover.
    fn expected(t: &Tree, i: usize, x: &[f64], known: u32) -> f64 {
        let n = &t.nodes[i];
        if n.feature == LEAF {
            return n.value;
        }
        let (l, r) = (n.left as usize, n.left as usize + 1);
        if known & (1 << n.feature) != 0 {
            let left = goes_left(n.threshold, n.missing_left, x[n.feature as usize]);
            expected(t, if left { l } else { r }, x, known)
        } else {
            let q = left_share(t, i);
            q * expected(t, l, x, known) + (1.0 - q) * expected(t, r, x, known)
        }
    }

    /// Shapley values by their definition: every subset of the other columns, weighted
    /// `|S|! (M − |S| − 1)! / M!`.
    fn brute_force(t: &Tree, x: &[f64]) -> Vec<f64> {
        let m = x.len();
        let fact = |k: usize| (1..=k).product::<usize>() as f64;
        (0..m)
            .map(|i| {
                (0u32..1 << m)
                    .filter(|s| s & (1 << i) == 0)
                    .map(|s| {
                        let k = s.count_ones() as usize;
                        let w = fact(k) * fact(m - k - 1) / fact(m);
                        w * (expected(t, 0, x, s | (1 << i)) - expected(t, 0, x, s))
                    })
                    .sum()
            })
            .collect()
    }

    /// Column 0 at the root and again below it, column 1 on one side, column 2 deeper on the
    /// other; unequal covers everywhere, and each split's value its cover-weighted mean.
    fn tree() -> Tree {
        let v1 = -0.25 + 0.75 * 0.5; // leaves −1.0 and 0.5, left share 0.25
        let v6 = 0.3 * 1.0 + 0.7 * 3.0;
        let v2 = 0.6 * 2.0 + 0.4 * v6;
        let v0 = 0.45 * v1 + 0.55 * v2;
        Tree {
            nodes: vec![
                split(0, 4.0, 1, false, v0), // 0: x0 ≤ 4
                split(1, 2.0, 3, true, v1),  // 1: x1 ≤ 2 (missing left)
                split(0, 7.0, 5, false, v2), // 2: x0 ≤ 7
                leaf(-1.0),                  // 3
                leaf(0.5),                   // 4
                leaf(2.0),                   // 5
                split(2, 0.0, 7, false, v6), // 6: x2 ≤ 0
                leaf(1.0),                   // 7
                leaf(3.0),                   // 8
            ],
        }
    }

    #[test]
    fn shares_are_read_off_the_node_values() {
        let t = tree();
        assert!((left_share(&t, 0) - 0.45).abs() < 1e-15);
        assert!((left_share(&t, 1) - 0.25).abs() < 1e-15);
        assert!((left_share(&t, 2) - 0.6).abs() < 1e-15);
        assert!((left_share(&t, 6) - 0.3).abs() < 1e-15);
    }

    #[test]
    fn tree_shap_equals_the_shapley_definition() {
        let t = tree();
        let rows = [
            [1.0, 1.0, -1.0],
            [1.0, 5.0, 1.0],
            [5.0, f64::NAN, 1.0],
            [9.0, 0.0, -3.0],
            [9.0, 0.0, 3.0],
            [f64::NAN, 2.0, 0.0],
            [6.0, 3.0, f64::NAN],
        ];
        for x in rows {
            let mut phi = vec![0.0; 3];
            add_tree(&t, &|c| x[c], &mut phi);
            let want = brute_force(&t, &x);
            for (c, (a, b)) in phi.iter().zip(&want).enumerate() {
                assert!((a - b).abs() < 1e-12, "row {x:?} column {c}: {a} vs {b}");
            }
            // Local accuracy: the values sum to the output minus the expected output.
            let out = expected(&t, 0, &x, 0b111);
            let sum: f64 = phi.iter().sum();
            assert!((sum - (out - t.nodes[0].value)).abs() < 1e-12, "{x:?}");
        }
    }

    #[test]
    fn buffers_kept_from_tree_to_tree_and_row_to_row_give_the_same_bits() {
        // A stump and the deeper tree, one after the other, rows after rows, through one set
        // of buffers (what a booster does), against fresh buffers for every tree and row.
        let stump = Tree {
            nodes: vec![split(1, 0.5, 1, true, 0.2), leaf(-0.4), leaf(0.6)],
        };
        let deep = tree();
        let mut s = Scratch::new(deep.depth(0));
        for x in [[1.0, 1.0, -1.0], [9.0, f64::NAN, 3.0], [5.0, 0.0, 1.0]] {
            let (mut kept, mut fresh) = (vec![0.0; 3], vec![0.0; 3]);
            for t in [&stump, &deep, &stump] {
                add_tree_with(t, &|c| x[c], &mut kept, &mut s);
                add_tree(t, &|c| x[c], &mut fresh);
            }
            assert_eq!(kept, fresh, "{x:?}");
            assert!(kept.iter().all(|v| *v != 0.0), "{x:?}: {kept:?}");
        }
    }

    #[test]
    fn a_column_the_tree_never_splits_on_gets_nothing() {
        let t = tree();
        let mut phi = vec![0.0; 4];
        add_tree(&t, &|c| [5.0, 1.0, 2.0, 100.0][c], &mut phi);
        assert_eq!(phi[3], 0.0);
        assert!(phi[0] != 0.0 && phi[2] != 0.0);
    }
}
