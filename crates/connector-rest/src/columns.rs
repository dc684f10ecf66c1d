//! Decoding the records of a page into Arrow columns, once per page.
//!
//! Without a declared schema the records are typed by [`Batch::from_records`]. With one
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

use std::collections::HashSet;
use std::sync::Arc;

use chrono::Timelike as _;
use connector_sdk::arrow_array::types::{Decimal128Type, DecimalType as _};
use connector_sdk::arrow_array::{
    ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, FixedSizeBinaryArray,
    Float64Array, Int64Array, RecordBatch, RecordBatchOptions, StringArray, Time64MicrosecondArray,
    TimestampMicrosecondArray, new_null_array,
};
use connector_sdk::arrow_schema::{DataType, Field as ArrowField, Schema};
use connector_sdk::batch::json_field;
use connector_sdk::{Batch, ConnectorError, Record, text};
use serde_json::Value;

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

/// Decodes `records` into one batch: against `shape` when the stream declares one, else
/// by [`Batch::from_records`] inference.
pub(crate) fn decode_page(
    records: Vec<Record>,
    shape: Option<&RecordShape>,
    label: PageLabel<'_>,
) -> Result<DecodedPage, ConnectorError> {
    let Some(shape) = shape else {
        return Ok(DecodedPage {
            batch: Batch::from_records(&records),
            misfits: Vec::new(),
        });
    };
    if shape.extra_fields == ExtraFields::Reject {
        refuse_extra_fields(&records, shape, label)?;
    }
    let rows = records.len();
    let typed: Vec<Option<ArrayRef>> = shape
        .columns
        .iter()
        .map(|column| typed_column(column, &records))
        .collect();
    let misfits: HashSet<&str> = shape
        .columns
        .iter()
        .zip(&typed)
        .filter(|(_, array)| array.is_none())
        .map(|(column, _)| column.name.as_str())
        .collect();
    let keep_extra = shape.extra_fields == ExtraFields::Keep;
    let rest = if misfits.is_empty() && !keep_extra {
        Batch::of_empty_records(rows)
    } else {
        let rest: Vec<Record> = records
            .into_iter()
            .map(|mut record| {
                record.retain(|name, _| {
                    if shape.declares(name) {
                        misfits.contains(name.as_str())
                    } else {
                        keep_extra
                    }
                });
                record
            })
            .collect();
        Batch::from_records(&rest)
    };

    let mut fields: Vec<Arc<ArrowField>> = Vec::with_capacity(typed.len());
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(typed.len());
    for (column, array) in shape.columns.iter().zip(typed) {
        match array {
            Some(array) => {
                fields.push(column.arrow.clone());
                arrays.push(array);
            }
            None => match rest.column(&column.name) {
                Some((field, array)) => {
                    fields.push(Arc::new(field.clone()));
                    arrays.push(array.clone());
                }
                // No record has the field: an all-absent JSON column.
                None => {
                    fields.push(Arc::new(json_field(&column.name)));
                    arrays.push(new_null_array(&DataType::Utf8, rows));
                }
            },
        }
    }
    let rest_schema = rest.schema();
    for (field, array) in rest_schema.fields().iter().zip(rest.arrow().columns()) {
        if !shape.declares(field.name()) {
            fields.push(field.clone());
            arrays.push(array.clone());
        }
    }
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    let columns =
        RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), arrays, &options)
            .map_err(|e| label.error(format!("its records do not make columns: {e}")))?;
    let mut misfits: Vec<String> = misfits.into_iter().map(str::to_owned).collect();
    misfits.sort_unstable();
    Ok(DecodedPage {
        batch: Batch::new(columns),
        misfits,
    })
}

/// `extra_fields: reject`: the first record with an undeclared field fails the read.
fn refuse_extra_fields(
    records: &[Record],
    shape: &RecordShape,
    label: PageLabel<'_>,
) -> Result<(), ConnectorError> {
    for (index, record) in records.iter().enumerate() {
        if let Some(name) = record.keys().find(|name| !shape.declares(name)) {
            return Err(label.error(format!(
                "record {index} has the field `{name}`, which the stream's schema does not declare \
                 (schema.extra_fields: reject)"
            )));
        }
    }
    Ok(())
}

