//! [`EngineError`]: the one error type of the flow engine, with an [`EngineErrorKind`].

use std::fmt;

use connector_sdk::ConnectorError;

/// What kind of failure an [`EngineError`] is, in terms a caller can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EngineErrorKind {
    /// The flow definition (file, spec, options) is invalid.
    InvalidFlow,
    /// A connector failed (connection, auth, a whole-batch write or a read).
    Connector,
    /// The mapping does not compile.
    Mapping,
    /// The run journal (run log, dead letters, checkpoint state) could not be stored or read.
    Storage,
    /// The run was cancelled.
    Cancelled,
    /// The run exceeded its time limit.
    Timeout,
    /// A notification could not be delivered.
    Notify,
}

impl EngineErrorKind {
    /// A stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidFlow => "invalid_flow",
            Self::Connector => "connector",
            Self::Mapping => "mapping",
            Self::Storage => "storage",
            Self::Cancelled => "cancelled",
            Self::Timeout => "timeout",
            Self::Notify => "notify",
        }
    }
}

impl fmt::Display for EngineErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error of the flow engine. The message is safe to show and to log: it never carries a
/// secret value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineError {
    kind: EngineErrorKind,
    message: String,
    retryable: bool,
}

impl EngineError {
    /// An error of `kind` saying `message`.
    pub fn new(kind: EngineErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            retryable: false,
        }
    }

    /// A storage (journal) failure.
    pub fn storage(message: impl Into<String>) -> Self {
        Self::new(EngineErrorKind::Storage, message)
    }

    /// An invalid flow definition.
    pub fn invalid_flow(message: impl Into<String>) -> Self {
        Self::new(EngineErrorKind::InvalidFlow, message)
    }

    /// A connector failure with context (`what` says during which step).
    pub fn connector(what: &str, error: &ConnectorError) -> Self {
        Self {
            kind: EngineErrorKind::Connector,
            message: format!("{what}: {error}"),
            retryable: error.retryable(),
        }
    }

    /// Marks the error as worth retrying (a journal may say so for a busy database).
    #[must_use]
    pub fn with_retryable(mut self, retryable: bool) -> Self {
        self.retryable = retryable;
        self
    }

    /// The kind.
    pub fn kind(&self) -> EngineErrorKind {
        self.kind
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether trying again may succeed.
    pub fn retryable(&self) -> bool {
        self.retryable
    }
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for EngineError {}
