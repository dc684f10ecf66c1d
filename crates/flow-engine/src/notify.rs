//! [`notify`]: POST a run summary to a webhook (e.g. an n8n Webhook node), signed with
//! `X-Grimos-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` when a
//! secret is configured (see [`signature`]).

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use connector_sdk::SecretSource;
use hmac::{Hmac, Mac as _};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::error::{EngineError, EngineErrorKind};
use crate::runner::RunOutcome;
use crate::spec::NotifySpec;

/// The signature header.
pub const SIGNATURE_HEADER: &str = "X-Grimos-Signature";

/// How long a notification may take.
pub const NOTIFY_TIMEOUT: Duration = Duration::from_secs(10);

/// The JSON body of a notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyPayload {
    /// The flow (id or name).
    pub flow: String,
    /// The run id, when the caller has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// `succeeded`, `failed` or `cancelled`.
    pub status: String,
    /// Records read.
    pub records_read: u64,
    /// Records written.
    pub records_written: u64,
    /// Records dead-lettered.
    pub records_rejected: u64,
    /// Why the run failed or stopped.
    pub error: Option<String>,
    /// RFC 3339.
    pub started_at: String,
    /// RFC 3339.
    pub finished_at: String,
}

impl NotifyPayload {
    /// The payload for a run outcome.
    pub fn from_outcome(
        flow: impl Into<String>,
        run_id: Option<String>,
        outcome: &RunOutcome,
    ) -> Self {
        Self {
            flow: flow.into(),
            run_id,
            status: outcome.status.as_str().to_owned(),
            records_read: outcome.counts.read,
            records_written: outcome.counts.written,
            records_rejected: outcome.counts.rejected,
            error: outcome.error.clone(),
            started_at: rfc3339(outcome.started_at),
            finished_at: rfc3339(outcome.finished_at),
        }
    }
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The value of [`SIGNATURE_HEADER`] for `body` sent at `timestamp` (Unix seconds):
/// `t=<timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>.<body>" with key>`, as Stripe signs
/// its webhooks. The receiver recomputes `v1` over the same bytes, refuses a `t` outside its
/// tolerance window (grimOS: 300 s either way) and a signature it has already seen.
pub fn signature(key: &[u8], timestamp: i64, body: &[u8]) -> String {
    format!("t={timestamp},v1={}", signature_v1(key, timestamp, body))
}

/// The `v1` part of a [`signature`]: the hex HMAC-SHA256 of `"<timestamp>.<body>"`.
pub fn signature_v1(key: &[u8], timestamp: i64, body: &[u8]) -> String {
    // HMAC accepts keys of any length; the error case cannot happen.
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(timestamp.to_string().as_bytes());
            mac.update(b".");
            mac.update(body);
            mac.finalize()
                .into_bytes()
                .iter()
                .map(|byte| format!("{byte:02x}"))
                .collect::<String>()
        }
        Err(_) => String::new(),
    }
}

/// The connector type the notifier's connections count as in the egress policy
/// (`egress.allow_for` entries for `notify`).
pub const NOTIFY_EGRESS_TYPE: &str = "notify";

/// Sends `payload` to `spec.url` when `spec.on` includes its status (otherwise does
/// nothing). The secret reference is resolved through `secrets`; its value is never logged.
/// The connection passes `egress` (as type [`NOTIFY_EGRESS_TYPE`]): a denied address is
/// refused before sending, every redirect hop is checked, and a signed notification
/// follows redirects only on its own origin.
/// A failure is an error for the caller to log; it must never fail the run.
pub async fn notify(
    spec: &NotifySpec,
    payload: &NotifyPayload,
    secrets: &dyn SecretSource,
    egress: &egress::EgressPolicy,
) -> Result<(), EngineError> {
    if !spec.wants(&payload.status) {
        return Ok(());
    }
    let fail = |message: String| EngineError::new(EngineErrorKind::Notify, message);
    let body = serde_json::to_vec(payload)
        .map_err(|error| fail(format!("cannot encode the notification: {error}")))?;
    let url = redacted(&spec.url);
    let target = reqwest::Url::parse(&spec.url)
        .map_err(|error| fail(format!("the notification URL is not valid: {error}")))?;
    let scope = egress.scope(NOTIFY_EGRESS_TYPE);
    scope
        .check_url(&target)
        .map_err(|denied| fail(format!("notifying {url} refused: {denied}")))?;
    let redirects = match spec.secret {
        Some(_) => egress::Redirects::SameOrigin,
        None => egress::Redirects::AnyOrigin,
    };
    let client = scope
        .client_builder(redirects)
        .timeout(NOTIFY_TIMEOUT)
        .build()
        .map_err(|error| fail(format!("cannot build the HTTP client: {error}")))?;
    let mut request = client
        .post(target)
        .header(reqwest::header::CONTENT_TYPE, "application/json");
    if let Some(reference) = &spec.secret {
        let secret = secrets.resolve(reference).await.map_err(|error| {
            fail(format!(
                "cannot resolve the notification secret `{reference}`: {error}"
            ))
        })?;
        request = request.header(
            SIGNATURE_HEADER,
            signature(secret.expose().as_bytes(), Utc::now().timestamp(), &body),
        );
    }
    let sent = request.body(body).send().await;
    let response = sent.map_err(|error| match egress::find_denial(&error) {
        Some(denied) => fail(format!("notifying {url} refused: {denied}")),
        None => fail(format!("notifying {url} failed: {}", error.without_url())),
    })?;
    let status = response.status();
    if status.is_success() {
        tracing::debug!(url = %url, status = status.as_u16(), "run notification sent");
        Ok(())
    } else {
        Err(fail(format!("notifying {url} failed: HTTP {status}")))
    }
}

/// The URL without query string or user info (webhook URLs may carry tokens there).
fn redacted(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) => {
            parsed.set_query(None);
            let _ = parsed.set_password(None);
            let _ = parsed.set_username("");
            parsed.to_string()
        }
        Err(_) => "the notification URL".into(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn signature_signs_timestamp_dot_body() {
        // HMAC-SHA256(key "Jefe", "0.what do ya want for nothing?"), computed independently
        // (Python: hmac.new(b"Jefe", b"0.what do ya want for nothing?", "sha256")).
        assert_eq!(
            signature(b"Jefe", 0, b"what do ya want for nothing?"),
            "t=0,v1=37f471929915ccd2cbbe79feb84ffcff4f2bb25e15fc41c2506687331ae179cc"
        );
        // The timestamp is covered: another one gives another v1 for the same body.
        assert_ne!(
            signature_v1(b"Jefe", 1_700_000_001, b"x"),
            signature_v1(b"Jefe", 1_700_000_000, b"x")
        );
    }

    #[test]
    fn redaction_drops_query_and_credentials() {
        assert_eq!(
            redacted("https://user:pw@n8n.example.com/webhook/x?token=abc"),
            "https://n8n.example.com/webhook/x"
        );
    }
}
