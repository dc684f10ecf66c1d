#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Auth providers against a real HTTP server (axum on 127.0.0.1:0) playing both an OAuth2
//! token endpoint and a protected API.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::prelude::BASE64_STANDARD;
use connector_sdk::auth::{
    ApiKeyAuth, ApiKeyPlacement, AuthConfig, AuthenticatedClient, OAuth2ClientCredentials,
    OAuth2Config, error_for_status,
};
use connector_sdk::{
    ConnectorError, EnvFileSecretSource, ErrorKind, ManualClock, Operation, SchemeSecretSource,
    Secret, SecretSource,
};
use serde_json::json;

const CLIENT_SECRET: &str = "s3cr3t-client-value";

#[derive(Default)]
struct Server {
    token_hits: AtomicUsize,
    api_hits: AtomicUsize,
    valid_tokens: Mutex<HashSet<String>>,
    /// When set, the token endpoint answers this OAuth error code.
    token_error: Mutex<Option<&'static str>>,
    expires_in: Mutex<u64>,
    api_key: Mutex<String>,
    client_secret: Mutex<String>,
}

async fn token(State(server): State<Arc<Server>>, headers: HeaderMap) -> Response {
    let n = server.token_hits.fetch_add(1, Ordering::SeqCst) + 1;
    // Slow enough that concurrent requests overlap with the exchange.
    tokio::time::sleep(Duration::from_millis(100)).await;
    if let Some(code) = *server.token_error.lock().unwrap() {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": code, "error_description": "client authentication failed"})),
        )
            .into_response();
    }
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let expected = format!("grimos:{}", server.client_secret.lock().unwrap());
    if authorization != format!("Basic {}", BASE64_STANDARD.encode(expected)) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    let access_token = format!("token-{n}");
    server
        .valid_tokens
        .lock()
        .unwrap()
        .insert(access_token.clone());
    let expires_in = *server.expires_in.lock().unwrap();
    Json(json!({"access_token": access_token, "token_type": "Bearer", "expires_in": expires_in}))
        .into_response()
}

async fn data(State(server): State<Arc<Server>>, headers: HeaderMap) -> Response {
    server.api_hits.fetch_add(1, Ordering::SeqCst);
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_owned();
    let key = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let by_token = server.valid_tokens.lock().unwrap().contains(&bearer);
    let by_key = !key.is_empty() && key == *server.api_key.lock().unwrap();
    if by_token || by_key {
        Json(json!({"token": bearer})).into_response()
    } else {
        StatusCode::UNAUTHORIZED.into_response()
    }
}

async fn limited() -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        [("retry-after", "7")],
        "slow down",
    )
        .into_response()
}

