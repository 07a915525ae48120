//! Scores through time: `?as_of=` reproduces an earlier score; a model uploaded with
//! `PUT /api/v1/model` re-scores in a background job, `as_of` before it keeps the old model,
//! history lists both and rollback restores the old scores; a bad model is a 400 with
//! line/column diagnostics.

use super::harness::{MODEL, Server, both, millis, next_second_after, rfc3339};
use serde_json::{Value, json};

/// [`MODEL`] with the demo request worth 20 instead of 10, as version 2.0.0.
fn model_v2() -> String {
    let m = MODEL
        .replace("points = 10\n", "points = 20\n")
        .replace("version = \"1.0.0\"", "version = \"2.0.0\"");
    assert_ne!(m, MODEL);
    m
}

fn lead_as_of(srv: &Server, id: &str, ms: i64) -> Value {
    srv.get_ok(&format!("/api/v1/leads/{id}?as_of={}", rfc3339(ms)))
}

/// Waits for the job an activation started, which must end `done` having scored every contact.
fn activation_done(srv: &Server, reply: &Value, contacts: i64) {
    let id = reply["job"]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no job: {reply}"));
    let job = srv.wait_job(id);
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(
        (job["total"].as_i64(), job["done"].as_i64()),
        (Some(contacts), Some(contacts)),
        "{job}"
    );
}

both! {
    fn as_of_reproduces_the_earlier_score(srv) {
        srv.batch_ok(&json!([{ "type": "track", "userId": "u1", "event": "demo_requested",
                               "messageId": "e-1", "timestamp": "2026-01-15T10:00:00Z" }]));
        let t1 = millis(&srv.lead("u1")["stored"]["updated_at"]);
        assert_eq!(srv.score("u1"), 10.0);
        next_second_after(t1);
        // Received after T1, though it happened before: as of T1 it was not known yet.
        srv.batch_ok(&json!([{ "type": "page", "userId": "u1", "messageId": "e-2",
                               "properties": { "url": "/pricing" }, "timestamp": "2026-01-10T10:00:00Z" }]));
        assert_eq!(srv.score("u1"), 15.0);
        let then = lead_as_of(&srv, "u1", t1);
        assert_eq!(then["score"], 10.0, "{then}");
        assert_eq!(then["tier"], "warm");
        assert_eq!(then["as_of"], rfc3339(t1));
        // Before the contact existed there is nothing; the present is 15.
        let (st, _) = srv.get(&format!("/api/v1/leads/u1?as_of={}", rfc3339(t1 - 3_600_000)));
        assert_eq!(st, 404);
        assert_eq!(lead_as_of(&srv, "u1", chrono::Utc::now().timestamp_millis())["score"], 15.0);
        let (st, v) = srv.get("/api/v1/leads/u1?as_of=someday");
        assert_eq!(st, 400, "{v}");
    }

    fn model_upload_rescores_and_rollback_restores(srv) {
        srv.batch_ok(&json!([
            { "type": "track", "userId": "u1", "event": "demo_requested", "messageId": "m-1" },
            { "type": "page", "userId": "u1", "messageId": "m-2", "properties": { "url": "/pricing" } },
            { "type": "page", "userId": "u2", "messageId": "m-3", "properties": { "url": "/pricing" } },
        ]));
        // v1: u1 demo 10 + pricing 5 = 15 (warm), u2 5 (cold).
        assert_eq!((srv.score("u1"), srv.score("u2")), (15.0, 5.0));
        let before = chrono::Utc::now().timestamp_millis();
        next_second_after(before);

        let (st, v) = srv.put_model(&model_v2());
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["activated"], true, "{v}");
        assert_eq!(v["model"]["version"], 2);
        activation_done(&srv, &v, 2);
        // v2: u1 demo 20 + pricing 5 = 25 (hot); u2 unchanged.
        let u1 = srv.lead("u1");
        assert_eq!((u1["score"].as_f64(), u1["tier"].as_str()), (Some(25.0), Some("hot")));
        assert_eq!(u1["stored"]["score"], 25.0);
        assert_eq!(u1["stored"]["model_version"], 2);
        assert_eq!(u1["model"]["version"], 2);
        assert_eq!(u1["model"]["model_version"], "2.0.0");
        assert_eq!(u1["history"][0]["cause"], "model v2", "{}", u1["history"]);
        assert_eq!(srv.score("u2"), 5.0);
        assert_eq!(srv.get_ok("/api/v1/leads?tier=hot")["leads"][0]["id"], "u1");
        assert_eq!(srv.stats()["model_version"], 2);
        assert_eq!(srv.get_ok("/api/v1/model")["model_version"], "2.0.0");

        // As of before the activation: the old model.
        let then = lead_as_of(&srv, "u1", before);
        assert_eq!(then["score"], 15.0, "{then}");
        assert_eq!(then["model"]["version"], 1);

        // New events are scored with v2 at once.
        srv.batch_ok(&json!([{ "type": "page", "userId": "u1", "messageId": "m-4", "properties": { "url": "/pricing" } }]));
        assert_eq!(srv.score("u1"), 30.0);

        let h = srv.get_ok("/api/v1/model/history");
        assert_eq!(h["active"], 2);
        let versions: Vec<i64> = h["versions"].as_array().unwrap().iter().map(|m| m["version"].as_i64().unwrap()).collect();
        assert_eq!(versions, [2, 1]);
        let activated: Vec<i64> = h["activations"].as_array().unwrap().iter().map(|a| a["version"].as_i64().unwrap()).collect();
        assert_eq!(activated, [2, 1]);

        let (st, v) = srv.post_read("/api/v1/model/rollback", &json!({ "note": "too generous" }));
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["activated"], 1, "{v}");
        activation_done(&srv, &v, 2);
        // v1 again: demo 10 + 2 × pricing 5 = 20 (warm); u2 5.
        let u1 = srv.lead("u1");
        assert_eq!((u1["score"].as_f64(), u1["tier"].as_str()), (Some(20.0), Some("warm")));
        assert_eq!(u1["stored"]["score"], 20.0);
        assert_eq!(u1["stored"]["model_version"], 1);
        assert_eq!(u1["history"][0]["cause"], "model v1");
        assert_eq!(srv.score("u2"), 5.0);
        let h = srv.get_ok("/api/v1/model/history");
        assert_eq!(h["active"], 1);
        let activated: Vec<i64> = h["activations"].as_array().unwrap().iter().map(|a| a["version"].as_i64().unwrap()).collect();
        assert_eq!(activated, [1, 2, 1]);
        assert_eq!(h["activations"][0]["note"], "too generous");

        // The active model survives a restart, and so do the scores.
        srv.restart();
        assert_eq!(srv.stats()["model_version"], 1);
        assert_eq!(srv.score("u1"), 20.0);
        // Activating the same content again is no new version and no job.
        let (st, v) = srv.put_model(MODEL);
        assert_eq!(st, 200, "{v}");
        assert_eq!((v["model"]["version"].as_i64(), v["activated"].as_bool()), (Some(1), Some(false)), "{v}");
        assert_eq!(srv.get_ok("/api/v1/model/history")["versions"].as_array().unwrap().len(), 2);
    }

    fn bad_model_upload_is_400_with_line_and_column(srv) {
        // Line 4 has a key the model format does not know; line 9 a category that does not exist.
        let bad = "[model]\nname = \"bad\"\nversion = \"1\"\nscael = \"raw\"\n\n[[rule]]\nid = \"r\"\npoints = 1\ncategory = \"nope\"\nwhen = { event = \"x\" }\n";
        for path in ["put", "validate"] {
            let (st, v) = if path == "put" {
                srv.put_model(bad)
            } else {
                srv.send(reqwest::blocking::Client::new()
                    .post(srv.url("/api/v1/model/validate"))
                    .bearer_auth("rk")
                    .body(bad))
            };
            assert_eq!(st, 400, "{path}: {v}");
            assert_eq!(v["error"]["code"], "invalid_model", "{v}");
            let d = v["error"]["diagnostics"].as_array().unwrap_or_else(|| panic!("{v}"));
            assert!(!d.is_empty());
            for x in d {
                assert!(x["line"].as_u64().is_some_and(|l| l >= 1) && x["column"].as_u64().is_some_and(|c| c >= 1), "{x}");
                assert!(x["message"].is_string());
            }
            assert!(d.iter().any(|x| x["line"] == 4 && x["column"] == 1), "{v}");
        }
        // Nothing stored, nothing activated.
        let h = srv.get_ok("/api/v1/model/history");
        assert_eq!(h["versions"].as_array().unwrap().len(), 1);
        assert_eq!(h["active"], 1);
        let (st, v) = srv.put_model("not toml at all [");
        assert_eq!(st, 400);
        assert!(v["error"]["diagnostics"][0]["line"].is_u64(), "{v}");
        // A good one validates.
        let (st, v) = srv.send(reqwest::blocking::Client::new()
            .post(srv.url("/api/v1/model/validate"))
            .bearer_auth("rk")
            .body(model_v2()));
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["valid"], true);
        // Rolling back with nothing to roll back to is a 409.
        let (st, v) = srv.post_read("/api/v1/model/rollback", &json!({}));
        assert_eq!(st, 409, "{v}");
    }
}

