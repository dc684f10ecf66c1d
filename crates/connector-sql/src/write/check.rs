//! The checks a record passes before any SQL: known fields, non-null required fields,
//! a whole primary key where the mode needs one, values of the columns' shapes. A record
//! that fails is rejected alone, with the reason of its first failing field.

use std::collections::HashMap;

use connector_sdk::{FieldType, Record, WriteMode};
use serde_json::Value;

use crate::introspect::TableInfo;

/// The catalog facts `columns_of` needs, computed once per write.
pub struct ColumnIndex<'a> {
    info: &'a TableInfo,
    by_name: HashMap<&'a str, usize>,
    is_key: Vec<bool>,
}

impl<'a> ColumnIndex<'a> {
    /// The facts of `info`.
    pub fn new(info: &'a TableInfo) -> Self {
        Self {
            info,
            by_name: info
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| (c.name.as_str(), i))
                .collect(),
            is_key: info
                .columns
                .iter()
                .map(|c| info.primary_key.contains(&c.name))
                .collect(),
        }
    }

    /// The position (in the table's columns) of the column `name`.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// Whether the column at `position` is part of the primary key.
    pub fn is_key(&self, position: usize) -> bool {
        self.is_key.get(position).copied().unwrap_or(false)
    }
}

/// Checks a record for `mode` and fills `columns` with the indexes (into `info.columns`,
/// in the record's field order) of the columns it writes, or returns the reason to reject it.
/// `hint` holds the columns of the previous record: records of one batch almost always
/// carry the same fields, so the `i`-th field is looked for there first. Without
/// `check_types` the (non-null) values are not checked against their column types: the
/// caller checks them later, in field order, with [`check_values`].
pub fn columns_of(
    index: &ColumnIndex<'_>,
    mode: WriteMode,
    record: &Record,
    hint: &[usize],
    columns: &mut Vec<usize>,
    check_types: bool,
) -> Result<(), String> {
    let info = index.info;
    columns.clear();
    let mut keys_present = 0;
    for (field, (name, value)) in record.iter().enumerate() {
        let hinted = hint
            .get(field)
            .copied()
            .filter(|&p| info.columns[p].name == *name);
        let Some(position) = hinted.or_else(|| index.by_name.get(name.as_str()).copied()) else {
            return Err(format!(
                "unknown field `{name}`: table `{}` has no such column",
                info.table.display()
            ));
        };
        let column = &info.columns[position];
        let is_key = index.is_key[position];
        if value.is_null() {
            if !column.nullable || (is_key && mode != WriteMode::Insert) {
                return Err(format!("field `{name}` must not be null"));
            }
        } else {
            if check_types {
                column
                    .field_type
                    .check_value(value)
                    .map_err(|e| format!("field `{name}`: {e}"))?;
            }
            if is_key {
                keys_present += 1;
            }
        }
        if mode != WriteMode::Delete || is_key {
            columns.push(position);
        }
    }
    if mode != WriteMode::Insert && keys_present < info.primary_key.len() {
        let missing = info
            .primary_key
            .iter()
            .find(|k| record.get(k.as_str()).is_none_or(Value::is_null))
            .map(String::as_str)
            .unwrap_or_default();
        return Err(format!("primary key field `{missing}` is missing or null"));
    }
    if columns.is_empty() {
        return Err("the record has no field to write".into());
    }
    Ok(())
}

/// Checks the non-null values of a record against their column types, in field order, as
/// [`columns_of`] does; `columns` are the record's fields (name and type) in that order.
pub fn check_values(record: &Record, columns: &[(&str, &FieldType)]) -> Result<(), String> {
    let check = |name: &str, value: &Value, field_type: &FieldType| {
        if value.is_null() {
            return Ok(());
        }
        field_type
            .check_value(value)
            .map_err(|e| format!("field `{name}`: {e}"))
    };
    let in_order =
        record.len() == columns.len() && record.keys().zip(columns).all(|(k, (name, _))| k == name);
    if in_order {
        for (value, (name, field_type)) in record.values().zip(columns) {
            check(name, value, field_type)?;
        }
    } else {
        for (name, value) in record {
            if let Some((_, field_type)) = columns.iter().find(|(n, _)| n == name) {
                check(name, value, field_type)?;
            }
        }
    }
    Ok(())
}

/// Why `record` is rejected, as the full check ([`columns_of`] with types) words it; `None`
/// when it passes.
pub fn rejection(index: &ColumnIndex<'_>, mode: WriteMode, record: &Record) -> Option<String> {
    let mut columns = Vec::new();
    columns_of(index, mode, record, &[], &mut columns, true)
        .err()
        .or_else(|| columns_of(index, mode, record, &[], &mut columns, false).err())
}
