//! The per-value decoder PostgreSQL reads used before batches were columnar (binary
//! `COPY` stream -> JSON records), kept unchanged as the oracle the columnar decoder
//! ([`super::postgres_columns`]) is compared with: the JSON view of each batch must equal,
//! value for value, what this decoder produces.

use connector_sdk::Record;
use serde_json::{Map, Value};

use super::postgres::{PgKind, numeric_to_string};
use super::{
    encode_base64, format_date, format_time, format_timestamp, format_timestamp_tz, format_uuid,
    text_or_base64,
};

/// A float as JSON; NaN and infinities (which JSON lacks) become strings.
fn float(value: f64) -> Value {
    serde_json::Number::from_f64(value)
        .map(Value::Number)
        .unwrap_or_else(|| Value::String(value.to_string()))
}

/// One column of a binary `COPY` result: its name and how it is decoded.
#[derive(Debug, Clone)]
struct CopyColumn {
    name: String,
    kind: PgKind,
    /// `jsonb` (a version byte before the text) rather than `json`.
    jsonb: bool,
}

/// The signature opening a binary `COPY` stream.
pub const COPY_SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

/// Decodes the stream of a `COPY (SELECT ...) TO STDOUT (FORMAT binary)` into records.
///
/// Fields carry the same binary encodings as the extended protocol's binary results, so
/// every column decodes to exactly what the row decoder gave for the same `SELECT`
/// (numerics exact, timestamps with zone in UTC, JSON parsed). The input may be cut
/// anywhere: an incomplete tuple waits for the next chunk.
#[derive(Debug)]
pub struct PgCopyDecoder {
    columns: Vec<CopyColumn>,
    /// The order the fields are inserted into a record: names descending (a `BTreeMap`
    /// insert then compares the new key with one existing key only), equal names in
    /// column order (the last one wins, as in a row).
    insert_order: Vec<usize>,
    values: Vec<Value>,
    header_done: bool,
    done: bool,
    pending: Vec<u8>,
}

/// Reads big-endian integers off a slice, failing on truncation.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
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

impl PgCopyDecoder {
    /// A decoder for columns given by name and driver type name (`INT4`, `JSONB`, ...), in
    /// result order.
    pub fn new<'a>(columns: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let columns: Vec<CopyColumn> = columns
            .into_iter()
            .map(|(name, type_name)| CopyColumn {
                name: name.to_owned(),
                kind: PgKind::from_type_name(type_name),
                jsonb: type_name == "JSONB",
            })
            .collect();
        let mut insert_order: Vec<usize> = (0..columns.len()).collect();
        insert_order.sort_by(|a, b| columns[*b].name.cmp(&columns[*a].name).then(a.cmp(b)));
        Self {
            values: Vec::with_capacity(columns.len()),
            insert_order,
            columns,
            header_done: false,
            done: false,
            pending: Vec::new(),
        }
    }

    /// Decodes the complete tuples of `chunk` (after what is pending) into `out`.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<Record>) -> Result<(), String> {
        if self.pending.is_empty() {
            let used = self.parse(chunk, out)?;
            self.pending.extend_from_slice(&chunk[used..]);
        } else {
            let mut pending = std::mem::take(&mut self.pending);
            pending.extend_from_slice(chunk);
            let used = self.parse(&pending, out)?;
            pending.drain(..used);
            self.pending = pending;
        }
        Ok(())
    }

    /// Checks that the stream ended with its trailer and nothing after it.
    pub fn finish(&self) -> Result<(), String> {
        if self.done && self.pending.is_empty() {
            Ok(())
        } else {
            Err("the COPY stream ended early".into())
        }
    }

    /// Parses what is complete in `data`; returns the number of bytes consumed.
    fn parse(&mut self, data: &[u8], out: &mut Vec<Record>) -> Result<usize, String> {
        let mut cursor = Cursor { bytes: data, at: 0 };
        if !self.header_done {
            let Some(signature) = cursor.take(COPY_SIGNATURE.len()) else {
                return Ok(0);
            };
            if signature != COPY_SIGNATURE {
                return Err("not a binary COPY stream".into());
            }
            let (Some(_flags), Some(extension)) = (cursor.i32(), cursor.i32()) else {
                return Ok(0);
            };
            let extension = usize::try_from(extension).map_err(|_| "bad COPY header")?;
            if cursor.take(extension).is_none() {
                return Ok(0);
            }
            self.header_done = true;
        }
        loop {
            let start = cursor.at;
            if self.done {
                if start < data.len() {
                    return Err("data after the end of the COPY stream".into());
                }
                return Ok(start);
            }
            let Some(count) = cursor.i16() else {
                return Ok(start);
            };
            if count == -1 {
                self.done = true;
                continue;
            }
            if usize::try_from(count).ok() != Some(self.columns.len()) {
                return Err(format!(
                    "a COPY tuple has {count} fields, {} expected",
                    self.columns.len()
                ));
            }
            self.values.clear();
            for column in &self.columns {
                let Some(length) = cursor.i32() else {
                    return Ok(start);
                };
                let value = if length < 0 {
                    Value::Null
                } else {
                    let Some(bytes) = cursor.take(length as usize) else {
                        return Ok(start);
                    };
                    decode_binary(column.kind, column.jsonb, bytes)
                        .map_err(|e| format!("column `{}`: {e}", column.name))?
                };
                self.values.push(value);
            }
            let mut record = Map::new();
            for &index in &self.insert_order {
                let value = std::mem::take(&mut self.values[index]);
                record.insert(self.columns[index].name.clone(), value);
            }
            out.push(record);
        }
    }
}

