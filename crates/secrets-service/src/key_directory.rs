//! Master keys as files.
//!
//! `<data-dir>/keys/<key-id>.key` holds one 256-bit key each (mode 0600, directory 0700);
//! `<data-dir>/keys/current` names the key new envelopes are wrapped with. Rotation writes a
//! new key file and then atomically replaces `current`; older key files stay, so envelopes
//! not yet rewrapped keep opening.

use std::path::{Path, PathBuf};

use kernel::{Error, ErrorKind};
use secrets::MasterKey;

/// The key directory of a data directory.
#[derive(Debug, Clone)]
pub struct KeyDirectory {
    dir: PathBuf,
}

fn key_error(message: String) -> Error {
    Error::new(ErrorKind::Internal, "master_key", message.clone())
        .with_source(std::io::Error::other(message))
}

impl KeyDirectory {
    /// The key directory inside `data_dir`.
    pub fn new(data_dir: &Path) -> Self {
        Self {
            dir: data_dir.join("keys"),
        }
    }

    /// Where the keys live.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    fn current_pointer(&self) -> PathBuf {
        self.dir.join("current")
    }

    /// The current key and every key in the directory; on first use, create the first key.
    pub fn load_or_init(&self) -> Result<(MasterKey, Vec<MasterKey>), Error> {
        if !self.current_pointer().exists() {
            self.add_key()?;
        }
        let current_id = self.current_id()?;
        let keys = self.load_all()?;
        let current = keys
            .iter()
            .find(|key| key.id() == current_id)
            .cloned()
            .ok_or_else(|| {
                key_error(format!(
                    "{} names key {current_id}, but {} has no such key file",
                    self.current_pointer().display(),
                    self.dir.display()
                ))
            })?;
        Ok((current, keys))
    }

    /// The id the `current` pointer names now (one small file read: cheap enough to do
    /// before each wrap, which is how a running server follows a rotation made by another
    /// process). The pointer is replaced by a rename, so a reader sees the old or the new id,
    /// never a partial one.
    pub fn current_id(&self) -> Result<String, Error> {
        std::fs::read_to_string(self.current_pointer())
            .map(|text| text.trim().to_owned())
            .map_err(|error| {
                key_error(format!(
                    "cannot read {}: {error}",
                    self.current_pointer().display()
                ))
            })
    }

    /// Every key file in the directory.
    pub fn load_all(&self) -> Result<Vec<MasterKey>, Error> {
        let entries = std::fs::read_dir(&self.dir)
            .map_err(|error| key_error(format!("cannot read {}: {error}", self.dir.display())))?;
        let mut keys = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            let is_key = path.extension().is_some_and(|extension| extension == "key")
                && path.file_stem().is_some_and(|stem| stem != "pending");
            if is_key {
                keys.push(MasterKey::load(&path).map_err(|error| key_error(error.to_string()))?);
            }
        }
        Ok(keys)
    }

    /// Create a new key and make it current; returns it. Older keys stay.
    pub fn add_key(&self) -> Result<MasterKey, Error> {
        let pending = self.dir.join("pending.key");
        // A pending file left by an interrupted rotation was never made current.
        if pending.exists() {
            std::fs::remove_file(&pending).map_err(|error| {
                key_error(format!("cannot remove {}: {error}", pending.display()))
            })?;
        }
        let key = MasterKey::create_new(&pending).map_err(|error| key_error(error.to_string()))?;
        let final_path = self.dir.join(format!("{}.key", key.id()));
        std::fs::rename(&pending, &final_path).map_err(|error| {
            key_error(format!("cannot write {}: {error}", final_path.display()))
        })?;
        let temporary = self.dir.join("current.tmp");
        std::fs::write(&temporary, format!("{}\n", key.id()))
            .and_then(|()| std::fs::rename(&temporary, self.current_pointer()))
            .map_err(|error| {
                key_error(format!(
                    "cannot update {}: {error}",
                    self.current_pointer().display()
                ))
            })?;
        tracing::info!(
            key_id = %key.id(),
            path = %final_path.display(),
            "created a master key for the embedded secret store (now current)"
        );
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_key_is_created_once_and_rotation_keeps_old_keys() {
        let data_dir = tempfile::tempdir().unwrap();
        let directory = KeyDirectory::new(data_dir.path());
        let (first, keys) = directory.load_or_init().unwrap();
        assert_eq!(keys.len(), 1);
        let (again, _) = directory.load_or_init().unwrap();
        assert_eq!(first.id(), again.id(), "a second start reuses the key");

        let second = directory.add_key().unwrap();
        let (current, keys) = directory.load_or_init().unwrap();
        assert_eq!(current.id(), second.id());
        assert_eq!(keys.len(), 2);
        assert!(keys.iter().any(|key| key.id() == first.id()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(directory.path().join(format!("{}.key", second.id())))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
