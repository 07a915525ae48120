//! The streaming, parallel events reader: thread counts, block sizes, event order, quoted
//! fields across block edges, CRLF and byte-order marks must not change a single byte of output.

use crate::common::*;
use leadscore_batch::Format;

const CONTACTS: usize = 30;
const EVENTS: usize = 1500;

/// Scores generated events with the given threads and block size.
fn score_events(
    contacts_text: &str,
    events_name: &str,
    events_text: &str,
    threads: usize,
    block: Option<usize>,
) -> String {
    let m = model(STREAM_MODEL);
    let dir = Dir::new();
    let mut j = job(&dir.write("contacts.csv", contacts_text));
    j.events = Some(dir.write(events_name, events_text));
    j.threads = threads;
    j.block_size = block;
    let (out, summary) = run(&j, &m);
    assert!(summary.warnings.is_empty(), "{:?}", summary.warnings);
    out
}

fn sorted(mut rows: Vec<GenEvent>) -> Vec<GenEvent> {
    rows.sort_by(|a, b| (&a.contact, &a.timestamp).cmp(&(&b.contact, &b.timestamp)));
    rows
}

/// The output for the generated rows on one thread with default blocks, checked against the
/// counts the generator knows.
fn baseline(rows: &[GenEvent]) -> String {
    let m = model(STREAM_MODEL);
    let dir = Dir::new();
    let mut j = job(&dir.write("contacts.csv", stream_contacts(CONTACTS)));
    j.events = Some(dir.write("events.csv", events_csv(rows, "\n")));
    j.threads = 1;
    let (out, summary) = run(&j, &m);
    let t = Table::parse(&out);
    let mut total = 0;
    for (id, pricing, notes, last) in expected_counts(rows, CONTACTS) {
        let score = pricing + notes;
        total += score;
        let tier = if score >= 20 { "busy" } else { "quiet" };
        assert_eq!(
            t.pick(&id, &["score", "tier", "web", "notes"]),
            [
                score.to_string().as_str(),
                tier,
                &pricing.to_string(),
                &notes.to_string()
            ],
            "{id}"
        );
        let moment = t.get(&id, "last_interesting_moment");
        match last {
            Some(ts) => assert!(moment.starts_with(&format!("{ts} ")), "{id}: {moment}"),
            None => assert_eq!(moment, "", "{id}"),
        }
    }
    assert!(
        total > 500,
        "the generator should produce plenty of scoring rows"
    );
    assert_eq!(summary.events.rows, rows.len() as u64);
    let used = rows.iter().filter(|r| r.event != "email_open").count() as u64;
    assert_eq!(summary.events.used, used);
    out
}

#[test]
fn generated_events_score_exactly_what_was_generated() {
    let rows = gen_events(1, CONTACTS, EVENTS, "\n");
    let out = baseline(&rows);
    assert_eq!(Table::parse(&out).rows.len(), CONTACTS);
}

#[test]
fn thread_counts_and_block_sizes_do_not_change_the_output() {
    let rows = gen_events(2, CONTACTS, EVENTS, "\n");
    let want = baseline(&rows);
    let contacts = stream_contacts(CONTACTS);
    let events = events_csv(&rows, "\n");
    for (threads, block) in [
        (1, Some(64)),
        (4, None),
        (4, Some(64)),
        (3, Some(7)),
        (8, Some(1)),
        (2, Some(4096)),
        (16, Some(100)),
    ] {
        let out = score_events(&contacts, "events.csv", &events, threads, block);
        assert!(
            out == want,
            "threads {threads}, block {block:?}: output differs"
        );
    }
}

#[test]
fn shuffled_events_give_the_same_output_as_sorted_ones() {
    let rows = sorted(gen_events(3, CONTACTS, EVENTS, "\n"));
    let want = baseline(&rows);
    let contacts = stream_contacts(CONTACTS);
    let mut shuffled = rows.clone();
    Rng::new(99).shuffle(&mut shuffled);
    assert_ne!(events_csv(&shuffled, "\n"), events_csv(&rows, "\n"));
    for (threads, block) in [(1, None), (4, Some(64))] {
        let out = score_events(
            &contacts,
            "events.csv",
            &events_csv(&shuffled, "\n"),
            threads,
            block,
        );
        assert!(out == want, "threads {threads}, block {block:?}");
    }
}

#[test]
fn crlf_line_endings_and_byte_order_marks_do_not_change_the_output() {
    let rows = gen_events(4, CONTACTS, EVENTS, "\n");
    let want = baseline(&rows);
    // CRLF everywhere, also inside the quoted notes (Excel keeps LF there; others do not).
    let crlf_rows = gen_events(4, CONTACTS, EVENTS, "\r\n");
    let crlf = events_csv(&crlf_rows, "\r\n");
    let contacts_crlf = stream_contacts(CONTACTS).replace('\n', "\r\n");
    for (threads, block) in [(1, None), (4, Some(64)), (3, Some(5))] {
        let out = score_events(&contacts_crlf, "events.csv", &crlf, threads, block);
        assert!(out == want, "CRLF, threads {threads}, block {block:?}");
        let out = score_events(
            &format!("\u{feff}{contacts_crlf}"),
            "events.csv",
            &format!("\u{feff}{crlf}"),
            threads,
            block,
        );
        assert!(
            out == want,
            "BOM + CRLF, threads {threads}, block {block:?}"
        );
    }
}

