//! CSV and NDJSON inputs and outputs, account roll-ups, and explaining one contact.

use crate::common::*;
use leadscore_batch::{Format, NoProgress, score_files};
use leadscore_core::Status;
use serde_json::{Value, json};

/// The encharge contacts as NDJSON: attributes at the top level, under `traits` or under
/// `attributes`; numbers as JSON numbers; a null is a missing value.
const CONTACTS_NDJSON: &str = r#"{"id":"c1","account_id":"a1","traits":{"country":"US","city":"New York","age":30,"role":"CEO","employees":50,"purchase_authority":"decision_maker"}}
{"id":"c2","account_id":"a1","country":"UK","city":"Paris","attributes":{"age":50,"role":"CMO","employees":10},"purchase_authority":"influencer"}

{"id":"c3","account_id":"a2","traits":{"country":"DE","city":"Berlin","age":null,"role":"student","employees":"200"}}
{"id":"c4","account_id":"a2","traits":{"country":"US","city":"London","age":40.0,"role":"Engineer","employees":25,"purchase_authority":"decision_maker"}}
{"id":"c5","traits":{"country":"FR","purchase_authority":"none"}}
"#;

/// The encharge events as NDJSON, `campaign` nested under `properties` or at the top level.
const EVENTS_NDJSON: &str = r#"{"contact_id":"c1","event":"email_open","timestamp":"2026-05-27T10:00:00Z"}
{"contact_id":"c1","event":"email_click","timestamp":"2026-05-20T09:00:00Z","properties":{"campaign":"nurturing"}}
{"contact_id":"c1","event":"email_click","timestamp":"2026-05-21T09:00:00Z","properties":{"campaign":"product"}}
{"contact_id":"c1","event":"email_reply","timestamp":"2026-05-22T11:00:00+02:00","properties":{"campaign":"sales","extra":{"deep":[1,2]}}}
{"contact_id":"c1","event":"trial_signup","timestamp":"2026-05-23T09:00:00Z"}
{"contact_id":"c1","event":"task_created","timestamp":"2026-05-24T09:00:00Z"}
{"contact_id":"c1","event":"task_created","timestamp":"2026-05-25T09:00:00Z"}
{"contact_id":"c1","event":"task_created","timestamp":"2026-05-26T09:00:00Z"}
{"contact_id":"c1","event":"call_booked","timestamp":"2026-05-30T15:30:00.000Z"}
{"contact_id":"c2","event":"page_view","timestamp":"2026-05-22T08:00:00Z","properties":{"url":"/pricing"}}
{"contact_id":"c2","event":"task_created","timestamp":"2026-05-10T08:00:00Z"}
{"contact_id":"c2","event":"linkedin_click","timestamp":"2026-04-01T08:00:00Z"}
{"contact_id":"c2","event":"demo_cancelled","timestamp":"2026-05-15T08:00:00Z"}
{"contact_id":"c2","event":"email_reply","timestamp":"2026-05-16T08:00:00Z","campaign":"nurturing"}
{"contact_id":"c3","event":"email_open","timestamp":"2026-05-31T23:59:59Z"}

{"contact_id":"c3","event":"trial_signup","timestamp":"2026-05-01T00:00:00Z"}
{"contact_id":"c4","event":"email_open","timestamp":"2026-03-01T00:00:00Z"}
{"contact_id":"c5","event":"page_view","timestamp":"2026-05-31T00:00:00Z"}
{"contact_id":"c5","event":"email_unsubscribed","timestamp":"2026-05-28T00:00:00Z"}
{"contact_id":"c5","event":"facebook_click","timestamp":"2026-05-29T00:00:00Z"}
{"contact_id":"c5","event":"webinar_attended","timestamp":"2026-05-29T00:00:00Z"}
{"contact_id":"c1","event":"call_booked","timestamp":"2026-06-02T00:00:00Z"}
"#;

