//! PostgreSQL binary `COPY` fields encoded straight from Arrow columns
//! ([`ColumnEncoder`]).
//!
//! When a column's Arrow type matches the target column's type (`Int64` into `int8`,
//! `Utf8` into `text`, `Timestamp(µs, zone)` into `timestamptz`, `Decimal128` into
//! `numeric`, ...) each value is encoded from the array, never formatted as text nor
//! parsed back. Any other pairing, and a value outside the range the direct encoding
//! covers (a date before year 1, a subnormal float), goes through the value's JSON view
//! ([`connector_sdk::batch::value`]) and [`encode_field`], exactly as a JSON record's
//! value would: the bytes written, and the values left to the text format
//! ([`NotEncoded`]), are the same either way.

use connector_sdk::arrow_array::cast::AsArray as _;
use connector_sdk::arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, Time64MicrosecondType, TimestampMicrosecondType, UInt8Type, UInt16Type, UInt32Type,
    UInt64Type,
};
use connector_sdk::arrow_array::{
    Array, BinaryArray, BooleanArray, Decimal128Array, FixedSizeBinaryArray, GenericStringArray,
    LargeBinaryArray, PrimitiveArray, StringViewArray,
};
use connector_sdk::arrow_schema::{DataType, Field, TimeUnit};
use connector_sdk::batch;

use super::postgres_binary::{
    BinaryType, NULL_FIELD, NotEncoded, Scalar, encode_bytes, encode_decimal, encode_field,
    encode_integer, encode_str, encode_text,
};

/// Days from 1970-01-01 (Arrow's epoch) to 2000-01-01 (PostgreSQL's).
const EPOCH_DAYS: i32 = 10_957;

/// Microseconds from 1970-01-01 to 2000-01-01.
const EPOCH_MICROS: i64 = 946_684_800_000_000;

/// The dates (days since 1970) the direct encoding covers: years 1 to 9999, as the text
/// form of a date is read by [`encode_str`].
const DAYS: std::ops::RangeInclusive<i32> = -719_162..=2_932_896;

/// The instants (µs since 1970) the direct encoding covers: years 1 to 9999.
const MICROS: std::ops::RangeInclusive<i64> = -62_135_596_800_000_000..=253_402_300_799_999_999;

/// A time of day in microseconds.
const DAY_MICROS: i64 = 86_400_000_000;

