//! What `grimos secrets ...` does, against the database and key directory directly (no
//! server needed; safe to run beside a running server).

use std::path::Path;

use kernel::{Error, ErrorKind};
use secrets::{LocalSecretStore, RotationReport, SecretMetadata, SecretValue};
use storage::Database;

use crate::key_directory::KeyDirectory;
use crate::{open_local_store, to_kernel_error};

/// Store `value` under `name`.
pub async fn set(
    db: &Database,
    data_dir: &Path,
    master_key: Option<&str>,
    name: &str,
    value: &SecretValue,
) -> Result<SecretMetadata, Error> {
    if value.expose_bytes().is_empty() {
        return Err(Error::invalid_field(
            "/value",
            "the value read from standard input is empty",
        ));
    }
    let store = open_local_store(db, data_dir, master_key)?;
    store.set(name, value).await.map_err(to_kernel_error)
}

/// Every secret's metadata.
pub async fn list(
    db: &Database,
    data_dir: &Path,
    master_key: Option<&str>,
) -> Result<Vec<SecretMetadata>, Error> {
    let store = open_local_store(db, data_dir, master_key)?;
    store.list().await.map_err(to_kernel_error)
}

/// Make a new master key current and rewrap every data key under it. Values are never
/// decrypted; a running server keeps reading (it finds the new key file when an envelope
/// names it) and wraps the next secrets it writes with the new key (it re-reads the
/// `current` pointer before each wrap). A value set while the rotation runs is never
/// reverted (rewraps are conditional). Old key files stay until you delete them.
pub async fn rotate_key(
    db: &Database,
    data_dir: &Path,
    master_key: Option<&str>,
) -> Result<(String, RotationReport), Error> {
    if master_key.is_some() {
        return Err(Error::new(
            ErrorKind::Validation,
            "master_key_from_env",
            "the master key comes from GRIMOS_MASTER_KEY, which grimOS cannot change: \
             unset it to use key files under <data-dir>/keys (then rotate), or re-seal with a new key",
        ));
    }
    let directory = KeyDirectory::new(data_dir);
    // Make sure the old keys are there before adding the new one.
    directory.load_or_init()?;
    let key = directory.add_key()?;
    let store: LocalSecretStore = open_local_store(db, data_dir, None)?;
    let report = store.rotate_master_key().await.map_err(to_kernel_error)?;
    Ok((key.id().to_owned(), report))
}
