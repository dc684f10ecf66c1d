//! Building one output column from the values a rule writes, row by row.
//!
//! The column starts typed after the first value (booleans, 64-bit integers, floats,
//! strings, dates, instants) and stays typed while every value fits; a value that does not
//! (another kind, a field the rule does not write, an object) turns it into JSON values,
//! typed at the end the way [`connector_sdk::Batch::from_records`] types a field. Whatever
//! the path, the column's JSON view (see [`connector_sdk::batch`]) is exactly the values
//! pushed.

use std::fmt::Write as _;
use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Date32Builder, Float64Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, NullArray};
use arrow_schema::{DataType, Field, TimeUnit};
use chrono::{DateTime, Datelike as _, NaiveDate, Timelike as _, Utc};
use connector_sdk::batch::{json_field, value};
use rust_decimal::Decimal;
use serde_json::{Number, Value};

use crate::cast::{render_date, render_timestamp};

/// The time zone of the instants a `timestamp` cast writes (their JSON view is in UTC).
pub(crate) const UTC_OFFSET: &str = "+00:00";

/// Days from 0001-01-01 (day 1) to 1970-01-01, the epoch of `Date32`.
const EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// One value of a rule's output for one row.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Slot<'a> {
    /// The rule writes no field.
    Absent,
    /// JSON `null`.
    Null,
    Bool(bool),
    Int(i64),
    /// A finite float.
    Float(f64),
    Number(&'a Number),
    Text(&'a str),
    /// A decimal, written as its text.
    Decimal(Decimal),
    /// A date, written `YYYY-MM-DD`.
    Date(NaiveDate),
    /// An instant, written as a `timestamp` cast writes it.
    Instant(DateTime<Utc>),
    /// Any JSON value.
    Value(&'a Value),
}

/// Collects one output column.
#[derive(Debug)]
pub(crate) struct ColumnBuilder {
    capacity: usize,
    state: State,
}

#[derive(Debug)]
enum State {
    /// Only nulls so far (how many).
    Nulls(usize),
    Bool(BooleanBuilder),
    Int(Int64Builder),
    Float(Float64Builder),
    Text(StringBuilder),
    Date(Date32Builder),
    Instant(TimestampMicrosecondBuilder),
    /// Mixed values, or fields some rows lack (`None`).
    Json(Vec<Option<Value>>),
}

impl ColumnBuilder {
    /// A builder for `capacity` rows.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            state: State::Nulls(0),
        }
    }

    /// Appends one row's value.
    pub(crate) fn push(&mut self, slot: Slot<'_>) {
        match slot {
            Slot::Absent => self.push_json(None),
            Slot::Null => self.push_null(),
            Slot::Bool(flag) => self.push_bool(flag),
            Slot::Int(int) => self.push_int(int),
            Slot::Float(float) => self.push_float(float),
            Slot::Number(number) => self.push_number(number),
            Slot::Text(text) => self.push_text(text),
            Slot::Decimal(decimal) => self.push_decimal(decimal),
            Slot::Date(date) => self.push_date(date),
            Slot::Instant(instant) => self.push_instant(instant),
            Slot::Value(value) => self.push_value(value),
        }
    }

    fn push_value(&mut self, value: &Value) {
        match value {
            Value::Null => self.push_null(),
            Value::Bool(flag) => self.push_bool(*flag),
            Value::Number(number) => self.push_number(number),
            Value::String(text) => self.push_text(text),
            Value::Array(_) | Value::Object(_) => self.push_json(Some(value.clone())),
        }
    }

    fn push_null(&mut self) {
        match &mut self.state {
            State::Nulls(count) => *count += 1,
            State::Bool(builder) => builder.append_null(),
            State::Int(builder) => builder.append_null(),
            State::Float(builder) => builder.append_null(),
            State::Text(builder) => builder.append_null(),
            State::Date(builder) => builder.append_null(),
            State::Instant(builder) => builder.append_null(),
            State::Json(values) => values.push(Some(Value::Null)),
        }
    }

    fn push_bool(&mut self, flag: bool) {
        if let State::Nulls(nulls) = self.state {
            let mut builder = BooleanBuilder::with_capacity(self.capacity);
            builder.append_nulls(nulls);
            self.state = State::Bool(builder);
        }
        match &mut self.state {
            State::Bool(builder) => builder.append_value(flag),
            _ => self.push_json(Some(Value::Bool(flag))),
        }
    }

    fn push_int(&mut self, int: i64) {
        if let State::Nulls(nulls) = self.state {
            let mut builder = Int64Builder::with_capacity(self.capacity);
            builder.append_nulls(nulls);
            self.state = State::Int(builder);
        }
        match &mut self.state {
            State::Int(builder) => builder.append_value(int),
            _ => self.push_json(Some(Value::from(int))),
        }
    }

    fn push_float(&mut self, float: f64) {
        let Some(number) = Number::from_f64(float) else {
            // Not finite: no JSON number; the callers never push one.
            return self.push_null();
        };
        if let State::Nulls(nulls) = self.state {
            let mut builder = Float64Builder::with_capacity(self.capacity);
            builder.append_nulls(nulls);
            self.state = State::Float(builder);
        }
        match &mut self.state {
            State::Float(builder) => builder.append_value(float),
            _ => self.push_json(Some(Value::Number(number))),
        }
    }

    fn push_number(&mut self, number: &Number) {
        if let Some(int) = number.as_i64() {
            self.push_int(int);
        } else if let (true, Some(float)) = (number.is_f64(), number.as_f64()) {
            self.push_float(float);
        } else {
            // Beyond the 64-bit signed range: JSON, as `Batch::from_records` keeps it.
            self.push_json(Some(Value::Number(number.clone())));
        }
    }

    fn text_builder(&mut self) -> Option<&mut StringBuilder> {
        if let State::Nulls(nulls) = self.state {
            let mut builder = StringBuilder::with_capacity(self.capacity, self.capacity * 16);
            builder.append_nulls(nulls);
            self.state = State::Text(builder);
        }
        match &mut self.state {
            State::Text(builder) => Some(builder),
            _ => None,
        }
    }

    fn push_text(&mut self, text: &str) {
        match self.text_builder() {
            Some(builder) => builder.append_value(text),
            None => self.push_json(Some(Value::String(text.to_owned()))),
        }
    }

    fn push_decimal(&mut self, decimal: Decimal) {
        match self.text_builder() {
            Some(builder) => {
                // Writing to a string builder cannot fail.
                let _ = write!(builder, "{decimal}");
                builder.append_value("");
            }
            None => self.push_json(Some(Value::String(decimal.to_string()))),
        }
    }

    fn push_date(&mut self, date: NaiveDate) {
        if let State::Nulls(nulls) = self.state {
            let mut builder = Date32Builder::with_capacity(self.capacity);
            builder.append_nulls(nulls);
            self.state = State::Date(builder);
        }
        match &mut self.state {
            State::Date(builder) => {
                builder.append_value(date.num_days_from_ce() - EPOCH_DAYS_FROM_CE)
            }
            _ => self.push_text(&render_date(date)),
        }
    }

    fn push_instant(&mut self, instant: DateTime<Utc>) {
        // A Timestamp(µs) column holds it only when it has no finer digits and is not a
        // leap second; otherwise its text.
        let nanos = instant.nanosecond();
        if nanos >= 1_000_000_000 || !nanos.is_multiple_of(1_000) {
            return self.push_text(&render_timestamp(instant));
        }
        if let State::Nulls(nulls) = self.state {
            let mut builder =
                TimestampMicrosecondBuilder::with_capacity(self.capacity).with_timezone(UTC_OFFSET);
            builder.append_nulls(nulls);
            self.state = State::Instant(builder);
        }
        match &mut self.state {
            State::Instant(builder) => builder.append_value(instant.timestamp_micros()),
            _ => self.push_text(&render_timestamp(instant)),
        }
    }

    /// Appends a JSON value (`None`: no field), first turning a typed column built so
    /// far into JSON values.
    fn push_json(&mut self, pushed: Option<Value>) {
        if !matches!(self.state, State::Json(_)) {
            let state = std::mem::replace(&mut self.state, State::Nulls(0));
            let mut values = Vec::with_capacity(self.capacity);
            match state {
                State::Nulls(count) => values.resize(count, Some(Value::Null)),
                typed => {
                    let (field, array) = finish_typed(typed, "");
                    values.extend((0..array.len()).map(|row| Some(value(&field, &array, row))));
                }
            }
            self.state = State::Json(values);
        }
        if let State::Json(values) = &mut self.state {
            values.push(pushed);
        }
    }

    /// The column, named `name`.
    pub(crate) fn finish(self, name: &str) -> (Field, ArrayRef) {
        match self.state {
            State::Json(values) => json_values_column(name, &values),
            typed => finish_typed(typed, name),
        }
    }
}

