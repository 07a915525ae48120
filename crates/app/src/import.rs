//! Bulk import of contacts, accounts and events files (CSV or NDJSON, the shapes the batch CLI
//! reads) into a workspace, as identify, group and track messages (outcomes files are read by
//! `outcome::parse_file`, with the same line reading and errors).
//!
//! The whole file is read and checked first, so a bad line stops the import before anything is
//! stored, with `file:line: column `x`: …` as in the batch CLI. Each row's message id is a hash
//! of its content, so importing the same file again stores nothing twice.

use crate::message::{Call, Message};
use crate::{AppError, IngestReport, Service, Space};
use leadscore_store::Traits;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::sync::Arc;

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `id` (or `contact_id`), optional `account_id`, other columns are traits.
    Contacts,
    /// `contact_id`, `event`, `timestamp`, other columns are properties.
    Events,
    /// `id`, other columns are account traits (as group calls).
    Accounts,
}

fn bad(name: &str, line: usize, column: &str, msg: impl std::fmt::Display) -> AppError {
    AppError::file(name, line, Some(column), msg)
}

fn message_id(kind: Kind, content: &str) -> String {
    let tag = match kind {
        Kind::Contacts => "c",
        Kind::Events => "e",
        Kind::Accounts => "a",
    };
    let h = Sha256::digest(format!("{tag}\u{1f}{content}").as_bytes());
    format!("import-{tag}-{}", hex::encode(&h[..16]))
}

/// Reads a whole file into messages with the line each came from, checking every row.
pub fn parse(
    kind: Kind,
    ndjson: bool,
    mut input: impl Read,
    name: &str,
) -> Result<Vec<(usize, Message)>, AppError> {
    let mut text = String::new();
    input
        .read_to_string(&mut text)
        .map_err(|e| AppError::BadRequest(format!("{name}: {e}")))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    // (line, fields, the raw row for its message id)
    type Row = (usize, Vec<(String, Value)>, String);
    let mut rows: Vec<Row> = Vec::new();
    if ndjson {
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let Value::Object(o) = json_line(name, i + 1, line)? else {
                return Err(AppError::file(name, i + 1, None, "not a JSON object"));
            };
            let mut fields = Vec::new();
            for (k, v) in o {
                match (k.as_str(), v) {
                    ("traits" | "attributes" | "properties", Value::Object(inner)) => {
                        fields.extend(inner)
                    }
                    (_, v) => fields.push((k, v)),
                }
            }
            rows.push((i + 1, fields, line.to_owned()));
        }
    } else {
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(false)
            .from_reader(text.as_bytes());
        let headers = rdr
            .headers()
            .map_err(|e| AppError::file(name, 1, None, e))?
            .clone();
        for rec in rdr.records() {
            let (line, rec) = csv_record(name, rec)?;
            let fields = headers
                .iter()
                .zip(rec.iter())
                .filter(|(_, v)| !v.trim().is_empty())
                .map(|(k, v)| (k.to_owned(), Value::String(v.to_owned())))
                .collect();
            rows.push((line, fields, rec.iter().collect::<Vec<_>>().join("\u{1f}")));
        }
    }
    let mut out = Vec::with_capacity(rows.len());
    for (line, fields, raw) in rows {
        for m in row_messages(kind, name, line, fields, &raw)? {
            out.push((line, m));
        }
    }
    Ok(out)
}

/// One NDJSON line as JSON, or the file error naming it.
pub(crate) fn json_line(name: &str, line: usize, text: &str) -> Result<Value, AppError> {
    serde_json::from_str(text)
        .map_err(|e| AppError::file(name, line, None, format!("not JSON: {e}")))
}

/// A CSV record with its line, or the file error naming the line.
pub(crate) fn csv_record(
    name: &str,
    rec: Result<csv::StringRecord, csv::Error>,
) -> Result<(usize, csv::StringRecord), AppError> {
    let rec = rec.map_err(|e| {
        let line = e.position().map_or(0, |p| p.line() as usize);
        AppError::file(name, line, None, e)
    })?;
    Ok((rec.position().map_or(0, |p| p.line() as usize), rec))
}

fn take(fields: &mut Vec<(String, Value)>, names: &[&str]) -> Option<Value> {
    let i = fields
        .iter()
        .position(|(k, _)| names.contains(&k.as_str()))?;
    Some(fields.remove(i).1)
}

fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn row_messages(
    kind: Kind,
    name: &str,
    line: usize,
    mut fields: Vec<(String, Value)>,
    raw: &str,
) -> Result<Vec<Message>, AppError> {
    match kind {
        Kind::Contacts => {
            let id = take(&mut fields, &["id", "contact_id", "userId"])
                .and_then(|v| as_text(&v))
                .ok_or_else(|| bad(name, line, "id", "a contact needs an id"))?;
            let account = take(&mut fields, &["account_id", "groupId"]).and_then(|v| as_text(&v));
            let props: Traits = fields.into_iter().collect();
            let mut out = vec![Message {
                call: Call::Identify,
                message_id: message_id(kind, raw),
                user_id: Some(id.clone()),
                anonymous_id: None,
                group_id: None,
                event: None,
                timestamp: None,
                props,
            }];
            // The contact's account: a group call without traits (accounts come from group
            // calls, or an accounts import through /v1/group).
            if let Some(a) = account {
                out.push(Message {
                    call: Call::Group,
                    message_id: message_id(kind, &format!("{raw}\u{1f}group")),
                    user_id: Some(id),
                    anonymous_id: None,
                    group_id: Some(a),
                    event: None,
                    timestamp: None,
                    props: Traits::new(),
                });
            }
            Ok(out)
        }
        Kind::Accounts => {
            let id = take(&mut fields, &["id", "account_id", "groupId"])
                .and_then(|v| as_text(&v))
                .ok_or_else(|| bad(name, line, "id", "an account needs an id"))?;
            Ok(vec![Message {
                call: Call::Group,
                message_id: message_id(kind, raw),
                user_id: None,
                anonymous_id: None,
                group_id: Some(id),
                event: None,
                timestamp: None,
                props: fields.into_iter().collect(),
            }])
        }
        Kind::Events => {
            let id = take(&mut fields, &["contact_id", "userId", "id"])
                .and_then(|v| as_text(&v))
                .ok_or_else(|| bad(name, line, "contact_id", "an event needs a contact_id"))?;
            let event = take(&mut fields, &["event", "type"])
                .and_then(|v| as_text(&v))
                .ok_or_else(|| bad(name, line, "event", "an event needs its type"))?;
            let ts = take(&mut fields, &["timestamp"])
                .ok_or_else(|| bad(name, line, "timestamp", "an event needs a timestamp"))?;
            let ts_text = as_text(&ts).unwrap_or_default();
            let at = leadscore_core::value::parse_time(&ts_text).ok_or_else(|| {
                bad(
                    name,
                    line,
                    "timestamp",
                    format!("`{ts_text}` is not an RFC 3339 time"),
                )
            })?;
            Ok(vec![Message {
                call: Call::Track,
                message_id: message_id(kind, raw),
                user_id: Some(id),
                anonymous_id: None,
                group_id: None,
                event: Some(event),
                timestamp: Some(at.saturating_mul(1000)),
                props: fields.into_iter().collect(),
            }])
        }
    }
}

/// Imports a file: parse and check all of it, then store it in batches.
pub async fn import(
    svc: &Service,
    space: &Arc<Space>,
    kind: Kind,
    ndjson: bool,
    input: impl Read,
    name: &str,
) -> Result<IngestReport, AppError> {
    let messages = prepare(svc, space, kind, ndjson, input, name)?;
    store(svc, space, messages).await
}

/// Reads a whole file and checks every row against the workspace's model, storing nothing:
/// several files can be checked before any of them is stored.
pub fn prepare(
    svc: &Service,
    space: &Arc<Space>,
    kind: Kind,
    ndjson: bool,
    input: impl Read,
    name: &str,
) -> Result<Vec<Message>, AppError> {
    let (lines, messages): (Vec<usize>, Vec<Message>) =
        parse(kind, ndjson, input, name)?.into_iter().unzip();
    // Check against the model before storing anything, naming the line.
    if let Err(AppError::Invalid {
        index,
        field,
        message,
    }) = svc.check(space, &messages)
    {
        return Err(AppError::file(
            name,
            lines[index],
            Some(field.split_once('.').map_or(field.as_str(), |(_, f)| f)),
            message,
        ));
    }
    Ok(messages)
}

/// Stores messages from [`prepare`] in batches.
pub async fn store(
    svc: &Service,
    space: &Arc<Space>,
    messages: Vec<Message>,
) -> Result<IngestReport, AppError> {
    let mut total = IngestReport::default();
    for chunk in messages.chunks(1000) {
        let r = svc.ingest(space, chunk.to_vec()).await?;
        total.accepted += r.accepted;
        total.duplicates += r.duplicates;
        total.rescored += r.rescored;
    }
    Ok(total)
}
