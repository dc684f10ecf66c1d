#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! NDJSON and CSV bodies, by Content-Type and by configuration.

mod common;

use common::{build, config, ids, read_all, spawn};
use connector_sdk::{ErrorKind, ReadRequest};
use serde_json::json;

#[tokio::test]
async fn ndjson_pages_are_read_by_content_type() {
    let (_server, base) = spawn(5).await;
    let connector = build(config(
        &base,
        json!([{"name": "n", "path": "/ndjson",
        "paginator": {"type": "page_number", "page_size": 2}}]),
    ))
    .await;
    let batches = read_all(connector.as_ref(), ReadRequest::full("n"))
        .await
        .unwrap();
    assert_eq!(ids(&batches), vec![1, 2, 3, 4, 5]);
    assert_eq!(batches[0].records()[0]["email"], "c1@example.com");
}

#[tokio::test]
async fn csv_bodies_become_string_records() {
    let (_server, base) = spawn(3).await;
    for format in [None, Some("csv")] {
        let mut stream = json!({"name": "c", "path": "/csv"});
        if let Some(format) = format {
            stream["format"] = json!(format);
        }
        let connector = build(config(&base, json!([stream]))).await;
        let batches = read_all(connector.as_ref(), ReadRequest::full("c"))
            .await
            .unwrap();
        let records: Vec<_> = batches.iter().flat_map(|b| b.records()).collect();
        assert_eq!(records.len(), 3, "{format:?}");
        assert_eq!(records[2]["id"], "3");
        assert_eq!(records[0]["name"], "customer 1, Esq.");
    }
}

#[tokio::test]
async fn a_json_format_forced_on_a_csv_body_is_a_data_error() {
    let (_server, base) = spawn(3).await;
    let connector = build(config(
        &base,
        json!([{"name": "c", "path": "/csv", "format": "json"}]),
    ))
    .await;
    let err = read_all(connector.as_ref(), ReadRequest::full("c"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Data);
    assert!(err.detail().contains("page 1"), "{err}");
}
