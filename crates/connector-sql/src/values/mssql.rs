//! SQL Server values (tiberius): row decoding and parameter binding.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use connector_sdk::Record;
use serde_json::{Map, Value};
use tiberius::{ColumnData, FromSql, Query, Row};

use super::{
    BindValue, NullKind, encode_base64, format_date, format_time, format_timestamp,
    format_timestamp_tz,
};

/// Decodes one row into a record; the error names the column.
pub fn decode_row(row: Row) -> Result<Record, String> {
    let names: Vec<String> = row.columns().iter().map(|c| c.name().to_owned()).collect();
    let mut record = Map::new();
    for (name, data) in names.into_iter().zip(row) {
        let value = decode_value(&data).map_err(|e| format!("column `{name}`: {e}"))?;
        record.insert(name, value);
    }
    Ok(record)
}

fn opt<T>(value: Option<T>, f: impl FnOnce(T) -> Value) -> Value {
    value.map_or(Value::Null, f)
}

fn float(value: f64) -> Value {
    serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number)
}

/// Converts one SQL Server value to JSON.
pub fn decode_value(data: &ColumnData<'static>) -> Result<Value, tiberius::error::Error> {
    Ok(match data {
        ColumnData::U8(v) => opt(*v, Value::from),
        ColumnData::I16(v) => opt(*v, Value::from),
        ColumnData::I32(v) => opt(*v, Value::from),
        ColumnData::I64(v) => opt(*v, Value::from),
        ColumnData::F32(v) => opt(*v, |v| float(f64::from(v))),
        ColumnData::F64(v) => opt(*v, float),
        ColumnData::Bit(v) => opt(*v, Value::from),
        ColumnData::String(v) => opt(v.as_ref(), |s| Value::String(s.to_string())),
        ColumnData::Guid(v) => opt(v.as_ref(), |g| Value::String(g.to_string())),
        ColumnData::Binary(v) => opt(v.as_ref(), |b| Value::String(encode_base64(b))),
        ColumnData::Numeric(v) => opt(v.as_ref(), |n| Value::String(n.to_string())),
        ColumnData::Xml(v) => opt(v.as_ref(), |x| Value::String(x.to_string())),
        ColumnData::DateTime(_) | ColumnData::SmallDateTime(_) | ColumnData::DateTime2(_) => {
            opt(NaiveDateTime::from_sql(data)?, |v| {
                Value::String(format_timestamp(v))
            })
        }
        ColumnData::Date(_) => opt(NaiveDate::from_sql(data)?, |v| {
            Value::String(format_date(v))
        }),
        ColumnData::Time(_) => opt(NaiveTime::from_sql(data)?, |v| {
            Value::String(format_time(v))
        }),
        ColumnData::DateTimeOffset(_) => {
            opt(chrono::DateTime::<chrono::Utc>::from_sql(data)?, |v| {
                Value::String(format_timestamp_tz(v))
            })
        }
    })
}

/// Binds one value to a SQL Server query (typed nulls, so `NULL` reaches binary columns).
pub fn bind(query: &mut Query<'_>, value: BindValue) {
    match value {
        BindValue::Null(kind) => match kind {
            NullKind::Bool => query.bind(None::<bool>),
            NullKind::Int => query.bind(None::<i64>),
            NullKind::Float => query.bind(None::<f64>),
            NullKind::Bytes => query.bind(None::<Vec<u8>>),
            NullKind::Timestamp => query.bind(None::<NaiveDateTime>),
            NullKind::TimestampTz => query.bind(None::<chrono::DateTime<chrono::FixedOffset>>),
            NullKind::Date => query.bind(None::<NaiveDate>),
            NullKind::Time => query.bind(None::<NaiveTime>),
            NullKind::Text => query.bind(None::<String>),
        },
        BindValue::Bool(v) => query.bind(v),
        BindValue::Int(v) => query.bind(v),
        BindValue::Float(v) => query.bind(v),
        BindValue::Text(v) => query.bind(v),
        BindValue::Bytes(v) => query.bind(v),
        BindValue::Timestamp(v) => query.bind(v),
        BindValue::TimestampTz(v) => query.bind(v),
        BindValue::Date(v) => query.bind(v),
        BindValue::Time(v) => query.bind(v),
    }
}
