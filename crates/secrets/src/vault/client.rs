//! The Vault/OpenBao HTTP client: transport, error mapping, token handling and KV v2 reads.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode, Url};
use serde_json::Value;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::auth::{self, Token};
use super::config::{VaultAuth, VaultConfig};
use crate::error::SecretError;
use crate::reference::VaultRef;
use crate::value::SecretValue;

/// Longest excerpt of a Vault error list kept in a message.
const MAX_ERROR_TEXT: usize = 300;

/// A Vault/OpenBao client. Cheap to clone; clones share the token.
///
/// The token is obtained on first use, renewed (`renew-self`) when less than
/// `renew_before_secs` (or half its TTL) is left, and, for AppRole and Kubernetes auth,
/// replaced by a new login when renewal fails or a request gets 403 (once per request).
#[derive(Clone)]
pub struct VaultClient {
    inner: Arc<Inner>,
}

struct Inner {
    transport: Transport,
    auth: VaultAuth,
    renew_before: Duration,
    token: Mutex<Option<Token>>,
}

impl std::fmt::Debug for VaultClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultClient")
            .field("address", &self.inner.transport.base.as_str())
            .field("namespace", &self.inner.transport.namespace)
            .finish_non_exhaustive()
    }
}

/// A KV v2 secret: its fields (values redacted in `Debug`) and version.
#[derive(Debug, Clone)]
pub struct KvSecret {
    /// Fields of the secret; non-string JSON values are given as compact JSON text.
    pub data: BTreeMap<String, SecretValue>,
    /// Version that was read.
    pub version: u64,
}

/// Answer of `sys/health`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VaultHealth {
    /// Whether the server is initialized.
    pub initialized: bool,
    /// Whether it is sealed.
    pub sealed: bool,
    /// Whether it is a standby node.
    pub standby: bool,
}

impl VaultClient {
    /// Build a client (no request is sent until first use).
    pub fn new(config: VaultConfig) -> Result<Self, SecretError> {
        let transport = Transport::new(&config)?;
        Ok(Self {
            inner: Arc::new(Inner {
                transport,
                auth: config.auth,
                renew_before: Duration::from_secs(config.renew_before_secs),
                token: Mutex::new(None),
            }),
        })
    }

