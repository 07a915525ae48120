//! `suggest` and `backtest`: score a history of leads with rule models (through the batch
//! scorer), then let `leadscore-learn` propose points and thresholds or compare two models;
//! the proposed file is the original text with only the changed numbers rewritten
//! (`leadscore_core::edit`).

use crate::learn::{contacts_file, open, rule_label as label, threads};
use crate::{Pending, parse_as_of};
use anyhow::{Context, Result, bail};
use leadscore_batch::{Format, NoProgress, ScoreJob, UnknownContacts};
use leadscore_core::edit::ModelText;
use leadscore_core::{Model, ModelError, num};
use leadscore_learn::backtest::{Side, backtest as compare, difference_text, side, sides_text};
use leadscore_learn::cv::stratified_folds;
use leadscore_learn::delong::{AucDifference, auc_difference};
use leadscore_learn::encode::Sparse;
use leadscore_learn::evaluate::RuleScores;
use leadscore_learn::suggest::Flag;
use leadscore_learn::suggest::{
    SuggestParams, Suggestion, Threshold, suggest_points, threshold_for_precision,
    threshold_for_share,
};
use leadscore_learn::{TableOptions, read_table};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where the history comes from: leads with outcomes, and optionally their events.
#[derive(clap::Args)]
pub(crate) struct HistoryArgs {
    /// Leads with known outcomes (CSV with a header row).
    #[arg(long)]
    data: PathBuf,
    /// The outcome column: 1/0, yes/no, true/false or won/lost.
    #[arg(long)]
    target: String,
    /// The id column (default: one lead per row, numbered from 1).
    #[arg(long)]
    id: Option<String>,
    /// Events of these leads (`contact_id`, `event`, `timestamp`, …) for behaviour rules;
    /// needs --id.
    #[arg(long)]
    events: Option<PathBuf>,
    /// Accounts of these leads (`id`, …), when the data has an `account_id` column.
    #[arg(long)]
    accounts: Option<PathBuf>,
    /// Score as of this time (RFC 3339 or YYYY-MM-DD; default now).
    #[arg(long)]
    as_of: Option<String>,
    /// The column with the revenue each lead brought (empty for none): the share of it the
    /// sales-ready leads of each model brought.
    #[arg(long, value_name = "COL")]
    revenue: Option<String>,
    /// Threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

/// One scored lead, as the batch scorer's NDJSON gives it (only what is read here).
#[derive(Deserialize)]
struct Lead {
    id: String,
    score: f64,
    tier: String,
    status: String,
    segment: String,
    /// Empty when read from the CSV export ([`Scoring::Scores`]).
    #[serde(default)]
    contributions: Vec<Fired>,
}

#[derive(Deserialize)]
struct Fired {
    rule: String,
    base_points: i64,
    points: f64,
    occurrences: Option<u32>,
}

/// The outcomes, by row, and the contacts file the batch scorer reads (the data itself with
/// `--id`, else a copy with the row numbers as ids, made once).
struct History {
    name: String,
    y: Vec<f64>,
    /// The revenue of each lead (`--revenue`).
    revenue: Option<Vec<f64>>,
    ids: Option<Vec<String>>,
    contacts: PathBuf,
    id_column: String,
    /// Holds the numbered copy, if any, until the history is dropped.
    _dir: tempfile::TempDir,
}

fn history(h: &HistoryArgs) -> Result<History> {
    if h.events.is_some() && h.id.is_none() {
        bail!("--events needs --id: events name their lead by its id");
    }
    let name = h.data.display().to_string();
    let opts = TableOptions {
        target: Some(h.target.clone()),
        id: h.id.clone(),
        schema: Some(Vec::new()),
        keep: h.revenue.iter().cloned().collect(),
        ..TableOptions::default()
    };
    let table = read_table(open(&h.data)?, &name, &opts)?;
    let revenue = h
        .revenue
        .as_deref()
        .map(|c| leadscore_learn::evaluate::revenue_values(&table, c))
        .transpose()?;
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    let (contacts, id_column) = contacts_file(&h.data, h.id.as_deref(), &name, dir.path())?;
    Ok(History {
        y: table.target.clone().expect("a target was asked for"),
        revenue,
        ids: table.ids.clone(),
        name,
        contacts,
        id_column,
        _dir: dir,
    })
}

/// What a scoring of the history is for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scoring {
    /// Every rule's contribution too (the regression's features); the scorer's warnings go
    /// to stderr.
    Full,
    /// Score, tier, status and segment only (read from the CSV export, a fraction of the
    /// NDJSON's work); no warnings (the full scoring gave them).
    Scores,
}

