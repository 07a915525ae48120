//! Streams an events file into per-contact scoring state, on several threads.
//!
//! One reader cuts the file into blocks at record boundaries (outside quotes); workers parse
//! blocks in any order, each into its own [`StateTable`], and the tables are merged at the end.
//! The accumulators merge without regard to order, so the result is the same for any thread
//! count. Memory is the tables plus a few blocks in flight: it does not grow with the events.

use crate::Progress;
use crate::blocks::{self, Block, Located, Source};
use crate::error::BatchError;
use crate::format::{Format, json_text};
use crate::tables::Contacts;
use leadscore_core::value::parse_time_bytes;
use leadscore_core::{EventType, Props, Scorer, StateTable};
use std::borrow::Cow;
use std::path::Path;

/// What to do with an event whose contact is not in the contacts file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnknownContacts {
    /// Count it, report the first few lines, go on.
    #[default]
    Warn,
    /// Stop with an error at that line.
    Fail,
    /// Skip it silently (used when scoring a single contact).
    Ignore,
}

/// What reading the events found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventStats {
    /// Data rows read.
    pub rows: u64,
    /// Rows of an event type the model uses, for a known contact.
    pub used: u64,
    /// Rows naming a contact that is not in the contacts file.
    pub unknown_contacts: u64,
    /// The first few of those, as (line, contact id).
    pub unknown_examples: Vec<(u64, String)>,
    /// Rows dated after the as-of time (kept out of every score).
    pub after_as_of: u64,
}

impl EventStats {
    fn merge(&mut self, o: EventStats) {
        self.rows += o.rows;
        self.used += o.used;
        self.unknown_contacts += o.unknown_contacts;
        self.unknown_examples.extend(o.unknown_examples);
        self.unknown_examples.sort();
        self.unknown_examples.truncate(MAX_EXAMPLES);
        self.after_as_of += o.after_as_of;
    }
}

const MAX_EXAMPLES: usize = 5;

/// What one worker thread builds (the state itself goes into one shared table).
struct WorkerOut<'t> {
    table: &'t StateTable,
    stats: EventStats,
    /// Unknown contacts as (block, line in block, id), until lines are known.
    unknown: Vec<(usize, u64, String)>,
    /// The last contact looked up: exports are usually grouped by contact.
    last_contact: (String, Option<u32>),
    /// The last event type looked up (bursts of one type are common: opens, page views).
    last_event: (Vec<u8>, Option<EventType>),
}

/// The column layout of an events CSV.
struct Layout {
    contact: usize,
    event: usize,
    timestamp: usize,
    width: usize,
    /// For each model property slot, its column.
    props: Vec<Option<usize>>,
}

/// Which events file to read, and how.
#[derive(Debug, Clone, Copy)]
pub struct EventsInput<'a> {
    /// The file.
    pub path: &'a Path,
    /// Its format, when the extension does not say.
    pub format: Option<Format>,
    /// What to do with events of unknown contacts.
    pub unknown_contacts: UnknownContacts,
    /// Parser threads.
    pub threads: usize,
    /// Bytes per block handed to a thread; `None` for the default (4 MiB). Tests use small
    /// blocks to put record boundaries, quotes and errors across block edges.
    pub block_size: Option<usize>,
}

