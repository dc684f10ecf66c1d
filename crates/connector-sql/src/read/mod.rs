//! Streaming reads: one query per read, rows pulled from the driver's row stream (never
//! `fetch_all`) — on PostgreSQL tables, a binary `COPY` stream — decoded straight into
//! Arrow column builders ([`crate::columns`]) and cut into batches by a producer task,
//! handed to the consumer through a channel of one batch (bounded memory: about four
//! batches in flight). [`Batcher`] labels each batch with its checkpoint.
//!
//! ## Incremental reads and ties
//!
//! With a cursor column the query orders by `cursor` and then by the primary key, and each
//! batch carries a checkpoint `{"cursor_field", "cursor", "key": {pk: value}}`:
//!
//! - **With a primary key** (or when the cursor *is* the key) the resume predicate is the
//!   keyset `(cursor, pk) > (last cursor, last pk)`: exact, no duplicates, no gaps even when a
//!   batch boundary splits rows sharing one cursor value, and the state stays one row's worth.
//! - **Without a key** the resume predicate is `cursor > last`, and a batch never
//!   checkpoints inside a group of equal cursor values: the reader looks one row ahead and,
//!   when the next row shares the last cursor value, checkpoints the previous *completed*
//!   value instead. Resuming then re-delivers that tie group (at-least-once, never a gap).
//!
//! In both cases, rows committed later with a cursor value *below* the checkpoint (a
//! long-running transaction that commits after a newer one) are not seen: pick a cursor the
//! database assigns at commit time, or re-read a safety window. Rows whose cursor is `NULL`
//! come with the initial (checkpoint-less) read only and never advance the checkpoint.

mod batcher;
mod produce;

use std::collections::HashMap;

use connector_sdk::{Checkpoint, ConnectorError, FieldType, Operation};
use serde_json::Value;

use crate::dialect::{Dialect, Engine, keyset_predicate, keyset_predicate_with};
use crate::introspect::ColumnInfo;
use crate::values;

pub use batcher::Batcher;
pub use produce::spawn;

/// Where the rows come from.
#[derive(Debug, Clone)]
pub enum ReadFrom<'a> {
    /// A table: its quoted name and its columns.
    Table {
        /// The quoted, schema-qualified name.
        quoted: String,
        /// The columns, in table order.
        columns: &'a [ColumnInfo],
    },
    /// A read-only query and the columns it returns (when known).
    Query {
        /// The query text.
        sql: &'a str,
        /// The columns (needed for cursor reads).
        columns: &'a [ColumnInfo],
    },
}

impl ReadFrom<'_> {
    fn columns(&self) -> &[ColumnInfo] {
        match self {
            Self::Table { columns, .. } | Self::Query { columns, .. } => columns,
        }
    }
}

/// The query of one read and its parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadPlan {
    /// The SQL.
    pub sql: String,
    /// The parameters: the JSON value and the column it is compared with.
    pub binds: Vec<(Value, ColumnInfo)>,
    /// The cursor, when incremental.
    pub cursor: Option<CursorPlan>,
    /// The catalog types by column name (decoders use them where the driver's are coarse).
    pub hints: HashMap<String, FieldType>,
    /// PostgreSQL table reads: the same query with its parameters written inline, run as
    /// `COPY (...) TO STDOUT (FORMAT binary)` (much faster than fetching rows).
    pub copy_sql: Option<String>,
    /// A `query` stream's SQL: run in a read-only transaction, rolled back at the end
    /// (PostgreSQL, MySQL/MariaDB; SQLite: a transaction on its read-only connection).
    pub read_only: bool,
}

/// How checkpoints are made.
#[derive(Debug, Clone, PartialEq)]
pub struct CursorPlan {
    /// The cursor column.
    pub field: String,
    /// Key columns after the cursor in the ordering (empty: no key).
    pub key: Vec<String>,
    /// Whether `(cursor, key)` identifies a row (keyset resumption is exact).
    pub exact: bool,
}

fn quoted(dialect: &dyn Dialect, name: &str) -> Result<String, ConnectorError> {
    dialect
        .quote_identifier(name)
        .map_err(|e| ConnectorError::config(Operation::Read, e.to_string()))
}

