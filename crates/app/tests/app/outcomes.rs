//! Outcomes (SPEC D4) and the training table built from the store: exact event counts per
//! 7/30/90-day window and days since the last event, before each contact's cut-off (a
//! positive's first positive outcome, else `as_of`), account traits, the label for `won` and
//! `converted`, Segment `Deal Won` tracks recorded as outcomes, duplicates stored once.

use crate::common::spawn_app;
use leadscore_app::message::{Call, Message};
use leadscore_app::training::Target;
use leadscore_store::Outcome;
use serde_json::json;

const DAY: i64 = 86_400_000;
/// 2026-01-01T00:00:00Z, the `as_of` of the table.
const T: i64 = 1_767_225_600_000;

fn msg(
    id: &str,
    call: Call,
    user: &str,
    event: Option<&str>,
    at: i64,
    props: serde_json::Value,
) -> Message {
    let serde_json::Value::Object(props) = props else {
        panic!("props must be an object")
    };
    Message {
        call,
        message_id: id.to_owned(),
        user_id: Some(user.to_owned()),
        anonymous_id: None,
        group_id: None,
        event: event.map(str::to_owned),
        timestamp: Some(at),
        props,
    }
}

fn track(id: &str, user: &str, event: &str, at: i64) -> Message {
    msg(id, Call::Track, user, Some(event), at, json!({}))
}

fn outcome(id: &str, contact: &str, kind: &str, at: i64) -> Outcome {
    Outcome {
        message_id: id.to_owned(),
        contact_id: contact.to_owned(),
        kind: kind.to_owned(),
        stage: None,
        amount: None,
        reason: None,
        at,
        received_at: at,
    }
}

#[tokio::test]
async fn the_training_table_counts_events_per_window_before_each_cut_off() {
    let app = spawn_app().await;
    let (svc, space) = (&app.svc, &app.space);
    let mut group = msg(
        "g1",
        Call::Group,
        "c1",
        None,
        T - 200 * DAY,
        json!({ "industry": "software" }),
    );
    group.group_id = Some("acme".into());
    let messages = vec![
        msg(
            "i1",
            Call::Identify,
            "c1",
            None,
            T - 200 * DAY,
            json!({ "plan": "pro", "employees": 50 }),
        ),
        group,
        // c1 (no outcome; cut-off = as_of): page_view 1, 5, 20, 60, 100 days before, one a
        // day after (not counted); demo 40 days before.
        track("e1", "c1", "page_view", T - DAY),
        track("e2", "c1", "page_view", T - 5 * DAY),
        track("e3", "c1", "page_view", T - 20 * DAY),
        track("e4", "c1", "page_view", T - 60 * DAY),
        track("e5", "c1", "page_view", T - 100 * DAY),
        track("e6", "c1", "page_view", T + DAY),
        track("e7", "c1", "demo", T - 40 * DAY),
        // c2 (won at W = T − 10 days, through the API): page_view 2 and 8 days before W, one
        // a day after W (not counted: after the cut-off); demo exactly 30 days before W.
        track("e8", "c2", "page_view", T - 12 * DAY),
        track("e9", "c2", "page_view", T - 18 * DAY),
        track("e10", "c2", "page_view", T - 9 * DAY),
        track("e11", "c2", "demo", T - 40 * DAY),
        // c3 (won by a Segment `Deal Won` track 3 days before T): a page_view 4 days before
        // (1 day before the cut-off), one 2 days before T (after the cut-off).
        track("e12", "c3", "page_view", T - 4 * DAY),
        track("e13", "c3", "page_view", T - 2 * DAY),
        msg(
            "e14",
            Call::Track,
            "c3",
            Some("Deal Won"),
            T - 3 * DAY,
            json!({ "amount": 5000, "stage": "closed", "reason": "budget approved" }),
        ),
        // c4: an opportunity 6 days before T and later lost; c5 won only after as_of.
        track("e15", "c4", "page_view", T - 7 * DAY),
        track("e16", "c5", "page_view", T - DAY),
    ];
    let r = svc.ingest(space, messages.clone()).await.expect("ingest");
    assert_eq!((r.accepted, r.duplicates), (18, 0));
    // The same messages again: nothing stored twice, no outcome twice.
    let r = svc.ingest(space, messages).await.expect("ingest again");
    assert_eq!((r.accepted, r.duplicates), (0, 18));

    let outcomes = [
        outcome("o1", "c2", "won", T - 10 * DAY),
        outcome("o2", "c4", "opportunity_created", T - 6 * DAY),
        outcome("o3", "c4", "lost", T - 2 * DAY),
        outcome("o4", "c5", "won", T + 5 * DAY),
        outcome("o1", "c2", "won", T - 10 * DAY),
    ];
    let r = svc.record_outcomes(space, &outcomes).await.expect("record");
    assert_eq!((r.accepted, r.duplicates), (4, 1));
    let r = svc
        .record_outcomes(space, &outcomes[..1])
        .await
        .expect("again");
    assert_eq!((r.accepted, r.duplicates), (0, 1));

    // The Deal Won track became an outcome with its properties; the message stays in the log.
    let c3 = svc.outcomes(space, "c3").await.expect("outcomes of c3");
    assert_eq!(
        c3,
        vec![Outcome {
            message_id: "e14".into(),
            contact_id: "c3".into(),
            kind: "won".into(),
            stage: Some("closed".into()),
            amount: Some(5000.0),
            reason: Some("budget approved".into()),
            at: T - 3 * DAY,
            received_at: c3[0].received_at,
        }]
    );
    let lead = svc.lead(space, "c3", None).await.expect("lead c3");
    assert_eq!(lead.outcomes, c3);
    assert!(lead.recent.iter().any(|e| e.event.message_id == "e14"));

    let t = svc
        .training_table(space, T, Target::Won)
        .await
        .expect("the table");
    assert_eq!(
        t.columns,
        [
            "id",
            "employees",
            "plan",
            "account.industry",
            "demo_7d",
            "demo_30d",
            "demo_90d",
            "demo_days_since",
            "page_view_7d",
            "page_view_30d",
            "page_view_90d",
            "page_view_days_since",
            "label",
        ]
    );
    let row = |id: &str| -> Vec<&str> {
        t.rows
            .iter()
            .find(|r| r[0] == id)
            .unwrap_or_else(|| panic!("row {id}"))
            .iter()
            .map(String::as_str)
            .collect()
    };
    // id, employees, plan, account.industry, demo ×4, page_view ×4, label
    assert_eq!(
        row("c1"),
        [
            "c1", "50", "pro", "software", "0", "0", "1", "40", "2", "3", "4", "1", "0"
        ]
    );
    assert_eq!(
        row("c2"),
        [
            "c2", "", "", "", "0", "1", "1", "30", "1", "2", "2", "2", "1"
        ]
    );
    assert_eq!(
        row("c3"),
        ["c3", "", "", "", "0", "0", "0", "", "1", "1", "1", "1", "1"]
    );
    assert_eq!(
        row("c4"),
        ["c4", "", "", "", "0", "0", "0", "", "1", "1", "1", "7", "0"]
    );
    // c5's win comes after as_of: not known yet.
    assert_eq!(
        row("c5"),
        ["c5", "", "", "", "0", "0", "0", "", "1", "1", "1", "1", "0"]
    );
    assert_eq!((t.rows.len(), t.positives()), (5, 2));

    // `converted` also counts c4's opportunity, and cuts c4 off at it (6 days before T): its
    // page_view 7 days before T is 1 day before the cut-off.
    let t = svc
        .training_table(space, T, Target::Converted)
        .await
        .expect("the table");
    assert_eq!(t.value("c4", "label"), Some("1"));
    assert_eq!(t.value("c4", "page_view_days_since"), Some("1"));
    assert_eq!(t.value("c1", "label"), Some("0"));
    assert_eq!(t.positives(), 3);

    // The CSV a person inspects: the header, then one line per contact in id order.
    let csv = String::from_utf8(t.to_csv()).expect("UTF-8");
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(
            "id,employees,plan,account.industry,demo_7d,demo_30d,demo_90d,demo_days_since,\
             page_view_7d,page_view_30d,page_view_90d,page_view_days_since,label"
        )
    );
    assert_eq!(lines.next(), Some("c1,50,pro,software,0,0,1,40,2,3,4,1,0"));
    assert_eq!(csv.lines().count(), 6);
}

