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

// ---------------------------------------------------------------------------------------------
// three-attribute.toml: engagement 0–5 + fit 0–3 + readiness 0–2, tiers high ≥ 6, mid ≥ 3.

/// Four deliveries and one open: an open rate of 25%, above the 20% the rule needs.
fn opened_a_quarter() -> Vec<leadscore_core::Event> {
    let mut v = vec![ev("email_delivered", 20.0, &[]); 4];
    v.push(ev("email_open", 19.0, &[]));
    v
}

fn pricing_view(days_ago: f64) -> leadscore_core::Event {
    ev(
        "page_view",
        days_ago,
        &[("url", "https://acme.io/Pricing?plan=team")],
    )
}

#[test]
fn three_attribute_full_marks_is_ten() {
    let m = example("three-attribute.toml");
    let mut events = opened_a_quarter();
    events.extend([
        pricing_view(13.0),
        pricing_view(1.0),
        ev("meeting_booked", 29.0, &[]),
    ]);
    let s = score_with_account(
        &m,
        &[],
        &[("industry", "software"), ("revenue", "10000000")],
        &events,
    );
    // engagement: 1/4 = 0.25 > 0.2 and 2 pricing views in 14 days → 5;
    // fit: "software" matches "Software", revenue 10M ≥ 10M → 3; readiness: 29 days < 30 → 2.
    let cats: Vec<f64> = s.categories.iter().map(|c| c.points).collect();
    assert_eq!(cats, vec![5.0, 3.0, 2.0]);
    assert_eq!(s.score, 10.0); // 5 + 3 + 2
    assert_eq!(s.tier, "high");
    assert_eq!(s.status, Status::Qualified);
    assert_eq!(s.sales_ready, vec!["tier high".to_owned()]);
    assert_eq!(
        fired(&s),
        vec!["engaged-and-pricing", "firmographic-fit", "meeting-request"]
    );
    assert_eq!(s.grade, None);
}

#[test]
fn three_attribute_boundaries() {
    let m = example("three-attribute.toml");
    let acct = [("industry", "Healthcare"), ("revenue", "10000000")];
    let with = |events: &[leadscore_core::Event]| score_with_account(&m, &[], &acct, events);

    // Control: fit alone is 3, exactly the `mid` floor.
    let s = with(&[]);
    assert_eq!(
        (s.score, s.tier.as_str(), s.status),
        (3.0, "mid", Status::Pool)
    );

    // 1 open per 5 deliveries is exactly 0.2: not *above* 0.2, so no engagement points.
    let mut events = vec![ev("email_delivered", 20.0, &[]); 5];
    events.extend([
        ev("email_open", 19.0, &[]),
        pricing_view(2.0),
        pricing_view(1.0),
    ]);
    let s = with(&events);
    assert_eq!(points(&s, "engaged-and-pricing"), None);
    assert_eq!(s.score, 3.0); // fit only

    // A pricing view one second more than 14 days ago is outside the window: one view is not two.
    let mut outside = pricing_view(14.0);
    outside.at -= 1;
    let mut events = opened_a_quarter();
    events.extend([outside, pricing_view(1.0)]);
    assert_eq!(with(&events).score, 3.0);
    // Exactly 14 days ago is inside (windows include their edge): 5 + 3 = 8.
    let mut events = opened_a_quarter();
    events.extend([pricing_view(14.0), pricing_view(1.0)]);
    let s = with(&events);
    assert_eq!((s.score, s.tier.as_str()), (8.0, "high"));

    // No deliveries at all: the open rate has no denominator and the rule does not fire.
    let s = with(&[
        ev("email_open", 1.0, &[]),
        pricing_view(2.0),
        pricing_view(1.0),
    ]);
    assert_eq!(s.score, 3.0);

    // A demo request exactly 30 days ago is inside the 30-day window; 31 days is outside.
    assert_eq!(with(&[ev("demo_requested", 30.0, &[])]).score, 5.0); // 3 + 2
    assert_eq!(with(&[ev("demo_requested", 31.0, &[])]).score, 3.0);

    // Revenue one dollar short, or an industry off the list: no fit points.
    let s = score_with_account(
        &m,
        &[],
        &[("industry", "Software"), ("revenue", "9999999")],
        &[ev("demo_requested", 1.0, &[])],
    );
    assert_eq!((s.score, s.tier.as_str()), (2.0, "low"));
    let s = score_with_account(
        &m,
        &[],
        &[("industry", "Retail"), ("revenue", "50000000")],
        &[],
    );
    assert_eq!((s.score, s.tier.as_str()), (0.0, "low"));
}

// ---------------------------------------------------------------------------------------------
// weighted-100.toml: category points = weight × min(raw, cap) / cap; the sum is clamped to 0–100.

