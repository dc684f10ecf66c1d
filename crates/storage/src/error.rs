//! Mapping database failures to kernel errors.

use kernel::{Error, ErrorKind};

/// Convert a sqlx error into a kernel error: pool exhaustion and I/O failures are
/// `Unavailable` (retry may help), everything else is `Internal` (logged, not shown).
pub fn map_sqlx_error(error: sqlx::Error) -> Error {
    match error {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            Error::unavailable("the database is not reachable right now", error)
        }
        sqlx::Error::RowNotFound => Error::new(ErrorKind::NotFound, "not_found", "not found"),
        other => Error::internal(other),
    }
}

/// Whether `error` is a unique-constraint violation (a duplicate key).
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db_error) if db_error.is_unique_violation())
}
