//! [`Batch`]: the records of one stream as typed Arrow columns, and their JSON view.
//!
//! Batches travel between every reader, the mapping and every writer as Apache Arrow
//! record batches with the stream's schema: a SQL reader decodes straight into column
//! builders and a SQL writer encodes from the columns, so a value that goes from source to
//! target unchanged is never parsed or formatted on the way. The places that want rows (CEL
//! expressions, the REST writer, previews, dead letters) take the JSON view, converted once
//! per batch ([`Batch::to_records`]) rather than once per field.
//!
//! # The JSON view
//!
//! Each Arrow type reads as the JSON today's readers produce for the same value:
//!
//! | Arrow type | JSON |
//! |---|---|
//! | `Boolean` | `true` / `false` |
//! | integers | numbers |
//! | `Float32`, `Float64` | numbers (`NaN` and infinities as strings, as JSON has no such numbers) |
//! | `Utf8`, `LargeUtf8`, `Utf8View` | strings |
//! | `Decimal128(p, s)` | exact strings with `s` decimals (`"12.30"`) |
//! | `Date32` | `"2024-05-01"` |
//! | `Time64(µs)` | `"10:00:00.5"` |
//! | `Timestamp(µs, None)` | `"2024-05-01T10:00:00.123456"` |
//! | `Timestamp(µs, zone)` | `"2024-05-01T10:00:00.123456Z"` (the instant in UTC) |
//! | `Binary` | base64 strings |
//! | `FixedSizeBinary(16)` marked [`UUID_EXTENSION`] | hyphenated UUIDs |
//! | `List` | arrays of the items' JSON |
//! | `Struct` | objects |
//! | `Null` | `null` |
//! | `Utf8` marked [`JSON_EXTENSION`] | the JSON the text holds |
//!
//! Temporal values at `i64::MAX` / `i64::MIN` (days: `i32::MAX` / `i32::MIN`) read as
//! `"infinity"` / `"-infinity"`, as PostgreSQL writes them.
//!
//! **Null and absent.** In a typed column a null slot is a field whose value is JSON
//! `null`. In a JSON column ([`JSON_EXTENSION`]) a null slot is a field the record does not
//! have, and JSON `null` is the text `null`. [`Batch::from_records`] therefore types a
//! field only when every record has it; a field some records lack becomes a JSON column,
//! and the view gives back exactly the records it was given.

use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, Float64Builder, Int64Builder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, Time64MicrosecondType, TimestampMicrosecondType, UInt8Type, UInt16Type, UInt32Type,
    UInt64Type,
};
use arrow_array::{Array, ArrayRef, NullArray, RecordBatch, RecordBatchOptions};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use serde_json::{Map, Value};

use crate::record::Record;
use crate::text;

/// The Arrow extension name (field metadata `ARROW:extension:name`) of a `Utf8` column
/// whose values are JSON text: nested objects, arrays, and fields of mixed types.
pub const JSON_EXTENSION: &str = "arrow.json";

/// The Arrow extension name of a `FixedSizeBinary(16)` column of UUIDs.
pub const UUID_EXTENSION: &str = "arrow.uuid";

/// The field metadata key naming an Arrow extension type.
pub const EXTENSION_KEY: &str = "ARROW:extension:name";

/// A `Utf8` field holding JSON text ([`JSON_EXTENSION`]); always nullable (a null slot is an
/// absent field).
pub fn json_field(name: impl Into<String>) -> Field {
    Field::new(name, DataType::Utf8, true).with_metadata(
        [(EXTENSION_KEY.to_owned(), JSON_EXTENSION.to_owned())]
            .into_iter()
            .collect(),
    )
}

/// A `FixedSizeBinary(16)` field of UUIDs ([`UUID_EXTENSION`]).
pub fn uuid_field(name: impl Into<String>, nullable: bool) -> Field {
    Field::new(name, DataType::FixedSizeBinary(16), nullable).with_metadata(
        [(EXTENSION_KEY.to_owned(), UUID_EXTENSION.to_owned())]
            .into_iter()
            .collect(),
    )
}

