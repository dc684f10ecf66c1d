//! The embedded encrypted secret store: logic over a small storage trait.
//!
//! [`LocalSecretStore`] encrypts each value in an [`Envelope`] bound to the secret's name and
//! version and keeps it through a [`SecretRecordStore`] (SQLite/PostgreSQL in the storage
//! crate; `InMemoryRecordStore`, behind the `test-support` feature, for tests). Only the
//! latest version of each name is kept: `set` bumps the version, so an envelope copied from
//! an older version no longer opens.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::envelope::{self, Envelope, EnvelopeContext};
use crate::error::SecretError;
use crate::master_key::MasterKeyProvider;
use crate::reference::validate_local_name;
use crate::value::SecretValue;

/// One stored secret: its encrypted value and bookkeeping. Holds no plaintext.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretRecord {
    /// Unique name (`local:<name>`).
    pub name: String,
    /// Version, 1 for the first value, incremented by each `set`.
    pub version: u64,
    /// The encrypted value, bound to `name` and `version`.
    pub envelope: Envelope,
    /// When the name was first set.
    pub created_at: DateTime<Utc>,
    /// When the value (or its key wrapping) last changed.
    pub updated_at: DateTime<Utc>,
}

/// Storage of secret records, one per name. Implementations only store and fetch: they
/// never see plaintext and need no crypto.
#[async_trait]
pub trait SecretRecordStore: Send + Sync {
    /// Insert or replace the record with `record.name`.
    async fn put(&self, record: SecretRecord) -> Result<(), SecretError>;
    /// Replace the record named `expected.name` with `record` only if the stored one is
    /// still `expected` (same version and same envelope), atomically; whether it was
    /// replaced. A rotation's rewrap goes through here so that a value set (or a secret
    /// deleted and set again) meanwhile is never reverted.
    async fn replace(
        &self,
        expected: &SecretRecord,
        record: SecretRecord,
    ) -> Result<bool, SecretError>;
    /// The record named `name`, if any.
    async fn get(&self, name: &str) -> Result<Option<SecretRecord>, SecretError>;
    /// All records, ordered by name.
    async fn list(&self) -> Result<Vec<SecretRecord>, SecretError>;
    /// Delete the record named `name`; whether it existed.
    async fn delete(&self, name: &str) -> Result<bool, SecretError>;
}

/// What may be shown about a stored secret (never the value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretMetadata {
    /// Name of the secret.
    pub name: String,
    /// Current version.
    pub version: u64,
    /// Id of the master key its data key is wrapped with.
    pub key_id: String,
    /// When the name was first set.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<&SecretRecord> for SecretMetadata {
    fn from(record: &SecretRecord) -> Self {
        Self {
            name: record.name.clone(),
            version: record.version,
            key_id: record.envelope.key_id.clone(),
            created_at: record.created_at,
            updated_at: record.updated_at,
        }
    }
}

/// Outcome of [`LocalSecretStore::rotate_master_key`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RotationReport {
    /// Records whose data key was re-wrapped with the current master key.
    pub rewrapped: usize,
    /// Records already wrapped with the current master key.
    pub already_current: usize,
}

/// The embedded encrypted secret store.
#[derive(Clone)]
pub struct LocalSecretStore {
    records: Arc<dyn SecretRecordStore>,
    keys: Arc<dyn MasterKeyProvider>,
}

impl std::fmt::Debug for LocalSecretStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalSecretStore")
            .field("current_key_id", &self.keys.current_key_id())
            .finish_non_exhaustive()
    }
}

impl LocalSecretStore {
    /// A store over `records`, encrypting with `keys` (a [`crate::MasterKeyRing`] after a
    /// rotation, so records under retired keys still open).
    pub fn new(records: Arc<dyn SecretRecordStore>, keys: Arc<dyn MasterKeyProvider>) -> Self {
        Self { records, keys }
    }

