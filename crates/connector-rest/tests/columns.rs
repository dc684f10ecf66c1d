#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Pages decoded into Arrow columns: typed by the stream's declared schema when it has one,
//! with the same records in the JSON view as without it.

mod common;

use common::{build, config, profile, read_all, spawn};
use connector_sdk::arrow_schema::{DataType, TimeUnit};
use connector_sdk::batch::is_json;
use connector_sdk::{ErrorKind, FieldType, ReadBatch, ReadRequest, Record};
use serde_json::{Value, json};

fn stream(schema: Option<Value>) -> Value {
    let mut stream = json!({
        "name": "profiles", "path": "/profiles", "params": {"limit": 4}, "records": "$.data",
        "primary_key": ["id"],
        "paginator": {"type": "cursor", "cursor_path": "$.next_cursor", "param": "cursor"},
        "incremental": {"cursor_field": "updated_at", "param": "updated_since"}
    });
    if let Some(schema) = schema {
        stream["schema"] = schema;
    }
    json!([stream])
}

fn declared(extra_fields: &str) -> Value {
    json!({"extra_fields": extra_fields, "fields": [
        {"name": "id", "type": {"type": "integer"}, "nullable": false},
        {"name": "name", "type": {"type": "string"}},
        {"name": "updated_at", "type": {"type": "timestamp_tz"}},
        {"name": "score", "type": {"type": "number"}},
        {"name": "balance", "type": {"type": "decimal", "precision": 12, "scale": 2}},
        {"name": "address", "type": {"type": "object", "fields": [
            {"name": "street", "type": {"type": "string"}, "nullable": false},
            {"name": "city", "type": {"type": "string"}, "nullable": false}]}}
    ]})
}

async fn read(base: &str, schema: Option<Value>, batch_size: usize) -> Vec<ReadBatch> {
    let connector = build(config(base, stream(schema))).await;
    read_all(
        connector.as_ref(),
        ReadRequest::full("profiles").with_batch_size(batch_size),
    )
    .await
    .unwrap()
}

fn column_type(batch: &ReadBatch, name: &str) -> (DataType, bool) {
    let (field, _) = batch
        .batch
        .column(name)
        .unwrap_or_else(|| panic!("no column {name}"));
    (field.data_type().clone(), is_json(field))
}

fn records(batches: &[ReadBatch]) -> Vec<Record> {
    batches.iter().flat_map(ReadBatch::records).collect()
}

#[tokio::test]
async fn declared_fields_read_as_typed_columns_holding_the_same_records() {
    let (server, base) = spawn(9).await;
    // Pages of 4 records, batches of 3: pages are cut into 3 + 1.
    let inferred = read(&base, None, 3).await;
    let typed = read(&base, Some(declared("keep")), 3).await;
    assert_eq!(
        typed.iter().map(|b| b.batch.len()).collect::<Vec<_>>(),
        vec![3, 1, 3, 1, 1]
    );
    let expected: Vec<Record> = server
        .customers
        .lock()
        .unwrap()
        .values()
        .map(|c| profile(c).as_object().unwrap().clone())
        .collect();
    assert_eq!(records(&typed), expected);
    for (typed, inferred) in typed.iter().zip(&inferred) {
        assert_eq!(typed.records(), inferred.records());
        assert_eq!(typed.checkpoint, inferred.checkpoint);
    }

    let first = &typed[0];
    assert_eq!(column_type(first, "id"), (DataType::Int64, false));
    assert_eq!(
        column_type(first, "updated_at"),
        (
            DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())),
            false
        )
    );
    assert_eq!(column_type(first, "score"), (DataType::Float64, false));
    assert_eq!(
        column_type(first, "balance"),
        (DataType::Decimal128(12, 2), false)
    );
    assert_eq!(column_type(first, "address"), (DataType::Utf8, true));
    // Fields the schema does not declare are kept, typed from their values.
    assert_eq!(column_type(first, "email"), (DataType::Utf8, false));
    assert_eq!(column_type(first, "note"), (DataType::Utf8, true));
    let names: Vec<String> = first
        .batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(
        names,
        [
            "id",
            "name",
            "updated_at",
            "score",
            "balance",
            "address",
            "email",
            "note"
        ]
    );
    // Without a schema the same page is inferred: no decimal, no timestamp.
    assert_eq!(
        column_type(&inferred[0], "balance"),
        (DataType::Utf8, false)
    );
    assert_eq!(
        column_type(&inferred[0], "updated_at"),
        (DataType::Utf8, false)
    );
}

