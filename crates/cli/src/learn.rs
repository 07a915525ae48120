//! `train`, `predict` and `evaluate`: arguments, files and messages around `leadscore-learn`
//! (and, for rule models, the batch scorer).

use crate::{Pending, load_model};
use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use leadscore_batch::{Format, NoProgress, ScoreJob, UnknownContacts};
use leadscore_core::Model;
use leadscore_learn::delong::auc_difference;
use leadscore_learn::evaluate::{
    Period, RuleScores, cohorts, days_to_convert, deal_results, evaluate_rules, revenue_values,
    segment_values,
};
use leadscore_learn::gbm::Explain;
use leadscore_learn::metrics::{PipelineColumns, Segments};
use leadscore_learn::model::{LearnedModel, Learner};
use leadscore_learn::report::{self, Against, Evaluation};
use leadscore_learn::{Algo, Step, TableOptions, TrainParams, read_table, train_with as fit};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum AlgoArg {
    Logistic,
    Gbm,
    Auto,
    Blend,
}

/// How a tree model's factors are computed (`predict --explain`).
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum ExplainArg {
    /// Each split on the lead's path credits its change of expected value to its column
    /// (Saabas): fast, the default.
    Path,
    /// Exact Shapley values of each tree (TreeSHAP): consistent, about a hundred times slower.
    Shap,
}

pub(crate) fn threads(t: Option<usize>) -> usize {
    t.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
}

#[derive(clap::Args)]
pub(crate) struct TrainArgs {
    /// Leads with a known outcome (CSV with a header row).
    #[arg(long, required_unless_present = "from_store")]
    data: Option<PathBuf>,
    /// The outcome column: 1/0, yes/no, true/false or won/lost. With --from-store: `won` (a
    /// won outcome) or `converted` (won or an opportunity created).
    #[arg(long)]
    target: String,
    /// Train on the service's store instead of a file: the training table of --workspace
    /// (traits, account traits, event counts over 7/30/90 days and recency, the label from
    /// recorded outcomes; see `leadscore export-training`).
    #[arg(long, conflicts_with = "data")]
    from_store: bool,
    /// With --from-store: the workspace.
    #[arg(long, default_value = "default", requires = "from_store")]
    workspace: String,
    /// With --from-store: the time the table is for (default now).
    #[arg(long, requires = "from_store")]
    as_of: Option<String>,
    #[command(flatten)]
    store: crate::service::StoreArgs,
    /// The id column (kept out of the features).
    #[arg(long)]
    id: Option<String>,
    /// The learner: logistic regression, boosted trees, both blended, or whichever of the
    /// three has the lowest cross-validated log-loss (auto).
    #[arg(long, value_enum, default_value = "auto")]
    algo: AlgoArg,
    /// Where to write the model (JSON).
    #[arg(long)]
    out: PathBuf,
    /// Columns to leave out (identifiers, columns filled in after the outcome). Repeatable.
    #[arg(long = "ignore", value_name = "COL")]
    ignore: Vec<String>,
    /// Free-text columns to use anyway, as categories. Repeatable.
    #[arg(long = "text", value_name = "COL")]
    text: Vec<String>,
    /// Random seed (folds): the same data and seed give the same model file.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Cross-validation folds.
    #[arg(long, default_value_t = 5)]
    folds: usize,
    /// Bins per number column for the logistic model (its deciles: a step per bin on top of
    /// the straight line, so curved effects are learned); 0 (or under 3) for a straight line
    /// only.
    #[arg(long, default_value_t = 10)]
    bins: usize,
    /// With --id, the model file keeps up to 4,096 of the ids as hashes (truncated SHA-256), so
    /// that `evaluate` can say when its leads were trained on. Anyone with the file can test
    /// whether a given id was among them: leave them out when the ids are personal (emails).
    #[arg(long)]
    no_id_sample: bool,
    /// Threads (default: all cores); the model does not depend on it.
    #[arg(long)]
    threads: Option<usize>,
    /// No summary.
    #[arg(long, short)]
    quiet: bool,
}

pub(crate) fn open(path: &Path) -> Result<std::io::BufReader<std::fs::File>> {
    let f = std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(std::io::BufReader::with_capacity(1 << 20, f))
}

