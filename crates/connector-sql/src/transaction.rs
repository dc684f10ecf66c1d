//! Where the statements of one write commit: each chunk on its own ([`Scope::autocommit`],
//! plain writes) or every chunk in a savepoint of one enclosing transaction
//! ([`Scope::transaction`], writes committed together with a checkpoint).
//!
//! sqlx turns a transaction begun inside a transaction into a `SAVEPOINT`, released on
//! commit and rolled back to on drop, so the chunk code is the same in both scopes: it
//! calls [`begin`] and commits what it gets.

use connector_sdk::{ConnectorError, Operation};
use sqlx::{MySql, Postgres, Sqlite, Transaction};
use tokio::sync::{Mutex, MutexGuard};

use crate::config::SqlConfig;
use crate::db::{Db, sqlx_error};

/// An open transaction on one of the sqlx engines.
pub enum OuterTransaction {
    /// PostgreSQL.
    Postgres(Transaction<'static, Postgres>),
    /// MySQL / MariaDB.
    MySql(Transaction<'static, MySql>),
    /// SQLite.
    Sqlite(Transaction<'static, Sqlite>),
}

impl OuterTransaction {
    /// The PostgreSQL transaction, if this is one.
    pub fn postgres(&mut self) -> Option<&mut Transaction<'static, Postgres>> {
        match self {
            Self::Postgres(tx) => Some(tx),
            _ => None,
        }
    }

    /// The MySQL transaction, if this is one.
    pub fn mysql(&mut self) -> Option<&mut Transaction<'static, MySql>> {
        match self {
            Self::MySql(tx) => Some(tx),
            _ => None,
        }
    }

    /// The SQLite transaction, if this is one.
    pub fn sqlite(&mut self) -> Option<&mut Transaction<'static, Sqlite>> {
        match self {
            Self::Sqlite(tx) => Some(tx),
            _ => None,
        }
    }
}

/// Where the chunks of one write commit.
pub struct Scope {
    outer: Option<Mutex<OuterTransaction>>,
}

impl Scope {
    /// Each chunk commits on its own.
    pub fn autocommit() -> Self {
        Self { outer: None }
    }

    /// Every chunk runs in a savepoint of one new transaction on `db`, committed (or rolled
    /// back, when dropped) by the caller through [`Scope::into_transaction`]. SQL Server
    /// has no such scope here.
    pub async fn transaction(db: &Db, config: &SqlConfig) -> Result<Self, ConnectorError> {
        let error = |e: sqlx::Error| sqlx_error(Operation::Write, &e, config);
        let outer = match db {
            Db::Postgres(pool) => OuterTransaction::Postgres(pool.begin().await.map_err(error)?),
            Db::MySql(pool) => OuterTransaction::MySql(pool.begin().await.map_err(error)?),
            Db::Sqlite(pool) => OuterTransaction::Sqlite(pool.begin().await.map_err(error)?),
            Db::Mssql(_) => {
                return Err(ConnectorError::unsupported(
                    Operation::Write,
                    "SQL Server writes cannot commit a checkpoint with the rows yet",
                ));
            }
        };
        Ok(Self {
            outer: Some(Mutex::new(outer)),
        })
    }

    /// Whether chunks commit only with the enclosing transaction.
    pub fn is_transaction(&self) -> bool {
        self.outer.is_some()
    }

    /// The enclosing transaction, held for one chunk.
    pub async fn lock(&self) -> Option<MutexGuard<'_, OuterTransaction>> {
        match &self.outer {
            Some(outer) => Some(outer.lock().await),
            None => None,
        }
    }

    /// The enclosing transaction, for its last statements and its commit.
    pub fn into_transaction(self) -> Option<OuterTransaction> {
        self.outer.map(Mutex::into_inner)
    }
}

/// A transaction for one chunk: a savepoint of `outer` when given, else a new transaction
/// on `pool`.
pub async fn begin<'t, DB: sqlx::Database>(
    pool: &sqlx::Pool<DB>,
    outer: Option<&'t mut Transaction<'static, DB>>,
) -> Result<Transaction<'t, DB>, sqlx::Error> {
    match outer {
        Some(outer) => sqlx::Connection::begin(&mut **outer).await,
        None => pool.begin().await,
    }
}
