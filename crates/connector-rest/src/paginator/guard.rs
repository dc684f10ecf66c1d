//! The progress guard: a read must move forward. A next cursor or next URL already used,
//! or a page whose records equal an earlier page's, means the API is not advancing (it
//! ignores the page parameter, or loops), and the read stops with an error naming the page
//! instead of running forever.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use serde_json::Value;

use super::PageToken;
use connector_sdk::Record;

/// What the guard has seen so far in one read: hashes only, so memory stays small.
#[derive(Debug, Default)]
pub(crate) struct ProgressGuard {
    tokens: HashMap<u64, u64>,
    contents: HashMap<u64, u64>,
}

impl ProgressGuard {
    /// Checks page `page` (its records' `content` hash and the `next` token it gave) against
    /// the earlier pages and, when it moves forward, remembers it. The error explains what
    /// repeated.
    pub(crate) fn advance(
        &mut self,
        page: u64,
        content: Option<u64>,
        next: Option<&PageToken>,
    ) -> Result<(), String> {
        if let Some(content) = content
            && let Some(earlier) = self.contents.get(&content)
        {
            return Err(format!(
                "the progress guard stopped the read: page {page} returned the same records as page {earlier} \
                 (the API seems to ignore the pagination parameter)"
            ));
        }
        let token = match next {
            Some(PageToken::Cursor(cursor)) => {
                Some(("cursor", cursor.clone(), hash_of(&("cursor", cursor))))
            }
            Some(PageToken::Url(url)) => {
                Some(("next URL", url.to_string(), hash_of(&("url", url.as_str()))))
            }
            _ => None,
        };
        if let Some((what, text, hash)) = &token
            && let Some(earlier) = self.tokens.get(hash)
        {
            let shown: String = text.chars().take(120).collect();
            return Err(format!(
                "the progress guard stopped the read: page {page} returned the {what} `{shown}` already \
                 returned by page {earlier} (pagination would never end)"
            ));
        }
        if let Some(content) = content {
            self.contents.insert(content, page);
        }
        if let Some((_, _, hash)) = token {
            self.tokens.insert(hash, page);
        }
        Ok(())
    }
}

fn hash_of(value: &impl Hash) -> u64 {
    let mut hasher = DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

/// A hash of the records of a page (`None` for an empty page).
pub(crate) fn content_hash(records: &[Record]) -> Option<u64> {
    if records.is_empty() {
        return None;
    }
    let mut hasher = DefaultHasher::new();
    records.len().hash(&mut hasher);
    for record in records {
        hash_object(record, &mut hasher);
    }
    Some(hasher.finish())
}

fn hash_object(object: &serde_json::Map<String, Value>, hasher: &mut DefaultHasher) {
    object.len().hash(hasher);
    for (key, value) in object {
        key.hash(hasher);
        hash_value(value, hasher);
    }
}

fn hash_value(value: &Value, hasher: &mut DefaultHasher) {
    match value {
        Value::Null => 0u8.hash(hasher),
        Value::Bool(b) => (1u8, b).hash(hasher),
        Value::Number(n) => (2u8, n.to_string()).hash(hasher),
        Value::String(s) => (3u8, s).hash(hasher),
        Value::Array(items) => {
            (4u8, items.len()).hash(hasher);
            for item in items {
                hash_value(item, hasher);
            }
        }
        Value::Object(map) => {
            5u8.hash(hasher);
            hash_object(map, hasher);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn records(value: Value) -> Vec<Record> {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn repeated_cursor_or_content_is_refused_with_the_pages_named() {
        let mut guard = ProgressGuard::default();
        let a = content_hash(&records(json!([{"id": 1}])));
        let b = content_hash(&records(json!([{"id": 2}])));
        guard
            .advance(1, a, Some(&PageToken::Cursor("c1".into())))
            .unwrap();
        guard
            .advance(2, b, Some(&PageToken::Cursor("c2".into())))
            .unwrap();
        let err = guard
            .advance(
                3,
                content_hash(&records(json!([{"id": 3}]))),
                Some(&PageToken::Cursor("c1".into())),
            )
            .unwrap_err();
        assert!(
            err.contains("page 3") && err.contains("page 1") && err.contains("c1"),
            "{err}"
        );
        let err = guard.advance(3, a, None).unwrap_err();
        assert!(err.contains("same records as page 1"), "{err}");
        // A failed check remembers nothing: the retried page passes.
        guard
            .advance(
                3,
                content_hash(&records(json!([{"id": 3}]))),
                Some(&PageToken::Cursor("c3".into())),
            )
            .unwrap();
    }
}
