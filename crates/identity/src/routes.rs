//! HTTP routes: `/api/v1/auth/whoami`, `/api/v1/users`, `/api/v1/tokens`.
//!
//! Every route asks the decision point through [`authz::Guard`]: users are managed with
//! the platform action `manage_users` (admins); a token is created with `create_token`
//! (every role, for oneself, never with more role than one's own) and is owned by its user
//! (`token:<id>#owner@user:<user id>`), who may see and revoke it; lists of tokens are
//! filtered in the query. A user's role is kept as `platform:grimos#<role>@user:<id>`
//! ([`crate::relationships`]), written right after the user change commits.

use api::openapi::{CommonErrors, NotFound, UpdateErrors};
use api::{ApiJson, ApiQuery, ApiResult, IfMatch, PageQuery, PageResponse, with_etag};
use authz::{Guard, ObjectRef, ObjectType};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use http::{StatusCode, header};
use kernel::{Error, ErrorKind, FieldError, Principal, Role};
use storage::Database;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::relationships;
use crate::tokens::{self, ApiToken, NewToken, TokenValue};
use crate::users::{self, NewUser, User, UserChanges};

/// What the identity routes need.
#[derive(Clone)]
pub struct IdentityState {
    /// The database holding users and tokens.
    pub db: Database,
}

/// The identity routes, documented; the caller provides the state.
pub fn router() -> OpenApiRouter<IdentityState> {
    OpenApiRouter::new()
        .routes(routes!(whoami))
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user, delete_user))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(get_token, revoke_token))
}

/// Who the caller is.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct WhoAmI {
    /// The authenticated principal.
    #[serde(flatten)]
    pub principal: Principal,
    /// The grimOS user behind the credentials, when there is one.
    pub user: Option<User>,
}

/// Who am I? The principal behind the presented credentials, and its user. Any
/// authenticated caller, whatever its role (also `member`).
#[utoipa::path(
    get, path = "/api/v1/auth/whoami", tag = "auth",
    security(("bearer" = [])),
    responses((status = 200, body = WhoAmI), CommonErrors)
)]
async fn whoami(State(state): State<IdentityState>, guard: Guard) -> ApiResult<ApiJson<WhoAmI>> {
    let principal = guard.principal().clone();
    let user = match &principal.user_id {
        Some(user_id) => users::find(&state.db, user_id).await?,
        None => None,
    };
    Ok(ApiJson(WhoAmI { principal, user }))
}

/// Create a user.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    /// Unique login name: 1 to 64 letters, digits, `.`, `_`, `-`, `@`.
    #[schema(pattern = "^[A-Za-z0-9._@-]{1,64}$")]
    pub name: String,
    /// Contact address: `local@domain.tld`, at most 254 characters, no spaces or control
    /// characters.
    #[serde(default)]
    #[schema(
        max_length = 254,
        pattern = r"^[^@\x00-\x20\x7F]+@[^@\x00-\x20\x7F]+\.[^@\x00-\x20\x7F]+$"
    )]
    pub email: Option<String>,
    /// The user's role.
    pub role: Role,
}

/// Change a user; omitted fields stay as they are.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    /// New contact address (as in creation); `null` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 254, pattern = r"^[^@\x00-\x20\x7F]+@[^@\x00-\x20\x7F]+\.[^@\x00-\x20\x7F]+$")]
    pub email: Option<Option<String>>,
    /// New role.
    #[serde(default)]
    pub role: Option<Role>,
    /// Disable (true) or enable (false) the user.
    #[serde(default)]
    pub disabled: Option<bool>,
}

