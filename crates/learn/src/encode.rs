//! The feature encoder, fitted on training data and stored in the model, so raw CSVs score
//! directly. Numbers are clipped to the training range of the central 99%, standardised and
//! imputed with a missing indicator, plus one indicator per decile bin of the training values
//! (linear model: a straight line and a step per decile, so a curved effect such as "a few
//! visits help, many help little more" is learned), or kept raw with missing as `NaN` (trees).
//! Categories keep the values seen often enough; rare values share `(other)`, missing ones
//! `(missing)`; the linear model one-hot encodes them, trees get codes ordered by the training
//! conversion rate (so one split separates good from bad values).

use crate::LearnError;
use crate::table::{Column, ColumnType, MISSING, Table, Values};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// The bucket name of rare categories.
pub const OTHER: &str = "(other)";
/// The bucket name of missing categories.
pub const MISSING_LEVEL: &str = "(missing)";

/// How one column becomes model inputs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "encoding", rename_all = "snake_case")]
pub enum Encoding {
    /// Numeric, boolean or date.
    Number {
        /// Training values are clipped to `[low, high]` (0.5% and 99.5% quantiles).
        low: f64,
        /// See `low`.
        high: f64,
        /// Mean of the clipped values (the imputed value).
        mean: f64,
        /// Standard deviation of the clipped values (1 if constant).
        std: f64,
        /// Share of training rows missing.
        missing_rate: f64,
        /// The linear term of the standardised value.
        term: u32,
        /// The linear term of "is missing", when training had missing values.
        missing_term: Option<u32>,
        /// Cut points of the linear model's bins (the deciles of the training values, fewer
        /// when values repeat or rows are few): a value `x` is in bin `k`, the number of cuts
        /// `<= x`. Empty: no bins (booleans, few distinct values, models from before bins).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        cuts: Vec<f64>,
        /// Share of training rows in each bin (missing rows are in none). Bin `k` is linear
        /// term `first + k`, `first` the term right after the value's and "is missing" terms.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        bin_freq: Vec<f64>,
    },
    /// Categorical.
    Levels {
        /// Bucket names: kept values, then [`OTHER`] and [`MISSING_LEVEL`] when needed.
        buckets: Vec<String>,
        /// Share of training rows per bucket.
        freq: Vec<f64>,
        /// The tree code of each bucket (its rank by smoothed training conversion rate).
        tree_code: Vec<f64>,
        /// The linear term of the first bucket; bucket `b` is term `first_term + b`.
        first_term: u32,
    },
}

impl Encoding {
    /// Adds `base` to every linear term index.
    fn shift(&mut self, base: u32) {
        match self {
            Encoding::Number {
                term, missing_term, ..
            } => {
                *term += base;
                if let Some(t) = missing_term {
                    *t += base;
                }
            }
            Encoding::Levels { first_term, .. } => *first_term += base,
        }
    }
}

/// One input column of the model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Feature {
    /// The column name in the CSV.
    pub name: String,
    /// Its type.
    pub kind: ColumnType,
    /// How it is encoded.
    #[serde(flatten)]
    pub encoding: Encoding,
}

/// Settings of the encoder.
#[derive(Debug, Clone, Copy)]
pub struct EncoderParams {
    /// A category needs at least this many training rows to be kept (else `(other)`); a
    /// number's bin needs as many on average.
    pub min_count: usize,
    /// At most this many bins per number for the linear model (0: none).
    pub bins: usize,
    /// Threads fitting columns (the encoder does not depend on it).
    pub threads: usize,
}

impl Default for EncoderParams {
    fn default() -> Self {
        EncoderParams {
            min_count: 10,
            bins: 10,
            threads: 1,
        }
    }
}

/// The linear term of a number's first bin: the one after its value's and "is missing" terms.
pub(crate) fn bins_start(term: u32, missing_term: Option<u32>) -> u32 {
    missing_term.unwrap_or(term) + 1
}

/// The fitted encoder.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Encoder {
    /// One entry per used column.
    pub features: Vec<Feature>,
    /// The number of linear terms.
    pub terms: usize,
}

/// The linear model's inputs: a sparse row per lead (compressed sparse rows).
#[derive(Debug, Clone, Default)]
pub struct Sparse {
    /// Row `r` is `idx[ptr[r]..ptr[r+1]]`.
    pub ptr: Vec<usize>,
    /// Term indices.
    pub idx: Vec<u32>,
    /// Values.
    pub val: Vec<f64>,
    /// Number of terms (columns).
    pub terms: usize,
}

impl Sparse {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.ptr.len().saturating_sub(1)
    }

    /// The entries of row `r`.
    pub fn row(&self, r: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        let (a, b) = (self.ptr[r], self.ptr[r + 1]);
        self.idx[a..b]
            .iter()
            .zip(&self.val[a..b])
            .map(|(&i, &v)| (i as usize, v))
    }

    /// The rows in `pick`, in that order.
    pub fn select(&self, pick: &[usize]) -> Sparse {
        let mut s = Sparse {
            ptr: vec![0],
            terms: self.terms,
            ..Sparse::default()
        };
        for &r in pick {
            let (a, b) = (self.ptr[r], self.ptr[r + 1]);
            s.idx.extend_from_slice(&self.idx[a..b]);
            s.val.extend_from_slice(&self.val[a..b]);
            s.ptr.push(s.idx.len());
        }
        s
    }
}

