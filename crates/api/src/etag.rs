//! Optimistic concurrency with `ETag` and `If-Match`.
//!
//! Versioned objects carry an integer `version`; responses send it as a strong ETag
//! (`"3"`). An update with `If-Match` naming another version fails with 412, so two editors
//! cannot silently overwrite each other. `If-Match: *` (or no header) skips the check.

use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderValue, header};
use kernel::{Error, ErrorKind};

use crate::problem::ApiError;

/// The version an update expects the object to have, from `If-Match`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IfMatch(pub Option<i64>);

impl IfMatch {
    /// Fail with 412 when the caller expected another version than `current`.
    pub fn check(self, current: i64) -> Result<(), Error> {
        match self.0 {
            Some(expected) if expected != current => Err(stale(expected, current)),
            _ => Ok(()),
        }
    }
}

/// The error for an update made against a stale version.
pub fn stale(expected: i64, current: i64) -> Error {
    Error::new(
        ErrorKind::PreconditionFailed,
        "precondition_failed",
        format!(
            "the object changed since you read it (you sent If-Match for version {expected}, it is now at version {current}); fetch it again and reapply your change"
        ),
    )
}

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(header::IF_MATCH) else {
            return Ok(IfMatch(None));
        };
        let text = value.to_str().unwrap_or_default().trim();
        if text == "*" {
            return Ok(IfMatch(None));
        }
        parse_etag(text)
            .map(|version| IfMatch(Some(version)))
            .ok_or_else(|| {
                ApiError(Error::new(
                    ErrorKind::BadRequest,
                    "invalid_if_match",
                    "If-Match must be an ETag this API returned, such as \"3\"",
                ))
            })
    }
}

/// An `If-Match` value the API accepts: `*`, or an ETag it returned (a version of 1 to 18
/// digits, quoted, optionally weak; the bare version is taken too). Anything else is
/// `400 invalid_if_match`.
pub const IF_MATCH_PATTERN: &str = r#"^(\*|(W/)?"[0-9]{1,18}"|[0-9]{1,18})$"#;

/// The `If-Match` request header of versioned updates and deletes, for OpenAPI
/// (`params(..., api::etag::IfMatchHeader)`); [`IfMatch`] reads it.
#[derive(Debug, Clone, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IfMatchHeader {
    /// The `ETag` you read (such as `"3"`): the change applies only to that version
    /// (`412 precondition_failed` if it changed meanwhile). `*` or no header: any version.
    #[param(
        rename = "If-Match",
        nullable = false,
        pattern = r#"^(\*|(W/)?"[0-9]{1,18}"|[0-9]{1,18})$"#
    )]
    pub if_match: Option<String>,
}

fn parse_etag(text: &str) -> Option<i64> {
    let digits = match text.strip_prefix("W/").unwrap_or(text).strip_prefix('"') {
        Some(quoted) => quoted.strip_suffix('"')?,
        // The bare version (`If-Match: 3`), a common slip, means the same.
        None if !text.starts_with("W/") => text,
        None => return None,
    };
    if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The ETag header value for `version`.
pub fn etag_value(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

/// Add an `ETag` header for `version` to a response.
pub fn with_etag(version: i64, response: impl IntoResponse) -> Response {
    let mut response = response.into_response();
    response
        .headers_mut()
        .insert(header::ETAG, etag_value(version));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_parse_strong_and_weak_forms() {
        assert_eq!(parse_etag("\"3\""), Some(3));
        assert_eq!(parse_etag("W/\"12\""), Some(12));
        assert_eq!(parse_etag("3"), Some(3));
        assert_eq!(parse_etag("W/3"), None);
        assert_eq!(parse_etag("\"3"), None);
        assert_eq!(parse_etag("\"x\""), None);
        // Only what the documented pattern allows: digits, 1 to 18 of them.
        assert_eq!(parse_etag("\"+3\""), None);
        assert_eq!(parse_etag("\"-3\""), None);
        assert_eq!(parse_etag("\"\""), None);
        assert_eq!(parse_etag("\"1234567890123456789\""), None);
        assert_eq!(
            parse_etag("\"123456789012345678\""),
            Some(123_456_789_012_345_678)
        );
    }

    #[test]
    fn a_stale_version_fails_the_precondition() {
        assert!(IfMatch(None).check(4).is_ok());
        assert!(IfMatch(Some(4)).check(4).is_ok());
        let error = IfMatch(Some(3)).check(4).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::PreconditionFailed);
    }
}
