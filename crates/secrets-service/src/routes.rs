//! `/api/v1/secrets`: the embedded store's API; values are write-only.
//!
//! Every route asks the decision point through [`authz::Guard`]. A stored secret is the
//! object `secret:local:<name>`: reading its metadata, changing its value and deleting it
//! are its `view`, `edit` and `delete` actions (its owner, or admins through
//! `manage_secrets`' role); whoever first stores a secret becomes its owner. Storing a new
//! secret and listing every secret need the platform action `manage_secrets` (admins).

use std::sync::Arc;

use api::openapi::{CommonErrors, NotFound};
use api::{ApiJson, ApiResult, PageResponse};
use authz::{Guard, ObjectRef, ObjectType};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use http::StatusCode;
use kernel::Error;
use secrets::{LocalSecretStore, SecretMetadata, SecretValue};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::to_kernel_error;

/// Largest secret value accepted, in characters.
const MAX_VALUE_CHARS: usize = 64 * 1024;

/// What the secrets routes need.
#[derive(Clone)]
pub struct SecretsState {
    /// The embedded encrypted store.
    pub store: Arc<LocalSecretStore>,
}

/// The secrets routes; the caller provides the state.
pub fn router() -> OpenApiRouter<SecretsState> {
    OpenApiRouter::new()
        .routes(routes!(list_secrets))
        .routes(routes!(put_secret, get_secret, delete_secret))
}

/// A secret's metadata. The value is never returned.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct SecretView {
    /// The secret's name.
    pub name: String,
    /// How to use it in a configuration's secret field: `local:<name>`.
    pub reference: String,
    /// Incremented by each new value.
    pub version: u64,
    /// The master key its data key is wrapped with.
    pub key_id: String,
    /// When it was first set.
    pub created_at: DateTime<Utc>,
    /// When its value (or key wrapping) last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<SecretMetadata> for SecretView {
    fn from(metadata: SecretMetadata) -> Self {
        Self {
            reference: format!("local:{}", metadata.name),
            name: metadata.name,
            version: metadata.version,
            key_id: metadata.key_id,
            created_at: metadata.created_at,
            updated_at: metadata.updated_at,
        }
    }
}

/// A new value for a secret.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutSecretRequest {
    /// The value, 1 to 65536 characters (write-only: it is encrypted at once and never
    /// shown again).
    #[schema(value_type = String, format = Password, min_length = 1, max_length = 65536)]
    pub value: SecretValue,
}

/// The decision point's object for the stored secret `name`: `secret:local:<name>`.
pub fn secret_object(name: &str) -> ObjectRef {
    ObjectRef::new(ObjectType::Secret, format!("local:{name}"))
}

fn name_error(error: secrets::SecretError) -> Error {
    if error.kind() == secrets::ErrorKind::InvalidReference {
        Error::invalid_field("/name", error.message().to_owned())
    } else {
        to_kernel_error(error)
    }
}

/// Store a secret's value in the embedded encrypted store (201 when new, 200 when replaced).
/// Use it in configurations as `local:<name>`. Replacing a value needs `edit` on
/// `secret:local:<name>` (its owner, or admins); otherwise `manage_secrets` (admins), and
/// the caller becomes the new secret's owner.
#[utoipa::path(
    put, path = "/api/v1/secrets/{name}", tag = "secrets",
    params(("name" = String, Path, pattern = r"^(?:\.{0,2}[A-Za-z0-9_-][A-Za-z0-9_.-]*|\.{3,}[A-Za-z0-9_.-]*)(?:/(?:\.{0,2}[A-Za-z0-9_-][A-Za-z0-9_.-]*|\.{3,}[A-Za-z0-9_.-]*))*$", max_length = 255, description = "Secret name: at most 255 letters, digits, '.', '_', '-', '/' (send '/' as %2F); no empty, `.` or `..` segment")),
    request_body = PutSecretRequest,
    security(("bearer" = [])),
    responses((status = 201, body = SecretView), (status = 200, body = SecretView), CommonErrors)
)]
async fn put_secret(
    State(state): State<SecretsState>,
    guard: Guard,
    Path(name): Path<String>,
    ApiJson(request): ApiJson<PutSecretRequest>,
) -> ApiResult<Response> {
    let object = secret_object(&name);
    if !guard.allows("edit", &object).await? {
        guard.require_platform("manage_secrets").await?;
    }
    let principal = guard.principal();
    // A JSON string is UTF-8, so the characters are countable; the schema's bounds count
    // characters too.
    let length = std::str::from_utf8(request.value.expose_bytes())
        .map_or(usize::MAX, |value| value.chars().count());
    if length == 0 || length > MAX_VALUE_CHARS {
        return Err(Error::invalid_field(
            "/value",
            format!("must be 1 to {MAX_VALUE_CHARS} characters"),
        )
        .into());
    }
    let metadata = state
        .store
        .set(&name, &request.value)
        .await
        .map_err(name_error)?;
    api::audit::record(principal, "secret.put", "secret", &name);
    let status = if metadata.version == 1 {
        guard.own(object).await?;
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, ApiJson(SecretView::from(metadata))).into_response())
}

