//! Use grants as a view over the decision point's relationships.
//!
//! A use grant is the tuple `secret:<reference>#user@<subject>`, where the reference is
//! exact (`local:crm-token`) or a prefix ending in `*` (`vault:secret/crm/*`) and the
//! subject a user (`user:<id>`) or every holder of a role (`platform:grimos#<role>`).
//! [`SqlSecretGrants`] keeps `/api/v1/secret-grants` and `grimos secrets grant` working on
//! those tuples: a grant's id is the tuple's text, base64url-encoded, so it is stable and
//! names the same grant on every server. The decision itself is the authorizer's
//! ([`crate::AuthzSecretUse`]).

use std::sync::Arc;

use async_trait::async_trait;
use authz::{Authz, ObjectRef, ObjectType, Relationship, SharedAuthorizer, SubjectRef};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use kernel::{Error, ErrorKind, FieldError, Role};
use secrets::SecretRef;
use storage::{Database, map_sqlx_error, with_conn};
use tokio::sync::OnceCell;

use crate::authz_use::AuthzSecretUse;
use crate::policy::{Actor, SecretUsePolicy};

/// Who a grant is for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum GrantSubject {
    /// One user (by user id; OIDC and certificate principals by their subject).
    User {
        /// The user id or subject.
        #[schema(min_length = 1, max_length = 255)]
        id: String,
    },
    /// Everyone holding a role.
    Role {
        /// The role.
        role: Role,
    },
}

/// A use grant: the relationship `secret:<reference>#user@<subject>`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Grant {
    /// The grant's id: the text of its relationship
    /// (`secret:<reference>#user@user:<id>` or `…@platform:grimos#<role>`), base64url
    /// without padding.
    #[schema(pattern = "^[A-Za-z0-9_-]+$")]
    pub id: String,
    /// An exact secret reference (`local:crm-token`) or a prefix ending in `*`
    /// (`vault:secret/crm/*`).
    pub reference: String,
    /// Who may use it.
    pub subject: GrantSubject,
    /// When it was given.
    pub created_at: DateTime<Utc>,
    /// Who gave it.
    pub created_by: Option<String>,
}

/// A grant to give.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGrant {
    /// An exact secret reference (`local:crm-token`, `vault:secret/crm#token`) or a prefix
    /// ending in `*` (`local:crm-*`, `vault:secret/crm/*`).
    #[schema(
        min_length = 3,
        max_length = 1024,
        pattern = "^(env|file|vault|local):"
    )]
    pub reference: String,
    /// Who may use it.
    pub subject: GrantSubject,
}

const MAX_REFERENCE_LEN: usize = 1024;

/// The schemes a reference may have.
const SCHEMES: [&str; 4] = ["env:", "file:", "vault:", "local:"];

/// Check the shape of a grant's reference: a valid reference, or a scheme-prefixed prefix
/// ending in one `*`.
fn validate_pattern(pattern: &str) -> Result<(), FieldError> {
    let invalid = |message: &str| FieldError::new("/reference", message);
    if pattern.len() > MAX_REFERENCE_LEN {
        return Err(invalid("must be at most 1024 bytes"));
    }
    if !SCHEMES.iter().any(|scheme| pattern.starts_with(scheme)) {
        return Err(invalid(
            "must start with env:, file:, vault: or local: (a secret reference, or a prefix ending in *)",
        ));
    }
    match pattern.strip_suffix('*') {
        Some(prefix) if prefix.contains('*') => Err(invalid("only one trailing * is allowed")),
        Some(prefix) if prefix.contains("..") => Err(invalid("may not contain `..`")),
        Some(_) => Ok(()),
        None if pattern.contains('*') => Err(invalid("* is allowed only at the end")),
        None => pattern
            .parse::<SecretRef>()
            .map(|_| ())
            .map_err(|error| invalid(&format!("is not a secret reference: {error}"))),
    }
}

