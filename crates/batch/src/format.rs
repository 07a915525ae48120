//! Input and output file formats, chosen by flag or by file extension.

use std::path::Path;

/// CSV with a header row, or one JSON object per line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values with a header row (RFC 4180 quoting, LF or CRLF).
    Csv,
    /// Newline-delimited JSON: one object per line.
    Ndjson,
}

impl Format {
    /// `.ndjson`, `.jsonl` and `.json` are NDJSON; everything else is CSV.
    pub fn from_path(p: &Path) -> Format {
        match p
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
        {
            Some(e) if e == "ndjson" || e == "jsonl" || e == "json" => Format::Ndjson,
            _ => Format::Csv,
        }
    }

    /// Parses `csv` or `ndjson`.
    pub fn parse(s: &str) -> Option<Format> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "ndjson" | "jsonl" | "json" => Some(Format::Ndjson),
            _ => None,
        }
    }
}

/// The text of a JSON scalar as a data file would carry it; `None` for null, objects, arrays.
pub(crate) fn json_text(v: &serde_json::Value) -> Option<std::borrow::Cow<'_, str>> {
    match v {
        serde_json::Value::String(s) => Some(s.as_str().into()),
        serde_json::Value::Number(n) => Some(n.to_string().into()),
        serde_json::Value::Bool(b) => Some(if *b { "true" } else { "false" }.into()),
        _ => None,
    }
}
