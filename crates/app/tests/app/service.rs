//! The service's use cases with a movable clock: decay through the periodic re-score,
//! reproducible scores as of a past time across a model change, anonymous merges, account
//! traits re-scoring their contacts, top-N% routing from the last full re-score, and workspace
//! isolation.

use crate::common::{TestClock, fast_hooks, runtime, start, wait_until};
use leadscore_app::message::{Call, Message};
use leadscore_app::{Clock, Service, Settings};
use leadscore_store::{Durability, KeyKind, Store};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

const DAY_MS: i64 = 86_400_000;

/// `demo_requested` is worth 40 points halving every 10 days; each `page_view` 10 points, no decay;
/// 20 points for an account with 100+ employees. Tiers: hot from 30.
const DECAY: &str = r#"
[model]
name = "decay"
version = "1"
scale = "raw"

[fields]
"account.employees" = "number"

[[category]]
id = "intent"
decay = { half_life_days = 10 }

[[category]]
id = "fit"

[[rule]]
id = "demo"
category = "intent"
points = 40
when = { event = "demo_requested" }

[[rule]]
id = "pages"
category = "fit"
points = 10
when = { event = "page_view" }
per_occurrence = true

[[rule]]
id = "big"
category = "fit"
points = 20
when = { field = "account.employees", gte = 100 }

[[tier]]
name = "hot"
min = 30

[[tier]]
name = "cold"
"#;

fn msg(id: &str, call: Call, user: Option<&str>, anon: Option<&str>) -> Message {
    Message {
        call,
        message_id: id.to_owned(),
        user_id: user.map(str::to_owned),
        anonymous_id: anon.map(str::to_owned),
        group_id: None,
        event: match call {
            Call::Page => Some("page_view".into()),
            _ => None,
        },
        timestamp: None,
        props: serde_json::Map::new(),
    }
}

fn track(id: &str, user: &str, event: &str, at_ms: i64) -> Message {
    Message {
        event: Some(event.into()),
        timestamp: Some(at_ms),
        ..msg(id, Call::Track, Some(user), None)
    }
}

/// A service on the store in `dir` re-scoring `every` (a node: several may share the store).
async fn node(dir: &std::path::Path, clock: Arc<TestClock>, every: Option<Duration>) -> Service {
    let store = Store::open_dir(dir, Durability::Normal)
        .await
        .expect("store");
    Service::start(
        store,
        clock,
        Settings {
            rescore_every: every,
            hooks: fast_hooks(),
            ..Settings::default()
        },
    )
    .await
    .expect("start")
}

async fn app(
    model: &str,
    every: Option<Duration>,
) -> (
    Service,
    Arc<leadscore_app::Space>,
    Arc<TestClock>,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().expect("temp dir");
    let clock = Arc::new(TestClock::default());
    let svc = node(dir.path(), clock.clone(), every).await;
    let (space, _, _) = svc
        .create_workspace("acme", model)
        .await
        .expect("workspace");
    (svc, space, clock, dir)
}

async fn job_done(svc: &Service, ws: &str, job: i64) -> bool {
    wait_until(
        async || {
            svc.store()
                .jobs(ws, 10)
                .await
                .unwrap()
                .iter()
                .any(|j| j.id == job && j.state == "done")
        },
        Duration::from_secs(10),
    )
    .await
}

async fn score_of(svc: &Service, ws: &str, id: &str) -> f64 {
    svc.store()
        .contact(ws, id)
        .await
        .expect("read")
        .unwrap_or_else(|| panic!("{id} exists"))
        .score
        .score
}

