#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Retries and failures: 429 with Retry-After, 5xx, malformed JSON, 4xx not retried.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use common::{build, config, ids, read_all, spawn};
use connector_sdk::{ErrorKind, ReadRequest};
use serde_json::{Value, json};

fn stream() -> Value {
    json!([{"name": "customers", "path": "/customers", "records": "$.data", "params": {"limit": 2},
            "paginator": {"type": "cursor", "cursor_path": "$.next_cursor", "param": "cursor"}}])
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out_and_the_page_retried() {
    let (server, base) = spawn(5).await;
    let connector = build(config(&base, stream())).await;
    let mut batches = connector
        .read(ReadRequest::full("customers"))
        .await
        .unwrap();
    use futures::StreamExt;
    let first = batches.next().await.unwrap().unwrap();
    // Page 2 is refused once with Retry-After: 1 (a real second).
    server.faults.lock().unwrap().push_back((429, Some(1)));
    let mut rest = Vec::new();
    while let Some(batch) = batches.next().await {
        rest.push(batch.unwrap());
    }
    let mut all = vec![first];
    all.extend(rest);
    assert_eq!(
        ids(&all),
        vec![1, 2, 3, 4, 5],
        "page 2 retried, not the stream restarted"
    );
    assert_eq!(server.data_requests.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn a_retry_after_longer_than_the_retry_budget_is_returned_with_its_wait() {
    let (server, base) = spawn(5).await;
    let mut cfg = config(&base, stream());
    cfg["retry"]["max_elapsed_seconds"] = json!(10);
    let connector = build(cfg).await;
    server.faults.lock().unwrap().push_back((429, Some(3600)));
    let err = read_all(connector.as_ref(), ReadRequest::full("customers"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited, "{err}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3600)));
    assert_eq!(
        server.data_requests.load(Ordering::SeqCst),
        1,
        "no pointless retry inside the budget"
    );
}

#[tokio::test]
async fn server_errors_are_retried_then_the_read_completes() {
    let (server, base) = spawn(5).await;
    let connector = build(config(&base, stream())).await;
    server
        .faults
        .lock()
        .unwrap()
        .extend([(503, None), (500, None), (502, None)]);
    let batches = read_all(connector.as_ref(), ReadRequest::full("customers"))
        .await
        .unwrap();
    assert_eq!(ids(&batches), vec![1, 2, 3, 4, 5]);
    assert_eq!(server.data_requests.load(Ordering::SeqCst), 6);
}

#[tokio::test]
async fn server_errors_outlasting_the_retries_fail_as_transient() {
    let (server, base) = spawn(5).await;
    let connector = build(config(&base, stream())).await;
    server.faults.lock().unwrap().extend([(500, None); 4]);
    let err = read_all(connector.as_ref(), ReadRequest::full("customers"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert!(
        err.detail().contains("page 1") && err.detail().contains("500"),
        "{err}"
    );
    assert_eq!(
        server.data_requests.load(Ordering::SeqCst),
        4,
        "max_attempts"
    );
}

#[tokio::test]
async fn a_4xx_is_not_retried() {
    let (server, base) = spawn(5).await;
    let connector = build(config(&base, stream())).await;
    server
        .faults
        .lock()
        .unwrap()
        .extend([(404, None), (400, None)]);
    let err = read_all(connector.as_ref(), ReadRequest::full("customers"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(server.data_requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn malformed_json_is_a_data_error_naming_the_page() {
    let (server, base) = spawn(0).await;
    let connector = build(config(
        &base,
        json!([{"name": "b", "path": "/bad-json", "records": "$.data",
        "paginator": {"type": "cursor", "cursor_path": "$.next_cursor", "param": "cursor"}}]),
    ))
    .await;
    let mut stream = connector.read(ReadRequest::full("b")).await.unwrap();
    use futures::StreamExt;
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first.batch.len(), 1, "page 1 is delivered");
    let err = stream.next().await.unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Data, "{err}");
    assert!(
        err.detail().contains("page 2 of stream `b`") && err.detail().contains("not valid JSON"),
        "{err}"
    );
    assert!(
        stream.next().await.is_none(),
        "the stream ends after the error"
    );
    assert_eq!(
        server.data_requests.load(Ordering::SeqCst),
        2,
        "bad data is not retried"
    );
}

#[tokio::test]
async fn an_unreachable_server_is_a_transient_check_failure() {
    let (_server, base) = spawn(0).await;
    // A port nobody listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let mut cfg = config(&dead, stream());
    cfg["retry"]["max_attempts"] = json!(2);
    let connector = build(cfg).await;
    let report = connector.check().await;
    let err = report.error.expect("the check fails");
    assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
    assert!(!err.detail().is_empty());
    let _ = base;
}
