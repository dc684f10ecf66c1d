//! The Interoperability Engine as a grimOS service.
//!
//! - [`connector_store`]: stored connector configurations (secret fields hold references
//!   only), their last health check, validation against the type's JSON Schema.
//! - [`mapping_store`]: stored mappings (stored only when they compile).
//! - [`flow_store`]: stored flows (definition, schedule, webhook secret reference).
//! - [`flow_mapping`]: a flow's mapping (inline or stored), compiled.
//! - [`run_store`]: runs and their event log; [`dead_letter_store`]: rejected records.
//! - [`journal`]: the engine's run journal over the database.
//! - [`run_manager`]: runs as Tokio tasks (concurrency limit, one run per flow,
//!   idempotency, cancellation, timeout, notification).
//! - [`scheduler`]: cron schedules (a missed schedule runs once).
//! - [`stats`]: monitoring figures of a flow.
//! - [`routes`]: the `/api/v1/interop/...` endpoints and the flow webhook.
//!
//! Invariant: a connector configuration is stored only after it validates against its
//! type's schema and every field marked `x-secret` holds a secret reference, never a value.

pub mod connector_access;
pub mod connector_store;
pub mod dead_letter_store;
pub mod flow_mapping;
pub mod flow_store;
pub mod journal;
pub mod mapping_store;
pub mod routes;
pub mod run_manager;
pub mod run_store;
pub mod scheduler;
pub mod stats;
pub mod validation;
mod versioned;

pub use connector_access::ConnectorAccess;
pub use routes::InteropState;
pub use run_manager::RunSettings;

/// The webhook signature (`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`) a caller
/// of `POST /api/v1/hooks/flows/{id}` sends in `X-Grimos-Signature`.
pub use flow_engine::signature as webhook_signature;