/// A linear model's rows however they are stored: what the logistic fit reads.
pub trait Rows: Sync {
    /// Number of rows.
    fn rows(&self) -> usize;
    /// Number of terms (columns).
    fn terms(&self) -> usize;
    /// Row `r`'s entries (term, value) in increasing term order, to `emit`.
    fn each(&self, r: usize, emit: impl FnMut(usize, f64));
    /// The most entries any of the rows `a..b` has.
    fn widest(&self, a: usize, b: usize) -> usize;
    /// Row `r`'s entries written to the fronts of `idx` and `val` (at least
    /// [`Rows::widest`] long); returns how many. What a fit's inner loop reads.
    fn fill(&self, r: usize, idx: &mut [usize], val: &mut [f64]) -> usize {
        let mut k = 0;
        self.each(r, |j, v| {
            idx[k] = j;
            val[k] = v;
            k += 1;
        });
        k
    }
}

impl Rows for Sparse {
    fn rows(&self) -> usize {
        Sparse::rows(self)
    }

    fn terms(&self) -> usize {
        self.terms
    }

    #[inline(always)]
    fn each(&self, r: usize, mut emit: impl FnMut(usize, f64)) {
        let (a, b) = (self.ptr[r], self.ptr[r + 1]);
        for (&i, &v) in self.idx[a..b].iter().zip(&self.val[a..b]) {
            emit(i as usize, v);
        }
    }

    fn widest(&self, a: usize, b: usize) -> usize {
        self.ptr[a..=b]
            .windows(2)
            .map(|p| p[1] - p[0])
            .max()
            .unwrap_or(0)
    }
}

/// The linear model's rows read straight from the encoded cells: each entry of
/// [`Encoder::sparse`] computed as a fit reads it (standardising a number and finding its bin
/// cost less than a stored design's memory: a million rows' is ~200 MB, and first-touching it
/// took longer than fitting on it).
pub struct Encoded<'a> {
    columns: Vec<EncodedColumn<'a>>,
    rows: usize,
    terms: usize,
}

enum EncodedColumn<'a> {
    Number {
        /// The raw values (`NaN` missing), standardised as they are read.
        x: &'a [f64],
        low: f64,
        high: f64,
        mean: f64,
        std: f64,
        /// Bin cut points (none: no bins) and the term of bin 0.
        cuts: &'a [f64],
        first_bin: u32,
        term: u32,
        missing_term: Option<u32>,
    },
    Levels {
        buckets: &'a [u32],
        first_term: u32,
    },
}

/// Runs `$put` with `$j`, `$v` bound to each entry (term, value) of row `$r` of an
/// [`Encoded`], in term order: a number's standardised value (unless 0) and its bin, or its
/// missing indicator; a category's bucket. A macro so that the body is written in place.
macro_rules! encoded_row {
    ($view:expr, $r:expr, |$j:ident, $v:ident| $put:expr) => {
        for c in &$view.columns {
            match c {
                EncodedColumn::Number {
                    x,
                    low,
                    high,
                    mean,
                    std,
                    cuts,
                    first_bin,
                    term,
                    missing_term,
                } => {
                    let x = x[$r];
                    if x.is_nan() {
                        if let Some(t) = missing_term {
                            let ($j, $v) = (*t as usize, 1.0);
                            $put;
                        }
                    } else {
                        let z = (x.clamp(*low, *high) - mean) / std;
                        if z != 0.0 {
                            let ($j, $v) = (*term as usize, z);
                            $put;
                        }
                        if !cuts.is_empty() {
                            let ($j, $v) = ((first_bin + bin_of(cuts, x) as u32) as usize, 1.0);
                            $put;
                        }
                    }
                }
                EncodedColumn::Levels {
                    buckets,
                    first_term,
                } => {
                    let b = buckets[$r];
                    if b != u32::MAX {
                        let ($j, $v) = ((first_term + b) as usize, 1.0);
                        $put;
                    }
                }
            }
        }
    };
}

impl Rows for Encoded<'_> {
    fn rows(&self) -> usize {
        self.rows
    }

    fn terms(&self) -> usize {
        self.terms
    }

    #[inline(always)]
    fn each(&self, r: usize, mut emit: impl FnMut(usize, f64)) {
        encoded_row!(self, r, |j, v| emit(j, v));
    }

    #[inline(always)]
    fn fill(&self, r: usize, idx: &mut [usize], val: &mut [f64]) -> usize {
        // Written out rather than through a closure, so the count stays in a register.
        let mut k = 0;
        encoded_row!(self, r, |j, v| {
            idx[k] = j;
            val[k] = v;
            k += 1;
        });
        k
    }

    fn widest(&self, _: usize, _: usize) -> usize {
        // A number gives its value and its bin (or its missing indicator); a category one.
        self.columns
            .iter()
            .map(|c| match c {
                EncodedColumn::Number { .. } => 2,
                EncodedColumn::Levels { .. } => 1,
            })
            .sum()
    }
}

/// The trees' inputs: one value per column per row, column-major; `NaN` is missing.
#[derive(Debug, Clone, Default)]
pub struct Dense {
    /// `data[c * rows + r]`.
    pub data: Vec<f64>,
    /// Rows.
    pub rows: usize,
    /// Columns (one per feature).
    pub cols: usize,
}

impl Dense {
    /// The rows in `pick`, in that order.
    pub fn select(&self, pick: &[usize]) -> Dense {
        let mut data = Vec::with_capacity(pick.len() * self.cols);
        for c in 0..self.cols {
            let col = &self.data[c * self.rows..(c + 1) * self.rows];
            data.extend(pick.iter().map(|&r| col[r]));
        }
        Dense {
            data,
            rows: pick.len(),
            cols: self.cols,
        }
    }
}

