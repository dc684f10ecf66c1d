//! The storage behaviour suite, run unchanged against SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use kernel::{Error, ErrorKind};
use storage::{Backend, Database, PoolSettings, sqlx, with_conn, with_tx};

struct Fixture {
    db: Database,
    _dir: tempfile::TempDir,
    postgres_name: Option<String>,
}

fn postgres_admin_url() -> String {
    std::env::var("GRIMOS_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

async fn open(backend: Backend) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    match backend {
        Backend::Sqlite => {
            let url = format!("sqlite://{}", dir.path().join("test.db").display());
            let db = Database::connect(&url, &PoolSettings::default())
                .await
                .unwrap();
            Fixture {
                db,
                _dir: dir,
                postgres_name: None,
            }
        }
        Backend::Postgres => {
            let name = format!("grimos_storage_{}", uuid_like());
            let admin = Database::connect(&postgres_admin_url(), &PoolSettings::default())
                .await
                .unwrap();
            if let Database::Postgres(pool) = &admin {
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(pool)
                    .await
                    .unwrap();
            }
            admin.close().await;
            let base = postgres_admin_url();
            let base = base.rsplit_once('/').unwrap().0.to_owned();
            let db = Database::connect(&format!("{base}/{name}"), &PoolSettings::default())
                .await
                .unwrap();
            Fixture {
                db,
                _dir: dir,
                postgres_name: Some(name),
            }
        }
    }
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{nanos:x}{}", std::process::id())
}

impl Fixture {
    async fn close(self) {
        self.db.close().await;
        if let Some(name) = self.postgres_name {
            let admin = Database::connect(&postgres_admin_url(), &PoolSettings::default())
                .await
                .unwrap();
            if let Database::Postgres(pool) = &admin {
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(pool)
                    .await
                    .unwrap();
            }
            admin.close().await;
        }
    }
}

async fn migrations_apply_once_and_report_status(backend: Backend) {
    let fixture = open(backend).await;
    let db = &fixture.db;
    assert_eq!(db.backend(), backend);
    let before = db.migration_status().await.unwrap();
    assert!(!before.is_current());
    assert!(
        before.pending.iter().any(|name| name == "1_identity"),
        "{before:?}"
    );
    db.migrate().await.unwrap();
    db.migrate().await.unwrap();
    let after = db.migration_status().await.unwrap();
    assert!(after.is_current(), "{after:?}");
    db.ping().await.unwrap();
    fixture.close().await;
}

async fn count_users(db: &Database) -> Result<i64, Error> {
    Ok(with_conn!(db, |conn| {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users")
            .fetch_one(conn)
            .await
            .map_err(storage::map_sqlx_error)?
    }))
}

async fn insert_user(db: &Database, id: &str, name: &str, fail_after: bool) -> Result<(), Error> {
    let now = chrono_now();
    with_tx!(db, |tx| {
        sqlx::query(
            "INSERT INTO users (id, name, role, disabled, version, created_at, updated_at) VALUES ($1, $2, 'viewer', FALSE, 1, $3, $4)",
        )
        .bind(id)
        .bind(name)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|error| {
            if storage::is_unique_violation(&error) {
                Error::new(ErrorKind::Conflict, "duplicate", "duplicate")
            } else {
                storage::map_sqlx_error(error)
            }
        })?;
        if fail_after {
            Err(Error::new(
                ErrorKind::Validation,
                "late_failure",
                "failed after the insert",
            ))
        } else {
            Ok(())
        }
    })
}

fn chrono_now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

async fn transactions_commit_on_ok_and_roll_back_on_err(backend: Backend) {
    let fixture = open(backend).await;
    let db = &fixture.db;
    db.migrate().await.unwrap();
    insert_user(db, "u1", "kept", false).await.unwrap();
    let failed = insert_user(db, "u2", "rolled-back", true)
        .await
        .unwrap_err();
    assert_eq!(failed.code(), "late_failure");
    assert_eq!(
        count_users(db).await.unwrap(),
        1,
        "the failed transaction left nothing behind"
    );
    let duplicate = insert_user(db, "u3", "kept", false).await.unwrap_err();
    assert_eq!(duplicate.kind(), ErrorKind::Conflict);
    assert_eq!(count_users(db).await.unwrap(), 1);
    fixture.close().await;
}

async fn pool_statistics_and_closing(backend: Backend) {
    let fixture = open(backend).await;
    let db = &fixture.db;
    db.ping().await.unwrap();
    let stats = db.pool_stats();
    assert!(
        stats.size >= 1 && stats.idle <= stats.size && stats.max == 10,
        "{stats:?}"
    );
    db.close().await;
    let error = db.ping().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unavailable);
    fixture.close().await;
}

async fn bad_urls_are_validation_errors() {
    let error = Database::connect("mysql://x", &PoolSettings::default())
        .await
        .unwrap_err();
    assert_eq!(error.code(), "invalid_database_url");
    let unreachable = Database::connect(
        "postgres://nobody@127.0.0.1:1/none",
        &PoolSettings {
            acquire_timeout: std::time::Duration::from_secs(2),
            ..PoolSettings::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(unreachable.kind(), ErrorKind::Unavailable);
}

macro_rules! both {
    ($($name:ident),*) => {
        mod sqlite { $( #[tokio::test] async fn $name() { super::$name(storage::Backend::Sqlite).await } )* }
        mod postgres { $( #[tokio::test] async fn $name() { super::$name(storage::Backend::Postgres).await } )* }
    };
}

both!(
    migrations_apply_once_and_report_status,
    transactions_commit_on_ok_and_roll_back_on_err,
    pool_statistics_and_closing
);

#[tokio::test]
async fn connecting_with_a_bad_or_unreachable_url_fails_clearly() {
    bad_urls_are_validation_errors().await;
}

/// `sslmode` in a PostgreSQL URL is honoured: the local server has TLS on with a
/// self-signed certificate, so `require` connects while `verify-full` refuses it.
#[tokio::test]
async fn postgres_sslmode_is_honoured() {
    let url = postgres_admin_url();
    let separator = if url.contains('?') { '&' } else { '?' };
    let settings = PoolSettings {
        acquire_timeout: std::time::Duration::from_secs(5),
        ..PoolSettings::default()
    };
    let plain = Database::connect(&url, &settings).await.unwrap();
    if let Database::Postgres(pool) = &plain {
        let ssl: String = sqlx::query_scalar("SHOW ssl")
            .fetch_one(pool)
            .await
            .unwrap();
        if ssl != "on" {
            eprintln!("skipped: this PostgreSQL server has ssl = {ssl}");
            return;
        }
    }
    plain.close().await;
    let required = Database::connect(&format!("{url}{separator}sslmode=require"), &settings)
        .await
        .unwrap();
    required.ping().await.unwrap();
    if let Database::Postgres(pool) = &required {
        let encrypted: bool =
            sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                .fetch_one(pool)
                .await
                .unwrap();
        assert!(encrypted, "sslmode=require gives an encrypted connection");
    }
    required.close().await;
    let verified =
        Database::connect(&format!("{url}{separator}sslmode=verify-full"), &settings).await;
    assert!(
        verified.is_err(),
        "a self-signed server certificate fails verify-full"
    );
}
