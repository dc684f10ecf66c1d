//! The declared shape of a stream's records (`schema` in the configuration), checked and
//! turned into the Arrow column of each declared field.

use std::collections::HashMap;
use std::sync::Arc;

use connector_sdk::arrow_schema::{DataType, Field as ArrowField, TimeUnit};
use connector_sdk::batch::{json_field, uuid_field};
use connector_sdk::{Field, FieldType};

use crate::config::{ExtraFields, SchemaConfig};

/// The zone of `timestamp_tz` columns: instants in UTC, as every reader writes them.
pub(crate) const UTC: &str = "+00:00";

/// The largest precision of a decimal column (`Decimal128`).
pub(crate) const MAX_DECIMAL_PRECISION: u16 = 38;

/// How the values of one declared field are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColumnKind {
    /// `Boolean`.
    Boolean,
    /// `Int64`.
    Integer,
    /// `Float64`.
    Float,
    /// `Utf8` (strings, and decimals without a precision).
    Text,
    /// `Decimal128(precision, scale)`.
    Decimal {
        /// Total digits.
        precision: u8,
        /// Digits after the point.
        scale: i8,
    },
    /// `Date32`.
    Date,
    /// `Time64(µs)`.
    Time,
    /// `Timestamp(µs)` without zone.
    Timestamp,
    /// `Timestamp(µs, UTC)`.
    TimestampTz,
    /// `FixedSizeBinary(16)` marked as UUIDs.
    Uuid,
    /// `Binary` (base64 in the records).
    Bytes,
    /// A JSON column: JSON values, arrays, objects and unknown types.
    Json,
}

impl ColumnKind {
    /// The column of `field_type` (a decimal's precision and scale already checked).
    fn of(field_type: &FieldType) -> Self {
        match field_type {
            FieldType::Boolean => Self::Boolean,
            FieldType::Integer => Self::Integer,
            FieldType::Number => Self::Float,
            FieldType::String => Self::Text,
            FieldType::Decimal {
                precision: None,
                scale: None,
            } => Self::Text,
            FieldType::Decimal { precision, scale } => Self::Decimal {
                precision: u8::try_from(precision.unwrap_or(MAX_DECIMAL_PRECISION)).unwrap_or(38),
                scale: i8::try_from(scale.unwrap_or(0)).unwrap_or(0),
            },
            FieldType::Date => Self::Date,
            FieldType::Time => Self::Time,
            FieldType::Timestamp => Self::Timestamp,
            FieldType::TimestampTz => Self::TimestampTz,
            FieldType::Uuid => Self::Uuid,
            FieldType::Bytes => Self::Bytes,
            FieldType::Json
            | FieldType::Array { .. }
            | FieldType::Object { .. }
            | FieldType::Unknown { .. } => Self::Json,
        }
    }

    /// The Arrow field of a column of this kind.
    fn arrow_field(self, name: &str, nullable: bool) -> ArrowField {
        let data_type = match self {
            Self::Boolean => DataType::Boolean,
            Self::Integer => DataType::Int64,
            Self::Float => DataType::Float64,
            Self::Text => DataType::Utf8,
            Self::Decimal { precision, scale } => DataType::Decimal128(precision, scale),
            Self::Date => DataType::Date32,
            Self::Time => DataType::Time64(TimeUnit::Microsecond),
            Self::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
            Self::TimestampTz => DataType::Timestamp(TimeUnit::Microsecond, Some(UTC.into())),
            Self::Bytes => DataType::Binary,
            Self::Uuid => return uuid_field(name, nullable),
            Self::Json => return json_field(name),
        };
        ArrowField::new(name, data_type, nullable)
    }
}

/// One declared field and its column.
#[derive(Debug, Clone)]
pub(crate) struct DeclaredColumn {
    /// The field name.
    pub(crate) name: String,
    /// How its values are stored.
    pub(crate) kind: ColumnKind,
    /// Whether a value may be null.
    pub(crate) nullable: bool,
    /// The Arrow field of the typed column.
    pub(crate) arrow: Arc<ArrowField>,
}

/// The declared fields of a stream, in column order, and what to do with the others.
#[derive(Debug, Clone)]
pub(crate) struct RecordShape {
    /// The declared columns.
    pub(crate) columns: Vec<DeclaredColumn>,
    /// The declared fields in the SDK's type model (what discover reports).
    pub(crate) fields: Vec<Field>,
    /// Fields the schema does not declare.
    pub(crate) extra_fields: ExtraFields,
    positions: HashMap<String, usize>,
}

