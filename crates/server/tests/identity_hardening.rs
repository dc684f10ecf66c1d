//! Identity under attack and under concurrency, over HTTP, on SQLite and on PostgreSQL: a
//! token cannot mint a token that outlives it or carries more role than it has, and two
//! admins removing each other at the same moment always leave one enabled admin.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{ADMIN_TOKEN, TestApp, problem};

on_both_backends!(
    a_token_cannot_mint_a_token_that_outlives_it,
    a_token_cannot_mint_a_token_with_more_role_than_it_has,
    two_admins_removing_each_other_at_once_always_leave_one,
);

/// Create a token with `token`; answers the response.
async fn create_token(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.post_json("/api/v1/tokens", token, body).await
}

async fn created_token(app: &TestApp, token: &str, body: Value) -> (String, DateTime<Utc>) {
    let response = create_token(app, token, body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    let expires_at = body["expires_at"]
        .as_str()
        .expect("an expiry")
        .parse()
        .unwrap();
    (body["token"].as_str().unwrap().to_owned(), expires_at)
}

async fn token_count(app: &TestApp) -> usize {
    let page: Value = app
        .get("/api/v1/tokens?limit=500", ADMIN_TOKEN)
        .await
        .json()
        .await
        .unwrap();
    page["items"].as_array().unwrap().len()
}

/// Expect a 422 naming `/expires_at`; answers its message.
async fn refused_expiry(response: reqwest::Response) -> String {
    let body = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["errors"][0]["path"], "/expires_at", "{body}");
    body["errors"][0]["message"].as_str().unwrap().to_owned()
}

async fn a_token_cannot_mint_a_token_that_outlives_it(app: &TestApp) {
    // The attacker holds a short-lived admin token (say, leaked from a CI job).
    let (short, limit) = created_token(
        app,
        ADMIN_TOKEN,
        json!({"name": "ci", "role": "admin", "expires_at": Utc::now() + Duration::hours(1)}),
    )
    .await;
    let shown = limit.to_rfc3339_opts(SecondsFormat::Secs, true);
    let (victim, _) = app.user_with_token("victim", "operator").await;
    let before = token_count(app).await;

    // A token that never expires: refused, naming the limit.
    let message = refused_expiry(
        create_token(app, &short, json!({"name": "forever", "role": "admin"})).await,
    )
    .await;
    assert!(message.starts_with("required"), "{message}");
    assert!(
        message.contains(&shown),
        "the message names the limit: {message}"
    );
    // Later than the limit, by a second or by a year; for itself or for another user.
    for (expires_at, user) in [
        (limit + Duration::seconds(1), None),
        (limit + Duration::days(365), None),
        (limit + Duration::days(1), Some(victim.clone())),
    ] {
        let mut body = json!({"name": "later", "role": "viewer", "expires_at": expires_at});
        if let Some(user) = user {
            body["user_id"] = json!(user);
        }
        // (for `victim`, the short admin token may act for another user: only the expiry
        // is wrong)
        let message = refused_expiry(create_token(app, &short, body).await).await;
        assert!(message.contains(&shown), "{message}");
    }
    assert_eq!(token_count(app).await, before, "a refused token was stored");

    // Up to the limit is fine; and each generation is bounded by its own creator.
    let (child, child_expiry) = created_token(
        app,
        &short,
        json!({"name": "child", "role": "operator", "expires_at": limit - Duration::minutes(10)}),
    )
    .await;
    assert!(child_expiry <= limit);
    refused_expiry(
        create_token(
            app,
            &child,
            json!({"name": "grandchild", "role": "viewer", "expires_at": limit}),
        )
        .await,
    )
    .await;
    let (_, exact) = created_token(
        app,
        &short,
        json!({"name": "exact", "role": "viewer", "expires_at": limit}),
    )
    .await;
    assert_eq!(exact, limit);

    // A token that never expires (or an OIDC session) sets no limit.
    let response = create_token(app, ADMIN_TOKEN, json!({"name": "ops", "role": "viewer"})).await;
    assert_eq!(response.status(), StatusCode::CREATED);
}

