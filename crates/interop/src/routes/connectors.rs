//! Connector types and stored connectors.

use std::time::Instant;

use api::openapi::{CommonErrors, NotFound, UpdateErrors};
use api::{ApiError, ApiJson, ApiQuery, ApiResult, IfMatch, PageQuery, PageResponse, with_etag};
use authz::{Guard, ObjectType};
use axum::extract::{Path, State};
use axum::response::{IntoResponse as _, Response};
use chrono::Utc;
use connector_sdk::Catalog;
use http::{StatusCode, header};
use kernel::{Error, ErrorKind, FieldError};
use secret_access::Actor;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{InteropState, connector_object, flow_object};
use crate::connector_store::{
    self, ConnectorChange, ConnectorFilter, LastTest, NewConnector, StoredConnector,
};
use crate::validation::validate_config;

pub(super) fn router() -> OpenApiRouter<InteropState> {
    OpenApiRouter::new()
        .routes(routes!(list_connector_types))
        .routes(routes!(list_connectors, create_connector))
        .routes(routes!(get_connector, update_connector, delete_connector))
        .routes(routes!(test_connector))
        .routes(routes!(connector_schema))
}

/// A connector type and the JSON Schema of its configuration.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ConnectorType {
    /// The type name used in configurations.
    #[serde(rename = "type")]
    pub connector_type: String,
    /// A human title.
    pub title: String,
    /// What it connects to.
    pub description: String,
    /// JSON Schema of the configuration; secret fields carry `"x-secret": true` and take
    /// secret references only.
    #[schema(value_type = std::collections::HashMap<String, serde_json::Value>)]
    pub spec: Value,
}

/// Every connector type grimOS can create.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ConnectorTypeList {
    /// The types, by name.
    pub items: Vec<ConnectorType>,
}

/// The connector types and their configuration schemas (any signed-in caller).
#[utoipa::path(
    get, path = "/api/v1/interop/connector-types", tag = "connectors",
    security(("bearer" = [])),
    responses((status = 200, body = ConnectorTypeList), CommonErrors)
)]
async fn list_connector_types(
    State(state): State<InteropState>,
    _guard: Guard,
) -> ApiResult<ApiJson<ConnectorTypeList>> {
    let items = state
        .registry
        .types()
        .into_iter()
        .map(|info| ConnectorType {
            title: info
                .spec
                .get("title")
                .and_then(Value::as_str)
                .unwrap_or(&info.connector_type)
                .to_owned(),
            description: info
                .spec
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            connector_type: info.connector_type,
            spec: info.spec,
        })
        .collect();
    Ok(ApiJson(ConnectorTypeList { items }))
}

/// Filters and pages of the connector list.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConnectorListQuery {
    /// Items per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page (empty: the first page).
    #[param(pattern = "^[A-Za-z0-9_-]*$", format = "grimos-cursor")]
    pub cursor: Option<String>,
    /// Only connectors of this type.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub connector_type: Option<String>,
    /// Only connectors whose name contains this text (case-insensitive).
    pub q: Option<String>,
}

/// List the connectors the caller may see (a role that reads everything sees them all).
#[utoipa::path(
    get, path = "/api/v1/interop/connectors", tag = "connectors",
    params(ConnectorListQuery),
    security(("bearer" = [])),
    responses((status = 200, body = PageResponse<StoredConnector>), CommonErrors)
)]
async fn list_connectors(
    State(state): State<InteropState>,
    guard: Guard,
    ApiQuery(query): ApiQuery<ConnectorListQuery>,
) -> ApiResult<ApiJson<PageResponse<StoredConnector>>> {
    let scope = guard.scope(ObjectType::Connector, "view").await?;
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .to_request()?;
    let filter = ConnectorFilter {
        connector_type: query.connector_type.filter(|value| !value.is_empty()),
        search: query
            .q
            .filter(|value| !value.trim().is_empty())
            .map(|value| value.trim().to_owned()),
    };
    Ok(ApiJson(
        connector_store::list(&state.db, &filter, &scope, &page)
            .await?
            .into(),
    ))
}

