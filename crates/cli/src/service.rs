//! `serve`, `workspace` and `import`: the service commands. Arguments and messages only; the
//! work is in `leadscore-app` and `leadscore-server`.

use anyhow::{Context, Result, bail};
use leadscore_app::import::Kind;
use leadscore_app::{Service, Settings, SystemClock};
use leadscore_store::{Durability, KeyKind, Store};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Where the data lives.
#[derive(clap::Args, Clone)]
pub struct StoreArgs {
    /// Directory of the embedded SQLite store (created on first start).
    #[arg(long, default_value = "leadscore-data", env = "LEADSCORE_DATA_DIR")]
    pub data_dir: PathBuf,
    /// A PostgreSQL URL (postgres://…) instead of the embedded store.
    #[arg(long, env = "LEADSCORE_DATABASE_URL")]
    pub database_url: Option<String>,
    /// SQLite commit durability: `full` (survives a power cut) or `normal` (survives the
    /// process being killed; faster).
    #[arg(long, default_value = "full", value_parser = ["full", "normal"])]
    pub durability: String,
}

impl StoreArgs {
    async fn open(&self) -> Result<Store> {
        let durability = if self.durability == "normal" {
            Durability::Normal
        } else {
            Durability::Full
        };
        match &self.database_url {
            Some(url) => Store::open(url, durability)
                .await
                .with_context(|| format!("cannot open the database {}", redact(url))),
            None => Store::open_dir(&self.data_dir, durability)
                .await
                .with_context(|| format!("cannot open the store in {}", self.data_dir.display())),
        }
    }
}

fn redact(url: &str) -> String {
    match url.split_once('@') {
        Some((_, host)) => format!("postgres://…@{host}"),
        None => url.to_owned(),
    }
}

/// `leadscore serve`.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    #[command(flatten)]
    store: StoreArgs,
    /// The `default` workspace's model (TOML). Without it a new store starts with the built-in
    /// starter model and an existing one keeps its active model.
    #[arg(long)]
    model: Option<PathBuf>,
    /// A write key for the `default` workspace (Segment clients send it as the user name).
    #[arg(long, env = "LEADSCORE_WRITE_KEY")]
    write_key: Option<String>,
    /// A read key for the `default` workspace (`Authorization: Bearer …`).
    #[arg(long, env = "LEADSCORE_READ_KEY")]
    read_key: Option<String>,
    /// How often every contact is re-scored so decay and absence rules apply: `24h`, `30m`,
    /// `90s`, or `off`.
    #[arg(long, default_value = "24h")]
    rescore_every: String,
    /// How often every workspace's predictive model is retrained from its store (the training
    /// table of `train --from-store`): `24h`, `30m`, `90s`, or `off` (the default). Each lead
    /// then has a calibrated `probability` and top factors in the API.
    #[arg(long, default_value = "off")]
    retrain_every: String,
    /// The label a retrain learns: `won`, or `converted` (won or an opportunity created).
    #[arg(long, default_value = "won", value_parser = ["won", "converted"])]
    retrain_target: String,
    /// The learner of a retrain: `auto` (both and their blend, the lowest cross-validated
    /// log-loss kept), `logistic`, `gbm` or `blend`.
    #[arg(long, default_value = "auto", value_parser = ["auto", "logistic", "gbm", "blend"])]
    retrain_algo: String,
    /// Fewest contacts with a positive outcome, and fewest without, for a retrain to train
    /// (otherwise its job is `skipped`, saying so).
    #[arg(long, default_value_t = 20)]
    retrain_min_outcomes: usize,
    /// A column of the training table a retrain leaves out (repeatable): a trait set once a
    /// deal is won, such as a CRM's lifecycle stage, tells the outcome rather than predicts it.
    #[arg(long = "retrain-ignore", value_name = "COL")]
    retrain_ignore: Vec<String>,
    /// Largest request body in bytes (after gzip); larger gets 413.
    #[arg(long, default_value_t = 4 << 20)]
    body_limit: usize,
    /// First start only: fill the `default` workspace with generated sample data (this many
    /// contacts, with accounts and 18 months of events).
    #[arg(long)]
    sample: Option<usize>,
}

