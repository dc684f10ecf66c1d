//! The strict query-string extractor: wrong types and unknown parameters are a 422 naming
//! the parameter.

use axum::extract::FromRequestParts;
use http::request::Parts;
use kernel::{Error, FieldError};
use serde::de::DeserializeOwned;

use crate::json::{json_pointer, refine_pointer};
use crate::problem::ApiError;

/// Query parameters, deserialized strictly.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        parse(query).map(ApiQuery).map_err(ApiError)
    }
}

/// Deserialize a query string as `T`.
pub fn parse<T: DeserializeOwned>(query: &str) -> Result<T, Error> {
    let deserializer =
        serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let pointer = json_pointer(error.path());
        let message = error.into_inner().to_string();
        let pointer = refine_pointer(pointer, &message);
        Error::validation(vec![FieldError::new(
            if pointer.is_empty() {
                "/".to_owned()
            } else {
                pointer
            },
            format!("query parameter: {message}"),
        )])
    })
}
