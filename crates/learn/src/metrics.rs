//! Evaluation metrics of a scorer on known outcomes: ROC-AUC (as a rank statistic, ties
//! counted half), PR-AUC (average precision), log-loss, Brier score, expected calibration
//! error, a reliability table, conversion and lift per decile and per tier, precision and
//! recall at a threshold, and all of it per segment.

use serde::{Deserialize, Serialize};

/// Terms `1 + e` multiplied before one logarithm: each is in (1, 2], so the product stays
/// below 2^64.
const LOG_GROUP: usize = 64;

/// A sum of `log(1 + e)` over many `e` in [0, 1] (a log-loss's `log(1 + e^-|z|)`) as the
/// logarithm of products of [`LOG_GROUP`] terms: one `ln` per group instead of a `ln_1p` per
/// term (what a term loses, `e` below 1e-16, is below the sum's rounding anyway). The caller
/// adds each group's logarithm to its own sum when [`Log1pSum::add`] returns it, and
/// [`Log1pSum::rest`] at the end.
pub(crate) struct Log1pSum {
    product: f64,
    terms: usize,
}

impl Log1pSum {
    pub(crate) fn new() -> Self {
        Log1pSum {
            product: 1.0,
            terms: 0,
        }
    }

    /// Takes `log(1 + e)` in; the logarithm of the group it completes, if it does.
    #[inline(always)]
    pub(crate) fn add(&mut self, e: f64) -> Option<f64> {
        self.product *= 1.0 + e;
        self.terms += 1;
        if self.terms < LOG_GROUP {
            return None;
        }
        let group = self.product.ln();
        (self.product, self.terms) = (1.0, 0);
        Some(group)
    }

    /// The logarithm of the terms not yet given back.
    pub(crate) fn rest(self) -> f64 {
        self.product.ln()
    }
}

/// The (score, outcome is positive) pairs by increasing score. Sorted as pairs
/// (no indirection); the order within tied scores is left open, as both AUCs take a tied run
/// as a whole.
fn by_score(y: &[f64], score: &[f64]) -> Vec<(f64, bool)> {
    let mut pairs: Vec<(f64, bool)> = score.iter().zip(y).map(|(&s, &y)| (s, y > 0.5)).collect();
    pairs.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    pairs
}

/// ROC-AUC: the probability that a random positive scores above a random negative, ties
/// counting one half (the Mann–Whitney U statistic from mid-ranks). `NaN` with one class only.
pub fn roc_auc(y: &[f64], score: &[f64]) -> f64 {
    roc_sorted(&by_score(y, score))
}

/// [`roc_auc`] and [`pr_auc`] from one sort of the scores (the same values).
pub fn ranking_aucs(y: &[f64], score: &[f64]) -> (f64, f64) {
    let order = by_score(y, score);
    (roc_sorted(&order), pr_ascending(&order))
}

/// [`roc_auc`] of `(score, positive)` pairs by increasing score.
fn roc_sorted(order: &[(f64, bool)]) -> f64 {
    let (mut rank_sum, mut pos) = (0.0, 0.0);
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && order[j + 1].0 == order[i].0 {
            j += 1;
        }
        // Mid-rank (1-based) of the tied run i..=j.
        let mid = (i + j) as f64 / 2.0 + 1.0;
        for &(_, positive) in &order[i..=j] {
            if positive {
                rank_sum += mid;
                pos += 1.0;
            }
        }
        i = j + 1;
    }
    let neg = order.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return f64::NAN;
    }
    (rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg)
}

/// ROC-AUC from groups of rows sharing a score: `(score, positives, negatives)` per group
/// (reordered; groups with the same score are ties). The same value as [`roc_auc`] on the rows.
pub fn roc_auc_grouped(groups: &mut [(f64, f64, f64)]) -> f64 {
    groups.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut below, mut sum, mut pos) = (0.0, 0.0, 0.0);
    let mut i = 0;
    while i < groups.len() {
        let (mut p, mut n) = (0.0, 0.0);
        let mut j = i;
        while j < groups.len() && groups[j].0 == groups[i].0 {
            p += groups[j].1;
            n += groups[j].2;
            j += 1;
        }
        // Each positive beats the negatives below it and half of those tied with it.
        sum += p * (below + 0.5 * n);
        below += n;
        pos += p;
        i = j;
    }
    if pos == 0.0 || below == 0.0 {
        return f64::NAN;
    }
    sum / (pos * below)
}

