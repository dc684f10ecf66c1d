//! Every interop route behind the decision point (crate `authz`), through the HTTP API of a
//! real server on SQLite and on PostgreSQL: relationships decide what a `member` sees and
//! changes (404 for what they may not see, 403 for what they see but may not change),
//! lists are filtered in the query (pages stay full), grants reach through nested groups,
//! creators own what they create, runs and dead letters follow their flow, a flow cannot
//! be built on what its author cannot see, and the built-in roles keep working.
//!
//! Relationships are written straight through an `authz::Authz` opened on the server's
//! database; the server catches up within a second, so the first answer that depends on
//! a write is awaited (`eventually`), and every later one is at that revision or after.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use authz::{Authorizer as _, ObjectRef, Relationship, SubjectRef};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{ADMIN_TOKEN, TestApp, problem};

on_both_backends!(
    relationships_decide_what_a_member_sees_and_changes,
    group_grants_reach_through_nested_groups_until_a_membership_goes,
    creators_own_what_they_create_whatever_their_role_becomes,
    runs_and_dead_letters_follow_their_flow,
    a_flow_or_mapping_cannot_be_built_on_what_its_author_cannot_see,
    roles_keep_working,
);

fn tuple(resource: &str, relation: &str, subject: &str) -> Relationship {
    Relationship {
        resource: ObjectRef::parse(resource).unwrap(),
        relation: relation.to_owned(),
        subject: SubjectRef::parse(subject).unwrap(),
    }
}

