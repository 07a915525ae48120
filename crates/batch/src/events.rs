//! Streams an events file into per-contact scoring state, on several threads.
//!
//! One reader cuts the file into blocks at record boundaries (outside quotes); workers parse
//! blocks in any order, each into its own [`StateTable`], and the tables are merged at the end.
//! The accumulators merge without regard to order, so the result is the same for any thread
//! count. Memory is the tables plus a few blocks in flight: it does not grow with the events.

use crate::Progress;
use crate::error::BatchError;
use crate::format::{Format, json_text};
use crate::tables::Contacts;
use leadscore_core::value::parse_time_bytes;
use leadscore_core::{Props, Scorer, StateTable};
use std::borrow::Cow;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, mpsc};

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
const BLOCK: usize = 4 << 20;

struct Block {
    seq: usize,
    data: Vec<u8>,
}

/// A problem found in a block, located by (block, line within the block) until the line
/// counts of earlier blocks are known.
struct Located {
    seq: usize,
    line_in_block: u64,
    column: Option<String>,
    message: String,
}

/// Where a worker's findings point, before block lines are turned into file lines.
struct WorkerOut {
    table: StateTable,
    stats: EventStats,
    unknown: Vec<(usize, u64, String)>,
    error: Option<Located>,
    newlines: Vec<(usize, u64)>,
    last_contact: (String, Option<u32>),
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
    let block_size = block_size.unwrap_or(BLOCK).max(1);
    let format = format.unwrap_or_else(|| Format::from_path(path));
    let mut file = std::fs::File::open(path).map_err(|e| BatchError::io(path, e))?;
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    progress.start("events", total);

    // The header (CSV) is read here so every worker shares one layout.
    let mut head = Vec::new();
    let (layout, header_lines, header_bytes) = match format {
        Format::Csv => {
            let (layout, consumed) = read_header(path, &mut file, &mut head, scorer, warnings)?;
            (Some(layout), 1u64, consumed)
        }
        Format::Ndjson => (None, 0u64, 0),
    };
    let leftover = head.split_off(header_bytes);

    let threads = threads.max(1);
    let abort = AtomicBool::new(false);
    let (tx, rx) = mpsc::sync_channel::<Block>(threads * 2);
    let rx = Mutex::new(rx);
    // Spent blocks come back to the reader: fresh 4 MiB buffers cost page faults and zeroing.
    let (give_back, pool) = mpsc::channel::<Vec<u8>>();
    let model = scorer.model();

    let outs: Vec<Result<WorkerOut, BatchError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let rx = &rx;
                let abort = &abort;
                let give_back = give_back.clone();
                let layout = layout.as_ref();
                s.spawn(move || {
                    let mut w = WorkerOut {
                        table: StateTable::new(model, contacts.rows.len()),
                        stats: EventStats::default(),
                        unknown: Vec::new(),
                        error: None,
                        newlines: Vec::new(),
                        last_contact: (String::new(), None),
                    };
                    loop {
                        let block = match rx.lock() {
                            Ok(r) => r.recv(),
                            Err(_) => break,
                        };
                        let Ok(block) = block else { break };
                        // Counted even after an abort: error lines need every earlier block.
                        let n = memchr::memchr_iter(b'\n', &block.data).count() as u64;
                        w.newlines.push((block.seq, n));
                        if abort.load(Ordering::Relaxed) {
                            continue;
                        }
                        let r = match layout {
                            Some(l) => csv_block(&block, l, scorer, contacts, policy, &mut w),
                            None => ndjson_block(&block, scorer, contacts, policy, &mut w),
                        };
                        if let Err(e) = r {
                            w.error = Some(e);
                            abort.store(true, Ordering::Relaxed);
                        }
                        let _ = give_back.send(block.data);
                    }
                    Ok(w)
                })
            })
            .collect();

        drop(give_back);
        let read = split_blocks(
            path, &mut file, leftover, format, block_size, &tx, &pool, &abort, progress,
        );
        drop(tx);
        let mut outs: Vec<Result<WorkerOut, BatchError>> = handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(worker_panic(path))))
            .collect();
        if let Err(e) = read {
            outs.push(Err(e));
        }
        outs
    });
    progress.finish();

    let mut workers = Vec::new();
    for o in outs {
        workers.push(o?);
    }
    // Block line counts turn (block, line in block) into file lines.
    let mut counts: Vec<(usize, u64)> = workers.iter().flat_map(|w| w.newlines.clone()).collect();
    counts.sort();
    let mut first_line = vec![0u64; counts.len() + 1];
    let mut acc = header_lines + 1;
    for (i, (_, n)) in counts.iter().enumerate() {
        first_line[i] = acc;
        acc += n;
    }
    let line_of = |seq: usize, in_block: u64| first_line.get(seq).copied().unwrap_or(0) + in_block;

    if let Some(e) = workers
        .iter()
        .filter_map(|w| w.error.as_ref())
        .min_by_key(|e| (e.seq, e.line_in_block))
    {
        return Err(BatchError::input(
            path,
            line_of(e.seq, e.line_in_block),
            e.column.as_deref(),
            e.message.clone(),
        ));
    }

    let mut iter = workers.into_iter();
    let first = iter.next().expect("at least one worker");
    let mut table = first.table;
    let mut stats = first.stats;
    let mut unknown = first.unknown;
    for w in iter {
        table.merge(&w.table);
        stats.merge(w.stats);
        unknown.extend(w.unknown);
    }
    let mut examples: Vec<(u64, String)> = unknown
        .into_iter()
        .map(|(seq, l, id)| (line_of(seq, l), id))
        .collect();
    examples.sort();
    examples.truncate(MAX_EXAMPLES);
    stats.unknown_examples = examples;
    Ok((table, stats))
}

