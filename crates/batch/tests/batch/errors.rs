//! Bad input files: every error names the file, the line (the one an editor shows, where the
//! record starts) and, when one is at fault, the column.

use crate::common::*;
use leadscore_batch::{BatchError, UnknownContacts};
use std::path::Path;

/// `path:line:` as errors print it.
fn at(path: &Path, line: u64) -> String {
    format!("{}:{line}:", path.display())
}

fn encharge() -> leadscore_core::Model {
    example("encharge.toml")
}

// ---- contacts and accounts -----------------------------------------------------------------

#[test]
fn contacts_without_an_id_column() {
    let dir = Dir::new();
    let p = dir.write("contacts.csv", "name,employees\nAda,10\n");
    assert_eq!(
        err_text(&job(&p), &encharge()),
        format!(
            "{} the header has no `id` column (found: name, employees)",
            at(&p, 1)
        )
    );
}

#[test]
fn empty_id() {
    let dir = Dir::new();
    let p = dir.write("contacts.csv", "id,employees\nc1,10\n  ,20\n");
    let e = run_err(&job(&p), &encharge());
    assert_eq!(
        e.to_string(),
        format!("{} column `id`: empty id", at(&p, 3))
    );
    match e {
        BatchError::Input {
            line, column, file, ..
        } => {
            assert_eq!((line, column.as_deref()), (3, Some("id")));
            assert_eq!(file, p);
        }
        other => panic!("not an input error: {other:?}"),
    }
}

#[test]
fn duplicate_id_names_the_first_line() {
    let dir = Dir::new();
    let p = dir.write(
        "contacts.csv",
        "id,employees\nc1,10\nc2,20\n\"multi\nline\",5\nc2,30\n",
    );
    // The quoted newline makes the duplicate's record start on line 6.
    assert_eq!(
        err_text(&job(&p), &encharge()),
        format!(
            "{} column `id`: duplicate id `c2` (first at line 3)",
            at(&p, 6)
        )
    );
}

#[test]
fn text_where_the_model_needs_a_number() {
    let dir = Dir::new();
    let p = dir.write("contacts.csv", "id,employees,age\nc1,10,30\nc2,lots,31\n");
    assert_eq!(
        err_text(&job(&p), &encharge()),
        format!(
            "{} column `employees`: expected a number, found \"lots\"",
            at(&p, 3)
        )
    );
    // A thousands separator is not guessed at either.
    let p = dir.write("contacts2.csv", "id,age\nc1,30\nc2,31\nc3,\"1,000\"\n");
    assert_eq!(
        err_text(&job(&p), &encharge()),
        format!(
            "{} column `age`: expected a number, found \"1,000\"",
            at(&p, 4)
        )
    );
}

#[test]
fn contacts_row_with_the_wrong_number_of_fields() {
    let dir = Dir::new();
    let p = dir.write("contacts.csv", "id,employees,age\nc1,10,30\nc2,20\n");
    assert_eq!(
        err_text(&job(&p), &encharge()),
        format!("{} expected 3 fields like the header, found 2", at(&p, 3))
    );
}

#[test]
fn id_column_option_names_its_column_in_errors() {
    let m = encharge();
    let dir = Dir::new();
    let p = dir.write("leads.csv", "Prospect ID,employees\nx-1,10\n,20\n");
    let mut j = job(&p);
    j.id_column = Some("Prospect ID".into());
    assert_eq!(
        err_text(&j, &m),
        format!("{} column `Prospect ID`: empty id", at(&p, 3))
    );
    let p = dir.write("leads2.csv", "Prospect ID,employees\nx-1,10\nx-1,20\n");
    j.contacts = p.clone();
    assert_eq!(
        err_text(&j, &m),
        format!(
            "{} column `Prospect ID`: duplicate id `x-1` (first at line 2)",
            at(&p, 3)
        )
    );
    // Without the option the file has no `id` column.
    j.id_column = None;
    assert_eq!(
        err_text(&j, &m),
        format!(
            "{} the header has no `id` column (found: Prospect ID, employees)",
            at(&p, 1)
        )
    );
    j.id_column = Some("Lead ID".into());
    assert_eq!(
        err_text(&j, &m),
        format!(
            "{} the header has no `Lead ID` column (found: Prospect ID, employees)",
            at(&p, 1)
        )
    );
    let p = dir.write(
        "leads.ndjson",
        "{\"Prospect ID\":\"x-1\"}\n{\"id\":\"x-2\"}\n",
    );
    j.contacts = p.clone();
    j.id_column = Some("Prospect ID".into());
    assert_eq!(
        err_text(&j, &m),
        format!("{} column `Prospect ID`: missing or empty id", at(&p, 2))
    );
}