/// Scores every lead of the history with `model`, in input order.
fn score(h: &HistoryArgs, hist: &History, model: &Model, what: Scoring) -> Result<Vec<Lead>> {
    let job = ScoreJob {
        contacts: hist.contacts.clone(),
        accounts: h.accounts.clone(),
        events: h.events.clone(),
        input_format: Some(Format::Csv),
        as_of: parse_as_of(h.as_of.as_deref())?,
        unknown_contacts: UnknownContacts::Warn,
        threads: threads(h.threads),
        id_column: Some(hist.id_column.clone()),
        block_size: None,
    };
    let format = match what {
        Scoring::Full => Format::Ndjson,
        Scoring::Scores => Format::Csv,
    };
    let mut buf = Vec::new();
    let (_, summary) =
        leadscore_batch::score_files(&job, model, &mut buf, format, None, &NoProgress).map_err(
            |e| {
                anyhow::anyhow!(
                    "{}",
                    e.to_string()
                        .replace(&job.contacts.display().to_string(), &hist.name)
                )
            },
        )?;
    let leads: Vec<Lead> = match what {
        Scoring::Full => {
            for w in &summary.warnings {
                eprintln!("warning: {w}");
            }
            buf.split(|&b| b == b'\n')
                .filter(|l| !l.is_empty())
                .map(serde_json::from_slice)
                .collect::<Result<_, _>>()
                .context("reading the scores back")?
        }
        Scoring::Scores => csv::Reader::from_reader(&buf[..])
            .into_deserialize()
            .collect::<Result<_, _>>()
            .context("reading the scores back")?,
    };
    if leads.len() != hist.y.len() {
        bail!(
            "{}: {} rows but {} scores",
            hist.name,
            hist.y.len(),
            leads.len()
        );
    }
    if let Some(ids) = &hist.ids
        && ids.iter().zip(&leads).any(|(a, b)| *a != b.id)
    {
        bail!("{}: the scores do not come back in input order", hist.name);
    }
    Ok(leads)
}

fn model_error(e: ModelError) -> anyhow::Error {
    let n = e.diagnostics.len();
    anyhow::anyhow!(
        "{n} problem{} in the model:\n{e}",
        if n == 1 { "" } else { "s" }
    )
}

/// A rule model's file: its text (with the numbers located) and the compiled model.
fn load(path: &Path) -> Result<(ModelText, Model)> {
    let src = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read model {}", path.display()))?;
    let name = path.display().to_string();
    let text = ModelText::parse(&src, &name).map_err(model_error)?;
    let model = Model::from_toml(&src, &name).map_err(model_error)?;
    Ok((text, model))
}

/// Tier names highest first: each tier list's in order, then any other tier seen.
fn tier_names(text: &ModelText) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for set in &text.tier_sets {
        for t in &set.tiers {
            if !names.contains(&t.name) {
                names.push(t.name.clone());
            }
        }
    }
    names
}

fn rule_scores(text: &ModelText, leads: &[Lead]) -> RuleScores {
    RuleScores {
        score: leads.iter().map(|l| l.score).collect(),
        tier: leads.iter().map(|l| l.tier.clone()).collect(),
        tier_names: tier_names(text),
        grade: vec![String::new(); leads.len()],
        qualified: leads.iter().map(|l| l.status == "qualified").collect(),
    }
}

#[derive(clap::Args)]
pub(crate) struct SuggestArgs {
    #[command(flatten)]
    history: HistoryArgs,
    /// The rule model (TOML) to propose points and thresholds for.
    #[arg(long)]
    model: PathBuf,
    /// Where to write the proposed model: the same file with only changed numbers rewritten.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Put the sales-ready floor where this share of all leads (0–1) becomes sales-ready.
    #[arg(long, value_name = "SHARE", conflicts_with = "precision")]
    sales_share: Option<f64>,
    /// Put the sales-ready floor at the lowest score whose leads convert at this rate (0–1)
    /// or more on history. Default (neither flag): the share sales-ready now.
    #[arg(long)]
    precision: Option<f64>,
    /// Points of the strongest rule (default: the largest absolute points in the model).
    #[arg(long)]
    max_points: Option<i64>,
    /// L2 strength of the regression (scikit-learn's 1/C).
    #[arg(long, default_value_t = 1.0)]
    lambda: f64,
    /// Flag rules whose coefficient is within this many standard errors of 0.
    #[arg(long, default_value_t = 2.0)]
    min_z: f64,
    /// Print the proposal as JSON (rules, thresholds, comparison, diff hunks, warnings)
    /// instead of text; warnings still go to stderr too.
    #[arg(long)]
    json: bool,
}

