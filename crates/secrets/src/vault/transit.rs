//! Vault Transit as a [`MasterKeyProvider`]: data keys are wrapped by a Transit key that
//! never leaves Vault.

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::Method;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use super::client::VaultClient;
use crate::error::{EnvelopeError, ErrorKind, SecretError};
use crate::master_key::{MasterKeyProvider, WrappedKey};

/// A Transit key (`<mount>/keys/<name>`) used as the master key. Its key id is
/// `transit:<mount>/<name>`; Transit's own key versions (`vault:vN:`) live inside the
/// wrapped bytes, so a Transit `rotate` needs no change here (Transit `rewrap` can be run
/// on the stored envelopes later).
#[derive(Debug, Clone)]
pub struct TransitMasterKey {
    client: VaultClient,
    mount: String,
    key_name: String,
    key_id: String,
}

impl TransitMasterKey {
    /// Use the Transit key `key_name` under `mount` (usually `transit`).
    pub fn new(client: VaultClient, mount: impl Into<String>, key_name: impl Into<String>) -> Self {
        let mount = mount.into();
        let key_name = key_name.into();
        let key_id = format!("transit:{mount}/{key_name}");
        Self {
            client,
            mount,
            key_name,
            key_id,
        }
    }

    async fn call(&self, operation: &str, body: &Value) -> Result<Value, EnvelopeError> {
        let mut segments: Vec<&str> = self.mount.split('/').filter(|s| !s.is_empty()).collect();
        segments.extend([operation, self.key_name.as_str()]);
        self.client
            .request(Method::POST, &segments, None, Some(body))
            .await
            .map_err(|error| provider_error(&error))
    }
}

fn provider_error(error: &SecretError) -> EnvelopeError {
    let message = format!("Vault Transit: {}", error.message());
    match error.kind() {
        ErrorKind::Unavailable => EnvelopeError::Unavailable(message),
        ErrorKind::PermissionDenied => EnvelopeError::PermissionDenied(message),
        _ => EnvelopeError::Provider(message),
    }
}

#[async_trait]
impl MasterKeyProvider for TransitMasterKey {
    fn current_key_id(&self) -> String {
        self.key_id.clone()
    }

    async fn wrap_data_key(&self, data_key: &[u8]) -> Result<WrappedKey, EnvelopeError> {
        let plaintext = Zeroizing::new(STANDARD.encode(data_key));
        let answer = self
            .call("encrypt", &json!({ "plaintext": plaintext.as_str() }))
            .await?;
        let ciphertext = answer
            .pointer("/data/ciphertext")
            .and_then(Value::as_str)
            .ok_or_else(|| EnvelopeError::Provider("Transit encrypt gave no ciphertext".into()))?;
        Ok(WrappedKey {
            key_id: self.key_id.clone(),
            bytes: ciphertext.as_bytes().to_vec(),
        })
    }

    async fn unwrap_data_key(
        &self,
        key_id: &str,
        wrapped: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
        if key_id != self.key_id {
            return Err(EnvelopeError::UnknownKeyId(key_id.to_owned()));
        }
        let ciphertext = std::str::from_utf8(wrapped)
            .map_err(|_| EnvelopeError::Malformed("Transit ciphertext is not text".into()))?;
        let answer = self
            .call("decrypt", &json!({ "ciphertext": ciphertext }))
            .await?;
        let plaintext = answer
            .pointer("/data/plaintext")
            .and_then(Value::as_str)
            .ok_or_else(|| EnvelopeError::Provider("Transit decrypt gave no plaintext".into()))?;
        STANDARD
            .decode(plaintext)
            .map(Zeroizing::new)
            .map_err(|_| EnvelopeError::Provider("Transit plaintext is not base64".into()))
    }
}
