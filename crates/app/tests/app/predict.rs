//! Predictive scoring in the service (SPEC P3): a retrain with too few outcomes is `skipped`
//! and says so; with enough it stores the learned model (the same bytes as training on the
//! exported table) and every contact's probability and top factors; a later retrain (clock
//! moved on) is the next version.

use crate::common::{TestApp, fast_hooks, job_of, settings};
use leadscore_app::message::{Call, Message};
use leadscore_app::predict::RetrainSettings;
use leadscore_app::training::{ID_COLUMN, LABEL_COLUMN, Target};
use leadscore_app::{Clock, Settings};
use leadscore_learn::{Algo, TableOptions, TrainParams, read_table};
use leadscore_store::Outcome;
use std::time::Duration;

/// 60 contacts `c00` … `c59`: every third (`i % 3 == 0`, 20 of them) in `software`, the rest
/// in `retail`.
fn contacts() -> Vec<Message> {
    (0..60)
        .map(|i| {
            let mut props = serde_json::Map::new();
            let industry = if i % 3 == 0 { "software" } else { "retail" };
            props.insert("industry".into(), industry.into());
            Message {
                call: Call::Identify,
                message_id: format!("p{i}"),
                user_id: Some(format!("c{i:02}")),
                anonymous_id: None,
                group_id: None,
                event: None,
                timestamp: None,
                props,
            }
        })
        .collect()
}

/// Won: software contacts with `i % 4 != 3` (15 of 20) and retail ones with `i % 5 == 0`
/// (8 of 40): 23 won, 37 not.
fn won(i: usize) -> bool {
    if i.is_multiple_of(3) {
        i % 4 != 3
    } else {
        i.is_multiple_of(5)
    }
}

fn outcome(i: usize) -> Outcome {
    Outcome {
        message_id: format!("o{i}"),
        contact_id: format!("c{i:02}"),
        kind: if won(i) { "won" } else { "lost" }.to_owned(),
        stage: None,
        amount: None,
        reason: None,
        at: 1_000,
        received_at: 1_000,
    }
}

fn retrain_settings() -> RetrainSettings {
    RetrainSettings {
        target: Target::Won,
        algo: Algo::Logistic,
        min_positives: 10,
        min_negatives: 10,
        seed: 42,
        threads: 1,
        ignore: Vec::new(),
    }
}

async fn app() -> TestApp {
    crate::common::spawn_app_settings(Settings {
        retrain: retrain_settings(),
        ..settings(fast_hooks())
    })
    .await
}