fn parse_every(flag: &str, s: &str) -> Result<Option<Duration>> {
    if s == "off" || s == "0" {
        return Ok(None);
    }
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num
        .parse()
        .with_context(|| format!("{flag}: `{s}` is not like 24h, 30m, 90s or off"))?;
    let secs = match unit {
        "h" => n * 3600,
        "m" => n * 60,
        "s" | "" => n,
        "d" => n * 86400,
        _ => bail!("{flag}: unknown unit in `{s}` (use s, m, h or d)"),
    };
    Ok(Some(Duration::from_secs(secs.max(1))))
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn read_model(path: Option<&Path>) -> Result<(String, String)> {
    match path {
        Some(p) => {
            let src = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read model {}", p.display()))?;
            // Compile here for the file's own name in messages.
            leadscore_core::Model::from_toml(&src, &p.display().to_string())
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            Ok((src, p.display().to_string()))
        }
        None => Ok((crate::STARTER.to_owned(), "examples/starter.toml".into())),
    }
}

/// Runs the server until Ctrl-C / SIGTERM.
pub fn serve(a: ServeArgs) -> Result<()> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LEADSCORE_LOG")
                .unwrap_or_else(|_| "leadscore=info,warn".into()),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let every = parse_every("--rescore-every", &a.rescore_every)?;
    let retrain_every = parse_every("--retrain-every", &a.retrain_every)?;
    let retrain = leadscore_app::predict::RetrainSettings {
        target: leadscore_app::training::Target::parse(&a.retrain_target)
            .context("--retrain-target: expected won or converted")?,
        algo: match a.retrain_algo.as_str() {
            "logistic" => leadscore_learn::Algo::Logistic,
            "gbm" => leadscore_learn::Algo::Gbm,
            "blend" => leadscore_learn::Algo::Blend,
            _ => leadscore_learn::Algo::Auto,
        },
        min_positives: a.retrain_min_outcomes,
        min_negatives: a.retrain_min_outcomes,
        threads: crate::learn::threads(None),
        ignore: a.retrain_ignore.clone(),
        ..Default::default()
    };
    let (model_src, model_name) = read_model(a.model.as_deref())?;
    runtime()?.block_on(async move {
        let store = a.store.open().await?;
        let settings = Settings {
            rescore_every: every,
            retrain_every,
            retrain,
            ..Settings::default()
        };
        let svc = Service::start(store, Arc::new(SystemClock), settings)
            .await
            .context("cannot start the service")?;
        let space = match svc.space_named("default") {
            Some(s) => {
                if a.model.is_some() && s.active().record.source != model_src {
                    let rec = svc
                        .upload_model(&s, &model_src, "serve --model", &model_name)
                        .await?;
                    svc.activate(&s, rec.version, "serve --model", &model_name)
                        .await?;
                    eprintln!(
                        "model {model_name} is now version {} of workspace default",
                        rec.version
                    );
                }
                s
            }
            None => {
                let (s, wk, rk) = svc.create_workspace("default", &model_src).await?;
                if a.write_key.is_none() {
                    println!("workspace default: write key {wk}");
                }
                if a.read_key.is_none() {
                    println!("workspace default: read key {rk}");
                }
                if let Some(n) = a.sample {
                    load_sample(&svc, &s, n).await?;
                }
                s
            }
        };
        if let Some(k) = &a.write_key {
            svc.add_key(&space, KeyKind::Write, k).await?;
        }
        if let Some(k) = &a.read_key {
            svc.add_key(&space, KeyKind::Read, k).await?;
        }
        let app = leadscore_server::router(
            svc.clone(),
            &leadscore_server::ServerSettings {
                body_limit: a.body_limit,
            },
        );
        let listener = tokio::net::TcpListener::bind(&a.listen)
            .await
            .with_context(|| format!("cannot listen on {}", a.listen))?;
        let addr = listener.local_addr()?;
        println!(
            "leadscore: listening on http://{addr} ({:?} store)",
            svc.store().backend()
        );
        use std::io::Write;
        std::io::stdout().flush()?;
        leadscore_server::serve(listener, app, shutdown_signal()).await?;
        svc.store().close().await;
        Ok(())
    })
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

async fn load_sample(svc: &Service, space: &Arc<leadscore_app::Space>, n: usize) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("leadscore-sample-{}", std::process::id()));
    let now = chrono::Utc::now().format("%Y-%m-%dT00:00:00Z").to_string();
    crate::generate_into(&dir, n, 42, &now, 20.0)?;
    for (kind, file) in [
        (Kind::Accounts, "accounts.csv"),
        (Kind::Contacts, "contacts.csv"),
        (Kind::Events, "events.csv"),
    ] {
        let path = dir.join(file);
        let f = std::fs::File::open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        let r = leadscore_app::import::import(svc, space, kind, false, f, file).await?;
        eprintln!("sample: {file}: {} messages stored", r.accepted);
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// `leadscore workspace …`.
#[derive(clap::Subcommand)]
pub enum WorkspaceCommand {
    /// Create a workspace and print its new write and read keys (shown once).
    Create {
        /// The workspace's name.
        name: String,
        /// Its first model (default: the built-in starter model).
        #[arg(long)]
        model: Option<PathBuf>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List workspaces.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// Runs a workspace command.
pub fn workspace(c: WorkspaceCommand) -> Result<()> {
    runtime()?.block_on(async move {
        match c {
            WorkspaceCommand::Create { name, model, store } => {
                let (src, _) = read_model(model.as_deref())?;
                let svc = start(&store).await?;
                let (s, wk, rk) = svc.create_workspace(&name, &src).await?;
                println!("workspace {} ({})", s.name, s.id);
                println!("write key: {wk}");
                println!("read key:  {rk}");
            }
            WorkspaceCommand::List { store } => {
                let svc = start(&store).await?;
                for s in svc.spaces() {
                    let a = s.active();
                    println!(
                        "{}\t{}\tmodel v{} ({} {})",
                        s.name, s.id, a.version, a.record.name, a.record.model_version
                    );
                }
            }
        }
        Ok(())
    })
}

async fn start(store: &StoreArgs) -> Result<Service> {
    let store = store.open().await?;
    Service::start(
        store,
        Arc::new(SystemClock),
        Settings {
            rescore_every: None,
            ..Settings::default()
        },
    )
    .await
    .context("cannot start the service")
}

/// `leadscore import`.
#[derive(clap::Args)]
pub struct ImportArgs {
    /// The workspace to import into.
    #[arg(long, default_value = "default")]
    workspace: String,
    /// Accounts file (`id`, other columns are traits).
    #[arg(long)]
    accounts: Option<PathBuf>,
    /// Contacts file (`id`, optional `account_id`, other columns are traits).
    #[arg(long)]
    contacts: Option<PathBuf>,
    /// Events file (`contact_id`, `event`, `timestamp`, other columns are properties).
    #[arg(long)]
    events: Option<PathBuf>,
    /// Outcomes file (CSV: `contact_id`, `kind`, optional `stage`, `amount`, `reason`,
    /// `timestamp`, `id`; or the generator's `contact_id,converted,converted_at,amount`; or
    /// `.ndjson`/`.jsonl`, one `POST /api/v1/outcomes` object a line).
    #[arg(long)]
    outcomes: Option<PathBuf>,
    #[command(flatten)]
    store: StoreArgs,
}

fn is_ndjson(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("ndjson" | "jsonl")
    )
}

/// Imports files into a workspace's store.
pub fn import(a: ImportArgs) -> Result<()> {
    if a.accounts.is_none() && a.contacts.is_none() && a.events.is_none() && a.outcomes.is_none() {
        bail!("give --accounts, --contacts, --events and/or --outcomes");
    }
    runtime()?.block_on(async move {
        let svc = start(&a.store).await?;
        let space = svc
            .space_named(&a.workspace)
            .with_context(|| format!("no workspace `{}` in this store", a.workspace))?;
        // Every file is read and checked before any is stored: a bad line anywhere stores
        // nothing.
        let mut files = Vec::new();
        for (kind, path) in [
            (Kind::Accounts, &a.accounts),
            (Kind::Contacts, &a.contacts),
            (Kind::Events, &a.events),
        ] {
            let Some(path) = path else { continue };
            let ndjson = is_ndjson(path);
            let f = std::fs::File::open(path)
                .with_context(|| format!("cannot open {}", path.display()))?;
            let name = path.display().to_string();
            let messages = leadscore_app::import::prepare(&svc, &space, kind, ndjson, f, &name)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            files.push((name, messages));
        }
        let outcomes = match &a.outcomes {
            Some(path) => {
                let f = std::fs::File::open(path)
                    .with_context(|| format!("cannot open {}", path.display()))?;
                let name = path.display().to_string();
                let list =
                    leadscore_app::outcome::parse_file(is_ndjson(path), f, &name, svc.now_ms())
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                Some((name, list))
            }
            None => None,
        };
        for (name, messages) in files {
            let r = leadscore_app::import::store(&svc, &space, messages)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "{name}: {} stored, {} already there, {} scores changed",
                r.accepted, r.duplicates, r.rescored
            );
        }
        if let Some((name, list)) = outcomes {
            let r = svc
                .record_outcomes(&space, &list)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "{name}: {} outcomes stored, {} already there",
                r.accepted, r.duplicates
            );
        }
        svc.store().close().await;
        Ok(())
    })
}