    /// Create or replace the secret `name`; returns its new metadata (version + 1).
    ///
    /// Concurrent `set`s of one name are last-writer-wins.
    pub async fn set(
        &self,
        name: &str,
        value: &SecretValue,
    ) -> Result<SecretMetadata, SecretError> {
        let reference = local_reference(name);
        validate_local_name(name).map_err(|e| SecretError::from(e).with_reference(&reference))?;
        let existing = self
            .records
            .get(name)
            .await
            .map_err(|e| e.with_reference(&reference))?;
        let now = Utc::now();
        let (version, created_at) = match &existing {
            Some(record) => (record.version.saturating_add(1), record.created_at),
            None => (1, now),
        };
        let context = EnvelopeContext::new(name, version);
        let envelope = envelope::seal(self.keys.as_ref(), &context, value.expose_bytes())
            .await
            .map_err(|e| SecretError::from(e).with_reference(&reference))?;
        let record = SecretRecord {
            name: name.to_owned(),
            version,
            envelope,
            created_at,
            updated_at: now,
        };
        let metadata = SecretMetadata::from(&record);
        self.records
            .put(record)
            .await
            .map_err(|e| e.with_reference(&reference))?;
        tracing::info!(secret = %reference, version, "stored local secret");
        Ok(metadata)
    }

    /// Metadata of the secret `name`.
    pub async fn get_metadata(&self, name: &str) -> Result<SecretMetadata, SecretError> {
        self.record(name)
            .await
            .map(|record| SecretMetadata::from(&record))
    }

    /// Metadata of every secret, ordered by name.
    pub async fn list(&self) -> Result<Vec<SecretMetadata>, SecretError> {
        let records = self.records.list().await?;
        Ok(records.iter().map(SecretMetadata::from).collect())
    }

    /// Delete the secret `name`; not found if it does not exist.
    pub async fn delete(&self, name: &str) -> Result<(), SecretError> {
        let reference = local_reference(name);
        if self
            .records
            .delete(name)
            .await
            .map_err(|e| e.with_reference(&reference))?
        {
            tracing::info!(secret = %reference, "deleted local secret");
            Ok(())
        } else {
            Err(SecretError::not_found("no such local secret").with_reference(&reference))
        }
    }

    /// Decrypt the secret `name`.
    pub async fn resolve(&self, name: &str) -> Result<SecretValue, SecretError> {
        let record = self.record(name).await?;
        let reference = local_reference(name);
        let context = EnvelopeContext::new(&record.name, record.version);
        let plaintext = envelope::open(self.keys.as_ref(), &record.envelope, &context)
            .await
            .map_err(|e| SecretError::from(e).with_reference(&reference))?;
        SecretValue::from_utf8(plaintext.to_vec()).ok_or_else(|| {
            SecretError::backend("the stored value is not UTF-8 text").with_reference(&reference)
        })
    }

    /// Re-wrap every record not yet under the current master key. Values are not
    /// decrypted; versions stay. Safe to run while the store serves reads and writes, and to
    /// re-run after an interruption: each rewrap replaces a record only if it is still the
    /// one read ([`SecretRecordStore::replace`]), so a value set concurrently wins and is
    /// then rewrapped itself if it was sealed under an older key.
    pub async fn rotate_master_key(&self) -> Result<RotationReport, SecretError> {
        let current = self.keys.current_key_id();
        let mut report = RotationReport::default();
        for listed in self.records.list().await? {
            let reference = local_reference(&listed.name);
            let mut record = listed;
            let mut attempts = 0;
            loop {
                if record.envelope.key_id == current {
                    report.already_current += 1;
                    break;
                }
                attempts += 1;
                if attempts > MAX_REWRAP_ATTEMPTS {
                    return Err(SecretError::unavailable(
                        "the secret kept changing during the key rotation; run the rotation again",
                    )
                    .with_reference(&reference));
                }
                let envelope =
                    envelope::rewrap(&record.envelope, self.keys.as_ref(), self.keys.as_ref())
                        .await
                        .map_err(|e| SecretError::from(e).with_reference(&reference))?;
                let updated = SecretRecord {
                    envelope,
                    updated_at: Utc::now(),
                    ..record.clone()
                };
                if self
                    .records
                    .replace(&record, updated)
                    .await
                    .map_err(|e| e.with_reference(&reference))?
                {
                    report.rewrapped += 1;
                    break;
                }
                tracing::info!(
                    secret = %reference,
                    "secret changed during the key rotation; its new value is kept"
                );
                match self
                    .records
                    .get(&record.name)
                    .await
                    .map_err(|e| e.with_reference(&reference))?
                {
                    Some(fresh) => record = fresh,
                    None => break,
                }
            }
        }
        tracing::info!(
            key_id = %current,
            rewrapped = report.rewrapped,
            already_current = report.already_current,
            "rotated local secrets to the current master key"
        );
        Ok(report)
    }