/// PR-AUC as average precision: the mean, over positives, of the precision at the score of
/// each positive (tied scores enter together, as scikit-learn's `average_precision_score`).
pub fn pr_auc(y: &[f64], score: &[f64]) -> f64 {
    pr_ascending(&by_score(y, score))
}

/// [`pr_auc`] of `(score, positive)` pairs by increasing score, its tied runs walked from the
/// top.
fn pr_ascending(order: &[(f64, bool)]) -> f64 {
    let total_pos = order.iter().filter(|p| p.1).count() as f64;
    if total_pos == 0.0 {
        return f64::NAN;
    }
    let (mut tp, mut seen, mut ap, mut last_recall) = (0.0, 0.0, 0.0, 0.0);
    let mut end = order.len();
    while end > 0 {
        let mut start = end - 1;
        while start > 0 && order[start - 1].0 == order[end - 1].0 {
            start -= 1;
        }
        for &(_, positive) in &order[start..end] {
            seen += 1.0;
            if positive {
                tp += 1.0;
            }
        }
        let recall = tp / total_pos;
        ap += (recall - last_recall) * (tp / seen);
        last_recall = recall;
        end = start;
    }
    ap
}

const EPS: f64 = 1e-15;

/// Mean negative log-likelihood of the outcomes under probabilities `p` (clipped to 1e-15).
pub fn log_loss(y: &[f64], p: &[f64]) -> f64 {
    let s: f64 = y
        .iter()
        .zip(p)
        .map(|(&y, &p)| {
            let p = p.clamp(EPS, 1.0 - EPS);
            -(y * p.ln() + (1.0 - y) * (1.0 - p).ln())
        })
        .sum();
    s / y.len().max(1) as f64
}

/// Mean squared difference between probability and outcome.
pub fn brier(y: &[f64], p: &[f64]) -> f64 {
    y.iter().zip(p).map(|(y, p)| (p - y).powi(2)).sum::<f64>() / y.len().max(1) as f64
}

/// One bin of a reliability table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bin {
    /// Lower edge of predicted probability (inclusive).
    pub lower: f64,
    /// Upper edge (exclusive, except the last bin).
    pub upper: f64,
    /// Leads in the bin.
    pub count: usize,
    /// Mean predicted probability in the bin.
    pub predicted: f64,
    /// Share that converted.
    pub observed: f64,
}

/// Reliability table with `bins` equal-width bins on [0, 1]; empty bins are left out.
pub fn reliability(y: &[f64], p: &[f64], bins: usize) -> Vec<Bin> {
    let mut sum_p = vec![0.0; bins];
    let mut sum_y = vec![0.0; bins];
    let mut n = vec![0usize; bins];
    for (&y, &p) in y.iter().zip(p) {
        let b = ((p * bins as f64) as usize).min(bins - 1);
        sum_p[b] += p;
        sum_y[b] += y;
        n[b] += 1;
    }
    (0..bins)
        .filter(|&b| n[b] > 0)
        .map(|b| Bin {
            lower: b as f64 / bins as f64,
            upper: (b + 1) as f64 / bins as f64,
            count: n[b],
            predicted: sum_p[b] / n[b] as f64,
            observed: sum_y[b] / n[b] as f64,
        })
        .collect()
}

/// Expected calibration error over `bins` equal-width bins: the share-weighted mean of
/// |mean predicted − observed rate|.
pub fn ece(y: &[f64], p: &[f64], bins: usize) -> f64 {
    let n = y.len().max(1) as f64;
    reliability(y, p, bins)
        .iter()
        .map(|b| b.count as f64 / n * (b.predicted - b.observed).abs())
        .sum()
}

/// A group of leads (a decile, a tier, a grade) with its conversion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    /// `1`…`10` for deciles (1 = highest scores), else the tier or grade name.
    pub name: String,
    /// Leads in the group.
    pub count: usize,
    /// Of which converted.
    pub converted: usize,
    /// Conversion rate.
    pub rate: f64,
    /// Rate over the overall rate.
    pub lift: f64,
    /// Share of all conversions found in this group and the ones before it (deciles only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cumulative_recall: Option<f64>,
    /// Lowest score in the group (deciles only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_score: Option<f64>,
    /// Median days from creation to conversion of the group's converted leads (when the
    /// evaluation was given the dates and the group has a dated conversion).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub median_days_to_convert: Option<f64>,
    /// Deals the group's leads won and lost (when the evaluation was given each lead's deal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deals: Option<Deals>,
    /// Revenue the group's leads brought (when the evaluation was given each lead's revenue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revenue: Option<Revenue>,
}

