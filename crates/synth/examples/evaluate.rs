//! Checks that a generated data set carries a learnable but imperfect signal:
//! prints conversion rates, event statistics and the hold-out ROC-AUC of a
//! plain logistic regression on attributes and event aggregates.
//!
//! `cargo run --release -p leadscore-synth --example evaluate -- [CONTACTS] [SEED]`
//! (defaults: 50000 contacts, seed 42). Used to tune the ground truth; a
//! stronger model (gradient boosting) should score a little higher.

// The numeric code below walks several parallel arrays by index; iterator
// chains over four of them at once would read worse.
#![allow(clippy::needless_range_loop)]

use std::collections::BTreeMap;

use chrono::DateTime;
use leadscore_synth::{GenerateOptions, generate_to};

/// Parses a CSV produced by the generator (no field needs quoting in the
/// contacts, events and outcomes tables).
fn rows(bytes: &[u8]) -> impl Iterator<Item = Vec<&str>> {
    std::str::from_utf8(bytes)
        .expect("utf-8")
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
}

fn ts(s: &str) -> i64 {
    DateTime::parse_from_rfc3339(s)
        .expect("rfc3339")
        .timestamp()
}

fn auc(scores: &[f64], labels: &[bool]) -> f64 {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let (mut rank_sum, mut pos) = (0.0, 0.0);
    for (r, &i) in idx.iter().enumerate() {
        if labels[i] {
            rank_sum += r as f64 + 1.0;
            pos += 1.0;
        }
    }
    let neg = labels.len() as f64 - pos;
    (rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg)
}

/// Maps category strings to stable column indices.
#[derive(Default)]
struct Vocab(BTreeMap<String, usize>);

impl Vocab {
    fn id(&mut self, s: &str) -> usize {
        let n = self.0.len();
        *self.0.entry(s.to_string()).or_insert(n)
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let contacts = args.next().map_or(50_000, |s| s.parse().expect("contacts"));
    let seed = args.next().map_or(42, |s| s.parse().expect("seed"));
    let opts = GenerateOptions {
        contacts,
        seed,
        ..GenerateOptions::default()
    };
    let (mut c, mut a, mut e, mut o) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let summary = generate_to(&opts, &mut c, &mut a, &mut e, &mut o).expect("generate");
    println!("{summary:?}");
    let as_of = opts.as_of.timestamp();
    let day = 86_400.0;

    // ---- per-contact categorical attributes ----
    let mut cats = Vocab::default();
    let mut cat_rows = Vec::new();
    let mut num_rows = Vec::new();
    let mut seniority = Vec::new();
    let mut authority = Vec::new();
    for r in rows(&c) {
        let mut ids = Vec::new();
        for (col, name) in [
            (8, "role"),
            (9, "sen"),
            (10, "ind"),
            (5, "country"),
            (12, "src"),
            (13, "auth"),
        ] {
            ids.push(cats.id(&format!("{name}={}", r[col])));
        }
        ids.push(cats.id(&format!("city_missing={}", r[6].is_empty())));
        ids.push(cats.id(&format!("age_missing={}", r[7].is_empty())));
        cat_rows.push(ids);
        let emp: f64 = r[11].parse().expect("employees");
        let age: f64 = r[7].parse().unwrap_or(35.0);
        let tenure = (as_of - ts(r[14])) as f64 / day;
        num_rows.push(vec![emp.log10(), emp.log10().powi(2), age, tenure]);
        seniority.push(r[9].to_string());
        authority.push(r[13].to_string());
    }
    let n = cat_rows.len();

    // ---- event aggregates ----
    let mut kinds = Vocab::default();
    let mut kind_counts: Vec<BTreeMap<usize, f64>> = vec![BTreeMap::new(); n];
    let mut agg = vec![[0.0f64; 7]; n]; // pricing, careers, last30, last90, since_last, since_strong, total
    for a in agg.iter_mut() {
        a[4] = 600.0;
        a[5] = 600.0;
    }
    let mut per_contact = vec![0u64; n];
    let mut totals: BTreeMap<String, u64> = BTreeMap::new();
    for r in rows(&e) {
        let i: usize = r[0][2..].parse::<usize>().expect("id") - 1;
        let k = kinds.id(r[1]);
        *kind_counts[i].entry(k).or_default() += 1.0;
        *totals.entry(r[1].to_string()).or_default() += 1;
        per_contact[i] += 1;
        let age_days = (as_of - ts(r[2])) as f64 / day;
        let g = &mut agg[i];
        g[0] += f64::from(r[3] == "/pricing" && r[1] == "page_view");
        g[1] += f64::from(r[3] == "/careers");
        g[2] += f64::from(age_days < 30.0);
        g[3] += f64::from(age_days < 90.0);
        g[4] = g[4].min(age_days);
        if matches!(
            r[1],
            "demo_requested" | "trial_signup" | "meeting_booked" | "call_booked"
        ) || (r[1] == "page_view" && r[3] == "/pricing")
        {
            g[5] = g[5].min(age_days);
        }
        g[6] += 1.0;
    }
    let labels: Vec<bool> = rows(&o).map(|r| r[1] == "1").collect();

    // ---- descriptive statistics ----
    let rate = |f: &dyn Fn(usize) -> bool| {
        let (mut k, mut y) = (0.0, 0.0);
        for i in 0..n {
            if f(i) {
                k += 1.0;
                y += f64::from(labels[i]);
            }
        }
        format!("{:.3} (n={k})", y / k)
    };
    println!("conversion rate {}", rate(&|_| true));
    for s in [
        "executive",
        "vp",
        "director",
        "manager",
        "individual",
        "none",
    ] {
        println!("  seniority {s:<11} {}", rate(&|i| seniority[i] == s));
    }
    for s in ["decision_maker", "influencer", "none"] {
        println!("  authority {s:<15} {}", rate(&|i| authority[i] == s));
    }
    let zero = per_contact.iter().filter(|&&x| x <= 2).count();
    let big = per_contact.iter().filter(|&&x| x >= 100).count();
    println!(
        "contacts with <=2 events: {zero}, with >=100: {big}, max {}",
        per_contact.iter().max().unwrap()
    );
    let total_events: u64 = totals.values().sum();
    let mut by_count: Vec<_> = totals.iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(a.1));
    for (k, v) in by_count {
        println!(
            "  {k:<20} {:>6.2}%",
            *v as f64 * 100.0 / total_events as f64
        );
    }
    let demo = kinds.id("demo_requested");
    let demo_count = |i: usize| kind_counts[i].get(&demo).copied().unwrap_or(0.0);
    let pricing_count = |i: usize| agg[i][0];
    let signals: [(&str, &dyn Fn(usize) -> f64); 2] = [
        ("demo_requested/contact", &demo_count),
        ("pricing views/contact", &pricing_count),
    ];
    for (name, f) in signals {
        let mean = |want: bool| {
            let v: Vec<f64> = (0..n).filter(|&i| labels[i] == want).map(f).collect();
            v.iter().sum::<f64>() / v.len() as f64
        };
        println!(
            "{name}: converters {:.3}, others {:.3}",
            mean(true),
            mean(false)
        );
    }

