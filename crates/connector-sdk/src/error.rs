//! The one error type every connector returns: [`ConnectorError`] with an [`ErrorKind`].
//!
//! Errors carry structured context (operation, stream, detail) instead of formatted
//! strings, and say whether retrying can help ([`ConnectorError::retryable`]). A detail must
//! never contain a secret value: name the secret *reference* instead.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What went wrong, in terms a caller can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The configuration is invalid or incomplete (fix the connection settings).
    Config,
    /// The credentials were refused (wrong, expired, revoked).
    Auth,
    /// The credentials are valid but may not do this.
    Permission,
    /// The stream, table, endpoint or record does not exist.
    NotFound,
    /// The remote system asked us to slow down; see [`ConnectorError::retry_after`].
    RateLimited,
    /// A temporary failure (network, timeout, 5xx, deadlock): retrying may succeed.
    Transient,
    /// The data itself is unacceptable (type mismatch, constraint violation, bad JSON).
    Data,
    /// The connector does not support this operation or mode.
    Unsupported,
}

impl ErrorKind {
    /// A stable snake_case name, used in metric labels and API error codes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Config => "config",
            Self::Auth => "auth",
            Self::Permission => "permission",
            Self::NotFound => "not_found",
            Self::RateLimited => "rate_limited",
            Self::Transient => "transient",
            Self::Data => "data",
            Self::Unsupported => "unsupported",
        }
    }

    /// Whether an operation failing with this kind may succeed when tried again.
    pub fn retryable(self) -> bool {
        matches!(self, Self::RateLimited | Self::Transient)
    }

    /// The usual kind for an HTTP error status (for HTTP-based connectors).
    ///
    /// 401 auth, 403 permission, 404/410 not found, 429 rate limited, 408/425/5xx transient,
    /// other 4xx data (the request content was refused).
    pub fn from_http_status(status: u16) -> Self {
        match status {
            401 => Self::Auth,
            403 => Self::Permission,
            404 | 410 => Self::NotFound,
            429 => Self::RateLimited,
            408 | 425 | 500..=599 => Self::Transient,
            _ => Self::Data,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The connector operation during which something happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// Building a connector from its configuration.
    Build,
    /// Checking connectivity and credentials.
    Check,
    /// Listing streams and their fields.
    Discover,
    /// Reading records.
    Read,
    /// Writing records.
    Write,
    /// Obtaining credentials (token exchange, secret resolution for auth).
    Authenticate,
    /// Resolving a secret reference.
    ResolveSecret,
}

impl Operation {
    /// A stable snake_case name, used in metric labels and span fields.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Build => "build",
            Self::Check => "check",
            Self::Discover => "discover",
            Self::Read => "read",
            Self::Write => "write",
            Self::Authenticate => "authenticate",
            Self::ResolveSecret => "resolve_secret",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Formats the optional stream for the error message.
struct StreamSuffix<'a>(&'a Option<String>);

impl fmt::Display for StreamSuffix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(stream) => write!(f, " on stream `{stream}`"),
            None => Ok(()),
        }
    }
}

/// The error every connector operation returns.
///
/// ```
/// use connector_sdk::{ConnectorError, ErrorKind, Operation};
/// let err = ConnectorError::new(ErrorKind::NotFound, Operation::Read, "table does not exist")
///     .with_stream("customers");
/// assert!(!err.retryable());
/// assert_eq!(err.to_string(), "not_found error during read on stream `customers`: table does not exist");
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[error("{kind} error during {operation}{stream}: {detail}", stream = StreamSuffix(.stream))]
pub struct ConnectorError {
    kind: ErrorKind,
    operation: Operation,
    stream: Option<String>,
    detail: String,
    retry_after: Option<Duration>,
    #[source]
    source: Option<Arc<dyn StdError + Send + Sync>>,
}

impl ConnectorError {
    /// A new error of `kind` during `operation` with a human readable `detail`
    /// (which must not contain secret values).
    pub fn new(kind: ErrorKind, operation: Operation, detail: impl Into<String>) -> Self {
        Self {
            kind,
            operation,
            stream: None,
            detail: detail.into(),
            retry_after: None,
            source: None,
        }
    }

    /// A [`ErrorKind::Config`] error.
    pub fn config(operation: Operation, detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, operation, detail)
    }

    /// An [`ErrorKind::Auth`] error.
    pub fn auth(operation: Operation, detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::Auth, operation, detail)
    }

    /// An [`ErrorKind::Transient`] error.
    pub fn transient(operation: Operation, detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::Transient, operation, detail)
    }

    /// An [`ErrorKind::Data`] error.
    pub fn data(operation: Operation, detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::Data, operation, detail)
    }

    /// An [`ErrorKind::NotFound`] error.
    pub fn not_found(operation: Operation, detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, operation, detail)
    }

    /// An [`ErrorKind::Unsupported`] error.
    pub fn unsupported(operation: Operation, detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unsupported, operation, detail)
    }

    /// An [`ErrorKind::RateLimited`] error, with the wait the remote system asked for.
    pub fn rate_limited(operation: Operation, retry_after: Option<Duration>) -> Self {
        let mut err = Self::new(ErrorKind::RateLimited, operation, "rate limit exceeded");
        err.retry_after = retry_after;
        err
    }

    /// Names the stream (table, endpoint) concerned.
    #[must_use]
    pub fn with_stream(mut self, stream: impl Into<String>) -> Self {
        self.stream = Some(stream.into());
        self
    }

    /// Sets how long the remote system asked us to wait before trying again.
    #[must_use]
    pub fn with_retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = Some(retry_after);
        self
    }

    /// Keeps the underlying error (its message must not contain secret values either).
    #[must_use]
    pub fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    /// Replaces the operation (used when an error from a helper surfaces in another operation).
    #[must_use]
    pub fn with_operation(mut self, operation: Operation) -> Self {
        self.operation = operation;
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// During which operation.
    pub fn operation(&self) -> Operation {
        self.operation
    }

    /// The stream concerned, if any.
    pub fn stream(&self) -> Option<&str> {
        self.stream.as_deref()
    }

    /// The human readable detail.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// How long the remote system asked us to wait (for [`ErrorKind::RateLimited`]).
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// Whether trying the same operation again may succeed.
    pub fn retryable(&self) -> bool {
        self.kind.retryable()
    }

    /// The egress policy's refusal behind this error, when the policy refused the
    /// destination (the API answers such an error with the code `egress_denied`).
    pub fn egress_denial(&self) -> Option<&egress::EgressDenied> {
        let source: &(dyn StdError + 'static) = self.source.as_deref()?;
        egress::find_denial(source)
    }
}
