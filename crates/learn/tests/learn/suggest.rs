//! `suggest` (points from which rules fired, flags, thresholds) and `backtest` (tier
//! transitions, precision, warnings) on small hand-made sets with known answers.

use leadscore_learn::backtest::{TOO_LOW, backtest};
use leadscore_learn::encode::Sparse;
use leadscore_learn::evaluate::RuleScores;
use leadscore_learn::suggest::{
    Flag, SuggestParams, suggest_points, threshold_for_precision, threshold_for_share,
};

/// 200 leads in 50 blocks of four: (A, B) = (yes, yes), (no, yes), (yes, no), (no, no). A
/// lead with A converts when `block % 10 < 7` (70%), one without when `block % 10 < 2` (20%);
/// within a block both leads of an A-group have the same outcome, so B carries no
/// information at all: 45% convert with B and 45% without (the base rate). Column 2 (C) never
/// fires.
fn two_rules() -> (Sparse, Vec<f64>) {
    let mut x = Sparse {
        ptr: vec![0],
        terms: 3,
        ..Sparse::default()
    };
    let mut y = Vec::new();
    for i in 0..200usize {
        let (block, pos) = (i / 4, i % 4);
        let a = pos % 2 == 0;
        let b = pos < 2;
        if a {
            x.idx.push(0);
            x.val.push(1.0);
        }
        if b {
            x.idx.push(1);
            x.val.push(1.0);
        }
        x.ptr.push(x.idx.len());
        let won = if a { block % 10 < 7 } else { block % 10 < 2 };
        y.push(f64::from(u8::from(won)));
    }
    (x, y)
}

#[test]
fn the_predictive_rule_gets_the_most_points_and_the_noise_rule_is_flagged() {
    let (x, y) = two_rules();
    let params = SuggestParams {
        max_points: 10,
        ..SuggestParams::default()
    };
    let s = suggest_points(&x, &y, &[5, 20, 7], &params).unwrap();
    assert_eq!(s.rows, 200);
    assert!((s.base_rate - 0.45).abs() < 1e-12);
    let (a, b, c) = (&s.rules[0], &s.rules[1], &s.rules[2]);
    // A: 70% against 20%. Unpenalised, its log odds ratio would be ln(7/3) + ln 4 = 2.23 with
    // a standard error of sqrt(1/70 + 1/30 + 1/20 + 1/80) = 0.33; the penalty (λ = 1 against
    // a curvature of about 1/0.33² = 9) shrinks it by about a tenth, to 2.02, and its
    // standard error to 0.31.
    assert!((a.coefficient - 2.018).abs() < 2e-3, "{a:?}");
    assert!((a.std_error - 0.307).abs() < 2e-3, "{a:?}");
    assert!(a.z > 6.0, "{a:?}");
    assert_eq!(a.proposed, 10);
    assert!(a.flags.is_empty(), "{a:?}");
    assert_eq!(
        (a.fired, a.rate_fired, a.rate_not_fired),
        (100, Some(0.7), Some(0.2))
    );
    // B: the score equations hold at exactly 0 (each block's B half has the outcomes of its
    // other half), so the coefficient is 0 up to the solver's tolerance, and so is z.
    assert!(b.coefficient.abs() < 1e-6, "{b:?}");
    assert_eq!(b.proposed, 0);
    assert!(
        matches!(b.flags[..], [Flag::NotSignificant { z }, Flag::NoBetterThanBase] if z.abs() < 1e-4),
        "{b:?}"
    );
    assert_eq!((b.rate_fired, b.rate_not_fired), (Some(0.45), Some(0.45)));
    // C: no lead fired it: nothing to learn, its points stay.
    assert_eq!(c.flags, vec![Flag::NeverFires]);
    assert_eq!((c.proposed, c.fired, c.rate_fired), (7, 0, None));
}

#[test]
fn a_negative_rule_keeps_its_sign() {
    // A flipped: leads with A now convert at 20%, without at 70%.
    let (x, _) = two_rules();
    let y: Vec<f64> = (0..200)
        .map(|i| {
            let a = (i % 4) % 2 == 0;
            let block = i / 4;
            f64::from(u8::from(if a { block % 10 < 2 } else { block % 10 < 7 }))
        })
        .collect();
    let s = suggest_points(&x, &y, &[-5, 3, 0], &SuggestParams::default()).unwrap();
    assert_eq!(s.rules[0].proposed, -10);
    assert!(s.rules[0].flags.is_empty(), "{:?}", s.rules[0]);
}

