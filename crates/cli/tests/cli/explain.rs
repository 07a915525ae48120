//! `leadscore explain`: one contact's breakdown as text or JSON; unknown ids.

use crate::common::*;
use serde_json::{Value, json};

fn explain_args(dir: &Dir, id: &str, extra: &[&str]) -> Vec<String> {
    let mut args = score_args(dir, &[]);
    args[0] = "explain".into();
    args.extend(["--id".to_string(), id.to_string()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

#[test]
fn explain_prints_rules_and_categories() {
    let dir = Dir::new();
    let run = leadscore(&explain_args(&dir, "c1", &[])).ok();
    let hash = example_hash("encharge.toml");
    let want = format!(
        "c1: score 71 — tier mql — qualified
model encharge v1.0.0 ({}), as of 2026-06-01T00:00:00Z, segment default
percentile in segment: 66.67
sales-ready because: tier mql

rules that fired:
        +1  Based in the US or UK [explicit, explicit] — country is one of US, UK (1 point)
        +1  Based in New York or London [explicit, explicit] — city is one of New York, London (1 point)
        +1  Aged 25 to 45 [explicit, explicit] — age is between 25 and 45 (1 point)
        +5  CEO or CMO [explicit, explicit] — role is one of CEO, CMO (5 points)
       +10  25 or more employees [explicit, explicit] — employees is at least 25 (10 points)
       +10  Decision maker [explicit, explicit] — purchase_authority is decision_maker (10 points)
        +1  Clicked a nurturing or onboarding email [behaviour, implicit] — any email_click where campaign is one of nurturing, onboarding (1 point, last 2026-05-20T09:00:00Z)
        +5  Replied to a sales email [behaviour, implicit] — any email_reply where campaign is sales (5 points, last 2026-05-22T09:00:00Z)
       +15  Signed up for a trial [behaviour, implicit] — any trial_signup (15 points, last 2026-05-23T09:00:00Z)
        +2  Created two or more tasks [behaviour, implicit] — at least 2 × task_created (2 points, last 2026-05-26T09:00:00Z)
       +20  Booked a call [behaviour, implicit] — any call_booked (20 points, last 2026-05-30T15:30:00Z)

categories:
        28  explicit (raw 28)
        43  behaviour (raw 43)
         0  negative (raw 0)
last interesting moment: 2026-05-30T15:30:00Z — Booked a call (call_booked)
",
        &hash[..12]
    );
    assert_eq!(run.stdout, want);
}

#[test]
fn explain_a_disqualified_contact() {
    let dir = Dir::new();
    let out = leadscore(&explain_args(&dir, "c3", &[])).ok().stdout;
    assert!(
        out.starts_with("c3: score 25 — tier mql — disqualified\n"),
        "{out}"
    );
    assert!(
        out.contains("\nDISQUALIFIED by student-or-unemployed: Role is student or unemployed\n"),
        "{out}"
    );
    assert!(
        !out.contains("percentile"),
        "disqualified leads are not ranked: {out}"
    );
    assert!(!out.contains("sales-ready"), "{out}");
}

#[test]
fn explain_json() {
    let dir = Dir::new();
    let run = leadscore(&explain_args(&dir, "c2", &["--json"])).ok();
    let v: Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    assert_eq!(v["id"], "c2");
    assert_eq!(v["score"], json!(-1.0));
    assert_eq!(v["tier"], "lead");
    assert_eq!(v["status"], "pool");
    assert_eq!(v["percentile"], json!(33.33));
    let contributions: Vec<(&str, f64)> = v["contributions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["rule"].as_str().unwrap(), c["points"].as_f64().unwrap()))
        .collect();
    assert_eq!(
        contributions,
        [
            ("country-us-uk", 1.0),
            ("role-ceo-cmo", 5.0),
            ("task-once", 1.0),
            ("linkedin-click", 2.0),
            ("demo-cancelled", -10.0)
        ]
    );
    assert_eq!(v["contributions"][4]["kind"], "negative");
    assert_eq!(v["categories"][2]["points"], json!(-10.0));
    assert_eq!(v["model"]["hash"], example_hash("encharge.toml").as_str());
}

#[test]
fn explain_agrees_with_score_for_every_contact() {
    let dir = Dir::new();
    let scores = leadscore(&score_args(&dir, &[])).ok().stdout;
    let mut rdr = csv::Reader::from_reader(scores.as_bytes());
    for r in rdr.records() {
        let r = r.unwrap();
        let v: Value = serde_json::from_str(
            &leadscore(&explain_args(&dir, &r[0], &["--json"]))
                .ok()
                .stdout,
        )
        .unwrap();
        assert_eq!(
            leadscore_core::num(v["score"].as_f64().unwrap()),
            &r[2],
            "{}",
            &r[0]
        );
        assert_eq!(v["tier"], &r[3]);
        assert_eq!(v["status"], &r[6]);
        let pct = v["percentile"]
            .as_f64()
            .map(leadscore_core::num)
            .unwrap_or_default();
        assert_eq!(pct, &r[8], "{}", &r[0]);
    }
}

#[test]
fn explain_an_unknown_id() {
    let dir = Dir::new();
    let args = explain_args(&dir, "nobody", &[]);
    let contacts = args[args.iter().position(|a| a == "--contacts").unwrap() + 1].clone();
    let run = leadscore(&args).failed();
    assert_eq!(
        run.stderr,
        format!("error: no contact with id `nobody` in {contacts}\n")
    );
    assert_eq!(run.stdout, "");
}
