//! CSV into typed columns. Types are inferred from the values (numeric, boolean, date,
//! categorical, free text), or imposed by a model's schema when scoring. Values that mean "not
//! answered" (`Select`, `NA`, `null`, empty…) are missing, whatever the column.

use crate::LearnError;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Read};
use std::sync::mpsc::sync_channel;

/// What a column holds, as inferred from its values or given by a model's schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    /// Numbers (integers or decimals).
    Numeric,
    /// Two values such as yes/no, true/false, 1/0.
    Boolean,
    /// Dates or RFC 3339 timestamps; used as days since 1970-01-01.
    Date,
    /// A limited set of labels.
    Categorical,
    /// Free text or identifiers (nearly every value different): not used unless asked.
    Text,
    /// No value, or the same value on every row: nothing to learn from.
    Constant,
}

impl ColumnType {
    /// Whether a model uses columns of this type.
    pub fn is_feature(self) -> bool {
        !matches!(self, ColumnType::Text | ColumnType::Constant)
    }
}

/// The values of one column.
#[derive(Debug, Clone)]
pub enum Values {
    /// Numeric, boolean (0/1) and date (days) columns; `NaN` is missing.
    Numbers(Vec<f64>),
    /// Categorical and text columns: `codes[row]` indexes `levels`; [`MISSING`] is missing.
    Levels {
        /// The distinct values, in order of first appearance.
        levels: Vec<String>,
        /// One code per row.
        codes: Vec<u32>,
    },
}

/// The code of a missing categorical value.
pub const MISSING: u32 = u32::MAX;

/// One column of a table.
#[derive(Debug, Clone)]
pub struct Column {
    /// The header name.
    pub name: String,
    /// Its type.
    pub kind: ColumnType,
    /// Its values.
    pub values: Values,
    /// How many rows are missing.
    pub missing: usize,
}

impl Column {
    /// The value on `row` as text (for segments and messages); empty when missing.
    pub fn text(&self, row: usize) -> String {
        match &self.values {
            Values::Numbers(v) if v[row].is_nan() => String::new(),
            Values::Numbers(v) => format_number(v[row]),
            Values::Levels { codes, .. } if codes[row] == MISSING => String::new(),
            Values::Levels { levels, codes } => levels[codes[row] as usize].clone(),
        }
    }
}

/// A number as short text: integers without a decimal point.
pub fn format_number(x: f64) -> String {
    let mut s = String::with_capacity(16);
    push_number(&mut s, x);
    s
}

/// Appends [`format_number`]'s text of `x` to `out`.
pub(crate) fn push_number(out: &mut String, x: f64) {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        out.push_str(itoa::Buffer::new().format(x as i64));
    } else {
        let start = out.len();
        crate::decimal::push_fixed(out, x, 4, false);
        let kept = start
            + out[start..]
                .trim_end_matches('0')
                .trim_end_matches('.')
                .len();
        out.truncate(kept);
    }
}

/// How to read a table.
#[derive(Debug, Clone, Default)]
pub struct TableOptions {
    /// The binary outcome column; required for training and evaluation.
    pub target: Option<String>,
    /// The identifier column: kept for output, never a feature.
    pub id: Option<String>,
    /// A header without the `id` column reads on without ids instead of being an error.
    pub optional_id: bool,
    /// Columns to leave out (identifiers, columns that leak the outcome).
    pub ignore: Vec<String>,
    /// Text columns to use anyway, as categories (their most frequent values).
    pub include_text: Vec<String>,
    /// Known column types (from a model's schema): no inference, unknown columns are skipped.
    pub schema: Option<Vec<(String, ColumnType)>>,
    /// Columns read as categories even when a schema is given (segments).
    pub keep: Vec<String>,
    /// Per column, values that are levels although they read as placeholders: a model
    /// trained before they were placeholders (`unknown`) keeps reading them as its levels.
    pub levels: Vec<(String, Vec<String>)>,
}

/// A CSV file read into typed columns.
#[derive(Debug, Clone)]
pub struct Table {
    /// The source name given by the caller (used in messages).
    pub source: String,
    /// The header, as in the file.
    pub header: Vec<String>,
    /// Feature candidates: every column but the target, the id and the ignored ones.
    pub columns: Vec<Column>,
    /// The outcome (1 or 0) per row, when a target column was named.
    pub target: Option<Vec<f64>>,
    /// The target column's name.
    pub target_name: Option<String>,
    /// The id per row, when an id column was named.
    pub ids: Option<Vec<String>>,
    /// The id column's name.
    pub id_name: Option<String>,
    /// Data rows (the header excluded).
    pub rows: usize,
    /// SHA-256 of the bytes read, hex.
    pub sha256: String,
}

