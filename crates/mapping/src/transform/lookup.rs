//! `lookup`: replaces a value by its entry in a table.

use serde_json::{Map, Value};

use crate::cast::describe;

/// A lookup table with an optional fallback.
#[derive(Debug, Clone)]
pub struct Lookup {
    table: Map<String, Value>,
    fallback: Option<Value>,
}

impl Lookup {
    /// A lookup in `table` (keys are the string form of input values).
    pub fn new(table: Map<String, Value>, fallback: Option<Value>) -> Self {
        Self { table, fallback }
    }

    /// The table values and the fallback: every value the step can produce.
    pub fn outputs(&self) -> impl Iterator<Item = &Value> {
        self.table.values().chain(self.fallback.iter())
    }

    /// Looks `value` up: strings by themselves, numbers and booleans by their JSON text.
    pub fn apply(&self, value: &Value) -> Result<Value, String> {
        let found = match value {
            Value::String(key) => self.table.get(key),
            Value::Number(_) | Value::Bool(_) => self.table.get(&value.to_string()),
            _ => None,
        };
        match (found, &self.fallback) {
            (Some(found), _) => Ok(found.clone()),
            (None, Some(fallback)) => Ok(fallback.clone()),
            (None, None) => Err(format!(
                "no lookup entry for {} and no fallback",
                describe(value)
            )),
        }
    }
}
