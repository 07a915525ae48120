//! The fast prediction path: the CSV in memory, cut into blocks at record boundaries, each block
//! parsed, encoded, scored and formatted by a worker thread without per-row allocation, and
//! the blocks written in input order. It writes the same bytes as the general path (read the
//! table, encode, score, format): the same parsing of every cell, the same sums in the same
//! order, the same CSV quoting (a field is quoted only when it holds a comma, a quote, a CR or an
//! LF, as the csv writer quotes it). Whatever it does not handle — a header or id it cannot find,
//! a record with the wrong number of fields, a blank line, a lone carriage return, a quote
//! inside an unquoted field, invalid UTF-8 — makes it give up before writing anything, and the
//! caller runs the general path, which reports the problem as it always has.

use crate::calibrate::Calibrator;
use crate::decimal::push_fixed;
use crate::encode::{Encoding, MISSING_LEVEL, OTHER, bin_of, bins_start};
use crate::gbm::Gbm;
use crate::model::{LearnedModel, Learner};
use crate::table::{
    ColumnType, is_missing, parse_binary, parse_days, parse_number, push_number, trim,
};
use rustc_hash::FxHashMap;
use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Bytes per block: small enough to spread over the threads, large enough to be cheap.
pub const BLOCK: usize = 1 << 20;

/// The fast path gave up: the general path takes over.
pub(crate) struct GiveUp;

/// How one model column is read.
enum Reader<'m> {
    Number {
        kind: ColumnType,
        low: f64,
        high: f64,
        mean: f64,
        std: f64,
        /// Weight of the standardised value and of "is missing" (logistic).
        w: f64,
        w_missing: Option<f64>,
        /// The bins' cut points and weights (logistic; empty without bins).
        cuts: &'m [f64],
        w_bins: Vec<f64>,
    },
    Levels {
        /// Kept values to bucket (neither `(other)` nor `(missing)`).
        map: FxHashMap<String, u32>,
        /// Unseen values (`u32::MAX`: no bucket).
        fallback: u32,
        /// Missing values.
        missing: u32,
        /// Weight per bucket (logistic).
        w: Vec<f64>,
        /// Tree code per bucket.
        tree_code: Vec<f64>,
    },
}

struct Column<'m> {
    name: &'m str,
    /// Its field in each record.
    pos: usize,
    reader: Reader<'m>,
}

enum Scorer<'m> {
    Logistic {
        intercept: f64,
        /// Per feature, the average lead's part of the log-odds.
        offset: Vec<f64>,
    },
    Gbm(&'m Gbm),
    /// A blend: `weight ×` the logistic log-odds (and factors) plus `1 - weight ×` the trees'.
    Blend {
        weight: f64,
        intercept: f64,
        offset: Vec<f64>,
        trees: &'m Gbm,
    },
}

struct Plan<'m> {
    fields: usize,
    id: Option<usize>,
    columns: Vec<Column<'m>>,
    scorer: Scorer<'m>,
    calibrator: &'m Calibrator,
}