/// Closed deals of a group of leads.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Deals {
    /// Deals won.
    pub won: usize,
    /// Deals lost.
    pub lost: usize,
    /// Won over closed (won and lost); `None` with none closed.
    pub win_rate: Option<f64>,
}

impl Deals {
    fn of(deal: &[Option<bool>], rows: impl Iterator<Item = usize>) -> Deals {
        let (mut won, mut lost) = (0, 0);
        for i in rows {
            match deal[i] {
                Some(true) => won += 1,
                Some(false) => lost += 1,
                None => {}
            }
        }
        Deals {
            won,
            lost,
            win_rate: (won + lost > 0).then(|| won as f64 / (won + lost) as f64),
        }
    }
}

/// Revenue of a group of leads.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Revenue {
    /// What its leads brought.
    pub total: f64,
    /// Its share of all the revenue (`None` when there is none).
    pub share: Option<f64>,
    /// Revenue per lead over revenue per lead of all the leads: how much more a lead of this
    /// group is worth (`None` when there is no revenue).
    pub lift: Option<f64>,
    /// Share of all the revenue in this decile and the ones above it (deciles only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cumulative_share: Option<f64>,
}

impl Revenue {
    /// The revenue of `rows` (`count` of them) among `all`'s leads, whose revenue adds up to
    /// `overall`.
    fn of(all: &[f64], overall: f64, rows: impl Iterator<Item = usize>, count: usize) -> Revenue {
        let total: f64 = rows.map(|i| all[i]).sum();
        let per_lead = overall / all.len().max(1) as f64;
        Revenue {
            total,
            share: (overall > 0.0).then(|| total / overall),
            lift: (per_lead > 0.0 && count > 0).then(|| total / count as f64 / per_lead),
            cumulative_share: None,
        }
    }
}

/// What else is known of each lead besides converting: when it converted, the deal it
/// closed, the revenue it brought. Each adds its columns to the decile, tier and grade tables.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pipeline<'a> {
    /// Days from creation to conversion (`NaN` when not converted or not dated).
    pub days: Option<&'a [f64]>,
    /// The deal each lead closed: won (`Some(true)`), lost (`Some(false)`), none or still
    /// open (`None`).
    pub deal: Option<&'a [Option<bool>]>,
    /// The revenue each lead brought (0 for none).
    pub revenue: Option<&'a [f64]>,
}

impl Pipeline<'_> {
    /// All the leads' revenue (0 without revenue).
    fn total_revenue(&self) -> f64 {
        self.revenue.map_or(0.0, |v| v.iter().sum())
    }

    /// The pipeline of the leads in `rows`, as owned columns.
    fn pick(&self, rows: &[usize]) -> PipelineColumns {
        PipelineColumns {
            days: self.days.map(|d| rows.iter().map(|&i| d[i]).collect()),
            deal: self.deal.map(|d| rows.iter().map(|&i| d[i]).collect()),
            revenue: self.revenue.map(|d| rows.iter().map(|&i| d[i]).collect()),
        }
    }
}

/// [`Pipeline`]'s columns, owned.
#[derive(Debug, Clone, Default)]
pub struct PipelineColumns {
    /// Days from creation to conversion (`NaN` when not converted or not dated).
    pub days: Option<Vec<f64>>,
    /// The deal each lead closed.
    pub deal: Option<Vec<Option<bool>>>,
    /// The revenue each lead brought.
    pub revenue: Option<Vec<f64>>,
}

impl PipelineColumns {
    /// The columns borrowed.
    pub fn view(&self) -> Pipeline<'_> {
        Pipeline {
            days: self.days.as_deref(),
            deal: self.deal.as_deref(),
            revenue: self.revenue.as_deref(),
        }
    }
}

/// The median of the finite values among `rows` of `days` (converted leads only carry one).
fn median_days(days: Option<&[f64]>, rows: impl Iterator<Item = usize>) -> Option<f64> {
    let d = days?;
    let mut v: Vec<f64> = rows.map(|i| d[i]).filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    })
}

