//! Contacts and accounts files, read whole into memory (they are small next to events), keeping
//! only the attributes the model reads, already parsed to the types it needs.

use crate::blocks::{self, Block, Located, Source};
use crate::error::BatchError;
use crate::format::{Format, json_text};
use crate::{NoProgress, Progress};
use leadscore_core::{Account, Contact, FieldDef, Model, Value};
use rustc_hash::FxHashMap;
use std::io::BufRead;
use std::path::Path;

/// Contacts in file order, with an id index and each contact's account position.
#[derive(Debug, Default)]
pub struct Contacts {
    /// The contacts, in file order.
    pub rows: Vec<Contact>,
    /// Position of each contact id in `rows`.
    pub index: FxHashMap<Box<str>, u32>,
    /// For each contact, the position of its account in [`Accounts::rows`], when known.
    pub account_of: Vec<Option<u32>>,
}

impl Contacts {
    /// Resolves every contact's `account_id` against `accounts`; returns how many contacts name an
    /// account that is not in the accounts file.
    pub fn link(&mut self, accounts: &Accounts) -> u64 {
        let mut missing = 0;
        self.account_of = self
            .rows
            .iter()
            .map(|c| {
                let id = c.account_id.as_deref()?;
                let found = accounts.index.get(id).copied();
                if found.is_none() {
                    missing += 1;
                }
                found
            })
            .collect();
        missing
    }
}

/// Accounts in file order, with an id index.
#[derive(Debug, Default)]
pub struct Accounts {
    /// The accounts, in file order.
    pub rows: Vec<Account>,
    /// Position of each account id in `rows`.
    pub index: FxHashMap<Box<str>, u32>,
}

/// What a table file must hold: its id column, the attributes the model reads, and whether
/// rows name an account.
struct Shape<'a> {
    id_name: &'a str,
    fields: &'a [FieldDef],
    with_account: bool,
}

/// One record's id, optional account id and attributes.
struct Row {
    line: u64,
    id: String,
    account_id: Option<String>,
    attrs: Vec<Value>,
}

/// How to read a table file: threads, block size, progress.
pub struct ReadOpts<'a> {
    /// Parser threads (CSV).
    pub threads: usize,
    /// Bytes per block; `None` for the default.
    pub block_size: Option<usize>,
    /// Progress reports.
    pub progress: &'a dyn Progress,
    /// The progress phase name.
    pub phase: &'static str,
}

impl Default for ReadOpts<'_> {
    fn default() -> Self {
        ReadOpts {
            threads: 1,
            block_size: None,
            progress: &NoProgress,
            phase: "reading",
        }
    }
}

/// Reads a contacts file (`id` — or `id_column` — optional `account_id`, any other column an
/// attribute) on one thread.
pub fn read_contacts(
    path: &Path,
    format: Option<Format>,
    id_column: Option<&str>,
    model: &Model,
    warnings: &mut Vec<String>,
) -> Result<Contacts, BatchError> {
    read_contacts_with(
        path,
        format,
        id_column,
        model,
        warnings,
        &ReadOpts::default(),
    )
}

/// [`read_contacts`] with threads and progress.
pub fn read_contacts_with(
    path: &Path,
    format: Option<Format>,
    id_column: Option<&str>,
    model: &Model,
    warnings: &mut Vec<String>,
    opts: &ReadOpts<'_>,
) -> Result<Contacts, BatchError> {
    let shape = Shape {
        id_name: id_column.unwrap_or("id"),
        fields: model.contact_fields(),
        with_account: true,
    };
    let mut b = Builder::new(path, shape.id_name, |row: Row| Contact {
        id: row.id,
        account_id: row.account_id,
        attrs: row.attrs,
    });
    read_rows(path, format, &shape, warnings, opts, &mut b)?;
    let account_of = vec![None; b.rows.len()];
    Ok(Contacts {
        rows: b.rows,
        index: b.index,
        account_of,
    })
}

/// Reads an accounts file (`id`, any other column an attribute) on one thread.
pub fn read_accounts(
    path: &Path,
    format: Option<Format>,
    model: &Model,
    warnings: &mut Vec<String>,
) -> Result<Accounts, BatchError> {
    read_accounts_with(path, format, model, warnings, &ReadOpts::default())
}

