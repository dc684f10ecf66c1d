//! Loading a connector file: read it, find its type, validate it against the type's spec
//! (errors naming the field as a JSON Pointer, values masked), build the connector.

use std::path::Path;
use std::sync::Arc;

use connector_sdk::{Connector, Operation, SecretSource};
use serde_json::Value;

use super::error::CliError;
use crate::{ConnectorRegistry, config_file};

/// A connector file, read and validated.
#[derive(Debug, Clone)]
pub struct ConnectorFile {
    /// The connector type named by its `type` field.
    pub connector_type: String,
    /// The whole configuration (with `type`).
    pub config: Value,
}

impl ConnectorFile {
    /// The names of the configured streams (`streams[].name`), in order.
    pub fn stream_names(&self) -> Vec<&str> {
        self.config
            .get("streams")
            .and_then(Value::as_array)
            .map(|streams| {
                streams
                    .iter()
                    .filter_map(|s| s.get("name").and_then(Value::as_str))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Reads `path` (JSON or YAML) and validates it against its type's spec.
pub fn load(registry: &ConnectorRegistry, path: &Path) -> Result<ConnectorFile, CliError> {
    let config = config_file::read(path).map_err(|e| CliError::Config(e.to_string()))?;
    if !config.is_object() {
        return Err(CliError::config(
            path,
            "invalid configuration at `/`: expected an object with a `type` field",
        ));
    }
    let known = || registry.type_names().join(", ");
    let connector_type = match config.get("type") {
        Some(Value::String(name)) => name.clone(),
        Some(_) => {
            return Err(CliError::config(
                path,
                format!(
                    "invalid configuration at `/type`: expected a string, one of {}",
                    known()
                ),
            ));
        }
        None => {
            return Err(CliError::config(
                path,
                format!(
                    "invalid configuration at `/type`: missing; one of {}",
                    known()
                ),
            ));
        }
    };
    let factory = registry.factory(&connector_type).ok_or_else(|| {
        CliError::config(
            path,
            format!(
                "invalid configuration at `/type`: unknown connector type `{connector_type}`; known types: {}",
                known()
            ),
        )
    })?;
    validate(&factory.spec(), &config).map_err(|detail| CliError::config(path, detail))?;
    Ok(ConnectorFile {
        connector_type,
        config,
    })
}

/// Checks `config` against the JSON Schema `spec`; the error names the first field at
/// fault (by JSON Pointer) and how many more there are, never a value.
pub fn validate(spec: &Value, config: &Value) -> Result<(), String> {
    let validator = jsonschema::validator_for(spec)
        .map_err(|e| format!("the connector's own schema is not valid: {}", e.masked()))?;
    let mut errors = validator.iter_errors(config);
    let Some(first) = errors.next() else {
        return Ok(());
    };
    let more = errors.count();
    let pointer = match first.instance_path().as_str() {
        "" => "/".to_owned(),
        pointer => pointer.to_owned(),
    };
    let mut message = format!(
        "invalid configuration at `{pointer}`: {}",
        first.masked_with("the value")
    );
    if more > 0 {
        message.push_str(&format!(" (and {more} more)"));
    }
    Err(message)
}

/// Builds the connector of `file` (read from `path`). A configuration the factory refuses
/// is a configuration error naming the file.
pub async fn connect(
    registry: &ConnectorRegistry,
    secrets: Arc<dyn SecretSource>,
    path: &Path,
    file: &ConnectorFile,
) -> Result<Arc<dyn Connector>, CliError> {
    registry
        .build(
            &file.connector_type,
            file.config.clone(),
            &connector_sdk::BuildContext::new(secrets),
        )
        .await
        .map_err(|e| {
            if e.operation() == Operation::Build {
                CliError::config(path, e.detail())
            } else {
                CliError::connector(&e)
            }
        })
}

/// Loads `path` and builds its connector.
pub async fn build(
    registry: &ConnectorRegistry,
    secrets: Arc<dyn SecretSource>,
    path: &Path,
) -> Result<Arc<dyn Connector>, CliError> {
    let file = load(registry, path)?;
    connect(registry, secrets, path, &file).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use serde_json::json;

    use super::*;

    #[test]
    fn schema_errors_name_the_field_and_mask_the_value() {
        let spec = json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["url"],
            "properties": {
                "url": {"type": "string"},
                "password": {"type": "string", "pattern": "^env:"}
            }
        });
        let cases = [
            (json!({"url": 5}), "`/url`"),
            (json!({}), "`/`"),
            (json!({"url": "x", "passwrd": "y"}), "`/`"),
            (json!({"url": "x", "password": "hunter2"}), "`/password`"),
        ];
        for (config, pointer) in cases {
            let message = validate(&spec, &config).unwrap_err();
            assert!(message.contains(pointer), "{config}: {message}");
            assert!(!message.contains("hunter2"), "{message}");
        }
        assert!(validate(&spec, &json!({"url": "x"})).is_ok());
    }
}
