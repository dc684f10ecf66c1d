//! PostgreSQL values: row decoding (binary protocol) and the `COPY` text format.

use std::io::Write as _;

use connector_sdk::{FieldType, Record};
use serde_json::{Map, Value};
use sqlx::postgres::PgRow;
use sqlx::{Column as _, Row as _, TypeInfo as _, ValueRef as _};

use super::{
    decode_base64, encode_base64, format_date, format_time, format_timestamp, format_timestamp_tz,
    format_uuid, text_or_base64,
};

/// How one result column is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PgKind {
    /// `bool`.
    Bool,
    /// `int2`.
    I16,
    /// `int4`.
    I32,
    /// `int8`.
    I64,
    /// `oid`.
    Oid,
    /// `float4`.
    F32,
    /// `float8`.
    F64,
    /// `numeric`, decoded exactly to a string.
    Numeric,
    /// Text-like types.
    Text,
    /// `date`.
    Date,
    /// `time`.
    Time,
    /// `timestamp`.
    Timestamp,
    /// `timestamptz`.
    TimestampTz,
    /// `json` and `jsonb`.
    Json,
    /// `bytea`.
    Bytes,
    /// `uuid`.
    Uuid,
    /// `bool[]`.
    BoolArray,
    /// `int2[]`, `int4[]`, `int8[]`.
    I16Array,
    /// `int4[]`.
    I32Array,
    /// `int8[]`.
    I64Array,
    /// `float8[]`.
    F64Array,
    /// `text[]`, `varchar[]`.
    TextArray,
    /// Anything else: UTF-8 text of the wire value, or base64.
    Other,
}

impl PgKind {
    /// The decoder for a driver type name (`INT4`, `TIMESTAMPTZ`, `TEXT[]`).
    pub fn from_type_name(name: &str) -> Self {
        match name {
            "BOOL" => Self::Bool,
            "INT2" => Self::I16,
            "INT4" => Self::I32,
            "INT8" => Self::I64,
            "OID" => Self::Oid,
            "FLOAT4" => Self::F32,
            "FLOAT8" => Self::F64,
            "NUMERIC" => Self::Numeric,
            "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CHAR" | "CITEXT" | "UNKNOWN" => Self::Text,
            "DATE" => Self::Date,
            "TIME" => Self::Time,
            "TIMESTAMP" => Self::Timestamp,
            "TIMESTAMPTZ" => Self::TimestampTz,
            "JSON" | "JSONB" => Self::Json,
            "BYTEA" => Self::Bytes,
            "UUID" => Self::Uuid,
            "BOOL[]" => Self::BoolArray,
            "INT2[]" => Self::I16Array,
            "INT4[]" => Self::I32Array,
            "INT8[]" => Self::I64Array,
            "FLOAT8[]" => Self::F64Array,
            "TEXT[]" | "VARCHAR[]" | "BPCHAR[]" | "NAME[]" => Self::TextArray,
            _ => Self::Other,
        }
    }

    /// Whether a catalog type must be cast to `text` in a `SELECT` to be read (types the
    /// decoder does not know: intervals, network addresses, geometry, numeric arrays...).
    pub fn needs_text_cast(field_type: &FieldType) -> bool {
        match field_type {
            FieldType::Unknown { .. } => true,
            FieldType::Array { items } => !matches!(
                items.as_ref(),
                FieldType::Boolean | FieldType::Integer | FieldType::Number | FieldType::String
            ),
            _ => false,
        }
    }
}

/// Decodes the rows of one result set into records.
#[derive(Debug, Clone)]
pub struct PgRowDecoder {
    columns: Vec<(String, PgKind)>,
}

impl PgRowDecoder {
    /// A decoder for rows shaped like `row`.
    pub fn for_row(row: &PgRow) -> Self {
        let columns = row
            .columns()
            .iter()
            .map(|c| {
                (
                    c.name().to_owned(),
                    PgKind::from_type_name(c.type_info().name()),
                )
            })
            .collect();
        Self { columns }
    }

