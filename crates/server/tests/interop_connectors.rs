//! The connector API of the Interoperability Engine, on SQLite and on PostgreSQL, with a
//! REST connector pointing at an HTTP server run by the test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use axum::Router;
use axum::routing::get;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{ADMIN_TOKEN, TestApp, problem};

on_both_backends!(
    connectors_are_created_tested_edited_and_deleted,
    secret_fields_refuse_literal_values,
    connector_lists_filter_and_paginate,
);

/// A tiny API the REST connector can talk to: `/items` needs `Bearer upstream-token`.
async fn upstream() -> String {
    let app = Router::new().route(
        "/items",
        get(|headers: axum::http::HeaderMap| async move {
            let authorized = headers
                .get("authorization")
                .and_then(|value| value.to_str().ok())
                .is_some_and(|value| value == "Bearer upstream-token");
            if authorized {
                (
                    StatusCode::OK,
                    axum::Json(json!({"data": [{"id": 1, "name": "a"}]})),
                )
            } else {
                (
                    StatusCode::UNAUTHORIZED,
                    axum::Json(json!({"error": "bad token"})),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}")
}

fn rest_config(base_url: &str, token_reference: &str) -> Value {
    json!({
        "type": "rest",
        "base_url": base_url,
        "allow_insecure_http": true,
        "auth": {"type": "bearer", "token": token_reference},
        "streams": [{"name": "items", "path": "/items", "records": "$.data", "primary_key": ["id"]}]
    })
}

async fn set_secret(app: &TestApp, name: &str, value: &str) {
    let response = app
        .request(
            Method::PUT,
            &format!("/api/v1/secrets/{name}"),
            Some(ADMIN_TOKEN),
        )
        .json(&json!({"value": value}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
}

async fn connectors_are_created_tested_edited_and_deleted(app: &TestApp) {
    let types: Value = app
        .get("/api/v1/interop/connector-types", ADMIN_TOKEN)
        .await
        .json()
        .await
        .unwrap();
    let rest = types["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["type"] == "rest")
        .unwrap();
    assert!(rest["spec"]["properties"]["base_url"].is_object());

    let base_url = upstream().await;
    set_secret(app, "crm-token", "upstream-token").await;
    let created = app
        .post_json(
            "/api/v1/interop/connectors",
            ADMIN_TOKEN,
            json!({"name": "crm", "type": "rest", "config": rest_config(&base_url, "local:crm-token")}),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(created.headers()["etag"], "\"1\"");
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let connector: Value = created.json().await.unwrap();
    assert_eq!(connector["type"], "rest");
    assert!(connector["last_test"].is_null());
    assert!(
        connector["warnings"][0]
            .as_str()
            .unwrap()
            .contains("allow_insecure_http")
    );

    // Test: passes with the right secret.
    let test: Value = app
        .request(Method::POST, &format!("{location}/test"), Some(ADMIN_TOKEN))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(test["ok"], true, "{test}");
    let after: Value = app.get(&location, ADMIN_TOKEN).await.json().await.unwrap();
    assert_eq!(after["last_test"]["ok"], true);

    // The schema comes from the connector's discovery.
    let schema: Value = app
        .get(&format!("{location}/schema"), ADMIN_TOKEN)
        .await
        .json()
        .await
        .unwrap();
    assert!(schema.to_string().contains("items"), "{schema}");

    // Rotate the secret to a wrong value: the next test fails, without a restart, and the
    // error names no secret.
    set_secret(app, "crm-token", "wrong-token-value").await;
    let failing: Value = app
        .request(Method::POST, &format!("{location}/test"), Some(ADMIN_TOKEN))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(failing["ok"], false);
    assert_eq!(failing["error_kind"], "auth", "{failing}");
    assert!(!failing.to_string().contains("wrong-token-value"));

    // Edit with If-Match; a stale edit is refused.
    let mut config = rest_config(&base_url, "local:crm-token");
    config["headers"] = json!({"Accept": "application/json"});
    let updated = app
        .request(Method::PUT, &location, Some(ADMIN_TOKEN))
        .header("if-match", "\"1\"")
        .json(&json!({"name": "crm-api", "config": config}))
        .send()
        .await
        .unwrap();
    assert_eq!(updated.status(), StatusCode::OK);
    assert_eq!(updated.headers()["etag"], "\"2\"");
    let stale = app
        .request(Method::PUT, &location, Some(ADMIN_TOKEN))
        .header("if-match", "\"1\"")
        .json(&json!({"name": "crm-old", "config": config}))
        .send()
        .await
        .unwrap();
    problem(stale, StatusCode::PRECONDITION_FAILED).await;

    // Viewers read but cannot change or test.
    let viewer = app.token_with_role("viewer").await;
    assert_eq!(app.get(&location, &viewer).await.status(), StatusCode::OK);
    let forbidden = app
        .request(Method::POST, &format!("{location}/test"), Some(&viewer))
        .send()
        .await
        .unwrap();
    problem(forbidden, StatusCode::FORBIDDEN).await;

    let deleted = app
        .request(Method::DELETE, &location, Some(ADMIN_TOKEN))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    problem(app.get(&location, ADMIN_TOKEN).await, StatusCode::NOT_FOUND).await;
}

async fn secret_fields_refuse_literal_values(app: &TestApp) {
    let response = app
        .post_json(
            "/api/v1/interop/connectors",
            ADMIN_TOKEN,
            json!({"name": "leaky", "type": "rest", "config": rest_config("http://127.0.0.1:9", "plain-secret-value")}),
        )
        .await;
    let body = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    let paths: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|error| error["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"/config/auth/token"), "{body}");
    assert!(
        body.to_string().contains("/api/v1/secrets"),
        "points to the secrets API: {body}"
    );
    assert!(!body.to_string().contains("plain-secret-value"));

    let unknown_type = app
        .post_json(
            "/api/v1/interop/connectors",
            ADMIN_TOKEN,
            json!({"name": "x", "type": "ftp", "config": {}}),
        )
        .await;
    assert_eq!(
        problem(unknown_type, StatusCode::UNPROCESSABLE_ENTITY).await["errors"][0]["path"],
        "/type"
    );

    let bad_config = app
        .post_json(
            "/api/v1/interop/connectors",
            ADMIN_TOKEN,
            json!({"name": "x", "type": "rest", "config": {"type": "rest", "base_url": 42}}),
        )
        .await;
    let body = problem(bad_config, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(
        body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|error| error["path"] == "/config/base_url"),
        "{body}"
    );

    let list: Value = app
        .get("/api/v1/interop/connectors", ADMIN_TOKEN)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        list["items"].as_array().unwrap().is_empty(),
        "nothing was stored"
    );
}

async fn connector_lists_filter_and_paginate(app: &TestApp) {
    for name in ["Billing API", "billing-sync", "Warehouse"] {
        let response = app
            .post_json(
                "/api/v1/interop/connectors",
                ADMIN_TOKEN,
                json!({"name": name, "type": "rest", "config": rest_config("https://example.invalid", "env:TOKEN")}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let found: Value = app
        .get("/api/v1/interop/connectors?q=billing", ADMIN_TOKEN)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["items"].as_array().unwrap().len(), 2);
    let by_type: Value = app
        .get("/api/v1/interop/connectors?type=sql", ADMIN_TOKEN)
        .await
        .json()
        .await
        .unwrap();
    assert!(by_type["items"].as_array().unwrap().is_empty());
    let first: Value = app
        .get("/api/v1/interop/connectors?limit=2", ADMIN_TOKEN)
        .await
        .json()
        .await
        .unwrap();
    let cursor = first["next_cursor"].as_str().unwrap();
    let second: Value = app
        .get(
            &format!("/api/v1/interop/connectors?limit=2&cursor={cursor}"),
            ADMIN_TOKEN,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert!(second["next_cursor"].is_null());
    let duplicate = app
        .post_json(
            "/api/v1/interop/connectors",
            ADMIN_TOKEN,
            json!({"name": "Warehouse", "type": "rest", "config": rest_config("https://example.invalid", "env:TOKEN")}),
        )
        .await;
    assert_eq!(
        problem(duplicate, StatusCode::CONFLICT).await["code"],
        "name_taken"
    );
}
