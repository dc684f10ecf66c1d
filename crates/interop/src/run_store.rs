//! Flow runs (`flow_runs`) and their log (`run_events`).

use chrono::{DateTime, Utc};
use flow_engine::RunCounts;
use kernel::{Error, ErrorKind, Page, PageRequest};
use serde_json::Value;
use storage::{Database, map_sqlx_error, with_conn};

/// The statuses of a run.
pub const STATUSES: [&str; 5] = ["queued", "running", "succeeded", "failed", "cancelled"];

/// Whether `status` is final.
pub fn is_finished(status: &str) -> bool {
    matches!(status, "succeeded" | "failed" | "cancelled")
}

/// A flow run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct FlowRun {
    /// Id (UUIDv7).
    pub id: String,
    /// The flow.
    pub flow_id: String,
    /// `queued`, `running`, `succeeded`, `failed` or `cancelled`.
    pub status: String,
    /// What started it: `manual`, `webhook` or `schedule`.
    #[sqlx(rename = "trigger_kind")]
    pub trigger: String,
    /// The `Idempotency-Key` it was requested with.
    pub idempotency_key: Option<String>,
    /// Who requested it (manual runs).
    pub requested_by: Option<String>,
    /// When it was requested.
    pub created_at: DateTime<Utc>,
    /// When it started running.
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// Records read from the source.
    pub records_read: i64,
    /// Records the target applied.
    pub records_written: i64,
    /// Records dead-lettered.
    pub records_rejected: i64,
    /// Why it failed or stopped.
    pub error: Option<String>,
    /// The trace id of the run's span.
    pub trace_id: Option<String>,
    /// The principal the run acts for (the flow's owner): whose secret use rights its
    /// connectors resolve secrets with. Set when the run starts.
    pub acting_subject: Option<String>,
}

const COLUMNS: &str = "id, flow_id, status, trigger_kind, idempotency_key, requested_by, created_at, \
    started_at, finished_at, records_read, records_written, records_rejected, error, trace_id, \
    acting_subject";

/// A run to create.
#[derive(Debug, Clone)]
pub struct NewRun {
    /// The flow.
    pub flow_id: String,
    /// `manual`, `webhook`, `schedule`.
    pub trigger: &'static str,
    /// The caller's idempotency key.
    pub idempotency_key: Option<String>,
    /// Who asked.
    pub requested_by: Option<String>,
    /// Whether the run must be the flow's only queued or running run (the flow does not
    /// allow concurrent runs); the database refuses a second one.
    pub exclusive: bool,
}

/// Create a queued run; when the flow already has a run with the same idempotency key,
/// return that one instead (`false`). An exclusive run while the flow has a queued or
/// running exclusive run is refused with `409 run_in_progress` (by a unique index, so two
/// servers on one database cannot both start one).
pub async fn insert(db: &Database, new: &NewRun) -> Result<(FlowRun, bool), Error> {
    let id = kernel::new_id();
    let now = Utc::now();
    let result = with_conn!(db, |conn| {
        sqlx::query(
            "INSERT INTO flow_runs (id, flow_id, status, trigger_kind, idempotency_key, requested_by, created_at, exclusive_run, heartbeat_at) \
             VALUES ($1, $2, 'queued', $3, $4, $5, $6, $7, $6)",
        )
        .bind(&id)
        .bind(&new.flow_id)
        .bind(new.trigger)
        .bind(&new.idempotency_key)
        .bind(&new.requested_by)
        .bind(now)
        .bind(new.exclusive)
        .execute(conn)
        .await
        .map(|result| result.rows_affected())
    });
    match result {
        Ok(_) => Ok((get(db, &id).await?, true)),
        Err(error) if storage::is_unique_violation(&error) => {
            let key = new.idempotency_key.clone().unwrap_or_default();
            let existing: Option<FlowRun> = with_conn!(db, |conn| {
                sqlx::query_as(&format!(
                    "SELECT {COLUMNS} FROM flow_runs WHERE flow_id = $1 AND idempotency_key = $2"
                ))
                .bind(&new.flow_id)
                .bind(&key)
                .fetch_optional(conn)
                .await
                .map_err(map_sqlx_error)?
            });
            if let Some(run) = existing {
                return Ok((run, false));
            }
            match active_of_flow(db, &new.flow_id).await? {
                Some(active) if new.exclusive => Err(run_in_progress(&active)),
                _ => Err(map_sqlx_error(error)),
            }
        }
        Err(error) => Err(map_sqlx_error(error)),
    }
}

/// The run `id`, or `NotFound`.
pub async fn get(db: &Database, id: &str) -> Result<FlowRun, Error> {
    let run: Option<FlowRun> = with_conn!(db, |conn| {
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM flow_runs WHERE id = $1"))
            .bind(id)
            .fetch_optional(conn)
            .await
            .map_err(map_sqlx_error)?
    });
    run.ok_or_else(|| Error::not_found("run", id))
}