    /// Decodes one row; the error names the column.
    pub fn decode(&self, row: &PgRow) -> Result<Record, String> {
        let mut record = Map::new();
        for (index, (name, kind)) in self.columns.iter().enumerate() {
            let value =
                decode_value(row, index, *kind).map_err(|e| format!("column `{name}`: {e}"))?;
            record.insert(name.clone(), value);
        }
        Ok(record)
    }
}

type DecodeResult = Result<Value, Box<dyn std::error::Error + Send + Sync>>;

fn array<T>(values: Option<Vec<Option<T>>>, f: impl Fn(T) -> Value) -> Value {
    values.map_or(Value::Null, |items| {
        Value::Array(
            items
                .into_iter()
                .map(|i| i.map_or(Value::Null, &f))
                .collect(),
        )
    })
}

fn decode_value(row: &PgRow, index: usize, kind: PgKind) -> DecodeResult {
    use sqlx::Decode;
    type Pg = sqlx::Postgres;
    let raw = row.try_get_raw(index)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    Ok(match kind {
        PgKind::Bool => Value::from(<bool as Decode<Pg>>::decode(raw)?),
        PgKind::I16 => Value::from(<i16 as Decode<Pg>>::decode(raw)?),
        PgKind::I32 => Value::from(<i32 as Decode<Pg>>::decode(raw)?),
        PgKind::I64 => Value::from(<i64 as Decode<Pg>>::decode(raw)?),
        PgKind::Oid => {
            let bytes = raw.as_bytes()?;
            let array: [u8; 4] = bytes.try_into().map_err(|_| "oid is not 4 bytes")?;
            Value::from(u32::from_be_bytes(array))
        }
        PgKind::F32 => float(f64::from(<f32 as Decode<Pg>>::decode(raw)?)),
        PgKind::F64 => float(<f64 as Decode<Pg>>::decode(raw)?),
        PgKind::Numeric => Value::String(numeric_to_string(raw.as_bytes()?)?),
        PgKind::Text => Value::String(<String as Decode<Pg>>::decode(raw)?),
        PgKind::Date => Value::String(format_date(<chrono::NaiveDate as Decode<Pg>>::decode(raw)?)),
        PgKind::Time => Value::String(format_time(<chrono::NaiveTime as Decode<Pg>>::decode(raw)?)),
        PgKind::Timestamp => Value::String(format_timestamp(<chrono::NaiveDateTime as Decode<
            Pg,
        >>::decode(raw)?)),
        PgKind::TimestampTz => Value::String(format_timestamp_tz(
            <chrono::DateTime<chrono::Utc> as Decode<Pg>>::decode(raw)?,
        )),
        PgKind::Json => <serde_json::Value as Decode<Pg>>::decode(raw)?,
        PgKind::Bytes => Value::String(encode_base64(raw.as_bytes()?)),
        PgKind::Uuid => Value::String(format_uuid(raw.as_bytes()?).ok_or("uuid is not 16 bytes")?),
        PgKind::BoolArray => array(row.try_get_unchecked(index)?, |v: bool| Value::from(v)),
        PgKind::I16Array => array(row.try_get_unchecked(index)?, |v: i16| Value::from(v)),
        PgKind::I32Array => array(row.try_get_unchecked(index)?, |v: i32| Value::from(v)),
        PgKind::I64Array => array(row.try_get_unchecked(index)?, |v: i64| Value::from(v)),
        PgKind::F64Array => array(row.try_get_unchecked(index)?, float),
        PgKind::TextArray => array(row.try_get_unchecked(index)?, |v: String| Value::from(v)),
        PgKind::Other => text_or_base64(raw.as_bytes()?),
    })
}

/// A float as JSON; NaN and infinities (which JSON lacks) become strings.
fn float(value: f64) -> Value {
    serde_json::Number::from_f64(value)
        .map(Value::Number)
        .unwrap_or_else(|| Value::String(value.to_string()))
}

