//! OAuth 2.0 client credentials grant (RFC 6749 §4.4), with a cached token.
//!
//! Hand-written on `reqwest` rather than with the `oauth2` crate: the grant is one form
//! POST, and what matters here is around it — one refresh shared by concurrent requests,
//! refresh before expiry with a skew, a testable clock, error classification
//! (`invalid_client`/`invalid_grant` are auth errors, 5xx transient, 429 rate limited) and
//! secrets kept in [`Secret`] end to end. The `oauth2` crate would bring its own HTTP
//! client adapter and secret types we would unwrap anyway, for no gain on this grant.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::{Client, RequestBuilder};
use serde::Deserialize;
use tokio::sync::Mutex;

use super::http::{
    TOKEN_RESPONSE_LIMIT, check_egress, map_reqwest_error, parse_retry_after, read_body_limited,
};
use super::secret_cell::{SecretCell, next_generation};
use super::{AuthProvider, Authorized, CredentialId};
use crate::clock::{Clock, SystemClock};
use crate::error::{ConnectorError, ErrorKind, Operation};
use crate::secret::{Secret, SecretSource};

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthMethod {
    /// HTTP basic auth with client id and secret (`client_secret_basic`, the default).
    #[default]
    BasicHeader,
    /// `client_id` and `client_secret` in the form body (`client_secret_post`).
    RequestBody,
}

/// Settings of the client credentials grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuth2Config {
    /// The token endpoint.
    pub token_url: String,
    /// The client id (not secret).
    pub client_id: String,
    /// A reference to the client secret (`vault:...`, `env:...`).
    pub client_secret_reference: String,
    /// Scopes to request (space-joined).
    pub scopes: Vec<String>,
    /// An `audience` parameter, for providers that need one.
    pub audience: Option<String>,
    /// How the client authenticates at the token endpoint.
    pub client_auth: ClientAuthMethod,
    /// A token is refreshed when it expires within this margin.
    pub refresh_skew: Duration,
}

impl OAuth2Config {
    /// Settings with no scopes, basic client auth and a 30 s refresh skew.
    pub fn new(
        token_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret_reference: impl Into<String>,
    ) -> Self {
        Self {
            token_url: token_url.into(),
            client_id: client_id.into(),
            client_secret_reference: client_secret_reference.into(),
            scopes: Vec::new(),
            audience: None,
            client_auth: ClientAuthMethod::default(),
            refresh_skew: Duration::from_secs(30),
        }
    }
}

struct CachedToken {
    id: u64,
    access_token: Secret,
    expires_at: Option<Instant>,
}