/// `--target`: `won` or `converted`.
fn parse_target(target: &str) -> Result<leadscore_app::training::Target> {
    leadscore_app::training::Target::parse(target)
        .with_context(|| format!("--target: `{target}`: expected won or converted"))
}

/// A time option (`flag`, e.g. `--as-of`) in ms, when given.
fn time_ms(flag: &str, value: Option<&str>) -> Result<Option<i64>> {
    value
        .map(|s| {
            Ok(leadscore_core::value::parse_time(s)
                .with_context(|| format!("{flag}: {s:?} is not a date or RFC 3339 timestamp"))?
                .saturating_mul(1000))
        })
        .transpose()
}

/// The training table of a workspace (see `leadscore_app::training`) as CSV, with its row
/// and positive counts. `as_of` defaults to now.
pub(crate) fn training_csv(
    store: &StoreArgs,
    workspace: &str,
    as_of: Option<&str>,
    target: &str,
) -> Result<(Vec<u8>, usize, usize)> {
    let target = parse_target(target)?;
    let as_of = time_ms("--as-of", as_of)?.unwrap_or_else(|| chrono::Utc::now().timestamp_millis());
    runtime()?.block_on(async move {
        let svc = start(store).await?;
        let space = svc
            .space_named(workspace)
            .with_context(|| format!("no workspace `{workspace}` in this store"))?;
        let table = svc
            .training_table(&space, as_of, target)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        svc.store().close().await;
        Ok((table.to_csv(), table.rows.len(), table.positives()))
    })
}

