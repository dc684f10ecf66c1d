//! Test support: a real grimOS server on 127.0.0.1:0 over a fresh SQLite file or a fresh
//! PostgreSQL database (the machine's server at 127.0.0.1:5432, or
//! `GRIMOS_TEST_POSTGRES_URL`).

#![allow(dead_code)]

use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::Value;
use server::Platform;
use settings::{Flags, Settings};
use tokio::sync::oneshot;

pub const ADMIN_TOKEN: &str = "grm_test-admin-token-0123456789abcdefghijklmnop";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server used for tests: an URL to its maintenance database.
pub fn postgres_admin_url() -> String {
    std::env::var("GRIMOS_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A PostgreSQL database created for one test and dropped afterwards.
pub struct TestDatabase {
    pub name: String,
    pub url: String,
}

impl TestDatabase {
    pub async fn create() -> Self {
        let name = format!("grimos_test_{}", uuid::Uuid::now_v7().simple());
        let admin = postgres_admin_url();
        let mut connection = <sqlx_pg::PgConnection as sqlx_pg::Connection>::connect(&admin)
            .await
            .expect(
                "PostgreSQL at GRIMOS_TEST_POSTGRES_URL (default 127.0.0.1:5432) must be reachable",
            );
        sqlx_pg::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut connection)
            .await
            .expect("create test database");
        let base = admin
            .rsplit_once('/')
            .map(|(base, _)| base)
            .unwrap_or(&admin);
        Self {
            url: format!("{base}/{name}"),
            name,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin = postgres_admin_url();
        let name = self.name.clone();
        // Drop on a fresh runtime in another thread: Drop cannot await.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async move {
                if let Ok(mut connection) =
                    <sqlx_pg::PgConnection as sqlx_pg::Connection>::connect(&admin).await
                {
                    let _ = sqlx_pg::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut connection)
                        .await;
                }
            });
            Ok::<(), std::io::Error>(())
        })
        .join();
    }
}

use storage::sqlx as sqlx_pg;

/// Logs (warnings only) and trace ids, as the binary sets them up; once per process.
fn init_telemetry() {
    static GUARD: std::sync::OnceLock<Option<telemetry::TelemetryGuard>> =
        std::sync::OnceLock::new();
    GUARD.get_or_init(|| telemetry::init("grimos-test", telemetry::LogFormat::Json, "warn").ok());
}

/// A running server and a client for it.
pub struct TestApp {
    pub backend: Backend,
    pub base_url: String,
    pub client: reqwest::Client,
    pub data_dir: tempfile::TempDir,
    pub database: storage::Database,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _postgres: Option<TestDatabase>,
}

pub struct Options {
    pub env: Vec<(&'static str, String)>,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, Options { env: Vec::new() }).await
    }

    pub async fn spawn_with(backend: Backend, options: Options) -> Self {
        init_telemetry();
        let data_dir = tempfile::tempdir().expect("temp dir");
        let postgres = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(TestDatabase::create().await),
        };
        let mut env: Vec<(&'static str, String)> = vec![
            ("GRIMOS_DATA_DIR", data_dir.path().display().to_string()),
            ("GRIMOS_ADMIN_TOKEN", ADMIN_TOKEN.to_owned()),
            ("GRIMOS_BODY_LIMIT_BYTES", "65536".to_owned()),
        ];
        if let Some(database) = &postgres {
            env.push(("GRIMOS_DATABASE_URL", database.url.clone()));
        }
        env.extend(options.env);
        let lookup = move |name: &str| {
            env.iter()
                .rev()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.clone())
        };
        let settings: Settings =
            settings::load(&Flags::default(), &lookup).expect("valid test settings");
        let platform = Platform::build(&settings).await.expect("platform builds");
        let database = platform.database().clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let (shutdown, shutdown_signal) = oneshot::channel::<()>();
        let server = tokio::spawn(platform.serve(listener, async move {
            let _ = shutdown_signal.await;
        }));
        Self {
            backend,
            base_url: format!("http://{address}"),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .expect("client"),
            data_dir,
            database,
            shutdown: Some(shutdown),
            server: Some(server),
            _postgres: postgres,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let builder = self.client.request(method, self.url(path));
        match token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.request(Method::GET, path, Some(token))
            .send()
            .await
            .expect("request")
    }

    pub async fn post_json(&self, path: &str, token: &str, body: Value) -> Response {
        self.request(Method::POST, path, Some(token))
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    /// Create a token with `role` for the admin and return its value.
    pub async fn token_with_role(&self, role: &str) -> String {
        let response = self
            .post_json(
                "/api/v1/tokens",
                ADMIN_TOKEN,
                serde_json::json!({"name": format!("{role} token"), "role": role}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.expect("json");
        body["token"].as_str().expect("token value").to_owned()
    }

    /// Create a user with `role` and a token of theirs; returns (user id, token).
    pub async fn user_with_token(&self, name: &str, role: &str) -> (String, String) {
        let response = self
            .post_json(
                "/api/v1/users",
                ADMIN_TOKEN,
                serde_json::json!({"name": name, "role": role}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED, "create user {name}");
        let user: Value = response.json().await.expect("json");
        let user_id = user["id"].as_str().expect("id").to_owned();
        let response = self
            .post_json(
                "/api/v1/tokens",
                ADMIN_TOKEN,
                serde_json::json!({"name": "t", "role": role, "user_id": user_id}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED, "token for {name}");
        let token: Value = response.json().await.expect("json");
        (user_id, token["token"].as_str().expect("token").to_owned())
    }

    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

/// Read a response as a problem document, checking its media type and shape.
pub async fn problem(response: Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status, "unexpected status");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = response.json().await.expect("problem body is JSON");
    assert_eq!(body["status"].as_u64(), Some(u64::from(status.as_u16())));
    assert!(body["code"].is_string(), "problem has a code: {body}");
    assert!(body["detail"].is_string(), "problem has a detail: {body}");
    assert!(
        body["request_id"].is_string(),
        "problem has the request id: {body}"
    );
    body
}

/// Generate `#[tokio::test]`s running each listed `async fn(TestApp)` on SQLite and on
/// PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = $crate::support::TestApp::spawn($crate::support::Backend::Sqlite).await;
                    super::$name(&app).await;
                    app.stop().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = $crate::support::TestApp::spawn($crate::support::Backend::Postgres).await;
                    super::$name(&app).await;
                    app.stop().await;
                }
            )*
        }
    };
}
