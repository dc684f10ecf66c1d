//! The vocabulary of decisions: objects, subjects, relationships, revisions.
//!
//! Objects and subjects are written the same way everywhere (API, CLI, logs, reasons):
//! an object is `type:id` (`connector:01a2…`, `secret:vault:secret/crm#token`), a subject
//! is a user or service principal (`user:01a2…`, `service:ci`) or a userset
//! (`group:sre#member`). The id of an object is everything after the first `:`, so secret
//! references keep their own colons and `#`.

use std::fmt;
use std::str::FromStr;

use kernel::{Error, ErrorKind};

/// The id of the one platform object, `platform:grimos`, whose relations are the roles.
pub const PLATFORM_ID: &str = "grimos";

/// The kinds of object the decision point knows.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ObjectType {
    /// `platform:grimos`: the built-in roles are its relations.
    Platform,
    /// A stored connector.
    Connector,
    /// A stored mapping.
    Mapping,
    /// A stored flow (its runs and dead letters belong to it).
    Flow,
    /// A secret reference (or a reference prefix ending in `*`).
    Secret,
    /// An API token.
    Token,
    /// A user (also a subject).
    User,
    /// A service principal (a subject only).
    Service,
    /// A group of users, service principals and other groups.
    Group,
}

impl ObjectType {
    /// Every type, in a fixed order.
    pub const ALL: [ObjectType; 9] = [
        ObjectType::Platform,
        ObjectType::Connector,
        ObjectType::Mapping,
        ObjectType::Flow,
        ObjectType::Secret,
        ObjectType::Token,
        ObjectType::User,
        ObjectType::Service,
        ObjectType::Group,
    ];

    /// The name used in `type:id`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ObjectType::Platform => "platform",
            ObjectType::Connector => "connector",
            ObjectType::Mapping => "mapping",
            ObjectType::Flow => "flow",
            ObjectType::Secret => "secret",
            ObjectType::Token => "token",
            ObjectType::User => "user",
            ObjectType::Service => "service",
            ObjectType::Group => "group",
        }
    }
}

impl fmt::Display for ObjectType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ObjectType {
    type Err = Error;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        ObjectType::ALL
            .into_iter()
            .find(|kind| kind.as_str() == value)
            .ok_or_else(|| {
                invalid_reference(format!(
                    "unknown object type {value:?}; expected one of platform, connector, \
                     mapping, flow, secret, token, user, service, group"
                ))
            })
    }
}

fn invalid_reference(message: String) -> Error {
    Error::new(ErrorKind::Validation, "invalid_authz_reference", message)
}

const MAX_ID_LEN: usize = 1024;

/// An object: `type:id`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectRef {
    /// Its type.
    pub kind: ObjectType,
    /// Its id within the type.
    pub id: String,
}

impl ObjectRef {
    /// The object `kind:id`.
    pub fn new(kind: ObjectType, id: impl Into<String>) -> Self {
        Self {
            kind,
            id: id.into(),
        }
    }

    /// `platform:grimos`.
    pub fn platform() -> Self {
        Self::new(ObjectType::Platform, PLATFORM_ID)
    }

    /// Parse `type:id`.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let (kind, id) = text.split_once(':').ok_or_else(|| {
            invalid_reference(format!(
                "{text:?} is not an object; write it as type:id (e.g. connector:01a2…)"
            ))
        })?;
        let kind: ObjectType = kind.parse()?;
        check_id(text, id)?;
        if kind == ObjectType::Platform && id != PLATFORM_ID {
            return Err(invalid_reference(format!(
                "the only platform object is platform:{PLATFORM_ID}"
            )));
        }
        Ok(Self::new(kind, id))
    }
}

fn check_id(text: &str, id: &str) -> Result<(), Error> {
    if id.is_empty() || id.len() > MAX_ID_LEN || id.chars().any(char::is_control) {
        return Err(invalid_reference(format!(
            "{text:?}: an id is 1 to {MAX_ID_LEN} bytes without control characters"
        )));
    }
    Ok(())
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.id)
    }
}

