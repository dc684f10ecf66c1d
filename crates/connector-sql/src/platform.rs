//! The platform's own database is off limits: a SQL connector refuses to open it, whatever
//! name, path or address reaches it.
//!
//! Two checks, both needed:
//!
//! - **SQLite, before opening:** the file the URL names (as sqlx reads the URL: percent
//!   decoded, `?mode=` and friends stripped) is resolved — symbolic links and `..` by its
//!   canonical path, hard links and bind mounts by device and inode — and compared with the
//!   platform's file and its `-wal`, `-shm` and `-journal` companions. SQLite `file:` URIs
//!   (which SQLite would parse again) are refused outright.
//! - **Every engine, on every new connection, before any other statement:** a database
//!   holding a `grimos_instance` table whose `id` is the platform's instance id, or holding
//!   such a table it does not let the connection read, is the platform's. This catches what
//!   a name cannot: host aliases, another address of the same server, a database renamed or
//!   reached through a socket, a file swapped after the path check. (PostgreSQL: any schema
//!   of the connected database; MySQL/MariaDB: any database the login can see; SQLite: the
//!   main database; SQL Server: the connected database.)

use std::path::{Path, PathBuf};

use connector_sdk::{ConnectorError, ErrorKind, Operation, PlatformDatabase};
use sqlx::Row as _;

use crate::dialect::{Dialect as _, MySqlDialect, PostgresDialect, SqliteDialect, TableName};

/// What a refused connection says.
pub const REFUSAL: &str =
    "this connection points at grimOS's own database, which connectors may not open";

/// The table holding the platform's instance id.
pub const INSTANCE_TABLE: &str = "grimos_instance";

/// The refusal as a connector error (kind `permission`).
pub fn refusal(operation: Operation) -> ConnectorError {
    ConnectorError::new(ErrorKind::Permission, operation, REFUSAL)
}

/// The error an `after_connect` hook returns for a connection to the platform's database
/// (the pool then closes that connection).
#[derive(Debug)]
pub struct Refused;

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(REFUSAL)
    }
}

impl std::error::Error for Refused {}

/// The name sqlx gives `sqlite::memory:` databases (no file behind it).
const SQLX_IN_MEMORY_PREFIX: &str = "file:sqlx-in-memory-";

/// Refuses a SQLite `filename` (as sqlx parsed it from the URL) that is the platform's file
/// or one of its companions, before anything opens it.
pub fn check_sqlite_file(
    filename: &Path,
    platform: &PlatformDatabase,
    operation: Operation,
) -> Result<(), ConnectorError> {
    let Some(text) = filename.to_str() else {
        return Err(ConnectorError::config(
            operation,
            "the SQLite file name is not valid UTF-8",
        ));
    };
    if text.is_empty() || text.starts_with(SQLX_IN_MEMORY_PREFIX) {
        return Ok(());
    }
    if text.len() >= 5 && text[..5].eq_ignore_ascii_case("file:") {
        return Err(ConnectorError::config(
            operation,
            "SQLite `file:` URIs are not accepted; name the file as sqlite:///path/to/file.db",
        ));
    }
    let Some(platform_file) = &platform.sqlite_file else {
        return Ok(());
    };
    let candidate = Identity::of(filename);
    let mut protected = vec![Identity::of(platform_file)];
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut companion = platform_file.as_os_str().to_owned();
        companion.push(suffix);
        protected.push(Identity::of(Path::new(&companion)));
    }
    if protected.iter().any(|p| p.matches(&candidate)) {
        tracing::warn!(
            operation = %operation,
            "refused a SQL connection to the platform's own SQLite database"
        );
        return Err(refusal(operation));
    }
    Ok(())
}

/// Where a path leads: its canonical form and, when it exists, its device and inode.
#[derive(Debug)]
struct Identity {
    canonical: Option<PathBuf>,
    file_id: Option<(u64, u64)>,
}

impl Identity {
    fn of(path: &Path) -> Self {
        Self {
            canonical: canonical(path),
            file_id: file_id(path),
        }
    }

    fn matches(&self, other: &Self) -> bool {
        let same_path = matches!((&self.canonical, &other.canonical), (Some(a), Some(b)) if a == b);
        let same_file = matches!((self.file_id, other.file_id), (Some(a), Some(b)) if a == b);
        same_path || same_file
    }
}

/// The canonical path (links and `..` resolved); for a file that does not exist yet, its
/// canonical directory joined with its name.
fn canonical(path: &Path) -> Option<PathBuf> {
    if let Ok(resolved) = path.canonicalize() {
        return Some(resolved);
    }
    let name = path.file_name()?;
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    parent.canonicalize().ok().map(|p| p.join(name))
}

