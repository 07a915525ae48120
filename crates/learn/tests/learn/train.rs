//! Training: both learners on data with a known answer, `auto`, thin data, determinism and
//! the model file.

use crate::common::{leads_csv, table};
use leadscore_learn::cv::stratified_folds;
use leadscore_learn::logistic::{LogisticParams, fit, fit_subset};
use leadscore_learn::model::{LearnedModel, Learner};
use leadscore_learn::{Algo, ColumnType, TableOptions, TrainParams, metrics, train};

fn params(algo: Algo) -> TrainParams {
    TrainParams {
        algo,
        ..TrainParams::default()
    }
}

/// The coefficient of a logistic model's term, by name.
fn coefficient(m: &LearnedModel, name: &str) -> f64 {
    let Learner::Logistic { coefficients, .. } = &m.learner else {
        panic!("logistic")
    };
    coefficients
        .iter()
        .find(|c| c.term == name)
        .unwrap_or_else(|| panic!("no {name} in {coefficients:?}"))
        .coefficient
}

#[test]
fn logistic_recovers_the_generating_effects() {
    let t = table(&leads_csv(4000, 1));
    let m = train(&t, &params(Algo::Logistic)).unwrap().model;
    assert_eq!(m.algo, "logistic");
    let coef = |name: &str| coefficient(&m, name);
    // One-hot levels are identified up to a constant: compare differences. True: ads − referral = 2.
    let d = coef("source = ads") - coef("source = referral");
    assert!((d - 2.0).abs() < 0.3, "ads − referral = {d}");
    let news = coef("newsletter (per std. dev.)");
    // 0.5 per unit, the column's std. dev. is about 0.49.
    assert!((news - 0.5 * 0.49).abs() < 0.12, "newsletter {news}");
    // The free-text note and the id are not features.
    let roles: Vec<(&str, &str)> = m
        .schema
        .iter()
        .map(|c| (c.name.as_str(), c.role.as_str()))
        .collect();
    assert_eq!(
        roles,
        [
            ("lead_id", "id"),
            ("visits", "feature"),
            ("source", "feature"),
            ("newsletter", "feature"),
            ("note", "unused"),
            ("won", "target")
        ]
    );
    assert_eq!(m.schema[4].kind, Some(ColumnType::Text));
    assert!(m.candidates[0].roc_auc > 0.75, "{:?}", m.candidates);
    assert!(m.candidates[0].ece < 0.05, "{:?}", m.candidates);
    assert!(!m.thin_data && m.warnings.is_empty());
}

#[test]
fn auto_keeps_the_lower_cross_validated_log_loss() {
    let t = table(&leads_csv(3000, 2));
    let m = train(&t, &params(Algo::Auto)).unwrap().model;
    let algos: Vec<&str> = m.candidates.iter().map(|c| c.algo.as_str()).collect();
    // Both learners, then the best blend of the two; the lowest of the three is kept.
    assert_eq!(algos, ["logistic", "gbm", "blend"]);
    let best = m
        .candidates
        .iter()
        .min_by(|a, b| a.log_loss.total_cmp(&b.log_loss))
        .unwrap();
    assert_eq!(m.algo, best.algo);
    // The learner is the one named (a blend holds both).
    match (&m.learner, m.algo.as_str()) {
        (Learner::Logistic { .. }, "logistic")
        | (Learner::Gbm { .. }, "gbm")
        | (Learner::Blend { .. }, "blend") => {}
        (l, a) => panic!("{a} holds {l:?}"),
    }
    // The truth is logistic: the trees may tie but must still rank well.
    let gbm = m.candidates.iter().find(|c| c.algo == "gbm").unwrap();
    assert!(gbm.roc_auc > 0.7, "{gbm:?}");
}