/// Whether `field` holds JSON text ([`JSON_EXTENSION`]).
pub fn is_json(field: &Field) -> bool {
    extension(field) == Some(JSON_EXTENSION)
}

/// Whether `field` holds UUIDs ([`UUID_EXTENSION`]).
pub fn is_uuid(field: &Field) -> bool {
    extension(field) == Some(UUID_EXTENSION)
}

fn extension(field: &Field) -> Option<&str> {
    field.metadata().get(EXTENSION_KEY).map(String::as_str)
}

/// The records of one stream as Arrow columns (see the [module documentation](self)).
///
/// Cloning is cheap: the columns are shared, reference counted buffers.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    columns: RecordBatch,
}

impl Default for Batch {
    fn default() -> Self {
        Self::empty()
    }
}

impl From<RecordBatch> for Batch {
    fn from(columns: RecordBatch) -> Self {
        Self { columns }
    }
}

impl Batch {
    /// A batch of Arrow columns.
    pub fn new(columns: RecordBatch) -> Self {
        Self { columns }
    }

    /// A batch of no record and no column.
    pub fn empty() -> Self {
        Self::new(RecordBatch::new_empty(Arc::new(Schema::empty())))
    }

    /// `rows` records with no field (`{}` each).
    pub fn of_empty_records(rows: usize) -> Self {
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        match RecordBatch::try_new_with_options(Arc::new(Schema::empty()), vec![], &options) {
            Ok(columns) => Self::new(columns),
            Err(_) => Self::empty(),
        }
    }

    /// The batch of `records`, each field typed from its values: booleans, 64-bit integers,
    /// floats and strings become typed columns when every record has the field (nulls
    /// allowed); anything else (objects, arrays, mixed types, fields some records lack)
    /// becomes a JSON column. [`Batch::to_records`] gives `records` back exactly.
    pub fn from_records(records: &[Record]) -> Self {
        let mut names: Vec<&str> = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for record in records {
            for key in record.keys() {
                if seen.insert(key.as_str()) {
                    names.push(key.as_str());
                }
            }
        }
        names.sort_unstable();
        let mut fields = Vec::with_capacity(names.len());
        let mut arrays = Vec::with_capacity(names.len());
        for name in names {
            let (field, array) = infer_column(name, records);
            fields.push(field);
            arrays.push(array);
        }
        let options = RecordBatchOptions::new().with_row_count(Some(records.len()));
        match RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), arrays, &options) {
            Ok(columns) => Self::new(columns),
            // Every column built above has one slot per record and its field's type.
            Err(_) => Self::of_empty_records(records.len()),
        }
    }

    /// How many records the batch holds.
    pub fn len(&self) -> usize {
        self.columns.num_rows()
    }

    /// Whether the batch holds no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The batch's schema.
    pub fn schema(&self) -> SchemaRef {
        self.columns.schema()
    }

    /// The Arrow columns.
    pub fn arrow(&self) -> &RecordBatch {
        &self.columns
    }

    /// The Arrow columns, owned.
    pub fn into_arrow(self) -> RecordBatch {
        self.columns
    }

    /// The column named `name`, with its field.
    pub fn column(&self, name: &str) -> Option<(&Field, &ArrayRef)> {
        let index = self.columns.schema_ref().index_of(name).ok()?;
        Some((
            self.columns.schema_ref().field(index),
            self.columns.column(index),
        ))
    }

    /// The JSON view of every record (see the [module documentation](self)), built column
    /// by column.
    pub fn to_records(&self) -> Vec<Record> {
        let rows = self.len();
        let mut records = vec![Record::new(); rows];
        let schema = self.columns.schema();
        for (field, array) in schema.fields().iter().zip(self.columns.columns()) {
            let name = field.name();
            for (row, record) in records.iter_mut().enumerate() {
                if let Some(value) = cell(field, array.as_ref(), row) {
                    record.insert(name.clone(), value);
                }
            }
        }
        records
    }

    /// The JSON view of the record at `row` (an empty record past the end).
    pub fn record(&self, row: usize) -> Record {
        let mut record = Record::new();
        if row >= self.len() {
            return record;
        }
        let schema = self.columns.schema();
        for (field, array) in schema.fields().iter().zip(self.columns.columns()) {
            if let Some(value) = cell(field, array.as_ref(), row) {
                record.insert(field.name().clone(), value);
            }
        }
        record
    }

    /// The records at `rows`, in that order (rows past the end are skipped).
    pub fn take(&self, rows: &[usize]) -> Self {
        let len = self.len();
        let indices: arrow_array::UInt32Array = rows
            .iter()
            .filter(|row| **row < len)
            .filter_map(|row| u32::try_from(*row).ok())
            .map(Some)
            .collect();
        let count = indices.len();
        let columns: Result<Vec<ArrayRef>, _> = self
            .columns
            .columns()
            .iter()
            .map(|column| arrow_select::take::take(column.as_ref(), &indices, None))
            .collect();
        let options = RecordBatchOptions::new().with_row_count(Some(count));
        columns
            .and_then(|columns| {
                RecordBatch::try_new_with_options(self.columns.schema(), columns, &options)
            })
            .map(Self::new)
            .unwrap_or_else(|_| Self::of_empty_records(count))
    }

    /// `len` records from `offset` (zero-copy).
    pub fn slice(&self, offset: usize, len: usize) -> Self {
        let offset = offset.min(self.len());
        let len = len.min(self.len() - offset);
        Self::new(self.columns.slice(offset, len))
    }
}

