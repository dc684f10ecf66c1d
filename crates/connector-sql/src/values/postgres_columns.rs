//! PostgreSQL binary values decoded straight into Arrow column builders: the tuples of a
//! `COPY (SELECT ...) TO STDOUT (FORMAT binary)` stream ([`PgCopyReader`]) and the rows
//! of a query ([`PgRowReader`]), which carry the same binary encodings.
//!
//! | PostgreSQL | Arrow |
//! |---|---|
//! | `bool` | `Boolean` |
//! | `int2`, `int4`, `int8`, `oid` | `Int16`, `Int32`, `Int64`, `UInt32` |
//! | `float4`, `float8` | `Float32`, `Float64` |
//! | `numeric(p, s)` (p ≤ 38) | `Decimal128(p, s)` |
//! | `numeric` (no precision) | `Utf8`, the exact text |
//! | text types, unknown types | `Utf8` (unknown binary content as base64) |
//! | `date`, `time` | `Date32`, `Time64(µs)` |
//! | `timestamp`, `timestamptz` | `Timestamp(µs)`, `Timestamp(µs, "+00:00")` |
//! | `json`, `jsonb` | JSON text ([`connector_sdk::batch::json_field`]) |
//! | `bytea`, `uuid` | `Binary`, UUID ([`connector_sdk::batch::uuid_field`]) |
//! | `bool[]`, `int2[]`, `int4[]`, `int8[]`, `float8[]`, text arrays | `List` |
//!
//! PostgreSQL's `infinity` and `-infinity` are `i32::MAX` / `i32::MIN` (dates) and
//! `i64::MAX` / `i64::MIN` (timestamps). The JSON view of every batch is, value for value,
//! what the per-value decoder produced before batches were columnar (compared in the
//! tests below, on every type).

use std::collections::HashMap;

use connector_sdk::{Batch, FieldType};
use sqlx::postgres::{PgRow, PgValueFormat};
use sqlx::{Column as _, Row as _, TypeInfo as _, ValueRef as _};

use super::encode_base64;
use super::postgres::{PgKind, numeric_decimal, numeric_text};
use crate::columns::{BatchBuilder, Cell, ColumnBuilder, ColumnKind};

/// Days from 2000-01-01 (PostgreSQL's epoch) back to 1970-01-01.
const EPOCH_DAYS: i32 = 10_957;

/// Microseconds from 2000-01-01 back to 1970-01-01.
const EPOCH_MICROS: i64 = 946_684_800_000_000;

/// One result column and how its values are decoded.
#[derive(Debug, Clone)]
struct PgColumn {
    name: String,
    kind: PgKind,
    /// `jsonb` (a version byte before the text) rather than `json`.
    jsonb: bool,
    /// `numeric` with a precision Arrow holds: decoded as decimals.
    decimal: bool,
}

/// The Arrow kind of a result column of `kind`; `hint` is the catalog's type of the column
/// (the precision and scale of a `numeric`).
pub fn column_kind(kind: PgKind, hint: Option<&FieldType>) -> ColumnKind {
    let list = |items| ColumnKind::List(Box::new(items));
    match kind {
        PgKind::Bool => ColumnKind::Boolean,
        PgKind::I16 => ColumnKind::Int16,
        PgKind::I32 => ColumnKind::Int32,
        PgKind::I64 => ColumnKind::Int64,
        PgKind::Oid => ColumnKind::UInt32,
        PgKind::F32 => ColumnKind::Float32,
        PgKind::F64 => ColumnKind::Float64,
        PgKind::Numeric => match hint {
            Some(FieldType::Decimal { precision, scale }) => {
                ColumnKind::decimal(*precision, *scale)
            }
            _ => ColumnKind::Utf8,
        },
        PgKind::Text | PgKind::Other => ColumnKind::Utf8,
        PgKind::Date => ColumnKind::Date32,
        PgKind::Time => ColumnKind::Time64,
        PgKind::Timestamp => ColumnKind::Timestamp,
        PgKind::TimestampTz => ColumnKind::TimestampTz,
        PgKind::Json => ColumnKind::Json,
        PgKind::Bytes => ColumnKind::Binary,
        PgKind::Uuid => ColumnKind::Uuid,
        PgKind::BoolArray => list(ColumnKind::Boolean),
        PgKind::I16Array => list(ColumnKind::Int16),
        PgKind::I32Array => list(ColumnKind::Int32),
        PgKind::I64Array => list(ColumnKind::Int64),
        PgKind::F64Array => list(ColumnKind::Float64),
        PgKind::TextArray => list(ColumnKind::Utf8),
    }
}

/// The columns of a result set (name and driver type name, `INT4`, `JSONB`...) and the
/// batch builder they decode into.
fn columns<'a>(
    columns: impl IntoIterator<Item = (&'a str, &'a str)>,
    hints: &HashMap<String, FieldType>,
    batch_size: usize,
) -> (Vec<PgColumn>, BatchBuilder) {
    let mut decoded = Vec::new();
    let mut kinds = Vec::new();
    for (name, type_name) in columns {
        let kind = PgKind::from_type_name(type_name);
        let column_kind = column_kind(kind, hints.get(name));
        decoded.push(PgColumn {
            name: name.to_owned(),
            kind,
            jsonb: type_name == "JSONB",
            decimal: matches!(column_kind, ColumnKind::Decimal { .. }),
        });
        kinds.push((name.to_owned(), column_kind));
    }
    (decoded, BatchBuilder::new(kinds, batch_size))
}