#[tokio::test]
async fn the_periodic_rescore_applies_decay_and_records_it_in_history() {
    let (svc, space, clock, _dir) = app(DECAY, Some(Duration::from_millis(150))).await;
    let now = clock.now_ms();
    svc.ingest(&space, vec![track("m1", "u1", "demo_requested", now)])
        .await
        .expect("ingest");
    assert_eq!(score_of(&svc, &space.id, "u1").await, 40.0);
    // Ten days later (one half-life) the scheduler re-scores: 40 → 20, and the lead leaves hot.
    clock.advance(Duration::from_millis(10 * DAY_MS as u64));
    assert!(
        wait_until(
            async || score_of(&svc, &space.id, "u1").await == 20.0,
            Duration::from_secs(10)
        )
        .await,
        "the scheduler re-scored"
    );
    let c = svc.store().contact(&space.id, "u1").await.unwrap().unwrap();
    assert_eq!(c.score.tier, "cold");
    let h = svc.store().history(&space.id, "u1", 10).await.unwrap();
    assert_eq!(h[0].cause, "schedule");
    assert_eq!((h[0].old_score, h[0].new_score), (Some(40.0), 20.0));
    assert_eq!(h[0].old_tier.as_deref(), Some("hot"));
    // The job is marked done after the scores it wrote are committed (and after the drift
    // baseline check that ends a full re-score), so it may trail the score by a moment.
    assert!(
        wait_until(
            async || {
                let jobs = svc.store().jobs(&space.id, 10).await.unwrap();
                jobs.iter()
                    .any(|j| j.cause == "schedule" && j.state == "done" && j.done == 1)
            },
            Duration::from_secs(10)
        )
        .await,
        "the scheduled re-score job is done, with one contact"
    );
}

#[tokio::test]
async fn as_of_recomputes_the_past_with_the_model_active_then() {
    let (svc, space, clock, _dir) = app(DECAY, None).await;
    let t0 = clock.now_ms();
    svc.ingest(&space, vec![msg("p1", Call::Page, Some("u1"), None)])
        .await
        .expect("ingest");
    let t1 = clock.now_ms().div_euclid(1000);
    clock.advance(Duration::from_secs(5));
    svc.ingest(&space, vec![msg("p2", Call::Page, Some("u1"), None)])
        .await
        .expect("ingest");
    assert_eq!(score_of(&svc, &space.id, "u1").await, 20.0);
    // As of t1 only the first page view had been received.
    let then = svc.lead(&space, "u1", Some(t1)).await.expect("lead");
    assert_eq!(then.scored.score, 10.0);
    assert_eq!(then.model_version, 1);
    // A new model doubles page points; activation re-scores in the background.
    clock.advance(Duration::from_secs(5));
    let v2 = DECAY
        .replace("points = 10", "points = 20")
        .replace("version = \"1\"", "version = \"2\"");
    let rec = svc
        .upload_model(&space, &v2, "test", "double pages")
        .await
        .expect("upload");
    assert_eq!(rec.version, 2);
    let job = svc
        .activate(&space, 2, "test", "double pages")
        .await
        .expect("activate");
    assert!(
        job_done(&svc, &space.id, job.id).await,
        "activation re-score"
    );
    assert_eq!(score_of(&svc, &space.id, "u1").await, 40.0);
    // The past keeps its model: as of t1, version 1 and 10 points; now, version 2.
    let then = svc.lead(&space, "u1", Some(t1)).await.expect("lead");
    assert_eq!((then.scored.score, then.model_version), (10.0, 1));
    let now = svc.lead(&space, "u1", None).await.expect("lead");
    assert_eq!((now.scored.score, now.model_version), (40.0, 2));
    assert_eq!(now.record.as_ref().unwrap().score.score, now.scored.score);
    // Before anything was received there is no score to give.
    let before = svc.lead(&space, "u1", Some(t0.div_euclid(1000) - 60)).await;
    assert!(before.is_err(), "nothing was received then: {before:?}");
    // Rolling back restores version 1's scores.
    let job = svc
        .rollback(&space, "test", "too generous")
        .await
        .expect("rollback");
    assert_eq!(space.active().version, 1);
    assert!(job_done(&svc, &space.id, job.id).await, "rollback re-score");
    assert_eq!(score_of(&svc, &space.id, "u1").await, 20.0);
}