/// Decodes the binary wire format of `numeric` exactly: `ndigits`, `weight`, `sign`,
/// `dscale` (each 16 bits), then `ndigits` base-10,000 digits.
pub fn numeric_to_string(bytes: &[u8]) -> Result<String, String> {
    let word = |i: usize| -> Result<u16, String> {
        bytes
            .get(i * 2..i * 2 + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(|| "truncated numeric".to_owned())
    };
    let ndigits = usize::from(word(0)?);
    let weight = i32::from(word(1)? as i16);
    let sign = word(2)?;
    let dscale = usize::from(word(3)?);
    match sign {
        0xC000 => return Ok("NaN".into()),
        0xD000 => return Ok("Infinity".into()),
        0xF000 => return Ok("-Infinity".into()),
        _ => {}
    }
    if bytes.len() < 8 + ndigits * 2 {
        return Err("truncated numeric".into());
    }
    let digits = &bytes[8..8 + ndigits * 2];
    let digit_at = |position: i32| -> u16 {
        // position: weight of the base-10,000 group (0 = units group).
        let index = weight - position;
        if index < 0 || index as usize >= ndigits {
            return 0;
        }
        let i = index as usize * 2;
        u16::from_be_bytes([digits[i], digits[i + 1]])
    };
    let mut out = String::with_capacity(ndigits * 4 + dscale + 2);
    if sign == 0x4000 {
        out.push('-');
    }
    let push_group = |out: &mut String, group: u16, pad: bool| {
        let digits = [group / 1000, group / 100 % 10, group / 10 % 10, group % 10];
        let mut started = pad;
        for (i, d) in digits.iter().enumerate() {
            if started || *d != 0 || i == 3 {
                started = true;
                out.push(char::from(b'0' + (*d % 10) as u8));
            }
        }
    };
    if weight < 0 {
        out.push('0');
    } else {
        for position in (0..=weight).rev() {
            push_group(&mut out, digit_at(position), position != weight);
        }
    }
    if dscale > 0 {
        out.push('.');
        let fraction_start = out.len();
        let mut position = -1;
        while out.len() - fraction_start < dscale {
            push_group(&mut out, digit_at(position), true);
            position -= 1;
        }
        out.truncate(fraction_start + dscale);
    }
    if out == "-0" || (out.starts_with("-0.") && out[3..].bytes().all(|b| b == b'0')) {
        out.remove(0);
    }
    Ok(out)
}

/// Writes bytes into a `COPY` text buffer, escaping backslash, newline, carriage return
/// and tab.
pub struct CopyEscaper<'a>(pub &'a mut Vec<u8>);

