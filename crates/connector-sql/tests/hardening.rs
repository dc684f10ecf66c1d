#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The SQL connector as an operator would attack it (issue 10, point 6): reaching grimOS's
//! own database by any name, path or address; writing through a `query` stream; storing
//! a password inside the connection URL. Real databases throughout: the machine's
//! PostgreSQL and MariaDB, SQLite files in temporary directories.

mod common;

use connector_sdk::ConnectorExt as _;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::{MARIADB_ADMIN, PG_ADMIN, TestDb, record, unique};
use connector_sdk::{
    BuildContext, Connector, ConnectorError, ConnectorFactory, EnvFileSecretSource, ErrorKind,
    Operation, PlatformDatabase, ReadRequest, WriteMode,
};
use connector_sql::platform::REFUSAL;
use connector_sql::{SqlConfig, SqlConnectorFactory};
use futures::StreamExt;
use serde_json::{Value, json};
use sqlx::Executor;

/// The error of a build that must fail.
async fn build_error(config: Value) -> ConnectorError {
    match build(config, None).await {
        Ok(_) => panic!("the connector was built"),
        Err(err) => err,
    }
}

async fn build(
    config: Value,
    platform: Option<&PlatformDatabase>,
) -> Result<Arc<dyn Connector>, ConnectorError> {
    let mut context = BuildContext::new(Arc::new(EnvFileSecretSource));
    if let Some(platform) = platform {
        context = context.with_platform_database(platform.clone());
    }
    SqlConnectorFactory.build(config, &context).await
}

/// The first error of a read (opening it or its first batch).
async fn read_error(c: &dyn Connector, stream: &str) -> ConnectorError {
    match c.read(ReadRequest::full(stream)).await {
        Err(e) => e,
        Ok(mut batches) => match batches.next().await {
            Some(Err(e)) => e,
            other => panic!("reading {stream} did not fail: {other:?}"),
        },
    }
}

/// Rows of a stream read through `c`.
async fn read_rows(c: &dyn Connector, stream: &str) -> Vec<connector_sdk::Record> {
    common::read_all(c, ReadRequest::full(stream)).await
}

fn assert_refusal(err: &ConnectorError, label: &str) {
    assert_eq!(err.kind(), ErrorKind::Permission, "{label}: {err}");
    assert_eq!(err.detail(), REFUSAL, "{label}: {err}");
}

/// Every way in through a connector built for `config`: refused (at build, or on check,
/// discover, read, the read of a query stream and a write).
async fn assert_every_use_refused(config: Value, platform: &PlatformDatabase) {
    let label = config["url"].as_str().unwrap_or_default().to_owned();
    let mut config = config;
    config["streams"] = json!([{"name": "peek", "query": "SELECT * FROM users"}]);
    let c = match build(config, Some(platform)).await {
        Err(err) if err.kind() == ErrorKind::Config => {
            assert!(err.detail().contains("file:"), "{label}: {err}");
            return;
        }
        Err(err) => return assert_refusal(&err, &label),
        Ok(c) => c,
    };
    assert_refusal(&c.check().await.error.expect("check refused"), &label);
    assert_refusal(&c.discover().await.unwrap_err(), &label);
    assert_refusal(&read_error(c.as_ref(), "users").await, &label);
    assert_refusal(&read_error(c.as_ref(), "peek").await, &label);
    let err = c
        .write_records(
            "users",
            WriteMode::Upsert,
            vec![record(json!({"name": "me", "role": "admin"}))],
        )
        .await
        .unwrap_err();
    assert_refusal(&err, &label);
}

const PLATFORM_SCHEMA: &str = "CREATE TABLE grimos_instance (id TEXT PRIMARY KEY NOT NULL); \
     CREATE TABLE users (name TEXT PRIMARY KEY, role TEXT NOT NULL); \
     INSERT INTO users VALUES ('me', 'operator')";

