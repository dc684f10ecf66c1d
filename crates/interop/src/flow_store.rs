//! Stored flows: the flow definition (`flow_engine::FlowSpec` as JSON) with its schedule,
//! time zone, enabled flag, webhook secret reference and next scheduled run.

use chrono::{DateTime, Utc};
use flow_engine::{ConnectorRef, FlowSpec};
use kernel::{Error, ErrorKind, Page, PageRequest};
use serde_json::Value;
use storage::{Database, map_sqlx_error, with_conn, with_tx};

/// A stored flow.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct StoredFlow {
    /// Id (UUIDv7).
    pub id: String,
    /// Unique name (the definition's `name`).
    pub name: String,
    /// The flow definition (the flow file model, see docs/flows.md); connectors are stored
    /// connector ids.
    #[schema(value_type = std::collections::HashMap<String, serde_json::Value>)]
    pub definition: Value,
    /// Whether schedules and webhooks start runs (manual runs always work).
    pub enabled: bool,
    /// The cron schedule with seconds, if any.
    pub schedule: Option<String>,
    /// The schedule's IANA time zone (UTC when absent).
    pub timezone: Option<String>,
    /// The secret REFERENCE whose value verifies webhook signatures (never the value).
    pub webhook_secret: Option<String>,
    /// When the scheduler starts the next run.
    pub next_run_at: Option<DateTime<Utc>>,
    /// Incremented by every update; sent as the ETag.
    pub version: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Who created it.
    pub created_by: Option<String>,
    /// Who last changed it.
    pub updated_by: Option<String>,
}

impl StoredFlow {
    /// The definition as the engine's model.
    pub fn spec(&self) -> Result<FlowSpec, Error> {
        FlowSpec::from_value(self.definition.clone()).map_err(|error| {
            Error::internal(std::io::Error::other(format!(
                "stored flow {} has an invalid definition at {}: {}",
                self.id, error.path, error.message
            )))
        })
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    name: String,
    definition: String,
    enabled: bool,
    schedule: Option<String>,
    timezone: Option<String>,
    webhook_secret: Option<String>,
    next_run_at: Option<DateTime<Utc>>,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    created_by: Option<String>,
    updated_by: Option<String>,
}

const COLUMNS: &str = "id, name, definition, enabled, schedule, timezone, webhook_secret, next_run_at, \
    version, created_at, updated_at, created_by, updated_by";

impl TryFrom<Row> for StoredFlow {
    type Error = Error;