/// The `lo` and `hi` quantiles (`lo <= hi`) of `v`: the values at ranks
/// `round((n - 1) q)` of the sorted values, found by selection (`v` is reordered).
fn quantiles(v: &mut [f64], lo: f64, hi: f64) -> (f64, f64) {
    let rank = |q: f64| ((v.len() - 1) as f64 * q).round() as usize;
    let (i, j) = (rank(lo), rank(hi));
    let (_, &mut low, above) = v.select_nth_unstable_by(i, f64::total_cmp);
    let high = if j == i {
        low
    } else {
        *above.select_nth_unstable_by(j - i - 1, f64::total_cmp).1
    };
    (low, high)
}

/// Bin cut points of `v` (present values, reordered): the values at ranks
/// `round((n - 1) k / bins)`, `k = 1..bins`, that are above the smallest value and above the
/// cut before (so no bin is empty); none unless there are at least two (three bins).
fn cuts(v: &mut [f64], bins: usize) -> Vec<f64> {
    if bins < 3 || v.len() < 3 {
        return Vec::new();
    }
    let min = v.iter().copied().fold(f64::INFINITY, f64::min);
    let mut cuts: Vec<f64> = Vec::with_capacity(bins - 1);
    // Each selection looks only above the rank found before.
    let mut from = 0;
    for k in 1..bins {
        // Ranks grow with k, so each is at or above the one before.
        let rank = ((v.len() - 1) as f64 * k as f64 / bins as f64).round() as usize;
        let c = *v[from..]
            .select_nth_unstable_by(rank - from, f64::total_cmp)
            .1;
        from = rank;
        if c > min && cuts.last().is_none_or(|&l| c > l) {
            cuts.push(c);
        }
    }
    if cuts.len() < 2 {
        cuts.clear();
    }
    cuts
}

/// The bin of `x` (present) among `cuts`.
pub(crate) fn bin_of(cuts: &[f64], x: f64) -> usize {
    if cuts.len() <= 32 {
        // The cuts are sorted, so the bin is how many are at or below `x`: counted without
        // branches, which a binary search on random values mispredicts at every step.
        cuts.iter().map(|&c| usize::from(c <= x)).sum()
    } else {
        cuts.partition_point(|&c| c <= x)
    }
}

impl Encoder {
    /// Fits the encoder on the feature columns of `table`, with its outcome `y`.
    pub fn fit(table: &Table, y: &[f64], params: EncoderParams) -> Result<Encoder, LearnError> {
        let n = table.rows as f64;
        let prior = y.iter().sum::<f64>() / n.max(1.0);
        // Each column on its own (in parallel), its terms numbered from 0; then numbered in
        // column order.
        let fit_column = |col: &Column| -> Option<(Feature, u32)> {
            let mut terms = 0u32;
            let encoding = match &col.values {
                Values::Numbers(v) => {
                    let mut present: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
                    if present.is_empty() {
                        return None;
                    }
                    // Sums in row order (kept aside), quantiles by selection (no full sort).
                    let rows = present.clone();
                    let (low, high) = quantiles(&mut present, 0.005, 0.995);
                    let (low, high) = if low < high {
                        (low, high)
                    } else {
                        let min = present.iter().copied().min_by(f64::total_cmp);
                        let max = present.iter().copied().max_by(f64::total_cmp);
                        (min.unwrap_or(low), max.unwrap_or(high))
                    };
                    if low >= high {
                        return None;
                    }
                    let m = rows.len() as f64;
                    let mean = rows.iter().map(|x| x.clamp(low, high)).sum::<f64>() / m;
                    let var = rows
                        .iter()
                        .map(|x| (x.clamp(low, high) - mean).powi(2))
                        .sum::<f64>()
                        / m;
                    let std = if var > 0.0 { var.sqrt() } else { 1.0 };
                    let missing_rate = (n - m) / n;
                    let term = terms;
                    terms += 1;
                    let missing_term = (m < n).then(|| {
                        terms += 1;
                        term + 1
                    });
                    let bins = if col.kind == ColumnType::Boolean {
                        0
                    } else {
                        params.bins.min(present.len() / params.min_count.max(1))
                    };
                    let cuts = cuts(&mut present, bins);
                    let mut bin_freq = vec![0.0; if cuts.is_empty() { 0 } else { cuts.len() + 1 }];
                    if !cuts.is_empty() {
                        terms += bin_freq.len() as u32;
                        for &x in &rows {
                            bin_freq[bin_of(&cuts, x)] += 1.0;
                        }
                        bin_freq.iter_mut().for_each(|f| *f /= n);
                    }
                    Encoding::Number {
                        low,
                        high,
                        mean,
                        std,
                        missing_rate,
                        term,
                        missing_term,
                        cuts,
                        bin_freq,
                    }
                }
                Values::Levels { levels, codes } => {
                    let mut count = vec![0usize; levels.len()];
                    let mut missing = 0usize;
                    for &c in codes {
                        if c == MISSING {
                            missing += 1;
                        } else {
                            count[c as usize] += 1;
                        }
                    }
                    // Kept values by decreasing count, ties by name: a stable, readable order.
                    let mut kept: Vec<usize> = (0..levels.len())
                        .filter(|&l| count[l] >= params.min_count)
                        .collect();
                    kept.sort_by(|&a, &b| count[b].cmp(&count[a]).then(levels[a].cmp(&levels[b])));
                    let rare = count.iter().any(|&c| c > 0 && c < params.min_count);
                    let mut buckets: Vec<String> =
                        kept.iter().map(|&l| levels[l].clone()).collect();
                    if rare {
                        buckets.push(OTHER.into());
                    }
                    if missing > 0 {
                        buckets.push(MISSING_LEVEL.into());
                    }
                    if buckets.len() < 2 {
                        return None;
                    }
                    let map = bucket_map(&buckets, levels);
                    let mut pos = vec![0.0; buckets.len()];
                    let mut cnt = vec![0.0; buckets.len()];
                    for (r, &c) in codes.iter().enumerate() {
                        let b = if c == MISSING {
                            buckets.len() - 1
                        } else {
                            map[c as usize].expect("every training value has a bucket")
                        };
                        pos[b] += y[r];
                        cnt[b] += 1.0;
                    }
                    let rate: Vec<f64> = (0..buckets.len())
                        .map(|b| (pos[b] + 10.0 * prior) / (cnt[b] + 10.0))
                        .collect();
                    let mut order: Vec<usize> = (0..buckets.len()).collect();
                    order.sort_by(|&a, &b| rate[a].total_cmp(&rate[b]).then(a.cmp(&b)));
                    let mut tree_code = vec![0.0; buckets.len()];
                    for (rank, &b) in order.iter().enumerate() {
                        tree_code[b] = rank as f64;
                    }
                    let first_term = terms;
                    terms += buckets.len() as u32;
                    Encoding::Levels {
                        freq: cnt.iter().map(|c| c / n).collect(),
                        buckets,
                        tree_code,
                        first_term,
                    }
                }
            };
            Some((
                Feature {
                    name: col.name.clone(),
                    kind: col.kind,
                    encoding,
                },
                terms,
            ))
        };
        let columns: Vec<&Column> = table
            .columns
            .iter()
            .filter(|c| c.kind.is_feature())
            .collect();
        let drafts: Vec<Option<(Feature, u32)>> = crate::gbm::with_pool(params.threads, || {
            columns.par_iter().map(|c| fit_column(c)).collect()
        });
        let mut features = Vec::new();
        let mut terms = 0u32;
        for (mut f, t) in drafts.into_iter().flatten() {
            f.encoding.shift(terms);
            terms += t;
            features.push(f);
        }
        if features.is_empty() {
            return Err(LearnError::Data(format!(
                "{}: no usable feature column (every column is the target, the id, ignored, constant or free text)",
                table.source
            )));
        }
        Ok(Encoder {
            features,
            terms: terms as usize,
        })
    }

