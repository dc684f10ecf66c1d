//! The Connector SDK's `SecretSource` over the secrets service's resolver.

use std::sync::Arc;

use async_trait::async_trait;
use connector_sdk::{ConnectorError, Operation, Secret, SecretSource};
use secrets::{SecretRef, SecretResolver};

/// Resolves connector secret references through a [`SecretResolver`].
///
/// A connector asks for a secret when it connects and again after an authentication
/// failure; both times the reference is read afresh (the resolver's cache entry is dropped
/// first), so a secret rotated in Vault or the local store is picked up without a restart.
#[derive(Clone)]
pub struct ResolverSecretSource {
    resolver: Arc<SecretResolver>,
}

impl ResolverSecretSource {
    /// A source over `resolver`.
    pub fn new(resolver: Arc<SecretResolver>) -> Self {
        Self { resolver }
    }
}

#[async_trait]
impl SecretSource for ResolverSecretSource {
    async fn resolve(&self, reference: &str) -> Result<Secret, ConnectorError> {
        let parsed: SecretRef = reference
            .parse()
            .map_err(|error: secrets::ReferenceError| {
                ConnectorError::config(
                    Operation::ResolveSecret,
                    format!("invalid secret reference: {error}"),
                )
            })?;
        self.resolver.invalidate(&parsed);
        let value = self.resolver.resolve(&parsed).await.map_err(|error| {
            let message = error.to_string();
            match error.kind() {
                secrets::ErrorKind::NotFound | secrets::ErrorKind::InvalidReference => {
                    ConnectorError::config(Operation::ResolveSecret, message)
                }
                // The reference points where references may not (an `env:` name outside
                // the prefix, a file outside the secret directories, a Vault path outside
                // the allowed prefixes): the configuration's mistake, not an outage.
                secrets::ErrorKind::PermissionDenied => {
                    ConnectorError::config(Operation::ResolveSecret, message)
                }
                secrets::ErrorKind::Unavailable => {
                    ConnectorError::transient(Operation::ResolveSecret, message)
                }
                secrets::ErrorKind::Backend => {
                    ConnectorError::config(Operation::ResolveSecret, message)
                }
            }
        })?;
        Ok(Secret::new(value.expose().to_owned()))
    }
}
