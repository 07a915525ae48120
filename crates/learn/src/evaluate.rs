//! Evaluating a scorer on historical outcomes: a learned model directly, a rule model through
//! the scores it gave (its points rank the leads; its probabilities come from calibrating the
//! points on the same data by 5-fold cross-fitting, so they are out-of-sample too).

use crate::LearnError;
use crate::calibrate;
use crate::metrics::{Pipeline, Scores, Segments, report_with_segments};
use crate::model::LearnedModel;
use crate::report::Evaluation;
use crate::table::{Column, Table, is_missing, parse_binary, parse_days};

/// Days from `created` to `converted_at` per row of `table` (both kept columns, dates or
/// RFC 3339 times), for the leads that converted; `NaN` for the others and where a date is
/// missing. A date that does not parse, or a conversion before its creation, is an error
/// naming the column and the line (one line per record, the header is line 1).
pub fn days_to_convert(
    table: &Table,
    created: &str,
    converted_at: &str,
) -> Result<Vec<f64>, LearnError> {
    let y = table
        .target
        .as_ref()
        .ok_or_else(|| LearnError::Data("time to conversion needs a target column".into()))?;
    let (a, b) = (
        asked(table, created, "a date column")?,
        asked(table, converted_at, "a date column")?,
    );
    let date = |col: &str, r: usize, text: String| -> Result<Option<f64>, LearnError> {
        if is_missing(&text) {
            return Ok(None);
        }
        parse_days(&text).map(Some).ok_or_else(|| {
            LearnError::input(
                &table.source,
                (r + 2) as u64,
                Some(col),
                format!("{text:?} is not a date (YYYY-MM-DD or RFC 3339)"),
            )
        })
    };
    (0..table.rows)
        .map(|r| {
            let start = date(created, r, a.text(r))?;
            let end = date(converted_at, r, b.text(r))?;
            match (start, end) {
                (Some(s), Some(e)) if y[r] > 0.5 => {
                    if e < s {
                        return Err(LearnError::input(
                            &table.source,
                            (r + 2) as u64,
                            Some(converted_at),
                            format!("converted before it was created (`{created}`)"),
                        ));
                    }
                    Ok(e - s)
                }
                _ => Ok(f64::NAN),
            }
        })
        .collect()
}

/// A column the evaluation was asked to read, or an error naming it (`what` it should hold).
fn asked<'t>(table: &'t Table, name: &str, what: &str) -> Result<&'t Column, LearnError> {
    table.column(name).ok_or_else(|| {
        LearnError::input(
            &table.source,
            1,
            Some(name),
            format!("no such column ({what})"),
        )
    })
}

/// The deal each row's lead closed, from column `name` of `table`: `Some(true)` won (`won`,
/// `closed won`, `Closed-Won`, `win`, `yes`, `1`…), `Some(false)` lost (`lost`, `closed lost`,
/// `no`, `0`…), `None` when no deal closed (empty, `open`, `pending`, `in progress`, `no
/// deal`). Any other value is an error naming the column and the line.
pub fn deal_results(table: &Table, name: &str) -> Result<Vec<Option<bool>>, LearnError> {
    let col = asked(table, name, "each lead's deal: won, lost or open")?;
    (0..table.rows)
        .map(|r| {
            let text = col.text(r);
            if is_missing(&text) {
                return Ok(None);
            }
            let l = text.trim().to_ascii_lowercase().replace(['_', '-'], " ");
            let l = l.split_whitespace().collect::<Vec<_>>().join(" ");
            let bare = l.strip_prefix("closed ").unwrap_or(&l);
            let bare = match bare {
                "closedwon" => "won",
                "closedlost" => "lost",
                b => b,
            };
            if let Some(won) = parse_binary(bare) {
                return Ok(Some(won));
            }
            match bare {
                "open" | "pending" | "in progress" | "no deal" | "none" => Ok(None),
                _ => Err(LearnError::input(
                    &table.source,
                    (r + 2) as u64,
                    Some(name),
                    format!("{text:?} is not a deal result (won, lost, or open or empty for none)"),
                )),
            }
        })
        .collect()
}