/// Predicts `data` (a whole CSV) into `out`: the header, then one record per input record.
/// Returns the rows, or [`GiveUp`] (nothing written) when the general path must run.
///
/// Every block is checked (and its records counted) before anything is written, so the
/// blocks can then be scored by the workers and written in input order as they come, each
/// block's buffer reused for a later one, instead of all of them held until the end.
pub(crate) fn predict(
    model: &LearnedModel,
    data: &[u8],
    id: Option<&str>,
    threads: usize,
    block: usize,
    mut out: impl Write,
) -> Result<Result<usize, GiveUp>, std::io::Error> {
    let Ok((plan, body)) = plan(model, data, id) else {
        return Ok(Err(GiveUp));
    };
    let Ok(cuts) = cut(body, block.max(1)) else {
        return Ok(Err(GiveUp));
    };
    let blocks: Vec<&[u8]> = cuts.windows(2).map(|w| &body[w[0]..w[1]]).collect();
    let threads = threads.clamp(1, blocks.len().max(1));
    let Ok(records) = each_block(blocks.len(), threads, |b| check(&plan, blocks[b])) else {
        return Ok(Err(GiveUp));
    };
    // The 1-based number of each block's first record.
    let mut first = Vec::with_capacity(blocks.len());
    let mut rows = 0usize;
    for r in &records {
        first.push(rows + 1);
        rows += r;
    }
    let id_name = plan
        .id
        .map_or("row", |_| id.expect("an id column was found"));
    let mut w = csv::Writer::from_writer(&mut out);
    w.write_record([id_name, "probability", "factor_1", "factor_2", "factor_3"])
        .map_err(std::io::Error::other)?;
    w.flush()?;
    drop(w);
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    // Buffers written out, for the workers to fill again.
    let spare: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());
    let written = std::thread::scope(|s| -> std::io::Result<()> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, Result<Vec<u8>, GiveUp>)>(threads);
        for _ in 0..threads {
            let tx = tx.clone();
            let (plan, blocks, first, next, stop, spare) =
                (&plan, &blocks, &first, &next, &stop, &spare);
            s.spawn(move || {
                loop {
                    let b = next.fetch_add(1, Ordering::Relaxed);
                    if b >= blocks.len() || stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let buf = spare.lock().ok().and_then(|mut v| v.pop());
                    let buf = buf.unwrap_or_else(|| Vec::with_capacity(blocks[b].len() * 2));
                    if tx.send((b, run(plan, blocks[b], first[b], buf))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let result = write_in_order(rx, &mut out, &spare);
        if result.is_err() {
            stop.store(true, Ordering::Relaxed);
        }
        // (`rx` is gone: a worker waiting to send gets an error and stops.)
        result
    });
    written?;
    Ok(Ok(rows))
}

/// Writes the blocks arriving on `rx` (numbered, in any order) to `out` in block order,
/// handing each buffer written to `spare`; stops at the first failure.
fn write_in_order(
    rx: std::sync::mpsc::Receiver<(usize, Result<Vec<u8>, GiveUp>)>,
    out: &mut impl Write,
    spare: &Mutex<Vec<Vec<u8>>>,
) -> std::io::Result<()> {
    // Blocks that came before their turn.
    let mut early: Vec<Option<Vec<u8>>> = Vec::new();
    let mut turn = 0;
    for (b, bytes) in rx {
        let bytes = bytes.map_err(|GiveUp| {
            std::io::Error::other("the fast prediction path gave up on a block it had checked")
        })?;
        if early.len() <= b {
            early.resize_with(b + 1, || None);
        }
        early[b] = Some(bytes);
        while let Some(mut bytes) = early.get_mut(turn).and_then(Option::take) {
            out.write_all(&bytes)?;
            turn += 1;
            bytes.clear();
            if let Ok(mut v) = spare.lock() {
                v.push(bytes);
            }
        }
    }
    Ok(())
}

/// `f` of every block index, on `threads` threads, in block order, or [`GiveUp`] when it
/// gives up on any block.
fn each_block<T: Send>(
    blocks: usize,
    threads: usize,
    f: impl Fn(usize) -> Result<T, GiveUp> + Sync,
) -> Result<Vec<T>, GiveUp> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let work = || {
        let mut mine = Vec::new();
        loop {
            let b = next.fetch_add(1, Ordering::Relaxed);
            if b >= blocks || failed.load(Ordering::Relaxed) {
                break mine;
            }
            match f(b) {
                Ok(t) => mine.push((b, t)),
                Err(GiveUp) => {
                    failed.store(true, Ordering::Relaxed);
                    break mine;
                }
            }
        }
    };
    let mut done: Vec<(usize, T)> = if threads == 1 {
        work()
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads).map(|_| s.spawn(work)).collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("a prediction worker panicked"))
                .collect()
        })
    };
    if failed.load(Ordering::Relaxed) {
        return Err(GiveUp);
    }
    done.sort_by_key(|(b, _)| *b);
    Ok(done.into_iter().map(|(_, t)| t).collect())
}

/// A reader of the records of a block with quotes.
fn quoted(block: &[u8]) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(block)
}

