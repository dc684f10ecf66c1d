//! No reject is lost between the target's commit and the journal, tested as the fault
//! would strike: the process dies right after a SQL target committed a batch (its rows and
//! its checkpoint) and before anything else; it dies after the rejects were staged but
//! before the commit; the journal fails when the rejects must be stored. After a restart,
//! every rejected record is in the dead-letter store exactly once.
//!
//! The target is the real SQL connector on PostgreSQL (the checkpoint committed in the same
//! transaction as the rows); the journal is an in-memory one shared across the "restart",
//! standing in for the service database (whose journal the interop crate tests on both
//! backends).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use common::*;
use connector_sdk::{
    Checkpoint, Connector, ConnectorError, LayeredConnector, WriteMode, WriteReport, WriteRequest,
};
use flow_engine::{
    DeadLetter, DeadLetterStage, EngineError, EventLevel, MemoryJournal, RunCounts, RunJournal,
    RunStatus, run,
};
use serde_json::{Value, json};
use tokio::sync::Notify;

/// Wraps a target: once its `kill_after`-th write has returned — committed — it signals
/// `killed` and never returns: the process dies between the target's commit and whatever
/// the engine would do next.
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

/// A journal over a shared [`MemoryJournal`] (what survives the crash) whose staging can
/// block forever (the process dies inside the target's transaction) or fail, and whose
/// settling can fail (the journal is down right after the target's commit).
#[derive(Default)]
struct FaultyJournal {
    store: Arc<MemoryJournal>,
    /// Stagings to fail before one succeeds.
    stage_failures: AtomicU32,
    /// Block forever right after a successful staging, signalling `staged`.
    die_after_staging: bool,
    staged: Arc<Notify>,
    /// Fail every settle.
    settle_fails: bool,
    /// Fail every plain `dead_letters` call (the old, after-the-commit path).
    dead_letters_fail: bool,
}

#[async_trait]
impl RunJournal for FaultyJournal {
    async fn event(&self, level: EventLevel, message: &str, fields: Value) {
        self.store.event(level, message, fields).await;
    }
    async fn progress(&self, counts: RunCounts) -> Result<(), EngineError> {
        self.store.progress(counts).await
    }
    async fn dead_letters(&self, letters: Vec<DeadLetter>) -> Result<(), EngineError> {
        if self.dead_letters_fail {
            return Err(EngineError::storage("the journal is down (injected)"));
        }
        self.store.dead_letters(letters).await
    }
    async fn load_checkpoint(&self) -> Result<Option<Checkpoint>, EngineError> {
        self.store.load_checkpoint().await
    }
    async fn commit_checkpoint(&self, checkpoint: &Checkpoint) -> Result<(), EngineError> {
        self.store.commit_checkpoint(checkpoint).await
    }
    async fn stage_dead_letters(
        &self,
        checkpoint: &Checkpoint,
        letters: Vec<DeadLetter>,
    ) -> Result<(), EngineError> {
        let left = self.stage_failures.load(Ordering::SeqCst);
        if left > 0 {
            self.stage_failures.store(left - 1, Ordering::SeqCst);
            return Err(EngineError::storage("the journal is busy (injected)").with_retryable(true));
        }
        self.store.stage_dead_letters(checkpoint, letters).await?;
        if self.die_after_staging {
            self.staged.notify_one();
            std::future::pending::<()>().await;
        }
        Ok(())
    }
    async fn staged_checkpoint(&self) -> Result<Option<Checkpoint>, EngineError> {
        self.store.staged_checkpoint().await
    }
    async fn settle_staged(&self, committed: bool) -> Result<u64, EngineError> {
        if self.settle_fails {
            return Err(EngineError::storage("the journal is down (injected)"));
        }
        self.store.settle_staged(committed).await
    }
}