#[test]
fn thin_data_warns_and_widens_regularisation() {
    let t = table(&leads_csv(150, 3));
    assert!(t.positives() < 100);
    let tr = train(&t, &params(Algo::Logistic)).unwrap();
    assert!(tr.model.thin_data);
    assert!(
        tr.warnings[0].starts_with("thin data: "),
        "{:?}",
        tr.warnings
    );
    let Learner::Logistic { lambda, .. } = tr.model.learner else {
        panic!()
    };
    assert_eq!(lambda, 10.0);
    let g = train(&t, &params(Algo::Gbm)).unwrap().model;
    let Learner::Gbm { params, .. } = g.learner else {
        panic!()
    };
    assert_eq!((params.max_leaves, params.max_depth), (7, 3));
}

fn bytes(m: &LearnedModel) -> Vec<u8> {
    let mut v = Vec::new();
    m.write(&mut v).unwrap();
    v
}

#[test]
fn the_same_seed_gives_the_same_file_and_another_seed_does_not() {
    let t = table(&leads_csv(1500, 4));
    for algo in [Algo::Logistic, Algo::Gbm] {
        let a = bytes(&train(&t, &params(algo)).unwrap().model);
        let b = bytes(
            &train(
                &t,
                &TrainParams {
                    threads: 2,
                    ..params(algo)
                },
            )
            .unwrap()
            .model,
        );
        assert!(a == b, "{algo:?}: threads changed the model");
        let c = bytes(
            &train(
                &t,
                &TrainParams {
                    seed: 7,
                    ..params(algo)
                },
            )
            .unwrap()
            .model,
        );
        assert!(a != c, "{algo:?}: the seed changed nothing");
    }
}

#[test]
fn model_files_round_trip_and_refuse_edits() {
    let t = table(&leads_csv(1000, 5));
    for algo in [Algo::Logistic, Algo::Gbm] {
        let m = train(&t, &params(algo)).unwrap().model;
        let file = bytes(&m);
        let back = LearnedModel::read(file.as_slice()).unwrap();
        assert_eq!(back.hash, m.hash);
        assert_eq!(bytes(&back), file);
        assert_eq!(
            back.probabilities(&t).unwrap(),
            m.probabilities(&t).unwrap()
        );
        let edited =
            String::from_utf8(file)
                .unwrap()
                .replacen("\"threshold\": 0.", "\"threshold\": 0.0", 1);
        let e = LearnedModel::read(edited.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(e.contains("does not match its hash"), "{e}");
    }
    let e = LearnedModel::read("{\"a\": 1}".as_bytes())
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "model: not a learned model (no \"format\": \"leadscore-learned-model\")"
    );
}

