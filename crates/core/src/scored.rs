//! A scored lead and its explanation, as plain data that the CLI, the API and the dashboard
//! render alike.

use crate::model::{Kind, ModelRef};
use crate::name::Name;
use serde::Serialize;
use std::fmt::Write as _;
use std::sync::Arc;

/// Where a lead stands with sales.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Sales-ready: a sales-ready tier, a sales-ready grade cell, or the top N% of its segment.
    Qualified,
    /// Forced out by a disqualification rule, whatever the points.
    Disqualified,
    /// Everyone else: stays with marketing.
    Pool,
}

impl Status {
    /// The lowercase name used in files and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Qualified => "qualified",
            Status::Disqualified => "disqualified",
            Status::Pool => "pool",
        }
    }
}

/// One rule that fired and what it added.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contribution {
    /// Rule id.
    pub rule: Name,
    /// Rule label (defaults to the id).
    pub label: Name,
    /// Category id.
    pub category: Name,
    /// Explicit, implicit or negative.
    pub kind: Kind,
    /// The rule's condition in plain language.
    pub condition: Name,
    /// `points` as written in the model.
    pub base_points: i64,
    /// For per-occurrence rules: how many events counted.
    pub occurrences: Option<u32>,
    /// Points before decay (per-occurrence: points × occurrences).
    pub before_decay: f64,
    /// Points after decay, before the rule's own cap.
    pub after_decay: f64,
    /// The rule's `max_points`, if any.
    pub rule_cap: Option<f64>,
    /// What the rule adds to its category.
    pub points: f64,
    /// The latest event behind the rule, for behaviour rules.
    pub last_event_at: Option<String>,
}

/// A category's subtotal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryScore {
    /// Category id.
    pub id: Name,
    /// Category label.
    pub label: Name,
    /// Sum of rule points.
    pub raw: f64,
    /// The category cap, if any.
    pub cap: Option<f64>,
    /// `raw` after the cap.
    pub capped: f64,
    /// Share of the 0–100 composite, for normalized models.
    pub weight: Option<f64>,
    /// What the category adds to the score.
    pub points: f64,
}

/// A named score (per product line or topic) beside the overall one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NamedScoreValue {
    /// Score id.
    pub id: Name,
    /// Score label.
    pub label: Name,
    /// The value.
    pub score: f64,
    /// Its tier, when the score has tiers.
    pub tier: Option<String>,
}

/// A disqualification rule that fired.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Disqualification {
    /// Rule id.
    pub rule: Name,
    /// Why, in words.
    pub reason: Name,
}

/// The latest high-value signal ("last interesting moment").
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Moment {
    /// When (RFC 3339).
    pub at: String,
    /// The event type.
    pub event: Name,
    /// The rule it matched.
    pub rule: Name,
    /// That rule's label.
    pub label: Name,
}

/// An account's rolled-up score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountScore {
    /// The rolled-up score.
    pub score: f64,
    /// How many contacts it was made from.
    pub contacts: usize,
    /// The account tier, when the model has account tiers.
    pub tier: Option<String>,
}

/// A scored lead: the score, where it places the lead, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scored {
    /// Contact id.
    pub id: String,
    /// Account id, if any.
    pub account_id: Option<String>,
    /// The exact model that produced this score.
    pub model: Arc<ModelRef>,
    /// The scoring time (RFC 3339): with the same events and model, the same score.
    pub as_of: Name,
    /// The composite (0–100) or the model's raw points.
    pub score: f64,
    /// Tier name from the thresholds in force for the lead's segment.
    pub tier: String,
    /// Fit letter × engagement digit, e.g. `A1`, when the model has a grade.
    pub grade: Option<String>,
    /// The priority label of the grade cell (e.g. "super hot").
    pub priority: Option<String>,
    /// Qualified, disqualified or pool.
    pub status: Status,
    /// Why the lead is sales-ready, e.g. `tier mql`, `grade A1`, `top 20%`.
    pub sales_ready: Vec<String>,
    /// The segment whose rules and thresholds applied.
    pub segment: String,
    #[serde(skip)]
    pub(crate) segment_index: usize,
    /// Share of the segment (0–100) scoring lower, once a [`crate::Ranking`] was applied.
    pub percentile: Option<f64>,
    /// Category subtotals, in model order.
    pub categories: Vec<CategoryScore>,
    /// Named scores, in model order.
    pub scores: Vec<NamedScoreValue>,
    /// Every rule that fired, in model order.
    pub contributions: Vec<Contribution>,
    /// Disqualification rules that fired.
    pub disqualified_by: Vec<Disqualification>,
    /// The latest high-value signal.
    pub last_interesting_moment: Option<Moment>,
}