/// A platform database on SQLite (WAL mode, held open as by a running server).
struct SqlitePlatform {
    dir: tempfile::TempDir,
    file: PathBuf,
    pool: sqlx::SqlitePool,
    platform: PlatformDatabase,
}

impl SqlitePlatform {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("grimos.db");
        let pool = sqlx::SqlitePool::connect_with(
            sqlx::sqlite::SqliteConnectOptions::new()
                .filename(&file)
                .create_if_missing(true)
                .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal),
        )
        .await
        .unwrap();
        let id = unique("instance");
        pool.execute(PLATFORM_SCHEMA).await.unwrap();
        sqlx::query("INSERT INTO grimos_instance (id) VALUES (?1)")
            .bind(&id)
            .execute(&pool)
            .await
            .unwrap();
        let platform = PlatformDatabase {
            instance_id: id,
            sqlite_file: Some(file.canonicalize().unwrap()),
        };
        Self {
            dir,
            file,
            pool,
            platform,
        }
    }

    async fn role_of_me(&self) -> String {
        sqlx::query_scalar("SELECT role FROM users WHERE name = 'me'")
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    /// A copy of the database (another file, another inode, the same identity).
    async fn copy_to(&self, path: &Path) {
        sqlx::query("VACUUM INTO ?1")
            .bind(path.display().to_string())
            .execute(&self.pool)
            .await
            .unwrap();
    }
}

/// `path` relative to the current directory (`../../tmp/...`).
fn relative_to_cwd(path: &Path) -> String {
    let cwd = std::env::current_dir().unwrap();
    let ups = cwd.components().count() - 1;
    format!(
        "{}{}",
        "../".repeat(ups),
        path.display().to_string().trim_start_matches('/')
    )
}

fn percent_encode_all(text: &str) -> String {
    text.bytes().map(|b| format!("%{b:02X}")).collect()
}

#[tokio::test]
async fn the_platform_sqlite_file_is_refused_by_every_path_and_spelling() {
    let p = SqlitePlatform::new().await;
    let file = p.file.display().to_string();
    let dir = p.dir.path().display().to_string();
    std::fs::create_dir(p.dir.path().join("sub")).unwrap();
    std::os::unix::fs::symlink(&p.file, p.dir.path().join("link.db")).unwrap();
    std::fs::hard_link(&p.file, p.dir.path().join("hard.db")).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(p.dir.path(), elsewhere.path().join("dirlink")).unwrap();
    let copy = p.dir.path().join("copy.db");
    p.copy_to(&copy).await;

    let urls = [
        format!("sqlite://{file}"),
        format!("sqlite:{file}"),
        format!("sqlite:///{file}"),
        format!("sqlite://{dir}/sub/../grimos.db"),
        format!("sqlite://{dir}/./grimos.db"),
        format!("sqlite://{dir}//grimos.db"),
        format!("sqlite://{}", file.replace('/', "%2F")),
        format!("sqlite://{dir}/grimos%2Edb"),
        format!("sqlite://{}", percent_encode_all(&file)),
        format!("sqlite://{file}?mode=ro"),
        format!("sqlite://{file}?mode=rwc"),
        format!("sqlite://{file}?immutable=true"),
        format!("sqlite://{file}?cache=shared"),
        format!("sqlite://{file}?vfs=unix-none"),
        format!("sqlite://{file}?mode=ro&immutable=1"),
        format!("sqlite://{dir}/link.db"),
        format!("sqlite://{dir}/hard.db"),
        format!("sqlite://{}/dirlink/grimos.db", elsewhere.path().display()),
        format!("sqlite:{}", relative_to_cwd(&p.file)),
        format!("sqlite:///proc/self/root{file}"),
        format!("sqlite://{file}-wal"),
        format!("sqlite://{file}-shm"),
        format!("sqlite://{file}-journal?mode=rwc"),
        // SQLite URI file names: refused outright.
        format!("sqlite://file:{file}"),
        format!("sqlite:file:{file}"),
        format!("sqlite://file:{}%3Fmode%3Dro", file.replace('/', "%2F")),
        // Another file with the platform's identity: refused by the database check.
        format!("sqlite://{}", copy.display()),
    ];
    for url in urls {
        assert_every_use_refused(json!({"url": url}), &p.platform).await;
    }
    assert_eq!(p.role_of_me().await, "operator");
    assert!(
        !p.dir.path().join("grimos.db-journal").exists(),
        "nothing created beside the platform file"
    );

    // The refusals are specific: another database, even another grimOS instance's, opens.
    let other = p.dir.path().join("other.db");
    let c = build(
        json!({"url": format!("sqlite://{}?mode=rwc", other.display())}),
        Some(&p.platform),
    )
    .await
    .unwrap();
    assert!(c.check().await.is_ok());
    sqlx::query("UPDATE grimos_instance SET id = 'another-instance'")
        .execute(
            &sqlx::SqlitePool::connect(&format!("sqlite://{}", copy.display()))
                .await
                .unwrap(),
        )
        .await
        .unwrap();
    let c = build(
        json!({"url": format!("sqlite://{}", copy.display())}),
        Some(&p.platform),
    )
    .await
    .unwrap();
    let report = c.check().await;
    assert!(report.is_ok(), "{:?}", report.error);
}

