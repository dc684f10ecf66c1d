//! The end-of-run webhook against a real HTTP server started in the test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use flow_engine::{NotifyPayload, NotifySpec, notify};
use hmac::{Hmac, Mac};
use sha2::Sha256;

type Received = Arc<Mutex<Vec<(Option<String>, Bytes)>>>;

async fn hook(State(received): State<Received>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let signature = headers
        .get("x-grimos-signature")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    received.lock().unwrap().push((signature, body));
    StatusCode::OK
}

async fn start_hook() -> (String, Received) {
    let received: Received = Arc::default();
    let app = Router::new()
        .route("/webhook/flow-done", post(hook))
        .route(
            "/webhook/broken",
            post(|| async { StatusCode::INTERNAL_SERVER_ERROR }),
        )
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, received)
}

fn payload(status: &str) -> NotifyPayload {
    NotifyPayload {
        flow: "orders".into(),
        run_id: Some("run-1".into()),
        status: status.into(),
        records_read: 10,
        records_written: 9,
        records_rejected: 1,
        error: None,
        started_at: "2024-03-10T07:30:00.000Z".into(),
        finished_at: "2024-03-10T07:30:02.000Z".into(),
    }
}

#[tokio::test]
async fn a_signed_notification_carries_the_run_summary() {
    let (base, received) = start_hook().await;
    let spec = NotifySpec {
        url: format!("{base}/webhook/flow-done"),
        secret: Some("local:hook".into()),
        on: vec![],
    };
    notify(
        &spec,
        &payload("succeeded"),
        &common::TestSecrets,
        &egress::EgressPolicy::default(),
    )
    .await
    .unwrap();
    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    let (signature, body) = &received[0];
    // `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, t close to now.
    let signature = signature.as_deref().expect("a signature header");
    let (t, v1) = signature
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(",v1="))
        .unwrap_or_else(|| panic!("t=...,v1=... form: {signature}"));
    let t: i64 = t.parse().unwrap();
    assert!((chrono::Utc::now().timestamp() - t).abs() <= 5, "{t}");
    let mut mac = Hmac::<Sha256>::new_from_slice(b"hook-secret").unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(v1, expected);
    let json: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(json["flow"], "orders");
    assert_eq!(json["run_id"], "run-1");
    assert_eq!(json["status"], "succeeded");
    assert_eq!(json["records_rejected"], 1);
    assert!(json["error"].is_null());
}

#[tokio::test]
async fn statuses_not_listed_are_not_sent_and_failures_are_errors() {
    let (base, received) = start_hook().await;
    let spec = NotifySpec {
        url: format!("{base}/webhook/flow-done"),
        secret: None,
        on: vec!["failed".into()],
    };
    notify(
        &spec,
        &payload("succeeded"),
        &common::TestSecrets,
        &egress::EgressPolicy::default(),
    )
    .await
    .unwrap();
    assert!(received.lock().unwrap().is_empty());
    notify(
        &spec,
        &payload("failed"),
        &common::TestSecrets,
        &egress::EgressPolicy::default(),
    )
    .await
    .unwrap();
    assert_eq!(received.lock().unwrap().len(), 1);
    assert_eq!(
        received.lock().unwrap()[0].0,
        None,
        "no secret, no signature"
    );

    let broken = NotifySpec {
        url: format!("{base}/webhook/broken?token=abc"),
        secret: None,
        on: vec![],
    };
    let error = notify(
        &broken,
        &payload("failed"),
        &common::TestSecrets,
        &egress::EgressPolicy::default(),
    )
    .await
    .unwrap_err();
    assert!(error.message().contains("500"), "{error}");
    assert!(
        !error.message().contains("abc"),
        "the query string is not logged: {error}"
    );
    let missing_secret = NotifySpec {
        url: format!("{base}/webhook/flow-done"),
        secret: Some("local:nope".into()),
        on: vec![],
    };
    let error = notify(
        &missing_secret,
        &payload("failed"),
        &common::TestSecrets,
        &egress::EgressPolicy::default(),
    )
    .await
    .unwrap_err();
    assert!(error.message().contains("local:nope"), "{error}");
}