/// The form of `reference` grants are matched against: parsed (so only valid references
/// match) and without a Vault `?version=`.
pub(crate) fn canonical(reference: &str) -> Option<String> {
    let parsed: SecretRef = reference.parse().ok()?;
    let text = parsed.to_string();
    Some(match text.split_once("?version=") {
        Some((location, _)) => location.to_owned(),
        None => text,
    })
}

/// Whether the grant `pattern` covers `reference`.
pub fn matches(pattern: &str, reference: &str) -> bool {
    let Some(reference) = canonical(reference) else {
        return false;
    };
    match pattern.strip_suffix('*') {
        Some(prefix) => reference.starts_with(prefix),
        None => canonical(pattern).is_some_and(|pattern| pattern == reference),
    }
}

/// The relation a use grant is.
const USE_RELATION: &str = "user";

impl GrantSubject {
    /// The subject of the tuple: `user:<id>` or `platform:grimos#<role>`.
    pub fn to_subject(&self) -> SubjectRef {
        match self {
            Self::User { id } => SubjectRef::user(id.clone()),
            Self::Role { role } => SubjectRef::userset(ObjectRef::platform(), role.as_str()),
        }
    }

    /// The grant subject a tuple's subject is, when it is a user or a role (grants to
    /// groups or service principals are relationships the compatibility view leaves out).
    pub fn from_subject(subject: &SubjectRef) -> Option<Self> {
        match (&subject.relation, subject.object.kind) {
            (None, ObjectType::User) => Some(Self::User {
                id: subject.object.id.clone(),
            }),
            (Some(relation), ObjectType::Platform) => relation
                .parse::<Role>()
                .ok()
                .map(|role| Self::Role { role }),
            _ => None,
        }
    }
}

/// The use-grant tuple for `reference` and `subject`.
pub fn grant_tuple(reference: &str, subject: &GrantSubject) -> Relationship {
    Relationship {
        resource: ObjectRef::new(ObjectType::Secret, reference),
        relation: USE_RELATION.to_owned(),
        subject: subject.to_subject(),
    }
}

/// A grant's id: its tuple's text, base64url without padding.
pub fn grant_id(tuple: &Relationship) -> String {
    URL_SAFE_NO_PAD.encode(tuple.to_string())
}

/// The use-grant tuple a grant id names, if it is one.
pub fn parse_grant_id(id: &str) -> Option<(String, GrantSubject)> {
    let bytes = URL_SAFE_NO_PAD.decode(id).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let rest = text.strip_prefix("secret:")?;
    let separator = format!("#{USE_RELATION}@");
    // A reference may hold `#` (`vault:secret/crm#token`), a subject `@`: the split is at the
    // first separator after which a user or role subject follows.
    rest.match_indices(&separator).find_map(|(at, _)| {
        let reference = &rest[..at];
        let subject = SubjectRef::parse(&rest[at + separator.len()..]).ok()?;
        let subject = GrantSubject::from_subject(&subject)?;
        (!reference.is_empty()).then(|| (reference.to_owned(), subject))
    })
}

fn not_found(id: &str) -> Error {
    Error::not_found("secret grant", id)
}

#[derive(sqlx::FromRow)]
struct Row {
    object_id: String,
    subject: String,
    created_at: DateTime<Utc>,
    created_by: Option<String>,
}

impl Row {
    fn into_grant(self) -> Option<Grant> {
        let subject = GrantSubject::from_subject(&SubjectRef::parse(&self.subject).ok()?)?;
        let tuple = grant_tuple(&self.object_id, &subject);
        Some(Grant {
            id: grant_id(&tuple),
            reference: self.object_id,
            subject,
            created_at: self.created_at,
            created_by: self.created_by,
        })
    }
}

const SELECT: &str = "SELECT object_id, subject, created_at, created_by FROM authz_tuples \
     WHERE object_type = 'secret' AND relation = 'user'";

