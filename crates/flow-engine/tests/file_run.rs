//! `run_file` and `validate_file` on YAML flow files in a temporary directory, against
//! PostgreSQL and a REST API started in the test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use common::*;
use flow_engine::{RunStatus, run_file, state_paths, validate_file};
use serde_json::Value;

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test]
async fn run_file_keeps_state_and_rejects_next_to_the_flow_and_resumes() {
    let pool = pg().await;
    let source_table = unique("file_src");
    let target_table = unique("file_dst");
    create_source_table(&pool, &source_table, 250).await;
    pg_exec(
        &pool,
        &format!(
            "UPDATE {source_table} SET amount = 'n/a' WHERE id IN (3, 33); \
             CREATE TABLE {target_table} (id bigint PRIMARY KEY, name text, amount int)"
        ),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "source.yaml",
        &format!(
            "type: sql\nurl: \"{PG_URL}\"\nstreams:\n  - name: orders\n    table: {source_table}\n    cursor_column: id\n"
        ),
    );
    std::fs::create_dir(dir.path().join("connectors")).unwrap();
    write(
        &dir.path().join("connectors"),
        "warehouse.json",
        &format!(r#"{{"type": "sql", "url": "{PG_URL}"}}"#),
    );
    let flow = write(
        dir.path(),
        "orders.yaml",
        &format!(
            "name: orders-copy\n\
             source: {{ connector: source.yaml, stream: orders }}\n\
             target: {{ connector: connectors/warehouse.json, stream: {target_table}, mode: upsert }}\n\
             mapping:\n  rules:\n\
             \x20   - {{ target: id, source: id }}\n\
             \x20   - {{ target: name, source: name, transform: [upper] }}\n\
             \x20   - {{ target: amount, source: amount, cast: int }}\n\
             options: {{ batch_size: 100 }}\n"
        ),
    );
    let report = run_file(&flow, &registry(), secrets()).await.unwrap();
    assert_eq!(report.status, RunStatus::Succeeded, "{:?}", report.error);
    assert_eq!(
        (report.read, report.written, report.rejected),
        (250, 248, 2)
    );
    assert!(report.records_per_second > 0.0);
    let (state_path, rejects_path) = state_paths(&flow);
    assert_eq!(state_path, dir.path().join("orders.state.json"));
    assert_eq!(report.state_path, state_path);
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(&state_path).unwrap()).unwrap();
    assert_eq!(state["flow"], "orders-copy");
    assert_eq!(state["checkpoint"]["cursor"], 250);
    let rejects = std::fs::read_to_string(&rejects_path).unwrap();
    let lines: Vec<Value> = rejects
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["stage"], "mapping");
    assert_eq!(lines[0]["source_record"]["id"], 3);
    assert!(lines[0]["reason"].as_str().unwrap().contains("n/a"));

    pg_exec(
        &pool,
        &format!("INSERT INTO {source_table} SELECT g, 'name ' || g, '1' FROM generate_series(251, 300) g"),
    )
    .await;
    let again = run_file(&flow, &registry(), secrets()).await.unwrap();
    assert_eq!(again.status, RunStatus::Succeeded, "{:?}", again.error);
    assert_eq!((again.read, again.written), (50, 50));
    assert_eq!(pg_count(&pool, &target_table).await, 298);
    pg_exec(
        &pool,
        &format!("DROP TABLE {source_table}; DROP TABLE {target_table}"),
    )
    .await;
}