pub(crate) fn train(a: TrainArgs) -> Result<()> {
    let t0 = Instant::now();
    let mut opts = TableOptions {
        target: Some(a.target.clone()),
        id: a.id.clone(),
        ignore: a.ignore.clone(),
        include_text: a.text.clone(),
        ..TableOptions::default()
    };
    let table = match &a.data {
        Some(data) if !a.from_store => {
            let name = data.display().to_string();
            read_table(open(data)?, &name, &opts)?
        }
        _ => {
            let (csv, _, _) = crate::service::training_csv(
                &a.store,
                &a.workspace,
                a.as_of.as_deref(),
                &a.target,
            )?;
            opts.target = Some(leadscore_app::training::LABEL_COLUMN.to_owned());
            opts.id = Some(leadscore_app::training::ID_COLUMN.to_owned());
            let name = format!("workspace {}", a.workspace);
            read_table(&csv[..], &name, &opts)?
        }
    };
    let load = t0.elapsed().as_secs_f64();
    let params = TrainParams {
        algo: match a.algo {
            AlgoArg::Logistic => Algo::Logistic,
            AlgoArg::Gbm => Algo::Gbm,
            AlgoArg::Auto => Algo::Auto,
            AlgoArg::Blend => Algo::Blend,
        },
        seed: a.seed,
        folds: a.folds,
        bins: a.bins,
        threads: threads(a.threads),
        id_sample: !a.no_id_sample,
        ..TrainParams::default()
    };
    let t1 = Instant::now();
    // Where the training time goes, step by step (the learn crate reads no clock).
    let mut phases: Vec<String> = Vec::new();
    let mut last = t1;
    let trained = fit(&table, &params, &mut |step| {
        let now = Instant::now();
        let secs = (now - last).as_secs_f64();
        last = now;
        phases.push(match step {
            Step::Encoded => format!("encode {secs:.2}s"),
            Step::Design(a) => format!("{a} design {secs:.2}s"),
            Step::FullFit(n) => format!("logistic fit on all rows {secs:.2}s ({n} iterations)"),
            Step::HoldOutFit(n) => {
                format!("logistic fit outside the hold-out {secs:.2}s ({n} iterations)")
            }
            Step::OutOfFold(a) => format!("{a} out-of-fold {secs:.2}s"),
            Step::Calibrated(a) => format!("{a} calibration {secs:.2}s"),
        });
    })?;
    let fit_secs = t1.elapsed().as_secs_f64();
    let m = &trained.model;
    let pending = Pending::create(&a.out)?;
    let mut w = pending.writer()?;
    m.write(&mut w)?;
    w.flush()?;
    pending.commit()?;
    for w in &trained.warnings {
        eprintln!("warning: {w}");
    }
    if !trained.leaks.is_empty() {
        let flags: Vec<String> = trained
            .leaks
            .iter()
            .map(|(name, _)| format!("--ignore {}", shell_word(name)))
            .collect();
        eprintln!("to leave them out, train again with: {}", flags.join(" "));
    }
    if a.quiet {
        return Ok(());
    }
    let mut s = String::new();
    use std::fmt::Write as _;
    let _ = writeln!(
        s,
        "trained on {} rows ({} converted, {:.1}%), {} features; {}",
        m.training.rows,
        m.training.positives,
        100.0 * m.training.positives as f64 / m.training.rows.max(1) as f64,
        m.encoder.features.len(),
        if m.training.folds == 1 {
            "out-of-fold metrics from a 20% hold-out".to_owned()
        } else {
            format!(
                "out-of-fold metrics from {}-fold cross-validation",
                m.training.folds
            )
        }
    );
    let unused: Vec<&str> = m
        .schema
        .iter()
        .filter(|c| c.role == "unused")
        .map(|c| c.name.as_str())
        .collect();
    if !unused.is_empty() {
        let _ = writeln!(
            s,
            "not used (constant or free text; --text COL to use text): {}",
            unused.join(", ")
        );
    }
    let _ = writeln!(
        s,
        "{:<9} {:>8} {:>15} {:>8} {:>9} {:>8} {:>7}  calibration",
        "learner", "ROC-AUC", "(95% CI)", "PR-AUC", "log-loss", "Brier", "ECE"
    );
    for c in &m.candidates {
        let ci = c
            .roc_auc_ci95
            .map_or("-".into(), |[lo, hi]| format!("{lo:.4}–{hi:.4}"));
        let _ = writeln!(
            s,
            "{:<9} {:>8.4} {:>15} {:>8.4} {:>9.4} {:>8.4} {:>7.4}  {}{}",
            c.algo,
            c.roc_auc,
            ci,
            c.pr_auc,
            c.log_loss,
            c.brier,
            c.ece,
            c.calibration.chosen,
            if c.algo == m.algo { "  <- chosen" } else { "" }
        );
    }
    // The logistic model's odds ratios, alone or as the blend's readable part.
    let part = match &m.learner {
        Learner::Blend { weight, .. } => {
            let _ = writeln!(
                s,
                "blend: log-odds = {weight} x logistic + {} x trees (weight by out-of-fold log-loss)",
                1.0 - weight
            );
            " of its logistic part"
        }
        _ => "",
    };
    if let Some(effects) = m.effects() {
        let _ = writeln!(
            s,
            "largest effects{part} (odds ratio per value or per std. dev.):"
        );
        for c in effects.coefficients.iter().take(10) {
            let _ = writeln!(s, "  {:>7.3}x  {}", c.odds_ratio, c.term);
        }
        if !effects.numbers.is_empty() {
            let _ = writeln!(
                s,
                "numbers{part}, odds ratio against the average lead by range (line and step together):"
            );
            for n in &effects.numbers {
                let ranges: Vec<String> = n
                    .ranges
                    .iter()
                    .map(|r| format!("{} {:.2}x", r.range, r.odds_ratio))
                    .collect();
                let _ = writeln!(s, "  {}: {}", n.column, ranges.join(", "));
            }
        }
    }
    let _ = writeln!(
        s,
        "wrote {} ({}, hash {}) in {:.2}s (read {:.2}s, train {:.2}s)",
        a.out.display(),
        m.algo,
        &m.hash[..12],
        t0.elapsed().as_secs_f64(),
        load,
        fit_secs
    );
    let _ = writeln!(s, "steps: {}", phases.join(", "));
    eprint!("{s}");
    Ok(())
}

