//! PostgreSQL binary `COPY ... FROM STDIN (FORMAT binary)`: records encoded straight from
//! JSON into the server's binary wire format.
//!
//! In the text format the server parses every value (numerics digit by digit, timestamps
//! through its date-time parser); in the binary format it takes each field through the
//! column type's *receive* function, which only unpacks it. The encoder covers the common
//! column types ([`BinaryType::of`]): booleans, integers, floats, `numeric`, text types,
//! dates, times, timestamps, JSON, `uuid`, `bytea` and one-dimensional arrays of most of
//! them. A `COPY` carries one format for all its columns, so a group of rows with any other
//! column type (an enum, a domain, `interval`, ...) stays in the text format.
//!
//! The binary format must not change what is written nor what is refused, so the encoder
//! takes a value only when its binary form is certain to mean what its text form means to
//! the server: ISO 8601 dates and times, timestamps with zone that carry their offset,
//! integers within the column's range, decimals spelled without spaces. For anything else (a
//! timestamp without zone into `timestamptz`, which the server reads in its session time
//! zone; `today`; an integer out of range; a string with a NUL) it answers [`NotEncoded`],
//! and the writer lets the text format and the server judge the row as before.

use base64::Engine as _;
use connector_sdk::{FieldType, Record};
use serde_json::Value;

use crate::introspect::PgType;

/// The opening of a binary `COPY` stream: signature, flags (none) and an empty header
/// extension.
pub const COPY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// The end of a binary `COPY` stream (a field count of -1).
pub const COPY_TRAILER: &[u8] = &[0xff, 0xff];

/// A scalar type the encoder writes in binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scalar {
    /// `bool`.
    Bool,
    /// `int2`.
    Int2,
    /// `int4`.
    Int4,
    /// `int8`.
    Int8,
    /// `float4`.
    Float4,
    /// `float8`.
    Float8,
    /// `numeric` (any precision and scale: the server applies the column's).
    Numeric,
    /// `text`, `varchar`, `bpchar` and types received as `text` (`citext`).
    Text,
    /// `name` (received differently from text when too long).
    Name,
    /// `date`.
    Date,
    /// `time`.
    Time,
    /// `timestamp`.
    Timestamp,
    /// `timestamptz`.
    TimestampTz,
    /// `json`.
    Json,
    /// `jsonb`.
    Jsonb,
    /// `uuid`.
    Uuid,
    /// `bytea`.
    Bytea,
}

/// The binary encoding of one column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryType {
    /// A scalar.
    Scalar(Scalar),
    /// A one-dimensional array of scalars; the server checks the element type OID.
    Array {
        /// How each element is encoded.
        element: Scalar,
        /// The element type's OID.
        element_oid: u32,
    },
}

impl BinaryType {
    /// The binary encoding of a column of `pg_type` whose values are checked as
    /// `field_type`, when the encoder has one that reads the values as the text format
    /// does.
    pub fn of(field_type: &FieldType, pg_type: PgType) -> Option<Self> {
        match field_type {
            FieldType::Array { items } => {
                let element_oid = array_element_oid(pg_type.oid)?;
                // JSON elements are written as their text in an array literal (a string
                // item is taken as JSON text): left to the text format.
                let element = scalar(items, element_oid, false)
                    .filter(|s| !matches!(s, Scalar::Json | Scalar::Jsonb | Scalar::Name))?;
                Some(Self::Array {
                    element,
                    element_oid,
                })
            }
            _ => scalar(field_type, pg_type.oid, pg_type.text_like).map(Self::Scalar),
        }
    }
}

/// The scalar encoding of the built-in type `oid` (or of a type received as `text`), when
/// `field_type` is the common type the catalog maps it to.
fn scalar(field_type: &FieldType, oid: u32, text_like: bool) -> Option<Scalar> {
    let scalar = match oid {
        16 => Scalar::Bool,
        17 => Scalar::Bytea,
        19 => Scalar::Name,
        20 => Scalar::Int8,
        21 => Scalar::Int2,
        23 => Scalar::Int4,
        25 | 1042 | 1043 => Scalar::Text,
        114 => Scalar::Json,
        700 => Scalar::Float4,
        701 => Scalar::Float8,
        1082 => Scalar::Date,
        1083 => Scalar::Time,
        1114 => Scalar::Timestamp,
        1184 => Scalar::TimestampTz,
        1700 => Scalar::Numeric,
        2950 => Scalar::Uuid,
        3802 => Scalar::Jsonb,
        _ if text_like => Scalar::Text,
        _ => return None,
    };
    let fits = matches!(
        (field_type, scalar),
        (FieldType::Boolean, Scalar::Bool)
            | (
                FieldType::Integer,
                Scalar::Int2 | Scalar::Int4 | Scalar::Int8
            )
            | (FieldType::Number, Scalar::Float4 | Scalar::Float8)
            | (FieldType::Decimal { .. }, Scalar::Numeric)
            | (FieldType::String, Scalar::Text | Scalar::Name)
            | (FieldType::Date, Scalar::Date)
            | (FieldType::Time, Scalar::Time)
            | (FieldType::Timestamp, Scalar::Timestamp)
            | (FieldType::TimestampTz, Scalar::TimestampTz)
            | (FieldType::Json, Scalar::Json | Scalar::Jsonb)
            | (FieldType::Bytes, Scalar::Bytea)
            | (FieldType::Uuid, Scalar::Uuid)
    );
    fits.then_some(scalar)
}

