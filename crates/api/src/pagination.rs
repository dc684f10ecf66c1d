//! Cursor pagination parameters and the page envelope.

use kernel::{Page, PageRequest};

use crate::problem::ApiError;

/// `?limit=&cursor=` on every list endpoint.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page (empty: the first page).
    #[param(pattern = "^[A-Za-z0-9_-]*$", format = "grimos-cursor")]
    pub cursor: Option<String>,
}

/// The format name of a cursor in the OpenAPI document (`format: grimos-cursor`): an opaque
/// value the API returned as `next_cursor`; any other value is `400 invalid_cursor`.
pub const CURSOR_FORMAT: &str = "grimos-cursor";

impl PageQuery {
    /// Validate into a page request (422 on a bad limit, 400 on a foreign cursor).
    pub fn to_request(&self) -> Result<PageRequest, ApiError> {
        PageRequest::parse(self.limit, self.cursor.as_deref()).map_err(ApiError)
    }
}

/// One page of a list, as returned by every list endpoint.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PageResponse<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> From<Page<T>> for PageResponse<T> {
    fn from(page: Page<T>) -> Self {
        Self {
            items: page.items,
            next_cursor: page.next_cursor,
        }
    }
}