#[tokio::test]
async fn a_file_swapped_for_the_platform_after_build_is_refused_when_opened() {
    let p = SqlitePlatform::new().await;
    let decoy = p.dir.path().join("decoy.db");
    std::fs::write(&decoy, b"").unwrap();
    let c = build(
        json!({"url": format!("sqlite://{}", decoy.display())}),
        Some(&p.platform),
    )
    .await
    .unwrap();
    std::fs::remove_file(&decoy).unwrap();
    std::os::unix::fs::symlink(&p.file, &decoy).unwrap();
    assert_refusal(&c.check().await.error.unwrap(), "swapped");
    assert_eq!(p.role_of_me().await, "operator");
}

/// A PostgreSQL database playing the platform's: `grimos_instance` holding `id`, a users
/// table, dropped at the end.
struct PgPlatform {
    admin: sqlx::PgPool,
    name: String,
    pool: sqlx::PgPool,
    platform: PlatformDatabase,
}

impl PgPlatform {
    async fn new() -> Self {
        let admin = sqlx::PgPool::connect(PG_ADMIN).await.unwrap();
        let name = unique("grimos_platform");
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap();
        let pool = sqlx::PgPool::connect(&format!("postgres://postgres@127.0.0.1:5432/{name}"))
            .await
            .unwrap();
        let id = unique("instance");
        pool.execute(PLATFORM_SCHEMA).await.unwrap();
        sqlx::query("INSERT INTO grimos_instance (id) VALUES ($1)")
            .bind(&id)
            .execute(&pool)
            .await
            .unwrap();
        Self {
            admin,
            name,
            pool,
            platform: PlatformDatabase {
                instance_id: id,
                sqlite_file: None,
            },
        }
    }

