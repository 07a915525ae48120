//! Bad input files and flags: exit 1 and `error: <path>:<line>:` on stderr, never a panic.

use crate::common::*;

/// Runs `score` on the fixture with `contacts` and `events` texts; expects exit 1 and returns
/// stderr and the two paths.
fn fail_with(contacts: &str, events: &str) -> (String, String, String) {
    let dir = Dir::new();
    let c = dir.write("contacts.csv", contacts);
    let e = dir.write("events.csv", events);
    let out = dir.path("scores.csv");
    let run = leadscore(&[
        "score",
        "--model",
        &example("encharge.toml"),
        "--contacts",
        &c,
        "--events",
        &e,
        "--as-of",
        AS_OF,
        "--out",
        &out,
    ])
    .failed();
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    (run.stderr, c, e)
}

#[test]
fn a_number_column_with_text() {
    let contacts = CONTACTS.replacen(
        "c2,a1,UK,Paris,50,CMO,10,",
        "c2,a1,UK,Paris,50,CMO,lots,",
        1,
    );
    let (err, c, _) = fail_with(&contacts, EVENTS);
    assert_eq!(
        err,
        format!("error: {c}:3: column `employees`: expected a number, found \"lots\"\n")
    );
}

#[test]
fn duplicate_and_empty_contact_ids() {
    let (err, c, _) = fail_with(&format!("{CONTACTS}c2,,,,,,,\n"), EVENTS);
    assert_eq!(
        err,
        format!("error: {c}:7: column `id`: duplicate id `c2` (first at line 3)\n")
    );
    let (err, c, _) = fail_with(&format!("{CONTACTS} ,,,,,,,\n"), EVENTS);
    assert_eq!(err, format!("error: {c}:7: column `id`: empty id\n"));
}

#[test]
fn a_bad_timestamp() {
    let events = EVENTS.replacen(
        "c1,trial_signup,2026-05-23T09:00:00Z",
        "c1,trial_signup,May 23",
        1,
    );
    let (err, _, e) = fail_with(CONTACTS, &events);
    assert_eq!(
        err,
        format!("error: {e}:6: column `timestamp`: not an RFC 3339 timestamp: \"May 23\"\n")
    );
}

#[test]
fn an_events_row_with_an_extra_field() {
    let events = EVENTS.replacen(
        "c2,page_view,2026-05-22T08:00:00Z,",
        "c2,page_view,2026-05-22T08:00:00Z,,x",
        1,
    );
    let (err, _, e) = fail_with(CONTACTS, &events);
    assert_eq!(
        err,
        format!("error: {e}:11: expected 4 fields like the header, found 5\n")
    );
}

#[test]
fn an_events_file_without_a_timestamp_column() {
    let events = EVENTS.replacen(
        "contact_id,event,timestamp,campaign",
        "contact_id,event,time,campaign",
        1,
    );
    let (err, _, e) = fail_with(CONTACTS, &events);
    assert_eq!(
        err,
        format!(
            "error: {e}:1: the header has no `timestamp` column (an events file needs contact_id, event, timestamp; found: contact_id, event, time, campaign)\n"
        )
    );
}

#[test]
fn an_invalid_ndjson_line() {
    let dir = Dir::new();
    let c = dir.write("contacts.csv", CONTACTS);
    let e = dir.write(
        "events.ndjson",
        "{\"contact_id\":\"c1\",\"event\":\"email_open\",\"timestamp\":\"2026-05-27T10:00:00Z\"}\n{\"contact_id\":\"c1\",\"event\":\n",
    );
    let run = leadscore(&[
        "score",
        "--model",
        &example("encharge.toml"),
        "--contacts",
        &c,
        "--events",
        &e,
        "--as-of",
        AS_OF,
    ])
    .failed();
    assert!(
        run.stderr
            .starts_with(&format!("error: {e}:2: not a JSON object: ")),
        "{}",
        run.stderr
    );
    assert_eq!(
        run.stdout, "",
        "nothing is written before the input is read"
    );
}

#[test]
fn missing_files_are_named() {
    let dir = Dir::new();
    let missing = dir.path("nope.csv");
    let run = leadscore(&[
        "score",
        "--model",
        &example("encharge.toml"),
        "--contacts",
        &missing,
        "--as-of",
        AS_OF,
    ])
    .failed();
    assert!(
        run.stderr.starts_with(&format!("error: {missing}: ")),
        "{}",
        run.stderr
    );
    let run = leadscore(&[
        "score",
        "--model",
        &dir.path("nope.toml"),
        "--contacts",
        &missing,
    ])
    .failed();
    assert!(
        run.stderr.starts_with(&format!(
            "error: cannot read model {}: ",
            dir.path("nope.toml")
        )),
        "{}",
        run.stderr
    );
    let (contacts, _) = fixture(&dir);
    let bad_out = dir.path("no/such/dir/scores.csv");
    let run = leadscore(&[
        "score",
        "--model",
        &example("encharge.toml"),
        "--contacts",
        &contacts,
        "--as-of",
        AS_OF,
        "--out",
        &bad_out,
    ])
    .failed();
    assert!(
        run.stderr
            .starts_with(&format!("error: cannot create {bad_out}: ")),
        "{}",
        run.stderr
    );
}

#[test]
fn explain_reports_bad_input_like_score() {
    let dir = Dir::new();
    let c = dir.write("contacts.csv", "id,age\nc1,old\n");
    let run = leadscore(&[
        "explain",
        "--model",
        &example("encharge.toml"),
        "--contacts",
        &c,
        "--id",
        "c1",
    ])
    .failed();
    assert_eq!(
        run.stderr,
        format!("error: {c}:2: column `age`: expected a number, found \"old\"\n")
    );
}

#[test]
fn usage_errors_exit_2_with_usage() {
    let run = leadscore(&["score", "--contacts", "x.csv"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("--model <MODEL>"), "{}", run.stderr);
    let run = leadscore(&[
        "score",
        "--model",
        "m",
        "--contacts",
        "c",
        "--format",
        "xml",
    ]);
    assert_eq!(run.code, 2, "{run:?}");
    let run = leadscore(&[
        "score",
        "--model",
        "m",
        "--contacts",
        "c",
        "--threads",
        "many",
    ]);
    assert_eq!(run.code, 2, "{run:?}");
}