#[test]
fn ndjson_contacts_errors() {
    let m = encharge();
    let dir = Dir::new();
    let p = dir.write(
        "contacts.ndjson",
        "{\"id\":\"c1\",\"employees\":5}\n\n{\"id\":\"c2\",\"employees\":5,}\n",
    );
    let e = err_text(&job(&p), &m);
    assert!(
        e.starts_with(&format!("{} not a JSON object: ", at(&p, 3))),
        "{e}"
    );
    let p = dir.write(
        "contacts2.ndjson",
        "{\"id\":\"c1\"}\n{\"name\":\"no id\"}\n",
    );
    assert_eq!(
        err_text(&job(&p), &m),
        format!("{} column `id`: missing or empty id", at(&p, 2))
    );
    let p = dir.write(
        "contacts3.ndjson",
        "{\"id\":\"c1\"}\n{\"id\":\"c2\",\"traits\":{\"employees\":\"lots\"}}\n",
    );
    assert_eq!(
        err_text(&job(&p), &m),
        format!(
            "{} column `employees`: expected a number, found \"lots\"",
            at(&p, 2)
        )
    );
    let p = dir.write("contacts4.ndjson", "{\"id\":\"c1\"}\n{\"id\":\"c1\"}\n");
    assert_eq!(
        err_text(&job(&p), &m),
        format!(
            "{} column `id`: duplicate id `c1` (first at line 1)",
            at(&p, 2)
        )
    );
}

#[test]
fn accounts_errors() {
    let m = example("starter.toml");
    let dir = Dir::new();
    let mut j = job(&dir.write("contacts.csv", "id,account_id\nc1,a1\n"));
    let p = dir.write("accounts.csv", "id,employees\na1,10\na2,ten\n");
    j.accounts = Some(p.clone());
    assert_eq!(
        err_text(&j, &m),
        format!(
            "{} column `employees`: expected a number, found \"ten\"",
            at(&p, 3)
        )
    );
    let p = dir.write("accounts2.csv", "id,employees\na1,10\na1,20\n");
    j.accounts = Some(p.clone());
    assert_eq!(
        err_text(&j, &m),
        format!(
            "{} column `id`: duplicate id `a1` (first at line 2)",
            at(&p, 3)
        )
    );
}

#[test]
fn a_missing_file_is_named() {
    let dir = Dir::new();
    let p = dir.path("nope.csv");
    let e = run_err(&job(&p), &encharge());
    assert!(matches!(e, BatchError::Io { .. }), "{e:?}");
    assert!(
        e.to_string().starts_with(&format!("{}: ", p.display())),
        "{e}"
    );
    let mut j = job(&dir.write("contacts.csv", "id\nc1\n"));
    j.events = Some(dir.path("events.csv"));
    let e = err_text(&j, &encharge());
    assert!(
        e.starts_with(&format!("{}: ", dir.path("events.csv").display())),
        "{e}"
    );
}

// ---- events --------------------------------------------------------------------------------

/// A job with contacts c1, c2 and the given events file.
fn events_job(dir: &Dir, name: &str, events: &str) -> leadscore_batch::ScoreJob {
    let mut j = job(&dir.write("contacts.csv", "id\nc1\nc2\n"));
    j.events = Some(dir.write(name, events));
    j
}

