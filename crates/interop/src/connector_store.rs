//! Stored connector configurations.

use chrono::{DateTime, Utc};
use kernel::{Error, ErrorKind, Page, PageRequest};
use serde_json::Value;
use storage::{Database, map_sqlx_error, with_conn, with_tx};

/// The outcome of the last connection test.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct LastTest {
    /// Whether the connection worked.
    pub ok: bool,
    /// How long the check took.
    pub latency_ms: u64,
    /// Why it failed (never containing a secret value).
    pub error: Option<String>,
    /// When it ran.
    pub tested_at: DateTime<Utc>,
}

/// A stored connector.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct StoredConnector {
    /// Id (UUIDv7).
    pub id: String,
    /// Unique name.
    pub name: String,
    /// Connector type (`rest`, `sql`).
    #[serde(rename = "type")]
    pub connector_type: String,
    /// The configuration; secret fields hold references only. A password written inside
    /// a URL by an older version (refused since) is shown as `***`.
    #[schema(value_type = std::collections::HashMap<String, serde_json::Value>)]
    #[serde(serialize_with = "serialize_redacted")]
    pub config: Value,
    /// What it is for.
    pub description: Option<String>,
    /// Incremented by every update; sent as the ETag.
    pub version: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Who created it.
    pub created_by: Option<String>,
    /// Who last changed it.
    pub updated_by: Option<String>,
    /// The last connection test, if any.
    pub last_test: Option<LastTest>,
    /// Things an operator should know, e.g. that TLS is off.
    pub warnings: Vec<String>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    name: String,
    connector_type: String,
    config: String,
    description: Option<String>,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    created_by: Option<String>,
    updated_by: Option<String>,
    last_test_ok: Option<bool>,
    last_test_latency_ms: Option<i64>,
    last_test_error: Option<String>,
    last_tested_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, name, connector_type, config, description, version, created_at, updated_at, \
    created_by, updated_by, last_test_ok, last_test_latency_ms, last_test_error, last_tested_at";

/// Warnings derived from a configuration.
pub fn warnings_for(config: &Value) -> Vec<String> {
    let mut warnings = Vec::new();
    if config.get("allow_insecure_http").and_then(Value::as_bool) == Some(true) {
        warnings
            .push("allow_insecure_http is on: traffic to this system is not encrypted".to_owned());
    }
    warnings
}

impl TryFrom<Row> for StoredConnector {
    type Error = Error;

    fn try_from(row: Row) -> Result<Self, Error> {
        let config: Value = serde_json::from_str(&row.config).map_err(Error::internal)?;
        let last_test = match (row.last_test_ok, row.last_tested_at) {
            (Some(ok), Some(tested_at)) => Some(LastTest {
                ok,
                latency_ms: u64::try_from(row.last_test_latency_ms.unwrap_or_default())
                    .unwrap_or_default(),
                error: row.last_test_error,
                tested_at,
            }),
            _ => None,
        };
        Ok(StoredConnector {
            warnings: warnings_for(&config),
            id: row.id,
            name: row.name,
            connector_type: row.connector_type,
            config,
            description: row.description,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
            created_by: row.created_by,
            updated_by: row.updated_by,
            last_test,
        })
    }
}

/// A validated new connector.
#[derive(Debug, Clone)]
pub struct NewConnector {
    /// Unique name.
    pub name: String,
    /// Type.
    pub connector_type: String,
    /// Validated configuration.
    pub config: Value,
    /// Description.
    pub description: Option<String>,
    /// Creator.
    pub created_by: Option<String>,
}

fn name_taken(name: &str) -> Error {
    Error::new(
        ErrorKind::Conflict,
        "name_taken",
        format!("a connector named {name:?} already exists"),
    )
}

/// Store a new connector.
pub async fn create(db: &Database, new: NewConnector) -> Result<StoredConnector, Error> {
    let id = kernel::new_id();
    let now = Utc::now();
    let config = new.config.to_string();
    let result = with_conn!(db, |conn| {
        sqlx::query(
            "INSERT INTO connectors (id, name, connector_type, config, description, version, created_at, updated_at, created_by, updated_by) \
             VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8, $9)",
        )
        .bind(&id)
        .bind(&new.name)
        .bind(&new.connector_type)
        .bind(&config)
        .bind(&new.description)
        .bind(now)
        .bind(now)
        .bind(&new.created_by)
        .bind(&new.created_by)
        .execute(conn)
        .await
        .map(|result| result.rows_affected())
    });
    match result {
        Ok(_) => get(db, &id).await,
        Err(error) if storage::is_unique_violation(&error) => Err(name_taken(&new.name)),
        Err(error) => Err(map_sqlx_error(error)),
    }
}

/// The connector `id`, or `NotFound`.
pub async fn get(db: &Database, id: &str) -> Result<StoredConnector, Error> {
    let row: Option<Row> = with_conn!(db, |conn| {
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM connectors WHERE id = $1"))
            .bind(id)
            .fetch_optional(conn)
            .await
            .map_err(map_sqlx_error)?
    });
    row.map(StoredConnector::try_from)
        .transpose()?
        .ok_or_else(|| Error::not_found("connector", id))
}

/// Filters of the connector list.
#[derive(Debug, Clone, Default)]
pub struct ConnectorFilter {
    /// Only this type.
    pub connector_type: Option<String>,
    /// Only names containing this text (case-insensitive).
    pub search: Option<String>,
}

