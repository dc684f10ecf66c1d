//! The embedded secret store's API, on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{ADMIN_TOKEN, TestApp, problem};

on_both_backends!(secrets_are_write_only_and_admin_only);

async fn secrets_are_write_only_and_admin_only(app: &TestApp) {
    let value = "db-password-9f8e7d6c";
    let put = |value: &str| {
        app.request(
            Method::PUT,
            "/api/v1/secrets/warehouse%2Fpassword",
            Some(ADMIN_TOKEN),
        )
        .json(&json!({"value": value}))
        .send()
    };
    let created = put(value).await.unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let body_text = created.text().await.unwrap();
    assert!(!body_text.contains(value));
    let body: Value = serde_json::from_str(&body_text).unwrap();
    assert_eq!(body["reference"], "local:warehouse/password");
    assert_eq!(body["version"], 1);

    let replaced = put("another-value-1234").await.unwrap();
    assert_eq!(replaced.status(), StatusCode::OK);
    assert_eq!(replaced.json::<Value>().await.unwrap()["version"], 2);

    let fetched = app
        .get("/api/v1/secrets/warehouse%2Fpassword", ADMIN_TOKEN)
        .await
        .text()
        .await
        .unwrap();
    let listed = app
        .get("/api/v1/secrets", ADMIN_TOKEN)
        .await
        .text()
        .await
        .unwrap();
    for text in [&fetched, &listed] {
        assert!(
            !text.contains(value) && !text.contains("another-value-1234"),
            "value leaked: {text}"
        );
        assert!(text.contains("warehouse/password"));
    }

    let operator = app.token_with_role("operator").await;
    let forbidden = app
        .request(Method::PUT, "/api/v1/secrets/x", Some(&operator))
        .json(&json!({"value": "v"}))
        .send()
        .await
        .unwrap();
    problem(forbidden, StatusCode::FORBIDDEN).await;
    problem(
        app.get("/api/v1/secrets", &operator).await,
        StatusCode::FORBIDDEN,
    )
    .await;

    let bad_name = app
        .request(Method::PUT, "/api/v1/secrets/bad%20name", Some(ADMIN_TOKEN))
        .json(&json!({"value": "v"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(bad_name, StatusCode::UNPROCESSABLE_ENTITY).await["errors"][0]["path"],
        "/name"
    );
    let empty = app
        .request(Method::PUT, "/api/v1/secrets/empty", Some(ADMIN_TOKEN))
        .json(&json!({"value": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(empty, StatusCode::UNPROCESSABLE_ENTITY).await["errors"][0]["path"],
        "/value"
    );
    let unknown_field = app
        .request(Method::PUT, "/api/v1/secrets/x", Some(ADMIN_TOKEN))
        .json(&json!({"value": "v", "plaintext": true}))
        .send()
        .await
        .unwrap();
    problem(unknown_field, StatusCode::UNPROCESSABLE_ENTITY).await;

    let deleted = app
        .request(
            Method::DELETE,
            "/api/v1/secrets/warehouse%2Fpassword",
            Some(ADMIN_TOKEN),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = app
        .get("/api/v1/secrets/warehouse%2Fpassword", ADMIN_TOKEN)
        .await;
    assert_eq!(
        problem(gone, StatusCode::NOT_FOUND).await["code"],
        "secret_not_found"
    );
}