#[cfg(unix)]
fn file_id(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn file_id(_path: &Path) -> Option<(u64, u64)> {
    None
}

/// Whether the PostgreSQL database `conn` is connected to is the platform's. Every name is
/// schema-qualified (`pg_catalog`), so a `search_path` set through the URL cannot shadow
/// the operators or functions of the check.
pub async fn is_platform_postgres(
    conn: &mut sqlx::PgConnection,
    instance_id: &str,
) -> Result<bool, sqlx::Error> {
    let tables: Vec<(String, String)> = sqlx::query_as(
        "SELECT n.nspname::pg_catalog.text, c.relname::pg_catalog.text \
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n \
         ON n.oid OPERATOR(pg_catalog.=) c.relnamespace \
         WHERE pg_catalog.lower(c.relname::pg_catalog.text) OPERATOR(pg_catalog.=) $1",
    )
    .bind(INSTANCE_TABLE)
    .fetch_all(&mut *conn)
    .await?;
    for (schema, name) in tables {
        let Ok(quoted) = PostgresDialect.quote_table(&TableName {
            schema: Some(schema),
            name,
        }) else {
            return Ok(true);
        };
        let sql = format!(
            "SELECT 1 FROM {quoted} WHERE CAST(id AS pg_catalog.text) OPERATOR(pg_catalog.=) $1 LIMIT 1"
        );
        match sqlx::query(&sql)
            .bind(instance_id)
            .fetch_optional(&mut *conn)
            .await
        {
            Ok(None) => {}
            // The platform's id, or a table this login may not read: refused either way.
            Ok(Some(_)) | Err(_) => return Ok(true),
        }
    }
    Ok(false)
}

/// Whether a MySQL/MariaDB server reachable through `conn` holds the platform's instance
/// table (in any database the login can see: MySQL queries can name any of them).
pub async fn is_platform_mysql(
    conn: &mut sqlx::MySqlConnection,
    instance_id: &str,
) -> Result<bool, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT CAST(TABLE_SCHEMA AS CHAR), CAST(TABLE_NAME AS CHAR) FROM information_schema.TABLES \
         WHERE LOWER(TABLE_NAME) = ?",
    )
    .bind(INSTANCE_TABLE)
    .fetch_all(&mut *conn)
    .await?;
    for row in rows {
        let schema: String = row.try_get_unchecked(0)?;
        let name: String = row.try_get_unchecked(1)?;
        let Ok(quoted) = MySqlDialect.quote_table(&TableName {
            schema: Some(schema),
            name,
        }) else {
            return Ok(true);
        };
        let sql = format!("SELECT 1 FROM {quoted} WHERE CAST(id AS CHAR) = ? LIMIT 1");
        match sqlx::query(&sql)
            .bind(instance_id)
            .fetch_optional(&mut *conn)
            .await
        {
            Ok(None) => {}
            Ok(Some(_)) | Err(_) => return Ok(true),
        }
    }
    Ok(false)
}

/// Whether the SQLite database `conn` opened is the platform's.
pub async fn is_platform_sqlite(
    conn: &mut sqlx::SqliteConnection,
    instance_id: &str,
) -> Result<bool, sqlx::Error> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM main.sqlite_master WHERE type IN ('table', 'view') AND lower(name) = ?1",
    )
    .bind(INSTANCE_TABLE)
    .fetch_all(&mut *conn)
    .await?;
    for name in names {
        let Ok(quoted) = SqliteDialect.quote_table(&TableName {
            schema: Some("main".into()),
            name,
        }) else {
            return Ok(true);
        };
        let sql = format!("SELECT 1 FROM {quoted} WHERE CAST(id AS TEXT) = ?1 LIMIT 1");
        match sqlx::query(&sql)
            .bind(instance_id)
            .fetch_optional(&mut *conn)
            .await
        {
            Ok(None) => {}
            Ok(Some(_)) | Err(_) => return Ok(true),
        }
    }
    Ok(false)
}

/// Whether the SQL Server database `client` is connected to is the platform's.
pub async fn is_platform_mssql(
    client: &mut crate::mssql::MssqlClient,
    instance_id: &str,
) -> Result<bool, tiberius::error::Error> {
    let tables: Vec<(String, String)> = client
        .query(
            "SELECT s.name, t.name FROM sys.tables t JOIN sys.schemas s ON s.schema_id = t.schema_id \
             WHERE LOWER(t.name) = @P1",
            &[&INSTANCE_TABLE],
        )
        .await?
        .into_first_result()
        .await?
        .iter()
        .map(|row| {
            (
                row.try_get::<&str, _>(0)
                    .ok()
                    .flatten()
                    .unwrap_or_default()
                    .to_owned(),
                row.try_get::<&str, _>(1)
                    .ok()
                    .flatten()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    for (schema, name) in tables {
        let Ok(quoted) = crate::dialect::MssqlDialect.quote_table(&TableName {
            schema: Some(schema),
            name,
        }) else {
            return Ok(true);
        };
        let sql = format!("SELECT TOP 1 1 FROM {quoted} WHERE CAST(id AS nvarchar(4000)) = @P1");
        let found = match client.query(sql, &[&instance_id]).await {
            Ok(stream) => stream
                .into_first_result()
                .await
                .map(|rows| !rows.is_empty()),
            Err(e) => Err(e),
        };
        match found {
            Ok(false) => {}
            Ok(true) | Err(_) => return Ok(true),
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn platform(dir: &Path) -> PlatformDatabase {
        let file = dir.join("grimos.db");
        std::fs::write(&file, b"not really a database").unwrap();
        PlatformDatabase {
            instance_id: "instance".into(),
            sqlite_file: Some(file.canonicalize().unwrap()),
        }
    }

    #[test]
    fn the_platform_file_is_refused_by_any_path() {
        let dir = tempfile::tempdir().unwrap();
        let platform = platform(dir.path());
        let file = platform.sqlite_file.clone().unwrap();
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        let link = dir.path().join("link.db");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        let hard = dir.path().join("hard.db");
        std::fs::hard_link(&file, &hard).unwrap();
        for path in [
            file.clone(),
            sub.join("../grimos.db"),
            link,
            hard,
            dir.path().join("grimos.db-wal"),
            dir.path().join("grimos.db-shm"),
        ] {
            let err = check_sqlite_file(&path, &platform, Operation::Check).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Permission, "{}", path.display());
            assert_eq!(err.detail(), REFUSAL);
        }
        for ok in [dir.path().join("other.db"), PathBuf::new()] {
            check_sqlite_file(&ok, &platform, Operation::Check).unwrap();
        }
        let err = check_sqlite_file(
            Path::new("file:/x.db?vfs=unix-none"),
            &platform,
            Operation::Check,
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
    }
}
