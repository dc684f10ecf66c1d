#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Behaviour tests against the real MariaDB on this machine (each in its own database).

mod common;

use connector_sdk::ConnectorExt as _;

use common::{TestDb, connector, read_all, record};
use connector_sdk::{ErrorKind, FieldType, ReadRequest, RecordOutcome, WriteMode};
use serde_json::{Value, json};

const CUSTOMERS: &str = "CREATE TABLE customers (id bigint PRIMARY KEY, name varchar(100) NOT NULL, updated_at bigint NOT NULL, note text)";

#[tokio::test]
async fn the_sdk_behaviour_kit_passes_on_mariadb() {
    let db = TestDb::mariadb().await;
    common::load_customers(&db, CUSTOMERS).await;
    // The broken connector's password reference cannot be resolved.
    common::run_kit(
        &db,
        json!({"url": db.url(), "password": "file:/dev/null/grimos-no-such-password"}),
    )
    .await;
    let broken = connector(json!({"url": "mysql://grimos_nobody@127.0.0.1:3306/test"})).await;
    let err = broken.check().await.error.unwrap();
    assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
    db.drop_all().await;
}

#[tokio::test]
async fn every_write_mode_applies_by_primary_key() {
    let db = TestDb::mariadb().await;
    db.exec("CREATE TABLE items (id int PRIMARY KEY, label varchar(50) NOT NULL, qty int)")
        .await;
    let c = connector(db.config(json!([{"name": "items", "table": "items"}]))).await;
    let rows: Vec<_> = (1..=3)
        .map(|i| record(json!({"id": i, "label": format!("item {i}"), "qty": i})))
        .collect();
    assert_eq!(
        c.write_records("items", WriteMode::Insert, rows.clone())
            .await
            .unwrap()
            .ok_count(),
        3
    );
    let report = c
        .write_records("items", WriteMode::Insert, rows[..1].to_vec())
        .await
        .unwrap();
    assert!(
        matches!(&report.outcomes[0], RecordOutcome::Rejected { kind: ErrorKind::Data, reason } if reason.contains("Duplicate")),
        "{report:?}"
    );
    let report = c
        .write_records(
            "items",
            WriteMode::Upsert,
            vec![
                record(json!({"id": 1, "label": "one", "qty": 10})),
                record(json!({"id": 4, "label": "four", "qty": 4})),
            ],
        )
        .await
        .unwrap();
    assert_eq!(report.ok_count(), 2);
    let report = c
        .write_records(
            "items",
            WriteMode::Update,
            vec![
                record(json!({"id": 2, "qty": 2})),
                record(json!({"id": 42, "qty": 1})),
            ],
        )
        .await
        .unwrap();
    assert!(
        report.outcomes[0].is_ok(),
        "an update that changes nothing still finds its row"
    );
    assert!(matches!(
        &report.outcomes[1],
        RecordOutcome::Rejected {
            kind: ErrorKind::NotFound,
            ..
        }
    ));
    let report = c
        .write_records(
            "items",
            WriteMode::Delete,
            vec![record(json!({"id": 3})), record(json!({"id": 99}))],
        )
        .await
        .unwrap();
    assert!(report.outcomes[0].is_ok());
    assert!(matches!(
        &report.outcomes[1],
        RecordOutcome::Rejected {
            kind: ErrorKind::NotFound,
            ..
        }
    ));
    let mut all = read_all(c.as_ref(), ReadRequest::full("items")).await;
    all.sort_by_key(|r| r["id"].as_i64());
    let got: Vec<Value> = all.into_iter().map(Value::Object).collect();
    assert_eq!(
        got,
        vec![
            json!({"id": 1, "label": "one", "qty": 10}),
            json!({"id": 2, "label": "item 2", "qty": 2}),
            json!({"id": 4, "label": "four", "qty": 4}),
        ]
    );
    db.drop_all().await;
}

