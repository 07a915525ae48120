//! Champion/challenger and drift (issue 4): the challenger scores every contact the writer
//! touches in shadow; the comparison on won/lost outcomes is checked against numbers worked out
//! by hand; drift per tier alerts only past the tolerance and with enough contacts.

use crate::common::{
    MODEL, PATIENCE, TestApp, fast_hooks, finished_job, identify, job_of, settings, spawn_app,
    spawn_app_settings, start, wait_until,
};
use leadscore_app::Clock;
use leadscore_app::message::Message;
use leadscore_app::{Service, Settings, Space};
use leadscore_store::Outcome;
use std::sync::Arc;

/// The test model with rule `b1` worth 100 points instead of 1: an odd champion score `s`
/// becomes `s + 99` for the challenger. Same tiers (hot ≥ 50 is qualified, warm ≥ 20, cold).
fn challenger_model() -> String {
    MODEL
        .replace("points = 1\n", "points = 100\n")
        .replace("version = \"1\"", "version = \"2\"")
}

fn outcome(id: &str, contact: &str, kind: &str) -> Outcome {
    Outcome {
        message_id: id.to_owned(),
        contact_id: contact.to_owned(),
        kind: kind.to_owned(),
        stage: None,
        amount: None,
        reason: None,
        at: 1_000,
        received_at: 1_000,
    }
}

/// Every contact with an outcome as `(id, champion score, (challenger score, version))`.
async fn shadow_scores(app: &TestApp) -> Vec<(String, f64, Option<(f64, i64)>)> {
    let rows = app.svc.store().outcome_rows(&app.space.id).await.unwrap();
    rows.into_iter()
        .map(|r| {
            let ch = r.challenger.map(|c| (c.score, c.version));
            (r.contact_id, r.score, ch)
        })
        .collect()
}

/// Ingests one identify per `(user, score)` in one batch, message ids from `first`.
async fn set_all(app: &TestApp, first: u64, leads: &[(&str, u32)]) {
    let batch: Vec<Message> = leads
        .iter()
        .enumerate()
        .map(|(i, (u, s))| identify(first + i as u64, u, *s, "buyer"))
        .collect();
    app.svc.ingest(&app.space, batch).await.expect("ingest");
}