/// Create a connector.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateConnectorRequest {
    /// Unique name: 1 to 100 characters, not only spaces, no control characters.
    #[schema(
        max_length = 100,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\x9F\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\x00-\x1F\x7F-\x9F]*$"
    )]
    pub name: String,
    /// The connector type (see `/api/v1/interop/connector-types`).
    #[serde(rename = "type")]
    pub connector_type: String,
    /// The configuration, in the type's schema; secret fields take references only.
    #[schema(value_type = std::collections::HashMap<String, serde_json::Value>)]
    pub config: Value,
    /// What it is for.
    #[serde(default)]
    pub description: Option<String>,
}

/// Change a connector (its type cannot change).
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateConnectorRequest {
    /// Unique name: 1 to 100 characters, not only spaces, no control characters.
    #[schema(
        max_length = 100,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\x9F\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\x00-\x1F\x7F-\x9F]*$"
    )]
    pub name: String,
    /// The whole new configuration.
    #[schema(value_type = std::collections::HashMap<String, serde_json::Value>)]
    pub config: Value,
    /// What it is for.
    #[serde(default)]
    pub description: Option<String>,
}

fn validate_name(name: &str) -> Result<String, FieldError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(FieldError::new(
            "/name",
            "must be 1 to 100 characters, without control characters",
        ));
    }
    Ok(name.to_owned())
}

fn spec_of(state: &InteropState, connector_type: &str) -> Result<Value, Error> {
    state
        .registry
        .factory(connector_type)
        .map(|factory| factory.spec())
        .ok_or_else(|| {
            Error::invalid_field(
                "/type",
                format!(
                    "unknown connector type; known types: {}",
                    state.registry.type_names().join(", ")
                ),
            )
        })
}

fn validated(
    state: &InteropState,
    name: &str,
    connector_type: &str,
    config: &Value,
) -> Result<String, Error> {
    let mut errors = Vec::new();
    let name = validate_name(name).map_err(|error| errors.push(error)).ok();
    match spec_of(state, connector_type) {
        Ok(spec) => {
            if let Err(error) = validate_config(&spec, config, "/config") {
                errors.extend(error.fields().iter().cloned());
            }
        }
        Err(error) => errors.extend(error.fields().iter().cloned()),
    }
    match (name, errors.is_empty()) {
        (Some(name), true) => Ok(name),
        _ => Err(Error::validation(errors)),
    }
}

/// Create a connector (`create_connector`: operators and admins); its creator becomes its
/// `owner`. Answers 201 with its `ETag` and `Location`.
#[utoipa::path(
    post, path = "/api/v1/interop/connectors", tag = "connectors",
    request_body = CreateConnectorRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, body = StoredConnector, headers(("ETag" = String), ("Location" = String))),
        (status = 409, body = api::Problem, content_type = "application/problem+json", description = "The name is taken"),
        CommonErrors
    )
)]
async fn create_connector(
    State(state): State<InteropState>,
    guard: Guard,
    ApiJson(request): ApiJson<CreateConnectorRequest>,
) -> ApiResult<Response> {
    guard.require_platform("create_connector").await?;
    let principal = guard.principal();
    let name = validated(
        &state,
        &request.name,
        &request.connector_type,
        &request.config,
    )?;
    state
        .access
        .check_config(
            &Actor::of(principal),
            &request.connector_type,
            &request.config,
        )
        .await?;
    if request
        .config
        .get("allow_insecure_http")
        .and_then(Value::as_bool)
        == Some(true)
    {
        tracing::warn!(connector = %name, "connector created with allow_insecure_http: its traffic is not encrypted");
    }
    let connector = connector_store::create(
        &state.db,
        NewConnector {
            name,
            connector_type: request.connector_type,
            config: request.config,
            description: request.description,
            created_by: Some(principal.subject.clone()),
        },
    )
    .await?;
    guard.own(connector_object(&connector.id)).await?;
    api::audit::record(principal, "connector.create", "connector", &connector.id);
    let location = format!("/api/v1/interop/connectors/{}", connector.id);
    Ok(with_etag(
        connector.version,
        (
            StatusCode::CREATED,
            [(header::LOCATION, location)],
            ApiJson(connector),
        ),
    ))
}

