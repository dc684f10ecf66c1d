//! Runs: list, detail, cancel, event log (paged and as Server-Sent Events).

use std::convert::Infallible;
use std::time::Duration;

use api::openapi::{CommonErrors, NotFound};
use api::{ApiJson, ApiQuery, ApiResult, PageResponse};
use authz::{Guard, ObjectType};
use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt as _};
use kernel::{Error, PageRequest};
use storage::Database;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{InteropState, require_on_flow};
use crate::run_store::{self, FlowRun, RunEvent, RunFilter};

/// How often the event stream looks for new events.
const STREAM_POLL: Duration = Duration::from_millis(500);

pub(super) fn router() -> OpenApiRouter<InteropState> {
    OpenApiRouter::new()
        .routes(routes!(list_runs))
        .routes(routes!(get_run))
        .routes(routes!(cancel_run))
        .routes(routes!(list_events))
        .routes(routes!(stream_events))
}

/// Filters and page of the run list.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RunListQuery {
    /// Only runs of this flow.
    pub flow_id: Option<String>,
    /// Only runs in this status (`queued`, `running`, `succeeded`, `failed`, `cancelled`).
    #[param(schema_with = run_status_schema)]
    pub status: Option<String>,
    /// Only runs requested at or after this time (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Only runs requested before this time (RFC 3339).
    pub until: Option<DateTime<Utc>>,
    /// Items per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page (empty: the first page).
    #[param(pattern = "^[A-Za-z0-9_-]*$", format = "grimos-cursor")]
    pub cursor: Option<String>,
}

fn run_status_schema() -> utoipa::openapi::schema::Object {
    api::openapi::string_enum(&run_store::STATUSES)
}

/// List the runs of the flows the caller may see, newest first (by id; ids sort by
/// creation time). Cursor pagination.
#[utoipa::path(
    get, path = "/api/v1/interop/runs", tag = "runs",
    params(RunListQuery),
    security(("bearer" = [])),
    responses((status = 200, body = PageResponse<FlowRun>), CommonErrors)
)]
async fn list_runs(
    State(state): State<InteropState>,
    guard: Guard,
    ApiQuery(query): ApiQuery<RunListQuery>,
) -> ApiResult<ApiJson<PageResponse<FlowRun>>> {
    if let Some(status) = &query.status
        && !run_store::STATUSES.contains(&status.as_str())
    {
        return Err(Error::invalid_field(
            "/status",
            "must be one of queued, running, succeeded, failed, cancelled",
        )
        .into());
    }
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    let scope = guard.scope(ObjectType::Flow, "view").await?;
    let filter = RunFilter {
        flow_id: query.flow_id,
        status: query.status,
        since: query.since,
        until: query.until,
    };
    Ok(ApiJson(
        run_store::list(&state.db, &filter, &scope, &page)
            .await?
            .into(),
    ))
}

/// Get a run: status, counters, error, timestamps, trigger, trace id.
#[utoipa::path(
    get, path = "/api/v1/interop/runs/{id}", tag = "runs",
    params(("id" = String, Path, description = "Run id")),
    security(("bearer" = [])),
    responses((status = 200, body = FlowRun), NotFound, CommonErrors)
)]
async fn get_run(
    State(state): State<InteropState>,
    guard: Guard,
    Path(id): Path<String>,
) -> ApiResult<ApiJson<FlowRun>> {
    Ok(ApiJson(visible_run(&state, &guard, &id).await?))
}

/// The run `id`, if the caller may see its flow (else 404, as for a run that does not
/// exist).
pub(super) async fn visible_run(
    state: &InteropState,
    guard: &Guard,
    id: &str,
) -> Result<FlowRun, api::ApiError> {
    let run = run_store::get(&state.db, id).await?;
    require_on_flow(guard, "view", &run.flow_id, "run", id).await?;
    Ok(run)
}

/// Cancel a run: a queued run is `cancelled` at once; a running run stops after the batch
/// being written (its status becomes `cancelled` shortly; poll the run). `409
/// run_finished` when it already ended. Needs `run` on the run's flow.
#[utoipa::path(
    post, path = "/api/v1/interop/runs/{id}/cancel", tag = "runs",
    params(("id" = String, Path, description = "Run id")),
    security(("bearer" = [])),
    responses(
        (status = 202, body = FlowRun, description = "Cancelled or cancelling"),
        (status = 409, body = api::Problem, content_type = "application/problem+json", description = "`run_finished`: the run already ended"),
        NotFound, CommonErrors
    )
)]
async fn cancel_run(
    State(state): State<InteropState>,
    guard: Guard,
    Path(id): Path<String>,
) -> ApiResult<(http::StatusCode, ApiJson<FlowRun>)> {
    let run = run_store::get(&state.db, &id).await?;
    require_on_flow(&guard, "run", &run.flow_id, "run", &id).await?;
    let run = state.runs.cancel(&id).await?;
    api::audit::record(guard.principal(), "run.cancel", "run", &id);
    Ok((http::StatusCode::ACCEPTED, ApiJson(run)))
}