    fn try_from(row: Row) -> Result<Self, Error> {
        Ok(StoredFlow {
            definition: serde_json::from_str(&row.definition).map_err(Error::internal)?,
            id: row.id,
            name: row.name,
            enabled: row.enabled,
            schedule: row.schedule,
            timezone: row.timezone,
            webhook_secret: row.webhook_secret,
            next_run_at: row.next_run_at,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
            created_by: row.created_by,
            updated_by: row.updated_by,
        })
    }
}

/// A validated flow, as created or replaced.
#[derive(Debug, Clone)]
pub struct FlowContent {
    /// The validated definition.
    pub spec: FlowSpec,
    /// Enabled flag.
    pub enabled: bool,
    /// Webhook secret reference.
    pub webhook_secret: Option<String>,
}

impl FlowContent {
    fn definition(&self) -> Result<String, Error> {
        serde_json::to_string(&self.spec).map_err(Error::internal)
    }
}

fn name_taken(name: &str) -> Error {
    Error::new(
        ErrorKind::Conflict,
        "name_taken",
        format!("a flow named {name:?} already exists"),
    )
}

/// The stored connectors and mapping a flow uses, with the JSON Pointer naming each.
struct Uses {
    connectors: Vec<(&'static str, String)>,
    mapping: Option<String>,
}

impl Uses {
    fn of(spec: &FlowSpec) -> Self {
        let mut connectors: Vec<(&'static str, String)> = Vec::new();
        for (pointer, reference) in [
            ("/source/connector", &spec.source.connector),
            ("/target/connector", &spec.target.connector),
        ] {
            if let ConnectorRef::Named(id) = reference
                && !connectors.iter().any(|(_, known)| known == id)
            {
                connectors.push((pointer, id.clone()));
            }
        }
        Self {
            connectors,
            mapping: spec.mapping_id.clone(),
        }
    }
}

/// A reference to a connector or mapping deleted meanwhile (the foreign key refused it).
fn missing_reference(error: sqlx::Error, pointer: &str, kind: &str) -> Error {
    match &error {
        sqlx::Error::Database(db_error) if db_error.is_foreign_key_violation() => {
            Error::invalid_field(pointer, format!("no {kind} with this id"))
        }
        _ => map_sqlx_error(error),
    }
}

/// Inside a `with_tx!` body: replace the rows saying which connectors and mapping the flow
/// `$flow_id` uses by `$uses`.
macro_rules! record_uses {
    ($tx:ident, $flow_id:expr, $uses:expr) => {{
        let uses: &Uses = $uses;
        for statement in [
            "DELETE FROM flow_connector_uses WHERE flow_id = $1",
            "DELETE FROM flow_mapping_uses WHERE flow_id = $1",
        ] {
            sqlx::query(statement)
                .bind($flow_id)
                .execute(&mut *$tx)
                .await
                .map_err(map_sqlx_error)?;
        }
        for (pointer, connector_id) in &uses.connectors {
            sqlx::query("INSERT INTO flow_connector_uses (flow_id, connector_id) VALUES ($1, $2)")
                .bind($flow_id)
                .bind(connector_id)
                .execute(&mut *$tx)
                .await
                .map_err(|error| missing_reference(error, pointer, "connector"))?;
        }
        if let Some(mapping_id) = &uses.mapping {
            sqlx::query("INSERT INTO flow_mapping_uses (flow_id, mapping_id) VALUES ($1, $2)")
                .bind($flow_id)
                .bind(mapping_id)
                .execute(&mut *$tx)
                .await
                .map_err(|error| missing_reference(error, "/mapping_id", "mapping"))?;
        }
    }};
}

/// Store a new flow, with the stored connectors and mapping it uses (so that they cannot
/// be deleted while it exists).
pub async fn create(
    db: &Database,
    content: FlowContent,
    actor: Option<&str>,
) -> Result<StoredFlow, Error> {
    let id = kernel::new_id();
    let now = Utc::now();
    let definition = content.definition()?;
    let uses = Uses::of(&content.spec);
    with_tx!(db, |tx| {
        sqlx::query(
            "INSERT INTO flows (id, name, definition, enabled, schedule, timezone, webhook_secret, version, \
             created_at, updated_at, created_by, updated_by) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9, $10, $11)",
        )
        .bind(&id)
        .bind(&content.spec.name)
        .bind(&definition)
        .bind(content.enabled)
        .bind(&content.spec.schedule)
        .bind(&content.spec.timezone)
        .bind(&content.webhook_secret)
        .bind(now)
        .bind(now)
        .bind(actor)
        .bind(actor)
        .execute(&mut *tx)
        .await
        .map_err(|error| {
            if storage::is_unique_violation(&error) {
                name_taken(&content.spec.name)
            } else {
                map_sqlx_error(error)
            }
        })?;
        record_uses!(tx, &id, &uses);
        Ok::<(), Error>(())
    })?;
    get(db, &id).await
}

/// The flow `id`, or `NotFound`.
pub async fn get(db: &Database, id: &str) -> Result<StoredFlow, Error> {
    let row: Option<Row> = with_conn!(db, |conn| {
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM flows WHERE id = $1"))
            .bind(id)
            .fetch_optional(conn)
            .await
            .map_err(map_sqlx_error)?
    });
    row.map(StoredFlow::try_from)
        .transpose()?
        .ok_or_else(|| Error::not_found("flow", id))
}

/// One page of flows, in creation order, among those `scope` lets the caller see
/// (filtered in the query, so that every page is full).
pub async fn list(
    db: &Database,
    scope: &authz::ListScope,
    page: &PageRequest,
) -> Result<Page<StoredFlow>, Error> {
    let after = page.after.clone().unwrap_or_default();
    let (visible, binds) = scope.sql("id", 3);
    let sql =
        format!("SELECT {COLUMNS} FROM flows WHERE id > $1 AND {visible} ORDER BY id LIMIT $2");
    let rows: Vec<Row> = with_conn!(db, |conn| {
        let mut query = sqlx::query_as(&sql).bind(&after).bind(page.fetch_limit());
        for value in &binds {
            query = query.bind(value);
        }
        query.fetch_all(conn).await.map_err(map_sqlx_error)?
    });
    let items = rows
        .into_iter()
        .map(StoredFlow::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, page, |flow| &flow.id))
}

/// Replace a flow if it is still at `expected_version`, with the connectors and mapping it
/// now uses. The next scheduled run is recomputed by the scheduler.
pub async fn update(
    db: &Database,
    id: &str,
    expected_version: Option<i64>,
    content: FlowContent,
    actor: Option<&str>,
) -> Result<StoredFlow, Error> {
    let now = Utc::now();
    let definition = content.definition()?;
    let uses = Uses::of(&content.spec);
    let outcome: Result<(), Error> = with_tx!(db, |tx| {
        let current =
            crate::versioned::current_version!(tx, crate::versioned::FLOWS, id, expected_version);
        let result = sqlx::query(
            "UPDATE flows SET name = $1, definition = $2, enabled = $3, schedule = $4, timezone = $5, \
             webhook_secret = $6, next_run_at = NULL, version = version + 1, updated_at = $7, updated_by = $8 \
             WHERE id = $9 AND version = $10",
        )
        .bind(&content.spec.name)
        .bind(&definition)
        .bind(content.enabled)
        .bind(&content.spec.schedule)
        .bind(&content.spec.timezone)
        .bind(&content.webhook_secret)
        .bind(now)
        .bind(actor)
        .bind(id)
        .bind(current)
        .execute(&mut *tx)
        .await;
        match result {
            Ok(result) if result.rows_affected() == 0 => {
                Err(api::etag::stale(current, current + 1))
            }
            Ok(_) => {
                record_uses!(tx, id, &uses);
                Ok(())
            }
            Err(error) if storage::is_unique_violation(&error) => {
                Err(name_taken(&content.spec.name))
            }
            Err(error) => Err(map_sqlx_error(error)),
        }
    });
    outcome?;
    get(db, id).await
}

/// Delete the flow `id` (its runs, dead letters and checkpoint go with it).
pub async fn delete(db: &Database, id: &str, expected_version: Option<i64>) -> Result<(), Error> {
    crate::versioned::FLOWS
        .delete(db, id, expected_version)
        .await
}

/// A flow that uses a connector or mapping (named in a `409 in_use` problem).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct FlowUse {
    /// The flow's id.
    pub id: String,
    /// The flow's name.
    pub name: String,
}

/// What flows can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Used {
    /// A stored connector (a flow's source or target).
    Connector,
    /// A stored mapping (a flow's `mapping_id`).
    Mapping,
}

