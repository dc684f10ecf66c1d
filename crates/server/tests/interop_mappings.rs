//! Mappings: stored only when they compile, validated against source and target schemas,
//! previewed on sample records; on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{ADMIN_TOKEN, TestApp, problem};

on_both_backends!(mappings_compile_validate_and_preview);

async fn mappings_compile_validate_and_preview(app: &TestApp) {
    let rules = json!([
        {"target": "customer_id", "source": "id", "cast": "int"},
        {"target": "email", "source": "email", "transform": ["trim", "lower"]},
        {"target": "country", "source": "address.country", "default": "US"},
    ]);
    let created = app
        .post_json(
            "/api/v1/interop/mappings",
            ADMIN_TOKEN,
            json!({
                "name": "customers",
                "rules": rules,
                "source_schema": {"type": "object", "properties": {
                    "id": {"type": "string"}, "email": {"type": "string"},
                    "address": {"type": "object", "properties": {"country": {"type": "string"}}}
                }},
                "target_schema": {"type": "object", "required": ["customer_id", "email", "name"], "properties": {
                    "customer_id": {"type": "integer"}, "email": {"type": "string", "maxLength": 200},
                    "country": {"type": "string"}, "name": {"type": "string"}
                }}
            }),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let location = created.headers()["location"].to_str().unwrap().to_owned();

    // Validation names the unmapped required target field.
    let report: Value = app
        .request(
            Method::POST,
            &format!("{location}/validate"),
            Some(ADMIN_TOKEN),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["valid"], false, "{report}");
    assert!(
        report["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|error| error["message"].as_str().unwrap().contains("name")),
        "{report}"
    );

    // A mapping that does not compile is refused with the rule index in the path.
    let broken = app
        .post_json(
            "/api/v1/interop/mappings",
            ADMIN_TOKEN,
            json!({"name": "broken", "rules": [
                {"target": "a", "source": "a"},
                {"target": "b", "source": "b", "cast": "integer-ish"}
            ]}),
        )
        .await;
    let body = problem(broken, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(
        body["errors"][0]["path"]
            .as_str()
            .unwrap()
            .starts_with("/rules/1"),
        "{body}"
    );
    let bad_expression = app
        .post_json(
            "/api/v1/interop/mappings",
            ADMIN_TOKEN,
            json!({"name": "bad-expr", "rules": [{"target": "a", "expr": "record.x +"}]}),
        )
        .await;
    let body = problem(bad_expression, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["errors"][0]["path"], "/rules/0/expr", "{body}");

    // Preview shows outputs and per-record errors without stopping.
    let preview: Value = app
        .post_json(
            "/api/v1/interop/mappings/preview",
            ADMIN_TOKEN,
            json!({"rules": rules, "records": [
                {"id": "7", "email": "  Ada@Example.COM ", "address": {"country": "GB"}},
                {"id": "seven", "email": "x@y.z"}
            ]}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        preview["outputs"][0]["output"],
        json!({"customer_id": 7, "email": "ada@example.com", "country": "GB"})
    );
    assert!(preview["outputs"][1]["output"].is_null());
    assert_eq!(preview["outputs"][1]["errors"][0]["rule"], 0, "{preview}");

    // Edits are versioned.
    let updated = app
        .request(Method::PUT, &location, Some(ADMIN_TOKEN))
        .header("if-match", "\"1\"")
        .json(&json!({"name": "customers", "rules": rules}))
        .send()
        .await
        .unwrap();
    assert_eq!(updated.headers()["etag"], "\"2\"");
    let stale = app
        .request(Method::PUT, &location, Some(ADMIN_TOKEN))
        .header("if-match", "\"1\"")
        .json(&json!({"name": "customers", "rules": rules}))
        .send()
        .await
        .unwrap();
    problem(stale, StatusCode::PRECONDITION_FAILED).await;
    let unknown_connector = app
        .post_json(
            "/api/v1/interop/mappings",
            ADMIN_TOKEN,
            json!({"name": "x", "rules": rules, "source": {"connector": "nope", "stream": "s"}}),
        )
        .await;
    assert_eq!(
        problem(unknown_connector, StatusCode::UNPROCESSABLE_ENTITY).await["errors"][0]["path"],
        "/source/connector"
    );
}