/// Whether [`run`] takes `block` as it is, and how many records it holds: what `run` gives
/// up on is found here, before anything is written.
fn check(plan: &Plan, block: &[u8]) -> Result<usize, GiveUp> {
    let text = std::str::from_utf8(block).map_err(|_| GiveUp)?;
    // A byte-order mark is only skipped at the start of the file.
    if text.starts_with('\u{feff}') {
        return Err(GiveUp);
    }
    let mut records = 0;
    if !text.contains('"') {
        for line in text.split_terminator('\n') {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.is_empty() || line.contains('\r') {
                return Err(GiveUp);
            }
            if memchr::memchr_iter(b',', line.as_bytes()).count() + 1 != plan.fields {
                return Err(GiveUp);
            }
            records += 1;
        }
    } else {
        let mut rdr = quoted(block);
        let mut rec = csv::ByteRecord::new();
        loop {
            match rdr.read_byte_record(&mut rec) {
                Ok(true) => {}
                Ok(false) => break,
                Err(_) => return Err(GiveUp),
            }
            if rec.len() != plan.fields {
                return Err(GiveUp);
            }
            records += 1;
        }
    }
    Ok(records)
}

/// The header, the model's columns in it, and the body after the header.
fn plan<'m, 'd>(
    model: &'m LearnedModel,
    data: &'d [u8],
    id: Option<&str>,
) -> Result<(Plan<'m>, &'d [u8]), GiveUp> {
    let nl = memchr::memchr(b'\n', data).ok_or(GiveUp)?;
    let line = &data[..nl];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.contains(&b'"') || line.contains(&b'\r') {
        return Err(GiveUp);
    }
    let line = std::str::from_utf8(line).map_err(|_| GiveUp)?;
    let line = line.strip_prefix('\u{feff}').unwrap_or(line);
    let header: Vec<&str> = line.split(',').collect();
    if header.len() == 1 && header[0].is_empty() {
        return Err(GiveUp);
    }
    let find = |name: &str| header.iter().position(|h| *h == name).ok_or(GiveUp);
    let id = id.map(find).transpose()?;
    let enc = &model.encoder;
    let owner = enc.term_feature();
    let means = enc.term_means();
    // Per feature, the average lead's part of the logistic log-odds.
    let offset = |m: &crate::logistic::Logistic| {
        let mut offset = vec![0.0; enc.features.len()];
        for (t, &mean) in means.iter().enumerate() {
            offset[owner[t]] += m.weights[t] * mean;
        }
        offset
    };
    let (weights, scorer) = match &model.learner {
        Learner::Logistic { model: m, .. } => (
            Some(&m.weights),
            Scorer::Logistic {
                intercept: m.intercept,
                offset: offset(m),
            },
        ),
        Learner::Gbm { booster, .. } => (None, Scorer::Gbm(booster)),
        Learner::Blend {
            weight,
            logistic,
            gbm,
        } => match (&**logistic, &**gbm) {
            (Learner::Logistic { model: m, .. }, Learner::Gbm { booster, .. }) => (
                Some(&m.weights),
                Scorer::Blend {
                    weight: *weight,
                    intercept: m.intercept,
                    offset: offset(m),
                    trees: booster,
                },
            ),
            _ => return Err(GiveUp),
        },
    };
    let weight = |t: u32| weights.map_or(0.0, |w| w[t as usize]);
    let mut columns = Vec::new();
    for f in &enc.features {
        let pos = find(&f.name)?;
        if Some(pos) == id {
            return Err(GiveUp);
        }
        let reader = match &f.encoding {
            Encoding::Number {
                low,
                high,
                mean,
                std,
                term,
                missing_term,
                cuts,
                bin_freq,
                ..
            } => Reader::Number {
                kind: f.kind,
                low: *low,
                high: *high,
                mean: *mean,
                std: *std,
                w: weight(*term),
                w_missing: missing_term.map(weight),
                cuts,
                w_bins: (0..bin_freq.len() as u32)
                    .map(|k| weight(bins_start(*term, *missing_term) + k))
                    .collect(),
            },
            Encoding::Levels {
                buckets,
                tree_code,
                first_term,
                ..
            } => {
                let map = buckets
                    .iter()
                    .enumerate()
                    .filter(|(_, b)| *b != OTHER && *b != MISSING_LEVEL)
                    .map(|(i, b)| (b.clone(), i as u32))
                    .collect();
                let at = |name: &str| {
                    buckets
                        .iter()
                        .position(|b| b == name)
                        .map_or(u32::MAX, |b| b as u32)
                };
                Reader::Levels {
                    map,
                    fallback: at(OTHER),
                    missing: at(MISSING_LEVEL),
                    w: (0..buckets.len() as u32)
                        .map(|b| weight(first_term + b))
                        .collect(),
                    tree_code: tree_code.clone(),
                }
            }
        };
        if !matches!(
            (&reader, f.kind),
            (
                Reader::Number { .. },
                ColumnType::Numeric | ColumnType::Boolean | ColumnType::Date
            ) | (Reader::Levels { .. }, ColumnType::Categorical)
        ) {
            return Err(GiveUp);
        }
        columns.push(Column {
            name: &f.name,
            pos,
            reader,
        });
    }
    Ok((
        Plan {
            fields: header.len(),
            id,
            columns,
            scorer,
            calibrator: &model.calibrator,
        },
        &data[nl + 1..],
    ))
}

