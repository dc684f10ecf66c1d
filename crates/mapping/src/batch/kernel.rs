//! One rule evaluated over a whole column: the output column of a rule that copies (or
//! renames) a top-level source field or writes a constant, through its default, transform
//! steps, cast and requirement.
//!
//! In order of preference:
//! 1. the source column itself (the same `ArrayRef`) when the rule leaves every value as
//!    the JSON view reads it: a plain copy, or a cast that changes nothing (an `int` cast
//!    of integers, a `decimal` cast of `Decimal128(≤ 28, 0..=28)`, a `timestamp` cast of
//!    instants …);
//! 2. one pass over the cells with the scalar pipeline ([`ScalarPipeline`]);
//! 3. one pass building each cell's JSON value and running [`finish`] (JSON columns,
//!    lists and structs, `lookup` and `split` steps).
//!
//! A cell the rule fails on is flagged in `failed` (its output slot is null).

use std::borrow::Cow;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, TimestampMicrosecondType, UInt64Type,
};
use arrow_array::{Array, ArrayRef};
use arrow_schema::{DataType, Field, TimeUnit};
use chrono_tz::Tz;
use connector_sdk::batch::is_json;
use serde_json::Value;

use crate::apply::finish;
use crate::batch::cell::{Cell, Cells, all_values};
use crate::batch::column::{ColumnBuilder, Slot, UTC_OFFSET};
use crate::batch::scalar::ScalarPipeline;
use crate::cast::Cast;
use crate::compile::CompiledRule;
use crate::spec::CastType;

/// Where a columnar rule's value comes from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Input<'a> {
    /// A constant.
    Constant(&'a Value),
    /// A top-level source field: its column, `None` when the batch has no such column.
    Column(Option<(&'a Field, &'a ArrayRef)>),
}

/// What a rule writes for one value (`None`: no field), or why it fails.
type Outcome = Result<Option<Value>, String>;

/// The output column of `rule`, named `name`, over `rows` rows (`None` when the rule
/// writes no field in any row); flags the rows it fails on in `failed`.
pub(crate) fn evaluate(
    rule: &CompiledRule,
    name: &str,
    input: Input<'_>,
    rows: usize,
    failed: &mut [bool],
) -> Option<(Field, ArrayRef)> {
    let (field, array) = match input {
        Input::Constant(value) => {
            return repeat(
                &finish(rule, Some(Cow::Borrowed(value))),
                name,
                rows,
                failed,
            );
        }
        Input::Column(None) => return repeat(&finish(rule, None), name, rows, failed),
        Input::Column(Some(column)) => column,
    };
    if rule.is_plain() {
        return Some((field.clone().with_name(name), array.clone()));
    }
    if let Some(same) = unchanged(rule, name, field, array, failed) {
        return Some(same);
    }
    Some(cell_by_cell(rule, name, field, array, failed))
}

/// The same outcome in every row.
fn repeat(
    outcome: &Outcome,
    name: &str,
    rows: usize,
    failed: &mut [bool],
) -> Option<(Field, ArrayRef)> {
    match outcome {
        Ok(Some(value)) => {
            let mut builder = ColumnBuilder::new(rows);
            for _ in 0..rows {
                builder.push(Slot::Value(value));
            }
            Some(builder.finish(name))
        }
        Ok(None) => None,
        Err(_) => {
            failed.fill(true);
            None
        }
    }
}

fn push_outcome(builder: &mut ColumnBuilder, outcome: &Outcome, failed: &mut bool) {
    match outcome {
        Ok(Some(value)) => builder.push(Slot::Value(value)),
        Ok(None) => builder.push(Slot::Absent),
        Err(_) => {
            *failed = true;
            builder.push(Slot::Null);
        }
    }
}

/// One pass over the cells.
fn cell_by_cell(
    rule: &CompiledRule,
    name: &str,
    field: &Field,
    array: &ArrayRef,
    failed: &mut [bool],
) -> (Field, ArrayRef) {
    let cells = Cells::new(Some((field, array.as_ref())));
    let on_null = finish(rule, Some(Cow::Owned(Value::Null)));
    let on_absent = finish(rule, None);
    let pipeline = ScalarPipeline::of(rule);
    let mut builder = ColumnBuilder::new(array.len());
    for (row, failed) in failed.iter_mut().enumerate().take(array.len()) {
        match (cells.get(row), pipeline) {
            (Cell::Absent, _) => push_outcome(&mut builder, &on_absent, failed),
            (Cell::Null, _) => push_outcome(&mut builder, &on_null, failed),
            (Cell::Scalar(scalar), Some(pipeline)) => match pipeline.run(scalar) {
                Some(output) => builder.push(output.slot()),
                None => {
                    *failed = true;
                    builder.push(Slot::Null);
                }
            },
            (Cell::Scalar(scalar), None) => {
                let outcome = finish(rule, Some(Cow::Owned(scalar.into_value())));
                push_outcome(&mut builder, &outcome, failed);
            }
            (Cell::Value(value), _) => {
                push_outcome(&mut builder, &finish(rule, Some(Cow::Owned(value))), failed);
            }
        }
    }
    builder.finish(name)
}