impl RecordShape {
    /// Checks `config`; the error is a message and the JSON Pointer suffix it concerns
    /// (`/fields/2/type/precision`).
    pub(crate) fn new(config: &SchemaConfig) -> Result<Self, (String, String)> {
        let mut positions = HashMap::new();
        let mut columns = Vec::with_capacity(config.fields.len());
        let mut fields = Vec::with_capacity(config.fields.len());
        for (index, declared) in config.fields.iter().enumerate() {
            let here = format!("/fields/{index}");
            if declared.name.trim().is_empty() {
                return Err((format!("{here}/name"), "must not be empty".into()));
            }
            if positions.insert(declared.name.clone(), index).is_some() {
                return Err((
                    format!("{here}/name"),
                    format!("field `{}` is declared twice", declared.name),
                ));
            }
            check_decimal(&declared.field_type).map_err(|m| (format!("{here}/type"), m))?;
            let kind = ColumnKind::of(&declared.field_type);
            columns.push(DeclaredColumn {
                name: declared.name.clone(),
                kind,
                nullable: declared.nullable,
                arrow: Arc::new(kind.arrow_field(&declared.name, declared.nullable)),
            });
            fields.push(Field {
                name: declared.name.clone(),
                field_type: declared.field_type.clone(),
                nullable: declared.nullable,
                native_type: None,
            });
        }
        Ok(Self {
            columns,
            fields,
            extra_fields: config.extra_fields,
            positions,
        })
    }

    /// Whether the schema declares `name`.
    pub(crate) fn declares(&self, name: &str) -> bool {
        self.positions.contains_key(name)
    }
}

/// A decimal's precision is 1 to 38 and its scale at most its precision.
fn check_decimal(field_type: &FieldType) -> Result<(), String> {
    if let FieldType::Decimal { precision, scale } = field_type {
        let effective = precision.unwrap_or(MAX_DECIMAL_PRECISION);
        if !(1..=MAX_DECIMAL_PRECISION).contains(&effective) {
            return Err(format!(
                "a decimal's precision is between 1 and {MAX_DECIMAL_PRECISION}"
            ));
        }
        if scale.is_some_and(|s| s > effective) {
            return Err("a decimal's scale is at most its precision".into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn schema(fields: serde_json::Value) -> SchemaConfig {
        serde_json::from_value(json!({"fields": fields})).unwrap()
    }

    #[test]
    fn declared_types_become_arrow_columns() {
        let shape = RecordShape::new(&schema(json!([
            {"name": "id", "type": {"type": "integer"}, "nullable": false},
            {"name": "amount", "type": {"type": "decimal", "precision": 12, "scale": 2}},
            {"name": "total", "type": {"type": "decimal"}},
            {"name": "at", "type": {"type": "timestamp_tz"}},
            {"name": "address", "type": {"type": "object", "fields": []}}
        ])))
        .unwrap();
        let types: Vec<(&str, DataType, bool)> = shape
            .columns
            .iter()
            .map(|c| {
                (
                    c.name.as_str(),
                    c.arrow.data_type().clone(),
                    c.arrow.is_nullable(),
                )
            })
            .collect();
        assert_eq!(
            types,
            vec![
                ("id", DataType::Int64, false),
                ("amount", DataType::Decimal128(12, 2), true),
                ("total", DataType::Utf8, true),
                (
                    "at",
                    DataType::Timestamp(TimeUnit::Microsecond, Some(UTC.into())),
                    true
                ),
                ("address", DataType::Utf8, true),
            ]
        );
        assert!(connector_sdk::batch::is_json(&shape.columns[4].arrow));
        assert!(shape.declares("at") && !shape.declares("other"));
        assert_eq!(shape.extra_fields, ExtraFields::Keep);
    }

    #[test]
    fn bad_declarations_name_the_field() {
        let twice = schema(json!([
            {"name": "id", "type": {"type": "integer"}},
            {"name": "id", "type": {"type": "string"}}
        ]));
        assert_eq!(RecordShape::new(&twice).unwrap_err().0, "/fields/1/name");
        let wide = schema(json!([{"name": "x", "type": {"type": "decimal", "precision": 40}}]));
        assert_eq!(RecordShape::new(&wide).unwrap_err().0, "/fields/0/type");
        let scale =
            schema(json!([{"name": "x", "type": {"type": "decimal", "precision": 4, "scale": 5}}]));
        assert!(RecordShape::new(&scale).is_err());
    }
}
