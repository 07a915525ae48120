//! What the service refuses, with which status and JSON body: malformed messages (the whole
//! batch, naming `index` and `field`; ids PostgreSQL cannot hold), invalid JSON, missing or
//! wrong keys, bodies over the limit, a database gone (503). A refused request stores nothing.

use super::harness::{Auth, Opts, both, gzipped};
use serde_json::{Value, json};

fn error(v: &Value) -> (&str, &str) {
    (
        v["error"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no error.code: {v}")),
        v["error"]["message"]
            .as_str()
            .unwrap_or_else(|| panic!("no error.message: {v}")),
    )
}

both! {
    fn malformed_message_refuses_the_whole_batch(srv) {
        let good = json!({ "type": "identify", "userId": "u1", "messageId": "ok-1",
                           "traits": { "industry": "software" } });
        for (bad, index, field) in [
            (json!({ "type": "track", "userId": "u1", "messageId": "bad-1" }), 2, "event"),
            (json!({ "type": "track", "event": "demo_requested", "messageId": "bad-2" }), 2, "userId"),
            (json!({ "type": "track", "userId": "u1", "event": "x", "timestamp": "yesterday" }), 2, "timestamp"),
            (json!({ "type": "track", "userId": "u1", "event": "x", "properties": [1] }), 2, "properties"),
            (json!({ "type": "shout", "userId": "u1" }), 2, "type"),
            (json!({ "userId": "u1" }), 2, "type"),
            (json!("not an object"), 2, "message"),
            // The model reads `employees` as a number.
            (json!({ "type": "identify", "userId": "u1", "traits": { "employees": "many" } }), 2, "traits.employees"),
        ] {
            let page = json!({ "type": "page", "userId": "u1", "messageId": "ok-2",
                               "properties": { "url": "/pricing" } });
            let (st, v) = srv.post_batch(&json!([good, page, bad]));
            assert_eq!(st, 400, "{bad}: {v}");
            let (code, msg) = error(&v);
            assert_eq!(code, "invalid_message", "{v}");
            assert_eq!(v["error"]["index"], index, "{bad}: {v}");
            assert_eq!(v["error"]["field"], field, "{bad}: {v}");
            assert!(msg.contains(field), "{msg}");
            assert_eq!(srv.counts(), (0, 0, 0), "nothing of the batch is stored: {bad}");
        }
        // A single call names index 0.
        let (st, v) = srv.post("/v1/group", &json!({ "userId": "u1" }));
        assert_eq!(st, 400);
        assert_eq!((v["error"]["index"].as_u64(), v["error"]["field"].as_str()), (Some(0), Some("groupId")));
        // And the same batch without the bad message goes in whole.
        srv.batch_ok(&json!([good, { "type": "page", "userId": "u1", "messageId": "ok-2",
                                      "properties": { "url": "/pricing" } }]));
        assert_eq!(srv.counts(), (1, 0, 2));
        assert_eq!(srv.score("u1"), 8.0);
    }

    fn invalid_json_is_400(srv) {
        for body in [&b"{\"batch\": [ {\"type\": "[..], b"", b"\xff\xfe", b"[1, 2"] {
            let (st, v) = srv.post_bytes("/v1/batch", body.to_vec(), false, Auth::Write);
            assert_eq!(st, 400, "{body:?}: {v}");
            assert_eq!(error(&v).0, "invalid_json", "{v}");
        }
        // Gzip that is not gzip.
        let r = srv.send(
            reqwest::blocking::Client::new()
                .post(srv.url("/v1/batch"))
                .basic_auth("wk", Some(""))
                .header("content-encoding", "gzip")
                .body("{\"batch\": []}"),
        );
        assert_eq!(r.0, 400, "{}", r.1);
        assert!(r.1["error"]["code"].is_string(), "a JSON error body: {}", r.1);
        // A body that is JSON but not a batch.
        let (st, v) = srv.post("/v1/batch", &json!({ "messages": [] }));
        assert_eq!(st, 400);
        assert_eq!(v["error"]["field"], "batch");
        assert_eq!(srv.counts(), (0, 0, 0));
    }

    fn missing_or_unknown_write_key_is_401(srv) {
        let batch = json!({ "batch": [{ "type": "track", "userId": "u1", "event": "demo_requested" }] });
        for auth in [Auth::None, Auth::Basic("nope"), Auth::Basic("rk"), Auth::Bearer("wk"), Auth::Bearer("nope")] {
            let (st, v) = srv.post_as("/v1/batch", &batch, auth);
            assert_eq!(st, 401, "{auth:?}: {v}");
            assert_eq!(error(&v).0, "unauthorized", "{v}");
        }
        let (st, _) = srv.post_as("/v1/track", &json!({ "userId": "u1", "event": "x" }), Auth::None);
        assert_eq!(st, 401);
        // The write key in the body (what some Segment clients send) is a write key too.
        let (st, v) = srv.post_as("/v1/batch", &json!({ "writeKey": "nope", "batch": [] }), Auth::None);
        assert_eq!(st, 401, "{v}");
        let (st, v) = srv.post_as("/v1/batch", &json!({ "writeKey": "wk", "batch": [] }), Auth::None);
        assert_eq!(st, 200, "{v}");
        assert_eq!(srv.counts(), (0, 0, 0));
    }

    fn read_endpoints_refuse_the_write_key(srv) {
        srv.batch_ok(&json!([{ "type": "identify", "userId": "u1" }]));
        for path in ["/api/v1/leads", "/api/v1/leads/u1", "/api/v1/stats", "/api/v1/model",
                     "/api/v1/model/history", "/api/v1/accounts"] {
            for auth in [Auth::Write, Auth::Bearer("wk"), Auth::None, Auth::Bearer("nope")] {
                let (st, v) = srv.get_as(path, auth);
                assert_eq!(st, 401, "{path} {auth:?}: {v}");
                assert_eq!(error(&v).0, "unauthorized");
            }
            assert_eq!(srv.get(path).0, 200, "{path} with the read key");
        }
        let (st, _) = srv.post_as("/api/v1/model/rollback", &json!({}), Auth::Write);
        assert_eq!(st, 401);
        // The import endpoint takes the write key, not the read key.
        let (st, _) = srv.post_bytes("/api/v1/import?kind=contacts", b"id\nc1\n".to_vec(), false, Auth::Read);
        assert_eq!(st, 401);
    }

    fn body_over_the_limit_is_413_with_json(srv = Opts::default().body_limit(2000)) {
        let message = |i: usize| json!({ "type": "track", "userId": "u1", "event": "demo_requested",
                                          "messageId": format!("m-{i}"), "properties": { "pad": "x".repeat(100) } });
        let small: Vec<Value> = (0..5).map(message).collect();
        let big: Vec<Value> = (0..40).map(message).collect();
        let big_body = json!({ "batch": big }).to_string().into_bytes();
        assert!(big_body.len() > 2000);
        let (st, v) = srv.post_bytes("/v1/batch", big_body.clone(), false, Auth::Write);
        assert_eq!(st, 413, "{v}");
        assert_eq!(error(&v).0, "payload_too_large");
        // The limit is on the body after gzip: a small gzipped body that inflates past it.
        assert!(gzipped(&big_body).len() < 2000);
        let (st, v) = srv.post_bytes("/v1/batch", big_body, true, Auth::Write);
        assert_eq!(st, 413, "{v}");
        assert_eq!(error(&v).0, "payload_too_large");
        assert_eq!(srv.counts(), (0, 0, 0));
        let v = srv.batch_ok(&json!(small));
        assert_eq!(v["accepted"], 5);
    }
}

#[test]
fn database_gone_is_503_with_retry_after() {
    use super::harness::{Backend, Server};
    let srv = Server::start(Backend::Postgres, Opts::default());
    srv.batch_ok(&json!([{ "type": "identify", "userId": "u1" }]));
    srv.drop_database();
    let r = reqwest::blocking::Client::new()
        .post(srv.url("/v1/batch"))
        .basic_auth("wk", Some(""))
        .json(&json!({ "batch": [{ "type": "identify", "userId": "u2" }] }))
        .send()
        .unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "1");
    let v: Value = r.json().unwrap();
    assert_eq!(v["error"]["code"], "unavailable", "{v}");
    let (st, v) = srv.get_as("/healthz", Auth::None);
    assert_eq!(st, 503, "{v}");
    assert_eq!(v["error"]["code"], "unavailable", "{v}");
}

