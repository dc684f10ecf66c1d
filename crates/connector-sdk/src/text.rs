//! The canonical text forms of typed values in a record's JSON view: dates, times and
//! timestamps as chrono writes them (`2024-05-01T10:00:00.123456Z`), bytes as base64, UUIDs
//! hyphenated. Readers that render values to JSON and [`crate::Batch`]'s JSON view share
//! them, so a value reads the same whichever path it took.

use base64::Engine as _;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, Utc};
use serde_json::Value;

/// Decodes standard base64 (with or without padding).
pub fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    let trimmed = text.trim_end_matches('=');
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(trimmed)
        .map_err(|e| format!("bytes must be base64: {e}"))
}

/// Encodes bytes as standard base64.
pub fn encode_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|e| format!("date `{text}`: {e}"))
}

/// Parses `HH:MM:SS[.fff]`.
pub fn parse_time(text: &str) -> Result<NaiveTime, String> {
    NaiveTime::parse_from_str(text.trim(), "%H:%M:%S%.f").map_err(|e| format!("time `{text}`: {e}"))
}

/// Parses a timestamp without zone (`T` or space separated); an RFC 3339 value with an
/// offset is converted to UTC.
pub fn parse_timestamp(text: &str) -> Result<NaiveDateTime, String> {
    let text = text.trim();
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(parsed) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(parsed);
        }
    }
    parse_timestamp_tz(text)
        .map(|t| t.naive_utc())
        .map_err(|_| format!("timestamp `{text}` is not `YYYY-MM-DDTHH:MM:SS[.fff]`"))
}

/// Parses an RFC 3339 timestamp (`T` or space separated).
pub fn parse_timestamp_tz(text: &str) -> Result<DateTime<FixedOffset>, String> {
    let text = text.trim();
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%#z"))
        .map_err(|e| format!("timestamp with zone `{text}` is not RFC 3339: {e}"))
}

/// Formats an instant as RFC 3339 in UTC (`2024-05-01T10:00:00.123456Z`).
pub fn format_timestamp_tz(value: DateTime<Utc>) -> String {
    let mut out = String::with_capacity(32);
    if push_datetime(&mut out, value.naive_utc()) {
        out.push('Z');
        out
    } else {
        value.to_rfc3339_opts(SecondsFormat::AutoSi, true)
    }
}

/// Formats a timestamp without zone (`2024-05-01T10:00:00.123456`).
pub fn format_timestamp(value: NaiveDateTime) -> String {
    let mut out = String::with_capacity(32);
    if push_datetime(&mut out, value) {
        out
    } else {
        value.format("%Y-%m-%dT%H:%M:%S%.f").to_string()
    }
}

/// Formats a date (`2024-05-01`).
pub fn format_date(value: NaiveDate) -> String {
    let mut out = String::with_capacity(10);
    if push_date(&mut out, value) {
        out
    } else {
        value.format("%Y-%m-%d").to_string()
    }
}

/// Formats a time of day (`10:00:00.5`).
pub fn format_time(value: NaiveTime) -> String {
    let mut out = String::with_capacity(18);
    if push_time(&mut out, value) {
        out
    } else {
        value.format("%H:%M:%S%.f").to_string()
    }
}

// The fast formatters below write exactly what chrono writes for `%Y-%m-%d`,
// `%H:%M:%S%.f` (and RFC 3339 with `SecondsFormat::AutoSi`), without its formatting
// machinery; they return `false` (having written nothing) for what they do not cover
// (years outside 0..=9999, leap seconds), which the callers hand to chrono.

fn push_digits(out: &mut String, value: u32, width: u32) {
    let mut divisor = 10u32.pow(width - 1);
    while divisor > 0 {
        out.push(char::from(b'0' + (value / divisor % 10) as u8));
        divisor /= 10;
    }
}

fn push_date(out: &mut String, value: NaiveDate) -> bool {
    use chrono::Datelike as _;
    let Ok(year) = u32::try_from(value.year()) else {
        return false;
    };
    if year > 9999 {
        return false;
    }
    push_digits(out, year, 4);
    out.push('-');
    push_digits(out, value.month(), 2);
    out.push('-');
    push_digits(out, value.day(), 2);
    true
}

fn push_time(out: &mut String, value: NaiveTime) -> bool {
    use chrono::Timelike as _;
    let nanos = value.nanosecond();
    if nanos >= 1_000_000_000 {
        return false;
    }
    push_digits(out, value.hour(), 2);
    out.push(':');
    push_digits(out, value.minute(), 2);
    out.push(':');
    push_digits(out, value.second(), 2);
    if nanos != 0 {
        out.push('.');
        if nanos.is_multiple_of(1_000_000) {
            push_digits(out, nanos / 1_000_000, 3);
        } else if nanos.is_multiple_of(1_000) {
            push_digits(out, nanos / 1_000, 6);
        } else {
            push_digits(out, nanos, 9);
        }
    }
    true
}

fn push_datetime(out: &mut String, value: NaiveDateTime) -> bool {
    use chrono::Timelike as _;
    if value.nanosecond() >= 1_000_000_000 || !push_date(out, value.date()) {
        out.clear();
        return false;
    }
    out.push('T');
    push_time(out, value.time())
}

/// Formats 16 bytes as a hyphenated UUID.
pub fn format_uuid(bytes: &[u8]) -> Option<String> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    if bytes.len() != 16 {
        return None;
    }
    let mut out = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    Some(out)
}

/// Text of unknown binary content: UTF-8 as is, anything else as base64.
pub fn text_or_base64(bytes: &[u8]) -> Value {
    match std::str::from_utf8(bytes) {
        Ok(text) => Value::String(text.to_owned()),
        Err(_) => Value::String(encode_base64(bytes)),
    }
}
