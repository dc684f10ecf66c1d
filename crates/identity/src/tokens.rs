//! API tokens.
//!
//! A token is `grm_` followed by 43 characters of base64url (32 random bytes). Only its
//! SHA-256 hash is stored: tokens are high-entropy, so a fast hash is safe, and lookups by
//! hash need no per-token salt. The first characters (`prefix`) are kept to help people
//! recognise their tokens in lists.

use authz::ListScope;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, SecondsFormat, Utc};
use kernel::{Error, FieldError, Page, PageRequest, Role};
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use storage::{Database, map_sqlx_error, with_conn};

/// Every grimOS API token starts with this.
pub const TOKEN_PREFIX: &str = kernel::API_TOKEN_PREFIX;

/// How many characters of a token are kept in clear as its `prefix`.
const DISPLAY_PREFIX_LEN: usize = 12;

/// How often `last_used_at` is written at most (it is a hint, not an audit trail).
const LAST_USED_RESOLUTION: chrono::Duration = chrono::Duration::seconds(60);

/// A token's plain value. Only handed out once; never printed.
pub struct TokenValue(String);

impl TokenValue {
    /// Make a new random token.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        TokenValue(format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// Take a token supplied by an operator (e.g. `GRIMOS_ADMIN_TOKEN`).
    pub fn from_supplied(value: String) -> Self {
        TokenValue(value)
    }

    /// The plain value, for the one response (or file) that hands it out.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The SHA-256 hash stored in the database.
    pub fn hash(&self) -> String {
        hash_token(&self.0)
    }

    /// The recognisable beginning of the token.
    pub fn display_prefix(&self) -> String {
        self.0.chars().take(DISPLAY_PREFIX_LEN).collect()
    }
}

impl std::fmt::Debug for TokenValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenValue(***)")
    }
}

/// Hex SHA-256 of a presented token.
pub fn hash_token(value: &str) -> String {
    let digest = Sha256::digest(value.as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A token's metadata (never its value or hash).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ApiToken {
    /// Id (UUIDv7).
    pub id: String,
    /// The user the token acts as.
    pub user_id: String,
    /// What the token is for.
    pub name: String,
    /// The role the token carries (at most its user's role).
    pub role: Role,
    /// The first characters of the token, to recognise it.
    pub prefix: String,
    /// Who created it (a user id or OIDC subject).
    pub created_by: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Roughly when it was last used (updated at most once a minute).
    pub last_used_at: Option<DateTime<Utc>>,
}

impl ApiToken {
    /// Whether the token is usable at `now`.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|expires| expires > now)
    }
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: String,
    user_id: String,
    name: String,
    role: String,
    prefix: String,
    created_by: Option<String>,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    last_used_at: Option<DateTime<Utc>>,
}

impl TryFrom<TokenRow> for ApiToken {
    type Error = Error;

    fn try_from(row: TokenRow) -> Result<Self, Error> {
        Ok(ApiToken {
            role: row.role.parse().map_err(Error::internal)?,
            id: row.id,
            user_id: row.user_id,
            name: row.name,
            prefix: row.prefix,
            created_by: row.created_by,
            created_at: row.created_at,
            expires_at: row.expires_at,
            revoked_at: row.revoked_at,
            last_used_at: row.last_used_at,
        })
    }
}

const COLUMNS: &str =
    "id, user_id, name, role, prefix, created_by, created_at, expires_at, revoked_at, last_used_at";

/// What a new token is.
#[derive(Debug, Clone)]
pub struct NewToken {
    /// The user it acts as.
    pub user_id: String,
    /// What it is for.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// When it stops working.
    pub expires_at: Option<DateTime<Utc>>,
    /// Who creates it.
    pub created_by: Option<String>,
}

/// Check a new token's expiry against the token that creates it: a token cannot outlive its
/// creator, so a short-lived (or stolen) token cannot mint a lasting one. When `creator`
/// expires, the new token must expire too, at the same time or earlier. `path` names the
/// request field in the error.
pub fn check_lifetime(
    creator: Option<&ApiToken>,
    requested: Option<DateTime<Utc>>,
    path: &str,
) -> Result<(), FieldError> {
    let Some(limit) = creator.and_then(|token| token.expires_at) else {
        return Ok(());
    };
    // Rounded down to the second, so that the time shown is itself allowed.
    let shown = limit.to_rfc3339_opts(SecondsFormat::Secs, true);
    match requested {
        None => Err(FieldError::new(
            path,
            format!(
                "required: the token you are using expires at {shown}, and a token it creates \
                 cannot outlive it; set an expiry at or before {shown}"
            ),
        )),
        Some(expires) if expires > limit => Err(FieldError::new(
            path,
            format!(
                "must be at or before {shown}, when the token you are using expires \
                 (a token cannot outlive the token that creates it)"
            ),
        )),
        Some(_) => Ok(()),
    }
}

