//! Flows, runs, run logs, dead letters, webhooks and schedules of the Interoperability
//! Engine, through the HTTP API of a real server on SQLite and on PostgreSQL. The source
//! is a REST API run by the test (bearer auth, cursor pagination); the target a SQLite
//! file in a temporary directory.

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
use support::{ADMIN_TOKEN, TestApp, problem};

on_both_backends!(
    flows_run_and_an_incremental_run_moves_only_new_rows,
    rejected_records_are_dead_lettered_then_replayed_or_discarded,
    a_second_run_is_refused_and_a_running_run_is_cancelled,
    webhooks_start_runs_only_with_a_valid_signature,
    invalid_flows_name_their_fields_and_viewers_cannot_run,
    schedules_start_runs,
    the_database_refuses_a_second_active_run_of_an_exclusive_flow,
    a_server_fails_only_the_runs_nobody_vouches_for,
);

const UPSTREAM_TOKEN: &str = "upstream-token-value";

/// The test's REST API: `/customers?cursor=&limit=` behind `Bearer upstream-token-value`,
/// each page delayed by `delay`.
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

async fn start_upstream(records: Vec<Value>, delay: Duration) -> (String, Arc<Upstream>) {
    let api = Arc::new(Upstream {
        records: Mutex::new(records),
        delay,
    });
    let app = Router::new()
        .route("/customers", get(customers))
        .with_state(api.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, api)
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

/// A SQLite target file with a `customers` table.
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
        sqlx::query("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score INTEGER, note TEXT)")
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

    async fn count(&self) -> i64 {
        self.scalar("SELECT count(*) FROM customers").await
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

fn flow_body(source: &str, target: &str, rules: Value, extra: Value) -> Value {
    let mut body = json!({
        "name": format!("flow-{}", uuid::Uuid::now_v7().simple()),
        "source": {"connector": source, "stream": "customers"},
        "target": {"connector": target, "stream": "customers", "mode": "upsert"},
        "mapping": {"rules": rules},
        "options": {"batch_size": 10}
    });
    for (key, value) in extra.as_object().unwrap() {
        body[key] = value.clone();
    }
    body
}

fn plain_rules() -> Value {
    json!([
        {"target": "id", "source": "id", "cast": "int"},
        {"target": "name", "source": "name"},
        {"target": "score", "source": "score", "cast": "int"}
    ])
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
    assert_eq!(body["status"], "queued");
    body["id"].as_str().unwrap().to_owned()
}

/// Poll the run until `done` holds (generous deadline).
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
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn wait_finished(app: &TestApp, run_id: &str) -> Value {
    wait_run(app, run_id, |run| {
        matches!(
            run["status"].as_str(),
            Some("succeeded" | "failed" | "cancelled")
        )
    })
    .await
}

async fn flows_run_and_an_incremental_run_moves_only_new_rows(app: &TestApp) {
    let (base, upstream) = start_upstream((1..=25).map(customer).collect(), Duration::ZERO).await;
    let target = Target::new().await;
    let (source, target_id) = connectors(app, &base, &target, 10).await;
    let flow = create(
        app,
        "/api/v1/interop/flows",
        flow_body(&source, &target_id, plain_rules(), json!({})),
    )
    .await;
    let flow_id = flow["id"].as_str().unwrap();
    assert_eq!(flow["enabled"], true);
    assert_eq!(flow["definition"]["source"]["connector"], source.as_str());

    let run_id = start_run(app, flow_id).await;
    let run = wait_finished(app, &run_id).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["trigger"], "manual");
    assert_eq!(run["records_read"], 25);
    assert_eq!(run["records_written"], 25);
    assert_eq!(run["records_rejected"], 0);
    assert!(run["started_at"].is_string() && run["finished_at"].is_string());
    assert_eq!(target.count().await, 25);
    assert_eq!(
        target
            .scalar("SELECT score FROM customers WHERE id = 7")
            .await,
        70
    );

    // Five new records upstream: the next run moves only them.
    upstream
        .records
        .lock()
        .unwrap()
        .extend((26..=30).map(customer));
    let second = start_run(app, flow_id).await;
    let run = wait_finished(app, &second).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["records_read"], 5, "{run}");
    assert_eq!(run["records_written"], 5);
    assert_eq!(target.count().await, 30);

    // The list: newest first, filtered by flow and status, paginated.
    let list: Value = app
        .get(
            &format!("/api/v1/interop/runs?flow_id={flow_id}&status=succeeded&limit=1"),
            ADMIN_TOKEN,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"][0]["id"], second.as_str());
    let cursor = list["next_cursor"].as_str().unwrap();
    let next: Value = app
        .get(
            &format!("/api/v1/interop/runs?flow_id={flow_id}&limit=1&cursor={cursor}"),
            ADMIN_TOKEN,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(next["items"][0]["id"], run_id.as_str());
    assert!(next["next_cursor"].is_null());
    let none: Value = app
        .get(
            &format!("/api/v1/interop/runs?flow_id={flow_id}&status=failed"),
            ADMIN_TOKEN,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(none["items"].as_array().unwrap().len(), 0);
    problem(
        app.get("/api/v1/interop/runs?status=done", ADMIN_TOKEN)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;

    // The run log, paged and as Server-Sent Events read to their end.
    let events: Value = app
        .get(
            &format!("/api/v1/interop/runs/{run_id}/events?limit=1"),
            ADMIN_TOKEN,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(events["items"][0]["message"], "run started");
    let after = events["next_after"].as_i64().unwrap();
    let rest: Value = app
        .get(
            &format!("/api/v1/interop/runs/{run_id}/events?after={after}"),
            ADMIN_TOKEN,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        rest["items"].as_array().unwrap().last().unwrap()["message"],
        "run succeeded"
    );
    let stream = app
        .get(
            &format!("/api/v1/interop/runs/{run_id}/events/stream"),
            ADMIN_TOKEN,
        )
        .await;
    assert_eq!(stream.status(), StatusCode::OK);
    assert!(
        stream.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let text = stream.text().await.unwrap();
    assert!(text.contains("event: run_event"), "{text}");
    assert!(
        text.contains("run started") && text.contains("run succeeded"),
        "{text}"
    );
    assert!(
        text.trim_end().ends_with(r#"data: {"status":"succeeded"}"#),
        "{text}"
    );

    // Idempotency: the same key for the same flow is the same run.
    let first = app
        .request(
            Method::POST,
            &format!("/api/v1/interop/flows/{flow_id}/runs"),
            Some(ADMIN_TOKEN),
        )
        .header("idempotency-key", "nightly-2025-03-10")
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    let first: Value = first.json().await.unwrap();
    let again = app
        .request(
            Method::POST,
            &format!("/api/v1/interop/flows/{flow_id}/runs"),
            Some(ADMIN_TOKEN),
        )
        .header("idempotency-key", "nightly-2025-03-10")
        .send()
        .await
        .unwrap();
    assert!(again.status() == StatusCode::OK, "{}", again.status());
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    wait_finished(app, first["id"].as_str().unwrap()).await;

    // Monitoring figures.
    let stats: Value = app
        .get(
            &format!("/api/v1/interop/flows/{flow_id}/stats"),
            ADMIN_TOKEN,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stats["runs"], 3, "{stats}");
    assert_eq!(stats["success_rate"], 1.0);
    assert_eq!(stats["last_run"]["id"], first["id"]);
    assert!(stats["duration_p95_ms"].is_number());
    assert_eq!(stats["records_per_run_avg"], 10.0);
}

/// Replay dead letters (a background job) and wait for the job's report.
async fn replay(app: &TestApp, body: Value) -> Value {
    let response = app
        .post_json("/api/v1/interop/dead-letters/replay", ADMIN_TOKEN, body)
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let accepted: Value = response.json().await.unwrap();
    let id = accepted["id"].as_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let job: Value = app
            .get(
                &format!("/api/v1/interop/dead-letters/replays/{id}"),
                ADMIN_TOKEN,
            )
            .await
            .json()
            .await
            .unwrap();
        if job["status"] != "running" {
            return job;
        }
        assert!(Instant::now() < deadline, "replay did not finish: {job}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn rejected_records_are_dead_lettered_then_replayed_or_discarded(app: &TestApp) {
    let mut records: Vec<Value> = (1..=10).map(customer).collect();
    records[2]["score"] = json!("n/a");
    records[6]["score"] = json!("n/a");
    let (base, _upstream) = start_upstream(records, Duration::ZERO).await;
    let target = Target::new().await;
    let (source, target_id) = connectors(app, &base, &target, 10).await;
    let body = flow_body(&source, &target_id, plain_rules(), json!({}));
    let flow = create(app, "/api/v1/interop/flows", body.clone()).await;
    let flow_id = flow["id"].as_str().unwrap();

    let run_id = start_run(app, flow_id).await;
    let run = wait_finished(app, &run_id).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["records_written"], 8);
    assert_eq!(run["records_rejected"], 2);
    assert_eq!(target.count().await, 8);

    let letters: Value = app
        .get(
            &format!("/api/v1/interop/runs/{run_id}/dead-letters"),
            ADMIN_TOKEN,
        )
        .await
        .json()
        .await
        .unwrap();
    let items = letters["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{letters}");
    for item in items {
        assert_eq!(item["stage"], "mapping");
        assert_eq!(item["status"], "pending");
        assert!(item["reason"].as_str().unwrap().contains("score"), "{item}");
    }
    assert_eq!(items[0]["record"]["id"], 3);
    let pending: Value = app
        .get(
            &format!("/api/v1/interop/flows/{flow_id}/dead-letters?status=pending"),
            ADMIN_TOKEN,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(pending["items"].as_array().unwrap().len(), 2);

    // Replaying with the unchanged mapping leaves them pending with their reason.
    let first = items[0]["id"].as_str().unwrap();
    let second = items[1]["id"].as_str().unwrap();
    let report = replay(app, json!({"ids": [first]})).await;
    assert_eq!(report["replayed"], 0, "{report}");
    assert_eq!(report["results"][0]["status"], "pending");

    // Fix the mapping (non-numeric scores go to `note`), replay one, discard the other.
    let mut fixed = body.clone();
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
        .header("if-match", "\"1\"")
        .json(&fixed)
        .send()
        .await
        .unwrap();
    assert_eq!(updated.status(), StatusCode::OK);
    assert_eq!(updated.headers()["etag"], "\"2\"");
    let stale = app
        .request(
            Method::PUT,
            &format!("/api/v1/interop/flows/{flow_id}"),
            Some(ADMIN_TOKEN),
        )
        .header("if-match", "\"1\"")
        .json(&fixed)
        .send()
        .await
        .unwrap();
    problem(stale, StatusCode::PRECONDITION_FAILED).await;

    let report = replay(app, json!({"ids": [first]})).await;
    assert_eq!(report["replayed"], 1, "{report}");
    assert_eq!(report["results"][0]["status"], "replayed");
    assert_eq!(target.count().await, 9);
    let note: i64 = target
        .scalar("SELECT count(*) FROM customers WHERE id = 3 AND note = 'n/a'")
        .await;
    assert_eq!(note, 1);

    let discarded: Value = app
        .post_json(
            "/api/v1/interop/dead-letters/discard",
            ADMIN_TOKEN,
            json!({"ids": [second]}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(discarded["discarded"], 1);
    // Nothing pending is left: replaying the flow's pending letters does nothing.
    let report = replay(app, json!({"flow_id": flow_id})).await;
    assert_eq!(report["results"].as_array().unwrap().len(), 0, "{report}");
    let all: Value = app
        .get(
            &format!("/api/v1/interop/flows/{flow_id}/dead-letters"),
            ADMIN_TOKEN,
        )
        .await
        .json()
        .await
        .unwrap();
    let statuses: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, vec!["replayed", "discarded"]);
    problem(
        app.post_json(
            "/api/v1/interop/dead-letters/replay",
            ADMIN_TOKEN,
            json!({"ids": ["nope"]}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
}

async fn a_second_run_is_refused_and_a_running_run_is_cancelled(app: &TestApp) {
    // 200 records, 5 per page, 150 ms per page: about 6 s unless cancelled.
    let (base, _upstream) = start_upstream(
        (1..=200).map(customer).collect(),
        Duration::from_millis(150),
    )
    .await;
    let target = Target::new().await;
    let (source, target_id) = connectors(app, &base, &target, 5).await;
    let body = flow_body(
        &source,
        &target_id,
        plain_rules(),
        json!({"options": {"batch_size": 5}}),
    );
    let flow = create(app, "/api/v1/interop/flows", body).await;
    let flow_id = flow["id"].as_str().unwrap();

    let run_id = start_run(app, flow_id).await;
    let refused = app
        .request(
            Method::POST,
            &format!("/api/v1/interop/flows/{flow_id}/runs"),
            Some(ADMIN_TOKEN),
        )
        .send()
        .await
        .unwrap();
    let refused = problem(refused, StatusCode::CONFLICT).await;
    assert_eq!(refused["code"], "run_in_progress");

    wait_run(app, &run_id, |run| {
        run["records_written"].as_i64().unwrap_or(0) >= 10
    })
    .await;
    let cancel = app
        .request(
            Method::POST,
            &format!("/api/v1/interop/runs/{run_id}/cancel"),
            Some(ADMIN_TOKEN),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(cancel.status(), StatusCode::ACCEPTED);
    let run = wait_finished(app, &run_id).await;
    assert_eq!(run["status"], "cancelled", "{run}");
    let written = run["records_written"].as_i64().unwrap();
    assert!(written < 200, "{run}");
    // The target holds exactly the committed batches, and its checkpoint is their last id.
    assert_eq!(target.count().await, written);
    assert_eq!(
        target.scalar("SELECT max(id) FROM customers").await,
        written
    );
    let checkpoint: String = {
        let pool = sqlx::SqlitePool::connect(&target.url).await.unwrap();
        let state: String = sqlx::query_scalar("SELECT state FROM grimos_checkpoints")
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        state
    };
    let checkpoint: Value = serde_json::from_str(&checkpoint).unwrap();
    assert_eq!(checkpoint["cursor"], json!(written), "{checkpoint}");

    // A finished run cannot be cancelled; a new run may start now.
    let again = app
        .request(
            Method::POST,
            &format!("/api/v1/interop/runs/{run_id}/cancel"),
            Some(ADMIN_TOKEN),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(again, StatusCode::CONFLICT).await["code"],
        "run_finished"
    );
    let next = start_run(app, flow_id).await;
    let cancelled = app
        .request(
            Method::POST,
            &format!("/api/v1/interop/runs/{next}/cancel"),
            Some(ADMIN_TOKEN),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), StatusCode::ACCEPTED);
    assert_eq!(wait_finished(app, &next).await["status"], "cancelled");
}

async fn webhooks_start_runs_only_with_a_valid_signature(app: &TestApp) {
    let (base, _upstream) = start_upstream((1..=3).map(customer).collect(), Duration::ZERO).await;
    let target = Target::new().await;
    let (source, target_id) = connectors(app, &base, &target, 10).await;
    set_secret(app, "flow-hook", "hook-secret-value").await;
    let body = flow_body(
        &source,
        &target_id,
        plain_rules(),
        json!({"webhook_secret": "local:flow-hook"}),
    );
    let flow = create(app, "/api/v1/interop/flows", body.clone()).await;
    let flow_id = flow["id"].as_str().unwrap();
    assert_eq!(flow["webhook_secret"], "local:flow-hook");
    let path = format!("/api/v1/hooks/flows/{flow_id}");
    let payload = br#"{"reason":"nightly"}"#.to_vec();

    let missing = app
        .request(Method::POST, &path, None)
        .body(payload.clone())
        .send()
        .await
        .unwrap();
    problem(missing, StatusCode::UNAUTHORIZED).await;
    let wrong = app
        .request(Method::POST, &path, None)
        .header(
            "x-grimos-signature",
            interop::webhook_signature(b"other-secret", chrono::Utc::now().timestamp(), &payload),
        )
        .body(payload.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(wrong, StatusCode::UNAUTHORIZED).await["code"],
        "invalid_signature"
    );
    let unknown = app
        .request(
            Method::POST,
            "/api/v1/hooks/flows/0190c0de-0000-7000-8000-000000000001",
            None,
        )
        .header(
            "x-grimos-signature",
            interop::webhook_signature(
                b"hook-secret-value",
                chrono::Utc::now().timestamp(),
                &payload,
            ),
        )
        .body(payload.clone())
        .send()
        .await
        .unwrap();
    problem(unknown, StatusCode::NOT_FOUND).await;

    let good = app
        .request(Method::POST, &path, None)
        .header(
            "x-grimos-signature",
            interop::webhook_signature(
                b"hook-secret-value",
                chrono::Utc::now().timestamp(),
                &payload,
            ),
        )
        .body(payload.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(good.status(), StatusCode::ACCEPTED);
    let accepted: Value = good.json().await.unwrap();
    assert_eq!(accepted["status"], "queued");
    let run = wait_finished(app, accepted["id"].as_str().unwrap()).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["trigger"], "webhook");
    assert_eq!(target.count().await, 3);

    // A disabled flow answers like an unknown one.
    let mut disabled = body;
    disabled["enabled"] = json!(false);
    let updated = app
        .request(
            Method::PUT,
            &format!("/api/v1/interop/flows/{flow_id}"),
            Some(ADMIN_TOKEN),
        )
        .json(&disabled)
        .send()
        .await
        .unwrap();
    assert_eq!(updated.status(), StatusCode::OK);
    let off = app
        .request(Method::POST, &path, None)
        .header(
            "x-grimos-signature",
            interop::webhook_signature(
                b"hook-secret-value",
                chrono::Utc::now().timestamp(),
                &payload,
            ),
        )
        .body(payload)
        .send()
        .await
        .unwrap();
    problem(off, StatusCode::NOT_FOUND).await;
}

async fn invalid_flows_name_their_fields_and_viewers_cannot_run(app: &TestApp) {
    let (base, _upstream) = start_upstream(vec![customer(1)], Duration::ZERO).await;
    let target = Target::new().await;
    let (source, target_id) = connectors(app, &base, &target, 10).await;
    let paths = |body: &Value| -> Vec<String> {
        body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|error| error["path"].as_str().unwrap().to_owned())
            .collect()
    };

    let unknown = flow_body(
        "0190c0de-0000-7000-8000-000000000009",
        &target_id,
        plain_rules(),
        json!({}),
    );
    let body = problem(
        app.post_json("/api/v1/interop/flows", ADMIN_TOKEN, unknown)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(paths(&body), vec!["/source/connector"], "{body}");

    let mut inline = flow_body(&source, &target_id, plain_rules(), json!({}));
    inline["target"]["connector"] = json!({"type": "sql", "url": target.url});
    let body = problem(
        app.post_json("/api/v1/interop/flows", ADMIN_TOKEN, inline)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(paths(&body), vec!["/target/connector"], "{body}");

    // A rule that does not parse: its path, with the rule index, and the other fields.
    let bad_cast = flow_body(
        &source,
        &target_id,
        json!([{"target": "id", "source": "id"}, {"target": "score", "source": "score", "cast": "nonsense"}]),
        json!({"webhook_secret": "plain-secret"}),
    );
    let body = problem(
        app.post_json("/api/v1/interop/flows", ADMIN_TOKEN, bad_cast)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let found = paths(&body);
    assert!(
        found.contains(&"/mapping/rules/1/cast".to_owned()),
        "{body}"
    );
    assert!(found.contains(&"/webhook_secret".to_owned()), "{body}");
    assert!(!body.to_string().contains("plain-secret\""), "{body}");

    // A rule that parses but does not compile, next to a schedule without seconds.
    let bad_expr = flow_body(
        &source,
        &target_id,
        json!([{"target": "id", "source": "id"}, {"target": "name", "expr": "record.name +"}]),
        json!({"schedule": "*/5 * * * *"}),
    );
    let body = problem(
        app.post_json("/api/v1/interop/flows", ADMIN_TOKEN, bad_expr)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let found = paths(&body);
    assert!(
        found
            .iter()
            .any(|path| path.starts_with("/mapping/rules/1")),
        "{body}"
    );
    assert!(found.contains(&"/schedule".to_owned()), "{body}");

    let mut unknown_key = flow_body(&source, &target_id, plain_rules(), json!({}));
    unknown_key["options"]["retries"] = json!(3);
    let body = problem(
        app.post_json("/api/v1/interop/flows", ADMIN_TOKEN, unknown_key)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(paths(&body), vec!["/options/retries"], "{body}");

    // Viewers read flows and runs but cannot run, cancel or replay.
    let flow = create(
        app,
        "/api/v1/interop/flows",
        flow_body(&source, &target_id, plain_rules(), json!({})),
    )
    .await;
    let flow_id = flow["id"].as_str().unwrap();
    let viewer = app.token_with_role("viewer").await;
    assert_eq!(
        app.get(&format!("/api/v1/interop/flows/{flow_id}"), &viewer)
            .await
            .status(),
        StatusCode::OK
    );
    let forbidden = app
        .request(
            Method::POST,
            &format!("/api/v1/interop/flows/{flow_id}/runs"),
            Some(&viewer),
        )
        .send()
        .await
        .unwrap();
    problem(forbidden, StatusCode::FORBIDDEN).await;
    let forbidden = app
        .post_json(
            "/api/v1/interop/dead-letters/replay",
            &viewer,
            json!({"flow_id": flow_id}),
        )
        .await;
    problem(forbidden, StatusCode::FORBIDDEN).await;
    assert_eq!(
        app.get("/api/v1/interop/runs", &viewer).await.status(),
        StatusCode::OK
    );
}

async fn schedules_start_runs(app: &TestApp) {
    let (base, _upstream) = start_upstream((1..=3).map(customer).collect(), Duration::ZERO).await;
    let target = Target::new().await;
    let (source, target_id) = connectors(app, &base, &target, 10).await;
    let body = flow_body(
        &source,
        &target_id,
        plain_rules(),
        json!({"schedule": "*/2 * * * * *", "timezone": "Europe/Paris"}),
    );
    let flow = create(app, "/api/v1/interop/flows", body).await;
    let flow_id = flow["id"].as_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let run = loop {
        let list: Value = app
            .get(
                &format!("/api/v1/interop/runs?flow_id={flow_id}"),
                ADMIN_TOKEN,
            )
            .await
            .json()
            .await
            .unwrap();
        if let Some(run) = list["items"].as_array().unwrap().last() {
            break run.clone();
        }
        assert!(Instant::now() < deadline, "no scheduled run");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(run["trigger"], "schedule");
    let run = wait_finished(app, run["id"].as_str().unwrap()).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let flow: Value = app
        .get(&format!("/api/v1/interop/flows/{flow_id}"), ADMIN_TOKEN)
        .await
        .json()
        .await
        .unwrap();
    assert!(flow["next_run_at"].is_string(), "{flow}");
}

/// The event stream of a run that lasts longer than the request timeout is not cut: the
/// timeout bounds the time to the response headers only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_stream_outlives_the_request_timeout() {
    let app = TestApp::spawn_with(
        support::Backend::Sqlite,
        support::Options {
            env: vec![("GRIMOS_REQUEST_TIMEOUT_SECS", "1".to_owned())],
        },
    )
    .await;
    // 4 pages of 5 records, 600 ms each: the run takes over 2 s.
    let (base, _upstream) =
        start_upstream((1..=20).map(customer).collect(), Duration::from_millis(600)).await;
    let target = Target::new().await;
    let (source, target_id) = connectors(&app, &base, &target, 5).await;
    let body = flow_body(
        &source,
        &target_id,
        plain_rules(),
        json!({"options": {"batch_size": 5}}),
    );
    let flow = create(&app, "/api/v1/interop/flows", body).await;
    let run_id = start_run(&app, flow["id"].as_str().unwrap()).await;
    let started = Instant::now();
    let stream = app
        .get(
            &format!("/api/v1/interop/runs/{run_id}/events/stream"),
            ADMIN_TOKEN,
        )
        .await;
    assert_eq!(stream.status(), StatusCode::OK);
    let text = stream.text().await.unwrap();
    assert!(
        started.elapsed() > Duration::from_secs(1),
        "the run was too quick to prove anything"
    );
    assert!(text.contains("run succeeded"), "{text}");
    assert!(
        text.trim_end().ends_with(r#"data: {"status":"succeeded"}"#),
        "{text}"
    );
    app.stop().await;
}

/// The "one run per flow" rule holds in the database, not only in one server's memory:
/// two servers on one database that both passed the check still cannot both queue a run.
async fn the_database_refuses_a_second_active_run_of_an_exclusive_flow(app: &TestApp) {
    use interop::run_store::{self, NewRun};
    let (base, _upstream) = start_upstream(vec![customer(1)], Duration::ZERO).await;
    let target = Target::new().await;
    let (source, target_id) = connectors(app, &base, &target, 10).await;
    let flow = create(
        app,
        "/api/v1/interop/flows",
        flow_body(&source, &target_id, plain_rules(), json!({})),
    )
    .await;
    let flow_id = flow["id"].as_str().unwrap().to_owned();
    let new_run = |exclusive: bool| NewRun {
        flow_id: flow_id.clone(),
        trigger: "manual",
        idempotency_key: None,
        requested_by: None,
        exclusive,
    };
    // As a second server would: straight to the insert, past the in-process check.
    let (first, created) = run_store::insert(&app.database, &new_run(true))
        .await
        .unwrap();
    assert!(created);
    let refused = run_store::insert(&app.database, &new_run(true))
        .await
        .expect_err("a second exclusive run while one is queued");
    assert_eq!(refused.code(), "run_in_progress");
    assert!(
        refused.message().contains(&first.id),
        "{}",
        refused.message()
    );
    // A flow that allows concurrent runs is not held back.
    let (_, created) = run_store::insert(&app.database, &new_run(false))
        .await
        .unwrap();
    assert!(created);
    // Once the first run ended, the next exclusive run may start.
    run_store::finish(
        &app.database,
        &first.id,
        "succeeded",
        Default::default(),
        None,
    )
    .await
    .unwrap();
    let (_, created) = run_store::insert(&app.database, &new_run(true))
        .await
        .unwrap();
    assert!(created);
}

/// A second server starting on the same database (or sweeping) leaves the live runs of the
/// first alone, and fails a run only once nobody has vouched for it for a while (its server
/// stopped) — after which the flow can run again.
async fn a_server_fails_only_the_runs_nobody_vouches_for(app: &TestApp) {
    use interop::run_manager::{RunManager, RunSettings};
    use interop::run_store;
    // 200 records, 5 per page, 150 ms per page: the run lasts seconds.
    let (base, _upstream) = start_upstream(
        (1..=200).map(customer).collect(),
        Duration::from_millis(150),
    )
    .await;
    let target = Target::new().await;
    let (source, target_id) = connectors(app, &base, &target, 5).await;
    let body = flow_body(
        &source,
        &target_id,
        plain_rules(),
        json!({"options": {"batch_size": 5}}),
    );
    let flow = create(app, "/api/v1/interop/flows", body).await;
    let flow_id = flow["id"].as_str().unwrap();
    let run_id = start_run(app, flow_id).await;

    let other_server = RunManager::new(
        app.database.clone(),
        interop::ConnectorAccess::new(
            connectors::builtin_registry(),
            Arc::new(connector_sdk::EnvFileSecretSource),
            Arc::new(secret_access::SqlSecretGrants::new(app.database.clone())),
        ),
        RunSettings::default(),
    );
    assert_eq!(
        other_server.sweep().await.unwrap(),
        0,
        "a live run is left alone"
    );
    let run = run_store::get(&app.database, &run_id).await.unwrap();
    assert!(
        matches!(run.status.as_str(), "queued" | "running"),
        "{}",
        run.status
    );

    // The first server goes quiet: its last word on the run is two minutes old.
    let long_ago = chrono::Utc::now() - chrono::Duration::minutes(2);
    run_store::heartbeat(&app.database, std::slice::from_ref(&run_id), long_ago)
        .await
        .unwrap();
    assert_eq!(other_server.sweep().await.unwrap(), 1);
    let run = run_store::get(&app.database, &run_id).await.unwrap();
    assert_eq!(run.status, "failed");
    assert!(
        run.error
            .as_deref()
            .unwrap_or_default()
            .contains("abandoned"),
        "{:?}",
        run.error
    );
    // The flow is free again: its exclusive slot went with the abandoned run.
    let refused_or_not = app
        .request(
            Method::POST,
            &format!("/api/v1/interop/flows/{flow_id}/runs"),
            Some(ADMIN_TOKEN),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(refused_or_not.status(), StatusCode::ACCEPTED);
}
