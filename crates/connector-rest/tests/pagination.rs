#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Every pagination style, the stop conditions and the progress guard, against a real API.

mod common;

use std::sync::atomic::Ordering;

use common::{build, config, ids, read_all, spawn};
use connector_sdk::{ErrorKind, ReadRequest};
use serde_json::{Value, json};

async fn read_ids(base: &str, stream: Value) -> Vec<i64> {
    let connector = build(config(base, json!([stream]))).await;
    let batches = read_all(connector.as_ref(), ReadRequest::full("s"))
        .await
        .unwrap();
    ids(&batches)
}

#[tokio::test]
async fn each_pagination_style_reads_every_record_once() {
    let (server, base) = spawn(5).await;
    let all: Vec<i64> = (1..=5).collect();
    let cases = [
        (
            "cursor",
            json!({"name": "s", "path": "/customers", "records": "$.data", "params": {"limit": 2},
            "paginator": {"type": "cursor", "cursor_path": "$.next_cursor", "param": "cursor"}}),
        ),
        (
            "offset",
            json!({"name": "s", "path": "/offset", "records": "/items",
            "paginator": {"type": "offset", "limit": 2}}),
        ),
        (
            "page_number",
            json!({"name": "s", "path": "/pages", "records": "$.results",
            "paginator": {"type": "page_number", "param": "page", "start": 1, "page_size_param": "per_page", "page_size": 2}}),
        ),
        (
            "page_number until an empty page",
            json!({"name": "s", "path": "/pages", "records": "$.results",
            "params": {"per_page": 2}, "paginator": {"type": "page_number"}}),
        ),
        (
            "next_url",
            json!({"name": "s", "path": "/next-url", "records": "$.data",
            "paginator": {"type": "next_url", "path": "$.links.next"}}),
        ),
        (
            "link_header",
            json!({"name": "s", "path": "/link", "paginator": {"type": "link_header"}}),
        ),
    ];
    for (name, stream) in cases {
        server.data_requests.store(0, Ordering::SeqCst);
        assert_eq!(read_ids(&base, stream).await, all, "{name}");
        let requests = server.data_requests.load(Ordering::SeqCst);
        assert!(
            (3..=4).contains(&requests),
            "{name}: {requests} requests for 3 pages"
        );
    }
}

#[tokio::test]
async fn stop_conditions_end_the_read() {
    let (server, base) = spawn(5).await;
    // The total is reached on page 1 (a full page: the offset rule alone would ask again).
    let total = json!({"name": "s", "path": "/offset", "records": "/items",
        "paginator": {"type": "offset", "limit": 5}, "stop": {"total_path": "$.total"}});
    server.data_requests.store(0, Ordering::SeqCst);
    assert_eq!(read_ids(&base, total).await, vec![1, 2, 3, 4, 5]);
    assert_eq!(
        server.data_requests.load(Ordering::SeqCst),
        1,
        "the total was reached on page 1"
    );

    // has_more = false stops although a next cursor is given.
    let flag = json!({"name": "s", "path": "/customers", "records": "$.data", "params": {"limit": 2, "no_more": 1},
        "paginator": {"type": "cursor", "cursor_path": "$.next_cursor", "param": "cursor"},
        "stop": {"has_more_path": "$.has_more"}});
    assert_eq!(read_ids(&base, flag).await, vec![1, 2]);

    let capped_pages = json!({"name": "s", "path": "/pages", "records": "$.results",
        "paginator": {"type": "page_number", "page_size_param": "per_page", "page_size": 2},
        "stop": {"max_pages": 2}});
    assert_eq!(read_ids(&base, capped_pages).await, vec![1, 2, 3, 4]);

    let capped_records = json!({"name": "s", "path": "/pages", "records": "$.results",
        "paginator": {"type": "page_number", "page_size_param": "per_page", "page_size": 2},
        "stop": {"max_records": 3}});
    assert_eq!(read_ids(&base, capped_records).await, vec![1, 2, 3]);
}

#[tokio::test]
async fn a_repeated_cursor_stops_the_read_with_a_clear_error() {
    let (server, base) = spawn(0).await;
    let connector = build(config(
        &base,
        json!([{"name": "loop", "path": "/looping", "records": "$.data",
        "paginator": {"type": "cursor", "cursor_path": "$.next_cursor", "param": "cursor"}}]),
    ))
    .await;
    let err = read_all(connector.as_ref(), ReadRequest::full("loop"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Data, "{err}");
    assert_eq!(err.stream(), Some("loop"));
    let detail = err.detail();
    assert!(
        detail.contains("page 3") && detail.contains("cursor `1`") && detail.contains("page 1"),
        "{detail}"
    );
    assert_eq!(
        server.data_requests.load(Ordering::SeqCst),
        3,
        "the guard stopped at once, no retries"
    );
}

#[tokio::test]
async fn an_api_ignoring_the_page_parameter_is_stopped_by_the_content_guard() {
    let (_server, base) = spawn(0).await;
    let stream = json!({"name": "s", "path": "/ignores-page", "records": "$.results",
        "paginator": {"type": "page_number"}});
    let connector = build(config(&base, json!([stream.clone()]))).await;
    let err = read_all(connector.as_ref(), ReadRequest::full("s"))
        .await
        .unwrap_err();
    assert!(
        err.detail()
            .contains("page 2 returned the same records as page 1"),
        "{err}"
    );

    // With the guard off, only a cap ends it.
    let mut unguarded = stream;
    unguarded["stop"] = json!({"progress_guard": false, "max_pages": 4});
    assert_eq!(
        read_ids(&base, unguarded).await,
        vec![1, 2, 1, 2, 1, 2, 1, 2]
    );
}

#[tokio::test]
async fn a_post_search_paginates_through_its_body_template() {
    let (server, base) = spawn(5).await;
    let stream = json!({"name": "s", "path": "/search", "method": "POST", "records": "$.hits.items",
        "body": {"query": {"match_all": {}}, "limit": 2, "cursor": "{cursor}"},
        "paginator": {"type": "cursor", "cursor_path": "$.next"}});
    assert_eq!(read_ids(&base, stream).await, vec![1, 2, 3, 4, 5]);
    let bodies = server.bodies.lock().unwrap().clone();
    assert_eq!(bodies.len(), 3);
    assert_eq!(
        bodies[0],
        json!({"query": {"match_all": {}}, "limit": 2}),
        "no cursor on the first page"
    );
    assert_eq!(bodies[1]["cursor"], "2");
}

#[tokio::test]
async fn pages_larger_than_the_batch_size_are_split() {
    let (_server, base) = spawn(5).await;
    let connector = build(config(
        &base,
        json!([{"name": "s", "path": "/offset", "records": "/items",
        "paginator": {"type": "offset", "limit": 5}}]),
    ))
    .await;
    let batches = read_all(
        connector.as_ref(),
        ReadRequest::full("s").with_batch_size(2),
    )
    .await
    .unwrap();
    let sizes: Vec<usize> = batches.iter().map(|b| b.batch.len()).collect();
    assert_eq!(sizes, vec![2, 2, 1]);
    assert_eq!(ids(&batches), vec![1, 2, 3, 4, 5]);
}
