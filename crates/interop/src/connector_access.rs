//! Building connectors on a principal's behalf.
//!
//! Every connector the service builds — to test a connection, discover a schema, fetch
//! preview samples, run a flow or replay dead letters — is built for an [`Actor`]: the
//! caller of the request, or the owner of the flow a run belongs to. Its secret references
//! resolve only when that actor may use them, its connections pass the egress policy, and
//! the platform's own database stays off limits. Saving a configuration checks the same
//! use rights, so a refusal comes at once rather than at the first run.

use std::sync::Arc;

use ::connectors::ConnectorRegistry;
use connector_sdk::{BuildContext, Connector, ConnectorError, PlatformDatabase, SecretSource};
use kernel::{Error, Role};
use secret_access::{Actor, ScopedSecretSource, SharedSecretUsePolicy};
use serde_json::Value;
use storage::Database;

/// The connector types, and what the service lends a connector it builds.
#[derive(Clone)]
pub struct ConnectorAccess {
    registry: ConnectorRegistry,
    secrets: Arc<dyn SecretSource>,
    secret_use: SharedSecretUsePolicy,
    egress: egress::EgressPolicy,
    platform_database: Option<PlatformDatabase>,
}

impl ConnectorAccess {
    /// Access over `registry`, resolving references through `secrets` once `secret_use`
    /// allows them; the default egress policy and no platform database until set.
    pub fn new(
        registry: ConnectorRegistry,
        secrets: Arc<dyn SecretSource>,
        secret_use: SharedSecretUsePolicy,
    ) -> Self {
        Self {
            registry,
            secrets,
            secret_use,
            egress: egress::EgressPolicy::default(),
            platform_database: None,
        }
    }

    /// The same access with `egress` as the egress policy.
    #[must_use]
    pub fn with_egress(mut self, egress: egress::EgressPolicy) -> Self {
        self.egress = egress;
        self
    }

    /// The same access with the platform's own database off limits.
    #[must_use]
    pub fn with_platform_database(mut self, database: PlatformDatabase) -> Self {
        self.platform_database = Some(database);
        self
    }

    /// The connector types.
    pub fn registry(&self) -> &ConnectorRegistry {
        &self.registry
    }

    /// The egress policy (also for notifications).
    pub fn egress(&self) -> &egress::EgressPolicy {
        &self.egress
    }

    /// The use-grant policy.
    pub fn secret_use(&self) -> &SharedSecretUsePolicy {
        &self.secret_use
    }

    /// A secret source that resolves only what `actor` may use.
    pub fn secrets_for(&self, actor: &Actor) -> Arc<dyn SecretSource> {
        Arc::new(ScopedSecretSource::new(
            self.secrets.clone(),
            self.secret_use.clone(),
            actor.clone(),
        ))
    }

    /// What a connector built for `actor` is lent.
    pub fn context_for(&self, actor: &Actor) -> BuildContext {
        let mut context =
            BuildContext::new(self.secrets_for(actor)).with_egress(self.egress.clone());
        if let Some(database) = &self.platform_database {
            context = context.with_platform_database(database.clone());
        }
        context
    }

    /// Build a connector of `connector_type` from `config` for `actor`.
    pub async fn build(
        &self,
        connector_type: &str,
        config: Value,
        actor: &Actor,
    ) -> Result<Arc<dyn Connector>, ConnectorError> {
        self.registry
            .build(connector_type, config, &self.context_for(actor))
            .await
    }

    /// Refuse (403 `secret_use_denied`) a configuration of `connector_type` holding a
    /// secret reference `actor` may not use. Every reference in it is checked, not only
    /// changed ones: saving an object is taking responsibility for all it references.
    pub async fn check_config(
        &self,
        actor: &Actor,
        connector_type: &str,
        config: &Value,
    ) -> Result<(), Error> {
        let Some(factory) = self.registry.factory(connector_type) else {
            return Ok(());
        };
        let references = secret_references(config, &factory.spec());
        self.secret_use.check_all(actor, &references).await
    }

    /// Refuse a single reference (a webhook or notification secret) `actor` may not use.
    pub async fn check_reference(&self, actor: &Actor, reference: &str) -> Result<(), Error> {
        self.secret_use.check(actor, reference).await
    }
}

/// The secret references a configuration holds in the fields its schema marks secret
/// (including secret fields of array items, e.g. per-stream credentials).
pub fn secret_references(config: &Value, schema: &Value) -> Vec<String> {
    let mut found: Vec<String> = secrets::find_secret_references(config, schema)
        .into_iter()
        .map(|(_, reference)| reference)
        .collect();
    found.sort();
    found.dedup();
    found
}

/// The principal a flow acts for: its owner (who last saved it), with the role that user
/// holds now, never more than the role they saved with — a disabled owner lends no
/// authority (viewer), and an owner who is not a grimOS user (OIDC, certificate) keeps the
/// role they saved with.
pub async fn flow_owner(db: &Database, flow_id: &str) -> Result<Actor, Error> {
    let row: Option<(Option<String>, Option<String>, Option<String>)> =
        storage::with_conn!(db, |conn| {
            sqlx::query_as(
                "SELECT owner_subject, owner_role, COALESCE(updated_by, created_by) FROM flows WHERE id = $1",
            )
            .bind(flow_id)
            .fetch_optional(conn)
            .await
        })
        .map_err(storage::map_sqlx_error)?;
    let (owner_subject, owner_role, last_editor) =
        row.ok_or_else(|| Error::not_found("flow", flow_id))?;
    let Some(subject) = owner_subject.or(last_editor) else {
        return Ok(Actor::nobody());
    };
    let saved_role: Option<Role> = owner_role.and_then(|role| role.parse().ok());
    let role = match identity::users::find(db, &subject).await? {
        Some(user) if user.disabled => Role::Viewer,
        // The user's role now, narrowed to the role they saved with (a token with a lower
        // role than its user's lends no more than that role).
        Some(user) => match saved_role {
            Some(saved) if saved.max_access() < user.role.max_access() => saved,
            _ => user.role,
        },
        None => saved_role.unwrap_or(Role::Viewer),
    };
    Ok(Actor { subject, role })
}

/// Make `actor` the owner of flow `flow_id`: its runs act for them from now on.
pub async fn set_flow_owner(db: &Database, flow_id: &str, actor: &Actor) -> Result<(), Error> {
    storage::with_conn!(db, |conn| {
        sqlx::query("UPDATE flows SET owner_subject = $1, owner_role = $2 WHERE id = $3")
            .bind(&actor.subject)
            .bind(actor.role.as_str())
            .bind(flow_id)
            .execute(conn)
            .await
            .map(|_| ())
    })
    .map_err(storage::map_sqlx_error)
}

/// Record on run `run_id` the principal it acts for.
pub async fn record_acting_subject(
    db: &Database,
    run_id: &str,
    actor: &Actor,
) -> Result<(), Error> {
    storage::with_conn!(db, |conn| {
        sqlx::query("UPDATE flow_runs SET acting_subject = $1 WHERE id = $2")
            .bind(&actor.subject)
            .bind(run_id)
            .execute(conn)
            .await
            .map(|_| ())
    })
    .map_err(storage::map_sqlx_error)
}
