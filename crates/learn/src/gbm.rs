//! Gradient-boosted trees on the encoded columns: our own histogram learner, after LightGBM's
//! design (forust-ml was 5× slower than LightGBM at a million rows, and no other pure-Rust
//! crate builds on stable with histograms, leaf-wise growth and per-row contributions).
//!
//! - Every column is cut into at most 254 bins at quantiles of its training values (distinct
//!   values each get a bin when there are few); bin 0 holds the missing values. The bins are
//!   kept row-major, one byte per cell, so one pass over a leaf's rows fills the histograms of
//!   every column.
//! - Trees grow best-first (leaf-wise) to `max_leaves`, with the log-loss Newton gain, an L2
//!   penalty, and least rows and hessian per leaf. A split learns where missing values go.
//!   A child's histogram is built for the smaller side only; the larger is the parent's minus it.
//! - Histograms are summed over fixed blocks of rows in a fixed order, so the model is the same
//!   bits at any thread count.
//! - Early stopping follows the validation log-loss tree by tree (the validation rows are
//!   binned once).
//!
//! Categories arrive as codes ordered by conversion rate, so a split on a code is a split
//! between better and worse values.

use crate::LearnError;
use crate::encode::Dense;
use crate::metrics::Log1pSum;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use wide::{f64x2, i16x8};

/// Settings of the boosted trees (defaults follow LightGBM's, with an L2 penalty).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GbmParams {
    /// Most trees; early stopping usually stops sooner.
    pub iterations: usize,
    /// Shrinkage per tree.
    pub learning_rate: f64,
    /// Leaves per tree (trees grow best-first).
    pub max_leaves: usize,
    /// Depth limit.
    pub max_depth: usize,
    /// L2 penalty on leaf weights.
    pub l2: f64,
    /// Least hessian (≈ rows × p(1-p)) in a leaf.
    pub min_leaf_weight: f64,
    /// Least training rows in a leaf.
    pub min_leaf_rows: usize,
    /// Histogram bins per column (at most 255: one is for missing values).
    pub bins: u16,
    /// Stop when the validation log-loss has not improved for this many trees.
    pub early_stopping: usize,
    /// Threads (not stored: a model file does not depend on the machine that trained it).
    #[serde(skip)]
    pub threads: usize,
    /// Seed (the learner draws no random numbers; kept for the record).
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
            min_leaf_weight: 1e-3,
            min_leaf_rows: 20,
            bins: 255,
            early_stopping: 30,
            threads: 1,
            seed: 0,
        }
    }
}

/// Marks a leaf in [`Node::feature`].
const LEAF: u32 = u32::MAX;
/// Histogram slots per column (bin 0 is missing).
const SLOTS: usize = 256;
/// Rows per block of gradient work.
const BLOCK_ROWS: usize = 1 << 15;
/// A leaf's rows are cut into at most this many parts for its histograms (each part one
/// task, the parts summed in order): the count depends on the rows only, never on the
/// threads, so neither do the sums.
const PARTS: usize = 8;
/// Fewest rows per part.
const PART_ROWS: usize = 4096;
/// Rows per block when predicting.
const PREDICT_ROWS: usize = 1 << 12;
/// Rows that walk a tree together when predicting.
const LANES: usize = 8;
/// Most columns (a split's slot in [`Codes`] is a `u16`).
const MAX_COLUMNS: usize = (u16::MAX as usize - 1) / 2;
/// Values sampled per column to find the bin edges.
const BIN_SAMPLE: usize = 200_000;

/// One tree node. Children are adjacent: `right = left + 1`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// Split column, or `u32::MAX` for a leaf.
    #[serde(rename = "f")]
    pub feature: u32,
    /// Values `<=` this go left.
    #[serde(rename = "t")]
    pub threshold: f64,
    /// The left child.
    #[serde(rename = "l")]
    pub left: u32,
    /// Missing values go left (else right).
    #[serde(rename = "m")]
    pub missing_left: bool,
    /// A leaf's output; for a split, the hessian-weighted mean of its leaves (the expected
    /// value, for per-row contributions).
    #[serde(rename = "v")]
    pub value: f64,
}

/// One tree: node 0 is the root.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    /// The nodes.
    pub nodes: Vec<Node>,
}

impl Tree {
    /// The depth of the deepest leaf under node `i`.
    pub(crate) fn depth(&self, i: usize) -> usize {
        let n = &self.nodes[i];
        if n.feature == LEAF {
            0
        } else {
            let l = n.left as usize;
            1 + self.depth(l).max(self.depth(l + 1))
        }
    }
}

/// One node of a tree laid out for prediction on codes (see [`Codes`]): 8 bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Step {
    /// The left child (the right is the next node); a leaf points at itself.
    left: u32,
    /// The slot of the row's codes to compare: `2 × column`, plus one when missing values go
    /// left.
    slot: u16,
    /// Codes up to this go left (a leaf: `u16::MAX`, so always).
    code: u16,
}

/// Rows as codes, two slots per column: `2c` holds the column's code with a missing value as
/// `u16::MAX` (it goes right of every split), `2c + 1` the same with a missing value as 0 (it
/// goes left). A tree's split picks the slot of its missing direction and compares codes.
struct Codes {
    codes: Vec<u16>,
    /// Slots per row.
    width: usize,
    rows: usize,
}

/// A value's codes among a column's sorted `cuts`: with a missing value going right (`u16::MAX`)
/// and going left (0); a value is 1 + the cuts below it.
fn code_pair(cuts: &[f64], v: f64) -> (u16, u16) {
    if v.is_nan() {
        (u16::MAX, 0)
    } else {
        let k = 1 + cuts.partition_point(|&x| x < v) as u16;
        (k, k)
    }
}

/// `LANES` rows walk tree `root..` (of depth `depth`) in step, one level each per step, without
/// branches; returns the leaf each reaches. `r0` is the first row; past the last row the last
/// row is walked again (its results are ignored).
#[inline(always)]
fn walk(steps: &[Step], root: u32, depth: u32, x: &Codes, r0: usize) -> [u32; LANES] {
    let last = x.rows.saturating_sub(1);
    let base: [usize; LANES] = std::array::from_fn(|j| (r0 + j).min(last) * x.width);
    let mut at = [root; LANES];
    for _ in 0..depth {
        for (i, b) in at.iter_mut().zip(base) {
            let s = steps[*i as usize];
            *i = s.left + u32::from(x.codes[b + s.slot as usize] > s.code);
        }
    }
    at
}

/// Runs `$body` with the const `$S` equal to `$slots` (a power of two from 8 to 256).
macro_rules! with_slots {
    ($slots:expr, $S:ident => $body:expr) => {
        with_slots!(@ $slots, $S, $body; 8, 16, 32, 64, 128)
    };
    (@ $slots:expr, $S:ident, $body:expr; $($k:literal),*) => {
        match $slots {
            $($k => {
                const $S: usize = $k;
                $body
            })*
            _ => {
                const $S: usize = 256;
                $body
            }
        }
    };
}

/// Runs `$body` with the const `$N` equal to `$width` (4, 8, 12 or 16).
macro_rules! with_width {
    ($width:expr, $N:ident => $body:expr) => {
        match $width {
            4 => {
                const $N: usize = 4;
                $body
            }
            8 => {
                const $N: usize = 8;
                $body
            }
            12 => {
                const $N: usize = 12;
                $body
            }
            _ => {
                const $N: usize = 16;
                $body
            }
        }
    };
}

/// One change of a row's log-odds on its way to a leaf, credited to a column.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Credit {
    feature: u32,
    delta: f64,
}

/// The trees laid out for prediction: each column's thresholds (over all trees) become codes,
/// every split compares a code, every leaf loops to itself, so a group of rows walks a tree a
/// fixed number of steps, all at once and without branches; each leaf carries the per-column
/// credits of its path (a row's contributions are the credits of the leaves it reaches).
#[derive(Debug, Clone, Default, PartialEq)]
struct Flat {
    /// Per column used by a split: its thresholds, sorted, distinct.
    cuts: Vec<Vec<f64>>,
    steps: Vec<Step>,
    /// Per node: its value (for a leaf, its output).
    values: Vec<f64>,
    /// Per tree: the root's index in `steps` and the tree's depth.
    trees: Vec<(u32, u32)>,
    /// Per node: where its credits start in `credits` (a leaf's end where the next node's start).
    credit_at: Vec<u32>,
    credits: Vec<Credit>,
    /// The base value plus every root's value: the contributions' last entry.
    base: f64,
    /// The same trees as leaf masks (see [`SmallTree`]), when they fit.
    small: Option<Small>,
}

