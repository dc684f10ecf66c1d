//! The policy applied to real HTTP clients, as an attacker would try it: names resolving
//! to denied addresses, DNS rebinding, redirects to denied addresses and credentials
//! following a redirect to another origin. Servers run on loopback, allow-listed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::IntoResponse;
use axum::routing::get;
use egress::{EgressPolicy, EgressRules, Lookup, Redirects, Rule, find_denial};

/// A server on `ip` counting its requests and recording the `x-api-key` it received.
struct Receiver {
    address: SocketAddr,
    hits: Arc<AtomicUsize>,
    keys: Arc<Mutex<Vec<String>>>,
}

async fn receiver(ip: &str, redirect_to: Option<String>) -> Receiver {
    let hits = Arc::new(AtomicUsize::new(0));
    let keys = Arc::new(Mutex::new(Vec::new()));
    let (h, k) = (hits.clone(), keys.clone());
    // Redirects (when asked to) from `/` only.
    let handler = move |uri: Uri, headers: HeaderMap| {
        let (hits, keys, redirect_to) = (h.clone(), k.clone(), redirect_to.clone());
        async move {
            hits.fetch_add(1, Ordering::SeqCst);
            if let Some(key) = headers.get("x-api-key") {
                keys.lock().unwrap().push(key.to_str().unwrap().to_owned());
            }
            match redirect_to.filter(|_| uri.path() == "/") {
                Some(location) => {
                    (StatusCode::FOUND, [(header::LOCATION, location)], "").into_response()
                }
                None => (StatusCode::OK, "ok").into_response(),
            }
        }
    };
    let app = Router::new()
        .route("/", get(handler.clone()))
        .route("/{*rest}", get(handler));
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Receiver {
        address,
        hits,
        keys,
    }
}

/// Answers names from a table; each name's answers are served in turn (the last one
/// repeats), so a test can rebind a name between two lookups.
#[derive(Debug, Default)]
struct TableLookup {
    answers: Mutex<HashMap<String, Vec<Vec<IpAddr>>>>,
}

impl TableLookup {
    fn with(name: &str, answers: &[&[&str]]) -> Arc<Self> {
        let answers = answers
            .iter()
            .map(|set| set.iter().map(|ip| ip.parse().unwrap()).collect())
            .collect();
        Arc::new(Self {
            answers: Mutex::new(HashMap::from([(name.to_owned(), answers)])),
        })
    }
}

impl Lookup for TableLookup {
    fn lookup(
        &self,
        host: String,
        port: u16,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<SocketAddr>>> + Send>> {
        let mut table = self.answers.lock().unwrap();
        let answer = match table.get_mut(&host) {
            Some(answers) if answers.len() > 1 => Ok(answers.remove(0)),
            Some(answers) => Ok(answers[0].clone()),
            None => Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "unknown name",
            )),
        };
        Box::pin(async move {
            answer.map(|ips| {
                ips.into_iter()
                    .map(|ip| SocketAddr::new(ip, port))
                    .collect()
            })
        })
    }
}

fn rules(deny_private: bool, allow: &[&str]) -> EgressRules {
    EgressRules {
        deny_private,
        allow: allow.iter().map(|net| net.parse().unwrap()).collect(),
        ..EgressRules::default()
    }
}

fn denial_of(error: &reqwest::Error) -> egress::EgressDenied {
    find_denial(error)
        .cloned()
        .unwrap_or_else(|| panic!("not an egress refusal: {error:?}"))
}

