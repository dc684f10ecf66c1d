#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The connector command line against real systems: a REST API served by axum inside the
//! test, and the PostgreSQL of this machine (each test in its own schema).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use connector_sdk::{SecretSource, WriteMode};
use connectors::cli::{self, CliError};
use connectors::{ConnectorRegistry, ResolverSecretSource, builtin_registry};
use serde_json::{Value, json};
use sqlx::Executor;

const PG: &str = "postgres://postgres@127.0.0.1:5432/test";
const TOKEN: &str = "tok-7c1e-secret";
static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Secrets as the binary resolves them, with `env:` read from a fixed map instead of the
/// process environment (which tests cannot change safely).
fn secrets() -> Arc<dyn SecretSource> {
    let resolver = secrets::SecretResolver::builder()
        .env_lookup(|name| match name {
            "CLI_TEST_TOKEN" => Some(TOKEN.to_owned()),
            "CLI_TEST_WRONG_TOKEN" => Some("not-the-token".to_owned()),
            "CLI_TEST_PG_PASSWORD" => Some("unused-with-trust-auth".to_owned()),
            _ => None,
        })
        .build();
    Arc::new(ResolverSecretSource::new(Arc::new(resolver)))
}

fn registry() -> ConnectorRegistry {
    builtin_registry()
}

