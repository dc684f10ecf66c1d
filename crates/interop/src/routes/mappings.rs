//! Data mappings: CRUD, validation against source and target schemas, preview.

use api::openapi::{CommonErrors, NotFound, UpdateErrors};
use api::{ApiJson, ApiResult, IfMatch, PageQuery, PageResponse, with_etag};
use authz::{Guard, ObjectType};
use axum::extract::{Path, State};
use axum::response::Response;
use connector_sdk::ReadRequest;
use futures_util::StreamExt as _;
use http::{StatusCode, header};
use kernel::{Error, FieldError};
use mapping::{MappingSpec, Schema, ValidationIssue};
use secret_access::Actor;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{InteropState, connector_object, mapping_object, may_reference};
use crate::mapping_store::{self, MappingContent, StoredMapping, StreamRef};

/// Most sample records a preview takes.
const MAX_PREVIEW_RECORDS: usize = 100;

pub(super) fn router() -> OpenApiRouter<InteropState> {
    OpenApiRouter::new()
        .routes(routes!(list_mappings, create_mapping))
        .routes(routes!(get_mapping, update_mapping, delete_mapping))
        .routes(routes!(validate_mapping))
        .routes(routes!(preview_mapping))
}

/// A mapping's content, as created or replaced.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MappingRequest {
    /// Unique name: 1 to 100 characters, not only spaces, no control characters.
    #[schema(
        max_length = 100,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\x9F\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\x00-\x1F\x7F-\x9F]*$"
    )]
    pub name: String,
    /// Where records come from.
    #[serde(default)]
    pub source: Option<StreamRef>,
    /// Where records go.
    #[serde(default)]
    pub target: Option<StreamRef>,
    /// The rules (see docs/mapping.md).
    #[schema(value_type = Vec<std::collections::HashMap<String, serde_json::Value>>)]
    pub rules: Value,
    /// A JSON Schema of source records (instead of introspecting the source).
    #[serde(default)]
    #[schema(value_type = Option<std::collections::HashMap<String, serde_json::Value>>)]
    pub source_schema: Option<Value>,
    /// A JSON Schema of target records (instead of introspecting the target).
    #[serde(default)]
    #[schema(value_type = Option<std::collections::HashMap<String, serde_json::Value>>)]
    pub target_schema: Option<Value>,
}

/// Check a mapping request: the name, the connectors it names (which the caller must be
/// able to see: one they cannot see is answered as one that does not exist), the schemas'
/// shape, and that its rules compile (every error with its rule index and path).
async fn validated(
    state: &InteropState,
    guard: &Guard,
    request: MappingRequest,
) -> Result<MappingContent, api::ApiError> {
    let mut errors = Vec::new();
    let name = request.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        errors.push(FieldError::new(
            "/name",
            "must be 1 to 100 characters, without control characters",
        ));
    }
    for (pointer, end) in [("/source", &request.source), ("/target", &request.target)] {
        if let Some(end) = end
            && (crate::connector_store::get(&state.db, &end.connector)
                .await
                .is_err()
                || !may_reference(guard, &connector_object(&end.connector)).await?)
        {
            errors.push(FieldError::new(
                format!("{pointer}/connector"),
                "no connector with this id",
            ));
        }
    }
    for (pointer, schema) in [
        ("/source_schema", &request.source_schema),
        ("/target_schema", &request.target_schema),
    ] {
        if let Some(schema) = schema
            && let Err(message) = Schema::from_json_schema(schema)
        {
            errors.push(FieldError::new(pointer, message));
        }
    }
    match spec_of(&request.rules) {
        Ok(spec) => {
            if let Err(compile_errors) = mapping::Mapping::compile(&spec) {
                errors.extend(
                    compile_errors
                        .into_iter()
                        .map(|error| FieldError::new(error.path, error.message)),
                );
            }
        }
        Err(spec_errors) => errors.extend(spec_errors),
    }
    if !errors.is_empty() {
        return Err(Error::validation(errors).into());
    }
    Ok(MappingContent {
        name,
        source: request.source,
        target: request.target,
        rules: request.rules,
        source_schema: request.source_schema,
        target_schema: request.target_schema,
    })
}

fn spec_of(rules: &Value) -> Result<MappingSpec, Vec<FieldError>> {
    MappingSpec::from_json_value(json!({ "rules": rules })).map_err(|errors| {
        errors
            .into_iter()
            .map(|error| FieldError::new(error.path, error.message))
            .collect()
    })
}