/// Ten groups of (nearly) equal size by decreasing score; ties keep input order. `more`: what
/// else is known of each lead (days to conversion, deal, revenue) for its columns.
pub fn deciles(y: &[f64], score: &[f64], more: &Pipeline<'_>) -> Vec<Group> {
    let n = y.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| score[b].total_cmp(&score[a]).then(a.cmp(&b)));
    let total: f64 = y.iter().sum();
    let base = total / n.max(1) as f64;
    let mut out = Vec::new();
    let (mut found, mut earned) = (0.0, 0.0);
    let revenue = more.total_revenue();
    for d in 0..10 {
        let (a, b) = (d * n / 10, (d + 1) * n / 10);
        if a == b {
            continue;
        }
        let rows = &order[a..b];
        let conv: f64 = rows.iter().map(|&i| y[i]).sum();
        found += conv;
        let mut g = group(
            (d + 1).to_string(),
            (b - a, conv),
            (base, revenue),
            more,
            rows.iter().copied(),
        );
        g.cumulative_recall = Some(if total > 0.0 { found / total } else { f64::NAN });
        g.min_score = Some(score[order[b - 1]]);
        if let Some(r) = &mut g.revenue {
            earned += r.total;
            r.cumulative_share = r.share.map(|_| earned / revenue);
        }
        out.push(g);
    }
    out
}

/// A group's figures: `(count, converted)` of its `rows`, against the base rate and the
/// total revenue of all the leads.
fn group(
    name: String,
    (count, converted): (usize, f64),
    (base, revenue): (f64, f64),
    more: &Pipeline<'_>,
    rows: impl Iterator<Item = usize> + Clone,
) -> Group {
    let rate = converted / count.max(1) as f64;
    Group {
        name,
        count,
        converted: converted as usize,
        rate,
        lift: if base > 0.0 { rate / base } else { f64::NAN },
        cumulative_recall: None,
        min_score: None,
        median_days_to_convert: median_days(more.days, rows.clone()),
        deals: more.deal.map(|d| Deals::of(d, rows.clone())),
        revenue: more.revenue.map(|v| Revenue::of(v, revenue, rows, count)),
    }
}

/// Conversion per label (tier, grade, segment), in the order of `names` first, then any
/// other label by first appearance; `more` as for [`deciles`].
pub fn groups(y: &[f64], labels: &[String], names: &[String], more: &Pipeline<'_>) -> Vec<Group> {
    let mut keys: Vec<String> = names.to_vec();
    for l in labels {
        if !keys.contains(l) {
            keys.push(l.clone());
        }
    }
    let base = y.iter().sum::<f64>() / y.len().max(1) as f64;
    let revenue = more.total_revenue();
    keys.into_iter()
        .filter_map(|k| {
            let (mut c, mut conv) = (0usize, 0.0);
            for (l, &y) in labels.iter().zip(y) {
                if *l == k {
                    c += 1;
                    conv += y;
                }
            }
            let rows = (0..labels.len()).filter(|&i| labels[i] == k);
            (c > 0).then(|| group(k.clone(), (c, conv), (base, revenue), more, rows))
        })
        .collect()
}

/// Every metric of one population (all leads, or one segment).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// Which population: `all` or the segment's value.
    pub name: String,
    /// Leads.
    pub rows: usize,
    /// Conversions.
    pub converted: usize,
    /// Conversion rate.
    pub base_rate: f64,
    /// ROC-AUC of the score (`null` with one class only).
    pub roc_auc: Option<f64>,
    /// Its 95% confidence interval (DeLong; `null` with fewer than two leads of an outcome).
    #[serde(default)]
    pub roc_auc_ci95: Option<[f64; 2]>,
    /// Average precision of the score.
    pub pr_auc: Option<f64>,
    /// Log-loss of the probabilities.
    pub log_loss: f64,
    /// Brier score of the probabilities.
    pub brier: f64,
    /// Expected calibration error (10 equal-width bins).
    pub ece: f64,
    /// The reliability table (10 equal-width bins).
    pub reliability: Vec<Bin>,
    /// Conversion and lift per score decile (1 = top).
    pub deciles: Vec<Group>,
    /// Conversion and lift per tier.
    pub tiers: Vec<Group>,
    /// Conversion and lift per grade, when the scorer has grades.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub grades: Vec<Group>,
    /// Deals won and lost by all the report's leads (when the evaluation was given each
    /// lead's deal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deals: Option<Deals>,
    /// Revenue of all the report's leads (when the evaluation was given each lead's revenue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revenue: Option<f64>,
    /// Leads predicted positive (at the threshold, or sales-ready).
    pub predicted_positive: usize,
    /// Precision of those.
    pub precision: Option<f64>,
    /// Recall of those.
    pub recall: Option<f64>,
    /// How scores spread, for converted and other leads.
    pub distribution: Histogram,
}

