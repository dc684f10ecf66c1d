#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Behaviour tests against the real PostgreSQL on this machine (each in its own schema).

mod common;

use common::{TestDb, connector, read_all, record};
use connector_sdk::{ErrorKind, FieldType, ReadRequest, RecordOutcome, WriteMode};
use futures::StreamExt;
use serde_json::{Value, json};

const CUSTOMERS: &str = "CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL, updated_at bigint NOT NULL, note text)";

#[tokio::test]
async fn the_sdk_behaviour_kit_passes_on_postgres() {
    let db = TestDb::postgres().await;
    common::load_customers(&db, CUSTOMERS).await;
    common::run_kit(
        &db,
        json!({"url": "postgres://postgres@127.0.0.1:5432/grimos_no_such_database"}),
    )
    .await;
    db.drop_all().await;
}

#[tokio::test]
async fn every_write_mode_applies_by_primary_key() {
    let db = TestDb::postgres().await;
    db.exec("CREATE TABLE items (id int PRIMARY KEY, label text NOT NULL, qty int)")
        .await;
    let c = connector(db.config(json!([{"name": "items", "table": db.qualify("items")}]))).await;
    let rows: Vec<_> = (1..=3)
        .map(|i| record(json!({"id": i, "label": format!("item {i}"), "qty": i})))
        .collect();
    let report = c
        .write("items", WriteMode::Insert, rows.clone())
        .await
        .unwrap();
    assert_eq!(report.ok_count(), 3);
    // Inserting again: duplicate keys are rejected one by one with the database's reason.
    let report = c
        .write("items", WriteMode::Insert, rows[..1].to_vec())
        .await
        .unwrap();
    match &report.outcomes[0] {
        RecordOutcome::Rejected { kind, reason } => {
            assert_eq!(*kind, ErrorKind::Data);
            assert!(reason.contains("duplicate key"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    let report = c
        .write(
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
        .write(
            "items",
            WriteMode::Update,
            vec![
                record(json!({"id": 2, "qty": 20})),
                record(json!({"id": 42, "qty": 1})),
            ],
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
    let report = c
        .write(
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
            json!({"id": 2, "label": "item 2", "qty": 20}),
            json!({"id": 4, "label": "four", "qty": 4}),
        ]
    );
    db.drop_all().await;
}

#[tokio::test]
async fn values_round_trip_exactly() {
    let db = TestDb::postgres().await;
    db.exec(
        "CREATE TABLE kinds (id int PRIMARY KEY, exact numeric(38,10), wide numeric, at timestamptz, \
         local timestamp, day date, clock time, doc jsonb, raw json, blob bytea, uid uuid, flag boolean, \
         txt text, ints int[], words text[], ratio double precision)",
    )
    .await;
    let c = connector(db.config(json!([{"name": "kinds", "table": db.qualify("kinds")}]))).await;
    let full = record(json!({
        "id": 1,
        "exact": "1234567890123456789012345678.0123456789",
        "wide": "-0.000000000000000000000000000001",
        "at": "2024-02-29T23:59:59.123456Z",
        "local": "2024-02-29T08:00:00.500",
        "day": "1999-12-31",
        "clock": "23:59:58.250",
        "doc": {"a": [1, 2.5, "x"], "nested": {"ok": true, "none": null}},
        "raw": [1, "two"],
        "blob": "AAEC/f7/",
        "uid": "0190f1b4-6d34-7c43-a0b4-3d1b5c6a7e8f",
        "flag": true,
        "txt": "grüße, 東京, emoji 🚀, tab\tnew\nline \\ \"quote\"",
        "ints": [1, null, -3],
        "words": ["a", "b,c", "\"q\"", null],
        "ratio": 0.25
    }));
    let nulls = record(json!({
        "id": 2, "exact": null, "wide": null, "at": null, "local": null, "day": null, "clock": null,
        "doc": null, "raw": null, "blob": null, "uid": null, "flag": null, "txt": null, "ints": null,
        "words": null, "ratio": null
    }));
    let report = c
        .write(
            "kinds",
            WriteMode::Insert,
            vec![full.clone(), nulls.clone()],
        )
        .await
        .unwrap();
    assert_eq!(report.ok_count(), 2, "{report:?}");
    let mut back = read_all(c.as_ref(), ReadRequest::full("kinds")).await;
    back.sort_by_key(|r| r["id"].as_i64());
    assert_eq!(back, vec![full, nulls]);

    // Timestamps with an offset are stored as the same instant and read back in UTC.
    let report = c
        .write(
            "kinds",
            WriteMode::Upsert,
            vec![record(json!({"id": 3, "at": "2024-01-01T12:00:00+02:00"}))],
        )
        .await
        .unwrap();
    assert_eq!(report.ok_count(), 1);
    let back = read_all(c.as_ref(), ReadRequest::full("kinds")).await;
    let three = back.iter().find(|r| r["id"] == json!(3)).unwrap();
    assert_eq!(three["at"], json!("2024-01-01T10:00:00Z"));
    db.drop_all().await;
}

#[tokio::test]
async fn copy_reads_keep_escapes_nulls_unicode_and_special_values() {
    let db = TestDb::postgres().await;
    db.exec(
        "CREATE TABLE tricky (id int PRIMARY KEY, txt text, doc jsonb, raw json, n numeric, \
         at timestamptz, day date, words text[], ints bigint[], f real, blob bytea, span interval)",
    )
    .await;
    db.exec(&format!(
        "INSERT INTO {} VALUES \
         (1, E'tab\\there\\nnew\\r\\\\ back ''q'' \"d\" grüße 東京 🚀', \
          '{{\"k\": \"a\\tb\\nc \\\\ d\", \"e\": \"🚀\", \"x\": [1, 2.50, null]}}', '{{\"b\":1,  \"a\":2}}', \
          'NaN', 'infinity', '-infinity', ARRAY['', 'tab\there', NULL, 'back\\slash'], '{{}}', 'NaN', \
          '\\x00ff', '1 day 02:00'), \
         (2, '', 'null', NULL, '-0.000000000000000000000000000001', '0001-01-01 00:00:00+00', \
          '2000-02-29', '{{}}', ARRAY[NULL]::bigint[], 1.5, '', NULL), \
         (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
        db.qualify("tricky")
    ))
    .await;
    let c = connector(db.config(json!([{"name": "tricky", "table": db.qualify("tricky")}]))).await;
    let mut back = read_all(c.as_ref(), ReadRequest::full("tricky")).await;
    back.sort_by_key(|r| r["id"].as_i64());
    assert_eq!(
        Value::Array(back.into_iter().map(Value::Object).collect()),
        json!([
            {"id": 1, "txt": "tab\there\nnew\r\\ back 'q' \"d\" grüße 東京 🚀",
             "doc": {"k": "a\tb\nc \\ d", "e": "🚀", "x": [1, 2.50, null]}, "raw": {"b": 1, "a": 2},
             "n": "NaN", "at": "infinity", "day": "-infinity",
             "words": ["", "tab\there", null, "back\\slash"], "ints": [], "f": "NaN",
             "blob": "AP8=", "span": "1 day 02:00:00"},
            {"id": 2, "txt": "", "doc": null, "raw": null, "n": "-0.000000000000000000000000000001",
             "at": "0001-01-01T00:00:00Z", "day": "2000-02-29", "words": [], "ints": [null],
             "f": 1.5, "blob": "", "span": null},
            {"id": 3, "txt": null, "doc": null, "raw": null, "n": null, "at": null, "day": null,
             "words": null, "ints": null, "f": null, "blob": null, "span": null}
        ])
    );
    db.drop_all().await;
}

#[tokio::test]
async fn copy_reads_resume_after_text_cursors_with_quotes_and_backslashes() {
    let db = TestDb::postgres().await;
    db.exec("CREATE TABLE names (name text PRIMARY KEY)").await;
    db.exec(&format!(
        "INSERT INTO {} VALUES ('a'), (E'b''\\\\'), (E'b''\\\\z'), ('c''); DROP TABLE x; --'), ('d')",
        db.qualify("names")
    ))
    .await;
    let c = connector(db.config(json!([
        {"name": "names", "table": db.qualify("names"), "cursor_column": "name"}
    ])))
    .await;
    let request = ReadRequest::full("names").with_batch_size(2);
    let mut stream = c.read(request.clone()).await.unwrap();
    let first = stream.next().await.unwrap().unwrap();
    drop(stream);
    assert_eq!(first.records[1]["name"], json!("b'\\"));
    let rest = read_all(
        c.as_ref(),
        request.from_checkpoint(first.checkpoint.clone()),
    )
    .await;
    let names: Vec<&str> = rest.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["b'\\z", "c'); DROP TABLE x; --", "d"]);
    db.drop_all().await;
}

#[tokio::test]
async fn discover_maps_native_types_onto_the_common_model() {
    let db = TestDb::postgres().await;
    db.exec(
        "CREATE TABLE orders (id bigint PRIMARY KEY, amount numeric(12,2) NOT NULL, placed timestamptz, \
         local timestamp, doc jsonb, blob bytea, uid uuid, tags text[], span interval)",
    )
    .await;
    db.exec("CREATE VIEW big_orders_v AS SELECT id, amount FROM orders WHERE amount > 100")
        .await;
    let c = connector(db.config(json!([
        {"name": "big", "query": format!("SELECT id, amount FROM {} WHERE amount > 100", db.qualify("orders")), "cursor_column": "id", "primary_key": ["id"]}
    ])))
    .await;
    let catalog = c.discover().await.unwrap();
    // Tables outside the connection's default schema are named `schema.table`.
    let orders = catalog.stream(&db.qualify("orders")).unwrap();
    let types: Vec<(&str, FieldType, bool)> = orders
        .fields
        .iter()
        .map(|f| (f.name.as_str(), f.field_type.clone(), f.nullable))
        .collect();
    assert_eq!(
        types,
        vec![
            ("id", FieldType::Integer, false),
            ("amount", FieldType::decimal(12, 2), false),
            ("placed", FieldType::TimestampTz, true),
            ("local", FieldType::Timestamp, true),
            ("doc", FieldType::Json, true),
            ("blob", FieldType::Bytes, true),
            ("uid", FieldType::Uuid, true),
            ("tags", FieldType::array(FieldType::String), true),
            ("span", FieldType::unknown("interval"), true),
        ]
    );
    assert_eq!(orders.primary_key, vec!["id"]);
    assert_eq!(
        orders.cursor_candidates,
        vec!["id", "amount", "placed", "local"]
    );
    assert!(
        catalog.stream(&db.qualify("big_orders_v")).is_some(),
        "views are listed"
    );
    let big = catalog.stream("big").unwrap();
    assert_eq!(big.primary_key, vec!["id"]);
    assert_eq!(big.field("amount").unwrap().field_type.name(), "decimal");
    db.drop_all().await;
}

#[tokio::test]
async fn incremental_reads_resume_from_a_checkpoint_across_ties() {
    let db = TestDb::postgres().await;
    db.exec("CREATE TABLE events (id int PRIMARY KEY, at timestamptz NOT NULL)")
        .await;
    // 30 rows on 6 distinct timestamps: batches of 4 split tie groups.
    db.exec(
        "INSERT INTO events SELECT i, timestamptz '2024-01-01 00:00:00+00' + ((i / 5) * interval '1 minute') \
         FROM generate_series(0, 29) AS i",
    )
    .await;
    let c = connector(db.config(json!([
        {"name": "events", "table": db.qualify("events"), "cursor_column": "at"}
    ])))
    .await;
    let request = ReadRequest::full("events").with_batch_size(4);
    let mut stream = c.read(request.clone()).await.unwrap();
    let first = stream.next().await.unwrap().unwrap();
    let second = stream.next().await.unwrap().unwrap();
    drop(stream);
    let seen: Vec<i64> = first
        .records
        .iter()
        .chain(&second.records)
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(seen, (0..8).collect::<Vec<_>>());
    // Resume after the second batch (it ended inside the tie group 5..9).
    let rest = read_all(
        c.as_ref(),
        request.clone().from_checkpoint(second.checkpoint.clone()),
    )
    .await;
    let ids: Vec<i64> = rest.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, (8..30).collect::<Vec<_>>(), "no gap, no duplicate");
    // New rows after the last checkpoint come next time.
    let mut stream = c.read(request.clone()).await.unwrap();
    let mut last = None;
    while let Some(batch) = stream.next().await {
        last = batch.unwrap().checkpoint;
    }
    db.exec("INSERT INTO events VALUES (100, timestamptz '2030-01-01 00:00:00+00')")
        .await;
    let newer = read_all(c.as_ref(), request.from_checkpoint(last)).await;
    assert_eq!(newer.len(), 1);
    assert_eq!(newer[0]["at"], json!("2030-01-01T00:00:00Z"));
    db.drop_all().await;
}

#[tokio::test]
async fn a_bad_record_in_a_batch_is_rejected_alone_with_the_database_reason() {
    let db = TestDb::postgres().await;
    db.exec(
        "CREATE TABLE scores (id int PRIMARY KEY, score int NOT NULL CHECK (score >= 0), at date)",
    )
    .await;
    let c = connector(db.config(json!([{"name": "scores", "table": db.qualify("scores")}]))).await;
    for mode in [WriteMode::Insert, WriteMode::Upsert] {
        db.exec(&format!("TRUNCATE {}", db.qualify("scores"))).await;
        let mut rows: Vec<_> = (0..1000)
            .map(|i| record(json!({"id": i, "score": i, "at": "2024-01-01"})))
            .collect();
        rows[137] = record(json!({"id": 137, "score": -1, "at": "2024-01-01"}));
        rows[512] = record(json!({"id": 512, "score": 5, "at": "2024-02-30"}));
        rows[900] = record(json!({"id": 900, "score": "many"}));
        let report = c.write("scores", mode, rows).await.unwrap();
        assert_eq!(report.outcomes.len(), 1000);
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
            vec![137, 512, 900],
            "{mode}"
        );
        assert!(
            rejected[0].1.contains("check constraint"),
            "{}",
            rejected[0].1
        );
        assert!(rejected[1].1.contains("out of range"), "{}", rejected[1].1);
        assert!(
            rejected[2].1.contains("expected integer"),
            "{}",
            rejected[2].1
        );
        assert_eq!(db.count("scores").await, 997, "{mode}");
    }
    db.drop_all().await;
}

#[tokio::test]
async fn identifier_injection_fails_safely() {
    let db = TestDb::postgres().await;
    db.exec("CREATE TABLE victim (id int PRIMARY KEY)").await;
    db.exec("INSERT INTO victim VALUES (1)").await;
    db.exec("CREATE TABLE \"we\"\"ird; DROP TABLE victim; --\" (\"id\" int PRIMARY KEY, \"col\"\"; DROP TABLE victim; --\" text, \"a`b[c]\" text)").await;
    let schema = db.qualify("");
    let schema = schema.trim_end_matches('.');
    let evil_tables = [
        format!("{schema}.victim; DROP TABLE {schema}.victim; --"),
        format!("{schema}.\"victim\"\"; DROP TABLE victim; --\""),
        "victim`; DROP TABLE victim; --".to_owned(),
        "[victim]; DROP TABLE victim".to_owned(),
    ];
    let c = connector(db.config(json!([]))).await;
    for table in &evil_tables {
        let err = c
            .write(table, WriteMode::Insert, vec![record(json!({"id": 2}))])
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{table}: {err}");
        assert!(c.read(ReadRequest::full(table.as_str())).await.is_err());
    }
    // Columns with quotes and SQL in their names work as plain names...
    let weird = format!("{schema}.\"we\"\"ird; DROP TABLE victim; --\"");
    let row = record(
        json!({"id": 1, "col\"; DROP TABLE victim; --": "x'); DROP TABLE victim; --", "a`b[c]": "ok"}),
    );
    let report = c
        .write(&weird, WriteMode::Upsert, vec![row.clone()])
        .await
        .unwrap();
    assert_eq!(report.ok_count(), 1, "{report:?}");
    assert_eq!(
        read_all(c.as_ref(), ReadRequest::full(weird.as_str())).await,
        vec![row]
    );
    // ...and an unknown field carrying SQL is rejected, not spliced.
    let report = c
        .write(
            &weird,
            WriteMode::Insert,
            vec![record(
                json!({"id": 2, "id\" int); DROP TABLE victim; --": 1}),
            )],
        )
        .await
        .unwrap();
    match &report.outcomes[0] {
        RecordOutcome::Rejected {
            kind: ErrorKind::Data,
            reason,
        } => assert!(reason.contains("unknown field"), "{reason}"),
        other => panic!("{other:?}"),
    }
    // The configured-table path rejects the same names at build or finds nothing.
    let c = connector(db.config(
        json!([{"name": "evil", "table": format!("{schema}.\"victim; DROP TABLE victim; --\"")}]),
    ))
    .await;
    let err = c
        .write("evil", WriteMode::Insert, vec![record(json!({"id": 3}))])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.detail().contains("does not exist"), "{err}");
    assert_eq!(db.count("victim").await, 1, "the victim table survived");
    db.drop_all().await;
}

#[tokio::test]
async fn a_password_in_the_url_never_shows_in_errors() {
    let c = connector(json!({"url": "postgres://postgres:hunter2secret@127.0.0.1:1/test"})).await;
    let report = c.check().await;
    let err = report.error.unwrap();
    assert!(!err.to_string().contains("hunter2secret"), "{err}");
    assert!(!format!("{err:?}").contains("hunter2secret"));
    // A password reference that cannot be resolved is a config error naming the reference.
    let c = connector(json!({"url": "postgres://postgres@127.0.0.1:5432/test", "password": "env:GRIMOS_TEST_UNSET_PASSWORD"})).await;
    let err = c.check().await.error.unwrap();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.detail().contains("GRIMOS_TEST_UNSET_PASSWORD"), "{err}");
}

