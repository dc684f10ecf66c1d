//! Connector factories by type.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use connector_sdk::{
    BuildContext, Connector, ConnectorError, ConnectorFactory, Operation, TimeoutLayer,
};
use serde_json::Value;

/// A connector type as listed to users.
#[derive(Debug, Clone)]
pub struct ConnectorTypeInfo {
    /// The type name used in configurations (`"rest"`, `"sql"`).
    pub connector_type: String,
    /// The JSON Schema of its configuration (secret fields marked `"x-secret": true`).
    pub spec: Value,
}

/// The connector types available, by name.
#[derive(Clone, Default)]
pub struct ConnectorRegistry {
    factories: BTreeMap<String, Arc<dyn ConnectorFactory>>,
    timeouts: Option<TimeoutLayer>,
}

impl ConnectorRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a factory (a later one with the same type replaces the earlier).
    #[must_use]
    pub fn with(mut self, factory: Arc<dyn ConnectorFactory>) -> Self {
        self.factories
            .insert(factory.connector_type().to_owned(), factory);
        self
    }

    /// Also bound every check, discover, batch read and write call to `timeout`.
    #[must_use]
    pub fn with_operation_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts = Some(TimeoutLayer::uniform(timeout));
        self
    }

    /// Every type, by name.
    pub fn types(&self) -> Vec<ConnectorTypeInfo> {
        self.factories
            .values()
            .map(|factory| ConnectorTypeInfo {
                connector_type: factory.connector_type().to_owned(),
                spec: factory.spec(),
            })
            .collect()
    }

    /// The factory of `connector_type`, if known.
    pub fn factory(&self, connector_type: &str) -> Option<&Arc<dyn ConnectorFactory>> {
        self.factories.get(connector_type)
    }

    /// The names of all types, for error messages.
    pub fn type_names(&self) -> Vec<&str> {
        self.factories.keys().map(String::as_str).collect()
    }

    /// Build a connector of `connector_type` from `config`, wrapped in the one layer stack
    /// every connector runs in ([`connector_sdk::LayerStack`]: rate limit when configured,
    /// timeout, retry, observe), with the settings the connector asks for
    /// ([`Connector::layers`]) and this registry's operation timeout when set. Factories
    /// return bare connectors.
    pub async fn build(
        &self,
        connector_type: &str,
        config: Value,
        context: &BuildContext,
    ) -> Result<Arc<dyn Connector>, ConnectorError> {
        let factory = self.factory(connector_type).ok_or_else(|| {
            ConnectorError::config(
                Operation::Build,
                format!(
                    "unknown connector type {connector_type:?}; known types: {}",
                    self.type_names().join(", ")
                ),
            )
        })?;
        let connector = factory.build(config, context).await?;
        let mut stack = connector.layers();
        if let Some(timeouts) = self.timeouts {
            stack = stack.with_timeouts(timeouts);
        }
        Ok(stack.wrap(connector))
    }
}
