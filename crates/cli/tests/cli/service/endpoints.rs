//! The service endpoints: `/openapi.json`, `/healthz`, `/metrics`, and unknown paths.

use super::harness::both;
use serde_json::{Value, json};

both! {
    fn openapi_lists_the_ingestion_and_rest_paths(srv) {
        let (st, text) = srv.get_text("/openapi.json");
        assert_eq!(st, 200);
        let doc: Value = serde_json::from_str(&text).expect("/openapi.json is JSON");
        assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with('3')), "{}", doc["openapi"]);
        let paths = doc["paths"].as_object().expect("paths");
        for p in ["/v1/batch", "/v1/identify", "/v1/track", "/api/v1/leads", "/api/v1/leads/{id}",
                  "/api/v1/model", "/api/v1/stats", "/healthz", "/metrics"] {
            assert!(paths.contains_key(p), "{p} in {:?}", paths.keys().collect::<Vec<_>>());
        }
        assert!(paths["/v1/batch"].get("post").is_some());
        assert!(paths["/api/v1/leads"].get("get").is_some());
    }

    fn metrics_count_ingested_events(srv) {
        srv.batch_ok(&json!([
            { "type": "track", "userId": "u1", "event": "demo_requested" },
            { "type": "page", "userId": "u1", "properties": { "url": "/pricing" } },
        ]));
        let (st, text) = srv.get_text("/metrics");
        assert_eq!(st, 200);
        let line = text.lines().find(|l| l.starts_with("leadscore_events_ingested_total"))
            .unwrap_or_else(|| panic!("no leadscore_events_ingested_total in\n{text}"));
        let n: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        assert_eq!(n, 2.0, "{line}");
    }

    fn healthz_and_unknown_paths(srv) {
        let (st, v) = srv.get_as("/healthz", super::harness::Auth::None);
        assert_eq!(st, 200);
        let backend = match srv.backend() {
            super::harness::Backend::Sqlite => "sqlite",
            super::harness::Backend::Postgres => "postgres",
        };
        assert_eq!(v, json!({ "ok": true, "backend": backend }));
        let (st, v) = srv.get("/api/v1/nothing");
        assert_eq!(st, 404);
        assert_eq!(v["error"]["code"], "not_found");
    }
}
