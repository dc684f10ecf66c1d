//! Dead letters: list (by run, by flow), replay with the flow's current mapping, discard.

use std::collections::BTreeMap;
use std::sync::Arc;

use api::openapi::{CommonErrors, NotFound};
use api::{ApiJson, ApiQuery, ApiResult, Caller, PageQuery, PageResponse};
use axum::extract::{Path, State};
use flow_engine::{ConnectorRef, ReplayRecord, ReplayRecordOutcome, ReplayRequest};
use kernel::{Access, Error, FieldError, PageRequest};
use tokio_util::sync::CancellationToken;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::InteropState;
use crate::dead_letter_store::{self, StoredDeadLetter};
use crate::{flow_store, run_store};

/// Most dead letters one replay or discard takes.
const MAX_BATCH: usize = 1000;

pub(super) fn router() -> OpenApiRouter<InteropState> {
    OpenApiRouter::new()
        .routes(routes!(run_dead_letters))
        .routes(routes!(flow_dead_letters))
        .routes(routes!(replay_dead_letters))
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
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<ApiJson<PageResponse<StoredDeadLetter>>> {
    caller.require(Access::Read)?;
    let page = query.to_request()?;
    run_store::get(&state.db, &id).await?;
    Ok(ApiJson(
        dead_letter_store::list_by_run(&state.db, &id, &page)
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
    pub status: Option<String>,
    /// Items per page, 1 to 500 (default 50).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
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
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<FlowDeadLetterQuery>,
) -> ApiResult<ApiJson<PageResponse<StoredDeadLetter>>> {
    caller.require(Access::Read)?;
    if let Some(status) = &query.status
        && !["pending", "replayed", "discarded"].contains(&status.as_str())
    {
        return Err(
            Error::invalid_field("/status", "must be pending, replayed or discarded").into(),
        );
    }
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    flow_store::get(&state.db, &id).await?;
    Ok(ApiJson(
        dead_letter_store::list_by_flow(&state.db, &id, query.status.as_deref(), &page)
            .await?
            .into(),
    ))
}

/// Which dead letters to replay: `ids`, or every pending one of `flow_id` (at most 1000).
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayBody {
    /// Dead letter ids.
    #[serde(default)]
    pub ids: Option<Vec<String>>,
    /// Or: all pending dead letters of this flow.
    #[serde(default)]
    pub flow_id: Option<String>,
}

/// What happened to one dead letter.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ReplayItem {
    /// The dead letter.
    pub id: String,
    /// `replayed` (written), `pending` (refused again or not written; see `reason`) or
    /// `skipped` (not pending).
    pub status: String,
    /// Why it is still pending or was skipped.
    pub reason: Option<String>,
}

/// The result of a replay.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ReplayReport {
    /// Written and marked replayed.
    pub replayed: u64,
    /// Still pending.
    pub pending: u64,
    /// One entry per requested dead letter.
    pub results: Vec<ReplayItem>,
}

/// Replay dead letters: map each source record again with the flow's CURRENT mapping and
/// write it to the flow's target. Written ones are marked `replayed`; refused ones stay
/// `pending` with their new stage and reason.
#[utoipa::path(
    post, path = "/api/v1/interop/dead-letters/replay", tag = "dead letters",
    request_body = ReplayBody,
    security(("bearer" = [])),
    responses((status = 200, body = ReplayReport), CommonErrors)
)]
async fn replay_dead_letters(
    State(state): State<InteropState>,
    caller: Caller,
    ApiJson(body): ApiJson<ReplayBody>,
) -> ApiResult<ApiJson<ReplayReport>> {
    let principal = caller.require(Access::Operate)?;
    let letters = match (body.ids, body.flow_id) {
        (Some(ids), None) => {
            if ids.is_empty() || ids.len() > MAX_BATCH {
                return Err(
                    Error::invalid_field("/ids", format!("give 1 to {MAX_BATCH} ids")).into(),
                );
            }
            let mut letters = Vec::with_capacity(ids.len());
            let mut errors = Vec::new();
            for (index, id) in ids.iter().enumerate() {
                match dead_letter_store::get(&state.db, id).await? {
                    Some(letter) => letters.push(letter),
                    None => errors.push(FieldError::new(
                        format!("/ids/{index}"),
                        "no dead letter with this id",
                    )),
                }
            }
            if !errors.is_empty() {
                return Err(Error::validation(errors).into());
            }
            letters
        }
        (None, Some(flow_id)) => {
            flow_store::get(&state.db, &flow_id)
                .await
                .map_err(|_| Error::invalid_field("/flow_id", "no flow with this id"))?;
            dead_letter_store::pending_of_flow(&state.db, &flow_id, MAX_BATCH as i64).await?
        }
        _ => {
            return Err(Error::invalid_field("/ids", "give either `ids` or `flow_id`").into());
        }
    };
    let mut results: BTreeMap<String, ReplayItem> = BTreeMap::new();
    let mut by_flow: BTreeMap<String, Vec<StoredDeadLetter>> = BTreeMap::new();
    for letter in &letters {
        if letter.status == "pending" {
            by_flow
                .entry(letter.flow_id.clone())
                .or_default()
                .push(letter.clone());
        } else {
            results.insert(
                letter.id.clone(),
                ReplayItem {
                    id: letter.id.clone(),
                    status: "skipped".into(),
                    reason: Some(format!("the dead letter is {}", letter.status)),
                },
            );
        }
    }
    for (flow_id, group) in by_flow {
        let outcome = replay_flow(&state, &flow_id, &group).await;
        match outcome {
            Err(reason) => {
                for letter in group {
                    results.insert(
                        letter.id.clone(),
                        ReplayItem {
                            id: letter.id,
                            status: "pending".into(),
                            reason: Some(reason.clone()),
                        },
                    );
                }
            }
            Ok(items) => {
                for item in items {
                    results.insert(item.id.clone(), item);
                }
            }
        }
        api::audit::record(principal, "dead_letters.replay", "flow", &flow_id);
    }
    let results: Vec<ReplayItem> = letters
        .iter()
        .filter_map(|letter| results.remove(&letter.id))
        .collect();
    let replayed = results
        .iter()
        .filter(|item| item.status == "replayed")
        .count() as u64;
    let pending = results
        .iter()
        .filter(|item| item.status == "pending")
        .count() as u64;
    Ok(ApiJson(ReplayReport {
        replayed,
        pending,
        results,
    }))
}

