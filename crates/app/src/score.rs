//! From stored messages to the scoring core's inputs, and from its [`Scored`] to the stored
//! score columns. Every point still comes from `leadscore-core`; this only translates.

use crate::message::{Call, Message, flatten, merge_traits};
use leadscore_core::{Account, Contact, EventType, Model, Scored, Scorer, ValueError};
use leadscore_store::{Reason, ScoreColumns, Traits};

/// The part of a behaviour message the model reads: kept in memory per contact, so a new event
/// re-scores its contact without reading the log. Resolved for one model (its event type and
/// its properties in the model's slot order), so re-scoring does no lookups.
#[derive(Debug, Clone, PartialEq)]
pub struct Behaviour {
    /// Position in the event log (to avoid applying one message twice).
    pub seq: i64,
    /// The event type.
    pub ty: EventType,
    /// When it counts (Unix seconds).
    pub at: i64,
    /// The properties the model reads, by slot.
    pub props: Vec<Option<String>>,
}

/// The behaviour event of a message for `model`, or `None` when the model does not use its
/// type. Only the properties the model reads are kept. The event counts at its own timestamp,
/// but never later than `received_ms`: a sender's clock running ahead must not hide an event
/// from the score it is sent to change.
pub fn behaviour(model: &Model, seq: i64, m: &Message, received_ms: i64) -> Option<Behaviour> {
    let ty = model.event_type(m.event.as_deref()?)?;
    let flat = flatten(&m.props);
    let props = model
        .properties()
        .iter()
        .map(|p| {
            flat.iter()
                .find(|(k, _)| *k == p.name)
                .map(|(_, v)| v.clone())
        })
        .collect();
    Some(Behaviour {
        seq,
        ty,
        at: m
            .timestamp
            .unwrap_or(received_ms)
            .min(received_ms)
            .div_euclid(1000),
        props,
    })
}

/// Borrowed `(name, value)` pairs, as `Model::contact` and `Model::account` take them.
fn pairs(attrs: &[(String, String)]) -> Vec<(&str, &str)> {
    attrs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// Checks one message against the model the way scoring will read it, so a bad value is a 400
/// at the door instead of a score that cannot be computed later.
pub fn check(model: &Model, m: &Message) -> Result<(), ValueError> {
    match m.call {
        Call::Identify => {
            let attrs = flatten(&m.props);
            model.contact("check", None, &pairs(&attrs)).map(|_| ())
        }
        Call::Group => {
            let attrs = flatten(&m.props);
            model.account("check", &pairs(&attrs)).map(|_| ())
        }
        Call::Track | Call::Page | Call::Screen => match behaviour(model, 0, m, i64::MAX) {
            Some(b) => {
                let scorer = Scorer::new(model, i64::MAX);
                let mut st = scorer.new_state();
                scorer.observe(&mut st, b.ty, b.at, b.props.as_slice())
            }
            None => Ok(()),
        },
        Call::Alias => Ok(()),
    }
}

/// A contact for the model from stored traits. A trait that no longer parses as the model needs
/// (the model changed since it was accepted) is read as missing rather than failing the lead.
pub fn contact(model: &Model, id: &str, account_id: Option<&str>, traits: &Traits) -> Contact {
    let mut attrs = flatten(traits);
    loop {
        match model.contact(id, account_id, &pairs(&attrs)) {
            Ok(c) => return c,
            Err(e) => attrs.retain(|(k, _)| *k != e.field),
        }
    }
}

/// An account for the model from stored traits (see [`contact`] for values that do not parse).
pub fn account(model: &Model, id: &str, traits: &Traits) -> Account {
    let mut attrs = flatten(traits);
    loop {
        match model.account(id, &pairs(&attrs)) {
            Ok(a) => return a,
            Err(e) => attrs.retain(|(k, _)| *k != e.field),
        }
    }
}

/// Scores a contact with `scorer` (a model at an `as_of`). Events whose properties no longer
/// parse for the model are skipped.
pub fn score(
    scorer: &Scorer<'_>,
    contact: &Contact,
    account: Option<&Account>,
    events: &[Behaviour],
) -> Scored {
    let mut st = scorer.new_state();
    for b in events {
        let _ = scorer.observe(&mut st, b.ty, b.at, b.props.as_slice());
    }
    scorer.finish(contact, account, &st)
}

/// The stored columns of a score.
pub fn columns(s: &Scored, model_version: i64, scored_at_ms: i64) -> ScoreColumns {
    ScoreColumns {
        score: s.score,
        tier: s.tier.clone(),
        grade: s.grade.clone(),
        priority: s.priority.clone(),
        status: s.status.as_str().to_owned(),
        segment: s.segment.clone(),
        reasons: s
            .top_contributions(3)
            .into_iter()
            .map(|c| Reason {
                rule: c.rule.to_string(),
                label: c.label.to_string(),
                points: c.points,
            })
            .collect(),
        moment: s
            .last_interesting_moment
            .as_ref()
            .and_then(|m| serde_json::to_value(m).ok()),
        model_version,
        scored_at: scored_at_ms,
    }
}

/// A contact's state rebuilt from its messages (oldest first): traits, account, behaviour.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Folded {
    /// Traits merged from identify calls.
    pub traits: Traits,
    /// The account of the latest group call.
    pub account_id: Option<String>,
    /// Behaviour events the model uses.
    pub behaviour: Vec<Behaviour>,
}

/// Folds a contact's messages `(seq, received_ms, message)` into its state for `model`.
pub fn fold(model: &Model, messages: &[(i64, i64, Message)]) -> Folded {
    let mut f = Folded::default();
    for (seq, received, m) in messages {
        match m.call {
            Call::Identify => merge_traits(&mut f.traits, &m.props),
            Call::Group => f.account_id = m.group_id.clone(),
            Call::Track | Call::Page | Call::Screen => {
                if let Some(b) = behaviour(model, *seq, m, *received) {
                    f.behaviour.push(b);
                }
            }
            Call::Alias => {}
        }
    }
    f
}
