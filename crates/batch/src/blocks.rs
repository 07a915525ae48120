//! Parallel reading of a CSV or NDJSON file in blocks cut at record boundaries.
//!
//! One reader cuts the file into blocks that end just past a newline outside quotes; worker
//! threads take blocks in any order, each into its own state. Memory is the states plus a few
//! blocks in flight (spent blocks go back to the reader), never the whole file. A problem is
//! located by (block, line in block) until every block's newline count is known, then turned
//! into an exact file line.

use crate::Progress;
use crate::error::BatchError;
use crate::format::Format;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, mpsc};

/// Default bytes per block.
pub(crate) const BLOCK: usize = 4 << 20;

/// A run of whole records.
pub(crate) struct Block {
    /// Position in the file, 0 for the first block after the header.
    pub seq: usize,
    /// The bytes.
    pub data: Vec<u8>,
}

/// A problem in a block, before block lines are file lines.
pub(crate) struct Located {
    pub seq: usize,
    /// 0-based line within the block.
    pub line_in_block: u64,
    pub column: Option<String>,
    pub message: String,
}

/// Turns (block, line in block) into 1-based file lines.
pub(crate) struct Lines {
    first_line: Vec<u64>,
}

impl Lines {
    pub fn line(&self, seq: usize, in_block: u64) -> u64 {
        self.first_line.get(seq).copied().unwrap_or(0) + in_block
    }
}

/// An opened file, its header (CSV) and what was read past the header.
pub(crate) struct Source<'a> {
    pub path: &'a Path,
    file: std::fs::File,
    leftover: Vec<u8>,
    pub format: Format,
    /// The CSV header's fields, trimmed, without a byte-order mark.
    pub header: Vec<String>,
    /// File size in bytes, for progress.
    pub total: u64,
    /// Bytes already read when opening (header and what followed it).
    pre_read: u64,
}