impl Used {
    fn table(self) -> crate::versioned::VersionedTable {
        match self {
            Self::Connector => crate::versioned::CONNECTORS,
            Self::Mapping => crate::versioned::MAPPINGS,
        }
    }

    /// `SELECT id, name` of the flows using row `$1` (locking them on PostgreSQL so that no
    /// run of theirs can be queued until the transaction ends).
    fn users_query(self, db: &Database) -> String {
        let (uses, column) = match self {
            Self::Connector => ("flow_connector_uses", "connector_id"),
            Self::Mapping => ("flow_mapping_uses", "mapping_id"),
        };
        let lock = match db {
            Database::Postgres(_) => " FOR UPDATE OF f",
            Database::Sqlite(_) => "",
        };
        format!(
            "SELECT f.id, f.name FROM flows f JOIN {uses} u ON u.flow_id = f.id \
             WHERE u.{column} = $1 ORDER BY f.id{lock}"
        )
    }
}

/// The flows that use the connector or mapping `id` now (without locking them).
pub async fn flows_using(db: &Database, used: Used, id: &str) -> Result<Vec<FlowUse>, Error> {
    let (uses, column) = match used {
        Used::Connector => ("flow_connector_uses", "connector_id"),
        Used::Mapping => ("flow_mapping_uses", "mapping_id"),
    };
    let sql = format!(
        "SELECT f.id, f.name FROM flows f JOIN {uses} u ON u.flow_id = f.id \
         WHERE u.{column} = $1 ORDER BY f.id"
    );
    let rows: Vec<(String, String)> = with_conn!(db, |conn| {
        sqlx::query_as(&sql)
            .bind(id)
            .fetch_all(conn)
            .await
            .map_err(map_sqlx_error)?
    });
    Ok(rows
        .into_iter()
        .map(|(id, name)| FlowUse { id, name })
        .collect())
}

