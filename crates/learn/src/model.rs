//! The learned model: training (`train`, with `auto` choosing between the learners by
//! cross-validated log-loss), the versioned model file (schema, encoder, learner, calibrator,
//! metrics and a content hash) and prediction with the top factors of each lead.

use crate::LearnError;
use crate::calibrate::{self, Calibrator, Choice};
use crate::cv::{split, stratified_folds};
use crate::encode::{Dense, Encoder, EncoderParams, Rows};
use crate::gbm::{Explain, Gbm, GbmParams};
use crate::logistic::{self, Logistic, LogisticParams};
use crate::metrics;
use crate::table::{ColumnType, Table, TableOptions, read_table};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};

/// The model file's `format` field.
pub const FORMAT: &str = "leadscore-learned-model";
/// The model file's version: readers refuse other versions, except version 2 models and
/// version 1 logistic models (version 2 changed only the boosted trees' format, from
/// forust-ml's to our own; version 3 added the numbers' bins, which older models lack and
/// older builds would ignore).
pub const VERSION: u32 = 3;
/// Fewer positives (or negatives) than this is thin data: warn and regularise harder.
pub const THIN: usize = 100;
/// Above this many rows, one 80/20 hold-out replaces k-fold cross-validation.
pub const HOLDOUT_ROWS: usize = 200_000;

/// Which learner to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Algo {
    /// Regularised logistic regression (coefficients and odds ratios to read).
    Logistic,
    /// Gradient-boosted trees.
    Gbm,
    /// Both and their blend; keep the one with the lowest cross-validated log-loss.
    Auto,
    /// Both, blended: a weighted mean of their log-odds, the weight chosen by cross-validated
    /// log-loss.
    Blend,
}

impl Algo {
    /// The name used in files and flags.
    pub fn name(self) -> &'static str {
        match self {
            Algo::Logistic => "logistic",
            Algo::Gbm => "gbm",
            Algo::Auto => "auto",
            Algo::Blend => "blend",
        }
    }
}

/// Settings of a training run.
#[derive(Debug, Clone)]
pub struct TrainParams {
    /// The learner.
    pub algo: Algo,
    /// Seed of every random choice (folds).
    pub seed: u64,
    /// Cross-validation folds (below [`HOLDOUT_ROWS`] rows).
    pub folds: usize,
    /// Threads.
    pub threads: usize,
    /// Least training rows for a category to be kept.
    pub min_count: usize,
    /// At most this many bins per number column for the logistic model (0: none).
    pub bins: usize,
    /// Keep a sample of the training ids (hashed) in the model file, so that an evaluation
    /// can tell when its leads were trained on (see [`crate::overlap`]).
    pub id_sample: bool,
}

impl Default for TrainParams {
    fn default() -> Self {
        TrainParams {
            algo: Algo::Auto,
            seed: 42,
            folds: 5,
            threads: 1,
            min_count: EncoderParams::default().min_count,
            bins: EncoderParams::default().bins,
            id_sample: true,
        }
    }
}

/// Out-of-fold metrics of one learner (after calibration, itself cross-fitted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// `logistic`, `gbm` or `blend`.
    pub algo: String,
    /// ROC-AUC.
    pub roc_auc: f64,
    /// Its 95% confidence interval (DeLong) on the rows it was measured on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roc_auc_ci95: Option<[f64; 2]>,
    /// Average precision.
    pub pr_auc: f64,
    /// Log-loss: what `auto` compares.
    pub log_loss: f64,
    /// Brier score.
    pub brier: f64,
    /// Expected calibration error (10 bins).
    pub ece: f64,
    /// How calibration was chosen.
    pub calibration: Choice,
}

/// One coefficient of the logistic model, for reading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coefficient {
    /// `column = value`, or `column (per std. dev.)`.
    pub term: String,
    /// Change in log-odds.
    pub coefficient: f64,
    /// `exp(coefficient)`: how the odds of converting multiply.
    pub odds_ratio: f64,
}

/// What a person reads in a model with a logistic part: its coefficients, largest effect
/// first, and each binned number's effect by range.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Effects {
    /// Every term, largest effect first.
    pub coefficients: Vec<Coefficient>,
    /// Per number column with bins, in feature order.
    pub numbers: Vec<NumberEffect>,
}

/// One number column's effect by range (see [`Encoder::number_effects`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NumberEffect {
    /// The column.
    pub column: String,
    /// Its ranges, from the lowest.
    pub ranges: Vec<RangeEffect>,
}

/// The effect of a value in one range, against the average lead.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RangeEffect {
    /// `< a`, `in [a, b)` or `≥ b`.
    pub range: String,
    /// Change in log-odds, the line and the range's step together.
    pub log_odds: f64,
    /// `exp(log_odds)`.
    pub odds_ratio: f64,
}