fn fixed<const N: usize>(bytes: &[u8], what: &str) -> Result<[u8; N], String> {
    bytes
        .try_into()
        .map_err(|_| format!("{what} is not {N} bytes"))
}

fn utf8(bytes: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(bytes).map_err(|e| e.to_string())
}

/// Days since 2000-01-01 as days since 1970-01-01, checked to be a date chrono (and so
/// the JSON view) can show; `infinity` and `-infinity` as they are.
fn date(days: i32) -> Result<i32, String> {
    if days == i32::MAX || days == i32::MIN {
        return Ok(days);
    }
    days.checked_add(EPOCH_DAYS)
        .filter(|unix| connector_sdk::batch::date32(*unix).is_some())
        .ok_or_else(|| format!("date {days} is out of range"))
}

/// Microseconds since 2000-01-01 as microseconds since 1970-01-01, checked to be an
/// instant chrono can show; `infinity` and `-infinity` as they are.
fn timestamp(micros: i64) -> Result<i64, String> {
    if micros == i64::MAX || micros == i64::MIN {
        return Ok(micros);
    }
    micros
        .checked_add(EPOCH_MICROS)
        .filter(|unix| chrono::DateTime::from_timestamp_micros(*unix).is_some())
        .ok_or_else(|| format!("timestamp {micros} is out of range"))
}

/// Decodes one (non-null) scalar field of a column of `kind` into a cell; `decimal`: the
/// column holds decimals (else a `numeric` is its text). Text the cell needs is written
/// to `scratch`.
fn scalar<'a>(
    kind: PgKind,
    jsonb: bool,
    decimal: bool,
    bytes: &'a [u8],
    scratch: &'a mut String,
) -> Result<Cell<'a>, String> {
    Ok(match kind {
        PgKind::Bool => Cell::Bool(fixed::<1>(bytes, "bool")?[0] != 0),
        PgKind::I16 => Cell::Int(i16::from_be_bytes(fixed(bytes, "int2")?).into()),
        PgKind::I32 => Cell::Int(i32::from_be_bytes(fixed(bytes, "int4")?).into()),
        PgKind::I64 => Cell::Int(i64::from_be_bytes(fixed(bytes, "int8")?)),
        PgKind::Oid => Cell::UInt(u32::from_be_bytes(fixed(bytes, "oid")?).into()),
        PgKind::F32 => Cell::Float32(f32::from_be_bytes(fixed(bytes, "float4")?)),
        PgKind::F64 => Cell::Float64(f64::from_be_bytes(fixed(bytes, "float8")?)),
        PgKind::Numeric => match decimal.then(|| numeric_decimal(bytes)).transpose()? {
            Some(Some((mantissa, scale))) => Cell::Decimal { mantissa, scale },
            _ => {
                numeric_text(bytes, scratch)?;
                Cell::Text(scratch)
            }
        },
        PgKind::Text => Cell::Text(utf8(bytes)?),
        PgKind::Date => Cell::Date(date(i32::from_be_bytes(fixed(bytes, "date")?))?),
        PgKind::Time => {
            let micros = i64::from_be_bytes(fixed(bytes, "time")?);
            if !(0..86_400_000_000).contains(&micros) {
                return Err(format!("time {micros} is out of range"));
            }
            Cell::Time(micros)
        }
        PgKind::Timestamp => {
            Cell::Timestamp(timestamp(i64::from_be_bytes(fixed(bytes, "timestamp")?))?)
        }
        PgKind::TimestampTz => {
            Cell::TimestampTz(timestamp(i64::from_be_bytes(fixed(bytes, "timestamp")?))?)
        }
        PgKind::Json => {
            let text = match (jsonb, bytes.split_first()) {
                (false, _) => bytes,
                (true, Some((1, text))) => text,
                (true, _) => return Err("unsupported jsonb format version".into()),
            };
            serde_json::from_slice::<serde::de::IgnoredAny>(text).map_err(|e| e.to_string())?;
            Cell::Json(utf8(text)?)
        }
        PgKind::Bytes => Cell::Bytes(bytes),
        PgKind::Uuid => {
            Cell::Uuid(<&[u8; 16]>::try_from(bytes).map_err(|_| "uuid is not 16 bytes".to_owned())?)
        }
        PgKind::Other => match std::str::from_utf8(bytes) {
            Ok(text) => Cell::Text(text),
            Err(_) => {
                *scratch = encode_base64(bytes);
                Cell::Text(scratch)
            }
        },
        PgKind::BoolArray
        | PgKind::I16Array
        | PgKind::I32Array
        | PgKind::I64Array
        | PgKind::F64Array
        | PgKind::TextArray => return Err("an array is not a scalar".into()),
    })
}

