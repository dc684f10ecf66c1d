//! Keeping credentials out of error details and rejection reasons.
//!
//! A server may echo a request back in an error body (some echo the `Authorization` header
//! or the query string). [`RedactingAuth`] wraps the SDK's auth provider, notes the
//! credential values it put on each request, and [`Redactor::excerpt`] replaces them with
//! `***` in any response text the connector shows.

use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use base64::Engine;
use connector_sdk::ConnectorError;
use connector_sdk::Operation;
use connector_sdk::auth::{AuthProvider, Authorized, CredentialId, map_reqwest_error};
use reqwest::RequestBuilder;

/// How many distinct credential values are remembered (rotations and refreshed tokens).
const REMEMBERED: usize = 16;

/// How many characters of a response body an error shows.
const EXCERPT_CHARS: usize = 200;

/// Credential values seen on outgoing requests, to be masked in any text shown.
#[derive(Debug, Default)]
pub(crate) struct Redactor {
    secrets: RwLock<Vec<String>>,
}

impl Redactor {
    fn remember(&self, value: &str) {
        if value.is_empty() {
            return;
        }
        let mut secrets = self.secrets.write().unwrap_or_else(|e| e.into_inner());
        if secrets.iter().any(|s| s == value) {
            return;
        }
        if secrets.len() >= REMEMBERED {
            secrets.remove(0);
        }
        secrets.push(value.to_owned());
        // Longest first, so a value containing another is masked whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }

    /// Notes an `Authorization`-style header value and its parts (token, basic password).
    fn remember_authorization(&self, value: &str) {
        self.remember(value);
        if let Some((scheme, credential)) = value.split_once(' ') {
            let credential = credential.trim();
            self.remember(credential);
            if scheme.eq_ignore_ascii_case("basic")
                && let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(credential)
                && let Ok(decoded) = String::from_utf8(decoded)
            {
                self.remember(&decoded);
                if let Some((_, password)) = decoded.split_once(':') {
                    self.remember(password);
                }
            }
        }
    }

    /// `text` with every remembered credential replaced by `***`.
    pub(crate) fn redact(&self, text: &str) -> String {
        let secrets = self.secrets.read().unwrap_or_else(|e| e.into_inner());
        let mut out = text.to_owned();
        for secret in secrets.iter() {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "***");
            }
        }
        out
    }

    /// The start of a response body, redacted, on one line, at most 200 characters.
    pub(crate) fn excerpt(&self, body: &[u8]) -> String {
        // Redact before cutting, so a credential straddling the cut is still masked.
        let head = &body[..body.len().min(4096)];
        let text = self.redact(&String::from_utf8_lossy(head));
        let mut excerpt: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(EXCERPT_CHARS)
            .collect();
        if text.chars().count() > EXCERPT_CHARS || body.len() > head.len() {
            excerpt.push('…');
        }
        excerpt.trim().to_owned()
    }
}

/// Where the credential goes on a request, to know what to remember.
#[derive(Debug, Clone)]
pub(crate) enum CredentialPlace {
    /// No credential.
    Nowhere,
    /// The `Authorization` header (bearer, basic, OAuth 2.0).
    Authorization,
    /// A custom header.
    Header(String),
    /// A query parameter.
    Query(String),
}

/// An [`AuthProvider`] that lets a [`Redactor`] see the credentials it adds.
#[derive(Debug)]
pub(crate) struct RedactingAuth {
    inner: Arc<dyn AuthProvider>,
    place: CredentialPlace,
    redactor: Arc<Redactor>,
}

impl RedactingAuth {
    pub(crate) fn new(
        inner: Arc<dyn AuthProvider>,
        place: CredentialPlace,
        redactor: Arc<Redactor>,
    ) -> Self {
        Self {
            inner,
            place,
            redactor,
        }
    }
}

#[async_trait]
impl AuthProvider for RedactingAuth {
    async fn authorize(&self, request: RequestBuilder) -> Result<Authorized, ConnectorError> {
        let authorized = self.inner.authorize(request).await?;
        if matches!(self.place, CredentialPlace::Nowhere) {
            return Ok(authorized);
        }
        let (client, built) = authorized.request.build_split();
        let request = built.map_err(|e| map_reqwest_error(Operation::Authenticate, e))?;
        match &self.place {
            CredentialPlace::Nowhere => {}
            CredentialPlace::Authorization => {
                if let Some(value) = request
                    .headers()
                    .get(reqwest::header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                {
                    self.redactor.remember_authorization(value);
                }
            }
            CredentialPlace::Header(name) => {
                for value in request.headers().get_all(name.as_str()) {
                    if let Ok(value) = value.to_str() {
                        self.redactor.remember(value);
                    }
                }
            }
            CredentialPlace::Query(name) => {
                for (key, value) in request.url().query_pairs() {
                    if key == name.as_str() {
                        self.redactor.remember(&value);
                    }
                }
            }
        }
        Ok(Authorized {
            request: RequestBuilder::from_parts(client, request),
            credential: authorized.credential,
        })
    }

    async fn invalidate(&self, credential: CredentialId) {
        self.inner.invalidate(credential).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_and_their_parts_are_masked() {
        let redactor = Redactor::default();
        // "user:s3cr3t-pw" in base64.
        redactor.remember_authorization("Basic dXNlcjpzM2NyM3QtcHc=");
        redactor.remember_authorization("Bearer tok-123456");
        let text = "echo: Basic dXNlcjpzM2NyM3QtcHc= pw=s3cr3t-pw token tok-123456";
        let redacted = redactor.redact(text);
        assert!(!redacted.contains("s3cr3t-pw"), "{redacted}");
        assert!(!redacted.contains("tok-123456"), "{redacted}");
        assert!(!redacted.contains("dXNlcjpzM2NyM3QtcHc="), "{redacted}");
        let long = format!("{}tok-123456", "x".repeat(300));
        assert!(!redactor.excerpt(long.as_bytes()).contains("tok-1"));
        assert!(redactor.excerpt(long.as_bytes()).chars().count() <= 201);
    }
}
