//! Dead letters (`dead_letters`): records a run could not deliver, with their reason.

use std::time::Duration;

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
            sqlx::query(INSERT_LETTER)
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

/// A run's dead letters, in order, if `scope` lets the caller see the run's flow.
pub async fn list_by_run(
    db: &Database,
    run_id: &str,
    scope: &authz::ListScope,
    page: &PageRequest,
) -> Result<Page<StoredDeadLetter>, Error> {
    let after = page.after.clone().unwrap_or_default();
    let (visible, binds) = scope.sql("flow_id", 4);
    let sql = format!(
        "SELECT {COLUMNS} FROM dead_letters WHERE run_id = $1 AND id > $2 AND {visible} \
         ORDER BY id LIMIT $3"
    );
    let rows: Vec<Row> = with_conn!(db, |conn| {
        let mut query = sqlx::query_as(&sql)
            .bind(run_id)
            .bind(&after)
            .bind(page.fetch_limit());
        for value in &binds {
            query = query.bind(value);
        }
        query.fetch_all(conn).await.map_err(map_sqlx_error)?
    });
    Ok(Page::from_rows(convert(rows)?, page, |letter| &letter.id))
}

/// A flow's dead letters, optionally in one status, in order, if `scope` lets the caller
/// see the flow.
pub async fn list_by_flow(
    db: &Database,
    flow_id: &str,
    status: Option<&str>,
    scope: &authz::ListScope,
    page: &PageRequest,
) -> Result<Page<StoredDeadLetter>, Error> {
    let after = page.after.clone().unwrap_or_default();
    let (visible, binds) = scope.sql("flow_id", 5);
    let sql = format!(
        "SELECT {COLUMNS} FROM dead_letters WHERE flow_id = $1 AND ($2 IS NULL OR status = $2) \
         AND id > $3 AND {visible} ORDER BY id LIMIT $4"
    );
    let rows: Vec<Row> = with_conn!(db, |conn| {
        let mut query = sqlx::query_as(&sql)
            .bind(flow_id)
            .bind(status)
            .bind(&after)
            .bind(page.fetch_limit());
        for value in &binds {
            query = query.bind(value);
        }
        query.fetch_all(conn).await.map_err(map_sqlx_error)?
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

/// The flow of each of the dead letters `ids` that exists: `(dead letter id, flow id)`.
pub async fn flows_of(db: &Database, ids: &[String]) -> Result<Vec<(String, String)>, Error> {
    let mut found = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let placeholders = (1..=chunk.len())
            .map(|index| format!("${index}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("SELECT id, flow_id FROM dead_letters WHERE id IN ({placeholders})");
        let rows: Vec<(String, String)> = with_conn!(db, |conn| {
            let mut query = sqlx::query_as(&sql);
            for id in chunk {
                query = query.bind(id);
            }
            query.fetch_all(conn).await.map_err(map_sqlx_error)?
        });
        found.extend(rows);
    }
    Ok(found)
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

/// How long a replay's claim on its dead letters holds without being renewed: a replay
/// renews its claims while it runs, so only the claims of a replay whose server died
/// expire (and then another replay may take the letters).
pub const CLAIM_TTL: Duration = Duration::from_secs(600);

fn claim_expiry(now: DateTime<Utc>) -> DateTime<Utc> {
    now - chrono::Duration::from_std(CLAIM_TTL).unwrap_or(chrono::Duration::MAX)
}

/// Mark a dead letter that replay `job_id` claimed replayed (and release the claim).
pub async fn mark_replayed(db: &Database, id: &str, job_id: &str) -> Result<(), Error> {
    with_conn!(db, |conn| {
        sqlx::query(
            "UPDATE dead_letters SET status = 'replayed', resolved_at = $1, claimed_by = NULL, claimed_at = NULL \
             WHERE id = $2 AND status = 'pending' AND claimed_by = $3",
        )
        .bind(Utc::now())
        .bind(id)
        .bind(job_id)
        .execute(conn)
        .await
        .map_err(map_sqlx_error)?
        .rows_affected()
    });
    Ok(())
}

/// Keep a dead letter pending with the stage, reason and mapped record of its latest
/// refusal, releasing the claim of replay `job_id`.
pub async fn refused_again(
    db: &Database,
    id: &str,
    job_id: &str,
    letter: &DeadLetter,
) -> Result<(), Error> {
    with_conn!(db, |conn| {
        sqlx::query(
            "UPDATE dead_letters SET stage = $1, reason = $2, mapped_record = $3, claimed_by = NULL, claimed_at = NULL \
             WHERE id = $4 AND status = 'pending' AND claimed_by = $5",
        )
        .bind(letter.stage.as_str())
        .bind(&letter.reason)
        .bind(letter.mapped_record.as_ref().map(Value::to_string))
        .bind(id)
        .bind(job_id)
        .execute(conn)
        .await
        .map_err(map_sqlx_error)?
        .rows_affected()
    });
    Ok(())
}

/// What a replay did with one dead letter.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ReplayItem {
    /// The dead letter.
    pub id: String,
    /// `replayed` (written), `pending` (refused again or not written; see `reason`) or
    /// `skipped` (not pending, or claimed by another replay).
    pub status: String,
    /// Why it is still pending or was skipped.
    pub reason: Option<String>,
}

/// A dead-letter replay job.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct ReplayJob {
    /// Id (UUIDv7).
    pub id: String,
    /// `running`, then `succeeded` (it went through every claimed letter: see the counts
    /// and `results`), `cancelled` (the server stopped: the letters not written stay
    /// pending) or `failed` (see `error`; also a job whose server died).
    pub status: String,
    /// Who asked for it.
    pub requested_by: Option<String>,
    /// Dead letters asked for.
    pub requested: i64,
    /// Of those, the pending letters this job claimed (and no other replay could take).
    pub claimed: i64,
    /// Written and marked replayed so far.
    pub replayed: i64,
    /// Still pending after the job tried them (refused again or not written).
    pub pending: i64,
    /// Not pending, or claimed by another replay.
    pub skipped: i64,
    /// One entry per requested letter, in request order, once the job ended.
    pub results: Vec<ReplayItem>,
    /// Why it failed or stopped.
    pub error: Option<String>,
    /// When it was asked for.
    pub created_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct ReplayRow {
    id: String,
    status: String,
    requested_by: Option<String>,
    requested: i64,
    claimed: i64,
    replayed: i64,
    pending: i64,
    skipped: i64,
    results: Option<String>,
    error: Option<String>,
    created_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
    heartbeat_at: DateTime<Utc>,
}

const REPLAY_COLUMNS: &str = "id, status, requested_by, requested, claimed, replayed, pending, skipped, results, \
    error, created_at, finished_at, heartbeat_at";

fn count(value: usize) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Create replay job `job_id` for the dead letters `ids` and claim, in one transaction,
/// those that are pending and not claimed by a live replay: a conditional update per
/// letter, so that of two replays asking for the same letter exactly one gets it. Returns
/// the ids claimed.
pub async fn start_replay(
    db: &Database,
    job_id: &str,
    requested_by: Option<&str>,
    ids: &[String],
) -> Result<Vec<String>, Error> {
    let now = Utc::now();
    let expired = claim_expiry(now);
    // One order for every replay, so that two transactions claiming overlapping letters on
    // PostgreSQL wait for each other instead of deadlocking.
    let mut sorted: Vec<&String> = ids.iter().collect();
    sorted.sort();
    sorted.dedup();
    with_tx!(db, |tx| {
        let mut claimed = Vec::new();
        for id in &sorted {
            let affected = sqlx::query(
                "UPDATE dead_letters SET claimed_by = $1, claimed_at = $2 WHERE id = $3 \
                 AND status = 'pending' AND (claimed_by IS NULL OR claimed_at < $4)",
            )
            .bind(job_id)
            .bind(now)
            .bind(*id)
            .bind(expired)
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx_error)?
            .rows_affected();
            if affected == 1 {
                claimed.push((*id).clone());
            }
        }
        sqlx::query(
            "INSERT INTO dead_letter_replays (id, status, requested_by, requested, claimed, skipped, created_at, heartbeat_at) \
             VALUES ($1, 'running', $2, $3, $4, $5, $6, $6)",
        )
        .bind(job_id)
        .bind(requested_by)
        .bind(count(ids.len()))
        .bind(count(claimed.len()))
        .bind(count(ids.len() - claimed.len()))
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(map_sqlx_error)?;
        Ok::<Vec<String>, Error>(claimed)
    })
}

/// Renew the claims of replay `job_id` and vouch for the job (it is running here).
pub async fn renew_claims(db: &Database, job_id: &str) -> Result<(), Error> {
    let now = Utc::now();
    with_tx!(db, |tx| {
        sqlx::query("UPDATE dead_letters SET claimed_at = $1 WHERE claimed_by = $2")
            .bind(now)
            .bind(job_id)
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
        sqlx::query("UPDATE dead_letter_replays SET heartbeat_at = $1 WHERE id = $2")
            .bind(now)
            .bind(job_id)
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
        Ok::<(), Error>(())
    })
}

/// Record the counters of a running replay.
pub async fn replay_progress(
    db: &Database,
    job_id: &str,
    replayed: usize,
    pending: usize,
) -> Result<(), Error> {
    with_conn!(db, |conn| {
        sqlx::query(
            "UPDATE dead_letter_replays SET replayed = $1, pending = $2, heartbeat_at = $3 WHERE id = $4",
        )
        .bind(count(replayed))
        .bind(count(pending))
        .bind(Utc::now())
        .bind(job_id)
        .execute(conn)
        .await
        .map_err(map_sqlx_error)?
        .rows_affected()
    });
    Ok(())
}

/// End replay `job_id` with `status`, its per-letter results and counters, and release the
/// claims it still holds (the letters not written stay pending).
pub async fn finish_replay(
    db: &Database,
    job_id: &str,
    status: &str,
    results: &[ReplayItem],
    error: Option<&str>,
) -> Result<(), Error> {
    let replayed = results
        .iter()
        .filter(|item| item.status == "replayed")
        .count();
    let pending = results
        .iter()
        .filter(|item| item.status == "pending")
        .count();
    let skipped = results
        .iter()
        .filter(|item| item.status == "skipped")
        .count();
    let text = serde_json::to_string(results).map_err(Error::internal)?;
    with_tx!(db, |tx| {
        sqlx::query(
            "UPDATE dead_letters SET claimed_by = NULL, claimed_at = NULL WHERE claimed_by = $1",
        )
        .bind(job_id)
        .execute(&mut *tx)
        .await
        .map_err(map_sqlx_error)?;
        sqlx::query(
            "UPDATE dead_letter_replays SET status = $1, replayed = $2, pending = $3, skipped = $4, \
             results = $5, error = $6, finished_at = $7 WHERE id = $8 AND status = 'running'",
        )
        .bind(status)
        .bind(count(replayed))
        .bind(count(pending))
        .bind(count(skipped))
        .bind(&text)
        .bind(error)
        .bind(Utc::now())
        .bind(job_id)
        .execute(&mut *tx)
        .await
        .map_err(map_sqlx_error)?;
        Ok::<(), Error>(())
    })
}

/// End a replay aborted by the server stopping: its claims are released (the letters stay
/// pending) and it is marked `cancelled`.
pub async fn abandon_replay(db: &Database, job_id: &str) -> Result<(), Error> {
    end_unfinished(
        db,
        job_id,
        "cancelled",
        "the server stopped before the replay finished; the letters not written stay pending",
    )
    .await
}

async fn end_unfinished(
    db: &Database,
    job_id: &str,
    status: &str,
    error: &str,
) -> Result<(), Error> {
    with_tx!(db, |tx| {
        sqlx::query(
            "UPDATE dead_letters SET claimed_by = NULL, claimed_at = NULL WHERE claimed_by = $1",
        )
        .bind(job_id)
        .execute(&mut *tx)
        .await
        .map_err(map_sqlx_error)?;
        sqlx::query(
            "UPDATE dead_letter_replays SET status = $1, error = $2, finished_at = $3 WHERE id = $4 AND status = 'running'",
        )
        .bind(status)
        .bind(error)
        .bind(Utc::now())
        .bind(job_id)
        .execute(&mut *tx)
        .await
        .map_err(map_sqlx_error)?;
        Ok::<(), Error>(())
    })
}

/// The replay job `id`, or `NotFound`. A job still `running` that nobody vouched for in
/// [`CLAIM_TTL`] (its server died) is failed now, and its claims released.
pub async fn get_replay(db: &Database, id: &str) -> Result<ReplayJob, Error> {
    let fetch = || async {
        let row: Option<ReplayRow> = with_conn!(db, |conn| {
            sqlx::query_as(&format!(
                "SELECT {REPLAY_COLUMNS} FROM dead_letter_replays WHERE id = $1"
            ))
            .bind(id)
            .fetch_optional(conn)
            .await
            .map_err(map_sqlx_error)?
        });
        row.ok_or_else(|| Error::not_found("replay", id))
    };
    let mut row = fetch().await?;
    if row.status == "running" && row.heartbeat_at < claim_expiry(Utc::now()) {
        end_unfinished(
            db,
            id,
            "failed",
            "abandoned: the server running the replay stopped; the letters not written stay pending",
        )
        .await?;
        row = fetch().await?;
    }
    Ok(ReplayJob {
        results: row
            .results
            .map(|text| serde_json::from_str(&text))
            .transpose()
            .map_err(Error::internal)?
            .unwrap_or_default(),
        id: row.id,
        status: row.status,
        requested_by: row.requested_by,
        requested: row.requested,
        claimed: row.claimed,
        replayed: row.replayed,
        pending: row.pending,
        skipped: row.skipped,
        error: row.error,
        created_at: row.created_at,
        finished_at: row.finished_at,
    })
}

/// Discard pending dead letters that no live replay has claimed; returns how many changed.
pub async fn discard(db: &Database, ids: &[String]) -> Result<u64, Error> {
    let now = Utc::now();
    let expired = claim_expiry(now);
    with_tx!(db, |tx| {
        let mut changed = 0;
        for id in ids {
            changed += sqlx::query(
                "UPDATE dead_letters SET status = 'discarded', resolved_at = $1 WHERE id = $2 AND status = 'pending' \
                 AND (claimed_by IS NULL OR claimed_at < $3)",
            )
            .bind(now)
            .bind(id)
            .bind(expired)
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx_error)?
            .rows_affected();
        }
        Ok::<u64, Error>(changed)
    })
}

const INSERT_LETTER: &str = "INSERT INTO dead_letters (id, run_id, flow_id, stage, record, mapped_record, reason, status, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8)";

/// Stage the dead letters of the batch a target is committing with `checkpoint`
/// (`staged_dead_letters`), replacing what the flow had staged; no letters clears it.
pub async fn stage(
    db: &Database,
    run_id: &str,
    flow_id: &str,
    checkpoint: &Value,
    letters: &[DeadLetter],
) -> Result<(), Error> {
    if letters.is_empty() {
        with_conn!(db, |conn| {
            sqlx::query("DELETE FROM staged_dead_letters WHERE flow_id = $1")
                .bind(flow_id)
                .execute(conn)
                .await
                .map_err(map_sqlx_error)?
                .rows_affected()
        });
        return Ok(());
    }
    let text = serde_json::to_string(letters).map_err(Error::internal)?;
    let checkpoint = checkpoint.to_string();
    with_conn!(db, |conn| {
        sqlx::query(
            "INSERT INTO staged_dead_letters (flow_id, run_id, checkpoint, letters, staged_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (flow_id) DO UPDATE SET \
             run_id = excluded.run_id, checkpoint = excluded.checkpoint, \
             letters = excluded.letters, staged_at = excluded.staged_at",
        )
        .bind(flow_id)
        .bind(run_id)
        .bind(&checkpoint)
        .bind(&text)
        .bind(Utc::now())
        .execute(conn)
        .await
        .map_err(map_sqlx_error)?
        .rows_affected()
    });
    Ok(())
}

/// The checkpoint of the flow's staged dead letters, if any are staged.
pub async fn staged_checkpoint(db: &Database, flow_id: &str) -> Result<Option<Value>, Error> {
    let text: Option<String> = with_conn!(db, |conn| {
        sqlx::query_scalar("SELECT checkpoint FROM staged_dead_letters WHERE flow_id = $1")
            .bind(flow_id)
            .fetch_optional(conn)
            .await
            .map_err(map_sqlx_error)?
    });
    text.map(|text| serde_json::from_str(&text).map_err(Error::internal))
        .transpose()
}

/// Settle the flow's staged dead letters in one transaction: moved into `dead_letters`
/// (pending, under the run that staged them) when `committed`, dropped otherwise. Returns
/// how many were moved. The row is taken with `DELETE ... RETURNING`, so two servers
/// settling at once move the letters once.
pub async fn settle_staged(db: &Database, flow_id: &str, committed: bool) -> Result<u64, Error> {
    let now = Utc::now();
    with_tx!(db, |tx| {
        let staged: Option<(String, String)> = sqlx::query_as(
            "DELETE FROM staged_dead_letters WHERE flow_id = $1 RETURNING run_id, letters",
        )
        .bind(flow_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_sqlx_error)?;
        let mut moved = 0u64;
        if let Some((run_id, text)) = staged.filter(|_| committed) {
            let letters: Vec<DeadLetter> = serde_json::from_str(&text).map_err(Error::internal)?;
            for letter in &letters {
                sqlx::query(INSERT_LETTER)
                    .bind(kernel::new_id())
                    .bind(&run_id)
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
            moved = letters.len() as u64;
        }
        Ok::<u64, Error>(moved)
    })
}