/// Block boundaries: just past a newline outside quotes, about every `block` bytes. Every
/// quote is checked to be where RFC 4180 puts them (opening a field, doubled inside one, or
/// closing it), so counting them tells inside from outside exactly.
fn cut(body: &[u8], block: usize) -> Result<Vec<usize>, GiveUp> {
    let mut cuts = vec![0];
    let mut quotes = memchr::memchr_iter(b'"', body).peekable();
    let mut inside = false;
    // Checks every quote before `upto`, updating `inside`.
    let mut scan = |upto: usize, inside: &mut bool| -> Result<(), GiveUp> {
        while let Some(&q) = quotes.peek() {
            if q >= upto {
                break;
            }
            quotes.next();
            if !*inside {
                if q > 0 && body[q - 1] != b',' && body[q - 1] != b'\n' {
                    return Err(GiveUp);
                }
                *inside = true;
            } else if body.get(q + 1) == Some(&b'"') {
                quotes.next();
            } else {
                if !matches!(body.get(q + 1), None | Some(b',' | b'\r' | b'\n')) {
                    return Err(GiveUp);
                }
                *inside = false;
            }
        }
        Ok(())
    };
    let mut target = block;
    while target < body.len() {
        let Some(off) = memchr::memchr(b'\n', &body[target..]) else {
            break;
        };
        let nl = target + off;
        scan(nl, &mut inside)?;
        if inside {
            target = nl + 1;
            continue;
        }
        if nl + 1 < body.len() {
            cuts.push(nl + 1);
        }
        target = nl + 1 + block;
    }
    scan(body.len(), &mut inside)?;
    if inside {
        return Err(GiveUp);
    }
    cuts.push(body.len());
    cuts.dedup();
    Ok(cuts)
}

/// Rows parsed before they are scored together (trees: each tree stays in cache for the
/// whole batch instead of every row walking every tree).
const BATCH: usize = 256;

/// Scratch space for a batch of rows, reused for every batch of a block.
struct Scratch {
    /// Per row and column: the value (numbers, or the tree code of levels) and the bucket
    /// (levels); `BATCH × columns`.
    value: Vec<f64>,
    bucket: Vec<u32>,
    /// One row's logistic terms, in term order.
    terms: Vec<f64>,
    /// Per row, the per-feature contributions (and the trees' base value last);
    /// `BATCH × (columns + 1)`.
    contrib: Vec<f64>,
    /// Per row, the log-odds.
    z: Vec<f64>,
    /// A blend's logistic contributions and log-odds (swapped with `contrib` and `z` while the
    /// trees score); empty for other models.
    blend_contrib: Vec<f64>,
    blend_z: Vec<f64>,
    prob: String,
    /// The row number, without an id column.
    num: itoa::Buffer,
    factors: [String; 3],
}

