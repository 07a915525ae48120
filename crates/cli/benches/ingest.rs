//! Ingestion load benchmark (not a test): starts the real `leadscore serve` on loopback with a
//! temp SQLite store, sends 200,000 Segment events in batches of 100 over several connections,
//! and prints events/s and the p50/p99 latency of ingest-to-score (a 200 is sent only after the
//! batch is committed and every contact it touched is re-scored).
//!
//! Peer, run in the same process: the same rows appended to a bare SQLite table through sqlx
//! (one transaction per batch of 100, same durability) — the floor that storage alone sets.
//!
//! `cargo bench -p leadscore --bench ingest [-- --events N --batch B --connections C
//! --contacts N --session S --durability full|normal]` — `--session S` sends each contact's
//! events S at a time (as a visit does); the default 1 makes every event of a batch touch a
//! different contact, the worst case for the writer.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Opts {
    events: usize,
    batch: usize,
    connections: usize,
    contacts: usize,
    /// Consecutive events of one contact (a session); 1 = every event a different contact.
    session: usize,
    durability: String,
}

fn opts() -> Opts {
    let mut o = Opts {
        events: 200_000,
        batch: 100,
        connections: 8,
        contacts: 20_000,
        session: 1,
        durability: "full".into(),
    };
    let args: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < args.len() {
        let v = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--events" => o.events = v.parse().expect("--events N"),
            "--batch" => o.batch = v.parse().expect("--batch N"),
            "--connections" => o.connections = v.parse().expect("--connections N"),
            "--contacts" => o.contacts = v.parse().expect("--contacts N"),
            "--session" => o.session = v.parse().expect("--session N"),
            "--durability" => o.durability = v,
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    o
}

/// A deterministic stream of messages: each contact is identified first, then behaves.
fn message(i: usize, contacts: usize, session: usize, base_ms: i64) -> Value {
    let c = if i < contacts {
        i
    } else {
        (i / session.max(1)) % contacts
    };
    let user = format!("c-{c:06}");
    let ts = chrono::DateTime::from_timestamp_millis(base_ms - ((i * 7919) % 86_400_000) as i64)
        .expect("time")
        .to_rfc3339();
    let id = format!("m-{i:08}");
    if i < contacts {
        let seniority = ["vp", "manager", "director", "ic"][c % 4];
        let industry = ["Software", "Retail", "Healthcare"][c % 3];
        return json!({"type": "identify", "messageId": id, "userId": user, "timestamp": ts,
            "traits": {"seniority": seniority, "industry": industry,
                       "employees": (c % 500) + 5, "purchase_authority": "decision_maker"}});
    }
    match i % 5 {
        0 => json!({"type": "page", "messageId": id, "userId": user, "timestamp": ts,
                    "properties": {"url": "https://example.com/pricing", "path": "/pricing"}}),
        1 => json!({"type": "track", "messageId": id, "userId": user, "timestamp": ts,
                    "event": "email_open", "properties": {"campaign": "nov"}}),
        2 => json!({"type": "track", "messageId": id, "userId": user, "timestamp": ts,
                    "event": "email_click", "properties": {"campaign": "nov"}}),
        3 => json!({"type": "page", "messageId": id, "userId": user, "timestamp": ts,
                    "properties": {"url": "https://example.com/blog/post", "path": "/blog/post"}}),
        _ => {
            let event = if i % 50 == 4 {
                "demo_requested"
            } else {
                "webinar_attended"
            };
            json!({"type": "track", "messageId": id, "userId": user, "timestamp": ts, "event": event})
        }
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let k = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[k]
}

async fn bare_sqlite(batches: &[Vec<Value>], durability: &str) -> f64 {
    sqlx::any::install_default_drivers();
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("peer.db").display());
    use sqlx::Connection;
    let mut c = sqlx::AnyConnection::connect(&url).await.expect("peer db");
    for p in [
        "PRAGMA journal_mode = WAL".to_owned(),
        format!("PRAGMA synchronous = {}", durability.to_uppercase()),
        "CREATE TABLE events (seq INTEGER PRIMARY KEY, message_id TEXT NOT NULL UNIQUE, user_id TEXT, kind TEXT, ts TEXT, props TEXT)".to_owned(),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(p)).execute(&mut c).await.expect("pragma");
    }
    let t = Instant::now();
    for b in batches {
        let mut tx = c.begin().await.expect("begin");
        let mut sql =
            String::from("INSERT INTO events (message_id, user_id, kind, ts, props) VALUES ");
        for i in 0..b.len() {
            if i > 0 {
                sql.push(',');
            }
            let k = i * 5;
            sql.push_str(&format!(
                "(${}, ${}, ${}, ${}, ${})",
                k + 1,
                k + 2,
                k + 3,
                k + 4,
                k + 5
            ));
        }
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for m in b {
            q = q
                .bind(m["messageId"].as_str().unwrap_or_default().to_owned())
                .bind(m["userId"].as_str().unwrap_or_default().to_owned())
                .bind(m["type"].as_str().unwrap_or_default().to_owned())
                .bind(m["timestamp"].as_str().unwrap_or_default().to_owned())
                .bind(m.get("properties").unwrap_or(&Value::Null).to_string());
        }
        q.execute(&mut *tx).await.expect("insert");
        tx.commit().await.expect("commit");
    }
    t.elapsed().as_secs_f64()
}

