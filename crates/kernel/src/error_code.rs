//! The catalogue of error codes: every stable `code` an [`Error`](crate::Error) or an HTTP
//! problem can carry, with the status it answers and a one-line meaning.
//!
//! Call sites may pass a code as a string literal (`Error::new(ErrorKind::Conflict,
//! "name_taken", ...)`) or as [`ErrorCode::as_str`]; either way the code must be listed here.
//! The `workspace-rules` crate's `error_codes` test scans the workspace's sources and fails
//! when a code used in the source is missing from this list, is raised with another kind
//! than the one listed, or when an entry here is no longer used; the error table of
//! `docs/api.md` is generated from this list (`cargo run -p workspace-rules --example
//! gen-error-table`).

use std::fmt;

use crate::ErrorKind;

/// How a code gets its HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Through the kind of the [`Error`](crate::Error) that carries it: the HTTP edge maps
    /// each kind to one status (`api::status_for`).
    Kind(ErrorKind),
    /// Directly: a code only the HTTP edge answers, with no kernel error behind it.
    Http(u16),
}

macro_rules! error_codes {
    ($($variant:ident = $code:literal, $status:expr, $meaning:literal;)+) => {
        /// Every error code grimOS answers. See the [module documentation](self).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $(
                #[doc = $meaning]
                $variant,
            )+
        }

        impl ErrorCode {
            /// Every code, in catalogue order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),+];

            /// The code as it appears in errors and problem documents, e.g. `name_taken`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)+
                }
            }

            /// How the code gets its HTTP status.
            pub const fn status(self) -> Status {
                match self {
                    $(ErrorCode::$variant => $status,)+
                }
            }

            /// What the code means, in one line.
            pub const fn meaning(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $meaning,)+
                }
            }
        }
    };
}

use ErrorKind::{
    BadRequest, Conflict, Forbidden, Internal, NotFound, PayloadTooLarge, PreconditionFailed,
    Unauthenticated, Unavailable, UnsupportedMediaType, Validation,
};
use Status::{Http, Kind};

