//! The one check of a connector configuration against its type, shared by the API
//! (`POST /api/v1/interop/connectors`) and the command line (`grimos flow validate`,
//! `grimos connector ...`), so both accept and refuse the same configurations.

use serde_json::Value;

/// One offending field of a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// JSON Pointer of the field, under the caller's prefix (e.g. `/config/auth/token`).
    pub path: String,
    /// What is wrong, in plain words. Never quotes the field's value (it may be a
    /// password pasted where a reference belongs, or a URL with credentials).
    pub message: String,
}

/// Validate `config` against the type's `spec` (JSON Schema) and refuse literal values in
/// secret fields (`"x-secret": true`). Problems are reported under `prefix`; at most one per
/// field. An invalid `spec` is reported as a problem at `prefix`.
pub fn validate_config(spec: &Value, config: &Value, prefix: &str) -> Vec<ConfigProblem> {
    let mut problems = Vec::new();
    if !config.is_object() {
        problems.push(ConfigProblem {
            path: prefix.to_owned(),
            message: "must be an object".to_owned(),
        });
        return problems;
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
        problems.push(ConfigProblem {
            path: format!("{prefix}{}", violation.pointer),
            message,
        });
    }
    match jsonschema::validator_for(spec) {
        Ok(validator) => {
            for error in validator.iter_errors(config) {
                let path = format!("{prefix}{}", error.instance_path());
                if !problems.iter().any(|existing| existing.path == path) {
                    problems.push(ConfigProblem {
                        path,
                        message: error.masked_with("the value").to_string(),
                    });
                }
            }
        }
        Err(error) => problems.push(ConfigProblem {
            path: prefix.to_owned(),
            message: format!("the connector type's schema is invalid: {error}"),
        }),
    }
    problems
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
                "base_url": {"type": "string", "pattern": "^https://"},
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
    fn literal_secrets_and_schema_errors_name_their_fields_without_values() {
        let problems = validate_config(
            &spec(),
            &json!({"base_url": "http://user:pa55word@x", "auth": {"type": "bearer", "token": "hunter2"}, "extra": 1}),
            "/config",
        );
        let paths: Vec<&str> = problems
            .iter()
            .map(|problem| problem.path.as_str())
            .collect();
        assert!(paths.contains(&"/config/auth/token"), "{paths:?}");
        assert!(paths.contains(&"/config/base_url"), "{paths:?}");
        assert!(
            paths.contains(&"/config"),
            "missing extra property: {paths:?}"
        );
        for problem in &problems {
            assert!(!problem.message.contains("hunter2"), "{problem:?}");
            assert!(!problem.message.contains("pa55word"), "{problem:?}");
        }
    }

    #[test]
    fn references_pass() {
        let problems = validate_config(
            &spec(),
            &json!({"base_url": "https://x", "auth": {"type": "bearer", "token": "vault:secret/crm#token"}}),
            "/config",
        );
        assert!(problems.is_empty(), "{problems:?}");
    }
}
