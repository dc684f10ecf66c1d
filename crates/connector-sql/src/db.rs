//! Connections: one pool per engine, built from the configuration and the resolved
//! password, and the classification of driver errors into [`ErrorKind`]s.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use connector_sdk::{ConnectorError, ErrorKind, Operation, PlatformDatabase, Secret};
use egress::EgressScope;
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions, MySqlSslMode};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgSslMode};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::{Executor as _, error::DatabaseError};

use crate::config::SqlConfig;
use crate::dialect::Engine;
use crate::mssql::MssqlSession;
use crate::{network, platform};

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

/// Starts the transaction a `query` stream runs in (PostgreSQL and MySQL/MariaDB); it is
/// always rolled back, which also undoes any session setting changed inside it.
pub const READ_ONLY_TRANSACTION: &str = "START TRANSACTION READ ONLY";

/// Where a connector's connections may go: the egress policy for its type, and away
/// from the platform's own database — which database to refuse, and whether a connection
/// opened after the first one was found to be it (a host name that now resolves elsewhere,
/// a file swapped): from then on the connector refuses every operation.
#[derive(Debug, Clone)]
pub struct Guard {
    platform: Option<PlatformDatabase>,
    egress: EgressScope,
    tripped: Arc<AtomicBool>,
}

impl Default for Guard {
    /// The default egress policy, no platform database.
    fn default() -> Self {
        Self::new(
            None,
            egress::EgressPolicy::default().scope(network::CONNECTOR_TYPE),
        )
    }
}