/// Get a connector with its `ETag`.
#[utoipa::path(
    get, path = "/api/v1/interop/connectors/{id}", tag = "connectors",
    params(("id" = String, Path, description = "Connector id")),
    security(("bearer" = [])),
    responses((status = 200, body = StoredConnector, headers(("ETag" = String))), NotFound, CommonErrors)
)]
async fn get_connector(
    State(state): State<InteropState>,
    guard: Guard,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    guard.require("view", &connector_object(&id)).await?;
    let connector = connector_store::get(&state.db, &id).await?;
    Ok(with_etag(connector.version, ApiJson(connector)))
}

/// Replace a connector's name and configuration. Send `If-Match` with the ETag you read:
/// 412 if someone changed it meanwhile.
#[utoipa::path(
    put, path = "/api/v1/interop/connectors/{id}", tag = "connectors",
    params(
        ("id" = String, Path, description = "Connector id"),
        api::IfMatchHeader,
    ),
    request_body = UpdateConnectorRequest,
    security(("bearer" = [])),
    responses((status = 200, body = StoredConnector, headers(("ETag" = String))), UpdateErrors, CommonErrors)
)]
async fn update_connector(
    State(state): State<InteropState>,
    guard: Guard,
    Path(id): Path<String>,
    if_match: IfMatch,
    ApiJson(request): ApiJson<UpdateConnectorRequest>,
) -> ApiResult<Response> {
    guard.require("edit", &connector_object(&id)).await?;
    let principal = guard.principal();
    let existing = connector_store::get(&state.db, &id).await?;
    let name = validated(
        &state,
        &request.name,
        &existing.connector_type,
        &request.config,
    )?;
    state
        .access
        .check_config(
            &Actor::of(principal),
            &existing.connector_type,
            &request.config,
        )
        .await?;
    let connector = connector_store::update(
        &state.db,
        &id,
        if_match.0,
        ConnectorChange {
            name,
            config: request.config,
            description: request.description,
            updated_by: Some(principal.subject.clone()),
        },
    )
    .await?;
    api::audit::record(principal, "connector.update", "connector", &id);
    Ok(with_etag(connector.version, ApiJson(connector)))
}

/// `?cascade=` of a connector or mapping delete.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeleteQuery {
    /// `true`: also delete the flows that use it, with their runs, run logs, dead letters
    /// and checkpoints (refused with `409 run_in_progress` while one of them has a queued
    /// or running run). Default `false`: something a flow uses is not deleted (`409 in_use`).
    pub cascade: Option<bool>,
}

/// The `409` answer of a delete refused because flows use the object: a problem document
/// (`in_use`, or `run_in_progress` on a cascade while a flow using it has a queued or
/// running run) with the flows concerned.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct InUseProblem {
    /// `urn:grimos:problem:in_use` or `urn:grimos:problem:run_in_progress`.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// `Conflict`.
    pub title: String,
    /// 409.
    pub status: u16,
    /// What went wrong, naming the flows.
    pub detail: String,
    /// `in_use` or `run_in_progress`.
    pub code: String,
    /// The flows that use the object (`in_use`; empty when a flow started using it while
    /// it was being deleted — try again), or those with a queued or running run; only
    /// those the caller may see (`detail` counts the others).
    pub flows: Vec<crate::flow_store::FlowUse>,
    /// The request's id.
    pub request_id: Option<String>,
    /// The request's trace id.
    pub trace_id: Option<String>,
}

fn flow_list(flows: &[crate::flow_store::FlowUse]) -> String {
    let mut names: Vec<String> = flows
        .iter()
        .take(10)
        .map(|flow| format!("{:?} ({})", flow.name, flow.id))
        .collect();
    if flows.len() > 10 {
        names.push(format!("and {} more", flows.len() - 10));
    }
    names.join(", ")
}