/// A secret's metadata (never its value): `view` on `secret:local:<name>` (its owner, or
/// admins); 404 for those who may not see it.
#[utoipa::path(
    get, path = "/api/v1/secrets/{name}", tag = "secrets",
    params(("name" = String, Path, pattern = r"^(?:\.{0,2}[A-Za-z0-9_-][A-Za-z0-9_.-]*|\.{3,}[A-Za-z0-9_.-]*)(?:/(?:\.{0,2}[A-Za-z0-9_-][A-Za-z0-9_.-]*|\.{3,}[A-Za-z0-9_.-]*))*$", max_length = 255, description = "Secret name")),
    security(("bearer" = [])),
    responses((status = 200, body = SecretView), NotFound, CommonErrors)
)]
async fn get_secret(
    State(state): State<SecretsState>,
    guard: Guard,
    Path(name): Path<String>,
) -> ApiResult<ApiJson<SecretView>> {
    guard.require("view", &secret_object(&name)).await?;
    let metadata = state.store.get_metadata(&name).await.map_err(name_error)?;
    Ok(ApiJson(metadata.into()))
}

/// Delete a secret (`delete` on `secret:local:<name>`: its owner, or admins; 404 for those
/// who may not see it). Configurations that reference it fail to connect until it is set
/// again; the relationships on it (its owner, its use grants) go with it.
#[utoipa::path(
    delete, path = "/api/v1/secrets/{name}", tag = "secrets",
    params(("name" = String, Path, pattern = r"^(?:\.{0,2}[A-Za-z0-9_-][A-Za-z0-9_.-]*|\.{3,}[A-Za-z0-9_.-]*)(?:/(?:\.{0,2}[A-Za-z0-9_-][A-Za-z0-9_.-]*|\.{3,}[A-Za-z0-9_.-]*))*$", max_length = 255, description = "Secret name")),
    security(("bearer" = [])),
    responses((status = 204, description = "Deleted"), NotFound, CommonErrors)
)]
async fn delete_secret(
    State(state): State<SecretsState>,
    guard: Guard,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    let object = secret_object(&name);
    guard.require("delete", &object).await?;
    let principal = guard.principal();
    state.store.delete(&name).await.map_err(name_error)?;
    guard.forget(&object).await?;
    api::audit::record(principal, "secret.delete", "secret", &name);
    Ok(StatusCode::NO_CONTENT)
}

/// Every secret's metadata, by name (`manage_secrets`: admins).
#[utoipa::path(
    get, path = "/api/v1/secrets", tag = "secrets",
    security(("bearer" = [])),
    responses((status = 200, body = PageResponse<SecretView>), CommonErrors)
)]
async fn list_secrets(
    State(state): State<SecretsState>,
    guard: Guard,
) -> ApiResult<ApiJson<PageResponse<SecretView>>> {
    guard.require_platform("manage_secrets").await?;
    let items = state
        .store
        .list()
        .await
        .map_err(to_kernel_error)?
        .into_iter()
        .map(SecretView::from)
        .collect();
    Ok(ApiJson(PageResponse {
        items,
        next_cursor: None,
    }))
}