#[tokio::test]
async fn anonymous_events_join_the_contact_when_an_identify_links_them() {
    let (svc, space, _clock, _dir) = app(DECAY, None).await;
    // Two page views before the visitor is known, one in the same batch as the identify.
    svc.ingest(&space, vec![msg("a1", Call::Page, None, Some("anon-1"))])
        .await
        .expect("ingest");
    assert_eq!(svc.store().stats(&space.id).await.unwrap().contacts, 0);
    svc.ingest(
        &space,
        vec![
            msg("a2", Call::Page, None, Some("anon-1")),
            msg("i1", Call::Identify, Some("u1"), Some("anon-1")),
        ],
    )
    .await
    .expect("ingest");
    assert_eq!(score_of(&svc, &space.id, "u1").await, 20.0);
    // After the link, anonymous events count at once.
    svc.ingest(&space, vec![msg("a3", Call::Page, None, Some("anon-1"))])
        .await
        .expect("ingest");
    assert_eq!(score_of(&svc, &space.id, "u1").await, 30.0);
    let c = svc.store().contact(&space.id, "u1").await.unwrap().unwrap();
    assert_eq!(c.events, 3);
    // The recomputation from the log agrees with the live score.
    let lead = svc.lead(&space, "u1", None).await.expect("lead");
    assert_eq!(lead.scored.score, 30.0);
    // A second identify linking the same anonymous id to someone else does not move them.
    svc.ingest(
        &space,
        vec![msg("i2", Call::Identify, Some("u2"), Some("anon-1"))],
    )
    .await
    .expect("ingest");
    assert_eq!(score_of(&svc, &space.id, "u2").await, 0.0);
    assert_eq!(score_of(&svc, &space.id, "u1").await, 30.0);
}

#[tokio::test]
async fn account_traits_rescore_every_contact_of_the_account() {
    let (svc, space, _clock, _dir) = app(DECAY, None).await;
    let group = |id: &str, user: &str, traits: serde_json::Value| Message {
        group_id: Some("acc-1".into()),
        props: traits.as_object().unwrap().clone(),
        ..msg(id, Call::Group, Some(user), None)
    };
    svc.ingest(
        &space,
        vec![
            group("g1", "u1", json!({"employees": 50})),
            group("g2", "u2", json!({})),
        ],
    )
    .await
    .expect("ingest");
    assert_eq!(score_of(&svc, &space.id, "u1").await, 0.0);
    // The account grows: both contacts gain the 20 fit points in the same transaction.
    svc.ingest(&space, vec![group("g3", "u1", json!({"employees": 250}))])
        .await
        .expect("ingest");
    assert_eq!(score_of(&svc, &space.id, "u1").await, 20.0);
    assert_eq!(score_of(&svc, &space.id, "u2").await, 20.0);
    let a = svc
        .store()
        .account(&space.id, "acc-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.traits["employees"], json!(250));
    // A bad value for a field the model reads as a number is refused at the door.
    let bad = svc
        .ingest(
            &space,
            vec![group("g4", "u1", json!({"employees": "lots"}))],
        )
        .await
        .expect_err("not a number");
    assert_eq!(
        bad.to_string(),
        "message 0: field `traits.employees`: expected a number, found \"lots\""
    );
    assert_eq!(svc.store().stats(&space.id).await.unwrap().events, 3);
}

/// Everyone routed by percentile: the top 20% of the default segment are sales-ready.
const TOP: &str = r#"
[model]
name = "top"
version = "1"
scale = "raw"

[[category]]
id = "intent"

[[rule]]
id = "pages"
category = "intent"
points = 1
when = { event = "page_view" }
per_occurrence = true

[[tier]]
name = "all"

[routing]
top_percent = 20
"#;

#[tokio::test]
async fn top_percent_routing_uses_the_population_of_the_last_full_rescore() {
    let (svc, space, _clock, _dir) = app(TOP, None).await;
    // Ten leads with 1..=10 page views.
    let mut n = 0;
    for k in 1..=10 {
        let mut batch = Vec::new();
        for _ in 0..k {
            n += 1;
            batch.push(msg(
                &format!("p{n}"),
                Call::Page,
                Some(&format!("u{k:02}")),
                None,
            ));
        }
        svc.ingest(&space, batch).await.expect("ingest");
    }
    svc.rescore_all(&space, "manual").await.expect("rescore");
    // The ranking now holds the ten scores; the next pass routes the top 20% (scores 9 and 10).
    svc.rescore_all(&space, "manual").await.expect("rescore");
    let mut qualified = Vec::new();
    for k in 1..=10 {
        let c = svc
            .store()
            .contact(&space.id, &format!("u{k:02}"))
            .await
            .unwrap()
            .unwrap();
        if c.score.status == "qualified" {
            qualified.push(c.score.score);
        }
    }
    assert_eq!(qualified, vec![9.0, 10.0]);
    // A live event takes a lead into the top 20% of that population at once.
    svc.ingest(
        &space,
        (0..5)
            .map(|i| msg(&format!("x{i}"), Call::Page, Some("u05"), None))
            .collect(),
    )
    .await
    .expect("ingest");
    let c = svc
        .store()
        .contact(&space.id, "u05")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (c.score.score, c.score.status.as_str()),
        (10.0, "qualified")
    );
}