/// List the mappings the caller may see.
#[utoipa::path(
    get, path = "/api/v1/interop/mappings", tag = "mappings",
    params(PageQuery),
    security(("bearer" = [])),
    responses((status = 200, body = PageResponse<StoredMapping>), CommonErrors)
)]
async fn list_mappings(
    State(state): State<InteropState>,
    guard: Guard,
    api::ApiQuery(query): api::ApiQuery<PageQuery>,
) -> ApiResult<ApiJson<PageResponse<StoredMapping>>> {
    let page = query.to_request()?;
    let scope = guard.scope(ObjectType::Mapping, "view").await?;
    Ok(ApiJson(
        mapping_store::list(&state.db, &scope, &page).await?.into(),
    ))
}

/// Create a mapping (`create_mapping`); its creator becomes its `owner`. Its rules must
/// compile; errors name the rule index and path. The connectors it names must be ones the
/// caller may see.
#[utoipa::path(
    post, path = "/api/v1/interop/mappings", tag = "mappings",
    request_body = MappingRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, body = StoredMapping, headers(("ETag" = String), ("Location" = String))),
        (status = 409, body = api::Problem, content_type = "application/problem+json", description = "`name_taken`: the name is taken"),
        CommonErrors
    )
)]
async fn create_mapping(
    State(state): State<InteropState>,
    guard: Guard,
    ApiJson(request): ApiJson<MappingRequest>,
) -> ApiResult<Response> {
    guard.require_platform("create_mapping").await?;
    let principal = guard.principal();
    let content = validated(&state, &guard, request).await?;
    let mapping = mapping_store::create(&state.db, content, Some(&principal.subject)).await?;
    guard.own(mapping_object(&mapping.id)).await?;
    api::audit::record(principal, "mapping.create", "mapping", &mapping.id);
    let location = format!("/api/v1/interop/mappings/{}", mapping.id);
    Ok(with_etag(
        mapping.version,
        (
            StatusCode::CREATED,
            [(header::LOCATION, location)],
            ApiJson(mapping),
        ),
    ))
}

/// Get a mapping with its `ETag`.
#[utoipa::path(
    get, path = "/api/v1/interop/mappings/{id}", tag = "mappings",
    params(("id" = String, Path, description = "Mapping id")),
    security(("bearer" = [])),
    responses((status = 200, body = StoredMapping), NotFound, CommonErrors)
)]
async fn get_mapping(
    State(state): State<InteropState>,
    guard: Guard,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    guard.require("view", &mapping_object(&id)).await?;
    let mapping = mapping_store::get(&state.db, &id).await?;
    Ok(with_etag(mapping.version, ApiJson(mapping)))
}

/// Replace a mapping (send `If-Match`).
#[utoipa::path(
    put, path = "/api/v1/interop/mappings/{id}", tag = "mappings",
    params(("id" = String, Path, description = "Mapping id"), api::IfMatchHeader),
    request_body = MappingRequest,
    security(("bearer" = [])),
    responses((status = 200, body = StoredMapping), UpdateErrors, CommonErrors)
)]
async fn update_mapping(
    State(state): State<InteropState>,
    guard: Guard,
    Path(id): Path<String>,
    if_match: IfMatch,
    ApiJson(request): ApiJson<MappingRequest>,
) -> ApiResult<Response> {
    guard.require("edit", &mapping_object(&id)).await?;
    let principal = guard.principal();
    let content = validated(&state, &guard, request).await?;
    let mapping = mapping_store::update(
        &state.db,
        &id,
        if_match.0,
        content,
        Some(&principal.subject),
    )
    .await?;
    api::audit::record(principal, "mapping.update", "mapping", &id);
    Ok(with_etag(mapping.version, ApiJson(mapping)))
}

/// Delete a mapping. A mapping that flows use (`mapping_id`) is not deleted (`409
/// in_use`, naming them in `flows`) unless `?cascade=true`, which deletes those flows too.
#[utoipa::path(
    delete, path = "/api/v1/interop/mappings/{id}", tag = "mappings",
    params(
        ("id" = String, Path, description = "Mapping id"),
        api::IfMatchHeader,
        super::connectors::DeleteQuery,
    ),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted (with the flows that used it, on a cascade)"),
        (status = 409, body = super::connectors::InUseProblem, content_type = "application/problem+json",
         description = "Flows use it (`in_use`), or, on a cascade, one of them has a queued or running run (`run_in_progress`); `flows` names them"),
        (status = 412, body = api::Problem, content_type = "application/problem+json", description = "The If-Match version is stale"),
        NotFound, CommonErrors
    )
)]
async fn delete_mapping(
    State(state): State<InteropState>,
    guard: Guard,
    Path(id): Path<String>,
    if_match: IfMatch,
    api::ApiQuery(query): api::ApiQuery<super::connectors::DeleteQuery>,
) -> ApiResult<Response> {
    super::connectors::delete_used(
        &state,
        &guard,
        crate::flow_store::Used::Mapping,
        &id,
        if_match,
        query.cascade.unwrap_or(false),
    )
    .await
}

