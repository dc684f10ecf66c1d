//! Decoding the records of a page ([`FieldCells`], parsed or raw JSON) into Arrow columns,
//! once per page.
//!
//! Without a declared schema the records are typed by the rules of [`Batch::from_records`]
//! (from parsed records, the very batch it builds; from a page read in one pass, the same
//! columns, a JSON column holding each value's text as the response wrote it). With one
//! ([`RecordShape`]), each declared field becomes a column of its declared type when every
//! record of the page holds a value the type stores exactly — one whose JSON view reads back
//! the same: an integer for `integer`, a float for `number`, `"12.30"` for `decimal(p, 2)`,
//! a canonical `…Z` string for `timestamp_tz`, a lower-case UUID, canonical base64. Null
//! fits a nullable field; a field some record lacks fits no typed column (a typed null slot
//! would read as `null`, not absent). When some value does not fit, that field's column on
//! that page is typed from its values as without a schema (a JSON column at worst), so no
//! value is lost or altered: the batch's JSON view always equals the records received.
//! Declared JSON, array and object fields are JSON columns (nested values stay nested).
//!
//! Fields the schema does not declare are kept (typed from their values), dropped or make
//! the read fail, as the stream's `extra_fields` says.

use std::sync::Arc;

use chrono::Timelike as _;
use connector_sdk::arrow_array::builder::StringBuilder;
use connector_sdk::arrow_array::types::{Decimal128Type, DecimalType as _};
use connector_sdk::arrow_array::{
    ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, FixedSizeBinaryArray,
    Float64Array, Int64Array, NullArray, RecordBatch, RecordBatchOptions, StringArray,
    Time64MicrosecondArray, TimestampMicrosecondArray,
};
use connector_sdk::arrow_schema::{DataType, Field as ArrowField, Schema};
use connector_sdk::batch::json_field;
use connector_sdk::{Batch, ConnectorError, text};
use serde_json::Number;

use crate::cells::{FieldCells, JsonCell, JsonKind};
use crate::config::ExtraFields;
use crate::records::PageLabel;
use crate::shape::{ColumnKind, DeclaredColumn, RecordShape, UTC};

/// A page's records as columns, and the declared fields whose values did not fit their
/// type on this page.
#[derive(Debug)]
pub(crate) struct DecodedPage {
    /// The records, as columns.
    pub(crate) batch: Batch,
    /// Declared fields typed from their values on this page instead.
    pub(crate) misfits: Vec<String>,
}

/// Decodes the records of `cells` into one batch: against `shape` when the stream
/// declares one, else typed from their values exactly as [`Batch::from_records`] types
/// the same records.
pub(crate) fn decode<'a, C: JsonCell<'a>>(
    cells: &FieldCells<'_, C>,
    shape: Option<&RecordShape>,
    label: PageLabel<'_>,
) -> Result<DecodedPage, ConnectorError> {
    let rows = cells.rows();
    let mut fields: Vec<Arc<ArrowField>> = Vec::new();
    let mut arrays: Vec<ArrayRef> = Vec::new();
    let mut misfits = Vec::new();
    let mut undeclared: Vec<(&str, &[Option<C>])> = match shape {
        Some(shape) => cells
            .fields()
            .filter(|(name, _)| !shape.declares(name))
            .collect(),
        None => cells.fields().collect(),
    };
    if let Some(shape) = shape {
        if shape.extra_fields == ExtraFields::Reject {
            refuse_extra_fields(&undeclared, label)?;
        }
        let absent = vec![None; rows];
        for column in &shape.columns {
            let values = cells.field(&column.name).unwrap_or(&absent);
            match typed_column(column, values) {
                Some(array) => {
                    fields.push(column.arrow.clone());
                    arrays.push(array);
                }
                None => {
                    misfits.push(column.name.clone());
                    let (field, array) = inferred_column(&column.name, values);
                    fields.push(Arc::new(field));
                    arrays.push(array);
                }
            }
        }
        if shape.extra_fields != ExtraFields::Keep {
            undeclared.clear();
        }
    }
    undeclared.sort_unstable_by_key(|(name, _)| *name);
    for (name, values) in undeclared {
        let (field, array) = inferred_column(name, values);
        fields.push(Arc::new(field));
        arrays.push(array);
    }
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    let columns =
        RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), arrays, &options)
            .map_err(|e| label.error(format!("its records do not make columns: {e}")))?;
    misfits.sort_unstable();
    Ok(DecodedPage {
        batch: Batch::new(columns),
        misfits,
    })
}