    /// Read a KV v2 secret at `mount`/`path`, the latest or a given version.
    pub async fn read_kv2(
        &self,
        mount: &str,
        path: &str,
        version: Option<u64>,
    ) -> Result<KvSecret, SecretError> {
        let mut segments = vec![mount, "data"];
        segments.extend(path.split('/'));
        let query = version.map(|v| ("version", v.to_string()));
        let body = self
            .request(Method::GET, &segments, query.as_ref(), None)
            .await?;
        let data = body
            .pointer("/data/data")
            .and_then(Value::as_object)
            .ok_or_else(|| {
                // KV v2 answers 200 with `data: null` for a deleted (not destroyed) version.
                SecretError::not_found("the secret version is deleted")
            })?;
        let version = body
            .pointer("/data/metadata/version")
            .and_then(Value::as_u64)
            .unwrap_or_default();
        let data = data
            .iter()
            .map(|(key, value)| {
                let text = match value {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                (key.clone(), SecretValue::new(text))
            })
            .collect();
        Ok(KvSecret { data, version })
    }

    /// Read the field a `vault:` reference names. Errors carry no reference; the resolver
    /// adds it.
    pub async fn read_field(&self, reference: &VaultRef) -> Result<SecretValue, SecretError> {
        let mut secret = self
            .read_kv2(&reference.mount, &reference.path, reference.version)
            .await?;
        secret.data.remove(&reference.field).ok_or_else(|| {
            let fields: Vec<&str> = secret.data.keys().map(String::as_str).collect();
            SecretError::not_found(format!(
                "the secret has no field `{}` (fields: {})",
                reference.field,
                fields.join(", ")
            ))
        })
    }

    /// `sys/health`: reachable, initialized, sealed, standby. Needs no token.
    pub async fn health(&self) -> Result<VaultHealth, SecretError> {
        // Ask for 200 in every state so the body is always the health document.
        let query = [
            ("standbyok", "true"),
            ("sealedcode", "200"),
            ("uninitcode", "200"),
            ("perfstandbyok", "true"),
        ];
        let url = self.inner.transport.url(&["sys", "health"])?;
        let response = self
            .inner
            .transport
            .http
            .get(url)
            .query(&query)
            .send()
            .await
            .map_err(|e| transport_error(&e))?;
        let body = read_body(response).await?;
        let flag = |name: &str| body.get(name).and_then(Value::as_bool).unwrap_or(false);
        Ok(VaultHealth {
            initialized: flag("initialized"),
            sealed: flag("sealed"),
            standby: flag("standby"),
        })
    }

    /// Log in now (or, for token auth, look the token up), replacing the current token.
    pub async fn login(&self) -> Result<(), SecretError> {
        let token = auth::obtain(&self.inner.transport, &self.inner.auth).await?;
        *self.inner.token.lock().await = Some(token);
        Ok(())
    }

    /// Send an authenticated request to `/v1/<segments>` and return the JSON body.
    ///
    /// For auth methods that can log in again, a 403 triggers one fresh login and retry:
    /// Vault answers 403 for an expired or revoked token as well as for a missing grant.
    pub(crate) async fn request(
        &self,
        method: Method,
        segments: &[&str],
        query: Option<&(&str, String)>,
        body: Option<&Value>,
    ) -> Result<Value, SecretError> {
        let token = self.current_token(false).await?;
        let first = self
            .inner
            .transport
            .send(method.clone(), segments, query, body, Some(&token))
            .await;
        match first {
            Err(error)
                if error.kind() == crate::ErrorKind::PermissionDenied
                    && self.inner.auth.can_login() =>
            {
                tracing::debug!("vault answered 403; logging in again and retrying once");
                let token = self.current_token(true).await?;
                self.inner
                    .transport
                    .send(method, segments, query, body, Some(&token))
                    .await
            }
            other => other,
        }
    }

    async fn current_token(&self, force_login: bool) -> Result<SecretValue, SecretError> {
        let transport = &self.inner.transport;
        let auth_config = &self.inner.auth;
        let mut guard = self.inner.token.lock().await;
        let token = match guard.take() {
            Some(token) if !force_login => {
                if token.needs_renewal(Instant::now(), self.inner.renew_before) {
                    auth::refresh(transport, auth_config, token).await?
                } else {
                    token
                }
            }
            _ => auth::obtain(transport, auth_config).await?,
        };
        let value = token.value().clone();
        *guard = Some(token);
        Ok(value)
    }
}

/// HTTP transport: base URL, namespace header, error mapping. Knows nothing of tokens'
/// lifecycle.
pub(crate) struct Transport {
    pub(crate) http: reqwest::Client,
    base: Url,
    namespace: Option<String>,
}

impl Transport {
    fn new(config: &VaultConfig) -> Result<Self, SecretError> {
        let base = Url::parse(&config.address).map_err(|e| {
            SecretError::backend(format!("the Vault address is not a valid URL: {e}"))
        })?;
        if base.cannot_be_a_base() || !matches!(base.scheme(), "http" | "https") {
            return Err(SecretError::backend(
                "the Vault address must be an http:// or https:// URL",
            ));
        }
        let timeout = Duration::from_secs(config.timeout_secs.max(1));
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("grimos-secrets/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &config.ca_cert {
            let pem = std::fs::read(path).map_err(|e| {
                SecretError::backend(format!("cannot read CA bundle {}: {e}", path.display()))
            })?;
            let certificates = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                SecretError::backend(format!("invalid CA bundle {}: {e}", path.display()))
            })?;
            for certificate in certificates {
                builder = builder.add_root_certificate(certificate);
            }
        }
        let http = builder
            .build()
            .map_err(|e| SecretError::backend(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            http,
            base,
            namespace: config.namespace.clone().filter(|n| !n.is_empty()),
        })
    }

    fn url(&self, segments: &[&str]) -> Result<Url, SecretError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| SecretError::backend("the Vault address cannot hold a path"))?
            .pop_if_empty()
            .push("v1")
            .extend(segments);
        Ok(url)
    }

    pub(crate) async fn send(
        &self,
        method: Method,
        segments: &[&str],
        query: Option<&(&str, String)>,
        body: Option<&Value>,
        token: Option<&SecretValue>,
    ) -> Result<Value, SecretError> {
        let mut request = self
            .http
            .request(method, self.url(segments)?)
            .header("X-Vault-Request", "true");
        if let Some(namespace) = &self.namespace {
            request = request.header("X-Vault-Namespace", namespace);
        }
        if let Some(token) = token {
            let mut header = reqwest::header::HeaderValue::from_str(token.expose())
                .map_err(|_| SecretError::backend("the Vault token is not a valid header value"))?;
            header.set_sensitive(true);
            request = request.header("X-Vault-Token", header);
        }
        if let Some(query) = query {
            request = request.query(&[query]);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| transport_error(&e))?;
        read_body(response).await
    }
}