impl std::io::Write for CopyEscaper<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        escape_into(self.0, buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn escape_into(out: &mut Vec<u8>, bytes: &[u8]) {
    let mut start = 0;
    for (i, b) in bytes.iter().enumerate() {
        let escaped: &[u8] = match b {
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(escaped);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Appends one record as a `COPY ... FROM STDIN` text-format line with `columns` (name and
/// type) in order; a missing field is `NULL`. On error (a value of the wrong shape) the
/// buffer is left as it was and the reason returned.
pub fn encode_copy_row(
    out: &mut Vec<u8>,
    record: &Record,
    columns: &[(&str, &FieldType)],
) -> Result<(), String> {
    encode_copy_row_with(out, record, columns, true)
}

/// [`encode_copy_row`] for a record whose values were already checked against their
/// column types (`check == false` skips that check).
pub fn encode_copy_row_with(
    out: &mut Vec<u8>,
    record: &Record,
    columns: &[(&str, &FieldType)],
    check: bool,
) -> Result<(), String> {
    let start = out.len();
    // Fast path: a record with exactly the columns, in the same (name) order, is encoded
    // by walking it instead of looking each column up.
    let in_order =
        record.len() == columns.len() && record.keys().zip(columns).all(|(k, (name, _))| k == name);
    let result = (|| {
        let mut values = record.values();
        for (index, (name, field_type)) in columns.iter().enumerate() {
            if index > 0 {
                out.push(b'\t');
            }
            let value = if in_order {
                values.next()
            } else {
                record.get(*name)
            };
            match value {
                None | Some(Value::Null) => out.extend_from_slice(b"\\N"),
                Some(value) => encode_copy_value(out, value, field_type, check)
                    .map_err(|e| format!("field `{name}`: {e}"))?,
            }
        }
        out.push(b'\n');
        Ok(())
    })();
    if result.is_err() {
        out.truncate(start);
    }
    result
}

/// Serializes `value` as JSON into a `COPY` text buffer. JSON text never holds a raw
/// newline, carriage return or tab (they are escaped inside strings), so only backslashes
/// need escaping, and most documents have none.
fn json_into(out: &mut Vec<u8>, value: &Value) -> Result<(), String> {
    let start = out.len();
    serde_json::to_writer(&mut *out, value).map_err(|e| e.to_string())?;
    if out[start..].contains(&b'\\') {
        let json = out.split_off(start);
        escape_into(out, &json);
    }
    Ok(())
}

fn encode_copy_value(
    out: &mut Vec<u8>,
    value: &Value,
    field_type: &FieldType,
    check: bool,
) -> Result<(), String> {
    match (field_type, value) {
        (FieldType::Json, _) => json_into(out, value),
        (FieldType::Bytes, Value::String(text)) => {
            let bytes = decode_base64(text)?;
            out.extend_from_slice(b"\\\\x");
            for b in bytes {
                let _ = write!(out, "{b:02x}");
            }
            Ok(())
        }
        (FieldType::Array { items }, Value::Array(values)) => {
            let mut literal = String::new();
            array_literal(&mut literal, values, items)?;
            escape_into(out, literal.as_bytes());
            Ok(())
        }
        (FieldType::Unknown { .. } | FieldType::Object { .. }, Value::String(text)) => {
            escape_into(out, text.as_bytes());
            Ok(())
        }
        (FieldType::Unknown { .. } | FieldType::Object { .. }, _) => json_into(out, value),
        _ => {
            if check {
                field_type.check_value(value)?;
            }
            match value {
                Value::String(text) => escape_into(out, text.as_bytes()),
                Value::Bool(true) => out.push(b't'),
                Value::Bool(false) => out.push(b'f'),
                Value::Number(number) => {
                    serde_json::to_writer(&mut *out, number).map_err(|e| e.to_string())?
                }
                other => json_into(out, other)?,
            }
            Ok(())
        }
    }
}

/// A PostgreSQL array literal (`{1,NULL,"a \"b\""}`) of JSON values.
fn array_literal(out: &mut String, values: &[Value], items: &FieldType) -> Result<(), String> {
    out.push('{');
    for (index, value) in values.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        match value {
            Value::Null => out.push_str("NULL"),
            Value::Array(inner) => array_literal(out, inner, items)?,
            other => {
                items
                    .check_value(other)
                    .map_err(|e| format!("item {index}: {e}"))?;
                let text = match (items, other) {
                    (FieldType::Bytes, Value::String(b64)) => {
                        let bytes = decode_base64(b64)?;
                        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                        format!("\\x{hex}")
                    }
                    (_, Value::String(s)) => s.clone(),
                    (_, Value::Bool(b)) => if *b { "t" } else { "f" }.to_owned(),
                    (_, other) => other.to_string(),
                };
                out.push('"');
                for c in text.chars() {
                    if c == '"' || c == '\\' {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push('"');
            }
        }
    }
    out.push('}');
    Ok(())
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
const COPY_SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

/// Decodes the stream of a `COPY (SELECT ...) TO STDOUT (FORMAT binary)` into records.
///
/// Fields carry the same binary encodings as the extended protocol's binary results, so
/// every column decodes to exactly what [`PgRowDecoder`] gives for the same `SELECT`
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
fn decode_binary(kind: PgKind, jsonb: bool, bytes: &[u8]) -> Result<Value, String> {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use serde_json::json;

    use super::*;

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

    #[test]
    fn numerics_decode_exactly() {
        let cases = [
            (numeric(0, 0, 0, 0, &[]), "0"),
            (numeric(0, 0, 0, 2, &[]), "0.00"),
            (numeric(1, 0, 0, 0, &[42]), "42"),
            (numeric(2, 1, 0, 0, &[1, 2]), "10002"),
            (numeric(3, 0, 0x4000, 6, &[12, 3456, 7800]), "-12.345678"),
            (numeric(1, -1, 0, 4, &[5]), "0.0005"),
            (numeric(1, -2, 0, 8, &[12]), "0.00000012"),
            (numeric(2, 1, 0, 2, &[1, 0]), "10000.00"),
            (
                numeric(5, 4, 0, 0, &[1234, 5678, 9012, 3456, 7890]),
                "12345678901234567890",
            ),
            (numeric(0, 0, 0xC000, 0, &[]), "NaN"),
        ];
        for (bytes, expected) in cases {
            assert_eq!(numeric_to_string(&bytes).unwrap(), expected);
        }
        assert!(numeric_to_string(&[0, 1]).is_err());
    }

    #[test]
    fn copy_rows_escape_and_type_values() {
        let record = json!({
            "id": 1,
            "name": "tab\there\nnew \\ line",
            "amount": "12.30",
            "doc": {"k": "v\n"},
            "blob": "AAH/",
            "tags": ["a", "b\"c", null],
            "flag": false
        });
        let record = record.as_object().unwrap().clone();
        let types = [
            ("id", FieldType::Integer),
            ("name", FieldType::String),
            ("amount", FieldType::decimal(10, 2)),
            ("doc", FieldType::Json),
            ("blob", FieldType::Bytes),
            ("tags", FieldType::array(FieldType::String)),
            ("flag", FieldType::Boolean),
            ("missing", FieldType::String),
        ];
        let columns: Vec<(&str, &FieldType)> = types.iter().map(|(n, t)| (*n, t)).collect();
        let mut out = Vec::new();
        encode_copy_row(&mut out, &record, &columns).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "1\ttab\\there\\nnew \\\\ line\t12.30\t{\"k\":\"v\\\\n\"}\t\\\\x0001ff\t{\"a\",\"b\\\\\"c\",NULL}\tf\t\\N\n"
        );
    }

    #[test]
    fn a_bad_value_leaves_the_buffer_untouched() {
        let mut out = b"before\n".to_vec();
        let record = json!({"id": "x"}).as_object().unwrap().clone();
        let types = [("id", FieldType::Integer)];
        let columns: Vec<(&str, &FieldType)> = types.iter().map(|(n, t)| (*n, t)).collect();
        let err = encode_copy_row(&mut out, &record, &columns).unwrap_err();
        assert!(err.contains("field `id`"), "{err}");
        assert_eq!(out, b"before\n");
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

    fn copy_decoder() -> PgCopyDecoder {
        PgCopyDecoder::new([
            ("id", "INT4"),
            ("txt", "TEXT"),
            ("amount", "NUMERIC"),
            ("at", "TIMESTAMPTZ"),
            ("doc", "JSONB"),
            ("words", "TEXT[]"),
        ])
    }

    fn text_array(items: &[Option<&str>]) -> Vec<u8> {
        let mut out = Vec::new();
        for word in [1i32, 1, 25, items.len() as i32, 1] {
            out.extend_from_slice(&word.to_be_bytes());
        }
        for item in items {
            match item {
                None => out.extend_from_slice(&(-1i32).to_be_bytes()),
                Some(text) => {
                    out.extend_from_slice(&(text.len() as i32).to_be_bytes());
                    out.extend_from_slice(text.as_bytes());
                }
            }
        }
        out
    }

    #[test]
    fn binary_copy_streams_decode_in_any_cut() {
        let text = "tab\there\nnew \\ 'q' \"d\" grüße 🚀";
        let micros: i64 = 761_097_599_123_456; // 2024-02-12T23:59:59.123456Z
        let mut jsonb = vec![1u8];
        jsonb.extend_from_slice(br#"{"a": "x\ty", "n": [1, 2.5, null]}"#);
        let stream = copy_stream(&[
            vec![
                Some(7i32.to_be_bytes().to_vec()),
                Some(text.as_bytes().to_vec()),
                Some(numeric(3, 0, 0x4000, 6, &[12, 3456, 7800])),
                Some(micros.to_be_bytes().to_vec()),
                Some(jsonb),
                Some(text_array(&[Some("a"), None, Some("b,c")])),
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
        let expected = vec![
            json!({"id": 7, "txt": text, "amount": "-12.345678", "at": "2024-02-12T23:59:59.123456Z",
                   "doc": {"a": "x\ty", "n": [1, 2.5, null]}, "words": ["a", null, "b,c"]}),
            json!({"id": null, "txt": null, "amount": null, "at": "infinity", "doc": null, "words": null}),
        ];
        for cut in [1, 2, 3, 7, 64, stream.len()] {
            let mut decoder = copy_decoder();
            let mut records = Vec::new();
            for chunk in stream.chunks(cut) {
                decoder.feed(chunk, &mut records).unwrap();
            }
            decoder.finish().unwrap();
            let records: Vec<Value> = records.into_iter().map(Value::Object).collect();
            assert_eq!(records, expected, "chunks of {cut} bytes");
        }
    }

    #[test]
    fn truncated_or_malformed_copy_streams_are_errors() {
        let stream = copy_stream(&[vec![None, None, None, None, None, None]]);
        let mut decoder = copy_decoder();
        let mut records = Vec::new();
        decoder
            .feed(&stream[..stream.len() - 2], &mut records)
            .unwrap();
        assert_eq!(records.len(), 1);
        assert!(decoder.finish().is_err(), "no trailer");

        let mut decoder = copy_decoder();
        let wrong_width = copy_stream(&[vec![None]]);
        let err = decoder.feed(&wrong_width, &mut records).unwrap_err();
        assert!(err.contains("1 fields, 6 expected"), "{err}");

        let mut decoder = copy_decoder();
        let bad_int = copy_stream(&[vec![Some(vec![1, 2]), None, None, None, None, None]]);
        let err = decoder.feed(&bad_int, &mut records).unwrap_err();
        assert!(err.contains("column `id`"), "{err}");

        let mut decoder = copy_decoder();
        assert!(
            decoder
                .feed(b"PGCOPY\nxxxxxxxxxxxxxxxx", &mut records)
                .is_err()
        );
    }

    #[test]
    fn binary_temporal_values_match_the_row_decoder() {
        let at = |kind, micros: i64| decode_binary(kind, false, &micros.to_be_bytes()).unwrap();
        assert_eq!(at(PgKind::TimestampTz, 0), json!("2000-01-01T00:00:00Z"));
        assert_eq!(
            at(PgKind::Timestamp, -1),
            json!("1999-12-31T23:59:59.999999")
        );
        assert_eq!(
            at(PgKind::Timestamp, 500_000),
            json!("2000-01-01T00:00:00.500")
        );
        assert_eq!(at(PgKind::Time, 86_399_000_000), json!("23:59:59"));
        assert_eq!(at(PgKind::TimestampTz, i64::MIN), json!("-infinity"));
        let day = |days: i32| decode_binary(PgKind::Date, false, &days.to_be_bytes()).unwrap();
        assert_eq!(day(-1), json!("1999-12-31"));
        assert_eq!(day(i32::MAX), json!("infinity"));
        let uuid: Vec<u8> = (0..16).collect();
        assert_eq!(
            decode_binary(PgKind::Uuid, false, &uuid).unwrap(),
            json!("00010203-0405-0607-0809-0a0b0c0d0e0f")
        );
        assert_eq!(
            decode_binary(PgKind::Json, false, b"[1,\"a\"]").unwrap(),
            json!([1, "a"])
        );
    }
}