#[test]
fn one_class_is_an_error() {
    let csv = "x,won\n1,no\n2,no\n3,no\n";
    let t = leadscore_learn::read_table(
        csv.as_bytes(),
        "one.csv",
        &leadscore_learn::TableOptions {
            target: Some("won".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let e = train(&t, &TrainParams::default()).unwrap_err().to_string();
    assert!(e.starts_with("one.csv: every outcome is 0"), "{e}");
}

#[test]
fn out_of_fold_metrics_match_a_fresh_sample() {
    // Calibration on out-of-fold predictions should hold on new data from the same process.
    let t = table(&leads_csv(4000, 6));
    let fresh = table(&leads_csv(4000, 99));
    for algo in [Algo::Logistic, Algo::Gbm] {
        let m = train(&t, &params(algo)).unwrap().model;
        let p = m.probabilities(&fresh).unwrap();
        let y = fresh.target.as_ref().unwrap();
        let ece = metrics::ece(y, &p, 10);
        assert!(ece < 0.04, "{algo:?}: ECE {ece}");
        assert!(metrics::roc_auc(y, &p) > 0.75);
    }
}

#[test]
fn a_blend_holds_both_learners_and_survives_its_file() {
    let t = table(&leads_csv(3000, 9));
    let m = train(&t, &params(Algo::Blend)).unwrap().model;
    assert_eq!(m.algo, "blend");
    let Learner::Blend {
        weight,
        logistic,
        gbm,
    } = &m.learner
    else {
        panic!("expected a blend, got {:?}", m.learner)
    };
    assert!(leadscore_learn::model::BLEND_WEIGHTS.contains(weight));
    assert!(matches!(**logistic, Learner::Logistic { .. }));
    assert!(matches!(**gbm, Learner::Gbm { .. }));
    let algos: Vec<&str> = m.candidates.iter().map(|c| c.algo.as_str()).collect();
    assert_eq!(algos, ["logistic", "gbm", "blend"]);
    // On these leads (logistic truth, trees that also catch it) the blend's out-of-fold
    // log-loss beats both learners'.
    let blend = &m.candidates[2];
    assert!(
        m.candidates[..2]
            .iter()
            .all(|c| blend.log_loss < c.log_loss),
        "{:?}",
        m.candidates
    );
    let file = bytes(&m);
    let back = LearnedModel::read(file.as_slice()).unwrap();
    assert_eq!(bytes(&back), file);
    let p = back.predict_table(&t).unwrap();
    // With factors the trees' log-odds are summed per feature, without them per tree: the
    // same numbers up to rounding.
    let plain = m.probabilities(&t).unwrap();
    let worst = p
        .probability
        .iter()
        .zip(&plain)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(worst < 1e-12, "{worst}");
    assert!(p.factors.iter().all(|f| f.len() == 3));
    // What a person reads is its logistic part: the coefficients, and `visits` by range.
    let effects = m.effects().expect("a blend has a logistic part");
    let Learner::Logistic { coefficients, .. } = &**logistic else {
        panic!()
    };
    assert_eq!(&effects.coefficients, coefficients);
    assert_eq!(effects.numbers.len(), 1);
    assert_eq!(effects.numbers[0].column, "visits");
    let r = &effects.numbers[0].ranges;
    // Visits raise the odds (0.25 a visit): the top range above the bottom one.
    assert!(r[r.len() - 1].odds_ratio > 2.0 * r[0].odds_ratio, "{r:?}");
    assert!(r.iter().all(|e| e.odds_ratio == e.log_odds.exp()));
    let trees = train(&t, &params(Algo::Gbm)).unwrap().model;
    assert_eq!(trees.effects(), None);
}

#[test]
fn a_semicolon_separated_real_file_trains_as_it_is() {
    // UCI Bank Marketing as published: `;` between fields, quoted strings, CRLF, yes/no.
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../bench/real/bank-additional.csv"
    );
    let data = std::fs::read(path).unwrap();
    let opts = TableOptions {
        target: Some("y".into()),
        ignore: vec!["duration".into()],
        ..TableOptions::default()
    };
    let t = leadscore_learn::read_table(data.as_slice(), "bank-additional.csv", &opts).unwrap();
    assert_eq!((t.rows, t.positives(), t.header.len()), (4119, 451, 21));
    let kind = |name: &str| t.column(name).map(|c| c.kind);
    assert_eq!(kind("age"), Some(ColumnType::Numeric));
    assert_eq!(kind("euribor3m"), Some(ColumnType::Numeric));
    assert_eq!(kind("job"), Some(ColumnType::Categorical));
    assert!(kind("duration").is_none());
    let m = train(&t, &params(Algo::Logistic)).unwrap().model;
    let oof = &m.candidates[0];
    // Out-of-fold ranking well above chance, as scikit-learn's 0.76 on held-out splits.
    assert!(oof.roc_auc > 0.72 && oof.roc_auc < 0.85, "{oof:?}");
}

#[test]
fn number_bins_let_the_logistic_model_learn_a_curved_effect() {
    // Conversion peaks in the middle of `age` (0–99): 70% for 40–59, 10% elsewhere. A straight
    // line cannot rank that; a step per decile can.
    let mut r = crate::common::Lcg(5);
    let mut csv = String::from("lead_id,age,won\n");
    for i in 0..3000 {
        let age = (r.next() * 100.0).floor();
        let p = if (40.0..60.0).contains(&age) {
            0.7
        } else {
            0.1
        };
        csv.push_str(&format!("{i},{age},{}\n", (r.next() < p) as u8));
    }
    let t = table(&csv);
    let fit = |bins: usize| {
        train(
            &t,
            &TrainParams {
                bins,
                ..params(Algo::Logistic)
            },
        )
        .unwrap()
        .model
    };
    let (binned, straight) = (fit(10), fit(0));
    // Out-of-fold AUC: the true ranking gets 0.78 (0.14 of leads convert in the peak, 0.08
    // outside it).
    assert!(
        binned.candidates[0].roc_auc > 0.72,
        "{:?}",
        binned.candidates
    );
    assert!(
        straight.candidates[0].roc_auc < 0.62,
        "{:?}",
        straight.candidates
    );
    // The bins read as odds ratios per range of values; the ranges around the peak are up.
    let coef = |name: &str| coefficient(&binned, name);
    let (inside, low, high) = (coef("age in [49, 58)"), coef("age < 9"), coef("age ≥ 89"));
    assert!(
        inside > low + 1.0 && inside > high + 1.0,
        "{inside} {low} {high}"
    );
    assert_eq!(binned.version, 3);
    // The effect per range is what a lead at that range's typical value gets as its factor:
    // the middles of the inner bins, half a bin beyond the outer cuts (9 − 5, 89 + 5); ten
    // bins.
    let Learner::Logistic { model, .. } = &binned.learner else {
        panic!("logistic")
    };
    let effects = binned.encoder.number_effects(&model.weights);
    assert_eq!(effects.len(), 1);
    let (name, by_range) = &effects[0];
    assert_eq!(name, "age");
    assert_eq!(by_range[0].0, "< 9");
    assert_eq!(by_range[5].0, "in [49, 58)");
    assert_eq!(by_range[9].0, "≥ 89");
    let typical = [4.0, 14.0, 24.0, 34.0, 44.0, 53.5, 63.5, 74.0, 84.0, 94.0];
    let mut leads = String::from("lead_id,age\n");
    for (i, a) in typical.iter().enumerate() {
        leads.push_str(&format!("{i},{a}\n"));
    }
    let t = leadscore_learn::read_table(
        leads.as_bytes(),
        "typical.csv",
        &TableOptions {
            id: Some("lead_id".into()),
            schema: Some(binned.encoder.schema()),
            ..TableOptions::default()
        },
    )
    .unwrap();
    let p = binned.predict_table(&t).unwrap();
    let got: Vec<f64> = p.factors.iter().map(|f| f[0].contribution).collect();
    let want: Vec<f64> = by_range.iter().map(|(_, e)| *e).collect();
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() < 1e-12, "{got:?} vs {want:?}");
    }
    // The peak's ranges stand out here too.
    assert!(
        want[5] > want[0] + 1.0 && want[5] > want[9] + 1.0,
        "{want:?}"
    );
}