#[test]
fn ndjson_events_in_small_blocks_match_the_csv_output() {
    let rows = gen_events(5, CONTACTS, EVENTS, "\n");
    let want = baseline(&rows);
    let contacts = stream_contacts(CONTACTS);
    let nd: String = rows.iter().map(|r| r.ndjson() + "\n").collect();
    for (threads, block) in [(1, None), (4, Some(64)), (5, Some(3))] {
        let out = score_events(&contacts, "events.ndjson", &nd, threads, block);
        assert!(out == want, "threads {threads}, block {block:?}");
    }
    let nd_crlf = nd.replace('\n', "\r\n");
    let out = score_events(&contacts, "events.ndjson", &nd_crlf, 4, Some(64));
    assert!(out == want, "NDJSON with CRLF");
}

/// Every block size from 1 to past the file's length, so a block edge falls at every byte:
/// inside quotes, between `""`, between CR and LF, right after the header.
#[test]
fn a_block_edge_at_every_byte_of_a_quoted_file() {
    let m = model(STREAM_MODEL);
    let contacts = "id\nk00\nk01\n";
    let events = "contact_id,event,timestamp,url,text\r\n\
        k00,page_view,2026-05-01T00:00:00Z,\"https://ex.com/pricing?a=1,b=2\",\r\n\
        k01,note,2026-05-02T00:00:00Z,,\"first, \"\"quoted\"\"\r\nline two, \"\"end\"\"\"\r\n\
        k00,note,2026-05-03T00:00:00Z,\"/x,y\",\"one\nline two\n\"\r\n\
        k01,page_view,2026-05-04T00:00:00Z,/pricing,\"\"\r\n\
        k00,page_view,2026-05-05T00:00:00Z,\"/pricing\",\"a,\r\nb\"\r\n";
    let hash = m.reference().hash.clone();
    let want = format!(
        "id,account_id,score,tier,grade,priority,status,segment,percentile,sales_ready,web,notes,top_reasons,last_interesting_moment,model,model_hash\n\
         k00,,3,quiet,,,pool,default,50,,2,1,Pricing view (+2); Two-line note (+1),2026-05-05T00:00:00Z Pricing view (page_view),stream@1,{hash}\n\
         k01,,2,quiet,,,pool,default,0,,1,1,Pricing view (+1); Two-line note (+1),2026-05-04T00:00:00Z Pricing view (page_view),stream@1,{hash}\n"
    );
    let dir = Dir::new();
    let mut j = job(&dir.write("contacts.csv", contacts));
    j.events = Some(dir.write("events.csv", events));
    j.threads = 3;
    for block in 1..=events.len() + 1 {
        j.block_size = Some(block);
        let (out, summary) = run(&j, &m);
        assert_eq!(out, want, "block {block}");
        assert_eq!(summary.events.rows, 5, "block {block}");
    }
}

#[test]
fn output_formats_are_stable_across_threads() {
    let rows = gen_events(6, CONTACTS, 400, "\n");
    let m = model(STREAM_MODEL);
    let dir = Dir::new();
    let mut j = job(&dir.write("contacts.csv", stream_contacts(CONTACTS)));
    j.events = Some(dir.write("events.csv", events_csv(&rows, "\n")));
    j.threads = 1;
    let (want, _) = run_format(&j, &m, Format::Ndjson);
    assert_eq!(want.lines().count(), CONTACTS);
    j.threads = 6;
    j.block_size = Some(33);
    assert!(run_format(&j, &m, Format::Ndjson).0 == want);
}

#[test]
fn a_quote_inside_an_unquoted_field_does_not_move_block_cuts() {
    // Regression: the block splitter counted every quote, while the csv parser treats a quote
    // in the middle of an unquoted field (`a"b`) as a plain character. A later quoted
    // multi-line field then made small blocks cut inside a record.
    let dir = Dir::new();
    let contacts = dir.write("contacts.csv", "id\nc1\nc2\n");
    let mut events = String::from("contact_id,event,timestamp,campaign\n");
    for i in 0..2000 {
        events.push_str(&format!("c1,email_open,2026-05-27T10:00:00Z,pad{i}\n"));
    }
    events.push_str("c1,email_click,2026-05-27T10:00:00Z,a\"b\n");
    events.push_str("c2,email_click,2026-05-27T10:00:00Z,\"nurturing,\nsecond line\"\n");
    events.push_str("c2,email_click,2026-05-27T10:00:00Z,nurturing\n");
    let events = dir.write("events.csv", events);
    let m = example("encharge.toml");
    let mut j = job(&contacts);
    j.events = Some(events);
    let (reference, _) = run(&j, &m);
    for block in 1..=130 {
        for threads in [1, 3] {
            j.block_size = Some(block);
            j.threads = threads;
            let (out, summary) = run(&j, &m);
            assert_eq!(out, reference, "block size {block}, {threads} threads");
            assert_eq!(summary.events.rows, 2003);
        }
    }
    // The nurturing click counts for c2 (+1): the quoted field really was one field.
    assert!(reference.contains("\nc2,,1,"), "{reference}");
}
