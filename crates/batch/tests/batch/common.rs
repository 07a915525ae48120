//! Helpers shared by the batch tests: fixture files in a temp dir, models, jobs and runs.
#![allow(dead_code)]

use leadscore_batch::{
    BatchError, Format, Loaded, NoProgress, ScoreJob, Summary, UnknownContacts, load, score_files,
};
use leadscore_core::{Model, value::parse_time};
use std::path::{Path, PathBuf};

/// The fixed "now" of every test.
pub const AS_OF: &str = "2026-06-01T00:00:00Z";

pub fn as_of() -> i64 {
    parse_time(AS_OF).unwrap()
}

/// A shipped example model, compiled.
pub fn example(name: &str) -> Model {
    let path = format!("{}/../../examples/{name}", env!("CARGO_MANIFEST_DIR"));
    let src = std::fs::read_to_string(&path).unwrap();
    match Model::from_toml(&src, name) {
        Ok(m) => m,
        Err(e) => panic!("{name} does not compile:\n{e}"),
    }
}

/// An inline model, compiled.
pub fn model(src: &str) -> Model {
    match Model::from_toml(src, "test.toml") {
        Ok(m) => m,
        Err(e) => panic!("model does not compile:\n{e}"),
    }
}

/// A temporary directory that holds a test's input files.
pub struct Dir(tempfile::TempDir);

impl Dir {
    pub fn new() -> Self {
        Dir(tempfile::tempdir().unwrap())
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }

    /// Writes `text` to `name` and returns its path.
    pub fn write(&self, name: &str, text: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

/// A job on `contacts` with the test defaults: no accounts or events, warn on unknown
/// contacts, two threads, default blocks.
pub fn job(contacts: &Path) -> ScoreJob {
    ScoreJob {
        contacts: contacts.to_owned(),
        accounts: None,
        events: None,
        input_format: None,
        as_of: as_of(),
        unknown_contacts: UnknownContacts::Warn,
        threads: 2,
        id_column: None,
        block_size: None,
    }
}

/// Scores `job` into memory; panics with the error's text if it fails.
pub fn run_format(job: &ScoreJob, model: &Model, format: Format) -> (String, Summary) {
    match score_files(job, model, Vec::new(), format, None, &NoProgress) {
        Ok((out, summary)) => (String::from_utf8(out).unwrap(), summary),
        Err(e) => panic!("scoring failed: {e}"),
    }
}

/// Scores `job` to CSV in memory.
pub fn run(job: &ScoreJob, model: &Model) -> (String, Summary) {
    run_format(job, model, Format::Csv)
}

/// Scores `job` to CSV and also returns the account roll-up file's text.
pub fn run_with_accounts(job: &ScoreJob, model: &Model) -> (String, String, Summary) {
    let mut accounts = Vec::new();
    let (out, summary) = score_files(
        job,
        model,
        Vec::new(),
        Format::Csv,
        Some(&mut accounts),
        &NoProgress,
    )
    .unwrap_or_else(|e| panic!("scoring failed: {e}"));
    (
        String::from_utf8(out).unwrap(),
        String::from_utf8(accounts).unwrap(),
        summary,
    )
}

/// The error a job ends with; panics if it succeeds.
pub fn run_err(job: &ScoreJob, model: &Model) -> BatchError {
    match score_files(job, model, Vec::new(), Format::Csv, None, &NoProgress) {
        Ok(_) => panic!("expected the job to fail"),
        Err(e) => e,
    }
}

/// The error text a job ends with.
pub fn err_text(job: &ScoreJob, model: &Model) -> String {
    run_err(job, model).to_string()
}

/// Loads a job without scoring.
pub fn loaded(job: &ScoreJob, model: &Model) -> Loaded {
    load(job, model, &NoProgress).unwrap_or_else(|e| panic!("load failed: {e}"))
}

/// Parsed CSV output: the header and each row as a map from column to value.
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn parse(text: &str) -> Table {
        let mut rdr = csv::Reader::from_reader(text.as_bytes());
        let header = rdr.headers().unwrap().iter().map(str::to_owned).collect();
        let rows = rdr
            .records()
            .map(|r| r.unwrap().iter().map(str::to_owned).collect())
            .collect();
        Table { header, rows }
    }

    pub fn col(&self, name: &str) -> usize {
        self.header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column `{name}` in {:?}", self.header))
    }

    /// The row of contact `id`.
    pub fn row(&self, id: &str) -> &[String] {
        self.rows
            .iter()
            .find(|r| r[0] == id)
            .unwrap_or_else(|| panic!("no row for `{id}`"))
    }

    /// One cell.
    pub fn get(&self, id: &str, column: &str) -> &str {
        &self.row(id)[self.col(column)]
    }

    /// Several cells of one row, in the order asked.
    pub fn pick(&self, id: &str, columns: &[&str]) -> Vec<&str> {
        columns.iter().map(|c| self.get(id, c)).collect()
    }

    /// Several cells of a row already found, in the order asked.
    pub fn cells<'a>(&self, row: &'a [String], columns: &[&str]) -> Vec<&'a str> {
        columns.iter().map(|c| row[self.col(c)].as_str()).collect()
    }

    /// One column, in row order.
    pub fn column(&self, name: &str) -> Vec<&str> {
        let c = self.col(name);
        self.rows.iter().map(|r| r[c].as_str()).collect()
    }
}

