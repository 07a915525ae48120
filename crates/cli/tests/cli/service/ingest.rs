//! Segment ingestion end to end: batches and single calls, gzip, RudderStack's shapes,
//! duplicates, anonymous ids merged on identify. Every score is worked out from
//! [`MODEL`](super::harness::MODEL) in the comments.

use super::harness::{Auth, MODEL, Opts, both};
use serde_json::{Value, json};

fn rules(lead: &Value) -> Vec<(String, f64)> {
    let mut v: Vec<(String, f64)> = lead["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["rule"].as_str().unwrap().to_owned(),
                r["points"].as_f64().unwrap(),
            )
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn pairs(v: &[(&str, f64)]) -> Vec<(String, f64)> {
    let mut v: Vec<(String, f64)> = v.iter().map(|(r, p)| ((*r).to_owned(), *p)).collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

both! {
    fn batch_of_identify_track_page_group_scores_exactly(srv) {
        let reply = srv.batch_ok(&json!([
            { "type": "identify", "userId": "u1", "messageId": "b1-1",
              "traits": { "industry": "software", "employees": 250, "email": "a@example.com" } },
            { "type": "track", "userId": "u1", "event": "demo_requested", "messageId": "b1-2",
              "timestamp": "2026-01-15T10:00:00Z" },
            { "type": "page", "userId": "u1", "messageId": "b1-3", "name": "Pricing",
              "properties": { "url": "https://example.com/pricing" }, "timestamp": "2026-01-16T10:00:00Z" },
            { "type": "page", "userId": "u1", "messageId": "b1-4",
              "properties": { "url": "https://example.com/pricing/enterprise" }, "timestamp": "2026-01-17T10:00:00Z" },
            { "type": "page", "userId": "u1", "messageId": "b1-5",
              "properties": { "url": "https://example.com/blog" }, "timestamp": "2026-01-18T10:00:00Z" },
            { "type": "group", "userId": "u1", "groupId": "acme", "messageId": "b1-6",
              "traits": { "plan": "enterprise" } },
            { "type": "identify", "userId": "u2", "messageId": "b1-7", "traits": { "industry": "retail" } },
            { "type": "track", "userId": "u2", "event": "email_open", "messageId": "b1-8" },
        ]));
        assert_eq!(reply, json!({ "success": true, "accepted": 8, "duplicates": 0, "rescored": 2 }));

        // u1: demo 10 + pricing 2 × 5 (the blog page scores nothing) = 20 behaviour;
        // software 3 + size 2 (250 employees) + enterprise 7 (acme's plan) = 12 fit → 32, hot.
        // Grade: fit 12 ≥ 10 → A, engagement 20 ≥ 20 → 1: A1. No routing: pool.
        let u1 = srv.lead("u1");
        assert_eq!(u1["id"], "u1");
        assert_eq!(u1["score"], 32.0);
        assert_eq!(u1["tier"], "hot");
        assert_eq!(u1["grade"], "A1");
        assert_eq!(u1["status"], "pool");
        assert_eq!(u1["account_id"], "acme");
        assert_eq!(
            rules(&u1),
            pairs(&[("demo", 10.0), ("pricing", 10.0), ("software", 3.0), ("size", 2.0), ("enterprise", 7.0)])
        );
        assert_eq!(
            u1["attributes"],
            json!({ "industry": "software", "employees": 250, "email": "a@example.com" })
        );
        assert_eq!(u1["stored"]["score"], 32.0);
        assert_eq!(u1["stored"]["events"], 4, "one track and three pages");
        let h = u1["history"].as_array().unwrap();
        assert_eq!(h.len(), 1, "{h:?}");
        assert_eq!(h[0]["old_score"], Value::Null);
        assert_eq!(h[0]["new_score"], 32.0);
        assert_eq!(h[0]["new_tier"], "hot");
        assert_eq!(h[0]["cause"], "identify", "the first message for u1 in the batch");

        // u2: retail, and email_open is not in the model: 0, cold, D4.
        let u2 = srv.lead("u2");
        assert_eq!((u2["score"].as_f64(), u2["tier"].as_str(), u2["grade"].as_str()), (Some(0.0), Some("cold"), Some("D4")));

        assert_eq!(srv.counts(), (2, 1, 8));
        let acme = srv.get_ok("/api/v1/accounts/acme");
        assert_eq!(acme["traits"], json!({ "plan": "enterprise" }));
        assert_eq!(acme["contacts_list"][0]["id"], "u1");

        // One more pricing view (+5 → 37) and a second demo request (counted once: still 10).
        let reply = srv.batch_ok(&json!([
            { "type": "track", "userId": "u1", "event": "demo_requested", "messageId": "b2-1" },
            { "type": "page", "userId": "u1", "messageId": "b2-2", "properties": { "url": "/pricing" } },
        ]));
        assert_eq!(reply["accepted"], 2);
        assert_eq!(reply["rescored"], 1);
        let u1 = srv.lead("u1");
        assert_eq!(u1["score"], 37.0);
        let h = u1["history"].as_array().unwrap();
        assert_eq!(h.len(), 2);
        assert_eq!((h[0]["old_score"].as_f64(), h[0]["new_score"].as_f64()), (Some(32.0), Some(37.0)));
        assert_eq!(h[0]["cause"], "event demo_requested");
        assert_eq!(srv.counts(), (2, 1, 10));
    }

    fn single_call_endpoints_score_like_a_batch(srv) {
        for (path, body) in [
            ("/v1/identify", json!({ "userId": "u3", "traits": { "industry": "software" } })),
            ("/v1/track", json!({ "userId": "u3", "event": "demo_requested" })),
            ("/v1/page", json!({ "userId": "u3", "name": "Pricing", "properties": { "url": "https://example.com/pricing" } })),
            ("/v1/screen", json!({ "userId": "u3", "name": "Home" })),
            ("/v1/group", json!({ "userId": "u3", "groupId": "g3", "traits": { "plan": "enterprise" } })),
            // An anonymous pricing view, then an alias naming its user.
            ("/v1/page", json!({ "anonymousId": "anon-4", "properties": { "url": "/pricing" } })),
            ("/v1/alias", json!({ "previousId": "anon-4", "userId": "u4" })),
        ] {
            let (st, v) = srv.post(path, &body);
            assert_eq!(st, 200, "{path}: {v}");
            assert_eq!(v["accepted"], 1, "{path}: {v}");
        }
        // u3: demo 10 + pricing 5 + app 1 = 16; software 3 + enterprise 7 = 10 → 26, hot, A2.
        let u3 = srv.lead("u3");
        assert_eq!((u3["score"].as_f64(), u3["tier"].as_str(), u3["grade"].as_str()), (Some(26.0), Some("hot"), Some("A2")));
        assert_eq!(u3["stored"]["events"], 3);
        // u4: the anonymous pricing view, merged by the alias: 5.
        let u4 = srv.lead("u4");
        assert_eq!(u4["score"], 5.0);
        assert_eq!(u4["stored"]["score"], 5.0);
        assert_eq!(u4["stored"]["events"], 1);
        assert_eq!(srv.counts(), (2, 1, 7));
    }

    fn gzip_bodies_are_accepted(srv) {
        let batch = json!({ "batch": [
            { "type": "identify", "userId": "u5", "messageId": "g-1", "traits": { "industry": "software" } },
            { "type": "page", "userId": "u5", "messageId": "g-2", "properties": { "url": "/pricing" } },
            { "type": "page", "userId": "u5", "messageId": "g-3", "properties": { "url": "/pricing?x=1" } },
        ]});
        let (st, v) = srv.post_bytes("/v1/batch", batch.to_string().into_bytes(), true, Auth::Write);
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["accepted"], 3);
        let one = json!({ "userId": "u5", "event": "demo_requested", "messageId": "g-4" });
        let (st, v) = srv.post_bytes("/v1/track", one.to_string().into_bytes(), true, Auth::Write);
        assert_eq!(st, 200, "{v}");
        // software 3 + pricing 2 × 5 + demo 10 = 23, warm.
        let u5 = srv.lead("u5");
        assert_eq!((u5["score"].as_f64(), u5["tier"].as_str()), (Some(23.0), Some("warm")));
        assert_eq!(srv.counts(), (1, 0, 4));
    }

    fn rudderstack_identify_traits_under_context_traits(srv) {
        // What rudder-sdk-python sends: traits under context.traits, gzip, channel, integrations.
        let body = json!({ "batch": [
            { "type": "identify", "userId": "u6", "anonymousId": null, "messageId": "r-1",
              "channel": "server", "integrations": { "All": true },
              "context": { "traits": { "industry": "software", "employees": 500 },
                           "library": { "name": "analytics-python", "version": "2.1.9" } },
              "timestamp": "2026-11-30T10:00:00+00:00" },
            { "type": "track", "userId": "u6", "event": "demo_requested", "messageId": "r-2",
              "context": { "library": { "name": "analytics-python" } }, "properties": {} },
        ], "sentAt": "2026-11-30T10:00:01+00:00" });
        let r = srv.post_bytes("/v1/batch", body.to_string().into_bytes(), true, Auth::Write);
        assert_eq!(r.0, 200, "exactly 200, as RudderStack counts success: {}", r.1);
        // software 3 + size 2 + demo 10 = 15, warm.
        let u6 = srv.lead("u6");
        assert_eq!(u6["score"], 15.0);
        assert_eq!(u6["attributes"], json!({ "industry": "software", "employees": 500 }));
        // Top-level traits (Segment's place) win over context.traits for the same key.
        srv.batch_ok(&json!([{ "type": "identify", "userId": "u6", "messageId": "r-3",
            "traits": { "industry": "retail" }, "context": { "traits": { "industry": "software" } } }]));
        assert_eq!(srv.score("u6"), 12.0);
    }

    fn duplicate_message_ids_are_stored_and_scored_once(srv) {
        let first = json!([
            { "type": "track", "userId": "u7", "event": "demo_requested", "messageId": "d-1" },
            { "type": "page", "userId": "u7", "messageId": "d-2", "properties": { "url": "/pricing" } },
            { "type": "page", "userId": "u7", "messageId": "d-2", "properties": { "url": "/pricing" } },
        ]);
        let v = srv.batch_ok(&first);
        assert_eq!((v["accepted"].as_u64(), v["duplicates"].as_u64()), (Some(2), Some(1)), "{v}");
        // demo 10 + one pricing view 5 = 15.
        assert_eq!(srv.score("u7"), 15.0);
        assert_eq!(srv.counts(), (1, 0, 2));
        let history = srv.lead("u7")["history"].as_array().unwrap().len();

        // The same batch again: nothing new.
        let v = srv.batch_ok(&first);
        assert_eq!(v, json!({ "success": true, "accepted": 0, "duplicates": 3, "rescored": 0 }));
        assert_eq!(srv.score("u7"), 15.0);
        assert_eq!(srv.counts(), (1, 0, 2));
        assert_eq!(srv.lead("u7")["history"].as_array().unwrap().len(), history);
        assert_eq!(srv.lead("u7")["stored"]["events"], 2);

        // One old id and one new one, by a single call too.
        let v = srv.batch_ok(&json!([
            { "type": "page", "userId": "u7", "messageId": "d-2", "properties": { "url": "/pricing" } },
            { "type": "page", "userId": "u7", "messageId": "d-3", "properties": { "url": "/pricing" } },
        ]));
        assert_eq!((v["accepted"].as_u64(), v["duplicates"].as_u64()), (Some(1), Some(1)));
        let (st, v) = srv.post("/v1/page", &json!({ "userId": "u7", "messageId": "d-3", "properties": { "url": "/pricing" } }));
        assert_eq!(st, 200);
        assert_eq!((v["accepted"].as_u64(), v["duplicates"].as_u64()), (Some(0), Some(1)));
        assert_eq!(srv.score("u7"), 20.0);
        assert_eq!(srv.counts(), (1, 0, 3));
    }

    fn anonymous_events_merge_into_the_contact_on_identify(srv) {
        let v = srv.batch_ok(&json!([
            { "type": "page", "anonymousId": "anon-8", "messageId": "a-1", "properties": { "url": "/pricing" } },
            { "type": "track", "anonymousId": "anon-8", "messageId": "a-2", "event": "demo_requested" },
        ]));
        assert_eq!(v["accepted"], 2);
        // Stored, but nobody's yet.
        assert_eq!(srv.counts(), (0, 0, 2));
        assert_eq!(srv.get("/api/v1/leads/u8").0, 404);

        srv.batch_ok(&json!([{ "type": "identify", "userId": "u8", "anonymousId": "anon-8",
            "messageId": "a-3", "traits": { "industry": "software" } }]));
        // pricing 5 + demo 10 + software 3 = 18.
        let u8 = srv.lead("u8");
        assert_eq!(u8["score"], 18.0);
        assert_eq!(u8["stored"]["score"], 18.0);
        assert_eq!(u8["stored"]["events"], 2);
        assert_eq!(srv.counts(), (1, 0, 3));

        // Later anonymous events go to the contact, also after a restart (links come from
        // the store, not only from memory).
        srv.batch_ok(&json!([{ "type": "page", "anonymousId": "anon-8", "messageId": "a-4",
            "properties": { "url": "/pricing" } }]));
        assert_eq!(srv.score("u8"), 23.0);
        srv.restart();
        srv.batch_ok(&json!([{ "type": "page", "anonymousId": "anon-8", "messageId": "a-5",
            "properties": { "url": "/pricing" } }]));
        let u8 = srv.lead("u8");
        assert_eq!(u8["score"], 28.0);
        assert_eq!(u8["stored"]["events"], 4);
        assert_eq!(srv.counts(), (1, 0, 5));
    }

    fn event_without_timestamp_counts_in_windows(srv = Opts {
        model: Some(format!("{MODEL}
[[rule]]
id = \"recent\"
category = \"behaviour\"
points = 4
label = \"Any page in the last day\"
when = {{ event = \"page_view\", within_days = 1 }}
")),
        ..Opts::default()
    }) {
        // A message without `timestamp` happened when it was received: it is inside a one-day
        // window, in the stored score as in the recomputed one.
        srv.batch_ok(&json!([{ "type": "page", "userId": "u9", "messageId": "t-1",
            "properties": { "url": "/docs" } }]));
        let u9 = srv.lead("u9");
        assert_eq!(u9["score"], 4.0, "recomputed: {u9}");
        assert_eq!(u9["stored"]["score"], 4.0, "stored: {u9}");
        assert_eq!(u9["stored"]["last_interesting_moment"], u9["last_interesting_moment"]);
        let (_, list) = srv.get("/api/v1/leads?min_score=4");
        assert_eq!(list["leads"][0]["id"], "u9");
    }
}

both! {
    // Regression: on PostgreSQL a contact's second score change failed with "incorrect binary
    // data format in bind parameter 4" once the history insert (old score NULL for a new
    // contact) was cached on that connection; accounts with and without a rolled-up score the
    // same. Many batches, each mixing NULL and real values, cover every pooled connection.
    fn nullable_real_parameters_do_not_poison_cached_statements(srv = Opts {
        model: Some(format!("{MODEL}\n[account]\nmethod = \"max\"\n")),
        ..Opts::default()
    }) {
        srv.batch_ok(&json!([{ "type": "identify", "userId": "steady", "messageId": "s-0" }]));
        for k in 0..12 {
            let v = srv.batch_ok(&json!([
                // A new contact (history: old score NULL) …
                { "type": "identify", "userId": format!("n{k}"), "messageId": format!("s-{k}-1"),
                  "traits": { "industry": "software" } },
                // … and an existing one (old score a number), in one statement.
                { "type": "page", "userId": "steady", "messageId": format!("s-{k}-2"),
                  "properties": { "url": "/pricing" } },
                // An account with a member (a rolled-up score) and one without (NULL).
                { "type": "group", "userId": format!("n{k}"), "groupId": format!("acct{k}"),
                  "messageId": format!("s-{k}-3"), "traits": { "plan": "smb" } },
                { "type": "group", "anonymousId": "nobody", "groupId": format!("empty{k}"),
                  "messageId": format!("s-{k}-4"), "traits": { "plan": "smb" } },
            ]));
            assert_eq!(v["accepted"], 4);
        }
        // steady: 12 pricing views × 5.
        assert_eq!(srv.score("steady"), 60.0);
        assert_eq!(srv.counts(), (13, 24, 49));
        // Each acctK holds nK alone: software 3, and the roll-up is the max: 3.
        let a = srv.get_ok("/api/v1/accounts/acct7");
        assert_eq!(a["score"], 3.0, "{a}");
        let e = srv.get_ok("/api/v1/accounts/empty7");
        assert_eq!(e["score"], Value::Null, "{e}");
    }
}

both! {
    // Regression: without a roll-up, an account's `contacts` counted only the members that the
    // latest transaction touched, and a contact that moved stayed counted in its old account.
    fn account_members_are_counted_across_batches_and_moves(srv) {
        for (i, u) in ["a1", "a2", "a3"].iter().enumerate() {
            srv.batch_ok(&json!([{ "type": "group", "userId": u, "groupId": "acme",
                                   "messageId": format!("g-{i}") }]));
        }
        let acme = srv.get_ok("/api/v1/accounts/acme");
        assert_eq!(acme["contacts"], 3, "{acme}");
        assert_eq!(acme["contacts_list"].as_array().unwrap().len(), 3);
        // a3 moves to globex.
        srv.batch_ok(&json!([{ "type": "group", "userId": "a3", "groupId": "globex",
                               "messageId": "g-move", "traits": { "plan": "enterprise" } }]));
        assert_eq!(srv.get_ok("/api/v1/accounts/acme")["contacts"], 2);
        assert_eq!(srv.get_ok("/api/v1/accounts/globex")["contacts"], 1);
        assert_eq!(srv.lead("a3")["account_id"], "globex");
        assert_eq!(srv.score("a3"), 7.0);
        assert_eq!(srv.counts(), (3, 2, 4));
    }

    // The same with a roll-up: the old account's score no longer includes the contact that left.
    fn rolled_up_account_forgets_a_contact_that_moved(srv = Opts {
        model: Some(format!("{MODEL}\n[account]\nmethod = \"max\"\n")),
        ..Opts::default()
    }) {
        srv.batch_ok(&json!([
            { "type": "group", "userId": "b1", "groupId": "acme", "messageId": "r-1" },
            { "type": "track", "userId": "b1", "event": "demo_requested", "messageId": "r-2" },
            { "type": "group", "userId": "b2", "groupId": "acme", "messageId": "r-3" },
            { "type": "page", "userId": "b2", "messageId": "r-4", "properties": { "url": "/pricing" } },
        ]));
        // max(b1 10, b2 5) = 10.
        let acme = srv.get_ok("/api/v1/accounts/acme");
        assert_eq!((acme["score"].as_f64(), acme["contacts"].as_i64()), (Some(10.0), Some(2)), "{acme}");
        srv.batch_ok(&json!([{ "type": "group", "userId": "b1", "groupId": "globex", "messageId": "r-5" }]));
        let acme = srv.get_ok("/api/v1/accounts/acme");
        assert_eq!((acme["score"].as_f64(), acme["contacts"].as_i64()), (Some(5.0), Some(1)), "{acme}");
        let globex = srv.get_ok("/api/v1/accounts/globex");
        assert_eq!((globex["score"].as_f64(), globex["contacts"].as_i64()), (Some(10.0), Some(1)), "{globex}");
    }
}

both! {
    fn ids_with_spaces_slashes_and_unicode_round_trip(srv) {
        let ids = ["ana maría@example.com", "team/alpha#1", "42", "ünïcødé ✓", "a+b%20c"];
        for (i, id) in ids.iter().enumerate() {
            srv.batch_ok(&json!([{ "type": "page", "userId": id, "messageId": format!("x-{i}"),
                                   "properties": { "url": "/pricing" } }]));
        }
        // A numeric userId is the same contact as its text.
        srv.batch_ok(&json!([{ "type": "page", "userId": 42, "messageId": "x-num",
                               "properties": { "url": "/pricing" } }]));
        for id in ids {
            let path: String = id.bytes().map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            }).collect();
            let lead = srv.get_ok(&format!("/api/v1/leads/{path}"));
            assert_eq!(lead["id"], id);
            assert_eq!(lead["score"], if id == "42" { 10.0 } else { 5.0 }, "{id}");
        }
        assert_eq!(srv.counts(), (5, 0, 6));
    }
}