#[derive(clap::Args)]
pub(crate) struct PredictArgs {
    /// A model written by `leadscore train`.
    #[arg(long)]
    model: PathBuf,
    /// Leads to score (CSV); the outcome column is not needed.
    #[arg(long)]
    data: PathBuf,
    /// The id column to copy to the output (default: the model's id column, if the file has
    /// it; else a 1-based `row`).
    #[arg(long)]
    id: Option<String>,
    /// Output CSV (default: standard output).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// How tree models credit the factors: `path` (each split's change of expected value,
    /// fast) or `shap` (exact Shapley values, TreeSHAP). Logistic factors are the same either
    /// way.
    #[arg(long, value_enum, default_value = "path")]
    explain: ExplainArg,
    /// No summary line.
    #[arg(long, short)]
    quiet: bool,
}

fn read_learned(path: &Path) -> Result<LearnedModel> {
    LearnedModel::read(open(path)?).with_context(|| format!("{}", path.display()))
}

/// The header of a CSV file, to see whether it has a column.
fn header_of(path: &Path) -> Result<Vec<String>> {
    let mut r = csv::Reader::from_reader(open(path)?);
    Ok(r.headers()
        .with_context(|| format!("{}: cannot read the header", path.display()))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_owned())
        .collect())
}

/// The bytes of the file at `path`, a regular file read in parts on `threads` threads (the
/// first touch of a fresh buffer's pages is most of a read's cost, so it is shared out);
/// anything else (a pipe, a device) read as a stream.
fn read_whole(path: &Path, threads: usize) -> std::io::Result<Vec<u8>> {
    use std::os::unix::fs::FileExt;
    let f = std::fs::File::open(path)?;
    let meta = f.metadata()?;
    let len = usize::try_from(meta.len()).unwrap_or(0);
    if !meta.is_file() || len == 0 || threads <= 1 {
        return std::fs::read(path);
    }
    let mut data = vec![0u8; len];
    let part = len.div_ceil(threads).max(1 << 20);
    std::thread::scope(|s| {
        let parts: Vec<_> = data
            .chunks_mut(part)
            .enumerate()
            .map(|(i, chunk)| {
                let f = &f;
                s.spawn(move || f.read_exact_at(chunk, (i * part) as u64))
            })
            .collect();
        parts
            .into_iter()
            .try_for_each(|h| h.join().expect("a file reader panicked"))
    })?;
    Ok(data)
}