/// `suggest --json`: the whole proposal.
#[derive(Serialize)]
struct ProposalJson<'a> {
    /// The history file.
    data: &'a str,
    /// Leads.
    rows: usize,
    /// Of them, converted.
    converted: usize,
    base_rate: f64,
    /// The L2 strength used.
    lambda: f64,
    intercept: f64,
    /// Log-odds per point of the proposed points.
    log_odds_per_point: f64,
    /// One entry per rule definition, in file order.
    rules: Vec<RuleJson<'a>>,
    /// One entry per tier threshold proposed.
    thresholds: Vec<ThresholdJson<'a>>,
    /// The current and the proposed model on the same history.
    comparison: ComparisonJson,
    diff: DiffJson,
    warnings: &'a [String],
    /// The file written (`--out`), if any.
    wrote: Option<String>,
}

#[derive(Serialize)]
struct RuleJson<'a> {
    rule: &'a str,
    /// The segment of a `[[segment.rule]]`; null for a default rule.
    segment: Option<&'a str>,
    /// The line of its `points` in the model file.
    line: usize,
    points: i64,
    proposed: i64,
    /// Log-odds per unit of the rule's feature (per firing for a plain rule).
    log_odds: f64,
    std_error: f64,
    z: f64,
    /// Leads that fired it.
    fired: usize,
    rate_fired: Option<f64>,
    rate_not_fired: Option<f64>,
    flags: &'a [Flag],
}

#[derive(Serialize)]
struct ThresholdJson<'a> {
    /// The segment whose tiers these are; null for the default tiers.
    segment: Option<&'a str>,
    tier: &'a str,
    /// `min` (score ≥) or `above` (score >).
    key: &'static str,
    current: Option<f64>,
    proposed: f64,
    note: &'a str,
}

#[derive(Serialize)]
struct ComparisonJson {
    current: Side,
    proposed: Side,
    /// ROC-AUC proposed − current on the same leads (DeLong, paired).
    auc_difference: Option<AucDifference>,
    /// ROC-AUC proposed (cross-validated) − current.
    auc_difference_cross_validated: Option<AucDifference>,
    /// The proposal cross-validated: proposed from the other folds' leads, scored on each
    /// fold's (null when fewer leads than folds converted, or did not).
    proposed_cross_validated: Option<Side>,
}

#[derive(Serialize)]
struct DiffJson {
    /// The model file.
    old: String,
    /// The proposed file's name (`--out`, else `proposed.toml`).
    new: String,
    /// One hunk per changed line, in file order.
    hunks: Vec<HunkJson>,
    /// The unified diff (empty when nothing changes).
    text: String,
}

#[derive(Serialize)]
struct HunkJson {
    line: usize,
    /// The rule or tier the line belongs to.
    what: String,
    old: String,
    new: String,
    /// The hunk as it stands in the unified diff.
    hunk: String,
}

fn check_share(flag: &str, v: Option<f64>) -> Result<()> {
    if let Some(v) = v
        && !(v > 0.0 && v < 1.0)
    {
        bail!("{flag} must be between 0 and 1 (exclusive), not {v}");
    }
    Ok(())
}

/// Rule features: per lead and rule definition, what the rule added over its points as written
/// (1 for a plain rule that fired, the decayed share or the occurrences otherwise).
fn features(text: &ModelText, leads: &[Lead]) -> Result<Sparse> {
    let mut x = Sparse {
        ptr: vec![0],
        terms: text.rules.len(),
        ..Sparse::default()
    };
    for l in leads {
        let mut row: Vec<(u32, f64)> = Vec::new();
        for c in &l.contributions {
            let j = text
                .rule_site(&l.segment, &c.rule)
                .with_context(|| format!("rule `{}` is not in the model file", c.rule))?;
            let v = if c.base_points != 0 {
                c.points / c.base_points as f64
            } else {
                f64::from(c.occurrences.unwrap_or(1))
            };
            if v != 0.0 {
                row.push((j as u32, v));
            }
        }
        row.sort_by_key(|e| e.0);
        for (j, v) in row {
            x.idx.push(j);
            x.val.push(v);
        }
        x.ptr.push(x.idx.len());
    }
    Ok(x)
}

