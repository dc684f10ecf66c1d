//! Type conversion between database values, Arrow columns and JSON values.
//!
//! - database -> Arrow: one row reader per engine, built once per result set from the
//!   column types (and the catalog's types where the driver's are too coarse), decoding
//!   each value into its column's builder ([`crate::columns`]):
//!   [`postgres_columns`] (binary `COPY` streams and rows), [`mysql`], [`sqlite`],
//!   [`mssql`]. The JSON view of a batch is what the row decoders produced before.
//! - Arrow -> PostgreSQL: [`postgres_binary_columns`] encodes binary `COPY` fields from the
//!   columns, through [`postgres_binary`]'s encoders (which also encode JSON values), or
//!   [`postgres::encode_copy_row`] (the text format, for any type).
//! - JSON -> database: [`BindValue`] (a typed parameter, per column type) for engines that
//!   bind parameters. Decimals travel as strings (exact), timestamps as RFC 3339, bytes as
//!   base64, JSON as JSON.

pub mod mssql;
pub mod mysql;
pub mod postgres;
pub mod postgres_binary;
pub mod postgres_binary_columns;
pub mod postgres_columns;
#[cfg(test)]
mod postgres_reference;
pub mod sqlite;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime};
use connector_sdk::FieldType;
use serde_json::Value;

use crate::dialect::Engine;

/// The type of a `NULL` parameter (SQL Server wants typed nulls).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NullKind {
    /// Text, decimals, JSON, anything else.
    Text,
    /// Booleans.
    Bool,
    /// Integers.
    Int,
    /// Floating point.
    Float,
    /// Binary.
    Bytes,
    /// Timestamps without zone.
    Timestamp,
    /// Timestamps with zone.
    TimestampTz,
    /// Dates.
    Date,
    /// Times of day.
    Time,
}

/// A typed parameter value.
#[derive(Debug, Clone, PartialEq)]
pub enum BindValue {
    /// SQL `NULL` of a kind.
    Null(NullKind),
    /// A boolean.
    Bool(bool),
    /// A 64-bit integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// Text (also decimals, JSON text, UUIDs).
    Text(String),
    /// Binary.
    Bytes(Vec<u8>),
    /// A timestamp without zone.
    Timestamp(NaiveDateTime),
    /// An instant with its offset.
    TimestampTz(DateTime<FixedOffset>),
    /// A date.
    Date(NaiveDate),
    /// A time of day.
    Time(NaiveTime),
}

fn null_kind(field_type: &FieldType) -> NullKind {
    match field_type {
        FieldType::Boolean => NullKind::Bool,
        FieldType::Integer => NullKind::Int,
        FieldType::Number => NullKind::Float,
        FieldType::Bytes => NullKind::Bytes,
        FieldType::Timestamp => NullKind::Timestamp,
        FieldType::TimestampTz => NullKind::TimestampTz,
        FieldType::Date => NullKind::Date,
        FieldType::Time => NullKind::Time,
        _ => NullKind::Text,
    }
}

impl BindValue {
    /// Converts a JSON value for a column of `field_type` on `engine`. The error is a
    /// reason for rejecting the record.
    pub fn from_json(
        value: &Value,
        field_type: &FieldType,
        engine: Engine,
    ) -> Result<Self, String> {
        if value.is_null() {
            return Ok(Self::Null(null_kind(field_type)));
        }
        field_type.check_value(value)?;
        let text = || match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        // SQLite keeps what it is given: temporal values stay in their text form.
        let temporal_as_text = engine == Engine::Sqlite;
        Ok(match field_type {
            FieldType::Boolean => Self::Bool(value.as_bool().unwrap_or_default()),
            FieldType::Integer => Self::Int(
                value
                    .as_i64()
                    .ok_or_else(|| format!("integer {value} does not fit in 64 bits"))?,
            ),
            FieldType::Number => Self::Float(value.as_f64().unwrap_or_default()),
            FieldType::Decimal { .. } => Self::Text(text().trim().to_owned()),
            FieldType::Json => Self::Text(value.to_string()),
            FieldType::Bytes => Self::Bytes(decode_base64(value.as_str().unwrap_or_default())?),
            FieldType::Date if !temporal_as_text => Self::Date(parse_date(&text())?),
            FieldType::Time if !temporal_as_text => Self::Time(parse_time(&text())?),
            FieldType::Timestamp if !temporal_as_text => Self::Timestamp(parse_timestamp(&text())?),
            FieldType::TimestampTz if !temporal_as_text => {
                Self::TimestampTz(parse_timestamp_tz(&text())?)
            }
            _ => Self::Text(text()),
        })
    }

    /// Converts a checkpointed cursor value (as this connector read it) back to a bind.
    pub fn from_cursor(
        value: &Value,
        field_type: &FieldType,
        engine: Engine,
    ) -> Result<Self, String> {
        Self::from_json(value, field_type, engine)
    }
}