#[test]
fn events_header_without_a_needed_column() {
    let dir = Dir::new();
    let j = events_job(
        &dir,
        "events.csv",
        "contact_id,event,when\nc1,page_view,2026-05-01\n",
    );
    assert_eq!(
        err_text(&j, &encharge()),
        format!(
            "{} the header has no `timestamp` column (an events file needs contact_id, event, timestamp; found: contact_id, event, when)",
            at(j.events.as_ref().unwrap(), 1)
        )
    );
    let j = events_job(&dir, "events2.csv", "");
    let e = err_text(&j, &encharge());
    assert!(
        e.starts_with(&format!(
            "{} the file is empty: expected a header",
            at(j.events.as_ref().unwrap(), 1)
        )),
        "{e}"
    );
}

#[test]
fn missing_columns_are_warnings() {
    let dir = Dir::new();
    let j = events_job(
        &dir,
        "events.csv",
        "contact_id,event,timestamp\nc1,email_open,2026-05-01T00:00:00Z\n",
    );
    let (_, summary) = run(&j, &encharge());
    let contacts = j.contacts.display().to_string();
    let mut want: Vec<String> = [
        "age",
        "employees",
        "country",
        "city",
        "role",
        "purchase_authority",
    ]
    .iter()
    .map(|f| {
        format!(
            "{contacts}: the model reads `{f}`, but the file has no such column; it is missing for every row"
        )
    })
    .collect();
    want.push(format!(
        "{}: the model reads event property `campaign`, but the file has no such column",
        j.events.as_ref().unwrap().display()
    ));
    assert_eq!(summary.warnings, want);
}

#[test]
fn bad_timestamps_and_empty_fields() {
    let m = encharge();
    let dir = Dir::new();
    let j = events_job(
        &dir,
        "events.csv",
        "contact_id,event,timestamp,campaign\n\
         c1,email_open,2026-05-01T00:00:00Z,\n\
         c2,email_open,2026-05-01T00:00:00Z,\"two\nlines\"\n\
         c1,email_open,01/05/2026,\n",
    );
    assert_eq!(
        err_text(&j, &m),
        format!(
            "{} column `timestamp`: not an RFC 3339 timestamp: \"01/05/2026\"",
            at(j.events.as_ref().unwrap(), 5)
        )
    );
    let j = events_job(
        &dir,
        "e2.csv",
        "contact_id,event,timestamp\nc1,page_view,\n",
    );
    assert_eq!(
        err_text(&j, &m),
        format!(
            "{} column `timestamp`: not an RFC 3339 timestamp: \"\"",
            at(j.events.as_ref().unwrap(), 2)
        )
    );
    let j = events_job(
        &dir,
        "e3.csv",
        "contact_id,event,timestamp\nc1,page_view,2026-05-01\n ,page_view,2026-05-01\n",
    );
    assert_eq!(
        err_text(&j, &m),
        format!(
            "{} column `contact_id`: empty contact_id",
            at(j.events.as_ref().unwrap(), 3)
        )
    );
    let j = events_job(
        &dir,
        "e4.csv",
        "contact_id,event,timestamp\nc1,,2026-05-01\n",
    );
    assert_eq!(
        err_text(&j, &m),
        format!(
            "{} column `event`: empty event type",
            at(j.events.as_ref().unwrap(), 2)
        )
    );
}

#[test]
fn events_row_with_the_wrong_number_of_fields() {
    let dir = Dir::new();
    let j = events_job(
        &dir,
        "events.csv",
        "contact_id,event,timestamp,campaign\r\n\
         c1,email_open,2026-05-01T00:00:00Z,\r\n\
         c1,email_click,2026-05-01T00:00:00Z,\"sales,extra\"\r\n\
         c1,email_click,2026-05-01T00:00:00Z,sales,extra\r\n",
    );
    assert_eq!(
        err_text(&j, &encharge()),
        format!(
            "{} expected 4 fields like the header, found 5",
            at(j.events.as_ref().unwrap(), 4)
        )
    );
}

