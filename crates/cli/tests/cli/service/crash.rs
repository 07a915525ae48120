//! Crash safety: a client sends batches while the server is killed with SIGKILL and started
//! again. Every event acknowledged with 200 is there afterwards, none twice; resending every
//! batch ends with each event exactly once.

use super::harness::{Server, both};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BATCHES: usize = 200;
const PER_BATCH: usize = 50;
/// Each batch has its own contacts, ten events each: an acknowledged batch means ten events
/// on each of its five contacts, exactly.
const CONTACTS_PER_BATCH: usize = 5;

fn contact(b: usize, k: usize) -> String {
    format!("crash-{b:03}-{k}")
}

fn batch(b: usize) -> Value {
    let messages: Vec<Value> = (0..PER_BATCH)
        .map(|i| {
            json!({ "type": "track", "userId": contact(b, i % CONTACTS_PER_BATCH),
                    "event": "demo_requested", "messageId": format!("crash-{b:03}-{i:02}"),
                    "timestamp": "2026-01-15T10:00:00Z" })
        })
        .collect();
    json!({ "batch": messages })
}

/// Sends every batch once to `base`; a batch that gets anything but 200 (or no answer) is not
/// acknowledged. Returns which were.
fn send_all(base: &str, acked: &AtomicUsize) -> Vec<bool> {
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    (0..BATCHES)
        .map(|b| {
            let ok = http
                .post(format!("{base}/v1/batch"))
                .basic_auth("wk", Some(""))
                .json(&batch(b))
                .send()
                .is_ok_and(|r| r.status() == 200);
            if ok {
                acked.fetch_add(1, Ordering::SeqCst);
            }
            ok
        })
        .collect()
}

fn events_per_contact(srv: &Server) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = "/api/v1/leads?sort=id&limit=1000".to_owned();
        if let Some(c) = &cursor {
            path += &format!("&cursor={c}");
        }
        let page = srv.get_ok(&path);
        for l in page["leads"].as_array().unwrap() {
            out.insert(
                l["id"].as_str().unwrap().to_owned(),
                l["events"].as_i64().unwrap(),
            );
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}

both! {
    fn acknowledged_events_survive_kill_9_and_resending_stores_none_twice(srv) {
        let acked = Arc::new(AtomicUsize::new(0));
        let result = Arc::new(Mutex::new(Vec::new()));
        let sender = {
            let (base, acked, result) = (srv.base.clone(), acked.clone(), result.clone());
            std::thread::spawn(move || *result.lock().unwrap() = send_all(&base, &acked))
        };
        // Kill it mid-way: once a good part of the batches went in.
        let deadline = Instant::now() + Duration::from_secs(120);
        while acked.load(Ordering::SeqCst) < BATCHES / 3 {
            assert!(Instant::now() < deadline, "the server took too long");
            assert!(!sender.is_finished(), "the sender stopped early");
            std::thread::sleep(Duration::from_millis(2));
        }
        srv.kill();
        sender.join().unwrap();
        let sent = result.lock().unwrap().clone();
        let acknowledged: Vec<usize> = (0..BATCHES).filter(|&b| sent[b]).collect();
        assert!(acknowledged.len() >= BATCHES / 3 && acknowledged.len() < BATCHES,
                "killed mid-way: {} of {BATCHES} acknowledged", acknowledged.len());

        srv.restart();
        let (_, _, events) = srv.counts();
        let acked_events = (acknowledged.len() * PER_BATCH) as i64;
        assert!(events >= acked_events, "{events} events stored, {acked_events} acknowledged");
        // Batches are all or nothing, and a batch's contacts are its own: every contact has
        // 0 or exactly 10 events, and every acknowledged batch's contacts have 10.
        let per = events_per_contact(&srv);
        let ten = (PER_BATCH / CONTACTS_PER_BATCH) as i64;
        for &b in &acknowledged {
            for k in 0..CONTACTS_PER_BATCH {
                assert_eq!(per.get(&contact(b, k)), Some(&ten), "{} (batch {b} was acknowledged)", contact(b, k));
                // demo_requested counts once: 10 points.
            }
        }
        assert!(per.values().all(|&n| n == ten), "a half-stored batch: {per:?}");
        assert_eq!(per.len() as i64 * ten, events, "stats agree with the contacts");
        assert_eq!(srv.score(&contact(acknowledged[0], 0)), 10.0);

        // Resend everything: each event exactly once in the end.
        let again = AtomicUsize::new(0);
        let sent = send_all(&srv.base, &again);
        assert!(sent.iter().all(|&ok| ok), "after the restart every batch is taken");
        let (contacts, _, events) = srv.counts();
        assert_eq!(events, (BATCHES * PER_BATCH) as i64);
        assert_eq!(contacts, (BATCHES * CONTACTS_PER_BATCH) as i64);
        let per = events_per_contact(&srv);
        assert_eq!(per.len(), BATCHES * CONTACTS_PER_BATCH);
        assert!(per.values().all(|&n| n == ten), "{per:?}");
        // And resending once more changes nothing.
        let (st, v) = srv.post("/v1/batch", &batch(7));
        assert_eq!(st, 200);
        assert_eq!((v["accepted"].as_u64(), v["duplicates"].as_u64()), (Some(0), Some(PER_BATCH as u64)));
    }
}

