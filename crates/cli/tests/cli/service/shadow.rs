//! Champion/challenger and drift over HTTP on both backends: setting, reading and removing the
//! challenger (`/api/v1/model/challenger`), the comparison on won/lost outcomes with the AUC
//! worked out by hand, and `/api/v1/model/drift` against the baseline recorded on activation
//! (empty without outcomes, then recorded again by the next full re-score); the back-fill of
//! the contacts there before the challenger was set; the closed loop (`/api/v1/model/evaluation`),
//! each contact scored as before its first outcome.

use super::harness::{MODEL, Server, both};
use serde_json::{Value, json};

both! {
    fn a_challenger_is_scored_in_shadow_and_compared_over_http(srv) {
        // v2 (active): `software` worth 30 (hot). v1 becomes the challenger: `software` worth 3.
        let (st, v) = srv.put_model(&MODEL.replace("points = 3\n", "points = 30\n").replace("1.0.0", "2.0.0"));
        assert_eq!(st, 200, "{v}");
        srv.wait_job(v["job"]["id"].as_i64().unwrap());
        // v2's baseline, recorded once its re-score is done: no outcomes yet.
        let d = srv.get_ok("/api/v1/model/drift");
        assert_eq!((d["version"].as_i64(), &d["tiers"], &d["alert"]), (Some(2), &json!([]), &json!(false)), "{d}");
        assert_eq!(
            (&d["baseline"]["source"], &d["baseline"]["contacts"], &d["baseline"]["won"]),
            (&json!("rescore: model v2"), &json!(0), &json!(0)),
            "{d}"
        );
        let first_recorded = d["baseline"]["recorded_at"].clone();
        let (st, v) = srv.get("/api/v1/model/challenger");
        assert_eq!(st, 404, "no challenger yet: {v}");
        let (st, v) = srv.post_read("/api/v1/model/challenger", &json!({ "version": 9 }));
        assert_eq!(st, 404, "{v}");
        let (st, v) = srv.post_read("/api/v1/model/challenger", &json!({ "version": 1 }));
        assert_eq!((st, v["challenger"]["version"].as_i64()), (200, Some(1)), "{v}");

        srv.batch_ok(&json!([
            { "type": "identify", "userId": "u1", "messageId": "s-1", "traits": { "industry": "software" } },
            { "type": "identify", "userId": "u2", "messageId": "s-2", "traits": { "industry": "retail" } },
            { "type": "identify", "userId": "u3", "messageId": "s-3", "traits": { "industry": "software" } },
        ]));
        u1_won_u2_u3_lost(&srv);

        // Champion: won u1 30; lost u2 0, u3 30. u1 > u2 (1) and u1 = u3 (½): 1.5 / 2 = 0.75.
        // The challenger (3, 0, 3) ranks them the same way.
        let c = compared(&srv, 0.75);
        assert_eq!((c["champion"]["version"].as_i64(), c["challenger"]["version"].as_i64()), (Some(2), Some(1)));
        assert_eq!(c["transitions"], json!([
            { "from": "cold", "to": "cold", "count": 1 },
            { "from": "hot", "to": "cold", "count": 2 },
        ]), "{c}");
        // u1's two deals brought 1,500 (u3's lost deal's amount is no revenue); neither model
        // makes anyone sales-ready here, so neither side's qualified leads hold any of it.
        assert_eq!(c["revenue"], 1500.0, "{c}");
        assert_eq!(c["champion"]["qualified_revenue_share"], 0.0, "{c}");
        assert_eq!(c["challenger"]["qualified_revenue_share"], 0.0, "{c}");

        // Drift against the empty baseline: no tier has a baseline rate, so none drifts.
        let d = srv.get_ok("/api/v1/model/drift?tolerance=0.1&min_n=1");
        assert_eq!(d["alert"], false, "{d}");
        assert_eq!(d["tiers"], json!([
            { "tier": "cold", "baseline": null, "current": 0.0, "n": 1, "revenue": 0.0, "revenue_share": 0.0, "drifted": false },
            { "tier": "hot", "baseline": null, "current": 0.5, "n": 2, "revenue": 1500.0, "revenue_share": 1.0, "drifted": false },
        ]), "{d}");
        assert_eq!((&d["baseline"]["recorded_at"], &d["baseline"]["contacts"]), (&first_recorded, &json!(0)), "{d}");

        // The next full re-score records the empty baseline again, from the outcomes now.
        let (st, v) = srv.post_read("/api/v1/rescore", &json!({}));
        assert_eq!(st, 202, "{v}");
        let job = srv.wait_job(manual_job(&srv));
        assert_eq!((&job["state"], &job["done"]), (&json!("done"), &json!(3)), "{job}");
        let d = srv.get_ok("/api/v1/model/drift?tolerance=0.1&min_n=1");
        assert_eq!(d["tiers"], json!([
            { "tier": "cold", "baseline": 0.0, "current": 0.0, "n": 1, "revenue": 0.0, "revenue_share": 0.0, "drifted": false },
            { "tier": "hot", "baseline": 0.5, "current": 0.5, "n": 2, "revenue": 1500.0, "revenue_share": 1.0, "drifted": false },
        ]), "{d}");
        assert_eq!(
            (&d["baseline"]["source"], &d["baseline"]["contacts"], &d["baseline"]["won"]),
            (&json!("rescore: manual"), &json!(3), &json!(1)),
            "{d}"
        );
        assert_ne!(d["baseline"]["recorded_at"], first_recorded, "{d}");

        let (st, v) = srv.delete("/api/v1/model/challenger");
        assert_eq!((st, v["removed"].as_i64()), (200, Some(1)), "{v}");
        let (st, _) = srv.get("/api/v1/model/challenger");
        assert_eq!(st, 404);
    }
}