/// Score counts in equal-width bins, apart for converted leads and the others.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    /// Bin edges (`bins + 1` values).
    pub edges: Vec<f64>,
    /// Converted leads per bin.
    pub converted: Vec<usize>,
    /// Other leads per bin.
    pub not_converted: Vec<usize>,
}

/// A histogram of `score` on `[lo, hi]` with `bins` bins.
pub fn histogram(y: &[f64], score: &[f64], lo: f64, hi: f64, bins: usize) -> Histogram {
    let width = if hi > lo {
        (hi - lo) / bins as f64
    } else {
        1.0
    };
    let mut h = Histogram {
        edges: (0..=bins).map(|i| lo + width * i as f64).collect(),
        converted: vec![0; bins],
        not_converted: vec![0; bins],
    };
    for (&y, &s) in y.iter().zip(score) {
        let b = (((s - lo) / width).floor().max(0.0) as usize).min(bins - 1);
        if y > 0.5 {
            h.converted[b] += 1;
        } else {
            h.not_converted[b] += 1;
        }
    }
    h
}

/// What to evaluate: the outcomes and everything a scorer said about each lead.
pub struct Scores<'a> {
    /// Outcomes, 1 or 0.
    pub y: &'a [f64],
    /// The ranking score (a probability, or rule points).
    pub score: &'a [f64],
    /// Probabilities (for a rule model, its score calibrated by cross-fitting).
    pub probability: &'a [f64],
    /// Tier per lead, and the tier names in display order.
    pub tiers: (&'a [String], &'a [String]),
    /// Grade per lead, and the grade names, when the scorer has grades.
    pub grades: Option<(&'a [String], &'a [String])>,
    /// Whether each lead is predicted positive (over the threshold, or sales-ready).
    pub positive: &'a [bool],
    /// The score's range for the distribution chart (0–1 for probabilities).
    pub range: (f64, f64),
    /// What else is known of each lead: days to conversion, deal, revenue.
    pub more: Pipeline<'a>,
}

fn opt(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// The report of the leads in `rows` (all if `None`), named `name`.
pub fn report(s: &Scores<'_>, rows: Option<&[usize]>, name: &str) -> Report {
    let all: Vec<usize>;
    let rows = match rows {
        Some(r) => r,
        None => {
            all = (0..s.y.len()).collect();
            &all
        }
    };
    let pick = |v: &[f64]| rows.iter().map(|&i| v[i]).collect::<Vec<f64>>();
    let pick_s = |v: &[String]| rows.iter().map(|&i| v[i].clone()).collect::<Vec<String>>();
    let (y, score, p) = (pick(s.y), pick(s.score), pick(s.probability));
    let more = s.more.pick(rows);
    let more = more.view();
    let converted = y.iter().filter(|&&v| v > 0.5).count();
    let n = y.len();
    let pred: Vec<bool> = rows.iter().map(|&i| s.positive[i]).collect();
    let tp = pred
        .iter()
        .zip(&y)
        .filter(|(p, y)| **p && **y > 0.5)
        .count();
    let pp = pred.iter().filter(|p| **p).count();
    let aucs = ranking_aucs(&y, &score);
    Report {
        name: name.to_owned(),
        rows: n,
        converted,
        base_rate: converted as f64 / n.max(1) as f64,
        roc_auc: opt(aucs.0),
        roc_auc_ci95: crate::delong::auc_interval(&y, &score).map(|i| [i.low, i.high]),
        pr_auc: opt(aucs.1),
        log_loss: log_loss(&y, &p),
        brier: brier(&y, &p),
        ece: ece(&y, &p, 10),
        reliability: reliability(&y, &p, 10),
        deciles: deciles(&y, &score, &more),
        tiers: groups(&y, &pick_s(s.tiers.0), s.tiers.1, &more),
        grades: s
            .grades
            .map(|(g, names)| groups(&y, &pick_s(g), names, &more))
            .unwrap_or_default(),
        deals: more.deal.map(|d| Deals::of(d, 0..n)),
        revenue: more.revenue.map(|v| v.iter().sum()),
        predicted_positive: pp,
        precision: (pp > 0).then(|| tp as f64 / pp as f64),
        recall: (converted > 0).then(|| tp as f64 / converted as f64),
        distribution: {
            let (lo, hi) = s.range;
            histogram(&y, &score, lo, hi, 20)
        },
    }
}

/// Which segment each lead is in, and the order of the segments' reports.
#[derive(Debug, Clone, Copy)]
pub struct Segments<'a> {
    /// The segment of each lead (empty: missing).
    pub values: &'a [String],
    /// Reports in the values' sort order (cohorts such as `2026-03`), else in order of first
    /// appearance.
    pub sorted: bool,
}

