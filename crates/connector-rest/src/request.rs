//! Sending HTTP requests: the authenticated `reqwest` client (under the egress policy),
//! URLs below the base URL, bounded response bodies, and HTTP statuses mapped onto
//! [`ConnectorError`] kinds with redacted body excerpts.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use connector_sdk::auth::{
    AuthenticatedClient, check_egress, parse_retry_after, read_body_limited,
};
use connector_sdk::{ConnectorError, ErrorKind, Operation, SecretSource};
use egress::{EgressScope, Redirects};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Method, Response, StatusCode, Url};

use crate::config::RestAuth;
use crate::redact::{CredentialPlace, RedactingAuth, Redactor};

/// One request to send (rebuilt for the one retry after a 401).
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    pub(crate) method: Method,
    pub(crate) url: Url,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) headers: HeaderMap,
    pub(crate) json_body: Option<Bytes>,
}

impl Outgoing {
    /// A request without query, headers or body.
    pub(crate) fn new(method: Method, url: Url) -> Self {
        Self {
            method,
            url,
            query: Vec::new(),
            headers: HeaderMap::new(),
            json_body: None,
        }
    }

    /// Sets a JSON body.
    pub(crate) fn with_json(mut self, body: &serde_json::Value) -> Self {
        self.json_body = Some(Bytes::from(body.to_string()));
        self
    }
}

/// A received response: status, headers and the whole body (one page).
#[derive(Debug)]
pub(crate) struct Received {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

/// The size limit of a `ca_cert` file.
pub(crate) const CA_CERT_LIMIT: u64 = 1024 * 1024;

/// The connection's HTTP side: base URL, default headers, authenticated client (resolving
/// and redirecting under the egress policy), body size limit, redactor.
#[derive(Debug)]
pub(crate) struct Http {
    client: AuthenticatedClient,
    base: Url,
    headers: HeaderMap,
    redactor: Arc<Redactor>,
    egress: EgressScope,
    max_response_bytes: usize,
}

/// How the connection's HTTP side is set up (from the compiled configuration).
pub(crate) struct HttpSetup<'a> {
    pub(crate) base: Url,
    pub(crate) headers: HeaderMap,
    pub(crate) auth: &'a RestAuth,
    pub(crate) secrets: Arc<dyn SecretSource>,
    pub(crate) egress: EgressScope,
    pub(crate) timeout: Duration,
    pub(crate) https_only: bool,
    pub(crate) ca_cert: Option<&'a str>,
    pub(crate) max_response_bytes: usize,
}

impl Http {
    /// A client for `base` with `headers` on every request and `auth` resolved through
    /// `secrets` when first needed. Every address it connects to passes `egress`; a
    /// request carrying credentials follows redirects only on its own origin.
    pub(crate) fn new(setup: HttpSetup<'_>) -> Result<Self, ConnectorError> {
        let HttpSetup {
            base,
            headers,
            auth,
            secrets,
            egress,
            timeout,
            https_only,
            ca_cert,
            max_response_bytes,
        } = setup;
        check_egress(Operation::Build, &egress, &base)?;
        if let RestAuth::OAuth2ClientCredentials { token_url, .. } = auth
            && let Ok(token_url) = Url::parse(token_url)
        {
            check_egress(Operation::Build, &egress, &token_url)?;
        }
        let redirects = match auth {
            RestAuth::None => Redirects::AnyOrigin,
            _ => Redirects::SameOrigin,
        };
        let mut builder = egress.client_builder(redirects).use_rustls_tls();
        if let Some(path) = ca_cert {
            let bytes = read_ca_file(path)?;
            let certificates = reqwest::Certificate::from_pem_bundle(&bytes).map_err(|e| {
                ConnectorError::config(
                    Operation::Build,
                    format!("`/ca_cert`: {path} is not a PEM bundle: {e}"),
                )
            })?;
            if certificates.is_empty() {
                return Err(ConnectorError::config(
                    Operation::Build,
                    format!("`/ca_cert`: {path} holds no PEM certificate"),
                ));
            }
            for certificate in certificates {
                builder = builder.add_root_certificate(certificate);
            }
        }
        let raw = builder
            .https_only(https_only)
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("grimos-connector-rest/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                ConnectorError::config(
                    Operation::Build,
                    format!("cannot build the HTTP client: {e}"),
                )
            })?;
        let place = match auth {
            RestAuth::None => CredentialPlace::Nowhere,
            RestAuth::ApiKey { name, location, .. } => match location {
                connector_sdk::auth::ApiKeyLocation::Header => {
                    CredentialPlace::Header(name.clone())
                }
                connector_sdk::auth::ApiKeyLocation::Query => CredentialPlace::Query(name.clone()),
            },
            RestAuth::Bearer { .. }
            | RestAuth::Basic { .. }
            | RestAuth::OAuth2ClientCredentials { .. } => CredentialPlace::Authorization,
        };
        let redactor = Arc::new(Redactor::default());
        let provider = auth.to_sdk().build(raw.clone(), secrets, &egress);
        let provider = Arc::new(RedactingAuth::new(provider, place, redactor.clone()));
        Ok(Self {
            client: AuthenticatedClient::new(raw, provider),
            base,
            headers,
            redactor,
            egress,
            max_response_bytes,
        })
    }

    /// The redactor of this connection.
    pub(crate) fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// `path` (starting with `/`, possibly with a query) appended to the base URL.
    pub(crate) fn url(&self, path: &str) -> Result<Url, String> {
        let joined = format!("{}{path}", self.base.as_str().trim_end_matches('/'));
        Url::parse(&joined).map_err(|e| format!("`{path}` does not make a valid URL: {e}"))
    }

    /// Whether `url` has the base URL's scheme, host and port (so credentials may go there).
    pub(crate) fn same_origin(&self, url: &Url) -> bool {
        url.scheme() == self.base.scheme()
            && url.host_str() == self.base.host_str()
            && url.port_or_known_default() == self.base.port_or_known_default()
    }

    /// Sends `request` with credentials and reads the whole body (at most
    /// `max_response_bytes`). Any status comes back as is, except a 401 that persists after
    /// fresh credentials (an auth error). A URL whose literal address the egress policy
    /// denies is refused before anything is sent.
    pub(crate) async fn send(
        &self,
        operation: Operation,
        request: &Outgoing,
    ) -> Result<Received, ConnectorError> {
        check_egress(operation, &self.egress, &request.url)?;
        let response = self
            .client
            .send(operation, |client| {
                let mut builder = client
                    .request(request.method.clone(), request.url.clone())
                    .headers(self.headers.clone())
                    .headers(request.headers.clone());
                if !request.query.is_empty() {
                    builder = builder.query(&request.query);
                }
                if let Some(body) = &request.json_body {
                    builder = builder
                        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                        .body(body.clone());
                }
                builder
            })
            .await?;
        read_response(operation, response, self.max_response_bytes).await
    }

    /// The error an unsuccessful response means: its kind from the status (408/429/5xx
    /// retryable, other 4xx not), `Retry-After` honoured, a redacted body excerpt.
    /// `prefix` starts the detail (e.g. `page 3: `).
    pub(crate) fn status_error(
        &self,
        operation: Operation,
        received: &Received,
        prefix: &str,
    ) -> ConnectorError {
        let status = received.status;
        let mut err = ConnectorError::new(
            ErrorKind::from_http_status(status.as_u16()),
            operation,
            format!(
                "{prefix}HTTP {status}: {}",
                self.redactor.excerpt(&received.body)
            ),
        );
        if let Some(wait) = parse_retry_after(&received.headers) {
            err = err.with_retry_after(wait);
        }
        err
    }
}