error_codes! {
    MalformedJson = "malformed_json", Kind(BadRequest),
        "The body is not well-formed JSON; the detail names the line and column.";
    UnreadableBody = "unreadable_body", Kind(BadRequest),
        "The request body could not be read.";
    InvalidCursor = "invalid_cursor", Kind(BadRequest),
        "The `cursor` is not one this API returned; start again without it.";
    InvalidIfMatch = "invalid_if_match", Kind(BadRequest),
        "`If-Match` is not an ETag this API returned.";
    BadRequest = "bad_request", Kind(BadRequest),
        "The request cannot be read otherwise (e.g. an invalid `Idempotency-Key`).";
    Unauthenticated = "unauthenticated", Kind(Unauthenticated),
        "No credentials: send `Authorization: Bearer <token>`.";
    InvalidToken = "invalid_token", Kind(Unauthenticated),
        "The token is unknown, revoked, expired or does not verify.";
    UserDisabled = "user_disabled", Kind(Unauthenticated),
        "The token's user is disabled.";
    InvalidSignature = "invalid_signature", Kind(Unauthenticated),
        "A webhook signature is missing or does not verify.";
    SignatureExpired = "signature_expired", Kind(Unauthenticated),
        "A webhook signature's `t` is outside the tolerance window.";
    SignatureReused = "signature_reused", Kind(Unauthenticated),
        "A webhook signature was already accepted once.";
    Forbidden = "forbidden", Kind(Forbidden),
        "The caller's role does not allow this.";
    RoleExceedsCaller = "role_exceeds_caller", Kind(Forbidden),
        "A token may not be given more role than its creator has.";
    NoRole = "no_role", Kind(Forbidden),
        "A valid OIDC token whose role claim names no grimOS role.";
    SecretPermissionDenied = "secret_permission_denied", Kind(Forbidden),
        "The secret backend refused to read a secret.";
    SecretUseDenied = "secret_use_denied", Kind(Forbidden),
        "The acting principal has no grant to use a secret reference; the detail names it.";
    EgressDenied = "egress_denied", Kind(Forbidden),
        "The egress policy refuses the destination; the detail names the address and the rule.";
    NotFound = "not_found", Kind(NotFound),
        "No such object (or it is hidden from the caller).";
    RouteNotFound = "route_not_found", Kind(NotFound),
        "No route matches the method and path.";
    ConnectorNotFound = "connector_not_found", Kind(NotFound),
        "The system a connector points at reports a missing object (table, endpoint).";
    SecretNotFound = "secret_not_found", Kind(NotFound),
        "No secret with this name or reference.";
    MethodNotAllowed = "method_not_allowed", Http(405),
        "The route exists but not with this method; see the `Allow` header.";
    RequestTimeout = "request_timeout", Http(408),
        "The request took longer than `request_timeout_secs`.";
    NameTaken = "name_taken", Kind(Conflict),
        "An object with this name already exists.";
    LastAdmin = "last_admin", Kind(Conflict),
        "The change would leave no enabled admin.";
    RunInProgress = "run_in_progress", Kind(Conflict),
        "The flow already has an active run (on a cascading delete, `flows` lists them).";
    RunFinished = "run_finished", Kind(Conflict),
        "The run has already ended.";
    InUse = "in_use", Kind(Conflict),
        "Flows use the connector or mapping; `flows` lists them (`?cascade=true` deletes them).";
    GrantExists = "grant_exists", Kind(Conflict),
        "The subject already has a grant for this reference.";
    GroupExists = "group_exists", Kind(Conflict),
        "A group with this id exists already.";
    PolicyExists = "policy_exists", Kind(Conflict),
        "A policy with this name exists already.";
    PreconditionFailed = "precondition_failed", Kind(PreconditionFailed),
        "`If-Match` names a stale version; read again, reapply, retry.";
    PayloadTooLarge = "payload_too_large", Kind(PayloadTooLarge),
        "The body is larger than `body_limit_bytes`.";
    UnsupportedMediaType = "unsupported_media_type", Kind(UnsupportedMediaType),
        "The body is not JSON (`Content-Type: application/json`).";
    ValidationFailed = "validation_failed", Kind(Validation),
        "Wrong types, unknown or missing fields, invalid values; `errors` lists each by JSON Pointer.";
    ConnectorConfig = "connector_config", Kind(Validation),
        "The connector's configuration is refused by the connector (or by the system it reaches).";
    ConnectorUnsupported = "connector_unsupported", Kind(Validation),
        "The connector type cannot do this (e.g. write, or incremental reads).";
    InvalidSecretReference = "invalid_secret_reference", Kind(Validation),
        "A secret reference is malformed or outside the configured prefixes and directories.";
    InvalidDatabaseUrl = "invalid_database_url", Kind(Validation),
        "Configuration: the database URL is not valid.";
    InvalidMasterKey = "invalid_master_key", Kind(Validation),
        "Configuration: `GRIMOS_MASTER_KEY` is not a 32-byte key.";
    MasterKeyFromEnv = "master_key_from_env", Kind(Validation),
        "CLI: a master key given in `GRIMOS_MASTER_KEY` cannot be rotated by grimOS.";
    Vault = "vault", Kind(Validation),
        "Configuration: the Vault/OpenBao client settings are not valid.";
    Internal = "internal", Kind(Internal),
        "A bug or an unexpected failure; details are in the server log under the request id.";
    MasterKey = "master_key", Kind(Internal),
        "The master key files under `<data-dir>/keys` cannot be read or written.";
    SecretBackend = "secret_backend", Kind(Internal),
        "The secret backend failed unexpectedly (details in the server log).";
    PolicyEvalFailed = "policy_eval_failed", Kind(Internal),
        "A Rego policy failed while it was evaluated (a runtime error or its time limit).";
    Unavailable = "unavailable", Kind(Unavailable),
        "A dependency (database, identity provider) is down; retry later.";
    ConnectorAuth = "connector_auth", Kind(Validation),
        "The system a connector points at refused its credentials: fix the configuration or the secret it references.";
    InvalidAuthzReference = "invalid_authz_reference", Kind(Validation),
        "An object or subject is not written `type:id` or `type:id#relation` with a known type.";
    UnknownAction = "unknown_action", Kind(Validation),
        "The object type has no such action; the detail lists its actions.";
    InvalidRelationship = "invalid_relationship", Kind(Validation),
        "The object type has no such relation, or the subject cannot hold one.";
    RevisionUnknown = "revision_unknown", Kind(Validation),
        "The `at_least` revision has not been written yet.";
    PolicyInvalid = "policy_invalid", Kind(Validation),
        "The Rego policy does not compile (or its tests fail); the detail names line and column.";
    ConnectorUnavailable = "connector_unavailable", Kind(Unavailable),
        "The system a connector points at cannot be reached or failed; retry later.";
    MigrationFailed = "migration_failed", Kind(Unavailable),
        "Database migrations could not be applied.";
    SecretBackendUnavailable = "secret_backend_unavailable", Kind(Unavailable),
        "The secret backend (e.g. Vault) cannot be reached; retry later.";
}

impl ErrorCode {
    /// The catalogue entry for `code`, if there is one.
    pub fn parse(code: &str) -> Option<ErrorCode> {
        Self::ALL
            .iter()
            .copied()
            .find(|entry| entry.as_str() == code)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<ErrorCode> for &'static str {
    fn from(code: ErrorCode) -> Self {
        code.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case_and_named_like_their_variant() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let text = code.as_str();
            assert!(seen.insert(text), "{text} is listed twice");
            assert!(
                text.starts_with(|c: char| c.is_ascii_lowercase())
                    && text
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                    && !text.contains("__")
                    && !text.ends_with('_'),
                "{text} is not snake_case"
            );
            // The variant is the code in CamelCase, so a scan of the sources can map
            // `ErrorCode::NameTaken` to `name_taken`.
            let camel: String = text
                .split('_')
                .map(|word| {
                    let mut chars = word.chars();
                    chars
                        .next()
                        .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                        .unwrap_or_default()
                })
                .collect();
            assert_eq!(format!("{code:?}"), camel);
            assert_eq!(ErrorCode::parse(text), Some(*code));
        }
    }

    #[test]
    fn meanings_are_one_line_sentences_without_table_breaking_characters() {
        for code in ErrorCode::ALL {
            let meaning = code.meaning();
            assert!(
                !meaning.is_empty() && meaning.ends_with('.'),
                "{code}: {meaning}"
            );
            assert!(!meaning.contains('\n') && !meaning.contains('|'), "{code}");
        }
    }

    #[test]
    fn bare_http_statuses_are_client_or_server_errors() {
        for code in ErrorCode::ALL {
            if let Status::Http(status) = code.status() {
                assert!((400..600).contains(&status), "{code}: {status}");
            }
        }
        assert_eq!(ErrorCode::parse("no_such_code"), None);
    }
}
