//! A cursor found in the response body and sent back as a parameter.

use serde_json::Value;

use super::{PageParams, PageToken};
use crate::selector::Selector;

/// Cursor pagination: `cursor_path` in the body gives the next cursor; absent, null or
/// empty means the last page.
#[derive(Debug, Clone)]
pub(crate) struct CursorPaginator {
    pub(crate) cursor_path: Selector,
    pub(crate) param: Option<String>,
}

impl CursorPaginator {
    pub(crate) fn params(&self, token: &PageToken, params: &mut PageParams) {
        if let PageToken::Cursor(cursor) = token {
            if let Some(param) = &self.param {
                params.query.push((param.clone(), cursor.clone()));
            }
            params.vars.insert("cursor", Value::String(cursor.clone()));
        }
    }

    pub(crate) fn next(&self, document: &Value) -> Result<Option<PageToken>, String> {
        match self.cursor_path.first(document) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(PageToken::Cursor(s.clone()))),
            Some(Value::Number(n)) => Ok(Some(PageToken::Cursor(n.to_string()))),
            Some(other) => Err(format!(
                "the cursor at cursor_path is not a string or number: {other}"
            )),
        }
    }
}
