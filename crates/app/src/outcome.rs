//! Outcomes (SPEC D4): what sales saw happen to a contact — stage changes, opportunities,
//! deals won or lost — for closed-loop learning. They come from `POST /api/v1/outcomes`
//! ([`parse`]), from an outcomes file ([`parse_file`]: CSV, the shape `leadscore generate`
//! writes too, or NDJSON, the API's objects a line; `leadscore import --outcomes` and
//! `POST /api/v1/import?kind=outcomes`), or from Segment track events the writer maps in its transaction ([`from_track`]).

use crate::message::{Call, Message};
use crate::{AppError, MAX_ID_BYTES, Service, Space};
use leadscore_store::Outcome;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::io::Read;

/// The kinds of outcome, as stored.
pub const KINDS: [&str; 4] = ["stage_changed", "opportunity_created", "won", "lost"];

/// The Segment track events that are outcomes, and the kind each records.
pub const TRACK_EVENTS: [(&str, &str); 5] = [
    ("Opportunity Created", "opportunity_created"),
    ("Deal Won", "won"),
    ("Order Completed", "won"),
    ("Deal Lost", "lost"),
    ("Stage Changed", "stage_changed"),
];

/// The outcome kind a track event records, if it is one of [`TRACK_EVENTS`].
pub fn track_kind(event: &str) -> Option<&'static str> {
    TRACK_EVENTS
        .iter()
        .find(|(e, _)| *e == event)
        .map(|(_, k)| *k)
}

/// What a batch of outcomes did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct OutcomeReport {
    /// Outcomes stored now.
    pub accepted: usize,
    /// Outcomes whose id was stored before.
    pub duplicates: usize,
}

fn text_prop(props: &serde_json::Map<String, Value>, name: &str) -> Option<String> {
    match props.get(name) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

fn amount_of(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The outcome a stored track message records, for `contact`, received at `now` (ms).
pub fn from_track(m: &Message, contact: &str, now: i64) -> Option<Outcome> {
    if m.call != Call::Track {
        return None;
    }
    let kind = track_kind(m.event.as_deref()?)?;
    Some(Outcome {
        message_id: m.message_id.clone(),
        contact_id: contact.to_owned(),
        kind: kind.to_owned(),
        stage: text_prop(&m.props, "stage"),
        amount: m.props.get("amount").and_then(amount_of),
        reason: text_prop(&m.props, "reason"),
        at: m.timestamp.unwrap_or(now),
        received_at: now,
    })
}

fn invalid(index: usize, field: &str, message: impl Into<String>) -> AppError {
    AppError::Invalid {
        index,
        field: field.to_owned(),
        message: message.into(),
    }
}

/// What is wrong with an id or a text field, if anything: PostgreSQL text holds no NUL and its
/// indexes no long entry, so such a value would fail the insert after the file was accepted.
fn text_problem(v: &str, id: bool) -> Option<String> {
    if id && v.trim().is_empty() {
        return Some("must not be empty".into());
    }
    if v.contains('\0') {
        return Some("must not contain a NUL character".into());
    }
    if id && v.len() > MAX_ID_BYTES {
        return Some(format!("must be at most {MAX_ID_BYTES} bytes long"));
    }
    None
}

fn id_text(index: usize, field: &str, v: &str) -> Result<String, AppError> {
    match text_problem(v, true) {
        Some(p) => Err(invalid(index, field, p)),
        None => Ok(v.to_owned()),
    }
}

fn parse_ms(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.timestamp_millis())
        .or_else(|| leadscore_core::value::parse_time(s).map(|t| t.saturating_mul(1000)))
}

/// An outcome id made from `content` (a file's row or line): importing a file again stores
/// nothing twice.
fn content_id(content: &str) -> String {
    let h = Sha256::digest(format!("o\u{1f}{content}").as_bytes());
    format!("import-o-{}", hex::encode(&h[..16]))
}

/// Parses `{"outcomes": [{contact_id, kind, stage?, amount?, reason?, timestamp?, id?}]}`
/// received at `now` (ms). The first problem names the outcome's index and field. Without an
/// `id`, one is made from the outcome's content and `now`.
pub fn parse(body: &Value, now: i64) -> Result<Vec<Outcome>, AppError> {
    let Some(list) = body.get("outcomes") else {
        return Err(invalid(0, "outcomes", "is required (an array of outcomes)"));
    };
    let Value::Array(items) = list else {
        return Err(invalid(0, "outcomes", "must be an array"));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            parse_one(i, item, now, || {
                let h = Sha256::digest(format!("{item}\u{1f}{now}").as_bytes());
                format!("outcome-{}", hex::encode(&h[..16]))
            })
        })
        .collect()
}

