//! Envelope encryption for secrets and sensitive columns.
//!
//! Each value gets a fresh random 256-bit data key; the value is encrypted with AES-256-GCM
//! under that key, and the data key is wrapped by a master key ([`MasterKeyProvider`]).
//! The associated data binds the ciphertext to an [`EnvelopeContext`] (the row's name and
//! version), so a ciphertext copied into another row does not decrypt. Rotating the master
//! key only re-wraps the data key ([`rewrap`]); the ciphertext stays as it is.
//!
//! ```no_run
//! # async fn demo() -> Result<(), secrets::EnvelopeError> {
//! use secrets::{EnvelopeContext, MasterKey, envelope};
//! let key = MasterKey::generate();
//! let context = EnvelopeContext::new("connectors/42/api_key", 1);
//! let sealed = envelope::seal(&key, &context, b"s3cret").await?;
//! let column_text = sealed.to_text();
//! let opened = envelope::open(&key, &secrets::Envelope::from_text(&column_text)?, &context).await?;
//! assert_eq!(opened.as_slice(), b"s3cret");
//! # Ok(()) }
//! ```

use aes_gcm::aead::{Aead, KeyInit, OsRng, Payload, rand_core::RngCore};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::EnvelopeError;
use crate::master_key::{KEY_LEN, MasterKeyProvider};

/// Current envelope format version.
pub const ENVELOPE_FORMAT: u8 = 1;
const NONCE_LEN: usize = 12;
const TEXT_PREFIX: &str = "gev1";
const DATA_AAD_PREFIX: &[u8] = b"grimos/envelope/v1\0";

/// What a ciphertext is bound to: the name of the secret (or `table/column/row id`) and its
/// version. Opening with a different context fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnvelopeContext<'a> {
    /// Name of the secret or row.
    pub name: &'a str,
    /// Version of the value.
    pub version: u64,
}

impl<'a> EnvelopeContext<'a> {
    /// A context for `name` at `version`.
    pub fn new(name: &'a str, version: u64) -> Self {
        Self { name, version }
    }

    fn associated_data(&self) -> Vec<u8> {
        // Length-prefixed so that no two (name, version) pairs encode the same bytes.
        let mut aad = Vec::with_capacity(DATA_AAD_PREFIX.len() + 16 + self.name.len());
        aad.extend_from_slice(DATA_AAD_PREFIX);
        aad.extend_from_slice(&(self.name.len() as u64).to_be_bytes());
        aad.extend_from_slice(self.name.as_bytes());
        aad.extend_from_slice(&self.version.to_be_bytes());
        aad
    }
}

/// An encrypted value with its wrapped data key. Serializes with base64url byte fields;
/// [`Envelope::to_text`] gives a one-line form for a text column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// Format version ([`ENVELOPE_FORMAT`]).
    pub format: u8,
    /// Id of the master key that wrapped the data key.
    pub key_id: String,
    /// The data key, wrapped by the master key (provider-specific bytes).
    #[serde(with = "base64_bytes")]
    pub wrapped_key: Vec<u8>,
    /// AES-GCM nonce of the value (12 bytes).
    #[serde(with = "base64_bytes")]
    pub nonce: Vec<u8>,
    /// AES-256-GCM ciphertext of the value, tag included.
    #[serde(with = "base64_bytes")]
    pub ciphertext: Vec<u8>,
}

impl Envelope {
    /// Compact text: `gev1.<key id>.<wrapped key>.<nonce>.<ciphertext>`, every part base64url.
    pub fn to_text(&self) -> String {
        let parts = [
            self.key_id.as_bytes(),
            self.wrapped_key.as_slice(),
            self.nonce.as_slice(),
            self.ciphertext.as_slice(),
        ];
        let mut text = String::from(TEXT_PREFIX);
        for part in parts {
            text.push('.');
            text.push_str(&URL_SAFE_NO_PAD.encode(part));
        }
        text
    }