/// Scores `block`, whose first record is number `first` (1-based), into `buf` (emptied).
/// The block passed [`check`]: valid UTF-8, no byte-order mark, no blank line or lone CR.
fn run(plan: &Plan, block: &[u8], first: usize, buf: Vec<u8>) -> Result<Vec<u8>, GiveUp> {
    let text = std::str::from_utf8(block).map_err(|_| GiveUp)?;
    let nf = plan.columns.len();
    let mut s = Scratch {
        value: vec![0.0; BATCH * nf],
        bucket: vec![0; BATCH * nf],
        terms: Vec::with_capacity(nf),
        contrib: vec![0.0; BATCH * (nf + 1)],
        z: vec![0.0; BATCH],
        blend_contrib: Vec::new(),
        blend_z: Vec::new(),
        prob: String::new(),
        num: itoa::Buffer::new(),
        factors: Default::default(),
    };
    if matches!(plan.scorer, Scorer::Blend { .. }) {
        s.blend_contrib = s.contrib.clone();
        s.blend_z = s.z.clone();
    }
    let mut w = buf;
    w.clear();
    let mut row = first;
    if !text.contains('"') {
        let mut lines: Vec<&str> = Vec::with_capacity(BATCH);
        let mut fields: Vec<&str> = Vec::with_capacity(BATCH * plan.fields);
        for line in text.split_terminator('\n') {
            lines.push(line.strip_suffix('\r').unwrap_or(line));
            if lines.len() == BATCH {
                batch(plan, &lines, &mut fields, &mut s, &mut w, &mut row)?;
                lines.clear();
            }
        }
        batch(plan, &lines, &mut fields, &mut s, &mut w, &mut row)?;
    } else {
        let mut rdr = quoted(block);
        let mut rec = csv::StringRecord::new();
        loop {
            match rdr.read_record(&mut rec) {
                Ok(true) => {}
                Ok(false) => break,
                Err(_) => return Err(GiveUp),
            }
            let fields: Vec<&str> = rec.iter().collect();
            parse(plan, &fields, &mut s, 0)?;
            score(plan, &mut s, 1);
            emit(plan, &fields, &mut s, 0, &mut w, &mut row);
        }
    }
    Ok(w)
}

/// Parses, scores and writes a batch of unquoted records (`fields` holds every record's
/// fields, record after record, between the two passes).
fn batch<'a>(
    plan: &Plan,
    lines: &[&'a str],
    fields: &mut Vec<&'a str>,
    s: &mut Scratch,
    w: &mut Vec<u8>,
    row: &mut usize,
) -> Result<(), GiveUp> {
    fields.clear();
    for (i, line) in lines.iter().enumerate() {
        let at = fields.len();
        split_fields(line, fields);
        parse(plan, &fields[at..], s, i)?;
    }
    score(plan, s, lines.len());
    for (i, record) in fields.chunks_exact(plan.fields).enumerate() {
        emit(plan, record, s, i, w, row);
    }
    Ok(())
}

/// Appends the fields of unquoted record `line` to `out` (what `line.split(',')` yields).
fn split_fields<'a>(line: &'a str, out: &mut Vec<&'a str>) {
    let mut start = 0;
    for i in memchr::memchr_iter(b',', line.as_bytes()) {
        out.push(&line[start..i]);
        start = i + 1;
    }
    out.push(&line[start..]);
}

/// The text a factor shows for a level: the trimmed value, or `(missing)` for a placeholder
/// that is not one of the model's levels (`map`).
fn level_text<'a>(raw: &'a str, map: &FxHashMap<String, u32>) -> &'a str {
    let t = trim(raw);
    if is_missing(raw) && !map.contains_key(t) {
        MISSING_LEVEL
    } else {
        t
    }
}

