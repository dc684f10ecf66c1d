//! The `secrets` table behind `SecretRecordStore`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrets::{Envelope, SecretError, SecretRecord, SecretRecordStore};
use storage::{Database, with_conn};

/// Secret records in the grimOS database (SQLite or PostgreSQL).
#[derive(Clone)]
pub struct SqlSecretRecordStore {
    db: Database,
}

impl SqlSecretRecordStore {
    /// A store over `db` (migrations must have run).
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    name: String,
    version: i64,
    envelope: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

fn storage_error(error: kernel::Error) -> SecretError {
    SecretError::unavailable(format!(
        "the secret store's database failed: {}",
        error.message()
    ))
}

impl TryFrom<Row> for SecretRecord {
    type Error = SecretError;

    fn try_from(row: Row) -> Result<Self, SecretError> {
        Ok(SecretRecord {
            envelope: Envelope::from_text(&row.envelope).map_err(|_| {
                SecretError::backend("a stored envelope is corrupt")
                    .with_reference(format!("local:{}", row.name))
            })?,
            version: u64::try_from(row.version).unwrap_or_default(),
            name: row.name,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

async fn run<T>(future: impl Future<Output = Result<T, kernel::Error>>) -> Result<T, SecretError> {
    future.await.map_err(storage_error)
}

#[async_trait]
impl SecretRecordStore for SqlSecretRecordStore {
    async fn put(&self, record: SecretRecord) -> Result<(), SecretError> {
        let version =
            i64::try_from(record.version).map_err(|_| SecretError::backend("version overflow"))?;
        let envelope = record.envelope.to_text();
        let db = &self.db;
        run(async {
            Ok(with_conn!(db, |conn| {
                sqlx::query(
                    "INSERT INTO secrets (name, version, key_id, envelope, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (name) DO UPDATE SET version = EXCLUDED.version, key_id = EXCLUDED.key_id, \
                     envelope = EXCLUDED.envelope, updated_at = EXCLUDED.updated_at",
                )
                .bind(&record.name)
                .bind(version)
                .bind(&record.envelope.key_id)
                .bind(&envelope)
                .bind(record.created_at)
                .bind(record.updated_at)
                .execute(conn)
                .await
                .map_err(storage::map_sqlx_error)?
                .rows_affected()
            }))
        })
        .await
        .map(drop)
    }

    async fn replace(
        &self,
        expected: &SecretRecord,
        record: SecretRecord,
    ) -> Result<bool, SecretError> {
        let expected_version = i64::try_from(expected.version)
            .map_err(|_| SecretError::backend("version overflow"))?;
        let version =
            i64::try_from(record.version).map_err(|_| SecretError::backend("version overflow"))?;
        let expected_envelope = expected.envelope.to_text();
        let envelope = record.envelope.to_text();
        let db = &self.db;
        // One conditional statement: a `set` (new version) or a delete and re-create (same
        // version, other envelope) between the caller's read and this write makes it match
        // no row, and the newer value stays.
        let replaced = run(async {
            Ok(with_conn!(db, |conn| {
                sqlx::query(
                    "UPDATE secrets SET version = $1, key_id = $2, envelope = $3, updated_at = $4 \
                     WHERE name = $5 AND version = $6 AND envelope = $7",
                )
                .bind(version)
                .bind(&record.envelope.key_id)
                .bind(&envelope)
                .bind(record.updated_at)
                .bind(&expected.name)
                .bind(expected_version)
                .bind(&expected_envelope)
                .execute(conn)
                .await
                .map_err(storage::map_sqlx_error)?
                .rows_affected()
            }))
        })
        .await?;
        Ok(replaced > 0)
    }

    async fn get(&self, name: &str) -> Result<Option<SecretRecord>, SecretError> {
        let db = &self.db;
        let row: Option<Row> = run(async {
            Ok(with_conn!(db, |conn| {
                sqlx::query_as(
                    "SELECT name, version, envelope, created_at, updated_at FROM secrets WHERE name = $1",
                )
                .bind(name)
                .fetch_optional(conn)
                .await
                .map_err(storage::map_sqlx_error)?
            }))
        })
        .await?;
        row.map(SecretRecord::try_from).transpose()
    }

    async fn list(&self) -> Result<Vec<SecretRecord>, SecretError> {
        let db = &self.db;
        let rows: Vec<Row> = run(async {
            Ok(with_conn!(db, |conn| {
                sqlx::query_as(
                    "SELECT name, version, envelope, created_at, updated_at FROM secrets ORDER BY name",
                )
                .fetch_all(conn)
                .await
                .map_err(storage::map_sqlx_error)?
            }))
        })
        .await?;
        rows.into_iter().map(SecretRecord::try_from).collect()
    }

    async fn delete(&self, name: &str) -> Result<bool, SecretError> {
        let db = &self.db;
        let deleted = run(async {
            Ok(with_conn!(db, |conn| {
                sqlx::query("DELETE FROM secrets WHERE name = $1")
                    .bind(name)
                    .execute(conn)
                    .await
                    .map_err(storage::map_sqlx_error)?
                    .rows_affected()
            }))
        })
        .await?;
        Ok(deleted > 0)
    }
}