/// A subject: a user or service principal, or every subject holding a relation on an
/// object (a userset: `group:sre#member`, `platform:grimos#operator`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubjectRef {
    /// The user, service principal, or the object of the userset.
    pub object: ObjectRef,
    /// The relation of a userset (`member`); `None` for a user or service principal.
    pub relation: Option<String>,
}

impl SubjectRef {
    /// The user `id`.
    pub fn user(id: impl Into<String>) -> Self {
        Self {
            object: ObjectRef::new(ObjectType::User, id),
            relation: None,
        }
    }

    /// The userset `object#relation`.
    pub fn userset(object: ObjectRef, relation: impl Into<String>) -> Self {
        Self {
            object,
            relation: Some(relation.into()),
        }
    }

    /// Parse `user:id`, `service:id` or `type:id#relation`.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let (object, relation) = match text.rsplit_once('#') {
            Some((object, relation)) if is_relation_name(relation) => {
                (object, Some(relation.to_owned()))
            }
            _ => (text, None),
        };
        let object = ObjectRef::parse(object)?;
        match (&relation, object.kind) {
            (None, ObjectType::User | ObjectType::Service) => {}
            (None, _) => {
                return Err(invalid_reference(format!(
                    "{text:?} is not a subject; a subject is user:id, service:id or a \
                     userset such as group:sre#member"
                )));
            }
            (Some(_), ObjectType::User | ObjectType::Service) => {
                return Err(invalid_reference(format!(
                    "{text:?}: users and service principals have no relations of their own"
                )));
            }
            (Some(_), _) => {}
        }
        Ok(Self { object, relation })
    }

    /// Whether this is a user or service principal (not a userset).
    pub fn is_principal(&self) -> bool {
        self.relation.is_none()
    }
}

/// A relation name: lower-case letters, digits and `_`, starting with a letter.
pub fn is_relation_name(text: &str) -> bool {
    let mut chars = text.chars();
    matches!(chars.next(), Some(first) if first.is_ascii_lowercase())
        && text.len() <= 64
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

impl fmt::Display for SubjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.relation {
            Some(relation) => write!(f, "{}#{relation}", self.object),
            None => write!(f, "{}", self.object),
        }
    }
}

/// One relationship tuple: `resource#relation@subject`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Relationship {
    /// The object the relation is on.
    pub resource: ObjectRef,
    /// The relation (`owner`, `editor`, `viewer`, `member`, …).
    pub relation: String,
    /// Who holds it.
    pub subject: SubjectRef,
}

impl fmt::Display for Relationship {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}@{}", self.resource, self.relation, self.subject)
    }
}

/// A consistency token: every write returns the revision it committed at, and a check may
/// ask to be evaluated at that revision or later. Written as a decimal string in the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Revision(pub i64);

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for Revision {
    type Err = Error;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        value
            .parse::<i64>()
            .ok()
            .filter(|number| *number >= 0)
            .map(Revision)
            .ok_or_else(|| {
                invalid_reference(format!(
                    "{value:?} is not a revision; use the revision a write returned"
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_and_subjects_round_trip_through_their_text() {
        for text in [
            "connector:01a2",
            "secret:vault:secret/crm#token",
            "platform:grimos",
        ] {
            assert_eq!(ObjectRef::parse(text).unwrap().to_string(), text);
        }
        for text in [
            "user:ann",
            "service:ci",
            "group:sre#member",
            "platform:grimos#operator",
        ] {
            assert_eq!(SubjectRef::parse(text).unwrap().to_string(), text);
        }
        let secret = ObjectRef::parse("secret:vault:secret/crm#token").unwrap();
        assert_eq!(secret.id, "vault:secret/crm#token");
    }

    #[test]
    fn malformed_references_are_refused_with_a_reason() {
        for text in ["connector", "nope:1", "connector:", "platform:other"] {
            let error = ObjectRef::parse(text).unwrap_err();
            assert_eq!(error.code(), "invalid_authz_reference", "{text}");
        }
        for text in ["connector:1", "user:ann#member", "group:sre#Member"] {
            assert!(SubjectRef::parse(text).is_err(), "{text}");
        }
        assert!("-1".parse::<Revision>().is_err());
        assert_eq!("42".parse::<Revision>().unwrap(), Revision(42));
    }
}
