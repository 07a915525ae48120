//! Allocation-free text formatting for the hot path: integers, zero-padded
//! ids, CSV fields and RFC 3339 timestamps, all appended to a reusable buffer.
//!
//! chrono's formatter costs far more than the rest of an event row, so dates
//! are rendered once per day of the window and times are written by hand.

use chrono::{DateTime, Datelike, NaiveDate};

const SECS_PER_DAY: i64 = 86_400;

/// Appends the decimal digits of `n`.
pub(crate) fn push_u64(buf: &mut Vec<u8>, n: u64) {
    push_padded(buf, n, 1);
}

/// Appends `n` left-padded with zeros to at least `width` digits.
pub(crate) fn push_padded(buf: &mut Vec<u8>, mut n: u64, width: usize) {
    let mut tmp = [b'0'; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let digits = tmp.len() - i;
    let start = tmp.len() - digits.max(width.min(tmp.len()));
    // Positions between `start` and `i` are still the initial b'0' padding.
    buf.extend_from_slice(&tmp[start..]);
}

/// Number of decimal digits of `n` (1 for 0).
pub(crate) fn digits(mut n: u64) -> usize {
    let mut d = 1;
    while n >= 10 {
        n /= 10;
        d += 1;
    }
    d
}

/// Appends a CSV field, quoting it per RFC 4180 only when it needs it.
pub(crate) fn push_field(buf: &mut Vec<u8>, s: &str) {
    let needs_quotes = s.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'));
    if !needs_quotes {
        buf.extend_from_slice(s.as_bytes());
        return;
    }
    buf.push(b'"');
    for b in s.bytes() {
        if b == b'"' {
            buf.push(b'"');
        }
        buf.push(b);
    }
    buf.push(b'"');
}

/// Formats Unix timestamps (seconds, UTC) inside a fixed window as
/// `YYYY-MM-DDThh:mm:ssZ`, using a table of per-day date prefixes.
pub(crate) struct TsFormatter {
    day0: i64,
    prefixes: Vec<[u8; 11]>,
}

impl TsFormatter {
    /// Builds the table for every day touching `[start, end]` (seconds).
    /// Returns `None` if a day falls outside chrono's range or outside the
    /// four-digit years RFC 3339 can express.
    pub(crate) fn new(start: i64, end: i64) -> Option<Self> {
        let day0 = start.div_euclid(SECS_PER_DAY) * SECS_PER_DAY;
        let days = (end.div_euclid(SECS_PER_DAY) * SECS_PER_DAY - day0) / SECS_PER_DAY + 1;
        let mut date: NaiveDate = DateTime::from_timestamp(day0, 0)?.date_naive();
        let mut prefixes = Vec::with_capacity(usize::try_from(days).ok()?);
        for _ in 0..days {
            let year = u64::try_from(date.year()).ok().filter(|y| *y <= 9999)?;
            let mut p = Vec::with_capacity(11);
            push_padded(&mut p, year, 4);
            p.push(b'-');
            push_padded(&mut p, u64::from(date.month()), 2);
            p.push(b'-');
            push_padded(&mut p, u64::from(date.day()), 2);
            p.push(b'T');
            prefixes.push(p.try_into().ok()?);
            date = date.succ_opt()?;
        }
        Some(TsFormatter { day0, prefixes })
    }

    /// Appends `ts`, which must lie inside the window given to [`Self::new`].
    pub(crate) fn push(&self, buf: &mut Vec<u8>, ts: i64) {
        let off = ts - self.day0;
        let day = (off / SECS_PER_DAY) as usize;
        let sec = (off % SECS_PER_DAY) as u32;
        let (h, m, s) = (sec / 3600, sec / 60 % 60, sec % 60);
        let two = |v: u32| [b'0' + (v / 10) as u8, b'0' + (v % 10) as u8];
        let (h, m, s) = (two(h), two(m), two(s));
        buf.extend_from_slice(&self.prefixes[day]);
        buf.extend_from_slice(&[h[0], h[1], b':', m[0], m[1], b':', s[0], s[1], b'Z']);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_integers() {
        let mut b = Vec::new();
        push_padded(&mut b, 42, 6);
        b.push(b' ');
        push_padded(&mut b, 1_234_567, 3);
        b.push(b' ');
        push_u64(&mut b, 0);
        b.push(b' ');
        push_u64(&mut b, u64::MAX);
        assert_eq!(
            String::from_utf8(b).unwrap(),
            "000042 1234567 0 18446744073709551615"
        );
        assert_eq!(digits(0), 1);
        assert_eq!(digits(999_999), 6);
        assert_eq!(digits(1_000_000), 7);
    }

    #[test]
    fn csv_quoting() {
        let mut b = Vec::new();
        push_field(&mut b, "plain");
        b.push(b'|');
        push_field(&mut b, "a,b");
        b.push(b'|');
        push_field(&mut b, "say \"hi\"");
        assert_eq!(
            String::from_utf8(b).unwrap(),
            "plain|\"a,b\"|\"say \"\"hi\"\"\""
        );
    }

    #[test]
    fn timestamps_match_chrono() {
        let start = DateTime::parse_from_rfc3339("2024-02-27T13:00:00Z")
            .unwrap()
            .timestamp();
        let end = start + 40 * SECS_PER_DAY;
        let f = TsFormatter::new(start, end).unwrap();
        let mut ts = start;
        while ts <= end {
            let mut b = Vec::new();
            f.push(&mut b, ts);
            let want = DateTime::from_timestamp(ts, 0)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string();
            assert_eq!(String::from_utf8(b).unwrap(), want);
            ts += 7_919;
        }
    }
}
