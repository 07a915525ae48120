//! Writes scored leads as CSV (one flat row per contact) or NDJSON (the full explanation).

use crate::format::Format;
use leadscore_core::value::format_time;
use leadscore_core::{AccountScore, Contact, Headline, Model, Scored, num, write_num};
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

/// Writes one row per scored lead: the header here, rows formatted by [`RowFormatter`]s (one
/// per thread) and handed over as bytes.
pub struct LeadWriter<W: Write> {
    out: W,
    format: Format,
    rolls_up: bool,
    model_tag: String,
    model_hash: String,
}

/// Formats scored leads into an in-memory buffer: CSV rows from a [`Headline`] (no allocation
/// per row), NDJSON objects from a full [`Scored`].
pub struct RowFormatter {
    rolls_up: bool,
    model_tag: String,
    model_hash: String,
    csv: csv::Writer<Vec<u8>>,
    json: Vec<u8>,
    buf: String,
}

#[derive(Serialize)]
struct JsonRow<'a> {
    #[serde(flatten)]
    scored: &'a Scored,
    top_reasons: String,
    account_score: Option<&'a AccountScore>,
}

fn new_csv() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::with_capacity(1 << 20))
}

impl RowFormatter {
    /// One CSV row: `contact` gives the id and account id, `account` the account's roll-up.
    pub fn write_csv(
        &mut self,
        contact: &Contact,
        h: &Headline<'_>,
        account: Option<&AccountScore>,
    ) -> std::io::Result<()> {
        use std::fmt::Write as _;
        // Numbers and composed fields go through one reused buffer: a million rows of fresh
        // Strings cost more than the scoring itself.
        let (w, buf) = (&mut self.csv, &mut self.buf);
        let num_field = |w: &mut csv::Writer<Vec<u8>>, buf: &mut String, x: f64| {
            buf.clear();
            write_num(buf, x);
            w.write_field(buf.as_bytes())
        };
        w.write_field(&contact.id)?;
        w.write_field(contact.account_id.as_deref().unwrap_or(""))?;
        num_field(w, buf, h.score)?;
        w.write_field(h.tier)?;
        w.write_field(h.grade.as_ref().map_or("", |g| g.as_str()))?;
        w.write_field(h.priority.unwrap_or(""))?;
        w.write_field(h.status.as_str())?;
        w.write_field(h.segment)?;
        match h.percentile {
            Some(p) => num_field(w, buf, p)?,
            None => w.write_field("")?,
        }
        buf.clear();
        let sep = |buf: &mut String| {
            if !buf.is_empty() {
                buf.push_str("; ");
            }
        };
        if h.tier_ready {
            sep(buf);
            let _ = write!(buf, "tier {}", h.tier);
        }
        if let (true, Some(g)) = (h.grade_ready, &h.grade) {
            sep(buf);
            let _ = write!(buf, "grade {}", g.as_str());
        }
        if let Some(top) = h.top_percent {
            sep(buf);
            let _ = write!(buf, "top {top}%");
        }
        w.write_field(buf.as_bytes())?;
        for c in &h.categories {
            num_field(w, buf, c.points)?;
        }
        for (value, tier) in &h.scores {
            num_field(w, buf, *value)?;
            if let Some(t) = tier {
                w.write_field(t)?;
            }
        }
        if self.rolls_up {
            match account {
                Some(a) => {
                    num_field(w, buf, a.score)?;
                    w.write_field(a.tier.as_deref().unwrap_or(""))?;
                }
                None => {
                    w.write_field("")?;
                    w.write_field("")?;
                }
            }
        }
        buf.clear();
        for (i, (label, points)) in h.top_reasons.iter().flatten().enumerate() {
            if i > 0 {
                buf.push_str("; ");
            }
            buf.push_str(label);
            buf.push_str(" (");
            if *points >= 0.0 {
                buf.push('+');
            }
            write_num(buf, *points);
            buf.push(')');
        }
        w.write_field(buf.as_bytes())?;
        buf.clear();
        if let Some(m) = &h.moment {
            let _ = write!(buf, "{} {} ({})", format_time(m.at), m.label, m.event);
        }
        w.write_field(buf.as_bytes())?;
        w.write_field(&self.model_tag)?;
        w.write_field(&self.model_hash)?;
        w.write_record(None::<&[u8]>)?;
        Ok(())
    }

    /// One NDJSON object: the full explanation, top reasons and the account's roll-up.
    pub fn write_json(
        &mut self,
        s: &Scored,
        account: Option<&AccountScore>,
    ) -> std::io::Result<()> {
        let row = JsonRow {
            scored: s,
            top_reasons: s.top_reasons(),
            account_score: account,
        };
        serde_json::to_writer(&mut self.json, &row)?;
        self.json.push(b'\n');
        Ok(())
    }

    /// The bytes formatted so far; the formatter starts empty again.
    pub fn take_buffer(&mut self) -> Vec<u8> {
        let csv = std::mem::replace(&mut self.csv, new_csv());
        let mut bytes = csv.into_inner().unwrap_or_default();
        bytes.append(&mut self.json);
        bytes
    }
}

impl<W: Write> LeadWriter<W> {
    /// A writer for `model`'s columns; writes the CSV header at once.
    pub fn new(mut out: W, format: Format, model: &Model) -> std::io::Result<Self> {
        if format == Format::Csv {
            let mut h = csv::Writer::from_writer(Vec::new());
            h.write_record(header(model))?;
            out.write_all(&h.into_inner().map_err(|e| e.into_error())?)?;
        }
        let r = model.reference();
        Ok(Self {
            out,
            format,
            rolls_up: model.rolls_up_accounts(),
            model_tag: format!("{}@{}", r.name, r.version),
            model_hash: r.hash.clone(),
        })
    }

    /// The output format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// A formatter for a worker thread.
    pub fn worker(&self) -> RowFormatter {
        RowFormatter {
            rolls_up: self.rolls_up,
            model_tag: self.model_tag.clone(),
            model_hash: self.model_hash.clone(),
            csv: new_csv(),
            json: Vec::new(),
            buf: String::new(),
        }
    }

    /// Writes rows formatted by a [`RowFormatter`].
    pub fn write_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.out.write_all(bytes)
    }

    /// Flushes and returns the inner writer.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
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