fn finish_typed(state: State, name: &str) -> (Field, ArrayRef) {
    let (data_type, array): (DataType, ArrayRef) = match state {
        State::Nulls(count) => (DataType::Null, Arc::new(NullArray::new(count))),
        State::Bool(mut builder) => (DataType::Boolean, Arc::new(builder.finish())),
        State::Int(mut builder) => (DataType::Int64, Arc::new(builder.finish())),
        State::Float(mut builder) => (DataType::Float64, Arc::new(builder.finish())),
        State::Text(mut builder) => (DataType::Utf8, Arc::new(builder.finish())),
        State::Date(mut builder) => (DataType::Date32, Arc::new(builder.finish())),
        State::Instant(mut builder) => (
            DataType::Timestamp(TimeUnit::Microsecond, Some(UTC_OFFSET.into())),
            Arc::new(builder.finish()),
        ),
        State::Json(values) => return json_values_column(name, &values),
    };
    (Field::new(name, data_type, true), array)
}

/// What the present values of a field have in common.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Unseen,
    Bool,
    Int,
    Float,
    Text,
    Json,
}

fn kind_of(value: &Value) -> Kind {
    match value {
        Value::Null => Kind::Unseen,
        Value::Bool(_) => Kind::Bool,
        Value::Number(number) if number.is_i64() => Kind::Int,
        Value::Number(number) if number.is_f64() => Kind::Float,
        Value::String(_) => Kind::Text,
        _ => Kind::Json,
    }
}

