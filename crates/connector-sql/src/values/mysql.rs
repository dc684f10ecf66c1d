//! MySQL / MariaDB values: row decoding and parameter binding.

use std::collections::HashMap;

use connector_sdk::{FieldType, Record};
use serde_json::{Map, Value};
use sqlx::mysql::{MySql, MySqlArguments, MySqlRow};
use sqlx::query::Query;
use sqlx::{Column as _, Row as _, TypeInfo as _, ValueRef as _};

use super::{
    BindValue, encode_base64, format_date, format_time, format_timestamp, format_timestamp_tz,
    text_or_base64,
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

/// Decodes the rows of one result set into records.
#[derive(Debug, Clone)]
pub struct MySqlRowDecoder {
    columns: Vec<(String, MyKind)>,
}

impl MySqlRowDecoder {
    /// A decoder for rows shaped like `row`; `hints` are the catalog types by column name.
    pub fn for_row(row: &MySqlRow, hints: &HashMap<String, FieldType>) -> Self {
        let columns = row
            .columns()
            .iter()
            .map(|c| {
                let name = c.name().to_owned();
                let kind = MyKind::new(c.type_info().name(), hints.get(&name));
                (name, kind)
            })
            .collect();
        Self { columns }
    }

    /// Decodes one row; the error names the column.
    pub fn decode(&self, row: &MySqlRow) -> Result<Record, String> {
        let mut record = Map::new();
        for (index, (name, kind)) in self.columns.iter().enumerate() {
            let value =
                decode_value(row, index, *kind).map_err(|e| format!("column `{name}`: {e}"))?;
            record.insert(name.clone(), value);
        }
        Ok(record)
    }
}

fn decode_value(
    row: &MySqlRow,
    index: usize,
    kind: MyKind,
) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
    if row.try_get_raw(index)?.is_null() {
        return Ok(Value::Null);
    }
    let bytes = || row.try_get_unchecked::<&[u8], _>(index);
    Ok(match kind {
        MyKind::Bool => Value::Bool(row.try_get_unchecked::<i64, _>(index)? != 0),
        MyKind::Int => Value::from(row.try_get_unchecked::<i64, _>(index)?),
        MyKind::UInt => Value::from(row.try_get_unchecked::<u64, _>(index)?),
        MyKind::Float => {
            let v = row.try_get_unchecked::<f64, _>(index)?;
            serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
        }
        MyKind::Decimal | MyKind::Text => {
            Value::String(String::from_utf8_lossy(bytes()?).into_owned())
        }
        MyKind::Date => Value::String(format_date(row.try_get_unchecked(index)?)),
        MyKind::Time => Value::String(format_time(row.try_get_unchecked(index)?)),
        MyKind::DateTime => Value::String(format_timestamp(row.try_get_unchecked(index)?)),
        MyKind::Timestamp => Value::String(format_timestamp_tz(row.try_get_unchecked(index)?)),
        MyKind::Json => serde_json::from_slice(bytes()?)?,
        MyKind::Bytes => Value::String(encode_base64(bytes()?)),
        MyKind::Other => text_or_base64(bytes()?),
    })
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