/// Distinguishes a field set to `null` (`Some(None)`) from an absent one (`None`).
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// List users (`manage_users`: admins; 403 `forbidden` for everyone else).
#[utoipa::path(
    get, path = "/api/v1/users", tag = "users",
    params(PageQuery),
    security(("bearer" = [])),
    responses((status = 200, body = PageResponse<User>), CommonErrors)
)]
async fn list_users(
    State(state): State<IdentityState>,
    guard: Guard,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<ApiJson<PageResponse<User>>> {
    guard.require_platform("manage_users").await?;
    let page = users::list(&state.db, &query.to_request()?).await?;
    Ok(ApiJson(page.into()))
}

/// Create a user (`manage_users`: admins). Answers 201 with the user, its `Location` and
/// `ETag`; the user's role becomes the relationship `platform:grimos#<role>@user:<id>`.
#[utoipa::path(
    post, path = "/api/v1/users", tag = "users",
    request_body = CreateUserRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, body = User, headers(("ETag" = String), ("Location" = String))),
        (status = 409, body = api::Problem, content_type = "application/problem+json", description = "The name is taken"),
        CommonErrors
    )
)]
async fn create_user(
    State(state): State<IdentityState>,
    guard: Guard,
    ApiJson(request): ApiJson<CreateUserRequest>,
) -> ApiResult<Response> {
    guard.require_platform("manage_users").await?;
    let principal = guard.principal();
    let name = request.name;
    let mut errors = Vec::new();
    if let Err(error) = users::validate_name(&name, "/name") {
        errors.push(error);
    }
    let email = request.email;
    if let Some(email) = &email
        && let Err(error) = users::validate_email(email, "/email")
    {
        errors.push(error);
    }
    if !errors.is_empty() {
        return Err(Error::validation(errors).into());
    }
    let user = users::create(
        &state.db,
        NewUser {
            name,
            email,
            role: request.role,
        },
    )
    .await?;
    relationships::sync_role(
        guard.authorizer().as_ref(),
        &state.db,
        &user.id,
        Some(&principal.subject),
    )
    .await?;
    api::audit::record(principal, "user.create", "user", &user.id);
    let location = format!("/api/v1/users/{}", user.id);
    Ok(with_etag(
        user.version,
        (
            StatusCode::CREATED,
            [(header::LOCATION, location)],
            ApiJson(user),
        ),
    ))
}

/// Get a user (the user themself, or whoever may `view` `user:<id>`: admins), with its
/// `ETag`. Others are answered 404, as if the user did not exist.
#[utoipa::path(
    get, path = "/api/v1/users/{id}", tag = "users",
    params(("id" = String, Path, description = "User id")),
    security(("bearer" = [])),
    responses((status = 200, body = User, headers(("ETag" = String))), NotFound, CommonErrors)
)]
async fn get_user(
    State(state): State<IdentityState>,
    guard: Guard,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    if guard.principal().user_id.as_deref() != Some(id.as_str()) {
        guard
            .require("view", &ObjectRef::new(ObjectType::User, id.as_str()))
            .await?;
    }
    let user = users::get(&state.db, &id).await?;
    Ok(with_etag(user.version, ApiJson(user)))
}

/// Change a user (`manage_users`: admins). Send `If-Match` with the ETag you read to avoid
/// overwriting someone else's change (412 if it changed meanwhile). A new role replaces
/// the user's role relationship on `platform:grimos`.
#[utoipa::path(
    patch, path = "/api/v1/users/{id}", tag = "users",
    params(
        ("id" = String, Path, description = "User id"),
        api::IfMatchHeader,
    ),
    request_body = UpdateUserRequest,
    security(("bearer" = [])),
    responses((status = 200, body = User, headers(("ETag" = String))), UpdateErrors, CommonErrors)
)]
async fn update_user(
    State(state): State<IdentityState>,
    guard: Guard,
    Path(id): Path<String>,
    if_match: IfMatch,
    ApiJson(request): ApiJson<UpdateUserRequest>,
) -> ApiResult<Response> {
    guard.require_platform("manage_users").await?;
    let principal = guard.principal();
    let email = match request.email {
        Some(Some(email)) => {
            users::validate_email(&email, "/email")
                .map_err(|error| Error::validation(vec![error]))?;
            Some(Some(email))
        }
        other => other,
    };
    let changes = UserChanges {
        email,
        role: request.role,
        disabled: request.disabled,
    };
    let role_changes = changes.role.is_some();
    let user = users::update(&state.db, &id, if_match.0, changes).await?;
    if role_changes {
        relationships::sync_role(
            guard.authorizer().as_ref(),
            &state.db,
            &user.id,
            Some(&principal.subject),
        )
        .await?;
    }
    api::audit::record(principal, "user.update", "user", &user.id);
    Ok(with_etag(user.version, ApiJson(user)))
}

