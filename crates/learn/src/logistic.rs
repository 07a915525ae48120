//! L2-regularised logistic regression on sparse rows (any [`Rows`]: a stored [`crate::encode::Sparse`]
//! design or the encoder's column view). The objective is the mean log-loss plus
//! `lambda / (2 n) * |w|²` (the intercept is not penalised), the same as scikit-learn's
//! `LogisticRegression(C = 1 / lambda)`. Up to [`NEWTON_MAX_TERMS`] terms (the usual case after
//! encoding) it is fitted by Newton's method: one pass over the rows gives the loss, the
//! gradient and the dense Hessian, a Cholesky solve gives the step, and a handful of
//! iterations reach the optimum. From 262,144 rows the Hessian is summed over a fixed stride
//! of rows only, and the fit (unless warm-started) first reaches the optimum of that stride
//! alone; then passes over every row compute the loss and gradient only, the stride's Hessian
//! corrected by BFGS after each step giving the next (which also learns the curvature of terms
//! too rare to be in the stride). Wider designs use L-BFGS. Either way work is split into
//! chunks of rows fixed by the row count alone, whose partial sums are added in chunk order,
//! so the result does not depend on the thread count.

use crate::encode::Rows;
use crate::metrics::Log1pSum;
use serde::{Deserialize, Serialize};

/// A fitted logistic regression: `logit = intercept + weights · x`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Logistic {
    /// The intercept (log-odds at x = 0).
    pub intercept: f64,
    /// One weight per term.
    pub weights: Vec<f64>,
}

/// Settings of a fit.
#[derive(Debug, Clone, Copy)]
pub struct LogisticParams {
    /// L2 strength (scikit-learn's `1 / C`); 0 for maximum likelihood.
    pub lambda: f64,
    /// Most L-BFGS iterations.
    pub max_iter: usize,
    /// Stop when the largest gradient component (of the mean objective) is below this.
    pub tol: f64,
    /// Threads for the gradient.
    pub threads: usize,
}

impl Default for LogisticParams {
    fn default() -> Self {
        LogisticParams {
            lambda: 1.0,
            max_iter: 500,
            tol: 1e-7,
            threads: 1,
        }
    }
}

const CHUNK: usize = 8192;

/// Newton's method (a dense Hessian per chunk) up to this many terms; L-BFGS above.
pub const NEWTON_MAX_TERMS: usize = 512;

/// Newton: at most this many chunks, so the per-chunk Hessians stay small.
const NEWTON_CHUNKS: usize = 32;

/// Newton: the Hessian is summed over every `s`-th row with `s = rows / HESSIAN_ROWS`
/// (all rows below twice this). The loss and gradient always use every row, so the optimum is
/// the same; a Hessian from 100k+ rows is as good a step direction as one from millions.
const HESSIAN_ROWS: usize = 131_072;

/// Newton from no warm start on at least this many rows (where the Hessian's rows become a
/// stride) first fits the rows its Hessian is summed over, to a gradient below [`WARM_TOL`]
/// (about the sampling error of 131k rows' optimum), and starts the fit on every row from
/// there with that fit's Hessian.
const WARM_ROWS: usize = 2 * HESSIAN_ROWS;
const WARM_TOL: f64 = 1e-3;

