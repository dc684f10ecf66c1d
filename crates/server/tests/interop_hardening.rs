//! Reliability and integrity of the Interoperability Engine, through the HTTP API of real
//! servers on SQLite and on PostgreSQL, tried as the fault or the attacker would:
//!
//! - a connector or mapping a flow uses cannot be deleted (409 listing the flows) unless
//!   the caller asks for a cascade, which refuses while a run of those flows is going;
//! - a captured webhook request cannot be replayed, and stale or old-style signatures are
//!   refused;
//! - two operators replaying the same dead letters at once write each letter once;
//! - a server stopping (SIGTERM's path: `Platform::serve`'s shutdown) stops its runs at a
//!   batch boundary, and the next server resumes them from the checkpoint — nothing lost,
//!   nothing written twice;
//! - a run of a flow without a timeout stops at the default run timeout.
//!
//! The source is a REST API run by the test; the target a SQLite file whose table has no
//! key, so a record written twice shows as two rows.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use axum::response::{IntoResponse, Response as AxumResponse};
use axum::routing::get;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use storage::sqlx;
use support::{ADMIN_TOKEN, Backend, Options, TestApp, TestDatabase, problem};

on_both_backends!(
    connectors_and_mappings_in_use_are_not_deleted_without_an_explicit_cascade,
    a_replayed_or_stale_webhook_is_refused,
    two_concurrent_replays_write_each_letter_once,
);

const UPSTREAM_TOKEN: &str = "upstream-token-value";

struct Upstream {
    records: Mutex<Vec<Value>>,
    delay: Duration,
}

async fn customers(
    State(api): State<Arc<Upstream>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> AxumResponse {
    let authorized = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value == format!("Bearer {UPSTREAM_TOKEN}"));
    if !authorized {
        return AxumStatus::UNAUTHORIZED.into_response();
    }
    tokio::time::sleep(api.delay).await;
    let offset: usize = query
        .get("cursor")
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let limit: usize = query
        .get("limit")
        .and_then(|c| c.parse().ok())
        .unwrap_or(10);
    let records = api.records.lock().unwrap().clone();
    let end = (offset + limit).min(records.len());
    let data = records[offset.min(end)..end].to_vec();
    let next = (end < records.len()).then(|| end.to_string());
    axum::Json(json!({"data": data, "next_cursor": next})).into_response()
}

async fn start_upstream(records: Vec<Value>, delay: Duration) -> String {
    let api = Arc::new(Upstream {
        records: Mutex::new(records),
        delay,
    });
    let app = Router::new()
        .route("/customers", get(customers))
        .with_state(api);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

fn customer(id: u64) -> Value {
    json!({"id": id, "name": format!("Customer {id}"), "score": (id * 10).to_string()})
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
    assert!(response.status().is_success(), "{}", response.status());
}

async fn create(app: &TestApp, path: &str, body: Value) -> Value {
    let response = app.post_json(path, ADMIN_TOKEN, body).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

async fn delete(app: &TestApp, path: &str) -> reqwest::Response {
    app.request(Method::DELETE, path, Some(ADMIN_TOKEN))
        .send()
        .await
        .unwrap()
}

/// A SQLite target file with a `customers` table WITHOUT a key: a record written twice is
/// two rows.
struct Target {
    _dir: tempfile::TempDir,
    url: String,
}

impl Target {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("target.db").display());
        let pool = sqlx::SqlitePool::connect(&format!("{url}?mode=rwc"))
            .await
            .unwrap();
        sqlx::query(
            "CREATE TABLE customers (id INTEGER, name TEXT NOT NULL, score INTEGER, note TEXT)",
        )
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
        Self { _dir: dir, url }
    }

    async fn scalar(&self, sql: &str) -> i64 {
        let pool = sqlx::SqlitePool::connect(&self.url).await.unwrap();
        let value: i64 = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
        pool.close().await;
        value
    }

    async fn rows(&self) -> i64 {
        self.scalar("SELECT count(*) FROM customers").await
    }

    async fn distinct_ids(&self) -> i64 {
        self.scalar("SELECT count(DISTINCT id) FROM customers")
            .await
    }
}

