//! Champion/challenger and drift (issue 4), as pure functions over the rows the store returns:
//! [`compare`] puts the active model (champion) and the challenger side by side on the contacts
//! with a won/lost outcome (ROC-AUC, share qualified, precision and recall of `qualified`, tier
//! transitions); [`conversion`] and [`drift`] compare conversion per tier with a version's
//! baseline. The service methods that read the store and call these are in `lib.rs`.

use leadscore_learn::delong::{AucDifference, auc_difference};
use leadscore_store::shadow::OutcomeRow;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One model's numbers on the compared contacts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Side {
    /// The model version.
    pub version: i64,
    /// Contacts compared.
    pub count: usize,
    /// ROC-AUC of the score against won (ties count half); `None` without both classes.
    pub auc: Option<f64>,
    /// Share of the contacts the model qualifies; `None` without contacts.
    pub qualified_share: Option<f64>,
    /// Won among the qualified; `None` when none is qualified.
    pub precision: Option<f64>,
    /// Qualified among the won; `None` when none is won.
    pub recall: Option<f64>,
    /// Share of the won revenue (the amounts of `won` outcomes) from the contacts the model
    /// qualifies; `None` without revenue.
    pub qualified_revenue_share: Option<f64>,
}

/// How many contacts went from a champion tier to a challenger tier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transition {
    /// The champion's tier.
    pub from: String,
    /// The challenger's tier.
    pub to: String,
    /// Contacts.
    pub count: usize,
}

/// The champion against the challenger on the contacts with a won/lost outcome that both
/// scored (the challenger scores contacts as events arrive, so some may not have its score).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// The active model.
    pub champion: Side,
    /// The challenger.
    pub challenger: Side,
    /// Won contacts compared.
    pub won: usize,
    /// Lost contacts compared.
    pub lost: usize,
    /// Revenue of the won contacts compared (the amounts of their `won` outcomes).
    pub revenue: f64,
    /// Contacts with an outcome the challenger has not scored (left out).
    pub unscored: usize,
    /// Tier transitions champion → challenger, by `from` then `to`.
    pub transitions: Vec<Transition>,
    /// The challenger's ROC-AUC less the champion's on these contacts, with its 95% interval
    /// and p-value (DeLong, paired): whether the challenger ranks better beyond chance yet.
    /// `None` with fewer than two won or two lost contacts.
    pub auc_difference: Option<AucDifference>,
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

fn side(version: i64, won: &[bool], revenue: &[f64], scores: &[f64], qualified: &[bool]) -> Side {
    let y: Vec<f64> = won.iter().map(|&w| f64::from(u8::from(w))).collect();
    let n = won.len();
    let q = qualified.iter().filter(|&&q| q).count();
    let w = won.iter().filter(|&&w| w).count();
    let tp = won
        .iter()
        .zip(qualified)
        .filter(|(w, q)| **w && **q)
        .count();
    let ratio = |a: usize, b: usize| (b > 0).then(|| a as f64 / b as f64);
    let total: f64 = revenue.iter().sum();
    // (A fold from +0: an empty float sum is -0.)
    let kept = revenue
        .iter()
        .zip(qualified)
        .filter(|(_, q)| **q)
        .fold(0.0, |s, (r, _)| s + r);
    Side {
        version,
        count: n,
        auc: if n == 0 {
            None
        } else {
            finite(leadscore_learn::metrics::roc_auc(&y, scores))
        },
        qualified_share: ratio(q, n),
        precision: ratio(tp, q),
        recall: ratio(tp, w),
        qualified_revenue_share: (total > 0.0).then(|| kept / total),
    }
}

/// Compares champion (`champion_version`, the stored scores) and challenger
/// (`challenger_version`) on `rows`; rows without a challenger score of that version are
/// counted in `unscored` and left out.
pub fn compare(rows: &[OutcomeRow], champion_version: i64, challenger_version: i64) -> Comparison {
    let paired: Vec<_> = rows
        .iter()
        .filter_map(|r| {
            r.challenger
                .as_ref()
                .filter(|c| c.version == challenger_version)
                .map(|c| (r, c))
        })
        .collect();
    let won: Vec<bool> = paired.iter().map(|(r, _)| r.won).collect();
    let revenue: Vec<f64> = paired.iter().map(|(r, _)| r.revenue).collect();
    let champ_scores: Vec<f64> = paired.iter().map(|(r, _)| r.score).collect();
    let champ_q: Vec<bool> = paired
        .iter()
        .map(|(r, _)| r.status == "qualified")
        .collect();
    let chal_scores: Vec<f64> = paired.iter().map(|(_, c)| c.score).collect();
    let chal_q: Vec<bool> = paired
        .iter()
        .map(|(_, c)| c.status == "qualified")
        .collect();
    let mut moves: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (r, c) in &paired {
        *moves.entry((r.tier.clone(), c.tier.clone())).or_default() += 1;
    }
    let w = won.iter().filter(|&&w| w).count();
    let y: Vec<f64> = won.iter().map(|&w| f64::from(u8::from(w))).collect();
    Comparison {
        auc_difference: auc_difference(&y, &champ_scores, &chal_scores),
        champion: side(champion_version, &won, &revenue, &champ_scores, &champ_q),
        challenger: side(challenger_version, &won, &revenue, &chal_scores, &chal_q),
        won: w,
        lost: won.len() - w,
        revenue: revenue.iter().sum(),
        unscored: rows.len() - paired.len(),
        transitions: moves
            .into_iter()
            .map(|((from, to), count)| Transition { from, to, count })
            .collect(),
    }
}