    async fn role_of_me(&self) -> String {
        sqlx::query_scalar("SELECT role FROM users WHERE name = 'me'")
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    async fn drop_all(self) {
        self.pool.close().await;
        self.admin
            .execute(format!("DROP DATABASE {} WITH (FORCE)", self.name).as_str())
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn the_platform_postgres_database_is_refused_by_every_address_and_login() {
    let p = PgPlatform::new().await;
    let name = &p.name;
    let role = unique("grimos_noread");
    p.admin
        .execute(format!("CREATE ROLE {role} LOGIN").as_str())
        .await
        .unwrap();
    let urls = [
        format!("postgres://postgres@127.0.0.1:5432/{name}"),
        format!("postgres://postgres@localhost:5432/{name}"),
        format!("postgresql://postgres@LOCALHOST/{name}"),
        format!("postgres://postgres@127.0.0.1:5432/test?dbname={name}"),
        format!(
            "postgres://postgres@127.0.0.1:5432/{}",
            percent_encode_all(name)
        ),
        format!("postgres://%2Fvar%2Frun%2Fpostgresql/{name}?user=postgres"),
        format!("postgres:///{name}?host=/var/run/postgresql&user=postgres"),
        format!("postgres://postgres@example.invalid:5432/{name}?hostaddr=127.0.0.1"),
        format!("postgres://postgres@127.0.0.1:5432/{name}?options=-c%20search_path%3Dpg_temp"),
        // A login that may not read grimos_instance: the table alone is enough.
        format!("postgres://{role}@127.0.0.1:5432/{name}"),
    ];
    for url in urls {
        assert_every_use_refused(json!({"url": url}), &p.platform).await;
    }
    assert_eq!(p.role_of_me().await, "operator");

    // Another database, even one holding another instance's id, is fine.
    let db = TestDb::postgres().await;
    db.exec("CREATE TABLE grimos_instance (id TEXT PRIMARY KEY NOT NULL)")
        .await;
    db.exec("INSERT INTO grimos_instance VALUES ('another-instance')")
        .await;
    let c = build(db.config(json!([])), Some(&p.platform))
        .await
        .unwrap();
    let report = c.check().await;
    assert!(report.is_ok(), "{:?}", report.error);
    db.drop_all().await;
    p.drop_all().await;
    p_drop_role(&role).await;
}

async fn p_drop_role(role: &str) {
    let admin = sqlx::PgPool::connect(PG_ADMIN).await.unwrap();
    admin
        .execute(format!("DROP ROLE {role}").as_str())
        .await
        .unwrap();
}

/// A connector already connected to an innocent database, which then turns out to be the
/// platform's (a host name re-pointed, a restore): the next new connection is refused, and
/// from then on every use.
#[tokio::test]
async fn a_new_connection_that_reaches_the_platform_later_is_refused() {
    let p = PgPlatform::new().await;
    let innocent = unique("grimos_innocent");
    p.admin
        .execute(format!("CREATE DATABASE {innocent}").as_str())
        .await
        .unwrap();
    let url = format!("postgres://postgres@127.0.0.1:5432/{innocent}");
    let c = build(json!({"url": url, "max_connections": 1}), Some(&p.platform))
        .await
        .unwrap();
    assert!(c.check().await.is_ok());
    // The innocent database now carries the platform's identity, and the pooled connection
    // is gone: the pool must open a new one.
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    pool.execute("CREATE TABLE grimos_instance (id TEXT PRIMARY KEY NOT NULL)")
        .await
        .unwrap();
    sqlx::query("INSERT INTO grimos_instance VALUES ($1)")
        .bind(&p.platform.instance_id)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = $1 AND application_name = 'grimos-connector-sql'",
    )
    .bind(&innocent)
    .execute(&p.admin)
    .await
    .unwrap();
    for _ in 0..100 {
        let left: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = $1 AND application_name = 'grimos-connector-sql'",
        )
        .bind(&innocent)
        .fetch_one(&p.admin)
        .await
        .unwrap();
        if left == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // The use that finds out fails (the pool gives up on the refused connection) ...
    let started = std::time::Instant::now();
    assert!(c.check().await.error.is_some());
    eprintln!("first check after re-pointing: {:?}", started.elapsed());
    // ... and every use after it is refused.
    assert_refusal(&c.check().await.error.unwrap(), "re-pointed");
    assert_refusal(
        &read_error(c.as_ref(), "grimos_instance").await,
        "re-pointed",
    );
    p.admin
        .execute(format!("DROP DATABASE {innocent} WITH (FORCE)").as_str())
        .await
        .unwrap();
    p.drop_all().await;
}

#[tokio::test]
async fn a_mariadb_server_holding_the_platform_identity_is_refused_from_any_database() {
    let admin = sqlx::MySqlPool::connect(MARIADB_ADMIN).await.unwrap();
    let name = unique("grimos_platform");
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap();
    admin
        .execute(
            format!("CREATE TABLE {name}.grimos_instance (id VARCHAR(100) PRIMARY KEY NOT NULL)")
                .as_str(),
        )
        .await
        .unwrap();
    let id = unique("instance");
    sqlx::query(&format!("INSERT INTO {name}.grimos_instance VALUES (?)"))
        .bind(&id)
        .execute(&admin)
        .await
        .unwrap();
    let platform = PlatformDatabase {
        instance_id: id,
        sqlite_file: None,
    };
    // MySQL queries can name any database of the server: the connection's own one does
    // not matter.
    for url in [
        format!("mysql://root@127.0.0.1:3306/{name}"),
        "mysql://root@127.0.0.1:3306/test".to_owned(),
        "mariadb://root@localhost:3306/test".to_owned(),
    ] {
        let c = build(json!({"url": url}), Some(&platform)).await.unwrap();
        assert_refusal(&c.check().await.error.unwrap(), &url);
    }
    let other = PlatformDatabase {
        instance_id: "another-instance".into(),
        sqlite_file: None,
    };
    let c = build(
        json!({"url": "mysql://root@127.0.0.1:3306/test"}),
        Some(&other),
    )
    .await
    .unwrap();
    assert!(c.check().await.is_ok());
    admin
        .execute(format!("DROP DATABASE {name}").as_str())
        .await
        .unwrap();
}

/// Statements a query stream may never hold: refused when the connector is built, before
/// any database sees them.
fn write_attempts(table: &str, sqlite_file: &str) -> Vec<String> {
    [
        "update {t} set id = 2 returning id",
        "UPDATE {t} SET id = 2",
        "insert into {t} values (3)",
        "delete from {t}",
        "create table grimos_evil (id int)",
        "drop table {t}",
        "attach database '{f}' as p",
        "pragma writable_schema = on",
        "PRAGMA query_only = OFF",
        "copy (select 1) to program 'touch /tmp/grimos_pwned'",
        "select 1; delete from {t}",
        "select id from {t}; -- nothing more",
        "with d as (delete from {t} returning *) select * from d",
        "select * into grimos_copy from {t}",
        "select * from {t} for update",
        "explain analyze delete from {t}",
        "select 'x' /* unterminated",
    ]
    .iter()
    .map(|s| s.replace("{t}", table).replace("{f}", sqlite_file))
    .collect()
}

async fn assert_writes_refused_at_build(db: &TestDb, table: &str) {
    for sql in write_attempts(table, "/tmp/grimos-attach.db") {
        let err = build_error(db.config(json!([{"name": "evil", "query": sql}]))).await;
        assert_eq!(err.kind(), ErrorKind::Config, "{sql}: {err}");
        assert!(err.detail().contains("/streams/0/query"), "{sql}: {err}");
    }
}

#[tokio::test]
async fn postgres_query_streams_cannot_write() {
    let db = TestDb::postgres().await;
    let victim = db.qualify("victim");
    db.exec("CREATE TABLE victim (id int PRIMARY KEY)").await;
    db.exec("INSERT INTO victim VALUES (1)").await;
    db.exec("CREATE SEQUENCE seq").await;
    db.exec(&format!(
        "CREATE FUNCTION evil() RETURNS int LANGUAGE plpgsql AS $$ \
         BEGIN INSERT INTO {victim} VALUES (99); RETURN 1; END $$"
    ))
    .await;
    assert_writes_refused_at_build(&db, &victim).await;

    // Statements that read as SELECTs but write: the read-only transaction refuses them.
    let evil = db.qualify("evil");
    let seq = db.qualify("seq");
    let c = build(
        db.config(json!([
            {"name": "fn", "query": format!("SELECT {evil}() AS x")},
            {"name": "fn_cursor", "query": format!("SELECT {evil}() AS x"), "cursor_column": "x"},
            {"name": "seq", "query": format!("SELECT nextval('{seq}') AS n")},
            {"name": "ok", "query": format!("SELECT id FROM {victim}")}
        ])),
        None,
    )
    .await
    .unwrap();
    for stream in ["fn", "fn_cursor", "seq"] {
        let err = read_error(c.as_ref(), stream).await;
        assert_eq!(err.kind(), ErrorKind::Permission, "{stream}: {err}");
        assert!(
            err.detail().contains("read-only transaction"),
            "{stream}: {err}"
        );
    }
    // Discovery describes the queries without running them.
    let catalog = c.discover().await.unwrap();
    assert!(catalog.stream("fn").is_some());
    assert_eq!(db.count("victim").await, 1, "no row written");
    let called: bool = match &db {
        TestDb::Postgres { pool, .. } => {
            sqlx::query_scalar(&format!("SELECT is_called FROM {seq}"))
                .fetch_one(pool)
                .await
                .unwrap()
        }
        _ => unreachable!(),
    };
    assert!(!called, "the sequence did not move");
    // A plain query still reads, on a connection the refused ones left clean.
    assert_eq!(
        read_rows(c.as_ref(), "ok").await,
        vec![record(json!({"id": 1}))]
    );
    db.drop_all().await;
}

#[tokio::test]
async fn mariadb_query_streams_cannot_write() {
    let db = TestDb::mariadb().await;
    db.exec("CREATE TABLE victim (id int PRIMARY KEY)").await;
    db.exec("INSERT INTO victim VALUES (1)").await;
    db.exec(
        "CREATE FUNCTION evil() RETURNS INT MODIFIES SQL DATA \
         BEGIN INSERT INTO victim VALUES (99); RETURN 1; END",
    )
    .await;
    assert_writes_refused_at_build(&db, "victim").await;
    for sql in [
        "SELECT * FROM victim INTO OUTFILE '/tmp/grimos-out'",
        "SELECT 1 /*! ; DELETE FROM victim */",
    ] {
        let err = build_error(db.config(json!([{"name": "evil", "query": sql}]))).await;
        assert_eq!(err.kind(), ErrorKind::Config, "{sql}: {err}");
    }
    let c = build(
        db.config(json!([
            {"name": "fn", "query": "SELECT evil() AS x"},
            {"name": "ok", "query": "SELECT id FROM victim"}
        ])),
        None,
    )
    .await
    .unwrap();
    let err = read_error(c.as_ref(), "fn").await;
    assert_eq!(err.kind(), ErrorKind::Permission, "{err}");
    assert!(err.detail().contains("READ ONLY"), "{err}");
    // MariaDB refuses even to prepare it in a read-only transaction, so discovery refuses.
    let err = c.discover().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Permission, "{err}");
    assert_eq!(db.count("victim").await, 1, "no row written");
    assert_eq!(
        read_rows(c.as_ref(), "ok").await,
        vec![record(json!({"id": 1}))]
    );
    db.drop_all().await;
}

#[tokio::test]
async fn sqlite_query_streams_cannot_write_or_attach() {
    let db = TestDb::sqlite().await;
    db.exec("CREATE TABLE victim (id INTEGER PRIMARY KEY)")
        .await;
    db.exec("INSERT INTO victim VALUES (1)").await;
    assert_writes_refused_at_build(&db, "victim").await;

    // Underneath the text check, the query streams' pool is read-only itself, and runs
    // each query in a transaction (where SQLite refuses ATTACH).
    let TestDb::Sqlite { path, .. } = &db else {
        unreachable!()
    };
    let other = tempfile::tempdir().unwrap();
    let config = SqlConfig::from_value(json!({"url": format!("sqlite://{path}")})).unwrap();
    let connector_sql::db::Db::Sqlite(pool) = connector_sql::db::connect(
        &config,
        connector_sql::Engine::Sqlite,
        None,
        Operation::Read,
        &connector_sql::db::Guard::default(),
        true,
    )
    .await
    .unwrap() else {
        unreachable!()
    };
    for sql in [
        "DELETE FROM victim".to_owned(),
        "PRAGMA query_only = OFF; DELETE FROM victim".to_owned(),
        "UPDATE victim SET id = 2 RETURNING id".to_owned(),
        "CREATE TABLE evil (id INTEGER)".to_owned(),
        format!(
            "ATTACH DATABASE '{}' AS p",
            other.path().join("p.db").display()
        ),
    ] {
        let mut tx = pool.begin().await.unwrap();
        assert!((&mut *tx).execute(sql.as_str()).await.is_err(), "{sql}");
    }
    assert!(pool.execute("DELETE FROM victim").await.is_err());
    assert!(!other.path().join("p.db").exists());
    assert_eq!(db.count("victim").await, 1, "no row written");

    let c = build(
        db.config(json!([{"name": "ok", "query": "SELECT id FROM victim"}])),
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        read_rows(c.as_ref(), "ok").await,
        vec![record(json!({"id": 1}))]
    );
    db.drop_all().await;
}

#[tokio::test]
async fn a_query_stream_reads_a_wal_database_no_one_else_has_open() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("wal.db");
    let pool = sqlx::SqlitePool::connect_with(
        sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&file)
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal),
    )
    .await
    .unwrap();
    pool.execute("CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (7)")
        .await
        .unwrap();
    pool.close().await;
    let c = build(
        json!({"url": format!("sqlite://{}", file.display()), "streams": [{"name": "q", "query": "SELECT id FROM t"}]}),
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        read_rows(c.as_ref(), "q").await,
        vec![record(json!({"id": 7}))]
    );
    assert!(c.discover().await.unwrap().stream("q").is_some());
}

