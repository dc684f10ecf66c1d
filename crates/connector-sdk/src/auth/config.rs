//! The serialisable auth settings of an HTTP connector's configuration.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::AuthProvider;
use super::oauth2::{ClientAuthMethod, OAuth2ClientCredentials, OAuth2Config};
use super::static_credentials::{ApiKeyAuth, ApiKeyPlacement, BasicAuth, BearerAuth, NoAuth};
use crate::secret::SecretSource;

/// Where an API key goes, in configuration form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiKeyLocation {
    /// A request header.
    Header,
    /// A query parameter.
    Query,
}

/// How an HTTP connector authenticates. Secret fields hold references (`env:..`,
/// `vault:..`), never values.
///
/// ```
/// # use connector_sdk::auth::AuthConfig;
/// let config: AuthConfig = serde_json::from_value(serde_json::json!({
///     "type": "bearer", "token": "vault:kv/crm#token"
/// })).unwrap();
/// assert_eq!(config, AuthConfig::Bearer { token: "vault:kv/crm#token".into() });
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AuthConfig {
    /// No authentication.
    None,
    /// An API key.
    ApiKey {
        /// Header or query parameter.
        #[serde(rename = "in")]
        location: ApiKeyLocation,
        /// The header or parameter name.
        name: String,
        /// Reference to the key.
        key: String,
    },
    /// A static bearer token.
    Bearer {
        /// Reference to the token.
        token: String,
    },
    /// HTTP basic auth.
    Basic {
        /// The user name.
        username: String,
        /// Reference to the password.
        password: String,
    },
    /// OAuth 2.0 client credentials.
    #[serde(rename = "oauth2_client_credentials")]
    OAuth2ClientCredentials {
        /// The token endpoint.
        token_url: String,
        /// The client id.
        client_id: String,
        /// Reference to the client secret.
        client_secret: String,
        /// Scopes to request.
        #[serde(default)]
        scopes: Vec<String>,
        /// An `audience` parameter.
        #[serde(default)]
        audience: Option<String>,
        /// How the client authenticates at the token endpoint.
        #[serde(default)]
        client_auth: ClientAuthMethod,
        /// Refresh this many seconds before expiry (default 30).
        #[serde(default)]
        refresh_skew_seconds: Option<u64>,
    },
}

impl AuthConfig {
    /// Builds the provider. `http` is used for token exchanges, whose URL is checked
    /// against `egress` (build `http` with [`egress::EgressScope::client_builder`] and
    /// [`egress::Redirects::SameOrigin`]).
    pub fn build(
        &self,
        http: reqwest::Client,
        secrets: Arc<dyn SecretSource>,
        egress: &egress::EgressScope,
    ) -> Arc<dyn AuthProvider> {
        match self.clone() {
            Self::None => Arc::new(NoAuth),
            Self::ApiKey {
                location,
                name,
                key,
            } => {
                let placement = match location {
                    ApiKeyLocation::Header => ApiKeyPlacement::Header(name),
                    ApiKeyLocation::Query => ApiKeyPlacement::Query(name),
                };
                Arc::new(ApiKeyAuth::new(placement, key, secrets))
            }
            Self::Bearer { token } => Arc::new(BearerAuth::new(token, secrets)),
            Self::Basic { username, password } => {
                Arc::new(BasicAuth::new(username, password, secrets))
            }
            Self::OAuth2ClientCredentials {
                token_url,
                client_id,
                client_secret,
                scopes,
                audience,
                client_auth,
                refresh_skew_seconds,
            } => {
                let mut config = OAuth2Config::new(token_url, client_id, client_secret);
                config.scopes = scopes;
                config.audience = audience;
                config.client_auth = client_auth;
                if let Some(seconds) = refresh_skew_seconds {
                    config.refresh_skew = Duration::from_secs(seconds);
                }
                Arc::new(
                    OAuth2ClientCredentials::new(config, http, secrets).with_egress(egress.clone()),
                )
            }
        }
    }

    /// The JSON Schema of this setting, for embedding in a connector's spec
    /// (secret references marked `"x-secret": true`).
    pub fn json_schema() -> Value {
        let reference = |title: &str| {
            json!({"type": "string", "title": title, "x-secret": true,
                   "description": "a secret reference: env:NAME, file:/path, vault:mount/path#field or local:name"})
        };
        json!({
            "oneOf": [
                {"type": "object", "title": "No authentication",
                 "properties": {"type": {"const": "none"}}, "required": ["type"]},
                {"type": "object", "title": "API key",
                 "properties": {
                    "type": {"const": "api_key"},
                    "in": {"enum": ["header", "query"]},
                    "name": {"type": "string", "minLength": 1},
                    "key": reference("API key")},
                 "required": ["type", "in", "name", "key"]},
                {"type": "object", "title": "Bearer token",
                 "properties": {"type": {"const": "bearer"}, "token": reference("Token")},
                 "required": ["type", "token"]},
                {"type": "object", "title": "Basic auth",
                 "properties": {
                    "type": {"const": "basic"},
                    "username": {"type": "string"},
                    "password": reference("Password")},
                 "required": ["type", "username", "password"]},
                {"type": "object", "title": "OAuth 2.0 client credentials",
                 "properties": {
                    "type": {"const": "oauth2_client_credentials"},
                    "token_url": {"type": "string", "format": "uri"},
                    "client_id": {"type": "string"},
                    "client_secret": reference("Client secret"),
                    "scopes": {"type": "array", "items": {"type": "string"}},
                    "audience": {"type": "string"},
                    "client_auth": {"enum": ["basic_header", "request_body"]},
                    "refresh_skew_seconds": {"type": "integer", "minimum": 0}},
                 "required": ["type", "token_url", "client_id", "client_secret"]}
            ]
        })
    }
}
