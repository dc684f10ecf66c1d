//! Flows: CRUD, manual runs and monitoring figures.

use api::openapi::{CommonErrors, NotFound, UpdateErrors};
use api::{ApiJson, ApiResult, IfMatch, PageQuery, PageResponse, with_etag};
use authz::{Guard, ObjectType};
use axum::extract::{Path, State};
use axum::response::{IntoResponse as _, Response};
use flow_engine::{ConnectorRef, FlowSpec};
use http::{HeaderMap, StatusCode, header};
use kernel::{Error, ErrorKind, FieldError};
use secret_access::Actor;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{InteropState, connector_object, flow_object, mapping_object, may_reference};
use crate::connector_access::set_flow_owner;
use crate::connector_store;
use crate::flow_store::{self, FlowContent, StoredFlow};
use crate::run_manager::Trigger;
use crate::run_store::FlowRun;
use crate::stats::{self, FlowStats};

/// Runs the stats look at.
const STATS_WINDOW: i64 = 50;

pub(super) fn router() -> OpenApiRouter<InteropState> {
    OpenApiRouter::new()
        .routes(routes!(list_flows, create_flow))
        .routes(routes!(get_flow, update_flow, delete_flow))
        .routes(routes!(start_run))
        .routes(routes!(flow_stats))
}

/// A flow as created or replaced: the flow file model (docs/flows.md) with stored
/// connector ids, plus `enabled` and `webhook_secret`. Unknown keys are refused.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct FlowRequest {
    /// Unique name.
    pub name: String,
    /// `{"connector": "<stored connector id>", "stream": "...", "cursor_field": "..."}`.
    #[schema(value_type = std::collections::HashMap<String, serde_json::Value>)]
    pub source: Value,
    /// `{"connector": "<stored connector id>", "stream": "...", "mode": "insert|upsert|update|delete"}`.
    #[schema(value_type = std::collections::HashMap<String, serde_json::Value>)]
    pub target: Value,
    /// An inline mapping `{"rules": [...]}` (exactly one of `mapping` and `mapping_id`).
    #[schema(value_type = Option<std::collections::HashMap<String, serde_json::Value>>)]
    pub mapping: Option<Value>,
    /// A stored mapping's id.
    pub mapping_id: Option<String>,
    /// A cron expression with seconds, e.g. `0 */15 * * * *`.
    pub schedule: Option<String>,
    /// The schedule's IANA time zone (default UTC).
    pub timezone: Option<String>,
    /// `batch_size`, `run_timeout_secs`, `allow_concurrent_runs`, `max_attempts`.
    #[schema(value_type = Option<std::collections::HashMap<String, serde_json::Value>>)]
    pub options: Option<Value>,
    /// `{"url", "secret" (a reference), "on": [...]}`: called when a run ends.
    #[schema(value_type = Option<std::collections::HashMap<String, serde_json::Value>>)]
    pub notify: Option<Value>,
    /// Whether schedules and webhooks start runs (default true).
    pub enabled: Option<bool>,
    /// A secret REFERENCE (e.g. `local:flow-hook`) whose value signs webhook calls.
    pub webhook_secret: Option<String>,
}

/// Refuse (403 `secret_use_denied`) a flow whose runs would use a secret reference the
/// caller may not use: its connectors' secret fields, its webhook secret and its
/// notification secret. Whoever saves a flow becomes its owner, and its runs act with the
/// owner's authority — so the owner must hold every use right the runs need.
async fn authorize_secret_use(
    state: &InteropState,
    actor: &Actor,
    content: &FlowContent,
) -> Result<(), Error> {
    for reference in [
        &content.spec.source.connector,
        &content.spec.target.connector,
    ] {
        if let ConnectorRef::Named(id) = reference {
            let connector = connector_store::get(&state.db, id).await?;
            state
                .access
                .check_config(actor, &connector.connector_type, &connector.config)
                .await?;
        }
    }
    let single = content.webhook_secret.iter().chain(
        content
            .spec
            .notify
            .as_ref()
            .and_then(|notify| notify.secret.as_ref()),
    );
    for reference in single {
        state.access.check_reference(actor, reference).await?;
    }
    Ok(())
}