/// The source column itself (or its values under another time zone) when the rule
/// leaves the JSON view of every value unchanged; the rows it fails on are flagged.
fn unchanged(
    rule: &CompiledRule,
    name: &str,
    field: &Field,
    array: &ArrayRef,
    failed: &mut [bool],
) -> Option<(Field, ArrayRef)> {
    if !rule.steps.is_empty() || is_json(field) {
        return None;
    }
    let mut failing: Vec<usize> = Vec::new();
    // Logical nulls: a `Null` column has no validity buffer, yet every slot is null.
    if let Some(nulls) = array.logical_nulls().filter(|nulls| nulls.null_count() > 0) {
        match finish(rule, Some(Cow::Owned(Value::Null))) {
            Ok(Some(Value::Null)) => {}
            Err(_) => failing.extend(
                nulls
                    .iter()
                    .enumerate()
                    .filter(|(_, valid)| !valid)
                    .map(|(row, _)| row),
            ),
            // A default: nulls become another value.
            Ok(_) => return None,
        }
    }
    let output = match &rule.cast {
        None => array.clone(),
        Some(cast) => unchanged_by_cast(cast, array, &mut failing)?,
    };
    for row in failing {
        if let Some(flag) = failed.get_mut(row) {
            *flag = true;
        }
    }
    let field = if output.data_type() == field.data_type() {
        field.clone().with_name(name)
    } else {
        Field::new(name, output.data_type().clone(), true)
    };
    Some((field, output))
}

/// The first and last instants (µs) and days whose text a cast reads back as themselves:
/// years 1 to 9999, written with four digits.
const FIRST_MICROS: i64 = -62_135_596_800_000_000;
const LAST_MICROS: i64 = 253_402_300_799_999_999;
const FIRST_DAY: i32 = -719_162;
const LAST_DAY: i32 = 2_932_896;

/// The column a cast gives back unchanged in its JSON view (flagging the values it
/// refuses), `None` when it may change some value.
fn unchanged_by_cast(cast: &Cast, array: &ArrayRef, failing: &mut Vec<usize>) -> Option<ArrayRef> {
    let in_window = |micros: i64| (FIRST_MICROS..=LAST_MICROS).contains(&micros);
    let unchanged = match (cast.to(), array.data_type()) {
        // Text stays the same text; these types read as text.
        (
            CastType::String,
            DataType::Utf8
            | DataType::LargeUtf8
            | DataType::Utf8View
            | DataType::Decimal128(..)
            | DataType::Date32
            | DataType::Time64(TimeUnit::Microsecond)
            | DataType::Timestamp(TimeUnit::Microsecond, _)
            | DataType::Binary
            | DataType::LargeBinary
            | DataType::FixedSizeBinary(_),
        ) => true,
        (
            CastType::Int,
            DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32,
        ) => true,
        (CastType::Int, DataType::UInt64) => all_values(array.as_primitive::<UInt64Type>(), |v| {
            i64::try_from(v).is_ok()
        }),
        // Finite floats stay; the text of the others ("NaN", "inf") is not a finite float.
        (CastType::Float, DataType::Float64) => {
            let floats = array.as_primitive::<Float64Type>();
            failing.extend(
                (0..floats.len())
                    .filter(|row| floats.is_valid(*row) && !floats.value(*row).is_finite()),
            );
            true
        }
        (CastType::Float, DataType::Float32) => {
            let floats = array.as_primitive::<Float32Type>();
            failing.extend(
                (0..floats.len())
                    .filter(|row| floats.is_valid(*row) && !floats.value(*row).is_finite()),
            );
            true
        }
        (CastType::Bool, DataType::Boolean) => true,
        // Plain decimal text of at most 28 digits reads back with the same digits and scale
        // (a value beyond the precision has a cut text, which it does not).
        (CastType::Decimal, DataType::Decimal128(precision, scale))
            if *precision <= 28 && (0..=28).contains(scale) =>
        {
            let limit = 10u128.pow(u32::from(*precision));
            all_values(array.as_primitive::<Decimal128Type>(), |value| {
                value.unsigned_abs() < limit
            })
        }
        (CastType::Date, DataType::Date32) if !cast.has_format() => {
            all_values(array.as_primitive::<Date32Type>(), |days| {
                (FIRST_DAY..=LAST_DAY).contains(&days)
            })
        }
        (CastType::Timestamp, DataType::Timestamp(TimeUnit::Microsecond, Some(_)))
            if !cast.has_format() =>
        {
            all_values(array.as_primitive::<TimestampMicrosecondType>(), in_window)
        }
        // A timestamp without zone read in UTC: the same instants, now in UTC.
        (CastType::Timestamp, DataType::Timestamp(TimeUnit::Microsecond, None))
            if !cast.has_format() && cast.timezone() == Tz::UTC =>
        {
            let instants = array.as_primitive::<TimestampMicrosecondType>();
            if !all_values(instants, in_window) {
                return None;
            }
            return Some(Arc::new(instants.clone().with_timezone(UTC_OFFSET)));
        }
        _ => false,
    };
    unchanged.then(|| array.clone())
}
