//! Back-testing a change of rule model on history before activating it: how many leads change
//! tier (a transition matrix), the sales-ready group's share, precision, recall and lift under
//! both models, the ROC-AUC of both scores, and a warning when the candidate lets many more
//! leads qualify that convert much less.

use crate::LearnError;
use crate::delong::{AucDifference, auc_difference};
use crate::evaluate::RuleScores;
use crate::metrics::roc_auc;
use serde::Serialize;
use std::fmt::Write as _;

/// A candidate qualifying at least this many times as many leads as the current model…
pub const MANY_MORE: f64 = 1.5;
/// …while its precision falls by more than this share of the current's draws a warning.
pub const PRECISION_DROP: f64 = 0.2;
/// So does a qualified group converting at less than this multiple of the base rate.
pub const MIN_LIFT: f64 = 1.5;

/// The beginning of the warning, for people and for tests.
pub const TOO_LOW: &str = "many qualify but few convert: the threshold is too low";

/// How one model's sales-ready group does on history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Side {
    /// The model (`name@version (hash)`).
    pub model: String,
    /// Sales-ready leads (status `qualified`).
    pub qualified: usize,
    /// Their share of all leads.
    pub share_qualified: f64,
    /// Of which converted.
    pub converted: usize,
    /// Conversion rate of the qualified (`None` when nobody qualifies).
    pub precision: Option<f64>,
    /// Share of all conversions among the qualified.
    pub recall: Option<f64>,
    /// Precision over the base rate.
    pub lift: Option<f64>,
    /// ROC-AUC of the score.
    pub roc_auc: Option<f64>,
    /// Share of all the revenue (when the history has each lead's) that the sales-ready
    /// leads brought; `None` without revenue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revenue_share: Option<f64>,
}

/// What a model's sales-ready group does on outcomes `y`, and on `revenue` (per lead) when
/// given.
pub fn side(model: &str, y: &[f64], s: &RuleScores, revenue: Option<&[f64]>) -> Side {
    let n = y.len();
    let total: f64 = y.iter().sum();
    let qualified = s.qualified.iter().filter(|&&q| q).count();
    let converted = y
        .iter()
        .zip(&s.qualified)
        .filter(|(y, q)| **q && **y > 0.5)
        .count();
    let precision = (qualified > 0).then(|| converted as f64 / qualified as f64);
    let base = total / n.max(1) as f64;
    let auc = roc_auc(y, &s.score);
    Side {
        model: model.to_owned(),
        qualified,
        share_qualified: qualified as f64 / n.max(1) as f64,
        converted,
        precision,
        recall: (total > 0.0).then(|| converted as f64 / total),
        lift: precision.filter(|_| base > 0.0).map(|p| p / base),
        roc_auc: auc.is_finite().then_some(auc),
        revenue_share: revenue.and_then(|r| {
            let total: f64 = r.iter().sum();
            let kept = r
                .iter()
                .zip(&s.qualified)
                .filter(|(_, q)| **q)
                .fold(0.0, |a, (v, _)| a + v);
            (total > 0.0).then(|| kept / total)
        }),
    }
}

/// Two models on the same history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Backtest {
    /// The history (file name).
    pub data: String,
    /// Leads.
    pub rows: usize,
    /// Of which converted.
    pub converted: usize,
    /// Conversion rate of all leads.
    pub base_rate: f64,
    /// The current model's tiers (the rows of `transitions`), highest first.
    pub current_tiers: Vec<String>,
    /// The candidate's tiers (the columns of `transitions`), highest first.
    pub candidate_tiers: Vec<String>,
    /// `transitions[i][j]`: leads in current tier `i` and candidate tier `j`.
    pub transitions: Vec<Vec<usize>>,
    /// Leads whose tier name differs between the two models.
    pub changed_tier: usize,
    /// Leads that become sales-ready under the candidate.
    pub newly_qualified: usize,
    /// Leads that are no longer sales-ready under the candidate.
    pub no_longer_qualified: usize,
    /// The current model's sales-ready group.
    pub current: Side,
    /// The candidate's.
    pub candidate: Side,
    /// The candidate's ROC-AUC less the current model's, with its 95% interval and p-value
    /// (DeLong, paired: the same leads); `null` with fewer than two leads of an outcome.
    pub auc_difference: Option<AucDifference>,
    /// Reasons to think twice before activating the candidate.
    pub warnings: Vec<String>,
}

