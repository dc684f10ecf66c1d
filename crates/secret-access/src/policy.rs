//! The decision: may an actor use a reference?

use std::sync::Arc;

use async_trait::async_trait;
use kernel::{Error, ErrorKind, Principal, Role};

/// The principal a secret reference is used for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// A user id (API tokens), an OIDC subject or a certificate subject.
    pub subject: String,
    /// The role in force for this actor.
    pub role: Role,
}

impl Actor {
    /// An actor with no authority (no subject, the viewer role: it may use no secret).
    pub fn nobody() -> Self {
        Self {
            subject: String::new(),
            role: Role::Viewer,
        }
    }

    /// The actor of an authenticated API call.
    pub fn of(principal: &Principal) -> Self {
        Self {
            subject: principal
                .user_id
                .clone()
                .unwrap_or_else(|| principal.subject.clone()),
            role: principal.role,
        }
    }
}

/// The answer when `actor` may not use `reference`: 403 `secret_use_denied`, naming the
/// reference (a reference is not a secret; its value is never resolved for this).
pub fn use_denied(reference: &str) -> Error {
    Error::new(
        ErrorKind::Forbidden,
        "secret_use_denied",
        format!(
            "you may not use the secret reference {reference:?}; an admin (or the secret's \
             owner) can grant its use: the relationship secret:<reference>#user@<subject>, \
             through POST /api/v1/secret-grants or `grimos secrets grant`"
        ),
    )
}

/// Decides whether an actor may use a secret reference.
#[async_trait]
pub trait SecretUsePolicy: Send + Sync {
    /// `Ok(())` when `actor` may use `reference`; a `Forbidden` error
    /// ([`use_denied`]) when not; `Unavailable` when the decision cannot be made.
    async fn check(&self, actor: &Actor, reference: &str) -> Result<(), Error>;

    /// Check every reference; the first refusal wins.
    async fn check_all(&self, actor: &Actor, references: &[String]) -> Result<(), Error> {
        for reference in references {
            self.check(actor, reference).await?;
        }
        Ok(())
    }
}

/// The policy as shared by services.
pub type SharedSecretUsePolicy = Arc<dyn SecretUsePolicy>;