/// Plans the query of a read.
pub fn plan(
    dialect: &dyn Dialect,
    from: ReadFrom<'_>,
    cursor: Option<&str>,
    primary_key: &[String],
    checkpoint: Option<&Checkpoint>,
) -> Result<ReadPlan, ConnectorError> {
    let columns = from.columns();
    let hints = columns
        .iter()
        .map(|c| (c.name.clone(), c.field_type.clone()))
        .collect();
    let source = match &from {
        ReadFrom::Table {
            quoted: table,
            columns,
        } => {
            let list = columns
                .iter()
                .map(|c| {
                    let q = quoted(dialect, &c.name)?;
                    Ok(
                        if dialect.engine() == Engine::Postgres
                            && values::postgres::PgKind::needs_text_cast(&c.field_type)
                        {
                            format!("CAST({q} AS text) AS {q}")
                        } else {
                            q
                        },
                    )
                })
                .collect::<Result<Vec<_>, ConnectorError>>()?;
            format!("SELECT {} FROM {table}", list.join(", "))
        }
        ReadFrom::Query { sql, .. } if cursor.is_none() => {
            return Ok(ReadPlan {
                sql: (*sql).to_owned(),
                binds: Vec::new(),
                cursor: None,
                hints,
                copy_sql: None,
                read_only: true,
            });
        }
        ReadFrom::Query { sql, .. } => format!("SELECT * FROM ({sql}) AS grimos_q"),
    };
    let read_only = matches!(from, ReadFrom::Query { .. });
    let copyable = dialect.engine() == Engine::Postgres && !read_only;
    let Some(cursor) = cursor else {
        return Ok(ReadPlan {
            copy_sql: copyable.then(|| source.clone()),
            sql: source,
            binds: Vec::new(),
            cursor: None,
            hints,
            read_only,
        });
    };
    let column = |name: &str| {
        columns
            .iter()
            .find(|c| c.name == name)
            .cloned()
            .ok_or_else(|| {
                ConnectorError::config(
                    Operation::Read,
                    format!("column `{name}` does not exist (cursor or key column)"),
                )
            })
    };
    let cursor_column = column(cursor)?;
    let key: Vec<ColumnInfo> = primary_key
        .iter()
        .filter(|k| k.as_str() != cursor)
        .map(|k| column(k))
        .collect::<Result<_, _>>()?;
    let exact = !key.is_empty() || primary_key.iter().any(|k| k == cursor);
    let mut order = vec![cursor_column.clone()];
    order.extend(key.iter().cloned());
    let order_sql = order
        .iter()
        .map(|c| quoted(dialect, &c.name))
        .collect::<Result<Vec<_>, _>>()?
        .join(", ");

    let mut sql = source;
    let mut copy_sql = copyable.then(|| sql.clone());
    let mut binds = Vec::new();
    if let Some(checkpoint) = checkpoint {
        let field = checkpoint.0.get("cursor_field").and_then(Value::as_str);
        if field.is_some_and(|f| f != cursor) {
            return Err(ConnectorError::config(
                Operation::Read,
                format!(
                    "the checkpoint was made with cursor `{}`, this read uses `{cursor}`",
                    field.unwrap_or_default()
                ),
            ));
        }
        let Some(value) = checkpoint.cursor_value().filter(|v| !v.is_null()) else {
            return Err(ConnectorError::config(
                Operation::Read,
                "the checkpoint holds no cursor value",
            ));
        };
        let key_values: Option<Vec<Value>> = checkpoint
            .0
            .get("key")
            .and_then(|k| key.iter().map(|c| k.get(&c.name).cloned()).collect());
        let mut compared = vec![(cursor_column.clone(), value.clone())];
        if let Some(values) = key_values.filter(|_| !key.is_empty()) {
            compared.extend(key.iter().cloned().zip(values));
        }
        let quoted_columns = compared
            .iter()
            .map(|(c, _)| Ok((quoted(dialect, &c.name)?, c.native.clone())))
            .collect::<Result<Vec<_>, ConnectorError>>()?;
        let (predicate, bind_columns) = keyset_predicate(dialect, &quoted_columns, 1);
        if let Some(copy) = &mut copy_sql {
            let mut literal_error = None;
            let (inline, _) = keyset_predicate_with(&quoted_columns, 1, |index, native| {
                let value = &compared[bind_columns[index - 1]].1;
                match pg_literal(value) {
                    Ok(literal) => format!("CAST({literal} AS {native})"),
                    Err(e) => {
                        literal_error = Some(e);
                        String::new()
                    }
                }
            });
            if let Some(e) = literal_error {
                return Err(e);
            }
            *copy = format!("{copy} WHERE {inline}");
        }
        sql = format!("{sql} WHERE {predicate}");
        binds = bind_columns
            .into_iter()
            .map(|i| (compared[i].1.clone(), compared[i].0.clone()))
            .collect();
    }
    sql = format!("{sql} ORDER BY {order_sql}");
    let copy_sql = copy_sql.map(|copy| format!("{copy} ORDER BY {order_sql}"));
    Ok(ReadPlan {
        copy_sql,
        sql,
        binds,
        cursor: Some(CursorPlan {
            field: cursor.to_owned(),
            key: key.into_iter().map(|c| c.name).collect(),
            exact,
        }),
        hints,
        read_only,
    })
}

