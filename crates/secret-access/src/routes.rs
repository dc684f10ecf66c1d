//! `/api/v1/secret-grants`: who may use which secret reference, as a view over the
//! relationships `secret:<reference>#user@<subject>` of the decision point.
//!
//! Listing every grant needs the platform action `manage_secrets` (admins). A grant on one
//! reference may be given, read and revoked by whoever may `manage` `secret:<reference>`
//! (its owner) — or, failing that, by `manage_secrets` (admins; 403 `forbidden` for the
//! rest). A grant's id is its relationship's text, base64url-encoded.

use api::openapi::{CommonErrors, NotFound};
use api::{ApiJson, ApiResult, PageResponse};
use authz::{Guard, ObjectRef, ObjectType};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::grants::{Grant, NewGrant, SqlSecretGrants, parse_grant_id};

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

/// Fail unless the caller may manage the grants of `reference`: `manage` on
/// `secret:<reference>` (its owner), or the platform's `manage_secrets` (403 otherwise).
async fn may_manage(guard: &Guard, reference: Option<&str>) -> Result<(), api::ApiError> {
    if let Some(reference) = reference
        && guard
            .allows("manage", &ObjectRef::new(ObjectType::Secret, reference))
            .await?
    {
        return Ok(());
    }
    guard.require_platform("manage_secrets").await
}

/// Every use grant to a user or a role, by reference (`manage_secrets`: admins).
#[utoipa::path(
    get, path = "/api/v1/secret-grants", tag = "secrets",
    security(("bearer" = [])),
    responses((status = 200, body = PageResponse<Grant>), CommonErrors)
)]
async fn list_grants(
    State(grants): State<SqlSecretGrants>,
    guard: Guard,
) -> ApiResult<ApiJson<PageResponse<Grant>>> {
    guard.require_platform("manage_secrets").await?;
    Ok(ApiJson(PageResponse {
        items: grants.list().await?,
        next_cursor: None,
    }))
}

/// Let a user or a role use a secret reference (an exact reference or a prefix ending in
/// `*`) in connectors, flows and notifications: writes the relationship
/// `secret:<reference>#user@user:<id>` (or `…@platform:grimos#<role>`). Admins, or the
/// secret's owner.
#[utoipa::path(
    post, path = "/api/v1/secret-grants", tag = "secrets",
    request_body = NewGrant,
    security(("bearer" = [])),
    responses((status = 201, body = Grant), GrantConflict, CommonErrors)
)]
async fn create_grant(
    State(grants): State<SqlSecretGrants>,
    guard: Guard,
    ApiJson(request): ApiJson<NewGrant>,
) -> ApiResult<Response> {
    may_manage(&guard, Some(&request.reference)).await?;
    let principal = guard.principal();
    let grant = grants.create(request, Some(&principal.subject)).await?;
    api::audit::record(principal, "secret_grant.create", "secret_grant", &grant.id);
    Ok((StatusCode::CREATED, ApiJson(grant)).into_response())
}

/// One grant (admins, or the secret's owner).
#[utoipa::path(
    get, path = "/api/v1/secret-grants/{id}", tag = "secrets",
    params(("id" = String, Path, pattern = "^[A-Za-z0-9_-]+$", description = "Grant id (its relationship's text, base64url)")),
    security(("bearer" = [])),
    responses((status = 200, body = Grant), NotFound, CommonErrors)
)]
async fn get_grant(
    State(grants): State<SqlSecretGrants>,
    guard: Guard,
    Path(id): Path<String>,
) -> ApiResult<ApiJson<Grant>> {
    let reference = parse_grant_id(&id).map(|(reference, _)| reference);
    may_manage(&guard, reference.as_deref()).await?;
    Ok(ApiJson(grants.get(&id).await?))
}

/// Revoke a grant (admins, or the secret's owner): deletes its relationship, so the next
/// use of the reference on that subject's behalf is refused (runs that already resolved
/// it keep the value until they connect again).
#[utoipa::path(
    delete, path = "/api/v1/secret-grants/{id}", tag = "secrets",
    params(("id" = String, Path, pattern = "^[A-Za-z0-9_-]+$", description = "Grant id (its relationship's text, base64url)")),
    security(("bearer" = [])),
    responses((status = 204, description = "Revoked"), NotFound, CommonErrors)
)]
async fn delete_grant(
    State(grants): State<SqlSecretGrants>,
    guard: Guard,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let reference = parse_grant_id(&id).map(|(reference, _)| reference);
    may_manage(&guard, reference.as_deref()).await?;
    grants.delete(&id).await?;
    api::audit::record(
        guard.principal(),
        "secret_grant.delete",
        "secret_grant",
        &id,
    );
    Ok(StatusCode::NO_CONTENT)
}
