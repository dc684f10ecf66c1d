//! SQL Server values (tiberius): rows decoded into Arrow columns, and parameter binding.
//!
//! Each column is typed from the variant its values come in (integers, floats, bits,
//! binary, dates, times and timestamps natively; GUIDs, decimals and XML as their text).
//! Dates and times finer than a microsecond keep their text.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use connector_sdk::Batch;
use tiberius::{ColumnData, FromSql, Query, Row};

use super::{BindValue, NullKind, format_date, format_time, format_timestamp, format_timestamp_tz};
use crate::columns::{
    BatchBuilder, Cell, ColumnBuilder, ColumnKind, date_days, datetime_micros, time_micros,
};

/// The Arrow kind of a column whose values come as `data` (the variant says the type,
/// also for `NULL`).
fn column_kind(data: &ColumnData<'static>) -> ColumnKind {
    match data {
        ColumnData::U8(_) => ColumnKind::UInt8,
        ColumnData::I16(_) => ColumnKind::Int16,
        ColumnData::I32(_) => ColumnKind::Int32,
        ColumnData::I64(_) => ColumnKind::Int64,
        ColumnData::F32(_) => ColumnKind::Float32,
        ColumnData::F64(_) => ColumnKind::Float64,
        ColumnData::Bit(_) => ColumnKind::Boolean,
        ColumnData::Binary(_) => ColumnKind::Binary,
        ColumnData::DateTime(_) | ColumnData::SmallDateTime(_) | ColumnData::DateTime2(_) => {
            ColumnKind::Timestamp
        }
        ColumnData::Date(_) => ColumnKind::Date32,
        ColumnData::Time(_) => ColumnKind::Time64,
        ColumnData::DateTimeOffset(_) => ColumnKind::TimestampTz,
        // GUIDs, decimals and XML as the exact text SQL Server's types print.
        ColumnData::String(_)
        | ColumnData::Guid(_)
        | ColumnData::Numeric(_)
        | ColumnData::Xml(_) => ColumnKind::Utf8,
    }
}

/// Decodes the rows of one result set into batches.
#[derive(Debug)]
pub struct MssqlRowReader {
    names: Vec<String>,
    batch: BatchBuilder,
}

impl MssqlRowReader {
    /// A reader of rows shaped like `row`.
    pub fn for_row(row: &Row, batch_size: usize) -> Self {
        let kinds: Vec<(String, ColumnKind)> = row
            .cells()
            .map(|(column, data)| (column.name().to_owned(), column_kind(data)))
            .collect();
        Self {
            names: kinds.iter().map(|(name, _)| name.clone()).collect(),
            batch: BatchBuilder::new(kinds, batch_size),
        }
    }

    /// Decodes one row; the error names the column.
    pub fn decode(&mut self, row: Row) -> Result<(), String> {
        if row.len() != self.names.len() {
            return Err(format!(
                "a row of {} columns, {} expected",
                row.len(),
                self.names.len()
            ));
        }
        for ((name, data), builder) in self.names.iter().zip(row).zip(self.batch.columns()) {
            append_value(&data, builder).map_err(|e| format!("column `{name}`: {e}"))?;
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

fn float(value: f64) -> Cell<'static> {
    // JSON has no NaN or infinity: they read as null.
    if value.is_finite() {
        Cell::Float64(value)
    } else {
        Cell::Null
    }
}

/// Appends text (`None`: `NULL`).
fn append_text(builder: &mut ColumnBuilder, text: Option<String>) {
    match text {
        Some(text) => builder.append(Cell::Text(&text)),
        None => builder.append_null(),
    }
}

/// Appends one SQL Server value to `builder`.
pub fn append_value(
    data: &ColumnData<'static>,
    builder: &mut ColumnBuilder,
) -> Result<(), tiberius::error::Error> {
    let cell = match data {
        ColumnData::U8(v) => v.map_or(Cell::Null, |v| Cell::UInt(v.into())),
        ColumnData::I16(v) => v.map_or(Cell::Null, |v| Cell::Int(v.into())),
        ColumnData::I32(v) => v.map_or(Cell::Null, |v| Cell::Int(v.into())),
        ColumnData::I64(v) => v.map_or(Cell::Null, Cell::Int),
        ColumnData::F32(v) => match v {
            Some(v) if v.is_finite() => Cell::Float32(*v),
            _ => Cell::Null,
        },
        ColumnData::F64(v) => v.map_or(Cell::Null, float),
        ColumnData::Bit(v) => v.map_or(Cell::Null, Cell::Bool),
        ColumnData::String(v) => match v {
            Some(text) => Cell::Text(text),
            None => Cell::Null,
        },
        ColumnData::Binary(v) => match v {
            Some(bytes) => Cell::Bytes(bytes),
            None => Cell::Null,
        },
        ColumnData::Guid(v) => {
            append_text(builder, v.map(|g| g.to_string()));
            return Ok(());
        }
        ColumnData::Numeric(v) => {
            append_text(builder, v.map(|n| n.to_string()));
            return Ok(());
        }
        ColumnData::Xml(v) => {
            append_text(builder, v.as_ref().map(|x| x.to_string()));
            return Ok(());
        }
        ColumnData::DateTime(_) | ColumnData::SmallDateTime(_) | ColumnData::DateTime2(_) => {
            match NaiveDateTime::from_sql(data)? {
                None => Cell::Null,
                Some(at) => match datetime_micros(at) {
                    Some(micros) => Cell::Timestamp(micros),
                    None => {
                        builder.append(Cell::Text(&format_timestamp(at)));
                        return Ok(());
                    }
                },
            }
        }
        ColumnData::Date(_) => match NaiveDate::from_sql(data)? {
            None => Cell::Null,
            Some(date) => match date_days(date) {
                Some(days) => Cell::Date(days),
                None => {
                    builder.append(Cell::Text(&format_date(date)));
                    return Ok(());
                }
            },
        },
        ColumnData::Time(_) => match NaiveTime::from_sql(data)? {
            None => Cell::Null,
            Some(time) => match time_micros(time) {
                Some(micros) => Cell::Time(micros),
                None => {
                    builder.append(Cell::Text(&format_time(time)));
                    return Ok(());
                }
            },
        },
        ColumnData::DateTimeOffset(_) => match chrono::DateTime::<chrono::Utc>::from_sql(data)? {
            None => Cell::Null,
            Some(at) => match datetime_micros(at.naive_utc()) {
                Some(micros) => Cell::TimestampTz(micros),
                None => {
                    builder.append(Cell::Text(&format_timestamp_tz(at)));
                    return Ok(());
                }
            },
        },
    };
    builder.append(cell);
    Ok(())
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