/// Records u1 won (two deals, 1,200 and 300), u2 and u3 lost (u3's lost deal's amount is not
/// revenue).
fn u1_won_u2_u3_lost(srv: &Server) {
    let (st, v) = srv.post(
        "/api/v1/outcomes",
        &json!({ "outcomes": [
            { "contact_id": "u1", "kind": "won", "id": "w1", "amount": 1200 },
            { "contact_id": "u1", "kind": "won", "id": "w1b", "amount": 300.0 },
            { "contact_id": "u2", "kind": "lost", "id": "l2" },
            { "contact_id": "u3", "kind": "lost", "id": "l3", "amount": 5000 },
        ]}),
    );
    assert_eq!(st, 200, "{v}");
}

/// The comparison, checked to cover u1 (won), u2 and u3 (lost) with `auc` on both sides.
fn compared(srv: &Server, auc: f64) -> Value {
    let c = srv.get_ok("/api/v1/model/challenger");
    let counts = (
        c["won"].as_u64(),
        c["lost"].as_u64(),
        c["unscored"].as_u64(),
    );
    assert_eq!(counts, (Some(1), Some(2), Some(0)), "{c}");
    for side in ["champion", "challenger"] {
        let s = (c[side]["count"].as_u64(), c[side]["auc"].as_f64());
        assert_eq!(s, (Some(3), Some(auc)), "{c}");
    }
    c
}