/// Bearer tokens from the client credentials grant, cached until shortly before expiry.
///
/// Concurrent requests needing a token share one exchange: the cache lock is held while
/// fetching, so the others wait for that token instead of fetching their own.
///
/// The token URL is checked against the egress policy ([`Self::with_egress`]) before each
/// exchange; give it a client from [`egress::EgressScope::client_builder`] with
/// [`egress::Redirects::SameOrigin`] so that names are checked when resolved and the
/// client credentials never follow a redirect to another origin. Token answers larger
/// than [`TOKEN_RESPONSE_LIMIT`] are refused.
pub struct OAuth2ClientCredentials {
    config: OAuth2Config,
    http: Client,
    egress: egress::EgressScope,
    client_secret: SecretCell,
    token: Mutex<Option<CachedToken>>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for OAuth2ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth2ClientCredentials")
            .field("token_url", &self.config.token_url)
            .field("client_id", &self.config.client_id)
            .field("client_secret", &self.client_secret.reference())
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct TokenErrorResponse {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

enum Exchange {
    Token(CachedToken),
    /// The endpoint refused the client (invalid_client, invalid_grant, HTTP 401).
    Refused(ConnectorError),
}

impl OAuth2ClientCredentials {
    /// A provider exchanging with `config` over `http`, resolving the client secret via
    /// `secrets`.
    pub fn new(config: OAuth2Config, http: Client, secrets: Arc<dyn SecretSource>) -> Self {
        let client_secret = SecretCell::new(config.client_secret_reference.clone(), secrets);
        Self {
            config,
            http,
            egress: egress::EgressPolicy::default().scope("oauth2"),
            client_secret,
            token: Mutex::new(None),
            clock: Arc::new(SystemClock),
        }
    }

    /// Checks the token URL against `egress` (the scope of the connector using the
    /// provider) instead of the default policy.
    #[must_use]
    pub fn with_egress(mut self, egress: egress::EgressScope) -> Self {
        self.egress = egress;
        self
    }

    /// Uses `clock` for expiry (tests use [`crate::ManualClock`]).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// A valid access token, fetching one if the cached one is missing or about to expire.
    async fn current_token(&self) -> Result<(u64, Secret), ConnectorError> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref() {
            let fresh = token
                .expires_at
                .is_none_or(|at| self.clock.now() + self.config.refresh_skew < at);
            if fresh {
                return Ok((token.id, token.access_token.clone()));
            }
        }
        let token = self.fetch_token().await?;
        let result = (token.id, token.access_token.clone());
        *cached = Some(token);
        Ok(result)
    }

    /// Exchanges the client credentials for a token. If the endpoint refuses the client
    /// and the client secret has changed since it was resolved (rotation), tries once more
    /// with the new secret; otherwise the refusal is returned (not retried).
    async fn fetch_token(&self) -> Result<CachedToken, ConnectorError> {
        let (generation, secret) = self.client_secret.get().await?;
        match self.exchange(&secret).await? {
            Exchange::Token(token) => Ok(token),
            Exchange::Refused(err) => {
                self.client_secret.invalidate(generation).await;
                let (_, rotated) = self.client_secret.get().await?;
                if rotated.expose() == secret.expose() {
                    return Err(err);
                }
                tracing::info!("client secret changed since last resolved, exchanging again");
                match self.exchange(&rotated).await? {
                    Exchange::Token(token) => Ok(token),
                    Exchange::Refused(err) => Err(err),
                }
            }
        }
    }

    async fn exchange(&self, client_secret: &Secret) -> Result<Exchange, ConnectorError> {
        let op = Operation::Authenticate;
        let mut form: Vec<(&str, &str)> = vec![("grant_type", "client_credentials")];
        let scope = self.config.scopes.join(" ");
        if !scope.is_empty() {
            form.push(("scope", &scope));
        }
        if let Some(audience) = &self.config.audience {
            form.push(("audience", audience));
        }
        let token_url = reqwest::Url::parse(&self.config.token_url).map_err(|e| {
            ConnectorError::config(op, format!("the token URL is not a valid URL: {e}"))
        })?;
        check_egress(op, &self.egress, &token_url)?;
        let mut request = self.http.post(token_url);
        match self.config.client_auth {
            ClientAuthMethod::BasicHeader => {
                request = request.basic_auth(&self.config.client_id, Some(client_secret.expose()));
            }
            ClientAuthMethod::RequestBody => {
                form.push(("client_id", &self.config.client_id));
                form.push(("client_secret", client_secret.expose()));
            }
        }
        let response = request
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|e| map_reqwest_error(op, e))?;
        let status = response.status();
        let retry_after = parse_retry_after(response.headers());
        let body = read_body_limited(op, response, TOKEN_RESPONSE_LIMIT, "a token answer").await?;

        if status.is_success() {
            let parsed: TokenResponse = serde_json::from_slice(&body).map_err(|e| {
                ConnectorError::auth(
                    op,
                    format!("the token endpoint returned an unreadable token response: {e}"),
                )
            })?;
            let expires_at = parsed
                .expires_in
                .as_ref()
                .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
                .map(|seconds| self.clock.now() + Duration::from_secs(seconds));
            return Ok(Exchange::Token(CachedToken {
                id: next_generation(),
                access_token: Secret::new(parsed.access_token),
                expires_at,
            }));
        }

        let oauth_error = serde_json::from_slice::<TokenErrorResponse>(&body).ok();
        let describe = || match &oauth_error {
            Some(e) => format!(
                "token endpoint refused the request with HTTP {status}: {}{}",
                e.error,
                e.error_description
                    .as_deref()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            ),
            None => format!("token endpoint answered HTTP {status}"),
        };
        let code = oauth_error.as_ref().map(|e| e.error.as_str()).unwrap_or("");
        match (status.as_u16(), code) {
            (429, _) => {
                let mut err = ConnectorError::new(ErrorKind::RateLimited, op, describe());
                if let Some(wait) = retry_after {
                    err = err.with_retry_after(wait);
                }
                Err(err)
            }
            (500..=599, _) => {
                let mut err = ConnectorError::transient(op, describe());
                if let Some(wait) = retry_after {
                    err = err.with_retry_after(wait);
                }
                Err(err)
            }
            (_, "invalid_client" | "invalid_grant" | "unauthorized_client") | (401, _) => {
                Ok(Exchange::Refused(ConnectorError::auth(op, describe())))
            }
            (_, "invalid_scope" | "invalid_request" | "unsupported_grant_type") => {
                Err(ConnectorError::config(op, describe()))
            }
            (403, _) => Err(ConnectorError::new(ErrorKind::Permission, op, describe())),
            _ => Err(ConnectorError::auth(op, describe())),
        }
    }
}

#[async_trait]
impl AuthProvider for OAuth2ClientCredentials {
    async fn authorize(&self, request: RequestBuilder) -> Result<Authorized, ConnectorError> {
        let (id, token) = self.current_token().await?;
        Ok(Authorized {
            request: request.bearer_auth(token.expose()),
            credential: CredentialId(id),
        })
    }

    async fn invalidate(&self, credential: CredentialId) {
        let mut cached = self.token.lock().await;
        if cached.as_ref().is_some_and(|t| t.id == credential.0) {
            *cached = None;
        }
    }
}
