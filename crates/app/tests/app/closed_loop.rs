//! The closed loop on the store's own pipeline: each contact scored as of just before its first
//! outcome (events after it not counted), the others as of the evaluation's time; the label,
//! deals, revenue and days to conversion per tier, checked against numbers worked out by hand.

use crate::common::{finished_job, spawn_app};
use leadscore_app::closed_loop::LoopOptions;
use leadscore_app::message::{Call, Message};
use leadscore_app::training::Target;
use leadscore_store::Outcome;
use serde_json::json;

const DAY: i64 = 86_400_000;
/// 2026-01-01: every contact's traits are set then.
const T0: i64 = 1_767_225_600_000;

/// Software is worth 10, a demo request 40, each pricing page view 5; hot ≥ 50, warm ≥ 20.
const MODEL: &str = r#"
[model]
name = "loop"
version = "1"
scale = "raw"

[[category]]
id = "fit"

[[category]]
id = "behaviour"

[[rule]]
id = "software"
category = "fit"
points = 10
when = { field = "industry", equals = "software" }

[[rule]]
id = "demo"
category = "behaviour"
points = 40
when = { event = "demo_requested" }

[[rule]]
id = "pricing"
category = "behaviour"
points = 5
per_occurrence = true
when = { event = "pricing_viewed" }

[[tier]]
name = "hot"
min = 50

[[tier]]
name = "warm"
min = 20

[[tier]]
name = "cold"
"#;

