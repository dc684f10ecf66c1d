//! A master-key provider over the key directory that picks up keys added by a rotation in
//! another process (`grimos secrets rotate-key` next to a running server).

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

use async_trait::async_trait;
use kernel::Error;
use secrets::{EnvelopeError, MasterKey, MasterKeyProvider, WrappedKey};
use zeroize::Zeroizing;

use crate::key_directory::KeyDirectory;

/// Wraps with the key the directory's `current` pointer names at the time of the wrap (the
/// pointer is re-read before each wrap, so a rotation by another process applies to the
/// next secret written); unwraps with any key of the directory, re-reading the directory
/// once when an envelope names a key it has not seen.
pub struct ReloadingKeyRing {
    current: RwLock<MasterKey>,
    keys: RwLock<HashMap<String, MasterKey>>,
    directory: KeyDirectory,
}

impl ReloadingKeyRing {
    /// Load (or initialise) the keys of `directory`.
    pub fn open(directory: KeyDirectory) -> Result<Self, Error> {
        let (current, keys) = directory.load_or_init()?;
        Ok(Self {
            current: RwLock::new(current),
            keys: RwLock::new(
                keys.into_iter()
                    .map(|key| (key.id().to_owned(), key))
                    .collect(),
            ),
            directory,
        })
    }

    /// The key the `current` pointer names now. When the pointer cannot be read, or names a
    /// key without a file (a rotation half done by hand), the key current before stays in
    /// use: it still opens everywhere, since rotation never deletes key files.
    fn current(&self) -> MasterKey {
        let cached = self
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let pointed = match self.directory.current_id() {
            Ok(id) if id == cached.id() => return cached,
            Ok(id) => id,
            Err(error) => {
                tracing::warn!(
                    error = %error,
                    key_id = %cached.id(),
                    "cannot read the current master key pointer; wrapping with the key current before"
                );
                return cached;
            }
        };
        let key = self.key(&pointed).or_else(|| {
            self.reload();
            self.key(&pointed)
        });
        let Some(key) = key else {
            tracing::warn!(
                key_id = %pointed,
                previous_key_id = %cached.id(),
                "the current master key pointer names a key without a key file; wrapping with the key current before"
            );
            return cached;
        };
        tracing::info!(
            key_id = %key.id(),
            previous_key_id = %cached.id(),
            "the master key was rotated: new secrets are wrapped with the new current key"
        );
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = key.clone();
        key
    }

    fn key(&self, key_id: &str) -> Option<MasterKey> {
        self.keys.read().ok()?.get(key_id).cloned()
    }

    fn reload(&self) {
        match self.directory.load_all() {
            Ok(keys) => {
                if let Ok(mut known) = self.keys.write() {
                    for key in keys {
                        known.insert(key.id().to_owned(), key);
                    }
                }
            }
            Err(error) => tracing::warn!(error = %error, "cannot re-read the master key directory"),
        }
    }
}

#[async_trait]
impl MasterKeyProvider for ReloadingKeyRing {
    fn current_key_id(&self) -> String {
        self.current().id().to_owned()
    }

    async fn wrap_data_key(&self, data_key: &[u8]) -> Result<WrappedKey, EnvelopeError> {
        self.current().wrap_data_key(data_key).await
    }

    async fn unwrap_data_key(
        &self,
        key_id: &str,
        wrapped: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
        let key = match self.key(key_id) {
            Some(key) => key,
            None => {
                self.reload();
                self.key(key_id)
                    .ok_or_else(|| EnvelopeError::UnknownKeyId(key_id.to_owned()))?
            }
        };
        key.unwrap_data_key(key_id, wrapped).await
    }
}
