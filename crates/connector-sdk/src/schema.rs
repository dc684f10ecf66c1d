//! The common type model and the catalog a connector discovers.
//!
//! Every connector maps its native types onto [`FieldType`], so mappings and validation work
//! the same whatever the source: a PostgreSQL `numeric(12,2)`, a MySQL `decimal(12,2)` and a
//! REST field declared as a decimal string all become `Decimal { precision: 12, scale: 2 }`.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The type of one field, common to every connector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FieldType {
    /// `true` / `false`.
    Boolean,
    /// A whole number (up to 64 bits).
    Integer,
    /// A floating point number.
    Number,
    /// An exact decimal. `None` means unbounded (e.g. PostgreSQL `numeric`).
    /// Values travel as JSON strings (or numbers) to keep their exactness.
    Decimal {
        /// Total number of significant digits.
        precision: Option<u16>,
        /// Digits after the decimal point.
        scale: Option<u16>,
    },
    /// Text.
    String,
    /// A calendar date (`YYYY-MM-DD`).
    Date,
    /// A time of day without zone (`HH:MM:SS[.fff]`).
    Time,
    /// A date and time without zone.
    Timestamp,
    /// A date and time with zone or offset (RFC 3339).
    TimestampTz,
    /// Any JSON value.
    Json,
    /// Binary data (base64 in JSON).
    Bytes,
    /// A UUID in its hyphenated text form.
    Uuid,
    /// A list of values of one type.
    Array {
        /// The type of each item.
        items: Box<FieldType>,
    },
    /// A nested object with known fields.
    Object {
        /// The nested fields.
        fields: Vec<Field>,
    },
    /// A native type the connector cannot map; values pass through as JSON.
    Unknown {
        /// The native type name, e.g. `geometry`.
        native: String,
    },
}

impl FieldType {
    /// A decimal with precision and scale.
    pub fn decimal(precision: u16, scale: u16) -> Self {
        Self::Decimal {
            precision: Some(precision),
            scale: Some(scale),
        }
    }

    /// An array of `items`.
    pub fn array(items: FieldType) -> Self {
        Self::Array {
            items: Box::new(items),
        }
    }

    /// A type the connector does not know, named by its native name.
    pub fn unknown(native: impl Into<String>) -> Self {
        Self::Unknown {
            native: native.into(),
        }
    }

    /// The JSON Schema describing values of this type (without nullability).
    pub fn to_json_schema(&self) -> Value {
        match self {
            Self::Boolean => json!({"type": "boolean"}),
            Self::Integer => json!({"type": "integer"}),
            Self::Number => json!({"type": "number"}),
            Self::Decimal { precision, scale } => json!({
                "type": ["string", "number"],
                "x-decimal": {"precision": precision, "scale": scale}
            }),
            Self::String => json!({"type": "string"}),
            Self::Date => json!({"type": "string", "format": "date"}),
            Self::Time => json!({"type": "string", "format": "time"}),
            Self::Timestamp => json!({"type": "string", "x-format": "timestamp"}),
            Self::TimestampTz => json!({"type": "string", "format": "date-time"}),
            Self::Json | Self::Unknown { .. } => json!({}),
            Self::Bytes => json!({"type": "string", "contentEncoding": "base64"}),
            Self::Uuid => json!({"type": "string", "format": "uuid"}),
            Self::Array { items } => json!({"type": "array", "items": items.to_json_schema()}),
            Self::Object { fields } => fields_to_json_schema(fields),
        }
    }

    /// Checks that a (non-null) JSON value has the shape of this type.
    ///
    /// This is a shape check (a date is a string, an integer a whole number), not full
    /// parsing; connectors use it to reject bad records early with a clear reason.
    pub fn check_value(&self, value: &Value) -> Result<(), String> {
        let ok = match self {
            Self::Boolean => value.is_boolean(),
            Self::Integer => value.is_i64() || value.is_u64(),
            Self::Number => value.is_number(),
            Self::Decimal { .. } => {
                value.is_number()
                    || value
                        .as_str()
                        .is_some_and(|s| !s.is_empty() && s.trim().parse::<f64>().is_ok())
            }
            Self::String | Self::Date | Self::Time | Self::Timestamp | Self::TimestampTz => {
                value.is_string()
            }
            Self::Bytes => value.is_string(),
            Self::Uuid => value.as_str().is_some_and(looks_like_uuid),
            Self::Json | Self::Unknown { .. } => true,
            Self::Array { items } => match value.as_array() {
                Some(values) => {
                    for (index, item) in values.iter().enumerate() {
                        if !item.is_null() {
                            items
                                .check_value(item)
                                .map_err(|reason| format!("item {index}: {reason}"))?;
                        }
                    }
                    true
                }
                None => false,
            },
            Self::Object { fields } => match value.as_object() {
                Some(object) => {
                    check_fields(fields, object)?;
                    true
                }
                None => false,
            },
        };
        if ok {
            Ok(())
        } else {
            Err(format!(
                "expected {}, got {}",
                self.name(),
                json_type_name(value)
            ))
        }
    }