/// Check a flow request: its shape, the engine's checks, the stored connectors and the
/// mapping (compile errors name the rule index). Every error names its field. The caller
/// must be able to see every connector and the stored mapping it names — a reference is
/// a capability, so a flow cannot be built on what its author cannot see; one they cannot
/// see is answered exactly as one that does not exist.
async fn validated(
    state: &InteropState,
    guard: &Guard,
    body: Value,
) -> Result<FlowContent, api::ApiError> {
    let Value::Object(mut object) = body else {
        return Err(Error::invalid_field("/", "must be an object").into());
    };
    let mut errors = Vec::new();
    let enabled = match object.remove("enabled") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(enabled)) => enabled,
        Some(_) => {
            errors.push(FieldError::new("/enabled", "must be true or false"));
            true
        }
    };
    let webhook_secret = match object.remove("webhook_secret") {
        None | Some(Value::Null) => None,
        Some(Value::String(reference))
            if connector_sdk::secret::split_reference(&reference).is_ok() =>
        {
            Some(reference)
        }
        Some(_) => {
            errors.push(FieldError::new(
                "/webhook_secret",
                "must be a secret reference (env:NAME, file:/path, vault:mount/path#field, \
                 local:name), not a secret; store the value with PUT /api/v1/secrets/{name}",
            ));
            None
        }
    };
    let spec = match FlowSpec::from_value(Value::Object(object)) {
        Ok(spec) => spec,
        Err(error) => {
            errors.push(error);
            return Err(Error::validation(errors).into());
        }
    };
    let shape = spec.validate();
    let mapping_shape_ok = !shape.iter().any(|error| error.path.starts_with("/mapping"));
    errors.extend(shape);
    for (pointer, reference) in [
        ("/source/connector", &spec.source.connector),
        ("/target/connector", &spec.target.connector),
    ] {
        match reference {
            ConnectorRef::Inline(_) => errors.push(FieldError::new(
                pointer,
                "must be the id of a stored connector (create it with POST /api/v1/interop/connectors); \
                 inline configurations are not accepted by the API",
            )),
            ConnectorRef::Named(id) if !id.trim().is_empty() => {
                if crate::connector_store::get(&state.db, id).await.is_err()
                    || !may_reference(guard, &connector_object(id)).await?
                {
                    errors.push(FieldError::new(pointer, "no connector with this id"));
                }
            }
            ConnectorRef::Named(_) => {}
        }
    }
    let hidden_mapping = match &spec.mapping_id {
        Some(id) if spec.mapping.is_none() && !id.trim().is_empty() => {
            !may_reference(guard, &mapping_object(id)).await?
        }
        _ => false,
    };
    if hidden_mapping {
        errors.push(FieldError::new("/mapping_id", "no mapping with this id"));
    } else if mapping_shape_ok
        && let Err(mapping_errors) = crate::flow_mapping::compile(&state.db, &spec).await
    {
        errors.extend(mapping_errors);
    }
    if !errors.is_empty() {
        return Err(Error::validation(errors).into());
    }
    Ok(FlowContent {
        spec,
        enabled,
        webhook_secret,
    })
}

/// List the flows the caller may see.
#[utoipa::path(
    get, path = "/api/v1/interop/flows", tag = "flows",
    params(PageQuery),
    security(("bearer" = [])),
    responses((status = 200, body = PageResponse<StoredFlow>), CommonErrors)
)]
async fn list_flows(
    State(state): State<InteropState>,
    guard: Guard,
    api::ApiQuery(query): api::ApiQuery<PageQuery>,
) -> ApiResult<ApiJson<PageResponse<StoredFlow>>> {
    let page = query.to_request()?;
    let scope = guard.scope(ObjectType::Flow, "view").await?;
    Ok(ApiJson(
        flow_store::list(&state.db, &scope, &page).await?.into(),
    ))
}

/// Create a flow (`create_flow`); its creator becomes its `owner`. Connectors must be
/// stored connector ids the caller may see; the mapping (inline, or a `mapping_id` the
/// caller may see) must compile. Errors name each field (`/source/connector`,
/// `/mapping/rules/2/cast`, ...).
#[utoipa::path(
    post, path = "/api/v1/interop/flows", tag = "flows",
    request_body = FlowRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, body = StoredFlow, headers(("ETag" = String), ("Location" = String))),
        (status = 409, body = api::Problem, content_type = "application/problem+json", description = "`name_taken`: the name is taken"),
        CommonErrors
    )
)]
async fn create_flow(
    State(state): State<InteropState>,
    guard: Guard,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Response> {
    guard.require_platform("create_flow").await?;
    let principal = guard.principal();
    let actor = Actor::of(principal);
    let content = validated(&state, &guard, body).await?;
    authorize_secret_use(&state, &actor, &content).await?;
    let flow = flow_store::create(&state.db, content, Some(&principal.subject)).await?;
    guard.own(flow_object(&flow.id)).await?;
    set_flow_owner(&state.db, &flow.id, &actor).await?;
    api::audit::record(principal, "flow.create", "flow", &flow.id);
    let location = format!("/api/v1/interop/flows/{}", flow.id);
    Ok(with_etag(
        flow.version,
        (
            StatusCode::CREATED,
            [(header::LOCATION, location)],
            ApiJson(flow),
        ),
    ))
}

/// Get a flow with its `ETag`.
#[utoipa::path(
    get, path = "/api/v1/interop/flows/{id}", tag = "flows",
    params(("id" = String, Path, description = "Flow id")),
    security(("bearer" = [])),
    responses((status = 200, body = StoredFlow), NotFound, CommonErrors)
)]
async fn get_flow(
    State(state): State<InteropState>,
    guard: Guard,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    guard.require("view", &flow_object(&id)).await?;
    let flow = flow_store::get(&state.db, &id).await?;
    Ok(with_etag(flow.version, ApiJson(flow)))
}