fn passes(score: f64, threshold: f64, strict: bool) -> bool {
    if strict {
        score > threshold
    } else {
        score >= threshold
    }
}

/// A proposed tier threshold, and why.
struct TierChange {
    set: usize,
    tier: usize,
    value: f64,
    note: String,
}

/// New thresholds for every tier list from the new scores of the leads `leads` (indices into
/// `old`, `new` and `y`): the sales-ready floor by
/// `--sales-share`, `--precision` or the share sales-ready now; every other tier keeps the
/// share of leads it holds now. Thresholds stay in order down each list.
fn propose_tiers(
    a: &SuggestArgs,
    text: &ModelText,
    (old, new, y): (&[Lead], &[Lead], &[f64]),
    leads: &[usize],
    warnings: &mut Vec<String>,
) -> Vec<TierChange> {
    let mut out = Vec::new();
    for (k, set) in text.tier_sets.iter().enumerate() {
        let rows: Vec<usize> = leads
            .iter()
            .copied()
            .filter(|&i| text.tier_set_of(&old[i].segment) == k)
            .collect();
        if rows.is_empty() {
            continue;
        }
        let where_ = set
            .segment
            .as_ref()
            .map_or(String::new(), |s| format!(" of segment {s}"));
        let old_s: Vec<f64> = rows.iter().map(|&i| old[i].score).collect();
        let new_s: Vec<f64> = rows.iter().map(|&i| new[i].score).collect();
        let yy: Vec<f64> = rows.iter().map(|&i| y[i]).collect();
        let eligible: Vec<bool> = rows
            .iter()
            .map(|&i| new[i].status != "disqualified")
            .collect();
        let everyone = vec![true; rows.len()];
        let share_now = |t: f64, strict: bool, elig: &[bool]| {
            old_s
                .iter()
                .zip(elig)
                .filter(|(s, e)| **e && passes(**s, t, strict))
                .count() as f64
                / rows.len() as f64
        };
        let floor = set.sales_ready_floor().map(|(i, _)| i);
        // Proposed values (score >= value) per tier with a threshold.
        let mut values: Vec<Option<(Threshold, String)>> = vec![None; set.tiers.len()];
        for (i, t) in set.tiers.iter().enumerate() {
            let Some(th) = t.threshold else { continue };
            let keep = || {
                let share = share_now(th, t.strict, &everyone);
                threshold_for_share(&new_s, &everyone, &yy, share).map(|p| {
                    (
                        p,
                        format!("keeps the {:.1}% of leads it holds now", 100.0 * share),
                    )
                })
            };
            values[i] = if Some(i) == floor {
                let now = share_now(th, t.strict, &eligible);
                match (a.sales_share, a.precision) {
                    (Some(s), _) => threshold_for_share(&new_s, &eligible, &yy, s)
                        .map(|p| (p, format!("sales-ready floor: top {:.1}% asked", 100.0 * s))),
                    (None, Some(p)) => match threshold_for_precision(&new_s, &eligible, &yy, p) {
                        Some(t) => Some((
                            t,
                            format!(
                                "sales-ready floor: lowest with precision ≥ {:.1}%",
                                100.0 * p
                            ),
                        )),
                        None => {
                            warnings.push(format!(
                                    "no threshold{where_} reaches precision {:.1}% on this history: tier `{}` keeps the share sales-ready now",
                                    100.0 * p,
                                    t.name
                                ));
                            threshold_for_share(&new_s, &eligible, &yy, now).map(|p| {
                                (
                                    p,
                                    format!(
                                        "sales-ready floor: keeps {:.1}% sales-ready",
                                        100.0 * now
                                    ),
                                )
                            })
                        }
                    },
                    (None, None) => threshold_for_share(&new_s, &eligible, &yy, now).map(|p| {
                        (
                            p,
                            format!("sales-ready floor: keeps {:.1}% sales-ready", 100.0 * now),
                        )
                    }),
                }
            } else {
                keep()
            };
        }
        // Distinct new scores, highest first, to keep the thresholds in order.
        let mut distinct = new_s.clone();
        distinct.sort_by(|a, b| b.total_cmp(a));
        distinct.dedup();
        let below = |v: f64| distinct.iter().copied().find(|&s| s < v);
        let above = |v: f64| distinct.iter().rev().copied().find(|&s| s > v);
        let anchor = floor.unwrap_or(0);
        let mut chosen: Vec<Option<f64>> = values
            .iter()
            .map(|v| v.as_ref().map(|v| v.0.value))
            .collect();
        // Upwards from the anchor: each higher tier above the one below it; downwards: below.
        for i in (0..anchor).rev() {
            if let (Some(v), Some(lower)) =
                (chosen[i], chosen[i + 1..].iter().flatten().next().copied())
                && v <= lower
            {
                chosen[i] = Some(above(lower).unwrap_or(lower + 1.0));
            }
        }
        for i in anchor + 1..set.tiers.len() {
            if let (Some(v), Some(upper)) =
                (chosen[i], chosen[..i].iter().flatten().last().copied())
                && v >= upper
            {
                chosen[i] = Some(below(upper).unwrap_or(upper - 1.0));
            }
        }
        for (i, t) in set.tiers.iter().enumerate() {
            let (Some(v), Some((p, why))) = (chosen[i], &values[i]) else {
                continue;
            };
            // `above = x` means score > x: write the highest score below the floor.
            let written = if t.strict {
                below(v).unwrap_or(v - 1.0)
            } else {
                v
            };
            let passing = new_s.iter().filter(|&&s| s >= v).count();
            let note = if v == p.value {
                format!(
                    "{why}: {} of {} leads ({:.1}%) at or above {}, {:.1}% convert",
                    p.passing,
                    rows.len(),
                    100.0 * p.share,
                    num(v),
                    100.0 * p.precision
                )
            } else {
                format!(
                    "moved to {} to stay in order ({} leads at or above)",
                    num(v),
                    passing
                )
            };
            out.push(TierChange {
                set: k,
                tier: i,
                value: written,
                note,
            });
        }
        if floor.is_none() {
            warnings.push(format!(
                "the tiers{where_} have no sales-ready tier with a threshold: no sales-ready floor to propose"
            ));
        }
    }
    out
}

