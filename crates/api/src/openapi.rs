//! Pieces every service's OpenAPI description shares: the bearer security scheme and the
//! problem responses.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::problem::Problem;

/// The name of the bearer security scheme in the document.
pub const BEARER: &str = "bearer";

/// Adds the bearer security scheme (grimOS API tokens `grm_...` or OIDC JWTs).
pub struct BearerSecurity;

impl utoipa::Modify for BearerSecurity {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A grimOS API token (grm_...) or an OIDC access token (JWT).",
                    ))
                    .build(),
            ),
        );
    }
}

/// The errors any authenticated endpoint can answer.
#[derive(utoipa::IntoResponses)]
pub enum CommonErrors {
    /// Malformed JSON, a bad cursor or an unreadable body.
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(Problem),
    /// Missing or invalid credentials.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthenticated(Problem),
    /// The caller's role does not allow this.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(Problem),
    /// The body is larger than the server accepts.
    #[response(status = 413, content_type = "application/problem+json")]
    PayloadTooLarge(Problem),
    /// Wrong types, unknown or missing fields, invalid values; `errors` lists each field.
    #[response(status = 422, content_type = "application/problem+json")]
    Validation(Problem),
    /// A dependency such as the database is unavailable.
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(Problem),
    /// An unexpected failure (details are in the server log, under the request id).
    #[response(status = 500, content_type = "application/problem+json")]
    Internal(Problem),
}

/// The object does not exist.
#[derive(utoipa::IntoResponses)]
pub enum NotFound {
    /// No object with that id.
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(Problem),
}

/// Errors of updates guarded by `If-Match`.
#[derive(utoipa::IntoResponses)]
pub enum UpdateErrors {
    /// No object with that id.
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(Problem),
    /// A unique name is already taken.
    #[response(status = 409, content_type = "application/problem+json")]
    Conflict(Problem),
    /// The `If-Match` version is stale.
    #[response(status = 412, content_type = "application/problem+json")]
    PreconditionFailed(Problem),
}