/// The Hessian of a fit on `rows` rows is summed over every `s`-th row (by index, among the
/// kept ones) with this `s`.
fn hessian_stride(rows: usize) -> usize {
    (rows / HESSIAN_ROWS).max(1)
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// log(1 + e^z) without overflow.
fn softplus(z: f64) -> f64 {
    if z > 0.0 {
        z + (-z).exp().ln_1p()
    } else {
        z.exp().ln_1p()
    }
}

impl Logistic {
    /// The log-odds of row `r`.
    pub fn logit(&self, x: &impl Rows, r: usize) -> f64 {
        let mut s = -0.0;
        x.each(r, |j, v| s += self.weights[j] * v);
        self.intercept + s
    }

    /// The log-odds of every row.
    pub fn logits(&self, x: &impl Rows) -> Vec<f64> {
        (0..x.rows()).map(|r| self.logit(x, r)).collect()
    }
}

/// One row's entries at a time, from [`Rows::fill`], in buffers sized for the widest row of
/// a chunk and reused for each of its rows.
struct RowBuf {
    idx: Vec<usize>,
    val: Vec<f64>,
}

impl RowBuf {
    fn new(x: &impl Rows, a: usize, b: usize) -> Self {
        let width = x.widest(a, b);
        RowBuf {
            idx: vec![0; width],
            val: vec![0.0; width],
        }
    }

    #[inline(always)]
    fn read(&mut self, x: &impl Rows, r: usize) -> (&[usize], &[f64]) {
        let len = x.fill(r, &mut self.idx, &mut self.val);
        (&self.idx[..len], &self.val[..len])
    }
}

/// Loss (sum) and gradient (sum; index 0 is the intercept) over rows `a..b`.
fn partial<X: Rows>(
    x: &X,
    y: &[f64],
    keep: Keep,
    w: &[f64],
    a: usize,
    b: usize,
    grad: &mut [f64],
) -> f64 {
    let mut loss = 0.0;
    // The row's entries, gathered once for the log-odds and the gradient.
    let mut buf = RowBuf::new(x, a, b);
    for (r, &yr) in y.iter().enumerate().take(b).skip(a) {
        if keep.is_some_and(|k| !k[r]) {
            continue;
        }
        let (idx, val) = buf.read(x, r);
        let dot = idx
            .iter()
            .zip(val)
            .fold(-0.0, |s, (&j, &v)| s + w[j + 1] * v);
        let z = w[0] + dot;
        loss += softplus(z) - yr * z;
        let g = sigmoid(z) - yr;
        grad[0] += g;
        for (&j, &v) in idx.iter().zip(val) {
            grad[j + 1] += g * v;
        }
    }
    loss
}

/// The objective and its gradient at `w` (`w[0]` the intercept).
fn objective<X: Rows>(
    x: &X,
    y: &[f64],
    keep: Keep,
    w: &[f64],
    lambda: f64,
    threads: usize,
) -> (f64, Vec<f64>) {
    let n = x.rows();
    let d = w.len();
    let chunks = n.div_ceil(CHUNK).max(1);
    let mut parts: Vec<(f64, Vec<f64>)> = Vec::with_capacity(chunks);
    let threads = threads.clamp(1, chunks);
    if threads == 1 {
        for c in 0..chunks {
            let mut g = vec![0.0; d];
            let l = partial(x, y, keep, w, c * CHUNK, ((c + 1) * CHUNK).min(n), &mut g);
            parts.push((l, g));
        }
    } else {
        let mut slots: Vec<Option<(f64, Vec<f64>)>> = (0..chunks).map(|_| None).collect();
        std::thread::scope(|s| {
            let per = chunks.div_ceil(threads);
            for (t, slot) in slots.chunks_mut(per).enumerate() {
                s.spawn(move || {
                    for (k, out) in slot.iter_mut().enumerate() {
                        let c = t * per + k;
                        let mut g = vec![0.0; d];
                        let l = partial(x, y, keep, w, c * CHUNK, ((c + 1) * CHUNK).min(n), &mut g);
                        *out = Some((l, g));
                    }
                });
            }
        });
        parts.extend(
            slots
                .into_iter()
                .map(|s| s.expect("every chunk is computed")),
        );
    }
    let mut loss = 0.0;
    let mut grad = vec![0.0; d];
    for (l, g) in parts {
        loss += l;
        for (a, b) in grad.iter_mut().zip(g) {
            *a += b;
        }
    }
    let nf = kept(keep, n).max(1) as f64;
    loss += 0.5 * lambda * w[1..].iter().map(|v| v * v).sum::<f64>();
    for j in 1..d {
        grad[j] += lambda * w[j];
    }
    (loss / nf, grad.into_iter().map(|g| g / nf).collect())
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The starting point: `start` (a warm start), else the base rate's log-odds.
fn initial<X: Rows>(x: &X, y: &[f64], keep: Keep, start: Option<&Logistic>) -> Vec<f64> {
    let d = x.terms() + 1;
    let mut w = vec![0.0; d];
    match start {
        Some(s) => {
            w[0] = s.intercept;
            w[1..].copy_from_slice(&s.weights);
        }
        None => {
            let (pos, n) = match keep {
                None => (y.iter().sum::<f64>(), y.len()),
                Some(k) => y
                    .iter()
                    .zip(k)
                    .filter(|(_, k)| **k)
                    .fold((0.0, 0), |(p, n), (y, _)| (p + y, n + 1)),
            };
            let rate = (pos / n.max(1) as f64).clamp(1e-6, 1.0 - 1e-6);
            w[0] = (rate / (1.0 - rate)).ln();
        }
    }
    w
}

/// Fits on `x`, `y` (1/0), starting from `start` when given (a warm start), else from the
/// base rate: Newton's method up to [`NEWTON_MAX_TERMS`] terms, else L-BFGS. Returns the
/// model and the iterations used.
pub fn fit<X: Rows>(
    x: &X,
    y: &[f64],
    params: LogisticParams,
    start: Option<&Logistic>,
) -> (Logistic, usize) {
    fit_rows(x, y, None, params, start)
}

/// [`fit`] on the rows `r` with `keep[r]` (the others are skipped where they are: no copy).
pub fn fit_subset<X: Rows>(
    x: &X,
    y: &[f64],
    keep: &[bool],
    params: LogisticParams,
    start: Option<&Logistic>,
) -> (Logistic, usize) {
    fit_rows(x, y, Some(keep), params, start)
}

/// Which rows a fit uses: all, or those marked `true`.
type Keep<'a> = Option<&'a [bool]>;

fn kept(keep: Keep, n: usize) -> usize {
    keep.map_or(n, |k| k.iter().filter(|&&k| k).count())
}

fn fit_rows<X: Rows>(
    x: &X,
    y: &[f64],
    keep: Keep,
    params: LogisticParams,
    start: Option<&Logistic>,
) -> (Logistic, usize) {
    let w = initial(x, y, keep, start);
    let rows = kept(keep, x.rows());
    let (w, iter) = if x.terms() > NEWTON_MAX_TERMS {
        lbfgs(x, y, keep, w, params)
    } else {
        let (w, start_h) = if start.is_none() && rows >= WARM_ROWS {
            let (w, h) = sample_start(x, y, (keep, rows), w, params);
            (w, Some(h))
        } else {
            (w, None)
        };
        let (w, iter, _) = newton(x, y, keep, w, params, start_h);
        (w, iter)
    };
    (
        Logistic {
            intercept: w[0],
            weights: w[1..].to_vec(),
        },
        iter,
    )
}

/// Where a fit on the `rows` rows of `keep` (from `w`, no warm start) begins, and the Hessian
/// its first step solves with. The rows its Hessian is summed over (every stride-th kept
/// row) are a fair sample: their optimum is within sampling error of the full one, reached at
/// a fraction of a full pass per iteration; from there passes over every row need no Hessian
/// of their own (the sample's, corrected by BFGS) and only the last few iterations.
fn sample_start<X: Rows>(
    x: &X,
    y: &[f64],
    (keep, rows): (Keep, usize),
    w: Vec<f64>,
    params: LogisticParams,
) -> (Vec<f64>, Vec<f64>) {
    let stride = hessian_stride(rows);
    let sample: Vec<bool> = (0..x.rows())
        .map(|r| r % stride == 0 && keep.is_none_or(|k| k[r]))
        .collect();
    let coarse = LogisticParams {
        tol: params.tol.max(WARM_TOL),
        ..params
    };
    let (w, _, mut h) = newton(x, y, Some(&sample), w, coarse, None);
    // The same mean curvature; the penalty is divided by every kept row, not the sample's.
    let (d, lambda) = (w.len(), params.lambda);
    let ns = kept(Some(&sample), x.rows()).max(1) as f64;
    for j in 1..d {
        h[j * d + j] += lambda / rows as f64 - lambda / ns;
    }
    (w, h)
}

/// Fits by L-BFGS whatever the width (the method wide designs use; for comparisons).
pub fn fit_lbfgs<X: Rows>(
    x: &X,
    y: &[f64],
    params: LogisticParams,
    start: Option<&Logistic>,
) -> (Logistic, usize) {
    let (w, iter) = lbfgs(x, y, None, initial(x, y, None, start), params);
    (
        Logistic {
            intercept: w[0],
            weights: w[1..].to_vec(),
        },
        iter,
    )
}

fn lbfgs<X: Rows>(
    x: &X,
    y: &[f64],
    keep: Keep,
    mut w: Vec<f64>,
    params: LogisticParams,
) -> (Vec<f64>, usize) {
    let (mut f, mut g) = objective(x, y, keep, &w, params.lambda, params.threads);
    let m = 10;
    let mut hist_s: Vec<Vec<f64>> = Vec::new();
    let mut hist_y: Vec<Vec<f64>> = Vec::new();
    let mut iter = 0;
    while iter < params.max_iter {
        let gmax = g.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        if gmax < params.tol {
            break;
        }
        iter += 1;
        // Two-loop recursion: direction = -H g.
        let mut q = g.clone();
        let k = hist_s.len();
        let mut alpha = vec![0.0; k];
        for i in (0..k).rev() {
            let rho = 1.0 / dot(&hist_y[i], &hist_s[i]);
            alpha[i] = rho * dot(&hist_s[i], &q);
            for (qj, yj) in q.iter_mut().zip(&hist_y[i]) {
                *qj -= alpha[i] * yj;
            }
        }
        let gamma = if k > 0 {
            dot(&hist_s[k - 1], &hist_y[k - 1]) / dot(&hist_y[k - 1], &hist_y[k - 1])
        } else {
            1.0 / g.iter().map(|v| v * v).sum::<f64>().sqrt().max(1.0)
        };
        for qj in q.iter_mut() {
            *qj *= gamma;
        }
        for i in 0..k {
            let rho = 1.0 / dot(&hist_y[i], &hist_s[i]);
            let beta = rho * dot(&hist_y[i], &q);
            for (qj, sj) in q.iter_mut().zip(&hist_s[i]) {
                *qj += (alpha[i] - beta) * sj;
            }
        }
        let mut dir: Vec<f64> = q.iter().map(|v| -v).collect();
        let mut slope = dot(&g, &dir);
        if slope >= 0.0 {
            // Not a descent direction (numerical trouble): restart from steepest descent.
            hist_s.clear();
            hist_y.clear();
            dir = g.iter().map(|v| -v).collect();
            slope = dot(&g, &dir);
        }
        // Backtracking line search (Armijo).
        let mut step = 1.0;
        let mut accepted = None;
        for _ in 0..40 {
            let trial: Vec<f64> = w.iter().zip(&dir).map(|(a, b)| a + step * b).collect();
            let (ft, gt) = objective(x, y, keep, &trial, params.lambda, params.threads);
            if ft <= f + 1e-4 * step * slope {
                accepted = Some((trial, ft, gt));
                break;
            }
            step *= 0.5;
        }
        let Some((wn, fnew, gn)) = accepted else {
            break;
        };
        let s: Vec<f64> = wn.iter().zip(&w).map(|(a, b)| a - b).collect();
        let yv: Vec<f64> = gn.iter().zip(&g).map(|(a, b)| a - b).collect();
        if dot(&s, &yv) > 1e-12 {
            if hist_s.len() == m {
                hist_s.remove(0);
                hist_y.remove(0);
            }
            hist_s.push(s);
            hist_y.push(yv);
        }
        let small = (f - fnew).abs() <= 1e-12 * f.abs().max(1.0);
        w = wn;
        f = fnew;
        g = gn;
        if small {
            break;
        }
    }
    (w, iter)
}

/// Loss, gradient and Hessian (sums over rows `a..b`; index 0 is the intercept). The Hessian
/// is `d × d` row-major; each pair of a row's entries is added once, above the diagonal when
/// the row's term indices increase (they do, from the encoder) — [`symmetrise`] folds it.
fn newton_partial<X: Rows>(
    x: &X,
    y: &[f64],
    keep: Keep,
    w: &[f64],
    (a, b): (usize, usize),
    stride: Option<usize>,
    part: &mut Part,
) -> f64 {
    let d = w.len();
    let mut loss = 0.0;
    let mut logs = Log1pSum::new();
    let (grad, hess) = (&mut part.grad, &mut part.hess);
    // The row's entries, gathered once for the gradient and the Hessian's pairs.
    let mut buf = RowBuf::new(x, a, b);
    for (r, &yr) in y.iter().enumerate().take(b).skip(a) {
        if keep.is_some_and(|k| !k[r]) {
            continue;
        }
        let sampled = stride.is_some_and(|s| r % s == 0);
        let (idx, val) = buf.read(x, r);
        let mut z = w[0];
        for (&j, &v) in idx.iter().zip(val) {
            z += w[j + 1] * v;
        }
        // One exponential for the loss, the probability and the weight.
        let ez = (-z.abs()).exp();
        loss += z.max(0.0) - yr * z;
        if let Some(group) = logs.add(ez) {
            loss += group;
        }
        let p = if z >= 0.0 {
            1.0 / (1.0 + ez)
        } else {
            ez / (1.0 + ez)
        };
        let g = p - yr;
        grad[0] += g;
        for (&j, &v) in idx.iter().zip(val) {
            grad[j + 1] += g * v;
        }
        if !sampled {
            continue;
        }
        part.sampled += 1;
        let h = p * (1.0 - p);
        hess[0] += h;
        for (k, (&j, &v)) in idx.iter().zip(val).enumerate() {
            let j = j + 1;
            let hv = h * v;
            hess[j] += hv;
            let row = &mut hess[j * d..(j + 1) * d];
            for (&l, &u) in idx[k..].iter().zip(&val[k..]) {
                row[l + 1] += hv * u;
            }
        }
    }
    loss + logs.rest()
}

/// One chunk's sums.
struct Part {
    /// Rows in the Hessian.
    sampled: usize,
    loss: f64,
    grad: Vec<f64>,
    hess: Vec<f64>,
}

/// Folds pairs added on either side of the diagonal into a full symmetric matrix.
fn symmetrise(h: &mut [f64], d: usize) {
    for i in 0..d {
        for j in i + 1..d {
            let s = h[i * d + j] + h[j * d + i];
            h[i * d + j] = s;
            h[j * d + i] = s;
        }
    }
}

/// The mean objective, its gradient and (with `hessian`) its Hessian at `w`, summed over fixed
/// chunks in order; without, the Hessian returned is empty.
fn second_order<X: Rows>(
    x: &X,
    y: &[f64],
    keep: Keep,
    w: &[f64],
    lambda: f64,
    threads: usize,
    hessian: bool,
) -> (f64, Vec<f64>, Vec<f64>) {
    let n = x.rows();
    let d = w.len();
    let len = CHUNK.max(n.div_ceil(NEWTON_CHUNKS));
    let rows = kept(keep, n);
    let stride = hessian_stride(rows);
    let chunks = n.div_ceil(len).max(1);
    let hd = if hessian { d * d } else { 0 };
    let run = |c: usize| {
        let mut part = Part {
            sampled: 0,
            loss: 0.0,
            grad: vec![0.0; d],
            hess: vec![0.0; hd],
        };
        part.loss = newton_partial(
            x,
            y,
            keep,
            w,
            (c * len, ((c + 1) * len).min(n)),
            hessian.then_some(stride),
            &mut part,
        );
        part
    };
    let threads = threads.clamp(1, chunks);
    let parts: Vec<Part> = if threads == 1 {
        (0..chunks).map(run).collect()
    } else {
        let next = std::sync::atomic::AtomicUsize::new(0);
        let mut done: Vec<(usize, Part)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    s.spawn(|| {
                        let mut mine = Vec::new();
                        loop {
                            let c = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            if c >= chunks {
                                break mine;
                            }
                            mine.push((c, run(c)));
                        }
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("a worker panicked"))
                .collect()
        });
        done.sort_by_key(|(c, _)| *c);
        done.into_iter().map(|(_, p)| p).collect()
    };
    let mut total = Part {
        sampled: 0,
        loss: 0.0,
        grad: vec![0.0; d],
        hess: vec![0.0; hd],
    };
    for p in parts {
        total.sampled += p.sampled;
        total.loss += p.loss;
        total
            .grad
            .iter_mut()
            .zip(&p.grad)
            .for_each(|(a, b)| *a += b);
        total
            .hess
            .iter_mut()
            .zip(&p.hess)
            .for_each(|(a, b)| *a += b);
    }
    let Part {
        sampled,
        mut loss,
        mut grad,
        mut hess,
    } = total;
    if hessian {
        symmetrise(&mut hess, d);
    }
    if stride > 1 && sampled > 0 {
        let scale = rows as f64 / sampled as f64;
        hess.iter_mut().for_each(|h| *h *= scale);
    }
    let nf = rows.max(1) as f64;
    loss += 0.5 * lambda * w[1..].iter().map(|v| v * v).sum::<f64>();
    for j in 1..d {
        grad[j] += lambda * w[j];
        if hessian {
            hess[j * d + j] += lambda;
        }
    }
    grad.iter_mut().for_each(|g| *g /= nf);
    hess.iter_mut().for_each(|h| *h /= nf);
    (loss / nf, grad, hess)
}

/// The BFGS update of the Hessian approximation `h` (`d × d`) from the step `w1 - w0` and the
/// gradient's change `g1 - g0`: afterwards `h` maps the step to the change exactly. Skipped when
/// the pair shows no positive curvature (rounding, at the optimum).
fn bfgs_update(h: &mut [f64], w1: &[f64], w0: &[f64], g1: &[f64], g0: &[f64]) {
    let d = w0.len();
    let s: Vec<f64> = w1.iter().zip(w0).map(|(a, b)| a - b).collect();
    let yv: Vec<f64> = g1.iter().zip(g0).map(|(a, b)| a - b).collect();
    let hs: Vec<f64> = (0..d).map(|i| dot(&h[i * d..(i + 1) * d], &s)).collect();
    let (sy, shs) = (dot(&s, &yv), dot(&s, &hs));
    if sy <= 0.0 || shs <= 0.0 || !sy.is_finite() || !shs.is_finite() {
        return;
    }
    for i in 0..d {
        for j in 0..d {
            h[i * d + j] += yv[i] * yv[j] / sy - hs[i] * hs[j] / shs;
        }
    }
}

/// Solves `h x = b` for a symmetric positive definite `h` (Cholesky); `None` if it is not.
fn cholesky_solve(h: &[f64], b: &[f64]) -> Option<Vec<f64>> {
    let d = b.len();
    let mut l = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            let mut s = h[i * d + j];
            for k in 0..j {
                s -= l[i * d + k] * l[j * d + k];
            }
            if i == j {
                if s <= 0.0 || !s.is_finite() {
                    return None;
                }
                l[i * d + i] = s.sqrt();
            } else {
                l[i * d + j] = s / l[j * d + j];
            }
        }
    }
    let mut x = b.to_vec();
    for i in 0..d {
        let mut s = x[i];
        for k in 0..i {
            s -= l[i * d + k] * x[k];
        }
        x[i] = s / l[i * d + i];
    }
    for i in (0..d).rev() {
        let mut s = x[i];
        for k in i + 1..d {
            s -= l[k * d + i] * x[k];
        }
        x[i] = s / l[i * d + i];
    }
    Some(x)
}