/// [`read_accounts`] with threads and progress.
pub fn read_accounts_with(
    path: &Path,
    format: Option<Format>,
    model: &Model,
    warnings: &mut Vec<String>,
    opts: &ReadOpts<'_>,
) -> Result<Accounts, BatchError> {
    let shape = Shape {
        id_name: "id",
        fields: model.account_fields(),
        with_account: false,
    };
    let mut b = Builder::new(path, "id", |row: Row| Account {
        id: row.id,
        attrs: row.attrs,
    });
    read_rows(path, format, &shape, warnings, opts, &mut b)?;
    Ok(Accounts {
        rows: b.rows,
        index: b.index,
    })
}

/// Collects rows in file order with an id index, rejecting duplicate ids.
struct Builder<'a, T> {
    path: &'a Path,
    id_name: &'a str,
    rows: Vec<T>,
    index: FxHashMap<Box<str>, u32>,
    lines: Vec<u64>,
    make: fn(Row) -> T,
}

impl<'a, T> Builder<'a, T> {
    fn new(path: &'a Path, id_name: &'a str, make: fn(Row) -> T) -> Self {
        Self {
            path,
            id_name,
            rows: Vec::new(),
            index: FxHashMap::default(),
            lines: Vec::new(),
            make,
        }
    }

    /// Room for `n` more rows, so a million-row file does not rehash and regrow its way there.
    fn reserve(&mut self, n: usize) {
        self.rows.reserve(n);
        self.index.reserve(n);
        self.lines.reserve(n);
    }

    fn push(&mut self, row: Row) -> Result<(), BatchError> {
        let pos = self.rows.len() as u32;
        if let Some(&first) = self.index.get(row.id.as_str()) {
            return Err(BatchError::input(
                self.path,
                row.line,
                Some(self.id_name),
                format!(
                    "duplicate id `{}` (first at line {})",
                    row.id, self.lines[first as usize]
                ),
            ));
        }
        self.index.insert(row.id.as_str().into(), pos);
        self.lines.push(row.line);
        self.rows.push((self.make)(row));
        Ok(())
    }
}

/// Where rows go: a [`Builder`] of contacts or accounts.
trait RowSink {
    fn reserve(&mut self, n: usize);
    fn push(&mut self, row: Row) -> Result<(), BatchError>;
}

impl<T> RowSink for Builder<'_, T> {
    fn reserve(&mut self, n: usize) {
        Builder::reserve(self, n);
    }

    fn push(&mut self, row: Row) -> Result<(), BatchError> {
        Builder::push(self, row)
    }
}

fn read_rows(
    path: &Path,
    format: Option<Format>,
    shape: &Shape<'_>,
    warnings: &mut Vec<String>,
    opts: &ReadOpts<'_>,
    sink: &mut dyn RowSink,
) -> Result<(), BatchError> {
    match format.unwrap_or_else(|| Format::from_path(path)) {
        Format::Csv => read_csv(path, shape, warnings, opts, sink),
        Format::Ndjson => {
            let file = std::fs::File::open(path).map_err(|e| BatchError::io(path, e))?;
            let reader = std::io::BufReader::with_capacity(1 << 20, file);
            read_ndjson(path, reader, shape, sink)
        }
    }
}

fn parse_value(path: &Path, line: u64, f: &FieldDef, raw: &str) -> Result<Value, BatchError> {
    Value::parse(&f.name, f.ty, raw).map_err(|e| {
        BatchError::input(
            path,
            line,
            Some(&f.name),
            format!("expected {}, found {:?}", e.expected, e.found),
        )
    })
}

pub(crate) fn csv_error(path: &Path, e: csv::Error) -> BatchError {
    let line = e.position().map_or(0, |p| p.line());
    match e.kind() {
        csv::ErrorKind::Io(_) => BatchError::Io {
            path: path.to_owned(),
            source: std::io::Error::other(e.to_string()),
        },
        csv::ErrorKind::Utf8 { err, .. } => BatchError::input(
            path,
            line,
            None,
            format!("field {} is not valid UTF-8", err.field() + 1),
        ),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => BatchError::input(
            path,
            line,
            None,
            format!("expected {expected_len} fields like the header, found {len}"),
        ),
        _ => BatchError::input(path, line, None, e.to_string()),
    }
}