/// The text a PostgreSQL parameter is bound as (then cast to the column type).
fn pg_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A checkpointed value as a PostgreSQL string literal (`E'...'`, backslashes and quotes
/// escaped), for the inline parameters of a `COPY` read.
fn pg_literal(value: &Value) -> Result<String, ConnectorError> {
    let text = pg_text(value);
    if text.contains('\0') {
        return Err(ConnectorError::config(
            Operation::Read,
            "checkpoint cursor: a NUL character cannot be compared in PostgreSQL",
        ));
    }
    let mut out = String::with_capacity(text.len() + 4);
    out.push_str("E'");
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("''"),
            c => out.push(c),
        }
    }
    out.push('\'');
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use serde_json::json;

    use super::*;
    use crate::dialect::{MySqlDialect, PostgresDialect};

    fn column(name: &str, native: &str, field_type: FieldType) -> ColumnInfo {
        ColumnInfo {
            name: name.into(),
            native: native.into(),
            field_type,
            nullable: false,
            pg_type: None,
        }
    }

    fn columns() -> Vec<ColumnInfo> {
        vec![
            column("id", "bigint", FieldType::Integer),
            column(
                "updated_at",
                "timestamp with time zone",
                FieldType::TimestampTz,
            ),
            column("shape", "geometry", FieldType::unknown("geometry")),
        ]
    }

    #[test]
    fn full_reads_select_every_column() {
        let columns = columns();
        let from = ReadFrom::Table {
            quoted: "\"public\".\"t\"".into(),
            columns: &columns,
        };
        let plan = plan(&PostgresDialect, from, None, &["id".into()], None).unwrap();
        assert_eq!(
            plan.sql,
            "SELECT \"id\", \"updated_at\", CAST(\"shape\" AS text) AS \"shape\" FROM \"public\".\"t\""
        );
        assert!(plan.cursor.is_none());
    }

    #[test]
    fn postgres_table_reads_also_plan_a_copy_with_inline_literals() {
        let columns = columns();
        let from = ReadFrom::Table {
            quoted: "\"t\"".into(),
            columns: &columns,
        };
        let mut checkpoint = Checkpoint::cursor("updated_at", json!("it's \\ late"));
        checkpoint.0["key"] = json!({"id": 7});
        let plan = plan(
            &PostgresDialect,
            from,
            Some("updated_at"),
            &["id".into()],
            Some(&checkpoint),
        )
        .unwrap();
        assert_eq!(
            plan.copy_sql.unwrap(),
            "SELECT \"id\", \"updated_at\", CAST(\"shape\" AS text) AS \"shape\" FROM \"t\" \
             WHERE (\"updated_at\" > CAST(E'it''s \\\\ late' AS timestamp with time zone)) \
             OR (\"updated_at\" = CAST(E'it''s \\\\ late' AS timestamp with time zone) AND \"id\" > CAST(E'7' AS bigint)) \
             ORDER BY \"updated_at\", \"id\""
        );
        let query = ReadFrom::Query {
            sql: "SELECT 1",
            columns: &columns,
        };
        let plan = super::plan(&PostgresDialect, query, None, &[], None).unwrap();
        assert_eq!(plan.copy_sql, None, "queries are not read through COPY");
        assert!(pg_literal(&json!("nul \u{0}")).is_err());
    }

    #[test]
    fn resumed_reads_use_a_keyset_on_cursor_and_key() {
        let columns = columns();
        let from = ReadFrom::Table {
            quoted: "`t`".into(),
            columns: &columns,
        };
        let mut checkpoint = Checkpoint::cursor("updated_at", json!("2024-01-01T00:00:00Z"));
        checkpoint.0["key"] = json!({"id": 7});
        let plan = plan(
            &MySqlDialect,
            from,
            Some("updated_at"),
            &["id".into()],
            Some(&checkpoint),
        )
        .unwrap();
        assert_eq!(
            plan.sql,
            "SELECT `id`, `updated_at`, `shape` FROM `t` WHERE (`updated_at` > ?) OR (`updated_at` = ? AND `id` > ?) ORDER BY `updated_at`, `id`"
        );
        let bound: Vec<Value> = plan.binds.iter().map(|(v, _)| v.clone()).collect();
        assert_eq!(
            bound,
            vec![
                json!("2024-01-01T00:00:00Z"),
                json!("2024-01-01T00:00:00Z"),
                json!(7)
            ]
        );
        assert!(plan.cursor.unwrap().exact);
    }

    #[test]
    fn a_checkpoint_of_another_cursor_is_refused() {
        let columns = columns();
        let from = ReadFrom::Table {
            quoted: "t".into(),
            columns: &columns,
        };
        let checkpoint = Checkpoint::cursor("id", json!(3));
        let err = plan(
            &PostgresDialect,
            from,
            Some("updated_at"),
            &[],
            Some(&checkpoint),
        )
        .unwrap_err();
        assert!(err.detail().contains("cursor `id`"), "{err}");
    }

    #[test]
    fn a_missing_cursor_column_is_a_config_error() {
        let columns = columns();
        let from = ReadFrom::Table {
            quoted: "t".into(),
            columns: &columns,
        };
        let err = plan(&PostgresDialect, from, Some("nope"), &[], None).unwrap_err();
        assert_eq!(err.kind(), connector_sdk::ErrorKind::Config);
    }
}