    async fn record(&self, name: &str) -> Result<SecretRecord, SecretError> {
        let reference = local_reference(name);
        validate_local_name(name).map_err(|e| SecretError::from(e).with_reference(&reference))?;
        self.records
            .get(name)
            .await
            .map_err(|e| e.with_reference(&reference))?
            .ok_or_else(|| {
                SecretError::not_found("no such local secret").with_reference(&reference)
            })
    }
}

/// How often a rotation retries a record that keeps changing under it.
const MAX_REWRAP_ATTEMPTS: usize = 5;

fn local_reference(name: &str) -> String {
    format!("local:{name}")
}

/// A [`SecretRecordStore`] in memory, for tests only (nothing survives a restart); other
/// crates get it with the `test-support` feature.
#[cfg(any(test, feature = "test-support"))]
#[derive(Debug, Default)]
pub struct InMemoryRecordStore {
    records: tokio::sync::Mutex<std::collections::BTreeMap<String, SecretRecord>>,
}

#[cfg(any(test, feature = "test-support"))]
impl InMemoryRecordStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[cfg(any(test, feature = "test-support"))]
#[async_trait]
impl SecretRecordStore for InMemoryRecordStore {
    async fn put(&self, record: SecretRecord) -> Result<(), SecretError> {
        self.records
            .lock()
            .await
            .insert(record.name.clone(), record);
        Ok(())
    }

    async fn replace(
        &self,
        expected: &SecretRecord,
        record: SecretRecord,
    ) -> Result<bool, SecretError> {
        let mut records = self.records.lock().await;
        let unchanged = records.get(&expected.name).is_some_and(|stored| {
            stored.version == expected.version && stored.envelope == expected.envelope
        });
        if unchanged {
            records.insert(expected.name.clone(), record);
        }
        Ok(unchanged)
    }

    async fn get(&self, name: &str) -> Result<Option<SecretRecord>, SecretError> {
        Ok(self.records.lock().await.get(name).cloned())
    }

    async fn list(&self) -> Result<Vec<SecretRecord>, SecretError> {
        Ok(self.records.lock().await.values().cloned().collect())
    }

    async fn delete(&self, name: &str) -> Result<bool, SecretError> {
        Ok(self.records.lock().await.remove(name).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::master_key::{MasterKey, MasterKeyRing};

    fn store_with(
        keys: Arc<dyn MasterKeyProvider>,
    ) -> (Arc<InMemoryRecordStore>, LocalSecretStore) {
        let records = Arc::new(InMemoryRecordStore::new());
        (records.clone(), LocalSecretStore::new(records, keys))
    }

    #[tokio::test]
    async fn set_resolve_list_delete() {
        let (records, store) = store_with(Arc::new(MasterKey::generate()));
        let first = store.set("db/password", &"v1".into()).await.unwrap();
        assert_eq!(first.version, 1);
        let second = store
            .set("db/password", &"second-plaintext".into())
            .await
            .unwrap();
        assert_eq!(second.version, 2);
        assert_eq!(second.created_at, first.created_at);
        store.set("api/key", &"k".into()).await.unwrap();

        assert_eq!(
            store.resolve("db/password").await.unwrap().expose(),
            "second-plaintext"
        );
        let names: Vec<String> = store
            .list()
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.name)
            .collect();
        assert_eq!(names, ["api/key", "db/password"]);

        // What the storage layer holds is ciphertext only.
        let stored = serde_json::to_string(&records.list().await.unwrap()).unwrap();
        // 16 characters: random base64 does not match them by chance.
        assert!(!stored.contains("second-plaintext"), "{stored}");

        store.delete("api/key").await.unwrap();
        let error = store.resolve("api/key").await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::NotFound);
        assert_eq!(error.reference(), Some("local:api/key"));
        assert_eq!(
            store.delete("api/key").await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
    }

    #[tokio::test]
    async fn rejects_invalid_names() {
        let (_, store) = store_with(Arc::new(MasterKey::generate()));
        let error = store.set("../etc", &"x".into()).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidReference);
    }

