//! One internal shape for the schemas a mapping is validated against, built from either
//! the Connector SDK's discovered fields ([`StreamDescriptor`], [`Field`]) or a
//! user-supplied JSON Schema.

use connector_sdk::{Field, FieldType, StreamDescriptor};
use serde_json::Value;

use crate::path::{FieldPath, Segment};

/// The kind of values a field holds (or a rule produces).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueKind {
    /// Unknown or any JSON value.
    Any,
    /// `true` / `false`.
    Bool,
    /// A whole number.
    Int,
    /// A floating point number.
    Float,
    /// An exact decimal.
    Decimal {
        /// Total significant digits, when bounded.
        precision: Option<u16>,
        /// Digits after the point, when bounded.
        scale: Option<u16>,
    },
    /// Text.
    String,
    /// A calendar date.
    Date,
    /// A time of day.
    Time,
    /// A date and time without zone.
    Timestamp,
    /// A date and time with zone (RFC 3339).
    TimestampTz,
    /// A UUID string.
    Uuid,
    /// Base64 bytes.
    Bytes,
    /// An array.
    Array,
    /// An object.
    Object,
}

impl ValueKind {
    /// A short name for messages.
    pub fn name(&self) -> String {
        match self {
            Self::Any => "any".into(),
            Self::Bool => "boolean".into(),
            Self::Int => "integer".into(),
            Self::Float => "number".into(),
            Self::Decimal {
                precision: Some(p),
                scale: Some(s),
            } => format!("decimal({p},{s})"),
            Self::Decimal { .. } => "decimal".into(),
            Self::String => "string".into(),
            Self::Date => "date".into(),
            Self::Time => "time".into(),
            Self::Timestamp => "timestamp".into(),
            Self::TimestampTz => "timestamp with time zone".into(),
            Self::Uuid => "uuid".into(),
            Self::Bytes => "bytes".into(),
            Self::Array => "array".into(),
            Self::Object => "object".into(),
        }
    }

    /// The kind of a JSON value.
    pub fn of_value(value: &Value) -> Self {
        match value {
            Value::Null => Self::Any,
            Value::Bool(_) => Self::Bool,
            Value::Number(n) if n.is_i64() || n.is_u64() => Self::Int,
            Value::Number(_) => Self::Float,
            Value::String(_) => Self::String,
            Value::Array(_) => Self::Array,
            Value::Object(_) => Self::Object,
        }
    }
}

/// One field of a schema (the root of a schema is an object field).
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaField {
    /// The kind of values.
    pub kind: ValueKind,
    /// Whether the value may be null.
    pub nullable: bool,
    /// Whether the field must be present.
    pub required: bool,
    /// The longest string allowed (`maxLength`, `varchar(n)`).
    pub max_length: Option<usize>,
    /// The fields of an object, in order.
    pub fields: Vec<(String, SchemaField)>,
    /// The items of an array.
    pub items: Option<Box<SchemaField>>,
    /// Whether an object accepts keys not listed in `fields` (a free-form object).
    pub open: bool,
}

impl SchemaField {
    fn of_kind(kind: ValueKind) -> Self {
        Self {
            open: matches!(kind, ValueKind::Any),
            kind,
            nullable: true,
            required: false,
            max_length: None,
            fields: Vec::new(),
            items: None,
        }
    }

    /// The field `name` of this object.
    pub fn field(&self, name: &str) -> Option<&SchemaField> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, f)| f)
    }
}

/// What a path resolves to in a schema.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Resolved<'a> {
    /// A declared field.
    Field(&'a SchemaField),
    /// Inside a free-form value: allowed, type unknown.
    Open,
    /// Not in the schema.
    Missing,
}

/// A record schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    /// The record: an object field.
    pub root: SchemaField,
}

impl Schema {
    /// The schema of a discovered stream.
    pub fn from_stream(stream: &StreamDescriptor) -> Self {
        Self::from_fields(&stream.fields)
    }

    /// The schema of a list of SDK fields.
    pub fn from_fields(fields: &[Field]) -> Self {
        Self {
            root: object_of_fields(fields),
        }
    }

    /// The schema described by a JSON Schema object (`type`, `properties`, `required`,
    /// `items`, `maxLength`, `format`, `additionalProperties`, `nullable`).
    pub fn from_json_schema(schema: &Value) -> Result<Self, String> {
        if schema
            .get("properties")
            .and_then(Value::as_object)
            .is_none()
        {
            return Err("a record JSON Schema needs `properties`".into());
        }
        let mut root = from_json_schema(schema, 0);
        root.required = true;
        root.nullable = false;
        Ok(Self { root })
    }

    /// Resolves a path.
    pub fn resolve(&self, path: &FieldPath) -> Resolved<'_> {
        resolve_in(&self.root, path.segments())
    }
}

/// Resolves `segments` from `field`.
pub fn resolve_in<'a>(field: &'a SchemaField, segments: &[Segment]) -> Resolved<'a> {
    let mut current = field;
    for segment in segments {
        if matches!(current.kind, ValueKind::Any) {
            return Resolved::Open;
        }
        current = match (segment, &current.kind) {
            (Segment::Key(key), ValueKind::Object) => match current.field(key) {
                Some(next) => next,
                None if current.open => return Resolved::Open,
                None => return Resolved::Missing,
            },
            (Segment::Index(_), ValueKind::Array) => match &current.items {
                Some(items) => items,
                None => return Resolved::Open,
            },
            _ => return Resolved::Missing,
        };
    }
    Resolved::Field(current)
}

