//! `POST /api/v1/hooks/flows/{id}`: start a flow run from a signed webhook (e.g. an n8n
//! workflow). No bearer token: the caller proves itself with
//! `X-Grimos-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` keyed
//! with the value of the flow's `webhook_secret` reference. A `t` outside the tolerance
//! window is refused, and so is a signature seen before (kept in `webhook_signatures`, which
//! servers sharing the database share, until its window ends): a captured request cannot
//! start another run.

use api::ApiResult;
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

/// The form of the signature header, for error messages.
const SIGNATURE_FORM: &str = "X-Grimos-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<raw body>\"> keyed with the flow's webhook secret";

/// Longest signature header read.
const MAX_SIGNATURE_HEADER: usize = 1024;

fn bad_signature(why: &str) -> Error {
    Error::new(
        ErrorKind::Unauthenticated,
        "invalid_signature",
        format!("{why}; expected {SIGNATURE_FORM}"),
    )
}

/// A parsed `t=<unix seconds>,v1=<hex>[,v1=<hex>...]` header (other keys are ignored, so
/// that a later scheme can be sent alongside).
#[derive(Debug, PartialEq, Eq)]
struct SignatureHeader {
    timestamp: i64,
    v1: Vec<String>,
}

fn parse_signature(header: &str) -> Result<SignatureHeader, Error> {
    let header = header.trim();
    if header.len() > MAX_SIGNATURE_HEADER {
        return Err(bad_signature("X-Grimos-Signature is too long"));
    }
    if header.starts_with("sha256=") {
        return Err(bad_signature(
            "the sha256=<hex HMAC of the body> form is no longer accepted: it does not cover a \
             timestamp, so a captured request could be replayed. Sign \"<t>.<raw body>\" instead, \
             where t is the current Unix time in seconds, and send t and the signature",
        ));
    }
    let mut timestamp = None;
    let mut v1 = Vec::new();
    for part in header.split(',') {
        let Some((key, value)) = part.trim().split_once('=') else {
            return Err(bad_signature("X-Grimos-Signature is malformed"));
        };
        match key {
            "t" if timestamp.is_none() => {
                let parsed = value
                    .parse::<i64>()
                    .ok()
                    .filter(|_| value.bytes().all(|byte| byte.is_ascii_digit()))
                    .ok_or_else(|| bad_signature("t must be a Unix time in seconds"))?;
                timestamp = Some(parsed);
            }
            "t" => return Err(bad_signature("X-Grimos-Signature has more than one t")),
            "v1" => {
                if value.len() != 64 || !value.bytes().all(|byte| byte.is_ascii_hexdigit()) {
                    return Err(bad_signature("v1 must be 64 hexadecimal digits"));
                }
                v1.push(value.to_ascii_lowercase());
            }
            _ => {}
        }
    }
    match (timestamp, v1.is_empty()) {
        (Some(timestamp), false) => Ok(SignatureHeader { timestamp, v1 }),
        (None, _) => Err(bad_signature("X-Grimos-Signature has no t")),
        (Some(_), true) => Err(bad_signature("X-Grimos-Signature has no v1")),
    }
}

