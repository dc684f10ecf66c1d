//! OIDC/JWT bearer tokens, verified against a JWKS served by the test with keys generated in
//! the test; on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Backend, Options, TestApp, problem};

const ISSUER: &str = "https://idp.test";
const AUDIENCE: &str = "grimos";

/// A test identity provider: an ES256 key pair and a JWKS endpoint that records the
/// `traceparent` headers it receives.
struct IdentityProvider {
    jwks_url: String,
    signing_key: EncodingKey,
    seen_traceparents: Arc<Mutex<Vec<String>>>,
}

impl IdentityProvider {
    async fn start() -> Self {
        let key_pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let point = key_pair.public_key_raw();
        assert_eq!(point.len(), 65, "uncompressed P-256 point");
        let jwks = json!({"keys": [{
            "kty": "EC", "crv": "P-256", "kid": "key-1", "alg": "ES256", "use": "sig",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        }]});
        let seen_traceparents = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&seen_traceparents);
        let app = Router::new().route(
            "/jwks",
            get(move |headers: axum::http::HeaderMap| {
                let jwks = jwks.clone();
                let seen = Arc::clone(&seen);
                async move {
                    if let Some(value) = headers.get("traceparent") {
                        seen.lock()
                            .unwrap()
                            .push(value.to_str().unwrap().to_owned());
                    }
                    axum::Json(jwks)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            jwks_url: format!("http://{address}/jwks"),
            signing_key: EncodingKey::from_ec_pem(key_pair.serialize_pem().as_bytes()).unwrap(),
            seen_traceparents,
        }
    }

    fn token(&self, claims: Value, kid: &str) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, &claims, &self.signing_key).unwrap()
    }
}

fn claims(overrides: Value) -> Value {
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": "user-123", "exp": now + 300, "iat": now,
        "preferred_username": "ada", "grimos_role": "operator",
    });
    for (key, value) in overrides.as_object().unwrap() {
        claims[key] = value.clone();
    }
    claims
}

async fn app_with_oidc(backend: Backend, provider: &IdentityProvider) -> TestApp {
    TestApp::spawn_with(
        backend,
        Options {
            env: vec![
                ("GRIMOS_OIDC_ISSUER", ISSUER.to_owned()),
                ("GRIMOS_OIDC_AUDIENCE", AUDIENCE.to_owned()),
                ("GRIMOS_OIDC_JWKS_URL", provider.jwks_url.clone()),
            ],
        },
    )
    .await
}

async fn oidc_tokens_are_verified(backend: Backend) {
    let provider = IdentityProvider::start().await;
    let app = app_with_oidc(backend, &provider).await;

    let good = provider.token(claims(json!({})), "key-1");
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let response = app
        .request(Method::GET, "/api/v1/auth/whoami", Some(&good))
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["kind"], "oidc");
    assert_eq!(body["role"], "operator");
    assert_eq!(body["subject"], "user-123");
    assert_eq!(body["display_name"], "ada");
    assert!(body["user"].is_null());

    // The JWKS fetch continued the caller's trace (outgoing traceparent injection).
    let seen = provider.seen_traceparents.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "keys fetched once and cached: {seen:?}");
    assert!(seen[0].starts_with(&format!("00-{trace_id}-")), "{seen:?}");
    assert!(
        !seen[0].contains("00f067aa0ba902b7"),
        "a child span, not the caller's span"
    );

    let rejected = [
        (
            provider.token(claims(json!({"aud": "someone-else"})), "key-1"),
            "another audience",
        ),
        (
            provider.token(claims(json!({"iss": "https://evil.test"})), "key-1"),
            "another issuer",
        ),
        (
            provider.token(
                claims(json!({"exp": chrono::Utc::now().timestamp() - 3600})),
                "key-1",
            ),
            "expired",
        ),
        (
            provider.token(claims(json!({})), "key-unknown"),
            "unknown key",
        ),
    ];
    for (token, expected) in rejected {
        let response = app.get("/api/v1/auth/whoami", &token).await;
        let body = problem(response, StatusCode::UNAUTHORIZED).await;
        assert!(
            body["detail"].as_str().unwrap().contains(expected),
            "{body}"
        );
    }

    // A forged signature: a valid token with its signature replaced.
    let (unsigned, _) = good.rsplit_once('.').unwrap();
    let other = IdentityProvider::start()
        .await
        .token(claims(json!({})), "key-1");
    let forged = format!("{unsigned}.{}", other.rsplit_once('.').unwrap().1);
    problem(
        app.get("/api/v1/auth/whoami", &forged).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;

    // Valid, but no grimOS role: authenticated, yet forbidden.
    let no_role = provider.token(claims(json!({"grimos_role": "intern"})), "key-1");
    let body = problem(
        app.get("/api/v1/auth/whoami", &no_role).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(body["code"], "no_role");

    // Roles still apply: an operator may not list users.
    problem(app.get("/api/v1/users", &good).await, StatusCode::FORBIDDEN).await;
    let admin = provider.token(claims(json!({"grimos_role": ["viewer", "admin"]})), "key-1");
    assert_eq!(
        app.get("/api/v1/users", &admin).await.status(),
        StatusCode::OK
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_oidc_tokens_are_verified() {
    oidc_tokens_are_verified(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_oidc_tokens_are_verified() {
    oidc_tokens_are_verified(Backend::Postgres).await;
}