#[test]
fn ndjson_inputs_score_exactly_like_csv() {
    let m = example("encharge.toml");
    let dir = Dir::new();
    let mut j = job(&dir.write("contacts.ndjson", CONTACTS_NDJSON));
    j.events = Some(dir.write("events.jsonl", EVENTS_NDJSON));
    let (out, summary) = run(&j, &m);
    assert_eq!(out, encharge_output(&m));
    assert_eq!(summary.events.rows, 22);
    assert_eq!(summary.events.used, 21);
    assert_eq!(summary.events.after_as_of, 1);
}

#[test]
fn input_format_flag_overrides_the_extension() {
    let m = example("encharge.toml");
    let dir = Dir::new();
    let mut j = job(&dir.write("contacts.txt", CONTACTS_NDJSON));
    j.events = Some(dir.write("events.txt", EVENTS_NDJSON));
    j.input_format = Some(Format::Ndjson);
    assert_eq!(run(&j, &m).0, encharge_output(&m));

    // The same files read as CSV: the first "column" is a JSON fragment, not `id`.
    j.input_format = Some(Format::Csv);
    let e = err_text(&j, &m);
    assert!(
        e.starts_with(&format!(
            "{}:1: the header has no `id` column (found: {{\"id\":\"c1\"",
            dir.path("contacts.txt").display()
        )),
        "{e}"
    );
}

#[test]
fn ndjson_events_with_numbers_and_booleans_as_json_scalars() {
    let m = model(
        r#"
        [model]
        name = "props"
        version = "1"
        scale = "raw"
        [[category]]
        id = "buy"
        [[rule]]
        id = "big-order"
        category = "buy"
        points = 10
        when = { event = "order", where = { field = "amount", gte = 100 } }
        per_occurrence = true
        [[rule]]
        id = "renewal"
        category = "buy"
        points = 1
        when = { event = "order", where = { field = "renewal", equals = true } }
        [[tier]]
        name = "all"
        "#,
    );
    let dir = Dir::new();
    let mut j = job(&dir.write("contacts.csv", "id\nx\ny\n"));
    j.events = Some(dir.write(
        "events.ndjson",
        r#"{"contact_id":"x","event":"order","timestamp":"2026-05-01T00:00:00Z","properties":{"amount":150,"renewal":true}}
{"contact_id":"x","event":"order","timestamp":"2026-05-02T00:00:00Z","amount":"99.5"}
{"contact_id":"x","event":"order","timestamp":"2026-05-03T00:00:00Z","properties":{"amount":1e3}}
{"contact_id":"y","event":"order","timestamp":"2026-05-03T00:00:00Z","properties":{"amount":null,"renewal":"no"}}
"#,
    ));
    let t = Table::parse(&run(&j, &m).0);
    assert_eq!(t.get("x", "score"), "21");
    assert_eq!(t.get("y", "score"), "0");
}

