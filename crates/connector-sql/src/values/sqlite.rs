//! SQLite values: rows decoded into Arrow columns by declared type and storage class, and
//! parameter binding.
//!
//! A column is typed from its declared type (`Boolean`, `Int64`, `Float64`, `Binary`,
//! JSON text; decimals and everything else `Utf8`); a value of another storage class
//! (SQLite keeps what it is given) turns the column into its JSON view for that batch.

use std::collections::HashMap;

use connector_sdk::{Batch, FieldType};
use sqlx::query::Query;
use sqlx::sqlite::{Sqlite, SqliteArguments, SqliteRow};
use sqlx::{Column as _, Row as _, TypeInfo as _, ValueRef as _};

use super::BindValue;
use crate::columns::{BatchBuilder, Cell, ColumnBuilder, ColumnKind};
use crate::dialect::{Dialect as _, SqliteDialect};

/// The Arrow kind of a column declared as `field_type`.
fn column_kind(field_type: &FieldType) -> ColumnKind {
    match field_type {
        FieldType::Boolean => ColumnKind::Boolean,
        FieldType::Integer => ColumnKind::Int64,
        FieldType::Number => ColumnKind::Float64,
        FieldType::Json => ColumnKind::Json,
        FieldType::Bytes => ColumnKind::Binary,
        _ => ColumnKind::Utf8,
    }
}

/// Decodes the rows of one result set into batches.
#[derive(Debug)]
pub struct SqliteRowReader {
    columns: Vec<(String, FieldType)>,
    batch: BatchBuilder,
}

impl SqliteRowReader {
    /// A reader of rows shaped like `row`; `hints` are the declared types by column name.
    pub fn for_row(row: &SqliteRow, hints: &HashMap<String, FieldType>, batch_size: usize) -> Self {
        let columns: Vec<(String, FieldType)> = row
            .columns()
            .iter()
            .map(|c| {
                let name = c.name().to_owned();
                let field_type = hints
                    .get(&name)
                    .cloned()
                    .unwrap_or_else(|| SqliteDialect.map_type(c.type_info().name()));
                (name, field_type)
            })
            .collect();
        let kinds = columns
            .iter()
            .map(|(name, field_type)| (name.clone(), column_kind(field_type)))
            .collect();
        Self {
            columns,
            batch: BatchBuilder::new(kinds, batch_size),
        }
    }

    /// Decodes one row; the error names the column.
    pub fn decode(&mut self, row: &SqliteRow) -> Result<(), String> {
        for (index, ((name, field_type), builder)) in
            self.columns.iter().zip(self.batch.columns()).enumerate()
        {
            append_value(row, index, field_type, builder)
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

/// Appends the value at `index` of `row` (a column declared as `field_type`) by the
/// storage class of this very value (SQLite is dynamically typed): a value the column's
/// Arrow type does not hold turns the column into its JSON view.
fn append_value(
    row: &SqliteRow,
    index: usize,
    field_type: &FieldType,
    builder: &mut ColumnBuilder,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let raw = row.try_get_raw(index)?;
    if raw.is_null() {
        builder.append_null();
        return Ok(());
    }
    let storage = raw.type_info().name().to_owned();
    match (storage.as_str(), field_type) {
        ("INTEGER" | "BOOLEAN", FieldType::Boolean) => {
            builder.append(Cell::Bool(row.try_get_unchecked::<i64, _>(index)? != 0))
        }
        ("INTEGER" | "BOOLEAN", FieldType::Decimal { .. }) => builder.append(Cell::Text(
            &row.try_get_unchecked::<i64, _>(index)?.to_string(),
        )),
        ("REAL", FieldType::Decimal { .. }) => builder.append(Cell::Text(
            &row.try_get_unchecked::<f64, _>(index)?.to_string(),
        )),
        ("INTEGER" | "BOOLEAN", _) => {
            builder.append(Cell::Int(row.try_get_unchecked::<i64, _>(index)?))
        }
        ("REAL", _) => {
            let v = row.try_get_unchecked::<f64, _>(index)?;
            builder.append(if v.is_finite() {
                Cell::Float64(v)
            } else {
                Cell::Null
            });
        }
        ("BLOB", _) => builder.append(Cell::Bytes(row.try_get_unchecked::<&[u8], _>(index)?)),
        (_, FieldType::Json) => {
            let text = row.try_get_unchecked::<&str, _>(index)?;
            match serde_json::from_str::<serde::de::IgnoredAny>(text) {
                Ok(_) => builder.append(Cell::Json(text)),
                Err(_) => builder.append(Cell::Text(text)),
            }
        }
        _ => builder.append(Cell::Text(row.try_get_unchecked::<&str, _>(index)?)),
    }
    Ok(())
}

/// Binds one value to a SQLite query.
pub fn bind<'q>(
    query: Query<'q, Sqlite, SqliteArguments<'q>>,
    value: BindValue,
) -> Query<'q, Sqlite, SqliteArguments<'q>> {
    match value {
        BindValue::Null(_) => query.bind(None::<String>),
        BindValue::Bool(v) => query.bind(v),
        BindValue::Int(v) => query.bind(v),
        BindValue::Float(v) => query.bind(v),
        BindValue::Text(v) => query.bind(v),
        BindValue::Bytes(v) => query.bind(v),
        BindValue::Timestamp(v) => query.bind(super::format_timestamp(v)),
        BindValue::TimestampTz(v) => query.bind(v.to_rfc3339()),
        BindValue::Date(v) => query.bind(super::format_date(v)),
        BindValue::Time(v) => query.bind(super::format_time(v)),
    }
}
