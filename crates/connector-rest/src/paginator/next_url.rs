//! The next page's URL, found in the response body.

use reqwest::Url;
use serde_json::Value;

use super::PageToken;
use crate::selector::Selector;

/// Next-URL pagination: `path` in the body gives the next page's URL (absolute, or relative
/// to the current page); absent, null or empty means the last page.
#[derive(Debug, Clone)]
pub(crate) struct NextUrlPaginator {
    pub(crate) path: Selector,
}

impl NextUrlPaginator {
    pub(crate) fn next(
        &self,
        document: &Value,
        current: &Url,
    ) -> Result<Option<PageToken>, String> {
        match self.path.first(document) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => current
                .join(s.trim())
                .map(|url| Some(PageToken::Url(url)))
                .map_err(|e| format!("the next URL `{s}` is not a valid URL: {e}")),
            Some(other) => Err(format!("the next URL at `path` is not a string: {other}")),
        }
    }
}
