//! Stored data mappings.

use chrono::{DateTime, Utc};
use kernel::{Error, ErrorKind, Page, PageRequest};
use serde_json::Value;
use storage::{Database, map_sqlx_error, with_conn, with_tx};

/// One end of a mapping: a stored connector and one of its streams.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StreamRef {
    /// A stored connector's id.
    pub connector: String,
    /// The stream (table, endpoint) of that connector.
    pub stream: String,
}

/// A stored mapping.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct StoredMapping {
    /// Id (UUIDv7).
    pub id: String,
    /// Unique name.
    pub name: String,
    /// Where records come from (for validation against an introspected schema and previews).
    pub source: Option<StreamRef>,
    /// Where records go.
    pub target: Option<StreamRef>,
    /// The rules (see docs/mapping.md).
    #[schema(value_type = Vec<std::collections::HashMap<String, serde_json::Value>>)]
    pub rules: Value,
    /// A JSON Schema of source records, used instead of introspection when given.
    #[schema(value_type = Option<std::collections::HashMap<String, serde_json::Value>>)]
    pub source_schema: Option<Value>,
    /// A JSON Schema of target records, used instead of introspection when given.
    #[schema(value_type = Option<std::collections::HashMap<String, serde_json::Value>>)]
    pub target_schema: Option<Value>,
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
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    name: String,
    source_connector_id: Option<String>,
    source_stream: Option<String>,
    target_connector_id: Option<String>,
    target_stream: Option<String>,
    rules: String,
    source_schema: Option<String>,
    target_schema: Option<String>,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    created_by: Option<String>,
    updated_by: Option<String>,
}

const COLUMNS: &str = "id, name, source_connector_id, source_stream, target_connector_id, target_stream, rules, \
    source_schema, target_schema, version, created_at, updated_at, created_by, updated_by";

fn stream_ref(connector: Option<String>, stream: Option<String>) -> Option<StreamRef> {
    Some(StreamRef {
        connector: connector?,
        stream: stream?,
    })
}

fn parse_json(text: Option<String>) -> Result<Option<Value>, Error> {
    text.map(|text| serde_json::from_str(&text).map_err(Error::internal))
        .transpose()
}

impl TryFrom<Row> for StoredMapping {
    type Error = Error;

    fn try_from(row: Row) -> Result<Self, Error> {
        Ok(StoredMapping {
            rules: serde_json::from_str(&row.rules).map_err(Error::internal)?,
            source_schema: parse_json(row.source_schema)?,
            target_schema: parse_json(row.target_schema)?,
            source: stream_ref(row.source_connector_id, row.source_stream),
            target: stream_ref(row.target_connector_id, row.target_stream),
            id: row.id,
            name: row.name,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
            created_by: row.created_by,
            updated_by: row.updated_by,
        })
    }
}

/// What a mapping holds, validated.
#[derive(Debug, Clone)]
pub struct MappingContent {
    /// Unique name.
    pub name: String,
    /// Source end.
    pub source: Option<StreamRef>,
    /// Target end.
    pub target: Option<StreamRef>,
    /// The rules array.
    pub rules: Value,
    /// Source JSON Schema.
    pub source_schema: Option<Value>,
    /// Target JSON Schema.
    pub target_schema: Option<Value>,
}

fn name_taken(name: &str) -> Error {
    Error::new(
        ErrorKind::Conflict,
        "name_taken",
        format!("a mapping named {name:?} already exists"),
    )
}

fn text(value: &Option<Value>) -> Option<String> {
    value.as_ref().map(Value::to_string)
}