/// The generated file with row `k` given a bad timestamp; returns the file and the line the
/// bad record starts on.
fn with_bad_timestamp(rows: &mut [GenEvent], k: usize, value: &str) -> u64 {
    rows[k].timestamp = value.into();
    // Header on line 1; each record takes one line plus its quoted newlines.
    2 + rows[..k]
        .iter()
        .map(|r| 1 + r.csv().matches('\n').count() as u64)
        .sum::<u64>()
}

#[test]
fn bad_timestamp_line_is_exact_with_many_threads_and_tiny_blocks() {
    let m = model(STREAM_MODEL);
    let dir = Dir::new();
    for (k, eol) in [
        (0, "\n"),
        (1, "\n"),
        (777, "\n"),
        (1999, "\r\n"),
        (1234, "\r\n"),
    ] {
        let mut rows = gen_events(10 + k as u64, 20, 2000, eol);
        let line = with_bad_timestamp(&mut rows, k, "2026-02-30T00:00:00Z");
        assert!(
            k < 10 || line > k as u64 + 100,
            "quoted newlines push lines down"
        );
        let mut j = job(&dir.write("contacts.csv", stream_contacts(20)));
        let p = dir.write("events.csv", events_csv(&rows, eol));
        j.events = Some(p.clone());
        for (threads, block) in [(1, None), (8, Some(64)), (4, Some(7)), (3, Some(1000))] {
            j.threads = threads;
            j.block_size = block;
            assert_eq!(
                err_text(&j, &m),
                format!(
                    "{} column `timestamp`: not an RFC 3339 timestamp: \"2026-02-30T00:00:00Z\"",
                    at(&p, line)
                ),
                "row {k}, threads {threads}, block {block:?}"
            );
        }
    }
}

/// Many bad rows: the first one in the file is reported, whichever thread finds one first.
/// (Workers used to skip every block once any worker failed, so a later error could win.)
#[test]
fn the_first_bad_line_is_reported_whatever_the_threads() {
    let m = model(STREAM_MODEL);
    let dir = Dir::new();
    let mut rows = gen_events(42, 20, 3000, "\n");
    let first = with_bad_timestamp(&mut rows, 1500, "soon");
    for r in &mut rows[1501..] {
        r.timestamp = "later".into();
    }
    let mut j = job(&dir.write("contacts.csv", stream_contacts(20)));
    let p = dir.write("events.csv", events_csv(&rows, "\n"));
    j.events = Some(p.clone());
    let want = format!(
        "{} column `timestamp`: not an RFC 3339 timestamp: \"soon\"",
        at(&p, first)
    );
    for round in 0..30 {
        j.threads = 8;
        j.block_size = Some(200 + round);
        assert_eq!(err_text(&j, &m), want, "round {round}");
    }
}

