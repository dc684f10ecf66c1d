//! A rule's transform steps and cast run on one scalar cell, without building a JSON value:
//! text stays borrowed from the Arrow buffer until a step changes it, and a cast hands its
//! typed result (an integer, a decimal, an instant …) straight to the column builder.
//!
//! Each step and cast here is the per-value code of [`crate::transform`] and
//! [`crate::cast`], so a value maps as [`crate::CompiledMapping::apply`] maps it; only
//! whether it fails matters here (the row path gives the messages).

use std::borrow::Cow;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde_json::{Number, Value};

use crate::batch::column::Slot;
use crate::cast::{self, Cast, ScalarRef};
use crate::compile::CompiledRule;
use crate::spec::CastType;
use crate::transform::Step;

/// A scalar JSON value whose text may be borrowed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar<'a> {
    Null,
    Bool(bool),
    Number(Number),
    Text(Cow<'a, str>),
}

impl Scalar<'_> {
    /// The value a cast reads (`None` for null).
    fn as_ref(&self) -> Option<ScalarRef<'_>> {
        match self {
            Self::Null => None,
            Self::Bool(flag) => Some(ScalarRef::Bool(*flag)),
            Self::Number(number) => Some(ScalarRef::Number(number)),
            Self::Text(text) => Some(ScalarRef::Text(text)),
        }
    }

    /// The JSON value.
    pub(crate) fn into_value(self) -> Value {
        match self {
            Self::Null => Value::Null,
            Self::Bool(flag) => Value::Bool(flag),
            Self::Number(number) => Value::Number(number),
            Self::Text(text) => Value::String(text.into_owned()),
        }
    }
}

/// What a rule writes for one scalar cell.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Output<'a> {
    Scalar(Scalar<'a>),
    Int(i64),
    Float(f64),
    Decimal(Decimal),
    Date(NaiveDate),
    Instant(DateTime<Utc>),
}

impl Output<'_> {
    /// The value as a column builder takes it.
    pub(crate) fn slot(&self) -> Slot<'_> {
        match self {
            Self::Scalar(Scalar::Null) => Slot::Null,
            Self::Scalar(Scalar::Bool(flag)) => Slot::Bool(*flag),
            Self::Scalar(Scalar::Number(number)) => Slot::Number(number),
            Self::Scalar(Scalar::Text(text)) => Slot::Text(text),
            Self::Int(int) => Slot::Int(*int),
            Self::Float(float) => Slot::Float(*float),
            Self::Decimal(decimal) => Slot::Decimal(*decimal),
            Self::Date(date) => Slot::Date(*date),
            Self::Instant(instant) => Slot::Instant(*instant),
        }
    }
}

/// A rule's steps, cast and requirement, for scalar cells.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ScalarPipeline<'r> {
    steps: &'r [Step],
    cast: Option<&'r Cast>,
    required: bool,
}

impl<'r> ScalarPipeline<'r> {
    /// The pipeline of `rule`, when each of its steps maps a scalar to a scalar (`lookup`
    /// may write any JSON and `split` writes arrays: those take the JSON path).
    pub(crate) fn of(rule: &'r CompiledRule) -> Option<Self> {
        rule.steps
            .iter()
            .all(|step| {
                matches!(
                    step,
                    Step::Text(_) | Step::RegexExtract(_) | Step::RegexReplace(_) | Step::Hash(_)
                )
            })
            .then_some(Self {
                steps: &rule.steps,
                cast: rule.cast.as_ref(),
                required: rule.required,
            })
    }

    /// What the rule writes for a present, non-null cell; `None` when the rule fails on it.
    pub(crate) fn run<'a>(&self, mut value: Scalar<'a>) -> Option<Output<'a>> {
        for step in self.steps {
            value = apply_step(step, value)?;
        }
        let output = match self.cast {
            Some(cast) => apply_cast(cast, value)?,
            None => Output::Scalar(value),
        };
        if self.required && output == Output::Scalar(Scalar::Null) {
            return None;
        }
        Some(output)
    }
}

fn apply_step<'a>(step: &Step, value: Scalar<'a>) -> Option<Scalar<'a>> {
    Some(match (step, value) {
        (_, Scalar::Null) => Scalar::Null,
        (Step::Hash(hash), Scalar::Text(text)) => {
            Scalar::Text(Cow::Owned(hash.hex(text.as_bytes())))
        }
        (Step::Hash(hash), Scalar::Number(number)) => {
            Scalar::Text(Cow::Owned(hash.hex(number.to_string().as_bytes())))
        }
        (Step::Hash(hash), Scalar::Bool(flag)) => {
            let text = if flag { "true" } else { "false" };
            Scalar::Text(Cow::Owned(hash.hex(text.as_bytes())))
        }
        (Step::Text(case), Scalar::Text(text)) => Scalar::Text(case.apply_cow(text)),
        (Step::RegexReplace(replace), Scalar::Text(text)) => Scalar::Text(replace.apply_cow(text)),
        (Step::RegexExtract(extract), Scalar::Text(text)) => match text {
            Cow::Borrowed(text) => extract
                .find(text)
                .map_or(Scalar::Null, |found| Scalar::Text(Cow::Borrowed(found))),
            Cow::Owned(text) => extract.find(&text).map_or(Scalar::Null, |found| {
                Scalar::Text(Cow::Owned(found.to_owned()))
            }),
        },
        // Every other step expects a string (and `lookup`/`split` never come here).
        _ => return None,
    })
}

fn apply_cast<'a>(cast: &Cast, value: Scalar<'a>) -> Option<Output<'a>> {
    Some(match (cast.to(), value) {
        (_, Scalar::Null) => Output::Scalar(Scalar::Null),
        // The text itself, still borrowed from the column when it was.
        (CastType::String, Scalar::Text(text)) => Output::Scalar(Scalar::Text(text)),
        (to, value) => {
            let input = value.as_ref()?;
            match to {
                CastType::String => {
                    let text = cast::to_string(input).ok()?.into_owned();
                    Output::Scalar(Scalar::Text(Cow::Owned(text)))
                }
                CastType::Int => Output::Int(cast::to_int(input).ok()?),
                CastType::Float => {
                    Output::Float(cast::to_float(input).ok().filter(|f| f.is_finite())?)
                }
                CastType::Decimal => Output::Decimal(cast::to_decimal(input).ok()?),
                CastType::Bool => Output::Scalar(Scalar::Bool(cast::to_bool(input).ok()?)),
                CastType::Date => Output::Date(cast.to_date(input).ok()?),
                CastType::Timestamp => Output::Instant(cast.to_timestamp(input).ok()?),
            }
        }
    })
}
