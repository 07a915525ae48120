//! Every rule kind and scoring mechanism on small models.

use crate::common::*;
use leadscore_core::{Event, Model, Ranking, Scored, Scorer, Status, ValueError, roll_up};

const HEAD: &str = r#"
[model]
name = "t"
version = "1"

[[category]]
id = "c"
"#;

/// A raw model with one rule `r` worth 10 points in category `c`; `extra` is appended.
fn rule_model_with(when: &str, extra: &str) -> Model {
    model(&format!(
        "{HEAD}\n[[rule]]\nid = \"r\"\ncategory = \"c\"\npoints = 10\nwhen = {when}\n{extra}"
    ))
}

fn rule_model(when: &str) -> Model {
    rule_model_with(when, "")
}

/// Whether rule `r` fired.
fn fires(m: &Model, attrs: &[(&str, &str)], events: &[Event]) -> bool {
    let s = score(m, attrs, events);
    // A rule that fires adds its points; one that does not adds nothing.
    assert_eq!(s.score, points(&s, "r").unwrap_or(0.0));
    points(&s, "r").is_some()
}

fn attr_fires(when: &str, value: &str) -> bool {
    fires(&rule_model(when), &[("x", value)], &[])
}

/// An event exactly `secs` seconds before the as-of.
fn ev_secs(kind: &str, secs: i64) -> Event {
    Event {
        kind: kind.into(),
        at: as_of() - secs,
        props: Vec::new(),
    }
}

const DAY: i64 = 86_400;

// ---- attribute operators ----------------------------------------------------------------------

#[test]
fn equals_and_not_equals_ignore_case_and_spaces() {
    let eq = r#"{ field = "x", equals = "US" }"#;
    assert!(attr_fires(eq, "us"));
    assert!(attr_fires(eq, "  Us  "));
    assert!(!attr_fires(eq, "USA"));
    let ne = r#"{ field = "x", not_equals = "US" }"#;
    assert!(attr_fires(ne, "DE"));
    assert!(!attr_fires(ne, "uS"));
}

#[test]
fn in_and_not_in() {
    let within = r#"{ field = "x", in = ["US", "UK"] }"#;
    assert!(attr_fires(within, "uk"));
    assert!(!attr_fires(within, "DE"));
    let outside = r#"{ field = "x", not_in = ["US", "UK"] }"#;
    assert!(attr_fires(outside, "DE"));
    assert!(!attr_fires(outside, "Uk"));
}