/// The flows among `flows` the caller may see, and how many others there are: a refusal
/// names only what the caller may see.
async fn visible_flows(
    guard: &Guard,
    flows: Vec<crate::flow_store::FlowUse>,
) -> Result<(Vec<crate::flow_store::FlowUse>, usize), ApiError> {
    let mut shown = Vec::with_capacity(flows.len());
    let mut hidden = 0;
    for flow in flows {
        if guard.allows("view", &flow_object(&flow.id)).await? {
            shown.push(flow);
        } else {
            hidden += 1;
        }
    }
    Ok((shown, hidden))
}

/// The flows the caller may see by name, then how many others there are.
fn describe_flows(flows: &[crate::flow_store::FlowUse], hidden: usize) -> String {
    let mut parts = Vec::new();
    if !flows.is_empty() {
        parts.push(flow_list(flows));
    }
    if hidden > 0 {
        parts.push(format!("{hidden} flow(s) you cannot see"));
    }
    parts.join(", and ")
}

/// Delete a connector or mapping that flows may use (the caller must be allowed `delete`
/// on it, and on a cascade on every flow deleted with it), answering 204, or 409 with the
/// flows that prevent it (those the caller may see). On a cascade, the flows deleted are
/// audited too. The relationships of everything deleted are forgotten.
pub(super) async fn delete_used(
    state: &InteropState,
    guard: &Guard,
    used: crate::flow_store::Used,
    id: &str,
    if_match: IfMatch,
    cascade: bool,
) -> ApiResult<Response> {
    use crate::flow_store::{DeleteRefusal, Used};
    let (kind, action, object) = match used {
        Used::Connector => ("connector", "connector.delete", connector_object(id)),
        Used::Mapping => ("mapping", "mapping.delete", super::mapping_object(id)),
    };
    guard.require("delete", &object).await?;
    let principal = guard.principal();
    // A cascade deletes only flows the caller may delete; the store refuses the whole
    // delete if a flow outside this set uses it by then.
    let mut deletable = std::collections::HashSet::new();
    if cascade {
        for flow in crate::flow_store::flows_using(&state.db, used, id).await? {
            if guard.allows("delete", &flow_object(&flow.id)).await? {
                deletable.insert(flow.id);
            }
        }
    }
    match crate::flow_store::delete_used(&state.db, used, id, if_match.0, cascade, &deletable).await
    {
        Ok(deleted_flows) => {
            for flow in &deleted_flows {
                forget(guard, &flow_object(&flow.id)).await;
                api::audit::record(principal, "flow.delete", "flow", &flow.id);
            }
            forget(guard, &object).await;
            api::audit::record(principal, action, kind, id);
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        Err(DeleteRefusal::Error(error)) => Err(error.into()),
        Err(DeleteRefusal::InUse(flows)) => {
            let (flows, hidden) = visible_flows(guard, flows).await?;
            let detail = if flows.is_empty() && hidden == 0 {
                format!(
                    "a flow started using this {kind} while it was being deleted; nothing was \
                     deleted: try again to see which"
                )
            } else {
                format!(
                    "this {kind} is used by {} flow(s): {}; change or delete them first, or \
                     delete with ?cascade=true to delete them too",
                    flows.len() + hidden,
                    describe_flows(&flows, hidden)
                )
            };
            Ok(in_use_problem("in_use", detail, &flows))
        }
        Err(DeleteRefusal::RunsActive(flows)) => {
            let (flows, hidden) = visible_flows(guard, flows).await?;
            let detail = format!(
                "flows using this {kind} have a queued or running run: {}; cancel the runs or \
                 wait for them, then delete again (nothing was deleted)",
                describe_flows(&flows, hidden)
            );
            Ok(in_use_problem("run_in_progress", detail, &flows))
        }
        Err(DeleteRefusal::NotDeletable(flows)) => {
            let (flows, hidden) = visible_flows(guard, flows).await?;
            Err(ApiError(Error::new(
                ErrorKind::Forbidden,
                "forbidden",
                format!(
                    "this {kind} is used by flows you may not delete: {}; a cascade deletes \
                     only flows you may delete (nothing was deleted)",
                    describe_flows(&flows, hidden)
                ),
            )))
        }
    }
}

/// Forget the relationships of a deleted object. The object is gone whatever happens
/// here (its id is never reused), so a failure is logged rather than answered.
pub(super) async fn forget(guard: &Guard, object: &authz::ObjectRef) {
    if let Err(ApiError(error)) = guard.forget(object).await {
        tracing::warn!(object = %object, error = %error, "could not forget the relationships of a deleted object");
    }
}

fn in_use_problem(code: &str, detail: String, flows: &[crate::flow_store::FlowUse]) -> Response {
    let mut problem = api::Problem::new(StatusCode::CONFLICT, code, detail);
    problem.extensions.insert(
        "flows".to_owned(),
        serde_json::to_value(flows).unwrap_or_default(),
    );
    problem.into_response()
}

/// Delete a connector. A connector that flows use is not deleted (`409 in_use`, naming
/// them in `flows`) unless `?cascade=true`, which deletes those flows too.
#[utoipa::path(
    delete, path = "/api/v1/interop/connectors/{id}", tag = "connectors",
    params(
        ("id" = String, Path, description = "Connector id"),
        api::IfMatchHeader,
        DeleteQuery,
    ),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted (with the flows that used it, on a cascade)"),
        (status = 409, body = InUseProblem, content_type = "application/problem+json",
         description = "Flows use it (`in_use`), or, on a cascade, one of them has a queued or running run (`run_in_progress`); `flows` names them"),
        (status = 412, body = api::Problem, content_type = "application/problem+json", description = "The If-Match version is stale"),
        NotFound, CommonErrors
    )
)]
async fn delete_connector(
    State(state): State<InteropState>,
    guard: Guard,
    Path(id): Path<String>,
    if_match: IfMatch,
    ApiQuery(query): ApiQuery<DeleteQuery>,
) -> ApiResult<Response> {
    delete_used(
        &state,
        &guard,
        crate::flow_store::Used::Connector,
        &id,
        if_match,
        query.cascade.unwrap_or(false),
    )
    .await
}