async fn read_body(response: reqwest::Response) -> Result<Value, SecretError> {
    let status = response.status();
    let bytes = response.bytes().await.map_err(|e| transport_error(&e))?;
    if status.is_success() {
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        return serde_json::from_slice(&bytes)
            .map_err(|e| SecretError::backend(format!("Vault answered invalid JSON: {e}")));
    }
    let errors = serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|body| body.get("errors").cloned())
        .and_then(|errors| serde_json::from_value::<Vec<String>>(errors).ok())
        .unwrap_or_default();
    Err(status_error(status, &errors))
}

/// Map a Vault status and its `errors` list to an error kind and message.
pub(crate) fn status_error(status: StatusCode, errors: &[String]) -> SecretError {
    let mut detail = errors.join("; ");
    if detail.len() > MAX_ERROR_TEXT {
        let cut = (0..=MAX_ERROR_TEXT)
            .rev()
            .find(|&i| detail.is_char_boundary(i))
            .unwrap_or(0);
        detail.truncate(cut);
        detail.push('…');
    }
    let with_detail = |text: &str| {
        if detail.is_empty() {
            format!("{text} (HTTP {})", status.as_u16())
        } else {
            format!("{text} (HTTP {}): {detail}", status.as_u16())
        }
    };
    match status {
        StatusCode::NOT_FOUND => SecretError::not_found(with_detail("no secret at this path")),
        StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED => {
            SecretError::permission_denied(with_detail("Vault denied access"))
        }
        StatusCode::SERVICE_UNAVAILABLE if detail.to_ascii_lowercase().contains("sealed") => {
            SecretError::unavailable(with_detail("Vault is sealed"))
        }
        StatusCode::SERVICE_UNAVAILABLE
        | StatusCode::TOO_MANY_REQUESTS
        | StatusCode::BAD_GATEWAY
        | StatusCode::GATEWAY_TIMEOUT => {
            SecretError::unavailable(with_detail("Vault is unavailable"))
        }
        _ => SecretError::backend(with_detail("Vault request failed")),
    }
}

fn transport_error(error: &reqwest::Error) -> SecretError {
    if error.is_timeout() {
        SecretError::unavailable("Vault did not answer in time")
    } else if error.is_connect() {
        SecretError::unavailable(format!("Vault is unreachable: {}", error_chain(error)))
    } else if error.is_decode() || error.is_body() {
        SecretError::unavailable(format!(
            "reading Vault's answer failed: {}",
            error_chain(error)
        ))
    } else {
        SecretError::unavailable(format!("request to Vault failed: {}", error_chain(error)))
    }
}

/// The error and its sources on one line (reqwest's own `Display` is only the top).
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn statuses_map_to_kinds() {
        let cases = [
            (404, vec![], ErrorKind::NotFound),
            (
                403,
                vec!["permission denied".to_owned()],
                ErrorKind::PermissionDenied,
            ),
            (
                503,
                vec!["Vault is sealed".to_owned()],
                ErrorKind::Unavailable,
            ),
            (503, vec![], ErrorKind::Unavailable),
            (429, vec![], ErrorKind::Unavailable),
            (400, vec!["bad".to_owned()], ErrorKind::Backend),
            (500, vec![], ErrorKind::Backend),
        ];
        for (status, errors, kind) in cases {
            let status = StatusCode::from_u16(status).unwrap();
            assert_eq!(status_error(status, &errors).kind(), kind, "{status}");
        }
        let sealed = status_error(StatusCode::SERVICE_UNAVAILABLE, &["Vault is sealed".into()]);
        assert!(sealed.to_string().contains("sealed"));
    }

    #[test]
    fn builds_urls_under_v1() {
        let config = VaultConfig::with_token("http://127.0.0.1:8200/", "t".into());
        let transport = Transport::new(&config).unwrap();
        let url = transport.url(&["secret", "data", "a b", "c"]).unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:8200/v1/secret/data/a%20b/c");
        assert!(Transport::new(&VaultConfig::with_token("ftp://x", "t".into())).is_err());
    }
}