async fn spawn_server() -> (Arc<Server>, String) {
    let server = Arc::new(Server {
        expires_in: Mutex::new(3600),
        client_secret: Mutex::new(CLIENT_SECRET.into()),
        ..Server::default()
    });
    let app = Router::new()
        .route("/token", post(token))
        .route("/data", get(data))
        .route("/limited", get(limited))
        .with_state(server.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (server, base)
}

/// A secret source whose values the test changes (rotation), counting resolutions.
#[derive(Default)]
struct MapSecrets {
    values: Mutex<HashMap<String, String>>,
    resolved: AtomicUsize,
}

impl MapSecrets {
    fn with(reference: &str, value: &str) -> Arc<Self> {
        let secrets = Arc::new(Self::default());
        secrets.set(reference, value);
        secrets
    }
    fn set(&self, reference: &str, value: &str) {
        self.values
            .lock()
            .unwrap()
            .insert(reference.into(), value.into());
    }
}

#[async_trait]
impl SecretSource for MapSecrets {
    async fn resolve(&self, reference: &str) -> Result<Secret, ConnectorError> {
        self.resolved.fetch_add(1, Ordering::SeqCst);
        self.values
            .lock()
            .unwrap()
            .get(reference)
            .map(|v| Secret::new(v.clone()))
            .ok_or_else(|| {
                ConnectorError::config(
                    Operation::ResolveSecret,
                    format!("unknown reference {reference}"),
                )
            })
    }
}

fn oauth(
    base: &str,
    clock: Arc<ManualClock>,
) -> (Arc<OAuth2ClientCredentials>, AuthenticatedClient) {
    let secrets = MapSecrets::with("vault:kv/crm#client_secret", CLIENT_SECRET);
    let config = OAuth2Config::new(
        format!("{base}/token"),
        "grimos",
        "vault:kv/crm#client_secret",
    );
    let provider = Arc::new(
        OAuth2ClientCredentials::new(config, reqwest::Client::new(), secrets).with_clock(clock),
    );
    let client = AuthenticatedClient::new(reqwest::Client::new(), provider.clone());
    (provider, client)
}

async fn get_data(client: &AuthenticatedClient, base: &str) -> Result<String, ConnectorError> {
    let url = format!("{base}/data");
    let response = client.send(Operation::Read, |http| http.get(&url)).await?;
    let response = error_for_status(Operation::Read, response).await?;
    let body: serde_json::Value = response.json().await.unwrap();
    Ok(body["token"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn oauth_token_is_cached_and_refreshed_before_it_expires() {
    let (server, base) = spawn_server().await;
    let clock = Arc::new(ManualClock::new());
    let (_, client) = oauth(&base, clock.clone());

    assert_eq!(get_data(&client, &base).await.unwrap(), "token-1");
    assert_eq!(get_data(&client, &base).await.unwrap(), "token-1");
    assert_eq!(
        server.token_hits.load(Ordering::SeqCst),
        1,
        "the token is reused"
    );

    // 3600 s token, 30 s skew: at 3580 s it is about to expire and gets replaced.
    clock.advance(Duration::from_secs(3580));
    assert_eq!(get_data(&client, &base).await.unwrap(), "token-2");
    assert_eq!(server.token_hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn concurrent_requests_share_one_token_exchange() {
    let (server, base) = spawn_server().await;
    let (_, client) = oauth(&base, Arc::new(ManualClock::new()));
    let requests = (0..16).map(|_| get_data(&client, &base));
    let tokens = futures::future::join_all(requests).await;
    assert!(
        tokens.iter().all(|t| matches!(t.as_deref(), Ok("token-1"))),
        "{tokens:?}"
    );
    assert_eq!(server.token_hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_401_is_retried_once_with_a_fresh_token() {
    let (server, base) = spawn_server().await;
    let (_, client) = oauth(&base, Arc::new(ManualClock::new()));
    assert_eq!(get_data(&client, &base).await.unwrap(), "token-1");

    // The server revokes the token before it expires.
    server.valid_tokens.lock().unwrap().clear();
    assert_eq!(get_data(&client, &base).await.unwrap(), "token-2");
    assert_eq!(
        server.api_hits.load(Ordering::SeqCst),
        3,
        "one refused request, one retry"
    );
}

#[tokio::test]
async fn a_401_after_a_fresh_token_is_an_auth_error_not_a_loop() {
    let (server, base) = spawn_server().await;
    let secrets = MapSecrets::with("env:TOKEN", "never-valid");
    let provider = Arc::new(connector_sdk::auth::BearerAuth::new("env:TOKEN", secrets));
    let client = AuthenticatedClient::new(reqwest::Client::new(), provider);
    let err = get_data(&client, &base).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert_eq!(server.api_hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn invalid_grant_is_an_auth_error_that_is_not_retried_and_leaks_no_secret() {
    let (server, base) = spawn_server().await;
    *server.token_error.lock().unwrap() = Some("invalid_grant");
    let (provider, client) = oauth(&base, Arc::new(ManualClock::new()));

    let err = get_data(&client, &base).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert!(!err.retryable());
    assert!(err.to_string().contains("invalid_grant"), "{err}");
    assert_eq!(
        server.token_hits.load(Ordering::SeqCst),
        1,
        "no second exchange with the same secret"
    );
    assert_eq!(server.api_hits.load(Ordering::SeqCst), 0);

    for text in [err.to_string(), format!("{err:?}"), format!("{provider:?}")] {
        assert!(!text.contains(CLIENT_SECRET), "secret leaked in {text}");
    }
}

#[tokio::test]
async fn invalid_client_with_a_rotated_secret_exchanges_once_more() {
    let (server, base) = spawn_server().await;
    let secrets = MapSecrets::with("vault:kv/crm#client_secret", "old");
    let config = OAuth2Config::new(
        format!("{base}/token"),
        "grimos",
        "vault:kv/crm#client_secret",
    );
    let provider = Arc::new(OAuth2ClientCredentials::new(
        config,
        reqwest::Client::new(),
        secrets.clone(),
    ));
    let client = AuthenticatedClient::new(reqwest::Client::new(), provider);

    // The store still holds the old secret the server no longer accepts.
    *server.client_secret.lock().unwrap() = "new".into();
    let err = get_data(&client, &base).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert!(err.to_string().contains("invalid_client"), "{err}");
    assert_eq!(
        server.token_hits.load(Ordering::SeqCst),
        1,
        "same secret: not retried"
    );

    // The secret is rotated in the store: the refused exchange re-resolves it and tries once more.
    secrets.set("vault:kv/crm#client_secret", "new");
    assert!(get_data(&client, &base).await.is_ok());
    assert_eq!(server.token_hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn an_api_key_rotated_in_the_store_is_picked_up_after_one_401() {
    let (server, base) = spawn_server().await;
    *server.api_key.lock().unwrap() = "key-1".into();
    let secrets = MapSecrets::with("vault:kv/crm#api_key", "key-1");
    let provider = Arc::new(ApiKeyAuth::new(
        ApiKeyPlacement::Header("X-API-Key".into()),
        "vault:kv/crm#api_key",
        secrets.clone(),
    ));
    let client = AuthenticatedClient::new(reqwest::Client::new(), provider);

    get_data(&client, &base).await.unwrap();
    get_data(&client, &base).await.unwrap();
    assert_eq!(
        secrets.resolved.load(Ordering::SeqCst),
        1,
        "resolved once, then cached"
    );

    *server.api_key.lock().unwrap() = "key-2".into();
    secrets.set("vault:kv/crm#api_key", "key-2");
    get_data(&client, &base).await.unwrap();
    assert_eq!(secrets.resolved.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn transport_errors_do_not_reveal_an_api_key_sent_in_the_query() {
    // A port nobody listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/data", listener.local_addr().unwrap());
    drop(listener);
    let secrets = MapSecrets::with("env:KEY", "query-key-value-123");
    let provider = Arc::new(ApiKeyAuth::new(
        ApiKeyPlacement::Query("api_key".into()),
        "env:KEY",
        secrets,
    ));
    let client = AuthenticatedClient::new(reqwest::Client::new(), provider);
    let err = client
        .send(Operation::Check, |http| http.get(&url))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert!(
        !format!("{err} {err:?}").contains("query-key-value-123"),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_429_becomes_rate_limited_with_its_retry_after() {
    let (_, base) = spawn_server().await;
    let response = reqwest::get(format!("{base}/limited")).await.unwrap();
    let err = error_for_status(Operation::Read, response)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
}

#[tokio::test]
async fn auth_config_builds_providers_and_marks_secrets_in_its_schema() {
    let config: AuthConfig = serde_json::from_value(json!({
        "type": "oauth2_client_credentials", "token_url": "https://id.example/token",
        "client_id": "grimos", "client_secret": "vault:kv/crm#secret", "scopes": ["read"]
    }))
    .unwrap();
    let provider = config.build(
        reqwest::Client::new(),
        Arc::new(EnvFileSecretSource),
        &egress::EgressPolicy::default().scope("rest"),
    );
    assert!(format!("{provider:?}").contains("vault:kv/crm#secret"));
    let secret_paths = connector_sdk::secret::secret_fields(&AuthConfig::json_schema());
    assert_eq!(
        secret_paths,
        vec!["/client_secret", "/key", "/password", "/token"]
    );
    let unknown_field = serde_json::from_value::<AuthConfig>(
        json!({"type": "bearer", "token": "env:T", "extra": 1}),
    );
    assert!(unknown_field.is_err());
}

#[tokio::test]
async fn secrets_never_print_and_references_resolve_from_env_and_file() {
    let secret = Secret::new("hunter2");
    assert_eq!(
        format!(
            "{secret} {secret:?} {}",
            serde_json::to_string(&secret).unwrap()
        ),
        "*** Secret(***) \"***\""
    );
    assert_eq!(secret.expose(), "hunter2");

    let dir = std::env::temp_dir().join(format!("connector-sdk-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("token");
    std::fs::write(&path, "file-secret\n").unwrap();
    let source = SchemeSecretSource::with_env_and_file();
    let from_file = source
        .resolve(&format!("file:{}", path.display()))
        .await
        .unwrap();
    assert_eq!(from_file.expose(), "file-secret");
    std::fs::remove_dir_all(&dir).unwrap();

    let path_var = std::env::var("PATH").unwrap();
    assert_eq!(source.resolve("env:PATH").await.unwrap().expose(), path_var);

    let missing = source
        .resolve("env:CONNECTOR_SDK_SURELY_UNSET_VARIABLE")
        .await
        .unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::Config);
    assert!(
        missing
            .to_string()
            .contains("env:CONNECTOR_SDK_SURELY_UNSET_VARIABLE")
    );
    let vault = source.resolve("vault:kv/crm#token").await.unwrap_err();
    assert!(
        vault
            .to_string()
            .contains("no secret resolver is configured for `vault:`"),
        "{vault}"
    );
    assert_eq!(
        source.resolve("no-scheme").await.unwrap_err().kind(),
        ErrorKind::Config
    );
}