#[tokio::test]
async fn outcomes_from_json_name_the_index_and_field_of_the_first_problem() {
    let now = T;
    let ok = leadscore_app::outcome::parse(
        &json!({ "outcomes": [
            { "contact_id": "c1", "kind": "won", "amount": 12.5, "id": "x1",
              "timestamp": "2025-12-31T00:00:00Z" },
            { "contact_id": "c2", "kind": "stage_changed", "stage": "demo" },
        ]}),
        now,
    )
    .expect("valid");
    assert_eq!(ok[0].at, T - DAY);
    assert_eq!(ok[0].amount, Some(12.5));
    assert_eq!((ok[1].at, ok[1].stage.as_deref()), (now, Some("demo")));
    let err = |body: serde_json::Value| match leadscore_app::outcome::parse(&body, now) {
        Err(leadscore_app::AppError::Invalid { index, field, .. }) => (index, field),
        other => panic!("expected an invalid outcome, got {other:?}"),
    };
    assert_eq!(
        err(
            json!({ "outcomes": [{ "contact_id": "c1", "kind": "won" }, { "contact_id": "c2", "kind": "maybe" }] })
        ),
        (1, "kind".into())
    );
    assert_eq!(
        err(json!({ "outcomes": [{ "kind": "won" }] })),
        (0, "contact_id".into())
    );
    assert_eq!(
        err(json!({ "outcomes": [{ "contact_id": "c1", "kind": "won", "amount": "lots" }] })),
        (0, "amount".into())
    );
    assert_eq!(
        err(json!({ "outcomes": [{ "contact_id": "c1", "kind": "won", "timestamp": "soon" }] })),
        (0, "timestamp".into())
    );
}