    /// A short name of the type for messages.
    pub fn name(&self) -> &str {
        match self {
            Self::Boolean => "boolean",
            Self::Integer => "integer",
            Self::Number => "number",
            Self::Decimal { .. } => "decimal",
            Self::String => "string",
            Self::Date => "date",
            Self::Time => "time",
            Self::Timestamp => "timestamp",
            Self::TimestampTz => "timestamp_tz",
            Self::Json => "json",
            Self::Bytes => "bytes",
            Self::Uuid => "uuid",
            Self::Array { .. } => "array",
            Self::Object { .. } => "object",
            Self::Unknown { native } => native,
        }
    }
}

fn looks_like_uuid(s: &str) -> bool {
    let bytes = s.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn check_fields(fields: &[Field], object: &serde_json::Map<String, Value>) -> Result<(), String> {
    for field in fields {
        match object.get(&field.name) {
            None | Some(Value::Null) if field.nullable => {}
            None | Some(Value::Null) => {
                return Err(format!("field `{}` is required", field.name));
            }
            Some(value) => field
                .field_type
                .check_value(value)
                .map_err(|reason| format!("field `{}`: {reason}", field.name))?,
        }
    }
    Ok(())
}

fn fields_to_json_schema(fields: &[Field]) -> Value {
    let mut properties = serde_json::Map::new();
    let mut required = Vec::new();
    for field in fields {
        let mut schema = field.field_type.to_json_schema();
        if field.nullable {
            if let Some(object) = schema.as_object_mut() {
                match object.get_mut("type") {
                    Some(Value::String(t)) => {
                        let t = std::mem::take(t);
                        object.insert("type".into(), json!([t, "null"]));
                    }
                    Some(Value::Array(types)) => types.push(json!("null")),
                    _ => {}
                }
            }
        } else {
            required.push(Value::String(field.name.clone()));
        }
        properties.insert(field.name.clone(), schema);
    }
    json!({"type": "object", "properties": properties, "required": required})
}

/// One field (column, attribute) of a stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    /// The field name as the remote system spells it.
    pub name: String,
    /// The common type.
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// Whether the field may be null or absent.
    pub nullable: bool,
    /// The native type name, when known (e.g. `varchar(255)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native_type: Option<String>,
}

impl Field {
    /// A non-nullable field.
    pub fn required(name: impl Into<String>, field_type: FieldType) -> Self {
        Self {
            name: name.into(),
            field_type,
            nullable: false,
            native_type: None,
        }
    }

    /// A nullable field.
    pub fn nullable(name: impl Into<String>, field_type: FieldType) -> Self {
        Self {
            nullable: true,
            ..Self::required(name, field_type)
        }
    }

    /// Records the native type name.
    #[must_use]
    pub fn with_native_type(mut self, native_type: impl Into<String>) -> Self {
        self.native_type = Some(native_type.into());
        self
    }
}

/// A stream (table, view, endpoint collection) and its shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamDescriptor {
    /// The stream name used in `read` and `write`.
    pub name: String,
    /// Schema, database or API group, when the system has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The fields, in the system's order.
    pub fields: Vec<Field>,
    /// Field names forming the primary key (empty when there is none).
    #[serde(default)]
    pub primary_key: Vec<String>,
    /// Fields usable as an incremental cursor (monotonic: updated_at, id, ...).
    #[serde(default)]
    pub cursor_candidates: Vec<String>,
}

impl StreamDescriptor {
    /// A stream with fields and no keys.
    pub fn new(name: impl Into<String>, fields: Vec<Field>) -> Self {
        Self {
            name: name.into(),
            namespace: None,
            fields,
            primary_key: Vec::new(),
            cursor_candidates: Vec::new(),
        }
    }

    /// Sets the primary key.
    #[must_use]
    pub fn with_primary_key<I, S>(mut self, key: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.primary_key = key.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the cursor-field candidates.
    #[must_use]
    pub fn with_cursor_candidates<I, S>(mut self, fields: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.cursor_candidates = fields.into_iter().map(Into::into).collect();
        self
    }

    /// The field called `name`.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The JSON Schema of one record of this stream.
    pub fn to_json_schema(&self) -> Value {
        fields_to_json_schema(&self.fields)
    }

    /// Checks a record against the fields: required fields present, values of the right
    /// shape, no unknown fields. Returns the reason when the record does not fit.
    pub fn check_record(&self, record: &crate::Record) -> Result<(), String> {
        if let Some(unknown) = record.keys().find(|k| self.field(k).is_none()) {
            return Err(format!("unknown field `{unknown}`"));
        }
        check_fields(&self.fields, record)
    }
}

/// Everything a connector can read or write.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    /// The streams.
    pub streams: Vec<StreamDescriptor>,
}

impl Catalog {
    /// A catalog of these streams.
    pub fn new(streams: Vec<StreamDescriptor>) -> Self {
        Self { streams }
    }

    /// The stream called `name`.
    pub fn stream(&self, name: &str) -> Option<&StreamDescriptor> {
        self.streams.iter().find(|s| s.name == name)
    }
}