/// `extra_fields: reject`: the first record holding a field the schema does not declare
/// fails the read.
fn refuse_extra_fields<C>(
    undeclared: &[(&str, &[Option<C>])],
    label: PageLabel<'_>,
) -> Result<(), ConnectorError> {
    let first = undeclared
        .iter()
        .filter_map(|(name, values)| Some((values.iter().position(Option::is_some)?, *name)))
        .min_by_key(|(row, _)| *row);
    match first {
        None => Ok(()),
        Some((row, name)) => Err(label.error(format!(
            "record {row} has the field `{name}`, which the stream's schema does not declare \
             (schema.extra_fields: reject)"
        ))),
    }
}

/// What every value of one field has in common (as [`Batch::from_records`] sees it).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Inferred {
    Unseen,
    Bool,
    Int,
    Float,
    Text,
    Json,
}

fn number_kind(number: Option<Number>) -> Inferred {
    match number {
        Some(n) if n.is_i64() => Inferred::Int,
        Some(n) if n.is_f64() => Inferred::Float,
        _ => Inferred::Json,
    }
}

/// The column of a field typed from its values: booleans, 64-bit integers, floats and
/// strings when every record has the field (nulls allowed), a JSON column otherwise — the
/// rules of [`Batch::from_records`].
fn inferred_column<'a, C: JsonCell<'a>>(
    name: &str,
    values: &[Option<C>],
) -> (ArrowField, ArrayRef) {
    let mut kind = Inferred::Unseen;
    for value in values {
        let Some(value) = value else {
            kind = Inferred::Json;
            break;
        };
        let this = match value.kind() {
            JsonKind::Null => continue,
            JsonKind::Bool => Inferred::Bool,
            JsonKind::Number => number_kind(value.number()),
            JsonKind::String => Inferred::Text,
            JsonKind::Nested => Inferred::Json,
        };
        kind = match kind {
            Inferred::Unseen => this,
            same if same == this => same,
            _ => Inferred::Json,
        };
        if kind == Inferred::Json {
            break;
        }
    }
    let typed = |data_type| ArrowField::new(name, data_type, true);
    match kind {
        Inferred::Unseen => (
            typed(DataType::Null),
            Arc::new(NullArray::new(values.len())),
        ),
        Inferred::Bool => (
            typed(DataType::Boolean),
            Arc::new(
                values
                    .iter()
                    .map(|v| v.and_then(JsonCell::boolean))
                    .collect::<BooleanArray>(),
            ),
        ),
        Inferred::Int => (
            typed(DataType::Int64),
            Arc::new(
                values
                    .iter()
                    .map(|v| v.and_then(JsonCell::number).and_then(|n| n.as_i64()))
                    .collect::<Int64Array>(),
            ),
        ),
        Inferred::Float => (
            typed(DataType::Float64),
            Arc::new(
                values
                    .iter()
                    .map(|v| v.and_then(JsonCell::number).and_then(|n| n.as_f64()))
                    .collect::<Float64Array>(),
            ),
        ),
        Inferred::Text => {
            let mut builder = StringBuilder::with_capacity(values.len(), values.len() * 16);
            for value in values {
                builder.append_option(value.and_then(JsonCell::text));
            }
            (typed(DataType::Utf8), Arc::new(builder.finish()))
        }
        Inferred::Json => (json_field(name), Arc::new(json_column(values))),
    }
}

