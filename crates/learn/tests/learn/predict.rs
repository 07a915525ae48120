//! Prediction: probabilities in input order, top factors, unseen values.

use crate::common::{leads_csv, table};
use leadscore_learn::model::LearnedModel;
use leadscore_learn::{Algo, TrainParams, predict_csv, train};

fn model(algo: Algo) -> LearnedModel {
    let t = table(&leads_csv(2000, 11));
    train(
        &t,
        &TrainParams {
            algo,
            ..TrainParams::default()
        },
    )
    .unwrap()
    .model
}

#[test]
fn predictions_keep_input_order_and_name_the_top_factors() {
    for algo in [Algo::Logistic, Algo::Gbm] {
        let m = model(algo);
        // Two clear leads: many visits from ads vs none from referral; an unseen source and
        // a placeholder; no target column needed.
        let csv = "visits,source,newsletter,extra\n19,ads,Yes,x\n0,referral,No,y\n5,tv,Yes,z\n5,Select,Yes,z\n";
        let mut out = Vec::new();
        let n = predict_csv(&m, csv.as_bytes(), "new.csv", None, &mut out).unwrap();
        assert_eq!(n, 4);
        let out = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "row,probability,factor_1,factor_2,factor_3");
        assert_eq!(lines.len(), 5);
        let p: Vec<f64> = lines[1..]
            .iter()
            .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
            .collect();
        assert!(p[0] > 0.8 && p[1] < 0.2, "{algo:?}: {p:?}");
        assert!(lines[1].starts_with("1,") && lines[4].starts_with("4,"));
        // The hot lead's first factor is its visits or its source, pushing up.
        let f1 = lines[1].split(',').nth(2).unwrap();
        assert!(
            (f1.starts_with("visits = 19 (+") || f1.starts_with("source = ads (+")),
            "{algo:?}: {f1}"
        );
        assert!(
            lines[3].contains("source = tv") || !lines[3].contains("source ="),
            "{}",
            lines[3]
        );
        assert!(!lines[4].contains("source = Select"), "{}", lines[4]);
    }
}

#[test]
fn logistic_factors_add_up_to_the_log_odds() {
    let m = model(Algo::Logistic);
    let t = table(&leads_csv(50, 12));
    let p = m.predict_table(&t).unwrap();
    assert_eq!(p.probability.len(), 50);
    // With three features all factors are listed; their sum plus the average lead's log-odds
    // is the lead's log-odds, so ranking by factor sum is ranking by probability.
    let sums: Vec<f64> = p
        .factors
        .iter()
        .map(|f| f.iter().map(|f| f.contribution).sum())
        .collect();
    for i in 0..50 {
        for j in 0..50 {
            if sums[i] > sums[j] + 1e-9 {
                assert!(p.probability[i] >= p.probability[j]);
            }
        }
    }
}

#[test]
fn ids_are_written_under_their_column_name() {
    let m = model(Algo::Logistic);
    let csv = "Lead Id,visits,source,newsletter\nx-1,3,ads,No\nx-2,4,organic,Yes\n";
    let mut out = Vec::new();
    predict_csv(&m, csv.as_bytes(), "new.csv", Some("Lead Id"), &mut out).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.starts_with("Lead Id,probability,factor_1,factor_2,factor_3\nx-1,"),
        "{out}"
    );
    assert!(out.lines().nth(2).unwrap().starts_with("x-2,"));
}