    // ---- logistic regression ----
    let n_cat = cats.0.len();
    let n_kind = kinds.0.len();
    let dim = n_cat + 4 + n_kind + 7;
    let mut x = vec![vec![0.0f64; dim]; n];
    for i in 0..n {
        for &c in &cat_rows[i] {
            x[i][c] = 1.0;
        }
        x[i][n_cat..n_cat + 4].copy_from_slice(&num_rows[i]);
        for (&k, &v) in &kind_counts[i] {
            x[i][n_cat + 4 + k] = (1.0 + v).ln();
        }
        for (j, v) in agg[i].iter().enumerate() {
            x[i][n_cat + 4 + n_kind + j] = if j == 4 || j == 5 { *v } else { (1.0 + v).ln() };
        }
    }
    // Standardise columns so plain gradient steps behave.
    for j in 0..dim {
        let mean = x.iter().map(|r| r[j]).sum::<f64>() / n as f64;
        let sd = (x.iter().map(|r| (r[j] - mean).powi(2)).sum::<f64>() / n as f64)
            .sqrt()
            .max(1e-9);
        for r in x.iter_mut() {
            r[j] = (r[j] - mean) / sd;
        }
    }
    let train = n * 7 / 10;
    let (mut w, mut b) = (vec![0.0; dim], 0.0);
    let (mut m, mut v) = (vec![0.0; dim + 1], vec![0.0; dim + 1]);
    for step in 1..=400 {
        let mut grad = vec![0.0; dim + 1];
        for i in 0..train {
            let z: f64 = b + x[i].iter().zip(&w).map(|(a, b)| a * b).sum::<f64>();
            let err = 1.0 / (1.0 + (-z).exp()) - f64::from(labels[i]);
            for j in 0..dim {
                grad[j] += err * x[i][j];
            }
            grad[dim] += err;
        }
        for j in 0..=dim {
            let g = grad[j] / train as f64 + if j < dim { 1e-3 * w[j] } else { 0.0 };
            m[j] = 0.9 * m[j] + 0.1 * g;
            v[j] = 0.999 * v[j] + 0.001 * g * g;
            let mh = m[j] / (1.0 - 0.9f64.powi(step));
            let vh = v[j] / (1.0 - 0.999f64.powi(step));
            let d = 0.05 * mh / (vh.sqrt() + 1e-8);
            if j < dim {
                w[j] -= d;
            } else {
                b -= d;
            }
        }
    }
    let score = |i: usize| b + x[i].iter().zip(&w).map(|(a, b)| a * b).sum::<f64>();
    let s_test: Vec<f64> = (train..n).map(score).collect();
    let s_train: Vec<f64> = (0..train).map(score).collect();
    println!(
        "logistic regression ROC-AUC: train {:.3}, hold-out {:.3}",
        auc(&s_train, &labels[..train]),
        auc(&s_test, &labels[train..])
    );
}