impl Table {
    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// How many rows have a positive outcome.
    pub fn positives(&self) -> usize {
        self.target
            .as_ref()
            .map_or(0, |t| t.iter().filter(|&&y| y > 0.5).count())
    }
}

/// Whether a cell means "no value": empty, or a placeholder such as `Select`, `NA`, `N/A`,
/// `null`, `NaN`, `-`, `?`, `(not set)`, `undefined`, `unknown`, `#N/A`. Web forms write their
/// unanswered drop-downs as `Select` or `-- Select --`; spreadsheets, CRMs and databases write
/// the others.
pub fn is_missing(raw: &str) -> bool {
    // Every placeholder starts with `n`, `s`, `p`, `u`, `#`, `(`, `?` once trimmed of spaces
    // and dashes: a cell starting with a digit or another letter is a value.
    if let Some(&b) = raw.as_bytes().first()
        && (b.is_ascii_digit()
            || (b.is_ascii_alphabetic()
                && !matches!(b.to_ascii_lowercase(), b'n' | b's' | b'p' | b'u')))
    {
        return false;
    }
    let s = trim(raw);
    if s.is_empty() {
        return true;
    }
    if s.len() > 16 {
        return false;
    }
    // Lower-cased on the stack: this runs for every cell.
    let mut buf = [0u8; 16];
    let l = &mut buf[..s.len()];
    l.copy_from_slice(s.as_bytes());
    l.make_ascii_lowercase();
    let edge = |b: &u8| matches!(b, b'-' | b' ' | b'<' | b'>');
    let start = l.iter().position(|b| !edge(b)).unwrap_or(l.len());
    let end = l.iter().rposition(|b| !edge(b)).map_or(start, |e| e + 1);
    matches!(
        &l[start..end],
        b"" | b"na"
            | b"n/a"
            | b"#n/a"
            | b"nan"
            | b"null"
            | b"nil"
            | b"none selected"
            | b"select"
            | b"select one"
            | b"please select"
            | b"(not set)"
            | b"not set"
            | b"undefined"
            | b"unknown"
            | b"?"
    )
}

/// `s` without leading and trailing whitespace, as [`str::trim`] (whose character test is
/// only needed when an end is not plainly printable ASCII).
pub(crate) fn trim(s: &str) -> &str {
    match s.as_bytes() {
        [first, .., last] | [first @ last]
            if (b'!'..=b'~').contains(first) && (b'!'..=b'~').contains(last) =>
        {
            s
        }
        _ => s.trim(),
    }
}

/// A binary value: `Some(true)` for 1/yes/true/y/t/won/converted, `Some(false)` for
/// 0/no/false/n/f/lost, else `None`.
pub fn parse_binary(raw: &str) -> Option<bool> {
    let s = trim(raw);
    if s.len() > 13 {
        return None;
    }
    let mut buf = [0u8; 13];
    let l = &mut buf[..s.len()];
    l.copy_from_slice(s.as_bytes());
    l.make_ascii_lowercase();
    match &*l {
        b"1" | b"1.0" | b"yes" | b"true" | b"y" | b"t" | b"won" | b"win" | b"converted" => {
            Some(true)
        }
        b"0" | b"0.0" | b"no" | b"false" | b"n" | b"f" | b"lost" | b"lose" | b"not converted" => {
            Some(false)
        }
        _ => None,
    }
}

pub(crate) fn parse_number(s: &str) -> Option<f64> {
    let s = trim(s);
    let x: f64 = s.parse().ok()?;
    x.is_finite().then_some(x)
}

pub(crate) fn parse_days(s: &str) -> Option<f64> {
    let s = s.trim();
    // A bare number is not a date, even if a parser would take it.
    if !s.contains('-') {
        return None;
    }
    leadscore_core::value::parse_time(s).map(|t| (t as f64 / 86_400.0).floor())
}

