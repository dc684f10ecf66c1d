//! Secret use is authorized: an operator cannot make the server resolve a secret it may
//! not use and send it to a host of the operator's choosing — not the server's own
//! environment, not an admin's stored secret — on save, on "test connection", on schema
//! discovery, or through a flow. Tests written as the attacker: the value never reaches
//! the test's own HTTP receiver, and the refusal is clear.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::get;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{ADMIN_TOKEN, TestApp, problem};

const CRM_TOKEN: &str = "crm-token-value-3f9a";

on_both_backends!(
    an_operator_cannot_use_secrets_without_a_grant,
    grants_let_a_user_or_role_use_a_reference_until_revoked,
    flows_act_for_their_owner,
    grants_are_validated_and_admin_only,
);

/// An HTTP receiver that records every Authorization header it is sent.
#[derive(Clone, Default)]
struct Receiver {
    seen: Arc<Mutex<Vec<String>>>,
}

impl Receiver {
    async fn start() -> (String, Self) {
        let receiver = Self::default();
        let seen = receiver.seen.clone();
        let app = Router::new().route(
            "/items",
            get(move |headers: axum::http::HeaderMap| {
                let seen = seen.clone();
                async move {
                    if let Some(value) = headers.get("authorization") {
                        seen.lock()
                            .unwrap()
                            .push(value.to_str().unwrap_or_default().to_owned());
                    }
                    axum::Json(json!({"data": [{"id": 1, "name": "a"}]}))
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{address}"), receiver)
    }

    fn received(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }

    /// Nothing that looks like a secret of the server reached the receiver.
    fn assert_nothing_leaked(&self) {
        for header in self.received() {
            assert!(!header.contains(CRM_TOKEN), "leaked: {header}");
            assert!(!header.contains("test-admin-token"), "leaked: {header}");
        }
    }
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

async fn create_connector(
    app: &TestApp,
    token: &str,
    name: &str,
    config: Value,
) -> reqwest::Response {
    app.post_json(
        "/api/v1/interop/connectors",
        token,
        json!({"name": name, "type": "rest", "config": config}),
    )
    .await
}

async fn created_id(response: reqwest::Response) -> String {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

async fn test_connection(app: &TestApp, token: &str, id: &str) -> reqwest::Response {
    app.request(
        Method::POST,
        &format!("/api/v1/interop/connectors/{id}/test"),
        Some(token),
    )
    .send()
    .await
    .unwrap()
}

async fn grant(app: &TestApp, reference: &str, subject: Value) -> String {
    let response = app
        .post_json(
            "/api/v1/secret-grants",
            ADMIN_TOKEN,
            json!({"reference": reference, "subject": subject}),
        )
        .await;
    created_id(response).await
}

async fn an_operator_cannot_use_secrets_without_a_grant(app: &TestApp) {
    let (base, receiver) = Receiver::start().await;
    set_secret(app, "crm-token", CRM_TOKEN).await;
    let (_, operator) = app.user_with_token("mallory", "operator").await;

    // Saving a connector that names the server's own key or an admin's secret is refused,
    // naming the reference.
    for reference in [
        "env:GRIMOS_MASTER_KEY",
        "env:VAULT_TOKEN",
        "local:crm-token",
    ] {
        let response =
            create_connector(app, &operator, "exfiltrate", rest_config(&base, reference)).await;
        let body = problem(response, StatusCode::FORBIDDEN).await;
        assert_eq!(body["code"], "secret_use_denied", "{body}");
        assert!(
            body["detail"].as_str().unwrap().contains(reference),
            "{body}"
        );
    }

    // An admin's connector using the secret: the operator may not test it, discover it,
    // or point it elsewhere.
    let id = created_id(
        create_connector(
            app,
            ADMIN_TOKEN,
            "crm",
            rest_config(&base, "local:crm-token"),
        )
        .await,
    )
    .await;
    let body = problem(
        test_connection(app, &operator, &id).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(body["code"], "secret_use_denied");
    let response = app
        .get(
            &format!("/api/v1/interop/connectors/{id}/schema"),
            &operator,
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let (elsewhere, other_receiver) = Receiver::start().await;
    let response = app
        .request(
            Method::PUT,
            &format!("/api/v1/interop/connectors/{id}"),
            Some(&operator),
        )
        .json(&json!({"name": "crm", "config": rest_config(&elsewhere, "local:crm-token")}))
        .send()
        .await
        .unwrap();
    let body = problem(response, StatusCode::FORBIDDEN).await;
    assert_eq!(body["code"], "secret_use_denied");
    assert!(receiver.received().is_empty(), "{:?}", receiver.received());
    assert!(other_receiver.received().is_empty());

    // Even an admin cannot reach the server's own credentials through env: (outside the
    // GRIMOS_SECRET_ prefix): a configuration mistake (422), and nothing is sent.
    for reference in ["env:GRIMOS_MASTER_KEY", "env:HOME"] {
        let id = created_id(
            create_connector(
                app,
                ADMIN_TOKEN,
                &format!("admin-{}", reference.replace(':', "-")),
                rest_config(&base, reference),
            )
            .await,
        )
        .await;
        let response = test_connection(app, ADMIN_TOKEN, &id).await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["ok"], false, "{body}");
        assert_eq!(body["error_kind"], "config", "{body}");
    }
    receiver.assert_nothing_leaked();
    assert!(receiver.received().is_empty(), "{:?}", receiver.received());
}

async fn grants_let_a_user_or_role_use_a_reference_until_revoked(app: &TestApp) {
    let (base, receiver) = Receiver::start().await;
    set_secret(app, "crm-token", CRM_TOKEN).await;
    let (bob_id, bob) = app.user_with_token("bob", "operator").await;
    let (_, carol) = app.user_with_token("carol", "operator").await;

    let grant_id = grant(app, "local:crm-*", json!({"kind": "user", "id": bob_id})).await;
    let id = created_id(
        create_connector(app, &bob, "bob-crm", rest_config(&base, "local:crm-token")).await,
    )
    .await;
    let response = test_connection(app, &bob, &id).await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["ok"], true, "{body}");
    assert_eq!(receiver.received(), vec![format!("Bearer {CRM_TOKEN}")]);

    // Carol holds no grant: the same connector is refused to her.
    let body = problem(
        test_connection(app, &carol, &id).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(body["code"], "secret_use_denied");

    // A role grant covers every holder of the role.
    let role_grant = grant(
        app,
        "local:crm-token",
        json!({"kind": "role", "role": "operator"}),
    )
    .await;
    let body: Value = test_connection(app, &carol, &id)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["ok"], true, "{body}");

    // Revoked: refused again, at once.
    for grant_id in [grant_id, role_grant] {
        let response = app
            .request(
                Method::DELETE,
                &format!("/api/v1/secret-grants/{grant_id}"),
                Some(ADMIN_TOKEN),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    }
    let before = receiver.received().len();
    let body = problem(test_connection(app, &bob, &id).await, StatusCode::FORBIDDEN).await;
    assert_eq!(body["code"], "secret_use_denied");
    assert_eq!(receiver.received().len(), before);
}

async fn flows_act_for_their_owner(app: &TestApp) {
    let (base, receiver) = Receiver::start().await;
    set_secret(app, "crm-token", CRM_TOKEN).await;
    let (_, operator) = app.user_with_token("olga", "operator").await;
    let source = created_id(
        create_connector(
            app,
            ADMIN_TOKEN,
            "crm-source",
            rest_config(&base, "local:crm-token"),
        )
        .await,
    )
    .await;
    let target_dir = tempfile::tempdir().unwrap();
    let target_url = format!("sqlite://{}", target_dir.path().join("t.db").display());
    let pool = sqlx::SqlitePool::connect(&format!("{target_url}?mode=rwc"))
        .await
        .unwrap();
    sqlx::query("CREATE TABLE items (id INTEGER PRIMARY KEY)")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let target = created_id(
        app.post_json(
            "/api/v1/interop/connectors",
            ADMIN_TOKEN,
            json!({"name": "target", "type": "sql", "config": {"type": "sql", "url": target_url}}),
        )
        .await,
    )
    .await;
    let flow = |name: &str| {
        json!({
            "name": name,
            "source": {"connector": source, "stream": "items"},
            "target": {"connector": target, "stream": "items", "mode": "insert"},
            "mapping": {"rules": [{"target": "id", "source": "id"}]}
        })
    };
    // The operator may not save a flow whose runs would use the admin's secret.
    let body = problem(
        app.post_json("/api/v1/interop/flows", &operator, flow("mine"))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(body["code"], "secret_use_denied");
    // Nor a flow whose webhook secret is one they may not use.
    let (source_free, _) = Receiver::start().await;
    let free = created_id(
        create_connector(app, &operator, "no-secret", json!({
            "type": "rest", "base_url": source_free, "allow_insecure_http": true,
            "streams": [{"name": "items", "path": "/items", "records": "$.data", "primary_key": ["id"]}]
        }))
        .await,
    )
    .await;
    let mut hooked = flow("hooked");
    hooked["source"]["connector"] = json!(free);
    hooked["webhook_secret"] = json!("local:crm-token");
    let body = problem(
        app.post_json("/api/v1/interop/flows", &operator, hooked)
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(body["code"], "secret_use_denied");

    // The admin's flow: a run started by the operator acts for the admin (its owner), and
    // the run records it.
    let flow_id = created_id(
        app.post_json("/api/v1/interop/flows", ADMIN_TOKEN, flow("admins"))
            .await,
    )
    .await;
    let response = app
        .request(
            Method::POST,
            &format!("/api/v1/interop/flows/{flow_id}/runs"),
            Some(&operator),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let run: Value = response.json().await.unwrap();
    let run_id = run["id"].as_str().unwrap().to_owned();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let acting = loop {
        let run: Value = app
            .get(&format!("/api/v1/interop/runs/{run_id}"), ADMIN_TOKEN)
            .await
            .json()
            .await
            .unwrap();
        if let Some(acting) = run["acting_subject"].as_str() {
            break acting.to_owned();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the run never started"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let whoami: Value = app
        .get("/api/v1/auth/whoami", ADMIN_TOKEN)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(acting, whoami["user_id"].as_str().unwrap(), "{whoami}");
    // The admin's run used the admin's secret with the admin's authority, as intended.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while receiver.received().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the run never read the source"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(receiver.received()[0], format!("Bearer {CRM_TOKEN}"));
}

async fn grants_are_validated_and_admin_only(app: &TestApp) {
    let (user_id, operator) = app.user_with_token("oscar", "operator").await;
    let response = app
        .post_json(
            "/api/v1/secret-grants",
            &operator,
            json!({"reference": "local:*", "subject": {"kind": "user", "id": user_id}}),
        )
        .await;
    assert_eq!(
        problem(response, StatusCode::FORBIDDEN).await["code"],
        "forbidden"
    );
    for reference in ["crm-token", "local:a*b", "vault:secret/../x/*", "local:"] {
        let response = app
            .post_json(
                "/api/v1/secret-grants",
                ADMIN_TOKEN,
                json!({"reference": reference, "subject": {"kind": "role", "role": "operator"}}),
            )
            .await;
        let body = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(
            body["errors"][0]["path"], "/reference",
            "{reference}: {body}"
        );
    }
    let subject = json!({"kind": "role", "role": "operator"});
    grant(app, "local:shared-*", subject.clone()).await;
    let response = app
        .post_json(
            "/api/v1/secret-grants",
            ADMIN_TOKEN,
            json!({"reference": "local:shared-*", "subject": subject}),
        )
        .await;
    assert_eq!(
        problem(response, StatusCode::CONFLICT).await["code"],
        "grant_exists"
    );
    let list: Value = app
        .get("/api/v1/secret-grants", ADMIN_TOKEN)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    let response = app.get("/api/v1/secret-grants", &operator).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

/// A password an older version let into a SQL URL is never shown back, not even to the
/// admin; new ones are refused when saved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_passwords_in_urls_are_never_shown() {
    let app = TestApp::spawn(support::Backend::Sqlite).await;
    let response = app
        .post_json(
            "/api/v1/interop/connectors",
            ADMIN_TOKEN,
            json!({"name": "db", "type": "sql", "config": {"type": "sql", "url": "postgres://app:hunter22@db.internal/app"}}),
        )
        .await;
    let body = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(!body.to_string().contains("hunter22"), "{body}");

    let id = created_id(
        app.post_json(
            "/api/v1/interop/connectors",
            ADMIN_TOKEN,
            json!({"name": "db", "type": "sql", "config": {"type": "sql", "url": "postgres://app@db.internal/app"}}),
        )
        .await,
    )
    .await;
    let legacy = r#"{"type":"sql","url":"postgres://app:hunter22@db.internal/app"}"#;
    let update = async {
        storage::with_conn!(&app.database, |conn| {
            storage::sqlx::query("UPDATE connectors SET config = $1 WHERE id = $2")
                .bind(legacy)
                .bind(&id)
                .execute(conn)
                .await
                .map(|_| ())
        })
        .map_err(storage::map_sqlx_error)
    };
    update.await.unwrap();
    let viewer = app.token_with_role("viewer").await;
    for token in [viewer.as_str(), ADMIN_TOKEN] {
        let shown = app
            .get(&format!("/api/v1/interop/connectors/{id}"), token)
            .await
            .text()
            .await
            .unwrap();
        assert!(!shown.contains("hunter22"), "{shown}");
        assert!(
            shown.contains("postgres://app:***@db.internal/app"),
            "{shown}"
        );
        let listed = app
            .get("/api/v1/interop/connectors", token)
            .await
            .text()
            .await
            .unwrap();
        assert!(!listed.contains("hunter22"), "{listed}");
    }
    app.stop().await;
}

/// Not even an admin's SQL connector may open the platform's own database file: test
/// connection refuses it, and the users table stays out of reach.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platform_database_file_is_off_limits() {
    let app = TestApp::spawn(support::Backend::Sqlite).await;
    let file = app.data_dir.path().join("grimos.db");
    let id = created_id(
        app.post_json(
            "/api/v1/interop/connectors",
            ADMIN_TOKEN,
            json!({"name": "own", "type": "sql", "config": {"type": "sql", "url": format!("sqlite://{}", file.display())}}),
        )
        .await,
    )
    .await;
    let result: Value = test_connection(&app, ADMIN_TOKEN, &id)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(result["ok"], false, "{result}");
    assert!(
        result["error"].as_str().unwrap().contains("own database"),
        "{result}"
    );
    app.stop().await;
}
