//! The end-of-run webhook under the egress policy, aimed where an attacker would aim it:
//! the metadata address, a name resolving to a denied address, a redirect to another
//! origin carrying the signature.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::post;
use egress::{EgressPolicy, EgressRules};
use flow_engine::{NotifyPayload, NotifySpec, notify};

fn payload() -> NotifyPayload {
    NotifyPayload {
        flow: "orders".into(),
        run_id: Some("run-1".into()),
        status: "succeeded".into(),
        records_read: 1,
        records_written: 1,
        records_rejected: 0,
        error: None,
        started_at: "2024-03-10T07:30:00.000Z".into(),
        finished_at: "2024-03-10T07:30:02.000Z".into(),
    }
}

/// A hook on 127.0.0.1 counting its hits; `/moved` redirects to `redirect_to`.
async fn hook(redirect_to: Option<String>) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let handler = move || {
        let (counter, redirect_to) = (counter.clone(), redirect_to.clone());
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            match redirect_to {
                Some(location) => (
                    StatusCode::TEMPORARY_REDIRECT,
                    [(header::LOCATION, location)],
                )
                    .into_response(),
                None => StatusCode::OK.into_response(),
            }
        }
    };
    let app = Router::new().route("/hook", post(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, hits)
}

fn spec(url: &str, signed: bool) -> NotifySpec {
    NotifySpec {
        url: url.into(),
        secret: signed.then(|| "local:hook".into()),
        on: vec![],
    }
}

fn strict(allow: &[&str]) -> EgressPolicy {
    EgressPolicy::new(EgressRules {
        deny_private: true,
        allow: allow.iter().map(|net| net.parse().unwrap()).collect(),
        ..EgressRules::default()
    })
}

#[tokio::test]
async fn a_notification_to_the_metadata_address_is_refused() {
    let error = notify(
        &spec("http://169.254.169.254/latest/meta-data/?token=abc", true),
        &payload(),
        &common::TestSecrets,
        &EgressPolicy::default(),
    )
    .await
    .unwrap_err();
    let message = error.to_string();
    assert!(
        message
            .contains("egress denied: 169.254.169.254 is a cloud metadata address (rule metadata)"),
        "{message}"
    );
    assert!(!message.contains("token=abc"), "{message}");
}

#[tokio::test]
async fn a_notification_to_a_name_resolving_to_a_denied_address_is_refused() {
    let (base, hits) = hook(None).await;
    let by_name = format!("{}/hook", base.replace("127.0.0.1", "localhost"));
    let error = notify(
        &spec(&by_name, false),
        &payload(),
        &common::TestSecrets,
        &strict(&[]),
    )
    .await
    .unwrap_err();
    assert!(error.to_string().contains("(rule loopback)"), "{error}");
    assert_eq!(hits.load(Ordering::SeqCst), 0);

    // allow_for `notify` lets it through.
    let mut rules = EgressRules {
        deny_private: true,
        ..EgressRules::default()
    };
    rules.allow_for = vec![("notify".into(), "127.0.0.0/8".parse().unwrap())];
    notify(
        &spec(&by_name, false),
        &payload(),
        &common::TestSecrets,
        &EgressPolicy::new(rules),
    )
    .await
    .unwrap();
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_signed_notification_does_not_follow_a_redirect_to_another_origin() {
    let (receiver, received) = hook(None).await;
    let (base, hits) = hook(Some(format!("{receiver}/hook"))).await;
    let policy = strict(&["127.0.0.0/8"]);
    let error = notify(
        &spec(&format!("{base}/hook"), true),
        &payload(),
        &common::TestSecrets,
        &policy,
    )
    .await
    .unwrap_err();
    assert!(
        error.to_string().contains("rule same_origin_redirect"),
        "{error}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert_eq!(received.load(Ordering::SeqCst), 0);

    // An unsigned one does (each hop checked): the receiver works.
    notify(
        &spec(&format!("{base}/hook"), false),
        &payload(),
        &common::TestSecrets,
        &policy,
    )
    .await
    .unwrap();
    assert_eq!(received.load(Ordering::SeqCst), 1);
}
