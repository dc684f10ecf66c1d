//! The connector types grimOS knows, and what every user of connectors needs around them.
//!
//! - [`ConnectorRegistry`]: connector factories by type name; builds a connector from a
//!   stored configuration and wraps it in the standard layers (observe, retry, timeout).
//! - [`ResolverSecretSource`]: the Connector SDK's `SecretSource` port over the secrets
//!   service's resolver (`env:`, `file:`, `local:`, `vault:`), re-reading a reference every
//!   time a connector asks (connect time, and once after an authentication failure).
//! - [`config_file`]: reading a connector or flow file (JSON or YAML) with errors that name
//!   the file and the position.
//! - [`cli`]: the work of `grimos connector spec|check|discover|read|write`, writing to
//!   given handles.
//! - [`builtin_registry`]: the registry of the connector types built into grimOS.

pub mod cli;
pub mod config_file;
mod registry;
mod secret_source;
mod validation;

pub use registry::{ConnectorRegistry, ConnectorTypeInfo};
pub use secret_source::ResolverSecretSource;
pub use validation::{ConfigProblem, validate_config};

/// The connector types built into grimOS: `rest` ([`connector_rest::RestConnectorFactory`])
/// and `sql` ([`connector_sql::SqlConnectorFactory`]).
pub fn builtin_registry() -> ConnectorRegistry {
    ConnectorRegistry::new()
        .with(std::sync::Arc::new(
            connector_rest::RestConnectorFactory::new(),
        ))
        .with(std::sync::Arc::new(connector_sql::SqlConnectorFactory))
}