#[test]
fn weighted_full_marks_is_100() {
    let m = example("weighted-100.toml");
    let today = |kind: &str| ev(kind, 0.0, &[]);
    let mut events = vec![today("content_download"); 4];
    events.extend([
        today("webinar_attended"),
        today("webinar_registered"),
        today("demo_requested"),
        today("trial_signup"),
        today("email_open"),
        today("email_open"),
        today("email_open"),
        today("email_reply"),
        today("form_submit"),
    ]);
    for _ in 0..4 {
        events.push(ev("page_view", 0.0, &[("url", "/pricing")]));
    }
    let s = score_with_account(
        &m,
        &[
            ("seniority", "VP"),
            ("purchase_authority", "decision_maker"),
        ],
        &[("employees", "200"), ("industry", "Healthcare")],
        &events,
    );
    // demographic 15 + 15 = 30 → 20 × 30/30 = 20
    // content: downloads 4 × 10 = 40 capped at 30, + 15 + 5 = 50 → cap 40 → 25 × 40/40 = 25
    // behavioural: 30 + 20 + pricing 4 × 10 = 40 capped at 30 = 80 → cap 60 → 30 × 60/60 = 30
    // engagement: 3 × 10 + 18 + 15 = 63 → cap 50 → 15 × 50/50 = 15
    // fit: 10 + 10 = 20 → 10 × 20/20 = 10
    let cats: Vec<(f64, f64, f64)> = s
        .categories
        .iter()
        .map(|c| (c.raw, c.capped, c.points))
        .collect();
    assert_eq!(
        cats,
        vec![
            (30.0, 30.0, 20.0),
            (50.0, 40.0, 25.0),
            (80.0, 60.0, 30.0),
            (63.0, 50.0, 15.0),
            (20.0, 20.0, 10.0),
        ]
    );
    assert_eq!(s.score, 100.0);
    assert_eq!(s.tier, "high_priority");
    assert_eq!(s.status, Status::Qualified);
    let downloads = s
        .contributions
        .iter()
        .find(|c| c.rule == "downloads")
        .unwrap();
    assert_eq!(
        (
            downloads.occurrences,
            downloads.before_decay,
            downloads.after_decay,
            downloads.rule_cap,
            downloads.points
        ),
        (Some(4), 40.0, 40.0, Some(30.0), 30.0)
    );
}

#[test]
fn weighted_decay_halves_each_half_life() {
    let m = example("weighted-100.toml");
    let events = [
        ev("webinar_attended", 90.0, &[]), // content, half-life 90: 15 × 0.5 = 7.5
        ev("content_download", 180.0, &[]), // 10 × 0.5² = 2.5
        ev("demo_requested", 30.0, &[]),   // behavioural, half-life 30: 30 × 0.5 = 15
        ev("trial_signup", 60.0, &[]),     // 20 × 0.25 = 5
        ev("page_view", 30.0, &[("url", "/pricing")]), // 10 × 0.5 = 5
        ev("email_reply", 60.0, &[]),      // engagement, half-life 60: 18 × 0.5 = 9
        ev("email_click", 120.0, &[]),     // 14 × 0.25 = 3.5
    ];
    let s = score_with_account(
        &m,
        &[("seniority", "executive")],
        &[("employees", "500")],
        &events,
    );
    assert_eq!(points(&s, "webinar-attended"), Some(7.5));
    assert_eq!(points(&s, "downloads"), Some(2.5));
    assert_eq!(points(&s, "demo-request"), Some(15.0));
    assert_eq!(points(&s, "trial"), Some(5.0));
    assert_eq!(points(&s, "pricing-views"), Some(5.0));
    assert_eq!(points(&s, "email-reply"), Some(9.0));
    assert_eq!(points(&s, "email-click"), Some(3.5));
    // demographic 15 → 20 × 15/30 = 10; content 10 → 25 × 10/40 = 6.25;
    // behavioural 25 → 30 × 25/60 = 12.5; engagement 12.5 → 15 × 12.5/50 = 3.75;
    // fit 10 → 10 × 10/20 = 5.
    let cats: Vec<f64> = s.categories.iter().map(|c| c.points).collect();
    assert_eq!(cats, vec![10.0, 6.25, 12.5, 3.75, 5.0]);
    assert_eq!(s.score, 37.5); // 10 + 6.25 + 12.5 + 3.75 + 5
    assert_eq!(s.tier, "pool");
    assert_eq!(s.status, Status::Pool);
    assert!(s.sales_ready.is_empty());
}

