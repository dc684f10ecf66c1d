//! The REST connector under the egress policy and size bounds, tried as an attacker with an
//! operator's rights would: a base URL at the metadata address, a name resolving to a
//! denied address, redirects to denied addresses and to another origin carrying the API
//! key, an endless page. Test servers run on loopback, allow-listed where they must pass.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::IntoResponse;
use axum::routing::get;
use common::{MapSecrets, fast_retry, read_all};
use connector_rest::RestConnectorFactory;
use connector_sdk::{
    BuildContext, Connector, ConnectorError, ConnectorFactory, ErrorKind, ReadRequest,
};
use egress::{EgressPolicy, EgressRules};
use serde_json::{Value, json};

/// What a test server answers on `/items`.
#[derive(Clone)]
enum Answer {
    Records,
    RedirectTo(String),
    Bytes(usize),
}

struct Api {
    base: String,
    hits: Arc<AtomicUsize>,
    /// Every credential received (`x-api-key` or `authorization`).
    credentials: Arc<Mutex<Vec<String>>>,
}

async fn api(answer: Answer) -> Api {
    api_on("127.0.0.1", answer).await
}

async fn api_on(ip: &str, answer: Answer) -> Api {
    let hits = Arc::new(AtomicUsize::new(0));
    let credentials = Arc::new(Mutex::new(Vec::new()));
    let (h, c) = (hits.clone(), credentials.clone());
    let handler = move |uri: Uri, headers: HeaderMap| {
        let (hits, credentials, answer) = (h.clone(), c.clone(), answer.clone());
        async move {
            hits.fetch_add(1, Ordering::SeqCst);
            for name in ["x-api-key", "authorization"] {
                if let Some(value) = headers.get(name) {
                    credentials
                        .lock()
                        .unwrap()
                        .push(value.to_str().unwrap().to_owned());
                }
            }
            match answer {
                Answer::RedirectTo(location) if uri.path() == "/items" => {
                    (StatusCode::FOUND, [(header::LOCATION, location)], "").into_response()
                }
                Answer::Bytes(size) => (
                    [(header::CONTENT_TYPE, "application/json")],
                    format!(
                        r#"{{"data": [{{"id": 1, "pad": "{}"}}]}}"#,
                        "x".repeat(size)
                    ),
                )
                    .into_response(),
                _ => axum::Json(json!({"data": [{"id": 1}]})).into_response(),
            }
        }
    };
    let app = Router::new().route("/{*path}", get(handler));
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Api {
        base: format!("http://{address}"),
        hits,
        credentials,
    }
}

fn config(base: &str) -> Value {
    json!({
        "type": "rest",
        "base_url": base,
        "allow_insecure_http": true,
        "auth": {"type": "api_key", "in": "header", "name": "X-Api-Key", "value": "local:api-key"},
        "retry": fast_retry(),
        "streams": [{"name": "items", "path": "/items", "records": "$.data"}]
    })
}

fn policy(deny_private: bool, allow: &[&str]) -> EgressPolicy {
    EgressPolicy::new(EgressRules {
        deny_private,
        allow: allow.iter().map(|net| net.parse().unwrap()).collect(),
        ..EgressRules::default()
    })
}

async fn build(config: Value, egress: EgressPolicy) -> Result<Arc<dyn Connector>, ConnectorError> {
    RestConnectorFactory
        .build(
            config,
            &BuildContext::new(MapSecrets::standard()).with_egress(egress),
        )
        .await
}

async fn read(connector: &dyn Connector) -> Result<Vec<connector_sdk::ReadBatch>, ConnectorError> {
    read_all(connector, ReadRequest::full("items")).await
}

fn assert_denied(error: &ConnectorError, rule: &str) {
    assert_eq!(error.kind(), ErrorKind::Permission, "{error}");
    assert!(!error.retryable());
    let denial = error
        .egress_denial()
        .unwrap_or_else(|| panic!("not an egress refusal: {error}"));
    assert_eq!(denial.rule_name(), rule, "{error}");
    assert!(error.to_string().contains("egress denied: "), "{error}");
}

#[tokio::test]
async fn a_base_url_at_the_metadata_address_is_refused_at_build() {
    for base in [
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "http://[fd00:ec2::254]/",
        "http://100.100.100.200/",
    ] {
        let Err(error) = build(config(base), EgressPolicy::default()).await else {
            panic!("{base} should be refused");
        };
        assert_denied(&error, "metadata");
        assert!(
            error.to_string().contains("allow it with egress.allow"),
            "{error}"
        );
    }
    // An OAuth token URL too.
    let mut oauth = config("https://api.example.com");
    oauth["auth"] = json!({"type": "oauth2_client_credentials",
        "token_url": "http://169.254.169.254/token", "client_id": "c",
        "client_secret": "local:client-secret"});
    let Err(error) = build(oauth, EgressPolicy::default()).await else {
        panic!("the token URL should be refused");
    };
    assert_denied(&error, "metadata");
}

#[tokio::test]
async fn a_name_resolving_to_a_denied_address_is_refused_before_connecting() {
    let server = api(Answer::Records).await;
    let by_name = server.base.replace("127.0.0.1", "localhost");

    let connector = build(config(&by_name), policy(true, &[])).await.unwrap();
    let report = connector.check().await;
    assert_denied(report.error.as_ref().expect("refused"), "loopback");
    assert_denied(&read(connector.as_ref()).await.unwrap_err(), "loopback");
    assert_eq!(server.hits.load(Ordering::SeqCst), 0);

    // Allow-listed, the same name reaches the same server.
    let connector = build(config(&by_name), policy(true, &["127.0.0.0/8"]))
        .await
        .unwrap();
    let report = connector.check().await;
    assert!(report.is_ok(), "{:?}", report.error);
    assert!(server.hits.load(Ordering::SeqCst) > 0);
}