/// The Newton direction `-H⁻¹ g`; a singular `H` (no penalty, collinear terms) is damped
/// (Levenberg) until it factors.
fn newton_direction(h: &mut [f64], g: &[f64]) -> Vec<f64> {
    let d = g.len();
    let neg: Vec<f64> = g.iter().map(|v| -v).collect();
    if let Some(x) = cholesky_solve(h, &neg) {
        return x;
    }
    let scale = (0..d)
        .map(|i| h[i * d + i].abs())
        .fold(0.0, f64::max)
        .max(1e-12);
    let mut mu = 1e-10 * scale;
    loop {
        for i in 0..d {
            h[i * d + i] += mu;
        }
        if let Some(x) = cholesky_solve(h, &neg) {
            return x;
        }
        mu *= 10.0;
        if mu > 1e6 * scale {
            // Give up on curvature: steepest descent.
            return neg;
        }
    }
}

/// Newton's method from `w`. With `start_h` (a Hessian of the mean objective from a sample of
/// these rows, at a point near the optimum) passes compute the loss and gradient alone: each
/// step solves with that Hessian, corrected after each step by BFGS with the change of the
/// gradient over all rows (so the sample's error in the curvature fades step by step), unless
/// a step grows the largest gradient component, from when each pass computes the Hessian
/// again. Returns the point, the iterations and the last Hessian.
fn newton<X: Rows>(
    x: &X,
    y: &[f64],
    keep: Keep,
    mut w: Vec<f64>,
    params: LogisticParams,
    start_h: Option<Vec<f64>>,
) -> (Vec<f64>, usize, Vec<f64>) {
    let mut chord = start_h.is_some();
    let pass = |w: &[f64], hessian: bool| {
        second_order(x, y, keep, w, params.lambda, params.threads, hessian)
    };
    let (mut f, mut g, mut h) = pass(&w, !chord);
    if let Some(start_h) = start_h {
        h = start_h;
    }
    let largest = |g: &[f64]| g.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    let mut iter = 0;
    // Newton converges in a handful of iterations; the cap only guards against trouble.
    while iter < params.max_iter.min(100) {
        let gmax = largest(&g);
        if gmax < params.tol {
            break;
        }
        iter += 1;
        // Keep the quasi-Newton matrix undamped for its update.
        let dir = if chord {
            newton_direction(&mut h.clone(), &g)
        } else {
            newton_direction(&mut h, &g)
        };
        let slope = dot(&g, &dir);
        if slope >= 0.0 {
            break;
        }
        // Backtracking line search (Armijo); the full step is almost always taken.
        let mut step = 1.0;
        let mut accepted = None;
        for _ in 0..40 {
            let trial: Vec<f64> = w.iter().zip(&dir).map(|(a, b)| a + step * b).collect();
            let (ft, gt, ht) = pass(&trial, !chord);
            if ft <= f + 1e-4 * step * slope {
                accepted = Some((trial, ft, gt, ht));
                break;
            }
            step *= 0.5;
        }
        let Some((wn, fnew, gn, hn)) = accepted else {
            break;
        };
        let small = (f - fnew).abs() <= 1e-15 * f.abs().max(1.0);
        let slow = chord && largest(&gn) > gmax;
        if chord && !slow {
            bfgs_update(&mut h, &wn, &w, &gn, &g);
        }
        w = wn;
        f = fnew;
        g = gn;
        if chord {
            if slow {
                // The sample's curvature misleads here: Newton proper from this point.
                chord = false;
                h = pass(&w, true).2;
            }
        } else {
            h = hn;
        }
        if small {
            break;
        }
    }
    (w, iter, h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::Sparse;
    use rand::{Rng, SeedableRng};

    fn one_feature(xs: &[f64]) -> Sparse {
        let mut s = Sparse {
            ptr: vec![0],
            terms: 1,
            ..Sparse::default()
        };
        for &x in xs {
            if x != 0.0 {
                s.idx.push(0);
                s.val.push(x);
            }
            s.ptr.push(s.idx.len());
        }
        s
    }

    #[test]
    fn maximum_likelihood_matches_the_hand_computed_odds() {
        // x = 0: 1 of 4 converts, x = 1: 3 of 4. Unpenalised, the fit reproduces the rates:
        // intercept = ln(1/3), intercept + w = ln(3), so w = 2 ln 3.
        let x = one_feature(&[0., 0., 0., 0., 1., 1., 1., 1.]);
        let y = [1., 0., 0., 0., 1., 1., 1., 0.];
        let p = LogisticParams {
            lambda: 0.0,
            ..LogisticParams::default()
        };
        let (m, _) = fit(&x, &y, p, None);
        assert!((m.intercept - (1.0f64 / 3.0).ln()).abs() < 1e-5, "{m:?}");
        assert!((m.weights[0] - 2.0 * 3.0f64.ln()).abs() < 1e-5, "{m:?}");
    }

    #[test]
    fn the_penalty_satisfies_its_optimality_condition() {
        // With lambda, the gradient of the penalised objective is 0: for the weight,
        // sum((p - y) x) + lambda w = 0. Check it with the fitted values.
        let x = one_feature(&[0., 0., 0., 0., 1., 1., 1., 1.]);
        let y = [1., 0., 0., 0., 1., 1., 1., 0.];
        let p = LogisticParams {
            lambda: 2.0,
            ..LogisticParams::default()
        };
        let (m, _) = fit(&x, &y, p, None);
        let z: Vec<f64> = m.logits(&x);
        let gw: f64 = (4..8).map(|i| sigmoid(z[i]) - y[i]).sum::<f64>() + 2.0 * m.weights[0];
        let gb: f64 = (0..8).map(|i| sigmoid(z[i]) - y[i]).sum::<f64>();
        assert!(gw.abs() < 1e-5 && gb.abs() < 1e-5, "{gw} {gb}");
        // Shrunk towards 0 from the unpenalised 2 ln 3.
        assert!(
            m.weights[0] > 0.0 && m.weights[0] < 2.0 * 3.0f64.ln(),
            "{m:?}"
        );
    }

    #[test]
    fn separable_data_is_ranked_perfectly_with_finite_weights() {
        let xs: Vec<f64> = (0..40).map(|i| i as f64 / 10.0 - 2.0).collect();
        let y: Vec<f64> = xs.iter().map(|&v| (v > 0.0) as u8 as f64).collect();
        let (m, _) = fit(&one_feature(&xs), &y, LogisticParams::default(), None);
        assert!(m.weights[0].is_finite() && m.weights[0] > 1.0);
        let z = m.logits(&one_feature(&xs));
        for (z, y) in z.iter().zip(&y) {
            assert_eq!(*z > 0.0, *y > 0.5);
        }
    }

    #[test]
    fn threads_do_not_change_the_fit() {
        let xs: Vec<f64> = (0..20_000)
            .map(|i| ((i * 7919) % 1000) as f64 / 500.0 - 1.0)
            .collect();
        let y: Vec<f64> = (0..20_000)
            .map(|i| ((i * 104729) % 3 == 0) as u8 as f64)
            .collect();
        let x = one_feature(&xs);
        let p1 = LogisticParams::default();
        let p2 = LogisticParams { threads: 3, ..p1 };
        assert_eq!(fit(&x, &y, p1, None), fit(&x, &y, p2, None));
    }

    /// `rows` rows: a standardised number, a 3-level one-hot and `extra` rare one-hot terms.
    fn mixed(rows: usize, extra: usize) -> (Sparse, Vec<f64>) {
        let mut s = Sparse {
            ptr: vec![0],
            terms: 4 + extra,
            ..Sparse::default()
        };
        let mut y = Vec::new();
        let mut u: u64 = 5;
        let mut next = || {
            u = u
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (u >> 11) as f64 / (1u64 << 53) as f64
        };
        for r in 0..rows {
            let x = next() * 2.0 - 1.0;
            let level = (next() * 3.0) as u32;
            let z = -0.5 + 1.5 * x + [0.8, 0.0, -0.8][level as usize];
            s.idx.push(0);
            s.val.push(x);
            s.idx.push(1 + level);
            s.val.push(1.0);
            if extra > 0 {
                s.idx.push(4 + (r % extra) as u32);
                s.val.push(1.0);
            }
            s.ptr.push(s.idx.len());
            y.push((next() < sigmoid(z)) as u8 as f64);
        }
        (s, y)
    }

    #[test]
    fn newton_and_lbfgs_reach_the_same_optimum() {
        let (x, y) = mixed(30_000, 0);
        let p = LogisticParams::default();
        let (a, na) = fit(&x, &y, p, None);
        let (b, _) = fit_lbfgs(&x, &y, p, None);
        assert!(na < 15, "Newton took {na} iterations");
        assert!((a.intercept - b.intercept).abs() < 1e-5, "{a:?} {b:?}");
        for (wa, wb) in a.weights.iter().zip(&b.weights) {
            assert!((wa - wb).abs() < 1e-5, "{a:?} {b:?}");
        }
        // The optimum: the gradient of the mean objective vanishes.
        let w: Vec<f64> = std::iter::once(a.intercept)
            .chain(a.weights.clone())
            .collect();
        let (_, g) = objective(&x, &y, None, &w, p.lambda, 1);
        assert!(g.iter().all(|g| g.abs() < 1e-7), "{g:?}");
        // A warm start from the optimum stays there.
        let (c, nc) = fit(&x, &y, p, Some(&a));
        assert!(nc <= 1 && (c.intercept - a.intercept).abs() < 1e-9);
        // A subset fitted in place is the subset fitted on its own.
        let keep: Vec<bool> = (0..y.len()).map(|r| r % 5 != 2).collect();
        let rows: Vec<usize> = (0..y.len()).filter(|&r| keep[r]).collect();
        let ys: Vec<f64> = rows.iter().map(|&r| y[r]).collect();
        let (sub, _) = fit_subset(&x, &y, &keep, p, Some(&a));
        let (sel, _) = fit(&x.select(&rows), &ys, p, Some(&a));
        assert!(
            (sub.intercept - sel.intercept).abs() < 1e-9,
            "{sub:?} {sel:?}"
        );
        for (ws, wl) in sub.weights.iter().zip(&sel.weights) {
            assert!((ws - wl).abs() < 1e-9, "{sub:?} {sel:?}");
        }
        // Threads do not change the Newton fit either.
        let p3 = LogisticParams { threads: 3, ..p };
        assert_eq!(fit(&x, &y, p3, None), (a, na));
    }

    #[test]
    fn wide_designs_fall_back_to_lbfgs() {
        let (x, y) = mixed(4_000, NEWTON_MAX_TERMS);
        assert!(x.terms > NEWTON_MAX_TERMS);
        let p = LogisticParams::default();
        let (a, _) = fit(&x, &y, p, None);
        assert_eq!(a, fit_lbfgs(&x, &y, p, None).0);
        let w: Vec<f64> = std::iter::once(a.intercept).chain(a.weights).collect();
        let (_, g) = objective(&x, &y, None, &w, p.lambda, 1);
        assert!(g.iter().all(|g| g.abs() < 1e-6), "{:?}", &g[..5]);
    }

    #[test]
    fn many_rows_start_from_the_sample_and_reach_the_same_optimum() {
        // A fifth of the rows held out, as the hold-out fit does, and still enough rows kept
        // for the fit to start from the sample its Hessian is summed over.
        let n = WARM_ROWS * 5 / 4 + 10;
        let (x, y) = mixed(n, 0);
        let keep: Vec<bool> = (0..n).map(|r| r % 5 != 3).collect();
        assert!(kept(Some(&keep), n) >= WARM_ROWS);
        let p = LogisticParams {
            threads: 2,
            ..LogisticParams::default()
        };
        let (a, na) = fit_subset(&x, &y, &keep, p, None);
        // Newton from the base rate on every kept row, with a Hessian each pass.
        let (b, nb, _) = newton(
            &x,
            &y,
            Some(&keep),
            initial(&x, &y, Some(&keep), None),
            p,
            None,
        );
        assert!(
            na < nb,
            "from the sample {na} iterations on every row, from scratch {nb}"
        );
        assert!((a.intercept - b[0]).abs() < 1e-6, "{a:?} {b:?}");
        for (wa, wb) in a.weights.iter().zip(&b[1..]) {
            assert!((wa - wb).abs() < 1e-6, "{a:?} {b:?}");
        }
        let w: Vec<f64> = std::iter::once(a.intercept).chain(a.weights).collect();
        let (_, g) = objective(&x, &y, Some(&keep), &w, p.lambda, 2);
        assert!(g.iter().all(|g| g.abs() < 1e-7), "{g:?}");
        // The result does not depend on the thread count.
        let p1 = LogisticParams { threads: 1, ..p };
        assert_eq!(fit_subset(&x, &y, &keep, p1, None).0.intercept, w[0]);
    }

    #[test]
    fn a_term_missing_from_the_hessians_sample_still_converges() {
        // A level on 14 of 700k rows, none of them on the Hessian's stride of 5: the sample
        // gives it no curvature but the penalty's. BFGS learns it from the full gradient.
        let n = 700_000;
        let mut x = Sparse {
            ptr: vec![0],
            terms: 3,
            ..Sparse::default()
        };
        let mut y = Vec::new();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        for r in 0..n {
            let v = rng.random::<f64>() * 2.0 - 1.0;
            let rare = r % 50_000 == 7;
            x.idx.extend([0, if rare { 2 } else { 1 }]);
            x.val.extend([v, 1.0]);
            x.ptr.push(x.idx.len());
            let z = -0.5 + 1.5 * v + if rare { 2.5 } else { 0.0 };
            y.push((rng.random::<f64>() < sigmoid(z)) as u8 as f64);
        }
        assert_eq!((n / HESSIAN_ROWS).max(1), 5);
        let p = LogisticParams {
            threads: 2,
            ..LogisticParams::default()
        };
        let (a, na) = fit(&x, &y, p, None);
        let w: Vec<f64> = std::iter::once(a.intercept).chain(a.weights).collect();
        let (_, g) = objective(&x, &y, None, &w, p.lambda, 2);
        assert!(g.iter().all(|g| g.abs() < 1e-7), "{g:?}");
        // Newton from scratch, its Hessian from the same stride every pass, needs more.
        let (b, nb, _) = newton(&x, &y, None, initial(&x, &y, None, None), p, None);
        assert!(
            na < nb,
            "from the sample {na} iterations, from scratch {nb}"
        );
        // The intercept and the two levels are collinear (one level or the other is on every
        // row), so only the penalty pins the weights apart; the log-odds agree, the rare
        // level's to what a gradient below 1e-7 leaves on 14 rows' curvature (~4e-6).
        for (v, level, close) in [(0.3, 1, 1e-5), (-0.8, 1, 1e-5), (0.3, 2, 5e-3)] {
            let (za, zb) = (
                w[0] + w[1] * v + w[level + 1],
                b[0] + b[1] * v + b[level + 1],
            );
            assert!((za - zb).abs() < close, "{za} {zb}: {w:?} {b:?}");
        }
    }

    #[test]
    fn a_hessian_from_a_stride_of_rows_still_reaches_the_optimum() {
        let (x, y) = mixed(2 * HESSIAN_ROWS + 10, 0);
        let p = LogisticParams {
            threads: 2,
            ..LogisticParams::default()
        };
        let (a, n) = fit(&x, &y, p, None);
        assert!(n < 15, "{n} iterations");
        let w: Vec<f64> = std::iter::once(a.intercept).chain(a.weights).collect();
        let (_, g) = objective(&x, &y, None, &w, p.lambda, 2);
        assert!(g.iter().all(|g| g.abs() < 1e-7), "{g:?}");
    }
}