#[tokio::test]
async fn the_challenger_is_scored_in_shadow_and_compared_on_outcomes() {
    let app = spawn_app().await;
    let (svc, space) = (&app.svc, &app.space);
    // Scored by the champion before the challenger is set: the back-fill scores it (70 → 70).
    set_all(&app, 100, &[("i", 70)]).await;
    let v2 = svc
        .upload_model(space, &challenger_model(), "test", "b1 worth 100")
        .await
        .expect("upload")
        .version;
    assert_eq!(v2, 2);
    assert!(svc.challenger_report(space).await.is_err(), "no challenger");
    let (_, job) = svc.set_challenger(space, v2).await.expect("set");
    let job = finished_job(svc, &space.id, job.id).await;
    assert_eq!(
        (job.kind.as_str(), job.state.as_str(), job.done),
        ("backfill", "done", 1)
    );

    // Champion score s → challenger s + 99 when s is odd:
    //   a 60 hot → 60 hot      b 55 hot → 154 hot    c 21 warm → 120 hot   d 30 warm → 30 warm
    //   e  5 cold → 104 hot    f  3 cold → 102 hot   g 10 cold → 10 cold   h 100 (no outcome)
    let leads: Vec<(&str, u32)> = BEFORE.iter().copied().chain([("h", 100)]).collect();
    set_all(&app, 200, &leads).await;
    let shadow = svc
        .store()
        .outcome_rows(&space.id)
        .await
        .expect("rows before outcomes");
    assert!(shadow.is_empty(), "no outcomes yet");
    // The active model still decides: the stored score of e is the champion's.
    let e = svc.store().contact(&space.id, "e").await.unwrap().unwrap();
    assert_eq!((e.score.score, e.score.tier.as_str()), (5.0, "cold"));

    // Won: a, c, f, i. Lost: b, d, e, g (g also has a stage change). h: only a stage change.
    let outcomes = [
        outcome("o1", "a", "won"),
        outcome("o2", "b", "lost"),
        outcome("o3", "c", "won"),
        outcome("o4", "d", "lost"),
        outcome("o5", "e", "lost"),
        outcome("o6", "f", "won"),
        outcome("o7", "g", "lost"),
        outcome("o8", "g", "stage_changed"),
        outcome("o9", "h", "stage_changed"),
        outcome("o10", "i", "won"),
    ];
    svc.record_outcomes(space, &outcomes).await.expect("record");

    let c = svc.challenger_report(space).await.expect("report");
    assert_eq!((c.won, c.lost, c.unscored), (4, 4, 0), "i was back-filled");
    assert_eq!((c.champion.version, c.challenger.version), (1, 2));
    assert_eq!((c.champion.count, c.challenger.count), (8, 8));
    // Champion: won a 60, c 21, f 3, i 70; lost b 55, d 30, e 5, g 10. Of the 16 (won, lost)
    // pairs the won one scores higher in a>b, a>d, a>e, a>g, c>e, c>g, i>b, i>d, i>e, i>g:
    // 10/16.
    assert_eq!(c.champion.auc, Some(0.625));
    // Qualified (hot): a, b, i. Share 3/8, precision 2/3 (a, i), recall 2/4 (a, i of a, c, f, i).
    assert_eq!(c.champion.qualified_share, Some(3.0 / 8.0));
    assert_eq!(c.champion.precision, Some(2.0 / 3.0));
    assert_eq!(c.champion.recall, Some(0.5));
    // Challenger: won a 60, c 120, f 102, i 70; lost b 154, d 30, e 104, g 10. Pairs won
    // higher: a>d, a>g, c>d, c>e, c>g, f>d, f>g, i>d, i>g: 9/16.
    assert_eq!(c.challenger.auc, Some(0.5625));
    // Qualified: a, b, c, e, f, i. Share 6/8, precision 4/6, recall 4/4.
    assert_eq!(c.challenger.qualified_share, Some(0.75));
    assert_eq!(c.challenger.precision, Some(4.0 / 6.0));
    assert_eq!(c.challenger.recall, Some(1.0));
    let t: Vec<(&str, &str, usize)> = c
        .transitions
        .iter()
        .map(|t| (t.from.as_str(), t.to.as_str(), t.count))
        .collect();
    assert_eq!(
        t,
        [
            ("cold", "cold", 1), // g
            ("cold", "hot", 2),  // e, f
            ("hot", "hot", 3),   // a, b, i
            ("warm", "hot", 1),  // c
            ("warm", "warm", 1), // d
        ]
    );

    // A later event re-scores i with the challenger too; removing the challenger stops it.
    set_all(&app, 300, &[("i", 71)]).await;
    let c = svc.challenger_report(space).await.expect("report");
    assert_eq!((c.won, c.unscored), (4, 0));
    assert_eq!(
        shadow_scores(&app).await[7],
        ("i".into(), 71.0, Some((170.0, 2)))
    );
    assert_eq!(svc.remove_challenger(space).await.expect("remove"), 2);
    assert!(svc.challenger_report(space).await.is_err());
    assert!(svc.set_challenger(space, 9).await.is_err(), "no version 9");
}

/// The owner of the jobs these tests leave as a killed process would: a node that holds no
/// lease (it stopped).
const STOPPED: &str = "a-stopped-node";

/// The app's service stopped and a new one started on the same store (and clock); the temp
/// dir is handed back to be kept.
async fn restarted(app: TestApp) -> (Service, Arc<Space>, tempfile::TempDir) {
    let TestApp {
        svc, dir, clock, ..
    } = app;
    drop(svc);
    let svc = start(dir.path(), clock, fast_hooks()).await;
    let space = svc.space_named("acme").expect("the workspace");
    (svc, space, dir)
}

/// The leads of the back-fill tests, `(id, champion score)`: each existed before the
/// challenger was set.
const BEFORE: [(&str, u32); 7] = [
    ("a", 60),
    ("b", 55),
    ("c", 21),
    ("d", 30),
    ("e", 5),
    ("f", 3),
    ("g", 10),
];

/// Won outcomes for every lead of [`BEFORE`], so `outcome_rows` lists them.
fn outcomes_before() -> Vec<Outcome> {
    BEFORE
        .iter()
        .map(|(u, _)| outcome(&format!("o-{u}"), u, "won"))
        .collect()
}

