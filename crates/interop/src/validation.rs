//! Checking a connector configuration before it is stored.

use kernel::{Error, FieldError};
use serde_json::Value;

/// Validate `config` against the type's `spec` (JSON Schema) and refuse literal values in
/// secret fields. Errors are reported under `prefix` (e.g. `/config`).
pub fn validate_config(spec: &Value, config: &Value, prefix: &str) -> Result<(), Error> {
    let mut errors = Vec::new();
    if !config.is_object() {
        errors.push(FieldError::new(prefix, "must be an object"));
        return Err(Error::validation(errors));
    }
    for violation in secrets::find_literal_secrets(config, spec) {
        let message = match violation.problem {
            secrets::SecretFieldProblem::LiteralValue => "is a secret field and must hold a secret reference \
                (vault:<mount>/<path>#<field>, env:NAME, file:/path or local:NAME), not the secret itself; \
                store the value with PUT /api/v1/secrets/{name} and use local:{name}"
                .to_owned(),
            secrets::SecretFieldProblem::InvalidReference(reason) => {
                format!("is not a valid secret reference: {reason}")
            }
        };
        errors.push(FieldError::new(
            format!("{prefix}{}", violation.pointer),
            message,
        ));
    }
    match jsonschema::validator_for(spec) {
        Ok(validator) => {
            for error in validator.iter_errors(config) {
                let path = format!("{prefix}{}", error.instance_path());
                if !errors.iter().any(|existing| existing.path == path) {
                    errors.push(FieldError::new(path, error.to_string()));
                }
            }
        }
        Err(error) => {
            return Err(Error::internal(std::io::Error::other(format!(
                "the connector type's schema is invalid: {error}"
            ))));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::validation(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec() -> Value {
        json!({
            "type": "object",
            "required": ["base_url", "auth"],
            "additionalProperties": false,
            "properties": {
                "base_url": {"type": "string"},
                "auth": {
                    "type": "object",
                    "properties": {
                        "type": {"enum": ["bearer"]},
                        "token": {"type": "string", "x-secret": true}
                    }
                }
            }
        })
    }

    #[test]
    fn literal_secrets_and_schema_errors_name_their_fields() {
        let error = validate_config(
            &spec(),
            &json!({"auth": {"type": "bearer", "token": "hunter2"}, "extra": 1}),
            "/config",
        )
        .unwrap_err();
        let paths: Vec<&str> = error
            .fields()
            .iter()
            .map(|field| field.path.as_str())
            .collect();
        assert!(paths.contains(&"/config/auth/token"), "{paths:?}");
        assert!(
            paths.contains(&"/config"),
            "missing base_url and extra property: {paths:?}"
        );
        assert!(
            error
                .fields()
                .iter()
                .all(|field| !field.message.contains("hunter2"))
        );
    }

    #[test]
    fn references_pass() {
        validate_config(
            &spec(),
            &json!({"base_url": "https://x", "auth": {"type": "bearer", "token": "vault:secret/crm#token"}}),
            "/config",
        )
        .unwrap();
    }
}
