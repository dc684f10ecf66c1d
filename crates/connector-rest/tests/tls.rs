//! Outgoing TLS: server certificates are verified. An HTTPS server with a certificate from a
//! private CA (generated in the test) is refused until `ca_cert` names that CA.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use connector_rest::RestConnector;
use connector_sdk::{Connector as _, EnvFileSecretSource};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// An HTTPS server answering every request with `{"data": []}`, with a leaf certificate
/// for `localhost` signed by a fresh CA. Returns its base URL and the CA's PEM.
async fn https_server() -> (String, String) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "private test CA");
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca, &ca_key)
        .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![CertificateDer::from_pem_slice(leaf.pem().as_bytes()).unwrap()],
        PrivateKeyDer::from_pem_slice(leaf_key.serialize_pem().as_bytes()).unwrap(),
    )
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(stream).await else {
                    return;
                };
                let mut request = Vec::new();
                let mut buffer = [0u8; 1024];
                while !request.windows(4).any(|window| window == b"\r\n\r\n") {
                    match tls.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(read) => request.extend_from_slice(&buffer[..read]),
                    }
                }
                let body = br#"{"data": []}"#;
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = tls.write_all(head.as_bytes()).await;
                let _ = tls.write_all(body).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (format!("https://localhost:{port}"), ca.pem())
}

fn context() -> connector_sdk::BuildContext {
    connector_sdk::BuildContext::new(Arc::new(EnvFileSecretSource))
}

fn config(base_url: &str, ca_cert: Option<&str>) -> serde_json::Value {
    let mut config = serde_json::json!({
        "type": "rest",
        "base_url": base_url,
        "streams": [{"name": "items", "path": "/items", "records": "$.data"}]
    });
    if let Some(path) = ca_cert {
        config["ca_cert"] = serde_json::Value::String(path.to_owned());
    }
    config
}

#[tokio::test]
async fn an_untrusted_server_certificate_is_refused_until_its_ca_is_configured() {
    let (base_url, ca_pem) = https_server().await;

    let untrusting = RestConnector::from_value(config(&base_url, None), &context()).unwrap();
    let error = untrusting
        .check()
        .await
        .error
        .expect("the private CA is not trusted");
    assert!(
        error.to_string().to_lowercase().contains("certificate"),
        "{error}"
    );

    let dir = tempfile::tempdir().unwrap();
    let ca_path = dir.path().join("ca.pem");
    std::fs::write(&ca_path, ca_pem).unwrap();
    let trusting = RestConnector::from_value(
        config(&base_url, Some(ca_path.to_str().unwrap())),
        &context(),
    )
    .unwrap();
    let report = trusting.check().await;
    assert!(report.error.is_none(), "{:?}", report.error);

    let missing =
        RestConnector::from_value(config(&base_url, Some("/nonexistent/ca.pem")), &context());
    let Err(error) = missing else {
        panic!("a missing CA file is a config error")
    };
    assert!(error.to_string().contains("/ca_cert"), "{error}");
}