// ---- the encharge fixture ------------------------------------------------------------------
//
// Five contacts chosen so every kind of rule shows up: c1 sums most of the table, c2 nets out
// negative, c3 is a student (disqualified with an MQL score), c4 has no recent opens or views
// (disqualified by inactivity), c5 unsubscribed. The last event is after the as-of time and
// must not count; `webinar_attended` is a type the model does not use.

pub const ENCHARGE_CONTACTS: &str = include_str!("../../../../examples/data/encharge/contacts.csv");

pub const ENCHARGE_EVENTS: &str = include_str!("../../../../examples/data/encharge/events.csv");

/// The encharge fixture's expected CSV output, with the model's real hash: a change to
/// `examples/encharge.toml` fails the golden tests until this file is checked again.
///
/// By hand: c1 explicit 1+1+1+5+10+10 = 28, behaviour nurture 1 + sales reply 5 + trial 15 +
/// two or more tasks 2 + call 20 = 43 → 71, mql. c2 explicit UK 1 + CMO 5 = 6, behaviour one
/// task 1 + LinkedIn 2 = 3, negative demo cancelled -10 → -1. c3 employees 10 + trial 15 = 25,
/// mql but a student. c4 explicit 1+1+1+10+10 = 23 but its only open is 92 days old. c5
/// Facebook 1, unsubscribed -10 → -9. Percentiles rank the three leads not disqualified
/// (-9, -1, 71): 0, 33.33, 66.67.
pub const ENCHARGE_OUTPUT: &str =
    include_str!("../../../../examples/data/encharge/expected-scores.csv");

/// [`ENCHARGE_OUTPUT`], checked to carry `model`'s hash.
pub fn encharge_output(model: &Model) -> String {
    assert!(
        ENCHARGE_OUTPUT.contains(&model.reference().hash),
        "examples/encharge.toml changed: check examples/data/encharge/expected-scores.csv again"
    );
    ENCHARGE_OUTPUT.to_owned()
}

/// Writes the encharge fixture to `dir` and returns a job on it.
pub fn encharge_job(dir: &Dir) -> ScoreJob {
    let mut j = job(&dir.write("contacts.csv", ENCHARGE_CONTACTS));
    j.events = Some(dir.write("events.csv", ENCHARGE_EVENTS));
    j
}

// ---- a generated events file with awkward quoting -------------------------------------------

/// Counts pricing views (`web`) and two-line notes (`notes`) per contact, one point each, so
/// the expected output follows from the generated rows alone.
pub const STREAM_MODEL: &str = r#"
[model]
name = "stream"
version = "1"
scale = "raw"

[[category]]
id = "web"

[[category]]
id = "notes"

[[rule]]
id = "pricing"
category = "web"
points = 1
label = "Pricing view"
when = { event = "page_view", where = { field = "url", contains = "/pricing" } }
per_occurrence = true

[[rule]]
id = "notes"
category = "notes"
points = 1
label = "Two-line note"
when = { event = "note", where = { field = "text", contains = "line two" } }
per_occurrence = true

[[tier]]
name = "busy"
min = 20

[[tier]]
name = "quiet"
"#;