/// The element kind of an array kind.
fn element_kind(kind: PgKind) -> Option<PgKind> {
    Some(match kind {
        PgKind::BoolArray => PgKind::Bool,
        PgKind::I16Array => PgKind::I16,
        PgKind::I32Array => PgKind::I32,
        PgKind::I64Array => PgKind::I64,
        PgKind::F64Array => PgKind::F64,
        PgKind::TextArray => PgKind::Text,
        _ => return None,
    })
}

/// Reads big-endian integers off a slice, failing on truncation.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let slice = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(slice)
    }

    fn i16(&mut self) -> Option<i16> {
        self.take(2).map(|b| i16::from_be_bytes([b[0], b[1]]))
    }

    fn i32(&mut self) -> Option<i32> {
        self.take(4)
            .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// Appends a one-dimensional array (`ndim`, flags, element type, length and lower bound,
/// then each element with its length) as a list value.
fn array(
    element: PgKind,
    bytes: &[u8],
    builder: &mut ColumnBuilder,
    scratch: &mut String,
) -> Result<(), String> {
    let mut reader = Reader { bytes, at: 0 };
    let truncated = || "truncated array".to_owned();
    let ndim = reader.i32().ok_or_else(truncated)?;
    let items = builder
        .list_items()
        .ok_or_else(|| "an array column without a list".to_owned())?;
    if ndim != 0 {
        if ndim != 1 {
            return Err(format!(
                "encountered an array of {ndim} dimensions; only one-dimensional arrays are supported"
            ));
        }
        let (_flags, _element_type) = (reader.i32(), reader.i32());
        let len = reader.i32().ok_or_else(truncated)?;
        let lower = reader.i32().ok_or_else(truncated)?;
        if lower != 1 {
            return Err(format!(
                "encountered an array with a lower bound of {lower} in the first dimension; only arrays starting at one are supported"
            ));
        }
        for _ in 0..len {
            let length = reader.i32().ok_or_else(truncated)?;
            match usize::try_from(length) {
                Err(_) => items.append_null(),
                Ok(length) => {
                    let item = reader.take(length).ok_or_else(truncated)?;
                    items.append(scalar(element, false, false, item, scratch)?);
                }
            }
        }
    }
    builder.end_list();
    Ok(())
}

/// Appends one field (`None`: `NULL`) of `column` to `builder`.
fn append_field(
    column: &PgColumn,
    bytes: Option<&[u8]>,
    builder: &mut ColumnBuilder,
    scratch: &mut String,
) -> Result<(), String> {
    let result = match (bytes, element_kind(column.kind)) {
        (None, _) => {
            builder.append_null();
            Ok(())
        }
        (Some(bytes), Some(element)) => array(element, bytes, builder, scratch),
        (Some(bytes), None) => scalar(column.kind, column.jsonb, column.decimal, bytes, scratch)
            .map(|cell| builder.append(cell)),
    };
    result.map_err(|e| format!("column `{}`: {e}", column.name))
}

/// The signature opening a binary `COPY` stream.
const COPY_SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

/// Decodes the stream of a `COPY (SELECT ...) TO STDOUT (FORMAT binary)` into batches.
///
/// Fields carry the same binary encodings as the extended protocol's binary results, so
/// every column decodes to exactly what [`PgRowReader`] gives for the same `SELECT`. The
/// input may be cut anywhere: an incomplete tuple waits for the next chunk.
#[derive(Debug)]
pub struct PgCopyReader {
    columns: Vec<PgColumn>,
    batch: BatchBuilder,
    /// Bytes received and not yet decoded (from `at` on).
    pending: Vec<u8>,
    at: usize,
    header_done: bool,
    done: bool,
    scratch: String,
}

impl PgCopyReader {
    /// A reader of columns given by name and driver type name (`INT4`, `JSONB`, ...), in
    /// result order; `hints` are the catalog types by column name; batches of up to
    /// `batch_size` rows.
    pub fn new<'a>(
        columns: impl IntoIterator<Item = (&'a str, &'a str)>,
        hints: &HashMap<String, FieldType>,
        batch_size: usize,
    ) -> Self {
        let (columns, batch) = self::columns(columns, hints, batch_size);
        Self {
            columns,
            batch,
            pending: Vec::new(),
            at: 0,
            header_done: false,
            done: false,
            scratch: String::new(),
        }
    }

    /// Adds the next chunk of the stream.
    pub fn feed(&mut self, chunk: &[u8]) {
        if self.at > 0 {
            self.pending.drain(..self.at);
            self.at = 0;
        }
        self.pending.extend_from_slice(chunk);
    }

    /// Decodes the complete tuples received, until the batch holds `limit` rows; returns
    /// the number of rows in the batch.
    pub fn decode(&mut self, limit: usize) -> Result<usize, String> {
        let data = std::mem::take(&mut self.pending);
        let result = self.decode_from(&data, limit);
        self.pending = data;
        result.map(|()| self.batch.len())
    }

    /// The rows decoded so far, as a batch.
    pub fn take_batch(&mut self) -> Batch {
        self.batch.finish()
    }

    /// How many rows the current batch holds.
    pub fn rows(&self) -> usize {
        self.batch.len()
    }

    /// Checks that the stream ended with its trailer and nothing after it.
    pub fn finish(&self) -> Result<(), String> {
        if self.done && self.at == self.pending.len() {
            Ok(())
        } else {
            Err("the COPY stream ended early".into())
        }
    }

    fn decode_from(&mut self, data: &[u8], limit: usize) -> Result<(), String> {
        let mut reader = Reader {
            bytes: data,
            at: self.at,
        };
        if !self.header_done {
            let Some(signature) = reader.take(COPY_SIGNATURE.len()) else {
                return Ok(());
            };
            if signature != COPY_SIGNATURE {
                return Err("not a binary COPY stream".into());
            }
            let (Some(_flags), Some(extension)) = (reader.i32(), reader.i32()) else {
                return Ok(());
            };
            let extension = usize::try_from(extension).map_err(|_| "bad COPY header")?;
            if reader.take(extension).is_none() {
                return Ok(());
            }
            self.header_done = true;
            self.at = reader.at;
        }
        while self.batch.len() < limit {
            if self.done {
                if self.at < data.len() {
                    return Err("data after the end of the COPY stream".into());
                }
                return Ok(());
            }
            let Some(count) = reader.i16() else {
                return Ok(());
            };
            if count == -1 {
                self.done = true;
                self.at = reader.at;
                continue;
            }
            if usize::try_from(count).ok() != Some(self.columns.len()) {
                return Err(format!(
                    "a COPY tuple has {count} fields, {} expected",
                    self.columns.len()
                ));
            }
            // The whole tuple first: a tuple cut by the chunk waits for the next one.
            let fields = reader.at;
            for _ in 0..self.columns.len() {
                let Some(length) = reader.i32() else {
                    return Ok(());
                };
                if let Ok(length) = usize::try_from(length)
                    && reader.take(length).is_none()
                {
                    return Ok(());
                }
            }
            let end = reader.at;
            reader.at = fields;
            for (column, builder) in self.columns.iter().zip(self.batch.columns()) {
                let length = reader.i32().unwrap_or(-1);
                let bytes = match usize::try_from(length) {
                    Ok(length) => Some(reader.take(length).unwrap_or_default()),
                    Err(_) => None,
                };
                append_field(column, bytes, builder, &mut self.scratch)?;
            }
            self.batch.end_row();
            reader.at = end;
            self.at = end;
        }
        Ok(())
    }
}

