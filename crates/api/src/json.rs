//! The strict JSON body extractor.
//!
//! - no or another `Content-Type` → 415 `unsupported_media_type`;
//! - a body over the limit → 413 `payload_too_large`;
//! - broken JSON → 400 `malformed_json`, with line and column;
//! - a body that is not a JSON object (every request body of the API is one) → 422
//!   `validation_failed` at `/` (serde would otherwise read a struct from an array);
//! - wrong types, unknown fields (request types use `deny_unknown_fields`), missing fields
//!   → 422 `validation_failed`, naming the field by its JSON Pointer.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};
use kernel::{Error, ErrorKind, FieldError};
use serde::de::DeserializeOwned;

use crate::problem::ApiError;

/// A JSON request body, deserialized strictly. Also a JSON response when returned.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !has_json_content_type(request.headers()) {
            return Err(ApiError(Error::new(
                ErrorKind::UnsupportedMediaType,
                "unsupported_media_type",
                "the request body must be JSON, sent with Content-Type: application/json",
            )));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(body_rejection)?;
        let value = parse(&bytes).map_err(ApiError)?;
        if !starts_an_object(&bytes) {
            return Err(ApiError(Error::validation(vec![FieldError::new(
                "/",
                "the request body must be a JSON object",
            )])));
        }
        Ok(ApiJson(value))
    }
}

/// Whether the JSON text's value is an object (its first non-blank character is `{`).
fn starts_an_object(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .find(|byte| !matches!(byte, b' ' | b'\t' | b'\n' | b'\r'))
        == Some(&b'{')
}

impl<T: serde::Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

fn has_json_content_type(headers: &http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
        .unwrap_or(false)
}

fn body_rejection(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError(Error::new(
            ErrorKind::PayloadTooLarge,
            "payload_too_large",
            "the request body is larger than this server accepts",
        ))
    } else {
        ApiError(Error::new(
            ErrorKind::BadRequest,
            "unreadable_body",
            "the request body could not be read",
        ))
    }
}

/// Deserialize `bytes` as `T`, turning serde's errors into the API's error shapes.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let pointer = json_pointer(error.path());
        let inner = error.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let message = clean_message(&inner);
                Error::validation(vec![FieldError::new(
                    refine_pointer(pointer, &message),
                    message,
                )])
            }
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => Error::new(
                ErrorKind::BadRequest,
                "malformed_json",
                format!(
                    "the request body is not valid JSON: {} (line {}, column {})",
                    clean_message(&inner),
                    inner.line(),
                    inner.column()
                ),
            ),
            serde_json::error::Category::Io => Error::new(
                ErrorKind::BadRequest,
                "unreadable_body",
                "the request body could not be read",
            ),
        }
    })?;
    deserializer.end().map_err(|error| {
        Error::new(
            ErrorKind::BadRequest,
            "malformed_json",
            format!("the request body has trailing characters after the JSON value (line {}, column {})", error.line(), error.column()),
        )
    })?;
    Ok(value)
}

/// serde's message without its " at line X column Y" suffix (we report positions ourselves).
fn clean_message(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(position) => text[..position].to_owned(),
        None => text,
    }
}

/// A serde path as an RFC 6901 JSON Pointer.
pub(crate) fn json_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut pointer = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => {
                pointer.push('/');
                pointer.push_str(&index.to_string());
            }
            Segment::Map { key } => {
                pointer.push('/');
                pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
            }
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    pointer
}

/// For "missing field `x`", serde points at the enclosing object; point at the field.
pub(crate) fn refine_pointer(pointer: String, message: &str) -> String {
    if let Some(rest) = message.strip_prefix("missing field `")
        && let Some(name) = rest.split('`').next()
    {
        return format!("{pointer}/{name}");
    }
    pointer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        limits: Vec<Limit>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Limit {
        size: u32,
    }

    fn field_error(body: &str) -> (String, String) {
        let error = parse::<Body>(body.as_bytes()).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Validation, "{error}");
        let field = &error.fields()[0];
        (field.path.clone(), field.message.clone())
    }

    #[test]
    fn validation_errors_name_the_field_by_json_pointer() {
        let cases = [
            (r#"{"name": 5, "limits": []}"#, "/name", "invalid type"),
            (
                r#"{"name": "a", "limits": [{"size": 1}, {"size": "x"}]}"#,
                "/limits/1/size",
                "invalid type",
            ),
            (r#"{"limits": []}"#, "/name", "missing field `name`"),
            (
                r#"{"name": "a", "limits": [], "extra": 1}"#,
                "/extra",
                "unknown field `extra`",
            ),
            (
                r#"{"name": "a", "limits": [{"size": -1}]}"#,
                "/limits/0/size",
                "invalid value",
            ),
        ];
        for (body, path, message_start) in cases {
            let (actual_path, message) = field_error(body);
            assert_eq!(actual_path, path, "{body}");
            assert!(message.starts_with(message_start), "{body}: {message}");
        }
    }

    #[test]
    fn broken_json_is_a_bad_request_with_its_position() {
        let error = parse::<Body>(b"{\"name\": \"a\",\n \"limits\": [").unwrap_err();
        assert_eq!(error.code(), "malformed_json");
        assert!(error.message().contains("line 2"), "{}", error.message());
        let trailing = parse::<Body>(br#"{"name": "a", "limits": []} x"#).unwrap_err();
        assert_eq!(trailing.code(), "malformed_json");
    }

    async fn extract(body: &'static str) -> Result<Body, Error> {
        let request = Request::builder()
            .method("POST")
            .header(header::CONTENT_TYPE, "application/json")
            .body(axum::body::Body::from(body))
            .unwrap();
        ApiJson::<Body>::from_request(request, &())
            .await
            .map(|ApiJson(body)| body)
            .map_err(|ApiError(error)| error)
    }

    #[tokio::test]
    async fn a_struct_is_never_read_from_an_array() {
        // serde reads a struct from a sequence of its fields in order; the API takes objects.
        assert_eq!(parse::<Body>(br#"["a", []]"#).unwrap().name, "a");
        let error = extract(r#" ["a", []]"#).await.unwrap_err();
        assert_eq!(error.code(), "validation_failed");
        assert_eq!(error.fields()[0].path, "/");
        assert!(extract(r#"{"name": "a", "limits": []}"#).await.is_ok());
        assert_eq!(extract("[").await.unwrap_err().code(), "malformed_json");
    }
}