/// A reader that hashes what passes through it.
struct Hashing<R> {
    inner: R,
    hash: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

/// Distinct values past which a column whose values are all numbers so far stops keeping
/// them in a dictionary (see [`Numbers`]): it can no longer be constant or boolean, and
/// unless a value that is not a number comes, it is numeric whatever its values are.
const NUMBER_MODE: usize = 1024;

/// Records per batch handed from the parsing thread to the typing one.
const BATCH: usize = 1024;

/// One column while reading: distinct raw values and a code per row.
struct Raw {
    dict: FxHashMap<Box<str>, u32>,
    levels: Vec<Box<str>>,
    counts: Vec<usize>,
    codes: Vec<u32>,
    missing: usize,
    /// [`Numbers`] may replace the dictionary (the type is inferred, and no value that is not
    /// a number has brought the dictionary back).
    numbers_allowed: bool,
    /// Every distinct value so far is a number (tracked while `numbers_allowed`).
    all_numbers: bool,
    numbers: Option<Numbers>,
}

/// A column of many distinct numbers, read without a dictionary (a million distinct values
/// are a million strings, and a hash table growing through fresh pages): each row's number
/// (`NaN` when missing) and its text, end to end, from which the dictionary is rebuilt
/// exactly, row by row, should a value that is not a number come.
#[derive(Default)]
struct Numbers {
    values: Vec<f64>,
    text: String,
    ends: Vec<usize>,
}

impl Raw {
    /// A column whose values decide its type (with [`NUMBER_MODE`]), or one that keeps its
    /// values whatever they are (a type given, or text kept as categories).
    fn new(inferred: bool) -> Raw {
        Raw {
            dict: FxHashMap::default(),
            levels: Vec::new(),
            counts: Vec::new(),
            codes: Vec::new(),
            missing: 0,
            numbers_allowed: inferred,
            all_numbers: true,
            numbers: None,
        }
    }

    /// Adds value `v`; `levels` are values that are not placeholders here.
    fn push(&mut self, v: &str, levels: &[String]) {
        if is_missing(v) && !levels.iter().any(|l| l == v.trim()) {
            self.missing += 1;
            match &mut self.numbers {
                Some(n) => {
                    n.values.push(f64::NAN);
                    n.ends.push(n.text.len());
                }
                None => self.codes.push(MISSING),
            }
            return;
        }
        let v = v.trim();
        if let Some(n) = &mut self.numbers {
            match parse_number(v) {
                Some(x) => {
                    n.values.push(x);
                    n.text.push_str(v);
                    n.ends.push(n.text.len());
                    return;
                }
                None => self.leave_numbers(),
            }
        }
        self.add(v);
        if self.numbers_allowed && self.all_numbers && self.levels.len() > NUMBER_MODE {
            self.enter_numbers();
        }
    }

    /// Adds a value that is not missing to the dictionary.
    fn add(&mut self, v: &str) {
        let code = match self.dict.get(v) {
            Some(&c) => c,
            None => {
                let c = self.levels.len() as u32;
                if self.numbers_allowed && self.all_numbers {
                    self.all_numbers = parse_number(v).is_some();
                }
                self.dict.insert(v.into(), c);
                self.levels.push(v.into());
                self.counts.push(0);
                c
            }
        };
        self.counts[code as usize] += 1;
        self.codes.push(code);
    }

    /// From the dictionary to [`Numbers`].
    fn enter_numbers(&mut self) {
        let parsed: Vec<f64> = self
            .levels
            .iter()
            .map(|l| parse_number(l).expect("every value is a number"))
            .collect();
        let mut n = Numbers::default();
        for &c in &self.codes {
            if c != MISSING {
                n.values.push(parsed[c as usize]);
                n.text.push_str(&self.levels[c as usize]);
            } else {
                n.values.push(f64::NAN);
            }
            n.ends.push(n.text.len());
        }
        self.numbers = Some(n);
        self.dict = FxHashMap::default();
        self.levels = Vec::new();
        self.counts = Vec::new();
        self.codes = Vec::new();
    }