#[tokio::test]
async fn run_file_with_an_inline_rest_source() {
    let records: Vec<Value> = (1..=120).map(customer).collect();
    let (base, _api) = start_api(records, 50).await;
    let pool = pg().await;
    let table = unique("file_rest");
    create_customer_table(&pool, &table).await;
    let dir = tempfile::tempdir().unwrap();
    let flow = write(
        dir.path(),
        "customers.flow.yaml",
        &format!(
            r#"name: customers
source:
  stream: customers
  connector:
    type: rest
    base_url: "{base}"
    allow_insecure_http: true
    auth: {{ type: bearer, token: "local:api-token" }}
    streams:
      - name: customers
        path: /customers
        records: "$.data"
        paginator: {{ type: cursor, cursor_path: "$.next_cursor", param: cursor }}
target:
  connector: {{ type: sql, url: "{PG_URL}" }}
  stream: {table}
mapping:
  rules:
    - {{ target: id, source: id, cast: int }}
    - {{ target: email, source: email, transform: [trim, lower] }}
"#
        ),
    );
    let report = run_file(&flow, &registry(), secrets()).await.unwrap();
    assert_eq!(report.status, RunStatus::Succeeded, "{:?}", report.error);
    assert_eq!((report.read, report.written), (120, 120));
    assert_eq!(pg_count(&pool, &table).await, 120);
    assert!(report.state_path.ends_with("customers.flow.state.json"));
    pg_exec(&pool, &format!("DROP TABLE {table}")).await;
}

#[tokio::test]
async fn run_file_refuses_an_invalid_flow_before_moving_data() {
    let dir = tempfile::tempdir().unwrap();
    let flow = write(
        dir.path(),
        "bad.yaml",
        "name: bad\nsource: { connector: s.yaml, stream: a }\ntarget: { connector: t.yaml, stream: b }\n\
         mapping: { rules: [] }\nschedule: \"every day\"\n",
    );
    let error = run_file(&flow, &registry(), secrets()).await.unwrap_err();
    assert!(error.message().contains("/schedule"), "{error}");
    assert!(!state_paths(&flow).0.exists());
}

#[tokio::test]
async fn validate_file_reports_shape_connector_and_mapping_findings_by_path() {
    let pool = pg().await;
    let source_table = unique("val_src");
    let target_table = unique("val_dst");
    create_source_table(&pool, &source_table, 1).await;
    pg_exec(
        &pool,
        &format!("CREATE TABLE {target_table} (id bigint PRIMARY KEY, name text NOT NULL)"),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "db.yaml",
        &format!("type: sql\nurl: \"{PG_URL}\"\n"),
    );
    let good = write(
        dir.path(),
        "good.yaml",
        &format!(
            "name: good\nsource: {{ connector: db.yaml, stream: {source_table} }}\n\
             target: {{ connector: db.yaml, stream: {target_table} }}\n\
             schedule: \"0 */15 * * * *\"\ntimezone: Europe/Paris\n\
             mapping:\n  rules:\n    - {{ target: id, source: id }}\n    - {{ target: name, source: name }}\n"
        ),
    );
    let report = validate_file(&good, &registry(), secrets()).await.unwrap();
    assert!(report.valid, "{:?}", report.errors);
    assert!(report.errors.is_empty());

    let bad = write(
        dir.path(),
        "bad.yaml",
        &format!(
            "name: bad\nsource: {{ connector: db.yaml, stream: {source_table} }}\n\
             target: {{ connector: {{ type: sql, url: \"{PG_URL}\", batch_size: \"big\" }}, stream: no_such_table_xyz }}\n\
             schedule: \"0 */15 * * *\"\n\
             mapping:\n  rules:\n    - {{ target: id, source: id }}\n    - {{ target: name, source: nickname }}\n"
        ),
    );
    let report = validate_file(&bad, &registry(), secrets()).await.unwrap();
    assert!(!report.valid);
    let paths: Vec<&str> = report.errors.iter().map(|e| e.path.as_str()).collect();
    assert!(paths.contains(&"/schedule"), "{paths:?}");
    assert!(paths.contains(&"/target/connector/batch_size"), "{paths:?}");
    assert!(paths.contains(&"/mapping/rules/1/source"), "{paths:?}");

    let bad_target = write(
        dir.path(),
        "missing.yaml",
        &format!(
            "name: missing\nsource: {{ connector: db.yaml, stream: {source_table} }}\n\
             target: {{ connector: db.yaml, stream: no_such_table_xyz }}\n\
             mapping:\n  rules:\n    - {{ target: id, source: id }}\n"
        ),
    );
    let report = validate_file(&bad_target, &registry(), secrets())
        .await
        .unwrap();
    let paths: Vec<&str> = report.errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, vec!["/target/stream"], "{:?}", report.errors);

    let unreachable = write(
        dir.path(),
        "unreachable.yaml",
        "name: u\nsource: { connector: { type: sql, url: \"postgres://postgres@127.0.0.1:1/x\" }, stream: a }\n\
         target: { connector: { type: nosuch }, stream: b }\n\
         mapping: { rules: [ { target: id, source: id } ] }\n",
    );
    let report = validate_file(&unreachable, &registry(), secrets())
        .await
        .unwrap();
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.path == "/source/connector"),
        "{:?}",
        report.warnings
    );
    let paths: Vec<&str> = report.errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, vec!["/target/connector/type"]);
    pg_exec(
        &pool,
        &format!("DROP TABLE {source_table}; DROP TABLE {target_table}"),
    )
    .await;
}