/// The element type of the built-in array type `oid`.
fn array_element_oid(oid: u32) -> Option<u32> {
    Some(match oid {
        1000 => 16,   // bool[]
        1001 => 17,   // bytea[]
        1005 => 21,   // int2[]
        1007 => 23,   // int4[]
        1009 => 25,   // text[]
        1014 => 1042, // bpchar[]
        1015 => 1043, // varchar[]
        1016 => 20,   // int8[]
        1021 => 700,  // float4[]
        1022 => 701,  // float8[]
        1115 => 1114, // timestamp[]
        1182 => 1082, // date[]
        1183 => 1083, // time[]
        1185 => 1184, // timestamptz[]
        1231 => 1700, // numeric[]
        2951 => 2950, // uuid[]
        _ => return None,
    })
}

/// A value the binary encoder does not take: of the wrong shape, or one whose meaning only
/// the server's text parser knows. The caller decides which, through the text path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotEncoded;

type Encoded = Result<(), NotEncoded>;

/// Encodes records as tuples of a binary `COPY` with fixed columns.
#[derive(Debug)]
pub struct BinaryRowEncoder<'a> {
    columns: Vec<(&'a str, BinaryType)>,
    /// Holds a number's text while it is parsed.
    scratch: Vec<u8>,
}

impl<'a> BinaryRowEncoder<'a> {
    /// An encoder for `columns` (name and encoding) in `COPY` order.
    pub fn new(columns: Vec<(&'a str, BinaryType)>) -> Self {
        Self {
            columns,
            scratch: Vec::with_capacity(32),
        }
    }

    /// Appends `record` as one tuple (a missing field is `NULL`), then `ordinal` as a last
    /// `int8` field when given. On [`NotEncoded`] the buffer is left as it was.
    pub fn encode_row(
        &mut self,
        out: &mut Vec<u8>,
        record: &Record,
        ordinal: Option<i64>,
    ) -> Result<(), NotEncoded> {
        let start = out.len();
        let result = self.encode_fields(out, record, ordinal);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    fn encode_fields(
        &mut self,
        out: &mut Vec<u8>,
        record: &Record,
        ordinal: Option<i64>,
    ) -> Encoded {
        let fields = self.columns.len() + usize::from(ordinal.is_some());
        let fields = i16::try_from(fields).map_err(|_| NotEncoded)?;
        out.extend_from_slice(&fields.to_be_bytes());
        // A record with exactly the columns, in the same (name) order, is walked instead of
        // looking each column up (records of one group have the same fields).
        let in_order = record.len() == self.columns.len()
            && record
                .keys()
                .zip(&self.columns)
                .all(|(k, (name, _))| k == name);
        let mut values = record.values();
        for (name, binary_type) in &self.columns {
            let value = if in_order {
                values.next()
            } else {
                record.get(*name)
            };
            encode_field(out, *binary_type, value, &mut self.scratch)?;
        }
        if let Some(ordinal) = ordinal {
            out.extend_from_slice(&8i32.to_be_bytes());
            out.extend_from_slice(&ordinal.to_be_bytes());
        }
        Ok(())
    }
}

/// Appends one field of `binary_type` holding `value` (`None` or JSON `null`: `NULL`).
/// On [`NotEncoded`] the buffer may hold part of the field: the caller truncates.
pub fn encode_field(
    out: &mut Vec<u8>,
    binary_type: BinaryType,
    value: Option<&Value>,
    scratch: &mut Vec<u8>,
) -> Encoded {
    match (value, binary_type) {
        (None | Some(Value::Null), _) => {
            out.extend_from_slice(&NULL_FIELD);
            Ok(())
        }
        (Some(value), BinaryType::Scalar(scalar)) => encode_scalar(out, scalar, value, scratch),
        (
            Some(value),
            BinaryType::Array {
                element,
                element_oid,
            },
        ) => with_length(out, |out| {
            encode_array(out, element, element_oid, value, scratch)
        }),
    }
}

/// The field length of `NULL`.
pub const NULL_FIELD: [u8; 4] = (-1i32).to_be_bytes();

/// Appends a field written by `write` after its 32-bit length.
fn with_length(out: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>) -> Encoded) -> Encoded {
    let at = out.len();
    out.extend_from_slice(&[0; 4]);
    write(out)?;
    let length = i32::try_from(out.len() - at - 4).map_err(|_| NotEncoded)?;
    out[at..at + 4].copy_from_slice(&length.to_be_bytes());
    Ok(())
}

/// Appends a fixed-size field.
fn fixed(out: &mut Vec<u8>, bytes: &[u8]) -> Encoded {
    let length = i32::try_from(bytes.len()).map_err(|_| NotEncoded)?;
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(bytes);
    Ok(())
}

/// Appends one (non-null) value as a field of `scalar`.
fn encode_scalar(
    out: &mut Vec<u8>,
    scalar: Scalar,
    value: &Value,
    scratch: &mut Vec<u8>,
) -> Encoded {
    match (scalar, value) {
        (Scalar::Json, _) => with_length(out, |out| json(out, value)),
        (Scalar::Jsonb, _) => with_length(out, |out| {
            // The jsonb binary format: a version byte, then the JSON text.
            out.push(1);
            json(out, value)
        }),
        (_, Value::String(text)) => encode_str(out, scalar, text),
        (Scalar::Bool, Value::Bool(b)) => fixed(out, &[u8::from(*b)]),
        (Scalar::Int2 | Scalar::Int4 | Scalar::Int8, Value::Number(n)) => {
            encode_integer(out, scalar, i128::from(n.as_i64().ok_or(NotEncoded)?))
        }
        (Scalar::Float4, Value::Number(n)) => fixed(out, &float4(n, scratch)?.to_be_bytes()),
        (Scalar::Float8, Value::Number(n)) => fixed(out, &float8(n)?.to_be_bytes()),
        (Scalar::Numeric, Value::Number(n)) => {
            // The text the text format would send: the same serializer.
            scratch.clear();
            serde_json::to_writer(&mut *scratch, n).map_err(|_| NotEncoded)?;
            with_length(out, |out| encode_numeric(out, scratch))
        }
        _ => Err(NotEncoded),
    }
}

/// Appends an integer as a field of `scalar` (`int2`, `int4` or `int8`), when it is in
/// the column's range.
pub fn encode_integer(out: &mut Vec<u8>, scalar: Scalar, value: i128) -> Encoded {
    match scalar {
        Scalar::Int2 => fixed(
            out,
            &i16::try_from(value).map_err(|_| NotEncoded)?.to_be_bytes(),
        ),
        Scalar::Int4 => fixed(
            out,
            &i32::try_from(value).map_err(|_| NotEncoded)?.to_be_bytes(),
        ),
        Scalar::Int8 => fixed(
            out,
            &i64::try_from(value).map_err(|_| NotEncoded)?.to_be_bytes(),
        ),
        _ => Err(NotEncoded),
    }
}

/// Appends a string value as a field of `scalar`, as the server's text parser reads it
/// (see the [module documentation](self)).
pub fn encode_str(out: &mut Vec<u8>, scalar: Scalar, text: &str) -> Encoded {
    match scalar {
        Scalar::Numeric => with_length(out, |out| encode_numeric(out, text.as_bytes())),
        Scalar::Text => text_field(out, text),
        Scalar::Name if text.len() < 64 => text_field(out, text),
        Scalar::Date => fixed(out, &date(text.as_bytes())?.to_be_bytes()),
        Scalar::Time => {
            let (micros, []) = time(text.as_bytes())? else {
                return Err(NotEncoded);
            };
            fixed(out, &micros.to_be_bytes())
        }
        Scalar::Timestamp => fixed(out, &timestamp(text.as_bytes(), false)?.to_be_bytes()),
        Scalar::TimestampTz => fixed(out, &timestamp(text.as_bytes(), true)?.to_be_bytes()),
        Scalar::Json => with_length(out, |out| {
            serde_json::to_writer(&mut *out, text).map_err(|_| NotEncoded)
        }),
        Scalar::Jsonb => with_length(out, |out| {
            out.push(1);
            serde_json::to_writer(&mut *out, text).map_err(|_| NotEncoded)
        }),
        Scalar::Uuid => fixed(out, &uuid(text.as_bytes())?),
        Scalar::Bytea => with_length(out, |out| {
            // As `values::decode_base64` reads it: padding optional.
            base64::engine::general_purpose::STANDARD_NO_PAD
                .decode_vec(text.trim_end_matches('='), out)
                .map_err(|_| NotEncoded)
        }),
        Scalar::Bool
        | Scalar::Int2
        | Scalar::Int4
        | Scalar::Int8
        | Scalar::Float4
        | Scalar::Float8
        | Scalar::Name => Err(NotEncoded),
    }
}

/// Appends an exact decimal (`mantissa × 10^-scale`, `scale` at least 0) as a `numeric`
/// field, as its text with `scale` decimals reads.
pub fn encode_decimal(
    out: &mut Vec<u8>,
    mantissa: i128,
    scale: u8,
    scratch: &mut Vec<u8>,
) -> Encoded {
    use std::io::Write as _;
    scratch.clear();
    let digits = mantissa.unsigned_abs();
    let scale = usize::from(scale);
    if mantissa < 0 {
        scratch.push(b'-');
    }
    write!(scratch, "{digits:0>width$}", width = scale + 1).map_err(|_| NotEncoded)?;
    if scale > 0 {
        let point = scratch.len() - scale;
        scratch.insert(point, b'.');
    }
    with_length(out, |out| encode_numeric(out, scratch))
}

/// Appends `bytes` as one field (fixed-size values, `bytea`).
pub fn encode_bytes(out: &mut Vec<u8>, bytes: &[u8]) -> Encoded {
    fixed(out, bytes)
}

/// Appends text as a field, without a NUL (which the server refuses in both formats, with
/// messages of its own: left to the text format).
pub fn encode_text(out: &mut Vec<u8>, text: &str) -> Encoded {
    text_field(out, text)
}

/// Text as is; a NUL (which the server refuses in both formats, with messages of its own)
/// is left to the text format.
fn text_field(out: &mut Vec<u8>, text: &str) -> Encoded {
    if text.as_bytes().contains(&0) {
        return Err(NotEncoded);
    }
    fixed(out, text.as_bytes())
}

fn json(out: &mut Vec<u8>, value: &Value) -> Encoded {
    serde_json::to_writer(&mut *out, value).map_err(|_| NotEncoded)
}

/// A one-dimensional array: dimensions, null flag, element type, length and lower bound,
/// then each element as a field.
fn encode_array(
    out: &mut Vec<u8>,
    element: Scalar,
    element_oid: u32,
    value: &Value,
    scratch: &mut Vec<u8>,
) -> Encoded {
    let Value::Array(items) = value else {
        return Err(NotEncoded);
    };
    let length = i32::try_from(items.len()).map_err(|_| NotEncoded)?;
    let has_nulls = items.iter().any(Value::is_null);
    let dimensions = i32::from(!items.is_empty());
    for word in [dimensions, i32::from(has_nulls)] {
        out.extend_from_slice(&word.to_be_bytes());
    }
    out.extend_from_slice(&element_oid.to_be_bytes());
    if items.is_empty() {
        return Ok(());
    }
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(&1i32.to_be_bytes());
    for item in items {
        match item {
            Value::Null => out.extend_from_slice(&(-1i32).to_be_bytes()),
            // Nested arrays (more dimensions) are left to the text format.
            item => encode_scalar(out, element, item, scratch)?,
        }
    }
    Ok(())
}

/// `float4` from a JSON number, as the server reads the number's text (correctly rounded
/// to single precision). A number out of the single range, or one that rounds differently
/// through double precision (older servers), is left to the text format.
fn float4(number: &serde_json::Number, scratch: &mut Vec<u8>) -> Result<f32, NotEncoded> {
    scratch.clear();
    serde_json::to_writer(&mut *scratch, number).map_err(|_| NotEncoded)?;
    let text = std::str::from_utf8(scratch).map_err(|_| NotEncoded)?;
    let single: f32 = text.parse().map_err(|_| NotEncoded)?;
    let double: f64 = text.parse().map_err(|_| NotEncoded)?;
    let through_double = double as f32;
    let exact_zero = double == 0.0;
    let ok = single.to_bits() == through_double.to_bits()
        && (single.is_normal() || (single == 0.0 && exact_zero));
    if ok { Ok(single) } else { Err(NotEncoded) }
}

/// `float8` from a JSON number: its double value is what the server reads back from the
/// number's shortest text (subnormals, which some servers refuse, are left to the text
/// format).
fn float8(number: &serde_json::Number) -> Result<f64, NotEncoded> {
    let value = number.as_f64().ok_or(NotEncoded)?;
    if value.is_normal() || value == 0.0 {
        Ok(value)
    } else {
        Err(NotEncoded)
    }
}

/// The most digits, and the largest exponent, of a decimal the encoder takes (well inside
/// what every server version accepts in text).
const NUMERIC_MAX_DIGITS: usize = 1000;

/// `numeric` from its text as `numeric_in` reads it: an optional sign, digits with an
/// optional decimal point, an optional exponent; the scale is the number of digits after
/// the point less the exponent (at least 0); `NaN` in any case. The column's precision and
/// scale are applied by the server in both formats. Anything else (spaces, infinities) is
/// left to the text format.
fn encode_numeric(out: &mut Vec<u8>, text: &[u8]) -> Encoded {
    const POSITIVE: u16 = 0x0000;
    const NEGATIVE: u16 = 0x4000;
    const NAN: u16 = 0xC000;
    let header = |out: &mut Vec<u8>, ndigits: u16, weight: i16, sign: u16, dscale: u16| {
        for word in [ndigits, weight as u16, sign, dscale] {
            out.extend_from_slice(&word.to_be_bytes());
        }
    };
    if text.eq_ignore_ascii_case(b"nan") {
        header(out, 0, 0, NAN, 0);
        return Ok(());
    }
    let (negative, rest) = match text {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        rest => (false, rest),
    };
    let (integer, rest) = split_digits(rest);
    let (fraction, rest) = match rest {
        [b'.', rest @ ..] => split_digits(rest),
        rest => (&rest[..0], rest),
    };
    if integer.is_empty() && fraction.is_empty() {
        return Err(NotEncoded);
    }
    let exponent: i64 = match rest {
        [] => 0,
        [b'e' | b'E', rest @ ..] => {
            let (negative, digits) = match rest {
                [b'-', digits @ ..] => (true, digits),
                [b'+', digits @ ..] => (false, digits),
                digits => (false, digits),
            };
            if digits.is_empty() || digits.len() > 4 {
                return Err(NotEncoded);
            }
            let magnitude = i64::from(number(digits).ok_or(NotEncoded)?);
            if negative { -magnitude } else { magnitude }
        }
        _ => return Err(NotEncoded),
    };
    let count = integer.len() + fraction.len();
    if count > NUMERIC_MAX_DIGITS || exponent.unsigned_abs() > NUMERIC_MAX_DIGITS as u64 {
        return Err(NotEncoded);
    }
    // `count` and `exponent` are bounded: these conversions are exact.
    let dscale = (fraction.len() as i64 - exponent).max(0);
    let dscale = u16::try_from(dscale).map_err(|_| NotEncoded)?;
    let digits = || integer.iter().chain(fraction).map(|d| d - b'0');
    let leading = digits().take_while(|d| *d == 0).count();
    let trailing = digits().rev().take_while(|d| *d == 0).count();
    if leading == count {
        // Zero (of either sign) is positive.
        header(out, 0, 0, POSITIVE, dscale);
        return Ok(());
    }
    let significant = count - leading - trailing;
    // Digits before the decimal point, counted from the first significant digit.
    let point = integer.len() as i64 + exponent - leading as i64;
    // Zeros put before the first digit so that the point falls between base-10,000 groups.
    let pad = (4 - point.rem_euclid(4)) % 4;
    let weight = i16::try_from((point + pad) / 4 - 1).map_err(|_| NotEncoded)?;
    let padded = pad as usize + significant;
    let ndigits = u16::try_from(padded.div_ceil(4)).map_err(|_| NotEncoded)?;
    header(
        out,
        ndigits,
        weight,
        if negative { NEGATIVE } else { POSITIVE },
        dscale,
    );
    let fill = usize::from(ndigits) * 4 - padded;
    let mut stream = std::iter::repeat_n(0, pad as usize)
        .chain(digits().skip(leading).take(significant))
        .chain(std::iter::repeat_n(0, fill));
    for _ in 0..ndigits {
        let group = (0..4).fold(0u16, |group, _| {
            group * 10 + u16::from(stream.next().unwrap_or_default())
        });
        out.extend_from_slice(&group.to_be_bytes());
    }
    Ok(())
}

/// The leading ASCII digits of `bytes`, and the rest.
fn split_digits(bytes: &[u8]) -> (&[u8], &[u8]) {
    let n = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    bytes.split_at(n)
}

/// The value of a run of ASCII digits (at most 9).
fn number(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || digits.len() > 9 {
        return None;
    }
    digits.iter().try_fold(0u32, |n, d| {
        d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
    })
}

/// `YYYY-MM-DD` (years 1 to 9999) as days since 2000-01-01, PostgreSQL's epoch; the
/// special `infinity` and `-infinity`.
fn date(text: &[u8]) -> Result<i32, NotEncoded> {
    match text {
        b"infinity" => Ok(i32::MAX),
        b"-infinity" => Ok(i32::MIN),
        _ => match ymd(text)? {
            (days, []) => Ok(days),
            _ => Err(NotEncoded),
        },
    }
}

/// A leading `YYYY-MM-DD` as days since 2000-01-01, and the rest.
fn ymd(text: &[u8]) -> Result<(i32, &[u8]), NotEncoded> {
    /// 2000-01-01 counted from 0001-01-01 (day 1).
    const EPOCH_FROM_CE: i32 = 730_120;
    let [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1, rest @ ..] = text else {
        return Err(NotEncoded);
    };
    let year = number(&[*y0, *y1, *y2, *y3]).ok_or(NotEncoded)?;
    let month = number(&[*m0, *m1]).ok_or(NotEncoded)?;
    let day = number(&[*d0, *d1]).ok_or(NotEncoded)?;
    if year == 0 {
        return Err(NotEncoded);
    }
    let year = i32::try_from(year).map_err(|_| NotEncoded)?;
    let date = chrono::NaiveDate::from_ymd_opt(year, month, day).ok_or(NotEncoded)?;
    use chrono::Datelike as _;
    Ok((date.num_days_from_ce() - EPOCH_FROM_CE, rest))
}

/// A leading `HH:MM[:SS[.ffffff]]` (at most microseconds, no leap second) as microseconds
/// since midnight, and the rest.
fn time(text: &[u8]) -> Result<(i64, &[u8]), NotEncoded> {
    let [h0, h1, b':', m0, m1, rest @ ..] = text else {
        return Err(NotEncoded);
    };
    let hour = number(&[*h0, *h1]).ok_or(NotEncoded)?;
    let minute = number(&[*m0, *m1]).ok_or(NotEncoded)?;
    let (second, micros, rest) = match rest {
        [b':', s0, s1, rest @ ..] => {
            let second = number(&[*s0, *s1]).ok_or(NotEncoded)?;
            match rest {
                [b'.', rest @ ..] => {
                    let (fraction, rest) = split_digits(rest);
                    if fraction.is_empty() || fraction.len() > 6 {
                        return Err(NotEncoded);
                    }
                    let scale = 10u32.pow(6 - fraction.len() as u32);
                    let micros = number(fraction).ok_or(NotEncoded)? * scale;
                    (second, micros, rest)
                }
                rest => (second, 0, rest),
            }
        }
        rest => (0, 0, rest),
    };
    if hour > 23 || minute > 59 || second > 59 {
        return Err(NotEncoded);
    }
    let seconds = i64::from(hour * 3600 + minute * 60 + second);
    Ok((seconds * 1_000_000 + i64::from(micros), rest))
}

/// A timestamp as microseconds since 2000-01-01 00:00:00: `YYYY-MM-DD`, then `T` or a
/// space and a time. Without zone (`with_zone == false`) nothing may follow (the server
/// ignores a zone there: left to it), and a date alone is midnight; with zone, `Z` or an
/// offset (`+HH`, `+HH:MM`, `+HHMM`) must follow, and the instant is taken in UTC.
/// `infinity` and `-infinity` are the special values.
fn timestamp(text: &[u8], with_zone: bool) -> Result<i64, NotEncoded> {
    const DAY: i64 = 86_400_000_000;
    match text {
        b"infinity" => return Ok(i64::MAX),
        b"-infinity" => return Ok(i64::MIN),
        _ => {}
    }
    let (days, rest) = ymd(text)?;
    let days = i64::from(days) * DAY;
    let (micros, zone) = match rest {
        [] if !with_zone => return Ok(days),
        [b'T' | b' ', rest @ ..] => time(rest)?,
        _ => return Err(NotEncoded),
    };
    if !with_zone {
        return if zone.is_empty() {
            Ok(days + micros)
        } else {
            Err(NotEncoded)
        };
    }
    let (sign, hours, minutes) = match zone {
        b"Z" => return Ok(days + micros),
        [sign @ (b'+' | b'-'), h0, h1] => (*sign, [*h0, *h1], [b'0', b'0']),
        [sign @ (b'+' | b'-'), h0, h1, b':', m0, m1] | [sign @ (b'+' | b'-'), h0, h1, m0, m1] => {
            (*sign, [*h0, *h1], [*m0, *m1])
        }
        _ => return Err(NotEncoded),
    };
    let hours = number(&hours).ok_or(NotEncoded)?;
    let minutes = number(&minutes).ok_or(NotEncoded)?;
    if hours > 14 || minutes > 59 {
        return Err(NotEncoded);
    }
    let offset = i64::from(hours * 3600 + minutes * 60) * 1_000_000;
    Ok(if sign == b'+' {
        days + micros - offset
    } else {
        days + micros + offset
    })
}

/// A hyphenated UUID (`8-4-4-4-12` hex digits) as its 16 bytes.
fn uuid(text: &[u8]) -> Result<[u8; 16], NotEncoded> {
    if text.len() != 36 {
        return Err(NotEncoded);
    }
    let mut bytes = [0u8; 16];
    let mut nibbles = text.iter().enumerate().filter_map(|(i, b)| match i {
        8 | 13 | 18 | 23 => (*b != b'-').then_some(None),
        _ => Some(char::from(*b).to_digit(16)),
    });
    for byte in &mut bytes {
        let high = nibbles.next().flatten().ok_or(NotEncoded)?;
        let low = nibbles.next().flatten().ok_or(NotEncoded)?;
        // Both are hex digits (below 16).
        *byte = (high * 16 + low) as u8;
    }
    if nibbles.next().is_some() {
        return Err(NotEncoded);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use serde_json::json;

    use super::*;
    use crate::values::postgres::numeric_to_string;

    fn numeric(text: &str) -> Option<String> {
        let mut out = Vec::new();
        encode_numeric(&mut out, text.as_bytes()).ok()?;
        Some(numeric_to_string(&out).unwrap())
    }

    #[test]
    fn decimals_encode_as_numeric_in_reads_them() {
        let cases = [
            ("0", "0"),
            ("-0.00", "0.00"),
            ("12.50", "12.50"),
            ("-12.345678", "-12.345678"),
            ("+7", "7"),
            ("0005.100", "5.100"),
            (".5", "0.5"),
            ("5.", "5"),
            ("0.0005", "0.0005"),
            ("10002", "10002"),
            ("10000.00", "10000.00"),
            ("1e21", "1000000000000000000000"),
            ("1.5E-3", "0.0015"),
            ("15e-1", "1.5"),
            ("1.50e1", "15.0"),
            ("-2.5e+2", "-250"),
            (
                "12345678901234567890.123456789",
                "12345678901234567890.123456789",
            ),
            (
                "-0.000000000000000000000000000001",
                "-0.000000000000000000000000000001",
            ),
            ("NaN", "NaN"),
            ("nan", "NaN"),
        ];
        for (text, expected) in cases {
            assert_eq!(numeric(text).as_deref(), Some(expected), "{text}");
            // Whatever is encoded passes the shape check of the text path.
            FieldType::decimal(38, 10)
                .check_value(&json!(text))
                .unwrap_or_else(|e| panic!("{text}: {e}"));
        }
        for text in [
            "", " 1", "1 ", "1e", "e5", ".", "-", "inf", "Infinity", "-NaN", "1_000", "0x1F",
            "--1", "1.2.3", "1e10000", "1e-1001",
        ] {
            assert_eq!(numeric(text), None, "{text:?}");
        }
    }

    #[test]
    fn temporal_values_encode_relative_to_2000_01_01() {
        assert_eq!(date(b"2000-01-01"), Ok(0));
        assert_eq!(date(b"1999-12-31"), Ok(-1));
        assert_eq!(date(b"0001-01-01"), Ok(-730_119));
        assert_eq!(date(b"infinity"), Ok(i32::MAX));
        assert_eq!(date(b"-infinity"), Ok(i32::MIN));
        for bad in [
            "2024-02-30",
            "0000-01-01",
            "2024-1-01",
            "20240101",
            "today",
            "Infinity",
            "2024-01-01 ",
        ] {
            assert_eq!(date(bad.as_bytes()), Err(NotEncoded), "{bad}");
        }
        assert_eq!(time(b"23:59:58.25"), Ok((86_398_250_000, &b""[..])));
        assert_eq!(time(b"10:00"), Ok((36_000_000_000, &b""[..])));
        for bad in [
            "24:00:00",
            "10:60:00",
            "10:00:60",
            "10:00:00.1234567",
            "10:00:00.",
        ] {
            assert!(
                matches!(time(bad.as_bytes()), Err(_) | Ok((_, [_, ..]))),
                "{bad}"
            );
        }
        let tz = |text: &str| timestamp(text.as_bytes(), true);
        let local = |text: &str| timestamp(text.as_bytes(), false);
        assert_eq!(tz("2024-02-12T23:59:59.123456Z"), Ok(761_097_599_123_456));
        assert_eq!(tz("2024-02-12 23:59:59.123456Z"), Ok(761_097_599_123_456));
        assert_eq!(tz("2024-01-01T12:00:00+02:00"), tz("2024-01-01T10:00:00Z"));
        assert_eq!(tz("2024-01-01T12:00:00+0200"), tz("2024-01-01T10:00:00Z"));
        assert_eq!(tz("2024-01-01T07:30:00-02:30"), tz("2024-01-01T10:00:00Z"));
        assert_eq!(tz("2024-01-01T12:00:00+02"), tz("2024-01-01T10:00:00Z"));
        assert_eq!(tz("-infinity"), Ok(i64::MIN));
        assert_eq!(local("2000-01-01T00:00:00.5"), Ok(500_000));
        assert_eq!(local("2000-01-02"), Ok(86_400_000_000));
        assert_eq!(local("infinity"), Ok(i64::MAX));
        // Without zone into timestamptz (the session's zone), a zone into timestamp (which
        // the server ignores), and anything unusual: left to the server.
        for bad in [
            "2024-01-01T10:00:00",
            "2024-01-01",
            "2024-01-01T10:00:00z",
            "2024-01-01T10:00:00+16:00",
            "2024-01-01T10:00:00 UTC",
            "2024-01-01T10:00:00+01:00:30",
            "now",
        ] {
            assert_eq!(tz(bad), Err(NotEncoded), "{bad}");
        }
        for bad in [
            "2024-01-01T10:00:00Z",
            "2024-01-01T10:00:00+02:00",
            "2024-01-01T",
        ] {
            assert_eq!(local(bad), Err(NotEncoded), "{bad}");
        }
    }

    #[test]
    fn uuids_encode_as_16_bytes() {
        let bytes: Vec<u8> = (0..16).collect();
        assert_eq!(
            uuid(b"00010203-0405-0607-0809-0A0b0c0d0e0f")
                .unwrap()
                .to_vec(),
            bytes
        );
        for bad in [
            "00010203-0405-0607-0809-0a0b0c0d0e0",
            "00010203x0405-0607-0809-0a0b0c0d0e0f",
            "0001020g-0405-0607-0809-0a0b0c0d0e0f",
        ] {
            assert_eq!(uuid(bad.as_bytes()), Err(NotEncoded), "{bad}");
        }
    }

    #[test]
    fn floats_keep_the_value_the_server_would_parse() {
        let f4 = |v: Value| float4(v.as_number().unwrap(), &mut Vec::new());
        assert_eq!(f4(json!(0.1)), Ok(0.1f32));
        assert_eq!(f4(json!(16_777_217)), Ok(16_777_216.0));
        assert_eq!(f4(json!(-0.0)), Ok(-0.0));
        assert_eq!(f4(json!(1e39)), Err(NotEncoded), "out of range");
        assert_eq!(f4(json!(1e-50)), Err(NotEncoded), "underflow");
        assert_eq!(float8(json!(1e-310).as_number().unwrap()), Err(NotEncoded));
        assert_eq!(float8(json!(2.5).as_number().unwrap()), Ok(2.5));
    }

    #[test]
    fn rows_encode_as_tuples_and_refuse_what_they_cannot_vouch_for() {
        let columns = vec![
            ("a", BinaryType::Scalar(Scalar::Int4)),
            ("b", BinaryType::Scalar(Scalar::Text)),
            (
                "c",
                BinaryType::Array {
                    element: Scalar::Int8,
                    element_oid: 20,
                },
            ),
            ("d", BinaryType::Scalar(Scalar::Jsonb)),
        ];
        let mut encoder = BinaryRowEncoder::new(columns);
        let record = json!({"a": 7, "b": "x", "c": [1, null], "d": {"k": 1}});
        let mut out = b"before".to_vec();
        encoder
            .encode_row(&mut out, record.as_object().unwrap(), Some(3))
            .unwrap();
        let mut expected = b"before".to_vec();
        expected.extend_from_slice(&5i16.to_be_bytes());
        expected.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 7]);
        expected.extend_from_slice(&[0, 0, 0, 1, b'x']);
        expected.extend_from_slice(&36i32.to_be_bytes());
        for word in [1i32, 1, 20, 2, 1, 8] {
            expected.extend_from_slice(&word.to_be_bytes());
        }
        expected.extend_from_slice(&1i64.to_be_bytes());
        expected.extend_from_slice(&(-1i32).to_be_bytes());
        expected.extend_from_slice(&[0, 0, 0, 8, 1]);
        expected.extend_from_slice(br#"{"k":1}"#);
        expected.extend_from_slice(&[0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 3]);
        assert_eq!(out, expected);
        // A missing field is NULL.
        let mut out = Vec::new();
        encoder
            .encode_row(&mut out, json!({"b": "y"}).as_object().unwrap(), None)
            .unwrap();
        assert_eq!(out.len(), 2 + 4 + 5 + 4 + 4);
        for bad in [
            json!({"a": 1i64 << 40}),
            json!({"a": "1"}),
            json!({"b": "nul\u{0}"}),
            json!({"c": [[1]]}),
            json!({"c": [1.5]}),
        ] {
            let mut out = b"before".to_vec();
            let result = encoder.encode_row(&mut out, bad.as_object().unwrap(), None);
            assert_eq!(result, Err(NotEncoded), "{bad}");
            assert_eq!(out, b"before", "{bad}");
        }
    }

    #[test]
    fn column_types_get_a_binary_encoding_only_where_the_text_one_is_matched() {
        let pg = |oid| PgType {
            oid,
            text_like: false,
        };
        assert_eq!(
            BinaryType::of(&FieldType::Integer, pg(23)),
            Some(BinaryType::Scalar(Scalar::Int4))
        );
        assert_eq!(
            BinaryType::of(&FieldType::array(FieldType::String), pg(1015)),
            Some(BinaryType::Array {
                element: Scalar::Text,
                element_oid: 1043
            })
        );
        let citext = PgType {
            oid: 16_500,
            text_like: true,
        };
        assert_eq!(
            BinaryType::of(&FieldType::String, citext),
            Some(BinaryType::Scalar(Scalar::Text))
        );
        // An enum, interval, money, oid, json arrays, a type the catalog maps elsewhere.
        assert_eq!(
            BinaryType::of(&FieldType::unknown("mood"), pg(16_501)),
            None
        );
        assert_eq!(
            BinaryType::of(&FieldType::unknown("interval"), pg(1186)),
            None
        );
        assert_eq!(BinaryType::of(&FieldType::decimal(19, 2), pg(790)), None);
        assert_eq!(BinaryType::of(&FieldType::Integer, pg(26)), None);
        assert_eq!(
            BinaryType::of(&FieldType::array(FieldType::Json), pg(3807)),
            None
        );
        assert_eq!(BinaryType::of(&FieldType::String, pg(23)), None);
    }
}
