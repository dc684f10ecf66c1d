//! Dead letters: list (by run, by flow), replay with the flow's current mapping (a
//! background job that claims its letters), discard.

use std::collections::BTreeMap;
use std::sync::Arc;

use api::openapi::{CommonErrors, NotFound};
use api::{ApiJson, ApiQuery, ApiResult, PageQuery, PageResponse};
use authz::{Guard, ObjectRef, ObjectType};
use axum::extract::{Path, State};
use axum::response::{IntoResponse as _, Response};
use flow_engine::{ConnectorRef, ReplayRecord, ReplayRecordOutcome, ReplayRequest};
use http::{StatusCode, header};
use kernel::{Error, ErrorKind, FieldError, PageRequest};
use tokio_util::sync::CancellationToken;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{InteropState, flow_object};
use crate::dead_letter_store::{self, ReplayItem, ReplayJob, StoredDeadLetter};
use crate::flow_store;

/// Most dead letters one replay or discard takes.
const MAX_BATCH: usize = 1000;

pub(super) fn router() -> OpenApiRouter<InteropState> {
    OpenApiRouter::new()
        .routes(routes!(run_dead_letters))
        .routes(routes!(flow_dead_letters))
        .routes(routes!(replay_dead_letters))
        .routes(routes!(get_replay))
        .routes(routes!(discard_dead_letters))
}

/// A run's dead letters: the rejected records with their stage, reason and status.
#[utoipa::path(
    get, path = "/api/v1/interop/runs/{id}/dead-letters", tag = "dead letters",
    params(("id" = String, Path, description = "Run id"), PageQuery),
    security(("bearer" = [])),
    responses((status = 200, body = PageResponse<StoredDeadLetter>), NotFound, CommonErrors)
)]
async fn run_dead_letters(
    State(state): State<InteropState>,
    guard: Guard,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<ApiJson<PageResponse<StoredDeadLetter>>> {
    let page = query.to_request()?;
    super::runs::visible_run(&state, &guard, &id).await?;
    let scope = guard.scope(ObjectType::Flow, "view").await?;
    Ok(ApiJson(
        dead_letter_store::list_by_run(&state.db, &id, &scope, &page)
            .await?
            .into(),
    ))
}

/// Filters of a flow's dead letters.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FlowDeadLetterQuery {
    /// Only this status: `pending`, `replayed`, `discarded`.
    #[param(schema_with = dead_letter_status_schema)]
    pub status: Option<String>,
    /// Items per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page (empty: the first page).
    #[param(pattern = "^[A-Za-z0-9_-]*$", format = "grimos-cursor")]
    pub cursor: Option<String>,
}

fn dead_letter_status_schema() -> utoipa::openapi::schema::Object {
    api::openapi::string_enum(&["pending", "replayed", "discarded"])
}

/// A flow's dead letters, oldest first, optionally in one status.
#[utoipa::path(
    get, path = "/api/v1/interop/flows/{id}/dead-letters", tag = "dead letters",
    params(("id" = String, Path, description = "Flow id"), FlowDeadLetterQuery),
    security(("bearer" = [])),
    responses((status = 200, body = PageResponse<StoredDeadLetter>), NotFound, CommonErrors)
)]
async fn flow_dead_letters(
    State(state): State<InteropState>,
    guard: Guard,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<FlowDeadLetterQuery>,
) -> ApiResult<ApiJson<PageResponse<StoredDeadLetter>>> {
    guard.require("view", &flow_object(&id)).await?;
    if let Some(status) = &query.status
        && !["pending", "replayed", "discarded"].contains(&status.as_str())
    {
        return Err(
            Error::invalid_field("/status", "must be pending, replayed or discarded").into(),
        );
    }
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    flow_store::get(&state.db, &id).await?;
    let scope = guard.scope(ObjectType::Flow, "view").await?;
    Ok(ApiJson(
        dead_letter_store::list_by_flow(&state.db, &id, query.status.as_deref(), &scope, &page)
            .await?
            .into(),
    ))
}

/// Which dead letters to replay: `ids`, or every pending one of `flow_id` (at most 1000).
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayBody {
    /// Dead letter ids (1 to 1000, no duplicates).
    #[serde(default)]
    #[schema(min_items = 1, max_items = 1000)]
    pub ids: Option<Vec<String>>,
    /// Or: all pending dead letters of this flow (the oldest 1000).
    #[serde(default)]
    pub flow_id: Option<String>,
}