/// Connectors for the upstream API and the target; returns (source id, target id).
async fn connectors(
    app: &TestApp,
    base: &str,
    target: &Target,
    page_size: usize,
) -> (String, String) {
    set_secret(app, "upstream-token", UPSTREAM_TOKEN).await;
    let source = create(
        app,
        "/api/v1/interop/connectors",
        json!({"name": format!("api-{}", uuid::Uuid::now_v7().simple()), "type": "rest", "config": {
            "type": "rest",
            "base_url": base,
            "allow_insecure_http": true,
            "auth": {"type": "bearer", "token": "local:upstream-token"},
            "streams": [{
                "name": "customers",
                "path": "/customers",
                "params": {"limit": page_size},
                "records": "$.data",
                "primary_key": ["id"],
                "paginator": {"type": "cursor", "cursor_path": "$.next_cursor", "param": "cursor"},
                "incremental": {"cursor_field": "id"}
            }]
        }}),
    )
    .await;
    let target = create(
        app,
        "/api/v1/interop/connectors",
        json!({"name": format!("db-{}", uuid::Uuid::now_v7().simple()), "type": "sql", "config": {
            "type": "sql", "url": target.url
        }}),
    )
    .await;
    (
        source["id"].as_str().unwrap().to_owned(),
        target["id"].as_str().unwrap().to_owned(),
    )
}

fn plain_rules() -> Value {
    json!([
        {"target": "id", "source": "id", "cast": "int"},
        {"target": "name", "source": "name"},
        {"target": "score", "source": "score", "cast": "int"}
    ])
}

/// A flow inserting into the keyless target (so duplicates show).
fn flow_body(source: &str, target: &str, extra: Value) -> Value {
    let mut body = json!({
        "name": format!("flow-{}", uuid::Uuid::now_v7().simple()),
        "source": {"connector": source, "stream": "customers"},
        "target": {"connector": target, "stream": "customers", "mode": "insert"},
        "mapping": {"rules": plain_rules()},
        "options": {"batch_size": 10}
    });
    for (key, value) in extra.as_object().unwrap() {
        body[key] = value.clone();
    }
    body
}