/// Decodes the rows of a query (binary results) into batches.
#[derive(Debug)]
pub struct PgRowReader {
    columns: Vec<PgColumn>,
    batch: BatchBuilder,
    scratch: String,
}

impl PgRowReader {
    /// A reader of rows shaped like `row`; `hints` are the catalog types by column name.
    pub fn for_row(row: &PgRow, hints: &HashMap<String, FieldType>, batch_size: usize) -> Self {
        let (columns, batch) = columns(
            row.columns()
                .iter()
                .map(|c| (c.name(), c.type_info().name())),
            hints,
            batch_size,
        );
        Self {
            columns,
            batch,
            scratch: String::new(),
        }
    }

    /// Decodes one row; the error names the column.
    pub fn decode(&mut self, row: &PgRow) -> Result<(), String> {
        for (index, (column, builder)) in self.columns.iter().zip(self.batch.columns()).enumerate()
        {
            let raw = row
                .try_get_raw(index)
                .map_err(|e| format!("column `{}`: {e}", column.name))?;
            let bytes = match raw.is_null() {
                true => None,
                false if raw.format() == PgValueFormat::Text => {
                    return Err(format!(
                        "column `{}`: a value in the text format",
                        column.name
                    ));
                }
                false => Some(
                    raw.as_bytes()
                        .map_err(|e| format!("column `{}`: {e}", column.name))?,
                ),
            };
            append_field(column, bytes, builder, &mut self.scratch)?;
        }
        self.batch.end_row();
        Ok(())
    }

    /// How many rows the current batch holds.
    pub fn rows(&self) -> usize {
        self.batch.len()
    }