fn fixed<const N: usize>(bytes: &[u8], what: &str) -> Result<[u8; N], String> {
    bytes
        .try_into()
        .map_err(|_| format!("{what} is not {N} bytes"))
}

/// Microseconds since 2000-01-01 00:00:00 (PostgreSQL's epoch) as a date and time; `None`
/// out of chrono's range (`infinity`).
fn pg_datetime(micros: i64) -> Option<chrono::NaiveDateTime> {
    const DAY: i64 = 86_400_000_000;
    let days = i32::try_from(micros.div_euclid(DAY)).ok()?;
    let rest = micros.rem_euclid(DAY);
    let date = pg_date(days)?;
    let time = chrono::NaiveTime::from_num_seconds_from_midnight_opt(
        (rest / 1_000_000) as u32,
        (rest % 1_000_000) as u32 * 1_000,
    )?;
    Some(date.and_time(time))
}

/// Days since 2000-01-01 as a date.
fn pg_date(days: i32) -> Option<chrono::NaiveDate> {
    /// 2000-01-01 counted from 0001-01-01 (day 1).
    const EPOCH_FROM_CE: i32 = 730_120;
    chrono::NaiveDate::from_num_days_from_ce_opt(days.checked_add(EPOCH_FROM_CE)?)
}

fn infinity(positive: bool) -> Value {
    Value::String(if positive { "infinity" } else { "-infinity" }.into())
}