/// The CLI journal's staging survives a crash at each step: letters staged for a batch are
/// appended once when it committed (a settle cut short after appending is undone first),
/// and dropped when it rolled back.
#[tokio::test]
async fn the_file_journal_settles_staged_rejects_exactly_once() {
    use flow_engine::{DeadLetter, DeadLetterStage, FileJournal, RunJournal};
    use serde_json::json;

    let dir = tempfile::tempdir().unwrap();
    let (state_path, rejects_path) = state_paths(&dir.path().join("orders.yaml"));
    let journal = FileJournal::new("orders", &state_path, &rejects_path);
    let letter = |id: i64| DeadLetter {
        stage: DeadLetterStage::Target,
        source_record: json!({"id": id}),
        mapped_record: None,
        reason: format!("record {id} refused"),
    };
    let ids = || -> Vec<i64> {
        std::fs::read_to_string(&rejects_path)
            .unwrap_or_default()
            .lines()
            .map(|line| {
                serde_json::from_str::<Value>(line).unwrap()["source_record"]["id"]
                    .as_i64()
                    .unwrap()
            })
            .collect()
    };
    journal.dead_letters(vec![letter(1)]).await.unwrap();

    let at = connector_sdk::Checkpoint::cursor("id", json!(20));
    journal
        .stage_dead_letters(&at, vec![letter(13), letter(15)])
        .await
        .unwrap();
    assert_eq!(
        journal.staged_path(),
        dir.path().join("orders.state.staged.json")
    );
    assert!(journal.staged_path().exists());
    assert_eq!(journal.staged_checkpoint().await.unwrap(), Some(at.clone()));
    assert_eq!(
        ids(),
        vec![1],
        "staged letters are not in the rejects file yet"
    );

    // A settle that appended the letters and died before removing the staging file.
    let mut partial = std::fs::read_to_string(&rejects_path).unwrap();
    partial.push_str("{\"source_record\": {\"id\": 13}}\n{\"source_record\": {\"id\": 15}}\n");
    std::fs::write(&rejects_path, partial).unwrap();
    assert_eq!(journal.settle_staged(true).await.unwrap(), 2);
    assert_eq!(
        ids(),
        vec![1, 13, 15],
        "appended once, the cut-short append undone"
    );
    assert!(!journal.staged_path().exists());
    assert_eq!(journal.settle_staged(true).await.unwrap(), 0);

    // A batch that rolled back: its letters are dropped.
    journal
        .stage_dead_letters(&at, vec![letter(25)])
        .await
        .unwrap();
    assert_eq!(journal.settle_staged(false).await.unwrap(), 0);
    assert_eq!(journal.staged_checkpoint().await.unwrap(), None);
    assert_eq!(ids(), vec![1, 13, 15]);
}
