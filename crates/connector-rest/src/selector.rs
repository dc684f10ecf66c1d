//! Locating values in a JSON document: a JSONPath (RFC 9535, `$.data`) or a JSON Pointer
//! (RFC 6901, `/data`).
//!
//! Simple dotted paths (`$.data`, `$.result.items`) are turned into pointers so records can
//! be moved out of the document instead of cloned.

use serde_json::Value;
use serde_json_path::JsonPath;

/// A compiled location in a JSON document.
#[derive(Debug, Clone)]
pub(crate) enum Selector {
    /// A JSON Pointer (`""` is the whole document).
    Pointer(String),
    /// A general JSONPath query.
    Path(Box<JsonPath>),
}

impl Selector {
    /// The whole document.
    pub(crate) fn root() -> Self {
        Self::Pointer(String::new())
    }

    /// Parses `text`: a JSONPath starting with `$` or a JSON Pointer starting with `/`.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        if text.starts_with('/') {
            return Ok(Self::Pointer(text.to_owned()));
        }
        if !text.starts_with('$') {
            return Err(format!(
                "`{text}` is neither a JSONPath (starting with `$`) nor a JSON Pointer (starting with `/`)"
            ));
        }
        if let Some(pointer) = simple_path_to_pointer(text) {
            return Ok(Self::Pointer(pointer));
        }
        JsonPath::parse(text)
            .map(|path| Self::Path(Box::new(path)))
            .map_err(|e| format!("`{text}` is not a valid JSONPath: {e}"))
    }

    /// The first value found, if any.
    pub(crate) fn first<'a>(&self, document: &'a Value) -> Option<&'a Value> {
        match self {
            Self::Pointer(pointer) => document.pointer(pointer),
            Self::Path(path) => path.query(document).first(),
        }
    }

    /// How many items [`Self::take_items`] would take.
    pub(crate) fn count(&self, document: &Value) -> usize {
        match self {
            Self::Pointer(pointer) => match document.pointer(pointer) {
                Some(Value::Array(items)) => items.len(),
                Some(Value::Null) | None => 0,
                Some(_) => 1,
            },
            Self::Path(path) => {
                let nodes = path.query(document).all();
                match nodes.as_slice() {
                    [Value::Array(items)] => items.len(),
                    _ => nodes.iter().filter(|v| !v.is_null()).count(),
                }
            }
        }
    }

    /// The items found, moved out of `document`: the elements when the location is one
    /// array, else every node found (a lone object is one item).
    pub(crate) fn take_items(&self, document: &mut Value) -> Vec<Value> {
        match self {
            Self::Pointer(pointer) => match document.pointer_mut(pointer).map(Value::take) {
                Some(Value::Array(items)) => items,
                Some(Value::Null) | None => Vec::new(),
                Some(other) => vec![other],
            },
            Self::Path(path) => {
                let nodes = path.query(document).all();
                match nodes.as_slice() {
                    [Value::Array(items)] => items.clone(),
                    _ => nodes
                        .into_iter()
                        .filter(|v| !v.is_null())
                        .cloned()
                        .collect(),
                }
            }
        }
    }
}

/// `$` -> `""`, `$.a.b` -> `/a/b` when every segment is a plain name.
fn simple_path_to_pointer(text: &str) -> Option<String> {
    let rest = text.strip_prefix('$')?;
    if rest.is_empty() {
        return Some(String::new());
    }
    let mut pointer = String::new();
    for segment in rest.strip_prefix('.')?.split('.') {
        let plain = !segment.is_empty()
            && segment
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !plain || segment.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        pointer.push('/');
        pointer.push_str(segment);
    }
    Some(pointer)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn selectors_find_and_take_records() {
        let cases: &[(&str, Value, Vec<Value>)] = &[
            ("$.data", json!({"data": [{"a": 1}]}), vec![json!({"a": 1})]),
            ("/data", json!({"data": [{"a": 1}]}), vec![json!({"a": 1})]),
            (
                "$",
                json!([{"a": 1}, {"a": 2}]),
                vec![json!({"a": 1}), json!({"a": 2})],
            ),
            (
                "$.data[*].node",
                json!({"data": [{"node": {"a": 1}}, {"node": {"a": 2}}]}),
                vec![json!({"a": 1}), json!({"a": 2})],
            ),
            (
                "$['data']",
                json!({"data": [{"a": 1}]}),
                vec![json!({"a": 1})],
            ),
            ("$.missing", json!({"data": []}), vec![]),
            ("$.one", json!({"one": {"a": 1}}), vec![json!({"a": 1})]),
        ];
        for (path, document, expected) in cases {
            let selector = Selector::parse(path).unwrap();
            let mut document = document.clone();
            assert_eq!(selector.count(&document), expected.len(), "{path}");
            assert_eq!(&selector.take_items(&mut document), expected, "{path}");
        }
    }

    #[test]
    fn bad_selectors_are_refused() {
        assert!(Selector::parse("data").is_err());
        assert!(Selector::parse("$[").is_err());
        assert_eq!(
            Selector::parse("$.next")
                .unwrap()
                .first(&json!({"next": "x"})),
            Some(&json!("x"))
        );
    }
}
