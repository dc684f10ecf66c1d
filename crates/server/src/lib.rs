//! The grimOS server: every service's routes behind one middleware stack.
//!
//! [`Platform::build`] opens the database, applies migrations, creates the first admin and
//! composes the routers; [`Platform::serve`] answers HTTP until the shutdown signal, then
//! stops accepting and lets in-flight requests finish (up to the grace period).
//!
//! Life of a request, outermost first: telemetry (request id, span continuing
//! `traceparent`, metrics) → problem+json normalisation → authenticator injection →
//! request timeout → body limit → routing → the service's handler (its extractors
//! authenticate and validate; it calls its domain crate).

mod api_docs;
mod health;
mod metrics_endpoint;
mod openapi;
mod platform;
pub mod shutdown;
pub mod tls;
mod web_app;

pub use platform::{Platform, StartupError, openapi_document};