both! {
    // Regression: a model activation's background re-score killed half-way was marked
    // `interrupted` on restart and never finished: the workspace kept scores of the old model
    // under the new one.
    fn rescore_killed_mid_way_is_resumed_on_restart(srv) {
        const N: usize = 5000;
        let batch: Vec<Value> = (0..N)
            .map(|i| json!({ "type": "identify", "userId": format!("r{i:04}"), "messageId": format!("r{i}"),
                             "traits": { "industry": "software" } }))
            .collect();
        srv.batch_ok(&json!(batch));
        assert_eq!(srv.score("r0000"), 3.0);
        // v2: software is worth 4.
        let v2 = super::harness::MODEL.replace("points = 3\n", "points = 4\n").replace("1.0.0", "2.0.0");
        let (st, v) = srv.put_model(&v2);
        assert_eq!(st, 200, "{v}");
        let first_job = v["job"]["id"].as_i64().unwrap();
        srv.kill();
        srv.restart();
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let jobs = srv.get_ok("/api/v1/jobs");
            let jobs = jobs["jobs"].as_array().unwrap();
            let first = jobs.iter().find(|j| j["id"] == first_job).unwrap();
            // Either it was done before the kill, or it was interrupted and a new job resumed it.
            if first["state"] == "done" || (first["state"] == "interrupted"
                && jobs.iter().any(|j| j["id"].as_i64() > Some(first_job) && j["state"] == "done"))
            {
                break;
            }
            assert!(Instant::now() < deadline, "no finished re-score: {jobs:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
        let per_version: Vec<(i64, f64)> = {
            let mut out = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let mut path = "/api/v1/leads?sort=id&limit=1000".to_owned();
                if let Some(c) = &cursor {
                    path += &format!("&cursor={c}");
                }
                let page = srv.get_ok(&path);
                for l in page["leads"].as_array().unwrap() {
                    out.push((l["model_version"].as_i64().unwrap(), l["score"].as_f64().unwrap()));
                }
                match page["next_cursor"].as_str() {
                    Some(c) => cursor = Some(c.to_owned()),
                    None => break out,
                }
            }
        };
        assert_eq!(per_version.len(), N);
        let stale = per_version.iter().filter(|&&(v, s)| v != 2 || s != 4.0).count();
        assert_eq!(stale, 0, "{stale} of {N} contacts still scored by v1; jobs {}; first {:?}", srv.get_ok("/api/v1/jobs"), per_version[0]);
    }
}