/// The column of JSON values (`None`: the row has no such field), typed when every row has
/// the field and its values share a kind, a JSON column otherwise.
fn json_values_column(name: &str, values: &[Option<Value>]) -> (Field, ArrayRef) {
    let mut kind = Kind::Unseen;
    for value in values {
        let this = match value {
            None => Kind::Json,
            Some(value) => kind_of(value),
        };
        kind = match (kind, this) {
            (kind, Kind::Unseen) => kind,
            (Kind::Unseen, this) => this,
            (kind, this) if kind == this => kind,
            _ => Kind::Json,
        };
        if kind == Kind::Json {
            break;
        }
    }
    let mut typed = ColumnBuilder::new(values.len());
    if kind != Kind::Json {
        for value in values.iter().flatten() {
            typed.push_value(value);
        }
        return finish_typed(typed.state, name);
    }
    let mut builder = StringBuilder::with_capacity(values.len(), values.len() * 32);
    for value in values {
        match value {
            Some(value) => {
                // Writing to a string builder cannot fail.
                let _ = write!(builder, "{value}");
                builder.append_value("");
            }
            None => builder.append_null(),
        }
    }
    (json_field(name), Arc::new(builder.finish()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use connector_sdk::batch::cell;
    use serde_json::json;

    use super::*;

    fn view(builder: ColumnBuilder) -> (DataType, Vec<Option<Value>>) {
        let (field, array) = builder.finish("x");
        let values = (0..array.len())
            .map(|row| cell(&field, array.as_ref(), row))
            .collect();
        (field.data_type().clone(), values)
    }

    #[test]
    fn typed_while_values_share_a_kind_json_once_they_do_not() {
        let mut ints = ColumnBuilder::new(3);
        ints.push(Slot::Null);
        ints.push(Slot::Int(4));
        ints.push(Slot::Value(&json!(-2)));
        assert_eq!(
            view(ints),
            (
                DataType::Int64,
                vec![Some(json!(null)), Some(json!(4)), Some(json!(-2))]
            )
        );

        let mut mixed = ColumnBuilder::new(4);
        mixed.push(Slot::Int(1));
        mixed.push(Slot::Text("a"));
        mixed.push(Slot::Absent);
        mixed.push(Slot::Value(&json!({"k": [1]})));
        let (data_type, values) = view(mixed);
        assert_eq!(data_type, DataType::Utf8);
        assert_eq!(
            values,
            vec![
                Some(json!(1)),
                Some(json!("a")),
                None,
                Some(json!({"k": [1]}))
            ]
        );
    }

    #[test]
    fn instants_stay_typed_unless_finer_than_a_microsecond() {
        let at = |text: &str| DateTime::parse_from_rfc3339(text).unwrap().to_utc();
        let mut instants = ColumnBuilder::new(2);
        instants.push(Slot::Instant(at("2024-05-01T10:00:00.123456Z")));
        instants.push(Slot::Null);
        let (data_type, values) = view(instants);
        assert!(matches!(data_type, DataType::Timestamp(..)));
        assert_eq!(
            values,
            vec![
                Some(json!("2024-05-01T10:00:00.123456Z")),
                Some(json!(null))
            ]
        );

        let mut fine = ColumnBuilder::new(2);
        fine.push(Slot::Instant(at("2024-05-01T10:00:00Z")));
        fine.push(Slot::Instant(at("2024-05-01T10:00:00.123456789Z")));
        assert_eq!(
            view(fine),
            (
                DataType::Utf8,
                vec![
                    Some(json!("2024-05-01T10:00:00Z")),
                    Some(json!("2024-05-01T10:00:00.123456789Z"))
                ]
            )
        );
    }
}