/// `leadscore export-training`.
#[derive(clap::Args)]
pub struct ExportTrainingArgs {
    /// The workspace.
    #[arg(long, default_value = "default")]
    workspace: String,
    /// The label: `won` (a won outcome) or `converted` (won or an opportunity created).
    #[arg(long, default_value = "won")]
    target: String,
    /// The time the table is for (RFC 3339 or YYYY-MM-DD; default now): the cut-off of
    /// contacts without a positive outcome, and outcomes after it are not counted.
    #[arg(long)]
    as_of: Option<String>,
    /// Where to write the table (CSV).
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    store: StoreArgs,
}

/// Writes a workspace's training table to a CSV file.
pub fn export_training(a: ExportTrainingArgs) -> Result<()> {
    let (csv, rows, positives) =
        training_csv(&a.store, &a.workspace, a.as_of.as_deref(), &a.target)?;
    let pending = crate::Pending::create(&a.out)?;
    let mut w = pending.writer()?;
    std::io::Write::write_all(&mut w, &csv)?;
    std::io::Write::flush(&mut w)?;
    drop(w);
    pending.commit()?;
    eprintln!(
        "wrote {} ({rows} contacts, {positives} with label 1)",
        a.out.display()
    );
    Ok(())
}

/// `leadscore model …`: versions of a workspace's model, with a changelog.
#[derive(clap::Subcommand)]
pub enum ModelCommand {
    /// List stored versions and activations (who, when, why).
    History {
        /// The workspace.
        #[arg(long, default_value = "default")]
        workspace: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Validate and store a model file as the next version; `--activate` makes it active.
    Upload {
        /// The model file (TOML).
        file: PathBuf,
        /// The workspace.
        #[arg(long, default_value = "default")]
        workspace: String,
        /// Why (the changelog line).
        #[arg(long, default_value = "")]
        note: String,
        /// Who (default: $USER).
        #[arg(long, env = "USER", default_value = "cli")]
        author: String,
        /// Activate it (re-scores the workspace before returning).
        #[arg(long)]
        activate: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// The closed loop on the store's own pipeline: a version (default: the active one)
    /// evaluated on every contact, each scored as it would have scored just before its first
    /// outcome (or as of now without one); with the deals won and lost, the win rate, the
    /// revenue of won deals and the days to conversion per decile, tier and grade.
    Evaluate {
        /// The version (see `model history`; default: the active one).
        #[arg(long)]
        version: Option<i64>,
        /// Another version scored on the same contacts at the same times: its ROC-AUC, and
        /// this version's less it with a 95% interval and p-value (DeLong, paired).
        #[arg(long, value_name = "VERSION")]
        against: Option<i64>,
        /// The label: `won` (a won outcome) or `converted` (won or an opportunity created).
        #[arg(long, default_value = "won")]
        target: String,
        /// The time of the evaluation (RFC 3339 or YYYY-MM-DD; default now): outcomes after
        /// it do not count, contacts without an outcome by then are scored as of then.
        #[arg(long)]
        as_of: Option<String>,
        /// Only contacts first seen before this time (RFC 3339 or YYYY-MM-DD): leads that
        /// have had time to convert.
        #[arg(long, value_name = "TIME")]
        created_before: Option<String>,
        /// The workspace.
        #[arg(long, default_value = "default")]
        workspace: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Also write the HTML report with charts (one self-contained file).
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Activate a stored version (re-scores the workspace before returning).
    Activate {
        /// The version number (see `model history`).
        version: i64,
        /// The workspace.
        #[arg(long, default_value = "default")]
        workspace: String,
        /// Why.
        #[arg(long, default_value = "")]
        note: String,
        /// Who.
        #[arg(long, env = "USER", default_value = "cli")]
        author: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Go back to the version active before the current one.
    Rollback {
        /// The workspace.
        #[arg(long, default_value = "default")]
        workspace: String,
        /// Why.
        #[arg(long, default_value = "rollback")]
        note: String,
        /// Who.
        #[arg(long, env = "USER", default_value = "cli")]
        author: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

fn when(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

async fn wait_job(svc: &Service, space: &leadscore_app::Space, job: i64) -> Result<()> {
    loop {
        let jobs = svc.store().jobs(&space.id, 100).await?;
        if let Some(j) = jobs.iter().find(|j| j.id == job)
            && j.state != "running"
        {
            println!("re-scored {} of {} contacts ({})", j.done, j.total, j.state);
            if j.state != "done" {
                bail!("the re-score did not finish: {}", j.state);
            }
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs a model command.
pub fn model(c: ModelCommand) -> Result<()> {
    runtime()?.block_on(async move {
        let (ws, store) = match &c {
            ModelCommand::History { workspace, store }
            | ModelCommand::Upload {
                workspace, store, ..
            }
            | ModelCommand::Activate {
                workspace, store, ..
            }
            | ModelCommand::Evaluate {
                workspace, store, ..
            }
            | ModelCommand::Rollback {
                workspace, store, ..
            } => (workspace.clone(), store.clone()),
        };
        let svc = start(&store).await?;
        let space = svc
            .space_named(&ws)
            .with_context(|| format!("no workspace `{ws}` in this store"))?;
        match c {
            ModelCommand::History { .. } => {
                let active = space.active().version;
                println!("versions of workspace {ws}'s model:");
                for m in svc.store().models(&space.id).await? {
                    println!(
                        "{} v{:<3} {} {} (sha256 {}…) by {} on {}{}",
                        if m.version == active { "*" } else { " " },
                        m.version,
                        m.name,
                        m.model_version,
                        &m.hash[..12.min(m.hash.len())],
                        m.author,
                        when(m.created_at),
                        if m.note.is_empty() {
                            String::new()
                        } else {
                            format!(": {}", m.note)
                        }
                    );
                }
                println!("activations (newest first):");
                for a in svc.store().activations(&space.id).await? {
                    println!(
                        "  v{} on {} by {}{}",
                        a.version,
                        when(a.activated_at),
                        a.author,
                        if a.note.is_empty() {
                            String::new()
                        } else {
                            format!(": {}", a.note)
                        }
                    );
                }
            }
            ModelCommand::Upload {
                file,
                note,
                author,
                activate,
                ..
            } => {
                let src = std::fs::read_to_string(&file)
                    .with_context(|| format!("cannot read model {}", file.display()))?;
                leadscore_core::Model::from_toml(&src, &file.display().to_string())
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                let rec = svc.upload_model(&space, &src, &author, &note).await?;
                println!(
                    "stored as version {} ({} {})",
                    rec.version, rec.name, rec.model_version
                );
                if activate {
                    let job = svc.activate(&space, rec.version, &author, &note).await?;
                    wait_job(&svc, &space, job.id).await?;
                }
            }
            ModelCommand::Activate {
                version,
                note,
                author,
                ..
            } => {
                let job = svc.activate(&space, version, &author, &note).await?;
                println!("version {version} is active");
                wait_job(&svc, &space, job.id).await?;
            }
            ModelCommand::Evaluate {
                version,
                against,
                target,
                as_of,
                created_before,
                json,
                html,
                ..
            } => {
                let opts = leadscore_app::closed_loop::LoopOptions {
                    version,
                    against,
                    target: parse_target(&target)?,
                    as_of: time_ms("--as-of", as_of.as_deref())?,
                    created_before: time_ms("--created-before", created_before.as_deref())?,
                };
                let e = svc.closed_loop(&space, &opts).await?;
                crate::learn::print_evaluation(&e, json, html.as_deref())?;
            }
            ModelCommand::Rollback { note, author, .. } => {
                let job = svc.rollback(&space, &author, &note).await?;
                println!("version {} is active again", space.active().version);
                wait_job(&svc, &space, job.id).await?;
            }
        }
        svc.store().close().await;
        Ok(())
    })
}
