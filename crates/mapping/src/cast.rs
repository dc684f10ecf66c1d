//! Casts: converting a value to `string`, `int`, `float`, `decimal`, `bool`, `date` or
//! `timestamp`, with an input `format` and `timezone` for dates and timestamps.
//!
//! Casts never lose data silently: `1.5` does not become `1`, `"12abc"` is not a number.
//! Null passes through unchanged (use `default` to replace it).

use std::borrow::Cow;
use std::str::FromStr;

use chrono::format::{Item, Parsed, StrftimeItems};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, TimeZone, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde_json::{Number, Value};

use crate::spec::CastType;

/// A compiled cast: the target type, the pre-parsed input format and the input time zone.
#[derive(Debug, Clone)]
pub struct Cast {
    to: CastType,
    format: Option<Vec<Item<'static>>>,
    timezone: Tz,
}

/// Why a cast spec is invalid, and which key is at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CastSpecError {
    /// `format` or `timezone`.
    pub key: &'static str,
    /// Why.
    pub message: String,
}

impl Cast {
    /// Compiles a cast, checking the format and the time zone.
    pub fn new(
        to: CastType,
        format: Option<&str>,
        timezone: Option<&str>,
    ) -> Result<Self, Vec<CastSpecError>> {
        let mut errors = Vec::new();
        let is_temporal = matches!(to, CastType::Date | CastType::Timestamp);
        let format = match format {
            Some(_) if !is_temporal => {
                errors.push(CastSpecError {
                    key: "format",
                    message: format!(
                        "`format` applies to date and timestamp casts, not {}",
                        to.name()
                    ),
                });
                None
            }
            Some(text) => match StrftimeItems::new(text).parse_to_owned() {
                Ok(items) => Some(items),
                Err(_) => {
                    errors.push(CastSpecError {
                        key: "format",
                        message: format!("invalid strftime format {text:?}"),
                    });
                    None
                }
            },
            None => None,
        };
        let timezone = match timezone {
            Some(_) if !is_temporal => {
                errors.push(CastSpecError {
                    key: "timezone",
                    message: format!(
                        "`timezone` applies to date and timestamp casts, not {}",
                        to.name()
                    ),
                });
                Tz::UTC
            }
            Some(name) => Tz::from_str(name).unwrap_or_else(|_| {
                errors.push(CastSpecError {
                    key: "timezone",
                    message: format!("unknown IANA time zone {name:?}"),
                });
                Tz::UTC
            }),
            None => Tz::UTC,
        };
        if errors.is_empty() {
            Ok(Self {
                to,
                format,
                timezone,
            })
        } else {
            Err(errors)
        }
    }

    /// The target type.
    pub fn to(&self) -> CastType {
        self.to
    }

    /// Casts one value. Null stays null.
    pub fn apply(&self, value: Value) -> Result<Value, String> {
        self.apply_ref(&value)
    }

    /// Casts a borrowed value (a cast reads its input and builds a new value).
    pub(crate) fn apply_ref(&self, value: &Value) -> Result<Value, String> {
        let scalar = match value {
            Value::Null => return Ok(Value::Null),
            Value::Bool(flag) => ScalarRef::Bool(*flag),
            Value::Number(number) => ScalarRef::Number(number),
            Value::String(text) => ScalarRef::Text(text),
            Value::Array(_) | Value::Object(_) => ScalarRef::Other,
        };
        let result = match self.to {
            CastType::String => to_string(scalar).map(|text| match value {
                // The input string itself.
                Value::String(_) => value.clone(),
                _ => Value::String(text.into_owned()),
            }),
            CastType::Int => to_int(scalar).map(Value::from),
            CastType::Float => to_float(scalar).and_then(|float| {
                Number::from_f64(float)
                    .map(Value::Number)
                    .ok_or_else(|| "not a finite number".to_string())
            }),
            CastType::Decimal => {
                to_decimal(scalar).map(|decimal| Value::String(decimal.to_string()))
            }
            CastType::Bool => to_bool(scalar).map(Value::Bool),
            CastType::Date => self
                .to_date(scalar)
                .map(|date| Value::String(render_date(date))),
            CastType::Timestamp => self
                .to_timestamp(scalar)
                .map(|instant| Value::String(render_timestamp(instant))),
        };
        result.map_err(|reason| {
            let mut message = format!("cannot cast {} to {}", describe(value), self.to.name());
            if !reason.is_empty() {
                message.push_str(": ");
                message.push_str(&reason);
            }
            message
        })
    }