/// The typed view of the column being encoded.
enum Source<'a> {
    Null,
    Boolean(&'a BooleanArray),
    Int8(&'a PrimitiveArray<Int8Type>),
    Int16(&'a PrimitiveArray<Int16Type>),
    Int32(&'a PrimitiveArray<Int32Type>),
    Int64(&'a PrimitiveArray<Int64Type>),
    UInt8(&'a PrimitiveArray<UInt8Type>),
    UInt16(&'a PrimitiveArray<UInt16Type>),
    UInt32(&'a PrimitiveArray<UInt32Type>),
    UInt64(&'a PrimitiveArray<UInt64Type>),
    Float32(&'a PrimitiveArray<Float32Type>),
    Float64(&'a PrimitiveArray<Float64Type>),
    Utf8(&'a GenericStringArray<i32>),
    /// Text into a text column, with no NUL anywhere in the array: copied as is.
    PlainText(&'a GenericStringArray<i32>),
    LargeUtf8(&'a GenericStringArray<i64>),
    Utf8View(&'a StringViewArray),
    Decimal(&'a Decimal128Array, u8),
    Date32(&'a PrimitiveArray<Date32Type>),
    Time64(&'a PrimitiveArray<Time64MicrosecondType>),
    /// With or without zone (the target says which one matches).
    Timestamp(&'a PrimitiveArray<TimestampMicrosecondType>),
    Binary(&'a BinaryArray),
    LargeBinary(&'a LargeBinaryArray),
    Uuid(&'a FixedSizeBinaryArray),
    /// Through each value's JSON view.
    Json,
}

/// Encodes the values of one Arrow column as fields of one target column.
pub struct ColumnEncoder<'a> {
    field: &'a Field,
    array: &'a dyn Array,
    target: BinaryType,
    source: Source<'a>,
    scratch: Vec<u8>,
}

impl std::fmt::Debug for ColumnEncoder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ColumnEncoder")
            .field("field", &self.field.name())
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

/// The typed source when `data_type` into `target` is encoded directly.
fn source<'a>(field: &Field, array: &'a dyn Array, target: BinaryType) -> Source<'a> {
    let BinaryType::Scalar(scalar) = target else {
        return Source::Json;
    };
    let integer = matches!(scalar, Scalar::Int2 | Scalar::Int4 | Scalar::Int8);
    match (array.data_type(), scalar) {
        (DataType::Null, _) => Source::Null,
        _ if batch::is_json(field) => Source::Json,
        (DataType::Boolean, Scalar::Bool) => Source::Boolean(array.as_boolean()),
        (DataType::Int8, _) if integer => Source::Int8(array.as_primitive()),
        (DataType::Int16, _) if integer => Source::Int16(array.as_primitive()),
        (DataType::Int32, _) if integer => Source::Int32(array.as_primitive()),
        (DataType::Int64, _) if integer => Source::Int64(array.as_primitive()),
        (DataType::UInt8, _) if integer => Source::UInt8(array.as_primitive()),
        (DataType::UInt16, _) if integer => Source::UInt16(array.as_primitive()),
        (DataType::UInt32, _) if integer => Source::UInt32(array.as_primitive()),
        (DataType::UInt64, _) if integer => Source::UInt64(array.as_primitive()),
        (DataType::Float32, Scalar::Float4) => Source::Float32(array.as_primitive()),
        (DataType::Float64, Scalar::Float8) => Source::Float64(array.as_primitive()),
        (DataType::Utf8, Scalar::Text) => {
            let strings = array.as_string::<i32>();
            match strings.values().as_slice().contains(&0) {
                false => Source::PlainText(strings),
                true => Source::Utf8(strings),
            }
        }
        (DataType::Utf8, _) => Source::Utf8(array.as_string()),
        (DataType::LargeUtf8, _) => Source::LargeUtf8(array.as_string()),
        (DataType::Utf8View, _) => Source::Utf8View(array.as_string_view()),
        (DataType::Decimal128(_, scale), Scalar::Numeric) => match u8::try_from(*scale) {
            Ok(scale) => Source::Decimal(array.as_primitive::<Decimal128Type>(), scale),
            Err(_) => Source::Json,
        },
        (DataType::Date32, Scalar::Date) => Source::Date32(array.as_primitive()),
        (DataType::Time64(TimeUnit::Microsecond), Scalar::Time) => {
            Source::Time64(array.as_primitive())
        }
        (DataType::Timestamp(TimeUnit::Microsecond, Some(_)), Scalar::TimestampTz)
        | (DataType::Timestamp(TimeUnit::Microsecond, None), Scalar::Timestamp) => {
            Source::Timestamp(array.as_primitive())
        }
        (DataType::Binary, Scalar::Bytea) => Source::Binary(array.as_binary()),
        (DataType::LargeBinary, Scalar::Bytea) => Source::LargeBinary(array.as_binary()),
        (DataType::FixedSizeBinary(16), Scalar::Uuid) if batch::is_uuid(field) => {
            Source::Uuid(array.as_fixed_size_binary())
        }
        _ => Source::Json,
    }
}

impl<'a> ColumnEncoder<'a> {
    /// An encoder of `array` (of `field`) as fields of a column encoded as `target`.
    pub fn new(field: &'a Field, array: &'a dyn Array, target: BinaryType) -> Self {
        Self {
            field,
            array,
            target,
            source: source(field, array, target),
            scratch: Vec::with_capacity(32),
        }
    }

    /// Whether the values are encoded from the array (else through their JSON view).
    pub fn is_direct(&self) -> bool {
        !matches!(self.source, Source::Json)
    }

    /// Appends the value at `row` as one field. On [`NotEncoded`] the buffer may hold part
    /// of the field: the caller truncates to where the row began.
    pub fn encode(&mut self, out: &mut Vec<u8>, row: usize) -> Result<(), NotEncoded> {
        if self.array.is_null(row) {
            // A null slot of a JSON column is an absent field: `NULL` as well.
            out.extend_from_slice(&NULL_FIELD);
            return Ok(());
        }
        let BinaryType::Scalar(scalar) = self.target else {
            return self.through_json(out, row);
        };
        let integer = |out: &mut Vec<u8>, value: i128| encode_integer(out, scalar, value);
        match &self.source {
            Source::Null => {
                out.extend_from_slice(&NULL_FIELD);
                Ok(())
            }
            Source::Boolean(a) => encode_bytes(out, &[u8::from(a.value(row))]),
            Source::Int8(a) => integer(out, a.value(row).into()),
            Source::Int16(a) => integer(out, a.value(row).into()),
            Source::Int32(a) => integer(out, a.value(row).into()),
            Source::Int64(a) => integer(out, a.value(row).into()),
            Source::UInt8(a) => integer(out, a.value(row).into()),
            Source::UInt16(a) => integer(out, a.value(row).into()),
            Source::UInt32(a) => integer(out, a.value(row).into()),
            Source::UInt64(a) => integer(out, a.value(row).into()),
            // Subnormals, NaN and the infinities are not encoded, as from JSON.
            Source::Float32(a) => match a.value(row) {
                v if v.is_normal() || v == 0.0 => encode_bytes(out, &v.to_be_bytes()),
                _ => Err(NotEncoded),
            },
            Source::Float64(a) => match a.value(row) {
                v if v.is_normal() || v == 0.0 => encode_bytes(out, &v.to_be_bytes()),
                _ => Err(NotEncoded),
            },
            Source::Utf8(a) => encode_string(out, scalar, a.value(row)),
            Source::PlainText(a) => encode_bytes(out, a.value(row).as_bytes()),
            Source::LargeUtf8(a) => encode_string(out, scalar, a.value(row)),
            Source::Utf8View(a) => encode_string(out, scalar, a.value(row)),
            Source::Decimal(a, scale) => {
                encode_decimal(out, a.value(row), *scale, &mut self.scratch)
            }
            Source::Date32(a) => match a.value(row) {
                days @ (i32::MAX | i32::MIN) => encode_bytes(out, &days.to_be_bytes()),
                days if DAYS.contains(&days) => {
                    encode_bytes(out, &(days - EPOCH_DAYS).to_be_bytes())
                }
                _ => self.through_json(out, row),
            },
            Source::Time64(a) => match a.value(row) {
                micros if (0..DAY_MICROS).contains(&micros) => {
                    encode_bytes(out, &micros.to_be_bytes())
                }
                _ => self.through_json(out, row),
            },
            Source::Timestamp(a) => match a.value(row) {
                micros @ (i64::MAX | i64::MIN) => encode_bytes(out, &micros.to_be_bytes()),
                micros if MICROS.contains(&micros) => {
                    encode_bytes(out, &(micros - EPOCH_MICROS).to_be_bytes())
                }
                _ => self.through_json(out, row),
            },
            Source::Binary(a) => encode_bytes(out, a.value(row)),
            Source::LargeBinary(a) => encode_bytes(out, a.value(row)),
            Source::Uuid(a) => encode_bytes(out, a.value(row)),
            Source::Json => self.through_json(out, row),
        }
    }

    /// Encodes the value at `row` from its JSON view, as a JSON record's value.
    fn through_json(&mut self, out: &mut Vec<u8>, row: usize) -> Result<(), NotEncoded> {
        let value = batch::cell(self.field, self.array, row);
        encode_field(out, self.target, value.as_ref(), &mut self.scratch)
    }
}

/// A string into `scalar`: text as is, anything else as its text form is read.
fn encode_string(out: &mut Vec<u8>, scalar: Scalar, text: &str) -> Result<(), NotEncoded> {
    match scalar {
        Scalar::Text => encode_text(out, text),
        other => encode_str(out, other, text),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use std::sync::Arc;

    use connector_sdk::Batch;
    use connector_sdk::arrow_array::builder::{
        Date32Builder, Decimal128Builder, Float32Builder, Float64Builder, Int64Builder,
        StringBuilder, Time64MicrosecondBuilder, TimestampMicrosecondBuilder,
    };
    use connector_sdk::arrow_array::{
        ArrayRef, BinaryArray, BooleanArray, FixedSizeBinaryArray, RecordBatch,
    };
    use connector_sdk::arrow_schema::Schema;

    use super::*;
    use crate::values::postgres_binary::Scalar;

    /// Every value of `array` encoded directly and through its JSON view: the same bytes,
    /// or `NotEncoded` both ways.
    fn same_both_ways(field: Field, array: ArrayRef, target: Scalar, expect_direct: bool) {
        let target = BinaryType::Scalar(target);
        let batch = Batch::new(
            RecordBatch::try_new(
                Arc::new(Schema::new(vec![field.clone()])),
                vec![array.clone()],
            )
            .unwrap(),
        );
        let mut encoder = ColumnEncoder::new(&field, array.as_ref(), target);
        assert_eq!(
            encoder.is_direct(),
            expect_direct,
            "{field:?} into {target:?}"
        );
        let records = batch.to_records();
        for (row, record) in records.iter().enumerate() {
            let mut direct = Vec::new();
            let direct = encoder.encode(&mut direct, row).map(|()| direct);
            let mut json = Vec::new();
            let json = encode_field(&mut json, target, record.get(field.name()), &mut Vec::new())
                .map(|()| json);
            assert_eq!(
                direct, json,
                "{field:?} row {row}: {record:?} into {target:?}"
            );
        }
    }

    #[test]
    fn direct_encodings_write_what_the_json_view_writes() {
        let ints: ArrayRef = Arc::new({
            let mut b = Int64Builder::new();
            for v in [0, -1, i64::MAX, i64::MIN, 32_767, 32_768, -2_147_483_649] {
                b.append_value(v);
            }
            b.append_null();
            b.finish()
        });
        for target in [Scalar::Int2, Scalar::Int4, Scalar::Int8] {
            same_both_ways(
                Field::new("i", DataType::Int64, true),
                ints.clone(),
                target,
                true,
            );
        }
        same_both_ways(
            Field::new("i", DataType::Int64, true),
            ints,
            Scalar::Numeric,
            false,
        );

        let floats: ArrayRef = Arc::new({
            let mut b = Float64Builder::new();
            for v in [0.1, -0.0, 1e-310, f64::NAN, f64::INFINITY, -1.5e300] {
                b.append_value(v);
            }
            b.finish()
        });
        same_both_ways(
            Field::new("f", DataType::Float64, true),
            floats,
            Scalar::Float8,
            true,
        );
        let singles: ArrayRef = Arc::new({
            let mut b = Float32Builder::new();
            for v in [0.1f32, -0.0, 1e-40, f32::NAN, 3.4e38, 16_777_217.0] {
                b.append_value(v);
            }
            b.finish()
        });
        same_both_ways(
            Field::new("f", DataType::Float32, true),
            singles,
            Scalar::Float4,
            true,
        );

        let texts: ArrayRef = Arc::new({
            let mut b = StringBuilder::new();
            for v in [
                "",
                "plain",
                "nul\u{0}",
                "2024-02-29",
                "12.50",
                " 1",
                "NaN",
                "10:00:00.5",
                "2024-01-01T10:00:00Z",
                "2024-01-01T10:00:00",
                "0190f1b4-6d34-7c43-a0b4-3d1b5c6a7e8f",
                "AAE=",
                "%%%",
                "x".repeat(70).as_str(),
            ] {
                b.append_value(v);
            }
            b.finish()
        });
        // Without a NUL anywhere, text is copied as is.
        let clean: ArrayRef = Arc::new(connector_sdk::arrow_array::StringArray::from(vec![
            Some("plain"),
            None,
            Some("grüße 🚀"),
            Some(""),
        ]));
        let text_field = Field::new("t", DataType::Utf8, true);
        assert!(matches!(
            ColumnEncoder::new(
                &text_field,
                clean.as_ref(),
                BinaryType::Scalar(Scalar::Text)
            )
            .source,
            Source::PlainText(_)
        ));
        same_both_ways(text_field.clone(), clean, Scalar::Text, true);
        assert!(matches!(
            ColumnEncoder::new(
                &text_field,
                texts.as_ref(),
                BinaryType::Scalar(Scalar::Text)
            )
            .source,
            Source::Utf8(_)
        ));
        for target in [
            Scalar::Text,
            Scalar::Name,
            Scalar::Numeric,
            Scalar::Date,
            Scalar::Time,
            Scalar::Timestamp,
            Scalar::TimestampTz,
            Scalar::Json,
            Scalar::Jsonb,
            Scalar::Uuid,
            Scalar::Bytea,
            Scalar::Int4,
            Scalar::Bool,
        ] {
            same_both_ways(
                Field::new("t", DataType::Utf8, true),
                texts.clone(),
                target,
                true,
            );
        }

        let decimals: ArrayRef = Arc::new({
            let mut b = Decimal128Builder::new()
                .with_precision_and_scale(38, 4)
                .unwrap();
            for v in [
                0i128,
                5,
                -5,
                12_345_678,
                -99_999_999_999_999_999_999_999_999_999_999_999i128,
            ] {
                b.append_value(v);
            }
            b.finish()
        });
        same_both_ways(
            Field::new("d", DataType::Decimal128(38, 4), true),
            decimals,
            Scalar::Numeric,
            true,
        );

        let days: ArrayRef = Arc::new({
            let mut b = Date32Builder::new();
            for v in [
                0,
                -1,
                -719_162,
                -719_163,
                2_932_896,
                2_932_897,
                i32::MAX,
                i32::MIN,
                19_844,
            ] {
                b.append_value(v);
            }
            b.finish()
        });
        same_both_ways(
            Field::new("d", DataType::Date32, true),
            days,
            Scalar::Date,
            true,
        );

        let times: ArrayRef = Arc::new({
            let mut b = Time64MicrosecondBuilder::new();
            for v in [0, 1, 86_399_999_999, 36_000_500_000, 86_400_000_000, -1] {
                b.append_value(v);
            }
            b.finish()
        });
        same_both_ways(
            Field::new("t", DataType::Time64(TimeUnit::Microsecond), true),
            times,
            Scalar::Time,
            true,
        );

        let instants = [
            0i64,
            -1,
            1_714_557_600_123_456,
            i64::MAX,
            i64::MIN,
            -62_135_596_800_000_000,
            -62_135_596_800_000_001,
            253_402_300_799_999_999,
            253_402_300_800_000_000,
        ];
        let zoned: ArrayRef = Arc::new({
            let mut b = TimestampMicrosecondBuilder::new().with_timezone("+00:00");
            instants.iter().for_each(|v| b.append_value(*v));
            b.finish()
        });
        let zoned_type = DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into()));
        same_both_ways(
            Field::new("z", zoned_type.clone(), true),
            zoned.clone(),
            Scalar::TimestampTz,
            true,
        );
        // An instant into a timestamp without zone: through the JSON view (left to the text format).
        same_both_ways(
            Field::new("z", zoned_type, true),
            zoned,
            Scalar::Timestamp,
            false,
        );
        let local: ArrayRef = Arc::new({
            let mut b = TimestampMicrosecondBuilder::new();
            instants.iter().for_each(|v| b.append_value(*v));
            b.finish()
        });
        let local_type = DataType::Timestamp(TimeUnit::Microsecond, None);
        same_both_ways(
            Field::new("l", local_type.clone(), true),
            local.clone(),
            Scalar::Timestamp,
            true,
        );
        same_both_ways(
            Field::new("l", local_type, true),
            local,
            Scalar::TimestampTz,
            false,
        );

        let booleans: ArrayRef = Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)]));
        same_both_ways(
            Field::new("b", DataType::Boolean, true),
            booleans.clone(),
            Scalar::Bool,
            true,
        );
        same_both_ways(
            Field::new("b", DataType::Boolean, true),
            booleans,
            Scalar::Text,
            false,
        );
        let bytes: ArrayRef = Arc::new(BinaryArray::from(vec![&b""[..], &[0, 255], b"abc"]));
        same_both_ways(
            Field::new("y", DataType::Binary, true),
            bytes,
            Scalar::Bytea,
            true,
        );
        let uuids: ArrayRef = Arc::new(
            FixedSizeBinaryArray::try_from_iter([[7u8; 16], [0; 16]].into_iter()).unwrap(),
        );
        same_both_ways(batch::uuid_field("u", true), uuids, Scalar::Uuid, true);
    }

    #[test]
    fn json_columns_and_arrays_go_through_the_json_view() {
        let texts: ArrayRef = Arc::new(connector_sdk::arrow_array::StringArray::from(vec![
            Some("{\"b\": 1, \"a\": [1, 2.5]}"),
            Some("null"),
            Some("\"text\""),
        ]));
        for target in [Scalar::Json, Scalar::Jsonb, Scalar::Text] {
            same_both_ways(batch::json_field("j"), texts.clone(), target, false);
        }
    }
}