#[test]
fn weighted_decay_between_half_lives() {
    let m = example("weighted-100.toml");
    // 45 days with a 90-day half-life: 0.5^(45/90) = 0.5^0.5 = 0.70710678…
    // 15 × 0.70710678 = 10.6066017 → 10.61 shown; content 25 × 10.6066017/40 = 6.6291261 → 6.63.
    let s = score(&m, &[], &[ev("webinar_attended", 45.0, &[])]);
    let c = &s.contributions[0];
    assert_eq!(
        (c.rule.as_str(), c.before_decay, c.after_decay),
        ("webinar-attended", 15.0, 10.61)
    );
    assert_eq!(s.categories[1].raw, 10.61);
    assert_eq!(s.categories[1].points, 6.63);
    assert_eq!(s.score, 6.63);

    // The 90-day window on a demo request includes its edge: exactly 90 days ago is in,
    // 30 × 0.5^(90/30) = 3.75 → behavioural 30 × 3.75/60 = 1.875 → 1.88; 91 days is out.
    assert_eq!(
        score(&m, &[], &[ev("demo_requested", 90.0, &[])]).score,
        1.88
    );
    assert_eq!(
        score(&m, &[], &[ev("demo_requested", 91.0, &[])]).score,
        0.0
    );
    // 0.5^(89/30) = 0.125 × 2^(1/30) = 0.125 × 1.0233739 = 0.1279217; 30 × that = 3.837652;
    // behavioural 30 × 3.837652/60 = 1.918826 → 1.92.
    assert_eq!(
        score(&m, &[], &[ev("demo_requested", 89.0, &[])]).score,
        1.92
    );
}

#[test]
fn weighted_engagement_cap_is_50_and_the_composite_is_clamped() {
    let m = example("weighted-100.toml");
    let mut events = vec![ev("email_open", 0.0, &[]); 6];
    events.push(ev("email_click", 0.0, &[]));
    let s = score(&m, &[], &events);
    // 6 × 10 + 14 = 74, capped at 50 → 15 × 50/50 = 15.
    let e = &s.categories[3];
    assert_eq!(
        (e.id.as_str(), e.raw, e.capped, e.points),
        ("engagement", 74.0, 50.0, 15.0)
    );
    assert_eq!(s.score, 15.0);

    // The cap applies to the category total, after negatives: an unsubscribe 100 days ago still
    // takes the full 30 (`decay = {}` overrides the category's 60-day half-life):
    // 74 - 30 = 44 → 15 × 44/50 = 13.2.
    events.push(ev("email_unsubscribed", 100.0, &[]));
    let s = score(&m, &[], &events);
    assert_eq!(points(&s, "unsubscribed"), Some(-30.0));
    assert_eq!((s.categories[3].raw, s.categories[3].points), (44.0, 13.2));
    assert_eq!(s.score, 13.2);

    // Only the negative: engagement -30 → 15 × -30/50 = -9, and the composite is clamped to 0.
    let s = score(&m, &[], &[ev("email_unsubscribed", 100.0, &[])]);
    assert_eq!(s.categories[3].points, -9.0);
    assert_eq!(s.score, 0.0);
    assert_eq!(s.tier, "pool");
}

// ---------------------------------------------------------------------------------------------
// matrix.toml: fit letter from demographic points (A ≥ 60, B ≥ 40, C ≥ 20), engagement digit from
// behavioural points (1 ≥ 60, 2 ≥ 40, 3 ≥ 20); A1/A2/B1 are sales-ready.

fn matrix_lead(
    attrs: &[(&str, &str)],
    account: &[(&str, &str)],
    events: &[leadscore_core::Event],
) -> leadscore_core::Scored {
    score_with_account(&example("matrix.toml"), attrs, account, events)
}

fn cell(s: &leadscore_core::Scored) -> (&str, Option<&str>, Status) {
    (s.grade.as_deref().unwrap(), s.priority.as_deref(), s.status)
}

#[test]
fn matrix_sales_ready_cells() {
    let exec = [
        ("seniority", "VP"),
        ("purchase_authority", "decision_maker"),
    ];
    let big = [("employees", "200")];
    let demo_and_trial = [ev("demo_requested", 0.0, &[]), ev("trial_signup", 0.0, &[])];

    // A1: fit 25 + 25 + 15 = 65 (A), behaviour 30 + 30 = 60 (1).
    let s = matrix_lead(&exec, &big, &demo_and_trial);
    assert_eq!(cell(&s), ("A1", Some("super hot"), Status::Qualified));
    assert_eq!(s.sales_ready, vec!["grade A1".to_owned()]);
    assert_eq!((s.score, s.tier.as_str()), (125.0, "engaged")); // 65 + 60

    // A2: the demo was 30 days ago, one half-life: 15 + 30 = 45 (2).
    let s = matrix_lead(
        &exec,
        &big,
        &[
            ev("demo_requested", 30.0, &[]),
            ev("trial_signup", 0.0, &[]),
        ],
    );
    assert_eq!(points(&s, "demo-request"), Some(15.0));
    assert_eq!(cell(&s), ("A2", Some("very hot"), Status::Qualified));
    assert_eq!(s.score, 110.0); // 65 + 45

    // B1: fit exactly 40 = 25 (decision maker) + 15 (target industry); behaviour 60.
    let s = matrix_lead(
        &[("purchase_authority", "decision_maker")],
        &[("industry", "software")],
        &demo_and_trial,
    );
    assert_eq!(s.categories[0].points, 40.0);
    assert_eq!(cell(&s), ("B1", Some("very hot"), Status::Qualified));
    assert_eq!(s.sales_ready, vec!["grade B1".to_owned()]);
}