impl Scored {
    /// The `n` contributions that moved the score most, largest first (ties keep model order).
    pub fn top_contributions(&self, n: usize) -> Vec<&Contribution> {
        let mut v: Vec<&Contribution> = self
            .contributions
            .iter()
            .filter(|c| c.points != 0.0)
            .collect();
        v.sort_by(|a, b| b.points.abs().total_cmp(&a.points.abs()));
        v.truncate(n);
        v
    }

    /// The top three reasons as one line: `Booked a call (+20); Trial signup (+15); ...`.
    pub fn top_reasons(&self) -> String {
        let mut out = String::new();
        self.write_top_reasons(&mut out);
        out
    }

    /// [`Scored::top_reasons`] appended to `out` without allocating: exports write it for
    /// every lead.
    pub fn write_top_reasons(&self, out: &mut String) {
        let top = top_three(
            self.contributions
                .iter()
                .filter(|c| c.points != 0.0)
                .map(|c| (c, c.points)),
        );
        for (i, (c, _)) in top.iter().flatten().enumerate() {
            if i > 0 {
                out.push_str("; ");
            }
            out.push_str(&c.label);
            out.push_str(" (");
            if c.points >= 0.0 {
                out.push('+');
            }
            write_num(out, c.points);
            out.push(')');
        }
    }

    /// The full breakdown as text: every rule that fired with its points before and after decay
    /// and caps, category subtotals, and what decided tier, grade and status.
    pub fn explain(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{}: score {} — tier {}{} — {}",
            self.id,
            num(self.score),
            if self.tier.is_empty() {
                "-"
            } else {
                &self.tier
            },
            self.grade
                .as_ref()
                .map(|g| format!(", grade {g}"))
                .unwrap_or_default(),
            self.status.as_str()
        );
        let _ = writeln!(
            s,
            "model {} v{} ({}), as of {}, segment {}",
            self.model.name,
            self.model.version,
            &self.model.hash[..12.min(self.model.hash.len())],
            self.as_of,
            self.segment
        );
        if let Some(p) = &self.percentile {
            let _ = writeln!(s, "percentile in segment: {}", num(*p));
        }
        if let Some(p) = &self.priority {
            let _ = writeln!(s, "priority: {p}");
        }
        if !self.sales_ready.is_empty() {
            let _ = writeln!(s, "sales-ready because: {}", self.sales_ready.join(", "));
        }
        for d in &self.disqualified_by {
            let _ = writeln!(s, "DISQUALIFIED by {}: {}", d.rule, d.reason);
        }
        let _ = writeln!(s, "\nrules that fired:");
        if self.contributions.is_empty() {
            let _ = writeln!(s, "  (none)");
        }
        for c in &self.contributions {
            let mut detail = Vec::new();
            if let Some(n) = c.occurrences {
                detail.push(format!(
                    "{} × {} = {}",
                    n,
                    c.base_points,
                    num(c.before_decay)
                ));
            } else {
                let unit = if c.base_points.abs() == 1 {
                    "point"
                } else {
                    "points"
                };
                detail.push(format!("{} {unit}", c.base_points));
            }
            if c.after_decay != c.before_decay {
                detail.push(format!("after decay {}", num(c.after_decay)));
            }
            if let Some(cap) = c.rule_cap
                && c.points != c.after_decay
            {
                detail.push(format!("capped at {}", num(cap)));
            }
            if let Some(at) = &c.last_event_at {
                detail.push(format!("last {at}"));
            }
            let _ = writeln!(
                s,
                "  {:>8}  {} [{}, {}] — {} ({})",
                signed(c.points),
                c.label,
                c.category,
                kind(c.kind),
                c.condition,
                detail.join(", ")
            );
        }
        let _ = writeln!(s, "\ncategories:");
        for c in &self.categories {
            let mut detail = format!("raw {}", num(c.raw));
            if let Some(cap) = c.cap
                && c.capped != c.raw
            {
                let _ = write!(detail, ", capped at {}", num(cap));
            }
            if let (Some(w), Some(cap)) = (c.weight, c.cap) {
                let _ = write!(
                    detail,
                    ", weight {} × {}/{}",
                    num(w),
                    num(c.capped),
                    num(cap)
                );
            }
            let _ = writeln!(s, "  {:>8}  {} ({detail})", num(c.points), c.id);
        }
        for n in &self.scores {
            let _ = writeln!(
                s,
                "score {}: {}{}",
                n.id,
                num(n.score),
                n.tier
                    .as_ref()
                    .map(|t| format!(" ({t})"))
                    .unwrap_or_default()
            );
        }
        if let Some(m) = &self.last_interesting_moment {
            let _ = writeln!(
                s,
                "last interesting moment: {} — {} ({})",
                m.at, m.label, m.event
            );
        }
        s
    }
}

