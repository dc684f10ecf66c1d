//! A master-key provider over the key directory that picks up keys added by a rotation in
//! another process (`grimos secrets rotate-key` next to a running server).

use std::collections::HashMap;
use std::sync::RwLock;

use async_trait::async_trait;
use kernel::Error;
use secrets::{EnvelopeError, MasterKey, MasterKeyProvider, WrappedKey};
use zeroize::Zeroizing;

use crate::key_directory::KeyDirectory;

/// Wraps with the key that was current when it was opened; unwraps with any key of the
/// directory, re-reading the directory once when an envelope names a key it has not seen.
pub struct ReloadingKeyRing {
    current: MasterKey,
    keys: RwLock<HashMap<String, MasterKey>>,
    directory: KeyDirectory,
}

impl ReloadingKeyRing {
    /// Load (or initialise) the keys of `directory`.
    pub fn open(directory: KeyDirectory) -> Result<Self, Error> {
        let (current, keys) = directory.load_or_init()?;
        Ok(Self {
            current,
            keys: RwLock::new(
                keys.into_iter()
                    .map(|key| (key.id().to_owned(), key))
                    .collect(),
            ),
            directory,
        })
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
    fn current_key_id(&self) -> &str {
        self.current.id()
    }

    async fn wrap_data_key(&self, data_key: &[u8]) -> Result<WrappedKey, EnvelopeError> {
        self.current.wrap_data_key(data_key).await
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
