//! The OpenAPI document's frame; each service adds its own paths and schemas.

use api::openapi::BearerSecurity;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "grimOS API",
        description = "The grimOS platform API. Errors are RFC 9457 problem documents \
            (application/problem+json) with a stable `code`; lists are cursor-paginated \
            (`limit`, `cursor` → `next_cursor`); updates accept `If-Match` with the ETag you \
            read. Authenticate with `Authorization: Bearer <token>`.",
        license(name = "Apache-2.0")
    ),
    modifiers(&BearerSecurity),
    components(schemas(api::Problem, kernel::FieldError)),
    tags(
        (name = "auth", description = "Who is calling"),
        (name = "users", description = "Users (admins only, except reading yourself)"),
        (name = "tokens", description = "API tokens: shown once, stored hashed, revocable"),
        (name = "secrets", description = "The embedded encrypted secret store (admins only; values are write-only)"),
        (name = "connectors", description = "Connector types and stored connectors of the Interoperability Engine"),
        (name = "mappings", description = "Data mappings: rules, validation against schemas, preview"),
        (name = "health", description = "Liveness, readiness and metrics"),
    )
)]
pub struct ApiDoc;
