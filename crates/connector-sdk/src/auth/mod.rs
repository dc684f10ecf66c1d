//! Authentication for HTTP-based connectors (built on `reqwest`).
//!
//! An [`AuthProvider`] adds credentials to a request; [`AuthenticatedClient`] sends requests
//! through one and, on `401 Unauthorized`, invalidates the credential and tries exactly once
//! more with a fresh one (a refreshed token, a re-resolved secret). Providers:
//! [`ApiKeyAuth`], [`BearerAuth`], [`BasicAuth`], [`OAuth2ClientCredentials`], [`NoAuth`],
//! all buildable from a serialisable [`AuthConfig`].

mod config;
mod http;
mod oauth2;
mod secret_cell;
mod static_credentials;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use reqwest::{Client, RequestBuilder, Response, StatusCode};

pub use config::{ApiKeyLocation, AuthConfig};
pub use http::{
    TOKEN_RESPONSE_LIMIT, check_egress, egress_denied, error_for_status, human_size,
    map_reqwest_error, parse_retry_after, read_body_limited,
};
pub use oauth2::{ClientAuthMethod, OAuth2ClientCredentials, OAuth2Config};
pub use secret_cell::SecretCell;
pub use static_credentials::{ApiKeyAuth, ApiKeyPlacement, BasicAuth, BearerAuth, NoAuth};

use crate::error::{ConnectorError, Operation};

/// Identifies the credential a request was authorized with, so that invalidating it after a
/// 401 does not throw away a newer credential another request already fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CredentialId(pub u64);

/// A request with credentials added.
#[derive(Debug)]
pub struct Authorized {
    /// The request, ready to send.
    pub request: RequestBuilder,
    /// The credential used.
    pub credential: CredentialId,
}

/// Adds credentials to HTTP requests.
#[async_trait]
pub trait AuthProvider: Send + Sync + fmt::Debug {
    /// Adds credentials to `request`, fetching or resolving them when needed.
    async fn authorize(&self, request: RequestBuilder) -> Result<Authorized, ConnectorError>;

    /// The server refused `credential` (HTTP 401): forget it, so the next
    /// [`Self::authorize`] obtains a fresh one.
    async fn invalidate(&self, credential: CredentialId);
}

/// A `reqwest` client that authorizes every request and recovers once from a 401.
#[derive(Debug, Clone)]
pub struct AuthenticatedClient {
    client: Client,
    auth: Arc<dyn AuthProvider>,
}

impl AuthenticatedClient {
    /// Sends requests with `client`, authorized by `auth`.
    pub fn new(client: Client, auth: Arc<dyn AuthProvider>) -> Self {
        Self { client, auth }
    }

    /// The underlying client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Builds a request with `build`, authorizes and sends it. On a 401 the credential is
    /// invalidated and the request built, authorized and sent once more; a second 401 is an
    /// [`crate::ErrorKind::Auth`] error. Any other status is returned as is (see
    /// [`error_for_status`]). Transport errors never include the URL (it may hold an API key).
    pub async fn send<F>(&self, operation: Operation, build: F) -> Result<Response, ConnectorError>
    where
        F: Fn(&Client) -> RequestBuilder + Send + Sync,
    {
        let mut retried = false;
        loop {
            let authorized = self
                .auth
                .authorize(build(&self.client))
                .await
                .map_err(|e| e.with_operation(operation))?;
            let response = authorized
                .request
                .send()
                .await
                .map_err(|e| map_reqwest_error(operation, e))?;
            if response.status() != StatusCode::UNAUTHORIZED {
                return Ok(response);
            }
            self.auth.invalidate(authorized.credential).await;
            if retried {
                return Err(ConnectorError::auth(
                    operation,
                    "the server refused the credentials (HTTP 401), also after obtaining fresh ones",
                ));
            }
            tracing::info!(
                operation = operation.as_str(),
                "HTTP 401: retrying once with fresh credentials"
            );
            retried = true;
        }
    }
}