/// The revenue each row's lead brought, from column `name` of `table` (empty: none). A value
/// that is not a number, or is negative, is an error naming the column and the line.
pub fn revenue_values(table: &Table, name: &str) -> Result<Vec<f64>, LearnError> {
    let col = asked(table, name, "each lead's revenue")?;
    let bad =
        |r: usize, why: String| LearnError::input(&table.source, (r + 2) as u64, Some(name), why);
    if col.kind == crate::table::ColumnType::Date {
        return Err(LearnError::input(
            &table.source,
            1,
            Some(name),
            "holds dates, not amounts of revenue",
        ));
    }
    (0..table.rows)
        .map(|r| {
            let text = col.text(r);
            if is_missing(&text) {
                return Ok(0.0);
            }
            let x = crate::table::parse_number(&text)
                .ok_or_else(|| bad(r, format!("{text:?} is not a number (revenue)")))?;
            if x < 0.0 {
                return Err(bad(r, format!("{text:?}: revenue cannot be negative")));
            }
            Ok(x)
        })
        .collect()
}

/// A span of time leads are grouped by when they were created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// `2026-03`.
    Month,
    /// `2026-Q1`.
    Quarter,
}

/// The cohort of each row: the month or quarter of its date in column `created` (empty when
/// missing). A date that does not parse is an error naming the column and the line.
pub fn cohorts(table: &Table, created: &str, period: Period) -> Result<Vec<String>, LearnError> {
    let col = asked(table, created, "a date column")?;
    (0..table.rows)
        .map(|r| {
            let text = col.text(r);
            if is_missing(&text) {
                return Ok(String::new());
            }
            let days = parse_days(&text).ok_or_else(|| {
                LearnError::input(
                    &table.source,
                    (r + 2) as u64,
                    Some(created),
                    format!("{text:?} is not a date (YYYY-MM-DD or RFC 3339)"),
                )
            })?;
            let date = chrono::DateTime::from_timestamp(days as i64 * 86_400, 0)
                .map(|t| t.date_naive())
                .unwrap_or_default();
            use chrono::Datelike;
            Ok(match period {
                Period::Month => format!("{}-{:02}", date.year(), date.month()),
                Period::Quarter => format!("{}-Q{}", date.year(), date.month0() / 3 + 1),
            })
        })
        .collect()
}

/// The segment of each row from column `name` of `table` (empty: missing).
pub fn segment_values(table: &Table, name: &str) -> Result<Vec<String>, LearnError> {
    let col = asked(table, name, "to segment by")?;
    Ok((0..table.rows).map(|r| col.text(r)).collect())
}

impl LearnedModel {
    /// Evaluates the model on `table` (read with [`LearnedModel::table_options`] and a target)
    /// from its probabilities `p` for the rows ([`LearnedModel::probabilities`]), per segment
    /// of `segment` when given. `name` names the model in the report; `more` adds what else
    /// is known of each lead: the median time to conversion per band (days from
    /// [`days_to_convert`]), the win rate ([`deal_results`]), the revenue ([`revenue_values`]).
    pub fn evaluate(
        &self,
        table: &Table,
        p: &[f64],
        segments: Option<Segments<'_>>,
        name: &str,
        more: Pipeline<'_>,
    ) -> Result<Evaluation, LearnError> {
        let y = table
            .target
            .as_ref()
            .ok_or_else(|| LearnError::Data("evaluation needs a target column".into()))?;
        let grades: Vec<String> = p.iter().map(|&p| self.grade(p).to_owned()).collect();
        let names: Vec<String> = self.grades.iter().map(|g| g.name.clone()).collect();
        let positive: Vec<bool> = p.iter().map(|&p| p >= self.threshold).collect();
        let scores = Scores {
            y,
            score: p,
            probability: p,
            tiers: (&grades, &names),
            grades: None,
            positive: &positive,
            range: (0.0, 1.0),
            more,
        };
        Ok(Evaluation {
            warnings: self.trained_on(table).into_iter().collect(),
            against: None,
            split_by: None,
            kind: "learned".into(),
            model: self.label(name),
            data: table.source.clone(),
            positive_rule: format!(
                "probability ≥ {:.4} (best out-of-fold F1 when trained)",
                self.threshold
            ),
            probability_note: format!(
                "the model's, calibrated ({})",
                match &self.calibrator {
                    crate::calibrate::Calibrator::Platt { .. } => "Platt",
                    crate::calibrate::Calibrator::Isotonic { .. } => "isotonic",
                }
            ),
            reports: report_with_segments(&scores, segments),
        })
    }
}

impl LearnedModel {
    /// The model's label in reports: `name (algo, hash)`, `name` its file.
    pub fn label(&self, name: &str) -> String {
        format!("{name} ({}, {})", self.algo, &self.hash[..12])
    }