#[test]
fn numeric_comparisons_and_their_edges() {
    for (when, yes, no) in [
        (r#"{ field = "x", gt = 10 }"#, "10.5", "10"),
        (r#"{ field = "x", gte = 10 }"#, "10", "9.99"),
        (r#"{ field = "x", lt = 10 }"#, "9.99", "10"),
        (r#"{ field = "x", lte = 10 }"#, "10", "10.01"),
        (r#"{ field = "x", equals = 5 }"#, "5.0", "5.01"),
    ] {
        assert!(attr_fires(when, yes), "{when} with {yes}");
        assert!(!attr_fires(when, no), "{when} with {no}");
    }
}

#[test]
fn between_includes_both_ends() {
    let b = r#"{ field = "x", between = [10, 20] }"#;
    for (v, expected) in [
        ("9.99", false),
        ("10", true),
        ("15", true),
        ("20", true),
        ("20.01", false),
    ] {
        assert_eq!(attr_fires(b, v), expected, "{v}");
    }
}

#[test]
fn contains_and_starts_with_ignore_case() {
    let c = r#"{ field = "x", contains = ["/pricing", "/plans"] }"#;
    assert!(attr_fires(c, "https://acme.io/PRICING"));
    assert!(attr_fires(c, "/Plans/team"));
    assert!(!attr_fires(c, "/price"));
    let s = r#"{ field = "x", starts_with = "/product" }"#;
    assert!(attr_fires(s, "/Product/analytics"));
    assert!(!attr_fires(s, "/home/product"));
}

#[test]
fn exists_true_and_false() {
    let yes = r#"{ field = "x", exists = true }"#;
    let no = r#"{ field = "x", exists = false }"#;
    assert!(attr_fires(yes, "anything"));
    assert!(!attr_fires(no, "anything"));
    // Empty and blank text is a missing value.
    assert!(!attr_fires(yes, ""));
    assert!(attr_fires(no, "   "));
    assert!(fires(&rule_model(no), &[], &[]));
}

#[test]
fn day_windows_on_a_date_field() {
    // As of 2026-06-01: 2026-05-02 is exactly 30 days before.
    let within = r#"{ field = "x", within_days = 30 }"#;
    let older = r#"{ field = "x", older_than_days = 30 }"#;
    for (v, w, o) in [
        ("2026-05-02", true, false), // exactly 30 days: within (inclusive), not older
        ("2026-05-02T00:00:01Z", true, false),
        ("2026-05-01T23:59:59Z", false, true), // 30 days and one second
        ("2026-05-01", false, true),
        ("2026-06-01", true, false),
        ("2026-06-02", false, false), // the future is neither
    ] {
        assert_eq!(attr_fires(within, v), w, "within {v}");
        assert_eq!(attr_fires(older, v), o, "older {v}");
    }
}

#[test]
fn dates_and_booleans_compare_as_their_types() {
    let d = r#"{ field = "x", gte = 2026-01-01 }"#;
    assert!(attr_fires(d, "2026-01-01"));
    assert!(attr_fires(d, "2026-01-01T00:00:00+00:00"));
    assert!(!attr_fires(d, "2025-12-31T23:59:59Z"));
    // An offset is honoured: 00:30 at +01:00 is 23:30 UTC the day before.
    assert!(!attr_fires(d, "2026-01-01T00:30:00+01:00"));
    let b = r#"{ field = "x", equals = true }"#;
    for (v, expected) in [
        ("yes", true),
        ("TRUE", true),
        ("1", true),
        ("no", false),
        ("0", false),
    ] {
        assert_eq!(attr_fires(b, v), expected, "{v}");
    }
    // A value that does not parse as the type the model needs is an error naming the field.
    let m = rule_model(b);
    let e = m.contact("c1", None, &[("x", "maybe")]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "field `x`: expected a boolean (true/false, yes/no, 1/0), found \"maybe\""
    );
}

#[test]
fn a_missing_value_fails_every_test_but_exists_false() {
    // Each condition with a value that satisfies it, so a `false` below is the missing value's doing.
    let cases = [
        (r#"{ field = "x", equals = "a" }"#, "A"),
        (r#"{ field = "x", not_equals = "a" }"#, "b"),
        (r#"{ field = "x", in = ["a"] }"#, "a"),
        (r#"{ field = "x", not_in = ["a"] }"#, "b"),
        (r#"{ field = "x", gt = 1 }"#, "2"),
        (r#"{ field = "x", gte = 1 }"#, "1"),
        (r#"{ field = "x", lt = 1 }"#, "0"),
        (r#"{ field = "x", lte = 1 }"#, "1"),
        (r#"{ field = "x", between = [1, 2] }"#, "1.5"),
        (r#"{ field = "x", contains = "a" }"#, "xax"),
        (r#"{ field = "x", starts_with = "a" }"#, "ab"),
        (r#"{ field = "x", exists = true }"#, "z"),
        (r#"{ field = "x", within_days = 30 }"#, "2026-05-20"),
        (r#"{ field = "x", older_than_days = 30 }"#, "2026-01-01"),
    ];
    for (when, good) in cases {
        let m = rule_model(when);
        assert!(fires(&m, &[("x", good)], &[]), "{when} with {good}");
        assert!(!fires(&m, &[], &[]), "{when} with no value");
        assert!(!fires(&m, &[("x", "")], &[]), "{when} with an empty value");
    }
    let m = rule_model(r#"{ field = "x", exists = false }"#);
    assert!(fires(&m, &[], &[]));
    assert!(fires(&m, &[("x", "")], &[]));
}

#[test]
fn account_fields_come_from_the_account() {
    let m = model(&format!(
        r#"{HEAD}
[fields]
"account.employees" = "number"

[[rule]]
id = "r"
category = "c"
points = 10
when = {{ all = [
  {{ field = "account.industry", equals = "software" }},
  {{ field = "account.employees", gte = 200 }},
] }}
"#
    ));
    let hit = |attrs: &[(&str, &str)], acct: &[(&str, &str)]| {
        points(&score_with_account(&m, attrs, acct, &[]), "r").is_some()
    };
    assert!(hit(&[], &[("industry", "Software"), ("employees", "200")]));
    assert!(!hit(&[], &[("industry", "Software"), ("employees", "199")]));
    // A contact attribute of the same name is not the account's.
    assert!(!hit(&[("industry", "Software"), ("employees", "500")], &[]));
    // No account at all: every account field is missing.
    assert!(!fires(&m, &[("industry", "Software")], &[]));
    let names: Vec<&str> = m.account_fields().iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, vec!["employees", "industry"]);
    assert!(m.contact_fields().is_empty());
}

// ---- combinators ------------------------------------------------------------------------------

#[test]
fn all_any_not() {
    let all =
        rule_model(r#"{ all = [{ field = "a", equals = "x" }, { field = "b", equals = "y" }] }"#);
    assert!(fires(&all, &[("a", "x"), ("b", "y")], &[]));
    assert!(!fires(&all, &[("a", "x"), ("b", "z")], &[]));
    assert!(!fires(&all, &[("a", "x")], &[]));
    let any =
        rule_model(r#"{ any = [{ field = "a", equals = "x" }, { field = "b", equals = "y" }] }"#);
    assert!(fires(&any, &[("b", "y")], &[]));
    assert!(fires(&any, &[("a", "x"), ("b", "y")], &[]));
    assert!(!fires(&any, &[("a", "q"), ("b", "q")], &[]));
    let not = rule_model(r#"{ not = { field = "a", equals = "x" } }"#);
    assert!(!fires(&not, &[("a", "X")], &[]));
    assert!(fires(&not, &[("a", "q")], &[]));
    // `not` of a test on a missing value is true.
    assert!(fires(&not, &[], &[]));
    // Nested, with an event: (a = x and any demo) or not b = y.
    let nested = rule_model(
        r#"{ any = [{ all = [{ field = "a", equals = "x" }, { event = "demo" }] }, { not = { field = "b", exists = true } }] }"#,
    );
    assert!(fires(
        &nested,
        &[("a", "x"), ("b", "1")],
        &[ev("demo", 1.0, &[])]
    ));
    assert!(!fires(&nested, &[("a", "x"), ("b", "1")], &[]));
    assert!(fires(&nested, &[("a", "q")], &[]));
}

// ---- event tests ------------------------------------------------------------------------------

#[test]
fn where_tests_event_properties() {
    let m =
        rule_model(r#"{ event = "page_view", where = { field = "url", contains = "/pricing" } }"#);
    assert!(fires(
        &m,
        &[],
        &[ev("page_view", 1.0, &[("url", "/Pricing")])]
    ));
    assert!(!fires(
        &m,
        &[],
        &[ev("page_view", 1.0, &[("url", "/blog")])]
    ));
    assert!(!fires(&m, &[], &[ev("page_view", 1.0, &[])]));
    // Another event type with a matching property does not count.
    assert!(!fires(
        &m,
        &[],
        &[ev("email_click", 1.0, &[("url", "/pricing")])]
    ));
    let m = rule_model(
        r#"{ event = "purchase", where = { all = [{ field = "amount", gte = 100 }, { field = "currency", in = ["USD", "EUR"] }] } }"#,
    );
    assert!(fires(
        &m,
        &[],
        &[ev(
            "purchase",
            1.0,
            &[("amount", "100"), ("currency", "usd")]
        )]
    ));
    assert!(!fires(
        &m,
        &[],
        &[ev(
            "purchase",
            1.0,
            &[("amount", "99.5"), ("currency", "usd")]
        )]
    ));
    assert!(!fires(
        &m,
        &[],
        &[ev(
            "purchase",
            1.0,
            &[("amount", "500"), ("currency", "GBP")]
        )]
    ));
}

#[test]
fn event_counts() {
    let n = |k: usize| vec![ev("open", 1.0, &[]); k];
    for (count, expected) in [
        ("{ exactly = 2 }", [false, false, true, false]),
        ("{ at_least = 2 }", [false, false, true, true]),
        // `at_most` alone includes zero: no events at all satisfies it.
        ("{ at_most = 2 }", [true, true, true, false]),
        ("{ at_least = 1, at_most = 2 }", [false, true, true, false]),
        ("{ exactly = 0 }", [true, false, false, false]),
    ] {
        let m = rule_model(&format!(r#"{{ event = "open", count = {count} }}"#));
        for (k, want) in expected.iter().enumerate() {
            assert_eq!(
                fires(&m, &[], &n(k)),
                *want,
                "count = {count} with {k} events"
            );
        }
    }
    // Without `count`, one event is enough.
    let m = rule_model(r#"{ event = "open" }"#);
    assert!(!fires(&m, &[], &[]));
    assert!(fires(&m, &[], &n(1)));
}

#[test]
fn an_event_exactly_at_the_window_edge_is_inside() {
    let m = rule_model(r#"{ event = "open", within_days = 30 }"#);
    // `within_days = 30` counts events at or after as_of - 30 days, like a date field's window.
    assert!(fires(&m, &[], &[ev_secs("open", 30 * DAY)]));
    assert!(!fires(&m, &[], &[ev_secs("open", 30 * DAY + 1)]));
    assert!(fires(&m, &[], &[ev_secs("open", 0)]));
    // Fractional windows are in seconds too: 0.5 days = 43 200 s.
    let m = rule_model(r#"{ event = "open", within_days = 0.5 }"#);
    assert!(fires(&m, &[], &[ev_secs("open", 43_200)]));
    assert!(!fires(&m, &[], &[ev_secs("open", 43_201)]));
}

#[test]
fn absence_in_a_window() {
    let m = rule_model(r#"{ event = "open", within_days = 60, count = { exactly = 0 } }"#);
    assert!(fires(&m, &[], &[]));
    assert!(fires(&m, &[], &[ev("open", 61.0, &[])]));
    assert!(
        !fires(&m, &[], &[ev("open", 60.0, &[])]),
        "the edge is inside the window: the lead is not absent"
    );
    assert!(!fires(&m, &[], &[ev("open", 59.0, &[])]));
    // Absence of one type is not broken by another.
    assert!(fires(&m, &[], &[ev("click", 1.0, &[])]));
}

#[test]
fn rates() {
    let rate = |op: &str| {
        rule_model(&format!(
            r#"{{ event = "open", per = "delivered", rate = {{ {op} }} }}"#
        ))
    };
    let evs = |opens: usize, delivered: usize| {
        let mut v = vec![ev("open", 1.0, &[]); opens];
        v.extend(vec![ev("delivered", 2.0, &[]); delivered]);
        v
    };
    let above = rate("above = 0.5");
    assert!(!fires(&above, &[], &evs(1, 2)), "1/2 is not above 0.5");
    assert!(fires(&above, &[], &evs(2, 3)));
    assert!(
        !fires(&above, &[], &evs(3, 0)),
        "no deliveries: false, not infinity"
    );
    let at_least = rate("at_least = 0.5");
    assert!(fires(&at_least, &[], &evs(1, 2)));
    assert!(!fires(&at_least, &[], &evs(1, 3)));
    let below = rate("below = 0.5");
    assert!(fires(&below, &[], &evs(1, 3)));
    assert!(fires(&below, &[], &evs(0, 3)));
    assert!(!fires(&below, &[], &evs(1, 2)));
    assert!(
        !fires(&below, &[], &evs(0, 0)),
        "zero denominator is false for every op"
    );
    let at_most = rate("at_most = 0.5");
    assert!(fires(&at_most, &[], &evs(1, 2)));
    assert!(!fires(&at_most, &[], &evs(0, 0)));
    // The window applies to both sides: deliveries before it do not count.
    let m = rule_model(
        r#"{ event = "open", per = "delivered", rate = { above = 0.5 }, within_days = 10 }"#,
    );
    let mut v = vec![ev("open", 1.0, &[]), ev("delivered", 1.0, &[])];
    v.extend(vec![ev("delivered", 20.0, &[]); 5]);
    assert!(fires(&m, &[], &v), "1/1 in the window");
}

#[test]
fn events_after_as_of_are_ignored() {
    let m = rule_model(r#"{ event = "open" }"#);
    assert!(!fires(&m, &[], &[ev_secs("open", -1)]));
    assert!(fires(&m, &[], &[ev_secs("open", 0)]));
    let m = rule_model_with(r#"{ event = "open" }"#, "per_occurrence = true");
    let s = score(
        &m,
        &[],
        &[
            ev_secs("open", 0),
            ev_secs("open", -DAY),
            ev_secs("open", 5),
        ],
    );
    assert_eq!(s.score, 20.0); // 2 events at or before as_of × 10
}

#[test]
fn naming_an_event_twice_counts_it_once() {
    let m = rule_model_with(
        r#"{ event = ["open", "open", "click"] }"#,
        "per_occurrence = true",
    );
    let s = score(&m, &[], &[ev("open", 1.0, &[]), ev("click", 1.0, &[])]);
    let c = &s.contributions[0];
    assert_eq!((c.occurrences, c.points), (Some(2), 20.0)); // one open + one click, × 10
}

#[test]
fn event_order_does_not_matter() {
    let m = model(&format!(
        r#"{HEAD}
decay = {{ half_life_days = 7 }}

[[rule]]
id = "meeting"
category = "c"
points = 20
when = {{ event = ["meeting_booked", "call_booked"] }}

[[rule]]
id = "views"
category = "c"
points = 3
when = {{ event = "page_view", where = {{ field = "url", contains = "/pricing" }} }}
per_occurrence = true
max_points = 12

[[rule]]
id = "quiet"
category = "c"
points = -5
when = {{ event = "open", within_days = 10, count = {{ exactly = 0 }} }}
"#
    ));
    let events = vec![
        ev("page_view", 3.0, &[("url", "/pricing")]),
        ev("call_booked", 0.5, &[]),
        ev("meeting_booked", 0.5, &[]), // the same second as the call: the latest signal
        ev("page_view", 10.0, &[("url", "/pricing/team")]),
        ev("page_view", 0.25, &[("url", "/blog")]),
        ev("open", 11.0, &[]),
        ev("page_view", 0.75, &[("url", "/PRICING")]),
    ];
    let forward = score(&m, &[], &events);
    let mut reversed = events.clone();
    reversed.reverse();
    let mut rotated = events.clone();
    rotated.rotate_left(3);
    let mut swapped = events.clone();
    swapped.swap(1, 2);
    for other in [reversed, rotated, swapped] {
        assert_eq!(score(&m, &[], &other), forward);
    }
    assert_eq!(fired(&forward), vec!["meeting", "views", "quiet"]);
    // 20 × 0.5^(0.5/7) = 20 × 0.9516951 = 19.03
    assert_eq!(points(&forward, "meeting"), Some(19.03));
    // 3 × (0.5^(3/7) + 0.5^(10/7) + 0.5^(0.75/7)) = 3 × (0.7430 + 0.3715 + 0.9284) = 6.13
    assert_eq!(points(&forward, "views"), Some(6.13));
    assert_eq!(points(&forward, "quiet"), Some(-5.0));
    // The call and the meeting tie for the latest moment: the type named later in the model
    // wins, whatever the order they arrive in.
    let lim = forward.last_interesting_moment.as_ref().unwrap();
    assert_eq!(
        (lim.rule.as_str(), lim.event.as_str(), lim.at.as_str()),
        ("meeting", "call_booked", "2026-05-31T12:00:00Z")
    );
}

// ---- per occurrence, decay, caps --------------------------------------------------------------

#[test]
fn per_occurrence_with_max_points() {
    let pos = rule_model_with(
        r#"{ event = "open" }"#,
        "per_occurrence = true\nmax_points = 25",
    );
    let opens = |k| vec![ev("open", 1.0, &[]); k];
    assert_eq!(score(&pos, &[], &opens(2)).score, 20.0); // 2 × 10
    let s = score(&pos, &[], &opens(3));
    let c = &s.contributions[0];
    // 3 × 10 = 30, at most 25
    assert_eq!(
        (
            c.occurrences,
            c.before_decay,
            c.after_decay,
            c.rule_cap,
            c.points
        ),
        (Some(3), 30.0, 30.0, Some(25.0), 25.0)
    );
    let neg = model(&format!(
        "{HEAD}\n[[rule]]\nid = \"r\"\ncategory = \"c\"\npoints = -5\nwhen = {{ event = \"bounce\" }}\nper_occurrence = true\nmax_points = -12\n"
    ));
    let bounces = |k| vec![ev("bounce", 1.0, &[]); k];
    assert_eq!(score(&neg, &[], &bounces(2)).score, -10.0); // 2 × -5
    assert_eq!(score(&neg, &[], &bounces(3)).score, -12.0); // -15, at most -12
    assert_eq!(
        score(&neg, &[], &bounces(3)).contributions[0].kind,
        leadscore_core::Kind::Negative
    );
}

fn decay_model() -> Model {
    model(
        r#"
[model]
name = "decay"
version = "1"

[[category]]
id = "c"
decay = { half_life_days = 10 }

[[rule]]
id = "category-decay"
category = "c"
points = 8
when = { event = "open" }

[[rule]]
id = "own-half-life"
category = "c"
points = 8
when = { event = "click" }
decay = { half_life_days = 20 }

[[rule]]
id = "no-decay"
category = "c"
points = 8
when = { event = "form" }
decay = {}

[[rule]]
id = "expiry-only"
category = "c"
points = 8
when = { event = "demo" }
decay = { expire_after_days = 30 }

[[rule]]
id = "both"
category = "c"
points = 8
when = { event = "trial" }
decay = { half_life_days = 10, expire_after_days = 15 }

[[rule]]
id = "each"
category = "c"
points = 8
when = { event = "view" }
per_occurrence = true
max_points = 13
"#,
    )
}

#[test]
fn half_life_and_rule_decay_overriding_the_category() {
    let m = decay_model();
    let one = |kind: &str, days: f64| score(&m, &[], &[ev(kind, days, &[])]).score;
    assert_eq!(one("open", 0.0), 8.0);
    assert_eq!(one("open", 10.0), 4.0); // 8 × 0.5
    assert_eq!(one("open", 20.0), 2.0); // 8 × 0.25
    // 5 days: 8 × 0.5^(5/10) = 8 × 0.7071068 = 5.6568542 → 5.66
    assert_eq!(one("open", 5.0), 5.66);
    // The rule's 20-day half-life replaces the category's 10: 8 × 0.5 at 20 days.
    assert_eq!(one("click", 20.0), 4.0);
    // `decay = {}`: none at all.
    assert_eq!(one("form", 365.0), 8.0);
    // A rule decay replaces the whole category decay: expiry only means no half-life.
    assert_eq!(one("demo", 30.0), 8.0, "kept up to and including 30 days");
    assert_eq!(one("demo", 31.0), 0.0);
    assert_eq!(one("trial", 10.0), 4.0);
    assert_eq!(one("trial", 16.0), 0.0);
    // An expired rule still fires, for the explanation, with 0 points.
    let s = score(&m, &[], &[ev("demo", 31.0, &[])]);
    assert_eq!(fired(&s), vec!["expiry-only"]);
    let c = &s.contributions[0];
    assert_eq!((c.before_decay, c.after_decay, c.points), (8.0, 0.0, 0.0));
    assert_eq!(c.last_event_at.as_deref(), Some("2026-05-01T00:00:00Z"));
}

#[test]
fn once_only_rules_decay_from_the_latest_event_per_occurrence_from_each() {
    let m = decay_model();
    // The latest open is 10 days old: 8 × 0.5 = 4, however many older opens.
    let s = score(
        &m,
        &[],
        &[
            ev("open", 20.0, &[]),
            ev("open", 10.0, &[]),
            ev("open", 30.0, &[]),
        ],
    );
    assert_eq!(s.score, 4.0);
    // Each view decays from its own age: 8 + 4 + 2 = 14, at most 13 → 13.
    let views = [
        ev("view", 0.0, &[]),
        ev("view", 10.0, &[]),
        ev("view", 20.0, &[]),
    ];
    let s = score(&m, &[], &views);
    let c = &s.contributions[0];
    assert_eq!(
        (c.occurrences, c.before_decay, c.after_decay, c.points),
        (Some(3), 24.0, 14.0, 13.0)
    );
    // Two views: 4 + 2 = 6, under the cap.
    assert_eq!(score(&m, &[], &views[1..]).score, 6.0);
}

#[test]
fn category_caps_in_a_raw_model() {
    let m = model(
        r#"
[model]
name = "caps"
version = "1"

[[category]]
id = "fit"
cap = 15

[[category]]
id = "other"

[[rule]]
id = "a"
category = "fit"
points = 10
when = { field = "a", exists = true }

[[rule]]
id = "b"
category = "fit"
points = 10
when = { field = "b", exists = true }

[[rule]]
id = "neg"
category = "fit"
points = -30
when = { field = "neg", exists = true }

[[rule]]
id = "big"
category = "other"
points = 1000
when = { field = "big", exists = true }
"#,
    );
    let s = score(&m, &[("a", "1"), ("b", "1")], &[]);
    assert_eq!(
        (s.categories[0].raw, s.categories[0].capped, s.score),
        (20.0, 15.0, 15.0)
    );
    // The cap is on the total, after negatives: 10 + 10 - 30 = -10, no floor.
    let s = score(&m, &[("a", "1"), ("b", "1"), ("neg", "1")], &[]);
    assert_eq!((s.categories[0].capped, s.score), (-10.0, -10.0));
    // A category without a cap is unbounded; raw scores are not clamped.
    let s = score(&m, &[("a", "1"), ("big", "1")], &[]);
    assert_eq!(s.score, 1010.0);
}

#[test]
fn raw_and_normalized_scales() {
    let rules = r#"
[[rule]]
id = "a"
category = "a"
points = 10
when = { field = "a", exists = true }

[[rule]]
id = "b"
category = "b"
points = 10
when = { field = "b", exists = true }
"#;
    let raw = model(&format!(
        "[model]\nname = \"r\"\nversion = \"1\"\n[[category]]\nid = \"a\"\ncap = 20\n[[category]]\nid = \"b\"\ncap = 10\n{rules}"
    ));
    let norm = model(&format!(
        "[model]\nname = \"n\"\nversion = \"1\"\nscale = \"normalized\"\n[[category]]\nid = \"a\"\nweight = 60\ncap = 20\n[[category]]\nid = \"b\"\nweight = 40\ncap = 10\n{rules}"
    ));
    let both = [("a", "1"), ("b", "1")];
    assert_eq!(score(&raw, &both, &[]).score, 20.0); // 10 + 10
    // 60 × 10/20 + 40 × 10/10 = 30 + 40 = 70
    let s = score(&norm, &both, &[]);
    assert_eq!(s.score, 70.0);
    assert_eq!(
        (s.categories[0].points, s.categories[1].points),
        (30.0, 40.0)
    );
    assert_eq!(score(&norm, &[("a", "1")], &[]).score, 30.0);
    assert_eq!(raw.scale(), leadscore_core::Scale::Raw);
    assert_eq!(norm.scale(), leadscore_core::Scale::Normalized);
}

// ---- tiers, disqualification, segments, grade -------------------------------------------------

/// Rules worth 10, 10 and 1 point, and tiers written lowest first: the order must not matter.
fn tier_model(extra: &str) -> Model {
    model(&format!(
        r#"{HEAD}
[[rule]]
id = "ten"
category = "c"
points = 10
when = {{ field = "ten", exists = true }}

[[rule]]
id = "ten-more"
category = "c"
points = 10
when = {{ field = "ten_more", exists = true }}

[[rule]]
id = "one"
category = "c"
points = 1
when = {{ field = "one", exists = true }}

[[tier]]
name = "none"

[[tier]]
name = "low"
min = 10

[[tier]]
name = "mid"
min = 20

[[tier]]
name = "top"
above = 20
{extra}"#
    ))
}

#[test]
fn tiers_min_is_inclusive_above_is_strict() {
    let m = tier_model("");
    let tier = |attrs: &[(&str, &str)]| {
        let s = score(&m, attrs, &[]);
        (s.score, s.tier)
    };
    assert_eq!(tier(&[]), (0.0, "none".to_owned()));
    assert_eq!(tier(&[("ten", "y")]), (10.0, "low".to_owned()));
    assert_eq!(
        tier(&[("ten", "y"), ("one", "y")]),
        (11.0, "low".to_owned())
    );
    // 20 is `min = 20` (mid), not `above = 20` (top); 21 is top.
    assert_eq!(
        tier(&[("ten", "y"), ("ten_more", "y")]),
        (20.0, "mid".to_owned())
    );
    assert_eq!(
        tier(&[("ten", "y"), ("ten_more", "y"), ("one", "y")]),
        (21.0, "top".to_owned())
    );
}

#[test]
fn disqualification_overrides_a_qualifying_tier() {
    let m = tier_model(
        r#"
[routing]
sales_ready_tiers = ["top", "mid"]

[[disqualify]]
id = "competitor"
reason = "Works for a competitor"
when = { field = "company", in = ["Rival Inc", "Other Co"] }

[[disqualify]]
id = "bounced"
when = { event = "bounce" }
"#,
    );
    let good = [("ten", "y"), ("ten_more", "y"), ("one", "y")];
    let s = score(&m, &good, &[]);
    assert_eq!((s.tier.as_str(), s.status), ("top", Status::Qualified));
    assert_eq!(s.sales_ready, vec!["tier top".to_owned()]);
    let mut rival = good.to_vec();
    rival.push(("company", "rival inc"));
    let s = score(&m, &rival, &[]);
    assert_eq!(
        (s.score, s.tier.as_str(), s.status),
        (21.0, "top", Status::Disqualified)
    );
    assert_eq!(s.disqualified_by.len(), 1);
    assert_eq!(s.disqualified_by[0].reason, "Works for a competitor");
    // Without a `reason`, the condition in words is the reason.
    let s = score(&m, &good, &[ev("bounce", 3.0, &[])]);
    assert_eq!(s.status, Status::Disqualified);
    assert_eq!(s.disqualified_by[0].rule, "bounced");
    assert_eq!(s.disqualified_by[0].reason, "any bounce");
}

fn segment_model() -> Model {
    model(
        r#"
[model]
name = "seg"
version = "1"

[fields]
size = "number"

[[category]]
id = "c"

[[rule]]
id = "a"
category = "c"
points = 1
when = { field = "a", exists = true }

[[rule]]
id = "b"
category = "c"
points = 2
when = { field = "b", exists = true }

[[tier]]
name = "hi"
min = 3

[[tier]]
name = "lo"

[[segment]]
id = "big"
when = { field = "size", gte = 100 }
replace_rules = true

[[segment.rule]]
id = "only-big"
category = "c"
points = 50
when = { field = "a", exists = true }

[[segment.tier]]
name = "hi"
min = 50

[[segment.tier]]
name = "lo"

[[segment]]
id = "medium"
when = { field = "size", gte = 10 }
exclude_rules = ["b"]

[[segment.rule]]
id = "a"
category = "c"
points = 7
when = { field = "a", exists = true }
"#,
    )
}

#[test]
fn segments_first_match_wins_and_reshape_the_rules() {
    let m = segment_model();
    assert_eq!(
        m.segment_ids().collect::<Vec<_>>(),
        vec!["default", "big", "medium"]
    );
    let ab = |size: &str| score(&m, &[("a", "y"), ("b", "y"), ("size", size)], &[]);
    // size 500 matches both `big` and `medium`: the first in the file wins; its rules replace
    // the default ones entirely.
    let s = ab("500");
    assert_eq!(s.segment, "big");
    assert_eq!(fired(&s), vec!["only-big"]);
    assert_eq!((s.score, s.tier.as_str()), (50.0, "hi"));
    // medium: `b` excluded, `a` replaced by the segment's own `a` worth 7. Tiers inherited.
    let s = ab("50");
    assert_eq!(s.segment, "medium");
    assert_eq!(fired(&s), vec!["a"]);
    assert_eq!((s.score, s.tier.as_str()), (7.0, "hi"));
    // default: 1 + 2 = 3.
    let s = ab("5");
    assert_eq!(
        (s.segment.as_str(), s.score, s.tier.as_str()),
        ("default", 3.0, "hi")
    );
    assert_eq!(fired(&s), vec!["a", "b"]);
    // A missing size matches no segment.
    let s = score(&m, &[("a", "y")], &[]);
    assert_eq!(
        (s.segment.as_str(), s.score, s.tier.as_str()),
        ("default", 1.0, "lo")
    );
}

fn grade_model() -> Model {
    model(
        r#"
[model]
name = "grade"
version = "1"

[[category]]
id = "fit"

[[category]]
id = "eng"

[[rule]]
id = "f20"
category = "fit"
points = 20
when = { field = "f20", exists = true }

[[rule]]
id = "f10"
category = "fit"
points = 10
when = { field = "f10", exists = true }

[[rule]]
id = "f-1"
category = "fit"
points = -1
when = { field = "fm", exists = true }

[[rule]]
id = "e25"
category = "eng"
points = 25
when = { field = "e25", exists = true }

[[rule]]
id = "e15"
category = "eng"
points = 15
when = { field = "e15", exists = true }

[[rule]]
id = "e10"
category = "eng"
points = 10
when = { field = "e10", exists = true }

[[rule]]
id = "e-1"
category = "eng"
points = -1
when = { field = "em", exists = true }

[grade]
fit_categories = ["fit"]
engagement_categories = ["eng"]
fit = { A = 30, B = 20, C = 10 }
engagement = { 1 = 40, 2 = 25, 3 = 10 }
sales_ready = ["a1", "B1"]

[[grade.priority]]
name = "now"
cells = ["A1"]

[[grade.priority]]
name = "soon"
cells = ["A2", "b1"]
"#,
    )
}

#[test]
fn grade_cells_at_every_edge() {
    let m = grade_model();
    let grade = |attrs: &[&str]| {
        let a: Vec<(&str, &str)> = attrs.iter().map(|k| (*k, "y")).collect();
        score(&m, &a, &[]).grade.unwrap()
    };
    // fit: 30 → A, 29 → B, 20 → B, 19 → C, 10 → C, 9 → D, 0 → D
    assert_eq!(grade(&["f20", "f10", "e25", "e15"]), "A1"); // 30, 40
    assert_eq!(grade(&["f20", "f10", "fm", "e25", "e15"]), "B1"); // 29, 40
    assert_eq!(grade(&["f20", "e25", "e15", "em"]), "B2"); // 20, 39
    assert_eq!(grade(&["f20", "fm", "e25"]), "C2"); // 19, 25
    assert_eq!(grade(&["f10", "e25", "em"]), "C3"); // 10, 24
    assert_eq!(grade(&["f10", "fm", "e10"]), "D3"); // 9, 10
    assert_eq!(grade(&["e10", "em"]), "D4"); // 0, 9
    assert_eq!(grade(&["fm", "em"]), "D4"); // -1, -1
    // Cells in the file are case-insensitive: "a1" and "b1" are A1 and B1.
    let s = score(
        &m,
        &[("f20", "y"), ("f10", "y"), ("e25", "y"), ("e15", "y")],
        &[],
    );
    assert_eq!(
        (s.priority.as_deref(), s.status),
        (Some("now"), Status::Qualified)
    );
    assert_eq!(s.sales_ready, vec!["grade A1".to_owned()]);
    let s = score(
        &m,
        &[
            ("f20", "y"),
            ("f10", "y"),
            ("fm", "y"),
            ("e25", "y"),
            ("e15", "y"),
        ],
        &[],
    );
    assert_eq!(
        (s.priority.as_deref(), s.status),
        (Some("soon"), Status::Qualified)
    );
    let s = score(&m, &[("f20", "y"), ("f10", "y"), ("e25", "y")], &[]);
    assert_eq!(s.grade.as_deref(), Some("A2"));
    assert_eq!(
        (s.priority.as_deref(), s.status),
        (Some("soon"), Status::Pool)
    );
    assert!(s.sales_ready.is_empty());
}

// ---- ranking, roll-up, named scores -----------------------------------------------------------

/// One point per open; top 20% routed; segment `vip` for `vip = yes`, ranked separately.
fn ranking_model() -> Model {
    model(
        r#"
[model]
name = "rank"
version = "1"

[[category]]
id = "c"

[[rule]]
id = "opens"
category = "c"
points = 1
when = { event = "open" }
per_occurrence = true

[[tier]]
name = "all"

[routing]
top_percent = 20

[[segment]]
id = "vip"
when = { field = "vip", equals = true }

[[disqualify]]
id = "student"
when = { field = "role", equals = "student" }
"#,
    )
}

fn opens(m: &Model, k: usize, attrs: &[(&str, &str)]) -> Scored {
    score(m, attrs, &vec![ev("open", 1.0, &[]); k])
}

fn rank(m: &Model, leads: &mut [Scored]) {
    let mut r = Ranking::new(m);
    for s in leads.iter() {
        r.add(s);
    }
    r.finish();
    for s in leads.iter_mut() {
        r.apply(m, s);
    }
}

#[test]
fn ranking_routes_the_top_percent() {
    let m = ranking_model();
    let mut leads: Vec<Scored> = (1..=10).map(|k| opens(&m, k, &[])).collect();
    rank(&m, &mut leads);
    // Top 20% of 10: fewer than 20% score higher → the scores 10 (0 above) and 9 (1 above, 10%).
    let routed: Vec<f64> = leads
        .iter()
        .filter(|s| s.status == Status::Qualified)
        .map(|s| s.score)
        .collect();
    assert_eq!(routed, vec![9.0, 10.0]);
    assert_eq!(leads[9].sales_ready, vec!["top 20%".to_owned()]);
    assert!(leads[7].sales_ready.is_empty());
    let pct: Vec<f64> = leads.iter().map(|s| s.percentile.unwrap()).collect();
    assert_eq!(
        pct,
        vec![0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0]
    );
}

#[test]
fn ranking_from_stored_scores_matches_ranking_from_scored_leads() {
    // The service ranks from stored (segment, score, status) rows; it must place leads exactly
    // as ranking the Scored values does. Two disqualified rows and an unknown segment index are
    // not ranked.
    let m = ranking_model();
    let mut leads: Vec<Scored> = (1..=10).map(|k| opens(&m, k, &[])).collect();
    let mut stored = Ranking::new(&m);
    for s in &leads {
        stored.add_score(0, s.score, false);
    }
    stored.add_score(0, 99.0, true);
    stored.add_score(0, 98.0, true);
    stored.add_score(7, 97.0, false);
    stored.finish();
    let mut fresh = leads.clone();
    for s in leads.iter_mut() {
        stored.apply(&m, s);
    }
    rank(&m, &mut fresh);
    assert_eq!(leads, fresh);
    assert_eq!(leads[9].percentile, Some(90.0));
    assert_eq!(leads[9].status, Status::Qualified);
}

#[test]
fn ranking_ties_segments_and_disqualified_leads() {
    let m = ranking_model();
    // Scores 8, 8, 8, 5, 4, 3, 2, 1, 1, 1: the three tied at the top all have nobody above.
    let mut leads: Vec<Scored> = [8, 8, 8, 5, 4, 3, 2, 1, 1, 1]
        .iter()
        .map(|&k| opens(&m, k, &[]))
        .collect();
    // A disqualified lead with the best score, and two VIPs ranked among themselves.
    leads.push(opens(&m, 50, &[("role", "Student")]));
    leads.push(opens(&m, 1, &[("vip", "yes")]));
    leads.push(opens(&m, 2, &[("vip", "true")]));
    rank(&m, &mut leads);
    let status: Vec<Status> = leads.iter().map(|s| s.status).collect();
    use Status::*;
    assert_eq!(
        status,
        vec![
            Qualified,
            Qualified,
            Qualified, // tied at 8: 0% above each (30% routed)
            Pool,
            Pool,
            Pool,
            Pool,
            Pool,
            Pool,
            Pool, // 5 has 3 of 10 above: 30% ≥ 20%
            Disqualified,
            Pool,
            Qualified, // VIP 1 has 1 of 2 above (50%); VIP 2 none
        ]
    );
    let pct: Vec<Option<f64>> = leads.iter().map(|s| s.percentile).collect();
    assert_eq!(
        pct,
        vec![
            Some(70.0),
            Some(70.0),
            Some(70.0), // 7 of 10 lower
            Some(60.0),
            Some(50.0),
            Some(40.0),
            Some(30.0),
            Some(0.0),
            Some(0.0),
            Some(0.0), // ties at the bottom: nobody lower
            None,
            Some(0.0),
            Some(50.0),
        ]
    );
    assert_eq!(leads[10].disqualified_by[0].rule, "student");
    assert!(leads[10].sales_ready.is_empty());
}

#[test]
fn roll_up_methods() {
    let with = |account: &str| {
        model(&format!(
            "[model]\nname = \"a\"\nversion = \"1\"\n[[category]]\nid = \"c\"\n[account]\n{account}\n"
        ))
    };
    let scores = [10.0, 40.0, 25.0, 5.0];
    let max = with("method = \"max\"");
    let r = roll_up(&max, &scores).unwrap();
    assert_eq!((r.score, r.contacts, r.tier), (40.0, 4, None));
    let sum = with("method = \"sum\"");
    assert_eq!(roll_up(&sum, &scores).unwrap().score, 80.0); // 10 + 40 + 25 + 5
    let capped = with("method = \"sum\"\ncap = 60");
    assert_eq!(roll_up(&capped, &scores).unwrap().score, 60.0); // 80, at most 60
    assert_eq!(roll_up(&capped, &[10.0, 20.0]).unwrap().score, 30.0);
    let mean = with("method = \"mean_top\"\ntop = 2");
    assert_eq!(roll_up(&mean, &scores).unwrap().score, 32.5); // (40 + 25) / 2
    // Fewer contacts than `top`: the mean of those there are.
    assert_eq!(roll_up(&mean, &[7.0]).unwrap().score, 7.0);
    let third = with("method = \"mean_top\"\ntop = 3");
    // (40 + 25 + 10) / 3 = 25
    assert_eq!(roll_up(&third, &scores).unwrap().score, 25.0);
    assert_eq!(roll_up(&third, &[1.0, 1.0, 0.0]).unwrap().score, 0.67); // 2/3
    let tiered = with(
        "method = \"max\"\n[[account.tier]]\nname = \"target\"\nmin = 40\n[[account.tier]]\nname = \"watch\"",
    );
    assert_eq!(
        roll_up(&tiered, &scores).unwrap().tier.as_deref(),
        Some("target")
    );
    assert_eq!(
        roll_up(&tiered, &[39.99]).unwrap().tier.as_deref(),
        Some("watch")
    );
    assert_eq!(roll_up(&max, &[]), None);
    assert_eq!(roll_up(&rule_model(r#"{ event = "x" }"#), &scores), None);
    assert!(max.rolls_up_accounts());
    assert_eq!(
        mean.roll_up(),
        Some(&leadscore_core::RollUp::MeanTop { top: 2 })
    );
}

#[test]
fn named_scores_in_raw_and_normalized_models() {
    let body = r#"
[[rule]]
id = "a"
category = "a"
points = 30
when = { field = "a", exists = true }

[[rule]]
id = "b"
category = "b"
points = 5
when = { field = "b", exists = true }

[[rule]]
id = "z"
category = "z"
points = 4
when = { field = "z", exists = true }

[[score]]
id = "ab"
label = "A and B"
categories = ["a", "b"]

[[score.tier]]
name = "high"
above = 20

[[score.tier]]
name = "low"

[[score]]
id = "z"
categories = ["z"]
"#;
    let raw = model(&format!(
        "[model]\nname = \"r\"\nversion = \"1\"\n[[category]]\nid = \"a\"\ncap = 20\n[[category]]\nid = \"b\"\n[[category]]\nid = \"z\"\n{body}"
    ));
    let s = score(&raw, &[("a", "y"), ("b", "y"), ("z", "y")], &[]);
    // raw: the sum of capped points: min(30, 20) + 5 = 25.
    assert_eq!(s.scores[0].score, 25.0);
    assert_eq!(s.scores[0].label, "A and B");
    assert_eq!(s.scores[0].tier.as_deref(), Some("high"));
    assert_eq!(
        (
            s.scores[1].id.as_str(),
            s.scores[1].score,
            s.scores[1].tier.as_deref()
        ),
        ("z", 4.0, None)
    );
    assert_eq!(
        raw.named_scores().collect::<Vec<_>>(),
        vec![("ab", true), ("z", false)]
    );
    let s = score(&raw, &[("b", "y")], &[]);
    assert_eq!(
        (s.scores[0].score, s.scores[0].tier.as_deref()),
        (5.0, Some("low"))
    );

    let norm = model(&format!(
        "[model]\nname = \"n\"\nversion = \"1\"\nscale = \"normalized\"\n[[category]]\nid = \"a\"\nweight = 50\ncap = 20\n[[category]]\nid = \"b\"\nweight = 50\ncap = 20\n[[category]]\nid = \"z\"\nweight = 0\ncap = 8\n{body}"
    ));
    let s = score(&norm, &[("b", "y"), ("z", "y")], &[]);
    // normalized: capped points over full marks: (0 + 5) / (20 + 20) × 100 = 12.5; z: 4/8 = 50.
    assert_eq!((s.scores[0].score, s.scores[1].score), (12.5, 50.0));
    assert_eq!(s.score, 12.5); // 50 × 5/20; `z` weighs nothing in the main score
    let s = score(&norm, &[("a", "y"), ("b", "y")], &[]);
    // (20 + 5) / 40 × 100 = 62.5
    assert_eq!(s.scores[0].score, 62.5);
}

// ---- last interesting moment ------------------------------------------------------------------

const MOMENT_RULES: &str = r#"
[[rule]]
id = "fit"
category = "c"
points = 5
when = { field = "role", exists = true }

[[rule]]
id = "demo"
category = "c"
points = 30
label = "Asked for a demo"
when = { event = "demo" }

[[rule]]
id = "open"
category = "c"
points = 1
when = { event = "open" }

[[rule]]
id = "unsub"
category = "c"
points = -10
when = { event = "unsub" }
"#;

#[test]
fn last_interesting_moment_defaults_to_positive_behaviour() {
    let m = model(&format!("{HEAD}{MOMENT_RULES}"));
    let events = [
        ev("demo", 10.0, &[]),
        ev("open", 3.0, &[]),
        ev("open", 2.0, &[]),
        ev("unsub", 1.0, &[]), // negative: never the moment
    ];
    let s = score(&m, &[("role", "cto")], &events);
    let lim = s.last_interesting_moment.unwrap();
    assert_eq!(
        (
            lim.at.as_str(),
            lim.event.as_str(),
            lim.rule.as_str(),
            lim.label.as_str()
        ),
        ("2026-05-30T00:00:00Z", "open", "open", "open")
    );
    // Attributes alone give no moment.
    assert_eq!(
        score(&m, &[("role", "cto")], &[]).last_interesting_moment,
        None
    );
}

#[test]
fn interesting_true_restricts_the_moment() {
    let m = model(&format!("{HEAD}{MOMENT_RULES}").replace(
        "label = \"Asked for a demo\"",
        "label = \"Asked for a demo\"\ninteresting = true",
    ));
    let events = [ev("demo", 10.0, &[]), ev("open", 2.0, &[])];
    let lim = score(&m, &[], &events).last_interesting_moment.unwrap();
    assert_eq!(
        (
            lim.at.as_str(),
            lim.event.as_str(),
            lim.rule.as_str(),
            lim.label.as_str()
        ),
        ("2026-05-22T00:00:00Z", "demo", "demo", "Asked for a demo")
    );
    // Opens alone are no longer interesting.
    assert_eq!(
        score(&m, &[], &[ev("open", 2.0, &[])]).last_interesting_moment,
        None
    );
}

#[test]
fn a_moment_comes_only_from_a_rule_that_matched() {
    let m = model(&format!(
        r#"{HEAD}
[[rule]]
id = "pricing"
category = "c"
points = 15
label = "2+ pricing views"
when = {{ event = "page_view", where = {{ field = "url", contains = "/pricing" }}, count = {{ at_least = 2 }} }}

[[rule]]
id = "demo"
category = "c"
points = 30
when = {{ event = "demo" }}
"#
    ));
    // One pricing view is not "2+ pricing views": the latest signal is the demo 10 days ago.
    let s = score(
        &m,
        &[],
        &[
            ev("demo", 10.0, &[]),
            ev("page_view", 1.0, &[("url", "/pricing")]),
        ],
    );
    assert_eq!(fired(&s), vec!["demo"]);
    let lim = s.last_interesting_moment.unwrap();
    assert_eq!(
        (lim.rule.as_str(), lim.at.as_str()),
        ("demo", "2026-05-22T00:00:00Z")
    );
    // With a second view the pricing rule matches and its latest view is the moment.
    let s = score(
        &m,
        &[],
        &[
            ev("demo", 10.0, &[]),
            ev("page_view", 3.0, &[("url", "/pricing")]),
            ev("page_view", 1.0, &[("url", "/pricing")]),
        ],
    );
    let lim = s.last_interesting_moment.unwrap();
    assert_eq!(
        (
            lim.rule.as_str(),
            lim.label.as_str(),
            lim.event.as_str(),
            lim.at.as_str()
        ),
        (
            "pricing",
            "2+ pricing views",
            "page_view",
            "2026-05-31T00:00:00Z"
        )
    );
}

// ---- values that do not parse -----------------------------------------------------------------

#[test]
fn an_unparsable_property_is_an_error_and_leaves_the_state_unchanged() {
    let m = model(&format!(
        r#"{HEAD}
[[rule]]
id = "any-purchase"
category = "c"
points = 1
when = {{ event = "purchase" }}
per_occurrence = true

[[rule]]
id = "big-purchase"
category = "c"
points = 10
when = {{ event = "purchase", where = {{ field = "amount", gte = 100 }} }}
"#
    ));
    let scorer = Scorer::new(&m, as_of());
    let contact = m.contact("c1", None, &[]).unwrap();
    let mut st = scorer.new_state();
    scorer
        .observe_event(&mut st, &ev("purchase", 2.0, &[("amount", "150")]))
        .unwrap();
    let before = scorer.finish(&contact, None, &st);
    let state_before = st.clone();
    assert_eq!(before.score, 11.0); // 1 purchase × 1 + 10
    let err = scorer
        .observe_event(&mut st, &ev("purchase", 1.0, &[("amount", "lots")]))
        .unwrap_err();
    assert_eq!(
        err,
        ValueError {
            field: "amount".into(),
            expected: "a number",
            found: "lots".into(),
        }
    );
    assert_eq!(
        err.to_string(),
        "field `amount`: expected a number, found \"lots\""
    );
    // The failed event counted nowhere, not even in the rule without a filter.
    assert_eq!(st, state_before);
    assert_eq!(scorer.finish(&contact, None, &st), before);
    // The same through `observe` with properties by slot.
    assert_eq!(m.properties().len(), 1);
    let purchase = m.event_type("purchase").unwrap();
    let e = scorer
        .observe(&mut st, purchase, ago(1.0), &[Some(" 12abc ")][..])
        .unwrap_err();
    assert_eq!((e.field.as_str(), e.found.as_str()), ("amount", "12abc"));
    assert_eq!(st, state_before);
    // An empty property is missing, not an error.
    scorer
        .observe_event(&mut st, &ev("purchase", 1.0, &[("amount", " ")]))
        .unwrap();
    assert_eq!(scorer.finish(&contact, None, &st).score, 12.0); // 2 purchases + 10
    // score_events reports the same error.
    let e = scorer
        .score_events(
            &contact,
            None,
            &[ev("purchase", 1.0, &[("amount", "1,000")])],
        )
        .unwrap_err();
    assert_eq!(e.found, "1,000");
}

// ---- describe, determinism, hash --------------------------------------------------------------

#[test]
fn describe_in_plain_language() {
    let m = model(&format!(
        r#"{HEAD}
[[rule]]
id = "geo"
category = "c"
points = 10
when = {{ field = "country", in = ["US", "UK"] }}

[[rule]]
id = "pricing"
category = "c"
points = 15
when = {{ event = "page_view", where = {{ field = "url", contains = "/pricing" }}, count = {{ at_least = 2 }}, within_days = 14 }}
decay = {{ half_life_days = 30 }}

[[rule]]
id = "opens"
category = "c"
points = 3
when = {{ event = "email_open" }}
per_occurrence = true
max_points = 15

[[rule]]
id = "quiet"
category = "c"
points = -10
when = {{ event = "email_open", within_days = 60, count = {{ exactly = 0 }} }}

[[tier]]
name = "hot"
above = 20

[[tier]]
name = "warm"
min = 10

[[tier]]
name = "cold"
"#
    ));
    let d = m.describe();
    for line in [
        "scale: raw points (the score is the sum of category points)",
        "    +10  geo: country is one of US, UK (explicit, c)",
        "    +15  pricing: at least 2 × page_view where url contains \"/pricing\" in the last 14 days (implicit, c, half-life 30 days)",
        "     +3  opens: any email_open (implicit, c, per occurrence, at most 15)",
        "    -10  quiet: no email_open in the last 60 days (negative, c)",
        "  tiers: hot > 20, warm ≥ 10, cold below",
    ] {
        assert!(
            d.lines().any(|l| l == line),
            "missing line {line:?} in:\n{d}"
        );
    }
    assert!(d.starts_with(&format!("model t v1 (sha256 {})\n", m.reference().hash)));
}

#[test]
fn same_inputs_same_scored_and_the_hash_follows_the_file() {
    let src = format!(
        "{HEAD}\n[[rule]]\nid = \"r\"\ncategory = \"c\"\npoints = 10\nwhen = {{ event = \"open\" }}\ndecay = {{ half_life_days = 3 }}\n"
    );
    let a = model(&src);
    let b = model(&src);
    let events = [ev("open", 1.5, &[]), ev("open", 4.0, &[])];
    let s1 = score(&a, &[], &events);
    let s2 = score(&b, &[], &events);
    assert_eq!(s1, s2);
    assert_eq!(s1.as_of, AS_OF);
    // 10 × 0.5^(1.5/3) = 7.0710678 → 7.07
    assert_eq!(s1.score, 7.07);
    let h = &a.reference().hash;
    assert_eq!(h.len(), 64);
    assert!(h.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(h, &b.reference().hash);
    // One more space is another file, and another hash; the score itself is the same.
    let c = model(&format!("{src} "));
    assert_ne!(&c.reference().hash, h);
    let s3 = score(&c, &[], &events);
    assert_eq!(s3.score, s1.score);
    assert_ne!(s3, s1, "Scored names the exact model");
}

#[test]
fn split_and_merged_states_score_like_one_stream() {
    let m = example("starter.toml");
    let scorer = Scorer::new(&m, as_of());
    let mut events = vec![ev("email_open", 45.0, &[]); 3];
    events.extend([
        ev("email_click", 10.0, &[]),
        ev("page_view", 3.0, &[("url", "/pricing")]),
        ev("page_view", 2.0, &[("url", "/pricing")]),
        ev("page_view", 1.0, &[("url", "/product/analytics")]),
        ev("demo_requested", 20.0, &[]),
        ev("email_unsubscribed", 100.0, &[]),
    ]);
    let contact = m.contact("c1", None, &[("seniority", "vp")]).unwrap();
    let whole = scorer.score_events(&contact, None, &events).unwrap();

    // Odd events into one table, even into another, as two worker threads would; then merge.
    let feed = |table: &mut leadscore_core::StateTable, e: &Event| {
        let ty = m.event_type(&e.kind).unwrap();
        let props: Vec<Option<&str>> = m
            .properties()
            .iter()
            .map(|p| {
                e.props
                    .iter()
                    .find(|(k, _)| *k == p.name)
                    .map(|(_, v)| v.as_str())
            })
            .collect();
        scorer
            .observe_at(table, 0, ty, e.at, props.as_slice())
            .unwrap();
    };
    let mut a = leadscore_core::StateTable::new(&m, 1);
    let mut b = leadscore_core::StateTable::new(&m, 1);
    for (i, e) in events.iter().enumerate() {
        feed(if i % 2 == 0 { &mut a } else { &mut b }, e);
    }
    b.merge(&a);
    let merged = scorer.finish_at(&contact, None, &b, 0);
    assert_eq!(merged, whole);
    let brief = scorer.brief_at(&contact, None, &b, 0);
    assert_eq!(
        (brief.score, brief.segment_index, brief.disqualified),
        (whole.score, 0, false)
    );
    // ContactState merges the same way.
    let mut first = scorer.new_state();
    let mut second = scorer.new_state();
    for (i, e) in events.iter().enumerate() {
        let st = if i < 4 { &mut first } else { &mut second };
        scorer.observe_event(st, e).unwrap();
    }
    second.merge(&first);
    assert_eq!(scorer.finish(&contact, None, &second), whole);
}

#[test]
fn top_reasons_keep_model_order_on_ties_even_when_a_bigger_reason_comes_later() {
    // Regression: a one-pass top-3 let a displaced reason slip behind an equal later one.
    let m = model(
        r#"
[model]
name = "t"
version = "1"
[[category]]
id = "c"
[[rule]]
id = "a"
category = "c"
points = 8
label = "First eight"
when = { field = "x", exists = true }
[[rule]]
id = "b"
category = "c"
points = 8
label = "Second eight"
when = { field = "x", exists = true }
[[rule]]
id = "ten"
category = "c"
points = 10
label = "Ten"
when = { field = "x", exists = true }
[[rule]]
id = "one"
category = "c"
points = -1
label = "Minus one"
when = { field = "x", exists = true }
"#,
    );
    let s = score(&m, &[("x", "yes")], &[]);
    assert_eq!(
        s.top_reasons(),
        "Ten (+10); First eight (+8); Second eight (+8)"
    );
}

/// Contact attributes, account attributes, events.
type Person = (
    Vec<(&'static str, &'static str)>,
    Vec<(&'static str, &'static str)>,
    Vec<leadscore_core::Event>,
);

#[test]
fn a_headline_from_a_brief_equals_one_evaluated_from_scratch() {
    use leadscore_core::{Scorer, Scratch, StateTable};
    // The starter model has segments, a grade, disqualifiers, a named score and decay: every
    // part a reused brief could get wrong.
    let m = example("starter.toml");
    let people: Vec<Person> = vec![
        (
            vec![
                ("seniority", "VP"),
                ("purchase_authority", "decision_maker"),
                ("employees", "200"),
            ],
            vec![("employees", "5000")],
            vec![ev("demo_requested", 3.0, &[]), ev("email_open", 1.0, &[])],
        ),
        (
            vec![("role", "CEO")],
            vec![("employees", "20")],
            vec![
                ev("trial_signup", 10.0, &[]),
                ev("page_view", 2.0, &[("url", "/pricing")]),
                ev("page_view", 1.0, &[("url", "/pricing")]),
            ],
        ),
        (
            vec![("role", "student")],
            vec![],
            vec![ev("call_booked", 1.0, &[])],
        ),
        (vec![], vec![("employees", "300")], vec![]),
    ];
    let accounts: Vec<_> = people
        .iter()
        .enumerate()
        .map(|(i, (_, a, _))| m.account(&format!("a{i}"), a).unwrap())
        .collect();
    let contacts: Vec<_> = people
        .iter()
        .enumerate()
        .map(|(i, (c, _, _))| {
            m.contact(&format!("c{i}"), Some(&format!("a{i}")), c)
                .unwrap()
        })
        .collect();
    let scorer = Scorer::new(&m, as_of());
    let mut table = StateTable::new(&m, people.len());
    for (i, (_, _, events)) in people.iter().enumerate() {
        for e in events {
            let ty = m.event_type(&e.kind).unwrap();
            let props: Vec<Option<&str>> = m
                .properties()
                .iter()
                .map(|p| {
                    e.props
                        .iter()
                        .find(|(k, _)| *k == p.name)
                        .map(|(_, v)| v.as_str())
                })
                .collect();
            scorer
                .observe_at(&mut table, i, ty, e.at, props.as_slice())
                .unwrap();
        }
    }
    let mut scratch = Scratch::default();
    let mut segments = Vec::new();
    for i in 0..people.len() {
        let (c, a) = (&contacts[i], Some(&accounts[i]));
        let brief = scorer.brief_at(c, a, &table, i);
        let fresh = scorer.headline_at(c, a, &table, i, &mut scratch);
        let reused = scorer.headline_from(c, a, &table, i, &brief, &mut scratch);
        assert_eq!(fresh, reused, "contact {i}");
        let full = scorer.finish_at(c, a, &table, i);
        assert_eq!(
            (full.score, full.tier.as_str(), full.status),
            (fresh.score, fresh.tier, fresh.status)
        );
        assert_eq!(brief.score, fresh.score);
        segments.push(fresh.segment);
    }
    // The cases really cover the segments and the disqualifier.
    assert_eq!(segments, vec!["enterprise", "smb", "default", "default"]);
    assert!(
        scorer
            .brief_at(&contacts[2], Some(&accounts[2]), &table, 2)
            .disqualified
    );
}

#[test]
fn numbers_print_like_rusts_shortest_form() {
    // write_num has an integer fast path for whole cents; it must print exactly what `{}`
    // prints (shortest round-trip form), for every cent value in a wide range and for values
    // that are not whole cents.
    let mut buf = String::new();
    for c in -200_000i64..=200_000 {
        let x = (c as f64) / 100.0;
        buf.clear();
        leadscore_core::write_num(&mut buf, x);
        let expected = if x.fract() == 0.0 {
            format!("{}", x as i64)
        } else {
            format!("{x}")
        };
        assert_eq!(buf, expected, "cents {c}");
    }
    for x in [0.125, 1.0 / 3.0, -2.675, 1e-7, 123456.789, 0.1 + 0.2] {
        buf.clear();
        leadscore_core::write_num(&mut buf, x);
        assert_eq!(buf, format!("{x}"), "{x}");
    }
}
