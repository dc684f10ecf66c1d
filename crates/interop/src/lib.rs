//! The Interoperability Engine as a grimOS service.
//!
//! - [`connector_store`]: stored connector configurations (secret fields hold references
//!   only), their last health check, validation against the type's JSON Schema.
//! - [`routes`]: the `/api/v1/interop/...` endpoints.
//!
//! Invariant: a connector configuration is stored only after it validates against its
//! type's schema and every field marked `x-secret` holds a secret reference, never a value.

pub mod connector_store;
pub mod mapping_store;
pub mod routes;
pub mod validation;

pub use routes::InteropState;
