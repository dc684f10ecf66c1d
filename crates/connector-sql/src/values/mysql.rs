//! MySQL / MariaDB values: rows decoded into Arrow columns, and parameter binding.
//!
//! Integers are `Int64` (`UInt64` unsigned), floats `Float64`, `DECIMAL(p, s)` a
//! `Decimal128(p, s)` (the exact text when it does not fit), text `Utf8`, `DATE`,
//! `TIME`, `DATETIME` `Date32`, `Time64(µs)`, `Timestamp(µs)`, `TIMESTAMP` an instant
//! (`Timestamp(µs, "+00:00")`), `JSON` (and MariaDB's JSON text) JSON text, binary
//! types `Binary`.

use std::collections::HashMap;

use connector_sdk::{Batch, FieldType};
use serde_json::Value;
use sqlx::mysql::{MySql, MySqlArguments, MySqlRow};
use sqlx::query::Query;
use sqlx::{Column as _, Row as _, TypeInfo as _, ValueRef as _};

use super::{
    BindValue, format_date, format_time, format_timestamp, format_timestamp_tz, text_or_base64,
};
use crate::columns::{
    BatchBuilder, Cell, ColumnBuilder, ColumnKind, date_days, datetime_micros, decimal_mantissa,
    time_micros,
};

/// How one result column is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MyKind {
    Bool,
    Int,
    UInt,
    Float,
    Decimal,
    Text,
    Date,
    Time,
    DateTime,
    Timestamp,
    Json,
    Bytes,
    Other,
}

impl MyKind {
    fn new(type_name: &str, hint: Option<&FieldType>) -> Self {
        let kind = match type_name {
            "BOOLEAN" => Self::Bool,
            "TINYINT" | "SMALLINT" | "MEDIUMINT" | "INT" | "BIGINT" | "YEAR" => Self::Int,
            "TINYINT UNSIGNED" | "SMALLINT UNSIGNED" | "MEDIUMINT UNSIGNED" | "INT UNSIGNED"
            | "BIGINT UNSIGNED" => Self::UInt,
            "FLOAT" | "DOUBLE" => Self::Float,
            "DECIMAL" => Self::Decimal,
            "CHAR" | "VARCHAR" | "TINYTEXT" | "TEXT" | "MEDIUMTEXT" | "LONGTEXT" | "ENUM"
            | "SET" => Self::Text,
            "DATE" => Self::Date,
            "TIME" => Self::Time,
            "DATETIME" => Self::DateTime,
            "TIMESTAMP" => Self::Timestamp,
            "JSON" => Self::Json,
            "BINARY" | "VARBINARY" | "TINYBLOB" | "BLOB" | "MEDIUMBLOB" | "LONGBLOB" => Self::Bytes,
            _ => Self::Other,
        };
        // MariaDB's JSON is LONGTEXT with a json_valid() check: the catalog knows better.
        match (kind, hint) {
            (Self::Text | Self::Bytes, Some(FieldType::Json)) => Self::Json,
            (Self::Int, Some(FieldType::Boolean)) => Self::Bool,
            _ => kind,
        }
    }
}

/// The Arrow kind of a result column of `kind`; `hint` is the catalog's type (the
/// precision and scale of a `DECIMAL`).
fn column_kind(kind: MyKind, hint: Option<&FieldType>) -> ColumnKind {
    match kind {
        MyKind::Bool => ColumnKind::Boolean,
        MyKind::Int => ColumnKind::Int64,
        MyKind::UInt => ColumnKind::UInt64,
        MyKind::Float => ColumnKind::Float64,
        MyKind::Decimal => match hint {
            Some(FieldType::Decimal { precision, scale }) => {
                ColumnKind::decimal(*precision, *scale)
            }
            _ => ColumnKind::Utf8,
        },
        MyKind::Text | MyKind::Other => ColumnKind::Utf8,
        MyKind::Date => ColumnKind::Date32,
        MyKind::Time => ColumnKind::Time64,
        MyKind::DateTime => ColumnKind::Timestamp,
        MyKind::Timestamp => ColumnKind::TimestampTz,
        MyKind::Json => ColumnKind::Json,
        MyKind::Bytes => ColumnKind::Binary,
    }
}

/// Decodes the rows of one result set into batches.
#[derive(Debug)]
pub struct MySqlRowReader {
    columns: Vec<(String, MyKind)>,
    batch: BatchBuilder,
}

impl MySqlRowReader {
    /// A reader of rows shaped like `row`; `hints` are the catalog types by column name.
    pub fn for_row(row: &MySqlRow, hints: &HashMap<String, FieldType>, batch_size: usize) -> Self {
        let mut columns = Vec::new();
        let mut kinds = Vec::new();
        for column in row.columns() {
            let name = column.name().to_owned();
            let hint = hints.get(&name);
            let kind = MyKind::new(column.type_info().name(), hint);
            kinds.push((name.clone(), column_kind(kind, hint)));
            columns.push((name, kind));
        }
        Self {
            columns,
            batch: BatchBuilder::new(kinds, batch_size),
        }
    }