impl From<Vec<Record>> for Batch {
    fn from(records: Vec<Record>) -> Self {
        Self::from_records(&records)
    }
}

impl From<&[Record]> for Batch {
    fn from(records: &[Record]) -> Self {
        Self::from_records(records)
    }
}

/// What every value of one field across the records has in common.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Unseen,
    Bool,
    Int,
    Float,
    Text,
    Json,
}

fn kind_of(value: &Value) -> Kind {
    match value {
        Value::Bool(_) => Kind::Bool,
        Value::Number(n) if n.is_i64() => Kind::Int,
        Value::Number(n) if n.is_f64() => Kind::Float,
        Value::String(_) => Kind::Text,
        _ => Kind::Json,
    }
}

fn infer_column(name: &str, records: &[Record]) -> (Field, ArrayRef) {
    let mut kind = Kind::Unseen;
    let mut everywhere = true;
    for record in records {
        match record.get(name) {
            None => everywhere = false,
            Some(Value::Null) => {}
            Some(value) => {
                let this = kind_of(value);
                kind = match kind {
                    Kind::Unseen => this,
                    same if same == this => same,
                    _ => Kind::Json,
                };
            }
        }
        if !everywhere || kind == Kind::Json {
            break;
        }
    }
    let values = || records.iter().map(|record| record.get(name));
    if !everywhere {
        kind = Kind::Json;
    }
    match kind {
        Kind::Unseen => (
            Field::new(name, DataType::Null, true),
            Arc::new(NullArray::new(records.len())),
        ),
        Kind::Bool => {
            let mut builder = BooleanBuilder::with_capacity(records.len());
            values().for_each(|v| builder.append_option(v.and_then(Value::as_bool)));
            (
                Field::new(name, DataType::Boolean, true),
                Arc::new(builder.finish()),
            )
        }
        Kind::Int => {
            let mut builder = Int64Builder::with_capacity(records.len());
            values().for_each(|v| builder.append_option(v.and_then(Value::as_i64)));
            (
                Field::new(name, DataType::Int64, true),
                Arc::new(builder.finish()),
            )
        }
        Kind::Float => {
            let mut builder = Float64Builder::with_capacity(records.len());
            values().for_each(|v| builder.append_option(v.and_then(Value::as_f64)));
            (
                Field::new(name, DataType::Float64, true),
                Arc::new(builder.finish()),
            )
        }
        Kind::Text => {
            let mut builder = StringBuilder::with_capacity(records.len(), records.len() * 16);
            values().for_each(|v| builder.append_option(v.and_then(Value::as_str)));
            (
                Field::new(name, DataType::Utf8, true),
                Arc::new(builder.finish()),
            )
        }
        Kind::Json => {
            let mut builder = StringBuilder::with_capacity(records.len(), records.len() * 32);
            for value in values() {
                match value {
                    Some(value) => builder.append_value(value.to_string()),
                    None => builder.append_null(),
                }
            }
            (json_field(name), Arc::new(builder.finish()))
        }
    }
}