/// Write and delete relationships directly, as the authorization API would.
async fn relate(app: &TestApp, writes: Vec<Relationship>, deletes: Vec<Relationship>) {
    let authz = authz::Authz::open(app.database.clone()).await.unwrap();
    authz.write(writes, deletes, Some("test")).await.unwrap();
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

async fn status(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> StatusCode {
    send(app, method, path, token, body).await.status()
}

/// Wait (up to 10 s) until the server answers `expected`: it catches up with relationships
/// written elsewhere within a second.
async fn eventually(app: &TestApp, method: Method, path: &str, token: &str, expected: StatusCode) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = status(app, method.clone(), path, token, None).await;
        if got == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{method} {path}: still {got}, expected {expected}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn sql_config(dir: &tempfile::TempDir, file: &str) -> Value {
    json!({"type": "sql", "url": format!("sqlite://{}", dir.path().join(file).display())})
}

async fn created(response: reqwest::Response) -> Value {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

async fn create_connector(app: &TestApp, token: &str, name: &str, config: Value) -> String {
    let body = created(
        app.post_json(
            "/api/v1/interop/connectors",
            token,
            json!({"name": name, "type": "sql", "config": config}),
        )
        .await,
    )
    .await;
    body["id"].as_str().unwrap().to_owned()
}

async fn put_connector(
    app: &TestApp,
    token: &str,
    id: &str,
    name: &str,
    config: Value,
) -> reqwest::Response {
    send(
        app,
        Method::PUT,
        &format!("/api/v1/interop/connectors/{id}"),
        token,
        Some(json!({"name": name, "config": config})),
    )
    .await
}

/// Every id of a list, following `next_cursor` with `limit`; also the number of pages.
async fn list_all(app: &TestApp, path: &str, token: &str, limit: usize) -> (Vec<String>, usize) {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut url = format!("{path}{separator}limit={limit}");
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let response = app.get(&url, token).await;
        assert_eq!(response.status(), StatusCode::OK, "{url}");
        let page: Value = response.json().await.unwrap();
        pages += 1;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= limit, "{page}");
        ids.extend(
            items
                .iter()
                .map(|item| item["id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(next) if !next.is_empty() => {
                // A full page announces the next; never an empty page before the end.
                assert_eq!(items.len(), limit, "{page}");
                cursor = Some(next.to_owned());
            }
            _ => break,
        }
        assert!(pages < 100, "endless pagination");
    }
    (ids, pages)
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|id| (*id).to_owned()).collect()
}

async fn relationships_decide_what_a_member_sees_and_changes(app: &TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let a = create_connector(app, ADMIN_TOKEN, "a", sql_config(&dir, "a.db")).await;
    let b = create_connector(app, ADMIN_TOKEN, "b", sql_config(&dir, "b.db")).await;
    let c = create_connector(app, ADMIN_TOKEN, "c", sql_config(&dir, "c.db")).await;
    let (mia_id, mia) = app.user_with_token("mia", "member").await;
    let mia_subject = format!("user:{mia_id}");

    // Before any grant the member sees nothing, and may not create.
    let (ids, _) = list_all(app, "/api/v1/interop/connectors", &mia, 50).await;
    assert!(ids.is_empty(), "{ids:?}");
    let response = app
        .post_json(
            "/api/v1/interop/connectors",
            &mia,
            json!({"name": "mine", "type": "sql", "config": sql_config(&dir, "m.db")}),
        )
        .await;
    assert_eq!(
        problem(response, StatusCode::FORBIDDEN).await["code"],
        "forbidden"
    );
    // The connector types are for every signed-in caller.
    assert_eq!(
        app.get("/api/v1/interop/connector-types", &mia)
            .await
            .status(),
        StatusCode::OK
    );

    relate(
        app,
        vec![
            tuple(&format!("connector:{a}"), "editor", &mia_subject),
            tuple(&format!("connector:{b}"), "viewer", &mia_subject),
        ],
        Vec::new(),
    )
    .await;
    eventually(
        app,
        Method::GET,
        &format!("/api/v1/interop/connectors/{a}"),
        &mia,
        StatusCode::OK,
    )
    .await;

    // Editor of A: changes it.
    let response = put_connector(app, &mia, &a, "a-renamed", sql_config(&dir, "a2.db")).await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["name"], "a-renamed", "{body}");

    // Viewer of B: reads it, may not change, test, read its schema or delete it (403, with
    // the reasons).
    assert_eq!(
        app.get(&format!("/api/v1/interop/connectors/{b}"), &mia)
            .await
            .status(),
        StatusCode::OK
    );
    let body = problem(
        put_connector(app, &mia, &b, "b2", sql_config(&dir, "b.db")).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(body["code"], "forbidden");
    assert!(body["detail"].as_str().unwrap().contains("edit"), "{body}");
    for (method, path) in [
        (Method::POST, format!("/api/v1/interop/connectors/{b}/test")),
        (
            Method::GET,
            format!("/api/v1/interop/connectors/{b}/schema"),
        ),
        (Method::DELETE, format!("/api/v1/interop/connectors/{b}")),
    ] {
        let response = send(app, method.clone(), &path, &mia, None).await;
        assert_eq!(
            problem(response, StatusCode::FORBIDDEN).await["code"],
            "forbidden",
            "{method} {path}"
        );
    }

    // Nothing on C: it does not exist for her (404, exactly like an unknown id).
    for id in [c.as_str(), "0190c0de-0000-7000-8000-0000000000aa"] {
        let body = problem(
            app.get(&format!("/api/v1/interop/connectors/{id}"), &mia)
                .await,
            StatusCode::NOT_FOUND,
        )
        .await;
        assert_eq!(body["code"], "not_found");
        let body = problem(
            put_connector(app, &mia, id, "c2", sql_config(&dir, "c.db")).await,
            StatusCode::NOT_FOUND,
        )
        .await;
        assert_eq!(body["code"], "not_found");
        for (method, path) in [
            (
                Method::POST,
                format!("/api/v1/interop/connectors/{id}/test"),
            ),
            (
                Method::GET,
                format!("/api/v1/interop/connectors/{id}/schema"),
            ),
            (Method::DELETE, format!("/api/v1/interop/connectors/{id}")),
        ] {
            assert_eq!(
                status(app, method.clone(), &path, &mia, None).await,
                StatusCode::NOT_FOUND,
                "{method} {path}"
            );
        }
    }
    // C is untouched.
    let shown: Value = app
        .get(&format!("/api/v1/interop/connectors/{c}"), ADMIN_TOKEN)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["name"], "c");

    // The list holds exactly A and B, and pages through them one by one.
    let (ids, pages) = list_all(app, "/api/v1/interop/connectors", &mia, 1).await;
    assert_eq!(
        ids.iter().cloned().collect::<BTreeSet<_>>(),
        set(&[&a, &b]),
        "{ids:?}"
    );
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(pages <= 3, "{pages} pages");
    let (ids, _) = list_all(app, "/api/v1/interop/connectors?q=renamed", &mia, 1).await;
    assert_eq!(ids, vec![a.clone()]);
    // The admin still sees all three.
    let (ids, _) = list_all(app, "/api/v1/interop/connectors", ADMIN_TOKEN, 1).await;
    assert_eq!(
        ids.iter().cloned().collect::<BTreeSet<_>>(),
        set(&[&a, &b, &c])
    );
}

