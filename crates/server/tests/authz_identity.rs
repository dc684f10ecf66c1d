//! Identity, secrets and secret use behind the decision point (crate `authz`), through the
//! HTTP API of a real server on SQLite and on PostgreSQL: a `member` signs in and mints
//! only member tokens for themself; users' roles are relationships on `platform:grimos`
//! kept in step with the users table (created, changed, deleted); tokens are owned by
//! their user; secret use grants are relationships `secret:<reference>#user@…` that the
//! connector routes obey at once, whether written through `/api/v1/secret-grants` or
//! straight into the relationship store; a secret's owner manages it.
//!
//! Relationships written straight through an `authz::Authz` opened on the server's
//! database reach the server within a second: answers that depend on them are awaited.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use authz::{Authorizer as _, ObjectRef, Relationship, Subject, SubjectRef};
use axum::Router;
use axum::routing::get;
use base64::Engine as _;
use reqwest::{Method, StatusCode};
use secret_access::{Actor, AuthzSecretUse, SecretUsePolicy as _};
use serde_json::{Value, json};
use support::{ADMIN_TOKEN, TestApp, problem};

const CRM_TOKEN: &str = "crm-token-value-77c1";

on_both_backends!(
    a_member_signs_in_and_mints_only_member_tokens_for_themself,
    a_role_change_moves_the_role_relationship,
    secret_use_grants_are_relationships,
    a_secrets_owner_manages_it,
    deleting_a_user_forgets_its_relationships,
);

fn tuple(resource: &str, relation: &str, subject: &str) -> Relationship {
    Relationship {
        resource: ObjectRef::parse(resource).unwrap(),
        relation: relation.to_owned(),
        subject: SubjectRef::parse(subject).unwrap(),
    }
}

/// Write and delete relationships straight into the store, as another server would.
async fn relate(app: &TestApp, writes: Vec<Relationship>, deletes: Vec<Relationship>) {
    let authz = authz::Authz::open(app.database.clone()).await.unwrap();
    authz.write(writes, deletes, Some("test")).await.unwrap();
}

/// Every relationship held by `subject`, as `type:id#relation`, sorted.
async fn held_by(app: &TestApp, subject: &str) -> Vec<String> {
    let read = async {
        storage::with_conn!(&app.database, |conn| {
            storage::sqlx::query_scalar::<_, String>(
                "SELECT object_type || ':' || object_id || '#' || relation FROM authz_tuples \
                 WHERE subject = $1 ORDER BY 1",
            )
            .bind(subject)
            .fetch_all(conn)
            .await
            .map_err(storage::map_sqlx_error)
        })
    };
    read.await.unwrap()
}

async fn json_of(response: reqwest::Response, expected: StatusCode) -> Value {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, expected, "{body}");
    body
}

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = app.request(method, path, Some(token));
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