#[tokio::test]
async fn passwords_inside_urls_are_refused_when_the_connector_is_built() {
    for url in [
        "postgres://postgres:hunter2secret@127.0.0.1:5432/test",
        "mysql://root:hunter2secret@127.0.0.1:3306/test",
        "postgres://postgres@127.0.0.1:5432/test?password=hunter2secret",
        "mssql://sa@127.0.0.1:1433/master;Password=hunter2secret",
    ] {
        let err = build_error(json!({"url": url})).await;
        assert_eq!(err.kind(), ErrorKind::Config, "{url}");
        assert!(
            err.detail()
                .contains("secret reference (e.g. local:db-password)"),
            "{url}: {err}"
        );
        assert!(!format!("{err} {err:?}").contains("hunter2secret"), "{url}");
    }
    // A user name alone is fine; the password comes from its reference.
    let c = build(
        json!({"url": "postgres://postgres@127.0.0.1:5432/test", "password": "env:GRIMOS_TEST_EMPTY_PASSWORD_UNSET"}),
        None,
    )
    .await
    .unwrap();
    let err = c.check().await.error.unwrap();
    assert!(
        err.detail().contains("GRIMOS_TEST_EMPTY_PASSWORD_UNSET"),
        "{err}"
    );
    let c = build(json!({"url": "mysql://root@127.0.0.1:3306/test"}), None)
        .await
        .unwrap();
    assert!(c.check().await.is_ok());
}