/// The outcome of validating a mapping against its schemas.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct MappingValidation {
    /// True when there is no error (warnings allowed).
    pub valid: bool,
    /// What must be fixed: `rule` index, `path` (JSON Pointer into the mapping), `message`.
    #[schema(value_type = Vec<std::collections::HashMap<String, serde_json::Value>>)]
    pub errors: Vec<ValidationIssue>,
    /// What deserves a look (narrowing casts, unknown lengths ...).
    #[schema(value_type = Vec<std::collections::HashMap<String, serde_json::Value>>)]
    pub warnings: Vec<ValidationIssue>,
}

/// The schema of one end: the user's JSON Schema, else the connector's introspection
/// (which connects, so the caller needs `test` on the connector).
async fn schema_of(
    state: &InteropState,
    guard: &Guard,
    actor: &Actor,
    user: &Option<Value>,
    end: &Option<StreamRef>,
    label: &str,
    warnings: &mut Vec<ValidationIssue>,
) -> Option<Schema> {
    if let Some(schema) = user {
        return Schema::from_json_schema(schema).ok();
    }
    let end = end.as_ref()?;
    let unavailable = |reason: String| ValidationIssue {
        rule: None,
        path: format!("/{label}"),
        field: None,
        message: format!(
            "the {label} schema could not be introspected, so fields were not checked against it: {reason}"
        ),
    };
    let object = connector_object(&end.connector);
    match guard.allows("test", &object).await {
        Ok(true) => {}
        Ok(false) => {
            let visible = guard.allows("view", &object).await.unwrap_or(false);
            warnings.push(unavailable(if visible {
                "you may not connect to this connector (that needs `test` on it)".to_owned()
            } else {
                format!("no connector with id {}", end.connector)
            }));
            return None;
        }
        Err(error) => {
            warnings.push(unavailable(error.0.message().to_owned()));
            return None;
        }
    }
    let connector = match state.connect(&end.connector, actor).await {
        Ok(connector) => connector,
        Err(error) => {
            warnings.push(unavailable(error.0.message().to_owned()));
            return None;
        }
    };
    match connector.discover().await {
        Ok(catalog) => match catalog
            .streams
            .iter()
            .find(|stream| stream.name == end.stream)
        {
            Some(stream) => Some(Schema::from_stream(stream)),
            None => {
                warnings.push(unavailable(format!(
                    "the connector has no stream {:?}",
                    end.stream
                )));
                None
            }
        },
        Err(error) => {
            warnings.push(unavailable(error.to_string()));
            None
        }
    }
}

/// Validate a stored mapping against its source and target schemas (the user's JSON
/// Schemas, else the connectors' introspection): unknown source paths, incompatible and
/// narrowing casts, unmapped required target fields, length limits.
#[utoipa::path(
    post, path = "/api/v1/interop/mappings/{id}/validate", tag = "mappings",
    params(("id" = String, Path, description = "Mapping id")),
    security(("bearer" = [])),
    responses((status = 200, body = MappingValidation), NotFound, CommonErrors)
)]
async fn validate_mapping(
    State(state): State<InteropState>,
    guard: Guard,
    Path(id): Path<String>,
) -> ApiResult<ApiJson<MappingValidation>> {
    guard.require("view", &mapping_object(&id)).await?;
    let actor = Actor::of(guard.principal());
    let stored = mapping_store::get(&state.db, &id).await?;
    let spec = spec_of(&stored.rules).map_err(Error::validation)?;
    let mut warnings = Vec::new();
    let source = schema_of(
        &state,
        &guard,
        &actor,
        &stored.source_schema,
        &stored.source,
        "source",
        &mut warnings,
    )
    .await;
    let target = schema_of(
        &state,
        &guard,
        &actor,
        &stored.target_schema,
        &stored.target,
        "target",
        &mut warnings,
    )
    .await;
    let mut report = mapping::validate(&spec, source.as_ref(), target.as_ref());
    report.warnings.extend(warnings);
    Ok(ApiJson(MappingValidation {
        valid: report.valid,
        errors: report.errors,
        warnings: report.warnings,
    }))
}

