//! The decision, made by the authorization service: may an actor use a reference?

use async_trait::async_trait;
use authz::{CheckRequest, Context, ObjectRef, ObjectType, SharedAuthorizer, Subject, SubjectRef};
use kernel::Error;

use crate::grants::canonical;
use crate::policy::{Actor, SecretUsePolicy, use_denied};

/// [`SecretUsePolicy`] over the decision point: `actor` may use `reference` when it may do
/// the action `use` on `secret:<reference>` — as its owner, through a use grant
/// (`secret:<reference>#user@…`, or a prefix object such as `secret:vault:secret/crm/*`
/// that the reference starts with), given to the user, a group it belongs to, or its role
/// (`platform:grimos#operator`); admins use every reference. The actor's role replaces
/// the roles stored for it (a flow acts with its owner's role as saved, never more), and
/// any policy `deny` overrides.
#[derive(Clone)]
pub struct AuthzSecretUse {
    authorizer: SharedAuthorizer,
}

impl AuthzSecretUse {
    /// Decisions by `authorizer`.
    pub fn new(authorizer: SharedAuthorizer) -> Self {
        Self { authorizer }
    }

    /// The subject `actor` is in decisions: `user:<subject>` with its role.
    pub fn subject(actor: &Actor) -> Subject {
        Subject {
            principal: SubjectRef::user(actor.subject.clone()),
            role: Some(actor.role),
        }
    }
}

/// The object a reference is decided on: `secret:<reference>` in its canonical form
/// (parsed, without a Vault `?version=`); `None` for a malformed reference, which nobody
/// may use.
pub fn secret_object(reference: &str) -> Option<ObjectRef> {
    canonical(reference).map(|id| ObjectRef::new(ObjectType::Secret, id))
}

#[async_trait]
impl SecretUsePolicy for AuthzSecretUse {
    async fn check(&self, actor: &Actor, reference: &str) -> Result<(), Error> {
        if actor.subject.is_empty() {
            return Err(use_denied(reference));
        }
        let Some(resource) = secret_object(reference) else {
            return Err(use_denied(reference));
        };
        let decision = self
            .authorizer
            .check(CheckRequest {
                subject: Self::subject(actor),
                action: "use".to_owned(),
                resource,
                context: Context::default(),
                at_least: None,
            })
            .await?;
        if decision.allowed {
            return Ok(());
        }
        tracing::info!(
            target: "audit",
            actor = %actor.subject,
            actor_role = %actor.role,
            action = "authz.denied",
            attempted = "use",
            object_type = "secret",
            object_id = reference,
            outcome = "denied",
            reasons = %kernel::mask_secret_looking(&decision.summary()),
            "audit event"
        );
        Err(use_denied(reference))
    }
}