/// A PostgreSQL target table where id 15 already exists, so that batch 2 of the scripted
/// source (ids 11..=20) has two target rejects: 13 (no email: NOT NULL) and 15 (duplicate
/// key).
async fn target_table() -> (sqlx::PgPool, String, Arc<dyn Connector>) {
    let pool = pg().await;
    let table = unique("rejects");
    pg_exec(
        &pool,
        &format!(
            "CREATE TABLE {table} (id bigint PRIMARY KEY, email text NOT NULL); \
             INSERT INTO {table} VALUES (15, 'old@example.com')"
        ),
    )
    .await;
    let connector = sql_connector(PG_URL, json!([])).await;
    (pool, table, connector)
}

fn source(batches: u64) -> Arc<dyn Connector> {
    Arc::new(ScriptedSource {
        batches,
        size: 10,
        error: None,
        stall: false,
    })
}

fn mapping() -> Arc<mapping::CompiledMapping> {
    compile_json(json!([
        {"target": "id", "source": "id"},
        {"target": "email", "source": "email"},
    ]))
}

/// The ids of the dead letters, sorted, each with its stage.
fn letters(journal: &MemoryJournal) -> Vec<(i64, DeadLetterStage)> {
    let mut ids: Vec<(i64, DeadLetterStage)> = journal
        .stored_dead_letters()
        .iter()
        .map(|letter| (letter.source_record["id"].as_i64().unwrap(), letter.stage))
        .collect();
    ids.sort_by_key(|(id, _)| *id);
    ids
}

async fn ids_in(pool: &sqlx::PgPool, table: &str) -> Vec<i64> {
    sqlx::query_scalar(&format!("SELECT id FROM {table} ORDER BY id"))
        .fetch_all(pool)
        .await
        .unwrap()
}

async fn cursor_of(target: &Arc<dyn Connector>, flow: &str) -> Option<Value> {
    target
        .load_checkpoint(flow)
        .await
        .unwrap()
        .and_then(|checkpoint| checkpoint.cursor_value().cloned())
}

/// Runs `request` until `signal` fires, then drops the run (the process dies there).
async fn run_until_killed(request: flow_engine::RunRequest, signal: Arc<Notify>) {
    let handle = tokio::spawn(run(request));
    tokio::time::timeout(Duration::from_secs(60), signal.notified())
        .await
        .expect("the run reached the kill point");
    handle.abort();
    let _ = handle.await;
}

#[tokio::test]
async fn a_process_killed_between_the_targets_commit_and_reject_storage_loses_no_reject() {
    let (pool, table, target) = target_table().await;
    let flow = unique("killed_after_commit");
    let store = Arc::new(MemoryJournal::new());
    let killed = Arc::new(Notify::new());
    let dying = Arc::new(DiesAfterCommit {
        inner: target.clone(),
        kill_after: 2,
        writes: AtomicU32::new(0),
        killed: killed.clone(),
    });
    run_until_killed(
        request(
            &flow,
            source(3),
            "s",
            dying,
            &table,
            WriteMode::Insert,
            mapping(),
            10,
            store.clone(),
        ),
        killed,
    )
    .await;

    // The target committed batch 2 — its rows and its checkpoint — and the process died.
    assert_eq!(cursor_of(&target, &flow).await, Some(json!(20)));
    let expected_rows: Vec<i64> = (1..=20).filter(|id| *id != 13).collect();
    assert_eq!(ids_in(&pool, &table).await, expected_rows);
    // Its rejects are not dead letters yet, but they are durable: staged before the commit.
    assert_eq!(letters(&store), vec![]);
    let (staged_at, staged) = store.staged().expect("the rejects were staged");
    assert_eq!(staged_at.cursor_value(), Some(&json!(20)));
    assert_eq!(staged.len(), 2);

    // The restart: the next run resumes after batch 2 and stores its rejects first.
    let outcome = run(request(
        &flow,
        source(1),
        "s",
        target.clone(),
        &table,
        WriteMode::Insert,
        mapping(),
        10,
        store.clone(),
    ))
    .await;
    assert_eq!(outcome.status, RunStatus::Succeeded, "{:?}", outcome.error);
    assert_eq!(
        (
            outcome.counts.read,
            outcome.counts.written,
            outcome.counts.rejected
        ),
        (10, 10, 0),
        "batch 2 was not read again"
    );
    assert_eq!(
        letters(&store),
        vec![(13, DeadLetterStage::Target), (15, DeadLetterStage::Target)],
        "every reject exactly once"
    );
    let reasons: Vec<String> = store
        .stored_dead_letters()
        .iter()
        .map(|letter| letter.reason.clone())
        .collect();
    assert!(reasons.iter().any(|r| r.contains("null")), "{reasons:?}");
    assert!(
        reasons.iter().any(|r| r.contains("duplicate")),
        "{reasons:?}"
    );
    assert!(store.staged().is_none());
    assert!(
        store.events().iter().any(|event| event.message
            == "settled the dead letters of an interrupted batch"
            && event.fields["batch_committed"] == json!(true)
            && event.fields["dead_letters_stored"] == json!(2)),
        "{:?}",
        store.events()
    );
    assert_eq!(cursor_of(&target, &flow).await, Some(json!(30)));

    // Another run settles nothing twice.
    let again = run(request(
        &flow,
        source(1),
        "s",
        target.clone(),
        &table,
        WriteMode::Insert,
        mapping(),
        10,
        store.clone(),
    ))
    .await;
    assert_eq!(again.status, RunStatus::Succeeded, "{:?}", again.error);
    assert_eq!(letters(&store).len(), 2);
}