#[test]
fn matrix_hot_cells_stay_in_the_pool() {
    let b_fit = (
        [("purchase_authority", "decision_maker")],
        [("industry", "Financial Services")],
    );
    // B2: webinar 15 + 3 clicks × 3 = 9 + two pricing views (15 for 2+ in 14 days, and 1 + 1
    // page-view points) = 41 (2).
    let events = [
        ev("webinar_attended", 0.0, &[]),
        ev("email_click", 0.0, &[]),
        ev("email_click", 0.0, &[]),
        ev("email_click", 0.0, &[]),
        ev("page_view", 0.0, &[("url", "/pricing")]),
        ev("page_view", 0.0, &[("url", "/pricing")]),
    ];
    let s = matrix_lead(&b_fit.0, &b_fit.1, &events);
    assert_eq!(s.categories[1].points, 41.0);
    assert_eq!(cell(&s), ("B2", Some("hot"), Status::Pool));
    assert!(s.sales_ready.is_empty());
    assert_eq!((s.score, s.tier.as_str()), (81.0, "engaged"));

    // C1: 5 (US) + 5 (referral) + 15 (200+ employees) = 25 (C); behaviour 60 (1).
    let s = matrix_lead(
        &[("country", "us"), ("lead_source", "Referral")],
        &[("employees", "250")],
        &[ev("demo_requested", 0.0, &[]), ev("trial_signup", 0.0, &[])],
    );
    assert_eq!(cell(&s), ("C1", Some("hot"), Status::Pool));
    assert_eq!(s.score, 85.0); // 25 + 60

    // A3 with fit exactly 60: 25 + 25 + 5 + 5; behaviour webinar 15 + 2 clicks × 3 = 21 (3).
    let s = matrix_lead(
        &[
            ("seniority", "executive"),
            ("purchase_authority", "decision_maker"),
            ("country", "CA"),
            ("lead_source", "referral"),
        ],
        &[],
        &[
            ev("webinar_attended", 0.0, &[]),
            ev("email_click", 0.0, &[]),
            ev("email_click", 0.0, &[]),
        ],
    );
    assert_eq!(cell(&s), ("A3", Some("hot"), Status::Pool));
    assert_eq!(s.score, 81.0); // 60 + 21
}

#[test]
fn matrix_d4_and_negative_points() {
    // -25 (student) - 10 (no authority) = -35: D; no behaviour: 4; D4 has no priority label.
    let s = matrix_lead(
        &[("role", "student"), ("purchase_authority", "none")],
        &[],
        &[],
    );
    assert_eq!(cell(&s), ("D4", None, Status::Pool));
    assert_eq!((s.score, s.tier.as_str()), (-35.0, "new"));

    // Careers page 30 days ago: -10 × 0.5 = -5 and +1 × 0.5 = 0.5 as a page view; an
    // unsubscribe 90 days ago keeps its full -20 (`decay = {}`): -5 + 0.5 - 20 = -24.5.
    let s = matrix_lead(
        &[],
        &[],
        &[
            ev("page_view", 30.0, &[("url", "/careers/engineering")]),
            ev("email_unsubscribed", 90.0, &[]),
        ],
    );
    assert_eq!(points(&s, "careers-page"), Some(-5.0));
    assert_eq!(points(&s, "page-views"), Some(0.5));
    assert_eq!(points(&s, "unsubscribed"), Some(-20.0));
    assert_eq!(s.score, -24.5);
    assert_eq!(cell(&s), ("D4", None, Status::Pool));
}

