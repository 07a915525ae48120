//! The `leadscore` command: score, explain, check, generate, demo, serve, train, evaluate,
//! suggest, backtest. Only argument parsing and printing live here; the work is done by the
//! library crates.

mod learn;
mod progress;
mod service;
mod suggest;

/// Scoring millions of leads allocates many small strings across threads; mimalloc does that
/// markedly faster than the system allocator (measured in bench/score_vs_duckdb.py).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use leadscore_batch::{Format, ScoreJob, Summary, UnknownContacts};
use leadscore_core::{Model, UnixSeconds, value::parse_time};
use progress::Bars;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(Parser)]
#[command(
    name = "leadscore",
    version,
    about = "Lead scoring you can read, test and prove."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Score every contact in a CSV/NDJSON file with a model.
    Score(ScoreArgs),
    /// Show the full breakdown of one contact's score.
    Explain(ExplainArgs),
    /// Validate a model file and print its rules in plain language.
    Check {
        /// The model file (TOML).
        model: PathBuf,
    },
    /// Write realistic synthetic contacts, accounts, events and outcomes.
    Generate(GenerateArgs),
    /// Generate a sample, score it with the starter model and print the top leads.
    Demo(DemoArgs),
    /// Run the scoring service: Segment-compatible ingestion, live scores, REST API, webhooks.
    Serve(service::ServeArgs),
    /// Manage the service's workspaces (each with its own keys, model and data).
    #[command(subcommand)]
    Workspace(service::WorkspaceCommand),
    /// Import contacts, accounts, events and outcomes files into a workspace of the service's
    /// store.
    Import(service::ImportArgs),
    /// Write a workspace's training table (traits, event counts over 7/30/90 days, recency,
    /// the label from recorded outcomes) as CSV.
    ExportTraining(service::ExportTrainingArgs),
    /// A workspace's model versions: history, upload, activate, rollback.
    #[command(subcommand)]
    Model(service::ModelCommand),
    /// Learn a predictive model (logistic regression or boosted trees) from past leads.
    Train(learn::TrainArgs),
    /// Predict conversion probabilities, with the top three factors per lead.
    Predict(learn::PredictArgs),
    /// Evaluate a learned model or a rule model (.toml) on leads with known outcomes.
    Evaluate(learn::EvaluateArgs),
    /// Propose points and tier thresholds for a rule model from leads with known outcomes.
    Suggest(suggest::SuggestArgs),
    /// Compare two rule models on history before activating one: tier changes, precision.
    Backtest(suggest::BacktestArgs),
}

#[derive(clap::Args)]
struct Inputs {
    /// The model file (TOML).
    #[arg(long)]
    model: PathBuf,
    /// Contacts: `id`, optional `account_id`, other columns are attributes.
    #[arg(long)]
    contacts: PathBuf,
    /// Accounts: `id`, other columns are attributes (read as `account.<column>`).
    #[arg(long)]
    accounts: Option<PathBuf>,
    /// Events: `contact_id`, `event`, `timestamp` (RFC 3339), other columns are properties.
    #[arg(long)]
    events: Option<PathBuf>,
    /// Score as of this time (RFC 3339 or YYYY-MM-DD); default now.
    #[arg(long)]
    as_of: Option<String>,
    /// Input format when the file extension does not say (.csv, .ndjson, .jsonl).
    #[arg(long, value_enum)]
    input_format: Option<FormatArg>,
    /// What to do with events of contacts that are not in the contacts file.
    #[arg(long, value_enum, default_value = "warn")]
    unknown_contacts: UnknownArg,
    /// Threads parsing the events file (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// The contacts' id column when it is not `id` (e.g. "Record ID", "Prospect ID").
    #[arg(long)]
    id_column: Option<String>,
}

