//! Prediction: probabilities in input order, top factors, unseen values; the fast path gives
//! the general path's bytes.

use crate::common::{leads_csv, table};
use leadscore_learn::gbm::Explain;
use leadscore_learn::model::{
    LearnedModel, Learner, predict_csv_blocks, predict_csv_fast, predict_csv_general,
};
use leadscore_learn::{Algo, TableOptions, TrainParams, predict_csv, read_table, train};

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

/// Both paths' result: the bytes written, or the error message.
fn both(
    m: &mut LearnedModel,
    csv: &[u8],
    id: Option<&str>,
    threads: usize,
    block: usize,
) -> (Result<Vec<u8>, String>, Result<Vec<u8>, String>) {
    let mut general = Vec::new();
    let g = predict_csv_general(m, csv, "new.csv", id, &mut general)
        .map(|_| general)
        .map_err(|e| e.to_string());
    m.set_threads(threads);
    let mut fast = Vec::new();
    let f = predict_csv_blocks(m, csv, "new.csv", id, &mut fast, block)
        .map(|_| fast)
        .map_err(|e| e.to_string());
    (g, f)
}

#[test]
fn the_fast_path_writes_the_general_paths_bytes_on_the_real_file() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/x-education-leads.csv"
    );
    let data = std::fs::read(path).unwrap();
    let opts = TableOptions {
        target: Some("Converted".into()),
        id: Some("Prospect ID".into()),
        ignore: vec!["Lead Number".into(), "Tags".into(), "Lead Quality".into()],
        ..TableOptions::default()
    };
    let t = read_table(data.as_slice(), "x-education-leads.csv", &opts).unwrap();
    for algo in [Algo::Logistic, Algo::Gbm, Algo::Blend] {
        let params = TrainParams {
            algo,
            threads: 2,
            ..TrainParams::default()
        };
        let mut m = train(&t, &params).unwrap().model;
        for (id, threads, block) in [
            (Some("Prospect ID"), 1, 1 << 20),
            (Some("Prospect ID"), 3, 4096),
            (None, 2, 1),
            (None, 1, 100_000),
        ] {
            let (g, f) = both(&mut m, &data, id, threads, block);
            let g = g.unwrap();
            assert_eq!(g.iter().filter(|&&b| b == b'\n').count(), 9241);
            assert!(
                f.as_ref() == Ok(&g),
                "{algo:?} {id:?} {threads} threads, {block}-byte blocks"
            );
            // And it was the fast path that wrote them.
            let mut fast = Vec::new();
            let n = predict_csv_fast(&m, &data, id, &mut fast, block).unwrap();
            assert!(n == Some(9240) && fast == g);
        }
        if algo == Algo::Logistic {
            continue;
        }
        // Shapley values: the fast path cuts the file into small blocks (many for 1,000 leads)
        // and still writes the general path's bytes, which differ from the path credits'.
        let head: Vec<u8> = data
            .split_inclusive(|&b| b == b'\n')
            .take(1001)
            .flatten()
            .copied()
            .collect();
        let mut path_credits = Vec::new();
        predict_csv(&m, head.as_slice(), "head.csv", None, &mut path_credits).unwrap();
        m.set_explain(Explain::Shap);
        let mut general = Vec::new();
        predict_csv_general(&m, head.as_slice(), "head.csv", None, &mut general).unwrap();
        let mut fast = Vec::new();
        let n = predict_csv(&m, head.as_slice(), "head.csv", None, &mut fast).unwrap();
        assert_eq!(n, 1000);
        assert!(
            fast == general,
            "{algo:?}: Shapley values differ between the paths"
        );
        // And the fast path itself wrote them, in many 16 KiB blocks (it returns None when it
        // leaves the file to the general path).
        let mut blocks = Vec::new();
        let n = predict_csv_fast(&m, &head, None, &mut blocks, 1 << 14).unwrap();
        assert!(n == Some(1000) && blocks == general, "{algo:?}");
        assert!(general != path_credits, "{algo:?}");
        m.set_explain(Explain::Path);
    }
}