fn kind(k: Kind) -> &'static str {
    match k {
        Kind::Explicit => "explicit",
        Kind::Implicit => "implicit",
        Kind::Negative => "negative",
    }
}

/// The three items with the largest |points|, largest first, earlier items first on ties, in
/// one pass without allocating (exports pick top reasons for every lead).
pub(crate) fn top_three<T: Copy>(
    items: impl IntoIterator<Item = (T, f64)>,
) -> [Option<(T, f64)>; 3] {
    // The position breaks ties, so an item pushed down never slips behind an equal later one.
    let better = |a: (usize, f64), b: (usize, f64)| {
        a.1.abs() > b.1.abs() || (a.1.abs() == b.1.abs() && a.0 < b.0)
    };
    let mut top: [Option<(usize, T, f64)>; 3] = [None; 3];
    for (k, (item, points)) in items.into_iter().enumerate() {
        let mut cur = Some((k, item, points));
        for slot in &mut top {
            match (*slot, cur) {
                (None, Some(x)) => {
                    *slot = Some(x);
                    cur = None;
                }
                (Some(y), Some(x)) if better((x.0, x.2), (y.0, y.2)) => {
                    *slot = Some(x);
                    cur = Some(y);
                }
                _ => {}
            }
        }
    }
    top.map(|t| t.map(|(_, item, points)| (item, points)))
}

/// A number without a trailing `.0`: `12`, `12.5`, `-3.25`.
pub fn num(x: f64) -> String {
    let mut s = String::new();
    write_num(&mut s, x);
    s
}

/// [`num`] appended to `out`.
pub fn write_num(out: &mut String, x: f64) {
    use std::fmt::Write as _;
    if x.fract() == 0.0 && x.abs() < 1e15 {
        let _ = write!(out, "{}", x as i64);
        return;
    }
    // Scores are rounded to cents: when `x` is exactly the double nearest some whole number of
    // cents, print that number with integer arithmetic. The shortest round-trip form that `{}`
    // prints is then the same digits, and the general float formatter was a visible share of
    // exporting a million leads. Anything else goes through `{}`.
    let cents = (x * 100.0).round();
    if cents.abs() < 1e13 && cents / 100.0 == x {
        let c = cents as i64;
        let (whole, frac) = (c.abs() / 100, c.abs() % 100);
        if c < 0 {
            out.push('-');
        }
        let _ = write!(out, "{whole}");
        if frac % 10 == 0 {
            let _ = write!(out, ".{}", frac / 10);
        } else {
            let _ = write!(out, ".{frac:02}");
        }
        return;
    }
    let _ = write!(out, "{x}");
}

fn signed(x: f64) -> String {
    if x >= 0.0 {
        format!("+{}", num(x))
    } else {
        num(x)
    }
}
