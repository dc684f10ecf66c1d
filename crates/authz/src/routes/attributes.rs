//! Attributes of objects and subjects: the policies' `input.resource.attributes` and
//! `input.subject.attributes`.

use api::openapi::CommonErrors;
use api::{ApiJson, ApiResult};
use axum::extract::{Path, State};
use serde_json::Value;
use utoipa::ToSchema;

use super::refs;
use crate::guard::Guard;
use crate::service::Authz;

/// `{object}` of the attributes routes.
#[derive(Debug, Clone, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ObjectPath {
    /// The object or subject, URL-encoded: `connector:01a2…`, `user:01a2…`,
    /// `secret:vault:secret%2Fcrm%23token`.
    #[param(
        pattern = r"^(platform:grimos|(connector|mapping|flow|secret|token|user|service|group):[^\x00-\x1F\x7F-\x9F]{1,1024})$"
    )]
    pub object: String,
}

/// The attributes of one object.
#[derive(Debug, Clone, serde::Serialize, ToSchema)]
pub struct Attributes {
    /// `type:id`.
    pub object: String,
    /// The attributes (an empty object when none are set).
    #[schema(value_type = std::collections::HashMap<String, Value>)]
    pub attributes: Value,
    /// The revision the answer was made at (for a change: the revision it committed at).
    #[schema(pattern = "^[0-9]+$")]
    pub revision: String,
}

/// The attributes of an object or subject (`manage_access`).
#[utoipa::path(
    get, path = "/api/v1/authz/attributes/{object}", tag = "authz",
    params(ObjectPath),
    security(("bearer" = [])),
    responses((status = 200, body = Attributes), CommonErrors)
)]
pub(super) async fn get_attributes(
    State(authz): State<Authz>,
    guard: Guard,
    Path(path): Path<ObjectPath>,
) -> ApiResult<ApiJson<Attributes>> {
    let object = refs::object(&path.object, "/object")?;
    refs::require_manage_access(&guard, "reading attributes").await?;
    let graph = authz.snapshot()?;
    Ok(ApiJson(Attributes {
        attributes: graph
            .attributes(&object)
            .cloned()
            .unwrap_or_else(|| Value::Object(serde_json::Map::new())),
        object: object.to_string(),
        revision: graph.revision().to_string(),
    }))
}

/// Replace the attributes of an object or subject (`manage_access`) with a JSON object
/// (`{}` removes them): `{"classification": "restricted"}` on a connector,
/// `{"clearance": 3}` on a user. Policies read them at once.
#[utoipa::path(
    put, path = "/api/v1/authz/attributes/{object}", tag = "authz",
    params(ObjectPath),
    request_body(content = std::collections::HashMap<String, Value>, description = "The new attributes: a JSON object"),
    security(("bearer" = [])),
    responses((status = 200, body = Attributes), CommonErrors)
)]
pub(super) async fn put_attributes(
    State(authz): State<Authz>,
    guard: Guard,
    Path(path): Path<ObjectPath>,
    ApiJson(attributes): ApiJson<serde_json::Map<String, Value>>,
) -> ApiResult<ApiJson<Attributes>> {
    let object = refs::object(&path.object, "/object")?;
    refs::require_manage_access(&guard, "changing attributes").await?;
    let stored = if attributes.is_empty() {
        Value::Null
    } else {
        Value::Object(attributes.clone())
    };
    let revision = authz.set_attributes(&object, &stored).await?;
    api::audit::record(
        guard.principal(),
        "authz.attributes.update",
        object.kind.as_str(),
        &object.id,
    );
    Ok(ApiJson(Attributes {
        object: object.to_string(),
        attributes: Value::Object(attributes),
        revision: revision.to_string(),
    }))
}
