//! The egress policy as an operator meets it: a connector may not make the server connect
//! to cloud metadata or link-local addresses, nor — with `egress.deny_private` — to
//! loopback or private addresses, named directly or through a host name; an allow list
//! opens a range again. The refusal is immediate and clear, and nothing reaches the
//! receiver.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::routing::get;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{ADMIN_TOKEN, Backend, Options, TestApp};

/// A receiver on loopback counting the requests it gets.
async fn receiver() -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = Router::new().route(
        "/items",
        get(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async { axum::Json(json!({"data": [{"id": 1}]})) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("{port}"), hits)
}

fn rest(base_url: &str) -> Value {
    json!({
        "type": "rest",
        "base_url": base_url,
        "allow_insecure_http": true,
        "streams": [{"name": "items", "path": "/items", "records": "$.data", "primary_key": ["id"]}]
    })
}

/// Create a connector pointing at `base_url` and press "Test connection".
async fn test_connection(app: &TestApp, name: &str, base_url: &str) -> Value {
    let response = app
        .post_json(
            "/api/v1/interop/connectors",
            ADMIN_TOKEN,
            json!({"name": name, "type": "rest", "config": rest(base_url)}),
        )
        .await;
    let status = response.status();
    let created: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap();
    let response = app
        .request(
            Method::POST,
            &format!("/api/v1/interop/connectors/{id}/test"),
            Some(ADMIN_TOKEN),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

fn assert_denied(result: &Value, rule_hint: &str) {
    assert_eq!(result["ok"], false, "{result}");
    assert_eq!(result["error_kind"], "permission", "{result}");
    let error = result["error"].as_str().unwrap();
    assert!(error.contains("egress denied"), "{error}");
    assert!(error.contains(rule_hint), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_and_link_local_addresses_are_refused_by_default() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    for (name, url, hint) in [
        ("metadata", "http://169.254.169.254/latest", "metadata"),
        ("link-local", "http://169.254.10.1/", "169.254.10.1"),
        ("mapped", "http://[::ffff:169.254.169.254]/", "metadata"),
        ("v6-link-local", "http://[fe80::1]/", "fe80::1"),
    ] {
        let started = std::time::Instant::now();
        let result = test_connection(&app, name, url).await;
        assert_denied(&result, hint);
        // Refused before any connection attempt, not after a connect timeout.
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{name}"
        );
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deny_private_refuses_loopback_by_address_and_by_name_until_allowed() {
    let (port, hits) = receiver().await;
    let denying = TestApp::spawn_with(
        Backend::Sqlite,
        Options {
            env: vec![("GRIMOS_EGRESS_DENY_PRIVATE", "true".to_owned())],
        },
    )
    .await;
    for (name, url) in [
        ("by-address", format!("http://127.0.0.1:{port}")),
        ("by-name", format!("http://localhost:{port}")),
    ] {
        let result = test_connection(&denying, name, &url).await;
        assert_eq!(result["ok"], false, "{result}");
        assert!(
            result["error"].as_str().unwrap().contains("egress denied"),
            "{result}"
        );
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the receiver was reached");
    denying.stop().await;

    let allowing = TestApp::spawn_with(
        Backend::Sqlite,
        Options {
            env: vec![
                ("GRIMOS_EGRESS_DENY_PRIVATE", "true".to_owned()),
                ("GRIMOS_EGRESS_ALLOW_FOR", "rest=127.0.0.0/8".to_owned()),
            ],
        },
    )
    .await;
    let result = test_connection(&allowing, "allowed", &format!("http://127.0.0.1:{port}")).await;
    assert_eq!(result["ok"], true, "{result}");
    assert!(hits.load(Ordering::SeqCst) > 0);
    allowing.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_egress_setting_stops_the_start() {
    let lookup = |name: &str| match name {
        "GRIMOS_EGRESS_ALLOW" => Some("10.0.0.0/99".to_owned()),
        _ => None,
    };
    let error = settings::load(&settings::Flags::default(), &lookup).unwrap_err();
    assert_eq!(error.setting, "egress.allow");
    assert!(error.message.contains("10.0.0.0/99"), "{}", error.message);
}
