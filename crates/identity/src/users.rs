//! Users: the people (and service accounts) that own API tokens.

use chrono::{DateTime, Utc};
use kernel::{Error, ErrorKind, FieldError, Page, PageRequest, Role};
use storage::{Database, map_sqlx_error, with_conn, with_tx};

/// A user as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct User {
    /// Id (UUIDv7).
    pub id: String,
    /// Unique login name.
    pub name: String,
    /// Contact address, if given.
    pub email: Option<String>,
    /// The user's role; their tokens carry this role or a lesser one.
    pub role: Role,
    /// A disabled user's tokens stop working at once.
    pub disabled: bool,
    /// Incremented by every update; sent as the ETag.
    pub version: i64,
    /// When the user was created.
    pub created_at: DateTime<Utc>,
    /// When the user was last changed.
    pub updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: String,
    name: String,
    email: Option<String>,
    role: String,
    disabled: bool,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<UserRow> for User {
    type Error = Error;

    fn try_from(row: UserRow) -> Result<Self, Error> {
        Ok(User {
            role: row.role.parse().map_err(Error::internal)?,
            id: row.id,
            name: row.name,
            email: row.email,
            disabled: row.disabled,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// A validated request to create a user.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Unique login name.
    pub name: String,
    /// Contact address.
    pub email: Option<String>,
    /// Role.
    pub role: Role,
}

/// A validated change to a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    /// New contact address (`Some(None)` clears it).
    pub email: Option<Option<String>>,
    /// New role.
    pub role: Option<Role>,
    /// Disable or enable.
    pub disabled: Option<bool>,
}

const COLUMNS: &str = "id, name, email, role, disabled, version, created_at, updated_at";

/// Check a user name: 1 to 64 characters of letters, digits, `.`, `_`, `-`, `@`.
pub fn validate_name(name: &str, path: &str) -> Result<(), FieldError> {
    let valid_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if name.is_empty() || name.len() > 64 || !valid_chars {
        return Err(FieldError::new(
            path,
            "must be 1 to 64 characters: letters, digits, '.', '_', '-', '@'",
        ));
    }
    Ok(())
}

/// Check an e-mail address roughly: `local@domain.tld`, at most 254 characters, without
/// spaces or ASCII control characters — exactly the pattern the OpenAPI document gives
/// (`^[^@\x00-\x20\x7F]+@[^@\x00-\x20\x7F]+\.[^@\x00-\x20\x7F]+$`).
pub fn validate_email(email: &str, path: &str) -> Result<(), FieldError> {
    let allowed = |c: char| c != '@' && c != ' ' && !c.is_ascii_control();
    let plausible = email.chars().count() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && local.chars().all(allowed)
                && domain.chars().all(allowed)
                && domain
                    .char_indices()
                    .any(|(at, c)| c == '.' && at > 0 && at + 1 < domain.len())
        });
    if !plausible {
        return Err(FieldError::new(path, "must be an e-mail address"));
    }
    Ok(())
}

/// Create a user; a taken name is a conflict.
pub async fn create(db: &Database, new_user: NewUser) -> Result<User, Error> {
    let now = Utc::now();
    let id = kernel::new_id();
    let result = with_conn!(db, |conn| {
        sqlx::query(
            "INSERT INTO users (id, name, email, role, disabled, version, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, FALSE, 1, $5, $6)",
        )
        .bind(&id)
        .bind(&new_user.name)
        .bind(&new_user.email)
        .bind(new_user.role.as_str())
        .bind(now)
        .bind(now)
        .execute(conn)
        .await
        .map(drop)
    });
    match result {
        Ok(()) => get(db, &id).await,
        Err(error) if storage::is_unique_violation(&error) => Err(name_taken(&new_user.name)),
        Err(error) => Err(map_sqlx_error(error)),
    }
}

fn name_taken(name: &str) -> Error {
    Error::new(
        ErrorKind::Conflict,
        "name_taken",
        format!("a user named {name:?} already exists"),
    )
}

/// The user with `id`, or `NotFound`.
pub async fn get(db: &Database, id: &str) -> Result<User, Error> {
    find(db, id)
        .await?
        .ok_or_else(|| Error::not_found("user", id))
}

/// The user with `id`, if any.
pub async fn find(db: &Database, id: &str) -> Result<Option<User>, Error> {
    let row: Option<UserRow> = with_conn!(db, |conn| {
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(conn)
            .await
            .map_err(map_sqlx_error)?
    });
    row.map(User::try_from).transpose()
}

