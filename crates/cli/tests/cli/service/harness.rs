//! The service test harness: start the real `leadscore serve` on port 0 with a temp data dir
//! (SQLite) or a fresh PostgreSQL database, wait for `/healthz`, and talk HTTP with helpers
//! that read like API calls. `kill()` is SIGKILL; `restart()` starts again on the same data.
#![allow(dead_code)]

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant};

/// The test model: every point is exact (no decay, no windows), so scores are worked out by
/// hand in the tests.
///
/// - `demo`: +10 once for any `demo_requested`;
/// - `pricing`: +5 per `page_view` whose `url` contains `/pricing`;
/// - `app`: +1 per `screen_view`;
/// - `software`: +3 when `industry` is `software`;
/// - `enterprise`: +7 when the account's `plan` is `enterprise`;
/// - `size`: +2 when `employees` ≥ 100 (a number: a trait that is not one is refused).
///
/// Tiers: hot ≥ 25, warm ≥ 10, cold below. Grade: fit (A ≥ 10, B ≥ 3, C ≥ 1, else D) ×
/// engagement (1 ≥ 20, 2 ≥ 10, 3 ≥ 5, else 4).
pub const MODEL: &str = r#"
[model]
name = "svc-test"
version = "1.0.0"
scale = "raw"

[fields]
employees = "number"

[[category]]
id = "behaviour"
cap = 1000
decay = {}

[[category]]
id = "fit"
cap = 1000

[[rule]]
id = "demo"
category = "behaviour"
points = 10
label = "Requested a demo"
when = { event = "demo_requested" }

[[rule]]
id = "pricing"
category = "behaviour"
points = 5
label = "Pricing page view"
per_occurrence = true
when = { event = "page_view", where = { field = "url", contains = "/pricing" } }

[[rule]]
id = "app"
category = "behaviour"
points = 1
label = "App screen view"
per_occurrence = true
when = { event = "screen_view" }

[[rule]]
id = "software"
category = "fit"
points = 3
label = "Software industry"
when = { field = "industry", equals = "software" }

[[rule]]
id = "enterprise"
category = "fit"
points = 7
label = "Enterprise account"
when = { field = "account.plan", equals = "enterprise" }

[[rule]]
id = "size"
category = "fit"
points = 2
label = "100+ employees"
when = { field = "employees", gte = 100 }

[grade]
fit_categories = ["fit"]
engagement_categories = ["behaviour"]
fit = { A = 10, B = 3, C = 1 }
engagement = { 1 = 20, 2 = 10, 3 = 5 }

[[tier]]
name = "hot"
min = 25

[[tier]]
name = "warm"
min = 10

[[tier]]
name = "cold"
"#;

/// Which store the server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded store in the temp data dir.
    Sqlite,
    /// A fresh database on the local PostgreSQL server.
    Postgres,
}

/// How to start the server.
#[derive(Debug, Clone)]
pub struct Opts {
    /// The model file's text (`--model`); `None` starts with the built-in starter model.
    pub model: Option<String>,
    /// `--body-limit`.
    pub body_limit: Option<usize>,
    /// More arguments for `serve`.
    pub extra: Vec<String>,
}

impl Default for Opts {
    fn default() -> Self {
        Opts {
            model: Some(MODEL.to_owned()),
            body_limit: None,
            extra: Vec::new(),
        }
    }
}

impl Opts {
    /// With these arguments for `serve` too.
    pub fn args(mut self, args: &[&str]) -> Opts {
        self.extra.extend(args.iter().map(|a| a.to_string()));
        self
    }

    /// With this body limit.
    pub fn body_limit(mut self, n: usize) -> Opts {
        self.body_limit = Some(n);
        self
    }
}

