//! What the routes share: reading `type:id` references as the document describes them, the
//! schemas of enumerations taken from the authorization schema, and the rule "a caller may
//! ask about themselves; about anyone else with `manage_access`".

use std::collections::BTreeSet;

use api::ApiError;
use kernel::{Error, ErrorKind};

use crate::graph::Subject;
use crate::guard::{Guard, principal_subject};
use crate::model::{ObjectRef, ObjectType, Revision, SubjectRef};
use crate::schema::SCHEMA;

/// The pattern of an object, as the document states it (the derives repeat it as a literal;
/// a test holds them to this one).
#[cfg(test)]
pub(super) const OBJECT_PATTERN: &str = r"^(platform:grimos|(connector|mapping|flow|secret|token|user|service|group):[^\x00-\x1F\x7F-\x9F]{1,1024})$";

/// The pattern of a subject: a user or service principal (whose id has no `#`), or a
/// userset `type:id#relation`.
#[cfg(test)]
pub(super) const SUBJECT_PATTERN: &str = r"^((user|service):[^\x00-\x1F\x7F-\x9F#]{1,1024}|(platform:grimos|(connector|mapping|flow|secret|token|group):[^\x00-\x1F\x7F-\x9F]{1,1024})#[a-z][a-z0-9_]{0,63})$";

/// Read an object reference given at `pointer`.
pub(super) fn object(text: &str, pointer: &str) -> Result<ObjectRef, Error> {
    ObjectRef::parse(text).map_err(|error| at(pointer, error))
}

/// Read a subject reference given at `pointer`: `user:id` or `service:id` (an id without
/// `#`), or a userset `type:id#relation`.
pub(super) fn subject(text: &str, pointer: &str) -> Result<SubjectRef, Error> {
    let subject = SubjectRef::parse(text).map_err(|error| at(pointer, error))?;
    if subject.is_principal() && subject.object.id.contains('#') {
        return Err(at(
            pointer,
            Error::new(
                ErrorKind::Validation,
                "invalid_authz_reference",
                format!(
                    "{text:?}: a user or service id contains no '#'; a userset is written \
                     type:id#relation with a relation of lower-case letters, digits and _"
                ),
            ),
        ));
    }
    Ok(subject)
}

/// Read an `at_least` revision given at `pointer`: 1 to 18 digits.
pub(super) fn revision(text: &str, pointer: &str) -> Result<Revision, Error> {
    if text.is_empty() || text.len() > 18 || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(Error::invalid_field(
            pointer,
            "a revision is 1 to 18 digits: the revision a write returned",
        ));
    }
    text.parse().map_err(|error| at(pointer, error))
}

/// Read an object type (`connector`, `flow`, …) given at `pointer`.
pub(super) fn object_type(text: &str, pointer: &str) -> Result<ObjectType, Error> {
    text.parse().map_err(|error| at(pointer, error))
}

/// The same error, its message prefixed with where the value was.
pub(super) fn at(pointer: &str, error: Error) -> Error {
    if !error.fields().is_empty() {
        return error;
    }
    Error::new(
        error.kind(),
        error.code(),
        format!("{pointer}: {}", error.message()),
    )
}

/// Every action of the schema, once each, sorted.
pub(super) fn actions() -> Vec<&'static str> {
    let actions: BTreeSet<&'static str> = SCHEMA
        .iter()
        .flat_map(|schema| {
            schema
                .permissions
                .iter()
                .map(|permission| permission.action)
        })
        .collect();
    actions.into_iter().collect()
}

/// Every relation of the schema, once each, sorted.
pub(super) fn relations() -> Vec<&'static str> {
    let relations: BTreeSet<&'static str> = SCHEMA
        .iter()
        .flat_map(|schema| schema.relations.iter().map(|relation| relation.name))
        .collect();
    relations.into_iter().collect()
}

/// `{"type": "string", "enum": [every action]}`.
pub(super) fn action_schema() -> utoipa::openapi::schema::Object {
    api::openapi::string_enum(&actions())
}

/// `{"type": "string", "enum": [every relation]}`.
pub(super) fn relation_schema() -> utoipa::openapi::schema::Object {
    api::openapi::string_enum(&relations())
}

/// `{"type": "string", "enum": [every object type]}`.
pub(super) fn object_type_schema() -> utoipa::openapi::schema::Object {
    let kinds: Vec<&str> = ObjectType::ALL.iter().map(|kind| kind.as_str()).collect();
    api::openapi::string_enum(&kinds)
}

/// Fail with 403 unless the caller may `manage_access`; the message says what for.
pub(super) async fn require_manage_access(guard: &Guard, what: &str) -> Result<(), ApiError> {
    guard
        .require_platform("manage_access")
        .await
        .map_err(|ApiError(error)| {
            if error.kind() == ErrorKind::Forbidden {
                ApiError(Error::new(
                    ErrorKind::Forbidden,
                    "forbidden",
                    format!("{what} needs manage_access (admins): {}", error.message()),
                ))
            } else {
                ApiError(error)
            }
        })
}

/// The subject of a question: the caller themself with their credential's role, or —
/// for callers who may `manage_access` — anyone, with the roles stored for them.
pub(super) async fn subject_for(guard: &Guard, subject: &SubjectRef) -> Result<Subject, ApiError> {
    if *subject == principal_subject(guard.principal()) {
        return Ok(guard.subject());
    }
    require_manage_access(
        guard,
        &format!(
            "asking about {subject} (you are {})",
            principal_subject(guard.principal())
        ),
    )
    .await?;
    Ok(Subject::stored(subject.clone()))
}

/// What a caller must be allowed to change the relationships of `resource`: `manage` on it
/// when its type has that action (owners and admins; managers of a group), `manage_access`
/// otherwise (the platform's roles, tokens, users).
pub(super) async fn require_manage(guard: &Guard, resource: &ObjectRef) -> Result<(), ApiError> {
    let has_manage = crate::schema::of(resource.kind)
        .permission("manage")
        .is_some();
    if has_manage {
        guard.require("manage", resource).await
    } else {
        require_manage_access(guard, &format!("changing who holds what on {resource}")).await
    }
}