/// Reads an events file into a state table for `contacts`.
pub fn read_events(
    input: EventsInput<'_>,
    scorer: &Scorer<'_>,
    contacts: &Contacts,
    warnings: &mut Vec<String>,
    progress: &dyn Progress,
) -> Result<(StateTable, EventStats), BatchError> {
    let EventsInput {
        path,
        format,
        unknown_contacts: policy,
        threads,
        block_size,
    } = input;
    let format = format.unwrap_or_else(|| Format::from_path(path));
    let src = Source::open(path, format, "contact_id, event, timestamp")?;
    progress.start("events", src.total);
    // The header (CSV) is mapped here so every worker shares one layout.
    let layout = match format {
        Format::Csv => Some(layout(&src, scorer, warnings)?),
        Format::Ndjson => None,
    };
    // One table for all threads: accumulators take concurrent updates, so there is no copy per
    // thread to allocate and merge.
    let table = StateTable::new(scorer.model(), contacts.rows.len());
    let init = || WorkerOut {
        table: &table,
        stats: EventStats::default(),
        unknown: Vec::new(),
        last_contact: (String::new(), None),
        last_event: (Vec::new(), None),
    };
    let work = |w: &mut WorkerOut, block: &Block| match &layout {
        Some(l) => blocks::csv_records(block, l.width, |rec, line| {
            let props = RecordProps {
                rec,
                cols: &l.props,
            };
            one_event(
                block.seq,
                line,
                rec[l.contact],
                rec[l.event],
                rec[l.timestamp],
                &props,
                scorer,
                contacts,
                policy,
                w,
            )
        }),
        None => ndjson_block(block, scorer, contacts, policy, w),
    };
    let result = src.run(threads, block_size, progress, init, work);
    progress.finish();
    let (workers, lines) = result?;

    let mut stats = EventStats::default();
    let mut unknown = Vec::new();
    for w in workers {
        stats.merge(w.stats);
        unknown.extend(w.unknown);
    }
    let mut examples: Vec<(u64, String)> = unknown
        .into_iter()
        .map(|(seq, l, id)| (lines.line(seq, l), id))
        .collect();
    examples.sort();
    examples.truncate(MAX_EXAMPLES);
    stats.unknown_examples = examples;
    Ok((table, stats))
}

/// Maps the events header to the columns the scorer needs.
fn layout(
    src: &Source<'_>,
    scorer: &Scorer<'_>,
    warnings: &mut Vec<String>,
) -> Result<Layout, BatchError> {
    let need = |n: &str| {
        src.column(n).ok_or_else(|| {
            BatchError::input(
                src.path,
                1,
                None,
                format!(
                    "the header has no `{n}` column (an events file needs contact_id, event, timestamp; found: {})",
                    src.header.join(", ")
                ),
            )
        })
    };
    Ok(Layout {
        contact: need("contact_id")?,
        event: need("event")?,
        timestamp: need("timestamp")?,
        width: src.header.len(),
        props: scorer
            .model()
            .properties()
            .iter()
            .map(|p| {
                let c = src.column(&p.name);
                if c.is_none() {
                    warnings.push(format!(
                        "{}: the model reads event property `{}`, but the file has no such column",
                        src.path.display(),
                        p.name
                    ));
                }
                c
            })
            .collect(),
    })
}

struct RecordProps<'a> {
    rec: &'a [&'a [u8]],
    cols: &'a [Option<usize>],
}

impl Props for RecordProps<'_> {
    fn prop(&self, slot: usize) -> Option<&str> {
        let c = (*self.cols.get(slot)?)?;
        std::str::from_utf8(self.rec.get(c)?).ok()
    }
}

fn trim(b: &[u8]) -> &[u8] {
    b.trim_ascii()
}

