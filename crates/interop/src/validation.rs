//! Checking a connector configuration before it is stored: the shared check of
//! [`connectors::validate_config`], as a validation error.

use kernel::{Error, FieldError};
use serde_json::Value;

/// Validate `config` against the type's `spec` (JSON Schema) and refuse literal values in
/// secret fields. Errors are reported under `prefix` (e.g. `/config`).
pub fn validate_config(spec: &Value, config: &Value, prefix: &str) -> Result<(), Error> {
    let problems = ::connectors::validate_config(spec, config, prefix);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::validation(
            problems
                .into_iter()
                .map(|problem| FieldError::new(problem.path, problem.message))
                .collect(),
        ))
    }
}