/// Paging of a run's events.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    /// Only events with an id above this (the `next_after` of the previous page).
    pub after: Option<i64>,
    /// Items per page, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

/// One page of a run's events.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct EventPage {
    /// The events, oldest first.
    pub items: Vec<RunEvent>,
    /// Pass as `after` for the next page; null when this page was the last so far.
    pub next_after: Option<i64>,
}

/// A run's events (run log), oldest first, paged by event id.
#[utoipa::path(
    get, path = "/api/v1/interop/runs/{id}/events", tag = "runs",
    params(("id" = String, Path, description = "Run id"), EventQuery),
    security(("bearer" = [])),
    responses((status = 200, body = EventPage), NotFound, CommonErrors)
)]
async fn list_events(
    State(state): State<InteropState>,
    guard: Guard,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<EventQuery>,
) -> ApiResult<ApiJson<EventPage>> {
    let limit = query.limit.unwrap_or(100);
    if limit == 0 || limit > 500 {
        return Err(Error::invalid_field("/limit", "must be between 1 and 500").into());
    }
    visible_run(&state, &guard, &id).await?;
    let items =
        run_store::events(&state.db, &id, query.after.unwrap_or(0), i64::from(limit)).await?;
    let next_after = (items.len() == limit as usize)
        .then(|| items.last().map(|event| event.id))
        .flatten();
    Ok(ApiJson(EventPage { items, next_after }))
}

struct StreamState {
    db: Database,
    run_id: String,
    after: i64,
    done: bool,
}

/// Polls the run's events; yields each new batch, then a final `end` event once the run
/// has finished and every event is sent.
async fn next_events(mut state: StreamState) -> Option<(Vec<Event>, StreamState)> {
    if state.done {
        return None;
    }
    loop {
        let status = match run_store::get(&state.db, &state.run_id).await {
            Ok(run) => run.status,
            Err(error) => {
                state.done = true;
                let event = Event::default().event("error").data(error.message());
                return Some((vec![event], state));
            }
        };
        let events = match run_store::events(&state.db, &state.run_id, state.after, 100).await {
            Ok(events) => events,
            Err(error) => {
                state.done = true;
                let event = Event::default().event("error").data(error.message());
                return Some((vec![event], state));
            }
        };
        if let Some(last) = events.last() {
            state.after = last.id;
            let batch = events
                .iter()
                .map(|event| {
                    Event::default()
                        .id(event.id.to_string())
                        .event("run_event")
                        .data(serde_json::to_string(event).unwrap_or_default())
                })
                .collect();
            return Some((batch, state));
        }
        if run_store::is_finished(&status) {
            state.done = true;
            let end = Event::default()
                .event("end")
                .data(serde_json::json!({ "status": status }).to_string());
            return Some((vec![end], state));
        }
        tokio::time::sleep(STREAM_POLL).await;
    }
}

/// The run's events live, as Server-Sent Events: each `run_event` (id = event id, data =
/// the event as JSON), then one `end` event with the final status, after which the stream
/// closes. The server's request timeout bounds only the time to the response headers, so
/// a long stream is not cut.
#[utoipa::path(
    get, path = "/api/v1/interop/runs/{id}/events/stream", tag = "runs",
    params(("id" = String, Path, description = "Run id")),
    security(("bearer" = [])),
    responses((status = 200, content_type = "text/event-stream", body = String, description = "Server-Sent Events"), NotFound, CommonErrors)
)]
async fn stream_events(
    State(state): State<InteropState>,
    guard: Guard,
    Path(id): Path<String>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    visible_run(&state, &guard, &id).await?;
    let initial = StreamState {
        db: state.db.clone(),
        run_id: id,
        after: 0,
        done: false,
    };
    let stream = futures_util::stream::unfold(initial, next_events)
        .flat_map(futures_util::stream::iter)
        .map(Ok);
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