/// The learner inside a model.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Learner {
    /// Logistic regression.
    Logistic {
        /// L2 strength used.
        lambda: f64,
        /// Every term's coefficient and odds ratio, largest effect first.
        coefficients: Vec<Coefficient>,
        /// The fitted weights (term order).
        model: Logistic,
    },
    /// Boosted trees.
    Gbm {
        /// Settings used.
        params: GbmParams,
        /// Trees in the model.
        trees: usize,
        /// The booster.
        booster: Box<Gbm>,
    },
    /// A weighted mean of both learners' log-odds (`--algo blend`). Its factors are the same
    /// mean of theirs.
    Blend {
        /// Weight of the logistic model's log-odds; the trees get `1 - weight`.
        weight: f64,
        /// The logistic model (a [`Learner::Logistic`]).
        logistic: Box<Learner>,
        /// The trees (a [`Learner::Gbm`]).
        gbm: Box<Learner>,
    },
}

/// The blend weights tried (of the logistic model's log-odds).
pub const BLEND_WEIGHTS: [f64; 3] = [0.25, 0.5, 0.75];

/// A column of the training file and what the model made of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchemaColumn {
    /// Header name.
    pub name: String,
    /// `feature`, `target`, `id`, `ignored` or `unused` (constant or free text).
    pub role: String,
    /// Inferred type (features and unused columns).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<ColumnType>,
}

/// Where the model came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingData {
    /// The file name as given.
    pub source: String,
    /// SHA-256 of the file.
    pub sha256: String,
    /// Rows.
    pub rows: usize,
    /// Positive outcomes.
    pub positives: usize,
    /// Seed.
    pub seed: u64,
    /// Folds used for out-of-fold predictions (1 = an 80/20 hold-out).
    pub folds: usize,
    /// A sample of the training leads' ids (with an id column), so that an evaluation can
    /// tell when its leads were trained on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ids: Option<crate::overlap::IdSample>,
}

/// A grade: leads with at least `min_probability` (and below the grade above).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grade {
    /// A, B, C or D.
    pub name: String,
    /// Lower bound.
    pub min_probability: f64,
}

/// A trained model, as stored in its file.
#[derive(Debug, Serialize, Deserialize)]
pub struct LearnedModel {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`VERSION`].
    pub version: u32,
    /// `logistic`, `gbm` or `blend`.
    pub algo: String,
    /// The outcome column.
    pub target: String,
    /// The id column given when training.
    pub id: Option<String>,
    /// Every column of the training file.
    pub schema: Vec<SchemaColumn>,
    /// The training data.
    pub training: TrainingData,
    /// Fewer than 100 positives or negatives: regularisation was widened.
    pub thin_data: bool,
    /// What the user should know about this model.
    pub warnings: Vec<String>,
    /// Out-of-fold metrics of every learner tried (the chosen one is `algo`).
    pub candidates: Vec<Candidate>,
    /// The probability above which a lead counts as predicted positive (best out-of-fold F1).
    pub threshold: f64,
    /// Grades A (top 10% of out-of-fold probabilities), B (next 20%), C (next 30%), D.
    pub grades: Vec<Grade>,
    /// The feature encoder.
    pub encoder: Encoder,
    /// Log-odds to probability.
    pub calibrator: Calibrator,
    /// The learner.
    pub learner: Learner,
    /// SHA-256 of this file's content with `hash` empty.
    pub hash: String,
    /// Threads for prediction (not stored: see [`LearnedModel::set_threads`]).
    #[serde(skip)]
    threads: usize,
}

/// A trained model and what happened while training.
#[derive(Debug)]
pub struct Trained {
    /// The model.
    pub model: LearnedModel,
    /// Warnings (also in the model).
    pub warnings: Vec<String>,
    /// Columns suspected of leaking the outcome (named in a warning), with their AUC alone.
    pub leaks: Vec<(String, f64)>,
}

/// What drove one lead's score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Factor {
    /// The column.
    pub feature: String,
    /// The lead's value (or `(missing)`).
    pub value: String,
    /// Effect on the log-odds relative to an average lead.
    pub contribution: f64,
}

impl std::fmt::Display for Factor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} = {} ({:+.2})",
            self.feature, self.value, self.contribution
        )
    }
}

/// Predictions for a table.
#[derive(Debug, Clone)]
pub struct Prediction {
    /// Calibrated probability per row.
    pub probability: Vec<f64>,
    /// The three biggest factors per row (fewer if the model has fewer features).
    pub factors: Vec<Vec<Factor>>,
}

fn logistic_params(thin: bool, threads: usize) -> LogisticParams {
    LogisticParams {
        lambda: if thin { 10.0 } else { 1.0 },
        threads,
        ..LogisticParams::default()
    }
}