/// Compares two models' scores of the same leads (in the same order) against outcomes `y`
/// (and the revenue each lead brought, when known). `names` are the two models' labels.
pub fn backtest(
    data: &str,
    y: &[f64],
    current: &RuleScores,
    candidate: &RuleScores,
    names: (&str, &str),
    revenue: Option<&[f64]>,
) -> Result<Backtest, LearnError> {
    let n = y.len();
    for s in [current, candidate] {
        if s.score.len() != n || s.tier.len() != n || s.qualified.len() != n {
            return Err(LearnError::Data(format!(
                "{} outcomes but {} scores",
                n,
                s.score.len()
            )));
        }
    }
    let tiers = |s: &RuleScores| {
        let mut names = s.tier_names.clone();
        for t in &s.tier {
            if !names.contains(t) {
                names.push(t.clone());
            }
        }
        names
    };
    let (rows, cols) = (tiers(current), tiers(candidate));
    let mut transitions = vec![vec![0usize; cols.len()]; rows.len()];
    let (mut changed, mut newly, mut lost) = (0, 0, 0);
    for i in 0..n {
        let r = rows.iter().position(|t| *t == current.tier[i]).unwrap_or(0);
        let c = cols
            .iter()
            .position(|t| *t == candidate.tier[i])
            .unwrap_or(0);
        transitions[r][c] += 1;
        changed += usize::from(current.tier[i] != candidate.tier[i]);
        newly += usize::from(candidate.qualified[i] && !current.qualified[i]);
        lost += usize::from(current.qualified[i] && !candidate.qualified[i]);
    }
    let converted = y.iter().filter(|&&v| v > 0.5).count();
    let base_rate = converted as f64 / n.max(1) as f64;
    let cur = side(names.0, y, current, revenue);
    let cand = side(names.1, y, candidate, revenue);
    let mut warnings = Vec::new();
    if let (Some(pc), Some(pn)) = (cur.precision, cand.precision)
        && cand.qualified as f64 >= MANY_MORE * cur.qualified as f64
        && pn < (1.0 - PRECISION_DROP) * pc
    {
        warnings.push(format!(
            "{TOO_LOW} (the candidate qualifies {} leads, {:.1}× the current {}, at precision {:.1}% against {:.1}%)",
            cand.qualified,
            cand.qualified as f64 / cur.qualified.max(1) as f64,
            cur.qualified,
            100.0 * pn,
            100.0 * pc
        ));
    }
    if let Some(pn) = cand.precision
        && pn < MIN_LIFT * base_rate
    {
        warnings.push(format!(
            "{TOO_LOW} (the candidate's qualified leads convert at {:.1}%, less than {MIN_LIFT}× the base rate of {:.1}%)",
            100.0 * pn,
            100.0 * base_rate
        ));
    }
    Ok(Backtest {
        data: data.to_owned(),
        rows: n,
        converted,
        base_rate,
        current_tiers: rows,
        candidate_tiers: cols,
        transitions,
        changed_tier: changed,
        newly_qualified: newly,
        no_longer_qualified: lost,
        current: cur,
        candidate: cand,
        auc_difference: auc_difference(y, &current.score, &candidate.score),
        warnings,
    })
}

fn pct(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| format!("{:.1}%", 100.0 * v))
}

fn fixed(x: Option<f64>, digits: usize) -> String {
    x.map_or("-".into(), |v| format!("{v:.digits$}"))
}