#[test]
fn matrix_rule_and_category_caps() {
    // demo 30 + trial 30 + webinar 15 + 5 clicks (15, at most 9) + pricing interest 15 +
    // 6 page views (6, at most 5) = 104, capped at 100.
    let mut events = vec![
        ev("demo_requested", 0.0, &[]),
        ev("trial_signup", 0.0, &[]),
        ev("webinar_attended", 0.0, &[]),
    ];
    events.extend(vec![ev("email_click", 0.0, &[]); 5]);
    events.extend(vec![ev("page_view", 0.0, &[("url", "/pricing")]); 2]);
    events.extend(vec![ev("page_view", 0.0, &[("url", "/blog")]); 4]);
    let s = matrix_lead(&[], &[], &events);
    assert_eq!(points(&s, "email-clicks"), Some(9.0));
    assert_eq!(points(&s, "page-views"), Some(5.0));
    let b = &s.categories[1];
    assert_eq!((b.raw, b.capped, b.points), (104.0, 100.0, 100.0));
    // Behaviour 59 is a 2, not a 1: demo 30 + webinar 15 + 3 clicks 9 + 5 page views 5.
    let mut events = vec![
        ev("demo_requested", 0.0, &[]),
        ev("webinar_attended", 0.0, &[]),
    ];
    events.extend(vec![ev("email_click", 0.0, &[]); 3]);
    events.extend(vec![ev("page_view", 0.0, &[("url", "/blog")]); 5]);
    let s = matrix_lead(
        &[
            ("seniority", "vp"),
            ("purchase_authority", "decision_maker"),
            ("country", "UK"),
        ],
        &[("employees", "1000")],
        &events,
    );
    assert_eq!(s.categories[1].points, 59.0);
    assert_eq!(cell(&s), ("A2", Some("very hot"), Status::Qualified)); // fit 25+25+15+5 = 70
}

// ---------------------------------------------------------------------------------------------
// starter.toml: normalized fit 35 (cap 40) + engagement 25 (cap 45, half-life 45) + intent 40
// (cap 50, half-life 30, expires after 180); tiers hot ≥ 70, warm ≥ 40; segments enterprise
// (account 1000+ employees) and smb (under 50).

const EXEC: [(&str, &str); 4] = [
    ("seniority", "VP"),
    ("purchase_authority", "decision_maker"),
    ("employees", "200"),
    ("industry", "Software"),
];

#[test]
fn starter_hot_default_lead() {
    let m = example("starter.toml");
    let mut events = vec![ev("email_open", 0.0, &[]); 5];
    events.extend(vec![ev("email_click", 0.0, &[]); 4]);
    events.extend([
        ev("webinar_attended", 0.0, &[]),
        ev("demo_requested", 30.0, &[]),
        ev("meeting_booked", 0.0, &[]),
    ]);
    let s = score(&m, &EXEC, &events);
    // fit 15 + 15 + 10 + 5 = 45 → cap 40 → 35 × 40/40 = 35
    // engagement 5 × 3 = 15 (at most 15) + 4 × 5 = 20 (at most 20) + 10 = 45 → 25 × 45/45 = 25
    // intent: demo 30 × 0.5 = 15 + meeting 20 = 35 → 40 × 35/50 = 28
    let cats: Vec<f64> = s.categories.iter().map(|c| c.points).collect();
    assert_eq!(cats, vec![35.0, 25.0, 28.0, 0.0]);
    assert_eq!(s.score, 88.0); // 35 + 25 + 28
    assert_eq!(s.segment, "default");
    assert_eq!(s.tier, "hot");
    // fit 35 ≥ 30 → A; engagement + intent 25 + 28 = 53 ≥ 40 → 1.
    assert_eq!(s.grade.as_deref(), Some("A1"));
    assert_eq!(s.priority.as_deref(), Some("call now"));
    assert_eq!(
        s.sales_ready,
        vec!["tier hot".to_owned(), "grade A1".to_owned()]
    );
    assert_eq!(s.status, Status::Qualified);
    // Only rules marked `interesting = true` count: the meeting, not today's opens.
    let lim = s.last_interesting_moment.as_ref().unwrap();
    assert_eq!(
        (lim.at.as_str(), lim.event.as_str(), lim.rule.as_str()),
        ("2026-06-01T00:00:00Z", "meeting_booked", "meeting")
    );
    assert_eq!(s.scores[0].score, 0.0);
    assert_eq!(s.scores[0].tier.as_deref(), Some("not yet"));
}

