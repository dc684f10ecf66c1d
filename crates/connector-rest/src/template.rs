//! Templates: `{name}` placeholders in paths (filled from a record's fields, percent-encoded)
//! and in JSON body templates (filled with pagination and incremental values).

use std::collections::BTreeMap;

use serde_json::Value;

/// A text split into literal parts and `{name}` placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TextTemplate {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Placeholder(String),
}

impl TextTemplate {
    /// Parses `text`; an unclosed or empty `{}` is an error.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(Part::Literal(rest[..open].to_owned()));
            }
            let after = &rest[open + 1..];
            let close = after
                .find('}')
                .ok_or_else(|| format!("unclosed `{{` in `{text}`"))?;
            let name = after[..close].trim();
            if name.is_empty() || name.contains('{') {
                return Err(format!("empty or nested placeholder in `{text}`"));
            }
            parts.push(Part::Placeholder(name.to_owned()));
            rest = &after[close + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_owned()));
        }
        Ok(Self { parts })
    }

    /// The placeholder names, in order.
    pub(crate) fn placeholders(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Placeholder(name) => Some(name.as_str()),
            Part::Literal(_) => None,
        })
    }

    /// Whether the template has no placeholder.
    pub(crate) fn is_literal(&self) -> bool {
        self.placeholders().next().is_none()
    }

    /// Fills a path from a record: each value percent-encoded as one path segment. Returns
    /// the name of a field that is missing, null or not a scalar.
    pub(crate) fn render_path(
        &self,
        record: &serde_json::Map<String, Value>,
    ) -> Result<String, String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Placeholder(name) => match record.get(name).and_then(scalar_text) {
                    Some(text) => encode_segment(&text, &mut out),
                    None => return Err(name.clone()),
                },
            }
        }
        Ok(out)
    }
}

/// The text form of a scalar JSON value (strings unquoted); `None` for null, arrays, objects.
pub(crate) fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn encode_segment(text: &str, out: &mut String) {
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
}

/// The placeholder names used anywhere in a JSON body template.
pub(crate) fn body_placeholders(template: &Value) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    walk_strings(template, &mut |text| {
        let parsed = TextTemplate::parse(text)?;
        names.extend(parsed.placeholders().map(str::to_owned));
        Ok(())
    })?;
    Ok(names)
}

fn walk_strings(
    value: &Value,
    visit: &mut impl FnMut(&str) -> Result<(), String>,
) -> Result<(), String> {
    match value {
        Value::String(text) => visit(text),
        Value::Array(items) => items.iter().try_for_each(|v| walk_strings(v, visit)),
        Value::Object(map) => map.values().try_for_each(|v| walk_strings(v, visit)),
        _ => Ok(()),
    }
}

/// Fills a JSON body template. A string that is exactly `"{name}"` becomes the variable's
/// JSON value (keeping its type); an object member whose whole value is such a placeholder
/// with no value is left out (no `"cursor": null` on the first page); placeholders inside
/// longer strings are replaced by the value's text (empty when absent).
pub(crate) fn render_body(template: &Value, vars: &BTreeMap<&str, Value>) -> Value {
    match template {
        Value::String(text) => match whole_placeholder(text) {
            Some(name) => vars.get(name).cloned().unwrap_or(Value::Null),
            None => Value::String(interpolate(text, vars)),
        },
        Value::Array(items) => Value::Array(items.iter().map(|v| render_body(v, vars)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| {
                    !matches!(v, Value::String(t) if whole_placeholder(t).is_some_and(|n| !vars.contains_key(n)))
                })
                .map(|(k, v)| (k.clone(), render_body(v, vars)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn whole_placeholder(text: &str) -> Option<&str> {
    let inner = text.strip_prefix('{')?.strip_suffix('}')?.trim();
    (!inner.is_empty() && !inner.contains(['{', '}'])).then_some(inner)
}

fn interpolate(text: &str, vars: &BTreeMap<&str, Value>) -> String {
    let Ok(template) = TextTemplate::parse(text) else {
        return text.to_owned();
    };
    let mut out = String::new();
    for part in &template.parts {
        match part {
            Part::Literal(t) => out.push_str(t),
            Part::Placeholder(name) => {
                if let Some(value) = vars.get(name.as_str()).and_then(scalar_text) {
                    out.push_str(&value);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_take_encoded_record_fields() {
        let template = TextTemplate::parse("/customers/{id}/notes/{key}").unwrap();
        let record = json!({"id": 7, "key": "a b/c"});
        let record = record.as_object().unwrap();
        assert_eq!(
            template.render_path(record).unwrap(),
            "/customers/7/notes/a%20b%2Fc"
        );
        let missing = json!({"id": 7});
        assert_eq!(
            template
                .render_path(missing.as_object().unwrap())
                .unwrap_err(),
            "key"
        );
        assert!(TextTemplate::parse("/x/{id").is_err());
        assert!(TextTemplate::parse("/x/{}").is_err());
    }

    #[test]
    fn bodies_substitute_typed_values_and_drop_absent_ones() {
        let template = json!({"query": "status:{status}", "cursor": "{cursor}", "limit": "{limit}",
                              "nested": [{"since": "{incremental}"}]});
        let vars = BTreeMap::from([("limit", json!(50)), ("incremental", json!("2024-01-01"))]);
        assert_eq!(
            render_body(&template, &vars),
            json!({"query": "status:", "limit": 50, "nested": [{"since": "2024-01-01"}]})
        );
        let mut names = body_placeholders(&template).unwrap();
        names.sort();
        assert_eq!(names, vec!["cursor", "incremental", "limit", "status"]);
    }
}
