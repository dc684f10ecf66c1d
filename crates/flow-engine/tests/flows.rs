//! End-to-end runs against real servers: a REST API (axum, in the test), PostgreSQL and
//! MariaDB. Test doubles only where a failure must happen on demand (see `common`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use connector_sdk::{Connector, ConnectorError, Operation, WriteMode};
use flow_engine::{
    DeadLetterStage, EngineErrorKind, EventLevel, MemoryJournal, ReplayRecord, ReplayRecordOutcome,
    ReplayRequest, RunStatus, replay, run,
};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn rest_source_through_six_rules_into_postgres() {
    let records: Vec<Value> = (1..=2_500).map(customer).collect();
    let (base, api) = start_api(records, 500).await;
    let source = connector_rest::RestConnectorFactory::new()
        .build_for_test(rest_config(&base, 500))
        .await;
    let pool = pg().await;
    let table = unique("customers");
    create_customer_table(&pool, &table).await;
    let target = sql_connector(PG_URL, json!([])).await;
    let journal = Arc::new(MemoryJournal::new());
    let outcome = run(request(
        &unique("rest_to_pg"),
        source,
        "customers",
        target,
        &table,
        WriteMode::Insert,
        compile(&customer_mapping_spec()),
        500,
        journal.clone(),
    ))
    .await;
    assert_eq!(outcome.status, RunStatus::Succeeded, "{:?}", outcome.error);
    assert_eq!(outcome.counts.read, 2_500);
    assert_eq!(outcome.counts.written, 2_500);
    assert_eq!(outcome.counts.rejected, 0);
    assert_eq!(api.requests.load(Ordering::SeqCst), 5);
    assert_eq!(pg_count(&pool, &table).await, 2_500);
    let row: (String, String, String, f64, String) = sqlx::query_as(&format!(
        "SELECT email, full_name, country, score, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') \
         FROM {table} WHERE id = 7"
    ))
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        row,
        (
            "user7@example.com".into(),
            "Ada7 Lovelace".into(),
            "US".into(),
            7.5,
            "2024-03-10 07:30".into()
        )
    );
    let country: String = sqlx::query_scalar(&format!("SELECT country FROM {table} WHERE id = 8"))
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(country, "FR");
    // Progress after each batch, monotonic, ending at the totals.
    let reports = journal.progress_reports();
    assert_eq!(reports.len(), 5);
    assert!(reports.windows(2).all(|w| w[0].read < w[1].read));
    let events = journal.events();
    assert_eq!(events.first().unwrap().message, "run started");
    assert_eq!(events.last().unwrap().message, "run succeeded");
    pg_exec(&pool, &format!("DROP TABLE {table}")).await;
}

/// Builds a connector in tests, failing loudly.
trait BuildForTest {
    async fn build_for_test(&self, config: Value) -> Arc<dyn Connector>;
}