#[test]
fn starter_decay_and_expiry() {
    let m = example("starter.toml");
    let mut events = vec![ev("email_open", 45.0, &[]); 4];
    events.extend(vec![ev("email_click", 90.0, &[]); 2]);
    events.extend([
        ev("webinar_attended", 45.0, &[]),
        ev("demo_requested", 60.0, &[]),
        ev("trial_signup", 200.0, &[]),
        ev("call_booked", 30.0, &[]),
    ]);
    let s = score(
        &m,
        &[("seniority", "Director"), ("industry", "healthcare")],
        &events,
    );
    // engagement (half-life 45): opens 4 × 3 × 0.5 = 6, clicks 2 × 5 × 0.25 = 2.5, webinar 5.
    assert_eq!(points(&s, "opens"), Some(6.0));
    assert_eq!(points(&s, "clicks"), Some(2.5));
    assert_eq!(points(&s, "webinar"), Some(5.0));
    // intent (half-life 30, expiry 180): demo 30 × 0.25 = 7.5, call 20 × 0.5 = 10, and the trial
    // 200 days ago has expired: the rule fires but adds nothing.
    assert_eq!(points(&s, "demo"), Some(7.5));
    assert_eq!(points(&s, "meeting"), Some(10.0));
    let trial = s.contributions.iter().find(|c| c.rule == "trial").unwrap();
    assert_eq!(
        (trial.before_decay, trial.after_decay, trial.points),
        (25.0, 0.0, 0.0)
    );
    // The opens 45 days ago are inside 60 days: "gone quiet" does not fire.
    assert_eq!(points(&s, "gone-quiet"), None);
    // fit 20 → 35 × 20/40 = 17.5; engagement 13.5 → 25 × 13.5/45 = 7.5; intent 17.5 → 40 × 17.5/50 = 14.
    let cats: Vec<f64> = s.categories.iter().map(|c| c.points).collect();
    assert_eq!(cats, vec![17.5, 7.5, 14.0, 0.0]);
    assert_eq!(s.score, 39.0);
    assert_eq!(s.tier, "cold");
    // fit 17.5 → C; 7.5 + 14 = 21.5 → 3: C3, no priority.
    assert_eq!(
        (s.grade.as_deref(), s.priority.as_deref()),
        (Some("C3"), None)
    );
    assert_eq!(s.status, Status::Pool);
    let lim = s.last_interesting_moment.as_ref().unwrap();
    assert_eq!(
        (lim.at.as_str(), lim.event.as_str(), lim.rule.as_str()),
        ("2026-05-02T00:00:00Z", "call_booked", "meeting")
    );
}

#[test]
fn starter_gone_quiet_absence() {
    let m = example("starter.toml");
    // No events: "gone quiet" -10 → 25 × -10/45 = -5.5556 → -5.56; 35 - 5.56 = 29.44.
    let s = score(&m, &EXEC, &[]);
    assert_eq!(points(&s, "gone-quiet"), Some(-10.0));
    assert_eq!(s.categories[1].points, -5.56);
    assert_eq!(s.score, 29.44);
    assert_eq!((s.tier.as_str(), s.grade.as_deref()), ("cold", Some("A4")));
    assert_eq!(s.last_interesting_moment, None);

    // An open exactly 60 days ago is inside the 60-day window, so the lead has not gone quiet;
    // the open scores 3 × 0.5^(60/45) = 3 × 0.3968503 = 1.1905508:
    // engagement 1.1905508 → 25 × 1.1905508/45 = 0.6614171 → 0.66.
    let s = score(&m, &EXEC, &[ev("email_open", 60.0, &[])]);
    assert_eq!(points(&s, "gone-quiet"), None);
    assert_eq!(points(&s, "opens"), Some(1.19));
    assert_eq!(s.categories[1].points, 0.66);
    assert_eq!(s.score, 35.66); // 35 + 0.66
    // One second earlier it is outside: gone quiet, -10 + 1.1905 (the decay of one extra second
    // does not show at two decimals) → 25 × -8.8094/45 = -4.89; 35 - 4.89 = 30.11.
    let s = score(&m, &EXEC, &[ev("email_open", 60.0 + 1.0 / 86_400.0, &[])]);
    assert_eq!(points(&s, "gone-quiet"), Some(-10.0));
    assert_eq!(s.categories[1].points, -4.89);
    assert_eq!(s.score, 30.11);
}

/// Fit 40 (35 points), 3 opens today (9 → 25 × 9/45 = 5), a trial today (25 → 40 × 25/50 = 20).
fn starter_sixty(
    m: &leadscore_core::Model,
    attrs: &[(&str, &str)],
    employees: &str,
) -> leadscore_core::Scored {
    let mut events = vec![ev("email_open", 0.0, &[]); 3];
    events.push(ev("trial_signup", 0.0, &[]));
    score_with_account(m, attrs, &[("employees", employees)], &events)
}