    /// The columns the model reads, with their types (the schema imposed when scoring).
    pub fn schema(&self) -> Vec<(String, ColumnType)> {
        self.features
            .iter()
            .map(|f| (f.name.clone(), f.kind))
            .collect()
    }

    /// Per categorical feature, its levels that read as placeholders (none in a model trained
    /// since they are; `unknown` in one trained before), for [`crate::TableOptions::levels`].
    pub fn placeholder_levels(&self) -> Vec<(String, Vec<String>)> {
        self.features
            .iter()
            .filter_map(|f| match &f.encoding {
                Encoding::Levels { buckets, .. } => {
                    let l: Vec<String> = buckets
                        .iter()
                        .filter(|b| {
                            *b != OTHER && *b != MISSING_LEVEL && crate::table::is_missing(b)
                        })
                        .cloned()
                        .collect();
                    (!l.is_empty()).then(|| (f.name.clone(), l))
                }
                _ => None,
            })
            .collect()
    }

    /// Per feature, the bucket (categorical) or clipped value (numeric) of every row.
    pub fn cells<'a>(&self, table: &'a Table) -> Result<Vec<Cells<'a>>, LearnError> {
        self.features
            .iter()
            .map(|f| {
                let col = table.column(&f.name).ok_or_else(|| {
                    LearnError::input(
                        &table.source,
                        1,
                        Some(&f.name),
                        "the model needs this column and the file has none",
                    )
                })?;
                Ok(match (&f.encoding, &col.values) {
                    (Encoding::Number { .. }, Values::Numbers(v)) => Cells::Numbers(v),
                    (Encoding::Levels { buckets, .. }, Values::Levels { levels, codes }) => {
                        let map = bucket_map(buckets, levels);
                        let fallback = fallback(buckets);
                        let miss = buckets.iter().position(|b| b == MISSING_LEVEL);
                        Cells::Buckets(
                            codes
                                .iter()
                                .map(|&c| {
                                    let b = if c == MISSING {
                                        miss
                                    } else {
                                        map[c as usize].or(fallback)
                                    };
                                    b.map_or(u32::MAX, |b| b as u32)
                                })
                                .collect(),
                        )
                    }
                    _ => {
                        return Err(LearnError::input(
                            &table.source,
                            1,
                            Some(&f.name),
                            "the column's type differs from the model's",
                        ));
                    }
                })
            })
            .collect()
    }

    /// The linear model's inputs for `table`.
    pub fn sparse(&self, cells: &[Cells], rows: usize) -> Sparse {
        self.sparse_with(cells, rows, 1)
    }

    /// The linear model's inputs for `table` as a view of `cells` (see [`Encoded`]).
    pub fn encoded<'a>(&'a self, cells: &'a [Cells<'_>], rows: usize) -> Encoded<'a> {
        let columns = self
            .features
            .iter()
            .zip(cells)
            .map(|(f, c)| match (&f.encoding, c) {
                (
                    Encoding::Number {
                        low,
                        high,
                        mean,
                        std,
                        term,
                        missing_term,
                        cuts,
                        ..
                    },
                    Cells::Numbers(v),
                ) => EncodedColumn::Number {
                    x: &v[..rows],
                    low: *low,
                    high: *high,
                    mean: *mean,
                    std: *std,
                    cuts,
                    first_bin: bins_start(*term, *missing_term),
                    term: *term,
                    missing_term: *missing_term,
                },
                (Encoding::Levels { first_term, .. }, Cells::Buckets(b)) => EncodedColumn::Levels {
                    buckets: &b[..rows],
                    first_term: *first_term,
                },
                _ => unreachable!("cells come from this encoder"),
            })
            .collect();
        Encoded {
            columns,
            rows,
            terms: self.terms,
        }
    }

    /// [`Encoder::sparse`] built by `threads` threads from [`Encoder::encoded`], each filling
    /// its own rows of one allocation (the result does not depend on the thread count).
    /// First-touching the ~150 MB of a million-row design is much of its cost, and it spreads
    /// over the threads.
    pub fn sparse_with(&self, cells: &[Cells], rows: usize, threads: usize) -> Sparse {
        let threads = threads.clamp(1, rows.div_ceil(65_536).max(1));
        let per = rows.div_ceil(threads).max(1);
        let ranges: Vec<(usize, usize)> = (0..rows)
            .step_by(per)
            .map(|a| (a, (a + per).min(rows)))
            .collect();
        let view = self.encoded(cells, rows);
        let view = &view;
        // Entries per row, then where each row starts.
        let mut ptr = vec![0usize; rows + 1];
        let count = |(a, b): (usize, usize), out: &mut [usize]| {
            for (r, o) in (a..b).zip(out) {
                let mut k = 0;
                view.each(r, |_, _| k += 1);
                *o = k;
            }
        };
        std::thread::scope(|s| {
            let mut rest = &mut ptr[1..];
            for &(a, b) in &ranges {
                let (mine, tail) = rest.split_at_mut(b - a);
                rest = tail;
                if threads == 1 {
                    count((a, b), mine);
                } else {
                    s.spawn(move || count((a, b), mine));
                }
            }
        });
        for r in 0..rows {
            ptr[r + 1] += ptr[r];
        }
        let nnz = ptr[rows];
        let (mut idx, mut val) = (vec![0u32; nnz], vec![0.0f64; nnz]);
        let fill = |(a, b): (usize, usize), idx: &mut [u32], val: &mut [f64]| {
            let mut k = 0;
            for r in a..b {
                view.each(r, |t, v| {
                    idx[k] = t as u32;
                    val[k] = v;
                    k += 1;
                });
            }
        };
        std::thread::scope(|s| {
            let (mut ri, mut rv) = (&mut idx[..], &mut val[..]);
            for &(a, b) in &ranges {
                let len = ptr[b] - ptr[a];
                let (mi, ti) = ri.split_at_mut(len);
                let (mv, tv) = rv.split_at_mut(len);
                ri = ti;
                rv = tv;
                if threads == 1 {
                    fill((a, b), mi, mv);
                } else {
                    s.spawn(move || fill((a, b), mi, mv));
                }
            }
        });
        Sparse {
            ptr,
            idx,
            val,
            terms: self.terms,
        }
    }

    /// The trees' inputs for `table`.
    pub fn dense(&self, cells: &[Cells], rows: usize) -> Dense {
        let mut data = Vec::with_capacity(rows * self.features.len());
        for (f, c) in self.features.iter().zip(cells) {
            match (&f.encoding, c) {
                (Encoding::Number { .. }, Cells::Numbers(v)) => data.extend_from_slice(v),
                (Encoding::Levels { tree_code, .. }, Cells::Buckets(b)) => {
                    data.extend(b.iter().map(|&b| {
                        if b == u32::MAX {
                            f64::NAN
                        } else {
                            tree_code[b as usize]
                        }
                    }))
                }
                _ => unreachable!("cells come from this encoder"),
            }
        }
        Dense {
            data,
            rows,
            cols: self.features.len(),
        }
    }

    /// The linear terms' names, e.g. `TotalVisits (per std. dev.)`, `City = Mumbai`.
    pub fn term_names(&self) -> Vec<String> {
        let mut names = vec![String::new(); self.terms];
        for f in &self.features {
            match &f.encoding {
                Encoding::Number {
                    term,
                    missing_term,
                    cuts,
                    ..
                } => {
                    names[*term as usize] = format!("{} (per std. dev.)", f.name);
                    if let Some(t) = missing_term {
                        names[*t as usize] = format!("{} = {MISSING_LEVEL}", f.name);
                    }
                    for k in 0..cuts.len() + usize::from(!cuts.is_empty()) {
                        names[(bins_start(*term, *missing_term) as usize) + k] =
                            format!("{} {}", f.name, bin_text(f.kind, cuts, k));
                    }
                }
                Encoding::Levels {
                    buckets,
                    first_term,
                    ..
                } => {
                    for (b, name) in buckets.iter().enumerate() {
                        names[*first_term as usize + b] = format!("{} = {name}", f.name);
                    }
                }
            }
        }
        names
    }

    /// Per number column with bins, what a lead's value in each bin adds to the linear
    /// model's log-odds against the average lead (its factor in a prediction), at a typical
    /// value of the bin: the middle of an inner bin; for the outer two, half the next bin's
    /// width beyond their cut, within the training range (values past it are clipped).
    /// `(column, [(bin, e.g. "in [3, 5)", log-odds)])`, in feature order.
    pub fn number_effects(&self, weights: &[f64]) -> Vec<(String, Vec<(String, f64)>)> {
        let w = |t: u32| weights[t as usize];
        self.features
            .iter()
            .filter_map(|f| match &f.encoding {
                Encoding::Number {
                    low,
                    high,
                    mean,
                    std,
                    missing_rate,
                    term,
                    missing_term,
                    cuts,
                    bin_freq,
                } if !cuts.is_empty() => {
                    let first_bin = bins_start(*term, *missing_term);
                    let average = missing_term.map_or(0.0, |t| w(t) * missing_rate)
                        + (0..bin_freq.len() as u32)
                            .map(|k| w(first_bin + k) * bin_freq[k as usize])
                            .sum::<f64>();
                    let last = cuts.len();
                    let effects = (0..=last)
                        .map(|k| {
                            let x = match k {
                                0 => (cuts[0] - (cuts[1] - cuts[0]) / 2.0).max(*low),
                                k if k == last => {
                                    (cuts[k - 1] + (cuts[k - 1] - cuts[k - 2]) / 2.0).min(*high)
                                }
                                k => (cuts[k - 1] + cuts[k]) / 2.0,
                            };
                            let z = (x.clamp(*low, *high) - mean) / std;
                            let e = w(*term) * z + w(first_bin + k as u32) - average;
                            (bin_text(f.kind, cuts, k), e)
                        })
                        .collect();
                    Some((f.name.clone(), effects))
                }
                _ => None,
            })
            .collect()
    }

    /// The average training value of each linear term (contributions are measured from it).
    pub fn term_means(&self) -> Vec<f64> {
        let mut m = vec![0.0; self.terms];
        for f in &self.features {
            match &f.encoding {
                Encoding::Number {
                    missing_term,
                    missing_rate,
                    term,
                    bin_freq,
                    ..
                } => {
                    if let Some(t) = missing_term {
                        m[*t as usize] = *missing_rate;
                    }
                    let first = bins_start(*term, *missing_term) as usize;
                    for (k, f) in bin_freq.iter().enumerate() {
                        m[first + k] = *f;
                    }
                }
                Encoding::Levels {
                    freq, first_term, ..
                } => {
                    for (b, f) in freq.iter().enumerate() {
                        m[*first_term as usize + b] = *f;
                    }
                }
            }
        }
        m
    }

    /// The feature each linear term belongs to.
    pub fn term_feature(&self) -> Vec<usize> {
        let mut owner = vec![0; self.terms];
        for (i, f) in self.features.iter().enumerate() {
            let (a, b) = match &f.encoding {
                Encoding::Number {
                    term,
                    missing_term,
                    bin_freq,
                    ..
                } => (
                    *term,
                    bins_start(*term, *missing_term) + bin_freq.len() as u32,
                ),
                Encoding::Levels {
                    buckets,
                    first_term,
                    ..
                } => (*first_term, first_term + buckets.len() as u32),
            };
            for t in a..b {
                owner[t as usize] = i;
            }
        }
        owner
    }
}

