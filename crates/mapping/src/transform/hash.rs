//! `hash`: SHA-256 of `salt + value`, in lower-case hex.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// A salted SHA-256.
#[derive(Debug, Clone)]
pub struct Hash {
    salt: Option<String>,
}

impl Hash {
    /// A hash with an optional constant salt.
    pub fn new(salt: Option<String>) -> Self {
        Self { salt }
    }

    /// Strings are hashed as their text, other values as their compact JSON; null stays null.
    pub fn apply(&self, value: &Value) -> Value {
        match value {
            Value::Null => Value::Null,
            Value::String(text) => Value::String(self.hex(text.as_bytes())),
            other => Value::String(self.hex(other.to_string().as_bytes())),
        }
    }

    /// The lower-case hex SHA-256 of `salt + bytes`.
    pub(crate) fn hex(&self, bytes: &[u8]) -> String {
        let mut hasher = Sha256::new();
        if let Some(salt) = &self.salt {
            hasher.update(salt.as_bytes());
        }
        hasher.update(bytes);
        let digest = hasher.finalize();
        let mut hex = String::with_capacity(64);
        for byte in digest {
            hex.push(char::from(HEX[usize::from(byte >> 4)]));
            hex.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
        hex
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";
