//! `/api/v1/interop/...` and `/api/v1/hooks/...`.

mod connectors;
mod dead_letters;
mod flows;
mod hooks;
mod mappings;
mod runs;

use std::sync::Arc;

use ::connectors::ConnectorRegistry;
use api::ApiError;
use authz::{Guard, ObjectRef, ObjectType};
use kernel::{Error, ErrorKind};
use secret_access::Actor;
use storage::Database;
use utoipa_axum::router::OpenApiRouter;

use crate::connector_access::ConnectorAccess;
use crate::run_manager::{RunManager, RunSettings};

/// What the interop routes need.
#[derive(Clone)]
pub struct InteropState {
    /// The grimOS database.
    pub db: Database,
    /// The connector types.
    pub registry: ConnectorRegistry,
    /// Builds connectors on a principal's behalf (secret use, egress, own database).
    pub access: ConnectorAccess,
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
    /// The state over the database and the connector access, with a run manager using
    /// `settings`. Call [`InteropState::start`] once the database is migrated.
    pub fn new(db: Database, access: ConnectorAccess, settings: RunSettings) -> Self {
        let runs = RunManager::new(db.clone(), access.clone(), settings);
        Self {
            db,
            registry: access.registry().clone(),
            access,
            runs,
        }
    }

    /// Resume the runs a stopping server released, mark runs abandoned by a server that
    /// stopped without releasing them as failed, and start the scheduler and heartbeat.
    pub async fn start(&self) -> Result<(), kernel::Error> {
        flow_engine::metrics::describe();
        self.runs.sweep().await?;
        tokio::spawn(crate::scheduler::run(self.runs.clone()));
        tokio::spawn(self.runs.clone().keep_alive());
        Ok(())
    }

    /// Stop the scheduler and the heartbeat, stop this server's runs and replay jobs at a
    /// batch boundary and wait for them up to `grace`; stopped runs are released for the
    /// next server to resume from their checkpoint (see [`RunManager::shutdown`]).
    pub async fn shutdown(&self, grace: std::time::Duration) {
        self.runs.shutdown(grace).await;
    }

    /// Build the stored connector `id` for `actor` (the caller), ready to connect.
    pub(crate) async fn connect(
        &self,
        id: &str,
        actor: &Actor,
    ) -> Result<Arc<dyn connector_sdk::Connector>, api::ApiError> {
        let stored = crate::connector_store::get(&self.db, id).await?;
        // A reference the actor may not use is refused (403) before anything connects.
        self.access
            .check_config(actor, &stored.connector_type, &stored.config)
            .await?;
        self.access
            .build(&stored.connector_type, stored.config, actor)
            .await
            .map_err(connectors::connector_error)
    }
}

/// The decision point's name for the stored connector `id`.
pub(crate) fn connector_object(id: &str) -> ObjectRef {
    ObjectRef::new(ObjectType::Connector, id)
}

/// The decision point's name for the stored mapping `id`.
pub(crate) fn mapping_object(id: &str) -> ObjectRef {
    ObjectRef::new(ObjectType::Mapping, id)
}

/// The decision point's name for the flow `id` (its runs and dead letters belong to it).
pub(crate) fn flow_object(id: &str) -> ObjectRef {
    ObjectRef::new(ObjectType::Flow, id)
}

/// Require `action` on flow `flow_id` for something of the flow (`kind` `id`: a run, a dead
/// letter): when the caller may not see the flow, the answer is 404 for that thing, so
/// that nothing tells whether it or its flow exists.
pub(crate) async fn require_on_flow(
    guard: &Guard,
    action: &str,
    flow_id: &str,
    kind: &str,
    id: &str,
) -> Result<(), ApiError> {
    match guard.require(action, &flow_object(flow_id)).await {
        Err(ApiError(error)) if error.kind() == ErrorKind::NotFound => {
            Err(ApiError(Error::not_found(kind, id)))
        }
        other => other,
    }
}

/// Whether the caller may name `object` in something they save (a flow's connectors and
/// mapping, a mapping's ends): a reference is a capability, so whoever cannot see an
/// object cannot build on it. Callers answer exactly as for an object that does not exist.
pub(crate) async fn may_reference(guard: &Guard, object: &ObjectRef) -> Result<bool, ApiError> {
    guard.allows("view", object).await
}
