//! The grimOS database.
//!
//! One [`Database`] handle over either SQLite (the embedded default, WAL mode) or
//! PostgreSQL. Migrations for both backends live in this crate, in one ordered list per
//! backend, so that every service's tables evolve together. Services write their queries
//! once, in the SQL both backends understand (`$1` placeholders, text ids, `BIGINT`
//! versions), and run them through [`with_conn!`] or [`with_tx!`], which expand the same code
//! for each backend.
//!
//! This crate knows nothing about HTTP or about any service's domain.

mod database;
mod error;
mod migrations;

pub use database::{Backend, Database, PoolSettings, PoolStats, acquire};
pub use error::{is_unique_violation, map_sqlx_error};
pub use migrations::MigrationStatus;

/// Re-exported so that services use the same sqlx as the pools.
pub use sqlx;

/// Run `$body` with `$conn` bound to a `&mut` connection of whichever backend `$db` is.
///
/// The body is compiled once per backend, so the same query text and row types must work on
/// both. Acquiring the connection is timed into the pool-wait metric; a pool timeout becomes
/// an `Unavailable` error.
#[macro_export]
macro_rules! with_conn {
    ($db:expr, |$conn:ident| $body:expr) => {
        match $db {
            $crate::Database::Sqlite(pool) => {
                let mut connection = $crate::acquire(pool).await?;
                let $conn = &mut *connection;
                $body
            }
            $crate::Database::Postgres(pool) => {
                let mut connection = $crate::acquire(pool).await?;
                let $conn = &mut *connection;
                $body
            }
        }
    };
}

/// Like [`with_conn!`], inside a transaction that commits when `$body` returns `Ok` and
/// rolls back (on drop) when it returns `Err`.
#[macro_export]
macro_rules! with_tx {
    ($db:expr, |$tx:ident| $body:expr) => {
        match $db {
            $crate::Database::Sqlite(pool) => {
                let mut transaction = pool.begin().await.map_err($crate::map_sqlx_error)?;
                let result = {
                    let $tx = &mut *transaction;
                    $body
                };
                if result.is_ok() {
                    transaction.commit().await.map_err($crate::map_sqlx_error)?;
                }
                result
            }
            $crate::Database::Postgres(pool) => {
                let mut transaction = pool.begin().await.map_err($crate::map_sqlx_error)?;
                let result = {
                    let $tx = &mut *transaction;
                    $body
                };
                if result.is_ok() {
                    transaction.commit().await.map_err($crate::map_sqlx_error)?;
                }
                result
            }
        }
    };
}