/// Categories whose once-only rules can now add up to more than the category's cap (in any
/// one segment): leads that fire several of them lose points to the cap, which the regression,
/// adding log-odds, does not know about.
fn cap_warnings(text: &ModelText, proposed: &[i64]) -> Vec<String> {
    let mut out = Vec::new();
    let profiles: Vec<Option<&str>> = std::iter::once(None)
        .chain(text.segments.iter().map(|(s, _)| Some(s.as_str())))
        .collect();
    for (cat, cap) in &text.categories {
        let Some(cap) = cap else { continue };
        let most = |points: &dyn Fn(usize) -> i64| {
            profiles
                .iter()
                .map(|p| {
                    text.rules
                        .iter()
                        .enumerate()
                        .filter(|(_, r)| {
                            &r.category == cat
                                && !r.per_occurrence
                                && (r.segment.is_none() || r.segment.as_deref() == *p)
                        })
                        .map(|(j, _)| points(j).max(0))
                        .sum::<i64>()
                })
                .max()
                .unwrap_or(0)
        };
        let (now, then) = (most(&|j| text.rules[j].points), most(&|j| proposed[j]));
        if then as f64 > *cap && then > now {
            out.push(format!(
                "category `{cat}`: its rules' proposed points add up to {then} (now {now}), above its cap of {}: leads that fire several lose points to the cap",
                num(*cap)
            ));
        }
    }
    out
}

fn pct(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| format!("{:.1}%", 100.0 * v))
}

/// Writes the proposed model to `p` (under a temporary name, renamed when complete).
fn write_proposed(p: &Path, src: &str) -> Result<()> {
    let pending = Pending::create(p)?;
    let mut f = pending.writer()?;
    f.write_all(src.as_bytes())?;
    f.flush()?;
    drop(f);
    pending.commit()
}

/// Cross-validation folds of the proposal.
const FOLDS: usize = 5;

/// What a proposal is fitted from: the model's text, the history and every lead's current
/// scores and rule features.
struct Fit<'a> {
    a: &'a SuggestArgs,
    text: &'a ModelText,
    hist: &'a History,
    old: &'a [Lead],
    x: &'a Sparse,
    current: &'a [i64],
    params: &'a SuggestParams,
    out_name: &'a str,
}

