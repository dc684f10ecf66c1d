//! Key rotation by another process (`grimos secrets rotate-key`, through
//! `commands::rotate_key`) next to a running server's store, on SQLite and PostgreSQL: the
//! server wraps new secrets with the new key at once, and a rotation never reverts a value
//! set while it runs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use secrets::{LocalSecretStore, SecretError, SecretRecord, SecretRecordStore, SecretValue};
use secrets_service::commands;
use secrets_service::key_directory::KeyDirectory;
use secrets_service::key_ring::ReloadingKeyRing;
use secrets_service::sql_store::SqlSecretRecordStore;
use storage::{Backend, Database, PoolSettings, sqlx};

struct Fixture {
    db: Database,
    dir: tempfile::TempDir,
    postgres_name: Option<String>,
}

fn postgres_admin_url() -> String {
    std::env::var("GRIMOS_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn unique_suffix() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{nanos:x}{}", std::process::id())
}

async fn open(backend: Backend) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let (url, postgres_name) = match backend {
        Backend::Sqlite => (
            format!("sqlite://{}", dir.path().join("grimos.db").display()),
            None,
        ),
        Backend::Postgres => {
            let name = format!("grimos_secrets_{}", unique_suffix());
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
            (format!("{base}/{name}"), Some(name))
        }
    };
    let db = Database::connect(&url, &PoolSettings::default())
        .await
        .unwrap();
    db.migrate().await.unwrap();
    Fixture {
        db,
        dir,
        postgres_name,
    }
}

impl Fixture {
    fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The store a running server holds.
    fn server_store(&self) -> LocalSecretStore {
        secrets_service::open_local_store(&self.db, self.data_dir(), None).unwrap()
    }