/// Sides as a table, one column each under its label: share qualified, precision, recall,
/// lift, ROC-AUC, and the share of the revenue the sales-ready leads brought when known.
pub fn sides_text(sides: &[(&str, &Side)]) -> String {
    let mut s = format!("{:<18}", "");
    for (label, _) in sides {
        let _ = write!(s, " {label:>16}");
    }
    s.push('\n');
    let q = |x: &Side| format!("{} ({:.1}%)", x.qualified, 100.0 * x.share_qualified);
    type Cell<'a> = &'a dyn Fn(&Side) -> String;
    let mut rows: Vec<(&str, Cell)> = vec![
        ("qualified", &q),
        ("precision", &|x| pct(x.precision)),
        ("recall", &|x| pct(x.recall)),
        ("lift", &|x| fixed(x.lift, 2)),
        ("ROC-AUC", &|x| fixed(x.roc_auc, 4)),
    ];
    if sides.iter().any(|(_, x)| x.revenue_share.is_some()) {
        rows.push(("revenue captured", &|x| pct(x.revenue_share)));
    }
    for (name, cell) in rows {
        let _ = write!(s, "{name:<18}");
        for (_, side) in sides {
            let _ = write!(s, " {:>16}", cell(side));
        }
        s.push('\n');
    }
    s
}

/// One line on an ROC-AUC difference (`b` less `a`): its 95% interval and p-value, and
/// whether it is more than chance on leads this many.
pub fn difference_text(d: &AucDifference, b: &str, a: &str) -> String {
    let verdict = if d.p_value < 0.05 {
        if d.difference > 0.0 {
            format!("the {b} ranks better, beyond chance at 5%")
        } else {
            format!("the {b} ranks worse, beyond chance at 5%")
        }
    } else {
        "not told apart from chance at 5% on these leads".to_owned()
    };
    let p = if d.p_value < 0.001 {
        "p < 0.001".to_owned()
    } else {
        format!("p = {:.3}", d.p_value)
    };
    format!(
        "ROC-AUC {b} − {a}: {:+.4} (95% CI {:+.4} to {:+.4}, DeLong paired, {p}): {verdict}\n",
        d.difference, d.low, d.high
    )
}

impl Backtest {
    /// The back-test for a person: the transition matrix, the changes, both sides, warnings.
    pub fn text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "back-test on {}: {} leads, {} converted ({:.1}%)",
            self.data,
            self.rows,
            self.converted,
            100.0 * self.base_rate
        );
        let _ = writeln!(s, "current:   {}", self.current.model);
        let _ = writeln!(s, "candidate: {}", self.candidate.model);
        let _ = writeln!(
            s,
            "\ntier transitions (rows: current tier, columns: candidate tier)"
        );
        let label = |t: &str| if t.is_empty() { "(none)" } else { t }.to_owned();
        let w = self
            .current_tiers
            .iter()
            .chain(&self.candidate_tiers)
            .map(|t| label(t).chars().count())
            .chain([7])
            .max()
            .unwrap_or(7)
            + 1;
        let _ = write!(s, "{:<w$}", "");
        for c in &self.candidate_tiers {
            let _ = write!(s, " {:>w$}", label(c));
        }
        let _ = writeln!(s, " {:>w$}", "total");
        for (r, row) in self.current_tiers.iter().zip(&self.transitions) {
            let _ = write!(s, "{:<w$}", label(r));
            for v in row {
                let _ = write!(s, " {v:>w$}");
            }
            let _ = writeln!(s, " {:>w$}", row.iter().sum::<usize>());
        }
        let _ = write!(s, "{:<w$}", "total");
        for j in 0..self.candidate_tiers.len() {
            let _ = write!(
                s,
                " {:>w$}",
                self.transitions.iter().map(|r| r[j]).sum::<usize>()
            );
        }
        let _ = writeln!(s, " {:>w$}", self.rows);
        let _ = writeln!(
            s,
            "\nchange tier: {} of {} leads ({:.1}%); newly sales-ready: {}; no longer sales-ready: {}\n",
            self.changed_tier,
            self.rows,
            100.0 * self.changed_tier as f64 / self.rows.max(1) as f64,
            self.newly_qualified,
            self.no_longer_qualified
        );
        s.push_str(&sides_text(&[
            ("current", &self.current),
            ("candidate", &self.candidate),
        ]));
        if let Some(d) = &self.auc_difference {
            s.push_str(&difference_text(d, "candidate", "current"));
        }
        s
    }
}
