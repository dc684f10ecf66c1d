#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The SDK's HTTP helpers under the egress policy and size bounds, as an attacker would
//! try them: an OAuth token endpoint at the metadata address, a name resolving to a
//! denied address, a token answer that never ends.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::routing::post;
use connector_sdk::auth::{
    AuthProvider, OAuth2ClientCredentials, OAuth2Config, TOKEN_RESPONSE_LIMIT, map_reqwest_error,
    read_body_limited,
};
use connector_sdk::{ErrorKind, Operation, Secret, SecretSource};
use egress::{EgressPolicy, EgressRules, Redirects, Rule};

#[derive(Debug)]
struct OneSecret;

#[async_trait::async_trait]
impl SecretSource for OneSecret {
    async fn resolve(&self, _reference: &str) -> Result<Secret, connector_sdk::ConnectorError> {
        Ok(Secret::new("client-secret-value".to_owned()))
    }
}

/// A token endpoint on 127.0.0.1 answering `body`, counting its hits.
async fn token_endpoint(body: Vec<u8>) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = Router::new().route(
        "/token",
        post(move || {
            let body = body.clone();
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                ([("content-type", "application/json")], body)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}/token"), hits)
}

fn provider(token_url: &str, policy: &EgressPolicy) -> OAuth2ClientCredentials {
    let scope = policy.scope("rest");
    let http = scope.client_builder(Redirects::SameOrigin).build().unwrap();
    OAuth2ClientCredentials::new(
        OAuth2Config::new(token_url, "grimos", "env:CLIENT_SECRET"),
        http,
        Arc::new(OneSecret),
    )
    .with_egress(scope)
}

async fn authorize_error(provider: &OAuth2ClientCredentials) -> connector_sdk::ConnectorError {
    let request = reqwest::Client::new().get("http://127.0.0.1:9/");
    provider.authorize(request).await.unwrap_err()
}

#[tokio::test]
async fn a_token_url_at_the_metadata_address_is_refused_without_sending_the_secret() {
    let provider = provider(
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        &EgressPolicy::default(),
    );
    let error = authorize_error(&provider).await;
    assert_eq!(error.kind(), ErrorKind::Permission);
    assert!(!error.retryable());
    let denial = error.egress_denial().expect("an egress refusal");
    assert_eq!(denial.rule(), Some(Rule::Metadata));
    assert!(
        error
            .to_string()
            .contains("egress denied: 169.254.169.254 is a cloud metadata address (rule metadata)"),
        "{error}"
    );
}

#[tokio::test]
async fn a_token_url_name_resolving_to_a_denied_address_is_refused() {
    let (url, hits) = token_endpoint(br#"{"access_token":"t"}"#.to_vec()).await;
    let url = url.replace("127.0.0.1", "localhost");
    let strict = EgressPolicy::new(EgressRules {
        deny_private: true,
        ..EgressRules::default()
    });
    let error = authorize_error(&provider(&url, &strict)).await;
    assert_eq!(error.kind(), ErrorKind::Permission, "{error}");
    assert_eq!(
        error.egress_denial().and_then(|d| d.rule()),
        Some(Rule::Loopback)
    );
    assert_eq!(hits.load(Ordering::SeqCst), 0);

    // Allow-listed, the same endpoint answers.
    let allowed = EgressPolicy::new(EgressRules {
        deny_private: true,
        allow: vec!["127.0.0.0/8".parse().unwrap()],
        ..EgressRules::default()
    });
    let request = reqwest::Client::new().get("http://127.0.0.1:9/");
    provider(&url, &allowed).authorize(request).await.unwrap();
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_oversized_token_answer_is_refused() {
    let mut body = br#"{"access_token":""#.to_vec();
    body.extend(std::iter::repeat_n(b'a', TOKEN_RESPONSE_LIMIT));
    body.extend_from_slice(br#""}"#);
    let (url, hits) = token_endpoint(body).await;
    let error = authorize_error(&provider(&url, &EgressPolicy::default())).await;
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert_eq!(error.kind(), ErrorKind::Data, "{error}");
    assert!(
        error
            .detail()
            .contains("larger than 1 MiB (a token answer)"),
        "{error}"
    );
}

#[tokio::test]
async fn bounded_reads_stop_at_the_limit_with_or_without_a_content_length() {
    let (url, _) = token_endpoint(vec![b'x'; 4096]).await;
    let client = reqwest::Client::new();
    // Declared length over the limit: refused before reading.
    let response = client.post(&url).send().await.unwrap();
    let error = read_body_limited(Operation::Read, response, 4095, "max_response_bytes")
        .await
        .unwrap_err();
    assert!(
        error
            .detail()
            .contains("larger than 4095 bytes (max_response_bytes)"),
        "{error}"
    );
    // Exactly at the limit: read.
    let response = client.post(&url).send().await.unwrap();
    let body = read_body_limited(Operation::Read, response, 4096, "max_response_bytes")
        .await
        .unwrap();
    assert_eq!(body.len(), 4096);

    // A chunked body (no Content-Length) is cut off while streaming.
    let app = Router::new().route(
        "/stream",
        post(|| async {
            let chunks = (0..64).map(|_| Ok::<_, std::io::Error>(vec![b'y'; 1024]));
            axum::body::Body::from_stream(futures::stream::iter(chunks))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let response = client
        .post(format!("http://{address}/stream"))
        .send()
        .await
        .unwrap();
    assert!(response.content_length().is_none());
    let error = read_body_limited(Operation::Read, response, 10 * 1024, "max_response_bytes")
        .await
        .unwrap_err();
    assert!(error.detail().contains("larger than 10 KiB"), "{error}");
}

#[tokio::test]
async fn a_resolver_refusal_maps_to_a_permission_error_with_the_denial() {
    let strict = EgressPolicy::new(EgressRules {
        deny_private: true,
        ..EgressRules::default()
    });
    let client = strict
        .scope("rest")
        .client_builder(Redirects::SameOrigin)
        .build()
        .unwrap();
    let error = client.get("http://localhost:9/").send().await.unwrap_err();
    let error = map_reqwest_error(Operation::Check, error);
    assert_eq!(error.kind(), ErrorKind::Permission);
    assert_eq!(error.operation(), Operation::Check);
    assert_eq!(error.egress_denial().unwrap().rule_name(), "loopback");
    // Other transport errors carry no denial.
    let error = reqwest::Client::new()
        .get("http://127.0.0.1:9/")
        .send()
        .await
        .unwrap_err();
    assert!(
        map_reqwest_error(Operation::Check, error)
            .egress_denial()
            .is_none()
    );
}