/// Tree settings. With a hold-out (above [`HOLDOUT_ROWS`] rows) its 40k+ rows give a smooth
/// validation loss, and 10 trees without improvement end the growth (scikit-learn's
/// `HistGradientBoosting` default); smaller validation folds are noisier and wait 30.
fn gbm_params(thin: bool, holdout: bool, threads: usize, seed: u64) -> GbmParams {
    let base = GbmParams {
        threads,
        seed,
        early_stopping: if holdout {
            10
        } else {
            GbmParams::default().early_stopping
        },
        ..GbmParams::default()
    };
    if thin {
        GbmParams {
            learning_rate: 0.05,
            max_leaves: 7,
            max_depth: 3,
            l2: 10.0,
            min_leaf_weight: 5.0,
            ..base
        }
    } else {
        base
    }
}

fn pick<T: Copy>(v: &[T], rows: &[usize]) -> Vec<T> {
    rows.iter().map(|&i| v[i]).collect()
}

/// A step of training, for callers that time or report progress ([`train_with`]); the crate
/// itself reads no clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The encoder is fitted and the cells encoded.
    Encoded,
    /// A learner's design matrix is built (`logistic` or `gbm`).
    Design(&'static str),
    /// The logistic model is fitted on all rows, in this many iterations.
    FullFit(usize),
    /// With a hold-out, the logistic model is fitted on the rows outside it, in this many
    /// iterations.
    HoldOutFit(usize),
    /// A learner's out-of-fold predictions are done (and, for trees, the final booster).
    OutOfFold(&'static str),
    /// A learner's calibration is chosen and its out-of-fold metrics computed.
    Calibrated(&'static str),
}

/// Out-of-fold log-odds of the logistic model, and the model kept: the fit on all rows (the
/// folds' fits warm-start from it), or, with a hold-out, the fit on the rows outside it (as
/// the trees do: the model kept is the model the hold-out measured and calibration was fitted
/// for; a fifth fewer rows of hundreds of thousands moves the coefficients by well under their
/// standard errors).
fn cv_logistic(
    x: &impl Rows,
    y: &[f64],
    folds: &[usize],
    k: usize,
    p: LogisticParams,
    on_step: &mut dyn FnMut(Step),
) -> (Logistic, Vec<f64>) {
    let mut oof = vec![0.0; y.len()];
    let outside = |f: usize| -> Vec<bool> { folds.iter().map(|&g| g != f).collect() };
    let predict = |m: &Logistic, keep: &[bool], oof: &mut [f64]| {
        for (i, _) in keep.iter().enumerate().filter(|(_, k)| !**k) {
            oof[i] = m.logit(x, i);
        }
    };
    if k == 1 {
        let keep = outside(0);
        let (m, iterations) = logistic::fit_subset(x, y, &keep, p, None);
        on_step(Step::HoldOutFit(iterations));
        predict(&m, &keep, &mut oof);
        return (m, oof);
    }
    let (full, iterations) = logistic::fit(x, y, p, None);
    on_step(Step::FullFit(iterations));
    for f in 0..k {
        // A warm start from the full fit converges in a few iterations; the fold's rows are
        // skipped in place rather than copied out.
        let keep = outside(f);
        let (m, _) = logistic::fit_subset(x, y, &keep, p, Some(&full));
        predict(&m, &keep, &mut oof);
    }
    (full, oof)
}

/// Out-of-fold log-odds of boosted trees (early stopping on each validation fold), and the
/// final booster: the mean of the fold boosters (each saw 80% of the rows and stopped on the
/// rest, so the ensemble is what the out-of-fold predictions measured, with less variance
/// than one refit on all rows), or, with a hold-out, the hold-out booster itself.
fn cv_gbm(
    x: &Dense,
    y: &[f64],
    folds: &[usize],
    k: usize,
    p: &GbmParams,
) -> Result<(Gbm, Vec<f64>), LearnError> {
    let mut oof = vec![0.0; y.len()];
    let mut boosters = Vec::with_capacity(k);
    for f in 0..k {
        let (train, valid) = split(folds, f);
        let (yt, yv) = (pick(y, &train), pick(y, &valid));
        let (g, _, zv) = Gbm::fit_early_rows(x, &train, &yt, &valid, &yv, p)?;
        for (&i, z) in valid.iter().zip(zv) {
            oof[i] = z;
        }
        boosters.push(g);
    }
    Ok((Gbm::average(boosters), oof))
}

fn best_f1_threshold(y: &[f64], p: &[f64]) -> f64 {
    let mut order: Vec<usize> = (0..y.len()).collect();
    order.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
    let pos: f64 = y.iter().sum();
    let (mut tp, mut best, mut thr) = (0.0, -1.0, 0.5);
    for (k, &i) in order.iter().enumerate() {
        tp += y[i];
        // Only cut between different probabilities.
        if k + 1 < order.len() && p[order[k + 1]] == p[i] {
            continue;
        }
        let f1 = 2.0 * tp / ((k + 1) as f64 + pos);
        if f1 > best {
            best = f1;
            thr = p[i];
        }
    }
    thr
}

fn quantile_desc(p: &[f64], share: f64) -> f64 {
    let mut s = p.to_vec();
    s.sort_by(|a, b| b.total_cmp(a));
    let k = ((s.len() as f64 * share).ceil() as usize).clamp(1, s.len());
    s[k - 1]
}

/// Trains a model on `table` (which must have a target).
pub fn train(table: &Table, params: &TrainParams) -> Result<Trained, LearnError> {
    train_with(table, params, &mut |_| {})
}

/// [`train`], telling `on_step` as each [`Step`] ends.
pub fn train_with(
    table: &Table,
    params: &TrainParams,
    on_step: &mut dyn FnMut(Step),
) -> Result<Trained, LearnError> {
    let y = table
        .target
        .as_ref()
        .ok_or_else(|| LearnError::Data("training needs a target column".into()))?;
    let n = y.len();
    let pos = table.positives();
    let neg = n - pos;
    if pos == 0 || neg == 0 {
        return Err(LearnError::Data(format!(
            "{}: every outcome is {}: nothing to learn (need both converted and not converted leads)",
            table.source,
            if pos == 0 { "0" } else { "1" }
        )));
    }
    if pos < 2 || neg < 2 {
        return Err(LearnError::Data(format!(
            "{}: only {} of one class: too few to learn from",
            table.source,
            pos.min(neg)
        )));
    }
    let mut warnings = Vec::new();
    let thin = pos < THIN || neg < THIN;
    if thin {
        warnings.push(format!(
            "thin data: {pos} converted and {neg} not converted leads (fewer than {THIN} of one class); \
             regularisation widened, probabilities are rough — collect more outcomes before trusting them"
        ));
    }
    let encoder = Encoder::fit(
        table,
        y,
        EncoderParams {
            min_count: params.min_count,
            bins: params.bins,
            threads: params.threads,
        },
    )?;
    let cells = encoder.cells(table)?;
    on_step(Step::Encoded);
    let k_folds = params.folds.clamp(2, 20).min(pos.min(neg));
    let holdout = n > HOLDOUT_ROWS;
    let folds = stratified_folds(y, if holdout { 5 } else { k_folds }, params.seed);
    let k = if holdout { 1 } else { k_folds };
    let alone =
        crate::leak::single_column_auc(&encoder, &cells, y, &folds, holdout, params.threads);
    let leaks = crate::leak::suspects(&encoder, &alone);
    warnings.extend(
        leaks
            .iter()
            .map(|(name, auc)| crate::leak::warning(name, *auc)),
    );

    struct Fitted {
        learner: Learner,
        calibrator: Calibrator,
        candidate: Candidate,
        oof: Vec<f64>,
        /// Out-of-fold log-odds of every row (hold-out rows only with a hold-out).
        z: Vec<f64>,
    }
    let summarise = |algo: &str, oof_z: &[f64]| {
        // With a hold-out, only its rows have out-of-fold predictions.
        let rows: Vec<usize> = if holdout {
            split(&folds, 0).1
        } else {
            (0..n).collect()
        };
        let (z, yy) = (pick(oof_z, &rows), pick(y, &rows));
        let (cal, choice, p) = calibrate::choose_with(&z, &yy, params.seed, params.threads);
        let (roc_auc, pr_auc) = metrics::ranking_aucs(&yy, &p);
        let cand = Candidate {
            algo: algo.into(),
            roc_auc,
            roc_auc_ci95: crate::delong::auc_interval(&yy, &p).map(|i| [i.low, i.high]),
            pr_auc,
            log_loss: metrics::log_loss(&yy, &p),
            brier: metrics::brier(&yy, &p),
            ece: metrics::ece(&yy, &p, 10),
            calibration: choice,
        };
        (cal, cand, p, yy)
    };
    let mut fitted: Vec<(Fitted, Vec<f64>)> = Vec::new();
    if matches!(params.algo, Algo::Logistic | Algo::Auto | Algo::Blend) {
        let x = encoder.encoded(&cells, n);
        on_step(Step::Design("logistic"));
        let lp = logistic_params(thin, params.threads);
        let (m, oof_z) = cv_logistic(&x, y, &folds, k, lp, on_step);
        on_step(Step::OutOfFold("logistic"));
        let (calibrator, candidate, oof, yy) = summarise("logistic", &oof_z);
        on_step(Step::Calibrated("logistic"));
        let names = encoder.term_names();
        let mut coefficients: Vec<Coefficient> = names
            .into_iter()
            .zip(&m.weights)
            .map(|(term, &c)| Coefficient {
                term,
                coefficient: c,
                odds_ratio: c.exp(),
            })
            .collect();
        coefficients.sort_by(|a, b| {
            b.coefficient
                .abs()
                .total_cmp(&a.coefficient.abs())
                .then(a.term.cmp(&b.term))
        });
        fitted.push((
            Fitted {
                learner: Learner::Logistic {
                    lambda: lp.lambda,
                    coefficients,
                    model: m,
                },
                calibrator,
                candidate,
                oof,
                z: oof_z,
            },
            yy,
        ));
    }
    if matches!(params.algo, Algo::Gbm | Algo::Auto | Algo::Blend) {
        let x = encoder.dense(&cells, n);
        on_step(Step::Design("gbm"));
        let gp = gbm_params(thin, holdout, params.threads, params.seed);
        let (mut g, oof_z) = cv_gbm(&x, y, &folds, k, &gp)?;
        on_step(Step::OutOfFold("gbm"));
        // The file records no thread count; prediction sets its own.
        g.set_threads(1);
        let (calibrator, candidate, oof, yy) = summarise("gbm", &oof_z);
        on_step(Step::Calibrated("gbm"));
        fitted.push((
            Fitted {
                learner: Learner::Gbm {
                    params: gp,
                    trees: g.trees(),
                    booster: Box::new(g),
                },
                calibrator,
                candidate,
                oof,
                z: oof_z,
            },
            yy,
        ));
    }
    // Every learner tried, in the order tried (a blend is added after its two parts).
    let mut candidates: Vec<Candidate> = fitted.iter().map(|(f, _)| f.candidate.clone()).collect();
    let lowest = |fitted: &[(Fitted, Vec<f64>)]| {
        (0..fitted.len())
            .min_by(|&a, &b| {
                fitted[a]
                    .0
                    .candidate
                    .log_loss
                    .total_cmp(&fitted[b].0.candidate.log_loss)
            })
            .expect("at least one learner")
    };
    if matches!(params.algo, Algo::Auto | Algo::Blend) {
        // The best blend of the two, by the same out-of-fold log-loss. `auto` keeps it only
        // when it beats both learners alone.
        // (weight, calibrator, candidate, calibrated out-of-fold probabilities, their labels)
        type Tried = (f64, Calibrator, Candidate, Vec<f64>, Vec<f64>);
        let mut best: Option<Tried> = None;
        for w in BLEND_WEIGHTS {
            let z: Vec<f64> = fitted[0]
                .0
                .z
                .iter()
                .zip(&fitted[1].0.z)
                .map(|(l, g)| w * l + (1.0 - w) * g)
                .collect();
            let (cal, cand, p, yy) = summarise("blend", &z);
            if best.as_ref().is_none_or(|b| cand.log_loss < b.2.log_loss) {
                best = Some((w, cal, cand, p, yy));
            }
        }
        let (w, calibrator, candidate, oof, yy) = best.expect("three weights tried");
        on_step(Step::Calibrated("blend"));
        candidates.push(candidate.clone());
        let alone = fitted[lowest(&fitted)].0.candidate.log_loss;
        if params.algo == Algo::Blend || candidate.log_loss < alone {
            let (g, _) = fitted.pop().expect("trees");
            let (l, _) = fitted.pop().expect("logistic");
            fitted.push((
                Fitted {
                    learner: Learner::Blend {
                        weight: w,
                        logistic: Box::new(l.learner),
                        gbm: Box::new(g.learner),
                    },
                    calibrator,
                    candidate,
                    oof,
                    z: Vec::new(),
                },
                yy,
            ));
        }
    }
    let best = lowest(&fitted);
    let (chosen, yy) = fitted.swap_remove(best);
    let threshold = best_f1_threshold(&yy, &chosen.oof);
    let grades = vec![
        Grade {
            name: "A".into(),
            min_probability: quantile_desc(&chosen.oof, 0.1),
        },
        Grade {
            name: "B".into(),
            min_probability: quantile_desc(&chosen.oof, 0.3),
        },
        Grade {
            name: "C".into(),
            min_probability: quantile_desc(&chosen.oof, 0.6),
        },
        Grade {
            name: "D".into(),
            min_probability: 0.0,
        },
    ];
    let features: Vec<&str> = encoder.features.iter().map(|f| f.name.as_str()).collect();
    let schema = table
        .header
        .iter()
        .map(|h| {
            let col = table.column(h);
            let role = if Some(h) == table.target_name.as_ref() {
                "target"
            } else if Some(h) == table.id_name.as_ref() {
                "id"
            } else if features.contains(&h.as_str()) {
                "feature"
            } else if col.is_none() {
                "ignored"
            } else {
                "unused"
            };
            SchemaColumn {
                name: h.clone(),
                role: role.into(),
                kind: col.map(|c| c.kind),
            }
        })
        .collect();
    let mut model = LearnedModel {
        format: FORMAT.into(),
        version: VERSION,
        algo: chosen.candidate.algo.clone(),
        target: table.target_name.clone().unwrap_or_default(),
        id: table.id_name.clone(),
        schema,
        training: TrainingData {
            source: table.source.clone(),
            sha256: table.sha256.clone(),
            rows: n,
            positives: pos,
            seed: params.seed,
            folds: k,
            ids: table
                .ids
                .as_deref()
                .filter(|_| params.id_sample)
                .map(crate::overlap::IdSample::of),
        },
        thin_data: thin,
        warnings: warnings.clone(),
        candidates,
        threshold,
        grades,
        encoder,
        calibrator: chosen.calibrator,
        learner: chosen.learner,
        hash: String::new(),
        threads: 1,
    };
    model.hash = model.content_hash()?;
    Ok(Trained {
        model,
        warnings,
        leaks,
    })
}

impl LearnedModel {
    /// The coefficients and number effects of its logistic model (a blend's logistic part);
    /// `None` for trees alone.
    pub fn effects(&self) -> Option<Effects> {
        let logistic = match &self.learner {
            Learner::Blend { logistic, .. } => &**logistic,
            l => l,
        };
        let Learner::Logistic {
            coefficients,
            model,
            ..
        } = logistic
        else {
            return None;
        };
        let numbers = self
            .encoder
            .number_effects(&model.weights)
            .into_iter()
            .map(|(column, ranges)| NumberEffect {
                column,
                ranges: ranges
                    .into_iter()
                    .map(|(range, log_odds)| RangeEffect {
                        range,
                        log_odds,
                        odds_ratio: log_odds.exp(),
                    })
                    .collect(),
            })
            .collect();
        Some(Effects {
            coefficients: coefficients.clone(),
            numbers,
        })
    }

    /// The hash the model file carries: SHA-256 of its compact JSON with `hash` empty.
    pub fn content_hash(&self) -> Result<String, LearnError> {
        // Hash the compact form with `hash` empty.
        let mut v = serde_json::to_value(self).map_err(|e| LearnError::Model(e.to_string()))?;
        v["hash"] = serde_json::Value::String(String::new());
        let bytes = serde_json::to_vec(&v).map_err(|e| LearnError::Model(e.to_string()))?;
        Ok(hex::encode(Sha256::digest(&bytes)))
    }

    /// Writes the model as JSON.
    pub fn write(&self, mut out: impl Write) -> Result<(), LearnError> {
        serde_json::to_writer_pretty(&mut out, self)
            .map_err(|e| LearnError::Model(e.to_string()))?;
        out.write_all(b"\n")?;
        Ok(())
    }

    /// Reads a model file and checks its format, version and hash.
    pub fn read(mut input: impl Read) -> Result<LearnedModel, LearnError> {
        let mut s = String::new();
        input.read_to_string(&mut s)?;
        let v: serde_json::Value =
            serde_json::from_str(&s).map_err(|e| LearnError::Model(format!("not JSON: {e}")))?;
        if v.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
            return Err(LearnError::Model(format!(
                "not a learned model (no \"format\": \"{FORMAT}\")"
            )));
        }
        let version = v.get("version").and_then(|f| f.as_u64());
        let logistic = v.get("algo").and_then(|a| a.as_str()) == Some("logistic");
        if version == Some(1) && !logistic {
            return Err(LearnError::Model(
                "version 1 boosted-tree models (forust-ml's trees) are no longer read: train the model again".into(),
            ));
        }
        if version != Some(VERSION as u64)
            && version != Some(2)
            && !(version == Some(1) && logistic)
        {
            return Err(LearnError::Model(format!(
                "version {version:?} is not supported (this build reads version {VERSION})"
            )));
        }
        let model: LearnedModel =
            serde_json::from_value(v).map_err(|e| LearnError::Model(e.to_string()))?;
        let h = model.content_hash()?;
        if h != model.hash {
            return Err(LearnError::Model(format!(
                "the content does not match its hash (the file was changed after training): {} vs {h}",
                model.hash
            )));
        }
        fn check(l: &Learner, cols: usize) -> Result<(), LearnError> {
            match l {
                Learner::Logistic { .. } => Ok(()),
                Learner::Gbm { booster, .. } => booster
                    .check(cols)
                    .map_err(|e| LearnError::Model(format!("boosted trees: {e}"))),
                Learner::Blend { logistic, gbm, .. } => {
                    check(logistic, cols).and_then(|()| check(gbm, cols))
                }
            }
        }
        check(&model.learner, model.encoder.features.len())?;
        Ok(model)
    }

    /// How to read data for this model: its schema imposes the column types.
    pub fn table_options(&self, target: Option<String>, id: Option<String>) -> TableOptions {
        TableOptions {
            target,
            id,
            schema: Some(self.encoder.schema()),
            levels: self.encoder.placeholder_levels(),
            ..TableOptions::default()
        }
    }

    /// Threads for prediction.
    pub fn set_threads(&mut self, threads: usize) {
        self.threads = threads.max(1);
        self.boosters(&mut |b| b.set_threads(threads));
    }

    /// Calls `f` on the model's boosted trees (alone, or a blend's), if it has any.
    fn boosters(&mut self, f: &mut dyn FnMut(&mut Gbm)) {
        fn walk(l: &mut Learner, f: &mut dyn FnMut(&mut Gbm)) {
            match l {
                Learner::Gbm { booster, .. } => f(booster),
                Learner::Blend { gbm, .. } => walk(gbm, f),
                Learner::Logistic { .. } => {}
            }
        }
        walk(&mut self.learner, f);
    }

    /// How the trees' factors are computed (a blend's trees too; the logistic model's are
    /// exact either way): path credits by default, or exact Shapley values.
    pub fn set_explain(&mut self, explain: Explain) {
        self.boosters(&mut |b| b.set_explain(explain));
    }

    /// Whether any of the model's trees explain by exact Shapley values (a hundred times the
    /// work per lead of path credits).
    fn explains_by_shap(&self) -> bool {
        fn walk(l: &Learner) -> bool {
            match l {
                Learner::Gbm { booster, .. } => booster.explain() == Explain::Shap,
                Learner::Blend { gbm, .. } => walk(gbm),
                Learner::Logistic { .. } => false,
            }
        }
        walk(&self.learner)
    }

    /// Raw log-odds per row, and per-feature contributions when `factors` is set
    /// (rows × features, row-major).
    fn logits(&self, table: &Table, factors: bool) -> Result<(Vec<f64>, Vec<f64>), LearnError> {
        let cells = self.encoder.cells(table)?;
        Ok(self.learner_logits(&self.learner, &cells, table.rows, factors))
    }

    /// [`LearnedModel::logits`] of one learner on encoded cells.
    fn learner_logits(
        &self,
        learner: &Learner,
        cells: &[crate::encode::Cells],
        n: usize,
        factors: bool,
    ) -> (Vec<f64>, Vec<f64>) {
        let nf = self.encoder.features.len();
        match learner {
            Learner::Blend {
                weight,
                logistic,
                gbm,
            } => {
                let (zl, cl) = self.learner_logits(logistic, cells, n, factors);
                let (zg, cg) = self.learner_logits(gbm, cells, n, factors);
                let mix = |a: &[f64], b: &[f64]| -> Vec<f64> {
                    a.iter()
                        .zip(b)
                        .map(|(a, b)| weight * a + (1.0 - weight) * b)
                        .collect()
                };
                (mix(&zl, &zg), mix(&cl, &cg))
            }
            Learner::Logistic { model, .. } => {
                let x = self.encoder.encoded(cells, n);
                let z = model.logits(&x);
                if !factors {
                    return (z, Vec::new());
                }
                let owner = self.encoder.term_feature();
                let means = self.encoder.term_means();
                let mut offset = vec![0.0; nf];
                for (t, &m) in means.iter().enumerate() {
                    offset[owner[t]] += model.weights[t] * m;
                }
                let mut c = vec![0.0; n * nf];
                for r in 0..n {
                    let row = &mut c[r * nf..(r + 1) * nf];
                    row.iter_mut().zip(&offset).for_each(|(v, o)| *v = -o);
                    x.each(r, |j, v| row[owner[j]] += model.weights[j] * v);
                }
                (z, c)
            }
            Learner::Gbm { booster, .. } => {
                let x: Dense = self.encoder.dense(cells, n);
                if !factors {
                    return (booster.logits(&x), Vec::new());
                }
                let sh = booster.contributions(&x);
                let mut z = vec![0.0; n];
                let mut c = vec![0.0; n * nf];
                for r in 0..n {
                    let row = &sh[r * (nf + 1)..(r + 1) * (nf + 1)];
                    z[r] = row.iter().sum();
                    c[r * nf..(r + 1) * nf].copy_from_slice(&row[..nf]);
                }
                (z, c)
            }
        }
    }

    /// Calibrated probabilities, without factors (the fast path).
    pub fn probabilities(&self, table: &Table) -> Result<Vec<f64>, LearnError> {
        let (z, _) = self.logits(table, false)?;
        Ok(z.iter().map(|&z| self.calibrator.apply(z)).collect())
    }

    /// Calibrated probabilities and the top three factors of every row.
    pub fn predict_table(&self, table: &Table) -> Result<Prediction, LearnError> {
        let (z, c) = self.logits(table, true)?;
        let nf = self.encoder.features.len();
        let columns: Vec<_> = self
            .encoder
            .features
            .iter()
            .map(|f| table.column(&f.name).expect("cells checked the columns"))
            .collect();
        let factors = (0..table.rows)
            .map(|r| {
                let row = &c[r * nf..(r + 1) * nf];
                let mut idx: Vec<usize> = (0..nf).collect();
                idx.sort_by(|&a, &b| row[b].abs().total_cmp(&row[a].abs()).then(a.cmp(&b)));
                idx.into_iter()
                    .take(3)
                    .map(|f| {
                        let v = columns[f].text(r);
                        Factor {
                            feature: self.encoder.features[f].name.clone(),
                            value: if v.is_empty() { "(missing)".into() } else { v },
                            contribution: row[f],
                        }
                    })
                    .collect()
            })
            .collect();
        Ok(Prediction {
            probability: z.iter().map(|&z| self.calibrator.apply(z)).collect(),
            factors,
        })
    }

    /// The grade of a probability.
    pub fn grade(&self, p: f64) -> &str {
        self.grades
            .iter()
            .find(|g| p >= g.min_probability)
            .map_or("D", |g| g.name.as_str())
    }
}

/// Reads `input` (a CSV named `source`), predicts, and writes one CSV row per input row in
/// input order: the id column (`id`, named as in the input) or `row` (1-based), `probability`,
/// `factor_1`…`factor_3`. Returns the number of rows.
///
/// The file is read into memory and predicted in parallel blocks (the threads of
/// [`LearnedModel::set_threads`]) without per-row allocation; a file that path does not handle
/// (or cannot read) goes through [`predict_csv_general`], which gives the same bytes.
pub fn predict_csv(
    model: &LearnedModel,
    input: impl Read,
    source: &str,
    id: Option<&str>,
    out: impl Write,
) -> Result<usize, LearnError> {
    predict_csv_blocks(model, input, source, id, out, block_for(model))
}

/// [`predict_csv`] with blocks of about `block` bytes (for tests of the block boundaries).
#[doc(hidden)]
pub fn predict_csv_blocks(
    model: &LearnedModel,
    mut input: impl Read,
    source: &str,
    id: Option<&str>,
    out: impl Write,
    block: usize,
) -> Result<usize, LearnError> {
    let mut data = Vec::new();
    input.read_to_end(&mut data)?;
    predict_csv_bytes_blocks(model, &data, source, id, out, block)
}

/// [`predict_csv`] on a file already in memory (e.g. from `std::fs::read`: one allocation of
/// the right size instead of a growing buffer).
pub fn predict_csv_bytes(
    model: &LearnedModel,
    data: &[u8],
    source: &str,
    id: Option<&str>,
    out: impl Write,
) -> Result<usize, LearnError> {
    predict_csv_bytes_blocks(model, data, source, id, out, block_for(model))
}

/// The bytes of input per block of the fast path: with Shapley values a block is a hundred
/// times the work, and smaller blocks keep every thread busy on files of a few thousand leads.
fn block_for(model: &LearnedModel) -> usize {
    if model.explains_by_shap() {
        crate::fast::BLOCK / 64
    } else {
        crate::fast::BLOCK
    }
}

fn predict_csv_bytes_blocks(
    model: &LearnedModel,
    data: &[u8],
    source: &str,
    id: Option<&str>,
    mut out: impl Write,
    block: usize,
) -> Result<usize, LearnError> {
    if let Some(n) = predict_csv_fast(model, data, id, &mut out, block)? {
        out.flush()?;
        return Ok(n);
    }
    predict_csv_general(model, data, source, id, out)
}

/// The fast path alone: `None` (nothing written) when it leaves `data` to the general path.
#[doc(hidden)]
pub fn predict_csv_fast(
    model: &LearnedModel,
    data: &[u8],
    id: Option<&str>,
    out: impl Write,
    block: usize,
) -> Result<Option<usize>, LearnError> {
    Ok(crate::fast::predict(model, data, id, model.threads.max(1), block, out)?.ok())
}

/// The general prediction path: read the table, encode, predict, write. [`predict_csv`] gives
/// the same bytes faster; this one handles (and reports) everything.
pub fn predict_csv_general(
    model: &LearnedModel,
    input: impl Read + Send,
    source: &str,
    id: Option<&str>,
    out: impl Write,
) -> Result<usize, LearnError> {
    let table = read_table(
        input,
        source,
        &model.table_options(None, id.map(str::to_owned)),
    )?;
    let p = model.predict_table(&table)?;
    let mut w = csv::Writer::from_writer(out);
    let csv_err = |e: csv::Error| LearnError::Io(std::io::Error::other(e));
    let id_name = table.id_name.clone().unwrap_or_else(|| "row".into());
    w.write_record([
        id_name.as_str(),
        "probability",
        "factor_1",
        "factor_2",
        "factor_3",
    ])
    .map_err(csv_err)?;
    for r in 0..table.rows {
        let id = match &table.ids {
            Some(ids) => ids[r].clone(),
            None => (r + 1).to_string(),
        };
        let mut rec = vec![id, format!("{:.6}", p.probability[r])];
        for k in 0..3 {
            rec.push(
                p.factors[r]
                    .get(k)
                    .map(|f| f.to_string())
                    .unwrap_or_default(),
            );
        }
        w.write_record(&rec).map_err(csv_err)?;
    }
    w.flush()?;
    Ok(table.rows)
}