both! {
    fn stored_model_is_activated_later_by_version(srv) {
        srv.batch_ok(&json!([{ "type": "track", "userId": "u1", "event": "demo_requested" }]));
        let rb = reqwest::blocking::Client::new()
            .put(srv.url("/api/v1/model?activate=false&author=ana&note=draft"))
            .bearer_auth("rk")
            .body(model_v2());
        let (st, v) = srv.send(rb);
        assert_eq!(st, 200, "{v}");
        assert_eq!((v["activated"].as_bool(), v["model"]["version"].as_i64()), (Some(false), Some(2)), "{v}");
        assert_eq!(v["model"]["author"], "ana");
        assert_eq!(srv.score("u1"), 10.0, "stored, not active");
        let h = srv.get_ok("/api/v1/model/history");
        assert_eq!((h["active"].as_i64(), h["versions"].as_array().unwrap().len()), (Some(1), 2));

        let (st, v) = srv.post_read("/api/v1/model/activate", &json!({ "version": 2, "note": "go" }));
        assert_eq!(st, 200, "{v}");
        activation_done(&srv, &v, 1);
        assert_eq!(srv.score("u1"), 20.0);
        let (st, v) = srv.post_read("/api/v1/model/activate", &json!({ "version": 9 }));
        assert_eq!(st, 404, "{v}");
        let (st, v) = srv.post_read("/api/v1/model/activate", &json!({ "versoin": 1 }));
        assert_eq!(st, 400, "{v}");
        assert_eq!(srv.get_ok("/api/v1/model/history")["active"], 2);
    }
}
