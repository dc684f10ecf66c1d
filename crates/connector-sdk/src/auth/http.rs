//! Mapping HTTP failures onto [`ConnectorError`].

use std::time::Duration;

use reqwest::Response;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use crate::error::{ConnectorError, ErrorKind, Operation};

/// Maps a transport error. The URL is stripped first: it may carry an API key. The causes
/// are spelled out (`error sending request: ... invalid peer certificate: UnknownIssuer`),
/// and a refused server certificate is a configuration error, not retried: trying again
/// cannot make an untrusted certificate trusted.
pub fn map_reqwest_error(operation: Operation, err: reqwest::Error) -> ConnectorError {
    let err = err.without_url();
    let mut detail = err.to_string();
    let mut cause = std::error::Error::source(&err);
    while let Some(inner) = cause {
        let text = inner.to_string();
        if !detail.contains(&text) {
            detail.push_str(": ");
            detail.push_str(&text);
        }
        cause = inner.source();
    }
    let kind = if err.is_builder() || detail.to_ascii_lowercase().contains("certificate") {
        ErrorKind::Config
    } else if err.is_decode() {
        ErrorKind::Data
    } else {
        // connect, timeout, body, request: the network.
        ErrorKind::Transient
    };
    ConnectorError::new(kind, operation, format!("HTTP request failed: {detail}")).with_source(err)
}

/// The `Retry-After` header in seconds (the HTTP-date form is not honoured: the caller's
/// backoff applies then).
pub fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// Returns the response when its status is a success, else an error of the kind that status
/// means ([`ErrorKind::from_http_status`]) with the start of the body as detail and the
/// `Retry-After` wait for 429/503.
pub async fn error_for_status(
    operation: Operation,
    response: Response,
) -> Result<Response, ConnectorError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let retry_after = parse_retry_after(response.headers());
    let body = response.text().await.unwrap_or_default();
    let excerpt: String = body.chars().take(300).collect();
    let mut err = ConnectorError::new(
        ErrorKind::from_http_status(status.as_u16()),
        operation,
        format!("HTTP {status}: {excerpt}"),
    );
    if let Some(wait) = retry_after {
        err = err.with_retry_after(wait);
    }
    Err(err)
}
