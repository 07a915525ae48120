//! `leadscore import` into a stopped server's SQLite data dir, then `serve`: the leads are
//! there with their exact scores; a bad line stops the import with `file:line: column` and
//! stores nothing. Also the HTTP twin, `POST /api/v1/import`.

use super::harness::{Auth, Backend, Opts, Server, both};
use crate::common::leadscore;

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

both! {
    fn import_over_http_is_all_or_nothing(srv) {
        let post = |kind: &str, body: &str| {
            srv.post_bytes(&format!("/api/v1/import?kind={kind}&format=csv"), body.as_bytes().to_vec(), false, Auth::Write)
        };
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