/// Filters of the run list.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    /// Only runs of this flow.
    pub flow_id: Option<String>,
    /// Only runs in this status.
    pub status: Option<String>,
    /// Only runs requested at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only runs requested before this time.
    pub until: Option<DateTime<Utc>>,
}

/// One page of runs, newest first (by id, which sorts by creation time), of the flows
/// `scope` lets the caller see (filtered in the query, so that every page is full).
pub async fn list(
    db: &Database,
    filter: &RunFilter,
    scope: &authz::ListScope,
    page: &PageRequest,
) -> Result<Page<FlowRun>, Error> {
    let before = page.after.clone();
    let (visible, binds) = scope.sql("flow_id", 7);
    let sql = format!(
        "SELECT {COLUMNS} FROM flow_runs WHERE ($1 IS NULL OR id < $1) \
         AND ($2 IS NULL OR flow_id = $2) AND ($3 IS NULL OR status = $3) \
         AND ($4 IS NULL OR created_at >= $4) AND ($5 IS NULL OR created_at < $5) \
         AND {visible} ORDER BY id DESC LIMIT $6"
    );
    let rows: Vec<FlowRun> = with_conn!(db, |conn| {
        let mut query = sqlx::query_as(&sql)
            .bind(&before)
            .bind(&filter.flow_id)
            .bind(&filter.status)
            .bind(filter.since)
            .bind(filter.until)
            .bind(page.fetch_limit());
        for value in &binds {
            query = query.bind(value);
        }
        query.fetch_all(conn).await.map_err(map_sqlx_error)?
    });
    Ok(Page::from_rows(rows, page, |run| &run.id))
}

/// The most recent runs of a flow, newest first.
pub async fn recent(db: &Database, flow_id: &str, limit: i64) -> Result<Vec<FlowRun>, Error> {
    Ok(with_conn!(db, |conn| {
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM flow_runs WHERE flow_id = $1 ORDER BY id DESC LIMIT $2"
        ))
        .bind(flow_id)
        .bind(limit)
        .fetch_all(conn)
        .await
        .map_err(map_sqlx_error)?
    }))
}

/// The id of a queued or running run of the flow, if any.
pub async fn active_of_flow(db: &Database, flow_id: &str) -> Result<Option<String>, Error> {
    Ok(with_conn!(db, |conn| {
        sqlx::query_scalar(
            "SELECT id FROM flow_runs WHERE flow_id = $1 AND status IN ('queued', 'running') \
             ORDER BY id LIMIT 1",
        )
        .bind(flow_id)
        .fetch_optional(conn)
        .await
        .map_err(map_sqlx_error)?
    }))
}

/// Move a queued run to running; false when it is no longer queued (cancelled meanwhile).
pub async fn mark_running(db: &Database, id: &str, trace_id: Option<&str>) -> Result<bool, Error> {
    let affected = with_conn!(db, |conn| {
        sqlx::query(
            "UPDATE flow_runs SET status = 'running', started_at = $1, trace_id = $2 \
             WHERE id = $3 AND status = 'queued'",
        )
        .bind(Utc::now())
        .bind(trace_id)
        .bind(id)
        .execute(conn)
        .await
        .map_err(map_sqlx_error)?
        .rows_affected()
    });
    Ok(affected == 1)
}