#[tokio::test]
async fn a_value_that_does_not_fit_its_type_reads_as_received() {
    let (server, base) = spawn(8).await;
    {
        let mut customers = server.customers.lock().unwrap();
        // Page 2 (ids 5..=8): an offset instead of `Z`, and a text id.
        customers.get_mut(&6).unwrap()["updated_at"] = json!("2024-01-06T01:00:00+01:00");
        customers.get_mut(&7).unwrap()["id"] = json!("seven");
    }
    let inferred = read(&base, None, 10).await;
    let typed = read(&base, Some(declared("keep")), 10).await;
    assert_eq!(records(&typed), records(&inferred));
    assert_eq!(records(&typed)[6]["id"], json!("seven"));
    assert_eq!(
        column_type(&typed[0], "updated_at").0,
        DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())),
        "page 1 fits"
    );
    assert_eq!(
        column_type(&typed[1], "updated_at"),
        (DataType::Utf8, false)
    );
    assert_eq!(column_type(&typed[1], "id"), (DataType::Utf8, true));
    assert_eq!(
        column_type(&typed[1], "balance"),
        (DataType::Decimal128(12, 2), false)
    );
}

#[tokio::test]
async fn extra_fields_can_be_dropped_or_refused() {
    let (_server, base) = spawn(5).await;
    let dropped = read(&base, Some(declared("drop")), 10).await;
    let first = dropped[0].records()[0].clone();
    let mut names: Vec<&str> = first.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["address", "balance", "id", "name", "score", "updated_at"]
    );
    assert!(records(&dropped).iter().all(|r| !r.contains_key("note")));

    let connector = build(config(&base, stream(Some(declared("reject"))))).await;
    let err = read_all(connector.as_ref(), ReadRequest::full("profiles"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Data);
    assert!(
        err.detail().contains("page 1") && err.detail().contains("`email`"),
        "{err}"
    );
}

#[tokio::test]
async fn discover_reports_the_declared_fields_and_the_kept_extra_ones() {
    let (_server, base) = spawn(3).await;
    let connector = build(config(&base, stream(Some(declared("keep"))))).await;
    let catalog = connector.discover().await.unwrap();
    let profiles = catalog.stream("profiles").unwrap();
    assert_eq!(
        profiles.field("balance").unwrap().field_type,
        FieldType::decimal(12, 2)
    );
    assert!(!profiles.field("id").unwrap().nullable);
    assert_eq!(
        profiles.field("email").unwrap().field_type,
        FieldType::String
    );

    let connector = build(config(&base, stream(Some(declared("drop"))))).await;
    let catalog = connector.discover().await.unwrap();
    let names: Vec<&str> = catalog.streams[0]
        .fields
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(
        names,
        ["id", "name", "updated_at", "score", "balance", "address"]
    );
}

#[tokio::test]
async fn a_body_the_one_pass_read_cannot_follow_is_read_through_the_json_tree() {
    let (_server, base) = spawn(5).await;
    // `/0` indexes the bare array each page is: only the tree follows a pointer into an array.
    let connector = build(config(
        &base,
        json!([{"name": "firsts", "path": "/link", "records": "/0",
                "paginator": {"type": "link_header"}}]),
    ))
    .await;
    let batches = read_all(connector.as_ref(), ReadRequest::full("firsts"))
        .await
        .unwrap();
    assert_eq!(common::ids(&batches), vec![1, 3, 5]);
}