/// Use grants as relationships of the decision point (`secret:<reference>#user@…`): the
/// compatibility view behind `/api/v1/secret-grants` and `grimos secrets grant`, and a
/// [`SecretUsePolicy`] that asks the authorizer.
///
/// Writes go through the authorizer when one is given ([`SqlSecretGrants::with_authorizer`],
/// the server: its graph moves at once), otherwise straight into the relationship store
/// (the command line: running servers catch up through the change log within a second).
#[derive(Clone)]
pub struct SqlSecretGrants {
    db: Database,
    authorizer: Option<SharedAuthorizer>,
    /// The decision point opened on first use, when no authorizer was given.
    opened: Arc<OnceCell<Authz>>,
}

impl SqlSecretGrants {
    /// Grants in `db` (migrations must have run), written straight into the store.
    pub fn new(db: Database) -> Self {
        Self {
            db,
            authorizer: None,
            opened: Arc::new(OnceCell::new()),
        }
    }

    /// Write and decide through `authorizer` (the server's).
    pub fn with_authorizer(mut self, authorizer: SharedAuthorizer) -> Self {
        self.authorizer = Some(authorizer);
        self
    }

    async fn write(
        &self,
        writes: Vec<Relationship>,
        deletes: Vec<Relationship>,
        by: Option<&str>,
    ) -> Result<(), Error> {
        match &self.authorizer {
            Some(authorizer) => authorizer.write(writes, deletes, by).await.map(drop),
            None => {
                for tuple in &writes {
                    authz::service::validate(tuple)?;
                }
                authz::store::write(&self.db, &writes, &deletes, by)
                    .await
                    .map(drop)
            }
        }
    }

    /// Give a grant. 422 for a malformed reference, 409 when the same grant exists.
    pub async fn create(&self, grant: NewGrant, actor: Option<&str>) -> Result<Grant, Error> {
        validate_pattern(&grant.reference).map_err(|field| Error::validation(vec![field]))?;
        if let GrantSubject::User { id } = &grant.subject
            && (id.is_empty() || id.len() > 255 || id.chars().any(char::is_control))
        {
            return Err(Error::invalid_field(
                "/subject/id",
                "must be 1 to 255 characters, without control characters",
            ));
        }
        // Exact references are stored as they are matched: canonical, without `?version=`.
        let reference = if grant.reference.ends_with('*') {
            grant.reference
        } else {
            canonical(&grant.reference).unwrap_or(grant.reference)
        };
        let tuple = grant_tuple(&reference, &grant.subject);
        let id = grant_id(&tuple);
        if self.find(&reference, &grant.subject).await?.is_some() {
            return Err(Error::new(
                ErrorKind::Conflict,
                "grant_exists",
                "this subject already has a grant for this reference",
            ));
        }
        self.write(vec![tuple], Vec::new(), actor).await?;
        self.get(&id).await
    }

    async fn find(&self, reference: &str, subject: &GrantSubject) -> Result<Option<Grant>, Error> {
        let sql = format!("{SELECT} AND object_id = $1 AND subject = $2");
        let subject_text = subject.to_subject().to_string();
        let row: Option<Row> = with_conn!(&self.db, |conn| {
            sqlx::query_as(&sql)
                .bind(reference)
                .bind(&subject_text)
                .fetch_optional(conn)
                .await
        })
        .map_err(map_sqlx_error)?;
        Ok(row.and_then(Row::into_grant))
    }

    /// The grant `id`, or `NotFound`.
    pub async fn get(&self, id: &str) -> Result<Grant, Error> {
        let (reference, subject) = parse_grant_id(id).ok_or_else(|| not_found(id))?;
        self.find(&reference, &subject)
            .await?
            .ok_or_else(|| not_found(id))
    }

    /// Every grant to a user or a role, by reference then subject.
    pub async fn list(&self) -> Result<Vec<Grant>, Error> {
        let sql = format!("{SELECT} ORDER BY object_id, subject");
        let rows: Vec<Row> =
            with_conn!(&self.db, |conn| sqlx::query_as(&sql).fetch_all(conn).await)
                .map_err(map_sqlx_error)?;
        Ok(rows.into_iter().filter_map(Row::into_grant).collect())
    }