#[test]
fn starter_segments_have_their_own_tiers_and_rules() {
    let m = example("starter.toml");
    let attrs = [
        ("seniority", "VP"),
        ("purchase_authority", "decision_maker"),
        ("employees", "200"),
    ];
    // 35 + 5 + 20 = 60: hot for enterprise (hot ≥ 60) …
    let s = starter_sixty(&m, &attrs, "1000");
    assert_eq!(
        (s.segment.as_str(), s.score, s.tier.as_str()),
        ("enterprise", 60.0, "hot")
    );
    // fit 35 → A, engagement 5 + 20 = 25 → 2.
    assert_eq!(s.grade.as_deref(), Some("A2"));
    assert_eq!(s.priority.as_deref(), Some("call this week"));
    assert_eq!(
        s.sales_ready,
        vec!["tier hot".to_owned(), "grade A2".to_owned()]
    );
    assert_eq!(s.status, Status::Qualified);
    // … but only warm in the default segment (hot ≥ 70).
    let s = starter_sixty(&m, &attrs, "999");
    assert_eq!(
        (s.segment.as_str(), s.score, s.tier.as_str()),
        ("default", 60.0, "warm")
    );
    assert_eq!(s.sales_ready, vec!["grade A2".to_owned()]);

    // smb (under 50): the `size` rule is excluded and `founder` added: 15 + 15 + 10 = 40 → 35.
    let mut ceo = attrs.to_vec();
    ceo.push(("role", "ceo"));
    let s = starter_sixty(&m, &ceo, "49");
    assert_eq!(s.segment, "smb");
    assert_eq!(points(&s, "size"), None);
    assert_eq!(points(&s, "founder"), Some(10.0));
    assert_eq!((s.score, s.tier.as_str()), (60.0, "warm"));
    // Without the founder rule: 15 + 15 = 30 → 35 × 30/40 = 26.25; 26.25 + 5 + 20 = 51.25;
    // fit 26.25 → B, engagement 25 → 2: B2 is not sales-ready.
    let s = starter_sixty(&m, &attrs, "49");
    assert_eq!(
        (s.segment.as_str(), s.score, s.tier.as_str()),
        ("smb", 51.25, "warm")
    );
    assert_eq!(s.grade.as_deref(), Some("B2"));
    assert_eq!(s.status, Status::Pool);
    // The founder rule is the smb segment's own: a CEO in the default segment gets nothing for it.
    let s = starter_sixty(&m, &ceo, "200");
    assert_eq!(
        (s.segment.as_str(), points(&s, "founder")),
        ("default", None)
    );
}

#[test]
fn starter_disqualification_wins_over_points() {
    let m = example("starter.toml");
    let mut attrs = EXEC.to_vec();
    attrs.push(("role", "Student"));
    let s = starter_sixty(&m, &attrs, "1000");
    assert_eq!((s.score, s.tier.as_str()), (60.0, "hot"));
    assert_eq!(s.status, Status::Disqualified);
    assert_eq!(s.disqualified_by.len(), 1);
    assert_eq!(
        (
            s.disqualified_by[0].rule.as_str(),
            s.disqualified_by[0].reason.as_str()
        ),
        ("not-a-buyer", "Student or unemployed")
    );
    // `do_not_contact` is a boolean: "yes" is true. Both rules fire, in model order.
    attrs.push(("do_not_contact", "yes"));
    let s = starter_sixty(&m, &attrs, "1000");
    let by: Vec<&str> = s.disqualified_by.iter().map(|d| d.rule.as_str()).collect();
    assert_eq!(by, vec!["not-a-buyer", "do-not-contact"]);
    // "no" is false.
    let s = starter_sixty(&m, &[("do_not_contact", "no")], "1000");
    assert!(s.disqualified_by.is_empty());
}

#[test]
fn starter_named_analytics_score() {
    let m = example("starter.toml");
    let views = |n: usize, url: &str| vec![ev("page_view", 0.0, &[("url", url)]); n];
    // 3 views × 5 = 15 of 20 → 75; the category weighs 0, so the main score stays 0.
    let s = score(&m, &[], &views(3, "/Product/Analytics/funnels"));
    assert_eq!(points(&s, "analytics-pages"), Some(15.0));
    assert_eq!(s.categories[3].points, 0.0);
    let a = &s.scores[0];
    assert_eq!(
        (a.id.as_str(), a.score, a.tier.as_deref()),
        ("analytics", 75.0, Some("interested"))
    );
    // 2 views: 10 of 20 = 50, exactly the `interested` floor; 1 view: 25 → not yet.
    assert_eq!(
        score(&m, &[], &views(2, "/product/analytics")).scores[0].score,
        50.0
    );
    let s = score(&m, &[], &views(1, "/product/analytics"));
    assert_eq!(
        (s.scores[0].score, s.scores[0].tier.as_deref()),
        (25.0, Some("not yet"))
    );
    // 5 views: 25, at most 20 → 100.
    assert_eq!(
        score(&m, &[], &views(5, "/product/analytics")).scores[0].score,
        100.0
    );
    // `contains`: full URLs count too: 3 × 5 = 15 → 15/20 = 75.
    assert_eq!(
        score(&m, &[], &views(3, "https://acme.io/product/analytics")).scores[0].score,
        75.0
    );
}