/// Where preview samples come from.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewSource {
    /// A stored connector's id.
    pub connector: String,
    /// Its stream.
    pub stream: String,
    /// How many records to take (1 to 100, default 10).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 100)]
    pub limit: Option<usize>,
}

/// Rules to try on sample records.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    /// The rules to apply.
    #[schema(value_type = Vec<std::collections::HashMap<String, serde_json::Value>>)]
    pub rules: Value,
    /// Sample records given inline (at most 100): JSON objects; any other value gets its
    /// own error in `outputs`.
    #[serde(default)]
    #[schema(value_type = Option<Vec<serde_json::Value>>, max_items = 100)]
    pub records: Option<Vec<Value>>,
    /// Or fetch samples from a connector's stream.
    #[serde(default)]
    pub source: Option<PreviewSource>,
}

/// What each sample became.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct PreviewResponse {
    /// The samples used (as given: a sample that is not an object has an error in
    /// `outputs`).
    #[schema(value_type = Vec<serde_json::Value>)]
    pub samples: Vec<Value>,
    /// One entry per sample: `index`, `output` (null when a rule failed) and `errors`.
    #[schema(value_type = Vec<std::collections::HashMap<String, serde_json::Value>>)]
    pub outputs: Vec<mapping::PreviewOutput>,
}

/// Apply rules to sample records, given inline or fetched from a connector, and show the
/// output and every per-record error. Nothing is written anywhere. Inline samples need no
/// permission; fetching them reads through the connector's secrets, which needs `test` on
/// it.
#[utoipa::path(
    post, path = "/api/v1/interop/mappings/preview", tag = "mappings",
    request_body = PreviewRequest,
    security(("bearer" = [])),
    responses((status = 200, body = PreviewResponse), NotFound, CommonErrors)
)]
async fn preview_mapping(
    State(state): State<InteropState>,
    guard: Guard,
    ApiJson(request): ApiJson<PreviewRequest>,
) -> ApiResult<ApiJson<PreviewResponse>> {
    let actor = Actor::of(guard.principal());
    let spec = spec_of(&request.rules).map_err(Error::validation)?;
    let samples = match (request.records, request.source) {
        (Some(records), None) => {
            if records.len() > MAX_PREVIEW_RECORDS {
                return Err(Error::invalid_field(
                    "/records",
                    format!("at most {MAX_PREVIEW_RECORDS} sample records"),
                )
                .into());
            }
            records
        }
        (None, Some(source)) => {
            let limit = source.limit.unwrap_or(10);
            if limit == 0 || limit > MAX_PREVIEW_RECORDS {
                return Err(Error::invalid_field(
                    "/source/limit",
                    format!("must be 1 to {MAX_PREVIEW_RECORDS}"),
                )
                .into());
            }
            guard
                .require("test", &connector_object(&source.connector))
                .await?;
            sample(&state, &actor, &source.connector, &source.stream, limit).await?
        }
        _ => {
            return Err(Error::invalid_field(
                "/records",
                "give either `records` or `source`, not both and not neither",
            )
            .into());
        }
    };
    let result = mapping::preview(&spec, &samples).map_err(|errors| {
        Error::validation(
            errors
                .into_iter()
                .map(|error| FieldError::new(error.path, error.message))
                .collect(),
        )
    })?;
    Ok(ApiJson(PreviewResponse {
        samples,
        outputs: result.outputs,
    }))
}

async fn sample(
    state: &InteropState,
    actor: &Actor,
    connector_id: &str,
    stream: &str,
    limit: usize,
) -> Result<Vec<Value>, api::ApiError> {
    let connector = state.connect(connector_id, actor).await?;
    let mut request = ReadRequest::full(stream);
    request.batch_size = limit;
    let mut batches = connector
        .read(request)
        .await
        .map_err(super::connectors::connector_error)?;
    let mut samples = Vec::with_capacity(limit);
    while samples.len() < limit {
        match batches.next().await {
            Some(Ok(batch)) => {
                let wanted = batch.batch.slice(0, limit - samples.len());
                samples.extend(wanted.to_records().into_iter().map(Value::Object));
            }
            Some(Err(error)) => return Err(super::connectors::connector_error(error)),
            None => break,
        }
    }
    Ok(samples)
}