/// Contacts with an outcome in a tier, how many of them were won, and their revenue.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct TierCount {
    /// Contacts with a won/lost outcome in the tier.
    pub n: usize,
    /// Of them, won.
    pub won: usize,
    /// The amounts of their `won` outcomes (0 in baselines recorded before it was kept).
    #[serde(default)]
    pub revenue: f64,
}

impl TierCount {
    /// The conversion rate, `None` without contacts.
    pub fn rate(&self) -> Option<f64> {
        (self.n > 0).then(|| self.won as f64 / self.n as f64)
    }
}

/// Conversion per tier (of the stored, champion scores) over `rows`.
pub fn conversion(rows: &[OutcomeRow]) -> BTreeMap<String, TierCount> {
    let mut out: BTreeMap<String, TierCount> = BTreeMap::new();
    for r in rows {
        let t = out.entry(r.tier.clone()).or_default();
        t.n += 1;
        t.won += usize::from(r.won);
        t.revenue += r.revenue;
    }
    out
}

/// One tier's drift.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TierDrift {
    /// The tier.
    pub tier: String,
    /// Conversion in the baseline (`None`: no contact of the tier then).
    pub baseline: Option<f64>,
    /// Conversion now (`None`: no contact of the tier now).
    pub current: Option<f64>,
    /// Contacts with an outcome in the tier now.
    pub n: usize,
    /// Their revenue now (the amounts of their `won` outcomes).
    pub revenue: f64,
    /// Its share of all the revenue now; `None` without revenue.
    pub revenue_share: Option<f64>,
    /// `n ≥ min_n` and the conversion moved more than the tolerance from the baseline.
    pub drifted: bool,
}

/// When and from what a baseline was recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BaselineInfo {
    /// When (RFC 3339).
    pub recorded_at: String,
    /// What recorded it: `rescore: <cause>`, the end of a full re-score of the version
    /// (`model v2` after its activation, `schedule`, `manual`), or `drift request` (the first
    /// drift call, for a version never re-scored).
    pub source: String,
    /// Contacts with a won/lost outcome it was computed from. 0: there were none; it is
    /// recorded again at the end of the next full re-score once there are.
    pub contacts: usize,
    /// Of them, won.
    pub won: usize,
}

impl BaselineInfo {
    /// The description of `tiers` recorded at `recorded_at` (ms) by `source`.
    pub fn new(tiers: &BTreeMap<String, TierCount>, recorded_at: i64, source: &str) -> Self {
        BaselineInfo {
            recorded_at: chrono::DateTime::from_timestamp_millis(recorded_at)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                .unwrap_or_default(),
            source: source.to_owned(),
            contacts: tiers.values().map(|t| t.n).sum(),
            won: tiers.values().map(|t| t.won).sum(),
        }
    }
}

/// Conversion per tier now against a baseline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Drift {
    /// The model version.
    pub version: i64,
    /// When and from what the baseline was recorded (set by the service).
    pub baseline: Option<BaselineInfo>,
    /// Largest absolute move allowed.
    pub tolerance: f64,
    /// Fewest contacts for a tier to count.
    pub min_n: usize,
    /// Every tier of the baseline or of now, by name.
    pub tiers: Vec<TierDrift>,
    /// Some tier drifted.
    pub alert: bool,
}