/// The typed column of `column`, or `None` when some value does not fit its type.
fn typed_column<'a, C: JsonCell<'a>>(
    column: &DeclaredColumn,
    values: &[Option<C>],
) -> Option<ArrayRef> {
    let array: ArrayRef = match column.kind {
        ColumnKind::Json => Arc::new(json_column(values)),
        ColumnKind::Boolean => {
            Arc::new(BooleanArray::from(slots(column, values, |v| v.boolean())?))
        }
        ColumnKind::Integer => Arc::new(Int64Array::from(slots(column, values, integer)?)),
        ColumnKind::Float => Arc::new(Float64Array::from(slots(column, values, float)?)),
        ColumnKind::Text => {
            let texts = slots(column, values, |v| v.text())?;
            Arc::new(texts.iter().map(Option::as_deref).collect::<StringArray>())
        }
        ColumnKind::Decimal { precision, scale } => Arc::new(
            Decimal128Array::from(slots(column, values, |v| {
                decimal(&v.text()?, precision, scale)
            })?)
            .with_precision_and_scale(precision, scale)
            .ok()?,
        ),
        ColumnKind::Date => Arc::new(Date32Array::from(slots(column, values, |v| {
            date(&v.text()?)
        })?)),
        ColumnKind::Time => Arc::new(Time64MicrosecondArray::from(slots(column, values, |v| {
            time(&v.text()?)
        })?)),
        ColumnKind::Timestamp => Arc::new(TimestampMicrosecondArray::from(slots(
            column,
            values,
            |v| timestamp(&v.text()?),
        )?)),
        ColumnKind::TimestampTz => Arc::new(
            TimestampMicrosecondArray::from(slots(column, values, |v| timestamp_tz(&v.text()?))?)
                .with_timezone(UTC),
        ),
        ColumnKind::Uuid => {
            let uuids = slots(column, values, |v| uuid(&v.text()?))?;
            Arc::new(
                FixedSizeBinaryArray::try_from_sparse_iter_with_size(uuids.into_iter(), 16).ok()?,
            )
        }
        ColumnKind::Bytes => {
            let blobs = slots(column, values, |v| bytes(&v.text()?))?;
            Arc::new(BinaryArray::from_iter(blobs))
        }
    };
    Some(array)
}

/// The slot of each record for a typed column: `None` (the column does not fit) when a
/// record lacks the field, holds null where the field is not nullable, or holds a value
/// `convert` does not take.
fn slots<'a, C: JsonCell<'a>, T>(
    column: &DeclaredColumn,
    values: &[Option<C>],
    convert: impl Fn(C) -> Option<T>,
) -> Option<Vec<Option<T>>> {
    let mut out = Vec::with_capacity(values.len());
    for value in values {
        let value = (*value)?;
        if value.kind() == JsonKind::Null {
            if !column.nullable {
                return None;
            }
            out.push(None);
        } else {
            out.push(Some(convert(value)?));
        }
    }
    Some(out)
}

/// A JSON column: every value as JSON text, a null slot where the record lacks the field.
fn json_column<'a, C: JsonCell<'a>>(values: &[Option<C>]) -> StringArray {
    let mut builder = StringBuilder::with_capacity(values.len(), values.len() * 32);
    for value in values {
        match value {
            Some(value) => builder.append_value(value.json_text()),
            None => builder.append_null(),
        }
    }
    builder.finish()
}

/// An integer written as one (`5`, not `5.0`).
fn integer<'a, C: JsonCell<'a>>(value: C) -> Option<i64> {
    value.number().filter(Number::is_i64)?.as_i64()
}

/// A number written with a fraction or exponent (`1.5`, `2e3`): one written as an integer
/// would read back as `5.0`.
fn float<'a, C: JsonCell<'a>>(value: C) -> Option<f64> {
    value.number().filter(Number::is_f64)?.as_f64()
}

