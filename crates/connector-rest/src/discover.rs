//! Inferring a stream's fields from sample records with the SDK's type model.
//!
//! A field missing from some records, or null in some, is nullable. Strings that all look
//! like RFC 3339 timestamps, dates or UUIDs get those types; integers mixed with floats are
//! numbers; anything mixed is `json`. Cursor candidates: the configured cursor field, then
//! top-level timestamp, date and integer fields.
//!
//! A stream that declares its fields (`schema`) is described by them; with
//! `extra_fields: keep`, the fields of the sample it does not declare follow, inferred.

use std::collections::BTreeMap;

use connector_sdk::{Field, FieldType, Record, StreamDescriptor};
use serde_json::Value;

use crate::compile::CompiledStream;
use crate::config::ExtraFields;

/// Describes `stream` from its declared fields and a sample of its records.
pub(crate) fn describe(stream: &CompiledStream, sample: &[Record]) -> StreamDescriptor {
    let fields = match &stream.shape {
        None => infer_fields(sample.iter()),
        Some(shape) => {
            let mut fields = shape.fields.clone();
            if shape.extra_fields == ExtraFields::Keep {
                fields.extend(
                    infer_fields(sample.iter())
                        .into_iter()
                        .filter(|field| !shape.declares(&field.name)),
                );
            }
            fields
        }
    };
    let mut candidates: Vec<String> = Vec::new();
    if let Some(incremental) = &stream.incremental {
        candidates.push(incremental.cursor_field.clone());
    }
    for field in &fields {
        let monotonic = matches!(
            field.field_type,
            FieldType::TimestampTz | FieldType::Timestamp | FieldType::Date | FieldType::Integer
        );
        if monotonic && !candidates.contains(&field.name) {
            candidates.push(field.name.clone());
        }
    }
    StreamDescriptor::new(stream.name.clone(), fields)
        .with_primary_key(stream.primary_key.clone())
        .with_cursor_candidates(candidates)
}

/// Infers the fields of objects: one per key seen, in first-seen order.
fn infer_fields<'a>(
    objects: impl Iterator<Item = &'a serde_json::Map<String, Value>>,
) -> Vec<Field> {
    let mut order: Vec<String> = Vec::new();
    let mut values: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    let mut count = 0usize;
    for object in objects {
        count += 1;
        for (name, value) in object {
            let seen = values.entry(name.clone()).or_insert_with(|| {
                order.push(name.clone());
                Vec::new()
            });
            seen.push(value);
        }
    }
    order
        .into_iter()
        .map(|name| {
            let seen = values.get(&name).map(Vec::as_slice).unwrap_or(&[]);
            let nullable = seen.len() < count || seen.iter().any(|v| v.is_null());
            let field_type = infer_type(seen);
            if nullable {
                Field::nullable(name, field_type)
            } else {
                Field::required(name, field_type)
            }
        })
        .collect()
}

/// The one type fitting all non-null `values` (`json` when they disagree or are all null).
fn infer_type(values: &[&Value]) -> FieldType {
    let present: Vec<&Value> = values.iter().copied().filter(|v| !v.is_null()).collect();
    if present.is_empty() {
        return FieldType::Json;
    }
    if present.iter().all(|v| v.is_array()) {
        let items: Vec<&Value> = present
            .iter()
            .filter_map(|v| v.as_array())
            .flatten()
            .collect();
        return FieldType::array(infer_type(&items));
    }
    if present.iter().all(|v| v.is_object()) {
        return FieldType::Object {
            fields: infer_fields(present.iter().filter_map(|v| v.as_object())),
        };
    }
    present
        .iter()
        .map(|v| scalar_type(v))
        .reduce(unify)
        .unwrap_or(FieldType::Json)
}

fn scalar_type(value: &Value) -> FieldType {
    match value {
        Value::Bool(_) => FieldType::Boolean,
        Value::Number(n) if n.is_i64() || n.is_u64() => FieldType::Integer,
        Value::Number(_) => FieldType::Number,
        Value::String(text) => string_type(text),
        _ => FieldType::Json,
    }
}

fn string_type(text: &str) -> FieldType {
    if chrono::DateTime::parse_from_rfc3339(text).is_ok() {
        FieldType::TimestampTz
    } else if chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
        || chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").is_ok()
    {
        FieldType::Timestamp
    } else if text.len() == 10 && chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok() {
        FieldType::Date
    } else if FieldType::Uuid
        .check_value(&Value::String(text.to_owned()))
        .is_ok()
    {
        FieldType::Uuid
    } else {
        FieldType::String
    }
}

fn unify(a: FieldType, b: FieldType) -> FieldType {
    use FieldType as T;
    match (a, b) {
        (a, b) if a == b => a,
        (T::Integer, T::Number) | (T::Number, T::Integer) => T::Number,
        // Strings that only sometimes look special are strings.
        (
            T::String | T::TimestampTz | T::Timestamp | T::Date | T::Uuid,
            T::String | T::TimestampTz | T::Timestamp | T::Date | T::Uuid,
        ) => T::String,
        _ => T::Json,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn record(value: Value) -> Record {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn types_and_nullability_are_inferred() {
        let sample = [
            record(
                json!({"id": 1, "name": "a", "score": 1, "at": "2024-01-01T00:00:00Z", "day": "2024-01-01",
                          "tags": ["x"], "meta": {"k": true}, "maybe": null, "uid": "123e4567-e89b-12d3-a456-426614174000"}),
            ),
            record(
                json!({"id": 2, "name": "b", "score": 1.5, "at": "2024-01-02T00:00:00+02:00", "day": "2024-01-02",
                          "tags": [], "meta": {"k": false}, "only_here": "x", "uid": "123e4567-e89b-12d3-a456-426614174001"}),
            ),
        ];
        let fields = infer_fields(sample.iter());
        let by_name = |n: &str| fields.iter().find(|f| f.name == n).unwrap().clone();
        let cases = [
            ("id", FieldType::Integer, false),
            ("name", FieldType::String, false),
            ("score", FieldType::Number, false),
            ("at", FieldType::TimestampTz, false),
            ("day", FieldType::Date, false),
            ("tags", FieldType::array(FieldType::String), false),
            (
                "meta",
                FieldType::Object {
                    fields: vec![Field::required("k", FieldType::Boolean)],
                },
                false,
            ),
            ("maybe", FieldType::Json, true),
            ("only_here", FieldType::String, true),
            ("uid", FieldType::Uuid, false),
        ];
        for (name, field_type, nullable) in cases {
            let field = by_name(name);
            assert_eq!(
                (field.field_type, field.nullable),
                (field_type, nullable),
                "{name}"
            );
        }
    }
}