    #[tokio::test]
    async fn an_envelope_moved_to_another_record_does_not_open() {
        let (records, store) = store_with(Arc::new(MasterKey::generate()));
        store.set("alice", &"alice-pw".into()).await.unwrap();
        store.set("bob", &"bob-pw".into()).await.unwrap();
        let alice = records.get("alice").await.unwrap().unwrap();
        let mut bob = records.get("bob").await.unwrap().unwrap();
        bob.envelope = alice.envelope;
        records.put(bob).await.unwrap();
        let error = store.resolve("bob").await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Backend);
        assert!(!error.to_string().contains("alice-pw"));
    }

    #[tokio::test]
    async fn rotation_rewraps_old_records_and_keeps_values() {
        let old = MasterKey::generate();
        let new = MasterKey::generate();
        let records = Arc::new(InMemoryRecordStore::new());
        let before = LocalSecretStore::new(records.clone(), Arc::new(old.clone()));
        before.set("a", &"value-a".into()).await.unwrap();
        before.set("b", &"value-b".into()).await.unwrap();

        let ring = MasterKeyRing::new(new.clone()).with_retired(old);
        let after = LocalSecretStore::new(records.clone(), Arc::new(ring));
        after.set("c", &"value-c".into()).await.unwrap();
        let report = after.rotate_master_key().await.unwrap();
        assert_eq!(
            report,
            RotationReport {
                rewrapped: 2,
                already_current: 1
            }
        );
        assert_eq!(after.rotate_master_key().await.unwrap().rewrapped, 0);

        // The old key can be dropped now.
        let new_only = LocalSecretStore::new(records, Arc::new(new.clone()));
        for (name, value) in [("a", "value-a"), ("b", "value-b"), ("c", "value-c")] {
            assert_eq!(new_only.resolve(name).await.unwrap().expose(), value);
            assert_eq!(new_only.get_metadata(name).await.unwrap().key_id, new.id());
        }
    }

    /// Records whose `list` lets a writer in right after the rotation read them: the
    /// rotation then works from a stale read, as when a `set` lands between its read and
    /// its write.
    struct WriterBetweenReadAndWrite {
        inner: Arc<InMemoryRecordStore>,
        writer: tokio::sync::Mutex<Option<LocalSecretStore>>,
    }

    #[async_trait]
    impl SecretRecordStore for WriterBetweenReadAndWrite {
        async fn put(&self, record: SecretRecord) -> Result<(), SecretError> {
            self.inner.put(record).await
        }
        async fn replace(
            &self,
            expected: &SecretRecord,
            record: SecretRecord,
        ) -> Result<bool, SecretError> {
            self.inner.replace(expected, record).await
        }
        async fn get(&self, name: &str) -> Result<Option<SecretRecord>, SecretError> {
            self.inner.get(name).await
        }
        async fn list(&self) -> Result<Vec<SecretRecord>, SecretError> {
            let read = self.inner.list().await?;
            if let Some(writer) = self.writer.lock().await.take() {
                writer.set("a", &"set-meanwhile".into()).await?;
                writer.delete("b").await?;
                writer.set("b", &"b-recreated".into()).await?;
            }
            Ok(read)
        }
        async fn delete(&self, name: &str) -> Result<bool, SecretError> {
            self.inner.delete(name).await
        }
    }

    #[tokio::test]
    async fn rotation_never_reverts_a_value_set_between_its_read_and_its_write() {
        let old = MasterKey::generate();
        let new = MasterKey::generate();
        let records = Arc::new(InMemoryRecordStore::new());
        let before = LocalSecretStore::new(records.clone(), Arc::new(old.clone()));
        before.set("a", &"a-before".into()).await.unwrap();
        before.set("b", &"b-before".into()).await.unwrap();

        // The writer is a server that has not seen the new key yet: it seals with the old
        // one, so the rotation must also rewrap the value it failed to replace.
        let hooked = Arc::new(WriterBetweenReadAndWrite {
            inner: records.clone(),
            writer: tokio::sync::Mutex::new(Some(before)),
        });
        let ring = MasterKeyRing::new(new.clone()).with_retired(old);
        let rotating = LocalSecretStore::new(hooked, Arc::new(ring));
        let report = rotating.rotate_master_key().await.unwrap();
        assert_eq!(report.rewrapped, 2, "{report:?}");

        let new_only = LocalSecretStore::new(records, Arc::new(new.clone()));
        assert_eq!(
            new_only.resolve("a").await.unwrap().expose(),
            "set-meanwhile"
        );
        assert_eq!(new_only.get_metadata("a").await.unwrap().version, 2);
        // Deleted and set again: version 1 again, but another envelope, which wins too.
        assert_eq!(new_only.resolve("b").await.unwrap().expose(), "b-recreated");
        assert_eq!(new_only.get_metadata("b").await.unwrap().key_id, new.id());
    }
}