#[tokio::test]
async fn setting_a_challenger_back_fills_every_existing_contact_in_shadow() {
    // Chunks of 3: the back-fill takes three transactions (a b c, d e f, g).
    let app = spawn_app_settings(Settings {
        rescore_chunk: 3,
        ..settings(fast_hooks())
    })
    .await;
    let (svc, space, store) = (&app.svc, &app.space, app.svc.store());
    set_all(&app, 100, &BEFORE).await;
    svc.record_outcomes(space, &outcomes_before())
        .await
        .unwrap();
    let before: Vec<_> = champion_side(&app).await;
    // A day later: a champion re-score would now write a new `scored_at`.
    app.clock.advance(std::time::Duration::from_secs(86_400));
    let v2 = svc
        .upload_model(space, &challenger_model(), "test", "")
        .await
        .unwrap();
    let (rec, job) = svc.set_challenger(space, v2.version).await.unwrap();
    assert_eq!(rec.version, 2);
    assert_eq!(
        job_of(&job),
        ("backfill", "challenger v2", "running", 2, 7, 0)
    );
    let job = finished_job(svc, &space.id, job.id).await;
    assert_eq!((job.state.as_str(), job.done, job.total), ("done", 7, 7));
    // Odd champion scores get 99 more from the challenger (b1 worth 100).
    assert_eq!(
        shadow_scores(&app).await,
        [
            ("a".into(), 60.0, Some((60.0, 2))),
            ("b".into(), 55.0, Some((154.0, 2))),
            ("c".into(), 21.0, Some((120.0, 2))),
            ("d".into(), 30.0, Some((30.0, 2))),
            ("e".into(), 5.0, Some((104.0, 2))),
            ("f".into(), 3.0, Some((102.0, 2))),
            ("g".into(), 10.0, Some((10.0, 2))),
        ]
    );
    // The champion's side is untouched: same stored rows (version, score, scored_at), no
    // history and no webhook delivery from the back-fill.
    assert_eq!(champion_side(&app).await, before);
    let c = svc.challenger_report(space).await.unwrap();
    assert_eq!((c.won, c.unscored, c.challenger.count), (7, 0, 7));
    assert!(store.outbox(&space.id, 10).await.unwrap().is_empty());
}

/// Each lead of [`BEFORE`]: its stored row and its score history.
async fn champion_side(
    app: &TestApp,
) -> Vec<(
    leadscore_store::ContactRecord,
    Vec<leadscore_store::HistoryRecord>,
)> {
    let store = app.svc.store();
    let mut out = Vec::new();
    for (u, _) in BEFORE {
        let c = store.contact(&app.space.id, u).await.unwrap().unwrap();
        let h = store.history(&app.space.id, u, 10).await.unwrap();
        out.push((c, h));
    }
    out
}

#[tokio::test]
async fn an_interrupted_back_fill_goes_on_after_its_last_chunk_on_restart() {
    let app = spawn_app().await;
    let (svc, space) = (&app.svc, &app.space);
    set_all(&app, 100, &BEFORE).await;
    svc.record_outcomes(space, &outcomes_before())
        .await
        .unwrap();
    let v2 = svc
        .upload_model(space, &challenger_model(), "test", "")
        .await
        .unwrap();
    // What a process killed after the back-fill's first chunk (a, b, c) leaves in the store:
    // the challenger set, the job running with 3 done after `c`. (The chunk's scores are not
    // written here, so what the restarted job scores is exactly what it resumed.)
    let store = svc.store();
    let now = app.clock.now_ms();
    store
        .set_challenger(&space.id, Some(v2.version), now)
        .await
        .unwrap();
    let id = store
        .start_job(&space.id, "backfill", 2, "challenger v2", 7, now, STOPPED)
        .await
        .unwrap();
    store.job_progress(id, 3, "c", None).await.unwrap();
    let (svc, space, _dir) = restarted(app).await;
    let job = finished_job(&svc, &space.id, id).await;
    assert_eq!(
        (
            job.state.as_str(),
            job.done,
            job.total,
            job.resume_after.as_str()
        ),
        ("done", 7, 7, "g")
    );
    let rows = svc.store().outcome_rows(&space.id).await.unwrap();
    let scored: Vec<(&str, Option<f64>)> = rows
        .iter()
        .map(|r| {
            (
                r.contact_id.as_str(),
                r.challenger.as_ref().map(|c| c.score),
            )
        })
        .collect();
    assert_eq!(
        scored,
        [
            ("a", None),
            ("b", None),
            ("c", None),
            ("d", Some(30.0)),
            ("e", Some(104.0)),
            ("f", Some(102.0)),
            ("g", Some(10.0)),
        ]
    );
}

