//! Credentials that are a secret as is: API key, bearer token, basic auth.

use std::sync::Arc;

use async_trait::async_trait;
use reqwest::RequestBuilder;

use super::secret_cell::SecretCell;
use super::{AuthProvider, Authorized, CredentialId};
use crate::error::ConnectorError;
use crate::secret::SecretSource;

/// Where an API key goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiKeyPlacement {
    /// In a request header with this name (e.g. `X-API-Key`).
    Header(String),
    /// In a query parameter with this name (e.g. `api_key`).
    Query(String),
}

/// An API key in a header or a query parameter.
#[derive(Debug)]
pub struct ApiKeyAuth {
    placement: ApiKeyPlacement,
    key: SecretCell,
}

impl ApiKeyAuth {
    /// An API key resolved from `key_reference`, sent as `placement`.
    pub fn new(
        placement: ApiKeyPlacement,
        key_reference: impl Into<String>,
        secrets: Arc<dyn SecretSource>,
    ) -> Self {
        Self {
            placement,
            key: SecretCell::new(key_reference, secrets),
        }
    }
}

#[async_trait]
impl AuthProvider for ApiKeyAuth {
    async fn authorize(&self, request: RequestBuilder) -> Result<Authorized, ConnectorError> {
        let (generation, key) = self.key.get().await?;
        let request = match &self.placement {
            ApiKeyPlacement::Header(name) => request.header(name.as_str(), key.expose()),
            ApiKeyPlacement::Query(name) => request.query(&[(name.as_str(), key.expose())]),
        };
        Ok(Authorized {
            request,
            credential: CredentialId(generation),
        })
    }

    async fn invalidate(&self, credential: CredentialId) {
        self.key.invalidate(credential.0).await;
    }
}

/// A static bearer token (`Authorization: Bearer ...`).
#[derive(Debug)]
pub struct BearerAuth {
    token: SecretCell,
}

impl BearerAuth {
    /// A token resolved from `token_reference`.
    pub fn new(token_reference: impl Into<String>, secrets: Arc<dyn SecretSource>) -> Self {
        Self {
            token: SecretCell::new(token_reference, secrets),
        }
    }
}

#[async_trait]
impl AuthProvider for BearerAuth {
    async fn authorize(&self, request: RequestBuilder) -> Result<Authorized, ConnectorError> {
        let (generation, token) = self.token.get().await?;
        Ok(Authorized {
            request: request.bearer_auth(token.expose()),
            credential: CredentialId(generation),
        })
    }

    async fn invalidate(&self, credential: CredentialId) {
        self.token.invalidate(credential.0).await;
    }
}

/// HTTP basic auth: a plain user name and a password reference.
#[derive(Debug)]
pub struct BasicAuth {
    username: String,
    password: SecretCell,
}

impl BasicAuth {
    /// `username` with the password resolved from `password_reference`.
    pub fn new(
        username: impl Into<String>,
        password_reference: impl Into<String>,
        secrets: Arc<dyn SecretSource>,
    ) -> Self {
        Self {
            username: username.into(),
            password: SecretCell::new(password_reference, secrets),
        }
    }
}

#[async_trait]
impl AuthProvider for BasicAuth {
    async fn authorize(&self, request: RequestBuilder) -> Result<Authorized, ConnectorError> {
        let (generation, password) = self.password.get().await?;
        Ok(Authorized {
            request: request.basic_auth(&self.username, Some(password.expose())),
            credential: CredentialId(generation),
        })
    }

    async fn invalidate(&self, credential: CredentialId) {
        self.password.invalidate(credential.0).await;
    }
}

/// No authentication (public APIs).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoAuth;

#[async_trait]
impl AuthProvider for NoAuth {
    async fn authorize(&self, request: RequestBuilder) -> Result<Authorized, ConnectorError> {
        Ok(Authorized {
            request,
            credential: CredentialId(0),
        })
    }

    async fn invalidate(&self, _credential: CredentialId) {}
}