#[tokio::test]
async fn workspaces_never_see_each_other() {
    let dir = tempfile::tempdir().expect("temp dir");
    let clock = Arc::new(TestClock::default());
    let svc = start(dir.path(), clock, fast_hooks()).await;
    let (a, wa, ra) = svc.create_workspace("a", DECAY).await.expect("a");
    let (b, wb, _) = svc.create_workspace("b", DECAY).await.expect("b");
    assert_eq!(
        svc.authenticate(&wa, KeyKind::Write)
            .await
            .unwrap()
            .unwrap()
            .id,
        a.id
    );
    assert_eq!(
        svc.authenticate(&wb, KeyKind::Write)
            .await
            .unwrap()
            .unwrap()
            .id,
        b.id
    );
    // A write key is not a read key, and an unknown key opens nothing.
    assert!(
        svc.authenticate(&wa, KeyKind::Read)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        svc.authenticate(&ra, KeyKind::Read)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        svc.authenticate("wk_nope", KeyKind::Write)
            .await
            .unwrap()
            .is_none()
    );
    // The same contact id and message id in both workspaces are two contacts and two messages.
    svc.ingest(&a, vec![msg("m1", Call::Page, Some("u1"), None)])
        .await
        .unwrap();
    let r = svc
        .ingest(
            &b,
            vec![
                msg("m1", Call::Page, Some("u1"), None),
                msg("m2", Call::Page, Some("u1"), None),
            ],
        )
        .await
        .unwrap();
    assert_eq!((r.accepted, r.duplicates), (2, 0));
    assert_eq!(score_of(&svc, &a.id, "u1").await, 10.0);
    assert_eq!(score_of(&svc, &b.id, "u1").await, 20.0);
    assert_eq!(svc.store().stats(&a.id).await.unwrap().events, 1);
    assert_eq!(svc.store().stats(&b.id).await.unwrap().events, 2);
    // Taking a name twice is refused.
    assert!(svc.create_workspace("a", DECAY).await.is_err());
}

#[tokio::test]
async fn two_nodes_on_one_store_share_the_periodic_rescore() {
    // Two services (two nodes) on one database, each with a 200 ms re-score timer: each
    // period one of them takes the workspace's lease and re-scores it, the other skips. A
    // timer on every node would start two scheduled jobs per period, closer together than
    // the lease lasts (180 ms).
    const PERIOD: Duration = Duration::from_millis(200);
    let (a, space, clock, dir) = app(DECAY, Some(PERIOD)).await;
    let b = node(dir.path(), clock.clone(), Some(PERIOD)).await;
    assert!(b.space_named("acme").is_some());
    let scheduled = async || {
        let mut starts: Vec<i64> = a
            .store()
            .jobs(&space.id, 100)
            .await
            .unwrap()
            .iter()
            .filter(|j| j.cause == "schedule")
            .map(|j| j.started_at)
            .collect();
        starts.sort_unstable();
        starts
    };
    assert!(
        wait_until(
            async || scheduled().await.len() >= 6,
            Duration::from_secs(20)
        )
        .await,
        "the re-score ran every period"
    );
    let starts = scheduled().await;
    for w in starts.windows(2) {
        assert!(
            w[1] - w[0] >= 150,
            "two re-scores in one period: {starts:?}"
        );
    }
    let (owner, until) = a
        .store()
        .lease(&format!("re-score:{}", space.id))
        .await
        .unwrap()
        .expect("the lease was taken");
    assert_eq!(owner.len(), 16);
    assert!(until > starts[0]);
}