    /// From [`Numbers`] back to the dictionary, the rows added again in order.
    fn leave_numbers(&mut self) {
        let Some(n) = self.numbers.take() else {
            return;
        };
        self.numbers_allowed = false;
        let mut start = 0;
        for (&x, &end) in n.values.iter().zip(&n.ends) {
            if x.is_nan() {
                self.codes.push(MISSING);
            } else {
                self.add(&n.text[start..end]);
            }
            start = end;
        }
    }
}

fn infer(raw: &Raw, rows: usize) -> ColumnType {
    if raw.numbers.is_some() {
        return ColumnType::Numeric;
    }
    let d = raw.levels.len();
    if d <= 1 {
        return ColumnType::Constant;
    }
    if d == 2 && raw.levels.iter().all(|l| parse_binary(l).is_some()) {
        let a = parse_binary(&raw.levels[0]);
        let b = parse_binary(&raw.levels[1]);
        if a != b {
            return ColumnType::Boolean;
        }
    }
    if raw.levels.iter().all(|l| parse_number(l).is_some()) {
        return ColumnType::Numeric;
    }
    if raw.levels.iter().all(|l| parse_days(l).is_some()) {
        return ColumnType::Date;
    }
    let present = rows - raw.missing;
    let long = raw.levels.iter().map(|l| l.len()).sum::<usize>() / d > 60;
    if d > 1000 || (d > 50 && (d * 2 > present || long)) {
        return ColumnType::Text;
    }
    ColumnType::Categorical
}

fn typed(name: String, kind: ColumnType, raw: Raw) -> Column {
    if let Some(n) = raw.numbers {
        // Only a column inferred numeric reads without a dictionary.
        debug_assert_eq!(kind, ColumnType::Numeric);
        return Column {
            name,
            kind,
            values: Values::Numbers(n.values),
            missing: raw.missing,
        };
    }
    let convert = |f: &dyn Fn(&str) -> Option<f64>| -> (Vec<f64>, usize) {
        let map: Vec<f64> = raw
            .levels
            .iter()
            .map(|l| f(l).unwrap_or(f64::NAN))
            .collect();
        let v: Vec<f64> = raw
            .codes
            .iter()
            .map(|&c| {
                if c == MISSING {
                    f64::NAN
                } else {
                    map[c as usize]
                }
            })
            .collect();
        let missing = v.iter().filter(|x| x.is_nan()).count();
        (v, missing)
    };
    let (values, missing) = match kind {
        ColumnType::Numeric => {
            let (v, m) = convert(&parse_number);
            (Values::Numbers(v), m)
        }
        ColumnType::Date => {
            let (v, m) = convert(&parse_days);
            (Values::Numbers(v), m)
        }
        ColumnType::Boolean => {
            let (v, m) = convert(&|s| parse_binary(s).map(|b| if b { 1.0 } else { 0.0 }));
            (Values::Numbers(v), m)
        }
        ColumnType::Categorical | ColumnType::Text | ColumnType::Constant => (
            Values::Levels {
                levels: raw.levels.into_iter().map(String::from).collect(),
                codes: raw.codes,
            },
            raw.missing,
        ),
    };
    Column {
        name,
        kind,
        values,
        missing,
    }
}

/// The field separator of a CSV whose text starts with `head`: a comma, or, when the header
/// line has no comma outside quotes, a semicolon (what spreadsheets write where the comma is the
/// decimal mark) or else a tab.
pub fn separator(head: &[u8]) -> u8 {
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let mut quoted = false;
    let (mut semicolons, mut tabs) = (0, 0);
    for &b in line {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => return b',',
            b';' if !quoted => semicolons += 1,
            b'\t' if !quoted => tabs += 1,
            _ => {}
        }
    }
    if semicolons > 0 {
        b';'
    } else if tabs > 0 {
        b'\t'
    } else {
        b','
    }
}