fn write_config(dir: &Path, name: &str, config: &Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec_pretty(config).unwrap()).unwrap();
    path
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn json_lines(bytes: &[u8]) -> Vec<Value> {
    text(bytes)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A REST API on 127.0.0.1:0 whose `/items` wants `Authorization: Bearer TOKEN`.
async fn rest_api() -> String {
    let app = Router::new().route(
        "/items",
        get(|headers: HeaderMap| async move {
            let expected = format!("Bearer {TOKEN}");
            match headers.get("authorization").and_then(|v| v.to_str().ok()) {
                Some(value) if value == expected => {
                    (StatusCode::OK, axum::Json(json!([{"id": 1}, {"id": 2}])))
                }
                _ => (
                    StatusCode::UNAUTHORIZED,
                    axum::Json(json!({"error": "bad token"})),
                ),
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}")
}

fn rest_config(base: &str, token_reference: &str) -> Value {
    json!({
        "type": "rest",
        "base_url": base,
        "allow_insecure_http": true,
        "auth": {"type": "bearer", "token": token_reference},
        "streams": [{"name": "items", "path": "/items"}]
    })
}

/// A scratch PostgreSQL schema with an `items` table, dropped by [`Scratch::drop_all`].
struct Scratch {
    pool: sqlx::PgPool,
    schema: String,
}

impl Scratch {
    async fn new() -> Self {
        let pool = sqlx::PgPool::connect(PG).await.unwrap();
        let schema = format!(
            "grimos_cli_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        pool.execute(format!("CREATE SCHEMA {schema}").as_str())
            .await
            .unwrap();
        pool.execute(
            format!(
                "CREATE TABLE {schema}.items (id bigint PRIMARY KEY, label text NOT NULL \
                 CHECK (label <> 'forbidden'), updated_at bigint NOT NULL DEFAULT 0)"
            )
            .as_str(),
        )
        .await
        .unwrap();
        Self { pool, schema }
    }

    fn config(&self) -> Value {
        json!({
            "type": "sql",
            "url": PG,
            "password": "env:CLI_TEST_PG_PASSWORD",
            "schemas": [self.schema],
            "streams": [{"name": "items", "table": format!("{}.items", self.schema), "cursor_column": "updated_at"}]
        })
    }

    async fn exec(&self, sql: &str) {
        let sql = sql.replace("items", &format!("{}.items", self.schema));
        self.pool.execute(sql.as_str()).await.unwrap();
    }

    async fn rows(&self) -> Vec<(i64, String)> {
        sqlx::query_as(&format!(
            "SELECT id, label FROM {}.items ORDER BY id",
            self.schema
        ))
        .fetch_all(&self.pool)
        .await
        .unwrap()
    }

    async fn drop_all(self) {
        self.pool
            .execute(format!("DROP SCHEMA {} CASCADE", self.schema).as_str())
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn spec_prints_each_builtin_type_and_refuses_an_unknown_one() {
    let registry = registry();
    for (connector_type, property) in [("rest", "base_url"), ("sql", "url")] {
        let mut out = Vec::new();
        cli::spec(&registry, connector_type, &mut out).unwrap();
        let schema: Value = serde_json::from_slice(&out).unwrap();
        assert!(
            schema["properties"][property].is_object(),
            "{connector_type}: {schema}"
        );
        assert!(text(&out).contains("\n  "), "pretty printed");
    }
    let error = cli::spec(&registry, "ftp", &mut Vec::new()).unwrap_err();
    assert_eq!(error.exit_code(), 2);
    assert!(error.to_string().contains("rest, sql"), "{error}");
}

#[tokio::test]
async fn check_passes_and_fails_against_a_local_rest_api_with_env_secrets() {
    let base = rest_api().await;
    let dir = tempfile::tempdir().unwrap();
    let good = write_config(
        dir.path(),
        "good.json",
        &rest_config(&base, "env:CLI_TEST_TOKEN"),
    );
    let mut out = Vec::new();
    cli::check(&registry(), secrets(), &good, &mut out)
        .await
        .unwrap();
    let report: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(report["ok"], true, "{report}");
    assert!(report["latency_ms"].is_u64());
    assert_eq!(report["error"], Value::Null);

    let wrong = write_config(
        dir.path(),
        "wrong.yaml",
        &rest_config(&base, "env:CLI_TEST_WRONG_TOKEN"),
    );
    let mut out = Vec::new();
    let error = cli::check(&registry(), secrets(), &wrong, &mut out)
        .await
        .unwrap_err();
    assert_eq!(error.exit_code(), 1);
    let report: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(report["ok"], false, "{report}");
    assert!(
        report["error"].as_str().unwrap().contains("auth"),
        "{report}"
    );
    for shown in [text(&out), error.to_string()] {
        assert!(
            !shown.contains("not-the-token") && !shown.contains(TOKEN),
            "{shown}"
        );
    }
}

#[tokio::test]
async fn check_passes_and_fails_against_postgres() {
    let scratch = Scratch::new().await;
    let dir = tempfile::tempdir().unwrap();
    let good = write_config(dir.path(), "pg.yaml", &scratch.config());
    let mut out = Vec::new();
    cli::check(&registry(), secrets(), &good, &mut out)
        .await
        .unwrap();
    assert_eq!(serde_json::from_slice::<Value>(&out).unwrap()["ok"], true);

    let mut missing = scratch.config();
    missing["url"] = json!("postgres://postgres@127.0.0.1:5432/grimos_no_such_database");
    let bad = write_config(dir.path(), "missing.json", &missing);
    let mut out = Vec::new();
    let error = cli::check(&registry(), secrets(), &bad, &mut out)
        .await
        .unwrap_err();
    assert_eq!(error.exit_code(), 1, "{error}");
    assert_eq!(serde_json::from_slice::<Value>(&out).unwrap()["ok"], false);
    scratch.drop_all().await;
}

#[tokio::test]
async fn read_prints_json_lines_and_resumes_from_the_state_file() {
    let scratch = Scratch::new().await;
    scratch
        .exec("INSERT INTO items (id, label, updated_at) VALUES (1, 'a', 10), (2, 'b', 20)")
        .await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "pg.json", &scratch.config());
    let state = dir.path().join("state.json");

    let mut out = Vec::new();
    let summary = cli::read(
        &registry(),
        secrets(),
        &config,
        None,
        None,
        Some(&state),
        &mut out,
    )
    .await
    .unwrap();
    let ids: Vec<i64> = json_lines(&out)
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![1, 2]);
    assert_eq!(summary.records, 2);
    assert!(state.exists(), "the state was written");

    scratch
        .exec("INSERT INTO items (id, label, updated_at) VALUES (3, 'c', 30)")
        .await;
    let mut out = Vec::new();
    cli::read(
        &registry(),
        secrets(),
        &config,
        Some("items"),
        Some(&state),
        Some(&state),
        &mut out,
    )
    .await
    .unwrap();
    assert_eq!(
        json_lines(&out),
        vec![json!({"id": 3, "label": "c", "updated_at": 30})]
    );
    // Nothing new: nothing printed, and the state stays where it was.
    let before = std::fs::read_to_string(&state).unwrap();
    let mut out = Vec::new();
    cli::read(
        &registry(),
        secrets(),
        &config,
        None,
        Some(&state),
        Some(&state),
        &mut out,
    )
    .await
    .unwrap();
    assert!(out.is_empty(), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(&state).unwrap(), before);
    scratch.drop_all().await;
}

#[tokio::test]
async fn read_without_a_stream_among_several_lists_them() {
    let base = rest_api().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = rest_config(&base, "env:CLI_TEST_TOKEN");
    config["streams"] =
        json!([{"name": "items", "path": "/items"}, {"name": "others", "path": "/items"}]);
    let path = write_config(dir.path(), "two.json", &config);
    let error = cli::read(
        &registry(),
        secrets(),
        &path,
        None,
        None,
        None,
        &mut Vec::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(error.exit_code(), 2);
    assert!(error.to_string().contains("items, others"), "{error}");
    // With one stream it is chosen, through the env secret.
    config["streams"] = json!([{"name": "items", "path": "/items"}]);
    let path = write_config(dir.path(), "one.json", &config);
    let mut out = Vec::new();
    cli::read(&registry(), secrets(), &path, None, None, None, &mut out)
        .await
        .unwrap();
    assert_eq!(json_lines(&out), vec![json!({"id": 1}), json!({"id": 2})]);
}

#[tokio::test]
async fn write_inserts_and_upserts_and_reports_rejects() {
    let scratch = Scratch::new().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "pg.yaml", &scratch.config());
    let rejects = dir.path().join("rejects.jsonl");
    let input = "{\"id\": 1, \"label\": \"one\"}\n\
                 not json at all\n\
                 \n\
                 {\"id\": 2, \"label\": \"forbidden\"}\n\
                 {\"id\": 3, \"label\": \"three\"}\n";
    let mut err = Vec::new();
    let summary = cli::write(
        &registry(),
        secrets(),
        &config,
        "items",
        WriteMode::Insert,
        input.as_bytes(),
        Some(&rejects),
        &mut err,
    )
    .await
    .unwrap();
    assert_eq!((summary.read, summary.written, summary.rejected), (4, 2, 2));
    assert!(
        text(&err).starts_with("read 4, written 2, rejected 2, "),
        "{}",
        text(&err)
    );
    assert!(text(&err).contains("records/s"));
    let lines = json_lines(&std::fs::read(&rejects).unwrap());
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["line"], 2);
    assert_eq!(lines[0]["record"], "not json at all");
    assert_eq!(lines[0]["kind"], "data");
    assert_eq!(lines[1]["line"], 4);
    assert_eq!(lines[1]["record"], json!({"id": 2, "label": "forbidden"}));
    assert_eq!(lines[1]["kind"], "data");
    assert!(
        lines[1]["reason"].as_str().unwrap().contains("check"),
        "{lines:?}"
    );
    assert_eq!(
        scratch.rows().await,
        vec![(1, "one".to_owned()), (3, "three".to_owned())]
    );

    let input = "{\"id\": 1, \"label\": \"uno\"}\n{\"id\": 4, \"label\": \"four\"}\n";
    let summary = cli::write(
        &registry(),
        secrets(),
        &config,
        "items",
        cli::parse_write_mode("upsert").unwrap(),
        input.as_bytes(),
        Some(&rejects),
        &mut Vec::new(),
    )
    .await
    .unwrap();
    assert_eq!((summary.written, summary.rejected), (2, 0));
    assert_eq!(std::fs::read(&rejects).unwrap(), b"");
    assert_eq!(
        scratch.rows().await,
        vec![
            (1, "uno".to_owned()),
            (3, "three".to_owned()),
            (4, "four".to_owned())
        ]
    );
    assert_eq!(cli::parse_write_mode("merge").unwrap_err().exit_code(), 2);
    scratch.drop_all().await;
}

#[tokio::test]
async fn bad_configurations_name_the_file_and_the_field_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "typo.yaml",
            json!({"type": "sql", "url": PG, "streams": [{"name": "a", "tabel": "x"}]}),
            "`/streams/0`",
        ),
        ("number.json", json!({"type": "sql", "url": 5}), "`/url`"),
        (
            "raw-password.json",
            json!({"type": "sql", "url": PG, "password": "hunter2"}),
            "`/password`",
        ),
        ("untyped.json", json!({"url": PG}), "`/type`"),
        ("ftp.json", json!({"type": "ftp"}), "rest, sql"),
        (
            "insecure.json",
            json!({"type": "rest", "base_url": "http://api.test", "streams": [{"name": "s", "path": "/s"}]}),
            "`/base_url`",
        ),
    ];
    for (name, config, expected) in cases {
        let path = write_config(dir.path(), name, &config);
        let error = cli::check(&registry(), secrets(), &path, &mut Vec::new())
            .await
            .unwrap_err();
        let message = error.to_string();
        assert!(matches!(error, CliError::Config(_)), "{name}: {error:?}");
        assert_eq!(error.exit_code(), 2, "{name}");
        assert!(message.contains(name), "{name}: {message}");
        assert!(message.contains(expected), "{name}: {message}");
        assert!(!message.contains('\n'), "{name}: one line");
        assert!(!message.contains("hunter2"), "{name}: {message}");
    }
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, "{\"type\": ").unwrap();
    let error = cli::discover(&registry(), secrets(), &broken, &mut Vec::new())
        .await
        .unwrap_err();
    assert_eq!(error.exit_code(), 2);
    assert!(error.to_string().contains("broken.json"), "{error}");
}

#[tokio::test]
async fn discover_prints_the_catalog() {
    let scratch = Scratch::new().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "pg.json", &scratch.config());
    let mut out = Vec::new();
    cli::discover(&registry(), secrets(), &config, &mut out)
        .await
        .unwrap();
    let catalog: Value = serde_json::from_slice(&out).unwrap();
    let text = catalog.to_string();
    assert!(text.contains("\"items\""), "{text}");
    assert!(text.contains("updated_at"), "{text}");
    scratch.drop_all().await;
}
