//! Pagination: which request fetches the next page, when to stop, and the progress guard.
//!
//! Each style lives in its own module; [`Paginator`] dispatches. Whatever the style, a read
//! also stops on an empty page, a `has_more` flag that is false, a reached `total`, and the
//! `max_pages`/`max_records` safety caps. The [`ProgressGuard`] turns "pagination that
//! never stops" (an API ignoring the cursor, or returning the same next URL) into a clear
//! error instead of an endless read.

mod cursor;
mod guard;
mod link_header;
mod next_url;
mod offset;
mod page_number;

use std::collections::BTreeMap;

use reqwest::Url;
use reqwest::header::HeaderMap;
use serde_json::Value;

pub(crate) use cursor::CursorPaginator;
pub(crate) use guard::ProgressGuard;
pub(crate) use next_url::NextUrlPaginator;
pub(crate) use offset::OffsetPaginator;
pub(crate) use page_number::PageNumberPaginator;

use crate::selector::Selector;

/// Where the next page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PageToken {
    /// The first page.
    First,
    /// A cursor to send back.
    Cursor(String),
    /// An offset.
    Offset(u64),
    /// A page number.
    Page(u64),
    /// A full URL (next URL or `Link` header).
    Url(Url),
}

/// What a page request carries for pagination.
#[derive(Debug, Default)]
pub(crate) struct PageParams {
    /// Query parameters (used when the stream has no body template).
    pub(crate) query: Vec<(String, String)>,
    /// Values for a body template (`cursor`, `offset`, `limit`, `page`).
    pub(crate) vars: BTreeMap<&'static str, Value>,
    /// A URL replacing the stream's URL (and its static parameters).
    pub(crate) url: Option<Url>,
}

/// A compiled paginator.
#[derive(Debug, Clone)]
pub(crate) enum Paginator {
    /// A single page.
    None,
    /// Cursor from the body.
    Cursor(CursorPaginator),
    /// Offset and limit.
    Offset(OffsetPaginator),
    /// Page number.
    PageNumber(PageNumberPaginator),
    /// Next URL from the body.
    NextUrl(NextUrlPaginator),
    /// `Link: <...>; rel="next"`.
    LinkHeader,
}

/// What the paginator may look at in a fetched page.
#[derive(Debug)]
pub(crate) struct PageView<'a> {
    /// The JSON document (records moved out); `None` for NDJSON/CSV.
    pub(crate) document: Option<&'a Value>,
    /// The response headers.
    pub(crate) headers: &'a HeaderMap,
    /// How many records the page held (before any incremental filtering).
    pub(crate) record_count: u64,
    /// The URL the page was fetched from.
    pub(crate) url: &'a Url,
}

impl Paginator {
    /// The token of the first page.
    pub(crate) fn start(&self) -> PageToken {
        match self {
            Self::Offset(offset) => PageToken::Offset(offset.start),
            Self::PageNumber(page) => PageToken::Page(page.start),
            _ => PageToken::First,
        }
    }

    /// The parameters of the page at `token`.
    pub(crate) fn params(&self, token: &PageToken) -> PageParams {
        let mut params = PageParams::default();
        if let PageToken::Url(url) = token {
            params.url = Some(url.clone());
            return params;
        }
        match self {
            Self::Cursor(cursor) => cursor.params(token, &mut params),
            Self::Offset(offset) => offset.params(token, &mut params),
            Self::PageNumber(page) => page.params(token, &mut params),
            Self::None | Self::NextUrl(_) | Self::LinkHeader => {}
        }
        params
    }

    /// Whether the paginator reads the JSON body (so NDJSON/CSV cannot work with it).
    pub(crate) fn needs_json_body(&self) -> bool {
        matches!(self, Self::Cursor(_) | Self::NextUrl(_))
    }

    /// Where in a JSON body the paginator looks (the next cursor or URL).
    pub(crate) fn body_selectors(&self) -> Vec<&Selector> {
        match self {
            Self::Cursor(cursor) => vec![&cursor.cursor_path],
            Self::NextUrl(next) => vec![&next.path],
            Self::None | Self::Offset(_) | Self::PageNumber(_) | Self::LinkHeader => Vec::new(),
        }
    }

    /// The token of the page after `token`, or `None` when this was the last page by the
    /// paginator's own rule.
    pub(crate) fn next(
        &self,
        token: &PageToken,
        page: &PageView<'_>,
    ) -> Result<Option<PageToken>, String> {
        let needs_document = || {
            page.document.ok_or_else(|| {
                "this paginator reads the JSON body, but the response is not JSON".to_owned()
            })
        };
        match self {
            Self::None => Ok(None),
            Self::Cursor(cursor) => cursor.next(needs_document()?),
            Self::Offset(offset) => Ok(offset.next(token, page.record_count)),
            Self::PageNumber(number) => Ok(number.next(token, page.record_count)),
            Self::NextUrl(next_url) => next_url.next(needs_document()?, page.url),
            Self::LinkHeader => link_header::next(page.headers, page.url),
        }
    }

    /// The same paginator asking for as few records as it can (for `check`).
    pub(crate) fn smallest(&self) -> Self {
        match self {
            Self::Offset(offset) => Self::Offset(offset.with_limit_one()),
            Self::PageNumber(page) => Self::PageNumber(page.with_size_one()),
            other => other.clone(),
        }
    }
}

/// Stop conditions other than the paginator's own.
#[derive(Debug, Clone)]
pub(crate) struct StopRules {
    pub(crate) has_more: Option<Selector>,
    pub(crate) total: Option<Selector>,
    pub(crate) max_pages: Option<u64>,
    pub(crate) max_records: Option<u64>,
    pub(crate) progress_guard: bool,
}

/// Why a read stopped early, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cap {
    /// `max_pages` reached.
    Pages,
    /// `max_records` reached.
    Records,
}

impl StopRules {
    /// Where in a JSON body the stop rules look (`has_more`, `total`).
    pub(crate) fn body_selectors(&self) -> Vec<&Selector> {
        self.has_more.iter().chain(&self.total).collect()
    }

    /// Whether the body says this was the last page: an empty page, `has_more` false, or
    /// the `total` reached by `records_so_far` (this page included).
    pub(crate) fn body_says_last(
        &self,
        document: Option<&Value>,
        page_records: u64,
        records_so_far: u64,
    ) -> Result<bool, String> {
        if page_records == 0 {
            return Ok(true);
        }
        if let (Some(has_more), Some(document)) = (&self.has_more, document) {
            match has_more.first(document) {
                Some(Value::Bool(more)) => {
                    if !more {
                        return Ok(true);
                    }
                }
                None | Some(Value::Null) => return Ok(true),
                Some(other) => {
                    return Err(format!(
                        "has_more_path does not point to a boolean: {other}"
                    ));
                }
            }
        }
        if let (Some(total), Some(document)) = (&self.total, document) {
            let total = match total.first(document) {
                Some(Value::Number(n)) => n.as_u64(),
                Some(Value::String(s)) => s.trim().parse().ok(),
                _ => None,
            };
            match total {
                Some(total) if records_so_far >= total => return Ok(true),
                Some(_) => {}
                None => return Err("total_path does not point to a whole number".to_owned()),
            }
        }
        Ok(false)
    }

    /// Whether a safety cap is reached after `pages` pages and `records` records.
    pub(crate) fn cap_reached(&self, pages: u64, records: u64) -> Option<Cap> {
        if self.max_records.is_some_and(|max| records >= max) {
            Some(Cap::Records)
        } else if self.max_pages.is_some_and(|max| pages >= max) {
            Some(Cap::Pages)
        } else {
            None
        }
    }
}