async fn read_response(
    operation: Operation,
    response: Response,
    limit: usize,
) -> Result<Received, ConnectorError> {
    let status = response.status();
    let headers = response.headers().clone();
    let body = read_body_limited(operation, response, limit, "max_response_bytes").await?;
    Ok(Received {
        status,
        headers,
        body: Bytes::from(body),
    })
}

/// Reads a `ca_cert` file of at most [`CA_CERT_LIMIT`] bytes.
fn read_ca_file(path: &str) -> Result<Vec<u8>, ConnectorError> {
    use std::io::Read as _;
    let cannot_read = |e: std::io::Error| {
        ConnectorError::config(
            Operation::Build,
            format!("`/ca_cert`: cannot read {path}: {e}"),
        )
    };
    let file = std::fs::File::open(path).map_err(cannot_read)?;
    // Not a FIFO or a device, which could block the build or never end.
    if !file.metadata().map_err(cannot_read)?.is_file() {
        return Err(ConnectorError::config(
            Operation::Build,
            format!("`/ca_cert`: {path} is not a regular file"),
        ));
    }
    let mut bytes = Vec::new();
    file.take(CA_CERT_LIMIT + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot_read)?;
    if bytes.len() as u64 > CA_CERT_LIMIT {
        return Err(ConnectorError::config(
            Operation::Build,
            format!("`/ca_cert`: {path} is larger than 1 MiB; it is not a CA bundle"),
        ));
    }
    Ok(bytes)
}

/// Whether a transport error happened before the request reached the server (safe to
/// retry even for a non-idempotent write).
pub(crate) fn never_sent(err: &ConnectorError) -> bool {
    type Shared = Arc<dyn std::error::Error + Send + Sync>;
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        // A ConnectorError shows its source as the `Arc` it keeps it in: look inside.
        let cause: &(dyn std::error::Error + 'static) = match cause.downcast_ref::<Shared>() {
            Some(shared) => shared.as_ref(),
            None => cause,
        };
        if let Some(reqwest_err) = cause.downcast_ref::<reqwest::Error>() {
            return reqwest_err.is_connect();
        }
        source = cause.source();
    }
    false
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[tokio::test]
    async fn a_refused_connection_was_never_sent() {
        // A port just released: nothing listens there.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        drop(listener);
        let error = reqwest::Client::new()
            .get(format!("http://{address}/"))
            .send()
            .await
            .unwrap_err();
        let error = connector_sdk::auth::map_reqwest_error(Operation::Write, error);
        assert!(never_sent(&error), "{error:?}");
    }
}