/// Proposed points and thresholds: the edited text, its source and model, the regression,
/// the thresholds and what to warn about.
struct Proposal {
    text: ModelText,
    src: String,
    model: Model,
    suggestion: Suggestion,
    tiers: Vec<TierChange>,
    warnings: Vec<String>,
}

impl Fit<'_> {
    /// Points from the regression on the leads `rows`, then thresholds from the scores those
    /// points give them.
    fn propose(&self, rows: &[usize]) -> Result<Proposal> {
        let y: Vec<f64> = rows.iter().map(|&i| self.hist.y[i]).collect();
        let x = self.x.select(rows);
        let suggestion = suggest_points(&x, &y, self.current, self.params)?;
        // Points first; the thresholds follow from the scores the new points give.
        let mut text = self.text.clone();
        for (j, r) in suggestion.rules.iter().enumerate() {
            text.set_points(j, r.proposed);
        }
        let stage = Model::from_toml(&text.render(), self.out_name).map_err(model_error)?;
        let mid = score(&self.a.history, self.hist, &stage, Scoring::Scores)?;
        let mut warnings = cap_warnings(
            &text,
            &suggestion
                .rules
                .iter()
                .map(|r| r.proposed)
                .collect::<Vec<_>>(),
        );
        let tiers = propose_tiers(
            self.a,
            &text,
            (self.old, &mid, &self.hist.y),
            rows,
            &mut warnings,
        );
        for t in &tiers {
            text.set_threshold(t.set, t.tier, t.value);
        }
        let src = text.render();
        let model = Model::from_toml(&src, self.out_name).map_err(|e| {
            anyhow::anyhow!("internal error: the proposed model does not compile:\n{e}")
        })?;
        Ok(Proposal {
            text,
            src,
            model,
            suggestion,
            tiers,
            warnings,
        })
    }

    /// The proposal cross-validated: proposed from four fifths of the leads (stratified folds)
    /// and scored on the other fifth, five times, the held-out scores and statuses pooled.
    /// `None` when fewer leads than folds converted (or did not).
    fn cross_validated(&self, name: &str) -> Result<Option<(Side, Vec<f64>)>> {
        let y = &self.hist.y;
        let pos = y.iter().filter(|&&v| v > 0.5).count();
        if pos.min(y.len() - pos) < FOLDS {
            return Ok(None);
        }
        let k = FOLDS;
        let folds = stratified_folds(y, k, 42);
        let mut held: Vec<Option<Lead>> = std::iter::repeat_with(|| None).take(y.len()).collect();
        for f in 0..k {
            let train: Vec<usize> = (0..y.len()).filter(|&i| folds[i] != f).collect();
            let p = self.propose(&train)?;
            let leads = score(&self.a.history, self.hist, &p.model, Scoring::Scores)?;
            for (i, l) in leads.into_iter().enumerate() {
                if folds[i] == f {
                    held[i] = Some(l);
                }
            }
        }
        let held: Vec<Lead> = held
            .into_iter()
            .map(|l| l.expect("every lead is in a fold"))
            .collect();
        // Only numbers change from fold to fold: the tier names are the model's.
        let scores = rule_scores(self.text, &held);
        Ok(Some((
            side(
                &format!("{name}, {k}-fold cross-validated"),
                y,
                &scores,
                self.hist.revenue.as_deref(),
            ),
            scores.score,
        )))
    }
}