/// Delete a user and their tokens (`manage_users`: admins). The last enabled admin cannot
/// be deleted. Every relationship naming the user goes with it.
#[utoipa::path(
    delete, path = "/api/v1/users/{id}", tag = "users",
    params(
        ("id" = String, Path, description = "User id"),
        api::IfMatchHeader,
    ),
    security(("bearer" = [])),
    responses((status = 204, description = "Deleted"), UpdateErrors, CommonErrors)
)]
async fn delete_user(
    State(state): State<IdentityState>,
    guard: Guard,
    Path(id): Path<String>,
    if_match: IfMatch,
) -> ApiResult<StatusCode> {
    guard.require_platform("manage_users").await?;
    let principal = guard.principal();
    users::delete(&state.db, &id, if_match.0).await?;
    guard
        .forget(&ObjectRef::new(ObjectType::User, id.as_str()))
        .await?;
    api::audit::record(principal, "user.delete", "user", &id);
    Ok(StatusCode::NO_CONTENT)
}

/// Filter for listing tokens.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TokenListQuery {
    /// Items per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page (empty: the first page).
    #[param(pattern = "^[A-Za-z0-9_-]*$", format = "grimos-cursor")]
    pub cursor: Option<String>,
    /// Only this user's tokens (among those you may see: admins see every token, others
    /// only their own).
    pub user_id: Option<String>,
}

/// List tokens: those you may `view` (your own; admins every one), optionally of one user.
/// Never shows token values. Filtered in the query, so pages stay full.
#[utoipa::path(
    get, path = "/api/v1/tokens", tag = "tokens",
    params(TokenListQuery),
    security(("bearer" = [])),
    responses((status = 200, body = PageResponse<ApiToken>), CommonErrors)
)]
async fn list_tokens(
    State(state): State<IdentityState>,
    guard: Guard,
    ApiQuery(query): ApiQuery<TokenListQuery>,
) -> ApiResult<ApiJson<PageResponse<ApiToken>>> {
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .to_request()?;
    let scope = guard.scope(ObjectType::Token, "view").await?;
    let tokens = tokens::list(&state.db, query.user_id.as_deref(), &scope, &page).await?;
    Ok(ApiJson(tokens.into()))
}

/// Create an API token.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenRequest {
    /// What the token is for: 1 to 100 characters, not only spaces, no control characters.
    #[schema(
        max_length = 100,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\x9F\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\x00-\x1F\x7F-\x9F]*$"
    )]
    pub name: String,
    /// The token's role: at most your own, and at most its user's.
    pub role: Role,
    /// When the token stops working (RFC 3339); never, if omitted. When you call with an API
    /// token that expires, required and at most that token's expiry: a token cannot outlive
    /// the token that creates it.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    /// The user the token acts as (admins only); yourself, if omitted.
    #[serde(default)]
    pub user_id: Option<String>,
}

/// A newly created token: the only time its value is shown.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    /// The token value (`grm_...`). Store it now: it cannot be shown again.
    pub token: String,
    /// The token's metadata.
    #[serde(flatten)]
    pub metadata: ApiToken,
}