#[test]
fn a_column_that_tells_the_outcome_is_named_in_a_warning() {
    // `stage` is filled in after the outcome: `closed` for 95% of the converted, `open` for
    // 97% of the others (the rest mislabelled): alone, AUC 0.95 × 0.97 + (0.95 × 0.03 +
    // 0.05 × 0.97) / 2 = 0.96. `visits` and `source` are honest.
    let csv = leads_csv(3000, 9);
    let mut r = crate::common::Lcg(3);
    let mut leaky = String::new();
    for (i, line) in csv.lines().enumerate() {
        let stage = if i == 0 {
            "stage"
        } else {
            let won = line.ends_with(",won");
            match (won, r.next()) {
                (true, u) if u < 0.95 => "closed",
                (false, u) if u < 0.97 => "open",
                (true, _) => "open",
                (false, _) => "closed",
            }
        };
        leaky.push_str(&format!("{line},{stage}\n"));
    }
    let m = train(&table(&leaky), &params(Algo::Logistic))
        .unwrap()
        .model;
    assert_eq!(m.warnings.len(), 1, "{:?}", m.warnings);
    assert!(
        m.warnings[0].starts_with(
            "column `stage` alone ranks converted leads with an out-of-fold ROC-AUC of 0.96"
        ),
        "{}",
        m.warnings[0]
    );
    // Without it, nothing is suspected (the same leads; `visits` alone is about 0.75).
    let m = train(&table(&csv), &params(Algo::Logistic)).unwrap().model;
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    // A date set only when the deal closed: its being there tells the outcome (AUC 1).
    let mut closed = String::new();
    for (i, line) in csv.lines().enumerate() {
        let date = match i {
            0 => "closed_at".to_owned(),
            _ if line.ends_with(",won") => format!("2025-03-{:02}", 1 + i % 28),
            _ => String::new(),
        };
        closed.push_str(&format!("{line},{date}\n"));
    }
    let trained = train(&table(&closed), &params(Algo::Logistic)).unwrap();
    assert_eq!(trained.leaks, [("closed_at".to_owned(), 1.0)]);
    assert_eq!(trained.model.warnings, trained.warnings);
}