#[test]
fn starter_account_roll_up_is_the_mean_of_the_best_three() {
    let m = example("starter.toml");
    let attrs = [
        ("seniority", "VP"),
        ("purchase_authority", "decision_maker"),
        ("employees", "200"),
    ];
    let scores = [
        starter_sixty(&m, &attrs, "999").score, // 60
        score(&m, &EXEC, &[]).score,            // 29.44
        score(&m, &[("seniority", "vp")], &[ev("email_open", 0.0, &[])]).score, // see below
        0.0,
    ];
    // fit 15 → 35 × 15/40 = 13.125 → 13.13; one open 3 → 25 × 3/45 = 1.6667 → 1.67 → 14.8.
    assert_eq!(scores[2], 14.8);
    let acct = leadscore_core::roll_up(&m, &scores).unwrap();
    // (60 + 29.44 + 14.8) / 3 = 34.7466… → 34.75; below 50 → watch.
    assert_eq!(acct.score, 34.75);
    assert_eq!(acct.contacts, 4);
    assert_eq!(acct.tier.as_deref(), Some("watch"));
    let acct = leadscore_core::roll_up(&m, &[60.0, 40.0, 50.0, 90.0]).unwrap();
    // best three 90, 60, 50 → 66.67: target.
    assert_eq!((acct.score, acct.tier.as_deref()), (66.67, Some("target")));
    assert_eq!(leadscore_core::roll_up(&m, &[]), None);
}

#[test]
fn starter_routes_the_top_ten_percent_of_each_segment() {
    let m = example("starter.toml");
    let mut leads = Vec::new();
    // Ten default-segment leads: k opens today, with or without a webinar. Engagement raw 3k or
    // 3k + 10, points 25 × raw/45: 1.67, 3.33, 5, 6.67, 8.33, 7.22, 8.89, 10.56, 12.22, 13.89.
    for webinar in [false, true] {
        for k in 1..=5 {
            let mut events = vec![ev("email_open", 0.0, &[]); k];
            if webinar {
                events.push(ev("webinar_attended", 0.0, &[]));
            }
            leads.push(score(&m, &[], &events));
        }
    }
    let expected = [1.67, 3.33, 5.0, 6.67, 8.33, 7.22, 8.89, 10.56, 12.22, 13.89];
    let got: Vec<f64> = leads.iter().map(|s| s.score).collect();
    assert_eq!(got, expected);
    // A disqualified lead with the best score of all is not ranked …
    let mut student_events = vec![ev("email_open", 0.0, &[]); 5];
    student_events.push(ev("trial_signup", 0.0, &[]));
    let mut student = score(&m, &[("role", "student")], &student_events);
    // engagement 15 → 25 × 15/45 = 8.33; intent 25 → 40 × 25/50 = 20.
    assert_eq!(student.score, 28.33);
    // … and one enterprise lead is ranked in its own segment, alone.
    let mut big = score_with_account(&m, &[], &[("employees", "5000")], &[]);
    // Gone quiet: -5.56, clamped to 0.
    assert_eq!((big.segment.as_str(), big.score), ("enterprise", 0.0));

    let mut ranking = leadscore_core::Ranking::new(&m);
    for s in leads.iter().chain([&student, &big]) {
        ranking.add(s);
    }
    ranking.finish();
    for s in leads.iter_mut().chain([&mut student, &mut big]) {
        ranking.apply(&m, s);
    }
    // Only the best of ten: nobody scores higher (0% < 10%); the second has 1 of 10 above it.
    let routed: Vec<f64> = leads
        .iter()
        .filter(|s| s.status == Status::Qualified)
        .map(|s| s.score)
        .collect();
    assert_eq!(routed, vec![13.89]);
    assert_eq!(leads[9].sales_ready, vec!["top 10%".to_owned()]);
    let pct: Vec<f64> = leads.iter().map(|s| s.percentile.unwrap()).collect();
    // The share of the segment scoring lower.
    assert_eq!(
        pct,
        vec![0.0, 10.0, 20.0, 30.0, 50.0, 40.0, 60.0, 70.0, 80.0, 90.0]
    );
    assert_eq!(
        (student.status, student.percentile),
        (Status::Disqualified, None)
    );
    assert!(student.sales_ready.is_empty());
    assert_eq!((big.status, big.percentile), (Status::Qualified, Some(0.0)));
    assert_eq!(big.sales_ready, vec!["top 10%".to_owned()]);
}