/// Store a token for `value` (generated by the caller) and return its metadata.
pub async fn create(
    db: &Database,
    new_token: NewToken,
    value: &TokenValue,
) -> Result<ApiToken, Error> {
    let id = kernel::new_id();
    let now = Utc::now();
    with_conn!(db, |conn| {
        sqlx::query(
            "INSERT INTO api_tokens (id, user_id, name, role, prefix, token_hash, created_by, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&id)
        .bind(&new_token.user_id)
        .bind(&new_token.name)
        .bind(new_token.role.as_str())
        .bind(value.display_prefix())
        .bind(value.hash())
        .bind(&new_token.created_by)
        .bind(now)
        .bind(new_token.expires_at)
        .execute(conn)
        .await
        .map_err(map_sqlx_error)?
        .rows_affected()
    });
    get(db, &id).await
}

/// The token `id`, or `NotFound`.
pub async fn get(db: &Database, id: &str) -> Result<ApiToken, Error> {
    let row: Option<TokenRow> = with_conn!(db, |conn| {
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM api_tokens WHERE id = $1"))
            .bind(id)
            .fetch_optional(conn)
            .await
            .map_err(map_sqlx_error)?
    });
    row.map(ApiToken::try_from)
        .transpose()?
        .ok_or_else(|| Error::not_found("token", id))
}

/// The token whose value hashes to `token_hash`, with its user's role and state.
pub async fn find_by_hash(db: &Database, token_hash: &str) -> Result<Option<ApiToken>, Error> {
    let row: Option<TokenRow> = with_conn!(db, |conn| {
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM api_tokens WHERE token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(conn)
        .await
        .map_err(map_sqlx_error)?
    });
    row.map(ApiToken::try_from).transpose()
}

/// One page of the tokens within `scope` (the caller's view of them, from the decision
/// point), of one user or (with `None`) of every user.
pub async fn list(
    db: &Database,
    user_id: Option<&str>,
    scope: &ListScope,
    page: &PageRequest,
) -> Result<Page<ApiToken>, Error> {
    let after = page.after.clone().unwrap_or_default();
    let mut binds = vec![after];
    let mut conditions = vec!["id > $1".to_owned()];
    if let Some(user_id) = user_id {
        binds.push(user_id.to_owned());
        conditions.push(format!("user_id = ${}", binds.len()));
    }
    let (scope_condition, scope_binds) = scope.sql("id", binds.len() + 1);
    conditions.push(scope_condition);
    binds.extend(scope_binds);
    let sql = format!(
        "SELECT {COLUMNS} FROM api_tokens WHERE {} ORDER BY id LIMIT ${}",
        conditions.join(" AND "),
        binds.len() + 1
    );
    let rows: Vec<TokenRow> = with_conn!(db, |conn| {
        let mut query = sqlx::query_as(&sql);
        for bind in &binds {
            query = query.bind(bind);
        }
        query
            .bind(page.fetch_limit())
            .fetch_all(conn)
            .await
            .map_err(map_sqlx_error)?
    });
    let tokens = rows
        .into_iter()
        .map(ApiToken::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(tokens, page, |token| &token.id))
}

/// Revoke the token `id` (idempotent: revoking twice keeps the first time).
pub async fn revoke(db: &Database, id: &str) -> Result<ApiToken, Error> {
    let now = Utc::now();
    with_conn!(db, |conn| {
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(conn)
            .await
            .map_err(map_sqlx_error)?
            .rows_affected()
    });
    get(db, id).await
}

/// Note that the token was used, at most once per minute per token.
pub async fn touch(db: &Database, token: &ApiToken, now: DateTime<Utc>) -> Result<(), Error> {
    if token
        .last_used_at
        .is_some_and(|last| now - last < LAST_USED_RESOLUTION)
    {
        return Ok(());
    }
    with_conn!(db, |conn| {
        sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(now)
            .bind(&token.id)
            .execute(conn)
            .await
            .map_err(map_sqlx_error)?
            .rows_affected()
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_prefixed_unique_and_hash_stably() {
        let first = TokenValue::generate();
        let second = TokenValue::generate();
        assert!(first.expose().starts_with("grm_"));
        assert_eq!(first.expose().len(), 4 + 43);
        assert_ne!(first.expose(), second.expose());
        assert_eq!(first.hash(), hash_token(first.expose()));
        assert_eq!(first.hash().len(), 64);
        assert!(!format!("{first:?}").contains(first.expose()));
    }

    fn token_expiring(expires_at: Option<DateTime<Utc>>) -> ApiToken {
        ApiToken {
            id: "t".into(),
            user_id: "u".into(),
            name: "creator".into(),
            role: Role::Admin,
            prefix: "grm_abc".into(),
            created_by: None,
            created_at: Utc::now(),
            expires_at,
            revoked_at: None,
            last_used_at: None,
        }
    }

    #[test]
    fn a_token_cannot_outlive_the_token_that_creates_it() {
        let limit = Utc::now() + chrono::Duration::hours(1);
        let creator = token_expiring(Some(limit));
        let later = limit + chrono::Duration::milliseconds(1);
        let error = check_lifetime(Some(&creator), Some(later), "/expires_at").unwrap_err();
        assert_eq!(error.path, "/expires_at");
        assert!(error.message.contains("must be at or before"), "{error:?}");
        let error = check_lifetime(Some(&creator), None, "/expires_at").unwrap_err();
        assert!(error.message.starts_with("required"), "{error:?}");
        // The second shown in the message is itself accepted.
        let shown =
            chrono::DateTime::parse_from_rfc3339(&limit.to_rfc3339_opts(SecondsFormat::Secs, true))
                .unwrap()
                .with_timezone(&Utc);
        assert!(check_lifetime(Some(&creator), Some(shown), "/expires_at").is_ok());
        assert!(check_lifetime(Some(&creator), Some(limit), "/expires_at").is_ok());

        // A creator that never expires, or no token at all (OIDC), sets no limit.
        let forever = token_expiring(None);
        assert!(check_lifetime(Some(&forever), None, "/expires_at").is_ok());
        assert!(check_lifetime(None, None, "/expires_at").is_ok());
    }
}