#[test]
fn above_200k_rows_a_hold_out_replaces_the_folds() {
    // 210,000 leads: `flag` converts 70% against 20%, `noise` says nothing. The true ranking's
    // AUC is 0.778 × 0.727 + (0.778 × 0.273 + 0.222 × 0.727) / 2 = 0.753.
    let mut r = crate::common::Lcg(21);
    let mut csv = String::from("lead_id,flag,noise,won\n");
    for i in 0..210_000 {
        let flag = r.next() < 0.5;
        let won = r.next() < if flag { 0.7 } else { 0.2 };
        let noise = (r.next() * 1000.0).floor();
        csv.push_str(&format!("{i},{flag},{noise},{}\n", won as u8));
    }
    let m = train(&table(&csv), &params(Algo::Gbm)).unwrap().model;
    // One 80/20 hold-out; its 42,000 rows give a smooth loss, so 10 trees without
    // improvement end the growth.
    assert_eq!(m.training.folds, 1);
    let Learner::Gbm {
        params: gp, trees, ..
    } = &m.learner
    else {
        panic!("gbm")
    };
    assert_eq!(gp.early_stopping, 10);
    assert!(*trees < 60, "{trees} trees for one flag");
    let auc = m.candidates[0].roc_auc;
    assert!((auc - 0.753).abs() < 0.01, "{auc}");
    // Neither column tells the outcome alone.
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);

    // The logistic model kept is the one fitted outside the hold-out (the one it measured),
    // the same bits as fitting those rows directly.
    let t = table(&csv);
    let m = train(&t, &params(Algo::Logistic)).unwrap().model;
    assert_eq!(m.training.folds, 1);
    let Learner::Logistic { model, lambda, .. } = &m.learner else {
        panic!("logistic")
    };
    let y = t.target.as_ref().unwrap();
    let folds = stratified_folds(y, 5, TrainParams::default().seed);
    let outside: Vec<bool> = folds.iter().map(|&f| f != 0).collect();
    assert_eq!(outside.iter().filter(|&&k| k).count(), 168_000);
    let x = m.encoder.sparse(&m.encoder.cells(&t).unwrap(), y.len());
    let lp = LogisticParams {
        lambda: *lambda,
        ..LogisticParams::default()
    };
    let (direct, _) = fit_subset(&x, y, &outside, lp, None);
    assert_eq!(model, &direct);
    // On all rows the fit differs: the hold-out's rows are not in the model.
    assert_ne!(model, &fit(&x, y, lp, None).0);
    // Per standard deviation (0.5 for a fair flag): half the log odds ratio, ln(28/3) / 2.
    let flag = coefficient(&m, "flag (per std. dev.)");
    assert!(
        (flag - (0.7f64 / 0.3 / (0.2 / 0.8)).ln() / 2.0).abs() < 0.03,
        "{flag}"
    );
}
