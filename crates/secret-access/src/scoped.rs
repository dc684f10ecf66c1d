//! A secret source that resolves only what its actor may use.

use std::sync::Arc;

use async_trait::async_trait;
use connector_sdk::{ConnectorError, ErrorKind, Operation, Secret, SecretSource};
use kernel::ErrorKind as KernelErrorKind;

use crate::policy::{Actor, SharedSecretUsePolicy};

/// Resolves references through `inner` after `policy` allowed `actor` to use them; a
/// refusal is a `Permission` error naming the reference (never resolved).
#[derive(Clone)]
pub struct ScopedSecretSource {
    inner: Arc<dyn SecretSource>,
    policy: SharedSecretUsePolicy,
    actor: Actor,
}

impl ScopedSecretSource {
    /// A source acting for `actor`.
    pub fn new(inner: Arc<dyn SecretSource>, policy: SharedSecretUsePolicy, actor: Actor) -> Self {
        Self {
            inner,
            policy,
            actor,
        }
    }

    /// The actor it resolves for.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }
}

#[async_trait]
impl SecretSource for ScopedSecretSource {
    async fn resolve(&self, reference: &str) -> Result<Secret, ConnectorError> {
        if let Err(error) = self.policy.check(&self.actor, reference).await {
            let kind = match error.kind() {
                KernelErrorKind::Unavailable => ErrorKind::Transient,
                _ => ErrorKind::Permission,
            };
            return Err(ConnectorError::new(
                kind,
                Operation::ResolveSecret,
                error.message().to_owned(),
            ));
        }
        self.inner.resolve(reference).await
    }
}