/// The JSON view of one cell: `None` for a field the record does not have (a null slot of
/// a JSON column).
pub fn cell(field: &Field, array: &dyn Array, row: usize) -> Option<Value> {
    if is_json(field) {
        if array.is_null(row) {
            return None;
        }
        let text = match array.data_type() {
            DataType::Utf8 => array.as_string::<i32>().value(row),
            DataType::LargeUtf8 => array.as_string::<i64>().value(row),
            _ => return Some(value(field, array, row)),
        };
        return Some(serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.into())));
    }
    Some(value(field, array, row))
}

/// The JSON value of one cell of a typed column (`null` for a null slot).
pub fn value(field: &Field, array: &dyn Array, row: usize) -> Value {
    if row >= array.len() || array.is_null(row) {
        return Value::Null;
    }
    match array.data_type() {
        DataType::Null => Value::Null,
        DataType::Boolean => Value::Bool(array.as_boolean().value(row)),
        DataType::Int8 => Value::from(array.as_primitive::<Int8Type>().value(row)),
        DataType::Int16 => Value::from(array.as_primitive::<Int16Type>().value(row)),
        DataType::Int32 => Value::from(array.as_primitive::<Int32Type>().value(row)),
        DataType::Int64 => Value::from(array.as_primitive::<Int64Type>().value(row)),
        DataType::UInt8 => Value::from(array.as_primitive::<UInt8Type>().value(row)),
        DataType::UInt16 => Value::from(array.as_primitive::<UInt16Type>().value(row)),
        DataType::UInt32 => Value::from(array.as_primitive::<UInt32Type>().value(row)),
        DataType::UInt64 => Value::from(array.as_primitive::<UInt64Type>().value(row)),
        DataType::Float32 => float(f64::from(array.as_primitive::<Float32Type>().value(row))),
        DataType::Float64 => float(array.as_primitive::<Float64Type>().value(row)),
        DataType::Utf8 => Value::String(array.as_string::<i32>().value(row).to_owned()),
        DataType::LargeUtf8 => Value::String(array.as_string::<i64>().value(row).to_owned()),
        DataType::Utf8View => Value::String(array.as_string_view().value(row).to_owned()),
        DataType::Decimal128(_, _) => {
            Value::String(array.as_primitive::<Decimal128Type>().value_as_string(row))
        }
        DataType::Date32 => {
            let days = array.as_primitive::<Date32Type>().value(row);
            match date32(days) {
                Some(date) => Value::String(text::format_date(date)),
                None => infinity_or_text(days == i32::MAX, days == i32::MIN, days),
            }
        }
        DataType::Time64(TimeUnit::Microsecond) => {
            let micros = array.as_primitive::<Time64MicrosecondType>().value(row);
            match time64(micros) {
                Some(time) => Value::String(text::format_time(time)),
                None => Value::String(micros.to_string()),
            }
        }
        DataType::Timestamp(TimeUnit::Microsecond, zone) => {
            let micros = array.as_primitive::<TimestampMicrosecondType>().value(row);
            match chrono::DateTime::from_timestamp_micros(micros) {
                Some(at) if zone.is_some() => Value::String(text::format_timestamp_tz(at)),
                Some(at) => Value::String(text::format_timestamp(at.naive_utc())),
                None => infinity_or_text(micros == i64::MAX, micros == i64::MIN, micros),
            }
        }
        DataType::Binary => Value::String(text::encode_base64(array.as_binary::<i32>().value(row))),
        DataType::LargeBinary => {
            Value::String(text::encode_base64(array.as_binary::<i64>().value(row)))
        }
        DataType::FixedSizeBinary(_) => {
            let bytes = array.as_fixed_size_binary().value(row);
            match is_uuid(field).then(|| text::format_uuid(bytes)).flatten() {
                Some(uuid) => Value::String(uuid),
                None => Value::String(text::encode_base64(bytes)),
            }
        }
        DataType::List(item) => {
            let items = array.as_list::<i32>().value(row);
            Value::Array(
                (0..items.len())
                    .map(|i| value(item, items.as_ref(), i))
                    .collect(),
            )
        }
        DataType::LargeList(item) => {
            let items = array.as_list::<i64>().value(row);
            Value::Array(
                (0..items.len())
                    .map(|i| value(item, items.as_ref(), i))
                    .collect(),
            )
        }
        DataType::Struct(fields) => {
            let object = array.as_struct();
            let mut out = Map::new();
            for (child_field, child) in fields.iter().zip(object.columns()) {
                if let Some(v) = cell(child_field, child.as_ref(), row) {
                    out.insert(child_field.name().clone(), v);
                }
            }
            Value::Object(out)
        }
        _ => display(array, row),
    }
}