impl Flat {
    fn new(base: f64, trees: &[Tree]) -> Flat {
        let mut cuts: Vec<Vec<f64>> = Vec::new();
        for n in trees.iter().flat_map(|t| &t.nodes) {
            if n.feature != LEAF {
                let f = n.feature as usize;
                if cuts.len() <= f {
                    cuts.resize(f + 1, Vec::new());
                }
                cuts[f].push(n.threshold);
            }
        }
        for c in &mut cuts {
            c.sort_unstable_by(f64::total_cmp);
            c.dedup();
            // More distinct thresholds than codes cannot come from our bins; keep the first.
            c.truncate(u16::MAX as usize - 2);
        }
        let mut f = Flat {
            base,
            ..Flat::default()
        };
        for t in trees {
            let root = f.steps.len() as u32;
            f.trees.push((root, t.depth(0) as u32));
            f.base += t.nodes[0].value;
            for (i, n) in t.nodes.iter().enumerate() {
                f.credit_at.push(f.credits.len() as u32);
                f.values.push(n.value);
                if n.feature == LEAF {
                    f.steps.push(Step {
                        left: root + i as u32,
                        slot: 0,
                        code: u16::MAX,
                    });
                    f.credits.extend(path_credits(t, i));
                } else {
                    let c = &cuts[n.feature as usize];
                    // `v <= threshold j` exactly when `1 + #{cuts < v} <= j + 1`.
                    let j = c.partition_point(|&x| x < n.threshold);
                    f.steps.push(Step {
                        left: root + n.left,
                        slot: (2 * n.feature + u32::from(n.missing_left)) as u16,
                        code: (j + 1) as u16,
                    });
                }
            }
        }
        f.credit_at.push(f.credits.len() as u32);
        f.cuts = cuts;
        let dense = f.cuts.len() <= DENSE_COLUMNS;
        f.small = Small::new(&f, trees, dense);
        f
    }

    /// The log-odds of `rows` rows (row `r`, column `c` at `value(r, c)`) into `z`: the base
    /// value, then each tree's leaf value in tree order.
    fn logits(&self, rows: usize, value: impl Fn(usize, usize) -> f64, base: f64, z: &mut [f64]) {
        z.fill(base);
        match &self.small {
            Some(s) => {
                let x = s.groups(&self.cuts, rows, value);
                with_slots!(s.slots, S => s.walk_all::<S>(&x, |t, r, i| z[r] += t.values[i]));
            }
            None => self.walk_all(&self.codes(rows, value), |r, i| z[r] += self.values[i]),
        }
    }

    /// The contributions of `rows` rows (row `r`, column `c` at `value(r, c)`) into `contrib`
    /// (rows × (`nf` + 1), the base value last), tree by tree.
    fn contributions(
        &self,
        rows: usize,
        value: impl Fn(usize, usize) -> f64,
        nf: usize,
        contrib: &mut [f64],
    ) {
        let w = nf + 1;
        contrib.fill(0.0);
        let credit = |c: &mut [f64], credits: &[Credit]| {
            for cr in credits {
                c[cr.feature as usize] += cr.delta;
            }
        };
        match &self.small {
            Some(s) => {
                let x = s.groups(&self.cuts, rows, value);
                if s.dense {
                    // Sums of a fixed width (the columns split on, padded), added whole.
                    let n = s.columns;
                    with_slots!(s.slots, S => with_width!(s.stride(), N => {
                        const H: usize = N / 2;
                        let mut sums = vec![[f64x2::ZERO; H]; rows];
                        s.walk_all::<S>(&x, |t, r, k| {
                            let a = t.credit_at[k] as usize;
                            let d: &[f64x2; H] = t.deltas[a..a + H].try_into().expect("H per leaf");
                            for (c, d) in sums[r].iter_mut().zip(d) {
                                *c += *d;
                            }
                        });
                        for (c, sum) in contrib.chunks_exact_mut(w).zip(&sums) {
                            for (c, v) in c[..n].iter_mut().zip(sum.iter().flat_map(|p| p.to_array())) {
                                *c = v;
                            }
                        }
                    }));
                } else {
                    with_slots!(s.slots, S => s.walk_all::<S>(&x, |t, r, k| {
                        let a = t.credit_at[k] as usize;
                        credit(&mut contrib[r * w..(r + 1) * w], &t.credits[a..a + t.width as usize]);
                    }));
                }
            }
            None => self.walk_all(&self.codes(rows, value), |r, i| {
                let (a, b) = (self.credit_at[i] as usize, self.credit_at[i + 1] as usize);
                credit(&mut contrib[r * w..(r + 1) * w], &self.credits[a..b]);
            }),
        }
        for c in contrib.chunks_exact_mut(w) {
            c[nf] = self.base;
        }
    }

    /// Walks every row of `x` through every tree, tree by tree (each stays in cache), calling
    /// `leaf(row, node it reaches)`.
    fn walk_all(&self, x: &Codes, mut leaf: impl FnMut(usize, usize)) {
        for &(root, depth) in &self.trees {
            for g in (0..x.rows).step_by(LANES) {
                let at = walk(&self.steps, root, depth, x, g);
                let lanes = (x.rows - g).min(LANES);
                for (j, &i) in at[..lanes].iter().enumerate() {
                    leaf(g + j, i as usize);
                }
            }
        }
    }

    /// The codes of `rows` rows of `nf` values each (row `r`, column `c` at `value(r, c)`).
    fn codes(&self, rows: usize, value: impl Fn(usize, usize) -> f64) -> Codes {
        let width = 2 * self.cuts.len();
        let mut codes = vec![0u16; rows * width];
        for (r, out) in codes.chunks_exact_mut(width.max(1)).enumerate() {
            for (c, cuts) in self.cuts.iter().enumerate() {
                let (right, left) = code_pair(cuts, value(r, c));
                out[2 * c] = right;
                out[2 * c + 1] = left;
            }
        }
        Codes { codes, width, rows }
    }
}

/// Nodes of a tree in the [`Small`] layout (trees of up to 32 leaves; training grows at most
/// 31).
const SMALL_NODES: usize = 64;
/// Leaves of a tree in the [`Small`] layout: one bit each of a `u32`.
const SMALL_LEAVES: usize = 32;

/// Rows that are tested together in the [`Small`] layout: two vectors of eight.
const SMALL_LANES: usize = 16;

/// Rows as codes (see [`Codes`]) in groups of [`SMALL_LANES`]: slot `s` of group `g` holds
/// the group's codes side by side at `g × slots + s`, so the rows tested together read one
/// place. Each code is stored as [`signed`] of it, so that one signed comparison of eight
/// lanes compares them. Lanes past the last row are 0 (they are tested, their leaves
/// ignored).
struct Groups {
    codes: Vec<[i16x8; 2]>,
    rows: usize,
}

/// A code as a signed number in the same order (`u16` order is `i16` order after flipping
/// the top bit).
fn signed(code: u16) -> i16 {
    (code ^ 0x8000) as i16
}

/// One split of a tree in the [`Small`] layout: a row whose code in `slot` is above `code`
/// goes right, so it cannot reach any leaf of the split's left side. The code and the leaves
/// are repeated for every lane (the layout of the vector operations that test them).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Test {
    /// [`signed`] of the split's code.
    code: i16x8,
    /// The leaves of the left side (bit `k` is leaf `k`, leaves numbered left to right):
    /// leaves 0–15 and 16–31, as bits of an `i16`.
    low: i16x8,
    high: i16x8,
    slot: u16,
}

/// One tree of the [`Small`] layout. Its leaves are numbered left to right; a row's leaf is
/// the leftmost one that no split it goes right at rules out (QuickScorer, Lucchese et al.,
/// SIGIR 2015): every split is tested, in any order, with no branches and no chain from one
/// level to the next, so a group of rows is a few vector operations per split. (The leaf a
/// row reaches is never ruled out: a split on its path that it goes right at rules out only
/// leaves left of the path, and a split off its path only leaves of another branch. Any leaf
/// left of it is in the left side of their lowest common split, which the row goes right at.)
#[derive(Debug, Clone, PartialEq)]
struct SmallTree {
    /// Every split of the tree.
    tests: Vec<Test>,
    /// Per leaf: its output.
    values: [f64; SMALL_LEAVES],
    /// Per leaf: where its credits start in `credits` (every leaf has `width` of them) or, with
    /// few columns, its per-column credits in `deltas` (entries of two columns: every column
    /// in column order, then `+0.0` up to [`Small::stride`]). Both pad with `+0.0` credits to
    /// columns off the path: a contribution starts at `+0.0`, so adding `+0.0` never changes
    /// its bits, and no column gets two credits from one leaf (two would wait on each other).
    credit_at: [u32; SMALL_LEAVES],
    width: u32,
    credits: Vec<Credit>,
    deltas: Vec<f64x2>,
}

/// The trees laid out for leaf masks without bounds checks: used when every tree has at most
/// [`SMALL_NODES`] nodes and a row has at most 256 slots (what training produces; other model
/// files take the general walk).
#[derive(Debug, Clone, PartialEq)]
struct Small {
    trees: Vec<SmallTree>,
    /// Slots per row: a power of two from 8 to 256, at least the codes' width.
    slots: usize,
    /// Columns split on; with at most [`DENSE_COLUMNS`] of them, leaves credit every column
    /// (`deltas`), a few vector additions instead of a list.
    columns: usize,
    dense: bool,
}

/// Most columns split on for leaves to credit every column.
const DENSE_COLUMNS: usize = 16;