impl<'a> Source<'a> {
    /// Opens `path`; for CSV reads the header line.
    /// `header_needs` says what an empty file lacks, e.g. "contact_id, event, timestamp".
    pub fn open(path: &'a Path, format: Format, header_needs: &str) -> Result<Self, BatchError> {
        let mut file = std::fs::File::open(path).map_err(|e| BatchError::io(path, e))?;
        let total = file.metadata().map(|m| m.len()).unwrap_or(0);
        let mut buf = Vec::new();
        let mut header = Vec::new();
        let mut consumed = 0;
        if format == Format::Csv {
            let mut chunk = vec![0u8; 64 * 1024];
            let end = loop {
                if let Some(i) = memchr::memchr(b'\n', &buf) {
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
                    format!("the file is empty: expected a header with {header_needs}"),
                ));
            }
            header = rec
                .iter()
                .map(|h| h.trim().trim_start_matches('\u{feff}').trim().to_owned())
                .collect();
            consumed = end;
        }
        let pre_read = buf.len() as u64;
        Ok(Self {
            path,
            file,
            pre_read,
            leftover: buf.split_off(consumed),
            format,
            header,
            total,
        })
    }

    /// The position of a header column.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    /// Runs `work` over every block on `threads` threads, each thread with its own state from
    /// `init`. Stops at the first problem and reports it at its file line.
    pub fn run<S: Send>(
        mut self,
        threads: usize,
        block_size: Option<usize>,
        progress: &dyn Progress,
        init: impl Fn() -> S + Sync,
        work: impl Fn(&mut S, &Block) -> Result<(), Located> + Sync,
    ) -> Result<(Vec<S>, Lines), BatchError> {
        let path = self.path;
        let threads = threads.max(1);
        let block_size = block_size.unwrap_or(BLOCK).max(1);
        let header_lines = u64::from(self.format == Format::Csv);
        // The first block that failed (none: usize::MAX). Only later blocks may be skipped: an
        // earlier one, still in another worker's hands, can hold an earlier error.
        let abort = AtomicUsize::new(usize::MAX);
        let (tx, rx) = mpsc::sync_channel::<Block>(threads * 2);
        let rx = Mutex::new(rx);
        // Spent blocks come back to the reader: fresh buffers cost page faults and zeroing.
        let (give_back, pool) = mpsc::channel::<Vec<u8>>();

        type Out<S> = (S, Vec<(usize, u64)>, Option<Located>);
        let (outs, read): (Vec<Option<Out<S>>>, Result<(), BatchError>) = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    let (rx, abort, init, work) = (&rx, &abort, &init, &work);
                    let give_back = give_back.clone();
                    s.spawn(move || {
                        let mut state = init();
                        let mut newlines = Vec::new();
                        let mut error = None;
                        loop {
                            let block = match rx.lock() {
                                Ok(r) => r.recv(),
                                Err(_) => break,
                            };
                            let Ok(block) = block else { break };
                            // Counted even after an abort: error lines need every block
                            // before the failing one.
                            let n = memchr::memchr_iter(b'\n', &block.data).count() as u64;
                            newlines.push((block.seq, n));
                            if block.seq < abort.load(Ordering::Relaxed)
                                && let Err(e) = work(&mut state, &block)
                            {
                                error = Some(e);
                                abort.fetch_min(block.seq, Ordering::Relaxed);
                            }
                            let _ = give_back.send(block.data);
                        }
                        (state, newlines, error)
                    })
                })
                .collect();
            drop(give_back);
            let read = self.split(block_size, &tx, &pool, &abort, progress);
            drop(tx);
            let outs = handles.into_iter().map(|h| h.join().ok()).collect();
            (outs, read)
        });
        read?;
        let mut states = Vec::with_capacity(outs.len());
        let mut counts = Vec::new();
        let mut errors = Vec::new();
        for o in outs {
            let Some((state, newlines, error)) = o else {
                return Err(BatchError::Io {
                    path: path.to_owned(),
                    source: std::io::Error::other("a reader thread panicked"),
                });
            };
            states.push(state);
            counts.extend(newlines);
            errors.extend(error);
        }
        counts.sort_unstable();
        let mut first_line = Vec::with_capacity(counts.len());
        let mut at = header_lines + 1;
        for (_, n) in &counts {
            first_line.push(at);
            at += n;
        }
        let lines = Lines { first_line };
        if let Some(e) = errors.into_iter().min_by_key(|e| (e.seq, e.line_in_block)) {
            return Err(BatchError::input(
                path,
                lines.line(e.seq, e.line_in_block),
                e.column.as_deref(),
                e.message,
            ));
        }
        Ok((states, lines))
    }

    /// Cuts the rest of the file into blocks that end at a record boundary and sends them on.
    fn split(
        &mut self,
        block_size: usize,
        tx: &mpsc::SyncSender<Block>,
        pool: &mpsc::Receiver<Vec<u8>>,
        abort: &AtomicUsize,
        progress: &dyn Progress,
    ) -> Result<(), BatchError> {
        let mut carry = std::mem::take(&mut self.leftover);
        progress.advance(self.pre_read);
        let mut seq = 0;
        let mut eof = false;
        while !eof {
            if abort.load(Ordering::Relaxed) != usize::MAX {
                return Ok(());
            }
            let mut buf = pool.try_recv().unwrap_or_default();
            buf.clear();
            buf.extend_from_slice(&carry);
            let start = buf.len();
            buf.resize(start + block_size, 0);
            let mut filled = start;
            while filled < buf.len() {
                let n = self
                    .file
                    .read(&mut buf[filled..])
                    .map_err(|e| BatchError::io(self.path, e))?;
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
                match record_end(&buf, self.format) {
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
}

/// The end of the last complete record in `buf` (just past a newline outside quotes).
fn record_end(buf: &[u8], format: Format) -> Option<usize> {
    if format == Format::Ndjson || memchr::memchr(b'"', buf).is_none() {
        return memchr::memrchr(b'\n', buf).map(|i| i + 1);
    }
    // The same states as the csv parser, so both agree on where records end: a quote opens a
    // quoted field only at the start of a field; inside an unquoted field it is a plain
    // character; inside quotes `""` is an escaped quote and a lone `"` closes the quotes.
    // Blocks always start at a record boundary, so the scan starts at the start of a field.
    #[derive(PartialEq)]
    enum State {
        FieldStart,
        Unquoted,
        Quoted,
        /// Just after a quote inside quotes: `"` again is an escape, anything else ends them.
        AfterQuote,
    }
    let mut state = State::FieldStart;
    let mut last = None;
    let mut prev: Option<usize> = None;
    for i in memchr::memchr3_iter(b'"', b',', b'\n', buf) {
        // Plain bytes since the previous special one start or continue an unquoted field.
        let gap = i > prev.map_or(0, |p| p + 1);
        if gap {
            match state {
                State::FieldStart | State::AfterQuote => state = State::Unquoted,
                State::Unquoted | State::Quoted => {}
            }
        }
        prev = Some(i);
        state = match (state, buf[i]) {
            (State::Quoted, b'"') => State::AfterQuote,
            (State::Quoted, _) => State::Quoted,
            (State::AfterQuote, b'"') => State::Quoted,
            (State::FieldStart, b'"') => State::Quoted,
            (State::Unquoted, b'"') => State::Unquoted,
            (_, b',') => State::FieldStart,
            (_, _) => {
                // A newline outside quotes ends a record.
                last = Some(i + 1);
                State::FieldStart
            }
        };
    }
    last
}

/// Line numbers within a block from byte offsets, counting only the bytes since the last call.
#[derive(Default)]
struct LineCounter {
    counted_to: usize,
    line: u64,
}

impl LineCounter {
    /// The 0-based line of `byte` (offsets only move forward; `None` means "where we are").
    fn at(&mut self, data: &[u8], byte: Option<u64>) -> u64 {
        let byte = byte.map_or(self.counted_to, |b| b as usize);
        let mut byte = byte.min(data.len()).max(self.counted_to);
        // On CRLF files a record's reported start can be the `\n` ending the previous one; a
        // record never starts with a line break, so step over any.
        while byte < data.len() && matches!(data[byte], b'\n' | b'\r') {
            byte += 1;
        }
        self.line += memchr::memchr_iter(b'\n', &data[self.counted_to..byte]).count() as u64;
        self.counted_to = byte;
        self.line
    }
}

/// Parses the CSV records of a block, calling `each` with the record's fields and its 0-based
/// line in the block. Checks the field count against the header's.
///
/// A block without a single `"` byte cannot hold a quoted field, so RFC 4180 reduces to
/// splitting on newlines and commas; that path skips the general parser, which is most of the
/// cost of reading a typical export. Blocks with quotes go through the `csv` crate.
pub(crate) fn csv_records(
    block: &Block,
    width: usize,
    mut each: impl FnMut(&[&[u8]], u64) -> Result<(), Located>,
) -> Result<(), Located> {
    let wrong_width = |line: u64, found: usize| Located {
        seq: block.seq,
        line_in_block: line,
        column: None,
        message: format!("expected {width} fields like the header, found {found}"),
    };
    let mut fields: Vec<&[u8]> = Vec::with_capacity(width);
    let data = &block.data[..];
    if memchr::memchr(b'"', data).is_none() {
        let mut start = 0;
        let mut line = 0u64;
        while start < data.len() {
            let end = memchr::memchr(b'\n', &data[start..]).map_or(data.len(), |i| start + i);
            let mut row = &data[start..end];
            if let [rest @ .., b'\r'] = row {
                row = rest;
            }
            if !row.is_empty() {
                fields.clear();
                fields.extend(row.split(|&b| b == b','));
                if fields.len() != width {
                    return Err(wrong_width(line, fields.len()));
                }
                each(&fields, line)?;
            }
            start = end + 1;
            line += 1;
        }
        return Ok(());
    }
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(data);
    let mut rec = csv::ByteRecord::new();
    // Lines are counted here from byte offsets: the csv crate's own line numbers fall behind on
    // CRLF files. Counting only the bytes since the last record keeps this linear.
    let mut counter = LineCounter::default();
    let mut line_at = |byte: Option<u64>| counter.at(data, byte);
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => return Ok(()),
            Err(e) => {
                let byte = e.position().map(|p| p.byte());
                return Err(Located {
                    seq: block.seq,
                    line_in_block: line_at(byte),
                    column: None,
                    message: e.to_string(),
                });
            }
        }
        let line = line_at(rec.position().map(|p| p.byte()));
        if rec.len() == 1 && rec[0].is_empty() {
            continue;
        }
        if rec.len() != width {
            return Err(wrong_width(line, rec.len()));
        }
        let quoted: Vec<&[u8]> = rec.iter().collect();
        each(&quoted, line)?;
    }
}