#[tokio::test]
async fn a_literal_loopback_base_url_is_refused_with_deny_private() {
    let server = api(Answer::Records).await;
    let Err(error) = build(config(&server.base), policy(true, &[])).await else {
        panic!("a loopback base URL should be refused");
    };
    assert_denied(&error, "loopback");
    assert_eq!(server.hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_redirect_to_the_metadata_address_is_refused() {
    let server = api(Answer::RedirectTo(
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/".into(),
    ))
    .await;
    let connector = build(config(&server.base), policy(true, &["127.0.0.1/32"]))
        .await
        .unwrap();
    let error = read(connector.as_ref()).await.unwrap_err();
    assert_denied(&error, "metadata");
    assert_eq!(
        server.hits.load(Ordering::SeqCst),
        1,
        "refused, not retried"
    );
}

/// Answers every name with fixed addresses (a name service the attacker controls).
#[derive(Debug)]
struct FixedLookup(&'static str);

impl egress::Lookup for FixedLookup {
    fn lookup(
        &self,
        _host: String,
        port: u16,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<SocketAddr>>> + Send>> {
        let address = SocketAddr::new(self.0.parse().unwrap(), port);
        Box::pin(async move { Ok(vec![address]) })
    }
}

#[tokio::test]
async fn a_redirect_to_a_name_resolving_to_a_denied_address_is_refused() {
    let target = api_on("127.0.0.2", Answer::Records).await;
    let location = format!(
        "{}/items",
        target.base.replace("127.0.0.2", "internal.attacker.test")
    );
    let server = api(Answer::RedirectTo(location)).await;
    let mut anonymous = config(&server.base);
    anonymous["auth"] = json!({"type": "none"});
    let egress = policy(true, &["127.0.0.1/32"]).with_lookup(Arc::new(FixedLookup("127.0.0.2")));
    let connector = build(anonymous, egress).await.unwrap();
    let error = read(connector.as_ref()).await.unwrap_err();
    assert_denied(&error, "loopback");
    assert!(
        error
            .to_string()
            .contains("internal.attacker.test resolves to 127.0.0.2"),
        "{error}"
    );
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
    assert_eq!(target.hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn the_api_key_never_follows_a_redirect_to_another_origin() {
    let receiver = api(Answer::Records).await;
    let server = api(Answer::RedirectTo(format!("{}/collect", receiver.base))).await;
    let connector = build(config(&server.base), policy(true, &["127.0.0.0/8"]))
        .await
        .unwrap();
    let error = read(connector.as_ref()).await.unwrap_err();
    assert_denied(&error, "same_origin_redirect");
    assert!(error.to_string().contains(&receiver.base), "{error}");
    assert_eq!(
        server.credentials.lock().unwrap().as_slice(),
        [common::API_KEY]
    );
    assert_eq!(receiver.hits.load(Ordering::SeqCst), 0);
    assert!(receiver.credentials.lock().unwrap().is_empty());

    // Without credentials the redirect is followed (each hop checked): the receiver works.
    let mut anonymous = config(&server.base);
    anonymous["auth"] = json!({"type": "none"});
    let connector = build(anonymous, policy(true, &["127.0.0.0/8"]))
        .await
        .unwrap();
    let batches = read(connector.as_ref()).await.unwrap();
    assert_eq!(common::ids(&batches), vec![1]);
    assert_eq!(receiver.hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_page_larger_than_max_response_bytes_is_refused() {
    let server = api(Answer::Bytes(8 * 1024)).await;
    let mut small = config(&server.base);
    small["max_response_bytes"] = json!(4096);
    let connector = build(small, EgressPolicy::default()).await.unwrap();
    let error = read(connector.as_ref()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Data, "{error}");
    assert!(!error.retryable());
    assert!(
        error
            .to_string()
            .contains("larger than 4 KiB (max_response_bytes)"),
        "{error}"
    );

    // The same page under the default limit is read.
    let connector = build(config(&server.base), EgressPolicy::default())
        .await
        .unwrap();
    assert_eq!(
        common::ids(&read(connector.as_ref()).await.unwrap()),
        vec![1]
    );
}

#[tokio::test]
async fn max_response_bytes_and_ca_cert_are_bounded() {
    for bad in [json!(0), json!(1023), json!(2_u64 << 30)] {
        let mut cfg = config("https://api.example.com");
        cfg["max_response_bytes"] = bad.clone();
        let Err(error) = build(cfg, EgressPolicy::default()).await else {
            panic!("{bad} should be refused");
        };
        assert!(
            error.to_string().contains("`/max_response_bytes`"),
            "{error}"
        );
    }

    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.pem");
    std::fs::write(&big, vec![b'-'; 1024 * 1024 + 1]).unwrap();
    for (path, expected) in [
        (big.to_str().unwrap(), "larger than 1 MiB"),
        ("/dev/zero", "not a regular file"),
    ] {
        let mut cfg = config("https://api.example.com");
        cfg["ca_cert"] = json!(path);
        let Err(error) = build(cfg, EgressPolicy::default()).await else {
            panic!("{path} should be refused");
        };
        assert_eq!(error.kind(), ErrorKind::Config);
        assert!(error.to_string().contains(expected), "{error}");
    }
}
