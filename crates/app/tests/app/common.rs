//! Shared by the app tests: a service on a fresh store, a movable clock, a webhook receiver on
//! port 0 that records what it gets, and a model whose scores the tests set exactly.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use leadscore_app::hooks::DeliverySettings;
use leadscore_app::message::{Call, Message};
use leadscore_app::{Clock, Service, Settings, Space};
use leadscore_store::{Durability, Store};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Seven rules worth 1, 2, 4, …, 64 points, one per trait `b1` … `b64` set to `"yes"`: the
/// score of a lead is whatever sum of them the test sends. Tiers: `hot` from 50 (sales-ready),
/// `warm` from 20, `cold` below. A `role` of `student` disqualifies.
pub const MODEL: &str = r#"
[model]
name = "bits"
version = "1"
scale = "raw"

[[category]]
id = "fit"

[[rule]]
id = "b1"
category = "fit"
points = 1
when = { field = "b1", equals = "yes" }

[[rule]]
id = "b2"
category = "fit"
points = 2
when = { field = "b2", equals = "yes" }

[[rule]]
id = "b4"
category = "fit"
points = 4
when = { field = "b4", equals = "yes" }

[[rule]]
id = "b8"
category = "fit"
points = 8
when = { field = "b8", equals = "yes" }

[[rule]]
id = "b16"
category = "fit"
points = 16
when = { field = "b16", equals = "yes" }

[[rule]]
id = "b32"
category = "fit"
points = 32
when = { field = "b32", equals = "yes" }

[[rule]]
id = "b64"
category = "fit"
points = 64
when = { field = "b64", equals = "yes" }

[[tier]]
name = "hot"
min = 50

[[tier]]
name = "warm"
min = 20

[[tier]]
name = "cold"

[routing]
sales_ready_tiers = ["hot"]

[[disqualify]]
id = "student"
reason = "Students do not buy"
when = { field = "role", equals = "student" }
"#;

/// Real time plus an offset the test moves forward.
#[derive(Debug, Default)]
pub struct TestClock {
    offset_ms: AtomicI64,
}

impl TestClock {
    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        self.offset_ms
            .fetch_add(by.as_millis() as i64, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis() + self.offset_ms.load(Ordering::SeqCst)
    }
}

/// Delivery settings for tests: fast retries.
pub fn fast_hooks() -> DeliverySettings {
    DeliverySettings {
        timeout: Duration::from_secs(5),
        max_attempts: 12,
        backoff: Duration::from_millis(50),
    }
}

/// A service on its own store with one workspace (`acme`) scoring with [`MODEL`].
pub struct TestApp {
    pub svc: Service,
    pub space: Arc<Space>,
    pub clock: Arc<TestClock>,
    pub dir: tempfile::TempDir,
    seq: AtomicU64,
}

/// The settings of the tests' services: no periodic re-score, `hooks`.
pub fn settings(hooks: DeliverySettings) -> Settings {
    Settings {
        rescore_every: None,
        hooks,
        ..Settings::default()
    }
}

/// Starts a service on `dir` with `clock`.
pub async fn start(dir: &Path, clock: Arc<TestClock>, hooks: DeliverySettings) -> Service {
    start_with(dir, clock, settings(hooks)).await
}

/// Starts a service on `dir` with `clock` and `settings`.
pub async fn start_with(dir: &Path, clock: Arc<TestClock>, settings: Settings) -> Service {
    let store = Store::open_dir(dir, Durability::Normal)
        .await
        .expect("open the store");
    Service::start(store, clock, settings)
        .await
        .expect("start the service")
}

/// A fresh service and workspace.
pub async fn spawn_app_with(hooks: DeliverySettings) -> TestApp {
    spawn_app_settings(settings(hooks)).await
}

/// A fresh service (with `settings`) and workspace.
pub async fn spawn_app_settings(settings: Settings) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let clock = Arc::new(TestClock::default());
    let svc = start_with(dir.path(), clock.clone(), settings).await;
    let (space, _, _) = svc
        .create_workspace("acme", MODEL)
        .await
        .expect("create the workspace");
    TestApp {
        svc,
        space,
        clock,
        dir,
        seq: AtomicU64::new(0),
    }
}

/// A fresh service and workspace with [`fast_hooks`].
pub async fn spawn_app() -> TestApp {
    spawn_app_with(fast_hooks()).await
}

/// An identify that gives `user` exactly `score` points (0–127), with `role`.
pub fn identify(n: u64, user: &str, score: u32, role: &str) -> Message {
    assert!(score < 128, "the test model scores 0–127");
    let mut props = serde_json::Map::new();
    for bit in 0..7 {
        let value = 1u32 << bit;
        let set = score & value != 0;
        props.insert(
            format!("b{value}"),
            if set {
                serde_json::Value::from("yes")
            } else {
                serde_json::Value::Null
            },
        );
    }
    props.insert("role".into(), role.into());
    Message {
        call: Call::Identify,
        message_id: format!("m{n}"),
        user_id: Some(user.to_owned()),
        anonymous_id: None,
        group_id: None,
        event: None,
        timestamp: None,
        props,
    }
}