fn read_csv(
    path: &Path,
    shape: &Shape<'_>,
    warnings: &mut Vec<String>,
    opts: &ReadOpts<'_>,
    sink: &mut dyn RowSink,
) -> Result<(), BatchError> {
    let Shape {
        id_name,
        fields,
        with_account,
    } = *shape;
    let src = Source::open(path, Format::Csv, &format!("an `{id_name}` column"))?;
    let Some(id_col) = src.column(id_name) else {
        return Err(BatchError::input(
            path,
            1,
            None,
            format!(
                "the header has no `{id_name}` column (found: {})",
                src.header.join(", ")
            ),
        ));
    };
    let account_col = if with_account {
        src.column("account_id")
    } else {
        None
    };
    let cols: Vec<Option<usize>> = fields.iter().map(|f| src.column(&f.name)).collect();
    for (f, c) in fields.iter().zip(&cols) {
        if c.is_none() {
            warnings.push(format!(
                "{}: the model reads `{}`, but the file has no such column; it is missing for every row",
                path.display(),
                f.name
            ));
        }
    }
    let width = src.header.len();
    opts.progress.start(opts.phase, src.total);
    // Each block's rows, with lines counted within the block until the file lines are known.
    let work = |out: &mut Vec<(usize, Vec<Row>)>, block: &Block| {
        let mut rows = Vec::new();
        blocks::csv_records(block, width, |rec, line| {
            let err = |column: &str, message: String| Located {
                seq: block.seq,
                line_in_block: line,
                column: Some(column.to_owned()),
                message,
            };
            let text = |i: usize, name: &str| {
                std::str::from_utf8(rec[i]).map_err(|_| err(name, "not valid UTF-8".into()))
            };
            let id = text(id_col, id_name)?.trim();
            if id.is_empty() {
                return Err(err(id_name, "empty id".into()));
            }
            let account_id = match account_col {
                Some(c) => Some(text(c, "account_id")?.trim())
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
                None => None,
            };
            let mut attrs = Vec::with_capacity(fields.len());
            for (f, c) in fields.iter().zip(&cols) {
                attrs.push(match c {
                    Some(c) => Value::parse(&f.name, f.ty, text(*c, &f.name)?).map_err(|e| {
                        err(
                            &f.name,
                            format!("expected {}, found {:?}", e.expected, e.found),
                        )
                    })?,
                    None => Value::Missing,
                });
            }
            rows.push(Row {
                line,
                id: id.to_owned(),
                account_id,
                attrs,
            });
            Ok(())
        })?;
        out.push((block.seq, rows));
        Ok(())
    };
    let result = src.run(opts.threads, opts.block_size, opts.progress, Vec::new, work);
    opts.progress.finish();
    let (states, lines) = result?;
    let mut blocks: Vec<(usize, Vec<Row>)> = states.into_iter().flatten().collect();
    blocks.sort_unstable_by_key(|b| b.0);
    let total: usize = blocks.iter().map(|b| b.1.len()).sum();
    sink.reserve(total);
    for (seq, rows) in blocks {
        for mut row in rows {
            row.line = lines.line(seq, row.line);
            sink.push(row)?;
        }
    }
    Ok(())
}

fn read_ndjson(
    path: &Path,
    reader: impl BufRead,
    shape: &Shape<'_>,
    sink: &mut dyn RowSink,
) -> Result<(), BatchError> {
    let Shape {
        id_name,
        fields,
        with_account,
    } = *shape;
    for (i, l) in reader.lines().enumerate() {
        let line = i as u64 + 1;
        let l = l.map_err(|e| BatchError::io(path, e))?;
        if l.trim().is_empty() {
            continue;
        }
        let obj: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&l)
            .map_err(|e| BatchError::input(path, line, None, format!("not a JSON object: {e}")))?;
        let id = obj
            .get(id_name)
            .and_then(json_text)
            .map(|s| s.trim().to_owned())
            .unwrap_or_default();
        if id.is_empty() {
            return Err(BatchError::input(
                path,
                line,
                Some(id_name),
                "missing or empty id",
            ));
        }
        let account_id = if with_account {
            obj.get("account_id")
                .and_then(json_text)
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        } else {
            None
        };
        // Attributes may sit at the top level or under `traits` / `attributes`.
        let lookup = |name: &str| {
            obj.get(name).or_else(|| {
                ["traits", "attributes"]
                    .iter()
                    .find_map(|k| obj.get(*k)?.as_object()?.get(name))
            })
        };
        let mut attrs = Vec::with_capacity(fields.len());
        for f in fields {
            attrs.push(match lookup(&f.name).and_then(json_text) {
                Some(raw) => parse_value(path, line, f, &raw)?,
                None => Value::Missing,
            });
        }
        sink.push(Row {
            line,
            id,
            account_id,
            attrs,
        })?;
    }
    Ok(())
}
