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
        let mut hasher = Sha256::new();
        if let Some(salt) = &self.salt {
            hasher.update(salt.as_bytes());
        }
        match value {
            Value::Null => return Value::Null,
            Value::String(text) => hasher.update(text.as_bytes()),
            other => hasher.update(other.to_string().as_bytes()),
        }
        let digest = hasher.finalize();
        let mut hex = String::with_capacity(64);
        for byte in digest {
            hex.push(char::from(HEX[usize::from(byte >> 4)]));
            hex.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
        Value::String(hex)
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";
