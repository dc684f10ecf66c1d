//! Typed Arrow column builders the readers decode rows into: [`ColumnKind`] (a column's
//! declared Arrow type), [`Cell`] (one decoded database value), [`ColumnBuilder`] and
//! [`BatchBuilder`].
//!
//! Each reader maps a result column's database type to a [`ColumnKind`] and appends each
//! value as a [`Cell`] to the builder of its column, with no JSON on the way. The JSON
//! view of the finished batch ([`connector_sdk::Batch::to_records`]) is, value for value,
//! what the row decoders produced before batches were columnar.
//!
//! A value the column's type cannot hold exactly (SQLite's dynamic typing, a
//! `numeric(12,2)` holding `NaN`, a timestamp with nanoseconds) changes the column, for the
//! rest of its batch, to one holding every value's JSON view: `Utf8` when every value so
//! far and this one read as strings, else a JSON column ([`connector_sdk::batch::json_field`]).
//! The next batch starts again from the declared type.

use std::any::Any;
use std::sync::Arc;

use connector_sdk::Batch;
use connector_sdk::arrow_array::builder::{
    ArrayBuilder, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder,
    FixedSizeBinaryBuilder, Float32Builder, Float64Builder, Int16Builder, Int32Builder,
    Int64Builder, ListBuilder, StringBuilder, Time64MicrosecondBuilder,
    TimestampMicrosecondBuilder, UInt8Builder, UInt32Builder, UInt64Builder,
};
use connector_sdk::arrow_array::{Array, ArrayRef, RecordBatch, RecordBatchOptions};
use connector_sdk::arrow_schema::{DataType, Field, Schema, TimeUnit};
use connector_sdk::batch::{self, json_field, uuid_field};
use serde_json::Value;

/// The time zone of instants (`timestamptz`, MySQL `TIMESTAMP`): UTC.
pub const UTC: &str = "+00:00";

/// The largest precision of a `Decimal128` column.
pub const DECIMAL128_MAX_PRECISION: u16 = 38;

/// The Arrow type a column is declared with, before any value is decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnKind {
    /// `Boolean`.
    Boolean,
    /// `Int16`.
    Int16,
    /// `Int32`.
    Int32,
    /// `Int64`.
    Int64,
    /// `UInt8`.
    UInt8,
    /// `UInt32`.
    UInt32,
    /// `UInt64`.
    UInt64,
    /// `Float32`.
    Float32,
    /// `Float64`.
    Float64,
    /// `Utf8`.
    Utf8,
    /// `Decimal128(precision, scale)`; build it with [`ColumnKind::decimal`].
    Decimal {
        /// Digits in all (1 to 38).
        precision: u8,
        /// Digits after the point (0 to `precision`).
        scale: i8,
    },
    /// `Date32` (days since 1970-01-01; `i32::MAX` / `i32::MIN` are ±infinity).
    Date32,
    /// `Time64(µs)`.
    Time64,
    /// `Timestamp(µs, None)` (`i64::MAX` / `i64::MIN` are ±infinity).
    Timestamp,
    /// `Timestamp(µs, "+00:00")`: instants.
    TimestampTz,
    /// `Binary`.
    Binary,
    /// UUIDs ([`uuid_field`]).
    Uuid,
    /// JSON text ([`json_field`]).
    Json,
    /// `List` of the items' kind.
    List(Box<ColumnKind>),
}

impl ColumnKind {
    /// `Decimal128(precision, scale)` when Arrow holds it (precision 1 to 38, scale 0 to
    /// precision), else `Utf8` (the values' exact text).
    pub fn decimal(precision: Option<u16>, scale: Option<u16>) -> Self {
        match (precision, scale) {
            (Some(precision), Some(scale))
                if (1..=DECIMAL128_MAX_PRECISION).contains(&precision) && scale <= precision =>
            {
                match (u8::try_from(precision), i8::try_from(scale)) {
                    (Ok(precision), Ok(scale)) => Self::Decimal { precision, scale },
                    _ => Self::Utf8,
                }
            }
            _ => Self::Utf8,
        }
    }
}

