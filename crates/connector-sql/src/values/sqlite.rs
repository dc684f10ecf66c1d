//! SQLite values: row decoding by declared type and storage class, and parameter binding.

use std::collections::HashMap;

use connector_sdk::{FieldType, Record};
use serde_json::{Map, Value};
use sqlx::query::Query;
use sqlx::sqlite::{Sqlite, SqliteArguments, SqliteRow};
use sqlx::{Column as _, Row as _, TypeInfo as _, ValueRef as _};

use super::{BindValue, encode_base64};
use crate::dialect::{Dialect as _, SqliteDialect};

/// Decodes the rows of one result set into records.
#[derive(Debug, Clone)]
pub struct SqliteRowDecoder {
    columns: Vec<(String, FieldType)>,
}

impl SqliteRowDecoder {
    /// A decoder for rows shaped like `row`; `hints` are the declared types by column name.
    pub fn for_row(row: &SqliteRow, hints: &HashMap<String, FieldType>) -> Self {
        let columns = row
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
        Self { columns }
    }

    /// Decodes one row; the error names the column.
    pub fn decode(&self, row: &SqliteRow) -> Result<Record, String> {
        let mut record = Map::new();
        for (index, (name, field_type)) in self.columns.iter().enumerate() {
            let value = decode_value(row, index, field_type)
                .map_err(|e| format!("column `{name}`: {e}"))?;
            record.insert(name.clone(), value);
        }
        Ok(record)
    }
}

fn decode_value(
    row: &SqliteRow,
    index: usize,
    field_type: &FieldType,
) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
    let raw = row.try_get_raw(index)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    // The storage class of this very value (SQLite is dynamically typed).
    let storage = raw.type_info().name().to_owned();
    Ok(match (storage.as_str(), field_type) {
        ("INTEGER" | "BOOLEAN", FieldType::Boolean) => {
            Value::Bool(row.try_get_unchecked::<i64, _>(index)? != 0)
        }
        ("INTEGER" | "BOOLEAN", FieldType::Decimal { .. }) => {
            Value::String(row.try_get_unchecked::<i64, _>(index)?.to_string())
        }
        ("REAL", FieldType::Decimal { .. }) => {
            Value::String(row.try_get_unchecked::<f64, _>(index)?.to_string())
        }
        ("INTEGER" | "BOOLEAN", _) => Value::from(row.try_get_unchecked::<i64, _>(index)?),
        ("REAL", _) => serde_json::Number::from_f64(row.try_get_unchecked::<f64, _>(index)?)
            .map_or(Value::Null, Value::Number),
        ("BLOB", _) => Value::String(encode_base64(row.try_get_unchecked::<&[u8], _>(index)?)),
        (_, FieldType::Json) => {
            let text = row.try_get_unchecked::<&str, _>(index)?;
            serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
        }
        _ => Value::String(row.try_get_unchecked::<String, _>(index)?),
    })
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