#[tokio::test]
async fn a_name_resolving_to_a_denied_address_is_refused_before_connecting() {
    let server = receiver("127.0.0.1", None).await;
    let lookup = TableLookup::with("internal.test", &[&["127.0.0.1"]]);
    let policy = EgressPolicy::new(rules(true, &[])).with_lookup(lookup);
    let client = policy
        .scope("rest")
        .client_builder(Redirects::AnyOrigin)
        .build()
        .unwrap();
    let url = format!("http://internal.test:{}/", server.address.port());
    let error = client.get(&url).send().await.unwrap_err();
    let denied = denial_of(&error);
    assert_eq!(denied.rule(), Some(Rule::Loopback));
    assert!(
        denied
            .to_string()
            .starts_with("egress denied: internal.test resolves to 127.0.0.1, a loopback address"),
        "{denied}"
    );
    assert_eq!(server.hits.load(Ordering::SeqCst), 0);

    // The same name to the metadata address, under the default policy.
    let lookup = TableLookup::with("metadata.test", &[&["169.254.169.254"]]);
    let client = EgressPolicy::default()
        .with_lookup(lookup)
        .scope("rest")
        .client_builder(Redirects::AnyOrigin)
        .build()
        .unwrap();
    let error = client
        .get("http://metadata.test/")
        .send()
        .await
        .unwrap_err();
    assert_eq!(denial_of(&error).rule(), Some(Rule::Metadata));
}

