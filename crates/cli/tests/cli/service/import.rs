//! `leadscore import` into a stopped server's SQLite data dir, then `serve`: the leads are
//! there with their exact scores; a bad line stops the import with `file:line: column` and
//! stores nothing. Also the HTTP twin, `POST /api/v1/import`, and outcomes files over HTTP
//! (CSV and NDJSON, exact stored outcomes, a bad line storing nothing).

use super::harness::{Auth, Backend, Opts, Server, both};
use crate::common::leadscore;
use serde_json::{Value, json};

const CONTACTS: &str = "id,account_id,industry,employees\nc1,acme,software,250\nc2,,retail,10\n";

const EVENTS: &str = "contact_id,event,timestamp,url
c1,demo_requested,2026-01-15T10:00:00Z,
c1,page_view,2026-01-16T10:00:00Z,https://example.com/pricing
c2,page_view,2026-01-17T10:00:00Z,https://example.com/pricing
";

/// Line 3 (the second data row) has a timestamp that is none.
const BAD_EVENTS: &str = "contact_id,event,timestamp,url
c1,demo_requested,2026-01-15T10:00:00Z,
c1,page_view,yesterday,https://example.com/pricing
";

fn import(srv: &Server, contacts: &str, events: &str) -> crate::common::Run {
    let c = srv.scratch().join("contacts.csv");
    let e = srv.scratch().join("events.csv");
    std::fs::write(&c, contacts).unwrap();
    std::fs::write(&e, events).unwrap();
    let dir = srv.data_dir();
    leadscore(&[
        "import".as_ref(),
        "--contacts".as_ref(),
        c.as_os_str(),
        "--events".as_ref(),
        e.as_os_str(),
        "--workspace".as_ref(),
        "default".as_ref(),
        "--data-dir".as_ref(),
        dir.as_os_str(),
    ])
}

fn assert_imported(srv: &Server) {
    // c1: demo 10 + pricing 5 + software 3 + size 2 (250 employees) = 20, warm; in acme.
    // c2: pricing 5 (retail, 10 employees), cold.
    let c1 = srv.lead("c1");
    assert_eq!(
        (c1["score"].as_f64(), c1["tier"].as_str()),
        (Some(20.0), Some("warm")),
        "{c1}"
    );
    assert_eq!(c1["account_id"], "acme");
    assert_eq!(c1["stored"]["score"], 20.0);
    assert_eq!(c1["stored"]["events"], 2);
    let c2 = srv.lead("c2");
    assert_eq!(
        (c2["score"].as_f64(), c2["tier"].as_str()),
        (Some(5.0), Some("cold")),
        "{c2}"
    );
    // Two identifies, one group (c1's account), three tracks.
    assert_eq!(srv.counts(), (2, 1, 6));
}

#[test]
fn import_into_a_stopped_server_then_serve() {
    let mut srv = Server::start(Backend::Sqlite, Opts::default());
    srv.kill();
    let run = import(&srv, CONTACTS, EVENTS).ok();
    assert!(run.stdout.contains("3 stored"), "{run:?}");
    srv.restart();
    assert_imported(&srv);
    // Importing the same files again stores nothing twice.
    srv.kill();
    let run = import(&srv, CONTACTS, EVENTS).ok();
    assert!(run.stdout.contains("0 stored"), "{run:?}");
    srv.restart();
    assert_imported(&srv);
}

// Regression: with --contacts and --events, the contacts were stored before the events file
// was read, so a bad timestamp in it left half an import behind.
#[test]
fn bad_events_file_leaves_no_contacts_imported_either() {
    let mut srv = Server::start(Backend::Sqlite, Opts::default());
    srv.kill();
    let run = import(&srv, CONTACTS, BAD_EVENTS).failed();
    assert!(
        run.stderr.contains("events.csv:3: column `timestamp`"),
        "{run:?}"
    );
    srv.restart();
    assert_eq!(srv.counts(), (0, 0, 0), "nothing of the import is stored");
}

/// `POST /api/v1/import?{query}` with the write key.
fn post_import(srv: &Server, query: &str, body: &str) -> (u16, Value) {
    srv.post_bytes(
        &format!("/api/v1/import?{query}"),
        body.as_bytes().to_vec(),
        false,
        Auth::Write,
    )
}

both! {
    fn import_over_http_is_all_or_nothing(srv) {
        let post = |kind: &str, body: &str| post_import(&srv, &format!("kind={kind}&format=csv"), body);
        let (st, v) = post("events", BAD_EVENTS);
        assert_eq!(st, 400, "{v}");
        assert!(v["error"]["message"].as_str().unwrap().contains("events.csv:3: column `timestamp`"), "{v}");
        assert_eq!(srv.counts(), (0, 0, 0));
        let (st, v) = post("contacts", CONTACTS);
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["accepted"], 3);
        let (st, v) = post("events", EVENTS);
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["accepted"], 3);
        assert_imported(&srv);
        let (st, v) = srv.post_bytes("/api/v1/import?kind=contacts&format=ndjson",
            b"{\"id\": \"c3\", \"traits\": {\"industry\": \"software\"}}\n".to_vec(), false, Auth::Write);
        assert_eq!(st, 200, "{v}");
        assert_eq!(srv.score("c3"), 3.0);
    }
}

