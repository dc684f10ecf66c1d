//! `/api/v1/interop/...`.

mod connectors;

use std::sync::Arc;

use ::connectors::ConnectorRegistry;
use connector_sdk::SecretSource;
use storage::Database;
use utoipa_axum::router::OpenApiRouter;

/// What the interop routes need.
#[derive(Clone)]
pub struct InteropState {
    /// The grimOS database.
    pub db: Database,
    /// The connector types.
    pub registry: ConnectorRegistry,
    /// Resolves secret references when a connector connects.
    pub secrets: Arc<dyn SecretSource>,
}

/// The interop routes; the caller provides the state.
pub fn router() -> OpenApiRouter<InteropState> {
    connectors::router()
}