#[test]
fn ndjson_output_carries_the_full_explanation() {
    let m = example("encharge.toml");
    let dir = Dir::new();
    let (out, _) = run_format(&encharge_job(&dir), &m, Format::Ndjson);
    let rows: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(out.ends_with('\n'));
    let ids: Vec<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["c1", "c2", "c3", "c4", "c5"]);

    let c1 = &rows[0];
    assert_eq!(c1["score"], json!(71.0));
    assert_eq!(c1["tier"], "mql");
    assert_eq!(c1["status"], "qualified");
    assert_eq!(c1["segment"], "default");
    assert_eq!(c1["percentile"], json!(66.67));
    assert_eq!(c1["sales_ready"], json!(["tier mql"]));
    assert_eq!(c1["account_id"], "a1");
    assert_eq!(c1["as_of"], AS_OF);
    assert_eq!(c1["grade"], Value::Null);
    assert_eq!(c1["account_score"], Value::Null);
    assert_eq!(
        c1["top_reasons"],
        "Booked a call (+20); Signed up for a trial (+15); 25 or more employees (+10)"
    );
    assert_eq!(c1["model"]["name"], "encharge");
    assert_eq!(c1["model"]["version"], "1.0.0");
    assert_eq!(c1["model"]["hash"], m.reference().hash.as_str());
    let cats: Vec<(&str, f64)> = c1["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_str().unwrap(), c["points"].as_f64().unwrap()))
        .collect();
    assert_eq!(
        cats,
        [("explicit", 28.0), ("behaviour", 43.0), ("negative", 0.0)]
    );
    let rules: Vec<&str> = c1["contributions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["rule"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules,
        [
            "country-us-uk",
            "city-ny-london",
            "age-25-45",
            "role-ceo-cmo",
            "employees-25",
            "decision-maker",
            "nurture-click",
            "sales-reply",
            "trial-signup",
            "task-twice",
            "call-booked"
        ]
    );
    let call = &c1["contributions"][10];
    assert_eq!(call["points"], json!(20.0));
    assert_eq!(call["kind"], "implicit");
    assert_eq!(call["last_event_at"], "2026-05-30T15:30:00Z");
    assert_eq!(
        c1["last_interesting_moment"],
        json!({"at": "2026-05-30T15:30:00Z", "event": "call_booked", "rule": "call-booked", "label": "Booked a call"})
    );

    let c3 = &rows[2];
    assert_eq!(c3["status"], "disqualified");
    assert_eq!(c3["percentile"], Value::Null);
    assert_eq!(c3["sales_ready"], json!([]));
    assert_eq!(
        c3["disqualified_by"],
        json!([{"rule": "student-or-unemployed", "reason": "Role is student or unemployed"}])
    );
    assert_eq!(
        rows[3]["disqualified_by"][0]["rule"], "inactive-60-days",
        "c4's only open is older than 60 days"
    );
    assert_eq!(rows[4]["account_id"], Value::Null);
}

/// A raw model whose accounts roll up as a capped sum (shared with the other test binary).
const SUM_MODEL: &str = include_str!("../../../../examples/data/account-sum/model.toml");

#[test]
fn account_roll_up_in_csv_ndjson_and_the_accounts_file() {
    let m = model(SUM_MODEL);
    let dir = Dir::new();
    let mut j = job(&dir.write(
        "contacts.csv",
        "id,account_id,title\n\
         p1,big,VP Sales\n\
         p2,big,vp marketing\n\
         p3,big,Engineer\n\
         p4,small,VP Ops\n\
         p5,ghost,VP Ghost\n\
         p6,,Intern\n",
    ));
    j.accounts = Some(dir.write(
        "accounts.ndjson",
        "{\"id\":\"big\",\"employees\":500}\n{\"id\":\"small\",\"traits\":{\"employees\":\"12\"}}\n",
    ));
    let (csv_out, accounts, summary) = run_with_accounts(&j, &m);
    let t = Table::parse(&csv_out);
    let cols = ["score", "tier", "account_score", "account_tier"];
    // big: 55 + 55 + 30 = 140, capped at 100.
    assert_eq!(t.pick("p1", &cols), ["55", "a", "100", "key"]);
    assert_eq!(t.pick("p3", &cols), ["30", "b", "100", "key"]);
    assert_eq!(t.pick("p4", &cols), ["25", "b", "25", "other"]);
    // An account id that is not in the accounts file, and no account at all.
    assert_eq!(t.pick("p5", &cols), ["25", "b", "", ""]);
    assert_eq!(t.pick("p6", &cols), ["0", "b", "", ""]);
    assert_eq!(t.get("p5", "account_id"), "ghost");
    assert_eq!(
        accounts,
        "id,score,tier,contacts\nbig,100,key,3\nsmall,25,other,1\n"
    );
    assert_eq!(summary.contacts_without_account, 1);
    assert_eq!(
        summary.warnings,
        ["1 contact names an account_id that is not in the accounts file"]
    );

    let (nd, _) = run_format(&j, &m, Format::Ndjson);
    let rows: Vec<Value> = nd
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        rows[1]["account_score"],
        json!({"score": 100.0, "contacts": 3, "tier": "key"})
    );
    assert_eq!(rows[4]["account_score"], Value::Null);
}

