//! [`SecretValue`]: a secret that does not print.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::{Zeroize, Zeroizing};

/// The text every redacting formatter writes instead of a secret.
pub const REDACTED: &str = "[REDACTED]";

/// A secret value: `Debug`, `Display` and `Serialize` write [`REDACTED`], the memory is
/// zeroed on drop, and the only way to read it is the explicit [`SecretValue::expose`].
///
/// `Deserialize` reads a plain string, so configuration files can carry one (e.g. a Vault
/// token); serializing such a configuration back never writes it.
#[derive(Clone, Default)]
pub struct SecretValue(Zeroizing<String>);

impl SecretValue {
    /// Wrap a value. The `String` is moved in, so no unzeroized copy stays behind.
    pub fn new(value: String) -> Self {
        Self(Zeroizing::new(value))
    }

    /// Wrap bytes that must be UTF-8; `None` (with the bytes zeroed) if they are not.
    pub fn from_utf8(mut bytes: Vec<u8>) -> Option<Self> {
        if std::str::from_utf8(&bytes).is_err() {
            bytes.zeroize();
            return None;
        }
        String::from_utf8(bytes).ok().map(Self::new)
    }

    /// The secret itself. Call it only where the value is handed to its consumer.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The secret as bytes.
    pub fn expose_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// Whether the value is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for SecretValue {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl From<&str> for SecretValue {
    fn from(value: &str) -> Self {
        Self::new(value.to_owned())
    }
}

impl PartialEq for SecretValue {
    /// Constant-time over the common length, so comparing does not leak a prefix.
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.expose_bytes(), other.expose_bytes());
        if a.len() != b.len() {
            return false;
        }
        a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl Eq for SecretValue {}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretValue({REDACTED})")
    }
}

impl fmt::Display for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl Serialize for SecretValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(REDACTED)
    }
}

impl<'de> Deserialize<'de> for SecretValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_and_serializing_redact() {
        let value = SecretValue::from("hunter2");
        assert_eq!(format!("{value}"), REDACTED);
        assert_eq!(format!("{value:?}"), "SecretValue([REDACTED])");
        assert_eq!(
            serde_json::to_string(&value).ok().as_deref(),
            Some("\"[REDACTED]\"")
        );
        assert_eq!(value.expose(), "hunter2");
    }

    #[test]
    fn deserializes_from_a_plain_string() {
        let value: Result<SecretValue, _> = serde_json::from_str("\"s3cret\"");
        assert_eq!(
            value.ok().map(|v| v.expose().to_owned()).as_deref(),
            Some("s3cret")
        );
    }

    #[test]
    fn equality_compares_contents() {
        assert_eq!(SecretValue::from("a"), SecretValue::from("a"));
        assert_ne!(SecretValue::from("a"), SecretValue::from("b"));
        assert_ne!(SecretValue::from("a"), SecretValue::from("ab"));
    }
}
