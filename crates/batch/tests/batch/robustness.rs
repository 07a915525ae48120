//! Property tests: mangled contacts and events files never panic the batch scorer.
//!
//! Random bytes and random CSV-ish text (quotes, CRLF, byte-order marks, commas, empty lines,
//! huge fields, bad UTF-8) go in as the contacts or the events file of the encharge model,
//! read in tiny blocks on one to four threads. Whatever the input, the run ends with scores or
//! with an error that starts with the path of the file at fault.

use crate::common::*;
use leadscore_batch::{Format, NoProgress, ScoreJob, UnknownContacts, score_files};
use leadscore_core::Model;
use proptest::prelude::*;
use std::path::Path;
use std::sync::LazyLock;

static ENCHARGE: LazyLock<Model> = LazyLock::new(|| example("encharge.toml"));

/// `cases` per property; `PROPTEST_CASES` in the environment overrides it for a longer hunt.
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---- generators -----------------------------------------------------------------------------

/// Field text for any column: ids, event types, timestamps and numbers the model reads, and
/// the awkward things exports hold.
const FIELDS: &[&str] = &[
    "",
    " ",
    "c1",
    "c2",
    "c5",
    " c3 ",
    "nobody",
    "a1",
    "US",
    "New York",
    "CEO",
    "decision_maker",
    "30",
    "1e400",
    "NaN",
    "-0",
    "1,000",
    "email_open",
    "email_click",
    "email_reply",
    "trial_signup",
    "task_created",
    "demo_cancelled",
    "webinar_attended",
    "EMAIL_OPEN",
    "2026-05-27T10:00:00Z",
    "2026-05-27",
    "2026-06-02T00:00:00Z",
    "2026-02-30T00:00:00Z",
    "+275760-09-13T00:00:00Z",
    "9999-12-31T23:59:59+14:00",
    "0000-01-01T00:00:00-23:59",
    "1970-01-01T00:00:00Z",
    "yesterday",
    "nurturing",
    "sales",
    "\"quoted, with a comma\"",
    "\"doubled \"\"quotes\"\"\"",
    "\"two\nlines\"",
    "\"two\r\nlines\"",
    "\"unterminated",
    "stray\"quote",
    "\"\"",
    "\u{feff}",
    "\u{feff}id",
    "é✓",
    "\t",
    "{\"contact_id\":\"c1\"}",
];

/// Header fields: the columns the files need, in any order, and near misses.
const HEADERS: &[&str] = &[
    "id",
    "id",
    "account_id",
    "country",
    "city",
    "age",
    "role",
    "employees",
    "purchase_authority",
    "contact_id",
    "contact_id",
    "event",
    "event",
    "timestamp",
    "timestamp",
    "campaign",
    " id ",
    "\u{feff}id",
    "\u{feff}contact_id",
    "\"id\"",
    "\"contact_id\"",
    "ID",
    "",
];

/// One piece of a file: a field, a separator, a line end, or something worse.
#[derive(Debug, Clone)]
enum Piece {
    Text(&'static str),
    Comma,
    Eol(&'static str),
    Huge(u8, usize),
    Bytes(Vec<u8>),
    Unicode(String),
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        12 => proptest::sample::select(FIELDS).prop_map(Piece::Text),
        10 => Just(Piece::Comma),
        4 => proptest::sample::select(&["\n", "\r\n", "\r", "\n\n", "\r\n\r\n"][..])
            .prop_map(Piece::Eol),
        1 => (proptest::sample::select(&b"x\",\n"[..]), 100..5000usize)
            .prop_map(|(b, n)| Piece::Huge(b, n)),
        1 => proptest::collection::vec(any::<u8>(), 1..4).prop_map(Piece::Bytes),
        1 => any::<String>().prop_map(|s| Piece::Unicode(s.chars().take(8).collect())),
    ]
}

fn render(pieces: &[Piece], out: &mut Vec<u8>) {
    for p in pieces {
        match p {
            Piece::Text(t) => out.extend_from_slice(t.as_bytes()),
            Piece::Comma => out.push(b','),
            Piece::Eol(e) => out.extend_from_slice(e.as_bytes()),
            Piece::Huge(b, n) => out.extend(std::iter::repeat_n(*b, *n)),
            Piece::Bytes(b) => out.extend_from_slice(b),
            Piece::Unicode(s) => out.extend_from_slice(s.as_bytes()),
        }
    }
}

/// CSV-ish text: a header (often one the file needs, in any order, with a BOM or CRLF) and
/// rows of fields, separators and line ends in any mix.
fn csv_ish() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<bool>(),
        proptest::collection::vec(proptest::sample::select(HEADERS), 0..7),
        proptest::sample::select(&["\n", "\r\n", ""][..]),
        proptest::collection::vec(piece(), 0..120),
    )
        .prop_map(|(bom, header, eol, body)| {
            let mut out = Vec::new();
            if bom {
                out.extend_from_slice("\u{feff}".as_bytes());
            }
            out.extend_from_slice(header.join(",").as_bytes());
            out.extend_from_slice(eol.as_bytes());
            render(&body, &mut out);
            out
        })
}