/// Replay one flow's pending dead letters and record each outcome.
async fn replay_flow(
    state: &InteropState,
    flow_id: &str,
    letters: &[StoredDeadLetter],
) -> Result<Vec<ReplayItem>, String> {
    let spec = flow_store::get(&state.db, flow_id)
        .await
        .and_then(|flow| flow.spec())
        .map_err(|error| error.message().to_owned())?;
    let ConnectorRef::Named(target_id) = &spec.target.connector else {
        return Err("the flow's target is not a stored connector".into());
    };
    let target = state.runs.connect(target_id).await?;
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
        cancel: CancellationToken::new(),
    })
    .await;
    let mut items = Vec::with_capacity(outcome.results.len());
    for result in outcome.results {
        let item = match result.outcome {
            ReplayRecordOutcome::Written => {
                dead_letter_store::mark_replayed(&state.db, &result.id)
                    .await
                    .map_err(|error| error.message().to_owned())?;
                ReplayItem {
                    id: result.id,
                    status: "replayed".into(),
                    reason: None,
                }
            }
            ReplayRecordOutcome::Rejected { dead_letter } => {
                dead_letter_store::refused_again(&state.db, &result.id, &dead_letter)
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
    pub ids: Vec<String>,
}

/// How many were discarded.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DiscardReport {
    /// Pending dead letters now discarded.
    pub discarded: u64,
}

/// Discard pending dead letters (they stay listed with status `discarded`).
#[utoipa::path(
    post, path = "/api/v1/interop/dead-letters/discard", tag = "dead letters",
    request_body = DiscardBody,
    security(("bearer" = [])),
    responses((status = 200, body = DiscardReport), CommonErrors)
)]
async fn discard_dead_letters(
    State(state): State<InteropState>,
    caller: Caller,
    ApiJson(body): ApiJson<DiscardBody>,
) -> ApiResult<ApiJson<DiscardReport>> {
    let principal = caller.require(Access::Operate)?;
    if body.ids.is_empty() || body.ids.len() > MAX_BATCH {
        return Err(Error::invalid_field("/ids", format!("give 1 to {MAX_BATCH} ids")).into());
    }
    let discarded = dead_letter_store::discard(&state.db, &body.ids).await?;
    for id in &body.ids {
        api::audit::record(principal, "dead_letter.discard", "dead_letter", id);
    }
    Ok(ApiJson(DiscardReport { discarded }))
}