/// The report of all leads, then one per segment value.
pub fn report_with_segments(s: &Scores<'_>, segments: Option<Segments<'_>>) -> Vec<Report> {
    let mut out = vec![report(s, None, "all")];
    if let Some(Segments {
        values: seg,
        sorted,
    }) = segments
    {
        let mut names: Vec<&String> = Vec::new();
        for v in seg {
            if !names.contains(&v) {
                names.push(v);
            }
        }
        if sorted {
            // Missing last.
            names.sort_by_key(|n| (n.is_empty(), *n));
        }
        for name in names {
            let rows: Vec<usize> = (0..seg.len()).filter(|&i| seg[i] == *name).collect();
            let label = if name.is_empty() { "(missing)" } else { name };
            out.push(report(s, Some(&rows), label));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition: pairs (positive, negative) ordered right, ties one half.
    fn brute_auc(y: &[f64], s: &[f64]) -> f64 {
        let (mut num, mut den) = (0.0, 0.0);
        for i in 0..y.len() {
            for j in 0..y.len() {
                if y[i] > 0.5 && y[j] < 0.5 {
                    den += 1.0;
                    num += if s[i] > s[j] {
                        1.0
                    } else if s[i] == s[j] {
                        0.5
                    } else {
                        0.0
                    };
                }
            }
        }
        num / den
    }

    #[test]
    fn auc_equals_the_pairwise_count() {
        // A fixed pseudo-random sequence with many ties (scores on a coarse grid).
        let mut x: u64 = 12345;
        let mut next = || {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) as f64 / (1u64 << 31) as f64
        };
        for n in [2usize, 7, 50, 301] {
            let s: Vec<f64> = (0..n).map(|_| (next() * 12.0).floor()).collect();
            let mut y: Vec<f64> = s
                .iter()
                .map(|&s| (next() * 14.0 < s + 1.0) as u8 as f64)
                .collect();
            y[0] = 1.0;
            y[n - 1] = 0.0;
            let (a, b) = (roc_auc(&y, &s), brute_auc(&y, &s));
            assert!((a - b).abs() < 1e-12, "n={n}: {a} vs {b}");
            // Grouped: one group per row, and rows merged into groups of equal score
            // (split in two groups per score, so ties across groups are counted too).
            let mut rows: Vec<(f64, f64, f64)> =
                s.iter().zip(&y).map(|(&s, &y)| (s, y, 1.0 - y)).collect();
            let g = roc_auc_grouped(&mut rows);
            assert!((g - b).abs() < 1e-12, "n={n}: grouped rows {g} vs {b}");
            let mut merged: Vec<(f64, f64, f64)> = Vec::new();
            for (&s, &y) in s.iter().zip(&y).step_by(2) {
                match merged.iter_mut().find(|m| m.0 == s) {
                    Some(m) => {
                        m.1 += y;
                        m.2 += 1.0 - y;
                    }
                    None => merged.push((s, y, 1.0 - y)),
                }
            }
            merged.extend(
                s.iter()
                    .zip(&y)
                    .skip(1)
                    .step_by(2)
                    .map(|(&s, &y)| (s, y, 1.0 - y)),
            );
            assert!(merged.len() < n || n == 2);
            let g = roc_auc_grouped(&mut merged);
            assert!((g - b).abs() < 1e-12, "n={n}: grouped {g} vs {b}");
        }
        assert!(roc_auc_grouped(&mut [(0.1, 2.0, 0.0)]).is_nan());
        assert!(roc_auc(&[1.0, 1.0], &[0.1, 0.2]).is_nan());
        assert_eq!(roc_auc(&[0.0, 1.0, 0.0, 1.0], &[0.1, 0.9, 0.2, 0.8]), 1.0);
    }

    #[test]
    fn one_sort_gives_both_aucs() {
        use rand::{Rng, SeedableRng};
        // Ties (scores rounded to a tenth), a zero of either sign, and both classes.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let score: Vec<f64> = (0..3000)
            .map(|i| match i % 97 {
                0 => 0.0,
                1 => -0.0,
                _ => (rng.random::<f64>() * 20.0).round() / 10.0 - 1.0,
            })
            .collect();
        let y: Vec<f64> = score
            .iter()
            .map(|&s| (rng.random::<f64>() < 0.3 + 0.2 * s) as u8 as f64)
            .collect();
        let (roc, pr) = ranking_aucs(&y, &score);
        assert_eq!(roc.to_bits(), roc_auc(&y, &score).to_bits());
        assert_eq!(pr.to_bits(), pr_auc(&y, &score).to_bits());
        // Average precision by its definition: the mean over positives of the precision among
        // the rows scoring at least as high (ties enter together).
        let pos: Vec<f64> = (0..y.len())
            .filter(|&i| y[i] > 0.5)
            .map(|i| score[i])
            .collect();
        let brute = pos
            .iter()
            .map(|&t| {
                let above = (0..y.len()).filter(|&i| score[i] >= t);
                let (n, tp) = above.fold((0.0, 0.0), |(n, tp), i| (n + 1.0, tp + y[i]));
                tp / n
            })
            .sum::<f64>()
            / pos.len() as f64;
        assert!((pr - brute).abs() < 1e-12, "{pr} {brute}");
        assert!((roc - brute_auc(&y, &score)).abs() < 1e-12);
        // One class only: neither is defined.
        let (r, p) = ranking_aucs(&[0.0, 0.0], &[0.1, 0.2]);
        assert!(r.is_nan() && p.is_nan());
    }

    #[test]
    fn average_precision_by_hand() {
        // Ranked: 1 (pos), 2 (neg), 3 (pos): AP = (1/1 + 2/3) / 2.
        let ap = pr_auc(&[1.0, 0.0, 1.0], &[0.9, 0.8, 0.7]);
        assert!((ap - (1.0 + 2.0 / 3.0) / 2.0).abs() < 1e-12);
    }

    #[test]
    fn log_loss_brier_and_ece_by_hand() {
        let y = [1.0, 0.0, 1.0, 0.0];
        let p = [0.8, 0.4, 0.6, 0.2];
        let ll = -((0.8f64).ln() + (0.6f64).ln() + (0.6f64).ln() + (0.8f64).ln()) / 4.0;
        assert!((log_loss(&y, &p) - ll).abs() < 1e-12);
        assert!((brier(&y, &p) - (0.04 + 0.16 + 0.16 + 0.04) / 4.0).abs() < 1e-12);
        // Bins: [0.2,0.3): 0.2 vs 0; [0.4,0.5): 0.4 vs 0; [0.6,0.7): 0.6 vs 1; [0.8,0.9): 0.8 vs 1.
        let e = (0.2 + 0.4 + 0.4 + 0.2) / 4.0;
        assert!((ece(&y, &p, 10) - e).abs() < 1e-12);
        assert_eq!(reliability(&y, &p, 10).len(), 4);
    }

    #[test]
    fn deciles_find_the_converters() {
        let score: Vec<f64> = (0..100).map(|i| i as f64).collect();
        let y: Vec<f64> = (0..100).map(|i| (i >= 90) as u8 as f64).collect();
        let d = deciles(&y, &score, &Pipeline::default());
        assert_eq!(d.len(), 10);
        assert_eq!(d[0].converted, 10);
        assert_eq!(d[0].lift, 10.0);
        assert_eq!(d[0].min_score, Some(90.0));
        assert_eq!(d[0].cumulative_recall, Some(1.0));
        assert_eq!(d[9].converted, 0);
    }
}
