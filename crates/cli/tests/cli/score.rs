//! `leadscore score`: output files and formats, account roll-ups, the summary line, flags.

use crate::common::*;
use serde_json::{Value, json};

#[test]
fn score_to_a_csv_file() {
    let dir = Dir::new();
    let out = dir.path("scores.csv");
    let run = leadscore(&score_args(&dir, &["--out", &out])).ok();
    assert_eq!(dir.read("scores.csv"), output());
    assert_eq!(run.stdout, "");
    assert!(run.stderr.starts_with(SUMMARY_START), "{}", run.stderr);
    assert!(run.stderr.ends_with(SUMMARY_END), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}

#[test]
fn score_to_standard_output() {
    let dir = Dir::new();
    let run = leadscore(&score_args(&dir, &[])).ok();
    assert_eq!(run.stdout, output());
    assert!(run.stderr.starts_with(SUMMARY_START), "{}", run.stderr);
}

#[test]
fn quiet_prints_no_summary() {
    let dir = Dir::new();
    let run = leadscore(&score_args(&dir, &["--quiet"])).ok();
    assert_eq!(run.stdout, output());
    assert_eq!(run.stderr, "");
}

#[test]
fn ndjson_output() {
    let dir = Dir::new();
    let out = dir.path("scores.ndjson");
    leadscore(&score_args(&dir, &["--out", &out, "--format", "ndjson"])).ok();
    let rows: Vec<Value> = dir
        .read("scores.ndjson")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let brief: Vec<(&str, f64, &str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap(),
                r["score"].as_f64().unwrap(),
                r["tier"].as_str().unwrap(),
                r["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        brief,
        [
            ("c1", 71.0, "mql", "qualified"),
            ("c2", -1.0, "lead", "pool"),
            ("c3", 25.0, "mql", "disqualified"),
            ("c4", 23.0, "mql", "disqualified"),
            ("c5", -9.0, "lead", "pool"),
        ]
    );
    assert_eq!(rows[0]["percentile"], json!(66.67));
    assert_eq!(rows[0]["contributions"].as_array().unwrap().len(), 11);
    assert_eq!(rows[0]["as_of"], "2026-06-01T00:00:00Z");
    assert_eq!(rows[3]["disqualified_by"][0]["rule"], "inactive-60-days");
}

#[test]
fn as_of_as_a_date_or_any_rfc_3339_form_gives_the_same_scores() {
    let dir = Dir::new();
    let want = output();
    for as_of in [
        "2026-06-01T00:00:00Z",
        "2026-06-01T02:00:00+02:00",
        "2026-05-31T20:00:00-04:00",
        "2026-06-01T00:00:00.000Z",
    ] {
        let mut args = score_args(&dir, &[]);
        let i = args.iter().position(|a| a == "--as-of").unwrap();
        args[i + 1] = as_of.into();
        assert_eq!(leadscore(&args).ok().stdout, want, "--as-of {as_of}");
    }
    // A day later the call booked on June 2 counts: the score stays (the rule fires once)
    // but it becomes c1's last interesting moment.
    let mut args = score_args(&dir, &[]);
    let i = args.iter().position(|a| a == "--as-of").unwrap();
    args[i + 1] = "2026-06-02".into();
    let later = leadscore(&args).ok().stdout;
    assert!(
        later.contains(
            "\nc1,a1,71,mql,,,qualified,default,66.67,tier mql,28,43,0,Booked a call (+20); Signed up for a trial (+15); 25 or more employees (+10),2026-06-02T00:00:00Z Booked a call (call_booked),"
        ),
        "{later}"
    );
}

#[test]
fn a_bad_as_of_names_the_flag() {
    let dir = Dir::new();
    for bad in ["yesterday", "2026-13-01", "01/06/2026", ""] {
        let mut args = score_args(&dir, &[]);
        let i = args.iter().position(|a| a == "--as-of").unwrap();
        args[i + 1] = bad.into();
        let run = leadscore(&args).failed();
        assert_eq!(
            run.stderr,
            format!("error: --as-of: {bad:?} is not a date (YYYY-MM-DD) or RFC 3339 timestamp\n")
        );
        assert_eq!(run.stdout, "");
    }
}

#[test]
fn threads_do_not_change_the_output() {
    let dir = Dir::new();
    let one = leadscore(&score_args(&dir, &["--threads", "1"]))
        .ok()
        .stdout;
    let many = leadscore(&score_args(&dir, &["--threads", "7"]))
        .ok()
        .stdout;
    assert_eq!(one, output());
    assert_eq!(many, one);
}

/// A raw model whose accounts roll up as a capped sum (shared with the other test binary).
const SUM_MODEL: &str = include_str!("../../../../examples/data/account-sum/model.toml");

#[test]
fn accounts_out_writes_the_roll_ups() {
    let dir = Dir::new();
    let model = dir.write("sum.toml", SUM_MODEL);
    let contacts = dir.write(
        "contacts.csv",
        "id,account_id,title\np1,big,VP Sales\np2,big,vp marketing\np3,big,Engineer\np4,small,VP Ops\np5,ghost,VP\np6,,Intern\n",
    );
    let accounts = dir.write(
        "accounts.csv",
        "id,employees\nbig,500\nsmall,12\nempty,1000\n",
    );
    let run = leadscore(&[
        "score",
        "--model",
        &model,
        "--contacts",
        &contacts,
        "--accounts",
        &accounts,
        "--as-of",
        AS_OF,
        "--out",
        &dir.path("scores.csv"),
        "--accounts-out",
        &dir.path("accounts-out.csv"),
    ])
    .ok();
    assert_eq!(
        dir.read("accounts-out.csv"),
        "id,score,tier,contacts\nbig,100,key,3\nsmall,25,other,1\n"
    );
    let scores = dir.read("scores.csv");
    assert!(scores.contains("\np1,big,55,a,,,pool,default,"), "{scores}");
    assert!(scores.contains(",55,100,key,"), "{scores}");
    assert_eq!(
        run.stderr.lines().next(),
        Some("warning: 1 contact names an account_id that is not in the accounts file")
    );
    assert!(
        run.stderr
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("scored 6 contacts from 0 events (0 used) in ")
    );
}

#[test]
fn unknown_contacts_warn_by_default_and_fail_on_request() {
    let dir = Dir::new();
    let events = format!(
        "{EVENTS}zz,page_view,2026-05-01T00:00:00Z,\nc1,page_view,2026-05-01T00:00:00Z,\nyy,page_view,2026-05-01T00:00:00Z,\n"
    );
    let mut args = score_args(&dir, &[]);
    let events_path = dir.write("events.csv", events);
    let run = leadscore(&args).ok();
    assert_eq!(run.stdout, output(), "unknown contacts are skipped");
    assert_eq!(
        run.stderr.lines().next().unwrap(),
        format!(
            "warning: {events_path}: 2 events name a contact that is not in the contacts file, e.g. line 24 (zz), line 26 (yy); they were skipped (use --unknown-contacts fail to stop instead)"
        )
    );
    args.extend(["--unknown-contacts".into(), "fail".into()]);
    let run = leadscore(&args).failed();
    assert_eq!(
        run.stderr,
        format!(
            "error: {events_path}:24: column `contact_id`: unknown contact `zz` (not in the contacts file)\n"
        )
    );
}

#[test]
fn id_column_and_input_format_flags() {
    let dir = Dir::new();
    let (_, events) = fixture(&dir);
    let contacts = dir.write(
        "contacts.txt",
        CONTACTS.replacen("id,account_id", "Record ID,account_id", 1),
    );
    let base = [
        "score",
        "--model",
        &example("encharge.toml"),
        "--contacts",
        &contacts,
        "--events",
        &events,
        "--as-of",
        AS_OF,
    ];
    let run = leadscore(&base).failed();
    assert_eq!(
        run.stderr,
        format!(
            "error: {contacts}:1: the header has no `id` column (found: Record ID, account_id, country, city, age, role, employees, purchase_authority)\n"
        )
    );
    let mut args = base.to_vec();
    args.extend(["--id-column", "Record ID"]);
    assert_eq!(leadscore(&args).ok().stdout, output());

    // NDJSON in files whose extension does not say so.
    let nd_contacts = dir.write(
        "contacts.data",
        "{\"id\":\"c1\",\"account_id\":\"a1\",\"traits\":{\"country\":\"US\",\"city\":\"New York\",\"age\":30,\"role\":\"CEO\",\"employees\":50,\"purchase_authority\":\"decision_maker\"}}\n",
    );
    let nd_events = dir.write(
        "events.data",
        "{\"contact_id\":\"c1\",\"event\":\"email_open\",\"timestamp\":\"2026-05-27T10:00:00Z\"}\n{\"contact_id\":\"c1\",\"event\":\"email_reply\",\"timestamp\":\"2026-05-22T09:00:00Z\",\"properties\":{\"campaign\":\"sales\"}}\n",
    );
    let run = leadscore(&[
        "score",
        "--model",
        &example("encharge.toml"),
        "--contacts",
        &nd_contacts,
        "--events",
        &nd_events,
        "--as-of",
        AS_OF,
        "--input-format",
        "ndjson",
        "--quiet",
    ])
    .ok();
    // explicit 28 + sales reply 5.
    assert!(
        run.stdout
            .contains("\nc1,a1,33,mql,,,qualified,default,0,tier mql,28,5,0,"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_failed_run_leaves_the_previous_output_untouched() {
    let dir = Dir::new();
    let out = dir.path("scores.csv");
    let acc = dir.path("accounts-out.csv");
    dir.write("scores.csv", "previous good scores\n");
    dir.write("accounts-out.csv", "previous roll-ups\n");
    let bad = dir.write(
        "bad-events.csv",
        "contact_id,event,timestamp\nc1,email_open,not-a-time\n",
    );
    let mut args = score_args(&dir, &["--out", &out, "--accounts-out", &acc]);
    let ev = args.iter().position(|a| a == "--events").unwrap();
    args[ev + 1] = bad;
    let run = leadscore(&args).failed();
    assert!(run.stderr.contains("not-a-time"), "{}", run.stderr);
    assert_eq!(dir.read("scores.csv"), "previous good scores\n");
    assert_eq!(dir.read("accounts-out.csv"), "previous roll-ups\n");
    // No temporary file is left behind either.
    let left: Vec<String> = std::fs::read_dir(dir.path("."))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".leadscore-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn the_output_format_follows_the_out_extension() {
    let dir = Dir::new();
    let out = dir.path("scores.ndjson");
    leadscore(&score_args(&dir, &["--out", &out])).ok();
    let first = dir.read("scores.ndjson").lines().next().unwrap().to_owned();
    let v: Value = serde_json::from_str(&first).unwrap();
    assert!(v["score"].is_number(), "{first}");
    // An explicit --format wins over the extension.
    let out = dir.path("scores.txt");
    leadscore(&score_args(&dir, &["--out", &out, "--format", "ndjson"])).ok();
    assert!(dir.read("scores.txt").starts_with('{'));
}
