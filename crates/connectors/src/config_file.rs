//! Connector and flow files: JSON or YAML, chosen by the file's extension (`.json`;
//! `.yaml`/`.yml`), or by its first character when the extension says nothing.

use std::path::Path;

use serde_json::Value;

/// Why a configuration file could not be read; `Display` is one line naming the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFileError(pub String);

impl std::fmt::Display for ConfigFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigFileError {}

/// Read `path` as a JSON value.
pub fn read(path: &Path) -> Result<Value, ConfigFileError> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| ConfigFileError(format!("cannot read {}: {error}", path.display())))?;
    parse(&text, path)
}

/// Parse `text` (the contents of `path`) as JSON or YAML.
pub fn parse(text: &str, path: &Path) -> Result<Value, ConfigFileError> {
    let extension = path
        .extension()
        .and_then(|extension| extension.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let looks_like_json = matches!(text.trim_start().chars().next(), Some('{' | '['));
    if extension == "json" || (extension != "yaml" && extension != "yml" && looks_like_json) {
        serde_json::from_str(text).map_err(|error| {
            ConfigFileError(format!("{} is not valid JSON: {error}", path.display()))
        })
    } else {
        serde_norway::from_str(text).map_err(|error| {
            ConfigFileError(format!("{} is not valid YAML: {error}", path.display()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_yaml_read_to_the_same_value() {
        let json = parse(
            r#"{"type": "rest", "streams": [{"name": "a"}]}"#,
            Path::new("c.json"),
        )
        .unwrap();
        let yaml = parse("type: rest\nstreams:\n  - name: a\n", Path::new("c.yaml")).unwrap();
        assert_eq!(json, yaml);
        let guessed = parse("{\"type\": \"sql\"}", Path::new("c")).unwrap();
        assert_eq!(guessed["type"], "sql");
    }

    #[test]
    fn broken_files_name_the_file_and_the_position() {
        let error = parse("type: [rest", Path::new("source.yaml")).unwrap_err();
        assert!(
            error.0.starts_with("source.yaml is not valid YAML"),
            "{error}"
        );
        let error = parse("{\"type\": }", Path::new("source.json")).unwrap_err();
        assert!(error.0.contains("line 1"), "{error}");
    }
}
