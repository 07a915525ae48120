//! The scoring service's use cases over a [`Store`]: workspaces and keys, ingesting Segment
//! messages (each accepted event re-scores its contact before the reply), models (upload,
//! validate, activate with a background re-score, roll back), scores as of any past time, the
//! daily re-score, and webhooks. No HTTP here: the server crate maps these calls to routes.
//!
//! Module map:
//! - this file: [`Service`], [`Space`] (a workspace with its active model), [`AppError`];
//! - [`message`]: the messages taken in; [`score`]: from messages to the core and back;
//! - `writer`: the single writer task with group commit and the per-contact event cache;
//! - [`hooks`]: webhook triggers (with hysteresis), signing and the delivery worker;
//! - [`outcome`]: outcomes (won, lost, …) from the API, files and Segment track events;
//! - [`training`]: the training table (traits, event windows, label) built from the store;
//! - [`predict`]: retraining a predictive model from the store, each contact's probability;
//! - [`closed_loop`]: a model version evaluated on the closed contacts, each scored as of just
//!   before its first outcome;
//! - [`shadow`]: champion/challenger comparison and drift per tier (pure functions; the
//!   service methods `set_challenger`, `challenger_report`, `drift_report` are here).

pub mod closed_loop;
pub mod hooks;
pub mod import;
pub mod message;
pub mod outcome;
pub mod predict;
pub mod score;
pub mod shadow;
pub mod training;
mod writer;

pub use writer::IngestReport;

use leadscore_core::{Model, Ranking, Scored};
use leadscore_store::{
    ContactRecord, EventRecord, HistoryRecord, JobRecord, KeyKind, ModelRecord, NewModel, Store,
    StoreError, Traits,
};
use message::{Message, merge_traits};
use rustc_hash::FxHashMap;
use sha2::{Digest, Sha256};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::{Notify, mpsc, oneshot, watch};
use writer::{Job, Writer};

/// The time, injectable so tests can move it.
pub trait Clock: Send + Sync + 'static {
    /// Now, in Unix milliseconds.
    fn now_ms(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis()
    }
}

/// What can go wrong in a use case; the server gives each a status and a stable code.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A message of a batch is malformed: the batch is refused whole.
    #[error("message {index}: field `{field}`: {message}")]
    Invalid {
        /// Position of the message in the batch (0-based).
        index: usize,
        /// The field at fault (`userId`, `traits.employees`, …).
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A request that is wrong as a whole.
    #[error("{0}")]
    BadRequest(String),
    /// A line of an imported file is wrong (`file:line: column `x`: …`): nothing of the file
    /// is stored.
    #[error("{file}:{line}: {}{message}", field.as_ref().map(|f| format!("column `{f}`: ")).unwrap_or_default())]
    File {
        /// The file's name as given.
        file: String,
        /// The line (1-based; the header is line 1 of a CSV file).
        line: usize,
        /// The column or field at fault, when one is.
        field: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// A model file that does not compile: every problem with its line and column.
    #[error("{0}")]
    Model(leadscore_core::ModelError),
    /// No such thing in this workspace.
    #[error("{0} not found")]
    NotFound(String),
    /// It exists already.
    #[error("{0}")]
    Conflict(String),
    /// The writer's queue is full: try again shortly.
    #[error("busy: {0}")]
    Busy(String),
    /// The database failed; nothing of the request was kept. Try again.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// An unexpected store error.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Training or predicting failed.
    #[error("learn: {0}")]
    Learn(String),
}

/// The model a workspace scores with.
#[derive(Debug)]
pub struct Active {
    /// The workspace's version number.
    pub version: i64,
    /// The compiled model.
    pub model: Arc<Model>,
    /// Its stored record.
    pub record: ModelRecord,
}

/// A workspace, with its active model and webhooks cached.
#[derive(Debug)]
pub struct Space {
    /// Stable id.
    pub id: String,
    /// Name.
    pub name: String,
    active: RwLock<Arc<Active>>,
    hooks: RwLock<Arc<Vec<leadscore_store::hooks::Webhook>>>,
    compiled: RwLock<FxHashMap<i64, Arc<Model>>>,
    /// The challenger: scored in shadow alongside the active model, never routed on.
    challenger: RwLock<Option<Arc<Active>>>,
    /// The population ranking (percentiles, top-N% routing) for a model version.
    ranking: RwLock<Option<(i64, Arc<Ranking>)>>,
}

impl Space {
    /// The active model.
    pub fn active(&self) -> Arc<Active> {
        self.active.read().expect("active model lock").clone()
    }

    /// The challenger model, if one is set.
    pub fn challenger(&self) -> Option<Arc<Active>> {
        self.challenger.read().expect("challenger lock").clone()
    }

    pub(crate) fn webhooks(&self) -> Arc<Vec<leadscore_store::hooks::Webhook>> {
        self.hooks.read().expect("webhook lock").clone()
    }

    /// The ranking built for model `version`, if there is one.
    pub(crate) fn ranking(&self, version: i64) -> Option<Arc<Ranking>> {
        match &*self.ranking.read().expect("ranking lock") {
            Some((v, r)) if *v == version => Some(r.clone()),
            _ => None,
        }
    }
}

/// Tuning of the service.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Most messages grouped into one transaction.
    pub group_limit: usize,
    /// Batches waiting for the writer before new ones get 429.
    pub queue_depth: usize,
    /// How often every contact is re-scored (decay, absence rules); `None` = never.
    pub rescore_every: Option<Duration>,
    /// Contacts per transaction when re-scoring a whole workspace.
    pub rescore_chunk: usize,
    /// How long a batch waits for room in the queue before 429.
    pub queue_wait: Duration,
    /// Webhook delivery settings.
    pub hooks: hooks::DeliverySettings,
    /// How often every workspace's predictive model is retrained from its store; `None`
    /// (the default) = never.
    pub retrain_every: Option<Duration>,
    /// How a retrain trains.
    pub retrain: predict::RetrainSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            group_limit: 5000,
            queue_depth: 256,
            rescore_every: Some(Duration::from_secs(24 * 3600)),
            rescore_chunk: 500,
            queue_wait: Duration::from_secs(2),
            hooks: hooks::DeliverySettings::default(),
            retrain_every: None,
            retrain: predict::RetrainSettings::default(),
        }
    }
}