/// Numbers the leaves under node `i` of `t` left to right from `leaves.len()` (pushing each
/// leaf's node index onto `leaves`), pushes each split's node index and left-side leaves
/// onto `splits`, and returns the leaves under `i` as bits.
fn number_leaves(
    t: &Tree,
    i: usize,
    leaves: &mut Vec<usize>,
    splits: &mut Vec<(usize, u32)>,
) -> u32 {
    let n = &t.nodes[i];
    if n.feature == LEAF {
        let bit = 1u32.checked_shl(leaves.len() as u32).unwrap_or(0);
        leaves.push(i);
        return bit;
    }
    let l = n.left as usize;
    let left = number_leaves(t, l, leaves, splits);
    let right = number_leaves(t, l + 1, leaves, splits);
    splits.push((i, left));
    left | right
}

/// With dense credits: credits per leaf in `deltas`, `columns` rounded up to a multiple of 4.
fn stride(columns: usize) -> usize {
    columns.div_ceil(4).max(1) * 4
}

impl Small {
    /// With `dense`: credits per leaf in `deltas` (see [`stride`]).
    fn stride(&self) -> usize {
        stride(self.columns)
    }

    /// `dense`: leaves credit every column (`deltas`) instead of a list.
    fn new(flat: &Flat, trees: &[Tree], dense: bool) -> Option<Small> {
        let width = 2 * flat.cuts.len();
        if width > 256 || trees.iter().any(|t| t.nodes.len() > SMALL_NODES) {
            return None;
        }
        let columns = flat.cuts.len();
        let stride = stride(columns);
        let mut out = Vec::with_capacity(trees.len());
        for (t, &(root, _)) in trees.iter().zip(&flat.trees) {
            let root = root as usize;
            let (mut leaves, mut splits) = (Vec::new(), Vec::new());
            number_leaves(t, 0, &mut leaves, &mut splits);
            if leaves.len() > SMALL_LEAVES {
                return None;
            }
            let mut s = SmallTree {
                tests: splits
                    .iter()
                    .map(|&(i, left_leaves)| {
                        let step = flat.steps[root + i];
                        Test {
                            code: i16x8::splat(signed(step.code)),
                            low: i16x8::splat(left_leaves as u16 as i16),
                            high: i16x8::splat((left_leaves >> 16) as u16 as i16),
                            slot: step.slot,
                        }
                    })
                    .collect(),
                values: [0.0; SMALL_LEAVES],
                credit_at: [0; SMALL_LEAVES],
                width: 0,
                credits: Vec::new(),
                deltas: Vec::new(),
            };
            let list = |i: usize| {
                &flat.credits
                    [flat.credit_at[root + i] as usize..flat.credit_at[root + i + 1] as usize]
            };
            s.width = leaves.iter().map(|&i| list(i).len()).max().unwrap_or(0) as u32;
            for (k, &i) in leaves.iter().enumerate() {
                s.values[k] = flat.values[root + i];
                let l = list(i);
                if dense {
                    s.credit_at[k] = s.deltas.len() as u32;
                    let at = s.deltas.len();
                    s.deltas.resize(at + stride / 2, f64x2::ZERO);
                    for c in l {
                        let f = c.feature as usize;
                        s.deltas[at + f / 2].as_mut_array()[f % 2] = c.delta;
                    }
                } else {
                    s.credit_at[k] = s.credits.len() as u32;
                    s.credits.extend_from_slice(l);
                    let off_path =
                        (0..columns as u32).filter(|f| l.iter().all(|c| c.feature != *f));
                    s.credits
                        .extend(
                            off_path
                                .take(s.width as usize - l.len())
                                .map(|feature| Credit {
                                    feature,
                                    delta: 0.0,
                                }),
                        );
                }
            }
            out.push(s);
        }
        Some(Small {
            trees: out,
            slots: width.next_power_of_two().max(8),
            columns,
            dense,
        })
    }

    /// The codes of `rows` rows (row `r`, column `c` at `value(r, c)`), in groups.
    fn groups(
        &self,
        cuts: &[Vec<f64>],
        rows: usize,
        value: impl Fn(usize, usize) -> f64,
    ) -> Groups {
        let mut codes = vec![[i16x8::ZERO; 2]; rows.div_ceil(SMALL_LANES) * self.slots];
        for r in 0..rows {
            let (g, j) = (r / SMALL_LANES, r % SMALL_LANES);
            let grp = &mut codes[g * self.slots..(g + 1) * self.slots];
            for (c, cuts) in cuts.iter().enumerate() {
                let (right, left) = code_pair(cuts, value(r, c));
                grp[2 * c][j / 8].as_mut_array()[j % 8] = signed(right);
                grp[2 * c + 1][j / 8].as_mut_array()[j % 8] = signed(left);
            }
        }
        Groups { codes, rows }
    }

    /// [`Flat::walk_all`] in this layout (`leaf(tree, row, leaf number it reaches)`).
    #[inline(always)]
    fn walk_all<const S: usize>(&self, x: &Groups, mut leaf: impl FnMut(&SmallTree, usize, usize)) {
        for t in &self.trees {
            for (g, grp) in x.codes.chunks_exact(S).enumerate() {
                let at = exit_leaves::<S>(t, grp.try_into().expect("a group has S slots"));
                let lanes = (x.rows - g * SMALL_LANES).min(SMALL_LANES);
                for (j, &k) in at[..lanes].iter().enumerate() {
                    leaf(t, g * SMALL_LANES + j, k as usize % SMALL_LEAVES);
                }
            }
        }
    }
}

/// The leaf numbers the lanes of group `x` reach in tree `t` (see [`SmallTree`]): per split
/// and eight lanes, one comparison of their codes and two masks.
#[inline(always)]
fn exit_leaves<const S: usize>(t: &SmallTree, x: &[[i16x8; 2]; S]) -> [u32; SMALL_LANES] {
    let all = i16x8::splat(-1);
    let (mut low, mut high) = ([all; 2], [all; 2]);
    for s in &t.tests {
        let codes = &x[s.slot as usize % S];
        for h in 0..2 {
            let right = codes[h].simd_gt(s.code);
            low[h] &= !(right & s.low);
            high[h] &= !(right & s.high);
        }
    }
    std::array::from_fn(|j| {
        let (l, h) = (low[j / 8].as_array()[j % 8], high[j / 8].as_array()[j % 8]);
        (u32::from(l as u16) | u32::from(h as u16) << 16).trailing_zeros()
    })
}

/// The credits of the path from the root of `t` to its leaf `leaf`: each split's change of
/// the (hessian-weighted) node value, summed per column in path order, columns in first-seen
/// order.
fn path_credits(t: &Tree, leaf: usize) -> Vec<Credit> {
    let mut parent = vec![usize::MAX; t.nodes.len()];
    for (i, n) in t.nodes.iter().enumerate() {
        if n.feature != LEAF {
            parent[n.left as usize] = i;
            parent[n.left as usize + 1] = i;
        }
    }
    let mut path = vec![leaf];
    while let Some(&p) = path
        .last()
        .map(|&c| &parent[c])
        .filter(|&&p| p != usize::MAX)
    {
        path.push(p);
    }
    path.reverse();
    let mut out: Vec<Credit> = Vec::new();
    for w in path.windows(2) {
        let (n, c) = (&t.nodes[w[0]], &t.nodes[w[1]]);
        let delta = c.value - n.value;
        match out.iter_mut().find(|x| x.feature == n.feature) {
            Some(x) => x.delta += delta,
            None => out.push(Credit {
                feature: n.feature,
                delta,
            }),
        }
    }
    out
}

/// A fitted booster.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Gbm {
    /// Log-odds before the first tree (of the training conversion rate).
    pub base: f64,
    /// The trees, in boosting order.
    pub trees: Vec<Tree>,
    /// Threads to predict with (not stored).
    #[serde(skip, default = "one")]
    threads: usize,
    /// The trees laid out for prediction, built on first use.
    #[serde(skip)]
    flat: std::sync::OnceLock<Flat>,
    /// How per-row contributions are computed (not stored: the caller chooses).
    #[serde(skip)]
    explain: Explain,
}

/// How the trees' per-row contributions are computed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Explain {
    /// Each split on a row's path credits its change of expected value to its column
    /// (Saabas; XGBoost's `approx_contribs`): linear in the depth, what prediction uses unless
    /// asked otherwise.
    #[default]
    Path,
    /// Exact Shapley values of each tree's expected output (path-dependent TreeSHAP, see
    /// [`crate::shap`]): consistent where path credits favour the columns split on near the
    /// leaves, and about a hundred times slower.
    Shap,
}

fn one() -> usize {
    1
}

impl std::fmt::Debug for Gbm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Gbm({} trees)", self.trees.len())
    }
}

/// Per column, the bin edges: value `v` falls in bin `1 + #{edges < v}`; missing is bin 0.
struct Binner {
    edges: Vec<Vec<f64>>,
}