/// Who a request claims to be.
#[derive(Debug, Clone, Copy)]
pub enum Auth<'a> {
    /// Basic auth with the write key `wk` (what Segment clients send).
    Write,
    /// `Authorization: Bearer rk`.
    Read,
    /// No `Authorization` header.
    None,
    /// Basic auth with this user name.
    Basic(&'a str),
    /// `Authorization: Bearer` this.
    Bearer(&'a str),
}

// ---- PostgreSQL --------------------------------------------------------------------------------

fn psql(sql: &str) -> Result<String, String> {
    let out = Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            "5432",
            "-d",
            "test",
            "-v",
            "ON_ERROR_STOP=1",
        ])
        .args(["-tAc", sql])
        .output()
        .map_err(|e| format!("cannot run psql: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The PostgreSQL user that trust auth lets in (the OS user), once PostgreSQL answers; starts
/// the cluster when it does not.
fn postgres_user() -> &'static str {
    static USER: OnceLock<String> = OnceLock::new();
    USER.get_or_init(|| {
        if let Ok(u) = psql("SELECT current_user") {
            return u;
        }
        let versions = std::fs::read_dir("/etc/postgresql")
            .expect("PostgreSQL is not installed (/etc/postgresql is missing)");
        for v in versions.flatten() {
            let v = v.file_name().to_string_lossy().into_owned();
            let st = Command::new("pg_ctlcluster")
                .args(["--skip-systemctl-redirect", &v, "main", "start"])
                .status();
            eprintln!("started PostgreSQL {v} main: {st:?}");
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match psql("SELECT current_user") {
                Ok(u) => return u,
                Err(e) if Instant::now() > deadline => {
                    panic!("PostgreSQL does not answer on 127.0.0.1:5432: {e}")
                }
                Err(_) => std::thread::sleep(Duration::from_millis(250)),
            }
        }
    })
}

/// A database of its own for one test, dropped afterwards.
struct PgDb {
    name: String,
}

impl PgDb {
    fn create() -> PgDb {
        static N: AtomicUsize = AtomicUsize::new(0);
        postgres_user();
        let name = format!(
            "ls_test_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).unwrap();
        psql(&format!("CREATE DATABASE {name}")).unwrap();
        PgDb { name }
    }

    fn url(&self) -> String {
        format!(
            "postgres://{}@127.0.0.1:5432/{}",
            postgres_user(),
            self.name
        )
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let _ = psql(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}

// ---- the server --------------------------------------------------------------------------------

/// A running `leadscore serve`; killed when dropped.
pub struct Server {
    backend: Backend,
    opts: Opts,
    dir: tempfile::TempDir,
    db: Option<PgDb>,
    /// A second node's store: the first node's data dir and database URL.
    shared: Option<(PathBuf, Option<String>)>,
    child: Option<Child>,
    /// Started once already (restarts keep the store's model).
    started: bool,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    http: reqwest::blocking::Client,
}

impl Server {
    /// Starts the server on `backend` and waits until `/healthz` answers 200.
    pub fn start(backend: Backend, opts: Opts) -> Server {
        let db = (backend == Backend::Postgres).then(PgDb::create);
        Server::launch(backend, opts, db, None)
    }

    /// Starts a server on its own temp dir and `db`, or on `shared` (another's store).
    fn launch(
        backend: Backend,
        opts: Opts,
        db: Option<PgDb>,
        shared: Option<(PathBuf, Option<String>)>,
    ) -> Server {
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let mut s = Server {
            backend,
            opts,
            dir: tempfile::tempdir().unwrap(),
            db,
            // A second node never passes `--model`: it keeps the active one.
            started: shared.is_some(),
            shared,
            child: None,
            base: String::new(),
            http,
        };
        s.spawn();
        s
    }

    /// The store it runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Drops the PostgreSQL database under the running server (connections and all).
    pub fn drop_database(&self) {
        let db = self.db.as_ref().expect("a PostgreSQL server");
        psql(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", db.name)).unwrap();
    }

    /// Another `serve` process on this server's store (its PostgreSQL database, or its
    /// SQLite data dir), with `extra` arguments and no `--model` (it keeps the active one):
    /// a second node.
    pub fn second_node(&self, extra: &[&str]) -> Server {
        let opts = Opts {
            model: None,
            body_limit: None,
            extra: extra.iter().map(|a| (*a).to_owned()).collect(),
        };
        let shared = (self.data_dir(), self.db.as_ref().map(PgDb::url));
        Server::launch(self.backend, opts, None, Some(shared))
    }

    /// The SQLite data dir (also used by `leadscore import`).
    pub fn data_dir(&self) -> PathBuf {
        match &self.shared {
            Some((dir, _)) => dir.clone(),
            None => self.dir.path().join("data"),
        }
    }

    /// The temp dir beside the data dir, for a test's own files.
    pub fn scratch(&self) -> &Path {
        self.dir.path()
    }

    /// The server's stderr so far (all runs).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// The `serve` arguments for this server's store and options.
    fn args(&self) -> Vec<String> {
        let mut a: Vec<String> = [
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--write-key",
            "wk",
            "--read-key",
            "rk",
            "--data-dir",
        ]
        .map(String::from)
        .into();
        a.push(self.data_dir().display().to_string());
        if !self.opts.extra.iter().any(|x| x == "--rescore-every") {
            a.push("--rescore-every".into());
            a.push("off".into());
        }
        let url = match &self.shared {
            Some((_, url)) => url.clone(),
            None => self.db.as_ref().map(PgDb::url),
        };
        if let Some(url) = url {
            a.push("--database-url".into());
            a.push(url);
        }
        // `--model` on the first start only: `serve --model` makes that file the active model,
        // so passing it again on a restart would undo a model activated through the API.
        if let Some(m) = self.opts.model.as_ref().filter(|_| !self.started) {
            let p = self.dir.path().join("model.toml");
            std::fs::write(&p, m).unwrap();
            a.push("--model".into());
            a.push(p.display().to_string());
        }
        if let Some(n) = self.opts.body_limit {
            a.push("--body-limit".into());
            a.push(n.to_string());
        }
        a.extend(self.opts.extra.iter().cloned());
        a
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("server.log"))
            .unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_leadscore"))
            .args(self.args())
            .env_remove("LEADSCORE_DATABASE_URL")
            .env_remove("LEADSCORE_DATA_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start leadscore serve");
        // A thread reads stdout (and keeps draining it) so a server that never prints its
        // address fails the test after a while instead of hanging it.
        let out = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.strip_prefix("leadscore: listening on ") {
                    let addr = rest.split_whitespace().next().unwrap_or("").to_owned();
                    let _ = tx.send(addr);
                }
            }
        });
        self.child = Some(child);
        self.started = true;
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(addr) => self.base = addr,
            Err(_) => panic!(
                "leadscore serve printed no address; its stderr:\n{}",
                self.log()
            ),
        }
        assert!(
            self.base.starts_with("http://127.0.0.1:"),
            "address {}",
            self.base
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = self.http.get(self.url("/healthz")).send()
                && r.status() == 200
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "/healthz never answered 200; stderr:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL (no shutdown of any kind), and waits for the process to be gone.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the server again on the same data dir / database (a new port), with the model
    /// the store has active.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// The full URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn authed(
        &self,
        rb: reqwest::blocking::RequestBuilder,
        auth: Auth<'_>,
    ) -> reqwest::blocking::RequestBuilder {
        match auth {
            Auth::Write => rb.basic_auth("wk", Some("")),
            Auth::Read => rb.bearer_auth("rk"),
            Auth::None => rb,
            Auth::Basic(u) => rb.basic_auth(u, Some("")),
            Auth::Bearer(k) => rb.bearer_auth(k),
        }
    }

    fn answer(r: reqwest::blocking::Response) -> (u16, Value) {
        let status = r.status().as_u16();
        let text = r.text().unwrap();
        let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, v)
    }

    /// Sends `req` and returns the status and the body (JSON, or the text as a JSON string).
    pub fn send(&self, req: reqwest::blocking::RequestBuilder) -> (u16, Value) {
        Self::answer(req.send().expect("the server answers"))
    }

    /// POST raw bytes to `path`, gzipped (with `Content-Encoding: gzip`) when `gzip`.
    pub fn post_bytes(
        &self,
        path: &str,
        body: Vec<u8>,
        gzip: bool,
        auth: Auth<'_>,
    ) -> (u16, Value) {
        let mut rb = self
            .http
            .post(self.url(path))
            .header("content-type", "application/json");
        let body = if gzip {
            rb = rb.header("content-encoding", "gzip");
            gzipped(&body)
        } else {
            body
        };
        self.send(self.authed(rb, auth).body(body))
    }

    /// POST JSON to `path` with `auth`.
    pub fn post_as(&self, path: &str, body: &Value, auth: Auth<'_>) -> (u16, Value) {
        self.post_bytes(path, body.to_string().into_bytes(), false, auth)
    }

    /// POST JSON to an ingestion endpoint with the write key.
    pub fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.post_as(path, body, Auth::Write)
    }

    /// `POST /v1/batch` with `{"batch": messages}`.
    pub fn post_batch(&self, messages: &Value) -> (u16, Value) {
        self.post("/v1/batch", &json!({ "batch": messages }))
    }

    /// `POST /v1/batch` that must succeed; returns the reply.
    pub fn batch_ok(&self, messages: &Value) -> Value {
        let (st, v) = self.post_batch(messages);
        assert_eq!(st, 200, "batch refused: {v}\nserver log:\n{}", self.log());
        v
    }

    /// GET `path` with `auth`.
    pub fn get_as(&self, path: &str, auth: Auth<'_>) -> (u16, Value) {
        self.send(self.authed(self.http.get(self.url(path)), auth))
    }

    /// GET `path` with the read key.
    pub fn get(&self, path: &str) -> (u16, Value) {
        self.get_as(path, Auth::Read)
    }

    /// DELETE `path` with the read key.
    pub fn delete(&self, path: &str) -> (u16, Value) {
        self.send(self.authed(self.http.delete(self.url(path)), Auth::Read))
    }

    /// GET `path` with the read key; must be 200.
    pub fn get_ok(&self, path: &str) -> Value {
        let (st, v) = self.get(path);
        assert_eq!(st, 200, "GET {path}: {v}");
        v
    }

    /// GET `path` as text (no auth).
    pub fn get_text(&self, path: &str) -> (u16, String) {
        let r = self.http.get(self.url(path)).send().unwrap();
        (r.status().as_u16(), r.text().unwrap())
    }

    /// GET `path` as text with the read key, with its content type.
    pub fn get_text_read(&self, path: &str) -> (u16, String, String) {
        let r = self
            .http
            .get(self.url(path))
            .bearer_auth("rk")
            .send()
            .unwrap();
        let kind = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (r.status().as_u16(), kind, r.text().unwrap())
    }

    /// POST JSON to a REST endpoint with the read key.
    pub fn post_read(&self, path: &str, body: &Value) -> (u16, Value) {
        self.post_as(path, body, Auth::Read)
    }

    /// `PUT /api/v1/model` with a TOML body.
    pub fn put_model(&self, toml: &str) -> (u16, Value) {
        let rb = self
            .http
            .put(self.url("/api/v1/model"))
            .header("content-type", "application/toml")
            .body(toml.to_owned());
        self.send(self.authed(rb, Auth::Read))
    }

    /// Waits until job `id` is no longer `running`; returns it.
    pub fn wait_job(&self, id: i64) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let j = self.get_ok(&format!("/api/v1/jobs/{id}"));
            if j["state"] != "running" {
                return j;
            }
            assert!(Instant::now() < deadline, "job {id} still running: {j}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `/api/v1/stats`.
    pub fn stats(&self) -> Value {
        self.get_ok("/api/v1/stats")
    }

    /// `(contacts, accounts, events)` from `/api/v1/stats`.
    pub fn counts(&self) -> (i64, i64, i64) {
        let s = self.stats();
        (
            s["contacts"].as_i64().unwrap(),
            s["accounts"].as_i64().unwrap(),
            s["events"].as_i64().unwrap(),
        )
    }

    /// `/api/v1/leads/{id}`; must be 200.
    pub fn lead(&self, id: &str) -> Value {
        self.get_ok(&format!("/api/v1/leads/{id}"))
    }

    /// A lead's current score.
    pub fn score(&self, id: &str) -> f64 {
        self.lead(id)["score"].as_f64().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        // Then the database goes (PgDb's own Drop, after this).
    }
}