    /// The date a value casts to (the reason when it does not, possibly empty).
    pub(crate) fn to_date(&self, value: ScalarRef<'_>) -> Result<NaiveDate, String> {
        let ScalarRef::Text(text) = value else {
            return Err(String::new());
        };
        let text = text.trim();
        Ok(match &self.format {
            Some(items) => {
                let parsed = parse_with(items, text)?;
                match parsed.to_datetime() {
                    Ok(instant) => instant.with_timezone(&self.timezone).date_naive(),
                    Err(_) => parsed
                        .to_naive_date()
                        .map_err(|e| format!("does not match the format: {e}"))?,
                }
            }
            None => match DateTime::parse_from_rfc3339(text) {
                Ok(instant) => instant.with_timezone(&self.timezone).date_naive(),
                Err(_) => match NaiveDate::from_str(text) {
                    Ok(date) => date,
                    Err(_) => parse_naive_datetime(text)
                        .ok_or("expected YYYY-MM-DD or RFC 3339 (or set `format`)")?
                        .date(),
                },
            },
        })
    }

    /// The instant a value casts to (the reason when it does not, possibly empty).
    pub(crate) fn to_timestamp(&self, value: ScalarRef<'_>) -> Result<DateTime<Utc>, String> {
        Ok(match value {
            ScalarRef::Number(number) => from_epoch(number)?,
            ScalarRef::Text(text) => {
                let text = text.trim();
                match &self.format {
                    Some(items) => {
                        let parsed = parse_with(items, text)?;
                        match parsed.to_datetime() {
                            Ok(instant) => instant.with_timezone(&Utc),
                            Err(_) => {
                                let naive = match parsed.to_naive_datetime_with_offset(0) {
                                    Ok(naive) => naive,
                                    Err(_) => parsed
                                        .to_naive_date()
                                        .map_err(|e| format!("does not match the format: {e}"))?
                                        .and_time(NaiveTime::MIN),
                                };
                                self.localize(naive)?
                            }
                        }
                    }
                    None => match DateTime::parse_from_rfc3339(text) {
                        Ok(instant) => instant.with_timezone(&Utc),
                        Err(_) => {
                            let naive = parse_naive_datetime(text)
                                .or_else(|| {
                                    NaiveDate::from_str(text)
                                        .ok()
                                        .map(|d| d.and_time(NaiveTime::MIN))
                                })
                                .ok_or(
                                    "expected RFC 3339 or YYYY-MM-DD[ HH:MM:SS] (or set `format`)",
                                )?;
                            self.localize(naive)?
                        }
                    },
                }
            }
            _ => return Err(String::new()),
        })
    }

    /// Whether the cast has an input `format`.
    pub(crate) fn has_format(&self) -> bool {
        self.format.is_some()
    }

    /// The time zone of zone-less input.
    pub(crate) fn timezone(&self) -> Tz {
        self.timezone
    }

    /// A zone-less date and time in the cast's time zone, as an instant.
    pub(crate) fn localize(&self, naive: NaiveDateTime) -> Result<DateTime<Utc>, String> {
        self.timezone
            .from_local_datetime(&naive)
            .earliest()
            .map(|local| local.with_timezone(&Utc))
            .ok_or_else(|| format!("{naive} does not exist in {}", self.timezone.name()))
    }
}