fn object_of_fields(fields: &[Field]) -> SchemaField {
    SchemaField {
        kind: ValueKind::Object,
        nullable: false,
        required: true,
        max_length: None,
        fields: fields
            .iter()
            .map(|f| {
                let mut field = of_field_type(&f.field_type);
                field.nullable = f.nullable;
                field.required = !f.nullable;
                field.max_length = f.native_type.as_deref().and_then(varchar_length);
                (f.name.clone(), field)
            })
            .collect(),
        items: None,
        open: false,
    }
}

fn of_field_type(field_type: &FieldType) -> SchemaField {
    match field_type {
        FieldType::Boolean => SchemaField::of_kind(ValueKind::Bool),
        FieldType::Integer => SchemaField::of_kind(ValueKind::Int),
        FieldType::Number => SchemaField::of_kind(ValueKind::Float),
        FieldType::Decimal { precision, scale } => SchemaField::of_kind(ValueKind::Decimal {
            precision: *precision,
            scale: *scale,
        }),
        FieldType::String => SchemaField::of_kind(ValueKind::String),
        FieldType::Date => SchemaField::of_kind(ValueKind::Date),
        FieldType::Time => SchemaField::of_kind(ValueKind::Time),
        FieldType::Timestamp => SchemaField::of_kind(ValueKind::Timestamp),
        FieldType::TimestampTz => SchemaField::of_kind(ValueKind::TimestampTz),
        FieldType::Uuid => SchemaField::of_kind(ValueKind::Uuid),
        FieldType::Bytes => SchemaField::of_kind(ValueKind::Bytes),
        FieldType::Json | FieldType::Unknown { .. } => SchemaField::of_kind(ValueKind::Any),
        FieldType::Array { items } => SchemaField {
            items: Some(Box::new(of_field_type(items))),
            ..SchemaField::of_kind(ValueKind::Array)
        },
        FieldType::Object { fields } => {
            let mut object = object_of_fields(fields);
            object.nullable = true;
            object.required = false;
            object
        }
    }
}

/// `varchar(255)`, `character varying(40)`, `nvarchar(10)`, `char(2)` → the length.
fn varchar_length(native: &str) -> Option<usize> {
    let lower = native.to_ascii_lowercase();
    let (name, rest) = lower.split_once('(')?;
    let name = name.trim();
    if !matches!(
        name,
        "varchar" | "character varying" | "nvarchar" | "char" | "character" | "nchar" | "varchar2"
    ) {
        return None;
    }
    rest.split(')').next()?.trim().parse().ok()
}

const MAX_SCHEMA_DEPTH: usize = 32;

fn from_json_schema(schema: &Value, depth: usize) -> SchemaField {
    if depth > MAX_SCHEMA_DEPTH {
        return SchemaField::of_kind(ValueKind::Any);
    }
    let mut types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let nullable =
        types.contains(&"null") || schema.get("nullable").and_then(Value::as_bool) == Some(true);
    types.retain(|t| *t != "null");
    let format = schema
        .get("format")
        .or_else(|| schema.get("x-format"))
        .and_then(Value::as_str);
    let has_properties = schema.get("properties").is_some();
    let kind = if let Some(decimal) = schema.get("x-decimal") {
        ValueKind::Decimal {
            precision: decimal
                .get("precision")
                .and_then(Value::as_u64)
                .and_then(|p| u16::try_from(p).ok()),
            scale: decimal
                .get("scale")
                .and_then(Value::as_u64)
                .and_then(|s| u16::try_from(s).ok()),
        }
    } else {
        match (types.as_slice(), format) {
            (["string"], Some("date")) => ValueKind::Date,
            (["string"], Some("time")) => ValueKind::Time,
            (["string"], Some("date-time")) => ValueKind::TimestampTz,
            (["string"], Some("timestamp")) => ValueKind::Timestamp,
            (["string"], Some("uuid")) => ValueKind::Uuid,
            (["string"], _) if schema.get("contentEncoding").is_some() => ValueKind::Bytes,
            (["string"], _) => ValueKind::String,
            (["integer"], _) => ValueKind::Int,
            (["number"], _) => ValueKind::Float,
            (["boolean"], _) => ValueKind::Bool,
            (["array"], _) => ValueKind::Array,
            (["object"], _) => ValueKind::Object,
            ([], _) if has_properties => ValueKind::Object,
            _ => ValueKind::Any,
        }
    };
    let mut field = SchemaField::of_kind(kind);
    field.nullable = nullable;
    field.max_length = schema
        .get("maxLength")
        .and_then(Value::as_u64)
        .and_then(|n| usize::try_from(n).ok());
    match field.kind {
        ValueKind::Object => {
            let required: Vec<&str> = schema
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
                field.fields = properties
                    .iter()
                    .map(|(name, property)| {
                        let mut child = from_json_schema(property, depth + 1);
                        child.required = required.contains(&name.as_str());
                        (name.clone(), child)
                    })
                    .collect();
            }
            field.open = !has_properties
                || !matches!(
                    schema.get("additionalProperties"),
                    None | Some(Value::Bool(false))
                );
        }
        ValueKind::Array => {
            field.items = schema
                .get("items")
                .map(|items| Box::new(from_json_schema(items, depth + 1)));
        }
        _ => {}
    }
    field
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_varchar_lengths() {
        assert_eq!(varchar_length("varchar(255)"), Some(255));
        assert_eq!(varchar_length("character varying(40)"), Some(40));
        assert_eq!(varchar_length("text"), None);
        assert_eq!(varchar_length("numeric(12,2)"), None);
    }
}