/// The id of the workspace's `manual` re-score job, once `POST /api/v1/rescore` has started it.
fn manual_job(srv: &Server) -> i64 {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let jobs = srv.get_ok("/api/v1/jobs");
        if let Some(j) = jobs["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|j| j["cause"] == "manual")
        {
            return j["id"].as_i64().unwrap();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no manual job: {jobs}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

both! {
    fn setting_a_challenger_back_fills_the_contacts_there_before(srv) {
        // v2 (active): `software` worth 30. Three contacts exist before v1 becomes the
        // challenger: u1 software (30), u2 retail (0), u3 software with 500 employees (32).
        let (st, v) = srv.put_model(&MODEL.replace("points = 3\n", "points = 30\n").replace("1.0.0", "2.0.0"));
        assert_eq!(st, 200, "{v}");
        srv.wait_job(v["job"]["id"].as_i64().unwrap());
        srv.batch_ok(&json!([
            { "type": "identify", "userId": "u1", "messageId": "b-1", "traits": { "industry": "software" } },
            { "type": "identify", "userId": "u2", "messageId": "b-2", "traits": { "industry": "retail" } },
            { "type": "identify", "userId": "u3", "messageId": "b-3", "traits": { "industry": "software", "employees": 500 } },
        ]));
        let (st, v) = srv.post_read("/api/v1/model/challenger", &json!({ "version": 1 }));
        assert_eq!(st, 200, "{v}");
        assert_eq!((&v["job"]["kind"], &v["job"]["cause"], &v["job"]["total"]), (&json!("backfill"), &json!("challenger v1"), &json!(3)), "{v}");
        let job = srv.wait_job(v["job"]["id"].as_i64().unwrap());
        assert_eq!((&job["state"], &job["done"], &job["model_version"]), (&json!("done"), &json!(3), &json!(1)), "{job}");

        u1_won_u2_u3_lost(&srv);
        // Every contact has the challenger's score (3, 0, 5) although none had an event since.
        // Champion: won u1 30; lost u2 0, u3 32: ½. Challenger: u1 3 against 0 and 5: ½.
        let c = compared(&srv, 0.5);
        assert_eq!(c["transitions"], json!([
            { "from": "cold", "to": "cold", "count": 1 },
            { "from": "hot", "to": "cold", "count": 2 },
        ]), "{c}");
        // The champion's scores and history are the batch's, untouched by the back-fill.
        let u3 = srv.lead("u3");
        assert_eq!((u3["score"].as_f64(), u3["history"].as_array().map(Vec::len)), (Some(32.0), Some(1)), "{u3}");
    }
}

both! {
    fn the_closed_loop_scores_each_contact_as_before_its_outcome_over_http(srv) {
        srv.batch_ok(&json!([
            { "type": "identify", "userId": "u1", "messageId": "c-1", "timestamp": "2026-01-01T00:00:00Z", "traits": { "industry": "software" } },
            { "type": "identify", "userId": "u2", "messageId": "c-2", "timestamp": "2026-01-01T00:00:00Z", "traits": { "industry": "software" } },
            { "type": "identify", "userId": "u3", "messageId": "c-3", "timestamp": "2026-01-01T00:00:00Z", "traits": { "industry": "retail" } },
            { "type": "track", "userId": "u1", "messageId": "c-4", "event": "demo_requested", "timestamp": "2026-01-02T00:00:00Z" },
            // u2 asks for a demo only after its deal was lost: not counted.
            { "type": "track", "userId": "u2", "messageId": "c-5", "event": "demo_requested", "timestamp": "2026-02-01T00:00:00Z" },
        ]));
        let path = "/api/v1/model/evaluation?as_of=2026-03-01";
        let (st, v) = srv.get(path);
        assert_eq!((st, &v["error"]["code"]), (409, &json!("conflict")), "no outcome yet: {v}");
        let (st, v) = srv.post(
            "/api/v1/outcomes",
            &json!({ "outcomes": [
                { "contact_id": "u1", "kind": "won", "id": "cw1", "amount": 1200, "timestamp": "2026-01-10T00:00:00Z" },
                { "contact_id": "u2", "kind": "lost", "id": "cl2", "timestamp": "2026-01-10T00:00:00Z" },
            ]}),
        );
        assert_eq!(st, 200, "{v}");
        let e = srv.get_ok(path);
        let all = &e["reports"][0];
        assert_eq!((&all["rows"], &all["converted"]), (&json!(3), &json!(1)), "{e}");
        // u1 (software + its demo) above u2 (software: its demo came after the loss) and u3;
        // with u2's demo counted they would tie.
        assert_eq!(all["roc_auc"], 1.0, "{e}");
        assert_eq!(all["revenue"], 1200.0, "{e}");
        assert_eq!(all["deals"], json!({ "won": 1, "lost": 1, "win_rate": 0.5 }), "{e}");
        assert!(e["model"].as_str().unwrap().starts_with("svc-test@1.0.0 (version 1,"), "{e}");
        // Against a version (here itself): its AUC; the paired difference needs two won and
        // two other contacts (one won here).
        let e = srv.get_ok(&format!("{path}&against=1"));
        assert_eq!((&e["against"]["roc_auc"], &e["against"]["difference"]), (&json!(1.0), &json!(null)), "{e}");
        let (st, v) = srv.get(&format!("{path}&against=7"));
        assert_eq!(st, 404, "{v}");
        // The same report as a page.
        let (st, kind, page) = srv.get_text_read(&format!("{path}&format=html"));
        assert_eq!((st, kind.as_str()), (200, "text/html; charset=utf-8"));
        assert!(page.starts_with("<!doctype html>") && page.contains("revenue: 1,200"), "{page}");
        // Bad parameters are 400s naming them; an unknown version is a 404.
        // Only contacts first seen before 2025: none.
        let (st, v) = srv.get(&format!("{path}&created_before=2025-01-01"));
        assert_eq!(st, 409, "{v}");
        for (query, field) in [("format=pdf", "format"), ("target=revenue", "target"), ("as_of=soon", "as_of"), ("created_before=soon", "created_before")] {
            let (st, v) = srv.get(&format!("/api/v1/model/evaluation?{query}"));
            assert_eq!(st, 400, "{query}: {v}");
            assert!(v["error"]["message"].as_str().unwrap().starts_with(field), "{v}");
        }
        let (st, v) = srv.get("/api/v1/model/evaluation?version=9");
        assert_eq!(st, 404, "{v}");
    }
}
