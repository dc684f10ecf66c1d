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
        match self {
            Self::Split(separator) => match value {
                Value::Null => Ok(Value::Null),
                Value::String(text) => Ok(Value::Array(
                    text.split(separator.as_str())
                        .map(|part| Value::String(part.to_string()))
                        .collect(),
                )),
                other => Err(format!("split expects a string, got {}", describe(&other))),
            },
            Self::Hash(hash) => Ok(hash.apply(&value)),
            _ => match value {
                Value::Array(items) => items
                    .into_iter()
                    .map(|item| self.apply_one(item))
                    .collect::<Result<Vec<_>, _>>()
                    .map(Value::Array),
                other => self.apply_one(other),
            },
        }
    }

    fn apply_one(&self, value: Value) -> Result<Value, String> {
        if value.is_null() {
            return Ok(Value::Null);
        }
        match self {
            Self::Lookup(lookup) => lookup.apply(&value),
            _ => {
                let Value::String(text) = value else {
                    return Err(format!(
                        "{} expects a string, got {}",
                        self.name(),
                        describe(&value)
                    ));
                };
                Ok(match self {
                    Self::Text(case) => Value::String(case.apply(text)),
                    Self::RegexExtract(extract) => extract.apply(&text),
                    Self::RegexReplace(replace) => Value::String(replace.apply(text)),
                    Self::Split(_) | Self::Hash(_) | Self::Lookup(_) => Value::String(text),
                })
            }
        }
    }
}
