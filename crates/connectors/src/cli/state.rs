//! State files of `connector read`: the checkpoint to resume from (`--state`) and the last
//! checkpoint reached (`--state-out`), replaced atomically (a temporary file renamed over
//! it) so that a crash leaves either the previous state or the new one, never half of one.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use connector_sdk::Checkpoint;

use super::error::CliError;

/// The checkpoint stored in `path` (JSON); `None` for an empty file or JSON `null`.
pub fn read(path: &Path) -> Result<Option<Checkpoint>, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Config(format!("cannot read state file {}: {e}", path.display())))?;
    if text.trim().is_empty() {
        return Ok(None);
    }
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        CliError::Config(format!(
            "state file {} is not valid JSON: {e}",
            path.display()
        ))
    })?;
    Ok((!value.is_null()).then_some(Checkpoint(value)))
}

/// Replaces `path` with `checkpoint` (JSON): written to a temporary file beside it, synced,
/// then renamed over it.
pub fn write_atomically(path: &Path, checkpoint: &Checkpoint) -> Result<(), CliError> {
    let failed = |e: std::io::Error| {
        CliError::io(
            format_args!("cannot write state file {}", path.display()),
            e,
        )
    };
    let temporary = temporary_path(path);
    let mut file = std::fs::File::create(&temporary).map_err(failed)?;
    let text = serde_json::to_string(&checkpoint.0).map_err(|e| {
        CliError::io(
            format_args!("cannot encode state for {}", path.display()),
            e,
        )
    })?;
    file.write_all(text.as_bytes()).map_err(failed)?;
    file.write_all(b"\n").map_err(failed)?;
    file.sync_all().map_err(failed)?;
    drop(file);
    std::fs::rename(&temporary, path).map_err(failed)
}

/// `dir/.name.tmp` beside `path`, on the same file system so the rename is atomic.
fn temporary_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "state".to_owned());
    path.with_file_name(format!(".{name}.tmp"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use serde_json::json;

    use super::*;

    #[test]
    fn a_state_round_trips_and_replaces_the_previous_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        write_atomically(&path, &Checkpoint(json!({"cursor": 1}))).unwrap();
        write_atomically(&path, &Checkpoint(json!({"cursor": 2}))).unwrap();
        assert_eq!(read(&path).unwrap(), Some(Checkpoint(json!({"cursor": 2}))));
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file left");
    }

    #[test]
    fn empty_and_broken_state_files() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.json");
        std::fs::write(&empty, "").unwrap();
        assert_eq!(read(&empty).unwrap(), None);
        let broken = dir.path().join("broken.json");
        std::fs::write(&broken, "{").unwrap();
        let error = read(&broken).unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert!(error.to_string().contains("broken.json"), "{error}");
    }
}