#[tokio::test]
async fn an_interrupted_back_fill_is_not_resumed_once_its_challenger_is_gone() {
    let app = spawn_app().await;
    let (svc, space) = (&app.svc, &app.space);
    set_all(&app, 100, &BEFORE).await;
    let v2 = svc
        .upload_model(space, &challenger_model(), "test", "")
        .await
        .unwrap();
    // Interrupted, and no challenger at the restart (removed by another process): the job is
    // left as it was (start decides before it returns).
    let store = svc.store();
    let id = store
        .start_job(
            &space.id,
            "backfill",
            v2.version,
            "challenger v2",
            7,
            app.clock.now_ms(),
            STOPPED,
        )
        .await
        .unwrap();
    let (svc, space, _dir) = restarted(app).await;
    let job = svc.store().jobs(&space.id, 10).await.unwrap();
    assert_eq!(
        (job[0].id, job[0].state.as_str(), job[0].done),
        (id, "interrupted", 0)
    );
}

#[tokio::test]
async fn the_challenger_survives_a_restart() {
    let app = spawn_app().await;
    let v2 = app
        .svc
        .upload_model(&app.space, &challenger_model(), "test", "")
        .await
        .unwrap();
    app.svc
        .set_challenger(&app.space, v2.version)
        .await
        .unwrap();
    let (svc, space, _dir) = restarted(app).await;
    assert_eq!(space.challenger().map(|c| c.version), Some(2));
    // It scores in shadow after the restart too: 3 → 102.
    svc.ingest(&space, vec![identify(1, "z", 3, "buyer")])
        .await
        .unwrap();
    svc.record_outcomes(&space, &[outcome("oz", "z", "won")])
        .await
        .unwrap();
    let rows = svc.store().outcome_rows(&space.id).await.unwrap();
    let ch = rows[0].challenger.as_ref().expect("a challenger score");
    assert_eq!((rows[0].score, ch.score, ch.version), (3.0, 102.0, 2));
}

/// `n` contacts named `{prefix}{i}` at champion score `score`, the first `won` of them won and
/// the rest lost; message and outcome ids from `first`.
async fn tier_with_outcomes(
    app: &TestApp,
    first: u64,
    prefix: &str,
    score: u32,
    n: usize,
    won: usize,
) {
    let names: Vec<String> = (0..n).map(|i| format!("{prefix}{i}")).collect();
    let leads: Vec<(&str, u32)> = names.iter().map(|u| (u.as_str(), score)).collect();
    set_all(app, first, &leads).await;
    let outcomes: Vec<Outcome> = names
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let kind = if i < won { "won" } else { "lost" };
            outcome(&format!("{prefix}-o{i}"), u, kind)
        })
        .collect();
    app.svc
        .record_outcomes(&app.space, &outcomes)
        .await
        .expect("record");
}

/// Marks contacts `{prefix}{i}` for `i` in `range` won (a won outcome counts over a lost one).
async fn win(app: &TestApp, prefix: &str, range: std::ops::Range<usize>) {
    let outcomes: Vec<Outcome> = range
        .map(|i| outcome(&format!("{prefix}-w{i}"), &format!("{prefix}{i}"), "won"))
        .collect();
    app.svc
        .record_outcomes(&app.space, &outcomes)
        .await
        .expect("record");
}

/// Uploads [`MODEL`] as version 2 and activates it; returns once its re-score recorded its
/// drift baseline.
async fn activate_v2(app: &TestApp) {
    let (svc, space) = (&app.svc, &app.space);
    let src = MODEL.replace("version = \"1\"", "version = \"2\"");
    let v2 = svc.upload_model(space, &src, "test", "v2").await.unwrap();
    svc.activate(space, v2.version, "test", "v2").await.unwrap();
    let store = svc.store();
    assert!(
        wait_until(
            async || store.drift_baseline(&space.id, 2).await.unwrap().is_some(),
            PATIENCE
        )
        .await,
        "v2's baseline recorded after its re-score"
    );
}

