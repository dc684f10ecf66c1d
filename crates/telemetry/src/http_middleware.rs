//! The per-request telemetry middleware.
//!
//! For every request it: takes the caller's `x-request-id` (or makes one) and echoes it on
//! the response; opens an `http_request` span continuing the caller's W3C `traceparent`;
//! counts the request in flight; and records `http_server_request_duration_seconds` by
//! method, route template and status code when the response is ready. One access-log line
//! per request is written at the end, inside the span.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use http::HeaderValue;
use tracing::Instrument as _;

use crate::propagation::continue_remote_context;

/// The request-id header, accepted from callers and echoed back.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The id of the current request, available to handlers as a request extension.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The route label used for requests that matched no route (keeps metric cardinality low).
const UNMATCHED_ROUTE: &str = "unmatched";

/// axum middleware: wrap the whole router with `axum::middleware::from_fn(observe_request)`.
pub async fn observe_request(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|value| is_acceptable_request_id(value))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_else(|| UNMATCHED_ROUTE.to_owned());
    let span = tracing::info_span!(
        "http_request",
        otel.name = %format!("{method} {route}"),
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        http.request.method = %method,
        http.route = %route,
        url.path = %request.uri().path(),
        http.response.status_code = tracing::field::Empty,
        request_id = %request_id,
    );
    continue_remote_context(&span, request.headers());
    request
        .extensions_mut()
        .insert(RequestId(request_id.clone()));

    let in_flight = InFlight::enter();
    let mut response = next.run(request).instrument(span.clone()).await;
    drop(in_flight);

    let status = response.status();
    let elapsed = started.elapsed();
    span.record("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
    metrics::histogram!(
        "http_server_request_duration_seconds",
        "http_request_method" => method,
        "http_route" => route,
        "http_response_status_code" => status.as_str().to_owned(),
    )
    .record(elapsed.as_secs_f64());
    span.in_scope(|| {
        tracing::info!(
            status = status.as_u16(),
            duration_ms = elapsed.as_secs_f64() * 1000.0,
            "request completed"
        );
    });
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

/// A caller's request id is kept when it is short, visible ASCII (so it is safe in logs and
/// headers); otherwise a new one is made.
fn is_acceptable_request_id(value: &str) -> bool {
    !value.is_empty() && value.len() <= 128 && value.bytes().all(|byte| byte.is_ascii_graphic())
}

/// Counts a request in `http_server_active_requests` while alive, also when the request
/// future is dropped midway (client gone, timeout).
struct InFlight;

impl InFlight {
    fn enter() -> Self {
        metrics::gauge!("http_server_active_requests").increment(1.0);
        InFlight
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        metrics::gauge!("http_server_active_requests").decrement(1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_from_callers_are_kept_only_when_safe() {
        assert!(is_acceptable_request_id("abc-123"));
        assert!(!is_acceptable_request_id(""));
        assert!(!is_acceptable_request_id("has space"));
        assert!(!is_acceptable_request_id("line\nbreak"));
        assert!(!is_acceptable_request_id(&"x".repeat(129)));
    }
}