#[test]
fn the_fast_path_agrees_with_the_general_path_on_unusual_files() {
    let mut m = model(Algo::Logistic);
    let mut g = model(Algo::Gbm);
    let mut b = model(Algo::Blend);
    assert!(matches!(b.learner, Learner::Blend { .. }));
    let cases: &[&str] = &[
        // Plain, CRLF, a byte-order mark, no final newline, spaces and placeholders.
        "visits,source,newsletter\n19,ads,Yes\n0,referral,No\n",
        "visits,source,newsletter\r\n19,ads,Yes\r\n0, referral ,No\r\n",
        "\u{feff}visits,source,newsletter\n3,organic,Yes\n4,tv,no",
        "newsletter,visits,extra,source\nYes, 7 ,x,Select\nNo,NA,y,\n,,,\n",
        // Quotes: commas, newlines and doubled quotes inside, around ids and values.
        "lead,visits,source,newsletter\n\"a,1\",3,\"ads\",Yes\n\"b\nc\",4,\"or\"\"g\",No\n\"\",5,organic,Yes\n",
        // Header only.
        "visits,source,newsletter\n",
        // What the fast path leaves to the general one: a header without a newline, blank lines, a lone CR, a quote
        // inside a field, a wrong field count, a missing column, an unterminated quote.
        "visits,source,newsletter",
        "visits,source,newsletter\n1,ads,Yes\n\n2,ads,No\n",
        "visits,source,newsletter\n1,ads,Yes\r2,ads,No\n",
        "visits,source,newsletter\n1,a\"d\"s,Yes\n",
        "visits,source,newsletter\n1,ads,Yes\n2,ads\n",
        "visits,newsletter\n1,Yes\n",
        "visits,source,newsletter\n1,\"ads,Yes\n",
    ];
    for m in [&mut m, &mut g, &mut b] {
        for csv in cases {
            let id = csv.starts_with("lead,").then_some("lead");
            for (threads, block) in [(1, 1 << 20), (2, 1), (3, 7)] {
                let (g, f) = both(m, csv.as_bytes(), id, threads, block);
                assert_eq!(f, g, "{csv:?}, {threads} threads, {block}-byte blocks");
            }
            // The first six are the fast path's own; the others are left to the general one.
            let own = cases.iter().position(|c| c == csv).unwrap() < 6;
            let fast = predict_csv_fast(m, csv.as_bytes(), id, Vec::new(), 7).unwrap();
            assert_eq!(fast.is_some(), own, "{csv:?}");
        }
    }
}

/// Takes `room` bytes, then fails every write.
struct Full {
    room: usize,
    taken: Vec<u8>,
}

