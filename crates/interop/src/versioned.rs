//! What every versioned table (connectors, mappings, flows) shares: a change applies only
//! if the caller's `If-Match` version is still current.

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

/// Stored connectors.
pub(crate) const CONNECTORS: VersionedTable = VersionedTable {
    table: "connectors",
    kind: "connector",
};
/// Stored mappings.
pub(crate) const MAPPINGS: VersionedTable = VersionedTable {
    table: "mappings",
    kind: "mapping",
};
/// Stored flows.
pub(crate) const FLOWS: VersionedTable = VersionedTable {
    table: "flows",
    kind: "flow",
};

impl VersionedTable {
    /// The query reading a row's version.
    pub(crate) fn select_version(self) -> String {
        format!("SELECT version FROM {} WHERE id = $1", self.table)
    }

    /// Delete row `id` if it exists and (when given) is at `expected_version`: 404 when it
    /// does not exist, 412 when it changed since the caller read it.
    pub(crate) async fn delete(
        self,
        db: &Database,
        id: &str,
        expected_version: Option<i64>,
    ) -> Result<(), Error> {
        let delete = format!("DELETE FROM {} WHERE id = $1", self.table);
        with_tx!(db, |tx| {
            crate::versioned::current_version!(tx, self, id, expected_version);
            sqlx::query(&delete)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(map_sqlx_error)?;
            Ok(())
        })
    }
}

/// Inside a `with_tx!` body: the current version of row `$id` of the table `$table`,
/// returning 404 when the row does not exist and 412 when `$expected` (an `Option<i64>`
/// from `If-Match`) names another version.
macro_rules! current_version {
    ($tx:ident, $table:expr, $id:expr, $expected:expr) => {{
        let table: $crate::versioned::VersionedTable = $table;
        let current: Option<i64> = sqlx::query_scalar(&table.select_version())
            .bind($id)
            .fetch_optional(&mut *$tx)
            .await
            .map_err(storage::map_sqlx_error)?;
        let current = current.ok_or_else(|| kernel::Error::not_found(table.kind, $id))?;
        api::IfMatch($expected).check(current)?;
        current
    }};
}
pub(crate) use current_version;