/// A small deterministic generator (xorshift64*), so tests need no extra dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

/// One generated event: its fields, and whether it scores a pricing view or a note.
#[derive(Clone, Debug)]
pub struct GenEvent {
    pub contact: String,
    pub event: &'static str,
    pub timestamp: String,
    /// The url field as written (quoted when it holds a comma).
    pub url: String,
    /// The text field as written; multi-line notes are quoted and hold `newline`.
    pub text: String,
    pub pricing: bool,
    pub note: bool,
}

impl GenEvent {
    /// The CSV record, without its terminator.
    pub fn csv(&self) -> String {
        format!(
            "{},{},{},{},{}",
            self.contact, self.event, self.timestamp, self.url, self.text
        )
    }

    /// The same event as one NDJSON line, properties nested.
    pub fn ndjson(&self) -> String {
        let unquote = |s: &str| -> String {
            match s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                Some(inner) => inner.replace("\"\"", "\""),
                None => s.to_owned(),
            }
        };
        serde_json::json!({
            "contact_id": self.contact,
            "event": self.event,
            "timestamp": self.timestamp,
            "properties": {"url": unquote(&self.url), "text": unquote(&self.text)},
        })
        .to_string()
    }
}

pub const STREAM_HEADER: &str = "contact_id,event,timestamp,url,text";

/// `n` events over `contacts` contacts (`k00`, `k01`, ...): pricing urls with commas in
/// quotes, notes whose quoted text spans two lines (joined by `newline`) and holds doubled
/// quotes, blog views and events the model ignores.
pub fn gen_events(seed: u64, contacts: usize, n: usize, newline: &str) -> Vec<GenEvent> {
    let mut rng = Rng::new(seed);
    let start = parse_time("2026-01-01T00:00:00Z").unwrap();
    (0..n)
        .map(|_| {
            let contact = format!("k{:02}", rng.below(contacts));
            let timestamp =
                leadscore_core::value::format_time(start + rng.below(150 * 86_400) as i64);
            let mut e = GenEvent {
                contact,
                event: "page_view",
                timestamp,
                url: String::new(),
                text: String::new(),
                pricing: false,
                note: false,
            };
            match rng.below(6) {
                0 => {
                    e.url = format!(
                        "\"https://ex.com/pricing?plan=team,seats={}\"",
                        rng.below(50)
                    );
                    e.pricing = true;
                }
                1 => {
                    e.url = "/pricing".into();
                    e.text = "\"a, b\"".into();
                    e.pricing = true;
                }
                2 => e.url = "\"/blog/why,pricing-matters\"".into(),
                3 => {
                    e.event = "note";
                    e.text = format!(
                        "\"first line, with \"\"quotes\"\"{newline}line two #{}\"",
                        rng.below(1000)
                    );
                    e.note = true;
                }
                4 => {
                    e.event = "note";
                    e.text = "\"just one line, no second\"".into();
                }
                _ => e.event = "email_open",
            }
            e
        })
        .collect()
}

/// An events CSV: the header and `rows`, each line ended by `eol`.
pub fn events_csv(rows: &[GenEvent], eol: &str) -> String {
    let mut s = format!("{STREAM_HEADER}{eol}");
    for r in rows {
        s.push_str(&r.csv());
        s.push_str(eol);
    }
    s
}

/// A contacts CSV for `k00`..: just ids.
pub fn stream_contacts(n: usize) -> String {
    let mut s = String::from("id\n");
    for i in 0..n {
        s.push_str(&format!("k{i:02}\n"));
    }
    s
}

/// The expected (pricing views, notes, latest scoring event) of each contact.
pub fn expected_counts(
    rows: &[GenEvent],
    contacts: usize,
) -> Vec<(String, u32, u32, Option<String>)> {
    (0..contacts)
        .map(|i| {
            let id = format!("k{i:02}");
            let mine = rows.iter().filter(|r| r.contact == id);
            let pricing = mine.clone().filter(|r| r.pricing).count() as u32;
            let notes = mine.clone().filter(|r| r.note).count() as u32;
            let last = mine
                .filter(|r| r.pricing || r.note)
                .map(|r| r.timestamp.clone())
                .max();
            (id, pricing, notes, last)
        })
        .collect()
}
