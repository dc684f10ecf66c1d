//! Dead letters (`dead_letters`): records a run could not deliver, with their reason.

use chrono::{DateTime, Utc};
use flow_engine::DeadLetter;
use kernel::{Error, Page, PageRequest};
use serde_json::Value;
use storage::{Database, map_sqlx_error, with_conn, with_tx};

/// A stored dead letter.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct StoredDeadLetter {
    /// Id (UUIDv7).
    pub id: String,
    /// The run that refused it.
    pub run_id: String,
    /// Its flow.
    pub flow_id: String,
    /// `mapping` (the mapping failed) or `target` (the target refused the mapped record).
    pub stage: String,
    /// The record as read from the source (what a replay maps again).
    #[schema(value_type = std::collections::HashMap<String, serde_json::Value>)]
    pub record: Value,
    /// The mapped record (stage `target`).
    #[schema(value_type = Option<std::collections::HashMap<String, serde_json::Value>>)]
    pub mapped_record: Option<Value>,
    /// Why it was refused (the latest reason after a failed replay).
    pub reason: String,
    /// `pending`, `replayed` or `discarded`.
    pub status: String,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
    /// When it was replayed or discarded.
    pub resolved_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    run_id: String,
    flow_id: String,
    stage: String,
    record: String,
    mapped_record: Option<String>,
    reason: String,
    status: String,
    created_at: DateTime<Utc>,
    resolved_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str =
    "id, run_id, flow_id, stage, record, mapped_record, reason, status, created_at, resolved_at";

impl TryFrom<Row> for StoredDeadLetter {
    type Error = Error;

    fn try_from(row: Row) -> Result<Self, Error> {
        Ok(Self {
            record: serde_json::from_str(&row.record).map_err(Error::internal)?,
            mapped_record: row
                .mapped_record
                .map(|text| serde_json::from_str(&text))
                .transpose()
                .map_err(Error::internal)?,
            id: row.id,
            run_id: row.run_id,
            flow_id: row.flow_id,
            stage: row.stage,
            reason: row.reason,
            status: row.status,
            created_at: row.created_at,
            resolved_at: row.resolved_at,
        })
    }
}

fn convert(rows: Vec<Row>) -> Result<Vec<StoredDeadLetter>, Error> {
    rows.into_iter().map(StoredDeadLetter::try_from).collect()
}

/// Store a run's dead letters in one transaction.
pub async fn insert(
    db: &Database,
    run_id: &str,
    flow_id: &str,
    letters: &[DeadLetter],
) -> Result<(), Error> {
    let now = Utc::now();
    with_tx!(db, |tx| {
        for letter in letters {
            sqlx::query(
                "INSERT INTO dead_letters (id, run_id, flow_id, stage, record, mapped_record, reason, status, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8)",
            )
            .bind(kernel::new_id())
            .bind(run_id)
            .bind(flow_id)
            .bind(letter.stage.as_str())
            .bind(letter.source_record.to_string())
            .bind(letter.mapped_record.as_ref().map(Value::to_string))
            .bind(&letter.reason)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
        }
        Ok::<(), Error>(())
    })
}

/// A run's dead letters, in order.
pub async fn list_by_run(
    db: &Database,
    run_id: &str,
    page: &PageRequest,
) -> Result<Page<StoredDeadLetter>, Error> {
    let after = page.after.clone().unwrap_or_default();
    let rows: Vec<Row> = with_conn!(db, |conn| {
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM dead_letters WHERE run_id = $1 AND id > $2 ORDER BY id LIMIT $3"
        ))
        .bind(run_id)
        .bind(&after)
        .bind(page.fetch_limit())
        .fetch_all(conn)
        .await
        .map_err(map_sqlx_error)?
    });
    Ok(Page::from_rows(convert(rows)?, page, |letter| &letter.id))
}

/// A flow's dead letters, optionally in one status, in order.
pub async fn list_by_flow(
    db: &Database,
    flow_id: &str,
    status: Option<&str>,
    page: &PageRequest,
) -> Result<Page<StoredDeadLetter>, Error> {
    let after = page.after.clone().unwrap_or_default();
    let rows: Vec<Row> = with_conn!(db, |conn| {
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM dead_letters WHERE flow_id = $1 AND ($2 IS NULL OR status = $2) \
             AND id > $3 ORDER BY id LIMIT $4"
        ))
        .bind(flow_id)
        .bind(status)
        .bind(&after)
        .bind(page.fetch_limit())
        .fetch_all(conn)
        .await
        .map_err(map_sqlx_error)?
    });
    Ok(Page::from_rows(convert(rows)?, page, |letter| &letter.id))
}

/// The dead letter `id`, if it exists.
pub async fn get(db: &Database, id: &str) -> Result<Option<StoredDeadLetter>, Error> {
    let row: Option<Row> = with_conn!(db, |conn| {
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM dead_letters WHERE id = $1"))
            .bind(id)
            .fetch_optional(conn)
            .await
            .map_err(map_sqlx_error)?
    });
    row.map(StoredDeadLetter::try_from).transpose()
}

/// Up to `limit` pending dead letters of a flow, oldest first.
pub async fn pending_of_flow(
    db: &Database,
    flow_id: &str,
    limit: i64,
) -> Result<Vec<StoredDeadLetter>, Error> {
    let rows: Vec<Row> = with_conn!(db, |conn| {
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM dead_letters WHERE flow_id = $1 AND status = 'pending' ORDER BY id LIMIT $2"
        ))
        .bind(flow_id)
        .bind(limit)
        .fetch_all(conn)
        .await
        .map_err(map_sqlx_error)?
    });
    convert(rows)
}

/// Mark a pending dead letter replayed.
pub async fn mark_replayed(db: &Database, id: &str) -> Result<(), Error> {
    with_conn!(db, |conn| {
        sqlx::query(
            "UPDATE dead_letters SET status = 'replayed', resolved_at = $1 WHERE id = $2 AND status = 'pending'",
        )
        .bind(Utc::now())
        .bind(id)
        .execute(conn)
        .await
        .map_err(map_sqlx_error)?
        .rows_affected()
    });
    Ok(())
}

/// Keep a dead letter pending with the stage, reason and mapped record of its latest
/// refusal.
pub async fn refused_again(db: &Database, id: &str, letter: &DeadLetter) -> Result<(), Error> {
    with_conn!(db, |conn| {
        sqlx::query(
            "UPDATE dead_letters SET stage = $1, reason = $2, mapped_record = $3 WHERE id = $4 AND status = 'pending'",
        )
        .bind(letter.stage.as_str())
        .bind(&letter.reason)
        .bind(letter.mapped_record.as_ref().map(Value::to_string))
        .bind(id)
        .execute(conn)
        .await
        .map_err(map_sqlx_error)?
        .rows_affected()
    });
    Ok(())
}

/// Discard pending dead letters; returns how many changed.
pub async fn discard(db: &Database, ids: &[String]) -> Result<u64, Error> {
    let now = Utc::now();
    with_tx!(db, |tx| {
        let mut changed = 0;
        for id in ids {
            changed += sqlx::query(
                "UPDATE dead_letters SET status = 'discarded', resolved_at = $1 WHERE id = $2 AND status = 'pending'",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx_error)?
            .rows_affected();
        }
        Ok::<u64, Error>(changed)
    })
}