pub(crate) fn predict(a: PredictArgs) -> Result<()> {
    let t0 = Instant::now();
    let mut model = read_learned(&a.model)?;
    let workers = threads(a.threads);
    model.set_threads(workers);
    model.set_explain(match a.explain {
        ExplainArg::Path => Explain::Path,
        ExplainArg::Shap => Explain::Shap,
    });
    let id = match a.id {
        Some(id) => Some(id),
        None => model
            .id
            .clone()
            .filter(|id| header_of(&a.data).is_ok_and(|h| h.contains(id))),
    };
    let name = a.data.display().to_string();
    // The whole file at once: the prediction path works on it in parallel blocks.
    let data = read_whole(&a.data, workers)
        .with_context(|| format!("cannot read {}", a.data.display()))?;
    let predict = |w: &mut dyn Write| {
        leadscore_learn::model::predict_csv_bytes(&model, &data, &name, id.as_deref(), w)
    };
    let n = match &a.out {
        Some(p) => {
            let pending = Pending::create(p)?;
            let mut w = pending.writer()?;
            let n = predict(&mut w)?;
            w.flush()?;
            pending.commit()?;
            n
        }
        None => {
            let mut w = std::io::BufWriter::new(std::io::stdout().lock());
            let n = predict(&mut w)?;
            w.flush()?;
            n
        }
    };
    if !a.quiet {
        eprintln!(
            "predicted {n} rows with {} ({}, hash {}) in {:.2}s",
            a.model.display(),
            model.algo,
            &model.hash[..12],
            t0.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

#[derive(clap::Args)]
pub(crate) struct EvaluateArgs {
    /// A learned model (JSON from `leadscore train`) or a rule model (`.toml`).
    #[arg(long)]
    model: PathBuf,
    /// Leads with known outcomes (CSV).
    #[arg(long)]
    data: PathBuf,
    /// The outcome column.
    #[arg(long)]
    target: String,
    /// The id column (rule models score contacts by id; default: one per row).
    #[arg(long)]
    id: Option<String>,
    /// Also report per value of this column (default for rule models: the model's segment).
    #[arg(long)]
    segment: Option<String>,
    /// Another model (learned or rules) scored on the same leads: its ROC-AUC, and this
    /// model's less it with a 95% interval and p-value (DeLong, paired).
    #[arg(long, value_name = "MODEL")]
    against: Option<PathBuf>,
    /// The column with each lead's creation date: with `--converted-at`, the median days to
    /// conversion per decile, tier and grade; with `--cohort`, the cohorts.
    #[arg(long, value_name = "COL")]
    created: Option<String>,
    /// Report per cohort of leads created in the same month or quarter (by `--created`), in
    /// time order, instead of per segment: does the model hold up over the history?
    #[arg(long, value_enum, requires = "created", conflicts_with = "segment")]
    cohort: Option<CohortArg>,
    /// The column with the date each converted lead converted.
    #[arg(long, value_name = "COL", requires = "created")]
    converted_at: Option<String>,
    /// The column with each lead's deal: won, lost, or open/empty for none (`Closed Won`,
    /// `closed_lost`, yes/no, 1/0 too): deals won and lost and the win rate per decile, tier
    /// and grade.
    #[arg(long, value_name = "COL")]
    deal: Option<String>,
    /// The column with the revenue each lead brought (empty for none): revenue, its share,
    /// its cumulative share from the top and revenue per lead against the average, per
    /// decile, tier and grade.
    #[arg(long, value_name = "COL")]
    revenue: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Also write an HTML report with charts (one self-contained file).
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Rule models: score as of this time (RFC 3339 or YYYY-MM-DD; default now).
    #[arg(long)]
    as_of: Option<String>,
    /// Seed of the cross-fitted calibration of rule scores.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum CohortArg {
    Month,
    Quarter,
}

/// The segments of the leads of `table`: cohorts (`--cohort`), the `--segment` column, or
/// `default` (a rule model's own segments) when it has more than one value.
fn segments_of(
    a: &EvaluateArgs,
    table: &leadscore_learn::Table,
    default: Option<Vec<String>>,
) -> Result<Option<Vec<String>>> {
    Ok(match (&a.cohort, &a.segment) {
        (Some(c), _) => {
            let created = a.created.as_deref().expect("clap requires --created");
            let period = match c {
                CohortArg::Month => Period::Month,
                CohortArg::Quarter => Period::Quarter,
            };
            Some(cohorts(table, created, period)?)
        }
        (None, Some(s)) => Some(segment_values(table, s)?),
        (None, None) => default.filter(|d| d.iter().any(|s| !s.is_empty())),
    })
}

/// The segments for the report: cohorts in time order, others in order of appearance.
fn segments_view<'s>(a: &EvaluateArgs, s: &'s Option<Vec<String>>) -> Option<Segments<'s>> {
    s.as_ref().map(|values| Segments {
        values,
        sorted: a.cohort.is_some(),
    })
}

pub(crate) fn evaluate(a: EvaluateArgs) -> Result<()> {
    if a.created.is_some() && a.converted_at.is_none() && a.cohort.is_none() {
        bail!("--created needs --converted-at (days to conversion) or --cohort");
    }
    let name = a.data.display().to_string();
    let is_rules = a.model.extension().is_some_and(|e| e == "toml");
    // The evaluation, with the outcomes and this model's scores (for `--against`).
    let (mut e, y, mine) = if is_rules {
        evaluate_rule_model(&a, &name)?
    } else {
        let mut model = read_learned(&a.model)?;
        model.set_threads(threads(a.threads));
        // The ids, where the file has the model's id column (and it is not a segment or a
        // date asked for), tell whether these leads were trained on.
        let keep = kept_columns(&a);
        let id = model.id.clone().filter(|id| !keep.contains(id));
        let mut opts = model.table_options(Some(a.target.clone()), id);
        opts.optional_id = true;
        opts.keep = keep;
        let table = read_table(open(&a.data)?, &name, &opts)?;
        let more = pipeline(&a, &table)?;
        let segments = segments_of(&a, &table, None)?;
        let p = model.probabilities(&table)?;
        let e = model.evaluate(
            &table,
            &p,
            segments_view(&a, &segments),
            &a.model.display().to_string(),
            more.view(),
        )?;
        (e, table.target.expect("a target was asked for"), p)
    };
    if let Some(other) = &a.against {
        e.against = Some(against(&a, &name, other, &y, &mine)?);
    }
    if a.cohort.is_some() {
        e.split_by = Some("cohort".into());
    }
    output(&a, &e)
}

/// The scores a model (learned or rules, by its file) gives the leads of `--data`, in row
/// order, with their outcomes and the model's label.
fn scores_of(a: &EvaluateArgs, name: &str, path: &Path) -> Result<(String, Vec<f64>, Vec<f64>)> {
    if path.extension().is_some_and(|e| e == "toml") {
        let model = load_model(path)?;
        let (table, rs, _) = rule_model_scores(a, name, &model)?;
        let y = table.target.expect("a target was asked for");
        Ok((rule_label(&model), y, rs.score))
    } else {
        let mut model = read_learned(path)?;
        model.set_threads(threads(a.threads));
        let opts = model.table_options(Some(a.target.clone()), None);
        let table = read_table(open(&a.data)?, name, &opts)?;
        let p = model.probabilities(&table)?;
        let y = table.target.expect("a target was asked for");
        Ok((model.label(&path.display().to_string()), y, p))
    }
}

/// `--against`: the other model's ROC-AUC on the leads with outcomes `y`, and the paired
/// difference from this model's scores `mine`.
fn against(a: &EvaluateArgs, name: &str, other: &Path, y: &[f64], mine: &[f64]) -> Result<Against> {
    let (label, y2, theirs) = scores_of(a, name, other)?;
    if y != y2 {
        bail!("{name}: the two models read different outcomes from the same file");
    }
    let auc = leadscore_learn::metrics::roc_auc(y, &theirs);
    Ok(Against {
        model: label,
        roc_auc: auc.is_finite().then_some(auc),
        difference: auc_difference(y, &theirs, mine),
    })
}

/// The extra columns evaluation reads: the segment, the two dates, the deal and the revenue.
fn kept_columns(a: &EvaluateArgs) -> Vec<String> {
    let mut keep: Vec<String> = Vec::new();
    for c in [&a.segment, &a.created, &a.converted_at, &a.deal, &a.revenue]
        .into_iter()
        .flatten()
    {
        if !keep.contains(c) {
            keep.push(c.clone());
        }
    }
    keep
}

/// What else `--data` tells of each lead, as asked: days to conversion (`--created` and
/// `--converted-at`), its deal (`--deal`), its revenue (`--revenue`).
fn pipeline(a: &EvaluateArgs, table: &leadscore_learn::Table) -> Result<PipelineColumns> {
    Ok(PipelineColumns {
        days: match (&a.created, &a.converted_at) {
            (Some(c), Some(v)) => Some(days_to_convert(table, c, v)?),
            _ => None,
        },
        deal: a
            .deal
            .as_deref()
            .map(|c| deal_results(table, c))
            .transpose()?,
        revenue: a
            .revenue
            .as_deref()
            .map(|c| revenue_values(table, c))
            .transpose()?,
    })
}

fn output(a: &EvaluateArgs, e: &Evaluation) -> Result<()> {
    print_evaluation(e, a.json, a.html.as_deref())
}

/// Writes the HTML report of `e` to `html` when given, and prints it as JSON or text.
pub(crate) fn print_evaluation(e: &Evaluation, json: bool, html: Option<&Path>) -> Result<()> {
    if let Some(p) = html {
        let pending = Pending::create(p)?;
        let mut w = pending.writer()?;
        w.write_all(report::html(e).as_bytes())?;
        w.flush()?;
        pending.commit()?;
    }
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, e)?;
        writeln!(out)?;
    } else {
        out.write_all(report::text(e).as_bytes())?;
    }
    Ok(())
}

