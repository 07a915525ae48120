//! Helpers shared by the core tests.
#![allow(dead_code)]

use leadscore_core::{Account, Contact, Event, Model, Scored, Scorer, value::parse_time};

/// The fixed "now" of every test.
pub const AS_OF: &str = "2026-06-01T00:00:00Z";

pub fn as_of() -> i64 {
    parse_time(AS_OF).unwrap()
}

/// A time `days` before the test's as-of.
pub fn ago(days: f64) -> i64 {
    as_of() - (days * 86_400.0) as i64
}

pub fn model(src: &str) -> Model {
    match Model::from_toml(src, "test.toml") {
        Ok(m) => m,
        Err(e) => panic!("model does not compile:\n{e}"),
    }
}

pub fn example(name: &str) -> Model {
    let path = format!("{}/../../examples/{name}", env!("CARGO_MANIFEST_DIR"));
    let src = std::fs::read_to_string(&path).unwrap();
    match Model::from_toml(&src, name) {
        Ok(m) => m,
        Err(e) => panic!("{name} does not compile:\n{e}"),
    }
}

pub fn ev(kind: &str, days_ago: f64, props: &[(&str, &str)]) -> Event {
    Event {
        kind: kind.into(),
        at: ago(days_ago),
        props: props
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

pub fn contact(m: &Model, attrs: &[(&str, &str)]) -> Contact {
    m.contact("c1", Some("a1"), attrs).unwrap()
}

pub fn score(m: &Model, attrs: &[(&str, &str)], events: &[Event]) -> Scored {
    let c = contact(m, attrs);
    Scorer::new(m, as_of())
        .score_events(&c, None, events)
        .unwrap()
}

pub fn score_with_account(
    m: &Model,
    attrs: &[(&str, &str)],
    account: &[(&str, &str)],
    events: &[Event],
) -> Scored {
    let c = contact(m, attrs);
    let a: Account = m.account("a1", account).unwrap();
    Scorer::new(m, as_of())
        .score_events(&c, Some(&a), events)
        .unwrap()
}

/// Points of one fired rule, or `None` when it did not fire.
pub fn points(s: &Scored, rule: &str) -> Option<f64> {
    s.contributions
        .iter()
        .find(|c| c.rule == rule)
        .map(|c| c.points)
}

pub fn fired(s: &Scored) -> Vec<&str> {
    s.contributions.iter().map(|c| c.rule.as_str()).collect()
}
