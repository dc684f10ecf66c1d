#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Behaviour tests against the real PostgreSQL on this machine (each in its own schema).

mod common;

use connector_sdk::ConnectorExt as _;

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
        .write_records("items", WriteMode::Insert, rows.clone())
        .await
        .unwrap();
    assert_eq!(report.ok_count(), 3);
    // Inserting again: duplicate keys are rejected one by one with the database's reason.
    let report = c
        .write_records("items", WriteMode::Insert, rows[..1].to_vec())
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
        .write_records(
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
        .write_records(
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
    assert_eq!(first.records()[1]["name"], json!("b'\\"));
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
        .records()
        .iter()
        .chain(&second.records())
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
        let report = c.write_records("scores", mode, rows).await.unwrap();
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
            .write_records(table, WriteMode::Insert, vec![record(json!({"id": 2}))])
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
        .write_records(&weird, WriteMode::Upsert, vec![row.clone()])
        .await
        .unwrap();
    assert_eq!(report.ok_count(), 1, "{report:?}");
    assert_eq!(
        read_all(c.as_ref(), ReadRequest::full(weird.as_str())).await,
        vec![row]
    );
    // ...and an unknown field carrying SQL is rejected, not spliced.
    let report = c
        .write_records(
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
        .write_records("evil", WriteMode::Insert, vec![record(json!({"id": 3}))])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.detail().contains("does not exist"), "{err}");
    assert_eq!(db.count("victim").await, 1, "the victim table survived");
    db.drop_all().await;
}

#[tokio::test]
async fn a_password_in_the_url_never_shows_in_errors() {
    // Refused when the connector is built (the password belongs in a reference), and the
    // refusal does not repeat it.
    use connector_sdk::ConnectorFactory as _;
    let err = match connector_sql::SqlConnectorFactory
        .build(
            json!({"url": "postgres://postgres:hunter2secret@127.0.0.1:1/test"}),
            &connector_sdk::BuildContext::new(std::sync::Arc::new(
                connector_sdk::EnvFileSecretSource,
            )),
        )
        .await
    {
        Ok(_) => panic!("a password in the URL was accepted"),
        Err(err) => err,
    };
    assert_eq!(err.kind(), ErrorKind::Config);
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
        largest = largest.max(batch.batch.len());
        rows += batch.batch.len();
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

/// Logs the statement behind every `INSERT` into `table` (a `COPY ... FROM STDIN`, with or
/// without `(FORMAT binary)`, for connector inserts) into the scratch table `copy_log`.
async fn log_statements(db: &TestDb, table: &str) {
    let log = db.qualify("copy_log");
    db.exec("CREATE TABLE IF NOT EXISTS copy_log (at serial, tbl text, q text)")
        .await;
    db.exec(&format!(
        "CREATE OR REPLACE FUNCTION log_copy() RETURNS trigger LANGUAGE plpgsql AS \
         $$ BEGIN INSERT INTO {log} (tbl, q) VALUES (TG_TABLE_NAME, current_query()); RETURN NULL; END $$"
    ))
    .await;
    db.exec(&format!(
        "CREATE TRIGGER log_copy AFTER INSERT ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {}()",
        db.qualify("log_copy")
    ))
    .await;
}

/// The statements logged for `table` since the last call, oldest first (then forgotten).
async fn logged(db: &TestDb, table: &str) -> Vec<String> {
    let TestDb::Postgres { pool, .. } = db else {
        unreachable!()
    };
    let log = db.qualify("copy_log");
    let rows: Vec<String> =
        sqlx::query_scalar(&format!("DELETE FROM {log} WHERE tbl = $1 RETURNING q"))
            .bind(table)
            .fetch_all(pool)
            .await
            .unwrap();
    rows
}

fn is_binary(statement: &str) -> bool {
    statement.starts_with("COPY") && statement.ends_with("(FORMAT binary)")
}

/// Every row of `table` (ordered by `id`) as the server prints it: an exact comparison of
/// the stored values (numeric scales, JSON text, padding...).
async fn stored(db: &TestDb, table: &str, columns: &str) -> String {
    let TestDb::Postgres { pool, .. } = db else {
        unreachable!()
    };
    sqlx::query_scalar(&format!(
        "SELECT coalesce(string_agg(stored_row::text, E'\\n' ORDER BY stored_row.id), '') \
         FROM (SELECT {columns} FROM {}) stored_row",
        db.qualify(table)
    ))
    .fetch_one(pool)
    .await
    .unwrap()
}

const EVERY_TYPE: &str = "id int PRIMARY KEY, b bool, i2 int2, i4 int4, i8 int8, f4 real, \
    f8 double precision, n numeric, n2 numeric(12,2), t text, vc varchar(20), ch char(5), \
    nm name, d date, tm time, ts timestamp, tz timestamptz, j json, jb jsonb, u uuid, \
    by bytea, ai int4[], at text[], an numeric[], ad date[], atz timestamptz[], ab bool[], \
    af float8[], au uuid[], avc varchar(3)[]";

const EVERY_COLUMN: &str = "id, b, i2, i4, i8, f4, f8, n, n2, t, vc, ch, nm, d, tm, ts, tz, \
    j, jb, u, by, ai, at, an, ad, atz, ab, af, au, avc";

/// Rows of every type the binary encoder writes, each value one it takes.
fn every_type_rows() -> Vec<Value> {
    vec![
        json!({
            "id": 1, "b": true, "i2": -32768, "i4": 2147483647, "i8": i64::MIN,
            "f4": 0.1, "f8": -1.5e300,
            "n": "-12345678901234567890.123456789012345678901234567890", "n2": "1.005",
            "t": "grüße, 東京, emoji 🚀, tab\tnew\nline \\ \"quote\" 'single'", "vc": "",
            "ch": "ab", "nm": "a_name",
            "d": "0001-01-01", "tm": "23:59:59.999999", "ts": "2024-02-29T08:00:00.5",
            "tz": "2024-01-01T12:00:00+05:30",
            "j": {"b": 1, "a": [1, 2.5, "x"]},
            "jb": {"nested": {"deep": [1, {"x": null}], "s": "a\\b\"c\u{1}"}, "u": "🚀"},
            "u": "0190F1B4-6D34-7C43-A0B4-3D1B5C6A7E8F", "by": "AAEC/f7/",
            "ai": [1, null, -3], "at": ["a", "b,c", "\"q\"", null, "", "NULL", "{x}"],
            "an": ["1.50", 2, null, "-0.001e3"], "ad": ["2024-01-01", "infinity"],
            "atz": ["2024-01-01T00:00:00Z", null, "2024-06-30 23:00:00-07"],
            "ab": [true, false], "af": [0.25, -1, 1e-300], "au": ["0190f1b4-6d34-7c43-a0b4-3d1b5c6a7e8f"],
            "avc": ["abc", "x"]
        }),
        json!({"id": 2}),
        json!({
            "id": 3, "b": false, "i2": 32767, "i4": -2147483648, "i8": 9007199254740993i64,
            "f4": 16777217, "f8": 0,
            "n": "NaN", "n2": "-0.004", "t": "", "vc": "exactly twenty chars", "ch": "abcde",
            "nm": "", "d": "infinity", "tm": "00:00", "ts": "-infinity", "tz": "infinity",
            "j": 42, "jb": "just a string", "u": "00000000-0000-0000-0000-000000000000",
            "by": "AAE", "ai": [], "at": [], "an": [], "ad": [null], "atz": ["-infinity"],
            "ab": [null], "af": [], "au": [], "avc": []
        }),
        json!({
            "id": 4, "f4": -0.0, "f8": 1e-300, "n": 1e21, "n2": 12345, "d": "1999-12-31",
            "tm": "12:30:00.5", "ts": "2024-01-05", "tz": "1999-12-31 23:59:59.123-08",
            "j": [null, true], "jb": [], "by": "", "i8": 0, "t": "𝄞 \u{7f} é"
        }),
        json!({
            "id": 5, "n": "0.000000000000000000000000000001", "n2": "-9999999999.99",
            "tz": "2024-02-29T23:59:59.123456Z", "ts": "9999-12-31 23:59:59.999999",
            "d": "2000-02-29", "jb": {"k": 1, "": [1e100, -0.5]}, "f8": 12345.6789,
            "f4": 3.4028234e38
        }),
    ]
}

#[tokio::test]
async fn binary_copy_writes_every_type_as_the_text_format_does() {
    let db = TestDb::postgres().await;
    db.exec(&format!("CREATE TABLE bin ({EVERY_TYPE})")).await;
    // The same columns and one of a type the binary encoder does not know: text format.
    db.exec(&format!("CREATE TABLE txt ({EVERY_TYPE}, span interval)"))
        .await;
    log_statements(&db, "bin").await;
    log_statements(&db, "txt").await;
    let c = connector(db.config(json!([
        {"name": "bin", "table": db.qualify("bin")},
        {"name": "txt", "table": db.qualify("txt")}
    ])))
    .await;
    let rows = every_type_rows();
    let with_span: Vec<_> = rows
        .iter()
        .map(|r| {
            let mut r = record(r.clone());
            r.insert("span".into(), Value::Null);
            r
        })
        .collect();
    let report = c
        .write_records(
            "bin",
            WriteMode::Insert,
            rows.iter().cloned().map(record).collect(),
        )
        .await
        .unwrap();
    assert_eq!(report.ok_count(), rows.len(), "{report:?}");
    let report = c
        .write_records("txt", WriteMode::Insert, with_span.clone())
        .await
        .unwrap();
    assert_eq!(report.ok_count(), rows.len(), "{report:?}");
    let binary = logged(&db, "bin").await;
    assert!(binary.iter().all(|q| is_binary(q)), "{binary:?}");
    let text = logged(&db, "txt").await;
    assert!(
        !text.is_empty() && text.iter().all(|q| !is_binary(q)),
        "{text:?}"
    );
    let expected = stored(&db, "txt", EVERY_COLUMN).await;
    assert_eq!(stored(&db, "bin", EVERY_COLUMN).await, expected);
    // Spot checks of what the server made of them.
    assert!(
        expected.contains(",1.01,"),
        "numeric(12,2) rounds:\n{expected}"
    );
    assert!(expected.contains("\"ab   \""), "char(5) pads: {expected}");

    // Read back, both tables give the same records.
    let mut from_bin = read_all(c.as_ref(), ReadRequest::full("bin")).await;
    let mut from_txt = read_all(c.as_ref(), ReadRequest::full("txt")).await;
    for r in &mut from_txt {
        r.remove("span");
    }
    from_bin.sort_by_key(|r| r["id"].as_i64());
    from_txt.sort_by_key(|r| r["id"].as_i64());
    assert_eq!(from_bin, from_txt);
    assert_eq!(from_bin[0]["tz"], json!("2024-01-01T06:30:00Z"));
    assert_eq!(from_bin[2]["n"], json!("NaN"));
    assert_eq!(from_bin[2]["tz"], json!("infinity"));

    // Upsert, update and delete stage the rows with the same encodings.
    let changes: Vec<Value> = vec![
        json!({"id": 1, "n2": "-42.125", "tz": "2030-01-01T00:00:00-01:00", "at": ["z"], "jb": {"v": 2}}),
        json!({"id": 6, "i4": 6, "u": "0190f1b4-6d34-7c43-a0b4-3d1b5c6a7e8f", "by": "/w=="}),
    ];
    for (mode, batch) in [
        (WriteMode::Upsert, changes.clone()),
        (
            WriteMode::Update,
            vec![json!({"id": 3, "t": "updated", "d": "2024-03-01", "an": ["0.5"]})],
        ),
        (WriteMode::Delete, vec![json!({"id": 2}), json!({"id": 99})]),
    ] {
        for table in ["bin", "txt"] {
            let records = batch
                .iter()
                .cloned()
                .map(|r| {
                    let mut r = record(r);
                    if table == "txt" && mode != WriteMode::Delete {
                        r.insert("span".into(), Value::Null);
                    }
                    r
                })
                .collect();
            let report = c.write_records(table, mode, records).await.unwrap();
            let expected_ok = if mode == WriteMode::Delete {
                1
            } else {
                batch.len()
            };
            assert_eq!(report.ok_count(), expected_ok, "{mode} {table}: {report:?}");
        }
    }
    assert_eq!(
        stored(&db, "bin", EVERY_COLUMN).await,
        stored(&db, "txt", EVERY_COLUMN).await
    );
    assert!(stored(&db, "bin", "id, n2, t").await.contains("(1,-42.13,"));
    db.drop_all().await;
}

/// Batches as a read gives them (typed Arrow columns: decimals, instants, dates, lists,
/// UUIDs, JSON) write back as they were read: the copy stores exactly what the source
/// holds, in binary `COPY`s, for inserts and upserts, with a checkpoint or without.
/// (Arrays of numerics, dates, instants and UUIDs read as their text and are left out.)
#[tokio::test]
async fn read_batches_write_back_exactly() {
    use connector_sdk::{Connector as _, WriteRequest};
    const READ_AS_TEXT: [&str; 4] = ["an", "ad", "atz", "au"];
    let kept = |list: &str| -> String {
        list.split(", ")
            .filter(|c| !READ_AS_TEXT.contains(&c.split(' ').next().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let ddl = kept(EVERY_TYPE);
    let columns = kept(EVERY_COLUMN);
    let db = TestDb::postgres().await;
    for table in ["src", "dst"] {
        db.exec(&format!("CREATE TABLE {table} ({ddl})")).await;
    }
    log_statements(&db, "dst").await;
    let mut config = db.config(json!([
        {"name": "src", "table": db.qualify("src")},
        {"name": "dst", "table": db.qualify("dst")}
    ]));
    config["checkpoint_table"] = json!(db.qualify("grimos_checkpoints"));
    let c = connector(config).await;
    let rows: Vec<_> = every_type_rows()
        .into_iter()
        .map(|row| {
            let mut row = record(row);
            row.retain(|name, _| !READ_AS_TEXT.contains(&name.as_str()));
            row
        })
        .collect();
    let report = c
        .write_records("src", WriteMode::Insert, rows)
        .await
        .unwrap();
    assert_eq!(report.rejected_count(), 0, "{report:?}");
    db.exec("INSERT INTO src (id, n, n2, tz) VALUES (6, 'NaN', 'NaN', '2024-01-01T00:00:00Z')")
        .await;
    for (mode, checkpoint) in [
        (WriteMode::Insert, None),
        (
            WriteMode::Upsert,
            Some(common::target_checkpoint("flow", 1)),
        ),
        (WriteMode::Upsert, None),
    ] {
        if mode == WriteMode::Insert {
            db.exec("TRUNCATE dst").await;
        }
        let mut stream = c
            .read(ReadRequest::full("src").with_batch_size(2))
            .await
            .unwrap();
        let mut written = 0;
        while let Some(read) = stream.next().await {
            let read = read.unwrap();
            let request = WriteRequest::new("dst", mode, read.batch)
                .with_checkpoint_option(checkpoint.clone());
            let report = c.write(request).await.unwrap();
            assert_eq!(report.rejected_count(), 0, "{mode}: {report:?}");
            written += report.ok_count();
        }
        assert_eq!(written, 6, "{mode}");
        assert_eq!(
            stored(&db, "dst", &columns).await,
            stored(&db, "src", &columns).await,
            "{mode}"
        );
        // (Upserts stage the rows with the same encoding; the trigger sees their INSERT.)
        let statements = logged(&db, "dst").await;
        assert!(
            mode != WriteMode::Insert || statements.iter().all(|q| is_binary(q)),
            "{mode}: {statements:?}"
        );
    }
    // What the batches held: typed columns (the numeric(12,2) as decimals, in batches
    // without the NaN row).
    use connector_sdk::arrow_schema::{DataType, TimeUnit};
    let mut stream = c
        .read(ReadRequest::full("src").with_batch_size(2))
        .await
        .unwrap();
    let read = stream.next().await.unwrap().unwrap();
    let schema = read.batch.schema();
    let type_of = |name: &str| schema.field_with_name(name).unwrap().data_type().clone();
    assert_eq!(type_of("i8"), DataType::Int64);
    assert_eq!(type_of("n2"), DataType::Decimal128(12, 2));
    assert_eq!(type_of("n"), DataType::Utf8);
    assert_eq!(
        type_of("tz"),
        DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into()))
    );
    assert_eq!(type_of("d"), DataType::Date32);
    assert!(connector_sdk::batch::is_uuid(
        schema.field_with_name("u").unwrap()
    ));
    assert!(connector_sdk::batch::is_json(
        schema.field_with_name("jb").unwrap()
    ));
    assert!(matches!(type_of("ai"), DataType::List(_)));
    db.drop_all().await;
}

#[tokio::test]
async fn unknown_types_and_values_only_the_server_reads_go_in_the_text_format() {
    let db = TestDb::postgres().await;
    db.exec("CREATE TYPE mood AS ENUM ('happy', 'sad')").await;
    db.exec("CREATE TABLE feelings (id int PRIMARY KEY, m mood, span interval, at timestamptz)")
        .await;
    db.exec(
        "CREATE TABLE loose (id int PRIMARY KEY, at timestamptz, day date, n numeric, small int2, local timestamp)",
    )
    .await;
    log_statements(&db, "feelings").await;
    log_statements(&db, "loose").await;
    let c = connector(db.config(json!([
        {"name": "feelings", "table": db.qualify("feelings")},
        {"name": "loose", "table": db.qualify("loose")}
    ])))
    .await;
    let report = c
        .write_records(
            "feelings",
            WriteMode::Insert,
            vec![record(
                json!({"id": 1, "m": "happy", "span": "1 day 02:00", "at": "2024-01-01T00:00:00Z"}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(report.ok_count(), 1, "{report:?}");
    let statements = logged(&db, "feelings").await;
    assert!(
        statements.len() == 1 && !is_binary(&statements[0]),
        "{statements:?}"
    );
    assert_eq!(
        read_all(c.as_ref(), ReadRequest::full("feelings")).await,
        vec![record(
            json!({"id": 1, "m": "happy", "span": "1 day 02:00:00", "at": "2024-01-01T00:00:00Z"})
        )]
    );

    // Values of the binary types in forms only the server's parser reads: the batch goes
    // in the text format and the server reads them as before.
    let plain = record(
        json!({"id": 1, "at": "2024-01-01T10:00:00Z", "day": "2024-01-05", "n": "12.5", "small": 1, "local": "2024-01-05T10:00:00"}),
    );
    let report = c
        .write_records("loose", WriteMode::Insert, vec![plain.clone()])
        .await
        .unwrap();
    assert_eq!(report.ok_count(), 1);
    assert!(logged(&db, "loose").await.iter().all(|q| is_binary(q)));
    for (id, field, value) in [
        (2, "at", json!("2024-01-01 10:00:00")), // no zone: the session's
        (3, "day", json!("Jan 5 2024")),
        (4, "n", json!(" 12.5 ")),
        (5, "at", json!("2024-01-01T10:00:00.1234567Z")),
        (6, "local", json!("2024-01-05T10:00:00+02:00")), // the zone is ignored
        (7, "n", json!("Infinity")),
        (8, "day", json!("today")),
    ] {
        let mut row = plain.clone();
        row.insert("id".into(), json!(id));
        row.insert(field.into(), value.clone());
        let report = c
            .write_records("loose", WriteMode::Insert, vec![row])
            .await
            .unwrap();
        assert_eq!(report.ok_count(), 1, "{value}: {report:?}");
        let statements = logged(&db, "loose").await;
        assert!(
            statements.len() == 1 && !is_binary(&statements[0]),
            "{value}: {statements:?}"
        );
    }
    let TestDb::Postgres { pool, .. } = &db else {
        unreachable!()
    };
    let (session_at, today): (String, String) =
        sqlx::query_as("SELECT '2024-01-01 10:00:00'::timestamptz::text, current_date::text")
            .fetch_one(pool)
            .await
            .unwrap();
    let rows = stored(&db, "loose", "id, at, day, n, local").await;
    assert_eq!(
        rows,
        [
            "(1,\"2024-01-01 10:00:00+00\",2024-01-05,12.5,\"2024-01-05 10:00:00\")".to_owned(),
            format!("(2,\"{session_at}\",2024-01-05,12.5,\"2024-01-05 10:00:00\")"),
            "(3,\"2024-01-01 10:00:00+00\",2024-01-05,12.5,\"2024-01-05 10:00:00\")".to_owned(),
            "(4,\"2024-01-01 10:00:00+00\",2024-01-05,12.5,\"2024-01-05 10:00:00\")".to_owned(),
            "(5,\"2024-01-01 10:00:00.123457+00\",2024-01-05,12.5,\"2024-01-05 10:00:00\")"
                .to_owned(),
            "(6,\"2024-01-01 10:00:00+00\",2024-01-05,12.5,\"2024-01-05 10:00:00\")".to_owned(),
            "(7,\"2024-01-01 10:00:00+00\",2024-01-05,Infinity,\"2024-01-05 10:00:00\")".to_owned(),
            format!("(8,\"2024-01-01 10:00:00+00\",{today},12.5,\"2024-01-05 10:00:00\")"),
        ]
        .join("\n")
    );
    // An integer out of the column's range: the server refuses it, with its own reason.
    let mut row = plain.clone();
    row.insert("id".into(), json!(9));
    row.insert("small".into(), json!(40000));
    let report = c
        .write_records("loose", WriteMode::Insert, vec![row])
        .await
        .unwrap();
    match &report.outcomes[0] {
        RecordOutcome::Rejected { kind, reason } => {
            assert_eq!(*kind, ErrorKind::Data);
            assert!(
                reason.contains("out of range for type smallint"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
    db.drop_all().await;
}

#[tokio::test]
async fn a_bad_value_in_a_binary_batch_is_rejected_alone_with_its_reason() {
    let db = TestDb::postgres().await;
    db.exec(
        "CREATE TABLE scores (id int PRIMARY KEY, score int4 NOT NULL CHECK (score >= 0), \
         amount numeric(6,2), at timestamptz, uid uuid, blob bytea)",
    )
    .await;
    log_statements(&db, "scores").await;
    let mut config = db.config(json!([{"name": "scores", "table": db.qualify("scores")}]));
    config["checkpoint_table"] = json!(db.qualify("grimos_checkpoints"));
    let c = connector(config).await;
    let batch = || {
        let mut rows: Vec<_> = (0..500)
            .map(|i| {
                record(json!({"id": i, "score": i, "amount": format!("{i}.25"),
                    "at": "2024-01-01T00:00:00Z", "uid": "0190f1b4-6d34-7c43-a0b4-3d1b5c6a7e8f",
                    "blob": "AAE="}))
            })
            .collect();
        rows[10].insert("score".into(), json!("many"));
        rows[20].insert("score".into(), json!(-1));
        rows[30].insert("amount".into(), json!("12345.678"));
        rows[40].insert("uid".into(), json!("not-a-uuid"));
        rows[50].insert("blob".into(), json!("%%%"));
        rows[60].insert("at".into(), Value::Null);
        rows[60].insert("score".into(), Value::Null);
        rows
    };
    let expected = [
        (10, "expected integer"),
        (20, "check constraint"),
        (30, "numeric field overflow"),
        (40, "expected uuid"),
        (50, "bytes must be base64"),
        (60, "must not be null"),
    ];
    for (mode, with_checkpoint) in [
        (WriteMode::Insert, false),
        (WriteMode::Insert, true),
        (WriteMode::Upsert, false),
        (WriteMode::Upsert, true),
    ] {
        db.exec("TRUNCATE scores").await;
        let report = if with_checkpoint {
            common::write_with_checkpoint(
                c.as_ref(),
                "scores",
                mode,
                batch(),
                common::target_checkpoint("flow", 499),
            )
            .await
            .unwrap()
        } else {
            c.write_records("scores", mode, batch()).await.unwrap()
        };
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
            expected.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            "{mode} {with_checkpoint}: {rejected:?}"
        );
        for ((_, reason), (_, wanted)) in rejected.iter().zip(expected) {
            assert!(reason.contains(wanted), "{mode}: {reason} ({wanted})");
        }
        assert_eq!(rejected[0].1, "field `score`: expected integer, got string");
        assert_eq!(db.count("scores").await, 494, "{mode} {with_checkpoint}");
        if with_checkpoint {
            assert_eq!(
                c.load_checkpoint("flow").await.unwrap(),
                Some(common::target_checkpoint("flow", 499).checkpoint)
            );
        }
        let statements = logged(&db, "scores").await;
        if mode == WriteMode::Insert {
            assert!(
                statements.iter().all(|q| is_binary(q)),
                "{mode}: {statements:?}"
            );
        }
    }
    db.drop_all().await;
}

#[tokio::test]
async fn checkpoint_writes_stay_atomic_with_binary_copy() {
    let db = TestDb::postgres().await;
    db.exec(
        "CREATE TABLE items (id int PRIMARY KEY, label text NOT NULL, qty int CHECK (qty > 0))",
    )
    .await;
    let mut config = db.config(json!([{"name": "items", "table": db.qualify("items")}]));
    config["checkpoint_table"] = json!(db.qualify("grimos_checkpoints"));
    let c = connector(config).await;
    let items = |ids: std::ops::Range<i64>| -> Vec<_> {
        ids.map(|i| record(json!({"id": i, "label": format!("item {i}"), "qty": i + 1})))
            .collect()
    };
    // Clean batches, each with its checkpoint.
    let report = common::write_with_checkpoint(
        c.as_ref(),
        "items",
        WriteMode::Insert,
        items(0..100),
        common::target_checkpoint("flow", 1),
    )
    .await
    .unwrap();
    assert_eq!(report.ok_count(), 100);
    let report = common::write_with_checkpoint(
        c.as_ref(),
        "items",
        WriteMode::Update,
        vec![
            record(json!({"id": 5, "qty": 50})),
            record(json!({"id": 500, "qty": 1})),
        ],
        common::target_checkpoint("flow", 2),
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
    assert_eq!(
        c.load_checkpoint("flow").await.unwrap(),
        Some(common::target_checkpoint("flow", 2).checkpoint)
    );
    // An upsert hitting a constraint: the row at fault is rejected, the rest and the
    // checkpoint commit together.
    let mut batch = items(90..110);
    batch[3].insert("qty".into(), json!(0));
    let report = common::write_with_checkpoint(
        c.as_ref(),
        "items",
        WriteMode::Upsert,
        batch,
        common::target_checkpoint("flow", 3),
    )
    .await
    .unwrap();
    assert_eq!(report.ok_count(), 19, "{report:?}");
    match &report.outcomes[3] {
        RecordOutcome::Rejected { kind, reason } => {
            assert_eq!(*kind, ErrorKind::Data);
            assert!(reason.contains("check constraint"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(db.count("items").await, 110);
    assert_eq!(
        c.load_checkpoint("flow").await.unwrap(),
        Some(common::target_checkpoint("flow", 3).checkpoint)
    );
    // Every row refused: nothing but the checkpoint commits.
    let report = common::write_with_checkpoint(
        c.as_ref(),
        "items",
        WriteMode::Insert,
        items(0..3),
        common::target_checkpoint("flow", 4),
    )
    .await
    .unwrap();
    assert_eq!(report.rejected_count(), 3);
    assert_eq!(db.count("items").await, 110);
    assert_eq!(
        c.load_checkpoint("flow").await.unwrap(),
        Some(common::target_checkpoint("flow", 4).checkpoint)
    );
    // The checkpoint cannot be stored: the rows roll back with it.
    db.exec("DROP TABLE grimos_checkpoints").await;
    common::write_with_checkpoint(
        c.as_ref(),
        "items",
        WriteMode::Insert,
        items(200..210),
        common::target_checkpoint("flow", 5),
    )
    .await
    .unwrap_err();
    assert_eq!(db.count("items").await, 110);
    db.drop_all().await;
}

/// A batch of typed Arrow columns writes as its JSON records do: a null in a required
/// column rejected alone, constraint violations isolated at the write, the checkpoint
/// committed with the rows.
#[tokio::test]
async fn typed_batches_write_as_their_records_do() {
    use connector_sdk::arrow_array::{ArrayRef, Int32Array, Int64Array, RecordBatch, StringArray};
    use connector_sdk::arrow_schema::{DataType, Field, Schema};
    use connector_sdk::{Batch, Connector as _, WriteRequest};
    use std::sync::Arc;

    let db = TestDb::postgres().await;
    db.exec(
        "CREATE TABLE items (id int PRIMARY KEY, label text NOT NULL, qty int CHECK (qty > 0))",
    )
    .await;
    let mut config = db.config(json!([{"name": "items", "table": db.qualify("items")}]));
    config["checkpoint_table"] = json!(db.qualify("grimos_checkpoints"));
    let c = connector(config).await;
    let ids: Vec<i32> = (0..50).collect();
    let labels: Vec<Option<String>> = (0..50)
        .map(|i| (i != 7).then(|| format!("item {i}")))
        .collect();
    let quantities: Vec<Option<i64>> = (0..50)
        .map(|i| match i {
            9 => Some(0),
            11 => None,
            i => Some(i + 1),
        })
        .collect();
    let schema = Schema::new(vec![
        Field::new("id", DataType::Int32, false),
        Field::new("label", DataType::Utf8, true),
        Field::new("qty", DataType::Int64, true),
    ]);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int32Array::from(ids)),
        Arc::new(StringArray::from(labels)),
        Arc::new(Int64Array::from(quantities)),
    ];
    let batch = Batch::new(RecordBatch::try_new(Arc::new(schema), columns).unwrap());
    let typed = c
        .write(
            WriteRequest::new("items", WriteMode::Insert, batch.clone())
                .with_checkpoint(common::target_checkpoint("flow", 1)),
        )
        .await
        .unwrap();
    assert_eq!(typed.outcomes.len(), 50);
    assert_eq!(typed.ok_count(), 48, "{typed:?}");
    match (&typed.outcomes[7], &typed.outcomes[9]) {
        (
            RecordOutcome::Rejected { reason: null, .. },
            RecordOutcome::Rejected { reason: check, .. },
        ) => {
            assert_eq!(null, "field `label` must not be null");
            assert!(check.contains("check constraint"), "{check}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(db.count("items").await, 48);
    assert_eq!(
        c.load_checkpoint("flow").await.unwrap(),
        Some(common::target_checkpoint("flow", 1).checkpoint)
    );
    let typed_rows = stored(&db, "items", "id, label, qty").await;
    db.exec("TRUNCATE items").await;
    let from_records = c
        .write_records("items", WriteMode::Insert, batch.to_records())
        .await
        .unwrap();
    assert_eq!(typed, from_records);
    assert_eq!(stored(&db, "items", "id, label, qty").await, typed_rows);
    db.drop_all().await;
}