async fn a_token_cannot_mint_a_token_with_more_role_than_it_has(app: &TestApp) {
    let (operator_id, operator) = app.user_with_token("mallory", "operator").await;
    let (bob_id, _) = app.user_with_token("bob", "viewer").await;
    // A viewer-scoped token of the admin user: the user is admin, the token is not.
    let (viewer_of_admin, _) = created_token(
        app,
        ADMIN_TOKEN,
        json!({"name": "read-only", "role": "viewer", "expires_at": Utc::now() + Duration::hours(1)}),
    )
    .await;
    let before = token_count(app).await;

    for (token, body) in [
        (&operator, json!({"name": "up", "role": "admin"})),
        (
            &viewer_of_admin,
            json!({"name": "up", "role": "admin", "expires_at": Utc::now() + Duration::minutes(5)}),
        ),
        (
            &viewer_of_admin,
            json!({"name": "up", "role": "operator", "expires_at": Utc::now() + Duration::minutes(5)}),
        ),
    ] {
        let body = problem(create_token(app, token, body).await, StatusCode::FORBIDDEN).await;
        assert_eq!(body["code"], "role_exceeds_caller");
    }
    // Nor a token acting as someone else.
    problem(
        create_token(
            app,
            &operator,
            json!({"name": "as-bob", "role": "viewer", "user_id": bob_id}),
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(token_count(app).await, before, "a refused token was stored");

    // What a caller may have, it may hand out.
    let response = create_token(app, &operator, json!({"name": "same", "role": "operator"})).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["user_id"], operator_id.as_str());
}

/// An admin user with a token; answers (user id, token).
async fn new_admin(app: &TestApp, creator: &str, name: &str) -> (String, String) {
    let response = app
        .post_json(
            "/api/v1/users",
            creator,
            json!({"name": name, "role": "admin"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED, "create {name}");
    let user: Value = response.json().await.unwrap();
    let id = user["id"].as_str().unwrap().to_owned();
    let response = app
        .post_json(
            "/api/v1/tokens",
            creator,
            json!({"name": name, "role": "admin", "user_id": id}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED, "token for {name}");
    let token: Value = response.json().await.unwrap();
    (id, token["token"].as_str().unwrap().to_owned())
}

/// `token`'s holder removes `target` as an admin: demotes, disables or deletes it.
async fn remove_admin(app: &TestApp, token: &str, target: &str, how: usize) -> StatusCode {
    let path = format!("/api/v1/users/{target}");
    let request = match how % 3 {
        0 => app
            .request(Method::PATCH, &path, Some(token))
            .json(&json!({"role": "operator"})),
        1 => app
            .request(Method::PATCH, &path, Some(token))
            .json(&json!({"disabled": true})),
        _ => app.request(Method::DELETE, &path, Some(token)),
    };
    request.send().await.unwrap().status()
}

async fn enabled_admins(app: &TestApp) -> Vec<String> {
    let rows: Vec<(String, String, bool)> = match &app.database {
        storage::Database::Sqlite(pool) => {
            storage::sqlx::query_as("SELECT id, role, disabled FROM users")
                .fetch_all(pool)
                .await
                .unwrap()
        }
        storage::Database::Postgres(pool) => {
            storage::sqlx::query_as("SELECT id, role, disabled FROM users")
                .fetch_all(pool)
                .await
                .unwrap()
        }
    };
    rows.into_iter()
        .filter(|(_, role, disabled)| role == "admin" && !disabled)
        .map(|(id, _, _)| id)
        .collect()
}

async fn two_admins_removing_each_other_at_once_always_leave_one(app: &TestApp) {
    let whoami: Value = app
        .get("/api/v1/auth/whoami", ADMIN_TOKEN)
        .await
        .json()
        .await
        .unwrap();
    // The two enabled admins of each round: the survivor of the round before and a new one.
    let mut first = (
        whoami["user_id"].as_str().unwrap().to_owned(),
        ADMIN_TOKEN.to_owned(),
    );
    let mut second = new_admin(app, ADMIN_TOKEN, "admin-0").await;
    for round in 0..20 {
        assert_eq!(
            enabled_admins(app).await.len(),
            2,
            "round {round} starts with two"
        );
        let (a, b) = tokio::join!(
            remove_admin(app, &first.1, &second.0, round),
            remove_admin(app, &second.1, &first.0, round),
        );
        let admins = enabled_admins(app).await;
        assert_eq!(
            admins.len(),
            1,
            "round {round}: {a} and {b} left the enabled admins {admins:?}"
        );
        for status in [a, b] {
            assert!(
                !status.is_server_error(),
                "round {round}: a concurrent change failed with {status}"
            );
        }
        // One removed the other; the other was refused (409 last_admin), or its token no
        // longer worked by the time it was checked (401 disabled or deleted, 403 demoted).
        let succeeded = [a, b].iter().filter(|status| status.is_success()).count();
        assert_eq!(succeeded, 1, "round {round}: {a} and {b}");
        let survivor = if admins[0] == first.0 { first } else { second };
        first = survivor;
        second = new_admin(app, &first.1, &format!("admin-{}", round + 1)).await;
    }
}