/// A replay job accepted.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ReplayAccepted {
    /// The job id: follow it at `/api/v1/interop/dead-letters/replays/{id}`.
    pub id: String,
    /// `running`.
    pub status: String,
    /// Dead letters asked for.
    pub requested: usize,
    /// The pending letters this job claimed: it alone writes them.
    pub claimed: usize,
    /// Not pending, or claimed by another replay (see the job's `results`).
    pub skipped: usize,
}

/// Replay dead letters as a background job: map each source record again with the flow's
/// CURRENT mapping and write it to the flow's target. The job first claims the pending
/// letters (a conditional update each, so two replays asking for the same letters write
/// each of them once; a letter claimed by another replay, or not pending, is skipped),
/// then answers `202` with the job's id and `Location`. Written letters become `replayed`;
/// refused ones stay `pending` with their new stage and reason. Follow the job with
/// `GET /api/v1/interop/dead-letters/replays/{id}`. Needs `run` on the flow of every
/// letter; letters of flows the caller may not see are answered as letters that do not
/// exist.
#[utoipa::path(
    post, path = "/api/v1/interop/dead-letters/replay", tag = "dead letters",
    request_body = ReplayBody,
    security(("bearer" = [])),
    responses(
        (status = 202, body = ReplayAccepted, headers(("Location" = String)), description = "The job runs; follow it at Location"),
        (status = 503, body = api::Problem, content_type = "application/problem+json", description = "The server is stopping (`unavailable`), or the database is down"),
        CommonErrors
    )
)]
async fn replay_dead_letters(
    State(state): State<InteropState>,
    guard: Guard,
    ApiJson(body): ApiJson<ReplayBody>,
) -> ApiResult<Response> {
    let principal = guard.principal();
    let letters = match (body.ids, body.flow_id) {
        (Some(ids), None) => {
            if ids.is_empty() || ids.len() > MAX_BATCH {
                return Err(
                    Error::invalid_field("/ids", format!("give 1 to {MAX_BATCH} ids")).into(),
                );
            }
            let mut letters = Vec::with_capacity(ids.len());
            let mut errors = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for (index, id) in ids.iter().enumerate() {
                if !seen.insert(id.as_str()) {
                    errors.push(FieldError::new(format!("/ids/{index}"), "listed twice"));
                    continue;
                }
                match dead_letter_store::get(&state.db, id).await? {
                    Some(letter) if guard.allows("view", &flow_object(&letter.flow_id)).await? => {
                        letters.push(letter);
                    }
                    _ => errors.push(FieldError::new(
                        format!("/ids/{index}"),
                        "no dead letter with this id",
                    )),
                }
            }
            if !errors.is_empty() {
                return Err(Error::validation(errors).into());
            }
            let flows: std::collections::BTreeSet<&str> = letters
                .iter()
                .map(|letter| letter.flow_id.as_str())
                .collect();
            for flow_id in flows {
                guard.require("run", &flow_object(flow_id)).await?;
            }
            letters
        }
        (None, Some(flow_id)) => {
            let object = flow_object(&flow_id);
            if flow_store::get(&state.db, &flow_id).await.is_err()
                || !guard.allows("view", &object).await?
            {
                return Err(Error::invalid_field("/flow_id", "no flow with this id").into());
            }
            guard.require("run", &object).await?;
            dead_letter_store::pending_of_flow(&state.db, &flow_id, MAX_BATCH as i64).await?
        }
        _ => {
            return Err(Error::invalid_field("/ids", "give either `ids` or `flow_id`").into());
        }
    };
    if state.runs.is_stopping() {
        return Err(Error::new(
            ErrorKind::Unavailable,
            "unavailable",
            "the server is stopping; send the replay again (to another server)",
        )
        .into());
    }
    let job_id = kernel::new_id();
    let ids: Vec<String> = letters.iter().map(|letter| letter.id.clone()).collect();
    let claimed =
        dead_letter_store::start_replay(&state.db, &job_id, Some(principal.subject.as_str()), &ids)
            .await?;
    api::audit::record(principal, "dead_letters.replay", "replay", &job_id);
    let accepted = ReplayAccepted {
        id: job_id.clone(),
        status: "running".into(),
        requested: ids.len(),
        claimed: claimed.len(),
        skipped: ids.len() - claimed.len(),
    };
    let job_state = state.clone();
    let id = job_id.clone();
    state.runs.spawn_replay(&job_id, move |cancel| async move {
        run_replay(&job_state, &id, letters, claimed, cancel).await;
    });
    Ok((
        StatusCode::ACCEPTED,
        [(
            header::LOCATION,
            format!("/api/v1/interop/dead-letters/replays/{job_id}"),
        )],
        ApiJson(accepted),
    )
        .into_response())
}

