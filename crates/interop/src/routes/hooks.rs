//! `POST /api/v1/hooks/flows/{id}`: start a flow run from a signed webhook (e.g. an n8n
//! workflow). No bearer token: the caller proves itself with
//! `X-Grimos-Signature: sha256=<hex HMAC-SHA256 of the raw body>` keyed with the value of
//! the flow's `webhook_secret` reference.

use api::ApiResult;
use api::openapi::CommonErrors;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use http::HeaderMap;
use kernel::{Error, ErrorKind};
use subtle::ConstantTimeEq as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::InteropState;
use super::flows::{RunAccepted, accepted, idempotency_key};
use crate::flow_store;
use crate::run_manager::Trigger;

pub(super) fn router() -> OpenApiRouter<InteropState> {
    OpenApiRouter::new().routes(routes!(flow_hook))
}

fn no_such_flow() -> Error {
    Error::new(
        ErrorKind::NotFound,
        "not_found",
        "no such flow accepts webhooks",
    )
}

fn bad_signature() -> Error {
    Error::new(
        ErrorKind::Unauthenticated,
        "invalid_signature",
        "missing or invalid X-Grimos-Signature: expected sha256=<hex HMAC-SHA256 of the raw body>",
    )
}

/// Start a run of an enabled flow with a webhook secret. `202 {"id", "status"}`; `401`
/// for a missing or wrong signature; `404` for an unknown or disabled flow (or one
/// without a webhook secret), without saying which. Honours `Idempotency-Key`.
#[utoipa::path(
    post, path = "/api/v1/hooks/flows/{id}", tag = "runs",
    params(
        ("id" = String, Path, description = "Flow id"),
        ("X-Grimos-Signature" = String, Header, description = "sha256=<hex HMAC-SHA256 of the raw body>"),
        ("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe key")
    ),
    request_body(content = String, description = "Any body; it is what the signature covers"),
    responses(
        (status = 202, body = RunAccepted, description = "Queued"),
        (status = 200, body = RunAccepted, description = "The run this idempotency key started"),
        CommonErrors
    )
)]
async fn flow_hook(
    State(state): State<InteropState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let flow = match flow_store::get(&state.db, &id).await {
        Ok(flow) => flow,
        Err(error) if error.kind() == ErrorKind::NotFound => return Err(no_such_flow().into()),
        Err(error) => return Err(error.into()),
    };
    let Some(reference) = flow.webhook_secret.as_deref().filter(|_| flow.enabled) else {
        return Err(no_such_flow().into());
    };
    let given = headers
        .get("x-grimos-signature")
        .and_then(|value| value.to_str().ok())
        .ok_or_else(bad_signature)?;
    let secret = state.secrets.resolve(reference).await.map_err(|error| {
        tracing::warn!(flow_id = %id, reference, error = %error, "cannot resolve the webhook secret");
        Error::unavailable("the flow's webhook secret cannot be resolved", error)
    })?;
    let expected = flow_engine::signature(secret.expose().as_bytes(), &body);
    if !bool::from(expected.as_bytes().ct_eq(given.trim().as_bytes())) {
        return Err(bad_signature().into());
    }
    let key = idempotency_key(&headers)?;
    let (run, created) = state
        .runs
        .submit(&flow, Trigger::Webhook, key, None)
        .await?;
    if created {
        api::audit::record_system("webhook", "flow.run", "flow", &id);
    }
    Ok(accepted(&run, created))
}