/// One outcome object of the API (also one line of an NDJSON outcomes file); `default_id`
/// gives its id when it has none.
fn parse_one(
    i: usize,
    item: &Value,
    now: i64,
    default_id: impl FnOnce() -> String,
) -> Result<Outcome, AppError> {
    let Value::Object(o) = item else {
        return Err(invalid(i, "outcomes", "each outcome must be an object"));
    };
    let str_field = |name: &str| -> Result<Option<String>, AppError> {
        match o.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(invalid(i, name, "must be a string")),
        }
    };
    let contact = match str_field("contact_id")? {
        Some(c) => id_text(i, "contact_id", &c)?,
        None => return Err(invalid(i, "contact_id", "is required")),
    };
    let kind = match str_field("kind")? {
        Some(k) if KINDS.contains(&k.as_str()) => k,
        Some(k) => {
            return Err(invalid(
                i,
                "kind",
                format!("`{k}`: expected one of {}", KINDS.join(", ")),
            ));
        }
        None => return Err(invalid(i, "kind", "is required")),
    };
    let stage = str_field("stage")?;
    let reason = str_field("reason")?;
    let amount = match o.get("amount") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => match n.as_f64() {
            Some(x) if x.is_finite() => Some(x),
            _ => return Err(invalid(i, "amount", "must be a finite number")),
        },
        Some(_) => return Err(invalid(i, "amount", "must be a number")),
    };
    let at = match str_field("timestamp")? {
        Some(t) => parse_ms(&t)
            .ok_or_else(|| invalid(i, "timestamp", format!("`{t}` is not an RFC 3339 time")))?,
        None => now,
    };
    let id = match str_field("id")? {
        Some(id) => id_text(i, "id", &id)?,
        None => default_id(),
    };
    for (field, v) in [("stage", &stage), ("reason", &reason)] {
        if let Some(p) = v.as_deref().and_then(|v| text_problem(v, false)) {
            return Err(invalid(i, field, p));
        }
    }
    Ok(Outcome {
        message_id: id,
        contact_id: contact,
        kind,
        stage,
        amount,
        reason,
        at,
        received_at: now,
    })
}

/// Reads an outcomes file, checking all of it: NDJSON (one [`parse`] outcome object a line)
/// or CSV ([`parse_csv`]). Errors name `file:line` and the column.
pub fn parse_file(
    ndjson: bool,
    input: impl Read,
    name: &str,
    now: i64,
) -> Result<Vec<Outcome>, AppError> {
    if ndjson {
        parse_ndjson(input, name, now)
    } else {
        parse_csv(input, name, now)
    }
}

/// Reads an NDJSON outcomes file: one object a line with the fields of [`parse`]'s outcomes.
/// Without an `id`, a line's id is a hash of the line, so importing a file again stores nothing
/// twice.
pub fn parse_ndjson(mut input: impl Read, name: &str, now: i64) -> Result<Vec<Outcome>, AppError> {
    let mut text = String::new();
    input
        .read_to_string(&mut text)
        .map_err(|e| AppError::BadRequest(format!("{name}: {e}")))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v = crate::import::json_line(name, i + 1, line)?;
        let o = parse_one(i, &v, now, || content_id(line)).map_err(|e| match e {
            AppError::Invalid { field, .. } if field == "outcomes" => {
                AppError::file(name, i + 1, None, "not a JSON object")
            }
            AppError::Invalid { field, message, .. } => {
                AppError::file(name, i + 1, Some(&field), message)
            }
            e => e,
        })?;
        out.push(o);
    }
    Ok(out)
}

