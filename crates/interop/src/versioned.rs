//! What every versioned table (connectors, mappings, flows) shares: deleting a row only if
//! the caller's `If-Match` version is still current.

use kernel::Error;
use storage::{Database, map_sqlx_error, with_tx};

/// A table with `id` and `version` columns, and what its rows are called in messages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct VersionedTable {
    /// The table name (a constant of this crate, never user input).
    pub table: &'static str,
    /// The kind of object, for "connector \"x\" does not exist".
    pub kind: &'static str,
}

impl VersionedTable {
    /// Delete row `id` if it exists and (when given) is at `expected_version`: 404 when it
    /// does not exist, 412 when it changed since the caller read it.
    pub(crate) async fn delete(
        self,
        db: &Database,
        id: &str,
        expected_version: Option<i64>,
    ) -> Result<(), Error> {
        let select = format!("SELECT version FROM {} WHERE id = $1", self.table);
        let delete = format!("DELETE FROM {} WHERE id = $1", self.table);
        with_tx!(db, |tx| {
            let current: Option<i64> = sqlx::query_scalar(&select)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_sqlx_error)?;
            let current = current.ok_or_else(|| Error::not_found(self.kind, id))?;
            api::IfMatch(expected_version).check(current)?;
            sqlx::query(&delete)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(map_sqlx_error)?;
            Ok(())
        })
    }
}