/// Rows that are nearly right: the fixture's lines with a field replaced (most often), random
/// pieces spliced in, lines dropped, doubled or replaced, so most of a file parses and the
/// trouble is deep inside it. With `padding`, harmless rows after the first line push the
/// damage past [`PADDING`] bytes (see there).
fn damaged(good: Vec<u8>, padding: Option<fn(usize) -> String>) -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        6 => proptest::sample::select(FIELDS).prop_map(Piece::Text),
        1 => piece(),
    ];
    let edit = (any::<prop::sample::Index>(), 0..8u8, piece);
    (
        any::<bool>(),
        proptest::collection::vec(edit, 1..5),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(move |(crlf, edits, bom, pad)| {
            let mut lines: Vec<Vec<u8>> = good
                .split(|&b| b == b'\n')
                .filter(|l| !l.is_empty())
                .map(<[u8]>::to_vec)
                .collect();
            for (at, what, p) in edits {
                if lines.is_empty() {
                    break;
                }
                let i = at.index(lines.len());
                let mut piece = Vec::new();
                render(std::slice::from_ref(&p), &mut piece);
                match what {
                    0 => {
                        lines.remove(i);
                    }
                    1 => lines.insert(i, lines[i].clone()),
                    2 => {
                        let line = &mut lines[i];
                        let cut = at.index(line.len() + 1);
                        line.splice(cut..cut, piece);
                    }
                    3 => lines[i] = piece,
                    _ => {
                        // Replace one field, keeping the others.
                        let mut fields: Vec<Vec<u8>> =
                            lines[i].split(|&b| b == b',').map(<[u8]>::to_vec).collect();
                        let f = at.index(fields.len());
                        fields[f] = piece;
                        lines[i] = fields.join(&b',');
                    }
                }
            }
            if let Some(row) = padding.filter(|_| pad && !lines.is_empty()) {
                let mut rows = Vec::new();
                let mut i = 0;
                while rows.len() < PADDING {
                    rows.extend_from_slice(row(i).as_bytes());
                    rows.push(b'\n');
                    i += 1;
                }
                rows.pop();
                lines.insert(1, rows);
            }
            let eol: &[u8] = if crlf { b"\r\n" } else { b"\n" };
            let mut out = Vec::new();
            if bom {
                out.extend_from_slice("\u{feff}".as_bytes());
            }
            for l in lines {
                out.extend_from_slice(&l);
                out.extend_from_slice(eol);
            }
            out
        })
}

/// Bytes of padding rows: a CSV file's reader takes its header and the rest of the first
/// 64 KiB in one piece, so only what lies past that is cut into the job's tiny blocks.
const PADDING: usize = 70_000;

/// Padding contacts: unique ids, every column filled.
fn contact_row(i: usize) -> String {
    format!("p{i},a9,US,Paris,40,CEO,10,none")
}

/// Padding events: of a type the model ignores, for a known contact.
fn event_row(i: usize) -> String {
    format!("c4,padding,2026-05-01T00:00:{:02}Z,", i % 60)
}

/// A mangled file: random bytes, CSV-ish text, or `good` (in the format of `ext`) damaged.
fn mangled(
    good: &'static str,
    padding: fn(usize) -> String,
    ext: &'static str,
) -> impl Strategy<Value = Vec<u8>> {
    let padding = (ext == "csv").then_some(padding);
    prop_oneof![
        1 => proptest::collection::vec(any::<u8>(), 0..600),
        2 => csv_ish(),
        3 => damaged(fixture(good, ext), padding),
    ]
}

/// How to run: threads, block size (tiny, so records, quotes and errors straddle blocks),
/// unknown-contact policy, file extension (`.csv` or an NDJSON one), output format.
#[derive(Debug, Clone)]
struct Setup {
    threads: usize,
    block_size: usize,
    policy: UnknownContacts,
    ext: &'static str,
    output: Format,
}

fn setup() -> impl Strategy<Value = Setup> {
    (
        1..=4usize,
        prop_oneof![1..8usize, 8..64usize, 64..512usize],
        proptest::sample::select(
            &[
                UnknownContacts::Warn,
                UnknownContacts::Fail,
                UnknownContacts::Ignore,
            ][..],
        ),
        prop_oneof![4 => Just("csv"), 1 => Just("ndjson")],
        prop_oneof![Just(Format::Csv), Just(Format::Ndjson)],
    )
        .prop_map(|(threads, block_size, policy, ext, output)| Setup {
            threads,
            block_size,
            policy,
            ext,
            output,
        })
}