/// Rows of a [`Dense`] to train on: all of them, or a pick of them in that order (so the
/// caller need not copy them out).
#[derive(Clone, Copy)]
struct Pick<'a> {
    x: &'a Dense,
    rows: Option<&'a [usize]>,
}

impl<'a> Pick<'a> {
    fn all(x: &'a Dense) -> Self {
        Pick { x, rows: None }
    }

    fn len(&self) -> usize {
        self.rows.map_or(self.x.rows, <[usize]>::len)
    }

    /// The row of `x` that is the pick's `i`-th.
    #[inline]
    fn row(&self, i: usize) -> usize {
        self.rows.map_or(i, |r| r[i])
    }

    fn column(&self, c: usize) -> &'a [f64] {
        &self.x.data[c * self.x.rows..(c + 1) * self.x.rows]
    }
}

impl Binner {
    fn fit(x: Pick, bins: u16) -> Binner {
        let value_bins = (bins.clamp(2, 255) - 1) as usize;
        let n = x.len();
        let step = n.div_ceil(BIN_SAMPLE).max(1);
        let edges = (0..x.x.cols)
            .into_par_iter()
            .map(|c| {
                let col = x.column(c);
                let mut v: Vec<f64> = (0..n)
                    .step_by(step)
                    .map(|i| col[x.row(i)])
                    .filter(|v| !v.is_nan())
                    .collect();
                v.sort_unstable_by(f64::total_cmp);
                edges_of(&v, value_bins)
            })
            .collect();
        Binner { edges }
    }

    #[inline]
    fn bin(&self, c: usize, v: f64) -> u8 {
        if v.is_nan() {
            0
        } else {
            1 + self.edges[c].partition_point(|&e| e < v) as u8
        }
    }

    /// The rows of `x`, binned, row-major.
    fn apply(&self, x: Pick) -> Vec<u8> {
        let cols = x.x.cols;
        let mut out = vec![0u8; x.len() * cols];
        out.par_chunks_mut(PREDICT_ROWS * cols.max(1))
            .enumerate()
            .for_each(|(k, chunk)| {
                let r0 = k * PREDICT_ROWS;
                for c in 0..cols {
                    let col = x.column(c);
                    for (i, row) in chunk.chunks_exact_mut(cols).enumerate() {
                        row[c] = self.bin(c, col[x.row(r0 + i)]);
                    }
                }
            });
        out
    }
}

/// Bin edges of sorted values: a cut between every two distinct values when they fit, else
/// cuts at about equal counts, never inside a run of equal values.
fn edges_of(sorted: &[f64], value_bins: usize) -> Vec<f64> {
    let mut distinct: Vec<(f64, usize)> = Vec::new();
    for &v in sorted {
        match distinct.last_mut() {
            Some((d, n)) if *d == v => *n += 1,
            _ => distinct.push((v, 1)),
        }
    }
    let cut = |a: f64, b: f64| {
        let m = a + (b - a) / 2.0;
        if m >= b { a } else { m }
    };
    if distinct.len() <= value_bins {
        return distinct.windows(2).map(|w| cut(w[0].0, w[1].0)).collect();
    }
    let mut edges = Vec::with_capacity(value_bins - 1);
    let mut left = sorted.len();
    let mut acc = 0usize;
    for (i, w) in distinct.windows(2).enumerate() {
        let bins_left = value_bins - edges.len();
        if bins_left <= 1 {
            break;
        }
        acc += w[0].1;
        // The count each remaining bin should hold, recomputed so big runs do not starve the rest.
        let target = left.div_ceil(bins_left);
        let remaining_values = distinct.len() - i - 1;
        if acc >= target || remaining_values < bins_left {
            edges.push(cut(w[0].0, w[1].0));
            left -= acc;
            acc = 0;
        }
    }
    edges
}

/// Gradient and hessian summed over a bin (LightGBM's layout: a bin's row count is estimated
/// from its hessian share where the least rows per leaf is checked; a leaf's own count is exact).
type Pair = [f64; 2];
/// One column's histogram.
type Hist = [Pair; SLOTS];
/// A leaf's gradient, hessian and row count.
type Sums = [f64; 3];

fn zero_hists(cols: usize) -> Vec<Hist> {
    vec![[[0.0; 2]; SLOTS]; cols]
}

/// Rows whose memory is touched at a time before their histograms are summed.
const GATHER: usize = 512;

/// Adds the rows `rows` of `bins` into `out`. In groups of [`GATHER`], the rows' bins and
/// gradients are first touched (a loop of independent loads, so many cache misses are in
/// flight at once; copying them out cost more, one `memcpy` call per row), then summed while
/// they are in cache.
fn accumulate(bins: &[u8], cols: usize, gh: &[Grad], rows: &[u32], out: &mut [Hist]) {
    // Consecutive rows (rows are kept in ascending order: the root's are all of them) are
    // summed in place.
    if let (Some(&a), Some(&z)) = (rows.first(), rows.last())
        && (z - a) as usize + 1 == rows.len()
    {
        let (a, z) = (a as usize, z as usize + 1);
        sum_rows(bins[a * cols..z * cols].chunks_exact(cols), &gh[a..z], out);
        return;
    }
    for chunk in rows.chunks(GATHER) {
        let mut touch = 0u8;
        for &r in chunk {
            let r = r as usize;
            touch ^= bins[r * cols] ^ bins[(r + 1) * cols - 1] ^ (gh[r][1].to_bits() as u8);
        }
        std::hint::black_box(touch);
        sum_rows(
            chunk.iter().map(|&r| {
                let r = r as usize;
                &bins[r * cols..(r + 1) * cols]
            }),
            chunk.iter().map(|&r| &gh[r as usize]),
            out,
        );
    }
}

/// Adds rows of bins, with their gradients, into `out`.
#[inline(always)]
fn sum_rows<'a>(
    rows: impl Iterator<Item = &'a [u8]>,
    gh: impl IntoIterator<Item = &'a Grad>,
    out: &mut [Hist],
) {
    for (row, gd) in rows.zip(gh) {
        let [g, h] = gd.map(f64::from);
        for (hist, &b) in out.iter_mut().zip(row) {
            let s = &mut hist[b as usize];
            s[0] += g;
            s[1] += h;
        }
    }
}

/// The rows of one part when `n` rows are cut into parts (see [`PARTS`]).
fn part_len(n: usize) -> usize {
    n.div_ceil(PARTS).max(PART_ROWS)
}

/// The histograms of `rows`: the parts in parallel, summed in part order.
fn histograms(
    bins: &[u8],
    cols: usize,
    gh: &[Grad],
    rows: &[u32],
    pool: &mut Vec<Vec<Hist>>,
) -> Vec<Hist> {
    let mut take = || {
        let mut h = pool.pop().unwrap_or_else(|| zero_hists(cols));
        h.iter_mut().for_each(|x| x.fill([0.0; 2]));
        h
    };
    let mut out = take();
    let len = part_len(rows.len());
    if rows.len() <= len {
        accumulate(bins, cols, gh, rows, &mut out);
        return out;
    }
    let mut parts: Vec<Vec<Hist>> = (0..rows.len().div_ceil(len)).map(|_| take()).collect();
    parts
        .par_iter_mut()
        .zip(rows.par_chunks(len))
        .for_each(|(h, block)| accumulate(bins, cols, gh, block, h));
    for p in parts {
        for (o, h) in out.iter_mut().zip(&p) {
            for (a, b) in o.iter_mut().zip(h) {
                a[0] += b[0];
                a[1] += b[1];
            }
        }
        pool.push(p);
    }
    out
}

#[derive(Debug, Clone, Copy)]
struct Split {
    gain: f64,
    feature: usize,
    /// The last bin that goes left.
    bin: u8,
    missing_left: bool,
}

struct Grower<'a> {
    p: &'a GbmParams,
    /// Bins row-major (for histograms: one pass over a row serves every column).
    bins: &'a [u8],
    /// The same bins column-major (for partitions: a column is small enough to stay cached).
    columns: &'a [u8],
    rows: usize,
    cols: usize,
    /// Bin edges per column (a split's threshold is its last left bin's upper edge).
    edges: &'a [Vec<f64>],
}

fn score(g: f64, h: f64, l2: f64) -> f64 {
    g * g / (h + l2)
}

