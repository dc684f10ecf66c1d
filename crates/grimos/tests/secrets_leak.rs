//! Credentials live in OpenBao (or the embedded store) and are resolved at connection time:
//! a REST connector reads with a token from OpenBao, the token is rotated in OpenBao and the
//! next use picks it up without a restart. Then the leak check: after checks, reads,
//! failures and API calls made with known secret values, those values appear in no log
//! line, API response, error body, metric or file of the data directory.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../secrets/tests/support/openbao.rs"]
#[allow(dead_code, unreachable_pub)]
mod openbao;
mod process;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::get;
use process::{Server, command};
use serde_json::{Value, json};

const ADMIN_TOKEN: &str = "grm_leak-test-admin-token-abcdefghijklmnopqrstuvwxyz";
const TOKEN_V1: &str = "upstream-token-v1-8c1f5e27";
const TOKEN_V2: &str = "upstream-token-v2-40d9aa13";
const LOCAL_VALUE: &str = "local-store-value-77b3c2e9";
const LITERAL_VALUE: &str = "pasted-literal-secret-5a6e";

/// An API that accepts only the current token and, when refusing, echoes what it got (as
/// careless real APIs do), to prove grimOS masks it.
fn upstream(runtime: &tokio::runtime::Runtime, accepted: Arc<Mutex<String>>) -> String {
    runtime.block_on(async move {
        let app = Router::new().route(
            "/items",
            get(move |headers: axum::http::HeaderMap| {
                let accepted = accepted.lock().unwrap().clone();
                async move {
                    let presented = headers
                        .get("authorization")
                        .and_then(|value| value.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    if presented == format!("Bearer {accepted}") {
                        (
                            axum::http::StatusCode::OK,
                            axum::Json(
                                json!({"data": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]}),
                            ),
                        )
                    } else {
                        (
                            axum::http::StatusCode::UNAUTHORIZED,
                            axum::Json(json!({"error": format!("bad credentials: {presented}")})),
                        )
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{address}")
    })
}

fn rest_config(base_url: &str, token: &str) -> Value {
    json!({
        "type": "rest", "base_url": base_url, "allow_insecure_http": true,
        "auth": {"type": "bearer", "token": token},
        "streams": [{"name": "items", "path": "/items", "records": "$.data", "primary_key": ["id"]}]
    })
}

struct Api {
    client: reqwest::blocking::Client,
    server_url: String,
    bodies: Vec<String>,
}

impl Api {
    fn call(&mut self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.server_url))
            .bearer_auth(ADMIN_TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().unwrap();
        let status = response.status().as_u16();
        let text = response.text().unwrap();
        self.bodies.push(text.clone());
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

#[test]
fn vault_credentials_rotate_without_restart_and_never_leak() {
    let bao = openbao::shared();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let admin = bao.admin();
    let path = openbao::unique("crm");
    runtime.block_on(admin.put_kv(&path, json!({"token": TOKEN_V1})));
    let accepted = Arc::new(Mutex::new(TOKEN_V1.to_owned()));
    let base_url = upstream(&runtime, Arc::clone(&accepted));

    let data_dir = tempfile::tempdir().unwrap();
    let mut server = Server::start({
        let mut command = command(data_dir.path());
        command
            .env("GRIMOS_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("GRIMOS_LOG_LEVEL", "debug")
            .env("VAULT_ADDR", &bao.address)
            .env("VAULT_TOKEN", openbao::ROOT_TOKEN);
        command
    });
    let mut api = Api {
        client: reqwest::blocking::Client::new(),
        server_url: server.url(""),
        bodies: Vec::new(),
    };

    // A connector whose bearer token lives in OpenBao reads data.
    let (status, created) = api.call(
        reqwest::Method::POST,
        "/api/v1/interop/connectors",
        Some(json!({"name": "crm", "type": "rest", "config": rest_config(&base_url, &format!("vault:secret/{path}#token"))})),
    );
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let (_, test) = api.call(
        reqwest::Method::POST,
        &format!("/api/v1/interop/connectors/{id}/test"),
        None,
    );
    assert_eq!(test["ok"], true, "{test}");
    let preview_request = json!({"rules": [{"target": "n", "source": "name"}], "source": {"connector": id, "stream": "items"}});
    let (status, preview) = api.call(
        reqwest::Method::POST,
        "/api/v1/interop/mappings/preview",
        Some(preview_request.clone()),
    );
    assert_eq!(status, 200, "{preview}");
    assert_eq!(
        preview["samples"].as_array().unwrap().len(),
        2,
        "records were read with the Vault token"
    );

    // Rotate the token in OpenBao (and upstream): the next read uses it, no restart.
    runtime.block_on(admin.put_kv(&path, json!({"token": TOKEN_V2})));
    *accepted.lock().unwrap() = TOKEN_V2.to_owned();
    let (status, preview) = api.call(
        reqwest::Method::POST,
        "/api/v1/interop/mappings/preview",
        Some(preview_request),
    );
    assert_eq!(status, 200, "the rotated token was picked up: {preview}");

    // Failures: a reference to nothing, a stale local secret, a literal secret.
    let (_, missing) = api.call(
        reqwest::Method::POST,
        "/api/v1/interop/connectors",
        Some(json!({"name": "missing", "type": "rest", "config": rest_config(&base_url, "vault:secret/does-not-exist#token")})),
    );
    let missing_id = missing["id"].as_str().unwrap().to_owned();
    let (_, failed) = api.call(
        reqwest::Method::POST,
        &format!("/api/v1/interop/connectors/{missing_id}/test"),
        None,
    );
    assert_eq!(failed["ok"], false);
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("vault:secret/does-not-exist#token"),
        "names the reference: {failed}"
    );

    let (status, _) = api.call(
        reqwest::Method::PUT,
        "/api/v1/secrets/stale-token",
        Some(json!({"value": LOCAL_VALUE})),
    );
    assert_eq!(status, 201);
    let (_, stale) = api.call(
        reqwest::Method::POST,
        "/api/v1/interop/connectors",
        Some(json!({"name": "stale", "type": "rest", "config": rest_config(&base_url, "local:stale-token")})),
    );
    let stale_id = stale["id"].as_str().unwrap().to_owned();
    let (_, refused) = api.call(
        reqwest::Method::POST,
        &format!("/api/v1/interop/connectors/{stale_id}/test"),
        None,
    );
    assert_eq!(refused["ok"], false);
    assert_eq!(refused["error_kind"], "auth", "{refused}");

    let (status, literal) = api.call(
        reqwest::Method::POST,
        "/api/v1/interop/connectors",
        Some(json!({"name": "literal", "type": "rest", "config": rest_config(&base_url, LITERAL_VALUE)})),
    );
    assert_eq!(status, 422, "{literal}");

    let metrics = api
        .client
        .get(server.url("/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    server.terminate();
    assert_eq!(server.wait_exit(), Some(0));
    let logs = server.drain().join("\n");
    assert!(
        logs.contains("\"level\":\"DEBUG\""),
        "the logs were captured at debug level"
    );

    let secrets = [
        TOKEN_V1,
        TOKEN_V2,
        LOCAL_VALUE,
        LITERAL_VALUE,
        openbao::ROOT_TOKEN,
    ];
    for secret in secrets {
        for body in &api.bodies {
            assert!(
                !body.contains(secret),
                "an API response contains a secret value: {body}"
            );
        }
        assert!(
            !metrics.contains(secret),
            "the metrics contain a secret value"
        );
        assert!(!logs.contains(secret), "the logs contain a secret value");
        for entry in walk(data_dir.path()) {
            let bytes = std::fs::read(&entry).unwrap();
            assert!(
                !bytes
                    .windows(secret.len())
                    .any(|window| window == secret.as_bytes()),
                "{} contains a secret value",
                entry.display()
            );
        }
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