impl std::io::Write for Full {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.taken.len() + buf.len() > self.room {
            return Err(std::io::Error::other("disk full"));
        }
        self.taken.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_failing_output_stops_the_fast_path_with_its_error() {
    // The blocks are written as they are scored: a write that fails part way must end the
    // prediction with that error (the workers stopped, none left waiting), and what was
    // written before it must be whole records in input order.
    let mut m = model(Algo::Gbm);
    let csv = leads_csv(3000, 5);
    let mut all = Vec::new();
    predict_csv_general(&m, csv.as_bytes(), "new.csv", None, &mut all).unwrap();
    for threads in [1, 2, 3] {
        m.set_threads(threads);
        let mut out = Full {
            room: 20_000,
            taken: Vec::new(),
        };
        let e = predict_csv_blocks(&m, csv.as_bytes(), "new.csv", None, &mut out, 1000)
            .unwrap_err()
            .to_string();
        assert!(e.contains("disk full"), "{e}");
        assert!(!out.taken.is_empty() && all.starts_with(&out.taken));
        assert_eq!(out.taken.last(), Some(&b'\n'));
    }
}

#[test]
fn a_model_trained_when_unknown_was_a_level_reads_it_as_that_level() {
    use leadscore_learn::encode::Encoding;
    // Probabilities and factor contributions (the factor text names the value as written).
    let scores = |out: &[u8]| -> Vec<String> {
        String::from_utf8_lossy(out)
            .lines()
            .map(|l| {
                l.split(',')
                    .map(|f| f.rsplit_once(" (").map_or(f, |(_, c)| c).to_owned())
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect()
    };
    for algo in [Algo::Logistic, Algo::Gbm] {
        let mut m = model(algo);
        let rows = |source: &str| {
            format!("visits,source,newsletter\n4,{source},Yes\n9,{source},No\n0,ads,No\n")
        };
        let mut before = Vec::new();
        predict_csv_general(&m, rows("referral").as_bytes(), "a.csv", None, &mut before).unwrap();
        // The same model, as if trained when `unknown` was a value: its level `referral` renamed.
        for f in &mut m.encoder.features {
            if let Encoding::Levels { buckets, .. } = &mut f.encoding {
                for b in buckets.iter_mut().filter(|b| *b == "referral") {
                    *b = "unknown".into();
                }
            }
        }
        let csv = rows("unknown");
        for threads in [1, 2] {
            let (g, f) = both(&mut m, csv.as_bytes(), None, threads, 1 << 20);
            let g = g.unwrap();
            assert_eq!(
                scores(&g),
                scores(&before),
                "{algo:?}: unknown reads as its level"
            );
            assert!(String::from_utf8_lossy(&g).contains("source = unknown"));
            assert_eq!(f, Ok(g), "{algo:?}");
        }
        // A model without that level reads `unknown` as missing.
        let fresh = model(algo);
        let mut missing = Vec::new();
        predict_csv_general(&fresh, rows("").as_bytes(), "c.csv", None, &mut missing).unwrap();
        let mut unknown = Vec::new();
        predict_csv_general(&fresh, csv.as_bytes(), "b.csv", None, &mut unknown).unwrap();
        assert_eq!(scores(&unknown), scores(&missing), "{algo:?}");
    }
}

#[test]
fn a_version_2_model_without_bins_still_reads_and_predicts() {
    // Version 2 files have no bins: a model trained without them, stamped version 2.
    let t = table(&leads_csv(2000, 11));
    let params = |bins| TrainParams {
        algo: Algo::Logistic,
        bins,
        ..TrainParams::default()
    };
    let mut old = train(&t, &params(0)).unwrap().model;
    old.version = 2;
    old.hash = old.content_hash().unwrap();
    let mut file = Vec::new();
    old.write(&mut file).unwrap();
    let text = String::from_utf8_lossy(&file);
    assert!(text.contains("\"version\": 2") && !text.contains("cuts"));
    let mut read = LearnedModel::read(&file[..]).unwrap();
    let csv = "visits,source,newsletter\n4,ads,Yes\n19,referral,No\nNA,organic,No\n";
    let mut before = Vec::new();
    predict_csv_general(&old, csv.as_bytes(), "a.csv", None, &mut before).unwrap();
    for threads in [1, 2] {
        let (g, f) = both(&mut read, csv.as_bytes(), None, threads, 1 << 20);
        assert_eq!(g.as_ref(), Ok(&before));
        assert_eq!(f, g);
    }
    // Today's model of the same data has bins, and another version is refused.
    let new = train(&t, &params(10)).unwrap().model;
    assert_eq!(new.version, 3);
    assert!(serde_json::to_string(&new).unwrap().contains("\"cuts\""));
    let future = String::from_utf8(file)
        .unwrap()
        .replace("\"version\": 2", "\"version\": 4");
    let e = LearnedModel::read(future.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(e.contains("version Some(4) is not supported"), "{e}");
}

#[test]
fn the_fast_path_scores_number_and_date_bins_as_the_general_path() {
    use leadscore_learn::encode::Encoding;
    // A number and a date, both binned by deciles; leads on the cut points, between them,
    // outside the training range, and missing.
    let mut r = crate::common::Lcg(17);
    let mut csv = String::from("lead_id,visits,created,won\n");
    for i in 0..2000 {
        let visits = (r.next() * 40.0).floor();
        let day = (r.next() * 300.0) as i64;
        let date =
            chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap() + chrono::Days::new(day as u64);
        let p = if (10.0..20.0).contains(&visits) {
            0.6
        } else {
            0.2
        } + day as f64 / 1000.0;
        csv.push_str(&format!("{i},{visits},{date},{}\n", (r.next() < p) as u8));
    }
    let t = table(&csv);
    for algo in [Algo::Logistic, Algo::Blend] {
        let mut m = train(
            &t,
            &TrainParams {
                algo,
                ..TrainParams::default()
            },
        )
        .unwrap()
        .model;
        let cuts = |name: &str| match &m
            .encoder
            .features
            .iter()
            .find(|f| f.name == name)
            .unwrap()
            .encoding
        {
            Encoding::Number { cuts, .. } => cuts.clone(),
            e => panic!("{e:?}"),
        };
        let (v, d) = (cuts("visits"), cuts("created"));
        assert!(v.len() >= 5 && d.len() >= 5, "{v:?} {d:?}");
        let day = |x: f64| {
            chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap() + chrono::Days::new(x as u64)
        };
        let mut rows = String::from("visits,created\n");
        for (x, y) in v.iter().zip(&d) {
            rows.push_str(&format!("{x},{}\n{},{}\n", day(*y), x - 0.5, day(y - 1.0)));
        }
        rows.push_str("-3,2019-05-05\n999,2031-01-01\n,\nNA,2025-03-03\n");
        for threads in [1, 2] {
            let (g, f) = both(&mut m, rows.as_bytes(), None, threads, 1 << 20);
            assert_eq!(f, g, "{algo:?}");
        }
        let fast = predict_csv_fast(&m, rows.as_bytes(), None, Vec::new(), 1 << 20).unwrap();
        assert!(fast.is_some(), "the fast path took it");
    }
}
