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
    let digits: Vec<u16> = (0..ndigits)
        .map(|i| word(4 + i))
        .collect::<Result<_, _>>()?;
    let digit_at = |position: i32| -> u16 {
        // position: weight of the base-10,000 group (0 = units group).
        let index = weight - position;
        if index < 0 {
            return 0;
        }
        digits.get(index as usize).copied().unwrap_or(0)
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
                Some(value) => encode_copy_value(out, value, field_type)
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

fn encode_copy_value(
    out: &mut Vec<u8>,
    value: &Value,
    field_type: &FieldType,
) -> Result<(), String> {
    match (field_type, value) {
        (FieldType::Json, _) => {
            serde_json::to_writer(CopyEscaper(out), value).map_err(|e| e.to_string())
        }
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
        (FieldType::Unknown { .. } | FieldType::Object { .. }, _) => {
            serde_json::to_writer(CopyEscaper(out), value).map_err(|e| e.to_string())
        }
        _ => {
            field_type.check_value(value)?;
            match value {
                Value::String(text) => escape_into(out, text.as_bytes()),
                Value::Bool(true) => out.push(b't'),
                Value::Bool(false) => out.push(b'f'),
                Value::Number(number) => {
                    let _ = write!(out, "{number}");
                }
                other => {
                    serde_json::to_writer(CopyEscaper(out), other).map_err(|e| e.to_string())?
                }
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
}