/// One feature's cells: values (numbers) or buckets (`u32::MAX`: no bucket, an unseen value
/// when training had neither rare nor missing values).
#[derive(Debug, Clone)]
pub enum Cells<'a> {
    /// Raw numbers, `NaN` missing: the table's own column (not copied).
    Numbers(&'a [f64]),
    /// Bucket per row.
    Buckets(Vec<u32>),
}

/// Bin `k` of `cuts` as people read it: `< a`, `in [a, b)` or `≥ b`.
fn bin_text(kind: ColumnType, cuts: &[f64], k: usize) -> String {
    let show = |x: f64| show_value(kind, x);
    match k {
        0 => format!("< {}", show(cuts[0])),
        k if k == cuts.len() => format!("≥ {}", show(cuts[k - 1])),
        k => format!("in [{}, {})", show(cuts[k - 1]), show(cuts[k])),
    }
}

/// A bin edge as people read it: a date for date columns (stored as days since 1970).
fn show_value(kind: ColumnType, x: f64) -> String {
    if kind == ColumnType::Date
        && let Some(d) = chrono::DateTime::from_timestamp((x * 86_400.0) as i64, 0)
    {
        return d.format("%Y-%m-%d").to_string();
    }
    format!("{x}")
}

fn bucket_map(buckets: &[String], levels: &[String]) -> Vec<Option<usize>> {
    let index: FxHashMap<&str, usize> = buckets
        .iter()
        .enumerate()
        .filter(|(_, b)| *b != OTHER && *b != MISSING_LEVEL)
        .map(|(i, b)| (b.as_str(), i))
        .collect();
    let fb = fallback(buckets);
    levels
        .iter()
        .map(|l| index.get(l.as_str()).copied().or(fb))
        .collect()
}

