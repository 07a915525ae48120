//! The Segment HTTP tracking API's JSON shapes, parsed into [`Message`]s. Every problem names
//! the message's index in the batch and the field (`batch[3].userId: …`), so a sender can fix
//! exactly what is wrong. Parsing is lenient where real clients differ (RudderStack puts
//! identify traits under `context.traits`; ids may be numbers) and strict where a guess would
//! store the wrong thing (a timestamp that does not parse, properties that are not an object).

use leadscore_app::message::{Call, Message};
use leadscore_store::Traits;
use serde_json::Value;

/// A message that could not be taken.
#[derive(Debug, Clone, PartialEq)]
pub struct WireError {
    /// Index in the batch (0 for a single call).
    pub index: usize,
    /// The field at fault.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

fn err(index: usize, field: &str, message: impl Into<String>) -> WireError {
    WireError {
        index,
        field: field.to_owned(),
        message: message.into(),
    }
}

/// Parses a `/v1/batch` body: `{"batch": [...]}` (a bare array is taken too).
pub fn parse_batch(body: &Value, received_ms: i64) -> Result<Vec<Message>, WireError> {
    let list = match body {
        Value::Object(o) => match o.get("batch") {
            Some(Value::Array(a)) => a,
            Some(_) => return Err(err(0, "batch", "must be an array of messages")),
            None => return Err(err(0, "batch", "is required")),
        },
        Value::Array(a) => a,
        _ => {
            return Err(err(
                0,
                "batch",
                "the body must be a JSON object with `batch`",
            ));
        }
    };
    // Batch-level context applies to every message that has none of its own.
    let shared_ctx = body.get("context");
    list.iter()
        .enumerate()
        .map(|(i, m)| parse_message(m, None, i, shared_ctx, received_ms))
        .collect()
}

/// Parses a single call's body; `call` comes from the path (`/v1/track` …).
pub fn parse_single(body: &Value, call: Call, received_ms: i64) -> Result<Message, WireError> {
    parse_message(body, Some(call), 0, None, received_ms)
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn id_field(
    o: &serde_json::Map<String, Value>,
    i: usize,
    name: &str,
) -> Result<Option<String>, WireError> {
    match o.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v @ (Value::String(_) | Value::Number(_))) => Ok(text(v)),
        Some(_) => Err(err(i, name, "must be a string")),
    }
}

fn object(o: &serde_json::Map<String, Value>, i: usize, name: &str) -> Result<Traits, WireError> {
    match o.get(name) {
        None | Some(Value::Null) => Ok(Traits::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(_) => Err(err(i, name, "must be a JSON object")),
    }
}

fn parse_message(
    v: &Value,
    call: Option<Call>,
    i: usize,
    shared_ctx: Option<&Value>,
    received_ms: i64,
) -> Result<Message, WireError> {
    let Value::Object(o) = v else {
        return Err(err(i, "message", "must be a JSON object"));
    };
    let call = match call {
        Some(c) => c,
        None => match o.get("type") {
            Some(Value::String(t)) => Call::parse(t).ok_or_else(|| {
                err(
                    i,
                    "type",
                    format!("unknown call `{t}` (identify, track, page, screen, group, alias)"),
                )
            })?,
            Some(_) => return Err(err(i, "type", "must be a string")),
            None => return Err(err(i, "type", "is required in a batch")),
        },
    };
    let user_id = id_field(o, i, "userId")?;
    let mut anonymous_id = id_field(o, i, "anonymousId")?;
    let message_id = match id_field(o, i, "messageId")? {
        Some(m) => m,
        None => generated_id(v, received_ms),
    };
    let timestamp = match o.get("timestamp").or_else(|| o.get("originalTimestamp")) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(
            parse_timestamp(s)
                .ok_or_else(|| err(i, "timestamp", format!("`{s}` is not an ISO 8601 time")))?,
        ),
        Some(_) => return Err(err(i, "timestamp", "must be an ISO 8601 string")),
    };
    let mut group_id = None;
    let mut event = None;
    let props = match call {
        Call::Identify => {
            // RudderStack sends identify traits under context.traits; Segment at the top level.
            let ctx = o.get("context").or(shared_ctx);
            let mut t = match ctx.and_then(|c| c.get("traits")) {
                Some(Value::Object(m)) => m.clone(),
                _ => Traits::new(),
            };
            for (k, v) in object(o, i, "traits")? {
                t.insert(k, v);
            }
            t
        }
        Call::Track => {
            event = Some(match o.get("event") {
                Some(v) => text(v).ok_or_else(|| err(i, "event", "must be a non-empty string"))?,
                None => return Err(err(i, "event", "is required for track")),
            });
            object(o, i, "properties")?
        }
        Call::Page | Call::Screen => {
            event = Some(
                if call == Call::Page {
                    "page_view"
                } else {
                    "screen_view"
                }
                .to_owned(),
            );
            let mut p = Traits::new();
            // The page's own context fills in what the properties leave out.
            if let Some(Value::Object(page)) = o.get("context").and_then(|c| c.get("page")) {
                for (k, v) in page {
                    p.insert(k.clone(), v.clone());
                }
            }
            for (k, v) in object(o, i, "properties")? {
                p.insert(k, v);
            }
            for key in ["name", "category"] {
                if let Some(v) = o.get(key).filter(|v| !v.is_null()) {
                    p.entry(key.to_owned()).or_insert_with(|| v.clone());
                }
            }
            p
        }
        Call::Group => {
            group_id = Some(match o.get("groupId") {
                Some(v) => {
                    text(v).ok_or_else(|| err(i, "groupId", "must be a non-empty string"))?
                }
                None => return Err(err(i, "groupId", "is required for group")),
            });
            object(o, i, "traits")?
        }
        Call::Alias => {
            anonymous_id = Some(match o.get("previousId") {
                Some(v) => {
                    text(v).ok_or_else(|| err(i, "previousId", "must be a non-empty string"))?
                }
                None => return Err(err(i, "previousId", "is required for alias")),
            });
            if user_id.is_none() {
                return Err(err(i, "userId", "is required for alias"));
            }
            Traits::new()
        }
    };
    if user_id.is_none() && anonymous_id.is_none() {
        return Err(err(i, "userId", "a message needs userId or anonymousId"));
    }
    Ok(Message {
        call,
        message_id,
        user_id,
        anonymous_id,
        group_id,
        event,
        timestamp,
        props,
    })
}

/// A message id for a sender that gave none: a hash of the message and its arrival, so the
/// same body sent twice in one millisecond is still taken once.
fn generated_id(v: &Value, received_ms: i64) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    v.to_string().hash(&mut h);
    received_ms.hash(&mut h);
    format!("gen-{received_ms}-{:016x}", h.finish())
}

/// RFC 3339 / ISO 8601 to Unix ms; a time without an offset is UTC.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f%z",
    ] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, f) {
            return Some(t.and_utc().timestamp_millis());
        }
        if let Ok(t) = chrono::DateTime::parse_from_str(s, f) {
            return Some(t.timestamp_millis());
        }
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_millis())
}