    /// Parse [`Envelope::to_text`]'s output.
    pub fn from_text(text: &str) -> Result<Self, EnvelopeError> {
        let mut parts = text.trim().split('.');
        if parts.next() != Some(TEXT_PREFIX) {
            return Err(EnvelopeError::Malformed(format!(
                "expected text starting with `{TEXT_PREFIX}.`"
            )));
        }
        let mut decoded = Vec::with_capacity(4);
        for part in parts {
            decoded.push(
                URL_SAFE_NO_PAD
                    .decode(part)
                    .map_err(|_| EnvelopeError::Malformed("a part is not base64url".into()))?,
            );
        }
        let [key_id, wrapped_key, nonce, ciphertext]: [Vec<u8>; 4] = decoded
            .try_into()
            .map_err(|_| EnvelopeError::Malformed("expected 5 `.`-separated parts".into()))?;
        let key_id = String::from_utf8(key_id)
            .map_err(|_| EnvelopeError::Malformed("the key id is not UTF-8".into()))?;
        Ok(Self {
            format: ENVELOPE_FORMAT,
            key_id,
            wrapped_key,
            nonce,
            ciphertext,
        })
    }
}

/// Encrypt `plaintext` under a fresh data key wrapped by `provider`'s current key.
pub async fn seal(
    provider: &dyn MasterKeyProvider,
    context: &EnvelopeContext<'_>,
    plaintext: &[u8],
) -> Result<Envelope, EnvelopeError> {
    let mut data_key = Zeroizing::new([0u8; KEY_LEN]);
    OsRng.fill_bytes(data_key.as_mut_slice());
    let mut nonce = [0u8; NONCE_LEN];
    OsRng.fill_bytes(&mut nonce);
    let cipher = Aes256Gcm::new_from_slice(data_key.as_slice())
        .map_err(|_| EnvelopeError::EncryptionFailed)?;
    let aad = context.associated_data();
    let ciphertext = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .map_err(|_| EnvelopeError::EncryptionFailed)?;
    let wrapped = provider.wrap_data_key(data_key.as_slice()).await?;
    Ok(Envelope {
        format: ENVELOPE_FORMAT,
        key_id: wrapped.key_id,
        wrapped_key: wrapped.bytes,
        nonce: nonce.to_vec(),
        ciphertext,
    })
}

/// Decrypt an envelope made for `context`, unwrapping its data key with the master key it
/// names.
pub async fn open(
    provider: &dyn MasterKeyProvider,
    envelope: &Envelope,
    context: &EnvelopeContext<'_>,
) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
    check_format(envelope)?;
    let data_key = provider
        .unwrap_data_key(&envelope.key_id, &envelope.wrapped_key)
        .await?;
    let cipher =
        Aes256Gcm::new_from_slice(&data_key).map_err(|_| EnvelopeError::DecryptionFailed)?;
    let aad = context.associated_data();
    cipher
        .decrypt(
            Nonce::from_slice(&envelope.nonce),
            Payload {
                msg: &envelope.ciphertext,
                aad: &aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| EnvelopeError::DecryptionFailed)
}

/// Re-wrap the envelope's data key: unwrap with `old` (by the envelope's key id), wrap with
/// `new`'s current key. The ciphertext is unchanged; no plaintext value is decrypted.
pub async fn rewrap(
    envelope: &Envelope,
    old: &dyn MasterKeyProvider,
    new: &dyn MasterKeyProvider,
) -> Result<Envelope, EnvelopeError> {
    check_format(envelope)?;
    let data_key = old
        .unwrap_data_key(&envelope.key_id, &envelope.wrapped_key)
        .await?;
    if data_key.len() != KEY_LEN {
        return Err(EnvelopeError::Malformed(
            "the data key has the wrong length".into(),
        ));
    }
    let wrapped = new.wrap_data_key(&data_key).await?;
    Ok(Envelope {
        key_id: wrapped.key_id,
        wrapped_key: wrapped.bytes,
        ..envelope.clone()
    })
}

fn check_format(envelope: &Envelope) -> Result<(), EnvelopeError> {
    if envelope.format != ENVELOPE_FORMAT {
        return Err(EnvelopeError::Malformed(format!(
            "unsupported envelope format {}",
            envelope.format
        )));
    }
    if envelope.nonce.len() != NONCE_LEN {
        return Err(EnvelopeError::Malformed(
            "the nonce must be 12 bytes".into(),
        ));
    }
    Ok(())
}

mod base64_bytes {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        URL_SAFE_NO_PAD
            .decode(text.as_bytes())
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::master_key::{MasterKey, MasterKeyRing};

