//! The service journal's dead-letter staging, on SQLite and PostgreSQL: the letters of a
//! batch a SQL target is committing are stored (staged) before its commit and become dead
//! letters exactly once — also when the process dies right after the target's commit.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use connector_sdk::{
    BuildContext, Checkpoint, Connector, ConnectorError, EnvFileSecretSource, LayeredConnector,
    WriteMode, WriteReport, WriteRequest,
};
use flow_engine::{DeadLetter, DeadLetterStage, RunJournal, RunRequest, RunStatus, run};
use interop::dead_letter_store;
use interop::journal::SqlJournal;
use interop::run_store::{self, NewRun};
use kernel::PageRequest;
use serde_json::json;
use storage::{Backend, Database, PoolSettings, sqlx};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

struct Fixture {
    db: Database,
    dir: tempfile::TempDir,
    flow_id: String,
    postgres_name: Option<String>,
}

impl Fixture {
    /// Closes the database and drops it (PostgreSQL; the SQLite file goes with `dir`).
    async fn finish(self) {
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

fn postgres_admin_url() -> String {
    std::env::var("GRIMOS_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A migrated service database with one flow.
async fn open(backend: Backend) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let mut postgres_name = None;
    let db = match backend {
        Backend::Sqlite => {
            let url = format!("sqlite://{}", dir.path().join("grimos.db").display());
            Database::connect(&url, &PoolSettings::default())
                .await
                .unwrap()
        }
        Backend::Postgres => {
            let name = format!("grimos_staging_{}", kernel::new_id().replace('-', ""));
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
            postgres_name = Some(name.clone());
            Database::connect(&format!("{base}/{name}"), &PoolSettings::default())
                .await
                .unwrap()
        }
    };
    db.migrate().await.unwrap();
    let flow_id = kernel::new_id();
    let now = chrono::Utc::now();
    let inserted: Result<u64, kernel::Error> = async {
        Ok(storage::with_conn!(&db, |conn| {
            sqlx::query(
                "INSERT INTO flows (id, name, definition, created_at, updated_at) \
                 VALUES ($1, $2, '{}', $3, $3)",
            )
            .bind(&flow_id)
            .bind(format!("flow-{flow_id}"))
            .bind(now)
            .execute(conn)
            .await
            .map_err(storage::map_sqlx_error)?
            .rows_affected()
        }))
    }
    .await;
    assert_eq!(inserted.unwrap(), 1);
    Fixture {
        db,
        dir,
        flow_id,
        postgres_name,
    }
}

async fn new_run(fixture: &Fixture) -> String {
    let (run, _) = run_store::insert(
        &fixture.db,
        &NewRun {
            flow_id: fixture.flow_id.clone(),
            trigger: "manual",
            idempotency_key: None,
            requested_by: None,
            exclusive: false,
        },
    )
    .await
    .unwrap();
    run.id
}

fn letter(id: i64) -> DeadLetter {
    DeadLetter {
        stage: DeadLetterStage::Target,
        source_record: json!({"id": id}),
        mapped_record: Some(json!({"id": id})),
        reason: format!("record {id} refused"),
    }
}

fn at(cursor: i64) -> Checkpoint {
    Checkpoint::cursor("id", json!(cursor))
}

/// The flow's stored dead letters: (run id, record id), sorted by record id.
async fn stored(fixture: &Fixture) -> Vec<(String, i64)> {
    let page = dead_letter_store::list_by_flow(
        &fixture.db,
        &fixture.flow_id,
        None,
        &authz::ListScope::All,
        &PageRequest {
            limit: 500,
            after: None,
        },
    )
    .await
    .unwrap();
    let mut letters: Vec<(String, i64)> = page
        .items
        .iter()
        .map(|letter| (letter.run_id.clone(), letter.record["id"].as_i64().unwrap()))
        .collect();
    letters.sort_by_key(|(_, id)| *id);
    letters
}

async fn staging_is_replaced_cleared_and_settled_once(backend: Backend) {
    let fixture = open(backend).await;
    let run_id = new_run(&fixture).await;
    let journal = SqlJournal::new(fixture.db.clone(), &run_id, &fixture.flow_id);
    assert_eq!(journal.staged_checkpoint().await.unwrap(), None);
    assert_eq!(
        journal.settle_staged(true).await.unwrap(),
        0,
        "nothing staged"
    );

    // A retried attempt of the same batch replaces what the first one staged.
    journal
        .stage_dead_letters(&at(20), vec![letter(11), letter(12), letter(13)])
        .await
        .unwrap();
    journal
        .stage_dead_letters(&at(20), vec![letter(13)])
        .await
        .unwrap();
    assert_eq!(journal.staged_checkpoint().await.unwrap(), Some(at(20)));
    assert_eq!(
        stored(&fixture).await,
        vec![],
        "staged letters are not dead letters"
    );

    // Settled by another run (the restart): stored under the run that staged them, once.
    let later = SqlJournal::new(
        fixture.db.clone(),
        new_run(&fixture).await,
        &fixture.flow_id,
    );
    assert_eq!(later.settle_staged(true).await.unwrap(), 1);
    assert_eq!(later.settle_staged(true).await.unwrap(), 0);
    assert_eq!(stored(&fixture).await, vec![(run_id.clone(), 13)]);
    assert_eq!(later.staged_checkpoint().await.unwrap(), None);

    // A batch that rolled back: its staged letters are dropped.
    journal
        .stage_dead_letters(&at(30), vec![letter(25)])
        .await
        .unwrap();
    assert_eq!(journal.settle_staged(false).await.unwrap(), 0);
    assert_eq!(journal.staged_checkpoint().await.unwrap(), None);

    // No letters clears the staging.
    journal
        .stage_dead_letters(&at(40), vec![letter(31)])
        .await
        .unwrap();
    journal.stage_dead_letters(&at(40), vec![]).await.unwrap();
    assert_eq!(journal.staged_checkpoint().await.unwrap(), None);
    assert_eq!(stored(&fixture).await, vec![(run_id, 13)]);
    fixture.finish().await;
}

async fn two_settles_at_once_store_each_letter_once(backend: Backend) {
    let fixture = open(backend).await;
    let run_id = new_run(&fixture).await;
    let journal = SqlJournal::new(fixture.db.clone(), &run_id, &fixture.flow_id);
    journal
        .stage_dead_letters(&at(10), (1..=20).map(letter).collect())
        .await
        .unwrap();
    let one = SqlJournal::new(fixture.db.clone(), &run_id, &fixture.flow_id);
    let two = SqlJournal::new(fixture.db.clone(), &run_id, &fixture.flow_id);
    let (a, b) = tokio::join!(one.settle_staged(true), two.settle_staged(true));
    // SQLite may refuse the loser as busy; what matters is that each letter is stored once.
    let moved = a.unwrap_or(0) + b.unwrap_or(0);
    assert_eq!(moved, 20);
    assert_eq!(stored(&fixture).await.len(), 20);
    fixture.finish().await;
}

// ------------------------------------------------------------------ a killed run

/// Wraps a target: once its `kill_after`-th write has committed, signals `killed` and never
/// returns (the process dies between the target's commit and the engine's next step).
struct DiesAfterCommit {
    inner: Arc<dyn Connector>,
    kill_after: u32,
    writes: AtomicU32,
    killed: Arc<Notify>,
}

#[async_trait]
impl LayeredConnector for DiesAfterCommit {
    type Inner = Arc<dyn Connector>;
    fn inner(&self) -> &Arc<dyn Connector> {
        &self.inner
    }
    async fn write(&self, request: WriteRequest) -> Result<WriteReport, ConnectorError> {
        let report = self.inner.write(request).await?;
        if self.writes.fetch_add(1, Ordering::SeqCst) + 1 == self.kill_after {
            self.killed.notify_one();
            std::future::pending::<()>().await;
        }
        Ok(report)
    }
}

/// SQLite files for the flow's source (ids 1..=40; 13 has no email) and target (id 15
/// already there): batch 2 of 10 has two target rejects, 13 (NOT NULL) and 15 (duplicate).
async fn sqlite_connectors(
    dir: &std::path::Path,
) -> (Arc<dyn Connector>, Arc<dyn Connector>, sqlx::SqlitePool) {
    let file = |name: &str| dir.join(name).display().to_string();
    let source_pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=rwc", file("src.db")))
        .await
        .unwrap();
    sqlx::query("CREATE TABLE src (id INTEGER PRIMARY KEY, email TEXT)")
        .execute(&source_pool)
        .await
        .unwrap();
    for id in 1..=40_i64 {
        let email = (id != 13).then(|| format!("u{id}@example.com"));
        sqlx::query("INSERT INTO src (id, email) VALUES ($1, $2)")
            .bind(id)
            .bind(email)
            .execute(&source_pool)
            .await
            .unwrap();
    }
    let target_pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=rwc", file("dst.db")))
        .await
        .unwrap();
    sqlx::query("CREATE TABLE dst (id INTEGER PRIMARY KEY, email TEXT NOT NULL)")
        .execute(&target_pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO dst VALUES (15, 'old@example.com')")
        .execute(&target_pool)
        .await
        .unwrap();
    let registry = connectors::builtin_registry();
    let context = BuildContext::new(Arc::new(EnvFileSecretSource));
    let source = registry
        .build(
            "sql",
            json!({"type": "sql", "url": format!("sqlite://{}", file("src.db")),
                   "streams": [{"name": "src", "table": "src", "cursor_column": "id"}]}),
            &context,
        )
        .await
        .unwrap();
    let target = registry
        .build(
            "sql",
            json!({"type": "sql", "url": format!("sqlite://{}", file("dst.db"))}),
            &context,
        )
        .await
        .unwrap();
    (source, target, target_pool)
}

fn flow_request(
    fixture: &Fixture,
    source: Arc<dyn Connector>,
    target: Arc<dyn Connector>,
    journal: Arc<dyn RunJournal>,
) -> RunRequest {
    let spec = mapping::MappingSpec::from_json_value(json!({"rules": [
        {"target": "id", "source": "id"},
        {"target": "email", "source": "email"},
    ]}))
    .unwrap();
    RunRequest {
        flow_key: fixture.flow_id.clone(),
        source,
        source_stream: "src".into(),
        target,
        target_stream: "dst".into(),
        mode: WriteMode::Insert,
        mapping: Arc::new(mapping::Mapping::compile(&spec).unwrap()),
        batch_size: 10,
        max_attempts: 3,
        cancel: CancellationToken::new(),
        journal,
        cursor_field: Some("id".into()),
        timeout: None,
    }
}

async fn a_run_killed_after_the_targets_commit_loses_no_reject(backend: Backend) {
    let fixture = open(backend).await;
    let (source, target, target_pool) = sqlite_connectors(fixture.dir.path()).await;
    let first_run = new_run(&fixture).await;
    let killed = Arc::new(Notify::new());
    let dying = Arc::new(DiesAfterCommit {
        inner: target.clone(),
        kill_after: 2,
        writes: AtomicU32::new(0),
        killed: killed.clone(),
    });
    let journal = Arc::new(SqlJournal::new(
        fixture.db.clone(),
        &first_run,
        &fixture.flow_id,
    ));
    let handle = tokio::spawn(run(flow_request(&fixture, source.clone(), dying, journal)));
    tokio::time::timeout(Duration::from_secs(60), killed.notified())
        .await
        .expect("the run reached the kill point");
    handle.abort();
    let _ = handle.await;

    let committed = target
        .load_checkpoint(&fixture.flow_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        committed.cursor_value(),
        Some(&json!(20)),
        "batch 2 committed"
    );
    assert_eq!(
        stored(&fixture).await,
        vec![],
        "its rejects are not dead letters yet"
    );

    let second_run = new_run(&fixture).await;
    let journal = Arc::new(SqlJournal::new(
        fixture.db.clone(),
        &second_run,
        &fixture.flow_id,
    ));
    let outcome = run(flow_request(&fixture, source, target, journal)).await;
    assert_eq!(outcome.status, RunStatus::Succeeded, "{:?}", outcome.error);
    assert_eq!(outcome.counts.read, 20, "the restart resumed after batch 2");
    assert_eq!(
        stored(&fixture).await,
        vec![(first_run.clone(), 13), (first_run, 15)],
        "each reject exactly once, under the run whose batch it was"
    );
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM dst")
        .fetch_one(&target_pool)
        .await
        .unwrap();
    assert_eq!(rows, 39, "40 ids, 13 rejected, 15 there before");
    fixture.finish().await;
}

macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name(storage::Backend::Sqlite).await } )* }
        mod postgres { $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name(storage::Backend::Postgres).await } )* }
    };
}

both!(
    staging_is_replaced_cleared_and_settled_once,
    two_settles_at_once_store_each_letter_once,
    a_run_killed_after_the_targets_commit_loses_no_reject,
);