fn main() {
    let o = opts();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_leadscore"))
        .args(["serve", "--listen", "127.0.0.1:0", "--rescore-every", "off"])
        .args([
            "--write-key",
            "wk",
            "--read-key",
            "rk",
            "--durability",
            &o.durability,
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start leadscore serve (cargo bench builds it in release)");
    let mut line = String::new();
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let addr = loop {
        line.clear();
        if out.read_line(&mut line).expect("read") == 0 {
            panic!("server exited before listening");
        }
        if let Some(rest) = line.split("http://").nth(1) {
            break rest.split_whitespace().next().expect("address").to_owned();
        }
    };
    let base_ms = chrono::Utc::now().timestamp_millis();
    let all: Vec<Value> = (0..o.events)
        .map(|i| message(i, o.contacts, o.session, base_ms))
        .collect();
    let batches: Vec<Vec<Value>> = all.chunks(o.batch).map(<[Value]>::to_vec).collect();
    let bodies: Vec<Vec<u8>> = batches
        .iter()
        .map(|b| serde_json::to_vec(&json!({ "batch": b })).expect("json"))
        .collect();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (secs, mut lat) = rt.block_on(async {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(o.connections)
            .build()
            .expect("client");
        let url = format!("http://{addr}/v1/batch");
        // Identify everyone first (the stream starts with the identifies), then measure all.
        let bodies = Arc::new(bodies);
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let t = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..o.connections {
            let (client, url, bodies, next) =
                (client.clone(), url.clone(), bodies.clone(), next.clone());
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(body) = bodies.get(i) else { break };
                    let t = Instant::now();
                    loop {
                        let r = client
                            .post(&url)
                            .basic_auth("wk", Some(""))
                            .header("content-type", "application/json")
                            .body(body.clone())
                            .send()
                            .await
                            .expect("send");
                        let status = r.status().as_u16();
                        let _ = r.bytes().await;
                        match status {
                            200 => break,
                            429 | 503 => tokio::time::sleep(Duration::from_millis(20)).await,
                            s => panic!("batch {i}: HTTP {s}"),
                        }
                    }
                    lat.push(t.elapsed().as_secs_f64() * 1000.0);
                }
                lat
            }));
        }
        let mut lat = Vec::new();
        for t in tasks {
            lat.extend(t.await.expect("task"));
        }
        (t.elapsed().as_secs_f64(), lat)
    });
    lat.sort_by(f64::total_cmp);
    let stats: Value = rt.block_on(async {
        reqwest::Client::new()
            .get(format!("http://{addr}/api/v1/stats"))
            .bearer_auth("rk")
            .send()
            .await
            .expect("stats")
            .json()
            .await
            .expect("stats json")
    });
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(stats["events"], json!(o.events), "every event stored once");
    let peer = rt.block_on(bare_sqlite(&batches, &o.durability));
    let eps = o.events as f64 / secs;
    let peer_eps = o.events as f64 / peer;
    println!(
        "leadscore ingest: {} events ({} contacts, {} per visit) in batches of {} over {} connections, SQLite synchronous={}",
        o.events, o.contacts, o.session, o.batch, o.connections, o.durability
    );
    println!(
        "  {:.0} events/s ({:.2} s); ingest-to-score latency per batch p50 {:.1} ms, p99 {:.1} ms",
        eps,
        secs,
        percentile(&lat, 0.5),
        percentile(&lat, 0.99)
    );
    println!(
        "  stored {} events, {} contacts",
        stats["events"], stats["contacts"]
    );
    println!(
        "peer, same process: bare sqlx insert of the same rows into SQLite, one transaction per batch: {:.0} events/s ({:.2} s)",
        peer_eps, peer
    );
    println!(
        "ratio: leadscore ingest+score {:.2}x the bare insert's throughput",
        eps / peer_eps
    );
}