#[test]
fn unknown_contacts_warn_with_count_and_first_lines() {
    let m = model(STREAM_MODEL);
    let dir = Dir::new();
    let mut rows = gen_events(7, 20, 2000, "\n");
    // Rename every contact k19 to one the contacts file does not have.
    let mut unknown_lines = Vec::new();
    let mut line = 2u64;
    for r in &mut rows {
        if r.contact == "k19" {
            r.contact = "ghost".into();
            unknown_lines.push(line);
        }
        line += 1 + r.csv().matches('\n').count() as u64;
    }
    assert!(unknown_lines.len() > 50);
    let mut j = job(&dir.write("contacts.csv", stream_contacts(19)));
    let p = dir.write("events.csv", events_csv(&rows, "\n"));
    j.events = Some(p.clone());
    let examples: Vec<String> = unknown_lines[..5]
        .iter()
        .map(|l| format!("line {l} (ghost)"))
        .collect();
    let want = format!(
        "{}: {} events name a contact that is not in the contacts file, e.g. {}; they were skipped (use --unknown-contacts fail to stop instead)",
        p.display(),
        unknown_lines.len(),
        examples.join(", ")
    );
    let mut outputs = Vec::new();
    for (threads, block) in [(1, None), (6, Some(64)), (3, Some(5))] {
        j.threads = threads;
        j.block_size = block;
        let (out, summary) = run(&j, &m);
        assert_eq!(
            summary.warnings,
            std::slice::from_ref(&want),
            "threads {threads}, block {block:?}"
        );
        assert_eq!(summary.events.unknown_contacts, unknown_lines.len() as u64);
        assert_eq!(
            summary.events.unknown_examples,
            unknown_lines[..5]
                .iter()
                .map(|&l| (l, "ghost".to_owned()))
                .collect::<Vec<_>>()
        );
        assert_eq!(summary.events.rows, 2000);
        outputs.push(out);
    }
    assert!(outputs.iter().all(|o| *o == outputs[0]));
    assert_eq!(Table::parse(&outputs[0]).rows.len(), 19);

    // Failing instead stops at the first one.
    j.unknown_contacts = UnknownContacts::Fail;
    for (threads, block) in [(1, None), (6, Some(64))] {
        j.threads = threads;
        j.block_size = block;
        assert_eq!(
            err_text(&j, &m),
            format!(
                "{} column `contact_id`: unknown contact `ghost` (not in the contacts file)",
                at(&p, unknown_lines[0])
            )
        );
    }
}

#[test]
fn invalid_json_lines_in_ndjson_events() {
    let m = encharge();
    let dir = Dir::new();
    let j = events_job(
        &dir,
        "events.ndjson",
        "{\"contact_id\":\"c1\",\"event\":\"email_open\",\"timestamp\":\"2026-05-01T00:00:00Z\"}\n\
         \n\
         {\"contact_id\":\"c2\",\"event\":\"email_open\",\"timestamp\":\"2026-05-01T00:00:00Z\"}\n\
         contact_id,event,timestamp\n",
    );
    let e = err_text(&j, &m);
    assert!(
        e.starts_with(&format!(
            "{} not a JSON object: ",
            at(j.events.as_ref().unwrap(), 4)
        )),
        "{e}"
    );
    let j = events_job(
        &dir,
        "e2.ndjson",
        "{\"contact_id\":\"c1\",\"event\":\"email_open\",\"timestamp\":\"2026-05-01T00:00:00Z\"}\n\
         {\"contact_id\":\"c1\",\"event\":\"email_open\"}\n",
    );
    assert_eq!(
        err_text(&j, &m),
        format!(
            "{} column `timestamp`: missing `timestamp`",
            at(j.events.as_ref().unwrap(), 2)
        )
    );
    let j = events_job(
        &dir,
        "e3.ndjson",
        "[\"c1\",\"email_open\",\"2026-05-01T00:00:00Z\"]\n",
    );
    assert!(err_text(&j, &m).starts_with(&format!(
        "{} not a JSON object: ",
        at(j.events.as_ref().unwrap(), 1)
    )));
}

#[test]
fn invalid_json_line_is_exact_with_many_threads() {
    let m = model(STREAM_MODEL);
    let dir = Dir::new();
    let rows = gen_events(8, 20, 1500, "\n");
    let mut lines: Vec<String> = rows.iter().map(GenEvent::ndjson).collect();
    lines[1100] = "{\"contact_id\": \"k01\", oops}".into();
    let mut j = job(&dir.write("contacts.csv", stream_contacts(20)));
    let p = dir.write("events.ndjson", lines.join("\n") + "\n");
    j.events = Some(p.clone());
    for (threads, block) in [(1, None), (8, Some(50))] {
        j.threads = threads;
        j.block_size = block;
        let e = err_text(&j, &m);
        assert!(
            e.starts_with(&format!(
                "{} not a JSON object: key must be a string",
                at(&p, 1101)
            )),
            "threads {threads}, block {block:?}: {e}"
        );
    }
}