/// One page of connectors, in creation order, among those `scope` lets the caller see
/// (filtered in the query, so that every page is full).
pub async fn list(
    db: &Database,
    filter: &ConnectorFilter,
    scope: &authz::ListScope,
    page: &PageRequest,
) -> Result<Page<StoredConnector>, Error> {
    let (visible, binds) = scope.sql("id", 5);
    let after = page.after.clone().unwrap_or_default();
    let search = filter.search.as_ref().map(|text| {
        format!(
            "%{}%",
            text.to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        )
    });
    let sql = format!(
        "SELECT {COLUMNS} FROM connectors WHERE id > $1 \
         AND ($2 IS NULL OR connector_type = $2) \
         AND ($3 IS NULL OR LOWER(name) LIKE $3 ESCAPE '\\') \
         AND {visible} ORDER BY id LIMIT $4"
    );
    let rows: Vec<Row> = with_conn!(db, |conn| {
        let mut query = sqlx::query_as(&sql)
            .bind(&after)
            .bind(&filter.connector_type)
            .bind(&search)
            .bind(page.fetch_limit());
        for value in &binds {
            query = query.bind(value);
        }
        query.fetch_all(conn).await.map_err(map_sqlx_error)?
    });
    let items = rows
        .into_iter()
        .map(StoredConnector::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, page, |connector| &connector.id))
}

/// A validated change: the new name, configuration and description.
#[derive(Debug, Clone)]
pub struct ConnectorChange {
    /// New name.
    pub name: String,
    /// New configuration.
    pub config: Value,
    /// New description.
    pub description: Option<String>,
    /// Who changes it.
    pub updated_by: Option<String>,
}

/// Replace the connector's name and configuration if it is still at `expected_version`.
pub async fn update(
    db: &Database,
    id: &str,
    expected_version: Option<i64>,
    change: ConnectorChange,
) -> Result<StoredConnector, Error> {
    let now = Utc::now();
    let config = change.config.to_string();
    let outcome: Result<u64, Error> = with_tx!(db, |tx| {
        let current = crate::versioned::current_version!(
            tx,
            crate::versioned::CONNECTORS,
            id,
            expected_version
        );
        let result = sqlx::query(
            "UPDATE connectors SET name = $1, config = $2, description = $3, version = version + 1, \
             updated_at = $4, updated_by = $5 WHERE id = $6 AND version = $7",
        )
        .bind(&change.name)
        .bind(&config)
        .bind(&change.description)
        .bind(now)
        .bind(&change.updated_by)
        .bind(id)
        .bind(current)
        .execute(&mut *tx)
        .await;
        match result {
            Ok(result) if result.rows_affected() == 0 => {
                Err(api::etag::stale(current, current + 1))
            }
            Ok(result) => Ok(result.rows_affected()),
            Err(error) if storage::is_unique_violation(&error) => Err(name_taken(&change.name)),
            Err(error) => Err(map_sqlx_error(error)),
        }
    });
    outcome?;
    get(db, id).await
}

/// Delete the connector `id`.
pub async fn delete(db: &Database, id: &str, expected_version: Option<i64>) -> Result<(), Error> {
    crate::versioned::CONNECTORS
        .delete(db, id, expected_version)
        .await
}

/// Record the outcome of a connection test (does not change the version).
pub async fn record_test(db: &Database, id: &str, test: &LastTest) -> Result<(), Error> {
    let latency = i64::try_from(test.latency_ms).unwrap_or(i64::MAX);
    with_conn!(db, |conn| {
        sqlx::query(
            "UPDATE connectors SET last_test_ok = $1, last_test_latency_ms = $2, last_test_error = $3, last_tested_at = $4 WHERE id = $5",
        )
        .bind(test.ok)
        .bind(latency)
        .bind(&test.error)
        .bind(test.tested_at)
        .bind(id)
        .execute(conn)
        .await
        .map_err(map_sqlx_error)?
        .rows_affected()
    });
    Ok(())
}

fn serialize_redacted<S: serde::Serializer>(
    config: &Value,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serde::Serialize::serialize(&redacted(config), serializer)
}

/// `config` with the password of every URL-looking string (`scheme://user:password@host`,
/// `?password=`) replaced by `***`.
fn redacted(config: &Value) -> Value {
    match config {
        Value::String(text) => Value::String(kernel::redact_url_password(text)),
        Value::Array(items) => Value::Array(items.iter().map(redacted).collect()),
        Value::Object(members) => Value::Object(
            members
                .iter()
                .map(|(key, value)| (key.clone(), redacted(value)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod redaction_tests {
    use super::*;

    #[test]
    fn url_passwords_are_masked_wherever_they_sit() {
        let config = serde_json::json!({
            "url": "postgres://app:s3cret@db:5432/app?sslmode=require",
            "streams": [{"base": "https://u:p4ss@api.example/v1"}],
            "plain": "mysql://app@db/app",
            "note": "no url here: a@b"
        });
        let shown = redacted(&config).to_string();
        assert!(
            !shown.contains("s3cret") && !shown.contains("p4ss"),
            "{shown}"
        );
        assert!(
            shown.contains("postgres://app:***@db:5432/app?sslmode=require"),
            "{shown}"
        );
        assert!(shown.contains("mysql://app@db/app"), "{shown}");
        assert!(shown.contains("no url here: a@b"), "{shown}");
    }
}