/// `bytes` gzipped.
pub fn gzipped(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// Serialises the tests that need one process-wide thing at a time (the Python venv).
pub fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Sleeps until the wall clock is in a later second than `ms` (Unix milliseconds), so that
/// `as_of` (whole seconds) can tell what happened at `ms` from what comes next.
pub fn next_second_after(ms: i64) {
    loop {
        let now = chrono::Utc::now().timestamp_millis();
        if now.div_euclid(1000) > ms.div_euclid(1000) {
            return;
        }
        std::thread::sleep(Duration::from_millis(
            (1000 - now.rem_euclid(1000)) as u64 + 5,
        ));
    }
}

/// RFC 3339 text of Unix milliseconds (whole seconds).
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Unix milliseconds of an RFC 3339 time the API printed.
pub fn millis(text: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(text.as_str().unwrap())
        .unwrap()
        .timestamp_millis()
}

/// Generates `<name>_sqlite` and `<name>_postgres` tests from one body. `srv` is a started
/// [`Server`] (with [`Opts::default`], or the options after `=`).
macro_rules! both {
    ($( $(#[$meta:meta])* fn $name:ident($srv:ident $(= $opts:expr)?) $body:block )*) => {
        $(
            pastey::paste! {
                $(#[$meta])*
                #[test]
                fn [<$name _sqlite>]() {
                    #[allow(unused_mut)]
                    let mut $srv = $crate::service::harness::Server::start(
                        $crate::service::harness::Backend::Sqlite,
                        $crate::service::harness::opts_or_default!($($opts)?),
                    );
                    $body
                }

                $(#[$meta])*
                #[test]
                fn [<$name _postgres>]() {
                    #[allow(unused_mut)]
                    let mut $srv = $crate::service::harness::Server::start(
                        $crate::service::harness::Backend::Postgres,
                        $crate::service::harness::opts_or_default!($($opts)?),
                    );
                    $body
                }
            }
        )*
    };
}

macro_rules! opts_or_default {
    () => {
        $crate::service::harness::Opts::default()
    };
    ($e:expr) => {
        $e
    };
}

pub(crate) use both;
pub(crate) use opts_or_default;