async fn group_grants_reach_through_nested_groups_until_a_membership_goes(app: &TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let shared = create_connector(app, ADMIN_TOKEN, "shared", sql_config(&dir, "s.db")).await;
    let other = create_connector(app, ADMIN_TOKEN, "other", sql_config(&dir, "o.db")).await;
    let (nils_id, nils) = app.user_with_token("nils", "member").await;
    let membership = tuple("group:oncall", "member", &format!("user:{nils_id}"));
    relate(
        app,
        vec![
            membership.clone(),
            tuple("group:sre", "member", "group:oncall#member"),
            tuple(&format!("connector:{shared}"), "editor", "group:sre#member"),
        ],
        Vec::new(),
    )
    .await;
    let path = format!("/api/v1/interop/connectors/{shared}");
    eventually(app, Method::GET, &path, &nils, StatusCode::OK).await;
    assert_eq!(
        put_connector(app, &nils, &shared, "shared-2", sql_config(&dir, "s.db"))
            .await
            .status(),
        StatusCode::OK
    );
    let (ids, _) = list_all(app, "/api/v1/interop/connectors", &nils, 1).await;
    assert_eq!(ids, vec![shared.clone()]);
    assert_eq!(
        app.get(&format!("/api/v1/interop/connectors/{other}"), &nils)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );

    // Out of oncall, out of sre: the connector is gone for them.
    relate(app, Vec::new(), vec![membership]).await;
    eventually(app, Method::GET, &path, &nils, StatusCode::NOT_FOUND).await;
    assert_eq!(
        put_connector(app, &nils, &shared, "shared-3", sql_config(&dir, "s.db"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let (ids, _) = list_all(app, "/api/v1/interop/connectors", &nils, 1).await;
    assert!(ids.is_empty(), "{ids:?}");
}

async fn creators_own_what_they_create_whatever_their_role_becomes(app: &TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let (olga_id, olga) = app.user_with_token("olga", "operator").await;
    let mine = create_connector(app, &olga, "olgas", sql_config(&dir, "o.db")).await;
    let theirs = create_connector(app, ADMIN_TOKEN, "admins", sql_config(&dir, "a.db")).await;

    // She is recorded as its owner.
    let authz = authz::Authz::open(app.database.clone()).await.unwrap();
    let owners: Vec<String> = authz
        .snapshot()
        .unwrap()
        .holders(
            &ObjectRef::parse(&format!("connector:{mine}")).unwrap(),
            "owner",
        )
        .map(ToString::to_string)
        .collect();
    assert_eq!(owners, vec![format!("user:{olga_id}")]);

    // A flow of the admin's uses her connector.
    let target = create_connector(app, ADMIN_TOKEN, "target", sql_config(&dir, "t.db")).await;
    let flow = created(
        app.post_json(
            "/api/v1/interop/flows",
            ADMIN_TOKEN,
            json!({
                "name": "admins-flow",
                "source": {"connector": mine, "stream": "items"},
                "target": {"connector": target, "stream": "items", "mode": "insert"},
                "mapping": {"rules": [{"target": "id", "source": "id"}]}
            }),
        )
        .await,
    )
    .await;
    let flow_id = flow["id"].as_str().unwrap().to_owned();

    // Demoted to member: her own connector stays hers, the rest disappears.
    let response = app
        .request(
            Method::PATCH,
            &format!("/api/v1/users/{olga_id}"),
            Some(ADMIN_TOKEN),
        )
        .json(&json!({"role": "member"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let whoami: Value = app
        .get("/api/v1/auth/whoami", &olga)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(whoami["role"], "member", "{whoami}");
    let response = put_connector(app, &olga, &mine, "olgas-2", sql_config(&dir, "o2.db")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        app.get(&format!("/api/v1/interop/connectors/{theirs}"), &olga)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let (ids, _) = list_all(app, "/api/v1/interop/connectors", &olga, 50).await;
    assert_eq!(ids, vec![mine.clone()]);

    // Deleting it: the flow she cannot see is neither named nor deleted by a cascade.
    let path = format!("/api/v1/interop/connectors/{mine}");
    let body = problem(
        send(app, Method::DELETE, &path, &olga, None).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(body["code"], "in_use");
    assert_eq!(body["flows"], json!([]), "{body}");
    assert!(!body.to_string().contains("admins-flow"), "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("1 flow(s) you cannot see"),
        "{body}"
    );
    let body = problem(
        send(
            app,
            Method::DELETE,
            &format!("{path}?cascade=true"),
            &olga,
            None,
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(body["code"], "forbidden");
    assert!(!body.to_string().contains("admins-flow"), "{body}");
    assert_eq!(
        app.get(&format!("/api/v1/interop/flows/{flow_id}"), ADMIN_TOKEN)
            .await
            .status(),
        StatusCode::OK
    );

    // Once the flow is gone she deletes her connector, and its relationships go with it.
    assert_eq!(
        status(
            app,
            Method::DELETE,
            &format!("/api/v1/interop/flows/{flow_id}"),
            ADMIN_TOKEN,
            None
        )
        .await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        status(app, Method::DELETE, &path, &olga, None).await,
        StatusCode::NO_CONTENT
    );
    authz.refresh().await.unwrap();
    let left = authz
        .snapshot()
        .unwrap()
        .relationships_of(&ObjectRef::parse(&format!("connector:{mine}")).unwrap())
        .count();
    assert_eq!(left, 0);
}

async fn runs_and_dead_letters_follow_their_flow(app: &TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let source = create_connector(app, ADMIN_TOKEN, "src", sql_config(&dir, "s.db")).await;
    let target = create_connector(app, ADMIN_TOKEN, "dst", sql_config(&dir, "t.db")).await;
    let flow = created(
        app.post_json(
            "/api/v1/interop/flows",
            ADMIN_TOKEN,
            json!({
                "name": "hidden",
                "source": {"connector": source, "stream": "items"},
                "target": {"connector": target, "stream": "items", "mode": "insert"},
                "mapping": {"rules": [{"target": "id", "source": "id"}]}
            }),
        )
        .await,
    )
    .await;
    let flow_id = flow["id"].as_str().unwrap().to_owned();
    let response = send(
        app,
        Method::POST,
        &format!("/api/v1/interop/flows/{flow_id}/runs"),
        ADMIN_TOKEN,
        None,
    )
    .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let run_id = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The run ends (it fails: the source has no table); then a dead letter of it is stored.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let run: Value = app
            .get(&format!("/api/v1/interop/runs/{run_id}"), ADMIN_TOKEN)
            .await
            .json()
            .await
            .unwrap();
        if ["succeeded", "failed", "cancelled"].contains(&run["status"].as_str().unwrap()) {
            break;
        }
        assert!(Instant::now() < deadline, "{run}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let letter_id = format!("0190c0de-0000-7000-8000-{:012}", 1);
    let insert = async {
        storage::with_conn!(&app.database, |conn| {
            storage::sqlx::query(
                "INSERT INTO dead_letters (id, run_id, flow_id, stage, record, reason, status, created_at) \
                 VALUES ($1, $2, $3, 'mapping', '{\"id\": 1}', 'refused', 'pending', $4)",
            )
            .bind(&letter_id)
            .bind(&run_id)
            .bind(&flow_id)
            .bind(chrono::Utc::now())
            .execute(conn)
            .await
            .map(|_| ())
        })
        .map_err(storage::map_sqlx_error)
    };
    insert.await.unwrap();

    let (mia_id, mia) = app.user_with_token("mia", "member").await;
    let hidden = [
        (Method::GET, format!("/api/v1/interop/flows/{flow_id}")),
        (
            Method::GET,
            format!("/api/v1/interop/flows/{flow_id}/stats"),
        ),
        (
            Method::GET,
            format!("/api/v1/interop/flows/{flow_id}/dead-letters"),
        ),
        (
            Method::POST,
            format!("/api/v1/interop/flows/{flow_id}/runs"),
        ),
        (Method::DELETE, format!("/api/v1/interop/flows/{flow_id}")),
        (Method::GET, format!("/api/v1/interop/runs/{run_id}")),
        (Method::GET, format!("/api/v1/interop/runs/{run_id}/events")),
        (
            Method::GET,
            format!("/api/v1/interop/runs/{run_id}/events/stream"),
        ),
        (
            Method::GET,
            format!("/api/v1/interop/runs/{run_id}/dead-letters"),
        ),
        (
            Method::POST,
            format!("/api/v1/interop/runs/{run_id}/cancel"),
        ),
    ];
    for (method, path) in &hidden {
        let body = problem(
            send(app, method.clone(), path, &mia, None).await,
            StatusCode::NOT_FOUND,
        )
        .await;
        assert_eq!(body["code"], "not_found", "{method} {path}");
        // A run's 404 names the run, not its flow.
        if path.contains("/runs/") && !path.contains("/flows/") {
            assert!(
                !body["detail"].as_str().unwrap().contains(&flow_id),
                "{body}"
            );
        }
    }
    for path in [
        "/api/v1/interop/runs".to_owned(),
        format!("/api/v1/interop/runs?flow_id={flow_id}"),
        "/api/v1/interop/flows".to_owned(),
    ] {
        let (ids, _) = list_all(app, &path, &mia, 10).await;
        assert!(ids.is_empty(), "{path}: {ids:?}");
    }
    for body in [json!({"ids": [letter_id]}), json!({"flow_id": flow_id})] {
        let response = app
            .post_json("/api/v1/interop/dead-letters/replay", &mia, body)
            .await;
        assert_eq!(
            problem(response, StatusCode::UNPROCESSABLE_ENTITY).await["code"],
            "validation_failed"
        );
    }
    let response = app
        .post_json(
            "/api/v1/interop/dead-letters/discard",
            &mia,
            json!({"ids": [letter_id]}),
        )
        .await;
    assert_eq!(response.json::<Value>().await.unwrap()["discarded"], 0);

    // A viewer of the flow sees it, its runs and letters, but may not act on them.
    relate(
        app,
        vec![tuple(
            &format!("flow:{flow_id}"),
            "viewer",
            &format!("user:{mia_id}"),
        )],
        Vec::new(),
    )
    .await;
    eventually(
        app,
        Method::GET,
        &format!("/api/v1/interop/runs/{run_id}"),
        &mia,
        StatusCode::OK,
    )
    .await;
    let (ids, _) = list_all(app, "/api/v1/interop/runs", &mia, 1).await;
    assert_eq!(ids, vec![run_id.clone()]);
    let (ids, _) = list_all(
        app,
        &format!("/api/v1/interop/flows/{flow_id}/dead-letters"),
        &mia,
        1,
    )
    .await;
    assert_eq!(ids, vec![letter_id.clone()]);
    let (ids, _) = list_all(
        app,
        &format!("/api/v1/interop/runs/{run_id}/dead-letters"),
        &mia,
        1,
    )
    .await;
    assert_eq!(ids, vec![letter_id.clone()]);
    for (method, path, body) in [
        (
            Method::POST,
            format!("/api/v1/interop/runs/{run_id}/cancel"),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/interop/flows/{flow_id}/runs"),
            None,
        ),
        (
            Method::POST,
            "/api/v1/interop/dead-letters/discard".to_owned(),
            Some(json!({"ids": [letter_id]})),
        ),
        (
            Method::POST,
            "/api/v1/interop/dead-letters/replay".to_owned(),
            Some(json!({"flow_id": flow_id})),
        ),
    ] {
        let response = send(app, method.clone(), &path, &mia, body).await;
        assert_eq!(
            problem(response, StatusCode::FORBIDDEN).await["code"],
            "forbidden",
            "{method} {path}"
        );
    }

    // An operator of the flow discards its letters.
    relate(
        app,
        vec![tuple(
            &format!("flow:{flow_id}"),
            "operator",
            &format!("user:{mia_id}"),
        )],
        Vec::new(),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response = app
            .post_json(
                "/api/v1/interop/dead-letters/discard",
                &mia,
                json!({"ids": [letter_id]}),
            )
            .await;
        if response.status() == StatusCode::OK {
            assert_eq!(response.json::<Value>().await.unwrap()["discarded"], 1);
            break;
        }
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(
            Instant::now() < deadline,
            "the operator grant never arrived"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn a_flow_or_mapping_cannot_be_built_on_what_its_author_cannot_see(app: &TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let source = create_connector(app, ADMIN_TOKEN, "src", sql_config(&dir, "s.db")).await;
    let target = create_connector(app, ADMIN_TOKEN, "dst", sql_config(&dir, "t.db")).await;
    let secret = create_connector(app, ADMIN_TOKEN, "finance", sql_config(&dir, "f.db")).await;
    let flow_body = |target: &str, extra: Value| {
        let mut body = json!({
            "name": "shared-flow",
            "source": {"connector": source, "stream": "items"},
            "target": {"connector": target, "stream": "items", "mode": "insert"},
        });
        for (key, value) in extra.as_object().unwrap() {
            body[key] = value.clone();
        }
        body
    };
    let inline = json!({"mapping": {"rules": [{"target": "id", "source": "id"}]}});
    let flow = created(
        app.post_json(
            "/api/v1/interop/flows",
            ADMIN_TOKEN,
            flow_body(&target, inline.clone()),
        )
        .await,
    )
    .await;
    let flow_id = flow["id"].as_str().unwrap().to_owned();
    let hidden_mapping = created(
        app.post_json(
            "/api/v1/interop/mappings",
            ADMIN_TOKEN,
            json!({"name": "finance-map", "rules": [{"target": "id", "source": "id"}]}),
        )
        .await,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mapping = created(
        app.post_json(
            "/api/v1/interop/mappings",
            ADMIN_TOKEN,
            json!({"name": "shared-map", "source": {"connector": source, "stream": "items"}, "rules": [{"target": "id", "source": "id"}]}),
        )
        .await,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Mia edits the flow and the mapping, and sees the flow's two connectors — not the
    // finance connector or mapping.
    let (mia_id, mia) = app.user_with_token("mia", "member").await;
    let mia_subject = format!("user:{mia_id}");
    relate(
        app,
        vec![
            tuple(&format!("flow:{flow_id}"), "editor", &mia_subject),
            tuple(&format!("mapping:{mapping}"), "editor", &mia_subject),
            tuple(&format!("connector:{source}"), "viewer", &mia_subject),
            tuple(&format!("connector:{target}"), "viewer", &mia_subject),
        ],
        Vec::new(),
    )
    .await;
    let flow_path = format!("/api/v1/interop/flows/{flow_id}");
    eventually(app, Method::GET, &flow_path, &mia, StatusCode::OK).await;
    let put = |path: String, body: Value| {
        let mia = mia.clone();
        async move { send(app, Method::PUT, &path, &mia, Some(body)).await }
    };
    assert_eq!(
        put(flow_path.clone(), flow_body(&target, inline.clone()))
            .await
            .status(),
        StatusCode::OK
    );

    // Pointing the flow at the finance connector or mapping is refused exactly as pointing
    // it at an id that does not exist: the reference names nothing she may see.
    let unknown = "0190c0de-0000-7000-8000-0000000000bb";
    let mut answers = Vec::new();
    for id in [secret.as_str(), unknown] {
        let body = problem(
            put(flow_path.clone(), flow_body(id, inline.clone())).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        answers.push(body["errors"].clone());
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0][0]["path"], "/target/connector", "{answers:?}");
    let mut answers = Vec::new();
    for id in [hidden_mapping.as_str(), unknown] {
        let body = problem(
            put(
                flow_path.clone(),
                flow_body(&target, json!({"mapping_id": id})),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        answers.push(body["errors"].clone());
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0][0]["path"], "/mapping_id", "{answers:?}");
    let stored: Value = app.get(&flow_path, ADMIN_TOKEN).await.json().await.unwrap();
    assert_eq!(
        stored["definition"]["target"]["connector"],
        target.as_str(),
        "{stored}"
    );

    // The same for a mapping's ends.
    let mapping_path = format!("/api/v1/interop/mappings/{mapping}");
    let mapping_body = |connector: &str| json!({"name": "shared-map", "source": {"connector": connector, "stream": "items"}, "rules": [{"target": "id", "source": "id"}]});
    assert_eq!(
        put(mapping_path.clone(), mapping_body(&source))
            .await
            .status(),
        StatusCode::OK
    );
    let mut answers = Vec::new();
    for id in [secret.as_str(), unknown] {
        let body = problem(
            put(mapping_path.clone(), mapping_body(id)).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        answers.push(body["errors"].clone());
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0][0]["path"], "/source/connector", "{answers:?}");
    // Nor can she sample the finance connector through a preview.
    let response = app
        .post_json(
            "/api/v1/interop/mappings/preview",
            &mia,
            json!({"rules": [{"target": "id", "source": "id"}], "source": {"connector": secret, "stream": "items"}}),
        )
        .await;
    assert_eq!(
        problem(response, StatusCode::NOT_FOUND).await["code"],
        "not_found"
    );
}

async fn roles_keep_working(app: &TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let a = create_connector(app, ADMIN_TOKEN, "a", sql_config(&dir, "a.db")).await;
    let b = create_connector(app, ADMIN_TOKEN, "b", sql_config(&dir, "b.db")).await;

    // A viewer sees everything and changes nothing. (A viewer *user*: a viewer token of
    // the admin would still act through the admin's own relationships — it owns what it
    // created — since relationships count under any credential role.)
    let (_, viewer) = app.user_with_token("vera", "viewer").await;
    let (ids, _) = list_all(app, "/api/v1/interop/connectors", &viewer, 1).await;
    assert_eq!(ids.iter().cloned().collect::<BTreeSet<_>>(), set(&[&a, &b]));
    assert_eq!(
        app.get(&format!("/api/v1/interop/connectors/{a}"), &viewer)
            .await
            .status(),
        StatusCode::OK
    );
    for response in [
        put_connector(app, &viewer, &a, "a2", sql_config(&dir, "a.db")).await,
        send(
            app,
            Method::DELETE,
            &format!("/api/v1/interop/connectors/{a}"),
            &viewer,
            None,
        )
        .await,
        app.post_json(
            "/api/v1/interop/connectors",
            &viewer,
            json!({"name": "v", "type": "sql", "config": sql_config(&dir, "v.db")}),
        )
        .await,
    ] {
        assert_eq!(
            problem(response, StatusCode::FORBIDDEN).await["code"],
            "forbidden"
        );
    }

    // An operator (no relationship of their own) changes and deletes everything.
    let (_, operator) = app.user_with_token("otto", "operator").await;
    assert_eq!(
        put_connector(app, &operator, &a, "a2", sql_config(&dir, "a.db"))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        status(
            app,
            Method::DELETE,
            &format!("/api/v1/interop/connectors/{b}"),
            &operator,
            None
        )
        .await,
        StatusCode::NO_CONTENT
    );
    let c = create_connector(app, &operator, "c", sql_config(&dir, "c.db")).await;
    let (ids, _) = list_all(app, "/api/v1/interop/connectors", &viewer, 1).await;
    assert_eq!(ids.iter().cloned().collect::<BTreeSet<_>>(), set(&[&a, &c]));
}