/// Parses record `fields` into row `i` of the batch.
fn parse(plan: &Plan, fields: &[&str], s: &mut Scratch, i: usize) -> Result<(), GiveUp> {
    if fields.len() != plan.fields {
        return Err(GiveUp);
    }
    let nf = plan.columns.len();
    let (value, bucket) = (
        &mut s.value[i * nf..(i + 1) * nf],
        &mut s.bucket[i * nf..(i + 1) * nf],
    );
    for (c, col) in plan.columns.iter().enumerate() {
        let raw = fields[col.pos];
        match &col.reader {
            Reader::Number { kind, .. } => {
                let v = if is_missing(raw) {
                    f64::NAN
                } else {
                    let v = trim(raw);
                    match kind {
                        ColumnType::Numeric => parse_number(v),
                        ColumnType::Date => parse_days(v),
                        _ => parse_binary(v).map(|b| if b { 1.0 } else { 0.0 }),
                    }
                    .unwrap_or(f64::NAN)
                };
                value[c] = v;
            }
            Reader::Levels {
                map,
                fallback,
                missing,
                ..
            } => {
                // A level the model knows is that level, even one that reads as a
                // placeholder now (`table_options` gives the general path the same rule).
                bucket[c] = match map.get(trim(raw)) {
                    Some(&b) => b,
                    None if is_missing(raw) => *missing,
                    None => *fallback,
                };
            }
        }
    }
    Ok(())
}

/// Log-odds and per-feature contributions of the first `rows` rows of the batch, computed as
/// the general path does (the same sums in the same order).
fn score(plan: &Plan, s: &mut Scratch, rows: usize) {
    match &plan.scorer {
        Scorer::Logistic { intercept, offset } => score_logistic(plan, *intercept, offset, s, rows),
        Scorer::Gbm(trees) => score_trees(plan, trees, s, rows),
        Scorer::Blend {
            weight,
            intercept,
            offset,
            trees,
        } => {
            let nf = plan.columns.len();
            score_logistic(plan, *intercept, offset, s, rows);
            std::mem::swap(&mut s.contrib, &mut s.blend_contrib);
            std::mem::swap(&mut s.z, &mut s.blend_z);
            score_trees(plan, trees, s, rows);
            let (lc, lz) = (&s.blend_contrib, &s.blend_z);
            let mix = |l: f64, g: f64| weight * l + (1.0 - weight) * g;
            let w = nf + 1;
            for i in 0..rows {
                s.z[i] = mix(lz[i], s.z[i]);
                let (l, g) = (&lc[i * w..i * w + nf], &mut s.contrib[i * w..i * w + nf]);
                for (g, &l) in g.iter_mut().zip(l) {
                    *g = mix(l, *g);
                }
            }
        }
    }
}

/// [`score`] by a logistic model.
fn score_logistic(plan: &Plan, intercept: f64, offset: &[f64], s: &mut Scratch, rows: usize) {
    let nf = plan.columns.len();
    for i in 0..rows {
        let value = &s.value[i * nf..(i + 1) * nf];
        let bucket = &s.bucket[i * nf..(i + 1) * nf];
        let contrib = &mut s.contrib[i * (nf + 1)..(i + 1) * (nf + 1)];
        s.z[i] = logistic_row(
            plan,
            intercept,
            offset,
            value,
            bucket,
            &mut s.terms,
            contrib,
        );
    }
}

/// [`score`] by trees (the levels' values become their tree codes).
fn score_trees(plan: &Plan, trees: &Gbm, s: &mut Scratch, rows: usize) {
    let nf = plan.columns.len();
    for i in 0..rows {
        let value = &mut s.value[i * nf..(i + 1) * nf];
        let bucket = &s.bucket[i * nf..(i + 1) * nf];
        for (c, col) in plan.columns.iter().enumerate() {
            if let Reader::Levels { tree_code, .. } = &col.reader {
                let b = bucket[c];
                value[c] = if b == u32::MAX {
                    f64::NAN
                } else {
                    tree_code[b as usize]
                };
            }
        }
    }
    let w = nf + 1;
    trees.block_contributions(&s.value[..rows * nf], nf, &mut s.contrib[..rows * w]);
    for i in 0..rows {
        s.z[i] = s.contrib[i * w..(i + 1) * w].iter().sum::<f64>();
    }
}

