//! Cursor pagination: callers pass `limit` and an opaque `cursor`, and get `next_cursor`
//! back while more items exist. Cursors encode the last id seen (keyset pagination), so
//! pages stay stable while rows are inserted.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::{Error, ErrorKind, Result};

/// Default page size when the caller gives none.
pub const DEFAULT_LIMIT: u32 = 50;
/// Largest page size a caller may ask for.
pub const MAX_LIMIT: u32 = 500;

/// A validated page request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// How many items at most.
    pub limit: u32,
    /// Return items strictly after this key (the last id of the previous page).
    pub after: Option<String>,
}

impl PageRequest {
    /// Validate the raw `limit` and `cursor` query parameters.
    pub fn parse(limit: Option<u32>, cursor: Option<&str>) -> Result<Self> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(Error::invalid_field(
                "/limit",
                format!("must be between 1 and {MAX_LIMIT}"),
            ));
        }
        let after = cursor
            .filter(|cursor| !cursor.is_empty())
            .map(decode_cursor)
            .transpose()?;
        Ok(Self { limit, after })
    }

    /// The first page with `limit` items.
    pub fn first(limit: u32) -> Self {
        Self { limit, after: None }
    }

    /// How many rows to fetch: one more than `limit`, to know whether another page exists.
    pub fn fetch_limit(&self) -> i64 {
        i64::from(self.limit) + 1
    }
}

/// One page of items and the cursor of the next page, if any.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Build a page from rows fetched with [`PageRequest::fetch_limit`]; `key` gives an
    /// item's sort key (its id).
    pub fn from_rows(mut rows: Vec<T>, request: &PageRequest, key: impl Fn(&T) -> &str) -> Self {
        let limit = request.limit as usize;
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|last| encode_cursor(key(last)))
        } else {
            None
        };
        Self {
            items: rows,
            next_cursor,
        }
    }

    /// Transform the items, keeping the cursor.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

fn encode_cursor(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("k:{key}"))
}

fn decode_cursor(cursor: &str) -> Result<String> {
    let invalid = || {
        Error::new(
            ErrorKind::BadRequest,
            "invalid_cursor",
            "the cursor is not one this API returned; start again without a cursor",
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    text.strip_prefix("k:")
        .map(str::to_owned)
        .ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_page_yields_a_cursor_that_decodes_to_its_last_key() {
        let request = PageRequest::first(2);
        let page = Page::from_rows(vec!["a", "b", "c"], &request, |item| item);
        assert_eq!(page.items, vec!["a", "b"]);
        let cursor = page.next_cursor.expect("more rows exist");
        let next = PageRequest::parse(Some(2), Some(&cursor)).expect("valid cursor");
        assert_eq!(next.after.as_deref(), Some("b"));
    }

    #[test]
    fn the_last_page_has_no_cursor() {
        let request = PageRequest::first(5);
        let page = Page::from_rows(vec!["a"], &request, |item| item);
        assert!(page.next_cursor.is_none());
    }

    #[test]
    fn bad_limits_and_cursors_are_rejected_with_their_codes() {
        assert_eq!(
            PageRequest::parse(Some(0), None).unwrap_err().code(),
            "validation_failed"
        );
        assert_eq!(
            PageRequest::parse(Some(MAX_LIMIT + 1), None)
                .unwrap_err()
                .code(),
            "validation_failed"
        );
        assert_eq!(
            PageRequest::parse(None, Some("%%%")).unwrap_err().code(),
            "invalid_cursor"
        );
    }
}