    /// The rows decoded so far, as a batch.
    pub fn take_batch(&mut self) -> Batch {
        self.batch.finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use connector_sdk::Record;
    use connector_sdk::arrow_schema::DataType;
    use serde_json::json;
    use sqlx::{Column as _, Executor as _, Statement as _, TypeInfo as _};

    use super::*;
    use crate::values::postgres_reference::{PgCopyDecoder, decode_binary};

    fn numeric(ndigits: u16, weight: i16, sign: u16, dscale: u16, digits: &[u16]) -> Vec<u8> {
        let mut bytes = Vec::new();
        for word in [ndigits, weight as u16, sign, dscale] {
            bytes.extend_from_slice(&word.to_be_bytes());
        }
        for d in digits {
            bytes.extend_from_slice(&d.to_be_bytes());
        }
        bytes
    }

    /// A binary `COPY` stream of `rows` (each field `None` for NULL or its bytes).
    fn copy_stream(rows: &[Vec<Option<Vec<u8>>>]) -> Vec<u8> {
        let mut out = COPY_SIGNATURE.to_vec();
        out.extend_from_slice(&0i32.to_be_bytes());
        out.extend_from_slice(&0i32.to_be_bytes());
        for row in rows {
            out.extend_from_slice(&(row.len() as i16).to_be_bytes());
            for field in row {
                match field {
                    None => out.extend_from_slice(&(-1i32).to_be_bytes()),
                    Some(bytes) => {
                        out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
                        out.extend_from_slice(bytes);
                    }
                }
            }
        }
        out.extend_from_slice(&(-1i16).to_be_bytes());
        out
    }

    fn array_of(element_oid: i32, items: &[Option<Vec<u8>>]) -> Vec<u8> {
        let mut out = Vec::new();
        for word in [1i32, 1, element_oid, items.len() as i32, 1] {
            out.extend_from_slice(&word.to_be_bytes());
        }
        for item in items {
            match item {
                None => out.extend_from_slice(&(-1i32).to_be_bytes()),
                Some(bytes) => {
                    out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
                    out.extend_from_slice(bytes);
                }
            }
        }
        out
    }

    const COLUMNS: [(&str, &str); 6] = [
        ("id", "INT4"),
        ("txt", "TEXT"),
        ("amount", "NUMERIC"),
        ("at", "TIMESTAMPTZ"),
        ("doc", "JSONB"),
        ("words", "TEXT[]"),
    ];

    fn hints(pairs: &[(&str, FieldType)]) -> HashMap<String, FieldType> {
        pairs
            .iter()
            .map(|(name, t)| ((*name).to_owned(), t.clone()))
            .collect()
    }

    /// Decodes `stream` fed in chunks of `cut` bytes into batches of `batch_size`.
    fn read(
        columns: &[(&str, &str)],
        hints: &HashMap<String, FieldType>,
        stream: &[u8],
        cut: usize,
        batch_size: usize,
    ) -> Result<Vec<Batch>, String> {
        let mut reader = PgCopyReader::new(columns.iter().copied(), hints, batch_size);
        let mut batches = Vec::new();
        for chunk in stream.chunks(cut.max(1)) {
            reader.feed(chunk);
            while reader.decode(batch_size)? >= batch_size {
                batches.push(reader.take_batch());
            }
        }
        if reader.rows() > 0 {
            batches.push(reader.take_batch());
        }
        reader.finish()?;
        Ok(batches)
    }

    fn records(batches: &[Batch]) -> Vec<Record> {
        batches.iter().flat_map(Batch::to_records).collect()
    }

    /// What the per-value decoder made of the same stream.
    fn reference(columns: &[(&str, &str)], stream: &[u8]) -> Vec<Record> {
        let mut decoder = PgCopyDecoder::new(columns.iter().copied());
        let mut records = Vec::new();
        decoder.feed(stream, &mut records).unwrap();
        decoder.finish().unwrap();
        records
    }

    #[test]
    fn binary_copy_streams_decode_in_any_cut() {
        let text = "tab\there\nnew \\ 'q' \"d\" grüße 🚀";
        let micros: i64 = 761_097_599_123_456; // 2024-02-12T23:59:59.123456Z
        let mut jsonb = vec![1u8];
        jsonb.extend_from_slice(br#"{"a": "x\ty", "n": [1, 2.5, null]}"#);
        let words = array_of(25, &[Some(b"a".to_vec()), None, Some(b"b,c".to_vec())]);
        let stream = copy_stream(&[
            vec![
                Some(7i32.to_be_bytes().to_vec()),
                Some(text.as_bytes().to_vec()),
                Some(numeric(3, 0, 0x4000, 6, &[12, 3456, 7800])),
                Some(micros.to_be_bytes().to_vec()),
                Some(jsonb),
                Some(words),
            ],
            vec![
                None,
                None,
                None,
                Some(i64::MAX.to_be_bytes().to_vec()),
                None,
                None,
            ],
        ]);
        let expected: Vec<Record> = [
            json!({"id": 7, "txt": text, "amount": "-12.345678", "at": "2024-02-12T23:59:59.123456Z",
                   "doc": {"a": "x\ty", "n": [1, 2.5, null]}, "words": ["a", null, "b,c"]}),
            json!({"id": null, "txt": null, "amount": null, "at": "infinity", "doc": null, "words": null}),
        ]
        .into_iter()
        .map(|v| v.as_object().unwrap().clone())
        .collect();
        assert_eq!(reference(&COLUMNS, &stream), expected);
        for cut in [1, 2, 3, 7, 64, stream.len()] {
            for batch_size in [1, 2, 10] {
                let batches = read(&COLUMNS, &HashMap::new(), &stream, cut, batch_size).unwrap();
                assert_eq!(batches.len(), 2usize.div_ceil(batch_size));
                assert_eq!(records(&batches), expected, "chunks of {cut} bytes");
            }
        }
        let batch = &read(&COLUMNS, &HashMap::new(), &stream, 64, 10).unwrap()[0];
        let types: Vec<DataType> = batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        assert_eq!(types[0], DataType::Int32);
        assert_eq!(types[2], DataType::Utf8, "numeric without precision: text");
        assert!(connector_sdk::batch::is_json(batch.schema().field(4)));
        assert!(matches!(types[5], DataType::List(_)));
    }

    #[test]
    fn truncated_or_malformed_copy_streams_are_errors() {
        let stream = copy_stream(&[vec![None, None, None, None, None, None]]);
        let no_hints = HashMap::new();
        let mut reader = PgCopyReader::new(COLUMNS, &no_hints, 10);
        reader.feed(&stream[..stream.len() - 2]);
        assert_eq!(reader.decode(10).unwrap(), 1);
        assert!(reader.finish().is_err(), "no trailer");

        let wrong_width = copy_stream(&[vec![None]]);
        let err = read(&COLUMNS, &no_hints, &wrong_width, 100, 10).unwrap_err();
        assert!(err.contains("1 fields, 6 expected"), "{err}");

        let bad_int = copy_stream(&[vec![Some(vec![1, 2]), None, None, None, None, None]]);
        let err = read(&COLUMNS, &no_hints, &bad_int, 100, 10).unwrap_err();
        assert!(err.contains("column `id`"), "{err}");

        assert!(read(&COLUMNS, &no_hints, b"PGCOPY\nxxxxxxxxxxxxxxxx", 100, 10).is_err());
        let mut trailing = stream.clone();
        trailing.push(0);
        assert!(read(&COLUMNS, &no_hints, &trailing, 100, 10).is_err());
    }

    /// Field values of every kind, typical and extreme, in the binary format.
    fn samples(kind: PgKind) -> Vec<Vec<u8>> {
        let be16 = |v: i16| v.to_be_bytes().to_vec();
        let be32 = |v: i32| v.to_be_bytes().to_vec();
        let be64 = |v: i64| v.to_be_bytes().to_vec();
        let texts = ["", "plain", "tab\t\"q\" \\ grüße 🚀", "NULL"];
        match kind {
            PgKind::Bool => vec![vec![0], vec![1]],
            PgKind::I16 => vec![be16(0), be16(i16::MIN), be16(i16::MAX)],
            PgKind::I32 => vec![be32(-7), be32(i32::MIN), be32(i32::MAX)],
            PgKind::I64 => vec![be64(0), be64(i64::MIN), be64(i64::MAX), be64(1 << 53)],
            PgKind::Oid => vec![be32(0), be32(-1)],
            PgKind::F32 => [
                0.1f32,
                -0.0,
                f32::NAN,
                f32::INFINITY,
                f32::MIN_POSITIVE,
                3.4e38,
            ]
            .iter()
            .map(|f| f.to_be_bytes().to_vec())
            .collect(),
            PgKind::F64 => [0.1f64, -0.0, f64::NAN, f64::NEG_INFINITY, 1e-310, 1.5e300]
                .iter()
                .map(|f| f.to_be_bytes().to_vec())
                .collect(),
            PgKind::Numeric => vec![
                numeric(0, 0, 0, 0, &[]),
                numeric(0, 0, 0, 2, &[]),
                numeric(1, 0, 0, 2, &[12]),
                numeric(2, 0, 0x4000, 2, &[12, 3000]),
                numeric(1, -1, 0, 2, &[500]),
                numeric(1, -1, 0x4000, 2, &[500]),
                numeric(3, 2, 0, 2, &[9999, 9999, 9999]),
                numeric(3, 0, 0x4000, 6, &[12, 3456, 7800]),
                numeric(2, 0, 0, 10, &[1, 1234]),
                numeric(10, 9, 0, 0, &[9999; 10]),
                numeric(0, 0, 0xC000, 0, &[]),
                numeric(0, 0, 0xD000, 0, &[]),
                numeric(0, 0, 0xF000, 0, &[]),
            ],
            PgKind::Text | PgKind::Other => {
                let mut all: Vec<Vec<u8>> = texts.iter().map(|t| t.as_bytes().to_vec()).collect();
                all.push(vec![0xff, 0x00, 0x80]);
                if kind == PgKind::Text {
                    all.pop();
                }
                all
            }
            PgKind::Date => vec![
                be32(0),
                be32(-1),
                be32(-730_119),
                be32(3_000_000),
                be32(i32::MAX),
                be32(i32::MIN),
            ],
            PgKind::Time => vec![
                be64(0),
                be64(86_399_999_999),
                be64(36_000_500_000),
                be64(1_000),
            ],
            PgKind::Timestamp | PgKind::TimestampTz => vec![
                be64(0),
                be64(-1),
                be64(500_000),
                be64(761_097_599_123_456),
                be64(-63_082_281_600_000_000),
                be64(i64::MAX),
                be64(i64::MIN),
            ],
            PgKind::Json => vec![
                br#"{"b": 1, "a": [1, 2.5, "x\ty"]}"#.to_vec(),
                b"null".to_vec(),
                b"\"text\"".to_vec(),
                b"[1e100, -0.5, 18446744073709551615]".to_vec(),
            ],
            PgKind::Bytes => vec![vec![], vec![0, 1, 254, 255], b"plain".to_vec()],
            PgKind::Uuid => vec![(0..16).collect(), vec![0xff; 16]],
            PgKind::BoolArray => vec![array_of(16, &[Some(vec![1]), None, Some(vec![0])])],
            PgKind::I16Array => vec![array_of(21, &[Some(be16(-3)), None])],
            PgKind::I32Array => vec![array_of(23, &[Some(be32(i32::MAX))]), be32(0)],
            PgKind::I64Array => vec![array_of(20, &[None, Some(be64(i64::MIN))])],
            PgKind::F64Array => vec![array_of(
                701,
                &[Some(f64::NAN.to_be_bytes().to_vec()), Some(be64(0))],
            )],
            PgKind::TextArray => vec![array_of(
                25,
                &[Some(b"a,b".to_vec()), None, Some(Vec::new())],
            )],
        }
    }

    /// Every kind, every sample, in typed columns (numerics with and without precision):
    /// the batch's JSON view equals the per-value decoder's records.
    #[test]
    fn every_type_reads_as_the_per_value_decoder_read_it() {
        let kinds = [
            ("BOOL", PgKind::Bool),
            ("INT2", PgKind::I16),
            ("INT4", PgKind::I32),
            ("INT8", PgKind::I64),
            ("OID", PgKind::Oid),
            ("FLOAT4", PgKind::F32),
            ("FLOAT8", PgKind::F64),
            ("NUMERIC", PgKind::Numeric),
            ("TEXT", PgKind::Text),
            ("DATE", PgKind::Date),
            ("TIME", PgKind::Time),
            ("TIMESTAMP", PgKind::Timestamp),
            ("TIMESTAMPTZ", PgKind::TimestampTz),
            ("JSON", PgKind::Json),
            ("BYTEA", PgKind::Bytes),
            ("UUID", PgKind::Uuid),
            ("BOOL[]", PgKind::BoolArray),
            ("INT2[]", PgKind::I16Array),
            ("INT4[]", PgKind::I32Array),
            ("INT8[]", PgKind::I64Array),
            ("FLOAT8[]", PgKind::F64Array),
            ("TEXT[]", PgKind::TextArray),
            ("INTERVAL", PgKind::Other),
        ];
        let numeric_hints = [
            None,
            Some(FieldType::decimal(12, 2)),
            Some(FieldType::decimal(38, 0)),
            Some(FieldType::decimal(38, 10)),
        ];
        for (type_name, kind) in kinds {
            assert_eq!(PgKind::from_type_name(type_name), kind);
            let mut rows: Vec<Vec<Option<Vec<u8>>>> =
                samples(kind).into_iter().map(|s| vec![Some(s)]).collect();
            rows.insert(1, vec![None]);
            let stream = copy_stream(&rows);
            let columns = [("c", type_name)];
            let expected = reference(&columns, &stream);
            for hint in &numeric_hints {
                let hints = match hint {
                    Some(hint) if kind == PgKind::Numeric => hints(&[("c", hint.clone())]),
                    _ => HashMap::new(),
                };
                for batch_size in [1, 3, 100] {
                    let batches = read(&columns, &hints, &stream, 5, batch_size).unwrap();
                    assert_eq!(records(&batches), expected, "{type_name} {hint:?}");
                }
            }
        }
        // Values the per-value decoder refused are refused.
        let negative_time = copy_stream(&[vec![Some((-1i64).to_be_bytes().to_vec())]]);
        assert!(read(&[("c", "TIME")], &HashMap::new(), &negative_time, 100, 10).is_err());
        for (type_name, bytes) in [
            ("TIME", 86_400_000_000i64.to_be_bytes().to_vec()),
            ("DATE", 2_145_000_000i32.to_be_bytes().to_vec()),
            (
                "TIMESTAMP",
                9_000_000_000_000_000_000i64.to_be_bytes().to_vec(),
            ),
            ("JSON", b"{\"a\":".to_vec()),
            ("UUID", vec![1, 2]),
            ("TEXT", vec![0xff]),
        ] {
            let kind = PgKind::from_type_name(type_name);
            assert!(decode_binary(kind, false, &bytes).is_err(), "{type_name}");
            let stream = copy_stream(&[vec![Some(bytes)]]);
            let err = read(&[("c", type_name)], &HashMap::new(), &stream, 100, 10).unwrap_err();
            assert!(err.starts_with("column `c`: "), "{err}");
        }
    }

    #[test]
    fn numerics_with_a_precision_read_as_decimals_until_a_value_does_not_fit() {
        let hints = hints(&[("n", FieldType::decimal(12, 2))]);
        let columns = [("n", "NUMERIC")];
        let plain = copy_stream(&[
            vec![Some(numeric(1, 0, 0, 2, &[12]))],
            vec![Some(numeric(1, -1, 0x4000, 2, &[500]))],
        ]);
        let batches = read(&columns, &hints, &plain, 100, 10).unwrap();
        assert_eq!(
            batches[0].schema().field(0).data_type(),
            &DataType::Decimal128(12, 2)
        );
        assert_eq!(records(&batches), reference(&columns, &plain));
        let nan = copy_stream(&[
            vec![Some(numeric(1, 0, 0, 2, &[12]))],
            vec![Some(numeric(0, 0, 0xC000, 0, &[]))],
            vec![Some(numeric(1, 0, 0, 3, &[12]))],
        ]);
        let batches = read(&columns, &hints, &nan, 100, 10).unwrap();
        assert_eq!(batches[0].schema().field(0).data_type(), &DataType::Utf8);
        assert_eq!(records(&batches), reference(&columns, &nan));
    }

    const PG_TEST_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

    /// Values of every type as the server sends them in a binary `COPY`: the columnar
    /// reader and the per-value decoder agree on every one, in batches of any size.
    #[tokio::test]
    async fn a_live_binary_copy_reads_as_the_per_value_decoder_read_it() {
        let pool = sqlx::PgPool::connect(PG_TEST_URL).await.unwrap();
        let select = "SELECT * FROM (VALUES \
            (true, 1::int2, 2::int4, 3::int8, 4::oid, 0.1::float4, 0.1::float8, 12.5::numeric, \
             12.3::numeric(12,2), 1234567890123456789012345678.0123456789::numeric(38,10), \
             'grüße \t 🚀'::text, 'vc'::varchar(9), 'ch'::char(3), 'nm'::name, \
             '2024-02-29'::date, '23:59:59.999999'::time, '2024-02-29 08:00:00.5'::timestamp, \
             '2024-01-01 12:00:00+05:30'::timestamptz, '{\"b\": 1, \"a\": [1, 2.5]}'::json, \
             '{\"k\": {\"x\": null}, \"e\": \"🚀\"}'::jsonb, '\\x00ff'::bytea, \
             '0190f1b4-6d34-7c43-a0b4-3d1b5c6a7e8f'::uuid, ARRAY[true, NULL]::bool[], \
             ARRAY[1, NULL]::int2[], ARRAY[2]::int4[], ARRAY[]::int8[], ARRAY[0.25, 'NaN']::float8[], \
             ARRAY['a,b', NULL, '']::text[], '1 day 02:00'::interval), \
            (false, '-32768'::int2, '-2147483648'::int4, '-9223372036854775808'::int8, 0::oid, \
             'NaN'::float4, '-Infinity'::float8, 'NaN'::numeric, 'NaN'::numeric(12,2), \
             -0.0000000001::numeric(38,10), ''::text, ''::varchar(9), ''::char(3), ''::name, \
             'infinity'::date, '00:00'::time, '-infinity'::timestamp, '4713-01-01 00:00:00+00 BC'::timestamptz, \
             'null'::json, '[]'::jsonb, ''::bytea, '00000000-0000-0000-0000-000000000000'::uuid, \
             ARRAY[]::bool[], ARRAY[]::int2[], ARRAY[NULL]::int4[], ARRAY[9223372036854775807]::int8[], \
             ARRAY[]::float8[], ARRAY[]::text[], '-1 year'::interval), \
            (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
             NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL) \
            ) AS v(b, i2, i4, i8, o, f4, f8, n, n2, n38, t, vc, ch, nm, d, tm, ts, tz, j, jb, by, \
                   u, ab, ai2, ai4, ai8, af8, at, span)";
        let mut conn = pool.acquire().await.unwrap();
        let statement = (&mut *conn).prepare(select).await.unwrap();
        let names: Vec<(String, String)> = statement
            .columns()
            .iter()
            .map(|c| (c.name().to_owned(), c.type_info().name().to_owned()))
            .collect();
        let columns: Vec<(&str, &str)> = names
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        let mut stream = Vec::new();
        let mut copy = conn
            .copy_out_raw(&format!("COPY ({select}) TO STDOUT (FORMAT binary)"))
            .await
            .unwrap();
        while let Some(chunk) = futures::StreamExt::next(&mut copy).await {
            stream.extend_from_slice(&chunk.unwrap());
        }
        drop(copy);
        let expected = reference(&columns, &stream);
        assert_eq!(expected.len(), 3);
        assert_eq!(expected[0]["n2"], json!("12.30"));
        let hints = hints(&[
            ("n2", FieldType::decimal(12, 2)),
            ("n38", FieldType::decimal(38, 10)),
        ]);
        for batch_size in [1, 2, 3] {
            let batches = read(&columns, &hints, &stream, 37, batch_size).unwrap();
            assert_eq!(records(&batches), expected, "batches of {batch_size}");
        }
        let batch = &read(&columns, &hints, &stream, 1000, 1).unwrap()[0];
        assert_eq!(
            batch.column("n38").unwrap().0.data_type(),
            &DataType::Decimal128(38, 10)
        );
        // The same SELECT fetched as rows reads the same.
        let rows = sqlx::query(select).fetch_all(&pool).await.unwrap();
        let mut reader = PgRowReader::for_row(&rows[0], &hints, 10);
        for row in &rows {
            reader.decode(row).unwrap();
        }
        assert_eq!(reader.take_batch().to_records(), expected);
    }
}