/// A non-null scalar as a cast reads it, borrowed (arrays and objects are `Other`).
#[derive(Debug, Clone, Copy)]
pub(crate) enum ScalarRef<'a> {
    Bool(bool),
    Number(&'a Number),
    Text(&'a str),
    Other,
}

/// The text a `date` cast writes.
pub(crate) fn render_date(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// The text a `timestamp` cast writes.
pub(crate) fn render_timestamp(instant: DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn parse_with(items: &[Item<'static>], text: &str) -> Result<Parsed, String> {
    let mut parsed = Parsed::new();
    chrono::format::parse(&mut parsed, text, items.iter())
        .map_err(|e| format!("does not match the format: {e}"))?;
    Ok(parsed)
}

fn parse_naive_datetime(text: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::from_str(text).ok().or_else(|| {
        text.split_once(' ')
            .and_then(|(date, time)| NaiveDateTime::from_str(&format!("{date}T{time}")).ok())
    })
}

fn from_epoch(number: &Number) -> Result<DateTime<Utc>, String> {
    let instant = if let Some(seconds) = number.as_i64() {
        DateTime::from_timestamp(seconds, 0)
    } else {
        let seconds = number.as_f64().ok_or("")?;
        let whole = seconds.floor();
        if !(-1e15..=1e15).contains(&whole) {
            None
        } else {
            // In range: the conversions below cannot truncate.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let nanos = ((seconds - whole) * 1e9).round().min(999_999_999.0) as u32;
            #[allow(clippy::cast_possible_truncation)]
            DateTime::from_timestamp(whole as i64, nanos)
        }
    };
    instant.ok_or_else(|| "epoch seconds out of range".to_string())
}

/// The text a `string` cast writes (the input text itself for a string).
pub(crate) fn to_string(value: ScalarRef<'_>) -> Result<Cow<'_, str>, String> {
    match value {
        ScalarRef::Text(text) => Ok(Cow::Borrowed(text)),
        ScalarRef::Number(number) => Ok(Cow::Owned(number.to_string())),
        ScalarRef::Bool(flag) => Ok(Cow::Borrowed(if flag { "true" } else { "false" })),
        ScalarRef::Other => Err(String::new()),
    }
}

/// The integer an `int` cast writes.
pub(crate) fn to_int(value: ScalarRef<'_>) -> Result<i64, String> {
    match value {
        ScalarRef::Number(number) => {
            if let Some(int) = number.as_i64() {
                Ok(int)
            } else if number.is_u64() {
                Err("out of the 64-bit integer range".into())
            } else {
                decimal_to_int(decimal_of_number(number)?)
            }
        }
        ScalarRef::Text(text) => {
            let text = text.trim();
            match text.parse::<i64>() {
                Ok(int) => Ok(int),
                Err(_) => {
                    let decimal = parse_decimal(text).map_err(|_| String::new())?;
                    decimal_to_int(decimal)
                }
            }
        }
        _ => Err(String::new()),
    }
}

fn decimal_to_int(decimal: Decimal) -> Result<i64, String> {
    if !decimal.fract().is_zero() {
        return Err("it has a fractional part".into());
    }
    i64::try_from(decimal).map_err(|_| "out of the 64-bit integer range".into())
}

/// The float a `float` cast reads (not yet checked to be finite).
pub(crate) fn to_float(value: ScalarRef<'_>) -> Result<f64, String> {
    match value {
        ScalarRef::Number(number) => number.as_f64().ok_or_else(String::new),
        ScalarRef::Text(text) => text.trim().parse::<f64>().map_err(|_| String::new()),
        _ => Err(String::new()),
    }
}

/// The decimal a `decimal` cast writes (as its `to_string`).
pub(crate) fn to_decimal(value: ScalarRef<'_>) -> Result<Decimal, String> {
    match value {
        ScalarRef::Number(number) => decimal_of_number(number),
        ScalarRef::Text(text) => parse_decimal(text.trim()),
        _ => Err(String::new()),
    }
}

fn decimal_of_number(number: &Number) -> Result<Decimal, String> {
    parse_decimal(&number.to_string())
}

/// Parses an exact decimal (plain or scientific notation), refusing to round.
pub(crate) fn parse_decimal(text: &str) -> Result<Decimal, String> {
    if text.contains(['e', 'E']) {
        return Decimal::from_scientific(text).map_err(|_| String::new());
    }
    Decimal::from_str_exact(text).map_err(|e| match e {
        rust_decimal::Error::Underflow | rust_decimal::Error::ExceedsMaximumPossibleValue => {
            "more than 28 significant digits".to_string()
        }
        _ => String::new(),
    })
}

/// The boolean a `bool` cast writes.
pub(crate) fn to_bool(value: ScalarRef<'_>) -> Result<bool, String> {
    match value {
        ScalarRef::Bool(flag) => Ok(flag),
        ScalarRef::Number(number) => match number.as_f64() {
            Some(0.0) => Ok(false),
            Some(1.0) => Ok(true),
            _ => Err("only 0 and 1 are booleans".into()),
        },
        ScalarRef::Text(text) => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "t" | "yes" | "y" | "1" | "on" => Ok(true),
            "false" | "f" | "no" | "n" | "0" | "off" => Ok(false),
            _ => Err(String::new()),
        },
        ScalarRef::Other => Err(String::new()),
    }
}

/// A short description of a value for messages: strings quoted, long values cut.
pub(crate) fn describe(value: &Value) -> String {
    const LIMIT: usize = 64;
    match value {
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
        other => {
            let text = other.to_string();
            if text.chars().count() > LIMIT {
                let cut: String = text.chars().take(LIMIT).collect();
                format!("{cut}…")
            } else {
                text
            }
        }
    }
}