pub(crate) fn suggest(a: SuggestArgs) -> Result<()> {
    check_share("--sales-share", a.sales_share)?;
    check_share("--precision", a.precision)?;
    if a.max_points.is_some_and(|m| m <= 0) {
        bail!("--max-points must be above 0");
    }
    let (text, model) = load(&a.model)?;
    if text.rules.is_empty() {
        bail!("{}: the model has no rules", a.model.display());
    }
    let hist = history(&a.history)?;
    let old = score(&a.history, &hist, &model, Scoring::Full)?;
    let x = features(&text, &old)?;
    let current: Vec<i64> = text.rules.iter().map(|r| r.points).collect();
    let params = SuggestParams {
        lambda: a.lambda,
        min_z: a.min_z,
        max_points: a
            .max_points
            .unwrap_or_else(|| current.iter().map(|p| p.abs()).max().unwrap_or(10).max(1)),
    };
    let out_name = a
        .out
        .as_ref()
        .map_or("proposed.toml".to_owned(), |p| p.display().to_string());
    let fit = Fit {
        a: &a,
        text: &text,
        hist: &hist,
        old: &old,
        x: &x,
        current: &current,
        params: &params,
        out_name: &out_name,
    };
    let all: Vec<usize> = (0..old.len()).collect();
    let Proposal {
        text,
        src: proposed_src,
        model: proposed,
        suggestion: s,
        tiers,
        mut warnings,
    } = fit.propose(&all)?;
    let new = score(&a.history, &hist, &proposed, Scoring::Scores)?;
    let cross = match fit.cross_validated(&label(&proposed)) {
        Ok(c) => c,
        Err(e) => {
            warnings.push(format!("the proposal is not cross-validated: {e:#}"));
            None
        }
    };
    let proposed_text = ModelText::parse(&proposed_src, &out_name).map_err(model_error)?;

    let mut o = String::new();
    let _ = writeln!(
        o,
        "{}: {} leads, {} converted ({:.1}%); {} rules; logistic regression on the rules that fired (L2 {}), {} log-odds per point",
        hist.name,
        s.rows,
        hist.y.iter().filter(|&&v| v > 0.5).count(),
        100.0 * s.base_rate,
        text.rules.len(),
        num(a.lambda),
        format_args!("{:.3}", s.log_odds_per_point)
    );
    let w = text
        .rules
        .iter()
        .map(|r| r.id.chars().count() + r.segment.as_ref().map_or(0, |s| s.chars().count() + 1))
        .chain([4])
        .max()
        .unwrap_or(4);
    let _ = writeln!(
        o,
        "\n{:<w$}  {:>6}  {:>8}  {:>8}  {:>6}  {:>6}  {:>10}  {:>9}  flag",
        "rule", "points", "proposed", "coef", "z", "fired", "conv fired", "conv not"
    );
    for (r, e) in text.rules.iter().zip(&s.rules) {
        let name = match &r.segment {
            Some(seg) => format!("{seg}/{}", r.id),
            None => r.id.clone(),
        };
        let flags: Vec<String> = e.flags.iter().map(ToString::to_string).collect();
        let _ = writeln!(
            o,
            "{name:<w$}  {:>6}  {:>8}  {:>8.3}  {:>6.1}  {:>6}  {:>10}  {:>9}  {}",
            e.points,
            e.proposed,
            e.coefficient,
            e.z,
            e.fired,
            pct(e.rate_fired),
            pct(e.rate_not_fired),
            flags.join("; ")
        );
        o.truncate(o.trim_end().len());
        o.push('\n');
    }
    if !tiers.is_empty() {
        let _ = writeln!(o, "\ntiers:");
        for t in &tiers {
            let set = &text.tier_sets[t.set];
            let site = &set.tiers[t.tier];
            let seg = set
                .segment
                .as_ref()
                .map_or(String::new(), |s| format!("segment {s}: "));
            let key = if site.strict { "above" } else { "min" };
            let _ = writeln!(
                o,
                "  {seg}{}: {key} {} -> {} ({})",
                site.name,
                site.threshold.map_or("-".into(), num),
                num(t.value),
                t.note
            );
        }
    }
    let y = &hist.y;
    let (a_side, b_side): (Side, Side) = (
        side(
            &label(&model),
            y,
            &rule_scores(&text, &old),
            hist.revenue.as_deref(),
        ),
        side(
            &label(&proposed),
            y,
            &rule_scores(&proposed_text, &new),
            hist.revenue.as_deref(),
        ),
    );
    let old_scores: Vec<f64> = old.iter().map(|l| l.score).collect();
    let new_scores: Vec<f64> = new.iter().map(|l| l.score).collect();
    let difference = auc_difference(y, &old_scores, &new_scores);
    let (cross, cross_difference) = match cross {
        Some((side, scores)) => (Some(side), auc_difference(y, &old_scores, &scores)),
        None => (None, None),
    };
    if a.json {
        let rules = text
            .rules
            .iter()
            .zip(&s.rules)
            .map(|(r, e)| RuleJson {
                rule: &r.id,
                segment: r.segment.as_deref(),
                line: r.line,
                points: e.points,
                proposed: e.proposed,
                log_odds: e.coefficient,
                std_error: e.std_error,
                z: e.z,
                fired: e.fired,
                rate_fired: e.rate_fired,
                rate_not_fired: e.rate_not_fired,
                flags: &e.flags,
            })
            .collect();
        let thresholds = tiers
            .iter()
            .map(|t| {
                let set = &text.tier_sets[t.set];
                let site = &set.tiers[t.tier];
                ThresholdJson {
                    segment: set.segment.as_deref(),
                    tier: &site.name,
                    key: if site.strict { "above" } else { "min" },
                    current: site.threshold,
                    proposed: t.value,
                    note: &t.note,
                }
            })
            .collect();
        let hunks = text
            .changes()
            .into_iter()
            .map(|c| HunkJson {
                hunk: c.hunk(),
                line: c.line,
                what: c.what,
                old: c.old,
                new: c.new,
            })
            .collect();
        let wrote = match &a.out {
            Some(p) => {
                write_proposed(p, &proposed_src)?;
                Some(p.display().to_string())
            }
            None => None,
        };
        for w in &warnings {
            eprintln!("warning: {w}");
        }
        let j = ProposalJson {
            data: &hist.name,
            rows: s.rows,
            converted: hist.y.iter().filter(|&&v| v > 0.5).count(),
            base_rate: s.base_rate,
            lambda: a.lambda,
            intercept: s.intercept,
            log_odds_per_point: s.log_odds_per_point,
            rules,
            thresholds,
            comparison: ComparisonJson {
                current: a_side,
                proposed: b_side,
                proposed_cross_validated: cross,
                auc_difference: difference,
                auc_difference_cross_validated: cross_difference,
            },
            diff: DiffJson {
                old: a.model.display().to_string(),
                text: text.unified_diff(&out_name),
                new: out_name,
                hunks,
            },
            warnings: &warnings,
            wrote,
        };
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, &j)?;
        writeln!(out)?;
        return Ok(());
    }
    let _ = writeln!(o, "\non the same data (sales-ready = status qualified):");
    let mut sides = vec![("current", &a_side), ("proposed", &b_side)];
    if let Some(c) = &cross {
        sides.push(("proposed (CV)", c));
    }
    o.push_str(&sides_text(&sides));
    if let Some(d) = &difference {
        o.push_str(&difference_text(d, "proposed", "current"));
    }
    if let Some(d) = &cross_difference {
        o.push_str(&difference_text(d, "proposed (CV)", "current"));
    }
    if cross.is_some() {
        let _ = writeln!(
            o,
            "proposed (CV): the leads cut into {FOLDS} folds (stratified), each fold's scored by the \
             points and thresholds proposed from the other folds' leads: what the proposal does on \
             leads it was not fitted to"
        );
    }
    let diff = text.unified_diff(&out_name);
    if diff.is_empty() {
        let _ = writeln!(o, "\nno change proposed");
    } else {
        let _ = writeln!(o, "\n{diff}");
    }
    if let Some(p) = &a.out {
        write_proposed(p, &proposed_src)?;
        let _ = writeln!(o, "wrote {}", p.display());
    }
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    std::io::stdout().lock().write_all(o.as_bytes())?;
    Ok(())
}

#[derive(clap::Args)]
pub(crate) struct BacktestArgs {
    #[command(flatten)]
    history: HistoryArgs,
    /// The model in use (TOML).
    #[arg(long)]
    current: PathBuf,
    /// The model to activate instead (TOML).
    #[arg(long)]
    candidate: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub(crate) fn backtest(a: BacktestArgs) -> Result<()> {
    let (ta, ma) = load(&a.current)?;
    let (tb, mb) = load(&a.candidate)?;
    let hist = history(&a.history)?;
    let la = score(&a.history, &hist, &ma, Scoring::Full)?;
    let lb = score(&a.history, &hist, &mb, Scoring::Full)?;
    let b = compare(
        &hist.name,
        &hist.y,
        &rule_scores(&ta, &la),
        &rule_scores(&tb, &lb),
        (&label(&ma), &label(&mb)),
        hist.revenue.as_deref(),
    )?;
    for w in &b.warnings {
        eprintln!("warning: {w}");
    }
    let mut out = std::io::stdout().lock();
    if a.json {
        serde_json::to_writer_pretty(&mut out, &b)?;
        writeln!(out)?;
    } else {
        out.write_all(b.text().as_bytes())?;
    }
    Ok(())
}