/// The outcomes of a lead as `(id, kind, stage, amount, reason, timestamp)`.
fn outcomes_of(srv: &Server, id: &str) -> Vec<(String, String, Value, Value, Value, String)> {
    let lead = srv.lead(id);
    let list = lead["outcomes"]
        .as_array()
        .unwrap_or_else(|| panic!("{lead}"));
    list.iter()
        .map(|o| {
            (
                o["id"].as_str().unwrap().to_owned(),
                o["kind"].as_str().unwrap().to_owned(),
                o["stage"].clone(),
                o["amount"].clone(),
                o["reason"].clone(),
                o["timestamp"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

const OUTCOMES_CSV: &str = "contact_id,kind,stage,amount,reason,timestamp,id
c1,opportunity_created,demo,,,2026-02-01T00:00:00Z,opp-1
c1,won,closed,12000.5,champion,2026-03-01T12:00:00Z,deal-1
c2,lost,,,no budget,2026-02-15T00:00:00Z,
";

/// Line 3 has an amount that is not a number; line 2 is fine but must not be stored.
const BAD_OUTCOMES_CSV: &str = "contact_id,kind,amount,timestamp
c2,won,10,2026-04-01T00:00:00Z
c2,won,lots,2026-04-02T00:00:00Z
";

both! {
    fn outcomes_files_are_imported_over_http_all_or_nothing(srv) {
        let post = |query: &str, body: &str| post_import(&srv, query, body);
        let (st, v) = post("kind=contacts", CONTACTS);
        assert_eq!(st, 200, "{v}");
        let none = Value::Null;

        // A bad CSV line: 400 naming the file, line and column; nothing of the file stored.
        let (st, v) = post("kind=outcomes&format=csv", BAD_OUTCOMES_CSV);
        assert_eq!(st, 400, "{v}");
        let e = &v["error"];
        assert_eq!(
            (e["code"].as_str(), e["file"].as_str(), e["line"].as_u64(), e["field"].as_str()),
            (Some("invalid_file"), Some("outcomes.csv"), Some(3), Some("amount")),
            "{v}"
        );
        assert_eq!(e["message"], "outcomes.csv:3: column `amount`: `lots` is not a number", "{v}");
        assert_eq!(outcomes_of(&srv, "c2"), []);

        let (st, v) = post("kind=outcomes", OUTCOMES_CSV);
        assert_eq!((st, v.clone()), (200, json!({ "success": true, "accepted": 3, "duplicates": 0, "rescored": 0 })), "{v}");
        // The same file again: every row is a duplicate (c2's row by its content's id).
        let (st, v) = post("kind=outcomes", OUTCOMES_CSV);
        assert_eq!((st, v.clone()), (200, json!({ "success": true, "accepted": 0, "duplicates": 3, "rescored": 0 })), "{v}");
        assert_eq!(outcomes_of(&srv, "c1"), [
            ("opp-1".into(), "opportunity_created".into(), json!("demo"), none.clone(), none.clone(), "2026-02-01T00:00:00.000Z".into()),
            ("deal-1".into(), "won".into(), json!("closed"), json!(12000.5), json!("champion"), "2026-03-01T12:00:00.000Z".into()),
        ]);
        let c2 = outcomes_of(&srv, "c2");
        assert_eq!(c2.len(), 1, "{c2:?}");
        assert!(c2[0].0.starts_with("import-o-"), "{c2:?}");
        assert_eq!(
            (c2[0].1.as_str(), &c2[0].2, &c2[0].3, &c2[0].4, c2[0].5.as_str()),
            ("lost", &none, &none, &json!("no budget"), "2026-02-15T00:00:00.000Z")
        );

        // NDJSON: the API's outcome objects, one a line. A bad kind on line 3 (after a blank
        // line) stores nothing of the file, not even line 1.
        let bad = "{\"contact_id\": \"c2\", \"kind\": \"won\", \"id\": \"n-1\"}\n\n{\"contact_id\": \"c2\", \"kind\": \"maybe\"}\n";
        let (st, v) = post("kind=outcomes&format=ndjson&name=crm.ndjson", bad);
        assert_eq!(st, 400, "{v}");
        let e = &v["error"];
        assert_eq!(
            (e["file"].as_str(), e["line"].as_u64(), e["field"].as_str()),
            (Some("crm.ndjson"), Some(3), Some("kind")),
            "{v}"
        );
        assert!(e["message"].as_str().unwrap().starts_with("crm.ndjson:3: column `kind`: `maybe`"), "{v}");
        let (st, v) = post("kind=outcomes&format=ndjson", "{\"contact_id\": \"c2\", \"kind\": \"won\", \"amount\": \"10\"}\n");
        assert_eq!((st, v["error"]["line"].as_u64(), v["error"]["field"].as_str()), (400, Some(1), Some("amount")), "{v}");
        let (st, v) = post("kind=outcomes&format=ndjson", "not json\n");
        assert_eq!((st, v["error"]["line"].as_u64(), &v["error"]["field"]), (400, Some(1), &none), "{v}");
        assert_eq!(outcomes_of(&srv, "c2").len(), 1, "nothing of the bad files stored");

        let good = "{\"contact_id\": \"c2\", \"kind\": \"won\", \"amount\": 900, \"id\": \"n-1\", \"timestamp\": \"2026-05-01T00:00:00Z\"}\n";
        let (st, v) = post("kind=outcomes&format=ndjson", good);
        assert_eq!((st, v["accepted"].as_u64()), (200, Some(1)), "{v}");
        let c2 = outcomes_of(&srv, "c2");
        assert_eq!(c2.len(), 2, "{c2:?}");
        assert_eq!(c2[1], ("n-1".into(), "won".into(), none.clone(), json!(900.0), none.clone(), "2026-05-01T00:00:00.000Z".into()));
        // The write key only; an unknown kind names the field.
        let (st, _) = srv.post_bytes("/api/v1/import?kind=outcomes", good.as_bytes().to_vec(), false, Auth::Bearer("rk"));
        assert_eq!(st, 401);
        let (st, v) = post("kind=deals", good);
        assert_eq!((st, v["error"]["field"].as_str()), (400, Some("kind")), "{v}");
    }
}
