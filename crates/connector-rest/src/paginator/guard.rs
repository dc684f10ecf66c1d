//! The progress guard: a read must move forward. A next cursor or next URL already used,
//! or a page whose records equal an earlier page's, means the API is not advancing (it
//! ignores the page parameter, or loops), and the read stops with an error naming the page
//! instead of running forever.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use super::PageToken;

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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn content_hash(value: serde_json::Value) -> Option<u64> {
        let records: Vec<connector_sdk::Record> = serde_json::from_value(value).unwrap();
        crate::cells::FieldCells::of_records(&records).content_hash()
    }

    #[test]
    fn repeated_cursor_or_content_is_refused_with_the_pages_named() {
        let mut guard = ProgressGuard::default();
        let a = content_hash(json!([{"id": 1}]));
        let b = content_hash(json!([{"id": 2}]));
        guard
            .advance(1, a, Some(&PageToken::Cursor("c1".into())))
            .unwrap();
        guard
            .advance(2, b, Some(&PageToken::Cursor("c2".into())))
            .unwrap();
        let err = guard
            .advance(
                3,
                content_hash(json!([{"id": 3}])),
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
                content_hash(json!([{"id": 3}])),
                Some(&PageToken::Cursor("c3".into())),
            )
            .unwrap();
    }
}
