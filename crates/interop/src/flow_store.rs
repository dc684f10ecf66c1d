//! Stored flows: the flow definition (`flow_engine::FlowSpec` as JSON) with its schedule,
//! time zone, enabled flag, webhook secret reference and next scheduled run.

use chrono::{DateTime, Utc};
use flow_engine::FlowSpec;
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

/// Store a new flow.
pub async fn create(
    db: &Database,
    content: FlowContent,
    actor: Option<&str>,
) -> Result<StoredFlow, Error> {
    let id = kernel::new_id();
    let now = Utc::now();
    let definition = content.definition()?;
    let result = with_conn!(db, |conn| {
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
        .execute(conn)
        .await
        .map(|result| result.rows_affected())
    });
    match result {
        Ok(_) => get(db, &id).await,
        Err(error) if storage::is_unique_violation(&error) => Err(name_taken(&content.spec.name)),
        Err(error) => Err(map_sqlx_error(error)),
    }
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

/// One page of flows, in creation order.
pub async fn list(db: &Database, page: &PageRequest) -> Result<Page<StoredFlow>, Error> {
    let after = page.after.clone().unwrap_or_default();
    let rows: Vec<Row> = with_conn!(db, |conn| {
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM flows WHERE id > $1 ORDER BY id LIMIT $2"
        ))
        .bind(&after)
        .bind(page.fetch_limit())
        .fetch_all(conn)
        .await
        .map_err(map_sqlx_error)?
    });
    let items = rows
        .into_iter()
        .map(StoredFlow::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, page, |flow| &flow.id))
}

/// Replace a flow if it is still at `expected_version`. The next scheduled run is
/// recomputed by the scheduler.
pub async fn update(
    db: &Database,
    id: &str,
    expected_version: Option<i64>,
    content: FlowContent,
    actor: Option<&str>,
) -> Result<StoredFlow, Error> {
    let now = Utc::now();
    let definition = content.definition()?;
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
            Ok(_) => Ok(()),
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
