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
}