#[tokio::test]
async fn a_million_row_read_streams_in_bounded_memory() {
    let db = TestDb::postgres().await;
    db.exec(
        "CREATE TABLE big AS SELECT i AS id, md5(i::text) AS label, (i * 1.5)::numeric(12,2) AS amount, \
         timestamptz '2024-01-01' + i * interval '1 second' AS at, jsonb_build_object('i', i) AS doc \
         FROM generate_series(1, 1000000) AS i",
    )
    .await;
    let c = connector(db.config(json!([{"name": "big", "table": db.qualify("big")}]))).await;
    let before = common::peak_rss_kib();
    let mut stream = c
        .read(ReadRequest::full("big").with_batch_size(5_000))
        .await
        .unwrap();
    let mut rows = 0usize;
    let mut largest = 0usize;
    while let Some(batch) = stream.next().await {
        let batch = batch.unwrap();
        largest = largest.max(batch.records.len());
        rows += batch.records.len();
    }
    let growth_mib = (common::peak_rss_kib().saturating_sub(before)) / 1024;
    println!("1,000,000-row read: peak RSS growth {growth_mib} MiB");
    assert_eq!(rows, 1_000_000);
    assert_eq!(largest, 5_000);
    assert!(growth_mib < 200, "peak RSS grew by {growth_mib} MiB");
    db.drop_all().await;
}

#[tokio::test]
async fn checkpoints_round_trip_per_key() {
    let db = TestDb::postgres().await;
    common::checkpoints_round_trip(&db).await;
    db.drop_all().await;
}

#[tokio::test]
async fn bad_rows_commit_the_good_rows_and_the_checkpoint() {
    let db = TestDb::postgres().await;
    common::bad_rows_commit_the_good_rows_and_the_checkpoint(&db).await;
    db.drop_all().await;
}

#[tokio::test]
async fn a_failed_batch_keeps_the_previous_checkpoint() {
    let db = TestDb::postgres().await;
    common::a_failed_batch_keeps_the_previous_checkpoint(&db).await;
    db.drop_all().await;
}

#[tokio::test]
async fn rows_roll_back_when_the_checkpoint_cannot_be_stored() {
    let db = TestDb::postgres().await;
    common::rows_roll_back_when_the_checkpoint_fails(&db).await;
    db.drop_all().await;
}