#[tokio::test]
async fn denied_answers_are_dropped_and_allowed_ones_kept() {
    let server = receiver("127.0.0.1", None).await;
    let lookup = TableLookup::with("mixed.test", &[&["169.254.169.254", "127.0.0.1"]]);
    let policy = EgressPolicy::new(rules(true, &["127.0.0.1/32"])).with_lookup(lookup);
    let scope = policy.scope("rest");
    let addresses = scope.resolve("mixed.test", 5432).await.unwrap();
    assert_eq!(addresses, vec!["127.0.0.1:5432".parse().unwrap()]);
    let client = scope.client_builder(Redirects::AnyOrigin).build().unwrap();
    let url = format!("http://mixed.test:{}/", server.address.port());
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_rebound_name_is_refused_on_the_next_connection() {
    let server = receiver("127.0.0.1", None).await;
    // First answer allowed (allow-listed), then the name rebinds to a denied loopback.
    let lookup = TableLookup::with("rebind.test", &[&["127.0.0.1"], &["127.0.0.2"]]);
    let policy = EgressPolicy::new(rules(true, &["127.0.0.1/32"])).with_lookup(lookup);
    let client = policy
        .scope("rest")
        .client_builder(Redirects::AnyOrigin)
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let url = format!("http://rebind.test:{}/", server.address.port());
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    let error = client.get(&url).send().await.unwrap_err();
    let denied = denial_of(&error);
    assert_eq!(denied.rule(), Some(Rule::Loopback));
    assert_eq!(denied.refused_address(), Some("127.0.0.2".parse().unwrap()));
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn localhost_is_refused_with_deny_private_unless_loopback_is_allow_listed() {
    let server = receiver("127.0.0.1", None).await;
    let url = format!("http://localhost:{}/", server.address.port());

    let strict = EgressPolicy::new(rules(true, &[])).scope("rest");
    let client = strict.client_builder(Redirects::AnyOrigin).build().unwrap();
    let error = client.get(&url).send().await.unwrap_err();
    assert_eq!(denial_of(&error).rule(), Some(Rule::Loopback));
    assert_eq!(server.hits.load(Ordering::SeqCst), 0);
    let error = strict.resolve("localhost", 80).await.unwrap_err();
    assert_eq!(error.denied().and_then(|d| d.rule()), Some(Rule::Loopback));

    let allowed = EgressPolicy::new(rules(true, &["127.0.0.0/8"])).scope("rest");
    let client = allowed
        .client_builder(Redirects::AnyOrigin)
        .build()
        .unwrap();
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);

    // allow_for applies to its connector type only.
    let mut per_type = rules(true, &[]);
    per_type.allow_for = vec![("sql".into(), "127.0.0.0/8".parse().unwrap())];
    let policy = EgressPolicy::new(per_type);
    assert!(
        policy
            .resolve_checked("localhost", 5432, "sql")
            .await
            .is_ok()
    );
    assert!(
        policy
            .resolve_checked("localhost", 5432, "rest")
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_redirect_to_the_metadata_address_is_refused() {
    let server = receiver(
        "127.0.0.1",
        Some("http://169.254.169.254/latest/meta-data/".into()),
    )
    .await;
    let client = EgressPolicy::new(rules(true, &["127.0.0.1/32"]))
        .scope("rest")
        .client_builder(Redirects::AnyOrigin)
        .build()
        .unwrap();
    let url = format!("http://127.0.0.1:{}/", server.address.port());
    let error = client.get(&url).send().await.unwrap_err();
    assert!(error.is_redirect());
    assert_eq!(denial_of(&error).rule(), Some(Rule::Metadata));
}

#[tokio::test]
async fn a_redirect_to_a_denied_loopback_address_never_reaches_it() {
    let denied = receiver("127.0.0.2", None).await;
    let allowed = receiver("127.0.0.1", Some(format!("http://{}/grab", denied.address))).await;
    let client = EgressPolicy::new(rules(true, &["127.0.0.1/32"]))
        .scope("rest")
        .client_builder(Redirects::AnyOrigin)
        .build()
        .unwrap();
    let error = client
        .get(format!("http://{}/", allowed.address))
        .send()
        .await
        .unwrap_err();
    assert_eq!(denial_of(&error).rule(), Some(Rule::Loopback));
    assert_eq!(allowed.hits.load(Ordering::SeqCst), 1);
    assert_eq!(denied.hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn credentials_never_follow_a_redirect_to_another_origin() {
    let second = receiver("127.0.0.1", None).await;
    let first = receiver(
        "127.0.0.1",
        Some(format!("http://{}/collect", second.address)),
    )
    .await;
    let scope = EgressPolicy::new(rules(true, &["127.0.0.0/8"])).scope("rest");

    let authenticated = scope.client_builder(Redirects::SameOrigin).build().unwrap();
    let error = authenticated
        .get(format!("http://{}/", first.address))
        .header("x-api-key", "top-secret")
        .send()
        .await
        .unwrap_err();
    let denial = denial_of(&error);
    assert_eq!(denial.rule_name(), "same_origin_redirect");
    let message = denial.to_string();
    assert!(
        message.contains(&format!("http://{}", second.address)),
        "{message}"
    );
    assert!(
        !message.contains("collect"),
        "no path in the message: {message}"
    );
    assert_eq!(second.hits.load(Ordering::SeqCst), 0);
    assert!(second.keys.lock().unwrap().is_empty());

    // The receiver works: a client following any origin delivers the header to it,
    // which is exactly what the same-origin rule prevents.
    let anonymous = scope.client_builder(Redirects::AnyOrigin).build().unwrap();
    anonymous
        .get(format!("http://{}/", first.address))
        .header("x-api-key", "top-secret")
        .send()
        .await
        .unwrap();
    assert_eq!(second.keys.lock().unwrap().as_slice(), ["top-secret"]);
}

#[tokio::test]
async fn same_origin_redirects_are_followed_for_authenticated_requests() {
    let server = receiver("127.0.0.1", Some("/moved".into())).await;
    let client = EgressPolicy::default()
        .scope("rest")
        .client_builder(Redirects::SameOrigin)
        .build()
        .unwrap();
    let response = client
        .get(format!("http://{}/", server.address))
        .header("x-api-key", "top-secret")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.url().path(), "/moved");
    assert_eq!(
        server.keys.lock().unwrap().as_slice(),
        ["top-secret", "top-secret"]
    );
}

#[tokio::test]
async fn a_redirect_loop_ends_after_the_hop_limit() {
    let server = receiver("127.0.0.1", Some("/".into())).await;
    let client = EgressPolicy::default()
        .scope("rest")
        .client_builder(Redirects::SameOrigin)
        .build()
        .unwrap();
    let error = client
        .get(format!("http://{}/", server.address))
        .send()
        .await
        .unwrap_err();
    assert!(error.is_redirect());
    let cause = std::error::Error::source(&error).unwrap().to_string();
    assert_eq!(cause, "more than 10 redirects");
    assert_eq!(server.hits.load(Ordering::SeqCst), 11);
}

#[tokio::test]
async fn redirects_can_be_refused_altogether() {
    let server = receiver("127.0.0.1", Some("/moved".into())).await;
    let client = EgressPolicy::default()
        .scope("notify")
        .client_builder(Redirects::Never)
        .build()
        .unwrap();
    let response = client
        .get(format!("http://{}/", server.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
}