impl<F: connector_sdk::ConnectorFactory> BuildForTest for F {
    async fn build_for_test(&self, config: Value) -> Arc<dyn Connector> {
        self.build(config, &connector_sdk::BuildContext::new(secrets()))
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn postgres_to_mariadb_then_an_incremental_run_moves_only_new_rows() {
    let pool = pg().await;
    let source_table = unique("orders_src");
    create_source_table(&pool, &source_table, 1_000).await;
    let maria = mariadb().await;
    let target_table = unique("orders_dst");
    sqlx::raw_sql(&format!(
        "CREATE TABLE {target_table} (id BIGINT PRIMARY KEY, label VARCHAR(100) NOT NULL, \
         amount INT NOT NULL, source VARCHAR(20))"
    ))
    .execute(&maria)
    .await
    .unwrap();
    let source = sql_connector(
        PG_URL,
        json!([{"name": "orders", "table": source_table, "cursor_column": "id"}]),
    )
    .await;
    let target = sql_connector(MARIADB_URL, json!([])).await;
    let mapping = compile_json(json!([
        {"target": "id", "source": "id", "cast": "int"},
        {"target": "label", "source": "name", "transform": ["upper"]},
        {"target": "amount", "source": "amount", "cast": "int"},
        {"target": "source", "constant": "pg"},
    ]));
    let key = unique("pg_to_maria");
    let journal = Arc::new(MemoryJournal::new());
    let first = run(request(
        &key,
        source.clone(),
        "orders",
        target.clone(),
        &target_table,
        WriteMode::Insert,
        mapping.clone(),
        300,
        journal.clone(),
    ))
    .await;
    assert_eq!(first.status, RunStatus::Succeeded, "{:?}", first.error);
    assert_eq!((first.counts.read, first.counts.written), (1_000, 1_000));
    assert_eq!(
        journal.checkpoint().unwrap().cursor_value(),
        Some(&json!(1_000))
    );

    pg_exec(
        &pool,
        &format!(
            "INSERT INTO {source_table} SELECT g, 'name ' || g, '7' FROM generate_series(1001, 1200) g"
        ),
    )
    .await;
    let second = run(request(
        &key,
        source,
        "orders",
        target,
        &target_table,
        WriteMode::Insert,
        mapping,
        300,
        journal.clone(),
    ))
    .await;
    assert_eq!(second.status, RunStatus::Succeeded, "{:?}", second.error);
    assert_eq!(second.counts.read, 200, "only the new rows are read");
    assert_eq!(second.counts.rejected, 0, "no duplicate was attempted");
    let (count, distinct, max): (i64, i64, i64) = sqlx::query_as(&format!(
        "SELECT COUNT(*), COUNT(DISTINCT id), MAX(id) FROM {target_table}"
    ))
    .fetch_one(&maria)
    .await
    .unwrap();
    assert_eq!((count, distinct, max), (1_200, 1_200, 1_200));
    let label: String =
        sqlx::query_scalar(&format!("SELECT label FROM {target_table} WHERE id = 1100"))
            .fetch_one(&maria)
            .await
            .unwrap();
    assert_eq!(label, "NAME 1100");
    sqlx::raw_sql(&format!("DROP TABLE {target_table}"))
        .execute(&maria)
        .await
        .unwrap();
    pg_exec(&pool, &format!("DROP TABLE {source_table}")).await;
}

#[tokio::test]
async fn mapping_and_target_rejects_are_dead_lettered_then_replayed_after_a_fix() {
    let pool = pg().await;
    let source_table = unique("rej_src");
    let target_table = unique("rej_dst");
    pg_exec(
        &pool,
        &format!(
            "CREATE TABLE {source_table} (id bigint PRIMARY KEY, name text, amount text); \
             INSERT INTO {source_table} SELECT g, 'n' || g, (g % 10)::text FROM generate_series(1, 100) g; \
             UPDATE {source_table} SET amount = 'abc' WHERE id IN (5, 50); \
             UPDATE {source_table} SET name = NULL WHERE id IN (10, 60, 90); \
             UPDATE {source_table} SET amount = '-3' WHERE id = 77; \
             CREATE TABLE {target_table} (id bigint PRIMARY KEY, name text NOT NULL, \
               amount int CHECK (amount >= 0))"
        ),
    )
    .await;
    let source = sql_connector(
        PG_URL,
        json!([{"name": "src", "table": source_table, "cursor_column": "id"}]),
    )
    .await;
    let target = sql_connector(PG_URL, json!([])).await;
    let mapping = compile_json(json!([
        {"target": "id", "source": "id", "cast": "int"},
        {"target": "name", "source": "name"},
        {"target": "amount", "source": "amount", "cast": "int"},
    ]));
    let journal = Arc::new(MemoryJournal::new());
    let outcome = run(request(
        &unique("rejects"),
        source,
        "src",
        target.clone(),
        &target_table,
        WriteMode::Insert,
        mapping,
        40,
        journal.clone(),
    ))
    .await;
    assert_eq!(outcome.status, RunStatus::Succeeded, "{:?}", outcome.error);
    assert_eq!(
        (
            outcome.counts.read,
            outcome.counts.written,
            outcome.counts.rejected
        ),
        (100, 94, 6)
    );
    assert_eq!(pg_count(&pool, &target_table).await, 94);
    let letters = journal.stored_dead_letters();
    let mut ids: Vec<(i64, DeadLetterStage)> = letters
        .iter()
        .map(|l| (l.source_record["id"].as_i64().unwrap(), l.stage))
        .collect();
    ids.sort_by_key(|(id, _)| *id);
    assert_eq!(
        ids,
        vec![
            (5, DeadLetterStage::Mapping),
            (10, DeadLetterStage::Target),
            (50, DeadLetterStage::Mapping),
            (60, DeadLetterStage::Target),
            (77, DeadLetterStage::Target),
            (90, DeadLetterStage::Target),
        ]
    );
    for letter in &letters {
        let reason = letter.reason.to_lowercase();
        let id = letter.source_record["id"].as_i64().unwrap();
        match (letter.stage, id) {
            (DeadLetterStage::Mapping, _) => {
                assert!(
                    reason.contains("amount") && reason.contains("abc"),
                    "{reason}"
                );
                assert!(letter.mapped_record.is_none());
            }
            (DeadLetterStage::Target, 77) => {
                assert!(reason.contains("check"), "{reason}");
                assert_eq!(letter.mapped_record.as_ref().unwrap()["amount"], json!(-3));
            }
            (DeadLetterStage::Target, _) => {
                assert!(reason.contains("null"), "{reason}");
                assert_eq!(letter.mapped_record.as_ref().unwrap()["id"], json!(id));
            }
        }
    }
    assert!(
        journal
            .events()
            .iter()
            .any(|e| e.level == EventLevel::Warn && e.message == "records dead-lettered")
    );

    // The fixed mapping: a name by default, a non-negative amount (0 when unreadable).
    let fixed = compile_json(json!([
        {"target": "id", "source": "id", "cast": "int"},
        {"target": "name", "source": "name", "default": "unknown"},
        {"target": "amount", "expr": "record.amount == 'abc' || record.amount.startsWith('-') ? 0 : int(record.amount)"},
    ]));
    let records: Vec<ReplayRecord> = letters
        .iter()
        .enumerate()
        .map(|(i, l)| ReplayRecord {
            id: format!("dl-{i}"),
            source_record: l.source_record.clone(),
        })
        .collect();
    let replayed = replay(ReplayRequest {
        target,
        target_stream: target_table.clone(),
        mode: WriteMode::Insert,
        mapping: fixed,
        records,
        batch_size: 4,
        max_attempts: 3,
        cancel: CancellationToken::new(),
    })
    .await;
    assert_eq!(replayed.error, None);
    assert_eq!(
        (replayed.written, replayed.rejected, replayed.not_written),
        (6, 0, 0)
    );
    assert_eq!(replayed.results.len(), 6);
    assert!(
        replayed
            .results
            .iter()
            .enumerate()
            .all(|(i, r)| r.id == format!("dl-{i}") && r.outcome == ReplayRecordOutcome::Written)
    );
    assert_eq!(pg_count(&pool, &target_table).await, 100);
    let name: String =
        sqlx::query_scalar(&format!("SELECT name FROM {target_table} WHERE id = 10"))
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(name, "unknown");
    pg_exec(
        &pool,
        &format!("DROP TABLE {source_table}; DROP TABLE {target_table}"),
    )
    .await;
}

#[tokio::test]
async fn replay_reports_records_still_rejected_with_their_new_reason() {
    let target = Arc::new(AtomicMemoryTarget::default());
    // The memory target only writes with a checkpoint: a plain write is unsupported, so
    // the replay fails as a whole and leaves every mapped record pending.
    let outcome = replay(ReplayRequest {
        target: target.clone(),
        target_stream: "t".into(),
        mode: WriteMode::Upsert,
        mapping: compile_json(json!([{"target": "id", "source": "id", "cast": "int"}])),
        records: vec![
            ReplayRecord {
                id: "a".into(),
                source_record: json!({"id": "x"}),
            },
            ReplayRecord {
                id: "b".into(),
                source_record: json!({"id": "2"}),
            },
        ],
        batch_size: 10,
        max_attempts: 2,
        cancel: CancellationToken::new(),
    })
    .await;
    assert_eq!(
        (outcome.written, outcome.rejected, outcome.not_written),
        (0, 1, 1)
    );
    match &outcome.results[0].outcome {
        ReplayRecordOutcome::Rejected { dead_letter } => {
            assert_eq!(dead_letter.stage, DeadLetterStage::Mapping);
            assert!(dead_letter.reason.contains("id"), "{}", dead_letter.reason);
        }
        other => panic!("{other:?}"),
    }
    match &outcome.results[1].outcome {
        ReplayRecordOutcome::NotWritten { reason } => {
            assert!(reason.contains("unsupported"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn cancelling_midway_leaves_target_equal_to_checkpoint_and_a_rerun_completes_without_gaps_or_duplicates()
 {
    let pool = pg().await;
    let source_table = unique("cancel_src");
    let target_table = unique("cancel_dst");
    create_source_table(&pool, &source_table, 3_000).await;
    pg_exec(
        &pool,
        &format!("CREATE TABLE {target_table} (id bigint PRIMARY KEY, name text, amount int)"),
    )
    .await;
    let source = sql_connector(
        PG_URL,
        json!([{"name": "src", "table": source_table, "cursor_column": "id"}]),
    )
    .await;
    let target = sql_connector(PG_URL, json!([])).await;
    let mapping = compile_json(json!([
        {"target": "id", "source": "id"},
        {"target": "name", "source": "name"},
        {"target": "amount", "source": "amount", "cast": "int"},
    ]));
    let checkpoints = Arc::new(MemoryJournal::new());
    let cancel = CancellationToken::new();
    let journal = Arc::new(CancellingJournal {
        inner: checkpoints.clone(),
        cancel: cancel.clone(),
        after: 5,
        batches: AtomicUsize::new(0),
    });
    let key = unique("cancel");
    let mut first = request(
        &key,
        source.clone(),
        "src",
        target.clone(),
        &target_table,
        WriteMode::Insert,
        mapping.clone(),
        100,
        journal,
    );
    first.cancel = cancel;
    let outcome = run(first).await;
    assert_eq!(outcome.status, RunStatus::Cancelled, "{:?}", outcome.error);
    assert_eq!(outcome.counts.read, 500);
    let (count, max): (i64, Option<i64>) =
        sqlx::query_as(&format!("SELECT count(*), max(id) FROM {target_table}"))
            .fetch_one(&pool)
            .await
            .unwrap();
    let position = checkpoints
        .checkpoint()
        .unwrap()
        .cursor_value()
        .unwrap()
        .as_i64()
        .unwrap();
    assert_eq!(count as u64, outcome.counts.written);
    assert_eq!(count, position, "target rows == checkpoint position");
    assert_eq!(max, Some(position));
    // PostgreSQL targets keep the checkpoint with the rows; the journal holds a mirror.
    assert!(target.capabilities().write.checkpoint);
    assert_eq!(
        target.load_checkpoint(&key).await.unwrap(),
        checkpoints.checkpoint()
    );

    let rerun = run(request(
        &key,
        source,
        "src",
        target,
        &target_table,
        WriteMode::Insert,
        mapping,
        100,
        checkpoints.clone(),
    ))
    .await;
    assert_eq!(rerun.status, RunStatus::Succeeded, "{:?}", rerun.error);
    assert_eq!(rerun.counts.read, 3_000 - position as u64);
    assert_eq!(rerun.counts.rejected, 0, "no duplicate key was attempted");
    let (count, distinct, min, max): (i64, i64, i64, i64) = sqlx::query_as(&format!(
        "SELECT count(*), count(DISTINCT id), min(id), max(id) FROM {target_table}"
    ))
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((count, distinct, min, max), (3_000, 3_000, 1, 3_000));
    pg_exec(
        &pool,
        &format!("DROP TABLE {source_table}; DROP TABLE {target_table}"),
    )
    .await;
}

#[tokio::test]
async fn a_transient_write_failure_is_retried_in_upsert_mode() {
    let pool = pg().await;
    let source_table = unique("retry_src");
    let target_table = unique("retry_dst");
    create_source_table(&pool, &source_table, 300).await;
    pg_exec(
        &pool,
        &format!("CREATE TABLE {target_table} (id bigint PRIMARY KEY, name text, amount int)"),
    )
    .await;
    let source = sql_connector(
        PG_URL,
        json!([{"name": "src", "table": source_table, "cursor_column": "id"}]),
    )
    .await;
    let flaky = FlakyTarget::new(sql_connector(PG_URL, json!([])).await, 2);
    let journal = Arc::new(MemoryJournal::new());
    let outcome = run(request(
        &unique("retry"),
        source,
        "src",
        flaky.clone(),
        &target_table,
        WriteMode::Upsert,
        compile_json(json!([
            {"target": "id", "source": "id"},
            {"target": "name", "source": "name"},
            {"target": "amount", "source": "amount", "cast": "int"},
        ])),
        100,
        journal.clone(),
    ))
    .await;
    assert_eq!(outcome.status, RunStatus::Succeeded, "{:?}", outcome.error);
    assert_eq!(outcome.counts.written, 300);
    assert_eq!(flaky.attempts.load(Ordering::SeqCst), 3 + 2);
    let retries = journal
        .events()
        .iter()
        .filter(|e| e.message == "batch write failed; retrying")
        .count();
    assert_eq!(retries, 2);
    assert_eq!(pg_count(&pool, &target_table).await, 300);
    pg_exec(
        &pool,
        &format!("DROP TABLE {source_table}; DROP TABLE {target_table}"),
    )
    .await;
}

#[tokio::test]
async fn an_insert_into_a_target_without_atomic_checkpoints_is_not_retried() {
    let source: Arc<dyn Connector> = Arc::new(ScriptedSource {
        batches: 3,
        size: 10,
        error: None,
        stall: false,
    });
    let inner = Arc::new(AtomicMemoryTarget::default());
    let flaky = FlakyTarget::new(inner, 1);
    let journal = Arc::new(MemoryJournal::new());
    let outcome = run(request(
        "no-retry",
        source,
        "s",
        flaky.clone(),
        "t",
        WriteMode::Insert,
        compile_json(
            json!([{"target": "id", "source": "id"}, {"target": "email", "source": "email"}]),
        ),
        10,
        journal.clone(),
    ))
    .await;
    assert_eq!(outcome.status, RunStatus::Failed);
    assert_eq!(outcome.error_kind, Some(EngineErrorKind::Connector));
    let error = outcome.error.unwrap();
    assert!(
        error.contains("not retried") && error.contains("upsert"),
        "{error}"
    );
    assert_eq!(flaky.attempts.load(Ordering::SeqCst), 1);
    assert_eq!(journal.checkpoint(), None, "the checkpoint did not move");
    assert_eq!(outcome.counts.read, 0);
}

#[tokio::test]
async fn a_target_that_commits_checkpoints_is_the_source_of_truth_and_inserts_are_retried() {
    let target = Arc::new(AtomicMemoryTarget {
        failures: AtomicU32::new(2),
        ..Default::default()
    });
    let source = || -> Arc<dyn Connector> {
        Arc::new(ScriptedSource {
            batches: 4,
            size: 50,
            error: None,
            stall: false,
        })
    };
    // Record 13 has no email: the target rejects it.
    let mapping = compile_json(json!([
        {"target": "id", "source": "id"},
        {"target": "email", "source": "email"},
    ]));
    let journal = Arc::new(MemoryJournal::new());
    let outcome = run(request(
        "atomic",
        source(),
        "s",
        target.clone(),
        "t",
        WriteMode::Insert,
        mapping.clone(),
        50,
        journal.clone(),
    ))
    .await;
    assert_eq!(outcome.status, RunStatus::Succeeded, "{:?}", outcome.error);
    assert_eq!(
        (
            outcome.counts.read,
            outcome.counts.written,
            outcome.counts.rejected
        ),
        (200, 199, 1)
    );
    assert_eq!(target.attempts.load(Ordering::SeqCst), 4 + 2);
    let stored = target.load_checkpoint("atomic").await.unwrap().unwrap();
    assert_eq!(stored.cursor_value(), Some(&json!(200)));
    assert_eq!(
        journal.checkpoint(),
        Some(stored),
        "mirrored to the journal"
    );
    let letters = journal.stored_dead_letters();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].stage, DeadLetterStage::Target);
    assert_eq!(letters[0].source_record["id"], json!(13));

    // A second run with an empty journal resumes from the target's checkpoint.
    let fresh = Arc::new(MemoryJournal::new());
    let second = run(request(
        "atomic",
        source(),
        "s",
        target.clone(),
        "t",
        WriteMode::Insert,
        mapping,
        50,
        fresh,
    ))
    .await;
    assert_eq!(second.status, RunStatus::Succeeded, "{:?}", second.error);
    assert_eq!(second.counts.rejected, 0, "nothing was read twice");
    assert_eq!(target.state.lock().unwrap().0.len(), 399);
}

#[tokio::test]
async fn a_source_error_fails_the_run_after_the_last_committed_batch() {
    let source: Arc<dyn Connector> = Arc::new(ScriptedSource {
        batches: 3,
        size: 50,
        error: Some(ConnectorError::auth(Operation::Read, "token revoked")),
        stall: false,
    });
    let journal = Arc::new(MemoryJournal::new());
    let outcome = run(request(
        "source-error",
        source,
        "s",
        Arc::new(AtomicMemoryTarget::default()),
        "t",
        WriteMode::Upsert,
        compile_json(
            json!([{"target": "id", "source": "id"}, {"target": "email", "source": "email"}]),
        ),
        50,
        journal.clone(),
    ))
    .await;
    assert_eq!(outcome.status, RunStatus::Failed);
    let error = outcome.error.unwrap();
    assert!(
        error.contains("reading source stream `s` after 150 records")
            && error.contains("token revoked"),
        "{error}"
    );
    assert_eq!(outcome.counts.read, 150);
    assert_eq!(
        journal.checkpoint().unwrap().cursor_value(),
        Some(&json!(150))
    );
    assert_eq!(journal.events().last().unwrap().level, EventLevel::Error);
}

#[tokio::test]
async fn a_run_past_its_deadline_stops_between_batches_with_a_clear_error() {
    let source: Arc<dyn Connector> = Arc::new(ScriptedSource {
        batches: 2,
        size: 50,
        error: None,
        stall: true,
    });
    let journal = Arc::new(MemoryJournal::new());
    let mut request = request(
        "deadline",
        source,
        "s",
        Arc::new(AtomicMemoryTarget::default()),
        "t",
        WriteMode::Upsert,
        compile_json(
            json!([{"target": "id", "source": "id"}, {"target": "email", "source": "email"}]),
        ),
        50,
        journal.clone(),
    );
    request.timeout = Some(Duration::from_millis(300));
    let outcome = run(request).await;
    assert_eq!(outcome.status, RunStatus::Failed);
    assert_eq!(outcome.error_kind, Some(EngineErrorKind::Timeout));
    assert!(outcome.error.unwrap().contains("time limit"));
    assert_eq!(outcome.counts.read, 100);
    assert_eq!(
        journal.checkpoint().unwrap().cursor_value(),
        Some(&json!(100))
    );
}

/// A target answering "rate limited, retry after an hour" (or after `u64::MAX` seconds)
/// cannot park the run: the engine waits at most 60 s for a `Retry-After`, and beyond that
/// fails the run at once, saying so (the next run resumes from the checkpoint).
#[tokio::test]
async fn a_huge_retry_after_fails_the_run_at_once_instead_of_parking_it() {
    use async_trait::async_trait;
    use connector_sdk::{Capabilities, HealthReport, WriteReport, WriteRequest};

    struct RateLimited {
        seconds: u64,
        attempts: AtomicU32,
    }

    #[async_trait]
    impl Connector for RateLimited {
        fn connector_type(&self) -> &str {
            "rate-limited"
        }
        fn capabilities(&self) -> Capabilities {
            Capabilities::ALL
        }
        fn spec(&self) -> Value {
            json!({})
        }
        async fn check(&self) -> HealthReport {
            HealthReport::measure(async { Ok(()) }).await
        }
        async fn write(&self, _request: WriteRequest) -> Result<WriteReport, ConnectorError> {
            self.attempts.fetch_add(1, Ordering::SeqCst);
            Err(ConnectorError::rate_limited(
                Operation::Write,
                Some(Duration::from_secs(self.seconds)),
            ))
        }
    }

    for seconds in [3600, u64::MAX] {
        let target = Arc::new(RateLimited {
            seconds,
            attempts: AtomicU32::new(0),
        });
        let journal = Arc::new(MemoryJournal::new());
        let started = std::time::Instant::now();
        let outcome = run(request(
            &unique("rate_limited"),
            Arc::new(ScriptedSource {
                batches: 2,
                size: 10,
                error: None,
                stall: false,
            }),
            "s",
            target.clone(),
            "t",
            WriteMode::Upsert,
            compile_json(json!([{"target": "id", "source": "id"}])),
            10,
            journal.clone(),
        ))
        .await;
        assert!(started.elapsed() < Duration::from_secs(10), "not parked");
        assert_eq!(outcome.status, RunStatus::Failed);
        assert_eq!(target.attempts.load(Ordering::SeqCst), 1, "not retried");
        let error = outcome.error.unwrap();
        assert!(
            error.contains(&format!(
                "asked to wait {seconds} s, more than the 60 s a run waits"
            )),
            "{error}"
        );
        assert_eq!(journal.checkpoint(), None, "the checkpoint did not move");
    }
}
