//! Attribute values and the typed parsing of the text that data files carry.

use crate::error::ValueError;

/// Seconds since 1970-01-01T00:00:00Z. All times in the core are this; the caller parses.
pub type UnixSeconds = i64;

/// Seconds in a day, for windows and decay.
pub const DAY: i64 = 86_400;

/// The type a model needs a field to have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    /// Free text, compared without regard to ASCII case or surrounding spaces.
    Text,
    /// A decimal number.
    Number,
    /// true/false, yes/no, y/n, 1/0.
    Bool,
    /// A date (`2025-06-03`) or a timestamp (RFC 3339).
    Date,
}

impl FieldType {
    pub(crate) fn parse_name(s: &str) -> Option<Self> {
        Some(match s {
            "text" | "string" => Self::Text,
            "number" => Self::Number,
            "bool" | "boolean" => Self::Bool,
            "date" | "datetime" | "timestamp" => Self::Date,
            _ => return None,
        })
    }

    /// What a message says this type is.
    pub fn expected(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Number => "a number",
            Self::Bool => "a boolean (true/false, yes/no, 1/0)",
            Self::Date => "a date (YYYY-MM-DD) or an RFC 3339 timestamp",
        }
    }
}

/// One attribute of a contact or account, already parsed to the type the model needs.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// Empty or absent.
    #[default]
    Missing,
    /// Normalised text: trimmed and ASCII-lowercased, so comparisons are plain equality.
    Text(Box<str>),
    /// A number.
    Number(f64),
    /// A boolean.
    Bool(bool),
    /// A time.
    Date(UnixSeconds),
}

impl Value {
    /// Parses `raw` as `ty`. Empty text is `Missing`, never an error.
    pub fn parse(field: &str, ty: FieldType, raw: &str) -> Result<Value, ValueError> {
        let t = raw.trim();
        if t.is_empty() {
            return Ok(Value::Missing);
        }
        let err = || ValueError {
            field: field.to_owned(),
            expected: ty.expected(),
            found: raw.to_owned(),
        };
        match ty {
            FieldType::Text => Ok(Value::Text(normalize_text(t).into())),
            FieldType::Number => parse_number(t).map(Value::Number).ok_or_else(err),
            FieldType::Bool => parse_bool(t).map(Value::Bool).ok_or_else(err),
            FieldType::Date => parse_time(t).map(Value::Date).ok_or_else(err),
        }
    }
}

/// Trims and lowercases ASCII letters: the form every text comparison uses.
pub fn normalize_text(s: &str) -> String {
    s.trim().to_ascii_lowercase()
}

/// A decimal number. `1,000` is rejected rather than guessed at: thousands separators mean
/// different things in different locales.
pub fn parse_number(s: &str) -> Option<f64> {
    let v: f64 = s.trim().parse().ok()?;
    v.is_finite().then_some(v)
}

/// The spellings of true and false that CRM exports use.
pub fn parse_bool(s: &str) -> Option<bool> {
    let s = s.trim();
    for t in ["true", "yes", "y", "1"] {
        if s.eq_ignore_ascii_case(t) {
            return Some(true);
        }
    }
    for f in ["false", "no", "n", "0"] {
        if s.eq_ignore_ascii_case(f) {
            return Some(false);
        }
    }
    None
}

/// An RFC 3339 timestamp (`2026-03-01T10:00:00Z`, any offset, optional fraction) or a plain date
/// (`2026-03-01`, read as midnight UTC).
pub fn parse_time(s: &str) -> Option<UnixSeconds> {
    let s = s.trim();
    if let Some(t) = fast_rfc3339_utc(s.as_bytes()) {
        return Some(t);
    }
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(dt.timestamp());
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp());
    }
    None
}

/// [`parse_time`] on bytes: the common `YYYY-MM-DDTHH:MM:SSZ` shape without a UTF-8 check or
/// allocation, everything else through the full parser.
pub fn parse_time_bytes(b: &[u8]) -> Option<UnixSeconds> {
    fast_rfc3339_utc(b).or_else(|| parse_time(std::str::from_utf8(b).ok()?))
}