impl Grower<'_> {
    fn allowed(&self, h: f64, rows: f64) -> bool {
        rows >= self.p.min_leaf_rows as f64 && h >= self.p.min_leaf_weight
    }

    /// The best split of a leaf with these histograms and totals, if any gains.
    fn best(&self, hists: &[Hist], total: Sums) -> Option<Split> {
        let l2 = self.p.l2;
        let parent = score(total[0], total[1], l2);
        let rows_per_h = total[2] / total[1];
        let mut best: Option<Split> = None;
        for (f, hist) in hists.iter().enumerate() {
            // Value bins of the column: one more than its edges.
            let nb = self.edges[f].len() + 1;
            let miss = hist[0];
            let has_missing = miss[1] > 0.0;
            let directions: &[bool] = if has_missing {
                &[false, true]
            } else {
                &[false]
            };
            let mut acc = [0.0; 2];
            for (t, s) in hist.iter().enumerate().take(nb).skip(1) {
                acc = [acc[0] + s[0], acc[1] + s[1]];
                for &ml in directions {
                    let left = if ml {
                        [acc[0] + miss[0], acc[1] + miss[1]]
                    } else {
                        acc
                    };
                    let right = [total[0] - left[0], total[1] - left[1]];
                    let left_rows = (left[1] * rows_per_h).round();
                    if !self.allowed(left[1], left_rows)
                        || !self.allowed(right[1], total[2] - left_rows)
                    {
                        continue;
                    }
                    let gain = score(left[0], left[1], l2) + score(right[0], right[1], l2) - parent;
                    if gain > 1e-12 && best.is_none_or(|b| gain > b.gain) {
                        best = Some(Split {
                            gain,
                            feature: f,
                            bin: t as u8,
                            // Without missing values here, they follow the heavier side.
                            missing_left: if has_missing { ml } else { left[1] >= right[1] },
                        });
                    }
                }
            }
        }
        best
    }
}

/// A leaf while a tree grows: its rows are `order[start..end]`.
struct Open {
    node: usize,
    start: usize,
    end: usize,
    depth: usize,
    total: Sums,
    hists: Option<Vec<Hist>>,
    split: Option<Split>,
}

impl Gbm {
    /// Fits with early stopping on `valid`; returns the booster, the trees it kept and the
    /// log-odds of the validation rows (the same bits as [`Gbm::logits`] gives).
    pub fn fit_early(
        train: &Dense,
        y: &[f64],
        valid: &Dense,
        yv: &[f64],
        p: &GbmParams,
    ) -> Result<(Gbm, usize, Vec<f64>), LearnError> {
        early(Pick::all(train), y, Pick::all(valid), yv, p)
    }

    /// [`Gbm::fit_early`] on rows `train` of `x`, validated on rows `valid` of `x` (`y` and
    /// `yv` their labels), without copying them out: the same model.
    pub fn fit_early_rows(
        x: &Dense,
        train: &[usize],
        y: &[f64],
        valid: &[usize],
        yv: &[f64],
        p: &GbmParams,
    ) -> Result<(Gbm, usize, Vec<f64>), LearnError> {
        let pick = |rows| Pick {
            x,
            rows: Some(rows),
        };
        early(pick(train), y, pick(valid), yv, p)
    }

    /// One booster whose log-odds are the mean of `boosters`' (their trees one after another,
    /// every node's value divided by their count; per-row contributions are averaged the same
    /// way). One booster is returned as it is.
    pub fn average(mut boosters: Vec<Gbm>) -> Gbm {
        assert!(!boosters.is_empty(), "at least one booster to average");
        if boosters.len() == 1 {
            return boosters.pop().expect("one booster");
        }
        let k = boosters.len() as f64;
        let base = boosters.iter().map(|g| g.base).sum::<f64>() / k;
        let trees = boosters
            .into_iter()
            .flat_map(|g| g.trees)
            .map(|mut t| {
                for n in &mut t.nodes {
                    n.value /= k;
                }
                t
            })
            .collect();
        Gbm {
            base,
            trees,
            threads: 1,
            flat: std::sync::OnceLock::new(),
            explain: Explain::Path,
        }
    }

    /// Fits exactly `iterations` trees.
    pub fn fit(
        train: &Dense,
        y: &[f64],
        iterations: usize,
        p: &GbmParams,
    ) -> Result<Gbm, LearnError> {
        with_pool(p.threads, || {
            boost(Pick::all(train), y, None, iterations.max(1), p)
        })
        .map(|(g, _)| g)
    }

    /// Checks that the trees are trees over `cols` columns (as a model file must hold them):
    /// every split on a column below `cols`, its children after it and inside the tree.
    pub fn check(&self, cols: usize) -> Result<(), String> {
        if cols > MAX_COLUMNS {
            return Err(format!(
                "{cols} columns, at most {MAX_COLUMNS} are supported"
            ));
        }
        for (t, tree) in self.trees.iter().enumerate() {
            if tree.nodes.is_empty() {
                return Err(format!("tree {t} has no nodes"));
            }
            for (i, n) in tree.nodes.iter().enumerate() {
                if n.feature == LEAF {
                    continue;
                }
                let l = n.left as usize;
                if n.feature as usize >= cols || l <= i || l + 1 >= tree.nodes.len() {
                    return Err(format!(
                        "tree {t}, node {i}: a split on column {} with children {l} and {} \
                         (the model has {cols} columns, the tree {} nodes)",
                        n.feature,
                        l + 1,
                        tree.nodes.len()
                    ));
                }
            }
        }
        Ok(())
    }

    /// Trees used for prediction.
    pub fn trees(&self) -> usize {
        self.trees.len()
    }

    fn flat(&self) -> &Flat {
        self.flat.get_or_init(|| Flat::new(self.base, &self.trees))
    }

    /// Log-odds per row: the base value, then each tree's leaf value in tree order.
    pub fn logits(&self, x: &Dense) -> Vec<f64> {
        let mut z = vec![0.0; x.rows];
        let flat = self.flat();
        with_pool(self.threads, || {
            z.par_chunks_mut(PREDICT_ROWS)
                .enumerate()
                .for_each(|(k, out)| {
                    let r0 = k * PREDICT_ROWS;
                    let rows = out.len();
                    flat.logits(rows, |r, c| x.data[c * x.rows + r0 + r], self.base, out);
                })
        });
        z
    }

    /// Contributions per row: `cols + 1` values (the last is the base value), summing to the
    /// row's log-odds. They follow each row's path through every tree and credit each split's
    /// change of the (hessian-weighted) node value to its column (Saabas; XGBoost's
    /// `approx_contribs`): exact Shapley values (TreeSHAP) cost far more per row, this is
    /// linear in the depth.
    pub fn contributions(&self, x: &Dense) -> Vec<f64> {
        let w = x.cols + 1;
        let mut c = vec![0.0; x.rows * w];
        if self.explain == Explain::Shap {
            let depth = self.depth();
            with_pool(self.threads, || {
                c.par_chunks_mut(w).enumerate().for_each_init(
                    || crate::shap::Scratch::new(depth),
                    |s, (r, out)| self.shap_row(|col| x.data[col * x.rows + r], out, s),
                )
            });
            return c;
        }
        let flat = self.flat();
        with_pool(self.threads, || {
            c.par_chunks_mut(PREDICT_ROWS * w)
                .enumerate()
                .for_each(|(k, out)| {
                    let r0 = k * PREDICT_ROWS;
                    let rows = out.len() / w;
                    flat.contributions(rows, |r, c| x.data[c * x.rows + r0 + r], x.cols, out);
                })
        });
        c
    }

    /// The contributions of many rows (`values`: rows × `nf`, row-major; `contrib`: rows ×
    /// (`nf` + 1), the base value last), tree by tree so each tree stays in cache for every
    /// row. Each row's sums run in tree order, whatever the batch, so the same bits.
    pub fn block_contributions(&self, values: &[f64], nf: usize, contrib: &mut [f64]) {
        if self.explain == Explain::Shap {
            let mut s = crate::shap::Scratch::new(self.depth());
            for (row, out) in values
                .chunks_exact(nf.max(1))
                .zip(contrib.chunks_exact_mut(nf + 1))
            {
                self.shap_row(|c| row[c], out, &mut s);
            }
            return;
        }
        let rows = contrib.len() / (nf + 1);
        self.flat()
            .contributions(rows, |r, c| values[r * nf + c], nf, contrib);
    }

    /// One row's exact Shapley values (column `c` at `value(c)`) into `out` (columns, then
    /// the expected log-odds: the base plus every root's value, as with path credits).
    /// `s` holds buffers for the deepest tree ([`Gbm::depth`]).
    fn shap_row(
        &self,
        value: impl Fn(usize) -> f64,
        out: &mut [f64],
        s: &mut crate::shap::Scratch,
    ) {
        let nf = out.len() - 1;
        out.fill(0.0);
        let mut expected = self.base;
        for t in &self.trees {
            crate::shap::add_tree_with(t, &value, &mut out[..nf], s);
            expected += t.nodes[0].value;
        }
        out[nf] = expected;
    }

    /// The depth of the deepest tree (read off the trees: Shapley values do not need the
    /// prediction layout).
    fn depth(&self) -> usize {
        self.trees.iter().map(|t| t.depth(0)).max().unwrap_or(0)
    }

    /// How [`Gbm::contributions`] and [`Gbm::block_contributions`] credit columns.
    pub fn explain(&self) -> Explain {
        self.explain
    }

    /// Chooses how [`Gbm::contributions`] and [`Gbm::block_contributions`] credit columns.
    pub fn set_explain(&mut self, explain: Explain) {
        self.explain = explain;
    }

    /// Threads to predict with (the trained value is not carried across machines).
    pub fn set_threads(&mut self, threads: usize) {
        self.threads = threads.max(1);
    }
}