both! {
    // A NUL character is JSON-valid but no PostgreSQL text can hold it.
    fn nul_in_an_id_is_refused_as_that_message_not_the_database(srv) {
        for (msg, field) in [
            (json!({ "type": "track", "userId": "a\u{0}b", "event": "demo_requested" }), "userId"),
            (json!({ "type": "track", "userId": "u1", "event": "demo\u{0}" }), "event"),
            (json!({ "type": "track", "userId": "u1", "event": "x", "messageId": "m\u{0}" }), "messageId"),
            (json!({ "type": "group", "userId": "u1", "groupId": "g\u{0}" }), "groupId"),
        ] {
            let (st, v) = srv.post_batch(&json!([{ "type": "identify", "userId": "u1" }, msg]));
            assert_eq!(st, 400, "{msg}: {v}");
            assert_eq!((v["error"]["index"].as_u64(), v["error"]["field"].as_str()), (Some(1), Some(field)), "{v}");
        }
        // In traits and properties it is data like any other (stored as JSON).
        srv.batch_ok(&json!([{ "type": "identify", "userId": "u1", "traits": { "name": "a\u{0}b" } }]));
        assert_eq!(srv.lead("u1")["attributes"]["name"], "a\u{0}b");
        assert_eq!(srv.counts(), (1, 0, 1));
    }
}

both! {
    // An id longer than PostgreSQL's index rows allow (≈2.7 kB) failed the transaction.
    fn overlong_id_is_refused_as_that_message_not_the_database(srv) {
        // Not compressible (PostgreSQL compresses long index entries).
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let long: String = (0..5000)
            .map(|_| {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                char::from(b'a' + (x >> 59) as u8 % 26)
            })
            .collect();
        for (msg, field) in [
            (json!({ "type": "track", "userId": long, "event": "demo_requested" }), "userId"),
            (json!({ "type": "track", "userId": "u1", "event": "x", "messageId": long }), "messageId"),
            (json!({ "type": "page", "anonymousId": long }), "anonymousId"),
            (json!({ "type": "group", "userId": "u1", "groupId": long }), "groupId"),
            (json!({ "type": "track", "userId": "u1", "event": long }), "event"),
        ] {
            let (st, v) = srv.post_batch(&json!([{ "type": "identify", "userId": "u1" }, msg]));
            assert_eq!(st, 400, "{field}: {v}");
            assert_eq!((v["error"]["index"].as_u64(), v["error"]["field"].as_str()), (Some(1), Some(field)), "{v}");
        }
        assert_eq!(srv.counts(), (0, 0, 0));
        // 1,000 characters are fine.
        let id = "y".repeat(1000);
        srv.batch_ok(&json!([{ "type": "page", "userId": id, "messageId": "z".repeat(1000), "properties": { "url": "/pricing" } }]));
        assert_eq!(srv.score(&id), 5.0);
    }
}