pub use connector_sdk::text::{
    decode_base64, encode_base64, format_date, format_time, format_timestamp, format_timestamp_tz,
    format_uuid, parse_date, parse_time, parse_timestamp, parse_timestamp_tz, text_or_base64,
};

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use chrono::SecondsFormat;
    use serde_json::json;

    use super::*;

    #[test]
    fn json_values_become_typed_binds() {
        let ts = parse_timestamp_tz("2024-05-01T12:00:00+02:00").unwrap();
        let cases: Vec<(Value, FieldType, Engine, BindValue)> = vec![
            (
                json!(5),
                FieldType::Integer,
                Engine::MySql,
                BindValue::Int(5),
            ),
            (
                json!(true),
                FieldType::Boolean,
                Engine::MySql,
                BindValue::Bool(true),
            ),
            (
                json!("12345678901234567890.123456789"),
                FieldType::decimal(38, 9),
                Engine::MySql,
                BindValue::Text("12345678901234567890.123456789".into()),
            ),
            (
                json!({"a": [1]}),
                FieldType::Json,
                Engine::MySql,
                BindValue::Text("{\"a\":[1]}".into()),
            ),
            (
                json!("AAEC/w=="),
                FieldType::Bytes,
                Engine::Mssql,
                BindValue::Bytes(vec![0, 1, 2, 255]),
            ),
            (
                json!("2024-05-01T12:00:00+02:00"),
                FieldType::TimestampTz,
                Engine::MySql,
                BindValue::TimestampTz(ts),
            ),
            (
                json!("2024-05-01T12:00:00+02:00"),
                FieldType::TimestampTz,
                Engine::Sqlite,
                BindValue::Text("2024-05-01T12:00:00+02:00".into()),
            ),
            (
                json!("2024-05-01 10:00:00.5"),
                FieldType::Timestamp,
                Engine::MySql,
                BindValue::Timestamp(parse_timestamp("2024-05-01T10:00:00.5").unwrap()),
            ),
            (
                Value::Null,
                FieldType::Bytes,
                Engine::Mssql,
                BindValue::Null(NullKind::Bytes),
            ),
        ];
        for (value, field_type, engine, expected) in cases {
            assert_eq!(
                BindValue::from_json(&value, &field_type, engine).unwrap(),
                expected,
                "{value} as {field_type:?}"
            );
        }
    }

    #[test]
    fn values_of_the_wrong_shape_are_refused_with_a_reason() {
        let cases: Vec<(Value, FieldType)> = vec![
            (json!("not a number"), FieldType::Integer),
            (json!(1.5), FieldType::Integer),
            (json!("abc"), FieldType::decimal(10, 2)),
            (json!("%%%"), FieldType::Bytes),
            (json!("yesterday"), FieldType::TimestampTz),
            (json!(18446744073709551615u64), FieldType::Integer),
        ];
        for (value, field_type) in cases {
            let err = BindValue::from_json(&value, &field_type, Engine::MySql).unwrap_err();
            assert!(!err.is_empty());
        }
    }

    #[test]
    fn fast_temporal_formats_match_chrono() {
        let base = parse_timestamp("1999-12-31T23:59:58").unwrap();
        for micros in [0i64, 1, 500_000, 123_000, 123_456, 999_999, 86_400_000_001] {
            for days in [0i64, 1, 60, 365 * 30, -365 * 1990] {
                let value =
                    base + chrono::TimeDelta::microseconds(micros) + chrono::TimeDelta::days(days);
                assert_eq!(
                    format_timestamp(value),
                    value.format("%Y-%m-%dT%H:%M:%S%.f").to_string()
                );
                let utc = value.and_utc();
                assert_eq!(
                    format_timestamp_tz(utc),
                    utc.to_rfc3339_opts(SecondsFormat::AutoSi, true)
                );
                assert_eq!(
                    format_date(value.date()),
                    value.format("%Y-%m-%d").to_string()
                );
                assert_eq!(
                    format_time(value.time()),
                    value.format("%H:%M:%S%.f").to_string()
                );
            }
        }
        let nanos = NaiveTime::from_hms_nano_opt(1, 2, 3, 123_456_789).unwrap();
        assert_eq!(format_time(nanos), "01:02:03.123456789");
        // Outside the fast path: chrono's own output.
        let far = NaiveDate::from_ymd_opt(12_345, 1, 2).unwrap();
        assert_eq!(format_date(far), "+12345-01-02");
        let bc = NaiveDate::from_ymd_opt(-44, 3, 15).unwrap();
        assert_eq!(format_date(bc), bc.format("%Y-%m-%d").to_string());
    }

    #[test]
    fn uuids_format_hyphenated() {
        let bytes: Vec<u8> = (0..16).collect();
        assert_eq!(
            format_uuid(&bytes).unwrap(),
            "00010203-0405-0607-0809-0a0b0c0d0e0f"
        );
        assert_eq!(format_uuid(&[1, 2]), None);
    }
}