fn count(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Record the counters so far.
pub async fn progress(db: &Database, id: &str, counts: RunCounts) -> Result<(), Error> {
    with_conn!(db, |conn| {
        sqlx::query(
            "UPDATE flow_runs SET records_read = $1, records_written = $2, records_rejected = $3 WHERE id = $4",
        )
        .bind(count(counts.read))
        .bind(count(counts.written))
        .bind(count(counts.rejected))
        .bind(id)
        .execute(conn)
        .await
        .map_err(map_sqlx_error)?
        .rows_affected()
    });
    Ok(())
}

/// Record a run's end.
pub async fn finish(
    db: &Database,
    id: &str,
    status: &str,
    counts: RunCounts,
    error: Option<&str>,
) -> Result<(), Error> {
    with_conn!(db, |conn| {
        sqlx::query(
            "UPDATE flow_runs SET status = $1, records_read = $2, records_written = $3, records_rejected = $4, \
             error = $5, finished_at = $6 WHERE id = $7",
        )
        .bind(status)
        .bind(count(counts.read))
        .bind(count(counts.written))
        .bind(count(counts.rejected))
        .bind(error)
        .bind(Utc::now())
        .bind(id)
        .execute(conn)
        .await
        .map_err(map_sqlx_error)?
        .rows_affected()
    });
    Ok(())
}

/// Cancel a run that is still queued; false when it is not queued.
pub async fn cancel_queued(db: &Database, id: &str) -> Result<bool, Error> {
    let affected = with_conn!(db, |conn| {
        sqlx::query(
            "UPDATE flow_runs SET status = 'cancelled', error = 'the run was cancelled before it started', \
             finished_at = $1 WHERE id = $2 AND status = 'queued'",
        )
        .bind(Utc::now())
        .bind(id)
        .execute(conn)
        .await
        .map_err(map_sqlx_error)?
        .rows_affected()
    });
    Ok(affected == 1)
}

/// Vouch for the queued or running runs `ids` of this server at `now`.
pub async fn heartbeat(db: &Database, ids: &[String], now: DateTime<Utc>) -> Result<(), Error> {
    for id in ids {
        with_conn!(db, |conn| {
            sqlx::query(
                "UPDATE flow_runs SET heartbeat_at = $1 \
                 WHERE id = $2 AND status IN ('queued', 'running')",
            )
            .bind(now)
            .bind(id)
            .execute(conn)
            .await
            .map_err(map_sqlx_error)?
            .rows_affected()
        });
    }
    Ok(())
}

/// Mark failed the queued or running runs no server vouched for since `stale_before`
/// (their server stopped or lost the database); returns how many.
pub async fn fail_abandoned(db: &Database, stale_before: DateTime<Utc>) -> Result<u64, Error> {
    Ok(with_conn!(db, |conn| {
        sqlx::query(
            "UPDATE flow_runs SET status = 'failed', finished_at = $1, \
             error = 'abandoned: the server running it stopped (no heartbeat); the next run resumes from the last committed checkpoint' \
             WHERE status IN ('queued', 'running') AND (heartbeat_at IS NULL OR heartbeat_at < $2)",
        )
        .bind(Utc::now())
        .bind(stale_before)
        .execute(conn)
        .await
        .map_err(map_sqlx_error)?
        .rows_affected()
    }))
}

/// One event of a run's log.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct RunEvent {
    /// Increasing id (page with `after`).
    pub id: i64,
    /// The run.
    pub run_id: String,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// `debug`, `info`, `warn`, `error`.
    pub level: String,
    /// What happened.
    pub message: String,
    /// Details (never secret values).
    #[schema(value_type = Option<std::collections::HashMap<String, serde_json::Value>>)]
    pub fields: Option<Value>,
}

#[derive(sqlx::FromRow)]
struct EventRow {
    id: i64,
    run_id: String,
    at: DateTime<Utc>,
    level: String,
    message: String,
    fields: Option<String>,
}

/// Append an event to a run's log.
pub async fn add_event(
    db: &Database,
    run_id: &str,
    level: &str,
    message: &str,
    fields: &Value,
) -> Result<(), Error> {
    let fields = (!fields.is_null()).then(|| fields.to_string());
    with_conn!(db, |conn| {
        sqlx::query(
            "INSERT INTO run_events (run_id, at, level, message, fields) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(run_id)
        .bind(Utc::now())
        .bind(level)
        .bind(message)
        .bind(&fields)
        .execute(conn)
        .await
        .map_err(map_sqlx_error)?
        .rows_affected()
    });
    Ok(())
}

/// Events of a run with an id above `after`, oldest first.
pub async fn events(
    db: &Database,
    run_id: &str,
    after: i64,
    limit: i64,
) -> Result<Vec<RunEvent>, Error> {
    let rows: Vec<EventRow> = with_conn!(db, |conn| {
        sqlx::query_as(
            "SELECT id, run_id, at, level, message, fields FROM run_events \
             WHERE run_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        )
        .bind(run_id)
        .bind(after)
        .bind(limit)
        .fetch_all(conn)
        .await
        .map_err(map_sqlx_error)?
    });
    rows.into_iter()
        .map(|row| {
            Ok(RunEvent {
                fields: row
                    .fields
                    .map(|text| serde_json::from_str(&text))
                    .transpose()
                    .map_err(Error::internal)?,
                id: row.id,
                run_id: row.run_id,
                at: row.at,
                level: row.level,
                message: row.message,
            })
        })
        .collect()
}

/// The error of a run that cannot be started because another run of its flow is going.
pub fn run_in_progress(active: &str) -> Error {
    Error::new(
        ErrorKind::Conflict,
        "run_in_progress",
        format!(
            "run {active} of this flow is queued or running; wait for it, cancel it, or set \
             options.allow_concurrent_runs"
        ),
    )
}

/// The run of a flow with this idempotency key, if any.
pub async fn by_idempotency_key(
    db: &Database,
    flow_id: &str,
    key: &str,
) -> Result<Option<FlowRun>, Error> {
    Ok(with_conn!(db, |conn| {
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM flow_runs WHERE flow_id = $1 AND idempotency_key = $2"
        ))
        .bind(flow_id)
        .bind(key)
        .fetch_optional(conn)
        .await
        .map_err(map_sqlx_error)?
    }))
}