/// Start a run of an enabled flow with a webhook secret. `202 {"id", "status"}`.
///
/// The caller signs like Stripe: `X-Grimos-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256
/// of "<t>.<raw body>">`, keyed with the value of the flow's `webhook_secret` reference.
/// `401` with code `invalid_signature` for a missing, malformed (including the old
/// `sha256=` form) or wrong signature, `signature_expired` when `t` is more than the
/// tolerance (300 s) away from the server's clock in either direction, and
/// `signature_reused` for a signature already accepted (a replayed request: sign each
/// request anew). `404` for an unknown or disabled flow (or one without a webhook secret),
/// without saying which. Honours `Idempotency-Key` (across re-signed retries).
#[utoipa::path(
    post, path = "/api/v1/hooks/flows/{id}", tag = "runs",
    params(
        ("id" = String, Path, description = "Flow id"),
        ("X-Grimos-Signature" = String, Header, description = "t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<raw body>\">; t within 300 s of the server's clock; each signature is accepted once"),
        api::openapi::IdempotencyKeyHeader
    ),
    request_body(content = String, description = "Any body; it is what the signature covers"),
    responses(
        (status = 202, body = RunAccepted, description = "Queued"),
        (status = 200, body = RunAccepted, description = "The run this idempotency key started"),
        (status = 401, body = api::Problem, content_type = "application/problem+json",
         description = "`invalid_signature` (missing, malformed, old `sha256=` form or wrong), `signature_expired` (t outside the tolerance window) or `signature_reused` (a replayed request)"),
        (status = 404, body = api::Problem, content_type = "application/problem+json", description = "No such flow accepts webhooks"),
        (status = 400, body = api::Problem, content_type = "application/problem+json", description = "A malformed `Idempotency-Key`"),
        (status = 409, body = api::Problem, content_type = "application/problem+json", description = "`run_in_progress`: a run of the flow is queued or running"),
        (status = 413, body = api::Problem, content_type = "application/problem+json", description = "The body is larger than the server accepts"),
        (status = 500, body = api::Problem, content_type = "application/problem+json", description = "An unexpected failure"),
        (status = 503, body = api::Problem, content_type = "application/problem+json", description = "The database or the flow's webhook secret is unavailable")
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
        .ok_or_else(|| bad_signature("X-Grimos-Signature is missing"))?
        .to_str()
        .map_err(|_| bad_signature("X-Grimos-Signature is not visible ASCII"))?;
    let given = parse_signature(given)?;
    // The webhook secret is used with the authority of the flow's owner, who was allowed
    // to use it when the flow was saved.
    let owner = crate::connector_access::flow_owner(&state.db, &id).await?;
    let secrets = state.access.secrets_for(&owner);
    let secret = secrets.resolve(reference).await.map_err(|error| {
        tracing::warn!(flow_id = %id, reference, error = %error, "cannot resolve the webhook secret");
        Error::unavailable("the flow's webhook secret cannot be resolved", error)
    })?;
    let expected =
        flow_engine::notify::signature_v1(secret.expose().as_bytes(), given.timestamp, &body);
    let Some(matched) = given
        .v1
        .iter()
        .find(|candidate| bool::from(expected.as_bytes().ct_eq(candidate.as_bytes())))
    else {
        return Err(bad_signature("the signature does not match the body and t").into());
    };
    let tolerance = state.runs.settings().webhook_tolerance;
    let tolerance_secs = i64::try_from(tolerance.as_secs()).unwrap_or(i64::MAX);
    let now = chrono::Utc::now();
    if now.timestamp().abs_diff(given.timestamp) > tolerance.as_secs() {
        return Err(Error::new(
            ErrorKind::Unauthenticated,
            "signature_expired",
            format!(
                "t is more than {tolerance_secs} s away from the server's time: sign each \
                 request when you send it (and keep your clock in sync)"
            ),
        )
        .into());
    }
    let key = idempotency_key(&headers)?;
    let expires_at =
        chrono::DateTime::from_timestamp(given.timestamp.saturating_add(tolerance_secs), 0)
            .unwrap_or(now);
    flow_store::purge_webhook_signatures(&state.db, now).await?;
    if !flow_store::record_webhook_signature(&state.db, &id, matched, expires_at).await? {
        tracing::warn!(flow_id = %id, "a webhook signature was sent again (replayed request refused)");
        return Err(Error::new(
            ErrorKind::Unauthenticated,
            "signature_reused",
            "this signature was already used: a request is accepted once; sign each request \
             anew with the current time",
        )
        .into());
    }
    let (run, created) = state
        .runs
        .submit(&flow, Trigger::Webhook, key, None)
        .await?;
    if created {
        api::audit::record_system("webhook", "flow.run", "flow", &id);
    }
    Ok(accepted(&run, created))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    const HEX: &str = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";

    #[test]
    fn the_header_is_read_like_stripes() {
        assert_eq!(
            parse_signature(&format!("t=1700000000,v1={HEX}")).unwrap(),
            SignatureHeader {
                timestamp: 1_700_000_000,
                v1: vec![HEX.to_owned()]
            }
        );
        // Several v1 values and unknown schemes are allowed.
        let parsed =
            parse_signature(&format!(" v0=abc, t=5 ,v1={HEX},v1={}", HEX.to_uppercase())).unwrap();
        assert_eq!(parsed.timestamp, 5);
        assert_eq!(parsed.v1, vec![HEX.to_owned(), HEX.to_owned()]);
    }

    #[test]
    fn malformed_headers_are_refused_with_the_expected_form() {
        for header in [
            String::new(),
            format!("v1={HEX}"),
            "t=1700000000".to_owned(),
            format!("t=-5,v1={HEX}"),
            format!("t=+5,v1={HEX}"),
            format!("t=1,t=2,v1={HEX}"),
            "t=1,v1=zz".to_owned(),
            format!("t=1,v1={HEX}00"),
            format!("t=1;v1={HEX}"),
            format!("t=1,v1={HEX},{}", "x".repeat(2000)),
        ] {
            let error = parse_signature(&header).unwrap_err();
            assert_eq!(error.code(), "invalid_signature", "{header}");
            assert!(
                error.message().contains("t=<unix seconds>"),
                "{header}: {}",
                error.message()
            );
        }
    }

    #[test]
    fn the_old_form_is_refused_with_an_explanation() {
        let error = parse_signature(&format!("sha256={HEX}")).unwrap_err();
        assert_eq!(error.code(), "invalid_signature");
        assert!(
            error.message().contains("no longer accepted"),
            "{}",
            error.message()
        );
        assert!(
            error.message().contains("<t>.<raw body>"),
            "{}",
            error.message()
        );
    }
}