#[test]
fn a_property_compared_as_a_number_that_is_not_one() {
    let m = model(
        r#"
        [model]
        name = "orders"
        version = "1"
        [[category]]
        id = "buy"
        [[rule]]
        id = "big-order"
        category = "buy"
        points = 10
        when = { event = "order", where = { field = "amount", gt = 100 } }
        [[tier]]
        name = "all"
        "#,
    );
    let dir = Dir::new();
    let j = events_job(
        &dir,
        "events.csv",
        "contact_id,event,timestamp,amount\n\
         c1,order,2026-05-01T00:00:00Z,120\n\
         c1,page_view,2026-05-01T00:00:00Z,n/a\n\
         c2,order,2026-05-01T00:00:00Z,\n\
         c2,order,2026-05-01T00:00:00Z,lots\n",
    );
    // An event type no rule reads is never parsed; an empty value is simply missing.
    assert_eq!(
        err_text(&j, &m),
        format!(
            "{} column `amount`: expected a number, found \"lots\"",
            at(j.events.as_ref().unwrap(), 5)
        )
    );
    let j = events_job(
        &dir,
        "events.ndjson",
        "{\"contact_id\":\"c1\",\"event\":\"order\",\"timestamp\":\"2026-05-01T00:00:00Z\",\"properties\":{\"amount\":\"12O\"}}\n",
    );
    assert_eq!(
        err_text(&j, &m),
        format!(
            "{} column `amount`: expected a number, found \"12O\"",
            at(j.events.as_ref().unwrap(), 1)
        )
    );
}

/// The csv crate reports a record after a CRLF, or after blank lines, on an earlier line
/// (BurntSushi/rust-csv#395); errors must still name the line an editor shows.
#[test]
fn crlf_and_blank_lines_do_not_shift_error_lines() {
    let m = encharge();
    let dir = Dir::new();
    for (name, text, line) in [
        ("lf.csv", "id,employees\nc1,1\n\n\nc2,x\n", 5),
        ("crlf.csv", "id,employees\r\nc1,1\r\n\r\n\r\nc2,x\r\n", 5),
        (
            "quoted.csv",
            "id,employees\r\n\"c1\",\"1\"\r\n\r\n\"c\r\n0\",2\r\nc2,x\r\n",
            6,
        ),
    ] {
        let p = dir.write(name, text);
        for (threads, block) in [(1, None), (3, Some(4))] {
            let mut j = job(&p);
            j.threads = threads;
            j.block_size = block;
            assert_eq!(
                err_text(&j, &m),
                format!(
                    "{} column `employees`: expected a number, found \"x\"",
                    at(&p, line)
                ),
                "{name}, threads {threads}"
            );
        }
    }
    for (name, text, line) in [
        (
            "e-lf.csv",
            "contact_id,event,timestamp\nc1,page_view,2026-05-01\n\n\nc1,page_view,never\n",
            5,
        ),
        (
            "e-crlf.csv",
            "contact_id,event,timestamp\r\nc1,page_view,2026-05-01\r\n\r\nc1,page_view,2026-05-01\r\nc1,page_view,never\r\n",
            5,
        ),
        (
            "e-quoted.csv",
            "contact_id,event,timestamp\r\n\"c1\",page_view,2026-05-01\r\n\r\n\"c1\",\"page\r\nview\",2026-05-01\r\nc1,page_view,never\r\n",
            6,
        ),
    ] {
        let mut j = events_job(&dir, name, text);
        for (threads, block) in [(1, None), (3, Some(4))] {
            j.threads = threads;
            j.block_size = block;
            assert_eq!(
                err_text(&j, &m),
                format!(
                    "{} column `timestamp`: not an RFC 3339 timestamp: \"never\"",
                    at(j.events.as_ref().unwrap(), line)
                ),
                "{name}, threads {threads}"
            );
        }
    }
}
