//! Writes scored leads as CSV (one flat row per contact) or NDJSON (the full explanation).

use crate::format::Format;
use leadscore_core::{AccountScore, Model, Scored, num, write_num};
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
    proto: RowFormatter,
}

/// Formats scored leads into an in-memory buffer.
pub struct RowFormatter {
    format: Format,
    rolls_up: bool,
    csv: Option<csv::Writer<Vec<u8>>>,
    json: Vec<u8>,
    num: String,
}

#[derive(Serialize)]
struct JsonRow<'a> {
    #[serde(flatten)]
    scored: &'a Scored,
    top_reasons: String,
    account_score: Option<&'a AccountScore>,
}

impl RowFormatter {
    fn fresh(format: Format, rolls_up: bool) -> Self {
        Self {
            format,
            rolls_up,
            csv: match format {
                Format::Csv => Some(
                    csv::WriterBuilder::new()
                        .has_headers(false)
                        .from_writer(Vec::with_capacity(1 << 20)),
                ),
                Format::Ndjson => None,
            },
            json: Vec::new(),
            num: String::new(),
        }
    }

    /// Formats one lead; `account` is its account's rolled-up score.
    pub fn write(&mut self, s: &Scored, account: Option<&AccountScore>) -> std::io::Result<()> {
        use std::fmt::Write as _;
        let Some(w) = self.csv.as_mut() else {
            let row = JsonRow {
                scored: s,
                top_reasons: s.top_reasons(),
                account_score: account,
            };
            serde_json::to_writer(&mut self.json, &row)?;
            self.json.push(b'\n');
            return Ok(());
        };
        // Numbers and composed fields are written into one reused buffer: a million rows of
        // fresh Strings cost more than the scoring itself.
        let num_field = |w: &mut csv::Writer<Vec<u8>>, buf: &mut String, x: f64| {
            buf.clear();
            write_num(buf, x);
            w.write_field(buf.as_bytes())
        };
        fn opt(o: &Option<String>) -> &[u8] {
            o.as_deref().unwrap_or("").as_bytes()
        }
        w.write_field(&s.id)?;
        w.write_field(opt(&s.account_id))?;
        num_field(w, &mut self.num, s.score)?;
        w.write_field(&s.tier)?;
        w.write_field(opt(&s.grade))?;
        w.write_field(opt(&s.priority))?;
        w.write_field(s.status.as_str())?;
        w.write_field(&s.segment)?;
        match s.percentile {
            Some(p) => num_field(w, &mut self.num, p)?,
            None => w.write_field("")?,
        }
        self.num.clear();
        for (i, r) in s.sales_ready.iter().enumerate() {
            if i > 0 {
                self.num.push_str("; ");
            }
            self.num.push_str(r);
        }
        w.write_field(self.num.as_bytes())?;
        for c in &s.categories {
            num_field(w, &mut self.num, c.points)?;
        }
        for n in &s.scores {
            num_field(w, &mut self.num, n.score)?;
            if let Some(t) = &n.tier {
                w.write_field(t)?;
            }
        }
        if self.rolls_up {
            match account {
                Some(a) => {
                    num_field(w, &mut self.num, a.score)?;
                    w.write_field(a.tier.as_deref().unwrap_or(""))?;
                }
                None => {
                    w.write_field("")?;
                    w.write_field("")?;
                }
            }
        }
        self.num.clear();
        s.write_top_reasons(&mut self.num);
        w.write_field(self.num.as_bytes())?;
        self.num.clear();
        if let Some(m) = &s.last_interesting_moment {
            let _ = write!(self.num, "{} {} ({})", m.at, m.label, m.event);
        }
        w.write_field(self.num.as_bytes())?;
        self.num.clear();
        let _ = write!(self.num, "{}@{}", s.model.name, s.model.version);
        w.write_field(self.num.as_bytes())?;
        w.write_field(&s.model.hash)?;
        w.write_record(None::<&[u8]>)?;
        Ok(())
    }

    /// The bytes formatted so far; the formatter starts empty again.
    pub fn take_buffer(&mut self) -> Vec<u8> {
        match self.csv.take() {
            Some(w) => {
                let bytes = w.into_inner().unwrap_or_default();
                *self = Self::fresh(self.format, self.rolls_up);
                bytes
            }
            None => std::mem::take(&mut self.json),
        }
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
        Ok(Self {
            out,
            proto: RowFormatter::fresh(format, model.rolls_up_accounts()),
        })
    }

    /// A formatter for a worker thread.
    pub fn worker(&self) -> RowFormatter {
        RowFormatter::fresh(self.proto.format, self.proto.rolls_up)
    }

    /// Formats and writes one lead directly.
    pub fn write(&mut self, s: &Scored, account: Option<&AccountScore>) -> std::io::Result<()> {
        self.proto.write(s, account)?;
        let bytes = self.proto.take_buffer();
        self.out.write_all(&bytes)
    }

    /// An empty buffer to collect formatted chunks in.
    pub fn take_buffer(&mut self) -> Vec<u8> {
        Vec::with_capacity(1 << 20)
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