/// A decimal string with exactly `scale` decimals in canonical form (`"12.30"`).
fn decimal(text: &str, precision: u8, scale: i8) -> Option<i128> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty()
        || fraction.len() != usize::try_from(scale).ok()?
        || !whole
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let mut number: i128 = 0;
    for digit in whole.bytes().chain(fraction.bytes()) {
        number = number
            .checked_mul(10)?
            .checked_add(i128::from(digit - b'0'))?;
    }
    if text.starts_with('-') {
        number = -number;
    }
    let exact = Decimal128Type::is_valid_decimal_precision(number, precision)
        && Decimal128Type::format_decimal(number, precision, scale) == text;
    exact.then_some(number)
}

/// A `YYYY-MM-DD` date, as days since 1970-01-01.
fn date(text: &str) -> Option<i32> {
    let day = text::parse_date(text).ok()?;
    if text::format_date(day) != text {
        return None;
    }
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?;
    i32::try_from(day.signed_duration_since(epoch).num_days()).ok()
}

/// A time of day (`10:00:00.5`), as microseconds since midnight.
fn time(text: &str) -> Option<i64> {
    let at = text::parse_time(text).ok()?;
    let nanos = at.nanosecond();
    if nanos >= 1_000_000_000 || nanos % 1_000 != 0 || text::format_time(at) != text {
        return None;
    }
    Some(i64::from(at.num_seconds_from_midnight()) * 1_000_000 + i64::from(nanos / 1_000))
}

/// A timestamp without zone (`2024-05-01T10:00:00.5`), as microseconds since the epoch.
fn timestamp(text: &str) -> Option<i64> {
    let at = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
    if at.nanosecond() % 1_000 != 0 || text::format_timestamp(at) != text {
        return None;
    }
    Some(at.and_utc().timestamp_micros())
}

/// An instant in UTC (`2024-05-01T10:00:00.5Z`), as microseconds since the epoch.
fn timestamp_tz(text: &str) -> Option<i64> {
    let at = text::parse_timestamp_tz(text).ok()?.to_utc();
    if at.nanosecond() % 1_000 != 0 || text::format_timestamp_tz(at) != text {
        return None;
    }
    Some(at.timestamp_micros())
}