    /// `grimos secrets rotate-key`, as the command line runs it.
    async fn rotate(&self) -> (String, secrets::RotationReport) {
        commands::rotate_key(&self.db, self.data_dir(), None)
            .await
            .unwrap()
    }

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

fn value(text: &str) -> SecretValue {
    SecretValue::new(text.to_owned())
}

async fn a_running_server_wraps_with_the_key_another_process_rotated_to(backend: Backend) {
    let fixture = open(backend).await;
    let server = fixture.server_store();
    let first = server.set("crm/token", &value("crm-1")).await.unwrap();

    let (second_key, report) = fixture.rotate().await;
    assert_eq!(report.rewrapped, 1);
    assert_ne!(second_key, first.key_id);

    // No restart: the next secrets the server writes are under the new key.
    let created = server.set("erp/token", &value("erp-1")).await.unwrap();
    assert_eq!(created.key_id, second_key, "a new secret under the old key");
    let replaced = server.set("crm/token", &value("crm-2")).await.unwrap();
    assert_eq!(replaced.key_id, second_key);
    assert_eq!(replaced.version, 2);

    // And again after a second rotation.
    let (third_key, report) = fixture.rotate().await;
    assert_eq!(report.rewrapped, 2);
    let later = server.set("erp/token", &value("erp-2")).await.unwrap();
    assert_eq!(later.key_id, third_key);

    // Everything opens, in the server and in a fresh process.
    let fresh = fixture.server_store();
    for store in [&server, &fresh] {
        assert_eq!(store.resolve("crm/token").await.unwrap().expose(), "crm-2");
        assert_eq!(store.resolve("erp/token").await.unwrap().expose(), "erp-2");
    }
    assert!(
        fresh
            .list()
            .await
            .unwrap()
            .iter()
            .all(|secret| secret.key_id == third_key)
    );
    fixture.close().await;
}

async fn a_rotation_while_the_server_writes_never_reverts_a_value(backend: Backend) {
    const NAMES: usize = 6;
    let fixture = open(backend).await;
    let server = Arc::new(fixture.server_store());
    for index in 0..NAMES {
        server
            .set(&format!("s{index}"), &value(&format!("s{index}-0")))
            .await
            .unwrap();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let writer = tokio::spawn({
        let server = server.clone();
        let stop = stop.clone();
        async move {
            let mut last = HashMap::new();
            let mut round = 0;
            while !stop.load(Ordering::SeqCst) {
                round += 1;
                for index in 0..NAMES {
                    let name = format!("s{index}");
                    let text = format!("s{index}-{round}");
                    server.set(&name, &value(&text)).await.unwrap();
                    last.insert(name, text);
                }
            }
            (round, last)
        }
    });
    for _ in 0..4 {
        fixture.rotate().await;
    }
    stop.store(true, Ordering::SeqCst);
    let (rounds, last) = writer.await.unwrap();
    assert!(
        rounds > 1,
        "the writer ran during the rotations ({rounds} rounds)"
    );

    // Every secret holds the last value the server wrote: no rewrap put an older one back.
    for (name, text) in &last {
        assert_eq!(
            server.resolve(name).await.unwrap().expose(),
            text,
            "{name} was reverted"
        );
    }
    // A last rotation with nobody writing leaves everything under the current key.
    let (key, _) = fixture.rotate().await;
    let listed = server.list().await.unwrap();
    assert_eq!(listed.len(), NAMES);
    assert!(listed.iter().all(|secret| secret.key_id == key));
    fixture.close().await;
}

/// The SQL records, with writers let in right after the rotation listed them: the
/// rotation then rewraps from a stale read.
struct WritesAfterTheRead {
    inner: SqlSecretRecordStore,
    writes: tokio::sync::Mutex<Option<(LocalSecretStore, LocalSecretStore)>>,
}

#[async_trait::async_trait]
impl SecretRecordStore for WritesAfterTheRead {
    async fn put(&self, record: SecretRecord) -> Result<(), SecretError> {
        self.inner.put(record).await
    }
    async fn replace(
        &self,
        expected: &SecretRecord,
        record: SecretRecord,
    ) -> Result<bool, SecretError> {
        self.inner.replace(expected, record).await
    }
    async fn get(&self, name: &str) -> Result<Option<SecretRecord>, SecretError> {
        self.inner.get(name).await
    }
    async fn list(&self) -> Result<Vec<SecretRecord>, SecretError> {
        let read = self.inner.list().await?;
        if let Some((server, stale)) = self.writes.lock().await.take() {
            // The running server sets a new value (under the new key: it follows the
            // pointer) ...
            server.set("a", &value("a-set-meanwhile")).await?;
            // ... and a writer still holding the old key deletes and re-creates another
            // secret: version 1 again, with another envelope.
            stale.delete("b").await?;
            stale.set("b", &value("b-recreated")).await?;
        }
        Ok(read)
    }
    async fn delete(&self, name: &str) -> Result<bool, SecretError> {
        self.inner.delete(name).await
    }
}

async fn a_value_set_between_the_rewraps_read_and_write_wins(backend: Backend) {
    let fixture = open(backend).await;
    let server = fixture.server_store();
    for (name, text) in [("a", "a-before"), ("b", "b-before"), ("c", "c-before")] {
        server.set(name, &value(text)).await.unwrap();
    }
    let directory = KeyDirectory::new(fixture.data_dir());
    let (old_key, _) = directory.load_or_init().unwrap();
    let stale = LocalSecretStore::new(
        Arc::new(SqlSecretRecordStore::new(fixture.db.clone())),
        Arc::new(old_key.clone()),
    );

    // What rotate_key does, with the hooked records.
    let new_key = directory.add_key().unwrap();
    let records = WritesAfterTheRead {
        inner: SqlSecretRecordStore::new(fixture.db.clone()),
        writes: tokio::sync::Mutex::new(Some((server, stale))),
    };
    let rotating = LocalSecretStore::new(
        Arc::new(records),
        Arc::new(ReloadingKeyRing::open(directory).unwrap()),
    );
    let report = rotating.rotate_master_key().await.unwrap();
    // a: already under the new key when re-read; b: its new envelope rewrapped; c: as usual.
    assert_eq!(report.already_current, 1, "{report:?}");
    assert_eq!(report.rewrapped, 2, "{report:?}");

    let fresh = fixture.server_store();
    assert_eq!(
        fresh.resolve("a").await.unwrap().expose(),
        "a-set-meanwhile"
    );
    assert_eq!(fresh.get_metadata("a").await.unwrap().version, 2);
    assert_eq!(fresh.resolve("b").await.unwrap().expose(), "b-recreated");
    assert_eq!(fresh.resolve("c").await.unwrap().expose(), "c-before");
    for secret in fresh.list().await.unwrap() {
        assert_eq!(secret.key_id, new_key.id(), "{} not rewrapped", secret.name);
    }
    fixture.close().await;
}

macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(storage::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(storage::Backend::Postgres).await
                }
            )*
        }
    };
}

both!(
    a_running_server_wraps_with_the_key_another_process_rotated_to,
    a_rotation_while_the_server_writes_never_reverts_a_value,
    a_value_set_between_the_rewraps_read_and_write_wins,
);
