//! Golden tests: each shipped example model on fixed inputs, with exact expected scores.

use crate::common::*;
use leadscore_core::Status;

/// Keeps every encharge lead "active" so the 60-day inactivity rule does not fire.
fn active() -> leadscore_core::Event {
    ev("email_open", 5.0, &[])
}

#[test]
fn encharge_full_profile_sums_the_table() {
    let m = example("encharge.toml");
    let attrs = [
        ("country", "US"),
        ("city", "New York"),
        ("age", "30"),
        ("role", "CEO"),
        ("employees", "50"),
        ("purchase_authority", "decision_maker"),
    ];
    let events = [
        active(),
        ev("email_click", 20.0, &[("campaign", "nurturing")]),
        ev("email_click", 10.0, &[("campaign", "Onboarding")]),
        ev("email_reply", 9.0, &[("campaign", "sales")]),
        ev("trial_signup", 8.0, &[]),
        ev("task_created", 7.0, &[]),
        ev("task_created", 6.0, &[]),
        ev("task_created", 5.0, &[]),
        ev("project_created", 5.0, &[]),
        ev("call_booked", 4.0, &[]),
        ev("linkedin_click", 30.0, &[]),
        ev("facebook_click", 30.0, &[]),
        ev("demo_cancelled", 3.0, &[]),
        ev("email_unsubscribed", 2.0, &[]),
    ];
    let s = score(&m, &attrs, &events);
    // explicit 1+1+1+5+10+10 = 28; behaviour 1+5+15+2+5+20+2+1 = 51; negative -20.
    assert_eq!(s.categories[0].points, 28.0);
    assert_eq!(s.categories[1].points, 51.0);
    assert_eq!(s.categories[2].points, -20.0);
    assert_eq!(s.score, 59.0);
    assert_eq!(s.tier, "mql");
    assert_eq!(s.status, Status::Qualified);
    assert_eq!(points(&s, "task-twice"), Some(2.0));
    assert_eq!(
        points(&s, "task-once"),
        None,
        "two or more tasks give +2 instead of +1"
    );
    assert_eq!(
        points(&s, "nurture-click"),
        Some(1.0),
        "once, however many clicks"
    );
    assert_eq!(s.model.name, "encharge");
    assert_eq!(s.model.hash.len(), 64);
    assert_eq!(
        s.top_reasons(),
        "Booked a call (+20); Signed up for a trial (+15); 25 or more employees (+10)"
    );
    let lim = s.last_interesting_moment.unwrap();
    assert_eq!(
        (lim.event.as_str(), lim.rule.as_str()),
        ("call_booked", "call-booked")
    );
}

#[test]
fn encharge_threshold_is_strictly_above_20() {
    let m = example("encharge.toml");
    let attrs = [
        ("employees", "25"),
        ("purchase_authority", "decision_maker"),
    ];
    let s = score(&m, &attrs, &[active()]);
    assert_eq!(
        (s.score, s.tier.as_str(), s.status),
        (20.0, "lead", Status::Pool)
    );
    let s = score(&m, &attrs, &[active(), ev("facebook_click", 1.0, &[])]);
    assert_eq!(
        (s.score, s.tier.as_str(), s.status),
        (21.0, "mql", Status::Qualified)
    );
}

#[test]
fn encharge_edges_of_each_explicit_rule() {
    let m = example("encharge.toml");
    let one = |attrs: &[(&str, &str)]| score(&m, attrs, &[active()]).score;
    assert_eq!(one(&[("age", "25")]), 1.0);
    assert_eq!(one(&[("age", "45")]), 1.0);
    assert_eq!(one(&[("age", "24")]), 0.0);
    assert_eq!(one(&[("age", "46")]), 0.0);
    assert_eq!(one(&[("employees", "24")]), 0.0);
    assert_eq!(one(&[("country", "uk"), ("city", "London")]), 2.0);
    assert_eq!(one(&[("country", "DE")]), 0.0);
    assert_eq!(one(&[("role", "CMO")]), 5.0);
    assert_eq!(one(&[("role", "CTO")]), 0.0);
    assert_eq!(one(&[("purchase_authority", "influencer")]), 0.0);
}

#[test]
fn encharge_single_task_and_unmatched_campaigns() {
    let m = example("encharge.toml");
    let s = score(
        &m,
        &[],
        &[
            active(),
            ev("task_created", 1.0, &[]),
            ev("email_click", 1.0, &[("campaign", "newsletter")]),
            ev("email_reply", 1.0, &[("campaign", "nurturing")]),
        ],
    );
    assert_eq!(fired(&s), vec!["task-once"]);
    assert_eq!(s.score, 1.0);
}

#[test]
fn encharge_disqualifies_students_and_the_inactive() {
    let m = example("encharge.toml");
    let busy = [
        active(),
        ev("call_booked", 1.0, &[]),
        ev("trial_signup", 1.0, &[]),
    ];
    let s = score(&m, &[("role", "student")], &busy);
    assert_eq!(s.score, 35.0);
    assert_eq!(s.tier, "mql");
    assert_eq!(s.status, Status::Disqualified, "whatever the points");
    assert_eq!(s.disqualified_by[0].rule, "student-or-unemployed");

    // The last open was 61 days ago: inactive, even with a booked call.
    let s = score(
        &m,
        &[("role", "CEO")],
        &[ev("email_open", 61.0, &[]), ev("call_booked", 70.0, &[])],
    );
    assert_eq!(s.status, Status::Disqualified);
    assert_eq!(s.disqualified_by[0].rule, "inactive-60-days");
    // A page view 59 days ago keeps the lead active.
    let s = score(&m, &[("role", "CEO")], &[ev("page_view", 59.0, &[])]);
    assert_eq!(s.status, Status::Pool);
}