/// A lead as the API shows it: the stored row, the explanation, history and recent messages.
#[derive(Debug)]
pub struct Lead {
    /// The stored contact (current score).
    pub record: Option<ContactRecord>,
    /// The score with every rule that fired, at `as_of`.
    pub scored: Scored,
    /// The time the score is for (seconds).
    pub as_of: i64,
    /// The model version that produced it.
    pub model_version: i64,
    /// Score changes, newest first.
    pub history: Vec<HistoryRecord>,
    /// The latest messages, newest first.
    pub recent: Vec<EventRecord>,
    /// Its recorded outcomes (received by `as_of` when one is given), oldest first.
    pub outcomes: Vec<leadscore_store::Outcome>,
}

/// The service; cheap to clone.
#[derive(Clone)]
pub struct Service {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    clock: Arc<dyn Clock>,
    tx: mpsc::Sender<Job>,
    spaces: RwLock<FxHashMap<String, Arc<Space>>>,
    settings: Settings,
    /// This process among the nodes sharing the store (random per start): the owner of the
    /// leases it takes.
    node: String,
    /// Dropped with the service: tells the webhook deliverer to stop.
    _stop_hooks: watch::Sender<()>,
}

/// The kind of job that re-scores every contact with the active model.
const RESCORE: &str = "rescore";
/// The kind of job that scores every contact with the challenger only.
const BACKFILL: &str = "backfill";

/// The longest id (`userId`, `messageId`, …) or event name taken, in bytes: well inside
/// PostgreSQL's limit for an index entry.
pub const MAX_ID_BYTES: usize = 1024;

/// The SHA-256 of a key, as stored.
pub fn key_hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// A new random key with a readable prefix (`wk_…` to write, `rk_…` to read).
pub fn new_key(kind: KeyKind) -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    let bytes: [u8; 24] = rng.random();
    let prefix = match kind {
        KeyKind::Write => "wk_",
        KeyKind::Read => "rk_",
    };
    format!("{prefix}{}", hex::encode(bytes))
}

impl AppError {
    /// A bad line of file `file`, naming `field` when there is one.
    pub fn file(
        file: &str,
        line: usize,
        field: Option<&str>,
        message: impl std::fmt::Display,
    ) -> AppError {
        AppError::File {
            file: file.to_owned(),
            line,
            field: field.map(str::to_owned),
            message: message.to_string(),
        }
    }
}

fn baseline_tiers(
    b: &leadscore_store::shadow::Baseline,
) -> Result<std::collections::BTreeMap<String, shadow::TierCount>, AppError> {
    Ok(serde_json::from_str(&b.tiers).map_err(|e| StoreError::Json("drift_baselines.tiers", e))?)
}

/// How long a node's lease lasts: a node silent for this long is taken for stopped, and its
/// running jobs are resumed by another.
pub const NODE_LEASE: Duration = Duration::from_secs(10);
/// How often a node renews its lease and looks for jobs of stopped nodes.
pub const NODE_BEAT: Duration = Duration::from_secs(2);

fn compile(src: &str, version: i64) -> Result<Model, AppError> {
    Model::from_toml(src, &format!("model v{version}")).map_err(AppError::Model)
}