#[test]
fn accounts_out_without_a_roll_up_is_just_the_header() {
    let m = example("encharge.toml");
    let dir = Dir::new();
    let (_, accounts, _) = run_with_accounts(&encharge_job(&dir), &m);
    assert_eq!(accounts, "id,score,tier,contacts\n");
}

#[test]
fn score_files_returns_the_writer_it_was_given() {
    let m = example("encharge.toml");
    let dir = Dir::new();
    let path = dir.path("scores.csv");
    let f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let (w, summary) =
        score_files(&encharge_job(&dir), &m, f, Format::Csv, None, &NoProgress).unwrap();
    drop(w);
    assert_eq!(summary.contacts, 5);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), encharge_output(&m));
}

#[test]
fn score_one_explains_one_contact_with_its_percentile() {
    let m = example("encharge.toml");
    let dir = Dir::new();
    let l = loaded(&encharge_job(&dir), &m);
    assert_eq!(l.summary.contacts, 5);
    assert_eq!(l.summary.events.rows, 22);

    let s = l.score_one(&m, as_of(), "c1").unwrap();
    assert_eq!(
        (s.score, s.tier.as_str(), s.status),
        (71.0, "mql", Status::Qualified)
    );
    assert_eq!(s.percentile, Some(66.67), "ranked among everyone loaded");
    let task = s
        .contributions
        .iter()
        .find(|c| c.rule == "task-twice")
        .unwrap();
    assert_eq!(task.points, 2.0);
    assert_eq!(task.last_event_at.as_deref(), Some("2026-05-26T09:00:00Z"));
    let text = s.explain();
    assert!(
        text.starts_with("c1: score 71 — tier mql — qualified\n"),
        "{text}"
    );
    assert!(text.contains("\npercentile in segment: 66.67\n"), "{text}");
    assert!(text.contains("\nsales-ready because: tier mql\n"), "{text}");
    assert!(
        text.contains("       +20  Booked a call [behaviour, implicit] — any call_booked (20 points, last 2026-05-30T15:30:00Z)\n"),
        "{text}"
    );
    assert!(
        text.contains("\n        43  behaviour (raw 43)\n"),
        "{text}"
    );

    let s = l.score_one(&m, as_of(), "c4").unwrap();
    assert_eq!(s.status, Status::Disqualified);
    assert_eq!(s.percentile, None);
    assert!(s.explain().contains(
        "DISQUALIFIED by inactive-60-days: No email opened and no page viewed in the last 60 days\n"
    ));

    assert!(l.score_one(&m, as_of(), "nobody").is_none());
    assert!(l.score_one(&m, as_of(), "C1").is_none(), "ids are exact");
}

#[test]
fn score_one_agrees_with_the_batch_output_for_everyone() {
    let m = example("starter.toml");
    let dir = Dir::new();
    let mut j = job(&dir.write(
        "contacts.csv",
        "id,role,seniority,employees\na,CEO,executive,500\nb,student,vp,20\nc,Engineer,individual,60\n",
    ));
    j.events = Some(dir.write(
        "events.csv",
        "contact_id,event,timestamp,url\n\
         a,email_open,2026-05-20T00:00:00Z,\n\
         a,page_view,2026-05-25T00:00:00Z,/pricing\n\
         a,page_view,2026-05-26T00:00:00Z,/pricing\n\
         c,email_click,2026-01-01T00:00:00Z,\n",
    ));
    let (out, _) = run(&j, &m);
    let t = Table::parse(&out);
    let l = loaded(&j, &m);
    for id in ["a", "b", "c"] {
        let s = l.score_one(&m, as_of(), id).unwrap();
        let pct = s.percentile.map(leadscore_core::num).unwrap_or_default();
        assert_eq!(
            t.pick(id, &["score", "tier", "status", "percentile"]),
            [
                leadscore_core::num(s.score).as_str(),
                s.tier.as_str(),
                s.status.as_str(),
                pct.as_str()
            ],
            "{id}"
        );
    }
}