impl Guard {
    /// A guard refusing `platform` (none: nothing to refuse) and connecting only where
    /// `egress` allows.
    pub fn new(platform: Option<PlatformDatabase>, egress: EgressScope) -> Self {
        Self {
            platform,
            egress,
            tripped: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The platform database this guard refuses.
    pub fn platform(&self) -> Option<&PlatformDatabase> {
        self.platform.as_ref()
    }

    fn instance_id(&self) -> Option<&str> {
        self.platform.as_ref().map(|p| p.instance_id.as_str())
    }

    /// Whether a connection was found to be the platform's database.
    pub fn tripped(&self) -> bool {
        self.tripped.load(Ordering::SeqCst)
    }

    /// Turns a connection's verdict into the hook's answer, remembering a refusal.
    fn verdict(&self, is_platform: Result<bool, sqlx::Error>) -> Result<(), sqlx::Error> {
        if is_platform? {
            self.tripped.store(true, Ordering::SeqCst);
            tracing::warn!("refused a pooled SQL connection to the platform's own database");
            return Err(sqlx::Error::Configuration(Box::new(platform::Refused)));
        }
        Ok(())
    }
}

/// Opens one connection, asks `is_platform` about it and closes it: the fast, clear
/// refusal before a pool is made (a pool retries a refused connection until it times out).
async fn first_check<C, F>(
    options: &C,
    operation: Operation,
    config: &SqlConfig,
    is_platform: F,
) -> Result<(), ConnectorError>
where
    C: sqlx::ConnectOptions,
    C::Connection: Sized,
    F: for<'c> FnOnce(
        &'c mut C::Connection,
    ) -> futures::future::BoxFuture<'c, Result<bool, sqlx::Error>>,
{
    use sqlx::Connection as _;
    let checked = tokio::time::timeout(ACQUIRE_TIMEOUT, async {
        let mut conn = options
            .connect()
            .await
            .map_err(|e| sqlx_error(operation, &e, config))?;
        let verdict = is_platform(&mut conn).await;
        let _ = conn.close().await;
        verdict.map_err(|e| sqlx_error(operation, &e, config))
    })
    .await
    .map_err(|_| ConnectorError::transient(operation, "timed out connecting to the database"))??;
    if checked {
        tracing::warn!(operation = %operation, "refused a SQL connection to the platform's own database");
        return Err(platform::refusal(operation));
    }
    Ok(())
}

/// Opens a pool (and one connection, to fail early on bad credentials), to the address the
/// egress policy checked (see [`crate::network`]), refusing the platform's own database
/// (see [`crate::platform`]). `read_only` (SQLite): the pool of
/// `query` streams, opened read-only with `PRAGMA query_only`.
pub async fn connect(
    config: &SqlConfig,
    engine: Engine,
    password: Option<Secret>,
    operation: Operation,
    guard: &Guard,
    read_only: bool,
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
            if let Some(socket) = options.get_socket() {
                network::check_socket(&guard.egress, socket, operation)?;
            } else {
                let (host, port) = (options.get_host().to_owned(), options.get_port());
                if matches!(options.get_ssl_mode(), PgSslMode::VerifyFull) {
                    // The certificate is verified against the name: checked, kept.
                    network::resolve(&guard.egress, &host, port, operation).await?;
                } else {
                    let address =
                        network::checked_address(&guard.egress, &host, port, operation).await?;
                    options = options.host(&address.to_string());
                }
            }
            options = options.application_name("grimos-connector-sql");
            let mut pool = PgPoolOptions::new()
                .max_connections(config.max_connections)
                .acquire_timeout(ACQUIRE_TIMEOUT);
            if let Some(id) = guard.instance_id() {
                let id = id.to_owned();
                first_check(&options, operation, config, move |conn| {
                    Box::pin(async move { platform::is_platform_postgres(conn, &id).await })
                })
                .await?;
                let guard = guard.clone();
                pool = pool.after_connect(move |conn, _| {
                    let guard = guard.clone();
                    Box::pin(async move {
                        let id = guard.instance_id().unwrap_or_default().to_owned();
                        guard.verdict(platform::is_platform_postgres(conn, &id).await)
                    })
                });
            }
            let pool = pool
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
            if let Some(socket) = options.get_socket() {
                network::check_socket(&guard.egress, socket, operation)?;
            } else {
                let (host, port) = (options.get_host().to_owned(), options.get_port());
                if matches!(options.get_ssl_mode(), MySqlSslMode::VerifyIdentity) {
                    network::resolve(&guard.egress, &host, port, operation).await?;
                } else {
                    let address =
                        network::checked_address(&guard.egress, &host, port, operation).await?;
                    options = options.host(&address.to_string());
                }
            }
            if let Some(id) = guard.instance_id() {
                let id = id.to_owned();
                first_check(&options, operation, config, move |conn| {
                    Box::pin(async move { platform::is_platform_mysql(conn, &id).await })
                })
                .await?;
            }
            let hook = guard.clone();
            let pool = MySqlPoolOptions::new()
                .max_connections(config.max_connections)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .after_connect(move |conn, _| {
                    let guard = hook.clone();
                    Box::pin(async move {
                        if let Some(id) = guard.instance_id().map(str::to_owned) {
                            guard.verdict(platform::is_platform_mysql(conn, &id).await)?;
                        }
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
            let mut options = SqliteConnectOptions::from_str(&config.url)
                .map_err(url_error)?
                .busy_timeout(Duration::from_secs(10));
            if let Some(platform) = guard.platform() {
                // Before anything opens the file.
                platform::check_sqlite_file(options.get_filename(), platform, operation)?;
            }
            if read_only {
                options = options.read_only(true).pragma("query_only", "ON");
            }
            let mut pool = SqlitePoolOptions::new()
                .max_connections(config.max_connections)
                .acquire_timeout(ACQUIRE_TIMEOUT);
            if let Some(id) = guard.instance_id() {
                let id = id.to_owned();
                first_check(&options, operation, config, move |conn| {
                    Box::pin(async move { platform::is_platform_sqlite(conn, &id).await })
                })
                .await?;
                let guard = guard.clone();
                pool = pool.after_connect(move |conn, _| {
                    let guard = guard.clone();
                    Box::pin(async move {
                        let id = guard.instance_id().unwrap_or_default().to_owned();
                        guard.verdict(platform::is_platform_sqlite(conn, &id).await)
                    })
                });
            }
            let pool = pool
                .connect_with(options)
                .await
                .map_err(|e| sqlx_error(operation, &e, config))?;
            Db::Sqlite(pool)
        }
        Engine::Mssql => {
            let session = MssqlSession::from_url(&config.url, password.as_ref())?
                .refusing_instance(guard.instance_id().map(str::to_owned))
                .with_egress(guard.egress.clone());
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
                // 1792: a write in a read-only transaction (a `query` stream).
                1044 | 1142 | 1143 | 1227 | 1792 => ErrorKind::Permission,
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
        // A write in a read-only transaction (a `query` stream).
        "25" if code == "25006" => ErrorKind::Permission,
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
    if let sqlx::Error::Configuration(cause) = err
        && cause.is::<platform::Refused>()
    {
        return platform::refusal(operation);
    }
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