/// Compares `current` with `baseline` per tier: a tier drifts when it has at least `min_n`
/// contacts now, a rate in both, and its rate moved by more than `tolerance` (absolute).
pub fn drift(
    version: i64,
    baseline: &BTreeMap<String, TierCount>,
    current: &BTreeMap<String, TierCount>,
    tolerance: f64,
    min_n: usize,
) -> Drift {
    let revenue: f64 = current.values().map(|t| t.revenue).sum();
    let mut names: Vec<&String> = baseline.keys().chain(current.keys()).collect();
    names.sort();
    names.dedup();
    let tiers: Vec<TierDrift> = names
        .into_iter()
        .map(|t| {
            let b = baseline.get(t).and_then(TierCount::rate);
            let cur = current.get(t).copied().unwrap_or_default();
            let c = cur.rate();
            let drifted =
                cur.n >= min_n && matches!((b, c), (Some(b), Some(c)) if (c - b).abs() > tolerance);
            TierDrift {
                tier: t.clone(),
                baseline: b,
                current: c,
                n: cur.n,
                revenue: cur.revenue,
                revenue_share: (revenue > 0.0).then(|| cur.revenue / revenue),
                drifted,
            }
        })
        .collect();
    Drift {
        version,
        baseline: None,
        tolerance,
        min_n,
        alert: tiers.iter().any(|t| t.drifted),
        tiers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use leadscore_store::shadow::ChallengerScore;

    fn row(id: &str, won: bool, score: f64, tier: &str, ch: Option<(f64, &str)>) -> OutcomeRow {
        let status = |t: &str| if t == "hot" { "qualified" } else { "pool" }.to_owned();
        OutcomeRow {
            contact_id: id.into(),
            won,
            revenue: if won { score * 10.0 } else { 0.0 },
            score,
            tier: tier.into(),
            status: status(tier),
            challenger: ch.map(|(s, t)| ChallengerScore {
                contact_id: id.into(),
                version: 2,
                score: s,
                tier: t.into(),
                status: status(t),
                scored_at: 0,
            }),
        }
    }

    #[test]
    fn compare_counts_pairs_auc_precision_recall_and_transitions() {
        let rows = vec![
            row("a", true, 60.0, "hot", Some((10.0, "cold"))),
            row("b", false, 55.0, "hot", Some((70.0, "hot"))),
            row("c", true, 30.0, "warm", Some((80.0, "hot"))),
            row("d", false, 5.0, "cold", Some((5.0, "cold"))),
            row("e", true, 90.0, "hot", None),
        ];
        let c = compare(&rows, 1, 2);
        assert_eq!((c.won, c.lost, c.unscored), (2, 2, 1));
        // Champion: won a=60, c=30; lost b=55, d=5. Pairs (won > lost): a>b, a>d, c>d = 3 of 4.
        assert_eq!(c.champion.auc, Some(0.75));
        // Qualified a, b: share 2/4, precision 1/2, recall 1/2.
        assert_eq!(c.champion.qualified_share, Some(0.5));
        assert_eq!(c.champion.precision, Some(0.5));
        assert_eq!(c.champion.recall, Some(0.5));
        // Won revenue (score x 10): a 600, c 300; the champion qualifies a: 600 of 900.
        assert_eq!(c.revenue, 900.0);
        assert_eq!(c.champion.qualified_revenue_share, Some(600.0 / 900.0));
        // The challenger qualifies c (and b, lost): 300 of 900.
        assert_eq!(c.challenger.qualified_revenue_share, Some(300.0 / 900.0));
        // Challenger: won a=10, c=80; lost b=70, d=5. Pairs: a>d, c>b, c>d = 3 of 4.
        assert_eq!(c.challenger.auc, Some(0.75));
        assert_eq!(c.challenger.qualified_share, Some(0.5));
        assert_eq!(c.challenger.precision, Some(0.5));
        // Paired DeLong: won placements (share of lost beaten) champion [1, 1/2], challenger
        // [1/2, 1]; lost placements (share of won above) [1/2, 1] for both. Difference 0;
        // variance var([-1/2, 1/2])/2 + 0 = 1/4.
        let d = c.auc_difference.unwrap();
        assert_eq!((d.difference, d.std_error, d.p_value), (0.0, 0.5, 1.0));
        let t: Vec<(&str, &str, usize)> = c
            .transitions
            .iter()
            .map(|t| (t.from.as_str(), t.to.as_str(), t.count))
            .collect();
        assert_eq!(
            t,
            [
                ("cold", "cold", 1),
                ("hot", "cold", 1),
                ("hot", "hot", 1),
                ("warm", "hot", 1)
            ]
        );
    }

    #[test]
    fn drift_needs_min_n_and_a_move_beyond_the_tolerance() {
        let b: BTreeMap<String, TierCount> = [(
            "hot".to_owned(),
            TierCount {
                n: 10,
                won: 5,
                revenue: 0.0,
            },
        )]
        .into();
        let mut now = b.clone();
        now.insert(
            "hot".into(),
            TierCount {
                n: 20,
                won: 13,
                revenue: 300.0,
            },
        );
        // 0.65 - 0.5 = 0.15 > 0.1 with n = 20.
        assert!(drift(1, &b, &now, 0.1, 20).alert);
        assert!(!drift(1, &b, &now, 0.2, 20).alert);
        assert!(!drift(1, &b, &now, 0.1, 21).alert);
        now.insert(
            "cold".into(),
            TierCount {
                n: 30,
                won: 0,
                revenue: 100.0,
            },
        );
        let d = drift(1, &b, &now, 0.2, 20);
        assert_eq!(d.tiers[0].tier, "cold");
        assert_eq!((d.tiers[0].baseline, d.tiers[0].drifted), (None, false));
        // Revenue now, and its share: 100 of 400 in cold, 300 in hot.
        assert_eq!(
            (d.tiers[0].revenue, d.tiers[0].revenue_share),
            (100.0, Some(0.25))
        );
        assert_eq!(d.tiers[1].revenue_share, Some(0.75));
        // A baseline stored before revenue was kept reads with none.
        let old: BTreeMap<String, TierCount> =
            serde_json::from_str(r#"{"hot":{"n":10,"won":6}}"#).unwrap();
        assert_eq!(
            old["hot"],
            TierCount {
                n: 10,
                won: 6,
                revenue: 0.0
            }
        );
    }
}