/// Handles one event once its fields are known; shared by the CSV and NDJSON paths.
#[allow(clippy::too_many_arguments)]
fn one_event<P: Props + ?Sized>(
    seq: usize,
    line: u64,
    contact: &[u8],
    event: &[u8],
    timestamp: &[u8],
    props: &P,
    scorer: &Scorer<'_>,
    contacts: &Contacts,
    policy: UnknownContacts,
    w: &mut WorkerOut<'_>,
) -> Result<(), Located> {
    let err = |column: &str, message: String| Located {
        seq,
        line_in_block: line,
        column: Some(column.to_owned()),
        message,
    };
    w.stats.rows += 1;
    let ts = trim(timestamp);
    let Some(at) = parse_time_bytes(ts) else {
        return Err(err(
            "timestamp",
            format!(
                "not an RFC 3339 timestamp: {:?}",
                String::from_utf8_lossy(ts)
            ),
        ));
    };
    let cid_bytes = trim(contact);
    // Exports are usually grouped by contact: compare with the last lookup before anything else.
    let found = if w.last_contact.0.as_bytes() == cid_bytes && !cid_bytes.is_empty() {
        w.last_contact.1
    } else {
        let cid = std::str::from_utf8(cid_bytes)
            .map_err(|_| err("contact_id", "not valid UTF-8".into()))?;
        if cid.is_empty() {
            return Err(err("contact_id", "empty contact_id".into()));
        }
        let f = contacts.index.get(cid).copied();
        w.last_contact.0.clear();
        w.last_contact.0.push_str(cid);
        w.last_contact.1 = f;
        f
    };
    let ev_bytes = trim(event);
    let ty = if !ev_bytes.is_empty() && w.last_event.0 == ev_bytes {
        w.last_event.1
    } else {
        let ev =
            std::str::from_utf8(ev_bytes).map_err(|_| err("event", "not valid UTF-8".into()))?;
        if ev.is_empty() {
            return Err(err("event", "empty event type".into()));
        }
        let ty = scorer.model().event_type(ev);
        w.last_event.0.clear();
        w.last_event.0.extend_from_slice(ev_bytes);
        w.last_event.1 = ty;
        ty
    };
    let Some(idx) = found else {
        match policy {
            UnknownContacts::Ignore => {}
            UnknownContacts::Warn => {
                w.stats.unknown_contacts += 1;
                if w.unknown.len() < MAX_EXAMPLES {
                    let cid = w.last_contact.0.clone();
                    w.unknown.push((seq, line, cid));
                }
            }
            UnknownContacts::Fail => {
                return Err(err(
                    "contact_id",
                    format!(
                        "unknown contact `{}` (not in the contacts file)",
                        w.last_contact.0
                    ),
                ));
            }
        }
        return Ok(());
    };
    if at > scorer.as_of() {
        w.stats.after_as_of += 1;
    }
    let Some(ty) = ty else {
        return Ok(());
    };
    w.stats.used += 1;
    scorer
        .observe_shared(w.table, idx as usize, ty, at, props)
        .map_err(|e| {
            err(
                &e.field,
                format!("expected {}, found {:?}", e.expected, e.found),
            )
        })
}

struct JsonProps<'a>(Vec<Option<Cow<'a, str>>>);

impl Props for JsonProps<'_> {
    fn prop(&self, slot: usize) -> Option<&str> {
        self.0.get(slot)?.as_deref()
    }
}

fn ndjson_block(
    block: &Block,
    scorer: &Scorer<'_>,
    contacts: &Contacts,
    policy: UnknownContacts,
    w: &mut WorkerOut<'_>,
) -> Result<(), Located> {
    let model = scorer.model();
    for (i, raw) in block.data.split(|&b| b == b'\n').enumerate() {
        let line = i as u64;
        if raw.trim_ascii().is_empty() {
            continue;
        }
        let err = |column: Option<&str>, message: String| Located {
            seq: block.seq,
            line_in_block: line,
            column: column.map(str::to_owned),
            message,
        };
        let obj: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(raw)
            .map_err(|e| err(None, format!("not a JSON object: {e}")))?;
        let field = |name: &str| -> Result<Cow<'_, str>, Located> {
            obj.get(name)
                .and_then(json_text)
                .ok_or_else(|| err(Some(name), format!("missing `{name}`")))
        };
        let contact = field("contact_id")?;
        let event = field("event")?;
        let timestamp = field("timestamp")?;
        let nested = obj.get("properties").and_then(|p| p.as_object());
        let props = JsonProps(
            model
                .properties()
                .iter()
                .map(|p| {
                    obj.get(&p.name)
                        .or_else(|| nested.and_then(|n| n.get(&p.name)))
                        .and_then(json_text)
                })
                .collect(),
        );
        one_event(
            block.seq,
            line,
            contact.as_bytes(),
            event.as_bytes(),
            timestamp.as_bytes(),
            &props,
            scorer,
            contacts,
            policy,
            w,
        )?;
    }
    Ok(())
}