/// [`Gbm::fit_early`] on picks of rows.
fn early(
    train: Pick,
    y: &[f64],
    valid: Pick,
    yv: &[f64],
    p: &GbmParams,
) -> Result<(Gbm, usize, Vec<f64>), LearnError> {
    let (g, zv) = with_pool(p.threads, || {
        boost(train, y, Some((valid, yv)), p.iterations, p)
    })?;
    let n = g.trees.len();
    Ok((g, n, zv))
}

/// Runs `f` on a pool of `threads` threads (a pool even for one, so rayon's parallel loops
/// inside `f` do not spread to the global pool); inline if the pool cannot be built.
pub(crate) fn with_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    match rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()
    {
        Ok(pool) => pool.install(f),
        Err(_) => f(),
    }
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// A row's gradient and hessian, single precision as LightGBM keeps them (half the memory
/// traffic of the histogram pass); the histograms sum them in double precision.
type Grad = [f32; 2];

fn gradients(z: &[f64], y: &[f64], gh: &mut [Grad]) {
    gh.par_chunks_mut(BLOCK_ROWS)
        .zip(z.par_chunks(BLOCK_ROWS).zip(y.par_chunks(BLOCK_ROWS)))
        .for_each(|(gh, (z, y))| block_gradients(z, y, gh));
}

fn block_gradients(z: &[f64], y: &[f64], gh: &mut [Grad]) {
    for ((o, &z), &y) in gh.iter_mut().zip(z).zip(y) {
        let p = sigmoid(z);
        *o = [(p - y) as f32, (p * (1.0 - p)).max(1e-16) as f32];
    }
}

/// Adds each leaf's value to the log-odds of its rows (`order[start..end]` for each leaf in
/// `leaves`, ascending within a leaf) and recomputes their gradients: blocks of rows in
/// parallel, each finding its part of every leaf by binary search.
fn update(
    z: &mut [f64],
    y: &[f64],
    gh: &mut [Grad],
    order: &[u32],
    leaves: &[(usize, usize, usize)],
    tree: &Tree,
) {
    z.par_chunks_mut(BLOCK_ROWS)
        .zip(gh.par_chunks_mut(BLOCK_ROWS))
        .enumerate()
        .for_each(|(k, (z, gh))| {
            let (r0, r1) = ((k * BLOCK_ROWS) as u32, (k * BLOCK_ROWS + z.len()) as u32);
            for &(node, start, end) in leaves {
                let v = tree.nodes[node].value;
                let rows = &order[start..end];
                let a = rows.partition_point(|&r| r < r0);
                let b = a + rows[a..].partition_point(|&r| r < r1);
                for &r in &rows[a..b] {
                    z[(r - r0) as usize] += v;
                }
            }
            let y = &y[r0 as usize..r1 as usize];
            block_gradients(z, y, gh);
        });
}

/// Mean log-loss of log-odds `z`: blocks in parallel, summed in block order.
fn log_loss_of(z: &[f64], y: &[f64]) -> f64 {
    let parts: Vec<f64> = z
        .par_chunks(BLOCK_ROWS)
        .zip(y.par_chunks(BLOCK_ROWS))
        .map(|(z, y)| block_log_loss(z, y))
        .collect();
    parts.iter().sum::<f64>() / z.len().max(1) as f64
}

fn block_log_loss(z: &[f64], y: &[f64]) -> f64 {
    // log(1 + e^z) - y z = max(z, 0) + log(1 + e^-|z|) - y z.
    let mut sum = 0.0;
    let mut logs = Log1pSum::new();
    for (&z, &y) in z.iter().zip(y) {
        sum += z.max(0.0) - y * z;
        if let Some(group) = logs.add((-z.abs()).exp()) {
            sum += group;
        }
    }
    sum + logs.rest()
}

/// The boosting loop; with `valid`, also the validation log-odds at the kept trees.
fn boost(
    x: Pick,
    y: &[f64],
    valid: Option<(Pick, &[f64])>,
    iterations: usize,
    p: &GbmParams,
) -> Result<(Gbm, Vec<f64>), LearnError> {
    let n = x.len();
    if n == 0 || y.len() != n {
        return Err(LearnError::Data("boosted trees: no training rows".into()));
    }
    let cols = x.x.cols;
    if cols > MAX_COLUMNS {
        return Err(LearnError::Data(format!(
            "boosted trees: {cols} columns, at most {MAX_COLUMNS} are supported"
        )));
    }
    let binner = Binner::fit(x, p.bins);
    let bins = binner.apply(x);
    let mut columns = vec![0u8; bins.len()];
    columns.par_chunks_mut(n).enumerate().for_each(|(c, out)| {
        for (r, b) in out.iter_mut().enumerate() {
            *b = bins[r * cols + c];
        }
    });
    let grower = Grower {
        p,
        bins: &bins,
        columns: &columns,
        rows: n,
        cols,
        edges: &binner.edges,
    };
    let mean = (y.iter().sum::<f64>() / n as f64).clamp(1e-6, 1.0 - 1e-6);
    let base = (mean / (1.0 - mean)).ln();
    let mut z = vec![base; n];
    let mut gh: Vec<Grad> = vec![[0.0; 2]; n];
    let mut pool: Vec<Vec<Hist>> = Vec::new();
    // The validation rows as codes of their bins (bin 0, missing, goes either way).
    let mut valid = valid.map(|(v, yv)| {
        let b = binner.apply(v);
        let mut codes = vec![0u16; 2 * b.len()];
        for (c, &b) in codes.chunks_exact_mut(2).zip(&b) {
            c.copy_from_slice(&if b == 0 {
                [u16::MAX, 0]
            } else {
                [u16::from(b); 2]
            });
        }
        let codes = Codes {
            codes,
            width: 2 * cols,
            rows: v.len(),
        };
        (codes, yv, vec![base; v.len()])
    });
    let mut trees: Vec<Tree> = Vec::new();
    let (mut best_loss, mut best_len) = (f64::INFINITY, 0usize);
    // The validation log-odds at the best length so far.
    let mut best_z = valid.as_ref().map_or(Vec::new(), |v| v.2.clone());
    let mut order: Vec<u32> = Vec::with_capacity(n);
    let mut scratch: Vec<u32> = vec![0; n];
    gradients(&z, y, &mut gh);
    for _ in 0..iterations {
        order.clear();
        order.extend(0..n as u32);
        let Grown {
            tree,
            split_bins,
            leaves,
        } = grow(&grower, &gh, &mut order, &mut scratch, &mut pool);
        update(&mut z, y, &mut gh, &order, &leaves, &tree);
        if let Some((codes, yv, zv)) = valid.as_mut() {
            let steps = binned_steps(&tree, &split_bins);
            let depth = tree.depth(0) as u32;
            zv.par_chunks_mut(PREDICT_ROWS)
                .enumerate()
                .for_each(|(k, out)| {
                    for g in (0..out.len()).step_by(LANES) {
                        let at = walk(&steps, 0, depth, codes, k * PREDICT_ROWS + g);
                        for (z, &i) in out[g..].iter_mut().zip(&at) {
                            *z += tree.nodes[i as usize].value;
                        }
                    }
                });
            trees.push(tree);
            let loss = log_loss_of(zv, yv);
            // (The first tree is kept whatever its loss: a booster has at least one.)
            if loss < best_loss || trees.len() == 1 {
                (best_loss, best_len) = (loss, trees.len());
                best_z.copy_from_slice(zv);
            } else if trees.len() - best_len >= p.early_stopping.max(1) {
                break;
            }
        } else {
            trees.push(tree);
        }
    }
    if valid.is_some() {
        trees.truncate(best_len);
    }
    let g = Gbm {
        base,
        trees,
        threads: 1,
        flat: Default::default(),
        explain: Explain::Path,
    };
    Ok((g, best_z))
}

/// A tree's splits on the training bins, as steps of a walk on bin codes (see [`Codes`]).
fn binned_steps(t: &Tree, split_bins: &[u8]) -> Vec<Step> {
    t.nodes
        .iter()
        .zip(split_bins)
        .enumerate()
        .map(|(i, (n, &b))| {
            if n.feature == LEAF {
                Step {
                    left: i as u32,
                    slot: 0,
                    code: u16::MAX,
                }
            } else {
                Step {
                    left: n.left,
                    slot: (2 * n.feature + u32::from(n.missing_left)) as u16,
                    code: u16::from(b),
                }
            }
        })
        .collect()
}

/// Stable partition of `rows` by the split on column `col`: the left rows first, in order;
/// returns how many. Big leaves are cut into parts done in parallel and then joined.
fn partition(col: &[u8], s: &Split, rows: &mut [u32], scratch: &mut [u32]) -> usize {
    let len = part_len(rows.len());
    let scratch = &mut scratch[..rows.len()];
    if rows.len() <= len {
        let nl = partition_part(col, s, rows, scratch);
        let n = rows.len();
        rows[nl..].copy_from_slice(&scratch[..n - nl]);
        return nl;
    }
    let lefts: Vec<usize> = rows
        .par_chunks_mut(len)
        .zip(scratch.par_chunks_mut(len))
        .map(|(r, sc)| partition_part(col, s, r, sc))
        .collect();
    let mut at = 0;
    for (k, &nl) in lefts.iter().enumerate() {
        rows.copy_within(k * len..k * len + nl, at);
        at += nl;
    }
    let total_left = at;
    for (k, &nl) in lefts.iter().enumerate() {
        let part = (k * len)..((k + 1) * len).min(scratch.len());
        let nr = part.len() - nl;
        rows[at..at + nr].copy_from_slice(&scratch[part.start..part.start + nr]);
        at += nr;
    }
    total_left
}