fn worker_panic(path: &Path) -> BatchError {
    BatchError::Io {
        path: path.to_owned(),
        source: std::io::Error::other("an events worker thread panicked"),
    }
}

/// Reads the header line of an events CSV and maps its columns.
fn read_header(
    path: &Path,
    file: &mut std::fs::File,
    buf: &mut Vec<u8>,
    scorer: &Scorer<'_>,
    warnings: &mut Vec<String>,
) -> Result<(Layout, usize), BatchError> {
    let mut chunk = vec![0u8; 64 * 1024];
    let end = loop {
        if let Some(i) = memchr::memchr(b'\n', buf) {
            break i + 1;
        }
        let n = file.read(&mut chunk).map_err(|e| BatchError::io(path, e))?;
        if n == 0 {
            break buf.len();
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(&buf[..end]);
    let mut rec = csv::StringRecord::new();
    let ok = rdr
        .read_record(&mut rec)
        .map_err(|e| crate::tables::csv_error(path, e))?;
    if !ok {
        return Err(BatchError::input(
            path,
            1,
            None,
            "the file is empty: expected a header with contact_id, event, timestamp",
        ));
    }
    let names: Vec<String> = rec
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_owned())
        .collect();
    let col = |n: &str| names.iter().position(|h| h == n);
    let need = |n: &str| {
        col(n).ok_or_else(|| {
            BatchError::input(
                path,
                1,
                None,
                format!(
                    "the header has no `{n}` column (an events file needs contact_id, event, timestamp; found: {})",
                    names.join(", ")
                ),
            )
        })
    };
    let layout = Layout {
        contact: need("contact_id")?,
        event: need("event")?,
        timestamp: need("timestamp")?,
        width: names.len(),
        props: scorer
            .model()
            .properties()
            .iter()
            .map(|p| {
                let c = col(&p.name);
                if c.is_none() {
                    warnings.push(format!(
                        "{}: the model reads event property `{}`, but the file has no such column",
                        path.display(),
                        p.name
                    ));
                }
                c
            })
            .collect(),
    };
    Ok((layout, end))
}

/// Cuts the rest of the file into blocks that end at a record boundary and sends them on.
#[allow(clippy::too_many_arguments)]
fn split_blocks(
    path: &Path,
    file: &mut std::fs::File,
    mut carry: Vec<u8>,
    format: Format,
    block_size: usize,
    tx: &mpsc::SyncSender<Block>,
    pool: &mpsc::Receiver<Vec<u8>>,
    abort: &AtomicBool,
    progress: &dyn Progress,
) -> Result<(), BatchError> {
    let mut seq = 0;
    let mut eof = false;
    progress.advance(0);
    while !eof {
        if abort.load(Ordering::Relaxed) {
            return Ok(());
        }
        let mut buf = pool.try_recv().unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(&carry);
        let start = buf.len();
        buf.resize(start + block_size, 0);
        let mut filled = start;
        while filled < buf.len() {
            let n = file
                .read(&mut buf[filled..])
                .map_err(|e| BatchError::io(path, e))?;
            if n == 0 {
                eof = true;
                break;
            }
            filled += n;
        }
        buf.truncate(filled);
        progress.advance((filled - start) as u64);
        let cut = if eof {
            buf.len()
        } else {
            match record_end(&buf, format) {
                Some(c) => c,
                // No boundary in the whole block: one huge record; read on.
                None => {
                    carry.clear();
                    carry.extend_from_slice(&buf);
                    continue;
                }
            }
        };
        carry.clear();
        carry.extend_from_slice(&buf[cut..]);
        buf.truncate(cut);
        if buf.is_empty() {
            continue;
        }
        if tx.send(Block { seq, data: buf }).is_err() {
            return Ok(());
        }
        seq += 1;
    }
    Ok(())
}

/// The end of the last complete record in `buf` (just past a newline outside quotes).
fn record_end(buf: &[u8], format: Format) -> Option<usize> {
    if format == Format::Ndjson || memchr::memchr(b'"', buf).is_none() {
        return memchr::memrchr(b'\n', buf).map(|i| i + 1);
    }
    // Blocks always start outside quotes, so parity from the block start is exact.
    let mut in_quotes = false;
    let mut last = None;
    for i in memchr::memchr2_iter(b'"', b'\n', buf) {
        if buf[i] == b'"' {
            in_quotes = !in_quotes;
        } else if !in_quotes {
            last = Some(i + 1);
        }
    }
    last
}

struct RecordProps<'a> {
    rec: &'a csv::ByteRecord,
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
    w: &mut WorkerOut,
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
    let cid = std::str::from_utf8(trim(contact))
        .map_err(|_| err("contact_id", "not valid UTF-8".into()))?;
    if cid.is_empty() {
        return Err(err("contact_id", "empty contact_id".into()));
    }
    let ev =
        std::str::from_utf8(trim(event)).map_err(|_| err("event", "not valid UTF-8".into()))?;
    if ev.is_empty() {
        return Err(err("event", "empty event type".into()));
    }
    // Exports are usually grouped by contact: remember the last lookup.
    let found = if w.last_contact.0.as_bytes() == cid.as_bytes() {
        w.last_contact.1
    } else {
        let f = contacts.index.get(cid).copied();
        w.last_contact.0.clear();
        w.last_contact.0.push_str(cid);
        w.last_contact.1 = f;
        f
    };
    let Some(idx) = found else {
        match policy {
            UnknownContacts::Ignore => {}
            UnknownContacts::Warn => {
                w.stats.unknown_contacts += 1;
                if w.unknown.len() < MAX_EXAMPLES {
                    w.unknown.push((seq, line, cid.to_owned()));
                }
            }
            UnknownContacts::Fail => {
                return Err(err(
                    "contact_id",
                    format!("unknown contact `{cid}` (not in the contacts file)"),
                ));
            }
        }
        return Ok(());
    };
    if at > scorer.as_of() {
        w.stats.after_as_of += 1;
    }
    let Some(ty) = scorer.model().event_type(ev) else {
        return Ok(());
    };
    w.stats.used += 1;
    scorer
        .observe_at(&mut w.table, idx as usize, ty, at, props)
        .map_err(|e| {
            err(
                &e.field,
                format!("expected {}, found {:?}", e.expected, e.found),
            )
        })
}

