//! The HTTP API conventions and the identity endpoints, over HTTP, on SQLite and on
//! PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::HashSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{ADMIN_TOKEN, TestApp, problem};

on_both_backends!(
    whoami_names_the_caller_and_rejects_missing_or_bad_credentials,
    tokens_are_shown_once_scoped_by_role_and_revocable,
    an_expired_token_stops_working,
    users_are_versioned_with_etags_and_guarded_by_if_match,
    the_last_admin_cannot_be_removed,
    bad_input_gets_clear_problems_and_changes_nothing,
    lists_are_cursor_paginated,
    request_ids_are_echoed_and_errors_carry_them,
    health_endpoints_report_readiness,
    metrics_are_exposed_in_prometheus_format,
    the_openapi_document_describes_every_route,
);

async fn whoami_names_the_caller_and_rejects_missing_or_bad_credentials(app: &TestApp) {
    let response = app.get("/api/v1/auth/whoami", ADMIN_TOKEN).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["role"], "admin");
    assert_eq!(body["kind"], "api_token");
    assert_eq!(body["user"]["name"], "admin");

    let missing = app
        .request(Method::GET, "/api/v1/auth/whoami", None)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.headers()["www-authenticate"], "Bearer");
    assert_eq!(
        problem(missing, StatusCode::UNAUTHORIZED).await["code"],
        "unauthenticated"
    );

    let unknown = app
        .get(
            "/api/v1/auth/whoami",
            "grm_not-a-real-token-0000000000000000000000",
        )
        .await;
    assert_eq!(
        problem(unknown, StatusCode::UNAUTHORIZED).await["code"],
        "invalid_token"
    );

    let wrong_scheme = app
        .request(Method::GET, "/api/v1/auth/whoami", None)
        .header("authorization", format!("Basic {ADMIN_TOKEN}"))
        .send()
        .await
        .unwrap();
    problem(wrong_scheme, StatusCode::UNAUTHORIZED).await;

    let jwt_without_oidc = app
        .get("/api/v1/auth/whoami", "eyJhbGciOiJSUzI1NiJ9.e30.sig")
        .await;
    problem(jwt_without_oidc, StatusCode::UNAUTHORIZED).await;
}