/// A tier's drift as `(tier, baseline, current, n, drifted)`.
type TierRow<'a> = (&'a str, Option<f64>, Option<f64>, usize, bool);

/// Every tier of a drift report as a [`TierRow`].
fn tier_rows(d: &leadscore_app::shadow::Drift) -> Vec<TierRow<'_>> {
    d.tiers
        .iter()
        .map(|t| (t.tier.as_str(), t.baseline, t.current, t.n, t.drifted))
        .collect()
}

#[tokio::test]
async fn drift_alerts_when_a_tier_with_enough_outcomes_moves_past_the_tolerance() {
    let app = spawn_app().await;
    let (svc, space) = (&app.svc, &app.space);
    // hot: 20 contacts, 10 won (0.5). warm: 10 contacts, 2 won (0.2).
    tier_with_outcomes(&app, 1000, "h", 60, 20, 10).await;
    tier_with_outcomes(&app, 2000, "w", 30, 10, 2).await;

    // No baseline for v1 (created with the workspace): the first call records it.
    assert!(
        svc.store()
            .drift_baseline(&space.id, 1)
            .await
            .unwrap()
            .is_none()
    );
    let d = svc.drift_report(space, 0.1, 20).await.expect("drift");
    assert!(!d.alert);
    let b = d.baseline.clone().expect("baseline info");
    assert_eq!(
        (b.source.as_str(), b.contacts, b.won),
        ("drift request", 30, 12)
    );
    assert_eq!(
        tier_rows(&d),
        [
            ("hot", Some(0.5), Some(0.5), 20, false),
            ("warm", Some(0.2), Some(0.2), 10, false)
        ]
    );

    // warm moves by 0.5 (2/10 → 7/10) but has only 10 contacts: no alert.
    win(&app, "w", 2..7).await;
    let d = svc.drift_report(space, 0.1, 20).await.expect("drift");
    assert_eq!((d.tiers[1].current, d.tiers[1].drifted), (Some(0.7), false));
    assert!(!d.alert);

    // hot: 10/20 → 13/20, a move of 0.15: past 0.1, within 0.2.
    win(&app, "h", 10..13).await;
    let d = svc.drift_report(space, 0.1, 20).await.expect("drift");
    assert_eq!(d.tiers[0].current, Some(0.65));
    assert!(d.tiers[0].drifted && d.alert);
    assert!(!svc.drift_report(space, 0.2, 20).await.unwrap().alert);
    assert!(svc.drift_report(space, -1.0, 20).await.is_err());
}

#[tokio::test]
async fn activating_a_version_records_its_baseline_after_the_re_score() {
    let app = spawn_app().await;
    let (svc, space) = (&app.svc, &app.space);
    // hot 20 (5 won: 0.25), warm 20 (4 won: 0.2).
    tier_with_outcomes(&app, 1000, "h", 60, 20, 5).await;
    tier_with_outcomes(&app, 2000, "w", 30, 20, 4).await;
    activate_v2(&app).await;
    // warm: 4/20 → 9/20 = 0.45, a move of 0.25.
    win(&app, "w", 4..9).await;
    let d = svc.drift_report(space, 0.2, 20).await.expect("drift");
    let b = baseline_of(&d);
    assert_eq!((b.1.as_str(), b.2, b.3), ("rescore: model v2", 40, 9));
    assert_eq!(d.version, 2);
    assert_eq!(
        tier_rows(&d),
        [
            ("hot", Some(0.25), Some(0.25), 20, false),
            ("warm", Some(0.2), Some(0.45), 20, true)
        ]
    );
    assert!(d.alert);
}

/// A drift report's baseline as `(recorded_at, source, contacts, won)`.
fn baseline_of(d: &leadscore_app::shadow::Drift) -> (String, String, usize, usize) {
    let b = d.baseline.clone().expect("baseline info");
    (b.recorded_at, b.source, b.contacts, b.won)
}

