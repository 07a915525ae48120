//! Writes scored leads as CSV (one flat row per contact) or NDJSON (the full explanation).

use crate::format::Format;
use leadscore_core::{AccountScore, Model, Scored, num};
use serde::Serialize;
use std::io::Write;

/// Columns every export has, before the per-model ones.
const FIXED: [&str; 10] = [
    "id",
    "account_id",
    "score",
    "tier",
    "grade",
    "priority",
    "status",
    "segment",
    "percentile",
    "sales_ready",
];

/// Writes one row per scored lead.
pub struct LeadWriter<W: Write> {
    format: Format,
    csv: Option<csv::Writer<W>>,
    raw: Option<W>,
    rolls_up: bool,
}

#[derive(Serialize)]
struct JsonRow<'a> {
    #[serde(flatten)]
    scored: &'a Scored,
    top_reasons: String,
    account_score: Option<&'a AccountScore>,
}

impl<W: Write> LeadWriter<W> {
    /// A writer for `model`'s columns; writes the CSV header at once.
    pub fn new(out: W, format: Format, model: &Model) -> std::io::Result<Self> {
        let rolls_up = model.rolls_up_accounts();
        match format {
            Format::Csv => {
                let mut w = csv::Writer::from_writer(out);
                w.write_record(header(model))?;
                Ok(Self {
                    format,
                    csv: Some(w),
                    raw: None,
                    rolls_up,
                })
            }
            Format::Ndjson => Ok(Self {
                format,
                csv: None,
                raw: Some(out),
                rolls_up,
            }),
        }
    }

    /// Writes one lead; `account` is its account's rolled-up score.
    pub fn write(&mut self, s: &Scored, account: Option<&AccountScore>) -> std::io::Result<()> {
        match self.format {
            Format::Csv => {
                let w = self.csv.as_mut().expect("csv writer");
                let opt = |o: &Option<String>| o.clone().unwrap_or_default();
                let mut row: Vec<String> = vec![
                    s.id.clone(),
                    opt(&s.account_id),
                    num(s.score),
                    s.tier.clone(),
                    opt(&s.grade),
                    opt(&s.priority),
                    s.status.as_str().to_owned(),
                    s.segment.clone(),
                    s.percentile.map(num).unwrap_or_default(),
                    s.sales_ready.join("; "),
                ];
                row.extend(s.categories.iter().map(|c| num(c.points)));
                for n in &s.scores {
                    row.push(num(n.score));
                    if let Some(t) = &n.tier {
                        row.push(t.clone());
                    }
                }
                if self.rolls_up {
                    row.push(account.map(|a| num(a.score)).unwrap_or_default());
                    row.push(account.and_then(|a| a.tier.clone()).unwrap_or_default());
                }
                row.push(s.top_reasons());
                row.push(
                    s.last_interesting_moment
                        .as_ref()
                        .map(|m| format!("{} {} ({})", m.at, m.label, m.event))
                        .unwrap_or_default(),
                );
                row.push(format!("{}@{}", s.model.name, s.model.version));
                row.push(s.model.hash.clone());
                w.write_record(&row)?;
                Ok(())
            }
            Format::Ndjson => {
                let w = self.raw.as_mut().expect("raw writer");
                let row = JsonRow {
                    scored: s,
                    top_reasons: s.top_reasons(),
                    account_score: account,
                };
                serde_json::to_writer(&mut *w, &row)?;
                w.write_all(b"\n")
            }
        }
    }

    /// Flushes and returns the inner writer.
    pub fn finish(self) -> std::io::Result<W> {
        match (self.csv, self.raw) {
            (Some(c), _) => c.into_inner().map_err(|e| e.into_error()),
            (_, Some(mut r)) => {
                r.flush()?;
                Ok(r)
            }
            _ => unreachable!("one of the writers is set"),
        }
    }
}

/// The CSV header for `model`: fixed columns, one per category subtotal, one (or two, with a
/// tier) per named score, the account roll-up, reasons, moment and model identity.
pub fn header(model: &Model) -> Vec<String> {
    let mut h: Vec<String> = FIXED.iter().map(|s| s.to_string()).collect();
    for id in model.category_ids() {
        // A category called like a fixed column gets a prefix rather than a clash.
        if FIXED.contains(&id) || id.starts_with("score_") {
            h.push(format!("category_{id}"));
        } else {
            h.push(id.to_owned());
        }
    }
    for (id, has_tiers) in model.named_scores() {
        h.push(format!("score_{id}"));
        if has_tiers {
            h.push(format!("tier_{id}"));
        }
    }
    if model.rolls_up_accounts() {
        h.push("account_score".into());
        h.push("account_tier".into());
    }
    for c in [
        "top_reasons",
        "last_interesting_moment",
        "model",
        "model_hash",
    ] {
        h.push(c.into());
    }
    h
}

/// Writes account roll-ups: `id,score,tier,contacts`.
pub fn write_accounts<W: Write>(
    out: W,
    rows: impl Iterator<Item = (String, AccountScore)>,
) -> std::io::Result<W> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(["id", "score", "tier", "contacts"])?;
    for (id, a) in rows {
        w.write_record([
            id,
            num(a.score),
            a.tier.unwrap_or_default(),
            a.contacts.to_string(),
        ])?;
    }
    w.into_inner().map_err(|e| e.into_error())
}
