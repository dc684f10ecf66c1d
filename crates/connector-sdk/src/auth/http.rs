//! Mapping HTTP failures onto [`ConnectorError`].

use std::time::Duration;

use reqwest::Response;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use crate::error::{ConnectorError, ErrorKind, Operation};

/// Maps a transport error. The URL is stripped first: it may carry an API key. The causes
/// are spelled out (`error sending request: ... invalid peer certificate: UnknownIssuer`),
/// and a refused server certificate is a configuration error, not retried: trying again
/// cannot make an untrusted certificate trusted.
///
/// A refusal of the egress policy (in the resolver or the redirect policy) becomes
/// [`egress_denied`].
pub fn map_reqwest_error(operation: Operation, err: reqwest::Error) -> ConnectorError {
    if let Some(denied) = egress::find_denial(&err) {
        return egress_denied(operation, denied.clone());
    }
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

/// A refusal of the egress policy as a connector error: [`ErrorKind::Permission`] (never
/// retried), the refusal — address, rule, how to allow it — as detail and as source (see
/// [`ConnectorError::egress_denial`]).
pub fn egress_denied(operation: Operation, denied: egress::EgressDenied) -> ConnectorError {
    ConnectorError::new(ErrorKind::Permission, operation, denied.to_string()).with_source(denied)
}

/// Checks a URL's literal address against `egress` before sending to it (a name is
/// checked by the client's resolver when connecting).
pub fn check_egress(
    operation: Operation,
    egress: &egress::EgressScope,
    url: &reqwest::Url,
) -> Result<(), ConnectorError> {
    egress
        .check_url(url)
        .map_err(|denied| egress_denied(operation, denied))
}

/// The size limit of an OAuth token answer.
pub const TOKEN_RESPONSE_LIMIT: usize = 1024 * 1024;

/// How much of an error answer is read for its excerpt.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// Reads `response`'s body, refusing one larger than `limit` bytes with an
/// [`ErrorKind::Data`] error naming the limit and `limit_name` (the setting that raises
/// it). A declared `Content-Length` over the limit is refused before reading.
pub async fn read_body_limited(
    operation: Operation,
    response: Response,
    limit: usize,
    limit_name: &str,
) -> Result<Vec<u8>, ConnectorError> {
    let too_large = || {
        ConnectorError::data(
            operation,
            format!(
                "the response body is larger than {} ({limit_name}); it was not read",
                human_size(limit)
            ),
        )
    };
    if response
        .content_length()
        .is_some_and(|declared| declared > limit as u64)
    {
        return Err(too_large());
    }
    let (body, complete) = read_up_to(response, limit)
        .await
        .map_err(|e| map_reqwest_error(operation, e))?;
    if complete { Ok(body) } else { Err(too_large()) }
}

/// Reads at most `limit` bytes of the body; `false` when more was left unread.
async fn read_up_to(
    mut response: Response,
    limit: usize,
) -> Result<(Vec<u8>, bool), reqwest::Error> {
    let declared = response
        .content_length()
        .and_then(|length| usize::try_from(length).ok())
        .unwrap_or(0);
    let mut body = Vec::with_capacity(declared.min(limit));
    while let Some(chunk) = response.chunk().await? {
        let room = limit - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body, false));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, true))
}

/// `64 MiB`, `1 KiB`, `1000 bytes`.
pub fn human_size(bytes: usize) -> String {
    const KIB: usize = 1024;
    const MIB: usize = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
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
    let (body, _) = read_up_to(response, ERROR_BODY_LIMIT)
        .await
        .unwrap_or_default();
    let excerpt: String = String::from_utf8_lossy(&body).chars().take(300).collect();
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