async fn tokens_are_shown_once_scoped_by_role_and_revocable(app: &TestApp) {
    let created = app
        .post_json(
            "/api/v1/tokens",
            ADMIN_TOKEN,
            json!({"name": "ci reader", "role": "viewer"}),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = created.json().await.unwrap();
    let value = created["token"].as_str().unwrap().to_owned();
    assert!(value.starts_with("grm_"));
    assert_eq!(created["role"], "viewer");
    assert_eq!(created["prefix"].as_str().unwrap(), &value[..12]);
    assert_eq!(
        location,
        format!("/api/v1/tokens/{}", created["id"].as_str().unwrap())
    );

    // The value is never shown again, nor its hash.
    let fetched = app.get(&location, ADMIN_TOKEN).await.text().await.unwrap();
    let listed = app
        .get("/api/v1/tokens", ADMIN_TOKEN)
        .await
        .text()
        .await
        .unwrap();
    for text in [&fetched, &listed] {
        assert!(!text.contains(&value), "token value leaked: {text}");
        assert!(!text.contains("hash"), "token hash leaked: {text}");
    }
    // ... and it is stored only hashed.
    let stored = stored_token_hashes(&app.database).await.unwrap();
    assert!(
        stored
            .iter()
            .all(|hash| hash.len() == 64 && !hash.contains(&value[4..]))
    );

    // A viewer reads but cannot manage users or mint stronger tokens.
    let whoami: Value = app
        .get("/api/v1/auth/whoami", &value)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(whoami["role"], "viewer");
    let users = app.get("/api/v1/users", &value).await;
    assert_eq!(
        problem(users, StatusCode::FORBIDDEN).await["code"],
        "forbidden"
    );
    let escalate = app
        .post_json(
            "/api/v1/tokens",
            &value,
            json!({"name": "more", "role": "operator"}),
        )
        .await;
    assert_eq!(
        problem(escalate, StatusCode::FORBIDDEN).await["code"],
        "role_exceeds_caller"
    );
    let own = app
        .post_json(
            "/api/v1/tokens",
            &value,
            json!({"name": "same", "role": "viewer"}),
        )
        .await;
    assert_eq!(own.status(), StatusCode::CREATED);

    // An operator's token for a viewer user cannot exceed the user's role.
    let (viewer_id, viewer_token) = app.user_with_token("vera", "viewer").await;
    let too_strong = app
        .post_json(
            "/api/v1/tokens",
            ADMIN_TOKEN,
            json!({"name": "x", "role": "admin", "user_id": viewer_id}),
        )
        .await;
    let body = problem(too_strong, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["errors"][0]["path"], "/role");
    // Vera cannot see the admin's tokens.
    let admin_token_id = created["id"].as_str().unwrap();
    let hidden = app
        .get(&format!("/api/v1/tokens/{admin_token_id}"), &viewer_token)
        .await;
    problem(hidden, StatusCode::NOT_FOUND).await;
    let vera_list: Value = app
        .get("/api/v1/tokens", &viewer_token)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        vera_list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|token| token["user_id"] == viewer_id.as_str())
    );

    // Revocation takes effect at once.
    let revoked = app
        .request(Method::DELETE, &location, Some(ADMIN_TOKEN))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    let after = app.get("/api/v1/auth/whoami", &value).await;
    problem(after, StatusCode::UNAUTHORIZED).await;
    // A revoked token is gone for reads by id; the list keeps it, with `revoked_at`.
    problem(app.get(&location, ADMIN_TOKEN).await, StatusCode::NOT_FOUND).await;
    let id = location.rsplit('/').next().unwrap().to_owned();
    let listed: Value = app
        .get("/api/v1/tokens?limit=500", ADMIN_TOKEN)
        .await
        .json()
        .await
        .unwrap();
    let revoked_token = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|token| token["id"] == id.as_str())
        .expect("a revoked token stays in the list");
    assert!(revoked_token["revoked_at"].is_string());
}