#[tokio::test]
async fn a_retrain_skips_thin_data_then_predicts_every_contact() {
    let app = app().await;
    let (svc, space, store) = (&app.svc, &app.space, app.svc.store());
    svc.ingest(space, contacts()).await.unwrap();
    // 5 won so far (the first five won contacts): too few.
    let first: Vec<Outcome> = (0..60).filter(|&i| won(i)).take(5).map(outcome).collect();
    svc.record_outcomes(space, &first).await.unwrap();
    let job = svc.retrain(space).await.unwrap();
    assert_eq!(job_of(&job), ("retrain", "retrain", "skipped", 0, 60, 0));
    assert_eq!(
        job.note,
        "too few outcomes to train: 5 contacts with a positive outcome (target won) and 55 \
         without, at least 10 and 10 needed; the previous learned model and its predictions stay"
    );
    assert!(
        store
            .latest_learned_model(&space.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(svc.prediction(space, "c00").await.unwrap().is_none());

    // Every outcome, a day later.
    let all: Vec<Outcome> = (0..60).map(outcome).collect();
    svc.record_outcomes(space, &all).await.unwrap();
    app.clock.advance(Duration::from_secs(86_400));
    let before = app.clock.now_ms();
    let job = svc.retrain(space).await.unwrap();
    let after = app.clock.now_ms();
    assert_eq!(
        (job.state.as_str(), job.model_version, job.done),
        ("done", 1, 60),
        "{job:?}"
    );
    assert!(
        job.note.starts_with(
            "learned model v1: logistic on 60 contacts (23 with a positive outcome, target won), out-of-fold ROC-AUC "
        ) && job.note.ends_with("; 60 contacts predicted"),
        "{}",
        job.note
    );
    let stored = store
        .latest_learned_model(&space.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            stored.version,
            stored.target.as_str(),
            stored.algo.as_str(),
            stored.rows,
            stored.positives
        ),
        (1, "won", "logistic", 60, 23)
    );
    assert!((before..=after).contains(&stored.trained_at));

    // The same model as `train --from-store` gives on the exported table: same bytes.
    let table = svc.training_table(space, after, Target::Won).await.unwrap();
    let opts = TableOptions {
        target: Some(LABEL_COLUMN.to_owned()),
        id: Some(ID_COLUMN.to_owned()),
        ..TableOptions::default()
    };
    let data = read_table(&table.to_csv()[..], "workspace acme", &opts).unwrap();
    let params = TrainParams {
        algo: Algo::Logistic,
        seed: 42,
        threads: 1,
        ..TrainParams::default()
    };
    let mine = leadscore_learn::train(&data, &params).unwrap().model;
    assert_eq!(mine.hash, stored.hash);
    let mut file = Vec::new();
    mine.write(&mut file).unwrap();
    assert_eq!(String::from_utf8(file).unwrap(), stored.model);

    // Every contact's prediction is that model's on its features now, exactly.
    let features = svc.feature_table(space, after, Target::Won).await.unwrap();
    let t = read_table(
        &features.to_csv()[..],
        "workspace acme",
        &mine.table_options(Some(LABEL_COLUMN.to_owned()), Some(ID_COLUMN.to_owned())),
    )
    .unwrap();
    let expected = mine.predict_table(&t).unwrap();
    let ids = t.ids.clone().unwrap();
    assert_eq!(ids.len(), 60);
    for (k, id) in ids.iter().enumerate() {
        let p = svc
            .prediction(space, id)
            .await
            .unwrap()
            .expect("a prediction");
        assert_eq!(p.probability, expected.probability[k], "{id}");
        assert_eq!((p.model_version, p.predicted_at), (1, stored.trained_at));
        let f: Vec<(&str, &str, f64)> = p
            .factors
            .iter()
            .map(|f| (f.feature.as_str(), f.value.as_str(), f.contribution))
            .collect();
        let e: Vec<(&str, &str, f64)> = expected.factors[k]
            .iter()
            .map(|f| (f.feature.as_str(), f.value.as_str(), f.contribution))
            .collect();
        assert_eq!(f, e, "{id}");
    }
    // Software converts at 15/20 against retail's 8/40: every software lead is above every
    // retail one, and its top factor is its industry, pushing up.
    let (s, r) = (
        svc.prediction(space, "c00").await.unwrap().unwrap(),
        svc.prediction(space, "c01").await.unwrap().unwrap(),
    );
    assert!(s.probability > 0.5 && r.probability < 0.3, "{s:?} {r:?}");
    assert_eq!(
        (s.factors[0].feature.as_str(), s.factors[0].value.as_str()),
        ("industry", "software")
    );
    assert!(s.factors[0].contribution > 0.0 && r.factors[0].contribution < 0.0);

    // Listing by probability: the 20 software leads first.
    let page = store
        .list_contacts(
            &space.id,
            &leadscore_store::LeadFilter {
                sort: leadscore_store::LeadSort::ProbabilityDesc,
                limit: 20,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(
        page.iter().all(|(c, _)| c.traits["industry"] == "software"),
        "{page:?}"
    );
    assert!(page.windows(2).all(|w| w[0].1 >= w[1].1));

    // A day later the next retrain is version 2 and re-predicts everyone.
    app.clock.advance(Duration::from_secs(86_400));
    let job = svc.retrain(space).await.unwrap();
    assert_eq!((job.state.as_str(), job.model_version), ("done", 2));
    let p = svc.prediction(space, "c59").await.unwrap().unwrap();
    assert_eq!(p.model_version, 2);
    assert!(p.predicted_at >= stored.trained_at + 86_400_000);
}

#[tokio::test]
async fn a_retrain_leaves_out_the_columns_it_is_told_to_ignore() {
    // A trait the CRM sets once a deal is won (`stage`: `customer` for every won contact,
    // `lead` for the others) predicts the label perfectly because it is the label. Left in,
    // the model learns it (out-of-fold ROC-AUC 1); with `ignore`, it is not read at all.
    let mut learned = Vec::new();
    // (A column the table does not have is skipped, not an error.)
    for ignore in [
        Vec::new(),
        vec!["stage".to_owned(), "no-such-trait".to_owned()],
    ] {
        let app = crate::common::spawn_app_settings(Settings {
            retrain: RetrainSettings {
                ignore,
                ..retrain_settings()
            },
            ..settings(fast_hooks())
        })
        .await;
        let (svc, space) = (&app.svc, &app.space);
        svc.ingest(space, contacts()).await.unwrap();
        let all: Vec<Outcome> = (0..60).map(outcome).collect();
        svc.record_outcomes(space, &all).await.unwrap();
        let stages: Vec<Message> = (0..60)
            .map(|i| {
                let mut m = contacts().swap_remove(i);
                m.message_id = format!("s{i}");
                m.props.clear();
                let stage = if won(i) { "customer" } else { "lead" };
                m.props.insert("stage".into(), stage.into());
                m
            })
            .collect();
        svc.ingest(space, stages).await.unwrap();
        let job = svc.retrain(space).await.unwrap();
        assert_eq!(job.state, "done", "{job:?}");
        let stored = svc
            .store()
            .latest_learned_model(&space.id)
            .await
            .unwrap()
            .unwrap();
        let model = leadscore_learn::LearnedModel::read(stored.model.as_bytes()).unwrap();
        let role = |name: &str| {
            model
                .schema
                .iter()
                .find(|c| c.name == name)
                .map(|c| c.role.clone())
        };
        let auc = model.candidates[0].roc_auc;
        let named = model
            .warnings
            .iter()
            .any(|w| w.starts_with("column `stage` alone ranks converted leads"));
        learned.push((role("stage"), role("industry"), auc, named));
    }
    let (left_in, left_out) = (&learned[0], &learned[1]);
    assert_eq!(
        (left_in.0.as_deref(), left_in.1.as_deref()),
        (Some("feature"), Some("feature"))
    );
    assert_eq!(left_in.2, 1.0, "the leak is learned");
    assert!(left_in.3 && !left_out.3, "the leak is named while it is in");
    assert_eq!(
        (left_out.0.as_deref(), left_out.1.as_deref()),
        (Some("ignored"), Some("feature"))
    );
    assert!(left_out.2 < 0.9, "industry alone: {}", left_out.2);
}
