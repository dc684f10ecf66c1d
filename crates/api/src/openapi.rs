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

/// The errors any authenticated endpoint can answer. (The document's finishing step keeps
/// 413 and 415 only on operations that take a request body.)
#[derive(utoipa::IntoResponses)]
pub enum CommonErrors {
    /// The request cannot be read: `malformed_json` (with line and column),
    /// `unreadable_body`, `invalid_cursor`, `invalid_if_match`, `bad_request`.
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(Problem),
    /// Missing or invalid credentials: `unauthenticated`, `invalid_token`, `user_disabled`.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthenticated(Problem),
    /// The caller's role does not allow this: `forbidden`, `no_role`, `role_exceeds_caller`,
    /// `secret_use_denied`, `egress_denied` (the egress policy refuses a connector's
    /// destination).
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(Problem),
    /// The body is larger than the server accepts: `payload_too_large`.
    #[response(status = 413, content_type = "application/problem+json")]
    PayloadTooLarge(Problem),
    /// The body is not sent as JSON (`Content-Type: application/json`):
    /// `unsupported_media_type`.
    #[response(status = 415, content_type = "application/problem+json")]
    UnsupportedMediaType(Problem),
    /// Wrong types, unknown or missing fields, invalid values: `validation_failed`, with
    /// `errors` naming each field by its JSON Pointer.
    #[response(status = 422, content_type = "application/problem+json")]
    Validation(Problem),
    /// A dependency such as the database is unavailable: `unavailable`.
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(Problem),
    /// An unexpected failure (details are in the server log, under the request id):
    /// `internal`.
    #[response(status = 500, content_type = "application/problem+json")]
    Internal(Problem),
}

/// The object does not exist.
#[derive(utoipa::IntoResponses)]
pub enum NotFound {
    /// No object with that id: `not_found`.
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(Problem),
}

/// Errors of updates guarded by `If-Match`.
#[derive(utoipa::IntoResponses)]
pub enum UpdateErrors {
    /// No object with that id: `not_found`.
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(Problem),
    /// A unique name is already taken: `name_taken` (or another conflict with the current
    /// state, such as `last_admin`).
    #[response(status = 409, content_type = "application/problem+json")]
    Conflict(Problem),
    /// The `If-Match` version is stale: `precondition_failed`.
    #[response(status = 412, content_type = "application/problem+json")]
    PreconditionFailed(Problem),
}

/// A string schema that takes one of `values` (for `#[param(schema_with = ...)]` on query
/// parameters the handler checks by hand).
pub fn string_enum(values: &[&str]) -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().copied()))
        .build()
}

/// The `Idempotency-Key` request header of operations that start something, for OpenAPI
/// (`params(..., api::openapi::IdempotencyKeyHeader)`).
#[derive(Debug, Clone, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyKeyHeader {
    /// A repeat-safe key: 1 to 200 visible ASCII characters. A request repeated with the
    /// same key answers what the first one started instead of starting it again.
    #[param(
        rename = "Idempotency-Key",
        nullable = false,
        pattern = "^[!-~]{1,200}$"
    )]
    pub idempotency_key: Option<String>,
}