/// A lower-case hyphenated UUID, as its 16 bytes.
fn uuid(text: &str) -> Option<[u8; 16]> {
    let hex: Vec<u8> = text.bytes().filter(|b| *b != b'-').collect();
    if hex.len() != 32 {
        return None;
    }
    let mut bytes = [0u8; 16];
    for (byte, pair) in bytes.iter_mut().zip(hex.chunks_exact(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    (text::format_uuid(&bytes).as_deref() == Some(text)).then_some(bytes)
}

/// Canonical base64, as its bytes.
fn bytes(text: &str) -> Option<Vec<u8>> {
    let decoded = text::decode_base64(text).ok()?;
    (text::encode_base64(&decoded) == text).then_some(decoded)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::config::SchemaConfig;
    use connector_sdk::Record;
    use connector_sdk::batch::is_json;
    use serde_json::{Value, json};

    fn decode_page(
        records: Vec<Record>,
        shape: Option<&RecordShape>,
        label: PageLabel<'_>,
    ) -> Result<DecodedPage, ConnectorError> {
        decode(&FieldCells::of_records(&records), shape, label)
    }

    const LABEL: PageLabel<'static> = PageLabel {
        stream: "s",
        page: 2,
    };

    fn records(value: Value) -> Vec<Record> {
        serde_json::from_value(value).unwrap()
    }

    fn shape(fields: Value, extra: &str) -> RecordShape {
        let config: SchemaConfig =
            serde_json::from_value(json!({"fields": fields, "extra_fields": extra})).unwrap();
        RecordShape::new(&config).unwrap()
    }

    fn data_type(batch: &Batch, name: &str) -> (DataType, bool) {
        let (field, _) = batch.column(name).expect(name);
        (field.data_type().clone(), is_json(field))
    }

    fn every_type() -> RecordShape {
        shape(
            json!([
                {"name": "id", "type": {"type": "integer"}, "nullable": false},
                {"name": "ok", "type": {"type": "boolean"}},
                {"name": "score", "type": {"type": "number"}},
                {"name": "name", "type": {"type": "string"}},
                {"name": "amount", "type": {"type": "decimal", "precision": 12, "scale": 2}},
                {"name": "day", "type": {"type": "date"}},
                {"name": "clock", "type": {"type": "time"}},
                {"name": "local", "type": {"type": "timestamp"}},
                {"name": "at", "type": {"type": "timestamp_tz"}},
                {"name": "uid", "type": {"type": "uuid"}},
                {"name": "blob", "type": {"type": "bytes"}},
                {"name": "address", "type": {"type": "object", "fields": []}},
                {"name": "tags", "type": {"type": "array", "items": {"type": "string"}}}
            ]),
            "keep",
        )
    }

    #[test]
    fn values_that_fit_make_typed_columns_whose_view_is_the_records() {
        let input = records(json!([
            {"id": 1, "ok": true, "score": 1.5, "name": "a", "amount": "12.30", "day": "2024-05-01",
             "clock": "10:00:00.500", "local": "2024-05-01T10:00:00", "at": "2024-05-01T10:00:00.123456Z",
             "uid": "123e4567-e89b-12d3-a456-426614174000", "blob": "aGk=",
             "address": {"city": "Oslo", "zip": {"code": "0150"}}, "tags": ["x", "y"], "extra": 7},
            {"id": -2, "ok": null, "score": -2e3, "name": null, "amount": "-0.05", "day": null,
             "clock": "23:59:59", "local": null, "at": "1970-01-01T00:00:00Z",
             "uid": null, "blob": "", "address": null, "tags": [], "extra": 8}
        ]));
        let decoded = decode_page(input.clone(), Some(&every_type()), LABEL).unwrap();
        assert!(decoded.misfits.is_empty(), "{:?}", decoded.misfits);
        let batch = decoded.batch;
        assert_eq!(batch.to_records(), input);
        let names: Vec<String> = batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(names.first().map(String::as_str), Some("id"));
        assert_eq!(
            names.last().map(String::as_str),
            Some("extra"),
            "extras come last"
        );
        assert_eq!(data_type(&batch, "id"), (DataType::Int64, false));
        assert_eq!(
            data_type(&batch, "amount"),
            (DataType::Decimal128(12, 2), false)
        );
        assert_eq!(
            data_type(&batch, "at").0,
            DataType::Timestamp(
                connector_sdk::arrow_schema::TimeUnit::Microsecond,
                Some(UTC.into())
            )
        );
        assert_eq!(data_type(&batch, "uid").0, DataType::FixedSizeBinary(16));
        assert_eq!(data_type(&batch, "day").0, DataType::Date32);
        assert_eq!(data_type(&batch, "blob").0, DataType::Binary);
        assert_eq!(data_type(&batch, "address"), (DataType::Utf8, true));
        assert_eq!(data_type(&batch, "extra"), (DataType::Int64, false));
    }

    #[test]
    fn a_value_that_does_not_fit_keeps_its_field_as_received() {
        let input = records(json!([
            {"id": 1, "ok": true, "score": 3, "name": "a", "amount": "12.3", "day": "2024-5-1",
             "clock": "10:00:00.000000001", "local": "2024-05-01 10:00:00", "at": "2024-05-01T12:00:00+02:00",
             "uid": "123E4567-E89B-12D3-A456-426614174000", "blob": "aGk", "address": [1], "tags": "x"},
            {"id": "2", "ok": "yes", "score": 1.5, "amount": 12.3, "day": "2024-05-01",
             "clock": "10:00:00", "local": "2024-05-01T10:00:00", "at": "2024-05-01T10:00:00Z",
             "uid": "123e4567-e89b-12d3-a456-426614174000", "blob": "aGk=", "tags": null},
            {"id": null, "ok": false, "score": 2.5, "name": "c", "amount": "1.00", "day": "2024-05-02",
             "clock": "10:00:00", "local": "2024-05-01T10:00:00", "at": "2024-05-01T10:00:00Z",
             "uid": "123e4567-e89b-12d3-a456-426614174000", "blob": "aGk=", "address": "text", "tags": []}
        ]));
        let decoded = decode_page(input.clone(), Some(&every_type()), LABEL).unwrap();
        assert_eq!(decoded.batch.to_records(), input);
        let every_declared_typed_field: Vec<String> = every_type()
            .columns
            .iter()
            .filter(|c| c.kind != ColumnKind::Json)
            .map(|c| c.name.clone())
            .collect();
        let mut expected = every_declared_typed_field;
        expected.sort();
        assert_eq!(decoded.misfits, expected);
        // score holds an integer next to floats, name is missing from a record: inferred.
        assert_eq!(data_type(&decoded.batch, "score"), (DataType::Utf8, true));
        assert_eq!(data_type(&decoded.batch, "name"), (DataType::Utf8, true));
    }

    #[test]
    fn integers_in_a_number_field_are_inferred_and_read_back_unchanged() {
        let shape = shape(
            json!([{"name": "score", "type": {"type": "number"}}]),
            "keep",
        );
        let input = records(json!([{"score": 3}, {"score": 4}]));
        let decoded = decode_page(input.clone(), Some(&shape), LABEL).unwrap();
        assert_eq!(decoded.batch.to_records(), input);
        assert_eq!(data_type(&decoded.batch, "score"), (DataType::Int64, false));
        assert_eq!(decoded.misfits, vec!["score".to_owned()]);
    }

    #[test]
    fn extra_fields_are_kept_dropped_or_refused() {
        let fields = json!([{"name": "id", "type": {"type": "integer"}}]);
        let input = records(json!([{"id": 1}, {"id": 2, "note": {"a": 1}}]));
        let kept = decode_page(input.clone(), Some(&shape(fields.clone(), "keep")), LABEL).unwrap();
        assert_eq!(kept.batch.to_records(), input);
        let dropped =
            decode_page(input.clone(), Some(&shape(fields.clone(), "drop")), LABEL).unwrap();
        assert_eq!(
            dropped.batch.to_records(),
            records(json!([{"id": 1}, {"id": 2}]))
        );
        assert_eq!(dropped.batch.schema().fields().len(), 1);
        let err = decode_page(input, Some(&shape(fields, "reject")), LABEL).unwrap_err();
        assert_eq!(err.kind(), connector_sdk::ErrorKind::Data);
        assert!(
            err.detail().contains("page 2")
                && err.detail().contains("record 1")
                && err.detail().contains("`note`"),
            "{err}"
        );
    }

    #[test]
    fn a_declared_field_no_record_has_stays_absent() {
        let shape = shape(
            json!([{"name": "id", "type": {"type": "integer"}}, {"name": "gone", "type": {"type": "string"}}]),
            "keep",
        );
        let input = records(json!([{"id": 1}, {"id": 2}]));
        let decoded = decode_page(input.clone(), Some(&shape), LABEL).unwrap();
        assert_eq!(decoded.batch.to_records(), input);
        assert_eq!(data_type(&decoded.batch, "gone"), (DataType::Utf8, true));
    }

    #[test]
    fn without_a_schema_records_are_inferred() {
        let input = records(json!([{"id": 1, "a": {"b": [1, 2]}}, {"id": 2, "a": null}]));
        let decoded = decode_page(input.clone(), None, LABEL).unwrap();
        assert_eq!(decoded.batch, Batch::from_records(&input));
        let empty = decode_page(Vec::new(), Some(&every_type()), LABEL).unwrap();
        assert_eq!(empty.batch.len(), 0);
    }

    /// A small deterministic generator (no seed to manage, the same pages on every run).
    struct Generator(u64);

    impl Generator {
        fn next(&mut self, below: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 33) % below
        }

        fn value(&mut self, depth: u32) -> Value {
            match self.next(if depth > 1 { 12 } else { 14 }) {
                0 => Value::Null,
                1 => json!(self.next(2) == 0),
                2 => json!(self.next(1000) as i64 - 500),
                3 => json!(u64::MAX - self.next(3)),
                4 => json!(self.next(1000) as f64 / 8.0 - 7.0),
                5 => json!(format!("text {} \"quoted\" \\ é \u{1F600}", self.next(9))),
                6 => json!(
                    ["2024-05-01T10:00:00Z", "2024-05-01T10:00:00.5+02:00"][self.next(2) as usize]
                ),
                7 => json!(["12.30", "-0.05", "12.3", "1e3"][self.next(4) as usize]),
                8 => json!("123e4567-e89b-12d3-a456-426614174000"),
                9 => json!(self.next(5) as i64),
                10 => json!(format!("s{}", self.next(3))),
                11 => json!(0.5),
                12 => Value::Array((0..self.next(3)).map(|_| self.value(depth + 1)).collect()),
                _ => {
                    let fields = self.next(3);
                    Value::Object(
                        (0..fields)
                            .map(|i| (format!("k{i}"), self.value(depth + 1)))
                            .collect(),
                    )
                }
            }
        }

        fn page(&mut self) -> Vec<Value> {
            let names = [
                "id", "name", "amount", "at", "uid", "flag", "note", "nested", "x y", "ünï",
            ];
            (0..self.next(6))
                .map(|_| {
                    let mut record = serde_json::Map::new();
                    for name in names {
                        if self.next(5) > 0 {
                            record.insert(name.to_owned(), self.value(0));
                        }
                    }
                    Value::Object(record)
                })
                .collect()
        }
    }

    #[test]
    fn pages_read_in_one_pass_decode_to_the_records_the_tree_reads() {
        use crate::raw::{RawPlan, parse};
        use crate::selector::Selector;

        let plan = RawPlan::new(
            &Selector::parse("$.data").unwrap(),
            &[&Selector::parse("$.next").unwrap()],
        )
        .unwrap();
        let declared = shape(
            json!([
                {"name": "id", "type": {"type": "integer"}},
                {"name": "amount", "type": {"type": "decimal", "precision": 10, "scale": 2}},
                {"name": "at", "type": {"type": "timestamp_tz"}},
                {"name": "uid", "type": {"type": "uuid"}},
                {"name": "flag", "type": {"type": "boolean"}},
                {"name": "nested", "type": {"type": "json"}}
            ]),
            "keep",
        );
        let mut generator = Generator(7);
        let mut typed_columns = 0;
        for round in 0..400 {
            let page = generator.page();
            let document = json!({"data": page, "next": format!("c{round}")});
            let body = if round % 3 == 0 {
                serde_json::to_string_pretty(&document).unwrap()
            } else {
                document.to_string()
            };
            let records: Vec<Record> = page
                .iter()
                .map(|r| r.as_object().unwrap().clone())
                .collect();
            let raw = parse(&plan, body.as_bytes()).unwrap();
            assert_eq!(raw.document, json!({"next": format!("c{round}")}));
            for shape in [None, Some(&declared)] {
                let from_raw = decode(&raw.cells, shape, LABEL).unwrap().batch;
                let from_tree = decode(&FieldCells::of_records(&records), shape, LABEL)
                    .unwrap()
                    .batch;
                assert_eq!(from_raw.to_records(), records, "round {round}: {body}");
                assert_eq!(from_tree.to_records(), records, "round {round}");
                if shape.is_none() {
                    assert_eq!(from_tree, Batch::from_records(&records), "round {round}");
                }
                let types = |batch: &Batch| -> Vec<(String, DataType)> {
                    batch
                        .schema()
                        .fields()
                        .iter()
                        .map(|f| (f.name().clone(), f.data_type().clone()))
                        .collect()
                };
                assert_eq!(types(&from_raw), types(&from_tree), "round {round}");
                typed_columns += from_raw
                    .schema()
                    .fields()
                    .iter()
                    .filter(|f| !is_json(f) && f.data_type() != &DataType::Null)
                    .count();
            }
            assert_eq!(raw.cells.content_hash().is_some(), !records.is_empty());
        }
        assert!(
            typed_columns > 100,
            "the pages exercise typed columns: {typed_columns}"
        );
    }
}
