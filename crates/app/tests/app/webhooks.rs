//! Webhooks end to end: real ingests through the writer, the outbox in SQLite, the delivery
//! worker posting to a real HTTP receiver.

use crate::common::*;
use leadscore_app::Clock;
use leadscore_app::hooks::{sign, verify};
use serde_json::json;
use std::time::Duration;

/// `(old score, new score)` of every item in the outbox, oldest first.
async fn crossings(app: &TestApp) -> Vec<(Option<f64>, f64)> {
    app.outbox()
        .await
        .iter()
        .map(|i| {
            let p: serde_json::Value = serde_json::from_str(&i.payload).expect("JSON payload");
            (
                p["old"]["score"].as_f64(),
                p["new"]["score"].as_f64().expect("new score"),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tier_change_delivers_one_signed_post_and_a_move_within_the_tier_none() {
    let app = spawn_app().await;
    let rx = Receiver::start().await;
    let (hook, secret) = app
        .subscribe(&rx.url(), json!([{ "type": "tier_changed" }]))
        .await;

    // A new contact is not a tier change.
    app.set("alice", 10, "cto").await;
    assert!(app.outbox().await.is_empty());

    app.set("alice", 25, "cto").await;
    let items = app.outbox().await;
    assert_eq!(items.len(), 1);
    assert!(
        wait_until(async || rx.count() == 1, PATIENCE).await,
        "one delivery"
    );
    let got = &rx.received()[0];
    assert_eq!(got.header("content-type"), "application/json");
    assert_eq!(got.header("leadscore-event"), "tier_changed");
    assert_eq!(got.header("idempotency-key"), items[0].idem_key);
    let now = app.clock.now_ms() / 1000;
    let sig = got.header("leadscore-signature");
    assert!(verify(&secret, sig, &got.body, now, 300), "signature {sig}");
    assert!(!verify("whsec_other", sig, &got.body, now, 300));
    assert!(!verify(&secret, sig, b"{}", now, 300));
    assert!(!verify(&secret, sig, &got.body, now + 3600, 300), "too old");

    let p = got.json();
    assert_eq!(p["id"], json!(items[0].idem_key));
    assert_eq!(p["type"], json!("tier_changed"));
    assert_eq!(p["workspace"], json!("acme"));
    assert_eq!(p["cause"], json!("identify"));
    assert_eq!(p["lead"]["id"], json!("alice"));
    assert_eq!(p["lead"]["score"], json!(25.0));
    assert_eq!(p["lead"]["tier"], json!("warm"));
    assert_eq!(
        p["old"],
        json!({ "score": 10.0, "tier": "cold", "status": "pool" })
    );
    assert_eq!(
        p["new"],
        json!({ "score": 25.0, "tier": "warm", "status": "pool" })
    );
    assert!(
        chrono::DateTime::parse_from_rfc3339(p["occurred_at"].as_str().expect("a time")).is_ok()
    );
    assert!(
        items[0]
            .idem_key
            .starts_with(&format!("{hook}:tier_changed:alice:"))
    );

    // 25 → 40 stays warm: nothing is enqueued, so nothing more is delivered.
    app.set("alice", 40, "cto").await;
    assert_eq!(app.outbox().await.len(), 1);
    assert!(
        wait_until(
            async || app.outbox().await[0].state == "delivered",
            PATIENCE
        )
        .await
    );
    assert_eq!(rx.count(), 1);
    let log = app.deliveries().await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].status, Some(200));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sales_ready_hovering_within_the_margin_is_announced_once_and_again_after_the_cooldown() {
    let app = spawn_app().await;
    let rx = Receiver::start().await;
    app.subscribe(
        &rx.url(),
        json!([{ "type": "sales_ready", "margin": 10, "cooldown_hours": 24 }]),
    )
    .await;

    let hours = |h: u64| Duration::from_secs(h * 3600);

    // Enters at 55 (hot = qualified): announced.
    app.set("bob", 55, "cto").await;
    assert_eq!(crossings(&app).await, [(None, 55.0)]);
    // Past the cool-down, it hovers: just below the threshold, 7 below its entry score, it is
    // still in, so coming back above is not an entry.
    app.clock.advance(hours(25));
    app.set("bob", 48, "cto").await;
    app.set("bob", 52, "cto").await;
    assert_eq!(crossings(&app).await.len(), 1, "hovering is not announced");
    // 11 below its entry score and not qualified: out; back, past the cool-down: announced.
    app.set("bob", 44, "cto").await;
    app.set("bob", 56, "cto").await;
    assert_eq!(crossings(&app).await, [(None, 55.0), (Some(44.0), 56.0)]);
    // Out and back within the cool-down: silent.
    app.set("bob", 40, "cto").await;
    app.set("bob", 60, "cto").await;
    assert_eq!(crossings(&app).await.len(), 2, "within the cool-down");
    // Out, and back after the cool-down: announced.
    app.set("bob", 30, "cto").await;
    app.clock.advance(hours(25));
    app.set("bob", 58, "cto").await;
    assert_eq!(
        crossings(&app).await,
        [(None, 55.0), (Some(44.0), 56.0), (Some(30.0), 58.0)]
    );

    assert!(wait_until(async || rx.count() == 3, PATIENCE).await);
    let bodies: Vec<serde_json::Value> = rx.received().iter().map(|r| r.json()).collect();
    assert_eq!(bodies[0]["type"], json!("sales_ready"));
    assert_eq!(bodies[0]["old"], json!(null));
    assert_eq!(
        bodies[0]["new"],
        json!({ "score": 55.0, "tier": "hot", "status": "qualified" })
    );
    assert_eq!(
        bodies[2]["old"],
        json!({ "score": 30.0, "tier": "warm", "status": "pool" })
    );
    assert_eq!(
        bodies[2]["new"],
        json!({ "score": 58.0, "tier": "hot", "status": "qualified" })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lead_qualified_before_the_subscription_is_not_announced_until_it_enters_again() {
    let app = spawn_app().await;
    let rx = Receiver::start().await;
    app.set("ivan", 70, "cto").await;
    app.subscribe(
        &rx.url(),
        json!([{ "type": "sales_ready", "margin": 0, "cooldown_hours": 0 }]),
    )
    .await;
    // Still qualified: it was in the queue before, so this is not an entry.
    app.set("ivan", 75, "cto").await;
    assert!(crossings(&app).await.is_empty());
    // Out (below its score when first seen by the subscription), then in: announced.
    app.set("ivan", 30, "cto").await;
    app.set("ivan", 65, "cto").await;
    assert_eq!(crossings(&app).await, [(Some(30.0), 65.0)]);
    assert!(wait_until(async || rx.count() == 1, PATIENCE).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disqualification_fires_once() {
    let app = spawn_app().await;
    let rx = Receiver::start().await;
    app.subscribe(&rx.url(), json!([{ "type": "disqualified" }]))
        .await;

    app.set("carol", 30, "cto").await;
    app.set("carol", 30, "student").await;
    // Still disqualified, score moves: not again.
    app.set("carol", 35, "student").await;
    let items = app.outbox().await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].kind, "disqualified");
    assert!(wait_until(async || rx.count() == 1, PATIENCE).await);
    let p = rx.received()[0].json();
    assert_eq!(
        p["old"],
        json!({ "score": 30.0, "tier": "warm", "status": "pool" })
    );
    assert_eq!(
        p["new"],
        json!({ "score": 30.0, "tier": "warm", "status": "disqualified" })
    );
    assert_eq!(rx.received()[0].header("leadscore-event"), "disqualified");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn velocity_fires_when_the_score_rises_by_the_percent_within_the_window() {
    let app = spawn_app().await;
    let rx = Receiver::start().await;
    app.subscribe(
        &rx.url(),
        json!([{ "type": "velocity", "percent": 20, "days": 7 }]),
    )
    .await;
    let day = Duration::from_secs(24 * 3600);

    app.set("dave", 10, "cto").await; // no earlier score
    app.clock.advance(day);
    app.set("dave", 11, "cto").await; // +10 % over 10
    assert!(crossings(&app).await.is_empty());
    app.clock.advance(day);
    app.set("dave", 13, "cto").await; // +30 % over 10: fires
    assert_eq!(crossings(&app).await, [(Some(11.0), 13.0)]);
    app.set("dave", 14, "cto").await; // still risen: no second announcement
    app.set("dave", 11, "cto").await; // +10 %: re-armed
    app.set("dave", 12, "cto").await; // exactly +20 %: fires again
    assert_eq!(crossings(&app).await.len(), 2);

    // Ten days on, the score 7 days ago is 12 (the latest change before the window), and
    // the rise announced then has left the window: a new rise is announced even though no
    // change in between saw the old one end.
    app.clock.advance(10 * day);
    app.set("dave", 15, "cto").await; // +25 % over 12
    assert_eq!(crossings(&app).await.len(), 3);
    app.set("dave", 14, "cto").await; // +16.7 % over 12: re-armed
    app.set("dave", 18, "cto").await; // +50 % over 12
    assert_eq!(
        crossings(&app).await,
        [
            (Some(11.0), 13.0),
            (Some(11.0), 12.0),
            (Some(12.0), 15.0),
            (Some(14.0), 18.0)
        ]
    );
    assert!(wait_until(async || rx.count() == 4, PATIENCE).await);
    assert!(
        rx.received()
            .iter()
            .all(|r| r.header("leadscore-event") == "velocity")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_attempts_are_retried_with_backoff_and_the_same_idempotency_key() {
    let app = spawn_app().await;
    let rx = Receiver::start().await;
    rx.fail_next(2);
    app.subscribe(&rx.url(), json!([{ "type": "tier_changed" }]))
        .await;
    app.set("erin", 10, "cto").await;
    app.set("erin", 60, "cto").await;

    assert!(
        wait_until(
            async || app.outbox().await[0].state == "delivered",
            PATIENCE
        )
        .await,
        "delivered in the end"
    );
    let item = &app.outbox().await[0];
    assert_eq!(item.attempts, 3);
    assert_eq!(item.last_status, Some(200));
    let log = app.deliveries().await;
    let statuses: Vec<Option<i64>> = log.iter().map(|d| d.status).collect();
    assert_eq!(statuses, [Some(500), Some(500), Some(200)]);
    assert!(log.iter().all(|d| d.outbox_seq == item.seq));
    // 50 ms after the first failure, 100 ms after the second.
    assert!(log[1].at - log[0].at >= 50, "{log:?}");
    assert!(log[2].at - log[1].at >= 100, "{log:?}");
    let got = rx.received();
    assert_eq!(got.len(), 3);
    assert!(
        got.iter()
            .all(|r| r.header("idempotency-key") == item.idem_key)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_is_dead_after_max_attempts() {
    let mut hooks = fast_hooks();
    hooks.max_attempts = 3;
    let app = spawn_app_with(hooks).await;
    let rx = Receiver::start().await;
    rx.fail_next(usize::MAX);
    app.subscribe(&rx.url(), json!([{ "type": "tier_changed" }]))
        .await;
    app.set("finn", 10, "cto").await;
    app.set("finn", 60, "cto").await;
    assert!(
        wait_until(async || app.outbox().await[0].state == "dead", PATIENCE).await,
        "given up"
    );
    assert_eq!(app.outbox().await[0].attempts, 3);
    assert_eq!(app.deliveries().await.len(), 3);
    assert_eq!(rx.count(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_whose_webhook_was_deleted_is_dead() {
    let app = spawn_app().await;
    let down = free_addr();
    let (hook, _) = app
        .subscribe(
            &format!("http://{down}/hook"),
            json!([{ "type": "tier_changed" }]),
        )
        .await;
    app.set("gail", 10, "cto").await;
    app.set("gail", 60, "cto").await;
    assert_eq!(app.outbox().await.len(), 1);
    assert!(
        app.svc
            .store()
            .delete_webhook(&app.space.id, &hook)
            .await
            .expect("delete")
    );
    app.svc.reload_webhooks(&app.space).await.expect("reload");
    assert!(
        wait_until(async || app.outbox().await[0].state == "dead", PATIENCE).await,
        "dead"
    );
    let item = &app.outbox().await[0];
    assert_eq!(item.last_error.as_deref(), Some("webhook deleted"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_store_deliver_each_item_once() {
    // Two services (two nodes) on one database, each with its delivery worker, and a slow
    // receiver: the node that enqueued the items is still sending them when the other one
    // looks at the outbox (it does every second). Each item is claimed by one of them.
    let app = spawn_app().await;
    let other = start(app.dir.path(), app.clock.clone(), fast_hooks()).await;
    let rx = Receiver::start().await;
    rx.slow(Duration::from_millis(150));
    app.subscribe(&rx.url(), json!([{ "type": "tier_changed" }]))
        .await;
    const LEADS: usize = 16;
    for i in 0..LEADS {
        app.set(&format!("lead{i}"), 10, "cto").await;
        app.set(&format!("lead{i}"), 60, "cto").await;
    }
    assert_eq!(app.outbox().await.len(), LEADS);
    assert!(
        wait_until(
            async || app.outbox().await.iter().all(|i| i.state == "delivered"),
            Duration::from_secs(30)
        )
        .await,
        "every item delivered"
    );
    // Both workers have polled since (each does at least every second).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut keys: Vec<String> = rx
        .received()
        .iter()
        .map(|r| r.header("idempotency-key").to_owned())
        .collect();
    keys.sort();
    let sent = keys.len();
    keys.dedup();
    assert_eq!((sent, keys.len()), (LEADS, LEADS), "each item sent once");
    let log = app.deliveries().await;
    assert_eq!(log.len(), LEADS, "one attempt recorded per item");
    assert!(app.outbox().await.iter().all(|i| i.attempts == 1));
    drop(other);
}

#[tokio::test]
async fn an_outbox_claim_holds_until_it_lapses_is_recorded_or_is_handed_back() {
    use leadscore_store::hooks::{Delivery, NewOutbox};
    let dir = tempfile::tempdir().expect("temp dir");
    let store = leadscore_store::Store::open_dir(dir.path(), leadscore_store::Durability::Normal)
        .await
        .expect("open the store");
    let mut tx = store.begin().await.expect("begin");
    let items: Vec<NewOutbox> = (0..3)
        .map(|i| NewOutbox {
            webhook_id: "wh".into(),
            idem_key: format!("k{i}"),
            kind: "tier_changed".into(),
            contact_id: format!("c{i}"),
            payload: "{}".into(),
            created_at: 1000 + i,
        })
        .collect();
    tx.enqueue("ws", &items).await.expect("enqueue");
    tx.commit().await.expect("commit");
    let keys = |items: Vec<leadscore_store::hooks::OutboxItem>| -> Vec<String> {
        items.into_iter().map(|i| i.idem_key).collect()
    };
    assert_eq!(store.next_due().await.unwrap(), Some(1000));
    // Two of them, oldest first; then only the third is left to claim; then none.
    let first = store.claim_due_outbox(5000, 9000, 2).await.unwrap();
    assert_eq!(keys(first.clone()), ["k0", "k1"]);
    assert_eq!(first[0].next_at, 1000, "a claim keeps the due time");
    assert_eq!(
        keys(store.claim_due_outbox(5000, 9000, 10).await.unwrap()),
        ["k2"]
    );
    assert!(
        store
            .claim_due_outbox(8999, 9000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.next_due().await.unwrap(), Some(9000));
    // k0 is recorded (delivered), k1 handed back: k1 is claimable at once, k2 when its
    // claim lapses.
    let d = Delivery {
        outbox_seq: first[0].seq,
        webhook_id: "wh".into(),
        at: 5100,
        status: Some(200),
        error: None,
        millis: 3,
    };
    store
        .record_attempt(&first[0], &d, true, None)
        .await
        .unwrap();
    store.release_outbox(&[first[1].seq]).await.unwrap();
    assert_eq!(store.next_due().await.unwrap(), Some(1001));
    assert_eq!(
        keys(store.claim_due_outbox(6000, 20_000, 10).await.unwrap()),
        ["k1"]
    );
    assert_eq!(
        keys(store.claim_due_outbox(9000, 20_000, 10).await.unwrap()),
        ["k2"]
    );
    // A failed attempt clears the claim too: due again at its retry time.
    let k1 = store.outbox("ws", 10).await.unwrap();
    let k1 = k1.iter().find(|i| i.idem_key == "k1").unwrap();
    let failed = Delivery {
        status: Some(500),
        error: Some("HTTP 500".into()),
        outbox_seq: k1.seq,
        ..d
    };
    store
        .record_attempt(k1, &failed, false, Some(7000))
        .await
        .unwrap();
    assert!(
        store
            .claim_due_outbox(6999, 30_000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        keys(store.claim_due_outbox(7000, 30_000, 10).await.unwrap()),
        ["k1"]
    );
}

/// Delivery survives a restart: the item enqueued while the receiver was down is sent by the
/// next process, once. Each process is its own runtime, dropped as a killed process would be.
#[test]
fn a_restart_delivers_a_pending_item_exactly_once() {
    let addr = free_addr();
    let (dir, clock, ws, idem) = runtime().block_on(async {
        let app = spawn_app().await;
        app.subscribe(
            &format!("http://{addr}/hook"),
            json!([{ "type": "tier_changed" }]),
        )
        .await;
        app.set("hana", 10, "cto").await;
        app.set("hana", 60, "cto").await;
        // At least one attempt failed (connection refused) and the item waits.
        assert!(wait_until(async || !app.deliveries().await.is_empty(), PATIENCE).await);
        let log = app.deliveries().await;
        assert_eq!(log[0].status, None);
        assert!(log[0].error.is_some());
        let item = app.outbox().await.remove(0);
        assert_eq!(item.state, "pending");
        let TestApp {
            svc,
            space,
            clock,
            dir,
            ..
        } = app;
        drop(svc);
        (dir, clock, space.id.clone(), item.idem_key)
    });

    runtime().block_on(async {
        let rx = Receiver::start_on(addr).await;
        let svc = start(dir.path(), clock, fast_hooks()).await;
        let store = svc.store().clone();
        let delivered = async || {
            store
                .outbox(&ws, 10)
                .await
                .expect("outbox")
                .iter()
                .any(|i| i.idem_key == idem && i.state == "delivered")
        };
        assert!(
            wait_until(delivered, PATIENCE).await,
            "delivered after the restart"
        );

        // A second crossing after the first one was delivered: once it has arrived too, the
        // worker has had every chance to send the first again.
        let space = svc.space_named("acme").expect("the workspace");
        let msg = identify(1000, "hana", 10, "cto");
        svc.ingest(&space, vec![msg]).await.expect("ingest");
        assert!(wait_until(async || rx.count() == 2, PATIENCE).await);
        let keys: Vec<String> = rx
            .received()
            .iter()
            .map(|r| r.header("idempotency-key").to_owned())
            .collect();
        assert_eq!(keys.iter().filter(|k| **k == idem).count(), 1, "{keys:?}");
        let log = deliveries(&store, &ws).await;
        assert_eq!(log.iter().filter(|d| d.status == Some(200)).count(), 2);
    });
}

#[test]
fn signatures_are_hmac_sha256_over_time_and_body() {
    // Computed with: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_test
    let header = sign("whsec_test", 1_700_000_000, br#"{"a":1}"#);
    assert_eq!(
        header,
        "t=1700000000,v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789"
    );
    assert!(verify(
        "whsec_test",
        &header,
        br#"{"a":1}"#,
        1_700_000_100,
        300
    ));
    assert!(!verify(
        "whsec_test",
        &header,
        br#"{"a":2}"#,
        1_700_000_100,
        300
    ));
    assert!(!verify(
        "whsec_test",
        "v1=00",
        br#"{"a":1}"#,
        1_700_000_000,
        300
    ));
}