/// The typed column of `column` over `records`, or `None` when some value does not fit.
fn typed_column(column: &DeclaredColumn, records: &[Record]) -> Option<ArrayRef> {
    let array: ArrayRef = match column.kind {
        ColumnKind::Json => Arc::new(json_column(column, records)),
        ColumnKind::Boolean => {
            Arc::new(BooleanArray::from(slots(column, records, Value::as_bool)?))
        }
        ColumnKind::Integer => Arc::new(Int64Array::from(slots(column, records, integer)?)),
        ColumnKind::Float => Arc::new(Float64Array::from(slots(column, records, float)?)),
        ColumnKind::Text => Arc::new(StringArray::from(slots(column, records, Value::as_str)?)),
        ColumnKind::Decimal { precision, scale } => Arc::new(
            Decimal128Array::from(slots(column, records, |v| decimal(v, precision, scale))?)
                .with_precision_and_scale(precision, scale)
                .ok()?,
        ),
        ColumnKind::Date => Arc::new(Date32Array::from(slots(column, records, date)?)),
        ColumnKind::Time => Arc::new(Time64MicrosecondArray::from(slots(column, records, time)?)),
        ColumnKind::Timestamp => Arc::new(TimestampMicrosecondArray::from(slots(
            column, records, timestamp,
        )?)),
        ColumnKind::TimestampTz => Arc::new(
            TimestampMicrosecondArray::from(slots(column, records, timestamp_tz)?)
                .with_timezone(UTC),
        ),
        ColumnKind::Uuid => {
            let values = slots(column, records, uuid)?;
            Arc::new(
                FixedSizeBinaryArray::try_from_sparse_iter_with_size(values.into_iter(), 16)
                    .ok()?,
            )
        }
        ColumnKind::Bytes => {
            let values = slots(column, records, bytes)?;
            Arc::new(BinaryArray::from_iter(values))
        }
    };
    Some(array)
}

/// The slot of each record for a typed column: `None` (the column does not fit) when a
/// record lacks the field, holds null where the field is not nullable, or holds a value
/// `convert` does not take.
fn slots<'a, T>(
    column: &DeclaredColumn,
    records: &'a [Record],
    convert: impl Fn(&'a Value) -> Option<T>,
) -> Option<Vec<Option<T>>> {
    let mut out = Vec::with_capacity(records.len());
    for record in records {
        match record.get(&column.name)? {
            Value::Null if column.nullable => out.push(None),
            Value::Null => return None,
            value => out.push(Some(convert(value)?)),
        }
    }
    Some(out)
}

/// A JSON column: every value as JSON text, a null slot where the record lacks the field.
fn json_column(column: &DeclaredColumn, records: &[Record]) -> StringArray {
    records
        .iter()
        .map(|record| record.get(&column.name).map(Value::to_string))
        .collect()
}

/// An integer written as one (`5`, not `5.0`).
fn integer(value: &Value) -> Option<i64> {
    if value.is_i64() { value.as_i64() } else { None }
}

/// A number written with a fraction or exponent (`1.5`, `2e3`): one written as an integer
/// would read back as `5.0`.
fn float(value: &Value) -> Option<f64> {
    if value.is_f64() { value.as_f64() } else { None }
}

/// A decimal string with exactly `scale` decimals in canonical form (`"12.30"`).
fn decimal(value: &Value, precision: u8, scale: i8) -> Option<i128> {
    let text = value.as_str()?;
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
fn date(value: &Value) -> Option<i32> {
    let text = value.as_str()?;
    let day = text::parse_date(text).ok()?;
    if text::format_date(day) != text {
        return None;
    }
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?;
    i32::try_from(day.signed_duration_since(epoch).num_days()).ok()
}

/// A time of day (`10:00:00.5`), as microseconds since midnight.
fn time(value: &Value) -> Option<i64> {
    let text = value.as_str()?;
    let at = text::parse_time(text).ok()?;
    let nanos = at.nanosecond();
    if nanos >= 1_000_000_000 || nanos % 1_000 != 0 || text::format_time(at) != text {
        return None;
    }
    Some(i64::from(at.num_seconds_from_midnight()) * 1_000_000 + i64::from(nanos / 1_000))
}

/// A timestamp without zone (`2024-05-01T10:00:00.5`), as microseconds since the epoch.
fn timestamp(value: &Value) -> Option<i64> {
    let text = value.as_str()?;
    let at = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
    if at.nanosecond() % 1_000 != 0 || text::format_timestamp(at) != text {
        return None;
    }
    Some(at.and_utc().timestamp_micros())
}

/// An instant in UTC (`2024-05-01T10:00:00.5Z`), as microseconds since the epoch.
fn timestamp_tz(value: &Value) -> Option<i64> {
    let text = value.as_str()?;
    let at = text::parse_timestamp_tz(text).ok()?.to_utc();
    if at.nanosecond() % 1_000 != 0 || text::format_timestamp_tz(at) != text {
        return None;
    }
    Some(at.timestamp_micros())
}

/// A lower-case hyphenated UUID, as its 16 bytes.
fn uuid(value: &Value) -> Option<[u8; 16]> {
    let text = value.as_str()?;
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
fn bytes(value: &Value) -> Option<Vec<u8>> {
    let text = value.as_str()?;
    let decoded = text::decode_base64(text).ok()?;
    (text::encode_base64(&decoded) == text).then_some(decoded)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::config::SchemaConfig;
    use connector_sdk::batch::is_json;
    use serde_json::json;

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
}
