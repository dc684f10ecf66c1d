//! The embedded secret store as a grimOS service.
//!
//! - [`sql_store`]: the `secrets` table (SQLite or PostgreSQL) behind the secrets crate's
//!   `SecretRecordStore`; rows hold envelopes only, never values.
//! - [`key_directory`]: master keys as files under `<data-dir>/keys/` (mode 0600), with a
//!   `current` pointer; rotation adds a key and moves the pointer, old keys stay to open old
//!   envelopes until everything is rewrapped.
//! - [`key_ring`]: a master-key provider over that directory that follows a rotation
//!   running in another process (new keys for unwrapping, the `current` pointer re-read
//!   before each wrap), so a running server never needs a restart.
//! - [`routes`]: `PUT/GET/DELETE /api/v1/secrets/{name}` and `GET /api/v1/secrets` (behind
//!   the decision point: `secret:local:<name>`'s owner or admins; values are write-only).

pub mod commands;
pub mod key_directory;
pub mod key_ring;
pub mod routes;
pub mod sql_store;

use std::path::Path;
use std::sync::Arc;

use kernel::{Error, ErrorKind};
use secrets::{LocalSecretStore, MasterKey, SecretError};
use storage::Database;

use crate::key_directory::KeyDirectory;
use crate::key_ring::ReloadingKeyRing;
use crate::sql_store::SqlSecretRecordStore;

/// Open the embedded store over `db`, with master keys from `GRIMOS_MASTER_KEY` (when set)
/// or the key directory in `data_dir` (created with a first key when absent).
pub fn open_local_store(
    db: &Database,
    data_dir: &Path,
    master_key_env: Option<&str>,
) -> Result<LocalSecretStore, Error> {
    let records = Arc::new(SqlSecretRecordStore::new(db.clone()));
    let keys: Arc<dyn secrets::MasterKeyProvider> = match master_key_env {
        Some(text) => {
            let key = MasterKey::parse(text).map_err(|error| {
                Error::new(
                    ErrorKind::Validation,
                    "invalid_master_key",
                    format!("GRIMOS_MASTER_KEY: {}", error),
                )
            })?;
            Arc::new(secrets::MasterKeyRing::new(key))
        }
        None => Arc::new(ReloadingKeyRing::open(KeyDirectory::new(data_dir))?),
    };
    Ok(LocalSecretStore::new(records, keys))
}

/// A secrets-crate error as a kernel error: the message names the reference, never a value.
pub fn to_kernel_error(error: SecretError) -> Error {
    let message = error.to_string();
    match error.kind() {
        secrets::ErrorKind::NotFound => {
            Error::new(ErrorKind::NotFound, "secret_not_found", message)
        }
        secrets::ErrorKind::PermissionDenied => {
            Error::new(ErrorKind::Forbidden, "secret_permission_denied", message)
        }
        secrets::ErrorKind::InvalidReference => {
            Error::new(ErrorKind::Validation, "invalid_secret_reference", message)
        }
        secrets::ErrorKind::Unavailable => Error::new(
            ErrorKind::Unavailable,
            "secret_backend_unavailable",
            message,
        ),
        secrets::ErrorKind::Backend => Error::new(ErrorKind::Internal, "secret_backend", message),
    }
}