/// [`partition`] of one part: the left rows to the front of `rows`, the right ones to the
/// front of `scratch` (the caller puts them after the left ones), without branches (the side
/// is a coin flip to the branch predictor).
fn partition_part(col: &[u8], s: &Split, rows: &mut [u32], scratch: &mut [u32]) -> usize {
    let (mut nl, mut nr) = (0, 0);
    for i in 0..rows.len() {
        let r = rows[i];
        let b = col[r as usize];
        let left = (b == 0 && s.missing_left) | (b != 0 && b <= s.bin);
        rows[nl] = r;
        scratch[nr] = r;
        nl += usize::from(left);
        nr += usize::from(!left);
    }
    nl
}

/// One grown tree, with the bin of each split and each leaf's node and row range in `order`.
struct Grown {
    tree: Tree,
    split_bins: Vec<u8>,
    leaves: Vec<(usize, usize, usize)>,
}

/// Grows one tree on the gradients.
fn grow(
    g: &Grower,
    gh: &[Grad],
    order: &mut [u32],
    scratch: &mut [u32],
    pool: &mut Vec<Vec<Hist>>,
) -> Grown {
    let p = g.p;
    let leaf_value = |s: &Sums| -s[0] / (s[1] + p.l2) * p.learning_rate;
    let root_h = histograms(g.bins, g.cols, gh, order, pool);
    let mut total = [0.0, 0.0, order.len() as f64];
    for s in &root_h[0] {
        total = [total[0] + s[0], total[1] + s[1], total[2]];
    }
    let mut nodes = vec![Node {
        feature: LEAF,
        threshold: 0.0,
        left: 0,
        missing_left: false,
        value: leaf_value(&total),
    }];
    let splittable = |depth: usize, s: &Sums| {
        depth < p.max_depth && s[2] >= 2.0 * p.min_leaf_rows as f64 && p.max_leaves > 1
    };
    let mut open = vec![Open {
        node: 0,
        start: 0,
        end: order.len(),
        depth: 0,
        total,
        split: if splittable(0, &total) {
            g.best(&root_h, total)
        } else {
            None
        },
        hists: Some(root_h),
    }];
    // Hessian cover of every node, for the expected values.
    let mut cover = vec![total[1]];
    let mut split_bins = vec![0u8];
    let mut leaves = 1;
    while leaves < p.max_leaves {
        let Some(k) = (0..open.len())
            .filter(|&k| open[k].split.is_some())
            .max_by(|&a, &b| {
                let (ga, gb) = (open[a].split.unwrap().gain, open[b].split.unwrap().gain);
                ga.total_cmp(&gb).then(b.cmp(&a))
            })
        else {
            break;
        };
        let leaf = open.swap_remove(k);
        let s = leaf.split.expect("chosen for its split");
        let col = &g.columns[s.feature * g.rows..(s.feature + 1) * g.rows];
        let nl = partition(col, &s, &mut order[leaf.start..leaf.end], scratch);
        let nr = leaf.end - leaf.start - nl;
        let mid = leaf.start + nl;
        let parent_h = leaf.hists.expect("a leaf with a split has histograms");
        let hf = &parent_h[s.feature];
        let mut lt = [0.0, 0.0, nl as f64];
        let lo = if s.missing_left { 0 } else { 1 };
        for sum in &hf[lo..=s.bin as usize] {
            lt = [lt[0] + sum[0], lt[1] + sum[1], lt[2]];
        }
        let t = leaf.total;
        let rt = [t[0] - lt[0], t[1] - lt[1], t[2] - lt[2]];
        let depth = leaf.depth + 1;
        let (can_l, can_r) = (splittable(depth, &lt), splittable(depth, &rt));
        let left_smaller = nl <= nr;
        let (small_range, small_can, large_can) = if left_smaller {
            ((leaf.start, mid), can_l, can_r)
        } else {
            ((mid, leaf.end), can_r, can_l)
        };
        let (small_h, large_h) = if small_can || large_can {
            let sh = histograms(
                g.bins,
                g.cols,
                gh,
                &order[small_range.0..small_range.1],
                pool,
            );
            let lh = if large_can {
                let mut lh = parent_h;
                for (a, b) in lh.iter_mut().zip(&sh) {
                    for (x, y) in a.iter_mut().zip(b) {
                        *x = [x[0] - y[0], x[1] - y[1]];
                    }
                }
                Some(lh)
            } else {
                pool.push(parent_h);
                None
            };
            if small_can {
                (Some(sh), lh)
            } else {
                pool.push(sh);
                (None, lh)
            }
        } else {
            pool.push(parent_h);
            (None, None)
        };
        let (lh, rh) = if left_smaller {
            (small_h, large_h)
        } else {
            (large_h, small_h)
        };
        let li = nodes.len();
        split_bins[leaf.node] = s.bin;
        nodes[leaf.node] = Node {
            feature: s.feature as u32,
            threshold: g.edges[s.feature][s.bin as usize - 1],
            left: li as u32,
            missing_left: s.missing_left,
            value: 0.0,
        };
        // The children's best splits, side by side.
        let best = |h: &Option<Vec<Hist>>, sums: Sums, can: bool| match (h, can) {
            (Some(h), true) => g.best(h, sums),
            _ => None,
        };
        let (split_l, split_r) = rayon::join(|| best(&lh, lt, can_l), || best(&rh, rt, can_r));
        for (sums, hists, start, end, split) in [
            (lt, lh, leaf.start, mid, split_l),
            (rt, rh, mid, leaf.end, split_r),
        ] {
            let node = nodes.len();
            nodes.push(Node {
                feature: LEAF,
                threshold: 0.0,
                left: 0,
                missing_left: false,
                value: leaf_value(&sums),
            });
            cover.push(sums[1]);
            split_bins.push(0);
            let hists = match (hists, split.is_some()) {
                (Some(h), false) => {
                    pool.push(h);
                    None
                }
                (h, _) => h,
            };
            open.push(Open {
                node,
                start,
                end,
                depth,
                total: sums,
                hists,
                split,
            });
        }
        leaves += 1;
    }
    let mut ranges: Vec<(usize, usize, usize)> =
        open.iter().map(|o| (o.node, o.start, o.end)).collect();
    pool.extend(open.into_iter().filter_map(|o| o.hists));
    ranges.sort_unstable();
    let mut tree = Tree { nodes };
    expected_values(&mut tree, &cover, 0);
    Grown {
        tree,
        split_bins,
        leaves: ranges,
    }
}

/// Sets every split's value to the cover-weighted mean of its children (post-order).
fn expected_values(t: &mut Tree, cover: &[f64], i: usize) -> f64 {
    let n = t.nodes[i];
    if n.feature == LEAF {
        return n.value;
    }
    let (l, r) = (n.left as usize, n.left as usize + 1);
    let (vl, vr) = (expected_values(t, cover, l), expected_values(t, cover, r));
    let w = cover[l] + cover[r];
    let v = if w > 0.0 {
        (vl * cover[l] + vr * cover[r]) / w
    } else {
        (vl + vr) / 2.0
    };
    t.nodes[i].value = v;
    v
}

#[cfg(test)]
pub(crate) mod tests {
    use super::{Dense, Explain, Flat, Gbm, LEAF, Node, Small, Split, Tree, edges_of, partition};

    /// A split node (for trees written out by hand).
    pub(crate) fn split(
        feature: u32,
        threshold: f64,
        left: u32,
        missing_left: bool,
        value: f64,
    ) -> Node {
        Node {
            feature,
            threshold,
            left,
            missing_left,
            value,
        }
    }

    /// A leaf node.
    pub(crate) fn leaf(value: f64) -> Node {
        split(LEAF, 0.0, 0, false, value)
    }

    /// The leaf of a row, walked node by node on the raw values.
    fn reference_path(t: &Tree, row: &[f64]) -> Vec<usize> {
        let mut path = vec![0];
        loop {
            let n = &t.nodes[*path.last().unwrap()];
            if n.feature == LEAF {
                return path;
            }
            let v = row[n.feature as usize];
            let left = if v.is_nan() {
                n.missing_left
            } else {
                v <= n.threshold
            };
            path.push(n.left as usize + usize::from(!left));
        }
    }

