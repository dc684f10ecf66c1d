//! The database handle: one pool of either backend.

use std::str::FromStr;
use std::time::{Duration, Instant};

use kernel::{Error, ErrorKind};
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Pool, Row};

use crate::error::map_sqlx_error;
use crate::migrations::{MigrationStatus, POSTGRES, SQLITE};

/// Which database engine a [`Database`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded SQLite file (default).
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl Backend {
    /// The backend's name, as used in metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgresql",
        }
    }
}

/// Pool sizing and timeouts.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    /// Most connections the pool opens.
    pub max_connections: u32,
    /// How long a caller waits for a free connection before getting `Unavailable`.
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// A snapshot of the pool, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Open connections.
    pub size: u32,
    /// Open connections not in use.
    pub idle: u32,
    /// The configured maximum.
    pub max: u32,
}

/// A connection pool to the grimOS database.
#[derive(Debug, Clone)]
pub enum Database {
    /// SQLite in WAL mode with foreign keys on.
    Sqlite(SqlitePool),
    /// PostgreSQL.
    Postgres(PgPool),
}

impl Database {
    /// Open a pool for `url`: `sqlite://PATH` (created if missing) or `postgres://...`
    /// (`postgresql://` too). Connection options in the URL, such as `sslmode`, are honoured.
    pub async fn connect(url: &str, settings: &PoolSettings) -> Result<Self, Error> {
        let invalid_url = |detail: String| {
            Error::new(
                ErrorKind::Validation,
                "invalid_database_url",
                format!("database URL is not valid: {detail}"),
            )
        };
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(|error| invalid_url(error.to_string()))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(5));
            let pool = SqlitePoolOptions::new()
                .max_connections(settings.max_connections)
                .acquire_timeout(settings.acquire_timeout)
                .connect_with(options)
                .await
                .map_err(|error| Error::unavailable("cannot open the SQLite database", error))?;
            Ok(Database::Sqlite(pool))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options =
                PgConnectOptions::from_str(url).map_err(|error| invalid_url(error.to_string()))?;
            let pool = PgPoolOptions::new()
                .max_connections(settings.max_connections)
                .acquire_timeout(settings.acquire_timeout)
                .connect_with(options)
                .await
                .map_err(|error| {
                    Error::unavailable("cannot connect to the PostgreSQL database", error)
                })?;
            Ok(Database::Postgres(pool))
        } else {
            Err(invalid_url(
                "expected a sqlite:// or postgres:// URL".to_owned(),
            ))
        }
    }

    /// Which engine this is.
    pub fn backend(&self) -> Backend {
        match self {
            Database::Sqlite(_) => Backend::Sqlite,
            Database::Postgres(_) => Backend::Postgres,
        }
    }

    /// The SQLite file this database lives in, as the driver opened it (`None` for
    /// PostgreSQL).
    pub fn sqlite_file(&self) -> Option<std::path::PathBuf> {
        match self {
            Database::Sqlite(pool) => Some(pool.connect_options().get_filename().to_path_buf()),
            Database::Postgres(_) => None,
        }
    }

    /// Apply every pending migration (idempotent).
    pub async fn migrate(&self) -> Result<(), Error> {
        let result = match self {
            Database::Sqlite(pool) => SQLITE.run(pool).await,
            Database::Postgres(pool) => POSTGRES.run(pool).await,
        };
        result.map_err(|error| {
            Error::new(
                ErrorKind::Unavailable,
                "migration_failed",
                "applying database migrations failed",
            )
            .with_source(error)
        })
    }

    /// Compare the applied migrations with the ones this binary carries.
    pub async fn migration_status(&self) -> Result<MigrationStatus, Error> {
        let query = "SELECT version, success FROM _sqlx_migrations ORDER BY version";
        let (migrator, applied) = match self {
            Database::Sqlite(pool) => {
                let exists: bool = sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations')",
                )
                .fetch_one(pool)
                .await
                .map_err(map_sqlx_error)?;
                let rows = if exists {
                    sqlx::query(query)
                        .fetch_all(pool)
                        .await
                        .map_err(map_sqlx_error)?
                        .iter()
                        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
                        .collect::<Result<Vec<_>, sqlx::Error>>()
                        .map_err(map_sqlx_error)?
                } else {
                    Vec::new()
                };
                (&SQLITE, rows)
            }
            Database::Postgres(pool) => {
                let exists: bool =
                    sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
                        .fetch_one(pool)
                        .await
                        .map_err(map_sqlx_error)?;
                let rows = if exists {
                    sqlx::query(query)
                        .fetch_all(pool)
                        .await
                        .map_err(map_sqlx_error)?
                        .iter()
                        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
                        .collect::<Result<Vec<_>, sqlx::Error>>()
                        .map_err(map_sqlx_error)?
                } else {
                    Vec::new()
                };
                (&POSTGRES, rows)
            }
        };
        Ok(MigrationStatus::compare(migrator, &applied))
    }

    /// Run a trivial query to prove the database answers.
    pub async fn ping(&self) -> Result<(), Error> {
        match self {
            Database::Sqlite(pool) => sqlx::query("SELECT 1").execute(pool).await.map(drop),
            Database::Postgres(pool) => sqlx::query("SELECT 1").execute(pool).await.map(drop),
        }
        .map_err(map_sqlx_error)
    }

    /// The pool's current size and idle count, and its maximum.
    pub fn pool_stats(&self) -> PoolStats {
        fn stats<DB: sqlx::Database>(pool: &Pool<DB>) -> PoolStats {
            PoolStats {
                size: pool.size(),
                idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
                max: pool.options().get_max_connections(),
            }
        }
        match self {
            Database::Sqlite(pool) => stats(pool),
            Database::Postgres(pool) => stats(pool),
        }
    }

    /// Close every connection, waiting for the ones in use to be returned.
    pub async fn close(&self) {
        match self {
            Database::Sqlite(pool) => pool.close().await,
            Database::Postgres(pool) => pool.close().await,
        }
    }
}

/// Take a connection from `pool`, recording the wait in the
/// `db_client_connection_wait_time_seconds` histogram.
pub async fn acquire<DB: sqlx::Database>(pool: &Pool<DB>) -> Result<PoolConnection<DB>, Error> {
    let started = Instant::now();
    let result = pool.acquire().await;
    metrics::histogram!("db_client_connection_wait_time_seconds")
        .record(started.elapsed().as_secs_f64());
    result.map_err(map_sqlx_error)
}