/// A replay job: its counts and, once it ended, one result per requested dead letter.
/// Shown to whoever started it and to roles that read everything (else 404).
#[utoipa::path(
    get, path = "/api/v1/interop/dead-letters/replays/{id}", tag = "dead letters",
    params(("id" = String, Path, description = "Replay job id")),
    security(("bearer" = [])),
    responses((status = 200, body = ReplayJob), NotFound, CommonErrors)
)]
async fn get_replay(
    State(state): State<InteropState>,
    guard: Guard,
    Path(id): Path<String>,
) -> ApiResult<ApiJson<ReplayJob>> {
    let job = dead_letter_store::get_replay(&state.db, &id).await?;
    let requester = job.requested_by.as_deref() == Some(guard.principal().subject.as_str());
    if !requester && !guard.allows("read", &ObjectRef::platform()).await? {
        return Err(Error::not_found("replay", &id).into());
    }
    Ok(ApiJson(job))
}

/// The job: replay the claimed letters flow by flow, renewing the claims while it runs,
/// then store the results and release what it still holds.
async fn run_replay(
    state: &InteropState,
    job_id: &str,
    letters: Vec<StoredDeadLetter>,
    claimed: Vec<String>,
    cancel: CancellationToken,
) {
    let db = &state.db;
    let claimed: std::collections::HashSet<String> = claimed.into_iter().collect();
    let mut results: BTreeMap<String, ReplayItem> = BTreeMap::new();
    let mut by_flow: BTreeMap<String, Vec<StoredDeadLetter>> = BTreeMap::new();
    for letter in &letters {
        if claimed.contains(&letter.id) {
            by_flow
                .entry(letter.flow_id.clone())
                .or_default()
                .push(letter.clone());
        } else {
            let reason = if letter.status == "pending" {
                "another replay has claimed it (or it was resolved meanwhile)".to_owned()
            } else {
                format!("the dead letter is {}", letter.status)
            };
            results.insert(
                letter.id.clone(),
                ReplayItem {
                    id: letter.id.clone(),
                    status: "skipped".into(),
                    reason: Some(reason),
                },
            );
        }
    }
    // Renew the claims while the job runs, so that they expire only if this server dies.
    let renewing = CancellationToken::new();
    let renewer = {
        let db = db.clone();
        let renewing = renewing.clone();
        let job_id = job_id.to_owned();
        tokio::spawn(async move {
            crate::run_manager::every(&renewing, dead_letter_store::CLAIM_TTL / 4, || async {
                if let Err(error) = dead_letter_store::renew_claims(&db, &job_id).await {
                    tracing::warn!(error = %error.message(), "could not renew the claims of a replay");
                }
            })
            .await;
        })
    };
    let (mut replayed, mut pending) = (0, 0);
    for (flow_id, group) in by_flow {
        let items = match replay_flow(state, &flow_id, &group, job_id, &cancel).await {
            Ok(items) => items,
            Err(reason) => group
                .into_iter()
                .map(|letter| ReplayItem {
                    id: letter.id,
                    status: "pending".into(),
                    reason: Some(reason.clone()),
                })
                .collect(),
        };
        for item in items {
            match item.status.as_str() {
                "replayed" => replayed += 1,
                _ => pending += 1,
            }
            results.insert(item.id.clone(), item);
        }
        if let Err(error) = dead_letter_store::replay_progress(db, job_id, replayed, pending).await
        {
            tracing::warn!(error = %error.message(), "could not record the progress of a replay");
        }
    }
    renewing.cancel();
    let _ = renewer.await;
    let results: Vec<ReplayItem> = letters
        .iter()
        .filter_map(|letter| results.remove(&letter.id))
        .collect();
    let (status, error) = if cancel.is_cancelled() {
        (
            "cancelled",
            Some("the server stopped; the letters not written stay pending"),
        )
    } else {
        ("succeeded", None)
    };
    if let Err(error) = dead_letter_store::finish_replay(db, job_id, status, &results, error).await
    {
        tracing::error!(error = %error.message(), "could not record the end of a replay");
    }
}