    /// Revoke the grant `id`; `NotFound` when there is none.
    pub async fn delete(&self, id: &str) -> Result<(), Error> {
        let grant = self.get(id).await?;
        self.write(
            Vec::new(),
            vec![grant_tuple(&grant.reference, &grant.subject)],
            None,
        )
        .await
    }

    /// The decision point, as given or opened (and caught up) now.
    async fn policy(&self) -> Result<AuthzSecretUse, Error> {
        if let Some(authorizer) = &self.authorizer {
            return Ok(AuthzSecretUse::new(authorizer.clone()));
        }
        let authz = self
            .opened
            .get_or_try_init(|| Authz::open(self.db.clone()))
            .await?;
        authz.refresh().await?;
        Ok(AuthzSecretUse::new(Arc::new(authz.clone())))
    }
}

/// The decision is the authorizer's ([`AuthzSecretUse`]); without a given authorizer, one
/// is opened over the database on first use and caught up before each decision.
#[async_trait]
impl SecretUsePolicy for SqlSecretGrants {
    async fn check(&self, actor: &Actor, reference: &str) -> Result<(), Error> {
        self.policy().await?.check(actor, reference).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_exact_references_and_prefixes_only() {
        let cases = [
            ("local:crm-token", "local:crm-token", true),
            ("local:crm-token", "local:crm-token-2", false),
            ("local:crm-*", "local:crm-token-2", true),
            ("local:crm-*", "local:other", false),
            ("vault:secret/crm/*", "vault:secret/crm/api#token", true),
            ("vault:secret/crm/*", "vault:secret/crmx/api#token", false),
            (
                "vault:secret/crm#token",
                "vault:secret/crm#token?version=3",
                true,
            ),
            (
                "vault:secret/crm/*",
                "vault:secret/crm/../admin#token",
                false,
            ),
            ("env:GRIMOS_SECRET_*", "env:GRIMOS_SECRET_CRM", true),
            ("env:GRIMOS_SECRET_*", "env:GRIMOS_MASTER_KEY", false),
            ("local:*", "vault:secret/x#y", false),
        ];
        for (pattern, reference, expected) in cases {
            assert_eq!(
                matches(pattern, reference),
                expected,
                "{pattern} ~ {reference}"
            );
        }
    }

    #[test]
    fn grant_ids_are_the_tuple_text_and_read_back() {
        let cases = [
            (
                "vault:secret/crm#token",
                GrantSubject::User {
                    id: "ann@example.com".into(),
                },
                "secret:vault:secret/crm#token#user@user:ann@example.com",
            ),
            (
                "local:crm-*",
                GrantSubject::Role { role: Role::Member },
                "secret:local:crm-*#user@platform:grimos#member",
            ),
        ];
        for (reference, subject, text) in cases {
            let tuple = grant_tuple(reference, &subject);
            assert_eq!(tuple.to_string(), text);
            authz::service::validate(&tuple).unwrap();
            let id = grant_id(&tuple);
            assert!(
                id.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
                "{id}"
            );
            assert_eq!(
                parse_grant_id(&id),
                Some((reference.to_owned(), subject.clone()))
            );
            assert_eq!(
                GrantSubject::from_subject(&subject.to_subject()),
                Some(subject)
            );
        }
        for id in [
            "",
            "not base64!",
            &URL_SAFE_NO_PAD.encode("connector:1#owner@user:a"),
            &URL_SAFE_NO_PAD.encode("secret:local:x#owner@user:a"),
            &URL_SAFE_NO_PAD.encode("secret:local:x#user@group:sre#member"),
        ] {
            assert_eq!(parse_grant_id(id), None, "{id}");
        }
    }

    #[test]
    fn malformed_patterns_are_refused() {
        for pattern in [
            "crm-token",
            "local:a*b",
            "local:**",
            "vault:secret/../*",
            "http://x",
        ] {
            assert!(validate_pattern(pattern).is_err(), "{pattern}");
        }
        for pattern in [
            "local:crm-token",
            "local:*",
            "vault:secret/crm/*",
            "env:GRIMOS_SECRET_A",
        ] {
            assert!(validate_pattern(pattern).is_ok(), "{pattern}");
        }
    }
}
