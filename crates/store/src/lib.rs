//! The only crate with SQL: the append-only event log, contacts and their scores, accounts,
//! score history, model versions, webhooks and their outbox — on SQLite (embedded, the default)
//! or PostgreSQL, through one code path (sqlx's `Any` driver and runtime queries).
//!
//! Module map:
//! - this file: [`Store`] (open, migrate, workspaces, keys, models, reads) and the row types;
//! - [`tx`]: [`Tx`], the ingestion transaction (events, aliases, contacts, history, outbox);
//! - [`hooks`]: webhook subscriptions, hysteresis state, outbox and delivery log;
//! - `outcomes`: outcomes (won, lost, …) and the reads behind the training table;
//! - [`shadow`]: the challenger, its scores, the rows the comparison reads, drift baselines;
//! - [`learned`]: models trained from the store (versioned) and each contact's prediction.
//!
//! Every table is keyed by workspace and every query names it, so one workspace can never
//! read another's rows. Times are Unix milliseconds. The SQL is written once in the subset both
//! engines accept (`$n` placeholders, `ON CONFLICT`, `RETURNING`); the only dialect difference
//! at run time is row locking (`FOR UPDATE`), which SQLite does not need (one writer at a time).

pub mod hooks;
pub mod learned;
mod outcomes;
mod rows;
pub mod shadow;
pub mod tx;

pub use rows::*;
pub use tx::Tx;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, Connection, Row};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database said no (connection lost, disk full, constraint…).
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// Applying the migrations failed.
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A row with this key exists already.
    #[error("{0} exists already")]
    Conflict(String),
    /// A stored JSON column did not parse (a bug or a hand-edited database).
    #[error("stored JSON in {0}: {1}")]
    Json(&'static str, serde_json::Error),
}

/// Results of store calls.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which engine is behind the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded default: one file in the data directory, WAL mode.
    Sqlite,
    /// A PostgreSQL server, for several nodes.
    Postgres,
}

/// How strictly SQLite waits for the disk before a commit returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// `synchronous = FULL`: a commit survives a power cut.
    Full,
    /// `synchronous = NORMAL` (WAL): a commit survives the process being killed, not a power cut.
    Normal,
}

