//! The errors of this crate: spec errors (found when compiling or validating a mapping) and
//! record errors (found when applying a compiled mapping to one record).

use serde::{Deserialize, Serialize};

/// A problem in a mapping spec, found when it is compiled or validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{path}: {message}")]
pub struct MappingError {
    /// The index of the (top-level) rule at fault, when the problem belongs to one rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<usize>,
    /// A JSON Pointer into the mapping spec, e.g. `/rules/2/cast`.
    pub path: String,
    /// What is wrong, for a person.
    pub message: String,
}

impl MappingError {
    /// An error of rule `rule` at `path`.
    pub fn new(rule: Option<usize>, path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            rule,
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Why one record could not be mapped by one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("rule {rule} (target `{target}`): {message}")]
pub struct RecordError {
    /// The index of the top-level rule that failed.
    pub rule: usize,
    /// The target field the rule writes, with array indexes for nested rules
    /// (e.g. `lines[3].sku`).
    pub target: String,
    /// Why, e.g. `cannot cast "abc" to int`.
    pub message: String,
}