#[tokio::test]
async fn values_round_trip_exactly() {
    let db = TestDb::mariadb().await;
    db.exec(
        "CREATE TABLE kinds (id int PRIMARY KEY, exact decimal(38,10), at timestamp(6) NULL, local datetime(6), \
         day date, doc json, bin longblob, flag boolean, txt text, ratio double, big bigint unsigned) \
         CHARACTER SET utf8mb4",
    )
    .await;
    let c = connector(db.config(json!([{"name": "kinds", "table": "kinds"}]))).await;
    let catalog = c.discover().await.unwrap();
    let kinds = catalog.stream("kinds").unwrap();
    assert_eq!(
        kinds.field("doc").unwrap().field_type,
        FieldType::Json,
        "MariaDB JSON is found"
    );
    assert_eq!(
        kinds.field("exact").unwrap().field_type,
        FieldType::decimal(38, 10)
    );
    assert_eq!(kinds.field("flag").unwrap().field_type, FieldType::Boolean);
    assert_eq!(
        kinds.field("at").unwrap().field_type,
        FieldType::TimestampTz
    );
    let full = record(json!({
        "id": 1,
        "exact": "1234567890123456789012345678.0123456789",
        "at": "2024-02-29T23:59:59.123456Z",
        "local": "2024-02-29T08:00:00.500",
        "day": "1999-12-31",
        "doc": {"a": [1, 2.5, "x"], "nested": {"ok": true}},
        "bin": "AAEC/f7/",
        "flag": true,
        "txt": "grüße, 東京, emoji 🚀, tab\tnew\nline \\ \"quote\" 'single'",
        "ratio": 0.25,
        "big": 18446744073709551615u64
    }));
    let nulls = record(json!({
        "id": 2, "exact": null, "at": null, "local": null, "day": null, "doc": null, "bin": null,
        "flag": null, "txt": null, "ratio": null, "big": null
    }));
    // u64::MAX does not fit the 64-bit signed bind: rejected with a reason, the rest written.
    let report = c
        .write_records(
            "kinds",
            WriteMode::Insert,
            vec![full.clone(), nulls.clone()],
        )
        .await
        .unwrap();
    assert!(
        matches!(&report.outcomes[0], RecordOutcome::Rejected { reason, .. } if reason.contains("64 bits")),
        "{report:?}"
    );
    let mut full = full;
    full.insert("big".into(), json!(9223372036854775807i64));
    let report = c
        .write_records(
            "kinds",
            WriteMode::Upsert,
            vec![full.clone(), nulls.clone()],
        )
        .await
        .unwrap();
    assert_eq!(report.ok_count(), 2, "{report:?}");
    let mut back = read_all(c.as_ref(), ReadRequest::full("kinds")).await;
    back.sort_by_key(|r| r["id"].as_i64());
    assert_eq!(back, vec![full, nulls]);
    // The rows were decoded into typed columns.
    let types = common::column_types(c.as_ref(), ReadRequest::full("kinds")).await;
    let expected: Vec<(&str, &str)> = vec![
        ("at", "Timestamp(µs, \"+00:00\")"),
        ("big", "UInt64"),
        ("bin", "Binary"),
        ("day", "Date32"),
        ("doc", "json"),
        ("exact", "Decimal128(38, 10)"),
        ("flag", "Boolean"),
        ("id", "Int64"),
        ("local", "Timestamp(µs)"),
        ("ratio", "Float64"),
        ("txt", "Utf8"),
    ];
    let types: Vec<(&str, &str)> = types
        .iter()
        .map(|(name, kind)| (name.as_str(), kind.as_str()))
        .collect();
    assert_eq!(types, expected);
    db.drop_all().await;
}

#[tokio::test]
async fn a_bad_record_in_a_batch_is_rejected_alone_with_the_database_reason() {
    let db = TestDb::mariadb().await;
    db.exec("CREATE TABLE scores (id int PRIMARY KEY, score int NOT NULL CHECK (score >= 0), label varchar(5))").await;
    let c = connector(db.config(json!([{"name": "scores", "table": "scores"}]))).await;
    for mode in [WriteMode::Insert, WriteMode::Upsert] {
        db.exec("TRUNCATE scores").await;
        let mut rows: Vec<_> = (0..1000)
            .map(|i| record(json!({"id": i, "score": i, "label": "ok"})))
            .collect();
        rows[137] = record(json!({"id": 137, "score": -1, "label": "ok"}));
        rows[512] = record(json!({"id": 512, "score": 5, "label": "far too long"}));
        let report = c.write_records("scores", mode, rows).await.unwrap();
        let rejected: Vec<(usize, String)> = report
            .outcomes
            .iter()
            .enumerate()
            .filter_map(|(i, o)| match o {
                RecordOutcome::Rejected { reason, .. } => Some((i, reason.clone())),
                RecordOutcome::Ok => None,
            })
            .collect();
        assert_eq!(
            rejected.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            vec![137, 512],
            "{mode}: {rejected:?}"
        );
        assert!(rejected[0].1.contains("CONSTRAINT"), "{}", rejected[0].1);
        assert!(rejected[1].1.contains("too long"), "{}", rejected[1].1);
        assert_eq!(db.count("scores").await, 998);
    }
    db.drop_all().await;
}