    /// A warning when the leads of `table` were in the model's training data: the same file
    /// (by its SHA-256), or, by the id column, some of the same leads. The figures of an
    /// evaluation on them are in-sample and flatter the model.
    pub fn trained_on(&self, table: &Table) -> Option<String> {
        let honest = self
            .candidates
            .iter()
            .find(|c| c.algo == self.algo)
            .map(|c| {
                format!(
                    "; its out-of-fold figures at training were ROC-AUC {:.4}, log-loss {:.4}, ECE {:.4}",
                    c.roc_auc, c.log_loss, c.ece
                )
            })
            .unwrap_or_default();
        let advice = "evaluate on leads it was not trained on (a later period, or a split kept out of `train`)";
        if table.sha256 == self.training.sha256 {
            return Some(format!(
                "this is the file the model was trained on (same SHA-256): the figures below are \
                 in-sample and better than it will do on new leads{honest}; {advice}"
            ));
        }
        let (sample, ids, id) = match (&self.training.ids, &table.ids, &table.id_name) {
            (Some(s), Some(ids), Some(id)) => (s, ids, id),
            _ => return None,
        };
        let o = sample.overlap(ids)?;
        if o.trained == 0 {
            return None;
        }
        let share = if o.exact {
            format!(
                "{} of these leads (by `{id}`) were in the model's training data",
                o.trained
            )
        } else {
            format!(
                "about {:.0}% of these leads were in the model's training data (by `{id}`: {} of \
                 the {} ids that fall in the model's sample of its training ids)",
                100.0 * o.share(),
                o.trained,
                o.sampled
            )
        };
        Some(format!(
            "{share}: the figures below are partly in-sample and flatter the model{honest}; {advice}"
        ))
    }
}

/// What a rule model said about each lead.
#[derive(Debug, Clone, Default)]
pub struct RuleScores {
    /// Points.
    pub score: Vec<f64>,
    /// Tier.
    pub tier: Vec<String>,
    /// Tier names, highest first.
    pub tier_names: Vec<String>,
    /// Grade (empty strings if the model has none).
    pub grade: Vec<String>,
    /// Sales-ready (status `qualified`).
    pub qualified: Vec<bool>,
}

impl RuleScores {
    /// Sets [`RuleScores::tier_names`] from the tiers seen, the best average score first.
    pub fn order_tiers_by_score(&mut self) {
        let mut names: Vec<(String, f64, usize)> = Vec::new();
        for (t, s) in self.tier.iter().zip(&self.score) {
            match names.iter_mut().find(|(n, _, _)| n == t) {
                Some(e) => {
                    e.1 += s;
                    e.2 += 1;
                }
                None => names.push((t.clone(), *s, 1)),
            }
        }
        names.sort_by(|a, b| (b.1 / b.2 as f64).total_cmp(&(a.1 / a.2 as f64)));
        self.tier_names = names.into_iter().map(|n| n.0).collect();
    }
}

/// Evaluates rule scores against outcomes `y`, per segment when given; `more` as for
/// [`LearnedModel::evaluate`].
pub fn evaluate_rules(
    y: &[f64],
    s: &RuleScores,
    segments: Option<Segments<'_>>,
    more: Pipeline<'_>,
    model: &str,
    data: &str,
    seed: u64,
) -> Evaluation {
    let (_, choice, p) = calibrate::choose(&s.score, y, seed);
    let has_grades = s.grade.iter().any(|g| !g.is_empty());
    let mut grade_names: Vec<String> = s.grade.clone();
    grade_names.sort();
    grade_names.dedup();
    let lo = s.score.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = s.score.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let scores = Scores {
        y,
        score: &s.score,
        probability: &p,
        tiers: (&s.tier, &s.tier_names),
        grades: has_grades.then_some((&s.grade[..], &grade_names[..])),
        positive: &s.qualified,
        range: if lo.is_finite() && hi > lo {
            (lo, hi)
        } else {
            (0.0, 1.0)
        },
        more,
    };
    Evaluation {
        warnings: Vec::new(),
        against: None,
        split_by: None,
        kind: "rules".into(),
        model: model.into(),
        data: data.into(),
        positive_rule: "status `qualified` (sales-ready)".into(),
        probability_note: format!(
            "the points calibrated on this data by 5-fold cross-fitting ({})",
            choice.chosen
        ),
        reports: report_with_segments(&scores, segments),
    }
}
