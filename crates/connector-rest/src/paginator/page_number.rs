//! A page number parameter.

use serde_json::Value;

use super::{PageParams, PageToken};

/// Page number pagination from `start`; with a `page_size`, a shorter page is the last,
/// otherwise an empty page is.
#[derive(Debug, Clone)]
pub(crate) struct PageNumberPaginator {
    pub(crate) param: String,
    pub(crate) start: u64,
    pub(crate) page_size_param: Option<String>,
    pub(crate) page_size: Option<u64>,
}

impl PageNumberPaginator {
    pub(crate) fn params(&self, token: &PageToken, params: &mut PageParams) {
        let page = match token {
            PageToken::Page(page) => *page,
            _ => self.start,
        };
        params.query.push((self.param.clone(), page.to_string()));
        params.vars.insert("page", Value::from(page));
        if let Some(size) = self.page_size {
            if let Some(size_param) = &self.page_size_param {
                params.query.push((size_param.clone(), size.to_string()));
            }
            params.vars.insert("limit", Value::from(size));
        }
    }

    pub(crate) fn next(&self, token: &PageToken, record_count: u64) -> Option<PageToken> {
        let page = match token {
            PageToken::Page(page) => *page,
            _ => self.start,
        };
        let short = self.page_size.is_some_and(|size| record_count < size);
        (!short).then(|| PageToken::Page(page + 1))
    }

    /// The same request asking for a page of one record, when the size is a parameter.
    pub(crate) fn with_size_one(&self) -> Self {
        match self.page_size_param {
            Some(_) => Self {
                page_size: Some(1),
                ..self.clone()
            },
            None => self.clone(),
        }
    }
}
