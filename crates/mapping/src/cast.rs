//! Casts: converting a value to `string`, `int`, `float`, `decimal`, `bool`, `date` or
//! `timestamp`, with an input `format` and `timezone` for dates and timestamps.
//!
//! Casts never lose data silently: `1.5` does not become `1`, `"12abc"` is not a number.
//! Null passes through unchanged (use `default` to replace it).

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
        if value.is_null() {
            return Ok(Value::Null);
        }
        let result = match self.to {
            CastType::String => to_string(value),
            CastType::Int => to_int(value),
            CastType::Float => to_float(value),
            CastType::Decimal => to_decimal(value),
            CastType::Bool => to_bool(value),
            CastType::Date => self.to_date(value),
            CastType::Timestamp => self.to_timestamp(value),
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

    fn to_date(&self, value: &Value) -> Result<Value, String> {
        let text = value.as_str().ok_or("")?.trim();
        let date = match &self.format {
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
        };
        Ok(Value::String(date.format("%Y-%m-%d").to_string()))
    }

    fn to_timestamp(&self, value: &Value) -> Result<Value, String> {
        let instant = match value {
            Value::Number(number) => from_epoch(number)?,
            Value::String(text) => {
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
                    None => {
                        match DateTime::parse_from_rfc3339(text) {
                            Ok(instant) => instant.with_timezone(&Utc),
                            Err(_) => {
                                let naive = parse_naive_datetime(text)
                                .or_else(|| {
                                    NaiveDate::from_str(text)
                                        .ok()
                                        .map(|d| d.and_time(NaiveTime::MIN))
                                })
                                .ok_or("expected RFC 3339 or YYYY-MM-DD[ HH:MM:SS] (or set `format`)")?;
                                self.localize(naive)?
                            }
                        }
                    }
                }
            }
            _ => return Err(String::new()),
        };
        Ok(Value::String(
            instant.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        ))
    }

    fn localize(&self, naive: NaiveDateTime) -> Result<DateTime<Utc>, String> {
        self.timezone
            .from_local_datetime(&naive)
            .earliest()
            .map(|local| local.with_timezone(&Utc))
            .ok_or_else(|| format!("{naive} does not exist in {}", self.timezone.name()))
    }
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

fn to_string(value: &Value) -> Result<Value, String> {
    match value {
        Value::String(_) => Ok(value.clone()),
        Value::Number(number) => Ok(Value::String(number.to_string())),
        Value::Bool(flag) => Ok(Value::String(flag.to_string())),
        _ => Err(String::new()),
    }
}

fn to_int(value: &Value) -> Result<Value, String> {
    match value {
        Value::Number(number) => {
            if let Some(int) = number.as_i64() {
                Ok(Value::from(int))
            } else if number.is_u64() {
                Err("out of the 64-bit integer range".into())
            } else {
                decimal_to_int(decimal_of_number(number)?)
            }
        }
        Value::String(text) => {
            let text = text.trim();
            match text.parse::<i64>() {
                Ok(int) => Ok(Value::from(int)),
                Err(_) => {
                    let decimal = parse_decimal(text).map_err(|_| String::new())?;
                    decimal_to_int(decimal)
                }
            }
        }
        _ => Err(String::new()),
    }
}

fn decimal_to_int(decimal: Decimal) -> Result<Value, String> {
    if !decimal.fract().is_zero() {
        return Err("it has a fractional part".into());
    }
    i64::try_from(decimal)
        .map(Value::from)
        .map_err(|_| "out of the 64-bit integer range".into())
}

fn to_float(value: &Value) -> Result<Value, String> {
    let float = match value {
        Value::Number(number) => number.as_f64().ok_or("")?,
        Value::String(text) => text.trim().parse::<f64>().map_err(|_| String::new())?,
        _ => return Err(String::new()),
    };
    Number::from_f64(float)
        .map(Value::Number)
        .ok_or_else(|| "not a finite number".into())
}

fn to_decimal(value: &Value) -> Result<Value, String> {
    let decimal = match value {
        Value::Number(number) => decimal_of_number(number)?,
        Value::String(text) => parse_decimal(text.trim())?,
        _ => return Err(String::new()),
    };
    Ok(Value::String(decimal.to_string()))
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

fn to_bool(value: &Value) -> Result<Value, String> {
    match value {
        Value::Bool(_) => Ok(value.clone()),
        Value::Number(number) => match number.as_f64() {
            Some(0.0) => Ok(Value::Bool(false)),
            Some(1.0) => Ok(Value::Bool(true)),
            _ => Err("only 0 and 1 are booleans".into()),
        },
        Value::String(text) => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "t" | "yes" | "y" | "1" | "on" => Ok(Value::Bool(true)),
            "false" | "f" | "no" | "n" | "0" | "off" => Ok(Value::Bool(false)),
            _ => Err(String::new()),
        },
        _ => Err(String::new()),
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