    #[test]
    fn a_tree_that_is_not_a_tree_over_the_columns_is_refused() {
        let g = |nodes: Vec<Node>| Gbm {
            base: 0.0,
            trees: vec![Tree { nodes }],
            threads: 1,
            flat: Default::default(),
            explain: Explain::Path,
        };
        let good = vec![split(1, 0.5, 1, false, 0.0), leaf(0.1), leaf(-0.1)];
        assert_eq!(g(good.clone()).check(2), Ok(()));
        assert_eq!(
            g(good).check(1).unwrap_err(),
            "tree 0, node 0: a split on column 1 with children 1 and 2 (the model has 1 \
             columns, the tree 3 nodes)"
        );
        // A child outside the tree, and a split pointing back at itself.
        let outside = vec![split(0, 0.5, 2, false, 0.0), leaf(0.1), leaf(-0.1)];
        assert!(
            g(outside)
                .check(2)
                .unwrap_err()
                .contains("children 2 and 3")
        );
        let cycle = vec![split(0, 0.5, 0, false, 0.0), leaf(0.1)];
        assert!(g(cycle).check(2).unwrap_err().starts_with("tree 0, node 0"));
        assert_eq!(g(Vec::new()).check(2).unwrap_err(), "tree 0 has no nodes");
    }

    #[test]
    fn the_code_walk_reaches_the_leaves_of_the_value_walk() {
        // Two trees sharing column 0 with different thresholds, missing values sent both
        // ways, column 2 unused.
        let t1 = Tree {
            nodes: vec![
                split(0, 1.5, 1, true, 0.1),
                split(1, -2.0, 3, false, -0.2),
                leaf(0.4),
                leaf(-0.5),
                split(0, 0.25, 5, false, 0.05),
                leaf(0.3),
                leaf(-0.1),
            ],
        };
        let t2 = Tree {
            nodes: vec![
                split(1, 7.0, 1, false, 0.0),
                split(0, 1.5, 3, true, 0.2),
                leaf(-0.3),
                leaf(0.6),
                leaf(0.1),
            ],
        };
        let g = Gbm {
            base: -0.7,
            trees: vec![t1, t2],
            threads: 1,
            flat: Default::default(),
            explain: Explain::Path,
        };
        let vals = [
            f64::NAN,
            f64::NEG_INFINITY,
            -2.0,
            0.25,
            0.2500001,
            1.0,
            1.5,
            1.5000001,
            7.0,
            8.0,
            f64::INFINITY,
        ];
        let mut rows: Vec<[f64; 3]> = Vec::new();
        for &a in &vals {
            for &b in &vals {
                rows.push([a, b, 3.0]);
            }
        }
        let n = rows.len();
        let x = Dense {
            data: (0..3)
                .flat_map(|c| rows.iter().map(move |r| r[c]))
                .collect(),
            rows: n,
            cols: 3,
        };
        // The small layout (what these trees get) and the general one (bigger trees).
        assert!(g.flat().small.is_some());
        let general = Gbm {
            flat: Default::default(),
            explain: Explain::Path,
            ..g.clone()
        };
        let _ = general.flat.set(Flat {
            small: None,
            ..Flat::new(g.base, &g.trees)
        });
        let flat = Flat::new(g.base, &g.trees);
        let listed = Gbm {
            flat: Default::default(),
            explain: Explain::Path,
            ..g.clone()
        };
        let _ = listed.flat.set(Flat {
            small: Some(Small::new(&flat, &g.trees, false).unwrap()),
            ..flat
        });
        assert!(g.flat().small.as_ref().unwrap().dense);
        for g in [&g, &listed, &general] {
            check_walks(g, &x, &rows);
        }
    }

    /// A random tree of `leaves` leaves over `cols` columns (node values set as training sets
    /// them), grown by splitting a random leaf, so its shape is anything from a chain to a
    /// balanced tree.
    fn random_tree(rng: &mut impl rand::Rng, leaves: usize, cols: u32) -> Tree {
        let mut t = Tree {
            nodes: vec![leaf(0.0)],
        };
        while t.nodes.len() < 2 * leaves - 1 {
            let open: Vec<usize> = (0..t.nodes.len())
                .filter(|&i| t.nodes[i].feature == LEAF)
                .collect();
            let i = open[rng.random_range(0..open.len())];
            let left = t.nodes.len() as u32;
            t.nodes[i] = split(
                rng.random_range(0..cols),
                f64::from(rng.random_range(0..8u8)) * 0.5,
                left,
                rng.random_bool(0.5),
                0.0,
            );
            t.nodes.push(leaf(rng.random_range(-1.0..1.0)));
            t.nodes.push(leaf(rng.random_range(-1.0..1.0)));
        }
        let cover = vec![1.0; t.nodes.len()];
        super::expected_values(&mut t, &cover, 0);
        t
    }

    #[test]
    fn the_leaf_masks_reach_the_leaves_of_the_value_walk_on_any_tree_shape() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        // One to 32 leaves (the most the small layout takes), 5 columns (dense credits, a
        // width padded to 8) and 20 (credit lists).
        for cols in [5u32, 20] {
            let trees: Vec<Tree> = (1..=32)
                .chain([32, 32, 31, 2])
                .map(|l| random_tree(&mut rng, l, cols))
                .collect();
            let g = Gbm {
                base: 0.3,
                trees,
                threads: 1,
                flat: Default::default(),
                explain: Explain::Path,
            };
            let small = g.flat().small.as_ref().expect("the small layout");
            assert_eq!(small.dense, cols == 5);
            // Values on, between and beyond the thresholds, and missing.
            let vals = [f64::NAN, -1.0, 0.0, 0.25, 0.5, 1.0, 1.75, 2.0, 3.5, 9.0];
            let rows: Vec<Vec<f64>> = (0..509)
                .map(|_| {
                    (0..cols)
                        .map(|_| vals[rng.random_range(0..vals.len())])
                        .collect()
                })
                .collect();
            let x = Dense {
                data: (0..cols as usize)
                    .flat_map(|c| rows.iter().map(move |r| r[c]))
                    .collect(),
                rows: rows.len(),
                cols: cols as usize,
            };
            check_walks(&g, &x, &rows);
        }
    }

    /// `g`'s log-odds and contributions of `rows` (also in `x`) against a walk on values.
    fn check_walks<R: AsRef<[f64]> + std::fmt::Debug>(g: &Gbm, x: &Dense, rows: &[R]) {
        let z = g.logits(x);
        let c = g.contributions(x);
        let w = x.cols + 1;
        for (r, row) in rows.iter().enumerate() {
            let mut want = g.base;
            let mut credit = vec![0.0; w];
            credit[x.cols] = g.base;
            for t in &g.trees {
                let path = reference_path(t, row.as_ref());
                want += t.nodes[*path.last().unwrap()].value;
                credit[x.cols] += t.nodes[0].value;
                for w in path.windows(2) {
                    credit[t.nodes[w[0]].feature as usize] +=
                        t.nodes[w[1]].value - t.nodes[w[0]].value;
                }
            }
            assert_eq!(z[r].to_bits(), want.to_bits(), "row {row:?}");
            let got = &c[r * w..(r + 1) * w];
            for (a, b) in got.iter().zip(&credit) {
                assert!((a - b).abs() < 1e-12, "row {row:?}: {got:?} vs {credit:?}");
            }
            assert!((got.iter().sum::<f64>() - want).abs() < 1e-12);
        }
    }

    #[test]
    fn a_big_partition_in_parts_is_the_stable_partition() {
        // 100,000 rows in parts (8 of 12,500), every fifth row missing.
        let col: Vec<u8> = (0..100_000u32)
            .map(|r| {
                if r % 5 == 0 {
                    0
                } else {
                    (r * 7919 % 251) as u8 + 1
                }
            })
            .collect();
        for missing_left in [false, true] {
            let s = Split {
                gain: 1.0,
                feature: 0,
                bin: 97,
                missing_left,
            };
            let mut rows: Vec<u32> = (0..100_000).filter(|r| r % 3 != 0).collect();
            let goes_left = |r: &u32| {
                let b = col[*r as usize];
                if b == 0 { missing_left } else { b <= 97 }
            };
            let (mut want, right): (Vec<u32>, Vec<u32>) = rows.iter().partition(|r| goes_left(r));
            let nl = want.len();
            want.extend(right);
            let mut scratch = vec![0; rows.len()];
            assert_eq!(partition(&col, &s, &mut rows, &mut scratch), nl);
            assert!(rows == want, "missing_left {missing_left}");
        }
    }

    #[test]
    fn few_distinct_values_get_a_bin_each_and_many_get_equal_counts() {
        assert_eq!(edges_of(&[1.0, 1.0, 2.0, 4.0], 254), vec![1.5, 3.0]);
        assert!(edges_of(&[7.0; 5], 254).is_empty());
        let v: Vec<f64> = (0..1000).map(f64::from).collect();
        let e = edges_of(&v, 4);
        assert_eq!(e, vec![249.5, 499.5, 749.5]);
        // A run of equal values is never cut, and the bins after it still share the rest.
        let mut v = vec![0.0; 600];
        v.extend((1..=400).map(f64::from));
        let e = edges_of(&v, 5);
        assert_eq!(e[0], 0.5);
        assert_eq!(e.len(), 4);
        assert_eq!(e[1..], [100.5, 200.5, 300.5]);
    }
}