    /// Decodes one row; the error names the column.
    pub fn decode(&mut self, row: &MySqlRow) -> Result<(), String> {
        for (index, ((name, kind), builder)) in
            self.columns.iter().zip(self.batch.columns()).enumerate()
        {
            append_value(row, index, *kind, builder)
                .map_err(|e| format!("column `{name}`: {e}"))?;
        }
        self.batch.end_row();
        Ok(())
    }

    /// How many rows the current batch holds.
    pub fn rows(&self) -> usize {
        self.batch.len()
    }

    /// The rows decoded so far, as a batch.
    pub fn take_batch(&mut self) -> Batch {
        self.batch.finish()
    }
}

/// Appends the value at `index` of `row` (a column of `kind`) to `builder`.
fn append_value(
    row: &MySqlRow,
    index: usize,
    kind: MyKind,
    builder: &mut ColumnBuilder,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    if row.try_get_raw(index)?.is_null() {
        builder.append_null();
        return Ok(());
    }
    let bytes = || row.try_get_unchecked::<&[u8], _>(index);
    match kind {
        MyKind::Bool => builder.append(Cell::Bool(row.try_get_unchecked::<i64, _>(index)? != 0)),
        MyKind::Int => builder.append(Cell::Int(row.try_get_unchecked::<i64, _>(index)?)),
        MyKind::UInt => builder.append(Cell::UInt(row.try_get_unchecked::<u64, _>(index)?)),
        MyKind::Float => {
            let v = row.try_get_unchecked::<f64, _>(index)?;
            // JSON has no NaN or infinity: they read as null, as always.
            builder.append(if v.is_finite() {
                Cell::Float64(v)
            } else {
                Cell::Null
            });
        }
        MyKind::Decimal | MyKind::Text => {
            let text = String::from_utf8_lossy(bytes()?);
            let decimal = match &*builder {
                ColumnBuilder::Decimal { scale, .. } => {
                    decimal_mantissa(&text, *scale).map(|mantissa| Cell::Decimal {
                        mantissa,
                        scale: *scale,
                    })
                }
                _ => None,
            };
            builder.append(decimal.unwrap_or(Cell::Text(&text)));
        }
        MyKind::Date => {
            let date: chrono::NaiveDate = row.try_get_unchecked(index)?;
            match date_days(date) {
                Some(days) => builder.append(Cell::Date(days)),
                None => builder.append(Cell::Text(&format_date(date))),
            }
        }
        MyKind::Time => {
            let time: chrono::NaiveTime = row.try_get_unchecked(index)?;
            match time_micros(time) {
                Some(micros) => builder.append(Cell::Time(micros)),
                None => builder.append(Cell::Text(&format_time(time))),
            }
        }
        MyKind::DateTime => {
            let at: chrono::NaiveDateTime = row.try_get_unchecked(index)?;
            match datetime_micros(at) {
                Some(micros) => builder.append(Cell::Timestamp(micros)),
                None => builder.append(Cell::Text(&format_timestamp(at))),
            }
        }
        MyKind::Timestamp => {
            let at: chrono::DateTime<chrono::Utc> = row.try_get_unchecked(index)?;
            match datetime_micros(at.naive_utc()) {
                Some(micros) => builder.append(Cell::TimestampTz(micros)),
                None => builder.append(Cell::Text(&format_timestamp_tz(at))),
            }
        }
        MyKind::Json => {
            let bytes = bytes()?;
            serde_json::from_slice::<serde::de::IgnoredAny>(bytes)?;
            builder.append(Cell::Json(std::str::from_utf8(bytes)?));
        }
        MyKind::Bytes => builder.append(Cell::Bytes(bytes()?)),
        MyKind::Other => match text_or_base64(bytes()?) {
            Value::String(text) => builder.append(Cell::Text(&text)),
            _ => builder.append_null(),
        },
    }
    Ok(())
}

/// Binds one value to a MySQL query.
pub fn bind<'q>(
    query: Query<'q, MySql, MySqlArguments>,
    value: BindValue,
) -> Query<'q, MySql, MySqlArguments> {
    match value {
        BindValue::Null(_) => query.bind(None::<String>),
        BindValue::Bool(v) => query.bind(v),
        BindValue::Int(v) => query.bind(v),
        BindValue::Float(v) => query.bind(v),
        BindValue::Text(v) => query.bind(v),
        BindValue::Bytes(v) => query.bind(v),
        BindValue::Timestamp(v) => query.bind(v),
        BindValue::TimestampTz(v) => query.bind(v.with_timezone(&chrono::Utc)),
        BindValue::Date(v) => query.bind(v),
        BindValue::Time(v) => query.bind(v),
    }
}
