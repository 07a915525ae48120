//! Messages as the service takes them in (the Segment calls, already parsed from the wire), and
//! how their JSON traits and properties become the text values the scoring core reads.

use leadscore_store::{NewEvent, Traits};

/// The Segment call a message came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// Who the contact is: traits become contact attributes.
    Identify,
    /// Something the contact did: `event` is the event type.
    Track,
    /// A page view (event type `page_view`).
    Page,
    /// A screen view in an app (event type `screen_view`).
    Screen,
    /// The contact belongs to an account: traits become account attributes.
    Group,
    /// An earlier id (`previousId`) is the same person as `userId`.
    Alias,
}

impl Call {
    /// The name stored in the event log.
    pub fn as_str(self) -> &'static str {
        match self {
            Call::Identify => "identify",
            Call::Track => "track",
            Call::Page => "page",
            Call::Screen => "screen",
            Call::Group => "group",
            Call::Alias => "alias",
        }
    }

    /// Parses a Segment `type`.
    pub fn parse(s: &str) -> Option<Call> {
        Some(match s {
            "identify" => Call::Identify,
            "track" => Call::Track,
            "page" => Call::Page,
            "screen" => Call::Screen,
            "group" => Call::Group,
            "alias" => Call::Alias,
            _ => return None,
        })
    }
}

/// One message, checked for shape: it has an id to attribute it to and what its call needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Which call.
    pub call: Call,
    /// `messageId` (generated when the sender gave none).
    pub message_id: String,
    /// `userId`: the contact.
    pub user_id: Option<String>,
    /// `anonymousId` (for `alias`, the `previousId`).
    pub anonymous_id: Option<String>,
    /// `groupId` (group calls).
    pub group_id: Option<String>,
    /// The event type scored: a track's `event`, `page_view`, `screen_view`.
    pub event: Option<String>,
    /// `timestamp` in ms, when the sender gave one.
    pub timestamp: Option<i64>,
    /// Properties (track, page, screen) or traits (identify, group).
    pub props: Traits,
}

impl Message {
    /// True for the calls that are behaviour the model scores.
    pub fn is_behaviour(&self) -> bool {
        matches!(self.call, Call::Track | Call::Page | Call::Screen)
    }

    /// The event-log row for this message, received at `now` (ms).
    pub fn to_row(&self, now: i64) -> NewEvent {
        NewEvent {
            message_id: self.message_id.clone(),
            kind: self.call.as_str().to_owned(),
            event: self.event.clone(),
            user_id: self.user_id.clone(),
            anonymous_id: self.anonymous_id.clone(),
            group_id: self.group_id.clone(),
            ts: self.timestamp.unwrap_or(now),
            received_at: now,
            props: serde_json::to_string(&self.props).unwrap_or_else(|_| "{}".into()),
        }
    }

    /// Rebuilds a message from its event-log row.
    pub fn from_row(row: &NewEvent) -> Message {
        let props = match serde_json::from_str(&row.props) {
            Ok(serde_json::Value::Object(m)) => m,
            _ => Traits::new(),
        };
        Message {
            call: Call::parse(&row.kind).unwrap_or(Call::Track),
            message_id: row.message_id.clone(),
            user_id: row.user_id.clone(),
            anonymous_id: row.anonymous_id.clone(),
            group_id: row.group_id.clone(),
            event: row.event.clone(),
            timestamp: Some(row.ts),
            props,
        }
    }
}

/// Flattens JSON traits into `(name, text)` pairs: nested objects become dotted names
/// (`address.city`), arrays and scalars their text (`true`, `42`, `["a","b"]`); nulls are
/// left out, which the model reads as missing.
pub fn flatten(traits: &Traits) -> Vec<(String, String)> {
    let mut out = Vec::with_capacity(traits.len());
    for (k, v) in traits {
        push_flat(&mut out, k.clone(), v);
    }
    out
}

fn push_flat(out: &mut Vec<(String, String)>, key: String, v: &serde_json::Value) {
    use serde_json::Value as J;
    match v {
        J::Null => {}
        J::String(s) => out.push((key, s.clone())),
        J::Bool(b) => out.push((key, b.to_string())),
        J::Number(n) => out.push((key, n.to_string())),
        J::Array(_) => out.push((key, v.to_string())),
        J::Object(m) => {
            for (k, v) in m {
                push_flat(out, format!("{key}.{k}"), v);
            }
        }
    }
}

/// Merges `new` traits over `old` (a key in `new` replaces the same key; `null` removes it).
pub fn merge_traits(old: &mut Traits, new: &Traits) {
    for (k, v) in new {
        if v.is_null() {
            old.remove(k);
        } else {
            old.insert(k.clone(), v.clone());
        }
    }
}