#[tokio::test]
async fn incremental_reads_resume_from_a_checkpoint() {
    let db = TestDb::mariadb().await;
    db.exec("CREATE TABLE events (id int PRIMARY KEY, at datetime(6) NOT NULL)")
        .await;
    db.exec("INSERT INTO events SELECT seq, TIMESTAMP '2024-01-01 00:00:00' + INTERVAL (seq DIV 5) MINUTE FROM seq_0_to_29").await;
    let c =
        connector(db.config(json!([{"name": "events", "table": "events", "cursor_column": "at"}])))
            .await;
    let request = ReadRequest::full("events").with_batch_size(7);
    let batches = connector_sdk::testkit::read_batches(c.as_ref(), request.clone())
        .await
        .unwrap();
    assert_eq!(batches.len(), 5);
    let rest = read_all(
        c.as_ref(),
        request.from_checkpoint(batches[1].checkpoint.clone()),
    )
    .await;
    let ids: Vec<i64> = rest.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, (14..30).collect::<Vec<_>>());
    db.drop_all().await;
}

#[tokio::test]
async fn identifier_injection_fails_safely() {
    let db = TestDb::mariadb().await;
    db.exec("CREATE TABLE victim (id int PRIMARY KEY)").await;
    db.exec("INSERT INTO victim VALUES (1)").await;
    db.exec("CREATE TABLE `we``ird; DROP TABLE victim; --` (`id` int PRIMARY KEY, `col``; DROP TABLE victim; --` text, `a\"b[c]` text)").await;
    let c = connector(db.config(json!([]))).await;
    for table in [
        "victim`; DROP TABLE victim; --",
        "victim; DROP TABLE victim",
        "[victim]",
        "\"victim\"\"; DROP TABLE victim; --\"",
    ] {
        let err = c
            .write_records(table, WriteMode::Insert, vec![record(json!({"id": 2}))])
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{table}: {err}");
    }
    let weird = "we`ird; DROP TABLE victim; --";
    let row = record(
        json!({"id": 1, "col`; DROP TABLE victim; --": "x'); DROP TABLE victim; --", "a\"b[c]": "ok"}),
    );
    let report = c
        .write_records(weird, WriteMode::Upsert, vec![row.clone()])
        .await
        .unwrap();
    assert_eq!(report.ok_count(), 1, "{report:?}");
    assert_eq!(
        read_all(c.as_ref(), ReadRequest::full(weird)).await,
        vec![row]
    );
    let report = c
        .write_records(
            weird,
            WriteMode::Insert,
            vec![record(json!({"id`) VALUES (5); DROP TABLE victim; --": 1}))],
        )
        .await
        .unwrap();
    assert!(
        matches!(&report.outcomes[0], RecordOutcome::Rejected { reason, .. } if reason.contains("unknown field"))
    );
    assert_eq!(db.count("victim").await, 1, "the victim table survived");
    db.drop_all().await;
}

#[tokio::test]
async fn checkpoints_round_trip_per_key() {
    let db = TestDb::mariadb().await;
    common::checkpoints_round_trip(&db).await;
    db.drop_all().await;
}

#[tokio::test]
async fn bad_rows_commit_the_good_rows_and_the_checkpoint() {
    let db = TestDb::mariadb().await;
    common::bad_rows_commit_the_good_rows_and_the_checkpoint(&db).await;
    db.drop_all().await;
}

#[tokio::test]
async fn a_failed_batch_keeps_the_previous_checkpoint() {
    let db = TestDb::mariadb().await;
    common::a_failed_batch_keeps_the_previous_checkpoint(&db).await;
    db.drop_all().await;
}

#[tokio::test]
async fn rows_roll_back_when_the_checkpoint_cannot_be_stored() {
    let db = TestDb::mariadb().await;
    common::rows_roll_back_when_the_checkpoint_fails(&db).await;
    db.drop_all().await;
}
