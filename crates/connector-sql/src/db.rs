//! Connections: one pool per engine, built from the configuration and the resolved
//! password, and the classification of driver errors into [`ErrorKind`]s.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use connector_sdk::{ConnectorError, ErrorKind, Operation, Secret};
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::{Executor as _, error::DatabaseError};

use crate::config::SqlConfig;
use crate::dialect::Engine;
use crate::mssql::MssqlSession;

/// A live connection pool to one database.
#[derive(Clone)]
pub enum Db {
    /// PostgreSQL.
    Postgres(PgPool),
    /// MySQL / MariaDB.
    MySql(MySqlPool),
    /// SQLite.
    Sqlite(SqlitePool),
    /// SQL Server (one multiplexed session).
    Mssql(Arc<MssqlSession>),
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Postgres(_) => "Db::Postgres",
            Self::MySql(_) => "Db::MySql",
            Self::Sqlite(_) => "Db::Sqlite",
            Self::Mssql(_) => "Db::Mssql",
        })
    }
}

const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens a pool (and one connection, to fail early on bad credentials).
pub async fn connect(
    config: &SqlConfig,
    engine: Engine,
    password: Option<Secret>,
    operation: Operation,
) -> Result<Db, ConnectorError> {
    let url_error = |e: sqlx::Error| {
        ConnectorError::config(
            operation,
            format!(
                "the URL `{}` is not valid: {}",
                config.redacted_url(),
                scrub(&e.to_string(), config)
            ),
        )
    };
    let db = match engine {
        Engine::Postgres => {
            let mut options = PgConnectOptions::from_str(&config.url).map_err(url_error)?;
            if let Some(password) = &password {
                options = options.password(password.expose());
            }
            options = options.application_name("grimos-connector-sql");
            let pool = PgPoolOptions::new()
                .max_connections(config.max_connections)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .connect_with(options)
                .await
                .map_err(|e| sqlx_error(operation, &e, config))?;
            Db::Postgres(pool)
        }
        Engine::MySql => {
            let url = config.url.replacen("mariadb:", "mysql:", 1);
            let mut options = MySqlConnectOptions::from_str(&url).map_err(url_error)?;
            if let Some(password) = &password {
                options = options.password(password.expose());
            }
            let pool = MySqlPoolOptions::new()
                .max_connections(config.max_connections)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        // Data errors must be errors, not silent truncation.
                        conn.execute(
                            "SET SESSION sql_mode = CONCAT(@@sql_mode, ',STRICT_ALL_TABLES')",
                        )
                        .await?;
                        Ok(())
                    })
                })
                .connect_with(options)
                .await
                .map_err(|e| sqlx_error(operation, &e, config))?;
            Db::MySql(pool)
        }
        Engine::Sqlite => {
            let options = SqliteConnectOptions::from_str(&config.url)
                .map_err(url_error)?
                .busy_timeout(Duration::from_secs(10));
            let pool = SqlitePoolOptions::new()
                .max_connections(config.max_connections)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .connect_with(options)
                .await
                .map_err(|e| sqlx_error(operation, &e, config))?;
            Db::Sqlite(pool)
        }
        Engine::Mssql => {
            let session = MssqlSession::from_url(&config.url, password.as_ref())?;
            session.probe(operation).await?;
            Db::Mssql(Arc::new(session))
        }
    };
    Ok(db)
}

/// Removes the URL's password (and the URL) from a driver message, in case a driver
/// quotes it.
pub fn scrub(message: &str, config: &SqlConfig) -> String {
    let mut message = message.replace(&config.url, &config.redacted_url());
    if let Ok(url) = url::Url::parse(&config.url)
        && let Some(password) = url.password()
        && !password.is_empty()
    {
        message = message.replace(password, "***");
        if let Ok(decoded) = url::form_urlencoded::parse(password.as_bytes())
            .next()
            .map(|(k, _)| k.into_owned())
            .ok_or(())
            && !decoded.is_empty()
        {
            message = message.replace(&decoded, "***");
        }
    }
    message
}

/// The kind of a database error by its SQLSTATE (PostgreSQL, MySQL) or code (SQLite).
pub fn database_error_kind(engine: Engine, err: &dyn DatabaseError) -> ErrorKind {
    let code = err.code().map(|c| c.into_owned()).unwrap_or_default();
    match engine {
        Engine::Sqlite => {
            let primary = code.parse::<i64>().unwrap_or(1) & 0xff;
            match primary {
                19 | 20 | 18 | 25 => ErrorKind::Data, // constraint, mismatch, too big, range
                5 | 6 | 10 | 13 => ErrorKind::Transient, // busy, locked, io, full
                3 | 8 | 23 => ErrorKind::Permission,
                _ if err.message().starts_with("no such table") => ErrorKind::NotFound,
                _ => ErrorKind::Data,
            }
        }
        Engine::MySql => {
            let number = err
                .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
                .map(|e| e.number())
                .unwrap_or_default();
            match number {
                1045 | 1698 => ErrorKind::Auth,
                1044 | 1142 | 1143 | 1227 => ErrorKind::Permission,
                1049 | 1146 | 1054 => ErrorKind::NotFound,
                1205 | 1213 | 1040 | 2006 | 2013 => ErrorKind::Transient,
                _ => sqlstate_kind(&code),
            }
        }
        _ => sqlstate_kind(&code),
    }
}

fn sqlstate_kind(code: &str) -> ErrorKind {
    match code.get(..2).unwrap_or_default() {
        "28" => ErrorKind::Auth,
        "22" | "23" | "HY" | "01" => ErrorKind::Data,
        "40" | "53" | "57" | "58" | "08" => ErrorKind::Transient,
        "3D" | "3F" => ErrorKind::NotFound,
        "42" if code == "42501" => ErrorKind::Permission,
        "42" if code == "42P01" || code == "42S02" => ErrorKind::NotFound,
        "42" => ErrorKind::Data,
        _ => ErrorKind::Transient,
    }
}

/// The kind of any sqlx error.
pub fn sqlx_error_kind(engine: Engine, err: &sqlx::Error) -> ErrorKind {
    match err {
        sqlx::Error::Database(db) => database_error_kind(engine, db.as_ref()),
        sqlx::Error::Configuration(_) => ErrorKind::Config,
        sqlx::Error::RowNotFound => ErrorKind::NotFound,
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::TypeNotFound { .. }
        | sqlx::Error::Encode(_)
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. } => ErrorKind::Data,
        _ => ErrorKind::Transient,
    }
}

/// A [`ConnectorError`] from a sqlx error, its message scrubbed of the URL's password.
pub fn sqlx_error(operation: Operation, err: &sqlx::Error, config: &SqlConfig) -> ConnectorError {
    let engine = config.engine().unwrap_or(Engine::Postgres);
    ConnectorError::new(
        sqlx_error_kind(engine, err),
        operation,
        scrub(&database_message(err), config),
    )
}

/// The database's own message (with its code) for database errors, the driver's otherwise.
pub fn database_message(err: &sqlx::Error) -> String {
    match err {
        sqlx::Error::Database(db) => match db.code() {
            Some(code) => format!("{} (code {code})", db.message()),
            None => db.message().to_owned(),
        },
        other => other.to_string(),
    }
}