#[test]
fn one_outcome_only_is_an_error() {
    let (x, _) = two_rules();
    let e = suggest_points(&x, &[0.0; 200], &[1, 1, 1], &SuggestParams::default()).unwrap_err();
    assert!(e.to_string().contains("one outcome only"), "{e}");
}

#[test]
fn the_sales_share_threshold_lets_exactly_that_share_through() {
    // Scores 1..=20, one lead each: the top 25% are the five leads scoring 16 to 20.
    let score: Vec<f64> = (1..=20).map(f64::from).collect();
    let y: Vec<f64> = (1..=20).map(|s| f64::from(u8::from(s % 2 == 0))).collect();
    let all = vec![true; 20];
    let t = threshold_for_share(&score, &all, &y, 0.25).unwrap();
    assert_eq!((t.value, t.passing, t.share), (16.0, 5, 0.25));
    // 16, 18, 20 converted: 3 of 5.
    assert_eq!(t.precision, 0.6);
    // A disqualified lead at 20 cannot qualify but still counts among all leads: the floor
    // moves down one score to let five through.
    let mut elig = all.clone();
    elig[19] = false;
    let t = threshold_for_share(&score, &elig, &y, 0.25).unwrap();
    assert_eq!((t.value, t.passing, t.share), (15.0, 5, 0.25));
}

#[test]
fn the_precision_threshold_is_the_lowest_that_reaches_it() {
    // From the top: 20 ✓, 19 ✓, 18 ✗, 17 ✓, 16 ✗, 15 ✗, then ✗ below. Precision at ≥ 17 is
    // 3/4, at ≥ 16 3/5 = 0.6, at ≥ 15 3/6 = 0.5.
    let score: Vec<f64> = (1..=20).map(f64::from).collect();
    let y: Vec<f64> = (1..=20)
        .map(|s| f64::from(u8::from([20, 19, 17].contains(&s))))
        .collect();
    let all = vec![true; 20];
    let t = threshold_for_precision(&score, &all, &y, 0.6).unwrap();
    assert_eq!((t.value, t.passing, t.precision), (16.0, 5, 0.6));
    let t = threshold_for_precision(&score, &all, &y, 0.75).unwrap();
    assert_eq!(t.value, 17.0);
    assert!(threshold_for_precision(&score, &all, &y, 1.01).is_none());
}

fn scores(score: &[f64], tier: &[&str], qualified: &[bool]) -> RuleScores {
    RuleScores {
        score: score.to_vec(),
        tier: tier.iter().map(|t| t.to_string()).collect(),
        tier_names: vec!["hot".into(), "warm".into(), "cold".into()],
        grade: vec![String::new(); score.len()],
        qualified: qualified.to_vec(),
    }
}