/// A handle on the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Store {
    /// Opens (creating it on first use) `leadscore.db` in `dir`, in WAL mode, and migrates it.
    pub async fn open_dir(dir: &Path, durability: Durability) -> Result<Store> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Db(sqlx::Error::Io(e)))?;
        let url = format!("sqlite://{}?mode=rwc", dir.join("leadscore.db").display());
        Self::open(&url, durability).await
    }

    /// Opens a `sqlite://…` or `postgres://…` URL and applies the migrations.
    pub async fn open(url: &str, durability: Durability) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        };
        let opts = AnyConnectOptions::from_str(url)?;
        let sync = match durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        };
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 4 } else { 8 })
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets the API read while the writer commits; busy_timeout makes a
                        // second writer (another process, a migration) wait instead of failing.
                        for pragma in [
                            "PRAGMA journal_mode = WAL".to_owned(),
                            format!("PRAGMA synchronous = {sync}"),
                            "PRAGMA busy_timeout = 10000".to_owned(),
                            "PRAGMA foreign_keys = ON".to_owned(),
                        ] {
                            dynamic(pragma).execute(&mut *conn).await?;
                        }
                    }
                    Ok(())
                })
            })
            .connect_with(opts)
            .await?;
        let store = Store { pool, backend };
        let mut c = store.pool.acquire().await?;
        match backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&mut *c).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&mut *c).await?,
        }
        Ok(store)
    }

    /// The engine behind this store.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes every connection (waits for running queries).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Starts an ingestion transaction.
    ///
    /// On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`): a deferred transaction
    /// reads first, and if another connection (the webhook deliverer recording an attempt)
    /// commits before its first write, that write fails with `SQLITE_BUSY_SNAPSHOT`, which no
    /// busy timeout waits out. Taking the lock first makes it wait its turn instead.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(Tx::new(self.write_tx().await?, self.backend))
    }

    /// A transaction of several statements; on SQLite it takes the write lock at once, for
    /// the reason [`Store::begin`] gives (with a node heartbeat, the deliverer and the writer,
    /// another connection may commit between its first read and its first write).
    pub(crate) async fn write_tx(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    async fn conn(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Any>> {
        Ok(self.pool.acquire().await?)
    }

    // ---- workspaces and keys -------------------------------------------------------------

    /// Creates a workspace; `Conflict` when the name is taken.
    pub async fn create_workspace(&self, id: &str, name: &str, now: i64) -> Result<()> {
        let r = sqlx::query(
            "INSERT INTO workspaces (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(name)
        .bind(now)
        .execute(&self.pool)
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!("workspace {name}")));
        }
        Ok(())
    }

    /// The workspace called `name`.
    pub async fn workspace_by_name(&self, name: &str) -> Result<Option<Workspace>> {
        let row = sqlx::query("SELECT id, name, created_at FROM workspaces WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| Workspace {
            id: r.get(0),
            name: r.get(1),
            created_at: r.get(2),
        }))
    }

    /// Every workspace, oldest first.
    pub async fn workspaces(&self) -> Result<Vec<Workspace>> {
        let rows =
            sqlx::query("SELECT id, name, created_at FROM workspaces ORDER BY created_at, id")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|r| Workspace {
                id: r.get(0),
                name: r.get(1),
                created_at: r.get(2),
            })
            .collect())
    }

    /// Stores a key (its SHA-256, never the key itself) for a workspace. Adding a key that is
    /// there already for the same workspace and kind is a no-op.
    pub async fn add_key(&self, ws: &str, kind: KeyKind, hash: &str, now: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO api_keys (key_hash, workspace_id, kind, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (key_hash) DO NOTHING",
        )
        .bind(hash)
        .bind(ws)
        .bind(kind.as_str())
        .bind(now)
        .execute(&self.pool)
        .await?;
        match self.key(hash).await? {
            Some((w, k)) if w == ws && k == kind => Ok(()),
            _ => Err(StoreError::Conflict(
                "this key (for another workspace or use)".into(),
            )),
        }
    }

    /// The workspace and kind of a key, by its hash.
    pub async fn key(&self, hash: &str) -> Result<Option<(String, KeyKind)>> {
        let row = sqlx::query("SELECT workspace_id, kind FROM api_keys WHERE key_hash = $1")
            .bind(hash)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.and_then(|r| {
            let kind: String = r.get(1);
            KeyKind::parse(&kind).map(|k| (r.get(0), k))
        }))
    }

    // ---- models ----------------------------------------------------------------------------

    /// Stores a model file as the workspace's next version (1, 2, …) and returns it. A file
    /// with the same hash as a stored version returns that version instead.
    pub async fn add_model(&self, ws: &str, m: &NewModel<'_>, now: i64) -> Result<i64> {
        let mut tx = self.write_tx().await?;
        if let Some(r) =
            sqlx::query("SELECT version FROM models WHERE workspace_id = $1 AND hash = $2")
                .bind(ws)
                .bind(m.hash)
                .fetch_optional(&mut *tx)
                .await?
        {
            return Ok(r.get(0));
        }
        let next: i64 =
            sqlx::query("SELECT COALESCE(MAX(version), 0) + 1 FROM models WHERE workspace_id = $1")
                .bind(ws)
                .fetch_one(&mut *tx)
                .await?
                .get(0);
        sqlx::query(
            "INSERT INTO models (workspace_id, version, name, model_version, hash, source, created_at, author, note)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(ws)
        .bind(next)
        .bind(m.name)
        .bind(m.model_version)
        .bind(m.hash)
        .bind(m.source)
        .bind(now)
        .bind(m.author)
        .bind(m.note)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(next)
    }

    /// Makes `version` the workspace's active model from `at` on.
    pub async fn activate_model(
        &self,
        ws: &str,
        version: i64,
        at: i64,
        author: &str,
        note: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO model_activations (workspace_id, version, activated_at, author, note)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(ws)
        .bind(version)
        .bind(at)
        .bind(author)
        .bind(note)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// One stored model version.
    pub async fn model(&self, ws: &str, version: i64) -> Result<Option<ModelRecord>> {
        let row = dynamic(format!(
            "{MODEL_COLUMNS} FROM models m WHERE m.workspace_id = $1 AND m.version = $2"
        ))
        .bind(ws)
        .bind(version)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| model_record(&r)))
    }

    /// The model active at `at` (the latest activation at or before it).
    pub async fn model_active_at(&self, ws: &str, at: i64) -> Result<Option<ModelRecord>> {
        let row = dynamic(format!(
            "{MODEL_COLUMNS} FROM model_activations a JOIN models m
               ON m.workspace_id = a.workspace_id AND m.version = a.version
             WHERE a.workspace_id = $1 AND a.activated_at <= $2
             ORDER BY a.activated_at DESC, a.seq DESC LIMIT 1"
        ))
        .bind(ws)
        .bind(at)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| model_record(&r)))
    }

    /// Every stored version, newest first.
    pub async fn models(&self, ws: &str) -> Result<Vec<ModelRecord>> {
        let rows = dynamic(format!(
            "{MODEL_COLUMNS} FROM models m WHERE m.workspace_id = $1 ORDER BY m.version DESC"
        ))
        .bind(ws)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(model_record).collect())
    }

    /// Every activation, newest first.
    pub async fn activations(&self, ws: &str) -> Result<Vec<Activation>> {
        let rows = sqlx::query(
            "SELECT version, activated_at, author, note FROM model_activations
             WHERE workspace_id = $1 ORDER BY activated_at DESC, seq DESC",
        )
        .bind(ws)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| Activation {
                version: r.get(0),
                activated_at: r.get(1),
                author: r.get(2),
                note: r.get(3),
            })
            .collect())
    }

    // ---- reads for the API -----------------------------------------------------------------

    /// Counts of contacts, accounts and events (raw messages kept) in a workspace.
    pub async fn stats(&self, ws: &str) -> Result<Stats> {
        let mut c = self.conn().await?;
        let count = async |c: &mut AnyConnection, table: &str| -> Result<i64> {
            Ok(dynamic(format!(
                "SELECT COUNT(*) FROM {table} WHERE workspace_id = $1"
            ))
            .bind(ws)
            .fetch_one(&mut *c)
            .await?
            .get(0))
        };
        Ok(Stats {
            contacts: count(&mut c, "contacts").await?,
            accounts: count(&mut c, "accounts").await?,
            events: count(&mut c, "events").await?,
        })
    }

    /// A page of contacts matching `f`, in the order `f.sort` asks, after `f.after`.
    pub async fn list_contacts(
        &self,
        ws: &str,
        f: &LeadFilter,
    ) -> Result<Vec<(ContactRecord, Option<f64>)>> {
        // Every column but `workspace_id` is named once in the two tables.
        let mut sql = format!(
            "{CONTACT_COLUMNS}, p.probability FROM contacts c
             LEFT JOIN predictions p ON p.workspace_id = c.workspace_id AND p.contact_id = c.id
             WHERE c.workspace_id = $1"
        );
        let mut args = Args::new(ws);
        if let Some(t) = &f.tier {
            sql += &format!(" AND tier = {}", args.text(t));
        }
        if let Some(g) = &f.grade {
            sql += &format!(" AND grade = {}", args.text(g));
        }
        if let Some(s) = &f.segment {
            sql += &format!(" AND segment = {}", args.text(s));
        }
        if let Some(s) = &f.status {
            sql += &format!(" AND status = {}", args.text(s));
        }
        if let Some(a) = &f.account_id {
            sql += &format!(" AND account_id = {}", args.text(a));
        }
        if let Some(x) = f.min_score {
            sql += &format!(" AND score >= {}", args.real(x));
        }
        if let Some(x) = f.max_score {
            sql += &format!(" AND score <= {}", args.real(x));
        }
        if let Some(t) = f.updated_since {
            sql += &format!(" AND updated_at >= {}", args.int(t));
        }
        // Keyset pagination: the cursor is the last row's sort key and id, so pages stay
        // consistent while scores change underneath.
        match (&f.sort, &f.after) {
            (LeadSort::ScoreDesc, Some(Cursor::Score(s, id))) => {
                let (a, b, c) = (args.real(*s), args.real(*s), args.text(id));
                sql += &format!(" AND (score < {a} OR (score = {b} AND id > {c}))");
            }
            (LeadSort::ScoreAsc, Some(Cursor::Score(s, id))) => {
                let (a, b, c) = (args.real(*s), args.real(*s), args.text(id));
                sql += &format!(" AND (score > {a} OR (score = {b} AND id > {c}))");
            }
            (LeadSort::UpdatedDesc, Some(Cursor::Int(t, id))) => {
                let (a, b, c) = (args.int(*t), args.int(*t), args.text(id));
                sql += &format!(" AND (updated_at < {a} OR (updated_at = {b} AND id > {c}))");
            }
            (LeadSort::Id, Some(Cursor::Id(id))) => {
                sql += &format!(" AND id > {}", args.text(id));
            }
            (LeadSort::ProbabilityDesc, Some(Cursor::Score(p, id))) => {
                let (a, b, c) = (args.real(*p), args.real(*p), args.text(id));
                sql += &format!(" AND ({PROBABILITY} < {a} OR ({PROBABILITY} = {b} AND id > {c}))");
            }
            _ => {}
        }
        sql += &match f.sort {
            LeadSort::ScoreDesc => " ORDER BY score DESC, id".to_owned(),
            LeadSort::ScoreAsc => " ORDER BY score ASC, id".to_owned(),
            LeadSort::UpdatedDesc => " ORDER BY updated_at DESC, id".to_owned(),
            LeadSort::Id => " ORDER BY id".to_owned(),
            LeadSort::ProbabilityDesc => format!(" ORDER BY {PROBABILITY} DESC, id"),
        };
        sql += &format!(" LIMIT {}", f.limit.clamp(1, 1000));
        let rows = args.bind_all(dynamic(sql)).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| Ok((contact_record(r)?, r.get(17))))
            .collect()
    }

    /// One contact.
    pub async fn contact(&self, ws: &str, id: &str) -> Result<Option<ContactRecord>> {
        let mut c = self.conn().await?;
        Ok(tx::load_contacts(&mut c, ws, &[id.to_owned()])
            .await?
            .into_iter()
            .next())
    }

    /// A contact's score history, newest first.
    pub async fn history(&self, ws: &str, id: &str, limit: i64) -> Result<Vec<HistoryRecord>> {
        let rows = sqlx::query(
            "SELECT at, old_score, new_score, old_tier, new_tier, old_status, new_status, cause, model_version
             FROM score_history WHERE workspace_id = $1 AND contact_id = $2
             ORDER BY seq DESC LIMIT $3",
        )
        .bind(ws)
        .bind(id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| HistoryRecord {
                contact_id: id.to_owned(),
                at: r.get(0),
                old_score: r.get(1),
                new_score: r.get(2),
                old_tier: r.get(3),
                new_tier: r.get(4),
                old_status: r.get(5),
                new_status: r.get(6),
                cause: r.get(7),
                model_version: r.get(8),
            })
            .collect())
    }

    /// Everything stored about a contact's messages up to `received_by` (ms): its own and
    /// those of anonymous ids linked to it by then, oldest first. Used to recompute a score as
    /// of a past time and to list recent events.
    pub async fn contact_messages(
        &self,
        ws: &str,
        id: &str,
        received_by: i64,
    ) -> Result<Vec<EventRecord>> {
        let mut c = self.conn().await?;
        let anon: Vec<String> = sqlx::query(
            "SELECT anonymous_id FROM aliases WHERE workspace_id = $1 AND contact_id = $2 AND linked_at <= $3",
        )
        .bind(ws)
        .bind(id)
        .bind(received_by)
        .fetch_all(&mut *c)
        .await?
        .into_iter()
        .map(|r| r.get(0))
        .collect();
        let mut ev = tx::load_messages(&mut c, ws, &[id.to_owned()], &anon, false).await?;
        ev.retain(|e| e.event.received_at <= received_by);
        Ok(ev)
    }

    /// Every message of each contact of `ids`, oldest first (as [`Store::contact_messages`]
    /// without a time limit), read for all of them at once.
    pub async fn messages_by_contact(
        &self,
        ws: &str,
        ids: &[String],
    ) -> Result<std::collections::HashMap<String, Vec<EventRecord>>> {
        let mut c = self.conn().await?;
        tx::messages_by_contact(&mut c, ws, ids).await
    }

    /// The group calls for an account up to `received_by` (ms), oldest first: its traits as of
    /// then.
    pub async fn group_messages(
        &self,
        ws: &str,
        group_id: &str,
        received_by: i64,
    ) -> Result<Vec<EventRecord>> {
        let rows = sqlx::query(
            "SELECT seq, message_id, kind, event, user_id, anonymous_id, group_id, ts, received_at, props
             FROM events WHERE workspace_id = $1 AND group_id = $2 AND kind = 'group' AND received_at <= $3
             ORDER BY ts, seq",
        )
        .bind(ws)
        .bind(group_id)
        .bind(received_by)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(tx::event_record).collect())
    }

    /// One account.
    pub async fn account(&self, ws: &str, id: &str) -> Result<Option<AccountRecord>> {
        let mut c = self.conn().await?;
        Ok(tx::load_accounts(&mut c, ws, &[id.to_owned()])
            .await?
            .into_iter()
            .next())
    }

    /// A page of accounts by score (best first), after the cursor `(score, id)`.
    pub async fn list_accounts(
        &self,
        ws: &str,
        after: Option<(f64, String)>,
        limit: i64,
    ) -> Result<Vec<AccountRecord>> {
        let mut sql =
            "SELECT id, traits, score, tier, contacts, updated_at FROM accounts WHERE workspace_id = $1"
                .to_owned();
        let mut args = Args::new(ws);
        if let Some((s, id)) = &after {
            let (a, b, c) = (args.real(*s), args.real(*s), args.text(id));
            sql += &format!(
                " AND (COALESCE(score, -1e300) < {a} OR (COALESCE(score, -1e300) = {b} AND id > {c}))"
            );
        }
        sql += &format!(
            " ORDER BY COALESCE(score, -1e300) DESC, id LIMIT {}",
            limit.clamp(1, 1000)
        );
        let rows = args.bind_all(dynamic(sql)).fetch_all(&self.pool).await?;
        rows.iter().map(account_record).collect()
    }

    /// Every contact's `(score, segment, status)`, for ranking the population.
    pub async fn score_population(&self, ws: &str) -> Result<Vec<(f64, String, String)>> {
        Ok(
            sqlx::query("SELECT score, segment, status FROM contacts WHERE workspace_id = $1")
                .bind(ws)
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(|r| (r.get(0), r.get(1), r.get(2)))
                .collect(),
        )
    }

    /// Ids of the workspace's contacts after `after`, in id order, `limit` at a time.
    pub async fn contact_ids(&self, ws: &str, after: &str, limit: i64) -> Result<Vec<String>> {
        Ok(sqlx::query(
            "SELECT id FROM contacts WHERE workspace_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        )
        .bind(ws)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|r| r.get(0))
        .collect())
    }

    // ---- re-score jobs ---------------------------------------------------------------------

    /// Records a new job of `kind` (`rescore`, `backfill`, `retrain`) run by node `owner` (see
    /// [`Store::interrupt_orphaned_jobs`]) and returns its id.
    #[allow(clippy::too_many_arguments)]
    pub async fn start_job(
        &self,
        ws: &str,
        kind: &str,
        model_version: i64,
        cause: &str,
        total: i64,
        now: i64,
        owner: &str,
    ) -> Result<i64> {
        Ok(sqlx::query(
            "INSERT INTO rescore_jobs (workspace_id, kind, model_version, cause, total, done, state, started_at, owner)
             VALUES ($1, $2, $3, $4, $5, 0, 'running', $6, $7) RETURNING seq",
        )
        .bind(ws)
        .bind(kind)
        .bind(model_version)
        .bind(cause)
        .bind(total)
        .bind(now)
        .bind(owner)
        .fetch_one(&self.pool)
        .await?
        .get(0))
    }

    /// Updates a job's progress: `done` contacts, the last one `after`; `finished` with a
    /// final state (`done`, `failed`, `cancelled`) ends it.
    pub async fn job_progress(
        &self,
        job: i64,
        done: i64,
        after: &str,
        finished: Option<(&str, i64)>,
    ) -> Result<()> {
        // No NULL is bound (sqlx's `Any` driver types a NULL by its own choice).
        match finished {
            None => {
                sqlx::query("UPDATE rescore_jobs SET done = $1, resume_after = $2 WHERE seq = $3")
                    .bind(done)
                    .bind(after)
                    .bind(job)
                    .execute(&self.pool)
                    .await?
            }
            Some((state, at)) => sqlx::query(
                "UPDATE rescore_jobs SET done = $1, resume_after = $2, state = $3, finished_at = $4
                 WHERE seq = $5",
            )
            .bind(done)
            .bind(after)
            .bind(state)
            .bind(at)
            .bind(job)
            .execute(&self.pool)
            .await?,
        };
        Ok(())
    }

    /// Ends a job with `state` and a `note` saying what it did; `model_version` is what it
    /// produced (a retrain's learned model version; 0 for none).
    pub async fn finish_job(
        &self,
        job: i64,
        model_version: i64,
        done: i64,
        state: &str,
        note: &str,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE rescore_jobs SET model_version = $1, done = $2, state = $3, note = $4, finished_at = $5
             WHERE seq = $6",
        )
        .bind(model_version)
        .bind(done)
        .bind(state)
        .bind(note)
        .bind(now)
        .bind(job)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Marks an `interrupted` job `running` again, now run by node `owner` (a back-fill going
    /// on after a restart).
    pub async fn resume_job(&self, job: i64, owner: &str) -> Result<()> {
        sqlx::query(
            "UPDATE rescore_jobs SET state = 'running', finished_at = NULL, owner = $1 WHERE seq = $2",
        )
        .bind(owner)
        .bind(job)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A workspace's jobs, newest first.
    pub async fn jobs(&self, ws: &str, limit: i64) -> Result<Vec<JobRecord>> {
        let rows = sqlx::query(
            "SELECT seq, kind, model_version, cause, total, done, state, started_at, finished_at,
                    resume_after, note
             FROM rescore_jobs WHERE workspace_id = $1 ORDER BY seq DESC LIMIT $2",
        )
        .bind(ws)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| JobRecord {
                id: r.get(0),
                kind: r.get(1),
                model_version: r.get(2),
                cause: r.get(3),
                total: r.get(4),
                done: r.get(5),
                state: r.get(6),
                started_at: r.get(7),
                finished_at: r.get(8),
                resume_after: r.get(9),
                note: r.get(10),
            })
            .collect())
    }

    /// Marks `interrupted` the jobs left `running` by a node that stopped: their owner no
    /// longer holds its lease `node:<owner>` at `now` (or they have no owner). Returns their
    /// workspaces, each once. One statement: of nodes sweeping at the same time, each job is
    /// marked (and so resumed) by one.
    pub async fn interrupt_orphaned_jobs(&self, now: i64) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "UPDATE rescore_jobs SET state = 'interrupted', finished_at = $1
             WHERE state = 'running' AND (owner IS NULL OR NOT EXISTS
               (SELECT 1 FROM leases WHERE leases.name = 'node:' || rescore_jobs.owner
                  AND leases.until > $1))
             RETURNING workspace_id",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Takes the lease `name` for `owner` until `until` (ms) if nobody holds it at `now`
    /// (its last holder's time is up): `true` when taken. Atomic: of processes racing for a
    /// free lease, one gets it.
    pub async fn take_lease(&self, name: &str, owner: &str, now: i64, until: i64) -> Result<bool> {
        self.upsert_lease(name, owner, now, until, false).await
    }

    /// [`Store::take_lease`], or extends it when `owner` already holds it.
    pub async fn hold_lease(&self, name: &str, owner: &str, now: i64, until: i64) -> Result<bool> {
        self.upsert_lease(name, owner, now, until, true).await
    }

    async fn upsert_lease(
        &self,
        name: &str,
        owner: &str,
        now: i64,
        until: i64,
        or_own: bool,
    ) -> Result<bool> {
        let also = if or_own {
            " OR leases.owner = excluded.owner"
        } else {
            ""
        };
        let r = dynamic(format!(
            "INSERT INTO leases (name, owner, until) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until
             WHERE leases.until <= $4{also}"
        ))
        .bind(name)
        .bind(owner)
        .bind(until)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Deletes the leases named `prefix…` whose time was up before `before` (the leases of
    /// nodes long stopped); returns how many.
    pub async fn drop_lapsed_leases(&self, prefix: &str, before: i64) -> Result<u64> {
        let r = sqlx::query("DELETE FROM leases WHERE name LIKE $1 AND until < $2")
            .bind(format!("{prefix}%"))
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected())
    }

    /// Who holds the lease `name` and until when, if anyone ever took it.
    pub async fn lease(&self, name: &str) -> Result<Option<(String, i64)>> {
        Ok(
            sqlx::query("SELECT owner, until FROM leases WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?
                .map(|r| (r.get(0), r.get(1))),
        )
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

const MODEL_COLUMNS: &str =
    "SELECT m.version, m.name, m.model_version, m.hash, m.source, m.created_at, m.author, m.note";

fn model_record(r: &sqlx::any::AnyRow) -> ModelRecord {
    ModelRecord {
        version: r.get(0),
        name: r.get(1),
        model_version: r.get(2),
        hash: r.get(3),
        source: r.get(4),
        created_at: r.get(5),
        author: r.get(6),
        note: r.get(7),
    }
}

/// A listed lead's probability as a sort key: leads without a prediction sort last.
const PROBABILITY: &str = "COALESCE(p.probability, -1.0)";

pub(crate) const CONTACT_COLUMNS: &str = "SELECT id, account_id, traits, version, events, first_seen, updated_at, score, tier, grade, priority, status, segment, reasons, moment, model_version, scored_at";

pub(crate) fn contact_record(r: &sqlx::any::AnyRow) -> Result<ContactRecord> {
    let traits: String = r.get(2);
    let reasons: String = r.get(13);
    let moment: Option<String> = r.get(14);
    Ok(ContactRecord {
        id: r.get(0),
        account_id: r.get(1),
        traits: serde_json::from_str(&traits)
            .map_err(|e| StoreError::Json("contacts.traits", e))?,
        version: r.get(3),
        events: r.get(4),
        first_seen: r.get(5),
        updated_at: r.get(6),
        score: ScoreColumns {
            score: r.get(7),
            tier: r.get(8),
            grade: r.get(9),
            priority: r.get(10),
            status: r.get(11),
            segment: r.get(12),
            reasons: serde_json::from_str(&reasons)
                .map_err(|e| StoreError::Json("contacts.reasons", e))?,
            moment: moment
                .map(|m| serde_json::from_str(&m))
                .transpose()
                .map_err(|e| StoreError::Json("contacts.moment", e))?,
            model_version: r.get(15),
            scored_at: r.get(16),
        },
    })
}

pub(crate) fn account_record(r: &sqlx::any::AnyRow) -> Result<AccountRecord> {
    let traits: String = r.get(1);
    Ok(AccountRecord {
        id: r.get(0),
        traits: serde_json::from_str(&traits)
            .map_err(|e| StoreError::Json("accounts.traits", e))?,
        score: r.get(2),
        tier: r.get(3),
        contacts: r.get(4),
        updated_at: r.get(5),
    })
}

/// Builds a runtime query's arguments next to its SQL: each push returns the placeholder.
pub(crate) struct Args {
    vals: Vec<Arg>,
}

pub(crate) enum Arg {
    Text(String),
    Real(f64),
    Int(i64),
}

impl Args {
    pub(crate) fn new(ws: &str) -> Args {
        Args {
            vals: vec![Arg::Text(ws.to_owned())],
        }
    }
    fn push(&mut self, a: Arg) -> String {
        self.vals.push(a);
        format!("${}", self.vals.len())
    }
    pub(crate) fn text(&mut self, s: &str) -> String {
        self.push(Arg::Text(s.to_owned()))
    }
    pub(crate) fn real(&mut self, x: f64) -> String {
        self.push(Arg::Real(x))
    }
    pub(crate) fn int(&mut self, x: i64) -> String {
        self.push(Arg::Int(x))
    }
    pub(crate) fn bind_all(
        self,
        mut q: sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments>,
    ) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments> {
        for v in self.vals {
            q = match v {
                Arg::Text(s) => q.bind(s),
                Arg::Real(x) => q.bind(x),
                Arg::Int(x) => q.bind(x),
            };
        }
        q
    }
}

/// Placeholders for one statement, numbered in the order they appear in its text (bind the
/// values in that order, each once): `?` on SQLite, `$n` on PostgreSQL. SQLite binds plain `?`
/// parameters by position; a named one such as `$7` costs a scan over every name of the
/// statement per bind, which made a 400-row insert quadratic (three quarters of ingest time).
pub(crate) struct Ph {
    numbered: bool,
    n: usize,
}

impl Ph {
    pub(crate) fn new(backend: Backend) -> Ph {
        Ph {
            numbered: backend == Backend::Postgres,
            n: 0,
        }
    }

    pub(crate) fn for_conn(c: &AnyConnection) -> Ph {
        Ph {
            numbered: c.backend_name() == "PostgreSQL",
            n: 0,
        }
    }

    /// The next placeholder.
    pub(crate) fn one(&mut self) -> String {
        self.n += 1;
        if self.numbered {
            format!("${}", self.n)
        } else {
            "?".to_owned()
        }
    }

    /// `n` rows of placeholders for a multi-row `INSERT … VALUES`, separated by commas: each
    /// `(…)` has one placeholder per entry of `cols` — `true` marks an optional float, bound
    /// with [`nullable`] and turned back into NULL by `NULLIF(…, 'NaN')` — then `constants`.
    pub(crate) fn rows(&mut self, n: usize, cols: &[bool], constants: &str) -> String {
        let mut s = String::with_capacity(n * (cols.len() * 4 + constants.len() + 3));
        for i in 0..n {
            if i > 0 {
                s.push(',');
            }
            s.push('(');
            for (j, &nullable) in cols.iter().enumerate() {
                if j > 0 {
                    s.push_str(", ");
                }
                let p = self.one();
                if nullable {
                    s.push_str(&format!("NULLIF({p}, 'NaN')"));
                } else {
                    s.push_str(&p);
                }
            }
            s.push_str(constants);
            s.push(')');
        }
        s
    }

    /// `k` placeholders separated by commas.
    pub(crate) fn list(&mut self, k: usize) -> String {
        let mut s = String::with_capacity(k * 4);
        for i in 0..k {
            if i > 0 {
                s.push_str(", ");
            }
            s.push_str(&self.one());
        }
        s
    }
}

/// Opens a connection without the pool (used by tests to check the engine is reachable).
pub async fn ping(url: &str) -> Result<()> {
    sqlx::any::install_default_drivers();
    let mut c = AnyConnection::connect(url).await?;
    c.ping().await?;
    Ok(())
}

/// An optional float as bound: NaN for none, which the statement turns into NULL with
/// `NULLIF(…, 'NaN')` (see [`Ph::rows`]). sqlx 0.9's `Any` driver sends a NULL `f64` to
/// PostgreSQL as a `float4`, which a `DOUBLE PRECISION` column refuses ("incorrect binary data
/// format"); a NaN float8 goes through on both engines (SQLite stores NaN as NULL anyway).
pub(crate) fn nullable(x: Option<f64>) -> f64 {
    x.unwrap_or(f64::NAN)
}

/// A query of [`dynamic`] text, with values bound that live for `'q`.
pub(crate) type DynQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

/// Inserts `rows` of workspace `ws` with multi-row statements of `chunk` rows each:
/// `{head} VALUES (…), … {tail}`, the first column `workspace_id` and `cols` the others (as for
/// [`Ph::rows`]); `bind` binds one row's values after `ws`, in column order.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert_rows<'q, R>(
    conn: &mut AnyConnection,
    ws: &'q str,
    head: &str,
    cols: &[bool],
    tail: &str,
    rows: &'q [R],
    chunk: usize,
    bind: impl Fn(DynQuery<'q>, &'q R) -> DynQuery<'q>,
) -> Result<()> {
    for part in rows.chunks(chunk) {
        let mut ph = Ph::for_conn(conn);
        let all: Vec<bool> = std::iter::once(false).chain(cols.iter().copied()).collect();
        let sql = format!("{head} VALUES {} {tail}", ph.rows(part.len(), &all, ""));
        let mut q = dynamic(sql);
        for r in part {
            q = bind(q.bind(ws), r);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// A query whose text is built at run time. Only placeholders and fixed column names are ever
/// spliced in; every value is bound.
pub(crate) fn dynamic(
    sql: String,
) -> sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments> {
    sqlx::query(sqlx::AssertSqlSafe(sql))
}
