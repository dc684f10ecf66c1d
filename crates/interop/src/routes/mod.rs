//! `/api/v1/interop/...` and `/api/v1/hooks/...`.

mod connectors;
mod dead_letters;
mod flows;
mod hooks;
mod mappings;
mod runs;

use std::sync::Arc;

use ::connectors::ConnectorRegistry;
use connector_sdk::SecretSource;
use storage::Database;
use utoipa_axum::router::OpenApiRouter;

use crate::run_manager::{RunManager, RunSettings};

/// What the interop routes need.
#[derive(Clone)]
pub struct InteropState {
    /// The grimOS database.
    pub db: Database,
    /// The connector types.
    pub registry: ConnectorRegistry,
    /// Resolves secret references when a connector connects.
    pub secrets: Arc<dyn SecretSource>,
    /// Starts, tracks and cancels flow runs.
    pub runs: RunManager,
}

/// The interop routes; the caller provides the state.
pub fn router() -> OpenApiRouter<InteropState> {
    connectors::router()
        .merge(mappings::router())
        .merge(flows::router())
        .merge(runs::router())
        .merge(dead_letters::router())
        .merge(hooks::router())
}

impl InteropState {
    /// The state over the database, the connector types and the secrets source, with a
    /// run manager using `settings`. Call [`InteropState::start`] once the database is
    /// migrated.
    pub fn new(
        db: Database,
        registry: ConnectorRegistry,
        secrets: Arc<dyn SecretSource>,
        settings: RunSettings,
    ) -> Self {
        let runs = RunManager::new(db.clone(), registry.clone(), secrets.clone(), settings);
        Self {
            db,
            registry,
            secrets,
            runs,
        }
    }

    /// Mark runs interrupted by the last stop as failed and start the scheduler.
    pub async fn start(&self) -> Result<(), kernel::Error> {
        flow_engine::metrics::describe();
        self.runs.sweep().await?;
        tokio::spawn(crate::scheduler::run(self.runs.clone()));
        tokio::spawn(self.runs.clone().keep_alive());
        Ok(())
    }

    /// Stop the scheduler and the heartbeat (runs going on are left to finish, or to be
    /// marked failed as abandoned by the next sweep of any server).
    pub fn shutdown(&self) {
        self.runs.shutdown_token().cancel();
    }

    /// Build the stored connector `id`, ready to connect.
    pub(crate) async fn connect(
        &self,
        id: &str,
    ) -> Result<Arc<dyn connector_sdk::Connector>, api::ApiError> {
        let stored = crate::connector_store::get(&self.db, id).await?;
        self.registry
            .build(
                &stored.connector_type,
                stored.config,
                &connector_sdk::BuildContext::new(self.secrets.clone()),
            )
            .await
            .map_err(connectors::connector_error)
    }
}