/// Names only this test's egress policy resolves (the system's resolver knows none of
/// them: a connection that succeeds went to the address the policy checked).
#[derive(Debug)]
struct TestNames;

impl egress::Lookup for TestNames {
    fn lookup(
        &self,
        host: String,
        port: u16,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = std::io::Result<Vec<std::net::SocketAddr>>> + Send>,
    > {
        let ip: Option<std::net::IpAddr> = match host.as_str() {
            "db.grimos.test" => Some([127, 0, 0, 1].into()),
            "metadata.grimos.test" => Some([169, 254, 169, 254].into()),
            _ => None,
        };
        Box::pin(async move {
            ip.map(|ip| vec![std::net::SocketAddr::new(ip, port)])
                .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "unknown name"))
        })
    }
}

async fn build_with_egress(url: &str, rules: egress::EgressRules) -> Arc<dyn Connector> {
    let policy = egress::EgressPolicy::new(rules).with_lookup(Arc::new(TestNames));
    let context = BuildContext::new(Arc::new(EnvFileSecretSource)).with_egress(policy);
    match SqlConnectorFactory
        .build(json!({"url": url}), &context)
        .await
    {
        Ok(c) => c,
        Err(err) => panic!("{url}: {err}"),
    }
}

fn assert_egress_denied(err: &ConnectorError, rule: &str, label: &str) {
    assert_eq!(err.kind(), ErrorKind::Permission, "{label}: {err}");
    let denial = err
        .egress_denial()
        .unwrap_or_else(|| panic!("{label}: not an egress refusal: {err}"));
    assert_eq!(denial.rule_name(), rule, "{label}: {err}");
}