// ---- the properties -------------------------------------------------------------------------

/// Which file an error may name.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Blame {
    /// The contacts file; the events file too, but only for an event naming a contact the
    /// mangled contacts file lost (with `--unknown-contacts fail`).
    Contacts,
    /// The events file only.
    Events,
}

/// Writes the two files, scores them and checks the outcome: scores, or an error whose text
/// starts with the path of the file at fault.
fn check_run(
    setup: &Setup,
    contacts: &[u8],
    events: Option<&[u8]>,
    blame: Blame,
) -> Result<(), TestCaseError> {
    let dir = Dir::new();
    let contacts_path = dir.write(&format!("contacts.{}", setup.ext), contacts);
    let events_path = events.map(|e| dir.write(&format!("events.{}", setup.ext), e));
    let job = ScoreJob {
        threads: setup.threads,
        block_size: Some(setup.block_size),
        unknown_contacts: setup.policy,
        events: events_path.clone(),
        ..crate::common::job(&contacts_path)
    };
    match score_files(&job, &ENCHARGE, Vec::new(), setup.output, None, &NoProgress) {
        Ok((out, summary)) => {
            // CSV output always has its header; NDJSON has a line per contact, maybe none.
            prop_assert!(
                setup.output == Format::Ndjson || !out.is_empty(),
                "no header written"
            );
            prop_assert!(summary.tiers.values().sum::<u64>() == summary.contacts);
        }
        Err(e) => {
            let text = e.to_string();
            let names = |p: &Path| text.starts_with(&p.display().to_string());
            let ok = match (blame, &events_path) {
                (Blame::Events, Some(ev)) => names(ev),
                (Blame::Events, None) => false,
                (Blame::Contacts, Some(ev)) if names(ev) => {
                    setup.policy == UnknownContacts::Fail && text.contains("unknown contact")
                }
                (Blame::Contacts, _) => names(&contacts_path),
            };
            prop_assert!(ok, "the error names the wrong file: {text}");
            // A worker thread that panicked surfaces as an I/O error on the file.
            prop_assert!(!text.contains("panicked"), "{text}");
        }
    }
    Ok(())
}

/// The encharge fixture as NDJSON, for runs whose files are read as NDJSON.
fn fixture(csv: &str, ext: &str) -> Vec<u8> {
    if ext == "csv" {
        return csv.as_bytes().to_vec();
    }
    let mut rdr = csv::Reader::from_reader(csv.as_bytes());
    let header = rdr.headers().unwrap().clone();
    let mut out = Vec::new();
    for r in rdr.records() {
        let obj: serde_json::Map<String, serde_json::Value> = header
            .iter()
            .zip(r.unwrap().iter())
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.to_owned(), v.into()))
            .collect();
        out.extend_from_slice(serde_json::Value::Object(obj).to_string().as_bytes());
        out.push(b'\n');
    }
    out
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn mangled_contacts_never_panic(
        (setup, contacts) in setup().prop_flat_map(|s| {
            let ext = s.ext;
            (Just(s), mangled(ENCHARGE_CONTACTS, contact_row, ext))
        }),
        with_events in any::<bool>(),
    ) {
        let events = with_events.then(|| fixture(ENCHARGE_EVENTS, setup.ext));
        check_run(&setup, &contacts, events.as_deref(), Blame::Contacts)?;
    }

    #[test]
    fn mangled_events_never_panic_and_name_the_events_file(
        (setup, events) in setup().prop_flat_map(|s| {
            let ext = s.ext;
            (Just(s), mangled(ENCHARGE_EVENTS, event_row, ext))
        }),
    ) {
        let contacts = fixture(ENCHARGE_CONTACTS, setup.ext);
        check_run(&setup, &contacts, Some(&events), Blame::Events)?;
    }
}

#[test]
fn the_fixture_scores_in_both_formats() {
    for ext in ["csv", "ndjson"] {
        let setup = Setup {
            threads: 2,
            block_size: 7,
            policy: UnknownContacts::Warn,
            ext,
            output: Format::Csv,
        };
        let dir = Dir::new();
        let contacts = dir.write(&format!("contacts.{ext}"), fixture(ENCHARGE_CONTACTS, ext));
        let job = ScoreJob {
            threads: setup.threads,
            block_size: Some(setup.block_size),
            events: Some(dir.write(&format!("events.{ext}"), fixture(ENCHARGE_EVENTS, ext))),
            ..crate::common::job(&contacts)
        };
        let (out, _) = run(&job, &ENCHARGE);
        assert_eq!(out, encharge_output(&ENCHARGE), "{ext}");
    }
}
