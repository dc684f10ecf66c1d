//! [`CliError`]: what a connector command reports, with its exit code.

use std::fmt;
use std::path::Path;

use connector_sdk::ConnectorError;

/// Why a connector command failed. `Display` is one line; no variant ever holds a secret
/// value (connector errors name secret references, schema errors mask instance values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CliError {
    /// A bad argument (unknown connector type, stream or mode). Exit code 2.
    Usage(String),
    /// A configuration or state file that cannot be used; names the file and the field.
    /// Exit code 2.
    Config(String),
    /// The connector failed (connect, check, read, write). Exit code 1.
    Connector(String),
    /// Local input or output failed (stdin, stdout, a rejects or state file). Exit code 1.
    Io(String),
}

impl CliError {
    /// The process exit code: 2 for a bad configuration or argument, 1 for a failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Usage(_) | Self::Config(_) => 2,
            Self::Connector(_) | Self::Io(_) => 1,
        }
    }

    /// A bad configuration in `file`.
    pub(crate) fn config(file: &Path, detail: impl fmt::Display) -> Self {
        Self::Config(one_line(&format!("{}: {detail}", file.display())))
    }

    /// A connector failure.
    pub(crate) fn connector(error: &ConnectorError) -> Self {
        Self::Connector(one_line(&error.to_string()))
    }

    /// A local I/O failure while doing `what`.
    pub(crate) fn io(what: impl fmt::Display, error: impl fmt::Display) -> Self {
        Self::Io(one_line(&format!("{what}: {error}")))
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Usage(message)
            | Self::Config(message)
            | Self::Connector(message)
            | Self::Io(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for CliError {}

/// `message` with line breaks folded into spaces.
fn one_line(message: &str) -> String {
    message
        .split(['\n', '\r'])
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn exit_codes_separate_bad_input_from_failures() {
        let cases = [
            (CliError::Usage("u".into()), 2),
            (CliError::Config("c".into()), 2),
            (CliError::Connector("x".into()), 1),
            (CliError::Io("i".into()), 1),
        ];
        for (error, code) in cases {
            assert_eq!(error.exit_code(), code, "{error:?}");
        }
    }

    #[test]
    fn messages_are_one_line() {
        let error = CliError::config(Path::new("c.yaml"), "bad\n  value\r\nhere");
        assert_eq!(error.to_string(), "c.yaml: bad value here");
    }
}
