#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The SDK's behaviour test kit, run unchanged against the REST connector and a real API.

mod common;

use common::{AuthMode, build, config, customer, record, spawn};
use connector_sdk::testkit::{self, Fixture};
use serde_json::{Value, json};

fn customers_stream() -> Value {
    json!([{
        "name": "customers",
        "path": "/customers",
        "params": {"limit": 3},
        "records": "$.data",
        "primary_key": ["id"],
        "paginator": {"type": "cursor", "cursor_path": "$.next_cursor", "param": "cursor"},
        "incremental": {"cursor_field": "updated_at", "param": "updated_since"},
        "write": {
            "method": "POST", "path": "/customers",
            "upsert": {"method": "PUT", "path": "/customers/{id}"},
            "update": {"method": "PATCH", "path": "/customers/{id}"},
            "delete": {"method": "DELETE", "path": "/customers/{id}"}
        }
    }])
}

#[tokio::test]
async fn the_sdk_test_kit_passes() {
    let (server, base) = spawn(7).await;
    *server.auth.lock().unwrap() = Some(AuthMode::Bearer);
    let good_config = config(&base, customers_stream());
    let good = build(good_config.clone()).await;
    let mut broken_config = good_config.clone();
    broken_config["auth"]["token"] = json!("local:wrong-token");
    let broken = build(broken_config).await;

    let fixture = Fixture::new(
        "customers",
        (1..=7).map(|id| record(customer(id))).collect(),
    )
    .with_primary_key(["id"])
    .with_cursor_field("updated_at")
    .with_write_records(vec![record(customer(20)), record(customer(21))])
    .with_bad_record(json!({"id": "not a number", "name": "bad"}))
    .with_config(good_config);
    testkit::run_all(good.as_ref(), broken.as_ref(), &fixture)
        .await
        .unwrap();
}

/// The same suite on a stream that declares its fields: reads decode into typed columns.
#[tokio::test]
async fn the_sdk_test_kit_passes_with_a_declared_schema() {
    let (server, base) = spawn(7).await;
    *server.auth.lock().unwrap() = Some(AuthMode::Bearer);
    let mut streams = customers_stream();
    streams[0]["schema"] = json!({"extra_fields": "reject", "fields": [
        {"name": "id", "type": {"type": "integer"}, "nullable": false},
        {"name": "name", "type": {"type": "string"}},
        {"name": "email", "type": {"type": "string"}},
        {"name": "updated_at", "type": {"type": "timestamp_tz"}}
    ]});
    let good_config = config(&base, streams);
    let good = build(good_config.clone()).await;
    let mut broken_config = good_config.clone();
    broken_config["auth"]["token"] = json!("local:wrong-token");
    let broken = build(broken_config).await;

    let fixture = Fixture::new(
        "customers",
        (1..=7).map(|id| record(customer(id))).collect(),
    )
    .with_primary_key(["id"])
    .with_cursor_field("updated_at")
    .with_write_records(vec![record(customer(20)), record(customer(21))])
    .with_bad_record(json!({"id": "not a number", "name": "bad"}))
    .with_config(good_config);
    testkit::run_all(good.as_ref(), broken.as_ref(), &fixture)
        .await
        .unwrap();
}