/// A re-score job left `running` as node `owner` would leave it mid-way, by the store alone.
async fn running_rescore(svc: &Service, ws: &str, owner: &str) -> i64 {
    let store = svc.store();
    let space = svc
        .spaces()
        .into_iter()
        .find(|s| s.id == ws)
        .expect("the workspace");
    let version = space.active().version;
    store
        .start_job(ws, "rescore", version, "model v1", 1, svc.now_ms(), owner)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_starting_beside_a_live_one_leaves_its_jobs_alone() {
    // Regression: every node's start marked every running job interrupted (and re-ran it),
    // those of the nodes still running it too.
    let (a, space, clock, dir) = app(DECAY, None).await;
    let id = running_rescore(&a, &space.id, a.node()).await;
    let b = node(dir.path(), clock.clone(), None).await;
    assert_ne!(a.node(), b.node());
    // After b's start and two of its heartbeats, a's job is still a's and running.
    tokio::time::sleep(leadscore_app::NODE_BEAT * 2 + Duration::from_millis(500)).await;
    let jobs = b.store().jobs(&space.id, 10).await.unwrap();
    assert_eq!(jobs.len(), 1, "nothing resumed: {jobs:?}");
    assert_eq!((jobs[0].id, jobs[0].state.as_str()), (id, "running"));
    let (owner, until) = b
        .store()
        .lease(&format!("node:{}", a.node()))
        .await
        .unwrap()
        .expect("a's lease");
    assert_eq!(owner, a.node());
    assert!(until > clock.now_ms(), "renewed");
}

/// The jobs of a node that stops (its runtime dropped, as a killed process) are taken over by
/// a node that runs on, once the stopped node's lease lapses, in a workspace created after the
/// other node started (which takes it up then).
#[test]
fn the_jobs_of_a_node_that_stopped_are_resumed_by_another_once_its_lease_lapses() {
    let dir = tempfile::tempdir().expect("temp dir");
    let clock = Arc::new(TestClock::default());
    // b runs on its own runtime throughout; a lives in one dropped half-way.
    let b_runtime = runtime();
    let b = b_runtime.block_on(node(dir.path(), clock.clone(), None));
    let (ws, id, a_node) = runtime().block_on(async {
        let a = node(dir.path(), clock.clone(), None).await;
        let (space, _, _) = a.create_workspace("acme", DECAY).await.expect("workspace");
        a.ingest(
            &space,
            vec![track("e1", "u1", "demo_requested", clock.now_ms())],
        )
        .await
        .unwrap();
        let id = running_rescore(&a, &space.id, a.node()).await;
        (space.id.clone(), id, a.node().to_owned())
    });
    b_runtime.block_on(async {
        assert!(b.spaces().is_empty(), "b has not seen the workspace");
        let state = async || {
            let jobs = b.store().jobs(&ws, 10).await.unwrap();
            let first = jobs.iter().find(|j| j.id == id).unwrap().state.clone();
            let later = jobs
                .iter()
                .filter(|j| j.id > id)
                .map(|j| j.state.clone())
                .collect();
            (first, later)
        };
        // Within the stopped node's lease, its job is left as it is, through b's heartbeats.
        tokio::time::sleep(leadscore_app::NODE_BEAT + Duration::from_millis(500)).await;
        assert_eq!(state().await, ("running".to_owned(), Vec::<String>::new()));
        clock.advance(leadscore_app::NODE_LEASE);
        assert!(
            wait_until(
                async || state().await == ("interrupted".to_owned(), vec!["done".to_owned()]),
                Duration::from_secs(10)
            )
            .await,
            "taken over: {:?}",
            state().await
        );
        let jobs = b.store().jobs(&ws, 10).await.unwrap();
        assert_eq!((jobs[0].cause.as_str(), jobs[0].done), ("model v1", 1));
        assert!(b.space_named("acme").is_some(), "taken up");
        // A day on, the stopped node's lease is forgotten; b's own stays.
        let lease = async |node: &str| b.store().lease(&format!("node:{node}")).await.unwrap();
        assert!(lease(&a_node).await.is_some());
        clock.advance(Duration::from_secs(86_400));
        assert!(
            wait_until(
                async || lease(&a_node).await.is_none(),
                Duration::from_secs(10)
            )
            .await,
            "a's lease forgotten"
        );
        assert!(lease(b.node()).await.is_some());
    });
}
