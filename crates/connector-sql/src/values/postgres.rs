//! PostgreSQL values: the result column kinds ([`PgKind`]), the binary `numeric` format
//! and the `COPY` text format.

use std::io::Write as _;

use connector_sdk::{FieldType, Record};
use serde_json::Value;

use super::decode_base64;

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

/// A binary `numeric`: `ndigits`, `weight`, `sign`, `dscale` (each 16 bits), then
/// `ndigits` base-10,000 digits.
struct NumericWire<'a> {
    weight: i32,
    sign: u16,
    dscale: usize,
    digits: &'a [u8],
}

/// The `sign` of a negative `numeric`.
const NUMERIC_NEGATIVE: u16 = 0x4000;

impl<'a> NumericWire<'a> {
    fn parse(bytes: &'a [u8]) -> Result<Self, String> {
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
        let digits = match sign {
            0xC000 | 0xD000 | 0xF000 => &[][..],
            _ => bytes
                .get(8..8 + ndigits * 2)
                .ok_or_else(|| "truncated numeric".to_owned())?,
        };
        Ok(Self {
            weight,
            sign,
            dscale,
            digits,
        })
    }

    /// The special value's text (`NaN`, `Infinity`, `-Infinity`).
    fn special(&self) -> Option<&'static str> {
        match self.sign {
            0xC000 => Some("NaN"),
            0xD000 => Some("Infinity"),
            0xF000 => Some("-Infinity"),
            _ => None,
        }
    }

    /// The base-10,000 digit of weight `position` (0 = units group).
    fn digit_at(&self, position: i32) -> u16 {
        let index = self.weight - position;
        let Ok(index) = usize::try_from(index) else {
            return 0;
        };
        match self.digits.get(index * 2..index * 2 + 2) {
            Some(pair) => u16::from_be_bytes([pair[0], pair[1]]),
            None => 0,
        }
    }
}

/// Decodes the binary wire format of `numeric` exactly, as PostgreSQL prints it: all
/// `dscale` decimals, `NaN` and the infinities by name, no sign on zero.
pub fn numeric_to_string(bytes: &[u8]) -> Result<String, String> {
    let mut out = String::new();
    numeric_text(bytes, &mut out)?;
    Ok(out)
}

/// [`numeric_to_string`] into `out` (cleared first).
pub fn numeric_text(bytes: &[u8], out: &mut String) -> Result<(), String> {
    out.clear();
    let wire = NumericWire::parse(bytes)?;
    if let Some(special) = wire.special() {
        out.push_str(special);
        return Ok(());
    }
    if wire.sign == NUMERIC_NEGATIVE {
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
    if wire.weight < 0 {
        out.push('0');
    } else {
        for position in (0..=wire.weight).rev() {
            push_group(out, wire.digit_at(position), position != wire.weight);
        }
    }
    if wire.dscale > 0 {
        out.push('.');
        let fraction_start = out.len();
        let mut position = -1;
        while out.len() - fraction_start < wire.dscale {
            push_group(out, wire.digit_at(position), true);
            position -= 1;
        }
        out.truncate(fraction_start + wire.dscale);
    }
    if out == "-0" || (out.starts_with("-0.") && out[3..].bytes().all(|b| b == b'0')) {
        out.remove(0);
    }
    Ok(())
}

/// A binary `numeric` as `(mantissa, scale)` with the digits [`numeric_to_string`] prints
/// (`12.30` is `(1230, 2)`); `None` for `NaN`, the infinities and values beyond 38 digits.
pub fn numeric_decimal(bytes: &[u8]) -> Result<Option<(i128, i8)>, String> {
    let wire = NumericWire::parse(bytes)?;
    let Ok(scale) = i8::try_from(wire.dscale) else {
        return Ok(None);
    };
    if wire.special().is_some() || scale > 38 {
        return Ok(None);
    }
    let mut mantissa: i128 = 0;
    let mut push = |digits: u16, count: u32| -> Option<()> {
        if digits > 9999 {
            return None;
        }
        mantissa = mantissa
            .checked_mul(10i128.pow(count))?
            .checked_add(i128::from(digits))?;
        Some(())
    };
    for position in (0..=wire.weight).rev() {
        if push(wire.digit_at(position), 4).is_none() {
            return Ok(None);
        }
    }
    let mut remaining = wire.dscale;
    let mut position = -1;
    while remaining > 0 {
        let take = remaining.min(4);
        let group = wire.digit_at(position);
        // The leading `take` of the group's four digits.
        let leading = group / 10u16.pow(4 - take as u32);
        if group > 9999 || push(leading, take as u32).is_none() {
            return Ok(None);
        }
        remaining -= take;
        position -= 1;
    }
    Ok(Some(match wire.sign {
        NUMERIC_NEGATIVE => (-mantissa, scale),
        _ => (mantissa, scale),
    }))
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

    #[test]
    fn numerics_decode_to_the_mantissa_of_their_text() {
        let cases = [
            numeric(0, 0, 0, 2, &[]),
            numeric(1, 0, 0, 0, &[42]),
            numeric(2, 1, 0, 0, &[1, 2]),
            numeric(3, 0, 0x4000, 6, &[12, 3456, 7800]),
            numeric(1, -1, 0, 4, &[5]),
            numeric(1, -2, 0, 8, &[12]),
            numeric(2, 1, 0, 2, &[1, 0]),
            numeric(1, 0, 0x4000, 2, &[0]),
            numeric(2, 0, 0, 2, &[12, 3456]),
            numeric(2, 0, 0, 3, &[12, 3456]),
            numeric(5, 4, 0, 0, &[1234, 5678, 9012, 3456, 7890]),
            numeric(9, 8, 0x4000, 2, &[9999; 9]),
        ];
        for bytes in cases {
            let text = numeric_to_string(&bytes).unwrap();
            let (mantissa, scale) = numeric_decimal(&bytes).unwrap().unwrap();
            assert_eq!(
                crate::columns::decimal_text(mantissa, scale),
                text,
                "{text}"
            );
        }
        for beyond in [
            numeric(0, 0, 0xC000, 0, &[]),
            numeric(0, 0, 0xD000, 0, &[]),
            numeric(11, 10, 0, 0, &[9999; 11]),
            numeric(1, 0, 0, 39, &[1]),
        ] {
            assert_eq!(numeric_decimal(&beyond).unwrap(), None);
        }
        assert!(numeric_decimal(&[0, 1]).is_err());
    }
}
