//! Use grants in the grimOS database (`secret_grants`), and the policy over them.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kernel::{Error, ErrorKind, FieldError, Role};
use secrets::SecretRef;
use storage::{Database, map_sqlx_error, with_conn};

use crate::policy::{Actor, SecretUsePolicy, use_denied};

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

impl GrantSubject {
    fn kind(&self) -> &'static str {
        match self {
            Self::User { .. } => "user",
            Self::Role { .. } => "role",
        }
    }

    fn value(&self) -> &str {
        match self {
            Self::User { id } => id,
            Self::Role { role } => role.as_str(),
        }
    }
}

/// A use grant.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Grant {
    /// The grant's id.
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
fn canonical(reference: &str) -> Option<String> {
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

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    reference: String,
    grantee_kind: String,
    grantee: String,
    created_at: DateTime<Utc>,
    created_by: Option<String>,
}

impl TryFrom<Row> for Grant {
    type Error = Error;

    fn try_from(row: Row) -> Result<Self, Error> {
        let subject = match row.grantee_kind.as_str() {
            "user" => GrantSubject::User { id: row.grantee },
            _ => GrantSubject::Role {
                role: row.grantee.parse().map_err(Error::internal)?,
            },
        };
        Ok(Grant {
            id: row.id,
            reference: row.reference,
            subject,
            created_at: row.created_at,
            created_by: row.created_by,
        })
    }
}

const COLUMNS: &str = "id, reference, grantee_kind, grantee, created_at, created_by";

/// Use grants stored in the grimOS database; the [`SecretUsePolicy`] over them.
#[derive(Clone)]
pub struct SqlSecretGrants {
    db: Database,
}

impl SqlSecretGrants {
    /// Grants in `db` (migrations must have run).
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// Give a grant. 422 for a malformed reference, 409 when the same grant exists.
    pub async fn create(&self, grant: NewGrant, actor: Option<&str>) -> Result<Grant, Error> {
        validate_pattern(&grant.reference).map_err(|field| Error::validation(vec![field]))?;
        if let GrantSubject::User { id } = &grant.subject
            && (id.is_empty() || id.len() > 255)
        {
            return Err(Error::invalid_field(
                "/subject/id",
                "must be 1 to 255 characters",
            ));
        }
        let id = kernel::new_id();
        let now = Utc::now();
        let result = with_conn!(&self.db, |conn| {
            sqlx::query(
                "INSERT INTO secret_grants (id, reference, grantee_kind, grantee, created_at, created_by) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&id)
            .bind(&grant.reference)
            .bind(grant.subject.kind())
            .bind(grant.subject.value())
            .bind(now)
            .bind(actor)
            .execute(conn)
            .await
            .map(|_| ())
        });
        match result {
            Ok(()) => self.get(&id).await,
            Err(error) if storage::is_unique_violation(&error) => Err(Error::new(
                ErrorKind::Conflict,
                "grant_exists",
                "this subject already has a grant for this reference",
            )),
            Err(error) => Err(map_sqlx_error(error)),
        }
    }

    /// The grant `id`, or `NotFound`.
    pub async fn get(&self, id: &str) -> Result<Grant, Error> {
        let sql = format!("SELECT {COLUMNS} FROM secret_grants WHERE id = $1");
        let row: Option<Row> = with_conn!(&self.db, |conn| {
            sqlx::query_as(&sql).bind(id).fetch_optional(conn).await
        })
        .map_err(map_sqlx_error)?;
        row.ok_or_else(|| Error::not_found("secret grant", id))?
            .try_into()
    }

    /// Every grant, by reference then subject.
    pub async fn list(&self) -> Result<Vec<Grant>, Error> {
        let sql = format!(
            "SELECT {COLUMNS} FROM secret_grants ORDER BY reference, grantee_kind, grantee, id"
        );
        let rows: Vec<Row> =
            with_conn!(&self.db, |conn| sqlx::query_as(&sql).fetch_all(conn).await)
                .map_err(map_sqlx_error)?;
        rows.into_iter().map(Grant::try_from).collect()
    }

    /// Revoke the grant `id`; `NotFound` when there is none.
    pub async fn delete(&self, id: &str) -> Result<(), Error> {
        let affected = with_conn!(&self.db, |conn| {
            sqlx::query("DELETE FROM secret_grants WHERE id = $1")
                .bind(id)
                .execute(conn)
                .await
                .map(|result| result.rows_affected())
        })
        .map_err(map_sqlx_error)?;
        if affected == 0 {
            return Err(Error::not_found("secret grant", id));
        }
        Ok(())
    }

    /// The references granted to `actor` (as user or through its role).
    async fn patterns_of(&self, actor: &Actor) -> Result<Vec<String>, Error> {
        with_conn!(&self.db, |conn| {
            sqlx::query_scalar(
                "SELECT reference FROM secret_grants WHERE (grantee_kind = 'user' AND grantee = $1) \
                 OR (grantee_kind = 'role' AND grantee = $2)",
            )
            .bind(&actor.subject)
            .bind(actor.role.as_str())
            .fetch_all(conn)
            .await
        })
        .map_err(map_sqlx_error)
    }
}

#[async_trait]
impl SecretUsePolicy for SqlSecretGrants {
    async fn check(&self, actor: &Actor, reference: &str) -> Result<(), Error> {
        if actor.subject.is_empty() {
            return Err(use_denied(reference));
        }
        if actor.role == Role::Admin {
            return Ok(());
        }
        let patterns = self.patterns_of(actor).await?;
        if patterns.iter().any(|pattern| matches(pattern, reference)) {
            Ok(())
        } else {
            Err(use_denied(reference))
        }
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
