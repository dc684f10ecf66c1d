//! Checkpoints committed with the data: the checkpoint table and its statements.
//!
//! A flow writing to a SQL target keeps its checkpoint in the target database, in a table
//! (`grimos_checkpoints` by default, config key `checkpoint_table`) created on first use:
//! `checkpoint_key varchar(200) primary key, state text not null, updated_at timestamp`.
//!
//! ## Why one transaction with savepoints
//!
//! A [`crate::SqlConnector`] write carrying a checkpoint runs the whole batch in **one**
//! transaction ([`crate::transaction::Scope::transaction`]): every chunk of rows in a
//! savepoint of it, bad rows isolated by rolling a refused chunk back to its savepoint and
//! splitting it (as plain writes do with separate commits), then the checkpoint upserted,
//! then a single `COMMIT`. So:
//!
//! - the rows that pass and the checkpoint become visible together or not at all: a crash
//!   (or a lost connection, or any error that is not about one row's data) at any point
//!   before the commit leaves both the rows and the checkpoint as they were, and the engine
//!   resumes from the previous checkpoint with no row of the batch written;
//! - the rejected rows are in no committed state; the engine dead-letters them and the
//!   checkpoint moves past them, as with plain writes.
//!
//! The alternative, committing each sub-chunk on its own and the checkpoint with the last
//! one, keeps the checkpoint from getting ahead of the rows but not the rows from getting
//! ahead of the checkpoint: a crash between sub-chunks leaves rows that are written again
//! on resume (duplicates for inserts). The price of the single transaction is that the
//! batch holds its locks until it commits, which a bounded batch size keeps short.
//!
//! The table is created outside the batch's transaction (MySQL commits implicitly around
//! DDL), once per connector.

use connector_sdk::connector::TargetCheckpoint;
use connector_sdk::{Checkpoint, ConnectorError, ErrorKind, Operation};

use crate::config::SqlConfig;
use crate::db::{Db, sqlx_error};
use crate::dialect::{CHECKPOINT_KEY_MAX_CHARS, Dialect};
use crate::transaction::{OuterTransaction, Scope};

/// Refuses keys the table cannot hold: empty or longer than 200 characters.
pub fn check_key(key: &str, operation: Operation) -> Result<(), ConnectorError> {
    if key.is_empty() || key.chars().count() > CHECKPOINT_KEY_MAX_CHARS {
        return Err(ConnectorError::config(
            operation,
            format!("a checkpoint key has 1 to {CHECKPOINT_KEY_MAX_CHARS} characters"),
        ));
    }
    Ok(())
}

/// Creates the checkpoint table `table` (quoted) if it does not exist. Another connection
/// creating it at the same time is not an error.
pub async fn ensure_table(
    db: &Db,
    dialect: &dyn Dialect,
    table: &str,
    config: &SqlConfig,
    operation: Operation,
) -> Result<(), ConnectorError> {
    let sql = dialect.checkpoint_table_sql(table);
    let result = match db {
        Db::Postgres(pool) => sqlx::query(&sql).execute(pool).await.map(|_| ()),
        Db::MySql(pool) => sqlx::query(&sql).execute(pool).await.map(|_| ()),
        Db::Sqlite(pool) => sqlx::query(&sql).execute(pool).await.map(|_| ()),
        Db::Mssql(_) => return Err(mssql_unsupported(operation)),
    };
    match result {
        Ok(()) => Ok(()),
        // PostgreSQL: a concurrent `CREATE TABLE IF NOT EXISTS` can lose the race on the
        // catalog's unique index (23505) or find the table just created (42P07).
        Err(sqlx::Error::Database(e)) if matches!(e.code().as_deref(), Some("23505" | "42P07")) => {
            Ok(())
        }
        Err(e) => Err(sqlx_error(operation, &e, config)),
    }
}

/// The checkpoint stored under `key` in `table` (quoted), if any.
pub async fn load(
    db: &Db,
    dialect: &dyn Dialect,
    table: &str,
    key: &str,
    config: &SqlConfig,
) -> Result<Option<Checkpoint>, ConnectorError> {
    let operation = Operation::Read;
    let sql = dialect.checkpoint_select_sql(table);
    let state: Option<String> = match db {
        Db::Postgres(pool) => {
            sqlx::query_scalar(&sql)
                .bind(key)
                .fetch_optional(pool)
                .await
        }
        Db::MySql(pool) => {
            sqlx::query_scalar(&sql)
                .bind(key)
                .fetch_optional(pool)
                .await
        }
        Db::Sqlite(pool) => {
            sqlx::query_scalar(&sql)
                .bind(key)
                .fetch_optional(pool)
                .await
        }
        Db::Mssql(_) => return Err(mssql_unsupported(operation)),
    }
    .map_err(|e| sqlx_error(operation, &e, config))?;
    state
        .map(|text| {
            serde_json::from_str(&text).map(Checkpoint).map_err(|e| {
                ConnectorError::new(
                    ErrorKind::Data,
                    operation,
                    format!("the checkpoint stored under `{key}` is not JSON: {e}"),
                )
            })
        })
        .transpose()
}

/// Upserts `checkpoint` into `table` (quoted) in the scope's transaction and commits it,
/// with every row written in that scope.
pub async fn commit_with_rows(
    scope: Scope,
    dialect: &dyn Dialect,
    table: &str,
    checkpoint: &TargetCheckpoint,
    config: &SqlConfig,
) -> Result<(), ConnectorError> {
    let operation = Operation::Write;
    let error = |e: sqlx::Error| sqlx_error(operation, &e, config);
    let sql = dialect.checkpoint_upsert_sql(table);
    let state = checkpoint.checkpoint.0.to_string();
    let key = checkpoint.key.as_str();
    match scope.into_transaction() {
        Some(OuterTransaction::Postgres(mut tx)) => {
            sqlx::query(&sql)
                .bind(key)
                .bind(&state)
                .execute(&mut *tx)
                .await
                .map_err(error)?;
            tx.commit().await.map_err(error)
        }
        Some(OuterTransaction::MySql(mut tx)) => {
            sqlx::query(&sql)
                .bind(key)
                .bind(&state)
                .execute(&mut *tx)
                .await
                .map_err(error)?;
            tx.commit().await.map_err(error)
        }
        Some(OuterTransaction::Sqlite(mut tx)) => {
            sqlx::query(&sql)
                .bind(key)
                .bind(&state)
                .execute(&mut *tx)
                .await
                .map_err(error)?;
            tx.commit().await.map_err(error)
        }
        None => Err(ConnectorError::unsupported(
            operation,
            "a checkpoint is committed only within a transaction scope",
        )),
    }
}

fn mssql_unsupported(operation: Operation) -> ConnectorError {
    ConnectorError::unsupported(
        operation,
        "SQL Server targets do not keep checkpoints yet (only its dialect's statements exist)",
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn keys_must_fit_the_table() {
        assert!(check_key("flow-1", Operation::Write).is_ok());
        assert!(check_key(&"é".repeat(200), Operation::Write).is_ok());
        for bad in [String::new(), "k".repeat(201)] {
            let err = check_key(&bad, Operation::Write).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config);
        }
    }
}