    fn context(name: &str, version: u64) -> EnvelopeContext<'_> {
        EnvelopeContext::new(name, version)
    }

    #[tokio::test]
    async fn round_trip() {
        let key = MasterKey::generate();
        let sealed = seal(&key, &context("db/password", 1), b"hunter2")
            .await
            .unwrap();
        assert_eq!(sealed.key_id, key.id());
        assert_ne!(sealed.ciphertext.as_slice(), b"hunter2".as_slice());
        let opened = open(&key, &sealed, &context("db/password", 1))
            .await
            .unwrap();
        assert_eq!(opened.as_slice(), b"hunter2");
    }

    #[tokio::test]
    async fn each_seal_uses_a_fresh_data_key_and_nonce() {
        let key = MasterKey::generate();
        let a = seal(&key, &context("x", 1), b"same").await.unwrap();
        let b = seal(&key, &context("x", 1), b"same").await.unwrap();
        assert_ne!(a.wrapped_key, b.wrapped_key);
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.ciphertext, b.ciphertext);
    }

    #[tokio::test]
    async fn tampering_fails_to_decrypt() {
        let key = MasterKey::generate();
        let sealed = seal(&key, &context("db/password", 1), b"hunter2")
            .await
            .unwrap();
        let ctx = context("db/password", 1);

        let mut flipped = sealed.clone();
        flipped.ciphertext[0] ^= 1;
        assert_eq!(
            open(&key, &flipped, &ctx).await,
            Err(EnvelopeError::DecryptionFailed)
        );

        let mut bad_nonce = sealed.clone();
        bad_nonce.nonce[0] ^= 1;
        assert_eq!(
            open(&key, &bad_nonce, &ctx).await,
            Err(EnvelopeError::DecryptionFailed)
        );

        let mut bad_key = sealed.clone();
        let last = bad_key.wrapped_key.len() - 1;
        bad_key.wrapped_key[last] ^= 1;
        assert_eq!(
            open(&key, &bad_key, &ctx).await,
            Err(EnvelopeError::DecryptionFailed)
        );

        let other = MasterKey::generate();
        let mut relabelled = sealed.clone();
        relabelled.key_id = other.id().to_owned();
        assert_eq!(
            open(&other, &relabelled, &ctx).await,
            Err(EnvelopeError::DecryptionFailed)
        );
    }

    #[tokio::test]
    async fn swapping_ciphertexts_between_rows_fails() {
        let key = MasterKey::generate();
        let alice = seal(&key, &context("alice/password", 1), b"alice-pw")
            .await
            .unwrap();
        let bob = seal(&key, &context("bob/password", 1), b"bob-pw")
            .await
            .unwrap();
        // Bob's row now holds Alice's envelope.
        assert_eq!(
            open(&key, &alice, &context("bob/password", 1)).await,
            Err(EnvelopeError::DecryptionFailed)
        );
        // An old version replayed as the current one.
        assert_eq!(
            open(&key, &bob, &context("bob/password", 2)).await,
            Err(EnvelopeError::DecryptionFailed)
        );
    }

    #[tokio::test]
    async fn rewrap_changes_only_the_data_key_wrapping() {
        let old = MasterKey::generate();
        let new = MasterKey::generate();
        let ctx = context("api/token", 4);
        let sealed = seal(&old, &ctx, b"token-value").await.unwrap();
        let rewrapped = rewrap(&sealed, &old, &new).await.unwrap();
        assert_eq!(rewrapped.key_id, new.id());
        assert_eq!(rewrapped.ciphertext, sealed.ciphertext);
        assert_eq!(rewrapped.nonce, sealed.nonce);
        assert_ne!(rewrapped.wrapped_key, sealed.wrapped_key);
        assert_eq!(
            open(&new, &rewrapped, &ctx).await.unwrap().as_slice(),
            b"token-value"
        );
        assert!(matches!(
            open(&old, &rewrapped, &ctx).await,
            Err(EnvelopeError::UnknownKeyId(_))
        ));
        // A ring holding both keys opens envelopes from before and after the rotation.
        let ring = MasterKeyRing::new(new).with_retired(old);
        assert!(open(&ring, &sealed, &ctx).await.is_ok());
        assert!(open(&ring, &rewrapped, &ctx).await.is_ok());
    }

    #[tokio::test]
    async fn text_and_json_forms_round_trip() {
        let key = MasterKey::generate();
        let sealed = seal(&key, &context("n", 1), b"v").await.unwrap();
        let text = sealed.to_text();
        assert!(text.starts_with("gev1."));
        assert_eq!(Envelope::from_text(&text).unwrap(), sealed);
        let json = serde_json::to_string(&sealed).unwrap();
        assert_eq!(serde_json::from_str::<Envelope>(&json).unwrap(), sealed);
        assert!(Envelope::from_text("gev1.a.b").is_err());
        assert!(Envelope::from_text("nope").is_err());
    }
}