/// Replay one flow's claimed dead letters and record each outcome.
async fn replay_flow(
    state: &InteropState,
    flow_id: &str,
    letters: &[StoredDeadLetter],
    job_id: &str,
    cancel: &CancellationToken,
) -> Result<Vec<ReplayItem>, String> {
    let spec = flow_store::get(&state.db, flow_id)
        .await
        .and_then(|flow| flow.spec())
        .map_err(|error| error.message().to_owned())?;
    let ConnectorRef::Named(target_id) = &spec.target.connector else {
        return Err("the flow's target is not a stored connector".into());
    };
    // A replay writes with the authority the flow's runs have: its owner's.
    let owner = crate::connector_access::flow_owner(&state.db, flow_id)
        .await
        .map_err(|error| error.message().to_owned())?;
    let target = state.runs.connect(target_id, &owner).await?;
    let mapping = crate::flow_mapping::compile(&state.db, &spec)
        .await
        .map_err(|errors| {
            let details: Vec<String> = errors
                .iter()
                .map(|error| format!("{}: {}", error.path, error.message))
                .collect();
            format!(
                "the flow's mapping does not compile: {}",
                details.join("; ")
            )
        })?;
    let outcome = flow_engine::replay(ReplayRequest {
        target: Arc::clone(&target),
        target_stream: spec.target.stream.clone(),
        mode: spec.target.mode,
        mapping,
        records: letters
            .iter()
            .map(|letter| ReplayRecord {
                id: letter.id.clone(),
                source_record: letter.record.clone(),
            })
            .collect(),
        batch_size: spec.options.batch_size,
        max_attempts: spec.options.max_attempts,
        cancel: cancel.clone(),
    })
    .await;
    let mut items = Vec::with_capacity(outcome.results.len());
    for result in outcome.results {
        let item = match result.outcome {
            ReplayRecordOutcome::Written => {
                dead_letter_store::mark_replayed(&state.db, &result.id, job_id)
                    .await
                    .map_err(|error| error.message().to_owned())?;
                ReplayItem {
                    id: result.id,
                    status: "replayed".into(),
                    reason: None,
                }
            }
            ReplayRecordOutcome::Rejected { dead_letter } => {
                dead_letter_store::refused_again(&state.db, &result.id, job_id, &dead_letter)
                    .await
                    .map_err(|error| error.message().to_owned())?;
                ReplayItem {
                    id: result.id,
                    status: "pending".into(),
                    reason: Some(dead_letter.reason),
                }
            }
            ReplayRecordOutcome::NotWritten { reason } => ReplayItem {
                id: result.id,
                status: "pending".into(),
                reason: Some(reason),
            },
        };
        items.push(item);
    }
    Ok(items)
}

/// Which dead letters to discard.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscardBody {
    /// Dead letter ids (1 to 1000); only pending ones change.
    #[schema(min_items = 1, max_items = 1000)]
    pub ids: Vec<String>,
}

/// How many were discarded.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DiscardReport {
    /// Pending dead letters now discarded.
    pub discarded: u64,
}

/// Discard pending dead letters (they stay listed with status `discarded`). Needs `run` on
/// the flow of every letter; letters of flows the caller may not see are left alone, like
/// ids that do not exist.
#[utoipa::path(
    post, path = "/api/v1/interop/dead-letters/discard", tag = "dead letters",
    request_body = DiscardBody,
    security(("bearer" = [])),
    responses((status = 200, body = DiscardReport), CommonErrors)
)]
async fn discard_dead_letters(
    State(state): State<InteropState>,
    guard: Guard,
    ApiJson(body): ApiJson<DiscardBody>,
) -> ApiResult<ApiJson<DiscardReport>> {
    if body.ids.is_empty() || body.ids.len() > MAX_BATCH {
        return Err(Error::invalid_field("/ids", format!("give 1 to {MAX_BATCH} ids")).into());
    }
    let mut by_flow: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (id, flow_id) in dead_letter_store::flows_of(&state.db, &body.ids).await? {
        by_flow.entry(flow_id).or_default().push(id);
    }
    let mut ids = Vec::with_capacity(body.ids.len());
    for (flow_id, letters) in by_flow {
        let object = flow_object(&flow_id);
        if guard.allows("view", &object).await? {
            guard.require("run", &object).await?;
            ids.extend(letters);
        }
    }
    let discarded = dead_letter_store::discard(&state.db, &ids).await?;
    let principal = guard.principal();
    for id in &ids {
        api::audit::record(principal, "dead_letter.discard", "dead_letter", id);
    }
    Ok(ApiJson(DiscardReport { discarded }))
}
