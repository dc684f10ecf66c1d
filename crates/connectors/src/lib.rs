//! The connector types grimOS knows, and what every user of connectors needs around them.
//!
//! - [`ConnectorRegistry`]: connector factories by type name; builds a connector from a
//!   stored configuration and wraps it in the standard layers (observe, retry, timeout).
//! - [`ResolverSecretSource`]: the Connector SDK's `SecretSource` port over the secrets
//!   service's resolver (`env:`, `file:`, `local:`, `vault:`), re-reading a reference every
//!   time a connector asks (connect time, and once after an authentication failure).
//! - [`config_file`]: reading a connector or flow file (JSON or YAML) with errors that name
//!   the file and the position.

pub mod config_file;
mod registry;
mod secret_source;

pub use registry::{ConnectorRegistry, ConnectorTypeInfo};
pub use secret_source::ResolverSecretSource;