/// Replace a flow (send `If-Match`). Its schedule restarts from now.
#[utoipa::path(
    put, path = "/api/v1/interop/flows/{id}", tag = "flows",
    params(("id" = String, Path, description = "Flow id"), api::IfMatchHeader),
    request_body = FlowRequest,
    security(("bearer" = [])),
    responses((status = 200, body = StoredFlow), UpdateErrors, CommonErrors)
)]
async fn update_flow(
    State(state): State<InteropState>,
    guard: Guard,
    Path(id): Path<String>,
    if_match: IfMatch,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Response> {
    guard.require("edit", &flow_object(&id)).await?;
    let principal = guard.principal();
    let actor = Actor::of(principal);
    let content = validated(&state, &guard, body).await?;
    authorize_secret_use(&state, &actor, &content).await?;
    let flow = flow_store::update(
        &state.db,
        &id,
        if_match.0,
        content,
        Some(&principal.subject),
    )
    .await?;
    set_flow_owner(&state.db, &id, &actor).await?;
    api::audit::record(principal, "flow.update", "flow", &id);
    Ok(with_etag(flow.version, ApiJson(flow)))
}

/// Delete a flow with its runs, run logs, dead letters and checkpoint.
#[utoipa::path(
    delete, path = "/api/v1/interop/flows/{id}", tag = "flows",
    params(("id" = String, Path, description = "Flow id"), api::IfMatchHeader),
    security(("bearer" = [])),
    responses((status = 204, description = "Deleted"), UpdateErrors, CommonErrors)
)]
async fn delete_flow(
    State(state): State<InteropState>,
    guard: Guard,
    Path(id): Path<String>,
    if_match: IfMatch,
) -> ApiResult<StatusCode> {
    let object = flow_object(&id);
    guard.require("delete", &object).await?;
    flow_store::delete(&state.db, &id, if_match.0).await?;
    super::connectors::forget(&guard, &object).await;
    api::audit::record(guard.principal(), "flow.delete", "flow", &id);
    Ok(StatusCode::NO_CONTENT)
}

/// A run accepted or found.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct RunAccepted {
    /// The run id.
    pub id: String,
    /// Its status (`queued` for a new run).
    pub status: String,
}

/// The `Idempotency-Key` header, if any (1 to 200 visible ASCII characters).
pub(super) fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, Error> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(key)
            if !key.is_empty() && key.len() <= 200 && key.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            Ok(Some(key.to_owned()))
        }
        _ => Err(Error::new(
            ErrorKind::BadRequest,
            "bad_request",
            "Idempotency-Key must be 1 to 200 visible ASCII characters",
        )),
    }
}

/// The answer to a run request: 202 for a new run, 200 for the run an idempotency key
/// already named.
pub(super) fn accepted(run: &FlowRun, created: bool) -> Response {
    let status = if created {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    (
        status,
        [(header::LOCATION, format!("/api/v1/interop/runs/{}", run.id))],
        ApiJson(RunAccepted {
            id: run.id.clone(),
            status: run.status.clone(),
        }),
    )
        .into_response()
}

/// Start a run (also of a disabled flow). `202 {"id", "status": "queued"}`. With an
/// `Idempotency-Key` header, the same key for the same flow answers `200` with the run it
/// started. While a run of the flow is queued or running the answer is
/// `409 run_in_progress`, unless the flow sets `options.allow_concurrent_runs`.
#[utoipa::path(
    post, path = "/api/v1/interop/flows/{id}/runs", tag = "runs",
    params(("id" = String, Path, description = "Flow id"), api::openapi::IdempotencyKeyHeader),
    security(("bearer" = [])),
    responses(
        (status = 202, body = RunAccepted, description = "Queued"),
        (status = 200, body = RunAccepted, description = "The run this idempotency key started"),
        (status = 409, body = api::Problem, content_type = "application/problem+json", description = "`run_in_progress`: a run of the flow is queued or running"),
        NotFound, CommonErrors
    )
)]
async fn start_run(
    State(state): State<InteropState>,
    guard: Guard,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    guard.require("run", &flow_object(&id)).await?;
    let principal = guard.principal();
    let key = idempotency_key(&headers)?;
    let flow = flow_store::get(&state.db, &id).await?;
    let (run, created) = state
        .runs
        .submit(&flow, Trigger::Manual, key, Some(principal.subject.clone()))
        .await?;
    if created {
        api::audit::record(principal, "flow.run", "flow", &id);
    }
    Ok(accepted(&run, created))
}

/// Monitoring figures of a flow over its last 50 runs: last run, success rate, duration
/// p50/p95, records per run.
#[utoipa::path(
    get, path = "/api/v1/interop/flows/{id}/stats", tag = "flows",
    params(("id" = String, Path, description = "Flow id")),
    security(("bearer" = [])),
    responses((status = 200, body = FlowStats), NotFound, CommonErrors)
)]
async fn flow_stats(
    State(state): State<InteropState>,
    guard: Guard,
    Path(id): Path<String>,
) -> ApiResult<ApiJson<FlowStats>> {
    guard.require("view", &flow_object(&id)).await?;
    flow_store::get(&state.db, &id).await?;
    let runs = crate::run_store::recent(&state.db, &id, STATS_WINDOW).await?;
    Ok(ApiJson(stats::compute(&runs)))
}
