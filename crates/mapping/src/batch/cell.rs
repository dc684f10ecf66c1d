//! Reading the cells of a source column as the JSON view gives them (see
//! [`connector_sdk::batch`]), without building JSON values for the common types: text is
//! borrowed from the column, numbers and booleans are copied.

use std::borrow::Cow;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow_array::{
    Array, ArrowPrimitiveType, BooleanArray, GenericStringArray, PrimitiveArray, StringViewArray,
};
use arrow_schema::{DataType, Field};
use connector_sdk::batch::{cell, is_json};
use serde_json::{Number, Value};

use crate::batch::scalar::Scalar;

/// One source cell.
#[derive(Debug)]
pub(crate) enum Cell<'a> {
    /// The record has no such field.
    Absent,
    /// JSON `null`.
    Null,
    /// A string, number or boolean.
    Scalar(Scalar<'a>),
    /// An array or an object.
    Value(Value),
}

/// Reads the cells of one source column (or of a column the batch does not have).
pub(crate) struct Cells<'a> {
    field: Option<&'a Field>,
    array: Option<&'a dyn Array>,
    typed: Typed<'a>,
}

/// The column types read without a JSON value.
enum Typed<'a> {
    Missing,
    Boolean(&'a BooleanArray),
    Int8(&'a PrimitiveArray<Int8Type>),
    Int16(&'a PrimitiveArray<Int16Type>),
    Int32(&'a PrimitiveArray<Int32Type>),
    Int64(&'a PrimitiveArray<Int64Type>),
    UInt8(&'a PrimitiveArray<UInt8Type>),
    UInt16(&'a PrimitiveArray<UInt16Type>),
    UInt32(&'a PrimitiveArray<UInt32Type>),
    UInt64(&'a PrimitiveArray<UInt64Type>),
    Float32(&'a PrimitiveArray<Float32Type>),
    Float64(&'a PrimitiveArray<Float64Type>),
    Utf8(&'a GenericStringArray<i32>),
    LargeUtf8(&'a GenericStringArray<i64>),
    Utf8View(&'a StringViewArray),
    /// Any other type (and JSON columns): through the JSON view of the cell.
    Other,
}

impl<'a> Cells<'a> {
    /// The cells of `column` (`None`: the batch has no such column, every cell is absent).
    pub(crate) fn new(column: Option<(&'a Field, &'a dyn Array)>) -> Self {
        let Some((field, array)) = column else {
            return Self {
                field: None,
                array: None,
                typed: Typed::Missing,
            };
        };
        let typed = if is_json(field) {
            Typed::Other
        } else {
            match array.data_type() {
                DataType::Boolean => Typed::Boolean(array.as_boolean()),
                DataType::Int8 => Typed::Int8(array.as_primitive()),
                DataType::Int16 => Typed::Int16(array.as_primitive()),
                DataType::Int32 => Typed::Int32(array.as_primitive()),
                DataType::Int64 => Typed::Int64(array.as_primitive()),
                DataType::UInt8 => Typed::UInt8(array.as_primitive()),
                DataType::UInt16 => Typed::UInt16(array.as_primitive()),
                DataType::UInt32 => Typed::UInt32(array.as_primitive()),
                DataType::UInt64 => Typed::UInt64(array.as_primitive()),
                DataType::Float32 => Typed::Float32(array.as_primitive()),
                DataType::Float64 => Typed::Float64(array.as_primitive()),
                DataType::Utf8 => Typed::Utf8(array.as_string()),
                DataType::LargeUtf8 => Typed::LargeUtf8(array.as_string()),
                DataType::Utf8View => Typed::Utf8View(array.as_string_view()),
                _ => Typed::Other,
            }
        };
        Self {
            field: Some(field),
            array: Some(array),
            typed,
        }
    }

    /// The cell at `row`.
    pub(crate) fn get(&self, row: usize) -> Cell<'a> {
        let (Some(field), Some(array)) = (self.field, self.array) else {
            return Cell::Absent;
        };
        if !matches!(self.typed, Typed::Other) && array.is_null(row) {
            return Cell::Null;
        }
        let number = |number: Number| Cell::Scalar(Scalar::Number(number));
        let text = |text: &'a str| Cell::Scalar(Scalar::Text(Cow::Borrowed(text)));
        match &self.typed {
            Typed::Missing => Cell::Absent,
            Typed::Boolean(array) => Cell::Scalar(Scalar::Bool(array.value(row))),
            Typed::Int8(array) => number(array.value(row).into()),
            Typed::Int16(array) => number(array.value(row).into()),
            Typed::Int32(array) => number(array.value(row).into()),
            Typed::Int64(array) => number(array.value(row).into()),
            Typed::UInt8(array) => number(array.value(row).into()),
            Typed::UInt16(array) => number(array.value(row).into()),
            Typed::UInt32(array) => number(array.value(row).into()),
            Typed::UInt64(array) => number(array.value(row).into()),
            Typed::Float32(array) => float(f64::from(array.value(row))),
            Typed::Float64(array) => float(array.value(row)),
            Typed::Utf8(array) => text(array.value(row)),
            Typed::LargeUtf8(array) => text(array.value(row)),
            Typed::Utf8View(array) => text(array.value(row)),
            Typed::Other => match cell(field, array, row) {
                None => Cell::Absent,
                Some(Value::Null) => Cell::Null,
                Some(Value::Bool(flag)) => Cell::Scalar(Scalar::Bool(flag)),
                Some(Value::Number(value)) => number(value),
                Some(Value::String(value)) => Cell::Scalar(Scalar::Text(Cow::Owned(value))),
                Some(value) => Cell::Value(value),
            },
        }
    }
}

/// A float as the JSON view has it: a number, or its text when it is not finite.
fn float(value: f64) -> Cell<'static> {
    match Number::from_f64(value) {
        Some(number) => Cell::Scalar(Scalar::Number(number)),
        None => Cell::Scalar(Scalar::Text(Cow::Owned(value.to_string()))),
    }
}

/// Whether every value of a primitive column satisfies `keep` (nulls aside).
pub(crate) fn all_values<T: ArrowPrimitiveType>(
    array: &PrimitiveArray<T>,
    keep: impl Fn(T::Native) -> bool,
) -> bool {
    (0..array.len()).all(|row| array.is_null(row) || keep(array.value(row)))
}