/// Send until the answer has `expected` status (up to 10 s), and return it: the server
/// catches up with relationships written elsewhere within a second.
async fn eventually(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
    expected: StatusCode,
) -> reqwest::Response {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response = send(app, method.clone(), path, token, body.clone()).await;
        if response.status() == expected {
            return response;
        }
        assert!(
            Instant::now() < deadline,
            "{method} {path}: still {}, expected {expected}: {}",
            response.status(),
            response.text().await.unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn sql_config(dir: &tempfile::TempDir, file: &str) -> Value {
    json!({"type": "sql", "url": format!("sqlite://{}", dir.path().join(file).display())})
}

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
                    axum::Json(json!({"data": [{"id": 1}]}))
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

fn rest_connector(name: &str, config: Value) -> Value {
    json!({"name": name, "type": "rest", "config": config})
}

async fn set_secret(app: &TestApp, token: &str, name: &str, value: &str) -> reqwest::Response {
    send(
        app,
        Method::PUT,
        &format!("/api/v1/secrets/{name}"),
        token,
        Some(json!({"value": value})),
    )
    .await
}

async fn admin_user_id(app: &TestApp) -> String {
    let whoami = json_of(
        app.get("/api/v1/auth/whoami", ADMIN_TOKEN).await,
        StatusCode::OK,
    )
    .await;
    whoami["user_id"].as_str().unwrap().to_owned()
}

async fn a_member_signs_in_and_mints_only_member_tokens_for_themself(app: &TestApp) {
    let (mia, member) = app.user_with_token("mia", "member").await;
    assert_eq!(
        held_by(app, &format!("user:{mia}"))
            .await
            .first()
            .map(String::as_str),
        Some("platform:grimos#member"),
    );

    // Signs in and sees who they are.
    let whoami = json_of(
        app.get("/api/v1/auth/whoami", &member).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(whoami["role"], "member", "{whoami}");
    assert_eq!(whoami["user_id"], mia.as_str());
    assert_eq!(whoami["user"]["role"], "member");
    // Their own user, yes; the user list or another user, no.
    json_of(
        app.get(&format!("/api/v1/users/{mia}"), &member).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        problem(
            app.get("/api/v1/users", &member).await,
            StatusCode::FORBIDDEN
        )
        .await["code"],
        "forbidden"
    );
    let admin = admin_user_id(app).await;
    problem(
        app.get(&format!("/api/v1/users/{admin}"), &member).await,
        StatusCode::NOT_FOUND,
    )
    .await;

    // A token for themself, with their own role and not more; none for someone else.
    let own = json_of(
        app.post_json(
            "/api/v1/tokens",
            &member,
            json!({"name": "laptop", "role": "member"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(own["user_id"], mia.as_str());
    assert_eq!(own["role"], "member");
    let own_id = own["id"].as_str().unwrap().to_owned();
    let body = problem(
        app.post_json(
            "/api/v1/tokens",
            &member,
            json!({"name": "more", "role": "viewer"}),
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(body["code"], "role_exceeds_caller");
    problem(
        app.post_json(
            "/api/v1/tokens",
            &member,
            json!({"name": "as-admin", "role": "member", "user_id": admin}),
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    // The new token works, and belongs to its user (the owner relationship).
    let new_value = own["token"].as_str().unwrap().to_owned();
    let whoami = json_of(
        app.get("/api/v1/auth/whoami", &new_value).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(whoami["token_id"], own_id.as_str());
    assert!(
        held_by(app, &format!("user:{mia}"))
            .await
            .contains(&format!("token:{own_id}#owner"))
    );

    // The list holds only their tokens (the filter is in the query: a small page is full).
    let listed = json_of(
        app.get("/api/v1/tokens?limit=1", &member).await,
        StatusCode::OK,
    )
    .await;
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{listed}");
    assert!(listed["next_cursor"].is_string(), "{listed}");
    let all = json_of(app.get("/api/v1/tokens", &member).await, StatusCode::OK).await;
    let items = all["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{all}");
    assert!(items.iter().all(|token| token["user_id"] == mia.as_str()));
    let everyone = json_of(app.get("/api/v1/tokens", ADMIN_TOKEN).await, StatusCode::OK).await;
    assert!(
        everyone["items"].as_array().unwrap().len() > 2,
        "{everyone}"
    );
    // Someone else's token is not there for them; their own they revoke.
    let admin_token = everyone["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|token| token["user_id"] == admin.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for method in [Method::GET, Method::DELETE] {
        problem(
            send(
                app,
                method,
                &format!("/api/v1/tokens/{admin_token}"),
                &member,
                None,
            )
            .await,
            StatusCode::NOT_FOUND,
        )
        .await;
    }
    let response = send(
        app,
        Method::DELETE,
        &format!("/api/v1/tokens/{own_id}"),
        &member,
        None,
    )
    .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    problem(
        app.get("/api/v1/auth/whoami", &new_value).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    // A member reaches no integration and no secret.
    problem(
        app.post_json(
            "/api/v1/interop/connectors",
            &member,
            json!({"name": "x", "type": "sql", "config": {"type": "sql", "url": "sqlite::memory:"}}),
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    problem(
        app.get("/api/v1/secrets", &member).await,
        StatusCode::FORBIDDEN,
    )
    .await;
}

async fn a_role_change_moves_the_role_relationship(app: &TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let (otto, operator) = app.user_with_token("otto", "operator").await;
    let subject = format!("user:{otto}");
    assert_eq!(
        held_by(app, &subject)
            .await
            .into_iter()
            .filter(|held| held.starts_with("platform:"))
            .collect::<Vec<_>>(),
        vec!["platform:grimos#operator"]
    );
    json_of(
        app.post_json(
            "/api/v1/interop/connectors",
            &operator,
            json!({"name": "before", "type": "sql", "config": sql_config(&dir, "a.db")}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;

    let response = send(
        app,
        Method::PATCH,
        &format!("/api/v1/users/{otto}"),
        ADMIN_TOKEN,
        Some(json!({"role": "member"})),
    )
    .await;
    assert_eq!(json_of(response, StatusCode::OK).await["role"], "member");
    let platform: Vec<String> = held_by(app, &subject)
        .await
        .into_iter()
        .filter(|held| held.starts_with("platform:"))
        .collect();
    assert_eq!(platform, vec!["platform:grimos#member"]);

    // The decision point, asked about Otto as stored, no longer finds the operator role.
    let authz = authz::Authz::open(app.database.clone()).await.unwrap();
    let stored = Subject::stored(SubjectRef::parse(&subject).unwrap());
    let graph = authz.snapshot().unwrap();
    assert!(
        !graph
            .check(&stored, "create_connector", &ObjectRef::platform())
            .unwrap()
            .allows()
    );
    assert!(
        graph
            .check(&stored, "create_token", &ObjectRef::platform())
            .unwrap()
            .allows()
    );

    // A token made for Otto now carries at most member, and creates no connector.
    let created = json_of(
        app.post_json(
            "/api/v1/tokens",
            ADMIN_TOKEN,
            json!({"name": "after", "role": "member", "user_id": otto}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let member = created["token"].as_str().unwrap();
    for token in [member, operator.as_str()] {
        problem(
            app.post_json(
                "/api/v1/interop/connectors",
                token,
                json!({"name": "after", "type": "sql", "config": sql_config(&dir, "b.db")}),
            )
            .await,
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    // No more than the user's role for a token either.
    let body = problem(
        app.post_json(
            "/api/v1/tokens",
            ADMIN_TOKEN,
            json!({"name": "too much", "role": "operator", "user_id": otto}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(body["errors"][0]["path"], "/role");
}

async fn secret_use_grants_are_relationships(app: &TestApp) {
    let (base, receiver) = Receiver::start().await;
    assert_eq!(
        set_secret(app, ADMIN_TOKEN, "crm-token", CRM_TOKEN)
            .await
            .status(),
        StatusCode::CREATED
    );
    let (mallory, operator) = app.user_with_token("mallory", "operator").await;
    let (mia, member) = app.user_with_token("mia", "member").await;

    // The confused deputy: an operator may not save a connector that makes the server send
    // a secret they may not use — refused as before, naming the reference.
    let connector = rest_connector("crm", rest_config(&base, "local:crm-token"));
    let body = problem(
        app.post_json("/api/v1/interop/connectors", &operator, connector.clone())
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(body["code"], "secret_use_denied", "{body}");
    assert!(body["detail"].as_str().unwrap().contains("local:crm-token"));

    // A grant written as a relationship (a prefix object), straight into the store: the
    // server obeys it once it has caught up, and stops when it goes.
    let grant = tuple("secret:local:crm-*", "user", &format!("user:{mallory}"));
    relate(app, vec![grant.clone()], Vec::new()).await;
    let created = eventually(
        app,
        Method::POST,
        "/api/v1/interop/connectors",
        &operator,
        Some(connector.clone()),
        StatusCode::CREATED,
    )
    .await;
    json_of(created, StatusCode::CREATED).await;
    // It shows in the compatibility view, its id being the tuple's text.
    let grants = json_of(
        app.get("/api/v1/secret-grants", ADMIN_TOKEN).await,
        StatusCode::OK,
    )
    .await;
    let listed = grants["items"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{grants}");
    assert_eq!(listed[0]["reference"], "local:crm-*");
    assert_eq!(listed[0]["subject"], json!({"kind": "user", "id": mallory}));
    let id = listed[0]["id"].as_str().unwrap();
    let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(id)
        .unwrap();
    assert_eq!(String::from_utf8(decoded).unwrap(), grant.to_string());
    relate(app, Vec::new(), vec![grant]).await;
    let refused = eventually(
        app,
        Method::POST,
        "/api/v1/interop/connectors",
        &operator,
        Some(rest_connector(
            "crm-2",
            rest_config(&base, "local:crm-token"),
        )),
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(
        problem(refused, StatusCode::FORBIDDEN).await["code"],
        "secret_use_denied"
    );

    // A member may test the admin's connector shared with them as editor only when they
    // may use its secret.
    let shared = json_of(
        app.post_json(
            "/api/v1/interop/connectors",
            ADMIN_TOKEN,
            rest_connector("shared", rest_config(&base, "local:crm-token")),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let shared_id = shared["id"].as_str().unwrap().to_owned();
    relate(
        app,
        vec![tuple(
            &format!("connector:{shared_id}"),
            "editor",
            &format!("user:{mia}"),
        )],
        Vec::new(),
    )
    .await;
    let test_path = format!("/api/v1/interop/connectors/{shared_id}/test");
    let refused = eventually(
        app,
        Method::POST,
        &test_path,
        &member,
        None,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(
        problem(refused, StatusCode::FORBIDDEN).await["code"],
        "secret_use_denied"
    );
    let before = receiver.received().len();
    let grant = json_of(
        app.post_json(
            "/api/v1/secret-grants",
            ADMIN_TOKEN,
            json!({"reference": "local:crm-token", "subject": {"kind": "user", "id": mia}}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let grant_id = grant["id"].as_str().unwrap().to_owned();
    assert!(
        held_by(app, &format!("user:{mia}"))
            .await
            .contains(&"secret:local:crm-token#user".to_owned())
    );
    let tested = json_of(
        send(app, Method::POST, &test_path, &member, None).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(tested["ok"], true, "{tested}");
    assert_eq!(
        receiver.received()[before..],
        [format!("Bearer {CRM_TOKEN}")]
    );
    // The same decision, asked of the decision point directly for the member.
    let policy = AuthzSecretUse::new(Arc::new(
        authz::Authz::open(app.database.clone()).await.unwrap(),
    ));
    let actor = Actor {
        subject: mia.clone(),
        role: kernel::Role::Member,
    };
    policy.check(&actor, "local:crm-token").await.unwrap();
    assert_eq!(
        policy
            .check(&actor, "local:crm-other")
            .await
            .unwrap_err()
            .code(),
        "secret_use_denied"
    );
    let response = send(
        app,
        Method::GET,
        &format!("/api/v1/secret-grants/{grant_id}"),
        ADMIN_TOKEN,
        None,
    )
    .await;
    assert_eq!(
        json_of(response, StatusCode::OK).await["reference"],
        "local:crm-token"
    );
    let response = send(
        app,
        Method::DELETE,
        &format!("/api/v1/secret-grants/{grant_id}"),
        ADMIN_TOKEN,
        None,
    )
    .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let body = problem(
        send(app, Method::POST, &test_path, &member, None).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(body["code"], "secret_use_denied");
    assert_eq!(receiver.received().len(), before + 1);
    problem(
        send(
            app,
            Method::DELETE,
            &format!("/api/v1/secret-grants/{grant_id}"),
            ADMIN_TOKEN,
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        app.get("/api/v1/secret-grants/not-a-grant", ADMIN_TOKEN)
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    // Nobody but admins (or a secret's owner) gives grants.
    assert_eq!(
        problem(
            app.post_json(
                "/api/v1/secret-grants",
                &member,
                json!({"reference": "local:crm-token", "subject": {"kind": "user", "id": mia}}),
            )
            .await,
            StatusCode::FORBIDDEN,
        )
        .await["code"],
        "forbidden"
    );
}

async fn a_secrets_owner_manages_it(app: &TestApp) {
    let (mia, member) = app.user_with_token("mia", "member").await;
    let (bob, _) = app.user_with_token("bob", "operator").await;
    let admin = admin_user_id(app).await;
    // Whoever stores a secret first owns it.
    for name in ["team-token", "other-token"] {
        assert_eq!(
            set_secret(app, ADMIN_TOKEN, name, "v1").await.status(),
            StatusCode::CREATED
        );
    }
    assert!(
        held_by(app, &format!("user:{admin}"))
            .await
            .contains(&"secret:local:team-token#owner".to_owned())
    );
    // A member may neither see nor store secrets...
    problem(
        app.get("/api/v1/secrets/team-token", &member).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        set_secret(app, &member, "team-token", "v2").await,
        StatusCode::FORBIDDEN,
    )
    .await;
    // ...until they own one: then they read its metadata, replace its value, and share
    // its use; never the value, never another secret.
    relate(
        app,
        vec![tuple(
            "secret:local:team-token",
            "owner",
            &format!("user:{mia}"),
        )],
        Vec::new(),
    )
    .await;
    let seen = json_of(
        eventually(
            app,
            Method::GET,
            "/api/v1/secrets/team-token",
            &member,
            None,
            StatusCode::OK,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(seen["reference"], "local:team-token");
    assert!(!seen.to_string().contains("v1"), "{seen}");
    let replaced = json_of(
        set_secret(app, &member, "team-token", "v2").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(replaced["version"], 2);
    problem(
        app.get("/api/v1/secrets/other-token", &member).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        app.get("/api/v1/secrets", &member).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    json_of(
        app.post_json(
            "/api/v1/secret-grants",
            &member,
            json!({"reference": "local:team-token", "subject": {"kind": "user", "id": bob}}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    problem(
        app.post_json(
            "/api/v1/secret-grants",
            &member,
            json!({"reference": "local:other-token", "subject": {"kind": "user", "id": bob}}),
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    // Deleting the secret takes its relationships (owner, use grants) with it.
    let response = send(
        app,
        Method::DELETE,
        "/api/v1/secrets/team-token",
        &member,
        None,
    )
    .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    for user in [&mia, &bob, &admin] {
        let held = held_by(app, &format!("user:{user}")).await;
        assert!(
            !held
                .iter()
                .any(|held| held.starts_with("secret:local:team-token#")),
            "{held:?}"
        );
    }
}

async fn deleting_a_user_forgets_its_relationships(app: &TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let (dora, operator) = app.user_with_token("dora", "operator").await;
    let subject = format!("user:{dora}");
    let connector = json_of(
        app.post_json(
            "/api/v1/interop/connectors",
            &operator,
            json!({"name": "dora's", "type": "sql", "config": sql_config(&dir, "d.db")}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    json_of(
        app.post_json(
            "/api/v1/secret-grants",
            ADMIN_TOKEN,
            json!({"reference": "vault:secret/crm/*", "subject": {"kind": "user", "id": dora}}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let held = held_by(app, &subject).await;
    for expected in [
        "platform:grimos#operator".to_owned(),
        "secret:vault:secret/crm/*#user".to_owned(),
        format!("connector:{}#owner", connector["id"].as_str().unwrap()),
    ] {
        assert!(held.contains(&expected), "{expected} not in {held:?}");
    }
    assert!(
        held.iter()
            .any(|held| held.starts_with("token:") && held.ends_with("#owner")),
        "{held:?}"
    );

    let response = send(
        app,
        Method::DELETE,
        &format!("/api/v1/users/{dora}"),
        ADMIN_TOKEN,
        None,
    )
    .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(held_by(app, &subject).await, Vec::<String>::new());
    let grants = json_of(
        app.get("/api/v1/secret-grants", ADMIN_TOKEN).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(grants["items"], json!([]), "{grants}");
    problem(
        app.get("/api/v1/auth/whoami", &operator).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
}
