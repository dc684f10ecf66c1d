//! Authentication at the HTTP edge.
//!
//! The server puts an [`Authenticator`] into every request's extensions; the [`Caller`]
//! extractor reads `Authorization: Bearer <token>` and asks it who the caller is. Missing or
//! invalid credentials are a 401; [`Caller::require`] turns a missing role into a 403.
//! A principal already established by the transport (a verified client certificate) is
//! taken as it is.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use http::header;
use http::request::Parts;
use kernel::{Access, Error, ErrorKind, Principal};

use crate::problem::ApiError;

/// Resolves bearer credentials to a principal.
#[async_trait::async_trait]
pub trait Authenticator: Send + Sync {
    /// Who holds `bearer_token`? An `Unauthenticated` error when nobody does.
    async fn authenticate(&self, bearer_token: &str) -> Result<Principal, Error>;
}

/// The shared authenticator, as stored in request extensions.
pub type SharedAuthenticator = Arc<dyn Authenticator>;

/// A principal authenticated by the transport (mutual TLS), put into request extensions by
/// the server before routing.
#[derive(Debug, Clone)]
pub struct TransportPrincipal(pub Principal);

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl Caller {
    /// Fail with 403 unless the caller's role grants `access`.
    pub fn require(&self, access: Access) -> Result<&Principal, ApiError> {
        if self.0.allows(access) {
            Ok(&self.0)
        } else {
            Err(ApiError(Error::new(
                ErrorKind::Forbidden,
                "forbidden",
                format!(
                    "the {} role may not do this; it needs {} access",
                    self.0.role,
                    access_name(access)
                ),
            )))
        }
    }

    /// The principal.
    pub fn principal(&self) -> &Principal {
        &self.0
    }
}

fn access_name(access: Access) -> &'static str {
    match access {
        Access::Shared => "shared",
        Access::Read => "read",
        Access::Operate => "operator",
        Access::Admin => "admin",
    }
}

fn unauthenticated(message: &str) -> ApiError {
    ApiError(Error::new(
        ErrorKind::Unauthenticated,
        "unauthenticated",
        message,
    ))
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let bearer = match parts.headers.get(header::AUTHORIZATION) {
            None => None,
            Some(value) => {
                let text = value
                    .to_str()
                    .map_err(|_| unauthenticated("the Authorization header is not valid text"))?;
                let (scheme, token) = text.split_once(' ').unwrap_or((text, ""));
                if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
                    return Err(unauthenticated(
                        "credentials must be sent as Authorization: Bearer <token>",
                    ));
                }
                Some(token.trim().to_owned())
            }
        };
        match bearer {
            Some(token) => {
                let authenticator = parts
                    .extensions
                    .get::<SharedAuthenticator>()
                    .cloned()
                    .ok_or_else(|| {
                        ApiError(Error::internal(std::io::Error::other(
                            "no authenticator installed on the router",
                        )))
                    })?;
                authenticator
                    .authenticate(&token)
                    .await
                    .map(Caller)
                    .map_err(ApiError)
            }
            None => parts
                .extensions
                .get::<TransportPrincipal>()
                .map(|transport| Caller(transport.0.clone()))
                .ok_or_else(|| {
                    unauthenticated(
                        "this endpoint needs credentials: Authorization: Bearer <token>",
                    )
                }),
        }
    }
}