/// Reads an outcomes CSV file: `contact_id` and either `kind` (with optional `stage`,
/// `amount`, `reason`, `timestamp`, `id`) or the generator's `converted` (1 → `won` at
/// `converted_at` with `amount`; 0 → no outcome). A row's id is, without an `id` column, a hash
/// of its content, so importing a file again stores nothing twice. Errors name `file:line`.
pub fn parse_csv(input: impl Read, name: &str, now: i64) -> Result<Vec<Outcome>, AppError> {
    let bad = |line: usize, col: &str, msg: String| AppError::file(name, line, Some(col), msg);
    let mut rdr = csv::Reader::from_reader(input);
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| AppError::file(name, 1, None, e))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_owned())
        .collect();
    let col = |n: &str| headers.iter().position(|h| h == n);
    let Some(c_contact) = col("contact_id") else {
        return Err(bad(1, "contact_id", "an outcomes file needs it".into()));
    };
    let (c_kind, c_conv) = (col("kind"), col("converted"));
    if c_kind.is_none() && c_conv.is_none() {
        return Err(bad(
            1,
            "kind",
            "an outcomes file needs `kind` or `converted`".into(),
        ));
    }
    let c_time = col("timestamp").or_else(|| col("converted_at"));
    let (c_stage, c_amount, c_reason, c_id) =
        (col("stage"), col("amount"), col("reason"), col("id"));
    let mut out = Vec::new();
    for rec in rdr.records() {
        let (line, rec) = crate::import::csv_record(name, rec)?;
        let get = |c: Option<usize>| {
            c.and_then(|c| rec.get(c))
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        let kind = match (get(c_kind), get(c_conv)) {
            (Some(k), _) if KINDS.contains(&k) => k.to_owned(),
            (Some(k), _) => {
                return Err(bad(
                    line,
                    "kind",
                    format!("`{k}`: expected one of {}", KINDS.join(", ")),
                ));
            }
            (None, Some("1" | "true" | "yes")) => "won".to_owned(),
            (None, Some("0" | "false" | "no")) => continue,
            (None, Some(o)) => {
                return Err(bad(line, "converted", format!("`{o}`: expected 1 or 0")));
            }
            (None, None) => return Err(bad(line, "kind", "is empty".into())),
        };
        let contact = get(Some(c_contact))
            .ok_or_else(|| bad(line, "contact_id", "is empty".into()))?
            .to_owned();
        let at = match get(c_time) {
            Some(t) => parse_ms(t)
                .ok_or_else(|| bad(line, "timestamp", format!("`{t}` is not an RFC 3339 time")))?,
            None => now,
        };
        let amount = match get(c_amount) {
            Some(a) => Some(
                a.parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| bad(line, "amount", format!("`{a}` is not a number")))?,
            ),
            None => None,
        };
        let id = match get(c_id) {
            Some(id) => id.to_owned(),
            None => content_id(&rec.iter().collect::<Vec<_>>().join("\u{1f}")),
        };
        for (field, v, is_id) in [
            ("contact_id", Some(contact.as_str()), true),
            ("id", Some(id.as_str()), true),
            ("stage", get(c_stage), false),
            ("reason", get(c_reason), false),
        ] {
            if let Some(p) = v.and_then(|v| text_problem(v, is_id)) {
                return Err(bad(line, field, p));
            }
        }
        out.push(Outcome {
            message_id: id,
            contact_id: contact,
            kind,
            stage: get(c_stage).map(str::to_owned),
            amount,
            reason: get(c_reason).map(str::to_owned),
            at,
            received_at: now,
        });
    }
    Ok(out)
}

impl Service {
    /// Stores outcomes (from [`parse`] or [`parse_csv`]); an id stored before is counted as a
    /// duplicate and not stored again.
    pub async fn record_outcomes(
        &self,
        space: &Space,
        outcomes: &[Outcome],
    ) -> Result<OutcomeReport, AppError> {
        let mut report = OutcomeReport::default();
        for chunk in outcomes.chunks(1000) {
            let n = self.store().insert_outcomes(&space.id, chunk).await?;
            report.accepted += n;
            report.duplicates += chunk.len() - n;
        }
        Ok(report)
    }

    /// A contact's outcomes, oldest first.
    pub async fn outcomes(&self, space: &Space, id: &str) -> Result<Vec<Outcome>, AppError> {
        Ok(self.store().contact_outcomes(&space.id, id).await?)
    }
}