#[tokio::test]
async fn a_process_killed_after_staging_but_before_the_commit_stores_each_reject_once() {
    let (pool, table, target) = target_table().await;
    let flow = unique("killed_before_commit");
    let store = Arc::new(MemoryJournal::new());
    let staged = Arc::new(Notify::new());
    let dying = Arc::new(FaultyJournal {
        store: store.clone(),
        die_after_staging: true,
        staged: staged.clone(),
        ..FaultyJournal::default()
    });
    run_until_killed(
        request(
            &flow,
            source(3),
            "s",
            target.clone(),
            &table,
            WriteMode::Insert,
            mapping(),
            10,
            dying,
        ),
        staged,
    )
    .await;

    // Batch 2 never committed (its transaction died with the process): its rows are not
    // there and the checkpoint is batch 1's; its rejects were staged for nothing.
    assert_eq!(cursor_of(&target, &flow).await, Some(json!(10)));
    let mut expected_rows: Vec<i64> = (1..=10).collect();
    expected_rows.push(15);
    assert_eq!(ids_in(&pool, &table).await, expected_rows);
    assert_eq!(store.staged().map(|(_, letters)| letters.len()), Some(2));

    // The restart drops them, reads batch 2 again, and stores its rejects once.
    let outcome = run(request(
        &flow,
        source(2),
        "s",
        target.clone(),
        &table,
        WriteMode::Insert,
        mapping(),
        10,
        store.clone(),
    ))
    .await;
    assert_eq!(outcome.status, RunStatus::Succeeded, "{:?}", outcome.error);
    assert_eq!(
        (
            outcome.counts.read,
            outcome.counts.written,
            outcome.counts.rejected
        ),
        (20, 18, 2)
    );
    assert_eq!(
        letters(&store),
        vec![(13, DeadLetterStage::Target), (15, DeadLetterStage::Target)]
    );
    assert!(store.staged().is_none());
    let expected_rows: Vec<i64> = (1..=30).filter(|id| *id != 13).collect();
    assert_eq!(ids_in(&pool, &table).await, expected_rows);
}

