//! `/api/v1/interop/...`.

mod connectors;
mod mappings;

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
    connectors::router().merge(mappings::router())
}

impl InteropState {
    /// Build the stored connector `id`, ready to connect.
    pub(crate) async fn connect(
        &self,
        id: &str,
    ) -> Result<Arc<dyn connector_sdk::Connector>, api::ApiError> {
        let stored = crate::connector_store::get(&self.db, id).await?;
        self.registry
            .build(&stored.connector_type, stored.config, self.secrets.clone())
            .await
            .map_err(connectors::connector_error)
    }
}
