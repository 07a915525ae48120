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