/// One value decoded from the database, before it joins its column.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    /// SQL `NULL`.
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// An unsigned integer.
    UInt(u64),
    /// A single precision float.
    Float32(f32),
    /// A double precision float.
    Float64(f64),
    /// Text.
    Text(&'a str),
    /// Bytes (base64 in the JSON view).
    Bytes(&'a [u8]),
    /// An exact decimal: `mantissa × 10^-scale`.
    Decimal {
        /// The digits as an integer.
        mantissa: i128,
        /// Digits after the point.
        scale: i8,
    },
    /// Days since 1970-01-01 (`i32::MAX` / `i32::MIN`: ±infinity).
    Date(i32),
    /// Microseconds since midnight (below 24 h).
    Time(i64),
    /// Microseconds since 1970-01-01 00:00, no zone (`i64::MAX` / `i64::MIN`: ±infinity).
    Timestamp(i64),
    /// Microseconds since 1970-01-01 00:00 UTC (`i64::MAX` / `i64::MIN`: ±infinity).
    TimestampTz(i64),
    /// A UUID's 16 bytes.
    Uuid(&'a [u8; 16]),
    /// Valid JSON text.
    Json(&'a str),
}

/// 10^`exponent` for exponents up to 38.
fn power_of_ten(exponent: u8) -> Option<i128> {
    10i128.checked_pow(u32::from(exponent))
}

/// Whether `mantissa` has at most `precision` digits.
fn fits_precision(mantissa: i128, precision: u8) -> bool {
    power_of_ten(precision).is_some_and(|limit| mantissa.unsigned_abs() < limit.unsigned_abs())
}

/// The builder of one column: a typed Arrow builder, or after a value its type could not
/// hold (see the [module documentation](self)) a `Utf8` or JSON one.
#[derive(Debug)]
pub enum ColumnBuilder {
    /// `Boolean`.
    Boolean(BooleanBuilder),
    /// `Int16`.
    Int16(Int16Builder),
    /// `Int32`.
    Int32(Int32Builder),
    /// `Int64`.
    Int64(Int64Builder),
    /// `UInt8`.
    UInt8(UInt8Builder),
    /// `UInt32`.
    UInt32(UInt32Builder),
    /// `UInt64`.
    UInt64(UInt64Builder),
    /// `Float32`.
    Float32(Float32Builder),
    /// `Float64`.
    Float64(Float64Builder),
    /// `Utf8`.
    Utf8(StringBuilder),
    /// `Decimal128`.
    Decimal {
        /// The values.
        builder: Decimal128Builder,
        /// The column's precision.
        precision: u8,
        /// The column's scale.
        scale: i8,
    },
    /// `Date32`.
    Date32(Date32Builder),
    /// `Time64(µs)`.
    Time64(Time64MicrosecondBuilder),
    /// `Timestamp(µs, None)`.
    Timestamp(TimestampMicrosecondBuilder),
    /// `Timestamp(µs, "+00:00")`.
    TimestampTz(TimestampMicrosecondBuilder),
    /// `Binary`.
    Binary(BinaryBuilder),
    /// UUIDs.
    Uuid(FixedSizeBinaryBuilder),
    /// JSON text (SQL `NULL` is the text `null`: every field is present in a read).
    Json(StringBuilder),
    /// `List`.
    List(Box<ListBuilder<ColumnBuilder>>),
}

impl ColumnBuilder {
    /// An empty builder of `kind` with room for `rows` values (and `bytes` bytes of text).
    pub fn new(kind: &ColumnKind, rows: usize, bytes: usize) -> Self {
        match kind {
            ColumnKind::Boolean => Self::Boolean(BooleanBuilder::with_capacity(rows)),
            ColumnKind::Int16 => Self::Int16(Int16Builder::with_capacity(rows)),
            ColumnKind::Int32 => Self::Int32(Int32Builder::with_capacity(rows)),
            ColumnKind::Int64 => Self::Int64(Int64Builder::with_capacity(rows)),
            ColumnKind::UInt8 => Self::UInt8(UInt8Builder::with_capacity(rows)),
            ColumnKind::UInt32 => Self::UInt32(UInt32Builder::with_capacity(rows)),
            ColumnKind::UInt64 => Self::UInt64(UInt64Builder::with_capacity(rows)),
            ColumnKind::Float32 => Self::Float32(Float32Builder::with_capacity(rows)),
            ColumnKind::Float64 => Self::Float64(Float64Builder::with_capacity(rows)),
            ColumnKind::Utf8 => Self::Utf8(StringBuilder::with_capacity(rows, bytes)),
            ColumnKind::Decimal { precision, scale } => {
                match Decimal128Builder::with_capacity(rows)
                    .with_precision_and_scale(*precision, *scale)
                {
                    Ok(builder) => Self::Decimal {
                        builder,
                        precision: *precision,
                        scale: *scale,
                    },
                    Err(_) => Self::Utf8(StringBuilder::with_capacity(rows, bytes)),
                }
            }
            ColumnKind::Date32 => Self::Date32(Date32Builder::with_capacity(rows)),
            ColumnKind::Time64 => Self::Time64(Time64MicrosecondBuilder::with_capacity(rows)),
            ColumnKind::Timestamp => {
                Self::Timestamp(TimestampMicrosecondBuilder::with_capacity(rows))
            }
            ColumnKind::TimestampTz => Self::TimestampTz(
                TimestampMicrosecondBuilder::with_capacity(rows).with_timezone(UTC),
            ),
            ColumnKind::Binary => Self::Binary(BinaryBuilder::with_capacity(rows, bytes)),
            ColumnKind::Uuid => Self::Uuid(FixedSizeBinaryBuilder::with_capacity(rows, 16)),
            ColumnKind::Json => Self::Json(StringBuilder::with_capacity(rows, bytes)),
            ColumnKind::List(items) => Self::List(Box::new(ListBuilder::with_capacity(
                Self::new(items, rows, bytes),
                rows,
            ))),
        }
    }

    /// The Arrow field of this column, named `name`.
    pub fn field(&self, name: &str) -> Field {
        match self {
            Self::Json(_) => json_field(name),
            Self::Uuid(_) => uuid_field(name, true),
            other => Field::new(name, other.data_type(), true),
        }
    }

    fn data_type(&self) -> DataType {
        match self {
            Self::Boolean(_) => DataType::Boolean,
            Self::Int16(_) => DataType::Int16,
            Self::Int32(_) => DataType::Int32,
            Self::Int64(_) => DataType::Int64,
            Self::UInt8(_) => DataType::UInt8,
            Self::UInt32(_) => DataType::UInt32,
            Self::UInt64(_) => DataType::UInt64,
            Self::Float32(_) => DataType::Float32,
            Self::Float64(_) => DataType::Float64,
            Self::Utf8(_) | Self::Json(_) => DataType::Utf8,
            Self::Decimal {
                precision, scale, ..
            } => DataType::Decimal128(*precision, *scale),
            Self::Date32(_) => DataType::Date32,
            Self::Time64(_) => DataType::Time64(TimeUnit::Microsecond),
            Self::Timestamp(_) => DataType::Timestamp(TimeUnit::Microsecond, None),
            Self::TimestampTz(_) => {
                DataType::Timestamp(TimeUnit::Microsecond, Some(Arc::from(UTC)))
            }
            Self::Binary(_) => DataType::Binary,
            Self::Uuid(_) => DataType::FixedSizeBinary(16),
            Self::List(list) => DataType::List(Arc::new(Field::new_list_field(
                list.values_ref().data_type(),
                true,
            ))),
        }
    }

    /// The item builder of a list column (`None` for other columns); a list value is
    /// its items appended there, then [`ColumnBuilder::end_list`].
    pub fn list_items(&mut self) -> Option<&mut ColumnBuilder> {
        match self {
            Self::List(list) => Some(list.values()),
            _ => None,
        }
    }

    /// Ends the list value whose items were appended to [`ColumnBuilder::list_items`].
    pub fn end_list(&mut self) {
        if let Self::List(list) = self {
            list.append(true);
        }
    }

    /// Appends SQL `NULL` (the text `null` in a JSON column).
    pub fn append_null(&mut self) {
        match self {
            Self::Boolean(b) => b.append_null(),
            Self::Int16(b) => b.append_null(),
            Self::Int32(b) => b.append_null(),
            Self::Int64(b) => b.append_null(),
            Self::UInt8(b) => b.append_null(),
            Self::UInt32(b) => b.append_null(),
            Self::UInt64(b) => b.append_null(),
            Self::Float32(b) => b.append_null(),
            Self::Float64(b) => b.append_null(),
            Self::Utf8(b) => b.append_null(),
            Self::Decimal { builder, .. } => builder.append_null(),
            Self::Date32(b) => b.append_null(),
            Self::Time64(b) => b.append_null(),
            Self::Timestamp(b) | Self::TimestampTz(b) => b.append_null(),
            Self::Binary(b) => b.append_null(),
            Self::Uuid(b) => b.append_null(),
            Self::Json(b) => b.append_value("null"),
            Self::List(b) => b.append_null(),
        }
    }

    /// Appends one value: into the column's own type when it holds the value exactly, else
    /// as its JSON view (see the [module documentation](self)).
    pub fn append(&mut self, cell: Cell<'_>) {
        if matches!(cell, Cell::Null) {
            self.append_null();
            return;
        }
        match (&mut *self, cell) {
            (Self::Boolean(b), Cell::Bool(v)) => b.append_value(v),
            (Self::Int16(b), Cell::Int(v)) if i16::try_from(v).is_ok() => b.append_value(v as i16),
            (Self::Int32(b), Cell::Int(v)) if i32::try_from(v).is_ok() => b.append_value(v as i32),
            (Self::Int64(b), Cell::Int(v)) => b.append_value(v),
            (Self::UInt8(b), Cell::UInt(v)) if u8::try_from(v).is_ok() => b.append_value(v as u8),
            (Self::UInt32(b), Cell::UInt(v)) if u32::try_from(v).is_ok() => {
                b.append_value(v as u32)
            }
            (Self::UInt64(b), Cell::UInt(v)) => b.append_value(v),
            (Self::Float32(b), Cell::Float32(v)) => b.append_value(v),
            (Self::Float64(b), Cell::Float64(v)) => b.append_value(v),
            (Self::Utf8(b), Cell::Text(v)) => b.append_value(v),
            (
                Self::Decimal {
                    builder,
                    precision,
                    scale,
                },
                Cell::Decimal {
                    mantissa,
                    scale: cell_scale,
                },
            ) if cell_scale == *scale && fits_precision(mantissa, *precision) => {
                builder.append_value(mantissa)
            }
            (Self::Date32(b), Cell::Date(v)) => b.append_value(v),
            (Self::Time64(b), Cell::Time(v)) if (0..86_400_000_000).contains(&v) => {
                b.append_value(v)
            }
            (Self::Timestamp(b), Cell::Timestamp(v)) => b.append_value(v),
            (Self::TimestampTz(b), Cell::TimestampTz(v)) => b.append_value(v),
            (Self::Binary(b), Cell::Bytes(v)) => b.append_value(v),
            (Self::Uuid(b), Cell::Uuid(v)) => {
                if b.append_value(v).is_err() {
                    // Sixteen bytes always fit a `FixedSizeBinary(16)`.
                    b.append_null();
                }
            }
            (Self::Json(b), Cell::Json(v)) => b.append_value(v),
            _ => self.append_as_json(cell),
        }
    }

    /// Appends a value the column's type cannot hold, as its JSON view.
    fn append_as_json(&mut self, cell: Cell<'_>) {
        let value = json_of(cell);
        match (&mut *self, value) {
            (Self::Utf8(b), Value::String(text)) => b.append_value(text),
            (Self::Json(b), value) => b.append_value(value.to_string()),
            (this, Value::String(text)) if this.reads_as_strings() => {
                this.change_to(Self::Utf8(StringBuilder::new()));
                if let Self::Utf8(b) = this {
                    b.append_value(text);
                }
            }
            (this, value) => {
                this.change_to(Self::Json(StringBuilder::new()));
                if let Self::Json(b) = this {
                    b.append_value(value.to_string());
                }
            }
        }
    }

    /// Whether every value of this column reads as a JSON string (or null).
    fn reads_as_strings(&self) -> bool {
        matches!(
            self,
            Self::Utf8(_)
                | Self::Decimal { .. }
                | Self::Date32(_)
                | Self::Time64(_)
                | Self::Timestamp(_)
                | Self::TimestampTz(_)
                | Self::Binary(_)
                | Self::Uuid(_)
        )
    }

    /// Replaces this builder by `target` (a `Utf8` or JSON one), carrying over the JSON
    /// view of the values appended so far.
    fn change_to(&mut self, mut target: Self) {
        let field = self.field("value");
        let array = ArrayBuilder::finish(self);
        for row in 0..array.len() {
            match (&mut target, batch::cell(&field, array.as_ref(), row)) {
                (Self::Utf8(b), Some(Value::String(text))) => b.append_value(text),
                (Self::Utf8(b), _) => b.append_null(),
                (Self::Json(b), value) => b.append_value(value.unwrap_or(Value::Null).to_string()),
                _ => {}
            }
        }
        *self = target;
    }
}

/// The JSON view of `cell`: what a column of its own type reads it as.
pub fn json_of(cell: Cell<'_>) -> Value {
    let kind = match cell {
        Cell::Null => return Value::Null,
        Cell::Json(text) => {
            return serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()));
        }
        Cell::Text(text) => return Value::String(text.to_owned()),
        Cell::Bool(v) => return Value::Bool(v),
        Cell::Int(v) => return Value::from(v),
        Cell::UInt(v) => return Value::from(v),
        Cell::Decimal { mantissa, scale } => return Value::String(decimal_text(mantissa, scale)),
        Cell::Time(micros) => {
            return Value::String(match batch::time64(micros) {
                Some(time) => connector_sdk::text::format_time(time),
                None => micros.to_string(),
            });
        }
        Cell::Float32(_) => ColumnKind::Float32,
        Cell::Float64(_) => ColumnKind::Float64,
        Cell::Bytes(_) => ColumnKind::Binary,
        Cell::Date(_) => ColumnKind::Date32,
        Cell::Timestamp(_) => ColumnKind::Timestamp,
        Cell::TimestampTz(_) => ColumnKind::TimestampTz,
        Cell::Uuid(_) => ColumnKind::Uuid,
    };
    // A column of one value of the cell's own type (which always holds it).
    let mut single = ColumnBuilder::new(&kind, 1, 64);
    let field = single.field("value");
    single.append(cell);
    let array = ArrayBuilder::finish(&mut single);
    batch::value(&field, array.as_ref(), 0)
}

/// `mantissa × 10^-scale` as `Decimal128` columns read: exactly `scale` decimals
/// (`-0.05`, `12`).
pub fn decimal_text(mantissa: i128, scale: i8) -> String {
    let digits = mantissa.unsigned_abs().to_string();
    let sign = if mantissa < 0 { "-" } else { "" };
    match usize::try_from(scale) {
        Ok(0) => format!("{sign}{digits}"),
        Ok(scale) if digits.len() > scale => {
            let (whole, fraction) = digits.split_at(digits.len() - scale);
            format!("{sign}{whole}.{fraction}")
        }
        Ok(scale) => format!("{sign}0.{digits:0>scale$}"),
        Err(_) => format!(
            "{sign}{digits}{}",
            "0".repeat(usize::from(scale.unsigned_abs()))
        ),
    }
}

/// The mantissa of `text` as a `Decimal128` of `scale` reads it back: the text must be
/// exactly what [`decimal_text`] writes (`-`, digits without leading zeros, `scale`
/// decimals); `None` for anything else (which then stays text).
pub fn decimal_mantissa(text: &str, scale: i8) -> Option<i128> {
    let scale = usize::try_from(scale).ok()?;
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = match scale {
        0 => (digits, ""),
        _ => digits.split_once('.')?,
    };
    let canonical_whole = whole == "0" || !whole.starts_with('0');
    let all_digits = whole
        .bytes()
        .chain(fraction.bytes())
        .all(|b| b.is_ascii_digit());
    if fraction.len() != scale || whole.is_empty() || !canonical_whole || !all_digits {
        return None;
    }
    let mut mantissa: i128 = 0;
    for digit in whole.bytes().chain(fraction.bytes()) {
        mantissa = mantissa
            .checked_mul(10)?
            .checked_add(i128::from(digit - b'0'))?;
    }
    match (negative, mantissa) {
        (true, 0) => None,
        (true, mantissa) => Some(-mantissa),
        (false, mantissa) => Some(mantissa),
    }
}

/// A date as days since 1970-01-01.
pub fn date_days(date: chrono::NaiveDate) -> Option<i32> {
    use chrono::Datelike as _;
    /// 1970-01-01 counted from 0001-01-01 (day 1).
    const UNIX_EPOCH_FROM_CE: i32 = 719_163;
    date.num_days_from_ce().checked_sub(UNIX_EPOCH_FROM_CE)
}

/// A time of day as microseconds since midnight; `None` when it has nanoseconds (or a
/// leap second) a `Time64(µs)` cannot hold.
pub fn time_micros(time: chrono::NaiveTime) -> Option<i64> {
    use chrono::Timelike as _;
    let nanos = time.nanosecond();
    if nanos >= 1_000_000_000 || !nanos.is_multiple_of(1_000) {
        return None;
    }
    Some(i64::from(time.num_seconds_from_midnight()) * 1_000_000 + i64::from(nanos / 1_000))
}

/// A date and time as microseconds since 1970-01-01 00:00; `None` when it has
/// nanoseconds (or a leap second) a `Timestamp(µs)` cannot hold.
pub fn datetime_micros(at: chrono::NaiveDateTime) -> Option<i64> {
    time_micros(at.time())?;
    Some(at.and_utc().timestamp_micros())
}

impl ArrayBuilder for ColumnBuilder {
    fn len(&self) -> usize {
        match self {
            Self::Boolean(b) => b.len(),
            Self::Int16(b) => b.len(),
            Self::Int32(b) => b.len(),
            Self::Int64(b) => b.len(),
            Self::UInt8(b) => b.len(),
            Self::UInt32(b) => b.len(),
            Self::UInt64(b) => b.len(),
            Self::Float32(b) => b.len(),
            Self::Float64(b) => b.len(),
            Self::Utf8(b) | Self::Json(b) => b.len(),
            Self::Decimal { builder, .. } => builder.len(),
            Self::Date32(b) => b.len(),
            Self::Time64(b) => b.len(),
            Self::Timestamp(b) | Self::TimestampTz(b) => b.len(),
            Self::Binary(b) => b.len(),
            Self::Uuid(b) => b.len(),
            Self::List(b) => b.len(),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Self::Boolean(b) => Arc::new(b.finish()),
            Self::Int16(b) => Arc::new(b.finish()),
            Self::Int32(b) => Arc::new(b.finish()),
            Self::Int64(b) => Arc::new(b.finish()),
            Self::UInt8(b) => Arc::new(b.finish()),
            Self::UInt32(b) => Arc::new(b.finish()),
            Self::UInt64(b) => Arc::new(b.finish()),
            Self::Float32(b) => Arc::new(b.finish()),
            Self::Float64(b) => Arc::new(b.finish()),
            Self::Utf8(b) | Self::Json(b) => Arc::new(b.finish()),
            Self::Decimal { builder, .. } => Arc::new(builder.finish()),
            Self::Date32(b) => Arc::new(b.finish()),
            Self::Time64(b) => Arc::new(b.finish()),
            Self::Timestamp(b) | Self::TimestampTz(b) => Arc::new(b.finish()),
            Self::Binary(b) => Arc::new(b.finish()),
            Self::Uuid(b) => Arc::new(b.finish()),
            Self::List(b) => Arc::new(b.finish()),
        }
    }

    fn finish_cloned(&self) -> ArrayRef {
        match self {
            Self::Boolean(b) => Arc::new(b.finish_cloned()),
            Self::Int16(b) => Arc::new(b.finish_cloned()),
            Self::Int32(b) => Arc::new(b.finish_cloned()),
            Self::Int64(b) => Arc::new(b.finish_cloned()),
            Self::UInt8(b) => Arc::new(b.finish_cloned()),
            Self::UInt32(b) => Arc::new(b.finish_cloned()),
            Self::UInt64(b) => Arc::new(b.finish_cloned()),
            Self::Float32(b) => Arc::new(b.finish_cloned()),
            Self::Float64(b) => Arc::new(b.finish_cloned()),
            Self::Utf8(b) | Self::Json(b) => Arc::new(b.finish_cloned()),
            Self::Decimal { builder, .. } => Arc::new(builder.finish_cloned()),
            Self::Date32(b) => Arc::new(b.finish_cloned()),
            Self::Time64(b) => Arc::new(b.finish_cloned()),
            Self::Timestamp(b) | Self::TimestampTz(b) => Arc::new(b.finish_cloned()),
            Self::Binary(b) => Arc::new(b.finish_cloned()),
            Self::Uuid(b) => Arc::new(b.finish_cloned()),
            Self::List(b) => Arc::new(b.finish_cloned()),
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    fn into_box_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

/// The columns of one batch being decoded, row by row.
#[derive(Debug)]
pub struct BatchBuilder {
    names: Vec<String>,
    kinds: Vec<ColumnKind>,
    columns: Vec<ColumnBuilder>,
    /// The text bytes each column held in the last batch (the next one reserves as much).
    bytes: Vec<usize>,
    rows: usize,
    capacity: usize,
}

impl BatchBuilder {
    /// Columns `names` of `kinds`, with room for `capacity` rows per batch.
    pub fn new(columns: Vec<(String, ColumnKind)>, capacity: usize) -> Self {
        let capacity = capacity.clamp(1, 100_000);
        let (names, kinds): (Vec<String>, Vec<ColumnKind>) = columns.into_iter().unzip();
        let bytes = vec![capacity * 16; kinds.len()];
        let columns = kinds
            .iter()
            .zip(&bytes)
            .map(|(kind, bytes)| ColumnBuilder::new(kind, capacity, *bytes))
            .collect();
        Self {
            names,
            kinds,
            columns,
            bytes,
            rows: 0,
            capacity,
        }
    }

    /// The builder of column `index`.
    pub fn column(&mut self, index: usize) -> Option<&mut ColumnBuilder> {
        self.columns.get_mut(index)
    }

    /// The builders of every column, in order.
    pub fn columns(&mut self) -> &mut [ColumnBuilder] {
        &mut self.columns
    }

    /// Counts a row whose value every column has received.
    pub fn end_row(&mut self) {
        self.rows += 1;
    }

    /// How many rows the batch holds.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether the batch holds no row.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The rows decoded so far as a batch; the builders start over (from the declared
    /// types).
    pub fn finish(&mut self) -> Batch {
        let mut fields = Vec::with_capacity(self.columns.len());
        let mut arrays = Vec::with_capacity(self.columns.len());
        for (index, column) in self.columns.iter_mut().enumerate() {
            fields.push(column.field(&self.names[index]));
            let array = ArrayBuilder::finish(column);
            self.bytes[index] = text_bytes(array.as_ref());
            *column = ColumnBuilder::new(&self.kinds[index], self.capacity, self.bytes[index]);
            arrays.push(array);
        }
        let rows = std::mem::take(&mut self.rows);
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        match RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), arrays, &options) {
            Ok(columns) => Batch::new(columns),
            // Each column received one value per row, of its field's type.
            Err(_) => Batch::of_empty_records(rows),
        }
    }
}

/// The bytes of text a `Utf8` or `Binary` column holds (a capacity hint).
fn text_bytes(array: &dyn Array) -> usize {
    use connector_sdk::arrow_array::cast::AsArray as _;
    match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().values().len(),
        DataType::Binary => array.as_binary::<i32>().values().len(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use serde_json::json;

    use super::*;

    fn batch_of(kind: ColumnKind, cells: &[Cell<'_>]) -> (Batch, Vec<Value>) {
        let mut builder = BatchBuilder::new(vec![("c".into(), kind)], 4);
        for cell in cells {
            builder.column(0).unwrap().append(*cell);
            builder.end_row();
        }
        let batch = builder.finish();
        let values = batch
            .to_records()
            .into_iter()
            .map(|mut r| r.remove("c").unwrap_or(json!("<absent>")))
            .collect();
        (batch, values)
    }

    #[test]
    fn cells_of_the_column_type_stay_typed() {
        let uuid = [7u8; 16];
        let cases: Vec<(ColumnKind, Cell<'_>, DataType, Value)> = vec![
            (
                ColumnKind::Boolean,
                Cell::Bool(true),
                DataType::Boolean,
                json!(true),
            ),
            (ColumnKind::Int16, Cell::Int(-3), DataType::Int16, json!(-3)),
            (
                ColumnKind::UInt32,
                Cell::UInt(7),
                DataType::UInt32,
                json!(7),
            ),
            (
                ColumnKind::Float32,
                Cell::Float32(0.1),
                DataType::Float32,
                json!(f64::from(0.1f32)),
            ),
            (
                ColumnKind::Float64,
                Cell::Float64(f64::NAN),
                DataType::Float64,
                json!("NaN"),
            ),
            (
                ColumnKind::decimal(Some(12), Some(2)),
                Cell::Decimal {
                    mantissa: -5,
                    scale: 2,
                },
                DataType::Decimal128(12, 2),
                json!("-0.05"),
            ),
            (
                ColumnKind::Date32,
                Cell::Date(i32::MAX),
                DataType::Date32,
                json!("infinity"),
            ),
            (
                ColumnKind::Time64,
                Cell::Time(36_000_500_000),
                DataType::Time64(TimeUnit::Microsecond),
                json!("10:00:00.500"),
            ),
            (
                ColumnKind::TimestampTz,
                Cell::TimestampTz(0),
                DataType::Timestamp(TimeUnit::Microsecond, Some(Arc::from(UTC))),
                json!("1970-01-01T00:00:00Z"),
            ),
            (
                ColumnKind::Binary,
                Cell::Bytes(&[0, 255]),
                DataType::Binary,
                json!("AP8="),
            ),
            (
                ColumnKind::Uuid,
                Cell::Uuid(&uuid),
                DataType::FixedSizeBinary(16),
                json!("07070707-0707-0707-0707-070707070707"),
            ),
            (
                ColumnKind::Json,
                Cell::Json("{\"a\": [1]}"),
                DataType::Utf8,
                json!({"a": [1]}),
            ),
        ];
        for (kind, cell, data_type, expected) in cases {
            let (batch, values) = batch_of(kind.clone(), &[cell, Cell::Null]);
            assert_eq!(batch.schema().field(0).data_type(), &data_type, "{kind:?}");
            assert_eq!(values, vec![expected, Value::Null], "{kind:?}");
        }
    }

    #[test]
    fn cells_the_type_cannot_hold_turn_the_column_into_their_json_view() {
        // Strings stay strings: a decimal column meeting NaN becomes text.
        let (batch, values) = batch_of(
            ColumnKind::decimal(Some(12), Some(2)),
            &[
                Cell::Decimal {
                    mantissa: 1230,
                    scale: 2,
                },
                Cell::Null,
                Cell::Text("NaN"),
                Cell::Decimal {
                    mantissa: 1,
                    scale: 3,
                },
            ],
        );
        assert_eq!(batch.schema().field(0).data_type(), &DataType::Utf8);
        assert!(!batch::is_json(batch.schema().field(0)));
        assert_eq!(
            values,
            vec![json!("12.30"), Value::Null, json!("NaN"), json!("0.001")]
        );
        // Anything else: a JSON column.
        let (batch, values) = batch_of(
            ColumnKind::Int64,
            &[
                Cell::Int(1),
                Cell::Null,
                Cell::Float64(1.5),
                Cell::Text("x"),
                Cell::Bytes(b"\0"),
            ],
        );
        assert!(batch::is_json(batch.schema().field(0)));
        assert_eq!(
            values,
            vec![json!(1), Value::Null, json!(1.5), json!("x"), json!("AA==")]
        );
        // A time past midnight is kept as its number of microseconds, as a string.
        let (_, values) = batch_of(ColumnKind::Time64, &[Cell::Time(86_400_000_000)]);
        assert_eq!(values, vec![json!("86400000000")]);
        // The next batch starts from the declared type again.
        let mut builder = BatchBuilder::new(vec![("c".into(), ColumnKind::Int64)], 2);
        builder.column(0).unwrap().append(Cell::Text("x"));
        builder.end_row();
        assert!(batch::is_json(builder.finish().schema().field(0)));
        builder.column(0).unwrap().append(Cell::Int(2));
        builder.end_row();
        assert_eq!(
            builder.finish().schema().field(0).data_type(),
            &DataType::Int64
        );
    }

    #[test]
    fn lists_hold_their_items() {
        let mut builder = BatchBuilder::new(
            vec![("l".into(), ColumnKind::List(Box::new(ColumnKind::Utf8)))],
            2,
        );
        let column = builder.column(0).unwrap();
        let items = column.list_items().unwrap();
        items.append(Cell::Text("a"));
        items.append(Cell::Null);
        column.end_list();
        builder.end_row();
        builder.column(0).unwrap().append(Cell::Null);
        builder.end_row();
        let column = builder.column(0).unwrap();
        column.list_items().unwrap();
        column.end_list();
        builder.end_row();
        let records: Vec<Value> = builder
            .finish()
            .to_records()
            .into_iter()
            .map(Value::Object)
            .collect();
        assert_eq!(
            records,
            vec![
                json!({"l": ["a", null]}),
                json!({"l": null}),
                json!({"l": []})
            ]
        );
    }

    #[test]
    fn decimal_texts_and_mantissas_round_trip() {
        for (mantissa, scale, text) in [
            (1230, 2, "12.30"),
            (-5, 2, "-0.05"),
            (0, 2, "0.00"),
            (42, 0, "42"),
            (-1, 10, "-0.0000000001"),
            (i128::MAX / 10, 0, "17014118346046923173168730371588410572"),
        ] {
            assert_eq!(decimal_text(mantissa, scale), text);
            assert_eq!(decimal_mantissa(text, scale), Some(mantissa), "{text}");
        }
        assert_eq!(decimal_text(12, -2), "1200");
        for (text, scale) in [
            ("12.3", 2),
            ("012.30", 2),
            ("-0.00", 2),
            ("+1.00", 2),
            ("1e2", 0),
            (" 1", 0),
            ("12.30", 0),
            ("", 0),
            (".50", 2),
            ("1234567890123456789012345678901234567890", 0),
        ] {
            assert_eq!(decimal_mantissa(text, scale), None, "{text}");
        }
    }

    #[test]
    fn temporal_values_become_arrow_units() {
        let date = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(date_days(date(1970, 1, 1)), Some(0));
        assert_eq!(date_days(date(1969, 12, 31)), Some(-1));
        assert_eq!(date_days(date(2000, 1, 1)), Some(10_957));
        let time = chrono::NaiveTime::from_hms_micro_opt(10, 0, 0, 500_000).unwrap();
        assert_eq!(time_micros(time), Some(36_000_500_000));
        let nanos = chrono::NaiveTime::from_hms_nano_opt(10, 0, 0, 1).unwrap();
        assert_eq!(time_micros(nanos), None);
        assert_eq!(
            datetime_micros(date(1970, 1, 2).and_time(time)),
            Some(86_400_000_000 + 36_000_500_000)
        );
    }

    #[test]
    fn decimal_kinds_need_a_precision_arrow_holds() {
        assert_eq!(
            ColumnKind::decimal(Some(38), Some(10)),
            ColumnKind::Decimal {
                precision: 38,
                scale: 10
            }
        );
        for (precision, scale) in [
            (None, None),
            (Some(39), Some(2)),
            (Some(5), Some(6)),
            (Some(0), Some(0)),
        ] {
            assert_eq!(ColumnKind::decimal(precision, scale), ColumnKind::Utf8);
        }
    }
}