/// The outcome of a connection test.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TestResult {
    /// Whether the connector reached its system.
    pub ok: bool,
    /// How long the check took.
    pub latency_ms: u64,
    /// Why it failed (never containing a secret value).
    pub error: Option<String>,
    /// The failure's kind: config, auth, permission, not_found, rate_limited, transient,
    /// data, unsupported.
    pub error_kind: Option<String>,
}

async fn build(
    state: &InteropState,
    connector: &StoredConnector,
    actor: &Actor,
) -> Result<std::sync::Arc<dyn connector_sdk::Connector>, connector_sdk::ConnectorError> {
    state
        .access
        .build(&connector.connector_type, connector.config.clone(), actor)
        .await
}

/// Test the connection: resolve its secrets, connect, and run the type's health check.
#[utoipa::path(
    post, path = "/api/v1/interop/connectors/{id}/test", tag = "connectors",
    params(("id" = String, Path, description = "Connector id")),
    security(("bearer" = [])),
    responses((status = 200, body = TestResult), NotFound, CommonErrors)
)]
async fn test_connector(
    State(state): State<InteropState>,
    guard: Guard,
    Path(id): Path<String>,
) -> ApiResult<ApiJson<TestResult>> {
    guard.require("test", &connector_object(&id)).await?;
    let actor = Actor::of(guard.principal());
    let connector = connector_store::get(&state.db, &id).await?;
    // A reference the caller may not use is refused before anything connects.
    state
        .access
        .check_config(&actor, &connector.connector_type, &connector.config)
        .await?;
    let started = Instant::now();
    let (ok, error, error_kind, latency) = match build(&state, &connector, &actor).await {
        Ok(built) => {
            let report = built.check().await;
            let latency = report.latency;
            match report.error {
                None => (true, None, None, latency),
                Some(error) => (
                    false,
                    Some(error.to_string()),
                    Some(error.kind().to_string()),
                    latency,
                ),
            }
        }
        Err(error) => (
            false,
            Some(error.to_string()),
            Some(error.kind().to_string()),
            started.elapsed(),
        ),
    };
    let latency_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
    let test = LastTest {
        ok,
        latency_ms,
        error: error.clone(),
        tested_at: Utc::now(),
    };
    connector_store::record_test(&state.db, &id, &test).await?;
    Ok(ApiJson(TestResult {
        ok,
        latency_ms,
        error,
        error_kind,
    }))
}