/// Decodes one binary field (never `NULL`) of a column of `kind`.
pub fn decode_binary(kind: PgKind, jsonb: bool, bytes: &[u8]) -> Result<Value, String> {
    let utf8 = |bytes: &[u8]| {
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|e| e.to_string())
    };
    Ok(match kind {
        PgKind::Bool => Value::Bool(fixed::<1>(bytes, "bool")?[0] != 0),
        PgKind::I16 => Value::from(i16::from_be_bytes(fixed(bytes, "int2")?)),
        PgKind::I32 => Value::from(i32::from_be_bytes(fixed(bytes, "int4")?)),
        PgKind::I64 => Value::from(i64::from_be_bytes(fixed(bytes, "int8")?)),
        PgKind::Oid => Value::from(u32::from_be_bytes(fixed(bytes, "oid")?)),
        PgKind::F32 => float(f64::from(f32::from_be_bytes(fixed(bytes, "float4")?))),
        PgKind::F64 => float(f64::from_be_bytes(fixed(bytes, "float8")?)),
        PgKind::Numeric => Value::String(numeric_to_string(bytes)?),
        PgKind::Text => Value::String(utf8(bytes)?),
        PgKind::Date => {
            let days = i32::from_be_bytes(fixed(bytes, "date")?);
            match pg_date(days) {
                Some(date) => Value::String(format_date(date)),
                None if days == i32::MAX || days == i32::MIN => infinity(days > 0),
                None => return Err(format!("date {days} is out of range")),
            }
        }
        PgKind::Time => {
            let micros = i64::from_be_bytes(fixed(bytes, "time")?);
            let time = u32::try_from(micros / 1_000_000)
                .ok()
                .and_then(|secs| {
                    chrono::NaiveTime::from_num_seconds_from_midnight_opt(
                        secs,
                        (micros % 1_000_000) as u32 * 1_000,
                    )
                })
                .ok_or_else(|| format!("time {micros} is out of range"))?;
            Value::String(format_time(time))
        }
        PgKind::Timestamp | PgKind::TimestampTz => {
            let micros = i64::from_be_bytes(fixed(bytes, "timestamp")?);
            match pg_datetime(micros) {
                Some(at) if kind == PgKind::Timestamp => Value::String(format_timestamp(at)),
                Some(at) => Value::String(format_timestamp_tz(at.and_utc())),
                None if micros == i64::MAX || micros == i64::MIN => infinity(micros > 0),
                None => return Err(format!("timestamp {micros} is out of range")),
            }
        }
        PgKind::Json => {
            let text = match (jsonb, bytes.split_first()) {
                (false, _) => bytes,
                (true, Some((1, text))) => text,
                (true, _) => return Err("unsupported jsonb format version".into()),
            };
            serde_json::from_slice(text).map_err(|e| e.to_string())?
        }
        PgKind::Bytes => Value::String(encode_base64(bytes)),
        PgKind::Uuid => Value::String(format_uuid(bytes).ok_or("uuid is not 16 bytes")?),
        PgKind::BoolArray => {
            binary_array(bytes, |b| Ok(Value::Bool(fixed::<1>(b, "bool")?[0] != 0)))?
        }
        PgKind::I16Array => binary_array(bytes, |b| {
            Ok(Value::from(i16::from_be_bytes(fixed(b, "int2")?)))
        })?,
        PgKind::I32Array => binary_array(bytes, |b| {
            Ok(Value::from(i32::from_be_bytes(fixed(b, "int4")?)))
        })?,
        PgKind::I64Array => binary_array(bytes, |b| {
            Ok(Value::from(i64::from_be_bytes(fixed(b, "int8")?)))
        })?,
        PgKind::F64Array => binary_array(bytes, |b| {
            Ok(float(f64::from_be_bytes(fixed(b, "float8")?)))
        })?,
        PgKind::TextArray => binary_array(bytes, |b| utf8(b).map(Value::String))?,
        PgKind::Other => text_or_base64(bytes),
    })
}

/// A one-dimensional array in the binary format (`ndim`, flags, element type, length and
/// lower bound, then each element with its length), as the row decoder reads it.
fn binary_array(
    bytes: &[u8],
    element: impl Fn(&[u8]) -> Result<Value, String>,
) -> Result<Value, String> {
    let mut cursor = Cursor { bytes, at: 0 };
    let truncated = || "truncated array".to_owned();
    let ndim = cursor.i32().ok_or_else(truncated)?;
    if ndim == 0 {
        return Ok(Value::Array(Vec::new()));
    }
    if ndim != 1 {
        return Err(format!(
            "encountered an array of {ndim} dimensions; only one-dimensional arrays are supported"
        ));
    }
    let (_flags, _element_type) = (cursor.i32(), cursor.i32());
    let len = cursor.i32().ok_or_else(truncated)?;
    let lower = cursor.i32().ok_or_else(truncated)?;
    if lower != 1 {
        return Err(format!(
            "encountered an array with a lower bound of {lower} in the first dimension; only arrays starting at one are supported"
        ));
    }
    let len = usize::try_from(len).map_err(|_| format!("bad array length {len}"))?;
    let mut items = Vec::with_capacity(len.min(bytes.len() / 4));
    for _ in 0..len {
        let length = cursor.i32().ok_or_else(truncated)?;
        if length < 0 {
            items.push(Value::Null);
        } else {
            items.push(element(
                cursor.take(length as usize).ok_or_else(truncated)?,
            )?);
        }
    }
    Ok(Value::Array(items))
}
