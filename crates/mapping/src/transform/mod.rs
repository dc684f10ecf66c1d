//! Transform steps, compiled once (regexes built, tables kept) and applied per value.
//!
//! String steps (`trim`, `lower`, `upper`, `lookup`, `regex_extract`, `regex_replace`)
//! apply to each item of an array, so `[{split: ","}, trim]` trims every part.
//! Null passes through every step unchanged.

mod hash;
mod lookup;
mod regex;
mod text;

use serde_json::Value;

use crate::cast::describe;
use crate::spec::TransformSpec;

pub use self::hash::Hash;
pub use self::lookup::Lookup;
pub use self::regex::{RegexExtract, RegexReplace};
pub use self::text::TextCase;

/// A compiled transform step.
#[derive(Debug, Clone)]
pub enum Step {
    /// `trim`, `lower`, `upper`.
    Text(TextCase),
    /// `split`.
    Split(String),
    /// `lookup`.
    Lookup(Lookup),
    /// `regex_extract`.
    RegexExtract(RegexExtract),
    /// `regex_replace`.
    RegexReplace(RegexReplace),
    /// `hash`.
    Hash(Hash),
}

impl Step {
    /// Compiles a step; the error says why the spec is invalid.
    pub fn compile(spec: &TransformSpec) -> Result<Self, String> {
        Ok(match spec {
            TransformSpec::Trim => Self::Text(TextCase::Trim),
            TransformSpec::Lower => Self::Text(TextCase::Lower),
            TransformSpec::Upper => Self::Text(TextCase::Upper),
            TransformSpec::Split { separator } => {
                if separator.is_empty() {
                    return Err("the `split` separator is empty".into());
                }
                Self::Split(separator.clone())
            }
            TransformSpec::Lookup { table, fallback } => {
                Self::Lookup(Lookup::new(table.clone(), fallback.clone()))
            }
            TransformSpec::RegexExtract { pattern, group } => {
                Self::RegexExtract(RegexExtract::new(pattern, *group)?)
            }
            TransformSpec::RegexReplace {
                pattern,
                replacement,
            } => Self::RegexReplace(RegexReplace::new(pattern, replacement)?),
            TransformSpec::Hash { salt } => Self::Hash(Hash::new(salt.clone())),
        })
    }

    /// The step's name, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Text(case) => case.name(),
            Self::Split(_) => "split",
            Self::Lookup(_) => "lookup",
            Self::RegexExtract(_) => "regex_extract",
            Self::RegexReplace(_) => "regex_replace",
            Self::Hash(_) => "hash",
        }
    }

    /// Applies the step to one value.
    pub fn apply(&self, value: Value) -> Result<Value, String> {
        match value {
            Value::Array(items) if self.maps_items() => items
                .into_iter()
                .map(|item| self.apply_one(item))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            other => self.apply_one(other),
        }
    }

    /// Applies the step to a borrowed value: the same result as `apply(value.clone())`,
    /// without copying what the step replaces anyway.
    pub(crate) fn apply_ref(&self, value: &Value) -> Result<Value, String> {
        match value {
            Value::Array(items) if self.maps_items() => items
                .iter()
                .map(|item| self.apply_one_ref(item))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            other => self.apply_one_ref(other),
        }
    }

    /// Whether the step applies to each item of an array (string steps and `lookup`).
    fn maps_items(&self) -> bool {
        !matches!(self, Self::Split(_) | Self::Hash(_))
    }

    /// Applies the step to one item (the whole value for `split` and `hash`), reusing the
    /// string when nothing changes.
    fn apply_one(&self, value: Value) -> Result<Value, String> {
        match (self, value) {
            (Self::Text(case), Value::String(text)) => Ok(Value::String(case.apply(text))),
            (Self::RegexReplace(replace), Value::String(text)) => {
                Ok(Value::String(replace.apply(text)))
            }
            (_, other) => self.apply_one_ref(&other),
        }
    }

    /// Applies the step to one borrowed item (the whole value for `split` and `hash`).
    fn apply_one_ref(&self, value: &Value) -> Result<Value, String> {
        match (self, value) {
            (Self::Hash(hash), _) => Ok(hash.apply(value)),
            (_, Value::Null) => Ok(Value::Null),
            (Self::Lookup(lookup), _) => lookup.apply(value),
            (Self::Split(separator), Value::String(text)) => Ok(Value::Array(
                text.split(separator.as_str())
                    .map(|part| Value::String(part.to_string()))
                    .collect(),
            )),
            (Self::Text(case), Value::String(text)) => Ok(Value::String(case.apply_str(text))),
            (Self::RegexExtract(extract), Value::String(text)) => Ok(extract.apply(text)),
            (Self::RegexReplace(replace), Value::String(text)) => {
                Ok(Value::String(replace.apply_str(text)))
            }
            (_, other) => Err(format!(
                "{} expects a string, got {}",
                self.name(),
                describe(other)
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn borrowed_and_owned_values_give_the_same_results() {
        let specs = [
            json!("trim"),
            json!("lower"),
            json!("upper"),
            json!({"split": ","}),
            json!({"lookup": {"table": {"a": "A", "1": "one"}, "fallback": "?"}}),
            json!({"lookup": {"table": {"a": "A"}}}),
            json!({"regex_extract": "(\\d+)"}),
            json!({"regex_replace": {"pattern": "[aeiou]", "replacement": "_"}}),
            json!("hash"),
        ];
        let values = [
            json!(null),
            json!(""),
            json!(" a,b , C "),
            json!("straße 12"),
            json!("xyz"),
            json!(1),
            json!(true),
            json!(["a", " B ", null, "c,d"]),
            json!(["a", 1]),
            json!([["nested"]]),
            json!({"k": "v"}),
        ];
        for spec in specs {
            let step = serde_json::from_value::<TransformSpec>(spec.clone())
                .map_err(|e| e.to_string())
                .and_then(|spec| Step::compile(&spec));
            let Ok(step) = step else {
                panic!("{spec} does not compile: {step:?}");
            };
            for value in &values {
                assert_eq!(
                    step.apply_ref(value),
                    step.apply(value.clone()),
                    "{spec} on {value}"
                );
            }
        }
    }
}