#[test]
fn the_transition_matrix_counts_leads_by_current_and_candidate_tier() {
    // Ten leads:            0     1     2     3     4     5     6     7     8     9
    // current tier:        hot   hot   warm  warm  warm  cold  cold  cold  cold  cold
    // candidate tier:      hot   warm  hot   warm  cold  warm  cold  cold  cold  hot
    // converted:            1     1     1     0     0     0     0     0     0     1
    // Matrix (rows current hot/warm/cold, columns candidate hot/warm/cold):
    //   hot:  1 1 0;  warm: 1 1 1;  cold: 1 1 3.  Changed tier: 1, 2, 4, 5, 9 = 5 leads.
    // Current qualified {0, 1}: precision 2/2, recall 2/4. Candidate {0, 2, 9}: 3/3, 3/4.
    let y = [1., 1., 1., 0., 0., 0., 0., 0., 0., 1.];
    let cur = scores(
        &[9., 8., 5., 5., 4., 1., 1., 0., 0., 0.],
        &[
            "hot", "hot", "warm", "warm", "warm", "cold", "cold", "cold", "cold", "cold",
        ],
        &[
            true, true, false, false, false, false, false, false, false, false,
        ],
    );
    let cand = scores(
        &[9., 5., 8., 5., 1., 4., 1., 0., 0., 8.],
        &[
            "hot", "warm", "hot", "warm", "cold", "warm", "cold", "cold", "cold", "hot",
        ],
        &[
            true, false, true, false, false, false, false, false, false, true,
        ],
    );
    // The converted leads brought 100, 200, 300 and 400: the current sales-ready leads (0, 1)
    // 30% of it, the candidate's (0, 2, 9) 80%.
    let revenue = [100., 200., 300., 0., 0., 0., 0., 0., 0., 400.];
    let b = backtest("ten.csv", &y, &cur, &cand, ("a", "b"), Some(&revenue)).unwrap();
    assert_eq!(b.current.revenue_share, Some(0.3));
    assert_eq!(b.candidate.revenue_share, Some(0.8));
    let row = b
        .text()
        .lines()
        .find(|l| l.starts_with("revenue captured"))
        .map(str::to_owned);
    assert_eq!(
        row.as_deref()
            .map(|r| r.split_whitespace().collect::<Vec<_>>()),
        Some(vec!["revenue", "captured", "30.0%", "80.0%"])
    );
    // Without revenue: no such figure or row.
    let plain = backtest("ten.csv", &y, &cur, &cand, ("a", "b"), None).unwrap();
    assert_eq!(plain.current.revenue_share, None);
    assert!(!plain.text().contains("revenue"), "{}", plain.text());
    assert_eq!(
        b.transitions,
        vec![vec![1, 1, 0], vec![1, 1, 1], vec![1, 1, 3]]
    );
    assert_eq!(b.changed_tier, 5);
    assert_eq!((b.newly_qualified, b.no_longer_qualified), (2, 1));
    assert_eq!(
        (b.current.qualified, b.current.precision, b.current.recall),
        (2, Some(1.0), Some(0.5))
    );
    assert_eq!(
        (
            b.candidate.qualified,
            b.candidate.precision,
            b.candidate.recall
        ),
        (3, Some(1.0), Some(0.75))
    );
    assert_eq!(b.candidate.lift, Some(2.5));
    assert!(b.warnings.is_empty(), "{:?}", b.warnings);
    assert!(
        b.text().contains("change tier: 5 of 10 leads (50.0%)"),
        "{}",
        b.text()
    );
}

#[test]
fn a_candidate_that_qualifies_many_more_at_much_lower_precision_is_warned_about() {
    // Current: leads 0–1 qualify (both convert). Candidate: 0–7 qualify, 3 of 8 convert:
    // 4× as many at 37.5% against 100%, and 37.5% < 1.5 × the base rate of 30%.
    let y = [1., 1., 0., 0., 0., 0., 0., 1., 0., 0.];
    let t = ["hot"; 10];
    let q = |k: usize| (0..10).map(|i| i < k).collect::<Vec<bool>>();
    let s: Vec<f64> = (0..10).map(|i| f64::from(10 - i)).collect();
    let b = backtest(
        "ten.csv",
        &y,
        &scores(&s, &t, &q(2)),
        &scores(&s, &t, &q(8)),
        ("a", "b"),
        None,
    )
    .unwrap();
    assert_eq!(b.warnings.len(), 2, "{:?}", b.warnings);
    assert!(
        b.warnings.iter().all(|w| w.starts_with(TOO_LOW)),
        "{:?}",
        b.warnings
    );
    assert!(
        b.warnings[0].contains("4.0× the current 2"),
        "{:?}",
        b.warnings
    );
    // The same candidate against itself: no drop, but still below 1.5× the base rate.
    let b = backtest(
        "ten.csv",
        &y,
        &scores(&s, &t, &q(8)),
        &scores(&s, &t, &q(8)),
        ("a", "b"),
        None,
    )
    .unwrap();
    assert_eq!(b.warnings.len(), 1, "{:?}", b.warnings);
    // Qualifying 2 of which 2 convert: fine.
    let b = backtest(
        "ten.csv",
        &y,
        &scores(&s, &t, &q(8)),
        &scores(&s, &t, &q(2)),
        ("a", "b"),
        None,
    )
    .unwrap();
    assert!(b.warnings.is_empty(), "{:?}", b.warnings);
}