/// Create an API token (`create_token`: every role, for yourself; for another user,
/// `manage_users`). Its role is at most your own and its user's. Answers 201 with its
/// value, shown this once; the token is owned by its user.
#[utoipa::path(
    post, path = "/api/v1/tokens", tag = "tokens",
    request_body = CreateTokenRequest,
    security(("bearer" = [])),
    responses((status = 201, body = CreatedToken, headers(("Location" = String))), CommonErrors)
)]
async fn create_token(
    State(state): State<IdentityState>,
    guard: Guard,
    ApiJson(request): ApiJson<CreateTokenRequest>,
) -> ApiResult<Response> {
    guard.require_platform("create_token").await?;
    let principal = guard.principal();
    let mut errors = Vec::new();
    if request.name.chars().count() > 100
        || request.name.chars().any(char::is_control)
        || request.name.trim().is_empty()
    {
        errors.push(FieldError::new(
            "/name",
            "must be 1 to 100 characters, not only spaces, without control characters",
        ));
    }
    let name = request.name.trim().to_owned();
    if request
        .expires_at
        .is_some_and(|expires| expires <= Utc::now())
    {
        errors.push(FieldError::new("/expires_at", "must be in the future"));
    } else if let Err(error) = tokens::check_lifetime(
        creator_token(&state.db, principal).await?.as_ref(),
        request.expires_at,
        "/expires_at",
    ) {
        errors.push(error);
    }
    let user_id = match (&request.user_id, &principal.user_id) {
        (Some(asked), own) if own.as_deref() != Some(asked.as_str()) => {
            guard.require_platform("manage_users").await?;
            asked.clone()
        }
        (Some(asked), _) => asked.clone(),
        (None, Some(own)) => own.clone(),
        (None, None) => {
            errors.push(FieldError::new(
                "/user_id",
                "required: API tokens belong to grimOS users, and you signed in without one",
            ));
            String::new()
        }
    };
    if !errors.is_empty() {
        return Err(Error::validation(errors).into());
    }
    if !principal.role.can_grant(request.role) {
        return Err(Error::new(
            ErrorKind::Forbidden,
            "role_exceeds_caller",
            format!(
                "a {} cannot create a {} token",
                principal.role, request.role
            ),
        )
        .into());
    }
    let user = users::find(&state.db, &user_id)
        .await?
        .ok_or_else(|| Error::invalid_field("/user_id", "no such user"))?;
    if user.disabled {
        return Err(Error::invalid_field("/user_id", "the user is disabled").into());
    }
    if !user.role.can_grant(request.role) {
        return Err(Error::invalid_field(
            "/role",
            format!("exceeds the user's role ({})", user.role),
        )
        .into());
    }
    let value = TokenValue::generate();
    let metadata = tokens::create(
        &state.db,
        NewToken {
            user_id: user.id,
            name,
            role: request.role,
            expires_at: request.expires_at,
            created_by: Some(principal.subject.clone()),
        },
        &value,
    )
    .await?;
    guard
        .authorizer()
        .write(
            vec![relationships::token_owner_tuple(
                &metadata.id,
                &metadata.user_id,
            )],
            Vec::new(),
            Some(&principal.subject),
        )
        .await?;
    api::audit::record(principal, "token.create", "token", &metadata.id);
    let location = format!("/api/v1/tokens/{}", metadata.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        ApiJson(CreatedToken {
            token: value.expose().to_owned(),
            metadata,
        }),
    )
        .into_response())
}

/// The API token the caller authenticated with, if it used one.
async fn creator_token(db: &Database, principal: &Principal) -> Result<Option<ApiToken>, Error> {
    let Some(token_id) = &principal.token_id else {
        return Ok(None);
    };
    match tokens::get(db, token_id).await {
        Ok(token) => Ok(Some(token)),
        // Gone since it authenticated this request (its user was deleted meanwhile).
        Err(error) if error.kind() == ErrorKind::NotFound => Err(Error::new(
            ErrorKind::Unauthenticated,
            "invalid_token",
            "the API token is unknown, revoked or expired",
        )),
        Err(error) => Err(error),
    }
}

/// Get a token's metadata (`view`: its owner, i.e. its user, or admins; 404 for others).
/// A revoked token is gone: 404 here, while the token list still shows it with its
/// `revoked_at`, for audit.
#[utoipa::path(
    get, path = "/api/v1/tokens/{id}", tag = "tokens",
    params(("id" = String, Path, description = "Token id")),
    security(("bearer" = [])),
    responses((status = 200, body = ApiToken), NotFound, CommonErrors)
)]
async fn get_token(
    State(state): State<IdentityState>,
    guard: Guard,
    Path(id): Path<String>,
) -> ApiResult<ApiJson<ApiToken>> {
    guard
        .require("view", &ObjectRef::new(ObjectType::Token, id.as_str()))
        .await?;
    let token = tokens::get(&state.db, &id).await?;
    if token.revoked_at.is_some() {
        return Err(Error::not_found("token", &id).into());
    }
    Ok(ApiJson(token))
}

/// Revoke a token (`delete`: its owner, i.e. its user, or admins; 404 for those who may
/// not see it). It stops working at once.
#[utoipa::path(
    delete, path = "/api/v1/tokens/{id}", tag = "tokens",
    params(("id" = String, Path, description = "Token id")),
    security(("bearer" = [])),
    responses((status = 204, description = "Revoked"), NotFound, CommonErrors)
)]
async fn revoke_token(
    State(state): State<IdentityState>,
    guard: Guard,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    guard
        .require("delete", &ObjectRef::new(ObjectType::Token, id.as_str()))
        .await?;
    tokens::revoke(&state.db, &id).await?;
    api::audit::record(guard.principal(), "token.revoke", "token", &id);
    Ok(StatusCode::NO_CONTENT)
}
