//! The API answers as its OpenAPI document says: the document served is the one
//! `grimos openapi` prints, it documents what the extractors answer (415 on JSON bodies,
//! the `If-Match` form, page bounds), creates link to what they created, and a
//! configuration mistake is the caller's 4xx, not an outage. (The whole contract is checked
//! by Schemathesis against a running server in `scripts/api-contract.sh`.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{ADMIN_TOKEN, Backend, TestApp, problem};

async fn document(app: &TestApp) -> Value {
    app.get("/api/openapi.json", ADMIN_TOKEN)
        .await
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_document_is_the_one_grimos_openapi_prints() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let served = document(&app).await;
    let printed = serde_json::to_value(server::openapi_document()).unwrap();
    assert_eq!(served, printed);

    // Links from each create to what it created, in the OpenAPI spelling.
    let created = &served["paths"]["/api/v1/interop/connectors"]["post"]["responses"]["201"];
    for (name, operation) in [
        ("GetConnector", "get_connector"),
        ("UpdateConnector", "update_connector"),
        ("DeleteConnector", "delete_connector"),
    ] {
        let link = &created["links"][name];
        assert_eq!(link["operationId"], operation, "{created}");
        assert_eq!(link["parameters"]["id"], "$response.body#/id");
        assert!(link.get("operation_id").is_none(), "{link}");
    }
    for (path, method) in [
        ("/api/v1/users", "post"),
        ("/api/v1/tokens", "post"),
        ("/api/v1/secret-grants", "post"),
        ("/api/v1/interop/mappings", "post"),
        ("/api/v1/interop/flows", "post"),
    ] {
        let links = &served["paths"][path][method]["responses"]["201"]["links"];
        assert!(
            links.as_object().is_some_and(|links| links.len() >= 2),
            "{method} {path}: {links}"
        );
    }

    // 415 where a JSON body is read, not elsewhere; the page bounds and the If-Match form.
    let users = &served["paths"]["/api/v1/users"];
    assert!(users["post"]["responses"]["415"].is_object());
    assert!(users["get"]["responses"]["415"].is_null());
    assert!(users["get"]["responses"]["413"].is_null());
    let limit = users["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|parameter| parameter["name"] == "limit")
        .unwrap();
    assert_eq!(limit["schema"]["minimum"], 1);
    assert_eq!(limit["schema"]["maximum"], 500);
    let if_match = served["paths"]["/api/v1/users/{id}"]["patch"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|parameter| parameter["name"] == "If-Match")
        .unwrap();
    assert_eq!(if_match["schema"]["pattern"], api::etag::IF_MATCH_PATTERN);
    assert_eq!(if_match["schema"]["type"], "string");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_refused_as_the_document_says() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    // Not JSON: 415, as documented for every JSON body.
    let response = app
        .request(Method::POST, "/api/v1/users", Some(ADMIN_TOKEN))
        .body("name=x")
        .send()
        .await
        .unwrap();
    let body = problem(response, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    assert_eq!(body["code"], "unsupported_media_type");

    // JSON, but not an object: serde would read the struct from the array's items.
    let body = problem(
        app.post_json("/api/v1/users", ADMIN_TOKEN, json!(["eve", null, "admin"]))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(body["errors"][0]["path"], "/");
    let (eve, _) = app.user_with_token("eve", "viewer").await;
    for body in [json!([null, "operator", true]), json!({"role": "operator"})] {
        let response = app
            .request(
                Method::PATCH,
                &format!("/api/v1/users/{eve}"),
                Some(ADMIN_TOKEN),
            )
            .header("If-Match", "W/\"0\"")
            .json(&body)
            .send()
            .await
            .unwrap();
        // The array is refused before the version is looked at; the object reaches it.
        let expected = if body.is_array() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::PRECONDITION_FAILED
        };
        assert_eq!(response.status(), expected, "{body}");
    }

    // If-Match: what the pattern allows is read, anything else is a 400.
    for (value, expected) in [
        ("\"1\"", StatusCode::OK),
        ("W/\"2\"", StatusCode::OK),
        ("3", StatusCode::OK),
        ("*", StatusCode::OK),
        ("\"9\"", StatusCode::PRECONDITION_FAILED),
        ("\"+4\"", StatusCode::BAD_REQUEST),
        ("null", StatusCode::BAD_REQUEST),
        ("\"1234567890123456789\"", StatusCode::BAD_REQUEST),
    ] {
        let response = app
            .request(
                Method::PATCH,
                &format!("/api/v1/users/{eve}"),
                Some(ADMIN_TOKEN),
            )
            .header("If-Match", value)
            .json(&json!({"disabled": false}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), expected, "If-Match: {value}");
    }

    // Page bounds.
    for (query, expected) in [
        ("limit=1", StatusCode::OK),
        ("limit=500", StatusCode::OK),
        ("limit=0", StatusCode::UNPROCESSABLE_ENTITY),
        ("limit=501", StatusCode::UNPROCESSABLE_ENTITY),
        ("cursor=", StatusCode::OK),
        ("cursor=not-ours", StatusCode::BAD_REQUEST),
    ] {
        let response = app
            .get(&format!("/api/v1/users?{query}"), ADMIN_TOKEN)
            .await;
        assert_eq!(response.status(), expected, "{query}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_reference_outside_the_allowed_places_is_a_configuration_mistake() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    // An admin may use every reference it is allowed to write; where `file:` may read is
    // the server's configuration (no directory here), so this reference cannot resolve.
    let config = json!({
        "type": "rest",
        "base_url": "http://127.0.0.1:9",
        "allow_insecure_http": true,
        "auth": {"type": "bearer", "token": "file:/etc/hostname"},
        "streams": [{"name": "items", "path": "/items", "records": "$.data", "primary_key": ["id"]}]
    });
    let response = app
        .post_json(
            "/api/v1/interop/connectors",
            ADMIN_TOKEN,
            json!({"name": "outside", "type": "rest", "config": config}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let id = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let response = app
        .get(
            &format!("/api/v1/interop/connectors/{id}/schema"),
            ADMIN_TOKEN,
        )
        .await;
    let body = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["code"], "connector_config", "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("/etc/hostname"),
        "{body}"
    );

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
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["ok"], false, "{body}");
    assert_eq!(body["error_kind"], "config", "{body}");
    app.stop().await;
}
