//! Master keys: the keys that wrap (encrypt) per-secret data keys.
//!
//! A [`MasterKeyProvider`] wraps and unwraps data keys and names the key it used, so
//! envelopes made under an old key keep decrypting after a rotation. Local keys are
//! [`MasterKey`] (32 bytes from a 0600 key file or `GRIMOS_MASTER_KEY`) and
//! [`MasterKeyRing`] (the current key plus retired ones); Vault Transit is
//! [`crate::vault::TransitMasterKey`].

use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, OsRng, Payload, rand_core::RngCore};
use aes_gcm::{Aes256Gcm, Nonce};
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::EnvelopeError;

/// Environment variable holding a base64 master key; it wins over the key file.
pub const MASTER_KEY_ENV: &str = "GRIMOS_MASTER_KEY";

/// Length of a master key and of a data key, in bytes (AES-256).
pub const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;
const WRAP_AAD_PREFIX: &[u8] = b"grimos/data-key/v1\0";

/// A data key wrapped by a master key, with the id of that master key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedKey {
    /// Id of the master key that wrapped it.
    pub key_id: String,
    /// Provider-specific wrapped bytes.
    pub bytes: Vec<u8>,
}

/// Something that wraps data keys: a local key, a key ring, a Vault Transit key.
#[async_trait]
pub trait MasterKeyProvider: Send + Sync {
    /// Id of the key new envelopes are wrapped with now (a provider whose current key can
    /// change while it runs, like a key directory rotated by another process, answers the
    /// latest).
    fn current_key_id(&self) -> String;

    /// Wrap a data key with the current key.
    async fn wrap_data_key(&self, data_key: &[u8]) -> Result<WrappedKey, EnvelopeError>;

    /// Unwrap a data key wrapped by the key `key_id`.
    async fn unwrap_data_key(
        &self,
        key_id: &str,
        wrapped: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, EnvelopeError>;
}

/// A local 256-bit master key with its id. `Debug` shows the id only; zeroed on drop.
#[derive(Clone)]
pub struct MasterKey {
    id: String,
    key: Zeroizing<[u8; KEY_LEN]>,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl MasterKey {
    /// A key from raw bytes. Its id, `local-` and 8 hex digits, is derived from the key
    /// (a one-way fingerprint), so the same key always has the same id and needs no metadata.
    pub fn from_bytes(key: [u8; KEY_LEN]) -> Self {
        let key = Zeroizing::new(key);
        let mut hasher = Sha256::new();
        hasher.update(b"grimos master key id v1\0");
        hasher.update(key.as_slice());
        let digest = hasher.finalize();
        let id = format!("local-{}", hex::encode(&digest[..4]));
        Self { id, key }
    }

    /// A fresh random key.
    pub fn generate() -> Self {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        OsRng.fill_bytes(key.as_mut_slice());
        Self::from_bytes(*key)
    }

    /// Parse the text of a key: 64 hex digits or base64 (standard or URL-safe, padded or
    /// not) of 32 bytes. Surrounding whitespace is ignored.
    pub fn parse(text: &str) -> Result<Self, EnvelopeError> {
        let text = text.trim();
        let bytes = if text.len() == KEY_LEN * 2 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            Zeroizing::new(hex::decode(text).map_err(|_| invalid_key_text())?)
        } else {
            Zeroizing::new(
                [STANDARD, URL_SAFE, STANDARD_NO_PAD, URL_SAFE_NO_PAD]
                    .iter()
                    .find_map(|engine| engine.decode(text).ok())
                    .ok_or_else(invalid_key_text)?,
            )
        };
        let key: [u8; KEY_LEN] = bytes.as_slice().try_into().map_err(|_| {
            EnvelopeError::InvalidKey(format!(
                "a master key is {KEY_LEN} bytes, this one decodes to {}",
                bytes.len()
            ))
        })?;
        Ok(Self::from_bytes(key))
    }

    /// The key from `GRIMOS_MASTER_KEY`, if set.
    pub fn from_env() -> Result<Option<Self>, EnvelopeError> {
        match std::env::var(MASTER_KEY_ENV) {
            Ok(text) => {
                let text = Zeroizing::new(text);
                Self::parse(&text)
                    .map(Some)
                    .map_err(|e| EnvelopeError::InvalidKey(format!("{MASTER_KEY_ENV}: {e}")))
            }
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(EnvelopeError::InvalidKey(format!(
                "{MASTER_KEY_ENV} is not valid text"
            ))),
        }
    }

    /// `GRIMOS_MASTER_KEY` if set, else [`MasterKey::load_or_create`] on `path`.
    pub fn from_env_or_file(path: &Path) -> Result<Self, EnvelopeError> {
        match Self::from_env()? {
            Some(key) => Ok(key),
            None => Self::load_or_create(path),
        }
    }