/// Any other type: Arrow's own text form of the value.
fn display(array: &dyn Array, row: usize) -> Value {
    let options = arrow_cast::display::FormatOptions::default();
    match arrow_cast::display::ArrayFormatter::try_new(array, &options) {
        Ok(formatter) => Value::String(formatter.value(row).to_string()),
        Err(_) => Value::Null,
    }
}

fn float(value: f64) -> Value {
    serde_json::Number::from_f64(value)
        .map(Value::Number)
        .unwrap_or_else(|| Value::String(value.to_string()))
}

fn infinity_or_text(positive: bool, negative: bool, raw: impl ToString) -> Value {
    if positive {
        Value::String("infinity".into())
    } else if negative {
        Value::String("-infinity".into())
    } else {
        Value::String(raw.to_string())
    }
}

/// Days since 1970-01-01 as a date.
pub fn date32(days: i32) -> Option<chrono::NaiveDate> {
    chrono::DateTime::from_timestamp(i64::from(days) * 86_400, 0).map(|at| at.date_naive())
}

/// Microseconds since midnight as a time of day.
pub fn time64(micros: i64) -> Option<chrono::NaiveTime> {
    let secs = u32::try_from(micros.div_euclid(1_000_000)).ok()?;
    let nanos = u32::try_from(micros.rem_euclid(1_000_000)).ok()? * 1_000;
    chrono::NaiveTime::from_num_seconds_from_midnight_opt(secs, nanos)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use arrow_array::builder::{
        Date32Builder, Decimal128Builder, FixedSizeBinaryBuilder, TimestampMicrosecondBuilder,
    };
    use serde_json::json;

    use super::*;

    fn records(values: Value) -> Vec<Record> {
        values
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_object().unwrap().clone())
            .collect()
    }

    #[test]
    fn records_come_back_exactly_whatever_their_shape() {
        let input = records(json!([
            {"id": 1, "name": "a", "score": 1.5, "ok": true, "tags": ["x"], "sparse": 1,
             "mixed": 1, "big": 18446744073709551615u64, "nothing": null},
            {"id": 2, "name": null, "score": 2.0, "ok": false, "tags": null, "mixed": "one",
             "big": 1, "nothing": null},
            {"id": null, "name": "c", "score": -0.5, "ok": null, "tags": {"a": 1},
             "sparse": null, "mixed": 2.5, "big": 2, "nothing": null},
            {"id": 4, "name": "d", "score": 0.30000000000000004, "ok": true,
             "tags": [1.7976931348623157e308, 5e-324, 0.1], "sparse": 0.30000000000000004,
             "mixed": 0.30000000000000004, "big": 3, "nothing": null}
        ]));
        let batch = Batch::from_records(&input);
        assert_eq!(batch.len(), 4);
        // Floats inside JSON columns come back bit for bit (serde_json's float_roundtrip).
        assert_eq!(batch.to_records(), input);
        for (row, record) in input.iter().enumerate() {
            assert_eq!(&batch.record(row), record);
        }
        let schema = batch.schema();
        let type_of = |name: &str| schema.field_with_name(name).unwrap().clone();
        assert_eq!(type_of("id").data_type(), &DataType::Int64);
        assert_eq!(type_of("name").data_type(), &DataType::Utf8);
        assert!(!is_json(&type_of("name")));
        assert_eq!(type_of("score").data_type(), &DataType::Float64);
        assert_eq!(type_of("ok").data_type(), &DataType::Boolean);
        assert_eq!(type_of("nothing").data_type(), &DataType::Null);
        for json_column in ["tags", "sparse", "mixed", "big"] {
            assert!(is_json(&type_of(json_column)), "{json_column}");
        }
    }

    #[test]
    fn records_without_fields_keep_their_count() {
        let input = vec![Record::new(); 4];
        let batch = Batch::from_records(&input);
        assert_eq!(batch.len(), 4);
        assert_eq!(batch.to_records(), input);
        assert_eq!(Batch::from_records(&[]).len(), 0);
        assert!(Batch::empty().is_empty());
    }

    #[test]
    fn take_and_slice_keep_the_records_they_pick() {
        let input = records(json!([{"id": 1}, {"id": 2, "x": "a"}, {"id": 3}]));
        let batch = Batch::from_records(&input);
        assert_eq!(
            batch.take(&[2, 0, 9]).to_records(),
            vec![input[2].clone(), input[0].clone()]
        );
        assert_eq!(batch.slice(1, 5).to_records(), input[1..].to_vec());
        assert_eq!(Batch::of_empty_records(3).take(&[0, 2]).len(), 2);
    }

    #[test]
    fn typed_columns_read_as_the_readers_write_them() {
        let mut decimals = Decimal128Builder::new()
            .with_precision_and_scale(12, 2)
            .unwrap();
        decimals.append_value(1230);
        decimals.append_value(-5);
        decimals.append_null();
        let mut instants = TimestampMicrosecondBuilder::new().with_timezone("+00:00");
        instants.append_value(1_714_557_600_123_456);
        instants.append_value(i64::MAX);
        instants.append_value(0);
        let mut days = Date32Builder::new();
        days.append_value(19_844);
        days.append_value(i32::MIN);
        days.append_value(0);
        let mut uuids = FixedSizeBinaryBuilder::new(16);
        for _ in 0..3 {
            uuids.append_value([0xab; 16]).unwrap();
        }
        let schema = Schema::new(vec![
            Field::new("amount", DataType::Decimal128(12, 2), true),
            Field::new(
                "at",
                DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())),
                true,
            ),
            Field::new("day", DataType::Date32, true),
            uuid_field("uuid", false),
        ]);
        let columns = RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(decimals.finish()),
                Arc::new(instants.finish()),
                Arc::new(days.finish()),
                Arc::new(uuids.finish()),
            ],
        )
        .unwrap();
        let uuid = "abababab-abab-abab-abab-abababababab";
        assert_eq!(
            Batch::new(columns).to_records(),
            records(json!([
                {"amount": "12.30", "at": "2024-05-01T10:00:00.123456Z", "day": "2024-05-01", "uuid": uuid},
                {"amount": "-0.05", "at": "infinity", "day": "-infinity", "uuid": uuid},
                {"amount": null, "at": "1970-01-01T00:00:00Z", "day": "1970-01-01", "uuid": uuid}
            ]))
        );
    }
}