impl Service {
    /// Starts the service on `store`: loads every workspace with its active model, starts the
    /// writer, the webhook deliverer and (when configured) the periodic re-score. The writer
    /// and the deliverer stop once every clone of the service is dropped (the periodic
    /// re-score holds a clone, so with it the service lives as long as the runtime).
    pub async fn start(
        store: Store,
        clock: Arc<dyn Clock>,
        settings: Settings,
    ) -> Result<Service, AppError> {
        let (tx, rx) = mpsc::channel(settings.queue_depth);
        let wake = Arc::new(Notify::new());
        let writer = Writer::new(
            store.clone(),
            clock.clone(),
            wake.clone(),
            settings.group_limit,
        );
        tokio::spawn(writer.run(rx));
        let (stop_hooks, hooks_stopped) = watch::channel(());
        let svc = Service {
            inner: Arc::new(Inner {
                store: store.clone(),
                clock: clock.clone(),
                tx,
                spaces: RwLock::new(FxHashMap::default()),
                settings: settings.clone(),
                node: {
                    use rand::Rng;
                    let id: [u8; 8] = rand::rng().random();
                    hex::encode(id)
                },
                _stop_hooks: stop_hooks,
            }),
        };
        // This node is alive while it holds its lease; jobs of nodes that are not (a process
        // that stopped) are marked interrupted, and resumed below.
        svc.hold_node_lease().await?;
        store.interrupt_orphaned_jobs(clock.now_ms()).await?;
        for w in store.workspaces().await? {
            svc.load_space(&w.id, &w.name).await?;
        }
        for space in svc.spaces() {
            svc.resume_interrupted(&space).await?;
        }
        // Renew the lease, and take over the jobs of nodes that stop while this one runs.
        svc.repeat(NODE_BEAT, |s| async move {
            if let Err(e) = s.sweep_jobs().await {
                tracing::warn!("node heartbeat: {e}");
            }
        });
        tokio::spawn(hooks::deliver_forever(
            store.clone(),
            clock.clone(),
            wake,
            settings.hooks.clone(),
            hooks_stopped,
        ));
        // Another process (the CLI, another node) may activate a model: follow it.
        let s = svc.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tick.tick().await;
                for space in s.spaces() {
                    if let Err(e) = s.follow_active_model(&space).await {
                        tracing::warn!("checking the active model of {}: {e}", space.name);
                    }
                }
            }
        });
        if let Some(every) = settings.retrain_every {
            svc.every(every, "retrain", |s, space| async move {
                s.retrain(&space).await
            });
        }
        if let Some(every) = settings.rescore_every {
            svc.every(every, "re-score", |s, space| async move {
                s.rescore_all(&space, "schedule").await
            });
        }
        Ok(svc)
    }

    /// Runs `job` on every workspace every `every`, the first time one period after start
    /// (the task holds a clone of the service). With several nodes on one database, the node
    /// whose timer fires first in a period takes the workspace's lease for nine tenths of the
    /// period and runs it; the others find the lease held and skip it.
    fn every<F, Fut>(&self, every: Duration, what: &'static str, job: F)
    where
        F: Fn(Service, Arc<Space>) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<JobRecord, AppError>> + Send + 'static,
    {
        let job = Arc::new(job);
        self.repeat(every, move |s| {
            let job = job.clone();
            async move {
                for space in s.spaces() {
                    let name = space.name.clone();
                    let lease = format!("{what}:{}", space.id);
                    let now = s.now_ms();
                    let until = now.saturating_add((every.as_millis() * 9 / 10) as i64);
                    match s
                        .store()
                        .take_lease(&lease, &s.inner.node, now, until)
                        .await
                    {
                        Ok(true) => {}
                        Ok(false) => continue,
                        Err(e) => {
                            tracing::warn!("scheduled {what} of {name}: taking its lease: {e}");
                            continue;
                        }
                    }
                    if let Err(e) = job(s.clone(), space).await {
                        tracing::warn!("scheduled {what} of {name}: {e}");
                    }
                }
            }
        });
    }

    /// Runs `tick` every `period`, the first time one period from now, as long as the runtime
    /// runs (the task holds a clone of the service).
    fn repeat<F, Fut>(&self, period: Duration, tick: F)
    where
        F: Fn(Service) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let s = self.clone();
        tokio::spawn(async move {
            let mut timer = tokio::time::interval(period);
            timer.tick().await;
            loop {
                timer.tick().await;
                tick(s.clone()).await;
            }
        });
    }

    /// Takes or renews this node's lease `node:<id>` for [`NODE_LEASE`].
    async fn hold_node_lease(&self) -> Result<(), AppError> {
        let now = self.now_ms();
        let until = now.saturating_add(NODE_LEASE.as_millis() as i64);
        let name = format!("node:{}", self.inner.node);
        if !self
            .store()
            .hold_lease(&name, &self.inner.node, now, until)
            .await?
        {
            tracing::warn!("lease {name} is held by another node");
        }
        Ok(())
    }

    /// One heartbeat: renews this node's lease, forgets those of nodes stopped a day ago,
    /// then marks interrupted the jobs of nodes whose lease lapsed and resumes them here.
    async fn sweep_jobs(&self) -> Result<(), AppError> {
        self.hold_node_lease().await?;
        // Each start adds a node lease: those of nodes stopped a day ago go.
        let day_ago = self.now_ms().saturating_sub(86_400_000);
        self.store().drop_lapsed_leases("node:", day_ago).await?;
        for ws in self.store().interrupt_orphaned_jobs(self.now_ms()).await? {
            // A workspace created by another node since this one started is taken up first.
            let space = match self.spaces().into_iter().find(|s| s.id == ws) {
                Some(space) => Some(space),
                None => self.adopt_workspace(&ws).await?,
            };
            if let Some(space) = space {
                tracing::info!("taking over the interrupted jobs of {}", space.name);
                self.resume_interrupted(&space).await?;
            }
        }
        Ok(())
    }

    /// Resumes what a stopped node left half-done in `space`. A re-score (a model
    /// activation's, say) runs again: the workspace would otherwise keep the old model's
    /// scores under the new one. A challenger back-fill goes on after the last chunk it did,
    /// if the challenger is still the one it scores with.
    async fn resume_interrupted(&self, space: &Arc<Space>) -> Result<(), AppError> {
        let store = self.store();
        let jobs = store.jobs(&space.id, 50).await?;
        if let Some(job) = jobs.iter().find(|j| j.kind == RESCORE)
            && job.state == "interrupted"
        {
            let (s, space, cause) = (self.clone(), space.clone(), job.cause.clone());
            tokio::spawn(async move {
                if let Err(e) = s.rescore_all(&space, &cause).await {
                    tracing::warn!("resumed re-score of {}: {e}", space.name);
                }
            });
        }
        if let Some(job) = jobs.into_iter().find(|j| j.kind == BACKFILL)
            && job.state == "interrupted"
            && space.challenger().map(|c| c.version) == Some(job.model_version)
        {
            store.resume_job(job.id, &self.inner.node).await?;
            self.spawn_job(space, job);
        }
        Ok(())
    }

    /// This node's id (random per process; it owns the jobs the node runs).
    pub fn node(&self) -> &str {
        &self.inner.node
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Now, by the service's clock (ms).
    pub fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    /// Every workspace loaded.
    pub fn spaces(&self) -> Vec<Arc<Space>> {
        let mut v: Vec<_> = self
            .inner
            .spaces
            .read()
            .expect("spaces lock")
            .values()
            .cloned()
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    /// The workspace with this id.
    pub fn space(&self, id: &str) -> Option<Arc<Space>> {
        self.inner
            .spaces
            .read()
            .expect("spaces lock")
            .get(id)
            .cloned()
    }

    /// The workspace with this name.
    pub fn space_named(&self, name: &str) -> Option<Arc<Space>> {
        self.spaces().into_iter().find(|s| s.name == name)
    }

    async fn load_space(&self, id: &str, name: &str) -> Result<Option<Arc<Space>>, AppError> {
        let store = &self.inner.store;
        let Some(rec) = store.model_active_at(id, i64::MAX).await? else {
            return Ok(None);
        };
        let model = Arc::new(compile(&rec.source, rec.version)?);
        let space = Arc::new(Space {
            id: id.to_owned(),
            name: name.to_owned(),
            active: RwLock::new(Arc::new(Active {
                version: rec.version,
                model: model.clone(),
                record: rec.clone(),
            })),
            hooks: RwLock::new(Arc::new(store.webhooks(id).await?)),
            compiled: RwLock::new(std::iter::once((rec.version, model)).collect()),
            challenger: RwLock::new(None),
            ranking: RwLock::new(None),
        });
        self.follow_challenger(&space).await?;
        self.refresh_ranking(&space).await?;
        self.inner
            .spaces
            .write()
            .expect("spaces lock")
            .insert(id.to_owned(), space.clone());
        Ok(Some(space))
    }

    /// Creates a workspace with `model` (TOML) as its first active model; returns it with a new
    /// write key and read key (shown once: only their hashes are stored).
    pub async fn create_workspace(
        &self,
        name: &str,
        model_src: &str,
    ) -> Result<(Arc<Space>, String, String), AppError> {
        let model = compile(model_src, 1)?;
        let now = self.now_ms();
        let id = format!("ws_{}", &new_key(KeyKind::Read)[3..19]);
        let store = &self.inner.store;
        store
            .create_workspace(&id, name, now)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => AppError::Conflict(format!("workspace `{name}` exists")),
                e => e.into(),
            })?;
        let meta = model.reference();
        let v = store
            .add_model(
                &id,
                &NewModel {
                    name: &meta.name,
                    model_version: &meta.version,
                    hash: &meta.hash,
                    source: model_src,
                    author: "leadscore",
                    note: "first model",
                },
                now,
            )
            .await?;
        store
            .activate_model(&id, v, now, "leadscore", "first model")
            .await?;
        let (wk, rk) = (new_key(KeyKind::Write), new_key(KeyKind::Read));
        store
            .add_key(&id, KeyKind::Write, &key_hash(&wk), now)
            .await?;
        store
            .add_key(&id, KeyKind::Read, &key_hash(&rk), now)
            .await?;
        let space = self
            .load_space(&id, name)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("workspace {name}")))?;
        Ok((space, wk, rk))
    }

    async fn adopt_workspace(&self, id: &str) -> Result<Option<Arc<Space>>, AppError> {
        let all = self.inner.store.workspaces().await?;
        match all.into_iter().find(|w| w.id == id) {
            Some(w) => self.load_space(&w.id, &w.name).await,
            None => Ok(None),
        }
    }

    /// Picks up the challenger as stored (set or removed by another process, or at start).
    async fn follow_challenger(&self, space: &Space) -> Result<(), AppError> {
        let store = &self.inner.store;
        let stored = store.challenger(&space.id).await?;
        if stored == space.challenger().map(|c| c.version) {
            return Ok(());
        }
        let next = match stored {
            Some(v) => match store.model(&space.id, v).await? {
                Some(rec) => Some(Arc::new(Active {
                    version: v,
                    model: self.compiled(space, &rec)?,
                    record: rec,
                })),
                None => None,
            },
            None => None,
        };
        *space.challenger.write().expect("challenger lock") = next;
        Ok(())
    }

    /// Picks up a model version another process activated (the one activating re-scores), and
    /// the challenger another process set or removed.
    pub async fn follow_active_model(&self, space: &Space) -> Result<(), AppError> {
        self.follow_challenger(space).await?;
        let Some(rec) = self
            .inner
            .store
            .model_active_at(&space.id, i64::MAX)
            .await?
        else {
            return Ok(());
        };
        if rec.version == space.active().version {
            return Ok(());
        }
        let model = self.compiled(space, &rec)?;
        *space.active.write().expect("active model lock") = Arc::new(Active {
            version: rec.version,
            model,
            record: rec,
        });
        self.refresh_ranking(space).await
    }

    /// Adds a key of the caller's choosing to a workspace (for demos and tests).
    pub async fn add_key(&self, space: &Space, kind: KeyKind, key: &str) -> Result<(), AppError> {
        self.inner
            .store
            .add_key(&space.id, kind, &key_hash(key), self.now_ms())
            .await
            .map_err(|e| match e {
                StoreError::Conflict(m) => AppError::Conflict(m),
                e => e.into(),
            })
    }

    /// The workspace a key opens for `kind`, if any.
    pub async fn authenticate(
        &self,
        key: &str,
        kind: KeyKind,
    ) -> Result<Option<Arc<Space>>, AppError> {
        match self.inner.store.key(&key_hash(key)).await? {
            Some((ws, k)) if k == kind => match self.space(&ws) {
                Some(s) => Ok(Some(s)),
                // Created by another process (`leadscore workspace create`, another node).
                None => self.adopt_workspace(&ws).await,
            },
            _ => Ok(None),
        }
    }

    /// Checks a batch against the workspace's model; the first bad message names its index and
    /// field.
    pub fn check(&self, space: &Space, messages: &[Message]) -> Result<(), AppError> {
        let active = space.active();
        for (i, m) in messages.iter().enumerate() {
            // JSON allows a NUL character and ids of any length; PostgreSQL text holds no NUL
            // and its indexes no entry over ≈2.7 kB, and a failed transaction would fail every
            // batch grouped with this one (as a 503, which clients retry for ever). Traits and
            // properties are stored as JSON, NUL escaped, and are not indexed.
            let ids = [
                ("messageId", Some(&m.message_id)),
                ("userId", m.user_id.as_ref()),
                ("anonymousId", m.anonymous_id.as_ref()),
                ("groupId", m.group_id.as_ref()),
                ("event", m.event.as_ref()),
            ];
            for (field, v) in ids {
                let problem = match v {
                    Some(v) if v.contains('\0') => "must not contain a NUL character".to_owned(),
                    Some(v) if v.len() > MAX_ID_BYTES => {
                        format!("must be at most {MAX_ID_BYTES} bytes long")
                    }
                    _ => continue,
                };
                return Err(AppError::Invalid {
                    index: i,
                    field: field.to_owned(),
                    message: problem,
                });
            }
            if let Err(e) = score::check(&active.model, m) {
                let prefix = match m.call {
                    message::Call::Identify | message::Call::Group => "traits",
                    _ => "properties",
                };
                return Err(AppError::Invalid {
                    index: i,
                    field: format!("{prefix}.{}", e.field),
                    message: format!("expected {}, found {:?}", e.expected, e.found),
                });
            }
        }
        Ok(())
    }

    /// Stores a batch and re-scores the contacts it touches; returns after the commit. The
    /// batch is all or nothing.
    pub async fn ingest(
        &self,
        space: &Arc<Space>,
        messages: Vec<Message>,
    ) -> Result<IngestReport, AppError> {
        self.check(space, &messages)?;
        let (reply, rx) = oneshot::channel();
        self.submit(Job::Ingest {
            space: space.clone(),
            messages,
            reply,
        })
        .await?;
        rx.await
            .map_err(|_| AppError::Unavailable("the writer stopped".into()))?
    }

    async fn submit(&self, job: Job) -> Result<(), AppError> {
        match self
            .inner
            .tx
            .send_timeout(job, self.inner.settings.queue_wait)
            .await
        {
            Ok(()) => Ok(()),
            Err(mpsc::error::SendTimeoutError::Timeout(_)) => {
                Err(AppError::Busy("the ingest queue is full".into()))
            }
            Err(mpsc::error::SendTimeoutError::Closed(_)) => {
                Err(AppError::Unavailable("the writer stopped".into()))
            }
        }
    }

    /// Re-scores some contacts now (in one transaction) with `cause` in their history.
    pub async fn rescore(
        &self,
        space: &Arc<Space>,
        ids: Vec<String>,
        cause: &str,
    ) -> Result<IngestReport, AppError> {
        self.rescore_some(space, ids, cause, false).await
    }

    /// Re-scores some contacts in one transaction; with `shadow_only`, only the challenger
    /// scores them (a back-fill).
    async fn rescore_some(
        &self,
        space: &Arc<Space>,
        ids: Vec<String>,
        cause: &str,
        shadow_only: bool,
    ) -> Result<IngestReport, AppError> {
        let (reply, rx) = oneshot::channel();
        self.submit(Job::Rescore {
            space: space.clone(),
            ids,
            cause: cause.to_owned(),
            shadow_only,
            reply,
        })
        .await?;
        rx.await
            .map_err(|_| AppError::Unavailable("the writer stopped".into()))?
    }

    /// Re-scores every contact of the workspace in chunks, recording progress in a job; returns
    /// when done.
    pub async fn rescore_all(
        &self,
        space: &Arc<Space>,
        cause: &str,
    ) -> Result<JobRecord, AppError> {
        let version = space.active().version;
        let job = self.start_job(space, RESCORE, version, cause).await?;
        self.run_job(space, job).await
    }

    /// Records a new job of `kind` for model `version` over every contact now.
    async fn start_job(
        &self,
        space: &Space,
        kind: &str,
        version: i64,
        cause: &str,
    ) -> Result<JobRecord, AppError> {
        let store = &self.inner.store;
        let total = store.stats(&space.id).await?.contacts;
        let id = store
            .start_job(
                &space.id,
                kind,
                version,
                cause,
                total,
                self.now_ms(),
                &self.inner.node,
            )
            .await?;
        self.job(space, id).await
    }

    /// Job `id` of the workspace as stored.
    async fn job(&self, space: &Space, id: i64) -> Result<JobRecord, AppError> {
        self.inner
            .store
            .jobs(&space.id, 50)
            .await?
            .into_iter()
            .find(|j| j.id == id)
            .ok_or_else(|| AppError::NotFound(format!("job {id}")))
    }

    /// Runs `job` in the background.
    fn spawn_job(&self, space: &Arc<Space>, job: JobRecord) {
        let (svc, sp) = (self.clone(), space.clone());
        tokio::spawn(async move {
            let (id, cause) = (job.id, job.cause.clone());
            if let Err(e) = svc.run_job(&sp, job).await {
                tracing::warn!("job {id} ({cause}) of {}: {e}", sp.name);
            }
        });
    }
    /// Rebuilds the workspace's ranking from the stored scores: live scores then get their
    /// percentile and top-N% routing against this population until the next full re-score.
    pub async fn refresh_ranking(&self, space: &Space) -> Result<(), AppError> {
        let active = space.active();
        let model = &active.model;
        let segments: Vec<&str> = model.segment_ids().collect();
        let mut r = Ranking::new(model);
        for (score, segment, status) in self.inner.store.score_population(&space.id).await? {
            if let Some(i) = segments.iter().position(|s| *s == segment) {
                r.add_score(i, score, status == "disqualified");
            }
        }
        r.finish();
        *space.ranking.write().expect("ranking lock") = Some((active.version, Arc::new(r)));
        Ok(())
    }

    /// Runs `job` over every contact in id order, in chunks through the writer, from the one
    /// after `resume_after` (empty: the first). A re-score (`rescore`) ends by ranking the new
    /// population and recording the version's drift baseline if it has none or an empty one
    /// (conversion per tier once every contact has this version's tier). A back-fill
    /// (`backfill`) has only the challenger score them, and stops (`cancelled`) once the
    /// challenger is no longer its version.
    async fn run_job(&self, space: &Arc<Space>, job: JobRecord) -> Result<JobRecord, AppError> {
        let store = &self.inner.store;
        let backfill = job.kind == BACKFILL;
        let (version, cause) = (job.model_version, job.cause.as_str());
        let mut after = job.resume_after.clone();
        let mut done = job.done;
        let mut cancelled = false;
        let chunk = self.inner.settings.rescore_chunk as i64;
        let result: Result<(), AppError> = async {
            loop {
                if backfill && space.challenger().map(|c| c.version) != Some(version) {
                    cancelled = true;
                    return Ok(());
                }
                let ids = store.contact_ids(&space.id, &after, chunk).await?;
                let Some(last) = ids.last() else { break };
                after = last.clone();
                let n = ids.len() as i64;
                self.rescore_some(space, ids, cause, backfill).await?;
                done += n;
                store.job_progress(job.id, done, &after, None).await?;
            }
            if backfill {
                return Ok(());
            }
            // Rank the new population: from now on live scores get their percentile and
            // top-N% routing against it (the next full re-score uses it too).
            self.refresh_ranking(space).await?;
            if space.active().version == version
                && let Err(e) = self
                    .record_baseline(space, version, &format!("rescore: {cause}"))
                    .await
            {
                // The re-score itself is done; the next one records the baseline.
                tracing::warn!("drift baseline of v{version}: {e}");
            }
            Ok(())
        }
        .await;
        let state = match (&result, cancelled) {
            (Err(_), _) => "failed",
            (Ok(()), true) => "cancelled",
            (Ok(()), false) => "done",
        };
        store
            .job_progress(job.id, done, &after, Some((state, self.now_ms())))
            .await?;
        result?;
        self.job(space, job.id).await
    }

    /// Compiles a model file without storing it.
    pub fn validate_model(&self, src: &str) -> Result<Model, AppError> {
        compile(src, 0)
    }

    /// Stores a model file as a new version (or finds the stored version with the same hash).
    pub async fn upload_model(
        &self,
        space: &Space,
        src: &str,
        author: &str,
        note: &str,
    ) -> Result<ModelRecord, AppError> {
        let model = compile(src, 0)?;
        let meta = model.reference();
        let store = &self.inner.store;
        let v = store
            .add_model(
                &space.id,
                &NewModel {
                    name: &meta.name,
                    model_version: &meta.version,
                    hash: &meta.hash,
                    source: src,
                    author,
                    note,
                },
                self.now_ms(),
            )
            .await?;
        store
            .model(&space.id, v)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("model v{v}")))
    }

    /// Makes a stored version active and re-scores the workspace in the background; returns the
    /// job to watch.
    pub async fn activate(
        &self,
        space: &Arc<Space>,
        version: i64,
        author: &str,
        note: &str,
    ) -> Result<JobRecord, AppError> {
        let store = &self.inner.store;
        let (rec, model) = self.stored_model(space, version).await?;
        let now = self.now_ms();
        store
            .activate_model(&space.id, version, now, author, note)
            .await?;
        *space.active.write().expect("active model lock") = Arc::new(Active {
            version,
            model,
            record: rec,
        });
        // The re-score ends by recording the drift baseline: conversion per tier once every
        // contact has this version's tier (a version activated before keeps its first one).
        let job = self
            .start_job(space, RESCORE, version, &format!("model v{version}"))
            .await?;
        self.spawn_job(space, job.clone());
        Ok(job)
    }

    /// Activates the version that was active before the current one.
    pub async fn rollback(
        &self,
        space: &Arc<Space>,
        author: &str,
        note: &str,
    ) -> Result<JobRecord, AppError> {
        let current = space.active().version;
        let acts = self.inner.store.activations(&space.id).await?;
        let previous = acts
            .iter()
            .skip_while(|a| a.version == current)
            .find(|a| a.version != current)
            .ok_or_else(|| AppError::Conflict("no earlier model version to roll back to".into()))?;
        self.activate(space, previous.version, author, note).await
    }

    /// Makes stored version `version` the workspace's challenger: from now on the writer scores
    /// every contact it touches with it too (same transaction), for [`Service::challenger_report`],
    /// and a background job (returned) back-fills every existing contact's challenger score,
    /// leaving their stored scores alone.
    pub async fn set_challenger(
        &self,
        space: &Arc<Space>,
        version: i64,
    ) -> Result<(ModelRecord, JobRecord), AppError> {
        let store = &self.inner.store;
        let (rec, model) = self.stored_model(space, version).await?;
        store
            .set_challenger(&space.id, Some(version), self.now_ms())
            .await?;
        *space.challenger.write().expect("challenger lock") = Some(Arc::new(Active {
            version,
            model,
            record: rec.clone(),
        }));
        let job = self
            .start_job(space, BACKFILL, version, &format!("challenger v{version}"))
            .await?;
        self.spawn_job(space, job.clone());
        Ok((rec, job))
    }

    /// Removes the workspace's challenger (its stored scores stay, unused); `NotFound` without
    /// one.
    pub async fn remove_challenger(&self, space: &Space) -> Result<i64, AppError> {
        let Some(c) = space.challenger() else {
            return Err(AppError::NotFound("a challenger model".into()));
        };
        self.inner
            .store
            .set_challenger(&space.id, None, self.now_ms())
            .await?;
        *space.challenger.write().expect("challenger lock") = None;
        Ok(c.version)
    }

    /// The active model against the challenger on the contacts with a won/lost outcome.
    pub async fn challenger_report(&self, space: &Space) -> Result<shadow::Comparison, AppError> {
        let Some(c) = space.challenger() else {
            return Err(AppError::NotFound("a challenger model".into()));
        };
        let rows = self.inner.store.outcome_rows(&space.id).await?;
        Ok(shadow::compare(&rows, space.active().version, c.version))
    }

    /// Conversion per tier now against the active version's baseline; without a baseline this
    /// records one (so the first call reports no drift). An empty baseline (recorded before any
    /// won/lost outcome) is not replaced here but at the end of the next full re-score, when
    /// every contact has this version's tier at one time.
    pub async fn drift_report(
        &self,
        space: &Space,
        tolerance: f64,
        min_n: usize,
    ) -> Result<shadow::Drift, AppError> {
        if !(tolerance.is_finite() && tolerance >= 0.0) {
            return Err(AppError::BadRequest(
                "tolerance must be a number ≥ 0".into(),
            ));
        }
        let version = space.active().version;
        let store = &self.inner.store;
        let current = shadow::conversion(&store.outcome_rows(&space.id).await?);
        let stored = match store.drift_baseline(&space.id, version).await? {
            Some(b) => Some(b),
            None => {
                self.record_baseline(space, version, "drift request")
                    .await?;
                store.drift_baseline(&space.id, version).await?
            }
        };
        let (baseline, info) = match stored {
            Some(b) => {
                let tiers = baseline_tiers(&b)?;
                let info = shadow::BaselineInfo::new(&tiers, b.recorded_at, &b.source);
                (tiers, Some(info))
            }
            None => (current.clone(), None),
        };
        let mut d = shadow::drift(version, &baseline, &current, tolerance, min_n);
        d.baseline = info;
        Ok(d)
    }

    /// Records `version`'s drift baseline from the stored tiers now, unless it has one; an
    /// empty one (no won/lost outcome when it was recorded) is recorded again once there are
    /// outcomes. Returns whether one was stored.
    async fn record_baseline(
        &self,
        space: &Space,
        version: i64,
        source: &str,
    ) -> Result<bool, AppError> {
        let store = &self.inner.store;
        let tiers = shadow::conversion(&store.outcome_rows(&space.id).await?);
        let new = leadscore_store::shadow::Baseline {
            tiers: serde_json::to_string(&tiers).unwrap_or_else(|_| "{}".into()),
            recorded_at: self.now_ms(),
            source: source.to_owned(),
        };
        match store.drift_baseline(&space.id, version).await? {
            None => Ok(store
                .record_drift_baseline(&space.id, version, &new)
                .await?),
            Some(old) if !tiers.is_empty() && baseline_tiers(&old)?.is_empty() => Ok(store
                .replace_drift_baseline(&space.id, version, &old, &new)
                .await?),
            Some(_) => Ok(false),
        }
    }

    /// A stored version with its compiled model; `NotFound` when the workspace has no such one.
    async fn stored_model(
        &self,
        space: &Space,
        version: i64,
    ) -> Result<(ModelRecord, Arc<Model>), AppError> {
        let rec = self
            .inner
            .store
            .model(&space.id, version)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("model version {version}")))?;
        let model = self.compiled(space, &rec)?;
        Ok((rec, model))
    }

    fn compiled(&self, space: &Space, rec: &ModelRecord) -> Result<Arc<Model>, AppError> {
        if let Some(m) = space
            .compiled
            .read()
            .expect("model cache")
            .get(&rec.version)
        {
            return Ok(m.clone());
        }
        let m = Arc::new(compile(&rec.source, rec.version)?);
        space
            .compiled
            .write()
            .expect("model cache")
            .insert(rec.version, m.clone());
        Ok(m)
    }

    /// A lead with its explanation. Without `as_of` it is the stored score, explained; with it
    /// the score is recomputed as it was at that time (seconds) from the messages received by
    /// then, with the model version active then.
    pub async fn lead(
        &self,
        space: &Space,
        id: &str,
        as_of: Option<i64>,
    ) -> Result<Lead, AppError> {
        let store = &self.inner.store;
        let record = store.contact(&space.id, id).await?;
        let (at, version) = match (as_of, &record) {
            (Some(t), _) => (t, None),
            (None, Some(r)) => (
                r.score.scored_at.div_euclid(1000),
                Some(r.score.model_version),
            ),
            (None, None) => return Err(AppError::NotFound(format!("lead `{id}`"))),
        };
        let by = at.saturating_mul(1000).saturating_add(999);
        let rec = match version {
            Some(v) => store.model(&space.id, v).await?,
            None => store.model_active_at(&space.id, by).await?,
        }
        .ok_or_else(|| AppError::NotFound(format!("a model active at {at}")))?;
        let model = self.compiled(space, &rec)?;
        let messages = store.contact_messages(&space.id, id, by).await?;
        if messages.is_empty() && record.is_none() {
            return Err(AppError::NotFound(format!("lead `{id}`")));
        }
        let parsed: Vec<(i64, i64, Message)> = messages
            .iter()
            .map(|e| (e.seq, e.event.received_at, Message::from_row(&e.event)))
            .collect();
        let folded = score::fold(&model, &parsed);
        let account = match &folded.account_id {
            Some(g) => {
                let mut traits = Traits::new();
                for e in store.group_messages(&space.id, g, by).await? {
                    merge_traits(&mut traits, &Message::from_row(&e.event).props);
                }
                Some(score::account(&model, g, &traits))
            }
            None => None,
        };
        let contact = score::contact(&model, id, folded.account_id.as_deref(), &folded.traits);
        let scorer = leadscore_core::Scorer::new(&model, at);
        let scored = score::score(&scorer, &contact, account.as_ref(), &folded.behaviour);
        let history = store.history(&space.id, id, 50).await?;
        let mut outcomes = store.contact_outcomes(&space.id, id).await?;
        if as_of.is_some() {
            outcomes.retain(|o| o.received_at <= by);
        }
        let mut recent = messages;
        recent.reverse();
        recent.truncate(20);
        Ok(Lead {
            record,
            scored,
            as_of: at,
            model_version: rec.version,
            history,
            recent,
            outcomes,
        })
    }

    /// Reloads a workspace's webhooks after a change.
    pub async fn reload_webhooks(&self, space: &Space) -> Result<(), AppError> {
        let list = self.inner.store.webhooks(&space.id).await?;
        *space.hooks.write().expect("webhook lock") = Arc::new(list);
        Ok(())
    }
}