    /// Read the key file, or create it with a fresh key (mode 0600, parent 0700) if absent.
    /// Two processes racing to create it end up with the same key.
    pub fn load_or_create(path: &Path) -> Result<Self, EnvelopeError> {
        match Self::create(path) {
            Ok(key) => Ok(key),
            Err(CreateError::Exists) => Self::load(path),
            Err(CreateError::Other(error)) => Err(error),
        }
    }

    /// Write a fresh key to a new file (mode 0600); fails if the file exists.
    pub fn create_new(path: &Path) -> Result<Self, EnvelopeError> {
        Self::create(path).map_err(|error| match error {
            CreateError::Exists => EnvelopeError::Io(format!("{} already exists", path.display())),
            CreateError::Other(error) => error,
        })
    }

    /// Read a key file (hex or base64). On Unix, refuses a file readable by group or others.
    pub fn load(path: &Path) -> Result<Self, EnvelopeError> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path)
                .map_err(|e| io_error(path, &e))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(EnvelopeError::Io(format!(
                    "{} is accessible by group or others (mode {:o}); run `chmod 600` on it",
                    path.display(),
                    mode & 0o777
                )));
            }
        }
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| io_error(path, &e))?);
        Self::parse(&text)
            .map_err(|e| EnvelopeError::InvalidKey(format!("{}: {e}", path.display())))
    }

    fn create(path: &Path) -> Result<Self, CreateError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt;
                builder.mode(0o700);
            }
            builder
                .create(parent)
                .map_err(|e| CreateError::Other(io_error(parent, &e)))?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = match options.open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(CreateError::Exists);
            }
            Err(e) => return Err(CreateError::Other(io_error(path, &e))),
        };
        let key = Self::generate();
        let text = Zeroizing::new(format!("{}\n", STANDARD.encode(key.key.as_slice())));
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| CreateError::Other(io_error(path, &e)))?;
        tracing::debug!(path = %path.display(), key_id = %key.id, "wrote a new master key file");
        Ok(key)
    }

    /// The key's id, stored in every envelope it wraps.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn wrap_key(&self, data_key: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
        let cipher = Aes256Gcm::new_from_slice(self.key.as_slice())
            .map_err(|_| EnvelopeError::EncryptionFailed)?;
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let aad = self.wrap_aad();
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: data_key,
                    aad: &aad,
                },
            )
            .map_err(|_| EnvelopeError::EncryptionFailed)?;
        let mut wrapped = Vec::with_capacity(NONCE_LEN + sealed.len());
        wrapped.extend_from_slice(&nonce);
        wrapped.extend_from_slice(&sealed);
        Ok(wrapped)
    }

    fn unwrap_key(&self, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
        if wrapped.len() <= NONCE_LEN {
            return Err(EnvelopeError::Malformed("wrapped key is too short".into()));
        }
        let (nonce, sealed) = wrapped.split_at(NONCE_LEN);
        let cipher = Aes256Gcm::new_from_slice(self.key.as_slice())
            .map_err(|_| EnvelopeError::DecryptionFailed)?;
        let aad = self.wrap_aad();
        cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: &aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| EnvelopeError::DecryptionFailed)
    }

    fn wrap_aad(&self) -> Vec<u8> {
        [WRAP_AAD_PREFIX, self.id.as_bytes()].concat()
    }
}

enum CreateError {
    Exists,
    Other(EnvelopeError),
}

fn invalid_key_text() -> EnvelopeError {
    EnvelopeError::InvalidKey("expected 64 hex digits or base64 of 32 bytes".into())
}

fn io_error(path: &Path, error: &std::io::Error) -> EnvelopeError {
    EnvelopeError::Io(format!("{}: {error}", path.display()))
}

#[async_trait]
impl MasterKeyProvider for MasterKey {
    fn current_key_id(&self) -> String {
        self.id.clone()
    }

    async fn wrap_data_key(&self, data_key: &[u8]) -> Result<WrappedKey, EnvelopeError> {
        Ok(WrappedKey {
            key_id: self.id.clone(),
            bytes: self.wrap_key(data_key)?,
        })
    }

    async fn unwrap_data_key(
        &self,
        key_id: &str,
        wrapped: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
        if key_id != self.id {
            return Err(EnvelopeError::UnknownKeyId(key_id.to_owned()));
        }
        self.unwrap_key(wrapped)
    }
}

/// The current master key plus retired ones: wraps with the current key, unwraps with
/// whichever key the envelope names. The shape of a key rotation without downtime.
#[derive(Debug, Clone)]
pub struct MasterKeyRing {
    current: MasterKey,
    retired: HashMap<String, MasterKey>,
}

