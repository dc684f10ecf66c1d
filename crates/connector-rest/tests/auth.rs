#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Each auth method against a server that requires it; refused and expiring credentials.

mod common;

use std::sync::atomic::Ordering;

use common::{AuthMode, CLIENT_ID, TOKEN, USER, build, config, ids, read_all, spawn};
use connector_sdk::{ConnectorExt, ErrorKind, ReadRequest, RecordOutcome, WriteMode};
use serde_json::{Value, json};

fn stream() -> Value {
    json!([{"name": "customers", "path": "/customers", "records": "$.data", "params": {"limit": 2},
            "paginator": {"type": "cursor", "cursor_path": "$.next_cursor", "param": "cursor"}}])
}

async fn reads_everything_with(mode: AuthMode, auth: Value) {
    let (server, base) = spawn(5).await;
    *server.auth.lock().unwrap() = Some(mode);
    let mut cfg = config(&base, stream());
    cfg["auth"] = auth;
    let connector = build(cfg).await;
    let batches = read_all(connector.as_ref(), ReadRequest::full("customers"))
        .await
        .unwrap();
    assert_eq!(ids(&batches), vec![1, 2, 3, 4, 5], "{mode:?}");
    assert!(connector.check().await.is_ok(), "{mode:?}");
}

#[tokio::test]
async fn bearer_token() {
    reads_everything_with(
        AuthMode::Bearer,
        json!({"type": "bearer", "token": "local:token"}),
    )
    .await;
}

#[tokio::test]
async fn api_key_in_a_header() {
    reads_everything_with(
        AuthMode::ApiKeyHeader,
        json!({"type": "api_key", "name": "X-Api-Key", "in": "header", "value": "local:api-key"}),
    )
    .await;
}

#[tokio::test]
async fn api_key_in_the_query() {
    reads_everything_with(
        AuthMode::ApiKeyQuery,
        json!({"type": "api_key", "name": "api_key", "in": "query", "value": "local:api-key"}),
    )
    .await;
}

#[tokio::test]
async fn basic_auth() {
    reads_everything_with(
        AuthMode::Basic,
        json!({"type": "basic", "username": USER, "password": "local:password"}),
    )
    .await;
}

#[tokio::test]
async fn oauth2_client_credentials() {
    let (server, base) = spawn(5).await;
    *server.auth.lock().unwrap() = Some(AuthMode::OAuth);
    let mut cfg = config(&base, stream());
    cfg["auth"] = json!({"type": "oauth2_client_credentials", "token_url": format!("{base}/oauth/token"),
                         "client_id": CLIENT_ID, "client_secret": "local:client-secret", "scopes": ["read"]});
    let connector = build(cfg).await;
    let batches = read_all(connector.as_ref(), ReadRequest::full("customers"))
        .await
        .unwrap();
    assert_eq!(ids(&batches), vec![1, 2, 3, 4, 5]);
    assert_eq!(
        server.token_requests.load(Ordering::SeqCst),
        1,
        "one token serves the whole read"
    );
}

#[tokio::test]
async fn an_oauth_token_expiring_mid_read_is_refreshed_and_the_read_completes() {
    let (server, base) = spawn(9).await;
    *server.auth.lock().unwrap() = Some(AuthMode::OAuth);
    // Each token is revoked by the server after 2 requests: a 9-record read in pages of 2
    // (5 pages) outlives two tokens.
    *server.oauth_token_uses.lock().unwrap() = 2;
    let mut cfg = config(&base, stream());
    cfg["auth"] = json!({"type": "oauth2_client_credentials", "token_url": format!("{base}/oauth/token"),
                         "client_id": CLIENT_ID, "client_secret": "local:client-secret"});
    let connector = build(cfg).await;
    let batches = read_all(connector.as_ref(), ReadRequest::full("customers"))
        .await
        .unwrap();
    assert_eq!(ids(&batches), (1..=9).collect::<Vec<_>>());
    assert_eq!(server.token_requests.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_wrong_token_is_an_auth_error_and_is_not_retried() {
    let (server, base) = spawn(5).await;
    *server.auth.lock().unwrap() = Some(AuthMode::Bearer);
    let mut cfg = config(&base, stream());
    cfg["auth"]["token"] = json!("local:wrong-token");
    let connector = build(cfg).await;
    let err = read_all(connector.as_ref(), ReadRequest::full("customers"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
    assert!(!err.to_string().contains("not-the-token"), "{err}");
    // The SDK's client tries once more with re-resolved credentials; the retry policy
    // (4 attempts here) does not retry an auth error.
    assert_eq!(server.data_requests.load(Ordering::SeqCst), 2);

    let report = connector.check().await;
    assert_eq!(report.error.map(|e| e.kind()), Some(ErrorKind::Auth));
}

#[tokio::test]
async fn credentials_echoed_by_the_server_never_reach_a_rejection_reason() {
    let (_server, base) = spawn(0).await;
    let cfg = config(
        &base,
        json!([{"name": "echo", "path": "/customers", "write": {"method": "POST", "path": "/echo"}}]),
    );
    let connector = build(cfg).await;
    let report = connector
        .write_records(
            "echo",
            WriteMode::Insert,
            vec![common::record(json!({"id": 1}))],
        )
        .await
        .unwrap();
    let RecordOutcome::Rejected { kind, reason } = &report.outcomes[0] else {
        panic!("{report:?}")
    };
    assert_eq!(*kind, ErrorKind::Data);
    assert!(
        reason.contains("400") && reason.contains("authorization=***"),
        "{reason}"
    );
    assert!(!reason.contains(TOKEN), "{reason}");
}
