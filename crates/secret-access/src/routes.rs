//! `/api/v1/secret-grants`: who may use which secret reference. Admins only.

use api::openapi::{CommonErrors, NotFound};
use api::{ApiJson, ApiResult, Caller, PageResponse};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use kernel::Access;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::grants::{Grant, NewGrant, SqlSecretGrants};

/// The grant routes; the caller provides the state.
pub fn router() -> OpenApiRouter<SqlSecretGrants> {
    OpenApiRouter::new()
        .routes(routes!(list_grants, create_grant))
        .routes(routes!(get_grant, delete_grant))
}

/// A grant already exists for this reference and subject.
#[derive(utoipa::IntoResponses)]
pub enum GrantConflict {
    /// `grant_exists`: the same subject already holds a grant for this reference.
    #[response(status = 409, content_type = "application/problem+json")]
    Conflict(api::Problem),
}

/// Every use grant, by reference.
#[utoipa::path(
    get, path = "/api/v1/secret-grants", tag = "secrets",
    security(("bearer" = [])),
    responses((status = 200, body = PageResponse<Grant>), CommonErrors)
)]
async fn list_grants(
    State(grants): State<SqlSecretGrants>,
    caller: Caller,
) -> ApiResult<ApiJson<PageResponse<Grant>>> {
    caller.require(Access::Admin)?;
    Ok(ApiJson(PageResponse {
        items: grants.list().await?,
        next_cursor: None,
    }))
}

/// Let a user or a role use a secret reference (an exact reference or a prefix ending in
/// `*`) in connectors, flows and notifications.
#[utoipa::path(
    post, path = "/api/v1/secret-grants", tag = "secrets",
    request_body = NewGrant,
    security(("bearer" = [])),
    responses((status = 201, body = Grant), GrantConflict, CommonErrors)
)]
async fn create_grant(
    State(grants): State<SqlSecretGrants>,
    caller: Caller,
    ApiJson(request): ApiJson<NewGrant>,
) -> ApiResult<Response> {
    let principal = caller.require(Access::Admin)?;
    let grant = grants.create(request, Some(&principal.subject)).await?;
    api::audit::record(principal, "secret_grant.create", "secret_grant", &grant.id);
    Ok((StatusCode::CREATED, ApiJson(grant)).into_response())
}

/// One grant.
#[utoipa::path(
    get, path = "/api/v1/secret-grants/{id}", tag = "secrets",
    params(("id" = String, Path, description = "Grant id")),
    security(("bearer" = [])),
    responses((status = 200, body = Grant), NotFound, CommonErrors)
)]
async fn get_grant(
    State(grants): State<SqlSecretGrants>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<ApiJson<Grant>> {
    caller.require(Access::Admin)?;
    Ok(ApiJson(grants.get(&id).await?))
}

/// Revoke a grant: the next use of the reference on that subject's behalf is refused
/// (runs that already resolved it keep the value until they connect again).
#[utoipa::path(
    delete, path = "/api/v1/secret-grants/{id}", tag = "secrets",
    params(("id" = String, Path, description = "Grant id")),
    security(("bearer" = [])),
    responses((status = 204, description = "Revoked"), NotFound, CommonErrors)
)]
async fn delete_grant(
    State(grants): State<SqlSecretGrants>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let principal = caller.require(Access::Admin)?;
    grants.delete(&id).await?;
    api::audit::record(principal, "secret_grant.delete", "secret_grant", &id);
    Ok(StatusCode::NO_CONTENT)
}