/// Store a new mapping.
pub async fn create(
    db: &Database,
    content: MappingContent,
    actor: Option<&str>,
) -> Result<StoredMapping, Error> {
    let id = kernel::new_id();
    let now = Utc::now();
    let result = with_conn!(db, |conn| {
        sqlx::query(
            "INSERT INTO mappings (id, name, source_connector_id, source_stream, target_connector_id, target_stream, rules, \
             source_schema, target_schema, version, created_at, updated_at, created_by, updated_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10, $11, $12, $13)",
        )
        .bind(&id)
        .bind(&content.name)
        .bind(content.source.as_ref().map(|end| end.connector.clone()))
        .bind(content.source.as_ref().map(|end| end.stream.clone()))
        .bind(content.target.as_ref().map(|end| end.connector.clone()))
        .bind(content.target.as_ref().map(|end| end.stream.clone()))
        .bind(content.rules.to_string())
        .bind(text(&content.source_schema))
        .bind(text(&content.target_schema))
        .bind(now)
        .bind(now)
        .bind(actor)
        .bind(actor)
        .execute(conn)
        .await
        .map(|result| result.rows_affected())
    });
    match result {
        Ok(_) => get(db, &id).await,
        Err(error) if storage::is_unique_violation(&error) => Err(name_taken(&content.name)),
        Err(error) => Err(map_sqlx_error(error)),
    }
}

/// The mapping `id`, or `NotFound`.
pub async fn get(db: &Database, id: &str) -> Result<StoredMapping, Error> {
    let row: Option<Row> = with_conn!(db, |conn| {
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM mappings WHERE id = $1"))
            .bind(id)
            .fetch_optional(conn)
            .await
            .map_err(map_sqlx_error)?
    });
    row.map(StoredMapping::try_from)
        .transpose()?
        .ok_or_else(|| Error::not_found("mapping", id))
}

/// One page of mappings, in creation order, among those `scope` lets the caller see
/// (filtered in the query, so that every page is full).
pub async fn list(
    db: &Database,
    scope: &authz::ListScope,
    page: &PageRequest,
) -> Result<Page<StoredMapping>, Error> {
    let after = page.after.clone().unwrap_or_default();
    let (visible, binds) = scope.sql("id", 3);
    let sql =
        format!("SELECT {COLUMNS} FROM mappings WHERE id > $1 AND {visible} ORDER BY id LIMIT $2");
    let rows: Vec<Row> = with_conn!(db, |conn| {
        let mut query = sqlx::query_as(&sql).bind(&after).bind(page.fetch_limit());
        for value in &binds {
            query = query.bind(value);
        }
        query.fetch_all(conn).await.map_err(map_sqlx_error)?
    });
    let items = rows
        .into_iter()
        .map(StoredMapping::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, page, |mapping| &mapping.id))
}

/// Replace a mapping's content if it is still at `expected_version`.
pub async fn update(
    db: &Database,
    id: &str,
    expected_version: Option<i64>,
    content: MappingContent,
    actor: Option<&str>,
) -> Result<StoredMapping, Error> {
    let now = Utc::now();
    let outcome: Result<(), Error> = with_tx!(db, |tx| {
        let current = crate::versioned::current_version!(
            tx,
            crate::versioned::MAPPINGS,
            id,
            expected_version
        );
        let result = sqlx::query(
            "UPDATE mappings SET name = $1, source_connector_id = $2, source_stream = $3, target_connector_id = $4, \
             target_stream = $5, rules = $6, source_schema = $7, target_schema = $8, version = version + 1, \
             updated_at = $9, updated_by = $10 WHERE id = $11 AND version = $12",
        )
        .bind(&content.name)
        .bind(content.source.as_ref().map(|end| end.connector.clone()))
        .bind(content.source.as_ref().map(|end| end.stream.clone()))
        .bind(content.target.as_ref().map(|end| end.connector.clone()))
        .bind(content.target.as_ref().map(|end| end.stream.clone()))
        .bind(content.rules.to_string())
        .bind(text(&content.source_schema))
        .bind(text(&content.target_schema))
        .bind(now)
        .bind(actor)
        .bind(id)
        .bind(current)
        .execute(&mut *tx)
        .await;
        match result {
            Ok(result) if result.rows_affected() == 0 => {
                Err(api::etag::stale(current, current + 1))
            }
            Ok(_) => Ok(()),
            Err(error) if storage::is_unique_violation(&error) => Err(name_taken(&content.name)),
            Err(error) => Err(map_sqlx_error(error)),
        }
    });
    outcome?;
    get(db, id).await
}

/// Delete the mapping `id`.
pub async fn delete(db: &Database, id: &str, expected_version: Option<i64>) -> Result<(), Error> {
    crate::versioned::MAPPINGS
        .delete(db, id, expected_version)
        .await
}