async fn start_run(app: &TestApp, flow_id: &str) -> String {
    let response = app
        .request(
            Method::POST,
            &format!("/api/v1/interop/flows/{flow_id}/runs"),
            Some(ADMIN_TOKEN),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let body: Value = response.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

async fn wait_run(app: &TestApp, run_id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let run: Value = app
            .get(&format!("/api/v1/interop/runs/{run_id}"), ADMIN_TOKEN)
            .await
            .json()
            .await
            .unwrap();
        if done(&run) {
            return run;
        }
        assert!(Instant::now() < deadline, "run did not get there: {run}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn finished(run: &Value) -> bool {
    matches!(
        run["status"].as_str(),
        Some("succeeded" | "failed" | "cancelled")
    )
}

async fn db_scalar(db: &storage::Database, sql: &str) -> Result<i64, kernel::Error> {
    Ok(storage::with_conn!(db, |conn| {
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(conn)
            .await
            .map_err(storage::map_sqlx_error)?
    }))
}

async fn db_execute(
    db: &storage::Database,
    sql: &str,
    args: &[&str],
) -> Result<u64, kernel::Error> {
    Ok(storage::with_conn!(db, |conn| {
        let mut query = sqlx::query(sql);
        for arg in args {
            query = query.bind(*arg);
        }
        query
            .execute(conn)
            .await
            .map_err(storage::map_sqlx_error)?
            .rows_affected()
    }))
}

fn flow_ids(problem: &Value) -> Vec<String> {
    let mut ids: Vec<String> = problem["flows"]
        .as_array()
        .unwrap_or_else(|| panic!("a `flows` list: {problem}"))
        .iter()
        .map(|flow| flow["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

async fn connectors_and_mappings_in_use_are_not_deleted_without_an_explicit_cascade(app: &TestApp) {
    // 100 records, 5 per page, 100 ms a page: a run lasts seconds.
    let base = start_upstream(
        (1..=100).map(customer).collect(),
        Duration::from_millis(100),
    )
    .await;
    let target = Target::new().await;
    let (source, target_id) = connectors(app, &base, &target, 5).await;
    let mapping = create(
        app,
        "/api/v1/interop/mappings",
        json!({"name": format!("m-{}", uuid::Uuid::now_v7().simple()), "rules": plain_rules()}),
    )
    .await;
    let mapping_id = mapping["id"].as_str().unwrap();
    let mut with_mapping = flow_body(&source, &target_id, json!({"mapping_id": mapping_id}));
    with_mapping.as_object_mut().unwrap().remove("mapping");
    let flow_a = create(app, "/api/v1/interop/flows", with_mapping).await;
    let flow_b = create(
        app,
        "/api/v1/interop/flows",
        flow_body(&source, &target_id, json!({"options": {"batch_size": 5}})),
    )
    .await;
    let (a, b) = (
        flow_a["id"].as_str().unwrap().to_owned(),
        flow_b["id"].as_str().unwrap().to_owned(),
    );
    let mut both = vec![a.clone(), b.clone()];
    both.sort();

    // The connector both flows use: 409 in_use naming both, with their names.
    let refused = problem(
        delete(app, &format!("/api/v1/interop/connectors/{source}")).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(refused["code"], "in_use", "{refused}");
    assert_eq!(flow_ids(&refused), both, "{refused}");
    let names: Vec<&str> = refused["flows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|flow| flow["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&flow_a["name"].as_str().unwrap()),
        "{refused}"
    );
    assert!(
        refused["detail"].as_str().unwrap().contains("cascade"),
        "{refused}"
    );
    assert_eq!(
        app.get(&format!("/api/v1/interop/connectors/{source}"), ADMIN_TOKEN)
            .await
            .status(),
        StatusCode::OK,
        "nothing was deleted"
    );
    // The mapping only flow A uses.
    let refused = problem(
        delete(app, &format!("/api/v1/interop/mappings/{mapping_id}")).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(refused["code"], "in_use");
    assert_eq!(flow_ids(&refused), vec![a.clone()]);
    // The parameter is strict.
    problem(
        delete(
            app,
            &format!("/api/v1/interop/connectors/{source}?cascade=yes"),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    // A stale If-Match is still 412, before anything else.
    let stale = app
        .request(
            Method::DELETE,
            &format!("/api/v1/interop/connectors/{source}?cascade=true"),
            Some(ADMIN_TOKEN),
        )
        .header("if-match", "\"7\"")
        .send()
        .await
        .unwrap();
    problem(stale, StatusCode::PRECONDITION_FAILED).await;

    // The database itself refuses a dangling reference, whoever deletes or inserts.
    let deleted = db_execute(
        &app.database,
        "DELETE FROM connectors WHERE id = $1",
        &[&source],
    )
    .await;
    assert!(deleted.is_err(), "the foreign key refuses: {deleted:?}");
    let dangling = db_execute(
        &app.database,
        "INSERT INTO flow_connector_uses (flow_id, connector_id) VALUES ($1, $2)",
        &[&a, "0190c0de-0000-7000-8000-00000000dead"],
    )
    .await;
    assert!(dangling.is_err(), "the foreign key refuses: {dangling:?}");

    // A cascade while a run of flow B is going deletes nothing: the run keeps its flow.
    let run = start_run(app, &b).await;
    wait_run(app, &run, |run| run["status"] == "running").await;
    let refused = problem(
        delete(
            app,
            &format!("/api/v1/interop/connectors/{source}?cascade=true"),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(refused["code"], "run_in_progress", "{refused}");
    assert_eq!(flow_ids(&refused), vec![b.clone()]);
    for flow in [&a, &b] {
        assert_eq!(
            app.get(&format!("/api/v1/interop/flows/{flow}"), ADMIN_TOKEN)
                .await
                .status(),
            StatusCode::OK
        );
    }
    let cancel = app
        .request(
            Method::POST,
            &format!("/api/v1/interop/runs/{run}/cancel"),
            Some(ADMIN_TOKEN),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(cancel.status(), StatusCode::ACCEPTED);
    let ended = wait_run(app, &run, finished).await;
    assert_eq!(ended["status"], "cancelled", "{ended}");

    // An explicit cascade deletes the mapping with flow A only.
    let gone = delete(
        app,
        &format!("/api/v1/interop/mappings/{mapping_id}?cascade=true"),
    )
    .await;
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&format!("/api/v1/interop/flows/{a}"), ADMIN_TOKEN)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    // Now only flow B uses the connector; the cascade takes it and its runs.
    let refused = problem(
        delete(app, &format!("/api/v1/interop/connectors/{source}")).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(flow_ids(&refused), vec![b.clone()]);
    let gone = delete(
        app,
        &format!("/api/v1/interop/connectors/{source}?cascade=true"),
    )
    .await;
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);
    for path in [
        format!("/api/v1/interop/flows/{b}"),
        format!("/api/v1/interop/runs/{run}"),
        format!("/api/v1/interop/connectors/{source}"),
    ] {
        assert_eq!(
            app.get(&path, ADMIN_TOKEN).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    // The target is unused now: a plain delete works.
    assert_eq!(
        delete(app, &format!("/api/v1/interop/connectors/{target_id}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
}

/// `t=<now + offset>,v1=<HMAC of "<t>.<body>">`.
fn sign(key: &[u8], offset_secs: i64, body: &[u8]) -> String {
    interop::webhook_signature(key, chrono::Utc::now().timestamp() + offset_secs, body)
}

async fn hook(app: &TestApp, path: &str, signature: &str, body: &[u8]) -> reqwest::Response {
    app.request(Method::POST, path, None)
        .header("x-grimos-signature", signature)
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
}

async fn a_replayed_or_stale_webhook_is_refused(app: &TestApp) {
    let base = start_upstream((1..=3).map(customer).collect(), Duration::ZERO).await;
    let target = Target::new().await;
    let (source, target_id) = connectors(app, &base, &target, 10).await;
    set_secret(app, "flow-hook", "hook-secret-value").await;
    let flow = create(
        app,
        "/api/v1/interop/flows",
        flow_body(
            &source,
            &target_id,
            json!({"webhook_secret": "local:flow-hook", "options": {"allow_concurrent_runs": true}}),
        ),
    )
    .await;
    let flow_id = flow["id"].as_str().unwrap();
    let path = format!("/api/v1/hooks/flows/{flow_id}");
    let body = br#"{"reason":"nightly"}"#;
    let key = b"hook-secret-value";

    // The old form is refused with the new form explained.
    let old = format!("sha256={}", "5b".repeat(32));
    let refused = problem(hook(app, &path, &old, body).await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(refused["code"], "invalid_signature");
    let detail = refused["detail"].as_str().unwrap();
    assert!(detail.contains("no longer accepted"), "{detail}");
    assert!(detail.contains("t=<unix seconds>,v1="), "{detail}");

    // Signed with another key; or the right key over another body.
    for signature in [
        sign(b"other-secret", 0, body),
        sign(key, 0, br#"{"reason":"other"}"#),
    ] {
        let refused = problem(
            hook(app, &path, &signature, body).await,
            StatusCode::UNAUTHORIZED,
        )
        .await;
        assert_eq!(refused["code"], "invalid_signature", "{refused}");
    }
    // A timestamp outside the window, either way, even correctly signed.
    for offset in [-301, 301, -86_400] {
        let refused = problem(
            hook(app, &path, &sign(key, offset, body), body).await,
            StatusCode::UNAUTHORIZED,
        )
        .await;
        assert_eq!(refused["code"], "signature_expired", "{offset}: {refused}");
    }
    // The timestamp is covered: moving t on a captured signature breaks it.
    let captured = sign(key, 0, body);
    let (_, v1) = captured.split_once(",v1=").unwrap();
    let moved = format!("t={},v1={v1}", chrono::Utc::now().timestamp() + 1);
    let refused = problem(
        hook(app, &path, &moved, body).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(refused["code"], "invalid_signature");

    // A valid request starts a run; the same request sent again is refused.
    let accepted = hook(app, &path, &captured, body).await;
    assert_eq!(accepted.status(), StatusCode::ACCEPTED);
    let run: Value = accepted.json().await.unwrap();
    let replayed = problem(
        hook(app, &path, &captured, body).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(replayed["code"], "signature_reused", "{replayed}");
    // Also with the header dressed up (spaces, an extra scheme, upper case hex).
    let dressed = format!(
        " v0=abc , {}",
        captured
            .to_uppercase()
            .replace("T=", "t=")
            .replace("V1=", "v1=")
    );
    let replayed = problem(
        hook(app, &path, &dressed, body).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(
        replayed["code"], "signature_reused",
        "{dressed}: {replayed}"
    );
    let runs: Value = app
        .get(
            &format!("/api/v1/interop/runs?flow_id={flow_id}"),
            ADMIN_TOKEN,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        runs["items"].as_array().unwrap().len(),
        1,
        "only the first request started a run: {runs}"
    );
    let run_id = run["id"].as_str().unwrap();
    assert_eq!(wait_run(app, run_id, finished).await["status"], "succeeded");

    // A re-signed retry with the same Idempotency-Key finds the run it started.
    let keyed = |signature: String| {
        app.request(Method::POST, &path, None)
            .header("x-grimos-signature", signature)
            .header("idempotency-key", "nightly-2024-03-10")
            .body(body.to_vec())
            .send()
    };
    // (Same body, other times than the requests above: other signatures.)
    let first = keyed(sign(key, -2, body)).await.unwrap();
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    let first: Value = first.json().await.unwrap();
    let retry = keyed(sign(key, -3, body)).await.unwrap();
    assert_eq!(retry.status(), StatusCode::OK);
    let retry: Value = retry.json().await.unwrap();
    assert_eq!(retry["id"], first["id"]);

    // Seen signatures are kept in the database until their window ends, then purged.
    let db = &app.database;
    let long_gone = chrono::Utc::now() - chrono::Duration::hours(1);
    assert!(
        interop::flow_store::record_webhook_signature(
            db,
            flow_id,
            "0".repeat(64).as_str(),
            long_gone
        )
        .await
        .unwrap()
    );
    let count = || db_scalar(db, "SELECT count(*) FROM webhook_signatures");
    let before = count().await.unwrap();
    assert_eq!(before, 4, "three accepted signatures and the old one");
    assert_eq!(
        interop::flow_store::purge_webhook_signatures(db, chrono::Utc::now())
            .await
            .unwrap(),
        1
    );
    assert_eq!(count().await.unwrap(), 3);
}

/// A flow whose mapping rejects the records with a non-numeric score; returns the flow,
/// its body and the ids of the `rejected` dead letters.
async fn flow_with_dead_letters(
    app: &TestApp,
    target: &Target,
    records: usize,
    bad: impl Fn(usize) -> bool,
) -> (String, Value, Vec<String>) {
    let records: Vec<Value> = (1..=records as u64)
        .map(|id| {
            let mut record = customer(id);
            if bad(id as usize) {
                record["score"] = json!("n/a");
            }
            record
        })
        .collect();
    let base = start_upstream(records, Duration::ZERO).await;
    let (source, target_id) = connectors(app, &base, target, 50).await;
    let body = flow_body(&source, &target_id, json!({"options": {"batch_size": 50}}));
    let flow = create(app, "/api/v1/interop/flows", body.clone()).await;
    let flow_id = flow["id"].as_str().unwrap().to_owned();
    let run = start_run(app, &flow_id).await;
    let run = wait_run(app, &run, finished).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let letters: Value = app
        .get(
            &format!("/api/v1/interop/flows/{flow_id}/dead-letters?status=pending&limit=500"),
            ADMIN_TOKEN,
        )
        .await
        .json()
        .await
        .unwrap();
    let ids = letters["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|letter| letter["id"].as_str().unwrap().to_owned())
        .collect();
    (flow_id, body, ids)
}

async fn wait_replay(app: &TestApp, job_id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let response = app
            .get(
                &format!("/api/v1/interop/dead-letters/replays/{job_id}"),
                ADMIN_TOKEN,
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let job: Value = response.json().await.unwrap();
        if job["status"] != "running" {
            return job;
        }
        assert!(Instant::now() < deadline, "replay did not finish: {job}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn two_concurrent_replays_write_each_letter_once(app: &TestApp) {
    let target = Target::new().await;
    // 120 records, every third one rejected by the mapping: 40 dead letters.
    let (flow_id, body, letters) =
        flow_with_dead_letters(app, &target, 120, |id| id % 3 == 0).await;
    assert_eq!(letters.len(), 40);
    assert_eq!(target.rows().await, 80);

    // Fix the mapping: non-numeric scores go to `note`.
    let mut fixed = body;
    fixed["mapping"]["rules"] = json!([
        {"target": "id", "source": "id", "cast": "int"},
        {"target": "name", "source": "name"},
        {"target": "note", "source": "score"}
    ]);
    let updated = app
        .request(
            Method::PUT,
            &format!("/api/v1/interop/flows/{flow_id}"),
            Some(ADMIN_TOKEN),
        )
        .json(&fixed)
        .send()
        .await
        .unwrap();
    assert_eq!(updated.status(), StatusCode::OK);

    // Two operators replay the same letters at the same moment (one by ids, in another
    // order; one by flow).
    let mut reversed = letters.clone();
    reversed.reverse();
    let (first, second) = tokio::join!(
        app.post_json(
            "/api/v1/interop/dead-letters/replay",
            ADMIN_TOKEN,
            json!({"ids": reversed}),
        ),
        app.post_json(
            "/api/v1/interop/dead-letters/replay",
            ADMIN_TOKEN,
            json!({"flow_id": flow_id}),
        ),
    );
    let mut jobs = Vec::new();
    for response in [first, second] {
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        let accepted: Value = response.json().await.unwrap();
        assert_eq!(accepted["status"], "running");
        assert!(location.ends_with(accepted["id"].as_str().unwrap()));
        jobs.push(accepted);
    }
    // By ids: all 40; by flow: the letters still pending when it looked.
    assert_eq!(jobs[0]["requested"], 40);
    assert!(jobs[1]["requested"].as_u64().unwrap() <= 40);
    let claimed: u64 = jobs
        .iter()
        .map(|job| job["claimed"].as_u64().unwrap())
        .sum();
    assert_eq!(
        claimed, 40,
        "each letter is claimed by exactly one replay: {jobs:?}"
    );
    let mut replayed = 0;
    for job in &jobs {
        let done = wait_replay(app, job["id"].as_str().unwrap()).await;
        assert_eq!(done["status"], "succeeded", "{done}");
        let requested = job["requested"].as_u64().unwrap();
        assert_eq!(
            done["results"].as_array().unwrap().len() as u64,
            requested,
            "{done}"
        );
        assert_eq!(done["replayed"], job["claimed"], "{done}");
        assert_eq!(
            done["skipped"].as_u64().unwrap(),
            requested - job["claimed"].as_u64().unwrap()
        );
        replayed += done["replayed"].as_u64().unwrap();
        for item in done["results"].as_array().unwrap() {
            if item["status"] == "skipped" {
                assert!(
                    item["reason"].as_str().unwrap().contains("another replay")
                        || item["reason"].as_str().unwrap().contains("replayed"),
                    "{item}"
                );
            }
        }
    }
    assert_eq!(replayed, 40);
    // Each letter written once: 120 rows, 120 ids.
    assert_eq!(target.rows().await, 120);
    assert_eq!(target.distinct_ids().await, 120);
    // Replaying again writes nothing: they are all replayed.
    let again = app
        .post_json(
            "/api/v1/interop/dead-letters/replay",
            ADMIN_TOKEN,
            json!({"ids": letters}),
        )
        .await;
    assert_eq!(again.status(), StatusCode::ACCEPTED);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["claimed"], 0);
    let done = wait_replay(app, again["id"].as_str().unwrap()).await;
    assert_eq!(done["skipped"], 40);
    assert_eq!(done["results"][0]["reason"], "the dead letter is replayed");
    assert_eq!(target.rows().await, 120);

    // The claim itself, as two servers would race for it: disjoint, and together all.
    let target2 = Target::new().await;
    let (_, _, letters) = flow_with_dead_letters(app, &target2, 60, |id| id % 2 == 0).await;
    assert_eq!(letters.len(), 30);
    let db = app.database.clone();
    let (one, two) = tokio::join!(
        interop::dead_letter_store::start_replay(&db, "job-one", None, &letters),
        interop::dead_letter_store::start_replay(&db, "job-two", None, &letters),
    );
    let (one, two) = (one.unwrap(), two.unwrap());
    assert_eq!(one.len() + two.len(), 30, "{one:?} {two:?}");
    assert!(one.iter().all(|id| !two.contains(id)));
    // A claimed letter cannot be discarded under the replay's feet.
    let discarded = app
        .post_json(
            "/api/v1/interop/dead-letters/discard",
            ADMIN_TOKEN,
            json!({"ids": letters}),
        )
        .await;
    let discarded: Value = discarded.json().await.unwrap();
    assert_eq!(discarded["discarded"], 0);
    problem(
        app.get("/api/v1/interop/dead-letters/replays/nope", ADMIN_TOKEN)
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        app.post_json(
            "/api/v1/interop/dead-letters/replay",
            ADMIN_TOKEN,
            json!({"ids": [letters[0], letters[0]]}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
}

/// A flow without `run_timeout_secs` stops at the server's default run timeout
/// (`flows.default_run_timeout_secs`, here 1 s), between batches, target and counters
/// consistent.
async fn a_flow_without_a_timeout_stops_at_the_default_run_timeout(backend: Backend) {
    assert_eq!(
        interop::RunSettings::default().default_run_timeout,
        Some(Duration::from_secs(3600)),
        "one hour unless set"
    );
    let app = TestApp::spawn_with(
        backend,
        Options {
            env: vec![("GRIMOS_FLOWS_DEFAULT_RUN_TIMEOUT_SECS", "1".to_owned())],
        },
    )
    .await;
    // 100 records, 5 per page, 200 ms a page: about 4 s.
    let base = start_upstream(
        (1..=100).map(customer).collect(),
        Duration::from_millis(200),
    )
    .await;
    let target = Target::new().await;
    let (source, target_id) = connectors(&app, &base, &target, 5).await;
    let flow = create(
        &app,
        "/api/v1/interop/flows",
        flow_body(&source, &target_id, json!({"options": {"batch_size": 5}})),
    )
    .await;
    assert!(flow["definition"]["options"]["run_timeout_secs"].is_null());
    let started = Instant::now();
    let run_id = start_run(&app, flow["id"].as_str().unwrap()).await;
    let run = wait_run(&app, &run_id, finished).await;
    assert_eq!(run["status"], "failed", "{run}");
    assert!(
        run["error"]
            .as_str()
            .unwrap_or_default()
            .contains("time limit of 1 s"),
        "{run}"
    );
    assert!(started.elapsed() < Duration::from_secs(4), "stopped early");
    let written = run["records_written"].as_i64().unwrap();
    assert!(written < 100, "{run}");
    assert_eq!(target.rows().await, written, "target and counters agree");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flow_without_a_timeout_stops_at_the_default_run_timeout_on_sqlite() {
    a_flow_without_a_timeout_stops_at_the_default_run_timeout(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flow_without_a_timeout_stops_at_the_default_run_timeout_on_postgres() {
    a_flow_without_a_timeout_stops_at_the_default_run_timeout(Backend::Postgres).await;
}

/// SIGTERM's path: the server stops its run at a batch boundary within the grace period,
/// and the next server on the same database resumes it from the checkpoint. Every record
/// arrives exactly once.
///
/// With a grace period of 0 the run has no time to reach a batch boundary: it is aborted
/// (its open batch rolled back with its checkpoint by the SQL target) and released the same
/// way.
async fn a_stopped_server_hands_its_run_to_the_next_one(backend: Backend, grace_secs: &str) {
    let shared_dir = tempfile::tempdir().unwrap();
    let postgres = match backend {
        Backend::Postgres => Some(TestDatabase::create().await),
        Backend::Sqlite => None,
    };
    let options = || {
        let mut env = vec![
            ("GRIMOS_DATA_DIR", shared_dir.path().display().to_string()),
            ("GRIMOS_SHUTDOWN_GRACE_SECS", grace_secs.to_owned()),
        ];
        if let Some(database) = &postgres {
            env.push(("GRIMOS_DATABASE_URL", database.url.clone()));
        }
        Options { env }
    };
    // 200 records, 5 per page, 60 ms a page: about 2.5 s in one go.
    let base = start_upstream((1..=200).map(customer).collect(), Duration::from_millis(60)).await;
    let target = Target::new().await;

    let first = TestApp::spawn_with(backend, options()).await;
    let (source, target_id) = connectors(&first, &base, &target, 5).await;
    let flow = create(
        &first,
        "/api/v1/interop/flows",
        flow_body(&source, &target_id, json!({"options": {"batch_size": 5}})),
    )
    .await;
    let flow_id = flow["id"].as_str().unwrap().to_owned();
    let run_id = start_run(&first, &flow_id).await;
    wait_run(&first, &run_id, |run| {
        run["records_written"].as_i64().unwrap_or(0) >= 20
    })
    .await;
    let stopping = Instant::now();
    first.stop().await;
    assert!(
        stopping.elapsed() < Duration::from_secs(10),
        "the run stopped at a batch boundary, well within the grace period"
    );
    let written_before = target.rows().await;
    assert!(
        (20..200).contains(&written_before),
        "the run was interrupted: {written_before} rows"
    );

    let second = TestApp::spawn_with(backend, options()).await;
    let run = wait_run(&second, &run_id, finished).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["records_rejected"], 0, "{run}");
    if grace_secs == "0" {
        // Aborted between a batch's commit and its progress record, the counters may miss
        // that one batch (5 records); the target is the truth.
        let read = run["records_read"].as_i64().unwrap();
        assert!((195..=200).contains(&read), "{run}");
        assert_eq!(run["records_written"], run["records_read"], "{run}");
    } else {
        assert_eq!(run["records_read"], 200, "counters carried over: {run}");
        assert_eq!(run["records_written"], 200, "{run}");
    }
    assert_eq!(
        target.rows().await,
        200,
        "nothing lost, nothing written twice"
    );
    assert_eq!(target.distinct_ids().await, 200);
    let events: Value = second
        .get(
            &format!("/api/v1/interop/runs/{run_id}/events?limit=500"),
            ADMIN_TOKEN,
        )
        .await
        .json()
        .await
        .unwrap();
    let messages: Vec<String> = events["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|event| event["message"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default();
    assert!(
        messages.iter().any(|message| message.contains("released")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|message| message.contains("resumed")),
        "{messages:?}"
    );
    // The flow is free again.
    let next = start_run(&second, &flow_id).await;
    assert_eq!(
        wait_run(&second, &next, finished).await["status"],
        "succeeded"
    );
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_server_hands_its_run_to_the_next_one_on_sqlite() {
    a_stopped_server_hands_its_run_to_the_next_one(Backend::Sqlite, "30").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_aborted_past_the_grace_period_is_resumed_too_on_sqlite() {
    a_stopped_server_hands_its_run_to_the_next_one(Backend::Sqlite, "0").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_server_hands_its_run_to_the_next_one_on_postgres() {
    a_stopped_server_hands_its_run_to_the_next_one(Backend::Postgres, "30").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_aborted_past_the_grace_period_is_resumed_too_on_postgres() {
    a_stopped_server_hands_its_run_to_the_next_one(Backend::Postgres, "0").await;
}