/// Where unseen values go: `(other)` if training had rare values, else nowhere.
fn fallback(buckets: &[String]) -> Option<usize> {
    buckets.iter().position(|b| b == OTHER)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{TableOptions, read_table};

    fn table(csv: &str) -> Table {
        let opts = TableOptions {
            target: Some("y".into()),
            ..TableOptions::default()
        };
        read_table(csv.as_bytes(), "t.csv", &opts).unwrap()
    }

    #[test]
    fn rare_and_missing_categories_get_their_own_buckets() {
        let mut csv = String::from("c,n,y\n");
        for i in 0..40 {
            let c = match i {
                0 => "rare",
                1 | 2 => "Select",
                _ if i % 2 == 0 => "a",
                _ => "b",
            };
            let n = if i == 5 {
                "".to_string()
            } else {
                i.to_string()
            };
            csv.push_str(&format!("{c},{n},{}\n", (i % 2 == 0) as u8));
        }
        let t = table(&csv);
        let enc = Encoder::fit(&t, t.target.as_ref().unwrap(), EncoderParams::default()).unwrap();
        let Encoding::Levels {
            buckets,
            freq,
            tree_code,
            ..
        } = &enc.features[0].encoding
        else {
            panic!()
        };
        // b (19 rows) before a (18 rows); `rare` (1 row) is other; `Select` is missing.
        assert_eq!(buckets, &["b", "a", OTHER, MISSING_LEVEL]);
        assert_eq!(freq[2], 1.0 / 40.0);
        // `a` rows all convert, `b` rows never: a ranks above b.
        assert!(tree_code[1] > tree_code[0]);
        // 4 buckets + numeric value + numeric missing indicator + 3 bins (39 values, at
        // least 10 a bin): cuts at the values ranked 13 and 25 of 0..=39 without 5.
        assert_eq!(enc.terms, 9);
        assert_eq!(
            enc.term_names()[5..],
            ["n = (missing)", "n < 14", "n in [14, 26)", "n ≥ 26"]
        );
        // Bin shares are of all 40 rows (the missing one is in none).
        assert_eq!(
            enc.term_means()[6..],
            [13.0 / 40.0, 12.0 / 40.0, 14.0 / 40.0]
        );
        assert_eq!(enc.term_feature()[4..], [1, 1, 1, 1, 1]);

        // Scoring data with an unseen value goes to (other); missing to (missing).
        let opts = TableOptions {
            schema: Some(enc.schema()),
            ..TableOptions::default()
        };
        let s = read_table("c,n\nnever seen,3\nNA,\n".as_bytes(), "s.csv", &opts).unwrap();
        let cells = enc.cells(&s).unwrap();
        let Cells::Buckets(b) = &cells[0] else {
            panic!()
        };
        assert_eq!(b, &[2, 3]);
        let sp = enc.sparse(&cells, 2);
        let sp3 = enc.sparse_with(&cells, 2, 3);
        assert_eq!((&sp.ptr, &sp.idx, &sp.val), (&sp3.ptr, &sp3.idx, &sp3.val));
        assert_eq!(sp.row(1).collect::<Vec<_>>(), [(3, 1.0), (5, 1.0)]);
        let Encoding::Number { mean, std, .. } = &enc.features[1].encoding else {
            panic!()
        };
        assert_eq!(
            sp.row(0).collect::<Vec<_>>(),
            [(2, 1.0), (4, (3.0 - mean) / std), (6, 1.0)]
        );
        let d = enc.dense(&cells, 2);
        assert_eq!(d.data[2], 3.0);
        assert!(d.data[3].is_nan());
    }

    #[test]
    fn numbers_get_decile_bins_that_are_never_empty() {
        // 200 rows: 0 sixty times, then 1..=140. Deciles 1–2 fall on 0 (the smallest value,
        // no cut), decile 3 on the values above; a boolean gets no bins.
        let mut csv = String::from("n,b,y\n");
        for i in 0..200 {
            let n = if i < 60 { 0 } else { i - 59 };
            csv.push_str(&format!("{n},{},{}\n", i % 2 == 0, (i % 3 == 0) as u8));
        }
        let t = table(&csv);
        let enc = Encoder::fit(&t, t.target.as_ref().unwrap(), EncoderParams::default()).unwrap();
        let Encoding::Number { cuts, bin_freq, .. } = &enc.features[0].encoding else {
            panic!()
        };
        // Ranks round(199 k / 10): 20, 40, 60, 80, 100, 119, 139, 159, 179 → values 0, 0,
        // 1, 21, 41, 60, 80, 100, 120.
        assert_eq!(cuts, &[1.0, 21.0, 41.0, 60.0, 80.0, 100.0, 120.0]);
        let counts: Vec<f64> = bin_freq.iter().map(|f| (f * 200.0).round()).collect();
        assert_eq!(counts, [60.0, 20.0, 20.0, 19.0, 20.0, 20.0, 20.0, 21.0]);
        let Encoding::Number { cuts, bin_freq, .. } = &enc.features[1].encoding else {
            panic!()
        };
        assert!(cuts.is_empty() && bin_freq.is_empty());
        // A value on a cut is in the bin above it.
        assert_eq!(
            [0.0, 0.5, 1.0, 20.9, 21.0, 1e9].map(|x| bin_of(&[1.0, 21.0], x)),
            [0, 0, 1, 1, 2, 2]
        );
        // Too few rows for three bins of ten: none.
        let t = table("n,y\n1,0\n2,1\n3,0\n4,1\n5,0\n6,1\n7,0\n8,1\n9,0\n10,1\n11,0\n12,1\n");
        let enc = Encoder::fit(&t, t.target.as_ref().unwrap(), EncoderParams::default()).unwrap();
        assert_eq!(enc.terms, 1);
        // Without bins (as models from before them), the same design as before.
        let none = EncoderParams {
            bins: 0,
            ..EncoderParams::default()
        };
        let t = table(&csv);
        let enc = Encoder::fit(&t, t.target.as_ref().unwrap(), none).unwrap();
        assert_eq!(enc.terms, 2);
    }

    #[test]
    fn date_bins_are_named_by_dates() {
        // 100 days from 2024-01-01: 3 bins of at least 10 rows are possible, 10 are.
        let mut csv = String::from("d,y\n");
        for i in 0..100 {
            let d = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + chrono::Days::new(i);
            csv.push_str(&format!("{d},{}\n", i % 2));
        }
        let t = table(&csv);
        assert_eq!(t.columns[0].kind, ColumnType::Date);
        let enc = Encoder::fit(&t, t.target.as_ref().unwrap(), EncoderParams::default()).unwrap();
        let names = enc.term_names();
        assert_eq!(names.len(), 11);
        // Ranks round(99 k / 10): 10, 20, …, 89 → 2024-01-11, 2024-01-21, …
        assert_eq!(names[1], "d < 2024-01-11");
        assert_eq!(names[2], "d in [2024-01-11, 2024-01-21)");
        assert_eq!(names[10], "d ≥ 2024-03-30"); // rank 89: 2024 is a leap year
    }

    #[test]
    fn a_missing_model_column_is_named() {
        let t = table("c,y\na,1\nb,0\n");
        let enc = Encoder::fit(
            &t,
            &[1.0, 0.0],
            EncoderParams {
                min_count: 1,
                ..EncoderParams::default()
            },
        )
        .unwrap();
        let s = read_table("d\n1\n".as_bytes(), "s.csv", &TableOptions::default()).unwrap();
        let e = enc.cells(&s).unwrap_err().to_string();
        assert_eq!(
            e,
            "s.csv:1: column `c`: the model needs this column and the file has none"
        );
    }

    #[test]
    fn threads_do_not_change_the_sparse_design() {
        let mut csv = String::from("n,c,y\n");
        for i in 0..140_000 {
            let n = if i % 13 == 0 {
                String::new()
            } else {
                (i % 97).to_string()
            };
            csv.push_str(&format!(
                "{n},{},{}\n",
                ["a", "b", "c"][i % 3],
                (i % 7 == 0) as u8
            ));
        }
        let t = table(&csv);
        let enc = Encoder::fit(&t, t.target.as_ref().unwrap(), EncoderParams::default()).unwrap();
        // Columns fitted on three threads: the same encoder, terms numbered in column order.
        let three = EncoderParams {
            threads: 3,
            ..EncoderParams::default()
        };
        let enc3 = Encoder::fit(&t, t.target.as_ref().unwrap(), three).unwrap();
        let json = |e: &Encoder| serde_json::to_string(e).unwrap();
        assert_eq!(json(&enc), json(&enc3));
        assert_eq!(
            enc.term_feature(),
            [0; 12].iter().chain(&[1; 3]).copied().collect::<Vec<_>>()
        );
        let cells = enc.cells(&t).unwrap();
        let one = enc.sparse(&cells, t.rows);
        let three = enc.sparse_with(&cells, t.rows, 3);
        assert_eq!(one.rows(), 140_000);
        assert_eq!(
            (one.ptr, one.idx, one.val),
            (three.ptr, three.idx, three.val)
        );
    }

    #[test]
    fn the_column_view_has_the_stored_designs_entries() {
        // Numbers with bins and missing values, a boolean (no bins), categories with a
        // missing bucket.
        let mut csv = String::from("n,flag,c,y\n");
        for i in 0..300 {
            let n = match i % 11 {
                0 => String::new(),
                _ => ((i * 7) % 50).to_string(),
            };
            let c = ["a", "b", "", "c"][i % 4];
            csv.push_str(&format!("{n},{},{c},{}\n", i % 3 == 0, (i % 5 < 2) as u8));
        }
        csv.push_str("25,true,a,1\n");
        let t = table(&csv);
        let y = t.target.clone().unwrap();
        let enc = Encoder::fit(&t, &y, EncoderParams::default()).unwrap();
        let cells = enc.cells(&t).unwrap();
        let stored = enc.sparse(&cells, t.rows);
        let view = enc.encoded(&cells, t.rows);
        assert_eq!((Rows::rows(&view), Rows::terms(&view)), (301, stored.terms));
        let width = view.widest(0, t.rows);
        assert_eq!(width, 2 + 2 + 1);
        assert!(stored.widest(0, t.rows) <= width);
        let (mut idx, mut val) = (vec![0; width], vec![0.0; width]);
        let mut missing = 0;
        for r in 0..t.rows {
            let want: Vec<(usize, f64)> = stored.row(r).collect();
            let mut got = Vec::new();
            view.each(r, |j, v| got.push((j, v)));
            assert_eq!(got, want, "row {r}");
            let k = view.fill(r, &mut idx, &mut val);
            let filled: Vec<(usize, f64)> = idx[..k]
                .iter()
                .copied()
                .zip(val[..k].iter().copied())
                .collect();
            assert_eq!(filled, want, "row {r}");
            missing += usize::from(want.len() < 4);
        }
        // The 28 rows with a missing number have its indicator only: both views saw them.
        assert_eq!(missing, 28);
        // And a fit reads the same numbers from either.
        let p = crate::logistic::LogisticParams::default();
        let (a, _) = crate::logistic::fit(&stored, &y, p, None);
        let (b, _) = crate::logistic::fit(&view, &y, p, None);
        assert_eq!(a, b);
    }
}