/// In a file not separated by commas, a number written the way such spreadsheets save it, as
/// a number with a decimal point: a decimal comma (`-12,5`: digits, one comma, digits), with
/// points grouping thousands before it (`1.234,5`), or points grouping thousands alone when
/// there are two or more (`1.234.567`). A single group with no comma (`1.234`) stays a
/// decimal point: alone it cannot be told apart from one.
fn decimal_comma(sep: u8, v: &str) -> Option<String> {
    if sep == b',' || !(v.contains(',') || v.contains('.')) {
        return None;
    }
    let t = trim(v);
    let (sign, digits) = match t.strip_prefix(['-', '+']) {
        Some(rest) => (&t[..1], rest),
        None => ("", t),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (whole, part) = match digits.split_once(',') {
        Some((w, p)) => (w, Some(p)),
        None => (digits, None),
    };
    if part.is_some_and(|p| !all_digits(p)) {
        return None;
    }
    // The whole part: plain digits, or 1–3 digits then groups of three after points.
    let groups: Vec<&str> = whole.split('.').collect();
    let grouped = groups.len() > 1
        && (1..=3).contains(&groups[0].len())
        && groups[1..].iter().all(|g| g.len() == 3)
        && groups.iter().all(|g| all_digits(g));
    let whole = if grouped && (part.is_some() || groups.len() > 2) {
        groups.concat()
    } else if all_digits(whole) && part.is_some() {
        whole.to_owned()
    } else {
        return None;
    };
    Some(match part {
        Some(p) => format!("{sign}{whole}.{p}"),
        None => format!("{sign}{whole}"),
    })
}

/// Reads a CSV (header row, RFC 4180 quoting, LF or CRLF, optional byte-order mark; fields
/// separated by commas, or by semicolons or tabs, see [`separator`]) from `input`. `source`
/// names it in error messages (`leads.csv:12: column `won`: ...`).
///
/// Two threads share the work: one parses the CSV (and hashes the bytes), the other types the
/// records' cells in order, batch by batch; the table and the first error are those of one
/// thread doing both.
pub fn read_table(
    input: impl Read + Send,
    source: &str,
    opts: &TableOptions,
) -> Result<Table, LearnError> {
    let mut hashing = Hashing {
        inner: input,
        hash: Sha256::new(),
    };
    // The header line is looked at before the reader starts (the bytes still go through the
    // hash once, into the buffer).
    let mut buffered = BufReader::with_capacity(1 << 16, &mut hashing);
    let sep = separator(
        buffered
            .fill_buf()
            .map_err(|e| LearnError::input(source, 0, None, format!("cannot read: {e}")))?,
    );
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .delimiter(sep)
        .from_reader(buffered);
    let csv_err = |e: csv::Error| {
        let line = e.position().map_or(0, |p| p.line());
        match e.kind() {
            csv::ErrorKind::Io(_) => {
                LearnError::input(source, line, None, format!("cannot read: {e}"))
            }
            _ => LearnError::input(source, line, None, e.to_string()),
        }
    };
    let mut header: Vec<String> = rdr
        .headers()
        .map_err(csv_err)?
        .iter()
        .map(str::to_owned)
        .collect();
    if let Some(first) = header.first_mut()
        && let Some(rest) = first.strip_prefix('\u{feff}')
    {
        *first = rest.to_owned();
    }
    if header.is_empty() || (header.len() == 1 && header[0].is_empty()) {
        return Err(LearnError::input(source, 1, None, "no header row"));
    }
    let find = |name: &str, what: &str| {
        header.iter().position(|h| h == name).ok_or_else(|| {
            LearnError::input(
                source,
                1,
                Some(name),
                format!(
                    "no {what}column `{name}` in the header (columns: {})",
                    header.join(", ")
                ),
            )
        })
    };
    let target_col = opts
        .target
        .as_deref()
        .map(|t| find(t, "target "))
        .transpose()?;
    let id_col = match opts.id.as_deref() {
        Some(t) if opts.optional_id => header.iter().position(|h| h == t),
        t => t.map(|t| find(t, "id ")).transpose()?,
    };
    for name in &opts.ignore {
        find(name, "ignored ")?;
    }
    for name in &opts.include_text {
        find(name, "included ")?;
    }
    for name in &opts.keep {
        find(name, "")?;
    }
    // Which columns become feature candidates, with their imposed type if any.
    let wanted: Vec<Option<Option<ColumnType>>> = header
        .iter()
        .enumerate()
        .map(|(i, h)| {
            if Some(i) == target_col || Some(i) == id_col || opts.ignore.contains(h) {
                return None;
            }
            match &opts.schema {
                Some(s) => match s.iter().find(|(n, _)| n == h) {
                    Some((_, t)) => Some(Some(*t)),
                    None if opts.keep.contains(h) => Some(Some(ColumnType::Categorical)),
                    None => None,
                },
                None => Some(None),
            }
        })
        .collect();
    let mut raws: Vec<Option<Raw>> = wanted
        .iter()
        .zip(&header)
        .map(|(w, h)| {
            w.as_ref()
                .map(|t| Raw::new(t.is_none() && !opts.include_text.contains(h)))
        })
        .collect();
    let levels: Vec<&[String]> = header
        .iter()
        .map(|h| {
            opts.levels
                .iter()
                .find(|(n, _)| n == h)
                .map_or(&[][..], |(_, l)| l.as_slice())
        })
        .collect();
    let mut target = target_col.map(|_| Vec::new());
    let mut ids = id_col.map(|_| Vec::new());
    let mut rows = 0usize;
    // Batches of records go from the parsing thread to this one, and back empty to be reused.
    let (full_tx, full_rx) = sync_channel::<Result<Vec<csv::StringRecord>, csv::Error>>(2);
    let (empty_tx, empty_rx) = sync_channel::<Vec<csv::StringRecord>>(4);
    std::thread::scope(|scope| -> Result<(), LearnError> {
        scope.spawn(move || {
            loop {
                let mut batch = empty_rx.try_recv().unwrap_or_default();
                batch.resize_with(BATCH, csv::StringRecord::new);
                let mut n = 0;
                let mut failed = None;
                while n < BATCH {
                    match rdr.read_record(&mut batch[n]) {
                        Ok(true) => n += 1,
                        Ok(false) => break,
                        Err(e) => {
                            failed = Some(e);
                            break;
                        }
                    }
                }
                batch.truncate(n);
                let last = n < BATCH;
                // A send fails only when the reader below has stopped on an error of its own.
                if n > 0 && full_tx.send(Ok(batch)).is_err() {
                    return;
                }
                if let Some(e) = failed {
                    let _ = full_tx.send(Err(e));
                    return;
                }
                if last {
                    return;
                }
            }
        });
        for batch in full_rx {
            let batch = batch.map_err(csv_err)?;
            for record in &batch {
                rows += 1;
                let line = record.position().map_or(rows as u64 + 1, |p| p.line());
                for (i, v) in record.iter().enumerate() {
                    if let Some(r) = &mut raws[i] {
                        match decimal_comma(sep, v) {
                            Some(v) => r.push(&v, levels[i]),
                            None => r.push(v, levels[i]),
                        }
                    }
                }
                if let (Some(t), Some(c)) = (&mut target, target_col) {
                    let v = &record[c];
                    match parse_binary(v) {
                        Some(b) => t.push(if b { 1.0 } else { 0.0 }),
                        None => {
                            let why = if v.trim().is_empty() {
                                "the outcome is missing".to_owned()
                            } else {
                                format!(
                                    "{v:?} is not a binary outcome (use 1/0, yes/no, true/false or won/lost)"
                                )
                            };
                            return Err(LearnError::input(source, line, Some(&header[c]), why));
                        }
                    }
                }
                if let (Some(ids), Some(c)) = (&mut ids, id_col) {
                    ids.push(record[c].to_owned());
                }
            }
            let _ = empty_tx.try_send(batch);
        }
        Ok(())
    })?;
    let sha256 = hex::encode(hashing.hash.finalize());
    let mut columns = Vec::new();
    for ((raw, want), name) in raws.into_iter().zip(&wanted).zip(&header) {
        let (Some(raw), Some(want)) = (raw, want) else {
            continue;
        };
        let kind = match want {
            Some(t) => *t,
            None => match infer(&raw, rows) {
                ColumnType::Text if opts.include_text.contains(name) => ColumnType::Categorical,
                t => t,
            },
        };
        columns.push(typed(name.clone(), kind, raw));
    }
    Ok(Table {
        source: source.to_owned(),
        target_name: target_col.map(|c| header[c].clone()),
        id_name: id_col.map(|c| header[c].clone()),
        header,
        columns,
        target,
        ids,
        rows,
        sha256,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(csv: &str, target: Option<&str>) -> Result<Table, LearnError> {
        let opts = TableOptions {
            target: target.map(str::to_owned),
            ..TableOptions::default()
        };
        read_table(csv.as_bytes(), "t.csv", &opts)
    }

    /// The column `cells` make when read with the number mode (`inferred`) and without.
    fn both_ways(cells: &[String]) -> (ColumnType, String, String) {
        let column = |inferred: bool| {
            let mut raw = Raw::new(inferred);
            for c in cells {
                raw.push(c, &[]);
            }
            let kind = infer(&raw, cells.len());
            (kind, format!("{:?}", typed("x".into(), kind, raw)))
        };
        let ((k1, with), (k2, without)) = (column(true), column(false));
        assert_eq!(k1, k2);
        (k1, with, without)
    }

    #[test]
    fn many_distinct_numbers_read_without_a_dictionary_make_the_same_column() {
        // 3,000 distinct numbers (some repeated, some missing, spaces around some): past
        // NUMBER_MODE distinct values the dictionary gives way to the numbers themselves.
        let cells: Vec<String> = (0..5000)
            .map(|i| match i % 7 {
                0 => String::new(),
                1 => format!(" {}.25 ", i % 3000),
                _ => format!("{}", (i % 3000) as f64 * 1.5 - 700.0),
            })
            .collect();
        let mut raw = Raw::new(true);
        for c in &cells {
            raw.push(c, &[]);
        }
        assert!(raw.numbers.is_some() && raw.dict.is_empty());
        let (kind, with, without) = both_ways(&cells);
        assert_eq!(kind, ColumnType::Numeric);
        assert_eq!(with, without);
    }

    #[test]
    fn a_word_after_the_numbers_brings_the_dictionary_back_exactly() {
        // The word comes after the switch: the column is text, with every value and its count
        // as if the dictionary had never gone.
        for at in [1500, 4999] {
            let mut cells: Vec<String> = (0..5000)
                .map(|i| match i % 5 {
                    0 => "NA".to_owned(),
                    _ => format!("{}", i % 2000),
                })
                .collect();
            cells[at] = "many".to_owned();
            let (kind, with, without) = both_ways(&cells);
            assert_eq!(kind, ColumnType::Text);
            assert_eq!(with, without);
        }
        // A few distinct numbers never switch: booleans and small numeric columns as before.
        let cells: Vec<String> = (0..3000).map(|i| format!("{}", i % 2)).collect();
        assert_eq!(both_ways(&cells).0, ColumnType::Boolean);
    }

    #[test]
    fn semicolons_and_tabs_separate_fields_when_the_header_has_no_comma() {
        assert_eq!(separator(b"a,b;c\n1;2,3\n"), b',');
        assert_eq!(separator(b"\"a,b\";c\n"), b';');
        assert_eq!(separator(b"a\tb\tc\r\n1,5\t2\t3\r\n"), b'\t');
        assert_eq!(separator(b"a;b\tc\n"), b';');
        assert_eq!(separator(b"lead score\n3\n"), b',');
        assert_eq!(separator(b""), b',');
        // The same table from each.
        let comma = "n,c,won\r\n1.5,\"red; dark\",yes\r\n2,blue,no\r\n,Select,no\r\n";
        let want = read(comma, Some("won")).unwrap();
        for sep in [";", "\t"] {
            let csv = comma.replace(',', sep);
            let t = read(&csv, Some("won")).unwrap();
            assert_eq!(t.header, want.header, "{sep:?}");
            // (Debug text: missing numbers are NaN, which equals nothing.)
            let (got, exp) = (format!("{:?}", t.columns), format!("{:?}", want.columns));
            assert_eq!(got, exp, "{sep:?}");
            assert_eq!(t.target, want.target, "{sep:?}");
        }
        // Decimal commas there are numbers; other commas are text.
        let t = read(
            "n;c;won\n1,5;a,b;yes\n-2,25;7,5 kg;no\n3;1,2,3;no\n",
            Some("won"),
        )
        .unwrap();
        assert_eq!(t.columns[0].kind, ColumnType::Numeric);
        match &t.columns[0].values {
            Values::Numbers(v) => assert_eq!(v, &[1.5, -2.25, 3.0]),
            v => panic!("{v:?}"),
        }
        assert_eq!(t.columns[1].kind, ColumnType::Categorical);
        // Points grouping thousands, where they cannot be decimal points.
        let t = read(
            "n;won\n1.234,5;yes\n-1.234.567;no\n12.345.678,25;no\n1.234;yes\n0,5;no\n",
            Some("won"),
        )
        .unwrap();
        match &t.columns[0].values {
            Values::Numbers(v) => {
                assert_eq!(v, &[1234.5, -1234567.0, 12345678.25, 1.234, 0.5])
            }
            v => panic!("{v:?}"),
        }
        // Not numbers: groups of other sizes, a point after the comma, letters.
        for v in [
            "1.23,5",
            "1.2345,5",
            "1,234.5",
            "12.34.56",
            "1.234,5x",
            "v1.234.567",
        ] {
            assert_eq!(decimal_comma(b';', v), None, "{v}");
        }
        assert_eq!(decimal_comma(b',', "1.234,5"), None);
        let comma = read("n,won\n\"1,5\",yes\n2,no\n", Some("won")).unwrap();
        assert_eq!(comma.columns[0].kind, ColumnType::Categorical);
        // A wrong field count names its line, as with commas.
        let e = read("n;c;won\n1;a;yes\n2;b\n", Some("won")).unwrap_err();
        assert!(e.to_string().contains("t.csv:3"), "{e}");
    }

    #[test]
    fn types_are_inferred_from_values() {
        let csv = "n,b,d,c,k\r\n1.5,Yes,2026-01-02,red,x\r\n2,No,2026-01-03,blue,x\r\n,Select,,Select,x\r\n";
        let t = read(csv, None).unwrap();
        let kinds: Vec<_> = t
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.kind))
            .collect();
        assert_eq!(
            kinds,
            [
                ("n", ColumnType::Numeric),
                ("b", ColumnType::Boolean),
                ("d", ColumnType::Date),
                ("c", ColumnType::Categorical),
                ("k", ColumnType::Constant)
            ]
        );
        assert_eq!(t.rows, 3);
        let Values::Numbers(b) = &t.columns[1].values else {
            panic!()
        };
        assert_eq!(b[..2], [1.0, 0.0]);
        assert!(b[2].is_nan());
        let Values::Numbers(d) = &t.columns[2].values else {
            panic!()
        };
        assert_eq!(d[1] - d[0], 1.0);
        assert_eq!(t.columns[3].missing, 1);
    }

    #[test]
    fn placeholders_are_missing_and_real_values_are_not() {
        for m in [
            "",
            " ",
            "Select",
            "-- Select --",
            "NA",
            "n/a",
            "null",
            "NaN",
            "(not set)",
            "?",
            "#N/A",
            "Undefined",
            "Unknown",
            " UNKNOWN ",
            "Please Select",
            "\u{a0}nil\u{a0}",
            "\tnone selected",
        ] {
            assert!(is_missing(m), "{m:?}");
        }
        for v in [
            "0",
            "No",
            "None of the above",
            "Selected",
            "Nashville",
            "-1",
            "9 NA",
            "v2",
            "Upsell",
            "\u{a0}Paris",
            "Unknown Pleasures",
        ] {
            assert!(!is_missing(v), "{v:?}");
        }
        // A CRM's `Unknown` in a number column leaves it a number column, one value missing.
        let t = read("employees,won\n10,yes\nUnknown,no\n250,no\n", Some("won")).unwrap();
        assert_eq!(
            (t.columns[0].kind, t.columns[0].missing),
            (ColumnType::Numeric, 1)
        );
    }

    #[test]
    fn target_accepts_binary_words_and_names_the_bad_line() {
        let t = read("x,won\n1,Won\n2,lost\n3,TRUE\n4,0\n", Some("won")).unwrap();
        assert_eq!(t.target.unwrap(), [1.0, 0.0, 1.0, 0.0]);
        let e = read("x,won\n1,yes\n2,maybe\n", Some("won")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.csv:3: column `won`: \"maybe\" is not a binary outcome (use 1/0, yes/no, true/false or won/lost)"
        );
        let e = read("x,y\n1,1\n", Some("won")).unwrap_err().to_string();
        assert!(
            e.starts_with("t.csv:1: column `won`: no target column"),
            "{e}"
        );
    }

    #[test]
    fn errors_past_the_first_batches_name_their_line_and_the_first_one_wins() {
        // Records are typed in batches of BATCH while the next are parsed: an error is still
        // the first in the file, with its line (the header is line 1).
        let rows = |bad_outcome: Option<usize>, extra_field: Option<usize>| {
            let mut csv = String::from("x,won\n");
            for i in 0..3 * BATCH {
                let won = if Some(i) == bad_outcome { "maybe" } else { "1" };
                let extra = if Some(i) == extra_field { ",oops" } else { "" };
                csv.push_str(&format!("{i},{won}{extra}\n"));
            }
            csv
        };
        let outcome = |line: usize| {
            format!(
                "t.csv:{line}: column `won`: \"maybe\" is not a binary outcome (use 1/0, yes/no, true/false or won/lost)"
            )
        };
        let at = 2 * BATCH + 5;
        let e = read(&rows(Some(at), None), Some("won")).unwrap_err();
        assert_eq!(e.to_string(), outcome(at + 2));
        // A record with a field too many, after the bad outcome: the outcome's error.
        let e = read(&rows(Some(at), Some(at + 10)), Some("won")).unwrap_err();
        assert_eq!(e.to_string(), outcome(at + 2));
        // Before it: the CSV error, with its line.
        let e = read(&rows(Some(at), Some(BATCH + 3)), Some("won"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(&format!("t.csv:{}: ", BATCH + 5))
                && e.contains("found record with 3 fields"),
            "{e}"
        );
        // Every row of a clean file, in order, whatever the batch boundaries.
        let t = read(&rows(None, None), Some("won")).unwrap();
        assert_eq!(t.rows, 3 * BATCH);
        let Values::Numbers(x) = &t.column("x").unwrap().values else {
            panic!("x is numeric")
        };
        assert!(x.iter().enumerate().all(|(i, &v)| v == i as f64));
    }

    #[test]
    fn identifiers_are_text() {
        let mut csv = String::from("id,c\n");
        for i in 0..200 {
            csv.push_str(&format!("u-{i:04}x,{}\n", ["a", "b"][i % 2]));
        }
        let t = read(&csv, None).unwrap();
        assert_eq!(t.columns[0].kind, ColumnType::Text);
        assert_eq!(t.columns[1].kind, ColumnType::Categorical);
    }

    #[test]
    fn a_schema_imposes_types_and_unparsable_numbers_are_missing() {
        let opts = TableOptions {
            schema: Some(vec![("n".into(), ColumnType::Numeric)]),
            ..TableOptions::default()
        };
        let t = read_table("n,extra\n3,a\nabc,b\n".as_bytes(), "t.csv", &opts).unwrap();
        assert_eq!(t.columns.len(), 1);
        let Values::Numbers(v) = &t.columns[0].values else {
            panic!()
        };
        assert_eq!(v[0], 3.0);
        assert!(v[1].is_nan());
    }
}
