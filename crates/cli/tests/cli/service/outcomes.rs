//! `POST /api/v1/outcomes` (SPEC D4) on both backends: write-key auth, 400 naming the index
//! and field of a bad outcome (and storing nothing of that batch), duplicates by id stored
//! once, the lead detail listing outcomes, and a Segment `Deal Won` track recorded as one.

use super::harness::{Auth, both};
use serde_json::json;

both! {
    fn outcomes_are_recorded_once_and_listed_with_the_lead(srv) {
        srv.batch_ok(&json!([
            { "type": "identify", "userId": "u1", "messageId": "o-1", "traits": { "industry": "software" } },
        ]));
        let body = json!({ "outcomes": [
            { "contact_id": "u1", "kind": "opportunity_created", "stage": "demo", "id": "x1",
              "timestamp": "2026-01-10T00:00:00Z" },
            { "contact_id": "u1", "kind": "lost", "reason": "no budget", "amount": 1200.5, "id": "x2",
              "timestamp": "2026-01-20T00:00:00Z" },
        ]});
        let (st, v) = srv.post("/api/v1/outcomes", &body);
        assert_eq!((st, v.clone()), (200, json!({ "success": true, "accepted": 2, "duplicates": 0 })), "{v}");
        let (st, v) = srv.post("/api/v1/outcomes", &body);
        assert_eq!((st, v.clone()), (200, json!({ "success": true, "accepted": 0, "duplicates": 2 })), "{v}");

        // A bad second outcome: 400 naming it, and the first of that batch is not stored.
        let (st, v) = srv.post("/api/v1/outcomes", &json!({ "outcomes": [
            { "contact_id": "u1", "kind": "won", "id": "x3" },
            { "contact_id": "u1", "kind": "maybe", "id": "x4" },
        ]}));
        assert_eq!(st, 400, "{v}");
        assert_eq!((v["error"]["index"].as_u64(), v["error"]["field"].as_str()), (Some(1), Some("kind")), "{v}");
        let (st, v) = srv.post("/api/v1/outcomes", &json!({ "outcomes": [
            { "contact_id": "u1", "kind": "won", "amount": "lots" },
        ]}));
        assert_eq!(st, 400, "{v}");
        assert_eq!((v["error"]["index"].as_u64(), v["error"]["field"].as_str()), (Some(0), Some("amount")), "{v}");
        // The write key only.
        let (st, _) = srv.post_as("/api/v1/outcomes", &body, Auth::Bearer("rk"));
        assert_eq!(st, 401);

        // A Segment `Deal Won` track becomes an outcome with its properties.
        srv.batch_ok(&json!([
            { "type": "track", "userId": "u1", "event": "Deal Won", "messageId": "o-2",
              "timestamp": "2026-02-01T00:00:00Z",
              "properties": { "amount": 5000, "stage": "closed", "reason": "champion" } },
        ]));
        let lead = srv.lead("u1");
        let list = lead["outcomes"].as_array().unwrap_or_else(|| panic!("{lead}"));
        let seen: Vec<_> = list
            .iter()
            .map(|o| (o["id"].as_str().unwrap(), o["kind"].as_str().unwrap(), o["timestamp"].as_str().unwrap()))
            .collect();
        assert_eq!(seen, [
            ("x1", "opportunity_created", "2026-01-10T00:00:00.000Z"),
            ("x2", "lost", "2026-01-20T00:00:00.000Z"),
            ("o-2", "won", "2026-02-01T00:00:00.000Z"),
        ]);
        assert_eq!((list[0]["stage"].as_str(), list[0]["amount"].as_f64()), (Some("demo"), None));
        assert_eq!((list[1]["reason"].as_str(), list[1]["amount"].as_f64()), (Some("no budget"), Some(1200.5)));
        assert_eq!(
            (list[2]["stage"].as_str(), list[2]["amount"].as_f64(), list[2]["reason"].as_str()),
            (Some("closed"), Some(5000.0), Some("champion"))
        );
        // The raw message is in the event log too.
        assert!(lead["recent_events"].as_array().unwrap().iter().any(|e| e["message_id"] == "o-2"), "{lead}");
        // Sending the track again records nothing twice.
        srv.batch_ok(&json!([
            { "type": "track", "userId": "u1", "event": "Deal Won", "messageId": "o-2",
              "timestamp": "2026-02-01T00:00:00Z", "properties": { "amount": 5000 } },
        ]));
        assert_eq!(srv.lead("u1")["outcomes"].as_array().unwrap().len(), 3);
    }
}