impl MasterKeyRing {
    /// A ring with only the current key.
    pub fn new(current: MasterKey) -> Self {
        Self {
            current,
            retired: HashMap::new(),
        }
    }

    /// Add a retired key that can still unwrap old envelopes.
    #[must_use]
    pub fn with_retired(mut self, key: MasterKey) -> Self {
        if key.id != self.current.id {
            self.retired.insert(key.id.clone(), key);
        }
        self
    }

    /// Ids of all keys in the ring, current first.
    pub fn key_ids(&self) -> Vec<&str> {
        std::iter::once(self.current.id())
            .chain(self.retired.keys().map(String::as_str))
            .collect()
    }
}

#[async_trait]
impl MasterKeyProvider for MasterKeyRing {
    fn current_key_id(&self) -> String {
        self.current.id().to_owned()
    }

    async fn wrap_data_key(&self, data_key: &[u8]) -> Result<WrappedKey, EnvelopeError> {
        self.current.wrap_data_key(data_key).await
    }

    async fn unwrap_data_key(
        &self,
        key_id: &str,
        wrapped: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
        let key = if key_id == self.current.id {
            &self.current
        } else {
            self.retired
                .get(key_id)
                .ok_or_else(|| EnvelopeError::UnknownKeyId(key_id.to_owned()))?
        };
        key.unwrap_key(wrapped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hex_and_base64_to_the_same_key() {
        let bytes = [7u8; KEY_LEN];
        let from_hex = MasterKey::parse(&hex::encode(bytes)).map(|k| k.id().to_owned());
        let from_b64 = MasterKey::parse(&STANDARD.encode(bytes)).map(|k| k.id().to_owned());
        let from_b64url =
            MasterKey::parse(&URL_SAFE_NO_PAD.encode(bytes)).map(|k| k.id().to_owned());
        assert_eq!(from_hex, Ok(MasterKey::from_bytes(bytes).id().to_owned()));
        assert_eq!(from_hex, from_b64);
        assert_eq!(from_hex, from_b64url);
    }

    #[test]
    fn rejects_short_and_garbage_keys() {
        assert!(MasterKey::parse(&STANDARD.encode([1u8; 16])).is_err());
        assert!(MasterKey::parse("not a key!").is_err());
        assert!(MasterKey::parse("").is_err());
    }

    #[test]
    fn debug_shows_only_the_id() {
        let key = MasterKey::from_bytes([9u8; KEY_LEN]);
        let debug = format!("{key:?}");
        assert!(debug.contains(key.id()));
        assert!(!debug.contains("9, 9"));
    }

    #[cfg(unix)]
    #[test]
    fn key_file_is_created_0600_and_reloaded() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().ok();
        let Some(dir) = dir else {
            panic!("tempdir");
        };
        let path = dir.path().join("keys/master.key");
        let created = MasterKey::load_or_create(&path).map(|k| k.id().to_owned());
        let mode = std::fs::metadata(&path)
            .map(|m| m.permissions().mode() & 0o777)
            .ok();
        assert_eq!(mode, Some(0o600));
        let reloaded = MasterKey::load_or_create(&path).map(|k| k.id().to_owned());
        assert!(created.is_ok());
        assert_eq!(created, reloaded);
        assert!(MasterKey::create_new(&path).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn refuses_a_key_file_readable_by_others() {
        use std::os::unix::fs::PermissionsExt;
        let Ok(dir) = tempfile::tempdir() else {
            panic!("tempdir");
        };
        let path = dir.path().join("master.key");
        assert!(std::fs::write(&path, hex::encode([1u8; KEY_LEN])).is_ok());
        assert!(std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).is_ok());
        let error = MasterKey::load(&path).err().map(|e| e.to_string());
        assert!(error.is_some_and(|e| e.contains("chmod 600")));
    }

    #[tokio::test]
    async fn ring_unwraps_with_retired_keys_and_wraps_with_current() {
        let old = MasterKey::generate();
        let new = MasterKey::generate();
        let wrapped = old.wrap_data_key(&[5u8; KEY_LEN]).await;
        let Ok(wrapped) = wrapped else {
            panic!("wrap failed");
        };
        let ring = MasterKeyRing::new(new.clone()).with_retired(old.clone());
        let unwrapped = ring.unwrap_data_key(&wrapped.key_id, &wrapped.bytes).await;
        assert_eq!(unwrapped.map(|k| k.to_vec()), Ok(vec![5u8; KEY_LEN]));
        assert_eq!(ring.current_key_id(), new.id());
        let only_new = MasterKeyRing::new(new);
        assert_eq!(
            only_new
                .unwrap_data_key(&wrapped.key_id, &wrapped.bytes)
                .await,
            Err(EnvelopeError::UnknownKeyId(old.id().to_owned()))
        );
    }
}