/// The file the batch scorer reads the leads from, and its id column. The batch scorer needs
/// an id column: without one, a copy of `data` with a row number (1-based) in `dir`.
pub(crate) fn contacts_file(
    data: &Path,
    id: Option<&str>,
    name: &str,
    dir: &Path,
) -> Result<(PathBuf, String)> {
    Ok(match id {
        Some(id) => (data.to_owned(), id.to_owned()),
        None => {
            let path = dir.join("contacts.csv");
            let mut r = csv::Reader::from_reader(open(data)?);
            let mut w = csv::Writer::from_path(&path)?;
            let mut h: Vec<String> = r.headers()?.iter().map(str::to_owned).collect();
            if let Some(f) = h.first_mut() {
                *f = f.trim_start_matches('\u{feff}').to_owned();
            }
            let id = "__leadscore_row".to_owned();
            w.write_record(std::iter::once(id.as_str()).chain(h.iter().map(String::as_str)))?;
            for (i, rec) in r.records().enumerate() {
                let rec = rec.with_context(|| format!("{name}: cannot read"))?;
                let n = (i + 1).to_string();
                w.write_record(std::iter::once(n.as_str()).chain(rec.iter()))?;
            }
            w.flush()?;
            (path, id)
        }
    })
}

/// A rule model's evaluation, with the outcomes and its scores by row.
fn evaluate_rule_model(a: &EvaluateArgs, name: &str) -> Result<(Evaluation, Vec<f64>, Vec<f64>)> {
    let model = load_model(&a.model)?;
    let (table, rs, model_segments) = rule_model_scores(a, name, &model)?;
    let y = table.target.clone().expect("a target was asked for");
    let more = pipeline(a, &table)?;
    let segments = segments_of(a, &table, Some(model_segments))?;
    let e = evaluate_rules(
        &y,
        &rs,
        segments_view(a, &segments),
        more.view(),
        &rule_label(&model),
        name,
        a.seed,
    );
    Ok((e, y, rs.score))
}