async fn an_expired_token_stops_working(app: &TestApp) {
    // Long enough to be used once on a loaded machine, short enough to wait out.
    let expires_at = chrono::Utc::now() + chrono::Duration::seconds(4);
    let created: Value = app
        .post_json(
            "/api/v1/tokens",
            ADMIN_TOKEN,
            json!({"name": "short", "role": "viewer", "expires_at": expires_at}),
        )
        .await
        .json()
        .await
        .unwrap();
    let value = created["token"].as_str().unwrap();
    assert_eq!(
        app.get("/api/v1/auth/whoami", value).await.status(),
        StatusCode::OK
    );
    let until_expiry = (expires_at - chrono::Utc::now())
        .to_std()
        .unwrap_or_default();
    tokio::time::sleep(until_expiry + std::time::Duration::from_millis(200)).await;
    problem(
        app.get("/api/v1/auth/whoami", value).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;

    let past = app
        .post_json(
            "/api/v1/tokens",
            ADMIN_TOKEN,
            json!({"name": "past", "role": "viewer", "expires_at": "2020-01-01T00:00:00Z"}),
        )
        .await;
    let body = problem(past, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["errors"][0]["path"], "/expires_at");
}

async fn users_are_versioned_with_etags_and_guarded_by_if_match(app: &TestApp) {
    let created = app
        .post_json(
            "/api/v1/users",
            ADMIN_TOKEN,
            json!({"name": "olga", "role": "operator", "email": "olga@example.com"}),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(created.headers()["etag"], "\"1\"");
    let location = created.headers()["location"].to_str().unwrap().to_owned();

    let duplicate = app
        .post_json(
            "/api/v1/users",
            ADMIN_TOKEN,
            json!({"name": "olga", "role": "viewer"}),
        )
        .await;
    assert_eq!(
        problem(duplicate, StatusCode::CONFLICT).await["code"],
        "name_taken"
    );

    let fetched = app.get(&location, ADMIN_TOKEN).await;
    assert_eq!(fetched.headers()["etag"], "\"1\"");

    let updated = app
        .request(Method::PATCH, &location, Some(ADMIN_TOKEN))
        .header("if-match", "\"1\"")
        .json(&json!({"role": "viewer", "email": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(updated.status(), StatusCode::OK);
    assert_eq!(updated.headers()["etag"], "\"2\"");
    let body: Value = updated.json().await.unwrap();
    assert_eq!(body["role"], "viewer");
    assert!(body["email"].is_null());
    assert_eq!(body["version"], 2);

    // A second editor still holding version 1 is refused, and nothing changes.
    let stale = app
        .request(Method::PATCH, &location, Some(ADMIN_TOKEN))
        .header("if-match", "\"1\"")
        .json(&json!({"role": "admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(stale, StatusCode::PRECONDITION_FAILED).await["code"],
        "precondition_failed"
    );
    let current: Value = app.get(&location, ADMIN_TOKEN).await.json().await.unwrap();
    assert_eq!(current["role"], "viewer");

    let garbage_etag = app
        .request(Method::PATCH, &location, Some(ADMIN_TOKEN))
        .header("if-match", "version-two")
        .json(&json!({"role": "admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(garbage_etag, StatusCode::BAD_REQUEST).await["code"],
        "invalid_if_match"
    );

    let deleted = app
        .request(Method::DELETE, &location, Some(ADMIN_TOKEN))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    problem(app.get(&location, ADMIN_TOKEN).await, StatusCode::NOT_FOUND).await;
}

async fn the_last_admin_cannot_be_removed(app: &TestApp) {
    let whoami: Value = app
        .get("/api/v1/auth/whoami", ADMIN_TOKEN)
        .await
        .json()
        .await
        .unwrap();
    let admin_id = whoami["user_id"].as_str().unwrap();
    let path = format!("/api/v1/users/{admin_id}");
    let demote = app
        .request(Method::PATCH, &path, Some(ADMIN_TOKEN))
        .json(&json!({"role": "viewer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(demote, StatusCode::CONFLICT).await["code"],
        "last_admin"
    );
    let delete = app
        .request(Method::DELETE, &path, Some(ADMIN_TOKEN))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(delete, StatusCode::CONFLICT).await["code"],
        "last_admin"
    );
    assert_eq!(
        app.get("/api/v1/auth/whoami", ADMIN_TOKEN).await.status(),
        StatusCode::OK
    );
}

async fn bad_input_gets_clear_problems_and_changes_nothing(app: &TestApp) {
    let send_raw = |body: &'static str, content_type: &'static str| {
        app.request(Method::POST, "/api/v1/users", Some(ADMIN_TOKEN))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let malformed = send_raw("{\"name\": \"x\", ", "application/json")
        .await
        .unwrap();
    let body = problem(malformed, StatusCode::BAD_REQUEST).await;
    assert_eq!(body["code"], "malformed_json");
    assert!(body["detail"].as_str().unwrap().contains("line 1"));

    let cases = [
        (json!({"name": 42, "role": "viewer"}), "/name"),
        (json!({"name": "x", "role": "root"}), "/role"),
        (json!({"name": "x"}), "/role"),
        (
            json!({"name": "x", "role": "viewer", "is_admin": true}),
            "/is_admin",
        ),
        (json!({"name": "has space", "role": "viewer"}), "/name"),
        (
            json!({"name": "ok", "role": "viewer", "email": "nope"}),
            "/email",
        ),
    ];
    for (body, path) in cases {
        let response = app
            .post_json("/api/v1/users", ADMIN_TOKEN, body.clone())
            .await;
        let problem_body = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(problem_body["code"], "validation_failed", "{body}");
        assert_eq!(
            problem_body["errors"][0]["path"], path,
            "{body}: {problem_body}"
        );
    }

    let wrong_type = send_raw("{\"name\": \"x\", \"role\": \"viewer\"}", "text/plain")
        .await
        .unwrap();
    assert_eq!(
        problem(wrong_type, StatusCode::UNSUPPORTED_MEDIA_TYPE).await["code"],
        "unsupported_media_type"
    );

    let huge = json!({"name": "x".repeat(70_000), "role": "viewer"});
    let too_large = app.post_json("/api/v1/users", ADMIN_TOKEN, huge).await;
    assert_eq!(
        problem(too_large, StatusCode::PAYLOAD_TOO_LARGE).await["code"],
        "payload_too_large"
    );

    let wrong_method = app
        .request(Method::PUT, "/api/v1/auth/whoami", Some(ADMIN_TOKEN))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(wrong_method, StatusCode::METHOD_NOT_ALLOWED).await["code"],
        "method_not_allowed"
    );

    // None of the rejected requests created a user.
    let users: Value = app
        .get("/api/v1/users", ADMIN_TOKEN)
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|user| user["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["admin"]);
}

async fn lists_are_cursor_paginated(app: &TestApp) {
    for index in 0..5 {
        let response = app
            .post_json(
                "/api/v1/users",
                ADMIN_TOKEN,
                json!({"name": format!("user{index}"), "role": "viewer"}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/api/v1/users?limit=2&cursor={cursor}"),
            None => "/api/v1/users?limit=2".to_owned(),
        };
        let page: Value = app.get(&path, ADMIN_TOKEN).await.json().await.unwrap();
        pages += 1;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(
            items
                .iter()
                .map(|user| user["name"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 6);
    assert_eq!(
        seen.iter().collect::<HashSet<_>>().len(),
        6,
        "no duplicates across pages"
    );
    assert_eq!(seen[0], "admin");

    let bad_cursor = app.get("/api/v1/users?cursor=not-ours", ADMIN_TOKEN).await;
    assert_eq!(
        problem(bad_cursor, StatusCode::BAD_REQUEST).await["code"],
        "invalid_cursor"
    );
    let bad_limit = app.get("/api/v1/users?limit=0", ADMIN_TOKEN).await;
    assert_eq!(
        problem(bad_limit, StatusCode::UNPROCESSABLE_ENTITY).await["errors"][0]["path"],
        "/limit"
    );
    let not_a_number = app.get("/api/v1/users?limit=many", ADMIN_TOKEN).await;
    assert_eq!(
        problem(not_a_number, StatusCode::UNPROCESSABLE_ENTITY).await["errors"][0]["path"],
        "/limit"
    );
    let unknown_param = app.get("/api/v1/users?sort=name", ADMIN_TOKEN).await;
    problem(unknown_param, StatusCode::UNPROCESSABLE_ENTITY).await;
}

async fn request_ids_are_echoed_and_errors_carry_them(app: &TestApp) {
    let response = app
        .request(Method::GET, "/api/v1/auth/whoami", Some(ADMIN_TOKEN))
        .header("x-request-id", "client-chosen-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "client-chosen-42");

    let unsafe_id = app
        .request(Method::GET, "/livez", None)
        .header("x-request-id", "two words")
        .send()
        .await
        .unwrap();
    let replaced = unsafe_id.headers()["x-request-id"].to_str().unwrap();
    assert_ne!(replaced, "two words");
    assert_eq!(replaced.len(), 36);

    let failing = app
        .request(Method::GET, "/api/v1/does-not-exist", None)
        .header("x-request-id", "trace-me")
        .send()
        .await
        .unwrap();
    assert_eq!(failing.headers()["x-request-id"], "trace-me");
    let body = problem(failing, StatusCode::NOT_FOUND).await;
    assert_eq!(body["request_id"], "trace-me");
    assert_eq!(body["code"], "route_not_found");
    assert_eq!(body["trace_id"].as_str().unwrap().len(), 32);
}

async fn health_endpoints_report_readiness(app: &TestApp) {
    let live: Value = app
        .request(Method::GET, "/livez", None)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(live["status"], "ok");
    let ready = app
        .request(Method::GET, "/readyz", None)
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["database"]["status"], "ok");
    assert_eq!(ready["migrations"]["status"], "ok");

    // Losing the database makes the server not ready, with the reason.
    app.database.close().await;
    let not_ready = app
        .request(Method::GET, "/readyz", None)
        .send()
        .await
        .unwrap();
    assert_eq!(not_ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = not_ready.json().await.unwrap();
    assert_eq!(body["status"], "not_ready");
    assert_eq!(body["database"]["status"], "failed");
    assert!(
        body["database"]["reason"]
            .as_str()
            .unwrap()
            .contains("database")
    );
    // Liveness does not depend on the database.
    assert_eq!(
        app.request(Method::GET, "/livez", None)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

async fn metrics_are_exposed_in_prometheus_format(app: &TestApp) {
    for _ in 0..3 {
        app.get("/api/v1/auth/whoami", ADMIN_TOKEN).await;
    }
    app.request(Method::GET, "/api/v1/auth/whoami", None)
        .send()
        .await
        .unwrap();
    let response = app
        .request(Method::GET, "/metrics", None)
        .send()
        .await
        .unwrap();
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    let has_line = |prefix: &str| text.lines().any(|line| line.starts_with(prefix));
    assert!(
        text.contains("# TYPE http_server_request_duration_seconds histogram"),
        "{text}"
    );
    for expected in [
        "http_server_request_duration_seconds_bucket{http_request_method=\"GET\",http_route=\"/api/v1/auth/whoami\",http_response_status_code=\"200\",le=\"0.005\"}",
        "http_server_request_duration_seconds_count{http_request_method=\"GET\",http_route=\"/api/v1/auth/whoami\",http_response_status_code=\"401\"}",
        "http_server_active_requests",
        "db_client_connection_count{",
        "db_client_connection_max{",
        "db_client_connection_wait_time_seconds_bucket",
        "grimos_build_info{",
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
    ] {
        assert!(
            has_line(expected),
            "missing metric line starting with {expected}"
        );
    }
    let count_line = text
        .lines()
        .find(|line| line.starts_with("http_server_request_duration_seconds_count{http_request_method=\"GET\",http_route=\"/api/v1/auth/whoami\",http_response_status_code=\"200\"}"))
        .unwrap();
    let count: u64 = count_line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(count >= 3, "{count_line}");
}

async fn the_openapi_document_describes_every_route(app: &TestApp) {
    let document: Value = app
        .request(Method::GET, "/api/openapi.json", None)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    let expected = [
        ("/api/v1/auth/whoami", vec!["get"]),
        ("/api/v1/users", vec!["get", "post"]),
        ("/api/v1/users/{id}", vec!["get", "patch", "delete"]),
        ("/api/v1/tokens", vec!["get", "post"]),
        ("/api/v1/tokens/{id}", vec!["get", "delete"]),
        ("/livez", vec!["get"]),
        ("/readyz", vec!["get"]),
        ("/metrics", vec!["get"]),
    ];
    for (path, methods) in expected {
        for method in methods {
            let operation = &document["paths"][path][method];
            assert!(operation.is_object(), "{method} {path} is not documented");
            if path.starts_with("/api/v1") {
                let responses = operation["responses"].as_object().unwrap();
                for status in ["401", "422", "500"] {
                    let content = &responses[status]["content"]["application/problem+json"];
                    assert!(
                        content.is_object(),
                        "{method} {path} documents no {status} problem"
                    );
                }
            }
        }
    }
    for schema in [
        "Problem",
        "FieldError",
        "User",
        "ApiToken",
        "CreatedToken",
        "CreateTokenRequest",
    ] {
        assert!(
            document["components"]["schemas"][schema].is_object(),
            "schema {schema} missing"
        );
    }
    assert!(document["components"]["securitySchemes"]["bearer"].is_object());

    let docs = app
        .request(Method::GET, "/api/docs", None)
        .send()
        .await
        .unwrap();
    assert_eq!(docs.status(), StatusCode::OK);
    assert!(docs.text().await.unwrap().contains("/api/openapi.json"));
}

async fn stored_token_hashes(db: &storage::Database) -> Result<Vec<String>, kernel::Error> {
    Ok(storage::with_conn!(db, |conn| {
        storage::sqlx::query_scalar("SELECT token_hash FROM api_tokens")
            .fetch_all(conn)
            .await
            .map_err(storage::map_sqlx_error)?
    }))
}