#[derive(clap::Args)]
struct ScoreArgs {
    #[command(flatten)]
    inputs: Inputs,
    /// Output file (default: standard output).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Output format.
    /// Output format (default: from the --out extension, `.ndjson`/`.jsonl` or else CSV).
    #[arg(long, value_enum)]
    format: Option<FormatArg>,
    /// Also write account roll-ups (id, score, tier, contacts) to this CSV file.
    #[arg(long)]
    accounts_out: Option<PathBuf>,
    /// No progress bar and no summary line.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(clap::Args)]
struct ExplainArgs {
    #[command(flatten)]
    inputs: Inputs,
    /// The contact to explain.
    #[arg(long)]
    id: String,
    /// Print the explanation as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
struct GenerateArgs {
    /// How many contacts.
    #[arg(long, default_value_t = 1000)]
    contacts: usize,
    /// Random seed: the same seed gives the same files.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Output directory (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// End of the 18-month history (RFC 3339 or YYYY-MM-DD).
    #[arg(long, default_value = "2026-11-01")]
    as_of: String,
    /// Mean events per contact.
    #[arg(long, default_value_t = 20.0)]
    events_per_contact: f64,
}

#[derive(clap::Args)]
struct DemoArgs {
    /// How many contacts to generate.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..))]
    contacts: u64,
    /// How many top leads to print.
    #[arg(long, default_value_t = 10)]
    top: usize,
    /// Where to keep the sample and the scores (default: a temporary directory).
    #[arg(long)]
    dir: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    Csv,
    Ndjson,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Csv => Format::Csv,
            FormatArg::Ndjson => Format::Ndjson,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum UnknownArg {
    Warn,
    Fail,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Score(a) => score(a),
        Command::Explain(a) => explain(a),
        Command::Check { model } => check(&model),
        Command::Generate(a) => generate(a),
        Command::Demo(a) => demo(a),
        Command::Serve(a) => service::serve(a),
        Command::Workspace(c) => service::workspace(c),
        Command::Import(a) => service::import(a),
        Command::ExportTraining(a) => service::export_training(a),
        Command::Model(c) => service::model(c),
        Command::Train(a) => learn::train(a),
        Command::Predict(a) => learn::predict(a),
        Command::Evaluate(a) => learn::evaluate(a),
        Command::Suggest(a) => suggest::suggest(a),
        Command::Backtest(a) => suggest::backtest(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

pub(crate) fn load_model(path: &Path) -> Result<Model> {
    let src = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read model {}", path.display()))?;
    Model::from_toml(&src, &path.display().to_string()).map_err(|e| {
        let n = e.diagnostics.len();
        anyhow::anyhow!(
            "{n} problem{} in the model:\n{e}",
            if n == 1 { "" } else { "s" }
        )
    })
}

fn parse_as_of(s: Option<&str>) -> Result<UnixSeconds> {
    match s {
        Some(s) => parse_time(s).with_context(|| {
            format!("--as-of: {s:?} is not a date (YYYY-MM-DD) or RFC 3339 timestamp")
        }),
        None => Ok(chrono::Utc::now().timestamp()),
    }
}

fn job(i: &Inputs) -> Result<ScoreJob> {
    Ok(ScoreJob {
        contacts: i.contacts.clone(),
        accounts: i.accounts.clone(),
        events: i.events.clone(),
        input_format: i.input_format.map(Into::into),
        as_of: parse_as_of(i.as_of.as_deref())?,
        unknown_contacts: match i.unknown_contacts {
            UnknownArg::Warn => UnknownContacts::Warn,
            UnknownArg::Fail => UnknownContacts::Fail,
        },
        threads: i
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
        id_column: i.id_column.clone(),
        block_size: None,
    })
}

/// A file that appears at `path` only when the run succeeds: a failed run must not leave a
/// truncated file, nor wipe the previous good one.
pub(crate) struct Pending {
    tmp: tempfile::NamedTempFile,
    path: PathBuf,
}

impl Pending {
    pub(crate) fn create(path: &Path) -> Result<Pending> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let tmp = tempfile::Builder::new()
            .prefix(".leadscore-")
            .tempfile_in(dir)
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Pending {
            tmp,
            path: path.to_owned(),
        })
    }

    pub(crate) fn writer(&self) -> Result<std::io::BufWriter<std::fs::File>> {
        let f = self
            .tmp
            .reopen()
            .with_context(|| format!("cannot write {}", self.path.display()))?;
        Ok(std::io::BufWriter::with_capacity(1 << 20, f))
    }

    pub(crate) fn commit(self) -> Result<()> {
        self.tmp
            .persist(&self.path)
            .with_context(|| format!("cannot write {}", self.path.display()))?;
        Ok(())
    }
}

fn score(a: ScoreArgs) -> Result<()> {
    let started = Instant::now();
    let model = load_model(&a.inputs.model)?;
    let job = job(&a.inputs)?;
    let bars = Bars::new(a.quiet);
    let format: Format = match (a.format, &a.out) {
        (Some(f), _) => f.into(),
        (None, Some(p)) => Format::from_path(p),
        (None, None) => Format::Csv,
    };
    let accounts_pending = a.accounts_out.as_deref().map(Pending::create).transpose()?;
    let mut accounts_file = accounts_pending.as_ref().map(Pending::writer).transpose()?;
    let accounts_out = accounts_file.as_mut().map(|w| w as &mut dyn Write);
    let (summary, out_pending) = match &a.out {
        Some(p) => {
            let pending = Pending::create(p)?;
            let w = pending.writer()?;
            let (mut w, s) =
                leadscore_batch::score_files(&job, &model, w, format, accounts_out, &bars)?;
            w.flush()?;
            (s, Some(pending))
        }
        None => {
            let w = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
            let (mut w, s) =
                leadscore_batch::score_files(&job, &model, w, format, accounts_out, &bars)?;
            w.flush()?;
            (s, None)
        }
    };
    if let Some(mut w) = accounts_file {
        w.flush()?;
    }
    // Only now, with everything written, do the files take their names.
    if let Some(p) = out_pending {
        p.commit()?;
    }
    if let Some(p) = accounts_pending {
        p.commit()?;
    }
    for w in &summary.warnings {
        eprintln!("warning: {w}");
    }
    if !a.quiet {
        eprintln!(
            "{}",
            summary_line(&summary, started.elapsed().as_secs_f64())
        );
    }
    Ok(())
}

fn summary_line(s: &Summary, secs: f64) -> String {
    let join = |m: &std::collections::BTreeMap<String, u64>| {
        m.iter()
            .map(|(k, v)| format!("{} {v}", if k.is_empty() { "-" } else { k }))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "scored {} contacts from {} events ({} used) in {:.2}s (load {:.2}s, events {:.2}s, score+write {:.2}s) — tiers: {} — status: {}",
        s.contacts,
        s.events.rows,
        s.events.used,
        secs,
        s.load_time.as_secs_f64(),
        s.events_time.as_secs_f64(),
        s.score_time.as_secs_f64(),
        join(&s.tiers),
        join(&s.statuses)
    )
}

fn explain(a: ExplainArgs) -> Result<()> {
    let model = load_model(&a.inputs.model)?;
    let job = job(&a.inputs)?;
    let loaded = leadscore_batch::load(&job, &model, &Bars::new(false))?;
    for w in &loaded.summary.warnings {
        eprintln!("warning: {w}");
    }
    let Some(s) = loaded.score_one(&model, job.as_of, &a.id) else {
        bail!(
            "no contact with id `{}` in {}",
            a.id,
            job.contacts.display()
        );
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        print!("{}", s.explain());
    }
    Ok(())
}

fn check(path: &Path) -> Result<()> {
    let model = load_model(path)?;
    print!("{}", model.describe());
    println!("\nOK: {} is valid.", path.display());
    Ok(())
}

pub(crate) fn generate_into(
    dir: &Path,
    contacts: usize,
    seed: u64,
    as_of: &str,
    epc: f64,
) -> Result<()> {
    let as_of = parse_time(as_of)
        .with_context(|| format!("--as-of: {as_of:?} is not a date or RFC 3339 timestamp"))?;
    let opts = leadscore_synth::GenerateOptions {
        contacts,
        seed,
        as_of: chrono::DateTime::from_timestamp(as_of, 0).context("--as-of out of range")?,
        events_per_contact: epc,
        ..Default::default()
    };
    let t = Instant::now();
    let s = leadscore_synth::generate(&opts, dir)?;
    eprintln!(
        "wrote {} contacts, {} accounts, {} events, {} conversions to {} in {:.2}s",
        s.contacts,
        s.accounts,
        s.events,
        s.conversions,
        dir.display(),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

fn generate(a: GenerateArgs) -> Result<()> {
    generate_into(&a.out, a.contacts, a.seed, &a.as_of, a.events_per_contact)
}

/// The starter model, built into the binary so the demo runs anywhere.
pub(crate) const STARTER: &str = include_str!("../../../examples/starter.toml");

fn demo(a: DemoArgs) -> Result<()> {
    let tmp;
    let dir = match &a.dir {
        Some(d) => d.clone(),
        None => {
            tmp = std::env::temp_dir().join(format!("leadscore-demo-{}", std::process::id()));
            tmp.clone()
        }
    };
    let as_of = "2026-11-01T00:00:00Z";
    generate_into(&dir, a.contacts as usize, 42, as_of, 20.0)?;
    // The model the demo used sits beside the data, so the printed commands work from anywhere.
    let model_path = dir.join("starter.toml");
    std::fs::write(&model_path, STARTER)
        .with_context(|| format!("cannot write {}", model_path.display()))?;
    let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
    let model_path = dir.join("starter.toml");
    let model =
        Model::from_toml(STARTER, "examples/starter.toml").map_err(|e| anyhow::anyhow!("{e}"))?;
    let job = ScoreJob {
        contacts: dir.join("contacts.csv"),
        accounts: Some(dir.join("accounts.csv")),
        events: Some(dir.join("events.csv")),
        input_format: None,
        as_of: parse_time(as_of).context("as-of")?,
        unknown_contacts: UnknownContacts::Fail,
        threads: 2,
        id_column: None,
        block_size: None,
    };
    let out_path = dir.join("scores.csv");
    let t = Instant::now();
    let f = std::fs::File::create(&out_path)?;
    let (mut w, summary) = leadscore_batch::score_files(
        &job,
        &model,
        std::io::BufWriter::new(f),
        Format::Csv,
        None,
        &Bars::new(false),
    )?;
    w.flush()?;
    eprintln!("{}", summary_line(&summary, t.elapsed().as_secs_f64()));

    let mut rdr = csv::Reader::from_path(&out_path)?;
    let h = rdr.headers()?.clone();
    let col = |n: &str| h.iter().position(|x| x == n).unwrap_or(0);
    let (id, score, tier, grade, status, seg, reasons) = (
        col("id"),
        col("score"),
        col("tier"),
        col("grade"),
        col("status"),
        col("segment"),
        col("top_reasons"),
    );
    let mut rows: Vec<csv::StringRecord> = rdr.records().collect::<Result<_, _>>()?;
    rows.sort_by(|x, y| {
        let f = |r: &csv::StringRecord| r[score].parse::<f64>().unwrap_or(0.0);
        f(y).total_cmp(&f(x)).then_with(|| x[id].cmp(&y[id]))
    });
    println!(
        "\nTop {} leads ({} v{}, as of {as_of}):\n",
        a.top,
        model.reference().name,
        model.reference().version
    );
    println!(
        "{:<10} {:>6}  {:<5} {:<5} {:<12} {:<10} top reasons",
        "id", "score", "tier", "grade", "status", "segment"
    );
    for r in rows.iter().take(a.top) {
        println!(
            "{:<10} {:>6}  {:<5} {:<5} {:<12} {:<10} {}",
            &r[id], &r[score], &r[tier], &r[grade], &r[status], &r[seg], &r[reasons]
        );
    }
    println!(
        "\nAll scores: {}\nExplain one: leadscore explain --model {} --contacts {} --accounts {} --events {} --as-of {as_of} --id {}",
        out_path.display(),
        model_path.display(),
        dir.join("contacts.csv").display(),
        dir.join("accounts.csv").display(),
        dir.join("events.csv").display(),
        rows.first().map_or("c-0000001", |r| &r[id])
    );
    Ok(())
}