fn csv_block(
    block: &Block,
    l: &Layout,
    scorer: &Scorer<'_>,
    contacts: &Contacts,
    policy: UnknownContacts,
    w: &mut WorkerOut,
) -> Result<(), Located> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(&block.data[..]);
    let mut rec = csv::ByteRecord::new();
    loop {
        let line = rdr.position().line().saturating_sub(1);
        match rdr.read_byte_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => return Ok(()),
            Err(e) => {
                return Err(Located {
                    seq: block.seq,
                    line_in_block: line,
                    column: None,
                    message: e.to_string(),
                });
            }
        }
        let line = rec.position().map_or(line, |p| p.line() - 1);
        if rec.len() == 1 && rec[0].is_empty() {
            continue;
        }
        if rec.len() != l.width {
            return Err(Located {
                seq: block.seq,
                line_in_block: line,
                column: None,
                message: format!(
                    "expected {} fields like the header, found {}",
                    l.width,
                    rec.len()
                ),
            });
        }
        let props = RecordProps {
            rec: &rec,
            cols: &l.props,
        };
        one_event(
            block.seq,
            line,
            &rec[l.contact],
            &rec[l.event],
            &rec[l.timestamp],
            &props,
            scorer,
            contacts,
            policy,
            w,
        )?;
    }
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
    w: &mut WorkerOut,
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
