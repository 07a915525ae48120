//! Several clients at once: batches that the writer groups into one transaction must each get
//! the reply they would get alone, and every event is applied once.

use super::harness::both;
use serde_json::{Value, json};

const THREADS: usize = 4;
const BATCHES: usize = 25;

both! {
    // Regression: with group commit, every contact re-scored in a transaction was counted in
    // the first batch's `rescored`, and the other batches of the group said 0.
    fn grouped_batches_each_report_their_own_rescored(srv) {
        let replies: Vec<Vec<(u16, Value)>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..THREADS)
                .map(|t| {
                    let srv = &srv;
                    s.spawn(move || {
                        (0..BATCHES)
                            .map(|b| {
                                srv.post_batch(&json!([
                                    // A contact of this batch alone …
                                    { "type": "identify", "userId": format!("c-{t}-{b}"),
                                      "messageId": format!("c-{t}-{b}"), "traits": { "industry": "software" } },
                                    // … and one that every batch changes.
                                    { "type": "page", "userId": "shared", "messageId": format!("p-{t}-{b}"),
                                      "properties": { "url": "/pricing" } },
                                ]))
                            })
                            .collect()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (st, v) in replies.iter().flatten() {
            assert_eq!(*st, 200, "{v}");
            // Its new contact (0 → 3) and `shared` (5 more) changed.
            assert_eq!(v, &json!({ "success": true, "accepted": 2, "duplicates": 0, "rescored": 2 }));
        }
        let n = THREADS * BATCHES;
        let shared = srv.lead("shared");
        assert_eq!(shared["score"], (5 * n) as f64);
        assert_eq!(shared["stored"]["score"], (5 * n) as f64);
        assert_eq!(shared["stored"]["events"], n);
        assert_eq!(srv.counts(), (n as i64 + 1, 0, 2 * n as i64));
        assert_eq!(srv.score("c-3-24"), 3.0);
    }
}

both! {
    // Regression: with several nodes on one database, every node's timer re-scored every
    // workspace (one scheduled re-score per node per period). Now the node whose timer fires
    // first takes the workspace's lease for nine tenths of the period and the others skip it.
    fn two_nodes_on_one_store_rescore_once_per_period(
        srv = super::harness::Opts::default().args(&["--rescore-every", "1s"])
    ) {
        let other = srv.second_node(&["--rescore-every", "1s"]);
        assert_eq!(other.get_ok("/api/v1/jobs")["jobs"], srv.get_ok("/api/v1/jobs")["jobs"]);
        let scheduled = || {
            let jobs = srv.get_ok("/api/v1/jobs");
            let mut starts: Vec<i64> = jobs["jobs"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|j| j["cause"] == "schedule")
                .map(|j| j["started_at"].as_i64().unwrap())
                .collect();
            starts.sort_unstable();
            starts
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while scheduled().len() < 5 {
            assert!(std::time::Instant::now() < deadline, "no scheduled re-scores: {}", srv.get_ok("/api/v1/jobs"));
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let starts = scheduled();
        for w in starts.windows(2) {
            assert!(w[1] - w[0] >= 800, "two scheduled re-scores in one period: {starts:?}");
        }
    }

    // Regression: with several nodes on one database, every node's delivery worker sent
    // every due webhook item (each receiver got each event once per node, and each attempt
    // counted once per node). Now a worker claims the items it sends.
    fn two_nodes_on_one_store_deliver_each_webhook_item_once(srv) {
        let other = srv.second_node(&[]);
        let rx = SlowReceiver::start(std::time::Duration::from_millis(150));
        let (st, v) = srv.post_read(
            "/api/v1/webhooks",
            &json!({ "url": rx.url(), "triggers": [{ "type": "tier_changed" }] }),
        );
        assert_eq!(st, 201, "{v}");
        const LEADS: usize = 16;
        // Each lead is created cold (3), then a demo request makes it warm (13): one
        // tier change each, enqueued on this node, while the other one polls every second.
        let created: Vec<Value> = (0..LEADS)
            .map(|i| json!({ "type": "identify", "userId": format!("w{i}"),
                             "messageId": format!("wi{i}"), "traits": { "industry": "software" } }))
            .collect();
        srv.batch_ok(&json!(created));
        for i in 0..LEADS {
            srv.batch_ok(&json!([{ "type": "track", "userId": format!("w{i}"),
                                   "event": "demo_requested", "messageId": format!("wd{i}") }]));
        }
        let outbox = || srv.get_ok("/api/v1/webhooks/outbox")["outbox"].as_array().unwrap().clone();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while outbox().len() < LEADS || outbox().iter().any(|i| i["state"] != "delivered") {
            assert!(std::time::Instant::now() < deadline, "not delivered: {:?}", outbox());
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        // Both workers have looked at the outbox since.
        std::thread::sleep(std::time::Duration::from_millis(1500));
        let mut keys = rx.keys();
        keys.sort();
        let sent = keys.len();
        keys.dedup();
        assert_eq!((sent, keys.len()), (LEADS, LEADS), "each item sent once: {keys:?}");
        assert!(outbox().iter().all(|i| i["attempts"] == 1), "{:?}", outbox());
        let log = other.get_ok("/api/v1/webhooks/deliveries");
        assert_eq!(log["deliveries"].as_array().unwrap().len(), LEADS, "{log}");
    }
}

/// A webhook receiver on a real socket that answers `200` after `delay` (one thread per
/// connection) and keeps each request's `Idempotency-Key`.
struct SlowReceiver {
    addr: std::net::SocketAddr,
    keys: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl SlowReceiver {
    fn start(delay: std::time::Duration) -> SlowReceiver {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let keys = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = keys.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { return };
                let log = log.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(conn.try_clone().unwrap());
                    loop {
                        // One request: the head, then `Content-Length` bytes of body.
                        let (mut len, mut key) = (0usize, None);
                        loop {
                            let mut line = String::new();
                            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                                return;
                            }
                            let line = line.trim_end();
                            if line.is_empty() {
                                break;
                            }
                            if let Some((name, value)) = line.split_once(':') {
                                match name.to_ascii_lowercase().as_str() {
                                    "content-length" => len = value.trim().parse().unwrap(),
                                    "idempotency-key" => key = Some(value.trim().to_owned()),
                                    _ => {}
                                }
                            }
                        }
                        let mut body = vec![0; len];
                        reader.read_exact(&mut body).unwrap();
                        log.lock().unwrap().push(key.unwrap_or_default());
                        std::thread::sleep(delay);
                        let reply = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
                        if conn.write_all(reply).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        SlowReceiver { addr, keys }
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    fn keys(&self) -> Vec<String> {
        self.keys.lock().unwrap().clone()
    }
}