/// RFC 3339 (milliseconds, `Z`) of `ms`, as the drift report gives times.
fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .expect("a time")
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

// Regression: a version activated before any outcome existed kept an empty baseline for ever,
// so its drift never had anything to compare with.
#[tokio::test]
async fn an_empty_baseline_is_recorded_again_by_the_next_full_re_score_once_outcomes_exist() {
    let app = spawn_app().await;
    let (svc, space, store) = (&app.svc, &app.space, app.svc.store());
    // hot: h0..h9 at 60; warm: w0..w9 at 30. No outcome yet.
    let hot: Vec<String> = (0..10).map(|i| format!("h{i}")).collect();
    let warm: Vec<String> = (0..10).map(|i| format!("w{i}")).collect();
    let leads: Vec<(&str, u32)> = hot
        .iter()
        .map(|u| (u.as_str(), 60))
        .chain(warm.iter().map(|u| (u.as_str(), 30)))
        .collect();
    set_all(&app, 1000, &leads).await;
    activate_v2(&app).await;
    let first = store.drift_baseline(&space.id, 2).await.unwrap().unwrap();
    assert_eq!(
        (first.tiers.as_str(), first.source.as_str()),
        ("{}", "rescore: model v2"),
        "empty: no outcome then"
    );

    // Outcomes arrive: hot 6 of 10 won, warm 2 of 10.
    let outcomes: Vec<Outcome> = hot
        .iter()
        .chain(&warm)
        .enumerate()
        .map(|(i, u)| {
            let won = i < 6 || (10..12).contains(&i);
            outcome(&format!("o{i}"), u, if won { "won" } else { "lost" })
        })
        .collect();
    svc.record_outcomes(space, &outcomes).await.unwrap();

    // A drift request does not replace it: the report says what the baseline is.
    let d = svc.drift_report(space, 0.1, 10).await.unwrap();
    assert_eq!(
        baseline_of(&d),
        (rfc3339(first.recorded_at), "rescore: model v2".into(), 0, 0)
    );
    assert_eq!(
        tier_rows(&d),
        [
            ("hot", None, Some(0.6), 10, false),
            ("warm", None, Some(0.2), 10, false)
        ]
    );
    assert!(!d.alert);
    assert_eq!(
        store.drift_baseline(&space.id, 2).await.unwrap(),
        Some(first.clone())
    );

    // A day later the periodic re-score (what the scheduler runs) records it from the outcomes.
    app.clock.advance(std::time::Duration::from_secs(86_400));
    let before = app.clock.now_ms();
    let job = svc.rescore_all(space, "schedule").await.unwrap();
    let after = app.clock.now_ms();
    assert_eq!((job.state.as_str(), job.done, job.total), ("done", 20, 20));
    let second = store.drift_baseline(&space.id, 2).await.unwrap().unwrap();
    assert_eq!(
        (second.tiers.as_str(), second.source.as_str()),
        (
            r#"{"hot":{"n":10,"won":6,"revenue":0.0},"warm":{"n":10,"won":2,"revenue":0.0}}"#,
            "rescore: schedule"
        )
    );
    assert!(
        (before..=after).contains(&second.recorded_at)
            && second.recorded_at >= first.recorded_at + 86_400_000,
        "recorded by the re-score a day later: {} not in {before}..={after}",
        second.recorded_at
    );

    // warm: 2/10 → 5/10, a move of 0.3 against the new baseline.
    win(&app, "w", 2..5).await;
    let d = svc.drift_report(space, 0.2, 10).await.unwrap();
    assert_eq!(
        baseline_of(&d),
        (
            rfc3339(second.recorded_at),
            "rescore: schedule".into(),
            20,
            8
        )
    );
    assert_eq!(
        tier_rows(&d),
        [
            ("hot", Some(0.6), Some(0.6), 10, false),
            ("warm", Some(0.2), Some(0.5), 10, true)
        ]
    );
    assert!(d.alert);

    // A baseline with outcomes stays: the next re-score does not move it.
    app.clock.advance(std::time::Duration::from_secs(86_400));
    svc.rescore_all(space, "manual").await.unwrap();
    assert_eq!(
        store.drift_baseline(&space.id, 2).await.unwrap(),
        Some(second)
    );
}