#[tokio::test]
async fn a_journal_down_right_after_the_commit_fails_the_run_and_the_next_run_stores_the_rejects() {
    let (_pool, table, target) = target_table().await;
    let flow = unique("journal_down");
    let store = Arc::new(MemoryJournal::new());
    // The journal accepts the staging, then is down: settling fails, and so would storing
    // the rejects after the commit (as the engine once did).
    let down = Arc::new(FaultyJournal {
        store: store.clone(),
        settle_fails: true,
        dead_letters_fail: true,
        ..FaultyJournal::default()
    });
    let mut failing = request(
        &flow,
        source(3),
        "s",
        target.clone(),
        &table,
        WriteMode::Insert,
        mapping(),
        10,
        down,
    );
    failing.max_attempts = 2;
    let outcome = run(failing).await;
    assert_eq!(outcome.status, RunStatus::Failed);
    let error = outcome.error.unwrap();
    assert!(
        error.contains("committed by the target") && error.contains("stay staged"),
        "{error}"
    );
    assert_eq!(
        cursor_of(&target, &flow).await,
        Some(json!(20)),
        "batch 2 committed"
    );
    assert_eq!(letters(&store), vec![]);

    let outcome = run(request(
        &flow,
        source(1),
        "s",
        target.clone(),
        &table,
        WriteMode::Insert,
        mapping(),
        10,
        store.clone(),
    ))
    .await;
    assert_eq!(outcome.status, RunStatus::Succeeded, "{:?}", outcome.error);
    assert_eq!(
        letters(&store),
        vec![(13, DeadLetterStage::Target), (15, DeadLetterStage::Target)]
    );
}

#[tokio::test]
async fn a_batch_whose_rejects_cannot_be_staged_is_rolled_back_and_retried() {
    let (pool, table, target) = target_table().await;
    let flow = unique("stage_fails");
    let store = Arc::new(MemoryJournal::new());
    let busy = Arc::new(FaultyJournal {
        store: store.clone(),
        stage_failures: AtomicU32::new(2),
        ..FaultyJournal::default()
    });
    let outcome = run(request(
        &flow,
        source(3),
        "s",
        target.clone(),
        &table,
        WriteMode::Insert,
        mapping(),
        10,
        busy,
    ))
    .await;
    assert_eq!(outcome.status, RunStatus::Succeeded, "{:?}", outcome.error);
    assert_eq!(
        (
            outcome.counts.read,
            outcome.counts.written,
            outcome.counts.rejected
        ),
        (30, 28, 2)
    );
    // The failed attempts rolled back: no row twice, no reject twice.
    let expected_rows: Vec<i64> = (1..=30).filter(|id| *id != 13).collect();
    assert_eq!(ids_in(&pool, &table).await, expected_rows);
    assert_eq!(
        letters(&store),
        vec![(13, DeadLetterStage::Target), (15, DeadLetterStage::Target)]
    );
    assert!(
        store
            .events()
            .iter()
            .any(|event| event.message == "batch write failed; retrying"
                && event.fields["error"]
                    .as_str()
                    .is_some_and(|e| e.contains("rolled back"))),
        "{:?}",
        store.events()
    );
}

#[tokio::test]
async fn mapping_rejects_of_a_batch_that_rolled_back_are_not_stored_twice() {
    let (_pool, table, target) = target_table().await;
    let flow = unique("mapping_rejects");
    let store = Arc::new(MemoryJournal::new());
    // Record 13's missing email fails the mapping here (a required rule), not the target.
    let strict = compile_json(json!([
        {"target": "id", "source": "id"},
        {"target": "email", "source": "email", "required": true},
    ]));
    let staged = Arc::new(Notify::new());
    let dying = Arc::new(FaultyJournal {
        store: store.clone(),
        die_after_staging: true,
        staged: staged.clone(),
        ..FaultyJournal::default()
    });
    run_until_killed(
        request(
            &flow,
            source(3),
            "s",
            target.clone(),
            &table,
            WriteMode::Insert,
            strict.clone(),
            10,
            dying,
        ),
        staged,
    )
    .await;
    let outcome = run(request(
        &flow,
        source(2),
        "s",
        target.clone(),
        &table,
        WriteMode::Insert,
        strict,
        10,
        store.clone(),
    ))
    .await;
    assert_eq!(outcome.status, RunStatus::Succeeded, "{:?}", outcome.error);
    assert_eq!(
        letters(&store),
        vec![
            (13, DeadLetterStage::Mapping),
            (15, DeadLetterStage::Target)
        ],
        "the mapping reject of the rolled-back batch once, not once per attempt"
    );
}
