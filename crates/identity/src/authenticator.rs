//! Bearer credentials → principal.

use std::sync::Arc;

use chrono::Utc;
use kernel::{Error, ErrorKind, Principal, PrincipalKind};
use storage::Database;

use crate::oidc::OidcVerifier;
use crate::tokens::{self, TOKEN_PREFIX};
use crate::users;

/// Authenticates grimOS API tokens and, when configured, OIDC JWTs.
#[derive(Clone)]
pub struct IdentityAuthenticator {
    db: Database,
    oidc: Option<Arc<OidcVerifier>>,
}

impl IdentityAuthenticator {
    /// An authenticator over the users and tokens in `db`, and the optional OIDC verifier.
    pub fn new(db: Database, oidc: Option<Arc<OidcVerifier>>) -> Self {
        Self { db, oidc }
    }

    async fn api_token(&self, value: &str) -> Result<Principal, Error> {
        let invalid = || {
            Error::new(
                ErrorKind::Unauthenticated,
                "invalid_token",
                "the API token is unknown, revoked or expired",
            )
        };
        let token = tokens::find_by_hash(&self.db, &tokens::hash_token(value))
            .await?
            .ok_or_else(invalid)?;
        let now = Utc::now();
        if !token.is_active(now) {
            return Err(invalid());
        }
        let user = users::find(&self.db, &token.user_id)
            .await?
            .ok_or_else(invalid)?;
        if user.disabled {
            return Err(Error::new(
                ErrorKind::Unauthenticated,
                "user_disabled",
                "the user this token belongs to is disabled",
            ));
        }
        // A token never carries more than its user has now, even if the user was demoted
        // after the token was made.
        let role = if user.role.can_grant(token.role) {
            token.role
        } else {
            user.role
        };
        if let Err(error) = tokens::touch(&self.db, &token, now).await {
            tracing::warn!(error = %error, token_id = %token.id, "could not record token use");
        }
        Ok(Principal {
            subject: user.id.clone(),
            display_name: user.name,
            role,
            kind: PrincipalKind::ApiToken,
            token_id: Some(token.id),
            user_id: Some(user.id),
        })
    }
}

#[async_trait::async_trait]
impl api::Authenticator for IdentityAuthenticator {
    async fn authenticate(&self, bearer_token: &str) -> Result<Principal, Error> {
        if bearer_token.starts_with(TOKEN_PREFIX) {
            return self.api_token(bearer_token).await;
        }
        match &self.oidc {
            Some(verifier) => verifier.verify(bearer_token).await,
            None => Err(Error::new(
                ErrorKind::Unauthenticated,
                "invalid_token",
                "the bearer token is not a grimOS API token (grm_...), and OIDC is not configured",
            )),
        }
    }
}
