//! Drift guards: checks that what the documents say about the code still holds.
//!
//! - [`deps`]: the dependency rules written as a table in `ARCHITECTURE.md`, checked against
//!   `cargo metadata` (test `tests/dependency_rules.rs`).
//! - [`codes`]: the error codes used in the workspace's sources, checked against the
//!   catalogue `kernel::ErrorCode`, and the error table of `docs/api.md` generated from it
//!   (test `tests/error_codes.rs`; `cargo run -p workspace-rules --example gen-error-table`
//!   rewrites the table).
//!
//! Nothing here ships: the crate exists for its tests.

pub mod codes;
pub mod deps;
pub mod markdown;
mod source;

use std::path::{Path, PathBuf};

/// The workspace root (two levels above this crate's manifest).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}