/// One page of users, in creation order.
pub async fn list(db: &Database, page: &PageRequest) -> Result<Page<User>, Error> {
    let after = page.after.clone().unwrap_or_default();
    let rows: Vec<UserRow> = with_conn!(db, |conn| {
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM users WHERE id > $1 ORDER BY id LIMIT $2"
        ))
        .bind(&after)
        .bind(page.fetch_limit())
        .fetch_all(conn)
        .await
        .map_err(map_sqlx_error)?
    });
    let users = rows
        .into_iter()
        .map(User::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(users, page, |user| &user.id))
}

/// Whether any user exists (false only before the bootstrap).
pub async fn any_exist(db: &Database) -> Result<bool, Error> {
    Ok(with_conn!(db, |conn| {
        sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT 1 FROM users)")
            .fetch_one(conn)
            .await
            .map_err(map_sqlx_error)?
    }))
}

/// The statement that opens every transaction changing or deleting a user, so that changes
/// which could leave no enabled admin run one after the other and each counts the admins
/// the previous one left (two admins demoting, disabling or deleting each other at the same
/// time cannot both pass the last-admin check):
///
/// - PostgreSQL: lock every enabled admin's row. A second such transaction waits for the
///   first to commit; its later statements then see that commit (read committed takes a
///   new snapshot per statement).
/// - SQLite: take the database's write lock at once, with a write that matches no row
///   (`BEGIN` is deferred: without it, two transactions read, then the second to write fails
///   on its stale snapshot instead of waiting).
fn admin_guard(db: &Database) -> &'static str {
    match db {
        Database::Sqlite(_) => "UPDATE users SET version = version WHERE FALSE",
        Database::Postgres(_) => {
            "SELECT id FROM users WHERE role = 'admin' AND disabled = FALSE ORDER BY id FOR UPDATE"
        }
    }
}

/// Apply `changes` to the user `id` if it is still at `expected_version` (when given).
/// Demoting or disabling the last enabled admin is refused, also under concurrent changes.
pub async fn update(
    db: &Database,
    id: &str,
    expected_version: Option<i64>,
    changes: UserChanges,
) -> Result<User, Error> {
    let now = Utc::now();
    let guard = admin_guard(db);
    with_tx!(db, |tx| {
        sqlx::query(guard)
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
        let row: Option<UserRow> =
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_sqlx_error)?;
        let current = User::try_from(row.ok_or_else(|| Error::not_found("user", id))?)?;
        if let Some(expected) = expected_version {
            api_version_check(expected, current.version)?;
        }
        let role = changes.role.unwrap_or(current.role);
        let disabled = changes.disabled.unwrap_or(current.disabled);
        let email = changes.email.clone().unwrap_or(current.email.clone());
        let loses_admin =
            current.role == Role::Admin && !current.disabled && (role != Role::Admin || disabled);
        if loses_admin {
            let other_admins: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = FALSE AND id <> $1",
            )
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
            if other_admins == 0 {
                return Err(last_admin());
            }
        }
        let updated = sqlx::query(
            "UPDATE users SET email = $1, role = $2, disabled = $3, version = version + 1, updated_at = $4 \
             WHERE id = $5 AND version = $6",
        )
        .bind(&email)
        .bind(role.as_str())
        .bind(disabled)
        .bind(now)
        .bind(id)
        .bind(current.version)
        .execute(&mut *tx)
        .await
        .map_err(map_sqlx_error)?;
        if updated.rows_affected() == 0 {
            return Err(api_stale(current.version));
        }
        Ok(User {
            email,
            role,
            disabled,
            version: current.version + 1,
            updated_at: now,
            ..current
        })
    })
}

/// Delete the user `id` (its tokens go with it). Deleting the last enabled admin is refused,
/// also under concurrent changes.
pub async fn delete(db: &Database, id: &str, expected_version: Option<i64>) -> Result<(), Error> {
    let guard = admin_guard(db);
    with_tx!(db, |tx| {
        sqlx::query(guard)
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
        let row: Option<UserRow> =
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_sqlx_error)?;
        let current = User::try_from(row.ok_or_else(|| Error::not_found("user", id))?)?;
        if let Some(expected) = expected_version {
            api_version_check(expected, current.version)?;
        }
        if current.role == Role::Admin && !current.disabled {
            let other_admins: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = FALSE AND id <> $1",
            )
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
            if other_admins == 0 {
                return Err(last_admin());
            }
        }
        sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
        Ok(())
    })
}

fn api_version_check(expected: i64, current: i64) -> Result<(), Error> {
    api::IfMatch(Some(expected)).check(current)
}

fn api_stale(current: i64) -> Error {
    api::etag::stale(current, current + 1)
}

fn last_admin() -> Error {
    Error::new(
        ErrorKind::Conflict,
        "last_admin",
        "this is the last enabled admin; make another user admin first",
    )
}