/// One row's logistic log-odds; `contrib` gets its per-feature parts.
fn logistic_row(
    plan: &Plan,
    intercept: f64,
    offset: &[f64],
    value: &[f64],
    bucket: &[u32],
    terms: &mut Vec<f64>,
    contrib: &mut [f64],
) -> f64 {
    terms.clear();
    for (c, col) in plan.columns.iter().enumerate() {
        let o = offset[c];
        contrib[c] = match &col.reader {
            Reader::Number {
                low,
                high,
                mean,
                std,
                w,
                w_missing,
                cuts,
                w_bins,
                ..
            } => {
                let x = value[c];
                if x.is_nan() {
                    match w_missing {
                        Some(wm) => {
                            terms.push(*wm);
                            -o + wm
                        }
                        None => -o,
                    }
                } else {
                    let v = (x.clamp(*low, *high) - mean) / std;
                    let mut part = -o;
                    if v != 0.0 {
                        terms.push(w * v);
                        part += w * v;
                    }
                    if !cuts.is_empty() {
                        let wb = w_bins[bin_of(cuts, x)];
                        terms.push(wb);
                        part += wb;
                    }
                    part
                }
            }
            Reader::Levels { w, .. } => {
                let b = bucket[c];
                if b != u32::MAX {
                    terms.push(w[b as usize]);
                    -o + w[b as usize]
                } else {
                    -o
                }
            }
        };
    }
    intercept + terms.iter().sum::<f64>()
}

/// Writes row `i` of the batch: its id or number, probability and three factors.
fn emit(plan: &Plan, fields: &[&str], s: &mut Scratch, i: usize, w: &mut Vec<u8>, row: &mut usize) {
    let nf = plan.columns.len();
    let z = s.z[i];
    let value = &s.value[i * nf..(i + 1) * nf];
    // The three largest contributions, ties to the earlier column (the general path's sort).
    let c = &s.contrib[i * (nf + 1)..i * (nf + 1) + nf];
    let before = |a: usize, b: usize| match c[b].abs().total_cmp(&c[a].abs()) {
        std::cmp::Ordering::Less => true,
        std::cmp::Ordering::Greater => false,
        std::cmp::Ordering::Equal => a < b,
    };
    let mut top = [usize::MAX; 3];
    let mut k = 0;
    for f in 0..nf {
        let mut i = k.min(3);
        while i > 0 && before(f, top[i - 1]) {
            i -= 1;
        }
        if i < 3 {
            let end = k.min(2);
            for j in (i..end).rev() {
                top[j + 1] = top[j];
            }
            top[i] = f;
            k = (k + 1).min(3);
        }
    }
    for (slot, &f) in s.factors.iter_mut().zip(&top) {
        slot.clear();
        if f == usize::MAX {
            continue;
        }
        let col = &plan.columns[f];
        // `{name} = {value} ({contribution:+.2})`, as a factor displays itself.
        slot.push_str(col.name);
        slot.push_str(" = ");
        match &col.reader {
            Reader::Number { .. } => {
                let v = value[f];
                if v.is_nan() {
                    slot.push_str(MISSING_LEVEL);
                } else {
                    push_number(slot, v);
                }
            }
            Reader::Levels { map, .. } => slot.push_str(level_text(fields[col.pos], map)),
        }
        slot.push_str(" (");
        push_fixed(slot, c[f], 2, true);
        slot.push(')');
    }
    s.prob.clear();
    push_fixed(&mut s.prob, plan.calibrator.apply(z), 6, false);
    let key = match plan.id {
        Some(i) => fields[i],
        None => s.num.format(*row),
    };
    for (k, field) in [
        key,
        s.prob.as_str(),
        &s.factors[0],
        &s.factors[1],
        &s.factors[2],
    ]
    .into_iter()
    .enumerate()
    {
        if k > 0 {
            w.push(b',');
        }
        push_field(w, field);
    }
    w.push(b'\n');
    *row += 1;
}

/// Appends `field` to `out` as the csv writer writes it: as it is, or in quotes (a quote
/// doubled) when it holds a comma, a quote, a CR or an LF.
fn push_field(out: &mut Vec<u8>, field: &str) {
    let b = field.as_bytes();
    if memchr::memchr3(b',', b'"', b'\n', b).is_none() && memchr::memchr(b'\r', b).is_none() {
        out.extend_from_slice(b);
    } else {
        out.push(b'"');
        for &c in b {
            if c == b'"' {
                out.push(b'"');
            }
            out.push(c);
        }
        out.push(b'"');
    }
}