/// The streams (tables, endpoints) a connector offers, with fields, types, keys and cursor
/// candidates. Discovery connects with the connector's secrets, so it needs `test` on it.
#[utoipa::path(
    get, path = "/api/v1/interop/connectors/{id}/schema", tag = "connectors",
    params(("id" = String, Path, description = "Connector id")),
    security(("bearer" = [])),
    responses((status = 200, body = Object, description = "The catalog of streams"), NotFound, CommonErrors)
)]
async fn connector_schema(
    State(state): State<InteropState>,
    guard: Guard,
    Path(id): Path<String>,
) -> ApiResult<ApiJson<Catalog>> {
    guard.require("test", &connector_object(&id)).await?;
    let actor = Actor::of(guard.principal());
    let connector = connector_store::get(&state.db, &id).await?;
    state
        .access
        .check_config(&actor, &connector.connector_type, &connector.config)
        .await?;
    let built = build(&state, &connector, &actor)
        .await
        .map_err(connector_error)?;
    let catalog = built.discover().await.map_err(connector_error)?;
    Ok(ApiJson(catalog))
}

/// A connector failure as an API error: the remote system's problem is a 502-like
/// `Unavailable` for transient kinds, a 422 for configuration problems.
pub(crate) fn connector_error(error: connector_sdk::ConnectorError) -> ApiError {
    use connector_sdk::ErrorKind as Kind;
    let message = error.to_string();
    let kernel_error = match error.kind() {
        Kind::Config => Error::new(ErrorKind::Validation, "connector_config", message),
        Kind::Unsupported => Error::new(ErrorKind::Validation, "connector_unsupported", message),
        // The egress policy refused the destination (the message names address and rule).
        Kind::Permission if error.egress_denial().is_some() => {
            Error::new(ErrorKind::Forbidden, "egress_denied", message)
        }
        // A secret reference the acting principal may not use.
        Kind::Permission if error.operation() == connector_sdk::Operation::ResolveSecret => {
            Error::new(ErrorKind::Forbidden, "secret_use_denied", message)
        }
        // The remote system refused the stored credentials: the configuration (or the
        // secret it references) is wrong, which retrying will not fix.
        Kind::Auth | Kind::Permission => {
            Error::new(ErrorKind::Validation, "connector_auth", message)
        }
        Kind::NotFound => Error::new(ErrorKind::NotFound, "connector_not_found", message),
        _ => Error::new(ErrorKind::Unavailable, "connector_unavailable", message),
    };
    ApiError(kernel_error)
}

#[cfg(test)]
mod egress_tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn an_egress_refusal_is_a_403_egress_denied_naming_address_and_rule() {
        let denied = egress::EgressPolicy::default()
            .check_ip("169.254.169.254".parse().unwrap(), "rest")
            .unwrap_err();
        let error = connector_sdk::auth::egress_denied(connector_sdk::Operation::Check, denied);
        let ApiError(error) = connector_error(error);
        assert_eq!(error.kind(), ErrorKind::Forbidden);
        assert_eq!(error.code(), "egress_denied");
        assert!(
            error
                .to_string()
                .contains("169.254.169.254 is a cloud metadata address (rule metadata)"),
            "{error}"
        );
        // Another permission error keeps its mapping.
        let other = connector_sdk::ConnectorError::new(
            connector_sdk::ErrorKind::Permission,
            connector_sdk::Operation::Read,
            "HTTP 403",
        );
        assert_eq!(connector_error(other).0.code(), "connector_auth");
    }
}