fn msg(id: &str, call: Call, user: &str, event: Option<&str>, at: i64) -> Message {
    let mut props = serde_json::Map::new();
    if call == Call::Identify {
        let industry = if matches!(user, "a" | "b" | "c") {
            "software"
        } else {
            "retail"
        };
        props.insert("industry".into(), industry.into());
    }
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

fn outcome(id: &str, contact: &str, kind: &str, day: i64, amount: Option<f64>) -> Outcome {
    Outcome {
        message_id: id.to_owned(),
        contact_id: contact.to_owned(),
        kind: kind.to_owned(),
        stage: None,
        amount,
        reason: None,
        at: T0 + day * DAY,
        received_at: T0 + day * DAY,
    }
}

/// The options, with only contacts first seen in the first 30 days (not `f`).
fn opts(
    version: Option<i64>,
    target: Target,
    as_of: Option<i64>,
    against: Option<i64>,
) -> LoopOptions {
    LoopOptions {
        version,
        against,
        target,
        as_of,
        created_before: Some(T0 + 30 * DAY),
    }
}

#[tokio::test]
async fn each_contact_is_scored_as_of_just_before_its_first_outcome() {
    let app = spawn_app().await;
    let (svc, space) = (&app.svc, &app.space);
    let v = svc
        .upload_model(space, MODEL, "test", "closed loop")
        .await
        .expect("upload")
        .version;
    let job = svc.activate(space, v, "test", "").await.expect("activate");
    finished_job(svc, &space.id, job.id).await;

    let day = |d: i64| T0 + d * DAY;
    let track =
        |id: &str, user: &str, event: &str, d: i64| msg(id, Call::Track, user, Some(event), day(d));
    let mut messages: Vec<Message> = ["a", "b", "c", "d", "e"]
        .iter()
        .map(|u| msg(&format!("i-{u}"), Call::Identify, u, None, T0))
        .collect();
    messages.extend([
        // a: software + demo = 50 (hot) before its win on day 10; three pricing views after.
        track("a1", "a", "demo_requested", 2),
        track("a2", "a", "pricing_viewed", 11),
        track("a3", "a", "pricing_viewed", 12),
        track("a4", "a", "pricing_viewed", 13),
        // b: software + 2 pricing = 20 (warm) before it is lost on day 10; a demo after.
        track("b1", "b", "pricing_viewed", 3),
        track("b2", "b", "pricing_viewed", 4),
        track("b3", "b", "demo_requested", 11),
        // c: software + 1 pricing + 1 pricing seen before it signed in (anonymous, linked by
        // its identify below) = 20 (warm); no outcome.
        track("c1", "c", "pricing_viewed", 5),
        Message {
            user_id: None,
            anonymous_id: Some("anon-c".into()),
            ..track("c0", "c", "pricing_viewed", 1)
        },
        Message {
            anonymous_id: Some("anon-c".into()),
            ..msg("c-link", Call::Identify, "c", None, day(3))
        },
        // d: retail, demo = 40 (warm) before its opportunity on day 5, won on day 20; pricing
        // views between (after the cut-off).
        track("d1", "d", "demo_requested", 1),
        track("d2", "d", "pricing_viewed", 6),
        track("d3", "d", "pricing_viewed", 7),
        // e: retail, nothing: 0 (cold); no outcome.
        // f: first seen on day 60 (retail, 0, cold; no outcome): too recent to have had the
        // time to convert, left out unless asked for.
        msg("i-f", Call::Identify, "f", None, day(60)),
    ]);
    svc.ingest(space, messages).await.expect("ingest");
    svc.record_outcomes(
        space,
        &[
            outcome("o-a", "a", "won", 10, Some(1000.0)),
            outcome("o-b", "b", "lost", 10, Some(9999.0)),
            outcome("o-d1", "d", "opportunity_created", 5, None),
            outcome("o-d2", "d", "won", 20, Some(500.0)),
            // After the evaluation's time: not counted.
            outcome("o-c", "c", "won", 200, Some(7.0)),
        ],
    )
    .await
    .expect("outcomes");

    let as_of = Some(day(100));
    let e = svc
        .closed_loop(space, &opts(None, Target::Won, as_of, None))
        .await
        .expect("evaluation");
    let r = &e.reports[0];
    assert_eq!((r.rows, r.converted), (5, 2));
    // Won a (50) and d (40) above b (20), c (20) and e (0): every pair in order. With the
    // events after each cut-off counted, b (60) would outrank d.
    assert_eq!(r.roc_auc, Some(1.0));
    let tiers: Vec<_> = r
        .tiers
        .iter()
        .map(|t| {
            (
                t.name.as_str(),
                t.count,
                t.converted,
                t.deals.map(|d| (d.won, d.lost)),
                t.revenue.map(|x| x.total),
            )
        })
        .collect();
    assert_eq!(
        tiers,
        [
            ("hot", 1, 1, Some((1, 0)), Some(1000.0)),
            ("warm", 3, 1, Some((1, 1)), Some(500.0)),
            ("cold", 1, 0, Some((0, 0)), Some(0.0)),
        ]
    );
    assert_eq!(r.revenue, Some(1500.0));
    let deals = r.deals.expect("deals");
    assert_eq!(
        (deals.won, deals.lost, deals.win_rate),
        (2, 1, Some(2.0 / 3.0))
    );
    // Days from the first message (day 0) to the win: a 10, d 20; the warm tier's median is
    // d's alone.
    assert_eq!(r.tiers[0].median_days_to_convert, Some(10.0));
    assert_eq!(r.tiers[1].median_days_to_convert, Some(20.0));
    assert!(e.data.contains("5 contacts, label `won`"), "{}", e.data);
    assert!(e.model.starts_with("loop@1 (version 2,"), "{}", e.model);

    // `converted`: d converts at its opportunity (day 5).
    let e = svc
        .closed_loop(space, &opts(None, Target::Converted, as_of, None))
        .await
        .expect("evaluation");
    assert_eq!(e.reports[0].tiers[1].median_days_to_convert, Some(5.0));
    // As JSON, the report a client reads.
    let j = serde_json::to_value(&e).unwrap();
    assert_eq!(
        j["reports"][0]["tiers"][0]["revenue"]["share"],
        json!(1000.0 / 1500.0)
    );

    // Version 1 (the test service's first model) scores every lead 0 here: AUC one half.
    let e = svc
        .closed_loop(space, &opts(Some(1), Target::Won, as_of, None))
        .await
        .expect("evaluation");
    assert_eq!(e.reports[0].roc_auc, Some(0.5));
    // Version 2 against version 1 on the same contacts: 1.0 against 0.5.
    let e = svc
        .closed_loop(space, &opts(Some(v), Target::Won, as_of, Some(1)))
        .await
        .expect("evaluation");
    let x = e.against.as_ref().expect("against");
    assert!(x.model.starts_with("bits@1 (version 1,"), "{}", x.model);
    assert_eq!(x.roc_auc, Some(0.5));
    assert_eq!(e.reports[0].roc_auc, Some(1.0));
    // Paired DeLong: every lead ties under version 1 (placements ½) and is placed perfectly
    // under version 2 (placements 1), so each lead's difference is exactly ½: no spread.
    let d = x.difference.expect("a difference");
    assert_eq!((d.difference, d.std_error, d.p_value), (0.5, 0.0, 0.0));
    let err = svc
        .closed_loop(space, &opts(None, Target::Won, as_of, Some(9)))
        .await;
    assert!(
        matches!(err, Err(leadscore_app::AppError::NotFound(_))),
        "{err:?}"
    );
    // With the recent contact f: six contacts, f in the cold tier.
    let e = svc
        .closed_loop(
            space,
            &LoopOptions {
                created_before: None,
                ..opts(None, Target::Won, as_of, None)
            },
        )
        .await
        .expect("evaluation");
    assert_eq!((e.reports[0].rows, e.reports[0].tiers[2].count), (6, 2));
    // An unknown version, and a time before any outcome.
    let err = svc
        .closed_loop(space, &opts(Some(9), Target::Won, as_of, None))
        .await;
    assert!(
        matches!(err, Err(leadscore_app::AppError::NotFound(_))),
        "{err:?}"
    );
    let err = svc
        .closed_loop(space, &opts(None, Target::Won, Some(day(1)), None))
        .await;
    match err {
        Err(leadscore_app::AppError::Conflict(m)) => {
            assert!(m.contains("0 of the 5 contacts"), "{m}")
        }
        other => panic!("{other:?}"),
    }
}