#[tokio::test]
async fn sql_hosts_pass_the_egress_policy_and_are_connected_to_as_checked() {
    let default = egress::EgressRules::default();
    // Reached only through the policy's answer: the connection went to the checked address.
    for url in [
        "postgres://postgres@db.grimos.test:5432/test",
        "mysql://root@db.grimos.test:3306/test",
    ] {
        let report = build_with_egress(url, default.clone()).await.check().await;
        assert!(report.is_ok(), "{url}: {:?}", report.error);
    }
    for (url, rule) in [
        (
            "postgres://postgres@metadata.grimos.test:5432/test",
            "metadata",
        ),
        ("postgres://postgres@169.254.169.254:5432/test", "metadata"),
        ("postgres://postgres@[fe80::1]:5432/test", "link_local"),
        (
            "postgres://postgres@db.grimos.test:5432/test?hostaddr=169.254.169.254",
            "metadata",
        ),
        (
            "postgres://postgres@db.grimos.test:5432/test?host=169.254.10.1",
            "link_local",
        ),
        ("mysql://root@metadata.grimos.test:3306/test", "metadata"),
        ("mariadb://root@169.254.169.254/test", "metadata"),
        ("mssql://sa@metadata.grimos.test:1433/app", "metadata"),
        ("mssql://sa@[::ffff:169.254.169.254]:1433/app", "metadata"),
    ] {
        let started = std::time::Instant::now();
        let c = build_with_egress(url, default.clone()).await;
        assert_egress_denied(&c.check().await.error.unwrap(), rule, url);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "{url}: refused before any connection attempt"
        );
    }
    // With private addresses denied, loopback (and a Unix socket, which is local) is
    // refused, unless allowed for SQL connectors.
    let private = egress::EgressRules {
        deny_private: true,
        ..Default::default()
    };
    for (url, rule) in [
        ("postgres://postgres@127.0.0.1:5432/test", "loopback"),
        ("postgres://postgres@db.grimos.test:5432/test", "loopback"),
        (
            "postgres:///test?host=/var/run/postgresql&user=postgres",
            "loopback",
        ),
        ("mysql://root@127.0.0.1:3306/test", "loopback"),
    ] {
        let c = build_with_egress(url, private.clone()).await;
        assert_egress_denied(&c.check().await.error.unwrap(), rule, url);
    }
    let allowed = egress::EgressRules {
        deny_private: true,
        allow_for: vec![("sql".into(), "127.0.0.0/8".parse().unwrap())],
        ..Default::default()
    };
    let report = build_with_egress("postgres://postgres@127.0.0.1:5432/test", allowed)
        .await
        .check()
        .await;
    assert!(report.is_ok(), "{:?}", report.error);
}
