//! The grimOS HTTP API conventions, shared by every service's routes.
//!
//! - [`problem`]: errors as RFC 9457 `application/problem+json` with a stable `code`.
//! - [`json`] and [`query`]: strict extractors — malformed JSON is a 400, wrong types,
//!   unknown and missing fields are a 422 naming each field by its JSON Pointer.
//! - [`auth`]: the [`auth::Caller`] extractor (Bearer credentials → [`kernel::Principal`]),
//!   401 and 403.
//! - [`etag`]: `ETag` / `If-Match` optimistic concurrency (412 on a stale version).
//! - [`pagination`]: `limit` + `cursor` → `next_cursor`.
//! - [`middleware`]: turns every error response (including the router's own 404/405 and
//!   the limit layers' 413/408) into problem+json stamped with the request and trace ids.
//!
//! Only this crate and the service route modules know about HTTP; domain crates return
//! [`kernel::Error`].

pub mod audit;
pub mod auth;
pub mod etag;
pub mod json;
pub mod middleware;
pub mod openapi;
pub mod pagination;
pub mod problem;
pub mod query;

pub use auth::{Authenticator, Caller};
pub use etag::{IfMatch, IfMatchHeader, with_etag};
pub use json::ApiJson;
pub use pagination::{PageQuery, PageResponse};
pub use problem::{ApiError, ApiResult, Problem};
pub use query::ApiQuery;
