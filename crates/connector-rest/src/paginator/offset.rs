//! Offset and limit parameters.

use serde_json::Value;

use super::{PageParams, PageToken};

/// Offset pagination: `limit` records per page, the offset advancing by the records
/// received; a page shorter than `limit` is the last.
#[derive(Debug, Clone)]
pub(crate) struct OffsetPaginator {
    pub(crate) limit_param: String,
    pub(crate) offset_param: String,
    pub(crate) limit: u64,
    pub(crate) start: u64,
}

impl OffsetPaginator {
    pub(crate) fn params(&self, token: &PageToken, params: &mut PageParams) {
        let offset = match token {
            PageToken::Offset(offset) => *offset,
            _ => self.start,
        };
        params
            .query
            .push((self.limit_param.clone(), self.limit.to_string()));
        params
            .query
            .push((self.offset_param.clone(), offset.to_string()));
        params.vars.insert("limit", Value::from(self.limit));
        params.vars.insert("offset", Value::from(offset));
    }

    pub(crate) fn next(&self, token: &PageToken, record_count: u64) -> Option<PageToken> {
        let offset = match token {
            PageToken::Offset(offset) => *offset,
            _ => self.start,
        };
        (record_count >= self.limit).then(|| PageToken::Offset(offset + record_count))
    }

    /// The same request asking for one record (for `check`).
    pub(crate) fn with_limit_one(&self) -> Self {
        Self {
            limit: 1,
            ..self.clone()
        }
    }
}