/// The common shape `YYYY-MM-DDTHH:MM:SSZ` without allocation; anything else returns `None` and
/// the caller falls back to the full parser. This is the hot path when reading millions of events.
fn fast_rfc3339_utc(b: &[u8]) -> Option<UnixSeconds> {
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || (b[10] != b'T' && b[10] != b't') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' || (b[19] != b'Z' && b[19] != b'z') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let mut v = 0i64;
        for &c in &b[r] {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + i64::from(c - b'0');
        }
        Some(v)
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    Some(days_from_civil(y, mo, d) * DAY + h * 3600 + mi * 60 + s)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Formats a time as RFC 3339 UTC with seconds, e.g. `2026-03-01T10:00:00Z`. Hand-written:
/// exports format a timestamp per lead, and a general formatter was a tenth of the run time.
pub fn format_time(t: UnixSeconds) -> String {
    let days = t.div_euclid(DAY);
    let secs = t.rem_euclid(DAY);
    let (y, m, d) = civil_from_days(days);
    if !(0..=9999).contains(&y) {
        return t.to_string();
    }
    let two = |v: i64| [b'0' + (v / 10) as u8, b'0' + (v % 10) as u8];
    let [y0, y1] = two(y / 100);
    let [y2, y3] = two(y % 100);
    let [m0, m1] = two(m);
    let [d0, d1] = two(d);
    let [h0, h1] = two(secs / 3600);
    let [n0, n1] = two(secs / 60 % 60);
    let [s0, s1] = two(secs % 60);
    let bytes = [
        y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1, b'T', h0, h1, b':', n0, n1, b':', s0, s1, b'Z',
    ];
    let out: String = bytes.iter().map(|&b| b as char).collect();
    out
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (inverse of `days_from_civil`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_path_agrees_with_chrono() {
        for s in [
            "2026-03-01T10:00:00Z",
            "1999-12-31T23:59:59Z",
            "2024-02-29T00:00:00Z",
            "1970-01-01T00:00:00Z",
        ] {
            let chrono = chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp();
            assert_eq!(fast_rfc3339_utc(s.as_bytes()), Some(chrono), "{s}");
        }
        assert_eq!(fast_rfc3339_utc(b"2023-02-29T00:00:00Z"), None);
    }

    #[test]
    fn format_round_trips_against_chrono() {
        let mut t = -86_400 * 365 * 3;
        while t < 86_400 * 365 * 80 {
            let ours = format_time(t);
            let theirs = chrono::DateTime::from_timestamp(t, 0)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string();
            assert_eq!(ours, theirs);
            assert_eq!(parse_time(&ours), Some(t));
            t += 86_400 * 37 + 3_599;
        }
    }

    #[test]
    fn offsets_fractions_and_dates_parse() {
        assert_eq!(
            parse_time("2026-03-01T12:00:00+02:00"),
            parse_time("2026-03-01T10:00:00Z")
        );
        assert_eq!(
            parse_time("2026-03-01T10:00:00.250Z"),
            parse_time("2026-03-01T10:00:00Z")
        );
        assert_eq!(parse_time("2026-03-01"), parse_time("2026-03-01T00:00:00Z"));
        assert_eq!(parse_time("03/01/2026"), None);
        assert_eq!(parse_time("2026-13-01"), None);
    }

    #[test]
    fn typed_parse_reports_the_field() {
        let e = Value::parse("employees", FieldType::Number, "lots").unwrap_err();
        assert_eq!(
            e.to_string(),
            "field `employees`: expected a number, found \"lots\""
        );
        assert_eq!(
            Value::parse("x", FieldType::Number, "  ").unwrap(),
            Value::Missing
        );
        assert_eq!(
            Value::parse("x", FieldType::Bool, "Yes").unwrap(),
            Value::Bool(true)
        );
        assert_eq!(
            Value::parse("x", FieldType::Text, " New York ").unwrap(),
            Value::Text("new york".into())
        );
        assert_eq!(
            format_time(parse_time("2026-03-01").unwrap()),
            "2026-03-01T00:00:00Z"
        );
    }
}
