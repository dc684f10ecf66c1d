//! Middleware that makes every error response a problem document.
//!
//! Handlers already answer errors as problem+json; the router itself (404 for an unknown
//! route, 405 for a wrong method), axum's own rejections and the body-limit and timeout
//! layers answer in plain text. This middleware rewrites those into problem+json (leaving
//! deliberate `application/json` documents such as the readiness report alone), and stamps
//! every problem with the request id and trace id so a user can quote them to support.

use axum::body::to_bytes;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};
use kernel::ErrorCode;
use telemetry::http_middleware::RequestId;

use crate::problem::{PROBLEM_JSON, Problem};

/// Most bytes of an error body this middleware reads to rewrite it.
const MAX_ERROR_BODY: usize = 256 * 1024;

/// axum middleware: apply with `axum::middleware::from_fn(problem_responses)`, inside the
/// telemetry middleware (so that the trace id is known).
pub async fn problem_responses(request: Request, next: Next) -> Response {
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .map(|id| id.0.clone());
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|value| value.as_bytes().to_vec())
        .unwrap_or_default();
    // A handler that deliberately answers an error status with a JSON document of its own
    // (such as the readiness report) keeps it.
    if content_type.starts_with(b"application/json") {
        return response;
    }
    let is_problem = content_type.starts_with(PROBLEM_JSON.as_bytes());
    let (mut parts, body) = response.into_parts();
    let bytes = to_bytes(body, MAX_ERROR_BODY).await.unwrap_or_default();
    let mut problem = if is_problem {
        serde_json::from_slice::<Problem>(&bytes)
            .unwrap_or_else(|_| default_problem(status, &method, &path, &bytes))
    } else {
        default_problem(status, &method, &path, &bytes)
    };
    problem.request_id = request_id;
    problem.trace_id = telemetry::logging::current_trace_id();
    let rewritten = problem.into_response();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static(PROBLEM_JSON),
    );
    let (_, body) = rewritten.into_parts();
    Response::from_parts(parts, body)
}

/// The problem for an error response that did not come from a handler.
fn default_problem(status: StatusCode, method: &http::Method, path: &str, body: &[u8]) -> Problem {
    let text = String::from_utf8_lossy(body).trim().to_owned();
    let (code, detail) = match status {
        StatusCode::NOT_FOUND => (
            ErrorCode::RouteNotFound,
            format!("no route matches {method} {path}"),
        ),
        StatusCode::METHOD_NOT_ALLOWED => (
            ErrorCode::MethodNotAllowed,
            format!("{method} is not allowed on {path}; see the Allow header"),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            ErrorCode::PayloadTooLarge,
            "the request body is larger than this server accepts".to_owned(),
        ),
        StatusCode::REQUEST_TIMEOUT => (
            ErrorCode::RequestTimeout,
            "the request took longer than the server's request timeout".to_owned(),
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            ErrorCode::UnsupportedMediaType,
            if text.is_empty() {
                "unsupported media type".to_owned()
            } else {
                text
            },
        ),
        status if status.is_server_error() => {
            (ErrorCode::Internal, "an internal error occurred".to_owned())
        }
        _ => (
            ErrorCode::BadRequest,
            if text.is_empty() {
                status
                    .canonical_reason()
                    .unwrap_or("bad request")
                    .to_owned()
            } else {
                text
            },
        ),
    };
    Problem::new(status, code.as_str(), detail)
}