/// Why a connector or mapping was not deleted.
#[derive(Debug)]
pub enum DeleteRefusal {
    /// Flows use it (and no cascade was asked for). Empty when a flow started using it
    /// while it was being deleted.
    InUse(Vec<FlowUse>),
    /// A cascade was asked for, but these flows using it have a queued or running run.
    RunsActive(Vec<FlowUse>),
    /// A cascade was asked for, but the caller may not delete these flows using it.
    NotDeletable(Vec<FlowUse>),
    /// Any other error (404, 412, database).
    Error(Error),
}

impl From<Error> for DeleteRefusal {
    fn from(error: Error) -> Self {
        Self::Error(error)
    }
}

/// Delete the connector or mapping `id` (at `expected_version` when given) unless a flow
/// uses it: then refuse with the flows, or, with `cascade`, delete those flows first (with
/// their runs, dead letters and checkpoints) — refused while any of them has a queued or
/// running run, so that no run loses its flow under it — and refused unless every one of
/// them is in `deletable` (the flows the caller may delete, decided beforehand: see
/// [`flows_using`]). Returns the flows deleted.
///
/// One transaction: on SQLite it takes the write lock first; on PostgreSQL the row and the
/// flows using it are locked, and a flow that starts using it meanwhile makes the delete
/// fail on the foreign key (`InUse` with no flows), never leaves a dangling reference.
pub async fn delete_used(
    db: &Database,
    used: Used,
    id: &str,
    expected_version: Option<i64>,
    cascade: bool,
    deletable: &std::collections::HashSet<String>,
) -> Result<Vec<FlowUse>, DeleteRefusal> {
    let table = used.table();
    let touch = format!("UPDATE {} SET version = version WHERE id = $1", table.table);
    let users_query = used.users_query(db);
    let delete = format!("DELETE FROM {} WHERE id = $1", table.table);
    with_tx!(db, |tx| {
        // A write first: SQLite takes the write lock now, so nothing changes under the checks.
        sqlx::query(&touch)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
        crate::versioned::current_version!(tx, table, id, expected_version);
        let users: Vec<(String, String)> = sqlx::query_as(&users_query)
            .bind(id)
            .fetch_all(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
        let users: Vec<FlowUse> = users
            .into_iter()
            .map(|(id, name)| FlowUse { id, name })
            .collect();
        if !users.is_empty() && !cascade {
            return Err(DeleteRefusal::InUse(users));
        }
        let refused: Vec<FlowUse> = users
            .iter()
            .filter(|flow| !deletable.contains(&flow.id))
            .cloned()
            .collect();
        if !refused.is_empty() {
            return Err(DeleteRefusal::NotDeletable(refused));
        }
        let mut running = Vec::new();
        for flow in &users {
            let active: Option<String> = sqlx::query_scalar(
                "SELECT id FROM flow_runs WHERE flow_id = $1 AND status IN ('queued', 'running') LIMIT 1",
            )
            .bind(&flow.id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
            if active.is_some() {
                running.push(flow.clone());
            }
        }
        if !running.is_empty() {
            return Err(DeleteRefusal::RunsActive(running));
        }
        for flow in &users {
            sqlx::query("DELETE FROM flows WHERE id = $1")
                .bind(&flow.id)
                .execute(&mut *tx)
                .await
                .map_err(map_sqlx_error)?;
        }
        match sqlx::query(&delete).bind(id).execute(&mut *tx).await {
            Ok(_) => Ok(users),
            Err(sqlx::Error::Database(error)) if error.is_foreign_key_violation() => {
                Err(DeleteRefusal::InUse(Vec::new()))
            }
            Err(error) => Err(DeleteRefusal::Error(map_sqlx_error(error))),
        }
    })
}

/// Remember the webhook signature `signature` of flow `flow_id` until `expires_at` (the end
/// of its tolerance window). False when it was already seen: a replayed request. Servers
/// sharing the database share what they have seen.
pub async fn record_webhook_signature(
    db: &Database,
    flow_id: &str,
    signature: &str,
    expires_at: DateTime<Utc>,
) -> Result<bool, Error> {
    let result = with_conn!(db, |conn| {
        sqlx::query(
            "INSERT INTO webhook_signatures (flow_id, signature, expires_at) VALUES ($1, $2, $3)",
        )
        .bind(flow_id)
        .bind(signature)
        .bind(expires_at)
        .execute(conn)
        .await
        .map(|result| result.rows_affected())
    });
    match result {
        Ok(_) => Ok(true),
        Err(error) if storage::is_unique_violation(&error) => Ok(false),
        Err(error) => Err(map_sqlx_error(error)),
    }
}

/// Forget the webhook signatures whose window ended before `now` (a request signed that
/// long ago is refused as stale anyway). Returns how many.
pub async fn purge_webhook_signatures(db: &Database, now: DateTime<Utc>) -> Result<u64, Error> {
    Ok(with_conn!(db, |conn| {
        sqlx::query("DELETE FROM webhook_signatures WHERE expires_at < $1")
            .bind(now)
            .execute(conn)
            .await
            .map_err(map_sqlx_error)?
            .rows_affected()
    }))
}

/// A flow the scheduler looks at.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ScheduledFlow {
    /// Flow id.
    pub id: String,
    /// Cron expression with seconds.
    pub schedule: String,
    /// IANA time zone.
    pub timezone: Option<String>,
    /// The stored next run.
    pub next_run_at: Option<DateTime<Utc>>,
}

/// The enabled flows with a schedule.
pub async fn scheduled(db: &Database) -> Result<Vec<ScheduledFlow>, Error> {
    Ok(with_conn!(db, |conn| {
        sqlx::query_as(
            "SELECT id, schedule, timezone, next_run_at FROM flows \
             WHERE enabled = TRUE AND schedule IS NOT NULL ORDER BY id",
        )
        .fetch_all(conn)
        .await
        .map_err(map_sqlx_error)?
    }))
}

/// Move a flow's next run from `seen` to `next`; false when another scheduler (or an
/// update) changed it first, so that exactly one of them starts the run.
pub async fn claim_next_run(
    db: &Database,
    id: &str,
    seen: Option<DateTime<Utc>>,
    next: DateTime<Utc>,
) -> Result<bool, Error> {
    let affected = with_conn!(db, |conn| {
        match seen {
            Some(seen) => {
                sqlx::query("UPDATE flows SET next_run_at = $1 WHERE id = $2 AND next_run_at = $3")
                    .bind(next)
                    .bind(id)
                    .bind(seen)
                    .execute(conn)
                    .await
            }
            None => {
                sqlx::query(
                    "UPDATE flows SET next_run_at = $1 WHERE id = $2 AND next_run_at IS NULL",
                )
                .bind(next)
                .bind(id)
                .execute(conn)
                .await
            }
        }
        .map_err(map_sqlx_error)?
        .rows_affected()
    });
    Ok(affected == 1)
}
