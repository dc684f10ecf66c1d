//! HTTPS serving with rustls, and mutual TLS.
//!
//! TLS 1.2 and 1.3 only. With a client CA, client certificates are verified against it; a
//! verified certificate makes its connection's requests come from a `service` principal
//! named by the certificate's common name (for service-to-service calls). Bearer
//! credentials, when also sent, take precedence.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use api::auth::TransportPrincipal;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use kernel::{Principal, PrincipalKind, Role};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use settings::{ClientAuth, TlsSettings};
use tokio::net::TcpListener;
use tower::ServiceExt as _;

/// How long a client may take to complete the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A TLS configuration problem, naming the file.
#[derive(Debug, thiserror::Error)]
#[error("TLS: {0}")]
pub struct TlsError(String);

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certificates = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|error| {
            TlsError(format!(
                "cannot read certificates from {}: {error}",
                path.display()
            ))
        })?;
    if certificates.is_empty() {
        return Err(TlsError(format!(
            "{} holds no PEM certificate",
            path.display()
        )));
    }
    Ok(certificates)
}

/// Build the rustls server configuration (fails at start-up, not at the first client).
pub fn server_config(settings: &TlsSettings) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let chain = certificates(&settings.cert)?;
    let key = PrivateKeyDer::from_pem_file(&settings.key).map_err(|error| {
        TlsError(format!(
            "cannot read a private key from {}: {error}",
            settings.key.display()
        ))
    })?;
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|error| TlsError(error.to_string()))?;
    let builder = match &settings.client_ca {
        None => builder.with_no_client_auth(),
        Some(client_ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for certificate in certificates(client_ca)? {
                roots
                    .add(certificate)
                    .map_err(|error| TlsError(format!("{}: {error}", client_ca.display())))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider());
            let verifier = match settings.client_auth {
                ClientAuth::Required => verifier,
                ClientAuth::Optional => verifier.allow_unauthenticated(),
            }
            .build()
            .map_err(|error| TlsError(format!("{}: {error}", client_ca.display())))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|error| {
        TlsError(format!(
            "the certificate and key do not fit together: {error}"
        ))
    })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The `service` principal a verified client certificate stands for.
pub fn principal_from_certificate(der: &[u8]) -> Option<Principal> {
    let (_, certificate) = x509_parser::parse_x509_certificate(der).ok()?;
    let common_name = certificate
        .subject()
        .iter_common_name()
        .next()
        .and_then(|name| name.as_str().ok())?
        .to_owned();
    Some(Principal {
        subject: format!("cert:{common_name}"),
        display_name: common_name,
        role: Role::Service,
        kind: PrincipalKind::Certificate,
        token_id: None,
        user_id: None,
    })
}

/// Serve `router` over TLS until `shutdown`, then stop accepting and wait up to `grace`
/// for open connections to finish their requests.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    config: Arc<rustls::ServerConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let graceful = GracefulShutdown::new();
    let builder = auto::Builder::new(TokioExecutor::new());
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(error = %error, "accepting a connection failed");
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let acceptor = acceptor.clone();
        let router = router.clone();
        let builder = builder.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(error)) => {
                    tracing::info!(peer = %peer, error = %error, "TLS handshake refused");
                    return;
                }
                Err(_) => {
                    tracing::info!(peer = %peer, "TLS handshake timed out");
                    return;
                }
            };
            let principal = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
                .and_then(|leaf| principal_from_certificate(leaf.as_ref()));
            let service =
                tower::service_fn(move |mut request: http::Request<hyper::body::Incoming>| {
                    if let Some(principal) = &principal {
                        request
                            .extensions_mut()
                            .insert(TransportPrincipal(principal.clone()));
                    }
                    router.clone().oneshot(request.map(axum::body::Body::new))
                });
            let connection = builder.serve_connection_with_upgrades(
                TokioIo::new(tls),
                TowerToHyperService::new(service),
            );
            if let Err(error) = watcher.watch(connection.into_owned()).await {
                tracing::debug!(peer = %peer, error = %error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(grace) => {
            tracing::warn!(grace_secs = grace.as_secs(), "open connections did not finish within the grace period; stopping anyway");
        }
    }
    Ok(())
}
