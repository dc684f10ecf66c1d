//! Error types of the crate.
//!
//! [`SecretError`] is the one error every resolving operation returns: a [`ErrorKind`], the
//! secret reference it concerns (never the value) and a human message. [`EnvelopeError`] is
//! the narrower error of the encryption primitives.

use std::fmt;

/// What went wrong, coarse enough for a caller to act on (retry, 404, 403, 422, 500).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The secret (or the field, or the version) does not exist.
    NotFound,
    /// The backend refused access (Vault 403, file permissions).
    PermissionDenied,
    /// The backend cannot answer now: sealed, unreachable, timed out. Worth retrying later.
    Unavailable,
    /// The reference itself is malformed or names a backend that is not configured.
    InvalidReference,
    /// Anything else the backend reported (bad response, decryption failure, I/O error).
    Backend,
}

impl ErrorKind {
    /// Stable machine-readable code, e.g. `not_found`.
    pub fn code(self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::PermissionDenied => "permission_denied",
            Self::Unavailable => "unavailable",
            Self::InvalidReference => "invalid_reference",
            Self::Backend => "backend",
        }
    }

    /// Whether trying again later may succeed without anyone changing anything.
    pub fn is_transient(self) -> bool {
        matches!(self, Self::Unavailable)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Error of resolving or storing a secret.
///
/// Its `Display` names the reference and never contains a secret value: backends build
/// messages only from the reference, status codes and the backend's own error strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretError {
    kind: ErrorKind,
    reference: Option<String>,
    message: String,
}

impl SecretError {
    /// A new error of `kind` with a message (which must not contain secret material).
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            reference: None,
            message: message.into(),
        }
    }

    /// Shorthand for [`ErrorKind::NotFound`].
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// Shorthand for [`ErrorKind::PermissionDenied`].
    pub fn permission_denied(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::PermissionDenied, message)
    }

    /// Shorthand for [`ErrorKind::Unavailable`].
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, message)
    }

    /// Shorthand for [`ErrorKind::InvalidReference`].
    pub fn invalid_reference(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidReference, message)
    }

    /// Shorthand for [`ErrorKind::Backend`].
    pub fn backend(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Backend, message)
    }

    /// Attach the reference (its textual form) this error is about.
    #[must_use]
    pub fn with_reference(mut self, reference: impl fmt::Display) -> Self {
        self.reference = Some(reference.to_string());
        self
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The reference this error is about, if known.
    pub fn reference(&self) -> Option<&str> {
        self.reference.as_deref()
    }

    /// The message without the reference prefix.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for SecretError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.reference {
            Some(reference) => write!(
                f,
                "secret `{reference}`: {}: {}",
                self.kind.code(),
                self.message
            ),
            None => write!(f, "{}: {}", self.kind.code(), self.message),
        }
    }
}

impl std::error::Error for SecretError {}

impl From<EnvelopeError> for SecretError {
    fn from(error: EnvelopeError) -> Self {
        let kind = match &error {
            EnvelopeError::Unavailable(_) => ErrorKind::Unavailable,
            EnvelopeError::PermissionDenied(_) => ErrorKind::PermissionDenied,
            _ => ErrorKind::Backend,
        };
        Self::new(kind, error.to_string())
    }
}

/// Error of envelope encryption, master keys and key providers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// Authentication of a ciphertext failed: wrong key, tampered data or wrong context.
    #[error("decryption failed: wrong key, tampered ciphertext or wrong name/version context")]
    DecryptionFailed,
    /// Encryption itself failed (should not happen with valid keys).
    #[error("encryption failed")]
    EncryptionFailed,
    /// The envelope names a master key the provider does not hold.
    #[error("unknown master key id `{0}`")]
    UnknownKeyId(String),
    /// A key (file, environment variable, Transit answer) is malformed.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// A serialized envelope is malformed.
    #[error("malformed envelope: {0}")]
    Malformed(String),
    /// Reading or creating the key file failed.
    #[error("key file: {0}")]
    Io(String),
    /// A remote key provider (Vault Transit) is unavailable.
    #[error("key provider unavailable: {0}")]
    Unavailable(String),
    /// A remote key provider refused the operation.
    #[error("key provider denied access: {0}")]
    PermissionDenied(String),
    /// A remote key provider failed otherwise.
    #[error("key provider error: {0}")]
    Provider(String),
}

/// A malformed secret reference: says what is wrong; the caller adds which field held it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid secret reference: {message}")]
pub struct ReferenceError {
    message: String,
}

impl ReferenceError {
    /// A new error with the explanation of what is wrong.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    /// What is wrong, without the `invalid secret reference:` prefix.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl From<ReferenceError> for SecretError {
    fn from(error: ReferenceError) -> Self {
        Self::invalid_reference(error.message)
    }
}
