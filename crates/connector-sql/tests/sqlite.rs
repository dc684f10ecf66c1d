#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Behaviour tests against SQLite (a file in a temporary directory per test).

mod common;

use connector_sdk::ConnectorExt as _;

use common::{TestDb, connector, read_all, record};
use connector_sdk::{ErrorKind, ReadRequest, RecordOutcome, WriteMode};
use serde_json::json;

const CUSTOMERS: &str = "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, updated_at INTEGER NOT NULL, note TEXT)";

#[tokio::test]
async fn the_sdk_behaviour_kit_passes_on_sqlite() {
    let db = TestDb::sqlite().await;
    common::load_customers(&db, CUSTOMERS).await;
    common::run_kit(
        &db,
        json!({"url": "sqlite:///nonexistent-dir/grimos/missing.db"}),
    )
    .await;
    db.drop_all().await;
}

#[tokio::test]
async fn values_round_trip_and_bad_rows_are_isolated() {
    let db = TestDb::sqlite().await;
    db.exec(
        "CREATE TABLE kinds (id INTEGER PRIMARY KEY, exact DECIMAL(10,2), at TIMESTAMPTZ, doc JSON, blob BLOB, \
         flag BOOLEAN, txt TEXT NOT NULL CHECK (length(txt) < 100), ratio REAL)",
    )
    .await;
    let c = connector(db.config(json!([{"name": "kinds", "table": "kinds"}]))).await;
    let good = record(json!({
        "id": 1, "exact": "12.5", "at": "2024-02-29T23:59:59.123456Z", "doc": {"a": [1, "x"]},
        "blob": "AAEC/f7/", "flag": true, "txt": "grüße 東京 🚀 \"q\" 'x'", "ratio": 0.25
    }));
    let nulls = record(
        json!({"id": 2, "exact": null, "at": null, "doc": null, "blob": null, "flag": null, "txt": "n", "ratio": null}),
    );
    let bad = record(json!({"id": 3, "txt": "x".repeat(200)}));
    let report = c
        .write_records(
            "kinds",
            WriteMode::Insert,
            vec![good.clone(), bad, nulls.clone()],
        )
        .await
        .unwrap();
    assert!(
        report.outcomes[0].is_ok() && report.outcomes[2].is_ok(),
        "{report:?}"
    );
    assert!(
        matches!(&report.outcomes[1], RecordOutcome::Rejected { kind: ErrorKind::Data, reason } if reason.contains("CHECK")),
        "{report:?}"
    );
    let mut back = read_all(c.as_ref(), ReadRequest::full("kinds")).await;
    back.sort_by_key(|r| r["id"].as_i64());
    let mut expected_good = good;
    // SQLite's NUMERIC affinity stores 12.5 as a REAL: the decimal comes back as text of it.
    expected_good.insert("exact".into(), json!("12.5"));
    assert_eq!(back, vec![expected_good, nulls]);
    db.drop_all().await;
}

/// Columns are typed from their declared type; a value of another storage class (SQLite
/// keeps what it is given) turns its column into JSON for that batch, each value read as
/// it is stored.
#[tokio::test]
async fn dynamically_typed_values_read_as_they_are_stored() {
    let db = TestDb::sqlite().await;
    db.exec("CREATE TABLE loose (id INTEGER PRIMARY KEY, n INTEGER, flag BOOLEAN, r REAL, t TEXT, b BLOB)")
        .await;
    db.exec(
        "INSERT INTO loose VALUES (1, 5, 1, 1.5, 'x', x'00ff'), (2, 'five', 'yes', 2, 7, 'text'), \
         (3, NULL, 0, NULL, NULL, NULL)",
    )
    .await;
    let c = connector(db.config(json!([{"name": "loose", "table": "loose"}]))).await;
    let request = ReadRequest::full("loose").with_batch_size(10);
    let back: Vec<serde_json::Value> = read_all(c.as_ref(), request.clone())
        .await
        .into_iter()
        .map(serde_json::Value::Object)
        .collect();
    assert_eq!(
        back,
        vec![
            json!({"id": 1, "n": 5, "flag": true, "r": 1.5, "t": "x", "b": "AP8="}),
            json!({"id": 2, "n": "five", "flag": "yes", "r": 2.0, "t": "7", "b": "text"}),
            json!({"id": 3, "n": null, "flag": false, "r": null, "t": null, "b": null}),
        ]
    );
    let types = common::column_types(c.as_ref(), request).await;
    assert_eq!(types["id"], "Int64");
    assert_eq!(types["r"], "Float64");
    assert_eq!(types["t"], "Utf8", "TEXT affinity stored 7 as '7'");
    assert_eq!(types["b"], "Utf8", "bytes and text both read as strings");
    for mixed in ["n", "flag"] {
        assert_eq!(types[mixed], "json", "{mixed}");
    }
    // A batch of the first row alone keeps the declared types.
    let first =
        common::column_types(c.as_ref(), ReadRequest::full("loose").with_batch_size(1)).await;
    assert_eq!(first["n"], "Int64");
    assert_eq!(first["flag"], "Boolean");
    assert_eq!(first["b"], "Binary");
    db.drop_all().await;
}

#[tokio::test]
async fn identifier_injection_fails_safely() {
    let db = TestDb::sqlite().await;
    db.exec("CREATE TABLE victim (id INTEGER PRIMARY KEY)")
        .await;
    db.exec("INSERT INTO victim VALUES (1)").await;
    db.exec("CREATE TABLE \"we\"\"ird; DROP TABLE victim; --\" (id INTEGER PRIMARY KEY, \"col\"\"; DROP TABLE victim; --\" TEXT)").await;
    let c = connector(db.config(json!([]))).await;
    for table in [
        "victim; DROP TABLE victim; --",
        "\"victim\"\"; DROP TABLE victim; --\"",
        "victim`",
        "[victim]",
    ] {
        let err = c
            .write_records(table, WriteMode::Insert, vec![record(json!({"id": 2}))])
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{table}: {err}");
    }
    let weird = "\"we\"\"ird; DROP TABLE victim; --\"";
    let row =
        record(json!({"id": 1, "col\"; DROP TABLE victim; --": "x'); DROP TABLE victim; --"}));
    assert_eq!(
        c.write_records(weird, WriteMode::Upsert, vec![row.clone()])
            .await
            .unwrap()
            .ok_count(),
        1
    );
    assert_eq!(
        read_all(c.as_ref(), ReadRequest::full(weird)).await,
        vec![row]
    );
    assert_eq!(db.count("victim").await, 1, "the victim table survived");
    db.drop_all().await;
}

#[tokio::test]
async fn checkpoints_round_trip_per_key() {
    let db = TestDb::sqlite().await;
    common::checkpoints_round_trip(&db).await;
    db.drop_all().await;
}

#[tokio::test]
async fn bad_rows_commit_the_good_rows_and_the_checkpoint() {
    let db = TestDb::sqlite().await;
    common::bad_rows_commit_the_good_rows_and_the_checkpoint(&db).await;
    db.drop_all().await;
}

#[tokio::test]
async fn a_failed_batch_keeps_the_previous_checkpoint() {
    let db = TestDb::sqlite().await;
    common::a_failed_batch_keeps_the_previous_checkpoint(&db).await;
    db.drop_all().await;
}

#[tokio::test]
async fn rows_roll_back_when_the_checkpoint_cannot_be_stored() {
    let db = TestDb::sqlite().await;
    common::rows_roll_back_when_the_checkpoint_fails(&db).await;
    db.drop_all().await;
}
