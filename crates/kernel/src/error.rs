//! One error type for the domain boundary, with a kind (what went wrong, for status mapping
//! and retry decisions) and a stable machine-readable code (for clients and docs).

use std::fmt;

/// What kind of failure an [`Error`] is. The HTTP edge maps each kind to one status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The request is syntactically broken (malformed JSON, bad cursor): 400.
    BadRequest,
    /// The request is well-formed but some fields are invalid: 422.
    Validation,
    /// No or invalid credentials: 401.
    Unauthenticated,
    /// Valid credentials without the required role or grant: 403.
    Forbidden,
    /// The addressed object does not exist (or is hidden from the caller): 404.
    NotFound,
    /// The request conflicts with the current state (duplicate name, ...): 409.
    Conflict,
    /// An `If-Match` precondition did not hold (stale version): 412.
    PreconditionFailed,
    /// The request body is larger than allowed: 413.
    PayloadTooLarge,
    /// The request body is not in a media type the endpoint accepts: 415.
    UnsupportedMediaType,
    /// A dependency (database, vault, ...) is unavailable; retrying may help: 503.
    Unavailable,
    /// A bug or an unexpected failure; details are logged, not returned: 500.
    Internal,
}

/// One offending field of a validation error, located by a JSON Pointer (RFC 6901).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct FieldError {
    /// JSON Pointer to the field in the request body, e.g. `/config/auth/token`.
    pub path: String,
    /// What is wrong with it, in plain words.
    pub message: String,
}

impl FieldError {
    /// A field error at `path` (a JSON Pointer) saying `message`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// The error type at every domain boundary of grimOS.
///
/// `message` is safe to show to the caller: it never carries secret values. Internal details
/// go into `source`, which is logged but never returned over the API.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    code: &'static str,
    message: String,
    fields: Vec<FieldError>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// Result with the kernel [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of `kind` with a stable `code` (snake_case) and a caller-safe message.
    pub fn new(kind: ErrorKind, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind,
            code,
            message: message.into(),
            fields: Vec::new(),
            source: None,
        }
    }

    /// A validation error listing the offending fields.
    pub fn validation(fields: Vec<FieldError>) -> Self {
        let message = match fields.as_slice() {
            [one] => format!("invalid value at {}: {}", one.path, one.message),
            many => format!("{} fields are invalid", many.len()),
        };
        Self {
            fields,
            ..Self::new(ErrorKind::Validation, "validation_failed", message)
        }
    }

    /// A single-field validation error.
    pub fn invalid_field(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError::new(path, message)])
    }

    /// The object `what` with id `id` does not exist.
    pub fn not_found(what: &str, id: &str) -> Self {
        Self::new(
            ErrorKind::NotFound,
            "not_found",
            format!("{what} {id:?} does not exist"),
        )
    }

    /// An unexpected failure; `source` is logged, the caller sees a generic message.
    pub fn internal(source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        Self {
            source: Some(source.into()),
            ..Self::new(
                ErrorKind::Internal,
                "internal",
                "an internal error occurred",
            )
        }
    }

    /// A dependency is unavailable; `source` is logged.
    pub fn unavailable(
        message: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        Self {
            source: Some(source.into()),
            ..Self::new(ErrorKind::Unavailable, "unavailable", message)
        }
    }

    /// Attach an underlying cause (logged, never returned to callers).
    pub fn with_source(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        self.source = Some(source.into());
        self
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The stable machine-readable code, e.g. `validation_failed`.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The caller-safe message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The offending fields of a validation error (empty otherwise).
    pub fn fields(&self) -> &[FieldError] {
        &self.fields
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_message_names_the_single_field() {
        let error = Error::invalid_field("/name", "must not be empty");
        assert_eq!(error.kind(), ErrorKind::Validation);
        assert_eq!(error.code(), "validation_failed");
        assert_eq!(error.message(), "invalid value at /name: must not be empty");
    }

    #[test]
    fn internal_error_hides_its_source_from_the_message() {
        let error = Error::internal(std::io::Error::other("disk path /secret/x"));
        assert!(!error.message().contains("/secret/x"));
        assert!(std::error::Error::source(&error).is_some());
    }
}