impl TestApp {
    /// Sets a lead's score (and role) through a real ingest; returns after the commit.
    pub async fn set(&self, user: &str, score: u32, role: &str) {
        let n = self.seq.fetch_add(1, Ordering::SeqCst);
        self.svc
            .ingest(&self.space, vec![identify(n, user, score, role)])
            .await
            .expect("ingest");
        let stored = self
            .svc
            .store()
            .contact(&self.space.id, user)
            .await
            .expect("read the contact")
            .expect("the contact exists");
        assert_eq!(stored.score.score, f64::from(score), "score of {user}");
    }

    /// Creates a subscription; returns its id and secret.
    pub async fn subscribe(&self, url: &str, triggers: serde_json::Value) -> (String, String) {
        let (hook, secret) = leadscore_app::hooks::create(
            &self.svc,
            &self.space,
            &serde_json::json!({ "url": url, "triggers": triggers }),
        )
        .await
        .expect("create the webhook");
        (hook.id, secret)
    }

    /// The workspace's outbox, oldest first.
    pub async fn outbox(&self) -> Vec<leadscore_store::hooks::OutboxItem> {
        let mut v = self
            .svc
            .store()
            .outbox(&self.space.id, 1000)
            .await
            .expect("read the outbox");
        v.reverse();
        v
    }

    /// The workspace's delivery log, oldest first.
    pub async fn deliveries(&self) -> Vec<leadscore_store::hooks::Delivery> {
        deliveries(self.svc.store(), &self.space.id).await
    }
}

/// A workspace's delivery log, oldest first.
pub async fn deliveries(store: &Store, ws: &str) -> Vec<leadscore_store::hooks::Delivery> {
    let mut v = store
        .deliveries(ws, 1000)
        .await
        .expect("read the deliveries");
    v.reverse();
    v
}

/// A request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    /// A header as text.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("header {name} missing"))
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

#[derive(Default)]
struct ReceiverState {
    log: Mutex<Vec<Received>>,
    fail_first: AtomicUsize,
    /// Milliseconds each answer waits.
    delay_ms: AtomicU64,
}

/// A real HTTP server that records every request and answers 200 (or 500 while told to fail).
pub struct Receiver {
    pub addr: SocketAddr,
    state: Arc<ReceiverState>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// Starts on a free port.
    pub async fn start() -> Receiver {
        Self::start_on("127.0.0.1:0".parse().expect("an address")).await
    }

    /// Starts on `addr`.
    pub async fn start_on(addr: SocketAddr) -> Receiver {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .expect("bind the receiver");
        let addr = listener.local_addr().expect("the receiver's address");
        let state = Arc::new(ReceiverState::default());
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(record))
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serve");
        });
        Receiver { addr, state, task }
    }

    /// The URL subscriptions post to.
    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// Answers 500 to the next `n` requests.
    pub fn fail_next(&self, n: usize) {
        self.state.fail_first.store(n, Ordering::SeqCst);
    }

    /// Answers each request only after `by`.
    pub fn slow(&self, by: Duration) {
        self.state
            .delay_ms
            .store(by.as_millis() as u64, Ordering::SeqCst);
    }

    /// Everything received so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.state.log.lock().expect("receiver log").clone()
    }

    /// How many requests came.
    pub fn count(&self) -> usize {
        self.state.log.lock().expect("receiver log").len()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn record(
    State(st): State<Arc<ReceiverState>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    st.log
        .lock()
        .expect("receiver log")
        .push(Received { headers, body });
    let delay = st.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let failing = st
        .fail_first
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if failing {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

/// A port nothing listens on (bound, then released), for a receiver that is down.
pub fn free_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port");
    l.local_addr().expect("its address")
}

/// Polls `cond` every 20 ms until it holds; false after `timeout`.
pub async fn wait_until(mut cond: impl AsyncFnMut() -> bool, timeout: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if cond().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A job as `(kind, cause, state, model_version, total, done)`.
pub fn job_of(j: &leadscore_store::JobRecord) -> (&str, &str, &str, i64, i64, i64) {
    (
        j.kind.as_str(),
        j.cause.as_str(),
        j.state.as_str(),
        j.model_version,
        j.total,
        j.done,
    )
}

/// Waits until job `id` of workspace `ws` is no longer `running`; returns it.
pub async fn finished_job(svc: &Service, ws: &str, id: i64) -> leadscore_store::JobRecord {
    let mut last = None;
    let done = wait_until(
        async || {
            let j = svc.store().jobs(ws, 50).await.expect("read the jobs");
            last = j.into_iter().find(|j| j.id == id);
            last.as_ref().is_some_and(|j| j.state != "running")
        },
        PATIENCE,
    )
    .await;
    assert!(done, "job {id} still running: {last:?}");
    last.expect("the job")
}

/// How long a test waits for a delivery before it fails.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A runtime of its own, like a process's: dropping it stops every task of the services
/// started in it, as a killed process would.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}