/// A rule model's label: `name@version (hash)`.
pub(crate) fn rule_label(model: &Model) -> String {
    let r = model.reference();
    format!(
        "{}@{} ({})",
        r.name,
        r.version,
        &r.hash[..r.hash.len().min(12)]
    )
}

/// Scores the leads of `--data` with a rule model (through the batch scorer): the table read
/// for outcomes (and segment and date columns), the scores, tiers and statuses by row, and
/// the model's segment of each lead.
fn rule_model_scores(
    a: &EvaluateArgs,
    name: &str,
    model: &Model,
) -> Result<(leadscore_learn::Table, RuleScores, Vec<String>)> {
    // The outcomes (and segment column) by row, read by the learn crate's reader.
    let opts = TableOptions {
        target: Some(a.target.clone()),
        id: a.id.clone(),
        schema: Some(Vec::new()),
        keep: kept_columns(a),
        ..TableOptions::default()
    };
    let table = read_table(open(&a.data)?, name, &opts)?;
    let rows = table.rows;
    let tmp = tempfile::tempdir().context("cannot create a temporary directory")?;
    let (contacts, id_col) = contacts_file(&a.data, a.id.as_deref(), name, tmp.path())?;
    let job = ScoreJob {
        contacts,
        accounts: None,
        events: None,
        input_format: Some(Format::Csv),
        as_of: crate::parse_as_of(a.as_of.as_deref())?,
        unknown_contacts: UnknownContacts::Warn,
        threads: threads(a.threads),
        id_column: Some(id_col),
        block_size: None,
    };
    let mut buf = Vec::new();
    let (_, summary) =
        leadscore_batch::score_files(&job, model, &mut buf, Format::Csv, None, &NoProgress)
            .map_err(|e| {
                anyhow::anyhow!(
                    "{}",
                    e.to_string()
                        .replace(&job.contacts.display().to_string(), name)
                )
            })?;
    for w in &summary.warnings {
        eprintln!("warning: {w}");
    }
    // Scores come back in input order, one per row.
    let mut r = csv::Reader::from_reader(buf.as_slice());
    let h = r.headers()?.clone();
    let col = |n: &str| {
        h.iter()
            .position(|x| x == n)
            .with_context(|| format!("no `{n}` in the scores"))
    };
    let (ci, cs, ct, cg, cst, cseg) = (
        col("id")?,
        col("score")?,
        col("tier")?,
        col("grade")?,
        col("status")?,
        col("segment")?,
    );
    let mut rs = RuleScores::default();
    let mut model_segments = Vec::new();
    let mut ids = Vec::new();
    for rec in r.records() {
        let rec = rec?;
        ids.push(rec[ci].to_owned());
        rs.score.push(
            rec[cs]
                .parse::<f64>()
                .with_context(|| format!("score {:?}", &rec[cs]))?,
        );
        rs.tier.push(rec[ct].to_owned());
        rs.grade.push(rec[cg].to_owned());
        rs.qualified.push(&rec[cst] == "qualified");
        model_segments.push(rec[cseg].to_owned());
    }
    if ids.len() != rows {
        bail!("{name}: {rows} rows but {} scores", ids.len());
    }
    if let Some(t) = &table.ids
        && t != &ids
    {
        bail!("{name}: the scores do not come back in input order");
    }
    rs.order_tiers_by_score();
    Ok((table, rs, model_segments))
}

/// `s` as one shell word: bare when it is plain, else in single quotes.
fn shell_word(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:@".contains(&b));
    if plain {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn column_names_become_one_shell_word() {
        assert_eq!(super::shell_word("Tags"), "Tags");
        assert_eq!(super::shell_word("account.stage"), "account.stage");
        assert_eq!(super::shell_word("Lead Quality"), "'Lead Quality'");
        assert_eq!(super::shell_word("it's"), "'it'\\''s'");
        assert_eq!(super::shell_word(""), "''");
    }
}
